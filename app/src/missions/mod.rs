//! Missions over the wire: the Mission Menu, recommendations for a district's shift, issuing,
//! the sergeant's board (with what came back from the field), the officer's list, every
//! lifecycle step, officers' proposals and their sergeant's decision, the district's follow-up
//! queue and the outcomes added up. Each server function has
//! a fixed URL under `/api/missions/`, passes the one gate (`auth::ssr::authorize`) with its
//! policy action, and answers bad input with a field-level [`ApiError::Invalid`].

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use protocol::menu::{Template, TemplateDraft};
use protocol::mission::{Mission, Place, TransitionArgs};
use protocol::Transition;
use serde::{Deserialize, Serialize};

use crate::error::{Access, ApiError};
pub use crate::shift::ShiftRef;

pub mod board;
pub mod followups;
pub mod menu;
pub mod mine;
pub mod nearby;
pub mod outcomes;
pub mod plan;
pub mod proposals;

/// A proposed mission at a top harm place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Proposal {
    /// Rank by harm in the district (1 = most harm).
    pub rank: u32,
    /// The micro place.
    pub place: Place,
    /// A name for it.
    pub place_label: String,
    /// Harm in the window.
    pub harm: f64,
    /// Incidents in the window.
    pub incidents: u32,
    /// Plain-language reason.
    pub reason: String,
    /// Suggested template: the one the place's dominant harm track calls for.
    pub template_id: i64,
    /// Why that template ("Business check suits property harm, the most here.").
    pub template_note: String,
    /// Suggested priority (1 for the top five, 2 for the next five, else 3).
    pub priority: i64,
    /// Why this place is not proposed (dosage target met, cap reached, already planned).
    pub skipped: Option<String>,
    /// Incidents at the place in the 90 days before the shift (the time-of-day composition).
    pub recent_incidents: u32,
    /// Of those, how many happened within the shift's hours.
    pub in_shift_hours: u32,
}

/// Proposals for one shift.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendations {
    /// The shift.
    pub shift: ShiftRef,
    /// District name.
    pub district_name: String,
    /// First local day of the scoring window.
    pub window_from: String,
    /// Last local day of the scoring window.
    pub window_to: String,
    /// True when the data ends before the shift, so the window ends with the data.
    pub window_moved_to_data: bool,
    /// Cell size, metres.
    pub cell_size_m: u32,
    /// The harm table and version that ranked the places.
    pub harm_table: String,
    /// Command's track weights that ranked them ("violent ×1.5, property ×1, quality of life
    /// ×0.5"), said plainly on the plan.
    pub track_weights: String,
    /// The method that ranked, in words ("the incident count over 365 days").
    pub ranked_by: String,
    /// Why that method: the backtest's evidence, or that none is recorded yet.
    pub ranked_why: String,
    /// Proposals, best first (skipped ones carry their reason).
    pub proposals: Vec<Proposal>,
    /// The Mission Menu's templates a proposal can use instead.
    pub templates: Vec<Template>,
}

/// One mission to issue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IssueItem {
    /// New mission id (UUID chosen by the client).
    pub id: String,
    /// Template version.
    pub template_id: i64,
    /// Where.
    pub place: Place,
    /// Name of the place.
    pub place_label: String,
    /// 1 (highest) to 5.
    pub priority: i64,
    /// Instructions.
    pub instructions: String,
    /// Why.
    pub reason: String,
    /// A part of the shift, local `("16:00", "18:00")`; `None`: the whole shift.
    #[serde(default)]
    pub window: Option<(String, String)>,
}

/// A district's shift as the sergeant's board shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Board {
    /// The shift.
    pub shift: ShiftRef,
    /// Its missions (drafts left out).
    pub missions: Vec<Mission>,
    /// Who can be assigned: (user id, name).
    pub officers: Vec<(i64, String)>,
    /// What the caller may do on this board (the server enforces it again on every step).
    pub rights: BoardRights,
    /// What came back from the field on each mission, in `missions`' order.
    pub feedback: Vec<protocol::mission::MissionFeedback>,
    /// Officers' proposals in the district waiting for a decision (for those who may decide).
    #[serde(default)]
    pub proposals: Vec<protocol::mission::MissionProposal>,
    /// The Mission Menu's active templates, for editing a mission not yet acknowledged (for
    /// those who plan).
    #[serde(default)]
    pub templates: Vec<Template>,
}

