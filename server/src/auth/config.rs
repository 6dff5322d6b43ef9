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
    /// Failures for one name from one client (CJIS AC-7's "node") that lock that name on that
    /// client, whether or not the name exists.
    pub lock_after_failures: i64,
    /// Consecutive failures for an account from all clients together that lock the account
    /// everywhere and alert the administrators (a stranger's five tries must not keep an officer
    /// out of the field; a spread-out guessing attack still stops).
    pub account_lock_after_failures: i64,
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
            account_lock_after_failures: 50,
            lockout: Duration::from_secs(10 * 60),
            failures_per_minute: 10,
            device_keep: Duration::from_secs(12 * 3600),
            secure_cookie: true,
            trust_proxy: false,
        }
    }
}

/// Sign-in failures in a sliding window, per key: the last minute per address and per name (the
/// rate limit), and the lockout's length per client and name (the per-client lock). In memory: a
/// restart forgets them, which the account-wide lockout in the Data Bodega does not.
#[derive(Debug)]
pub struct FailureWindow {
    recent: Mutex<HashMap<String, VecDeque<Instant>>>,
    window: Duration,
}

impl Default for FailureWindow {
    /// The rate limit's one minute.
    fn default() -> Self {
        Self::new(Duration::from_secs(60))
    }
}

impl FailureWindow {
    /// A window of `window`.
    pub fn new(window: Duration) -> Self {
        Self { recent: Mutex::new(HashMap::new()), window }
    }

    /// Forgets `key`'s failures (a successful sign-in).
    pub fn clear(&self, key: &str) {
        self.recent.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
    }

    /// Seconds to wait when `key` already has `limit` failures in the window.
    pub fn retry_after(&self, key: &str, limit: usize) -> Option<u64> {
        let mut map = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let q = map.get_mut(key)?;
        while q.front().is_some_and(|t| now.duration_since(*t) >= self.window) {
            q.pop_front();
        }
        if q.len() >= limit {
            let oldest = *q.front()?;
            Some((self.window.saturating_sub(now.duration_since(oldest))).as_secs().max(1))
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
            map.retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) < self.window));
        }
        map.entry(key.to_string()).or_default().push_back(Instant::now());
    }
}

/// What the auth routes share.
#[derive(Debug, Clone)]
pub struct AuthState {
    /// Settings.
    pub config: AuthConfig,
    /// Recent failures (the rate limit).
    pub failures: Arc<FailureWindow>,
    /// Failures per client and name over the lockout's length (the per-client lock).
    pub client_locks: Arc<FailureWindow>,
}

impl AuthState {
    /// State for these settings.
    pub fn new(config: AuthConfig) -> Self {
        let client_locks = Arc::new(FailureWindow::new(config.lockout));
        AuthState { config, failures: Arc::new(FailureWindow::default()), client_locks }
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
