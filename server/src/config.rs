//! Configuration: every setting is a flag and an environment variable (documented in
//! `.env.sample`), with a default that works for a first start on one machine.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// Settings every subcommand shares.
#[derive(Debug, Clone, Args)]
pub struct Common {
    /// Where the Data Bodega lives: `sqlite://PATH` (the default, created on first start) or
    /// `postgres://USER:PASSWORD@HOST:PORT/DB`.
    #[arg(long, env = "BEATBOOK_DATABASE_URL", default_value = "sqlite://data/beatbook.db", global = true)]
    pub database_url: String,

    /// The department's IANA time zone: how local times in files are read, and how days are cut.
    #[arg(long, env = "BEATBOOK_TIME_ZONE", default_value = "America/Vancouver", global = true)]
    pub time_zone: String,

    /// Log format: `text` for people, `json` for log collectors.
    #[arg(long, env = "BEATBOOK_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,

    /// Log filter in `tracing` syntax, e.g. `info` or `info,sqlx=warn`.
    #[arg(long, env = "BEATBOOK_LOG", default_value = "info,sqlx=warn", global = true)]
    pub log: String,

    /// Database connections in the pool.
    #[arg(long, env = "BEATBOOK_DB_CONNECTIONS", default_value_t = 8, global = true)]
    pub db_connections: u32,
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Settings for `serve`.
#[derive(Debug, Clone, Args)]
pub struct Serve {
    /// Address and port to listen on.
    #[arg(long, env = "BEATBOOK_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,

    /// The built site (cargo-leptos output: `pkg/`, icons, manifest, service worker).
    #[arg(long, env = "BEATBOOK_SITE_ROOT", default_value = "target/site")]
    pub site_root: PathBuf,

    /// Load the demo city (real Vancouver 2020 open data) when the database has no incidents.
    #[arg(long, env = "BEATBOOK_SEED_DEMO", default_value_t = true, action = clap::ArgAction::Set)]
    pub seed_demo: bool,

    /// Seconds a request may take before the server answers 408.
    #[arg(long, env = "BEATBOOK_REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    pub request_timeout_secs: u64,

    /// Largest request body accepted, in bytes.
    #[arg(long, env = "BEATBOOK_MAX_BODY_BYTES", default_value_t = crate::DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: usize,

    /// Cell size of the overview map, metres.
    #[arg(long, env = "BEATBOOK_MAP_CELL_METRES", default_value_t = 250)]
    pub map_cell_metres: u32,

    /// The department's basemap: one PMTiles file of raster tiles (served with Range requests,
    /// kept whole on devices for offline use). Without one, maps show outlines on a plain
    /// background.
    #[arg(long, env = "BEATBOOK_BASEMAP")]
    pub basemap: Option<PathBuf>,

    /// The attribution the basemap's licence requires, shown on every map.
    #[arg(long, env = "BEATBOOK_BASEMAP_ATTRIBUTION", default_value = "© OpenStreetMap contributors")]
    pub basemap_attribution: String,

    /// Lock a session after this many minutes without activity (CJIS AC-11: at most 30).
    #[arg(long, env = "BEATBOOK_SESSION_IDLE_MINUTES", default_value_t = 30)]
    pub session_idle_minutes: u64,

    /// End every session this many hours after sign-in (one shift).
    #[arg(long, env = "BEATBOOK_SESSION_HOURS", default_value_t = 12)]
    pub session_hours: u64,

    /// What an officer's device keeps (missions, hot-spot aggregates) expires this many hours
    /// after the end of the session that loaded it; unsynced work is never expired.
    #[arg(long, env = "BEATBOOK_DEVICE_KEEP_HOURS", default_value_t = 12)]
    pub device_keep_hours: u64,

    /// Mark the session cookie `Secure`. Browsers accept it on https and on localhost; turn it
    /// off only for a plain-HTTP test rig on another host.
    #[arg(long, env = "BEATBOOK_COOKIE_SECURE", default_value_t = true, action = clap::ArgAction::Set)]
    pub cookie_secure: bool,

    /// Believe `X-Forwarded-For` and `X-Forwarded-Proto` (client address for rate limits and
    /// the audit log; HSTS behind TLS). Only behind a reverse proxy you run.
    #[arg(long, env = "BEATBOOK_TRUST_PROXY", default_value_t = false, action = clap::ArgAction::Set)]
    pub trust_proxy: bool,
}

impl Serve {
    /// The sign-in and session settings these flags describe.
    pub fn auth_config(&self) -> crate::auth::AuthConfig {
        crate::auth::AuthConfig {
            idle_lock: std::time::Duration::from_secs(self.session_idle_minutes.clamp(1, 30) * 60),
            session_lifetime: std::time::Duration::from_secs(self.session_hours.clamp(1, 24) * 3600),
            secure_cookie: self.cookie_secure,
            device_keep: std::time::Duration::from_secs(self.device_keep_hours.min(24 * 14) * 3600),
            trust_proxy: self.trust_proxy,
            ..Default::default()
        }
    }
}
