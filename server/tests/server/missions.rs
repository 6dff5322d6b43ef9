//! Missions through the API: recommendations from the real Vancouver data, issuing, the
//! sergeant's acknowledgement and assignment, the officer's work, and bad input.

use std::collections::BTreeMap;

use protocol::Role;

use super::auth::json_call;
use super::*;

/// Shift B (14:00–22:00) of District 1 on 15 December 2020.
fn d1_shift() -> serde_json::Value {
    serde_json::json!({ "district": "D1", "shift": "B", "shift_date": "2020-12-15" })
}

/// Incidents per 150 m cell of District 1 in the 28 days before 15 Dec 2020 14:00 local time,
/// counted straight from the demo CSV — not through the Data Bodega or the server.
fn independent_d1_counts() -> BTreeMap<(i64, i64), BTreeMap<String, u32>> {
    independent_d1_counts_over(28)
}

/// [`independent_d1_counts`] over the `days` before the shift.
fn independent_d1_counts_over(days: i64) -> BTreeMap<(i64, i64), BTreeMap<String, u32>> {
    let tz = jiff::tz::TimeZone::get("America/Vancouver").expect("tz");
    let end = jiff::civil::datetime(2020, 12, 15, 14, 0, 0, 0).to_zoned(tz.clone()).expect("end").timestamp();
    let start = end - jiff::SignedDuration::from_hours(days * 24);
    let lattice = hotspot::Lattice::new(hotspot::Epsg::utm(32610).expect("zone"), 150).expect("lattice");
    let mut rdr = csv::Reader::from_reader(bodega::demo::VANCOUVER_2020_CSV);
    let mut cells: BTreeMap<(i64, i64), BTreeMap<String, u32>> = BTreeMap::new();
    for rec in rdr.records() {
        let rec = rec.expect("row");
        let (Ok(lat), Ok(lon)) = (rec[4].parse::<f64>(), rec[5].parse::<f64>()) else { continue };
        // District 1 of the demo: the rectangle west of -123.10 and north of 49.25.
        if !(-123.2250..=-123.1000).contains(&lon) || !(49.2500..=49.3150).contains(&lat) {
            continue;
        }
        let Ok(local) = rec[1].parse::<jiff::civil::DateTime>() else { continue };
        let Ok(t) = local.to_zoned(tz.clone()).map(|z| z.timestamp()) else { continue };
        if t < start || t >= end {
            continue;
        }
        let key = lattice.key_of(lon, lat).expect("in zone");
        *cells.entry((key.ix, key.iy)).or_default().entry(rec[2].to_string()).or_default() += 1;
    }
    cells
}

