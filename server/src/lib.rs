//! # server — the Beatbook binary
//!
//! A thin layer: configuration ([`config`]), the HTTP router ([`router`]) that serves the Leptos
//! app, its server functions, health probes, the offline shell and the service worker
//! ([`pwa`]), and the command line in `main.rs` (`serve`, `migrate`, `seed-demo`, `ingest`).
//! Sign-in lives in [`auth`] (local accounts, sessions, CSRF, headers) and [`oidc`] (single
//! sign-on); the field devices' routes in [`sync`], [`device_keys`] and [`overrides`]; the
//! analysts' uploads in [`upload`]. Every query lives in `bodega`; every screen in `app`.

pub mod accounts;
pub mod analysis;
pub mod auth;
pub mod basemap;
pub mod config;
pub mod device_keys;
pub mod live;
pub mod oidc;
pub mod overrides;
pub mod pwa;
pub mod snapshot;
pub mod sync;
pub mod upload;
pub mod watch;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use app::api::ServerContext;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use bodega::Bodega;
use leptos::config::LeptosOptions;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::compression::predicate::{NotForContentType, Predicate};
use tower_http::compression::{CompressionLayer, DefaultPredicate};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::pwa::ShellAssets;

/// Everything a request handler may need.
#[derive(Clone)]
pub struct AppState {
    /// Leptos' options (site root, bundle names).
    pub leptos: LeptosOptions,
    /// What server functions get through context.
    pub ctx: ServerContext,
    /// The generated service worker and offline shell.
    pub shell: Arc<ShellAssets>,
    /// Sign-in settings and recent failures.
    pub auth: auth::AuthState,
    /// Sync requests per device in the current minute.
    pub sync_limiter: Arc<sync::SyncLimiter>,
    /// The department's basemap file, if configured.
    pub basemap: Option<Arc<basemap::Basemap>>,
    /// The Data Bodega's change marker, for live updates.
    pub live: tokio::sync::watch::Receiver<i64>,
    /// The identity provider, when sign-in with OpenID Connect is configured.
    pub oidc: Option<Arc<oidc::Oidc>>,
}

/// Department and session settings the state is built from.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The department's IANA time zone.
    pub time_zone: String,
    /// Cell size of the overview map, metres.
    pub map_cell_size_m: u32,
    /// Sign-in and session settings.
    pub auth: auth::AuthConfig,
    /// The basemap, checked.
    pub basemap: Option<basemap::Basemap>,
    /// The identity provider for single sign-on, if any.
    pub oidc: Option<oidc::OidcConfig>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            time_zone: "America/Vancouver".into(),
            map_cell_size_m: 250,
            auth: auth::AuthConfig::default(),
            basemap: None,
            oidc: None,
        }
    }
}

impl axum::extract::FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos.clone()
    }
}

/// Leptos options for a site at `site_root` served on `addr`. Bundle file names carry content
/// hashes when the build left a `hash.txt` beside this executable (cargo-leptos does).
pub fn leptos_options(site_root: &Path, addr: std::net::SocketAddr) -> LeptosOptions {
    let hash_files = bundle_hashes().is_some();
    LeptosOptions::builder()
        .output_name("beatbook")
        .site_root(site_root.to_string_lossy().into_owned())
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .hash_files(hash_files)
        .build()
}

/// The `hash.txt` cargo-leptos leaves beside the server executable, if this build has one.
fn bundle_hashes() -> Option<String> {
    let exe = std::env::current_exe().ok()?;
    std::fs::read_to_string(exe.parent()?.join("hash.txt")).ok()
}

/// Renders the offline shell page for these options; its inline scripts carry `nonce`.
pub fn render_offline_shell(options: &LeptosOptions, nonce: &str) -> String {
    let options = options.clone();
    let owner = Owner::new();
    owner.with(|| {
        provide_context(leptos::nonce::Nonce::from_value(nonce.to_string()));
        app::offline_shell(options).to_html()
    })
}

/// Who is asking, taken out of a request before any await (a request is not `Sync`, so no
/// reference to it may live across one).
pub fn asker(
    req: &Request,
) -> (app::auth::ssr::ClientInfo, Option<app::auth::ssr::Caller>, Option<app::auth::ssr::SessionProblem>) {
    (
        req.extensions().get::<app::auth::ssr::ClientInfo>().cloned().unwrap_or_default(),
        req.extensions().get::<app::auth::ssr::Caller>().cloned(),
        req.extensions().get::<app::auth::ssr::SessionProblem>().copied(),
    )
}

