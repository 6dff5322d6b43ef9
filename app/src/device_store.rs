//! The device store (browser only): what an officer's phone or in-car laptop keeps in IndexedDB
//! so that Beatbook works with no signal. Aggregates only — see docs/SECURITY.md for what may
//! and may not be stored on a device.
//!
//! Object stores (database `beatbook`, version 1):
//! - `cache`: values keyed by name, as JSON text: each user's field state and hot-spot inputs,
//!   sealed under the device's data key (see [`crate::vault`]); in the clear, the city overview
//!   (citywide aggregates), the last user's name and each user's key record (wrapped keys only).

use indexed_db_futures::database::Database;
use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::TransactionMode;

use crate::model::CityOverview;

const DB_NAME: &str = "beatbook";
const DB_VERSION: u8 = 1;
const CACHE: &str = "cache";
const OVERVIEW_KEY: &str = "city-overview";

pub(crate) async fn open() -> Result<Database, String> {
    Database::open(DB_NAME)
        .with_version(DB_VERSION)
        .with_on_upgrade_needed(|_event, db| {
            if !db.object_store_names().any(|n| n == CACHE) {
                db.create_object_store(CACHE).build()?;
            }
            Ok(())
        })
        .await
        .map_err(|e| format!("cannot open the device store: {e:?}"))
}

/// Stores a JSON value under `key` — sealed under the device's data key when the key is one of
/// [`crate::vault::is_sealed_key`] — committing before it returns: only then is it saved.
///
/// # Errors
/// A message when the store is locked or IndexedDB refuses (quota, private mode).
pub async fn put_json(key: &str, json: String) -> Result<(), String> {
    let value = if crate::vault::is_sealed_key(key) { crate::vault::browser::seal(&json).await? } else { json };
    put_raw(key, value).await
}

/// Reads the JSON value under `key`, opening it when sealed.
///
/// # Errors
/// A message when IndexedDB cannot be read, or the store is locked.
pub async fn get_json(key: &str) -> Result<Option<String>, String> {
    match get_raw(key).await? {
        None => Ok(None),
        Some(v) => crate::vault::browser::open(v).await.map(Some),
    }
}

/// Stores `value` under `key` as it is (committed before it returns).
///
/// # Errors
/// A message when IndexedDB refuses.
pub async fn put_raw(key: &str, json: String) -> Result<(), String> {
    let db = open().await?;
    let tx = db.transaction(CACHE).with_mode(TransactionMode::Readwrite).build().map_err(|e| format!("{e:?}"))?;
    let store = tx.object_store(CACHE).map_err(|e| format!("{e:?}"))?;
    store
        .put(json)
        .with_key(key.to_string())
        .primitive()
        .map_err(|e| format!("{e:?}"))?
        .await
        .map_err(|e| format!("{e:?}"))?;
    tx.commit().await.map_err(|e| format!("{e:?}"))?;
    Ok(())
}

/// Reads the value under `key` as stored, if any.
///
/// # Errors
/// A message when IndexedDB cannot be opened or read.
pub async fn get_raw(key: &str) -> Result<Option<String>, String> {
    let db = open().await?;
    let tx = db.transaction(CACHE).build().map_err(|e| format!("{e:?}"))?;
    let store = tx.object_store(CACHE).map_err(|e| format!("{e:?}"))?;
    store.get(key.to_string()).primitive().map_err(|e| format!("{e:?}"))?.await.map_err(|e| format!("{e:?}"))
}

/// Deletes the values under `keys` in one transaction, committed before it returns.
///
/// # Errors
/// A message when IndexedDB refuses.
pub async fn delete(keys: &[String]) -> Result<(), String> {
    let db = open().await?;
    let tx = db.transaction(CACHE).with_mode(TransactionMode::Readwrite).build().map_err(|e| format!("{e:?}"))?;
    let store = tx.object_store(CACHE).map_err(|e| format!("{e:?}"))?;
    for key in keys {
        store.delete(key.clone()).primitive().map_err(|e| format!("{e:?}"))?.await.map_err(|e| format!("{e:?}"))?;
    }
    tx.commit().await.map_err(|e| format!("{e:?}"))?;
    Ok(())
}

/// The overview's key (for wiping the device at sign-out).
pub const OVERVIEW: &str = OVERVIEW_KEY;

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
