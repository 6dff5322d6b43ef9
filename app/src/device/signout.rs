//! Signing out of a device that may hold unsynced work (docs/SYNC.md, "Logout and wipe").
//!
//! - Nothing waiting: the device store is wiped for the user (missions, hot-spot inputs, the city
//!   overview), the session is ended on the server, and the sign-in screen shows.
//! - Work waiting: sign-out is refused with the count and a "Sync now" button.
//! - Work waiting and no signal: a supervisor (a sergeant of the officer's districts, or command)
//!   can enter their override code. The device checks it offline against the PBKDF2 verifier it
//!   was sent (never the code); five wrong codes close the override until the next sign-in. The
//!   work stays on the device for its author's next sign-in, which reports the override (both
//!   names go into the audit log) and then pushes it.

use leptos::prelude::*;

use super::FieldStore;

/// Wrong override codes before the override closes.
pub const OVERRIDE_TRIES: u32 = 5;

/// The "Sign out" button and, when there is unsynced work, the panel that explains why not.
#[component]
pub fn SignOut() -> impl IntoView {
    let field = expect_context::<FieldStore>();
    let open = RwSignal::new(false);
    let message = RwSignal::new(None::<String>);
    let supervisor = RwSignal::new(String::new());
    let code = RwSignal::new(String::new());
    let tries = RwSignal::new(0u32);
    let checking = RwSignal::new(false);
    let pending = move || field.state.with(|s| s.as_ref().map_or(0, |s| s.outbox.len()));
    let closed = move || checking.get() || tries.get() >= OVERRIDE_TRIES;
    let supervisors = move || field.cache.with(|c| c.as_ref().map(|c| c.supervisors.clone()).unwrap_or_default());

    let sign_out = move |ev: leptos::ev::SubmitEvent| {
        // Without the app running (before hydration) the form posts as usual.
        ev.prevent_default();
        // What this page shows may be stale (a second tab); the stored state decides.
        message.set(None);
        wipe_and_leave(field, open, message, pending());
    };

    let override_out = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if tries.get_untracked() >= OVERRIDE_TRIES || checking.get_untracked() {
            return;
        }
        let who = supervisor.get_untracked();
        let Some(v) = supervisors().into_iter().find(|v| v.username == who) else {
            message.set(Some("Choose the supervisor who is signing you out.".into()));
            return;
        };
        let typed = code.get_untracked();
        checking.set(true);
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let derived = super::vault::browser::pbkdf2_hex(&typed, &v.salt, v.iterations).await;
            checking.set(false);
            match derived {
                Ok(d) if d == v.verifier => {
                    let now = (js_sys::Date::now() / 1000.0) as i64;
                    let n = pending() as u32;
                    let held = super::state::Held { supervisor: v.username.clone(), at: now, pending: n };
                    // The work stays (saved with the note of who let it wait); the device
                    // forgets the user as its current one, so the next person sees none of it.
                    if let Err(e) = field.hold(held).await {
                        message.set(Some(format!("Not signed out: the device could not save: {e}")));
                        return;
                    }
                    let _ = super::store::forget_last_user().await;
                    field.state.set(None);
                    field.cache.set(None);
                    let _ = super::client::end_session().await;
                    go_to_sign_in();
                }
                Ok(_) => {
                    tries.update(|t| *t += 1);
                    let left = OVERRIDE_TRIES.saturating_sub(tries.get_untracked());
                    message.set(Some(if left == 0 {
                        "Too many wrong codes: the override is closed. Sync when there is signal.".into()
                    } else {
                        format!("That code is not right ({left} tries left).")
                    }));
                }
                Err(e) => message.set(Some(format!("The code could not be checked here: {e}"))),
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = (typed, v);
    };

    view! {
        <form method="post" action="/api/auth/logout" on:submit=sign_out class="signout">
            <button type="submit" class="link" data-testid="sign-out">"Sign out"</button>
        </form>
        <Show when=move || open.get()>
            <div class="signout-panel" role="alertdialog" aria-labelledby="signout-title" data-testid="signout-panel">
                <h2 id="signout-title">"Not signed out"</h2>
                <p>{move || match pending() {
                    0 => "Everything has reached the server: you can sign out now.".to_string(),
                    1 => "1 change on this device has not reached the server yet. Signing out would leave it behind.".to_string(),
                    n => format!("{n} changes on this device have not reached the server yet. Signing out would leave them behind."),
                }}</p>
                <p class="actions">
                    <button type="button" on:click=move |_| field.sync()>"Sync now"</button>
                    <button type="button" class="link" on:click=move |_| open.set(false)>"Stay signed in"</button>
                </p>
                <Show when=move || pending() != 0>
                    <form class="override" on:submit=override_out>
                        <p class="hint">"No signal? A supervisor can sign you out with their override code. Your changes stay on this device and sync at your next sign-in."</p>
                        <label>"Supervisor"
                            <select on:change=move |ev| supervisor.set(event_target_value(&ev)) data-testid="override-supervisor">
                                <option value="">"Choose…"</option>
                                {move || supervisors().into_iter().map(|v| view! {
                                    <option value=v.username.clone()>{v.display_name.clone()}</option>
                                }).collect_view()}
                            </select>
                        </label>
                        <label>"Override code"
                            <input type="password" autocomplete="off" inputmode="text" maxlength="16"
                                data-testid="override-code"
                                prop:value=move || code.get() on:input=move |ev| code.set(event_target_value(&ev))/>
                        </label>
                        <button type="submit" disabled=closed>
                            {move || if checking.get() { "Checking…" } else { "Sign out with override" }}
                        </button>
                    </form>
                </Show>
                {move || message.get().map(|m| view! { <p class="error" role="alert" data-testid="signout-message">{m}</p> })}
            </div>
        </Show>
    }
    .into_any()
}

