//! Native benchmark of the self-exciting model's fit (criterion, one core): the Chicago aggravated
//! assaults of 2019 in the busiest district-sized square (5.25 km a side, 27.6 km²: the city's
//! 606 km² over its 22 police districts) and in the whole city, fitted by EM from a neutral start
//! (cold) and from the fit of the window a week earlier (warm, as the backtest fits each origin).
//! The background's shape is the backtest's in space (incidents per 150 m cell, 1% uniform mixed
//! in) and uniform in time (the backtest's hour-of-week profile and daily level are not applied,
//! so iteration counts may differ from the backtest's fits). The goal (issue 24): a district-year ≤ 1 s.

use std::collections::HashMap;
use std::hint::black_box;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion};
use hotspot::sepp::{fit, SeppEvent, SeppOptions};
use hotspot::{Epsg, Utm};

/// Days from 1970-01-01 of a civil date (Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `2019-03-04T05:06:07` as days from 2019-01-01.
fn day_of_2019(s: &str) -> Option<f64> {
    let n = |a: usize, b: usize| s.get(a..b)?.parse::<i64>().ok();
    let days = days_from_civil(n(0, 4)?, n(5, 7)?, n(8, 10)?) - days_from_civil(2019, 1, 1);
    Some(days as f64 + (n(11, 13)? * 3_600 + n(14, 16)? * 60 + n(17, 19)?) as f64 / 86_400.0)
}

/// The 2019 incidents, projected to UTM 16N: (x, y, day of 2019), in time order.
fn chicago_2019() -> Vec<(f64, f64, f64)> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/chicago_aggravated_assaults_2010_2019.csv");
    let mut reader = csv::Reader::from_path(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let utm = Utm::new(Epsg::utm(32616).expect("zone 16N"));
    let mut out: Vec<(f64, f64, f64)> = reader
        .records()
        .filter_map(|r| {
            let r = r.ok()?;
            let t = day_of_2019(r.get(1)?)?;
            let (lat, lon): (f64, f64) = (r.get(4)?.parse().ok()?, r.get(5)?.parse().ok()?);
            let (x, y) = utm.forward(lon, lat).ok()?;
            (0.0..365.0).contains(&t).then_some((x, y, t))
        })
        .collect();
    out.sort_by(|a, b| a.2.total_cmp(&b.2));
    out
}

/// The window's events with the backtest's background shape in space: incidents per 150 m cell
/// of the window, 1% uniform over the area mixed in (uniform in time).
fn as_events(points: &[(f64, f64, f64)], area_m2: f64, from: f64, to: f64) -> Vec<SeppEvent> {
    const CELL: f64 = 150.0;
    let window: Vec<(f64, f64, f64)> = points.iter().copied().filter(|p| (from..to).contains(&p.2)).collect();
    let cell = |x: f64, y: f64| ((x / CELL).floor() as i64, (y / CELL).floor() as i64);
    let mut counts: HashMap<(i64, i64), f64> = HashMap::new();
    for (x, y, _) in &window {
        *counts.entry(cell(*x, *y)).or_default() += 1.0;
    }
    let (n, cells) = (window.len() as f64, area_m2 / (CELL * CELL));
    window
        .iter()
        .map(|&(x, y, t)| SeppEvent {
            x,
            y,
            t: t - from,
            background: (0.99 * counts[&cell(x, y)] / n + 0.01 / cells) / (CELL * CELL),
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let city = chicago_2019();
    const SIDE: f64 = 5_250.0;
    let mut squares: HashMap<(i64, i64), usize> = HashMap::new();
    for (x, y, _) in &city {
        *squares.entry(((x / SIDE).floor() as i64, (y / SIDE).floor() as i64)).or_default() += 1;
    }
    let (&(sx, sy), _) = squares.iter().max_by_key(|(k, n)| (**n, **k)).expect("incidents");
    let district: Vec<(f64, f64, f64)> = city
        .iter()
        .copied()
        .filter(|(x, y, _)| (x / SIDE).floor() as i64 == sx && (y / SIDE).floor() as i64 == sy)
        .collect();
    let (xs, ys) = city.iter().fold((f64::MAX..f64::MIN, f64::MAX..f64::MIN), |(a, b), (x, y, _)| {
        (a.start.min(*x)..a.end.max(*x), b.start.min(*y)..b.end.max(*y))
    });
    let city_area = (xs.end - xs.start) * (ys.end - ys.start);
    let opts = SeppOptions::default();
    let mut group = c.benchmark_group("sepp_fit_chicago_2019");
    group.sample_size(10);
    for (name, points, area) in [("district-year", &district, SIDE * SIDE), ("city-year", &city, city_area)] {
        // The year a week later than the warm start's year, both 358 days long.
        let year = as_events(points, area, 7.0, 365.0);
        let before = as_events(points, area, 0.0, 358.0);
        let warm = match fit(&before, 358.0, None, &opts) {
            Ok(f) => Some(f.params),
            Err(e) => panic!("{name}: the fit a week earlier, the warm start, failed: {e}"),
        };
        match fit(&year, 358.0, None, &opts) {
            Ok(f) => eprintln!(
                "{name}: {} events; cold fit in {} iterations, θ {:.3}, 1/ω {:.1} days, σ {:.0} m",
                year.len(),
                f.iterations,
                f.params.theta,
                1.0 / f.params.omega,
                f.params.sigma
            ),
            Err(e) => eprintln!("{name}: {} events; {e}", year.len()),
        }
        group.bench_function(format!("{name}: cold"), |b| b.iter(|| fit(black_box(&year), 358.0, None, &opts)));
        group.bench_function(format!("{name}: warm"), |b| b.iter(|| fit(black_box(&year), 358.0, warm, &opts)));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
