//! The device's calls to the server (browser only): the sync's push and pull
//! (`protocol::sync` over `/api/sync/*`), the supervisor's override report, and ending the
//! session.

use protocol::sync::{PullResponse, PushRequest, PushResponse, SCHEMA_VERSION};

use crate::net::fetch_json;

/// Ends the session on the server (`POST /api/auth/logout`).
///
/// # Errors
/// No signal.
pub async fn end_session() -> Result<(), String> {
    fetch_json("POST", "/api/auth/logout", None).await.map(|_| ())
}

/// Ends the session on the server as idle-locked (`POST /api/auth/logout?reason=idle`).
///
/// # Errors
/// No signal.
pub async fn end_session_idle() -> Result<(), String> {
    fetch_json("POST", "/api/auth/logout?reason=idle", None).await.map(|_| ())
}

/// Tells the server about a supervisor's override before the held work is pushed.
///
/// # Errors
/// No signal, or the server refused (the message says why).
pub async fn report_override(report: &protocol::sync::OverrideReport) -> Result<(), (u16, String)> {
    let body = serde_json::to_string(report).map_err(|e| (0, e.to_string()))?;
    match fetch_json("POST", "/api/sync/override", Some(body)).await {
        Err(e) => Err((0, e)),
        Ok((200, _)) => Ok(()),
        Ok((status, text)) => Err((status, message(status, &text))),
    }
}

fn message(status: u16, body: &str) -> String {
    let m = crate::net::answer_message(body).unwrap_or_else(|| format!("the server answered {status}"));
    if status == 401 {
        format!("sign in again to sync ({m}); your changes stay on this device")
    } else {
        m
    }
}

/// What a push achieved.
pub enum Pushed {
    /// The server holds everything up to this sequence number.
    Acknowledged(u64),
    /// The server holds less than the device thought: the pull says where it stands.
    Gap,
}

/// Pushes one batch of the outbox.
///
/// # Errors
/// Why it did not go through (no signal, signed out, refused), in words for the status line.
pub async fn push(device_id: &str, batch: Vec<protocol::sync::Mutation>) -> Result<Pushed, String> {
    // The device's clock as it sends: the server corrects the breadcrumbs' times by its skew.
    let sent_at = Some((js_sys::Date::now() / 1000.0) as i64);
    let req =
        PushRequest { schema_version: SCHEMA_VERSION, device_id: device_id.to_string(), mutations: batch, sent_at };
    let body = serde_json::to_string(&req).map_err(|e| e.to_string())?;
    match fetch_json("POST", "/api/sync/push", Some(body)).await? {
        (200, text) => serde_json::from_str::<PushResponse>(&text)
            .map(|r| Pushed::Acknowledged(r.last_seq))
            .map_err(|e| format!("the server's answer did not read: {e}")),
        (409, text) if text.contains("\"gap\"") => Ok(Pushed::Gap),
        // Out of date: fetch the new version; the outbox stays untouched for it.
        (409, text) if text.contains("\"upgrade\"") => {
            super::worker::check_for_update();
            Err(message(409, &text))
        }
        (status, text) => Err(message(status, &text)),
    }
}

/// Pulls what changed since `cookie`.
///
/// # Errors
/// As [`push`].
pub async fn pull(device_id: &str, cookie: i64) -> Result<PullResponse, String> {
    let url = format!("/api/sync/pull?cookie={cookie}&device_id={device_id}&schema_version={SCHEMA_VERSION}");
    match fetch_json("GET", &url, None).await? {
        (200, text) => serde_json::from_str(&text).map_err(|e| format!("the server's answer did not read: {e}")),
        (status, text) => Err(message(status, &text)),
    }
}
