//! The hot-spot inputs a device keeps to find hot spots with no signal (`GET /api/field_cache`):
//! its districts' aggregates, scored on the device by `hotspot::score_cached`.

use serde::{Deserialize, Serialize};

use crate::error::{Access, ApiError};

/// What a device keeps to find hot spots with no signal: its districts' per-cell, per-day,
/// per-offence counts (no incidents, no names, no narratives) and each offence's harm weight
/// and track, scored on the device by `hotspot::score_cached`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldCache {
    /// Whose (the districts the aggregates cover; empty: the whole city).
    pub districts: Vec<String>,
    /// The aggregates.
    pub aggregates: hotspot::Aggregates,
    /// The newest day's date, `YYYY-MM-DD` (the department's local day).
    pub last_date: String,
    /// When the server made it (UTC seconds).
    pub generated_at: i64,
    /// The supervisors whose override code this device accepts (verifiers only; see
    /// `server::overrides`).
    #[serde(default)]
    pub supervisors: Vec<protocol::sync::OverrideVerifier>,
    /// The names of the places the aggregates cover, `(ix, iy, name)` (a place without one is
    /// left out), so "Hot spots near you" names them with no signal.
    #[serde(default)]
    pub place_names: Vec<(i64, i64, String)>,
    /// Each of its districts' forecast for the next 12 hours from `generated_at` (or the data's
    /// end), by the ranking its backtest chose (expected harm per cell, no incident times).
    #[serde(default)]
    pub forecasts: Vec<crate::shift::choice::DeviceForecast>,
}

/// Days of history a device keeps (the longest window it offers is 90 days; the rest feeds the
/// time decay).
pub const CACHE_DAYS: u32 = 180;

/// The field cache's server function.
pub const ENDPOINTS: &[(&str, Access)] = &[("/api/field_cache", Some(protocol::Action::ViewHotSpots))];

/// The hot-spot inputs for the caller's districts (the whole city for a user without one).
#[leptos::server(prefix = "/api", endpoint = "field_cache", input = leptos::server_fn::codec::Json)]
pub async fn get_field_cache() -> Result<FieldCache, ApiError> {
    ssr::field_cache().await
}

/// Server side of the field cache.
#[cfg(feature = "ssr")]
pub mod ssr {
    use hotspot::{Aggregates, CachedOffense, Epsg, Lattice};
    use protocol::policy::Target;
    use protocol::Action;

    use super::{FieldCache, CACHE_DAYS};
    use crate::auth::ssr::authorize;
    use crate::context::{context, unavailable};
    use crate::error::ApiError;
    use crate::geo::MICRO_PLACE;
    use crate::shift::choice::ssr::device_forecasts;

    /// Days since 1970-01-01 of a `YYYY-MM-DD` date.
    fn day_number(date: &str) -> Option<i64> {
        let d: jiff::civil::Date = date.parse().ok()?;
        Some(d.to_zoned(jiff::tz::TimeZone::UTC).ok()?.timestamp().as_second().div_euclid(86_400))
    }

