//! Sign-in, sessions and the request guards around every route.
//!
//! - **Local sign-in** (`POST /api/auth/login`, JSON or form: `username`, `password`, optional
//!   `totp`, `device_id`): argon2id (OWASP parameters m = 19 456 KiB, t = 2, p = 1), verified on a
//!   blocking thread; an unknown name costs the same hash as a wrong password. Five consecutive
//!   failures lock the account for ten minutes (CJIS AC-7); more than ten failures in a minute
//!   from one address or for one name answer 429 with `Retry-After` before any hash is computed.
//! - **Sessions** live in the Data Bodega (`sessions`): the cookie carries 256 random bits, the
//!   table only their SHA-256. Every sign-in issues a new token and ends the one presented
//!   (no fixation). A session locks after the idle limit (default 30 minutes) and ends at its
//!   absolute lifetime (default 12 hours, one shift). The cookie is `HttpOnly`, `SameSite=Lax`
//!   and `Secure` (configurable for plain-HTTP test rigs); nothing goes into `localStorage`.
//! - **Guards** ([`session_layer`], [`csrf_layer`], [`security_headers`]): resolve the caller
//!   for the handlers, refuse cross-site state changes (Fetch Metadata and `Origin` checks, the
//!   OWASP "verify origin with standard headers" defence on top of SameSite), and send a strict
//!   nonce-based Content-Security-Policy with `frame-ancestors 'none'` and, behind TLS, HSTS.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::auth::ssr::{Caller, ClientInfo, SessionProblem};
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use axum::extract::{ConnectInfo, FromRequest, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use bodega::accounts::{NewSession, User};
use bodega::audit::{AuditEntry, Outcome};
use bodega::Bodega;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::AppState;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "beatbook_session";

/// Sign-in and session settings.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Lock a session after this long without a request.
    pub idle_lock: Duration,
    /// End a session this long after sign-in, whatever happens (one shift).
    pub session_lifetime: Duration,
    /// Consecutive failures that lock an account.
    pub lock_after_failures: i64,
    /// How long a lockout lasts.
    pub lockout: Duration,
    /// Failures per minute from one address, or for one name, before sign-in answers 429.
    pub failures_per_minute: usize,
    /// Mark the cookie `Secure` (off only for plain-HTTP test rigs).
    pub secure_cookie: bool,
    /// Believe `X-Forwarded-For`/`X-Forwarded-Proto` (only behind a proxy you run).
    pub trust_proxy: bool,
    /// How long after the session's end a device's cached data stays readable.
    pub device_keep: Duration,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            idle_lock: Duration::from_secs(30 * 60),
            session_lifetime: Duration::from_secs(12 * 3600),
            lock_after_failures: 5,
            lockout: Duration::from_secs(10 * 60),
            failures_per_minute: 10,
            device_keep: Duration::from_secs(12 * 3600),
            secure_cookie: true,
            trust_proxy: false,
        }
    }
}

/// Sign-in failures in the last minute, per address and per name. In memory: a restart forgets
/// them, which the per-account lockout in the Data Bodega does not.
#[derive(Debug, Default)]
pub struct FailureWindow {
    recent: Mutex<HashMap<String, VecDeque<Instant>>>,
}

const WINDOW: Duration = Duration::from_secs(60);

impl FailureWindow {
    /// Seconds to wait when `key` already has `limit` failures in the window.
    pub fn retry_after(&self, key: &str, limit: usize) -> Option<u64> {
        let mut map = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let q = map.get_mut(key)?;
        while q.front().is_some_and(|t| now.duration_since(*t) >= WINDOW) {
            q.pop_front();
        }
        if q.len() >= limit {
            let oldest = *q.front()?;
            Some((WINDOW.saturating_sub(now.duration_since(oldest))).as_secs().max(1))
        } else {
            None
        }
    }

    /// Counts one failure for `key`.
    pub fn record(&self, key: &str) {
        let mut map = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 100_000 {
            // Bounded memory under a spray of distinct names: forget windows that have closed.
            let now = Instant::now();
            map.retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) < WINDOW));
        }
        map.entry(key.to_string()).or_default().push_back(Instant::now());
    }
}

/// What the auth routes share.
#[derive(Debug, Clone)]
pub struct AuthState {
    /// Settings.
    pub config: AuthConfig,
    /// Recent failures.
    pub failures: Arc<FailureWindow>,
}

impl AuthState {
    /// State for these settings.
    pub fn new(config: AuthConfig) -> Self {
        AuthState { config, failures: Arc::new(FailureWindow::default()) }
    }
}

