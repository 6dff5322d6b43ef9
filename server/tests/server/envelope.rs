//! One error envelope everywhere: each kind of refusal, on every surface it can arise on (the
//! server's axum routes, server functions, the sync routes), answers
//! `{"error": code, "message", "field"?, "details"?}` with the code's one status; and a device
//! running the previous build still recognises the sync refusals it acts on.

use protocol::error::{status_of, ErrorEnvelope};
use protocol::sync::{Mutation, MutationKind, PushRequest, SCHEMA_VERSION};
use protocol::Role;

use super::auth::json_call;
use super::*;

/// Checks one refusal: its status, that the body is the envelope with `code`, the status is the
/// code's, and the message says something. Returns the envelope.
fn refused(what: &str, answer: (StatusCode, axum::http::HeaderMap, String), code: &str) -> ErrorEnvelope {
    let (status, headers, body) = answer;
    let envelope: ErrorEnvelope =
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{what}: not the envelope ({e}): {status} {body}"));
    assert_eq!(envelope.error, code, "{what}: {body}");
    assert_eq!(status.as_u16(), status_of(code), "{what}: {code} answers {}", status_of(code));
    assert!(!envelope.message.trim().is_empty(), "{what}: a message");
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    assert!(ct.starts_with("application/json"), "{what}: {ct}");
    envelope
}

fn note(seq: u64, id: &str) -> Mutation {
    Mutation {
        seq,
        kind: MutationKind::Note {
            note_id: id.into(),
            mission_id: "m-none".into(),
            body: "n".into(),
            supersedes: None,
        },
        device_time: 1_700_000_000,
    }
}

fn push(device: &str, mutations: Vec<Mutation>, cookie: Option<&str>) -> Request<Body> {
    push_request(device, mutations, None, cookie)
}

fn too_large(path: &str, limit: usize, cookie: Option<&str>) -> Request<Body> {
    let big = vec![b'a'; limit + 1];
    let req = Request::post(path)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_LENGTH, big.len())
        .body(Body::from(big))
        .expect("request");
    match cookie {
        Some(c) => with_cookie(req, c),
        None => req,
    }
}

