//! The benchmark workload of the scoring core, shared by the native (criterion), WebAssembly
//! (headless Chromium) and Python-peer benchmarks so all three time the same thing: score
//! `n` incidents, given as WGS84 points already in memory, into cells with harm, Gi* and a
//! Gaussian KDE.

use crate::projection::{Epsg, LocalUtm, ProjectionError, Utm};
use crate::rng::{Draw, SplitMix64};
use crate::score::{score, Event, Measure, ScoreParams, Scores, Window};
use crate::{Grid, Kernel};

/// Resamples `(lon, lat)` points to `n` points, moving each by up to ±`jitter_m` metres east and
/// north (uniform), so points do not collapse onto a few locations. Deterministic for a seed.
pub fn resample_with_jitter(points: &[(f64, f64)], n: usize, jitter_m: f64, seed: u64) -> Vec<(f64, f64)> {
    let mut rng = SplitMix64::seeded(seed);
    if points.is_empty() {
        return Vec::new();
    }
    (0..n)
        .map(|_| {
            let (lon, lat) = points[(rng.bits() % points.len() as u64) as usize];
            // Metres to degrees on the WGS84 sphere of mean radius: close enough for a jitter.
            let dlat = (rng.unit() * 2.0 - 1.0) * jitter_m / 111_195.0;
            let dlon = (rng.unit() * 2.0 - 1.0) * jitter_m / (111_195.0 * libm::cos(lat.to_radians()));
            (lon + dlon, lat + dlat)
        })
        .collect()
}

/// The timed work: project every point, build the covering grid, and score it (harm, decayed
/// harm, Gaussian KDE at `bandwidth_m`, Gi* with FDR classes) over all time.
///
/// # Errors
/// A point off the globe, or a grid too large.
pub fn score_points(
    points: &[(f64, f64)],
    epsg: Epsg,
    cell_size_m: f64,
    bandwidth_m: f64,
) -> Result<(Grid, Scores), ProjectionError> {
    let utm = LocalUtm::new(Utm::new(epsg), points.iter().copied());
    let mut events = Vec::with_capacity(points.len());
    for (i, (lon, lat)) in points.iter().enumerate() {
        let (x, y) = utm.forward(*lon, *lat)?;
        events.push(Event { x, y, t: i as i64, offense: 0, harm: 1.0 });
    }
    let grid = Grid::covering(epsg, cell_size_m, events.iter().map(|e| (e.x, e.y)))
        .map_err(|_| ProjectionError::NotUtm(epsg.code()))?;
    let params = ScoreParams { kernel: Kernel::Gaussian, bandwidth_m, half_life_days: 28.0, measure: Measure::Count };
    let scores = score(&grid, &events, Window::ALL, &params).map_err(|_| ProjectionError::NotUtm(epsg.code()))?;
    Ok((grid, scores))
}
