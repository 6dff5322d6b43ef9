//! `POST /api/ingest/{kind}`: an analyst uploads an export (incidents, calls for service or GPS
//! as CSV; districts as GeoJSON) or a harm weight table (CSV `offense,weight[,note]`, named by
//! `table` and `table_version`, then put in force) or the weights of calls for service
//! (`call-weights`: CSV `call_type,priority,weight[,note]`, replacing the table) from the app's
//! upload screen. The same loaders as
//! `server ingest` (streaming, idempotent, bad rows kept with their line and reason); the body
//! is streamed to a temporary file first, so an upload is bounded by [`MAX_UPLOAD_BYTES`], not
//! by memory. Query: `file_name` (a plain file name, recorded in the batch; never used as a
//! path), `preset` (incidents: a column-mapping preset), `dry_run`. Audited as `ingest_data`.
//! Uploads get [`UPLOAD_TIMEOUT`] instead of the API's request timeout, and the load runs in a
//! task of its own, so a client that gives up never leaves a load committed but unaudited.

use app::upload::Uploaded;
use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::StreamExt;
use protocol::policy::Target;
use protocol::Action;
use serde::Deserialize;
use std::io::Write;

use app::error::ApiError;

use crate::gate::{asker, gate};
use crate::state::AppState;

/// Largest upload, bytes (a year of a large city's incidents is well under this).
pub const MAX_UPLOAD_BYTES: usize = 512 * 1024 * 1024;

/// How long an upload may take, from its first byte to its answer: a 512 MiB file over a slow
/// office link, then its load (about 9 s per million rows on SQLite).
pub const UPLOAD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30 * 60);

/// The upload's query string.
#[derive(Debug, Deserialize)]
pub struct UploadQuery {
    /// The file's name as the analyst's computer had it.
    pub file_name: String,
    /// Incidents: the column-mapping preset of the export (`vancouver`, `chicago`, …).
    pub preset: Option<String>,
    /// Check everything, store nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// A harm table's name (`cambridge-chi`).
    pub table: Option<String>,
    /// A harm table's version (`2020`): a version never changes meaning.
    pub table_version: Option<String>,
}

/// A file name as a name only: no directories, no traversal, no control characters.
///
/// # Errors
/// What is wrong with it.
pub fn plain_file_name(name: &str) -> Result<String, String> {
    let n = name.trim();
    if n.is_empty() {
        return Err("must be 1 to 200 characters".into());
    }
    if n.contains(['/', '\\']) || n == "." || n == ".." || n.starts_with("..") {
        return Err("must be a file name, not a path".into());
    }
    protocol::text::check(n, 200, protocol::text::Lines::One)?;
    Ok(n.to_string())
}

/// A refused upload as the envelope: `status` picks the code (404 unknown kind, 400 unreadable,
/// 413 too large, 500/503 the server's own failure, else 422 naming `field`).
fn refuse(status: StatusCode, field: &str, message: impl Into<String>) -> Response {
    let message = message.into();
    match status {
        StatusCode::NOT_FOUND => ApiError::NotFound(message),
        StatusCode::BAD_REQUEST => ApiError::BadRequest(message),
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge(message),
        StatusCode::INTERNAL_SERVER_ERROR => ApiError::Internal(message),
        StatusCode::SERVICE_UNAVAILABLE => ApiError::Unavailable(message),
        _ => ApiError::invalid(field, message),
    }
    .into_response()
}

