//! When the device loads its field state and syncs: at start (the signed-in user's store, or
//! with no signal the last user's once their PIN opens it), when the server can be reached
//! again, when the service worker's Background Sync ran, when the app becomes visible, and on a
//! back-off timer. Browser only.

use leptos::prelude::*;

use super::{idle, store, vault, worker, FieldStore, Vault};

/// Loads the field state (the signed-in user's, or offline the last user's) and syncs: on start,
/// when the signal returns, when the app becomes visible, and on a back-off timer.
pub fn start(me: Resource<Option<crate::auth::Me>>, field: FieldStore) {
    Effect::new(move |_| {
        let Some(me) = me.get() else { return };
        leptos::task::spawn_local(async move {
            match &me {
                // Signed in without a device to keep (administrators: no missions, no crime
                // data): no store is opened, nothing syncs, no key is asked for.
                Some(m) if !m.may(protocol::Action::SyncDevice) => {}
                // Signed in: the server-held key opens the store (made on first sign-in).
                Some(m) => {
                    let fresh = vault::browser::new_uuid();
                    match vault::browser::open_online(&m.username, &fresh).await {
                        Ok(device_id) => {
                            // Only a device that keeps field work (an officer's or a
                            // sergeant's missions, offline) asks for a PIN; command staff and
                            // analysts at a desk are never asked.
                            let field_work =
                                m.roles.iter().any(|r| matches!(r, protocol::Role::Officer | protocol::Role::Sergeant));
                            field.vault.set(if field_work && vault::browser::needs_pin() {
                                Vault::ChoosePin(m.username.clone())
                            } else {
                                Vault::Open
                            });
                            field.load(me.clone(), &m.username, &device_id).await;
                        }
                        // The key did not come or did not fit (the signal went between the
                        // two requests, a server error): the officer's PIN still opens the
                        // store. A refusal (a revoked device) is final.
                        Err(e) => {
                            leptos::logging::warn!("the device store did not open with signal: {e}");
                            let by_pin = matches!(e, vault::browser::OnlineOpenError::Failed(_))
                                && vault::browser::has_pin(&m.username).await;
                            field.vault.set(if by_pin {
                                Vault::Locked(m.username.clone())
                            } else {
                                Vault::Unavailable(e.to_string())
                            });
                        }
                    }
                }
                // No signal: the last user's store, once their PIN opens it.
                None => match store::last_user().await {
                    Ok(Some(user)) if vault::browser::is_open() => field.load(None, &user, "").await,
                    Ok(Some(user)) => field.vault.set(Vault::Locked(user)),
                    Ok(None) => {}
                    Err(e) => leptos::logging::warn!("the device store could not be read: {e}"),
                },
            }
        });
    });
    idle::start(me, field);
    worker::on_background_sync(move || field.sync());
    // Back online (Beatbook's `/healthz` answered): send what waits.
    Effect::new(move |was_online: Option<bool>| {
        let online = crate::net::connectivity::state().is_online();
        if online && was_online == Some(false) {
            field.sync();
        }
        online
    });
    let visible = window_event_listener(leptos::ev::visibilitychange, move |_| {
        let shown = web_sys::window()
            .and_then(|w| w.document())
            .is_some_and(|d| d.visibility_state() == web_sys::VisibilityState::Visible);
        if shown {
            field.sync();
        }
    });
    // Back-off: 30 s while things go through, up to 5 minutes while they do not.
    let delay = StoredValue::new(30u32);
    let tick = set_interval_with_handle(
        move || {
            let pending = field.state.with_untracked(|s| s.as_ref().is_some_and(|s| !s.outbox.is_empty()));
            let failing = field.state.with_untracked(|s| s.as_ref().is_some_and(|s| s.last_error.is_some()));
            let wait = delay.get_value();
            delay.set_value(if failing { (wait * 2).min(300) } else { 30 });
            if pending || !failing {
                field.sync();
            }
        },
        std::time::Duration::from_secs(30),
    );
    on_cleanup(move || {
        visible.remove();
        if let Ok(t) = tick {
            t.clear();
        }
    });
}
