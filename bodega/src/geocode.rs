//! Geocoding rules: which coordinates the Bodega keeps but does not map or score.
//!
//! - `null_island`: (0, 0), what many exports write for "no location".
//! - `placeholder`: within a radius of a location the records system uses for "unknown"
//!   (Vancouver's `X NK_LOC ST` block, geocoded near 312 Main Street, is the demo's example).
//! - `outside_boundary`: outside the department's boundary (a `districts` row of kind
//!   `boundary`), when one is loaded.
//!
//! Flagged incidents stay in the Bodega with their flag — nothing is lost — and every scoring
//! query leaves them out.

use geo::{Contains, Coord, MultiPolygon, Point};
use serde::{Deserialize, Serialize};

use crate::store::{Bodega, BodegaError};
use crate::{on_pool, on_writer};

/// The settings key holding the placeholder locations (JSON array of [`Placeholder`]).
pub const PLACEHOLDERS_KEY: &str = "geocoding.placeholders";

/// A location the records system uses when it does not know where something happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Placeholder {
    /// What it stands for, e.g. `X NK_LOC ST (unknown location)`.
    pub label: String,
    /// WGS84 latitude.
    pub lat: f64,
    /// WGS84 longitude.
    pub lon: f64,
    /// Points within this many metres are flagged.
    pub radius_m: f64,
}

/// The rules in force for one load.
#[derive(Debug, Clone, Default)]
pub struct GeoRules {
    /// Known placeholder locations.
    pub placeholders: Vec<Placeholder>,
    /// The department's boundary, if loaded.
    pub boundary: Option<MultiPolygon<f64>>,
}

/// Metres between two WGS84 points (haversine on the mean Earth radius; ample for flagging).
fn distance_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let (dp, dl) = ((lat2 - lat1).to_radians(), (lon2 - lon1).to_radians());
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * 6_371_008.8 * a.sqrt().asin()
}

impl GeoRules {
    /// The flag for a coordinate, or `None` when it may be mapped and scored.
    pub fn flag(&self, lat: f64, lon: f64) -> Option<&'static str> {
        if lat.abs() < 1e-9 && lon.abs() < 1e-9 {
            return Some("null_island");
        }
        if self.placeholders.iter().any(|p| distance_m(lat, lon, p.lat, p.lon) <= p.radius_m) {
            return Some("placeholder");
        }
        match &self.boundary {
            Some(b) if !b.contains(&Point(Coord { x: lon, y: lat })) => Some("outside_boundary"),
            _ => None,
        }
    }
}

/// Parses a GeoJSON Polygon or MultiPolygon geometry (or a Feature holding one).
///
/// # Errors
/// A message naming what the GeoJSON holds instead.
pub fn parse_area(geojson_text: &str) -> Result<MultiPolygon<f64>, String> {
    let value: geojson::GeoJson = geojson_text.parse().map_err(|e| format!("not GeoJSON: {e}"))?;
    let geometry = match value {
        geojson::GeoJson::Geometry(g) => g,
        geojson::GeoJson::Feature(f) => f.geometry.ok_or("the feature has no geometry")?,
        geojson::GeoJson::FeatureCollection(_) => return Err("expected one geometry, found a FeatureCollection".into()),
    };
    let kind = geometry.value.type_name().to_string();
    match geo::Geometry::<f64>::try_from(geometry).map_err(|e| e.to_string())? {
        geo::Geometry::Polygon(p) => Ok(MultiPolygon(vec![p])),
        geo::Geometry::MultiPolygon(m) => Ok(m),
        _ => Err(format!("expected a Polygon or MultiPolygon, found a {kind}")),
    }
}

impl Bodega {
    /// Sets a department setting.
    ///
    /// # Errors
    /// [`BodegaError::Query`].
    pub async fn set_setting(&self, key: &str, value: &str) -> Result<(), BodegaError> {
        on_writer!(self, pool => sqlx::query(
            "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(key)
        .bind(value)
        .bind(crate::store::now_seconds())
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// Reads a department setting.
    ///
    /// # Errors
    /// [`BodegaError::Query`].
    pub async fn setting(&self, key: &str) -> Result<Option<String>, BodegaError> {
        Ok(on_pool!(self, pool => sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
            .bind(key)
            .fetch_optional(pool)
            .await)?)
    }

    /// The geocoding rules in force: placeholder locations from the settings and the boundary.
    ///
    /// # Errors
    /// [`BodegaError::Query`]; a setting or boundary that does not parse is logged and ignored
    /// rather than stopping every load.
    pub async fn geo_rules(&self) -> Result<GeoRules, BodegaError> {
        let placeholders = match self.setting(PLACEHOLDERS_KEY).await? {
            Some(json) => serde_json::from_str(&json).unwrap_or_else(|e| {
                tracing::warn!(error = %e, "the placeholder-location setting does not parse; ignoring it");
                Vec::new()
            }),
            None => Vec::new(),
        };
        let boundary: Option<String> = on_pool!(self, pool => sqlx::query_scalar(
            "SELECT geojson FROM districts WHERE kind = 'boundary' ORDER BY id LIMIT 1",
        )
        .fetch_optional(pool)
        .await)?;
        let boundary = boundary.and_then(|text| match parse_area(&text) {
            Ok(area) => Some(area),
            Err(e) => {
                tracing::warn!(error = %e, "the department boundary does not parse; not applying it");
                None
            }
        });
        Ok(GeoRules { placeholders, boundary })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square() -> MultiPolygon<f64> {
        parse_area(r#"{"type":"Polygon","coordinates":[[[-123.3,49.1],[-122.9,49.1],[-122.9,49.4],[-123.3,49.4],[-123.3,49.1]]]}"#)
            .expect("polygon")
    }

    #[test]
    fn flags_null_island_placeholders_and_outside_points() {
        let rules = GeoRules {
            placeholders: vec![Placeholder {
                label: "NK_LOC".into(),
                lat: 49.281_85,
                lon: -123.099_52,
                radius_m: 15.0,
            }],
            boundary: Some(square()),
        };
        assert_eq!(rules.flag(0.0, 0.0), Some("null_island"));
        assert_eq!(rules.flag(49.281_851, -123.099_466), Some("placeholder"), "4 m away");
        assert_eq!(rules.flag(49.281_843, -123.099_582), Some("placeholder"), "5 m away");
        assert_eq!(rules.flag(49.2820, -123.0990), None, "a real block 40 m away");
        assert_eq!(rules.flag(47.6, -122.3), Some("outside_boundary"), "Seattle");
        assert_eq!(GeoRules::default().flag(47.6, -122.3), None, "no boundary loaded: nothing is outside");
    }

    #[test]
    fn areas_must_be_polygons() {
        assert!(parse_area(r#"{"type":"Feature","properties":{},"geometry":{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,0]]]]}}"#).is_ok());
        let err = parse_area(r#"{"type":"LineString","coordinates":[[0,0],[1,1]]}"#).expect_err("a line");
        assert!(err.contains("LineString"), "{err}");
        assert!(parse_area("{nope").expect_err("junk").contains("not GeoJSON"));
    }
}
