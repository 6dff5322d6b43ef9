//! # app — Beatbook's screens and server functions
//!
//! One crate compiled twice: with `ssr` into the server (rendering pages, running server
//! functions against the Data Bodega) and with `hydrate` into the browser's WebAssembly
//! (hydrating those pages, keeping the device store, registering the service worker).
//!
//! A folder per feature, each holding its server functions (with their `ENDPOINTS`) beside its
//! screens, standing on a shared floor. **A feature imports the floor and the lower crates,
//! never another feature; what two features share moves down into the floor** (the rule
//! `scripts/module-cycles.py` checks in `make test`, and docs/ARCHITECTURE.md draws).
//!
//! Features (`/route`: who uses it):
//! - [`overview`] (`/`) and [`places`] (`/places`): the city at a glance and its busiest places;
//! - [`crime`] (`/crime`), [`accuracy`] (`/accuracy`), [`presence`] (`/presence`), [`snapshot`]
//!   (`/snapshot`): the command views;
//! - [`missions`]: planning a shift (`/plan`), the sergeant's board (`/board`), the officer's
//!   "My missions" with the Koper timer and "hot spots near you" (`/missions`), the Mission Menu
//!   (`/menu`), and their server functions;
//! - [`admin`] (`/admin/users`, `/admin/devices`, `/admin/audit`), [`upload`] (`/upload`),
//!   [`signin`] (`/signin`);
//! - [`setup`]: a department's own setup — the first-run checklist and shift patterns
//!   (`/setup`, administrators) and the dosage rules (`/rules`, command).
//!
//! The floor:
//! - [`error`]: the one error envelope ([`error::ApiError`]); [`context`]: what the server hands
//!   every server function and the helpers on it; [`auth`]: who is signed in and the one gate
//!   every server function passes ([`auth::ssr::authorize`]); [`model`]: wire types;
//! - [`city`]: the overview data the overview and places screens share, kept on the device;
//!   [`shift`]: shifts, shift windows, dosage rules, the harm ranking of a district's places and
//!   GPS dosage, which missions, presence and the snapshot share; [`geo`]: distance, compass,
//!   the micro place;
//! - [`device`]: the officer's device (IndexedDB field state, outbox and sync loop, vault and
//!   PIN, idle lock, sign-out, service worker); [`net`]: the browser's requests and whether the
//!   server can be reached;
//! - [`ui`]: the header, night mode, the shift picker, the map, charts, hooks; [`format`]:
//!   numbers and times as people read them.
//!
//! On top, this file: the document shell, the router, the app-wide state, and the registry of
//! every server function ([`endpoints`]).

// Deeply nested views give deeply nested types; the default limit (128) is reached by the
// compiler's layout queries for some pages in some builds (the browser test build in CI).
#![recursion_limit = "256"]

// The shared floor.
pub mod auth;
pub mod city;
pub mod context;
pub mod device;
pub mod error;
pub mod format;
pub mod geo;
pub mod model;
pub mod net;
pub mod shift;
pub mod ui;

// The features.
pub mod accuracy;
pub mod admin;
pub mod crime;
pub mod missions;
pub mod overview;
pub mod places;
pub mod presence;
pub mod setup;
pub mod signin;
pub mod snapshot;
pub mod upload;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, Html, MetaTags};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

use crate::admin::accounts::{AccountsPage, DevicesPage};
use crate::admin::audit::AuditLog;
use crate::device::prompt::VaultPrompt;
use crate::error::Access;
use crate::missions::board::ShiftBoard;
use crate::missions::menu::MenuEditor;
use crate::missions::mine::MyMissions;
use crate::missions::plan::PlanShift;
use crate::ui::header::{AppHeader, UpdateBanner};
use crate::ui::not_found::NotFound;

/// Every server function with the action it needs (the server's own routes are
/// `server::router::routes`): the authorization matrix test walks both, and fails for an
/// endpoint that is not listed.
pub fn endpoints() -> Vec<(&'static str, Access)> {
    [
        auth::ENDPOINTS,
        city::ENDPOINTS,
        signin::ENDPOINTS,
        shift::ENDPOINTS,
        missions::ENDPOINTS,
        admin::ENDPOINTS,
        ui::map::ENDPOINTS,
        snapshot::ENDPOINTS,
        crime::ENDPOINTS,
        presence::ENDPOINTS,
        accuracy::ENDPOINTS,
        device::cache::ENDPOINTS,
        setup::ENDPOINTS,
    ]
    .concat()
}

