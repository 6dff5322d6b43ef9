//! "Hot spots near you" on the officer's screen, ranked near where the officer stands — the
//! phone's position, or "I am here" at one of the officer's mission places when there is no
//! fix. By default by the forecast for the next 12 hours the sync brought (each cell's expected
//! harm by the ranking the district's backtest chose, `crate::shift::choice`); or re-scored on
//! the device (WebAssembly `hotspot::score_cached`) from the aggregates it keeps, for the window
//! and tracks the officer picks. Works with no signal: everything it reads is on the device.

use std::collections::HashMap;

use hotspot::{near, score_cached, CellKey, DeviceQuery, Epsg, GiClass, HotSpot, Lattice, Utm};
use leptos::prelude::*;
use protocol::mission::Mission;

use crate::device::cache::FieldCache;
use crate::device::FieldStore;
use crate::geo::{compass, distance_text};

/// How far around the officer hot spots are listed, metres.
pub const RADIUS_M: f64 = 1_500.0;
/// How many are listed.
pub const TOP: usize = 8;

/// The tracks an officer can pick, with their labels.
pub const TRACKS: [(&str, &str); 3] =
    [("violent", "Violent"), ("property", "Property"), ("quality_of_life", "Quality of life")];

/// One listed hot spot.
#[derive(Debug, Clone, PartialEq)]
pub struct NearRow {
    /// Rank in the district for the chosen window and tracks.
    pub rank: usize,
    /// The place's name, when the device has one for it.
    pub name: Option<String>,
    /// Incidents in the window.
    pub count: u32,
    /// Harm in the window.
    pub harm: f64,
    /// Metres from the officer.
    pub distance_m: f64,
    /// Degrees from grid north.
    pub bearing_deg: f64,
    /// Gi* class.
    pub gi: GiClass,
    /// Expected incidents or harm in the forecast's 12 hours, when ranked by it.
    pub expected: Option<f64>,
}

/// Milliseconds on the browser's clock (0 on the server, which never ranks here).
fn now_ms() -> f64 {
    #[cfg(feature = "hydrate")]
    {
        web_sys::window().and_then(|w| w.performance()).map_or_else(js_sys::Date::now, |p| p.now())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        0.0
    }
}

/// Whether the cache carries a forecast the device can place (keyed in its aggregates' zone).
pub fn has_forecast(cache: &FieldCache) -> bool {
    cache.forecasts.iter().any(|f| f.epsg == cache.aggregates.epsg)
}

/// The window value that means "the forecast for the next 12 hours".
pub const FORECAST: u32 = 0;

/// The cache's hot spots ranked by its forecast instead of the window's harm: every cell with an
/// expected value, most first (ties by the window's rank, then west-to-east, south-to-north),
/// with the window's counts beside it; `None` when the cache carries no forecast.
fn by_forecast(cache: &FieldCache, spots: &[HotSpot]) -> Result<Option<Vec<(HotSpot, f64)>>, String> {
    if !has_forecast(cache) {
        return Ok(None);
    }
    let a = &cache.aggregates;
    let epsg = Epsg::utm(a.epsg).map_err(|e| e.to_string())?;
    let lattice = Lattice::new(epsg, a.cell_size_m).map_err(|e| e.to_string())?;
    let scored: HashMap<(i64, i64), &HotSpot> = spots.iter().map(|s| ((s.key.ix, s.key.iy), s)).collect();
    let mut ranked: Vec<(HotSpot, f64)> = cache
        .forecasts
        .iter()
        .filter(|f| f.epsg == a.epsg)
        .flat_map(|f| f.cells.iter())
        .map(|&(ix, iy, expected)| {
            let spot = scored.get(&(ix, iy)).map(|s| **s).unwrap_or_else(|| {
                let key = CellKey { epsg, size_m: a.cell_size_m, ix, iy };
                let b = lattice.bounds(key);
                HotSpot {
                    key,
                    x: (b.min().x + b.max().x) / 2.0,
                    y: (b.min().y + b.max().y) / 2.0,
                    count: 0,
                    harm: 0.0,
                    decayed: 0.0,
                    gi_z: 0.0,
                    gi_class: GiClass::None,
                    rank: usize::MAX,
                }
            });
            (spot, expected)
        })
        .collect();
    ranked.sort_by(|a, b| {
        b.1.total_cmp(&a.1).then(a.0.rank.cmp(&b.0.rank)).then((a.0.key.ix, a.0.key.iy).cmp(&(b.0.key.ix, b.0.key.iy)))
    });
    for (i, (s, _)) in ranked.iter_mut().enumerate() {
        s.rank = i + 1;
    }
    Ok(Some(ranked))
}

