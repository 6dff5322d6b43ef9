//! `POST /api/auth/login` (JSON or an HTML form) and `POST /api/auth/logout`.

use app::auth::ssr::{Caller, ClientInfo};
use app::error::ApiError;
use axum::extract::{FromRequest, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use bodega::accounts::{NewSession, User};
use bodega::audit::{AuditRecord, Outcome};
use bodega::Bodega;
use serde::{Deserialize, Serialize};

use super::password::{sign_in_turn, verify_password, verify_totp};
use super::token::{clearing_cookie, cookie_token, new_token, session_cookie, token_hash};
use super::{safe_next, urlencode};
use crate::state::AppState;

/// What `POST /api/auth/login` takes.
#[derive(Debug, Deserialize)]
pub struct LoginRequest {
    /// Sign-in name.
    #[serde(default)]
    pub username: String,
    /// Password.
    #[serde(default)]
    pub password: String,
    /// Six-digit code, for accounts with a second factor.
    #[serde(default)]
    pub totp: Option<String>,
    /// This install's device id, to register the device to the user.
    #[serde(default)]
    pub device_id: Option<String>,
    /// Where a form sign-in goes afterwards (a local path).
    #[serde(default)]
    pub next: Option<String>,
}

/// What a successful sign-in returns.
#[derive(Debug, Serialize, Deserialize)]
pub struct LoginResponse {
    /// Who signed in.
    pub me: app::auth::Me,
}

/// Reads JSON or an HTML form.
pub struct LoginInput {
    request: LoginRequest,
    is_form: bool,
}

impl<S: Send + Sync> FromRequest<S> for LoginInput {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/json"));
        let bad = |m: String| ApiError::BadRequest(m).into_response();
        if is_json {
            let Json(request) = Json::<LoginRequest>::from_request(req, state)
                .await
                .map_err(|e| bad(format!("the sign-in body is not valid JSON: {}", e.body_text())))?;
            Ok(LoginInput { request, is_form: false })
        } else {
            let Form(request) = Form::<LoginRequest>::from_request(req, state)
                .await
                .map_err(|e| bad(format!("the sign-in form could not be read: {}", e.body_text())))?;
            Ok(LoginInput { request, is_form: true })
        }
    }
}

/// A refused sign-in: the envelope for a JSON client; for a form, back to the sign-in page with
/// the code (a rate limit keeps its status and `Retry-After`).
fn login_failure(is_form: bool, next: &str, err: ApiError) -> Response {
    if !is_form {
        return err.into_response();
    }
    let q = format!("/signin?error={}&next={}", err.code(), urlencode(next));
    let mut resp = Redirect::to(&q).into_response();
    if let ApiError::RateLimited { retry_after_s, .. } = err {
        *resp.status_mut() = StatusCode::TOO_MANY_REQUESTS;
        resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_s));
    }
    resp
}

pub async fn audit(bodega: &Bodega, entry: AuditRecord) {
    if let Err(e) = bodega.append_audit(&entry).await {
        tracing::error!(error = %e, action = %entry.action, "audit log write failed");
    }
}

