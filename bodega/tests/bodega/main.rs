//! Data Bodega integration tests. `make test` runs this binary twice: on SQLite, and with
//! `BEATBOOK_TEST_DATABASE_URL` set on a throwaway PostgreSQL — every query on both engines.

use bodega::testing::fresh_store;
use bodega::{demo, Bodega, IngestError, IngestOptions};

mod accounts;
mod aggregates;
mod calls_track;
mod demo_activity;
mod harm;
mod missions;
mod places;
mod roster;
mod sync_sim;

fn opts(source: &str) -> IngestOptions {
    IngestOptions {
        source: source.into(),
        file_name: "test.csv".into(),
        time_zone: "America/Vancouver".into(),
        dry_run: false,
        mapping: None,
    }
}

async fn ingest(b: &Bodega, csv: &str, o: &IngestOptions) -> Result<bodega::LoadSummary, IngestError> {
    bodega::ingest::ingest_incidents_csv(b, csv.as_bytes(), o).await
}

async fn batches(b: &Bodega) -> i64 {
    bodega::on_pool!(b, pool => sqlx::query_scalar("SELECT COUNT(*) FROM ingest_batches").fetch_one(pool).await)
        .expect("count batches")
}

#[tokio::test]
async fn vancouver_demo_loads_every_row_and_reports_the_unlocated() {
    let store = fresh_store().await;
    let s = demo::seed_demo(&store.bodega).await.expect("seed");
    // The source file: 37,512 rows; 33,761 with coordinates and 3,751 whose location VPD withholds.
    assert_eq!((s.read, s.loaded, s.rejected), (37_512, 37_512, 0));
    assert_eq!(s.without_location, 3_751);
    // VPD's "X NK_LOC ST" placeholder: 347 rows in the original, 174 + 172 of them geocoded to the
    // two points near 312 Main Street (the 347th sits elsewhere and cannot be told by location).
    assert_eq!(s.geo_flagged, 346);
    let summary = store.bodega.city_summary().await.expect("summary");
    assert_eq!(summary.incidents, 37_512);
    assert_eq!(summary.geo_flagged, 346);
    assert_eq!(summary.located, 33_761 - 346, "flagged incidents are kept but not mapped");
    assert_eq!(summary.by_offense.len(), 11);
    let theft = &summary.by_offense[0];
    assert_eq!((theft.offense.as_str(), theft.total), ("Theft from Vehicle", 10_428));
    let homicide = summary.by_offense.iter().find(|o| o.offense == "Homicide").expect("homicides");
    assert_eq!((homicide.total, homicide.located), (19, 0));
    // 2020-01-01T00:00 Vancouver (PST) = 08:00 UTC.
    assert_eq!(summary.first_at, Some(1_577_865_600));
    assert_eq!(store.bodega.located_points(i64::MIN, i64::MAX).await.expect("points").len(), 33_761 - 346);
}

