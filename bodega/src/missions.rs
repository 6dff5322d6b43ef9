//! Missions: the Mission Menu, missions, their transitions and notes.
//!
//! The rules are not here: which transition leaves which status and which role may take it come
//! from `protocol::mission` (one definition for server and devices). This module stores, and it
//! applies each transition in one write transaction with its event, so a mission is never
//! half-moved: the row's status and version change together with the `mission_events` record
//! that says who moved it, when by both clocks, and from which device.

pub use protocol::menu::{slug, FieldError, OutcomeField, OutcomeKind, Template, TemplateDraft, CRIME_TYPES, TACTICS};
use protocol::mission::{check, MissionFacts};
pub use protocol::mission::{Mission, NewMission, Place, TransitionArgs};
use protocol::text::Lines;
use protocol::{MissionStatus, Subject, Transition, TransitionError};
use serde::{Deserialize, Serialize};

use crate::store::{begin_write, now_seconds, Bodega, BodegaError};
use crate::{on_pool, on_writer};

/// Errors of the mission store: every one names the field or the reason.
#[derive(Debug, thiserror::Error)]
pub enum MissionError {
    /// A field is unusable.
    #[error("{field}: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// No such template or mission.
    #[error("{0}")]
    NotFound(String),
    /// The mission changed since the caller read it.
    #[error("this mission changed since you loaded it (now version {current}); reload and try again")]
    Stale {
        /// Its version now.
        current: i64,
    },
    /// The lifecycle refused the step.
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] BodegaError),
}

impl From<FieldError> for MissionError {
    fn from(e: FieldError) -> Self {
        MissionError::Invalid { field: e.field, reason: e.reason }
    }
}

impl From<sqlx::Error> for MissionError {
    fn from(e: sqlx::Error) -> Self {
        MissionError::Store(BodegaError::Query(e))
    }
}

fn invalid(field: &'static str, reason: impl Into<String>) -> MissionError {
    MissionError::Invalid { field, reason: reason.into() }
}

#[derive(sqlx::FromRow)]
struct TemplateRow {
    id: i64,
    template_key: String,
    version: i64,
    name: String,
    goal: String,
    tactic: String,
    dwell_minutes: i64,
    visits_per_shift: i64,
    crime_types: String,
    outcome_fields: String,
    evidence_note: String,
    active: i64,
}

impl TemplateRow {
    fn into_template(self) -> Template {
        Template {
            id: self.id,
            key: self.template_key,
            version: self.version,
            name: self.name,
            goal: self.goal,
            tactic: self.tactic,
            dwell_minutes: self.dwell_minutes,
            visits_per_shift: self.visits_per_shift,
            crime_types: self.crime_types.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect(),
            outcome_fields: serde_json::from_str(&self.outcome_fields).unwrap_or_default(),
            evidence_note: self.evidence_note,
            active: self.active != 0,
        }
    }
}

const TEMPLATE_COLUMNS: &str = "id, template_key, version, name, goal, tactic, dwell_minutes, visits_per_shift, \
     crime_types, outcome_fields, evidence_note, active FROM mission_templates";

/// A selection of missions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MissionFilter {
    /// District code.
    pub district: Option<String>,
    /// Shift code.
    pub shift: Option<String>,
    /// Local shift date.
    pub shift_date: Option<String>,
    /// Assigned officer.
    pub assignee_user_id: Option<i64>,
    /// Leave out drafts.
    pub exclude_drafts: bool,
    /// Only missions changed after this change version (the sync's cookie).
    pub changed_since: Option<i64>,
    /// Shift dates from the first to the second, inclusive (`YYYY-MM-DD`).
    pub dates: Option<(String, String)>,
}

pub use protocol::mission::MissionEvent;

#[derive(sqlx::FromRow)]
struct MissionRow {
    id: String,
    template_id: i64,
    status: String,
    district_code: String,
    shift_code: String,
    shift_date: String,
    window_start: i64,
    window_end: i64,
    place_kind: String,
    cell_epsg: Option<i64>,
    cell_size_m: Option<i64>,
    cell_ix: Option<i64>,
    cell_iy: Option<i64>,
    segment_id: Option<String>,
    lat: f64,
    lon: f64,
    radius_m: f64,
    place_label: String,
    assignee_user_id: Option<i64>,
    assignee_name: Option<String>,
    assignee_unit: Option<String>,
    priority: i64,
    instructions: String,
    reason: String,
    outcome: Option<String>,
    outcome_note: Option<String>,
    not_completed_reason: Option<String>,
    conflict: i64,
    version: i64,
}

const MISSION_SELECT: &str = "SELECT m.id, m.template_id, m.status, m.district_code, m.shift_code, m.shift_date, \
     m.window_start, m.window_end, m.place_kind, m.cell_epsg, m.cell_size_m, m.cell_ix, m.cell_iy, m.segment_id, \
     m.lat, m.lon, m.radius_m, m.place_label, m.assignee_user_id, u.display_name AS assignee_name, m.assignee_unit, \
     m.priority, m.instructions, m.reason, m.outcome, m.outcome_note, m.not_completed_reason, m.conflict, m.version \
     FROM missions m LEFT JOIN users u ON u.id = m.assignee_user_id";

fn place_of(r: &MissionRow) -> Place {
    match (r.place_kind.as_str(), r.cell_epsg, r.cell_size_m, r.cell_ix, r.cell_iy) {
        ("cell", Some(epsg), Some(size), Some(ix), Some(iy)) => {
            Place::Cell { epsg: epsg as u32, size_m: size as u32, ix, iy, lat: r.lat, lon: r.lon }
        }
        ("segment", ..) => Place::Segment {
            id: r.segment_id.clone().unwrap_or_default(),
            lat: r.lat,
            lon: r.lon,
            radius_m: r.radius_m,
        },
        _ => Place::Point { lat: r.lat, lon: r.lon, radius_m: r.radius_m },
    }
}