/// The one gate for a plain axum route (not a server function), for the [`asker`] of its
/// request: a refusal is recorded and answered (401/403 with the reason).
///
/// # Errors
/// The response to send instead.
pub async fn gate(
    state: &AppState,
    asker: (app::auth::ssr::ClientInfo, Option<app::auth::ssr::Caller>, Option<app::auth::ssr::SessionProblem>),
    action: protocol::Action,
    target: protocol::policy::Target<'_>,
    what: &str,
) -> Result<app::auth::ssr::Grant, Response> {
    let (client, caller, problem) = asker;
    app::auth::ssr::authorize_request(&state.ctx, caller, client, problem, action, target, what)
        .await
        .map_err(|e| api_error_response(&e))
}

/// An [`app::api::ApiError`] as a plain-text answer with its status.
pub fn api_error_response(e: &app::api::ApiError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, e.to_string()).into_response()
}

/// The default largest request body, bytes (`BEATBOOK_MAX_BODY_BYTES`): twice what a device
/// puts in one push (`protocol::sync::MAX_PUSH_BYTES`).
pub const DEFAULT_MAX_BODY_BYTES: usize = 2 * protocol::sync::MAX_PUSH_BYTES;

/// The largest sealed push (`POST /api/sync/push-sealed`), bytes, or the general limit if that
/// is larger. The service worker holds no key, so it cannot split a sealed store into pushes: it
/// sends all of it, hex-encoded: a shift's breadcrumbs fit the general limit (twelve hours of a
/// fix every 4 s: 1.6 MB), a few days' offline do not (30,000 fixes: 4.9 MB). The handler
/// applies it in pushes of at most `protocol::sync::MAX_BATCH` mutations.
pub const MAX_SEALED_PUSH_BYTES: usize = 16 * 1024 * 1024;

/// Limits the router applies to every request.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Per-request time limit.
    pub request_timeout: Duration,
    /// Largest body, bytes.
    pub max_body_bytes: usize,
}

/// Who may call a route that is not a server function: `None` for public routes, else the
/// action it needs (the handler enforces it). Server functions are listed in
/// [`app::api::ENDPOINTS`].
pub type Access = app::api::Access;

/// Every route this server adds besides the Leptos pages and server functions, with its access
/// rule. The router is built from this table, so a route cannot exist without an entry; the
/// authorization matrix test walks it.
pub fn routes() -> Vec<(&'static str, Access, axum::routing::MethodRouter<AppState>)> {
    use axum::routing::post;
    vec![
        ("/healthz", None, get(|| async { "ok" })),
        ("/readyz", None, get(readyz)),
        ("/sw.js", None, get(service_worker)),
        ("/shell", None, get(offline_shell)),
        ("/api/auth/login", None, post(auth::login)),
        ("/api/auth/logout", None, post(auth::logout)),
        ("/api/auth/oidc/start", None, get(oidc::start)),
        (oidc::CALLBACK_PATH, None, get(oidc::callback)),
        ("/api/auth/override-code", Some(protocol::Action::IssueOverrideCode), post(overrides::issue)),
        ("/api/sync/override", Some(protocol::Action::SyncDevice), post(overrides::report)),
        ("/api/device/key", Some(protocol::Action::SyncDevice), post(device_keys::key)),
        // Bounded by `body_limit` (MAX_SEALED_PUSH_BYTES), not by axum's 2 MB default for JSON.
        (
            "/api/sync/push-sealed",
            Some(protocol::Action::SyncDevice),
            post(device_keys::push_sealed).layer(axum::extract::DefaultBodyLimit::disable()),
        ),
        ("/api/sync/push", Some(protocol::Action::SyncDevice), post(sync::push)),
        ("/api/sync/pull", Some(protocol::Action::SyncDevice), get(sync::pull)),
        ("/maps/{version}/basemap.pmtiles", None, get(basemap::serve)),
        ("/snapshot/{file}", Some(protocol::Action::ExportData), get(snapshot::download)),
        ("/api/live", Some(protocol::Action::ViewHotSpots), get(live::events)),
        ("/api/ingest/{kind}", Some(protocol::Action::IngestData), post(upload::upload)),
    ]
}

