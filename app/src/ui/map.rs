//! Maps: one Leaflet map every screen uses (the officer's mission place, the crime view), with
//! the department's own basemap when it has one.
//!
//! - The map library is Leaflet, driven from Rust through `leptos-leaflet`; it and the two
//!   helpers it needs here (`pmtiles` reads the basemap, `supercluster` clusters dense incident
//!   points) are vendored under `public/vendor/` and loaded only when a screen shows a map, so
//!   screens without one do not pay for them. `public/map.js` is Beatbook's own thin layer over
//!   them (basemap, outlines, shaded cells, clustered points).
//! - The basemap is one PMTiles file the department serves itself (`BEATBOOK_BASEMAP`); the
//!   browser reads it with HTTP Range requests and the service worker keeps the whole file for
//!   offline use. Without one, the map still draws the district outlines and cells on a plain
//!   background. A department's online XYZ tile service (`BEATBOOK_TILE_URL`) is drawn over it
//!   when there is signal; its tiles are never stored on the device.
//! - [`MapConfig`] (basemap and district outlines) comes from `GET /api/map` and is kept in the
//!   device store, so a map opens with no signal too.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Access, ApiError};
use crate::model::BasemapInfo;

/// One district's outline for the maps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DistrictOutline {
    /// District code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Exterior rings as `(lat, lon)` points.
    pub rings: Vec<Vec<(f64, f64)>>,
}

/// What every map needs besides its own layers.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MapConfig {
    /// The basemap, if the department has one.
    pub basemap: Option<BasemapInfo>,
    /// The online tile service over it, if the department has one.
    #[serde(default)]
    pub tiles: Option<crate::model::TileServiceInfo>,
    /// District outlines, by code.
    pub districts: Vec<DistrictOutline>,
}

impl MapConfig {
    /// The centre `(lat, lon)` of a district's outline (of every district's with `None`, or of
    /// the demo city when none is loaded): where a map of it opens.
    pub fn centre(&self, district: Option<&str>) -> (f64, f64) {
        self.districts
            .iter()
            .filter(|d| district.is_none_or(|code| d.code == code))
            .flat_map(|d| d.rings.iter().flatten())
            .fold(None::<(f64, f64, f64, f64)>, |b, &(lat, lon)| {
                Some(b.map_or((lat, lon, lat, lon), |(s, w, n, e)| (s.min(lat), w.min(lon), n.max(lat), e.max(lon))))
            })
            .map_or((49.25, -123.12), |(s, w, n, e)| ((s + n) / 2.0, (w + e) / 2.0))
    }

    /// The outlines as a GeoJSON FeatureCollection (`[lon, lat]` order), for the map layer.
    pub fn districts_geojson(&self) -> serde_json::Value {
        let features: Vec<_> = self
            .districts
            .iter()
            .map(|d| {
                let rings: Vec<Vec<Vec<[f64; 2]>>> =
                    d.rings.iter().map(|r| vec![r.iter().map(|&(lat, lon)| [lon, lat]).collect()]).collect();
                serde_json::json!({
                    "type": "Feature",
                    "properties": { "code": d.code, "name": d.name },
                    "geometry": { "type": "MultiPolygon", "coordinates": rings },
                })
            })
            .collect();
        serde_json::json!({ "type": "FeatureCollection", "features": features })
    }
}

/// The corners of a lattice cell as `(lat, lon)`, south-west first, counter-clockwise; `None`
/// for an EPSG code that is not a WGS84 / UTM zone.
pub fn cell_corners(epsg: u32, size_m: u32, ix: i64, iy: i64) -> Option<Vec<(f64, f64)>> {
    let utm = hotspot::Utm::new(hotspot::Epsg::utm(epsg).ok()?);
    let size = f64::from(size_m);
    let (x0, y0) = (ix as f64 * size, iy as f64 * size);
    let corners = [(x0, y0), (x0 + size, y0), (x0 + size, y0 + size), (x0, y0 + size)];
    Some(
        corners
            .iter()
            .map(|&(x, y)| {
                let (lon, lat) = utm.inverse(x, y);
                (lat, lon)
            })
            .collect(),
    )
}