/// `POST /api/auth/login`.
pub async fn login(State(state): State<AppState>, headers: HeaderMap, req: Request) -> Response {
    let info = req.extensions().get::<ClientInfo>().cloned().unwrap_or_default();
    let LoginInput { request, is_form } = match LoginInput::from_request(req, &()).await {
        Ok(i) => i,
        Err(resp) => return resp,
    };
    let bodega = &state.ctx.bodega;
    let cfg = &state.auth.config;
    let next = safe_next(request.next.as_deref());
    let username = request.username.trim().to_lowercase();
    if username.is_empty() || request.password.is_empty() {
        let field = if username.is_empty() { "username" } else { "password" };
        return login_failure(is_form, &next, ApiError::invalid(field, format!("{field} is required")));
    }
    if username.chars().count() > 64 || request.password.chars().count() > 1024 {
        let field = if username.chars().count() > 64 { "username" } else { "password" };
        return login_failure(is_form, &next, ApiError::invalid(field, "username or password is too long"));
    }
    let base = AuditRecord {
        actor: username.clone(),
        action: "sign_in".into(),
        target: "/api/auth/login".into(),
        source_ip: info.ip.clone(),
        device_id: request.device_id.clone(),
        ..Default::default()
    };

    let turn = sign_in_turn().await;
    // Rate limit before any hash is computed.
    let (ip_key, name_key) = (format!("ip:{}", info.ip), format!("user:{username}"));
    let limited = state
        .auth
        .failures
        .retry_after(&ip_key, cfg.failures_per_minute)
        .max(state.auth.failures.retry_after(&name_key, cfg.failures_per_minute));
    if let Some(secs) = limited {
        audit(bodega, AuditRecord { outcome: Outcome::Denied, detail: "rate limited".into(), ..base }).await;
        let message = format!("too many failed sign-ins; try again in {secs} s");
        return login_failure(is_form, &next, ApiError::RateLimited { message, retry_after_s: secs });
    }

    // Locked on this client for this name (known or not: the answer must not tell which names
    // exist), or locked everywhere after the account-wide cap: one answer for both.
    let client_key = format!("{}|{username}", info.ip);
    let locked = |secs: i64| {
        let minutes = (secs + 59) / 60;
        ApiError::Locked(format!(
            "too many failed sign-ins for this name; try again in {minutes} min or ask an administrator"
        ))
    };
    if let Some(secs) = state.auth.client_locks.retry_after(&client_key, cfg.lock_after_failures as usize) {
        audit(bodega, AuditRecord { outcome: Outcome::Denied, detail: "locked on this client".into(), ..base }).await;
        return login_failure(is_form, &next, locked(secs as i64));
    }
    let user = match bodega.user_by_username(&username).await {
        Ok(u) => u,
        Err(e) => {
            tracing::error!(error = %e, "user lookup failed");
            return login_failure(is_form, &next, ApiError::Unavailable("the user could not be read".into()));
        }
    };
    let now = jiff::Timestamp::now().as_second();
    if let Some(u) = &user {
        if let Some(until) = u.locked_until.filter(|t| *t > now) {
            audit(
                bodega,
                AuditRecord {
                    actor_user_id: Some(u.id),
                    outcome: Outcome::Denied,
                    detail: "account locked".into(),
                    ..base
                },
            )
            .await;
            return login_failure(is_form, &next, locked(until - now));
        }
    }
    let hash = user.as_ref().filter(|u| u.active).and_then(|u| u.password_hash.clone());
    let password_ok = verify_password(request.password.clone(), hash).await;
    let user = match (user, password_ok) {
        (Some(u), true) => u,
        (user, _) => {
            state.auth.failures.record(&ip_key);
            state.auth.failures.record(&name_key);
            state.auth.client_locks.record(&client_key);
            let mut detail = "wrong username or password".to_string();
            if let Some(u) = &user {
                detail = record_account_failure(bodega, cfg, u, &base).await;
            }
            audit(
                bodega,
                AuditRecord { actor_user_id: user.as_ref().map(|u| u.id), outcome: Outcome::Failure, detail, ..base },
            )
            .await;
            return login_failure(is_form, &next, ApiError::BadCredentials("wrong username or password".into()));
        }
    };
    let mut method = "password";
    if let Some(secret) = &user.totp_secret {
        match request.totp.as_deref().filter(|c| !c.trim().is_empty()) {
            None => {
                audit(
                    bodega,
                    AuditRecord {
                        actor_user_id: Some(user.id),
                        outcome: Outcome::Failure,
                        detail: "second factor required".into(),
                        ..base
                    },
                )
                .await;
                let err = ApiError::TotpRequired("enter the 6-digit code from your authenticator".into());
                return login_failure(is_form, &next, err);
            }
            Some(code) if !verify_totp(secret, code) => {
                state.auth.failures.record(&ip_key);
                state.auth.failures.record(&name_key);
                state.auth.client_locks.record(&client_key);
                record_account_failure(bodega, cfg, &user, &base).await;
                audit(
                    bodega,
                    AuditRecord {
                        actor_user_id: Some(user.id),
                        outcome: Outcome::Failure,
                        detail: "wrong second-factor code".into(),
                        ..base
                    },
                )
                .await;
                return login_failure(is_form, &next, ApiError::BadTotp("the 6-digit code is wrong or expired".into()));
            }
            Some(_) => method = "password+totp",
        }
    }
    // The checks are done and every failure recorded: the session's writes wait for the
    // database's writer without holding a turn the next sign-in's hash needs.
    drop(turn);
    state.auth.client_locks.clear(&client_key);
    match open_session(&state, &headers, &user, method, request.device_id.as_deref(), &info).await {
        Ok((cookie, me)) => {
            audit(
                bodega,
                AuditRecord { actor_user_id: Some(user.id), outcome: Outcome::Success, detail: method.into(), ..base },
            )
            .await;
            let mut resp =
                if is_form { Redirect::to(&next).into_response() } else { Json(LoginResponse { me }).into_response() };
            resp.headers_mut().insert(header::SET_COOKIE, cookie);
            resp
        }
        Err(resp) => resp,
    }
}

