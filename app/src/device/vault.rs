//! The device store's encryption: what an officer's phone keeps for its user (missions, outbox,
//! notes, breadcrumbs, the district's hot-spot inputs) is encrypted with AES-GCM under a data key that exists unwrapped
//! only in the memory of an open, unlocked app, as a non-extractable WebCrypto key.
//!
//! At rest the device holds the data key twice, wrapped (AES-GCM) — never in the clear:
//! - by the device's **server-held key** (`POST /api/device/key`, handed only to a signed-in
//!   session of the device's owner): signing in with signal opens the store;
//! - by a key derived from the officer's **PIN** (PBKDF2-HMAC-SHA256, 600,000 iterations): with
//!   no signal, after a reload or the idle lock, the PIN opens it. [`PIN_TRIES`] wrong PINs drop
//!   this copy, and only a signed-in session opens the store again. Unsynced work is never
//!   destroyed by a lock: it stays encrypted until one of the two keys opens it.
//!
//! Stored values of the sealed keys are `{"sealed":1,"iv":…,"ct":…}` (hex); the key record
//! (`device-keys:{user}`) holds only wrapped material and the device id.

use serde::{Deserialize, Serialize};

/// Wrong PINs before the PIN-wrapped copy is dropped.
pub const PIN_TRIES: u32 = 5;
/// PBKDF2 iterations of the PIN (OWASP's 2023 figure for PBKDF2-HMAC-SHA256).
pub const PIN_ITERATIONS: u32 = 600_000;

/// AES-GCM ciphertext with its nonce, hex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed {
    /// 12-byte nonce.
    pub iv: String,
    /// Ciphertext and tag.
    pub ct: String,
}

/// The data key wrapped by a PIN-derived key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinWrap {
    /// PBKDF2 salt, hex.
    pub salt: String,
    /// PBKDF2 iterations.
    pub iterations: u32,
    /// The wrapped key.
    pub key: Sealed,
}

/// What the device keeps, unencrypted, to open its store.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRecord {
    /// This install's id for this user.
    pub device_id: String,
    /// The data key wrapped by the server-held key.
    pub server: Option<Sealed>,
    /// The data key wrapped by the PIN, until too many wrong PINs drop it.
    pub pin: Option<PinWrap>,
    /// Wrong PINs since the last right one.
    pub pin_failures: u32,
}

/// Why the PIN did not open the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinError {
    /// Wrong; this many tries left.
    Wrong(u32),
    /// No PIN copy (never set, or dropped after too many wrong PINs): sign in with signal.
    NoPin,
    /// The device refused (storage, crypto).
    Device(String),
}

impl std::fmt::Display for PinError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PinError::Wrong(0) | PinError::NoPin => f.write_str(
                "This device can no longer be opened with a PIN: sign in with signal. Unsynced work is kept.",
            ),
            PinError::Wrong(1) => f.write_str("Wrong PIN (1 try left)."),
            PinError::Wrong(n) => write!(f, "Wrong PIN ({n} tries left)."),
            PinError::Device(e) => write!(f, "The device could not open its store: {e}"),
        }
    }
}

/// A PIN is 4 to 8 digits.
///
/// # Errors
/// What is wrong with it, in words.
pub fn check_pin(pin: &str) -> Result<(), String> {
    if (4..=8).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err("A PIN is 4 to 8 digits.".into())
    }
}

/// Which stored values are sealed: everything kept for a user (missions, outbox, notes, the
/// district's hot-spot inputs). Not sealed: the city overview (citywide counts per 250 m cell,
/// what every signed-in role sees, so the app's front page opens with no signal and no PIN),
/// the last user's name, and the key records (wrapped keys only).
pub fn is_sealed_key(key: &str) -> bool {
    key.starts_with("field-state:") || key.starts_with("field-cache:")
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Bytes from hex (`None` for odd length or a non-hex digit).
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len() / 2).map(|i| u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()).collect()
}

/// Browser side (WebCrypto, IndexedDB).
#[cfg(feature = "hydrate")]
pub mod browser {
    use std::cell::RefCell;

    use js_sys::{Array, Object, Reflect, Uint8Array};
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;
    use web_sys::{CryptoKey, SubtleCrypto};

    use super::{hex, unhex, KeyRecord, PinError, PinWrap, Sealed, PIN_ITERATIONS, PIN_TRIES};

    thread_local! {
        /// The unwrapped data key (non-extractable), while the app is open and unlocked.
        static DATA_KEY: RefCell<Option<CryptoKey>> = const { RefCell::new(None) };
        /// The raw data key, held only between an online unlock and the PIN's setting.
        static RAW_FOR_PIN: RefCell<Option<Vec<u8>>> = const { RefCell::new(None) };
    }

