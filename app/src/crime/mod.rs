//! The crime view: where harm is, on a map — micro places shaded by harm or by their Gi* class
//! (hot or cold at 99/95/90 % after the Benjamini–Hochberg false-discovery-rate correction), the
//! incidents themselves clustered when dense, filters for the time window, category, offence,
//! district and shift, and each cell's composition with its 12-week trend.
//!
//! The study area is the cells covering the department's districts (`hotspot::Grid`), so Gi*
//! compares every place with its neighbours over the same area whatever the filters show.
//! Incident points are incident-level data: they are sent only to roles the policy lets see
//! incidents (`ViewIncidents`: command staff and analysts city-wide, a sergeant in their own
//! district), and every such read is written to the audit log.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};

use crate::error::{Access, ApiError};

pub mod page;

/// What the crime view asks for.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CrimeQuery {
    /// Days in the window (1–366; default: the trailing window the area's ranking uses, 28
    /// before a backtest chose one).
    #[serde(default)]
    pub days: Option<u32>,
    /// Last local day of the window (`YYYY-MM-DD`; default: the newest day with data).
    #[serde(default)]
    pub end: Option<String>,
    /// `violent`, `property`, `quality_of_life` or `calls` (default: every incident).
    #[serde(default)]
    pub category: Option<String>,
    /// One offence (as recorded).
    #[serde(default)]
    pub offense: Option<String>,
    /// One district.
    #[serde(default)]
    pub district: Option<String>,
    /// One shift: only incidents whose local time falls in its hours.
    #[serde(default)]
    pub shift: Option<String>,
}

/// A shaded micro place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrimeCell {
    /// Lattice column.
    pub ix: i64,
    /// Lattice row.
    pub iy: i64,
    /// Incidents in the window.
    pub count: u32,
    /// Harm in the window.
    pub harm: f64,
    /// Gi* z-score.
    pub z: f64,
    /// Gi* class: -3..=3 (cold 99 % … hot 99 %), 0 not significant.
    pub class: i8,
}

/// The crime view's data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrimeView {
    /// The query as the server read it (defaults filled in).
    pub query: CrimeQuery,
    /// Why the window is as long as it is, when no window was asked for (the ranking's).
    #[serde(default)]
    pub window_note: Option<String>,
    /// First local day of the window.
    pub from_day: String,
    /// Last local day.
    pub to_day: String,
    /// UTM zone of the lattice.
    pub epsg: u32,
    /// Cell size, metres.
    pub cell_size_m: u32,
    /// Cells with incidents or a significant Gi* class.
    pub cells: Vec<CrimeCell>,
    /// Cells in the study area.
    pub study_cells: u64,
    /// Incidents (or calls) in the window, mapped or not.
    pub total: u64,
    /// Of which on the map.
    pub mapped: u64,
    /// Incident points `[lon, lat]` (5 decimals, about 1 m), when the caller may see incidents.
    pub points: Option<Vec<[f64; 2]>>,
    /// Why there are no points, when there are none.
    pub points_note: Option<String>,
    /// Offences present in the window, for the filter.
    pub offenses: Vec<String>,
    /// `(code, name)` of the districts.
    pub districts: Vec<(String, String)>,
    /// `(code, name)` of the shifts.
    pub shifts: Vec<(String, String)>,
    /// The weight table.
    pub harm_table: String,
    /// The names of the places the view ranks highest (by harm and by Gi*): `(ix, iy, name)`.
    #[serde(default)]
    pub names: Vec<(i64, i64, String)>,
}

/// One offence's part in a cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellPart {
    /// Offence.
    pub offense: String,
    /// Incidents.
    pub count: u32,
    /// Harm contributed.
    pub harm: f64,
}

/// A cell's composition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellComposition {
    /// Lattice column.
    pub ix: i64,
    /// Lattice row.
    pub iy: i64,
    /// Its name, when its incidents give one.
    #[serde(default)]
    pub label: Option<String>,
    /// By offence, most harm first (within the view's window and filters).
    pub parts: Vec<CellPart>,
    /// Incidents per week for the 12 weeks ending with the window (oldest first).
    pub weekly: Vec<u32>,
    /// Each week's first day.
    pub week_starts: Vec<String>,
}

