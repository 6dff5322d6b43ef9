//! Query benchmark (criterion): the per-cell per-day aggregate for one district over one year,
//! against a Data Bodega that `bench/ingest.sh` filled with 1,000,000 resampled Vancouver
//! incidents (VPD original shape, neighbourhoods as districts). Set BEATBOOK_BENCH_DATABASE_URL.

use criterion::{criterion_group, criterion_main, Criterion};

fn bench(c: &mut Criterion) {
    let Ok(url) = std::env::var("BEATBOOK_BENCH_DATABASE_URL") else {
        eprintln!("set BEATBOOK_BENCH_DATABASE_URL to a Data Bodega filled by bench/ingest.sh");
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let bodega = rt.block_on(bodega::Bodega::open(&url, 4)).expect("open the benchmark store");
    let tz = jiff::tz::TimeZone::get("America/Vancouver").expect("tz");
    let lattice = hotspot::Lattice::new(hotspot::Epsg::utm(32610).expect("zone"), 150).expect("lattice");
    let filter = bodega::queries::Filter {
        from: Some(1_577_865_600), // 2020-01-01T00:00 PST
        to: Some(1_609_488_000),   // 2021-01-01T00:00 PST
        district: Some("Central Business District".into()),
        ..Default::default()
    };
    let rows = rt.block_on(bodega.cell_day_counts(&filter, &lattice, &tz)).expect("aggregate");
    eprintln!(
        "{} cell-day-offence rows, {} incidents",
        rows.len(),
        rows.iter().map(|r| u64::from(r.count)).sum::<u64>()
    );
    c.bench_function(&format!("cell_day_counts district-year ({})", url.split(':').next().unwrap_or("")), |b| {
        b.iter(|| rt.block_on(bodega.cell_day_counts(&filter, &lattice, &tz)).expect("aggregate"))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
