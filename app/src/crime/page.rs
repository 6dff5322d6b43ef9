//! `/crime`: the crime view — micro places shaded by harm or Gi* class on the city map, the
//! incidents clustered, filters in the address (so a view can be shared), and a cell's
//! composition and 12-week trend on tap.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};

use super::{get_cell_composition, get_crime_view, CellComposition, CrimeCell, CrimeQuery, CrimeView};
use crate::ui::map::{load_map_config, CityMap, MapConfig, MapHandle};

/// How cells are shaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shade {
    /// Five quantile classes of harm among cells with any.
    Harm,
    /// Gi* class after the FDR correction.
    Gi,
}

/// Harm class breaks: the 20/40/60/80 % quantiles of the cells with harm.
pub fn harm_breaks(cells: &[CrimeCell]) -> [f64; 4] {
    let mut v: Vec<f64> = cells.iter().map(|c| c.harm).filter(|h| *h > 0.0).collect();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return [f64::INFINITY; 4];
    }
    let q = |p: f64| v[((v.len() as f64 - 1.0) * p).round() as usize];
    [q(0.2), q(0.4), q(0.6), q(0.8)]
}

const HARM_COLOURS: [&str; 5] = ["#fde0c5", "#facba6", "#f59e72", "#e76f51", "#b3261e"];

/// The fill colour and opacity of a cell, or `None` when it is not drawn.
pub fn cell_fill(c: &CrimeCell, shade: Shade, breaks: &[f64; 4]) -> Option<(&'static str, f64)> {
    match shade {
        Shade::Harm if c.harm > 0.0 => {
            let class = breaks.iter().filter(|b| c.harm > **b).count();
            Some((HARM_COLOURS[class], 0.7))
        }
        Shade::Harm => None,
        Shade::Gi => match c.class {
            3 => Some(("#b3261e", 0.75)),
            2 => Some(("#e76f51", 0.65)),
            1 => Some(("#f4a259", 0.55)),
            -1 => Some(("#9ec1e8", 0.45)),
            -2 => Some(("#4f8fd4", 0.55)),
            -3 => Some(("#1d4e89", 0.65)),
            _ => None,
        },
    }
}

fn class_label(class: i8) -> &'static str {
    match class {
        3 => "hot (99 %)",
        2 => "hot (95 %)",
        1 => "hot (90 %)",
        -1 => "cold (90 %)",
        -2 => "cold (95 %)",
        -3 => "cold (99 %)",
        _ => "not significant",
    }
}

/// The cells as a GeoJSON FeatureCollection for `map.js`.
pub fn cells_geojson(view: &CrimeView, shade: Shade, selected: Option<(i64, i64)>) -> serde_json::Value {
    let breaks = harm_breaks(&view.cells);
    let features: Vec<serde_json::Value> = view
        .cells
        .iter()
        .filter_map(|c| {
            let (fill, opacity) = cell_fill(c, shade, &breaks)?;
            let corners = crate::ui::map::cell_corners(view.epsg, view.cell_size_m, c.ix, c.iy)?;
            let mut ring: Vec<[f64; 2]> = corners.iter().map(|&(lat, lon)| [lon, lat]).collect();
            ring.push(ring[0]);
            Some(serde_json::json!({
                "type": "Feature",
                "properties": {
                    "key": format!("{}/{}", c.ix, c.iy),
                    "fill": fill,
                    "opacity": opacity,
                    "selected": selected == Some((c.ix, c.iy)),
                    "label": format!("{} incidents · harm {:.0} · Gi* z {:.2}, {}", c.count, c.harm, c.z, class_label(c.class)),
                },
                "geometry": { "type": "Polygon", "coordinates": [ring] },
            }))
        })
        .collect();
    serde_json::json!({ "type": "FeatureCollection", "features": features })
}

fn query_from_url(q: &leptos_router::params::ParamsMap) -> CrimeQuery {
    let get = |k: &str| q.get(k).filter(|v| !v.is_empty());
    CrimeQuery {
        days: get("days").and_then(|d| d.parse().ok()),
        end: get("end"),
        category: get("category"),
        offense: get("offense"),
        district: get("district"),
        shift: get("shift"),
    }
}

