//! The officer's device in the field: its missions, its outbox, and the sync that carries the
//! outbox to the server exactly once (the protocol is `protocol::sync`; see docs/SYNC.md).
//!
//! The device keeps one [`FieldState`] document per signed-in user in IndexedDB. A write (a
//! mission step, a note) is a mutation queued in the outbox **together with** its optimistic
//! effect on the local mission, in one durable (`strict`) transaction: the screen shows it as
//! saved only after that commit, and never shows one without the other. Sync pushes the outbox
//! and pulls changes; the server's acknowledgement (`last_seq`) drops what it holds, and pending
//! steps are re-applied on top of what the server sent (rebase).

use protocol::mission::Mission;
use protocol::sync::{MutationKind, Outbox, Rejection};
use serde::{Deserialize, Serialize};

/// Everything the device keeps for one user.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FieldState {
    /// This install's id for this user (a UUID, made on first use).
    pub device_id: String,
    /// The user it belongs to.
    pub username: String,
    /// The last pull's cookie (`-1`: never pulled).
    pub cookie: i64,
    /// Pending writes.
    pub outbox: Outbox,
    /// Missions as the server last sent them.
    pub server_missions: Vec<Mission>,
    /// Mutations the server refused, with reasons (shown to the user).
    pub rejections: Vec<Rejection>,
    /// Last successful sync, UTC milliseconds.
    pub last_sync_ms: Option<f64>,
    /// The last sync failure, for the status line.
    pub last_error: Option<String>,
}

impl FieldState {
    /// A fresh state for `username` on device `device_id`.
    pub fn new(username: &str, device_id: &str) -> Self {
        FieldState {
            device_id: device_id.into(),
            username: username.into(),
            cookie: -1,
            outbox: Outbox::new(),
            ..Default::default()
        }
    }

    /// Missions as the user should see them: the server's, with pending steps re-applied.
    pub fn missions(&self) -> Vec<Mission> {
        self.server_missions.iter().map(|m| protocol::sync::rebase(m, &self.outbox.pending)).collect()
    }

    /// Queues a write with its optimistic effect (the caller saves the state in one transaction).
    pub fn record(&mut self, kind: MutationKind, device_time: i64) {
        self.outbox.enqueue(kind, device_time);
    }

    /// Takes in a pull: missions replaced by the server's records, acknowledged writes dropped.
    pub fn absorb(&mut self, pull: protocol::sync::PullResponse, now_ms: f64) {
        for m in pull.missions {
            match self.server_missions.iter_mut().find(|x| x.id == m.id) {
                Some(slot) => *slot = m,
                None => self.server_missions.push(m),
            }
        }
        self.cookie = self.cookie.max(pull.cookie);
        self.outbox.acknowledge(pull.last_seq);
        self.rejections = pull.rejections;
        self.last_sync_ms = Some(now_ms);
        self.last_error = None;
    }
}

/// Browser side: the IndexedDB document and the HTTP sync.
#[cfg(feature = "hydrate")]
pub mod device {
    use indexed_db_futures::prelude::*;
    use indexed_db_futures::transaction::{TransactionDurability, TransactionMode, TransactionOptions};
    use protocol::sync::{PullResponse, PushRequest, PushResponse, SCHEMA_VERSION};
    use wasm_bindgen::JsCast;

    use super::FieldState;

    const CACHE: &str = "cache";
    const LAST_USER: &str = "field-last-user";

    fn key(username: &str) -> String {
        format!("field-state:{username}")
    }

    /// A random UUID (v4) from the browser's cryptographic generator.
    pub fn new_uuid() -> String {
        let mut b = [0u8; 16];
        if let Some(c) = web_sys::window().and_then(|w| w.crypto().ok()) {
            let _ = c.get_random_values_with_u8_array(&mut b);
        }
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
        format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
    }

    /// The state for `username` (made, with a new device id, on first use), and remembers that
    /// this user is the device's current one (for opening offline).
    ///
    /// # Errors
    /// When IndexedDB refuses.
    pub async fn load_for(username: &str) -> Result<FieldState, String> {
        crate::device_store::put_json(LAST_USER, serde_json::to_string(username).map_err(|e| e.to_string())?).await?;
        match crate::device_store::get_json(&key(username)).await? {
            Some(json) => serde_json::from_str(&json).map_err(|e| format!("the device's copy is unreadable: {e}")),
            None => Ok(FieldState::new(username, &new_uuid())),
        }
    }

    /// The state of the user who last used this device, when opening with no signal.
    ///
    /// # Errors
    /// When IndexedDB refuses.
    pub async fn load_last() -> Result<Option<FieldState>, String> {
        let Some(user) = crate::device_store::get_json(LAST_USER).await? else { return Ok(None) };
        let user: String = serde_json::from_str(&user).map_err(|e| e.to_string())?;
        load_for(&user).await.map(Some)
    }

