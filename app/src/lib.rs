//! # app — Beatbook's screens and server functions
//!
//! One crate compiled twice: with `ssr` into the server (rendering pages, running server
//! functions against the Data Bodega) and with `hydrate` into the browser's WebAssembly
//! (hydrating those pages, keeping the device store, registering the service worker).
//!
//! A tour:
//! - [`shell`] renders a whole server page; [`offline_shell`] renders the data-free page the
//!   service worker precaches and serves to navigations when there is no signal.
//! - [`App`] is the router: `/` (city overview with the micro-place map), `/places` (the
//!   busiest micro places), `/signin`, and the mission screens: `/missions` (the officer's
//!   list with the Koper timer), `/board` (the sergeant's shift board), `/plan` (issuing a
//!   shift's missions from recommendations) and `/menu` (the Mission Menu editor); and the
//!   command views: `/crime` (the crime view on the map), `/accuracy` (how well hot spots
//!   predicted), `/presence` (GPS presence against
//!   harm) and `/snapshot` (the Chief's Daily Snapshot).
//! - [`field`] is the officer's device in the field: its missions and outbox in IndexedDB, and
//!   the sync that carries the outbox to the server exactly once (`protocol::sync`); GPS
//!   breadcrumbs ([`field::Sampler`]); the district's hot-spot inputs ([`field::FieldCache`]),
//!   re-scored on the device by "Hot spots near you" (`pages::NearbyHotSpots`).
//! - [`vault`] seals what the device keeps for its user (AES-GCM; a data key wrapped by the
//!   device's server-held key and by the officer's PIN) and opens it; [`signout`] refuses
//!   sign-out while work waits and takes a supervisor's override code.
//! - [`crime`], [`accuracy`], [`presence`] and [`snapshot`] compute the command views; [`live`] keeps them
//!   current through server-sent events.
//! - [`map`] is the one map component (Leaflet, vendored, loaded on first use) with the
//!   department's PMTiles basemap and district outlines.
//! - [`admin`] holds the administrator's server functions: the audit-log search
//!   (`/admin/audit`), accounts (`/admin/users`: roles, districts, deactivation, lockouts) and
//!   devices (`/admin/devices`: revocation).
//! - [`missions`] holds the mission server functions (menu, recommendations, board, steps).
//! - [`auth`] holds the signed-in user ([`auth::Me`]) and, on the server, the one gate every
//!   server function passes ([`auth::ssr::authorize`]): policy decision, 401/403, audit record.
//! - [`api`] holds the server functions, each at a fixed URL under `/api/`.
//! - [`model`] holds the types that cross the wire and the device store (no personal data).
//! - `device_store` (browser only) keeps what the officer's device needs offline in IndexedDB;
//!   `pwa` (browser only) registers the service worker and offers updates instead of forcing them.

// Deeply nested views give deeply nested types; the default limit (128) is reached by the
// compiler's layout queries for some pages in some builds (the browser test build in CI).
#![recursion_limit = "256"]

pub mod accuracy;
pub mod admin;
pub mod api;
pub mod auth;
pub mod components;
pub mod connectivity;
pub mod crime;
pub mod field;
pub mod live;
pub mod map;
pub mod missions;
pub mod model;
pub mod pages;
pub mod presence;
pub mod signout;
pub mod snapshot;
pub mod vault;

#[cfg(feature = "hydrate")]
pub mod device_store;
#[cfg(feature = "hydrate")]
pub mod pwa;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, Html, MetaTags};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

use crate::components::{AppHeader, UpdateBanner, VaultPrompt};
use crate::pages::{
    AccountsPage, AccuracyPage, AuditLog, CrimePage, DevicesPage, MenuEditor, MyMissions, NotFound, Overview, Places,
    PlanShift, PresencePage, ShiftBoard, SignIn, SnapshotPage, UploadPage,
};

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
    components::provide_app_state();
    let components::Theme(theme) = components::provide_theme();
    view! {
        <Html {..} data-theme=move || theme.get().unwrap_or("auto")/>
        <Router>
            <AppHeader/>
            <UpdateBanner/>
            <VaultPrompt/>
            <main id="main">
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=Overview/>
                    <Route path=path!("/places") view=Places/>
                    <Route path=path!("/signin") view=SignIn/>
                    <Route path=path!("/missions") view=MyMissions/>
                    <Route path=path!("/board") view=ShiftBoard/>
                    <Route path=path!("/plan") view=PlanShift/>
                    <Route path=path!("/menu") view=MenuEditor/>
                    <Route path=path!("/admin/audit") view=AuditLog/>
                    <Route path=path!("/admin/users") view=AccountsPage/>
                    <Route path=path!("/upload") view=UploadPage/>
                    <Route path=path!("/admin/devices") view=DevicesPage/>
                    <Route path=path!("/snapshot") view=SnapshotPage/>
                    <Route path=path!("/crime") view=CrimePage/>
                    <Route path=path!("/accuracy") view=AccuracyPage/>
                    <Route path=path!("/presence") view=PresencePage/>
                </Routes>
            </main>
        </Router>
    }
}