/// The map's server functions, with the action each needs.
pub const ENDPOINTS: &[(&str, Access)] = &[("/api/map", Some(protocol::Action::ViewOverview))];

/// The basemap and district outlines.
#[server(prefix = "/api", endpoint = "map")]
pub async fn get_map_config() -> Result<MapConfig, ApiError> {
    let ctx = crate::context::context()?;
    crate::auth::ssr::authorize(&ctx, protocol::Action::ViewOverview, protocol::policy::Target::City, "/api/map")
        .await?;
    ssr::map_config(&ctx).await.inspect_err(crate::error::ssr::respond_with)
}

/// Server side of the map functions.
#[cfg(feature = "ssr")]
pub mod ssr {
    use super::{DistrictOutline, MapConfig};
    use crate::context::ServerContext;
    use crate::error::ApiError;

    /// The map configuration from the server's settings and the Data Bodega.
    ///
    /// # Errors
    /// [`ApiError::Unavailable`] when the districts cannot be read.
    pub async fn map_config(ctx: &ServerContext) -> Result<MapConfig, ApiError> {
        let areas = ctx.bodega.district_areas().await.map_err(|e| {
            tracing::error!(error = %e, "reading district outlines failed");
            ApiError::Unavailable("the district outlines could not be read".into())
        })?;
        let districts = areas
            .into_iter()
            .map(|d| DistrictOutline {
                code: d.code,
                name: d.name,
                rings: d.area.0.iter().map(|p| p.exterior().0.iter().map(|c| (c.y, c.x)).collect()).collect(),
            })
            .collect();
        Ok(MapConfig { basemap: ctx.basemap.clone(), tiles: ctx.tiles.clone(), districts })
    }
}

/// The map configuration: from the server, else the copy this device kept, else none (a map
/// still draws its own layers).
pub async fn load_map_config() -> crate::model::Loaded<MapConfig> {
    match get_map_config().await {
        Ok(config) => {
            #[cfg(feature = "hydrate")]
            if let Ok(json) = serde_json::to_string(&config) {
                if let Err(e) = crate::device::store::put_json(MAP_CONFIG_KEY, json).await {
                    leptos::logging::warn!("map settings not kept on this device: {e}");
                }
            }
            crate::model::Loaded { data: config, from_device: false }
        }
        Err(e) => {
            #[cfg(feature = "hydrate")]
            if let Ok(Some(json)) = crate::device::store::get_json(MAP_CONFIG_KEY).await {
                if let Ok(config) = serde_json::from_str(&json) {
                    return crate::model::Loaded { data: config, from_device: true };
                }
            }
            leptos::logging::warn!("map settings unavailable: {e}");
            crate::model::Loaded { data: MapConfig::default(), from_device: true }
        }
    }
}

#[cfg(feature = "hydrate")]
const MAP_CONFIG_KEY: &str = "map-config";

/// Browser side: loading the vendored libraries and calling `public/map.js`.
#[cfg(feature = "hydrate")]
pub mod js {
    use std::cell::RefCell;

    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;

    /// The scripts a map needs, in order (each may use the ones before it).
    const SCRIPTS: &[&str] = &["/vendor/leaflet.js", "/vendor/pmtiles.js", "/vendor/supercluster.js", "/map.js"];
    const STYLESHEET: &str = "/vendor/leaflet.css";

    thread_local! {
        static LOADING: RefCell<Option<js_sys::Promise>> = const { RefCell::new(None) };
    }

    fn load_script(document: &web_sys::Document, src: &str) -> js_sys::Promise {
        let src = src.to_string();
        let document = document.clone();
        js_sys::Promise::new(&mut move |resolve, reject| {
            let Ok(el) = document.create_element("script") else {
                let _ = reject.call1(&JsValue::NULL, &JsValue::from_str("cannot create a script element"));
                return;
            };
            let _ = el.set_attribute("src", &src);
            // Keep execution order equal to insertion order.
            let _ = js_sys::Reflect::set(&el, &"async".into(), &JsValue::FALSE);
            let failed = src.clone();
            let on_error = Closure::once_into_js(move || {
                let _ = reject.call1(&JsValue::NULL, &JsValue::from_str(&format!("could not load {failed}")));
            });
            let on_load = Closure::once_into_js(move || {
                let _ = resolve.call0(&JsValue::NULL);
            });
            let _ = js_sys::Reflect::set(&el, &"onload".into(), &on_load);
            let _ = js_sys::Reflect::set(&el, &"onerror".into(), &on_error);
            if let Some(head) = document.head() {
                let _ = head.append_child(&el);
            }
        })
    }

