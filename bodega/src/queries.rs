//! The Bodega's read API: every query other parts of Beatbook run lives here, written once for
//! both engines.

use serde::{Deserialize, Serialize};

use crate::on_pool;
use crate::store::{Bodega, BodegaError};

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

/// Appends the conditions of a [`Filter`] that are set, each as a bound parameter, so that the
/// engines can use their indexes (a `$n IS NULL OR …` form would defeat them).
macro_rules! push_filter {
    ($qb:ident, $filter:expr) => {{
        let f: &Filter = $filter;
        if let Some(from) = f.from {
            $qb.push(" AND occurred_at >= ").push_bind(from);
        }
        if let Some(to) = f.to {
            $qb.push(" AND occurred_at < ").push_bind(to);
        }
        if let Some(d) = &f.district {
            $qb.push(" AND district_code = ").push_bind(d.clone());
        }
        if let Some(o) = &f.offense {
            $qb.push(" AND offense = ").push_bind(o.clone());
        }
        if let Some(c) = &f.harm_category {
            $qb.push(" AND harm_category = ").push_bind(c.clone());
        }
        if let Some((min_lon, min_lat, max_lon, max_lat)) = f.bbox {
            $qb.push(" AND lon >= ").push_bind(min_lon).push(" AND lon <= ").push_bind(max_lon);
            $qb.push(" AND lat >= ").push_bind(min_lat).push(" AND lat <= ").push_bind(max_lat);
        }
    }};
}

/// Incidents of one offence in one micro place on one local day: what the scoring core and the
/// officers' devices work from. Aggregates only — no ids, no text beyond the offence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CellDayCount {
    /// Lattice column (⌊easting / size⌋).
    pub ix: i64,
    /// Lattice row (⌊northing / size⌋).
    pub iy: i64,
    /// Local date in the department's zone, `YYYY-MM-DD`.
    pub day: String,
    /// Offence text.
    pub offense: String,
    /// Incidents.
    pub count: u32,
}

/// A selection of incidents.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// Occurred at or after (UTC seconds).
    pub from: Option<i64>,
    /// Occurred before (UTC seconds).
    pub to: Option<i64>,
    /// District code as the source gave it.
    pub district: Option<String>,
    /// Offence text.
    pub offense: Option<String>,
    /// `(min_lon, min_lat, max_lon, max_lat)`.
    pub bbox: Option<(f64, f64, f64, f64)>,
    /// Harm track: `violent`, `property` or `quality_of_life` (see [`crate::classify`]).
    pub harm_category: Option<String>,
}

impl Bodega {
    /// Mappable incidents (coordinates, no geocoding flag) matching `filter`, as
    /// `(lon, lat, occurred_at, offense)`.
    ///
    /// # Errors
    /// [`BodegaError::Query`].
    pub async fn mappable_incidents(&self, filter: &Filter) -> Result<Vec<(f64, f64, i64, String)>, BodegaError> {
        Ok(on_pool!(self, pool => {
            let mut qb = sqlx::QueryBuilder::new(
                "SELECT lon, lat, occurred_at, offense FROM incidents WHERE lat IS NOT NULL AND geo_flag IS NULL",
            );
            push_filter!(qb, filter);
            qb.build_query_as().fetch_all(pool).await
        })?)
    }

    /// Per-cell, per-local-day, per-offence counts of the mappable incidents matching `filter`,
    /// on `lattice`, sorted by cell, day and offence, counted from the incidents themselves. The
    /// product reads [`Bodega::cell_day_counts`], which answers from stored counts where it can
    /// and equals this.
    ///
    /// # Errors
    /// [`BodegaError::Query`].
    pub async fn cell_day_counts_from_incidents(
        &self,
        filter: &Filter,
        lattice: &hotspot::Lattice,
        tz: &jiff::tz::TimeZone,
    ) -> Result<Vec<CellDayCount>, BodegaError> {
        let rows = self.mappable_incidents(filter).await?;
        let mut counts: std::collections::BTreeMap<(i64, i64, String, String), u32> = std::collections::BTreeMap::new();
        for (lon, lat, t, offense) in rows {
            let Ok(key) = lattice.key_of(lon, lat) else { continue };
            let Ok(ts) = jiff::Timestamp::from_second(t) else { continue };
            let day = tz.to_datetime(ts).date().to_string();
            *counts.entry((key.ix, key.iy, day, offense)).or_default() += 1;
        }
        Ok(counts
            .into_iter()
            .map(|((ix, iy, day, offense), count)| CellDayCount { ix, iy, day, offense, count })
            .collect())
    }

    /// Incidents per offence matching `filter` (all of them, mapped or not), most first.
    ///
    /// # Errors
    /// [`BodegaError::Query`].
    pub async fn counts_by_offense(&self, filter: &Filter) -> Result<Vec<(String, i64)>, BodegaError> {
        Ok(on_pool!(self, pool => {
            let mut qb = sqlx::QueryBuilder::new("SELECT offense, COUNT(*) FROM incidents WHERE 1 = 1");
            push_filter!(qb, filter);
            qb.push(" GROUP BY offense ORDER BY COUNT(*) DESC, offense");
            qb.build_query_as().fetch_all(pool).await
        })?)
    }

    /// Located calls for service received in `[from, to)` (inside `bbox` when given), as
    /// `(lon, lat, received_at, call_type)`.
    ///
    /// # Errors
    /// [`BodegaError::Query`].
    pub async fn mappable_calls(
        &self,
        from: i64,
        to: i64,
        bbox: Option<(f64, f64, f64, f64)>,
    ) -> Result<Vec<(f64, f64, i64, String)>, BodegaError> {
        Ok(on_pool!(self, pool => {
            let mut qb = sqlx::QueryBuilder::new(
                "SELECT lon, lat, received_at, call_type FROM calls_for_service \
                 WHERE lat IS NOT NULL AND geo_flag IS NULL AND received_at >= ");
            qb.push_bind(from).push(" AND received_at < ").push_bind(to);
            if let Some((w, s, e, n)) = bbox {
                qb.push(" AND lon >= ").push_bind(w).push(" AND lon <= ").push_bind(e);
                qb.push(" AND lat >= ").push_bind(s).push(" AND lat <= ").push_bind(n);
            }
            qb.build_query_as().fetch_all(pool).await
        })?)
    }
}
