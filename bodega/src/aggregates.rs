//! Stored per-cell, per-local-day, per-offence counts of each district's mappable incidents —
//! what the scoring core and the officers' devices read ([`Bodega::cell_day_counts`]).
//!
//! Counting a district-year from the incidents means reading every incident of it (243,300 rows
//! for the benchmark's busiest district, most of the 0.9 s that took); the counts themselves are
//! few (8,341 rows there). So each district's counts are kept in `cell_day_counts`, per lattice
//! and time zone, and rebuilt when its incidents change:
//!
//! - every change to a district's incidents moves that district's counter in
//!   `cell_day_versions` *in the same transaction* (the ingest for the districts of the rows it
//!   wrote, district assignment for the districts it filled); a load that changed incidents
//!   already stored moves `'*'`, because an edited incident may have left any district;
//! - a read compares the counters with those the stored counts were built from
//!   (`cell_day_built`) and rebuilds the district first when they differ (reading the counters
//!   before the incidents, so a change made during a rebuild causes another one, never a stale
//!   answer);
//! - a window's partial first or last day is counted from the incidents, and so is a selection
//!   the stored counts cannot answer — no district, an offence, a track or a box
//!   ([`Bodega::cell_day_counts_from_incidents`]); the two ways always agree (tested on both
//!   engines).

use crate::queries::{CellDayCount, Filter};
use crate::store::{begin_write, Bodega, BodegaError};
use crate::{on_pool, on_writer};

/// The counter that every district's stored counts also depend on.
pub const ALL_DISTRICTS: &str = "*";

/// Moves the counters of `districts` (an iterator of `&String`) inside the transaction `tx`.
#[doc(hidden)]
#[macro_export]
macro_rules! bump_cell_days {
    ($tx:expr, $districts:expr) => {
        for district in $districts {
            sqlx::query(
                "INSERT INTO cell_day_versions (district_code, version) VALUES ($1, 1) \
                 ON CONFLICT (district_code) DO UPDATE SET version = cell_day_versions.version + 1",
            )
            .bind(district.as_str())
            .execute(&mut *$tx)
            .await?;
        }
    };
}

/// The start (local midnight) of the local day holding `t`, and that day.
fn day_start(t: i64, tz: &jiff::tz::TimeZone) -> Option<(i64, jiff::civil::Date)> {
    let date = tz.to_datetime(jiff::Timestamp::from_second(t).ok()?).date();
    Some((date.to_zoned(tz.clone()).ok()?.timestamp().as_second(), date))
}

/// The first local midnight at or after `t`.
fn next_midnight(t: i64, tz: &jiff::tz::TimeZone) -> Option<i64> {
    let (start, date) = day_start(t, tz)?;
    if start == t {
        return Some(t);
    }
    Some(date.tomorrow().ok()?.to_zoned(tz.clone()).ok()?.timestamp().as_second())
}

