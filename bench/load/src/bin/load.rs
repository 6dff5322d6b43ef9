//! The load run: every goose user is one device of a department.
//!
//! 1. `sign in`: `POST /api/auth/login` as its own officer account with its device id (argon2id
//!    on the server; goose's per-user reqwest client keeps the session cookie).
//! 2. `first pull`: `GET /api/sync/pull?cookie=0&device_id=…&schema_version=…`.
//! 3. `push outbox`: waits at a start line until every device has signed in (so the push figures
//!    measure the sync, not argon2), then pushes 20 breadcrumb mutations (3 fixes each) in 4
//!    pushes of 5, seq 1..20. A push that fails (transport error, 429, 5xx) is sent again the
//!    way the app's outbox does, after a back-off: the server must skip what it already holds.
//!    Mode `burst`: every device pushes as fast as it can (closed loop: 1,500 pushes in flight,
//!    the server's saturation throughput). Mode `paced`: pushes are started on an open-loop
//!    schedule at `LOAD_RATE` mutations/s across all devices (the latency at that rate).
//! 4. `final pull`: reads `last_seq` (must be 20).
//!
//! Usage (bench/load.sh runs it): `load --host http://127.0.0.1:PORT --users 1500
//! --hatch-rate 100 --iterations 1 --report-file out.html` plus any goose option, with
//! `LOAD_MODE=burst|paced`, `LOAD_RATE` (mutations/s, paced), `LOAD_PASSWORD`, `LOAD_SUMMARY`
//! (where the JSON summary for `seed count` goes) and `LOAD_RETRIES` in the environment.
//! No request carries `Origin` or `Sec-Fetch-Site`: the server's CSRF layer lets such
//! (non-browser) clients through.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{LazyLock, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use beatbook_load::{
    device_id, username, Latency, RunSummary, BATCH, DEFAULT_PASSWORD, FIXES_PER_MUTATION, MUTATIONS,
};
use goose::metrics::GooseRequestMetricTimingData;
use goose::prelude::*;
use protocol::sync::{Fix, Mutation, MutationKind, Outcome, PullResponse, PushRequest, PushResponse, SCHEMA_VERSION};
use tokio::sync::watch;

/// How long a device waits at the start line for the others before it starts anyway.
const START_LINE_TIMEOUT: Duration = Duration::from_secs(900);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Burst,
    Paced,
}

struct Plan {
    mode: Mode,
    /// Mutations per second across all devices (paced).
    rate: f64,
    password: String,
    retries: u32,
}

fn plan() -> &'static Plan {
    static PLAN: OnceLock<Plan> = OnceLock::new();
    PLAN.get_or_init(|| {
        let mode = match std::env::var("LOAD_MODE").as_deref() {
            Ok("paced") => Mode::Paced,
            _ => Mode::Burst,
        };
        let rate = std::env::var("LOAD_RATE").ok().and_then(|r| r.parse().ok()).unwrap_or(2000.0_f64).max(1.0);
        let password = std::env::var("LOAD_PASSWORD").unwrap_or_else(|_| DEFAULT_PASSWORD.to_string());
        let retries = std::env::var("LOAD_RETRIES").ok().and_then(|r| r.parse().ok()).unwrap_or(5);
        Plan { mode, rate, password, retries }
    })
}

/// One simulated device's state between transactions.
#[derive(Debug, Clone)]
struct Device {
    index: usize,
    id: String,
    signed_in: bool,
}

static FIRST_SIGN_IN: OnceLock<Instant> = OnceLock::new();
static ARRIVED: AtomicUsize = AtomicUsize::new(0);
static SIGNED_IN: AtomicUsize = AtomicUsize::new(0);
/// The start line: set once every device has arrived.
static START: LazyLock<watch::Sender<Option<Instant>>> = LazyLock::new(|| watch::channel(None).0);
/// Nanoseconds from the start line to the last push answered.
static LAST_PUSH_DONE_NS: AtomicU64 = AtomicU64::new(0);
static PUSHES_OK: AtomicUsize = AtomicUsize::new(0);
static PUSHES_FAILED: AtomicUsize = AtomicUsize::new(0);
static PUSH_RETRIES: AtomicUsize = AtomicUsize::new(0);
static APPLIED: AtomicU64 = AtomicU64::new(0);
static FINAL_OK: AtomicUsize = AtomicUsize::new(0);
static MAX_LAG_US: AtomicU64 = AtomicU64::new(0);
/// Every push's response time as goose measured it (ms, before its histogram rounds them).
static PUSH_TIMES: Mutex<Vec<u64>> = Mutex::new(Vec::new());

