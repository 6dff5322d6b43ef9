//! The sync's fault tests (docs/SYNC.md), through the HTTP routes on this run's engine: lost
//! responses, duplicate and concurrent pushes, gaps, clock skew, a crash between commit and
//! response, two devices on one mission in both orders, expiry mid-sync, revoked devices,
//! hostile bodies, and two server instances on one store.

use protocol::sync::{Fix, Mutation, MutationKind, PushRequest, SCHEMA_VERSION};
use protocol::{Role, Transition};

use super::auth::json_call;
use super::*;

const MISSION: &str = "0193b3c4-0000-7000-8000-00000000sync";

struct Crew {
    officer: String,
    sergeant: String,
    officer_id: i64,
}

/// A D1 mission, acknowledged and assigned to `off1`, and sessions for the officer and sergeant.
async fn crew(app: &TestApp) -> Crew {
    let cmd = add_user(app, "cmd", &[Role::Command], &[]).await;
    let sgt = add_user(app, "sgt1", &[Role::Sergeant], &["D1"]).await;
    let officer_id = add_user(app, "off1", &[Role::Officer], &["D1"]).await;
    issue_test_mission(app, MISSION, cmd, true).await;
    let b = &app.store.bodega;
    let subject = |id: i64| async move { b.user_by_id(id).await.expect("q").expect("u").subject() };
    let sgt_subject = subject(sgt).await;
    b.transition_mission(MISSION, Transition::Acknowledge, &sgt_subject, &Default::default()).await.expect("ack");
    let args = protocol::mission::TransitionArgs { assignee_user_id: Some(officer_id), ..Default::default() };
    b.transition_mission(MISSION, Transition::Assign, &sgt_subject, &args).await.expect("assign");
    // The breadcrumbs these tests replay were recorded in 2020 (the backlogs) and 2023: the
    // officer's devices were signed in then.
    for device in ["phone-1", "phone-9", "phone-s"] {
        bodega::testing::signed_in_during(b, officer_id, device, 1_608_000_000, 1_608_300_000).await;
        bodega::testing::signed_in_during(b, officer_id, device, 1_700_000_000, 1_700_001_000).await;
    }
    Crew { officer: sign_in(app, "off1").await, sergeant: sign_in(app, "sgt1").await, officer_id }
}

fn step(seq: u64, step: Transition, args: serde_json::Value) -> Mutation {
    let args = serde_json::from_value(args).expect("args");
    Mutation { seq, kind: MutationKind::Step { mission_id: MISSION.into(), step, args }, device_time: 1_700_000_000 }
}

fn note(seq: u64, id: &str) -> Mutation {
    Mutation {
        seq,
        kind: MutationKind::Note {
            note_id: id.into(),
            mission_id: MISSION.into(),
            body: format!("note {id}"),
            supersedes: None,
        },
        device_time: 1_700_000_000,
    }
}

fn crumbs(seq: u64, t0: i64) -> Mutation {
    let fixes = (0..3)
        .map(|i| Fix { t: t0 + i, lat: 49.28, lon: -123.12, accuracy_m: Some(6.0), speed_mps: Some(0.5) })
        .collect();
    Mutation { seq, kind: MutationKind::Breadcrumbs { fixes }, device_time: t0 }
}

fn push_req(device: &str, mutations: Vec<Mutation>, cookie: &str) -> Request<Body> {
    push_request(device, mutations, None, Some(cookie))
}

async fn push(app: &TestApp, device: &str, mutations: Vec<Mutation>, cookie: &str) -> (StatusCode, serde_json::Value) {
    let (status, _, text) = call(&app.router, push_req(device, mutations, cookie)).await;
    (status, serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)))
}

async fn pull(app: &TestApp, device: &str, cookie_value: i64, cookie: &str) -> (StatusCode, serde_json::Value) {
    let req = with_cookie(get(&format!("/api/sync/pull?cookie={cookie_value}&device_id={device}")), cookie);
    let (status, _, text) = call(&app.router, req).await;
    (status, serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)))
}

async fn events(app: &TestApp, transition: &str) -> usize {
    app.store
        .bodega
        .mission_events(MISSION)
        .await
        .expect("events")
        .iter()
        .filter(|e| e.transition == transition)
        .count()
}

