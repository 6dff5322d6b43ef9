//! The administrator's account and device screens: `/admin/users` (roles, districts,
//! deactivation, lockouts) and `/admin/devices` (revocation). Every change is audited by the
//! server functions in [`super`].

use leptos::prelude::*;
use leptos_meta::Title;
use protocol::Role;

use super::{
    list_accounts, list_devices, revoke_device, set_temporary_password, update_account, AccountChange, AccountRow,
    DeviceRow,
};
use crate::format::utc;

/// `/admin/users`: every account, each editable in place.
#[component]
pub fn AccountsPage() -> impl IntoView {
    let accounts = Resource::new(|| (), |_| list_accounts());
    let message = RwSignal::new(None::<Result<String, String>>);
    let save = Action::new(move |change: &AccountChange| {
        let change = change.clone();
        async move { update_account(change).await }
    });
    Effect::new(move |_| {
        if let Some(result) = save.value().get() {
            message.set(Some(match result {
                Ok(row) => Ok(format!("Saved {}.", row.username)),
                Err(e) => Err(e.to_string()),
            }));
            accounts.refetch();
        }
    });
    view! {
        <Title text="Accounts · Beatbook"/>
        <section class="page wide">
            <h1>"Accounts"</h1>
            <p class="hint">"Roles and districts decide what each person may see and do. Accounts that sign in with the department's identity provider get their roles from it at every sign-in. New local accounts: an imported roster (on Setup), each given a temporary password here, or " <code>"server user add"</code> "."</p>
            {move || message.get().map(|m| match m {
                Ok(t) => view! { <p class="notice" role="status" data-testid="accounts-message">{t}</p> }.into_any(),
                Err(t) => view! { <p class="error" role="alert" data-testid="accounts-message">{t}</p> }.into_any(),
            })}
            <Transition fallback=|| view! { <p class="loading">"Loading accounts…"</p> }>
                {move || Suspend::new(async move {
                    match accounts.await {
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                        Ok(a) => {
                            let districts = a.districts.clone();
                            view! {
                                <div class="table-scroll">
                                    <table class="accounts" data-testid="accounts">
                                        <thead><tr><th>"Account"</th><th>"Sign-in"</th><th>"Roles"</th><th>"Districts"</th><th>"State"</th><th></th></tr></thead>
                                        <tbody>
                                            {a.accounts.into_iter().map(|row| view! { <AccountItem row districts=districts.clone() save/> }.into_any()).collect_view()}
                                        </tbody>
                                    </table>
                                </div>
                            }.into_any()
                        }
                    }
                })}
            </Transition>
        </section>
    }
    .into_any()
}

#[component]
fn AccountItem(
    row: AccountRow,
    districts: Vec<(String, String)>,
    save: Action<AccountChange, Result<AccountRow, crate::error::ApiError>>,
) -> impl IntoView {
    let editing = RwSignal::new(false);
    let roles = RwSignal::new(row.roles.clone());
    let chosen = RwSignal::new(row.districts.clone());
    let active = RwSignal::new(row.active);
    let unlock = RwSignal::new(false);
    let state = match (row.active, row.locked_until) {
        (false, _) => "deactivated".to_string(),
        (true, Some(t)) => format!("locked until {}", utc(t)),
        (true, None) => "active".to_string(),
    };
    let locked = row.locked_until.is_some();
    // A temporary password, shown here once: for an imported roster's first sign-in, or a
    // forgotten password.
    let temporary = Action::new(move |name: &String| {
        let name = name.clone();
        async move { set_temporary_password(name).await }
    });
    let username = StoredValue::new(row.username.clone());
    let districts = StoredValue::new(districts);
    let toggle = |list: RwSignal<Vec<String>>, value: String, on: bool| {
        list.update(|l| {
            l.retain(|v| *v != value);
            if on {
                l.push(value);
            }
        })
    };
    view! {
        <tr data-account=row.username.clone()>
            <td><strong>{row.username.clone()}</strong><br/><span class="hint">{row.display_name.clone()}</span></td>
            <td>{row.sign_in.clone()}</td>
            <td>{row.roles.join(", ")}</td>
            <td>{row.districts.join(", ")}</td>
            <td>{state}</td>
            <td><button type="button" on:click=move |_| editing.update(|e| *e = !*e)>{move || if editing.get() { "Close" } else { "Edit" }}</button></td>
        </tr>
        <Show when=move || editing.get()>
            <tr class="account-edit">
                <td colspan="6">
                    <fieldset>
                        <legend>"Roles"</legend>
                        {Role::ALL.into_iter().map(|r| {
                            let name = r.as_str().to_string();
                            let n = name.clone();
                            view! {
                                <label class="check">
                                    <input type="checkbox" name="role" value=name.clone()
                                        prop:checked=move || roles.with(|l| l.contains(&n))
                                        on:change=move |ev| toggle(roles, name.clone(), event_target_checked(&ev))/>
                                    {r.as_str()}
                                </label>
                            }
                        }).collect_view()}
                    </fieldset>
                    <fieldset>
                        <legend>"Districts"</legend>
                        {districts.get_value().into_iter().map(|(code, label)| {
                            let c = code.clone();
                            let c2 = code.clone();
                            view! {
                                <label class="check">
                                    <input type="checkbox" name="district" value=code.clone()
                                        prop:checked=move || chosen.with(|l| l.contains(&c))
                                        on:change=move |ev| toggle(chosen, c2.clone(), event_target_checked(&ev))/>
                                    {label}
                                </label>
                            }
                        }).collect_view()}
                    </fieldset>
                    <label class="check">
                        <input type="checkbox" name="active" prop:checked=move || active.get() on:change=move |ev| active.set(event_target_checked(&ev))/>
                        "Active (unticking ends the account's sessions)"
                    </label>
                    {locked.then(|| view! {
                        <label class="check">
                            <input type="checkbox" name="unlock" on:change=move |ev| unlock.set(event_target_checked(&ev))/>
                            "Clear the lockout"
                        </label>
                    })}
                    <button type="button" class="primary" disabled=move || save.pending().get() on:click=move |_| {
                        save.dispatch(AccountChange {
                            username: username.get_value(),
                            roles: roles.get_untracked(),
                            districts: chosen.get_untracked(),
                            active: active.get_untracked(),
                            unlock: unlock.get_untracked(),
                        });
                        editing.set(false);
                    }>"Save"</button>
                    <div class="temporary-password">
                        <button type="button" class="secondary" disabled=move || temporary.pending().get()
                            on:click=move |_| { temporary.dispatch(username.get_value()); }>
                            "Set a temporary password"
                        </button>
                        {move || temporary.value().get().map(|r| match r {
                            Ok(t) => view! {
                                <p class="notice" role="status">
                                    "Temporary password for " {t.username.clone()} ": "
                                    <output data-testid="temporary-password">{t.password.clone()}</output>
                                    " — shown once: hand it over in person. Their sessions have ended."
                                </p>
                            }.into_any(),
                            Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                        })}
                    </div>
                </td>
            </tr>
        </Show>
    }
    .into_any()
}