impl Bodega {
    /// Per-cell, per-local-day, per-offence counts of the mappable incidents matching `filter`,
    /// on `lattice` with days in `tz`, sorted by cell, day and offence. For one district, the
    /// whole local days of the window come from the stored counts (rebuilt first if the
    /// district's incidents changed) and a partial first or last day is counted from the
    /// incidents; any other selection is counted from the incidents.
    ///
    /// # Errors
    /// [`BodegaError::Query`].
    pub async fn cell_day_counts(
        &self,
        filter: &Filter,
        lattice: &hotspot::Lattice,
        tz: &jiff::tz::TimeZone,
    ) -> Result<Vec<CellDayCount>, BodegaError> {
        // One district, whole local days [first, last) inside the window, a named zone: else
        // counted from the incidents.
        let plain = filter.offense.is_none() && filter.harm_category.is_none() && filter.bbox.is_none();
        let first = filter.from.map_or(Some(i64::MIN), |t| next_midnight(t, tz));
        let last = filter.to.map_or(Some(i64::MAX), |t| day_start(t, tz).map(|(s, _)| s));
        let (Some(district), Some(zone), true, Some(first), Some(last)) =
            (filter.district.as_deref(), tz.iana_name(), plain, first, last)
        else {
            return self.cell_day_counts_from_incidents(filter, lattice, tz).await;
        };
        if first >= last {
            return self.cell_day_counts_from_incidents(filter, lattice, tz).await;
        }
        let key = format!("EPSG:{}/{}m {zone}", lattice.utm().epsg().code(), lattice.size_m());
        self.ensure_cell_days(&key, district, lattice, tz).await?;
        let day = |t: i64, open: &str| {
            if t == i64::MIN || t == i64::MAX {
                open.to_string()
            } else {
                day_start(t, tz).map(|(_, d)| d.to_string()).unwrap_or_else(|| open.to_string())
            }
        };
        let rows: Vec<(i64, i64, String, String, i64)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT ix, iy, day, offense, n FROM cell_day_counts \
             WHERE lattice = $1 AND district_code = $2 AND day >= $3 AND day < $4")
            .bind(&key).bind(district).bind(day(first, "")).bind(day(last, "9999"))
            .fetch_all(pool).await)?;
        let mut counts: Vec<CellDayCount> = rows
            .into_iter()
            .map(|(ix, iy, day, offense, n)| CellDayCount { ix, iy, day, offense, count: n as u32 })
            .collect();
        // The partial days at either end, from the incidents (disjoint days from the above).
        if let Some(from) = filter.from.filter(|t| *t < first) {
            let head = Filter { from: Some(from), to: Some(first), ..filter.clone() };
            counts.extend(self.cell_day_counts_from_incidents(&head, lattice, tz).await?);
        }
        if let Some(to) = filter.to.filter(|t| *t > last) {
            let tail = Filter { from: Some(last), to: Some(to), ..filter.clone() };
            counts.extend(self.cell_day_counts_from_incidents(&tail, lattice, tz).await?);
        }
        // Sorted here, not by the engine: PostgreSQL's text order follows its collation.
        counts.sort_by(|a, b| (a.ix, a.iy, &a.day, &a.offense).cmp(&(b.ix, b.iy, &b.day, &b.offense)));
        Ok(counts)
    }

    /// The counters `district`'s stored counts depend on, as stored in `cell_day_built`.
    async fn cell_day_version(&self, district: &str) -> Result<String, BodegaError> {
        let rows: Vec<(String, i64)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT district_code, version FROM cell_day_versions WHERE district_code IN ($1, $2)")
            .bind(district).bind(ALL_DISTRICTS).fetch_all(pool).await)?;
        let of = |d: &str| rows.iter().find(|r| r.0 == d).map_or(0, |r| r.1);
        Ok(format!("{}/{}", of(district), of(ALL_DISTRICTS)))
    }

    /// Rebuilds `district`'s stored counts on lattice `key` if its incidents changed since.
    async fn ensure_cell_days(
        &self,
        key: &str,
        district: &str,
        lattice: &hotspot::Lattice,
        tz: &jiff::tz::TimeZone,
    ) -> Result<(), BodegaError> {
        let version = self.cell_day_version(district).await?;
        let built: Option<String> = on_pool!(self, pool => sqlx::query_scalar(
            "SELECT version FROM cell_day_built WHERE lattice = $1 AND district_code = $2")
            .bind(key).bind(district).fetch_optional(pool).await)?;
        if built.as_deref() == Some(version.as_str()) {
            return Ok(());
        }
        let all = Filter { district: Some(district.to_string()), ..Filter::default() };
        let counts = self.cell_day_counts_from_incidents(&all, lattice, tz).await?;
        on_writer!(self, pool => {
            let mut tx = begin_write(pool).await?;
            // First, so that a concurrent rebuild of the same district (another request, another
            // server on the same PostgreSQL) waits on this row and then replaces what this one
            // wrote, instead of colliding with it.
            sqlx::query(
                "INSERT INTO cell_day_built (lattice, district_code, version) VALUES ($1, $2, $3) \
                 ON CONFLICT (lattice, district_code) DO UPDATE SET version = excluded.version")
                .bind(key).bind(district).bind(&version).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM cell_day_counts WHERE lattice = $1 AND district_code = $2")
                .bind(key).bind(district).execute(&mut *tx).await?;
            for chunk in counts.chunks(1000) {
                let mut qb = sqlx::QueryBuilder::new(
                    "INSERT INTO cell_day_counts (lattice, district_code, day, ix, iy, offense, n) ");
                qb.push_values(chunk, |mut b, c| {
                    b.push_bind(key.to_string()).push_bind(district.to_string()).push_bind(c.day.clone())
                        .push_bind(c.ix).push_bind(c.iy).push_bind(c.offense.clone()).push_bind(i64::from(c.count));
                });
                qb.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }
}