fn url_of(q: &CrimeQuery, shade: Shade) -> String {
    let mut parts = Vec::new();
    let mut push = |k: &str, v: Option<String>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            parts.push(format!("{k}={}", js_free_encode(&v)));
        }
    };
    push("days", q.days.map(|d| d.to_string()));
    push("end", q.end.clone());
    push("category", q.category.clone());
    push("offense", q.offense.clone());
    push("district", q.district.clone());
    push("shift", q.shift.clone());
    if shade == Shade::Gi {
        push("shade", Some("gi".into()));
    }
    format!("/crime?{}", parts.join("&"))
}

/// Percent-encodes a query value (letters, digits and `-_.~` pass).
fn js_free_encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The crime view page.
#[component]
pub fn CrimePage() -> impl IntoView {
    let params = use_query_map();
    let query = Memo::new(move |_| params.with(query_from_url));
    let shade =
        Memo::new(
            move |_| {
                if params.with(|p| p.get("shade").as_deref() == Some("gi")) {
                    Shade::Gi
                } else {
                    Shade::Harm
                }
            },
        );
    let data = Resource::new(move || query.get(), get_crime_view);
    // Live: refetch when the Data Bodega changes (a mission step, a sync, a load).
    let live = crate::ui::hooks::use_live();
    Effect::new(move |prev: Option<u64>| {
        let n = live.get();
        if prev.is_some_and(|p| p != n) {
            data.refetch();
        }
        n
    });
    let config = LocalResource::new(load_map_config);
    let selected = RwSignal::new(None::<(i64, i64)>);
    let navigate = use_navigate();
    let go = Callback::new(move |(q, s): (CrimeQuery, Shade)| {
        selected.set(None);
        navigate(&url_of(&q, s), Default::default());
    });
    view! {
        <Title text="Crime view · Beatbook"/>
        <section class="page crime">
            <h1>"Crime view"</h1>
            <p class="hint"><a href="/accuracy">"How well have these hot spots predicted harm? See the accuracy scoreboard."</a></p>
            <Transition fallback=|| view! { <p class="loading">"Loading the crime view…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                        Ok(v) => view! {
                            <Filters v=v.clone() shade=shade.get_untracked() go/>
                            <Summary v=v.clone()/>
                            <TopCells v shade=shade.get_untracked() selected/>
                        }.into_any(),
                    }
                })}
            </Transition>
            <Suspense fallback=|| view! { <p class="map-loading">"Loading the map…"</p> }>
                {move || config.get().map(|c| view! { <CrimeMap config=c.data data shade selected/> })}
            </Suspense>
            <Legend shade/>
            {move || selected.get().map(|(ix, iy)| view! { <Composition query=query.get_untracked() ix iy/> })}
        </section>
    }
}

#[component]
fn Summary(v: CrimeView) -> impl IntoView {
    let hot = v.cells.iter().filter(|c| c.class > 0).count();
    view! {
        <p class="summary" data-testid="crime-summary">
            {format!(
                "{} to {}: {} incidents, {} on the map, in {} of {} cells; {} hot spots by Gi* (FDR-corrected). Harm weights: {}.",
                v.from_day, v.to_day, v.total, v.mapped,
                v.cells.iter().filter(|c| c.count > 0).count(), v.study_cells, hot, v.harm_table
            )}
        </p>
        {v.window_note.map(|n| view! { <p class="hint" data-testid="crime-window-note">{n}</p> })}
        {v.points_note.map(|n| view! { <p class="hint">{n}</p> })}
    }
}