impl MissionRow {
    /// The record as screens and devices see it, with the template version it was issued from.
    fn into_mission(self, template: Template) -> Mission {
        let place = place_of(&self);
        Mission {
            id: self.id,
            template,
            status: MissionStatus::parse(&self.status).unwrap_or(MissionStatus::Draft),
            district: self.district_code,
            shift: self.shift_code,
            shift_date: self.shift_date,
            window_start: self.window_start,
            window_end: self.window_end,
            place,
            place_label: self.place_label,
            assignee_user_id: self.assignee_user_id,
            assignee_name: self.assignee_name,
            assignee_unit: self.assignee_unit,
            priority: self.priority,
            instructions: self.instructions,
            reason: self.reason,
            outcome: self.outcome.and_then(|o| serde_json::from_str(&o).ok()),
            outcome_note: self.outcome_note,
            not_completed_reason: self.not_completed_reason,
            conflict: self.conflict != 0,
            version: self.version,
        }
    }
}

/// One applied step, as written to `missions` and `mission_events`.
pub(crate) struct StepRecord<'a> {
    pub(crate) id: &'a str,
    pub(crate) t: Transition,
    pub(crate) from: MissionStatus,
    pub(crate) to: MissionStatus,
    pub(crate) by: i64,
    pub(crate) args: &'a TransitionArgs,
    pub(crate) detail: &'a serde_json::Map<String, serde_json::Value>,
    pub(crate) conflict: bool,
    pub(crate) now: i64,
}

