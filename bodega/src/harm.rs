//! Harm weight tables: the department loads its own (CSV `offense,weight[,note]`), each under a
//! name and a version that never changes meaning, and chooses the one in force. Every score the
//! product shows — the crime view, mission recommendations, the daily snapshot, the accuracy
//! check, the hot spots on officers' devices — is computed with the table in force and says
//! which one (`name@version`). With none chosen, harm is the plain count (`count@1`).
//!
//! Beatbook ships no custody-days table of its own: the Cambridge Crime Harm Index's weights are
//! the starting points of the England and Wales sentencing guidelines for 700+ offence
//! categories, published as a spreadsheet by the Cambridge Institute of Criminology; a
//! department maps them (or its own jurisdiction's equivalent) onto its offence texts and loads
//! the result here. See docs/ARCHITECTURE.md ("Harm weights").

use hotspot::HarmTable;

use crate::store::{begin_write, Bodega, BodegaError};
use crate::{on_pool, on_writer};

/// The setting naming the table in force, as `name@version`.
pub const ACTIVE_KEY: &str = "harm_table.active";

/// Why a table cannot be loaded or chosen.
#[derive(Debug, thiserror::Error)]
pub enum HarmTableError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] BodegaError),
    /// The weights themselves are unusable (the message names the offence).
    #[error("harm table {name}: {reason}")]
    Invalid {
        /// The table.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// This name and version hold other weights already: versions never change meaning.
    #[error("harm table {name} version {version} is already loaded with other weights; load the new weights as a new version")]
    VersionTaken {
        /// The table.
        name: String,
        /// The version.
        version: String,
    },
    /// No such table is loaded.
    #[error("no harm table {name} version {version} is loaded (see `server weights list`)")]
    Unknown {
        /// The table.
        name: String,
        /// The version.
        version: String,
    },
}

/// A loaded table, as listed.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct HarmTableInfo {
    /// Its name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// How many offences it weighs.
    pub offenses: i64,
    /// Whether it is the table in force.
    pub active: bool,
}

fn label(name: &str, version: &str) -> String {
    format!("{name}@{version}")
}

fn valid_part(what: &str, text: &str) -> Result<(), String> {
    if text.is_empty() || text.len() > 64 || !text.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
        return Err(format!("the {what} '{text}' must be 1–64 letters, digits, '-', '_' or '.'"));
    }
    Ok(())
}