#[tokio::test]
async fn the_backtest_chooses_each_districts_ranking_and_the_plan_ranks_by_it() {
    let app = test_app().await;
    // Count weights: harm is the incident count, so the ranking can be checked against a hand
    // count straight from the CSV.
    on_count_table(&app).await;
    add_user(&app, "cmd", &[Role::Command], &[]).await;
    add_user(&app, "ana", &[Role::Analyst], &[]).await;
    let cmd = sign_in(&app, "cmd").await;
    let ana = sign_in(&app, "ana").await;

    // Before any backtest: harm over 28 days, and the plan says why.
    let (_, rec) = call_json(&app, "/api/missions/recommend", serde_json::json!({ "shift": d1_shift() }), &cmd).await;
    assert_eq!(rec["ranked_by"], "harm over 28 days", "{rec}");
    assert!(rec["ranked_why"].as_str().expect("why").contains("no backtest"), "{}", rec["ranked_why"]);
    let (_, board) = call_json(&app, "/api/accuracy", serde_json::json!({ "periods": 1 }), &cmd).await;
    assert!(board["choice"].is_null(), "{}", board["choice"]);

    // Which ranking plans the shifts is command's to re-run, not an analyst's.
    let (status, body) = call_json(&app, "/api/accuracy/backtest", serde_json::json!({}), &ana).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, choice) = call_json(&app, "/api/accuracy/backtest", serde_json::json!({}), &cmd).await;
    assert_eq!(status, StatusCode::OK, "{choice}");
    assert_eq!(choice["data_through"], "2020-12-31");
    assert_eq!((choice["origins"].as_u64(), choice["horizon_hours"].as_u64()), (Some(90), Some(8)));
    let areas = choice["areas"].as_array().expect("areas");
    let codes: Vec<&str> = areas.iter().map(|a| a["code"].as_str().expect("code")).collect();
    assert_eq!(codes, ["city", "D1", "D2", "D3", "D4"]);
    for a in areas {
        // Every method scored, each with its interval; the chosen one is among them.
        let methods = a["methods"].as_array().expect("methods");
        assert_eq!(methods.len(), 8, "three counts, three harms, decayed, KDE: {a}");
        for m in methods {
            let pei = &m["pei"];
            let (low, mean, high) = (
                pei["low"].as_f64().expect("low"),
                pei["mean"].as_f64().expect("mean"),
                pei["high"].as_f64().expect("high"),
            );
            assert!(low <= mean && mean <= high && (0.0..=1.0).contains(&mean), "{m}");
        }
        // At the department's coverage: 20 places of the area's cells.
        let cells = a["cells"].as_f64().expect("cells");
        assert!((a["coverage_percent"].as_f64().expect("coverage") - 2000.0 / cells).abs() < 1e-9, "{a}");
    }
    let d1 = &areas[1];
    // With no gain confirmed, the strongest trailing count ranks; on the demo, as on Chicago's and
    // Vancouver's records (docs/FORECAST.md), that is never the 28-day window.
    assert_eq!(d1["method"]["kind"], "count", "{d1}");
    assert!(d1["gain"].is_null(), "{d1}");
    let days = d1["method"]["days"].as_i64().expect("days");
    assert!(days == 90 || days == 365, "{d1}");
    assert!(d1["reason"].as_str().expect("reason").starts_with(&format!("count {days} days: ")), "{d1}");
    let audit = audit_of(&app, "change_config").await;
    let entry = audit.iter().find(|e| e.target == "ranking backtest").expect("audited");
    assert_eq!(entry.actor, "cmd");
    assert!(entry.detail.contains(&format!("D1: count {days} days")), "{}", entry.detail);

    // The plan now ranks District 1 by the chosen count, over the chosen window, and says why.
    let (status, rec) =
        call_json(&app, "/api/missions/recommend", serde_json::json!({ "shift": d1_shift() }), &cmd).await;
    assert_eq!(status, StatusCode::OK, "{rec}");
    assert_eq!(rec["ranked_by"], format!("the incident count over {days} days"));
    assert!(
        rec["ranked_why"].as_str().expect("why").contains("90 shifts of 8 h to 2020-12-31"),
        "{}",
        rec["ranked_why"]
    );
    let from = jiff::civil::date(2020, 12, 15).checked_sub(jiff::Span::new().days(days)).expect("from");
    assert_eq!(rec["window_from"], from.to_string());
    let expected = independent_d1_counts_over(days);
    let total = |by: &BTreeMap<String, u32>| by.values().sum::<u32>();
    let mut counts: Vec<u32> = expected.values().map(total).collect();
    counts.sort_unstable_by(|a, b| b.cmp(a));
    let proposals = rec["proposals"].as_array().expect("proposals");
    let proposed: Vec<u32> = proposals.iter().map(|p| p["incidents"].as_u64().expect("n") as u32).collect();
    assert_eq!(proposed, counts[..20], "the twenty busiest cells over {days} days, in order");
    for p in proposals {
        let (ix, iy) = (p["place"]["ix"].as_i64().expect("ix"), p["place"]["iy"].as_i64().expect("iy"));
        assert_eq!(total(&expected[&(ix, iy)]), p["incidents"].as_u64().expect("n") as u32, "cell {ix}/{iy}");
    }
    let reason = proposals[0]["reason"].as_str().expect("reason");
    assert!(reason.starts_with("#1 by incidents in District 1"), "{reason}");
    assert!(reason.contains(&format!(" in the {days} days to 2020-12-15;")), "{reason}");
    // The scoreboard shows the same decision.
    let (_, board) = call_json(&app, "/api/accuracy", serde_json::json!({ "periods": 1 }), &cmd).await;
    assert_eq!(board["choice"]["areas"][1], *d1);
    assert!(!rec["ranked_why"].as_str().expect("why").contains("changed since"), "{}", rec["ranked_why"]);

    // A District 1 officer's device gets the district's forecast for the next 12 hours by the
    // same method: intensities per cell, nothing else (no incident's time).
    add_user(&app, "off", &[Role::Officer], &["D1"]).await;
    let off = sign_in(&app, "off").await;
    let (status, cache) = call_json(&app, "/api/field_cache", serde_json::json!({}), &off).await;
    assert_eq!(status, StatusCode::OK, "{cache}");
    let forecasts = cache["forecasts"].as_array().expect("forecasts");
    assert_eq!(forecasts.len(), 1, "{forecasts:?}");
    let f = &forecasts[0];
    assert_eq!(
        (f["district"].as_str(), f["method"].as_str()),
        (Some("D1"), Some(format!("the incident count over {days} days").as_str()))
    );
    let keys: Vec<&String> = f.as_object().expect("object").keys().collect();
    assert_eq!(keys, ["cells", "district", "epsg", "from", "method", "why"]);
    let cells = f["cells"].as_array().expect("cells");
    assert!(cells.len() > 100, "{}", cells.len());
    // Count weights: each cell's expected harm in 12 hours is its count over the window at the
    // window's daily rate, times half a day, so times 2 × days it is a whole count.
    // Counted here from the CSV over the year before the data's end, every district's incidents
    // in the cell (the forecast is the city's, as the backtest scored it): each cell's value at
    // three significant figures.
    let last = app.store.bodega.city_summary().await.expect("summary").last_at.expect("data");
    let by_hand = independent_city_counts(last + 1 - days * 86_400, last + 1);
    for c in cells {
        let (ix, iy) = (c[0].as_i64().expect("ix"), c[1].as_i64().expect("iy"));
        let expected = f64::from(by_hand.get(&(ix, iy)).copied().unwrap_or(0)) * 0.5 / days as f64;
        let got = c[2].as_f64().expect("expected");
        assert!((got - expected).abs() <= 0.005 * expected, "cell {ix}/{iy}: {got} vs {expected}");
    }
    // The busiest of District 1's cells (their centres in its rectangle) is the forecast's top.
    let lattice = hotspot::Lattice::new(hotspot::Epsg::utm(32610).expect("zone"), 150).expect("lattice");
    let in_d1 = |ix: i64, iy: i64| {
        let b =
            lattice.bounds(hotspot::CellKey { epsg: hotspot::Epsg::utm(32610).expect("zone"), size_m: 150, ix, iy });
        let (lon, lat) = lattice.utm().inverse((b.min().x + b.max().x) / 2.0, (b.min().y + b.max().y) / 2.0);
        (-123.2250..=-123.1000).contains(&lon) && (49.2500..=49.3150).contains(&lat)
    };
    let busiest = by_hand.iter().filter(|(k, _)| in_d1(k.0, k.1)).map(|(_, n)| *n).max().expect("D1 cells");
    let top = cells.iter().map(|c| c[2].as_f64().expect("e")).fold(0.0, f64::max);
    assert!((top - f64::from(busiest) * 0.5 / days as f64).abs() < 1e-9 + 0.005 * top, "{top} vs {busiest}");

    // Command weighs violence double: the choice was scored on other weights, and the plan says
    // so until the backtest runs again.
    let (_, now) = call_json(&app, "/api/setup/rules", serde_json::json!({}), &cmd).await;
    let mut rules = now["current"]["rules"].clone();
    rules["violent_weight_pct"] = 200.into();
    let body = serde_json::json!({ "expected_version": now["current"]["version"], "rules": rules });
    let (status, saved) = call_json(&app, "/api/setup/rules_save", body, &cmd).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let (_, rec) = call_json(&app, "/api/missions/recommend", serde_json::json!({ "shift": d1_shift() }), &cmd).await;
    let why = rec["ranked_why"].as_str().expect("why");
    assert!(
        why.contains("The weights changed since it was chosen (count@1 with violent ×1, property ×1, quality of life ×1; now count@1 with violent ×2, property ×1, quality of life ×1)"),
        "{why}"
    );
}