/// The ten places the shading ranks highest, as buttons: the map's cells for keyboards and
/// screen readers.
#[component]
fn TopCells(v: CrimeView, shade: Shade, selected: RwSignal<Option<(i64, i64)>>) -> impl IntoView {
    let mut cells = v.cells.clone();
    match shade {
        Shade::Harm => cells.sort_by(|a, b| b.harm.total_cmp(&a.harm).then(b.count.cmp(&a.count))),
        Shade::Gi => cells.sort_by(|a, b| b.z.total_cmp(&a.z)),
    }
    cells.truncate(crate::crime::TOP_NAMED);
    let name = |ix: i64, iy: i64| {
        v.names
            .iter()
            .find(|n| (n.0, n.1) == (ix, iy))
            .map(|n| n.2.clone())
            .unwrap_or_else(|| format!("cell {ix}/{iy}"))
    };
    view! {
        <h2 class="visually-compact">"Top places in this view"</h2>
        <ol class="top-cells" data-testid="top-cells">
            {cells.into_iter().enumerate().map(|(i, c)| view! {
                <li>
                    <button type="button" aria-pressed=move || (selected.get() == Some((c.ix, c.iy))).to_string()
                        on:click=move |_| selected.set(Some((c.ix, c.iy)))>
                        {format!("#{} · {} · {} incidents", i + 1, name(c.ix, c.iy), c.count)}
                    </button>
                </li>
            }).collect_view()}
        </ol>
    }
}

#[component]
fn Filters(v: CrimeView, shade: Shade, go: Callback<(CrimeQuery, Shade)>) -> impl IntoView {
    let q = v.query.clone();
    let days = RwSignal::new(q.days.unwrap_or(28).to_string());
    let end = RwSignal::new(q.end.clone().unwrap_or_default());
    let category = RwSignal::new(q.category.clone().unwrap_or_default());
    let offense = RwSignal::new(q.offense.clone().unwrap_or_default());
    let district = RwSignal::new(q.district.clone().unwrap_or_default());
    let shift = RwSignal::new(q.shift.clone().unwrap_or_default());
    let shade_sig = RwSignal::new(shade);
    let apply = move || {
        let q = CrimeQuery {
            days: days.get_untracked().parse().ok(),
            end: Some(end.get_untracked()),
            category: Some(category.get_untracked()),
            offense: Some(offense.get_untracked()),
            district: Some(district.get_untracked()),
            shift: Some(shift.get_untracked()),
        };
        go.run((q, shade_sig.get_untracked()));
    };
    let select = move |label: &'static str,
                       testid: &'static str,
                       sig: RwSignal<String>,
                       options: Vec<(String, String)>| {
        view! {
            <label>{label}
                <select data-testid=testid prop:value=move || sig.get() on:change=move |ev| { sig.set(event_target_value(&ev)); apply(); }>
                    {options.into_iter().map(|(value, text)| view! { <option value=value.clone() selected=value == sig.get_untracked()>{text}</option> }).collect_view()}
                </select>
            </label>
        }
    };
    let all = |text: &str| vec![(String::new(), text.to_string())];
    // The ranking's window (the default) is offered even when it is not one of the usual ones.
    let mut windows = vec![7, 28, 56, 91, 365];
    if let Some(d) = q.days.filter(|d| !windows.contains(d)) {
        windows.push(d);
        windows.sort_unstable();
    }
    let day_options: Vec<(String, String)> = windows.iter().map(|d| (d.to_string(), format!("{d} days"))).collect();
    let categories = [
        ("violent", "Violent"),
        ("property", "Property"),
        ("quality_of_life", "Quality of life"),
        ("calls", "Calls for service"),
    ]
    .iter()
    .map(|(k, l)| (k.to_string(), l.to_string()));
    view! {
        <form class="crime-filters" on:submit=move |ev| { ev.prevent_default(); apply(); }>
            {select("Window", "filter-days", days, day_options)}
            <label>"Ending"
                <input type="date" data-testid="filter-end" prop:value=move || end.get() on:change=move |ev| { end.set(event_target_value(&ev)); apply(); }/>
            </label>
            {select("Category", "filter-category", category, all("All incidents").into_iter().chain(categories).collect())}
            {select("Offence", "filter-offense", offense, all("All offences").into_iter().chain(v.offenses.iter().map(|o| (o.clone(), o.clone()))).collect())}
            {select("District", "filter-district", district, all("Whole city").into_iter().chain(v.districts.iter().cloned()).collect())}
            {select("Shift", "filter-shift", shift, all("All hours").into_iter().chain(v.shifts.iter().cloned()).collect())}
            <fieldset class="segmented" role="radiogroup" aria-label="Shade cells by">
                <button type="button" aria-pressed=move || (shade_sig.get() == Shade::Harm).to_string() on:click=move |_| { shade_sig.set(Shade::Harm); apply(); }>"Harm"</button>
                <button type="button" data-testid="shade-gi" aria-pressed=move || (shade_sig.get() == Shade::Gi).to_string() on:click=move |_| { shade_sig.set(Shade::Gi); apply(); }>"Gi* hot spots"</button>
            </fieldset>
        </form>
    }
}