#[tokio::test]
async fn geocoding_rules_flag_without_losing_and_a_new_rule_reflags_on_reload() {
    let store = fresh_store().await;
    let csv = "id,occurred_at,offense,category,lat,lon
               1,2020-05-01T10:00,Mischief,,0,0
               2,2020-05-01T10:00,Mischief,,49.2800,-123.1200
               3,2020-05-01T10:00,Mischief,,47.6062,-122.3321
";
    let s = ingest(&store.bodega, csv, &opts("rms")).await.expect("load");
    assert_eq!((s.loaded, s.geo_flagged), (3, 1), "(0,0) is flagged from the start");
    // The department loads its boundary (a box around Vancouver): Seattle is now outside.
    bodega::on_writer!(&store.bodega, pool => sqlx::query(
        "INSERT INTO districts (code, name, kind, geojson, min_lon, min_lat, max_lon, max_lat)          VALUES ('city', 'City of Vancouver', 'boundary', $1, -123.3, 49.1, -122.9, 49.4)",
    )
    .bind(r#"{"type":"Polygon","coordinates":[[[-123.3,49.1],[-122.9,49.1],[-122.9,49.4],[-123.3,49.4],[-123.3,49.1]]]}"#)
    .execute(pool)
    .await
    .map(|_| ()))
    .expect("boundary");
    let again = ingest(&store.bodega, csv, &opts("rms")).await.expect("reload");
    assert_eq!((again.updated, again.unchanged, again.geo_flagged), (1, 2, 2));
    assert_eq!(store.bodega.incident_count().await.expect("count"), 3, "flagged rows are kept");
    assert_eq!(store.bodega.located_points(i64::MIN, i64::MAX).await.expect("points"), vec![(-123.12, 49.28)]);
    let summary = store.bodega.city_summary().await.expect("summary");
    assert_eq!((summary.located, summary.geo_flagged), (1, 2));
}

#[tokio::test]
async fn reloading_the_same_file_changes_nothing() {
    let store = fresh_store().await;
    demo::seed_demo(&store.bodega).await.expect("first load");
    let again = demo::seed_demo(&store.bodega).await.expect("second load");
    assert_eq!((again.loaded, again.updated, again.unchanged, again.rejected), (0, 0, 37_512, 0));
    assert_eq!(store.bodega.incident_count().await.expect("count"), 37_512);
}

#[tokio::test]
async fn an_edited_export_updates_only_what_changed() {
    let store = fresh_store().await;
    let original = String::from_utf8(demo::VANCOUVER_2020_CSV.to_vec()).expect("utf-8");
    let o = opts(demo::VANCOUVER_SOURCE);
    ingest(&store.bodega, &original, &o).await.expect("first load");
    // Re-classify three incidents and append two new ones, as a later RMS export would.
    let mut lines: Vec<String> = original.lines().map(str::to_owned).collect();
    for i in [1usize, 500, 37_000] {
        let mut fields: Vec<String> = lines[i].split(',').map(str::to_owned).collect();
        fields[2] = "Mischief (reclassified)".into();
        lines[i] = fields.join(",");
    }
    lines.push(
        "90001,2020-12-31T23:00,Other Theft,,49.2827,-123.1207,8XX W HASTINGS ST,Central Business District".into(),
    );
    lines.push("90002,2020-12-31T23:30,Mischief,,49.2827,-123.1207,,".into());
    let s = ingest(&store.bodega, &lines.join("\n"), &o).await.expect("second load");
    assert_eq!((s.loaded, s.updated, s.unchanged, s.rejected), (2, 3, 37_509, 0));
    let summary = store.bodega.city_summary().await.expect("summary");
    assert_eq!(summary.incidents, 37_514);
    let reclassified =
        summary.by_offense.iter().find(|o| o.offense == "Mischief (reclassified)").expect("updated rows");
    assert_eq!(reclassified.total, 3);
}

#[tokio::test]
async fn broken_rows_are_kept_with_line_field_and_reason_and_the_good_ones_load() {
    let store = fresh_store().await;
    let csv = "id,occurred_at,offense,category,lat,lon\n\
               1,2020-05-01T10:00,Mischief,,49.28,-123.12\n\
               2,not a date,Mischief,,49.28,-123.12\n\
               3,2020-05-01T10:00,Mischief,,95,-123.12\n\
               4,2020-05-01T10:00,,,49.28,-123.12\n\
               5,2020-05-01T10:00,Mischief,,49.28\n\
               1,2020-05-02T10:00,Mischief,,49.28,-123.12\n\
               6,2020-05-01T10:00,Homicide,,,\n";
    let s = ingest(&store.bodega, csv, &opts("rms")).await.expect("load");
    assert_eq!((s.read, s.loaded, s.rejected, s.without_location), (7, 2, 5, 1));
    let rejected = store.bodega.rejected_rows(s.batch_id).await.expect("rejected rows");
    let got: Vec<(i64, &str)> = rejected.iter().map(|(l, f, _)| (*l, f.as_str())).collect();
    assert_eq!(got, vec![(3, "occurred_at"), (4, "lat"), (5, "offense"), (6, "row"), (7, "id")]);
    assert!(rejected[0].2.contains("not a date"), "{:?}", rejected[0]);
    assert!(rejected[4].2.contains("repeats line 2"), "{:?}", rejected[4]);
}

#[tokio::test]
async fn an_unusable_file_stores_nothing() {
    let store = fresh_store().await;
    let err = ingest(&store.bodega, "id;occurred_at;offense;lat;lon\n1;2020-01-01T00:00;X;49;-123\n", &opts("rms"))
        .await
        .expect_err("semicolon file");
    assert!(matches!(&err, IngestError::MissingColumn { column, .. } if column == "id"), "{err}");
    assert!(err.to_string().contains("header"), "{err}");
    let err = ingest(
        &store.bodega,
        "id,occurred_at,offense,lat,lon\n",
        &IngestOptions { time_zone: "Mars/Olympus".into(), ..opts("rms") },
    )
    .await
    .expect_err("bad zone");
    assert!(err.to_string().contains("Mars/Olympus"), "{err}");
    assert_eq!(store.bodega.incident_count().await.expect("count"), 0);
    assert_eq!(batches(&store.bodega).await, 0, "no batch row for a file that was not used");
}

#[tokio::test]
async fn a_dry_run_checks_everything_and_stores_nothing() {
    let store = fresh_store().await;
    let csv = "id,occurred_at,offense,category,lat,lon\n1,2020-05-01T10:00,Mischief,,49.28,-123.12\n2,bad,X,,,\n";
    let s = ingest(&store.bodega, csv, &IngestOptions { dry_run: true, ..opts("rms") }).await.expect("dry run");
    assert_eq!((s.read, s.loaded, s.rejected, s.dry_run), (2, 1, 1, true));
    assert_eq!(store.bodega.incident_count().await.expect("count"), 0);
    assert_eq!(batches(&store.bodega).await, 0);
}

#[tokio::test]
async fn daylight_saving_edges_are_kept_and_flagged() {
    let store = fresh_store().await;
    let csv = "id,occurred_at,offense,category,lat,lon\n\
               1,2020-03-08T02:30,Mischief,,49.28,-123.12\n\
               2,2020-11-01T01:30,Mischief,,49.28,-123.12\n\
               3,2020-11-01T03:30,Mischief,,49.28,-123.12\n";
    let s = ingest(&store.bodega, csv, &opts("rms")).await.expect("load");
    assert_eq!((s.loaded, s.time_flagged, s.rejected), (3, 2, 0));
    let flags: Vec<(String, Option<String>, i64)> = bodega::on_pool!(&store.bodega, pool => sqlx::query_as(
        "SELECT source_id, time_flag, occurred_at FROM incidents ORDER BY source_id"
    ).fetch_all(pool).await)
    .expect("rows");
    assert_eq!(flags[0].1.as_deref(), Some("gap"));
    assert_eq!(flags[0].2, 1_583_663_400); // 03:30 PDT = 10:30 UTC
    assert_eq!(flags[1].1.as_deref(), Some("ambiguous"));
    assert_eq!(flags[1].2, 1_604_219_400); // 01:30 PDT (the earlier offset) = 08:30 UTC
    assert_eq!(flags[2].1, None);
}

#[tokio::test]
async fn located_points_respect_the_half_open_window() {
    let store = fresh_store().await;
    let csv = "id,occurred_at,offense,category,lat,lon\n\
               1,2020-01-01T00:00,A,,49.1,-123.1\n\
               2,2020-01-02T00:00,A,,49.2,-123.2\n\
               3,2020-01-03T00:00,A,,,\n";
    ingest(&store.bodega, csv, &opts("rms")).await.expect("load");
    let jan1 = 1_577_865_600; // 2020-01-01T00:00 PST
    let jan2 = jan1 + 86_400;
    assert_eq!(store.bodega.located_points(jan1, jan2).await.expect("points"), vec![(-123.1, 49.1)]);
    assert_eq!(store.bodega.located_points(jan1, jan2 + 1).await.expect("points").len(), 2);
    assert!(store.bodega.located_points(jan2 + 1, i64::MAX).await.expect("points").is_empty());
}

#[tokio::test]
async fn ping_answers_and_fails_once_closed() {
    let store = fresh_store().await;
    store.bodega.ping().await.expect("open store answers");
    store.bodega.close().await;
    assert!(store.bodega.ping().await.is_err());
}

#[tokio::test]
async fn bad_urls_are_named() {
    let err = Bodega::connect("mysql://x", 1).await.expect_err("unsupported");
    assert!(err.to_string().contains("unsupported scheme 'mysql'"), "{err}");
    let err = Bodega::connect("nonsense", 1).await.expect_err("no scheme");
    assert!(err.to_string().contains("not a usable database URL"), "{err}");
    let err = Bodega::connect("postgres://beatbook@127.0.0.1:1/x", 1).await.expect_err("nobody listens on port 1");
    assert!(err.to_string().contains("cannot reach the database at 127.0.0.1:1"), "{err}");
}

/// The two migration folders must describe the same schema: same tables, same columns, same
/// type family and nullability. Needs both engines, so it runs in `make test`'s PostgreSQL pass
/// (mandatory in CI); on a SQLite-only run it says so and compares nothing.
#[tokio::test]
async fn schemas_are_equivalent() {
    if std::env::var("BEATBOOK_TEST_DATABASE_URL").map(|u| u.is_empty()).unwrap_or(true) {
        eprintln!("schemas_are_equivalent: needs PostgreSQL; it runs in make test's PostgreSQL pass");
        return;
    }
    let pg = fresh_store().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let lite = Bodega::connect(&format!("sqlite://{}", dir.path().join("s.db").display()), 1).await.expect("sqlite");
    let family = |t: &str| -> &'static str {
        match t.to_ascii_lowercase().as_str() {
            "integer" | "bigint" => "int",
            "real" | "double precision" => "float",
            "text" => "text",
            _ => "other",
        }
    };
    let lite_cols: Vec<(String, String, String, bool)> = bodega::on_pool!(&lite, pool => sqlx::query_as(
        "SELECT m.name, p.name, p.type, p.\"notnull\" OR p.pk > 0 FROM sqlite_master m, pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_sqlx%' ORDER BY 1, 2"
    ).fetch_all(pool).await)
    .expect("sqlite catalog");
    let pg_cols: Vec<(String, String, String, bool)> = bodega::on_pool!(&pg.bodega, pool => sqlx::query_as(
        "SELECT table_name::text, column_name::text, data_type::text, is_nullable = 'NO' FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name NOT LIKE '_sqlx%' ORDER BY 1, 2"
    ).fetch_all(pool).await)
    .expect("postgres catalog");
    let norm = |cols: Vec<(String, String, String, bool)>| -> Vec<(String, String, &'static str, bool)> {
        cols.into_iter().map(|(t, c, ty, nn)| (t, c, family(&ty), nn)).collect()
    };
    let (lite_cols, pg_cols) = (norm(lite_cols), norm(pg_cols));
    assert!(!lite_cols.iter().any(|c| c.2 == "other"), "unknown SQLite type in {lite_cols:?}");
    assert!(lite_cols.len() > 20, "the catalog query found the tables");
    assert_eq!(lite_cols, pg_cols);
}

