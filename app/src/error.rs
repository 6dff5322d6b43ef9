//! The one error every part of Beatbook's API answers with: server functions return it, the
//! server's axum routes and the gate answer it, the sync routes refuse with it. On the wire it is
//! always the envelope of [`protocol::error`] (`{"error": code, "message", "field"?, "details"?}`)
//! with the code's one HTTP status; in Rust it is [`ApiError`], one variant per code.

use std::collections::BTreeMap;

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use protocol::error::ErrorEnvelope;
use serde::{Deserialize, Serialize};

/// Who may call an endpoint: `None` for public endpoints, else the policy action it needs.
/// Every server function and API route is listed in the endpoint registry (`crate::endpoints`,
/// `server::router::routes`); the server's authorization matrix test fails for one that is not.
pub type Access = Option<protocol::Action>;

/// An API error: one variant per code of [`protocol::error::CODES`]. Messages are safe to show
/// and never carry internals.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
#[serde(into = "ErrorEnvelope", try_from = "ErrorEnvelope")]
pub enum ApiError {
    /// The request could not be read: 400.
    #[error("{0}")]
    BadRequest(String),
    /// No live session (never signed in, idle-locked, expired, ended): 401.
    #[error("{0}")]
    Unauthenticated(String),
    /// Wrong username or password: 401.
    #[error("{0}")]
    BadCredentials(String),
    /// The account has a second factor and the code was not sent: 401 (field `totp`).
    #[error("{0}")]
    TotpRequired(String),
    /// The second factor's code is wrong or expired: 401 (field `totp`).
    #[error("{0}")]
    BadTotp(String),
    /// Signed in, but the policy does not allow it: 403.
    #[error("not allowed: {0}")]
    Forbidden(String),
    /// A cross-site request tried to change something: 403.
    #[error("{0}")]
    CrossSite(String),
    /// The account is locked after repeated failed sign-ins: 403.
    #[error("{0}")]
    Locked(String),
    /// An administrator revoked this device: 403, with the unsynced changes it reported.
    #[error("{message}")]
    DeviceRevoked {
        /// What the user reads.
        message: String,
        /// Changes the device said it still holds, when it said.
        pending: Option<u64>,
    },
    /// The thing asked for does not exist: 404.
    #[error("{0}")]
    NotFound(String),
    /// The request took longer than the server's limit: 408.
    #[error("{0}")]
    Timeout(String),
    /// The request conflicts with the current state (stale version, not allowed from here): 409.
    #[error("{0}")]
    Conflict(String),
    /// The device is registered to another user: 409.
    #[error("{0}")]
    DeviceInUse(String),
    /// Sync: mutations are missing before this batch: 409 `gap`.
    #[error("{}", protocol::sync::SyncRefusal::Gap { last_seq: *last_seq, first: *first })]
    Gap {
        /// Highest sequence the server holds.
        last_seq: u64,
        /// First sequence of the refused batch.
        first: u64,
    },
    /// Sync: the device speaks another wire version: 409 `upgrade`.
    #[error("{}", protocol::sync::SyncRefusal::Upgrade { client: *client, server: *server })]
    Upgrade {
        /// The device's.
        client: u32,
        /// The server's.
        server: u32,
    },
    /// The request body is over the limit: 413.
    #[error("{0}")]
    TooLarge(String),
    /// A field is missing or wrong: 422, naming the field.
    #[error("{field}: {message}")]
    Invalid {
        /// The field, as named in the request.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// Too many requests: 429, with the seconds to wait.
    #[error("{message}")]
    RateLimited {
        /// What the user reads.
        message: String,
        /// Seconds before trying again.
        retry_after_s: u64,
    },
    /// The server failed (the log has the details): 500.
    #[error("{0}")]
    Internal(String),
    /// The Data Bodega could not answer; the message is safe to show: 503.
    #[error("the Data Bodega is unavailable: {0}")]
    Unavailable(String),
    /// The call itself failed (network, encoding); offline clients see this. On the wire it is
    /// `bad_request` when the arguments did not decode, else `internal`.
    #[error("{0}")]
    Transport(ServerFnErrorErr),
}

impl ApiError {
    /// The stable code on the wire (one of [`protocol::error::CODES`]).
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Unauthenticated(_) => "unauthenticated",
            ApiError::BadCredentials(_) => "bad_credentials",
            ApiError::TotpRequired(_) => "totp_required",
            ApiError::BadTotp(_) => "bad_totp",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::CrossSite(_) => "cross_site",
            ApiError::Locked(_) => "locked",
            ApiError::DeviceRevoked { .. } => "device_revoked",
            ApiError::DeviceInUse(_) => "device_in_use",
            ApiError::NotFound(_) => "not_found",
            ApiError::Timeout(_) => "timeout",
            ApiError::Conflict(_) => "conflict",
            ApiError::Gap { .. } => "gap",
            ApiError::Upgrade { .. } => "upgrade",
            ApiError::TooLarge(_) => "too_large",
            ApiError::Invalid { .. } => "invalid",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::Internal(_) => "internal",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Transport(ServerFnErrorErr::Args(_) | ServerFnErrorErr::Deserialization(_)) => "bad_request",
            ApiError::Transport(ServerFnErrorErr::MissingArg(_)) => "bad_request",
            ApiError::Transport(_) => "internal",
        }
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        protocol::error::status_of(self.code())
    }

    /// True when the server could not be reached at all (the device store should answer).
    pub fn is_offline(&self) -> bool {
        matches!(self, ApiError::Transport(ServerFnErrorErr::Request(_) | ServerFnErrorErr::Response(_)))
    }

    /// A field-level validation error.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        ApiError::Invalid { field: field.to_string(), message: message.into() }
    }

    /// A sync refusal as the API answers it.
    pub fn from_refusal(refusal: protocol::sync::SyncRefusal) -> Self {
        use protocol::sync::SyncRefusal;
        match refusal {
            SyncRefusal::Upgrade { client, server } => ApiError::Upgrade { client, server },
            SyncRefusal::Gap { last_seq, first } => ApiError::Gap { last_seq, first },
            SyncRefusal::Malformed(m) => ApiError::invalid("mutations", m),
        }
    }

    /// The envelope's `message`: the sentence without the prefix [`Display`](std::fmt::Display)
    /// adds for some codes.
    fn message(&self) -> String {
        match self {
            ApiError::Forbidden(m) | ApiError::Unavailable(m) => m.clone(),
            ApiError::Invalid { message, .. } => message.clone(),
            other => other.to_string(),
        }
    }
}

