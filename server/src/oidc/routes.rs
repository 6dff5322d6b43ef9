//! The sign-in routes of single sign-on: `GET /api/auth/oidc/start` (to the provider, with
//! PKCE, a nonce and a state tied to this browser) and `GET /api/auth/oidc/callback` (the
//! provider's answer checked, the account found or made, a session opened).

use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use bodega::accounts::{AccountError, NewUser, OidcLogin, User};
use bodega::audit::{AuditRecord, Outcome};
use openidconnect::core::CoreAuthenticationFlow;
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClaimsVerificationError, CsrfToken, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, Scope, TokenResponse,
};
use protocol::Role;
use serde::Deserialize;

use app::error::ApiError;

use super::provider::{error_chain, BeatbookIdToken, Oidc, CALLBACK_PATH, LOGIN_TTL_SECONDS};
use crate::auth::login::{audit, open_session};
use crate::auth::safe_next;
use crate::auth::token::{cookie_value, token_hash};
use crate::state::AppState;

/// `GET /api/auth/oidc/start` query.
#[derive(Debug, Deserialize)]
pub struct StartQuery {
    /// Where to go after signing in (a path on this site).
    pub next: Option<String>,
}

/// `GET /api/auth/oidc/start`: to the identity provider.
pub async fn start(State(state): State<AppState>, Query(q): Query<StartQuery>) -> Response {
    let Some(oidc) = state.oidc.clone() else { return not_configured() };
    let next = safe_next(q.next.as_deref());
    let client = match oidc.client().await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "OpenID Connect provider unavailable");
            return to_signin("oidc_unavailable", &next);
        }
    };
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = client
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();
    let login = OidcLogin {
        pkce_verifier: verifier.secret().clone(),
        nonce: nonce.secret().clone(),
        next_path: next.clone(),
        created_at: jiff::Timestamp::now().as_second(),
    };
    let stale_before = login.created_at - LOGIN_TTL_SECONDS;
    if let Err(e) = state.ctx.bodega.begin_oidc_login(&token_hash(csrf.secret()), &login, stale_before).await {
        tracing::error!(error = %e, "recording an OpenID Connect sign-in failed");
        return to_signin("unavailable", &next);
    }
    let mut resp = Redirect::to(url.as_str()).into_response();
    // The state is also this browser's: a callback is taken only from the browser that started
    // the sign-in (login CSRF: someone else's half-finished sign-in sent as a link).
    if let Ok(cookie) =
        HeaderValue::from_str(&state_cookie(csrf.secret(), LOGIN_TTL_SECONDS, state.auth.config.secure_cookie))
    {
        resp.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    resp
}

/// The cookie that ties a sign-in's state to the browser that started it.
const STATE_COOKIE: &str = "beatbook_oidc_state";

fn state_cookie(value: &str, max_age: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{STATE_COOKIE}={value}; Path=/api/auth/oidc; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}")
}

/// `GET /api/auth/oidc/callback` query: the provider's answer.
#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    /// The authorization code.
    pub code: Option<String>,
    /// The state sent with the request.
    pub state: Option<String>,
    /// The provider's error code, when the user was not signed in there.
    pub error: Option<String>,
    /// The provider's explanation.
    pub error_description: Option<String>,
}

/// Why an OpenID Connect sign-in failed: the code the sign-in page explains, the audit outcome
/// and detail, and the subject when known.
struct Refusal {
    code: &'static str,
    outcome: Outcome,
    detail: String,
    actor: String,
}

impl Refusal {
    fn failure(code: &'static str, detail: impl Into<String>) -> Self {
        Refusal { code, outcome: Outcome::Failure, detail: detail.into(), actor: "(oidc)".into() }
    }
}

