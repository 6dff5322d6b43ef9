//! Incident files: Beatbook's canonical CSV (`id,occurred_at,offense,category,lat,lon`), a city
//! preset, or a department's own column mapping, loaded by [`crate::load`]'s rules.
//!
//! - **Idempotent.** Incidents are upserted by `(source, id)`; a row whose content is unchanged
//!   is counted as unchanged and not written; a changed one is updated (`RETURNING
//!   first_batch_id` tells new rows from updated ones).
//! - **Local time honestly.** `occurred_at` is local time in the department's IANA zone and is
//!   stored as UTC (a time written with its own offset, RFC 3339, is kept as that instant). A
//!   time inside the spring-forward gap moves forward by the gap and is flagged `gap`; an
//!   ambiguous fall-back time takes the earlier offset and is flagged `ambiguous`.
//! - **Rows without coordinates are kept**, counted, and simply not mapped; coordinates a
//!   geocoding rule flags are kept and flagged.
//! - Each incident is stored with its NIBRS class from the offence map in the same write, and
//!   the districts' per-cell counts it moves are marked stale in the same transaction.

use std::io::Read;

use jiff::tz::TimeZone;
use sha2::{Digest, Sha256};

use crate::csvfile::{parse_coordinate, resolve_civil, CsvFile, IngestError, Record, Rejection};
use crate::load::{FileKind, IngestOptions, LoadSummary};
use crate::mapping::{read_time, Mapping, Resolved, ResolvedLocation, ResolvedTime};
use crate::store::Bodega;

/// A row ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentRow {
    /// 1-based line in the file.
    pub line: u64,
    /// The source's id.
    pub source_id: String,
    /// UTC seconds.
    pub occurred_at: i64,
    /// The local time as given.
    pub occurred_local: String,
    /// `gap`, `ambiguous` or none.
    pub time_flag: Option<&'static str>,
    /// Offence text as given.
    pub offense: String,
    /// Category as given (may be empty).
    pub category: String,
    /// WGS84 latitude/longitude, both or neither.
    pub location: Option<(f64, f64)>,
    /// `null_island`, `placeholder`, `outside_boundary` or none (see [`crate::geocode`]).
    pub geo_flag: Option<&'static str>,
    /// Block or address as given (may be empty).
    pub address: String,
    /// Neighbourhood as given (may be empty).
    pub neighbourhood: String,
    /// District or area as given.
    pub district: Option<String>,
    /// Digest of the content fields.
    pub row_hash: String,
    /// The offence's class from the offence map, when the map knows it (set by the load, so
    /// the incident is stored classified in the same write).
    pub class: Option<std::sync::Arc<crate::classify::StoredClass>>,
}

/// The shape of an incident file, resolved against its header.
struct Shape {
    mapping: Resolved,
    header_len: usize,
    tz: TimeZone,
}

impl Shape {
    fn resolve<R: Read>(file: &CsvFile<R>, mapping: Option<&Mapping>, tz: TimeZone) -> Result<Self, IngestError> {
        let header = &file.header().0;
        let resolved = match mapping {
            Some(m) => m.resolve(header)?,
            None => Mapping::canonical(&header.iter().collect::<Vec<_>>()).resolve(header)?,
        };
        Ok(Shape { mapping: resolved, header_len: header.len(), tz })
    }

    fn parse(&self, record: &Record) -> Result<IncidentRow, (String, String)> {
        let text = &record.text;
        if text.len() != self.header_len {
            return Err(("row".to_string(), format!("{} fields where the header has {}", text.len(), self.header_len)));
        }
        let mut row = parse_row(text, record.row_number, &self.mapping, &self.tz)?;
        row.line = record.line;
        Ok(row)
    }
}

/// Reads an incident CSV row by row through a column mapping (Beatbook's canonical file when
/// none is given), checking each field; the analysts' one-file commands read with it. Keeps a
/// digest of the bytes it read.
pub struct IncidentReader<R: Read> {
    file: CsvFile<R>,
    shape: Shape,
}

impl<R: Read> IncidentReader<R> {
    /// Reads the header and checks that the columns the mapping needs are there.
    ///
    /// # Errors
    /// [`IngestError::Unreadable`], [`IngestError::MissingColumn`] or [`IngestError::Mapping`].
    pub fn new(reader: R, mapping: Option<&Mapping>, tz: TimeZone) -> Result<Self, IngestError> {
        let file = CsvFile::open(reader)?;
        let shape = Shape::resolve(&file, mapping, tz)?;
        Ok(Self { file, shape })
    }