/// A mission the sergeant gives to another officer leaves the first officer's device: their
/// next pull names it as gone, and the new assignee's pull brings it.
#[tokio::test]
async fn a_reassigned_mission_is_named_gone_to_the_officer_who_had_it() {
    let app = test_app().await;
    let c = crew(&app).await;
    let (status, p) = pull(&app, "phone-1", 0, &c.officer).await;
    assert_eq!(status, StatusCode::OK, "{p}");
    assert!(p["missions"].as_array().expect("missions").iter().any(|m| m["id"] == MISSION), "{p}");
    assert!(p["gone"].as_array().expect("gone").is_empty(), "{p}");
    let cookie = p["cookie"].as_i64().expect("cookie");

    let other = add_user(&app, "off2", &[Role::Officer], &["D1"]).await;
    let b = &app.store.bodega;
    let sgt = b.user_by_username("sgt1").await.expect("q").expect("sergeant").subject();
    let args = protocol::mission::TransitionArgs { assignee_user_id: Some(other), ..Default::default() };
    b.transition_mission(MISSION, Transition::Assign, &sgt, &args).await.expect("reassign");

    let (_, p) = pull(&app, "phone-1", cookie, &c.officer).await;
    assert!(p["missions"].as_array().expect("missions").is_empty(), "{p}");
    assert_eq!(p["gone"], serde_json::json!([MISSION]), "{p}");
    let off2 = sign_in(&app, "off2").await;
    let (_, p) = pull(&app, "phone-2", 0, &off2).await;
    assert!(p["missions"].as_array().expect("missions").iter().any(|m| m["id"] == MISSION), "{p}");
    assert!(p["gone"].as_array().expect("gone").is_empty(), "{p}");
}

#[tokio::test]
async fn a_lost_response_and_a_retry_apply_once_and_pull_acknowledges() {
    let app = test_app().await;
    let c = crew(&app).await;
    let batch = vec![step(1, Transition::Start, serde_json::json!({})), note(2, "n-1"), crumbs(3, 1_700_000_100)];
    let (status, first) = push(&app, "phone-1", batch.clone(), &c.officer).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["last_seq"], 3);
    // The response was lost: the device sends the same batch again.
    let (status, again) = push(&app, "phone-1", batch, &c.officer).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["last_seq"], 3);
    assert!(again["results"].as_array().expect("results").iter().all(|r| r[1]["outcome"] == "duplicate"), "{again}");
    assert_eq!(events(&app, "start").await, 1);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM mission_notes").await, 1);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM gps_fixes WHERE device = 'phone-1'").await, 3);
    // The acknowledgement also comes through pull, with the mission as the server holds it.
    let (status, p) = pull(&app, "phone-1", 0, &c.officer).await;
    assert_eq!(status, StatusCode::OK, "{p}");
    assert_eq!((p["last_seq"].as_u64(), p["schema_version"].as_u64()), (Some(3), Some(u64::from(SCHEMA_VERSION))));
    let m = p["missions"].as_array().expect("missions").iter().find(|m| m["id"] == MISSION).cloned().expect("mine");
    assert_eq!(m["status"], "in_progress");
    assert_eq!(p["notes"][0]["body"], "note n-1");
    // Nothing new since the cookie.
    let (_, p2) = pull(&app, "phone-1", p["cookie"].as_i64().expect("cookie"), &c.officer).await;
    assert!(p2["missions"].as_array().expect("m").is_empty());
}

#[tokio::test]
async fn the_same_batch_pushed_twice_at_once_applies_once() {
    let app = test_app().await;
    let c = crew(&app).await;
    let batch = vec![step(1, Transition::Start, serde_json::json!({})), note(2, "n-1"), note(3, "n-2")];
    let (a, b) = tokio::join!(
        call(&app.router, push_req("phone-1", batch.clone(), &c.officer)),
        call(&app.router, push_req("phone-1", batch, &c.officer))
    );
    assert_eq!((a.0, b.0), (StatusCode::OK, StatusCode::OK), "{} / {}", a.2, b.2);
    assert_eq!(events(&app, "start").await, 1);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM mission_notes").await, 2);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM mutation_log WHERE device_id = 'phone-1'").await, 3);
}

#[tokio::test]
async fn a_batch_after_a_gap_applies_nothing_until_the_missing_one_arrives() {
    let app = test_app().await;
    let c = crew(&app).await;
    let (status, body) = push(&app, "phone-1", vec![note(3, "n-3"), note(4, "n-4")], &c.officer).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!((body["error"].as_str(), body["details"]["last_seq"].as_u64()), (Some("gap"), Some(0)));
    assert_eq!(count(&app, "SELECT COUNT(*) FROM mission_notes").await, 0, "nothing past the gap");
    push(&app, "phone-1", vec![note(1, "n-1"), note(2, "n-2")], &c.officer).await;
    let (status, body) = push(&app, "phone-1", vec![note(3, "n-3"), note(4, "n-4")], &c.officer).await;
    assert_eq!((status, body["last_seq"].as_u64()), (StatusCode::OK, Some(4)));
    assert_eq!(count(&app, "SELECT COUNT(*) FROM mission_notes").await, 4);
}