/// Ends the session presented (if any), opens a new one and returns its cookie.
pub async fn open_session(
    state: &AppState,
    headers: &HeaderMap,
    user: &User,
    method: &str,
    device_id: Option<&str>,
    info: &ClientInfo,
) -> Result<(HeaderValue, app::auth::Me), Response> {
    let bodega = &state.ctx.bodega;
    let cfg = &state.auth.config;
    let unavailable = |e: &dyn std::fmt::Display| {
        tracing::error!(error = %e, "opening a session failed");
        ApiError::Unavailable("the session could not be opened".into()).into_response()
    };
    if let Some(old) = cookie_token(headers) {
        bodega.end_session(&token_hash(&old), "rotated").await.map_err(|e| unavailable(&e))?;
    }
    let mut device = None;
    if let Some(id) = device_id.filter(|d| !d.trim().is_empty()) {
        match bodega.register_device(id, user.id, &info.user_agent).await {
            Ok(d) if d.revoked_at.is_some() => {
                let message = "this device was revoked by an administrator".to_string();
                return Err(ApiError::DeviceRevoked { message, pending: None }.into_response());
            }
            Ok(d) => device = Some(d.id),
            Err(bodega::accounts::AccountError::Invalid { field, reason }) => {
                return Err(ApiError::invalid(field, reason).into_response());
            }
            Err(bodega::accounts::AccountError::DeviceOfAnotherUser(_)) => {
                return Err(ApiError::DeviceInUse("this device is registered to another user".into()).into_response());
            }
            Err(e) => return Err(unavailable(&e)),
        }
    }
    let token = new_token();
    let hash = token_hash(&token);
    let expires_at = jiff::Timestamp::now().as_second() + cfg.session_lifetime.as_secs() as i64;
    bodega
        .create_session(&NewSession {
            id_hash: &hash,
            user_id: user.id,
            device_id: device.as_deref(),
            auth_method: method,
            expires_at,
            source_ip: &info.ip,
            user_agent: &info.user_agent,
        })
        .await
        .map_err(|e| unavailable(&e))?;
    bodega.record_successful_login(user.id).await.map_err(|e| unavailable(&e))?;
    let me = app::auth::Me {
        username: user.username.clone(),
        display_name: user.display_name.clone(),
        roles: user.roles.clone(),
        districts: user.districts.clone(),
        session_expires_at: expires_at,
        idle_lock_seconds: cfg.idle_lock.as_secs() as i64,
        device_data_expires_at: expires_at + cfg.device_keep.as_secs() as i64,
        demo_today: bodega::demo::demo_today(bodega).await.map_err(|e| unavailable(&e))?.map(|d| d.to_string()),
    };
    Ok((session_cookie(&token, cfg.session_lifetime, cfg.secure_cookie), me))
}

