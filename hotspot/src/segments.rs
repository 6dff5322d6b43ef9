//! Street segments as places: when a department supplies its street network (GeoJSON
//! LineStrings — block faces or centreline segments between intersections), incidents snap to
//! the nearest segment within a tolerance and are scored per segment. The street segment is the
//! unit of Weisburd's law of crime concentration (50 % of crime on 2–6 % of segments), and the
//! unit a sergeant sends a car to.
//!
//! Conventions (fixed, tested):
//! - A segment is a polyline of projected points (metres, the incidents' UTM zone); its length
//!   is the sum of its pieces.
//! - An incident snaps to the segment at the smallest Euclidean distance from it to any piece of
//!   the segment, when that distance is at most the tolerance; a tie goes to the segment that
//!   comes first in the network (file order). An incident farther than the tolerance from every
//!   segment is counted as unsnapped and reported, never silently dropped.
//! - Gi* on segments uses the street graph's adjacency, the network counterpart of queen
//!   contiguity: two segments are neighbours when an end point of one lies within
//!   [`NODE_TOLERANCE_M`] of an end point of the other (they meet at an intersection); each
//!   segment is its own neighbour; weights are binary; the study area is every segment.

use rstar::primitives::{GeomWithData, Line};
use rstar::RTree;
use serde::{Deserialize, Serialize};

use crate::gi::{fdr_classes, gi_star_lists, GiClass};
use crate::score::{Event, Measure, Window};

/// End points closer than this (metres) are one intersection.
pub const NODE_TOLERANCE_M: f64 = 0.5;

/// One street segment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// The department's id for it (unique in the network).
    pub id: String,
    /// Street name or block label, for people.
    pub name: String,
    /// Its points, projected (metres), in order.
    pub points: Vec<(f64, f64)>,
}

/// Why a network or a snapping tolerance is unusable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SegmentError {
    /// No segment at all.
    #[error("the street network has no segment")]
    Empty,
    /// Fewer than two distinct points.
    #[error("segment '{0}' needs at least two distinct points")]
    Degenerate(String),
    /// Not a finite coordinate.
    #[error("a coordinate of segment '{0}' is not a finite number")]
    NotFinite(String),
    /// The same id twice.
    #[error("segment id '{0}' appears twice in the network")]
    DuplicateId(String),
    /// The tolerance is not a positive number of metres.
    #[error("the snapping tolerance must be a positive number of metres, got {0}")]
    BadTolerance(f64),
    /// The window ends before it starts.
    #[error("the window ends before it starts ({from} ≥ {to})")]
    EmptyWindow {
        /// Start.
        from: i64,
        /// End.
        to: i64,
    },
}

type Piece = GeomWithData<Line<[f64; 2]>, usize>;
type Node = GeomWithData<[f64; 2], usize>;

/// A street network, indexed for snapping, with its intersections.
#[derive(Debug, Clone)]
pub struct Network {
    segments: Vec<Segment>,
    lengths: Vec<f64>,
    pieces: RTree<Piece>,
    neighbours: Vec<Vec<usize>>,
}

