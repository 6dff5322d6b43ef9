//! Deterministic synthetic incidents for cross-target checks and benchmarks: the same seed gives
//! the same events on every platform (SplitMix64 and integer arithmetic only, then exact
//! conversions), so a native and a WebAssembly run score exactly the same input.

use crate::score::Event;

pub use crate::rng::{Draw, SplitMix64};

/// `n` events clustered around a few centres inside a `span`-metre square at `(x0, y0)`, over
/// `days` days from t = 0, with offences 0..4 and harm 1, 10 or 365.
pub fn clustered_events(n: usize, seed: u64, x0: f64, y0: f64, span: f64, days: i64) -> Vec<Event> {
    let mut rng = SplitMix64::seeded(seed);
    let centres: Vec<(f64, f64)> = (0..8).map(|_| (x0 + rng.unit() * span, y0 + rng.unit() * span)).collect();
    (0..n)
        .map(|_| {
            let (cx, cy) = centres[(rng.bits() % 8) as usize];
            // Sum of three uniforms: a cheap, portable bell around the centre (±0.15 span).
            let jitter = |r: &mut SplitMix64| (r.unit() + r.unit() + r.unit() - 1.5) * 0.1 * span;
            let x = (cx + jitter(&mut rng)).clamp(x0, x0 + span);
            let y = (cy + jitter(&mut rng)).clamp(y0, y0 + span);
            let offense = (rng.bits() % 4) as u32;
            let harm = [1.0, 1.0, 10.0, 365.0][offense as usize];
            Event { x, y, t: (rng.bits() % (days as u64 * 86_400)) as i64, offense, harm }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_stay_in_their_square_and_window() {
        let e = clustered_events(1000, 7, 1000.0, 2000.0, 5000.0, 28);
        assert_eq!(e.len(), 1000);
        assert!(e.iter().all(|e| (1000.0..=6000.0).contains(&e.x) && (2000.0..=7000.0).contains(&e.y)));
        assert!(e.iter().all(|e| (0..28 * 86_400).contains(&e.t)));
        assert_eq!(e, clustered_events(1000, 7, 1000.0, 2000.0, 5000.0, 28), "deterministic");
    }
}