// ---- passwords -------------------------------------------------------------------------------

fn argon2() -> Argon2<'static> {
    // OWASP Password Storage Cheat Sheet: argon2id, m = 19 MiB, t = 2, p = 1.
    #[allow(clippy::unwrap_used)] // constant, valid parameters
    let params = Params::new(19_456, 2, 1, None).unwrap();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Checks a new password: at least 8 characters (15 recommended), at most 128; no composition
/// rules (ASVS 6.2).
///
/// # Errors
/// A sentence saying what is wrong.
pub fn check_new_password(password: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < 8 {
        return Err("a password needs at least 8 characters (15 or more is better)".into());
    }
    if n > 128 {
        return Err("a password may have at most 128 characters".into());
    }
    Ok(())
}

/// Hashes a password with argon2id on a blocking thread.
///
/// # Errors
/// When hashing fails (it does not for valid input).
pub async fn hash_password(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        argon2().hash_password(password.as_bytes(), &salt).map(|h| h.to_string())
    })
    .await?
    .map_err(|e| anyhow::anyhow!("hashing the password failed: {e}"))
}

/// A hash of a random password, verified against when the name is unknown so that the answer
/// takes as long as for a real account.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        argon2().hash_password(b"no such account, no such password", &salt).map(|h| h.to_string()).unwrap_or_default()
    })
}

/// How many sign-ins are checked at once: twice the cores (each argon2id check takes 19 MiB and
/// a core for tens of milliseconds). More wait their turn, holding next to nothing.
pub fn sign_in_turns() -> usize {
    2 * std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// A turn to check one sign-in. The rate limits and the account lock are read with the turn held
/// and a failure is recorded before it is released, so a burst of parallel guesses gets no more
/// tries than the same guesses one after another, beyond the few checked at once.
async fn sign_in_turn() -> Option<tokio::sync::SemaphorePermit<'static>> {
    static TURNS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    TURNS.get_or_init(|| tokio::sync::Semaphore::new(sign_in_turns())).acquire().await.ok()
}

async fn verify_password(password: String, hash: Option<String>) -> bool {
    let known = hash.is_some();
    let hash = hash.unwrap_or_else(|| decoy_hash().to_string());
    let ok = tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash).map(|h| argon2().verify_password(password.as_bytes(), &h).is_ok()).unwrap_or(false)
    })
    .await
    .unwrap_or(false);
    ok && known
}

fn verify_totp(secret_base32: &str, code: &str) -> bool {
    let Ok(bytes) = totp_rs::Secret::Encoded(secret_base32.to_string()).to_bytes() else {
        return false;
    };
    match totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, bytes) {
        Ok(totp) => totp.check_current(code.trim()).unwrap_or(false),
        Err(_) => false,
    }
}

// ---- tokens and cookies ----------------------------------------------------------------------

/// A new random session token (256 bits, hex).
pub fn new_token() -> String {
    use argon2::password_hash::rand_core::RngCore;
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The stored form of a token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    cookie_value(headers, SESSION_COOKIE).filter(|v| v.len() == 64 && v.chars().all(|c| c.is_ascii_hexdigit()))
}

/// The value of cookie `name` in the request's `Cookie` headers, if any.
pub(crate) fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn session_cookie(token: &str, max_age: Duration, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let value =
        format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}", max_age.as_secs());
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("beatbook_session=; Max-Age=0"))
}

fn clearing_cookie(secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"))
        .unwrap_or_else(|_| HeaderValue::from_static("beatbook_session=; Max-Age=0"))
}

fn client_info(req: &Request, trust_proxy: bool) -> ClientInfo {
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

// ---- the session guard -----------------------------------------------------------------------

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
                return (StatusCode::SERVICE_UNAVAILABLE, "the Data Bodega is unavailable").into_response();
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
    if session.ended_at.is_some() {
        return ended(SessionProblem::Ended);
    }
    let now = jiff::Timestamp::now().as_second();
    if now >= session.expires_at {
        bodega.end_session(hash, "expired").await?;
        return ended(SessionProblem::Expired);
    }
    if now - session.last_seen_at > cfg.idle_lock.as_secs() as i64 {
        bodega.end_session(hash, "idle").await?;
        return ended(SessionProblem::IdleLocked);
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

// ---- pages need a session ------------------------------------------------------------------

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
    next.run(req).await
}

// ---- CSRF ------------------------------------------------------------------------------------

/// Refuses state-changing requests that a browser marks as coming from another site: a
/// `Sec-Fetch-Site` other than `same-origin`/`none`, or (from browsers without Fetch Metadata)
/// an `Origin` whose host is not this one.
/// Requests without either header (command-line clients) carry no ambient browser cookies worth
/// forging and pass.
pub async fn csrf_layer(req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let headers = req.headers();
    // Browsers that send Fetch Metadata are judged by it alone: under our `no-referrer` policy
    // a same-origin form post carries `Origin: null`, so the Origin check is only the fallback.
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        if !matches!(site, "same-origin" | "none") {
            return forbidden_cross_site();
        }
    } else if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or("");
        if origin == "null" || origin_host != host {
            return forbidden_cross_site();
        }
    }
    next.run(req).await
}