/// `POST /api/auth/logout`: ends the session and clears the cookie. Idempotent.
pub async fn logout(State(state): State<AppState>, headers: HeaderMap, req: Request) -> Response {
    let caller = req.extensions().get::<Caller>().cloned();
    let info = req.extensions().get::<ClientInfo>().cloned().unwrap_or_default();
    // `?reason=idle`: the page's own idle lock (30 minutes without a touch or a key), which ends
    // the session as the server's idle rule would, though background refreshes kept it alive.
    let idle = req.uri().query().is_some_and(|q| q.split('&').any(|kv| kv == "reason=idle"));
    let reason = if idle { "idle" } else { "logout" };
    if let Some(token) = cookie_token(&headers) {
        if let Err(e) = state.ctx.bodega.end_session(&token_hash(&token), reason).await {
            tracing::error!(error = %e, "ending a session failed");
            return ApiError::Unavailable("the session could not be ended".into()).into_response();
        }
    }
    if let Some(c) = &caller {
        let entry = AuditRecord {
            actor_user_id: Some(c.user.id),
            actor: c.user.username.clone(),
            action: "sign_out".into(),
            target: "/api/auth/logout".into(),
            source_ip: info.ip,
            device_id: c.device_id.clone(),
            outcome: Outcome::Success,
            detail: if idle { "idle lock: 30 minutes without activity".into() } else { String::new() },
            ..Default::default()
        };
        audit(&state.ctx.bodega, entry).await;
    }
    let wants_html = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/html"));
    let mut resp =
        if wants_html { Redirect::to("/signin").into_response() } else { StatusCode::NO_CONTENT.into_response() };
    resp.headers_mut().insert(header::SET_COOKIE, clearing_cookie(state.auth.config.secure_cookie));
    resp
}

/// Counts a failed sign-in against the account, from every client together; at the
/// account-wide cap the account locks everywhere for the lockout's length and the
/// administrators are alerted (an `account_locked` record in the audit log, and the server's
/// log at warning). Returns the audit detail of the failure.
async fn record_account_failure(
    bodega: &bodega::Bodega,
    cfg: &crate::auth::config::AuthConfig,
    user: &bodega::accounts::User,
    base: &AuditRecord,
) -> String {
    let cap = cfg.account_lock_after_failures;
    match bodega.record_failed_login(user.id, cap, cfg.lockout.as_secs() as i64).await {
        Ok((n, Some(_))) if n == cap => {
            tracing::warn!(user = %user.username, failures = n, "account locked after failures from all clients");
            let alert = AuditRecord {
                actor_user_id: Some(user.id),
                action: "account_locked".into(),
                outcome: Outcome::Failure,
                detail: format!(
                    "{n} consecutive failed sign-ins from all clients: account locked for {} min; an administrator \
                     can clear it on the Accounts screen",
                    cfg.lockout.as_secs() / 60
                ),
                ..base.clone()
            };
            audit(bodega, alert).await;
            format!("{n} consecutive failures: account locked")
        }
        Ok((n, _)) => format!("{n} consecutive failures"),
        Err(e) => {
            tracing::error!(error = %e, "recording a failed sign-in failed");
            "wrong username or password".into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_paths_stay_on_this_site() {
        assert_eq!(safe_next(Some("/missions")), "/missions");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil")), "/");
        // Browsers drop tabs and line breaks from a Location: these would become `//evil.example`.
        assert_eq!(safe_next(Some("/\t/evil.example")), "/");
        assert_eq!(safe_next(Some("/\n/evil.example")), "/");
        assert_eq!(safe_next(Some("/ /evil.example")), "/");
        assert_eq!(safe_next(Some("/missions?day=2020-12-21")), "/missions?day=2020-12-21");
        assert_eq!(safe_next(None), "/");
    }
}
