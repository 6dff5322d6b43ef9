//! A department's own Beatbook, set up without SQL: the first-run checklist and the shift
//! patterns (`/setup`, administrators) and the dosage rules (`/rules`, command staff), each change
//! audited with what it was before. The checks are `protocol::setup`'s, so the form, the command
//! line (`server shift …`, `server rules …`) and the server refuse the same things with the
//! same words.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use protocol::setup::{DosageRules, DosageVersion, ShiftPattern};
use serde::{Deserialize, Serialize};

use crate::error::{Access, ApiError};

pub mod page;

/// One step from an empty store to a first issued mission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupStep {
    /// Stable key (`districts`, `shifts`, …), for tests and anchors.
    pub key: String,
    /// What it is.
    pub title: String,
    /// Done.
    pub done: bool,
    /// False for a step a department may skip (its own harm table, its own dosage rules).
    pub required: bool,
    /// Where things stand and who does it.
    pub detail: String,
    /// The screen that does it, if one does.
    pub link: Option<String>,
}

/// A shift pattern as the setup screen lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShiftRow {
    /// The pattern.
    pub pattern: ShiftPattern,
    /// "22:00–06:00 (8 h, into the next day), every day".
    pub describe: String,
    /// Codes of the shifts it overlaps (shown, never refused).
    pub overlaps: Vec<String>,
}

/// The setup screen: the checklist and the shift patterns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupView {
    /// The checklist, in the order a department does it.
    pub steps: Vec<SetupStep>,
    /// The shift patterns, by start.
    pub shifts: Vec<ShiftRow>,
    /// The department's time zone (shift times are wall-clock there).
    pub time_zone: String,
    /// The squads, by code.
    pub squads: Vec<protocol::setup::Squad>,
    /// The harm tables a department can choose, the plain count first.
    pub harm_tables: Vec<HarmChoice>,
    /// Whether the department has chosen (until then the shipped default is in force).
    pub harm_chosen: bool,
}

/// A harm table the department can put in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HarmChoice {
    /// `name@version`.
    pub label: String,
    /// What it is, in a line.
    pub describe: String,
    /// In force now.
    pub active: bool,
}

/// The patrol rules screen: the rules in force and every earlier version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RulesView {
    /// In force (version 0: Beatbook's defaults).
    pub current: DosageVersion,
    /// Earlier and current versions, newest first.
    pub history: Vec<DosageVersion>,
}

/// The server functions here, for the authorization matrix.
pub const ENDPOINTS: &[(&str, Access)] = &[
    ("/api/setup/status", Some(protocol::Action::ManageSetup)),
    ("/api/setup/shift_save", Some(protocol::Action::ManageSetup)),
    ("/api/setup/shift_remove", Some(protocol::Action::ManageSetup)),
    ("/api/setup/roster_import", Some(protocol::Action::ManageSetup)),
    ("/api/setup/harm_choose", Some(protocol::Action::ManageSetup)),
    ("/api/setup/rules", Some(protocol::Action::ChangeConfig)),
    ("/api/setup/rules_save", Some(protocol::Action::ChangeConfig)),
];

/// The checklist and the shift patterns (administrators).
#[server(prefix = "/api", endpoint = "setup/status", input = Json)]
pub async fn setup_status() -> Result<SetupView, ApiError> {
    ssr::status().await
}

/// Adds a shift pattern (`editing` empty) or changes the one with code `editing`.
#[server(prefix = "/api", endpoint = "setup/shift_save", input = Json)]
pub async fn save_shift(editing: Option<String>, shift: ShiftPattern) -> Result<ShiftRow, ApiError> {
    ssr::save_shift(editing, shift).await
}

/// Removes a shift pattern no mission names.
#[server(prefix = "/api", endpoint = "setup/shift_remove", input = Json)]
pub async fn remove_shift(code: String) -> Result<(), ApiError> {
    ssr::remove_shift(code).await
}

/// Imports a roster CSV (administrators): accounts, squads and units, all or nothing.
#[server(prefix = "/api", endpoint = "setup/roster_import", input = Json)]
pub async fn import_roster(csv: String) -> Result<protocol::setup::RosterReport, ApiError> {
    ssr::import_roster(csv).await
}

/// Puts a harm table in force (`name@version`, `count@1` for the plain count); the checklist's
/// confirmation. Returns "harm table in force: NEW (was OLD)".
#[server(prefix = "/api", endpoint = "setup/harm_choose", input = Json)]
pub async fn choose_harm_table(label: String) -> Result<String, ApiError> {
    ssr::choose_harm_table(label).await
}

