//! The one handle on the database ([`Bodega`]): the two engines, connecting and migrating, the
//! write transaction each engine needs, and [`on_pool!`](crate::on_pool) /
//! [`on_writer!`](crate::on_writer), which run one query text on whichever engine is live — the
//! second for anything that writes.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

/// The Data Bodega: a pool on one of the two supported engines. Cheap to clone.
#[derive(Clone, Debug)]
pub enum Bodega {
    /// The embedded default.
    Sqlite(SqliteStore),
    /// The scale path.
    Postgres(PgPool),
}

/// SQLite's two pools on one file: readers, and the one connection every write goes through.
///
/// SQLite has one writer at a time. With writes spread over the pool, every writer past the first
/// waited for the lock inside SQLite's busy handler — sleeping 1 to 100 ms between tries, in no
/// order, while holding a pool connection — so at 400 pushes/s the pool filled with sleepers and
/// even reads (a session lookup) waited for a connection: a paced p99 of 1.2–1.5 s with a p50 of
/// 4 ms (issue 21, measured with the server's own timing: session lookup p95 721 ms, the wait for
/// `BEGIN IMMEDIATE` p95 173 ms, the transaction itself p99 4 ms). Writers now queue for the
/// one writer connection in the pool's fair (first come, first served) queue, without a
/// connection, and reads keep theirs (paced p99 now 7–8 ms, with the other changes of issue 21
/// in bench/README.md).
#[derive(Clone, Debug)]
pub struct SqliteStore {
    reads: SqlitePool,
    writes: SqlitePool,
}

impl SqliteStore {
    /// The pool for reads (and for writes the busy handler may serialise: other processes').
    pub fn reads(&self) -> &SqlitePool {
        &self.reads
    }

    /// The one writer connection.
    pub fn writes(&self) -> &SqlitePool {
        &self.writes
    }
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

/// Runs `$body` with `$pool` bound to the live pool, whichever engine it is, for reads. The body
/// is compiled once per engine, so one query text serves both; sqlx checks the types for each.
/// Anything that writes uses [`on_writer!`](crate::on_writer).
#[macro_export]
macro_rules! on_pool {
    ($bodega:expr, $pool:ident => $body:expr) => {
        match $bodega {
            $crate::store::Bodega::Sqlite(store) => {
                let $pool = store.reads();
                $body
            }
            $crate::store::Bodega::Postgres($pool) => $body,
        }
    };
}

/// [`on_pool!`](crate::on_pool) for a write: on SQLite `$pool` is the one writer connection
/// (see [`SqliteStore`]), on PostgreSQL the pool (its row locks order the writers).
#[macro_export]
macro_rules! on_writer {
    ($bodega:expr, $pool:ident => $body:expr) => {
        match $bodega {
            $crate::store::Bodega::Sqlite(store) => {
                let $pool = store.writes();
                $body
            }
            $crate::store::Bodega::Postgres($pool) => $body,
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

/// Starts a write transaction the right way for the pool's engine (on SQLite, on the writer:
/// [`on_writer!`](crate::on_writer)).
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
                    // SQLite's 4 KiB pages, set explicitly (the store used 64 KiB until issue 21).
                    // Officers' small sync commits come first: each commit writes whole pages to
                    // the WAL, so 64 KiB pages wrote ~0.5 MiB per push and the disk's writeback
                    // stalled commits (paced 2,000 mutations/s, p99 173–612 ms over six runs;
                    // 4 KiB: 8–10 ms). The cost is a slower bulk load, measured in bench/README.md.
                    // An existing database keeps the page size it was created with.
                    .page_size(4096);
                let file = opts.get_filename().to_path_buf();
                if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)
                        .map_err(|source| BodegaError::CreateDir { dir: dir.display().to_string(), source })?;
                }
                let connect = |n: u32| {
                    SqlitePoolOptions::new()
                        .max_connections(n)
                        .acquire_timeout(Duration::from_secs(10))
                        .connect_with(opts.clone())
                };
                let failed = |source| BodegaError::Connect { target: file.display().to_string(), source };
                // The writer first: it creates the file with the page size and WAL set.
                let writes = connect(1).await.map_err(failed)?;
                // An in-memory database is one per pool: it keeps the one pool for both.
                let in_memory = url.contains(":memory:") || url.contains("mode=memory");
                let reads =
                    if in_memory { writes.clone() } else { connect(max_connections.max(1)).await.map_err(failed)? };
                Ok(Self::Sqlite(SqliteStore { reads, writes }))
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
            Self::Sqlite(store) => sqlx::migrate!("./migrations/sqlite").run(store.writes()).await?,
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
        match self {
            Self::Sqlite(store) => {
                store.reads.close().await;
                store.writes.close().await;
            }
            Self::Postgres(pool) => pool.close().await,
        }
    }
}

/// Seconds since the Unix epoch, now.
pub(crate) fn now_seconds() -> i64 {
    jiff::Timestamp::now().as_second()
}