/// Writes one step inside an open write transaction: the mission's new status, version, change
/// stamp and step details, and its event. Used by the online path and the sync's apply, so the
/// two can never write a step differently.
macro_rules! record_step {
    ($tx:ident, $r:expr) => {{
        let r: crate::missions::StepRecord<'_> = $r;
        let change = crate::changes::next_change(&mut $tx).await?;
        let outcome = r.detail.get("outcome").map(|o| o.to_string());
        let text = |k: &str| r.detail.get(k).and_then(|n| n.as_str()).map(str::to_string);
        sqlx::query(
            "UPDATE missions SET status = $2, version = version + 1, updated_at = $3, change_version = $4, \
               assignee_user_id = COALESCE($5, assignee_user_id), assignee_unit = COALESCE($6, assignee_unit), \
               outcome = COALESCE($7, outcome), outcome_note = COALESCE($8, outcome_note), \
               not_completed_reason = COALESCE($9, not_completed_reason), conflict = CASE WHEN $10 = 1 THEN 1 ELSE conflict END \
             WHERE id = $1")
            .bind(r.id).bind(r.to.as_str()).bind(r.now).bind(change)
            .bind(if r.t == protocol::Transition::Assign { r.args.assignee_user_id } else { None })
            .bind(if r.t == protocol::Transition::Assign { r.args.assignee_unit.clone() } else { None })
            .bind(outcome)
            .bind(if r.t == protocol::Transition::Complete { text("note") } else { None })
            .bind(if r.t == protocol::Transition::NotComplete { text("reason") } else { None })
            .bind(i64::from(r.conflict))
            .execute(&mut *$tx).await?;
        let detail_text = serde_json::Value::Object(r.detail.clone()).to_string();
        sqlx::query(
            "INSERT INTO mission_events (mission_id, transition, from_status, to_status, actor_user_id, device_id, \
             server_time, device_time, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
            .bind(r.id).bind(r.t.as_str()).bind(r.from.as_str()).bind(r.to.as_str()).bind(r.by)
            .bind(r.args.device_id.as_deref()).bind(r.now).bind(r.args.device_time).bind(&detail_text)
            .execute(&mut *$tx).await?;
    }};
}
pub(crate) use record_step;

/// The default Mission Menu: the tactics the hot-spot policing evidence supports, each with a
/// short note on that evidence (sources in docs/MISSIONS.md).
pub fn default_menu() -> Vec<TemplateDraft> {
    let count = |key: &str, label: &str| OutcomeField {
        key: key.into(),
        label: label.into(),
        kind: OutcomeKind::Count,
        choices: vec![],
    };
    let yes_no = |key: &str, label: &str| OutcomeField {
        key: key.into(),
        label: label.into(),
        kind: OutcomeKind::YesNo,
        choices: vec![],
    };
    let conditions = OutcomeField {
        key: "conditions".into(),
        label: "Conditions found".into(),
        kind: OutcomeKind::Choice,
        choices: vec!["Quiet".into(), "Disorder".into(), "Suspicious activity".into(), "Crime in progress".into()],
    };
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    vec![
        TemplateDraft {
            name: "Koper visit".into(),
            goal: "Be visibly present in the hot spot for 10–16 minutes, at random times, about every two hours.".into(),
            tactic: "directed_patrol".into(),
            dwell_minutes: 15,
            visits_per_shift: 3,
            crime_types: s(&["violent", "property", "quality_of_life", "calls"]),
            outcome_fields: vec![count("contacts", "Contacts made"), conditions.clone(), count("reports", "Reports taken")],
            evidence_note: "Koper (1995): crime or disorder within 30 minutes of police leaving fell from 15% after a drive-through \
                to 4% after a 10–16 minute stop. Sacramento (Telep et al. 2014): 12–16 minute visits in random order at least every \
                two hours cut Part I crime against control."
                .into(),
            active: true,
        },
        TemplateDraft {
            name: "Park and walk".into(),
            goal: "Leave the car and walk the block: talk to people, look at what the place needs.".into(),
            tactic: "park_and_walk".into(),
            dwell_minutes: 20,
            visits_per_shift: 1,
            crime_types: s(&["violent", "quality_of_life"]),
            outcome_fields: vec![count("contacts", "Contacts made"), conditions.clone(), yes_no("follow_up", "Needs follow-up")],
            evidence_note: "Hot-spot patrol meta-analyses (Braga et al. 2019, 65 studies; Braga & Weisburd 2022) find a small but \
                significant crime reduction with benefits diffusing to nearby areas rather than displacing."
                .into(),
            active: true,
        },
        TemplateDraft {
            name: "Business check".into(),
            goal: "Check in with the businesses in the hot spot: open, secure, any problems since the last visit.".into(),
            tactic: "business_check".into(),
            dwell_minutes: 10,
            visits_per_shift: 2,
            crime_types: s(&["property"]),
            outcome_fields: vec![count("businesses", "Businesses checked"), yes_no("insecure", "Found insecure premises"), count("reports", "Reports taken")],
            evidence_note: "Property crime concentrates at few places (the law of crime concentration: about half of crime on \
                2–6% of street segments). The Philadelphia experiment cut expected property crime 31% with a marked car in the \
                forecast areas."
                .into(),
            active: true,
        },
        TemplateDraft {
            name: "Traffic safety".into(),
            goal: "Slow traffic where people are hurt: visible presence and stops at the collision hot spot.".into(),
            tactic: "traffic_safety".into(),
            dwell_minutes: 20,
            visits_per_shift: 1,
            crime_types: s(&["calls"]),
            outcome_fields: vec![count("stops", "Traffic stops"), count("warnings", "Warnings given"), count("citations", "Citations issued")],
            evidence_note: "Harm indices beyond crime count traffic collisions as harm (the Indianapolis harmspot work adds crashes \
                and overdoses); presence at collision places targets that harm directly."
                .into(),
            active: true,
        },
        TemplateDraft {
            name: "Community contact".into(),
            goal: "Meet residents and business owners at the hot spot and hear what they see.".into(),
            tactic: "community_contact".into(),
            dwell_minutes: 15,
            visits_per_shift: 1,
            crime_types: s(&["quality_of_life", "calls"]),
            outcome_fields: vec![count("contacts", "Contacts made"), yes_no("concern_raised", "A concern was raised"), yes_no("follow_up", "Needs follow-up")],
            evidence_note: "HunchLab's guidance put community contact among the patrol tactics and reviewed tactics with the \
                community; Beatbook counts contacts so the department can show what its presence was."
                .into(),
            active: true,
        },
        TemplateDraft {
            name: "Problem-solving follow-up".into(),
            goal: "Work on the condition behind the hot spot (lighting, a vacant lot, a nuisance address) and record what was done.".into(),
            tactic: "problem_solving".into(),
            dwell_minutes: 30,
            visits_per_shift: 1,
            crime_types: s(&["violent", "property", "quality_of_life", "calls"]),
            outcome_fields: vec![
                OutcomeField {
                    key: "action".into(),
                    label: "Action taken".into(),
                    kind: OutcomeKind::Choice,
                    choices: vec!["Referral made".into(), "Owner contacted".into(), "Hazard reported".into(), "Nothing needed".into()],
                },
                yes_no("resolved", "Condition resolved"),
            ],
            evidence_note: "Hot-spot effects are larger when patrol is paired with problem-oriented work at the place (Braga et al. \
                2019); the Minneapolis experiment halved observed disorder at treated spots."
                .into(),
            active: true,
        },
    ]
}

impl Bodega {
    /// Adds the default Mission Menu when the menu is empty. Returns how many templates it added.
    ///
    /// # Errors
    /// A store error.
    pub async fn ensure_default_menu(&self) -> Result<usize, MissionError> {
        let n: i64 =
            on_pool!(self, pool => sqlx::query_scalar("SELECT COUNT(*) FROM mission_templates").fetch_one(pool).await)?;
        if n > 0 {
            return Ok(0);
        }
        let menu = default_menu();
        for t in &menu {
            self.create_template(t, None).await?;
        }
        Ok(menu.len())
    }

    /// Creates a template (version 1).
    ///
    /// # Errors
    /// [`MissionError::Invalid`] (including a name already on the menu) or a store error.
    pub async fn create_template(&self, draft: &TemplateDraft, by: Option<i64>) -> Result<Template, MissionError> {
        draft.validate()?;
        let key = slug(&draft.name);
        let exists: Option<i64> = on_pool!(self, pool => sqlx::query_scalar(
            "SELECT id FROM mission_templates WHERE template_key = $1 LIMIT 1").bind(&key).fetch_optional(pool).await)?;
        if exists.is_some() {
            return Err(invalid(
                "name",
                format!("a template named like '{}' is already on the menu", draft.name.trim()),
            ));
        }
        self.insert_template_version(&key, 1, draft, by).await
    }

    /// Revises a template: writes the next version; missions already issued keep theirs.
    ///
    /// # Errors
    /// [`MissionError::NotFound`], [`MissionError::Stale`] when `expected_version` is not the
    /// latest, [`MissionError::Invalid`] or a store error.
    pub async fn revise_template(
        &self,
        key: &str,
        expected_version: i64,
        draft: &TemplateDraft,
        by: Option<i64>,
    ) -> Result<Template, MissionError> {
        draft.validate()?;
        let latest =
            self.latest_template(key).await?.ok_or_else(|| MissionError::NotFound(format!("no template '{key}'")))?;
        if latest.version != expected_version {
            return Err(MissionError::Stale { current: latest.version });
        }
        self.insert_template_version(key, latest.version + 1, draft, by).await
    }

    async fn insert_template_version(
        &self,
        key: &str,
        version: i64,
        d: &TemplateDraft,
        by: Option<i64>,
    ) -> Result<Template, MissionError> {
        let fields = serde_json::to_string(&d.outcome_fields).map_err(|e| invalid("outcome_fields", e.to_string()))?;
        let id: i64 = on_writer!(self, pool => sqlx::query_scalar(
            "INSERT INTO mission_templates (template_key, version, name, goal, tactic, dwell_minutes, visits_per_shift, \
             crime_types, outcome_fields, evidence_note, active, created_at, created_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id")
            .bind(key).bind(version).bind(d.name.trim()).bind(d.goal.trim()).bind(&d.tactic).bind(d.dwell_minutes)
            .bind(d.visits_per_shift).bind(d.crime_types.join(",")).bind(fields).bind(d.evidence_note.trim())
            .bind(i64::from(d.active)).bind(now_seconds()).bind(by)
            .fetch_one(pool).await)
        .map_err(|e| match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                MissionError::Stale { current: version }
            }
            _ => MissionError::from(e),
        })?;
        self.template(id).await?.ok_or_else(|| MissionError::NotFound(format!("template {id}")))
    }

    /// One template version by row id.
    ///
    /// # Errors
    /// A store error.
    pub async fn template(&self, id: i64) -> Result<Option<Template>, BodegaError> {
        let sql = format!("SELECT {TEMPLATE_COLUMNS} WHERE id = $1");
        let row: Option<TemplateRow> =
            on_pool!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await)?;
        Ok(row.map(TemplateRow::into_template))
    }

    /// The latest version of a template.
    ///
    /// # Errors
    /// A store error.
    pub async fn latest_template(&self, key: &str) -> Result<Option<Template>, BodegaError> {
        let sql = format!("SELECT {TEMPLATE_COLUMNS} WHERE template_key = $1 ORDER BY version DESC LIMIT 1");
        let row: Option<TemplateRow> =
            on_pool!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(key).fetch_optional(pool).await)?;
        Ok(row.map(TemplateRow::into_template))
    }

    /// The Mission Menu: the latest version of every template, active first, by name.
    ///
    /// # Errors
    /// A store error.
    pub async fn mission_menu(&self, include_retired: bool) -> Result<Vec<Template>, BodegaError> {
        let sql = format!(
            "SELECT {TEMPLATE_COLUMNS} t WHERE version = (SELECT MAX(version) FROM mission_templates v \
             WHERE v.template_key = t.template_key) ORDER BY active DESC, name"
        );
        let rows: Vec<TemplateRow> =
            on_pool!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(TemplateRow::into_template).filter(|t| include_retired || t.active).collect())
    }

    /// Creates a mission (as a draft, or issued at once) with its first event, in one
    /// transaction. The caller has checked the policy for the district.
    ///
    /// # Errors
    /// [`MissionError::Invalid`] naming the field (unknown or retired template, reversed
    /// window, place off the globe, priority out of range, id taken), or a store error.
    pub async fn create_mission(
        &self,
        m: &NewMission,
        by: &Subject,
        device_id: Option<&str>,
    ) -> Result<Mission, MissionError> {
        self.create_mission_at(m, by, device_id, now_seconds()).await
    }

    /// [`Bodega::create_mission`] as of `now` (UTC seconds): the demo's missions are written at
    /// the demo's times, since the events cannot be re-dated afterwards (they are append-only).
    pub(crate) async fn create_mission_at(
        &self,
        m: &NewMission,
        by: &Subject,
        device_id: Option<&str>,
        now: i64,
    ) -> Result<Mission, MissionError> {
        let id = m.id.trim();
        if id.is_empty() || id.len() > 64 || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(invalid("id", "must be a UUID"));
        }
        let template = self
            .template(m.template_id)
            .await?
            .ok_or_else(|| invalid("template_id", format!("no template {}", m.template_id)))?;
        if !template.active {
            return Err(invalid("template_id", format!("'{}' is retired", template.name)));
        }
        if m.window_end <= m.window_start {
            return Err(invalid("window_end", "the shift window ends before it starts"));
        }
        if m.window_end - m.window_start > 24 * 3600 {
            return Err(invalid("window_end", "a shift window is at most 24 hours"));
        }
        if !(1..=5).contains(&m.priority) {
            return Err(invalid("priority", "must be 1 (highest) to 5"));
        }
        if m.district.trim().is_empty() {
            return Err(invalid("district", "is required"));
        }
        // Exactly as a date prints (`2024-03-05`, not `2024-3-5` or ` 2024-03-05`): the date is
        // stored as text and matched as text by the board and the snapshot.
        if jiff::civil::Date::strptime("%Y-%m-%d", &m.shift_date).map_or(true, |d| d.to_string() != m.shift_date) {
            return Err(invalid("shift_date", format!("'{}' is not a date (YYYY-MM-DD)", m.shift_date)));
        }
        let (lat, lon) = m.place.centre();
        if !(lat.is_finite() && lon.is_finite() && (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)) {
            return Err(invalid("place", "coordinates are off the globe"));
        }
        let radius = m.place.radius_m();
        if !(radius.is_finite() && (5.0..=2000.0).contains(&radius)) {
            return Err(invalid("place", "radius must be 5 to 2,000 metres"));
        }
        for (field, value, max, lines) in [
            ("instructions", &m.instructions, 2000, Lines::Many),
            ("place_label", &m.place_label, 200, Lines::One),
            ("reason", &m.reason, 1000, Lines::Many),
        ] {
            protocol::text::check(value, max, lines).map_err(|reason| invalid(field, reason))?;
        }
        let (kind, epsg, size, ix, iy, seg) = match &m.place {
            Place::Cell { epsg, size_m, ix, iy, .. } => {
                ("cell", Some(i64::from(*epsg)), Some(i64::from(*size_m)), Some(*ix), Some(*iy), None)
            }
            Place::Segment { id, .. } => ("segment", None, None, None, None, Some(id.clone())),
            Place::Point { .. } => ("point", None, None, None, None, None),
        };
        let status = if m.issue { MissionStatus::Issued } else { MissionStatus::Draft };
        on_writer!(self, pool => {
            let mut tx = begin_write(pool).await?;
            let taken: Option<String> = sqlx::query_scalar("SELECT id FROM missions WHERE id = $1")
                .bind(id).fetch_optional(&mut *tx).await?;
            if taken.is_some() {
                return Err(invalid("id", format!("a mission {id} already exists")));
            }
            sqlx::query(
                "INSERT INTO missions (id, template_id, status, district_code, shift_code, shift_date, window_start, \
                 window_end, place_kind, cell_epsg, cell_size_m, cell_ix, cell_iy, segment_id, lat, lon, radius_m, \
                 place_label, priority, instructions, reason, created_at, created_by, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, \
                 $22, $23, $22)")
                .bind(id).bind(template.id).bind(status.as_str()).bind(m.district.trim()).bind(m.shift.trim())
                .bind(&m.shift_date).bind(m.window_start).bind(m.window_end).bind(kind).bind(epsg).bind(size)
                .bind(ix).bind(iy).bind(seg).bind(lat).bind(lon).bind(radius).bind(m.place_label.trim())
                .bind(m.priority).bind(m.instructions.trim()).bind(m.reason.trim()).bind(now).bind(by.user_id)
                .execute(&mut *tx).await?;
            let change = crate::changes::next_change(&mut tx).await?;
            sqlx::query("UPDATE missions SET change_version = $2 WHERE id = $1")
                .bind(id).bind(change).execute(&mut *tx).await?;
            let transition = if m.issue { "issue" } else { "create" };
            sqlx::query(
                "INSERT INTO mission_events (mission_id, transition, from_status, to_status, actor_user_id, device_id, \
                 server_time, device_time, detail) VALUES ($1, $2, NULL, $3, $4, $5, $6, NULL, '')")
                .bind(id).bind(transition).bind(status.as_str()).bind(by.user_id).bind(device_id).bind(now)
                .execute(&mut *tx).await?;
            tx.commit().await?;
        });
        self.mission(id).await?.ok_or_else(|| MissionError::NotFound(format!("mission {id}")))
    }

    /// Edits a mission before acknowledgement (a draft or an issued one): its template,
    /// priority, instructions, place name and time window, recorded as an `edit` event with what
    /// changed from what, and seen by devices through the change counter. The caller has checked
    /// the policy and that the window lies within the shift.
    ///
    /// # Errors
    /// [`MissionError::Invalid`] naming the field (a retired template, a priority out of range,
    /// a reversed window, text too long, or `status` once acknowledged); [`MissionError::Stale`]
    /// when it changed since `expected_version`; [`MissionError::NotFound`]; a store error.
    pub async fn edit_mission(
        &self,
        id: &str,
        expected_version: i64,
        e: &protocol::mission::MissionEdit,
        by: i64,
    ) -> Result<Mission, MissionError> {
        let before = self.mission(id).await?.ok_or_else(|| MissionError::NotFound(format!("no mission {id}")))?;
        // The "was" of the edit event is this read: refused unless it is the version the
        // planner edited (the write below checks it again under the lock).
        if before.version != expected_version {
            return Err(MissionError::Stale { current: before.version });
        }
        if e.place_label.trim().is_empty() {
            return Err(invalid("place_label", "is required: the officer reads it"));
        }
        let template = self
            .template(e.template_id)
            .await?
            .ok_or_else(|| invalid("template_id", format!("no template {}", e.template_id)))?;
        if !template.active && template.id != before.template.id {
            return Err(invalid("template_id", format!("'{}' is retired", template.name)));
        }
        if !(1..=5).contains(&e.priority) {
            return Err(invalid("priority", "must be 1 (highest) to 5"));
        }
        if e.window_end <= e.window_start {
            return Err(invalid("window_end", "the window ends before it starts"));
        }
        protocol::text::check(&e.instructions, 2000, Lines::Many).map_err(|r| invalid("instructions", r))?;
        protocol::text::check(&e.place_label, 200, Lines::One).map_err(|r| invalid("place_label", r))?;
        let mut changed = serde_json::Map::new();
        let mut note = |key: &str, was: serde_json::Value, now: serde_json::Value| {
            if was != now {
                changed.insert(key.into(), serde_json::json!({ "was": was, "now": now }));
            }
        };
        note("template", before.template.name.clone().into(), template.name.clone().into());
        note("priority", before.priority.into(), e.priority.into());
        note("instructions", before.instructions.clone().into(), e.instructions.trim().into());
        note("place_label", before.place_label.clone().into(), e.place_label.trim().into());
        note("window_start", before.window_start.into(), e.window_start.into());
        note("window_end", before.window_end.into(), e.window_end.into());
        let now = now_seconds();
        on_writer!(self, pool => {
            let mut tx = begin_write(pool).await?;
            let row: Option<(String, i64)> = sqlx::query_as(match self {
                Bodega::Sqlite(_) => "SELECT status, version FROM missions WHERE id = $1",
                Bodega::Postgres(_) => "SELECT status, version FROM missions WHERE id = $1 FOR UPDATE",
            })
            .bind(id).fetch_optional(&mut *tx).await?;
            let Some((status, version)) = row else {
                return Err(MissionError::NotFound(format!("no mission {id}")));
            };
            if version != expected_version {
                return Err(MissionError::Stale { current: version });
            }
            if !matches!(MissionStatus::parse(&status), Some(MissionStatus::Draft | MissionStatus::Issued)) {
                return Err(invalid(
                    "status",
                    format!(
                        "it is {} already: only a mission not yet acknowledged can be edited (cancel it with a reason \
                         and issue another)",
                        MissionStatus::parse(&status).map_or(status.clone(), |s| s.label().to_lowercase())
                    ),
                ));
            }
            let change = crate::changes::next_change(&mut tx).await?;
            sqlx::query(
                "UPDATE missions SET template_id = $2, priority = $3, instructions = $4, place_label = $5, \
                 window_start = $6, window_end = $7, version = version + 1, updated_at = $8, change_version = $9 \
                 WHERE id = $1")
                .bind(id).bind(template.id).bind(e.priority).bind(e.instructions.trim()).bind(e.place_label.trim())
                .bind(e.window_start).bind(e.window_end).bind(now).bind(change)
                .execute(&mut *tx).await?;
            sqlx::query(
                "INSERT INTO mission_events (mission_id, transition, from_status, to_status, actor_user_id, device_id, \
                 server_time, device_time, detail) VALUES ($1, 'edit', $2, $2, $3, NULL, $4, NULL, $5)")
                .bind(id).bind(&status).bind(by).bind(now).bind(serde_json::Value::Object(changed).to_string())
                .execute(&mut *tx).await?;
            tx.commit().await?;
        });
        self.mission(id).await?.ok_or_else(|| MissionError::NotFound(format!("no mission {id}")))
    }

    async fn complete_mission(&self, r: MissionRow) -> Result<Mission, BodegaError> {
        let template =
            self.template(r.template_id).await?.ok_or_else(|| BodegaError::Query(sqlx::Error::RowNotFound))?;
        Ok(r.into_mission(template))
    }

    /// One mission.
    ///
    /// # Errors
    /// A store error.
    pub async fn mission(&self, id: &str) -> Result<Option<Mission>, BodegaError> {
        let sql = format!("{MISSION_SELECT} WHERE m.id = $1");
        let row: Option<MissionRow> =
            on_pool!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await)?;
        match row {
            Some(r) => Ok(Some(self.complete_mission(r).await?)),
            None => Ok(None),
        }
    }

    /// Missions matching `filter`, by priority then window start.
    ///
    /// # Errors
    /// A store error.
    pub async fn missions(&self, f: &MissionFilter) -> Result<Vec<Mission>, BodegaError> {
        let rows: Vec<MissionRow> = on_pool!(self, pool => {
            let mut qb = sqlx::QueryBuilder::new(MISSION_SELECT);
            qb.push(" WHERE 1 = 1");
            if let Some(d) = &f.district {
                qb.push(" AND m.district_code = ").push_bind(d.clone());
            }
            if let Some(s) = &f.shift {
                qb.push(" AND m.shift_code = ").push_bind(s.clone());
            }
            if let Some(d) = &f.shift_date {
                qb.push(" AND m.shift_date = ").push_bind(d.clone());
            }
            if let Some(u) = f.assignee_user_id {
                qb.push(" AND m.assignee_user_id = ").push_bind(u);
            }
            if f.exclude_drafts {
                qb.push(" AND m.status <> 'draft'");
            }
            if let Some(c) = f.changed_since {
                qb.push(" AND m.change_version > ").push_bind(c);
            }
            if let Some((from, to)) = &f.dates {
                qb.push(" AND m.shift_date >= ").push_bind(from.clone());
                qb.push(" AND m.shift_date <= ").push_bind(to.clone());
            }
            qb.push(" ORDER BY m.priority, m.window_start, m.id");
            qb.build_query_as().fetch_all(pool).await
        })?;
        let mut cache: std::collections::HashMap<i64, Template> = std::collections::HashMap::new();
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let template = match cache.get(&r.template_id) {
                Some(t) => t.clone(),
                None => {
                    let t = self.template(r.template_id).await?.ok_or(BodegaError::Query(sqlx::Error::RowNotFound))?;
                    cache.insert(r.template_id, t.clone());
                    t
                }
            };
            out.push(r.into_mission(template));
        }
        Ok(out)
    }

    /// The recorded transitions of a mission, oldest first.
    ///
    /// # Errors
    /// A store error.
    pub async fn mission_events(&self, id: &str) -> Result<Vec<MissionEvent>, BodegaError> {
        type Row = (i64, String, String, Option<String>, String, i64, Option<String>, i64, Option<i64>, String);
        let rows: Vec<Row> = on_pool!(self, pool => sqlx::query_as(
            "SELECT id, mission_id, transition, from_status, to_status, actor_user_id, device_id, server_time, device_time, \
             detail FROM mission_events WHERE mission_id = $1 ORDER BY id")
            .bind(id).fetch_all(pool).await)?;
        Ok(rows
            .into_iter()
            .map(
                |(
                    id,
                    mission_id,
                    transition,
                    from_status,
                    to_status,
                    actor_user_id,
                    device_id,
                    server_time,
                    device_time,
                    detail,
                )| {
                    MissionEvent {
                        id,
                        mission_id,
                        transition,
                        from_status,
                        to_status,
                        actor_user_id,
                        device_id,
                        server_time,
                        device_time,
                        detail,
                    }
                },
            )
            .collect())
    }

    /// Checks a step's details against the mission (an assignee must be an active officer of
    /// the mission's district; a completion must answer every outcome field of the mission's
    /// template version; not completed and cancel need a reason) and returns them as the
    /// event's detail.
    ///
    /// # Errors
    /// [`MissionError::Invalid`] naming the field, or a store error.
    pub async fn step_details(
        &self,
        mission: &Mission,
        t: Transition,
        args: &TransitionArgs,
    ) -> Result<serde_json::Map<String, serde_json::Value>, MissionError> {
        let mut detail = serde_json::Map::new();
        match t {
            Transition::Assign => {
                let Some(user_id) = args.assignee_user_id else {
                    return Err(invalid("assignee_user_id", "choose the officer to assign"));
                };
                let officer = self
                    .user_by_id(user_id)
                    .await?
                    .filter(|u| u.active)
                    .ok_or_else(|| invalid("assignee_user_id", format!("no active user {user_id}")))?;
                if !officer.roles.iter().any(|r| matches!(r, protocol::Role::Officer | protocol::Role::Sergeant)) {
                    return Err(invalid(
                        "assignee_user_id",
                        format!("{} is not a patrol officer", officer.display_name),
                    ));
                }
                if !officer.districts.contains(&mission.district) {
                    return Err(invalid(
                        "assignee_user_id",
                        format!("{} is not in district {}", officer.display_name, mission.district),
                    ));
                }
                if let Some(unit) = &args.assignee_unit {
                    protocol::text::check(unit, 40, Lines::One).map_err(|r| invalid("assignee_unit", r))?;
                }
                detail.insert("assignee_user_id".into(), user_id.into());
                detail.insert("assignee".into(), officer.display_name.into());
            }
            Transition::Complete => {
                let outcome = args.outcome.clone().unwrap_or(serde_json::Value::Object(Default::default()));
                let obj = outcome.as_object().ok_or_else(|| invalid("outcome", "must be an object of field values"))?;
                for f in &mission.template.outcome_fields {
                    let v =
                        obj.get(&f.key).ok_or_else(|| invalid("outcome", format!("'{}' is not answered", f.label)))?;
                    let ok = match f.kind {
                        OutcomeKind::Count => v.as_u64().is_some_and(|n| n <= 10_000),
                        OutcomeKind::YesNo => v.is_boolean(),
                        OutcomeKind::Choice => v.as_str().is_some_and(|s| f.choices.iter().any(|c| c == s)),
                    };
                    if !ok {
                        return Err(invalid("outcome", format!("'{}' has an answer of the wrong kind", f.label)));
                    }
                }
                if let Some(extra) = obj.keys().find(|k| !mission.template.outcome_fields.iter().any(|f| &f.key == *k))
                {
                    return Err(invalid("outcome", format!("'{extra}' is not a field of this mission")));
                }
                detail.insert("outcome".into(), outcome);
            }
            Transition::NotComplete | Transition::Cancel => {
                let reason = args.reason.as_deref().map(str::trim).unwrap_or_default();
                if reason.is_empty() {
                    return Err(invalid("reason", "say why"));
                }
                protocol::text::check(reason, 500, Lines::Many).map_err(|r| invalid("reason", r))?;
                detail.insert("reason".into(), reason.into());
            }
            _ => {}
        }
        if let Some(note) = args.note.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
            protocol::text::check(note, 2000, Lines::Many).map_err(|r| invalid("note", r))?;
            detail.insert("note".into(), note.into());
        }
        Ok(detail)
    }

    /// Moves a mission one step, for `by`, in one transaction with its event: the lifecycle and
    /// the policy (`protocol::mission::check`) decide on the row as it is under the write lock;
    /// a stale `expected_version` is refused; the details are checked by [`Bodega::step_details`].
    ///
    /// # Errors
    /// [`MissionError::NotFound`], [`MissionError::Stale`], [`MissionError::Transition`],
    /// [`MissionError::Invalid`] or a store error.
    pub async fn transition_mission(
        &self,
        id: &str,
        t: Transition,
        by: &Subject,
        args: &TransitionArgs,
    ) -> Result<Mission, MissionError> {
        self.transition_mission_at(id, t, by, args, now_seconds()).await
    }

    /// [`Bodega::transition_mission`] as of `now` (UTC seconds), for the demo's missions (see
    /// [`Bodega::create_mission_at`]).
    pub(crate) async fn transition_mission_at(
        &self,
        id: &str,
        t: Transition,
        by: &Subject,
        args: &TransitionArgs,
        now: i64,
    ) -> Result<Mission, MissionError> {
        let mission = self.mission(id).await?.ok_or_else(|| MissionError::NotFound(format!("no mission {id}")))?;
        let detail = self.step_details(&mission, t, args).await?;
        on_writer!(self, pool => {
            let mut tx = begin_write(pool).await?;
            // Re-read under the write lock: the decision is made on the row as it is now.
            // Locked on PostgreSQL (`FOR UPDATE`), as a pushed step's is.
            let row: Option<(String, i64, Option<i64>, String)> = sqlx::query_as(match self {
                Bodega::Sqlite(_) => "SELECT status, version, assignee_user_id, district_code FROM missions WHERE id = $1",
                Bodega::Postgres(_) => {
                    "SELECT status, version, assignee_user_id, district_code FROM missions WHERE id = $1 FOR UPDATE"
                }
            })
            .bind(id).fetch_optional(&mut *tx).await?;
            let Some((status, version, assignee, district)) = row else {
                return Err(MissionError::NotFound(format!("no mission {id}")));
            };
            if let Some(expected) = args.expected_version {
                if expected != version {
                    return Err(MissionError::Stale { current: version });
                }
            }
            let from = MissionStatus::parse(&status).unwrap_or(MissionStatus::Draft);
            let facts = MissionFacts { status: from, district: &district, assignee };
            let to = check(by, facts, t)?;
            record_step!(tx, StepRecord { id, t, from, to, by: by.user_id, args, detail: &detail, conflict: false, now });
            tx.commit().await?;
        });
        self.mission(id).await?.ok_or_else(|| MissionError::NotFound(format!("no mission {id}")))
    }

    /// Completed Koper visits (missions completed) and their planned minutes at each cell of a
    /// district since `since` (UTC seconds): what the dosage target and cap count.
    ///
    /// # Errors
    /// A store error.
    pub async fn mission_dosage(
        &self,
        epsg: u32,
        size_m: u32,
        (since, until): (i64, i64),
    ) -> Result<Vec<CellDosage>, BodegaError> {
        let rows: Vec<(i64, i64, i64, i64, Option<i64>)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT m.cell_ix, m.cell_iy, COUNT(*), CAST(COALESCE(SUM(t.dwell_minutes), 0) AS BIGINT), MAX(e.server_time) \
             FROM missions m JOIN mission_templates t ON t.id = m.template_id \
             JOIN mission_events e ON e.mission_id = m.id AND e.transition = 'complete' \
             WHERE m.place_kind = 'cell' AND m.cell_epsg = $1 AND m.cell_size_m = $2 AND e.server_time >= $3 AND e.server_time < $4 \
             GROUP BY m.cell_ix, m.cell_iy")
            .bind(i64::from(epsg)).bind(i64::from(size_m)).bind(since).bind(until).fetch_all(pool).await)?;
        Ok(rows
            .into_iter()
            .map(|(ix, iy, visits, minutes, last_completed_at)| CellDosage {
                ix,
                iy,
                visits,
                minutes,
                last_completed_at,
            })
            .collect())
    }
}

