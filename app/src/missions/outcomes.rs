//! `/outcomes`: what the missions' officers reported, added up by template, district, place or
//! week over a span of shift dates (the last eight weeks by default): missions, completed, not
//! completed, follow-ups asked for, and each count field's total and yes/no field's yeses. A
//! chart of completed missions per week, the table, and the same table as CSV.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use leptos_meta::Title;
use protocol::mission::{figure_labels, GroupBy, OutcomeRow};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// What the outcomes screen shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutcomesView {
    /// The district (`None`: every district the caller may see).
    pub district: Option<String>,
    /// Districts to choose from: (code, name).
    pub districts: Vec<(String, String)>,
    /// First shift date counted.
    pub from: String,
    /// Last shift date counted.
    pub to: String,
    /// How the table is grouped.
    pub by: GroupBy,
    /// The table.
    pub rows: Vec<OutcomeRow>,
    /// The same missions by week, for the chart.
    pub weeks: Vec<OutcomeRow>,
    /// The table as CSV (a header row, then one row per group).
    pub csv: String,
}

/// The outcomes of a district's (or every district's) missions from `from` to `to`.
#[server(prefix = "/api", endpoint = "missions/outcomes", input = Json)]
pub async fn mission_outcomes(
    district: Option<String>,
    from: Option<String>,
    to: Option<String>,
    by: GroupBy,
) -> Result<OutcomesView, ApiError> {
    ssr::outcomes(district, from, to, by).await
}

/// Server side.
#[cfg(feature = "ssr")]
pub mod ssr {
    use bodega::feedback::{outcome_rollup, outcomes_csv};
    use protocol::mission::GroupBy;
    use protocol::policy::Target;
    use protocol::Action;

    use super::OutcomesView;
    use crate::auth::ssr::authorize;
    use crate::context::{context, fail, parse_day, unavailable};
    use crate::error::ApiError;

    /// Spans longer than this are refused (a year of a large department's missions is already
    /// tens of thousands of rows).
    const MAX_DAYS: i32 = 366;

    /// The outcomes.
    ///
    /// # Errors
    /// 401/403; 422 for a date that is not one or a span backwards or over a year; 503.
    pub async fn outcomes(
        district: Option<String>,
        from: Option<String>,
        to: Option<String>,
        by: GroupBy,
    ) -> Result<OutcomesView, ApiError> {
        let ctx = context()?;
        let district = crate::missions::ssr::default_district(Action::ViewPresence, district);
        let target = match &district {
            Some(d) => Target::District(d),
            None => Target::City,
        };
        let grant = authorize(&ctx, Action::ViewPresence, target, "outcomes").await?;
        let date =
            |field: &str, v: Option<String>| v.filter(|d| !d.is_empty()).map(|d| parse_day(field, &d)).transpose();
        let today = ctx.today().await?;
        let to = date("to", to)?.unwrap_or(today);
        let from = date("from", from)?.unwrap_or_else(|| to.saturating_sub(jiff::Span::new().days(55)));
        let days = (to - from).get_days();
        if days < 0 {
            return Err(fail(ApiError::invalid("from", format!("{from} is after {to}"))));
        }
        if days > MAX_DAYS {
            return Err(fail(ApiError::invalid("from", format!("at most {MAX_DAYS} days at a time ({days} asked)"))));
        }
        let subject = grant.user().subject();
        let districts = crate::missions::ssr::districts_for(&ctx, &subject, Action::ViewPresence).await?;
        let mut missions = ctx
            .bodega
            .missions_between(district.as_deref(), &from.to_string(), &to.to_string())
            .await
            .map_err(unavailable)?;
        // Every district's: only those the caller may see (a sergeant asked for none by name).
        missions.retain(|m| districts.iter().any(|(code, _)| code == &m.district));
        let rows = outcome_rollup(&missions, by);
        let weeks = outcome_rollup(&missions, GroupBy::Week);
        let csv = outcomes_csv(by, &rows).map_err(unavailable)?;
        Ok(OutcomesView { district, districts, from: from.to_string(), to: to.to_string(), by, rows, weeks, csv })
    }
}

