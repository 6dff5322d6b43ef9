//! Streaming ingest of Beatbook's canonical incident CSV: `id,occurred_at,offense,category,lat,lon`.
//!
//! Rules (the Data Bodega's promises):
//! - **Nothing valid is lost, nothing bad aborts the good.** A row that cannot be used goes to
//!   `rejected_rows` with its line, the field at fault and the reason; the rest load.
//! - **Nothing half-written.** One file is one transaction: if the file as a whole is unusable
//!   (no header, a required column missing) or the database fails, nothing of it is stored.
//! - **Idempotent.** Incidents are upserted by `(source, id)`; a row whose content is unchanged
//!   is counted as unchanged and not written; a changed one is updated.
//! - **Local time honestly.** `occurred_at` is local time in the department's IANA zone and is
//!   stored as UTC (a time written with its own offset, RFC 3339, is kept as that instant). A time inside the spring-forward gap moves forward by the gap and is flagged
//!   `gap`; an ambiguous fall-back time takes the earlier offset and is flagged `ambiguous`.
//! - **Rows without coordinates are kept**, counted, and simply not mapped.
//! - Constant memory: rows are read and written in chunks; only a 64-bit digest per id is kept
//!   to catch an id repeated inside one file.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::io::Read;

use jiff::civil::DateTime;
use jiff::tz::{AmbiguousOffset, TimeZone};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::mapping::{read_time, Mapping, Resolved, ResolvedLocation, ResolvedTime};
use crate::{begin_write, now_seconds, on_pool, Bodega};

/// Rows written per INSERT statement (12 binds each; well under both engines' limits).
const CHUNK_ROWS: usize = 1000;

/// How a load should run.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// The source system label that, with the file's `id`, identifies an incident.
    pub source: String,
    /// The file name recorded in the batch (no directories).
    pub file_name: String,
    /// The department's IANA time zone, e.g. `America/Vancouver`.
    pub time_zone: String,
    /// Parse and validate everything, then roll back.
    pub dry_run: bool,
    /// How the file's columns map onto incidents; `None` for Beatbook's canonical file.
    pub mapping: Option<crate::mapping::Mapping>,
}

/// What one load did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IngestSummary {
    /// The batch id (also for a dry run, whose batch is rolled back).
    pub batch_id: i64,
    /// Data rows read (header excluded).
    pub read: u64,
    /// New incidents stored.
    pub loaded: u64,
    /// Known incidents whose content changed and was updated.
    pub updated: u64,
    /// Known incidents already stored exactly so.
    pub unchanged: u64,
    /// Rows kept in `rejected_rows` instead.
    pub rejected: u64,
    /// Accepted rows with no coordinates (kept, not mapped).
    pub without_location: u64,
    /// Accepted rows whose local time fell in a DST gap or fold (kept, flagged).
    pub time_flagged: u64,
    /// Accepted rows whose coordinates are (0,0), a placeholder or outside the boundary (kept,
    /// flagged, not mapped or scored).
    pub geo_flagged: u64,
    /// True when nothing was committed.
    pub dry_run: bool,
}

/// A whole-file failure: nothing of the file was stored.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The department's time zone is not a known IANA name.
    #[error("unknown time zone '{0}' (expected an IANA name such as America/Vancouver)")]
    TimeZone(String),
    /// The header lacks a column the mapping needs.
    #[error(
        "the header has no '{column}' column (found: {found}); is the file comma-separated, and is the preset or mapping the right one?"
    )]
    MissingColumn {
        /// The missing column.
        column: String,
        /// What the header had.
        found: String,
    },
    /// A mapping file that cannot be used.
    #[error("the column mapping is not usable: {0}")]
    Mapping(String),
    /// The file is not CSV we can read at all (before any row).
    #[error("cannot read the file: {0}")]
    Unreadable(String),
    /// The database failed; the load was rolled back.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// The store could not be read before the load (settings, boundary).
    #[error(transparent)]
    Store(#[from] crate::BodegaError),
}