/// Located incidents per 150 m cell of the demo city in `[start, end)` (UTC seconds), counted
/// straight from the CSV ([`demo_located_incidents`]).
fn independent_city_counts(start: i64, end: i64) -> BTreeMap<(i64, i64), u32> {
    let mut cells: BTreeMap<(i64, i64), u32> = BTreeMap::new();
    for (ix, iy, _) in demo_located_incidents().into_iter().filter(|(_, _, t)| (start..end).contains(t)) {
        *cells.entry((ix, iy)).or_default() += 1;
    }
    cells
}

#[tokio::test]
async fn recommendations_rank_district_places_by_harm_from_the_real_data() {
    let app = test_app().await;
    on_count_table(&app).await;
    add_user(&app, "cmd", &[Role::Command], &[]).await;
    let cmd = sign_in(&app, "cmd").await;
    let (status, rec) =
        call_json(&app, "/api/missions/recommend", serde_json::json!({ "shift": d1_shift() }), &cmd).await;
    assert_eq!(status, StatusCode::OK, "{rec}");
    assert_eq!(rec["window_from"], "2020-11-17");
    assert_eq!(rec["window_to"], "2020-12-15");
    assert_eq!(rec["window_moved_to_data"], false);
    let proposals = rec["proposals"].as_array().expect("proposals");
    assert_eq!(proposals.len(), 20, "the top 20 places of the district");

    // Why the top proposal is right: no other cell of District 1 had as many incidents in the
    // 28 days before the shift (count weights: harm = incidents), counted independently here.
    let expected = independent_d1_counts();
    let total = |by: &BTreeMap<String, u32>| by.values().sum::<u32>();
    let best = expected.values().map(total).max().expect("incidents in D1");
    let top = &proposals[0];
    assert_eq!(top["rank"], 1);
    assert_eq!(top["incidents"].as_u64(), Some(u64::from(best)));
    let (ix, iy) = (top["place"]["ix"].as_i64().expect("ix"), top["place"]["iy"].as_i64().expect("iy"));
    let by = &expected[&(ix, iy)];
    assert_eq!(total(by), best, "the proposed cell is the one with the most incidents");
    // Its reason names what happened there, with the counts.
    let reason = top["reason"].as_str().expect("reason");
    assert!(reason.starts_with("#1 by harm in District 1"), "{reason}");
    for (offense, n) in by {
        let o = offense.to_lowercase();
        let phrase = if *n == 1 { format!("1 {o}") } else { format!("{n} × {o}") };
        assert!(reason.contains(&phrase), "'{phrase}' missing from: {reason}");
    }
    assert!(reason.contains("no visit on record"), "{reason}");
    // When its harm happens: of its incidents in the 90 days before the shift, those between
    // 14:00 and 22:00 local (shift B's hours), counted here from the CSV's local times.
    let (all, in_hours) = independent_shift_hours(ix, iy);
    assert!(in_hours > 0 && in_hours < all, "a telling example: {in_hours} of {all}");
    assert_eq!((top["recent_incidents"].as_u64(), top["in_shift_hours"].as_u64()), (Some(all), Some(in_hours)));
    assert!(
        reason.ends_with(&format!(
            " {all} incidents in 90 days, {in_hours} of them between 14:00 and 22:00 (this shift's hours)."
        )),
        "{reason}"
    );
    // Proposals come in rank order, by harm.
    let harms: Vec<f64> = proposals.iter().map(|p| p["harm"].as_f64().expect("harm")).collect();
    assert!(harms.windows(2).all(|w| w[0] >= w[1]), "{harms:?}");
    let mut counts: Vec<u32> = expected.values().map(total).collect();
    counts.sort_unstable_by(|a, b| b.cmp(a));
    let proposed: Vec<u32> = proposals.iter().map(|p| p["incidents"].as_u64().expect("n") as u32).collect();
    assert_eq!(proposed, counts[..20], "the twenty busiest cells, in order");
    // Each place is named by the block most of its incidents (of all time) give, counted here
    // from the demo CSV's address column; a cell without one by its district and grid.
    let blocks = independent_blocks();
    for p in proposals {
        let (ix, iy) = (p["place"]["ix"].as_i64().expect("ix"), p["place"]["iy"].as_i64().expect("iy"));
        let label = p["place_label"].as_str().expect("label");
        match blocks.get(&(ix, iy)) {
            Some(block) => assert!(label.to_uppercase().starts_with(&format!("{block} (")), "{label} vs {block}"),
            None => assert_eq!(label, format!("D1 grid {ix}/{iy}")),
        }
    }
    assert_eq!(proposals[0]["place_label"], "7XX Granville St (Central Business District)");
    // Each proposal's template is the most specific one listing the place's dominant harm
    // track, and says so.
    let templates = rec["templates"].as_array().expect("templates");
    let mut seen = std::collections::BTreeSet::new();
    for p in proposals {
        let t = templates.iter().find(|t| t["id"] == p["template_id"]).expect("a menu template");
        let note = p["template_note"].as_str().expect("note");
        let track = note
            .strip_prefix(&format!("{} suits ", t["name"].as_str().expect("name")))
            .and_then(|r| r.strip_suffix(" harm, the most here."))
            .unwrap_or_else(|| panic!("{note}"))
            .replace(' ', "_");
        let lists = |t: &serde_json::Value| t["crime_types"].as_array().expect("types").iter().any(|c| c == &track);
        assert!(lists(t), "{note}");
        let fewest =
            templates.iter().filter(|t| lists(t)).map(|t| t["crime_types"].as_array().map_or(0, Vec::len)).min();
        assert_eq!(Some(t["crime_types"].as_array().map_or(0, Vec::len)), fewest, "{note}");
        seen.insert(t["name"].as_str().expect("name").to_string());
    }
    // Downtown's top place is property harm by a hand count of the CSV (thefts and break-ins
    // are most of its incidents; every offence weighs 1 without a harm table): a Business check.
    let property: u32 =
        by.iter().filter(|(o, _)| o.contains("Theft") || o.starts_with("Break and Enter")).map(|(_, n)| *n).sum();
    assert!(2 * property > total(by), "{by:?}");
    assert_eq!(top["template_note"], "Business check suits property harm, the most here.");
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), ["Business check"], "all twenty are property places");
}

