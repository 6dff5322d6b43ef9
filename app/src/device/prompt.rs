//! What the device asks and says on every screen: the PIN (chosen after the first sign-in on a
//! device; asked with no signal after a reload or the idle lock) and the sync status line.

use leptos::prelude::*;

use super::{vault, FieldStore, Vault};

/// The PIN screens: choose the PIN after the first sign-in on a device, and open the locked
/// store with it when there is no signal.
#[component]
pub fn VaultPrompt() -> impl IntoView {
    let field = expect_context::<FieldStore>();
    let pin = RwSignal::new(String::new());
    let again = RwSignal::new(String::new());
    let message = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let choose = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Vault::ChoosePin(user) = field.vault.get_untracked() else { return };
        let (p, q) = (pin.get_untracked(), again.get_untracked());
        if let Err(e) = vault::check_pin(&p) {
            message.set(Some(e));
            return;
        }
        if p != q {
            message.set(Some("The two PINs differ.".into()));
            return;
        }
        busy.set(true);
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            match vault::browser::set_pin(&user, &p).await {
                Ok(()) => {
                    pin.set(String::new());
                    again.set(String::new());
                    message.set(None);
                    field.vault.set(Vault::Open);
                }
                Err(e) => message.set(Some(e)),
            }
            busy.set(false);
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = user;
    };
    let unlock = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Vault::Locked(user) = field.vault.get_untracked() else { return };
        let p = pin.get_untracked();
        busy.set(true);
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            match vault::browser::open_with_pin(&user, &p).await {
                Ok(()) => {
                    pin.set(String::new());
                    message.set(None);
                    field.vault.set(Vault::Open);
                    field.load(None, &user, "").await;
                }
                Err(e) => message.set(Some(e.to_string())),
            }
            busy.set(false);
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = (user, p);
    };
    let pin_input = move |label: &'static str, value: RwSignal<String>, testid: &'static str| {
        view! {
            <label>{label}
                <input type="password" inputmode="numeric" autocomplete="off" maxlength="8" data-testid=testid
                    prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev))/>
            </label>
        }
    };
    // Which state the store is in, for tests and support ("open", "choose_pin", …).
    let state = move || match field.vault.get() {
        Vault::Unknown => "unknown",
        Vault::Open => "open",
        Vault::ChoosePin(_) => "choose_pin",
        Vault::Locked(_) => "locked",
        Vault::Unavailable(_) => "unavailable",
    };
    view! {
        <span hidden data-testid="vault-state" data-state=state></span>
        {move || match field.vault.get() {
            Vault::ChoosePin(_) => view! {
                <form class="vault-prompt" role="dialog" aria-labelledby="vault-title" data-testid="choose-pin" on:submit=choose>
                    <h2 id="vault-title">"Choose a PIN for this device"</h2>
                    <p class="hint">"4 to 8 digits. With no signal, after a reload or 30 minutes idle, the PIN opens Beatbook on this device. Your missions and unsynced work stay encrypted until then."</p>
                    {pin_input("PIN", pin, "pin")}
                    {pin_input("The same PIN again", again, "pin-again")}
                    <button type="submit" class="primary" disabled=move || busy.get()>{move || if busy.get() { "Saving…" } else { "Set PIN" }}</button>
                    {move || message.get().map(|m| view! { <p class="error" role="alert">{m}</p> })}
                </form>
            }.into_any(),
            Vault::Locked(user) => view! {
                <form class="vault-prompt" role="dialog" aria-labelledby="vault-title" data-testid="unlock" on:submit=unlock>
                    <h2 id="vault-title">"Beatbook is locked"</h2>
                    <p class="hint">{format!("Enter {user}'s PIN to open this device's missions, or sign in with signal.")}</p>
                    {pin_input("PIN", pin, "pin")}
                    <button type="submit" class="primary" disabled=move || busy.get()>{move || if busy.get() { "Opening…" } else { "Unlock" }}</button>
                    <a href="/signin">"Sign in instead"</a>
                    {move || message.get().map(|m| view! { <p class="error" role="alert" data-testid="unlock-message">{m}</p> })}
                </form>
            }.into_any(),
            Vault::Unavailable(e) => view! {
                <p class="error vault-error" role="alert">{format!("This device's store did not open: {e}")}</p>
            }.into_any(),
            _ => ().into_any(),
        }}
    }
    .into_any()
}

/// The sync status: what is waiting, when the last sync went through, what failed and why.
#[component]
pub fn SyncStatus() -> impl IntoView {
    let field = expect_context::<FieldStore>();
    let text = move || {
        field.state.with(|s| {
            s.as_ref().map(|s| {
                let pending = s.outbox.len();
                let waiting = match pending {
                    0 => "All changes synced".to_string(),
                    1 => "1 change waiting to sync".to_string(),
                    n => format!("{n} changes waiting to sync"),
                };
                let last = s
                    .last_sync_ms
                    .map(|ms| format!(" · last sync {}", crate::format::clock_time(ms)))
                    .unwrap_or_default();
                let error = s.last_error.as_ref().map(|e| format!(" · {e}")).unwrap_or_default();
                // Why nothing moves: the work waits on the device until the server answers.
                let held = match crate::net::connectivity::state() {
                    _ if pending == 0 => "",
                    crate::net::connectivity::Connectivity::Online => "",
                    crate::net::connectivity::Connectivity::NoSignal => " · kept on this device until there is signal",
                    crate::net::connectivity::Connectivity::Unreachable => {
                        " · kept on this device until the server can be reached"
                    }
                };
                (pending, format!("{waiting}{last}{held}{error}"))
            })
        })
    };
    view! {
        {move || text().map(|(pending, t)| {
            let waiting = pending > 0;
            view! {
            <p class="sync-status" class:pending=waiting role="status" data-testid="sync-status" data-pending=pending.to_string()>
                {t}
                <button type="button" class="link" on:click=move |_| field.sync()>"Sync now"</button>
            </p>
            }
        })}
    }
}
