//! `/`: the city at a glance — totals, offences, and the micro-place map.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::auth::MeResource;
use crate::city::WithOverview;
use crate::format::thousands;
use crate::model::{CityOverview, MapCell};

/// Shading classes for the map: the upper bounds of the first four classes, as quantiles of the
/// non-empty cells' counts (the fifth class holds the rest).
fn class_breaks(cells: &[MapCell]) -> [u32; 4] {
    let mut counts: Vec<u32> = cells.iter().map(|c| c.count).collect();
    counts.sort_unstable();
    let q = |p: f64| counts.get(((counts.len() as f64 - 1.0) * p) as usize).copied().unwrap_or(0);
    [q(0.5), q(0.75), q(0.9), q(0.97)]
}

fn class_of(count: u32, breaks: &[u32; 4]) -> usize {
    breaks.iter().position(|b| count <= *b).unwrap_or(4)
}

/// The micro-place map: one square per non-empty cell, shaded by incident count, north up.
#[component]
fn CellMap(overview: CityOverview) -> impl IntoView {
    let cells = overview.cells;
    if cells.is_empty() {
        return view! { <p class="empty">"No located incidents to map yet."</p> }.into_any();
    }
    let (min_x, max_x) = cells.iter().fold((i64::MAX, i64::MIN), |(a, b), c| (a.min(c.ix), b.max(c.ix)));
    let (min_y, max_y) = cells.iter().fold((i64::MAX, i64::MIN), |(a, b), c| (a.min(c.iy), b.max(c.iy)));
    let breaks = class_breaks(&cells);
    let (w, h) = (max_x - min_x + 1, max_y - min_y + 1);
    let label = format!(
        "Map of {} micro places of {} m with at least one incident; darker is more incidents.",
        cells.len(),
        overview.cell_size_m
    );
    let rects = cells
        .iter()
        .map(|c| {
            let class = format!("c{}", class_of(c.count, &breaks));
            view! {
                <rect x=c.ix - min_x y=max_y - c.iy width="1" height="1" class=class>
                    <title>{format!("{} incidents", c.count)}</title>
                </rect>
            }
        })
        .collect_view();
    view! {
        <figure class="cell-map">
            <svg viewBox=format!("0 0 {w} {h}") role="img" aria-label=label.clone() preserveAspectRatio="xMidYMid meet">
                {rects}
            </svg>
            <figcaption>
                {label}
                <span class="legend">
                    <i class="c0"></i>"≤" {breaks[0]} <i class="c1"></i>"≤" {breaks[1]}
                    <i class="c2"></i>"≤" {breaks[2]} <i class="c3"></i>"≤" {breaks[3]} <i class="c4"></i>"more"
                </span>
            </figcaption>
        </figure>
    }
    .into_any()
}

#[component]
fn OffenseTable(overview: CityOverview) -> impl IntoView {
    view! {
        <table class="offenses" data-testid="offense-table">
            <thead>
                <tr><th scope="col">"Offence"</th><th scope="col" class="num">"Incidents"</th><th scope="col" class="num">"Mapped"</th></tr>
            </thead>
            <tbody>
                {overview
                    .by_offense
                    .into_iter()
                    .map(|o| view! {
                        <tr><td>{o.offense}</td><td class="num">{thousands(o.total)}</td><td class="num">{thousands(o.located)}</td></tr>
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

/// `/`: the city at a glance.
#[component]
pub fn Overview() -> impl IntoView {
    let show_table = RwSignal::new(false);
    let render = move |o: CityOverview| {
        let without = o.incidents - o.located - o.geo_flagged;
        let period = match (&o.first_day, &o.last_day) {
            (Some(a), Some(b)) => format!("{a} – {b}"),
            _ => "no incidents yet".to_string(),
        };
        let (map_data, table_data) = (o.clone(), o.clone());
        view! {
            <dl class="stats">
                <div><dt>"Incidents"</dt><dd data-testid="incident-count">{thousands(o.incidents)}</dd></div>
                <div><dt>"On the map"</dt><dd>{thousands(o.located)}</dd></div>
                <div><dt>"Location withheld"</dt><dd>{thousands(without)}</dd></div>
                <div><dt>"Unknown or stray location"</dt><dd>{thousands(o.geo_flagged)}</dd></div>
                <div><dt>"Period"</dt><dd>{period}</dd></div>
            </dl>
            <div class="segmented" role="group" aria-label="Show as">
                <button type="button" aria-pressed=move || (!show_table.get()).to_string()
                    on:click=move |_| show_table.set(false)>"Map"</button>
                <button type="button" aria-pressed=move || show_table.get().to_string()
                    on:click=move |_| show_table.set(true)>"Table"</button>
            </div>
            <Show when=move || show_table.get() fallback=move || view! { <CellMap overview=map_data.clone()/> }>
                <OffenseTable overview=table_data.clone()/>
            </Show>
        }
        .into_any()
    };
    let me = expect_context::<MeResource>().0;
    view! {
        <Title text="City overview · Beatbook"/>
        <Transition fallback=|| ()>
            {move || {
                Suspend::new(async move {
                    // Administrators see no crime data (the policy keeps them apart): their start
                    // is the department's setup and accounts.
                    let administrator = me.await.is_some_and(|m| {
                        !m.may(protocol::Action::ViewOverview) && m.may(protocol::Action::ManageSetup)
                    });
                    if administrator {
                        return view! { <AdministratorStart/> }.into_any();
                    }
                    view! {
                        <section class="page">
                            <h1>"City overview"</h1>
                            <WithOverview loading="Loading the city…" render/>
                        </section>
                    }
                    .into_any()
                })
            }}
        </Transition>
    }
}

/// An administrator's start: where the department is set up and who may do what.
#[component]
fn AdministratorStart() -> impl IntoView {
    view! {
        <section class="page" data-testid="administrator-start">
            <h1>"Administration"</h1>
            <ul class="checklist">
                <li><span class="what"><a href="/setup"><strong>"Setup"</strong></a>" "<span class="hint">"The first-run checklist (what a first mission still needs) and the shift patterns."</span></span></li>
                <li><span class="what"><a href="/admin/users"><strong>"Accounts"</strong></a>" "<span class="hint">"Roles and districts: who may see and do what."</span></span></li>
                <li><span class="what"><a href="/admin/devices"><strong>"Devices"</strong></a>" "<span class="hint">"Phones and laptops; revoke one that is lost."</span></span></li>
                <li><span class="what"><a href="/admin/audit"><strong>"Audit"</strong></a>" "<span class="hint">"Who did what, when, from where."</span></span></li>
            </ul>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_follow_quantiles() {
        let cells: Vec<MapCell> = (1..=100).map(|n| MapCell { ix: n, iy: 0, count: n as u32 }).collect();
        let b = class_breaks(&cells);
        assert_eq!(b, [50, 75, 90, 97]);
        assert_eq!(class_of(1, &b), 0);
        assert_eq!(class_of(76, &b), 2);
        assert_eq!(class_of(100, &b), 4);
    }
}