#[component]
fn Legend(shade: Memo<Shade>) -> impl IntoView {
    view! {
        <p class="legend" aria-label="Legend">
            {move || match shade.get() {
                Shade::Harm => (0..HARM_COLOURS.len()).map(|i| view! {
                    <span class=format!("swatch h{i}")></span><span>{["lowest 20 %", "", "", "", "top 20 % of cells by harm"][i]}</span>
                }).collect_view().into_any(),
                Shade::Gi => view! {
                    <span class="swatch gi3"></span>"hot 99 %"<span class="swatch gi2"></span>"95 %"<span class="swatch gi1"></span>"90 %"
                    <span class="swatch gic"></span>"cold"
                }.into_any(),
            }}
        </p>
    }
}

#[component]
fn CrimeMap(
    config: MapConfig,
    data: Resource<Result<CrimeView, crate::error::ApiError>>,
    shade: Memo<Shade>,
    selected: RwSignal<Option<(i64, i64)>>,
) -> impl IntoView {
    let center = config.centre(None);
    let handle = StoredValue::new_local(None::<MapHandle>);
    let ready = RwSignal::new(false);
    let on_map = Callback::new(move |h: MapHandle| {
        handle.set_value(Some(h));
        ready.set(true);
    });
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::prelude::*;
        let layers = StoredValue::new_local(Vec::<JsValue>::new());
        let click = StoredValue::new_local(None::<Closure<dyn FnMut(JsValue)>>);
        // Redraw when the data, the shading or the selection change.
        Effect::new(move |_| {
            let (Some(Ok(view)), true) = (data.get(), ready.get()) else { return };
            let shade = shade.get();
            let sel = selected.get();
            let Some(map) = handle.with_value(|h| h.as_ref().map(|h| h.map.clone())) else { return };
            layers.update_value(|ls| {
                for l in ls.drain(..) {
                    let _ = crate::ui::map::js::call("remove", &[l]);
                }
            });
            if click.with_value(Option::is_none) {
                let cb = Closure::<dyn FnMut(JsValue)>::new(move |key: JsValue| {
                    let parsed = key.as_string().and_then(|k| {
                        let (a, b) = k.split_once('/')?;
                        Some((a.parse().ok()?, b.parse().ok()?))
                    });
                    selected.set(parsed);
                });
                click.set_value(Some(cb));
            }
            let on_click = click.with_value(|c| c.as_ref().map(|c| c.as_ref().clone())).unwrap_or(JsValue::NULL);
            let geojson = crate::ui::map::js::to_js(&cells_geojson(&view, shade, sel));
            let mut new_layers = Vec::new();
            match crate::ui::map::js::call("cells", &[map.clone(), geojson, on_click]) {
                Ok(l) => new_layers.push(l),
                Err(e) => leptos::logging::warn!("cells not drawn: {e}"),
            }
            if let Some(points) = &view.points {
                let flat: Vec<f64> = points.iter().flat_map(|p| [p[0], p[1]]).collect();
                let array = js_sys::Float64Array::from(flat.as_slice());
                match crate::ui::map::js::call("points", &[map.clone(), array.into()]) {
                    Ok(l) => new_layers.push(l),
                    Err(e) => leptos::logging::warn!("incidents not drawn: {e}"),
                }
            }
            layers.set_value(new_layers);
            if let Some(root) =
                web_sys::window().and_then(|w| w.document()).and_then(|d| d.get_element_by_id("crime-map-state"))
            {
                let _ = root.set_attribute("data-drawn", &view.cells.len().to_string());
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (data, shade, selected);
    view! {
        <div id="crime-map-state" data-drawn="">
            <CityMap center zoom=12.0 config label="Crime map: micro places shaded, incidents clustered" class="crime-map" on_map/>
        </div>
    }
}

#[component]
fn Composition(query: CrimeQuery, ix: i64, iy: i64) -> impl IntoView {
    let comp = Resource::new(move || (query.clone(), ix, iy), |(q, ix, iy)| get_cell_composition(q, ix, iy));
    view! {
        <aside class="composition" data-testid="composition" aria-live="polite">
            <h2>{format!("Cell {ix}/{iy}")}</h2>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match comp.await {
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                        Ok(c) => view! { <CompositionBody c/> }.into_any(),
                    }
                })}
            </Transition>
        </aside>
    }
}

