//! One way to load a CSV file into the Data Bodega, whatever it holds (incidents, calls for
//! service, GPS fixes). The rules are the Data Bodega's promises:
//!
//! - **Nothing valid is lost, nothing bad aborts the good.** A row that cannot be used goes to
//!   `rejected_rows` with its line, the field at fault and the reason; the rest load.
//! - **Nothing half-written.** One file is one transaction, with its `ingest_batches` row: if the
//!   file as a whole is unusable (no header, a required column missing) or the database fails,
//!   nothing of it is stored. A dry run does everything, then rolls back.
//! - **Constant memory.** Rows are read and written in chunks; only a 64-bit digest per id is
//!   kept to catch an id repeated inside one file. Reading and writing overlap: one half of the
//!   load parses and checks the next chunk while the other has the database write the previous
//!   one (a channel one chunk deep between them, in one task, so the file's order is kept).
//!
//! A kind of file is a [`FileKind`] (its columns, how a record becomes a row, the id a row must
//! not repeat) and a [`Store`] of its rows on each engine (the upsert); [`load`] does the rest.

use std::collections::{BTreeSet, HashMap};
use std::hash::{Hash, Hasher};
use std::io::Read;

use serde::Serialize;

use crate::csvfile::{CsvFile, IngestError, Record, Rejection};
use crate::on_writer;
use crate::store::{begin_write, now_seconds, Bodega};

/// How a load should run.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// The source system label that, with the row's id, identifies a record.
    pub source: String,
    /// The file name recorded in the batch (no directories).
    pub file_name: String,
    /// The department's IANA time zone, e.g. `America/Vancouver`.
    pub time_zone: String,
    /// Parse and validate everything, then roll back.
    pub dry_run: bool,
    /// How an incident file's columns map onto incidents; `None` for Beatbook's canonical file
    /// (calls and GPS files have one shape).
    pub mapping: Option<crate::mapping::Mapping>,
}

/// What one load did, whatever the file held.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LoadSummary {
    /// The batch id (also for a dry run, whose batch is rolled back).
    pub batch_id: i64,
    /// Data rows read (header excluded).
    pub read: u64,
    /// New records stored.
    pub loaded: u64,
    /// Known records whose content changed and was updated (GPS fixes are never updated).
    pub updated: u64,
    /// Known records already stored exactly so (for GPS: fixes already stored for the device and
    /// second).
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

/// One kind of file: how a record becomes a row.
pub(crate) trait FileKind {
    /// A row ready to store.
    type Row: Send;
    /// The batch's kind in `ingest_batches`.
    const KIND: &'static str;
    /// Rows written per INSERT (each engine's bind limit in mind).
    const CHUNK: usize;
    /// Whether stored rows move the per-cell, per-day counts (incidents do).
    const MOVES_CELL_COUNTS: bool = false;

    /// The row a record holds, or the field at fault and why.
    fn parse(&self, record: &Record) -> Result<Self::Row, (String, String)>;

    /// The id a row must not repeat within one file, and the field that holds it (`None`: rows
    /// may repeat, as GPS fixes do and the store skips).
    fn id<'a>(&self, _row: &'a Self::Row) -> Option<(&'static str, &'a str)> {
        None
    }

    /// What the reading half counts of a row it keeps (no location, flagged).
    fn tally(&self, _row: &Self::Row, _summary: &mut LoadSummary) {}
}

/// Writing one kind of row on one engine. The bodies are one macro per kind, expanded per
/// engine, because sqlx's `QueryBuilder` is generic over the database but needs the concrete
/// engine to encode.
pub(crate) trait Store<R>: Batches {
    /// Writes a chunk (upsert or insert), counting loaded, updated and unchanged rows; `touched`
    /// gets the districts whose stored per-cell counts the chunk changes.
    async fn write(
        tx: &mut sqlx::Transaction<'static, Self>,
        source: &str,
        batch_id: i64,
        rows: &[R],
        summary: &mut LoadSummary,
        touched: &mut BTreeSet<String>,
    ) -> Result<(), sqlx::Error>;
}

