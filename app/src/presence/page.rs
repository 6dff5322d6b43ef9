//! `/presence`: the presence dashboard for a district's shift — the top harm places on a map
//! coloured by the presence they got, the table of visits and Koper minutes against harm rank,
//! the places with no presence, each mission's time in place, and each device's GPS gaps.

use leptos::prelude::*;
use leptos_meta::Title;

use super::{get_presence, PlacePresence, PresenceBoard};
use crate::ui::map::{load_map_config, CityMap};
use crate::ui::shift_picker::{use_shift_resource, ShiftPicker};

/// How a place is coloured: no presence, some, a Koper visit.
pub fn presence_class(p: &PlacePresence) -> &'static str {
    if p.koper_visits > 0 {
        "koper"
    } else if p.visits > 0 {
        "some"
    } else {
        "none"
    }
}

fn since(minutes: Option<i64>) -> String {
    match minutes {
        None => "over 24 h".into(),
        Some(m) if m < 60 => format!("{m} min"),
        Some(m) => format!("{} h {:02} min", m / 60, m % 60),
    }
}

/// The presence dashboard page.
#[component]
pub fn PresencePage() -> impl IntoView {
    let (choice, board) = use_shift_resource(get_presence);
    let config = LocalResource::new(load_map_config);
    let live = crate::ui::hooks::use_live();
    Effect::new(move |prev: Option<u64>| {
        let n = live.get();
        if prev.is_some_and(|p| p != n) {
            board.refetch();
        }
        n
    });
    view! {
        <Title text="Presence · Beatbook"/>
        <section class="page presence">
            <h1>"Presence"</h1>
            <ShiftPicker choice/>
            <Transition fallback=|| view! { <p class="loading">"Measuring presence…"</p> }>
                {move || Suspend::new(async move {
                    match board.await {
                        None => view! { <p>"Choose a district, shift and date."</p> }.into_any(),
                        Some(Err(e)) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                        Some(Ok(b)) => view! { <Board b/> }.into_any(),
                    }
                })}
            </Transition>
            <Suspense fallback=|| view! { <p class="map-loading">"Loading the map…"</p> }>
                {move || match (config.get(), board.get()) {
                    (Some(c), Some(Some(Ok(b)))) => Some(view! { <PresenceMap b config=c.data/> }),
                    _ => None,
                }}
            </Suspense>
        </section>
    }
}

/// The top harm places on the map, coloured by the presence they got.
#[component]
fn PresenceMap(b: PresenceBoard, config: crate::ui::map::MapConfig) -> impl IntoView {
    let center = b.places.first().map(|p| (p.lat, p.lon)).unwrap_or((49.25, -123.12));
    let places = b.places.clone();
    let (epsg, size) = (b.epsg, b.cell_size_m);
    let layers: ChildrenFn = std::sync::Arc::new(move || {
        use leptos_leaflet::prelude::{Polygon, Position};
        places
            .iter()
            .filter_map(|p| {
                let ring: Vec<Position> = crate::ui::map::cell_corners(epsg, size, p.ix, p.iy)?
                    .into_iter()
                    .map(|(a, b)| Position::new(a, b))
                    .collect();
                let (colour, fill) = match presence_class(p) {
                    "koper" => ("#1b7a3a", 0.55),
                    "some" => ("#f4a259", 0.55),
                    _ => ("#b3261e", 0.15),
                };
                Some(view! { <Polygon positions=ring color=colour weight=2.0 fill_color=colour fill_opacity=fill/> })
            })
            .collect_view()
            .into_any()
    });
    view! {
        <CityMap center zoom=14.0 config label="Top harm places coloured by presence" class="crime-map" children=layers/>
        <p class="legend"><span class="swatch pk"></span>"Koper visit"<span class="swatch ps"></span>"shorter presence"<span class="swatch pn"></span>"none"</p>
    }
}

/// Where a place's minutes came from, and whether a track that shows them was flagged.
fn sources(p: &PlacePresence) -> String {
    let from = match (p.device_minutes > 0.0, p.feed_minutes > 0.0) {
        (false, false) => "—".to_string(),
        (true, false) => "device".to_string(),
        (false, true) => "AVL feed".to_string(),
        (true, true) => format!("device {:.1}, AVL feed {:.1}", p.device_minutes, p.feed_minutes),
    };
    if p.flagged {
        format!("{from} ⚠ implausible speed")
    } else {
        from
    }
}