/// The handler.
pub async fn upload(
    State(state): State<AppState>,
    Path(kind): Path<String>,
    query: Result<Query<UploadQuery>, axum::extract::rejection::QueryRejection>,
    req: Request,
) -> Response {
    let grant = match gate(&state, asker(&req), Action::IngestData, Target::City, "/api/ingest").await {
        Ok(g) => g,
        Err(resp) => return resp,
    };
    if !["incidents", "calls", "gps", "districts", "harm", "call-weights"].contains(&kind.as_str()) {
        return refuse(StatusCode::NOT_FOUND, "kind", "upload incidents, calls, gps, districts, harm or call-weights");
    }
    let Ok(Query(q)) = query else {
        return refuse(StatusCode::BAD_REQUEST, "file_name", "the upload needs ?file_name=NAME");
    };
    let file_name = match plain_file_name(&q.file_name) {
        Ok(n) => n,
        Err(why) => return refuse(StatusCode::UNPROCESSABLE_ENTITY, "file_name", format!("file_name {why}")),
    };
    let mapping = match (&kind[..], &q.preset) {
        ("incidents", Some(p)) if !p.is_empty() => match bodega::mapping::Mapping::preset(p) {
            Some(m) => Some(m),
            None => {
                return refuse(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "preset",
                    format!(
                        "no preset '{}'; the presets are {}",
                        p.chars().take(40).collect::<String>(),
                        bodega::mapping::Mapping::PRESETS.join(", ")
                    ),
                )
            }
        },
        _ => None,
    };
    // Stream the body to a temporary file (bounded), then load from it.
    let spooled = match spool(req.into_body()).await {
        Ok(f) => f,
        Err(resp) => return resp,
    };
    // Loaded and audited in a task of its own: a client that gives up (or a proxy's timeout)
    // drops this request, but never a load halfway between its commit and its audit record.
    let work = tokio::spawn(async move {
        let result = if kind == "harm" {
            load_harm(&state, &file_name, &q, spooled).await
        } else if kind == "call-weights" {
            load_call_weights(&state, &file_name, q.dry_run, spooled).await
        } else {
            load(&state, &kind, &file_name, q.dry_run, mapping, spooled).await
        };
        finish_upload(&state, &grant, &kind, &file_name, result).await
    });
    match work.await {
        Ok(resp) => resp,
        Err(e) => {
            tracing::error!(error = %e, "an upload's load task failed");
            refuse(StatusCode::INTERNAL_SERVER_ERROR, "file", "the load stopped unexpectedly (see the server log)")
        }
    }
}

async fn finish_upload(
    state: &AppState,
    grant: &app::auth::ssr::Grant,
    kind: &str,
    file_name: &str,
    result: Result<Uploaded, (StatusCode, String)>,
) -> Response {
    let (outcome, detail, resp) = match result {
        Ok(summary) => (
            bodega::audit::Outcome::Success,
            format!(
                "{}{kind} {file_name}: read {}, loaded {}, updated {}, unchanged {}, rejected {}{}",
                if summary.dry_run { "dry run: " } else { "" },
                summary.read,
                summary.loaded,
                summary.updated,
                summary.unchanged,
                summary.rejected,
                summary.in_force.as_deref().map(|f| format!("; {f}")).unwrap_or_default()
            ),
            Json(summary).into_response(),
        ),
        Err((status, message)) => {
            (bodega::audit::Outcome::Failure, format!("{kind} {file_name}: {message}"), refuse(status, "file", message))
        }
    };
    if let Err(e) = grant.audit(&state.ctx, &format!("upload {file_name}"), outcome, &detail).await {
        return e.into_response();
    }
    resp
}

async fn spool(body: Body) -> Result<std::fs::File, Response> {
    let io = |e: std::io::Error| {
        tracing::error!(error = %e, "spooling an upload failed");
        refuse(StatusCode::SERVICE_UNAVAILABLE, "file", "the server could not store the upload for loading")
    };
    let mut file = tempfile::tempfile().map_err(io)?;
    let mut stream = body.into_data_stream();
    let mut size = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| refuse(StatusCode::BAD_REQUEST, "file", format!("the upload broke off: {e}")))?;
        size += chunk.len();
        if size > MAX_UPLOAD_BYTES {
            return Err(refuse(
                StatusCode::PAYLOAD_TOO_LARGE,
                "file",
                format!("the file is over {} MiB; split it or use `server ingest`", MAX_UPLOAD_BYTES >> 20),
            ));
        }
        file.write_all(&chunk).map_err(io)?;
    }
    if size == 0 {
        return Err(refuse(StatusCode::UNPROCESSABLE_ENTITY, "file", "the file is empty"));
    }
    use std::io::Seek;
    file.rewind().map_err(io)?;
    Ok(file)
}