/// `GET /api/auth/oidc/callback`: checks the provider's answer and opens a session.
pub async fn callback(State(state): State<AppState>, headers: HeaderMap, req: Request) -> Response {
    let Some(oidc) = state.oidc.clone() else { return not_configured() };
    let info = req.extensions().get::<app::auth::ssr::ClientInfo>().cloned().unwrap_or_default();
    let q = match Query::<CallbackQuery>::try_from_uri(req.uri()) {
        Ok(Query(q)) => q,
        Err(e) => return ApiError::BadRequest(format!("the callback is not valid: {e}")).into_response(),
    };
    let ip_key = format!("ip:{}", info.ip);
    let base = AuditRecord {
        action: "sign_in".into(),
        target: CALLBACK_PATH.into(),
        source_ip: info.ip.clone(),
        ..Default::default()
    };
    if let Some(secs) = state.auth.failures.retry_after(&ip_key, state.auth.config.failures_per_minute) {
        let entry = AuditRecord {
            actor: "(oidc)".into(),
            outcome: Outcome::Denied,
            detail: "oidc: rate limited".into(),
            ..base
        };
        audit(&state.ctx.bodega, entry).await;
        let mut resp = to_signin("rate_limited", "/");
        *resp.status_mut() = StatusCode::TOO_MANY_REQUESTS;
        resp.headers_mut().insert(header::RETRY_AFTER, secs.into());
        return resp;
    }
    let mut next = "/".to_string();
    let started = cookie_value(&headers, STATE_COOKIE);
    let result = finish(&state, &oidc, q, started.as_deref(), &mut next).await;
    let mut resp = match result {
        Ok((user, created)) => match open_session(&state, &headers, &user, "oidc", None, &info).await {
            Ok((cookie, _me)) => {
                let detail = if created { "oidc (account created at first sign-in)" } else { "oidc" };
                let entry = AuditRecord {
                    actor: user.username.clone(),
                    actor_user_id: Some(user.id),
                    outcome: Outcome::Success,
                    detail: detail.into(),
                    ..base
                };
                audit(&state.ctx.bodega, entry).await;
                let mut resp = Redirect::to(&next).into_response();
                resp.headers_mut().insert(header::SET_COOKIE, cookie);
                resp
            }
            Err(resp) => resp,
        },
        Err(r) => {
            state.auth.failures.record(&ip_key);
            tracing::warn!(reason = %r.detail, "OpenID Connect sign-in refused");
            let entry =
                AuditRecord { actor: r.actor, outcome: r.outcome, detail: format!("oidc: {}", r.detail), ..base };
            audit(&state.ctx.bodega, entry).await;
            to_signin(r.code, &next)
        }
    };
    // The state cookie has done its work, whatever the outcome.
    if let Ok(clear) = HeaderValue::from_str(&state_cookie("", 0, state.auth.config.secure_cookie)) {
        resp.headers_mut().append(header::SET_COOKIE, clear);
    }
    resp
}

