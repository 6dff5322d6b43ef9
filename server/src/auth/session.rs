//! The session layer (cookie → session → caller, for every handler and server function) and
//! the page guard (a page without a session goes to the sign-in screen).

use std::net::SocketAddr;

use app::auth::ssr::{Caller, ClientInfo, SessionProblem};
use app::error::ApiError;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use bodega::Bodega;

use super::config::AuthConfig;
use super::token::{cookie_token, token_hash};
use super::urlencode;
use crate::state::AppState;

pub(crate) fn client_info(req: &Request, trust_proxy: bool) -> ClientInfo {
    let forwarded = trust_proxy
        .then(|| req.headers().get("x-forwarded-for").and_then(|v| v.to_str().ok()))
        .flatten()
        // The entry the trusted proxy appended (the right-most): anything to its left came
        // from the client and may be forged.
        .and_then(|v| v.rsplit(',').next())
        .map(|s| s.trim().to_string());
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string());
    ClientInfo {
        ip: forwarded.or(peer).unwrap_or_else(|| "unknown".into()),
        user_agent: req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(200).collect())
            .unwrap_or_default(),
    }
}

/// Activity is written back at most this often per session (the idle lock is in minutes).
const TOUCH_EVERY: i64 = 30;

/// Resolves the session cookie into a [`Caller`] (or a [`SessionProblem`]) and the client's
/// address into [`ClientInfo`], for every handler and server function downstream.
pub async fn session_layer(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let cfg = &state.auth.config;
    let info = client_info(&req, cfg.trust_proxy);
    req.extensions_mut().insert(info);
    if let Some(token) = cookie_token(req.headers()) {
        let hash = token_hash(&token);
        match resolve_session(&state.ctx.bodega, &hash, cfg).await {
            Ok(Ok(caller)) => {
                req.extensions_mut().insert(caller);
            }
            Ok(Err(SessionEnd::Problem(problem))) => {
                req.extensions_mut().insert(problem);
            }
            Ok(Err(SessionEnd::DeviceRevoked(who))) => {
                req.extensions_mut().insert(SessionProblem::Ended);
                req.extensions_mut().insert(*who);
            }
            Err(e) => {
                tracing::error!(error = %e, "session lookup failed");
                return ApiError::Unavailable("the session could not be read".into()).into_response();
            }
        }
    }
    next.run(req).await
}

/// The session of a device an administrator revoked: it opens nothing, but the sync routes use it
/// to refuse that device's pushes with `device_revoked` and record the outbox it still holds.
#[derive(Debug, Clone)]
pub struct RevokedDeviceSession(pub Caller);

/// Why a cookie gives no caller.
enum SessionEnd {
    Problem(SessionProblem),
    DeviceRevoked(Box<RevokedDeviceSession>),
}

async fn resolve_session(
    bodega: &Bodega,
    hash: &str,
    cfg: &AuthConfig,
) -> Result<Result<Caller, SessionEnd>, bodega::BodegaError> {
    let ended = |p| Ok(Err(SessionEnd::Problem(p)));
    let Some(session) = bodega.session(hash).await? else {
        return ended(SessionProblem::Ended);
    };
    // A session whose device was revoked (now or before): ended, but known as such.
    if let Some(device) = &session.device_id {
        if bodega.device(device).await?.is_some_and(|d| d.revoked_at.is_some()) {
            if session.ended_at.is_none() {
                bodega.end_session(hash, "revoked").await?;
            }
            return Ok(match bodega.user_by_id(session.user_id).await? {
                Some(user) => Err(SessionEnd::DeviceRevoked(Box::new(RevokedDeviceSession(Caller {
                    user,
                    session_hash: hash.to_string(),
                    session_expires_at: session.expires_at,
                    device_id: session.device_id.clone(),
                })))),
                None => Err(SessionEnd::Problem(SessionProblem::Ended)),
            });
        }
    }
    let now = jiff::Timestamp::now().as_second();
    match lapsed(&session, now, cfg) {
        Some(SessionProblem::Ended) => return ended(SessionProblem::Ended),
        Some(problem) => {
            let reason = if problem == SessionProblem::Expired { "expired" } else { "idle" };
            bodega.end_session(hash, reason).await?;
            return ended(problem);
        }
        None => {}
    }
    let Some(user) = bodega.user_by_id(session.user_id).await?.filter(|u| u.active) else {
        bodega.end_session(hash, "deactivated").await?;
        return ended(SessionProblem::Ended);
    };
    if now - session.last_seen_at >= TOUCH_EVERY {
        bodega.touch_session(hash, now).await?;
    }
    Ok(Ok(Caller {
        user,
        session_hash: hash.to_string(),
        session_expires_at: session.expires_at,
        device_id: session.device_id,
    }))
}

/// Why `session` is over at `now`, if it is: ended, past its lifetime, or idle past the idle
/// lock. Reads only; the session layer records the end, the live stream just stops.
pub(crate) fn lapsed(session: &bodega::accounts::Session, now: i64, cfg: &AuthConfig) -> Option<SessionProblem> {
    if session.ended_at.is_some() {
        Some(SessionProblem::Ended)
    } else if now >= session.expires_at {
        Some(SessionProblem::Expired)
    } else if now - session.last_seen_at > cfg.idle_lock.as_secs() as i64 {
        Some(SessionProblem::IdleLocked)
    } else {
        None
    }
}

/// Paths anyone may load: the sign-in page, the offline shell and worker, static files, probes,
/// and the API (whose endpoints decide for themselves).
fn is_public_path(path: &str) -> bool {
    const PREFIXES: &[&str] = &["/api/", "/pkg/", "/icons/", "/signin", "/shell", "/sw.js", "/healthz", "/readyz"];
    PREFIXES.iter().any(|p| path.starts_with(p)) || path.rsplit('/').next().is_some_and(|last| last.contains('.'))
}

/// Sends a browser without a live session from any page to the sign-in screen, keeping where it
/// was going. (Offline, the service worker answers navigations with the shell instead.)
pub async fn page_guard(req: Request, next: Next) -> Response {
    let is_page_load = matches!(*req.method(), Method::GET | Method::HEAD) && !is_public_path(req.uri().path());
    if is_page_load && req.extensions().get::<Caller>().is_none() {
        let target = req.uri().path_and_query().map_or("/", |p| p.as_str());
        let problem = req.extensions().get::<SessionProblem>().copied();
        let reason = match problem {
            Some(SessionProblem::IdleLocked) => "&reason=idle",
            Some(SessionProblem::Expired) => "&reason=expired",
            _ => "",
        };
        return Redirect::to(&format!("/signin?next={}{reason}", urlencode(target))).into_response();
    }
    // A screen the caller's roles may not use still renders (it says what it is for, and its
    // data calls are refused on their own), answered 403 so no client mistakes it for theirs.
    let refused = is_page_load
        && req.extensions().get::<Caller>().is_some_and(|c| !app::auth::may_open(req.uri().path(), &c.user.roles));
    let mut response = next.run(req).await;
    if refused && response.status().is_success() {
        *response.status_mut() = StatusCode::FORBIDDEN;
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behind_a_trusted_proxy_the_address_is_the_one_it_appended() {
        let req = Request::builder()
            .header("x-forwarded-for", "203.0.113.66, 198.51.100.7")
            .body(axum::body::Body::empty())
            .expect("request");
        assert_eq!(client_info(&req, true).ip, "198.51.100.7", "the left entries are the client's to forge");
        assert_eq!(client_info(&req, false).ip, "unknown", "not trusted: the header is ignored");
    }
}
