//! # frontend — the browser entry point
//!
//! cargo-leptos compiles this crate to WebAssembly and its generated loader calls [`hydrate`].
//! Two cases:
//! - a page the server rendered: hydrate the server's HTML in place;
//! - the offline shell (`/shell`, which the service worker serves to navigations when there is no
//!   signal): its body carries `data-beatbook-shell` and no rendered app, so the app is mounted
//!   fresh and renders the current route client-side from what the device stored.

use wasm_bindgen::prelude::wasm_bindgen;

/// Starts Beatbook in the browser.
#[wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    let body = web_sys::window().and_then(|w| w.document()).and_then(|d| d.body());
    match body {
        Some(body) if body.has_attribute("data-beatbook-shell") => {
            body.set_inner_html("");
            leptos::mount::mount_to_body(app::App);
        }
        _ => leptos::mount::hydrate_body(app::App),
    }
    // Says the app is live: before this, a tap reaches only the server's HTML. End-to-end tests
    // wait for it; so could a stylesheet that dims controls until then.
    if let Some(body) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.body()) {
        let _ = body.set_attribute("data-hydrated", "");
    }
}