fn now_seconds() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

fn devices_in_run(user: &GooseUser) -> usize {
    user.config.users.unwrap_or(1).max(1)
}

/// `POST /api/auth/login`.
async fn sign_in(user: &mut GooseUser) -> TransactionResult {
    FIRST_SIGN_IN.get_or_init(Instant::now);
    let index = user.weighted_users_index;
    let id = device_id(index);
    let body = serde_json::json!({
        "username": username(index),
        "password": plan().password,
        "device_id": id,
    });
    let builder = user.get_request_builder(&GooseMethod::Post, "/api/auth/login")?.json(&body);
    let request = GooseRequest::builder()
        .method(GooseMethod::Post)
        .path("/api/auth/login")
        .name("sign in")
        .set_request_builder(builder)
        .build();
    let mut goose = user.request(request).await?;
    let signed_in = match goose.response {
        Ok(ref r) if r.status().as_u16() == 200 => true,
        Ok(ref r) => {
            let status = r.status();
            user.set_failure(&format!("sign-in answered {status}"), &mut goose.request, None, None)?;
            false
        }
        Err(_) => false,
    };
    user.set_session_data(Device { index, id, signed_in });
    Ok(())
}

/// `GET /api/sync/pull` from cookie 0; `None` when it failed (recorded as a failure).
async fn pull(user: &mut GooseUser, name: &str) -> Result<Option<PullResponse>, Box<TransactionError>> {
    let Some(device) = user.get_session_data::<Device>().cloned() else { return Ok(None) };
    if !device.signed_in {
        return Ok(None);
    }
    let path = format!("/api/sync/pull?cookie=0&device_id={}&schema_version={SCHEMA_VERSION}", device.id);
    let request = GooseRequest::builder().path(path.as_str()).name(name).build();
    let mut goose = user.request(request).await?;
    match goose.response {
        Ok(r) if r.status().as_u16() == 200 => match r.json::<PullResponse>().await {
            Ok(p) => Ok(Some(p)),
            Err(e) => {
                user.set_failure(&format!("pull body: {e}"), &mut goose.request, None, None)?;
                Ok(None)
            }
        },
        Ok(r) => {
            let status = r.status();
            let text = r.text().await.unwrap_or_default();
            user.set_failure(&format!("pull answered {status}"), &mut goose.request, None, Some(&text))?;
            Ok(None)
        }
        Err(_) => Ok(None),
    }
}