/// A row that could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// 1-based line in the file.
    pub line: u64,
    /// The column at fault (`row` when it is the row as a whole).
    pub field: String,
    /// Why.
    pub reason: String,
    /// The raw row text.
    pub raw: String,
}

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
    /// District or area as given.
    pub district: Option<String>,
    /// Digest of the content fields.
    pub row_hash: String,
    /// The offence's class from the offence map, when the map knows it (set by the load, so
    /// the incident is stored classified in the same write).
    pub class: Option<std::sync::Arc<crate::classify::StoredClass>>,
}

/// Parses a local date-time such as `2020-03-08T02:30`, `2020-03-08 02:30:00`, or `2020-03-08`,
/// and resolves it in `tz`. Returns UTC seconds and a flag for gap/fold times.
pub fn resolve_local_time(text: &str, tz: &TimeZone) -> Result<(i64, Option<&'static str>), String> {
    let t = text.trim().to_string();
    let dt = read_time(&ResolvedTime::Iso(0), &|_| t.as_str())?;
    resolve_civil(dt, tz)
}

pub(crate) fn parse_coordinate(text: &str, field: &str, limit: f64) -> Result<Option<f64>, (String, String)> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() && v.abs() <= limit => Ok(Some(v)),
        Ok(v) => Err((field.into(), format!("{v} is outside -{limit}..{limit}"))),
        Err(_) => Err((field.into(), format!("'{t}' is not a number"))),
    }
}

/// Resolves a civil date-time in `tz`: UTC seconds and a flag for gap/fold times.
fn resolve_civil(dt: DateTime, tz: &TimeZone) -> Result<(i64, Option<&'static str>), String> {
    let ambiguous = tz.to_ambiguous_zoned(dt);
    let flag = match ambiguous.offset() {
        AmbiguousOffset::Unambiguous { .. } => None,
        AmbiguousOffset::Gap { .. } => Some("gap"),
        AmbiguousOffset::Fold { .. } => Some("ambiguous"),
    };
    let zoned = ambiguous.compatible().map_err(|e| format!("'{dt}' cannot be placed in the time zone: {e}"))?;
    Ok((zoned.timestamp().as_second(), flag))
}

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
    let address = m.address.map(get).unwrap_or_default().to_string();
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
        district,
        row_hash: hex::encode(&h.finalize()[..12]),
        class: None,
    })
}

/// A reader that hashes what passes through it, so the file's digest costs no second read.
struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

pub(crate) fn raw_text(record: &csv::ByteRecord) -> String {
    let fields: Vec<String> = record.iter().map(|f| String::from_utf8_lossy(f).into_owned()).collect();
    // A NUL byte is valid UTF-8 but no PostgreSQL text column holds it: shown escaped.
    fields.join(",").chars().take(2000).collect::<String>().replace('\0', "\\0")
}

/// The first field holding a NUL byte, as `("row", reason)`: valid UTF-8, but PostgreSQL text
/// refuses it, so the row is rejected on both engines alike instead of failing the whole file.
pub(crate) fn nul_byte(record: &csv::StringRecord) -> Result<(), (String, String)> {
    match record.iter().position(|f| f.contains('\0')) {
        None => Ok(()),
        Some(i) => Err(("row".into(), format!("field {} contains a NUL byte, which no column can hold", i + 1))),
    }
}

/// Reads an incident CSV row by row through a column mapping (Beatbook's canonical file when
/// none is given), checking each field; used by the ingest and by the analysts' one-file
/// commands. Keeps a digest of the bytes it read.
pub struct IncidentReader<R: Read> {
    csv: csv::Reader<HashingReader<R>>,
    header_len: usize,
    mapping: Resolved,
    tz: TimeZone,
    record: csv::ByteRecord,
    rows: u64,
    done: bool,
}

