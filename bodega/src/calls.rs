//! Calls for service from computer-aided dispatch (CAD).
//!
//! File shape: `call_id,call_type,received_at` required; `priority,dispatched_at,arrived_at,
//! cleared_at,disposition,lat,lon,address,district` optional. Times are RFC 3339 with an offset
//! or local times in the department's zone; an empty time is "not yet". A call is upserted by
//! (source, call_id): exports taken while calls are open are re-loaded as they close, and only
//! calls whose content changed are rewritten. Coordinates get the same geocoding flags as
//! incidents. Bad rows are kept with line, field and reason; one transaction per file.

use std::io::Read;

use jiff::tz::TimeZone;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::ingest::{
    finish_batch, nul_byte, open_batch, parse_coordinate, raw_text, resolve_local_time, store_rejections, BatchCounts,
    HeaderIndex, IngestError, IngestOptions, Rejection,
};
use crate::{begin_write, on_pool, Bodega};

/// Calls written per INSERT (17 binds each).
const CHUNK: usize = 1000;

/// What one calls load did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CallsSummary {
    /// The batch id.
    pub batch_id: i64,
    /// Data rows read.
    pub read: u64,
    /// New calls.
    pub loaded: u64,
    /// Known calls whose content changed.
    pub updated: u64,
    /// Known calls stored exactly so.
    pub unchanged: u64,
    /// Rows kept in `rejected_rows`.
    pub rejected: u64,
}

#[derive(Debug, Clone)]
struct Call {
    call_id: String,
    call_type: String,
    priority: String,
    times: [Option<i64>; 4], // received, dispatched, arrived, cleared
    disposition: String,
    location: Option<(f64, f64)>,
    geo_flag: Option<&'static str>,
    address: String,
    district: Option<String>,
    row_hash: String,
}

fn parse_time(text: &str, tz: &TimeZone) -> Result<Option<i64>, String> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    if let Ok(ts) = t.parse::<jiff::Timestamp>() {
        return Ok(Some(ts.as_second()));
    }
    resolve_local_time(t, tz)
        .map(|(s, _)| Some(s))
        .map_err(|_| format!("'{t}' is neither RFC 3339 nor a local date-time"))
}

/// Streams a calls-for-service CSV into `calls_for_service`.
///
/// # Errors
/// [`IngestError`] when the file as a whole is unusable or the database fails; the store is then
/// unchanged.
pub async fn ingest_calls_csv<R: Read>(
    bodega: &Bodega,
    reader: R,
    opts: &IngestOptions,
) -> Result<CallsSummary, IngestError> {
    let tz = TimeZone::get(&opts.time_zone).map_err(|_| IngestError::TimeZone(opts.time_zone.clone()))?;
    let rules = bodega.geo_rules().await?;
    let mut csv = csv::ReaderBuilder::new().flexible(true).from_reader(reader);
    let header = csv.headers().map_err(|e| IngestError::Unreadable(e.to_string()))?.clone();
    let header = HeaderIndex(header);
    let (find, need) = (|n: &str| header.find(n), |n: &str| header.need(n));
    let (c_id, c_type, c_received) = (need("call_id")?, need("call_type")?, need("received_at")?);
    let time_cols = [Some(c_received), find("dispatched_at"), find("arrived_at"), find("cleared_at")];
    let time_names = ["received_at", "dispatched_at", "arrived_at", "cleared_at"];
    let (c_priority, c_disp, c_lat, c_lon) = (find("priority"), find("disposition"), find("lat"), find("lon"));
    let (c_address, c_district) = (find("address"), find("district"));

    on_pool!(bodega, pool => {
        let mut tx = begin_write(pool).await?;
        let batch_id = open_batch(&mut tx, "calls", opts).await?;
        let mut summary = CallsSummary { batch_id, ..CallsSummary::default() };
        let mut calls: Vec<Call> = Vec::with_capacity(CHUNK);
        let mut rejects: Vec<Rejection> = Vec::new();
        let mut seen = std::collections::HashMap::new();
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
            let get = |i: Option<usize>| i.and_then(|i| record.get(i)).unwrap_or("").trim();
            let parsed = (|| -> Result<Call, (String, String)> {
                nul_byte(&record)?;
                let call_id = get(Some(c_id));
                if call_id.is_empty() {
                    return Err(("call_id".into(), "empty".into()));
                }
                let call_type = get(Some(c_type));
                if call_type.is_empty() {
                    return Err(("call_type".into(), "empty".into()));
                }
                let mut times = [None; 4];
                for (k, col) in time_cols.iter().enumerate() {
                    times[k] = parse_time(get(*col), &tz).map_err(|r| (time_names[k].to_string(), r))?;
                }
                let Some(received) = times[0] else {
                    return Err(("received_at".into(), "empty".into()));
                };
                for k in 1..4 {
                    if times[k].is_some_and(|t| t < received) {
                        return Err((time_names[k].into(), format!("earlier than received_at ({})", get(Some(c_received)))));
                    }
                }
                let lat = parse_coordinate(get(c_lat), "lat", 90.0)?;
                let lon = parse_coordinate(get(c_lon), "lon", 180.0)?;
                let location = match (lat, lon) {
                    (Some(a), Some(o)) => Some((a, o)),
                    (None, None) => None,
                    (Some(_), None) => return Err(("lon".into(), "empty while lat is given".into())),
                    (None, Some(_)) => return Err(("lat".into(), "empty while lon is given".into())),
                };
                let (priority, disposition, address) = (get(c_priority), get(c_disp), get(c_address));
                let district = Some(get(c_district)).filter(|d| !d.is_empty()).map(str::to_string);
                let mut h = Sha256::new();
                for part in [call_type, priority, disposition, address, district.as_deref().unwrap_or("")] {
                    h.update(part.as_bytes());
                    h.update([0x1f]);
                }
                for t in times {
                    h.update(t.unwrap_or(i64::MIN).to_le_bytes());
                }
                if let Some((a, o)) = location {
                    h.update(a.to_bits().to_le_bytes());
                    h.update(o.to_bits().to_le_bytes());
                }
                Ok(Call {
                    call_id: call_id.into(),
                    call_type: call_type.into(),
                    priority: priority.into(),
                    times,
                    disposition: disposition.into(),
                    location,
                    geo_flag: location.and_then(|(a, o)| rules.flag(a, o)),
                    address: address.into(),
                    district,
                    row_hash: hex::encode(&h.finalize()[..12]),
                })
            })();
            // Only a call that was kept claims its id: a rejected row never costs a good one.
            let parsed = parsed.and_then(|call| match seen.get(&call.call_id) {
                Some(first) => Err(("call_id".into(), format!("call '{}' repeats line {first} of this file", call.call_id))),
                None => Ok(call),
            });
            match parsed {
                Ok(call) => {
                    seen.insert(call.call_id.clone(), line);
                    calls.push(call);
                }
                Err((field, reason)) => {
                    let raw = raw_text(&record.as_byte_record().clone());
                    rejects.push(Rejection { line, field, reason, raw });
                }
            }
            if calls.len() == CHUNK {
                upsert_calls!(tx, &calls, &opts.source, batch_id, summary);
                calls.clear();
            }
        }
        upsert_calls!(tx, &calls, &opts.source, batch_id, summary);
        summary.rejected += store_rejections(&mut tx, batch_id, &rejects).await?;
        let counts = BatchCounts {
            read: summary.read,
            loaded: summary.loaded,
            updated: summary.updated,
            unchanged: summary.unchanged,
            rejected: summary.rejected,
        };
        finish_batch(&mut tx, batch_id, "", counts).await?;
        if opts.dry_run { tx.rollback().await? } else { tx.commit().await? }
        Ok(summary)
    })
}

