//! `/plan`: a district's shift planned from the recommendations (command staff, analysts, and a
//! district's sergeant for the district). Each proposal comes with the template its dominant
//! harm track calls for; the planner may choose another from the Mission Menu and write the
//! instructions (the template's goal until they do) and a time window within the shift. A mission can also go to a place of the
//! planner's own choosing, tapped on the map, for the whole shift or a time window within it.

use std::collections::{BTreeMap, BTreeSet};

use leptos::prelude::*;
use leptos_meta::Title;

use super::{issue_missions, recommend, IssueItem, ShiftRef};
use crate::ui::shift_picker::{use_shift_resource, ShiftPicker};

/// A new mission's id, made on the device that plans it.
pub(super) fn new_mission_id() -> String {
    #[cfg(feature = "hydrate")]
    {
        crate::device::vault::browser::new_uuid()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        String::new()
    }
}

/// `/plan`: proposals for a district's shift; accept, edit or reject each; issue.
#[component]
pub fn PlanShift() -> impl IntoView {
    let (choice, recs) = use_shift_resource(recommend);
    let rejected = RwSignal::new(BTreeSet::<u32>::new());
    // The planner's changes by rank: another template, other instructions.
    let chosen_template = RwSignal::new(BTreeMap::<u32, i64>::new());
    let written = RwSignal::new(BTreeMap::<u32, String>::new());
    // A time window within the shift, by rank: (from, until), local; both empty: the whole shift.
    let windows = RwSignal::new(BTreeMap::<u32, (String, String)>::new());
    let message = RwSignal::new(None::<Result<String, String>>);
    let issue = Action::new(move |items: &(ShiftRef, Vec<IssueItem>)| {
        let (s, items) = items.clone();
        async move { issue_missions(s, items).await }
    });
    Effect::new(move |_| {
        if let Some(result) = issue.value().get() {
            message.set(Some(match result {
                Ok(m) => Ok(format!("Issued {} mission{}.", m.len(), if m.len() == 1 { "" } else { "s" })),
                Err(e) => Err(e.to_string()),
            }));
            recs.refetch();
        }
    });
    view! {
        <Title text="Plan a shift · Beatbook"/>
        <section class="page">
            <h1>"Plan a shift"</h1>
            <ShiftPicker choice/>
            {move || message.get().map(|m| match m {
                Ok(text) => view! { <p class="notice" role="status" data-testid="plan-message">{text}</p> }.into_any(),
                Err(text) => view! { <p class="error" role="alert" data-testid="plan-message">{text}</p> }.into_any(),
            })}
            <Suspense fallback=|| view! { <p class="loading">"Ranking the district's places…"</p> }>
                {move || Suspend::new(async move {
                    match recs.await {
                        None => ().into_any(),
                        Some(Err(e)) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                        Some(Ok(r)) => {
                            let open: Vec<_> = r.proposals.iter().filter(|p| p.skipped.is_none()).cloned().collect();
                            let shift_for_issue = r.shift.clone();
                            let all = open.clone();
                            let templates = StoredValue::new(r.templates.clone());
                            // A proposal's template (the planner's choice, else the suggestion)
                            // and its instructions (the planner's words, else the template's goal).
                            let template_of = move |p: &super::Proposal| {
                                chosen_template.with(|c| c.get(&p.rank).copied()).unwrap_or(p.template_id)
                            };
                            let instructions_of = move |rank: u32, template_id: i64| {
                                written.with(|w| w.get(&rank).cloned()).unwrap_or_else(|| {
                                    templates.with_value(|ts| ts.iter().find(|t| t.id == template_id).map(|t| t.goal.clone())).unwrap_or_default()
                                })
                            };
                            let window = format!(
                                "Top places of {} by {} ({}; track weights set by command: {}) in {} m cells, {} to {}.",
                                r.district_name, r.ranked_by, r.harm_table, r.track_weights, r.cell_size_m, r.window_from, r.window_to
                            );
                            view! {
                                <p class="hint">{window}</p>
                                <p class="hint" data-testid="ranked-why">{format!("Why this ranking: {}.", r.ranked_why)}</p>
                                {r.window_moved_to_data.then(|| view! {
                                    <p class="notice" role="status">"The data ends before this shift: the ranking uses the days before the data's end."</p>
                                })}
                                <ol class="proposals" data-testid="proposals">
                                    {r.proposals.into_iter().map(|p| {
                                        let rank = p.rank;
                                        let skipped = p.skipped.clone();
                                        let is_skipped = skipped.is_some();
                                        view! {
                                            <li class="proposal" class:skipped=is_skipped data-rank=rank>
                                                <div class="proposal-head">
                                                    <span class="rank">{format!("#{rank}")}</span>
                                                    <span class="where">{p.place_label.clone()}" "<span class="hint grid-ref">{p.place.grid_ref()}</span></span>
                                                    <span class="priority">{format!("P{}", p.priority)}</span>
                                                </div>
                                                <p class="reason">{p.reason.clone()}</p>
                                                {match skipped {
                                                    Some(why) => view! { <p class="skip-note">{format!("Not proposed: {why}")}</p> }.into_any(),
                                                    None => {
                                                        let suggested = p.template_id;
                                                        let note = p.template_note.clone();
                                                        view! {
                                                        <div class="mission-edit">
                                                            <label>"Template"
                                                                <select name="template" on:change=move |ev| {
                                                                    let id: i64 = event_target_value(&ev).parse().unwrap_or(suggested);
                                                                    chosen_template.update(|c| { c.insert(rank, id); });
                                                                    // New template, its own goal (unless the planner wrote their own).
                                                                }>
                                                                    {templates.get_value().into_iter().map(|t| view! {
                                                                        <option value=t.id.to_string() selected=t.id == suggested>{t.name.clone()}</option>
                                                                    }).collect_view()}
                                                                </select>
                                                            </label>
                                                            <p class="hint template-note">{note}</p>
                                                            <details>
                                                                <summary>"Instructions and time"</summary>
                                                                <textarea name="instructions" rows="3" maxlength="2000"
                                                                    prop:value=move || {
                                                                        let t = chosen_template.with(|c| c.get(&rank).copied()).unwrap_or(suggested);
                                                                        instructions_of(rank, t)
                                                                    }
                                                                    on:input=move |ev| written.update(|w| { w.insert(rank, event_target_value(&ev)); })></textarea>
                                                                <div class="time-window">
                                                                    <label>"From (optional)"
                                                                        <input type="time" name="from" on:input=move |ev| windows.update(|w| { w.entry(rank).or_default().0 = event_target_value(&ev); })/>
                                                                    </label>
                                                                    <label>"Until"
                                                                        <input type="time" name="until" on:input=move |ev| windows.update(|w| { w.entry(rank).or_default().1 = event_target_value(&ev); })/>
                                                                    </label>
                                                                </div>
                                                            </details>
                                                        </div>
                                                        <label class="accept">
                                                            <input type="checkbox"
                                                                prop:checked=move || !rejected.get().contains(&rank)
                                                                on:change=move |ev| {
                                                                    let on = event_target_checked(&ev);
                                                                    rejected.update(|r| { if on { r.remove(&rank); } else { r.insert(rank); } });
                                                                }/>
                                                            " Issue this mission"
                                                        </label>
                                                    }.into_any()
                                                    }
                                                }}
                                            </li>
                                        }
                                    }).collect_view()}
                                </ol>
                                <button type="button" class="primary big" data-testid="issue"
                                    disabled=move || issue.pending().get()
                                    on:click=move |_| {
                                        let chosen: Vec<IssueItem> = all.iter()
                                            .filter(|p| !rejected.get_untracked().contains(&p.rank))
                                            .map(|p| {
                                                let template_id = template_of(p);
                                                IssueItem {
                                                    id: new_mission_id(),
                                                    template_id,
                                                    place: p.place.clone(),
                                                    place_label: p.place_label.clone(),
                                                    priority: p.priority,
                                                    instructions: instructions_of(p.rank, template_id),
                                                    reason: p.reason.clone(),
                                                    window: windows.with_untracked(|w| w.get(&p.rank).cloned())
                                                        .filter(|(f, u)| !f.trim().is_empty() && !u.trim().is_empty()),
                                                }
                                            })
                                            .collect();
                                        issue.dispatch((shift_for_issue.clone(), chosen));
                                    }>
                                    {move || format!("Issue {} missions", open.iter().filter(|p| !rejected.get().contains(&p.rank)).count())}
                                </button>
                                <OwnPlace shift=r.shift.clone() templates=r.templates.clone() issue/>
                            }
                            .into_any()
                        }
                    }
                })}
            </Suspense>
        </section>
    }
    .into_any()
}

