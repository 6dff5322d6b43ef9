//! Every route of the server in one place ([`routes`]: the table the router is built from and the
//! authorization matrix walks) and the layers every request passes ([`router`]), outermost
//! first: trace → `X-Beatbook` → timeout (408) → body limit (413) → compression → security
//! headers → cache policy → CSRF guard → session → page guard → undecodable API bodies become
//! 400 → the route. Every refusal is the one envelope, [`app::error::ApiError`].

use std::time::Duration;

use app::error::{Access, ApiError};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};
use tower_http::compression::predicate::{NotForContentType, Predicate};
use tower_http::compression::{CompressionLayer, DefaultPredicate};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::config::MAX_SEALED_PUSH_BYTES;
use crate::state::{AppState, Limits};
use crate::{auth, basemap, device_keys, live, oidc, overrides, snapshot, sync, upload};

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
        ("/api/auth/login", None, post(auth::login::login)),
        ("/api/auth/logout", None, post(auth::login::logout)),
        ("/api/auth/oidc/start", None, get(oidc::routes::start)),
        (oidc::provider::CALLBACK_PATH, None, get(oidc::routes::callback)),
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
        ("/maps/{version}/basemap.pmtiles", None, get(basemap::routes::serve)),
        ("/snapshot/{file}", Some(protocol::Action::ExportData), get(snapshot::download)),
        ("/api/live", Some(protocol::Action::ViewHotSpots), get(live::routes::events)),
        ("/api/ingest/{kind}", Some(protocol::Action::IngestData), post(upload::upload)),
    ]
}

/// The app's screens as leptos lists them, worked out once per process.
///
/// Listing them runs the app with resource loading suppressed through a process-wide flag
/// (leptos_server 0.8's `SuppressResourceLoad`): a resource that first polls on another thread
/// while the flag is up waits forever, so a page rendering at that moment never finishes
/// (leptos-rs/leptos#4773). The server lists once, before it serves; the tests, which build many
/// routers in parallel threads while others render, hung on it in the authorization matrix (a
/// page answered nothing in 60 s, 2 runs in about 10). Once per process, no render overlaps it:
/// every render needs a router, and every router waits for the list.
pub fn route_list() -> Vec<AxumRouteListing> {
    static ROUTES: std::sync::LazyLock<Vec<AxumRouteListing>> =
        std::sync::LazyLock::new(|| generate_route_list(app::App));
    ROUTES.clone()
}

/// The whole HTTP surface, as a `Router` that tests can drive without a socket.
pub fn router(state: AppState, limits: Limits) -> Router {
    let routes = route_list();
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
        .layer(axum::middleware::from_fn(auth::session::page_guard))
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth::session::session_layer))
        .layer(axum::middleware::from_fn(auth::headers::csrf_layer))
        .layer(axum::middleware::from_fn(cache_policy))
        // Inside the security headers: a 413 or 408 carries them like any other answer.
        .layer(axum::middleware::from_fn(move |req, next| body_limit(limits.max_body_bytes, req, next)))
        .layer(axum::middleware::from_fn(move |req, next| request_timeout(limits.request_timeout, req, next)))
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth::headers::security_headers))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        // Byte ranges of the basemap must reach the browser as stored.
        .layer(
            CompressionLayer::new()
                .compress_when(DefaultPredicate::new().and(NotForContentType::const_new(crate::basemap::CONTENT_TYPE))),
        )
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
        Err(_) => ApiError::Timeout(format!("no answer within {} s", limit.as_secs())).into_response(),
    }
}

/// Request bodies: at most `limit` bytes, except uploads (`/api/ingest/…`), which may reach
/// [`upload::MAX_UPLOAD_BYTES`] and are streamed to disk, and the service worker's sealed push
/// ([`MAX_SEALED_PUSH_BYTES`]). A declared length past the limit is
/// answered 413 without storing a byte of the body (it is read and dropped, so the client hears
/// the answer). A body without a declared length (chunked) is read up to the limit here and
/// answered 413 past it: the server functions' decoder would call an overlong body malformed
/// (400). Uploads stream to disk instead, and their extractor answers 413.
async fn body_limit(limit: usize, req: Request, next: axum::middleware::Next) -> Response {
    let upload = req.uri().path().starts_with("/api/ingest/");
    let limit = match req.uri().path() {
        _ if upload => upload::MAX_UPLOAD_BYTES,
        "/api/sync/push-sealed" => MAX_SEALED_PUSH_BYTES.max(limit),
        _ => limit,
    };
    let too_large = || ApiError::TooLarge(format!("the request body is over the {limit}-byte limit")).into_response();
    let chunked = req.headers().get(header::CONTENT_LENGTH).is_none();
    if chunked && !upload {
        let (parts, body) = req.into_parts();
        return match axum::body::to_bytes(body, limit).await {
            Ok(bytes) => next.run(Request::from_parts(parts, axum::body::Body::from(bytes))).await,
            Err(e) if is_length_limit(&e) => too_large(),
            Err(e) => ApiError::BadRequest(format!("the request body could not be read: {e}")).into_response(),
        };
    }
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
        return too_large();
    }
    next.run(req.map(|b| axum::body::Body::new(http_body_util::Limited::new(b, limit)))).await
}

/// True when reading a body stopped at its limit (rather than failing on the wire).
fn is_length_limit(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if err.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = err.source();
    }
    false
}

/// Hands the nonce the security-header layer generated for this request to the renderer, so
/// the page's inline scripts carry the nonce its Content-Security-Policy names.
fn provide_request_nonce() {
    let nonce = use_context::<axum::http::request::Parts>()
        .and_then(|p| p.extensions.get::<auth::csp::CspNonce>().map(|n| n.0.clone()));
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
        None => ApiError::NotFound("this server runs without a built site: no service worker".into()).into_response(),
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
/// with 500, so this turns those answers (the envelope's `bad_request`, from arguments that did
/// not decode) into 400 with the same body.
async fn api_decode_errors_are_400(req: Request, next: Next) -> Response {
    let is_api = req.uri().path().starts_with("/api/");
    let resp = next.run(req).await;
    if !is_api || resp.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return ApiError::Internal("the answer could not be read".into()).into_response();
    };
    if let Ok(e) = serde_json::from_slice::<ApiError>(&bytes) {
        parts.status = e.status_code();
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
