//! `server serve` (the default), `server migrate`, `server seed-demo`.

use std::time::Duration;

use anyhow::Context;

use super::open_store;
use crate::config::{Common, Serve};

/// `server serve` (and no subcommand): the web app, its API and the offline service worker.
///
/// # Errors
/// One clear line: the port in use, the database, the site, a setting.
pub async fn serve(common: Common, args: Serve) -> anyhow::Result<()> {
    // Bind first: a port in use should be reported before any slow start-up work.
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("cannot listen on {} (set BEATBOOK_ADDR or --addr to another address)", args.addr))?;
    let bodega = open_store(&common).await?;
    let demo_city_now = args.seed_demo && bodega.incident_count().await? == 0;
    if demo_city_now {
        tracing::info!("empty Data Bodega: loading the demo city (Vancouver 2020 open data)");
        bodega::demo::seed_demo(&bodega).await?;
        bodega::demo::seed_demo_activity(&bodega).await?;
    }
    // Incidents a previous version loaded unclassified, or loaded before their district.
    let classified = bodega.classify_incidents().await?;
    if classified.classified + classified.districted > 0 {
        tracing::info!(classified = classified.classified, districted = classified.districted, "incidents classified");
    }
    let unmapped = bodega.unclassified_offenses().await?;
    if !unmapped.is_empty() {
        let list: Vec<String> = unmapped.iter().take(10).map(|(o, n)| format!("{o} ({n})")).collect();
        tracing::warn!(offenses = %list.join(", "), "offence texts with no class: add them to the offence map");
    }
    let added = bodega.ensure_default_menu().await?;
    if added > 0 {
        tracing::info!(templates = added, "empty Mission Menu: the default menu was added");
    }
    // The demo accounts (one shared password, an administrator among them) come only with the
    // demo city itself: a Data Bodega holding a department's own data never gets them.
    if demo_city_now {
        announce_demo_password(crate::accounts::ensure_demo_accounts(&bodega).await?);
        let missions = bodega::demo_missions::seed_demo_missions(&bodega).await?;
        tracing::info!(missions, "demo missions seeded (synthetic): nine weeks of each district's squad");
    }
    if !args.site_root.join("pkg").is_dir() {
        tracing::warn!(site_root = %args.site_root.display(), "no built site here: pages render but will not hydrate (run `make run`)");
    }
    let settings = args.settings(&common)?;
    if let (Some(path), Some(map)) = (&args.basemap, &settings.basemap) {
        tracing::info!(file = %path.display(), url = %map.info.url, bytes = map.info.bytes, "basemap ready");
    }
    if let Some(o) = &settings.oidc {
        tracing::info!(issuer = %o.issuer, redirect_uri = %o.redirect_url(), "sign-in with OpenID Connect is on");
    }
    let state = crate::state::app_state(bodega.clone(), &args.site_root, args.addr, settings)
        .with_context(|| format!("cannot read the site at {}", args.site_root.display()))?;
    tracing::info!(version = %state.shell.version, "app shell ready");
    // The demo city ranks as a department would after loading its records: by the method its
    // own shift backtest supports (a few seconds; the self-exciting model is left to
    // `server choose-ranking --with-model`).
    if demo_city_now {
        match super::setup::put_ranking_choice(&state.ctx, false, "beatbook").await {
            Ok(c) => {
                tracing::info!(choice = %app::shift::choice::ssr::summary(&c), "demo ranking chosen by its backtest")
            }
            // The demo still serves, ranked by harm over 28 days, and the plan says so.
            Err(e) => tracing::warn!(error = %e, "the demo's ranking backtest failed"),
        }
    }
    let limits = crate::state::Limits {
        request_timeout: Duration::from_secs(args.request_timeout_secs.max(1)),
        max_body_bytes: args.max_body_bytes,
    };
    let app = crate::router::router(state, limits);
    tracing::info!(addr = %args.addr, engine = ?bodega.engine(), "Beatbook is serving on http://{}", args.addr);
    axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("the server stopped with an error")?;
    bodega.close().await;
    tracing::info!("stopped cleanly");
    Ok(())
}

/// Resolves on SIGTERM (service managers) or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

/// `server migrate`: apply pending Data Bodega migrations and exit.
///
/// # Errors
/// The database.
pub async fn migrate(common: &Common) -> anyhow::Result<()> {
    let bodega = open_store(common).await?;
    bodega.close().await;
    println!("the Data Bodega is up to date");
    Ok(())
}

/// `server seed-demo`: the demo city, its synthetic activity and accounts (idempotent).
///
/// # Errors
/// The database.
pub async fn seed_demo(common: &Common) -> anyhow::Result<()> {
    let bodega = open_store(common).await?;
    let s = bodega::demo::seed_demo(&bodega).await?;
    let a = bodega::demo::seed_demo_activity(&bodega).await?;
    announce_demo_password(crate::accounts::ensure_demo_accounts(&bodega).await?);
    bodega.ensure_default_menu().await?;
    let missions = bodega::demo_missions::seed_demo_missions(&bodega).await?;
    // As `serve` does when it loads the demo: the ranking its own shift backtest supports.
    let settings = crate::config::Settings { time_zone: common.time_zone.clone(), ..Default::default() };
    let ctx = crate::state::server_context(bodega.clone(), &settings);
    let choice = super::setup::put_ranking_choice(&ctx, false, "beatbook").await;
    bodega.close().await;
    println!(
        "demo city: read {}, loaded {}, updated {}, unchanged {}, rejected {}, without location {}, location flagged {}",
        s.read, s.loaded, s.updated, s.unchanged, s.rejected, s.without_location, s.geo_flagged
    );
    println!(
        "synthetic calls for service: loaded {}, unchanged {}; synthetic patrol GPS fixes: loaded {}, already there {}",
        a.calls.loaded, a.calls.unchanged, a.gps.loaded, a.gps.unchanged
    );
    println!("synthetic demo missions: created {missions} (none when they exist already)");
    match choice {
        Ok(c) => println!("ranking chosen by the demo's shift backtest: {}", app::shift::choice::ssr::summary(&c)),
        Err(e) => eprintln!("the demo's ranking backtest failed ({e}): places rank by harm over 28 days"),
    }
    Ok(())
}

/// Shows a freshly drawn demo password once, on the console (never in the log file).
fn announce_demo_password(password: Option<String>) {
    if let Some(p) = password {
        eprintln!(
            "Demo accounts created (synthetic): d1.officer1 … d4.officer7, d1.sergeant … d4.sergeant, commander, \
             analyst, admin.\nTheir password is: {p}\n(Set {} to choose it.)",
            crate::accounts::DEMO_PASSWORD_ENV
        );
    }
}
