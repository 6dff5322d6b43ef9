//! What the load tool's two binaries share: how simulated device `i` is named, and the summary
//! the goose run hands to the count.
//!
//! - `load` (goose): every goose user is one device. It signs in as its own officer account,
//!   pulls, waits until every device has signed in, pushes [`MUTATIONS`] breadcrumb mutations in
//!   batches of [`BATCH`], then pulls again and checks `last_seq`.
//! - `seed`: creates the officer accounts before a run (`seed users`) and counts the Data Bodega
//!   after it (`seed count`): lost and doubled mutations and fixes, and the figures.

use serde::{Deserialize, Serialize};

/// Mutations each device pushes.
pub const MUTATIONS: u64 = 20;
/// Mutations per push.
pub const BATCH: u64 = 5;
/// GPS fixes in each breadcrumb mutation.
pub const FIXES_PER_MUTATION: u64 = 3;
/// The password every load account shares.
pub const DEFAULT_PASSWORD: &str = "load-test-password-1";

/// Sign-in name of device `i` (0-based).
pub fn username(i: usize) -> String {
    format!("load.officer{:04}", i + 1)
}

/// Device id of device `i` (a UUID, as a browser install would make).
pub fn device_id(i: usize) -> String {
    format!("10ad0000-0000-4000-8000-{:012x}", i + 1)
}

/// Latency percentiles, milliseconds (goose's per-request metrics).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Latency {
    /// Requests measured.
    pub count: usize,
    /// Median.
    pub p50: usize,
    /// 95th percentile.
    pub p95: usize,
    /// 99th percentile.
    pub p99: usize,
    /// Slowest.
    pub max: usize,
    /// Mean.
    pub mean: f64,
}

/// What the goose run measured, written as JSON for `seed count`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunSummary {
    /// `burst` (every device pushes as fast as it can) or `paced`.
    pub mode: String,
    /// Target mutations per second in paced mode (0 in burst mode).
    pub target_rate: f64,
    /// Devices (goose users).
    pub devices: usize,
    /// Devices that signed in and pulled.
    pub signed_in: usize,
    /// Seconds from the first sign-in to the last device at the start line.
    pub sign_in_seconds: f64,
    /// Seconds from the start line (every device signed in) to the last push answered.
    pub push_seconds: f64,
    /// Pushes answered 200.
    pub pushes_ok: usize,
    /// Pushes that failed (non-200, transport error or an outcome other than applied).
    pub pushes_failed: usize,
    /// Pushes sent again after a transient failure (the outbox's retry).
    pub push_retries: usize,
    /// Mutations the push answers reported applied.
    pub applied_reported: u64,
    /// Devices whose final pull said `last_seq` = [`MUTATIONS`].
    pub final_last_seq_ok: usize,
    /// Paced mode: the most a push started after its scheduled time (the server fell behind).
    pub max_schedule_lag_ms: f64,
    /// Push latency: every push's response time as goose measured it (ms).
    pub push_latency: Latency,
    /// The same from goose's per-request histogram (what its report shows; rounded above 100 ms).
    pub push_latency_histogram: Latency,
    /// Sign-in latency (argon2id; not part of the push figures).
    pub login_latency: Latency,
    /// Pull latency.
    pub pull_latency: Latency,
}