/// Upserts a chunk of calls; `RETURNING first_batch_id` tells new calls from updated ones.
macro_rules! upsert_calls {
    ($tx:ident, $calls:expr, $source:expr, $batch:expr, $summary:ident) => {{
        let calls: &[Call] = $calls;
        if !calls.is_empty() {
            let mut qb = sqlx::QueryBuilder::new(
                "INSERT INTO calls_for_service (source, source_id, call_type, priority, received_at, dispatched_at, \
                 arrived_at, cleared_at, disposition, lat, lon, address, district_code, geo_flag, row_hash, \
                 first_batch_id, batch_id) ",
            );
            qb.push_values(calls.iter(), |mut b, c| {
                b.push_bind($source.to_string())
                    .push_bind(c.call_id.clone())
                    .push_bind(c.call_type.clone())
                    .push_bind(c.priority.clone())
                    .push_bind(c.times[0].unwrap_or_default())
                    .push_bind(c.times[1])
                    .push_bind(c.times[2])
                    .push_bind(c.times[3])
                    .push_bind(c.disposition.clone())
                    .push_bind(c.location.map(|l| l.0))
                    .push_bind(c.location.map(|l| l.1))
                    .push_bind(c.address.clone())
                    .push_bind(c.district.clone())
                    .push_bind(c.geo_flag.map(str::to_owned))
                    .push_bind(c.row_hash.clone())
                    .push_bind($batch)
                    .push_bind($batch);
            });
            qb.push(
                " ON CONFLICT (source, source_id) DO UPDATE SET call_type = excluded.call_type, \
                 priority = excluded.priority, received_at = excluded.received_at, dispatched_at = excluded.dispatched_at, \
                 arrived_at = excluded.arrived_at, cleared_at = excluded.cleared_at, disposition = excluded.disposition, \
                 lat = excluded.lat, lon = excluded.lon, address = excluded.address, district_code = excluded.district_code, \
                 geo_flag = excluded.geo_flag, row_hash = excluded.row_hash, batch_id = excluded.batch_id \
                 WHERE calls_for_service.row_hash <> excluded.row_hash \
                 OR calls_for_service.geo_flag IS DISTINCT FROM excluded.geo_flag RETURNING first_batch_id",
            );
            let firsts: Vec<i64> = qb.build_query_scalar().fetch_all(&mut *$tx).await?;
            let loaded = firsts.iter().filter(|b| **b == $batch).count() as u64;
            $summary.loaded += loaded;
            $summary.updated += firsts.len() as u64 - loaded;
            $summary.unchanged += (calls.len() - firsts.len()) as u64;
        }
    }};
}
use upsert_calls;
