//! `server` — run Beatbook, or work on its Data Bodega from the command line.
//!
//! Every failure ends with one line on stderr (`beatbook: …`) and a non-zero exit, never a panic
//! or a backtrace: a department's IT lead should see at once what to fix.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use std::io::Write;

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
    /// Manage sign-in accounts (the first administrator is created here).
    #[command(subcommand)]
    User(UserCmd),
    /// List and revoke registered devices.
    #[command(subcommand)]
    Device(DeviceCmd),
    /// Write the Chief's Daily Snapshot for a date as HTML, PDF or CSV (by the file's extension).
    Snapshot {
        /// The date, YYYY-MM-DD (default: the newest day with data).
        #[arg(long, default_value = "")]
        date: String,
        /// Output file: .html, .pdf or .csv.
        #[arg(long)]
        out: PathBuf,
    },
    /// Check a basemap file, or write a schematic one (a plain grid, no map data).
    #[command(subcommand)]
    Basemap(BasemapCmd),
    /// Harm weight tables: load the department's own, list them, choose the one in force.
    #[command(subcommand)]
    Weights(WeightsCmd),
    /// Score every micro place of a canonical incident file: one row per cell of the grid with
    /// count, harm, Gi* z-score and kernel density (no database needed).
    Hotspots(HotspotsArgs),
    /// Rank places on a training window and measure how well the ranking predicted a later test
    /// window: hit rate, PAI, PEI and RRI beside the naive trailing-count baseline.
    Evaluate(EvaluateArgs),
}

#[derive(Debug, Subcommand)]
enum WeightsCmd {
    /// Load a weight table: CSV with columns offense,weight and optionally note (where the weight
    /// comes from). A version never changes meaning: other weights need a new version.
    Load {
        /// The CSV file.
        file: PathBuf,
        /// The table's name, e.g. the department's short name.
        #[arg(long)]
        name: String,
        /// The table's version, e.g. 2026-11.
        #[arg(long = "table-version", value_name = "VERSION")]
        table_version: String,
        /// Put it in force at once.
        #[arg(long)]
        activate: bool,
    },
    /// The loaded tables, the one in force marked.
    List,
    /// Put a loaded table in force (NAME `count` goes back to the plain count).
    Use {
        /// The table's name.
        name: String,
        /// Its version (ignored for `count`).
        #[arg(default_value = "1", value_name = "VERSION")]
        table_version: String,
    },
}

#[derive(Debug, Subcommand)]
enum UserCmd {
    /// Create a local account. The password is read from BEATBOOK_NEW_PASSWORD or standard input.
    Add {
        /// Sign-in name.
        username: String,
        /// Name shown in the app.
        #[arg(long = "name")]
        display_name: String,
        /// Role (repeatable): officer, sergeant, command, analyst, admin.
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// District code the user belongs to (repeatable).
        #[arg(long = "district")]
        districts: Vec<String>,
    },
    /// Set a new password (BEATBOOK_NEW_PASSWORD or standard input) and clear the lockout.
    Passwd {
        /// Sign-in name.
        username: String,
    },
    /// Clear a lockout after repeated failed sign-ins.
    Unlock {
        /// Sign-in name.
        username: String,
    },
    /// Deactivate an account (its sessions end).
    Deactivate {
        /// Sign-in name.
        username: String,
    },
    /// Reactivate an account.
    Activate {
        /// Sign-in name.
        username: String,
    },
    /// Enrol a TOTP second factor; prints the otpauth:// URL to add to an authenticator app.
    Totp {
        /// Sign-in name.
        username: String,
    },
    /// List accounts: username, name, roles, districts, state.
    List,
}

#[derive(Debug, Subcommand)]
enum DeviceCmd {
    /// List registered devices.
    List,
    /// Revoke a device: its sessions end and its next sync is refused.
    Revoke {
        /// Device id.
        id: String,
        /// Why (kept in the audit log).
        #[arg(long, default_value = "revoked by an administrator")]
        reason: String,
    },
}