    /// The next data row: the parsed row, or why it cannot be used.
    pub fn next_row(&mut self) -> Option<Result<IncidentRow, Rejection>> {
        let record = self.file.next_record()?;
        Some(record.and_then(|r| self.shape.parse(&r).map_err(|e| self.file.reject(r.line, e))))
    }

    /// Hex SHA-256 of every byte read so far (the whole file once rows are exhausted).
    pub fn finish(self) -> String {
        self.file.digest()
    }
}

/// An incident file being loaded: its shape, the geocoding rules and the offence map.
struct Incidents {
    shape: Shape,
    rules: crate::geocode::GeoRules,
    classes: std::collections::HashMap<String, std::sync::Arc<crate::classify::StoredClass>>,
}

impl FileKind for Incidents {
    type Row = IncidentRow;
    const KIND: &'static str = "incidents";
    // 20 binds a row: well under both engines' limits.
    const CHUNK: usize = 1000;
    const MOVES_CELL_COUNTS: bool = true;

    fn parse(&self, record: &Record) -> Result<IncidentRow, (String, String)> {
        let mut row = self.shape.parse(record)?;
        row.geo_flag = row.location.and_then(|(lat, lon)| self.rules.flag(lat, lon));
        // Classified as it is written: one write per incident, not a second pass over them.
        row.class = self.classes.get(&crate::classify::offense_key(&row.offense)).cloned();
        Ok(row)
    }

    fn id<'a>(&self, row: &'a IncidentRow) -> Option<(&'static str, &'a str)> {
        Some(("id", &row.source_id))
    }

    fn tally(&self, row: &IncidentRow, s: &mut LoadSummary) {
        s.without_location += u64::from(row.location.is_none());
        s.time_flagged += u64::from(row.time_flag.is_some());
        s.geo_flagged += u64::from(row.geo_flag.is_some());
    }
}

/// Streams an incident CSV into the store in one transaction, then classifies the new and
/// changed incidents and gives them districts.
///
/// # Errors
/// [`IngestError`] when the file as a whole is unusable or the database fails; in both cases the
/// store is unchanged. Bad rows are not errors: they are counted and kept in `rejected_rows`.
pub async fn ingest_incidents_csv<R: Read>(
    bodega: &Bodega,
    reader: R,
    opts: &IngestOptions,
) -> Result<LoadSummary, IngestError> {
    let (tz, file) = crate::load::open(reader, opts)?;
    let shape = Shape::resolve(&file, opts.mapping.as_ref(), tz)?;
    let kind = Incidents { shape, rules: bodega.geo_rules().await?, classes: bodega.offense_classes().await? };
    let summary = crate::load::load(bodega, &kind, file, opts).await?;
    // A failure here leaves them unclassified for the next run (next load or server start);
    // the load stands.
    if !opts.dry_run {
        if let Err(e) = bodega.classify_incidents().await {
            tracing::warn!(error = %e, "classifying the loaded incidents failed; the next load or start retries");
        }
        // Likewise the place names: the previous ones stand until the next load.
        if summary.loaded + summary.updated > 0 {
            if let Err(e) = bodega.refresh_place_labels(crate::places::MICRO_PLACE).await {
                tracing::warn!(error = %e, "naming the places failed; the next load retries");
            }
        }
    }
    Ok(summary)
}

