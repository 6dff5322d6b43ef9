//! A place chosen on the map: tap (or click) where a mission should be, and a circle of the
//! chosen radius marks it. The officer's proposal and the planner's own place use it; the
//! coordinates are shown beside the map so the choice can be read, not only seen.

use leptos::prelude::*;

use crate::ui::map::{load_map_config, CityMap, MapHandle};

/// A map that sets `picked` to `(lat, lon)` on every tap and draws it with `radius` metres.
#[component]
pub fn PlacePicker(
    /// The chosen place.
    picked: RwSignal<Option<(f64, f64)>>,
    /// Its radius, metres.
    #[prop(into)]
    radius: Signal<f64>,
    /// What the map is for, for screen readers and as its caption.
    #[prop(into)]
    label: String,
    /// The district whose outline the map opens on (every district's with `None`).
    #[prop(optional, into)]
    district: Option<String>,
) -> impl IntoView {
    use leptos_leaflet::prelude::{Circle, Position};
    let config = LocalResource::new(load_map_config);
    let on_map = Callback::new(move |h: MapHandle| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::prelude::*;
            let tap = Closure::<dyn Fn(f64, f64)>::new(move |lat: f64, lon: f64| picked.set(Some((lat, lon))));
            if let Err(e) = crate::ui::map::js::call("pick", &[h.map.clone(), tap.as_ref().clone()]) {
                leptos::logging::warn!("the map cannot take a tap: {e}");
            }
            // Lives as long as the page's map: Leaflet holds it until the map is removed.
            tap.forget();
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = h;
    });
    let caption = label.clone();
    let (label, district) = (StoredValue::new(label), StoredValue::new(district));
    // The map is the browser's: drawn after hydration, so the server's page and the first
    // render in the browser agree (the map settings load on the device).
    let mounted = RwSignal::new(false);
    Effect::new(move |_| mounted.set(true));
    view! {
        <div class="place-picker" data-testid="place-picker">
            <p class="hint">{caption}</p>
            <Show when=move || mounted.get() fallback=|| view! { <p class="loading">"Loading the map…"</p> }>
            <Suspense fallback=|| view! { <p class="loading">"Loading the map…"</p> }>
                {move || {
                    let label = label.get_value();
                    let district = district.get_value();
                    config.get().map(move |loaded| {
                        let center = loaded.data.centre(district.as_deref());
                        // Made here, in the browser only: a local signal that the server's render
                        // dropped on another thread would abort the page mid-stream.
                        let centre = Signal::derive_local(move || {
                            picked.get().map(|(lat, lon)| Position::new(lat, lon)).unwrap_or_default()
                        });
                        let layers: ChildrenFn = std::sync::Arc::new(move || view! {
                            <Show when=move || picked.get().is_some()>
                                <Circle center=centre radius=radius color="#e63946" weight=2.0 fill_color="#e63946" fill_opacity=0.25/>
                            </Show>
                        }.into_any());
                        view! {
                            <CityMap center zoom=13.0 config=loaded.data label class="picker-map" on_map children=layers/>
                        }
                    })
                }}
            </Suspense>
            </Show>
            <p class="picked" data-testid="picked" aria-live="polite">
                {move || match picked.get() {
                    Some((lat, lon)) => format!("Chosen: {lat:.5}, {lon:.5}"),
                    None => "No place chosen yet.".to_string(),
                }}
            </p>
        </div>
    }
}
