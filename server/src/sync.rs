//! The sync's HTTP transport: `POST /api/sync/push` and `GET /api/sync/pull?cookie=N&device_id=D`.
//! JSON both ways, carrying `schema_version`. The protocol is `protocol::sync`; the exactly-once
//! apply is `bodega::sync`. This module only authenticates, rate-limits, decodes and maps
//! refusals to the one error envelope (`app::error::ApiError`), its codes and `details`:
//!
//! | answer | when |
//! |---|---|
//! | 200 | applied (push: per-mutation outcomes; pull: changes since the cookie) |
//! | 400 | the body is not JSON (or the pull's query string is wrong) |
//! | 413 | the body is over the size limit |
//! | 401 | no live session (the device keeps its outbox and pushes again after sign-in) |
//! | 403 | the role may not sync, or the device was revoked (`device_revoked`, details `pending`: the unsynced changes it reported) |
//! | 409 | `device_in_use`: the device is registered to another user |
//! | 409 | `upgrade` (another wire version; details `client`, `server`) or `gap` (details `last_seq`, `first`: resend from `last_seq + 1`) |
//! | 422 | not the push shape, or a malformed batch (too long, sequences not consecutive, bad device id) |
//! | 429 | more than the sync rate limit, with `Retry-After` |
//! | 503 | the Data Bodega is unavailable |

use app::auth::ssr::{Caller, SessionProblem};
use app::error::ApiError;
use axum::extract::{FromRequest, Query, Request, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bodega::audit::{AuditRecord, Outcome};
use bodega::sync::SyncError;
use protocol::sync::PushRequest;
use protocol::Action;
use serde::Deserialize;

use crate::gate::{device_asker, device_gate, device_limit, DeviceCaller};
use crate::state::AppState;

/// A refusal of the sync, as the envelope; a revoked device's is recorded with the outbox it
/// still holds.
pub(crate) async fn refusal(state: &AppState, caller: &Caller, device_id: &str, what: &str, e: SyncError) -> Response {
    let err = match e {
        SyncError::Refused(r) => ApiError::from_refusal(r),
        SyncError::DeviceOfAnotherUser => ApiError::DeviceInUse("this device is registered to another user".into()),
        SyncError::Revoked { pending } => {
            // The outbox a revoked device still holds is reported, so an administrator can
            // recover that work with the officer.
            let entry = AuditRecord {
                actor_user_id: Some(caller.user.id),
                actor: caller.user.username.clone(),
                action: Action::SyncDevice.as_str().into(),
                target: what.into(),
                device_id: Some(device_id.to_string()),
                outcome: Outcome::Denied,
                detail: format!("revoked device; it reported {pending} unsynced change(s)"),
                ..Default::default()
            };
            if let Err(e) = state.ctx.bodega.append_audit(&entry).await {
                tracing::error!(error = %e, "audit log write failed");
            }
            ApiError::DeviceRevoked {
                message: SyncError::Revoked { pending }.to_string(),
                pending: Some(pending as u64),
            }
        }
        SyncError::Store(e) => {
            tracing::error!(error = %e, "sync failed in the store");
            ApiError::Unavailable("the sync could not be applied".into())
        }
    };
    err.into_response()
}

/// `POST /api/sync/push`.
pub async fn push(State(state): State<AppState>, req: Request) -> Response {
    let DeviceCaller { caller, revoked } = match device_gate(&state, device_asker(&req), "/api/sync/push").await {
        Ok(c) => c,
        Err(resp) => return resp,
    };
    let Json(body) = match Json::<PushRequest>::from_request(req, &()).await {
        Ok(b) => b,
        // 400 for broken JSON, 422 for the wrong shape, 413 past the body limit.
        Err(e) => return body_refusal(e.status(), format!("the push body is not valid: {}", e.body_text())),
    };
    if let Some(resp) = device_limit(&state, caller.user.id, &body.device_id) {
        return resp;
    }
    if revoked && caller.device_id.as_deref() != Some(body.device_id.as_str()) {
        // A revoked device's session may not push as another device.
        return ApiError::Unauthenticated(SessionProblem::Ended.message().into()).into_response();
    }
    // The push registers the device (or finds it) and ties this session to it: revoking the
    // device then ends the session.
    match state.ctx.bodega.apply_push(&caller.user, Some(&caller.session_hash), &body).await {
        Ok(answer) => Json(answer).into_response(),
        Err(e) => refusal(&state, &caller, &body.device_id, "/api/sync/push", e).await,
    }
}

/// A body an extractor refused, as the envelope with the extractor's status (400 unreadable,
/// 413 too large, 422 the wrong shape).
pub(crate) fn body_refusal(status: axum::http::StatusCode, message: String) -> Response {
    match status.as_u16() {
        413 => ApiError::TooLarge(message),
        422 => ApiError::invalid("body", message),
        _ => ApiError::BadRequest(message),
    }
    .into_response()
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
    let caller = match device_gate(&state, device_asker(&req), "/api/sync/pull").await {
        Ok(DeviceCaller { caller, revoked: false }) => caller,
        // A revoked device's session pulls nothing.
        Ok(DeviceCaller { revoked: true, .. }) => {
            return ApiError::Unauthenticated(SessionProblem::Ended.message().into()).into_response()
        }
        Err(resp) => return resp,
    };
    let Query(q) = match Query::<PullQuery>::try_from_uri(req.uri()) {
        Ok(q) => q,
        Err(e) => {
            let message = format!("pull needs device_id and a numeric cookie: {}", e.body_text());
            return ApiError::BadRequest(message).into_response();
        }
    };
    if q.schema_version != protocol::sync::SCHEMA_VERSION {
        let e = SyncError::Refused(protocol::sync::SyncRefusal::Upgrade {
            client: q.schema_version,
            server: protocol::sync::SCHEMA_VERSION,
        });
        return refusal(&state, &caller, &q.device_id, "/api/sync/pull", e).await;
    }
    if let Some(resp) = device_limit(&state, caller.user.id, &q.device_id) {
        return resp;
    }
    match state.ctx.bodega.pull(&caller.user, &q.device_id, q.cookie).await {
        Ok(answer) => Json(answer).into_response(),
        Err(e) => refusal(&state, &caller, &q.device_id, "/api/sync/pull", e).await,
    }
}