#[tokio::test]
async fn every_refusal_is_the_one_envelope_with_its_status_on_every_surface() {
    let app = test_app().await;
    add_user(&app, "off1", &[Role::Officer], &["D1"]).await;
    add_user(&app, "off2", &[Role::Officer], &["D1"]).await;
    add_user(&app, "adm", &[Role::Admin], &[]).await;
    add_user(&app, "cmd", &[Role::Command], &[]).await;
    add_user(&app, "ana", &[Role::Analyst], &[]).await;
    let officer = sign_in(&app, "off1").await;
    let analyst = sign_in(&app, "ana").await;
    let admin = sign_in(&app, "adm").await;
    let command = sign_in(&app, "cmd").await;
    let r = &app.router;
    let limit = server::config::DEFAULT_MAX_BODY_BYTES;

    // ---- bad input (400 unreadable, 422 naming the field)
    let bad_json = Request::post("/api/auth/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{not json"))
        .expect("request");
    refused("route: unreadable body", call(r, bad_json).await, "bad_request");
    let e =
        refused("route: a missing field", call(r, login_request("off1", "", serde_json::json!({}))).await, "invalid");
    assert_eq!(e.field.as_deref(), Some("password"));
    let shift = serde_json::json!({ "shift": { "district": "D1", "shift": "B", "shift_date": "2020-13-45" } });
    let e = refused(
        "server function: a bad date",
        call(r, json_call("/api/missions/recommend", &shift, Some(&command))).await,
        "invalid",
    );
    assert_eq!(e.field.as_deref(), Some("shift_date"));
    let undecodable = json_call("/api/missions/recommend", &serde_json::json!({ "shift": 7 }), Some(&command));
    refused("server function: arguments that do not decode", call(r, undecodable).await, "bad_request");
    let e = refused(
        "sync: a malformed device id",
        call(r, push("  padded  ", vec![note(1, "n")], Some(&officer))).await,
        "invalid",
    );
    assert_eq!(e.field.as_deref(), Some("device_id"));

    // ---- not signed in (401)
    refused(
        "route: upload signed out",
        call(r, Request::post("/api/ingest/incidents?file_name=a.csv").body(Body::from("x")).expect("req")).await,
        "unauthenticated",
    );
    refused("server function signed out", call(r, server_fn("/api/city_overview", None)).await, "unauthenticated");
    refused("sync: push signed out", call(r, push("phone-1", vec![note(1, "n")], None)).await, "unauthenticated");
    refused(
        "sync: pull signed out",
        call(r, get("/api/sync/pull?cookie=0&device_id=phone-1")).await,
        "unauthenticated",
    );
    refused(
        "route: wrong password",
        call(r, login_request("off1", "not the password", serde_json::json!({}))).await,
        "bad_credentials",
    );

    // ---- forbidden (403)
    refused(
        "route: an officer uploading",
        call(
            r,
            with_cookie(
                Request::post("/api/ingest/incidents?file_name=a.csv").body(Body::from("x")).expect("req"),
                &officer,
            ),
        )
        .await,
        "forbidden",
    );
    refused(
        "server function: an officer listing accounts",
        call(r, json_call("/api/admin/accounts", &serde_json::json!({}), Some(&officer))).await,
        "forbidden",
    );
    refused(
        "sync: an administrator syncing",
        call(r, push("adm-phone", vec![note(1, "n")], Some(&admin))).await,
        "forbidden",
    );
    let cross_site = with_cookie(
        Request::post("/api/sync/push").header("sec-fetch-site", "cross-site").body(Body::empty()).expect("req"),
        &officer,
    );
    refused("a cross-site change", call(r, cross_site).await, "cross_site");

    // ---- not found (404)
    refused(
        "route: an upload of an unknown kind",
        call(
            r,
            with_cookie(
                Request::post("/api/ingest/nonsense?file_name=a.csv").body(Body::from("x")).expect("req"),
                &analyst,
            ),
        )
        .await,
        "not_found",
    );
    refused(
        "server function: an unknown mission",
        call(r, json_call("/api/missions/events", &serde_json::json!({ "id": "no-such-mission" }), Some(&command)))
            .await,
        "not_found",
    );

    // ---- conflict (409): a device registered to another user; a sync gap and an old version
    assert_eq!(call(r, push("phone-1", vec![note(1, "n-1")], Some(&officer))).await.0, StatusCode::OK);
    let other = sign_in(&app, "off2").await;
    refused(
        "sync: another user's device",
        call(r, push("phone-1", vec![note(1, "x")], Some(&other))).await,
        "device_in_use",
    );
    refused(
        "route: signing in on another user's device",
        call(r, login_request("off2", PASSWORD, serde_json::json!({ "device_id": "phone-1" }))).await,
        "device_in_use",
    );
    let e = refused("sync: a gap", call(r, push("phone-1", vec![note(5, "n-5")], Some(&officer))).await, "gap");
    assert_eq!((e.detail_u64("last_seq"), e.detail_u64("first")), (Some(1), Some(5)));
    let e = refused(
        "sync: another wire version",
        call(r, with_cookie(get("/api/sync/pull?cookie=0&device_id=phone-1&schema_version=99"), &officer)).await,
        "upgrade",
    );
    assert_eq!((e.detail_u64("client"), e.detail_u64("server")), (Some(99), Some(u64::from(SCHEMA_VERSION))));
    let cmd_id = app.store.bodega.user_by_username("cmd").await.expect("q").expect("cmd").id;
    let mission_id = "0193b3c4-0000-7000-8000-0000envelope";
    issue_test_mission(&app, mission_id, cmd_id, false).await;
    add_user(&app, "sgt1", &[Role::Sergeant], &["D1"]).await;
    let sergeant = sign_in(&app, "sgt1").await;
    let ack = serde_json::json!({ "id": mission_id, "step": "acknowledge", "args": {} });
    assert_eq!(call(r, json_call("/api/missions/transition", &ack, Some(&sergeant))).await.0, StatusCode::OK);
    refused(
        "server function: a step not allowed from here",
        call(r, json_call("/api/missions/transition", &ack, Some(&sergeant))).await,
        "conflict",
    );

    // ---- rate limited (429, with Retry-After and details)
    for _ in 0..crate_limit() {
        call(r, with_cookie(get("/api/sync/pull?cookie=0&device_id=phone-9"), &officer)).await;
    }
    let answer = call(r, with_cookie(get("/api/sync/pull?cookie=0&device_id=phone-9"), &officer)).await;
    assert!(answer.1.contains_key(header::RETRY_AFTER), "sync: Retry-After");
    let e = refused("sync: too many requests", answer, "rate_limited");
    assert!(e.detail_u64("retry_after_s").is_some_and(|s| (1..=60).contains(&s)));

    // ---- revoked device (403 with the outbox it reported, on sync; at sign-in; and its session
    // ends everywhere else)
    app.store.bodega.revoke_device("phone-1", None, "lost").await.expect("revoke");
    let e = refused(
        "sync: a revoked device",
        call(r, push("phone-1", vec![note(2, "n-2"), note(3, "n-3")], Some(&officer))).await,
        "device_revoked",
    );
    assert_eq!(e.detail_u64("pending"), Some(2));
    refused(
        "route: signing in on a revoked device",
        call(r, login_request("off1", PASSWORD, serde_json::json!({ "device_id": "phone-1" }))).await,
        "device_revoked",
    );
    refused(
        "server function: the revoked device's session",
        call(r, server_fn("/api/city_overview", Some(&officer))).await,
        "unauthenticated",
    );

    // ---- body too large (413)
    refused("route: too large", call(r, too_large("/api/auth/login", limit, None)).await, "too_large");
    refused(
        "server function: too large",
        call(r, too_large("/api/city_overview", limit, Some(&command))).await,
        "too_large",
    );
    refused("sync: too large", call(r, too_large("/api/sync/push", limit, Some(&command))).await, "too_large");
    refused(
        "sync: a sealed push too large",
        call(r, too_large("/api/sync/push-sealed", server::config::MAX_SEALED_PUSH_BYTES, Some(&command))).await,
        "too_large",
    );

    // ---- rate limited at sign-in (last: it locks this client's sign-ins for a minute); a name
    // each try, since five failures for one name lock that name on this client first
    let mut last = None;
    for i in 0..12 {
        last = Some(call(r, login_request(&format!("nobody{i}"), "wrong", serde_json::json!({}))).await);
    }
    let answer = last.expect("tried");
    assert!(answer.1.contains_key(header::RETRY_AFTER), "route: Retry-After");
    refused("route: too many failed sign-ins", answer, "rate_limited");
}