    /// Loads Leaflet, its helpers and `map.js` once per page; later calls wait for the same load.
    ///
    /// # Errors
    /// A message naming the file that did not load.
    pub async fn ensure_loaded() -> Result<(), String> {
        let window = web_sys::window().ok_or("no window")?;
        if js_sys::Reflect::get(&window, &"BeatbookMap".into()).is_ok_and(|v| !v.is_undefined()) {
            return Ok(());
        }
        let document = window.document().ok_or("no document")?;
        let promise = LOADING.with(|slot| {
            slot.borrow_mut()
                .get_or_insert_with(|| {
                    if let Ok(link) = document.create_element("link") {
                        let _ = link.set_attribute("rel", "stylesheet");
                        let _ = link.set_attribute("href", STYLESHEET);
                        if let Some(head) = document.head() {
                            let _ = head.append_child(&link);
                        }
                    }
                    let all = js_sys::Array::new();
                    for src in SCRIPTS {
                        all.push(&load_script(&document, src));
                    }
                    js_sys::Promise::all(&all)
                })
                .clone()
        });
        wasm_bindgen_futures::JsFuture::from(promise).await.map(|_| ()).map_err(|e| {
            LOADING.with(|slot| slot.borrow_mut().take());
            e.as_string().unwrap_or_else(|| "the map could not load".into())
        })
    }

    /// Calls `BeatbookMap[name](...args)`.
    ///
    /// # Errors
    /// What the call threw, as text.
    pub fn call(name: &str, args: &[JsValue]) -> Result<JsValue, String> {
        let window = web_sys::window().ok_or("no window")?;
        let shim = js_sys::Reflect::get(&window, &"BeatbookMap".into()).map_err(|_| "the map is not loaded")?;
        let f: js_sys::Function =
            js_sys::Reflect::get(&shim, &name.into()).map_err(|_| format!("no map function {name}"))?.unchecked_into();
        let array = js_sys::Array::new();
        for a in args {
            array.push(a);
        }
        f.apply(&shim, &array).map_err(|e| {
            js_sys::Reflect::get(&e, &"message".into())
                .ok()
                .and_then(|m| m.as_string())
                .unwrap_or_else(|| format!("map function {name} failed"))
        })
    }

    /// A JSON value as a JavaScript object.
    pub fn to_js(value: &serde_json::Value) -> JsValue {
        js_sys::JSON::parse(&value.to_string()).unwrap_or(JsValue::NULL)
    }
}

/// A map of the city: loads the map library on first use, adds the basemap (or a plain
/// background) and the district outlines, then its `children` (leptos-leaflet layers). `on_map`
/// gets the Leaflet map once it exists, for layers drawn through `map.js`.
#[component]
pub fn CityMap(
    /// Where the map opens, `(lat, lon)`.
    center: (f64, f64),
    /// Zoom level it opens at.
    zoom: f64,
    /// Basemap and outlines.
    config: MapConfig,
    /// What the map shows, for screen readers.
    #[prop(into)]
    label: String,
    /// CSS class of the map box (sets its height).
    #[prop(into, default = "map".to_string())]
    class: String,
    /// Called with the Leaflet map (browser only).
    #[prop(optional)]
    on_map: Option<Callback<MapHandle>>,
    /// Layers on the map.
    #[prop(optional)]
    children: Option<ChildrenFn>,
) -> impl IntoView {
    let ready = RwSignal::new(false);
    let failed = RwSignal::new(None::<String>);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        leptos::task::spawn_local(async move {
            match js::ensure_loaded().await {
                Ok(()) => ready.set(true),
                Err(e) => failed.set(Some(e)),
            }
        });
    });
    let basemap = config.basemap.clone();
    let has_basemap = basemap.is_some();
    let config = StoredValue::new(config);
    let children = StoredValue::new(children);
    view! {
        <div class=format!("{class} city-map") role="region" aria-label=label data-basemap=has_basemap.to_string()>
            <Show
                when=move || ready.get()
                fallback=move || {
                    view! {
                        <p class="map-loading">
                            {move || failed.get().unwrap_or_else(|| "Loading the map…".to_string())}
                        </p>
                    }
                }
            >
                <MapCanvas center zoom>
                    <MapReady config on_map/>
                    {children.get_value().map(|c| c())}
                </MapCanvas>
            </Show>
            {basemap.map(|b| view! { <KeepOffline basemap=b/> })}
        </div>
    }
}

