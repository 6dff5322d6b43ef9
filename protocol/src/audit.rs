//! The audit log's records: one type for what a request appends (its `id` and `at` are the
//! store's to set) and for what the store keeps and the administrator's screen reads.

use serde::{Deserialize, Serialize};

/// How an audited action ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Done.
    #[default]
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

    /// The outcome a stored name stands for (an unknown name reads as a failure: the log never
    /// makes a record look better than it was).
    pub fn from_stored(name: &str) -> Self {
        match name {
            "success" => Outcome::Success,
            "denied" => Outcome::Denied,
            _ => Outcome::Failure,
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One record of the audit log (who, what, when, from where, with what outcome). Appending
/// one, `id` and `at` are left at 0: the store numbers and times it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Row id (increasing; 0 until stored).
    pub id: i64,
    /// UTC seconds (0 until stored).
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
    /// How it ended.
    pub outcome: Outcome,
    /// Reason or counts.
    pub detail: String,
}
