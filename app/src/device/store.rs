//! What the device keeps, by meaning (browser only): each user's field state and hot-spot
//! inputs (sealed under the device's data key, [`super::vault`]), the city overview and the map
//! settings (citywide, in the clear), and who last used the device. Raw storage is
//! [`super::idb`].

use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::{TransactionDurability, TransactionMode, TransactionOptions};

use super::state::FieldState;
use crate::model::CityOverview;

const OVERVIEW_KEY: &str = "city-overview";
const LAST_USER: &str = "field-last-user";

/// Stores a JSON value under `key` — sealed under the device's data key when the key is one of
/// [`super::vault::is_sealed_key`] — committing before it returns: only then is it saved.
///
/// # Errors
/// A message when the store is locked or IndexedDB refuses (quota, private mode).
pub async fn put_json(key: &str, json: String) -> Result<(), String> {
    let value = if super::vault::is_sealed_key(key) { super::vault::browser::seal(&json).await? } else { json };
    super::idb::put_raw(key, value).await
}

/// Reads the JSON value under `key`, opening it when sealed.
///
/// # Errors
/// A message when IndexedDB cannot be read, or the store is locked.
pub async fn get_json(key: &str) -> Result<Option<String>, String> {
    match super::idb::get_raw(key).await? {
        None => Ok(None),
        Some(v) => super::vault::browser::open(v).await.map(Some),
    }
}

/// Keeps the latest city overview on the device.
///
/// # Errors
/// As [`put_json`].
pub async fn save_overview(overview: &CityOverview) -> Result<(), String> {
    let json = serde_json::to_string(overview).map_err(|e| e.to_string())?;
    put_json(OVERVIEW_KEY, json).await
}

/// The city overview saved on this device, if any.
///
/// # Errors
/// As [`get_json`], or when the saved copy no longer parses (an older app version's format).
pub async fn load_overview() -> Result<Option<CityOverview>, String> {
    match get_json(OVERVIEW_KEY).await? {
        None => Ok(None),
        Some(json) => serde_json::from_str(&json).map(Some).map_err(|e| format!("the saved copy is unreadable: {e}")),
    }
}

fn key(username: &str) -> String {
    format!("field-state:{username}")
}

/// The state for `username` (made, with a new device id, on first use) with its stored form
/// (the sealed text, `None` when nothing is stored yet: what [`save_if`] compares against),
/// and remembers that this user is the device's current one (for opening offline).
///
/// # Errors
/// When IndexedDB refuses.
pub async fn load_for(username: &str, device_id: &str) -> Result<(FieldState, Option<String>), String> {
    put_json(LAST_USER, serde_json::to_string(username).map_err(|e| e.to_string())?).await?;
    let (state, stored) = read(username).await?;
    Ok((state.unwrap_or_else(|| FieldState::new(username, device_id)), stored))
}

/// The state kept for `username`, if any, with its stored form.
///
/// # Errors
/// When IndexedDB refuses or the copy cannot be opened.
pub async fn read(username: &str) -> Result<(Option<FieldState>, Option<String>), String> {
    let Some(stored) = super::idb::get_raw(&key(username)).await? else { return Ok((None, None)) };
    let json = super::vault::browser::open(stored.clone()).await?;
    let state = serde_json::from_str(&json).map_err(|e| format!("the device's copy is unreadable: {e}"))?;
    Ok((Some(state), Some(stored)))
}

/// Who last used this device (to open their store with no signal).
///
/// # Errors
/// When IndexedDB refuses.
pub async fn last_user() -> Result<Option<String>, String> {
    let Some(user) = get_json(LAST_USER).await? else { return Ok(None) };
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
    let json = super::vault::browser::seal(&serde_json::to_string(state).map_err(|e| e.to_string())?).await?;
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
    let db = super::idb::open().await?;
    let mut options = TransactionOptions::new();
    options.set_durability(TransactionDurability::Strict);
    let tx = db
        .transaction(super::idb::CACHE)
        .with_mode(TransactionMode::Readwrite)
        .with_options(options)
        .build()
        .map_err(|e| format!("{e:?}"))?;
    let store = tx.object_store(super::idb::CACHE).map_err(|e| format!("{e:?}"))?;
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
pub async fn load_cache(username: &str) -> Result<Option<super::cache::FieldCache>, String> {
    Ok(get_json(&cache_key(username)).await?.and_then(|j| serde_json::from_str(&j).ok()))
}

/// Fetches the hot-spot inputs for the signed-in user and keeps them on the device.
///
/// # Errors
/// No signal, signed out, or IndexedDB refused.
pub async fn refresh_cache(username: &str) -> Result<super::cache::FieldCache, String> {
    let cache = super::cache::get_field_cache().await.map_err(|e| e.to_string())?;
    let json = serde_json::to_string(&cache).map_err(|e| e.to_string())?;
    put_json(&cache_key(username), json).await?;
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
        OVERVIEW_KEY.to_string(),
        super::vault::browser::record_key(username),
    ];
    if !swap_if(username, expected, Swap::Delete(&keys)).await? {
        return Ok(false);
    }
    super::vault::browser::lock();
    Ok(true)
}

/// Forgets who last used the device (their state stays, for their next sign-in).
///
/// # Errors
/// When IndexedDB refuses.
pub async fn forget_last_user() -> Result<(), String> {
    super::idb::delete(&[LAST_USER.to_string()]).await
}

/// Deletes the hot-spot inputs kept for `username` (expired).
///
/// # Errors
/// When IndexedDB refuses.
pub async fn drop_cache(username: &str) -> Result<(), String> {
    super::idb::delete(&[cache_key(username)]).await
}

/// Asks the browser to keep this site's storage under pressure (granted silently, asked
/// for, or refused, by browser).
pub fn ask_persistent_storage() {
    if let Some(storage) = web_sys::window().map(|w| w.navigator().storage()) {
        let _ = storage.persist();
    }
}
