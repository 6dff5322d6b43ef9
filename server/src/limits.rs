//! Rate limits the server keeps in memory: requests per signed-in user and device per minute
//! on the sync routes. (Sign-in failures have their own window: `auth::config::FailureWindow`.)

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Requests per device per minute (push and pull together). A device syncing after every write,
/// on every wake and on a back-off timer stays far below it.
pub const SYNC_REQUESTS_PER_MINUTE: u32 = 240;

/// A fixed one-minute window per key.
#[derive(Debug, Default)]
pub struct SyncLimiter {
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

impl SyncLimiter {
    /// Counts a request; returns the seconds to wait when over the limit.
    pub fn check(&self, key: &str) -> Option<u64> {
        let mut map = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if map.len() > 100_000 {
            map.retain(|_, (start, _)| now.duration_since(*start) < Duration::from_secs(60));
        }
        let entry = map.entry(key.to_string()).or_insert((now, 0));
        if now.duration_since(entry.0) >= Duration::from_secs(60) {
            *entry = (now, 0);
        }
        entry.1 += 1;
        (entry.1 > SYNC_REQUESTS_PER_MINUTE).then(|| 60u64.saturating_sub(now.duration_since(entry.0).as_secs()).max(1))
    }
}