/// `/outcomes`.
#[component]
pub fn OutcomesPage() -> impl IntoView {
    let district = RwSignal::new(None::<String>);
    let from = RwSignal::new(None::<String>);
    let to = RwSignal::new(None::<String>);
    let by = RwSignal::new(GroupBy::Template);
    let view_data = Resource::new(
        move || (district.get(), from.get(), to.get(), by.get()),
        |(d, f, t, b)| mission_outcomes(d, f, t, b),
    );
    view! {
        <Title text="Outcomes · Beatbook"/>
        <section class="page wide outcomes">
            <h1>"Outcomes"</h1>
            <p class="hint">"What officers reported on finishing their missions, added up. Counts are sums of what was entered; a yes/no field counts its yeses."</p>
            <Transition fallback=|| view! { <p class="loading">"Adding up…"</p> }>
                {move || Suspend::new(async move {
                    match view_data.await {
                        // The dates stay to be corrected: a refused range must not leave the
                        // page with nothing to change.
                        Err(e) => view! {
                            <p class="error" role="alert" data-testid="outcomes-error">{e.to_string()}</p>
                            <form class="outcomes-filter" on:submit=|ev| ev.prevent_default()>
                                <DateRange from to from_value=from.get_untracked().unwrap_or_default() to_value=to.get_untracked().unwrap_or_default()/>
                            </form>
                        }.into_any(),
                        Ok(v) => {
                            let chosen = v.district.clone().unwrap_or_default();
                            let csv = v.csv.clone();
                            let filename = format!("beatbook-outcomes-{}-{}.csv", v.from, v.to);
                            view! {
                                <form class="outcomes-filter" on:submit=|ev| ev.prevent_default()>
                                    <label>"District"
                                        <select data-testid="outcomes-district" on:change=move |ev| {
                                            let val = event_target_value(&ev);
                                            district.set(if val.is_empty() { None } else { Some(val) });
                                        }>
                                            <option value="" selected=chosen.is_empty()>"Every district"</option>
                                            {v.districts.iter().map(|(code, name)| view! {
                                                <option value=code.clone() selected=*code == chosen>{format!("{name} ({code})")}</option>
                                            }).collect_view()}
                                        </select>
                                    </label>
                                    <DateRange from to from_value=v.from.clone() to_value=v.to.clone()/>
                                    <label>"Group by"
                                        <select data-testid="outcomes-by" on:change=move |ev| {
                                            let key = event_target_value(&ev);
                                            by.set(GroupBy::ALL.into_iter().find(|g| g.key() == key).unwrap_or(GroupBy::Template));
                                        }>
                                            {GroupBy::ALL.into_iter().map(|g| view! { <option value=g.key() selected=v.by == g>{g.label()}</option> }).collect_view()}
                                        </select>
                                    </label>
                                </form>
                                {if v.rows.is_empty() {
                                    view! { <p class="empty" data-testid="no-outcomes">{format!("No missions for shifts from {} to {}: widen the dates, or plan and issue missions on Plan.", v.from, v.to)}</p> }.into_any()
                                } else {
                                    view! {
                                        <WeekChart weeks=v.weeks.clone()/>
                                        <OutcomeTable rows=v.rows.clone() by=v.by/>
                                        <DownloadCsv csv filename/>
                                    }.into_any()
                                }}
                            }.into_any()
                        }
                    }
                })}
            </Transition>
        </section>
    }
    .into_any()
}

/// The page's From and To dates, shown as `from_value` and `to_value`.
#[component]
fn DateRange(
    from: RwSignal<Option<String>>,
    to: RwSignal<Option<String>>,
    from_value: String,
    to_value: String,
) -> impl IntoView {
    view! {
        <label>"From"<input type="date" name="from" value=from_value on:change=move |ev| from.set(Some(event_target_value(&ev)))/></label>
        <label>"To"<input type="date" name="to" value=to_value on:change=move |ev| to.set(Some(event_target_value(&ev)))/></label>
    }
}

