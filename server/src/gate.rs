//! The one gate for the server's own routes (the axum ones; server functions pass
//! `app::auth::ssr::authorize`): who is asking, may they, and the refusal answered and recorded.

use app::auth::ssr::{Caller, ClientInfo, Grant, SessionProblem};
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use protocol::policy::Target;
use protocol::Action;

use crate::auth::session::RevokedDeviceSession;
use crate::state::AppState;

/// Who is asking: the client, the caller if signed in, and why not if a cookie came without a
/// live session.
pub type Asker = (ClientInfo, Option<Caller>, Option<SessionProblem>);

/// Who is asking, taken out of a request before any await (a request is not `Sync`, so no
/// reference to it may live across one).
pub fn asker(req: &Request) -> Asker {
    (
        req.extensions().get::<ClientInfo>().cloned().unwrap_or_default(),
        req.extensions().get::<Caller>().cloned(),
        req.extensions().get::<SessionProblem>().copied(),
    )
}

/// The one gate for a plain axum route (not a server function), for the [`asker`] of its
/// request: a refusal is recorded and answered (401/403 in the error envelope).
///
/// # Errors
/// The response to send instead.
pub async fn gate(
    state: &AppState,
    asker: Asker,
    action: Action,
    target: Target<'_>,
    what: &str,
) -> Result<Grant, Response> {
    let (client, caller, problem) = asker;
    app::auth::ssr::authorize_request(&state.ctx, caller, client, problem, action, target, what)
        .await
        .map_err(IntoResponse::into_response)
}

/// The sync routes' caller: allowed to sync, or the session of a device an administrator
/// revoked (`revoked`), whose pushes are read only to be refused with `device_revoked` and the
/// outbox it still holds recorded.
#[derive(Debug, Clone)]
pub struct DeviceCaller {
    /// The signed-in user (of the revoked device's session, when `revoked`).
    pub caller: Caller,
    /// The session belongs to a revoked device.
    pub revoked: bool,
}

/// Who is asking a sync route: [`asker`], and the session of a revoked device when that is what
/// the cookie opened (taken out of the request before any await, as [`asker`] is).
pub fn device_asker(req: &Request) -> (Asker, Option<Caller>) {
    (asker(req), req.extensions().get::<RevokedDeviceSession>().map(|r| r.0.clone()))
}

/// [`gate`] for the sync routes ([`Action::SyncDevice`] on the caller's own device), with the
/// revoked device's case.
///
/// # Errors
/// The response to send instead.
pub async fn device_gate(
    state: &AppState,
    (asker, revoked): (Asker, Option<Caller>),
    what: &str,
) -> Result<DeviceCaller, Response> {
    if asker.1.is_none() {
        if let Some(caller) = revoked {
            return Ok(DeviceCaller { caller, revoked: true });
        }
    }
    let grant = gate(state, asker, Action::SyncDevice, Target::Own, what).await?;
    Ok(DeviceCaller { caller: grant.caller, revoked: false })
}

/// The one rate limit of the sync and device routes (push, pull, sealed push, device key,
/// override report): the device id checked first (422 when malformed, before it is used as a
/// key), then [`crate::limits::SYNC_REQUESTS_PER_MINUTE`] per signed-in user and device, all
/// routes together, answered 429 with `Retry-After`.
pub fn device_limit(state: &AppState, user_id: i64, device: &str) -> Option<Response> {
    if let Err(reason) = protocol::sync::check_device_id(device) {
        return Some(app::error::ApiError::invalid("device_id", reason).into_response());
    }
    state.sync_limiter.check(&format!("{user_id}:{device}")).map(|secs| {
        let message = format!("too many sync requests from this device; wait {secs} s");
        app::error::ApiError::RateLimited { message, retry_after_s: secs }.into_response()
    })
}
