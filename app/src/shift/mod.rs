//! Shifts: which shift of which district on which day ([`ShiftRef`]), the shift patterns and
//! districts a user may pick (`GET /api/missions/shifts`), and on the server what missions and
//! presence both stand on: a shift's window in time, the missions of a shift, the dosage rules,
//! which ranking each district uses ([`choice`]), the district's places ranked by it for a
//! shift ([`ranking`]) and patrol dosage from GPS
//! ([`dosage`]).

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};

use crate::error::{Access, ApiError};

pub mod choice;
#[cfg(feature = "ssr")]
pub mod dosage;
#[cfg(feature = "ssr")]
pub mod ranking;

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

/// Where a track of GPS fixes came from: an officer's device through the sync, or a feed an
/// analyst loaded (AVL, an MDM export; `server ingest gps` or the upload screen).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum GpsSource {
    /// A device's breadcrumbs.
    Device,
    /// A loaded feed.
    Feed,
}

impl GpsSource {
    /// In words, for the dashboard.
    pub fn label(self) -> &'static str {
        match self {
            GpsSource::Device => "device",
            GpsSource::Feed => "AVL feed",
        }
    }
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

/// Days of history that rank the places.
pub const WINDOW_DAYS: i64 = 28;

/// The shift picker's server function.
pub const ENDPOINTS: &[(&str, Access)] = &[("/api/missions/shifts", Some(protocol::Action::ViewMissions))];

/// The shift patterns and the districts the caller may plan or view.
#[server(prefix = "/api", endpoint = "missions/shifts", input = Json)]
pub async fn get_shifts() -> Result<ShiftOptions, ApiError> {
    ssr::shifts().await
}

/// Server side: shift patterns, a shift's window, the missions of a shift.
#[cfg(feature = "ssr")]
pub mod ssr {
    use bodega::missions::MissionFilter;
    use protocol::mission::Mission;
    use protocol::policy::Target;
    use protocol::Action;

