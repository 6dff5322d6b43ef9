//! Configuration: every setting is a flag and an environment variable (documented in
//! `.env.sample`), with a default that works for a first start on one machine.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// The department's time zone when none is set (the demo city's).
pub const DEFAULT_TIME_ZONE: &str = "America/Vancouver";

/// The overview map's cell when none is set (`BEATBOOK_MAP_CELL_METRES`): 250 m, a few hundred
/// cells over a city district.
pub const DEFAULT_MAP_CELL: hotspot::CellSize = hotspot::CellSize::from_const(250);

/// The default largest request body, bytes (`BEATBOOK_MAX_BODY_BYTES`): twice what a device
/// puts in one push (`protocol::sync::MAX_PUSH_BYTES`).
pub const DEFAULT_MAX_BODY_BYTES: usize = 2 * protocol::sync::MAX_PUSH_BYTES;

/// The largest sealed push (`POST /api/sync/push-sealed`), bytes, or the general limit if that
/// is larger. The service worker holds no key, so it cannot split a sealed store into pushes: it
/// sends all of it, hex-encoded: a shift's breadcrumbs fit the general limit (twelve hours of a
/// fix every 4 s: 1.6 MB), a few days' offline do not (30,000 fixes: 4.9 MB). The handler
/// applies it in pushes of at most `protocol::sync::MAX_BATCH` mutations.
pub const MAX_SEALED_PUSH_BYTES: usize = 16 * 1024 * 1024;

/// Settings every subcommand shares.
#[derive(Debug, Clone, Args)]
pub struct Common {
    /// Where the Data Bodega lives: `sqlite://PATH` (the default, created on first start) or
    /// `postgres://USER:PASSWORD@HOST:PORT/DB`.
    #[arg(long, env = "BEATBOOK_DATABASE_URL", default_value = "sqlite://data/beatbook.db", global = true)]
    pub database_url: String,

    /// The department's IANA time zone: how local times in files are read, and how days are cut.
    #[arg(long, env = "BEATBOOK_TIME_ZONE", default_value = DEFAULT_TIME_ZONE, global = true)]
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
    #[arg(long, env = "BEATBOOK_MAX_BODY_BYTES", default_value_t = DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: usize,

    /// Cell size of the overview map, whole metres from 1 to 10000.
    #[arg(long, env = "BEATBOOK_MAP_CELL_METRES", default_value_t = DEFAULT_MAP_CELL)]
    pub map_cell_metres: hotspot::CellSize,

    /// The department's basemap: one PMTiles file of raster tiles (served with Range requests,
    /// kept whole on devices for offline use). Without one, maps show outlines on a plain
    /// background.
    #[arg(long, env = "BEATBOOK_BASEMAP")]
    pub basemap: Option<PathBuf>,

    /// The attribution the basemap's licence requires, shown on every map.
    #[arg(long, env = "BEATBOOK_BASEMAP_ATTRIBUTION", default_value = "© OpenStreetMap contributors")]
    pub basemap_attribution: String,

    /// An online XYZ tile service drawn over the basemap when there is signal, e.g.
    /// `https://tiles.example.org/{z}/{x}/{y}.png` (https; its tiles are never stored on
    /// devices, and the tile host sees which areas are viewed).
    #[arg(long, env = "BEATBOOK_TILE_URL")]
    pub tile_url: Option<String>,

    /// The attribution the tile service's licence requires, shown on every map.
    #[arg(long, env = "BEATBOOK_TILE_ATTRIBUTION", default_value = "© OpenStreetMap contributors")]
    pub tile_attribution: String,

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

    /// Sign-in with OpenID Connect (Microsoft Entra ID or any provider): the issuer URL, e.g.
    /// `https://login.microsoftonline.com/TENANT/v2.0`. Local accounts keep working beside it.
    #[arg(long, env = "BEATBOOK_OIDC_ISSUER")]
    pub oidc_issuer: Option<String>,

    /// Beatbook's client (application) id at the identity provider.
    #[arg(long, env = "BEATBOOK_OIDC_CLIENT_ID", default_value = "")]
    pub oidc_client_id: String,

    /// The client secret, for a confidential client (PKCE is used either way).
    #[arg(long, env = "BEATBOOK_OIDC_CLIENT_SECRET", hide_env_values = true)]
    pub oidc_client_secret: Option<String>,

    /// This site's public address (the redirect URI registered at the provider is this plus
    /// `/api/auth/oidc/callback`). Defaults to `http://` and the listening address.
    #[arg(long, env = "BEATBOOK_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// The provider's name on the sign-in button.
    #[arg(long, env = "BEATBOOK_OIDC_NAME", default_value = "Microsoft Entra ID")]
    pub oidc_name: String,

    /// The ID-token claim with the user's roles (Entra ID puts app roles in `roles`).
    #[arg(long, env = "BEATBOOK_OIDC_ROLES_CLAIM", default_value = "roles")]
    pub oidc_roles_claim: String,

