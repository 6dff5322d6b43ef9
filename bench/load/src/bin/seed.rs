//! Before and after a load run, straight in the Data Bodega.
//!
//! - `seed users`: creates the load run's officer accounts (`load.officer0001` …). `server user
//!   add` is one process per account, each opening the database and computing an argon2id hash:
//!   1,500 of them would take minutes. So one template account is made with `server user add` (the
//!   server's own argon2id hash) and its hash is copied to every load account. Every account
//!   then shares one password and one salt — acceptable for a benchmark only; each sign-in still
//!   verifies the hash in full, so the server's sign-in cost is the real one.
//! - `seed count`: counts what the run left (the mutation log, the GPS fixes, every device's
//!   `last_seq`), against what the devices sent, and prints the figures with the goose run's
//!   summary: mutations applied and per second, push latency, lost and doubled.

use std::path::PathBuf;

use anyhow::Context;
use beatbook_load::{device_id, username, RunSummary, FIXES_PER_MUTATION, MUTATIONS};
use bodega::accounts::NewUser;
use bodega::{on_pool, Bodega};
use clap::{Parser, Subcommand};
use protocol::Role;

#[derive(Debug, Parser)]
#[command(name = "seed")]
struct Cli {
    /// The Data Bodega the server under load uses.
    #[arg(long, env = "BEATBOOK_DATABASE_URL")]
    database_url: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create N officer accounts with the template account's password hash.
    Users {
        /// Accounts to create.
        #[arg(long, default_value_t = 1500)]
        count: usize,
        /// The account made by `server user add` whose hash is copied.
        #[arg(long, default_value = "load.template")]
        template: String,
    },
    /// Count the run's mutations and fixes; print the figures (exit 2 when any are lost or doubled).
    Count {
        /// Devices in the run.
        #[arg(long, default_value_t = 1500)]
        devices: usize,
        /// The goose run's JSON summary (`LOAD_SUMMARY`).
        #[arg(long)]
        summary: PathBuf,
        /// Label for the printout (e.g. `sqlite burst`).
        #[arg(long, default_value = "")]
        label: String,
        /// Where to write the combined result as JSON.
        #[arg(long)]
        out: Option<PathBuf>,
        /// The server's log in JSON lines with `bodega::sync=debug`: its own timing of each
        /// push's write (the wait for the writer, the work, the commit) is summarised.
        #[arg(long)]
        server_log: Option<PathBuf>,
        /// The commit the server was built from (recorded with the figures).
        #[arg(long, default_value = "")]
        commit: String,
    },
}

#[derive(Debug, Default, serde::Serialize)]
struct Counts {
    mutations_expected: i64,
    mutation_rows: i64,
    mutation_distinct: i64,
    mutations_applied: i64,
    mutations_rejected: i64,
    fixes_expected: i64,
    fix_rows: i64,
    fix_distinct: i64,
    devices_expected: i64,
    devices_complete: i64,
    devices_at_last_seq: i64,
}

async fn create_users(bodega: &Bodega, count: usize, template: &str) -> anyhow::Result<()> {
    let t = bodega
        .user_by_username(template)
        .await?
        .with_context(|| format!("no template account '{template}': make it with `server user add` first"))?;
    let hash = t.password_hash.context("the template account has no password")?;
    let started = std::time::Instant::now();
    for i in 0..count {
        let new = NewUser {
            username: username(i),
            display_name: format!("Load officer {}", i + 1),
            password_hash: Some(hash.clone()),
            roles: vec![Role::Officer],
            districts: Vec::new(),
            oidc: None,
            synthetic: true,
        };
        match bodega.create_user(&new).await {
            Ok(_) | Err(bodega::accounts::AccountError::UsernameTaken(_)) => {}
            Err(e) => return Err(e).with_context(|| format!("creating {}", username(i))),
        }
    }
    println!("{count} load accounts ready ({} … {}) in {:.1} s", username(0), username(count - 1), started.elapsed().as_secs_f64());
    Ok(())
}

