//! # server — the Beatbook binary
//!
//! A thin layer: configuration ([`config`]), the HTTP router ([`router`]) that serves the Leptos
//! app, its server functions, health probes, the offline shell and the service worker
//! ([`pwa`]), and the command line in `main.rs` (`serve`, `migrate`, `seed-demo`, `ingest`).
//! Every query lives in `bodega`; every screen in `app`.

pub mod analysis;
pub mod config;
pub mod pwa;

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
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
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

/// Renders the offline shell page for these options.
pub fn render_offline_shell(options: &LeptosOptions) -> String {
    let options = options.clone();
    let owner = Owner::new();
    owner.with(|| app::offline_shell(options).to_html())
}

/// Limits the router applies to every request.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Per-request time limit.
    pub request_timeout: Duration,
    /// Largest body, bytes.
    pub max_body_bytes: usize,
}

/// The whole HTTP surface, as a `Router` that tests can drive without a socket.
pub fn router(state: AppState, limits: Limits) -> Router {
    let routes = generate_route_list(app::App);
    let ctx = state.ctx.clone();
    let ctx_for_errors = state.ctx.clone();
    let leptos = state.leptos.clone();
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/sw.js", get(service_worker))
        .route("/shell", get(offline_shell))
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_context(ctx.clone()),
            move || app::shell(leptos.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(
            move || provide_context(ctx_for_errors.clone()),
            app::shell,
        ))
        .layer(axum::middleware::from_fn(cache_policy))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(CompressionLayer::new())
        .layer(RequestBodyLimitLayer::new(limits.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, limits.request_timeout))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
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
        Some(body) => (
            [(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")],
            body.clone(),
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "this server runs without a built site: no service worker").into_response(),
    }
}

async fn offline_shell(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")],
        state.shell.shell_html.clone(),
    )
        .into_response()
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
    time_zone: String,
    map_cell_size_m: u32,
) -> std::io::Result<AppState> {
    let leptos = leptos_options(site_root, addr);
    let bundle = pwa::current_bundle(&leptos.output_name, bundle_hashes().as_deref());
    let shell = pwa::build_shell_assets(site_root, &bundle, render_offline_shell(&leptos))?;
    Ok(AppState { leptos, ctx: ServerContext { bodega, time_zone, map_cell_size_m }, shell: Arc::new(shell) })
}
