//! Shared by the native (`hotspot/tests/cross_target.rs`) and the WebAssembly
//! (`frontend/tests/web.rs`) cross-target checks: one scoring run on deterministic synthetic
//! incidents, written as the exact bits of every cell's scores.

use hotspot::synthetic::clustered_events;
use hotspot::{score, Epsg, Grid, Kernel, Measure, ScoreParams, Window};

/// One line per cell: `cell count harm_bits decayed_bits kde_bits gi_bits class`.
pub fn score_lines() -> Vec<String> {
    let events = clustered_events(3000, 2026, 440_000.0, 4_630_000.0, 4_000.0, 56);
    let grid = Grid::covering(Epsg::utm(32616).expect("zone"), 150.0, events.iter().map(|e| (e.x, e.y))).expect("grid");
    let params =
        ScoreParams { kernel: Kernel::Gaussian, bandwidth_m: 200.0, half_life_days: 14.0, measure: Measure::Harm };
    let s = score(&grid, &events, Window { from: 7 * 86_400, to: 49 * 86_400 }, &params).expect("scores");
    (0..grid.len())
        .map(|c| {
            format!(
                "{c} {} {:016x} {:016x} {:016x} {:016x} {}",
                s.count[c],
                s.harm[c].to_bits(),
                s.decayed[c].to_bits(),
                s.kde[c].to_bits(),
                s.gi_z[c].to_bits(),
                s.gi_class[c].signed_confidence()
            )
        })
        .collect()
}