/// The dosage rules in force and their history (command).
#[server(prefix = "/api", endpoint = "setup/rules", input = Json)]
pub async fn patrol_rules() -> Result<RulesView, ApiError> {
    ssr::rules().await
}

/// Puts new dosage rules in force, as the version after `expected_version` (command).
#[server(prefix = "/api", endpoint = "setup/rules_save", input = Json)]
pub async fn save_patrol_rules(expected_version: i64, rules: DosageRules) -> Result<DosageVersion, ApiError> {
    ssr::save_rules(expected_version, rules).await
}

/// Server side.
#[cfg(feature = "ssr")]
pub mod ssr {
    use bodega::audit::Outcome;
    use bodega::setup::SetupError;
    use protocol::policy::Target;
    use protocol::setup::{DosageRules, DosageVersion, ShiftPattern};
    use protocol::Action;

    use super::{HarmChoice, RulesView, SetupStep, SetupView, ShiftRow};
    use crate::auth::ssr::authorize;
    use crate::context::{context, fail, unavailable};
    use crate::error::ApiError;

    fn from_setup_error(e: SetupError) -> ApiError {
        match e {
            SetupError::Invalid { field, reason } => fail(ApiError::invalid(field, reason)),
            SetupError::NotFound(m) => fail(ApiError::NotFound(m)),
            SetupError::Stale { .. } => fail(ApiError::Conflict(e.to_string())),
            SetupError::Store(s) => unavailable(s),
        }
    }

    fn rows(shifts: &[ShiftPattern]) -> Vec<ShiftRow> {
        shifts
            .iter()
            .map(|p| ShiftRow {
                pattern: p.clone(),
                describe: p.describe(),
                overlaps: shifts.iter().filter(|o| o.code != p.code && p.overlaps(o)).map(|o| o.code.clone()).collect(),
            })
            .collect()
    }

    fn plural(n: i64, one: &str, many: &str) -> String {
        format!("{n} {}", if n == 1 { one } else { many })
    }

    /// The checklist and the shifts.
    ///
    /// # Errors
    /// 401/403; 503.
    pub async fn status() -> Result<SetupView, ApiError> {
        let ctx = context()?;
        authorize(&ctx, Action::ManageSetup, Target::City, "/api/setup/status").await?;
        let n = ctx.bodega.setup_counts().await.map_err(unavailable)?;
        let shifts = ctx.bodega.shifts().await.map_err(unavailable)?;
        let table = ctx.bodega.active_harm_table().await.map_err(unavailable)?.version().to_string();
        let harm_chosen = ctx.bodega.harm_table_chosen().await.map_err(unavailable)?;
        let rules = ctx.bodega.dosage_rules().await.map_err(unavailable)?;
        let step = |key: &str, title: &str, done: bool, required: bool, detail: String, link: Option<&str>| SetupStep {
            key: key.into(),
            title: title.into(),
            done,
            required,
            detail,
            link: link.map(str::to_string),
        };
        let steps = vec![
            step(
                "districts",
                "District boundaries",
                n.districts > 0,
                true,
                if n.districts > 0 {
                    format!("{} loaded.", plural(n.districts, "district", "districts"))
                } else {
                    "None yet: an analyst loads the districts' GeoJSON on Load data (District boundaries).".into()
                },
                Some("/upload"),
            ),
            step(
                "shifts",
                "Shift patterns",
                n.shifts > 0,
                true,
                if n.shifts > 0 {
                    format!("{} below.", plural(n.shifts, "shift", "shifts"))
                } else {
                    "None yet: add the department's shifts below (plans, the board and presence are per shift).".into()
                },
                Some("#shifts"),
            ),
            step(
                "accounts",
                "Officers and sergeants in districts",
                n.field_accounts > 0,
                true,
                if n.field_accounts > 0 {
                    format!("{} can be given missions.", plural(n.field_accounts, "account", "accounts"))
                } else {
                    "No officer or sergeant belongs to a district yet: import the roster below (or give \
                     accounts the role and district on Accounts)."
                        .into()
                },
                Some("#roster"),
            ),
            step(
                "incidents",
                "Incidents",
                n.incidents > 0,
                true,
                if n.incidents > 0 {
                    format!("{} stored.", plural(n.incidents, "incident", "incidents"))
                } else {
                    "None yet: an analyst loads the records system's export on Load data; the ranking needs them."
                        .into()
                },
                Some("/upload"),
            ),
            step(
                "harm",
                "Harm weights",
                harm_chosen,
                true,
                if harm_chosen {
                    format!("{table} is in force, chosen by the department.")
                } else {
                    format!(
                        "{table} (the Cambridge Crime Harm Index 2020: England and Wales sentencing days) is in \
                         force until you confirm it or choose another below; an analyst loads the department's \
                         own on Load data."
                    )
                },
                Some("#harm"),
            ),
            step(
                "menu",
                "Mission Menu",
                n.templates > 0,
                true,
                if n.templates > 0 {
                    format!("{} offered.", plural(n.templates, "template", "templates"))
                } else {
                    "Empty: command or an analyst adds templates on Menu.".into()
                },
                Some("/menu"),
            ),
            step(
                "rules",
                "Dosage rules",
                rules.version > 0,
                false,
                if rules.version > 0 {
                    format!(
                        "Version {} set by {}.",
                        rules.version,
                        if rules.set_by.is_empty() { "the command line" } else { &rules.set_by }
                    )
                } else {
                    "Optional: Beatbook's defaults are in force until command sets the department's own on Patrol \
                     rules."
                        .into()
                },
                Some("/rules"),
            ),
            step(
                "first_mission",
                "A first issued mission",
                n.missions_issued > 0,
                true,
                if n.missions_issued > 0 {
                    format!("{} issued.", plural(n.missions_issued, "mission", "missions"))
                } else {
                    "None yet: command or a sergeant plans a shift on Plan and issues its missions.".into()
                },
                Some("/plan"),
            ),
        ];
        let squads = ctx.bodega.squads().await.map_err(unavailable)?;
        let harm_tables = harm_choices(&ctx.bodega, &table).await?;
        Ok(SetupView {
            steps,
            shifts: rows(&shifts),
            time_zone: ctx.time_zone.clone(),
            squads,
            harm_tables,
            harm_chosen,
        })
    }

