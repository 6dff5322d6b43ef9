//! The sync's HTTP transport: `POST /api/sync/push` and `GET /api/sync/pull?cookie=N&device_id=D`.
//! JSON both ways, carrying `schema_version`. The protocol is `protocol::sync`; the exactly-once
//! apply is `bodega::sync`. This module only authenticates, rate-limits, decodes and maps
//! refusals to statuses:
//!
//! | answer | when |
//! |---|---|
//! | 200 | applied (push: per-mutation outcomes; pull: changes since the cookie) |
//! | 400 | the body is not JSON (or the pull's query string is wrong) |
//! | 413 | the body is over the size limit |
//! | 401 | no live session (the device keeps its outbox and pushes again after sign-in) |
//! | 403 | the role may not sync, the device is another user's, or it was revoked (with the count of unsynced changes it reported) |
//! | 409 | `upgrade` (another wire version) or `gap` (with the server's `last_seq`: resend from there) |
//! | 422 | not the push shape, or a malformed batch (too long, sequences not consecutive, bad device id) |
//! | 429 | more than the sync rate limit, with `Retry-After` |
//! | 503 | the Data Bodega is unavailable |

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use app::auth::ssr::{Caller, ClientInfo, SessionProblem};
use axum::extract::{FromRequest, Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bodega::audit::{AuditEntry, Outcome};
use bodega::sync::SyncError;
use protocol::policy::{decide, Decision, Target};
use protocol::sync::{PushRequest, SyncRefusal};
use protocol::Action;
use serde::Deserialize;

use crate::auth::ErrorBody;
use crate::AppState;

/// Requests per device per minute (push and pull together). A device syncing after every write,
/// on every wake and on a back-off timer stays far below it.
pub const SYNC_REQUESTS_PER_MINUTE: u32 = 240;

/// A fixed one-minute window per device.
#[derive(Debug, Default)]
pub struct SyncLimiter {
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

impl SyncLimiter {
    /// Counts a request; returns the seconds to wait when over the limit.
    pub fn check(&self, key: &str) -> Option<u64> {
        let mut map = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if map.len() > 100_000 {
            map.retain(|_, (start, _)| now.duration_since(*start) < Duration::from_secs(60));
        }
        let entry = map.entry(key.to_string()).or_insert((now, 0));
        if now.duration_since(entry.0) >= Duration::from_secs(60) {
            *entry = (now, 0);
        }
        entry.1 += 1;
        (entry.1 > SYNC_REQUESTS_PER_MINUTE).then(|| 60u64.saturating_sub(now.duration_since(entry.0).as_secs()).max(1))
    }
}

fn error(status: StatusCode, body: ErrorBody) -> Response {
    (status, Json(body)).into_response()
}

/// The caller, allowed to sync; or the answer that says why not (recorded when denied).
async fn gate_caller(
    state: &AppState,
    info: ClientInfo,
    caller: Option<Caller>,
    problem: Option<SessionProblem>,
    what: &str,
) -> Result<Caller, Response> {
    let Some(caller) = caller else {
        let reason = problem.map_or("sign in to sync", |p| p.message());
        return Err(error(StatusCode::UNAUTHORIZED, ErrorBody::new("unauthenticated", reason)));
    };
    if let Decision::Deny(reason) = decide(&caller.user.subject(), Action::SyncDevice, Target::Own) {
        let entry = AuditEntry {
            actor_user_id: Some(caller.user.id),
            actor: caller.user.username.clone(),
            action: Action::SyncDevice.as_str().into(),
            target: what.into(),
            source_ip: info.ip,
            device_id: caller.device_id.clone(),
            outcome: Some(Outcome::Denied),
            detail: reason.clone(),
            ..Default::default()
        };
        if let Err(e) = state.ctx.bodega.append_audit(&entry).await {
            tracing::error!(error = %e, "audit log write failed");
        }
        return Err(error(StatusCode::FORBIDDEN, ErrorBody::new("forbidden", reason)));
    }
    Ok(caller)
}

/// The device id checked first (422 when malformed, before it is used as a key), then the
/// per-device rate limit, keyed by the signed-in user and the device.
fn limited(state: &AppState, caller: &Caller, device: &str) -> Option<Response> {
    if let Err(reason) = protocol::sync::check_device_id(device) {
        return Some(error(StatusCode::UNPROCESSABLE_ENTITY, ErrorBody::new("invalid", reason)));
    }
    state.sync_limiter.check(&format!("{}:{device}", caller.user.id)).map(|secs| {
        let mut resp = error(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorBody::new("rate_limited", format!("too many sync requests from this device; wait {secs} s")),
        );
        resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        resp
    })
}

pub(crate) async fn refusal(state: &AppState, caller: &Caller, device_id: &str, what: &str, e: SyncError) -> Response {
    match e {
        SyncError::Refused(SyncRefusal::Upgrade { client, server }) => (
            StatusCode::CONFLICT,
            Json(serde_json::json!({
                "error": "upgrade", "client": client, "server": server,
                "message": SyncRefusal::Upgrade { client, server }.to_string(),
            })),
        )
            .into_response(),
        SyncError::Refused(SyncRefusal::Gap { last_seq, first }) => (
            StatusCode::CONFLICT,
            Json(serde_json::json!({
                "error": "gap", "last_seq": last_seq, "first": first,
                "message": SyncRefusal::Gap { last_seq, first }.to_string(),
            })),
        )
            .into_response(),
        SyncError::Refused(SyncRefusal::Malformed(m)) => {
            error(StatusCode::UNPROCESSABLE_ENTITY, ErrorBody::new("invalid", m))
        }
        SyncError::DeviceOfAnotherUser => {
            error(StatusCode::FORBIDDEN, ErrorBody::new("device_in_use", "this device is registered to another user"))
        }
        SyncError::Revoked { pending } => {
            // The outbox a revoked device still holds is reported, so an administrator can
            // recover that work with the officer.
            let entry = AuditEntry {
                actor_user_id: Some(caller.user.id),
                actor: caller.user.username.clone(),
                action: Action::SyncDevice.as_str().into(),
                target: what.into(),
                device_id: Some(device_id.to_string()),
                outcome: Some(Outcome::Denied),
                detail: format!("revoked device; it reported {pending} unsynced change(s)"),
                ..Default::default()
            };
            if let Err(e) = state.ctx.bodega.append_audit(&entry).await {
                tracing::error!(error = %e, "audit log write failed");
            }
            (
                StatusCode::FORBIDDEN,
                Json(serde_json::json!({
                    "error": "device_revoked", "pending": pending,
                    "message": SyncError::Revoked { pending }.to_string(),
                })),
            )
                .into_response()
        }
        SyncError::Store(e) => {
            tracing::error!(error = %e, "sync failed in the store");
            error(StatusCode::SERVICE_UNAVAILABLE, ErrorBody::new("unavailable", "the Data Bodega is unavailable"))
        }
    }
}

/// `POST /api/sync/push`.
pub async fn push(State(state): State<AppState>, req: Request) -> Response {
    let (info, caller, problem) = crate::asker(&req);
    let revoked = req.extensions().get::<crate::auth::RevokedDeviceSession>().cloned();
    let (caller, from_revoked) = match (caller, revoked) {
        // The session of a revoked device: its push is read only to be refused and reported.
        (None, Some(crate::auth::RevokedDeviceSession(c))) => (c, true),
        (caller, _) => match gate_caller(&state, info, caller, problem, "/api/sync/push").await {
            Ok(c) => (c, false),
            Err(resp) => return resp,
        },
    };
    let Json(body) = match Json::<PushRequest>::from_request(req, &()).await {
        Ok(b) => b,
        Err(e) => {
            // 400 for broken JSON, 422 for the wrong shape, 413 past the body limit.
            return error(
                e.status(),
                ErrorBody::new("invalid", format!("the push body is not valid: {}", e.body_text())),
            );
        }
    };
    if let Some(resp) = limited(&state, &caller, &body.device_id) {
        return resp;
    }
    if from_revoked && caller.device_id.as_deref() != Some(body.device_id.as_str()) {
        // A revoked device's session may not push as another device.
        let reason = SessionProblem::Ended.message();
        return error(StatusCode::UNAUTHORIZED, ErrorBody::new("unauthenticated", reason));
    }
    match state.ctx.bodega.apply_push(&caller.user, &body).await {
        Ok(answer) => {
            // The push registered the device (or found it): revoking it now ends this session.
            if caller.device_id.is_none() {
                if let Err(e) = state.ctx.bodega.bind_session_device(&caller.session_hash, &body.device_id).await {
                    tracing::warn!(error = %e, "tying the session to its device failed");
                }
            }
            Json(answer).into_response()
        }
        Err(e) => refusal(&state, &caller, &body.device_id, "/api/sync/push", e).await,
    }
}

/// The pull's query string.
#[derive(Debug, Deserialize)]
pub struct PullQuery {
    /// The cookie from the last pull (0 or absent: everything).
    #[serde(default)]
    pub cookie: i64,
    /// The device pulling.
    pub device_id: String,
    /// The wire version the device speaks.
    #[serde(default = "current_version")]
    pub schema_version: u32,
}

fn current_version() -> u32 {
    protocol::sync::SCHEMA_VERSION
}

/// `GET /api/sync/pull?cookie=N&device_id=D`.
pub async fn pull(State(state): State<AppState>, req: Request) -> Response {
    let (info, caller, problem) = crate::asker(&req);
    let caller = match gate_caller(&state, info, caller, problem, "/api/sync/pull").await {
        Ok(c) => c,
        Err(resp) => return resp,
    };
    let Query(q) = match Query::<PullQuery>::try_from_uri(req.uri()) {
        Ok(q) => q,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                ErrorBody::new("invalid", format!("pull needs device_id and a numeric cookie: {}", e.body_text())),
            )
        }
    };
    if q.schema_version != protocol::sync::SCHEMA_VERSION {
        let e = SyncError::Refused(SyncRefusal::Upgrade {
            client: q.schema_version,
            server: protocol::sync::SCHEMA_VERSION,
        });
        return refusal(&state, &caller, &q.device_id, "/api/sync/pull", e).await;
    }
    if let Some(resp) = limited(&state, &caller, &q.device_id) {
        return resp;
    }
    match state.ctx.bodega.pull(&caller.user, &q.device_id, q.cookie).await {
        Ok(answer) => Json(answer).into_response(),
        Err(e) => refusal(&state, &caller, &q.device_id, "/api/sync/pull", e).await,
    }
}