    /// Builds the cache for the signed-in user.
    ///
    /// # Errors
    /// 401/403 by policy, 503 from the store.
    pub async fn field_cache() -> Result<FieldCache, ApiError> {
        let ctx = context()?;
        let grant = authorize(&ctx, Action::ViewHotSpots, Target::City, "field cache").await?;
        let districts = grant.caller.user.districts.clone();
        let tz = ctx.tz()?;
        let summary = ctx.bodega.city_summary().await.map_err(unavailable)?;
        let now = jiff::Timestamp::now().as_second();
        // The data's end, or now when the data is current.
        let end = summary.last_at.map_or(now, |t| (t + 1).min(now));
        let last_date = jiff::Timestamp::from_second(end - 1).map_err(unavailable)?.to_zoned(tz.clone()).date();
        let first_date =
            last_date.checked_sub(jiff::Span::new().days(i64::from(CACHE_DAYS) - 1)).map_err(unavailable)?;
        let from = first_date.to_zoned(tz.clone()).map_err(unavailable)?.timestamp().as_second();
        // The lattice's zone from the districts' outlines (or every district's).
        let areas = ctx.bodega.district_areas().await.map_err(unavailable)?;
        let mine: Vec<_> = areas.iter().filter(|a| districts.is_empty() || districts.contains(&a.code)).collect();
        let (w, so, e, n) = mine.iter().fold((180.0_f64, 90.0_f64, -180.0_f64, -90.0_f64), |b, a| {
            (b.0.min(a.bbox.0), b.1.min(a.bbox.1), b.2.max(a.bbox.2), b.3.max(a.bbox.3))
        });
        let (lon, lat) = if mine.is_empty() {
            // No outlines loaded: the zone of the window's incidents.
            let points = ctx.bodega.located_points(from, end).await.map_err(unavailable)?;
            let k = points.len().max(1) as f64;
            points.iter().fold((0.0, 0.0), |(a, b), (x, y)| (a + x / k, b + y / k))
        } else {
            ((w + e) / 2.0, (so + n) / 2.0)
        };
        let epsg = Epsg::for_lon_lat(lon, lat).map_err(unavailable)?;
        let lattice = Lattice::of(epsg, MICRO_PLACE);
        let mut counts = Vec::new();
        let scopes: Vec<Option<String>> =
            if districts.is_empty() { vec![None] } else { districts.iter().cloned().map(Some).collect() };
        for district in scopes {
            let filter = bodega::queries::Filter { from: Some(from), to: Some(end), district, ..Default::default() };
            counts.extend(ctx.bodega.cell_day_counts(&filter, &lattice, &tz).await.map_err(unavailable)?);
        }
        let table = ctx.bodega.active_harm_table().await.map_err(unavailable)?;
        let tracks = ctx.bodega.offense_tracks().await.map_err(unavailable)?;
        let mut offenses: Vec<CachedOffense> = Vec::new();
        let mut rows = Vec::with_capacity(counts.len());
        for c in counts {
            let Some(day) = day_number(&c.day) else { continue };
            let index = match offenses.iter().position(|o| o.offense == c.offense) {
                Some(i) => i,
                None => {
                    let track = tracks.get(&c.offense).cloned().unwrap_or_default();
                    let weight = table.weigh(&c.offense).unwrap_or(0.0);
                    offenses.push(CachedOffense { offense: c.offense.clone(), track, weight });
                    offenses.len() - 1
                }
            };
            rows.push((c.ix, c.iy, day, index as u32, c.count));
        }
        let last_day = day_number(&last_date.to_string()).unwrap_or_default();
        // The forecast starts where the aggregates end: now, or the data's end.
        let codes: Vec<String> = mine.iter().map(|a| a.code.clone()).collect();
        // A forecast that cannot be made leaves the device its kept aggregates, not nothing.
        let forecasts = device_forecasts(&ctx, &codes, end).await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "no 12-hour forecast for the field cache");
            Vec::new()
        });
        let mut cells: Vec<(i64, i64)> = rows.iter().map(|r| (r.0, r.1)).collect();
        cells.extend(forecasts.iter().flat_map(|f| f.cells.iter().map(|c| (c.0, c.1))));
        cells.sort_unstable();
        cells.dedup();
        let mut place_names: Vec<(i64, i64, String)> = ctx
            .bodega
            .place_names(epsg.code(), MICRO_PLACE, &cells)
            .await
            .map_err(unavailable)?
            .into_iter()
            .map(|((ix, iy), n)| (ix, iy, n.label()))
            .collect();
        place_names.sort_unstable();
        let supervisors = ctx.bodega.override_verifiers(&districts).await.map_err(unavailable)?;
        Ok(FieldCache {
            districts,
            aggregates: Aggregates {
                epsg: epsg.code(),
                cell_size_m: MICRO_PLACE.m(),
                harm_table: table.version().to_string(),
                last_day,
                days: CACHE_DAYS,
                offenses,
                rows,
            },
            last_date: last_date.to_string(),
            generated_at: now,
            supervisors,
            place_names,
            forecasts,
        })
    }
}