/// How many places of each ranking (harm, Gi*) the view names: the list shows ten.
pub const TOP_NAMED: usize = 10;

/// The crime view's server functions.
pub const ENDPOINTS: &[(&str, Access)] =
    &[("/api/crime", Some(protocol::Action::ViewHotSpots)), ("/api/crime/cell", Some(protocol::Action::ViewHotSpots))];

/// The crime view for a query.
#[server(prefix = "/api", endpoint = "crime", input = Json)]
pub async fn get_crime_view(query: CrimeQuery) -> Result<CrimeView, ApiError> {
    ssr::crime_view(query).await
}

/// One cell's composition under the view's query.
#[server(prefix = "/api", endpoint = "crime/cell", input = Json)]
pub async fn get_cell_composition(query: CrimeQuery, ix: i64, iy: i64) -> Result<CellComposition, ApiError> {
    ssr::cell_composition(query, ix, iy).await
}

/// Server side.
#[cfg(feature = "ssr")]
pub mod ssr {
    use std::collections::{BTreeMap, BTreeSet};

    use hotspot::backtest::Method;
    use hotspot::{Grid, Lattice, ScoreParams, Window};
    use jiff::civil::Date;
    use jiff::tz::TimeZone;
    use protocol::policy::{decide, Target};
    use protocol::Action;

    use super::*;
    use crate::auth::ssr::authorize;
    use crate::context::{context, grid_over, invalid, unavailable, window_end_day, ServerContext};
    use crate::geo::MICRO_PLACE;

    /// Most incident points sent to a map.
    pub const MAX_POINTS: usize = 200_000;
    const CATEGORIES: &[&str] = &["violent", "property", "quality_of_life", "calls"];

    /// A checked query: window, filters, shift hours.
    struct Plan {
        query: CrimeQuery,
        tz: TimeZone,
        from: i64,
        to: i64,
        from_day: Date,
        to_day: Date,
        /// Local minutes since midnight `[start, end)` (wrapping past midnight).
        shift_minutes: Option<(i64, i64)>,
        areas: Vec<bodega::missions::DistrictArea>,
        shifts: Vec<(String, String)>,
        /// Why the window is as long as it is, when it is the ranking's.
        window_note: Option<String>,
    }

    fn minutes(hhmm: &str) -> Option<i64> {
        let (h, m) = hhmm.split_once(':')?;
        Some(h.parse::<i64>().ok()? * 60 + m.parse::<i64>().ok()?)
    }

    async fn plan(ctx: &ServerContext, mut q: CrimeQuery) -> Result<Plan, ApiError> {
        let tz = ctx.tz()?;
        // With no window asked for, the ranking's: the trailing window the area's backtest chose.
        let (days, window_note) = match q.days {
            Some(d) => (i64::from(d), None),
            None => {
                let area = q.district.clone().filter(|d| !d.is_empty()).unwrap_or_else(|| "city".into());
                let weigh = crate::shift::choice::ssr::Weigh::load(ctx).await?;
                let basis = crate::shift::choice::ssr::basis_for(ctx, &area, &weigh).await?;
                match basis.method {
                    Method::Count { days } | Method::Harm { days } if days <= 366 => (
                        i64::from(days),
                        Some(format!("The window is the ranking's, {}: {}.", basis.label(), basis.why)),
                    ),
                    _ => (28, None),
                }
            }
        };
        if !(1..=366).contains(&days) {
            return Err(invalid("days", format!("{days} is not 1 to 366 days")));
        }
        q.days = Some(days as u32);
        let to_day = window_end_day(ctx, &tz, q.end.as_deref(), "end").await?;
        q.end = Some(to_day.to_string());
        if let Some(c) = q.category.as_deref().filter(|c| !c.is_empty()) {
            if !CATEGORIES.contains(&c) {
                return Err(invalid("category", format!("'{c}' is not one of {}", CATEGORIES.join(", "))));
            }
        } else {
            q.category = None;
        }
        q.offense = q.offense.filter(|o| !o.trim().is_empty());
        let areas = ctx.bodega.district_areas().await.map_err(unavailable)?;
        q.district = q.district.filter(|d| !d.trim().is_empty());
        if let Some(d) = &q.district {
            if !areas.iter().any(|a| &a.code == d) {
                return Err(invalid("district", format!("there is no district '{d}'")));
            }
        }
        let patterns = ctx.bodega.shifts().await.map_err(unavailable)?;
        q.shift = q.shift.filter(|s| !s.trim().is_empty());
        let shift_minutes = match &q.shift {
            None => None,
            Some(code) => {
                let p = patterns
                    .iter()
                    .find(|p| &p.code == code)
                    .ok_or_else(|| invalid("shift", format!("there is no shift '{code}'")))?;
                Some((minutes(&p.starts_local).unwrap_or(0), minutes(&p.ends_local).unwrap_or(0)))
            }
        };
        let from_day = to_day.checked_sub(jiff::Span::new().days(days - 1)).map_err(unavailable)?;
        let from = from_day.to_zoned(tz.clone()).map_err(unavailable)?.timestamp().as_second();
        let to = to_day
            .checked_add(jiff::Span::new().days(1))
            .and_then(|d| d.to_zoned(tz.clone()))
            .map_err(unavailable)?
            .timestamp()
            .as_second();
        let shifts = patterns
            .into_iter()
            .map(|p| (p.code.clone(), format!("{} ({}–{})", p.name, p.starts_local, p.ends_local)))
            .collect();
        Ok(Plan { query: q, tz, from, to, from_day, to_day, shift_minutes, areas, shifts, window_note })
    }

