//! The one shape every refusal of Beatbook's API takes on the wire, whoever answers it (a server
//! function, an axum route, the gate, the sync routes), and so the one shape a device reads:
//!
//! ```json
//! {"error": "invalid", "message": "shift_date: '2020-13-01' is not a date", "field": "shift_date"}
//! {"error": "gap", "message": "mutations are missing before 7: the server has up to 4",
//!  "details": {"last_seq": 4, "first": 7}}
//! ```
//!
//! `error` is a stable code from [`CODES`] (each with one HTTP status), `message` a sentence fit
//! to show, `field` the request field at fault when there is one, and `details` what a client
//! acts on (a sync gap's `last_seq`, a rate limit's `retry_after_s`).
//!
//! ```
//! let e: protocol::error::ErrorEnvelope =
//!     serde_json::from_str(r#"{"error":"gap","message":"m","details":{"last_seq":4,"first":7}}"#).unwrap();
//! assert_eq!(e.error, "gap");
//! assert_eq!(e.detail_u64("last_seq"), Some(4));
//! assert_eq!(protocol::error::status_of(&e.error), 409);
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// An error answer as it travels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorEnvelope {
    /// A stable code from [`CODES`].
    pub error: String,
    /// What went wrong, in a sentence fit to show.
    pub message: String,
    /// The request field at fault, for validation errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// What a client acts on (named per code in [`CODES`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<BTreeMap<String, serde_json::Value>>,
}

impl ErrorEnvelope {
    /// A detail read as a whole number.
    pub fn detail_u64(&self, key: &str) -> Option<u64> {
        self.details.as_ref()?.get(key)?.as_u64()
    }
}

/// Every code an answer may carry, with its HTTP status and what it means (docs/ARCHITECTURE.md
/// lists the same table).
pub const CODES: &[(&str, u16, &str)] = &[
    ("bad_request", 400, "the request could not be read (not JSON, arguments that do not decode)"),
    ("unauthenticated", 401, "no live session: sign in (again)"),
    ("bad_credentials", 401, "wrong username or password (the same answer for both)"),
    ("totp_required", 401, "the account has a second factor: send the 6-digit code (field `totp`)"),
    ("bad_totp", 401, "the second factor's code is wrong or expired (field `totp`)"),
    ("forbidden", 403, "signed in, but the policy does not allow it"),
    ("cross_site", 403, "a cross-site request may not change anything"),
    ("locked", 403, "the account is locked after repeated failed sign-ins"),
    ("device_revoked", 403, "an administrator revoked this device (details: `pending`, its unsynced changes)"),
    ("not_found", 404, "the thing asked for does not exist"),
    ("timeout", 408, "the request took longer than the server's limit"),
    ("conflict", 409, "the request conflicts with the current state (a stale version, a step not allowed from here)"),
    ("device_in_use", 409, "the device is registered to another user"),
    (
        "gap",
        409,
        "sync: mutations are missing before this batch (details: `last_seq`, `first`): resend from `last_seq + 1`",
    ),
    ("upgrade", 409, "sync: the device speaks another wire version (details: `client`, `server`): update first"),
    ("too_large", 413, "the request body is over the limit"),
    ("invalid", 422, "a field is missing or wrong (`field` names it)"),
    ("rate_limited", 429, "too many requests (details: `retry_after_s`; also the `Retry-After` header)"),
    ("internal", 500, "the server failed; the log has the details"),
    ("unavailable", 503, "the Data Bodega cannot answer"),
];

/// The HTTP status of a code (500 for a code not in [`CODES`]).
pub fn status_of(code: &str) -> u16 {
    CODES.iter().find(|(c, _, _)| *c == code).map_or(500, |(_, s, _)| *s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_written_once_in_snake_case() {
        let mut seen = std::collections::BTreeSet::new();
        for (code, status, meaning) in CODES {
            assert!(seen.insert(*code), "{code} twice");
            assert!(code.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{code}");
            assert!((400..600).contains(status) && !meaning.is_empty());
        }
    }

    #[test]
    fn an_envelope_without_field_or_details_writes_neither() {
        let e = ErrorEnvelope { error: "not_found".into(), message: "no mission x".into(), field: None, details: None };
        assert_eq!(serde_json::to_string(&e).expect("json"), r#"{"error":"not_found","message":"no mission x"}"#);
    }
}
