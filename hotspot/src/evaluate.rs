//! How well a ranking of places predicted a later period: hit rate, PAI, PEI and RRI at fixed
//! shares of the study area.
//!
//! Notation (Chainey, Tompson & Uhlig 2008; Hunt 2016; Levine 2008), for the top `k` places of a
//! study area of `A` places, with `k = max(1, round(p/100 · A))` and ties broken by lower cell id:
//!
//! ```text
//! n   = test-period events (or harm) in the k flagged places      N  = in the whole study area
//! hit rate = n / N
//! PAI  = (n / N) / (k / A)
//! n*   = the most any k places held in the test period (a perfect oracle's pick)
//! PAI* = (n* / N) / (k / A)          PEI = PAI / PAI* = n / n*
//! RRI  = (n / n₁) / (N / N₁)         n₁, N₁: the same places and area in the training period
//! ```
//!
//! A metric whose denominator is zero is `None`, never a made-up number.

use serde::{Deserialize, Serialize};

/// The metrics at one share of the area.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AreaShare {
    /// The requested share, percent.
    pub percent: f64,
    /// Places flagged.
    pub k: usize,
    /// Places in the study area.
    pub area_cells: usize,
    /// Test-period total in the flagged places.
    pub n: f64,
    /// Test-period total in the study area.
    pub total: f64,
    /// The oracle's total with the same number of places.
    pub n_star: f64,
    /// n / N.
    pub hit_rate: Option<f64>,
    /// (n / N) / (k / A).
    pub pai: Option<f64>,
    /// The oracle's PAI.
    pub pai_star: Option<f64>,
    /// n / n*.
    pub pei: Option<f64>,
    /// (n / n₁) / (N / N₁).
    pub rri: Option<f64>,
}

/// Orders the study-area cells by `score`, highest first, ties by lower cell id; NaN sorts last.
pub fn rank_cells(area: &[usize], score: &[f64]) -> Vec<usize> {
    let mut order = area.to_vec();
    order.sort_by(|a, b| {
        let (sa, sb) = (score[*a], score[*b]);
        match (sa.is_nan(), sb.is_nan()) {
            (true, true) => a.cmp(b),
            (true, false) => std::cmp::Ordering::Greater,
            (false, true) => std::cmp::Ordering::Less,
            (false, false) => sb.total_cmp(&sa).then(a.cmp(b)),
        }
    });
    order
}

/// `k = max(1, round(p/100 · A))`, never more than `A`.
pub fn flagged_count(percent: f64, area_cells: usize) -> usize {
    (libm::round(percent / 100.0 * area_cells as f64) as usize).max(1).min(area_cells)
}

/// `a / b`, or `None` when `b` is zero or either is not finite: never a made-up number.
pub(crate) fn ratio(a: f64, b: f64) -> Option<f64> {
    (b != 0.0 && a.is_finite() && b.is_finite()).then(|| a / b)
}

/// Scores a ranking: `ranked` is the study area in predicted order; `train` and `test` hold each
/// cell's total (count or harm) in the two periods, indexed by cell id.
///
/// ```
/// // Ten cells; the ranking puts cell 3 first, and the test period's 10 incidents are all there.
/// let ranked = hotspot::rank_cells(&(0..10).collect::<Vec<_>>(), &[0., 0., 0., 5., 1., 0., 0., 0., 0., 0.]);
/// let test = [0., 0., 0., 10., 0., 0., 0., 0., 0., 0.];
/// let at_10 = &hotspot::evaluate(&ranked, &[0.; 10], &test, &[10.0])[0];
/// assert_eq!((at_10.hit_rate, at_10.pai, at_10.pei), (Some(1.0), Some(10.0), Some(1.0)));
/// ```
pub fn evaluate(ranked: &[usize], train: &[f64], test: &[f64], percents: &[f64]) -> Vec<AreaShare> {
    let area = ranked.len();
    let total: f64 = ranked.iter().map(|c| test[*c]).sum();
    let total_train: f64 = ranked.iter().map(|c| train[*c]).sum();
    let mut oracle: Vec<f64> = ranked.iter().map(|c| test[*c]).collect();
    oracle.sort_by(|a, b| b.total_cmp(a));
    percents
        .iter()
        .map(|&percent| {
            let k = if area == 0 { 0 } else { flagged_count(percent, area) };
            let n: f64 = ranked[..k].iter().map(|c| test[*c]).sum();
            let n_train: f64 = ranked[..k].iter().map(|c| train[*c]).sum();
            let n_star: f64 = oracle[..k].iter().sum();
            let share = ratio(k as f64, area as f64);
            let hit_rate = ratio(n, total);
            AreaShare {
                percent,
                k,
                area_cells: area,
                n,
                total,
                n_star,
                hit_rate,
                pai: hit_rate.zip(share).and_then(|(h, s)| ratio(h, s)),
                pai_star: ratio(n_star, total).zip(share).and_then(|(h, s)| ratio(h, s)),
                pei: ratio(n, n_star),
                rri: ratio(n, n_train).zip(ratio(total, total_train)).and_then(|(a, b)| ratio(a, b)),
            }
        })
        .collect()
}