    impl Plan {
        fn in_shift(&self, t: i64) -> bool {
            let Some((start, end)) = self.shift_minutes else { return true };
            let Ok(ts) = jiff::Timestamp::from_second(t) else { return false };
            let local = ts.to_zoned(self.tz.clone());
            let m = i64::from(local.hour()) * 60 + i64::from(local.minute());
            if start <= end {
                m >= start && m < end
            } else {
                m >= start || m < end
            }
        }

        fn district_area(&self) -> Option<&bodega::missions::DistrictArea> {
            self.query.district.as_ref().and_then(|d| self.areas.iter().find(|a| &a.code == d))
        }

        fn bbox(&self) -> Option<(f64, f64, f64, f64)> {
            let areas: Vec<&bodega::missions::DistrictArea> = match self.district_area() {
                Some(a) => vec![a],
                None => self.areas.iter().collect(),
            };
            areas.iter().map(|a| a.bbox).reduce(|a, b| (a.0.min(b.0), a.1.min(b.1), a.2.max(b.2), a.3.max(b.3)))
        }

        /// `(lon, lat, t, offense)` of the window's events under the filters, and how many
        /// there were before dropping the unmapped.
        async fn events(
            &self,
            ctx: &ServerContext,
            from: i64,
        ) -> Result<(Vec<(f64, f64, i64, String)>, u64), ApiError> {
            let q = &self.query;
            let mut rows = if q.category.as_deref() == Some("calls") {
                ctx.bodega.mappable_calls(from, self.to, self.bbox()).await.map_err(unavailable)?
            } else {
                let filter = bodega::queries::Filter {
                    from: Some(from),
                    to: Some(self.to),
                    offense: q.offense.clone(),
                    harm_category: q.category.clone(),
                    bbox: self.bbox(),
                    ..Default::default()
                };
                ctx.bodega.mappable_incidents(&filter).await.map_err(unavailable)?
            };
            if q.category.as_deref() == Some("calls") {
                if let Some(o) = &q.offense {
                    rows.retain(|r| &r.3 == o);
                }
            }
            let area = self.district_area();
            rows.retain(|(lon, lat, t, _)| {
                self.in_shift(*t) && area.is_none_or(|a| geo::Contains::contains(&a.area, &geo::Point::new(*lon, *lat)))
            });
            let total = rows.len() as u64;
            Ok((rows, total))
        }

        fn grid(&self) -> Result<(Grid, Lattice), ApiError> {
            let (grid, _) = grid_over(self.bbox().unwrap_or((-123.2, 49.2, -123.0, 49.3)), MICRO_PLACE)?;
            let lattice = Lattice::of(grid.epsg, MICRO_PLACE);
            Ok((grid, lattice))
        }
    }

