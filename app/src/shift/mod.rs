//! Shifts: which shift of which district on which day ([`ShiftRef`]), the shift patterns and
//! districts a user may pick (`GET /api/missions/shifts`), and on the server what missions and
//! presence both stand on: a shift's window in time, the missions of a shift, the dosage rules,
//! the district's places ranked by harm for a shift ([`ranking`]) and patrol dosage from GPS
//! ([`dosage`]).

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};

use crate::error::{Access, ApiError};

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
/// Places considered per district and shift.
pub const TOP_PLACES: usize = 20;
/// Dosage target: completed Koper visits per place per shift.
pub const TARGET_VISITS: i64 = 3;
/// Dosage cap per place per 24 hours: visits…
pub const CAP_VISITS: i64 = 6;
/// …or minutes.
pub const CAP_MINUTES: i64 = 90;

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
        let tz = ctx.tz()?;
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
    ///
    /// # Errors
    /// 422 naming `shift` or `shift_date`; 503.
    pub async fn shift_window(ctx: &ServerContext, s: &ShiftRef) -> Result<(i64, i64), ApiError> {
        let shifts = ctx.bodega.shifts().await.map_err(unavailable)?;
        let pattern = shifts
            .iter()
            .find(|p| p.code == s.shift)
            .ok_or_else(|| fail(ApiError::invalid("shift", format!("no shift '{}'", s.shift))))?;
        let date = crate::context::parse_day("shift_date", &s.shift_date)?;
        let parse = |t: &str| jiff::civil::Time::strptime("%H:%M", t);
        let (Ok(start), Ok(end)) = (parse(&pattern.starts_local), parse(&pattern.ends_local)) else {
            return Err(unavailable(format!("shift {} has unreadable times", pattern.code)));
        };
        let tz = ctx.tz()?;
        let begin = date.to_datetime(start).to_zoned(tz.clone()).map_err(unavailable)?;
        let end_date = if end <= start { date.tomorrow().map_err(unavailable)? } else { date };
        let finish = end_date.to_datetime(end).to_zoned(tz).map_err(unavailable)?;
        Ok((begin.timestamp().as_second(), finish.timestamp().as_second()))
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
}
