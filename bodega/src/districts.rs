//! Districts, zones and the department boundary from GeoJSON.
//!
//! A FeatureCollection whose features are Polygons or MultiPolygons (WGS84, RFC 7946), each with
//! a code property (and optionally a name). Loading is all-or-nothing: a feature with another
//! geometry type, no code, or a repeated code rejects the whole file with its index named, and
//! nothing is stored. Districts are upserted by code, so re-loading a corrected file replaces
//! the shapes.

use geo::BoundingRect;
use serde::Serialize;

use crate::geocode::parse_area;
use crate::store::{begin_write, now_seconds, Bodega, BodegaError};
use crate::{on_pool, on_writer};

/// Why a districts file cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum DistrictError {
    /// Not GeoJSON, or not a FeatureCollection.
    #[error("not a GeoJSON FeatureCollection: {0}")]
    NotFeatureCollection(String),
    /// One feature cannot be used; nothing was stored.
    #[error("feature {index}: {reason}; nothing was loaded")]
    Feature {
        /// 0-based index in the collection.
        index: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// The collection has no feature.
    #[error("the FeatureCollection has no features")]
    Empty,
    /// `kind` is not district, zone or boundary.
    #[error("kind must be district, zone or boundary, got '{0}'")]
    Kind(String),
    /// The database failed; nothing was stored.
    #[error(transparent)]
    Store(#[from] BodegaError),
}

impl From<sqlx::Error> for DistrictError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(BodegaError::Query(e))
    }
}

/// What a load did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DistrictSummary {
    /// Features stored (new or replaced).
    pub loaded: usize,
}

struct Parsed {
    code: String,
    name: String,
    geojson: String,
    bbox: (f64, f64, f64, f64),
}

fn property(feature: &geojson::Feature, key: &str) -> Option<String> {
    feature.properties.as_ref()?.get(key).and_then(|v| match v {
        serde_json::Value::String(s) => Some(s.trim().to_string()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

/// Loads districts (or zones, or the boundary) from a GeoJSON FeatureCollection.
///
/// # Errors
/// [`DistrictError`]; on any error nothing is stored.
pub async fn load_districts(
    bodega: &Bodega,
    text: &str,
    kind: &str,
    code_property: &str,
    name_property: &str,
) -> Result<DistrictSummary, DistrictError> {
    if !["district", "zone", "boundary"].contains(&kind) {
        return Err(DistrictError::Kind(kind.into()));
    }
    let collection = match text.parse::<geojson::GeoJson>() {
        Ok(geojson::GeoJson::FeatureCollection(fc)) => fc,
        Ok(other) => {
            let what = match other {
                geojson::GeoJson::Geometry(_) => "a bare Geometry",
                _ => "a single Feature",
            };
            return Err(DistrictError::NotFeatureCollection(format!("found {what}")));
        }
        Err(e) => return Err(DistrictError::NotFeatureCollection(e.to_string())),
    };
    if collection.features.is_empty() {
        return Err(DistrictError::Empty);
    }
    let mut parsed: Vec<Parsed> = Vec::new();
    for (index, feature) in collection.features.iter().enumerate() {
        let bad = |reason: String| DistrictError::Feature { index, reason };
        let code = property(feature, code_property)
            .filter(|c| !c.is_empty())
            .ok_or_else(|| bad(format!("no '{code_property}' property to use as the code")))?;
        if parsed.iter().any(|p| p.code == code) {
            return Err(bad(format!("code '{code}' appears twice")));
        }
        let geometry = feature.geometry.as_ref().ok_or_else(|| bad("no geometry".into()))?;
        let geojson = geometry.to_string();
        let area = parse_area(&geojson).map_err(|e| bad(format!("code '{code}': {e}")))?;
        let rect = area.bounding_rect().ok_or_else(|| bad(format!("code '{code}': the polygon is empty")))?;
        let (min, max) = (rect.min(), rect.max());
        if min.x < -180.0 || max.x > 180.0 || min.y < -90.0 || max.y > 90.0 {
            return Err(bad(format!("code '{code}': coordinates are not WGS84 longitude/latitude")));
        }
        let name = property(feature, name_property).unwrap_or_else(|| code.clone());
        parsed.push(Parsed { code, name, geojson, bbox: (min.x, min.y, max.x, max.y) });
    }
    on_writer!(bodega, pool => {
        let mut tx = begin_write(pool).await?;
        let batch_id: i64 = sqlx::query_scalar(
            "INSERT INTO ingest_batches (kind, source, file_name, sha256, started_at, outcome) \
             VALUES ('districts', $1, '', '', $2, 'ok') RETURNING id",
        )
        .bind(kind)
        .bind(now_seconds())
        .fetch_one(&mut *tx)
        .await?;
        for p in &parsed {
            sqlx::query(
                "INSERT INTO districts (code, name, kind, geojson, min_lon, min_lat, max_lon, max_lat, batch_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 ON CONFLICT (code) DO UPDATE SET name = excluded.name, kind = excluded.kind, \
                 geojson = excluded.geojson, min_lon = excluded.min_lon, min_lat = excluded.min_lat, \
                 max_lon = excluded.max_lon, max_lat = excluded.max_lat, batch_id = excluded.batch_id",
            )
            .bind(&p.code)
            .bind(&p.name)
            .bind(kind)
            .bind(&p.geojson)
            .bind(p.bbox.0)
            .bind(p.bbox.1)
            .bind(p.bbox.2)
            .bind(p.bbox.3)
            .bind(batch_id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
    });
    // Incidents loaded before their district existed are placed in it now.
    if kind == "district" {
        bodega.assign_districts().await?;
    }
    Ok(DistrictSummary { loaded: parsed.len() })
}

impl Bodega {
    /// `(code, name, kind)` of every district, zone and boundary, by code.
    ///
    /// # Errors
    /// [`BodegaError::Query`].
    pub async fn districts(&self) -> Result<Vec<(String, String, String)>, BodegaError> {
        Ok(on_pool!(self, pool => sqlx::query_as("SELECT code, name, kind FROM districts ORDER BY code")
            .fetch_all(pool)
            .await)?)
    }
}
