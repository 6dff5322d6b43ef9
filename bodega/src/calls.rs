//! Calls for service from computer-aided dispatch (CAD).
//!
//! File shape: `call_id,call_type,received_at` required; `priority,dispatched_at,arrived_at,
//! cleared_at,disposition,lat,lon,address,district,incident_id` optional (`incident_id`: the
//! records system's id of the incident the call became, so the calls track counts it once; see
//! [`crate::call_weights`]). Times are RFC 3339 with an offset
//! or local times in the department's zone; an empty time is "not yet". A call is upserted by
//! (source, call_id): exports taken while calls are open are re-loaded as they close, and only
//! calls whose content changed are rewritten. Coordinates get the same geocoding flags as
//! incidents. Bad rows are kept with line, field and reason; one transaction per file.

use std::io::Read;

use jiff::tz::TimeZone;
use sha2::{Digest, Sha256};

use crate::csvfile::{parse_coordinate, resolve_local_time, IngestError, Record};
use crate::load::{FileKind, IngestOptions, LoadSummary};
use crate::store::Bodega;

/// A call ready to store.
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
    incident_id: Option<String>,
    row_hash: String,
}

/// The four times of a call, as the file names them.
const TIME_NAMES: [&str; 4] = ["received_at", "dispatched_at", "arrived_at", "cleared_at"];

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

/// A calls file being loaded: its columns, the zone and the geocoding rules.
struct Calls {
    tz: TimeZone,
    rules: crate::geocode::GeoRules,
    c_id: usize,
    c_type: usize,
    c_received: usize,
    time_cols: [Option<usize>; 4],
    c_priority: Option<usize>,
    c_disp: Option<usize>,
    c_lat: Option<usize>,
    c_lon: Option<usize>,
    c_address: Option<usize>,
    c_district: Option<usize>,
    c_incident: Option<usize>,
}

impl FileKind for Calls {
    type Row = Call;
    const KIND: &'static str = "calls";
    // 18 binds a row.
    const CHUNK: usize = 1000;

    fn parse(&self, record: &Record) -> Result<Call, (String, String)> {
        let get = |i: Option<usize>| i.and_then(|i| record.text.get(i)).unwrap_or("").trim();
        let call_id = get(Some(self.c_id));
        if call_id.is_empty() {
            return Err(("call_id".into(), "empty".into()));
        }
        let call_type = get(Some(self.c_type));
        if call_type.is_empty() {
            return Err(("call_type".into(), "empty".into()));
        }
        let mut times = [None; 4];
        for (k, col) in self.time_cols.iter().enumerate() {
            times[k] = parse_time(get(*col), &self.tz).map_err(|r| (TIME_NAMES[k].to_string(), r))?;
        }
        let Some(received) = times[0] else {
            return Err(("received_at".into(), "empty".into()));
        };
        for k in 1..4 {
            if times[k].is_some_and(|t| t < received) {
                return Err((
                    TIME_NAMES[k].into(),
                    format!("earlier than received_at ({})", get(Some(self.c_received))),
                ));
            }
        }
        let lat = parse_coordinate(get(self.c_lat), "lat", 90.0)?;
        let lon = parse_coordinate(get(self.c_lon), "lon", 180.0)?;
        let location = match (lat, lon) {
            (Some(a), Some(o)) => Some((a, o)),
            (None, None) => None,
            (Some(_), None) => return Err(("lon".into(), "empty while lat is given".into())),
            (None, Some(_)) => return Err(("lat".into(), "empty while lon is given".into())),
        };
        let (priority, disposition, address) = (get(self.c_priority), get(self.c_disp), get(self.c_address));
        let district = Some(get(self.c_district)).filter(|d| !d.is_empty()).map(str::to_string);
        let incident_id = Some(get(self.c_incident)).filter(|d| !d.is_empty()).map(str::to_string);
        let mut h = Sha256::new();
        for part in [call_type, priority, disposition, address, district.as_deref().unwrap_or("")] {
            h.update(part.as_bytes());
            h.update([0x1f]);
        }
        // Hashed only when given, so the calls loaded before the column keep their hashes.
        if let Some(i) = &incident_id {
            h.update(b"incident\x1f");
            h.update(i.as_bytes());
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
            geo_flag: location.and_then(|(a, o)| self.rules.flag(a, o)),
            address: address.into(),
            district,
            incident_id,
            row_hash: hex::encode(&h.finalize()[..12]),
        })
    }

    fn id<'a>(&self, call: &'a Call) -> Option<(&'static str, &'a str)> {
        Some(("call_id", &call.call_id))
    }
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
) -> Result<LoadSummary, IngestError> {
    let (tz, file) = crate::load::open(reader, opts)?;
    let header = file.header();
    let (find, need) = (|n: &str| header.find(n), |n: &str| header.need(n));
    let (c_id, c_type, c_received) = (need("call_id")?, need("call_type")?, need("received_at")?);
    let kind = Calls {
        tz,
        rules: bodega.geo_rules().await?,
        c_id,
        c_type,
        c_received,
        time_cols: [Some(c_received), find("dispatched_at"), find("arrived_at"), find("cleared_at")],
        c_priority: find("priority"),
        c_disp: find("disposition"),
        c_lat: find("lat"),
        c_lon: find("lon"),
        c_address: find("address"),
        c_district: find("district"),
        c_incident: find("incident_id"),
    };
    crate::load::load(bodega, &kind, file, opts).await
}

// Upserted by (source, call_id); `RETURNING first_batch_id` tells new calls from updated ones.
crate::load::impl_store!(Call, |tx, source, batch_id, rows, summary, _touched| {
    let mut qb = sqlx::QueryBuilder::new(
        "INSERT INTO calls_for_service (source, source_id, call_type, priority, received_at, dispatched_at, \
         arrived_at, cleared_at, disposition, lat, lon, address, district_code, geo_flag, incident_id, \
         row_hash, first_batch_id, batch_id) ",
    );
    qb.push_values(rows.iter(), |mut b, c| {
        b.push_bind(source.to_string())
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
            .push_bind(c.incident_id.clone())
            .push_bind(c.row_hash.clone())
            .push_bind(batch_id)
            .push_bind(batch_id);
    });
    qb.push(
        " ON CONFLICT (source, source_id) DO UPDATE SET call_type = excluded.call_type, \
         priority = excluded.priority, received_at = excluded.received_at, dispatched_at = excluded.dispatched_at, \
         arrived_at = excluded.arrived_at, cleared_at = excluded.cleared_at, disposition = excluded.disposition, \
         lat = excluded.lat, lon = excluded.lon, address = excluded.address, district_code = excluded.district_code, \
         geo_flag = excluded.geo_flag, incident_id = excluded.incident_id, row_hash = excluded.row_hash, batch_id = excluded.batch_id \
         WHERE calls_for_service.row_hash <> excluded.row_hash \
         OR calls_for_service.geo_flag IS DISTINCT FROM excluded.geo_flag RETURNING first_batch_id",
    );
    let firsts: Vec<i64> = qb.build_query_scalar().fetch_all(&mut **tx).await?;
    let loaded = firsts.iter().filter(|b| **b == batch_id).count() as u64;
    summary.loaded += loaded;
    summary.updated += firsts.len() as u64 - loaded;
    summary.unchanged += (rows.len() - firsts.len()) as u64;
    Ok(())
});
