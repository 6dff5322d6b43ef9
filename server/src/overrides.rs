//! Supervisors' override codes: with no signal, an officer cannot sign out of a device holding
//! unsynced work unless a sergeant (or command) enters their override code on it. The device
//! checks the code offline against a PBKDF2 verifier it received with its hot-spot inputs
//! (`app::device::cache::FieldCache::supervisors`); the work stays on the device, and at its author's
//! next sign-in the device reports the override (`POST /api/sync/override`, both names into the
//! audit log) before pushing it.
//!
//! - `POST /api/auth/override-code` — a new code for the signed-in supervisor, shown once; the
//!   previous one stops working on each device at its next refresh.
//! - `POST /api/sync/override` — [`protocol::sync::OverrideReport`].

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, RequestExt};
use bodega::audit::{AuditRecord, Outcome};
use protocol::policy::Target;
use protocol::sync::{OverrideReport, OVERRIDE_ITERATIONS};
use protocol::{Action, Role};

use app::error::ApiError;

use crate::gate::{asker, device_limit, gate};
use crate::state::AppState;

/// The code's alphabet: Crockford's base 32 (no I, L, O, U), 5 bits a letter.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Letters in a code (50 bits).
pub const CODE_LEN: usize = 10;

/// `PBKDF2-HMAC-SHA256(code, salt, iterations)`, 32 bytes: what a device compares.
pub fn verifier(code: &str, salt: &[u8], iterations: u32) -> [u8; 32] {
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(normalise(code).as_bytes(), salt, iterations, &mut out);
    out
}

/// Upper case without spaces or dashes: how a code is typed does not matter.
pub fn normalise(code: &str) -> String {
    code.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_uppercase()).collect()
}

fn random_bytes<const N: usize>() -> [u8; N] {
    use argon2::password_hash::rand_core::{OsRng, RngCore};
    let mut b = [0u8; N];
    OsRng.fill_bytes(&mut b);
    b
}

/// A new random code (rejection-free: 32 letters divide 256).
pub fn new_code() -> String {
    random_bytes::<CODE_LEN>().iter().map(|b| ALPHABET[(*b % 32) as usize] as char).collect()
}

/// `POST /api/auth/override-code`: `{"code": "…", "iterations": N}`.
pub async fn issue(State(state): State<AppState>, req: Request) -> Response {
    let grant = match gate(&state, asker(&req), Action::IssueOverrideCode, Target::Own, "override code").await {
        Ok(g) => g,
        Err(resp) => return resp,
    };
    let code = new_code();
    let salt = random_bytes::<16>();
    let derived = tokio::task::spawn_blocking({
        let code = code.clone();
        move || verifier(&code, &salt, OVERRIDE_ITERATIONS)
    })
    .await;
    let Ok(derived) = derived else {
        return ApiError::Unavailable("the code could not be made; try again".into()).into_response();
    };
    let now = jiff::Timestamp::now().as_second();
    let user = grant.user().id;
    if let Err(e) = state
        .ctx
        .bodega
        .set_override_code(user, &hex::encode(salt), OVERRIDE_ITERATIONS, &hex::encode(derived), now)
        .await
    {
        tracing::error!(error = %e, "override code not stored");
        return ApiError::Unavailable("the Data Bodega is unavailable".into()).into_response();
    }
    // The code itself never reaches the log.
    if let Err(e) = grant.audit(&state.ctx, "override code", Outcome::Success, "a new override code was issued").await {
        return e.into_response();
    }
    let body = serde_json::json!({ "code": code, "iterations": OVERRIDE_ITERATIONS });
    (StatusCode::OK, [(axum::http::header::CACHE_CONTROL, "no-store")], Json(body)).into_response()
}

