//! What each subcommand does, one family per module: [`serve`] (serve, migrate, seed the demo),
//! [`ingest`] (load files and watch a folder), [`analysis`] (the analysts' one-file `hotspots`
//! and `evaluate`), [`accounts`] (users and devices), [`weights`] (harm tables), [`setup`] (shift patterns and dosage rules), [`snapshot`]
//! (the Chief's Daily Snapshot to a file), [`basemap`] (check or draw a basemap). `main.rs` only
//! parses and dispatches.

use anyhow::Context;
use bodega::Bodega;
use tracing_subscriber::EnvFilter;

use crate::config::{Common, LogFormat};

pub mod accounts;
pub mod analysis;
pub mod basemap;
pub mod ingest;
pub mod serve;
pub mod setup;
pub mod snapshot;
pub mod weights;

/// Logging to stderr, as text or JSON, with the configured filter.
///
/// # Errors
/// A filter that does not parse.
pub fn init_tracing(common: &Common) -> anyhow::Result<()> {
    let filter = EnvFilter::try_new(&common.log)
        .with_context(|| format!("BEATBOOK_LOG '{}' is not a log filter", common.log))?;
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let result = match common.log_format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
    result.map_err(|e| anyhow::anyhow!("cannot start logging: {e}"))
}

/// The Data Bodega at the configured URL (migrated), after checking the time zone.
///
/// # Errors
/// An unknown time zone, an unreachable or unparseable database.
pub async fn open_store(common: &Common) -> anyhow::Result<Bodega> {
    jiff::tz::TimeZone::get(&common.time_zone).map_err(|_| {
        anyhow::anyhow!("BEATBOOK_TIME_ZONE '{}' is not an IANA time zone such as America/Vancouver", common.time_zone)
    })?;
    Ok(Bodega::connect(&common.database_url, common.db_connections).await?)
}
