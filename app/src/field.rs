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
    /// When the missions kept here expire (UTC seconds; the session's end plus the department's
    /// keep time). The outbox never expires.
    #[serde(default)]
    pub expires_at: Option<i64>,
    /// A supervisor signed the user out with work unsynced: reported at the next sign-in.
    #[serde(default)]
    pub held: Option<Held>,
}

/// A supervisor's override that signed the author out with unsynced work on the device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Held {
    /// The supervisor's sign-in name.
    pub supervisor: String,
    /// When (device clock, UTC seconds).
    pub at: i64,
    /// Unsynced changes at the time.
    pub pending: u32,
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

    /// Drops what has expired at `now` (UTC seconds): the missions and rejections, never the
    /// outbox. Returns true when something was dropped.
    pub fn expire(&mut self, now: i64) -> bool {
        let expired = self.expires_at.is_some_and(|t| now >= t);
        let had = !self.server_missions.is_empty() || !self.rejections.is_empty();
        if expired {
            self.server_missions.clear();
            self.rejections.clear();
        }
        expired && had
    }

    /// True when the data kept here has expired.
    pub fn is_expired(&self, now: i64) -> bool {
        self.expires_at.is_some_and(|t| now >= t)
    }

    /// Queues a write with its optimistic effect (the caller saves the state in one transaction).
    pub fn record(&mut self, kind: MutationKind, device_time: i64) {
        self.outbox.enqueue(kind, device_time);
    }

    /// Takes in a push's acknowledgement of every write up to `last_seq`: they leave the
    /// outbox, and their effect stays on the missions shown until a pull brings the server's
    /// records, so the screen never steps back in between (a started mission shown "assigned"
    /// again stopped its breadcrumbs when the pull after the push failed).
    pub fn acknowledge(&mut self, last_seq: u64) {
        let done: Vec<protocol::sync::Mutation> =
            self.outbox.pending.iter().filter(|m| m.seq <= last_seq).cloned().collect();
        if done.is_empty() {
            return;
        }
        for m in &mut self.server_missions {
            *m = protocol::sync::rebase(m, &done);
        }
        self.outbox.acknowledge(last_seq);
    }

    /// Takes in a pull: missions replaced by the server's records, missions no longer the
    /// user's forgotten, acknowledged writes dropped.
    pub fn absorb(&mut self, pull: protocol::sync::PullResponse, now_ms: f64) {
        self.server_missions.retain(|m| !pull.gone.contains(&m.id));
        for m in pull.missions {
            match self.server_missions.iter_mut().find(|x| x.id == m.id) {
                // An older answer (a second tab's pull that finished late) never replaces a
                // newer record.
                Some(slot) if m.version >= slot.version => *slot = m,
                Some(_) => {}
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

/// GPS breadcrumbs while a mission is active and the screen is visible: adaptive sampling
/// (a fix every 10 s while moving, every 60 s while standing still), accuracy and speed kept as
/// the phone reported them, batched into the outbox as one `breadcrumbs` mutation per
/// [`Sampler::BATCH`] fixes or [`Sampler::FLUSH_S`] seconds — and whenever the screen is hidden,
/// because a web page cannot promise to track in the background.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sampler {
    last_kept: Option<protocol::sync::Fix>,
    pending: Vec<protocol::sync::Fix>,
}

impl Sampler {
    /// Fixes per batch.
    pub const BATCH: usize = 20;
    /// Oldest a pending fix may grow before its batch goes into the outbox, seconds.
    pub const FLUSH_S: i64 = 300;
    /// Shortest gap between kept fixes while moving, seconds.
    pub const MOVING_S: i64 = 10;
    /// Gap between kept fixes while standing still, seconds.
    pub const STILL_S: i64 = 60;
    /// Movement that counts as moving, metres.
    pub const MOVED_M: f64 = 25.0;

    /// Offers a fix from the phone; returns true when it is kept.
    pub fn offer(&mut self, fix: protocol::sync::Fix) -> bool {
        let keep = match &self.last_kept {
            None => true,
            Some(last) => {
                let dt = fix.t.saturating_sub(last.t);
                // A clock set back (dt < 0) starts the sampling afresh instead of keeping
                // nothing until it passes the last kept fix's time again.
                !(0..Self::STILL_S).contains(&dt)
                    || (dt >= Self::MOVING_S && metres_between(last, &fix) >= Self::MOVED_M)
            }
        };
        if keep {
            self.last_kept = Some(fix);
            self.pending.push(fix);
        }
        keep
    }

    /// The batch to queue now, if one is due at device time `now` (or `force`d: the screen is
    /// being hidden).
    pub fn take_batch(&mut self, now: i64, force: bool) -> Option<Vec<protocol::sync::Fix>> {
        let due = self.pending.len() >= Self::BATCH || self.pending.first().is_some_and(|f| now - f.t >= Self::FLUSH_S);
        ((due || force) && !self.pending.is_empty()).then(|| std::mem::take(&mut self.pending))
    }

    /// Fixes kept but not yet queued.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }
}

/// Ground distance between two fixes, metres (equirectangular: ample for tens of metres).
fn metres_between(a: &protocol::sync::Fix, b: &protocol::sync::Fix) -> f64 {
    let lat = ((a.lat + b.lat) / 2.0).to_radians();
    let dx = (b.lon - a.lon) * 111_320.0 * lat.cos();
    let dy = (b.lat - a.lat) * 110_574.0;
    (dx * dx + dy * dy).sqrt()
}

/// What a device keeps to find hot spots with no signal: its districts' per-cell, per-day,
/// per-offence counts (no incidents, no names, no narratives) and each offence's harm weight
/// and track, scored on the device by `hotspot::score_cached`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldCache {
    /// Whose (the districts the aggregates cover; empty: the whole city).
    pub districts: Vec<String>,
    /// The aggregates.
    pub aggregates: hotspot::Aggregates,
    /// The newest day's date, `YYYY-MM-DD` (the department's local day).
    pub last_date: String,
    /// When the server made it (UTC seconds).
    pub generated_at: i64,
    /// The supervisors whose override code this device accepts (verifiers only; see
    /// `server::overrides`).
    #[serde(default)]
    pub supervisors: Vec<protocol::sync::OverrideVerifier>,
}

/// Days of history a device keeps (the longest window it offers is 90 days; the rest feeds the
/// time decay).
pub const CACHE_DAYS: u32 = 180;

/// The field cache's server function.
pub const ENDPOINTS: &[(&str, crate::api::Access)] = &[("/api/field_cache", Some(protocol::Action::ViewHotSpots))];

/// The hot-spot inputs for the caller's districts (the whole city for a user without one).
#[leptos::server(prefix = "/api", endpoint = "field_cache", input = leptos::server_fn::codec::Json)]
pub async fn get_field_cache() -> Result<FieldCache, crate::api::ApiError> {
    ssr::field_cache().await
}

/// Server side of the field cache.
#[cfg(feature = "ssr")]
pub mod ssr {
    use hotspot::{Aggregates, CachedOffense, Epsg, Lattice};
    use protocol::policy::Target;
    use protocol::Action;

    use super::{FieldCache, CACHE_DAYS};
    use crate::api::ssr::unavailable;
    use crate::api::ApiError;
    use crate::auth::ssr::{authorize, context};
    use crate::missions::ssr::MICRO_PLACE_M;

    /// Days since 1970-01-01 of a `YYYY-MM-DD` date.
    fn day_number(date: &str) -> Option<i64> {
        let d: jiff::civil::Date = date.parse().ok()?;
        Some(d.to_zoned(jiff::tz::TimeZone::UTC).ok()?.timestamp().as_second().div_euclid(86_400))
    }

    /// Builds the cache for the signed-in user.
    ///
    /// # Errors
    /// 401/403 by policy, 503 from the store.
    pub async fn field_cache() -> Result<FieldCache, ApiError> {
        let ctx = context()?;
        let grant = authorize(&ctx, Action::ViewHotSpots, Target::City, "field cache").await?;
        let districts = grant.caller.user.districts.clone();
        let tz = jiff::tz::TimeZone::get(&ctx.time_zone).map_err(unavailable)?;
        let summary = ctx.bodega.city_summary().await.map_err(unavailable)?;
        let now = jiff::Timestamp::now().as_second();
        // The data's end, or now when the data is current.
        let end = summary.last_at.map_or(now, |t| (t + 1).min(now));
        let last_date = jiff::Timestamp::from_second(end - 1).map_err(unavailable)?.to_zoned(tz.clone()).date();
        let first_date =
            last_date.checked_sub(jiff::Span::new().days(i64::from(CACHE_DAYS) - 1)).map_err(unavailable)?;
        let from = first_date.to_zoned(tz.clone()).map_err(unavailable)?.timestamp().as_second();
        // The lattice's zone from the districts' outlines (or every district's).
        let areas = ctx.bodega.district_areas().await.map_err(unavailable)?;
        let mine: Vec<_> = areas.iter().filter(|a| districts.is_empty() || districts.contains(&a.code)).collect();
        let (w, so, e, n) = mine.iter().fold((180.0_f64, 90.0_f64, -180.0_f64, -90.0_f64), |b, a| {
            (b.0.min(a.bbox.0), b.1.min(a.bbox.1), b.2.max(a.bbox.2), b.3.max(a.bbox.3))
        });
        let (lon, lat) = if mine.is_empty() {
            // No outlines loaded: the zone of the window's incidents.
            let points = ctx.bodega.located_points(from, end).await.map_err(unavailable)?;
            let k = points.len().max(1) as f64;
            points.iter().fold((0.0, 0.0), |(a, b), (x, y)| (a + x / k, b + y / k))
        } else {
            ((w + e) / 2.0, (so + n) / 2.0)
        };
        let epsg = Epsg::for_lon_lat(lon, lat).map_err(unavailable)?;
        let lattice = Lattice::new(epsg, MICRO_PLACE_M).map_err(unavailable)?;
        let mut counts = Vec::new();
        let scopes: Vec<Option<String>> =
            if districts.is_empty() { vec![None] } else { districts.iter().cloned().map(Some).collect() };
        for district in scopes {
            let filter = bodega::queries::Filter { from: Some(from), to: Some(end), district, ..Default::default() };
            counts.extend(ctx.bodega.cell_day_counts(&filter, &lattice, &tz).await.map_err(unavailable)?);
        }
        let table = ctx.bodega.active_harm_table().await.map_err(unavailable)?;
        let tracks = ctx.bodega.offense_tracks().await.map_err(unavailable)?;
        let mut offenses: Vec<CachedOffense> = Vec::new();
        let mut rows = Vec::with_capacity(counts.len());
        for c in counts {
            let Some(day) = day_number(&c.day) else { continue };
            let index = match offenses.iter().position(|o| o.offense == c.offense) {
                Some(i) => i,
                None => {
                    let track = tracks.get(&c.offense).cloned().unwrap_or_default();
                    let weight = table.weigh(&c.offense).unwrap_or(0.0);
                    offenses.push(CachedOffense { offense: c.offense.clone(), track, weight });
                    offenses.len() - 1
                }
            };
            rows.push((c.ix, c.iy, day, index as u32, c.count));
        }
        let last_day = day_number(&last_date.to_string()).unwrap_or_default();
        let supervisors = ctx.bodega.override_verifiers(&districts).await.map_err(unavailable)?;
        Ok(FieldCache {
            districts,
            aggregates: Aggregates {
                epsg: epsg.code(),
                cell_size_m: MICRO_PLACE_M,
                harm_table: table.version().to_string(),
                last_day,
                days: CACHE_DAYS,
                offenses,
                rows,
            },
            last_date: last_date.to_string(),
            generated_at: now,
            supervisors,
        })
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

    /// The state for `username` (made, with a new device id, on first use) with its stored form
    /// (the sealed text, `None` when nothing is stored yet: what [`save_if`] compares against),
    /// and remembers that this user is the device's current one (for opening offline).
    ///
    /// # Errors
    /// When IndexedDB refuses.
    pub async fn load_for(username: &str, device_id: &str) -> Result<(FieldState, Option<String>), String> {
        crate::device_store::put_json(LAST_USER, serde_json::to_string(username).map_err(|e| e.to_string())?).await?;
        let (state, stored) = read(username).await?;
        Ok((state.unwrap_or_else(|| FieldState::new(username, device_id)), stored))
    }

    /// The state kept for `username`, if any, with its stored form.
    ///
    /// # Errors
    /// When IndexedDB refuses or the copy cannot be opened.
    pub async fn read(username: &str) -> Result<(Option<FieldState>, Option<String>), String> {
        let Some(stored) = crate::device_store::get_raw(&key(username)).await? else { return Ok((None, None)) };
        let json = crate::vault::browser::open(stored.clone()).await?;
        let state = serde_json::from_str(&json).map_err(|e| format!("the device's copy is unreadable: {e}"))?;
        Ok((Some(state), Some(stored)))
    }

    /// Who last used this device (to open their store with no signal).
    ///
    /// # Errors
    /// When IndexedDB refuses.
    pub async fn last_user() -> Result<Option<String>, String> {
        let Some(user) = crate::device_store::get_json(LAST_USER).await? else { return Ok(None) };
        serde_json::from_str(&user).map(Some).map_err(|e| e.to_string())
    }

    /// Saves the whole state in one durable transaction, but only if what is stored is still
    /// `expected` (the sealed text this page last read or wrote): a compare-and-swap inside one
    /// IndexedDB transaction, which the browser runs alone among writers of the store. Another
    /// page of the app (a second tab, or a tab killed mid-write whose transaction committed after
    /// this page read) may have saved meanwhile; then nothing is written and the answer is
    /// `Ok(None)`: the caller reads the state again and reapplies its change, so two pages never
    /// hand out the same outbox sequence number. `Ok(Some(stored))`: committed (returns only
    /// after the commit), with the new stored form.
    ///
    /// # Errors
    /// When IndexedDB refuses (quota, private mode): the write is then not saved, and the caller
    /// must say so.
    pub async fn save_if(state: &FieldState, expected: Option<&str>) -> Result<Option<String>, String> {
        let json = crate::vault::browser::seal(&serde_json::to_string(state).map_err(|e| e.to_string())?).await?;
        Ok(swap_if(&state.username, expected, Swap::Put(&json)).await?.then_some(json))
    }

    /// What [`swap_if`] writes.
    enum Swap<'a> {
        /// The user's sealed state.
        Put(&'a str),
        /// These keys, gone.
        Delete(&'a [String]),
    }

    /// One durable read-write IndexedDB transaction that makes `change` only while `username`'s
    /// stored state is still `expected`: `Ok(false)` (nothing written) when another page saved
    /// meanwhile, `Ok(true)` once committed.
    async fn swap_if(username: &str, expected: Option<&str>, change: Swap<'_>) -> Result<bool, String> {
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
        // No other await between this read and the write: the transaction stays active and no
        // other writer runs in between.
        let current: Option<String> =
            store.get(key(username)).primitive().map_err(|e| format!("{e:?}"))?.await.map_err(|e| format!("{e:?}"))?;
        if current.as_deref() != expected {
            tx.abort().await.map_err(|e| format!("{e:?}"))?;
            return Ok(false);
        }
        let not_done = match change {
            Swap::Put(json) => {
                store
                    .put(json.to_string())
                    .with_key(key(username))
                    .primitive()
                    .map_err(|e| format!("{e:?}"))?
                    .await
                    .map_err(|e| format!("{e:?}"))?;
                "not saved on this device"
            }
            Swap::Delete(keys) => {
                for k in keys {
                    store
                        .delete(k.clone())
                        .primitive()
                        .map_err(|e| format!("{e:?}"))?
                        .await
                        .map_err(|e| format!("{e:?}"))?;
                }
                "not cleared"
            }
        };
        tx.commit().await.map_err(|e| format!("{not_done}: {e:?}"))?;
        Ok(true)
    }

    fn cache_key(username: &str) -> String {
        format!("field-cache:{username}")
    }

    /// The hot-spot inputs saved for `username`, if any (an unreadable copy counts as none: the
    /// next sync fetches a fresh one).
    ///
    /// # Errors
    /// When IndexedDB refuses.
    pub async fn load_cache(username: &str) -> Result<Option<super::FieldCache>, String> {
        Ok(crate::device_store::get_json(&cache_key(username)).await?.and_then(|j| serde_json::from_str(&j).ok()))
    }

    /// Fetches the hot-spot inputs for the signed-in user and keeps them on the device.
    ///
    /// # Errors
    /// No signal, signed out, or IndexedDB refused.
    pub async fn refresh_cache(username: &str) -> Result<super::FieldCache, String> {
        let cache = super::get_field_cache().await.map_err(|e| e.to_string())?;
        let json = serde_json::to_string(&cache).map_err(|e| e.to_string())?;
        crate::device_store::put_json(&cache_key(username), json).await?;
        Ok(cache)
    }

    /// Clears what this device keeps for `username` (their state, hot-spot inputs, the city
    /// overview, their key record) and forgets them as the last user, in one durable IndexedDB
    /// transaction, but only while their stored state is still `expected` (the sealed text this
    /// page last read or wrote, whose outbox the caller saw empty). Another page of the app (a
    /// second tab) may have saved work meanwhile: then nothing is deleted and the answer is
    /// `Ok(false)`; the caller reads the state again before deciding. `Ok(true)`: cleared and
    /// committed, and the data key has left memory.
    ///
    /// # Errors
    /// When IndexedDB refuses.
    pub async fn wipe_if(username: &str, expected: Option<&str>) -> Result<bool, String> {
        let keys = [
            key(username),
            cache_key(username),
            LAST_USER.to_string(),
            crate::device_store::OVERVIEW.to_string(),
            crate::vault::browser::record_key(username),
        ];
        if !swap_if(username, expected, Swap::Delete(&keys)).await? {
            return Ok(false);
        }
        crate::vault::browser::lock();
        Ok(true)
    }

    /// Forgets who last used the device (their state stays, for their next sign-in).
    ///
    /// # Errors
    /// When IndexedDB refuses.
    pub async fn forget_last_user() -> Result<(), String> {
        crate::device_store::delete(&[LAST_USER.to_string()]).await
    }

    /// Deletes the hot-spot inputs kept for `username` (expired).
    ///
    /// # Errors
    /// When IndexedDB refuses.
    pub async fn drop_cache(username: &str) -> Result<(), String> {
        crate::device_store::delete(&[cache_key(username)]).await
    }

    /// Ends the session on the server (`POST /api/auth/logout`).
    ///
    /// # Errors
    /// No signal.
    pub async fn end_session() -> Result<(), String> {
        fetch("POST", "/api/auth/logout", None).await.map(|_| ())
    }

    /// Ends the session on the server as idle-locked (`POST /api/auth/logout?reason=idle`).
    ///
    /// # Errors
    /// No signal.
    pub async fn end_session_idle() -> Result<(), String> {
        fetch("POST", "/api/auth/logout?reason=idle", None).await.map(|_| ())
    }

    /// Tells the server about a supervisor's override before the held work is pushed.
    ///
    /// # Errors
    /// No signal, or the server refused (the message says why).
    pub async fn report_override(report: &protocol::sync::OverrideReport) -> Result<(), (u16, String)> {
        let body = serde_json::to_string(report).map_err(|e| (0, e.to_string()))?;
        match fetch("POST", "/api/sync/override", Some(body)).await {
            Err(e) => Err((0, e)),
            Ok((200, _)) => Ok(()),
            Ok((status, text)) => Err((status, message(status, &text))),
        }
    }

    /// `PBKDF2-HMAC-SHA256(code, salt, iterations)` by WebCrypto, hex: checks a supervisor's
    /// override code against its verifier with no signal.
    ///
    /// # Errors
    /// When WebCrypto is missing (an insecure origin) or refuses.
    pub async fn pbkdf2_hex(code: &str, salt_hex: &str, iterations: u32) -> Result<String, String> {
        let salt = crate::vault::unhex(salt_hex).ok_or("a malformed salt")?;
        let code: String = code.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_uppercase()).collect();
        Ok(crate::vault::hex(&crate::vault::browser::pbkdf2(&code, &salt, iterations).await?))
    }

    /// Asks the browser to keep this site's storage under pressure (granted silently, asked
    /// for, or refused, by browser).
    pub fn ask_persistent_storage() {
        if let Some(storage) = web_sys::window().map(|w| w.navigator().storage()) {
            let _ = storage.persist();
        }
    }

    /// A same-origin request with a JSON body; the status and the answer's text.
    ///
    /// # Errors
    /// No signal, or the answer was cut off.
    pub async fn fetch_json(method: &str, url: &str, body: Option<String>) -> Result<(u16, String), String> {
        fetch(method, url, body).await
    }

    async fn fetch(method: &str, url: &str, body: Option<String>) -> Result<(u16, String), String> {
        let json = body.map(|b| wasm_bindgen::JsValue::from_str(&b));
        fetch_body(method, url, json.as_ref().map(|b| (b, Some("application/json")))).await
    }

    /// A same-origin request with any body (a string, a `File`…) and, when given, its content
    /// type; the status and the answer's text.
    ///
    /// # Errors
    /// No signal, or the answer was cut off.
    pub async fn fetch_body(
        method: &str,
        url: &str,
        body: Option<(&wasm_bindgen::JsValue, Option<&str>)>,
    ) -> Result<(u16, String), String> {
        let init = web_sys::RequestInit::new();
        init.set_method(method);
        init.set_credentials(web_sys::RequestCredentials::SameOrigin);
        if let Some((b, content_type)) = body {
            init.set_body(b);
            if let Some(ct) = content_type {
                let headers = web_sys::Headers::new().map_err(|e| format!("{e:?}"))?;
                headers.set("content-type", ct).map_err(|e| format!("{e:?}"))?;
                init.set_headers(&headers);
            }
        }
        let window = web_sys::window().ok_or("no window")?;
        let resp =
            wasm_bindgen_futures::JsFuture::from(window.fetch_with_str_and_init(url, &init)).await.map_err(|_| {
                crate::connectivity::observe_failure();
                "no signal".to_string()
            })?;
        let resp: web_sys::Response = resp.dyn_into().map_err(|_| "not a response".to_string())?;
        crate::connectivity::observe_response(&resp);
        if !crate::connectivity::current().is_online() {
            // A proxy's error page or a captive portal, not Beatbook: nothing was delivered.
            return Err(format!("the server cannot be reached (something else answered {})", resp.status()));
        }
        let text = wasm_bindgen_futures::JsFuture::from(resp.text().map_err(|e| format!("{e:?}"))?)
            .await
            .map_err(|_| "the answer was cut off".to_string())?
            .as_string()
            .unwrap_or_default();
        Ok((resp.status(), text))
    }

    /// The `message` of a JSON error answer, if it has one.
    pub fn answer_message(body: &str) -> Option<String> {
        serde_json::from_str::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_string))
    }

    fn message(status: u16, body: &str) -> String {
        let m = answer_message(body).unwrap_or_else(|| format!("the server answered {status}"));
        if status == 401 {
            format!("sign in again to sync ({m}); your changes stay on this device")
        } else {
            m
        }
    }

    /// What a push achieved.
    pub enum Pushed {
        /// The server holds everything up to this sequence number.
        Acknowledged(u64),
        /// The server holds less than the device thought: the pull says where it stands.
        Gap,
    }

    /// Pushes one batch of the outbox.
    ///
    /// # Errors
    /// Why it did not go through (no signal, signed out, refused), in words for the status line.
    pub async fn push(device_id: &str, batch: Vec<protocol::sync::Mutation>) -> Result<Pushed, String> {
        let req = PushRequest { schema_version: SCHEMA_VERSION, device_id: device_id.to_string(), mutations: batch };
        let body = serde_json::to_string(&req).map_err(|e| e.to_string())?;
        match fetch("POST", "/api/sync/push", Some(body)).await? {
            (200, text) => serde_json::from_str::<PushResponse>(&text)
                .map(|r| Pushed::Acknowledged(r.last_seq))
                .map_err(|e| format!("the server's answer did not read: {e}")),
            (409, text) if text.contains("\"gap\"") => Ok(Pushed::Gap),
            // Out of date: fetch the new version; the outbox stays untouched for it.
            (409, text) if text.contains("\"upgrade\"") => {
                crate::pwa::check_for_update();
                Err(message(409, &text))
            }
            (status, text) => Err(message(status, &text)),
        }
    }

    /// Pulls what changed since `cookie`.
    ///
    /// # Errors
    /// As [`push`].
    pub async fn pull(device_id: &str, cookie: i64) -> Result<PullResponse, String> {
        let url = format!("/api/sync/pull?cookie={cookie}&device_id={device_id}&schema_version={SCHEMA_VERSION}");
        match fetch("GET", &url, None).await? {
            (200, text) => serde_json::from_str(&text).map_err(|e| format!("the server's answer did not read: {e}")),
            (status, text) => Err(message(status, &text)),
        }
    }
}

