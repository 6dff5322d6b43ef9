//! A department's own setup as stored: its shift patterns and its versioned dosage rules. The
//! checks are `protocol::setup`'s (one rule for the screens, the command line and this store);
//! this module adds what only the store can tell — a code already taken, a shift that missions
//! still name, an edit made from a version that is no longer the newest.

use protocol::menu::FieldError;
use protocol::setup::{Days, DosageRules, DosageVersion, ShiftPattern};
use serde::{Deserialize, Serialize};

use crate::store::{now_seconds, Bodega, BodegaError};
use crate::{on_pool, on_writer};

/// Why a setup change was refused.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// A field is unusable.
    #[error("{field}: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// No such shift.
    #[error("{0}")]
    NotFound(String),
    /// Someone changed it since the caller read it.
    #[error("the dosage rules changed since you loaded them (now version {current}); reload and try again")]
    Stale {
        /// The version now.
        current: i64,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] BodegaError),
}

impl From<FieldError> for SetupError {
    fn from(e: FieldError) -> Self {
        SetupError::Invalid { field: e.field, reason: e.reason }
    }
}

impl From<sqlx::Error> for SetupError {
    fn from(e: sqlx::Error) -> Self {
        SetupError::Store(BodegaError::Query(e))
    }
}

type ShiftRow = (String, String, String, String, i64);
type DosageRow = (i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, Option<String>, i64);

fn shift_of((code, name, starts_local, ends_local, days): ShiftRow) -> ShiftPattern {
    ShiftPattern { code, name, starts_local, ends_local, days: Days(u8::try_from(days & 0x7f).unwrap_or(0)) }
}

fn dosage_of(
    (version, kmin, kmax, target, cap_v, cap_m, places, violent, property, qol, calls, by, at): DosageRow,
) -> DosageVersion {
    DosageVersion {
        version,
        rules: DosageRules {
            koper_min_minutes: kmin,
            koper_max_minutes: kmax,
            target_visits: target,
            cap_visits: cap_v,
            cap_minutes: cap_m,
            places_per_shift: places,
            violent_weight_pct: violent,
            property_weight_pct: property,
            quality_of_life_weight_pct: qol,
            calls_weight_pct: calls,
        },
        set_by: by.unwrap_or_default(),
        set_at: at,
    }
}

const DOSAGE_COLUMNS: &str = "SELECT r.version, r.koper_min_minutes, r.koper_max_minutes, r.target_visits, \
     r.cap_visits, r.cap_minutes, r.places_per_shift, r.violent_weight_pct, r.property_weight_pct, \
     r.quality_of_life_weight_pct, r.calls_weight_pct, u.display_name, r.set_at \
     FROM dosage_rules r LEFT JOIN users u ON u.id = r.set_by";

/// What a department has set up so far: the first-run checklist's figures.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupCounts {
    /// Districts (their outlines loaded).
    pub districts: i64,
    /// Shift patterns.
    pub shifts: i64,
    /// Active officers and sergeants who belong to a district (who missions can go to).
    pub field_accounts: i64,
    /// Incidents stored.
    pub incidents: i64,
    /// Mission Menu templates offered for new missions.
    pub templates: i64,
    /// Missions issued (drafts not counted).
    pub missions_issued: i64,
}

