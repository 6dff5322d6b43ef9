//! The presence dashboard: where officers actually were against where harm is, for one
//! district's shift — visits per hot spot from GPS (the algorithm of `hotspot::presence`, which
//! the device's Koper timer shares), Koper-compliant minutes, time since the last visit, the gap
//! between harm rank and presence rank, the top harm places with no presence this shift,
//! per-mission time in place, and every device's GPS coverage with its gaps shown, not bridged.
//!
//! GPS comes from the devices' breadcrumbs (offline sync) and from AVL/CSV imports
//! (`server ingest gps`); each device's track is analysed on its own and the visits added up.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};

use crate::error::{Access, ApiError};
use crate::shift::{GpsSource, ShiftRef};

pub mod page;

/// One of the district's top harm places.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlacePresence {
    /// Rank in the plan's ranking for the shift (the district's chosen method).
    pub harm_rank: u32,
    /// Rank by Koper-compliant minutes, then dwell, this shift (`None`: no presence).
    pub presence_rank: Option<u32>,
    /// Lattice column.
    pub ix: i64,
    /// Lattice row.
    pub iy: i64,
    /// Centre latitude.
    pub lat: f64,
    /// Centre longitude.
    pub lon: f64,
    /// Harm.
    pub harm: f64,
    /// Visits this shift (all devices).
    pub visits: u32,
    /// Of which Koper visits (≥ 10 minutes).
    pub koper_visits: u32,
    /// Koper-compliant minutes.
    pub koper_minutes: f64,
    /// Minutes in the place.
    pub dwell_minutes: f64,
    /// Of the minutes in the place, those a device's breadcrumbs show (a minute both a device
    /// and a feed show counts in each).
    pub device_minutes: f64,
    /// Those a loaded feed (AVL) shows.
    pub feed_minutes: f64,
    /// Its name, or the district and grid reference.
    #[serde(default)]
    pub label: String,
    /// A track that shows presence here also moved implausibly fast this shift (see the
    /// coverage list): the minutes are counted, and shown as flagged.
    pub flagged: bool,
    /// Minutes since the last visit ended (as of the shift's end, or now during it); `None`
    /// when no visit in the 24 hours before.
    pub since_last_minutes: Option<i64>,
}

impl PlacePresence {
    /// Harm rank minus presence rank: positive when a place gets more presence than its harm
    /// ranks it, negative when less; `None` without presence.
    pub fn gap(&self) -> Option<i64> {
        self.presence_rank.map(|p| i64::from(self.harm_rank) - i64::from(p))
    }
}

/// Time in place for one mission of the shift.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MissionPresence {
    /// Mission id.
    pub id: String,
    /// Its place.
    pub place_label: String,
    /// Assignee.
    pub assignee: Option<String>,
    /// Status.
    pub status: String,
    /// Minutes in the place during the shift (`None`: no GPS from the assignee's devices).
    pub minutes_in_place: Option<f64>,
    /// Koper visits.
    pub koper_visits: Option<u32>,
}

/// One device's GPS during the shift, from one source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Coverage {
    /// Device id or unit call sign.
    pub device: String,
    /// Its device's breadcrumbs, or a loaded feed.
    pub source: GpsSource,
    /// Fixes used.
    pub fixes: u32,
    /// Fixes set aside for poor accuracy.
    pub inaccurate: u32,
    /// First and last fix, local `HH:MM`.
    pub first: String,
    /// See `first`.
    pub last: String,
    /// Gaps longer than the threshold, as local `HH:MM–HH:MM`.
    pub gaps: Vec<String>,
    /// Moves faster than a car can go, as local `HH:MM–HH:MM (N km/h)`: flagged, never dropped.
    pub implausible: Vec<String>,
}

/// The dashboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PresenceBoard {
    /// The shift.
    pub shift: ShiftRef,
    /// District name.
    pub district_name: String,
    /// Shift window, UTC seconds.
    pub window: (i64, i64),
    /// UTM zone of the cells.
    pub epsg: u32,
    /// Cell size, metres.
    pub cell_size_m: u32,
    /// The top harm places.
    pub places: Vec<PlacePresence>,
    /// The shift's missions.
    pub missions: Vec<MissionPresence>,
    /// GPS coverage by device.
    pub coverage: Vec<Coverage>,
    /// The thresholds used, in words.
    pub rules: String,
}