/// Clears the device for the user unless work waits (a second tab's included), ends the
/// session, and goes to sign-in.
fn wipe_and_leave(field: FieldStore, open: RwSignal<bool>, message: RwSignal<Option<String>>, shown: usize) {
    #[cfg(feature = "hydrate")]
    leptos::task::spawn_local(async move {
        match field.wipe_for_sign_out().await {
            Ok(None) => {}
            Ok(Some(waiting)) => {
                if shown == 0 {
                    // This page showed nothing waiting: the work is another window's.
                    let changes = if waiting == 1 { "1 change".to_string() } else { format!("{waiting} changes") };
                    message.set(Some(format!(
                        "Another window of Beatbook saved {changes} that {} not reached the server yet.",
                        if waiting == 1 { "has" } else { "have" }
                    )));
                }
                open.set(true);
                return;
            }
            Err(e) => {
                message.set(Some(format!("This device could not be cleared: {e}")));
                open.set(true);
                return;
            }
        }
        field.state.set(None);
        field.cache.set(None);
        let _ = super::client::end_session().await;
        go_to_sign_in();
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = (field, open, message, shown);
}

#[cfg(feature = "hydrate")]
fn go_to_sign_in() {
    if let Some(w) = web_sys::window() {
        let _ = w.location().assign("/signin");
    }
}

/// For supervisors: a new override code, shown once (the previous one stops working on each
/// device at its next refresh).
#[component]
pub fn OverrideCode() -> impl IntoView {
    let code = RwSignal::new(None::<Result<String, String>>);
    let issue = move |_| {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let answer = crate::net::fetch_json("POST", "/api/auth/override-code", Some("{}".into())).await;
            code.set(Some(match answer {
                Ok((200, text)) => serde_json::from_str::<serde_json::Value>(&text)
                    .ok()
                    .and_then(|v| v["code"].as_str().map(str::to_string))
                    .ok_or_else(|| "the answer did not read".to_string()),
                Ok((status, _)) => Err(format!("refused ({status})")),
                Err(e) => Err(e),
            }));
        });
    };
    view! {
        <button type="button" class="link" data-testid="override-code-button" on:click=issue>"Override code"</button>
        {move || code.get().map(|c| view! {
            <div class="signout-panel" role="dialog" aria-labelledby="override-title" data-testid="override-code-panel">
                <h2 id="override-title">"Your override code"</h2>
                {match c {
                    Ok(c) => view! {
                        <p class="code" data-testid="override-code-value">{c}</p>
                        <p class="hint">"Shown once. Enter it on an officer's device to sign them out with work waiting and no signal; their devices learn it at their next sync. A new code replaces this one."</p>
                    }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">{format!("No code: {e}")}</p> }.into_any(),
                }}
                <button type="button" on:click=move |_| code.set(None)>"Done"</button>
            </div>
        })}
    }
    .into_any()
}