/// The area shares the concentration curves are drawn at.
pub const LORENZ_AREA: [f64; 16] =
    [0.0, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0];

/// The share of the total held by the top `fraction` of `cells` places, given the places' values
/// largest first (places not listed hold nothing); 0 when there is nothing.
///
/// ```
/// // 100 places, one holds half the harm: the top 1% holds 50%.
/// assert_eq!(hotspot::evaluate::share_of_top(&[5.0, 3.0, 2.0], 100, 0.01), 0.5);
/// ```
pub fn share_of_top(sorted_desc: &[f64], cells: usize, fraction: f64) -> f64 {
    let total: f64 = sorted_desc.iter().sum();
    if total <= 0.0 {
        return 0.0;
    }
    let k = ((cells as f64 * fraction).ceil() as usize).max(1);
    sorted_desc.iter().take(k).sum::<f64>() / total
}

/// The concentration (Lorenz) curve of values over `cells` places: `(share of area, share of
/// the total)` at [`LORENZ_AREA`].
pub fn lorenz_of(sorted_desc: &[f64], cells: usize) -> Vec<(f64, f64)> {
    LORENZ_AREA.iter().map(|&x| (x, if x == 0.0 { 0.0 } else { share_of_top(sorted_desc, cells.max(1), x) })).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hand_computed_metrics() {
        // Ten cells; the method ranks cells 3, 7, 1, … first.
        let train = [0.0, 4.0, 0.0, 9.0, 0.0, 0.0, 0.0, 5.0, 0.0, 2.0];
        let test = [1.0, 1.0, 0.0, 6.0, 0.0, 0.0, 0.0, 2.0, 8.0, 2.0];
        let ranked = rank_cells(&(0..10).collect::<Vec<_>>(), &train);
        assert_eq!(&ranked[..4], &[3, 7, 1, 9]);
        let m = evaluate(&ranked, &train, &test, &[10.0, 20.0]);
        // 10 % of 10 cells = 1 cell (cell 3): n = 6, N = 20, hit 0.3, PAI = 0.3 / 0.1 = 3.
        assert_eq!((m[0].k, m[0].n, m[0].total), (1, 6.0, 20.0));
        assert!((m[0].pai.expect("pai") - 3.0).abs() < 1e-12);
        // Oracle: cell 8 with 8 → n* = 8, PAI* = 4, PEI = 6/8.
        assert_eq!(m[0].n_star, 8.0);
        assert!((m[0].pai_star.expect("pai*") - 4.0).abs() < 1e-12);
        assert!((m[0].pei.expect("pei") - 0.75).abs() < 1e-12);
        // RRI = (6/9) / (20/20).
        assert!((m[0].rri.expect("rri") - 6.0 / 9.0).abs() < 1e-12);
        // 20 % = cells 3, 7: n = 8, PAI = (8/20)/0.2 = 2, n* = 8 + 6 = 14.
        assert_eq!((m[1].k, m[1].n, m[1].n_star), (2, 8.0, 14.0));
        assert!((m[1].pai.expect("pai") - 2.0).abs() < 1e-12);
    }

    #[test]
    fn k_rounds_and_is_at_least_one() {
        assert_eq!(flagged_count(1.0, 40), 1); // 0.4 → 0 → at least 1
        assert_eq!(flagged_count(1.0, 150), 2); // 1.5 rounds half away from zero
        assert_eq!(flagged_count(5.0, 1000), 50);
        assert_eq!(flagged_count(100.0, 7), 7);
    }

    #[test]
    fn ties_break_by_lower_cell_id_and_nan_sorts_last() {
        assert_eq!(
            rank_cells(&[4, 2, 9, 1], &[0.0, 5.0, 5.0, 0.0, f64::NAN, 0.0, 0.0, 0.0, 0.0, 5.0]),
            vec![1, 2, 9, 4]
        );
    }

    #[test]
    fn empty_periods_give_no_metric_rather_than_a_number() {
        let m = evaluate(&[0, 1], &[0.0, 0.0], &[0.0, 0.0], &[50.0]);
        assert_eq!((m[0].hit_rate, m[0].pai, m[0].pei, m[0].rri), (None, None, None, None));
    }

    proptest! {
        #[test]
        fn a_perfect_oracle_reaches_pai_star(test in proptest::collection::vec(0u32..50, 1..200), p in 0.5f64..60.0) {
            let test: Vec<f64> = test.into_iter().map(f64::from).collect();
            let area: Vec<usize> = (0..test.len()).collect();
            let oracle = rank_cells(&area, &test);
            let m = &evaluate(&oracle, &test, &test, &[p])[0];
            prop_assert_eq!(m.pai, m.pai_star);
            if m.total > 0.0 { prop_assert_eq!(m.pei, Some(1.0)); }
            prop_assert!(m.n <= m.n_star);
        }
    }
}