#[tokio::test]
async fn skewed_device_clocks_are_kept_and_flagged_but_never_order() {
    let app = test_app().await;
    let c = crew(&app).await;
    let three_days = 3 * 86_400;
    let now = jiff::Timestamp::now().as_second();
    let mut start = step(1, Transition::Start, serde_json::json!({}));
    start.device_time = now + three_days;
    let mut done = step(
        2,
        Transition::Complete,
        serde_json::json!({ "outcome": { "contacts": 1, "conditions": "Quiet", "reports": 0 } }),
    );
    done.device_time = now - three_days; // the clock jumped backwards mid-shift
    let (status, body) = push(&app, "phone-1", vec![start, done], &c.officer).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let m = app.store.bodega.mission(MISSION).await.expect("q").expect("m");
    assert_eq!(m.status, protocol::MissionStatus::Completed, "server order, not device clocks");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM mutation_log WHERE skewed = 1").await, 2);
    let ev = app.store.bodega.mission_events(MISSION).await.expect("events");
    let complete = ev.iter().find(|e| e.transition == "complete").expect("complete");
    assert_eq!(complete.device_time, Some(now - three_days), "the device's time is kept as sent");
    assert!(complete.server_time >= ev.iter().find(|e| e.transition == "start").expect("start").server_time);
}

#[tokio::test]
async fn a_crash_between_commit_and_response_is_healed_by_the_retry() {
    let app = test_app().await;
    let c = crew(&app).await;
    let officer = app.store.bodega.user_by_id(c.officer_id).await.expect("q").expect("u");
    let batch = vec![step(1, Transition::Start, serde_json::json!({})), note(2, "n-1")];
    // The server commits and dies before answering: the device never hears back.
    let req = PushRequest {
        schema_version: SCHEMA_VERSION,
        device_id: "phone-1".into(),
        mutations: batch.clone(),
        sent_at: None,
    };
    app.store.bodega.apply_push(&officer, None, &req).await.expect("committed");
    // After the restart the device retries; then pushes its next write.
    let (status, body) = push(&app, "phone-1", [batch, vec![note(3, "n-2")]].concat(), &c.officer).await;
    assert_eq!((status, body["last_seq"].as_u64()), (StatusCode::OK, Some(3)), "{body}");
    assert_eq!(events(&app, "start").await, 1);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM mission_notes").await, 2);
}

#[tokio::test]
async fn two_devices_completing_and_annotating_one_mission_converge_in_either_order() {
    let mut finals = Vec::new();
    for order in [["phone-1", "laptop-1"], ["laptop-1", "phone-1"]] {
        let app = test_app().await;
        let c = crew(&app).await;
        for device in order {
            // Both devices of the officer recorded the same visit while offline.
            let outcome = step(
                1,
                Transition::Complete,
                serde_json::json!({ "outcome": { "contacts": 2, "conditions": "Quiet", "reports": 0 } }),
            );
            let (status, body) =
                push(&app, device, vec![outcome, note(2, &format!("{device}-note"))], &c.officer).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            assert!(
                body["results"].as_array().expect("r").iter().all(|r| r[1]["outcome"] == "applied"),
                "{order:?}: {body}"
            );
        }
        let m = app.store.bodega.mission(MISSION).await.expect("q").expect("m");
        let notes = count(&app, "SELECT COUNT(*) FROM mission_notes").await;
        assert_eq!(events(&app, "complete").await, 1, "the second completion is a no-op success");
        finals.push((m.status, notes, m.outcome.clone()));
        // The sergeant's device pulls the same state.
        let (_, p) = pull(&app, "tablet-1", 0, &c.sergeant).await;
        let seen = p["missions"].as_array().expect("m").iter().find(|x| x["id"] == MISSION).cloned().expect("visible");
        assert_eq!(seen["status"], "completed");
        assert_eq!(p["notes"].as_array().expect("notes").len(), 2, "both notes kept");
    }
    assert_eq!(finals[0], finals[1], "same final state in either order");
}