    fn class_number(c: hotspot::GiClass) -> i8 {
        use hotspot::GiClass::*;
        match c {
            Cold99 => -3,
            Cold95 => -2,
            Cold90 => -1,
            None => 0,
            Hot90 => 1,
            Hot95 => 2,
            Hot99 => 3,
        }
    }

    /// The crime view.
    ///
    /// # Errors
    /// 401/403 from the gate; 422 naming a bad filter; 503 from the store.
    pub async fn crime_view(query: CrimeQuery) -> Result<CrimeView, ApiError> {
        let ctx = context()?;
        let target = match query.district.as_deref().filter(|d| !d.is_empty()) {
            Some(d) => format!("crime view {d}"),
            None => "crime view".to_string(),
        };
        let grant = authorize(&ctx, Action::ViewHotSpots, Target::City, &target).await?;
        let plan = plan(&ctx, query).await?;
        let (rows, mapped) = plan.events(&ctx, plan.from).await?;
        let (grid, _lattice) = plan.grid()?;
        let table = ctx.bodega.active_harm_table().await.map_err(unavailable)?;
        let utm = hotspot::Utm::new(grid.epsg);
        let mut offense_ids: BTreeMap<String, u32> = BTreeMap::new();
        let mut events = Vec::with_capacity(rows.len());
        for (lon, lat, t, offense) in &rows {
            let Ok((x, y)) = utm.forward(*lon, *lat) else { continue };
            let next = offense_ids.len() as u32;
            let id = *offense_ids.entry(offense.clone()).or_insert(next);
            events.push(hotspot::Event { x, y, t: *t, offense: id, harm: table.weigh(offense).unwrap_or(0.0) });
        }
        let scores = hotspot::score(&grid, &events, Window { from: plan.from, to: plan.to }, &ScoreParams::default())
            .map_err(unavailable)?;
        let mut cells = Vec::new();
        for i in 0..grid.len() {
            let class = class_number(scores.gi_class[i]);
            if scores.count[i] == 0 && class == 0 {
                continue;
            }
            let key = grid.lattice_key(i);
            cells.push(CrimeCell {
                ix: key.ix,
                iy: key.iy,
                count: scores.count[i],
                harm: scores.harm[i],
                z: (scores.gi_z[i] * 1000.0).round() / 1000.0,
                class,
            });
        }
        // Incident points, for the roles that may see incidents here; each read is recorded.
        let subject = grant.user().subject();
        let incident_target = match plan.query.district.as_deref() {
            Some(d) => Target::District(d),
            None => Target::City,
        };
        let (points, points_note) = if decide(&subject, Action::ViewIncidents, incident_target).is_allowed() {
            let mut pts: Vec<[f64; 2]> =
                rows.iter().map(|r| [(r.0 * 1e5).round() / 1e5, (r.1 * 1e5).round() / 1e5]).collect();
            let note = (pts.len() > MAX_POINTS).then(|| format!("showing {MAX_POINTS} of {} incidents", pts.len()));
            pts.truncate(MAX_POINTS);
            let read = crate::auth::ssr::Grant { action: Action::ViewIncidents, ..grant.clone() };
            read.audit(&ctx, &target, bodega::audit::Outcome::Success, &format!("{} incident locations", pts.len()))
                .await?;
            (Some(pts), note)
        } else {
            (None, Some("Incident points are shown to command staff, analysts and a district's own sergeant; cells only here.".into()))
        };
        let total = if plan.query.category.as_deref() == Some("calls") {
            mapped
        } else {
            let filter = bodega::queries::Filter {
                from: Some(plan.from),
                to: Some(plan.to),
                offense: plan.query.offense.clone(),
                harm_category: plan.query.category.clone(),
                district: plan.query.district.clone(),
                ..Default::default()
            };
            ctx.bodega
                .counts_by_offense(&filter)
                .await
                .map_err(unavailable)?
                .iter()
                .map(|(_, n)| *n as u64)
                .sum::<u64>()
        };
        // The names of the places the view lists (its top ten by harm and by Gi*).
        let mut top: Vec<(i64, i64)> = Vec::new();
        let mut by = cells.clone();
        by.sort_by(|a, b| b.harm.total_cmp(&a.harm).then(b.count.cmp(&a.count)));
        top.extend(by.iter().take(TOP_NAMED).map(|c| (c.ix, c.iy)));
        by.sort_by(|a, b| b.z.total_cmp(&a.z));
        top.extend(by.iter().take(TOP_NAMED).map(|c| (c.ix, c.iy)));
        let names = ctx.bodega.place_names(grid.epsg.code(), MICRO_PLACE, &top).await.map_err(unavailable)?;
        let names = names.into_iter().map(|((ix, iy), n)| (ix, iy, n.label())).collect();
        // Offences in the window (under the other filters), for the offence picker.
        let offenses: BTreeSet<String> = offense_ids.into_keys().chain(plan.query.offense.clone()).collect();
        Ok(CrimeView {
            window_note: plan.window_note.clone(),
            from_day: plan.from_day.to_string(),
            to_day: plan.to_day.to_string(),
            epsg: grid.epsg.code(),
            cell_size_m: MICRO_PLACE.m(),
            cells,
            names,
            study_cells: grid.len() as u64,
            total: total.max(mapped),
            mapped,
            points,
            points_note,
            offenses: offenses.into_iter().collect(),
            districts: plan.areas.iter().map(|a| (a.code.clone(), a.name.clone())).collect(),
            shifts: plan.shifts.clone(),
            harm_table: table.version().to_string(),
            query: plan.query,
        })
    }