impl<R: Read> IncidentReader<R> {
    /// Reads the header and checks that the columns the mapping needs are there.
    ///
    /// # Errors
    /// [`IngestError::Unreadable`], [`IngestError::MissingColumn`] or [`IngestError::Mapping`].
    pub fn new(reader: R, mapping: Option<&Mapping>, tz: TimeZone) -> Result<Self, IngestError> {
        let mut csv = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(HashingReader { inner: reader, hasher: Sha256::new() });
        let header = csv.headers().map_err(|e| IngestError::Unreadable(e.to_string()))?.clone();
        let resolved = match mapping {
            Some(m) => m.resolve(&header)?,
            None => {
                let has_category = header.iter().any(|h| h.trim().eq_ignore_ascii_case("category"));
                Mapping::canonical(has_category).resolve(&header)?
            }
        };
        Ok(Self {
            csv,
            header_len: header.len(),
            mapping: resolved,
            tz,
            record: csv::ByteRecord::new(),
            rows: 0,
            done: false,
        })
    }

    /// The next data row: its line and either the parsed row or why it cannot be used.
    pub fn next_row(&mut self) -> Option<Result<IncidentRow, Rejection>> {
        if self.done {
            return None;
        }
        let line = self.csv.position().line() + 1;
        self.rows += 1;
        match self.csv.read_byte_record(&mut self.record) {
            Ok(false) => {
                self.done = true;
                return None;
            }
            Ok(true) => {}
            Err(e) => {
                // A row the CSV reader cannot delimit (e.g. an unterminated quote at the end).
                self.done = matches!(e.kind(), csv::ErrorKind::Io(_));
                return Some(Err(Rejection {
                    line,
                    field: "row".into(),
                    reason: e.to_string(),
                    raw: raw_text(&self.record),
                }));
            }
        }
        let line = self.record.position().map(|p| p.line()).unwrap_or(line);
        let parsed = match csv::StringRecord::from_byte_record(self.record.clone()) {
            Ok(text) if text.len() != self.header_len => {
                Err(("row".to_string(), format!("{} fields where the header has {}", text.len(), self.header_len)))
            }
            Ok(text) => nul_byte(&text).and_then(|()| parse_row(&text, self.rows, &self.mapping, &self.tz)),
            Err(_) => Err(("row".to_string(), "not valid UTF-8 text".to_string())),
        };
        Some(
            parsed
                .map(|mut row| {
                    row.line = line;
                    row
                })
                .map_err(|(field, reason)| Rejection { line, field, reason, raw: raw_text(&self.record) }),
        )
    }

    /// The raw text of the row last read (for reports).
    pub fn raw(&self) -> String {
        raw_text(&self.record)
    }

    /// Hex SHA-256 of every byte read so far (the whole file once rows are exhausted).
    pub fn finish(self) -> String {
        hex::encode(self.csv.into_inner().hasher.finalize())
    }
}

/// Streams a canonical incident CSV into the store in one transaction.
///
/// # Errors
/// [`IngestError`] when the file as a whole is unusable or the database fails; in both cases the
/// store is unchanged. Bad rows are not errors: they are counted and kept in `rejected_rows`.
pub async fn ingest_incidents_csv<R: Read>(
    bodega: &Bodega,
    reader: R,
    opts: &IngestOptions,
) -> Result<IngestSummary, IngestError> {
    let summary = load_incidents(bodega, reader, opts).await?;
    // Classify the new and changed incidents and give them districts. A failure here leaves
    // them unclassified for the next run (next load or server start); the load stands.
    if !opts.dry_run {
        if let Err(e) = bodega.classify_incidents().await {
            tracing::warn!(error = %e, "classifying the loaded incidents failed; the next load or start retries");
        }
    }
    Ok(summary)
}

