//! Query benchmark (criterion): the per-cell per-day aggregate for one district over one year,
//! against a Data Bodega that `bench/ingest.sh` filled with 1,000,000 resampled Vancouver
//! incidents (VPD original shape, neighbourhoods as districts through
//! `bench/vpd-neighbourhoods-as-districts.toml`). Set BEATBOOK_BENCH_DATABASE_URL.
//! Times the read the product makes (stored counts, `bodega::aggregates`) and the same counted
//! from the incidents, and checks that they agree.

use criterion::{criterion_group, criterion_main, Criterion};

fn bench(c: &mut Criterion) {
    let Ok(url) = std::env::var("BEATBOOK_BENCH_DATABASE_URL") else {
        eprintln!("set BEATBOOK_BENCH_DATABASE_URL to a Data Bodega filled by bench/ingest.sh");
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let bodega = rt.block_on(bodega::Bodega::open(&url, 4)).expect("open the benchmark store");
    rt.block_on(bodega.migrate()).expect("migrate the benchmark store");
    // The first read after a load rebuilds the district's stored counts: timed once here.
    let started = std::time::Instant::now();
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
        "{} cell-day-offence rows, {} incidents; first read (rebuilding the district's stored counts if stale) {:.0} ms",
        rows.len(),
        rows.iter().map(|r| u64::from(r.count)).sum::<u64>(),
        started.elapsed().as_secs_f64() * 1000.0
    );
    let counted = rt.block_on(bodega.cell_day_counts_from_incidents(&filter, &lattice, &tz)).expect("counted");
    assert_eq!(rows, counted, "stored and counted differ");
    let engine = url.split(':').next().unwrap_or("");
    c.bench_function(&format!("cell_day_counts district-year ({engine})"), |b| {
        b.iter(|| rt.block_on(bodega.cell_day_counts(&filter, &lattice, &tz)).expect("aggregate"))
    });
    // The same counted from the incidents (what every read cost before the stored counts).
    c.bench_function(&format!("cell_day_counts_from_incidents district-year ({engine})"), |b| {
        b.iter(|| rt.block_on(bodega.cell_day_counts_from_incidents(&filter, &lattice, &tz)).expect("counted"))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