/// The batch row and the rejected rows, on one engine.
pub(crate) trait Batches: crate::store::WriteTx {
    /// Records the start of a load in `ingest_batches` and returns its id.
    async fn open_batch(
        tx: &mut sqlx::Transaction<'static, Self>,
        kind: &str,
        opts: &IngestOptions,
    ) -> Result<i64, sqlx::Error>;
    /// Records the outcome of a load on its batch row.
    async fn finish_batch(
        tx: &mut sqlx::Transaction<'static, Self>,
        batch_id: i64,
        sha256: &str,
        summary: &LoadSummary,
    ) -> Result<(), sqlx::Error>;
    /// Keeps rows set aside, with line, field and reason.
    async fn reject(
        tx: &mut sqlx::Transaction<'static, Self>,
        batch_id: i64,
        rejects: &[Rejection],
    ) -> Result<u64, sqlx::Error>;
}

/// The department's zone and the file's header: what every load starts with.
///
/// # Errors
/// [`IngestError::TimeZone`] for an unknown zone, [`IngestError::Unreadable`] for a file with
/// no header.
pub(crate) fn open<R: Read>(reader: R, opts: &IngestOptions) -> Result<(jiff::tz::TimeZone, CsvFile<R>), IngestError> {
    let tz = jiff::tz::TimeZone::get(&opts.time_zone).map_err(|_| IngestError::TimeZone(opts.time_zone.clone()))?;
    Ok((tz, CsvFile::open(reader)?))
}

/// What the reading half of a load hands the writing half.
enum Piece<R> {
    Rows(Vec<R>),
    Rejects(Vec<Rejection>),
}

/// Loads a CSV file of `kind` in one transaction (module docs). `summary.read` counts the data
/// rows; the file's digest is recorded on its batch.
///
/// # Errors
/// [`IngestError`] when the database fails; the store is then unchanged.
pub(crate) async fn load<K, R>(
    bodega: &Bodega,
    kind: &K,
    mut file: CsvFile<R>,
    opts: &IngestOptions,
) -> Result<LoadSummary, IngestError>
where
    K: FileKind,
    R: Read,
    sqlx::Sqlite: Store<K::Row>,
    sqlx::Postgres: Store<K::Row>,
{
    on_writer!(bodega, pool => {
        let mut tx = begin_write(pool).await?;
        let batch_id = Batches::open_batch(&mut tx, K::KIND, opts).await?;
        let mut summary = LoadSummary { batch_id, dry_run: opts.dry_run, ..LoadSummary::default() };
        let mut touched = BTreeSet::new();
        let (pieces, arrived) = tokio::sync::mpsc::channel::<Piece<K::Row>>(1);
        let read = async {
            // The reading half's counts (read, without location, flagged); the writing half
            // keeps the rest in `summary`.
            let mut counts = LoadSummary::default();
            let mut seen: HashMap<u64, u64> = HashMap::new();
            let mut chunk: Vec<K::Row> = Vec::with_capacity(K::CHUNK);
            let mut rejects: Vec<Rejection> = Vec::new();
            while let Some(record) = file.next_record() {
                counts.read += 1;
                let parsed = record.and_then(|r| kind.parse(&r).map(|row| (r.line, row)).map_err(|e| file.reject(r.line, e)));
                match parsed {
                    Ok((line, row)) => {
                        // Only a row that was kept claims its id: a rejected row never costs a
                        // good one.
                        let repeat = kind.id(&row).and_then(|(field, id)| {
                            let mut hasher = std::collections::hash_map::DefaultHasher::new();
                            id.hash(&mut hasher);
                            seen.insert(hasher.finish(), line).map(|first| (field, id.to_string(), first))
                        });
                        match repeat {
                            Some((field, id, first)) => rejects.push(file.reject(
                                line,
                                (field.into(), format!("{field} '{id}' repeats line {first} of this file")),
                            )),
                            None => {
                                kind.tally(&row, &mut counts);
                                chunk.push(row);
                            }
                        }
                    }
                    Err(rejection) => rejects.push(rejection),
                }
                if chunk.len() == K::CHUNK {
                    let full = std::mem::replace(&mut chunk, Vec::with_capacity(K::CHUNK));
                    if pieces.send(Piece::Rows(full)).await.is_err() {
                        break; // the writer failed; its error is the load's
                    }
                }
                if rejects.len() >= K::CHUNK
                    && pieces.send(Piece::Rejects(std::mem::take(&mut rejects))).await.is_err()
                {
                    break;
                }
            }
            // Rows before rejections, as the file had them; a send fails only once the writing
            // half has ended, which before this point means it failed.
            let _ = pieces.send(Piece::Rows(chunk)).await;
            let _ = pieces.send(Piece::Rejects(rejects)).await;
            drop(pieces);
            (counts, file)
        };
        let write = async {
            // Owned by this half: when a write fails, the receiver goes with it and the reading
            // half's next send fails instead of waiting for room that never comes.
            let mut arrived = arrived;
            while let Some(piece) = arrived.recv().await {
                match piece {
                    Piece::Rows(rows) => {
                        if !rows.is_empty() {
                            Store::write(&mut tx, &opts.source, batch_id, &rows, &mut summary, &mut touched).await?;
                        }
                    }
                    Piece::Rejects(rejects) => {
                        if !rejects.is_empty() {
                            summary.rejected += Batches::reject(&mut tx, batch_id, &rejects).await?;
                        }
                    }
                }
            }
            Ok::<(), sqlx::Error>(())
        };
        let ((counts, file), written) = tokio::join!(read, write);
        written?;
        summary.read = counts.read;
        summary.without_location = counts.without_location;
        summary.time_flagged = counts.time_flagged;
        summary.geo_flagged = counts.geo_flagged;
        Batches::finish_batch(&mut tx, batch_id, &file.digest(), &summary).await?;
        if K::MOVES_CELL_COUNTS {
            // An updated incident may have left any district: then every district's counts go
            // stale.
            if summary.updated > 0 {
                touched.insert(crate::aggregates::ALL_DISTRICTS.to_string());
            }
            crate::bump_cell_days!(tx, &touched);
        }
        if opts.dry_run { tx.rollback().await? } else { tx.commit().await? }
        tracing::info!(?summary, kind = K::KIND, source = %opts.source, file = %opts.file_name, "file loaded");
        Ok(summary)
    })
}