async fn load_incidents<R: Read>(
    bodega: &Bodega,
    reader: R,
    opts: &IngestOptions,
) -> Result<IngestSummary, IngestError> {
    let tz = TimeZone::get(&opts.time_zone).map_err(|_| IngestError::TimeZone(opts.time_zone.clone()))?;
    let mut rows = IncidentReader::new(reader, opts.mapping.as_ref(), tz)?;
    let rules = bodega.geo_rules().await?;
    // Classified as they are written: one write per incident, not a second pass over them.
    let classes = bodega.offense_classes().await?;

    on_pool!(bodega, pool => {
        let mut tx = begin_write(pool).await?;
        let batch_id = open_batch(&mut tx, "incidents", opts).await?;
        let mut summary = IngestSummary { batch_id, dry_run: opts.dry_run, ..IngestSummary::default() };
        let mut touched = std::collections::BTreeSet::new();
        // Two halves run at once: reading and checking rows (here), and writing the previous
        // chunk (the database's own thread), joined by a channel one chunk deep. One task, so
        // the order of chunks and rejections is the file's.
        let (pieces, arrived) = tokio::sync::mpsc::channel::<Piece>(1);
        let read = async {
            // The reading half's counts (read, without location, flagged); the writing half
            // keeps the rest in `summary`.
            let mut counts = IngestSummary::default();
            let mut seen: HashMap<u64, u64> = HashMap::new();
            let mut chunk: Vec<IncidentRow> = Vec::with_capacity(CHUNK_ROWS);
            let mut rejects: Vec<Rejection> = Vec::new();
            while let Some(parsed) = rows.next_row() {
                counts.read += 1;
                match parsed {
                    Ok(mut row) => {
                        row.geo_flag = row.location.and_then(|(lat, lon)| rules.flag(lat, lon));
                        row.class = classes.get(&crate::classify::offense_key(&row.offense)).cloned();
                        let mut hasher = std::collections::hash_map::DefaultHasher::new();
                        row.source_id.hash(&mut hasher);
                        if let Some(first) = seen.insert(hasher.finish(), row.line) {
                            rejects.push(Rejection {
                                line: row.line,
                                field: "id".into(),
                                reason: format!("id '{}' repeats line {first} of this file", row.source_id),
                                raw: rows.raw(),
                            });
                        } else {
                            counts.without_location += u64::from(row.location.is_none());
                            counts.time_flagged += u64::from(row.time_flag.is_some());
                            counts.geo_flagged += u64::from(row.geo_flag.is_some());
                            chunk.push(row);
                        }
                    }
                    Err(rejection) => rejects.push(rejection),
                }
                if chunk.len() == CHUNK_ROWS {
                    let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK_ROWS));
                    if pieces.send(Piece::Rows(full)).await.is_err() {
                        break; // the writer failed; its error is the load's
                    }
                }
                if rejects.len() >= CHUNK_ROWS && pieces.send(Piece::Rejects(std::mem::take(&mut rejects))).await.is_err() {
                    break;
                }
            }
            // Rows before rejections, as the file had them; a send fails only once the writing
            // half has ended, which before this point means it failed.
            let _ = pieces.send(Piece::Rows(chunk)).await;
            let _ = pieces.send(Piece::Rejects(rejects)).await;
            drop(pieces);
            (counts, rows)
        };
        let write = async {
            // Owned by this half: when a write fails, the receiver goes with it and the reading
            // half's next send fails instead of waiting for room that never comes.
            let mut arrived = arrived;
            while let Some(piece) = arrived.recv().await {
                match piece {
                    Piece::Rows(chunk) => {
                        upsert_chunk(&mut tx, &opts.source, batch_id, &chunk, &mut summary, &mut touched).await?;
                    }
                    Piece::Rejects(rejects) => summary.rejected += store_rejections(&mut tx, batch_id, &rejects).await?,
                }
            }
            Ok::<(), sqlx::Error>(())
        };
        let ((counts, rows), written) = tokio::join!(read, write);
        written?;
        summary.read = counts.read;
        summary.without_location = counts.without_location;
        summary.time_flagged = counts.time_flagged;
        summary.geo_flagged = counts.geo_flagged;
        let counts = BatchCounts {
            read: summary.read,
            loaded: summary.loaded,
            updated: summary.updated,
            unchanged: summary.unchanged,
            rejected: summary.rejected,
        };
        finish_batch(&mut tx, batch_id, &rows.finish(), counts).await?;
        // An updated incident may have left any district: then every district's counts go stale.
        if summary.updated > 0 {
            touched.insert(crate::aggregates::ALL_DISTRICTS.to_string());
        }
        crate::bump_cell_days!(tx, &touched);
        if opts.dry_run { tx.rollback().await? } else { tx.commit().await? }
        tracing::info!(?summary, source = %opts.source, file = %opts.file_name, "incident file ingested");
        Ok(summary)
    })
}

