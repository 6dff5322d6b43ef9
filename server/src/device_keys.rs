//! `POST /api/device/key` `{"device_id": "…"}` → `{"key": "<64 hex>"}`: the server-held key
//! of one of the signed-in user's devices (made on first request). The device keeps its data
//! key — the AES-GCM key its IndexedDB store is encrypted with — wrapped by this key and by a
//! key derived from the officer's PIN; so a signed-in session opens the store without the PIN,
//! and with no signal the PIN does (docs/SECURITY.md, "What a device keeps"). Another user's
//! device is refused (403), a revoked one too (its store stays closed: the app offers no PIN
//! after a 403; with no signal, where it cannot know, the PIN still opens it), and every hand-out
//! is in the audit log.

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Json, RequestExt};
use bodega::accounts::AccountError;
use bodega::audit::Outcome;
use protocol::policy::Target;
use protocol::Action;
use serde::Deserialize;

use app::error::ApiError;

use crate::gate::{asker, device_limit, gate};
use crate::state::AppState;

/// The request body.
#[derive(Debug, Deserialize)]
pub struct KeyRequest {
    /// The device (a UUID made by the device).
    pub device_id: String,
}

/// The handler.
pub async fn key(State(state): State<AppState>, req: Request) -> Response {
    let grant = match gate(&state, asker(&req), Action::SyncDevice, Target::Own, "device key").await {
        Ok(g) => g,
        Err(resp) => return resp,
    };
    let Json(body) = match req.extract::<Json<KeyRequest>, _>().await {
        Ok(b) => b,
        Err(e) => {
            return crate::sync::body_refusal(e.status(), format!("the key request is not valid: {}", e.body_text()))
        }
    };
    if let Some(resp) = device_limit(&state, grant.user().id, &body.device_id) {
        return resp;
    }
    use argon2::password_hash::rand_core::{OsRng, RngCore};
    let mut fresh = [0u8; 32];
    OsRng.fill_bytes(&mut fresh);
    let result = state.ctx.bodega.device_key(&body.device_id, grant.user().id, &hex::encode(fresh)).await;
    if result.is_ok() && grant.caller.device_id.is_none() {
        // A web sign-in does not name its device; from here on, revoking it ends this session.
        if let Err(e) = state.ctx.bodega.bind_session_device(&grant.caller.session_hash, &body.device_id).await {
            tracing::warn!(error = %e, "tying the session to its device failed");
        }
    }
    let (outcome, resp) = match result {
        Ok(key) => (
            Outcome::Success,
            (StatusCode::OK, [(header::CACHE_CONTROL, "no-store")], Json(serde_json::json!({ "key": key })))
                .into_response(),
        ),
        Err(AccountError::DeviceOfAnotherUser(_)) => {
            // Another user's device: its key is refused as forbidden (a sync push to it is a conflict).
            (Outcome::Denied, ApiError::Forbidden("this device is registered to another user".into()).into_response())
        }
        Err(AccountError::Invalid { field, reason }) if reason.contains("revoked") => {
            let message = format!("{field}: {reason}");
            (Outcome::Denied, ApiError::DeviceRevoked { message, pending: None }.into_response())
        }
        Err(AccountError::Invalid { field, reason }) => {
            (Outcome::Failure, ApiError::invalid(field, reason).into_response())
        }
        Err(e) => {
            tracing::error!(error = %e, "device key");
            (Outcome::Failure, ApiError::Unavailable("the device key could not be read".into()).into_response())
        }
    };
    // The key itself never reaches the log.
    let target = format!("device {}", body.device_id.chars().take(64).collect::<String>());
    if let Err(e) = grant.audit(&state.ctx, &target, outcome, "device data key unwrapping key handed out").await {
        return e.into_response();
    }
    resp
}

/// A value sealed with AES-GCM: nonce and ciphertext (with tag), hex.
#[derive(Debug, Deserialize)]
pub struct SealedValue {
    /// 12-byte nonce, hex.
    pub iv: String,
    /// Ciphertext and tag, hex.
    pub ct: String,
}

