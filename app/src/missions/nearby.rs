//! "Hot spots near you" on the officer's screen: the district's hot spots re-scored on the
//! device (WebAssembly `hotspot::score_cached`) from the aggregates it keeps, for the window and
//! tracks the officer picks, ranked near where the officer stands — the phone's position, or
//! "I am here" at one of the officer's mission places when there is no fix. Works with no
//! signal: everything it reads is on the device.

use hotspot::{near, score_cached, DeviceQuery, Epsg, GiClass, Utm};
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
}

/// The hot spots within [`RADIUS_M`] of `(lat, lon)` from the device's cache, best first.
///
/// # Errors
/// Why the cache cannot be scored (a message for the screen).
pub fn hot_spots_near(cache: &FieldCache, query: &DeviceQuery, lat: f64, lon: f64) -> Result<Vec<NearRow>, String> {
    let spots = score_cached(&cache.aggregates, query).map_err(|e| e.to_string())?;
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
    let days = RwSignal::new(28u32);
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
    let result = Memo::new(move |_| {
        let (lat, lon) = point()?;
        let query = DeviceQuery { days: days.get(), tracks: tracks.get(), half_life_days: 14.0 };
        field.cache.with(|c| c.as_ref().map(|c| hot_spots_near(c, &query, lat, lon)))
    });
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
        <section class="nearby" data-testid="nearby-hot-spots" aria-labelledby="nearby-title">
            <h2 id="nearby-title">"Hot spots near you"</h2>
            <div class="nearby-controls">
                <label>"Over the last "
                    <select on:change=move |ev| days.set(event_target_value(&ev).parse().unwrap_or(28))
                        prop:value=move || days.get().to_string()>
                        <option value="7">"7 days"</option>
                        <option value="28">"28 days"</option>
                        <option value="90">"90 days"</option>
                    </select>
                </label>
                <div class="segmented" role="group" aria-label="Kinds of harm">
                    {TRACKS.into_iter().map(|(key, label)| view! {
                        <button type="button" aria-pressed=move || tracks.with(|v| v.iter().any(|x| x == key)).to_string()
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
                let note = field.cache.with(|c| c.as_ref().map(|c| format!(
                    "Scored on this device from {} days of {} aggregates through {} ({}).",
                    c.aggregates.days,
                    if c.districts.is_empty() { "city".to_string() } else { c.districts.join(", ") },
                    c.last_date,
                    c.aggregates.harm_table,
                )));
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
                                    <span class="what">{format!("{} incidents · harm {}", r.count, r.harm)}</span>
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
