//! Sign-in with OpenID Connect against an in-process mock identity provider (no real provider is
//! reachable from CI). The provider listens on a loopback socket and behaves as the standard
//! says: discovery document, JWKS, an authorization endpoint that requires PKCE S256, a token
//! endpoint that checks the code verifier against the challenge and signs RS256 ID tokens. Knobs
//! make it misbehave the ways a real one (or an attacker in its place) could: another issuer, an
//! expired token, a wrong nonce.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get as route_get, post as route_post};
use axum::Json;
use base64::Engine as _;
use openidconnect::core::{
    CoreGenderClaim, CoreJsonWebKeySet, CoreJwsSigningAlgorithm, CoreProviderMetadata, CoreResponseType,
    CoreRsaPrivateSigningKey, CoreSubjectIdentifierType,
};
use openidconnect::{
    AccessToken, Audience, AuthUrl, AuthorizationCode, EmptyAdditionalProviderMetadata, EndUserName, EndUserUsername,
    IdTokenClaims, IssuerUrl, JsonWebKeyId, JsonWebKeySetUrl, Nonce, PrivateSigningKey, ResponseTypes, StandardClaims,
    SubjectIdentifier, TokenUrl,
};
use protocol::Role;
use server::oidc::provider::{BeatbookIdToken, OidcConfig, OtherClaims};
use sha2::{Digest, Sha256};

use super::*;

const CLIENT_ID: &str = "beatbook-test";
const PUBLIC_URL: &str = "http://beatbook.test";

/// Who signs in at the provider.
#[derive(Clone)]
struct Person {
    sub: &'static str,
    username: &'static str,
    name: &'static str,
    roles: Vec<&'static str>,
    districts: Vec<&'static str>,
}

fn officer() -> Person {
    Person {
        sub: "00u1-ana-subject",
        username: "ana.ortiz@pd.example",
        name: "Ana Ortiz",
        roles: vec!["Beatbook.Patrol"],
        districts: vec!["D2"],
    }
}

/// A code the provider handed out, with what it was asked for.
struct Grant {
    challenge: String,
    nonce: String,
    redirect_uri: String,
    person: Person,
}

#[derive(Default)]
struct Knobs {
    /// The `iss` put in ID tokens (default: the provider's own).
    issuer_in_token: Option<String>,
    /// ID tokens already expired.
    expired: bool,
    /// The `nonce` put in ID tokens (default: the one the request carried).
    nonce_in_token: Option<String>,
}

struct ProviderState {
    url: String,
    key: CoreRsaPrivateSigningKey,
    person: Mutex<Option<Person>>,
    codes: Mutex<HashMap<String, Grant>>,
    knobs: Mutex<Knobs>,
    /// Authorization requests seen (query parameters).
    authorize_requests: Mutex<Vec<HashMap<String, String>>>,
    /// Token requests refused for a bad PKCE verifier.
    pkce_failures: Mutex<u32>,
}

struct Provider {
    state: Arc<ProviderState>,
    _task: tokio::task::JoinHandle<()>,
}

