//! Presence from GPS through the API: visits and Koper minutes per top harm place, the places
//! without presence, GPS gaps shown, recommendations that count GPS visits, and live updates.

use protocol::sync::{Fix, Mutation, MutationKind, PushRequest, SCHEMA_VERSION};
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
    let body =
        serde_json::to_value(PushRequest { schema_version: SCHEMA_VERSION, device_id: device.into(), mutations })
            .expect("json");
    let (status, _, text) = call(&app.router, json_call("/api/sync/push", &body, Some(cookie))).await;
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