/// The dashboard's server functions.
pub const ENDPOINTS: &[(&str, Access)] = &[("/api/presence", Some(protocol::Action::ViewPresence))];

/// The presence dashboard for a district's shift.
#[server(prefix = "/api", endpoint = "presence", input = Json)]
pub async fn get_presence(shift: ShiftRef) -> Result<PresenceBoard, ApiError> {
    ssr::presence(shift).await
}

/// Server side.
#[cfg(feature = "ssr")]
pub mod ssr {
    use hotspot::{Area, Utm};
    use protocol::policy::Target;
    use protocol::Action;

    use super::*;
    use crate::auth::ssr::authorize;
    use crate::context::context;
    use crate::geo::MICRO_PLACE;
    use std::collections::BTreeMap;

    use crate::shift::dosage::{cell_area, combined, mission_presence, tracks, within, TrackKey, Tracks};
    use crate::shift::ranking::rank_places;
    use crate::shift::ssr::{missions_of, visit_params};

    fn hhmm(t: i64, tz: &jiff::tz::TimeZone) -> String {
        jiff::Timestamp::from_second(t)
            .map(|ts| ts.to_zoned(tz.clone()).strftime("%H:%M").to_string())
            .unwrap_or_default()
    }

    /// The dashboard.
    ///
    /// # Errors
    /// 401/403 (another district's sergeant), 404 unknown district, 422 bad shift, 503.
    pub async fn presence(s: ShiftRef) -> Result<PresenceBoard, ApiError> {
        let ctx = context()?;
        authorize(&ctx, Action::ViewPresence, Target::District(&s.district), &format!("presence {}", s.district))
            .await?;
        let ranking = rank_places(&ctx, &s).await?;
        let (start, end) = ranking.shift;
        let tz = ctx.tz()?;
        let epsg = ranking.epsg;
        let utm = Utm::new(epsg);
        // The shift's tracks, and the day before for "time since last visit"; coverage lists the
        // devices that were in the district at some point of the shift.
        let day_tracks = tracks(&ctx, &utm, &s.district, start - 86_400, end).await?;
        let shift_tracks = within(&day_tracks, start, end);
        let in_district = |fixes: &Vec<hotspot::Fix>| {
            fixes.iter().any(|f| {
                let (lon, lat) = utm.inverse(f.x, f.y);
                geo::Contains::contains(&ranking.district.area, &geo::Point::new(lon, lat))
            })
        };
        let p = visit_params(&ranking.rules);
        // Each track's implausible jumps this shift: shown on its coverage row, and on the
        // places it shows presence at.
        let jumps: BTreeMap<&TrackKey, Vec<hotspot::Jump>> = shift_tracks
            .iter()
            .map(|(key, fixes)| (key, hotspot::implausible_jumps(fixes, &p)))
            .filter(|(_, j)| !j.is_empty())
            .collect();
        let of = |source: GpsSource| -> Tracks {
            shift_tracks.iter().filter(|(k, _)| k.1 == source).map(|(k, f)| (k.clone(), f.clone())).collect()
        };
        let (device_tracks, feed_tracks) = (of(GpsSource::Device), of(GpsSource::Feed));
        let minutes = |pres: &hotspot::Presence| (pres.dwell_s() as f64 / 6.0).round() / 10.0;
        let now = jiff::Timestamp::now().as_second();
        let as_of = now.clamp(start, end);
        let mut places: Vec<PlacePresence> = ranking
            .places
            .iter()
            .map(|pr| {
                let area = cell_area(pr.ix, pr.iy);
                let here = combined(&shift_tracks, &area, &p);
                let flagged = jumps.keys().any(|k| {
                    shift_tracks.get(*k).is_some_and(|fixes| !hotspot::visits(fixes, &area, &p).visits.is_empty())
                });
                let last = combined(&day_tracks, &area, &p).visits.iter().map(|v| v.exit).filter(|t| *t <= as_of).max();
                PlacePresence {
                    harm_rank: pr.rank,
                    presence_rank: None,
                    ix: pr.ix,
                    iy: pr.iy,
                    label: pr.label.clone(),
                    lat: pr.lat,
                    lon: pr.lon,
                    harm: pr.harm,
                    visits: here.visits.len() as u32,
                    koper_visits: here.koper_visits(&p) as u32,
                    koper_minutes: (here.koper_minutes(&p) * 10.0).round() / 10.0,
                    dwell_minutes: minutes(&here),
                    device_minutes: minutes(&combined(&device_tracks, &area, &p)),
                    feed_minutes: minutes(&combined(&feed_tracks, &area, &p)),
                    flagged,
                    since_last_minutes: last.map(|t| (as_of - t) / 60),
                }
            })
            .collect();
        // Presence rank: Koper minutes, then dwell; places with none get no rank.
        let mut order: Vec<usize> = (0..places.len()).filter(|i| places[*i].dwell_minutes > 0.0).collect();
        order.sort_by(|a, b| {
            places[*b]
                .koper_minutes
                .total_cmp(&places[*a].koper_minutes)
                .then(places[*b].dwell_minutes.total_cmp(&places[*a].dwell_minutes))
                .then(places[*a].harm_rank.cmp(&places[*b].harm_rank))
        });
        for (rank, i) in order.into_iter().enumerate() {
            places[i].presence_rank = Some(rank as u32 + 1);
        }

        let missions = missions_of(&ctx, &s, true).await?;
        let mut mission_rows = Vec::new();
        for m in &missions {
            let pres = mission_presence(&ctx, m, &p).await?;
            mission_rows.push(MissionPresence {
                id: m.id.clone(),
                place_label: m.place_label.clone(),
                assignee: m.assignee_name.clone(),
                status: m.status.label().to_string(),
                minutes_in_place: pres.as_ref().map(|p| (p.dwell_s() as f64 / 6.0).round() / 10.0),
                koper_visits: pres.as_ref().map(|x| x.koper_visits(&p) as u32),
            });
        }

        let coverage = shift_tracks
            .iter()
            .filter(|(_, fixes)| in_district(fixes))
            .map(|(key, fixes)| {
                // The gaps of the whole track (any area will do: gaps do not depend on it).
                let whole = hotspot::visits(fixes, &Area::Circle { x: 0.0, y: 0.0, r: 0.0 }, &p);
                let times: Vec<i64> = fixes.iter().map(hotspot::Fix::server_t).collect();
                let span = |from: i64, to: i64| format!("{}–{}", hhmm(from, &tz), hhmm(to, &tz));
                Coverage {
                    device: key.0.clone(),
                    source: key.1,
                    fixes: whole.used_fixes as u32,
                    inaccurate: whole.inaccurate_fixes as u32,
                    first: times.iter().min().map(|t| hhmm(*t, &tz)).unwrap_or_default(),
                    last: times.iter().max().map(|t| hhmm(*t, &tz)).unwrap_or_default(),
                    gaps: whole.gaps.iter().map(|g| span(g.from, g.to)).collect(),
                    implausible: jumps
                        .get(key)
                        .into_iter()
                        .flatten()
                        .map(|j| format!("{} ({:.0} km/h)", span(j.from, j.to), j.speed_mps * 3.6))
                        .collect(),
                }
            })
            .collect();
        Ok(PresenceBoard {
            district_name: ranking.district.name.clone(),
            shift: s,
            window: (start, end),
            epsg: epsg.code(),
            cell_size_m: MICRO_PLACE.m(),
            places,
            missions: mission_rows,
            coverage,
            rules: format!(
                "A visit: GPS fixes inside the cell, accuracy ≤ {:.0} m, exits ≤ {} s merged, at least {} s; gaps over {} s end a visit. \
                 A Koper visit lasts ≥ {} minutes; Koper minutes are capped at {} per visit. \
                 A move faster than {:.0} km/h between two fixes is flagged, and still counted.",
                p.max_accuracy_m,
                p.merge_gap_s,
                p.min_dwell_s,
                p.max_gap_s,
                p.koper_min_s / 60,
                p.koper_max_s / 60,
                p.max_speed_mps * 3.6
            ),
        })
    }
}
