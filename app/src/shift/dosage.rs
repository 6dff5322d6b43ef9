//! Patrol dosage from GPS: every device's fixes projected, visits to a cell or a mission's place
//! ([`hotspot::presence`], the rules the presence dashboard shows), and the dosage per cell that
//! the recommendations weigh against the caps.

use std::collections::{BTreeMap, HashMap};

use hotspot::{Area, Epsg, Presence, Utm, VisitParams};

use crate::context::{unavailable, ServerContext};
use crate::error::ApiError;
use crate::geo::MICRO_PLACE;
use crate::shift::GpsSource;

/// One track: a device (or unit) and where its fixes came from. A device whose fixes also
/// arrive in a feed has two tracks, so every minute says its source.
pub type TrackKey = (String, GpsSource);

/// Tracks by key.
pub type Tracks = BTreeMap<TrackKey, Vec<hotspot::Fix>>;

/// The fixes in `[from, to)` that count for `district` (its officers', its missions' and the
/// feeds'; `bodega::Bodega::fixes_for_district`), projected into `utm`, by device and source.
///
/// # Errors
/// 503 from the store.
pub async fn tracks(ctx: &ServerContext, utm: &Utm, district: &str, from: i64, to: i64) -> Result<Tracks, ApiError> {
    let mut out = Tracks::new();
    for (device, feed, f) in ctx.bodega.fixes_for_district(district, from, to).await.map_err(unavailable)? {
        let Ok((x, y)) = utm.forward(f.lon, f.lat) else { continue };
        let source = if feed { GpsSource::Feed } else { GpsSource::Device };
        out.entry((device, source)).or_default().push(hotspot::Fix {
            t: f.fix_at,
            skew_s: 0,
            x,
            y,
            accuracy_m: f.accuracy_m.unwrap_or(f64::INFINITY),
        });
    }
    Ok(out)
}

/// A micro place (a cell of the lattice) as an area.
pub fn cell_area(ix: i64, iy: i64) -> Area {
    let s = MICRO_PLACE.metres();
    Area::Rect { min_x: ix as f64 * s, min_y: iy as f64 * s, max_x: (ix + 1) as f64 * s, max_y: (iy + 1) as f64 * s }
}

/// Presence at one area over every device's track, minutes when several devices were there
/// together counted once ([`hotspot::united`]).
pub fn combined(tracks: &Tracks, area: &Area, p: &VisitParams) -> Presence {
    hotspot::united(tracks.values().map(|fixes| hotspot::visits(fixes, area, p)))
}

/// GPS dosage of one cell in one window (the mission dosage is `bodega::missions::CellDosage`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GpsDosage {
    /// Visits long enough to count as Koper visits.
    pub koper_visits: i64,
    /// All visits.
    pub visits: i64,
    /// Minutes in the cell.
    pub minutes: i64,
    /// When the last visit ended (server time).
    pub last_exit: Option<i64>,
}

/// GPS dosage per cell of `district` in each of `windows` (`[from, to)` each), from one read of
/// the fixes they span.
///
/// # Errors
/// 503 from the store.
pub async fn gps_dosage(
    ctx: &ServerContext,
    epsg: Epsg,
    district: &str,
    cells: &[(i64, i64)],
    windows: &[(i64, i64)],
    p: &VisitParams,
) -> Result<Vec<HashMap<(i64, i64), GpsDosage>>, ApiError> {
    let mut out = vec![HashMap::new(); windows.len()];
    let (Some(from), Some(to)) = (windows.iter().map(|w| w.0).min(), windows.iter().map(|w| w.1).max()) else {
        return Ok(out);
    };
    let all = tracks(ctx, &Utm::new(epsg), district, from, to).await?;
    if all.is_empty() {
        return Ok(out);
    }
    for (window, dosage) in windows.iter().zip(out.iter_mut()) {
        let tracks = within(&all, window.0, window.1);
        for &(ix, iy) in cells {
            let pres = combined(&tracks, &cell_area(ix, iy), p);
            if !pres.visits.is_empty() {
                dosage.insert(
                    (ix, iy),
                    GpsDosage {
                        koper_visits: pres.koper_visits(p) as i64,
                        visits: pres.visits.len() as i64,
                        minutes: pres.dwell_s() / 60,
                        last_exit: pres.last_exit(),
                    },
                );
            }
        }
    }
    Ok(out)
}

/// The part of each track in `[from, to)` (server time).
pub fn within(tracks: &Tracks, from: i64, to: i64) -> Tracks {
    tracks
        .iter()
        .map(|(d, fixes)| {
            (d.clone(), fixes.iter().filter(|f| (from..to).contains(&f.server_t())).copied().collect::<Vec<_>>())
        })
        .filter(|(_, fixes)| !fixes.is_empty())
        .collect()
}

/// Presence of an officer at a mission's place during its shift window, from GPS.
///
/// # Errors
/// 503 when the store fails.
pub async fn mission_presence(
    ctx: &ServerContext,
    m: &protocol::mission::Mission,
    p: &VisitParams,
) -> Result<Option<Presence>, ApiError> {
    let Some(user) = m.assignee_user_id else { return Ok(None) };
    let Some((utm, area)) = crate::geo::place_area(&m.place) else { return Ok(None) };
    let fixes = ctx.bodega.fixes_of_user(user, m.window_start, m.window_end).await.map_err(unavailable)?;
    if fixes.is_empty() {
        return Ok(None);
    }
    let projected: Vec<hotspot::Fix> = fixes
        .iter()
        .filter_map(|f| {
            let (x, y) = utm.forward(f.lon, f.lat).ok()?;
            Some(hotspot::Fix { t: f.fix_at, skew_s: 0, x, y, accuracy_m: f.accuracy_m.unwrap_or(f64::INFINITY) })
        })
        .collect();
    Ok(Some(hotspot::visits(&projected, &area, p)))
}
