//! What every request handler shares ([`AppState`]), the router's limits ([`Limits`]), and
//! building both from the settings (`config::Settings`; [`app_state`]). The same
//! [`server_context`] serves the web server and the command line, so both read one set of
//! settings.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use app::context::ServerContext;
use bodega::Bodega;
use leptos::config::LeptosOptions;
use leptos::prelude::*;

use crate::config::Settings;
use crate::pwa::ShellAssets;

/// Everything a request handler may need.
#[derive(Clone)]
pub struct AppState {
    /// Leptos' options (site root, bundle names).
    pub leptos: LeptosOptions,
    /// What server functions get through context.
    pub ctx: ServerContext,
    /// The generated service worker and offline shell.
    pub shell: Arc<ShellAssets>,
    /// Sign-in settings and recent failures.
    pub auth: crate::auth::config::AuthState,
    /// Sync requests per device in the current minute.
    pub sync_limiter: Arc<crate::limits::SyncLimiter>,
    /// The department's basemap file, if configured.
    pub basemap: Option<Arc<crate::basemap::Basemap>>,
    /// The online tile service's origin, the one other place pages may load images from.
    pub tile_origin: Option<String>,
    /// The Data Bodega's change marker, for live updates.
    pub live: tokio::sync::watch::Receiver<i64>,
    /// The identity provider, when sign-in with OpenID Connect is configured.
    pub oidc: Option<Arc<crate::oidc::provider::Oidc>>,
}

impl axum::extract::FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos.clone()
    }
}

/// Leptos options for a site at `site_root` served on `addr`. Bundle file names carry content
/// hashes when the build left a `hash.txt` beside this executable (cargo-leptos does).
pub fn leptos_options(site_root: &Path, addr: std::net::SocketAddr) -> LeptosOptions {
    let hash_files = bundle_hashes().is_some();
    LeptosOptions::builder()
        .output_name("beatbook")
        .site_root(site_root.to_string_lossy().into_owned())
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .hash_files(hash_files)
        .build()
}

/// The `hash.txt` cargo-leptos leaves beside the server executable, if this build has one.
fn bundle_hashes() -> Option<String> {
    let exe = std::env::current_exe().ok()?;
    std::fs::read_to_string(exe.parent()?.join("hash.txt")).ok()
}

/// Renders the offline shell page for these options; its inline scripts carry `nonce`.
pub fn render_offline_shell(options: &LeptosOptions, nonce: &str) -> String {
    let options = options.clone();
    let owner = Owner::new();
    owner.with(|| {
        provide_context(leptos::nonce::Nonce::from_value(nonce.to_string()));
        app::offline_shell(options).to_html()
    })
}

/// Limits the router applies to every request.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Per-request time limit.
    pub request_timeout: Duration,
    /// Largest body, bytes.
    pub max_body_bytes: usize,
}

/// What server functions get through context, from the settings (the server and the command
/// line alike).
pub fn server_context(bodega: Bodega, settings: &Settings) -> ServerContext {
    ServerContext {
        bodega,
        time_zone: settings.time_zone.clone(),
        map_cell: settings.map_cell,
        idle_lock_seconds: settings.auth.idle_lock.as_secs() as i64,
        device_keep_seconds: settings.auth.device_keep.as_secs() as i64,
        basemap: settings.basemap.as_ref().map(|b| b.info.clone()),
        tiles: settings.tiles.as_ref().map(|t| t.info.clone()),
        sign_in_with: settings.oidc.as_ref().map(|o| o.label.clone()),
        temporary_password: Some(crate::auth::password::temporary_password),
    }
}

/// Builds the state for a site root and a store.
///
/// # Errors
/// An I/O error reading the site root.
pub fn app_state(
    bodega: Bodega,
    site_root: &Path,
    addr: std::net::SocketAddr,
    settings: Settings,
) -> std::io::Result<AppState> {
    let leptos = leptos_options(site_root, addr);
    let bundle = crate::pwa::current_bundle(&leptos.output_name, bundle_hashes().as_deref());
    let shell_nonce = crate::pwa::shell_nonce(&bundle);
    let shell_html = render_offline_shell(&leptos, &shell_nonce);
    let mut shell = crate::pwa::build_shell_assets(site_root, &bundle, shell_html)?;
    shell.csp = crate::auth::csp::page_csp(&shell_nonce, settings.tiles.as_ref().map(|t| t.origin.as_str()));
    let ctx = server_context(bodega, &settings);
    let oidc = match settings.oidc {
        Some(config) => Some(Arc::new(crate::oidc::provider::Oidc::new(config).map_err(std::io::Error::other)?)),
        None => None,
    };
    Ok(AppState {
        leptos,
        shell: Arc::new(shell),
        auth: crate::auth::config::AuthState::new(settings.auth),
        sync_limiter: Arc::new(crate::limits::SyncLimiter::default()),
        tile_origin: settings.tiles.as_ref().map(|t| t.origin.clone()),
        basemap: settings.basemap.map(Arc::new),
        live: crate::live::feed::start(ctx.bodega.clone()),
        oidc,
        ctx,
    })
}