async fn count(bodega: &Bodega, devices: usize) -> anyhow::Result<Counts> {
    let n = devices as i64;
    let mut c = Counts {
        mutations_expected: n * MUTATIONS as i64,
        fixes_expected: n * (MUTATIONS * FIXES_PER_MUTATION) as i64,
        devices_expected: n,
        ..Default::default()
    };
    let ids: Vec<String> = (0..devices).map(device_id).collect();
    on_pool!(bodega, pool => {
        c.mutation_rows = sqlx::query_scalar("SELECT COUNT(*) FROM mutation_log").fetch_one(pool).await?;
        c.mutation_distinct = sqlx::query_scalar("SELECT COUNT(*) FROM (SELECT DISTINCT device_id, seq FROM mutation_log) t")
            .fetch_one(pool).await?;
        c.mutations_applied = sqlx::query_scalar("SELECT COUNT(*) FROM mutation_log WHERE outcome = 'applied'")
            .fetch_one(pool).await?;
        c.mutations_rejected = sqlx::query_scalar("SELECT COUNT(*) FROM mutation_log WHERE outcome = 'rejected'")
            .fetch_one(pool).await?;
        c.fix_rows = sqlx::query_scalar("SELECT COUNT(*) FROM gps_fixes").fetch_one(pool).await?;
        c.fix_distinct = sqlx::query_scalar("SELECT COUNT(*) FROM (SELECT DISTINCT device, fix_at FROM gps_fixes) t")
            .fetch_one(pool).await?;
        // Every device holds exactly seq 1..20, once each.
        let per_device: Vec<(String, i64, i64, i64, i64)> = sqlx::query_as(
            "SELECT device_id, COUNT(*), COUNT(DISTINCT seq), CAST(MIN(seq) AS BIGINT), CAST(MAX(seq) AS BIGINT) \
             FROM mutation_log GROUP BY device_id")
            .fetch_all(pool).await?;
        let want = MUTATIONS as i64;
        let mut short = Vec::new();
        for (id, rows, distinct, min, max) in &per_device {
            if *rows == want && *distinct == want && *min == 1 && *max == want && ids.binary_search(id).is_ok() {
                c.devices_complete += 1;
            } else if short.len() < 5 {
                short.push(format!("{id}: {rows} rows, {distinct} distinct, seq {min}..{max}"));
            }
        }
        if !short.is_empty() {
            println!("devices not holding exactly seq 1..{want} (first 5): {}", short.join("; "));
        }
        c.devices_at_last_seq = sqlx::query_scalar("SELECT COUNT(*) FROM devices WHERE last_seq = $1")
            .bind(want).fetch_one(pool).await?;
    });
    Ok(c)
}

fn pass(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "MISSED"
    }
}

/// What a result records besides the counts: where the figures came from.
struct RunInfo {
    commit: String,
    server_log: Option<PathBuf>,
}

/// Percentiles of the server's write-path timings, in milliseconds.
#[derive(Debug, serde::Serialize)]
struct Spread {
    p50: f64,
    p95: f64,
    p99: f64,
    max: f64,
}

impl Spread {
    /// Nearest-rank percentiles of `us` (microseconds); `None` when there are none.
    fn of(mut us: Vec<u64>) -> Option<Self> {
        us.sort_unstable();
        let at = |p: f64| us[((p * us.len() as f64).ceil() as usize).clamp(1, us.len()) - 1] as f64 / 1000.0;
        (!us.is_empty()).then(|| Self { p50: at(0.50), p95: at(0.95), p99: at(0.99), max: at(1.0) })
    }
}

impl std::fmt::Display for Spread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "p50 {:.1} / p95 {:.1} / p99 {:.1} / max {:.1} ms", self.p50, self.p95, self.p99, self.max)
    }
}

/// The server's own timing of each push's write (`push written` events of `bodega::sync`).
#[derive(Debug, serde::Serialize)]
struct WriteTiming {
    pushes: usize,
    wait_for_writer: Spread,
    apply: Spread,
    commit: Spread,
}

fn write_timing(log: &std::path::Path) -> anyhow::Result<Option<WriteTiming>> {
    let text = std::fs::read_to_string(log).with_context(|| format!("cannot read the server log {}", log.display()))?;
    let (mut wait, mut apply, mut commit) = (Vec::new(), Vec::new(), Vec::new());
    for line in text.lines() {
        let Ok(event) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        // The server flattens an event's fields into the line (`flatten_event`).
        let fields = if event["fields"].is_object() { &event["fields"] } else { &event };
        if fields["message"] != "push written" {
            continue;
        }
        let us = |k: &str| fields[k].as_u64().with_context(|| format!("a push-written event without {k}: {line}"));
        wait.push(us("wait_us")?);
        apply.push(us("apply_us")?);
        commit.push(us("commit_us")?);
    }
    let pushes = wait.len();
    Ok(match (Spread::of(wait), Spread::of(apply), Spread::of(commit)) {
        (Some(wait_for_writer), Some(apply), Some(commit)) => Some(WriteTiming { pushes, wait_for_writer, apply, commit }),
        _ => None,
    })
}

/// The machine as the run found it: cores and the load average after the run.
fn machine() -> serde_json::Value {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let loadavg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = loadavg.split_whitespace().take(3).collect();
    serde_json::json!({ "cores": cores, "loadavg_1_5_15": load.join(" ") })
}

