//! Getis-Ord Gi* on a grid, with a false-discovery-rate class per cell.
//!
//! For cell i with binary queen-contiguity weights that include the cell itself (so
//! `W_i = Σ_j w_ij` is 9 inside the grid, 6 on an edge, 4 in a corner), over all `n` cells:
//!
//! ```text
//! Gi*_i = (Σ_j w_ij x_j − X̄ W_i) / (S · sqrt((n W_i − W_i²) / (n − 1)))
//! X̄ = Σ x_j / n,   S = sqrt(Σ x_j² / n − X̄²)
//! ```
//!
//! (Ord & Getis 1995, eq. 9, the analytic z; identical to PySAL esda's `G_Local(star=True,
//! transform='B').Zs`, which the reference cross-check confirms.) Where the values do not vary
//! (`S = 0`) or a cell neighbours every cell (`W_i = n`) there is no evidence either way and the
//! z-score is 0.

use serde::{Deserialize, Serialize};

use crate::grid::Grid;

/// Gi* z-score of every cell of `grid` for per-cell `values` (length `grid.len()`).
///
/// # Panics
/// Never for matching lengths; a `values` slice shorter than the grid is a programming error
/// and panics on indexing.
pub fn gi_star(grid: &Grid, values: &[f64]) -> Vec<f64> {
    gi_star_lists(values, |i| grid.queen_with_self(i))
}

/// Gi* z-score of every place for per-place `values`, with binary weights over the places
/// `neighbours(i)` lists for place `i` (which must include `i` itself for Gi*): the same formula
/// for any contiguity — the grid's queen cells, or the street graph's segments meeting at an
/// intersection ([`crate::segments`]).
///
/// # Panics
/// A neighbour index outside `values` is a programming error and panics on indexing.
pub fn gi_star_lists<I: IntoIterator<Item = usize>>(values: &[f64], neighbours: impl Fn(usize) -> I) -> Vec<f64> {
    let n = values.len();
    let nf = n as f64;
    let (sum, sum_sq) = values.iter().fold((0.0, 0.0), |(s, q), v| (s + v, q + v * v));
    let mean = sum / nf;
    let variance = sum_sq / nf - mean * mean;
    let s = if variance > 0.0 { libm::sqrt(variance) } else { 0.0 };
    (0..n)
        .map(|i| {
            let (mut local, mut w) = (0.0, 0.0);
            for j in neighbours(i) {
                local += values[j];
                w += 1.0;
            }
            let spread = (nf * w - w * w) / (nf - 1.0);
            if s == 0.0 || spread <= 0.0 || n < 2 {
                0.0
            } else {
                (local - mean * w) / (s * libm::sqrt(spread))
            }
        })
        .collect()
}

/// A cell's Gi* class after the Benjamini–Hochberg false-discovery-rate correction over all
/// cells: hot or cold at 99, 95 or 90 % confidence, or not significant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum GiClass {
    /// Significantly cold at 99 %.
    Cold99,
    /// Cold at 95 %.
    Cold95,
    /// Cold at 90 %.
    Cold90,
    /// Not significant at 90 %.
    None,
    /// Hot at 90 %.
    Hot90,
    /// Hot at 95 %.
    Hot95,
    /// Hot at 99 %.
    Hot99,
}

impl GiClass {
    /// The signed confidence as reported in files: 99, 95, 90, 0, −90, −95, −99.
    pub fn signed_confidence(self) -> i32 {
        match self {
            Self::Cold99 => -99,
            Self::Cold95 => -95,
            Self::Cold90 => -90,
            Self::None => 0,
            Self::Hot90 => 90,
            Self::Hot95 => 95,
            Self::Hot99 => 99,
        }
    }
}

/// Two-sided p-value of a standard-normal z-score.
pub fn two_sided_p(z: f64) -> f64 {
    libm::erfc(libm::fabs(z) / core::f64::consts::SQRT_2)
}

/// The largest p-value that Benjamini–Hochberg at level `q` declares significant among `sorted`
/// (ascending) p-values, or `None` when none is.
fn bh_threshold(sorted: &[f64], q: f64) -> Option<f64> {
    let m = sorted.len() as f64;
    sorted.iter().enumerate().rev().find(|(k, p)| **p <= (*k as f64 + 1.0) / m * q).map(|(_, p)| *p)
}