#[derive(Debug, Subcommand)]
enum BasemapCmd {
    /// Check a PMTiles file the way `serve` will, and print what it holds.
    Check {
        /// The .pmtiles file.
        file: PathBuf,
    },
    /// Write a schematic raster basemap over a box: a light grid to try the offline map with
    /// before the department has a real basemap (and the test suite's basemap).
    Schematic {
        /// Output .pmtiles file.
        #[arg(long)]
        out: PathBuf,
        /// `west,south,east,north` in degrees.
        #[arg(long, value_delimiter = ',', allow_negative_numbers = true, required = true)]
        bbox: Vec<f64>,
        /// Lowest zoom level.
        #[arg(long, default_value_t = 10)]
        min_zoom: u8,
        /// Highest zoom level.
        #[arg(long, default_value_t = 15)]
        max_zoom: u8,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum KernelArg {
    Gaussian,
    Quartic,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum MeasureArg {
    Count,
    Harm,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum RankArg {
    Count,
    Harm,
    Kde,
    Gi,
    Decayed,
}

/// What both analyses read and how they weigh it.
#[derive(Debug, clap::Args)]
struct AnalysisInput {
    /// Canonical incident CSV: id,occurred_at,offense,category,lat,lon (occurred_at local time).
    #[arg(long)]
    incidents: PathBuf,
    /// Cell size, metres.
    #[arg(long, default_value_t = 150.0)]
    cell_size: f64,
    /// UTM zone as an EPSG code (326zz north, 327zz south); default: the zone of the incidents' centroid.
    #[arg(long)]
    epsg: Option<u32>,
    /// Harm weights: `count` (every offence weighs 1) or a CSV file with columns offense,weight
    /// (`chi` is refused with the reason: no Cambridge table is shipped).
    #[arg(long, default_value = "count")]
    weights: String,
    /// Fail when an offence has no weight in the table (otherwise it weighs 0 in harm and is listed).
    #[arg(long)]
    strict: bool,
    /// Kernel of the density.
    #[arg(long, value_enum, default_value_t = KernelArg::Gaussian)]
    kernel: KernelArg,
    /// Kernel bandwidth, metres.
    #[arg(long, default_value_t = 200.0)]
    bandwidth: f64,
    /// Half-life of the time-decayed harm, days.
    #[arg(long, default_value_t = 28.0)]
    half_life: f64,
    /// What the density and Gi* measure.
    #[arg(long, value_enum, default_value_t = MeasureArg::Count)]
    measure: MeasureArg,
}

#[derive(Debug, clap::Args)]
struct HotspotsArgs {
    #[command(flatten)]
    input: AnalysisInput,
    /// Start of the window (inclusive), local date or date-time.
    #[arg(long)]
    from: Option<String>,
    /// End of the window (exclusive).
    #[arg(long)]
    to: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = server::analysis::Format::Csv)]
    format: server::analysis::Format,
    /// Write here instead of standard output.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Score street segments instead of cells: a GeoJSON FeatureCollection of LineStrings
    /// (WGS84; `id` and `name` properties). One row per segment.
    #[arg(long, value_name = "FILE.geojson")]
    segments: Option<PathBuf>,
    /// With --segments: incidents farther than this from every segment (metres) are reported,
    /// not scored.
    #[arg(long, default_value_t = 30.0)]
    snap_m: f64,
}

#[derive(Debug, clap::Args)]
struct EvaluateArgs {
    #[command(flatten)]
    input: AnalysisInput,
    /// Training window: FROM TO (half-open, local dates or date-times).
    #[arg(long, num_args = 2, value_names = ["FROM", "TO"], required = true)]
    train: Vec<String>,
    /// Test window: FROM TO.
    #[arg(long, num_args = 2, value_names = ["FROM", "TO"], required = true)]
    test: Vec<String>,
    /// How the method ranks places on the training window.
    #[arg(long, value_enum, default_value_t = RankArg::Harm)]
    rank_by: RankArg,
    /// Study area: every cell of the grid, or only cells with any incident in the file.
    #[arg(long, value_enum, default_value_t = server::analysis::Area::Bbox)]
    area: server::analysis::Area,
    /// Shares of the study area to flag, percent.
    #[arg(long, value_delimiter = ',', default_value = "1,2,5,10")]
    top: Vec<f64>,
    /// Output format (JSON).
    #[arg(long, value_parser = ["json"], default_value = "json")]
    format: String,
    /// Write here instead of standard output.
    #[arg(long)]
    out: Option<PathBuf>,
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
        /// Read an export in a known shape: vancouver, chicago, chicago-portal, los-angeles,
        /// san-francisco, new-york (default: Beatbook's canonical file).
        #[arg(long, conflicts_with = "mapping")]
        preset: Option<String>,
        /// Read an export through the department's own column mapping (TOML; see README).
        #[arg(long)]
        mapping: Option<PathBuf>,
    },
    /// Calls for service from CAD: call_id,call_type,received_at[,priority,dispatched_at,arrived_at,
    /// cleared_at,disposition,lat,lon,address,district]; times in RFC 3339 or department-local time.
    /// Calls are upserted by id, so re-loading exports as calls close updates them.
    Calls {
        /// The CSV file.
        file: PathBuf,
        /// Label of the dispatch system the file comes from.
        #[arg(long, default_value = "cad")]
        source: String,
        /// Check the whole file and report, without storing anything.
        #[arg(long)]
        dry_run: bool,
    },
    /// GPS fixes from devices or vehicle location (AVL): device,fix_at,lat,lon[,unit,accuracy_m,speed_mps]
    /// with fix_at in RFC 3339 or department-local time. Append-only: fixes already stored are skipped.
    Gps {
        /// The CSV file.
        file: PathBuf,
        /// Label of the system the file comes from.
        #[arg(long, default_value = "avl")]
        source: String,
        /// Check the whole file and report, without storing anything.
        #[arg(long)]
        dry_run: bool,
    },
    /// Watch a folder and load the export files the records or dispatch system drops into it,
    /// as they arrive (each once it has stopped growing, and again when it changes); the same
    /// idempotent ingest as a one-off load. A bad file is reported and the watch goes on.
    Watch {
        /// The folder.
        dir: PathBuf,
        /// What the files hold.
        #[arg(long, value_parser = ["incidents", "calls", "gps"], default_value = "incidents")]
        kind: String,
        /// Label of the system the files come from (default: rms, cad or avl by kind).
        #[arg(long)]
        source: Option<String>,
        /// Incident exports in a known shape (see `ingest incidents --preset`).
        #[arg(long, conflicts_with = "mapping")]
        preset: Option<String>,
        /// Incident exports through the department's column mapping (TOML).
        #[arg(long)]
        mapping: Option<PathBuf>,
        /// Seconds between scans of the folder.
        #[arg(long, default_value_t = 30)]
        interval_secs: u64,
        /// Load what is there now and exit (for a scheduler that runs Beatbook itself).
        #[arg(long)]
        once: bool,
    },
    /// Districts, zones or the department boundary: a GeoJSON FeatureCollection of Polygons or
    /// MultiPolygons (WGS84), each with a code property. All or nothing; re-loading replaces
    /// shapes by code. The boundary turns on the outside-boundary geocoding rule.
    Districts {
        /// The GeoJSON file.
        file: PathBuf,
        /// What the polygons are.
        #[arg(long, value_parser = ["district", "zone", "boundary"], default_value = "district")]
        kind: String,
        /// The feature property holding the code.
        #[arg(long, default_value = "code")]
        code_property: String,
        /// The feature property holding the display name (default: the code).
        #[arg(long, default_value = "name")]
        name_property: String,
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
        announce_demo_password(server::accounts::ensure_demo_accounts(&bodega).await?);
    }
    if !args.site_root.join("pkg").is_dir() {
        tracing::warn!(site_root = %args.site_root.display(), "no built site here: pages render but will not hydrate (run `make run`)");
    }
    let settings = server::Settings {
        time_zone: common.time_zone.clone(),
        map_cell_size_m: args.map_cell_metres,
        auth: args.auth_config(),
        basemap: match &args.basemap {
            Some(path) => {
                let map = server::basemap::Basemap::open(path, &args.basemap_attribution)?;
                tracing::info!(file = %path.display(), url = %map.info.url, bytes = map.info.bytes, "basemap ready");
                Some(map)
            }
            None => None,
        },
        oidc: args.oidc_config()?,
    };
    if let Some(o) = &settings.oidc {
        tracing::info!(issuer = %o.issuer, redirect_uri = %o.redirect_url(), "sign-in with OpenID Connect is on");
    }
    let state = server::app_state(bodega.clone(), &args.site_root, args.addr, settings)
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

async fn ingest_incidents(
    common: &Common,
    file: PathBuf,
    source: String,
    dry_run: bool,
    mapping: Option<bodega::mapping::Mapping>,
) -> anyhow::Result<()> {
    let (reader, bodega, opts) = prepare_ingest(common, &file, source, dry_run, mapping).await?;
    let size = reader.get_ref().metadata().map(|m| m.len()).unwrap_or(0);
    let bar = ProgressBar::new(size);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {bytes}/{total_bytes} [{bar:30}] {bytes_per_sec} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let reader = bar.wrap_read(reader);
    let summary = bodega::ingest::ingest_incidents_csv(&bodega, reader, &opts)
        .await
        .with_context(|| format!("{} was not loaded", file.display()))?;
    bar.finish_and_clear();
    println!(
        "{}{}: read {}, loaded {}, updated {}, unchanged {}, rejected {} (without location {}, location flagged {}, DST-flagged {}); batch {}",
        dry_run_prefix(dry_run),
        file.display(),
        summary.read,
        summary.loaded,
        summary.updated,
        summary.unchanged,
        summary.rejected,
        summary.without_location,
        summary.geo_flagged,
        summary.time_flagged,
        summary.batch_id
    );
    finish_ingest(&bodega, summary.batch_id, dry_run).await
}

/// The column mapping a preset name or a mapping file gives (none: the canonical file).
fn incident_mapping(
    preset: Option<String>,
    mapping: Option<PathBuf>,
) -> anyhow::Result<Option<bodega::mapping::Mapping>> {
    Ok(match (preset, mapping) {
        (Some(name), _) => Some(bodega::mapping::Mapping::preset(&name).ok_or_else(|| {
            anyhow::anyhow!("no preset '{name}'; the presets are {}", bodega::mapping::Mapping::PRESETS.join(", "))
        })?),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read the mapping {}", path.display()))?;
            Some(bodega::mapping::Mapping::from_toml(&text)?)
        }
        (None, None) => None,
    })
}

/// Loads one dropped file; the line it prints says what happened (or why not).
async fn land_file(
    bodega: &Bodega,
    kind: &str,
    path: &std::path::Path,
    opts: &IngestOptions,
) -> anyhow::Result<String> {
    let file = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let reader = std::io::BufReader::with_capacity(1 << 20, file);
    let name = path.display();
    Ok(match kind {
        "calls" => {
            let s = bodega::calls::ingest_calls_csv(bodega, reader, opts).await?;
            format!(
                "{name}: calls read {}, loaded {}, updated {}, unchanged {}, rejected {}",
                s.read, s.loaded, s.updated, s.unchanged, s.rejected
            )
        }
        "gps" => {
            let s = bodega::gps::ingest_gps_csv(bodega, reader, opts).await?;
            format!(
                "{name}: fixes read {}, loaded {}, already stored {}, rejected {}",
                s.read, s.loaded, s.duplicates, s.rejected
            )
        }
        _ => {
            let s = bodega::ingest::ingest_incidents_csv(bodega, reader, opts).await?;
            format!(
                "{name}: incidents read {}, loaded {}, updated {}, unchanged {}, rejected {}",
                s.read, s.loaded, s.updated, s.unchanged, s.rejected
            )
        }
    })
}

/// `ingest watch`: scan, load what settled, sleep; until stopped (or once).
async fn watch_folder(
    common: &Common,
    dir: &std::path::Path,
    kind: &str,
    source: Option<String>,
    mapping: Option<bodega::mapping::Mapping>,
    interval_secs: u64,
    once: bool,
) -> anyhow::Result<()> {
    if !dir.is_dir() {
        anyhow::bail!("{} is not a folder", dir.display());
    }
    let bodega = open_store(common).await?;
    let source = source.unwrap_or_else(|| match kind {
        "calls" => "cad".into(),
        "gps" => "avl".into(),
        _ => "rms".into(),
    });
    let mut scanner = server::watch::Scanner::default();
    let interval = Duration::from_secs(interval_secs.max(1));
    if !once {
        println!("watching {} for {kind} exports every {} s (Ctrl-C stops)", dir.display(), interval.as_secs());
    }
    loop {
        let ready = scanner.ready(dir, "csv", once).with_context(|| format!("cannot read {}", dir.display()))?;
        for path in ready {
            let opts = IngestOptions {
                source: source.clone(),
                file_name: path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
                time_zone: common.time_zone.clone(),
                dry_run: false,
                mapping: mapping.clone(),
            };
            match land_file(&bodega, kind, &path, &opts).await {
                Ok(line) => {
                    println!("{line}");
                    scanner.mark_loaded(&path);
                }
                // A file that cannot be loaded is reported and tried again when it changes.
                Err(e) => {
                    eprintln!("{}: not loaded: {e:#}", path.display());
                    scanner.mark_loaded(&path);
                }
            }
        }
        if once {
            break;
        }
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    bodega.close().await;
    Ok(())
}

/// What every ingest needs: the file (buffered), the store, and the options.
async fn prepare_ingest(
    common: &Common,
    file: &std::path::Path,
    source: String,
    dry_run: bool,
    mapping: Option<bodega::mapping::Mapping>,
) -> anyhow::Result<(std::io::BufReader<std::fs::File>, Bodega, IngestOptions)> {
    let handle = std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let bodega = open_store(common).await?;
    let opts = IngestOptions {
        source,
        file_name: file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        time_zone: common.time_zone.clone(),
        dry_run,
        mapping,
    };
    Ok((std::io::BufReader::with_capacity(1 << 20, handle), bodega, opts))
}

/// Lists the first 20 rows a committed batch rejected, then closes the store.
async fn finish_ingest(bodega: &Bodega, batch_id: i64, dry_run: bool) -> anyhow::Result<()> {
    if !dry_run {
        for (line, field, reason) in bodega.rejected_rows(batch_id).await?.iter().take(20) {
            println!("  line {line}: {field}: {reason}");
        }
    }
    bodega.close().await;
    Ok(())
}

fn dry_run_prefix(dry_run: bool) -> &'static str {
    if dry_run {
        "dry run, nothing stored — "
    } else {
        ""
    }
}

/// Reads and weighs the incident file, reporting what it could not use on stderr.
fn load_analysis_input(
    input: &AnalysisInput,
) -> anyhow::Result<(server::analysis::Incidents, hotspot::Grid, hotspot::ScoreParams)> {
    use server::analysis::{analysis_grid, read_incidents, read_weight_table, score_params};
    let table = match input.weights.as_str() {
        "count" => hotspot::HarmTable::count(),
        // The Cambridge index's custody-days table is not shipped (docs/ARCHITECTURE.md, "Harm
        // weights"): say so rather than report a missing file called `chi`.
        chi if chi.eq_ignore_ascii_case("chi") && !std::path::Path::new(chi).exists() => anyhow::bail!(
            "--weights chi: Beatbook ships no Cambridge Crime Harm Index table (its custody-days \
             weights are the Cambridge Institute of Criminology's spreadsheet, not included); load \
             those weights as a CSV file with columns offense,weight and pass its path, or use \
             --weights count"
        ),
        path => {
            let bytes = std::fs::read(path).with_context(|| format!("cannot read the weight table {path}"))?;
            let name = PathBuf::from(path).file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            read_weight_table(&name, &bytes)?
        }
    };
    let params = score_params(
        match input.kernel {
            KernelArg::Gaussian => hotspot::Kernel::Gaussian,
            KernelArg::Quartic => hotspot::Kernel::Quartic,
        },
        input.bandwidth,
        input.half_life,
        match input.measure {
            MeasureArg::Count => hotspot::Measure::Count,
            MeasureArg::Harm => hotspot::Measure::Harm,
        },
    )?;
    let file =
        std::fs::File::open(&input.incidents).with_context(|| format!("cannot open {}", input.incidents.display()))?;
    let incidents = read_incidents(std::io::BufReader::new(file), &table, input.epsg, input.strict)
        .with_context(|| format!("{} cannot be analysed", input.incidents.display()))?;
    let grid = analysis_grid(&incidents, input.cell_size)?;
    eprintln!(
        "{}: {} rows, {} located, {} without coordinates (counted, not mapped), {} rejected; {}, {} × {} cells of {} m; weights {}",
        input.incidents.display(),
        incidents.rows,
        incidents.events.len(),
        incidents.unlocated,
        incidents.rejected.len(),
        incidents.epsg,
        grid.ncols,
        grid.nrows,
        grid.size,
        incidents.weights_version
    );
    for r in incidents.rejected.iter().take(20) {
        eprintln!("  skipped line {}: {}: {}", r.line, r.field, r.reason);
    }
    if incidents.rejected.len() > 20 {
        eprintln!("  … and {} more skipped rows", incidents.rejected.len() - 20);
    }
    for (offense, n) in &incidents.unmapped {
        eprintln!("  no weight for '{offense}' ({n} rows): 0 in harm, still counted");
    }
    Ok((incidents, grid, params))
}

fn output(path: Option<&PathBuf>) -> anyhow::Result<Box<dyn std::io::Write>> {
    Ok(match path {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    })
}

fn hotspots(args: HotspotsArgs) -> anyhow::Result<()> {
    let window = server::analysis::parse_window(args.from.as_deref(), args.to.as_deref())?;
    if args.segments.is_some() && !(args.snap_m.is_finite() && args.snap_m > 0.0) {
        anyhow::bail!("{}", hotspot::SegmentError::BadTolerance(args.snap_m));
    }
    let streets = match &args.segments {
        Some(path) => {
            let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            Some((path, server::analysis::read_network(&bytes)?))
        }
        None => None,
    };
    let (incidents, grid, params) = load_analysis_input(&args.input)?;
    if let Some((path, segments)) = streets {
        let network = server::analysis::project_network(segments, incidents.epsg)?;
        let scores = hotspot::score_segments(&network, &incidents.events, window, args.snap_m, params.measure)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        eprintln!(
            "{}: {} street segments; {} incidents in the window snapped, {} farther than {} m from every segment (not scored)",
            path.display(),
            network.len(),
            scores.snapped,
            scores.unsnapped,
            args.snap_m
        );
        let mut out = output(args.out.as_ref())?;
        server::analysis::write_segments(&mut out, args.format, &network, &scores, &incidents, args.snap_m)?;
        out.flush()?;
        return Ok(());
    }
    let scores = hotspot::score(&grid, &incidents.events, window, &params).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut out = output(args.out.as_ref())?;
    server::analysis::write_hotspots(&mut out, args.format, &grid, &scores, &incidents, &params)?;
    out.flush()?;
    Ok(())
}

fn evaluate(args: EvaluateArgs) -> anyhow::Result<()> {
    let train = server::analysis::parse_window(Some(&args.train[0]), Some(&args.train[1]))?;
    let test = server::analysis::parse_window(Some(&args.test[0]), Some(&args.test[1]))?;
    if let Some(p) = args.top.iter().find(|p| !(p.is_finite() && **p > 0.0 && **p <= 100.0)) {
        anyhow::bail!("--top takes percentages above 0 and at most 100, got {p}");
    }
    let (incidents, grid, params) = load_analysis_input(&args.input)?;
    let rank_by = match args.rank_by {
        RankArg::Count => hotspot::RankBy::Count,
        RankArg::Harm => hotspot::RankBy::Harm,
        RankArg::Kde => hotspot::RankBy::Kde,
        RankArg::Gi => hotspot::RankBy::Gi,
        RankArg::Decayed => hotspot::RankBy::Decayed,
    };
    let plan = server::analysis::EvaluationPlan { train, test, rank_by, area: args.area, percents: args.top };
    let report = server::analysis::run_evaluation(&grid, &incidents, &plan, &params)?;
    let mut out = output(args.out.as_ref())?;
    serde_json::to_writer_pretty(&mut out, &report)?;
    writeln!(out)?;
    out.flush()?;
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
            let a = bodega::demo::seed_demo_activity(&bodega).await?;
            announce_demo_password(server::accounts::ensure_demo_accounts(&bodega).await?);
            bodega.close().await;
            println!(
                "demo city: read {}, loaded {}, updated {}, unchanged {}, rejected {}, without location {}, location flagged {}",
                s.read, s.loaded, s.updated, s.unchanged, s.rejected, s.without_location, s.geo_flagged
            );
            println!(
                "synthetic calls for service: loaded {}, unchanged {}; synthetic patrol GPS fixes: loaded {}, already there {}",
                a.calls.loaded, a.calls.unchanged, a.gps.loaded, a.gps.duplicates
            );
            Ok(())
        }
        Some(Command::Ingest(Ingest::Incidents { file, source, dry_run, preset, mapping })) => {
            let mapping = incident_mapping(preset, mapping)?;
            ingest_incidents(&common, file, source, dry_run, mapping).await
        }
        Some(Command::Ingest(Ingest::Districts { file, kind, code_property, name_property })) => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let bodega = open_store(&common).await?;
            let summary = bodega::districts::load_districts(&bodega, &text, &kind, &code_property, &name_property)
                .await
                .with_context(|| format!("{} was not loaded", file.display()))?;
            bodega.close().await;
            println!("{}: loaded {} {kind} polygon(s)", file.display(), summary.loaded);
            Ok(())
        }
        Some(Command::Ingest(Ingest::Watch { dir, kind, source, preset, mapping, interval_secs, once })) => {
            let mapping = incident_mapping(preset, mapping)?;
            watch_folder(&common, &dir, &kind, source, mapping, interval_secs, once).await
        }
        Some(Command::Ingest(Ingest::Calls { file, source, dry_run })) => {
            let (reader, bodega, opts) = prepare_ingest(&common, &file, source, dry_run, None).await?;
            let s = bodega::calls::ingest_calls_csv(&bodega, reader, &opts)
                .await
                .with_context(|| format!("{} was not loaded", file.display()))?;
            println!(
                "{}{}: read {}, loaded {}, updated {}, unchanged {}, rejected {}; batch {}",
                dry_run_prefix(dry_run),
                file.display(),
                s.read,
                s.loaded,
                s.updated,
                s.unchanged,
                s.rejected,
                s.batch_id
            );
            finish_ingest(&bodega, s.batch_id, dry_run).await
        }
        Some(Command::Ingest(Ingest::Gps { file, source, dry_run })) => {
            let (reader, bodega, opts) = prepare_ingest(&common, &file, source, dry_run, None).await?;
            let s = bodega::gps::ingest_gps_csv(&bodega, reader, &opts)
                .await
                .with_context(|| format!("{} was not loaded", file.display()))?;
            println!(
                "{}{}: read {}, loaded {}, already stored {}, rejected {}; batch {}",
                dry_run_prefix(dry_run),
                file.display(),
                s.read,
                s.loaded,
                s.duplicates,
                s.rejected,
                s.batch_id
            );
            finish_ingest(&bodega, s.batch_id, dry_run).await
        }
        Some(Command::User(cmd)) => {
            let bodega = open_store(&common).await?;
            let result = user_command(&bodega, cmd).await;
            bodega.close().await;
            result
        }
        Some(Command::Device(cmd)) => {
            let bodega = open_store(&common).await?;
            let result = match cmd {
                DeviceCmd::List => {
                    for d in bodega.list_devices(None).await? {
                        let state = d.revoked_at.map_or("active".to_string(), |_| {
                            format!("revoked ({})", d.revoke_reason.clone().unwrap_or_default())
                        });
                        println!("{}\tuser {}\t{}\tlast seq {}\t{state}", d.id, d.user_id, d.label, d.last_seq);
                    }
                    Ok(())
                }
                DeviceCmd::Revoke { id, reason } => server::accounts::revoke_device(&bodega, &id, &reason)
                    .await
                    .map(|()| println!("device {id} revoked")),
            };
            bodega.close().await;
            result
        }
        Some(Command::Snapshot { date, out }) => {
            let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let Some((_, format)) = server::snapshot::Format::from_name(&name) else {
                anyhow::bail!("{}: the output must end in .html, .pdf or .csv", out.display());
            };
            let bodega = open_store(&common).await?;
            let ctx = app::api::ServerContext {
                bodega,
                time_zone: common.time_zone.clone(),
                map_cell_size_m: 250,
                idle_lock_seconds: 1800,
                device_keep_seconds: 12 * 3600,
                basemap: None,
                sign_in_with: None,
            };
            let snapshot = app::snapshot::ssr::snapshot(&ctx, &date).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            let bytes = match format {
                server::snapshot::Format::Csv => server::snapshot::to_csv(&snapshot).into_bytes(),
                server::snapshot::Format::Pdf => server::snapshot::to_pdf(&snapshot),
                server::snapshot::Format::Html => app::snapshot::standalone_html(&snapshot).into_bytes(),
            };
            std::fs::write(&out, &bytes).with_context(|| format!("cannot write {}", out.display()))?;
            println!("{}: snapshot for {} ({} bytes)", out.display(), snapshot.date, bytes.len());
            Ok(())
        }
        Some(Command::Weights(cmd)) => weights(&common, cmd).await,
        Some(Command::Basemap(BasemapCmd::Check { file })) => {
            let map = server::basemap::Basemap::open(&file, "")?;
            let i = &map.info;
            println!(
                "{}: PMTiles v3, {} tiles, zoom {}..{}, bounds {:.5},{:.5},{:.5},{:.5}, {} bytes, served as {}",
                file.display(),
                i.tile_type,
                i.min_zoom,
                i.max_zoom,
                i.bounds[0],
                i.bounds[1],
                i.bounds[2],
                i.bounds[3],
                i.bytes,
                i.url
            );
            Ok(())
        }
        Some(Command::Basemap(BasemapCmd::Schematic { out, bbox, min_zoom, max_zoom })) => {
            let bbox: [f64; 4] =
                bbox.try_into().map_err(|_| anyhow::anyhow!("--bbox takes four numbers: west,south,east,north"))?;
            let s = server::basemap::write_schematic(&out, bbox, min_zoom, max_zoom)?;
            println!("{}: {} tiles, {} bytes", out.display(), s.tiles, s.bytes);
            Ok(())
        }
        Some(Command::Hotspots(args)) => hotspots(args),
        Some(Command::Evaluate(args)) => evaluate(args),
    }
}

