//! GPS fixes from officers' devices and vehicle-location (AVL) exports.
//!
//! File shape: `device,fix_at,lat,lon` required; `unit,accuracy_m,speed_mps` optional.
//! `fix_at` is RFC 3339 with an offset (`2020-06-01T17:00:05Z`, `…-07:00`), or a local time in
//! the department's zone. Fixes are append-only: a fix already stored for the same device and
//! second is a duplicate and is skipped, so re-sending a batch is harmless. Bad rows are kept in
//! `rejected_rows` with line, field and reason; one transaction per file.

use std::io::Read;

use jiff::tz::TimeZone;
use serde::Serialize;

use crate::ingest::{
    finish_batch, nul_byte, open_batch, parse_coordinate, raw_text, resolve_local_time, store_rejections, BatchCounts,
    HeaderIndex, IngestError, IngestOptions, Rejection,
};
use crate::{begin_write, now_seconds, on_pool, Bodega};

/// Fixes written per INSERT (10 binds each).
const CHUNK: usize = 2000;

/// What one GPS load did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GpsSummary {
    /// The batch id.
    pub batch_id: i64,
    /// Data rows read.
    pub read: u64,
    /// New fixes stored.
    pub loaded: u64,
    /// Fixes already stored (same device and second).
    pub duplicates: u64,
    /// Rows kept in `rejected_rows` instead.
    pub rejected: u64,
}

#[derive(Debug, Clone)]
struct Fix {
    device: String,
    unit: Option<String>,
    fix_at: i64,
    lat: f64,
    lon: f64,
    accuracy_m: Option<f64>,
    speed_mps: Option<f64>,
}

fn parse_instant(text: &str, tz: &TimeZone) -> Result<i64, String> {
    let t = text.trim();
    if let Ok(ts) = t.parse::<jiff::Timestamp>() {
        return Ok(ts.as_second());
    }
    resolve_local_time(t, tz).map(|(s, _)| s).map_err(|_| format!("'{t}' is neither RFC 3339 nor a local date-time"))
}

fn non_negative(text: &str, field: &str) -> Result<Option<f64>, (String, String)> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(Some(v)),
        _ => Err((field.into(), format!("'{t}' is not a number ≥ 0"))),
    }
}

