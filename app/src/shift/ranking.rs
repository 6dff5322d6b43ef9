//! A district's micro places ranked for a shift by the method its backtest chose
//! ([`super::choice`]; harm over the [`WINDOW_DAYS`] days before the shift until one is run),
//! from the days before the shift (ending with the data when the data ends earlier), incidents
//! (and with the calls track on, the calls it weighs: [`super::choice::ssr::Weigh::located`])
//! inside the district's polygon, binned on the global 150 m lattice. What the recommendations
//! propose and what the presence dashboard measures patrol against.
//!
//! A place is ranked only where something that carries harm happened in the method's window:
//! a recommendation names a place with a record, even when a smoothed method ranks.
//!
//! Each ranked place also carries when its harm happens: of its incidents in the
//! [`COMPOSITION_DAYS`] days before the shift, how many fell within the shift's hours (local
//! wall-clock, across midnight for a night shift). That is the reason shown, never the score:
//! 28 days sliced by hour leave too few incidents per cell to rank on.

use std::collections::{BTreeMap, HashMap};

use geo::Contains;
use hotspot::backtest::Method;
use hotspot::{Epsg, Lattice};

use super::choice::ssr::{basis_for, city_forecast, Weigh};
use super::choice::{RankBasis, TRAINING_DAYS};
use super::ssr::{pattern_of, shift_window};
use super::ShiftRef;
#[cfg(doc)]
use super::WINDOW_DAYS;
use crate::context::{fail, unavailable, ServerContext};
use crate::error::ApiError;
use crate::geo::MICRO_PLACE;

/// Days of incidents the time-of-day composition reads.
pub const COMPOSITION_DAYS: i64 = 90;

/// When a place's harm happens, against the shift's hours.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShiftHours {
    /// Incidents in the [`COMPOSITION_DAYS`] days before the shift (or the data's end).
    pub incidents: u32,
    /// Of those, how many happened within the shift's local hours.
    pub in_hours: u32,
    /// The shift's hours, "14:00–22:00".
    pub hours: String,
}

/// Whether a local time of day (minutes after midnight) falls in `[start, end)`, the range
/// running past midnight when it ends before it starts (a night shift).
pub fn within_hours(minute: i32, start: i32, end: i32) -> bool {
    if start <= end {
        (start..end).contains(&minute)
    } else {
        minute >= start || minute < end
    }
}

fn minutes_of(hhmm: &str) -> Option<i32> {
    let (h, m) = hhmm.trim().split_once(':')?;
    Some(h.parse::<i32>().ok()? * 60 + m.parse::<i32>().ok()?)
}

/// One ranked place.
#[derive(Debug, Clone, PartialEq)]
pub struct RankedPlace {
    /// 1 = first by the ranking's method.
    pub rank: u32,
    /// Lattice column.
    pub ix: i64,
    /// Lattice row.
    pub iy: i64,
    /// Its name ("10XX Alberni St (West End)"), or the district and grid reference.
    pub label: String,
    /// Centre latitude.
    pub lat: f64,
    /// Centre longitude.
    pub lon: f64,
    /// What it was ranked on: incidents, harm, or the method's forecast for the shift.
    pub score: f64,
    /// Harm in the window, each offence's table weight times command's weight for its track
    /// (see [`protocol::setup::DosageRules::track_weight`]), and with the calls track on each
    /// call's weight in the department's call table times command's weight for calls.
    pub harm: f64,
    /// Incidents by offence text; with the calls track on, also the calls it weighs, by type
    /// ("call for service: " and the call type).
    pub by_offense: BTreeMap<String, u32>,
    /// Of those, calls for service (0 with the calls track off).
    pub calls: u32,
    /// When its harm happens, against the shift's hours.
    pub shift_hours: ShiftHours,
    /// Its harm by track (`violent`, `property`, `quality_of_life`; `unclassified` for
    /// offences no map knows), weighted as the ranking weighs it.
    pub harm_by_track: BTreeMap<String, f64>,
}

impl RankedPlace {
    /// The track with the most harm here (ties to violent, then property, then quality of
    /// life), if any classified harm.
    pub fn dominant_track(&self) -> Option<&'static str> {
        ["violent", "property", "quality_of_life"]
            .into_iter()
            .map(|t| (t, self.harm_by_track.get(t).copied().unwrap_or(0.0)))
            .filter(|(_, h)| *h > 0.0)
            .fold(None, |best: Option<(&'static str, f64)>, (t, h)| match best {
                Some((_, b)) if b >= h => best,
                _ => Some((t, h)),
            })
            .map(|(t, _)| t)
    }
}

