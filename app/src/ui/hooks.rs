//! Hooks the screens share: the address's query, the page's own path, the device's position,
//! a ticking clock, whether the page is on screen, and the live-update counter (one
//! `EventSource` on `/api/live` per page, opened by the first view that asks; every "changed"
//! event bumps a counter that views watch to refetch their data; the browser reconnects by
//! itself after a drop).

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// A signal holding the query parameter `key` as the page opened with it (else `default()`).
pub fn query_or(key: &'static str, default: impl Fn() -> String + Send + Sync + 'static) -> RwSignal<String> {
    let q = use_query_map();
    let v = q.with_untracked(|q| q.get(key)).unwrap_or_else(default);
    RwSignal::new(v)
}

/// The path of the page being rendered (server) or shown (browser).
pub fn current_path() -> String {
    #[cfg(feature = "ssr")]
    {
        use_context::<http::request::Parts>().map(|p| p.uri.path().to_string()).unwrap_or_default()
    }
    #[cfg(not(feature = "ssr"))]
    {
        #[cfg(feature = "hydrate")]
        if let Some(path) = web_sys::window().and_then(|w| w.location().pathname().ok()) {
            return path;
        }
        String::new()
    }
}

/// The device's position while the screen is open: `(lat, lon, accuracy m)`.
pub fn use_position() -> RwSignal<Option<(f64, f64, f64)>> {
    let pos = RwSignal::new(None);
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::prelude::*;
        Effect::new(move |_| {
            let Some(geo) = web_sys::window().and_then(|w| w.navigator().geolocation().ok()) else { return };
            let ok = Closure::<dyn Fn(JsValue)>::new(move |p: JsValue| {
                let coords = js_sys::Reflect::get(&p, &"coords".into()).unwrap_or(JsValue::NULL);
                let num = |k: &str| js_sys::Reflect::get(&coords, &k.into()).ok().and_then(|v| v.as_f64());
                if let (Some(lat), Some(lon)) = (num("latitude"), num("longitude")) {
                    pos.set(Some((lat, lon, num("accuracy").unwrap_or(f64::NAN))));
                }
            });
            let options = web_sys::PositionOptions::new();
            options.set_enable_high_accuracy(true);
            options.set_maximum_age(5_000);
            let id =
                geo.watch_position_with_error_callback_and_options(ok.as_ref().unchecked_ref(), None, &options).ok();
            ok.forget();
            on_cleanup(move || {
                if let (Some(id), Some(geo)) = (id, web_sys::window().and_then(|w| w.navigator().geolocation().ok())) {
                    geo.clear_watch(id);
                }
            });
        });
    }
    pos
}

/// True while the page is on screen (always true on the server).
pub fn page_visible() -> bool {
    #[cfg(feature = "hydrate")]
    {
        web_sys::window()
            .and_then(|w| w.document())
            .is_none_or(|d| d.visibility_state() == web_sys::VisibilityState::Visible)
    }
    #[cfg(not(feature = "hydrate"))]
    true
}

/// Milliseconds since the epoch, ticking once a second while the screen is open.
pub fn use_clock() -> RwSignal<f64> {
    let now = RwSignal::new(0.0);
    #[cfg(feature = "hydrate")]
    {
        now.set(js_sys::Date::now());
        if let Ok(handle) =
            set_interval_with_handle(move || now.set(js_sys::Date::now()), std::time::Duration::from_secs(1))
        {
            on_cleanup(move || handle.clear());
        }
    }
    now
}

/// The counter of changes seen since the page opened (0 on the server).
#[derive(Clone, Copy)]
pub struct Live(pub RwSignal<u64>);

/// The live-update counter for this page; the first call opens the stream.
pub fn use_live() -> RwSignal<u64> {
    if let Some(Live(s)) = use_context::<Live>() {
        return s;
    }
    let counter = RwSignal::new(0u64);
    provide_context(Live(counter));
    #[cfg(feature = "hydrate")]
    Effect::new(move |opened: Option<bool>| {
        if opened == Some(true) {
            return true;
        }
        use wasm_bindgen::prelude::*;
        let Ok(source) = web_sys::EventSource::new("/api/live") else { return false };
        let on_change = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |_e: web_sys::MessageEvent| {
            counter.update(|n| *n += 1);
        });
        let _ = source.add_event_listener_with_callback("changed", on_change.as_ref().unchecked_ref());
        // The page keeps its one stream for its lifetime.
        on_change.forget();
        if let Some(w) = web_sys::window() {
            if let Some(doc) = w.document().and_then(|d| d.body()) {
                let _ = doc.set_attribute("data-live", "open");
            }
        }
        let keep = send_wrapper::SendWrapper::new(source);
        on_cleanup(move || keep.close());
        true
    });
    counter
}
