//! Sign-in with OpenID Connect: Microsoft Entra ID or any provider that publishes a discovery
//! document. Authorization code flow with PKCE (S256) and a nonce, as SECURITY.md asks.
//!
//! `GET /api/auth/oidc/start?next=/missions` discovers the provider (cached ten minutes), makes a
//! random `state`, PKCE verifier and nonce, keeps them in the Data Bodega (`oidc_logins`, so any
//! server instance can finish the sign-in) and sends the browser to the provider.
//! `GET /api/auth/oidc/callback?code=…&state=…` takes the state back (once, within ten minutes),
//! redeems the code with the verifier, and checks the ID token: signature against the provider's
//! published keys, issuer, audience, expiry, nonce, and the access-token hash when present. The
//! user is found by (issuer, subject); a first sign-in creates the account. Roles come from the
//! token at every sign-in (the `roles` claim by default, which is where Entra ID puts app roles;
//! `BEATBOOK_OIDC_ROLE_MAP` renames provider values), and so do districts when
//! `BEATBOOK_OIDC_DISTRICTS_CLAIM` names a claim (otherwise an administrator's assignment stays).
//! A token without a Beatbook role is refused; a first sign-in whose username is a local account
//! is refused rather than silently linked. Every outcome is in the audit log (`sign_in`, detail
//! `oidc`), role changes too (`role_change`). Failures count toward the sign-in rate limit.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use bodega::accounts::{AccountError, NewUser, OidcLogin, User};
use bodega::audit::{AuditEntry, Outcome};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
    CoreProviderMetadata,
};
use openidconnect::{
    AccessTokenHash, AdditionalClaims, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken,
    IdToken, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    TokenResponse,
};
use protocol::Role;
use serde::{Deserialize, Serialize};

use crate::auth::{token_hash, ErrorBody};
use crate::AppState;

/// How long a sign-in may stay at the provider before its state is refused.
pub const LOGIN_TTL_SECONDS: i64 = 600;
/// How long the provider's discovery document (and so its keys) is kept.
const METADATA_TTL: Duration = Duration::from_secs(600);
/// The route the provider sends the browser back to.
pub const CALLBACK_PATH: &str = "/api/auth/oidc/callback";

/// The identity provider's settings.
#[derive(Debug, Clone)]
pub struct OidcConfig {
    /// The issuer URL (its `/.well-known/openid-configuration` is fetched).
    pub issuer: String,
    /// Beatbook's client (application) id at the provider.
    pub client_id: String,
    /// The client secret, for a confidential client (PKCE is used either way).
    pub client_secret: Option<String>,
    /// This site's public address, e.g. `https://beatbook.example.gov` (the callback is under it).
    pub public_url: String,
    /// What the sign-in button says ("Sign in with …").
    pub label: String,
    /// The ID-token claim holding the user's roles.
    pub roles_claim: String,
    /// Provider role values (compared without case) → Beatbook roles, beside the role names
    /// themselves (`officer`, `sergeant`, `command`, `analyst`, `admin`).
    pub role_map: Vec<(String, Role)>,
    /// The ID-token claim holding district codes, if the provider assigns them (codes this
    /// department does not have are ignored).
    pub districts_claim: Option<String>,
}

impl OidcConfig {
    /// The redirect URI registered at the provider.
    pub fn redirect_url(&self) -> String {
        format!("{}{CALLBACK_PATH}", self.public_url.trim_end_matches('/'))
    }

    /// Parses `value=role,value=role` (as in `BEATBOOK_OIDC_ROLE_MAP`).
    ///
    /// # Errors
    /// A pair without `=`, or a role Beatbook does not have.
    pub fn parse_role_map(text: &str) -> Result<Vec<(String, Role)>, String> {
        text.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|pair| {
                let (from, to) =
                    pair.split_once('=').ok_or_else(|| format!("'{pair}' is not value=role in the role map"))?;
                let role = Role::parse(to.trim()).ok_or_else(|| {
                    format!(
                        "'{}' in the role map is not a Beatbook role (officer, sergeant, command, analyst, admin)",
                        to.trim()
                    )
                })?;
                Ok((from.trim().to_lowercase(), role))
            })
            .collect()
    }

    /// The Beatbook roles a token's role values give.
    pub fn roles_from(&self, values: &[String]) -> Vec<Role> {
        let mut roles: Vec<Role> = values
            .iter()
            .filter_map(|v| {
                let v = v.trim().to_lowercase();
                self.role_map.iter().find(|(from, _)| *from == v).map(|(_, r)| *r).or_else(|| Role::parse(&v))
            })
            .collect();
        roles.sort();
        roles.dedup();
        roles
    }
}

/// Every claim of the ID token beyond the standard ones (roles, groups, districts…).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OtherClaims(pub HashMap<String, serde_json::Value>);
impl AdditionalClaims for OtherClaims {}

/// An ID token with its extra claims readable.
pub type BeatbookIdToken =
    IdToken<OtherClaims, CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm>;

impl OtherClaims {
    /// A claim's string values: an array of strings, or one string.
    pub fn strings(&self, claim: &str) -> Vec<String> {
        match self.0.get(claim) {
            Some(serde_json::Value::Array(a)) => a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
            Some(serde_json::Value::String(s)) => vec![s.clone()],
            _ => Vec::new(),
        }
    }
}