// ---- exports in other shapes -----------------------------------------------------------------

fn shared(file: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data").join(file)
}

fn with_preset(source: &str, tz: &str, preset: &str) -> IngestOptions {
    IngestOptions {
        time_zone: tz.into(),
        mapping: Some(bodega::mapping::Mapping::preset(preset).expect("preset")),
        ..opts(source)
    }
}

#[tokio::test]
async fn the_vancouver_police_original_loads_through_its_preset_and_matches_the_canonical_file() {
    let store = fresh_store().await;
    let gz = std::fs::File::open(shared("vancouver_crime_2020.original.csv.gz")).expect("original");
    let s = bodega::ingest::ingest_incidents_csv(
        &store.bodega,
        flate2::read::GzDecoder::new(gz),
        &with_preset("vpd", "America/Vancouver", "vancouver"),
    )
    .await
    .expect("load");
    // X = Y = 0 is VPD's "location withheld": kept and counted, not mapped.
    assert_eq!((s.read, s.loaded, s.rejected, s.without_location), (37_512, 37_512, 0, 3_751));
    // The publisher converted X/Y with pyproj to 6 decimals; our conversion of the same X/Y agrees.
    let stored: Vec<(String, Option<f64>, Option<f64>, String)> =
        bodega::on_pool!(&store.bodega, pool => sqlx::query_as(
        "SELECT source_id, lat, lon, address FROM incidents"
    ).fetch_all(pool).await)
        .expect("rows");
    let stored: std::collections::HashMap<String, (Option<f64>, Option<f64>, String)> =
        stored.into_iter().map(|(id, lat, lon, a)| (id, (lat, lon, a))).collect();
    let canonical = String::from_utf8(demo::VANCOUVER_2020_CSV.to_vec()).expect("utf-8");
    let mut compared = 0;
    for line in canonical.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let (lat, lon, _) = &stored[f[0]];
        match (f[4].parse::<f64>(), f[5].parse::<f64>()) {
            (Ok(clat), Ok(clon)) => {
                let (lat, lon) = (lat.expect("located"), lon.expect("located"));
                assert!(
                    (lat - clat).abs() <= 6e-7 && (lon - clon).abs() <= 6e-7,
                    "id {}: {lat},{lon} vs {clat},{clon}",
                    f[0]
                );
                compared += 1;
            }
            _ => assert!(lat.is_none(), "id {} has no location in the canonical file", f[0]),
        }
    }
    assert_eq!(compared, 33_761);
    assert_eq!(stored["1"].2, "10XX ALBERNI ST", "the block is kept");
}