#[tokio::test]
async fn an_expired_session_keeps_the_outbox_and_the_push_resumes_after_sign_in() {
    let app = test_app().await;
    let c = crew(&app).await;
    push(&app, "phone-1", vec![note(1, "n-1")], &c.officer).await;
    bodega::on_writer!(&app.store.bodega, pool => sqlx::query("UPDATE sessions SET expires_at = 0").execute(pool).await.map(|_| ()))
        .expect("expire");
    let batch = vec![note(2, "n-2"), note(3, "n-3")];
    let (status, body) = push(&app, "phone-1", batch.clone(), &c.officer).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(body["message"].as_str().expect("message").contains("end of its shift"));
    assert_eq!(count(&app, "SELECT COUNT(*) FROM mission_notes").await, 1, "nothing applied without a session");
    let fresh = sign_in(&app, "off1").await;
    let (status, body) = push(&app, "phone-1", batch, &fresh).await;
    assert_eq!((status, body["last_seq"].as_u64()), (StatusCode::OK, Some(3)));
    let authors =
        count(&app, &format!("SELECT COUNT(*) FROM mutation_log WHERE author_user_id = {}", c.officer_id)).await;
    assert_eq!(authors, 3, "attributed to the original author");
}

#[tokio::test]
async fn a_revoked_device_is_refused_and_its_outbox_reported() {
    let app = test_app().await;
    let c = crew(&app).await;
    push(&app, "phone-1", vec![note(1, "n-1")], &c.officer).await;
    app.store.bodega.revoke_device("phone-1", None, "lost").await.expect("revoke");
    let (status, body) = push(&app, "phone-1", vec![note(2, "n-2"), note(3, "n-3")], &c.officer).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!((body["error"].as_str(), body["details"]["pending"].as_u64()), (Some("device_revoked"), Some(2)));
    let audit = audit_of(&app, "sync_device").await;
    assert_eq!(audit.len(), 1);
    assert!(audit[0].detail.contains("2 unsynced"), "{:?}", audit[0]);
    // Another user cannot use that device id either.
    add_user(&app, "off2", &[Role::Officer], &["D1"]).await;
    let other = sign_in(&app, "off2").await;
    let (status, body) = push(&app, "phone-1", vec![note(1, "x")], &other).await;
    // One code, one status: `device_in_use` is 409 here as at sign-in (it was 403 on this route).
    assert_eq!((status, body["error"].as_str()), (StatusCode::CONFLICT, Some("device_in_use")), "{body}");
}

#[tokio::test]
async fn business_rejections_consume_their_number_and_reach_the_device() {
    let app = test_app().await;
    let c = crew(&app).await;
    let batch = vec![
        step(1, Transition::Review, serde_json::json!({})), // officers do not review
        note(2, "n-1"),
        Mutation {
            seq: 3,
            kind: MutationKind::Note {
                note_id: "n-x".into(),
                mission_id: "no-such-mission".into(),
                body: "x".into(),
                supersedes: None,
            },
            device_time: 0,
        },
        step(4, Transition::Start, serde_json::json!({})),
    ];
    let (status, body) = push(&app, "phone-1", batch, &c.officer).await;
    assert_eq!((status, body["last_seq"].as_u64()), (StatusCode::OK, Some(4)), "{body}");
    let (_, p) = pull(&app, "phone-1", 0, &c.officer).await;
    let rejected: Vec<u64> =
        p["rejections"].as_array().expect("r").iter().map(|r| r["seq"].as_u64().expect("seq")).collect();
    assert_eq!(rejected, [1, 3]);
    assert!(p["rejections"][0]["reason"].as_str().expect("reason").contains("review"), "{p}");
    assert_eq!(events(&app, "start").await, 1, "the queue was not wedged");
}

