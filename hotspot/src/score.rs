//! Scores per place for a time window: count, harm, time-decayed harm, kernel density and Gi*,
//! and the ranking that missions and the daily snapshot use.

use serde::{Deserialize, Serialize};

use crate::gi::{fdr_classes, gi_star, GiClass};
use crate::grid::Grid;
use crate::kde::{kde_of, KdeError, Kernel};

/// Seconds in a day.
const DAY: f64 = 86_400.0;

/// One incident as the scoring core sees it: projected position, time, offence and harm weight.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Event {
    /// Easting, metres.
    pub x: f64,
    /// Northing, metres.
    pub y: f64,
    /// Occurrence time, seconds on the same clock as the [`Window`].
    pub t: i64,
    /// Index of the offence in the caller's vocabulary (for composition).
    pub offense: u32,
    /// Harm weight of the offence (1 for a plain count).
    pub harm: f64,
}

/// A half-open time window `[from, to)`, seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// Inclusive start.
    pub from: i64,
    /// Exclusive end.
    pub to: i64,
}

impl Window {
    /// Everything.
    pub const ALL: Self = Self { from: i64::MIN, to: i64::MAX };

    /// True when `t` is inside.
    pub fn contains(&self, t: i64) -> bool {
        t >= self.from && t < self.to
    }
}

/// What a ranking orders places by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RankBy {
    /// Incidents.
    Count,
    /// Harm (Σ weights).
    Harm,
    /// Kernel density.
    Kde,
    /// Gi* z-score.
    Gi,
    /// Exponentially time-decayed harm.
    Decayed,
}

/// Which quantity the density and Gi* are computed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Measure {
    /// Events.
    Count,
    /// Harm.
    Harm,
}

/// Scoring settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ScoreParams {
    /// Kernel shape.
    pub kernel: Kernel,
    /// Kernel bandwidth, metres.
    pub bandwidth_m: f64,
    /// Half-life of the time decay, days.
    pub half_life_days: f64,
    /// What the density and Gi* measure.
    pub measure: Measure,
}

impl Default for ScoreParams {
    fn default() -> Self {
        Self { kernel: Kernel::Gaussian, bandwidth_m: 200.0, half_life_days: 28.0, measure: Measure::Count }
    }
}

/// Why scores cannot be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScoreError {
    /// The window ends before it starts.
    #[error("the window ends before it starts ({from} ≥ {to})")]
    EmptyWindow {
        /// Start.
        from: i64,
        /// End.
        to: i64,
    },
    /// Half-lives are positive days.
    #[error("half-life must be a positive number of days, got {0}")]
    BadHalfLife(f64),
    /// The density could not be computed.
    #[error(transparent)]
    Kde(#[from] KdeError),
}

/// Every cell's scores, indexed by cell id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// Incidents in the window.
    pub count: Vec<u32>,
    /// Σ harm weights in the window.
    pub harm: Vec<f64>,
    /// Σ harm · 2^(−age / half-life), age measured back from the window's end (for an open-ended
    /// window, from its newest event).
    pub decayed: Vec<f64>,
    /// Kernel density of the measure, per km².
    pub kde: Vec<f64>,
    /// Gi* z-score of the measure.
    pub gi_z: Vec<f64>,
    /// Gi* class after the FDR correction.
    pub gi_class: Vec<GiClass>,
}

impl Scores {
    /// The per-cell values a ranking by `by` orders on.
    pub fn values(&self, by: RankBy) -> Vec<f64> {
        match by {
            RankBy::Count => self.count.iter().map(|c| f64::from(*c)).collect(),
            RankBy::Harm => self.harm.clone(),
            RankBy::Kde => self.kde.clone(),
            RankBy::Gi => self.gi_z.clone(),
            RankBy::Decayed => self.decayed.clone(),
        }
    }
}