/// `POST /api/sync/override`: the author's device reports a supervisor's override. Recorded
/// with both names; a supervisor who is not a sergeant of the author's districts or command
/// staff is recorded as a failed claim, and answered as any other (the refusal would tell who
/// supervises whom). Only for the caller's own device, rate limited with the sync.
pub async fn report(State(state): State<AppState>, req: Request) -> Response {
    let asker = asker(&req);
    let grant = match gate(&state, asker, Action::SyncDevice, Target::Own, "/api/sync/override").await {
        Ok(g) => g,
        Err(resp) => return resp,
    };
    let Json(r) = match req.extract::<Json<OverrideReport>, _>().await {
        Ok(b) => b,
        Err(e) => {
            return crate::sync::body_refusal(
                e.status(),
                format!("the override report is not valid: {}", e.body_text()),
            );
        }
    };
    let author = grant.user();
    if let Some(resp) = device_limit(&state, author.id, &r.device_id) {
        return resp;
    }
    if let Err(e) = check_report(&state, author.id, &r).await {
        return e.into_response();
    }
    let supervisor = match state.ctx.bodega.user_by_username(&r.supervisor.to_lowercase()).await {
        Ok(u) => u,
        Err(e) => {
            tracing::error!(error = %e, "override report: store");
            return ApiError::Unavailable("the Data Bodega is unavailable".into()).into_response();
        }
    };
    let valid = supervisor.as_ref().is_some_and(|s| {
        s.roles.contains(&Role::Command)
            || (s.roles.contains(&Role::Sergeant) && s.districts.iter().any(|d| author.districts.contains(d)))
    });
    let at = jiff::Timestamp::from_second(r.at).map(|t| t.to_string()).unwrap_or_else(|_| r.at.to_string());
    let detail = format!(
        "{} signed {} out of device {} at {at} (device clock) with {} unsynced change(s) kept on the device",
        r.supervisor, author.username, r.device_id, r.pending
    );
    let entry = AuditRecord {
        actor_user_id: Some(author.id),
        actor: author.username.clone(),
        action: "sync_override".into(),
        target: format!("supervisor {}", r.supervisor),
        district_code: author.districts.first().cloned(),
        source_ip: grant.client.ip.clone(),
        device_id: Some(r.device_id.clone()),
        outcome: if valid { Outcome::Success } else { Outcome::Failure },
        detail: if valid { detail } else { format!("not a supervisor of this officer: {detail}") },
        ..Default::default()
    };
    if let Err(e) = state.ctx.bodega.append_audit(&entry).await {
        tracing::error!(error = %e, "audit log write failed");
        return ApiError::Unavailable("the audit log could not be written".into()).into_response();
    }
    // One answer whether or not the name is a supervisor of the officer: the audit log tells
    // administrators which claims failed, and an officer cannot learn who supervises whom.
    (StatusCode::OK, Json(serde_json::json!({ "recorded": true }))).into_response()
}

/// How far a report's device clock may run ahead of the server's, and how old a report may be:
/// a device holds overridden work until its author's next sign-in, which a long leave can put
/// months away, so a year (the audit log's own retention, CJIS AU-11); a forged time (year 2100,
/// `i64::MIN`) is refused.
const REPORT_AHEAD_S: i64 = 86_400;
const REPORT_MAX_AGE_S: i64 = 366 * 86_400;
/// At most this many unsynced changes in a report (a device's outbox is far smaller).
const REPORT_MAX_PENDING: u32 = 100_000;

/// A report is about the caller's own registered device, names a supervisor the way sign-in
/// names are written, at a plausible time (the last year), with a plausible count; otherwise 422
/// naming the field.
async fn check_report(state: &AppState, user_id: i64, r: &OverrideReport) -> Result<(), ApiError> {
    let refuse = |field: &str, why: &str| Err(ApiError::invalid(field, why));
    match state.ctx.bodega.device(&r.device_id).await {
        Ok(Some(d)) if d.user_id == user_id => {}
        Ok(_) => return refuse("device_id", "not a device registered to you"),
        Err(e) => {
            tracing::error!(error = %e, "override report: store");
            return Err(ApiError::Unavailable("the Data Bodega is unavailable".into()));
        }
    }
    if let Err(bodega::accounts::AccountError::Invalid { reason, .. }) =
        bodega::accounts::validate_username(&r.supervisor)
    {
        return Err(ApiError::invalid("supervisor", format!("a sign-in name: {reason}")));
    }
    let now = jiff::Timestamp::now().as_second();
    if !(now - REPORT_MAX_AGE_S..=now + REPORT_AHEAD_S).contains(&r.at) {
        return refuse("at", "the override must be from the last year, by the device's clock");
    }
    if r.pending > REPORT_MAX_PENDING {
        return refuse("pending", "more unsynced changes than a device holds");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_ten_unambiguous_letters_and_typing_does_not_matter() {
        let c = new_code();
        assert_eq!(c.len(), CODE_LEN);
        assert!(c.bytes().all(|b| ALPHABET.contains(&b)));
        assert_ne!(new_code(), c);
        let salt = [7u8; 16];
        assert_eq!(verifier("ab12-cd34 ef", &salt, 1000), verifier("AB12CD34EF", &salt, 1000));
        assert_ne!(verifier("AB12CD34EF", &salt, 1000), verifier("AB12CD34EG", &salt, 1000));
    }

    #[test]
    fn the_verifier_is_standard_pbkdf2_hmac_sha256() {
        // RFC 7914 §11 test vector: PBKDF2-HMAC-SHA256("passwd", "salt", 1, 64) starts 55ac046e…
        // (our codes are upper-cased first, so the check goes through the primitive itself).
        let mut out = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<sha2::Sha256>(b"passwd", b"salt", 1, &mut out);
        assert_eq!(hex::encode(&out[..8]), "55ac046e56e3089f");
    }
}