/// The provider, its HTTP client and the cached discovery document.
pub struct Oidc {
    /// Settings.
    pub config: OidcConfig,
    http: openidconnect::reqwest::Client,
    metadata: tokio::sync::Mutex<Option<(Instant, CoreProviderMetadata)>>,
}

impl std::fmt::Debug for Oidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oidc").field("issuer", &self.config.issuer).finish_non_exhaustive()
    }
}

impl Oidc {
    /// A provider for these settings (nothing is fetched until the first sign-in).
    ///
    /// # Errors
    /// The HTTP client cannot be built.
    pub fn new(config: OidcConfig) -> anyhow::Result<Self> {
        let http = openidconnect::reqwest::ClientBuilder::new()
            // Following redirects would open the server to SSRF (openidconnect's advice).
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()?;
        Ok(Oidc { config, http, metadata: tokio::sync::Mutex::new(None) })
    }

    async fn metadata(&self) -> Result<CoreProviderMetadata, String> {
        let mut cached = self.metadata.lock().await;
        if let Some((at, md)) = cached.as_ref() {
            if at.elapsed() < METADATA_TTL {
                return Ok(md.clone());
            }
        }
        let issuer = IssuerUrl::new(self.config.issuer.clone()).map_err(|e| format!("issuer URL: {e}"))?;
        // Checks that the document names the same issuer.
        let md = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| format!("discovery at {}: {}", self.config.issuer, error_chain(&e)))?;
        *cached = Some((Instant::now(), md.clone()));
        Ok(md)
    }

    async fn client(
        &self,
    ) -> Result<
        openidconnect::core::CoreClient<
            openidconnect::EndpointSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointMaybeSet,
            openidconnect::EndpointMaybeSet,
        >,
        String,
    > {
        let md = self.metadata().await?;
        let redirect = RedirectUrl::new(self.config.redirect_url()).map_err(|e| format!("redirect URL: {e}"))?;
        Ok(CoreClient::from_provider_metadata(
            md,
            ClientId::new(self.config.client_id.clone()),
            self.config.client_secret.clone().map(ClientSecret::new),
        )
        .set_redirect_uri(redirect))
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    s
}

/// `GET /api/auth/oidc/start` query.
#[derive(Debug, Deserialize)]
pub struct StartQuery {
    /// Where to go after signing in (a path on this site).
    pub next: Option<String>,
}

/// `GET /api/auth/oidc/start`: to the identity provider.
pub async fn start(State(state): State<AppState>, Query(q): Query<StartQuery>) -> Response {
    let Some(oidc) = state.oidc.clone() else { return not_configured() };
    let next = crate::auth::safe_next(q.next.as_deref());
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
        Err(e) => {
            return ErrorBody::answer(StatusCode::BAD_REQUEST, "invalid", format!("the callback is not valid: {e}"))
        }
    };
    let ip_key = format!("ip:{}", info.ip);
    let base = AuditEntry {
        action: "sign_in".into(),
        target: CALLBACK_PATH.into(),
        source_ip: info.ip.clone(),
        ..Default::default()
    };
    if let Some(secs) = state.auth.failures.retry_after(&ip_key, state.auth.config.failures_per_minute) {
        let entry = AuditEntry {
            actor: "(oidc)".into(),
            outcome: Some(Outcome::Denied),
            detail: "oidc: rate limited".into(),
            ..base
        };
        crate::auth::audit(&state.ctx.bodega, entry).await;
        let mut resp = to_signin("rate_limited", "/");
        *resp.status_mut() = StatusCode::TOO_MANY_REQUESTS;
        resp.headers_mut().insert(header::RETRY_AFTER, secs.into());
        return resp;
    }
    let mut next = "/".to_string();
    let started = crate::auth::cookie_value(&headers, STATE_COOKIE);
    let result = finish(&state, &oidc, q, started.as_deref(), &mut next).await;
    let mut resp = match result {
        Ok((user, created)) => match crate::auth::open_session(&state, &headers, &user, "oidc", None, &info).await {
            Ok((cookie, _me)) => {
                let detail = if created { "oidc (account created at first sign-in)" } else { "oidc" };
                let entry = AuditEntry {
                    actor: user.username.clone(),
                    actor_user_id: Some(user.id),
                    outcome: Some(Outcome::Success),
                    detail: detail.into(),
                    ..base
                };
                crate::auth::audit(&state.ctx.bodega, entry).await;
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
                AuditEntry { actor: r.actor, outcome: Some(r.outcome), detail: format!("oidc: {}", r.detail), ..base };
            crate::auth::audit(&state.ctx.bodega, entry).await;
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
                let entry = AuditEntry {
                    actor: user.username.clone(),
                    actor_user_id: Some(user.id),
                    action: "role_change".into(),
                    target: format!("user {}", user.username),
                    outcome: Some(Outcome::Success),
                    detail: format!(
                        "from the identity provider: roles {} (were {}), districts {} (were {})",
                        names(&roles),
                        names(&user.roles),
                        districts.join(","),
                        user.districts.join(",")
                    ),
                    ..Default::default()
                };
                crate::auth::audit(bodega, entry).await;
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
    ErrorBody::answer(
        StatusCode::NOT_FOUND,
        "not_configured",
        "sign-in with an identity provider is not configured here",
    )
}

fn to_signin(code: &str, next: &str) -> Response {
    Redirect::to(&format!("/signin?error={code}&next={}", crate::auth::urlencode(next))).into_response()
}