/// The whole HTTP surface, as a `Router` that tests can drive without a socket.
pub fn router(state: AppState, limits: Limits) -> Router {
    let routes = generate_route_list(app::App);
    let ctx = state.ctx.clone();
    let ctx_for_errors = state.ctx.clone();
    let leptos = state.leptos.clone();
    let mut router = Router::new();
    for (path, _access, method_router) in self::routes() {
        router = router.route(path, method_router);
    }
    router
        .leptos_routes_with_context(
            &state,
            routes,
            move || {
                provide_context(ctx.clone());
                provide_request_nonce();
            },
            move || app::shell(leptos.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(
            move || {
                provide_context(ctx_for_errors.clone());
                provide_request_nonce();
            },
            app::shell,
        ))
        .layer(axum::middleware::from_fn(api_decode_errors_are_400))
        .layer(axum::middleware::from_fn(auth::page_guard))
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth::session_layer))
        .layer(axum::middleware::from_fn(auth::csrf_layer))
        .layer(axum::middleware::from_fn(cache_policy))
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth::security_headers))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        // Byte ranges of the basemap must reach the browser as stored.
        .layer(
            CompressionLayer::new()
                .compress_when(DefaultPredicate::new().and(NotForContentType::const_new(basemap::CONTENT_TYPE))),
        )
        .layer(axum::middleware::from_fn(move |req, next| body_limit(limits.max_body_bytes, req, next)))
        .layer(axum::middleware::from_fn(move |req, next| request_timeout(limits.request_timeout, req, next)))
        // Every answer says it is Beatbook's, refusals and time-outs included: a device tells its
        // server from a proxy's error page or a captive portal by it (app::connectivity).
        .layer(SetResponseHeaderLayer::overriding(
            header::HeaderName::from_static(protocol::SERVER_HEADER),
            HeaderValue::from_static("1"),
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Every request has `limit` to be answered (then 408), except uploads (`/api/ingest/…`): up to
/// [`upload::MAX_UPLOAD_BYTES`] streamed to disk and loaded, which takes minutes, not seconds,
/// so they get [`upload::UPLOAD_TIMEOUT`].
async fn request_timeout(limit: Duration, req: Request, next: axum::middleware::Next) -> Response {
    let limit = if req.uri().path().starts_with("/api/ingest/") { upload::UPLOAD_TIMEOUT.max(limit) } else { limit };
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => StatusCode::REQUEST_TIMEOUT.into_response(),
    }
}

/// Request bodies: at most `limit` bytes, except uploads (`/api/ingest/…`), which may reach
/// [`upload::MAX_UPLOAD_BYTES`] and are streamed to disk, and the service worker's sealed push
/// ([`MAX_SEALED_PUSH_BYTES`]). A declared length past the limit is
/// answered 413 without storing a byte of the body (it is read and dropped, so the client hears
/// the answer); a body that grows past the limit fails its extractor (413).
async fn body_limit(limit: usize, req: Request, next: axum::middleware::Next) -> Response {
    let limit = match req.uri().path() {
        p if p.starts_with("/api/ingest/") => upload::MAX_UPLOAD_BYTES,
        "/api/sync/push-sealed" => MAX_SEALED_PUSH_BYTES.max(limit),
        _ => limit,
    };
    let declared =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if let Some(n) = declared.filter(|n| *n > limit as u64) {
        // Read and drop what the client is still sending (up to 64 MiB) so that it receives the
        // 413 rather than a reset connection; past that, the connection is simply closed.
        if n <= 64 * 1024 * 1024 {
            use futures_util::StreamExt;
            let mut body = req.into_body().into_data_stream();
            while let Some(Ok(_)) = body.next().await {}
        }
        return auth::ErrorBody::answer(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the request body is over the {limit}-byte limit"),
        );
    }
    next.run(req.map(|b| axum::body::Body::new(http_body_util::Limited::new(b, limit)))).await
}

/// Hands the nonce the security-header layer generated for this request to the renderer, so
/// the page's inline scripts carry the nonce its Content-Security-Policy names.
fn provide_request_nonce() {
    let nonce = use_context::<axum::http::request::Parts>()
        .and_then(|p| p.extensions.get::<auth::CspNonce>().map(|n| n.0.clone()));
    if let Some(n) = nonce {
        provide_context(leptos::nonce::Nonce::from_value(n));
    }
}

async fn readyz(State(state): State<AppState>) -> Response {
    match state.ctx.bodega.ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
        }
    }
}

