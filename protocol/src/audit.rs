//! The audit log's records as they leave the Data Bodega and reach the administrator's screen:
//! one type for both (the store appends `bodega::audit::AuditEntry`s; this is what it keeps).

use serde::{Deserialize, Serialize};

/// How an audited action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Done.
    Success,
    /// Refused by the policy (or a locked or revoked account/device).
    Denied,
    /// Tried and failed (wrong password, bad input, store error).
    Failure,
}

impl Outcome {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Denied => "denied",
            Outcome::Failure => "failure",
        }
    }
}

/// A stored record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Row id (increasing).
    pub id: i64,
    /// UTC seconds.
    pub at: i64,
    /// The user, when known.
    pub actor_user_id: Option<i64>,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// On what.
    pub target: String,
    /// District.
    pub district_code: Option<String>,
    /// From where.
    pub source_ip: String,
    /// Device.
    pub device_id: Option<String>,
    /// `success`, `denied` or `failure`.
    pub outcome: String,
    /// Reason or counts.
    pub detail: String,
}
