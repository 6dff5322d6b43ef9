//! The command line's shape: every subcommand and flag, with the help `server --help` prints.
//! What each does is in `commands`; settings shared with `serve` are `config`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::{Common, Serve};

/// Beatbook: harm-ranked micro hot spots, patrol missions and presence for data-driven policing.
///
/// With no subcommand, `serve` runs with its defaults: a SQLite Data Bodega under ./data/
/// (created and seeded with the demo city on first start) and the web app on 127.0.0.1:3000.
/// Every option can also be set through the environment variable named in its help.
#[derive(Debug, Parser)]
#[command(name = "server", version, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub common: Common,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
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
    /// Shift patterns: list, add, change or remove the department's shifts.
    #[command(subcommand)]
    Shift(ShiftCmd),
    /// The dosage rules: show the rules in force and their versions, or set a new version.
    #[command(subcommand)]
    Rules(RulesCmd),
    /// The roster: import accounts, squads and units from a CSV, or list the squads.
    #[command(subcommand)]
    Roster(RosterCmd),
    /// Harm weight tables: load the department's own, list them, choose the one in force.
    #[command(subcommand)]
    Weights(WeightsCmd),
    /// Score every micro place of a canonical incident file: one row per cell of the grid with
    /// count, harm, Gi* z-score and kernel density (no database needed).
    Hotspots(HotspotsArgs),
    /// Rank places on a training window and measure how well the ranking predicted a later test
    /// window: hit rate, PAI, PEI and RRI beside the naive trailing-count baseline.
    Evaluate(EvaluateArgs),
    /// Rolling-origin backtest: at each of the last N shifts or weeks, every method ranks places
    /// from what came before and is scored on what followed (hit rate, PAI, PEI, RRI with 95%
    /// moving-block intervals), and the evidence rule says which method should rank.
    Backtest(BacktestArgs),
    /// Run the shift backtest on the Data Bodega's incidents and put in force, for the city and
    /// each district, the ranking its record supports (audited; the accuracy screen shows it).
    ChooseRanking {
        /// Include the self-exciting model (about 4.5 s per shift on a city's year; without it
        /// the backtest takes seconds).
        #[arg(long)]
        with_model: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum WeightsCmd {
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
    /// Replace the weights of calls for service (the optional calls track): CSV with columns
    /// call_type,priority,weight and optionally note; an empty priority weighs every priority
    /// not listed. Without FILE, lists the table and the call types it does not weigh.
    Calls {
        /// The CSV file.
        file: Option<PathBuf>,
    },
}

/// A shift pattern's fields on the command line.
#[derive(Debug, clap::Args)]
pub struct ShiftArgs {
    /// The shift's code, e.g. A (missions carry it; it never changes).
    pub code: String,
    /// Its name, e.g. "Day watch".
    #[arg(long)]
    pub name: String,
    /// Local start, HH:MM.
    #[arg(long)]
    pub starts: String,
    /// Local end, HH:MM (earlier than the start: it ends the next morning).
    #[arg(long)]
    pub ends: String,
    /// The days it starts on: "every day", "Mon-Fri", "Sat,Sun", "Fri-Mon".
    #[arg(long, default_value = "every day")]
    pub days: String,
}

#[derive(Debug, Subcommand)]
pub enum ShiftCmd {
    /// The shift patterns, with the shifts each overlaps.
    List,
    /// Add a shift pattern.
    Add(ShiftArgs),
    /// Change a shift pattern's name, hours and days.
    Edit(ShiftArgs),
    /// Remove a shift pattern no mission names.
    Remove {
        /// The shift's code.
        code: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum RosterCmd {
    /// Import a roster CSV (username, display_name, role, district; optional squad, badge, unit):
    /// all of it, or nothing with every fault named.
    Import {
        /// The CSV file.
        file: PathBuf,
    },
    /// The squads with their sergeants and members.
    Squads,
}

#[derive(Debug, Subcommand)]
pub enum RulesCmd {
    /// The rules in force and every version.
    Show,
    /// Put a new version in force; each figure not given keeps its value in force.
    Set {
        /// A stop counts as a Koper visit from this many minutes in place.
        #[arg(long)]
        koper_min: Option<i64>,
        /// Minutes in place past which a visit adds nothing.
        #[arg(long)]
        koper_max: Option<i64>,
        /// Completed Koper visits per place per shift.
        #[arg(long)]
        target: Option<i64>,
        /// Visits per place per 24 hours past which it is not proposed.
        #[arg(long)]
        cap_visits: Option<i64>,
        /// Minutes per place per 24 hours past which it is not proposed.
        #[arg(long)]
        cap_minutes: Option<i64>,
        /// Places a shift's plan proposes per district.
        #[arg(long)]
        places: Option<i64>,
        /// The violent track's weight in the ranking, percent of the harm table's (100 = as is).
        #[arg(long)]
        violent: Option<i64>,
        /// The property track's weight, percent.
        #[arg(long)]
        property: Option<i64>,
        /// The quality-of-life track's weight, percent.
        #[arg(long)]
        quality_of_life: Option<i64>,
        /// The weight of calls for service, percent of the call weight table (0, the default,
        /// leaves calls out; turning it on needs `server weights calls FILE.csv` first).
        #[arg(long)]
        calls: Option<i64>,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCmd {
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
pub enum DeviceCmd {
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
pub enum BasemapCmd {
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
pub enum KernelArg {
    Gaussian,
    Quartic,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum MeasureArg {
    Count,
    Harm,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum RankArg {
    Count,
    Harm,
    Kde,
    Gi,
    Decayed,
}

/// What both analyses read and how they weigh it.
#[derive(Debug, clap::Args)]
pub struct AnalysisInput {
    /// Canonical incident CSV: id,occurred_at,offense,category,lat,lon (occurred_at local time).
    #[arg(long)]
    pub incidents: PathBuf,
    /// Cell size, metres.
    #[arg(long, default_value_t = 150.0)]
    pub cell_size: f64,
    /// UTM zone as an EPSG code (326zz north, 327zz south); default: the zone of the incidents' centroid.
    #[arg(long)]
    pub epsg: Option<u32>,
    /// Harm weights: `count` (every offence weighs 1), `cchi` (the shipped Cambridge Crime Harm
    /// Index 2020, police-discovered offences left out; docs/HARM.md), `cchi-all` (with them), or a
    /// CSV file with columns offense,weight.
    #[arg(long, default_value = "count")]
    pub weights: String,
    /// Fail when an offence has no weight in the table (otherwise it weighs 0 in harm and is listed).
    #[arg(long)]
    pub strict: bool,
    /// Kernel of the density.
    #[arg(long, value_enum, default_value_t = KernelArg::Gaussian)]
    pub kernel: KernelArg,
    /// Kernel bandwidth, metres.
    #[arg(long, default_value_t = 200.0)]
    pub bandwidth: f64,
    /// Half-life of the time-decayed harm, days.
    #[arg(long, default_value_t = 28.0)]
    pub half_life: f64,
    /// What the density and Gi* measure.
    #[arg(long, value_enum, default_value_t = MeasureArg::Count)]
    pub measure: MeasureArg,
}

#[derive(Debug, clap::Args)]
pub struct HotspotsArgs {
    #[command(flatten)]
    pub input: AnalysisInput,
    /// Start of the window (inclusive), local date or date-time.
    #[arg(long)]
    pub from: Option<String>,
    /// End of the window (exclusive).
    #[arg(long)]
    pub to: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = crate::analysis::Format::Csv)]
    pub format: crate::analysis::Format,
    /// Write here instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Score street segments instead of cells: a GeoJSON FeatureCollection of LineStrings
    /// (WGS84; `id` and `name` properties). One row per segment.
    #[arg(long, value_name = "FILE.geojson")]
    pub segments: Option<PathBuf>,
    /// With --segments: incidents farther than this from every segment (metres) are reported,
    /// not scored.
    #[arg(long, default_value_t = 30.0)]
    pub snap_m: f64,
}

#[derive(Debug, clap::Args)]
pub struct EvaluateArgs {
    #[command(flatten)]
    pub input: AnalysisInput,
    /// Training window: FROM TO (half-open, local dates or date-times).
    #[arg(long, num_args = 2, value_names = ["FROM", "TO"], required = true)]
    pub train: Vec<String>,
    /// Test window: FROM TO.
    #[arg(long, num_args = 2, value_names = ["FROM", "TO"], required = true)]
    pub test: Vec<String>,
    /// How the method ranks places on the training window.
    #[arg(long, value_enum, default_value_t = RankArg::Harm)]
    pub rank_by: RankArg,
    /// Study area: every cell of the grid, or only cells with any incident in the file.
    #[arg(long, value_enum, default_value_t = crate::analysis::Area::Bbox)]
    pub area: crate::analysis::Area,
    /// Shares of the study area to flag, percent.
    #[arg(long, value_delimiter = ',', default_value = "1,2,5,10")]
    pub top: Vec<f64>,
    /// Output format (JSON).
    #[arg(long, value_parser = ["json"], default_value = "json")]
    pub format: String,
    /// Write here instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// A forecast window's length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HorizonArg {
    /// 8 hours.
    Shift,
    /// 7 days.
    Week,
}

/// Methods a backtest scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MethodArg {
    /// Trailing counts over 28, 90 and 365 days (the baselines; always scored).
    Count,
    /// Trailing harm over 28, 90 and 365 days.
    Harm,
    /// Time-decayed harm over the training window (`--half-life`).
    Decayed,
    /// Kernel density of harm over the training window (`--bandwidth`).
    Kde,
    /// The self-exciting point process, fitted on the training window at every origin.
    Sepp,
}

/// How a backtest is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BacktestFormat {
    /// One object: the plan, every method's record and the choice.
    Json,
    /// One row per method, share of the area and metric: mean, 95% interval, origins.
    Csv,
}

#[derive(Debug, clap::Args)]
pub struct BacktestArgs {
    #[command(flatten)]
    pub input: AnalysisInput,
    /// Methods, comma-separated (the trailing counts are always scored: they are the baselines).
    #[arg(long, value_enum, value_delimiter = ',', default_value = "count,harm,decayed,kde,sepp")]
    pub methods: Vec<MethodArg>,
    /// The forecast window.
    #[arg(long, value_enum, default_value_t = HorizonArg::Week)]
    pub horizon: HorizonArg,
    /// How many consecutive windows, ending with the last (1–520).
    #[arg(long, default_value_t = 52)]
    pub origins: u32,
    /// Where the last window ends (local date or date-time); default: midnight after the file's
    /// last incident.
    #[arg(long)]
    pub until: Option<String>,
    /// Days of history each origin may use (28–3650).
    #[arg(long, default_value_t = 365)]
    pub training_days: u32,
    /// Study area: every cell of the grid, or only cells with any incident in the file.
    #[arg(long, value_enum, default_value_t = crate::analysis::Area::Bbox)]
    pub area: crate::analysis::Area,
    /// Shares of the study area to flag, percent.
    #[arg(long, value_delimiter = ',', default_value = "1,5")]
    pub top: Vec<f64>,
    /// What each window is scored on.
    #[arg(long, value_enum, default_value_t = MeasureArg::Harm)]
    pub score: MeasureArg,
    /// The self-exciting model's longest parent–child lag, days (1 to the training window)
    #[arg(long, default_value_t = 60.0)]
    pub sepp_max_lag_days: f64,
    /// The self-exciting model's spatial reach (the Gaussian's truncation), metres (50–10000)
    #[arg(long, default_value_t = 1_000.0)]
    pub sepp_reach_m: f64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = BacktestFormat::Json)]
    pub format: BacktestFormat,
    /// Write here instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Ingest {
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