#[component]
fn CompositionBody(c: CellComposition) -> impl IntoView {
    let total_harm: f64 = c.parts.iter().map(|p| p.harm).sum::<f64>().max(1e-9);
    let max_week = c.weekly.iter().copied().max().unwrap_or(0).max(1) as f64;
    let label = format!("Incidents per week for 12 weeks: {:?}", c.weekly);
    view! {
        {c.label.clone().map(|l| view! { <p class="place-name" data-testid="place-name">{l}</p> })}
        <table class="parts">
            <thead><tr><th>"Offence"</th><th>"Incidents"</th><th>"Share of harm"</th></tr></thead>
            <tbody>
                {c.parts.iter().map(|p| view! {
                    <tr><td>{p.offense.clone()}</td><td>{p.count}</td><td>{format!("{:.0}%", p.harm / total_harm * 100.0)}</td></tr>
                }).collect_view()}
            </tbody>
        </table>
        <h3>"Last 12 weeks"</h3>
        <svg class="weekly" viewBox="0 0 240 60" role="img" aria-label=label data-testid="weekly-trend">
            {c.weekly.iter().enumerate().map(|(i, n)| {
                let h = *n as f64 / max_week * 50.0;
                view! { <rect x=i as f64 * 20.0 + 2.0 y=55.0 - h width="16" height=h.max(0.5)><title>{format!("week of {}: {n}", c.week_starts[i])}</title></rect> }
            }).collect_view()}
        </svg>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(harm: f64, class: i8) -> CrimeCell {
        CrimeCell { ix: 0, iy: 0, count: harm as u32, harm, z: 0.0, class }
    }

    #[test]
    fn harm_classes_follow_quantiles_and_gi_classes_their_significance() {
        let cells: Vec<CrimeCell> = (1..=10).map(|h| cell(f64::from(h), 0)).collect();
        let b = harm_breaks(&cells);
        assert_eq!(b, [3.0, 5.0, 6.0, 8.0]);
        assert_eq!(cell_fill(&cell(1.0, 0), Shade::Harm, &b).map(|f| f.0), Some(HARM_COLOURS[0]));
        assert_eq!(cell_fill(&cell(10.0, 0), Shade::Harm, &b).map(|f| f.0), Some(HARM_COLOURS[4]));
        assert_eq!(cell_fill(&cell(0.0, 0), Shade::Harm, &b), None);
        assert_eq!(cell_fill(&cell(0.0, 3), Shade::Gi, &b).map(|f| f.0), Some("#b3261e"));
        assert_eq!(cell_fill(&cell(9.0, 0), Shade::Gi, &b), None, "not significant is not drawn");
    }

    #[test]
    fn filters_round_trip_through_the_address() {
        let q = CrimeQuery {
            days: Some(56),
            end: Some("2020-11-30".into()),
            category: Some("property".into()),
            offense: Some("Theft from Vehicle".into()),
            district: Some("D1".into()),
            shift: None,
        };
        let url = url_of(&q, Shade::Gi);
        assert_eq!(
            url,
            "/crime?days=56&end=2020-11-30&category=property&offense=Theft%20from%20Vehicle&district=D1&shade=gi"
        );
    }
}
