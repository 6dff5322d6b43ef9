//! # bodega — the Data Bodega
//!
//! Beatbook's one source of truth: every incident, call for service, unit and GPS fix lands
//! here, cleaned and with its provenance, and every dashboard, hot spot and mission reads from
//! here. Server-only; never part of the WebAssembly bundle.
//!
//! A tour:
//! - [`Bodega`] is the handle: one connection pool to either **SQLite** (the embedded default, a
//!   file under `./data/`) or **PostgreSQL** (the scale path). [`Bodega::connect`] picks the engine
//!   from the URL, applies the engine's embedded migrations (`migrations/sqlite`,
//!   `migrations/postgres`) and returns a ready pool.
//! - Both engines share one schema and one set of query texts: times are UTC seconds in 64-bit
//!   integers and placeholders are `$N` (which SQLite also accepts), so each query is written once
//!   and the [`on_pool!`] macro runs it against whichever pool is live. Where an engine needs its
//!   own SQL, the macro's arm says so explicitly.
//! - [`ingest`] streams incident CSV into the store — Beatbook's canonical file, or any export
//!   through a [`mapping`] (presets for real city exports, or a department's TOML file): bad
//!   rows are kept in `rejected_rows` with line, field and reason; re-loading changes nothing.
//! - [`calls`] (calls for service, upserted by call id as they close) and [`gps`] (append-only
//!   fixes from devices and AVL) land the other two kinds of operational data.
//! - [`geocode`] flags coordinates at (0,0), at "location unknown" placeholders or outside the
//!   boundary: kept, never mapped or scored. [`districts`] loads district/zone/boundary polygons.
//! - [`queries`] is the read API the rest of Beatbook uses: summaries, filtered incidents,
//!   per-cell per-local-day counts for the scoring core and devices, counts for the snapshot.
//! - [`accounts`] keeps users, roles, district membership, server-side sessions (token hashes
//!   only) and registered devices; [`audit`] is the append-only audit log (who, what, when, from
//!   where, outcome), which the schema itself refuses to update or trim inside a year.
//! - [`missions`] keeps the Mission Menu (versioned templates, a default menu with its evidence),
//!   missions and their event log; each transition is checked by `protocol::mission` and written
//!   with its event in one transaction.
//! - [`sync`] applies devices' pushed mutations exactly once (a push in one transaction: each
//!   mutation with its effect and its `mutation_log` row, then the device's `last_seq`) and
//!   answers pulls by the global change counter.
//! - [`demo`] holds the real Vancouver 2020 open data that seeds a new install.
//! - [`testing`] gives tests a fresh store on the engine the test run targets.

pub mod accounts;
pub mod aggregates;
pub mod audit;
pub mod calls;
pub mod classify;
pub mod demo;
pub mod districts;
pub mod geocode;
pub mod gps;
pub mod harm;
pub mod ingest;
pub mod mapping;
pub mod missions;
pub mod queries;
pub mod snapshot;
pub mod sync;
pub mod testing;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

pub use ingest::{IngestError, IngestOptions, IngestSummary};
pub use queries::{CitySummary, OffenseCount};

/// The Data Bodega: a pool on one of the two supported engines. Cheap to clone.
#[derive(Clone, Debug)]
pub enum Bodega {
    /// The embedded default.
    Sqlite(SqlitePool),
    /// The scale path.
    Postgres(PgPool),
}

/// Which engine a [`Bodega`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// SQLite (file or memory).
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// Errors from opening, migrating or querying the store.
#[derive(Debug, thiserror::Error)]
pub enum BodegaError {
    /// The URL is neither `sqlite:` nor `postgres:`/`postgresql:`, or does not parse.
    #[error("not a usable database URL ({reason}); expected sqlite://PATH or postgres://USER@HOST:PORT/DB")]
    BadUrl {
        /// What was wrong with it.
        reason: String,
    },
    /// The directory for the SQLite file could not be created.
    #[error("cannot create the database directory {dir}: {source}")]
    CreateDir {
        /// The directory.
        dir: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The database did not answer.
    #[error("cannot reach the database at {target}: {source}")]
    Connect {
        /// Host/port or file, never the password.
        target: String,
        /// Driver error.
        source: sqlx::Error,
    },
    /// A migration failed to apply.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A query failed.
    #[error("database query failed: {0}")]
    Query(#[from] sqlx::Error),
}

/// Runs `$body` with `$pool` bound to the live pool, whichever engine it is. The body is compiled
/// once per engine, so one query text serves both; sqlx checks the types for each.
#[macro_export]
macro_rules! on_pool {
    ($bodega:expr, $pool:ident => $body:expr) => {
        match $bodega {
            $crate::Bodega::Sqlite($pool) => $body,
            $crate::Bodega::Postgres($pool) => $body,
        }
    };
}

/// What a write transaction starts with on each engine. SQLite needs `BEGIN IMMEDIATE`: a deferred
/// transaction that reads and then writes can fail with SQLITE_BUSY without waiting on the busy
/// handler (see docs/ARCHITECTURE.md).
pub(crate) trait WriteTx: sqlx::Database {
    const BEGIN_WRITE: &'static str;
}
impl WriteTx for sqlx::Sqlite {
    const BEGIN_WRITE: &'static str = "BEGIN IMMEDIATE";
}
impl WriteTx for sqlx::Postgres {
    const BEGIN_WRITE: &'static str = "BEGIN";
}

/// Starts a write transaction the right way for the pool's engine.
pub(crate) async fn begin_write<DB: WriteTx>(
    pool: &sqlx::Pool<DB>,
) -> Result<sqlx::Transaction<'static, DB>, sqlx::Error> {
    pool.begin_with(DB::BEGIN_WRITE).await
}

impl Bodega {
    /// Opens the store at `url` and applies pending migrations.
    ///
    /// `sqlite://data/beatbook.db` (relative to the working directory) creates the directory and
    /// file if missing and turns on WAL, `busy_timeout` (5 s) and foreign keys;
    /// `postgres://user@host:5432/db` connects with a 5 s timeout.
    ///
    /// # Errors
    /// [`BodegaError::BadUrl`], [`BodegaError::CreateDir`], [`BodegaError::Connect`],
    /// [`BodegaError::Migrate`].
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, BodegaError> {
        let bodega = Self::open(url, max_connections).await?;
        bodega.migrate().await?;
        Ok(bodega)
    }