/// Scores every cell of `grid` from the events inside `window`. Events off the grid are ignored
/// (the grid is built to cover them).
///
/// # Errors
/// [`ScoreError`] for an empty window, a bad half-life or a bad bandwidth.
pub fn score(grid: &Grid, events: &[Event], window: Window, params: &ScoreParams) -> Result<Scores, ScoreError> {
    if window.from >= window.to {
        return Err(ScoreError::EmptyWindow { from: window.from, to: window.to });
    }
    if !(params.half_life_days.is_finite() && params.half_life_days > 0.0) {
        return Err(ScoreError::BadHalfLife(params.half_life_days));
    }
    let n = grid.len();
    let mut count = vec![0u32; n];
    let mut harm = vec![0.0; n];
    let mut decayed = vec![0.0; n];
    let half_life_s = params.half_life_days * DAY;
    // Each event's cell, found once (`n` when outside the window or off the grid).
    let mut cell_of = Vec::with_capacity(events.len());
    let mut newest = i64::MIN;
    for e in events {
        let cell = if window.contains(e.t) { grid.cell_of(e.x, e.y) } else { None };
        if let Some(cell) = cell {
            count[cell] += 1;
            harm[cell] += e.harm;
            newest = newest.max(e.t);
        }
        cell_of.push(cell.unwrap_or(n));
    }
    // Age from the window's end; an open-ended window decays from its newest event instead.
    let end = if window.to == i64::MAX { newest } else { window.to };
    for (e, cell) in events.iter().zip(&cell_of) {
        if let Some(d) = decayed.get_mut(*cell) {
            *d += e.harm * libm::exp2(-((end - e.t) as f64) / half_life_s);
        }
    }
    let weighted = events.iter().zip(&cell_of).filter(|(_, cell)| **cell < n).map(|(e, cell)| {
        let w = match params.measure {
            Measure::Count => 1.0,
            Measure::Harm => e.harm,
        };
        (*cell, (e.x, e.y, w))
    });
    let kde = kde_of(grid, weighted, params.kernel, params.bandwidth_m)?;
    let measure: Vec<f64> = match params.measure {
        Measure::Count => count.iter().map(|c| f64::from(*c)).collect(),
        Measure::Harm => harm.clone(),
    };
    let gi_z = gi_star(grid, &measure);
    let gi_class = fdr_classes(&gi_z);
    Ok(Scores { count, harm, decayed, kde, gi_z, gi_class })
}

/// What one offence contributed to a cell in the window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Contribution {
    /// The offence index.
    pub offense: u32,
    /// Incidents.
    pub count: u32,
    /// Harm.
    pub harm: f64,
}