    fn subtle() -> Result<SubtleCrypto, String> {
        Ok(web_sys::window().ok_or("no window")?.crypto().map_err(|_| "no WebCrypto")?.subtle())
    }

    fn err(e: JsValue) -> String {
        e.as_string()
            .or_else(|| Reflect::get(&e, &"message".into()).ok()?.as_string())
            .unwrap_or_else(|| format!("{e:?}"))
    }

    /// `n` random bytes from the browser's generator.
    pub fn random_bytes(n: usize) -> Vec<u8> {
        let mut b = vec![0u8; n];
        if let Some(c) = web_sys::window().and_then(|w| w.crypto().ok()) {
            let _ = c.get_random_values_with_u8_array(&mut b);
        }
        b
    }

    async fn import_aes(raw: &[u8], extractable: bool) -> Result<CryptoKey, String> {
        let usages = Array::of2(&"encrypt".into(), &"decrypt".into());
        let p = subtle()?
            .import_key_with_str("raw", &Uint8Array::from(raw), "AES-GCM", extractable, &usages)
            .map_err(err)?;
        JsFuture::from(p).await.map_err(err)?.dyn_into().map_err(|_| "not a key".to_string())
    }

    fn gcm(iv: &[u8]) -> Object {
        let params = Object::new();
        let _ = Reflect::set(&params, &"name".into(), &"AES-GCM".into());
        let _ = Reflect::set(&params, &"iv".into(), &Uint8Array::from(iv));
        params
    }

    async fn encrypt(key: &CryptoKey, plain: &[u8]) -> Result<Sealed, String> {
        let iv = random_bytes(12);
        let p = subtle()?.encrypt_with_object_and_u8_array(&gcm(&iv), key, plain).map_err(err)?;
        let ct = Uint8Array::new(&JsFuture::from(p).await.map_err(err)?).to_vec();
        Ok(Sealed { iv: hex(&iv), ct: hex(&ct) })
    }

    async fn decrypt(key: &CryptoKey, sealed: &Sealed) -> Result<Vec<u8>, String> {
        let (Some(iv), Some(ct)) = (unhex(&sealed.iv), unhex(&sealed.ct)) else {
            return Err("damaged ciphertext".into());
        };
        let p = subtle()?.decrypt_with_object_and_u8_array(&gcm(&iv), key, &ct).map_err(err)?;
        // A wrong key fails the tag check here.
        Ok(Uint8Array::new(&JsFuture::from(p).await.map_err(|_| "wrong key".to_string())?).to_vec())
    }

    /// `PBKDF2-HMAC-SHA256(secret, salt, iterations)`, 32 bytes.
    ///
    /// # Errors
    /// When WebCrypto is missing (an insecure origin) or refuses.
    pub async fn pbkdf2(secret: &str, salt: &[u8], iterations: u32) -> Result<Vec<u8>, String> {
        let subtle = subtle()?;
        let usages = Array::of1(&"deriveBits".into());
        let key = subtle
            .import_key_with_str("raw", &Uint8Array::from(secret.as_bytes()), "PBKDF2", false, &usages)
            .map_err(err)?;
        let key: CryptoKey = JsFuture::from(key).await.map_err(err)?.dyn_into().map_err(|_| "not a key".to_string())?;
        let params =
            web_sys::Pbkdf2Params::new("PBKDF2", &JsValue::from_str("SHA-256"), iterations, &Uint8Array::from(salt));
        let bits = subtle.derive_bits_with_object(&params, &key, 256).map_err(err)?;
        Ok(Uint8Array::new(&JsFuture::from(bits).await.map_err(err)?).to_vec())
    }