/// A mission at a place of the planner's own choosing: tapped on the map, as the micro place
/// (the 150 m cell the tap falls in) or a point with a radius, with a template, instructions and,
/// if the mission is for part of the shift, a time window within it.
#[component]
fn OwnPlace(
    shift: ShiftRef,
    templates: Vec<protocol::menu::Template>,
    issue: Action<(ShiftRef, Vec<IssueItem>), Result<Vec<protocol::mission::Mission>, crate::error::ApiError>>,
) -> impl IntoView {
    let first = templates.first().map(|t| t.id).unwrap_or_default();
    let template = RwSignal::new(first);
    let picked = RwSignal::new(None::<(f64, f64)>);
    let as_cell = RwSignal::new(true);
    let radius = RwSignal::new(75.0);
    let label = RwSignal::new(String::new());
    let instructions = RwSignal::new(String::new());
    let from = RwSignal::new(String::new());
    let until = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let shown_radius = Signal::derive(move || if as_cell.get() { 106.0 } else { radius.get() });
    let district = shift.district.clone();
    let shift = StoredValue::new(shift);
    let goals = StoredValue::new(templates.iter().map(|t| (t.id, t.goal.clone())).collect::<Vec<_>>());
    view! {
        <details class="own-place" data-testid="own-place">
            <summary><h2>"Add a mission at a place of your own"</h2></summary>
            <form class="template-form" on:submit=move |ev| {
                ev.prevent_default();
                let Some((lat, lon)) = picked.get_untracked() else {
                    error.set(Some("Tap the map where the mission should be.".into()));
                    return;
                };
                let (f, u) = (from.get_untracked(), until.get_untracked());
                let window = match (f.trim().is_empty(), u.trim().is_empty()) {
                    (true, true) => None,
                    (false, false) => Some((f, u)),
                    _ => {
                        error.set(Some("Give the time window's start and end, or neither (the whole shift).".into()));
                        return;
                    }
                };
                error.set(None);
                let place = if as_cell.get_untracked() {
                    // The server puts the tap on the lattice (and refuses a place outside the district).
                    protocol::mission::Place::Cell { epsg: 0, size_m: 0, ix: 0, iy: 0, lat, lon }
                } else {
                    protocol::mission::Place::Point { lat, lon, radius_m: radius.get_untracked() }
                };
                let t = template.get_untracked();
                let written = instructions.get_untracked();
                let instructions = if written.trim().is_empty() {
                    goals.with_value(|g| g.iter().find(|(id, _)| *id == t).map(|(_, goal)| goal.clone())).unwrap_or_default()
                } else {
                    written
                };
                let item = IssueItem {
                    id: new_mission_id(),
                    template_id: t,
                    place,
                    place_label: label.get_untracked(),
                    priority: 2,
                    instructions,
                    reason: "Chosen by the planner".into(),
                    window,
                };
                issue.dispatch((shift.get_value(), vec![item]));
            }>
                {move || error.get().map(|e| view! { <p class="error" role="alert" data-testid="own-place-error">{e}</p> })}
                <crate::ui::place_picker::PlacePicker picked radius=shown_radius label="Tap the map where the mission should be" district/>
                <fieldset class="place-kind">
                    <legend>"The place is"</legend>
                    <label><input type="radio" name="own-kind" prop:checked=move || as_cell.get() on:change=move |_| as_cell.set(true)/>" the micro place (150 m cell) tapped"</label>
                    <label><input type="radio" name="own-kind" prop:checked=move || !as_cell.get() on:change=move |_| as_cell.set(false)/>" a point with a radius"</label>
                </fieldset>
                <Show when=move || !as_cell.get()>
                    <label>"Radius (metres)"
                        <input type="number" name="radius" min="5" max="2000" prop:value=move || radius.get().to_string()
                            on:input=move |ev| radius.set(event_target_value(&ev).parse().unwrap_or(75.0))/>
                    </label>
                </Show>
                <label>"Template"
                    <select name="own-template" on:change=move |ev| template.set(event_target_value(&ev).parse().unwrap_or(first))>
                        {templates.iter().map(|t| view! { <option value=t.id.to_string() selected=t.id == first>{t.name.clone()}</option> }).collect_view()}
                    </select>
                </label>
                <label>"Name of the place (optional)"
                    <input type="text" name="own-label" maxlength="200" placeholder="Left empty: the block's name"
                        prop:value=move || label.get() on:input=move |ev| label.set(event_target_value(&ev))/>
                </label>
                <label>"Instructions (optional: the template's goal)"
                    <textarea name="own-instructions" rows="3" maxlength="2000" prop:value=move || instructions.get()
                        on:input=move |ev| instructions.set(event_target_value(&ev))></textarea>
                </label>
                <TimeWindow from until name="own"/>
                <div class="actions">
                    <button type="submit" class="primary" data-testid="issue-own" disabled=move || issue.pending().get()>"Issue at this place"</button>
                </div>
            </form>
        </details>
    }
}

/// A time window within the shift: two local times, both empty for the whole shift.
#[component]
pub(super) fn TimeWindow(from: RwSignal<String>, until: RwSignal<String>, #[prop(into)] name: String) -> impl IntoView {
    view! {
        <div class="time-window">
            <label>"From (optional)"
                <input type="time" name=format!("{name}-from") prop:value=move || from.get() on:input=move |ev| from.set(event_target_value(&ev))/>
            </label>
            <label>"Until"
                <input type="time" name=format!("{name}-until") prop:value=move || until.get() on:input=move |ev| until.set(event_target_value(&ev))/>
            </label>
        </div>
    }
}
