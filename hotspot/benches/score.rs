//! Native benchmark of the scoring core (criterion): 1,000,000 incidents — the Chicago file
//! resampled with ±75 m jitter — scored into 150 m cells with harm, Gi* and a Gaussian KDE
//! (h = 200 m), from WGS84 points already in memory. `make bench` runs it with the WebAssembly
//! and Python-peer runs of the same workload (see bench/README.md).

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion};
use hotspot::workload::{resample_with_jitter, score_points};
use hotspot::{gi_star, kde_at_centres, Epsg, Grid, Kernel, LocalUtm, Utm};

fn chicago_points() -> Vec<(f64, f64)> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/chicago_aggravated_assaults_2010_2019.csv");
    let mut reader = csv::Reader::from_path(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    reader
        .records()
        .filter_map(|r| {
            let r = r.ok()?;
            Some((r.get(5)?.parse().ok()?, r.get(4)?.parse().ok()?))
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let points = resample_with_jitter(&chicago_points(), 1_000_000, 75.0, 2026);
    let epsg = Epsg::utm(32616).expect("zone 16N");
    let mut group = c.benchmark_group("score_1m_chicago");
    group.sample_size(10);
    group.bench_function("all: project + grid + harm + Gi* + Gaussian KDE", |b| {
        b.iter(|| score_points(black_box(&points), epsg, 150.0, 200.0).expect("scores"))
    });
    let utm = Utm::new(epsg);
    group.bench_function("project (tile fits, as scored)", |b| {
        b.iter(|| {
            let local = LocalUtm::new(utm, black_box(&points).iter().copied());
            points.iter().map(|(lon, lat)| local.forward(*lon, *lat).expect("ok")).collect::<Vec<_>>()
        })
    });
    group.bench_function("project (series, point by point)", |b| {
        b.iter(|| points.iter().map(|(lon, lat)| utm.forward(*lon, *lat).expect("ok")).collect::<Vec<_>>())
    });
    let xy: Vec<(f64, f64)> = points.iter().map(|(lon, lat)| utm.forward(*lon, *lat).expect("ok")).collect();
    let grid = Grid::covering(epsg, 150.0, xy.iter().copied()).expect("grid");
    let weighted: Vec<(f64, f64, f64)> = xy.iter().map(|(x, y)| (*x, *y, 1.0)).collect();
    group.bench_function("gaussian kde", |b| {
        b.iter(|| kde_at_centres(&grid, black_box(&weighted), Kernel::Gaussian, 200.0))
    });
    let mut counts = vec![0.0; grid.len()];
    for (x, y) in &xy {
        if let Some(c) = grid.cell_of(*x, *y) {
            counts[c] += 1.0;
        }
    }
    group.bench_function("gi*", |b| b.iter(|| gi_star(&grid, black_box(&counts))));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
