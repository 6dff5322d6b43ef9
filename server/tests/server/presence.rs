//! Presence from GPS through the API: visits and Koper minutes per top harm place, the places
//! without presence, GPS gaps shown, recommendations that count GPS visits, and live updates.

use protocol::sync::{Fix, Mutation, MutationKind};
use protocol::Role;

use super::auth::json_call;
use super::*;

/// Shift B of District 1 on 15 Dec 2020: 14:00–22:00 Pacific.
const START: i64 = 1_608_069_600;

fn d1_shift() -> serde_json::Value {
    serde_json::json!({ "district": "D1", "shift": "B", "shift_date": "2020-12-15" })
}

/// A fix every 15 s for `minutes` at a point, from `t0`.
fn stay(t0: i64, minutes: i64, (lat, lon): (f64, f64)) -> Vec<Fix> {
    (0..=minutes * 4).map(|i| Fix { t: t0 + i * 15, lat, lon, accuracy_m: Some(6.0), speed_mps: Some(0.0) }).collect()
}

async fn push(app: &TestApp, cookie: &str, device: &str, batches: Vec<Vec<Fix>>) {
    let mutations = batches
        .into_iter()
        .enumerate()
        .map(|(i, fixes)| Mutation {
            seq: i as u64 + 1,
            device_time: fixes[0].t,
            kind: MutationKind::Breadcrumbs { fixes },
        })
        .collect();
    let (status, _, text) = call(&app.router, push_request(device, mutations, None, Some(cookie))).await;
    assert_eq!(status, StatusCode::OK, "{text}");
}

async fn post(app: &TestApp, path: &str, body: serde_json::Value, cookie: &str) -> serde_json::Value {
    let (status, _, text) = call(&app.router, json_call(path, &body, Some(cookie))).await;
    assert_eq!(status, StatusCode::OK, "{path}: {text}");
    serde_json::from_str(&text).expect("json")
}

fn centre(p: &serde_json::Value) -> (f64, f64) {
    (p["place"]["lat"].as_f64().expect("lat"), p["place"]["lon"].as_f64().expect("lon"))
}

