//! Sign-in and session settings, and the in-memory window of recent sign-in failures.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "beatbook_session";

/// Sign-in and session settings.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Lock a session after this long without a request.
    pub idle_lock: Duration,
    /// End a session this long after sign-in, whatever happens (one shift).
    pub session_lifetime: Duration,
    /// Consecutive failures that lock an account.
    pub lock_after_failures: i64,
    /// How long a lockout lasts.
    pub lockout: Duration,
    /// Failures per minute from one address, or for one name, before sign-in answers 429.
    pub failures_per_minute: usize,
    /// Mark the cookie `Secure` (off only for plain-HTTP test rigs).
    pub secure_cookie: bool,
    /// Believe `X-Forwarded-For`/`X-Forwarded-Proto` (only behind a proxy you run).
    pub trust_proxy: bool,
    /// How long after the session's end a device's cached data stays readable.
    pub device_keep: Duration,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            idle_lock: Duration::from_secs(30 * 60),
            session_lifetime: Duration::from_secs(12 * 3600),
            lock_after_failures: 5,
            lockout: Duration::from_secs(10 * 60),
            failures_per_minute: 10,
            device_keep: Duration::from_secs(12 * 3600),
            secure_cookie: true,
            trust_proxy: false,
        }
    }
}

/// Sign-in failures in the last minute, per address and per name. In memory: a restart forgets
/// them, which the per-account lockout in the Data Bodega does not.
#[derive(Debug, Default)]
pub struct FailureWindow {
    recent: Mutex<HashMap<String, VecDeque<Instant>>>,
}

const WINDOW: Duration = Duration::from_secs(60);

impl FailureWindow {
    /// Seconds to wait when `key` already has `limit` failures in the window.
    pub fn retry_after(&self, key: &str, limit: usize) -> Option<u64> {
        let mut map = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let q = map.get_mut(key)?;
        while q.front().is_some_and(|t| now.duration_since(*t) >= WINDOW) {
            q.pop_front();
        }
        if q.len() >= limit {
            let oldest = *q.front()?;
            Some((WINDOW.saturating_sub(now.duration_since(oldest))).as_secs().max(1))
        } else {
            None
        }
    }

    /// Counts one failure for `key`.
    pub fn record(&self, key: &str) {
        let mut map = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 100_000 {
            // Bounded memory under a spray of distinct names: forget windows that have closed.
            let now = Instant::now();
            map.retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) < WINDOW));
        }
        map.entry(key.to_string()).or_default().push_back(Instant::now());
    }
}

/// What the auth routes share.
#[derive(Debug, Clone)]
pub struct AuthState {
    /// Settings.
    pub config: AuthConfig,
    /// Recent failures.
    pub failures: Arc<FailureWindow>,
}

impl AuthState {
    /// State for these settings.
    pub fn new(config: AuthConfig) -> Self {
        AuthState { config, failures: Arc::new(FailureWindow::default()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_window_counts_per_key_and_says_how_long_to_wait() {
        let w = FailureWindow::default();
        for _ in 0..10 {
            assert_eq!(w.retry_after("ip:1", 10), None);
            w.record("ip:1");
        }
        let wait = w.retry_after("ip:1", 10).expect("limited after ten failures");
        assert!((1..=60).contains(&wait), "{wait}");
        assert_eq!(w.retry_after("ip:2", 10), None, "other addresses are not affected");
    }
}
