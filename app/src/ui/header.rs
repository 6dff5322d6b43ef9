//! The header every screen shares (the name, the navigation a user's roles make useful, who is
//! signed in, night mode, and whether the server can be reached) and the update prompt.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::auth::MeResource;
use crate::device::signout::{OverrideCode, SignOut};
use crate::device::worker::UpdateReady;
use crate::device::FieldStore;
use crate::ui::theme::ThemeToggle;

/// Who is signed in, as far as the header and menus need to know.
#[component]
fn AccountMenu() -> impl IntoView {
    let me = expect_context::<MeResource>().0;
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match me.await {
                    Some(me) => {
                        let roles: Vec<&str> = me.roles.iter().map(|r| r.as_str()).collect();
                        view! {
                            <span class="account" data-testid="account">
                                <span class="who">{me.display_name.clone()}</span>
                                <span class="roles">{roles.join(", ")}</span>
                                {me.may(protocol::Action::IssueOverrideCode).then(|| view! { <OverrideCode/> })}
                                <SignOut/>
                            </span>
                        }
                        .into_any()
                    }
                    // No signal: the device's last user, from what it keeps.
                    None => {
                        let field = expect_context::<FieldStore>();
                        view! {
                            {move || field.state.with(|s| s.as_ref().map(|s| s.username.clone())).map(|user| view! {
                                <span class="account" data-testid="account">
                                    <span class="who">{user}</span>
                                    <SignOut/>
                                </span>
                            })}
                        }
                        .into_any()
                    }
                }
            })}
        </Transition>
    }
}

/// On the demo city, its today, beside the name (on a phone it shares the name's row, so the
/// header grows no taller).
#[component]
fn DemoClock() -> impl IntoView {
    let me = expect_context::<MeResource>().0;
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                me.await.and_then(|m| m.demo_today).map(|d| view! {
                    <span class="demo-clock" data-testid="demo-clock"
                        title="The demo city's data end on this day: every screen opens there.">
                        {format!("Demo city: today is {}", crate::format::day_text(&d))}
                    </span>
                })
            })}
        </Transition>
    }
}

/// The links a user's roles make useful.
#[component]
fn RoleLinks() -> impl IntoView {
    let me = expect_context::<MeResource>().0;
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let me = me.await;
                let roles = me.map(|m| m.roles).unwrap_or_default();
                let links = crate::auth::PAGES
                    .iter()
                    .filter(|p| p.needs.is_some() && crate::auth::may_open(p.path, &roles))
                    .filter_map(|p| p.nav.map(|name| view! { <A href=p.path>{name}</A> }))
                    .collect_view();
                view! { {links} }
            })}
        </Transition>
    }
}

/// Top bar: the name, the navigation, who is signed in and whether the device has signal.
#[component]
pub fn AppHeader() -> impl IntoView {
    let connectivity = crate::net::connectivity::state;
    // On a phone the links fold into a menu (a commander has a dozen; a row of them was cut
    // off); it closes on every navigation. From 48rem they sit in the bar and wrap.
    let open = RwSignal::new(false);
    let location = leptos_router::hooks::use_location();
    Effect::new(move |_| {
        location.pathname.track();
        open.set(false);
    });
    view! {
        <header class="app-header">
            <a class="brand" href="/">
                <img src="/icons/icon.svg" alt="" width="28" height="28"/>
                <span>"Beatbook"</span>
            </a>
            <DemoClock/>
            <button type="button" class="menu-toggle" data-testid="menu-toggle" aria-controls="main-nav"
                aria-expanded=move || open.get().to_string() on:click=move |_| open.update(|o| *o = !*o)>
                {move || if open.get() { "Close menu" } else { "Menu" }}
            </button>
            <nav aria-label="Main" id="main-nav" class:open=move || open.get()>
                <A href="/" exact=true>"Overview"</A>
                <A href="/places">"Places"</A>
                <RoleLinks/>
            </nav>
            <AccountMenu/>
            <ThemeToggle/>
            <span class="connectivity" class:offline=move || !connectivity().is_online() role="status"
                data-testid="connectivity" data-state=move || format!("{:?}", connectivity()).to_lowercase()>
                {move || connectivity().label()}
            </span>
        </header>
    }
}

/// Offers a waiting new version instead of swapping code under an officer mid-task.
#[component]
pub fn UpdateBanner() -> impl IntoView {
    let ready = use_context::<UpdateReady>().map(|u| u.0).unwrap_or_else(|| RwSignal::new(false));
    view! {
        <Show when=move || ready.get()>
            <div class="update-banner" role="alert">
                <span>"A new version of Beatbook is ready."</span>
                <button type="button" on:click=move |_| {
                    #[cfg(feature = "hydrate")]
                    crate::device::worker::apply_update();
                }>"Reload now"</button>
                <button type="button" class="secondary" on:click=move |_| ready.set(false)>"Later"</button>
            </div>
        </Show>
    }
}