impl Network {
    /// Indexes `segments` (in file order: the order breaks snapping ties).
    ///
    /// # Errors
    /// [`SegmentError`] for an empty network, a segment without two distinct points, a
    /// non-finite coordinate or a repeated id.
    pub fn new(segments: Vec<Segment>) -> Result<Self, SegmentError> {
        if segments.is_empty() {
            return Err(SegmentError::Empty);
        }
        let mut seen = std::collections::HashSet::new();
        let mut pieces = Vec::new();
        let mut lengths = Vec::with_capacity(segments.len());
        let mut ends = Vec::with_capacity(2 * segments.len());
        for (i, s) in segments.iter().enumerate() {
            if !seen.insert(s.id.as_str()) {
                return Err(SegmentError::DuplicateId(s.id.clone()));
            }
            if s.points.iter().any(|(x, y)| !(x.is_finite() && y.is_finite())) {
                return Err(SegmentError::NotFinite(s.id.clone()));
            }
            let mut length = 0.0;
            for w in s.points.windows(2) {
                let (a, b) = (w[0], w[1]);
                if a == b {
                    continue;
                }
                length += libm::hypot(b.0 - a.0, b.1 - a.1);
                pieces.push(GeomWithData::new(Line::new([a.0, a.1], [b.0, b.1]), i));
            }
            if length == 0.0 {
                return Err(SegmentError::Degenerate(s.id.clone()));
            }
            lengths.push(length);
            for p in [s.points[0], s.points[s.points.len() - 1]] {
                ends.push(GeomWithData::new([p.0, p.1], i));
            }
        }
        let nodes: RTree<Node> = RTree::bulk_load(ends);
        let tol2 = NODE_TOLERANCE_M * NODE_TOLERANCE_M;
        let neighbours = segments
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let mut near: Vec<usize> = vec![i];
                for p in [s.points[0], s.points[s.points.len() - 1]] {
                    near.extend(nodes.locate_within_distance([p.0, p.1], tol2).map(|n| n.data));
                }
                near.sort_unstable();
                near.dedup();
                near
            })
            .collect();
        Ok(Self { segments, lengths, pieces: RTree::bulk_load(pieces), neighbours })
    }

    /// Number of segments.
    pub fn len(&self) -> usize {
        self.segments.len()
    }

    /// True when there is no segment (never, for a built network).
    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }

    /// Segment `i`.
    pub fn segment(&self, i: usize) -> &Segment {
        &self.segments[i]
    }

    /// Length of segment `i`, metres.
    pub fn length(&self, i: usize) -> f64 {
        self.lengths[i]
    }

    /// The segments meeting segment `i` at an intersection, `i` itself included, ascending.
    pub fn neighbours_with_self(&self, i: usize) -> &[usize] {
        &self.neighbours[i]
    }

    /// The segment a point at `(x, y)` snaps to and its distance, if one is within
    /// `tolerance_m` (the nearest; on a tie, the first in the network).
    pub fn snap(&self, x: f64, y: f64, tolerance_m: f64) -> Option<(usize, f64)> {
        // A point that is not a number is nowhere: it snaps to nothing (the R-tree's distance
        // ordering cannot compare a NaN distance).
        if !(x.is_finite() && y.is_finite()) {
            return None;
        }
        let limit = tolerance_m * tolerance_m;
        let mut best: Option<(usize, f64)> = None;
        for (piece, d2) in self.pieces.nearest_neighbor_iter_with_distance_2(&[x, y]) {
            if d2 > limit {
                break;
            }
            match best {
                None => best = Some((piece.data, d2)),
                Some((_, b)) if d2 > b => break,
                Some((i, _)) if piece.data < i => best = Some((piece.data, d2)),
                Some(_) => {}
            }
        }
        best.map(|(i, d2)| (i, libm::sqrt(d2)))
    }
}

/// Every segment's scores, indexed like the network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentScores {
    /// Incidents in the window snapped to the segment.
    pub count: Vec<u32>,
    /// Σ harm weights.
    pub harm: Vec<f64>,
    /// Harm per kilometre of street (harm ÷ length), for comparing long and short blocks.
    pub harm_per_km: Vec<f64>,
    /// Gi* z-score of the measure over the street graph.
    pub gi_z: Vec<f64>,
    /// Gi* class after the FDR correction.
    pub gi_class: Vec<GiClass>,
    /// Incidents in the window that snapped to a segment.
    pub snapped: usize,
    /// Incidents in the window farther than the tolerance from every segment (not scored).
    pub unsnapped: usize,
}

