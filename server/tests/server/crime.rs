//! The crime view through the API: its counts against the demo CSV, who gets incident points
//! (and that each read is on record), and bad filters.

use protocol::Role;

use super::auth::json_call;
use super::*;

async fn crime(app: &TestApp, cookie: &str, query: serde_json::Value) -> (StatusCode, serde_json::Value) {
    let (status, _, text) =
        call(&app.router, json_call("/api/crime", &serde_json::json!({ "query": query }), Some(cookie))).await;
    (status, serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)))
}

/// Property incidents in the demo's District 1 rectangle, 3–30 Nov 2020 local, from the CSV.
fn independent_d1_property() -> (u64, std::collections::BTreeMap<(i64, i64), u32>) {
    let lattice = hotspot::Lattice::new(hotspot::Epsg::utm(32610).expect("zone"), 150).expect("lattice");
    let mut rdr = csv::Reader::from_reader(bodega::demo::VANCOUVER_2020_CSV);
    let (mut n, mut cells) = (0, std::collections::BTreeMap::new());
    for rec in rdr.records() {
        let rec = rec.expect("row");
        let day = &rec[1][..10];
        let property = !matches!(
            &rec[2],
            "Homicide"
                | "Offence Against a Person"
                | "Vehicle Collision or Pedestrian Struck (with Injury)"
                | "Vehicle Collision or Pedestrian Struck (with Fatality)"
        );
        let (Ok(lat), Ok(lon)) = (rec[4].parse::<f64>(), rec[5].parse::<f64>()) else { continue };
        if !property || !("2020-11-03"..="2020-11-30").contains(&day) {
            continue;
        }
        if !(-123.2250..-123.1000).contains(&lon) || !(49.2500..49.3150).contains(&lat) {
            continue;
        }
        n += 1;
        let k = lattice.key_of(lon, lat).expect("key");
        *cells.entry((k.ix, k.iy)).or_insert(0) += 1;
    }
    (n, cells)
}

