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

/// The device's scoring from cached aggregates (`hotspot::cached`): the same synthetic incidents
/// aggregated per cell, per day and per offence as the server sends them to a device, scored for
/// a 28-day window of two tracks, then the hot spots within 600 m of a point. One line per hot
/// spot: `rank ix iy count harm_bits decayed_bits gi_bits class`, then one per nearby one:
/// `near rank distance_bits bearing_bits`.
pub fn cached_lines() -> Vec<String> {
    use hotspot::{near, score_cached, Aggregates, CachedOffense, DeviceQuery, Lattice};
    use std::collections::BTreeMap;
    let events = clustered_events(3000, 7, 440_000.0, 4_630_000.0, 4_000.0, 56);
    let lattice = Lattice::new(Epsg::utm(32616).expect("zone"), 150).expect("lattice");
    let mut rows: BTreeMap<(i64, i64, i64, u32), u32> = BTreeMap::new();
    for e in &events {
        let k = lattice.key_of_xy(e.x, e.y);
        *rows.entry((k.ix, k.iy, e.t.div_euclid(86_400), e.offense)).or_default() += 1;
    }
    let track = ["violent", "property", "quality_of_life", "violent"];
    let weight = [12.5, 1.0, 0.25, 365.0];
    let cache = Aggregates {
        epsg: 32616,
        cell_size_m: 150,
        harm_table: "cross-target 1".into(),
        last_day: 55,
        days: 56,
        offenses: (0..4)
            .map(|i| CachedOffense { offense: format!("offence {i}"), track: track[i].into(), weight: weight[i] })
            .collect(),
        rows: rows.into_iter().map(|((ix, iy, d, o), c)| (ix, iy, d, o, c)).collect(),
    };
    let query = DeviceQuery { days: 28, tracks: vec!["violent".into(), "property".into()], half_life_days: 10.0 };
    let spots = score_cached(&cache, &query).expect("scores");
    let mut lines: Vec<String> = spots
        .iter()
        .map(|s| {
            format!(
                "{} {} {} {} {:016x} {:016x} {:016x} {}",
                s.rank,
                s.key.ix,
                s.key.iy,
                s.count,
                s.harm.to_bits(),
                s.decayed.to_bits(),
                s.gi_z.to_bits(),
                s.gi_class.signed_confidence()
            )
        })
        .collect();
    let (x, y) = (spots[0].x + 210.0, spots[0].y - 95.0);
    for (s, n) in near(&spots, x, y, 600.0, 10) {
        lines.push(format!("near {} {:016x} {:016x}", s.rank, n.distance_m.to_bits(), n.bearing_deg.to_bits()));
    }
    lines
}

/// The places the projection fixtures sample around, `(EPSG, lon, lat)`: Vancouver, Chicago,
/// Sydney, the equator on a central meridian, and the Bering Strait near the antimeridian.
pub const PLACES: [(u32, f64, f64); 5] =
    [(32610, -123.1, 49.25), (32616, -87.65, 41.85), (32756, 151.2, -33.87), (32631, 3.0, 0.0), (32601, -177.0, 71.0)];

/// Many points projected at once ([`hotspot::LocalUtm`], the per-tile fits the scoring run and
/// the analysts' CLI use): 300 points scattered over about 0.4° around each of five places in
/// both hemispheres, one line per point: `epsg lon_bits lat_bits x_bits y_bits`.
pub fn fitted_projection_lines() -> Vec<String> {
    use hotspot::rng::{Draw, SplitMix64};
    use hotspot::{LocalUtm, Utm};
    let mut rng = SplitMix64::seeded(2026);
    let mut lines = Vec::new();
    for (epsg, lon0, lat0) in PLACES {
        let points: Vec<(f64, f64)> =
            (0..300).map(|_| (lon0 + 0.4 * (rng.unit() - 0.5), lat0 + 0.4 * (rng.unit() - 0.5))).collect();
        let local = LocalUtm::new(Utm::new(Epsg::utm(epsg).expect("zone")), points.iter().copied());
        assert!(local.fitted_tiles() > 0, "EPSG:{epsg}: no tile fitted");
        for (lon, lat) in points {
            let (x, y) = local.forward(lon, lat).expect("on the globe");
            lines.push(format!(
                "{epsg} {:016x} {:016x} {:016x} {:016x}",
                lon.to_bits(),
                lat.to_bits(),
                x.to_bits(),
                y.to_bits()
            ));
        }
    }
    lines
}

/// The self-exciting model's bits: a simulated history, its EM fit (parameters, iterations,
/// log-likelihood) and the next 12 hours' forecast on a 10 × 10 grid of 150 m cells.
pub fn sepp_lines() -> Vec<String> {
    use hotspot::sepp::{fit, forecast, simulate, ForecastCell, SeppOptions, SeppParams};
    let truth = SeppParams { mu: 2.0, theta: 0.4, omega: 0.5, sigma: 120.0 };
    let opts = SeppOptions { max_lag_days: 30.0, max_distance_m: 700.0, ..SeppOptions::default() };
    let events = simulate(&truth, 1_500.0, 1_500.0, 120.0, 11);
    let f = fit(&events, 120.0, None, &opts).expect("the fixture fits");
    let p = f.params;
    let mut lines = vec![format!(
        "fit {} {} {:016x} {:016x} {:016x} {:016x} {:016x}",
        f.events,
        f.iterations,
        p.mu.to_bits(),
        p.theta.to_bits(),
        p.omega.to_bits(),
        p.sigma.to_bits(),
        f.log_likelihood.to_bits()
    )];
    let cells: Vec<ForecastCell> = (0..100)
        .map(|k| ForecastCell {
            x0: f64::from(k % 10) * 150.0,
            y0: f64::from(k / 10) * 150.0,
            size: 150.0,
            background_mass: 0.5 / 100.0,
        })
        .collect();
    for (k, v) in forecast(&p, &events, 120.0, 12.0, &cells, &opts).iter().enumerate() {
        lines.push(format!("cell {k} {:016x}", v.to_bits()));
    }
    lines
}