fn details(pairs: &[(&str, serde_json::Value)]) -> Option<BTreeMap<String, serde_json::Value>> {
    Some(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
}

impl From<ApiError> for ErrorEnvelope {
    fn from(e: ApiError) -> Self {
        let field = match &e {
            ApiError::Invalid { field, .. } => Some(field.clone()),
            ApiError::TotpRequired(_) | ApiError::BadTotp(_) => Some("totp".to_string()),
            _ => None,
        };
        let details = match &e {
            ApiError::Gap { last_seq, first } => {
                details(&[("last_seq", (*last_seq).into()), ("first", (*first).into())])
            }
            ApiError::Upgrade { client, server } => {
                details(&[("client", (*client).into()), ("server", (*server).into())])
            }
            ApiError::DeviceRevoked { pending: Some(n), .. } => details(&[("pending", (*n).into())]),
            ApiError::RateLimited { retry_after_s, .. } => details(&[("retry_after_s", (*retry_after_s).into())]),
            _ => None,
        };
        ErrorEnvelope { error: e.code().to_string(), message: e.message(), field, details }
    }
}

impl TryFrom<ErrorEnvelope> for ApiError {
    type Error = String;

    fn try_from(e: ErrorEnvelope) -> Result<Self, String> {
        let n = |k: &str| e.detail_u64(k);
        let m = e.message.clone();
        Ok(match e.error.as_str() {
            "bad_request" => ApiError::BadRequest(m),
            "unauthenticated" => ApiError::Unauthenticated(m),
            "bad_credentials" => ApiError::BadCredentials(m),
            "totp_required" => ApiError::TotpRequired(m),
            "bad_totp" => ApiError::BadTotp(m),
            "forbidden" => ApiError::Forbidden(m),
            "cross_site" => ApiError::CrossSite(m),
            "locked" => ApiError::Locked(m),
            "device_revoked" => ApiError::DeviceRevoked { message: m, pending: n("pending") },
            "device_in_use" => ApiError::DeviceInUse(m),
            "not_found" => ApiError::NotFound(m),
            "timeout" => ApiError::Timeout(m),
            "conflict" => ApiError::Conflict(m),
            "gap" => ApiError::Gap { last_seq: n("last_seq").unwrap_or(0), first: n("first").unwrap_or(0) },
            "upgrade" => {
                let v = |k| n(k).and_then(|v| u32::try_from(v).ok()).unwrap_or(0);
                ApiError::Upgrade { client: v("client"), server: v("server") }
            }
            "too_large" => ApiError::TooLarge(m),
            "invalid" => ApiError::Invalid { field: e.field.unwrap_or_default(), message: m },
            "rate_limited" => ApiError::RateLimited { message: m, retry_after_s: n("retry_after_s").unwrap_or(1) },
            "internal" => ApiError::Internal(m),
            "unavailable" => ApiError::Unavailable(m),
            other => return Err(format!("unknown error code '{other}'")),
        })
    }
}

impl FromServerFnError for ApiError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        Self::Transport(value)
    }
}

