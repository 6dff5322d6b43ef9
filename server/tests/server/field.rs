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
    on_count_table(&app).await;
    add_user(&app, "off1", &[Role::Officer], &["D1"]).await;
    let off = sign_in(&app, "off1").await;
    let (status, _, text) = call(&app.router, json_call("/api/field_cache", &serde_json::json!({}), Some(&off))).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let cache: app::device::cache::FieldCache = serde_json::from_str(&text).expect("a field cache");
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

#[tokio::test]
async fn a_sergeants_override_code_reaches_their_squads_devices_as_a_verifier_and_overrides_are_recorded() {
    let app = test_app().await;
    add_user(&app, "sgt1", &[Role::Sergeant], &["D1"]).await;
    add_user(&app, "sgt2", &[Role::Sergeant], &["D2"]).await;
    let off1_id = add_user(&app, "off1", &[Role::Officer], &["D1"]).await;
    let off2_id = add_user(&app, "off2", &[Role::Officer], &["D2"]).await;
    let (sgt1, off1, off2) = (sign_in(&app, "sgt1").await, sign_in(&app, "off1").await, sign_in(&app, "off2").await);

    // Officers cannot issue codes; a sergeant gets one, shown once, never stored as such.
    let issue = |cookie: &str| json_call("/api/auth/override-code", &serde_json::json!({}), Some(cookie));
    let (status, _, _) = call(&app.router, issue(&off1)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, text) = call(&app.router, issue(&sgt1)).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let code =
        serde_json::from_str::<serde_json::Value>(&text).expect("json")["code"].as_str().expect("code").to_string();
    assert_eq!(code.len(), 10);
    let issued = audit_of(&app, "issue_override_code").await;
    let outcomes: Vec<(&str, &str)> = issued.iter().map(|r| (r.actor.as_str(), r.outcome.as_str())).collect();
    assert_eq!(outcomes.iter().filter(|o| **o == ("sgt1", "success")).count(), 1, "{outcomes:?}");
    assert_eq!(outcomes.iter().filter(|o| **o == ("off1", "denied")).count(), 1, "{outcomes:?}");
    assert!(!format!("{issued:?}").contains(&code), "the code is not in the audit log");

    // D1's officer's device gets sgt1's verifier (not the code); D2's does not.
    let cache = |cookie: String| {
        let router = app.router.clone();
        async move {
            let (_, _, text) =
                call(&router, json_call("/api/field_cache", &serde_json::json!({}), Some(&cookie))).await;
            serde_json::from_str::<app::device::cache::FieldCache>(&text).expect("a field cache")
        }
    };
    let d1 = cache(off1.clone()).await;
    assert!(!serde_json::to_string(&d1).expect("json").contains(&code));
    let v = d1.supervisors.iter().find(|v| v.username == "sgt1").expect("sgt1 in D1's cache");
    let salt = hex::decode(&v.salt).expect("hex salt");
    assert_eq!(hex::encode(server::overrides::verifier(&code, &salt, v.iterations)), v.verifier);
    assert_ne!(hex::encode(server::overrides::verifier("0000000000", &salt, v.iterations)), v.verifier);
    assert!(cache(off2.clone()).await.supervisors.iter().all(|v| v.username != "sgt1"));

    // The author's next sign-in reports the override: both names on record.
    app.store.bodega.register_device("phone-7", off1_id, "").await.expect("off1's device");
    app.store.bodega.register_device("phone-8", off2_id, "").await.expect("off2's device");
    let at = jiff::Timestamp::now().as_second() - 3_600;
    let report = |supervisor: &str| serde_json::json!({ "device_id": "phone-7", "supervisor": supervisor, "at": at, "pending": 3 });
    let (status, _, accepted) = call(&app.router, json_call("/api/sync/override", &report("sgt1"), Some(&off1))).await;
    assert_eq!(status, StatusCode::OK, "{accepted}");
    // A name that supervises no one of off1's is recorded as a failed claim, and answered just
    // like a true one: the answer does not tell who supervises whom.
    let (status, _, text) = call(&app.router, json_call("/api/sync/override", &report("sgt2"), Some(&off1))).await;
    assert_eq!((status, text.as_str()), (StatusCode::OK, accepted.as_str()));
    // An override held through months of leave is still reported.
    let old =
        serde_json::json!({ "device_id": "phone-7", "supervisor": "sgt1", "at": at - 200 * 86_400, "pending": 3 });
    let (status, _, text) = call(&app.router, json_call("/api/sync/override", &old, Some(&off1))).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    // Only for the caller's own device, a sign-in name, a time of the last year, a real count.
    let forged = [
        (serde_json::json!({ "device_id": "phone-8", "supervisor": "sgt1", "at": at, "pending": 3 }), "device_id"),
        (serde_json::json!({ "device_id": "phone-unseen", "supervisor": "sgt1", "at": at, "pending": 3 }), "device_id"),
        (
            serde_json::json!({ "device_id": "phone-7", "supervisor": "<b>sgt1</b> approved", "at": at, "pending": 3 }),
            "supervisor",
        ),
        (
            serde_json::json!({ "device_id": "phone-7", "supervisor": "sgt1", "at": 4_102_444_800_i64, "pending": 3 }),
            "at",
        ),
        (serde_json::json!({ "device_id": "phone-7", "supervisor": "sgt1", "at": i64::MIN, "pending": 3 }), "at"),
        (serde_json::json!({ "device_id": "phone-7", "supervisor": "sgt1", "at": at, "pending": u32::MAX }), "pending"),
    ];
    for (body, field) in forged {
        let (status, _, text) = call(&app.router, json_call("/api/sync/override", &body, Some(&off1))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {text}");
        assert!(text.contains(&format!("\"field\":\"{field}\"")), "{body}: {text}");
    }
    let records = audit_of(&app, "sync_override").await;
    assert_eq!(records.len(), 3);
    let ok = records.iter().find(|r| r.target == "supervisor sgt1").expect("sgt1's override");
    assert_eq!((ok.actor.as_str(), ok.outcome.as_str()), ("off1", "success"));
    assert!(
        ok.detail.contains("sgt1 signed off1 out of device phone-7") && ok.detail.contains("3 unsynced"),
        "{}",
        ok.detail
    );
    let bad = records.iter().find(|r| r.target == "supervisor sgt2").expect("sgt2's claim");
    assert_eq!(bad.outcome, bodega::audit::Outcome::Failure);
    let (status, _, _) = call(&app.router, json_call("/api/sync/override", &report("sgt1"), None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