#[cfg(test)]
mod tests {
    use protocol::sync::Fix;

    use super::Sampler;

    fn fix(t: i64, north_m: f64) -> Fix {
        Fix { t, lat: 49.28 + north_m / 110_574.0, lon: -123.12, accuracy_m: Some(8.0), speed_mps: None }
    }

    #[test]
    fn standing_still_keeps_a_fix_a_minute_and_moving_one_every_ten_seconds() {
        let mut s = Sampler::default();
        // Standing: fixes every 5 s for 3 minutes → one a minute.
        let kept = (0..36).filter(|i| s.offer(fix(i * 5, 0.0))).count();
        assert_eq!(kept, 3);
        // Walking 3 m/s: fixes every 5 s for a minute → one every 10 s.
        let mut s = Sampler::default();
        let kept = (0..12).filter(|i| s.offer(fix(i * 5, *i as f64 * 15.0))).count();
        assert_eq!(kept, 6);
        // The phone's accuracy is kept as it came.
        assert_eq!(s.take_batch(60, true).expect("batch")[0].accuracy_m, Some(8.0));
    }

    #[test]
    fn a_clock_set_back_does_not_stop_the_breadcrumbs() {
        let mut s = Sampler::default();
        assert!(s.offer(fix(10_000, 0.0)));
        // The phone's clock is corrected 30 minutes back: sampling goes on from the new time.
        assert!(s.offer(fix(8_200, 0.0)));
        assert!(!s.offer(fix(8_205, 0.0)), "standing still: one a minute again");
        assert!(s.offer(fix(8_260, 0.0)));
    }