crate::load::impl_store!(IncidentRow, |tx, source, batch_id, rows, summary, touched| {
    let mut qb = sqlx::QueryBuilder::new(
        "INSERT INTO incidents (source, source_id, occurred_at, occurred_local, time_flag, offense, \
             category, lat, lon, geo_flag, address, neighbourhood, district_code, row_hash, first_batch_id, \
             batch_id, nibrs_code, nibrs_group, crime_against, harm_category) ",
    );
    qb.push_values(rows.iter(), |mut b, r| {
        b.push_bind(source.to_owned())
            .push_bind(r.source_id.clone())
            .push_bind(r.occurred_at)
            .push_bind(r.occurred_local.clone())
            .push_bind(r.time_flag.map(str::to_owned))
            .push_bind(r.offense.clone())
            .push_bind(r.category.clone())
            .push_bind(r.location.map(|l| l.0))
            .push_bind(r.location.map(|l| l.1))
            .push_bind(r.geo_flag.map(str::to_owned))
            .push_bind(r.address.clone())
            .push_bind(r.neighbourhood.clone())
            .push_bind(r.district.clone())
            .push_bind(r.row_hash.clone())
            .push_bind(batch_id)
            .push_bind(batch_id)
            .push_bind(r.class.as_ref().map(|c| c.nibrs_code.clone()))
            .push_bind(r.class.as_ref().map(|c| c.nibrs_group.clone()))
            .push_bind(r.class.as_ref().map(|c| c.crime_against.clone()))
            .push_bind(r.class.as_ref().map(|c| c.harm_category.clone()));
    });
    qb.push(
        " ON CONFLICT (source, source_id) DO UPDATE SET occurred_at = excluded.occurred_at, \
             occurred_local = excluded.occurred_local, time_flag = excluded.time_flag, \
             offense = excluded.offense, category = excluded.category, lat = excluded.lat, \
             lon = excluded.lon, geo_flag = excluded.geo_flag, address = excluded.address, \
             neighbourhood = excluded.neighbourhood, \
             district_code = excluded.district_code, row_hash = excluded.row_hash, \
             batch_id = excluded.batch_id, nibrs_code = excluded.nibrs_code, nibrs_group = excluded.nibrs_group, \
             crime_against = excluded.crime_against, harm_category = excluded.harm_category \
             WHERE incidents.row_hash <> excluded.row_hash OR incidents.geo_flag IS DISTINCT FROM excluded.geo_flag \
             RETURNING first_batch_id, district_code",
    );
    let written: Vec<(i64, Option<String>)> = qb.build_query_as().fetch_all(&mut **tx).await?;
    // The districts whose stored per-cell counts these rows change.
    touched.extend(written.iter().filter_map(|(_, d)| d.clone()));
    let firsts: Vec<i64> = written.into_iter().map(|(b, _)| b).collect();
    let loaded = firsts.iter().filter(|b| **b == batch_id).count() as u64;
    summary.loaded += loaded;
    summary.updated += firsts.len() as u64 - loaded;
    summary.unchanged += rows.len() as u64 - firsts.len() as u64;
    Ok(())
});

