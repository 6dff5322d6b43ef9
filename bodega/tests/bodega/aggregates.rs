//! The stored per-cell, per-day counts answer exactly what counting the incidents answers,
//! through loads, edits that move incidents between districts, and district assignment.

use bodega::queries::Filter;
use bodega::testing::fresh_store;
use bodega::{demo, Bodega};

fn lattice() -> hotspot::Lattice {
    hotspot::Lattice::new(hotspot::Epsg::utm(32610).expect("zone"), 150).expect("lattice")
}

fn tz() -> jiff::tz::TimeZone {
    jiff::tz::TimeZone::get("America/Vancouver").expect("tz")
}

/// Local midnight of a date in Vancouver, UTC seconds.
fn midnight(date: &str) -> i64 {
    let d: jiff::civil::Date = date.parse().expect("date");
    d.to_zoned(tz()).expect("zoned").timestamp().as_second()
}

async fn stored_rows(b: &Bodega) -> i64 {
    bodega::on_pool!(b, pool => sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM cell_day_counts").fetch_one(pool).await)
        .expect("count")
}

/// Both ways agree for district `d` over `[from, to)` (whole local days).
async fn agree(b: &Bodega, d: &str, from: &str, to: &str) -> usize {
    let f =
        Filter { district: Some(d.into()), from: Some(midnight(from)), to: Some(midnight(to)), ..Filter::default() };
    let stored = b.cell_day_counts(&f, &lattice(), &tz()).await.expect("stored");
    let counted = b.cell_day_counts_from_incidents(&f, &lattice(), &tz()).await.expect("counted");
    assert_eq!(stored, counted, "{d} {from}..{to}");
    stored.iter().map(|c| c.count as usize).sum()
}

#[tokio::test]
async fn stored_counts_equal_counting_the_incidents_through_every_kind_of_change() {
    let store = fresh_store().await;
    let b = &store.bodega;
    demo::seed_demo(b).await.expect("seed");
    assert_eq!(stored_rows(b).await, 0);
    let d1_year = agree(b, "D1", "2020-01-01", "2021-01-01").await;
    assert!(d1_year > 5_000, "{d1_year}");
    assert!(stored_rows(b).await > 0, "the district's counts are stored");
    // A window spanning the autumn clock change, and one inside a day's counts.
    agree(b, "D1", "2020-10-25", "2020-11-08").await;
    agree(b, "D2", "2020-03-01", "2020-03-15").await;

    // An edited export moves one D1 incident into D2 (new place, new day); the district codes
    // come from the file here, as a records system's export gives them.
    let header = "id,occurred_at,offense,category,lat,lon,district\n";
    let o = bodega::IngestOptions {
        source: "rms".into(),
        file_name: "rms.csv".into(),
        time_zone: "America/Vancouver".into(),
        dry_run: false,
        mapping: Some(bodega::mapping::Mapping {
            district: Some("district".into()),
            ..bodega::mapping::Mapping::canonical(&[])
        }),
    };
    let first = format!("{header}r1,2020-06-01T10:00,Mischief,,49.2800,-123.1200,D1\nr2,2020-06-02T10:00,Mischief,,49.2801,-123.1201,D1\n");
    bodega::ingest::ingest_incidents_csv(b, first.as_bytes(), &o).await.expect("load");
    let before = agree(b, "D1", "2020-01-01", "2021-01-01").await;
    assert_eq!(before, d1_year + 2);
    let moved = format!("{header}r1,2020-06-01T10:00,Mischief,,49.2800,-123.1200,D1\nr2,2020-07-09T23:30,Mischief,,49.2900,-123.0500,D2\n");
    bodega::ingest::ingest_incidents_csv(b, moved.as_bytes(), &o).await.expect("reload");
    assert_eq!(agree(b, "D1", "2020-01-01", "2021-01-01").await, d1_year + 1, "D1 lost the moved incident");
    agree(b, "D2", "2020-07-01", "2020-08-01").await;

    // Incidents loaded without a district are counted once assignment gives them one.
    let plain = "id,occurred_at,offense,category,lat,lon\np1,2020-06-03T10:00,Mischief,,49.2800,-123.1200\n";
    let opts = bodega::IngestOptions { mapping: None, source: "plain".into(), ..o.clone() };
    bodega::ingest::ingest_incidents_csv(b, plain.as_bytes(), &opts).await.expect("load");
    assert_eq!(agree(b, "D1", "2020-01-01", "2021-01-01").await, d1_year + 2);

    // Partial first and last days are counted from the incidents and joined to the stored
    // whole days; open-ended windows and other selections agree too.
    let windows = [
        (Some(midnight("2020-06-01") + 12 * 3600), Some(midnight("2020-06-08") + 9 * 3600)),
        (Some(midnight("2020-06-01") + 12 * 3600), Some(midnight("2020-06-01") + 13 * 3600)),
        (None, Some(midnight("2020-03-01") + 1)),
        (Some(midnight("2020-11-01") + 7200), None),
        (None, None),
    ];
    for (from, to) in windows {
        let f = Filter { district: Some("D1".into()), from, to, ..Filter::default() };
        let stored = b.cell_day_counts(&f, &lattice(), &tz()).await.expect("stored");
        let counted = b.cell_day_counts_from_incidents(&f, &lattice(), &tz()).await.expect("counted");
        assert_eq!(stored, counted, "{from:?}..{to:?}");
        assert!(!stored.is_empty());
    }
    // Several readers at once after a change (requests, or servers on one PostgreSQL) all
    // rebuild or wait, and all answer the same.
    bodega::ingest::ingest_incidents_csv(b, moved.replace("23:30", "23:45").as_bytes(), &o).await.expect("edit");
    let f = Filter { district: Some("D2".into()), ..Filter::default() };
    let (l, z) = (lattice(), tz());
    let (a1, a2, a3, a4) = tokio::join!(
        b.cell_day_counts(&f, &l, &z),
        b.cell_day_counts(&f, &l, &z),
        b.cell_day_counts(&f, &l, &z),
        b.cell_day_counts(&f, &l, &z)
    );
    let counted = b.cell_day_counts_from_incidents(&f, &l, &z).await.expect("counted");
    for a in [a1, a2, a3, a4] {
        assert_eq!(a.expect("a concurrent read"), counted);
    }

    let one_offence = Filter { district: Some("D1".into()), offense: Some("Mischief".into()), ..Filter::default() };
    let stored = b.cell_day_counts(&one_offence, &lattice(), &tz()).await.expect("stored");
    assert!(stored.iter().all(|c| c.offense == "Mischief") && !stored.is_empty());
}
