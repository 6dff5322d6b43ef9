//! Scoring on the officer's device from cached aggregates.
//!
//! A device never holds incidents: it holds, for its district, how many incidents of each
//! offence fell in each micro place on each local day ([`Aggregates`]), and the harm weight and
//! track (violent, property, quality of life) of each offence. From those it re-scores the
//! district for the window and tracks the officer picks ([`score_cached`]) and lists the hot
//! spots near where the officer stands ([`near`]) — with no signal, in WebAssembly, giving the
//! same bits as the server's native build would on the same inputs.
//!
//! An incident counts at the centre of its cell at noon of its day: the scores are those of the
//! cell (count, harm, time-decayed harm, Gi* over the cells the cache covers), which are exactly
//! what the per-cell-per-day aggregates determine.

use serde::{Deserialize, Serialize};

use crate::gi::GiClass;
use crate::grid::{CellKey, Grid, Lattice};
use crate::nearby::{nearby, Nearby};
use crate::projection::Epsg;
use crate::score::{score, Event, Measure, ScoreError, ScoreParams, Window};

const DAY: i64 = 86_400;

/// One offence of the cache's vocabulary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CachedOffense {
    /// Offence text as recorded.
    pub offense: String,
    /// Harm track: `violent`, `property`, `quality_of_life`, or empty when unclassified.
    pub track: String,
    /// Harm weight under the cache's harm table (0 for an offence the table does not weigh).
    pub weight: f64,
}

/// What a device keeps for scoring: per cell, per local day, per offence counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Aggregates {
    /// The UTM zone of the lattice (EPSG 326xx/327xx).
    pub epsg: u32,
    /// Cell size, metres.
    pub cell_size_m: u32,
    /// Which harm table (name and version) produced the weights.
    pub harm_table: String,
    /// The newest local day the cache covers (days since 1970-01-01).
    pub last_day: i64,
    /// How many days back from `last_day` the cache holds.
    pub days: u32,
    /// The vocabulary the rows index into.
    pub offenses: Vec<CachedOffense>,
    /// `(ix, iy, day, offence index, count)`: lattice column and row, local day number, index
    /// into `offenses`, incidents.
    pub rows: Vec<(i64, i64, i64, u32, u32)>,
}

/// What the officer asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceQuery {
    /// Window length in days, ending with the cache's last day.
    pub days: u32,
    /// Tracks to include; empty means all.
    pub tracks: Vec<String>,
    /// Half-life of the time decay, days.
    pub half_life_days: f64,
}

/// A scored place.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HotSpot {
    /// The cell's permanent identity.
    pub key: CellKey,
    /// Projected centre, metres.
    pub x: f64,
    /// See `x`.
    pub y: f64,
    /// Incidents in the window.
    pub count: u32,
    /// Σ harm weights.
    pub harm: f64,
    /// Harm decayed by age from the window's end.
    pub decayed: f64,
    /// Gi* z-score of harm over the cells the cache covers.
    pub gi_z: f64,
    /// Gi* class after the false-discovery-rate correction.
    pub gi_class: GiClass,
    /// 1-based rank by harm (then incidents, then decayed harm, then west-to-east, south-to-north).
    pub rank: usize,
}

/// Why the cache cannot be scored.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CachedError {
    /// The cache names a zone that is not UTM or a bad cell size.
    #[error("the cached data is not on a UTM lattice: {0}")]
    Lattice(String),
    /// A row points past the vocabulary.
    #[error("cached row {row} names offence #{offense}, but the cache lists {known}")]
    UnknownOffense {
        /// Row index.
        row: usize,
        /// Its offence index.
        offense: u32,
        /// Vocabulary size.
        known: usize,
    },
    /// The window is not a positive number of days.
    #[error("the window must be at least one day")]
    EmptyWindow,
    /// The scoring itself refused.
    #[error(transparent)]
    Score(#[from] ScoreError),
}