/// What one cell had in the ranking's window.
#[derive(Default)]
struct CellRecord {
    /// Its harm under the weights in force.
    harm: f64,
    /// Incidents (and calls) that carry harm: what a count ranks by.
    carrying: u32,
    /// What happened, by offence (or "call for service: " and the call type).
    by_offense: BTreeMap<String, u32>,
    /// Its harm by track.
    harm_by_track: BTreeMap<String, f64>,
    /// Calls among `by_offense`.
    calls: u32,
}

/// A district's top places for one shift, with the window they were ranked on.
#[derive(Debug, Clone)]
pub struct Ranking {
    /// The district (name, polygon, box).
    pub district: bodega::missions::DistrictArea,
    /// The lattice's UTM zone.
    pub epsg: Epsg,
    /// The shift's window, UTC seconds.
    pub shift: (i64, i64),
    /// The ranking window `[from, to)`, UTC seconds.
    pub window: (i64, i64),
    /// True when the data ends before the shift, so the window ends with the data.
    pub window_moved_to_data: bool,
    /// The harm table and version that ranked the places.
    pub harm_table: String,
    /// The places, best first by the ranking's method (at most the dosage rules' places per
    /// shift).
    pub places: Vec<RankedPlace>,
    /// The dosage rules in force, which sized the list.
    pub rules: protocol::setup::DosageRules,
    /// The method that ranked, and why.
    pub basis: RankBasis,
}

