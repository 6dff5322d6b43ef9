//! The administrator's screens' server functions: searching the audit log. Administrators read
//! who did what, never crime data (`protocol::policy`).

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};

use crate::api::ApiError;

/// A search of the audit log (every field narrows it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditSearch {
    /// Actor name contains this.
    pub actor: Option<String>,
    /// Exact action (`sign_in`, `view_overview`, …).
    pub action: Option<String>,
    /// `success`, `denied` or `failure`.
    pub outcome: Option<String>,
    /// Older than this record id (paging).
    pub before_id: Option<i64>,
}

/// One audit record as the screen shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRow {
    /// Record id.
    pub id: i64,
    /// UTC seconds.
    pub at: i64,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// On what.
    pub target: String,
    /// From where.
    pub source_ip: String,
    /// Device.
    pub device_id: Option<String>,
    /// `success`, `denied`, `failure`.
    pub outcome: String,
    /// Reason or counts.
    pub detail: String,
}

/// The server functions here, for the authorization matrix.
pub const ENDPOINTS: &[(&str, crate::api::Access)] = &[("/api/admin/audit", Some(protocol::Action::ViewAudit))];

/// Searches the audit log, newest first, 100 at a time. Each search is itself audited.
#[server(prefix = "/api", endpoint = "admin/audit", input = Json)]
pub async fn search_audit(search: AuditSearch) -> Result<Vec<AuditRow>, ApiError> {
    use crate::auth::ssr::{authorize, context};
    let ctx = context()?;
    let grant =
        authorize(&ctx, protocol::Action::ViewAudit, protocol::policy::Target::City, "/api/admin/audit").await?;
    let trim = |s: Option<String>| s.map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let outcome = trim(search.outcome);
    if let Some(o) = &outcome {
        if !["success", "denied", "failure"].contains(&o.as_str()) {
            let e = ApiError::invalid("outcome", "must be success, denied or failure");
            crate::auth::ssr::respond_with(&e);
            return Err(e);
        }
    }
    let q = bodega::audit::AuditQuery {
        actor: trim(search.actor),
        action: trim(search.action),
        outcome,
        before_id: search.before_id,
        limit: Some(100),
        ..Default::default()
    };
    let rows = ctx.bodega.search_audit(&q).await.map_err(|e| {
        tracing::error!(error = %e, "audit search failed");
        let e = ApiError::Unavailable("the audit log could not be read".into());
        crate::auth::ssr::respond_with(&e);
        e
    })?;
    grant
        .audit(&ctx, "audit log", bodega::audit::Outcome::Success, &format!("search returned {} records", rows.len()))
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| AuditRow {
            id: r.id,
            at: r.at,
            actor: r.actor,
            action: r.action,
            target: r.target,
            source_ip: r.source_ip,
            device_id: r.device_id,
            outcome: r.outcome,
            detail: r.detail,
        })
        .collect())
}