    /// Opens the store without migrating it.
    ///
    /// # Errors
    /// As [`Bodega::connect`], without the migration step.
    pub async fn open(url: &str, max_connections: u32) -> Result<Self, BodegaError> {
        let scheme = url.split_once(':').map(|(s, _)| s).unwrap_or_default();
        match scheme {
            "sqlite" => {
                let opts = SqliteConnectOptions::from_str(url)
                    .map_err(|e| BodegaError::BadUrl { reason: e.to_string() })?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(5))
                    .foreign_keys(true)
                    // Up to 64 MiB of page cache per connection (SQLite's default is 2 MiB), used
                    // only as pages are touched: a large load keeps its index pages in memory
                    // (measured on a 1M-row ingest: 16.3 s → 11.3 s, peak 141 MB; bench/ingest.sh).
                    .pragma("cache_size", "-65536")
                    // A new database gets SQLite's largest pages, 64 KiB instead of 4 KiB: a bulk
                    // load does a sixteenth of the page splits and writes (1M-row ingest 11.3 s →
                    // 8.8 s, the same memory); small sync commits write more per page (1,500-device
                    // burst 4,900 → 4,055 mutations/s, paced p99 5 → 11 ms: both goals kept). An
                    // existing database keeps the page size it was created with.
                    .page_size(65536);
                let file = opts.get_filename().to_path_buf();
                if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)
                        .map_err(|source| BodegaError::CreateDir { dir: dir.display().to_string(), source })?;
                }
                let pool = SqlitePoolOptions::new()
                    .max_connections(max_connections.max(1))
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(opts)
                    .await
                    .map_err(|source| BodegaError::Connect { target: file.display().to_string(), source })?;
                Ok(Self::Sqlite(pool))
            }
            "postgres" | "postgresql" => {
                let opts =
                    PgConnectOptions::from_str(url).map_err(|e| BodegaError::BadUrl { reason: e.to_string() })?;
                let target = format!("{}:{}", opts.get_host(), opts.get_port());
                let pool = PgPoolOptions::new()
                    .max_connections(max_connections.max(1))
                    .acquire_timeout(Duration::from_secs(5))
                    .connect_with(opts)
                    .await
                    .map_err(|source| BodegaError::Connect { target, source })?;
                Ok(Self::Postgres(pool))
            }
            "" => Err(BodegaError::BadUrl { reason: "it has no scheme".into() }),
            other => Err(BodegaError::BadUrl { reason: format!("unsupported scheme '{other}'") }),
        }
    }

    /// Applies the embedded migrations for this engine.
    ///
    /// # Errors
    /// [`BodegaError::Migrate`] when a migration fails or the database has one this build lacks.
    pub async fn migrate(&self) -> Result<(), BodegaError> {
        match self {
            Self::Sqlite(pool) => sqlx::migrate!("./migrations/sqlite").run(pool).await?,
            Self::Postgres(pool) => sqlx::migrate!("./migrations/postgres").run(pool).await?,
        }
        Ok(())
    }

    /// Which engine this is.
    pub fn engine(&self) -> Engine {
        match self {
            Self::Sqlite(_) => Engine::Sqlite,
            Self::Postgres(_) => Engine::Postgres,
        }
    }

    /// A round trip to the database, for `/readyz`.
    ///
    /// # Errors
    /// [`BodegaError::Query`] when the database does not answer.
    pub async fn ping(&self) -> Result<(), BodegaError> {
        on_pool!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Closes every connection (graceful shutdown; flushes SQLite's WAL).
    pub async fn close(&self) {
        on_pool!(self, pool => pool.close().await);
    }
}

/// Seconds since the Unix epoch, now.
pub(crate) fn now_seconds() -> i64 {
    jiff::Timestamp::now().as_second()
}