#[tokio::test]
async fn commands_track_weights_rank_the_places_and_the_plan_names_them() {
    let app = test_app().await;
    on_count_table(&app).await;
    add_user(&app, "cmd", &[Role::Command], &[]).await;
    let cmd = sign_in(&app, "cmd").await;
    // Command weighs quality-of-life harm (in Vancouver's located data: traffic collisions)
    // five times as heavy; property stays as the table says.
    let (status, now) = call_json(&app, "/api/setup/rules", serde_json::json!({}), &cmd).await;
    assert_eq!(status, StatusCode::OK, "{now}");
    let mut rules = now["current"]["rules"].clone();
    rules["quality_of_life_weight_pct"] = 500.into();
    let body = serde_json::json!({ "expected_version": now["current"]["version"], "rules": rules });
    let (status, saved) = call_json(&app, "/api/setup/rules_save", body, &cmd).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let (status, rec) =
        call_json(&app, "/api/missions/recommend", serde_json::json!({ "shift": d1_shift() }), &cmd).await;
    assert_eq!(status, StatusCode::OK, "{rec}");
    assert_eq!(rec["track_weights"], "violent ×1, property ×1, quality of life ×5");
    // By hand: each cell's incidents in the window, a collision counting 5 and anything else 1
    // (no harm table: every offence weighs 1 before the track weight).
    let weigh = |offense: &str| if offense.starts_with("Vehicle Collision") { 5.0 } else { 1.0 };
    let mut expected: Vec<f64> = independent_d1_counts()
        .values()
        .map(|by| by.iter().map(|(o, n)| weigh(o) * f64::from(*n)).sum::<f64>())
        .collect();
    expected.sort_by(|a, b| b.total_cmp(a));
    let proposed: Vec<f64> =
        rec["proposals"].as_array().expect("proposals").iter().map(|p| p["harm"].as_f64().expect("harm")).collect();
    assert_eq!(proposed, expected[..20], "the twenty heaviest cells under command's weights, in order");
    // Place by place: the harm is the incidents plus four more for each collision there, and
    // some proposed places have collisions (a telling example).
    let counts = independent_d1_counts();
    let mut weighed = 0;
    for p in rec["proposals"].as_array().expect("proposals") {
        let cell = (p["place"]["ix"].as_i64().expect("ix"), p["place"]["iy"].as_i64().expect("iy"));
        let collisions: u32 =
            counts[&cell].iter().filter(|(o, _)| o.starts_with("Vehicle Collision")).map(|(_, n)| *n).sum();
        let incidents = p["incidents"].as_f64().expect("incidents");
        assert_eq!(p["harm"].as_f64(), Some(incidents + 4.0 * f64::from(collisions)), "{p}");
        weighed += collisions;
    }
    assert!(weighed > 0, "collisions among the proposed places");
    // A weight out of range is refused with its field, and nothing changes.
    let mut bad = saved["rules"].clone();
    bad["property_weight_pct"] = 900.into();
    let body = serde_json::json!({ "expected_version": saved["version"], "rules": bad });
    let (status, err) = call_json(&app, "/api/setup/rules_save", body, &cmd).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert!(err.to_string().contains("property_weight_pct"), "{err}");
    let (_, after) = call_json(&app, "/api/setup/rules", serde_json::json!({}), &cmd).await;
    assert_eq!(after["current"]["version"], saved["version"]);
}

#[tokio::test]
async fn calls_rank_only_when_command_turns_the_track_on_and_a_call_that_became_an_incident_counts_once() {
    let app = test_app().await;
    on_count_table(&app).await;
    add_user(&app, "cmd", &[Role::Command], &[]).await;
    add_user(&app, "ana", &[Role::Analyst], &[]).await;
    let (cmd, ana) = (sign_in(&app, "cmd").await, sign_in(&app, "ana").await);
    let recommend = || async {
        let (status, rec) =
            call_json(&app, "/api/missions/recommend", serde_json::json!({ "shift": d1_shift() }), &cmd).await;
        assert_eq!(status, StatusCode::OK, "{rec}");
        rec
    };
    let before = recommend().await;
    let last = before["proposals"][19].clone();
    let (lat, lon) = (last["place"]["lat"].as_f64().expect("lat"), last["place"]["lon"].as_f64().expect("lon"));
    let (top_harm, last_harm) =
        (before["proposals"][0]["harm"].as_f64().expect("top"), last["harm"].as_f64().expect("harm"));
    // Dispatch at the twentieth place, five days before the shift: ten disturbances that became
    // no report, and one that became report BB-1 (loaded, located there: the report counts it).
    let mut calls = String::from("call_id,call_type,priority,received_at,lat,lon,incident_id\n");
    for k in 0..10 {
        calls += &format!("C{k},DISTURBANCE,2,2020-12-10T12:{k:02}:00,{lat},{lon},\n");
    }
    calls += &format!("C-linked,DISTURBANCE,2,2020-12-10T13:00:00,{lat},{lon},BB-1\n");
    let b = &app.store.bodega;
    let o = bodega::IngestOptions {
        source: "cad".into(),
        file_name: "cad.csv".into(),
        time_zone: "America/Vancouver".into(),
        dry_run: false,
        mapping: None,
    };
    bodega::calls::ingest_calls_csv(b, calls.as_bytes(), &o).await.expect("calls");
    let report = format!("id,occurred_at,offense,category,lat,lon\nBB-1,2020-12-10T13:05:00,Mischief,,{lat},{lon}\n");
    bodega::ingest::ingest_incidents_csv(b, report.as_bytes(), &bodega::IngestOptions { source: "rms".into(), ..o })
        .await
        .expect("report");
    // Off by default: the calls change nothing; the report is one more incident at its place.
    let off = recommend().await;
    assert_eq!(off["track_weights"], "violent ×1, property ×1, quality of life ×1");
    let find = |rec: &serde_json::Value| {
        rec["proposals"].as_array().expect("proposals").iter().find(|p| p["place"] == last["place"]).cloned()
    };
    assert_eq!(find(&off).map(|p| p["harm"].as_f64()), Some(Some(last_harm + 1.0)), "{off}");
    // Turning the track on with no call weights is refused, naming what to do.
    let (status, now) = call_json(&app, "/api/setup/rules", serde_json::json!({}), &cmd).await;
    assert_eq!(status, StatusCode::OK, "{now}");
    let mut rules = now["current"]["rules"].clone();
    assert_eq!(rules["calls_weight_pct"], 0, "off until command turns it on");
    rules["calls_weight_pct"] = 100.into();
    let body = serde_json::json!({ "expected_version": now["current"]["version"], "rules": rules });
    let (status, err) = call_json(&app, "/api/setup/rules_save", body.clone(), &cmd).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert!(err.to_string().contains("calls_weight_pct") && err.to_string().contains("Call weights"), "{err}");
    // The analyst loads the department's call weights (a bad file is refused by line and field).
    let up = |csv: &'static str| {
        with_cookie(
            axum::http::Request::post("/api/ingest/call-weights?file_name=calls.csv")
                .body(axum::body::Body::from(csv))
                .expect("request"),
            &ana,
        )
    };
    let (status, _, body_text) = call(&app.router, up("call_type,priority,weight\ndisturbance,,x\n")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body_text}");
    assert!(body_text.contains("line 2, weight"), "{body_text}");
    let (status, _, body_text) = call(&app.router, up("call_type,priority,weight\ndisturbance,2,3\n")).await;
    assert_eq!(status, StatusCode::OK, "{body_text}");
    assert!(body_text.contains("the calls track is off"), "{body_text}");
    let (status, saved) = call_json(&app, "/api/setup/rules_save", body, &cmd).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    // On: the ten calls weigh 3 each; the call that became BB-1 is not counted again.
    let on = recommend().await;
    assert_eq!(on["track_weights"], "violent ×1, property ×1, quality of life ×1, calls for service ×1");
    let place = find(&on).expect("still proposed");
    assert_eq!(place["harm"].as_f64(), Some(last_harm + 1.0 + 30.0), "{place}");
    assert!(last_harm + 31.0 > top_harm, "a telling example: the calls lift it to first");
    assert_eq!(place["rank"], 1, "{on}");
    assert!(place["reason"].as_str().expect("reason").contains("10 × call for service: disturbance"), "{place}");
    assert_eq!(place["incidents"], last["incidents"].as_u64().expect("incidents") + 1, "calls are not incidents");
}

