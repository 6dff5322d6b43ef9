//! The idle lock (CJIS AC-11) of open pages.

use leptos::prelude::*;

use super::{client, FieldStore, Vault};

/// The idle lock (CJIS AC-11): after the department's idle time (30 minutes) without a touch or
/// a key, the device store closes, and with signal the session ends as idle-locked and the page
/// goes to the sign-in screen (nothing a previous screen showed stays on view). With no signal
/// the PIN opens the store again; otherwise signing in does. Unsynced work stays sealed.
pub fn start(me: Resource<Option<crate::auth::Me>>, field: FieldStore) {
    let last_touch = StoredValue::new(js_sys::Date::now());
    let touch = move || last_touch.set_value(js_sys::Date::now());
    let a = window_event_listener(leptos::ev::pointerdown, move |_| touch());
    let b = window_event_listener(leptos::ev::keydown, move |_| touch());
    let session_locked = StoredValue::new(false);
    let tick = set_interval_with_handle(
        move || {
            let signed_in = me.get_untracked().flatten();
            let idle_s = signed_in.as_ref().map_or(1800, |m| m.idle_lock_seconds);
            let idle = (js_sys::Date::now() - last_touch.get_value()) / 1000.0;
            if idle < idle_s as f64 {
                return;
            }
            // Also before a PIN is chosen: the store then waits for a new sign-in.
            if matches!(field.vault.get_untracked(), Vault::Open | Vault::ChoosePin(_)) {
                field.lock_now();
            }
            // With signal, the session is locked too, as the server's own idle rule would lock
            // it: the live refreshes of an open crime view or dashboard keep it in use on the
            // server, so only the page knows nobody is there. Signing in again opens it all.
            let online = crate::net::connectivity::current().is_online();
            if signed_in.is_some() && online && !session_locked.get_value() {
                session_locked.set_value(true);
                leptos::task::spawn_local(async move {
                    let _ = client::end_session_idle().await;
                    if let Some(w) = web_sys::window() {
                        let here = w.location().pathname().unwrap_or_else(|_| "/".into());
                        let next: String = js_sys::encode_uri_component(&here).into();
                        let _ = w.location().assign(&format!("/signin?reason=idle&next={next}"));
                    }
                });
            }
        },
        std::time::Duration::from_secs(15),
    );
    on_cleanup(move || {
        a.remove();
        b.remove();
        if let Ok(t) = tick {
            t.clear();
        }
    });
}