impl Provider {
    async fn start() -> Provider {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let pem =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/oidc-mock-provider-key.pem"))
                .expect("test key");
        let key = CoreRsaPrivateSigningKey::from_pem(&pem, Some(JsonWebKeyId::new("mock-1".into()))).expect("key");
        let state = Arc::new(ProviderState {
            url,
            key,
            person: Mutex::new(Some(officer())),
            codes: Mutex::new(HashMap::new()),
            knobs: Mutex::new(Knobs::default()),
            authorize_requests: Mutex::new(Vec::new()),
            pkce_failures: Mutex::new(0),
        });
        let router = axum::Router::new()
            .route("/.well-known/openid-configuration", route_get(discovery))
            .route("/jwks", route_get(jwks))
            .route("/authorize", route_get(authorize))
            .route("/token", route_post(token))
            .with_state(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Provider { state, _task: task }
    }

    fn config(&self) -> OidcConfig {
        OidcConfig {
            issuer: self.state.url.clone(),
            client_id: CLIENT_ID.into(),
            client_secret: None,
            public_url: PUBLIC_URL.into(),
            label: "Test Identity".into(),
            roles_claim: "roles".into(),
            role_map: OidcConfig::parse_role_map("Beatbook.Patrol=officer, Beatbook.Supervisor=sergeant").expect("map"),
            districts_claim: Some("districts".into()),
        }
    }

    fn set_person(&self, p: Option<Person>) {
        *self.state.person.lock().expect("lock") = p;
    }

    fn knobs(&self, k: Knobs) {
        *self.state.knobs.lock().expect("lock") = k;
    }
}

async fn discovery(State(s): State<Arc<ProviderState>>) -> Json<CoreProviderMetadata> {
    let md = CoreProviderMetadata::new(
        IssuerUrl::new(s.url.clone()).expect("issuer"),
        AuthUrl::new(format!("{}/authorize", s.url)).expect("auth url"),
        JsonWebKeySetUrl::new(format!("{}/jwks", s.url)).expect("jwks url"),
        vec![ResponseTypes::new(vec![CoreResponseType::Code])],
        vec![CoreSubjectIdentifierType::Public],
        vec![CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256],
        EmptyAdditionalProviderMetadata {},
    )
    .set_token_endpoint(Some(TokenUrl::new(format!("{}/token", s.url)).expect("token url")));
    Json(md)
}

async fn jwks(State(s): State<Arc<ProviderState>>) -> Json<CoreJsonWebKeySet> {
    Json(CoreJsonWebKeySet::new(vec![s.key.as_verification_key()]))
}

async fn authorize(State(s): State<Arc<ProviderState>>, Query(q): Query<HashMap<String, String>>) -> Response {
    s.authorize_requests.lock().expect("lock").push(q.clone());
    let p = |k: &str| q.get(k).cloned().unwrap_or_default();
    // The provider insists on the code flow with PKCE S256 and a nonce, as Entra ID allows.
    if p("response_type") != "code"
        || p("client_id") != CLIENT_ID
        || p("code_challenge_method") != "S256"
        || p("code_challenge").len() < 43
        || p("nonce").is_empty()
        || p("state").is_empty()
    {
        return (StatusCode::BAD_REQUEST, "invalid_request").into_response();
    }
    let redirect = p("redirect_uri");
    let Some(person) = s.person.lock().expect("lock").clone() else {
        let to = format!("{redirect}?error=access_denied&error_description=the+user+cancelled&state={}", p("state"));
        return Redirect::to(&to).into_response();
    };
    let code = format!("code-{}", s.codes.lock().expect("lock").len() + 1);
    s.codes.lock().expect("lock").insert(
        code.clone(),
        Grant { challenge: p("code_challenge"), nonce: p("nonce"), redirect_uri: redirect.clone(), person },
    );
    Redirect::to(&format!("{redirect}?code={code}&state={}", p("state"))).into_response()
}

async fn token(State(s): State<Arc<ProviderState>>, Form(f): Form<HashMap<String, String>>) -> Response {
    let bad = |e: &str| (StatusCode::BAD_REQUEST, Json(serde_json::json!({ "error": e }))).into_response();
    let p = |k: &str| f.get(k).cloned().unwrap_or_default();
    if p("grant_type") != "authorization_code" {
        return bad("unsupported_grant_type");
    }
    // Codes are single-use.
    let Some(grant) = s.codes.lock().expect("lock").remove(&p("code")) else { return bad("invalid_grant") };
    if p("redirect_uri") != grant.redirect_uri || p("client_id") != CLIENT_ID {
        return bad("invalid_grant");
    }
    let derived =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(p("code_verifier").as_bytes()));
    if derived != grant.challenge {
        *s.pkce_failures.lock().expect("lock") += 1;
        return bad("invalid_grant");
    }
    let knobs = s.knobs.lock().expect("lock");
    let now = chrono::Utc::now();
    let (iat, exp) = if knobs.expired {
        (now - chrono::Duration::minutes(20), now - chrono::Duration::minutes(10))
    } else {
        (now, now + chrono::Duration::minutes(10))
    };
    let person = &grant.person;
    let mut extra = HashMap::new();
    extra.insert("roles".to_string(), serde_json::json!(person.roles));
    extra.insert("districts".to_string(), serde_json::json!(person.districts));
    let claims = IdTokenClaims::new(
        IssuerUrl::new(knobs.issuer_in_token.clone().unwrap_or_else(|| s.url.clone())).expect("iss"),
        vec![Audience::new(CLIENT_ID.into())],
        exp,
        iat,
        StandardClaims::<CoreGenderClaim>::new(SubjectIdentifier::new(person.sub.into()))
            .set_preferred_username(Some(EndUserUsername::new(person.username.into())))
            .set_name(Some(EndUserName::new(person.name.into()).into())),
        OtherClaims(extra),
    )
    .set_nonce(Some(Nonce::new(knobs.nonce_in_token.clone().unwrap_or(grant.nonce))));
    let access = AccessToken::new(format!("at-{}", p("code")));
    let id_token = BeatbookIdToken::new(
        claims,
        &s.key,
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        Some(&access),
        Some(&AuthorizationCode::new(p("code"))),
    )
    .expect("sign");
    Json(serde_json::json!({
        "access_token": access.secret(),
        "token_type": "Bearer",
        "expires_in": 600,
        "id_token": id_token.to_string(),
    }))
    .into_response()
}

