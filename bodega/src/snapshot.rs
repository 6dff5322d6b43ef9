//! The queries behind the command views (the Chief's Daily Snapshot, the presence dashboard):
//! counts in 15-minute buckets, notable incidents, and GPS fixes by officer.
//!
//! Counts come back per 15-minute UTC bucket rather than per local day because "a day" is the
//! department's local day and SQL engines disagree on time zones: every real time zone's offset
//! is a whole number of quarter hours, so each bucket lies inside one local day and the caller
//! sums buckets into days with `jiff`, daylight-saving days included.

use serde::{Deserialize, Serialize};

use crate::on_pool;
use crate::store::{Bodega, BodegaError};

/// Bucket width, seconds.
pub const BUCKET_S: i64 = 900;

/// An incident the snapshot names (homicides, shootings, robberies).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotableRow {
    /// When, UTC seconds.
    pub occurred_at: i64,
    /// The local time as the source gave it.
    pub occurred_local: String,
    /// `None`, `gap` or `ambiguous` (see ingest).
    pub time_flag: Option<String>,
    /// Offence text.
    pub offense: String,
    /// NIBRS code, when classified.
    pub nibrs_code: Option<String>,
    /// Block or address.
    pub address: String,
    /// District.
    pub district_code: Option<String>,
}

/// One GPS fix of an officer's device.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct UserFix {
    /// Fix time, device clock, UTC seconds.
    pub fix_at: i64,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
    /// Accuracy, metres (`None`: not reported).
    pub accuracy_m: Option<f64>,
}

impl Bodega {
    /// Incidents per harm track (`''` for unclassified) per 15-minute bucket, occurred in
    /// `[from, to)`.
    ///
    /// # Errors
    /// A store error.
    pub async fn incident_buckets(&self, from: i64, to: i64) -> Result<Vec<(String, i64, i64)>, BodegaError> {
        Ok(on_pool!(self, pool => sqlx::query_as(
            "SELECT COALESCE(harm_category, ''), occurred_at / $3 * $3, COUNT(*) FROM incidents \
             WHERE occurred_at >= $1 AND occurred_at < $2 GROUP BY 1, 2")
            .bind(from).bind(to).bind(BUCKET_S).fetch_all(pool).await)?)
    }

    /// Calls for service per 15-minute bucket, received in `[from, to)`.
    ///
    /// # Errors
    /// A store error.
    pub async fn call_buckets(&self, from: i64, to: i64) -> Result<Vec<(i64, i64)>, BodegaError> {
        Ok(on_pool!(self, pool => sqlx::query_as(
            "SELECT received_at / $3 * $3, COUNT(*) FROM calls_for_service \
             WHERE received_at >= $1 AND received_at < $2 GROUP BY 1")
            .bind(from).bind(to).bind(BUCKET_S).fetch_all(pool).await)?)
    }

    /// Incidents in `[from, to)` with one of these NIBRS codes or whose offence text mentions a
    /// shooting, newest first (at most `limit`).
    ///
    /// # Errors
    /// A store error.
    pub async fn notable_incidents(
        &self,
        from: i64,
        to: i64,
        codes: &[&str],
        limit: i64,
    ) -> Result<Vec<NotableRow>, BodegaError> {
        type Row = (i64, String, Option<String>, String, Option<String>, String, Option<String>);
        let rows: Vec<Row> = on_pool!(self, pool => {
            let mut qb = sqlx::QueryBuilder::new(
                "SELECT occurred_at, occurred_local, time_flag, offense, nibrs_code, address, district_code FROM incidents \
                 WHERE occurred_at >= ");
            qb.push_bind(from).push(" AND occurred_at < ").push_bind(to).push(" AND (LOWER(offense) LIKE '%shoot%'");
            for code in codes {
                qb.push(" OR nibrs_code = ").push_bind(code.to_string());
            }
            qb.push(") ORDER BY occurred_at DESC, id DESC LIMIT ").push_bind(limit);
            qb.build_query_as().fetch_all(pool).await
        })?;
        Ok(rows
            .into_iter()
            .map(|(occurred_at, occurred_local, time_flag, offense, nibrs_code, address, district_code)| NotableRow {
                occurred_at,
                occurred_local,
                time_flag,
                offense,
                nibrs_code,
                address,
                district_code,
            })
            .collect())
    }

    /// The GPS fixes of every device registered to this user, with fix times in `[from, to)`,
    /// in time order.
    ///
    /// # Errors
    /// A store error.
    pub async fn fixes_of_user(&self, user_id: i64, from: i64, to: i64) -> Result<Vec<UserFix>, BodegaError> {
        let rows: Vec<(i64, f64, f64, Option<f64>)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT g.fix_at, g.lat, g.lon, g.accuracy_m FROM gps_fixes g JOIN devices d ON d.id = g.device \
             WHERE d.user_id = $1 AND g.fix_at >= $2 AND g.fix_at < $3 ORDER BY g.fix_at")
            .bind(user_id).bind(from).bind(to).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(|(fix_at, lat, lon, accuracy_m)| UserFix { fix_at, lat, lon, accuracy_m }).collect())
    }

    /// The GPS fixes that count for `district`'s presence and dosage, with a fix time in
    /// `[from, to)`, as `(device, from a feed, fix)` by device and time: every fix of a feed
    /// (AVL, loaded by analysts), and an officer's device's fixes only when the officer belongs
    /// to the district or holds a mission of the district whose window covers the fix. An
    /// officer of another district who pushes breadcrumbs here outside a mission of theirs
    /// changes nothing here (a device is believed about where its officer was, not about whose
    /// patrol it was).
    ///
    /// # Errors
    /// A store error.
    pub async fn fixes_for_district(
        &self,
        district: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<(String, bool, UserFix)>, BodegaError> {
        let rows: Vec<(String, bool, i64, f64, f64, Option<f64>)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT g.device, g.batch_id IS NOT NULL, g.fix_at, g.lat, g.lon, g.accuracy_m FROM gps_fixes g \
             LEFT JOIN devices d ON d.id = g.device AND g.batch_id IS NULL \
             WHERE g.fix_at >= $1 AND g.fix_at < $2 AND ( \
                 g.batch_id IS NOT NULL \
                 OR EXISTS (SELECT 1 FROM user_districts ud WHERE ud.user_id = d.user_id AND ud.district_code = $3) \
                 OR EXISTS (SELECT 1 FROM missions m WHERE m.assignee_user_id = d.user_id AND m.district_code = $3 \
                            AND g.fix_at >= m.window_start AND g.fix_at < m.window_end)) \
             ORDER BY g.device, g.fix_at")
            .bind(from).bind(to).bind(district).fetch_all(pool).await)?;
        Ok(rows
            .into_iter()
            .map(|(device, feed, fix_at, lat, lon, accuracy_m)| {
                (device, feed, UserFix { fix_at, lat, lon, accuracy_m })
            })
            .collect())
    }

    /// A number that grows whenever something a command view shows changes: missions and notes
    /// (the sync change counter), incident and call loads (ingest batches), GPS fixes. Compared,
    /// never interpreted.
    ///
    /// # Errors
    /// A store error.
    pub async fn change_marker(&self) -> Result<i64, BodegaError> {
        Ok(on_pool!(self, pool => sqlx::query_scalar(
            "SELECT (SELECT change_version FROM sync_state WHERE id = 1) \
             + (SELECT COALESCE(MAX(id), 0) FROM ingest_batches) \
             + (SELECT COALESCE(MAX(id), 0) FROM gps_fixes)")
            .fetch_one(pool).await)?)
    }
}