/// The hot spots within [`RADIUS_M`] of `(lat, lon)` from the device's cache, best first.
///
/// # Errors
/// Why the cache cannot be scored (a message for the screen).
pub fn hot_spots_near(
    cache: &FieldCache,
    query: &DeviceQuery,
    lat: f64,
    lon: f64,
    forecast: bool,
) -> Result<Vec<NearRow>, String> {
    let mut spots = score_cached(&cache.aggregates, query).map_err(|e| e.to_string())?;
    let mut expected: HashMap<(i64, i64), f64> = HashMap::new();
    if forecast {
        if let Some(ranked) = by_forecast(cache, &spots)? {
            expected = ranked.iter().map(|(s, e)| ((s.key.ix, s.key.iy), *e)).collect();
            spots = ranked.into_iter().map(|(s, _)| s).collect();
        }
    }
    let utm = Utm::new(Epsg::utm(cache.aggregates.epsg).map_err(|e| e.to_string())?);
    let (x, y) = utm.forward(lon, lat).map_err(|e| e.to_string())?;
    let name = |ix: i64, iy: i64| {
        // Sorted by (ix, iy) on the server.
        cache.place_names.binary_search_by(|p| (p.0, p.1).cmp(&(ix, iy))).ok().map(|i| cache.place_names[i].2.clone())
    };
    Ok(near(&spots, x, y, RADIUS_M, TOP)
        .into_iter()
        .map(|(s, n)| NearRow {
            rank: s.rank,
            name: name(s.key.ix, s.key.iy),
            count: s.count,
            harm: s.harm,
            distance_m: n.distance_m,
            bearing_deg: n.bearing_deg,
            gi: s.gi_class,
            expected: expected.get(&(s.key.ix, s.key.iy)).copied(),
        })
        .collect())
}

fn gi_text(g: GiClass) -> &'static str {
    match g {
        GiClass::Hot99 => "hot spot (99 %)",
        GiClass::Hot95 => "hot spot (95 %)",
        GiClass::Hot90 => "hot spot (90 %)",
        _ => "",
    }
}