/// The composition of one cell's harm by offence, largest harm first (ties: more incidents,
/// then lower offence index).
pub fn composition(grid: &Grid, events: &[Event], window: Window, cell: usize) -> Vec<Contribution> {
    let mut parts: Vec<Contribution> = Vec::new();
    for e in events.iter().filter(|e| window.contains(e.t) && grid.cell_of(e.x, e.y) == Some(cell)) {
        match parts.iter_mut().find(|p| p.offense == e.offense) {
            Some(p) => {
                p.count += 1;
                p.harm += e.harm;
            }
            None => parts.push(Contribution { offense: e.offense, count: 1, harm: e.harm }),
        }
    }
    parts.sort_by(|a, b| b.harm.total_cmp(&a.harm).then(b.count.cmp(&a.count)).then(a.offense.cmp(&b.offense)));
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Epsg;
    use proptest::prelude::*;

    fn grid() -> Grid {
        Grid { epsg: Epsg::utm(32616).expect("zone"), size: 100.0, x0: 0.0, y0: 0.0, ncols: 3, nrows: 2 }
    }

    fn ev(x: f64, y: f64, t: i64, offense: u32, harm: f64) -> Event {
        Event { x, y, t, offense, harm }
    }

    #[test]
    fn counts_harm_and_decay_by_hand() {
        let day = 86_400;
        let events = [
            ev(50.0, 50.0, 0, 0, 10.0),          // cell 0, 28 days before the end
            ev(60.0, 40.0, 14 * day, 1, 2.0),    // cell 0, 14 days before
            ev(250.0, 150.0, 27 * day, 0, 10.0), // cell 5, 1 day before
            ev(250.0, 150.0, 28 * day, 0, 10.0), // at the end: outside [from, to)
        ];
        let w = Window { from: 0, to: 28 * day };
        let s = score(&grid(), &events, w, &ScoreParams::default()).expect("scores");
        assert_eq!(s.count, vec![2, 0, 0, 0, 0, 1]);
        assert_eq!(s.harm, vec![12.0, 0.0, 0.0, 0.0, 0.0, 10.0]);
        // Half-life 28 days: 10·2^−1 + 2·2^−0.5.
        assert!((s.decayed[0] - (5.0 + 2.0 * 0.5f64.sqrt())).abs() < 1e-12);
        assert!((s.decayed[5] - 10.0 * 2f64.powf(-1.0 / 28.0)).abs() < 1e-12);
        assert_eq!(s.values(RankBy::Count)[0], 2.0);
        // Open-ended: ages count back from the newest event (28 days), so the first event is
        // 28 days old, the second 14, and the newest has its whole harm.
        let s = score(&grid(), &events, Window { from: 0, to: i64::MAX }, &ScoreParams::default()).expect("scores");
        assert!((s.decayed[0] - (5.0 + 2.0 * 0.5f64.sqrt())).abs() < 1e-12);
        assert!((s.decayed[5] - (10.0 * 2f64.powf(-1.0 / 28.0) + 10.0)).abs() < 1e-12);
    }

    #[test]
    fn composition_orders_by_harm() {
        let events = [
            ev(50.0, 50.0, 0, 3, 1.0),
            ev(50.0, 50.0, 0, 3, 1.0),
            ev(40.0, 40.0, 0, 1, 365.0),
            ev(150.0, 50.0, 0, 1, 365.0),
        ];
        let c = composition(&grid(), &events, Window::ALL, 0);
        assert_eq!(
            c,
            vec![Contribution { offense: 1, count: 1, harm: 365.0 }, Contribution { offense: 3, count: 2, harm: 2.0 }]
        );
    }

    #[test]
    fn bad_parameters_are_errors() {
        assert!(matches!(
            score(&grid(), &[], Window { from: 5, to: 5 }, &ScoreParams::default()),
            Err(ScoreError::EmptyWindow { .. })
        ));
        let p = ScoreParams { half_life_days: 0.0, ..ScoreParams::default() };
        assert_eq!(score(&grid(), &[], Window::ALL, &p), Err(ScoreError::BadHalfLife(0.0)));
        let p = ScoreParams { bandwidth_m: -1.0, ..ScoreParams::default() };
        assert!(score(&grid(), &[], Window::ALL, &p).is_err());
    }

    proptest! {
        #[test]
        fn scores_that_must_be_non_negative_are(points in proptest::collection::vec((0.0f64..300.0, 0.0f64..200.0, 0i64..100, 0.0f64..500.0), 0..60)) {
            let events: Vec<Event> = points.iter().map(|(x, y, t, h)| ev(*x, *y, *t, 0, *h)).collect();
            let s = score(&grid(), &events, Window { from: 0, to: 100 }, &ScoreParams { measure: Measure::Harm, ..ScoreParams::default() }).expect("scores");
            prop_assert!(s.harm.iter().chain(&s.decayed).chain(&s.kde).all(|v| *v >= 0.0));
            prop_assert_eq!(s.count.iter().map(|c| *c as usize).sum::<usize>(), events.len());
            prop_assert!(s.decayed.iter().zip(&s.harm).all(|(d, h)| *d <= *h + 1e-9));
        }
    }
}
