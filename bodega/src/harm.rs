//! Harm weight tables: each under a name and a version that never changes meaning, and one in
//! force. Every score the product shows — the crime view, mission recommendations, the daily
//! snapshot, the accuracy check, the hot spots on officers' devices — is computed with the table
//! in force and says which one (`name@version`).
//!
//! Beatbook ships the Cambridge Crime Harm Index 2020 ([`SHIPPED_CSV`], docs/HARM.md): every
//! offence text of its presets and every NIBRS code weighed by a row of the official 2020 values
//! sheet (days of custody in the England and Wales sentencing guidelines for a first offender),
//! each judgement call named. Two tables come of it: [`DEFAULT_TABLE`] (`cchi@2020`, in force
//! until the department chooses), which leaves out the offences police discover themselves (drug
//! possession, weapons and drink-driving found on stops: Sherman's advice, so patrol does not
//! chase its own discoveries), and `cchi-all@2020`, which weighs them too. A department may
//! instead load its own (CSV `offense,weight[,note]`) or choose the plain count (`count@1`);
//! the first-run checklist asks it to choose. See docs/ARCHITECTURE.md ("Harm weights").

use hotspot::HarmTable;

use crate::store::{begin_write, Bodega, BodegaError};
use crate::{on_pool, on_writer};

/// The setting naming the table in force, as `name@version`; unset until the department
/// chooses, and [`DEFAULT_TABLE`] is in force meanwhile.
pub const ACTIVE_KEY: &str = "harm_table.active";

/// The table in force until the department chooses: (name, version).
pub const DEFAULT_TABLE: (&str, &str) = ("cchi", "2020");
/// The shipped table that also weighs the offences police discover themselves.
pub const WITH_DISCOVERED_TABLE: (&str, &str) = ("cchi-all", "2020");
/// The shipped weights: `offence,weight,cchi_offence,police_discovered,judgement`, one row per
/// preset offence text and NIBRS code (lower case); `cchi_offence` is the row of the official
/// values sheet the weight is, empty where no row fits (the judgement says why and what instead).
pub const SHIPPED_CSV: &str = include_str!("../data/cchi2020.csv");

/// One row of [`SHIPPED_CSV`].
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct ShippedWeight {
    /// Offence text or NIBRS code, lower case.
    pub offence: String,
    /// Days, as the index gives them.
    pub weight: f64,
    /// `HO nnn/nn | title` of the values sheet, or empty.
    pub cchi_offence: String,
    /// `yes` for an offence police discover themselves.
    pub police_discovered: String,
    /// The judgement call, where there is one.
    pub judgement: String,
}

impl ShippedWeight {
    /// Whether police discover this offence themselves (left out of [`DEFAULT_TABLE`]).
    pub fn discovered(&self) -> bool {
        self.police_discovered == "yes"
    }
}

/// The shipped rows, parsed.
///
/// # Panics
/// Never at run time: the file is part of the binary and a test reads every row.
pub fn shipped_weights() -> Vec<ShippedWeight> {
    csv::Reader::from_reader(SHIPPED_CSV.as_bytes())
        .deserialize()
        .collect::<Result<_, _>>()
        .expect("the shipped harm table parses (bodega tests read it)")
}

/// The rows of a shipped table as loaded: (offence, weight, note).
pub fn shipped_table(name: &str) -> Vec<(String, f64, String)> {
    let leave_out = name == DEFAULT_TABLE.0;
    shipped_weights()
        .into_iter()
        .map(|w| {
            let source = if w.cchi_offence.is_empty() {
                "no CCHI row".to_string()
            } else {
                format!("CCHI 2020: {}", w.cchi_offence)
            };
            let note = if w.judgement.is_empty() { source } else { format!("{source}; {}", w.judgement) };
            if leave_out && w.discovered() {
                (w.offence, 0.0, format!("left out: found by police themselves (CCHI weight {}); {note}", w.weight))
            } else {
                (w.offence, w.weight, note)
            }
        })
        .collect()
}

fn is_shipped(name: &str, version: &str) -> bool {
    [DEFAULT_TABLE, WITH_DISCOVERED_TABLE].contains(&(name, version))
}

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

    /// All rows or none; a row another writer put there first is kept (the shipped tables
    /// are ensured by whichever request needs them first).
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
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (table_name, version, offense_key) DO NOTHING")
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
        self.ensure_shipped_harm_tables().await?;
        let active = Some(self.active_harm_label().await?);
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
            // Kept as a choice: unset would mean the shipped default.
            self.set_setting(ACTIVE_KEY, HarmTable::count().version()).await?;
            return Ok(before);
        }
        if is_shipped(name, version) {
            self.ensure_shipped_harm_tables().await?;
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

    /// Whether the department has chosen its table (the first-run checklist asks it to).
    ///
    /// # Errors
    /// [`BodegaError::Query`].
    pub async fn harm_table_chosen(&self) -> Result<bool, BodegaError> {
        Ok(self.setting(ACTIVE_KEY).await?.is_some())
    }

    /// `name@version` of the table in force: the chosen one, or [`DEFAULT_TABLE`].
    async fn active_harm_label(&self) -> Result<String, BodegaError> {
        Ok(self.setting(ACTIVE_KEY).await?.unwrap_or_else(|| label(DEFAULT_TABLE.0, DEFAULT_TABLE.1)))
    }

    /// Loads the shipped tables where they are missing (a new store; a store from before they
    /// shipped). Rows already there are kept: a version never changes meaning.
    ///
    /// # Errors
    /// [`BodegaError::Query`].
    pub async fn ensure_shipped_harm_tables(&self) -> Result<(), BodegaError> {
        for (name, version) in [DEFAULT_TABLE, WITH_DISCOVERED_TABLE] {
            let known: i64 = on_pool!(self, pool => sqlx::query_scalar(
                "SELECT COUNT(*) FROM harm_weights WHERE table_name = $1 AND version = $2")
                .bind(name).bind(version).fetch_one(pool).await)?;
            if known > 0 {
                continue;
            }
            self.insert_harm_rows(name, version, &shipped_table(name)).await?;
        }
        Ok(())
    }

    /// The table in force, ready to weigh offences: the chosen one, [`DEFAULT_TABLE`] until the
    /// department chooses, the plain count when it chose `count` (or the chosen table is no
    /// longer loaded). Its `version()` is `name@version`.
    ///
    /// # Errors
    /// [`BodegaError::Query`].
    pub async fn active_harm_table(&self) -> Result<HarmTable, BodegaError> {
        let active = self.active_harm_label().await?;
        let Some((name, version)) = active.split_once('@') else { return Ok(HarmTable::count()) };
        if name == "count" {
            return Ok(HarmTable::count());
        }
        let read = || async {
            let rows: Vec<(String, f64)> = on_pool!(self, pool => sqlx::query_as(
                "SELECT offense_key, weight FROM harm_weights WHERE table_name = $1 AND version = $2")
                .bind(name).bind(version).fetch_all(pool).await)?;
            Ok::<_, BodegaError>(rows)
        };
        let mut rows = read().await?;
        if rows.is_empty() && is_shipped(name, version) {
            self.ensure_shipped_harm_tables().await?;
            rows = read().await?;
        }
        if rows.is_empty() {
            return Ok(HarmTable::count());
        }
        // Stored rows passed the same checks when loaded.
        Ok(HarmTable::new(name, active.clone(), rows).unwrap_or_else(|_| HarmTable::count()))
    }
}