#[tokio::test]
async fn presence_counts_gps_visits_against_harm_and_recommendations_count_them_too() {
    let app = test_app().await;
    add_user(&app, "cmd", &[Role::Command], &[]).await;
    add_user(&app, "off1", &[Role::Officer], &["D1"]).await;
    add_user(&app, "sgt2", &[Role::Sergeant], &["D2"]).await;
    signed_in_during(&app, "off1", "phone-1", START, START + 8 * 3_600).await;
    let (cmd, off, sgt2) = (sign_in(&app, "cmd").await, sign_in(&app, "off1").await, sign_in(&app, "sgt2").await);
    let rec = post(&app, "/api/missions/recommend", serde_json::json!({ "shift": d1_shift() }), &cmd).await;
    let proposals = rec["proposals"].as_array().expect("proposals").clone();
    let (first, second) = (centre(&proposals[0]), centre(&proposals[1]));
    // Three 11-minute stays at #1 (separated by 5-minute exits), 3 minutes at #2, then the
    // phone sends nothing for 40 minutes.
    let away = (first.0 + 0.01, first.1);
    let t = START + 600;
    push(
        &app,
        &off,
        "phone-1",
        vec![
            stay(t, 11, first),
            stay(t + 675, 5, away),
            stay(t + 1_000, 11, first),
            stay(t + 1_675, 5, away),
            stay(t + 2_000, 11, first),
            stay(t + 2_700, 3, second),
            stay(t + 2_700 + 180 + 2_400, 2, away),
        ],
    )
    .await;

    let board = post(&app, "/api/presence", serde_json::json!({ "shift": d1_shift() }), &cmd).await;
    let places = board["places"].as_array().expect("places");
    assert_eq!(places.len(), proposals.len());
    let p1 = &places[0];
    assert_eq!(
        (p1["harm_rank"].as_u64(), p1["visits"].as_u64(), p1["koper_visits"].as_u64()),
        (Some(1), Some(3), Some(3))
    );
    assert_eq!(p1["koper_minutes"].as_f64(), Some(33.0));
    assert_eq!(p1["presence_rank"].as_u64(), Some(1));
    let p2 = &places[1];
    assert_eq!(
        (p2["visits"].as_u64(), p2["koper_visits"].as_u64(), p2["dwell_minutes"].as_f64()),
        (Some(1), Some(0), Some(3.0))
    );
    assert_eq!(p2["presence_rank"].as_u64(), Some(2));
    // Everyone else: no presence, no rank.
    assert!(places[2..].iter().all(|p| p["visits"] == 0 && p["presence_rank"].is_null()));
    // The 40 minutes without GPS are shown, not bridged.
    let coverage = board["coverage"].as_array().expect("coverage");
    assert_eq!(coverage.len(), 1);
    assert_eq!(coverage[0]["device"], "phone-1");
    assert_eq!(coverage[0]["gaps"].as_array().expect("gaps").len(), 1, "{coverage:?}");

    // The recommendations count the GPS visits: #1 has met the target of three this shift.
    let again = post(&app, "/api/missions/recommend", serde_json::json!({ "shift": d1_shift() }), &cmd).await;
    let skipped = again["proposals"][0]["skipped"].as_str().unwrap_or("");
    assert!(skipped.starts_with("dosage target met: 3 Koper visits"), "{skipped}");
    assert!(again["proposals"][1]["skipped"].is_null());

    // Another district's sergeant may not see D1's presence.
    let (status, _, _) =
        call(&app.router, json_call("/api/presence", &serde_json::json!({ "shift": d1_shift() }), Some(&sgt2))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// An analyst (`ana`) and an officer of D1 (`off1`); the analyst's session cookie and open live
/// stream.
async fn live_stream(app: &TestApp) -> (String, axum::body::BodyDataStream) {
    add_user(app, "ana", &[Role::Analyst], &[]).await;
    add_user(app, "off1", &[Role::Officer], &["D1"]).await;
    signed_in_during(app, "off1", "phone-live", START, START + 8 * 3_600).await;
    let ana = sign_in(app, "ana").await;
    let resp = app.router.clone().oneshot(with_cookie(get("/api/live"), &ana)).await.expect("infallible");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()[header::CONTENT_TYPE], "text/event-stream");
    (ana, resp.into_body().into_data_stream())
}

#[tokio::test]
async fn an_open_live_stream_hears_a_change_within_seconds() {
    use futures_util::StreamExt;
    let app = test_app().await;
    let (_, mut body) = live_stream(&app).await;
    // Let the poller take its baseline, then change something: GPS from a device.
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    let officer = sign_in(&app, "off1").await;
    push(&app, &officer, "phone-live", vec![stay(START, 1, (49.28, -123.12))]).await;
    let started = std::time::Instant::now();
    let frame = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        while let Some(chunk) = body.next().await {
            let text = String::from_utf8_lossy(&chunk.expect("chunk")).into_owned();
            if text.contains("event: changed") {
                return text;
            }
        }
        String::new()
    })
    .await
    .expect("a change event within 5 s");
    assert!(frame.contains("data: "), "{frame}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    // Anonymous callers are refused.
    assert_eq!(call(&app.router, get("/api/live")).await.0, StatusCode::UNAUTHORIZED);
}

/// Another district's officer pushing breadcrumbs at D1's top place, outside any mission of
/// theirs, changes neither D1's presence board nor its recommendations; the same track from a
/// D1 officer does (so the comparison can tell).
#[tokio::test]
async fn another_districts_breadcrumbs_outside_a_mission_change_nothing_here() {
    let app = test_app().await;
    add_user(&app, "cmd", &[Role::Command], &[]).await;
    add_user(&app, "off1", &[Role::Officer], &["D1"]).await;
    add_user(&app, "off2", &[Role::Officer], &["D2"]).await;
    signed_in_during(&app, "off1", "phone-d1", START, START + 8 * 3_600).await;
    signed_in_during(&app, "off2", "phone-d2", START, START + 8 * 3_600).await;
    let (cmd, off1, off2) = (sign_in(&app, "cmd").await, sign_in(&app, "off1").await, sign_in(&app, "off2").await);
    let shift = serde_json::json!({ "shift": d1_shift() });
    let view = || async {
        let board = post(&app, "/api/presence", shift.clone(), &cmd).await;
        let rec = post(&app, "/api/missions/recommend", shift.clone(), &cmd).await;
        (board["places"].clone(), board["coverage"].clone(), rec["proposals"].clone())
    };
    let before = view().await;
    let first = centre(&before.2[0]);
    let track = |t: i64| vec![stay(t, 11, first), stay(t + 1_000, 11, first), stay(t + 2_000, 11, first)];
    push(&app, &off2, "phone-d2", track(START + 600)).await;
    assert_eq!(view().await, before, "D2's officer, no mission here: D1's presence and recommendations unchanged");
    push(&app, &off1, "phone-d1", track(START + 600)).await;
    let after = view().await;
    assert_ne!(after.0, before.0, "a D1 officer's visits count");
    assert_eq!(after.0[0]["koper_visits"].as_u64(), Some(3));
}