/// A Beatbook wired to the provider.
async fn app_with(provider: &Provider) -> TestApp {
    test_app_with(server::config::Settings { oidc: Some(provider.config()), ..Default::default() }).await
}

/// The query parameters of a URL.
fn params(url: &str) -> HashMap<String, String> {
    let parsed = url::Url::parse(url).expect("url");
    parsed.query_pairs().into_owned().collect()
}

/// Beatbook's redirect to the provider for a sign-in going to `next`, and the cookie that ties
/// the sign-in to this browser.
async fn start_in_browser(app: &TestApp, next: &str) -> (String, String) {
    let (status, headers, body) = call(&app.router, get(&format!("/api/auth/oidc/start?next={next}"))).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let cookie = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("beatbook_oidc_state="))
        .and_then(|v| v.split(';').next())
        .expect("the state cookie")
        .to_string();
    (headers.get(header::LOCATION).expect("location").to_str().expect("ascii").to_string(), cookie)
}

/// The browser at the provider: follows the authorization URL, returns where the provider sends
/// it back (Beatbook's callback, as a path on this site).
async fn at_provider(authorize_url: &str) -> String {
    let http = openidconnect::reqwest::Client::builder()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let resp = http.get(authorize_url).send().await.expect("provider answers");
    assert!(resp.status().is_redirection(), "the provider redirects back: {}", resp.status());
    let back = resp.headers()[header::LOCATION.as_str()].to_str().expect("ascii").to_string();
    back.strip_prefix(PUBLIC_URL).expect("back to Beatbook's public address").to_string()
}

/// A whole sign-in: start, provider, callback. Returns the callback's answer.
async fn sign_in_via(app: &TestApp, next: &str) -> (StatusCode, axum::http::HeaderMap, String) {
    let (url, cookie) = start_in_browser(app, next).await;
    let back = at_provider(&url).await;
    call(&app.router, with_cookie(get(&back), &cookie)).await
}

fn location(headers: &axum::http::HeaderMap) -> String {
    headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
}