    async fn harm_choices(bodega: &bodega::Bodega, active: &str) -> Result<Vec<HarmChoice>, ApiError> {
        let (default, all) = (bodega::harm::DEFAULT_TABLE, bodega::harm::WITH_DISCOVERED_TABLE);
        let mut choices = vec![HarmChoice {
            label: "count@1".into(),
            describe: "count@1 — the plain count".into(),
            active: active == "count@1",
        }];
        for t in bodega.harm_tables().await.map_err(unavailable)? {
            let label = format!("{}@{}", t.name, t.version);
            let what = if (t.name.as_str(), t.version.as_str()) == default {
                "Cambridge Crime Harm Index 2020 (shipped)".to_string()
            } else if (t.name.as_str(), t.version.as_str()) == all {
                "the same, with offences police discover (shipped)".to_string()
            } else {
                format!("the department's, {} offences", t.offenses)
            };
            choices.push(HarmChoice { describe: format!("{label} — {what}"), active: t.active, label });
        }
        Ok(choices)
    }

    /// Puts a loaded table (or the plain count) in force; audited with the one before.
    ///
    /// # Errors
    /// 401/403; 422 for a table that is not loaded; 503.
    pub async fn choose_harm_table(label: String) -> Result<String, ApiError> {
        use bodega::harm::HarmTableError;
        let ctx = context()?;
        let what = format!("harm table {}", label.chars().take(80).collect::<String>());
        let grant = authorize(&ctx, Action::ManageSetup, Target::City, &what).await?;
        let Some((name, version)) = label.split_once('@') else {
            return Err(fail(ApiError::invalid("label", "a harm table is named name@version, e.g. cchi@2020")));
        };
        let result = ctx.bodega.activate_harm_table(name, version).await;
        let (outcome, detail) = match &result {
            Ok(before) => (Outcome::Success, format!("harm table in force: {label} (was {before})")),
            Err(e) => (Outcome::Failure, e.to_string()),
        };
        grant.audit(&ctx, &what, outcome, &detail).await?;
        match result {
            Ok(before) if before == label => Ok(format!("harm table {label} confirmed: it stays in force")),
            Ok(_) => Ok(detail),
            Err(HarmTableError::Store(e)) => Err(unavailable(e)),
            Err(e) => Err(fail(ApiError::invalid("label", e.to_string()))),
        }
    }