    /// `PBKDF2-HMAC-SHA256(code, salt, iterations)` by WebCrypto, hex: checks a supervisor's
    /// override code against its verifier with no signal.
    ///
    /// # Errors
    /// When WebCrypto is missing (an insecure origin) or refuses.
    pub async fn pbkdf2_hex(code: &str, salt_hex: &str, iterations: u32) -> Result<String, String> {
        let salt = super::unhex(salt_hex).ok_or("a malformed salt")?;
        let code: String = code.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_uppercase()).collect();
        Ok(super::hex(&pbkdf2(&code, &salt, iterations).await?))
    }

    /// A random UUID (v4) from the browser's cryptographic generator: device ids and the ids of
    /// missions made on this device.
    pub fn new_uuid() -> String {
        let mut b = [0u8; 16];
        b.copy_from_slice(&random_bytes(16));
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h = hex(&b);
        format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
    }

    /// Where `user`'s key record is kept (the device store's wipe deletes it with their data).
    pub(crate) fn record_key(user: &str) -> String {
        format!("device-keys:{user}")
    }

    /// The key record of `user` on this device, if any.
    ///
    /// # Errors
    /// When IndexedDB refuses.
    pub async fn record(user: &str) -> Result<Option<KeyRecord>, String> {
        Ok(super::super::idb::get_raw(&record_key(user)).await?.and_then(|j| serde_json::from_str(&j).ok()))
    }

    async fn save_record(user: &str, r: &KeyRecord) -> Result<(), String> {
        super::super::idb::put_raw(&record_key(user), serde_json::to_string(r).map_err(|e| e.to_string())?).await
    }

    /// True while the store is open.
    pub fn is_open() -> bool {
        DATA_KEY.with(|k| k.borrow().is_some())
    }

    /// True while a PIN is wanted for this online unlock.
    pub fn needs_pin() -> bool {
        RAW_FOR_PIN.with(|r| r.borrow().is_some())
    }

    /// Closes the store (the idle lock, sign-out): the data key leaves memory.
    pub fn lock() {
        DATA_KEY.with(|k| *k.borrow_mut() = None);
        RAW_FOR_PIN.with(|r| *r.borrow_mut() = None);
    }

    /// Why the store did not open with signal.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum OnlineOpenError {
        /// The server refused this device its key (revoked, or not this user's device): the
        /// PIN is not offered instead.
        Refused(String),
        /// The key could not be had or did not open the store (the signal went, a server
        /// error, a key that does not fit): the officer's PIN may still open it.
        Failed(String),
    }

    impl std::fmt::Display for OnlineOpenError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            match self {
                Self::Refused(e) | Self::Failed(e) => f.write_str(e),
            }
        }
    }

    async fn server_key(device_id: &str) -> Result<CryptoKey, OnlineOpenError> {
        use OnlineOpenError::{Failed, Refused};
        let body = serde_json::json!({ "device_id": device_id }).to_string();
        let (status, text) = crate::net::fetch_json("POST", "/api/device/key", Some(body)).await.map_err(Failed)?;
        match status {
            200 => {}
            // Another user's device, or a revoked one. (No session, a rate limit or a server
            // error is not a refusal of the device.)
            403 => return Err(Refused(format!("the server refused this device its key ({status})"))),
            _ => return Err(Failed(format!("the server gave no device key ({status})"))),
        }
        let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| Failed(e.to_string()))?;
        let raw = v["key"]
            .as_str()
            .and_then(unhex)
            .filter(|k| k.len() == 32)
            .ok_or_else(|| Failed("a malformed device key".into()))?;
        import_aes(&raw, false).await.map_err(Failed)
    }

    /// True when `user`'s key record on this device still holds a PIN-wrapped copy.
    pub async fn has_pin(user: &str) -> bool {
        record(user).await.ok().flatten().is_some_and(|r| r.pin.is_some())
    }

    /// Opens the store with signal, as a signed-in `user`: the server-held key unwraps the data
    /// key (made on this device's first sign-in). Returns the device id. Afterwards
    /// [`needs_pin`] says whether the officer still has to choose a PIN.
    ///
    /// # Errors
    /// [`OnlineOpenError::Refused`] when the server refuses the key (a revoked device);
    /// [`OnlineOpenError::Failed`] for no signal, a server error, a key that does not open the
    /// store, or the browser refusing.
    pub async fn open_online(user: &str, device_id_if_new: &str) -> Result<String, OnlineOpenError> {
        use OnlineOpenError::Failed;
        let mut r = record(user)
            .await
            .map_err(Failed)?
            .unwrap_or_else(|| KeyRecord { device_id: device_id_if_new.into(), ..Default::default() });
        let sk = server_key(&r.device_id).await?;
        let raw = match &r.server {
            Some(w) => {
                decrypt(&sk, w).await.map_err(|e| Failed(format!("the device key does not open this store: {e}")))?
            }
            None => {
                let raw = random_bytes(32);
                r.server = Some(encrypt(&sk, &raw).await.map_err(Failed)?);
                save_record(user, &r).await.map_err(Failed)?;
                raw
            }
        };
        let key = import_aes(&raw, false).await.map_err(Failed)?;
        DATA_KEY.with(|k| *k.borrow_mut() = Some(key));
        let pin_wanted = r.pin.is_none();
        RAW_FOR_PIN.with(|slot| *slot.borrow_mut() = pin_wanted.then_some(raw));
        Ok(r.device_id)
    }

    /// Sets the PIN that opens the store with no signal (after [`open_online`]).
    ///
    /// # Errors
    /// A PIN that is not 4–8 digits, no open store, or the device refused.
    pub async fn set_pin(user: &str, pin: &str) -> Result<(), String> {
        super::check_pin(pin)?;
        let raw = RAW_FOR_PIN.with(|r| r.borrow().clone()).ok_or("sign in with signal first")?;
        let mut r = record(user).await?.ok_or("no key record on this device")?;
        let salt = random_bytes(16);
        let kek = import_aes(&pbkdf2(pin, &salt, PIN_ITERATIONS).await?, false).await?;
        r.pin = Some(PinWrap { salt: hex(&salt), iterations: PIN_ITERATIONS, key: encrypt(&kek, &raw).await? });
        r.pin_failures = 0;
        save_record(user, &r).await?;
        RAW_FOR_PIN.with(|slot| *slot.borrow_mut() = None);
        Ok(())
    }

    /// Opens the store with the PIN, with no signal. A wrong PIN counts; the last allowed one
    /// drops the PIN copy.
    ///
    /// # Errors
    /// [`PinError`].
    pub async fn open_with_pin(user: &str, pin: &str) -> Result<(), PinError> {
        let mut r = record(user).await.map_err(PinError::Device)?.ok_or(PinError::NoPin)?;
        let Some(w) = r.pin.clone() else { return Err(PinError::NoPin) };
        let salt = unhex(&w.salt).ok_or(PinError::NoPin)?;
        let derived = pbkdf2(pin, &salt, w.iterations).await.map_err(PinError::Device)?;
        let kek = import_aes(&derived, false).await.map_err(PinError::Device)?;
        match decrypt(&kek, &w.key).await {
            Ok(raw) => {
                let key = import_aes(&raw, false).await.map_err(PinError::Device)?;
                DATA_KEY.with(|k| *k.borrow_mut() = Some(key));
                if r.pin_failures != 0 {
                    r.pin_failures = 0;
                    save_record(user, &r).await.map_err(PinError::Device)?;
                }
                Ok(())
            }
            Err(_) => {
                r.pin_failures += 1;
                let left = PIN_TRIES.saturating_sub(r.pin_failures);
                if left == 0 {
                    r.pin = None;
                }
                save_record(user, &r).await.map_err(PinError::Device)?;
                Err(PinError::Wrong(left))
            }
        }
    }

    /// Seals `plain` under the open data key: `{"sealed":1,"iv":…,"ct":…}`.
    ///
    /// # Errors
    /// The store is locked, or WebCrypto refused.
    pub async fn seal(plain: &str) -> Result<String, String> {
        let key = DATA_KEY.with(|k| k.borrow().clone()).ok_or("the device store is locked")?;
        let s = encrypt(&key, plain.as_bytes()).await?;
        Ok(serde_json::json!({ "sealed": 1, "iv": s.iv, "ct": s.ct }).to_string())
    }

    /// Opens a value sealed by [`seal`] (a value stored before sealing is returned as it is).
    ///
    /// # Errors
    /// The store is locked, or the value does not open with this key.
    pub async fn open(stored: String) -> Result<String, String> {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&stored) else { return Ok(stored) };
        if v.get("sealed").and_then(|s| s.as_u64()) != Some(1) {
            return Ok(stored);
        }
        let sealed = Sealed {
            iv: v["iv"].as_str().unwrap_or_default().to_string(),
            ct: v["ct"].as_str().unwrap_or_default().to_string(),
        };
        let key = DATA_KEY.with(|k| k.borrow().clone()).ok_or("the device store is locked")?;
        let plain = decrypt(&key, &sealed).await?;
        String::from_utf8(plain).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_are_four_to_eight_digits() {
        assert!(check_pin("2468").is_ok());
        assert!(check_pin("12345678").is_ok());
        assert!(check_pin("123").is_err());
        assert!(check_pin("123456789").is_err());
        assert!(check_pin("12a4").is_err());
    }

    #[test]
    fn what_is_sealed() {
        assert!(is_sealed_key("field-state:d2.officer1"));
        assert!(is_sealed_key("field-cache:d2.officer1"));
        assert!(!is_sealed_key("city-overview"));
        assert!(!is_sealed_key("field-last-user"));
        assert!(!is_sealed_key("device-keys:d2.officer1"));
        assert_eq!(unhex(&hex(&[0, 1, 254, 255])), Some(vec![0, 1, 254, 255]));
        assert_eq!(unhex("abc"), None);
        assert_eq!(PinError::Wrong(2).to_string(), "Wrong PIN (2 tries left).");
    }
}