    /// One cell's composition under the view's filters, and its 12-week trend.
    ///
    /// # Errors
    /// As [`crime_view`].
    pub async fn cell_composition(query: CrimeQuery, ix: i64, iy: i64) -> Result<CellComposition, ApiError> {
        let ctx = context()?;
        authorize(&ctx, Action::ViewHotSpots, Target::City, &format!("crime view cell {ix}/{iy}")).await?;
        let plan = plan(&ctx, query).await?;
        let (_, lattice) = plan.grid()?;
        // Twelve weeks ending with the window's last day.
        let first_week = plan.to_day.checked_sub(jiff::Span::new().days(83)).map_err(unavailable)?;
        let trend_from = first_week.to_zoned(plan.tz.clone()).map_err(unavailable)?.timestamp().as_second();
        let (rows, _) = plan.events(&ctx, trend_from.min(plan.from)).await?;
        let table = ctx.bodega.active_harm_table().await.map_err(unavailable)?;
        let mut parts: BTreeMap<String, (u32, f64)> = BTreeMap::new();
        let mut weekly = [0u32; 12];
        for (lon, lat, t, offense) in rows {
            let Ok(key) = lattice.key_of(lon, lat) else { continue };
            if (key.ix, key.iy) != (ix, iy) {
                continue;
            }
            if t >= plan.from {
                let p = parts.entry(offense.clone()).or_default();
                p.0 += 1;
                p.1 += table.weigh(&offense).unwrap_or(0.0);
            }
            if t >= trend_from {
                let day = jiff::Timestamp::from_second(t).map_err(unavailable)?.to_zoned(plan.tz.clone()).date();
                let week = (first_week.until(day).map_err(unavailable)?.get_days() / 7).clamp(0, 11) as usize;
                weekly[week] += 1;
            }
        }
        let mut parts: Vec<CellPart> =
            parts.into_iter().map(|(offense, (count, harm))| CellPart { offense, count, harm }).collect();
        parts.sort_by(|a, b| b.harm.total_cmp(&a.harm).then(b.count.cmp(&a.count)).then(a.offense.cmp(&b.offense)));
        let week_starts = (0..12)
            .map(|w| first_week.checked_add(jiff::Span::new().days(w * 7)).map(|d| d.to_string()).unwrap_or_default())
            .collect();
        let label = ctx
            .bodega
            .place_names(lattice.utm().epsg().code(), MICRO_PLACE, &[(ix, iy)])
            .await
            .map_err(unavailable)?
            .remove(&(ix, iy))
            .map(|n| n.label());
        Ok(CellComposition { ix, iy, label, parts, weekly: weekly.to_vec(), week_starts })
    }
}