    #[test]
    fn expiry_drops_the_missions_but_never_the_outbox() {
        use protocol::sync::MutationKind;
        let mut s = super::FieldState::new("d2.officer1", "dev-1");
        s.rejections.push(protocol::sync::Rejection { seq: 1, kind: "step".into(), reason: "cancelled".into() });
        s.record(MutationKind::Breadcrumbs { fixes: vec![] }, 100);
        s.expires_at = Some(1_000);
        assert!(!s.expire(999), "not yet");
        assert_eq!(s.rejections.len(), 1);
        assert!(s.expire(1_000));
        assert!(s.rejections.is_empty() && s.server_missions.is_empty());
        assert_eq!(s.outbox.len(), 1, "unsynced work stays");
        assert!(s.is_expired(1_000));
        assert!(!s.expire(2_000), "nothing left to drop");
    }

    #[test]
    fn batches_go_out_by_size_by_age_and_when_hidden() {
        let mut s = Sampler::default();
        for i in 0..19 {
            s.offer(fix(i * 10, i as f64 * 30.0));
        }
        assert_eq!(s.take_batch(185, false), None, "19 fixes, the oldest 185 s old");
        s.offer(fix(190, 600.0));
        assert_eq!(s.take_batch(190, false).map(|b| b.len()), Some(20), "twenty fixes");
        s.offer(fix(400, 0.0));
        assert_eq!(s.take_batch(600, false), None);
        assert_eq!(s.take_batch(700, false).map(|b| b.len()), Some(1), "five minutes old");
        s.offer(fix(760, 0.0));
        assert_eq!(s.pending(), 1);
        assert_eq!(s.take_batch(761, true).map(|b| b.len()), Some(1), "hidden: out now");
        assert_eq!(s.take_batch(762, true), None, "nothing to send");
    }
}
