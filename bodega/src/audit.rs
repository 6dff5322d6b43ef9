//! The audit log: who did what, when, from where, with what outcome (CJIS AU-2/AU-3).
//!
//! Append-only by construction: the schema refuses updates, and deletes of records younger than
//! 366 days (AU-11 asks for at least a year). Nothing here takes a secret: the columns are names,
//! actions, targets and reasons.

use serde::{Deserialize, Serialize};

use crate::store::{now_seconds, Bodega, BodegaError};
use crate::{on_pool, on_writer};

pub use protocol::audit::{AuditRecord, Outcome};

/// A search of the audit log; every field narrows it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AuditQuery {
    /// Actor name contains this (case-insensitive).
    pub actor: Option<String>,
    /// Exact action name.
    pub action: Option<String>,
    /// `success`, `denied` or `failure`.
    pub outcome: Option<String>,
    /// From (UTC seconds, inclusive).
    pub from: Option<i64>,
    /// To (UTC seconds, exclusive).
    pub to: Option<i64>,
    /// Records with an id below this (paging backwards).
    pub before_id: Option<i64>,
    /// At most this many (default 100, at most 1,000).
    pub limit: Option<i64>,
}

fn clip(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

impl Bodega {
    /// Appends one record, stamped with the server clock.
    ///
    /// # Errors
    /// A store error. Callers treat a failed audit write as a failed action.
    pub async fn append_audit(&self, e: &AuditRecord) -> Result<i64, BodegaError> {
        let outcome = e.outcome.as_str();
        let id: i64 = on_writer!(self, pool => sqlx::query_scalar(
            "INSERT INTO audit_log (at, actor_user_id, actor, action, target, district_code, source_ip, device_id, \
             outcome, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id")
            .bind(now_seconds())
            .bind(e.actor_user_id)
            .bind(clip(if e.actor.is_empty() { "anonymous" } else { &e.actor }, 120))
            .bind(clip(&e.action, 64))
            .bind(clip(&e.target, 300))
            .bind(e.district_code.as_deref())
            .bind(clip(&e.source_ip, 64))
            .bind(e.device_id.as_deref())
            .bind(outcome)
            .bind(clip(&e.detail, 1000))
            .fetch_one(pool).await)?;
        Ok(id)
    }

    /// Searches the log, newest first.
    ///
    /// # Errors
    /// A store error.
    pub async fn search_audit(&self, q: &AuditQuery) -> Result<Vec<AuditRecord>, BodegaError> {
        let limit = q.limit.unwrap_or(100).clamp(1, 1000);
        // The actor is matched as typed, anywhere in the name: `%` and `_` are letters here, not
        // LIKE's wildcards (docs/SECURITY.md), so they are escaped with `\`, as is `\` itself.
        let actor = q.actor.as_ref().map(|a| format!("%{}%", like_literal(&a.to_lowercase())));
        type Row =
            (i64, i64, Option<i64>, String, String, String, Option<String>, String, Option<String>, String, String);
        let rows: Vec<Row> = on_pool!(self, pool => sqlx::query_as(
            "SELECT id, at, actor_user_id, actor, action, target, district_code, source_ip, device_id, outcome, detail \
             FROM audit_log \
             WHERE ($1 IS NULL OR LOWER(actor) LIKE $1 ESCAPE '\\') AND ($2 IS NULL OR action = $2) \
               AND ($3 IS NULL OR outcome = $3) AND ($4 IS NULL OR at >= $4) AND ($5 IS NULL OR at < $5) \
               AND ($6 IS NULL OR id < $6) \
             ORDER BY id DESC LIMIT $7")
            .bind(actor)
            .bind(q.action.as_deref())
            .bind(q.outcome.as_deref())
            .bind(q.from)
            .bind(q.to)
            .bind(q.before_id)
            .bind(limit)
            .fetch_all(pool).await)?;
        Ok(rows
            .into_iter()
            .map(
                |(
                    id,
                    at,
                    actor_user_id,
                    actor,
                    action,
                    target,
                    district_code,
                    source_ip,
                    device_id,
                    outcome,
                    detail,
                )| {
                    AuditRecord {
                        id,
                        at,
                        actor_user_id,
                        actor,
                        action,
                        target,
                        district_code,
                        source_ip,
                        device_id,
                        outcome: Outcome::from_stored(&outcome),
                        detail,
                    }
                },
            )
            .collect())
    }

    /// Deletes audit records older than the retention period (at least 366 days; the schema
    /// refuses anything younger). Returns how many went.
    ///
    /// # Errors
    /// A store error, including the schema's refusal when `keep_days` < 366.
    pub async fn purge_audit_older_than(&self, keep_days: i64) -> Result<u64, BodegaError> {
        let cutoff = now_seconds() - keep_days.max(366) * 86_400;
        Ok(on_writer!(self, pool => sqlx::query("DELETE FROM audit_log WHERE at < $1")
            .bind(cutoff).execute(pool).await.map(|r| r.rows_affected()))?)
    }
}

/// `text` with LIKE's wildcards (`%`, `_`) and its escape character (`\`) escaped, for a
/// pattern written `… LIKE $n ESCAPE '\'`.
fn like_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