/// The live stream ends with its session: after the analyst signs out, the next change closes
/// the stream instead of reaching a signed-out page.
#[tokio::test]
async fn the_live_stream_ends_when_its_session_does() {
    use futures_util::StreamExt;
    let app = test_app().await;
    let (ana, mut body) = live_stream(&app).await;
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    let (status, _, _) =
        call(&app.router, with_cookie(Request::post("/api/auth/logout").body(Body::empty()).expect("req"), &ana)).await;
    assert!(status.is_success(), "{status}");
    let officer = sign_in(&app, "off1").await;
    push(&app, &officer, "phone-live", vec![stay(START, 1, (49.28, -123.12))]).await;
    let heard = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        let mut heard = String::new();
        while let Some(chunk) = body.next().await {
            heard.push_str(&String::from_utf8_lossy(&chunk.expect("chunk")));
        }
        heard
    })
    .await
    .expect("the stream ended after the sign-out");
    assert!(!heard.contains("event: changed"), "a signed-out stream was sent a change: {heard}");
}

/// Pushes `fixes` as one breadcrumbs mutation `seq` from `device`, its clock `sent_at`; the
/// mutation's outcome.
async fn push_one(
    app: &TestApp,
    cookie: &str,
    device: &str,
    seq: u64,
    fixes: Vec<Fix>,
    sent_at: Option<i64>,
) -> serde_json::Value {
    let m = Mutation { seq, device_time: fixes[0].t, kind: MutationKind::Breadcrumbs { fixes } };
    let (status, _, text) = call(&app.router, push_request(device, vec![m], sent_at, Some(cookie))).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    v["results"][0][1].clone()
}

