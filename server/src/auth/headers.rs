//! The guards every answer passes: cross-site state changes refused (Fetch Metadata, then
//! `Origin`), and the security headers (the CSP with its per-request nonce, HSTS behind TLS).

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use app::error::ApiError;

use super::csp::{page_csp, CspNonce, NON_PAGE_CSP};
use crate::state::AppState;

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
    ApiError::CrossSite("cross-site requests may not change anything".into()).into_response()
}

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
        let csp = if is_html { page_csp(&nonce, state.tile_origin.as_deref()) } else { NON_PAGE_CSP.to_string() };
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
