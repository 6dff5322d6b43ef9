//! Places near a point, for the officer's device: distance and compass bearing from where the
//! officer stands to each place within a radius, nearest first.
//!
//! A linear scan: a device holds a district's few thousand cells, for which a scan is faster to
//! build and to run than a spatial index, and adds nothing to the WebAssembly bundle.

use serde::{Deserialize, Serialize};

/// A place within the radius.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Nearby {
    /// The caller's index of the place.
    pub index: usize,
    /// Straight-line distance, metres (projected plane).
    pub distance_m: f64,
    /// Bearing from the point to the place, degrees clockwise from grid north, 0..360.
    pub bearing_deg: f64,
}

/// Places (projected centres) within `radius_m` of `(x, y)`, nearest first; ties by index.
pub fn nearby(places: &[(f64, f64)], x: f64, y: f64, radius_m: f64) -> Vec<Nearby> {
    let mut found: Vec<Nearby> = places
        .iter()
        .enumerate()
        .filter_map(|(index, (px, py))| {
            let (dx, dy) = (px - x, py - y);
            let distance_m = libm::sqrt(dx * dx + dy * dy);
            (distance_m <= radius_m).then(|| {
                let bearing = libm::atan2(dx, dy).to_degrees();
                Nearby { index, distance_m, bearing_deg: if bearing < 0.0 { bearing + 360.0 } else { bearing } }
            })
        })
        .collect();
    found.sort_by(|a, b| a.distance_m.total_cmp(&b.distance_m).then(a.index.cmp(&b.index)));
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_first_with_compass_bearings() {
        let places = [(0.0, 100.0), (300.0, 0.0), (-50.0, -50.0), (0.0, 1000.0)];
        let n = nearby(&places, 0.0, 0.0, 500.0);
        let order: Vec<usize> = n.iter().map(|p| p.index).collect();
        assert_eq!(order, vec![2, 0, 1]);
        assert!((n[0].distance_m - 50.0 * 2f64.sqrt()).abs() < 1e-9);
        assert!((n[0].bearing_deg - 225.0).abs() < 1e-9, "south-west");
        assert!((n[1].bearing_deg - 0.0).abs() < 1e-9, "north");
        assert!((n[2].bearing_deg - 90.0).abs() < 1e-9, "east");
    }
}
