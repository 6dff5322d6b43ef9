//! Reading a CSV file row by row, the way every load reads one: the header and its columns, each
//! record's line, rows that cannot be read set aside as [`Rejection`]s with the reason, the
//! digest of every byte read; and the field readers every kind of file shares (times,
//! coordinates).

use std::io::Read;

use jiff::civil::DateTime;
use jiff::tz::{AmbiguousOffset, TimeZone};
use sha2::{Digest, Sha256};

/// A whole-file failure: nothing of the file was stored.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The department's time zone is not a known IANA name.
    #[error("unknown time zone '{0}' (expected an IANA name such as America/Vancouver)")]
    TimeZone(String),
    /// The header lacks a column the file needs.
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
    Store(#[from] crate::store::BodegaError),
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

/// Parses a local date-time such as `2020-03-08T02:30`, `2020-03-08 02:30:00`, or `2020-03-08`,
/// and resolves it in `tz`. Returns UTC seconds and a flag for gap/fold times.
///
/// # Errors
/// What is wrong with the text, in words.
pub fn resolve_local_time(text: &str, tz: &TimeZone) -> Result<(i64, Option<&'static str>), String> {
    resolve_civil(parse_iso_local(text)?, tz)
}

/// An ISO local date-time: `2020-01-31T13:45`, `2020-01-31 13:45:00`, or a date alone (midnight).
///
/// # Errors
/// Empty, or not such a date-time (the text is named).
pub(crate) fn parse_iso_local(text: &str) -> Result<DateTime, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty".into());
    }
    let normalised = if t.len() == 10 { format!("{t}T00:00") } else { t.replacen(' ', "T", 1) };
    normalised.parse().map_err(|_| format!("'{t}' is not a local date-time like 2020-01-31T13:45"))
}

/// Resolves a civil date-time in `tz`: UTC seconds and a flag for gap/fold times. A time in the
/// spring-forward gap moves forward by the gap (`gap`); an ambiguous fall-back time takes the
/// earlier offset (`ambiguous`).
pub(crate) fn resolve_civil(dt: DateTime, tz: &TimeZone) -> Result<(i64, Option<&'static str>), String> {
    let ambiguous = tz.to_ambiguous_zoned(dt);
    let flag = match ambiguous.offset() {
        AmbiguousOffset::Unambiguous { .. } => None,
        AmbiguousOffset::Gap { .. } => Some("gap"),
        AmbiguousOffset::Fold { .. } => Some("ambiguous"),
    };
    let zoned = ambiguous.compatible().map_err(|e| format!("'{dt}' cannot be placed in the time zone: {e}"))?;
    Ok((zoned.timestamp().as_second(), flag))
}

/// An instant written with its own offset (RFC 3339), else a local time in `tz`.
///
/// # Errors
/// Neither.
pub(crate) fn parse_instant(text: &str, tz: &TimeZone) -> Result<i64, String> {
    let t = text.trim();
    if let Ok(ts) = t.parse::<jiff::Timestamp>() {
        return Ok(ts.as_second());
    }
    resolve_local_time(t, tz).map(|(s, _)| s).map_err(|_| format!("'{t}' is neither RFC 3339 nor a local date-time"))
}

/// A coordinate within `±limit`, or none when the field is empty.
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