/// `/admin/devices`: every registered device; revoke one that is lost or stolen.
#[component]
pub fn DevicesPage() -> impl IntoView {
    let devices = Resource::new(|| (), |_| list_devices());
    let message = RwSignal::new(None::<Result<String, String>>);
    let revoke = Action::new(move |input: &(String, String)| {
        let (id, reason) = input.clone();
        async move { revoke_device(id, reason).await }
    });
    Effect::new(move |_| {
        if let Some(result) = revoke.value().get() {
            message.set(Some(match result {
                Ok(()) => Ok(
                    "Revoked. Its sessions have ended; its next sync will be refused and its unsynced work reported."
                        .to_string(),
                ),
                Err(e) => Err(e.to_string()),
            }));
            devices.refetch();
        }
    });
    view! {
        <Title text="Devices · Beatbook"/>
        <section class="page wide">
            <h1>"Devices"</h1>
            <p class="hint">"Phones and in-car laptops register when their officer signs in. Revoke one that is lost or stolen."</p>
            {move || message.get().map(|m| match m {
                Ok(t) => view! { <p class="notice" role="status" data-testid="devices-message">{t}</p> }.into_any(),
                Err(t) => view! { <p class="error" role="alert" data-testid="devices-message">{t}</p> }.into_any(),
            })}
            <Transition fallback=|| view! { <p class="loading">"Loading devices…"</p> }>
                {move || Suspend::new(async move {
                    match devices.await {
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                        Ok(list) if list.is_empty() => view! { <p class="empty">"No devices have registered yet."</p> }.into_any(),
                        Ok(list) => view! {
                            <div class="table-scroll">
                                <table class="devices" data-testid="devices">
                                    <thead><tr><th>"Owner"</th><th>"Device"</th><th>"Registered"</th><th>"Last seen"</th><th>"State"</th><th></th></tr></thead>
                                    <tbody>
                                        {list.into_iter().map(|d| view! { <DeviceItem d revoke/> }.into_any()).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
    .into_any()
}

#[component]
fn DeviceItem(d: DeviceRow, revoke: Action<(String, String), Result<(), crate::error::ApiError>>) -> impl IntoView {
    let reason = RwSignal::new(String::new());
    let asking = RwSignal::new(false);
    let id = d.id.clone();
    let short: String = d.id.chars().take(8).collect();
    let state = match &d.revoked {
        Some((t, why)) => format!("revoked {} ({why})", utc(*t)),
        None => "active".into(),
    };
    let revoked = d.revoked.is_some();
    view! {
        <tr data-device=d.id.clone()>
            <td>{d.owner.clone()}</td>
            <td title=d.id.clone()>{format!("{short}… ")}<span class="hint">{d.label.clone()}</span></td>
            <td>{utc(d.registered_at)}</td>
            <td>{d.last_seen_at.map(utc).unwrap_or_else(|| "never".into())}</td>
            <td>{state}</td>
            <td>
                {(!revoked).then(|| view! {
                    <Show when=move || asking.get() fallback=move || view! {
                        <button type="button" on:click=move |_| asking.set(true)>"Revoke…"</button>
                    }>
                        <label>"Why"
                            <input name="reason" maxlength="200" placeholder="lost, stolen, replaced…"
                                prop:value=move || reason.get() on:input=move |ev| reason.set(event_target_value(&ev))/>
                        </label>
                        <button type="button" class="danger" disabled=move || revoke.pending().get() on:click={
                            let id = id.clone();
                            move |_| { revoke.dispatch((id.clone(), reason.get_untracked())); }
                        }>"Revoke device"</button>
                    </Show>
                })}
            </td>
        </tr>
    }
    .into_any()
}
