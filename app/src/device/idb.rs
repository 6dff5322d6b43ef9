//! The device's IndexedDB database (browser only), as stored: raw values by key, each write
//! committed before it returns. What is sealed and what is kept in the clear is
//! [`super::store`]'s business; see docs/SECURITY.md for what a device may keep.
//!
//! Object stores (database `beatbook`, version 1):
//! - `cache`: values keyed by name, as JSON text: each user's field state and hot-spot inputs,
//!   sealed under the device's data key (see [`super::vault`]); in the clear, the city overview
//!   (citywide aggregates), the last user's name and each user's key record (wrapped keys only).

use indexed_db_futures::database::Database;
use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::TransactionMode;

const DB_NAME: &str = "beatbook";
const DB_VERSION: u8 = 1;
/// The one object store.
pub const CACHE: &str = "cache";

/// Opens (or creates) the database.
///
/// # Errors
/// A message when IndexedDB refuses (private mode, quota, an insecure origin).
pub async fn open() -> Result<Database, String> {
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