/// Fake GPS is not believed: fixes in the future (the year 2100, `i64::MAX`) or outside every
/// session of the officer (`i64::MIN`, ten days before the shift) are refused with the reason
/// and change nothing; a device clock an hour fast is corrected by the push's `sent_at`; a
/// spoofed jump of kilometres in seconds is stored, counted and shown flagged; and every
/// minute says whether a device or a loaded feed showed it.
#[tokio::test]
async fn fake_gps_is_refused_a_spoofed_jump_is_flagged_and_minutes_say_their_source() {
    let app = test_app().await;
    add_user(&app, "cmd", &[Role::Command], &[]).await;
    add_user(&app, "off1", &[Role::Officer], &["D1"]).await;
    signed_in_during(&app, "off1", "phone-1", START, START + 8 * 3_600).await;
    let (cmd, off) = (sign_in(&app, "cmd").await, sign_in(&app, "off1").await);
    let shift = serde_json::json!({ "shift": d1_shift() });
    let before = post(&app, "/api/presence", shift.clone(), &cmd).await;
    let at = |p: &serde_json::Value| (p["lat"].as_f64().expect("lat"), p["lon"].as_f64().expect("lon"));
    let first = at(&before["places"][0]);
    let stored = || async { count(&app, "SELECT COUNT(*) FROM gps_fixes").await };

    // Made up: refused whole, with the reason; nothing stored, nothing on the board.
    let year_2100 = 4_102_444_800;
    for (seq, t, why) in [
        (1, year_2100, "in the future"),
        (2, i64::MAX - 10_000, "in the future"),
        (3, i64::MIN, "outside every signed-in session"),
        (4, START - 10 * 86_400, "outside every signed-in session"),
    ] {
        let outcome = push_one(&app, &off, "phone-1", seq, stay(t, 2, first), None).await;
        assert_eq!(outcome["outcome"], "rejected", "{t}: {outcome}");
        let reason = outcome["reason"].as_str().expect("reason");
        assert!(reason.contains(why) && reason.contains("9 of 9 refused"), "{reason}");
    }
    assert_eq!(stored().await, 0);
    assert_eq!(post(&app, "/api/presence", shift.clone(), &cmd).await["places"], before["places"]);
    // A batch running past the session's end (and its two minutes of allowed skew): the fixes
    // inside are kept, the reason says how many were not.
    let end = START + 8 * 3_600;
    let outcome = push_one(&app, &off, "phone-1", 5, stay(end, 4, first), None).await;
    assert_eq!(outcome["outcome"], "rejected", "{outcome}");
    let reason = outcome["reason"].as_str().expect("reason");
    assert!(reason.contains("8 of 17 refused") && reason.contains("the other 9 were saved"), "{reason}");
    assert_eq!(stored().await, 9);

    // A device clock an hour fast: its "an hour from now" is a minute ago, in today's session.
    let now = jiff::Timestamp::now().as_second();
    let fast = |t: i64| t + 3_600;
    let recent: Vec<Fix> = stay(fast(now - 100), 1, (49.28, -123.12));
    assert_eq!(push_one(&app, &off, "phone-1", 6, recent.clone(), Some(fast(now))).await["outcome"], "applied");
    let newest = count(&app, "SELECT MAX(fix_at) FROM gps_fixes").await;
    assert!((now - 100..=now).contains(&(newest - 60)), "stored on the server's clock: {newest} for now {now}");
    // The same clock without the correction is in the future.
    let later: Vec<Fix> = recent.iter().map(|f| Fix { t: f.t + 600, ..*f }).collect();
    assert_eq!(push_one(&app, &off, "phone-1", 7, later, None).await["outcome"], "rejected");

    // A Koper visit at #1, then 5 km in 10 s: the visit counts, the track and place are flagged.
    let mut track = stay(START + 600, 11, first);
    let last = track.last().expect("fixes").t;
    track.push(Fix { t: last + 10, lat: first.0 + 0.045, lon: first.1, accuracy_m: Some(6.0), speed_mps: None });
    assert_eq!(push_one(&app, &off, "phone-1", 8, track, None).await["outcome"], "applied");
    let board = post(&app, "/api/presence", shift.clone(), &cmd).await;
    let p1 = &board["places"][0];
    assert_eq!((p1["koper_visits"].as_u64(), p1["flagged"].as_bool()), (Some(1), Some(true)), "{p1}");
    assert_eq!((p1["device_minutes"].as_f64(), p1["feed_minutes"].as_f64()), (p1["dwell_minutes"].as_f64(), Some(0.0)));
    let phone =
        board["coverage"].as_array().expect("coverage").iter().find(|c| c["device"] == "phone-1").expect("phone");
    assert_eq!(phone["source"], "Device");
    let jumps = phone["implausible"].as_array().expect("implausible");
    assert_eq!(jumps.len(), 1, "{phone}");
    assert!(jumps[0].as_str().expect("text").contains("km/h"), "{jumps:?}");
    assert!(board["places"].as_array().expect("places")[1..].iter().all(|p| p["flagged"] == false));

    // A session on the officer's desk computer that day is no cover for the phone's track.
    signed_in_during(&app, "off1", "desk-pc", START - 86_400, START - 43_200).await;
    let outcome = push_one(&app, &off, "phone-1", 9, stay(START - 80_000, 2, first), None).await;
    assert_eq!(outcome["outcome"], "rejected", "{outcome}");

    // An AVL feed's unit at #2 for 12 minutes: its minutes are the feed's.
    let second = at(&before["places"][1]);
    let mut csv = String::from("device,fix_at,lat,lon,unit,accuracy_m,speed_mps\n");
    for f in stay(START + 3_600, 12, second) {
        let at = jiff::Timestamp::from_second(f.t).expect("t");
        csv.push_str(&format!("car-12,{at},{},{},1A12,5,0\n", f.lat, f.lon));
    }
    let opts = bodega::load::IngestOptions {
        source: "avl".into(),
        file_name: "avl.csv".into(),
        time_zone: "America/Vancouver".into(),
        dry_run: false,
        mapping: None,
    };
    bodega::gps::ingest_gps_csv(&app.store.bodega, csv.as_bytes(), &opts).await.expect("feed");
    let board = post(&app, "/api/presence", shift, &cmd).await;
    let p2 = &board["places"][1];
    assert_eq!((p2["device_minutes"].as_f64(), p2["feed_minutes"].as_f64()), (Some(0.0), Some(12.0)), "{p2}");
    let car = board["coverage"].as_array().expect("coverage").iter().find(|c| c["device"] == "car-12").expect("car");
    assert_eq!(car["source"], "Feed");
}