/// The steps the caller's roles allow on a board's district.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardRights {
    /// Acknowledge issued missions.
    pub acknowledge: bool,
    /// Assign and reassign.
    pub assign: bool,
    /// Review finished missions.
    pub review: bool,
    /// Cancel missions not yet finished.
    pub cancel: bool,
    /// Approve or decline officers' proposals (into this shift), and edit missions not yet
    /// acknowledged: the planner's rights.
    #[serde(default)]
    pub approve: bool,
}

/// The server functions' list (for the authorization matrix).
pub const ENDPOINTS: &[(&str, Access)] = &[
    ("/api/missions/menu", Some(protocol::Action::ViewMissions)),
    ("/api/missions/menu/save", Some(protocol::Action::ManageMenu)),
    ("/api/missions/recommend", Some(protocol::Action::PlanMissions)),
    ("/api/missions/issue", Some(protocol::Action::PlanMissions)),
    ("/api/missions/board", Some(protocol::Action::ViewMissions)),
    ("/api/missions/mine", Some(protocol::Action::ViewMissions)),
    ("/api/missions/transition", Some(protocol::Action::WorkMission)),
    ("/api/missions/events", Some(protocol::Action::ViewMissions)),
    ("/api/missions/followups", Some(protocol::Action::PlanMissions)),
    ("/api/missions/followup_act", Some(protocol::Action::PlanMissions)),
    ("/api/missions/outcomes", Some(protocol::Action::ViewPresence)),
    ("/api/missions/edit", Some(protocol::Action::PlanMissions)),
    ("/api/missions/propose", Some(protocol::Action::ProposeMission)),
    ("/api/missions/my_proposals", Some(protocol::Action::ViewMissions)),
    ("/api/missions/proposal_decide", Some(protocol::Action::PlanMissions)),
];

/// A mission's recorded steps, oldest first.
#[server(prefix = "/api", endpoint = "missions/events", input = Json)]
pub async fn mission_events(id: String) -> Result<Vec<protocol::mission::MissionEvent>, ApiError> {
    ssr::events(id).await
}

/// The Mission Menu (latest version of each template; retired ones on request).
#[server(prefix = "/api", endpoint = "missions/menu", input = Json)]
pub async fn get_menu(include_retired: bool) -> Result<Vec<Template>, ApiError> {
    ssr::menu(include_retired).await
}

/// Creates a template (`key` empty) or revises one (`key` and the version edited).
#[server(prefix = "/api", endpoint = "missions/menu/save", input = Json)]
pub async fn save_template(
    key: Option<String>,
    expected_version: Option<i64>,
    draft: TemplateDraft,
) -> Result<Template, ApiError> {
    ssr::save_template(key, expected_version, draft).await
}

/// Proposed missions for a district's shift.
#[server(prefix = "/api", endpoint = "missions/recommend", input = Json)]
pub async fn recommend(shift: ShiftRef) -> Result<Recommendations, ApiError> {
    ssr::recommend(shift).await
}

/// Issues missions for a district's shift (all or none).
#[server(prefix = "/api", endpoint = "missions/issue", input = Json)]
pub async fn issue_missions(shift: ShiftRef, items: Vec<IssueItem>) -> Result<Vec<Mission>, ApiError> {
    ssr::issue(shift, items).await
}

/// A district's shift board.
#[server(prefix = "/api", endpoint = "missions/board", input = Json)]
pub async fn get_board(shift: ShiftRef) -> Result<Board, ApiError> {
    ssr::board(shift).await
}

/// The caller's own missions (assigned to them, not cancelled).
#[server(prefix = "/api", endpoint = "missions/mine", input = Json)]
pub async fn my_missions() -> Result<Vec<Mission>, ApiError> {
    ssr::mine().await
}

/// One lifecycle step on one mission.
#[server(prefix = "/api", endpoint = "missions/transition", input = Json)]
pub async fn transition_mission(id: String, step: Transition, args: TransitionArgs) -> Result<Mission, ApiError> {
    ssr::transition_mission(id, step, args).await
}

/// A planner's change to a mission not yet acknowledged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MissionChange {
    /// The mission.
    pub id: String,
    /// The version the planner read (a change made since is not overwritten).
    pub expected_version: i64,
    /// The template version.
    pub template_id: i64,
    /// 1 (highest) to 5.
    pub priority: i64,
    /// Instructions.
    pub instructions: String,
    /// The place's name.
    pub place_label: String,
    /// A new window within the shift, local `("16:00", "18:00")`; `None`: the window stays.
    #[serde(default)]
    pub window: Option<(String, String)>,
}