/// Completed mission visits at one cell since a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CellDosage {
    /// Lattice column.
    pub ix: i64,
    /// Lattice row.
    pub iy: i64,
    /// Completed missions.
    pub visits: i64,
    /// Their planned minutes in place.
    pub minutes: i64,
    /// The latest completion, UTC seconds.
    pub last_completed_at: Option<i64>,
}

/// A district's outline.
#[derive(Debug, Clone, PartialEq)]
pub struct DistrictArea {
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// The polygon(s), WGS84.
    pub area: geo::MultiPolygon<f64>,
    /// `(min_lon, min_lat, max_lon, max_lat)`.
    pub bbox: (f64, f64, f64, f64),
}

type DistrictRow = (String, String, String, f64, f64, f64, f64);

/// A stored district row as an outline; one that no longer parses is logged and skipped.
fn district_area_of((code, name, geojson, w, s, e, n): DistrictRow) -> Option<DistrictArea> {
    match crate::geocode::parse_area(&geojson) {
        Ok(area) => Some(DistrictArea { code, name, area, bbox: (w, s, e, n) }),
        Err(err) => {
            tracing::error!(district = %code, error = %err, "stored district outline does not parse");
            None
        }
    }
}

impl Bodega {
    /// One district's outline, if loaded.
    ///
    /// # Errors
    /// A store error (a stored outline that no longer parses reads as missing and is logged).
    pub async fn district_area(&self, code: &str) -> Result<Option<DistrictArea>, BodegaError> {
        let row: Option<DistrictRow> = on_pool!(self, pool => sqlx::query_as(
            "SELECT code, name, geojson, min_lon, min_lat, max_lon, max_lat FROM districts WHERE code = $1 AND kind = 'district'")
            .bind(code).fetch_optional(pool).await)?;
        Ok(row.and_then(district_area_of))
    }