    use super::{ShiftOptions, ShiftRef};
    use crate::auth::ssr::authorize;
    use crate::context::{context, fail, unavailable, ServerContext};
    use crate::error::ApiError;

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
            today: ctx.today().await?.to_string(),
        })
    }

    /// A shift's window in UTC seconds, from its pattern and date.
    ///
    /// # Errors
    /// 422 naming `shift` or `shift_date`; 503.
    pub async fn shift_window(ctx: &ServerContext, s: &ShiftRef) -> Result<(i64, i64), ApiError> {
        let (pattern, date) = pattern_of(ctx, s).await?;
        window_of(&pattern, date, &ctx.tz()?).map_err(unavailable)
    }

    pub(crate) async fn pattern_of(
        ctx: &ServerContext,
        s: &ShiftRef,
    ) -> Result<(protocol::setup::ShiftPattern, jiff::civil::Date), ApiError> {
        let shifts = ctx.bodega.shifts().await.map_err(unavailable)?;
        let pattern = shifts
            .into_iter()
            .find(|p| p.code == s.shift)
            .ok_or_else(|| fail(ApiError::invalid("shift", format!("no shift '{}'", s.shift))))?;
        Ok((pattern, crate::context::parse_day("shift_date", &s.shift_date)?))
    }

    /// Refuses to plan a shift on a day it does not run. Only planning asks: the board and
    /// presence of a past day stay readable after a shift's days change.
    ///
    /// # Errors
    /// 422 naming `shift`; as [`shift_window`].
    pub async fn runs_that_day(ctx: &ServerContext, s: &ShiftRef) -> Result<(), ApiError> {
        let (pattern, date) = pattern_of(ctx, s).await?;
        let weekday = date.weekday().to_monday_zero_offset();
        if pattern.days.has(u8::try_from(weekday).unwrap_or(7)) {
            return Ok(());
        }
        Err(fail(ApiError::invalid(
            "shift",
            format!(
                "shift {} does not run on {} {} (it runs {})",
                pattern.code,
                protocol::setup::DAY_NAMES[usize::try_from(weekday).unwrap_or(0) % 7],
                s.shift_date,
                pattern.days.label()
            ),
        )))
    }

    /// The instants a pattern's shift starting on `date` begins and ends, in `tz`: wall-clock
    /// times, so on a daylight-saving day a shift spanning the change is an hour shorter or
    /// longer; a time the clocks skip is read as the instant after the gap (jiff's
    /// "compatible" rule, as RFC 5545 calendars do).
    ///
    /// # Errors
    /// Unreadable stored times, or a date at the end of the calendar.
    pub fn window_of(
        pattern: &protocol::setup::ShiftPattern,
        date: jiff::civil::Date,
        tz: &jiff::tz::TimeZone,
    ) -> Result<(i64, i64), String> {
        let parse = |t: &str| jiff::civil::Time::strptime("%H:%M", t);
        let (Ok(start), Ok(end)) = (parse(&pattern.starts_local), parse(&pattern.ends_local)) else {
            return Err(format!("shift {} has unreadable times", pattern.code));
        };
        let begin = date.to_datetime(start).to_zoned(tz.clone()).map_err(|e| e.to_string())?;
        let end_date = if end <= start { date.tomorrow().map_err(|e| e.to_string())? } else { date };
        let finish = end_date.to_datetime(end).to_zoned(tz.clone()).map_err(|e| e.to_string())?;
        Ok((begin.timestamp().as_second(), finish.timestamp().as_second()))
    }

    /// A part of a shift, `from` to `until` local wall-clock times ("16:00", "18:00"), as
    /// instants: each the first such time at or after the shift begins (so a night shift's
    /// "01:00" is the next morning's). A mission's time window.
    ///
    /// # Errors
    /// A time that does not read as `HH:MM`, or a window that does not lie within the shift
    /// (or ends before it starts), in words naming the shift's hours.
    pub fn window_within(
        pattern: &protocol::setup::ShiftPattern,
        date: jiff::civil::Date,
        tz: &jiff::tz::TimeZone,
        from: &str,
        until: &str,
    ) -> Result<(i64, i64), String> {
        let (begin, finish) = window_of(pattern, date, tz)?;
        let at_or_after = |t: &str, not_before: i64| -> Result<i64, String> {
            let time = jiff::civil::Time::strptime("%H:%M", t.trim())
                .map_err(|_| format!("'{t}' is not a time of day (HH:MM)"))?;
            let mut day = date;
            for _ in 0..3 {
                let at = day.to_datetime(time).to_zoned(tz.clone()).map_err(|e| e.to_string())?.timestamp().as_second();
                if at >= not_before {
                    return Ok(at);
                }
                day = day.tomorrow().map_err(|e| e.to_string())?;
            }
            Err(format!("'{t}' is not within the shift"))
        };
        let start = at_or_after(from, begin)?;
        let end = at_or_after(until, start + 1)?;
        if end > finish {
            return Err(format!(
                "{}–{} is not within shift {} ({}–{})",
                from.trim(),
                until.trim(),
                pattern.code,
                pattern.starts_local,
                pattern.ends_local
            ));
        }
        Ok((start, end))
    }

    /// The dosage rules in force (command sets them on the patrol rules screen; Beatbook's
    /// defaults until then).
    ///
    /// # Errors
    /// 503.
    pub async fn dosage_rules(ctx: &ServerContext) -> Result<protocol::setup::DosageRules, ApiError> {
        Ok(ctx.bodega.dosage_rules().await.map_err(unavailable)?.rules)
    }

    /// What counts as a Koper visit under `rules` (the other visit rules are the scoring
    /// core's).
    pub fn visit_params(rules: &protocol::setup::DosageRules) -> hotspot::VisitParams {
        hotspot::VisitParams {
            koper_min_s: rules.koper_min_minutes * 60,
            koper_max_s: rules.koper_max_minutes * 60,
            ..Default::default()
        }
    }

    /// The missions of a district's shift (drafts left out when `without_drafts`).
    ///
    /// # Errors
    /// 503.
    pub async fn missions_of(
        ctx: &ServerContext,
        s: &ShiftRef,
        without_drafts: bool,
    ) -> Result<Vec<Mission>, ApiError> {
        ctx.bodega
            .missions(&MissionFilter {
                district: Some(s.district.clone()),
                shift: Some(s.shift.clone()),
                shift_date: Some(s.shift_date.clone()),
                exclude_drafts: without_drafts,
                ..Default::default()
            })
            .await
            .map_err(unavailable)
    }

    #[cfg(test)]
    mod tests {
        use protocol::setup::{Days, ShiftPattern};

        use super::window_of;

        /// Hand-computed from Vancouver's 2020 clock changes (08 Mar 02:00 PST → 03:00 PDT,
        /// 01 Nov 02:00 PDT → 01:00 PST), as UTC seconds of the instants written beside them.
        #[test]
        fn a_shift_over_a_clock_change_is_an_hour_shorter_or_longer() {
            let tz = jiff::tz::TimeZone::get("America/Vancouver").expect("zone");
            let at = |s: &str, e: &str, d: &str| {
                let p = ShiftPattern::new("X", "Watch", s, e, Days::ALL);
                window_of(&p, d.parse().expect("date"), &tz).expect("window")
            };
            // An ordinary day: 06:00–14:00 PDT is 13:00Z–21:00Z.
            assert_eq!(at("06:00", "14:00", "2020-06-01"), (1_591_016_400, 1_591_045_200));
            // The night into spring-forward: 22:00 PST (06:00Z) to 06:00 PDT (13:00Z), 7 hours.
            let (b, e) = at("22:00", "06:00", "2020-03-07");
            assert_eq!((b, e, e - b), (1_583_647_200, 1_583_672_400, 7 * 3600));
            // The night into fall-back: 22:00 PDT (05:00Z) to 06:00 PST (14:00Z), 9 hours.
            let (b, e) = at("22:00", "06:00", "2020-10-31");
            assert_eq!((b, e, e - b), (1_604_206_800, 1_604_239_200, 9 * 3600));
            // 02:30 does not happen on 08 Mar: the shift starts after the gap, 03:30 PDT (10:30Z).
            let (b, e) = at("02:30", "10:30", "2020-03-08");
            assert_eq!((b, e), (1_583_663_400, 1_583_688_600));
        }
    }
}