#[tokio::test]
async fn the_code_flow_with_pkce_signs_in_and_creates_the_account_with_the_tokens_roles() {
    let provider = Provider::start().await;
    let app = app_with(&provider).await;

    // The sign-in page offers the provider.
    let (status, _, body) = call(&app.router, server_fn("/api/sign_in_options", None)).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "\"Test Identity\""));

    let (url, cookie) = start_in_browser(&app, "/missions").await;
    assert!(url.starts_with(&format!("{}/authorize?", provider.state.url)), "{url}");
    let q = params(&url);
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["redirect_uri"], format!("{PUBLIC_URL}/api/auth/oidc/callback"));
    assert!(q["scope"].split(' ').any(|s| s == "openid"), "{}", q["scope"]);
    assert!(q["nonce"].len() >= 16 && q["state"].len() >= 16);
    // Nothing secret rides along: no verifier in the URL.
    assert!(!q.contains_key("code_verifier"));

    let back = at_provider(&url).await;
    let (status, headers, body) = call(&app.router, with_cookie(get(&back), &cookie)).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(location(&headers), "/missions");
    let cookie = session_cookie(&headers).expect("a session");
    // The provider accepted Beatbook's verifier (it refuses a wrong one).
    assert_eq!(*provider.state.pkce_failures.lock().expect("lock"), 0);

    // Signed in as the provider's subject, with the token's roles and districts.
    let (status, _, me) = call(&app.router, server_fn("/api/me", Some(&cookie))).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    let me: serde_json::Value = serde_json::from_str(&me).expect("json");
    assert_eq!(me["username"], "ana.ortiz@pd.example");
    assert_eq!(me["display_name"], "Ana Ortiz");
    assert_eq!(me["roles"], serde_json::json!(["officer"]));
    assert_eq!(me["districts"], serde_json::json!(["D2"]));
    let user = app
        .store
        .bodega
        .user_by_oidc(&provider.state.url, "00u1-ana-subject")
        .await
        .expect("lookup")
        .expect("account created");
    assert!(user.password_hash.is_none(), "single sign-on accounts have no local password");

    let audit = audit_of(&app, "sign_in").await;
    assert_eq!(audit.len(), 1);
    assert_eq!((audit[0].actor.as_str(), audit[0].outcome.as_str()), ("ana.ortiz@pd.example", "success"));
    assert!(audit[0].detail.contains("account created"), "{}", audit[0].detail);

    // A second sign-in finds the same account; the provider now says sergeant of D2 and D3 (and
    // names a "district" the department does not have, which is ignored): the roles follow the
    // token, and the change is on record.
    provider.set_person(Some(Person {
        roles: vec!["Beatbook.Supervisor"],
        districts: vec!["D3", "D2", "Payroll"],
        ..officer()
    }));
    let (status, headers, body) = sign_in_via(&app, "/board").await;
    assert_eq!((status, location(&headers)), (StatusCode::SEE_OTHER, "/board".to_string()), "{body}");
    let again = app.store.bodega.user_by_id(user.id).await.expect("lookup").expect("same account");
    assert_eq!(again.roles, vec![Role::Sergeant]);
    assert_eq!(again.districts, vec!["D2".to_string(), "D3".to_string()]);
    let changes = audit_of(&app, "role_change").await;
    assert_eq!(changes.len(), 1);
    assert!(changes[0].detail.contains("roles sergeant (were officer)"), "{}", changes[0].detail);
    assert_eq!(app.store.bodega.list_users().await.expect("users").iter().filter(|u| u.id == user.id).count(), 1);
}

/// Runs one sign-in that must be refused; returns the sign-in page's error code and the audit
/// record's outcome and detail.
async fn refused(app: &TestApp) -> (String, String, String) {
    let before = audit_of(app, "sign_in").await.len();
    let (status, headers, body) = sign_in_via(app, "/missions").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert!(session_cookie(&headers).is_none(), "no session for a refused sign-in");
    let to = location(&headers);
    assert!(to.starts_with("/signin?error="), "{to}");
    let code = params(&format!("{PUBLIC_URL}{to}"))["error"].clone();
    let audit = audit_of(app, "sign_in").await;
    assert_eq!(audit.len(), before + 1, "exactly one record per attempt");
    (code, audit[0].outcome.to_string(), audit[0].detail.clone())
}