/// A D1 cell's incidents in the 90 days before 15 Dec 2020 14:00 local time, and how many of
/// them happened between 14:00 and 22:00 local — from the CSV's own local times, no time zone
/// arithmetic but the window's edge.
fn independent_shift_hours(ix: i64, iy: i64) -> (u64, u64) {
    let tz = jiff::tz::TimeZone::get("America/Vancouver").expect("tz");
    let end = jiff::civil::datetime(2020, 12, 15, 14, 0, 0, 0).to_zoned(tz.clone()).expect("end").timestamp();
    let start = end - jiff::SignedDuration::from_hours(90 * 24);
    let lattice = hotspot::Lattice::new(hotspot::Epsg::utm(32610).expect("zone"), 150).expect("lattice");
    let (mut all, mut in_hours) = (0, 0);
    for rec in csv::Reader::from_reader(bodega::demo::VANCOUVER_2020_CSV).records() {
        let rec = rec.expect("row");
        let (Ok(lat), Ok(lon)) = (rec[4].parse::<f64>(), rec[5].parse::<f64>()) else { continue };
        if !(-123.2250..=-123.1000).contains(&lon) || !(49.2500..=49.3150).contains(&lat) {
            continue;
        }
        let key = lattice.key_of(lon, lat).expect("in zone");
        let Ok(local) = rec[1].parse::<jiff::civil::DateTime>() else { continue };
        let Ok(t) = local.to_zoned(tz.clone()).map(|z| z.timestamp()) else { continue };
        if (key.ix, key.iy) != (ix, iy) || t < start || t >= end {
            continue;
        }
        all += 1;
        if (14..22).contains(&local.hour()) {
            in_hours += 1;
        }
    }
    (all, in_hours)
}

/// Each 150 m cell's most frequent block in the demo CSV (placeholders skipped; ties to the
/// block that sorts first), counted without the Data Bodega.
fn independent_blocks() -> BTreeMap<(i64, i64), String> {
    let lattice = hotspot::Lattice::new(hotspot::Epsg::utm(32610).expect("zone"), 150).expect("lattice");
    let mut rdr = csv::Reader::from_reader(bodega::demo::VANCOUVER_2020_CSV);
    let mut by: BTreeMap<(i64, i64), BTreeMap<String, u32>> = BTreeMap::new();
    for rec in rdr.records() {
        let rec = rec.expect("row");
        let (Ok(lat), Ok(lon)) = (rec[4].parse::<f64>(), rec[5].parse::<f64>()) else { continue };
        let block = rec[6].split_whitespace().collect::<Vec<_>>().join(" ");
        if block.is_empty() || block == "X NK_LOC ST" || block == "OFFSET TO PROTECT PRIVACY" {
            continue;
        }
        let key = lattice.key_of(lon, lat).expect("in zone");
        *by.entry((key.ix, key.iy)).or_default().entry(block).or_default() += 1;
    }
    by.into_iter()
        .filter_map(|(k, blocks)| {
            // BTreeMap order: the first of the most frequent wins a tie.
            let most = blocks.values().copied().max()?;
            blocks.into_iter().find(|(_, n)| *n == most).map(|(b, _)| (k, b))
        })
        .collect()
}

