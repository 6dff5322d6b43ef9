//! Presence: visits to a place from GPS fixes — the one definition the officer's Koper timer,
//! the presence dashboard and the mission dosage rules share.
//!
//! The rules (docs/research mission anchors §2.6; Koper 1995):
//! - A fix less accurate than [`VisitParams::max_accuracy_m`] (or not a number) is set aside
//!   and counted, never used.
//! - Fixes are put in time order. Their times are device clock plus that device's measured skew
//!   ([`Fix::skew_s`], server minus device), so tracks from devices whose clocks disagree line up.
//! - A visit is a run of consecutive fixes inside the place. It starts at the first fix inside
//!   and ends at the last: nothing is interpolated to the boundary, so dwell is never
//!   overstated.
//! - Two fixes more than [`VisitParams::max_gap_s`] apart are a gap in the track: a visit never
//!   spans one (nobody knows where the car was), and the gap is reported.
//! - Visits separated by a brief exit (at most [`VisitParams::merge_gap_s`], e.g. a car pulled
//!   to the far kerb) are one visit.
//! - A visit shorter than [`VisitParams::min_dwell_s`] is a drive-through and not counted.
//! - A Koper visit lasts at least [`VisitParams::koper_min_s`] (10 minutes); its Koper-compliant
//!   minutes are its dwell capped at [`VisitParams::koper_max_s`] (16 minutes), past which
//!   presence has diminishing returns.
//! - A move between two usable fixes faster than [`VisitParams::max_speed_mps`] (the distance
//!   less both accuracy radii, over the time between) is an implausible jump
//!   ([`implausible_jumps`]): reported for the dashboard to flag, never dropped, since a pursuit
//!   is real and a spoofed fix is evidence.

/// One GPS fix in projected metres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fix {
    /// Fix time on the device clock, UTC seconds.
    pub t: i64,
    /// Server clock minus device clock for the batch this fix came in (0 when unknown).
    pub skew_s: i64,
    /// Easting, metres.
    pub x: f64,
    /// Northing, metres.
    pub y: f64,
    /// Reported accuracy (radius, metres).
    pub accuracy_m: f64,
}

impl Fix {
    /// Time on the server clock.
    pub fn server_t(&self) -> i64 {
        self.t.saturating_add(self.skew_s)
    }
}

/// A place, in projected metres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Area {
    /// A cell (or any axis-aligned box): `[min_x, max_x) × [min_y, max_y)`, like the lattice.
    Rect {
        /// West edge.
        min_x: f64,
        /// South edge.
        min_y: f64,
        /// East edge.
        max_x: f64,
        /// North edge.
        max_y: f64,
    },
    /// A point with a radius (an address, a street segment's buffer).
    Circle {
        /// Centre easting.
        x: f64,
        /// Centre northing.
        y: f64,
        /// Radius, metres.
        r: f64,
    },
}

impl Area {
    /// Whether a position lies in the place.
    pub fn contains(&self, x: f64, y: f64) -> bool {
        match *self {
            Area::Rect { min_x, min_y, max_x, max_y } => x >= min_x && x < max_x && y >= min_y && y < max_y,
            Area::Circle { x: cx, y: cy, r } => (x - cx).hypot(y - cy) <= r,
        }
    }
}

/// The thresholds; [`Default`] gives the shipped values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VisitParams {
    /// Fixes less accurate than this are set aside (metres). Default 50.
    pub max_accuracy_m: f64,
    /// Fixes further apart than this are a gap in the track (seconds). Default 180.
    pub max_gap_s: i64,
    /// Visits separated by an exit this short are one visit (seconds). Default 120.
    pub merge_gap_s: i64,
    /// Shorter visits are drive-throughs (seconds). Default 60.
    pub min_dwell_s: i64,
    /// A Koper visit lasts at least this long (seconds). Default 600 (10 minutes).
    pub koper_min_s: i64,
    /// Koper-compliant time per visit is capped here (seconds). Default 960 (16 minutes).
    pub koper_max_s: i64,
    /// Movement between two fixes faster than this is implausible (m/s), and flagged, never
    /// dropped. Default 70 (252 km/h): patrol cars in pursuit reach about 200 km/h, so a faster
    /// jump is a spoofed or broken fix, not driving.
    pub max_speed_mps: f64,
}

