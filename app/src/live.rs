//! Live updates in the browser: one `EventSource` on `/api/live` per page, opened by the first
//! view that asks ([`use_live`]); every "changed" event bumps a counter that views watch to
//! refetch their data. The browser reconnects by itself after a drop.

use leptos::prelude::*;

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