/// Scores every segment from the events inside `window` that snap within `tolerance_m`; Gi* on
/// counts or harm as `measure` says.
///
/// # Errors
/// [`SegmentError::BadTolerance`], [`SegmentError::EmptyWindow`].
pub fn score_segments(
    network: &Network,
    events: &[Event],
    window: Window,
    tolerance_m: f64,
    measure: Measure,
) -> Result<SegmentScores, SegmentError> {
    if !(tolerance_m.is_finite() && tolerance_m > 0.0) {
        return Err(SegmentError::BadTolerance(tolerance_m));
    }
    if window.from >= window.to {
        return Err(SegmentError::EmptyWindow { from: window.from, to: window.to });
    }
    let n = network.len();
    let (mut count, mut harm) = (vec![0u32; n], vec![0.0; n]);
    let (mut snapped, mut unsnapped) = (0, 0);
    for e in events.iter().filter(|e| window.contains(e.t)) {
        match network.snap(e.x, e.y, tolerance_m) {
            Some((i, _)) => {
                count[i] += 1;
                harm[i] += e.harm;
                snapped += 1;
            }
            None => unsnapped += 1,
        }
    }
    let harm_per_km = harm.iter().zip(&network.lengths).map(|(h, l)| h / (l / 1000.0)).collect();
    let values: Vec<f64> = match measure {
        Measure::Count => count.iter().map(|c| f64::from(*c)).collect(),
        Measure::Harm => harm.clone(),
    };
    let gi_z = gi_star_lists(&values, |i| network.neighbours_with_self(i).iter().copied());
    let gi_class = fdr_classes(&gi_z);
    Ok(SegmentScores { count, harm, harm_per_km, gi_z, gi_class, snapped, unsnapped })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Draw;

    fn seg(id: &str, points: &[(f64, f64)]) -> Segment {
        Segment { id: id.into(), name: format!("{id} street"), points: points.to_vec() }
    }

    /// A, B, C in a line along y = 0 (100 m each, meeting at x = 100 and x = 200); D apart.
    fn chain() -> Network {
        Network::new(vec![
            seg("A", &[(0.0, 0.0), (100.0, 0.0)]),
            seg("B", &[(100.0, 0.0), (150.0, 0.0), (200.0, 0.0)]),
            seg("C", &[(200.0, 0.0), (300.0, 0.0)]),
            seg("D", &[(0.0, 100.0), (100.0, 100.0)]),
        ])
        .expect("network")
    }

    fn event(x: f64, y: f64, harm: f64) -> Event {
        Event { x, y, t: 0, offense: 0, harm }
    }

    #[test]
    fn lengths_and_intersections() {
        let n = chain();
        assert_eq!((0..4).map(|i| n.length(i)).collect::<Vec<_>>(), [100.0, 100.0, 100.0, 100.0]);
        assert_eq!(n.neighbours_with_self(0), [0, 1]);
        assert_eq!(n.neighbours_with_self(1), [0, 1, 2]);
        assert_eq!(n.neighbours_with_self(2), [1, 2]);
        assert_eq!(n.neighbours_with_self(3), [3]);
    }

    #[test]
    fn snapping_takes_the_nearest_within_tolerance_and_the_first_on_a_tie() {
        let n = chain();
        assert_eq!(n.snap(50.0, 10.0, 25.0), Some((0, 10.0)));
        assert_eq!(n.snap(50.0, 90.0, 25.0), Some((3, 10.0)));
        // Beyond the end of A: the distance to its end point, 5 m.
        assert_eq!(n.snap(-3.0, 4.0, 25.0), Some((0, 5.0)));
        // At the A–B intersection both are 5 m away: A, the first.
        assert_eq!(n.snap(100.0, 5.0, 25.0), Some((0, 5.0)));
        // Half-way between y = 0 and y = 100 is 50 m from both lines: too far at 25 m.
        assert_eq!(n.snap(150.0, 50.0, 25.0), None);
        assert_eq!(n.snap(150.0, 50.0, 50.0), Some((1, 50.0)));
        // Not a number, or infinitely far: nowhere (it used to panic in the R-tree).
        for (x, y) in [(f64::NAN, 0.0), (0.0, f64::NAN), (f64::INFINITY, 0.0), (50.0, f64::NEG_INFINITY)] {
            assert_eq!(n.snap(x, y, 25.0), None, "({x}, {y})");
        }
    }

    #[test]
    fn scores_by_hand() {
        let n = chain();
        // Three on A (one of harm 10), one on B, one too far away.
        let events = [
            event(10.0, 1.0, 1.0),
            event(20.0, -2.0, 1.0),
            event(90.0, 3.0, 10.0),
            event(150.0, 1.0, 1.0),
            event(150.0, 50.0, 1.0),
        ];
        let s = score_segments(&n, &events, Window::ALL, 25.0, Measure::Count).expect("scores");
        assert_eq!(s.count, [3, 1, 0, 0]);
        assert_eq!(s.harm, [12.0, 1.0, 0.0, 0.0]);
        assert_eq!(s.harm_per_km, [120.0, 10.0, 0.0, 0.0]);
        assert_eq!((s.snapped, s.unsnapped), (4, 1));
        // Gi* of x = [3, 1, 0, 0]: n = 4, mean 1, S = sqrt(10/4 − 1) = sqrt(1.5).
        // A: W = 2, Σ = 4 → (4 − 2) / (S · sqrt((8 − 4)/3)) = √2.
        // B: W = 3, Σ = 4 → 1 / (S · 1) = sqrt(2/3).  C: W = 2, Σ = 1 → −1/√2.
        // D: W = 1, Σ = 0 → −1 / (S · 1) = −sqrt(2/3).
        let want = [2f64.sqrt(), (2.0f64 / 3.0).sqrt(), -(0.5f64.sqrt()), -(2.0f64 / 3.0).sqrt()];
        for (got, want) in s.gi_z.iter().zip(want) {
            assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        }
    }

    #[test]
    fn bad_networks_and_parameters_say_why() {
        assert_eq!(Network::new(vec![]).expect_err("refused"), SegmentError::Empty);
        assert_eq!(
            Network::new(vec![seg("X", &[(1.0, 1.0), (1.0, 1.0)])]).expect_err("refused"),
            SegmentError::Degenerate("X".into())
        );
        assert_eq!(
            Network::new(vec![seg("X", &[(0.0, 0.0), (1.0, 1.0)]), seg("X", &[(2.0, 0.0), (3.0, 1.0)])])
                .expect_err("refused"),
            SegmentError::DuplicateId("X".into())
        );
        assert_eq!(
            Network::new(vec![seg("X", &[(0.0, f64::NAN), (1.0, 1.0)])]).expect_err("refused"),
            SegmentError::NotFinite("X".into())
        );
        let n = chain();
        assert_eq!(
            score_segments(&n, &[], Window::ALL, 0.0, Measure::Count).expect_err("refused"),
            SegmentError::BadTolerance(0.0)
        );
        assert!(score_segments(&n, &[], Window { from: 5, to: 5 }, 10.0, Measure::Count).is_err());
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn brute(n: &Network, x: f64, y: f64) -> f64 {
            (0..n.len())
                .map(|i| {
                    n.segment(i)
                        .points
                        .windows(2)
                        .map(|w| {
                            let (a, b) = (w[0], w[1]);
                            let (dx, dy) = (b.0 - a.0, b.1 - a.1);
                            let t = (((x - a.0) * dx + (y - a.1) * dy) / (dx * dx + dy * dy)).clamp(0.0, 1.0);
                            libm::hypot(x - (a.0 + t * dx), y - (a.1 + t * dy))
                        })
                        .fold(f64::INFINITY, f64::min)
                })
                .fold(f64::INFINITY, f64::min)
        }

        proptest! {
            #[test]
            fn a_snap_is_within_tolerance_and_nothing_is_nearer(
                lines in proptest::collection::vec((0.0..1000.0f64, 0.0..1000.0f64, 1.0..200.0f64, 1.0..200.0f64), 1..20),
                points in proptest::collection::vec((0.0..1200.0f64, 0.0..1200.0f64), 1..50),
                tolerance in 1.0..150.0f64,
            ) {
                let segments: Vec<Segment> = lines.iter().enumerate()
                    .map(|(i, (x, y, dx, dy))| seg(&i.to_string(), &[(*x, *y), (x + dx, y + dy)])).collect();
                let n = Network::new(segments).expect("network");
                for (x, y) in points {
                    let nearest = brute(&n, x, y);
                    match n.snap(x, y, tolerance) {
                        Some((_, d)) => {
                            prop_assert!(d <= tolerance + 1e-9);
                            prop_assert!((d - nearest).abs() < 1e-6, "{d} vs {nearest}");
                        }
                        None => prop_assert!(nearest > tolerance - 1e-9),
                    }
                }
            }

            #[test]
            fn gi_on_segments_is_invariant_to_scaling_the_harm(k in 0.1..1000.0f64, seed in 0u64..1000) {
                let n = chain();
                let mut rng = crate::rng::SplitMix64::seeded(seed);
                let events: Vec<Event> = (0..30)
                    .map(|_| event(rng.unit() * 300.0, rng.unit() * 100.0, 1.0 + rng.unit() * 9.0))
                    .collect();
                let scaled: Vec<Event> = events.iter().map(|e| Event { harm: e.harm * k, ..*e }).collect();
                let a = score_segments(&n, &events, Window::ALL, 60.0, Measure::Harm).expect("a");
                let b = score_segments(&n, &scaled, Window::ALL, 60.0, Measure::Harm).expect("b");
                for (x, y) in a.gi_z.iter().zip(&b.gi_z) {
                    prop_assert!((x - y).abs() < 1e-9, "{x} vs {y}");
                }
            }
        }
    }
}