    /// Adds or changes a shift pattern; audited with what it was.
    ///
    /// # Errors
    /// 401/403; 422 naming the field; 404; 503.
    pub async fn save_shift(editing: Option<String>, shift: ShiftPattern) -> Result<ShiftRow, ApiError> {
        let ctx = context()?;
        let editing = editing.filter(|c| !c.trim().is_empty());
        // The audit names at most 16 characters of what was typed (a code is never longer).
        let what =
            format!("shift {}", editing.as_deref().unwrap_or(shift.code.trim()).chars().take(16).collect::<String>());
        let grant = authorize(&ctx, Action::ManageSetup, Target::City, &what).await?;
        let before = ctx.bodega.shifts().await.map_err(unavailable)?;
        let was = editing.as_ref().and_then(|c| before.iter().find(|p| &p.code == c)).map(ShiftPattern::describe);
        let result = ctx.bodega.save_shift(editing.as_deref(), &shift).await;
        let (outcome, detail) = match (&result, was) {
            (Ok(p), Some(was)) => (Outcome::Success, format!("changed: {was} -> {} '{}'", p.describe(), p.name)),
            (Ok(p), None) => (Outcome::Success, format!("added: '{}' {}", p.name, p.describe())),
            (Err(e), _) => (Outcome::Failure, e.to_string()),
        };
        grant.audit(&ctx, &what, outcome, &detail).await?;
        let saved = result.map_err(from_setup_error)?;
        let all = ctx.bodega.shifts().await.map_err(unavailable)?;
        rows(&all)
            .into_iter()
            .find(|r| r.pattern.code == saved.code)
            .ok_or_else(|| unavailable(format!("shift {} vanished after saving", saved.code)))
    }

    /// Removes a shift pattern no mission names; audited.
    ///
    /// # Errors
    /// 401/403; 422 when missions name it; 404; 503.
    pub async fn remove_shift(code: String) -> Result<(), ApiError> {
        let ctx = context()?;
        let what = format!("shift {}", code.chars().take(16).collect::<String>());
        let grant = authorize(&ctx, Action::ManageSetup, Target::City, &what).await?;
        let was = ctx.bodega.shifts().await.map_err(unavailable)?.into_iter().find(|p| p.code == code);
        let result = ctx.bodega.remove_shift(&code).await;
        let (outcome, detail) = match (&result, &was) {
            (Ok(()), Some(p)) => (Outcome::Success, format!("removed: '{}' {}", p.name, p.describe())),
            (Ok(()), None) => (Outcome::Success, "removed".to_string()),
            (Err(e), _) => (Outcome::Failure, e.to_string()),
        };
        grant.audit(&ctx, &what, outcome, &detail).await?;
        result.map_err(from_setup_error)
    }

    /// Imports a roster; audited with what it did or every fault (by line, never the rows).
    ///
    /// # Errors
    /// 401/403; 422 naming each faulty line and column; 503.
    pub async fn import_roster(csv: String) -> Result<protocol::setup::RosterReport, ApiError> {
        use bodega::roster::{describe, RosterError};
        let ctx = context()?;
        let grant = authorize(&ctx, Action::ManageSetup, Target::City, "roster").await?;
        let result = ctx.bodega.import_roster(csv.as_bytes()).await;
        let (outcome, detail) = match &result {
            Ok(r) => (Outcome::Success, describe(r)),
            Err(e) => (Outcome::Failure, e.to_string()),
        };
        grant.audit(&ctx, "roster", outcome, &detail).await?;
        result.map_err(|e| match e {
            RosterError::Refused(_) => fail(ApiError::invalid("roster", e.to_string())),
            RosterError::Store(s) => unavailable(s),
        })
    }

    /// The rules in force and their history.
    ///
    /// # Errors
    /// 401/403; 503.
    pub async fn rules() -> Result<RulesView, ApiError> {
        let ctx = context()?;
        authorize(&ctx, Action::ChangeConfig, Target::City, "/api/setup/rules").await?;
        let current = ctx.bodega.dosage_rules().await.map_err(unavailable)?;
        let history = ctx.bodega.dosage_history().await.map_err(unavailable)?;
        Ok(RulesView { current, history })
    }

    /// New dosage rules; audited with the rules before and after.
    ///
    /// # Errors
    /// 401/403; 422 naming the field; 409 when someone set a newer version first; 503.
    pub async fn save_rules(expected_version: i64, rules: DosageRules) -> Result<DosageVersion, ApiError> {
        let ctx = context()?;
        let grant = authorize(&ctx, Action::ChangeConfig, Target::City, "dosage rules").await?;
        let before = ctx.bodega.dosage_rules().await.map_err(unavailable)?;
        let result = ctx.bodega.set_dosage_rules(expected_version, &rules, Some(grant.user().id)).await;
        let (outcome, detail) = match &result {
            Ok(v) => (
                Outcome::Success,
                format!(
                    "version {} -> {}: {} -> {}",
                    before.version,
                    v.version,
                    before.rules.summary(),
                    v.rules.summary()
                ),
            ),
            Err(e) => (Outcome::Failure, e.to_string()),
        };
        grant.audit(&ctx, "dosage rules", outcome, &detail).await?;
        result.map_err(from_setup_error)
    }
}