/// What the reading half of a load hands the writing half.
enum Piece {
    Rows(Vec<IncidentRow>),
    Rejects(Vec<Rejection>),
}

/// Upserts one chunk; rows whose digest is unchanged are not touched. `RETURNING first_batch_id`
/// tells new rows (this batch) from updated ones; unchanged rows return nothing.
macro_rules! upsert_chunk_body {
    ($tx:expr, $source:expr, $batch:expr, $rows:expr, $summary:expr, $touched:expr) => {{
        if $rows.is_empty() {
            return Ok(());
        }
        let mut qb = sqlx::QueryBuilder::new(
            "INSERT INTO incidents (source, source_id, occurred_at, occurred_local, time_flag, offense, \
             category, lat, lon, geo_flag, address, district_code, row_hash, first_batch_id, batch_id, \
             nibrs_code, nibrs_group, crime_against, harm_category) ",
        );
        qb.push_values($rows.iter(), |mut b, r| {
            b.push_bind($source.to_owned())
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
                .push_bind(r.district.clone())
                .push_bind(r.row_hash.clone())
                .push_bind($batch)
                .push_bind($batch)
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
             district_code = excluded.district_code, row_hash = excluded.row_hash, \
             batch_id = excluded.batch_id, nibrs_code = excluded.nibrs_code, nibrs_group = excluded.nibrs_group, \
             crime_against = excluded.crime_against, harm_category = excluded.harm_category \
             WHERE incidents.row_hash <> excluded.row_hash OR incidents.geo_flag IS DISTINCT FROM excluded.geo_flag \
             RETURNING first_batch_id, district_code",
        );
        let written: Vec<(i64, Option<String>)> = qb.build_query_as().fetch_all(&mut **$tx).await?;
        // The districts whose stored per-cell counts these rows change.
        $touched.extend(written.iter().filter_map(|(_, d)| d.clone()));
        let firsts: Vec<i64> = written.into_iter().map(|(b, _)| b).collect();
        let loaded = firsts.iter().filter(|b| **b == $batch).count() as u64;
        $summary.loaded += loaded;
        $summary.updated += firsts.len() as u64 - loaded;
        $summary.unchanged += $rows.len() as u64 - firsts.len() as u64;
        Ok(())
    }};
}

async fn upsert_chunk<DB: UpsertTarget>(
    tx: &mut sqlx::Transaction<'static, DB>,
    source: &str,
    batch_id: i64,
    rows: &[IncidentRow],
    summary: &mut IngestSummary,
    touched: &mut std::collections::BTreeSet<String>,
) -> Result<(), sqlx::Error> {
    DB::upsert(tx, source, batch_id, rows, summary, touched).await
}

pub(crate) async fn store_rejections<DB: UpsertTarget>(
    tx: &mut sqlx::Transaction<'static, DB>,
    batch_id: i64,
    rejects: &[Rejection],
) -> Result<u64, sqlx::Error> {
    DB::reject(tx, batch_id, rejects).await
}

macro_rules! reject_body {
    ($tx:expr, $batch:expr, $rejects:expr) => {{
        if $rejects.is_empty() {
            return Ok(0);
        }
        let mut qb = sqlx::QueryBuilder::new("INSERT INTO rejected_rows (batch_id, line, field, reason, raw) ");
        qb.push_values($rejects.iter(), |mut b, r| {
            b.push_bind($batch)
                .push_bind(r.line as i64)
                .push_bind(r.field.clone())
                .push_bind(r.reason.clone())
                .push_bind(r.raw.clone());
        });
        qb.build().execute(&mut **$tx).await?;
        Ok($rejects.len() as u64)
    }};
}

/// The two engines' write paths. The bodies are one macro each, expanded per engine, because
/// sqlx's `QueryBuilder` is generic over the database but needs the concrete engine to encode.
pub(crate) trait UpsertTarget: crate::WriteTx {
    async fn upsert(
        tx: &mut sqlx::Transaction<'static, Self>,
        source: &str,
        batch_id: i64,
        rows: &[IncidentRow],
        summary: &mut IngestSummary,
        touched: &mut std::collections::BTreeSet<String>,
    ) -> Result<(), sqlx::Error>;
    async fn reject(
        tx: &mut sqlx::Transaction<'static, Self>,
        batch_id: i64,
        rejects: &[Rejection],
    ) -> Result<u64, sqlx::Error>;
    async fn open_batch(
        tx: &mut sqlx::Transaction<'static, Self>,
        kind: &str,
        opts: &IngestOptions,
    ) -> Result<i64, sqlx::Error>;
    async fn finish_batch(
        tx: &mut sqlx::Transaction<'static, Self>,
        batch_id: i64,
        sha256: &str,
        counts: BatchCounts,
    ) -> Result<(), sqlx::Error>;
}

/// What a batch row records of a finished load.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct BatchCounts {
    pub read: u64,
    pub loaded: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub rejected: u64,
}