#[tokio::test]
async fn the_chicago_extract_loads_through_its_preset() {
    let store = fresh_store().await;
    let gz = std::fs::File::open(shared("chicago_aggravated_assaults_2010_2019.original.csv.gz")).expect("original");
    let s = bodega::ingest::ingest_incidents_csv(
        &store.bodega,
        flate2::read::GzDecoder::new(gz),
        &with_preset("cpd", "America/Chicago", "chicago"),
    )
    .await
    .expect("load");
    assert_eq!((s.read, s.loaded, s.rejected, s.without_location), (148_636, 148_636, 0, 0));
    let districts: i64 = bodega::on_pool!(&store.bodega, pool => sqlx::query_scalar(
        "SELECT COUNT(DISTINCT district_code) FROM incidents"
    ).fetch_one(pool).await)
    .expect("districts");
    assert!(districts >= 22, "CPD has 22 districts; found {districts}");
}

#[tokio::test]
async fn open_data_presets_read_their_published_shapes() {
    let store = fresh_store().await;
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let load = |preset: &'static str, tz: &'static str| {
        let bodega = store.bodega.clone();
        let path = fixtures.join(format!("{preset}.csv"));
        async move {
            let file = std::fs::File::open(path).expect("fixture");
            bodega::ingest::ingest_incidents_csv(&bodega, file, &with_preset(preset, tz, preset)).await.expect(preset)
        }
    };
    // Los Angeles: TIME OCC as 845 and 2130; (0,0) means no location; a 2400 time is rejected.
    let la = load("los-angeles", "America/Los_Angeles").await;
    assert_eq!((la.read, la.loaded, la.without_location, la.rejected), (4, 3, 1, 1));
    let rejected = store.bodega.rejected_rows(la.batch_id).await.expect("rejected");
    assert_eq!((rejected[0].0, rejected[0].1.as_str()), (5, "occurred_at"));
    // San Francisco: 02:30 on 2020-03-08 falls in the spring-forward gap (kept, flagged); a
    // supplement with no coordinates is kept, not mapped.
    let sf = load("san-francisco", "America/Los_Angeles").await;
    assert_eq!((sf.read, sf.loaded, sf.without_location, sf.time_flagged), (3, 3, 1, 1));
    // New York: 01:30 on 2020-11-01 is ambiguous (kept, earlier offset); 02/30 is rejected.
    let ny = load("new-york", "America/New_York").await;
    assert_eq!((ny.read, ny.loaded, ny.time_flagged, ny.rejected), (3, 2, 1, 1));
    let times: Vec<(String, String, i64)> = bodega::on_pool!(&store.bodega, pool => sqlx::query_as(
        "SELECT source, source_id, occurred_at FROM incidents ORDER BY source, source_id"
    ).fetch_all(pool).await)
    .expect("rows");
    let at = |id: &str| times.iter().find(|t| t.1 == id).map(|t| t.2).expect(id);
    assert_eq!(at("201516622"), 1_583_127_000, "2020-03-01 21:30 PST = 2020-03-02 05:30 UTC");
    assert_eq!(at("968873685"), 1_604_208_600, "2020-11-01 01:30 EDT (the earlier offset)");
}

// ---- districts ---------------------------------------------------------------------------------

const TWO_DISTRICTS: &str = r#"{"type":"FeatureCollection","features":[
 {"type":"Feature","properties":{"code":"D1","name":"Downtown"},"geometry":{"type":"Polygon","coordinates":[[[-123.14,49.27],[-123.09,49.27],[-123.09,49.30],[-123.14,49.30],[-123.14,49.27]]]}},
 {"type":"Feature","properties":{"code":2,"name":"East"},"geometry":{"type":"MultiPolygon","coordinates":[[[[-123.09,49.24],[-123.02,49.24],[-123.02,49.30],[-123.09,49.30],[-123.09,49.24]]]]}}]}"#;

#[tokio::test]
async fn districts_load_all_or_nothing_and_reload_by_code() {
    let store = fresh_store().await;
    let s = bodega::districts::load_districts(&store.bodega, TWO_DISTRICTS, "district", "code", "name")
        .await
        .expect("load");
    assert_eq!(s.loaded, 2);
    let d = store.bodega.districts().await.expect("districts");
    assert_eq!(
        d,
        vec![("2".into(), "East".into(), "district".into()), ("D1".into(), "Downtown".into(), "district".into())]
    );
    // A corrected file replaces by code.
    bodega::districts::load_districts(
        &store.bodega,
        &TWO_DISTRICTS.replace("Downtown", "Downtown Core"),
        "district",
        "code",
        "name",
    )
    .await
    .expect("reload");
    assert_eq!(store.bodega.districts().await.expect("districts")[1].1, "Downtown Core");
    // A wrong geometry anywhere rejects the whole file, naming the feature.
    let bad = TWO_DISTRICTS.replace("\"D1\"", "\"D3\"").replace(
        r#""type":"MultiPolygon","coordinates":[[[[-123.09,49.24],[-123.02,49.24],[-123.02,49.30],[-123.09,49.30],[-123.09,49.24]]]]"#,
        r#""type":"LineString","coordinates":[[-123.09,49.24],[-123.02,49.24]]"#,
    );
    let err =
        bodega::districts::load_districts(&store.bodega, &bad, "district", "code", "name").await.expect_err("line");
    assert!(err.to_string().contains("feature 1") && err.to_string().contains("LineString"), "{err}");
    assert_eq!(store.bodega.districts().await.expect("districts").len(), 2, "D3 was not stored either");
    for (text, expect) in [
        ("{\"type\":\"Point\",\"coordinates\":[0,0]}", "bare Geometry"),
        ("{\"type\":\"FeatureCollection\",\"features\":[]}", "no features"),
        ("not json", "not a GeoJSON FeatureCollection"),
    ] {
        let err =
            bodega::districts::load_districts(&store.bodega, text, "district", "code", "name").await.expect_err(expect);
        assert!(err.to_string().contains(expect), "{err}");
    }
    let err = bodega::districts::load_districts(&store.bodega, TWO_DISTRICTS, "district", "id", "name")
        .await
        .expect_err("no id");
    assert!(err.to_string().contains("no 'id' property"), "{err}");
}

// ---- the query API ------------------------------------------------------------------------------

