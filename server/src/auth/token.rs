//! Session tokens (256 random bits; only their SHA-256 is stored) and the session cookie.

use std::time::Duration;

use argon2::password_hash::rand_core::OsRng;
use axum::http::{header, HeaderMap, HeaderValue};
use sha2::{Digest, Sha256};

use super::config::SESSION_COOKIE;

/// A new random session token (256 bits, hex).
pub fn new_token() -> String {
    use argon2::password_hash::rand_core::RngCore;
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The stored form of a token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub(crate) fn cookie_token(headers: &HeaderMap) -> Option<String> {
    cookie_value(headers, SESSION_COOKIE).filter(|v| v.len() == 64 && v.chars().all(|c| c.is_ascii_hexdigit()))
}

/// The value of cookie `name` in the request's `Cookie` headers, if any.
pub(crate) fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

pub(crate) fn session_cookie(token: &str, max_age: Duration, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let value =
        format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}", max_age.as_secs());
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("beatbook_session=; Max-Age=0"))
}

pub(crate) fn clearing_cookie(secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"))
        .unwrap_or_else(|_| HeaderValue::from_static("beatbook_session=; Max-Age=0"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_tokens_must_look_like_ours() {
        let mut h = HeaderMap::new();
        let t = new_token();
        h.insert(header::COOKIE, HeaderValue::from_str(&format!("a=b; {SESSION_COOKIE}={t}")).expect("header"));
        assert_eq!(cookie_token(&h), Some(t));
        h.insert(header::COOKIE, HeaderValue::from_static("beatbook_session=' OR 1=1 --"));
        assert_eq!(cookie_token(&h), None);
    }
}