impl Default for VisitParams {
    fn default() -> Self {
        VisitParams {
            max_accuracy_m: 50.0,
            max_gap_s: 180,
            merge_gap_s: 120,
            min_dwell_s: 60,
            koper_min_s: 600,
            koper_max_s: 960,
            max_speed_mps: 70.0,
        }
    }
}

/// One visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Visit {
    /// First fix inside, server clock.
    pub entry: i64,
    /// Last fix inside, server clock.
    pub exit: i64,
    /// Fixes inside.
    pub fixes: usize,
}

impl Visit {
    /// Seconds in the place.
    pub fn dwell_s(&self) -> i64 {
        self.exit - self.entry
    }
}

/// A stretch with no usable fixes longer than [`VisitParams::max_gap_s`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gap {
    /// Last fix before it, server clock.
    pub from: i64,
    /// First fix after it.
    pub to: i64,
}

/// Presence at one place from one track (or several devices' fixes together).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Presence {
    /// Visits, in time order, never overlapping.
    pub visits: Vec<Visit>,
    /// Gaps in the track (anywhere, not only near the place), in time order.
    pub gaps: Vec<Gap>,
    /// Fixes set aside for poor accuracy.
    pub inaccurate_fixes: usize,
    /// Fixes used.
    pub used_fixes: usize,
}

impl Presence {
    /// Total seconds in the place.
    pub fn dwell_s(&self) -> i64 {
        self.visits.iter().map(Visit::dwell_s).sum()
    }

    /// Visits of at least the Koper minimum.
    pub fn koper_visits(&self, p: &VisitParams) -> usize {
        self.visits.iter().filter(|v| v.dwell_s() >= p.koper_min_s).count()
    }

    /// Koper-compliant minutes: each Koper visit's dwell, capped at the Koper maximum.
    pub fn koper_minutes(&self, p: &VisitParams) -> f64 {
        self.visits
            .iter()
            .filter(|v| v.dwell_s() >= p.koper_min_s)
            .map(|v| v.dwell_s().min(p.koper_max_s) as f64 / 60.0)
            .sum::<f64>()
            // An empty sum is -0.0; nobody wants to read "-0.0 minutes".
            + 0.0
    }

    /// When the last visit ended, if there was one.
    pub fn last_exit(&self) -> Option<i64> {
        self.visits.last().map(|v| v.exit)
    }
}

/// Presence at one place by several tracks at once (an officer's phone and in-car laptop, or
/// two cars): each track's visits found on its own, then their times united, so minutes when
/// two devices were there together count once. Gaps and fix counts are added up.
pub fn united(tracks: impl IntoIterator<Item = Presence>) -> Presence {
    let mut all = Presence::default();
    for one in tracks {
        all.visits.extend(one.visits);
        all.gaps.extend(one.gaps);
        all.used_fixes += one.used_fixes;
        all.inaccurate_fixes += one.inaccurate_fixes;
    }
    all.visits.sort_by_key(|v| (v.entry, v.exit));
    let mut merged: Vec<Visit> = Vec::with_capacity(all.visits.len());
    for v in all.visits {
        match merged.last_mut() {
            Some(last) if v.entry <= last.exit => {
                last.exit = last.exit.max(v.exit);
                last.fixes += v.fixes;
            }
            _ => merged.push(v),
        }
    }
    all.visits = merged;
    all.gaps.sort_by_key(|g| (g.from, g.to));
    all
}

/// Movement between two consecutive usable fixes of a track faster than
/// [`VisitParams::max_speed_mps`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Jump {
    /// The earlier fix's time (server clock).
    pub from: i64,
    /// The later fix's time (server clock).
    pub to: i64,
    /// The speed it implies, m/s: the distance less both fixes' accuracy radii (the least the
    /// device can have moved), over the time between them (at least 1 s).
    pub speed_mps: f64,
}