#[tokio::test]
async fn a_shift_is_issued_acknowledged_assigned_worked_and_reviewed_through_the_api() {
    let app = test_app().await;
    add_user(&app, "cmd", &[Role::Command], &[]).await;
    add_user(&app, "sgt1", &[Role::Sergeant], &["D1"]).await;
    add_user(&app, "sgt2", &[Role::Sergeant], &["D2"]).await;
    let off_id = add_user(&app, "off1", &[Role::Officer], &["D1"]).await;
    let off2_id = add_user(&app, "off2", &[Role::Officer], &["D2"]).await;
    let (cmd, sgt, sgt2, off) = (
        sign_in(&app, "cmd").await,
        sign_in(&app, "sgt1").await,
        sign_in(&app, "sgt2").await,
        sign_in(&app, "off1").await,
    );

    let (_, rec) = call_json(&app, "/api/missions/recommend", serde_json::json!({ "shift": d1_shift() }), &cmd).await;
    // Koper visits (whatever template each place's harm suggests): the officer answers its fields.
    let koper = rec["templates"]
        .as_array()
        .expect("templates")
        .iter()
        .find(|t| t["tactic"] == "directed_patrol")
        .expect("koper")["id"]
        .clone();
    let items: Vec<serde_json::Value> = rec["proposals"].as_array().expect("proposals")[..3]
        .iter()
        .enumerate()
        .map(|(i, p)| {
            serde_json::json!({
                "id": format!("0193b3c4-0000-7000-8000-00000000000{i}"),
                "template_id": koper, "place": p["place"], "place_label": p["place_label"],
                "priority": p["priority"], "instructions": "Koper visits, random order.", "reason": p["reason"],
            })
        })
        .collect();
    let (status, issued) =
        call_json(&app, "/api/missions/issue", serde_json::json!({ "shift": d1_shift(), "items": items }), &cmd).await;
    assert_eq!(status, StatusCode::OK, "{issued}");
    assert_eq!(issued.as_array().expect("missions").len(), 3);
    // Issued places are not proposed again for the same shift.
    let (_, again) = call_json(&app, "/api/missions/recommend", serde_json::json!({ "shift": d1_shift() }), &cmd).await;
    let skipped: Vec<&str> =
        again["proposals"].as_array().expect("p")[..3].iter().map(|p| p["skipped"].as_str().unwrap_or("")).collect();
    assert!(skipped.iter().all(|s| s.starts_with("already planned")), "{skipped:?}");

    let (status, board) =
        call_json(&app, "/api/missions/board", serde_json::json!({ "shift": d1_shift() }), &sgt).await;
    assert_eq!(status, StatusCode::OK, "{board}");
    let officers = board["officers"].as_array().expect("officers");
    assert!(officers.iter().any(|o| o[0] == off_id), "the D1 officer is on the board's roster: {officers:?}");
    assert!(!officers.iter().any(|o| o[0] == off2_id), "D2's officer is not");
    let m0 = "0193b3c4-0000-7000-8000-000000000000";
    let step =
        |id: &str, step: &str, args: serde_json::Value| serde_json::json!({ "id": id, "step": step, "args": args });
    let (status, body) =
        call_json(&app, "/api/missions/transition", step(m0, "acknowledge", serde_json::json!({})), &sgt2).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "D2's sergeant: {body}");
    let (status, acked) = call_json(
        &app,
        "/api/missions/transition",
        step(m0, "acknowledge", serde_json::json!({ "expected_version": 1 })),
        &sgt,
    )
    .await;
    assert_eq!((status, acked["status"].as_str()), (StatusCode::OK, Some("acknowledged")));
    let (status, body) =
        call_json(&app, "/api/missions/transition", step(m0, "acknowledge", serde_json::json!({})), &sgt).await;
    assert_eq!(status, StatusCode::CONFLICT, "acknowledged twice: {body}");
    assert!(body.to_string().contains("cannot be acknowledged"), "{body}");
    let (status, body) = call_json(
        &app,
        "/api/missions/transition",
        step(m0, "assign", serde_json::json!({ "assignee_user_id": off2_id })),
        &sgt,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.to_string().contains("assignee_user_id") && body.to_string().contains("not in district D1"), "{body}");
    let (status, stale) = call_json(
        &app,
        "/api/missions/transition",
        step(m0, "assign", serde_json::json!({ "assignee_user_id": off_id, "expected_version": 1 })),
        &sgt,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "stale version: {stale}");
    let (status, assigned) = call_json(
        &app,
        "/api/missions/transition",
        step(m0, "assign", serde_json::json!({ "assignee_user_id": off_id, "expected_version": 2 })),
        &sgt,
    )
    .await;
    assert_eq!((status, assigned["assignee_name"].as_str()), (StatusCode::OK, Some("Test off1")));

    let (status, mine) = call_json(&app, "/api/missions/mine", serde_json::json!({}), &off).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(mine.as_array().expect("mine").len(), 1);
    let (status, _) = call_json(&app, "/api/missions/transition", step(m0, "start", serde_json::json!({})), &off).await;
    assert_eq!(status, StatusCode::OK);
    let outcome = serde_json::json!({ "contacts": 3, "conditions": "Disorder", "reports": 1 });
    let (status, done) = call_json(
        &app,
        "/api/missions/transition",
        step(m0, "complete", serde_json::json!({ "outcome": outcome, "note": "Moved a group along." })),
        &off,
    )
    .await;
    assert_eq!((status, done["status"].as_str()), (StatusCode::OK, Some("completed")), "{done}");
    let (status, reviewed) =
        call_json(&app, "/api/missions/transition", step(m0, "review", serde_json::json!({})), &sgt).await;
    assert_eq!((status, reviewed["status"].as_str()), (StatusCode::OK, Some("reviewed")));
    // The board shows the outcome; the event log holds each step once.
    let (_, board) = call_json(&app, "/api/missions/board", serde_json::json!({ "shift": d1_shift() }), &sgt).await;
    let row = board["missions"].as_array().expect("m").iter().find(|m| m["id"] == m0).cloned().expect("on the board");
    assert_eq!(row["outcome"], outcome);
    let events = app.store.bodega.mission_events(m0).await.expect("events");
    let steps: Vec<&str> = events.iter().map(|e| e.transition.as_str()).collect();
    assert_eq!(steps, ["issue", "acknowledge", "assign", "start", "complete", "review"]);
}