impl Bodega {
    /// Loads a weight table as `name` version `version`: `(offence, weight, note)` rows, offences
    /// compared case-insensitively with surrounding spaces ignored. Loading the same weights
    /// again changes nothing (`Ok(false)`); other weights under a loaded version are refused.
    /// All rows or none.
    ///
    /// # Errors
    /// [`HarmTableError`].
    pub async fn load_harm_table(
        &self,
        name: &str,
        version: &str,
        entries: &[(String, f64, String)],
    ) -> Result<bool, HarmTableError> {
        let invalid = |reason: String| HarmTableError::Invalid { name: name.into(), reason };
        valid_part("name", name).map_err(invalid)?;
        valid_part("version", version).map_err(invalid)?;
        if name == "count" {
            return Err(invalid("'count' is the built-in plain count table".into()));
        }
        if entries.is_empty() {
            return Err(invalid("the table weighs no offence".into()));
        }
        // Validates weights (finite, ≥ 0) and conflicting duplicates.
        HarmTable::new(name, label(name, version), entries.iter().map(|(o, w, _)| (o.clone(), *w)))
            .map_err(|e| invalid(e.to_string()))?;
        let mut wanted: Vec<(String, f64, String)> =
            entries.iter().map(|(o, w, n)| (o.trim().to_lowercase(), *w, n.clone())).collect();
        wanted.sort_by(|a, b| a.0.cmp(&b.0));
        wanted.dedup_by(|a, b| a.0 == b.0);
        let mut stored: Vec<(String, f64)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT offense_key, weight FROM harm_weights WHERE table_name = $1 AND version = $2")
            .bind(name).bind(version).fetch_all(pool).await)
        .map_err(BodegaError::from)?;
        // Sorted here, by bytes as `wanted` is: PostgreSQL's collation (en_US ignores spaces and
        // punctuation) would order "vehicle - stolen" after "vehicle collision", and an identical
        // reload would then be taken for a different table.
        stored.sort_by(|a, b| a.0.cmp(&b.0));
        if !stored.is_empty() {
            let same = stored.len() == wanted.len()
                && stored.iter().zip(&wanted).all(|(s, w)| s.0 == w.0 && s.1.to_bits() == w.1.to_bits());
            return if same {
                Ok(false)
            } else {
                Err(HarmTableError::VersionTaken { name: name.into(), version: version.into() })
            };
        }
        self.insert_harm_rows(name, version, &wanted).await?;
        Ok(true)
    }

    async fn insert_harm_rows(
        &self,
        name: &str,
        version: &str,
        rows: &[(String, f64, String)],
    ) -> Result<(), BodegaError> {
        on_writer!(self, pool => {
            let mut tx = begin_write(pool).await?;
            for (offense, weight, note) in rows {
                sqlx::query(
                    "INSERT INTO harm_weights (table_name, version, offense_key, weight, source_note) \
                     VALUES ($1, $2, $3, $4, $5)")
                    .bind(name).bind(version).bind(offense).bind(weight).bind(note)
                    .execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// The loaded tables, by name and version.
    ///
    /// # Errors
    /// [`BodegaError::Query`].
    pub async fn harm_tables(&self) -> Result<Vec<HarmTableInfo>, BodegaError> {
        let active = self.setting(ACTIVE_KEY).await?;
        let rows: Vec<(String, String, i64)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT table_name, version, COUNT(*) FROM harm_weights GROUP BY table_name, version \
             ORDER BY table_name, version")
            .fetch_all(pool).await)?;
        Ok(rows
            .into_iter()
            .map(|(name, version, offenses)| {
                let active = active.as_deref() == Some(label(&name, &version).as_str());
                HarmTableInfo { name, version, offenses, active }
            })
            .collect())
    }

    /// Puts a loaded table in force (`count` — any version — goes back to the plain count).
    /// Returns the label of the table that was in force before.
    ///
    /// # Errors
    /// [`HarmTableError::Unknown`] for a table that is not loaded.
    pub async fn activate_harm_table(&self, name: &str, version: &str) -> Result<String, HarmTableError> {
        let before = self.active_harm_table().await?.version().to_string();
        if name == "count" {
            on_writer!(self, pool => sqlx::query("DELETE FROM settings WHERE key = $1").bind(ACTIVE_KEY).execute(pool).await.map(|_| ()))
                .map_err(BodegaError::from)?;
            return Ok(before);
        }
        let known: i64 = on_pool!(self, pool => sqlx::query_scalar(
            "SELECT COUNT(*) FROM harm_weights WHERE table_name = $1 AND version = $2")
            .bind(name).bind(version).fetch_one(pool).await)
        .map_err(BodegaError::from)?;
        if known == 0 {
            return Err(HarmTableError::Unknown { name: name.into(), version: version.into() });
        }
        self.set_setting(ACTIVE_KEY, &label(name, version)).await?;
        Ok(before)
    }

    /// The table in force, ready to weigh offences; the plain count when none is chosen (or the
    /// chosen one is no longer loaded). Its `version()` is `name@version`.
    ///
    /// # Errors
    /// [`BodegaError::Query`].
    pub async fn active_harm_table(&self) -> Result<HarmTable, BodegaError> {
        let Some(active) = self.setting(ACTIVE_KEY).await? else { return Ok(HarmTable::count()) };
        let Some((name, version)) = active.split_once('@') else { return Ok(HarmTable::count()) };
        let rows: Vec<(String, f64)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT offense_key, weight FROM harm_weights WHERE table_name = $1 AND version = $2")
            .bind(name).bind(version).fetch_all(pool).await)?;
        if rows.is_empty() {
            return Ok(HarmTable::count());
        }
        // Stored rows passed the same checks when loaded.
        Ok(HarmTable::new(name, active.clone(), rows).unwrap_or_else(|_| HarmTable::count()))
    }
}