/// Implements [`Batches`] for one engine.
macro_rules! impl_batches {
    ($engine:ty) => {
        impl Batches for $engine {
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
                s: &LoadSummary,
            ) -> Result<(), sqlx::Error> {
                sqlx::query(
                    "UPDATE ingest_batches SET sha256 = $1, finished_at = $2, rows_read = $3, rows_loaded = $4, \
                     rows_updated = $5, rows_unchanged = $6, rows_rejected = $7, outcome = 'ok' WHERE id = $8",
                )
                .bind(sha256)
                .bind(now_seconds())
                .bind(s.read as i64)
                .bind(s.loaded as i64)
                .bind(s.updated as i64)
                .bind(s.unchanged as i64)
                .bind(s.rejected as i64)
                .bind(batch_id)
                .execute(&mut **tx)
                .await
                .map(|_| ())
            }

            async fn reject(
                tx: &mut sqlx::Transaction<'static, Self>,
                batch_id: i64,
                rejects: &[Rejection],
            ) -> Result<u64, sqlx::Error> {
                let mut qb = sqlx::QueryBuilder::new("INSERT INTO rejected_rows (batch_id, line, field, reason, raw) ");
                qb.push_values(rejects.iter(), |mut b, r| {
                    b.push_bind(batch_id)
                        .push_bind(r.line as i64)
                        .push_bind(r.field.clone())
                        .push_bind(r.reason.clone())
                        .push_bind(r.raw.clone());
                });
                qb.build().execute(&mut **tx).await?;
                Ok(rejects.len() as u64)
            }
        }
    };
}

impl_batches!(sqlx::Sqlite);
impl_batches!(sqlx::Postgres);

/// Implements [`Store`] of one row type for both engines from one body
/// (`|tx, source, batch_id, rows, summary, touched| { … }`).
macro_rules! impl_store {
    ($row:ty, |$tx:ident, $source:ident, $batch:ident, $rows:ident, $summary:ident, $touched:ident| $body:block) => {
        $crate::load::impl_store!(@one sqlx::Sqlite, $row, |$tx, $source, $batch, $rows, $summary, $touched| $body);
        $crate::load::impl_store!(@one sqlx::Postgres, $row, |$tx, $source, $batch, $rows, $summary, $touched| $body);
    };
    (@one $engine:ty, $row:ty, |$tx:ident, $source:ident, $batch:ident, $rows:ident, $summary:ident, $touched:ident| $body:block) => {
        impl $crate::load::Store<$row> for $engine {
            async fn write(
                $tx: &mut sqlx::Transaction<'static, Self>,
                $source: &str,
                $batch: i64,
                $rows: &[$row],
                $summary: &mut $crate::load::LoadSummary,
                $touched: &mut std::collections::BTreeSet<String>,
            ) -> Result<(), sqlx::Error> {
                $body
            }
        }
    };
}
pub(crate) use impl_store;