/// A harm weight table: read, checked, stored under its name and version, and put in force (a
/// dry run only reads and checks it). Loading the same weights again changes nothing; other
/// weights under a stored version are refused, since every score names the version it used.
async fn load_harm(
    state: &AppState,
    file_name: &str,
    q: &UploadQuery,
    file: std::fs::File,
) -> Result<Uploaded, (StatusCode, String)> {
    let invalid = |e: &dyn std::fmt::Display| (StatusCode::UNPROCESSABLE_ENTITY, e.to_string());
    let named = |v: &Option<String>, what: &str| {
        v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_string).ok_or_else(|| {
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("a harm table needs its {what} (letters, digits, '-', '_', '.')"),
            )
        })
    };
    let (name, version) = (named(&q.table, "name")?, named(&q.table_version, "version")?);
    let mut bytes = Vec::new();
    use std::io::Read;
    std::io::BufReader::new(file).read_to_end(&mut bytes).map_err(|e| invalid(&e))?;
    let rows = crate::analysis::read_weight_rows(&name, &bytes).map_err(|e| invalid(&e))?;
    let read = rows.len() as u64;
    let mut summary =
        Uploaded { kind: "harm".into(), file_name: file_name.into(), dry_run: q.dry_run, read, ..Default::default() };
    if q.dry_run {
        hotspot::HarmTable::new(&name, &version, rows.into_iter().map(|(o, w, _)| (o, w))).map_err(|e| invalid(&e))?;
        return Ok(summary);
    }
    let bodega = &state.ctx.bodega;
    let added = bodega.load_harm_table(&name, &version, &rows).await.map_err(|e| match e {
        bodega::harm::HarmTableError::Store(e) => {
            tracing::error!(error = %e, "loading a harm table failed");
            (StatusCode::SERVICE_UNAVAILABLE, "the Data Bodega is unavailable".to_string())
        }
        e => invalid(&e),
    })?;
    (summary.loaded, summary.unchanged) = if added { (read, 0) } else { (0, read) };
    let before = bodega.activate_harm_table(&name, &version).await.map_err(|e| invalid(&e))?;
    summary.in_force = Some(format!("harm table in force: {name}@{version} (was {before})"));
    Ok(summary)
}

/// The weights of calls for service: read, checked, and put in place of the table (a dry run
/// only reads and checks). The answer names the call types in the Data Bodega it does not weigh.
async fn load_call_weights(
    state: &AppState,
    file_name: &str,
    dry_run: bool,
    file: std::fs::File,
) -> Result<Uploaded, (StatusCode, String)> {
    let invalid = |e: &dyn std::fmt::Display| (StatusCode::UNPROCESSABLE_ENTITY, e.to_string());
    let unavailable = |e: &dyn std::fmt::Display| {
        tracing::error!(error = %e, "loading call weights failed");
        (StatusCode::SERVICE_UNAVAILABLE, "the Data Bodega is unavailable".to_string())
    };
    let mut bytes = Vec::new();
    use std::io::Read;
    std::io::BufReader::new(file).read_to_end(&mut bytes).map_err(|e| invalid(&e))?;
    let rows = bodega::call_weights::read_call_weights(&bytes).map_err(|e| invalid(&e))?;
    let read = rows.len() as u64;
    let mut summary =
        Uploaded { kind: "call-weights".into(), file_name: file_name.into(), dry_run, read, ..Default::default() };
    if dry_run {
        return Ok(summary);
    }
    let bodega = &state.ctx.bodega;
    let before = bodega.replace_call_weights(&rows).await.map_err(|e| match e {
        bodega::call_weights::CallWeightsError::Store(e) => unavailable(&e),
        e => invalid(&e),
    })?;
    summary.loaded = read;
    let missing = bodega.unweighed_call_types().await.map_err(|e| unavailable(&e))?;
    let on = bodega.dosage_rules().await.map_err(|e| unavailable(&e))?.rules.calls_weight_pct > 0;
    summary.in_force = Some(format!(
        "call weights in force: {read} rows (was {before}); the calls track is {}{}",
        if on { "on" } else { "off (command turns it on under Rules, Weight of calls for service)" },
        if missing.is_empty() {
            String::new()
        } else {
            format!(
                "; call types with no weight: {}",
                missing.iter().map(|(t, n)| format!("{t} ({n})")).collect::<Vec<_>>().join(", ")
            )
        }
    ));
    Ok(summary)
}