    /// Saves the whole state in one durable transaction; returns only after the commit.
    ///
    /// # Errors
    /// When IndexedDB refuses (quota, private mode): the write is then not saved, and the caller
    /// must say so.
    pub async fn save(state: &FieldState) -> Result<(), String> {
        let json = serde_json::to_string(state).map_err(|e| e.to_string())?;
        let db = crate::device_store::open().await?;
        let mut options = TransactionOptions::new();
        options.set_durability(TransactionDurability::Strict);
        let tx = db
            .transaction(CACHE)
            .with_mode(TransactionMode::Readwrite)
            .with_options(options)
            .build()
            .map_err(|e| format!("{e:?}"))?;
        let store = tx.object_store(CACHE).map_err(|e| format!("{e:?}"))?;
        store
            .put(json)
            .with_key(key(&state.username))
            .primitive()
            .map_err(|e| format!("{e:?}"))?
            .await
            .map_err(|e| format!("{e:?}"))?;
        tx.commit().await.map_err(|e| format!("not saved on this device: {e:?}"))?;
        Ok(())
    }

    /// Asks the browser to keep this site's storage under pressure (granted silently, asked
    /// for, or refused, by browser).
    pub fn ask_persistent_storage() {
        if let Some(storage) = web_sys::window().map(|w| w.navigator().storage()) {
            let _ = storage.persist();
        }
    }

    async fn fetch(method: &str, url: &str, body: Option<String>) -> Result<(u16, String), String> {
        let init = web_sys::RequestInit::new();
        init.set_method(method);
        init.set_credentials(web_sys::RequestCredentials::SameOrigin);
        if let Some(b) = body {
            init.set_body(&wasm_bindgen::JsValue::from_str(&b));
            let headers = web_sys::Headers::new().map_err(|e| format!("{e:?}"))?;
            headers.set("content-type", "application/json").map_err(|e| format!("{e:?}"))?;
            init.set_headers(&headers);
        }
        let window = web_sys::window().ok_or("no window")?;
        let resp = wasm_bindgen_futures::JsFuture::from(window.fetch_with_str_and_init(url, &init))
            .await
            .map_err(|_| "no signal".to_string())?;
        let resp: web_sys::Response = resp.dyn_into().map_err(|_| "not a response".to_string())?;
        let text = wasm_bindgen_futures::JsFuture::from(resp.text().map_err(|e| format!("{e:?}"))?)
            .await
            .map_err(|_| "the answer was cut off".to_string())?
            .as_string()
            .unwrap_or_default();
        Ok((resp.status(), text))
    }

    fn message(status: u16, body: &str) -> String {
        let m = serde_json::from_str::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_string))
            .unwrap_or_else(|| format!("the server answered {status}"));
        if status == 401 {
            format!("sign in again to sync ({m}); your changes stay on this device")
        } else {
            m
        }
    }

    /// Pushes everything pending, then pulls; saves after each step. Returns the state.
    ///
    /// # Errors
    /// Why the sync stopped (no signal, signed out, refused); what was saved stays saved.
    pub async fn sync(mut state: FieldState) -> Result<FieldState, (FieldState, String)> {
        let now = || js_sys::Date::now();
        for _ in 0..20 {
            let batch = state.outbox.batch(50);
            if batch.is_empty() {
                break;
            }
            let req =
                PushRequest { schema_version: SCHEMA_VERSION, device_id: state.device_id.clone(), mutations: batch };
            let body = serde_json::to_string(&req).map_err(|e| (state.clone(), e.to_string()))?;
            match fetch("POST", "/api/sync/push", Some(body)).await {
                Err(e) => return Err((state, e)),
                Ok((200, text)) => {
                    if let Ok(r) = serde_json::from_str::<PushResponse>(&text) {
                        state.outbox.acknowledge(r.last_seq);
                    }
                }
                // A gap: the server holds less than we thought; the pull below tells us where.
                Ok((409, text)) if text.contains("\"gap\"") => break,
                Ok((status, text)) => return Err((state, message(status, &text))),
            }
            if let Err(e) = save(&state).await {
                return Err((state, e));
            }
        }
        let url = format!(
            "/api/sync/pull?cookie={}&device_id={}&schema_version={SCHEMA_VERSION}",
            state.cookie, state.device_id
        );
        match fetch("GET", &url, None).await {
            Err(e) => Err((state, e)),
            Ok((200, text)) => match serde_json::from_str::<PullResponse>(&text) {
                Ok(pull) => {
                    state.absorb(pull, now());
                    match save(&state).await {
                        Ok(()) => Ok(state),
                        Err(e) => Err((state, e)),
                    }
                }
                Err(e) => Err((state, format!("the server's answer did not read: {e}"))),
            },
            Ok((status, text)) => Err((state, message(status, &text))),
        }
    }
}