#[tokio::test]
async fn cell_day_counts_cut_days_in_local_time_and_cover_every_mappable_incident() {
    let store = fresh_store().await;
    demo::seed_demo(&store.bodega).await.expect("seed");
    let tz = jiff::tz::TimeZone::get("America/Vancouver").expect("tz");
    let lattice = hotspot::Lattice::new(hotspot::Epsg::utm(32610).expect("zone"), 150).expect("lattice");
    let all =
        store.bodega.cell_day_counts(&bodega::queries::Filter::default(), &lattice, &tz).await.expect("aggregates");
    assert_eq!(all.iter().map(|c| u64::from(c.count)).sum::<u64>(), 33_761 - 346);
    // Independently: the same incidents binned by the lattice directly give the same per-cell totals.
    let (direct, _) = lattice.count_points(store.bodega.located_points(i64::MIN, i64::MAX).await.expect("points"));
    let mut per_cell: std::collections::BTreeMap<(i64, i64), u32> = std::collections::BTreeMap::new();
    for c in &all {
        *per_cell.entry((c.ix, c.iy)).or_default() += c.count;
    }
    assert_eq!(per_cell.len(), direct.len());
    assert!(direct.iter().all(|d| per_cell[&(d.key.ix, d.key.iy)] == d.count));
    // Days are local: nothing falls on 2021-01-01 although late-evening incidents of 31 December
    // are already 2021 in UTC.
    assert!(all.iter().all(|c| c.day.starts_with("2020-")), "a day outside 2020");
    assert!(all.iter().any(|c| c.day == "2020-12-31"));
}

#[tokio::test]
async fn filters_by_window_offence_and_box_and_a_neighbourhood_is_no_district() {
    let store = fresh_store().await;
    let gz = std::fs::File::open(shared("vancouver_crime_2020.original.csv.gz")).expect("original");
    bodega::ingest::ingest_incidents_csv(
        &store.bodega,
        flate2::read::GzDecoder::new(gz),
        &with_preset("vpd", "America/Vancouver", "vancouver"),
    )
    .await
    .expect("load");
    // Independent counts from the original file: the West End neighbourhood, 2020, all offences
    // (mapped or not), and Mischief in June city-wide.
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(
            std::fs::File::open(shared("vancouver_crime_2020.original.csv.gz")).expect("gz"),
        ),
        &mut text,
    )
    .expect("gunzip");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let (mut west_end, mut mischief_june) = (0i64, 0i64);
    for r in reader.records() {
        let r = r.expect("row");
        west_end += i64::from(&r[7] == "West End");
        mischief_june += i64::from(&r[0] == "Mischief" && &r[2] == "6");
    }
    // A neighbourhood is its own field, not a police district: the preset leaves districts to
    // the department's outlines.
    let neighbourhood: i64 = bodega::on_pool!(&store.bodega, pool => sqlx::query_scalar(
        "SELECT COUNT(*) FROM incidents WHERE neighbourhood = 'West End' AND district_code IS NULL")
        .fetch_one(pool).await)
    .expect("count");
    assert_eq!(neighbourhood, west_end);
    use bodega::queries::Filter;
    let june = Filter {
        from: Some(1_590_994_800), // 2020-06-01T00:00 PDT
        to: Some(1_593_586_800),   // 2020-07-01T00:00 PDT
        offense: Some("Mischief".into()),
        ..Filter::default()
    };
    assert_eq!(
        store.bodega.counts_by_offense(&june).await.expect("counts"),
        vec![("Mischief".to_string(), mischief_june)]
    );
    let boxed = Filter { bbox: Some((-123.2, 49.0, -123.15, 49.5)), ..Filter::default() };
    let points = store.bodega.mappable_incidents(&boxed).await.expect("points");
    assert!(!points.is_empty() && points.iter().all(|(lon, _, _, _)| *lon <= -123.15));
}

#[tokio::test]
async fn the_demo_roster_is_synthetic_marked_and_idempotent() {
    let store = fresh_store().await;
    demo::seed_demo(&store.bodega).await.expect("seed");
    demo::seed_demo(&store.bodega).await.expect("seed again");
    let count = |table: &'static str| {
        let b = store.bodega.clone();
        async move {
            let sql = match table {
                "districts" => "SELECT COUNT(*), CAST(SUM(synthetic) AS BIGINT) FROM districts",
                "shifts" => "SELECT COUNT(*), CAST(SUM(synthetic) AS BIGINT) FROM shifts",
                "units" => "SELECT COUNT(*), CAST(SUM(synthetic) AS BIGINT) FROM units",
                _ => "SELECT COUNT(*), CAST(SUM(synthetic) AS BIGINT) FROM officers",
            };
            let (n, synthetic): (i64, Option<i64>) =
                bodega::on_pool!(&b, pool => sqlx::query_as(sql).fetch_one(pool).await).expect("count");
            (n, synthetic.unwrap_or(0))
        }
    };
    assert_eq!(count("districts").await, (4, 4));
    assert_eq!(count("shifts").await, (3, 3));
    assert_eq!(count("units").await, (12, 12));
    assert_eq!(count("officers").await, (33, 33));
    let d = store.bodega.districts().await.expect("districts");
    assert!(d.iter().all(|(_, name, kind)| name.contains("synthetic") && kind == "district"));
}

// ---- GPS ------------------------------------------------------------------------------------------

