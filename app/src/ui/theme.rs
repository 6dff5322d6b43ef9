//! Night mode: dark and high contrast, remembered on the device (a display preference, nothing
//! else), set on `<html data-theme>` on the server so the first paint is right.

use leptos::prelude::*;

/// The cookie that keeps the night-mode choice (a display preference, nothing else).
pub const THEME_COOKIE: &str = "beatbook_theme";

/// The theme chosen on this device: `night`, `day`, or `None` to follow the device's setting.
#[derive(Clone, Copy)]
pub struct Theme(pub RwSignal<Option<&'static str>>);

fn theme_from_cookies(cookies: &str) -> Option<&'static str> {
    cookies.split(';').filter_map(|c| c.trim().split_once('=')).find(|(k, _)| *k == THEME_COOKIE).and_then(|(_, v)| {
        match v {
            "night" => Some("night"),
            "day" => Some("day"),
            _ => None,
        }
    })
}

/// Sets `<html data-theme>` from the cookie, on the server (so the first paint is right) and in
/// the browser; the header's switch changes it.
pub fn provide_theme() -> Theme {
    #[cfg(feature = "ssr")]
    let initial = use_context::<http::request::Parts>()
        .and_then(|p| p.headers.get(http::header::COOKIE).and_then(|v| v.to_str().ok()).and_then(theme_from_cookies));
    #[cfg(not(feature = "ssr"))]
    let initial = {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.dyn_into::<web_sys::HtmlDocument>().ok())
                .and_then(|d| d.cookie().ok())
                .and_then(|c| theme_from_cookies(&c))
        }
        #[cfg(not(feature = "hydrate"))]
        {
            None
        }
    };
    let theme = Theme(RwSignal::new(initial));
    provide_context(theme);
    theme
}

/// Night mode on or off (dark, high contrast), remembered on this device.
#[component]
pub fn ThemeToggle() -> impl IntoView {
    let Theme(theme) = expect_context::<Theme>();
    let toggle = move |_| {
        let next = if theme.get_untracked() == Some("night") { "day" } else { "night" };
        theme.set(Some(next));
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            if let Some(d) =
                web_sys::window().and_then(|w| w.document()).and_then(|d| d.dyn_into::<web_sys::HtmlDocument>().ok())
            {
                let _ = d.set_cookie(&format!("{THEME_COOKIE}={next}; Path=/; Max-Age=31536000; SameSite=Lax"));
            }
        }
    };
    view! {
        <button type="button" class="theme-toggle" data-testid="night-mode"
            aria-pressed=move || (theme.get() == Some("night")).to_string() on:click=toggle>
            "Night"
        </button>
    }
}
