//! `server` — run Beatbook, or work on its Data Bodega from the command line.
//!
//! Every failure ends with one line on stderr (`beatbook: …`) and a non-zero exit, never a panic
//! or a backtrace: a department's IT lead should see at once what to fix.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use bodega::{Bodega, IngestOptions};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use server::config::{Common, LogFormat, Serve};
use tracing_subscriber::EnvFilter;

/// Beatbook: harm-ranked micro hot spots, patrol missions and presence for data-driven policing.
///
/// With no subcommand, `serve` runs with its defaults: a SQLite Data Bodega under ./data/
/// (created and seeded with the demo city on first start) and the web app on 127.0.0.1:3000.
/// Every option can also be set through the environment variable named in its help.
#[derive(Debug, Parser)]
#[command(name = "server", version, propagate_version = true)]
struct Cli {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the web app, its API and the offline service worker (the default).
    Serve(Serve),
    /// Apply pending Data Bodega migrations and exit.
    Migrate,
    /// Load the demo city: real Vancouver Police Department 2020 open data (idempotent).
    SeedDemo,
    /// Load a file into the Data Bodega.
    #[command(subcommand)]
    Ingest(Ingest),
}

#[derive(Debug, Subcommand)]
enum Ingest {
    /// Incidents in Beatbook's canonical CSV: id,occurred_at,offense,category,lat,lon
    /// (occurred_at in the department's local time). Bad rows are kept with line and reason;
    /// loading the same file again changes nothing.
    Incidents {
        /// The CSV file.
        file: PathBuf,
        /// Label of the records system the file comes from; with `id` it identifies an incident.
        #[arg(long, default_value = "rms")]
        source: String,
        /// Check the whole file and report, without storing anything.
        #[arg(long)]
        dry_run: bool,
    },
}

fn init_tracing(common: &Common) -> anyhow::Result<()> {
    let filter = EnvFilter::try_new(&common.log)
        .with_context(|| format!("BEATBOOK_LOG '{}' is not a log filter", common.log))?;
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let result = match common.log_format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
    result.map_err(|e| anyhow::anyhow!("cannot start logging: {e}"))
}

async fn open_store(common: &Common) -> anyhow::Result<Bodega> {
    jiff::tz::TimeZone::get(&common.time_zone).map_err(|_| {
        anyhow::anyhow!("BEATBOOK_TIME_ZONE '{}' is not an IANA time zone such as America/Vancouver", common.time_zone)
    })?;
    Ok(Bodega::connect(&common.database_url, common.db_connections).await?)
}

async fn serve(common: Common, args: Serve) -> anyhow::Result<()> {
    if !(1..=10_000).contains(&args.map_cell_metres) {
        anyhow::bail!("BEATBOOK_MAP_CELL_METRES must be from 1 to 10000, got {}", args.map_cell_metres);
    }
    // Bind first: a port in use should be reported before any slow start-up work.
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("cannot listen on {} (set BEATBOOK_ADDR or --addr to another address)", args.addr))?;
    let bodega = open_store(&common).await?;
    if args.seed_demo && bodega.incident_count().await? == 0 {
        tracing::info!("empty Data Bodega: loading the demo city (Vancouver 2020 open data)");
        bodega::demo::seed_demo(&bodega).await?;
    }
    if !args.site_root.join("pkg").is_dir() {
        tracing::warn!(site_root = %args.site_root.display(), "no built site here: pages render but will not hydrate (run `make run`)");
    }
    let state =
        server::app_state(bodega.clone(), &args.site_root, args.addr, common.time_zone.clone(), args.map_cell_metres)
            .with_context(|| format!("cannot read the site at {}", args.site_root.display()))?;
    tracing::info!(version = %state.shell.version, "app shell ready");
    let limits = server::Limits {
        request_timeout: Duration::from_secs(args.request_timeout_secs.max(1)),
        max_body_bytes: args.max_body_bytes,
    };
    let app = server::router(state, limits);
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

async fn ingest_incidents(common: &Common, file: PathBuf, source: String, dry_run: bool) -> anyhow::Result<()> {
    let handle = std::fs::File::open(&file).with_context(|| format!("cannot open {}", file.display()))?;
    let size = handle.metadata().map(|m| m.len()).unwrap_or(0);
    let bodega = open_store(common).await?;
    let bar = ProgressBar::new(size);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {bytes}/{total_bytes} [{bar:30}] {bytes_per_sec} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let reader = bar.wrap_read(std::io::BufReader::with_capacity(1 << 20, handle));
    let opts = IngestOptions {
        source,
        file_name: file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        time_zone: common.time_zone.clone(),
        dry_run,
    };
    let summary = bodega::ingest::ingest_incidents_csv(&bodega, reader, &opts)
        .await
        .with_context(|| format!("{} was not loaded", file.display()))?;
    bar.finish_and_clear();
    println!(
        "{}{}: read {}, loaded {}, updated {}, unchanged {}, rejected {} (without location {}, DST-flagged {}); batch {}",
        if dry_run { "dry run, nothing stored — " } else { "" },
        file.display(),
        summary.read,
        summary.loaded,
        summary.updated,
        summary.unchanged,
        summary.rejected,
        summary.without_location,
        summary.time_flagged,
        summary.batch_id
    );
    if summary.rejected > 0 && !dry_run {
        for (line, field, reason) in bodega.rejected_rows(summary.batch_id).await?.iter().take(20) {
            println!("  line {line}: {field}: {reason}");
        }
    }
    bodega.close().await;
    Ok(())
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    init_tracing(&cli.common)?;
    let common = cli.common;
    match cli.command {
        None => serve(common, Serve::parse_defaults()?).await,
        Some(Command::Serve(args)) => serve(common, args).await,
        Some(Command::Migrate) => {
            let bodega = open_store(&common).await?;
            bodega.close().await;
            println!("the Data Bodega is up to date");
            Ok(())
        }
        Some(Command::SeedDemo) => {
            let bodega = open_store(&common).await?;
            let s = bodega::demo::seed_demo(&bodega).await?;
            bodega.close().await;
            println!(
                "demo city: read {}, loaded {}, updated {}, unchanged {}, rejected {}, without location {}",
                s.read, s.loaded, s.updated, s.unchanged, s.rejected, s.without_location
            );
            Ok(())
        }
        Some(Command::Ingest(Ingest::Incidents { file, source, dry_run })) => {
            ingest_incidents(&common, file, source, dry_run).await
        }
    }
}

/// `Serve`'s defaults (and environment) when no subcommand is given.
trait ParseDefaults: Sized {
    fn parse_defaults() -> anyhow::Result<Self>;
}

impl ParseDefaults for Serve {
    fn parse_defaults() -> anyhow::Result<Self> {
        #[derive(Parser)]
        struct Wrapper {
            #[command(flatten)]
            serve: Serve,
        }
        Ok(Wrapper::try_parse_from(["server"]).map_err(|e| anyhow::anyhow!("{}", e.to_string().trim()))?.serve)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("beatbook: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("beatbook: {}", format!("{e:#}").replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}