    /// Every district's outline, by code (for the maps; outlines that do not parse are logged
    /// and left out).
    ///
    /// # Errors
    /// A store error.
    pub async fn district_areas(&self) -> Result<Vec<DistrictArea>, BodegaError> {
        let rows: Vec<DistrictRow> = on_pool!(self, pool => sqlx::query_as(
            "SELECT code, name, geojson, min_lon, min_lat, max_lon, max_lat FROM districts WHERE kind = 'district' ORDER BY code")
            .fetch_all(pool).await)?;
        Ok(rows.into_iter().filter_map(district_area_of).collect())
    }

    /// Active users who can be given missions in a district (officers and sergeants), by name.
    ///
    /// # Errors
    /// A store error.
    pub async fn district_officers(&self, code: &str) -> Result<Vec<(i64, String)>, BodegaError> {
        Ok(on_pool!(self, pool => sqlx::query_as(
            "SELECT DISTINCT u.id, u.display_name FROM users u \
             JOIN user_districts d ON d.user_id = u.id AND d.district_code = $1 \
             JOIN user_roles r ON r.user_id = u.id AND r.role IN ('officer', 'sergeant') \
             WHERE u.active = 1 ORDER BY u.display_name")
            .bind(code).fetch_all(pool).await)?)
    }
}