/// The "Hot spots near you" section.
#[component]
pub fn NearbyHotSpots(
    /// The phone's fix `(lat, lon, accuracy)`.
    position: RwSignal<Option<(f64, f64, f64)>>,
    /// The officer's missions (for "I am here").
    missions: Signal<Vec<Mission>>,
) -> impl IntoView {
    let field = expect_context::<FieldStore>();
    // The forecast by default; a window the officer picks re-scores the kept aggregates.
    let days = RwSignal::new(FORECAST);
    let tracks = RwSignal::new(Vec::<String>::new());
    // "" = the phone's position; otherwise "I am at" the mission with that id.
    let here = RwSignal::new(String::new());
    let point = move || {
        let chosen = here.get();
        if chosen.is_empty() {
            position.get().map(|(lat, lon, _)| (lat, lon))
        } else {
            missions.with(|ms| ms.iter().find(|m| m.id == chosen).map(|m| m.place.centre()))
        }
    };
    // The ranking and how long it took on this device (milliseconds), for end2end/bench.
    let result = Memo::new(move |_| {
        let (lat, lon) = point()?;
        let started = now_ms();
        let forecast = days.get() == FORECAST && field.cache.with(|c| c.as_ref().is_some_and(has_forecast));
        // The forecast ranks all harm; beside it, each place's incidents over 90 days. With no
        // forecast on the device (a copy from before them), the 28 days ranks, as it used to.
        let query = if forecast {
            DeviceQuery { days: 90, tracks: Vec::new(), half_life_days: 14.0 }
        } else {
            let window = if days.get() == FORECAST { 28 } else { days.get() };
            DeviceQuery { days: window, tracks: tracks.get(), half_life_days: 14.0 }
        };
        let ranked = field.cache.with(|c| c.as_ref().map(|c| hot_spots_near(c, &query, lat, lon, forecast)))?;
        Some((ranked, now_ms() - started))
    });
    let ranked_ms = move || result.with(|r| r.as_ref().map(|(_, ms)| format!("{ms:.1}")));
    let forecast_cells = move || {
        field.cache.with(|c| c.as_ref().map(|c| c.forecasts.iter().map(|f| f.cells.len()).sum::<usize>().to_string()))
    };
    let result = Memo::new(move |_| result.get().map(|(r, _)| r));
    let toggle = move |t: &'static str| {
        tracks.update(|v| {
            if let Some(i) = v.iter().position(|x| x == t) {
                v.remove(i);
            } else {
                v.push(t.to_string());
            }
        })
    };
    view! {
        <section class="nearby" data-testid="nearby-hot-spots" aria-labelledby="nearby-title"
            data-ranked-ms=ranked_ms data-forecast-cells=forecast_cells>
            <h2 id="nearby-title">"Hot spots near you"</h2>
            <div class="nearby-controls">
                <label>"Ranked by "
                    <select data-testid="nearby-window" on:change=move |ev| days.set(event_target_value(&ev).parse().unwrap_or(FORECAST))
                        prop:value=move || days.get().to_string()>
                        <option value=FORECAST.to_string()>"the next 12 hours' forecast"</option>
                        <option value="7">"7 days"</option>
                        <option value="28">"28 days"</option>
                        <option value="90">"90 days"</option>
                    </select>
                </label>
                <div class="segmented" role="group" aria-label="Kinds of harm">
                    {TRACKS.into_iter().map(|(key, label)| view! {
                        <button type="button" aria-pressed=move || tracks.with(|v| v.iter().any(|x| x == key)).to_string()
                            disabled=move || days.get() == FORECAST && field.cache.with(|c| c.as_ref().is_some_and(has_forecast))
                            on:click=move |_| toggle(key)>{label}</button>
                    }).collect_view()}
                </div>
                <label>"I am "
                    <select data-testid="i-am-here" on:change=move |ev| here.set(event_target_value(&ev))>
                        <option value="">"where my phone says"</option>
                        {move || missions.get().into_iter().map(|m| view! {
                            <option value=m.id.clone()>{format!("at {}", m.place_label)}</option>
                        }).collect_view()}
                    </select>
                </label>
            </div>
            {move || {
                let forecast = days.get() == FORECAST && field.cache.with(|c| c.as_ref().is_some_and(has_forecast));
                // A forecast made more than 12 hours ago has run out: said, until the next sync.
                let run_out = |c: &FieldCache| !c.forecasts.is_empty() && now_ms() / 1000.0 - c.generated_at as f64 > 12.0 * 3_600.0;
                let note = field.cache.with(|c| c.as_ref().map(|c| match c.forecasts.as_slice() {
                    _ if forecast && run_out(c) => format!(
                        "The forecast on this device was made more than 12 hours ago and has run out: a fresh one comes with the next sync. Pick a window meanwhile (data through {}).",
                        c.last_date,
                    ),
                    [f] if forecast => format!(
                        "The next 12 hours' forecast from {} ({}), ranked by {}: {}. Pick a window to rank one kind of harm.",
                        c.last_date,
                        c.aggregates.harm_table,
                        f.method,
                        f.why,
                    ),
                    [_, ..] if forecast => format!(
                        "The next 12 hours' forecast from {} ({}), each district by the ranking its backtest chose: {}. Pick a window to rank one kind of harm.",
                        c.last_date,
                        c.aggregates.harm_table,
                        c.forecasts.iter().map(|f| format!("{} by {}", f.district, f.method)).collect::<Vec<_>>().join("; "),
                    ),
                    _ => format!(
                        "Scored on this device from {} days of {} aggregates through {} ({}).",
                        c.aggregates.days,
                        if c.districts.is_empty() { "city".to_string() } else { c.districts.join(", ") },
                        c.last_date,
                        c.aggregates.harm_table,
                    ),
                }));

                match (result.get(), note) {
                    (_, None) => view! { <p class="empty">"No hot-spot data on this device yet; it comes with the next sync."</p> }.into_any(),
                    (None, Some(note)) => view! {
                        <p class="hint">"Waiting for your position — or pick a mission place under “I am”."</p>
                        <p class="hint">{note}</p>
                    }.into_any(),
                    (Some(Err(e)), Some(_)) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
                    (Some(Ok(rows)), Some(note)) if rows.is_empty() => view! {
                        <p class="empty">{format!("No hot spots within {} of you.", distance_text(RADIUS_M))}</p>
                        <p class="hint">{note}</p>
                    }.into_any(),
                    (Some(Ok(rows)), Some(note)) => view! {
                        <ol class="nearby-list">
                            {rows.into_iter().map(|r| view! {
                                <li data-rank=r.rank.to_string() data-distance-m=format!("{:.0}", r.distance_m)>
                                    <span class="rank">{format!("#{}", r.rank)}</span>
                                    {r.name.clone().map(|n| view! { <span class="place-name">{n}</span> })}
                                    <span class="what">{match r.expected {
                                        Some(e) => format!("harm {e:.2} expected in 12 h · {} incidents in 90 days", r.count),
                                        None => format!("{} incidents · harm {}", r.count, r.harm),
                                    }}</span>
                                    <span class="where">{format!("{} {}", distance_text(r.distance_m), compass(r.bearing_deg))}</span>
                                    <span class="gi">{gi_text(r.gi)}</span>
                                </li>
                            }).collect_view()}
                        </ol>
                        <p class="hint">{note}</p>
                    }.into_any(),
                }
            }}
        </section>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use hotspot::{Aggregates, CachedOffense};

    use super::*;
    use crate::shift::choice::DeviceForecast;

    /// Three cells in a row 150 m apart near (49.28 N, 123.12 W): the window's harm ranks them
    /// 3300 > 3301, the forecast 3302 (no incident in the window) > 3301 > 3300.
    fn cache(with_forecast: bool) -> FieldCache {
        let forecast = DeviceForecast {
            district: "D1".into(),
            method: "the incident count over 365 days".into(),
            why: "count 365 days: no method beat it".into(),
            from: 0,
            epsg: 32610,
            cells: vec![(3300, 36_400, 0.10), (3301, 36_400, 0.25), (3302, 36_400, 0.40)],
        };
        FieldCache {
            districts: vec!["D1".into()],
            aggregates: Aggregates {
                epsg: 32610,
                cell_size_m: 150,
                harm_table: "test 1".into(),
                last_day: 18_600,
                days: 180,
                offenses: vec![CachedOffense { offense: "Theft".into(), track: "property".into(), weight: 1.0 }],
                rows: vec![(3300, 36_400, 18_600, 0, 6), (3301, 36_400, 18_599, 0, 2)],
            },
            last_date: "2020-12-05".into(),
            generated_at: 0,
            supervisors: Vec::new(),
            place_names: Vec::new(),
            forecasts: if with_forecast { vec![forecast] } else { Vec::new() },
        }
    }

    /// The centre of cell (3301, 36400) as latitude and longitude.
    fn middle() -> (f64, f64) {
        let lattice = Lattice::new(Epsg::utm(32610).expect("zone"), 150).expect("lattice");
        let b = lattice.bounds(CellKey { epsg: Epsg::utm(32610).expect("zone"), size_m: 150, ix: 3301, iy: 36_400 });
        let (lon, lat) = lattice.utm().inverse((b.min().x + b.max().x) / 2.0, (b.min().y + b.max().y) / 2.0);
        (lat, lon)
    }

    #[test]
    fn the_forecast_ranks_the_places_near_you_and_a_window_the_kept_harm() {
        let (lat, lon) = middle();
        let q = DeviceQuery { days: 90, tracks: Vec::new(), half_life_days: 14.0 };
        let by_forecast = hot_spots_near(&cache(true), &q, lat, lon, true).expect("ranks");
        let order: Vec<(usize, Option<f64>, u32)> = by_forecast.iter().map(|r| (r.rank, r.expected, r.count)).collect();
        // A place with no incident in the window still ranks first by its forecast.
        assert_eq!(order, [(1, Some(0.40), 0), (2, Some(0.25), 2), (3, Some(0.10), 6)]);
        let by_window = hot_spots_near(&cache(true), &q, lat, lon, false).expect("ranks");
        let order: Vec<(usize, Option<f64>, u32)> = by_window.iter().map(|r| (r.rank, r.expected, r.count)).collect();
        assert_eq!(order, [(1, None, 6), (2, None, 2)]);
        // A cache from before forecasts (or with none) ranks by the window, whatever is asked.
        assert_eq!(hot_spots_near(&cache(false), &q, lat, lon, true).expect("ranks"), by_window);
    }
}