fn forbidden_cross_site() -> Response {
    (StatusCode::FORBIDDEN, Json(ErrorBody::new("cross_site", "cross-site requests may not change anything")))
        .into_response()
}

// ---- security headers ------------------------------------------------------------------------

/// The per-request CSP nonce, for the page renderer.
#[derive(Debug, Clone)]
pub struct CspNonce(pub String);

/// The Content-Security-Policy for a page whose inline scripts carry `nonce`.
pub fn page_csp(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'nonce-{nonce}' 'strict-dynamic' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; \
         worker-src 'self'; manifest-src 'self'; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'"
    )
}

/// The policy for everything that is not a page (API answers, files).
const NON_PAGE_CSP: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// Generates a nonce per request (handed to the renderer through the request's extensions)
/// and sets the CSP, `Strict-Transport-Security` when the request came over TLS, and the rest.
pub async fn security_headers(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let nonce = leptos::nonce::Nonce::new().to_string();
    req.extensions_mut().insert(CspNonce(nonce.clone()));
    let over_tls = req.uri().scheme_str() == Some("https")
        || (state.auth.config.trust_proxy
            && req.headers().get("x-forwarded-proto").and_then(|v| v.to_str().ok()) == Some("https"));
    let mut resp = next.run(req).await;
    let headers = resp.headers_mut();
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        let is_html = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("text/html"));
        let csp = if is_html { page_csp(&nonce) } else { NON_PAGE_CSP.to_string() };
        if let Ok(v) = HeaderValue::from_str(&csp) {
            headers.insert(header::CONTENT_SECURITY_POLICY, v);
        }
    }
    if over_tls {
        headers
            .insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    }
    resp
}

// ---- the routes ------------------------------------------------------------------------------

/// The error body of the auth routes (and every non-server-function API route).
#[derive(Debug, Serialize, Deserialize)]
pub struct ErrorBody {
    /// A stable code: `bad_credentials`, `locked`, `rate_limited`, `invalid`, …
    pub error: String,
    /// A sentence for the user.
    pub message: String,
    /// The field at fault, for validation errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ErrorBody {
    /// A body with no field.
    pub fn new(error: &str, message: impl Into<String>) -> Self {
        ErrorBody { error: error.into(), message: message.into(), field: None }
    }

    /// The JSON answer `status` with this body.
    pub fn answer(status: StatusCode, error: &str, message: impl Into<String>) -> Response {
        (status, Json(Self::new(error, message))).into_response()
    }
}

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
        let bad = |m: String| (StatusCode::BAD_REQUEST, Json(ErrorBody::new("invalid", m))).into_response();
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

/// Where to go after signing in: a path on this site, else `/`. Browsers drop tabs and line
/// breaks when they parse a `Location` (`/\t/evil.example` becomes `//evil.example`, another
/// site), so no control character or space gets through, nor `//` or a backslash.
pub(crate) fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.chars().any(|c| c.is_control() || c.is_whitespace())
                && n.len() < 200 =>
        {
            n.to_string()
        }
        _ => "/".into(),
    }
}

