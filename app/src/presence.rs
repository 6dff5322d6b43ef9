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

use crate::api::{Access, ApiError};
use crate::missions::ShiftRef;

/// One of the district's top harm places.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlacePresence {
    /// Rank by harm (28 days before the shift).
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

/// One device's GPS during the shift.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Coverage {
    /// Device id or unit call sign.
    pub device: String,
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
    use std::collections::{BTreeMap, HashMap};

    use hotspot::{Area, Epsg, Presence, Utm, VisitParams};
    use protocol::policy::Target;
    use protocol::Action;

    use super::*;
    use crate::api::ssr::unavailable;
    use crate::api::ServerContext;
    use crate::auth::ssr::{authorize, context};
    use crate::missions::ssr::MICRO_PLACE_M;

    /// Every device's fixes in `[from, to)`, projected into `utm`, by device.
    ///
    /// # Errors
    /// 503 from the store.
    pub async fn tracks(
        ctx: &ServerContext,
        utm: &Utm,
        from: i64,
        to: i64,
    ) -> Result<BTreeMap<String, Vec<hotspot::Fix>>, ApiError> {
        let mut out: BTreeMap<String, Vec<hotspot::Fix>> = BTreeMap::new();
        for (device, f) in ctx.bodega.fixes_between(from, to).await.map_err(unavailable)? {
            let Ok((x, y)) = utm.forward(f.lon, f.lat) else { continue };
            out.entry(device).or_default().push(hotspot::Fix {
                t: f.fix_at,
                skew_s: 0,
                x,
                y,
                accuracy_m: f.accuracy_m.unwrap_or(f64::INFINITY),
            });
        }
        Ok(out)
    }

    /// A cell of the lattice as an area.
    pub fn cell_area(size_m: u32, ix: i64, iy: i64) -> Area {
        let s = f64::from(size_m);
        Area::Rect {
            min_x: ix as f64 * s,
            min_y: iy as f64 * s,
            max_x: (ix + 1) as f64 * s,
            max_y: (iy + 1) as f64 * s,
        }
    }

    /// Presence at one area over every device's track, minutes when several devices were there
    /// together counted once ([`hotspot::united`]).
    pub fn combined(tracks: &BTreeMap<String, Vec<hotspot::Fix>>, area: &Area, p: &VisitParams) -> Presence {
        hotspot::united(tracks.values().map(|fixes| hotspot::visits(fixes, area, p)))
    }

    /// GPS dosage per cell: `(Koper visits, visits, minutes, last exit)` in each of `windows`
    /// (`[from, to)` each), from one read of the fixes they span.
    ///
    /// # Errors
    /// 503 from the store.
    pub async fn gps_dosage(
        ctx: &ServerContext,
        epsg: Epsg,
        cells: &[(i64, i64)],
        windows: &[(i64, i64)],
    ) -> Result<Vec<HashMap<(i64, i64), (i64, i64, i64, Option<i64>)>>, ApiError> {
        let mut out = vec![HashMap::new(); windows.len()];
        let (Some(from), Some(to)) = (windows.iter().map(|w| w.0).min(), windows.iter().map(|w| w.1).max()) else {
            return Ok(out);
        };
        let all = tracks(ctx, &Utm::new(epsg), from, to).await?;
        if all.is_empty() {
            return Ok(out);
        }
        let p = VisitParams::default();
        for (window, dosage) in windows.iter().zip(out.iter_mut()) {
            let tracks = within(&all, window.0, window.1);
            for &(ix, iy) in cells {
                let pres = combined(&tracks, &cell_area(MICRO_PLACE_M, ix, iy), &p);
                if !pres.visits.is_empty() {
                    dosage.insert(
                        (ix, iy),
                        (pres.koper_visits(&p) as i64, pres.visits.len() as i64, pres.dwell_s() / 60, pres.last_exit()),
                    );
                }
            }
        }
        Ok(out)
    }

    /// The part of each track in `[from, to)` (server time).
    fn within(tracks: &BTreeMap<String, Vec<hotspot::Fix>>, from: i64, to: i64) -> BTreeMap<String, Vec<hotspot::Fix>> {
        tracks
            .iter()
            .map(|(d, fixes)| {
                (d.clone(), fixes.iter().filter(|f| (from..to).contains(&f.server_t())).copied().collect::<Vec<_>>())
            })
            .filter(|(_, fixes)| !fixes.is_empty())
            .collect()
    }

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
        let rec = crate::missions::ssr::recommend_for(&ctx, s.clone()).await?;
        let (start, end) = crate::missions::ssr::shift_window(&ctx, &s).await?;
        let tz = jiff::tz::TimeZone::get(&ctx.time_zone).map_err(unavailable)?;
        let epsg = match rec.proposals.first().map(|p| &p.place) {
            Some(protocol::mission::Place::Cell { epsg, .. }) => Epsg::utm(*epsg).map_err(unavailable)?,
            _ => {
                let area = ctx.bodega.district_area(&s.district).await.map_err(unavailable)?;
                let (w, so, e, n) = area.map(|a| a.bbox).unwrap_or((-123.2, 49.2, -123.0, 49.3));
                Epsg::for_lon_lat((w + e) / 2.0, (so + n) / 2.0).map_err(unavailable)?
            }
        };
        let utm = Utm::new(epsg);
        // The shift's tracks, and the day before for "time since last visit"; coverage lists the
        // devices that were in the district at some point of the shift.
        let day_tracks = tracks(&ctx, &utm, start - 86_400, end).await?;
        let shift_tracks = within(&day_tracks, start, end);
        let district_area = ctx.bodega.district_area(&s.district).await.map_err(unavailable)?;
        let in_district = |fixes: &Vec<hotspot::Fix>| {
            let Some(a) = &district_area else { return true };
            fixes.iter().any(|f| {
                let (lon, lat) = utm.inverse(f.x, f.y);
                geo::Contains::contains(&a.area, &geo::Point::new(lon, lat))
            })
        };
        let p = VisitParams::default();
        let now = jiff::Timestamp::now().as_second();
        let as_of = now.clamp(start, end);
        let mut places: Vec<PlacePresence> = rec
            .proposals
            .iter()
            .filter_map(|pr| match pr.place {
                protocol::mission::Place::Cell { ix, iy, lat, lon, .. } => {
                    let area = cell_area(MICRO_PLACE_M, ix, iy);
                    let here = combined(&shift_tracks, &area, &p);
                    let last =
                        combined(&day_tracks, &area, &p).visits.iter().map(|v| v.exit).filter(|t| *t <= as_of).max();
                    Some(PlacePresence {
                        harm_rank: pr.rank,
                        presence_rank: None,
                        ix,
                        iy,
                        lat,
                        lon,
                        harm: pr.harm,
                        visits: here.visits.len() as u32,
                        koper_visits: here.koper_visits(&p) as u32,
                        koper_minutes: (here.koper_minutes(&p) * 10.0).round() / 10.0,
                        dwell_minutes: (here.dwell_s() as f64 / 6.0).round() / 10.0,
                        since_last_minutes: last.map(|t| (as_of - t) / 60),
                    })
                }
                _ => None,
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

        let missions = ctx
            .bodega
            .missions(&bodega::missions::MissionFilter {
                district: Some(s.district.clone()),
                shift: Some(s.shift.clone()),
                shift_date: Some(s.shift_date.clone()),
                exclude_drafts: true,
                ..Default::default()
            })
            .await
            .map_err(unavailable)?;
        let mut mission_rows = Vec::new();
        for m in &missions {
            let pres = crate::snapshot::ssr::mission_presence(&ctx, m).await?;
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
            .map(|(device, fixes)| {
                // The gaps of the whole track (any area will do: gaps do not depend on it).
                let whole = hotspot::visits(fixes, &Area::Circle { x: 0.0, y: 0.0, r: 0.0 }, &p);
                let times: Vec<i64> = fixes.iter().map(hotspot::Fix::server_t).collect();
                Coverage {
                    device: device.clone(),
                    fixes: whole.used_fixes as u32,
                    inaccurate: whole.inaccurate_fixes as u32,
                    first: times.iter().min().map(|t| hhmm(*t, &tz)).unwrap_or_default(),
                    last: times.iter().max().map(|t| hhmm(*t, &tz)).unwrap_or_default(),
                    gaps: whole.gaps.iter().map(|g| format!("{}–{}", hhmm(g.from, &tz), hhmm(g.to, &tz))).collect(),
                }
            })
            .collect();
        Ok(PresenceBoard {
            district_name: rec.district_name.clone(),
            shift: s,
            window: (start, end),
            epsg: epsg.code(),
            cell_size_m: MICRO_PLACE_M,
            places,
            missions: mission_rows,
            coverage,
            rules: format!(
                "A visit: GPS fixes inside the cell, accuracy ≤ {:.0} m, exits ≤ {} s merged, at least {} s; gaps over {} s end a visit. \
                 A Koper visit lasts ≥ {} minutes; Koper minutes are capped at {} per visit.",
                p.max_accuracy_m,
                p.merge_gap_s,
                p.min_dwell_s,
                p.max_gap_s,
                p.koper_min_s / 60,
                p.koper_max_s / 60
            ),
        })
    }
}
