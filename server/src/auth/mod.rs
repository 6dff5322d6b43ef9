//! Sign-in, sessions and the request guards around every route.
//!
//! - **Local sign-in** (`POST /api/auth/login`, JSON or form: `username`, `password`, optional
//!   `totp`, `device_id`): argon2id (OWASP parameters m = 19 456 KiB, t = 2, p = 1), verified on a
//!   blocking thread; an unknown name costs the same hash as a wrong password. Five consecutive
//!   failures lock the account for ten minutes (CJIS AC-7); more than ten failures in a minute
//!   from one address or for one name answer 429 with `Retry-After` before any hash is computed.
//! - **Sessions** live in the Data Bodega (`sessions`): the cookie carries 256 random bits, the
//!   table only their SHA-256. Every sign-in issues a new token and ends the one presented
//!   (no fixation). A session locks after the idle limit (default 30 minutes) and ends at its
//!   absolute lifetime (default 12 hours, one shift). The cookie is `HttpOnly`, `SameSite=Lax`
//!   and `Secure` (configurable for plain-HTTP test rigs); nothing goes into `localStorage`.
//! - **Guards** ([`session::session_layer`], [`headers::csrf_layer`], [`headers::security_headers`]): resolve the caller
//!   for the handlers, refuse cross-site state changes (Fetch Metadata and `Origin` checks, the
//!   OWASP "verify origin with standard headers" defence on top of SameSite), and send a strict
//!   nonce-based Content-Security-Policy with `frame-ancestors 'none'` and, behind TLS, HSTS.

//!
//! Rooms: [`config`] (settings and the failure window), [`password`] (argon2id, TOTP, sign-in
//! turns), [`token`] (session tokens and cookies), [`csp`] (the Content-Security-Policy),
//! [`session`] (the session layer and the page guard), [`headers`] (CSRF and security headers),
//! [`login`] (the sign-in and sign-out routes).

pub mod config;
pub mod csp;
pub mod headers;
pub mod login;
pub mod password;
pub mod session;
pub mod token;

/// Percent-encodes a path for a `?next=` or `?error=` query (slashes kept).
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Where to go after signing in: a path on this site, else `/`. Browsers drop tabs and line
/// breaks when they parse a `Location` (`/\t/evil.example` becomes `//evil.example`, another
/// site), so no control character or space gets through, nor `//` or a backslash.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.chars().any(|c| c.is_control() || c.is_whitespace())
                && n.len() < 200 =>
        {
            n.to_string()
        }
        _ => "/".into(),
    }
}