/// A row's text for reports, at most 2,000 characters.
pub(crate) fn raw_text(record: &csv::ByteRecord) -> String {
    let fields: Vec<String> = record.iter().map(|f| String::from_utf8_lossy(f).into_owned()).collect();
    // A NUL byte is valid UTF-8 but no PostgreSQL text column holds it: shown escaped.
    fields.join(",").chars().take(2000).collect::<String>().replace('\0', "\\0")
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

/// A CSV file read record by record: the header, each record's line, rows the reader cannot
/// delimit or decode set aside, and the digest of every byte read.
pub(crate) struct CsvFile<R: Read> {
    csv: csv::Reader<HashingReader<R>>,
    header: HeaderIndex,
    record: csv::ByteRecord,
    rows: u64,
    done: bool,
}

/// One record of a [`CsvFile`]: its line, its place among the data rows, and its text.
pub(crate) struct Record {
    /// 1-based line in the file.
    pub line: u64,
    /// 1-based data row (what a file without ids is keyed by).
    pub row_number: u64,
    /// The fields.
    pub text: csv::StringRecord,
}

impl<R: Read> CsvFile<R> {
    /// Reads the header.
    ///
    /// # Errors
    /// [`IngestError::Unreadable`] when there is none.
    pub fn open(reader: R) -> Result<Self, IngestError> {
        let mut csv = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(HashingReader { inner: reader, hasher: Sha256::new() });
        let header = csv.headers().map_err(|e| IngestError::Unreadable(e.to_string()))?.clone();
        Ok(Self { csv, header: HeaderIndex(header), record: csv::ByteRecord::new(), rows: 0, done: false })
    }

    /// The header.
    pub fn header(&self) -> &HeaderIndex {
        &self.header
    }

    /// The next record, or the rejection of a row that cannot be read as text: one the CSV
    /// reader cannot delimit (an unterminated quote), one that is not UTF-8, or one holding a NUL
    /// byte (valid UTF-8, but PostgreSQL text refuses it, so it is rejected on both engines).
    pub fn next_record(&mut self) -> Option<Result<Record, Rejection>> {
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
                self.done = matches!(e.kind(), csv::ErrorKind::Io(_));
                return Some(Err(self.reject(line, ("row".into(), e.to_string()))));
            }
        }
        let line = self.record.position().map(|p| p.line()).unwrap_or(line);
        Some(match csv::StringRecord::from_byte_record(self.record.clone()) {
            Err(_) => Err(self.reject(line, ("row".into(), "not valid UTF-8 text".into()))),
            Ok(text) => match text.iter().position(|f| f.contains('\0')) {
                Some(i) => Err(self.reject(
                    line,
                    ("row".into(), format!("field {} contains a NUL byte, which no column can hold", i + 1)),
                )),
                None => Ok(Record { line, row_number: self.rows, text }),
            },
        })
    }

    /// The rejection of the row last read.
    pub fn reject(&self, line: u64, (field, reason): (String, String)) -> Rejection {
        Rejection { line, field, reason, raw: raw_text(&self.record) }
    }

    /// Hex SHA-256 of every byte read so far (the whole file once rows are exhausted).
    pub fn digest(self) -> String {
        hex::encode(self.csv.into_inner().hasher.finalize())
    }
}

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

    #[test]
    fn a_row_that_cannot_be_read_as_text_is_set_aside_with_its_line() {
        let bytes = b"a,b\n1,2\n3,\xff\n4,x\0y\n5,6\n".to_vec();
        let mut f = CsvFile::open(bytes.as_slice()).expect("header");
        let got: Vec<Result<u64, (u64, String)>> =
            std::iter::from_fn(|| f.next_record()).map(|r| r.map(|r| r.line).map_err(|e| (e.line, e.reason))).collect();
        assert_eq!(got[0], Ok(2));
        assert_eq!(got[1], Err((3, "not valid UTF-8 text".into())));
        assert!(matches!(&got[2], Err((4, reason)) if reason.contains("NUL")));
        assert_eq!(got[3], Ok(5));
        assert_eq!(got.len(), 4);
    }

    #[test]
    fn instants_with_and_without_offsets() {
        let tz = TimeZone::get("America/Vancouver").expect("tz");
        assert_eq!(parse_instant("2020-06-01T17:00:05Z", &tz), Ok(1_591_030_805));
        assert_eq!(parse_instant("2020-06-01T10:00:05-07:00", &tz), Ok(1_591_030_805));
        assert_eq!(parse_instant("2020-06-01T10:00:05", &tz), Ok(1_591_030_805), "local PDT");
        assert!(parse_instant("yesterday", &tz).is_err());
    }
}
