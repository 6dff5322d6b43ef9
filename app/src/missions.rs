//! Missions over the wire: the Mission Menu, recommendations for a district's shift, issuing,
//! the sergeant's board, the officer's list, and every lifecycle step. Each server function has
//! a fixed URL under `/api/missions/`, passes the one gate (`auth::ssr::authorize`) with its
//! policy action, and answers bad input with a field-level [`ApiError::Invalid`].

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use protocol::menu::{Template, TemplateDraft};
use protocol::mission::{Mission, Place, TransitionArgs};
use protocol::Transition;
use serde::{Deserialize, Serialize};

use crate::api::ApiError;

/// Which shift of which district, on which day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShiftRef {
    /// District code.
    pub district: String,
    /// Shift code.
    pub shift: String,
    /// Local date the shift starts, `YYYY-MM-DD`.
    pub shift_date: String,
}

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
    /// Suggested template (the latest version of the Koper visit).
    pub template_id: i64,
    /// Suggested priority (1 for the top five, 2 for the next five, else 3).
    pub priority: i64,
    /// Why this place is not proposed (dosage target met, cap reached, already planned).
    pub skipped: Option<String>,
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
    /// Proposals, best first (skipped ones carry their reason).
    pub proposals: Vec<Proposal>,
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
}

/// The server functions' list (for the authorization matrix).
pub const ENDPOINTS: &[(&str, crate::api::Access)] = &[
    ("/api/missions/menu", Some(protocol::Action::ViewMissions)),
    ("/api/missions/menu/save", Some(protocol::Action::ManageMenu)),
    ("/api/missions/shifts", Some(protocol::Action::ViewMissions)),
    ("/api/missions/recommend", Some(protocol::Action::PlanMissions)),
    ("/api/missions/issue", Some(protocol::Action::PlanMissions)),
    ("/api/missions/board", Some(protocol::Action::ViewMissions)),
    ("/api/missions/mine", Some(protocol::Action::ViewMissions)),
    ("/api/missions/transition", Some(protocol::Action::WorkMission)),
    ("/api/missions/events", Some(protocol::Action::ViewMissions)),
];

/// One recorded step of a mission: its audit trail and sync log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissionEventView {
    /// `create`, `issue`, `acknowledge`, …
    pub transition: String,
    /// Status before.
    pub from_status: Option<String>,
    /// Status after.
    pub to_status: String,
    /// Who (user id).
    pub actor_user_id: i64,
    /// From which device.
    pub device_id: Option<String>,
    /// Server clock, UTC seconds.
    pub server_time: i64,
    /// Device clock, UTC seconds.
    pub device_time: Option<i64>,
}