#[tokio::test]
async fn gps_fixes_append_once_and_bad_rows_are_kept_with_reasons() {
    let store = fresh_store().await;
    let csv = "device,unit,fix_at,lat,lon,accuracy_m,speed_mps\n\
               phone-17,1A1,2020-06-01T17:00:05Z,49.2800,-123.1200,8,1.2\n\
               phone-17,1A1,2020-06-01T17:00:35Z,49.2801,-123.1201,12,\n\
               phone-17,1A1,2020-06-01T10:01:05-07:00,49.2802,-123.1202,,\n\
               car-1A2,1A2,2020-06-01T10:00:05,49.2600,-123.1000,5,9.5\n\
               phone-17,1A1,2020-06-01T17:00:05Z,49.2800,-123.1200,8,1.2\n\
               phone-18,,2020-06-01T17:00:05Z,95,-123.1200,8,1.2\n\
               phone-18,,2020-06-01T17:00:06Z,49.28,-123.12,-3,1.2\n";
    let o = opts("avl");
    let s = bodega::gps::ingest_gps_csv(&store.bodega, csv.as_bytes(), &o).await.expect("load");
    assert_eq!((s.read, s.loaded, s.unchanged, s.rejected), (7, 4, 1, 2));
    let rejected = store.bodega.rejected_rows(s.batch_id).await.expect("rejected");
    let got: Vec<(i64, &str)> = rejected.iter().map(|(l, f, _)| (*l, f.as_str())).collect();
    assert_eq!(got, vec![(7, "lat"), (8, "accuracy_m")]);
    // Re-sending the same batch stores nothing twice.
    let again = bodega::gps::ingest_gps_csv(&store.bodega, csv.as_bytes(), &o).await.expect("reload");
    assert_eq!((again.loaded, again.unchanged), (0, 5));
    let fixes: Vec<(String, i64)> = bodega::on_pool!(&store.bodega, pool => sqlx::query_as(
        "SELECT device, fix_at FROM gps_fixes ORDER BY device, fix_at"
    ).fetch_all(pool).await)
    .expect("fixes");
    // The local 10:00:05 (PDT) of the car is 17:00:05 UTC; the phone's -07:00 time is 17:01:05 UTC.
    assert_eq!(
        fixes,
        vec![
            ("car-1A2".to_string(), 1_591_030_805),
            ("phone-17".to_string(), 1_591_030_805),
            ("phone-17".to_string(), 1_591_030_835),
            ("phone-17".to_string(), 1_591_030_865),
        ]
    );
    let err =
        bodega::gps::ingest_gps_csv(&store.bodega, "unit,when,lat,lon\n".as_bytes(), &o).await.expect_err("no device");
    assert!(err.to_string().contains("'device'"), "{err}");
}

// ---- calls for service ----------------------------------------------------------------------------

#[tokio::test]
async fn calls_for_service_upsert_as_they_close_and_bad_rows_are_kept() {
    let store = fresh_store().await;
    let open = "call_id,call_type,priority,received_at,dispatched_at,arrived_at,cleared_at,disposition,lat,lon,address,district\n\
                C1,DISTURBANCE,2,2020-06-01T22:00:00,2020-06-01T22:03:00,,,,49.2800,-123.1200,100 BLK MAIN ST,D2\n\
                C2,SUSPICIOUS PERSON,3,2020-06-01T23:10:00Z,,,,,,,,\n\
                C3,NOISE,4,2020-06-01T23:30:00,2020-06-01T23:00:00,,,,49.2800,-123.1200,,D2\n\
                C1,DISTURBANCE,2,2020-06-01T22:00:00,,,,,49.28,-123.12,,\n\
                ,NOISE,4,2020-06-01T23:30:00,,,,,,,,\n";
    let o = opts("cad");
    let s = bodega::calls::ingest_calls_csv(&store.bodega, open.as_bytes(), &o).await.expect("load");
    assert_eq!((s.read, s.loaded, s.rejected), (5, 2, 3));
    let rejected = store.bodega.rejected_rows(s.batch_id).await.expect("rejected");
    let got: Vec<(i64, &str)> = rejected.iter().map(|(l, f, _)| (*l, f.as_str())).collect();
    assert_eq!(got, vec![(4, "dispatched_at"), (5, "call_id"), (6, "call_id")]);
    // The next export: C1 has closed, C2 unchanged, C4 is new.
    let closed = "call_id,call_type,priority,received_at,dispatched_at,arrived_at,cleared_at,disposition,lat,lon,address,district\n\
                  C1,DISTURBANCE,2,2020-06-01T22:00:00,2020-06-01T22:03:00,2020-06-01T22:09:00,2020-06-01T22:40:00,REPORT TAKEN,49.2800,-123.1200,100 BLK MAIN ST,D2\n\
                  C2,SUSPICIOUS PERSON,3,2020-06-01T23:10:00Z,,,,,,,,\n\
                  C4,ALARM,3,2020-06-02T01:00:00-07:00,,,,,0,0,,\n";
    let s = bodega::calls::ingest_calls_csv(&store.bodega, closed.as_bytes(), &o).await.expect("reload");
    assert_eq!((s.loaded, s.updated, s.unchanged, s.rejected), (1, 1, 1, 0));
    type CallRow = (String, i64, Option<i64>, String, Option<String>);
    let rows: Vec<CallRow> = bodega::on_pool!(&store.bodega, pool => sqlx::query_as(
        "SELECT source_id, received_at, cleared_at, disposition, geo_flag FROM calls_for_service ORDER BY source_id"
    ).fetch_all(pool).await)
    .expect("calls");
    assert_eq!(rows[0].1, 1_591_074_000, "22:00 PDT = 05:00 UTC next day");
    assert_eq!((rows[0].2, rows[0].3.as_str()), (Some(1_591_076_400), "REPORT TAKEN"));
    assert_eq!(rows[1].1, 1_591_053_000, "an RFC 3339 time keeps its offset");
    assert_eq!(rows[2].4.as_deref(), Some("null_island"), "(0,0) is flagged, the call kept");
}

#[tokio::test]
async fn a_rejected_call_never_costs_a_good_row_with_the_same_id() {
    let store = fresh_store().await;
    let csv = "call_id,call_type,priority,received_at,dispatched_at,arrived_at,cleared_at,disposition,lat,lon,address,district\n\
               C1,,2,2020-06-01T22:00:00,,,,,,,,\n\
               C1,THEFT,2,2020-06-01T22:05:00,,,,,,,,\n\
               C1,THEFT,2,2020-06-01T22:06:00,,,,,,,,\n";
    let s = bodega::calls::ingest_calls_csv(&store.bodega, csv.as_bytes(), &opts("cad")).await.expect("load");
    assert_eq!((s.read, s.loaded, s.rejected), (3, 1, 2));
    let rejected = store.bodega.rejected_rows(s.batch_id).await.expect("rejected");
    assert_eq!((rejected[0].0, rejected[0].1.as_str()), (2, "call_type"));
    assert_eq!((rejected[1].0, rejected[1].1.as_str()), (4, "call_id"));
    assert!(rejected[1].2.contains("repeats line 3"), "{:?}", rejected[1]);
}