/// A file size for people: `812 KB`, `48.3 MB`.
pub fn human_size(bytes: f64) -> String {
    if bytes < 1_048_576.0 {
        format!("{:.0} KB", (bytes / 1024.0).ceil())
    } else {
        format!("{:.1} MB", bytes / 1_048_576.0)
    }
}

/// "Keep this map on the device": stores the whole basemap file for use with no signal.
#[component]
fn KeepOffline(basemap: BasemapInfo) -> impl IntoView {
    let status = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let megabytes = human_size(basemap.bytes as f64);
    #[cfg(feature = "hydrate")]
    let url = StoredValue::new(basemap.url.clone());
    #[cfg(feature = "hydrate")]
    let describe = |copy: wasm_bindgen::JsValue| -> Option<String> {
        if copy.is_null() || copy.is_undefined() {
            return None;
        }
        let bytes = js_sys::Reflect::get(&copy, &"bytes".into()).ok()?.as_f64()?;
        let saved = js_sys::Reflect::get(&copy, &"saved".into()).ok()?.as_string().unwrap_or_default();
        Some(format!("Map kept on this device ({}, saved {saved})", human_size(bytes)))
    };
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        leptos::task::spawn_local(async move {
            let Ok(p) = js::call("offlineCopy", &[url.get_value().into()]) else { return };
            if let Ok(copy) = wasm_bindgen_futures::JsFuture::from(js_sys::Promise::from(p)).await {
                status.set(describe(copy));
            }
        });
    });
    let keep = move |_| {
        busy.set(true);
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let result = match js::call("keepOffline", &[url.get_value().into()]) {
                Ok(p) => wasm_bindgen_futures::JsFuture::from(js_sys::Promise::from(p)).await.map_err(|e| {
                    js_sys::Reflect::get(&e, &"message".into())
                        .ok()
                        .and_then(|m| m.as_string())
                        .unwrap_or_else(|| "the map could not be stored".into())
                }),
                Err(e) => Err(e),
            };
            status.set(Some(match result {
                Ok(copy) => describe(copy).unwrap_or_else(|| "The map could not be stored on this device.".into()),
                Err(e) => format!("The map could not be stored on this device: {e}"),
            }));
            busy.set(false);
        });
    };
    view! {
        <div class="map-offline">
            <span data-testid="basemap-status">
                {move || status.get().unwrap_or_else(|| "Map not kept on this device.".to_string())}
            </span>
            <button type="button" class="secondary" disabled=move || busy.get() on:click=keep>
                {move || if busy.get() { "Storing the map…".to_string() } else { format!("Keep map offline ({megabytes})") }}
            </button>
        </div>
    }
}