/// Completed missions per week as bars (SVG, so it prints and needs no library).
#[component]
fn WeekChart(weeks: Vec<OutcomeRow>) -> impl IntoView {
    let max = weeks.iter().map(|w| w.missions).max().unwrap_or(1).max(1) as f64;
    let bar = 36.0;
    let gap = 10.0;
    let height = 120.0;
    let width = (bar + gap) * weeks.len() as f64 + gap;
    view! {
        <figure class="week-chart" data-testid="week-chart">
            <svg viewBox=format!("0 0 {width} {}", height + 34.0) role="img"
                aria-label="Missions per week: completed (dark) of issued (light)">
                {weeks.iter().enumerate().map(|(i, w)| {
                    let x = gap + i as f64 * (bar + gap);
                    let all = height * w.missions as f64 / max;
                    let done = height * w.completed as f64 / max;
                    view! {
                        <g data-week=w.group.clone()>
                            <rect class="issued" x=x y=height - all width=bar height=all/>
                            <rect class="completed" x=x y=height - done width=bar height=done/>
                            <text x=x + bar / 2.0 y=height - all - 3.0 text-anchor="middle">{w.completed.to_string()}</text>
                            <text class="axis" x=x + bar / 2.0 y=height + 14.0 text-anchor="middle">{w.group.rsplit('-').next().unwrap_or_default().to_string()}</text>
                        </g>
                    }
                }).collect_view()}
            </svg>
            <figcaption class="hint">"Completed missions per week (the figure above each bar) of those issued (the light bar)."</figcaption>
        </figure>
    }
}

#[component]
fn OutcomeTable(rows: Vec<OutcomeRow>, by: GroupBy) -> impl IntoView {
    let labels = figure_labels(&rows);
    let head = by.label();
    view! {
        <div class="table-scroll">
            <table class="outcome-table" data-testid="outcomes">
                <thead><tr>
                    <th>{head}</th><th>"Missions"</th><th>"Completed"</th><th>"Not completed"</th><th>"Follow-ups"</th>
                    {labels.iter().map(|l| view! { <th>{l.clone()}</th> }).collect_view()}
                </tr></thead>
                <tbody>
                    {rows.into_iter().map(|r| {
                        let cells = labels.iter().map(|l| r.figures.iter().find(|(k, _)| k == l).map_or(0, |(_, n)| *n)).collect::<Vec<_>>();
                        view! {
                            <tr data-group=r.group.clone()>
                                <th scope="row">{r.group.clone()}</th>
                                <td data-col="missions">{r.missions}</td>
                                <td data-col="completed">{r.completed}</td>
                                <td data-col="not_completed">{r.not_completed}</td>
                                <td data-col="follow_ups">{r.follow_ups}</td>
                                {cells.into_iter().map(|n| view! { <td>{n}</td> }).collect_view()}
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// A link that saves the table as CSV (made in the browser from what the server sent).
#[component]
fn DownloadCsv(csv: String, filename: String) -> impl IntoView {
    let href = RwSignal::new(None::<String>);
    // Made after hydration (the server renders no link), and let go when the table changes.
    #[cfg(feature = "hydrate")]
    {
        Effect::new(move |_| {
            let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(&csv));
            let options = web_sys::BlobPropertyBag::new();
            options.set_type("text/csv");
            if let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options) {
                href.set(web_sys::Url::create_object_url_with_blob(&blob).ok());
            }
        });
        on_cleanup(move || {
            if let Some(url) = href.get_untracked() {
                let _ = web_sys::Url::revoke_object_url(&url);
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = csv;
    view! {
        {move || href.get().map(|h| view! { <a class="button" data-testid="outcomes-csv" href=h download=filename.clone()>"Download CSV"</a> })}
    }
}