/// Scores every cell the cache covers for `query`; returns the cells with at least one incident
/// in the window, best first. Identical inputs give identical bits on every target.
///
/// # Errors
/// [`CachedError`] for a malformed cache or query.
pub fn score_cached(cache: &Aggregates, query: &DeviceQuery) -> Result<Vec<HotSpot>, CachedError> {
    if query.days == 0 {
        return Err(CachedError::EmptyWindow);
    }
    let epsg = Epsg::utm(cache.epsg).map_err(|e| CachedError::Lattice(e.to_string()))?;
    let lattice = Lattice::new(epsg, cache.cell_size_m).map_err(|e| CachedError::Lattice(e.to_string()))?;
    if let Some((row, &(_, _, _, offense, _))) =
        cache.rows.iter().enumerate().find(|(_, r)| r.3 as usize >= cache.offenses.len())
    {
        return Err(CachedError::UnknownOffense { row, offense, known: cache.offenses.len() });
    }
    if cache.rows.is_empty() {
        return Ok(Vec::new());
    }
    let size = f64::from(cache.cell_size_m);
    let centre = |ix: i64, iy: i64| ((ix as f64 + 0.5) * size, (iy as f64 + 0.5) * size);
    // The grid covers every cell in the cache, whatever the window: Gi*'s study area does not
    // move with the officer's choice.
    let grid = Grid::covering(epsg, size, cache.rows.iter().map(|r| centre(r.0, r.1)))
        .map_err(|e| CachedError::Lattice(e.to_string()))?;
    let wanted = |o: &CachedOffense| query.tracks.is_empty() || query.tracks.contains(&o.track);
    let mut events = Vec::new();
    for &(ix, iy, day, offense, count) in &cache.rows {
        let o = &cache.offenses[offense as usize];
        if !wanted(o) {
            continue;
        }
        let (x, y) = centre(ix, iy);
        let e = Event { x, y, t: day * DAY + DAY / 2, offense, harm: o.weight };
        events.extend(std::iter::repeat_n(e, count as usize));
    }
    let window = Window { from: (cache.last_day - i64::from(query.days) + 1) * DAY, to: (cache.last_day + 1) * DAY };
    let params = ScoreParams { half_life_days: query.half_life_days, measure: Measure::Harm, ..Default::default() };
    let s = score(&grid, &events, window, &params)?;
    let mut spots: Vec<HotSpot> = (0..grid.len())
        .filter(|&c| s.count[c] > 0)
        .map(|c| {
            let (x, y) = grid.centre(c);
            HotSpot {
                key: lattice.key_of_xy(x, y),
                x,
                y,
                count: s.count[c],
                harm: s.harm[c],
                decayed: s.decayed[c],
                gi_z: s.gi_z[c],
                gi_class: s.gi_class[c],
                rank: 0,
            }
        })
        .collect();
    spots.sort_by(|a, b| {
        b.harm
            .total_cmp(&a.harm)
            .then(b.count.cmp(&a.count))
            .then(b.decayed.total_cmp(&a.decayed))
            .then(a.key.ix.cmp(&b.key.ix))
            .then(a.key.iy.cmp(&b.key.iy))
    });
    for (i, s) in spots.iter_mut().enumerate() {
        s.rank = i + 1;
    }
    Ok(spots)
}