async fn first_pull(user: &mut GooseUser) -> TransactionResult {
    if pull(user, "first pull").await?.is_some() {
        SIGNED_IN.fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
}

/// Waits until every device has arrived (or the timeout); returns the start line's instant.
async fn start_line(devices: usize) -> Instant {
    let mut rx = START.subscribe();
    if ARRIVED.fetch_add(1, Ordering::SeqCst) + 1 >= devices {
        START.send_if_modified(|v| {
            if v.is_none() {
                *v = Some(Instant::now());
                true
            } else {
                false
            }
        });
    }
    let waited = tokio::time::timeout(START_LINE_TIMEOUT, rx.wait_for(Option::is_some))
        .await
        .map(|r| r.map(|at| *at));
    match waited {
        Ok(Ok(at)) => at.unwrap_or_else(Instant::now),
        _ => {
            eprintln!("load: not every device reached the start line in {START_LINE_TIMEOUT:?}; starting anyway");
            START.send_if_modified(|v| {
                if v.is_none() {
                    *v = Some(Instant::now());
                    true
                } else {
                    false
                }
            });
            START.borrow().unwrap_or_else(Instant::now)
        }
    }
}

/// The breadcrumbs of mutation `seq`: fixes a second apart from the first push of the run on
/// (the server believes only fixes inside the officer's session and not more than two minutes
/// ahead; a device's 60 fixes end a minute after its first push), distinct per device, around
/// Miami.
fn mutation(index: usize, seq: u64, device_time: i64) -> Mutation {
    static FIRST_PUSH: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    let base = *FIRST_PUSH.get_or_init(now_seconds);
    let fixes = (0..FIXES_PER_MUTATION)
        .map(|j| {
            let step = (seq * FIXES_PER_MUTATION + j) as f64;
            Fix {
                t: base + ((seq - 1) * FIXES_PER_MUTATION + j) as i64,
                lat: 25.70 + (index % 100) as f64 * 0.002 + step * 0.0001,
                lon: -80.30 + (index / 100) as f64 * 0.002 + step * 0.0001,
                accuracy_m: Some(8.0),
                speed_mps: Some(1.4),
            }
        })
        .collect();
    Mutation { seq, kind: MutationKind::Breadcrumbs { fixes }, device_time }
}

/// One push with the outbox's retries; true when the server holds the batch.
async fn push_batch(user: &mut GooseUser, device: &Device, first: u64) -> Result<bool, Box<TransactionError>> {
    let body = PushRequest {
        schema_version: SCHEMA_VERSION,
        device_id: device.id.clone(),
        mutations: (first..first + BATCH).map(|seq| mutation(device.index, seq, now_seconds())).collect(),
        sent_at: Some(now_seconds()),
    };
    let last = first + BATCH - 1;
    let mut backoff = Duration::from_millis(500);
    for attempt in 0..=plan().retries {
        if attempt > 0 {
            PUSH_RETRIES.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(backoff).await;
            backoff *= 2;
        }
        let builder = user.get_request_builder(&GooseMethod::Post, "/api/sync/push")?.json(&body);
        let request = GooseRequest::builder()
            .method(GooseMethod::Post)
            .path("/api/sync/push")
            .name("push")
            .set_request_builder(builder)
            .build();
        let mut goose = user.request(request).await?;
        PUSH_TIMES.lock().unwrap_or_else(|p| p.into_inner()).push(goose.request.response_time);
        let (tag, text) = match goose.response {
            Ok(r) if r.status().as_u16() == 200 => match r.json::<PushResponse>().await {
                Ok(answer) => {
                    let applied = answer.results.iter().filter(|(_, o)| *o == Outcome::Applied).count() as u64;
                    let refused = answer.results.iter().any(|(_, o)| matches!(o, Outcome::Rejected { .. }));
                    APPLIED.fetch_add(applied, Ordering::Relaxed);
                    if answer.last_seq >= last && !refused {
                        return Ok(true);
                    }
                    (format!("push answered last_seq {} (rejected: {refused})", answer.last_seq), String::new())
                }
                Err(e) => (format!("push body: {e}"), String::new()),
            },
            Ok(r) => {
                let status = r.status();
                (format!("push answered {status}"), r.text().await.unwrap_or_default())
            }
            Err(e) => (format!("push transport: {e}"), String::new()),
        };
        user.set_failure(&tag, &mut goose.request, None, Some(&text))?;
        // 401/403/409/422 would fail again the same way: only transient answers are retried.
        let transient = tag.contains("transport") || tag.contains("429") || tag.contains(" 5");
        if !transient {
            eprintln!("load: device {} push from {first}: {tag} {text}", device.index + 1);
            return Ok(false);
        }
    }
    Ok(false)
}

async fn push_outbox(user: &mut GooseUser) -> TransactionResult {
    let devices = devices_in_run(user);
    let t0 = start_line(devices).await;
    let Some(device) = user.get_session_data::<Device>().cloned() else { return Ok(()) };
    if !device.signed_in {
        return Ok(());
    }
    let pushes = MUTATIONS / BATCH;
    for k in 0..pushes {
        if plan().mode == Mode::Paced {
            // Open loop: the j-th push of the whole fleet starts at t0 + j × BATCH / rate, device
            // by device, round after round.
            let j = k as f64 * devices as f64 + device.index as f64;
            let at = t0 + Duration::from_secs_f64(j * BATCH as f64 / plan().rate);
            tokio::time::sleep_until(at.into()).await;
            let lag = Instant::now().saturating_duration_since(at).as_micros() as u64;
            MAX_LAG_US.fetch_max(lag, Ordering::Relaxed);
        }
        if push_batch(user, &device, k * BATCH + 1).await? {
            PUSHES_OK.fetch_add(1, Ordering::Relaxed);
        } else {
            PUSHES_FAILED.fetch_add(1, Ordering::Relaxed);
            break;
        }
    }
    let done = t0.elapsed().as_nanos() as u64;
    LAST_PUSH_DONE_NS.fetch_max(done, Ordering::Relaxed);
    Ok(())
}

async fn final_pull(user: &mut GooseUser) -> TransactionResult {
    if let Some(p) = pull(user, "final pull").await? {
        if p.last_seq == MUTATIONS {
            FINAL_OK.fetch_add(1, Ordering::Relaxed);
        }
    }
    Ok(())
}

/// Percentiles (nearest rank) of every push's response time.
fn exact_latency(times: &mut [u64]) -> Latency {
    if times.is_empty() {
        return Latency::default();
    }
    times.sort_unstable();
    let at = |p: f64| times[((p * times.len() as f64).ceil() as usize).clamp(1, times.len()) - 1] as usize;
    Latency {
        count: times.len(),
        p50: at(0.50),
        p95: at(0.95),
        p99: at(0.99),
        max: at(1.0),
        mean: times.iter().sum::<u64>() as f64 / times.len() as f64,
    }
}

/// Percentiles from goose's timing histogram (exact below 100 ms, then rounded: 10 ms steps to
/// 500 ms, 100 ms steps to 1 s, whole seconds above).
fn latency(data: Option<&GooseRequestMetricTimingData>) -> Latency {
    let Some(d) = data.filter(|d| d.counter > 0) else { return Latency::default() };
    let at = |p: f64| {
        let rank = ((p * d.counter as f64).ceil() as usize).max(1);
        let mut seen = 0;
        for (time, n) in &d.times {
            seen += n;
            if seen >= rank {
                return *time;
            }
        }
        d.maximum_time
    };
    Latency {
        count: d.counter,
        p50: at(0.50),
        p95: at(0.95),
        p99: at(0.99),
        max: d.maximum_time,
        mean: d.total_time as f64 / d.counter as f64,
    }
}

#[tokio::main]
async fn main() -> Result<(), GooseError> {
    let _ = plan();
    let metrics = GooseAttack::initialize()?
        .register_scenario(
            scenario!("Device")
                .register_transaction(transaction!(sign_in).set_name("sign in").set_sequence(1))
                .register_transaction(transaction!(first_pull).set_name("first pull").set_sequence(2))
                .register_transaction(transaction!(push_outbox).set_name("push outbox").set_sequence(3))
                .register_transaction(transaction!(final_pull).set_name("final pull").set_sequence(4)),
        )
        .set_default(GooseDefault::Iterations, 1)?
        .execute()
        .await?;

    let start = *START.borrow();
    let devices = metrics.total_users;
    let req = |key: &str| metrics.requests.get(key).map(|r| &r.raw_data);
    let summary = RunSummary {
        mode: match plan().mode {
            Mode::Burst => "burst".into(),
            Mode::Paced => "paced".into(),
        },
        target_rate: if plan().mode == Mode::Paced { plan().rate } else { 0.0 },
        devices,
        signed_in: SIGNED_IN.load(Ordering::Relaxed),
        sign_in_seconds: match (FIRST_SIGN_IN.get(), start) {
            (Some(a), Some(b)) => b.saturating_duration_since(*a).as_secs_f64(),
            _ => 0.0,
        },
        push_seconds: LAST_PUSH_DONE_NS.load(Ordering::Relaxed) as f64 / 1e9,
        pushes_ok: PUSHES_OK.load(Ordering::Relaxed),
        pushes_failed: PUSHES_FAILED.load(Ordering::Relaxed),
        push_retries: PUSH_RETRIES.load(Ordering::Relaxed),
        applied_reported: APPLIED.load(Ordering::Relaxed),
        final_last_seq_ok: FINAL_OK.load(Ordering::Relaxed),
        max_schedule_lag_ms: MAX_LAG_US.load(Ordering::Relaxed) as f64 / 1000.0,
        push_latency: exact_latency(&mut PUSH_TIMES.lock().unwrap_or_else(|p| p.into_inner())),
        push_latency_histogram: latency(req("POST push")),
        login_latency: latency(req("POST sign in")),
        pull_latency: latency(req("GET first pull")),
    };
    println!("load summary: {}", serde_json::to_string(&summary).unwrap_or_default());
    if let Ok(path) = std::env::var("LOAD_SUMMARY") {
        if let Err(e) = std::fs::write(&path, serde_json::to_string_pretty(&summary).unwrap_or_default()) {
            eprintln!("load: cannot write {path}: {e}");
        }
    }
    Ok(())
}