async fn service_worker(State(state): State<AppState>) -> Response {
    match &state.shell.service_worker {
        // A worker runs under the policy delivered with its script: it may fetch (precache) and
        // answer from this origin only.
        Some(body) => (
            [
                (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
                (header::CACHE_CONTROL, "no-cache"),
                (header::CONTENT_SECURITY_POLICY, "default-src 'self'; object-src 'none'; frame-ancestors 'none'"),
            ],
            body.clone(),
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "this server runs without a built site: no service worker").into_response(),
    }
}

async fn offline_shell(State(state): State<AppState>) -> Response {
    let mut resp = (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")],
        state.shell.shell_html.clone(),
    )
        .into_response();
    if let Ok(csp) = HeaderValue::from_str(&state.shell.csp) {
        resp.headers_mut().insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    resp
}

/// A request body a server function cannot decode is the caller's mistake: Leptos answers it
/// with 500, so this turns those answers (an [`app::api::ApiError::Transport`] naming the
/// arguments or their decoding) into 400 with the same body.
async fn api_decode_errors_are_400(req: Request, next: Next) -> Response {
    let is_api = req.uri().path().starts_with("/api/");
    let resp = next.run(req).await;
    if !is_api || resp.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
    };
    use leptos::server_fn::error::ServerFnErrorErr as E;
    if let Ok(app::api::ApiError::Transport(E::Args(_) | E::Deserialization(_) | E::MissingArg(_))) =
        serde_json::from_slice::<app::api::ApiError>(&bytes)
    {
        parts.status = StatusCode::BAD_REQUEST;
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// Caching rules: content-hashed bundle files are immutable; the shell assets revalidate; every
/// other response (pages, API) is `no-store`, because pages will carry per-user data and the
/// service worker must never keep a copy of one.
async fn cache_policy(req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let mut resp = next.run(req).await;
    if resp.headers().contains_key(header::CACHE_CONTROL) {
        return resp;
    }
    let value = if path.starts_with("/pkg/") && resp.status().is_success() {
        "public, max-age=31536000, immutable"
    } else if path.starts_with("/icons/")
        || path.starts_with("/vendor/")
        || path == "/map.js"
        || path == "/manifest.webmanifest"
        || path == "/favicon.ico"
        || path == "/robots.txt"
    {
        "no-cache"
    } else {
        "no-store"
    };
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    if path == "/manifest.webmanifest" {
        resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/manifest+json"));
    }
    resp
}

/// Builds the state for a site root and a store.
///
/// # Errors
/// An I/O error reading the site root.
pub fn app_state(
    bodega: Bodega,
    site_root: &Path,
    addr: std::net::SocketAddr,
    settings: Settings,
) -> std::io::Result<AppState> {
    let leptos = leptos_options(site_root, addr);
    let bundle = pwa::current_bundle(&leptos.output_name, bundle_hashes().as_deref());
    let shell_nonce = pwa::shell_nonce(&bundle);
    let shell_html = render_offline_shell(&leptos, &shell_nonce);
    let mut shell = pwa::build_shell_assets(site_root, &bundle, shell_html)?;
    shell.csp = auth::page_csp(&shell_nonce);
    let ctx = ServerContext {
        bodega,
        time_zone: settings.time_zone,
        map_cell_size_m: settings.map_cell_size_m,
        idle_lock_seconds: settings.auth.idle_lock.as_secs() as i64,
        device_keep_seconds: settings.auth.device_keep.as_secs() as i64,
        basemap: settings.basemap.as_ref().map(|b| b.info.clone()),
        sign_in_with: settings.oidc.as_ref().map(|o| o.label.clone()),
    };
    let oidc = match settings.oidc {
        Some(config) => Some(Arc::new(oidc::Oidc::new(config).map_err(std::io::Error::other)?)),
        None => None,
    };
    Ok(AppState {
        leptos,
        shell: Arc::new(shell),
        auth: auth::AuthState::new(settings.auth),
        sync_limiter: Arc::new(sync::SyncLimiter::default()),
        basemap: settings.basemap.map(Arc::new),
        live: live::start(ctx.bodega.clone()),
        oidc,
        ctx,
    })
}