/// Requests a device may make per minute before the sync answers 429.
fn crate_limit() -> u32 {
    server::limits::SYNC_REQUESTS_PER_MINUTE
}

/// The previous build's device code, frozen as it shipped (`app/src/field.rs` at f878636,
/// `field::device::{push, message, answer_message}`): how a device in the field tells a gap and
/// an old version from any other refusal, and what it shows.
mod previous_build {
    #[derive(Debug, PartialEq, Eq)]
    pub enum Pushed {
        Gap,
        Upgrade(String),
        Refused(String),
    }

    fn answer_message(body: &str) -> Option<String> {
        serde_json::from_str::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_string))
    }

    fn message(status: u16, body: &str) -> String {
        let m = answer_message(body).unwrap_or_else(|| format!("the server answered {status}"));
        if status == 401 {
            format!("sign in again to sync ({m}); your changes stay on this device")
        } else {
            m
        }
    }

    pub fn push_outcome(status: u16, text: &str) -> Pushed {
        match (status, text) {
            (409, text) if text.contains("\"gap\"") => Pushed::Gap,
            (409, text) if text.contains("\"upgrade\"") => Pushed::Upgrade(message(409, text)),
            (status, text) => Pushed::Refused(message(status, text)),
        }
    }
}

#[tokio::test]
async fn a_device_running_the_previous_build_still_recognises_the_sync_refusals_it_acts_on() {
    use previous_build::{push_outcome, Pushed};
    let app = test_app().await;
    add_user(&app, "off1", &[Role::Officer], &["D1"]).await;
    let officer = sign_in(&app, "off1").await;
    let r = &app.router;
    // A gap: the device pulls to learn where the server stands, and resends.
    let (status, _, body) = call(r, push("phone-1", vec![note(3, "n-3")], Some(&officer))).await;
    assert_eq!(push_outcome(status.as_u16(), &body), Pushed::Gap, "{body}");
    // Another wire version: the device looks for an update and keeps its outbox.
    let mut old = serde_json::to_value(PushRequest {
        schema_version: 99,
        device_id: "phone-1".into(),
        mutations: vec![note(1, "n")],
        sent_at: None,
    })
    .expect("json");
    old["schema_version"] = 99.into();
    let (status, _, body) = call(r, json_call("/api/sync/push", &old, Some(&officer))).await;
    match push_outcome(status.as_u16(), &body) {
        Pushed::Upgrade(m) => assert!(m.contains("out of date"), "{m}"),
        other => panic!("an old client must see the upgrade: {other:?} ({body})"),
    }
    // Any other refusal: shown in words, from the envelope's message (never "the server answered").
    let (status, _, body) = call(r, push("phone-1", vec![note(1, "n")], None)).await;
    match push_outcome(status.as_u16(), &body) {
        Pushed::Refused(m) => {
            assert!(m.starts_with("sign in again to sync (") && !m.contains("the server answered"), "{m}")
        }
        other => panic!("{other:?}"),
    }
    app.store.bodega.revoke_device("phone-1", None, "lost").await.expect("revoke");
    let (status, _, body) = call(r, push("phone-1", vec![note(1, "n")], Some(&officer))).await;
    match push_outcome(status.as_u16(), &body) {
        Pushed::Refused(m) => assert!(m.contains("revoked"), "{m}"),
        other => panic!("{other:?}"),
    }
}

