//! A district's micro places ranked by harm for a shift: the harm over the [`WINDOW_DAYS`] days
//! before the shift (ending with the data when the data ends earlier), incidents inside the
//! district's polygon, binned on the global 150 m lattice. What the recommendations propose and
//! what the presence dashboard measures patrol against.

use std::collections::{BTreeMap, HashMap};

use geo::Contains;
use hotspot::{Epsg, Lattice};

use super::ssr::{dosage_rules, shift_window};
use super::{ShiftRef, WINDOW_DAYS};
use crate::context::{fail, unavailable, ServerContext};
use crate::error::ApiError;
use crate::geo::MICRO_PLACE;

/// One ranked place.
#[derive(Debug, Clone, PartialEq)]
pub struct RankedPlace {
    /// 1 = most harm.
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
    /// Harm in the window.
    pub harm: f64,
    /// Incidents by offence text.
    pub by_offense: BTreeMap<String, u32>,
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
    /// The places, most harm first (at most the dosage rules' places per shift).
    pub places: Vec<RankedPlace>,
    /// The dosage rules in force, which sized the list.
    pub rules: protocol::setup::DosageRules,
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
    let from = to - WINDOW_DAYS * 86_400;
    let (w, so, e, n) = district.bbox;
    let filter =
        bodega::queries::Filter { from: Some(from), to: Some(to), bbox: Some((w, so, e, n)), ..Default::default() };
    let points = ctx.bodega.mappable_incidents(&filter).await.map_err(unavailable)?;
    let epsg = Epsg::for_lon_lat((w + e) / 2.0, (so + n) / 2.0).map_err(unavailable)?;
    let lattice = Lattice::of(epsg, MICRO_PLACE);
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
    let rules = dosage_rules(ctx).await?;
    ranked.truncate(usize::try_from(rules.places_per_shift).unwrap_or(0));
    let cells: Vec<(i64, i64)> = ranked.iter().map(|r| r.0).collect();
    let names = ctx.bodega.place_names(epsg.code(), MICRO_PLACE, &cells).await.map_err(unavailable)?;
    let places = ranked
        .into_iter()
        .enumerate()
        .map(|(i, ((ix, iy), harm, by_offense))| {
            let key = hotspot::CellKey { epsg, size_m: MICRO_PLACE.m(), ix, iy };
            let b = lattice.bounds(key);
            let (cx, cy) = ((b.min().x + b.max().x) / 2.0, (b.min().y + b.max().y) / 2.0);
            let (lon, lat) = lattice.utm().inverse(cx, cy);
            let label = names
                .get(&(ix, iy))
                .map(bodega::places::PlaceName::label)
                .unwrap_or_else(|| bodega::places::fallback_label(&district.code, ix, iy));
            RankedPlace { rank: i as u32 + 1, ix, iy, label, lat, lon, harm, by_offense }
        })
        .collect();
    Ok(Ranking {
        district,
        epsg,
        shift: (shift_start, shift_end),
        window: (from, to),
        window_moved_to_data,
        harm_table: table.version().to_string(),
        places,
        rules,
    })
}