async fn load(
    state: &AppState,
    kind: &str,
    file_name: &str,
    dry_run: bool,
    mapping: Option<bodega::mapping::Mapping>,
    file: std::fs::File,
) -> Result<Uploaded, (StatusCode, String)> {
    let bodega = &state.ctx.bodega;
    let invalid = |e: &dyn std::fmt::Display| (StatusCode::UNPROCESSABLE_ENTITY, e.to_string());
    let mut summary = Uploaded { kind: kind.into(), file_name: file_name.into(), dry_run, ..Default::default() };
    if kind == "districts" {
        let mut text = String::new();
        use std::io::Read;
        std::io::BufReader::new(file)
            .read_to_string(&mut text)
            .map_err(|_| (StatusCode::UNPROCESSABLE_ENTITY, "the file is not UTF-8 text (GeoJSON is)".to_string()))?;
        if dry_run {
            return Err((
                StatusCode::UNPROCESSABLE_ENTITY,
                "districts have no dry run; check the file with `server ingest districts`".into(),
            ));
        }
        let s = bodega::districts::load_districts(bodega, &text, "district", "code", "name")
            .await
            .map_err(|e| invalid(&e))?;
        summary.read = s.loaded as u64;
        summary.loaded = s.loaded as u64;
        return Ok(summary);
    }
    let source = match kind {
        "calls" => "cad",
        "gps" => "avl",
        _ => "rms",
    };
    let opts = bodega::IngestOptions {
        source: source.into(),
        file_name: file_name.into(),
        time_zone: state.ctx.time_zone.clone(),
        dry_run,
        mapping,
    };
    let reader = std::io::BufReader::with_capacity(1 << 20, file);
    let s = match kind {
        "calls" => bodega::calls::ingest_calls_csv(bodega, reader, &opts).await,
        "gps" => bodega::gps::ingest_gps_csv(bodega, reader, &opts).await,
        _ => bodega::ingest::ingest_incidents_csv(bodega, reader, &opts).await,
    }
    .map_err(|e| invalid(&e))?;
    (summary.read, summary.loaded, summary.updated, summary.unchanged, summary.rejected) =
        (s.read, s.loaded, s.updated, s.unchanged, s.rejected);
    let batch = s.batch_id;
    if !dry_run {
        let rows = bodega.rejected_rows(batch).await.map_err(|e| {
            tracing::error!(error = %e, "reading rejected rows failed");
            (StatusCode::SERVICE_UNAVAILABLE, "the Data Bodega is unavailable".to_string())
        })?;
        summary.rejected_rows = rows.into_iter().take(50).collect();
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::plain_file_name;

    #[test]
    fn file_names_are_names_never_paths() {
        assert_eq!(plain_file_name(" vpd 2020.csv ").as_deref(), Ok("vpd 2020.csv"));
        for bad in ["../../etc/passwd", "..", "a/b.csv", "c:\\x.csv", "..\\x", "", "x\u{0}.csv", "a\nb"] {
            assert!(plain_file_name(bad).is_err(), "{bad:?}");
        }
    }
}