async fn user_command(bodega: &Bodega, cmd: UserCmd) -> anyhow::Result<()> {
    use server::accounts as acc;
    match cmd {
        UserCmd::Add { username, display_name, roles, districts } => {
            acc::add_user(bodega, &username, &display_name, &roles, &districts).await?;
            println!("account '{username}' created");
        }
        UserCmd::Passwd { username } => {
            acc::set_password(bodega, &username).await?;
            println!("password set for '{username}'");
        }
        UserCmd::Unlock { username } => {
            acc::unlock(bodega, &username).await?;
            println!("'{username}' unlocked");
        }
        UserCmd::Deactivate { username } => {
            acc::set_active(bodega, &username, false).await?;
            println!("'{username}' deactivated");
        }
        UserCmd::Activate { username } => {
            acc::set_active(bodega, &username, true).await?;
            println!("'{username}' activated");
        }
        UserCmd::Totp { username } => println!("{}", acc::enrol_totp(bodega, &username).await?),
        UserCmd::List => {
            for line in acc::list_users(bodega).await? {
                println!("{line}");
            }
        }
    }
    Ok(())
}

/// Shows a freshly drawn demo password once, on the console (never in the log file).
fn announce_demo_password(password: Option<String>) {
    if let Some(p) = password {
        eprintln!(
            "Demo accounts created (synthetic): d1.officer1 … d4.officer6, d1.sergeant … d4.sergeant, commander, \
             analyst, admin.\nTheir password is: {p}\n(Set {} to choose it.)",
            server::accounts::DEMO_PASSWORD_ENV
        );
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

/// `server weights …`: load, list and choose harm weight tables; a change of the table in force
/// is audited (every score after it says the new table).
async fn weights(common: &Common, cmd: WeightsCmd) -> anyhow::Result<()> {
    let bodega = open_store(common).await?;
    let activate = |name: String, version: String| {
        let bodega = bodega.clone();
        async move {
            let before = bodega.activate_harm_table(&name, &version).await?;
            let now = bodega.active_harm_table().await?.version().to_string();
            bodega
                .append_audit(&bodega::audit::AuditEntry {
                    actor_user_id: None,
                    actor: "command line".into(),
                    action: "harm_table".into(),
                    target: now.clone(),
                    district_code: None,
                    source_ip: String::new(),
                    device_id: None,
                    outcome: Some(bodega::audit::Outcome::Success),
                    detail: format!("harm table in force: {before} -> {now}"),
                })
                .await?;
            println!("harm table in force: {now} (was {before})");
            anyhow::Ok(())
        }
    };
    match cmd {
        WeightsCmd::Load { file, name, table_version: version, activate: and_activate } => {
            let bytes = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let rows = server::analysis::read_weight_rows(&name, &bytes)?;
            let added = bodega.load_harm_table(&name, &version, &rows).await?;
            println!(
                "harm table {name}@{version}: {} offences {}",
                rows.len(),
                if added { "loaded" } else { "already loaded, unchanged" }
            );
            if and_activate {
                activate(name, version).await?;
            }
        }
        WeightsCmd::List => {
            let tables = bodega.harm_tables().await?;
            let active = bodega.active_harm_table().await?.version().to_string();
            println!("{} count@1 (every offence weighs 1, built in)", if active == "count@1" { "*" } else { " " });
            for t in tables {
                println!("{} {}@{} ({} offences)", if t.active { "*" } else { " " }, t.name, t.version, t.offenses);
            }
        }
        WeightsCmd::Use { name, table_version } => activate(name, table_version).await?,
    }
    bodega.close().await;
    Ok(())
}
