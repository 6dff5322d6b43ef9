//! The Bodega's read API: every query other parts of Beatbook run lives here, written once for
//! both engines.

use serde::{Deserialize, Serialize};

use crate::{on_pool, Bodega, BodegaError};

/// Incidents of one offence type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OffenseCount {
    /// Offence text as recorded.
    pub offense: String,
    /// All incidents of this offence.
    pub total: i64,
    /// Those that can be mapped: with coordinates and no geocoding flag.
    pub located: i64,
}

/// What the store holds, at a glance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CitySummary {
    /// All incidents.
    pub incidents: i64,
    /// Incidents that can be mapped: with coordinates and no geocoding flag.
    pub located: i64,
    /// Incidents with coordinates that a geocoding rule flagged ((0,0), placeholder, outside).
    pub geo_flagged: i64,
    /// Earliest and latest occurrence, UTC seconds (None when empty).
    pub first_at: Option<i64>,
    /// See `first_at`.
    pub last_at: Option<i64>,
    /// Per offence, most frequent first.
    pub by_offense: Vec<OffenseCount>,
}

impl Bodega {
    /// Counts by offence and the time span of all incidents.
    ///
    /// # Errors
    /// [`BodegaError::Query`].
    pub async fn city_summary(&self) -> Result<CitySummary, BodegaError> {
        let (by_offense, span) = on_pool!(self, pool => {
            let rows: Vec<(String, i64, i64)> = sqlx::query_as(
                "SELECT offense, COUNT(*), COUNT(lat) - COUNT(geo_flag) FROM incidents \
                 GROUP BY offense ORDER BY COUNT(*) DESC, offense",
            )
            .fetch_all(pool)
            .await?;
            let span: (Option<i64>, Option<i64>, i64) =
                sqlx::query_as("SELECT MIN(occurred_at), MAX(occurred_at), COUNT(geo_flag) FROM incidents")
                    .fetch_one(pool)
                    .await?;
            (rows, span)
        });
        let by_offense: Vec<OffenseCount> =
            by_offense.into_iter().map(|(offense, total, located)| OffenseCount { offense, total, located }).collect();
        Ok(CitySummary {
            incidents: by_offense.iter().map(|o| o.total).sum(),
            located: by_offense.iter().map(|o| o.located).sum(),
            geo_flagged: span.2,
            first_at: span.0,
            last_at: span.1,
            by_offense,
        })
    }

    /// `(lon, lat)` of every mappable incident (coordinates, no geocoding flag) whose occurrence
    /// is in `[from, to)` (UTC seconds), for the scoring core. No ids, no text: nothing personal.
    ///
    /// # Errors
    /// [`BodegaError::Query`].
    pub async fn located_points(&self, from: i64, to: i64) -> Result<Vec<(f64, f64)>, BodegaError> {
        let points = on_pool!(self, pool => sqlx::query_as(
            "SELECT lon, lat FROM incidents \
             WHERE lat IS NOT NULL AND geo_flag IS NULL AND occurred_at >= $1 AND occurred_at < $2",
        )
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await?);
        Ok(points)
    }

    /// How many incidents the store holds.
    ///
    /// # Errors
    /// [`BodegaError::Query`].
    pub async fn incident_count(&self) -> Result<i64, BodegaError> {
        Ok(on_pool!(self, pool => sqlx::query_scalar("SELECT COUNT(*) FROM incidents").fetch_one(pool).await?))
    }

    /// The rows a batch rejected: `(line, field, reason)`, in file order.
    ///
    /// # Errors
    /// [`BodegaError::Query`].
    pub async fn rejected_rows(&self, batch_id: i64) -> Result<Vec<(i64, String, String)>, BodegaError> {
        Ok(on_pool!(self, pool => sqlx::query_as(
            "SELECT line, field, reason FROM rejected_rows WHERE batch_id = $1 ORDER BY line, id",
        )
        .bind(batch_id)
        .fetch_all(pool)
        .await?))
    }
}