#[tokio::test]
async fn a_nul_byte_rejects_its_row_on_both_engines_and_the_rest_loads() {
    let store = fresh_store().await;
    let csv = "id,occurred_at,offense,category,lat,lon\n\
               1,2020-05-01T10:00,Mischief\0,,49.28,-123.12\n\
               2,2020-05-01T10:00,Mischief,,49.28,-123.12\n";
    let s = ingest(&store.bodega, csv, &opts("rms")).await.expect("load");
    assert_eq!((s.read, s.loaded, s.rejected), (2, 1, 1));
    let rejected = store.bodega.rejected_rows(s.batch_id).await.expect("rejected");
    assert_eq!((rejected[0].0, rejected[0].1.as_str()), (2, "row"));
    assert!(rejected[0].2.contains("field 3 contains a NUL byte"), "{:?}", rejected[0]);
    let calls = "call_id,call_type,received_at\nC1,NOISE\0,2020-06-01T22:00:00\nC2,NOISE,2020-06-01T22:00:00\n";
    let s = bodega::calls::ingest_calls_csv(&store.bodega, calls.as_bytes(), &opts("cad")).await.expect("calls");
    assert_eq!((s.loaded, s.rejected), (1, 1));
    let fixes = "device,fix_at,lat,lon\nP1\0,2020-06-01T22:00:00,49.28,-123.12\nP1,2020-06-01T22:00:00,49.28,-123.12\n";
    let s = bodega::gps::ingest_gps_csv(&store.bodega, fixes.as_bytes(), &opts("avl")).await.expect("fixes");
    assert_eq!((s.loaded, s.rejected), (1, 1));
}

#[tokio::test]
async fn a_time_with_its_own_offset_is_kept_as_that_instant() {
    let store = fresh_store().await;
    let csv = "id,occurred_at,offense,category,lat,lon\n\
               1,2020-06-01T17:00:00+00:00,Mischief,,49.28,-123.12\n\
               2,2020-06-01T17:00:00Z,Mischief,,49.28,-123.12\n\
               3,2020-06-01T10:00:00,Mischief,,49.28,-123.12\n";
    let s = ingest(&store.bodega, csv, &opts("rms")).await.expect("load");
    assert_eq!((s.loaded, s.rejected), (3, 0));
    let times: Vec<(String, i64)> = bodega::on_pool!(&store.bodega, pool => sqlx::query_as(
        "SELECT source_id, occurred_at FROM incidents ORDER BY source_id").fetch_all(pool).await)
    .expect("times");
    // 17:00 UTC is 10:00 in Vancouver (PDT) on that day: all three are the same instant.
    assert_eq!(times.iter().map(|t| t.1).collect::<Vec<_>>(), vec![1_591_030_800; 3], "{times:?}");
}

/// Keys a natural-language collation orders unlike their bytes ("vehicle - stolen" after
/// "vehicle collision" in en_US) reload as the same table on either engine.
#[tokio::test]
async fn a_harm_table_with_punctuated_offences_reloads_as_the_same_table() {
    let store = fresh_store().await;
    let b = &store.bodega;
    let punctuated: Vec<(String, f64, String)> =
        [("Vehicle - Stolen", 3.0), ("Vehicle Collision", 2.0), ("Vehicle-Stolen", 1.0)]
            .into_iter()
            .map(|(o, w)| (o.to_string(), w, String::new()))
            .collect();
    assert!(b.load_harm_table("punctuated", "1", &punctuated).await.expect("load"));
    assert!(!b.load_harm_table("punctuated", "1", &punctuated).await.expect("the same table again"));
    let changed: Vec<(String, f64, String)> = punctuated
        .iter()
        .map(|(o, w, n)| (o.clone(), if o == "Vehicle-Stolen" { 4.0 } else { *w }, n.clone()))
        .collect();
    assert!(b.load_harm_table("punctuated", "1", &changed).await.is_err(), "a different table under a taken version");
}

/// A write that fails halfway through a file (here a trigger refusing one row of the second
/// chunk) ends the load with the database's error — it used to wait forever for the writer —
/// and leaves nothing of the file behind.
#[tokio::test]
async fn a_write_failing_mid_file_ends_the_load_and_stores_nothing() {
    let store = fresh_store().await;
    let b = &store.bodega;
    match b {
        Bodega::Sqlite(store) => {
            sqlx::query(
                "CREATE TRIGGER refuse_1500 BEFORE INSERT ON incidents WHEN NEW.source_id = '1500' \
                 BEGIN SELECT RAISE(ABORT, 'refused by the test trigger'); END",
            )
            .execute(store.writes())
            .await
            .expect("trigger");
        }
        Bodega::Postgres(pool) => {
            sqlx::query(
                "CREATE FUNCTION refuse_1500() RETURNS trigger AS $$ BEGIN \
                 IF NEW.source_id = '1500' THEN RAISE EXCEPTION 'refused by the test trigger'; END IF; \
                 RETURN NEW; END $$ LANGUAGE plpgsql",
            )
            .execute(pool)
            .await
            .expect("function");
            sqlx::query(
                "CREATE TRIGGER refuse_1500 BEFORE INSERT ON incidents FOR EACH ROW EXECUTE FUNCTION refuse_1500()",
            )
            .execute(pool)
            .await
            .expect("trigger");
        }
    }
    let mut csv = String::from("id,occurred_at,offense,category,lat,lon\n");
    for i in 1..=5000 {
        csv.push_str(&format!("{i},2020-05-01T10:00,Mischief,,49.28,-123.12\n"));
    }
    // Not a speed limit: a load that never ends must fail the test rather than hang it.
    let outcome = tokio::time::timeout(std::time::Duration::from_secs(120), ingest(b, &csv, &opts("rms")))
        .await
        .expect("the load ends");
    let err = outcome.expect_err("the refused row fails the file");
    assert!(err.to_string().contains("refused by the test trigger"), "{err}");
    assert_eq!(b.incident_count().await.expect("count"), 0);
    assert_eq!(batches(b).await, 0);
}