async fn report(
    bodega: &Bodega,
    devices: usize,
    summary: PathBuf,
    label: String,
    out: Option<PathBuf>,
    run: RunInfo,
) -> anyhow::Result<bool> {
    let s: RunSummary = serde_json::from_str(
        &std::fs::read_to_string(&summary).with_context(|| format!("cannot read the run summary {}", summary.display()))?,
    )?;
    let c = count(bodega, devices).await?;
    let lost = c.mutations_expected - c.mutation_distinct;
    let doubled = c.mutation_rows - c.mutation_distinct;
    let fixes_lost = c.fixes_expected - c.fix_distinct;
    let fixes_doubled = c.fix_rows - c.fix_distinct;
    let rate = if s.push_seconds > 0.0 { c.mutations_applied as f64 / s.push_seconds } else { 0.0 };
    let l = &s.push_latency;
    let mode = if s.mode == "paced" { format!("paced at {} mutations/s", s.target_rate) } else { "burst".into() };
    let machine = machine();
    println!("== {label}: {devices} devices, {mode}");
    println!(
        "run: commit {}, {} cores, load average after the run {}",
        if run.commit.is_empty() { "(not given)" } else { &run.commit },
        machine["cores"],
        machine["loadavg_1_5_15"].as_str().unwrap_or("")
    );
    println!(
        "sign-in phase: {}/{} devices signed in and pulled in {:.1} s (sign-in p50 {} ms, p99 {} ms; pull p50 {} ms)",
        s.signed_in, devices, s.sign_in_seconds, s.login_latency.p50, s.login_latency.p99, s.pull_latency.p50
    );
    println!(
        "push phase: {} pushes ok, {} failed, {} retried; {:.2} s from the start line to the last answer{}",
        s.pushes_ok,
        s.pushes_failed,
        s.push_retries,
        s.push_seconds,
        if s.mode == "paced" { format!(" (latest start behind schedule: {:.0} ms)", s.max_schedule_lag_ms) } else { String::new() }
    );
    println!(
        "mutations applied (counted): {} = {:.0} mutations/s; the push answers reported {} applied",
        c.mutations_applied, rate, s.applied_reported
    );
    let h = &s.push_latency_histogram;
    println!(
        "push latency ({} pushes of 5): p50 {} ms, p95 {} ms, p99 {} ms, max {} ms, mean {:.1} ms \
         (goose's report, rounded: p50 {}, p95 {}, p99 {})",
        l.count, l.p50, l.p95, l.p99, l.max, l.mean, h.p50, h.p95, h.p99
    );
    println!(
        "mutation log: expected {}, rows {}, distinct (device, seq) {}, rejected {} -> lost {lost}, doubled {doubled}",
        c.mutations_expected, c.mutation_rows, c.mutation_distinct, c.mutations_rejected
    );
    println!(
        "gps fixes: expected {}, rows {}, distinct (device, time) {} -> lost {fixes_lost}, doubled {fixes_doubled}",
        c.fixes_expected, c.fix_rows, c.fix_distinct
    );
    println!(
        "devices holding exactly seq 1..{MUTATIONS}: {}/{}; devices.last_seq = {MUTATIONS}: {}; final pulls saying last_seq {MUTATIONS}: {}",
        c.devices_complete, c.devices_expected, c.devices_at_last_seq, s.final_last_seq_ok
    );
    let timing = match &run.server_log {
        Some(log) => write_timing(log)?,
        None => None,
    };
    if let Some(t) = &timing {
        println!(
            "server's write path ({} pushes): wait for the writer {}; apply {}; commit {}",
            t.pushes, t.wait_for_writer, t.apply, t.commit
        );
    }
    let exact = lost == 0 && doubled == 0 && fixes_lost == 0 && fixes_doubled == 0 && c.mutations_rejected == 0;
    // A burst run measures throughput (its latency is the queue of every device pushing at
    // once); a paced run measures latency at the offered rate (its throughput is that rate).
    if s.mode == "paced" {
        println!(
            "goals: p99 push <= 100 ms at {} mutations/s {}; offered rate kept (no push started >= 100 ms late) {}; \
             zero lost and zero doubled {}",
            s.target_rate,
            pass(l.p99 <= 100),
            pass(s.max_schedule_lag_ms < 100.0),
            pass(exact)
        );
    } else {
        println!(
            "goals: >= 2,000 mutations/s {}; zero lost and zero doubled {} (push latency here is the queue of \
             {devices} devices pushing at once: judged by the paced run)",
            pass(rate >= 2000.0),
            pass(exact)
        );
    }
    if let Some(out) = out {
        let json = serde_json::json!({
            "label": label, "summary": s, "counts": c, "lost": lost, "doubled": doubled,
            "fixes_lost": fixes_lost, "fixes_doubled": fixes_doubled, "mutations_per_second": rate,
            "commit": run.commit, "machine": machine, "server_write_path": timing,
        });
        std::fs::write(&out, serde_json::to_string_pretty(&json)?)?;
    }
    Ok(exact)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<std::process::ExitCode> {
    let cli = Cli::parse();
    let bodega = Bodega::open(&cli.database_url, 2).await?;
    let code = match cli.command {
        Command::Users { count, template } => {
            create_users(&bodega, count, &template).await?;
            std::process::ExitCode::SUCCESS
        }
        Command::Count { devices, summary, label, out, server_log, commit } => {
            let run = RunInfo { commit, server_log };
            if report(&bodega, devices, summary, label, out, run).await? {
                std::process::ExitCode::SUCCESS
            } else {
                std::process::ExitCode::from(2)
            }
        }
    };
    bodega.close().await;
    Ok(code)
}