/// Creates the app-wide state (who is signed in, the city overview, the device store, the
/// update prompt) and, in the browser, keeps the device store, the connection to the server and
/// the service worker in step with it.
fn provide_app_state() {
    let path = ui::hooks::current_path();
    city::provide_overview(&path);
    let me = Resource::new(
        || (),
        |_| async {
            let answer = auth::get_me().await;
            #[cfg(feature = "hydrate")]
            if let Err(e) = &answer {
                // No answer: the device works from what it keeps (the PIN opens it); the
                // connectivity state learns why.
                let _ = net::server_unreachable(e).await;
            }
            answer.ok().flatten()
        },
    );
    provide_context(auth::MeResource(me));
    let field = device::new_field_store();
    provide_context(field);
    let update_ready = RwSignal::new(false);
    provide_context(device::worker::UpdateReady(update_ready));
    #[cfg(feature = "hydrate")]
    {
        // A page the server just rendered was online a moment ago; the offline shell is served
        // only when the navigation got no answer.
        let from_shell = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.body())
            .is_some_and(|b| b.has_attribute("data-beatbook-shell"));
        net::connectivity::start(if from_shell {
            net::connectivity::Connectivity::NoSignal
        } else {
            net::connectivity::Connectivity::Online
        });
        Effect::new(move |_| device::worker::register(update_ready));
        device::triggers::start(me, field);
    }
}

/// The `<head>` every Beatbook document shares: viewport, PWA manifest, icons, theme, styles.
#[component]
fn DocumentHead(options: LeptosOptions) -> impl IntoView {
    view! {
        <meta charset="utf-8"/>
        <meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover"/>
        <meta name="theme-color" content="#0b2545"/>
        <meta name="description" content="Beatbook: harm-ranked micro hot spots and patrol missions, online and offline."/>
        <link rel="manifest" href="/manifest.webmanifest"/>
        <link rel="icon" href="/favicon.ico" sizes="any"/>
        <link rel="icon" href="/icons/icon.svg" type="image/svg+xml"/>
        <link rel="apple-touch-icon" href="/icons/apple-touch-icon.png"/>
        <HashedStylesheet options=options.clone() id="leptos"/>
        <HydrationScripts options/>
    }
}

/// A whole server-rendered page.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <DocumentHead options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The offline shell: the same head and scripts, no data, and a marker telling the front end to
/// mount the app rather than hydrate it. Precached by the service worker; never per-user.
pub fn offline_shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <DocumentHead options/>
                <title>"Beatbook"</title>
            </head>
            <body data-beatbook-shell="">
                <p class="boot">"Starting Beatbook…"</p>
                <noscript>"Beatbook needs JavaScript and WebAssembly enabled."</noscript>
            </body>
        </html>
    }
}

/// The application: header, update prompt and routes.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    provide_app_state();
    let ui::theme::Theme(theme) = ui::theme::provide_theme();
    view! {
        <Html {..} data-theme=move || theme.get().unwrap_or("auto")/>
        <Router>
            <AppHeader/>
            <UpdateBanner/>
            <VaultPrompt/>
            <main id="main">
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=overview::Overview/>
                    <Route path=path!("/places") view=places::Places/>
                    <Route path=path!("/signin") view=signin::SignIn/>
                    <Route path=path!("/missions") view=MyMissions/>
                    <Route path=path!("/board") view=ShiftBoard/>
                    <Route path=path!("/plan") view=PlanShift/>
                    <Route path=path!("/followups") view=missions::followups::FollowUpsPage/>
                    <Route path=path!("/outcomes") view=missions::outcomes::OutcomesPage/>
                    <Route path=path!("/menu") view=MenuEditor/>
                    <Route path=path!("/admin/audit") view=AuditLog/>
                    <Route path=path!("/admin/users") view=AccountsPage/>
                    <Route path=path!("/upload") view=upload::UploadPage/>
                    <Route path=path!("/admin/devices") view=DevicesPage/>
                    <Route path=path!("/snapshot") view=snapshot::page::SnapshotPage/>
                    <Route path=path!("/crime") view=crime::page::CrimePage/>
                    <Route path=path!("/accuracy") view=accuracy::page::AccuracyPage/>
                    <Route path=path!("/presence") view=presence::page::PresencePage/>
                    <Route path=path!("/setup") view=setup::page::SetupPage/>
                    <Route path=path!("/rules") view=setup::page::RulesPage/>
                </Routes>
            </main>
        </Router>
    }
}