    /// Provider role values to Beatbook roles, `value=role,…` (e.g.
    /// `Beatbook.Patrol=officer,Beatbook.Supervisor=sergeant`); the role names themselves always map.
    #[arg(long, env = "BEATBOOK_OIDC_ROLE_MAP", default_value = "")]
    pub oidc_role_map: String,

    /// The ID-token claim with the user's district codes, if the provider assigns them;
    /// otherwise districts are an administrator's assignment.
    #[arg(long, env = "BEATBOOK_OIDC_DISTRICTS_CLAIM")]
    pub oidc_districts_claim: Option<String>,
}

impl Serve {
    /// `serve`'s settings from the environment and defaults alone (no subcommand given; the
    /// command line's other commands read the server's settings this way too).
    ///
    /// # Errors
    /// A setting in the environment that does not parse.
    pub fn from_env() -> anyhow::Result<Self> {
        #[derive(clap::Parser)]
        struct Wrapper {
            #[command(flatten)]
            serve: Serve,
        }
        use clap::Parser;
        Ok(Wrapper::try_parse_from(["server"]).map_err(|e| anyhow::anyhow!("{}", e.to_string().trim()))?.serve)
    }

    /// The identity provider these flags describe, if one is configured.
    ///
    /// # Errors
    /// An issuer without a client id, or a role map that does not parse.
    pub fn oidc_config(&self) -> anyhow::Result<Option<crate::oidc::provider::OidcConfig>> {
        let Some(issuer) = self.oidc_issuer.clone().filter(|i| !i.trim().is_empty()) else { return Ok(None) };
        if self.oidc_client_id.trim().is_empty() {
            anyhow::bail!("BEATBOOK_OIDC_ISSUER is set but BEATBOOK_OIDC_CLIENT_ID is not");
        }
        let role_map =
            crate::oidc::provider::OidcConfig::parse_role_map(&self.oidc_role_map).map_err(anyhow::Error::msg)?;
        Ok(Some(crate::oidc::provider::OidcConfig {
            issuer: issuer.trim().to_string(),
            client_id: self.oidc_client_id.trim().to_string(),
            client_secret: self.oidc_client_secret.clone().filter(|s| !s.is_empty()),
            public_url: self.public_url.clone().unwrap_or_else(|| format!("http://{}", self.addr)),
            label: self.oidc_name.clone(),
            roles_claim: self.oidc_roles_claim.clone(),
            role_map,
            districts_claim: self.oidc_districts_claim.clone().filter(|c| !c.is_empty()),
        }))
    }

    /// The sign-in and session settings these flags describe.
    pub fn auth_config(&self) -> crate::auth::config::AuthConfig {
        crate::auth::config::AuthConfig {
            idle_lock: std::time::Duration::from_secs(self.session_idle_minutes.clamp(1, 30) * 60),
            session_lifetime: std::time::Duration::from_secs(self.session_hours.clamp(1, 24) * 3600),
            secure_cookie: self.cookie_secure,
            device_keep: std::time::Duration::from_secs(self.device_keep_hours.min(24 * 14) * 3600),
            trust_proxy: self.trust_proxy,
            ..Default::default()
        }
    }
}

/// Department and session settings the state is built from.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The department's IANA time zone.
    pub time_zone: String,
    /// The overview map's cell (`BEATBOOK_MAP_CELL_METRES`).
    pub map_cell: hotspot::CellSize,
    /// Sign-in and session settings.
    pub auth: crate::auth::config::AuthConfig,
    /// The basemap, checked.
    pub basemap: Option<crate::basemap::Basemap>,
    /// The identity provider for single sign-on, if any.
    pub oidc: Option<crate::oidc::provider::OidcConfig>,
    /// The online tile service, checked.
    pub tiles: Option<crate::basemap::tiles::TileService>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            time_zone: DEFAULT_TIME_ZONE.into(),
            map_cell: DEFAULT_MAP_CELL,
            auth: crate::auth::config::AuthConfig::default(),
            basemap: None,
            oidc: None,
            tiles: None,
        }
    }
}

impl Serve {
    /// The settings these flags describe, the basemap checked: what the server runs with, and
    /// what the command line computes with (`server snapshot` renders what the server would).
    ///
    /// # Errors
    /// A basemap file that cannot be used, or single sign-on half configured.
    pub fn settings(&self, common: &Common) -> anyhow::Result<Settings> {
        Ok(Settings {
            time_zone: common.time_zone.clone(),
            map_cell: self.map_cell_metres,
            auth: self.auth_config(),
            basemap: match &self.basemap {
                Some(path) => Some(crate::basemap::Basemap::open(path, &self.basemap_attribution)?),
                None => None,
            },
            oidc: self.oidc_config()?,
            tiles: match &self.tile_url {
                Some(url) => Some(crate::basemap::tiles::TileService::parse(url, &self.tile_attribution)?),
                None => None,
            },
        })
    }
}
