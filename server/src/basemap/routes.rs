//! `GET /maps/{version}/basemap.pmtiles`: the department's basemap in byte ranges.

use app::error::ApiError;
use axum::extract::{Path as UrlPath, Request, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;

use super::CONTENT_TYPE;
use crate::state::AppState;

/// `GET /maps/{version}/basemap.pmtiles`: the file, with Range support. Public like the rest of
/// the site's static files: a basemap holds no police data.
pub async fn serve(State(state): State<AppState>, UrlPath(version): UrlPath<String>, req: Request) -> Response {
    let Some(basemap) = state.basemap.as_deref() else {
        return ApiError::NotFound("this department has no basemap file".into()).into_response();
    };
    if version != basemap.version {
        return ApiError::NotFound("that basemap version is no longer served; reload the page".into()).into_response();
    }
    let mime: mime::Mime = CONTENT_TYPE.parse().unwrap_or(mime::APPLICATION_OCTET_STREAM);
    let service = tower_http::services::ServeFile::new_with_mime(&basemap.path, &mime);
    match service.oneshot(req).await {
        Ok(resp) => {
            let mut resp = resp.into_response();
            if resp.status().is_success() {
                resp.headers_mut()
                    .insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
            }
            resp
        }
        Err(e) => {
            tracing::error!(error = %e, "serving the basemap failed");
            ApiError::Internal("the basemap could not be read".into()).into_response()
        }
    }
}