/// Records the start of a load in `ingest_batches` and returns its id.
pub(crate) async fn open_batch<DB: UpsertTarget>(
    tx: &mut sqlx::Transaction<'static, DB>,
    kind: &str,
    opts: &IngestOptions,
) -> Result<i64, sqlx::Error> {
    DB::open_batch(tx, kind, opts).await
}

/// Records the outcome of a load on its batch row.
pub(crate) async fn finish_batch<DB: UpsertTarget>(
    tx: &mut sqlx::Transaction<'static, DB>,
    batch_id: i64,
    sha256: &str,
    counts: BatchCounts,
) -> Result<(), sqlx::Error> {
    DB::finish_batch(tx, batch_id, sha256, counts).await
}

/// A CSV header, for finding columns by name (case-insensitive, spaces and a BOM ignored).
pub(crate) struct HeaderIndex(pub csv::StringRecord);

impl HeaderIndex {
    /// The position of an optional column.
    pub fn find(&self, name: &str) -> Option<usize> {
        self.0.iter().position(|h| h.trim().trim_start_matches('\u{feff}').eq_ignore_ascii_case(name.trim()))
    }

    /// The position of a required column.
    ///
    /// # Errors
    /// [`IngestError::MissingColumn`], quoting the header briefly.
    pub fn need(&self, name: &str) -> Result<usize, IngestError> {
        self.find(name).ok_or_else(|| IngestError::MissingColumn {
            column: name.to_string(),
            found: self.0.iter().collect::<Vec<_>>().join(",").chars().take(200).collect(),
        })
    }
}