/// A mission's recorded steps, oldest first.
#[server(prefix = "/api", endpoint = "missions/events", input = Json)]
pub async fn mission_events(id: String) -> Result<Vec<MissionEventView>, ApiError> {
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

/// The shift patterns and the districts the caller may plan or view.
#[server(prefix = "/api", endpoint = "missions/shifts", input = Json)]
pub async fn get_shifts() -> Result<ShiftOptions, ApiError> {
    ssr::shifts().await
}

/// Shift patterns and districts for the pickers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShiftOptions {
    /// (code, name, starts, ends).
    pub shifts: Vec<(String, String, String, String)>,
    /// (code, name) of the districts the caller may see.
    pub districts: Vec<(String, String)>,
    /// Today's local date in the department's zone.
    pub today: String,
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
pub async fn move_mission(id: String, step: Transition, args: TransitionArgs) -> Result<Mission, ApiError> {
    ssr::transition(id, step, args).await
}

/// Server side.
#[cfg(feature = "ssr")]
pub mod ssr {
    use std::collections::{BTreeMap, HashMap};

    use bodega::missions::{MissionError, MissionFilter, NewMission};
    use geo::Contains;
    use hotspot::{Epsg, Lattice};
    use protocol::menu::{Template, TemplateDraft};
    use protocol::mission::{Mission, Place, TransitionArgs};
    use protocol::policy::Target;
    use protocol::{Action, MissionStatus, Transition};

    use super::{Board, BoardRights, IssueItem, Proposal, Recommendations, ShiftOptions, ShiftRef};
    use crate::api::{ApiError, ServerContext};
    use crate::auth::ssr::{authorize, context, respond_with};

    /// Micro-place cell size for missions, metres.
    pub const MICRO_PLACE_M: u32 = 150;
    /// Days of history that rank the places.
    pub const WINDOW_DAYS: i64 = 28;
    /// Places considered per district and shift.
    pub const TOP_PLACES: usize = 20;
    /// Dosage target: completed Koper visits per place per shift.
    pub const TARGET_VISITS: i64 = 3;
    /// Dosage cap per place per 24 hours: visits…
    pub const CAP_VISITS: i64 = 6;
    /// …or minutes.
    pub const CAP_MINUTES: i64 = 90;

    fn fail(e: ApiError) -> ApiError {
        respond_with(&e);
        e
    }

    fn unavailable(e: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %e, "mission store failed");
        fail(ApiError::Unavailable("the query failed; the server log has the details".into()))
    }

    fn from_mission_error(e: MissionError) -> ApiError {
        fail(match e {
            MissionError::Invalid { field, reason } => ApiError::invalid(field, reason),
            MissionError::NotFound(m) => ApiError::NotFound(m),
            MissionError::Stale { .. } => ApiError::Conflict(e.to_string()),
            MissionError::Transition(protocol::TransitionError::Forbidden(m)) => ApiError::Forbidden(m),
            MissionError::Transition(t) => ApiError::Conflict(t.to_string()),
            MissionError::Store(s) => return unavailable(s),
        })
    }

    fn tz(ctx: &ServerContext) -> Result<jiff::tz::TimeZone, ApiError> {
        jiff::tz::TimeZone::get(&ctx.time_zone).map_err(unavailable)
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

    /// Shift patterns and the caller's districts.
    ///
    /// # Errors
    /// 401/403; 503.
    pub async fn shifts() -> Result<ShiftOptions, ApiError> {
        let ctx = context()?;
        let grant = authorize(&ctx, Action::ViewMissions, Target::Reference, "/api/missions/shifts").await?;
        let subject = grant.user().subject();
        let shifts = ctx.bodega.shifts().await.map_err(unavailable)?;
        let districts = ctx.bodega.districts().await.map_err(unavailable)?;
        let tz = tz(&ctx)?;
        Ok(ShiftOptions {
            shifts: shifts.into_iter().map(|s| (s.code, s.name, s.starts_local, s.ends_local)).collect(),
            districts: districts
                .into_iter()
                .filter(|(_, _, kind)| kind == "district")
                .filter(|(code, _, _)| {
                    protocol::policy::decide(&subject, Action::ViewMissions, Target::District(code)).is_allowed()
                        || protocol::policy::decide(&subject, Action::PlanMissions, Target::District(code)).is_allowed()
                })
                .map(|(code, name, _)| (code, name))
                .collect(),
            today: jiff::Timestamp::now().to_zoned(tz).date().to_string(),
        })
    }

    /// A shift's window in UTC seconds, from its pattern and date.
    pub(crate) async fn shift_window(ctx: &ServerContext, s: &ShiftRef) -> Result<(i64, i64), ApiError> {
        let shifts = ctx.bodega.shifts().await.map_err(unavailable)?;
        let pattern = shifts
            .iter()
            .find(|p| p.code == s.shift)
            .ok_or_else(|| fail(ApiError::invalid("shift", format!("no shift '{}'", s.shift))))?;
        let date = jiff::civil::Date::strptime("%Y-%m-%d", &s.shift_date).map_err(|_| {
            fail(ApiError::invalid("shift_date", format!("'{}' is not a date (YYYY-MM-DD)", s.shift_date)))
        })?;
        let parse = |t: &str| jiff::civil::Time::strptime("%H:%M", t);
        let (Ok(start), Ok(end)) = (parse(&pattern.starts_local), parse(&pattern.ends_local)) else {
            return Err(unavailable(format!("shift {} has unreadable times", pattern.code)));
        };
        let tz = tz(ctx)?;
        let begin = date.to_datetime(start).to_zoned(tz.clone()).map_err(unavailable)?;
        let end_date = if end <= start { date.tomorrow().map_err(unavailable)? } else { date };
        let finish = end_date.to_datetime(end).to_zoned(tz).map_err(unavailable)?;
        Ok((begin.timestamp().as_second(), finish.timestamp().as_second()))
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
        let district = ctx
            .bodega
            .district_area(&s.district)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| fail(ApiError::NotFound(format!("no district '{}'", s.district))))?;
        let (shift_start, shift_end) = shift_window(ctx, &s).await?;
        let summary = ctx.bodega.city_summary().await.map_err(unavailable)?;
        let data_end = summary.last_at.map(|t| t + 1).unwrap_or(shift_start);
        let window_moved_to_data = data_end < shift_start;
        let to = shift_start.min(data_end);
        let from = to - WINDOW_DAYS * 86_400;
        let (w, so, e, n) = district.bbox;
        let filter =
            bodega::queries::Filter { from: Some(from), to: Some(to), bbox: Some((w, so, e, n)), ..Default::default() };
        let points = ctx.bodega.mappable_incidents(&filter).await.map_err(unavailable)?;
        let epsg = Epsg::for_lon_lat((w + e) / 2.0, (so + n) / 2.0).map_err(unavailable)?;
        let lattice = Lattice::new(epsg, MICRO_PLACE_M).map_err(unavailable)?;
        let table = ctx.bodega.active_harm_table().await.map_err(unavailable)?;
        // Per cell: harm and incidents by offence.
        let mut cells: HashMap<(i64, i64), (f64, BTreeMap<String, u32>)> = HashMap::new();
        for (lon, lat, _t, offense) in points {
            if !district.area.contains(&geo::Point::new(lon, lat)) {
                continue;
            }
            let Ok(key) = lattice.key_of(lon, lat) else { continue };
            let entry = cells.entry((key.ix, key.iy)).or_default();
            entry.0 += table.weigh(&offense).unwrap_or(0.0);
            *entry.1.entry(offense).or_default() += 1;
        }
        type Ranked = ((i64, i64), f64, BTreeMap<String, u32>);
        let mut ranked: Vec<Ranked> = cells.into_iter().map(|(k, (h, by))| (k, h, by)).collect();
        ranked.sort_by(|a, b| {
            b.1.total_cmp(&a.1)
                .then_with(|| b.2.values().sum::<u32>().cmp(&a.2.values().sum::<u32>()))
                .then_with(|| a.0.cmp(&b.0))
        });
        ranked.truncate(TOP_PLACES);

        // Dosage: completed this shift, completed in the last 24 h, and already planned.
        let this_shift =
            ctx.bodega.mission_dosage(epsg.code(), MICRO_PLACE_M, shift_start).await.map_err(unavailable)?;
        let day =
            ctx.bodega.mission_dosage(epsg.code(), MICRO_PLACE_M, shift_start - 86_400).await.map_err(unavailable)?;
        let ever = ctx.bodega.mission_dosage(epsg.code(), MICRO_PLACE_M, 0).await.map_err(unavailable)?;
        // GPS presence counts too (device breadcrumbs, AVL): a place visited without a mission
        // is still dosed. The larger of the two is taken, never their sum, so a mission's own
        // visit is not counted twice.
        let cells: Vec<(i64, i64)> = ranked.iter().map(|r| r.0).collect();
        let windows = [(shift_start, shift_end), (shift_start - 86_400, shift_start)];
        let [gps_shift, gps_day]: [_; 2] = crate::presence::ssr::gps_dosage(ctx, epsg, &cells, &windows)
            .await?
            .try_into()
            .unwrap_or_else(|_| [Default::default(), Default::default()]);
        let planned = ctx
            .bodega
            .missions(&MissionFilter {
                district: Some(s.district.clone()),
                shift: Some(s.shift.clone()),
                shift_date: Some(s.shift_date.clone()),
                ..Default::default()
            })
            .await
            .map_err(unavailable)?;
        let by_cell = |rows: &[bodega::missions::CellDosage], k: (i64, i64)| {
            rows.iter()
                .find(|r| (r.ix, r.iy) == k)
                .map(|r| (r.visits, r.minutes, r.last_completed_at))
                .unwrap_or((0, 0, None))
        };
        let menu = ctx.bodega.mission_menu(false).await.map_err(unavailable)?;
        let template = menu
            .iter()
            .find(|t| t.tactic == "directed_patrol")
            .or(menu.first())
            .ok_or_else(|| fail(ApiError::Conflict("the Mission Menu is empty: add a template first".into())))?;
        let tz = tz(ctx)?;
        let day_of = |t: i64| {
            jiff::Timestamp::from_second(t).map(|ts| ts.to_zoned(tz.clone()).date().to_string()).unwrap_or_default()
        };
        let now = jiff::Timestamp::now().as_second().min(shift_start.max(to));
        let mut proposals = Vec::new();
        for (i, ((ix, iy), harm, by)) in ranked.into_iter().enumerate() {
            let rank = i as u32 + 1;
            let key = hotspot::CellKey { epsg, size_m: MICRO_PLACE_M, ix, iy };
            let b = lattice.bounds(key);
            let (cx, cy) = ((b.min().x + b.max().x) / 2.0, (b.min().y + b.max().y) / 2.0);
            let (lon, lat) = lattice.utm().inverse(cx, cy);
            let incidents: u32 = by.values().sum();
            let mut parts: Vec<(u32, String)> = by.into_iter().map(|(o, c)| (c, o)).collect();
            parts.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
            let what: Vec<String> = parts.iter().map(|(c, o)| plural(*c, o)).collect();
            let (done_shift, _, _) = by_cell(&this_shift, (ix, iy));
            let (done_day, minutes_day, _) = by_cell(&day, (ix, iy));
            let (_, _, last) = by_cell(&ever, (ix, iy));
            let none = (0, 0, 0, None);
            let (gps_koper, _, _, gps_last_shift) = gps_shift.get(&(ix, iy)).copied().unwrap_or(none);
            let (_, gps_visits_day, gps_minutes_day, gps_last_day) = gps_day.get(&(ix, iy)).copied().unwrap_or(none);
            let done_shift = done_shift.max(gps_koper);
            let (done_day, minutes_day) = (done_day.max(gps_visits_day), minutes_day.max(gps_minutes_day));
            let gps_last = gps_last_shift.filter(|t| *t <= now).max(gps_last_day);
            let last_visit = match (last, gps_last) {
                (Some(m), g) if g.is_none_or(|g| m >= g) => format!("last mission visit {}", ago(now - m)),
                (_, Some(g)) => format!("last GPS visit {}", ago(now - g)),
                _ => "no visit on record".to_string(),
            };
            let reason = format!(
                "#{rank} by harm in {}: {} in the {WINDOW_DAYS} days to {}; {last_visit}.",
                district.name,
                what.join(", "),
                day_of(to - 1)
            );
            let already = planned
                .iter()
                .filter(|m| m.status != MissionStatus::Cancelled)
                .filter(|m| matches!(m.place, Place::Cell { ix: x, iy: y, .. } if x == ix && y == iy))
                .count();
            let skipped = if done_shift >= TARGET_VISITS {
                Some(format!("dosage target met: {done_shift} Koper visits this shift"))
            } else if done_day >= CAP_VISITS || minutes_day >= CAP_MINUTES {
                Some(format!("dosage cap reached: {done_day} visits, {minutes_day} minutes in 24 h"))
            } else if already > 0 {
                Some(format!(
                    "already planned for this shift ({already} mission{})",
                    if already == 1 { "" } else { "s" }
                ))
            } else {
                None
            };
            proposals.push(Proposal {
                rank,
                place: Place::Cell { epsg: epsg.code(), size_m: MICRO_PLACE_M, ix, iy, lat, lon },
                place_label: format!("{} cell {ix}/{iy}", district.code),
                harm,
                incidents,
                reason,
                template_id: template.id,
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
            district_name: district.name,
            window_from: day_of(from),
            window_to: day_of(to - 1),
            window_moved_to_data,
            cell_size_m: MICRO_PLACE_M,
            harm_table: table.version().to_string(),
            proposals,
        })
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
        // Every place must lie in the district it is issued for (and so in the city).
        for (i, item) in items.iter().enumerate() {
            let (lat, lon) = item.place.centre();
            if lat.is_finite() && lon.is_finite() && !area.area.contains(&geo::Point::new(lon, lat)) {
                return Err(fail(ApiError::invalid(
                    "place",
                    format!("mission {}: {lat:.5}, {lon:.5} is outside {}", i + 1, area.name),
                )));
            }
        }
        let (start, end) = shift_window(&ctx, &s).await?;
        let subject = grant.user().subject();
        let mut created = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
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
        };
        let missions = ctx
            .bodega
            .missions(&MissionFilter {
                district: Some(s.district.clone()),
                shift: Some(s.shift.clone()),
                shift_date: Some(s.shift_date.clone()),
                exclude_drafts: true,
                ..Default::default()
            })
            .await
            .map_err(unavailable)?;
        let officers = ctx.bodega.district_officers(&s.district).await.map_err(unavailable)?;
        Ok(Board { shift: s, missions, officers, rights })
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
            .missions(&MissionFilter {
                assignee_user_id: Some(grant.user().id),
                exclude_drafts: true,
                ..Default::default()
            })
            .await
            .map_err(unavailable)?;
        missions.retain(|m| m.status != MissionStatus::Cancelled);
        Ok(missions)
    }

    /// A mission's recorded steps.
    ///
    /// # Errors
    /// 401/403, 404, 503.
    pub async fn events(id: String) -> Result<Vec<super::MissionEventView>, ApiError> {
        let ctx = context()?;
        let Some(m) = ctx.bodega.mission(&id).await.map_err(unavailable)? else {
            authorize(&ctx, Action::ViewMissions, Target::Reference, &format!("mission {id}")).await?;
            return Err(fail(ApiError::NotFound(format!("no mission {id}"))));
        };
        let target = Target::Assignment { district: &m.district, assignee: m.assignee_user_id };
        authorize(&ctx, Action::ViewMissions, target, &format!("mission {id}")).await?;
        let events = ctx.bodega.mission_events(&id).await.map_err(unavailable)?;
        Ok(events
            .into_iter()
            .map(|e| super::MissionEventView {
                transition: e.transition,
                from_status: e.from_status,
                to_status: e.to_status,
                actor_user_id: e.actor_user_id,
                device_id: e.device_id,
                server_time: e.server_time,
                device_time: e.device_time,
            })
            .collect())
    }

    /// One lifecycle step.
    ///
    /// # Errors
    /// 401/403 (policy), 404, 409 (not from this status, stale version), 422 (details), 503.
    pub async fn transition(id: String, step: Transition, mut args: TransitionArgs) -> Result<Mission, ApiError> {
        let ctx = context()?;
        let Some(m) = ctx.bodega.mission(&id).await.map_err(unavailable)? else {
            // Unknown ids are gated like any other: no probing without the step's grant.
            authorize(&ctx, step.action(), Target::Reference, &format!("mission {id}")).await?;
            return Err(fail(ApiError::NotFound(format!("no mission {id}"))));
        };
        let target = Target::Assignment { district: &m.district, assignee: m.assignee_user_id };
        let grant = authorize(&ctx, step.action(), target, &format!("mission {id}")).await?;
        if args.device_id.is_none() {
            args.device_id = grant.caller.device_id.clone();
        }
        ctx.bodega.transition_mission(&id, step, &grant.user().subject(), &args).await.map_err(from_mission_error)
    }
}