impl Bodega {
    /// The first-run checklist's figures, from one read each.
    ///
    /// # Errors
    /// A store error.
    pub async fn setup_counts(&self) -> Result<SetupCounts, BodegaError> {
        let count = |sql: &'static str| async move {
            let n: i64 = on_pool!(self, pool => sqlx::query_scalar(sql).fetch_one(pool).await)?;
            Ok::<i64, BodegaError>(n)
        };
        Ok(SetupCounts {
            districts: count("SELECT COUNT(*) FROM districts WHERE kind = 'district'").await?,
            shifts: count("SELECT COUNT(*) FROM shifts").await?,
            field_accounts: count(
                "SELECT COUNT(DISTINCT u.id) FROM users u JOIN user_districts d ON d.user_id = u.id \
                 JOIN user_roles r ON r.user_id = u.id AND r.role IN ('officer', 'sergeant') WHERE u.active = 1",
            )
            .await?,
            incidents: count("SELECT COUNT(*) FROM incidents").await?,
            templates: count(
                "SELECT COUNT(DISTINCT template_key) FROM mission_templates t WHERE active = 1 AND version = \
                 (SELECT MAX(version) FROM mission_templates l WHERE l.template_key = t.template_key)",
            )
            .await?,
            missions_issued: count("SELECT COUNT(*) FROM missions WHERE status <> 'draft'").await?,
        })
    }

    /// The shift patterns, by start time and code.
    ///
    /// # Errors
    /// A store error.
    pub async fn shifts(&self) -> Result<Vec<ShiftPattern>, BodegaError> {
        let rows: Vec<ShiftRow> = on_pool!(self, pool => sqlx::query_as(
            "SELECT code, name, starts_local, ends_local, days FROM shifts ORDER BY starts_local, code")
            .fetch_all(pool).await)?;
        Ok(rows.into_iter().map(shift_of).collect())
    }

    /// Adds a shift pattern (`editing` = `None`) or changes the one with code `editing` — its
    /// name, hours and days; never its code, which missions carry.
    ///
    /// # Errors
    /// [`SetupError::Invalid`] naming the field (including a code already taken or changed),
    /// [`SetupError::NotFound`], or a store error.
    pub async fn save_shift(&self, editing: Option<&str>, shift: &ShiftPattern) -> Result<ShiftPattern, SetupError> {
        shift.check()?;
        let clean = ShiftPattern {
            code: shift.code.trim().to_string(),
            name: shift.name.trim().to_string(),
            starts_local: shift.starts_local.trim().to_string(),
            ends_local: shift.ends_local.trim().to_string(),
            days: Days(shift.days.0 & 0x7f),
        };
        let days = i64::from(clean.days.0);
        match editing {
            None => {
                let inserted = on_writer!(self, pool => sqlx::query(
                    "INSERT INTO shifts (code, name, starts_local, ends_local, days) VALUES ($1, $2, $3, $4, $5)")
                    .bind(&clean.code).bind(&clean.name).bind(&clean.starts_local).bind(&clean.ends_local).bind(days)
                    .execute(pool).await.map(|r| r.rows_affected()));
                match inserted {
                    Ok(_) => {}
                    Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                        return Err(SetupError::Invalid {
                            field: "code",
                            reason: format!("a shift with code '{}' exists already", clean.code),
                        });
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            Some(code) => {
                if code != clean.code {
                    return Err(SetupError::Invalid {
                        field: "code",
                        reason: format!(
                            "a shift's code stays '{code}' (missions name it); add a new shift for a new code"
                        ),
                    });
                }
                let changed = on_writer!(self, pool => sqlx::query(
                    "UPDATE shifts SET name = $2, starts_local = $3, ends_local = $4, days = $5 WHERE code = $1")
                    .bind(&clean.code).bind(&clean.name).bind(&clean.starts_local).bind(&clean.ends_local).bind(days)
                    .execute(pool).await.map(|r| r.rows_affected()))?;
                if changed == 0 {
                    return Err(SetupError::NotFound(format!("no shift '{code}'")));
                }
            }
        }
        Ok(clean)
    }

    /// Removes a shift pattern that no mission names (a shift with missions keeps them
    /// readable; change its days instead).
    ///
    /// # Errors
    /// [`SetupError::NotFound`]; [`SetupError::Invalid`] when missions name it; a store error.
    pub async fn remove_shift(&self, code: &str) -> Result<(), SetupError> {
        let used: i64 = on_pool!(self, pool => sqlx::query_scalar(
            "SELECT COUNT(*) FROM missions WHERE shift_code = $1").bind(code).fetch_one(pool).await)?;
        if used > 0 {
            return Err(SetupError::Invalid {
                field: "code",
                reason: format!(
                    "{used} mission{} shift '{code}', so it stays; change its days to stop planning it",
                    if used == 1 { " names" } else { "s name" }
                ),
            });
        }
        let gone = on_writer!(self, pool => sqlx::query("DELETE FROM shifts WHERE code = $1")
            .bind(code).execute(pool).await.map(|r| r.rows_affected()))?;
        if gone == 0 {
            return Err(SetupError::NotFound(format!("no shift '{code}'")));
        }
        Ok(())
    }

    /// The dosage rules in force: the newest version, or Beatbook's defaults as version 0.
    ///
    /// # Errors
    /// A store error.
    pub async fn dosage_rules(&self) -> Result<DosageVersion, BodegaError> {
        let sql = format!("{DOSAGE_COLUMNS} ORDER BY r.version DESC LIMIT 1");
        let row: Option<DosageRow> =
            on_pool!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_optional(pool).await)?;
        Ok(row.map(dosage_of).unwrap_or_else(|| DosageVersion {
            version: 0,
            rules: DosageRules::default(),
            set_by: String::new(),
            set_at: 0,
        }))
    }

    /// Every version of the dosage rules, newest first (the defaults are not listed).
    ///
    /// # Errors
    /// A store error.
    pub async fn dosage_history(&self) -> Result<Vec<DosageVersion>, BodegaError> {
        let sql = format!("{DOSAGE_COLUMNS} ORDER BY r.version DESC LIMIT 100");
        let rows: Vec<DosageRow> =
            on_pool!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(dosage_of).collect())
    }

    /// Puts new dosage rules in force as the version after `expected_version` (the one the
    /// caller read: 0 for the defaults).
    ///
    /// # Errors
    /// [`SetupError::Invalid`] naming the field; [`SetupError::Stale`] when another version was
    /// set since (two writers of one version: the key refuses the second); a store error.
    pub async fn set_dosage_rules(
        &self,
        expected_version: i64,
        rules: &DosageRules,
        by: Option<i64>,
    ) -> Result<DosageVersion, SetupError> {
        rules.check()?;
        if rules.calls_weight_pct > 0 && self.call_weights().await?.is_empty() {
            return Err(SetupError::Invalid {
                field: "calls_weight_pct",
                reason: "no call weight table is loaded: load the department's weights by call type and priority \
                         first (Load data → Call weights, or `server weights calls FILE.csv`)"
                    .into(),
            });
        }
        let current = self.dosage_rules().await?.version;
        if current != expected_version {
            return Err(SetupError::Stale { current });
        }
        let version = expected_version + 1;
        let inserted = on_writer!(self, pool => sqlx::query(
            "INSERT INTO dosage_rules (version, koper_min_minutes, koper_max_minutes, target_visits, cap_visits, \
             cap_minutes, places_per_shift, violent_weight_pct, property_weight_pct, quality_of_life_weight_pct, \
             calls_weight_pct, set_by, set_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)")
            .bind(version).bind(rules.koper_min_minutes).bind(rules.koper_max_minutes).bind(rules.target_visits)
            .bind(rules.cap_visits).bind(rules.cap_minutes).bind(rules.places_per_shift)
            .bind(rules.violent_weight_pct).bind(rules.property_weight_pct).bind(rules.quality_of_life_weight_pct)
            .bind(rules.calls_weight_pct).bind(by).bind(now_seconds())
            .execute(pool).await.map(|r| r.rows_affected()));
        match inserted {
            Ok(_) => {}
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                return Err(SetupError::Stale { current: self.dosage_rules().await?.version });
            }
            Err(e) => return Err(e.into()),
        }
        self.dosage_rules().await.map_err(SetupError::from)
    }
}