/// Streams a GPS CSV into `gps_fixes`.
///
/// # Errors
/// [`IngestError`] when the file as a whole is unusable or the database fails; the store is then
/// unchanged.
pub async fn ingest_gps_csv<R: Read>(
    bodega: &Bodega,
    reader: R,
    opts: &IngestOptions,
) -> Result<GpsSummary, IngestError> {
    let tz = TimeZone::get(&opts.time_zone).map_err(|_| IngestError::TimeZone(opts.time_zone.clone()))?;
    let mut csv = csv::ReaderBuilder::new().flexible(true).from_reader(reader);
    let header = csv.headers().map_err(|e| IngestError::Unreadable(e.to_string()))?.clone();
    let header = HeaderIndex(header);
    let (find, need) = (|n: &str| header.find(n), |n: &str| header.need(n));
    let (c_device, c_fix, c_lat, c_lon) = (need("device")?, need("fix_at")?, need("lat")?, need("lon")?);
    let (c_unit, c_acc, c_speed) = (find("unit"), find("accuracy_m"), find("speed_mps"));
    let received_at = now_seconds();

    on_pool!(bodega, pool => {
        let mut tx = begin_write(pool).await?;
        let batch_id = open_batch(&mut tx, "gps", opts).await?;
        let mut summary = GpsSummary { batch_id, ..GpsSummary::default() };
        let mut fixes: Vec<Fix> = Vec::with_capacity(CHUNK);
        let mut rejects: Vec<Rejection> = Vec::new();
        let mut record = csv::StringRecord::new();
        loop {
            let line = csv.position().line() + 1;
            match csv.read_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => {
                    summary.read += 1;
                    rejects.push(Rejection { line, field: "row".into(), reason: e.to_string(), raw: String::new() });
                    if matches!(e.kind(), csv::ErrorKind::Io(_)) { break; }
                    continue;
                }
            }
            summary.read += 1;
            let line = record.position().map(|p| p.line()).unwrap_or(line);
            let get = |i: usize| record.get(i).unwrap_or("").trim();
            let parsed = (|| -> Result<Fix, (String, String)> {
                nul_byte(&record)?;
                let device = get(c_device);
                if device.is_empty() {
                    return Err(("device".into(), "empty".into()));
                }
                let fix_at = parse_instant(get(c_fix), &tz).map_err(|r| ("fix_at".to_string(), r))?;
                let lat = parse_coordinate(get(c_lat), "lat", 90.0)?.ok_or(("lat".to_string(), "empty".to_string()))?;
                let lon = parse_coordinate(get(c_lon), "lon", 180.0)?.ok_or(("lon".to_string(), "empty".to_string()))?;
                Ok(Fix {
                    device: device.into(),
                    unit: c_unit.map(get).filter(|u| !u.is_empty()).map(str::to_string),
                    fix_at,
                    lat,
                    lon,
                    accuracy_m: c_acc.map(|c| non_negative(get(c), "accuracy_m")).transpose()?.flatten(),
                    speed_mps: c_speed.map(|c| non_negative(get(c), "speed_mps")).transpose()?.flatten(),
                })
            })();
            match parsed {
                Ok(fix) => fixes.push(fix),
                Err((field, reason)) => {
                    let raw = raw_text(&record.as_byte_record().clone());
                    rejects.push(Rejection { line, field, reason, raw });
                }
            }
            if fixes.len() == CHUNK {
                insert_fixes!(tx, &fixes, batch_id, received_at, summary);
                fixes.clear();
            }
        }
        insert_fixes!(tx, &fixes, batch_id, received_at, summary);
        summary.rejected += store_rejections(&mut tx, batch_id, &rejects).await?;
        let counts = BatchCounts {
            read: summary.read,
            loaded: summary.loaded,
            unchanged: summary.duplicates,
            rejected: summary.rejected,
            ..BatchCounts::default()
        };
        finish_batch(&mut tx, batch_id, "", counts).await?;
        if opts.dry_run { tx.rollback().await? } else { tx.commit().await? }
        Ok(summary)
    })
}

/// Inserts a chunk of fixes, skipping ones already stored; counts new and duplicate fixes.
macro_rules! insert_fixes {
    ($tx:ident, $fixes:expr, $batch:expr, $received:expr, $summary:ident) => {{
        let fixes: &[Fix] = $fixes;
        if !fixes.is_empty() {
            let mut qb = sqlx::QueryBuilder::new(
                "INSERT INTO gps_fixes (device, unit_call_sign, fix_at, lat, lon, accuracy_m, speed_mps, received_at, batch_id) ",
            );
            qb.push_values(fixes.iter(), |mut b, f| {
                b.push_bind(f.device.clone())
                    .push_bind(f.unit.clone())
                    .push_bind(f.fix_at)
                    .push_bind(f.lat)
                    .push_bind(f.lon)
                    .push_bind(f.accuracy_m)
                    .push_bind(f.speed_mps)
                    .push_bind($received)
                    .push_bind($batch);
            });
            qb.push(" ON CONFLICT (device, fix_at) DO NOTHING RETURNING id");
            let inserted: Vec<i64> = qb.build_query_scalar().fetch_all(&mut *$tx).await?;
            $summary.loaded += inserted.len() as u64;
            $summary.duplicates += (fixes.len() - inserted.len()) as u64;
        }
    }};
}
use insert_fixes;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_with_and_without_offsets() {
        let tz = TimeZone::get("America/Vancouver").expect("tz");
        assert_eq!(parse_instant("2020-06-01T17:00:05Z", &tz), Ok(1_591_030_805));
        assert_eq!(parse_instant("2020-06-01T10:00:05-07:00", &tz), Ok(1_591_030_805));
        assert_eq!(parse_instant("2020-06-01T10:00:05", &tz), Ok(1_591_030_805), "local PDT");
        assert!(parse_instant("yesterday", &tz).is_err());
    }
}