/// `POST /api/sync/push-sealed`: the service worker's Background Sync. It cannot open the
/// device's sealed store, so it sends it as it is — the field state sealed under the data key,
/// and the data key wrapped by this device's server-held key — and the server, which holds that
/// key, opens it and applies the outbox exactly as `POST /api/sync/push` would (the same
/// per-device sequence check: a later push of the same mutations by the page changes nothing).
#[derive(Debug, Deserialize)]
pub struct SealedPush {
    /// The device.
    pub device_id: String,
    /// The data key wrapped by the server-held key (the key record's `server`).
    pub key: SealedValue,
    /// The field state sealed under the data key.
    pub state: SealedValue,
}

/// The part of the field state the server reads.
#[derive(Debug, Deserialize)]
struct SealedState {
    device_id: String,
    outbox: protocol::sync::Outbox,
}

fn open_sealed(key: &[u8], v: &SealedValue) -> Option<Vec<u8>> {
    use aes_gcm::aead::Aead;
    use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
    let iv = hex::decode(&v.iv).ok().filter(|iv| iv.len() == 12)?;
    let ct = hex::decode(&v.ct).ok()?;
    let cipher = Aes256Gcm::new_from_slice(key).ok()?;
    cipher.decrypt(Nonce::from_slice(&iv), ct.as_slice()).ok()
}

/// The handler.
pub async fn push_sealed(State(state): State<AppState>, req: Request) -> Response {
    let grant = match gate(&state, asker(&req), Action::SyncDevice, Target::Own, "/api/sync/push-sealed").await {
        Ok(g) => g,
        Err(resp) => return resp,
    };
    let c = grant.caller.clone();
    let Json(body) = match req.extract::<Json<SealedPush>, _>().await {
        Ok(b) => b,
        Err(e) => {
            return crate::sync::body_refusal(e.status(), format!("the sealed push is not valid: {}", e.body_text()))
        }
    };
    if let Some(resp) = device_limit(&state, c.user.id, &body.device_id) {
        return resp;
    }
    let device = match state.ctx.bodega.device(&body.device_id).await {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(error = %e, "sealed push");
            return ApiError::Unavailable("the device could not be read".into()).into_response();
        }
    };
    let Some(device) = device.filter(|d| d.user_id == c.user.id) else {
        return ApiError::invalid("device_id", "this device holds no key of yours here").into_response();
    };
    let server_key = match state.ctx.bodega.device_server_key(&device.id).await {
        Ok(k) => k.and_then(|k| hex::decode(k).ok()).filter(|k| k.len() == 32),
        Err(e) => {
            tracing::error!(error = %e, "sealed push");
            return ApiError::Unavailable("the device could not be read".into()).into_response();
        }
    };
    let Some(server_key) = server_key else {
        return ApiError::invalid("device_id", "this device has no server-held key (or was revoked)").into_response();
    };
    let Some(data_key) = open_sealed(&server_key, &body.key).filter(|k| k.len() == 32) else {
        return ApiError::invalid("state", "the wrapped data key does not open with this device's key").into_response();
    };
    let Some(doc) = open_sealed(&data_key, &body.state) else {
        return ApiError::invalid("state", "the sealed state does not open with its data key").into_response();
    };
    let doc: SealedState = match serde_json::from_slice(&doc) {
        Ok(d) => d,
        Err(e) => return ApiError::invalid("state", format!("the sealed state does not read: {e}")).into_response(),
    };
    if doc.device_id != device.id {
        return ApiError::invalid("state", "the sealed state belongs to another device").into_response();
    }
    let mut last = None;
    for chunk in doc.outbox.pending.chunks(protocol::sync::MAX_BATCH) {
        let push = protocol::sync::PushRequest {
            schema_version: protocol::sync::SCHEMA_VERSION,
            device_id: device.id.clone(),
            mutations: chunk.to_vec(),
            sent_at: None,
        };
        match state.ctx.bodega.apply_push(&c.user, Some(&c.session_hash), &push).await {
            Ok(answer) => last = Some(answer),
            Err(e) => return crate::sync::refusal(&state, &c, &device.id, "/api/sync/push-sealed", e).await,
        }
    }
    match last {
        Some(a) => Json(a).into_response(),
        None => Json(protocol::sync::PushResponse {
            schema_version: protocol::sync::SCHEMA_VERSION,
            last_seq: u64::try_from(device.last_seq).unwrap_or(0),
            results: Vec::new(),
        })
        .into_response(),
    }
}
