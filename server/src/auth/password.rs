//! Passwords (argon2id on a blocking thread, a decoy hash for unknown names), the second factor
//! (TOTP), and the turns that bound how many sign-ins are checked at once.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

fn argon2() -> Argon2<'static> {
    // OWASP Password Storage Cheat Sheet: argon2id, m = 19 MiB, t = 2, p = 1.
    #[allow(clippy::unwrap_used)] // constant, valid parameters
    let params = Params::new(19_456, 2, 1, None).unwrap();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Checks a new password: at least 8 characters (15 recommended), at most 128; no composition
/// rules (ASVS 6.2).
///
/// # Errors
/// A sentence saying what is wrong.
pub fn check_new_password(password: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < 8 {
        return Err("a password needs at least 8 characters (15 or more is better)".into());
    }
    if n > 128 {
        return Err("a password may have at most 128 characters".into());
    }
    Ok(())
}

/// Hashes a password with argon2id on a blocking thread.
///
/// # Errors
/// When hashing fails (it does not for valid input).
pub async fn hash_password(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        argon2().hash_password(password.as_bytes(), &salt).map(|h| h.to_string())
    })
    .await?
    .map_err(|e| anyhow::anyhow!("hashing the password failed: {e}"))
}

/// The letters a temporary password is made of: no 0/O, 1/l/i, which a person reading it aloud
/// or copying it by hand would confuse.
const TEMPORARY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// A temporary password an administrator hands over in person — four groups of four from
/// [`TEMPORARY_ALPHABET`] (31^16, about 79 bits, from the operating system's generator) — and
/// its argon2id hash.
///
/// # Errors
/// When hashing fails.
pub fn temporary_password() -> app::context::MadePassword {
    use argon2::password_hash::rand_core::RngCore;
    let mut bytes = [0u8; 64];
    OsRng.fill_bytes(&mut bytes);
    // Rejection sampling: bytes at or past the largest multiple of the alphabet's size are
    // skipped, so every letter is equally likely.
    let n = TEMPORARY_ALPHABET.len();
    let limit = (256 / n * n) as u8;
    let letters: Vec<char> =
        bytes.iter().filter(|b| **b < limit).map(|b| TEMPORARY_ALPHABET[*b as usize % n] as char).take(16).collect();
    Box::pin(async move {
        if letters.len() < 16 {
            return Err("the random generator gave too few usable bytes; try again".to_string());
        }
        let password = letters.chunks(4).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join("-");
        let hash = hash_password(password.clone()).await.map_err(|e| e.to_string())?;
        Ok((password, hash))
    })
}

/// A hash of a random password, verified against when the name is unknown so that the answer
/// takes as long as for a real account.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        argon2().hash_password(b"no such account, no such password", &salt).map(|h| h.to_string()).unwrap_or_default()
    })
}

/// How many sign-ins are checked at once: twice the cores (each argon2id check takes 19 MiB and
/// a core for tens of milliseconds). More wait their turn, holding next to nothing.
pub fn sign_in_turns() -> usize {
    2 * std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// A turn to check one sign-in. The rate limits and the account lock are read with the turn held
/// and a failure is recorded before it is released, so a burst of parallel guesses gets no more
/// tries than the same guesses one after another, beyond the few checked at once.
pub(crate) async fn sign_in_turn() -> Option<tokio::sync::SemaphorePermit<'static>> {
    static TURNS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    TURNS.get_or_init(|| tokio::sync::Semaphore::new(sign_in_turns())).acquire().await.ok()
}

pub(crate) async fn verify_password(password: String, hash: Option<String>) -> bool {
    let known = hash.is_some();
    let hash = hash.unwrap_or_else(|| decoy_hash().to_string());
    let ok = tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash).map(|h| argon2().verify_password(password.as_bytes(), &h).is_ok()).unwrap_or(false)
    })
    .await
    .unwrap_or(false);
    ok && known
}

pub(crate) fn verify_totp(secret_base32: &str, code: &str) -> bool {
    let Ok(bytes) = totp_rs::Secret::Encoded(secret_base32.to_string()).to_bytes() else {
        return false;
    };
    match totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, bytes) {
        Ok(totp) => totp.check_current(code.trim()).unwrap_or(false),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn a_temporary_password_is_four_groups_of_unambiguous_letters_and_verifies() {
        let (password, hash) = super::temporary_password().await.expect("made");
        assert_eq!(password.len(), 19, "{password}");
        let groups: Vec<&str> = password.split('-').collect();
        assert_eq!(groups.len(), 4);
        assert!(groups.iter().all(|g| g.len() == 4 && g.bytes().all(|b| super::TEMPORARY_ALPHABET.contains(&b))));
        assert!(super::verify_password(password.clone(), Some(hash)).await);
        assert_ne!(super::temporary_password().await.expect("made").0, password, "a new one each time");
    }

    use super::*;

    #[test]
    fn passwords_are_checked_for_length_only() {
        assert!(check_new_password("short").is_err());
        assert!(check_new_password("correct horse battery staple").is_ok());
        assert!(check_new_password(&"x".repeat(129)).is_err());
    }
}
