//! `/snapshot`: the Chief's Daily Snapshot for a date, as a page that prints on one or two
//! sheets, with the PDF and CSV beside it.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};

use super::{change_text, get_snapshot, CategoryRow, DistrictMissions, HotSpotRow, Snapshot};
use crate::ui::charts::{LorenzCurve, Sparkline};

#[component]
fn CategoryTable(rows: Vec<CategoryRow>) -> impl IntoView {
    let windows: Vec<String> =
        rows.first().map(|r| r.windows.iter().map(|w| w.window.clone()).collect()).unwrap_or_default();
    view! {
        <table class="snapshot-counts" data-testid="snapshot-counts">
            <thead>
                <tr>
                    <th scope="col">"Category"</th>
                    {windows.iter().map(|w| view! { <th scope="col" colspan="3">{w.clone()}</th> }).collect_view()}
                    <th scope="col">"Last 28 days"</th>
                </tr>
                <tr class="sub">
                    <th></th>
                    {windows.iter().map(|_| view! { <th>"n"</th><th>"vs prior"</th><th>"vs last yr"</th> }).collect_view()}
                    <th></th>
                </tr>
            </thead>
            <tbody>
                {rows.into_iter().map(|r| {
                    let label = r.label.clone();
                    view! {
                        <tr data-category=r.key.clone()>
                            <th scope="row">{r.label.clone()}</th>
                            {r.windows.iter().map(|w| view! {
                                <td class="n">{w.current}</td>
                                <td class="chg">{change_text(w.change_prior())}</td>
                                <td class="chg">{change_text(w.change_last_year())}</td>
                            }).collect_view()}
                            <td><Sparkline values=r.daily.clone() label=format!("{label}, daily over 28 days")/></td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn HotSpotTable(rows: Vec<HotSpotRow>) -> impl IntoView {
    let max = rows.iter().map(|r| r.harm).fold(0.0_f64, f64::max).max(1.0);
    view! {
        <table class="snapshot-hotspots" data-testid="snapshot-hotspots">
            <thead><tr><th>"#"</th><th>"Moved"</th><th>"Place"</th><th>"District"</th><th>"Harm"</th><th>"Most frequent"</th></tr></thead>
            <tbody>
                {rows.into_iter().map(|r| view! {
                    <tr>
                        <td>{r.rank}</td>
                        <td class="moved">{r.movement()}</td>
                        <td class="place" title=format!("{} — cell {}/{}", r.label, r.ix, r.iy)>
                            <span class="clip">{r.label.clone()}</span>" "<span class="hint grid-ref">{format!("cell {}/{}", r.ix, r.iy)}</span>
                        </td>
                        <td>{r.district.clone().unwrap_or_else(|| "—".into())}</td>
                        <td class="bar-cell">
                            <svg class="bar" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true">
                                <rect x="0" y="0" height="10" width=format!("{:.1}", r.harm / max * 100.0)/>
                            </svg>
                            <span>{format!("{:.0}", r.harm)}</span>
                        </td>
                        <td>{r.top_offense.clone()}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn MissionTable(rows: Vec<DistrictMissions>) -> impl IntoView {
    view! {
        <table class="snapshot-missions" data-testid="snapshot-missions">
            <thead><tr><th>"District"</th><th>"Planned"</th><th>"Acknowledged"</th><th>"Completed"</th><th>"Koper compliance"</th></tr></thead>
            <tbody>
                {rows.into_iter().map(|r| {
                    let koper = match r.koper_compliance() {
                        Some(p) => format!("{p:.0}% ({} of {})", r.koper_compliant, r.koper_with_gps),
                        None => "no GPS".to_string(),
                    };
                    view! {
                        <tr>
                            <th scope="row">{r.district.clone()}</th>
                            <td>{r.planned}</td><td>{r.acknowledged}</td><td>{r.completed}</td><td>{koper}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// The snapshot's content (the page's body; also rendered alone by `server snapshot`).
#[component]
pub fn SnapshotBody(s: Snapshot) -> impl IntoView {
    let c = s.concentration.clone();
    let date = s.date.clone();
    view! {
        <header class="snapshot-head">
            <h1>{format!("Chief's Daily Snapshot — {}", s.date)}</h1>
            <p class="meta">
                {format!(
                    "Local days in {}. Data through {}. Harm weights: {}. Changes are shown when the base is at least {}.",
                    s.time_zone,
                    s.data_through.clone().unwrap_or_else(|| "—".into()),
                    s.harm_table,
                    super::MIN_BASE
                )}
            </p>
            <p class="downloads no-print">
                <a href=format!("/snapshot/{date}.pdf") download>"PDF"</a>
                " · "
                <a href=format!("/snapshot/{date}.csv") download>"CSV"</a>
                " · "
                <button type="button" class="secondary" data-testid="print" on:click=move |_| {
                    #[cfg(feature = "hydrate")]
                    if let Some(w) = web_sys::window() {
                        let _ = w.print();
                    }
                }>"Print"</button>
            </p>
        </header>
        <section>
            <h2>"Counts by category"</h2>
            <CategoryTable rows=s.categories.clone()/>
            {s.last_year_note().map(|n| view! { <p class="hint" data-testid="last-year-note">{n}</p> })}
        </section>
        <div class="snapshot-pair">
            <section>
                <h2>"Concentration"</h2>
                <p data-testid="concentration">
                    {format!(
                        "The top 1% of {} cells hold {:.0}% of the 28 days' harm; the top 5% hold {:.0}%.",
                        c.cells,
                        c.top_1 * 100.0,
                        c.top_5 * 100.0
                    )}
                </p>
                <LorenzCurve c=c.clone()/>
            </section>
            <section>
                <h2>"Missions today"</h2>
                <MissionTable rows=s.missions.clone()/>
            </section>
        </div>
        <section>
            <h2>"Top 10 harm hot spots (28 days)"</h2>
            <HotSpotTable rows=s.hot_spots.clone()/>
        </section>
        <section>
            <h2>"Notable incidents (7 days)"</h2>
            {if s.notable.is_empty() {
                view! { <p>"None."</p> }.into_any()
            } else {
                view! {
                    <ul class="notable" data-testid="notable">
                        {s.notable.iter().map(|n| view! {
                            <li>{format!("{} · {} · {} · {}", n.when, n.offense, if n.address.is_empty() { "location withheld" } else { &n.address }, n.district.clone().unwrap_or_else(|| "—".into()))}</li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
    }
}

/// The snapshot page.
#[component]
pub fn SnapshotPage() -> impl IntoView {
    let query = use_query_map();
    let date = move || query.with(|q| q.get("date").unwrap_or_default());
    let snapshot = Resource::new(date, get_snapshot);
    // Live: refetch when the Data Bodega changes (a mission step, a sync, a load).
    let live = crate::ui::hooks::use_live();
    Effect::new(move |prev: Option<u64>| {
        let n = live.get();
        if prev.is_some_and(|p| p != n) {
            snapshot.refetch();
        }
        n
    });
    let navigate = use_navigate();
    view! {
        <Title text="Chief's Daily Snapshot · Beatbook"/>
        <section class="page snapshot">
            <p class="no-print date-pick">
                <label>"Date "
                    <input type="date" name="date" data-testid="snapshot-date" prop:value=date on:change=move |ev| {
                        navigate(&format!("/snapshot?date={}", event_target_value(&ev)), Default::default());
                    }/>
                </label>
            </p>
            <Transition fallback=|| view! { <p class="loading">"Computing the snapshot…"</p> }>
                {move || Suspend::new(async move {
                    match snapshot.await {
                        Ok(s) => view! { <SnapshotBody s/> }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// The snapshot as one standalone HTML document (styles inline), for `server snapshot`.
#[cfg(feature = "ssr")]
pub fn standalone_html(s: &Snapshot) -> String {
    const CSS: &str = include_str!("../../../style/main.css");
    let s = s.clone();
    let body = Owner::new().with(|| view! { <main class="page snapshot"><SnapshotBody s/></main> }.to_html());
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Chief's Daily Snapshot</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><style>{CSS}</style></head>\
         <body>{body}</body></html>"
    )
}