async fn classes(b: &Bodega, sql_where: &str) -> Vec<(String, Option<String>, Option<String>, Option<String>)> {
    let sql = format!(
        "SELECT source_id, nibrs_code, harm_category, district_code FROM incidents WHERE {sql_where} ORDER BY source_id"
    );
    // `sql_where` is a literal from the tests below.
    bodega::on_pool!(b, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).fetch_all(pool).await)
        .expect("classes")
}

#[tokio::test]
async fn offences_are_classified_unknown_ones_listed_and_a_departments_map_wins() {
    let store = fresh_store().await;
    let b = &store.bodega;
    bodega::demo::seed_demo_roster(b).await.expect("districts");
    let csv = "id,occurred_at,offense,category,lat,lon\n\
               1,2020-06-01T10:00,Theft from Vehicle,,49.2800,-123.1200\n\
               2,2020-06-01T11:00,HOMICIDE,,49.2300,-123.0500\n\
               3,2020-06-01T12:00,Loitering near the depot,,49.2300,-123.1500\n\
               4,2020-06-01T13:00,Aggravated Assault,,,\n";
    ingest(b, csv, &opts("rms")).await.expect("load");
    // Case and spacing do not matter; the district is the polygon the incident lies in.
    assert_eq!(
        classes(b, "1 = 1").await,
        vec![
            ("1".into(), Some("23F".into()), Some("property".into()), Some("D1".into())),
            ("2".into(), Some("09A".into()), Some("violent".into()), Some("D4".into())),
            ("3".into(), None, None, Some("D3".into())),
            ("4".into(), Some("13A".into()), Some("violent".into()), None),
        ]
    );
    // An offence no map knows is listed with its count, never guessed.
    assert_eq!(b.unclassified_offenses().await.expect("unmapped"), vec![("Loitering near the depot".to_string(), 1)]);
    // The department maps it in its own vocabulary; the next run classifies it, and the
    // department's own row outranks the shipped one for a text both name.
    bodega::on_writer!(b, pool => {
        for (text, code, against, harm) in [
            ("loitering near the depot", "90B", "society", "quality_of_life"),
            ("theft from vehicle", "23G", "property", "property"),
        ] {
            sqlx::query("INSERT INTO offense_map (vocabulary, version, offense_text, nibrs_code, nibrs_group, crime_against, harm_category) \
                         VALUES ('springfield', '1', $1, $2, 'A', $3, $4)")
                .bind(text).bind(code).bind(against).bind(harm).execute(pool).await.expect("insert");
        }
    });
    let s = b.classify_incidents().await.expect("classify");
    assert_eq!(s.classified, 1, "only the unclassified row is touched");
    assert_eq!(classes(b, "source_id = '3'").await[0].1.as_deref(), Some("90B"));
    assert!(b.unclassified_offenses().await.expect("unmapped").is_empty());
    // An edited record is classified afresh from its new text.
    let edited = csv.replace("1,2020-06-01T10:00,Theft from Vehicle", "1,2020-06-01T10:00,Theft of Vehicle");
    ingest(b, &edited, &opts("rms")).await.expect("reload");
    assert_eq!(classes(b, "source_id = '1'").await[0].1.as_deref(), Some("240"));
    // Incidents are stored classified as they load, the department's row outranking the shipped.
    let more = "id,occurred_at,offense,category,lat,lon\n9,2020-06-02T10:00,Theft From Vehicle ,,49.2800,-123.1200\n";
    ingest(b, more, &opts("rms")).await.expect("load");
    assert_eq!(classes(b, "source_id = '9'").await[0].1.as_deref(), Some("23G"));
}

// ---- SQLite's one writer ---------------------------------------------------------------------

/// Writes queue for the store's one writer connection and reads never wait for them (issue 21):
/// while one write transaction is open, four more writes are waiting, and a read of the kind
/// every request makes (an account lookup) still answers before that transaction ends. When writes shared the read
/// pool, the waiting writers slept in SQLite's busy handler holding pool connections, and the
/// read queued behind them for up to the 5 s busy timeout. After the open transaction commits,
/// every waiting write lands.
#[tokio::test]
async fn reads_do_not_wait_behind_queued_writes_on_sqlite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let b = Bodega::connect(&format!("sqlite://{}", dir.path().join("w.db").display()), 2).await.expect("sqlite");
    b.create_user(&accounts::user("reader", &[protocol::Role::Officer], &["D1"])).await.expect("user");
    let Bodega::Sqlite(store) = &b else { unreachable!("a sqlite URL opens SQLite") };
    let mut held = store.writes().begin_with("BEGIN IMMEDIATE").await.expect("a write transaction");
    sqlx::query("UPDATE users SET display_name = 'held' WHERE username = 'reader'")
        .execute(&mut *held)
        .await
        .expect("write inside it");
    let writers: Vec<_> = (0..4)
        .map(|i| {
            let b = b.clone();
            tokio::spawn(async move {
                b.create_user(&accounts::user(&format!("writer{i}"), &[protocol::Role::Officer], &["D1"])).await
            })
        })
        .collect();
    // Give the writers time to reach the store and wait (on the writer, or in the busy handler).
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    // The read must answer while the transaction is still open: well inside the 5 s busy timeout
    // a writer sleeping in SQLite's busy handler would hold its connection for.
    let read = tokio::time::timeout(std::time::Duration::from_secs(2), b.user_by_username("reader")).await;
    let user = read.expect("the read answered while writes were queued").expect("read").expect("the account");
    assert_eq!(user.display_name, "User reader", "the read sees what was committed, not the open write");
    held.commit().await.expect("commit");
    for w in writers {
        w.await.expect("writer task").expect("every queued write lands once the writer is free");
    }
    assert_eq!(b.list_users().await.expect("users").len(), 5);
}