/// FDR-corrected classes for every z-score (Benjamini & Hochberg 1995, at q = 0.01, 0.05, 0.10).
pub fn fdr_classes(z: &[f64]) -> Vec<GiClass> {
    let p: Vec<f64> = z.iter().map(|z| two_sided_p(*z)).collect();
    let mut sorted = p.clone();
    sorted.sort_by(f64::total_cmp);
    let t99 = bh_threshold(&sorted, 0.01);
    let t95 = bh_threshold(&sorted, 0.05);
    let t90 = bh_threshold(&sorted, 0.10);
    let within = |p: f64, t: Option<f64>| t.is_some_and(|t| p <= t);
    z.iter()
        .zip(&p)
        .map(|(z, p)| {
            let hot = *z > 0.0;
            if within(*p, t99) {
                if hot {
                    GiClass::Hot99
                } else {
                    GiClass::Cold99
                }
            } else if within(*p, t95) {
                if hot {
                    GiClass::Hot95
                } else {
                    GiClass::Cold95
                }
            } else if within(*p, t90) {
                if hot {
                    GiClass::Hot90
                } else {
                    GiClass::Cold90
                }
            } else {
                GiClass::None
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Epsg;
    use approx::assert_relative_eq;
    use proptest::prelude::*;

    fn grid(ncols: usize, nrows: usize) -> Grid {
        Grid { epsg: Epsg::utm(32616).expect("zone"), size: 100.0, x0: 0.0, y0: 0.0, ncols, nrows }
    }

    #[test]
    fn hand_computed_three_by_three() {
        // 3×3 grid, one event in the centre cell (id 4): n = 9, X̄ = 1/9, S = sqrt(1/9 − 1/81) = sqrt(8)/9.
        let g = grid(3, 3);
        let mut x = vec![0.0; 9];
        x[4] = 1.0;
        let z = gi_star(&g, &x);
        let s = 8f64.sqrt() / 9.0;
        // Corner cell 0: W = 4, local sum 1: (1 − 4/9) / (S sqrt((36 − 16)/8)).
        let z0 = (1.0 - 4.0 / 9.0) / (s * (20.0f64 / 8.0).sqrt());
        assert_relative_eq!(z[0], z0, max_relative = 1e-12);
        // Edge cell 1: W = 6: (1 − 6/9) / (S sqrt((54 − 36)/8)).
        assert_relative_eq!(z[1], (1.0 - 6.0 / 9.0) / (s * (18.0f64 / 8.0).sqrt()), max_relative = 1e-12);
        // Centre: W = 9 = n, it neighbours every cell — no evidence.
        assert_eq!(z[4], 0.0);
    }

    #[test]
    fn constant_values_give_zero() {
        assert!(gi_star(&grid(4, 4), &[3.0; 16]).iter().all(|z| *z == 0.0));
    }

    #[test]
    fn a_strong_cluster_is_hot_after_fdr() {
        let g = grid(30, 30);
        let mut x = vec![0.0; 900];
        for cell in [(15 * 30 + 15), (15 * 30 + 16), (16 * 30 + 15), (16 * 30 + 16)] {
            x[cell] = 20.0;
        }
        let z = gi_star(&g, &x);
        let classes = fdr_classes(&z);
        assert_eq!(classes[15 * 30 + 15], GiClass::Hot99);
        assert_eq!(classes[0], GiClass::None);
        assert_eq!(GiClass::Hot99.signed_confidence(), 99);
    }

    #[test]
    fn benjamini_hochberg_by_hand() {
        // p = erfc(|z|/√2): z = 3.29 → p ≈ 0.001, z = 2.0 → p ≈ 0.0455, z = 0.1 → p ≈ 0.92.
        // m = 3: at q = 0.05 the thresholds are 0.0167, 0.0333, 0.05 → only the first passes
        // ranks 1; the second (0.0455 > 0.0333) fails; at q = 0.10 (0.0333, 0.0667, 0.1) the
        // second passes at rank 2.
        let c = fdr_classes(&[3.29, -2.0, 0.1]);
        assert_eq!(c, vec![GiClass::Hot99, GiClass::Cold90, GiClass::None]);
        assert_relative_eq!(two_sided_p(1.959_963_984_540_054), 0.05, max_relative = 1e-9);
    }

    proptest! {
        #[test]
        fn invariant_to_scaling_the_values(seed in proptest::collection::vec(0u32..20, 36), k in 0.001f64..1000.0) {
            let g = grid(6, 6);
            let x: Vec<f64> = seed.iter().map(|v| f64::from(*v)).collect();
            let scaled: Vec<f64> = x.iter().map(|v| v * k).collect();
            for (a, b) in gi_star(&g, &x).iter().zip(gi_star(&g, &scaled)) {
                prop_assert!((a - b).abs() <= 1e-9 * (1.0 + a.abs()), "{a} vs {b}");
            }
        }
    }
}
