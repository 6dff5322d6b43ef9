//! The device's hot-spot inputs (`/api/field_cache`): per-cell, per-day, per-offence counts of
//! the officer's district only, counted against the demo CSV, carrying nothing about any one
//! incident, and scored on the device's code path to the same totals.

use protocol::Role;

use super::auth::json_call;
use super::*;

/// Located incidents of the demo's District 1 rectangle on local days `first..=last`, per
/// lattice cell, straight from the CSV.
fn independent_d1(first: &str, last: &str) -> std::collections::BTreeMap<(i64, i64), u32> {
    let lattice = hotspot::Lattice::new(hotspot::Epsg::utm(32610).expect("zone"), 150).expect("lattice");
    let mut rdr = csv::Reader::from_reader(bodega::demo::VANCOUVER_2020_CSV);
    let mut cells = std::collections::BTreeMap::new();
    for rec in rdr.records() {
        let rec = rec.expect("row");
        let day = &rec[1][..10];
        let (Ok(lat), Ok(lon)) = (rec[4].parse::<f64>(), rec[5].parse::<f64>()) else { continue };
        if !(first..=last).contains(&day)
            || !(-123.2250..-123.1000).contains(&lon)
            || !(49.2500..49.3150).contains(&lat)
        {
            continue;
        }
        let k = lattice.key_of(lon, lat).expect("key");
        *cells.entry((k.ix, k.iy)).or_insert(0) += 1;
    }
    cells
}

#[tokio::test]
async fn a_device_gets_its_districts_aggregates_and_nothing_about_any_one_incident() {
    let app = test_app().await;
    add_user(&app, "off1", &[Role::Officer], &["D1"]).await;
    let off = sign_in(&app, "off1").await;
    let (status, _, text) = call(&app.router, json_call("/api/field_cache", &serde_json::json!({}), Some(&off))).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let cache: app::field::FieldCache = serde_json::from_str(&text).expect("a field cache");
    assert_eq!(cache.districts, vec!["D1".to_string()]);
    assert_eq!(cache.last_date, "2020-12-31");
    let a = &cache.aggregates;
    assert_eq!((a.epsg, a.cell_size_m, a.days), (32610, 150, 180));
    // 180 local days: 5 Jul – 31 Dec 2020.
    let want = independent_d1("2020-07-05", "2020-12-31");
    let mut got = std::collections::BTreeMap::new();
    for &(ix, iy, day, _, count) in &a.rows {
        assert!((a.last_day - 179..=a.last_day).contains(&day), "day {day} outside the cache");
        *got.entry((ix, iy)).or_insert(0) += count;
    }
    assert_eq!(got, want);
    // Aggregates only: no incident ids, addresses, times of day or narratives on the wire.
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    let keys: Vec<String> = v["aggregates"].as_object().expect("object").keys().cloned().collect();
    assert_eq!(keys, ["cell_size_m", "days", "epsg", "harm_table", "last_day", "offenses", "rows"]);
    for row in v["aggregates"]["rows"].as_array().expect("rows") {
        assert_eq!(row.as_array().map(Vec::len), Some(5));
    }
    // Every offence is classified into a track, and the device's scoring of the last 28 days
    // counts exactly the CSV's incidents of those days.
    assert!(a.offenses.iter().all(|o| ["violent", "property", "quality_of_life"].contains(&o.track.as_str())));
    let spots = hotspot::score_cached(a, &hotspot::DeviceQuery { days: 28, tracks: vec![], half_life_days: 14.0 })
        .expect("scores");
    let last28 = independent_d1("2020-12-04", "2020-12-31");
    assert_eq!(spots.iter().map(|s| s.count).sum::<u32>(), last28.values().sum::<u32>());
    let top = spots.first().expect("a hot spot");
    assert_eq!(top.count, *last28.values().max().expect("cells"), "under the count table, most incidents ranks first");
}

#[tokio::test]
async fn anonymous_and_administrators_get_no_field_cache() {
    let app = test_app().await;
    add_user(&app, "adm", &[Role::Admin], &[]).await;
    let adm = sign_in(&app, "adm").await;
    let (status, _, _) = call(&app.router, json_call("/api/field_cache", &serde_json::json!({}), None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = call(&app.router, json_call("/api/field_cache", &serde_json::json!({}), Some(&adm))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