/// The Leaflet map itself: a `div` that Leaflet takes over once the library is loaded, and the
/// leptos-leaflet context its layers (`Polygon`, `Circle`, …) find it through. Beatbook draws
/// the container itself rather than using `leptos_leaflet::MapContainer`, which always sets a
/// `style` attribute — an inline style the Content-Security-Policy refuses.
#[component]
fn MapCanvas(center: (f64, f64), zoom: f64, children: Children) -> impl IntoView {
    let context = leptos_leaflet::prelude::provide_leaflet_context();
    let node = NodeRef::<leptos::html::Div>::new();
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        use leptos_leaflet::leaflet;
        let Some(div) = node.get() else { return };
        if context.map_untracked().is_some() {
            return;
        }
        let options = leaflet::MapOptions::new();
        options.set_prefer_canvas(true);
        options.set_zoom(zoom);
        options.set_center(leaflet::LatLng::new(center.0, center.1));
        match leaflet::Map::new_with_element(&div, &options) {
            Ok(map) => context.set_map(&map),
            Err(e) => leptos::logging::warn!("the map could not start: {e:?}"),
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = (center, zoom);
    on_cleanup(move || {
        if let Some(map) = context.map_untracked() {
            map.remove();
        }
    });
    view! { <div class="map-canvas" node_ref=node>{children()}</div> }
}

/// The Leaflet map, for layers drawn through `map.js`. Browser only; a unit value on the server.
#[derive(Clone)]
pub struct MapHandle {
    #[cfg(feature = "hydrate")]
    /// The `L.Map`.
    pub map: wasm_bindgen::JsValue,
}

#[component]
fn MapReady(config: StoredValue<MapConfig>, on_map: Option<Callback<MapHandle>>) -> impl IntoView {
    #[cfg(feature = "hydrate")]
    {
        let context = leptos_leaflet::prelude::use_leaflet_context();
        Effect::new(move |done: Option<bool>| {
            if done == Some(true) {
                return true;
            }
            let Some(map) = context.and_then(|c| c.map()) else { return false };
            let map: wasm_bindgen::JsValue = map.into();
            config.with_value(|config| {
                if let Some(b) = &config.basemap {
                    let args = [
                        map.clone(),
                        b.url.clone().into(),
                        b.attribution.clone().into(),
                        b.min_zoom.into(),
                        b.max_zoom.into(),
                    ];
                    if let Err(e) = js::call("basemap", &args) {
                        leptos::logging::warn!("basemap not shown: {e}");
                    }
                }
                if let Some(t) = &config.tiles {
                    let args = [map.clone(), t.url_template.clone().into(), t.attribution.clone().into()];
                    if let Err(e) = js::call("tiles", &args) {
                        leptos::logging::warn!("online tiles not shown: {e}");
                    }
                }
                if !config.districts.is_empty() {
                    if let Err(e) = js::call("outlines", &[map.clone(), js::to_js(&config.districts_geojson())]) {
                        leptos::logging::warn!("district outlines not shown: {e}");
                    }
                }
            });
            if let Some(cb) = on_map {
                cb.run(MapHandle { map });
            }
            true
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (config, on_map);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_corners_are_the_cell_size_apart_on_the_ground() {
        // A 150 m cell in downtown Vancouver (UTM 10N).
        let lattice = hotspot::Lattice::new(hotspot::Epsg::utm(32610).expect("test setup"), 150).expect("test setup");
        let key = lattice.key_of(-123.1139, 49.2609).expect("test setup");
        let c = cell_corners(32610, 150, key.ix, key.iy).expect("test setup");
        assert_eq!(c.len(), 4);
        let metres = |a: (f64, f64), b: (f64, f64)| {
            let (dlat, dlon) = ((b.0 - a.0).to_radians(), (b.1 - a.1).to_radians());
            6_371_000.0 * (dlat * dlat + (dlon * a.0.to_radians().cos()).powi(2)).sqrt()
        };
        for i in 0..4 {
            let side = metres(c[i], c[(i + 1) % 4]);
            assert!((side - 150.0).abs() < 1.0, "side {i}: {side} m");
        }
        // The point the key came from lies inside.
        let (s, w, n, e) = (c[0].0.min(c[1].0), c[0].1.min(c[3].1), c[2].0.max(c[3].0), c[1].1.max(c[2].1));
        assert!((s..=n).contains(&49.2609) && (w..=e).contains(&-123.1139));
        assert!(cell_corners(4326, 150, 0, 0).is_none());
    }

    #[test]
    fn district_outlines_become_lon_lat_geojson() {
        let config = MapConfig {
            basemap: None,
            tiles: None,
            districts: vec![DistrictOutline {
                code: "D1".into(),
                name: "District 1".into(),
                rings: vec![vec![(49.0, -123.0), (49.0, -122.9), (49.1, -122.9), (49.0, -123.0)]],
            }],
        };
        let g = config.districts_geojson();
        assert_eq!(g["features"][0]["properties"]["code"], "D1");
        assert_eq!(g["features"][0]["geometry"]["coordinates"][0][0][1], serde_json::json!([-122.9, 49.0]));
    }
}