#[tokio::test]
async fn tokens_from_another_issuer_expired_or_with_a_wrong_nonce_are_refused() {
    let provider = Provider::start().await;
    let app = app_with(&provider).await;

    provider.knobs(Knobs { issuer_in_token: Some("https://evil.example".into()), ..Default::default() });
    let (code, outcome, detail) = refused(&app).await;
    assert_eq!((code.as_str(), outcome.as_str()), ("oidc_issuer", "failure"), "{detail}");

    provider.knobs(Knobs { expired: true, ..Default::default() });
    let (code, outcome, detail) = refused(&app).await;
    assert_eq!((code.as_str(), outcome.as_str()), ("oidc_expired", "failure"), "{detail}");

    provider.knobs(Knobs { nonce_in_token: Some("replayed-nonce".into()), ..Default::default() });
    let (code, outcome, detail) = refused(&app).await;
    assert_eq!((code.as_str(), outcome.as_str()), ("oidc_nonce", "failure"), "{detail}");

    // None of them left an account or a session behind.
    provider.knobs(Knobs::default());
    assert!(app.store.bodega.user_by_oidc(&provider.state.url, "00u1-ana-subject").await.expect("lookup").is_none());

    // The provider behaving again: the same person signs in.
    let (status, headers, body) = sign_in_via(&app, "/missions").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert!(session_cookie(&headers).is_some());
}

#[tokio::test]
async fn a_state_works_once_a_forged_one_never_and_a_cancelled_sign_in_is_explained() {
    let provider = Provider::start().await;
    let app = app_with(&provider).await;

    let (url, cookie) = start_in_browser(&app, "/missions").await;
    let back = at_provider(&url).await;
    // The answer taken to another browser (login CSRF: someone's half-finished sign-in sent as a
    // link): refused, and left for the browser that started it.
    for other in [None, Some(start_in_browser(&app, "/").await.1)] {
        let req = match &other {
            Some(c) => with_cookie(get(&back), c),
            None => get(&back),
        };
        let (_, headers, _) = call(&app.router, req).await;
        assert!(location(&headers).starts_with("/signin?error=oidc_state"), "{}", location(&headers));
        assert!(session_cookie(&headers).is_none());
    }
    let (status, headers, _) = call(&app.router, with_cookie(get(&back), &cookie)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(session_cookie(&headers).is_some());
    // The same answer again (a replayed or double-submitted callback): refused.
    let (_, headers, _) = call(&app.router, with_cookie(get(&back), &cookie)).await;
    assert!(location(&headers).starts_with("/signin?error=oidc_state"), "{}", location(&headers));
    assert!(session_cookie(&headers).is_none());

    // A state this server never made (login CSRF): refused before any code is redeemed.
    let forged = format!("/api/auth/oidc/callback?code=code-99&state={}", "x".repeat(43));
    let (_, headers, _) = call(&app.router, get(&forged)).await;
    assert!(location(&headers).starts_with("/signin?error=oidc_state"));

    // The user cancels at the provider.
    provider.set_person(None);
    let (code, outcome, detail) = refused(&app).await;
    assert_eq!((code.as_str(), outcome.as_str()), ("oidc_denied", "failure"));
    assert!(detail.contains("access_denied"), "{detail}");
}

#[tokio::test]
async fn no_beatbook_role_or_a_local_accounts_name_is_denied_and_an_unconfigured_server_says_so() {
    let provider = Provider::start().await;
    let app = app_with(&provider).await;

    provider.set_person(Some(Person { roles: vec!["Payroll.Viewer"], ..officer() }));
    let (code, outcome, detail) = refused(&app).await;
    assert_eq!((code.as_str(), outcome.as_str()), ("oidc_no_role", "denied"), "{detail}");

    // A provider user whose name is a local account's is not silently linked to it.
    add_user(&app, "ana.ortiz@pd.example", &[Role::Admin], &[]).await;
    provider.set_person(Some(officer()));
    let (code, outcome, detail) = refused(&app).await;
    assert_eq!((code.as_str(), outcome.as_str()), ("oidc_conflict", "denied"), "{detail}");
    let local = app.store.bodega.user_by_username("ana.ortiz@pd.example").await.expect("lookup").expect("local");
    assert_eq!(local.roles, vec![Role::Admin], "the local account is untouched");

    // Without a provider configured, the routes say so and the sign-in page offers none.
    let plain = test_app().await;
    let (status, _, body) = call(&plain.router, get("/api/auth/oidc/start?next=/")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(body.contains("not configured"), "{body}");
    let (_, _, body) = call(&plain.router, server_fn("/api/sign_in_options", None)).await;
    assert_eq!(body, "null");
}