#[tokio::test]
async fn hostile_and_malformed_pushes_get_4xx_and_change_nothing() {
    let app = test_app().await;
    let c = crew(&app).await;
    let raw = |body: &str| {
        with_cookie(
            Request::post("/api/sync/push")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string()))
                .expect("req"),
            &c.officer,
        )
    };
    for (body, expect) in [
        ("{", StatusCode::BAD_REQUEST),
        ("[]", StatusCode::UNPROCESSABLE_ENTITY),
        (
            r#"{"schema_version":1,"device_id":"p","mutations":[{"seq":1,"kind":"drop_tables","device_time":0}]}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (r#"{"schema_version":99,"device_id":"p","mutations":[]}"#, StatusCode::CONFLICT),
        (r#"{"schema_version":1,"device_id":"../../etc/passwd","mutations":[]}"#, StatusCode::UNPROCESSABLE_ENTITY),
        // Padded: refused as sent (it used to be registered trimmed, then missed: 503).
        (r#"{"schema_version":1,"device_id":" phone-9","mutations":[]}"#, StatusCode::UNPROCESSABLE_ENTITY),
        // Sequence numbers at the top of the range: refused, never an overflow.
        (
            r#"{"schema_version":1,"device_id":"phone-9","mutations":[
                {"seq":18446744073709551615,"kind":"note","note_id":"a","mission_id":"m","body":"x","supersedes":null,"device_time":0},
                {"seq":18446744073709551615,"kind":"note","note_id":"b","mission_id":"m","body":"x","supersedes":null,"device_time":-9223372036854775808}]}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let (status, _, text) = call(&app.router, raw(body)).await;
        assert_eq!(status, expect, "{body} → {text}");
    }
    let too_many: Vec<Mutation> = (1..=101).map(|i| note(i, &format!("n{i}"))).collect();
    let (status, body) = push(&app, "phone-1", too_many, &c.officer).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = push(&app, "phone-1", vec![note(1, "a"), note(3, "b")], &c.officer).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let script = Mutation {
        seq: 1,
        kind: MutationKind::Note {
            note_id: "'; DROP TABLE missions; --".into(),
            mission_id: MISSION.into(),
            body: "<script>alert(1)</script>".into(),
            supersedes: None,
        },
        device_time: 0,
    };
    let (status, _) = push(&app, "phone-1", vec![script], &c.officer).await;
    assert_eq!(status, StatusCode::OK, "stored as text, never interpreted");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM missions").await, 1, "the tables are intact");
    let big = format!(
        r#"{{"schema_version":1,"device_id":"p","mutations":[],"pad":"{}"}}"#,
        "x".repeat(server::config::DEFAULT_MAX_BODY_BYTES + 1024)
    );
    let (status, _, _) = call(&app.router, raw(&big)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "bounded memory");
    let (status, _, _) = call(&app.router, get("/api/sync/pull?cookie=0&device_id=x")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "anonymous pulls get 401");
    let (status, _, _) = call(&app.router, with_cookie(get("/api/sync/pull?cookie=abc&device_id=x"), &c.officer)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn two_server_instances_on_one_store_still_apply_once() {
    let app = test_app().await;
    let c = crew(&app).await;
    // A second server on the same database (its own pool, its own process state).
    let other_store = bodega::Bodega::connect(&app.store.url, 4).await.expect("second pool");
    let site = tempfile::tempdir().expect("site");
    let settings = server::config::Settings {
        auth: server::auth::config::AuthConfig { secure_cookie: false, ..Default::default() },
        ..Default::default()
    };
    let state = server::state::app_state(other_store, site.path(), "127.0.0.1:0".parse().expect("addr"), settings)
        .expect("state");
    let second = server::router::router(
        state,
        server::state::Limits {
            request_timeout: Duration::from_secs(30),
            max_body_bytes: server::config::DEFAULT_MAX_BODY_BYTES,
        },
    );
    for round in 0..5u64 {
        let batch: Vec<Mutation> = (1..=round * 4 + 4).map(|i| note(i, &format!("n{i}"))).collect();
        let (a, b) = tokio::join!(
            call(&app.router, push_req("phone-1", batch.clone(), &c.officer)),
            call(&second, push_req("phone-1", batch, &c.officer))
        );
        assert!(a.0 == StatusCode::OK && b.0 == StatusCode::OK, "round {round}: {} {} / {} {}", a.0, a.2, b.0, b.2);
    }
    assert_eq!(count(&app, "SELECT COUNT(*) FROM mission_notes").await, 20);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM mutation_log").await, 20);
    assert_eq!(count(&app, "SELECT MAX(seq) FROM mutation_log").await, 20);
}

/// Fault #9, a long offline backlog: twelve hours of breadcrumbs (10,000 fixes in 20 full
/// batches) and 50 mutations on the mission go out the way a device sends them (`Outbox::batch`:
/// at most 50 mutations and 1 MiB a push), under the server's default body limit; every push is
/// answered, everything is applied once, and the device's outbox drains.
#[tokio::test]
async fn a_twelve_hour_backlog_goes_through_in_bounded_pushes_and_applies_once() {
    let app = test_app().await;
    let c = crew(&app).await;
    let mut outbox = backlog(20);
    assert_eq!(outbox.len(), 70);
    let mut pushes = 0;
    while !outbox.is_empty() {
        let batch = outbox.batch(50);
        let bytes = serde_json::to_vec(&batch).expect("json").len();
        assert!(bytes < server::config::DEFAULT_MAX_BODY_BYTES, "push {pushes}: {bytes} bytes");
        let (status, v) = push(&app, "phone-9", batch, &c.officer).await;
        assert_eq!(status, StatusCode::OK, "push {pushes}: {v}");
        outbox.acknowledge(v["last_seq"].as_u64().expect("last_seq"));
        pushes += 1;
        assert!(pushes < 10, "the outbox drains");
    }
    let (_, v) = pull(&app, "phone-9", 0, &c.officer).await;
    assert_eq!(v["last_seq"], 70);
    assert_backlog_applied_once(&app, "phone-9", 20).await;
}

/// `batches` full batches of breadcrumbs (500 fixes each, one every 4 s: 20 batches are twelve
/// hours) and 50 mutations on the mission, as a device queues them.
fn backlog(batches: i64) -> protocol::sync::Outbox {
    let mut outbox = protocol::sync::Outbox::new();
    let t0 = 1_608_069_600;
    for b in 0..batches {
        let fixes = (0..500i64)
            .map(|i| Fix {
                t: t0 + (b * 500 + i) * 4,
                lat: 49.28 + (i as f64) * 1e-6,
                lon: -123.12,
                accuracy_m: Some(7.5),
                speed_mps: Some(1.0),
            })
            .collect();
        outbox.enqueue(MutationKind::Breadcrumbs { fixes }, t0 + b);
    }
    outbox.enqueue(step(0, Transition::Start, serde_json::json!({})).kind, t0);
    for i in 0..48 {
        outbox.enqueue(note(0, &format!("backlog-{i}")).kind, t0 + i);
    }
    let outcome = serde_json::json!({ "outcome": { "contacts": 1, "conditions": "Quiet", "reports": 0 } });
    outbox.enqueue(step(0, Transition::Complete, outcome).kind, t0 + 100);
    outbox
}

/// The [`backlog`] of `batches` is on the server once, from `device`.
async fn assert_backlog_applied_once(app: &TestApp, device: &str, batches: i64) {
    let fixes = format!("SELECT COUNT(*) FROM gps_fixes WHERE device = '{device}'");
    assert_eq!(count(app, &fixes).await, 500 * batches);
    let log = format!("SELECT COUNT(*) FROM mutation_log WHERE device_id = '{device}'");
    assert_eq!(count(app, &log).await, batches + 50);
    assert_eq!(count(app, "SELECT COUNT(*) FROM mission_notes WHERE body LIKE 'note backlog-%'").await, 48);
    assert_eq!((events(app, "start").await, events(app, "complete").await), (1, 1));
}

/// The service worker cannot batch a sealed store, so it sends all of it: a backlog of a few
/// days' breadcrumbs (30,000 fixes), sealed and hex-encoded, is past the general body limit, and
/// the sealed push still takes it and applies it once (a repeat changes nothing); past its own
/// limit it is refused with 413.
#[tokio::test]
async fn a_sealed_backlog_of_days_goes_through_background_sync_once() {
    let app = test_app().await;
    let c = crew(&app).await;
    let key = json_call("/api/device/key", &serde_json::json!({ "device_id": "phone-s" }), Some(&c.officer));
    let (status, _, text) = call(&app.router, key).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let sk = hex::decode(serde_json::from_str::<serde_json::Value>(&text).expect("json")["key"].as_str().expect("key"))
        .expect("hex");
    let dk = [11u8; 32];
    let state = serde_json::json!({
        "device_id": "phone-s", "username": "off1", "cookie": -1, "outbox": backlog(60),
        "server_missions": [], "rejections": [], "last_sync_ms": null, "last_error": null,
    });
    let body = serde_json::json!({
        "device_id": "phone-s", "key": seal(&sk, &dk), "state": seal(&dk, state.to_string().as_bytes()),
    });
    let bytes = body.to_string().len();
    assert!(bytes > server::config::DEFAULT_MAX_BODY_BYTES, "the sealed backlog is {bytes} bytes");
    for _ in 0..2 {
        let (status, _, text) = call(&app.router, json_call("/api/sync/push-sealed", &body, Some(&c.officer))).await;
        assert_eq!(status, StatusCode::OK, "{}", &text[..text.len().min(300)]);
        assert_eq!(serde_json::from_str::<serde_json::Value>(&text).expect("json")["last_seq"], 110);
    }
    assert_backlog_applied_once(&app, "phone-s", 60).await;
    let huge = serde_json::json!({
        "device_id": "phone-s", "key": seal(&sk, &dk),
        "state": { "iv": "00", "ct": "ab".repeat(server::config::MAX_SEALED_PUSH_BYTES / 2 + 1) },
    });
    let (status, _, text) = call(&app.router, json_call("/api/sync/push-sealed", &huge, Some(&c.officer))).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{}", &text[..text.len().min(300)]);
}

fn seal(key: &[u8], plain: &[u8]) -> serde_json::Value {
    use aes_gcm::aead::Aead;
    use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
    let iv = [7u8; 12];
    let ct = Aes256Gcm::new_from_slice(key).expect("key").encrypt(Nonce::from_slice(&iv), plain).expect("seal");
    serde_json::json!({ "iv": hex::encode(iv), "ct": hex::encode(ct) })
}

/// The device key and the service worker's sealed push: a device's server-held key is handed
/// only to its owner (the same one each time, never to another user, never after revocation,
/// never into the audit log); a sealed field state whose data key that key unwraps is applied
/// exactly as a push (once; a repeat and the page's own later push are duplicates); anything
/// else is refused without effect.
#[tokio::test]
async fn the_server_held_key_opens_a_sealed_outbox_once_and_only_for_its_device() {
    let app = test_app().await;
    let c = crew(&app).await;
    let key_for = |device: &str, cookie: &str| {
        json_call("/api/device/key", &serde_json::json!({ "device_id": device }), Some(cookie))
    };
    let (status, _, text) = call(&app.router, key_for("phone-k", &c.officer)).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let sk_hex =
        serde_json::from_str::<serde_json::Value>(&text).expect("json")["key"].as_str().expect("key").to_string();
    let (_, _, again) = call(&app.router, key_for("phone-k", &c.officer)).await;
    assert!(again.contains(&sk_hex), "the same key each time");
    let (status, _, _) = call(&app.router, key_for("phone-k", &c.sergeant)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "another user's device");
    let audit = audit_of(&app, "sync_device").await;
    assert!(audit.iter().any(|r| r.target == "device phone-k"));
    assert!(!format!("{audit:?}").contains(&sk_hex), "the key is not in the audit log");

    // The device's sealed state: its data key wrapped by the server-held key.
    let sk = hex::decode(&sk_hex).expect("hex");
    let dk = [42u8; 32];
    let state = serde_json::json!({
        "device_id": "phone-k", "username": "off1", "cookie": -1,
        "outbox": { "next_seq": 3, "pending": [
            step(1, Transition::Start, serde_json::json!({})), note(2, "sealed-note") ] },
        "server_missions": [], "rejections": [], "last_sync_ms": null, "last_error": null,
    });
    let body = |key: &[u8], device: &str| {
        serde_json::json!({
            "device_id": device,
            "key": seal(key, &dk),
            "state": seal(&dk, state.to_string().as_bytes()),
        })
    };
    let sealed_push = |b: serde_json::Value, cookie: String| {
        let router = app.router.clone();
        async move { call(&router, json_call("/api/sync/push-sealed", &b, Some(&cookie))).await }
    };
    let (status, _, text) = sealed_push(body(&[9u8; 32], "phone-k"), c.officer.clone()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a key that is not the device's: {text}");
    assert_eq!(events(&app, "start").await, 0);
    let (status, _, text) = sealed_push(body(&sk, "phone-k"), c.sergeant.clone()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "not the sergeant's device: {text}");
    let (status, _, text) = sealed_push(body(&sk, "phone-k"), c.officer.clone()).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&text).expect("json")["last_seq"], 2);
    let (status, _, _) = sealed_push(body(&sk, "phone-k"), c.officer.clone()).await;
    assert_eq!(status, StatusCode::OK);
    let (status, v) = push(
        &app,
        "phone-k",
        vec![step(1, Transition::Start, serde_json::json!({})), note(2, "sealed-note")],
        &c.officer,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(v["results"].as_array().expect("r").iter().all(|r| r[1]["outcome"] == "duplicate"), "{v}");
    assert_eq!(events(&app, "start").await, 1);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM mission_notes WHERE body = 'note sealed-note'").await, 1);

    // Revoked: the session the phone used ends with it; a new sign-in gets no key and no sealed
    // push for that device.
    app.store.bodega.revoke_device("phone-k", None, "lost").await.expect("revoke");
    let (status, _, _) = call(&app.router, key_for("phone-k", &c.officer)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let fresh = sign_in(&app, "off1").await;
    let (status, _, _) = call(&app.router, key_for("phone-k", &fresh)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = sealed_push(body(&sk, "phone-k"), fresh.clone()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// A pull reads: a device id the server has never seen is answered (nothing synced, `last_seq`
/// 0) and not registered; a push registers it, and then another user's pull of it is refused.
#[tokio::test]
async fn a_pull_does_not_register_a_device_it_has_never_seen() {
    let app = test_app().await;
    let c = crew(&app).await;
    let (status, answer) = pull(&app, "never-seen-1", 0, &c.officer).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["last_seq"], 0);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM devices WHERE id = 'never-seen-1'").await, 0, "a pull made a device");
    let (status, answer) = push(&app, "never-seen-1", vec![note(1, "n-unseen")], &c.officer).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM devices WHERE id = 'never-seen-1'").await, 1, "the push registers it");
    let (status, _) = pull(&app, "never-seen-1", 0, &c.sergeant).await;
    assert_eq!(status, StatusCode::CONFLICT, "another user's device: registered to them");
}

/// A note whose id is already another note's is refused with a reason the device shows, never
/// dropped while the push says "applied"; the same note sent again by its author is kept once.
#[tokio::test]
async fn a_note_id_taken_by_another_note_is_rejected_not_lost() {
    let app = test_app().await;
    let c = crew(&app).await;
    let (status, body) = push(&app, "phone-1", vec![note(1, "n-1")], &c.officer).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The sergeant's device picks the same id for a different note.
    let mut clash = note(1, "n-1");
    if let MutationKind::Note { body, .. } = &mut clash.kind {
        *body = "the sergeant's own words".into();
    }
    let (status, body) = push(&app, "sgt-phone", vec![clash], &c.sergeant).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["results"][0][1]["outcome"], "rejected", "{body}");
    let (_, p) = pull(&app, "sgt-phone", 0, &c.sergeant).await;
    let reason = p["rejections"][0]["reason"].as_str().expect("a rejection the device shows");
    assert!(reason.contains("n-1") && reason.contains("not saved"), "{reason}");
    // The officer's device sends its note again under a new number: kept once, applied.
    let (status, body) = push(&app, "phone-1", vec![note(2, "n-1")], &c.officer).await;
    assert_eq!((status, body["results"][0][1]["outcome"].as_str()), (StatusCode::OK, Some("applied")), "{body}");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM mission_notes WHERE id = 'n-1'").await, 1);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM mission_notes WHERE body = 'note n-1'").await,
        1,
        "the first note kept"
    );
}

/// One rate limit for every sync and device route of a device: once its minute's requests are
/// spent (here on pulls), its sealed push, its key and its override report are refused 429 with
/// `Retry-After` too, and write nothing to the audit log; another device of the same officer is
/// not held back.
#[tokio::test]
async fn the_sync_rate_limit_covers_every_device_route() {
    let app = test_app().await;
    let c = crew(&app).await;
    app.store.bodega.register_device("phone-r", c.officer_id, "").await.expect("device");
    for _ in 0..server::limits::SYNC_REQUESTS_PER_MINUTE {
        assert_eq!(pull(&app, "phone-r", 0, &c.officer).await.0, StatusCode::OK);
    }
    let audit_before = count(&app, "SELECT COUNT(*) FROM audit_log").await;
    let at = jiff::Timestamp::now().as_second();
    let sealed = serde_json::json!({ "device_id": "phone-r", "key": seal(&[1u8; 32], &[2u8; 32]),
        "state": seal(&[2u8; 32], b"{}") });
    let routes = [
        ("/api/sync/push-sealed", sealed),
        ("/api/device/key", serde_json::json!({ "device_id": "phone-r" })),
        (
            "/api/sync/override",
            serde_json::json!({ "device_id": "phone-r", "supervisor": "sgt1", "at": at, "pending": 1 }),
        ),
    ];
    for (path, body) in routes {
        let (status, headers, text) = call(&app.router, json_call(path, &body, Some(&c.officer))).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{path}: {text}");
        assert!(headers.contains_key(axum::http::header::RETRY_AFTER), "{path}");
    }
    assert_eq!(count(&app, "SELECT COUNT(*) FROM audit_log").await, audit_before, "refused calls wrote audit rows");
    assert_eq!(pull(&app, "phone-other", 0, &c.officer).await.0, StatusCode::OK, "another device has its own minute");
}
