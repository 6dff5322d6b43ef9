//! GPS fixes from officers' devices and vehicle-location (AVL) exports.
//!
//! File shape: `device,fix_at,lat,lon` required; `unit,accuracy_m,speed_mps` optional.
//! `fix_at` is RFC 3339 with an offset (`2020-06-01T17:00:05Z`, `…-07:00`), or a local time in
//! the department's zone. Fixes are append-only: a fix already stored for the same device and
//! second is a duplicate and is skipped, so re-sending a batch is harmless. Bad rows are kept in
//! `rejected_rows` with line, field and reason; one transaction per file.

use std::io::Read;

use jiff::tz::TimeZone;

use crate::csvfile::{parse_coordinate, parse_instant, IngestError, Record};
use crate::load::{FileKind, IngestOptions, LoadSummary};
use crate::store::{now_seconds, Bodega};

/// A fix ready to store.
#[derive(Debug, Clone)]
struct Fix {
    device: String,
    unit: Option<String>,
    fix_at: i64,
    lat: f64,
    lon: f64,
    accuracy_m: Option<f64>,
    speed_mps: Option<f64>,
    received_at: i64,
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

/// A GPS file being loaded: its columns, the zone, and when it arrived.
struct Fixes {
    tz: TimeZone,
    received_at: i64,
    c_device: usize,
    c_fix: usize,
    c_lat: usize,
    c_lon: usize,
    c_unit: Option<usize>,
    c_acc: Option<usize>,
    c_speed: Option<usize>,
}

impl FileKind for Fixes {
    type Row = Fix;
    const KIND: &'static str = "gps";
    // 9 binds a row.
    const CHUNK: usize = 2000;

    fn parse(&self, record: &Record) -> Result<Fix, (String, String)> {
        let get = |i: usize| record.text.get(i).unwrap_or("").trim();
        let device = get(self.c_device);
        if device.is_empty() {
            return Err(("device".into(), "empty".into()));
        }
        let fix_at = parse_instant(get(self.c_fix), &self.tz).map_err(|r| ("fix_at".to_string(), r))?;
        let lat = parse_coordinate(get(self.c_lat), "lat", 90.0)?.ok_or(("lat".to_string(), "empty".to_string()))?;
        let lon = parse_coordinate(get(self.c_lon), "lon", 180.0)?.ok_or(("lon".to_string(), "empty".to_string()))?;
        Ok(Fix {
            device: device.into(),
            unit: self.c_unit.map(get).filter(|u| !u.is_empty()).map(str::to_string),
            fix_at,
            lat,
            lon,
            accuracy_m: self.c_acc.map(|c| non_negative(get(c), "accuracy_m")).transpose()?.flatten(),
            speed_mps: self.c_speed.map(|c| non_negative(get(c), "speed_mps")).transpose()?.flatten(),
            received_at: self.received_at,
        })
    }
}

/// Streams a GPS CSV into `gps_fixes`. Fixes already stored (same device and second) count as
/// unchanged.
///
/// # Errors
/// [`IngestError`] when the file as a whole is unusable or the database fails; the store is then
/// unchanged.
pub async fn ingest_gps_csv<R: Read>(
    bodega: &Bodega,
    reader: R,
    opts: &IngestOptions,
) -> Result<LoadSummary, IngestError> {
    let (tz, file) = crate::load::open(reader, opts)?;
    let header = file.header();
    let (find, need) = (|n: &str| header.find(n), |n: &str| header.need(n));
    let kind = Fixes {
        tz,
        received_at: now_seconds(),
        c_device: need("device")?,
        c_fix: need("fix_at")?,
        c_lat: need("lat")?,
        c_lon: need("lon")?,
        c_unit: find("unit"),
        c_acc: find("accuracy_m"),
        c_speed: find("speed_mps"),
    };
    crate::load::load(bodega, &kind, file, opts).await
}

// Inserted, skipping fixes already stored; new ones are loaded, the rest unchanged.
crate::load::impl_store!(Fix, |tx, _source, batch_id, rows, summary, _touched| {
    let mut qb = sqlx::QueryBuilder::new(
        "INSERT INTO gps_fixes (device, unit_call_sign, fix_at, lat, lon, accuracy_m, speed_mps, received_at, batch_id) ",
    );
    qb.push_values(rows.iter(), |mut b, f| {
        b.push_bind(f.device.clone())
            .push_bind(f.unit.clone())
            .push_bind(f.fix_at)
            .push_bind(f.lat)
            .push_bind(f.lon)
            .push_bind(f.accuracy_m)
            .push_bind(f.speed_mps)
            .push_bind(f.received_at)
            .push_bind(batch_id);
    });
    qb.push(" ON CONFLICT (device, fix_at) DO NOTHING RETURNING id");
    let inserted: Vec<i64> = qb.build_query_scalar().fetch_all(&mut **tx).await?;
    summary.loaded += inserted.len() as u64;
    summary.unchanged += (rows.len() - inserted.len()) as u64;
    Ok(())
});