#[tokio::test]
async fn bad_mission_input_gets_a_clear_4xx_and_nothing_is_written() {
    let app = test_app().await;
    add_user(&app, "cmd", &[Role::Command], &[]).await;
    let cmd = sign_in(&app, "cmd").await;
    let item = |template: i64, lat: f64| {
        serde_json::json!({ "id": "0193b3c4-0000-7000-8000-0000000000ff", "template_id": template,
            "place": { "kind": "point", "lat": lat, "lon": -123.12, "radius_m": 100.0 },
            "place_label": "x", "priority": 2, "instructions": "", "reason": "" })
    };
    let good_template = app.store.bodega.mission_menu(false).await.expect("menu")[0].id;
    let cases = [
        (serde_json::json!({ "shift": d1_shift(), "items": [item(99_999, 49.28)] }), "template_id"),
        (serde_json::json!({ "shift": d1_shift(), "items": [item(good_template, 123.0)] }), "place"),
        // Montreal is not in District 1 of Vancouver.
        (
            serde_json::json!({ "shift": d1_shift(), "items": [{ "id": "0193b3c4-0000-7000-8000-0000000000fe", "template_id": good_template,
            "place": { "kind": "point", "lat": 45.5017, "lon": -73.5673, "radius_m": 100.0 },
            "place_label": "x", "priority": 2, "instructions": "", "reason": "" }] }),
            "place",
        ),
        (
            serde_json::json!({ "shift": { "district": "D1", "shift": "Z", "shift_date": "2020-12-15" }, "items": [item(good_template, 49.28)] }),
            "shift",
        ),
        (
            serde_json::json!({ "shift": { "district": "D1", "shift": "B", "shift_date": "15.12.2020" }, "items": [item(good_template, 49.28)] }),
            "shift_date",
        ),
        (serde_json::json!({ "shift": d1_shift(), "items": [] }), "items"),
    ];
    for (body, field) in cases {
        let (status, answer) = call_json(&app, "/api/missions/issue", body, &cmd).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {answer}");
        assert_eq!((answer["error"].as_str(), answer["field"].as_str()), (Some("invalid"), Some(field)), "{answer}");
    }
    let (status, answer) = call_json(
        &app,
        "/api/missions/recommend",
        serde_json::json!({ "shift": { "district": "D9", "shift": "B", "shift_date": "2020-12-15" } }),
        &cmd,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    let (status, answer) = call_json(
        &app,
        "/api/missions/transition",
        serde_json::json!({ "id": "nope", "step": "cancel", "args": { "reason": "x" } }),
        &cmd,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    let (status, _, _) =
        call(&app.router, json_call("/api/missions/issue", &serde_json::json!({ "shift": 5 }), Some(&cmd))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a body that does not decode");
    let n: i64 = bodega::on_pool!(&app.store.bodega, pool => sqlx::query_scalar("SELECT COUNT(*) FROM missions").fetch_one(pool).await).expect("count");
    assert_eq!(n, 0, "nothing half-written");
}

/// An online step records the session's device and the server's clock, not what the body
/// claims: another user's device id and a time in year 1 are not stored.
#[tokio::test]
async fn an_online_step_takes_its_device_and_time_from_the_session_not_the_body() {
    let app = test_app().await;
    let cmd = add_user(&app, "cmd", &[Role::Command], &[]).await;
    issue_test_mission(&app, "0193b3c4-0000-7000-8000-0000000claims", cmd, false).await;
    add_user(&app, "sgt1", &[Role::Sergeant], &["D1"]).await;
    let sgt = sign_in(&app, "sgt1").await;
    let claims = serde_json::json!({
        "id": "0193b3c4-0000-7000-8000-0000000claims", "step": "acknowledge",
        "args": { "device_id": "someone-elses-phone", "device_time": -62_135_596_800_i64 },
    });
    let (status, body) = call_json(&app, "/api/missions/transition", claims, &sgt).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (device, device_time): (Option<String>, Option<i64>) =
        bodega::on_pool!(&app.store.bodega, pool => sqlx::query_as(
        "SELECT device_id, device_time FROM mission_events WHERE transition = 'acknowledge'").fetch_one(pool).await)
        .expect("the step's event");
    assert_ne!(device.as_deref(), Some("someone-elses-phone"), "the body's device id was stored");
    assert_eq!(device_time, None, "the body's device time was stored");
}

/// A micro place's cell is derived on the server from its coordinates: a mission whose point
/// lies in D1 but which names a cell of somewhere else is stored with the point's own cell, the
/// one an independent projection gives.
#[tokio::test]
async fn a_missions_cell_is_derived_from_its_coordinates_not_taken_from_the_body() {
    let app = test_app().await;
    add_user(&app, "cmd", &[Role::Command], &[]).await;
    let cmd = sign_in(&app, "cmd").await;
    let template = app.store.bodega.mission_menu(false).await.expect("menu")[0].id;
    let (lat, lon) = (49.28, -123.12);
    let item = serde_json::json!({ "id": "0193b3c4-0000-7000-8000-00000000cell", "template_id": template,
        "place": { "kind": "cell", "epsg": 32610, "size_m": 150, "ix": -52_027, "iy": 999_999, "lat": lat, "lon": lon },
        "place_label": "downtown", "priority": 2, "instructions": "", "reason": "" });
    let (status, issued) =
        call_json(&app, "/api/missions/issue", serde_json::json!({ "shift": d1_shift(), "items": [item] }), &cmd).await;
    assert_eq!(status, StatusCode::OK, "{issued}");
    // Independently: UTM zone 10N, 150 m cells, floor of the projected metres.
    let lattice =
        hotspot::Lattice::of(hotspot::Epsg::utm(32610).expect("zone"), hotspot::CellSize::new(150).expect("size"));
    let key = lattice.key_of(lon, lat).expect("on the globe");
    let place = &issued[0]["place"];
    assert_eq!((place["ix"].as_i64(), place["iy"].as_i64()), (Some(key.ix), Some(key.iy)), "{place}");
    let stored = app.store.bodega.mission("0193b3c4-0000-7000-8000-00000000cell").await.expect("q").expect("mission");
    assert!(
        matches!(stored.place, protocol::mission::Place::Cell { ix, iy, .. } if (ix, iy) == (key.ix, key.iy)),
        "{:?}",
        stored.place
    );
}

/// Dates outside the documented range (1900-01-01 to 2100-12-31, `app::context::DAYS`) are the
/// caller's mistake: 422 naming the field on every endpoint that takes a date, never a 503.
#[tokio::test]
async fn out_of_range_dates_are_422_naming_the_field_on_every_endpoint() {
    let app = test_app().await;
    add_user(&app, "cmd", &[Role::Command], &[]).await;
    let cmd = sign_in(&app, "cmd").await;
    for day in ["9999-12-31", "-009999-01-01", "1899-12-31", "2101-01-01"] {
        let shift = serde_json::json!({ "district": "D1", "shift": "B", "shift_date": day });
        let cases = [
            ("/api/crime", serde_json::json!({ "query": { "end": day, "days": 7 } }), "end"),
            ("/api/accuracy", serde_json::json!({ "end": day, "periods": 1 }), "end"),
            ("/api/snapshot", serde_json::json!({ "date": day }), "date"),
            ("/api/presence", serde_json::json!({ "shift": shift }), "shift_date"),
            ("/api/missions/recommend", serde_json::json!({ "shift": shift }), "shift_date"),
        ];
        for (path, body, field) in cases {
            let (status, answer) = call_json(&app, path, body, &cmd).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path} {day}: {answer}");
            assert_eq!(answer["field"].as_str(), Some(field), "{path} {day}: {answer}");
        }
    }
    // The edges themselves are dates Beatbook works with.
    let (status, answer) = call_json(&app, "/api/snapshot", serde_json::json!({ "date": "2100-12-31" }), &cmd).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
}

/// Over-long text, NUL and a right-to-left override are refused with 422 naming the field,
/// wherever a person types text that is stored: a mission's instructions, place label and
/// reason, a step's reason and note, a template's name, goal and outcome labels, an account's
/// display name, a revocation's reason; a note through the sync is rejected with the reason.
/// Nothing of it is stored.
#[tokio::test]
async fn hidden_characters_and_overlong_text_are_refused_with_the_field_everywhere() {
    let app = test_app().await;
    let cmd_id = add_user(&app, "cmd", &[Role::Command], &[]).await;
    add_user(&app, "adm", &[Role::Admin], &[]).await;
    let off_id = add_user(&app, "off1", &[Role::Officer], &["D1"]).await;
    let (cmd, adm, off) = (sign_in(&app, "cmd").await, sign_in(&app, "adm").await, sign_in(&app, "off1").await);
    let template = app.store.bodega.mission_menu(false).await.expect("menu")[0].id;
    let bad = [
        ("NUL", "before\0after".to_string()),
        ("U+202E", "gnp.\u{202E}exe".to_string()),
        ("50 KB", "x".repeat(50_000)),
    ];
    let refused = |status: StatusCode, answer: &serde_json::Value, field: &str, what: &str| {
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field} with {what}: {answer}");
        assert_eq!(answer["field"].as_str(), Some(field), "{field} with {what}: {answer}");
    };
    for (what, text) in &bad {
        for field in ["instructions", "place_label", "reason"] {
            let mut item = serde_json::json!({ "id": "0193b3c4-0000-7000-8000-0000000000f1", "template_id": template,
                "place": { "kind": "point", "lat": 49.28, "lon": -123.12, "radius_m": 100.0 },
                "place_label": "x", "priority": 2, "instructions": "", "reason": "" });
            item[field] = text.clone().into();
            let body = serde_json::json!({ "shift": d1_shift(), "items": [item] });
            let (status, answer) = call_json(&app, "/api/missions/issue", body, &cmd).await;
            refused(status, &answer, field, what);
        }
        for field in ["name", "goal", "outcome_fields"] {
            let mut draft = serde_json::json!({ "name": "Text check", "goal": "g", "tactic": "directed_patrol",
                "dwell_minutes": 15, "visits_per_shift": 1, "crime_types": [],
                "outcome_fields": [{ "key": "k", "label": "Label", "kind": "count", "choices": [] }],
                "evidence_note": "", "active": true });
            match field {
                "outcome_fields" => draft["outcome_fields"][0]["label"] = text.clone().into(),
                _ => draft[field] = text.clone().into(),
            }
            let body = serde_json::json!({ "key": null, "expected_version": null, "draft": draft });
            let (status, answer) = call_json(&app, "/api/missions/menu/save", body, &cmd).await;
            refused(status, &answer, field, what);
        }
        let (status, answer) = call_json(
            &app,
            "/api/admin/device_revoke",
            serde_json::json!({ "id": "no-such-device", "reason": text }),
            &adm,
        )
        .await;
        refused(status, &answer, "reason", what);
        let new = bodega::accounts::NewUser {
            username: "hidden".into(),
            display_name: text.clone(),
            password_hash: None,
            roles: vec![Role::Officer],
            districts: vec!["D1".into()],
            oidc: None,
            synthetic: false,
        };
        match app.store.bodega.create_user(&new).await {
            Err(bodega::accounts::AccountError::Invalid { field, .. }) => assert_eq!(field, "display_name", "{what}"),
            other => panic!("a display name with {what}: {other:?}"),
        }
    }
    // Steps: a mission in D1 assigned to the officer.
    let id = "0193b3c4-0000-7000-8000-0000000000f2";
    issue_test_mission(&app, id, cmd_id, true).await;
    let sgt = {
        add_user(&app, "sgt1", &[Role::Sergeant], &["D1"]).await;
        sign_in(&app, "sgt1").await
    };
    for (step, args) in
        [("acknowledge", serde_json::json!({})), ("assign", serde_json::json!({ "assignee_user_id": off_id }))]
    {
        let (status, answer) = call_json(
            &app,
            "/api/missions/transition",
            serde_json::json!({ "id": id, "step": step, "args": args }),
            &sgt,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    for (what, text) in &bad {
        let cancel = serde_json::json!({ "id": id, "step": "cancel", "args": { "reason": text } });
        let (status, answer) = call_json(&app, "/api/missions/transition", cancel, &cmd).await;
        refused(status, &answer, "reason", what);
        let start = serde_json::json!({ "id": id, "step": "start", "args": { "note": text } });
        let (status, answer) = call_json(&app, "/api/missions/transition", start, &off).await;
        refused(status, &answer, "note", what);
    }
    // A note through the sync: rejected, saying why.
    let mutations: Vec<serde_json::Value> = bad
        .iter()
        .enumerate()
        .map(|(i, (_, text))| {
            serde_json::json!({ "seq": i + 1, "kind": "note", "note_id": format!("n-{i}"),
            "mission_id": id, "body": text, "supersedes": null, "device_time": 1_700_000_000 })
        })
        .collect();
    let push = serde_json::json!({ "schema_version": 1, "device_id": "phone-text", "mutations": mutations });
    let (status, answer) = call_json(&app, "/api/sync/push", push, &off).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    for r in answer["results"].as_array().expect("results") {
        assert_eq!(r[1]["outcome"], "rejected", "{r}");
        assert!(r[1]["reason"].as_str().expect("reason").starts_with("body: "), "{r}");
    }
    assert_eq!(count(&app, "SELECT COUNT(*) FROM mission_notes").await, 0);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM missions").await, 1, "only the good mission");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM users WHERE username = 'hidden'").await, 0);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM mission_templates WHERE name = 'Text check'").await, 0);
}