fn parse_row(
    record: &csv::StringRecord,
    row_number: u64,
    m: &Resolved,
    tz: &TimeZone,
) -> Result<IncidentRow, (String, String)> {
    let get = |i: usize| record.get(i).unwrap_or("").trim();
    let source_id = match m.id {
        Some(c) => get(c).to_string(),
        None => row_number.to_string(),
    };
    if source_id.is_empty() {
        return Err(("id".into(), "empty".into()));
    }
    // A time written with its own offset (RFC 3339: `Z` or `-07:00`) is an instant and kept as
    // one, as calls' and GPS fixes' times are; otherwise it is local time in the file's zone.
    let instant = match &m.occurred {
        ResolvedTime::Iso(c) => get(*c).parse::<jiff::Timestamp>().ok(),
        _ => None,
    };
    let (occurred_at, time_flag, local) = match instant {
        Some(ts) => (ts.as_second(), None, None),
        None => {
            let local = read_time(&m.occurred, &get).map_err(|r| ("occurred_at".to_string(), r))?;
            let (at, flag) = resolve_civil(local, tz).map_err(|r| ("occurred_at".to_string(), r))?;
            (at, flag, Some(local))
        }
    };
    let offense = get(m.offense).to_string();
    if offense.is_empty() {
        return Err(("offense".into(), "empty".into()));
    }
    let category = m.category.map(get).unwrap_or_default().to_string();
    let location = match &m.location {
        ResolvedLocation::LatLon { lat, lon, zero_is_missing } => {
            let lat = parse_coordinate(get(*lat), "lat", 90.0)?;
            let lon = parse_coordinate(get(*lon), "lon", 180.0)?;
            match (lat, lon) {
                (Some(lat), Some(lon)) if *zero_is_missing && lat == 0.0 && lon == 0.0 => None,
                (Some(lat), Some(lon)) => Some((lat, lon)),
                (None, None) => None,
                (Some(_), None) => return Err(("lon".into(), "empty while lat is given".into())),
                (None, Some(_)) => return Err(("lat".into(), "empty while lon is given".into())),
            }
        }
        ResolvedLocation::Utm { x, y, utm, zero_is_missing } => {
            let x = parse_coordinate(get(*x), "x", 1e8)?;
            let y = parse_coordinate(get(*y), "y", 1e8)?;
            match (x, y) {
                (Some(x), Some(y)) if *zero_is_missing && x == 0.0 && y == 0.0 => None,
                (Some(x), Some(y)) => {
                    let (lon, lat) = utm.inverse(x, y);
                    Some((lat, lon))
                }
                (None, None) => None,
                (Some(_), None) => return Err(("y".into(), "empty while x is given".into())),
                (None, Some(_)) => return Err(("x".into(), "empty while y is given".into())),
            }
        }
    };
    let address = m.address.map(get).unwrap_or_default().trim().to_string();
    let neighbourhood = m.neighbourhood.map(get).unwrap_or_default().trim().to_string();
    let district = m.district.map(get).filter(|d| !d.is_empty()).map(str::to_string);
    // An ISO time is stored as written; other shapes in ISO form.
    let occurred_local = match m.occurred {
        ResolvedTime::Iso(c) => get(c).to_string(),
        _ => local.map(|l| l.to_string()).unwrap_or_default(),
    };
    let mut h = Sha256::new();
    for part in [occurred_local.as_str(), &offense, &category, &address, district.as_deref().unwrap_or("")] {
        h.update(part.as_bytes());
        h.update([0x1f]);
    }
    // A neighbourhood joins the digest only when given, so files without one keep the digests
    // stored before it was read.
    if !neighbourhood.is_empty() {
        h.update(neighbourhood.as_bytes());
        h.update([0x1f]);
    }
    // Coordinates by their exact bits: cheaper than formatting, and exact.
    if let Some((lat, lon)) = location {
        h.update(lat.to_bits().to_le_bytes());
        h.update(lon.to_bits().to_le_bytes());
    }
    Ok(IncidentRow {
        line: 0,
        source_id,
        occurred_at,
        occurred_local,
        time_flag,
        offense,
        category,
        location,
        geo_flag: None,
        address,
        neighbourhood,
        district,
        row_hash: hex::encode(&h.finalize()[..12]),
        class: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vancouver() -> TimeZone {
        TimeZone::get("America/Vancouver").expect("bundled tzdb")
    }

    fn record(fields: &[&str]) -> csv::StringRecord {
        csv::StringRecord::from(fields.to_vec())
    }

    fn canonical() -> Resolved {
        Mapping::canonical(&["category"])
            .resolve(&record(&["id", "occurred_at", "offense", "category", "lat", "lon"]))
            .expect("canonical")
    }

    #[test]
    fn rows_are_checked_field_by_field() {
        let cols = canonical();
        let tz = vancouver();
        let ok = parse_row(&record(&["7", "2020-01-01T00:10", "Mischief", "", "49.2", "-123.1"]), 1, &cols, &tz)
            .expect("ok");
        assert_eq!(ok.location, Some((49.2, -123.1)));
        let no_loc = parse_row(&record(&["8", "2020-01-01T00:10", "Homicide", "", "", ""]), 1, &cols, &tz).expect("ok");
        assert_eq!(no_loc.location, None);
        let bad = |f: &[&str]| parse_row(&record(f), 1, &cols, &tz).expect_err("bad");
        assert_eq!(bad(&["9", "2020-01-01T00:10", "X", "", "91", "-123"]).0, "lat");
        assert_eq!(bad(&["9", "2020-01-01T00:10", "X", "", "49", "abc"]).0, "lon");
        assert_eq!(bad(&["9", "2020-01-01T00:10", "X", "", "49", ""]).0, "lon");
        assert_eq!(bad(&["9", "2020-01-01T00:10", "X", "", "NaN", "-123"]).0, "lat");
        assert_eq!(bad(&["", "2020-01-01T00:10", "X", "", "49", "-123"]).0, "id");
        assert_eq!(bad(&["9", "yesterday", "X", "", "49", "-123"]).0, "occurred_at");
        assert_eq!(bad(&["9", "2020-01-01T00:10", " ", "", "49", "-123"]).0, "offense");
    }

    #[test]
    fn missing_columns_are_named() {
        let err = Mapping::canonical(&[])
            .resolve(&record(&["id", "when", "offense", "lat", "lon"]))
            .expect_err("no occurred_at");
        assert!(err.to_string().contains("'occurred_at'"), "{err}");
    }

    #[test]
    fn content_digest_ignores_the_id_but_not_the_content() {
        let cols = canonical();
        let tz = vancouver();
        let a = parse_row(&record(&["1", "2020-01-01T00:10", "Mischief", "", "49.2", "-123.1"]), 1, &cols, &tz)
            .expect("ok");
        let b = parse_row(&record(&["2", "2020-01-01T00:10", "Mischief", "", "49.2", "-123.1"]), 1, &cols, &tz)
            .expect("ok");
        let c = parse_row(&record(&["1", "2020-01-01T00:10", "Other Theft", "", "49.2", "-123.1"]), 1, &cols, &tz)
            .expect("ok");
        assert_eq!(a.row_hash, b.row_hash);
        assert_ne!(a.row_hash, c.row_hash);
    }
}