/// Ranks a district's places for a shift.
///
/// # Errors
/// 404 unknown district, 422 bad shift/date, 503.
pub async fn rank_places(ctx: &ServerContext, s: &ShiftRef) -> Result<Ranking, ApiError> {
    let district = ctx
        .bodega
        .district_area(&s.district)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| fail(ApiError::NotFound(format!("no district '{}'", s.district))))?;
    let (shift_start, shift_end) = shift_window(ctx, s).await?;
    let summary = ctx.bodega.city_summary().await.map_err(unavailable)?;
    let data_end = summary.last_at.map(|t| t + 1).unwrap_or(shift_start);
    let window_moved_to_data = data_end < shift_start;
    let to = shift_start.min(data_end);
    let weights = Weigh::load(ctx).await?;
    let mut basis = basis_for(ctx, &s.district, &weights).await?;
    let from = to - i64::from(basis.method.history_days(TRAINING_DAYS)) * 86_400;
    let (w, so, e, n) = district.bbox;
    // One read serves the ranking's window and the time-of-day composition's, whichever is longer.
    let composition_from = to - COMPOSITION_DAYS * 86_400;
    let filter = bodega::queries::Filter {
        from: Some(from.min(composition_from)),
        to: Some(to),
        bbox: Some((w, so, e, n)),
        ..Default::default()
    };
    let mut points = weights.located(ctx, &filter).await?;
    points.retain(|p| district.area.contains(&geo::Point::new(p.lon, p.lat)));
    let epsg = Epsg::for_lon_lat((w + e) / 2.0, (so + n) / 2.0).map_err(unavailable)?;
    let lattice = Lattice::of(epsg, MICRO_PLACE);
    let rules = *weights.rules();
    let mut cells: HashMap<(i64, i64), CellRecord> = HashMap::new();
    for p in points.iter().filter(|p| p.t >= from) {
        let Ok(key) = lattice.key_of(p.lon, p.lat) else { continue };
        let cell = cells.entry((key.ix, key.iy)).or_default();
        cell.harm += p.harm;
        cell.carrying += u32::from(p.harm > 0.0);
        *cell.by_offense.entry(p.what.clone()).or_default() += 1;
        *cell.harm_by_track.entry(p.track.clone()).or_default() += p.harm;
        cell.calls += u32::from(p.call);
    }
    let forecast = match basis.method {
        Method::Count { .. } | Method::Harm { .. } => None,
        method => match city_forecast(ctx, &weights, method, to, shift_end - shift_start).await? {
            Ok(f) => Some(f),
            Err(e) => {
                // The model could not rank this shift: said on the plan, and the long count ranks.
                basis = RankBasis {
                    method: Method::Count { days: TRAINING_DAYS },
                    why: format!("{e}; ranked by the incident count over {TRAINING_DAYS} days instead"),
                };
                None
            }
        },
    };
    let mut ranked: Vec<((i64, i64), f64, CellRecord)> = cells
        .into_iter()
        .map(|(k, cell)| {
            let score = match (&forecast, basis.method) {
                (Some(f), _) => f.at(epsg, k.0, k.1),
                (None, Method::Count { .. }) => f64::from(cell.carrying),
                (None, _) => cell.harm,
            };
            (k, score, cell)
        })
        .collect();
    let seen = |c: &CellRecord| c.by_offense.values().sum::<u32>();
    ranked.sort_by(|a, b| {
        b.1.total_cmp(&a.1)
            .then_with(|| b.2.harm.total_cmp(&a.2.harm))
            .then_with(|| seen(&b.2).cmp(&seen(&a.2)))
            .then_with(|| a.0.cmp(&b.0))
    });
    // A place with no harm under command's weights (only offences of a track weighed 0) is not
    // ranked at all: 0 leaves the track out.
    ranked.retain(|r| r.2.harm > 0.0);
    ranked.truncate(usize::try_from(rules.places_per_shift).unwrap_or(0));
    let cells: Vec<(i64, i64)> = ranked.iter().map(|r| r.0).collect();
    let names = ctx.bodega.place_names(epsg.code(), MICRO_PLACE, &cells).await.map_err(unavailable)?;
    // The time-of-day composition of the ranked cells, over a longer window.
    let (pattern, _) = pattern_of(ctx, s).await?;
    let (start_min, end_min) = (minutes_of(&pattern.starts_local), minutes_of(&pattern.ends_local));
    let hours = format!("{}–{}", pattern.starts_local, pattern.ends_local);
    let tz = ctx.tz()?;
    let mut composition: HashMap<(i64, i64), ShiftHours> =
        cells.iter().map(|c| (*c, ShiftHours { hours: hours.clone(), ..ShiftHours::default() })).collect();
    for p in points.iter().filter(|p| p.t >= composition_from && !p.call) {
        let Ok(key) = lattice.key_of(p.lon, p.lat) else { continue };
        let Some(c) = composition.get_mut(&(key.ix, key.iy)) else { continue };
        c.incidents += 1;
        let local = jiff::Timestamp::from_second(p.t).map(|ts| ts.to_zoned(tz.clone()));
        if let (Ok(z), Some(a), Some(b)) = (local, start_min, end_min) {
            if within_hours(i32::from(z.hour()) * 60 + i32::from(z.minute()), a, b) {
                c.in_hours += 1;
            }
        }
    }
    let places = ranked
        .into_iter()
        .enumerate()
        .map(|(i, ((ix, iy), score, cell))| {
            let key = hotspot::CellKey { epsg, size_m: MICRO_PLACE.m(), ix, iy };
            let b = lattice.bounds(key);
            let (cx, cy) = ((b.min().x + b.max().x) / 2.0, (b.min().y + b.max().y) / 2.0);
            let (lon, lat) = lattice.utm().inverse(cx, cy);
            let label = names
                .get(&(ix, iy))
                .map(bodega::places::PlaceName::label)
                .unwrap_or_else(|| bodega::places::fallback_label(&district.code, ix, iy));
            let shift_hours = composition.remove(&(ix, iy)).unwrap_or_default();
            RankedPlace {
                rank: i as u32 + 1,
                ix,
                iy,
                label,
                lat,
                lon,
                score,
                harm: cell.harm,
                by_offense: cell.by_offense,
                calls: cell.calls,
                shift_hours,
                harm_by_track: cell.harm_by_track,
            }
        })
        .collect();
    Ok(Ranking {
        district,
        epsg,
        shift: (shift_start, shift_end),
        window: (from, to),
        window_moved_to_data,
        harm_table: weights.table_version(),
        places,
        rules,
        basis,
    })
}

#[cfg(test)]
mod tests {
    use super::within_hours;

    #[test]
    fn a_day_shift_is_half_open_and_a_night_shift_runs_past_midnight() {
        let (two_pm, ten_pm) = (14 * 60, 22 * 60);
        assert!(within_hours(two_pm, two_pm, ten_pm));
        assert!(within_hours(ten_pm - 1, two_pm, ten_pm));
        assert!(!within_hours(ten_pm, two_pm, ten_pm), "the end is the next shift's");
        assert!(!within_hours(two_pm - 1, two_pm, ten_pm));
        let six_am = 6 * 60;
        assert!(within_hours(23 * 60, ten_pm, six_am));
        assert!(within_hours(0, ten_pm, six_am));
        assert!(within_hours(six_am - 1, ten_pm, six_am));
        assert!(!within_hours(six_am, ten_pm, six_am));
        assert!(!within_hours(12 * 60, ten_pm, six_am));
    }
}