/// Implements [`UpsertTarget`] for one engine from the shared macro bodies.
macro_rules! impl_upsert_target {
    ($engine:ty) => {
        impl UpsertTarget for $engine {
            async fn upsert(
                tx: &mut sqlx::Transaction<'static, Self>,
                source: &str,
                batch_id: i64,
                rows: &[IncidentRow],
                summary: &mut IngestSummary,
                touched: &mut std::collections::BTreeSet<String>,
            ) -> Result<(), sqlx::Error> {
                upsert_chunk_body!(tx, source, batch_id, rows, summary, touched)
            }
            async fn reject(
                tx: &mut sqlx::Transaction<'static, Self>,
                batch_id: i64,
                rejects: &[Rejection],
            ) -> Result<u64, sqlx::Error> {
                reject_body!(tx, batch_id, rejects)
            }
            async fn open_batch(
                tx: &mut sqlx::Transaction<'static, Self>,
                kind: &str,
                opts: &IngestOptions,
            ) -> Result<i64, sqlx::Error> {
                sqlx::query_scalar(
                    "INSERT INTO ingest_batches (kind, source, file_name, sha256, started_at) \
                     VALUES ($1, $2, $3, '', $4) RETURNING id",
                )
                .bind(kind)
                .bind(&opts.source)
                .bind(&opts.file_name)
                .bind(now_seconds())
                .fetch_one(&mut **tx)
                .await
            }
            async fn finish_batch(
                tx: &mut sqlx::Transaction<'static, Self>,
                batch_id: i64,
                sha256: &str,
                c: BatchCounts,
            ) -> Result<(), sqlx::Error> {
                sqlx::query(
                    "UPDATE ingest_batches SET sha256 = $1, finished_at = $2, rows_read = $3, rows_loaded = $4, \
                     rows_updated = $5, rows_unchanged = $6, rows_rejected = $7, outcome = 'ok' WHERE id = $8",
                )
                .bind(sha256)
                .bind(now_seconds())
                .bind(c.read as i64)
                .bind(c.loaded as i64)
                .bind(c.updated as i64)
                .bind(c.unchanged as i64)
                .bind(c.rejected as i64)
                .bind(batch_id)
                .execute(&mut **tx)
                .await
                .map(|_| ())
            }
        }
    };
}

impl_upsert_target!(sqlx::Sqlite);
impl_upsert_target!(sqlx::Postgres);

#[cfg(test)]
mod tests {
    use super::*;

    fn vancouver() -> TimeZone {
        TimeZone::get("America/Vancouver").expect("bundled tzdb")
    }

    #[test]
    fn ordinary_local_time_becomes_utc() {
        // 13:45 PST (UTC−8) is 21:45 UTC.
        let (t, flag) = resolve_local_time("2020-01-15T13:45", &vancouver()).expect("valid");
        assert_eq!(t, jiff::Timestamp::from_second(t).expect("ts").as_second());
        assert_eq!(jiff::Timestamp::from_second(t).expect("ts").to_string(), "2020-01-15T21:45:00Z");
        assert_eq!(flag, None);
    }

    #[test]
    fn spring_forward_gap_moves_forward_and_is_flagged() {
        // 2020-03-08 02:30 does not exist in Vancouver; it becomes 03:30 PDT = 10:30 UTC.
        let (t, flag) = resolve_local_time("2020-03-08T02:30", &vancouver()).expect("valid");
        assert_eq!(jiff::Timestamp::from_second(t).expect("ts").to_string(), "2020-03-08T10:30:00Z");
        assert_eq!(flag, Some("gap"));
    }

    #[test]
    fn fall_back_fold_takes_the_earlier_offset_and_is_flagged() {
        // 2020-11-01 01:30 happens twice; the earlier is PDT (UTC−7) = 08:30 UTC.
        let (t, flag) = resolve_local_time("2020-11-01 01:30", &vancouver()).expect("valid");
        assert_eq!(jiff::Timestamp::from_second(t).expect("ts").to_string(), "2020-11-01T08:30:00Z");
        assert_eq!(flag, Some("ambiguous"));
    }

    #[test]
    fn bad_times_name_the_problem() {
        let err = resolve_local_time("31/01/2020", &vancouver()).expect_err("not ISO");
        assert!(err.contains("31/01/2020"), "{err}");
        assert_eq!(resolve_local_time(" ", &vancouver()), Err("empty".into()));
    }

    fn record(fields: &[&str]) -> csv::StringRecord {
        csv::StringRecord::from(fields.to_vec())
    }

    fn canonical() -> Resolved {
        Mapping::canonical(true)
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
        let err = Mapping::canonical(false)
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
