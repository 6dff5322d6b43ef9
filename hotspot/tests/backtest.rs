//! The rolling-origin backtest: per-origin scores checked by hand, the self-exciting model's
//! fallback named, bad plans refused, and the evidence rule recovering the truth of simulated
//! data: on a self-exciting process it picks the self-exciting model at a shift's horizon, on a
//! process with no triggering it keeps the trailing count.

use hotspot::backtest::{choose_from, run, BacktestPlan, Method};
use hotspot::sepp::{simulate, SeppOptions, SeppParams};
use hotspot::{Epsg, Event, Grid};

const DAY: i64 = 86_400;

fn event(x: f64, y: f64, day: f64) -> Event {
    Event { x, y, t: (day * DAY as f64) as i64, offense: 0, harm: 1.0 }
}

fn grid(events: &[Event], size: f64) -> Grid {
    Grid::covering(Epsg::utm(32610).expect("zone"), size, events.iter().map(|e| (e.x, e.y))).expect("grid")
}

#[test]
fn each_origin_is_scored_on_what_followed_it() {
    // Three 100 m places in a row: three incidents at the west place on days 1–3, one at the east
    // place on day 5, then two at the east place on day 6.
    let events = vec![
        event(50.0, 50.0, 1.0),
        event(50.0, 50.0, 2.0),
        event(50.0, 50.0, 3.0),
        event(250.0, 50.0, 5.0),
        event(250.0, 50.0, 6.2),
        event(250.0, 50.0, 6.5),
    ];
    let g = grid(&events, 100.0);
    assert_eq!(g.len(), 3);
    let plan = BacktestPlan {
        origins: vec![6 * DAY],
        horizon_s: DAY,
        training_days: 28,
        percents: vec![34.0],
        score_harm: false,
        area: (0..3).collect(),
        sepp: SeppOptions::default(),
    };
    let methods = [Method::Count { days: 28 }, Method::Count { days: 2 }, Method::Sepp];
    let r = run(&g, &events, &plan, &methods).expect("runs");
    // 28 days: the west place ranks first (3 against 1) and caught nothing: hit rate 0, PEI 0.
    let west = r[0].per_origin[0][0];
    assert_eq!((west.k, west.hit_rate, west.pei), (1, Some(0.0), Some(0.0)));
    // 2 days (days 4–6): the east place, which then had both: hit rate 1, PAI 3, PEI 1.
    let east = r[1].per_origin[0][0];
    assert_eq!((east.hit_rate, east.pai, east.pei), (Some(1.0), Some(3.0), Some(1.0)));
    assert_eq!(r[1].method, "count 2 days");
    // Six incidents are too few to fit: the fallback is named and the 365-day count ranks.
    assert_eq!(r[2].fallbacks.len(), 1);
    assert!(r[2].fallbacks[0].reason.contains("the self-exciting model needs at least 50"), "{:?}", r[2].fallbacks);
    assert_eq!(r[2].fallbacks[0].origin, plan.origins[0]);
    assert_eq!(r[2].per_origin[0][0], west);
}

#[test]
fn bad_plans_are_refused_with_the_reason() {
    let events = vec![event(50.0, 50.0, 1.0)];
    let g = grid(&events, 100.0);
    let plan = BacktestPlan {
        origins: vec![],
        horizon_s: DAY,
        training_days: 28,
        percents: vec![1.0],
        score_harm: true,
        area: vec![0],
        sepp: SeppOptions::default(),
    };
    let err = run(&g, &events, &plan, &[Method::Count { days: 28 }]).expect_err("no origins");
    assert!(err.to_string().contains("at least one origin"), "{err}");
    let err = run(&g, &events, &BacktestPlan { origins: vec![5 * DAY, 2 * DAY], ..plan.clone() }, &[])
        .expect_err("out of order");
    assert!(err.to_string().contains("time order"), "{err}");
    let err =
        run(&g, &events, &BacktestPlan { origins: vec![DAY], horizon_s: 0, ..plan }, &[]).expect_err("no horizon");
    assert!(err.to_string().contains("longer than zero"), "{err}");
}

/// Simulated data with a known truth, scored at a shift's horizon (8 h) over the last 40 shifts.
fn shift_backtest(
    truth: SeppParams,
    seed: u64,
) -> (Vec<hotspot::backtest::MethodRecord>, Option<hotspot::backtest::Choice>) {
    let span = 200.0;
    let sim = simulate(&truth, 2_000.0, 2_000.0, span, seed);
    let events: Vec<Event> = sim.iter().map(|e| event(e.x, e.y, e.t)).collect();
    let g = grid(&[event(0.0, 0.0, 0.0), event(1_999.0, 1_999.0, 0.0)], 150.0);
    let last = (span * DAY as f64) as i64;
    let origins: Vec<i64> = (0..40).rev().map(|k| last - (k + 1) * 8 * 3_600).collect();
    let plan = BacktestPlan {
        origins,
        horizon_s: 8 * 3_600,
        training_days: 120,
        percents: vec![5.0],
        score_harm: false,
        area: (0..g.len()).collect(),
        sepp: SeppOptions { max_lag_days: 10.0, max_distance_m: 400.0, ..SeppOptions::default() },
    };
    let methods = [
        Method::Count { days: 28 },
        Method::Count { days: 90 },
        Method::Count { days: 365 },
        Method::Kde { bandwidth_m: 200.0 },
        Method::Sepp,
    ];
    let records = run(&g, &events, &plan, &methods).expect("runs");
    let choice = choose_from(&records, 0);
    (records, choice)
}

#[test]
fn on_a_self_exciting_process_the_evidence_picks_the_self_exciting_model_at_a_shifts_horizon() {
    let truth = SeppParams { mu: 8.0, theta: 0.7, omega: 3.0, sigma: 40.0 };
    let (records, choice) = shift_backtest(truth, 3);
    let sepp = records.iter().find(|r| r.method == "sepp").expect("sepp");
    assert!(sepp.fallbacks.is_empty(), "{:?}", sepp.fallbacks);
    let choice = choice.expect("a choice");
    let means: Vec<(String, Option<f64>)> =
        records.iter().map(|r| (r.method.clone(), r.at[0].pei.map(|i| i.mean))).collect();
    assert_eq!(choice.method, "sepp", "{} ({means:?})", choice.reason);
    assert!(choice.reason.contains("PEI over count"), "{}", choice.reason);
}

#[test]
fn with_no_triggering_the_trailing_count_keeps_its_place() {
    let truth = SeppParams { mu: 20.0, theta: 0.0, omega: 3.0, sigma: 40.0 };
    let (records, choice) = shift_backtest(truth, 4);
    let choice = choice.expect("a choice");
    let means: Vec<(String, Option<f64>)> =
        records.iter().map(|r| (r.method.clone(), r.at[0].pei.map(|i| i.mean))).collect();
    assert!(choice.method.starts_with("count "), "{} ({means:?})", choice.reason);
}