/// A body past the limit is 413 whether its length is declared or it arrives chunked (the server
/// functions' decoder used to call a chunked one malformed, 400), on a server function and on an
/// axum route, and the 413 carries the security headers every other answer carries.
#[tokio::test]
async fn an_overlong_body_is_413_declared_or_chunked_with_the_security_headers() {
    let app = test_app().await;
    let r = &app.router;
    let limit = server::config::DEFAULT_MAX_BODY_BYTES;
    let chunked = |path: &str| {
        let pieces: Vec<Result<Vec<u8>, std::io::Error>> = (0..=limit / 4096).map(|_| Ok(vec![b'a'; 4096])).collect();
        Request::post(path)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from_stream(futures_util::stream::iter(pieces)))
            .expect("request")
    };
    for (what, req) in [
        ("server function, declared", too_large("/api/missions/board", limit, None)),
        ("server function, chunked", chunked("/api/missions/board")),
        ("axum route, declared", too_large("/api/sync/push", limit, None)),
        ("axum route, chunked", chunked("/api/sync/push")),
    ] {
        let (status, headers, body) = call(r, req).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{what}: {body}");
        for h in [header::CONTENT_SECURITY_POLICY, header::X_CONTENT_TYPE_OPTIONS, header::X_FRAME_OPTIONS] {
            assert!(headers.contains_key(&h), "{what}: no {h}");
        }
        let e: ErrorEnvelope = serde_json::from_str(&body).expect("the one envelope");
        assert_eq!(e.error, "too_large", "{what}");
    }
}