#[tokio::test]
async fn the_crime_view_counts_what_the_csv_holds_and_shows_points_only_to_those_allowed() {
    let app = test_app().await;
    add_user(&app, "ana", &[Role::Analyst], &[]).await;
    add_user(&app, "off1", &[Role::Officer], &["D1"]).await;
    add_user(&app, "sgt2", &[Role::Sergeant], &["D2"]).await;
    let (ana, off, sgt2) = (sign_in(&app, "ana").await, sign_in(&app, "off1").await, sign_in(&app, "sgt2").await);
    let q = serde_json::json!({ "end": "2020-11-30", "days": 28, "category": "property", "district": "D1" });
    let (status, v) = crime(&app, &ana, q.clone()).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let (n, cells) = independent_d1_property();
    assert_eq!(v["mapped"].as_u64(), Some(n));
    assert_eq!((v["from_day"].as_str(), v["to_day"].as_str()), (Some("2020-11-03"), Some("2020-11-30")));
    let got: std::collections::BTreeMap<(i64, i64), u32> = v["cells"]
        .as_array()
        .expect("cells")
        .iter()
        .filter(|c| c["count"].as_u64() > Some(0))
        .map(|c| {
            ((c["ix"].as_i64().expect("ix"), c["iy"].as_i64().expect("iy")), c["count"].as_u64().expect("n") as u32)
        })
        .collect();
    assert_eq!(got, cells);
    // Gi* finds hot places, and they are where the incidents are.
    let hot: Vec<&serde_json::Value> =
        v["cells"].as_array().expect("c").iter().filter(|c| c["class"].as_i64() > Some(0)).collect();
    assert!(!hot.is_empty());
    assert_eq!(v["points"].as_array().expect("analysts see points").len() as u64, n);

    // An officer sees the same cells but no incident points.
    let (status, o) = crime(&app, &off, q.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(o["cells"], v["cells"]);
    assert!(o["points"].is_null() && o["points_note"].as_str().is_some_and(|s| s.contains("cells only")));
    // D2's sergeant: points in D2, not in D1.
    let (_, in_d1) = crime(&app, &sgt2, q.clone()).await;
    assert!(in_d1["points"].is_null());
    let (_, in_d2) = crime(&app, &sgt2, serde_json::json!({ "end": "2020-11-30", "district": "D2" })).await;
    assert!(in_d2["points"].as_array().is_some_and(|p| !p.is_empty()));
    // Every read of incident points is on record; the officer's cells-only view is not one.
    let reads = app
        .store
        .bodega
        .search_audit(&bodega::audit::AuditQuery { action: Some("view_incidents".into()), ..Default::default() })
        .await
        .expect("audit");
    let actors: Vec<&str> = reads.iter().map(|r| r.actor.as_str()).collect();
    assert_eq!(actors.len(), 2, "{actors:?}");
    assert!(actors.contains(&"ana") && actors.contains(&"sgt2"));

    // The composition of the busiest cell adds up to its count; the trend has 12 weeks.
    let (&(ix, iy), &count) = cells.iter().max_by_key(|(k, n)| (**n, std::cmp::Reverse(**k))).expect("a cell");
    let (status, _, text) = call(
        &app.router,
        json_call("/api/crime/cell", &serde_json::json!({ "query": q, "ix": ix, "iy": iy }), Some(&ana)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let comp: serde_json::Value = serde_json::from_str(&text).expect("json");
    let parts: u64 = comp["parts"].as_array().expect("parts").iter().map(|p| p["count"].as_u64().expect("n")).sum();
    assert_eq!(parts, u64::from(count));
    assert_eq!(comp["weekly"].as_array().expect("weekly").len(), 12);
}

#[tokio::test]
async fn bad_crime_view_filters_name_the_field() {
    let app = test_app().await;
    add_user(&app, "ana", &[Role::Analyst], &[]).await;
    let ana = sign_in(&app, "ana").await;
    for (query, field) in [
        (serde_json::json!({ "days": 0 }), "days"),
        (serde_json::json!({ "days": 400 }), "days"),
        (serde_json::json!({ "end": "30/11/2020" }), "end"),
        (serde_json::json!({ "category": "arson" }), "category"),
        (serde_json::json!({ "district": "D9" }), "district"),
        (serde_json::json!({ "shift": "Z" }), "shift"),
    ] {
        let (status, body) = crime(&app, &ana, query.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {body}");
        assert!(body.to_string().contains(field), "{query}: {body}");
    }
}

#[tokio::test]
async fn the_accuracy_scoreboard_matches_a_hand_count_of_the_naive_baseline() {
    let app = test_app().await;
    on_count_table(&app).await;
    add_user(&app, "ana", &[Role::Analyst], &[]).await;
    let ana = sign_in(&app, "ana").await;
    let (status, _, text) = call(
        &app.router,
        json_call("/api/accuracy", &serde_json::json!({ "end": "2020-12-31", "periods": 2 }), Some(&ana)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let board: serde_json::Value = serde_json::from_str(&text).expect("json");
    let areas = board["areas"].as_array().expect("areas");
    assert_eq!(areas.len(), 5, "the city and four districts");
    let city = &areas[0];
    assert_eq!(city["code"], "city");
    let latest = &city["periods"][0];
    assert_eq!((latest["from"].as_str(), latest["to"].as_str()), (Some("2020-12-04"), Some("2020-12-31")));

    // By hand: 150 m cells in the districts' box; train = the 28 days before 4 Dec, test = 4–31 Dec.
    let tz = jiff::tz::TimeZone::get("America/Vancouver").expect("tz");
    let at =
        |d: &str| d.parse::<jiff::civil::Date>().expect("d").to_zoned(tz.clone()).expect("z").timestamp().as_second();
    let (train_from, test_from, test_to) = (at("2020-11-06"), at("2020-12-04"), at("2021-01-01"));
    // The year's window: 365 days of seconds back from the period's start (all of 2020 before it).
    let year_from = test_from - 365 * 86_400;
    let mut year: std::collections::BTreeMap<(i64, i64), f64> = Default::default();
    let mut train: std::collections::BTreeMap<(i64, i64), f64> = Default::default();
    let mut test: std::collections::BTreeMap<(i64, i64), f64> = Default::default();
    for (ix, iy, t) in demo_located_incidents() {
        if (year_from..test_from).contains(&t) {
            *year.entry((ix, iy)).or_default() += 1.0;
        }
        if (train_from..test_from).contains(&t) {
            *train.entry((ix, iy)).or_default() += 1.0;
        } else if (test_from..test_to).contains(&t) {
            *test.entry((ix, iy)).or_default() += 1.0;
        }
    }
    let cells = city["cells"].as_u64().expect("cells") as usize;
    let k = ((0.05 * cells as f64).round() as usize).max(1);
    let total: f64 = test.values().sum();
    // Rank by a training count; ties by lower cell id (south to north, then west to east).
    let caught_by = |counts: &std::collections::BTreeMap<(i64, i64), f64>| -> f64 {
        let mut ranked: Vec<((i64, i64), f64)> = counts.iter().map(|(c, n)| (*c, *n)).collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then((a.0 .1, a.0 .0).cmp(&(b.0 .1, b.0 .0))));
        assert!(ranked.len() >= k, "enough cells with history to fill the top 5 %");
        ranked[..k].iter().map(|(c, _)| test.get(c).copied().unwrap_or(0.0)).sum()
    };
    for (method, counts) in [("naive", &train), ("year", &year)] {
        let caught = caught_by(counts);
        let m = latest["methods"].as_array().expect("m").iter().find(|m| m["method"] == method).expect(method);
        let five = m["at"].as_array().expect("at").iter().find(|a| a["percent"] == 5.0).expect("5%");
        let hit = five["hit_rate"].as_f64().expect("hit rate");
        assert!((hit - caught / total).abs() < 1e-9, "{method}: hit rate {hit} vs {caught}/{total}");
        assert!((five["pai"].as_f64().expect("pai") - (caught / total) / (k as f64 / cells as f64)).abs() < 1e-9);
    }
    assert!(caught_by(&year) != caught_by(&train), "the year's ranking is not the 28 days'");
    assert_eq!(latest["harm"].as_f64(), Some(total));
    // Bad input names the field.
    let (status, _, body) =
        call(&app.router, json_call("/api/accuracy", &serde_json::json!({ "periods": 0 }), Some(&ana))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("periods"), "{body}");
}