#[component]
fn Board(b: PresenceBoard) -> impl IntoView {
    let without: Vec<PlacePresence> = b.places.iter().filter(|p| p.visits == 0).take(10).cloned().collect();
    view! {
        <p class="summary" data-testid="presence-summary">
            {format!(
                "{}: {} of the top {} harm places had presence this shift; {} had a Koper visit.",
                b.district_name,
                b.places.iter().filter(|p| p.visits > 0).count(),
                b.places.len(),
                b.places.iter().filter(|p| p.koper_visits > 0).count()
            )}
        </p>
        <h2>"Top harm places without presence this shift"</h2>
        {if without.is_empty() {
            view! { <p data-testid="without-presence">"Every top place had presence."</p> }.into_any()
        } else {
            view! {
                <ol class="without" data-testid="without-presence">
                    {without.into_iter().map(|p| view! {
                        <li>{format!("#{} {} — harm {:.0}; last visit {}", p.harm_rank, p.label, p.harm, since(p.since_last_minutes))}" "<span class="hint">{format!("cell {}/{}", p.ix, p.iy)}</span></li>
                    }).collect_view()}
                </ol>
            }.into_any()
        }}
        <h2>"Harm rank and presence"</h2>
        <div class="table-wrap">
            <table class="presence-table" data-testid="presence-table">
                <thead><tr><th>"Harm #"</th><th>"Place"</th><th>"Visits"</th><th>"Koper visits"</th><th>"Koper min"</th><th>"Minutes"</th><th>"From"</th><th>"Since last"</th><th>"Presence #"</th><th>"Gap"</th></tr></thead>
                <tbody>
                    {b.places.iter().map(|p| view! {
                        <tr data-presence=presence_class(p) data-flagged=p.flagged.then_some("implausible-speed")>
                            <td>{p.harm_rank}</td>
                            <td>{p.label.clone()}<br/><span class="hint">{format!("cell {}/{}", p.ix, p.iy)}</span></td>
                            <td>{p.visits}</td>
                            <td>{p.koper_visits}</td>
                            <td>{format!("{:.1}", p.koper_minutes)}</td>
                            <td>{format!("{:.1}", p.dwell_minutes)}</td>
                            <td>{sources(p)}</td>
                            <td>{since(p.since_last_minutes)}</td>
                            <td>{p.presence_rank.map(|r| r.to_string()).unwrap_or_else(|| "—".into())}</td>
                            <td>{p.gap().map(|g| format!("{g:+}")).unwrap_or_else(|| "—".into())}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
        <h2>"Missions: time in place"</h2>
        <div class="table-wrap">
            <table class="presence-missions" data-testid="presence-missions">
                <thead><tr><th>"Place"</th><th>"Assigned"</th><th>"Status"</th><th>"Minutes in place"</th><th>"Koper visits"</th></tr></thead>
                <tbody>
                    {b.missions.iter().map(|m| view! {
                        <tr>
                            <td>{m.place_label.clone()}</td>
                            <td>{m.assignee.clone().unwrap_or_else(|| "—".into())}</td>
                            <td>{m.status.clone()}</td>
                            <td>{m.minutes_in_place.map(|x| format!("{x:.1}")).unwrap_or_else(|| "no GPS".into())}</td>
                            <td>{m.koper_visits.map(|x| x.to_string()).unwrap_or_else(|| "—".into())}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
        <h2>"GPS coverage"</h2>
        {if b.coverage.is_empty() {
            view! { <p data-testid="coverage">"No GPS from any device during this shift."</p> }.into_any()
        } else {
            view! {
                <ul class="coverage" data-testid="coverage">
                    {b.coverage.iter().map(|c| view! {
                        <li data-flagged=(!c.implausible.is_empty()).then_some("implausible-speed")>{format!(
                            "{} ({}): {} fixes {}–{}{}{}{}",
                            c.device, c.source.label(), c.fixes, c.first, c.last,
                            if c.inaccurate > 0 { format!(", {} too inaccurate to use", c.inaccurate) } else { String::new() },
                            if c.gaps.is_empty() { String::new() } else { format!("; no GPS {}", c.gaps.join(", ")) },
                            if c.implausible.is_empty() {
                                String::new()
                            } else {
                                format!("; ⚠ implausible speed {}", c.implausible.join(", "))
                            }
                        )}</li>
                    }).collect_view()}
                </ul>
            }.into_any()
        }}
        <p class="hint">{b.rules.clone()}</p>
    }
}