async fn finish(
    state: &AppState,
    oidc: &Oidc,
    q: CallbackQuery,
    started: Option<&str>,
    next: &mut String,
) -> Result<(User, bool), Refusal> {
    let bodega = &state.ctx.bodega;
    let cfg = &oidc.config;
    let raw_state = q
        .state
        .filter(|s| !s.is_empty() && s.len() <= 512)
        .ok_or_else(|| Refusal::failure("oidc_state", "the provider's answer carries no state"))?;
    // Compared as digests (no early exit on the secret's bytes); the sign-in is left for its own
    // browser to finish.
    if started.map(token_hash) != Some(token_hash(&raw_state)) {
        return Err(Refusal::failure("oidc_state", "this browser did not start this sign-in"));
    }
    let login = bodega
        .take_oidc_login(&token_hash(&raw_state))
        .await
        .map_err(|e| Refusal::failure("unavailable", format!("the Data Bodega is unavailable: {e}")))?
        .ok_or_else(|| Refusal::failure("oidc_state", "unknown or already used state"))?;
    *next = login.next_path.clone();
    if jiff::Timestamp::now().as_second() - login.created_at > LOGIN_TTL_SECONDS {
        return Err(Refusal::failure("oidc_state", "the sign-in took longer than ten minutes at the provider"));
    }
    if let Some(error) = q.error {
        let why: String = q.error_description.unwrap_or_default().chars().take(200).collect();
        return Err(Refusal::failure("oidc_denied", format!("the provider answered {error}: {why}")));
    }
    let code = q.code.filter(|c| !c.is_empty()).ok_or_else(|| Refusal::failure("oidc_state", "no code"))?;
    let client = oidc.client().await.map_err(|e| Refusal::failure("oidc_unavailable", e))?;
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|e| Refusal::failure("oidc_unavailable", format!("the provider has no token endpoint: {e}")))?
        .set_pkce_verifier(PkceCodeVerifier::new(login.pkce_verifier))
        .request_async(&oidc.http)
        .await
        .map_err(|e| Refusal::failure("oidc_token", format!("redeeming the code failed: {}", error_chain(&e))))?;
    let id_token = tokens.id_token().ok_or_else(|| Refusal::failure("oidc_token", "the provider sent no ID token"))?;
    // Read again with every claim kept (roles, districts); verified below as a whole.
    let token: BeatbookIdToken = serde_json::to_value(id_token)
        .and_then(serde_json::from_value)
        .map_err(|e| Refusal::failure("oidc_token", format!("the ID token cannot be read: {e}")))?;
    let verifier = client.id_token_verifier();
    let claims = token.claims(&verifier, &Nonce::new(login.nonce)).map_err(|e| {
        let code = match e {
            ClaimsVerificationError::Expired(_) => "oidc_expired",
            ClaimsVerificationError::InvalidIssuer(_) => "oidc_issuer",
            ClaimsVerificationError::InvalidNonce(_) => "oidc_nonce",
            ClaimsVerificationError::InvalidAudience(_) => "oidc_audience",
            _ => "oidc_token",
        };
        Refusal::failure(code, format!("the ID token was refused: {}", error_chain(&e)))
    })?;
    if let Some(expected) = claims.access_token_hash() {
        let alg = token.signing_alg().map_err(|e| Refusal::failure("oidc_token", e.to_string()))?;
        let key = token.signing_key(&verifier).map_err(|e| Refusal::failure("oidc_token", e.to_string()))?;
        let actual = AccessTokenHash::from_token(tokens.access_token(), alg, key)
            .map_err(|e| Refusal::failure("oidc_token", e.to_string()))?;
        if actual != *expected {
            return Err(Refusal::failure("oidc_token", "the access token does not match the ID token's at_hash"));
        }
    }
    let issuer = claims.issuer().as_str().to_string();
    let subject = claims.subject().as_str().to_string();
    let who = claims
        .preferred_username()
        .map(|u| u.as_str().to_string())
        .or_else(|| claims.email().map(|e| e.as_str().to_string()))
        .unwrap_or_else(|| subject.clone());
    let extra = claims.additional_claims();
    let values = extra.strings(&cfg.roles_claim);
    let roles = cfg.roles_from(&values);
    if roles.is_empty() {
        return Err(Refusal {
            code: "oidc_no_role",
            outcome: Outcome::Denied,
            detail: format!("the token's '{}' claim gives no Beatbook role ({values:?})", cfg.roles_claim),
            actor: who,
        });
    }
    let unavailable =
        |e: &dyn std::fmt::Display| Refusal::failure("unavailable", format!("the Data Bodega is unavailable: {e}"));
    // Districts from the token, when configured: only codes this department has count.
    let districts = match cfg.districts_claim.as_ref() {
        None => None,
        Some(claim) => {
            let known = bodega.districts().await.map_err(|e| unavailable(&e))?;
            let mut codes: Vec<String> = extra
                .strings(claim)
                .into_iter()
                .filter(|c| known.iter().any(|(code, _, kind)| code == c && kind == "district"))
                .collect();
            codes.sort();
            codes.dedup();
            Some(codes)
        }
    };
    match bodega.user_by_oidc(&issuer, &subject).await.map_err(|e| unavailable(&e))? {
        Some(user) if !user.active => Err(Refusal {
            code: "oidc_disabled",
            outcome: Outcome::Denied,
            detail: "the account is disabled".into(),
            actor: user.username,
        }),
        Some(user) => {
            let districts = districts.unwrap_or_else(|| user.districts.clone());
            if user.roles != roles || user.districts != districts {
                bodega.set_roles_and_districts(user.id, &roles, &districts).await.map_err(|e| unavailable(&e))?;
                let entry = AuditRecord {
                    actor: user.username.clone(),
                    actor_user_id: Some(user.id),
                    action: "role_change".into(),
                    target: format!("user {}", user.username),
                    outcome: Outcome::Success,
                    detail: format!(
                        "from the identity provider: roles {} (were {}), districts {} (were {})",
                        names(&roles),
                        names(&user.roles),
                        districts.join(","),
                        user.districts.join(",")
                    ),
                    ..Default::default()
                };
                audit(bodega, entry).await;
            }
            let user = bodega.user_by_id(user.id).await.map_err(|e| unavailable(&e))?;
            user.map(|u| (u, false)).ok_or_else(|| Refusal::failure("unavailable", "the account vanished"))
        }
        None => {
            let new = NewUser {
                username: who.clone(),
                display_name: claims
                    .name()
                    .and_then(|n| n.get(None))
                    .map(|n| n.as_str().to_string())
                    .unwrap_or_else(|| who.clone()),
                password_hash: None,
                roles,
                districts: districts.unwrap_or_default(),
                oidc: Some((issuer, subject)),
                synthetic: false,
            };
            let id = match bodega.create_user(&new).await {
                Ok(id) => id,
                Err(AccountError::UsernameTaken(name)) => {
                    return Err(Refusal {
                        code: "oidc_conflict",
                        outcome: Outcome::Denied,
                        detail: format!("an account named '{name}' already exists here; an administrator must link it"),
                        actor: who,
                    })
                }
                Err(AccountError::Invalid { field, reason }) => {
                    return Err(Refusal {
                        code: "oidc_conflict",
                        outcome: Outcome::Failure,
                        detail: format!("the provider's {field} cannot be a Beatbook {field}: {reason}"),
                        actor: who,
                    })
                }
                Err(e) => return Err(unavailable(&e)),
            };
            let user = bodega.user_by_id(id).await.map_err(|e| unavailable(&e))?;
            user.map(|u| (u, true)).ok_or_else(|| Refusal::failure("unavailable", "the new account vanished"))
        }
    }
}

fn names(roles: &[Role]) -> String {
    roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(",")
}

fn not_configured() -> Response {
    ApiError::NotFound("sign-in with an identity provider is not configured here".into()).into_response()
}

fn to_signin(code: &str, next: &str) -> Response {
    Redirect::to(&format!("/signin?error={code}&next={}", crate::auth::urlencode(next))).into_response()
}