/// Edits a mission before its sergeant acknowledges it.
#[server(prefix = "/api", endpoint = "missions/edit", input = Json)]
pub async fn edit_mission(change: MissionChange) -> Result<Mission, ApiError> {
    ssr::edit(change).await
}

/// A mission's outcome answers in words: "Contacts made: 3 · Quiet: yes".
pub fn outcome_text(m: &Mission, o: &serde_json::Value) -> String {
    m.template
        .outcome_fields
        .iter()
        .filter_map(|f| {
            let v = o.get(&f.key)?;
            let text = match v {
                serde_json::Value::Bool(true) => "yes".to_string(),
                serde_json::Value::Bool(false) => "no".to_string(),
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            Some(format!("{}: {text}", f.label))
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

/// Server side.
#[cfg(feature = "ssr")]
pub mod ssr {
    use bodega::missions::{MissionError, NewMission};
    use geo::{Contains, Intersects};
    use protocol::menu::{Template, TemplateDraft};
    use protocol::mission::{Mission, Place, TransitionArgs};
    use protocol::policy::Target;
    use protocol::{Action, MissionStatus, Transition};

    use super::{Board, BoardRights, IssueItem, Proposal, Recommendations, ShiftRef};
    use crate::auth::ssr::authorize;
    use crate::context::{context, fail, unavailable, ServerContext};
    use crate::error::ApiError;
    use crate::geo::MICRO_PLACE;
    use crate::shift::dosage::{gps_dosage, GpsDosage};
    use crate::shift::ranking::{rank_places, COMPOSITION_DAYS};
    use crate::shift::ssr::visit_params;
    use crate::shift::ssr::{missions_of, runs_that_day, shift_window};

    /// The district a screen opens on when none is named: none (the whole city) for whoever
    /// may `action` city-wide, else the caller's own (a sergeant's queue is their district's).
    pub fn default_district(action: Action, asked: Option<String>) -> Option<String> {
        let asked = asked.filter(|d| !d.trim().is_empty());
        if asked.is_some() {
            return asked;
        }
        let caller = crate::auth::ssr::caller()?;
        let subject = caller.user.subject();
        if protocol::policy::decide(&subject, action, Target::City).is_allowed() {
            None
        } else {
            caller.user.districts.first().cloned()
        }
    }

    /// The districts (code, name) where `subject` may `action`: what a screen's district picker
    /// offers.
    ///
    /// # Errors
    /// 503 when the districts cannot be read.
    pub async fn districts_for(
        ctx: &ServerContext,
        subject: &protocol::policy::Subject,
        action: Action,
    ) -> Result<Vec<(String, String)>, ApiError> {
        Ok(ctx
            .bodega
            .districts()
            .await
            .map_err(unavailable)?
            .into_iter()
            .filter(|(code, _, kind)| {
                kind == "district" && protocol::policy::decide(subject, action, Target::District(code)).is_allowed()
            })
            .map(|(code, name, _)| (code, name))
            .collect())
    }

    /// A store's refusal of a mission change as the API answers it.
    pub(crate) fn from_mission_error(e: MissionError) -> ApiError {
        fail(match e {
            MissionError::Invalid { field, reason } => ApiError::invalid(field, reason),
            MissionError::NotFound(m) => ApiError::NotFound(m),
            MissionError::Stale { .. } => ApiError::Conflict(e.to_string()),
            MissionError::Transition(protocol::TransitionError::Forbidden(m)) => ApiError::Forbidden(m),
            MissionError::Transition(t) => ApiError::Conflict(t.to_string()),
            MissionError::Store(s) => return unavailable(s),
        })
    }

    /// The menu.
    ///
    /// # Errors
    /// 401/403 from the gate; 503 from the store.
    pub async fn menu(include_retired: bool) -> Result<Vec<Template>, ApiError> {
        let ctx = context()?;
        authorize(&ctx, Action::ViewMissions, Target::Reference, "/api/missions/menu").await?;
        ctx.bodega.mission_menu(include_retired).await.map_err(unavailable)
    }

    /// Create or revise a template.
    ///
    /// # Errors
    /// 401/403, 422 naming the field, 409 when someone else revised it first, 404.
    pub async fn save_template(
        key: Option<String>,
        expected_version: Option<i64>,
        draft: TemplateDraft,
    ) -> Result<Template, ApiError> {
        let ctx = context()?;
        let target = key.clone().unwrap_or_else(|| protocol::menu::slug(&draft.name));
        let grant = authorize(&ctx, Action::ManageMenu, Target::City, &format!("template {target}")).await?;
        let by = Some(grant.user().id);
        let result = match key.filter(|k| !k.is_empty()) {
            None => ctx.bodega.create_template(&draft, by).await,
            Some(k) => {
                let Some(v) = expected_version else {
                    return Err(fail(ApiError::invalid("expected_version", "say which version you edited")));
                };
                ctx.bodega.revise_template(&k, v, &draft, by).await
            }
        };
        let outcome = if result.is_ok() { bodega::audit::Outcome::Success } else { bodega::audit::Outcome::Failure };
        let detail = match &result {
            Ok(t) => format!("version {}", t.version),
            Err(e) => e.to_string(),
        };
        grant.audit(&ctx, &format!("template {target}"), outcome, &detail).await?;
        result.map_err(from_mission_error)
    }

    fn plural(n: u32, offense: &str) -> String {
        let o = offense.to_lowercase();
        if n == 1 {
            format!("1 {o}")
        } else {
            format!("{n} × {o}")
        }
    }

    fn ago(seconds: i64) -> String {
        let h = seconds / 3600;
        if h < 48 {
            format!("{h} h ago")
        } else {
            format!("{} days ago", h / 24)
        }
    }

    /// Proposals for a district's shift: the top harm places over the last 28 days (ending with
    /// the shift's start, or with the data when the data ends earlier), minus places whose
    /// completed missions met the target this shift or that reached the 24-hour cap.
    ///
    /// # Errors
    /// 401/403 (another district's sergeant), 404 unknown district, 422 bad shift/date, 503.
    pub async fn recommend(s: ShiftRef) -> Result<Recommendations, ApiError> {
        let ctx = context()?;
        authorize(&ctx, Action::PlanMissions, Target::District(&s.district), &format!("recommend {}", s.district))
            .await?;
        recommend_for(&ctx, s).await
    }

    /// The recommendation itself, without the gate (tests, the CLI).
    ///
    /// # Errors
    /// As [`recommend`] less the gate.
    pub async fn recommend_for(ctx: &ServerContext, s: ShiftRef) -> Result<Recommendations, ApiError> {
        runs_that_day(ctx, &s).await?;
        let ranking = rank_places(ctx, &s).await?;
        let (epsg, district) = (ranking.epsg, &ranking.district);
        let (shift_start, shift_end) = ranking.shift;
        let (from, to) = ranking.window;
        let window_days = (to - from) / 86_400;

        // Dosage: completed this shift, completed in the last 24 h, and already planned. Counted
        // up to the shift's end: a shift planned after the fact (or the demo's past) is not dosed
        // by visits made after it.
        let dosage_since = |since: i64| ctx.bodega.mission_dosage(epsg.code(), MICRO_PLACE.m(), (since, shift_end));
        let this_shift = dosage_since(shift_start).await.map_err(unavailable)?;
        let day = dosage_since(shift_start - 86_400).await.map_err(unavailable)?;
        let ever = dosage_since(0).await.map_err(unavailable)?;
        // GPS presence counts too (device breadcrumbs, AVL): a place visited without a mission
        // is still dosed. The larger of the two is taken, never their sum, so a mission's own
        // visit is not counted twice.
        let cells: Vec<(i64, i64)> = ranking.places.iter().map(|p| (p.ix, p.iy)).collect();
        let windows = [(shift_start, shift_end), (shift_start - 86_400, shift_start)];
        let [gps_shift, gps_day]: [_; 2] =
            gps_dosage(ctx, epsg, &s.district, &cells, &windows, &visit_params(&ranking.rules))
                .await?
                .try_into()
                .unwrap_or_else(|_| [Default::default(), Default::default()]);
        let planned = missions_of(ctx, &s, false).await?;
        let by_cell = |rows: &[bodega::missions::CellDosage], k: (i64, i64)| {
            rows.iter()
                .find(|r| (r.ix, r.iy) == k)
                .map(|r| (r.visits, r.minutes, r.last_completed_at))
                .unwrap_or((0, 0, None))
        };
        let menu = ctx.bodega.mission_menu(false).await.map_err(unavailable)?;
        let koper = menu
            .iter()
            .find(|t| t.tactic == "directed_patrol")
            .or(menu.first())
            .ok_or_else(|| fail(ApiError::Conflict("the Mission Menu is empty: add a template first".into())))?;
        let tz = ctx.tz()?;
        let day_of = |t: i64| {
            jiff::Timestamp::from_second(t).map(|ts| ts.to_zoned(tz.clone()).date().to_string()).unwrap_or_default()
        };
        let now = jiff::Timestamp::now().as_second().min(shift_start.max(to));
        let mut proposals = Vec::new();
        for place in &ranking.places {
            let (rank, ix, iy, lat, lon, harm) = (place.rank, place.ix, place.iy, place.lat, place.lon, place.harm);
            let by = place.by_offense.clone();
            let incidents: u32 = by.values().sum::<u32>() - place.calls;
            let mut parts: Vec<(u32, String)> = by.into_iter().map(|(o, c)| (c, o)).collect();
            parts.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
            let what: Vec<String> = parts.iter().map(|(c, o)| plural(*c, o)).collect();
            let (done_shift, _, _) = by_cell(&this_shift, (ix, iy));
            let (done_day, minutes_day, _) = by_cell(&day, (ix, iy));
            let (_, _, last) = by_cell(&ever, (ix, iy));
            let GpsDosage { koper_visits: gps_koper, last_exit: gps_last_shift, .. } =
                gps_shift.get(&(ix, iy)).copied().unwrap_or_default();
            let GpsDosage { visits: gps_visits_day, minutes: gps_minutes_day, last_exit: gps_last_day, .. } =
                gps_day.get(&(ix, iy)).copied().unwrap_or_default();
            let done_shift = done_shift.max(gps_koper);
            let (done_day, minutes_day) = (done_day.max(gps_visits_day), minutes_day.max(gps_minutes_day));
            let gps_last = gps_last_shift.filter(|t| *t <= now).max(gps_last_day);
            let last_visit = match (last, gps_last) {
                (Some(m), g) if g.is_none_or(|g| m >= g) => format!("last mission visit {}", ago(now - m)),
                (_, Some(g)) => format!("last GPS visit {}", ago(now - g)),
                _ => "no visit on record".to_string(),
            };
            let h = &place.shift_hours;
            let when = if h.incidents == 0 {
                String::new()
            } else {
                format!(
                    " {} incident{} in {COMPOSITION_DAYS} days, {} of them between {} (this shift's hours).",
                    h.incidents,
                    if h.incidents == 1 { "" } else { "s" },
                    h.in_hours,
                    h.hours.replace('–', " and ")
                )
            };
            let reason = format!(
                "#{rank} by {} in {}: {} in the {window_days} days to {}; {last_visit}.{when}",
                ranking.basis.by(),
                district.name,
                what.join(", "),
                day_of(to - 1)
            );
            let already = planned
                .iter()
                .filter(|m| m.status != MissionStatus::Cancelled)
                .filter(|m| matches!(m.place, Place::Cell { ix: x, iy: y, .. } if x == ix && y == iy))
                .count();
            let rules = &ranking.rules;
            let skipped = if done_shift >= rules.target_visits {
                Some(format!("dosage target met: {done_shift} Koper visits this shift"))
            } else if done_day >= rules.cap_visits || minutes_day >= rules.cap_minutes {
                Some(format!("dosage cap reached: {done_day} visits, {minutes_day} minutes in 24 h"))
            } else if already > 0 {
                Some(format!(
                    "already planned for this shift ({already} mission{})",
                    if already == 1 { "" } else { "s" }
                ))
            } else {
                None
            };
            let (template, suggested) = match place.dominant_track() {
                Some(track) => match template_for(&menu, track) {
                    Some(t) => (t, format!("{} suits {} harm, the most here.", t.name, track.replace('_', " "))),
                    None => (koper, format!("No template lists {} harm: {}.", track.replace('_', " "), koper.name)),
                },
                None => (koper, format!("No classified harm here: {}.", koper.name)),
            };
            proposals.push(Proposal {
                rank,
                place: Place::Cell { epsg: epsg.code(), size_m: MICRO_PLACE.m(), ix, iy, lat, lon },
                place_label: place.label.clone(),
                harm,
                incidents,
                reason,
                template_id: template.id,
                template_note: suggested,
                recent_incidents: h.incidents,
                in_shift_hours: h.in_hours,
                priority: match rank {
                    1..=5 => 1,
                    6..=10 => 2,
                    _ => 3,
                },
                skipped,
            });
        }
        Ok(Recommendations {
            shift: s,
            district_name: district.name.clone(),
            window_from: day_of(from),
            window_to: day_of(to - 1),
            window_moved_to_data: ranking.window_moved_to_data,
            cell_size_m: MICRO_PLACE.m(),
            harm_table: ranking.harm_table.clone(),
            ranked_by: ranking.basis.label(),
            ranked_why: ranking.basis.why.clone(),
            track_weights: ranking.rules.weights_label(),
            proposals,
            templates: menu,
        })
    }

    /// The template a place's dominant harm track calls for: among the active templates whose
    /// crime types include it, the most specific (fewest crime types), then the first in the
    /// menu's order. A department's own templates take part like the shipped ones.
    pub fn template_for<'a>(menu: &'a [Template], track: &str) -> Option<&'a Template> {
        menu.iter().filter(|t| t.active && t.crime_types.iter().any(|c| c == track)).min_by_key(|t| t.crime_types.len())
    }

    /// Issues missions (all validated first; created together).
    ///
    /// # Errors
    /// 401/403, 422 naming the item and field, 503.
    pub async fn issue(s: ShiftRef, items: Vec<IssueItem>) -> Result<Vec<Mission>, ApiError> {
        let ctx = context()?;
        let grant =
            authorize(&ctx, Action::PlanMissions, Target::District(&s.district), &format!("issue {}", s.district))
                .await?;
        if items.is_empty() {
            return Err(fail(ApiError::invalid("items", "choose at least one mission to issue")));
        }
        if items.len() > 100 {
            return Err(fail(ApiError::invalid("items", "at most 100 missions at a time")));
        }
        let Some(area) = ctx.bodega.district_area(&s.district).await.map_err(unavailable)? else {
            return Err(fail(ApiError::invalid("district", format!("no district '{}'", s.district))));
        };
        // A micro place's cell is what dosage, presence and the map read, so the server derives
        // it from the place's coordinates, in the lattice the district's recommendations use
        // (a cell sent from another district would put its dosage there).
        let (w, so, e, n) = area.bbox;
        let epsg = hotspot::Epsg::for_lon_lat((w + e) / 2.0, (so + n) / 2.0).map_err(unavailable)?;
        let lattice = hotspot::Lattice::of(epsg, MICRO_PLACE);
        let mut items = items;
        for (i, item) in items.iter_mut().enumerate() {
            let (lat, lon) = item.place.centre();
            let outside = || {
                fail(ApiError::invalid(
                    "place",
                    format!("mission {}: {lat:.5}, {lon:.5} is outside {}", i + 1, area.name),
                ))
            };
            if !(lat.is_finite() && lon.is_finite()) {
                continue; // refused by the store, naming the field
            }
            // Every place must lie in the district it is issued for (and so in the city): a
            // point or segment by its centre; a cell by any part of it, since a cell on the
            // district's edge ranks by the incidents inside and its centre may lie outside.
            if let Place::Cell { .. } = item.place {
                let key = lattice.key_of(lon, lat).map_err(|e| {
                    fail(ApiError::invalid("place", format!("mission {}: {lat:.5}, {lon:.5}: {e}", i + 1)))
                })?;
                let b = lattice.bounds(key);
                let ring: Vec<(f64, f64)> =
                    [(b.min().x, b.min().y), (b.max().x, b.min().y), (b.max().x, b.max().y), (b.min().x, b.max().y)]
                        .into_iter()
                        .map(|(x, y)| lattice.utm().inverse(x, y))
                        .collect();
                if !area.area.intersects(&geo::Polygon::new(geo::LineString::from(ring), vec![])) {
                    return Err(outside());
                }
                item.place =
                    Place::Cell { epsg: key.epsg.code(), size_m: key.size_m, ix: key.ix, iy: key.iy, lat, lon };
            } else if !area.area.contains(&geo::Point::new(lon, lat)) {
                return Err(outside());
            }
        }
        runs_that_day(&ctx, &s).await?;
        let (start, end) = shift_window(&ctx, &s).await?;
        let (pattern, date) = crate::shift::ssr::pattern_of(&ctx, &s).await?;
        let tz = ctx.tz()?;
        // Every window checked and every place named before the first mission is written.
        let mut windows = Vec::with_capacity(items.len());
        for (i, item) in items.iter_mut().enumerate() {
            windows.push(match &item.window {
                None => (start, end),
                Some((from, until)) => crate::shift::ssr::window_within(&pattern, date, &tz, from, until)
                    .map_err(|e| fail(ApiError::invalid("window", format!("mission {}: {e}", i + 1))))?,
            });
            // A place the planner chose by hand is named like the ranked ones.
            if item.place_label.trim().is_empty() {
                let (lat, lon) = item.place.centre();
                item.place_label = place_name(&ctx, &area, lat, lon).await?;
            }
        }
        let subject = grant.user().subject();
        let mut created = Vec::with_capacity(items.len());
        for (i, (item, (start, end))) in items.into_iter().zip(windows).enumerate() {
            let new = NewMission {
                id: item.id,
                template_id: item.template_id,
                district: s.district.clone(),
                shift: s.shift.clone(),
                shift_date: s.shift_date.clone(),
                window_start: start,
                window_end: end,
                place: item.place,
                place_label: item.place_label,
                priority: item.priority,
                instructions: item.instructions,
                reason: item.reason,
                issue: true,
            };
            match ctx.bodega.create_mission(&new, &subject, grant.caller.device_id.as_deref()).await {
                Ok(m) => created.push(m),
                Err(MissionError::Invalid { field, reason }) => {
                    return Err(fail(ApiError::invalid(field, format!("mission {}: {reason}", i + 1))));
                }
                Err(e) => return Err(from_mission_error(e)),
            }
        }
        Ok(created)
    }

    /// The name of the micro place holding a point: its block and neighbourhood, else the
    /// district and grid reference (what a place chosen by hand is called).
    ///
    /// # Errors
    /// 422 for a point off the lattice; 503.
    pub async fn place_name(
        ctx: &ServerContext,
        area: &bodega::missions::DistrictArea,
        lat: f64,
        lon: f64,
    ) -> Result<String, ApiError> {
        let (w, so, e, n) = area.bbox;
        let epsg = hotspot::Epsg::for_lon_lat((w + e) / 2.0, (so + n) / 2.0).map_err(unavailable)?;
        let key = hotspot::Lattice::of(epsg, MICRO_PLACE)
            .key_of(lon, lat)
            .map_err(|e| fail(ApiError::invalid("place", e.to_string())))?;
        let names = ctx.bodega.place_names(epsg.code(), MICRO_PLACE, &[(key.ix, key.iy)]).await.map_err(unavailable)?;
        Ok(names
            .get(&(key.ix, key.iy))
            .map(bodega::places::PlaceName::label)
            .filter(|l| !l.is_empty())
            .unwrap_or_else(|| bodega::places::fallback_label(&area.code, key.ix, key.iy)))
    }

    /// A mission edited before acknowledgement; audited with what changed.
    ///
    /// # Errors
    /// 401/403 (another district's); 404; 409 changed since read; 422 naming the field (a
    /// window outside the shift, acknowledged already); 503.
    pub async fn edit(c: super::MissionChange) -> Result<Mission, ApiError> {
        let ctx = context()?;
        let what = format!("mission {}", c.id.chars().take(64).collect::<String>());
        let (m, grant) = gated_mission(&ctx, &c.id, Action::PlanMissions, in_district, &what).await?;
        let s = ShiftRef { district: m.district.clone(), shift: m.shift.clone(), shift_date: m.shift_date.clone() };
        let (window_start, window_end) = match &c.window {
            None => (m.window_start, m.window_end),
            Some((from, until)) => {
                let (pattern, date) = crate::shift::ssr::pattern_of(&ctx, &s).await?;
                crate::shift::ssr::window_within(&pattern, date, &ctx.tz()?, from, until)
                    .map_err(|e| fail(ApiError::invalid("window", e)))?
            }
        };
        let edit = protocol::mission::MissionEdit {
            template_id: c.template_id,
            priority: c.priority,
            instructions: c.instructions,
            place_label: c.place_label,
            window_start,
            window_end,
        };
        let result = ctx.bodega.edit_mission(&c.id, c.expected_version, &edit, grant.user().id).await;
        let (outcome, detail) = match &result {
            Ok(after) => {
                (bodega::audit::Outcome::Success, format!("edited before acknowledgement (version {})", after.version))
            }
            Err(e) => (bodega::audit::Outcome::Failure, e.to_string()),
        };
        grant.audit(&ctx, &what, outcome, &detail).await?;
        result.map_err(from_mission_error)
    }

    /// A district's shift board.
    ///
    /// # Errors
    /// 401/403, 503.
    pub async fn board(s: ShiftRef) -> Result<Board, ApiError> {
        let ctx = context()?;
        let grant =
            authorize(&ctx, Action::ViewMissions, Target::District(&s.district), &format!("board {}", s.district))
                .await?;
        let subject = grant.user().subject();
        let may = |a| protocol::policy::decide(&subject, a, Target::District(&s.district)).is_allowed();
        let rights = BoardRights {
            acknowledge: may(Action::AcknowledgeMission),
            assign: may(Action::AssignMission),
            review: may(Action::ReviewMission),
            cancel: may(Action::CancelMission),
            approve: may(Action::PlanMissions),
        };
        let missions = missions_of(&ctx, &s, true).await?;
        let officers = ctx.bodega.district_officers(&s.district).await.map_err(unavailable)?;
        let ids: Vec<String> = missions.iter().map(|m| m.id.clone()).collect();
        let feedback = ctx.bodega.mission_feedback(&ids).await.map_err(unavailable)?;
        // The district's waiting proposals, for whoever may decide them.
        let proposals = if rights.approve {
            let mut all = ctx.bodega.district_proposals(&s.district).await.map_err(unavailable)?;
            all.retain(|p| p.status == protocol::mission::ProposalStatus::Pending);
            all
        } else {
            Vec::new()
        };
        let templates =
            if rights.approve { ctx.bodega.mission_menu(false).await.map_err(unavailable)? } else { Vec::new() };
        Ok(Board { shift: s, missions, officers, rights, feedback, proposals, templates })
    }

    /// The caller's missions.
    ///
    /// # Errors
    /// 401/403, 503.
    pub async fn mine() -> Result<Vec<Mission>, ApiError> {
        let ctx = context()?;
        let grant = authorize(&ctx, Action::ViewMissions, Target::Own, "/api/missions/mine").await?;
        let mut missions = ctx
            .bodega
            .missions(&bodega::missions::MissionFilter {
                assignee_user_id: Some(grant.user().id),
                exclude_drafts: true,
                ..Default::default()
            })
            .await
            .map_err(unavailable)?;
        missions.retain(|m| m.status != MissionStatus::Cancelled);
        Ok(missions)
    }

    /// A mission for `action`, with the grant: an unknown id is gated like any other (no probing
    /// without the action's grant) and answers 404; a known one is authorized against
    /// `target(&mission)` ([`in_district`] or [`assignment`]).
    ///
    /// # Errors
    /// 401/403, 404, 503.
    pub async fn gated_mission(
        ctx: &ServerContext,
        id: &str,
        action: Action,
        target: for<'m> fn(&'m Mission) -> Target<'m>,
        what: &str,
    ) -> Result<(Mission, crate::auth::ssr::Grant), ApiError> {
        let Some(m) = ctx.bodega.mission(id).await.map_err(unavailable)? else {
            authorize(ctx, action, Target::Reference, what).await?;
            return Err(fail(ApiError::NotFound(format!("no mission {id}"))));
        };
        let grant = authorize(ctx, action, target(&m), what).await?;
        Ok((m, grant))
    }

    /// A mission's district: what planners act on.
    pub fn in_district(m: &Mission) -> Target<'_> {
        Target::District(&m.district)
    }

    /// A mission's district and assignee: what the lifecycle's steps act on.
    pub fn assignment(m: &Mission) -> Target<'_> {
        Target::Assignment { district: &m.district, assignee: m.assignee_user_id }
    }

    /// A mission's recorded steps.
    ///
    /// # Errors
    /// 401/403, 404, 503.
    pub async fn events(id: String) -> Result<Vec<protocol::mission::MissionEvent>, ApiError> {
        let ctx = context()?;
        gated_mission(&ctx, &id, Action::ViewMissions, assignment, &format!("mission {id}")).await?;
        ctx.bodega.mission_events(&id).await.map_err(unavailable)
    }

    /// One lifecycle step.
    ///
    /// # Errors
    /// 401/403 (policy), 404, 409 (not from this status, stale version), 422 (details), 503.
    pub async fn transition_mission(
        id: String,
        step: Transition,
        mut args: TransitionArgs,
    ) -> Result<Mission, ApiError> {
        let ctx = context()?;
        let (_, grant) = gated_mission(&ctx, &id, step.action(), assignment, &format!("mission {id}")).await?;
        // An online step happens here and now: the device is the one the session is tied to
        // (or none) and the time is the server's, never what the body claims (another user's
        // device id, a time in year 1). Offline steps carry their device's time through sync.
        args.device_id = grant.caller.device_id.clone();
        args.device_time = None;
        ctx.bodega.transition_mission(&id, step, &grant.user().subject(), &args).await.map_err(from_mission_error)
    }
}