/// The best `top` hot spots within `radius_m` of `(x, y)` (projected in the cache's zone), in
/// rank order, each with its distance and bearing from the officer.
pub fn near(spots: &[HotSpot], x: f64, y: f64, radius_m: f64, top: usize) -> Vec<(HotSpot, Nearby)> {
    let centres: Vec<(f64, f64)> = spots.iter().map(|s| (s.x, s.y)).collect();
    let mut found: Vec<(HotSpot, Nearby)> =
        nearby(&centres, x, y, radius_m).into_iter().map(|n| (spots[n.index], n)).collect();
    found.sort_by_key(|(s, _)| s.rank);
    found.truncate(top);
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache() -> Aggregates {
        Aggregates {
            epsg: 32610,
            cell_size_m: 150,
            harm_table: "test 1".into(),
            last_day: 18_600,
            days: 90,
            offenses: vec![
                CachedOffense { offense: "Assault".into(), track: "violent".into(), weight: 10.0 },
                CachedOffense { offense: "Theft".into(), track: "property".into(), weight: 1.0 },
            ],
            rows: vec![
                (3300, 36_400, 18_600, 0, 1),
                (3300, 36_400, 18_590, 1, 2),
                (3301, 36_400, 18_599, 1, 5),
                (3305, 36_402, 18_500, 0, 4),
            ],
        }
    }

    #[test]
    fn harm_ranks_and_windows_cut_by_day() {
        let q = DeviceQuery { days: 28, tracks: vec![], half_life_days: 14.0 };
        let spots = score_cached(&cache(), &q).expect("scores");
        // The 100-day-old assaults fall outside 28 days.
        assert_eq!(spots.len(), 2);
        assert_eq!((spots[0].key.ix, spots[0].count, spots[0].harm), (3300, 3, 12.0));
        assert_eq!((spots[1].key.ix, spots[1].count, spots[1].harm), (3301, 5, 5.0));
        assert_eq!(spots[1].rank, 2);
        // Decay: one day old at half-life 14 → 2^(−1.5/14) per event (noon to window end).
        let want = 5.0 * libm::exp2(-1.5 / 14.0);
        assert!((spots[1].decayed - want).abs() < 1e-12);
    }

    #[test]
    fn tracks_select_offences() {
        let q = DeviceQuery { days: 200, tracks: vec!["violent".into()], half_life_days: 14.0 };
        let spots = score_cached(&cache(), &q).expect("scores");
        assert_eq!(spots.iter().map(|s| (s.key.ix, s.count)).collect::<Vec<_>>(), vec![(3305, 4), (3300, 1)]);
    }

    #[test]
    fn bad_caches_and_queries_are_refused() {
        let mut c = cache();
        c.rows.push((1, 1, 1, 9, 1));
        let q = DeviceQuery { days: 28, tracks: vec![], half_life_days: 14.0 };
        assert_eq!(score_cached(&c, &q), Err(CachedError::UnknownOffense { row: 4, offense: 9, known: 2 }));
        assert_eq!(score_cached(&cache(), &DeviceQuery { days: 0, ..q.clone() }), Err(CachedError::EmptyWindow));
        let bad = Aggregates { epsg: 4326, ..cache() };
        assert!(matches!(score_cached(&bad, &q), Err(CachedError::Lattice(_))));
        assert!(matches!(
            score_cached(&cache(), &DeviceQuery { half_life_days: 0.0, ..q }),
            Err(CachedError::Score(ScoreError::BadHalfLife(_)))
        ));
    }

    #[test]
    fn near_keeps_rank_order_within_the_radius() {
        let q = DeviceQuery { days: 200, tracks: vec![], half_life_days: 14.0 };
        let spots = score_cached(&cache(), &q).expect("scores");
        // Standing in cell 3300: the top-ranked cell, 5 columns and 2 rows away (≈ 808 m), is
        // outside 200 m.
        let here = spots.iter().find(|s| s.key.ix == 3300).expect("cell 3300");
        let (x, y) = (here.x, here.y);
        let found = near(&spots, x, y, 200.0, 10);
        assert_eq!(found.len(), 2);
        assert!(found[0].0.rank < found[1].0.rank);
        assert_eq!(found.iter().find(|(s, _)| s.key.ix == 3301).map(|(_, n)| n.distance_m.round()), Some(150.0));
        assert_eq!(found.iter().find(|(s, _)| s.key.ix == 3301).map(|(_, n)| n.bearing_deg.round()), Some(90.0));
        assert_eq!(near(&spots, x, y, 5_000.0, 1)[0].0.key.ix, 3305);
    }
}