/// The implausible jumps of one track (any order): consecutive fixes accurate enough to be used
/// for visits, between which the device would have had to move faster than
/// [`VisitParams::max_speed_mps`]. Nothing is dropped: the caller shows them.
pub fn implausible_jumps(fixes: &[Fix], p: &VisitParams) -> Vec<Jump> {
    let mut usable: Vec<&Fix> = fixes
        .iter()
        .filter(|f| f.x.is_finite() && f.y.is_finite() && f.accuracy_m.is_finite() && f.accuracy_m <= p.max_accuracy_m)
        .collect();
    usable.sort_by_key(|f| f.server_t());
    usable
        .windows(2)
        .filter_map(|w| {
            let (a, b) = (w[0], w[1]);
            let least = ((b.x - a.x).hypot(b.y - a.y) - a.accuracy_m - b.accuracy_m).max(0.0);
            let speed = least / (b.server_t().saturating_sub(a.server_t())).max(1) as f64;
            (speed > p.max_speed_mps).then_some(Jump { from: a.server_t(), to: b.server_t(), speed_mps: speed })
        })
        .collect()
}

/// Finds the visits to `area` in `fixes` (any order).
pub fn visits(fixes: &[Fix], area: &Area, p: &VisitParams) -> Presence {
    let mut usable: Vec<Fix> = Vec::with_capacity(fixes.len());
    let mut inaccurate = 0;
    for f in fixes {
        let good = f.x.is_finite() && f.y.is_finite() && f.accuracy_m.is_finite() && f.accuracy_m <= p.max_accuracy_m;
        if good {
            usable.push(*f);
        } else {
            inaccurate += 1;
        }
    }
    usable.sort_by_key(Fix::server_t);

    let mut gaps = Vec::new();
    let mut runs: Vec<Visit> = Vec::new();
    let mut current: Option<Visit> = None;
    let mut previous: Option<i64> = None;
    for f in &usable {
        let t = f.server_t();
        let gap = previous.is_some_and(|prev| t - prev > p.max_gap_s);
        if let (true, Some(prev)) = (gap, previous) {
            gaps.push(Gap { from: prev, to: t });
        }
        let inside = area.contains(f.x, f.y);
        match (&mut current, inside && !gap) {
            (Some(v), true) => {
                v.exit = t;
                v.fixes += 1;
            }
            (slot, _) => {
                if let Some(v) = slot.take() {
                    runs.push(v);
                }
                if inside {
                    *slot = Some(Visit { entry: t, exit: t, fixes: 1 });
                }
            }
        }
        previous = Some(t);
    }
    if let Some(v) = current {
        runs.push(v);
    }

    // Merge runs split by a brief exit. Runs split by a gap in the track are more than
    // `max_gap_s` apart, so capping the merge at `max_gap_s` keeps them split.
    let mut merged: Vec<Visit> = Vec::with_capacity(runs.len());
    for run in runs {
        match merged.last_mut() {
            Some(last) if run.entry - last.exit <= p.merge_gap_s.min(p.max_gap_s) => {
                last.exit = run.exit;
                last.fixes += run.fixes;
            }
            _ => merged.push(run),
        }
    }
    merged.retain(|v| v.dwell_s() >= p.min_dwell_s);
    Presence { visits: merged, gaps, inaccurate_fixes: inaccurate, used_fixes: usable.len() }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CELL: Area = Area::Rect { min_x: 0.0, min_y: 0.0, max_x: 150.0, max_y: 150.0 };

    /// A fix every `step` seconds from `t0` to `t1` (inclusive) at `(x, y)`.
    fn stay(t0: i64, t1: i64, step: i64, x: f64, y: f64) -> Vec<Fix> {
        (0..)
            .map(|i| t0 + i * step)
            .take_while(|t| *t <= t1)
            .map(|t| Fix { t, skew_s: 0, x, y, accuracy_m: 8.0 })
            .collect()
    }

    fn inside(t0: i64, t1: i64) -> Vec<Fix> {
        stay(t0, t1, 15, 75.0, 75.0)
    }

    fn outside(t0: i64, t1: i64) -> Vec<Fix> {
        stay(t0, t1, 15, 400.0, 75.0)
    }

    /// A pursuit at 50 m/s (180 km/h) is plausible; a 5 km jump in 10 s (500 m/s) is flagged,
    /// by hand: (5,000 − 8 − 8) m / 10 s = 498.4 m/s; two fixes of 40 m accuracy 90 m apart
    /// in 1 s are not (the least they moved is 10 m); a fix too inaccurate for visits is not
    /// used at all; and the track's fixes are flagged, not removed.
    #[test]
    fn implausible_speeds_are_flagged_from_the_least_distance_moved() {
        let p = VisitParams::default();
        let pursuit: Vec<Fix> =
            (0..60).map(|i| Fix { t: i, skew_s: 0, x: i as f64 * 50.0, y: 0.0, accuracy_m: 5.0 }).collect();
        assert!(implausible_jumps(&pursuit, &p).is_empty(), "180 km/h is a pursuit");
        let mut spoofed = inside(0, 600);
        spoofed.push(Fix { t: 610, skew_s: 0, x: 75.0 + 5_000.0, y: 75.0, accuracy_m: 8.0 });
        let jumps = implausible_jumps(&spoofed, &p);
        assert_eq!(jumps.len(), 1, "{jumps:?}");
        assert_eq!((jumps[0].from, jumps[0].to), (600, 610));
        assert!((jumps[0].speed_mps - 498.4).abs() < 1e-9, "{}", jumps[0].speed_mps);
        assert_eq!(visits(&spoofed, &CELL, &p).visits.len(), 1, "the visit is still there");
        let vague = [
            Fix { t: 0, skew_s: 0, x: 0.0, y: 0.0, accuracy_m: 40.0 },
            Fix { t: 1, skew_s: 0, x: 90.0, y: 0.0, accuracy_m: 40.0 },
        ];
        assert!(implausible_jumps(&vague, &p).is_empty(), "within both fixes' accuracy");
        let wild = [
            Fix { t: 0, skew_s: 0, x: 0.0, y: 0.0, accuracy_m: 8.0 },
            Fix { t: 1, skew_s: 0, x: 9_000.0, y: 0.0, accuracy_m: 900.0 },
        ];
        assert!(implausible_jumps(&wild, &p).is_empty(), "a fix too inaccurate for visits is not used");
        let same_second = [
            Fix { t: 5, skew_s: 0, x: 0.0, y: 0.0, accuracy_m: 5.0 },
            Fix { t: 5, skew_s: 0, x: 1_000.0, y: 0.0, accuracy_m: 5.0 },
        ];
        assert_eq!(implausible_jumps(&same_second, &p).len(), 1, "a kilometre in no time");
    }

    #[test]
    fn entry_and_exit_are_the_first_and_last_fixes_inside() {
        let track = [outside(0, 285), inside(300, 1200), outside(1215, 1500)].concat();
        let p = visits(&track, &CELL, &VisitParams::default());
        assert_eq!(p.visits, vec![Visit { entry: 300, exit: 1200, fixes: 61 }]);
        assert_eq!(p.dwell_s(), 900);
        let params = VisitParams::default();
        assert_eq!(p.koper_visits(&params), 1);
        assert!((p.koper_minutes(&params) - 15.0).abs() < 1e-9);
        assert_eq!(p.last_exit(), Some(1200));
        assert!(p.gaps.is_empty());
    }

    #[test]
    fn a_brief_exit_is_merged_but_a_long_one_is_two_visits() {
        let params = VisitParams::default();
        // Out for 90 s (≤ 120): one visit of 20 minutes.
        let track = [inside(0, 600), outside(615, 675), inside(690, 1200)].concat();
        let p = visits(&track, &CELL, &params);
        assert_eq!(p.visits.len(), 1);
        assert_eq!(p.dwell_s(), 1200);
        // Koper minutes are capped at 16 per visit.
        assert!((p.koper_minutes(&params) - 16.0).abs() < 1e-9);
        // Out for 5 minutes: two visits, neither a Koper visit.
        let track = [inside(0, 300), outside(315, 585), inside(600, 900)].concat();
        let p = visits(&track, &CELL, &params);
        assert_eq!(p.visits.iter().map(Visit::dwell_s).collect::<Vec<_>>(), vec![300, 300]);
        assert_eq!(p.koper_visits(&params), 0);
        assert_eq!(p.koper_minutes(&params), 0.0);
        assert!(p.koper_minutes(&params).is_sign_positive(), "no negative zero on the dashboard");
    }

    #[test]
    fn two_devices_in_one_car_count_once_and_two_cars_count_their_union() {
        let p = VisitParams::default();
        // Phone and laptop both report from 0 to 900 s: one visit of 15 minutes, not two.
        let phone = visits(&inside(0, 900), &CELL, &p);
        let laptop = visits(&inside(5, 895), &CELL, &p);
        let both = united([phone, laptop]);
        assert_eq!(both.visits, vec![Visit { entry: 0, exit: 900, fixes: 61 + 60 }]);
        assert_eq!((both.koper_visits(&p), both.koper_minutes(&p)), (1, 15.0));
        // A second car arriving as the first leaves extends the presence; a later one is its own.
        let second = visits(&inside(600, 1_500), &CELL, &p);
        let later = visits(&inside(3_000, 3_690), &CELL, &p);
        let first = visits(&inside(0, 900), &CELL, &p);
        let u = united([later, second, first]);
        assert_eq!(u.visits.iter().map(|v| (v.entry, v.exit)).collect::<Vec<_>>(), vec![(0, 1_500), (3_000, 3_690)]);
        assert_eq!(u.dwell_s(), 1_500 + 690);
    }

    #[test]
    fn a_drive_through_is_not_a_visit() {
        let track = [outside(0, 300), inside(315, 345), outside(360, 600)].concat();
        let p = visits(&track, &CELL, &VisitParams::default());
        assert!(p.visits.is_empty(), "{p:?}");
        assert_eq!(p.used_fixes, track.len());
    }

    #[test]
    fn a_gap_in_the_track_ends_a_visit_and_is_reported_not_bridged() {
        // Inside until 600, then no fixes for 10 minutes, then inside again: the car may have
        // left; two visits and one reported gap, not one 30-minute visit.
        let track = [inside(0, 600), inside(1200, 1800)].concat();
        let p = visits(&track, &CELL, &VisitParams::default());
        assert_eq!(p.visits.len(), 2);
        assert_eq!(p.dwell_s(), 1200);
        assert_eq!(p.gaps, vec![Gap { from: 600, to: 1200 }]);
        // Gaps away from the place are reported too.
        let track = [outside(0, 300), outside(1000, 1300)].concat();
        assert_eq!(visits(&track, &CELL, &VisitParams::default()).gaps, vec![Gap { from: 300, to: 1000 }]);
    }

    #[test]
    fn inaccurate_fixes_are_set_aside_and_counted() {
        // A 300 m fix "inside" during a drive past is not evidence of presence.
        let mut track = outside(0, 600);
        for f in track.iter_mut().skip(10).take(20) {
            *f = Fix { x: 75.0, y: 75.0, accuracy_m: 300.0, ..*f };
        }
        let p = visits(&track, &CELL, &VisitParams::default());
        assert!(p.visits.is_empty());
        assert_eq!(p.inaccurate_fixes, 20);
        assert_eq!(p.used_fixes, track.len() - 20);
        // A NaN position is set aside as well, never counted inside.
        let bad = [Fix { t: 0, skew_s: 0, x: f64::NAN, y: 0.0, accuracy_m: 5.0 }];
        assert_eq!(visits(&bad, &CELL, &VisitParams::default()).inaccurate_fixes, 1);
    }

    #[test]
    fn device_clock_skew_is_corrected_before_ordering() {
        // Two phones in one car: one's clock runs 10 minutes fast, which its sync measured.
        // Their fixes interleave in server time and give the same visit as one honest phone.
        let honest: Vec<Fix> = inside(0, 900).into_iter().step_by(2).collect();
        let fast: Vec<Fix> =
            inside(15, 900).into_iter().step_by(2).map(|f| Fix { t: f.t + 600, skew_s: -600, ..f }).collect();
        let both = [honest.clone(), fast.clone()].concat();
        let p = visits(&both, &CELL, &VisitParams::default());
        assert_eq!(p.visits.len(), 1, "{p:?}");
        assert_eq!((p.visits[0].entry, p.visits[0].exit), (0, 900));
        assert!(p.gaps.is_empty());
        // Without the correction the fast phone's fixes land 10 minutes late and the car seems
        // to have stayed 24 minutes instead of 15.
        let uncorrected: Vec<Fix> = fast.iter().map(|f| Fix { skew_s: 0, ..*f }).collect();
        let p = visits(&[honest, uncorrected].concat(), &CELL, &VisitParams::default());
        assert_eq!(p.dwell_s(), 1485, "{p:?}");
    }

    #[test]
    fn circles_and_cell_edges_follow_the_lattice_convention() {
        let circle = Area::Circle { x: 0.0, y: 0.0, r: 100.0 };
        assert!(circle.contains(60.0, 80.0));
        assert!(!circle.contains(60.0, 80.1));
        // West and south edges belong to the cell, east and north edges to the next one.
        assert!(CELL.contains(0.0, 0.0));
        assert!(!CELL.contains(150.0, 10.0));
        assert!(!CELL.contains(10.0, 150.0));
    }

    mod properties {
        use proptest::prelude::*;

        use super::super::*;

        fn arb_fix() -> impl Strategy<Value = Fix> {
            (0i64..20_000, -300i64..300, -50.0f64..250.0, -50.0f64..250.0, 1.0f64..120.0)
                .prop_map(|(t, skew_s, x, y, accuracy_m)| Fix { t, skew_s, x, y, accuracy_m })
        }

        proptest! {
            #[test]
            fn total_dwell_never_exceeds_the_track_and_visits_never_overlap(
                fixes in proptest::collection::vec(arb_fix(), 0..300),
                merge in 0i64..400,
                gap in 30i64..600,
                min_dwell in 0i64..300,
            ) {
                let params = VisitParams { merge_gap_s: merge, max_gap_s: gap, min_dwell_s: min_dwell, ..VisitParams::default() };
                let area = Area::Rect { min_x: 0.0, min_y: 0.0, max_x: 150.0, max_y: 150.0 };
                let p = visits(&fixes, &area, &params);
                let used: Vec<i64> = fixes
                    .iter()
                    .filter(|f| f.accuracy_m <= params.max_accuracy_m)
                    .map(Fix::server_t)
                    .collect();
                let duration = match (used.iter().min(), used.iter().max()) {
                    (Some(a), Some(b)) => b - a,
                    _ => 0,
                };
                prop_assert!(p.dwell_s() <= duration, "dwell {} > track {}", p.dwell_s(), duration);
                prop_assert_eq!(p.used_fixes + p.inaccurate_fixes, fixes.len());
                for v in &p.visits {
                    prop_assert!(v.dwell_s() >= params.min_dwell_s);
                    prop_assert!(v.fixes >= 1);
                }
                for w in p.visits.windows(2) {
                    prop_assert!(w[0].exit < w[1].entry, "{:?} overlaps {:?}", w[0], w[1]);
                }
                // No visit spans a reported gap.
                for v in &p.visits {
                    prop_assert!(!p.gaps.iter().any(|g| g.from >= v.entry && g.to <= v.exit));
                }
                // Koper minutes never exceed the cap per Koper visit, nor the dwell.
                let km = p.koper_minutes(&params);
                prop_assert!(km * 60.0 <= p.dwell_s() as f64 + 1e-9);
                prop_assert!(km <= p.koper_visits(&params) as f64 * 16.0 + 1e-9);
            }
        }
    }
}