/// On the server: setting a server function's status, and answering from an axum route.
#[cfg(feature = "ssr")]
pub mod ssr {
    use axum::http::{header, HeaderValue, StatusCode};
    use axum::response::{IntoResponse, Response};
    use leptos::prelude::use_context;

    use super::ApiError;

    impl ApiError {
        /// The status as an [`http::StatusCode`].
        pub fn status_code(&self) -> StatusCode {
            StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
        }
    }

    /// The envelope with its status (and `Retry-After` when rate limited), for an axum route.
    impl IntoResponse for ApiError {
        fn into_response(self) -> Response {
            let retry = match &self {
                ApiError::RateLimited { retry_after_s, .. } => Some(*retry_after_s),
                _ => None,
            };
            let mut resp = (self.status_code(), axum::Json(self)).into_response();
            if let Some(secs) = retry {
                resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            resp
        }
    }

    /// Sets the HTTP status for an error a server function is about to return. A page whose
    /// server render read data its user may not see keeps its own status: the page says so in
    /// its body.
    pub fn respond_with(err: &ApiError) {
        let is_api_call = use_context::<http::request::Parts>().is_some_and(|p| p.uri.path().starts_with("/api/"));
        if !is_api_call {
            return;
        }
        if let Some(opts) = use_context::<leptos_axum::ResponseOptions>() {
            opts.set_status(err.status_code());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_kind() -> Vec<ApiError> {
        vec![
            ApiError::BadRequest("b".into()),
            ApiError::Unauthenticated("u".into()),
            ApiError::BadCredentials("c".into()),
            ApiError::TotpRequired("t".into()),
            ApiError::BadTotp("t".into()),
            ApiError::Forbidden("f".into()),
            ApiError::CrossSite("x".into()),
            ApiError::Locked("l".into()),
            ApiError::DeviceRevoked { message: "r".into(), pending: Some(2) },
            ApiError::NotFound("n".into()),
            ApiError::Timeout("t".into()),
            ApiError::Conflict("c".into()),
            ApiError::DeviceInUse("d".into()),
            ApiError::Gap { last_seq: 4, first: 7 },
            ApiError::Upgrade { client: 1, server: 2 },
            ApiError::TooLarge("l".into()),
            ApiError::invalid("shift_date", "not a date"),
            ApiError::RateLimited { message: "wait".into(), retry_after_s: 9 },
            ApiError::Internal("i".into()),
            ApiError::Unavailable("down".into()),
        ]
    }

    #[test]
    fn every_code_is_one_variant_and_round_trips_through_the_envelope() {
        let kinds = every_kind();
        let codes: Vec<&str> = kinds.iter().map(ApiError::code).collect();
        let listed: Vec<&str> = protocol::error::CODES.iter().map(|(c, _, _)| *c).collect();
        assert_eq!(codes, listed, "one variant per code, in the table's order");
        for e in kinds {
            let json = serde_json::to_string(&e).expect("json");
            let back: ApiError = serde_json::from_str(&json).expect("back");
            assert_eq!(back, e, "{json}");
            assert_eq!(back.to_string(), e.to_string());
        }
    }

    #[test]
    fn the_envelope_carries_field_and_details_as_documented() {
        let v = serde_json::to_value(ApiError::invalid("shift", "no shift 'Z'")).expect("json");
        assert_eq!(v, serde_json::json!({"error": "invalid", "message": "no shift 'Z'", "field": "shift"}));
        let v = serde_json::to_value(ApiError::Gap { last_seq: 4, first: 7 }).expect("json");
        assert_eq!(v["details"], serde_json::json!({"last_seq": 4, "first": 7}));
        assert_eq!(v["error"], "gap");
        let v = serde_json::to_value(ApiError::Transport(ServerFnErrorErr::Args("x".into()))).expect("json");
        assert_eq!(
            (v["error"].as_str(), ApiError::Transport(ServerFnErrorErr::Args("x".into())).status()),
            (Some("bad_request"), 400)
        );
    }
}