fn login_failure(is_form: bool, next: &str, status: StatusCode, body: ErrorBody, retry_after: Option<u64>) -> Response {
    let mut resp = if is_form {
        let q = format!("/signin?error={}&next={}", body.error, urlencode(next));
        Redirect::to(&q).into_response()
    } else {
        (status, Json(body)).into_response()
    };
    if let Some(secs) = retry_after {
        if is_form {
            *resp.status_mut() = StatusCode::TOO_MANY_REQUESTS;
        }
        resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    resp
}

pub(crate) fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub(crate) async fn audit(bodega: &Bodega, entry: AuditEntry) {
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
        let body =
            ErrorBody { error: "invalid".into(), message: format!("{field} is required"), field: Some(field.into()) };
        return login_failure(is_form, &next, StatusCode::UNPROCESSABLE_ENTITY, body, None);
    }
    if username.chars().count() > 64 || request.password.chars().count() > 1024 {
        let body = ErrorBody::new("invalid", "username or password is too long");
        return login_failure(is_form, &next, StatusCode::UNPROCESSABLE_ENTITY, body, None);
    }
    let base = AuditEntry {
        actor: username.clone(),
        action: "sign_in".into(),
        target: "/api/auth/login".into(),
        source_ip: info.ip.clone(),
        device_id: request.device_id.clone(),
        ..Default::default()
    };

    let _turn = sign_in_turn().await;
    // Rate limit before any hash is computed.
    let (ip_key, name_key) = (format!("ip:{}", info.ip), format!("user:{username}"));
    let limited = state
        .auth
        .failures
        .retry_after(&ip_key, cfg.failures_per_minute)
        .max(state.auth.failures.retry_after(&name_key, cfg.failures_per_minute));
    if let Some(secs) = limited {
        audit(bodega, AuditEntry { outcome: Some(Outcome::Denied), detail: "rate limited".into(), ..base }).await;
        let body = ErrorBody::new("rate_limited", format!("too many failed sign-ins; try again in {secs} s"));
        return login_failure(is_form, &next, StatusCode::TOO_MANY_REQUESTS, body, Some(secs));
    }

    let user = match bodega.user_by_username(&username).await {
        Ok(u) => u,
        Err(e) => {
            tracing::error!(error = %e, "user lookup failed");
            let body = ErrorBody::new("unavailable", "the Data Bodega is unavailable");
            return login_failure(is_form, &next, StatusCode::SERVICE_UNAVAILABLE, body, None);
        }
    };
    let now = jiff::Timestamp::now().as_second();
    if let Some(u) = &user {
        if let Some(until) = u.locked_until.filter(|t| *t > now) {
            let minutes = (until - now + 59) / 60;
            audit(
                bodega,
                AuditEntry {
                    actor_user_id: Some(u.id),
                    outcome: Some(Outcome::Denied),
                    detail: "account locked".into(),
                    ..base
                },
            )
            .await;
            let body = ErrorBody::new(
                "locked",
                format!("this account is locked after repeated failed sign-ins; try again in {minutes} min or ask an administrator"),
            );
            return login_failure(is_form, &next, StatusCode::FORBIDDEN, body, None);
        }
    }
    let hash = user.as_ref().filter(|u| u.active).and_then(|u| u.password_hash.clone());
    let password_ok = verify_password(request.password.clone(), hash).await;
    let user = match (user, password_ok) {
        (Some(u), true) => u,
        (user, _) => {
            state.auth.failures.record(&ip_key);
            state.auth.failures.record(&name_key);
            let mut detail = "wrong username or password".to_string();
            if let Some(u) = &user {
                match bodega.record_failed_login(u.id, cfg.lock_after_failures, cfg.lockout.as_secs() as i64).await {
                    Ok((n, Some(_))) if n >= cfg.lock_after_failures => {
                        detail = format!("{n} consecutive failures: account locked")
                    }
                    Ok((n, _)) => detail = format!("{n} consecutive failures"),
                    Err(e) => tracing::error!(error = %e, "recording a failed sign-in failed"),
                }
            }
            audit(
                bodega,
                AuditEntry {
                    actor_user_id: user.as_ref().map(|u| u.id),
                    outcome: Some(Outcome::Failure),
                    detail,
                    ..base
                },
            )
            .await;
            let body = ErrorBody::new("bad_credentials", "wrong username or password");
            return login_failure(is_form, &next, StatusCode::UNAUTHORIZED, body, None);
        }
    };
    let mut method = "password";
    if let Some(secret) = &user.totp_secret {
        match request.totp.as_deref().filter(|c| !c.trim().is_empty()) {
            None => {
                audit(
                    bodega,
                    AuditEntry {
                        actor_user_id: Some(user.id),
                        outcome: Some(Outcome::Failure),
                        detail: "second factor required".into(),
                        ..base
                    },
                )
                .await;
                let body = ErrorBody {
                    error: "totp_required".into(),
                    message: "enter the 6-digit code from your authenticator".into(),
                    field: Some("totp".into()),
                };
                return login_failure(is_form, &next, StatusCode::UNAUTHORIZED, body, None);
            }
            Some(code) if !verify_totp(secret, code) => {
                state.auth.failures.record(&ip_key);
                state.auth.failures.record(&name_key);
                let _ =
                    bodega.record_failed_login(user.id, cfg.lock_after_failures, cfg.lockout.as_secs() as i64).await;
                audit(
                    bodega,
                    AuditEntry {
                        actor_user_id: Some(user.id),
                        outcome: Some(Outcome::Failure),
                        detail: "wrong second-factor code".into(),
                        ..base
                    },
                )
                .await;
                let body = ErrorBody {
                    error: "bad_totp".into(),
                    message: "the 6-digit code is wrong or expired".into(),
                    field: Some("totp".into()),
                };
                return login_failure(is_form, &next, StatusCode::UNAUTHORIZED, body, None);
            }
            Some(_) => method = "password+totp",
        }
    }
    match open_session(&state, &headers, &user, method, request.device_id.as_deref(), &info).await {
        Ok((cookie, me)) => {
            audit(
                bodega,
                AuditEntry {
                    actor_user_id: Some(user.id),
                    outcome: Some(Outcome::Success),
                    detail: method.into(),
                    ..base
                },
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
pub(crate) async fn open_session(
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
        (StatusCode::SERVICE_UNAVAILABLE, Json(ErrorBody::new("unavailable", "the Data Bodega is unavailable")))
            .into_response()
    };
    if let Some(old) = cookie_token(headers) {
        bodega.end_session(&token_hash(&old), "rotated").await.map_err(|e| unavailable(&e))?;
    }
    let mut device = None;
    if let Some(id) = device_id.filter(|d| !d.trim().is_empty()) {
        match bodega.register_device(id, user.id, &info.user_agent).await {
            Ok(d) if d.revoked_at.is_some() => {
                return Err((
                    StatusCode::FORBIDDEN,
                    Json(ErrorBody::new("device_revoked", "this device was revoked by an administrator")),
                )
                    .into_response())
            }
            Ok(d) => device = Some(d.id),
            Err(bodega::accounts::AccountError::Invalid { field, reason }) => {
                let body = ErrorBody { error: "invalid".into(), message: reason, field: Some(field.into()) };
                return Err((StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response());
            }
            Err(bodega::accounts::AccountError::DeviceOfAnotherUser(_)) => {
                let body = ErrorBody::new("device_in_use", "this device is registered to another user");
                return Err((StatusCode::CONFLICT, Json(body)).into_response());
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
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(ErrorBody::new("unavailable", "the Data Bodega is unavailable")),
            )
                .into_response();
        }
    }
    if let Some(c) = &caller {
        let entry = AuditEntry {
            actor_user_id: Some(c.user.id),
            actor: c.user.username.clone(),
            action: "sign_out".into(),
            target: "/api/auth/logout".into(),
            source_ip: info.ip,
            device_id: c.device_id.clone(),
            outcome: Some(Outcome::Success),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_window_counts_per_key_and_says_how_long_to_wait() {
        let w = FailureWindow::default();
        for _ in 0..10 {
            assert_eq!(w.retry_after("ip:1", 10), None);
            w.record("ip:1");
        }
        let wait = w.retry_after("ip:1", 10).expect("limited after ten failures");
        assert!((1..=60).contains(&wait), "{wait}");
        assert_eq!(w.retry_after("ip:2", 10), None, "other addresses are not affected");
    }

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

    #[test]
    fn behind_a_trusted_proxy_the_address_is_the_one_it_appended() {
        let req = Request::builder()
            .header("x-forwarded-for", "203.0.113.66, 198.51.100.7")
            .body(axum::body::Body::empty())
            .expect("request");
        assert_eq!(client_info(&req, true).ip, "198.51.100.7", "the left entries are the client's to forge");
        assert_eq!(client_info(&req, false).ip, "unknown", "not trusted: the header is ignored");
    }

    #[test]
    fn cookie_tokens_must_look_like_ours() {
        let mut h = HeaderMap::new();
        let t = new_token();
        h.insert(header::COOKIE, HeaderValue::from_str(&format!("a=b; {SESSION_COOKIE}={t}")).expect("header"));
        assert_eq!(cookie_token(&h), Some(t));
        h.insert(header::COOKIE, HeaderValue::from_static("beatbook_session=' OR 1=1 --"));
        assert_eq!(cookie_token(&h), None);
    }

    #[test]
    fn passwords_are_checked_for_length_only() {
        assert!(check_new_password("short").is_err());
        assert!(check_new_password("correct horse battery staple").is_ok());
        assert!(check_new_password(&"x".repeat(129)).is_err());
    }
}
