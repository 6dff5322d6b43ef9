//! The setup screens: `/setup` (the first-run checklist and the shift patterns, administrators)
//! and `/rules` (the dosage rules, command staff). Each form runs `protocol::setup`'s check
//! before sending, so a mistake is named at once; the server runs it again.

use leptos::prelude::*;
use leptos_meta::Title;
use protocol::setup::{Days, DosageRules, ShiftPattern, Squad, DAY_NAMES};

use super::{
    choose_harm_table, patrol_rules, remove_shift, save_patrol_rules, save_shift, setup_status, HarmChoice, SetupStep,
    ShiftRow,
};
use crate::format::utc;

type Message = RwSignal<Option<Result<String, String>>>;

fn show(message: Message, id: &'static str) -> impl IntoView {
    move || {
        message.get().map(|m| match m {
            Ok(t) => view! { <p class="notice" role="status" data-testid=id>{t}</p> }.into_any(),
            Err(t) => view! { <p class="error" role="alert" data-testid=id>{t}</p> }.into_any(),
        })
    }
}

/// `/setup`: what is missing before a first issued mission, and the shift patterns.
#[component]
pub fn SetupPage() -> impl IntoView {
    let status = Resource::new(|| (), |_| setup_status());
    let message: Message = RwSignal::new(None);
    // The roster's answer lives here: a successful import reloads the status, which re-renders
    // the roster section, and the answer must outlive that.
    let roster_message: Message = RwSignal::new(None);
    // The same for the harm table's answer.
    let harm_message: Message = RwSignal::new(None);
    // The form edits this pattern (None: closed; Some with empty code in `editing`: new).
    let form = RwSignal::new(None::<(Option<String>, ShiftPattern)>);
    let save = Action::new(move |(editing, shift): &(Option<String>, ShiftPattern)| {
        let (editing, shift) = (editing.clone(), shift.clone());
        async move { save_shift(editing, shift).await }
    });
    let remove = Action::new(move |code: &String| {
        let code = code.clone();
        async move { remove_shift(code.clone()).await.map(|()| code) }
    });
    Effect::new(move |_| {
        if let Some(result) = save.value().get() {
            message.set(Some(match result {
                Ok(row) => {
                    form.set(None);
                    let overlap = if row.overlaps.is_empty() {
                        String::new()
                    } else {
                        format!(" It overlaps {}.", row.overlaps.join(", "))
                    };
                    Ok(format!("Saved shift {}: {}.{overlap}", row.pattern.code, row.describe))
                }
                Err(e) => Err(e.to_string()),
            }));
            status.refetch();
        }
    });
    Effect::new(move |_| {
        if let Some(result) = remove.value().get() {
            message.set(Some(match result {
                Ok(code) => Ok(format!("Removed shift {code}.")),
                Err(e) => Err(e.to_string()),
            }));
            status.refetch();
        }
    });
    view! {
        <Title text="Setup · Beatbook"/>
        <section class="page wide setup">
            <h1>"Setup"</h1>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match status.await {
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                        Ok(v) => {
                            let missing = v.steps.iter().filter(|s| s.required && !s.done).count();
                            let zone = v.time_zone.clone();
                            view! {
                                <h2>"Getting started"</h2>
                                <p class="hint" data-testid="setup-summary">{if missing == 0 {
                                    "Everything a first mission needs is in place.".to_string()
                                } else {
                                    format!("{missing} of {} steps to a first issued mission are still to do.", v.steps.iter().filter(|s| s.required).count())
                                }}</p>
                                <ol class="checklist" data-testid="checklist">
                                    {v.steps.into_iter().map(step_view).collect_view()}
                                </ol>
                                <HarmPicker choices=v.harm_tables chosen=v.harm_chosen status message=harm_message/>
                                <h2 id="shifts">"Shift patterns"</h2>
                                <p class="hint">{format!("Local times in {zone}; a shift that ends before it starts runs into the next day. On a daylight-saving night it is an hour shorter or longer. Overlapping shifts are allowed and shown.")}</p>
                                {show(message, "setup-message")}
                                <ShiftTable rows=v.shifts form remove/>
                                <Roster squads=v.squads status message=roster_message/>
                            }.into_any()
                        }
                    }
                })}
            </Transition>
            <Show when=move || form.with(Option::is_none)>
                <button type="button" class="primary" data-testid="add-shift"
                    on:click=move |_| form.set(Some((None, ShiftPattern::new("", "", "", "", Days::ALL))))>"Add a shift"</button>
            </Show>
            {move || form.get().map(|(editing, p)| view! { <ShiftForm editing pattern=p form save message/> })}
        </section>
    }
    .into_any()
}

/// The harm table in force, confirmed or changed: the checklist asks a department to choose.
#[component]
fn HarmPicker(
    choices: Vec<HarmChoice>,
    chosen: bool,
    status: Resource<Result<super::SetupView, crate::error::ApiError>>,
    message: Message,
) -> impl IntoView {
    let selected = RwSignal::new(choices.iter().find(|c| c.active).map(|c| c.label.clone()).unwrap_or_default());
    let choose = Action::new(move |label: &String| {
        let label = label.clone();
        async move { choose_harm_table(label).await }
    });
    Effect::new(move |_| {
        if let Some(result) = choose.value().get() {
            message.set(Some(result.map(|t| format!("{}.", capitalised(&t))).map_err(|e| e.to_string())));
            status.refetch();
        }
    });
    view! {
        <h2 id="harm">"Harm weights"</h2>
        <p class="hint">"Every ranking weighs each offence by the table in force, and says which. Beatbook ships the Cambridge Crime Harm Index 2020: the days of custody England and Wales sentencing guidelines set for a first offender (murder 5,475, robbery 365, a theft from a vehicle 2), published by the Cambridge Centre for Evidence-Based Policing for research use. cchi@2020 leaves out what police find themselves (drug possession, weapons found on a stop), so patrol does not chase its own discoveries; cchi-all@2020 weighs them. Every weight, its source and each judgement call are in docs/HARM.md."</p>
        {show(message, "harm-message")}
        <form class="harm-picker" data-testid="harm-picker" on:submit=move |ev| {
            ev.prevent_default();
            choose.dispatch(selected.get_untracked());
        }>
            <label>"Table"
                <select name="harm-table" prop:value=move || selected.get()
                    on:change=move |ev| selected.set(event_target_value(&ev))>
                    {choices.into_iter().map(|c| view! { <option value=c.label.clone() selected=c.active>{c.describe}</option> }).collect_view()}
                </select>
            </label>
            <button type="submit" class="primary" disabled=move || choose.pending().get()>
                {if chosen { "Use this table" } else { "Confirm this table" }}
            </button>
        </form>
    }
}

fn capitalised(text: &str) -> String {
    let mut c = text.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

/// The roster: a CSV of who works where becomes accounts, squads and units, all or nothing.
#[component]
fn Roster(
    squads: Vec<Squad>,
    status: Resource<Result<super::SetupView, crate::error::ApiError>>,
    message: Message,
) -> impl IntoView {
    let busy = RwSignal::new(false);
    let file_input = NodeRef::<leptos::html::Input>::new();
    let send = move || {
        // Reading a chosen file is the browser's; the server renders the form only.
        #[cfg(not(feature = "hydrate"))]
        let _ = status;
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            let Some(file) = file_input.get_untracked().and_then(|i| i.files()).and_then(|f| f.get(0)) else {
                message.set(Some(Err("Choose the roster file first.".into())));
                return;
            };
            busy.set(true);
            message.set(None);
            leptos::task::spawn_local(async move {
                let text = wasm_bindgen_futures::JsFuture::from(file.text())
                    .await
                    .ok()
                    .and_then(|t| t.dyn_into::<js_sys::JsString>().ok())
                    .map(String::from);
                let answer = match text {
                    None => Err("The file could not be read as text.".to_string()),
                    Some(csv) => super::import_roster(csv)
                        .await
                        .map(|r| {
                            let list = |v: &[String]| if v.is_empty() { "none".to_string() } else { v.join(", ") };
                            format!(
                                "Roster imported: {} new accounts, {} updated; squads {}; units {}. New accounts sign in through single sign-on, or with a temporary password an administrator gives them on Accounts.",
                                r.created.len(), r.updated.len(), list(&r.squads), list(&r.units)
                            )
                        })
                        .map_err(|e| e.to_string()),
                };
                let ok = answer.is_ok();
                message.set(Some(answer));
                busy.set(false);
                if ok {
                    status.refetch();
                }
            });
        }
    };
    view! {
        <h2 id="roster">"Roster and squads"</h2>
        <p class="hint">"A CSV with one row per person: username, display_name, role (officer, sergeant, command or analyst), district, and for officers and sergeants squad, badge and unit. A squad is its sergeant and their officers in one district. One faulty row refuses the whole file, each fault named by line and column; importing again updates the people it names."</p>
        <form class="upload-form roster-form" on:submit=move |ev| { ev.prevent_default(); send(); }>
            <label>"Roster file"
                <input type="file" name="roster" accept=".csv,text/csv" node_ref=file_input/>
            </label>
            <button type="submit" class="primary" disabled=move || busy.get()>
                {move || if busy.get() { "Importing…" } else { "Import roster" }}
            </button>
        </form>
        {show(message, "roster-message")}
        {if squads.is_empty() {
            view! { <p class="empty" data-testid="no-squads">"No squads yet: the roster's squad column makes them, each with the row whose role is sergeant."</p> }.into_any()
        } else {
            view! {
                <div class="table-scroll">
                    <table class="squads" data-testid="squads">
                        <thead><tr><th>"Squad"</th><th>"District"</th><th>"Sergeant"</th><th>"Members"</th></tr></thead>
                        <tbody>
                            {squads.into_iter().map(|q| view! {
                                <tr data-squad=q.code.clone()>
                                    <td><strong>{q.code.clone()}</strong></td>
                                    <td>{q.district.clone()}</td>
                                    <td>{q.sergeant.clone()}</td>
                                    <td>{format!("{} ({})", q.members.len(), q.members.join(", "))}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            }.into_any()
        }}
    }
    .into_any()
}

fn step_view(s: SetupStep) -> impl IntoView {
    let state = match (s.done, s.required) {
        (true, _) => "done",
        (false, true) => "todo",
        (false, false) => "optional",
    };
    let mark = match state {
        "done" => "✓",
        "todo" => "○",
        _ => "–",
    };
    view! {
        <li data-step=s.key.clone() data-state=state>
            <span class="mark" aria-hidden="true">{mark}</span>
            <span class="what"><strong>{s.title.clone()}</strong>" "<span class="hint">{s.detail.clone()}</span></span>
            {s.link.clone().filter(|_| !s.done).map(|href| view! { <a class="go" href=href>"Go"</a> })}
        </li>
    }
}

#[component]
fn ShiftTable(
    rows: Vec<ShiftRow>,
    form: RwSignal<Option<(Option<String>, ShiftPattern)>>,
    remove: Action<String, Result<String, crate::error::ApiError>>,
) -> impl IntoView {
    if rows.is_empty() {
        return view! { <p class="empty" data-testid="no-shifts">"No shifts yet. Add the department's first shift: Plan, Board and Presence work per shift."</p> }.into_any();
    }
    view! {
        <div class="table-scroll">
            <table class="shifts" data-testid="shifts">
                <thead><tr><th>"Code"</th><th>"Name"</th><th>"Hours and days"</th><th>"Overlaps"</th><th></th></tr></thead>
                <tbody>
                    {rows.into_iter().map(|r| {
                        let p = r.pattern.clone();
                        let code = p.code.clone();
                        let overlaps = if r.overlaps.is_empty() { "—".to_string() } else { r.overlaps.join(", ") };
                        view! {
                            <tr data-shift=p.code.clone()>
                                <td><strong>{p.code.clone()}</strong></td>
                                <td>{p.name.clone()}</td>
                                <td>{r.describe.clone()}</td>
                                <td data-testid="overlaps">{overlaps}</td>
                                <td class="row-actions">
                                    <button type="button" on:click={
                                        let p = p.clone();
                                        move |_| form.set(Some((Some(p.code.clone()), p.clone())))
                                    }>"Edit"</button>
                                    <button type="button" class="danger" disabled=move || remove.pending().get()
                                        on:click=move |_| { remove.dispatch(code.clone()); }>"Remove"</button>
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

#[component]
fn ShiftForm(
    editing: Option<String>,
    pattern: ShiftPattern,
    form: RwSignal<Option<(Option<String>, ShiftPattern)>>,
    save: Action<(Option<String>, ShiftPattern), Result<ShiftRow, crate::error::ApiError>>,
    message: Message,
) -> impl IntoView {
    let is_new = editing.is_none();
    let code = RwSignal::new(pattern.code.clone());
    let name = RwSignal::new(pattern.name.clone());
    let starts = RwSignal::new(pattern.starts_local.clone());
    let ends = RwSignal::new(pattern.ends_local.clone());
    let days = RwSignal::new(pattern.days);
    let error = RwSignal::new(None::<String>);
    let editing = StoredValue::new(editing);
    view! {
        <form class="template-form shift-form" data-testid="shift-form" on:submit=move |ev| {
            ev.prevent_default();
            let p = ShiftPattern {
                code: code.get_untracked(),
                name: name.get_untracked(),
                starts_local: starts.get_untracked(),
                ends_local: ends.get_untracked(),
                days: days.get_untracked(),
            };
            // The server's own check, before anything is sent.
            match p.check() {
                Err(e) => error.set(Some(e.to_string())),
                Ok(()) => { error.set(None); message.set(None); save.dispatch((editing.get_value(), p)); }
            }
        }>
            <h2>{if is_new { "New shift".to_string() } else { format!("Edit shift {}", pattern.code) }}</h2>
            {move || error.get().map(|e| view! { <p class="error" role="alert" data-testid="shift-error">{e}</p> })}
            <label>"Code"<input name="code" maxlength="16" autocapitalize="characters" readonly=!is_new
                prop:value=move || code.get() on:input=move |ev| code.set(event_target_value(&ev))/></label>
            <label>"Name"<input name="name" maxlength="60" placeholder="Day watch"
                prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/></label>
            <div class="pair">
                <label>"Starts"<input type="time" name="starts" prop:value=move || starts.get() on:input=move |ev| starts.set(event_target_value(&ev))/></label>
                <label>"Ends"<input type="time" name="ends" prop:value=move || ends.get() on:input=move |ev| ends.set(event_target_value(&ev))/></label>
            </div>
            <fieldset class="days">
                <legend>"Runs on"</legend>
                {(0..7u8).map(|d| view! {
                    <label class="check">
                        <input type="checkbox" name="day" value=DAY_NAMES[d as usize]
                            prop:checked=move || days.get().has(d)
                            on:change=move |ev| { let on = event_target_checked(&ev); days.update(|x| *x = x.with(d, on)); }/>
                        {DAY_NAMES[d as usize]}
                    </label>
                }).collect_view()}
            </fieldset>
            <div class="actions">
                <button type="submit" class="primary" disabled=move || save.pending().get()>{if is_new { "Add shift" } else { "Save shift" }}</button>
                <button type="button" class="secondary" on:click=move |_| form.set(None)>"Cancel"</button>
            </div>
        </form>
    }
    .into_any()
}

/// `/rules`: the dosage rules in force, a form for the next version, and the history.
#[component]
pub fn RulesPage() -> impl IntoView {
    let rules = Resource::new(|| (), |_| patrol_rules());
    let message: Message = RwSignal::new(None);
    let save = Action::new(move |(v, r): &(i64, DosageRules)| {
        let (v, r) = (*v, *r);
        async move { save_patrol_rules(v, r).await }
    });
    Effect::new(move |_| {
        if let Some(result) = save.value().get() {
            message.set(Some(match result {
                Ok(v) => Ok(format!("Version {} is in force from now on.", v.version)),
                Err(e) => Err(e.to_string()),
            }));
            rules.refetch();
        }
    });
    view! {
        <Title text="Patrol rules · Beatbook"/>
        <section class="page wide rules">
            <h1>"Patrol rules"</h1>
            <p class="hint">"How much patrol a place gets. Plans propose at most the places per shift, skip a place whose target is met this shift or whose cap is reached in 24 hours, and presence counts a Koper visit from the shortest stay. The track weights tilt the ranking toward the department's priorities (violent, property, quality of life), and every plan names the weights that ranked it. A change applies from now on: every screen reads the rules in force."</p>
            {show(message, "rules-message")}
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match rules.await {
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                        Ok(v) => {
                            let history = v.history.clone();
                            view! {
                                <RulesForm version=v.current.version rules=v.current.rules save/>
                                <h2>"Versions"</h2>
                                {if history.is_empty() {
                                    view! { <p class="hint" data-testid="rules-history">"Beatbook's defaults are in force; no version has been set yet."</p> }.into_any()
                                } else {
                                    view! {
                                        <div class="table-scroll">
                                            <table class="audit" data-testid="rules-history">
                                                <thead><tr><th>"Version"</th><th>"Set"</th><th>"By"</th><th>"Koper min–max"</th><th>"Target"</th><th>"Cap visits"</th><th>"Cap minutes"</th><th>"Places"</th><th>"Track weights"</th></tr></thead>
                                                <tbody>
                                                    {history.into_iter().map(|h| view! {
                                                        <tr>
                                                            <td>{h.version}</td><td>{utc(h.set_at)}</td><td>{if h.set_by.is_empty() { "command line".to_string() } else { h.set_by.clone() }}</td>
                                                            <td>{format!("{}–{}", h.rules.koper_min_minutes, h.rules.koper_max_minutes)}</td>
                                                            <td>{h.rules.target_visits}</td><td>{h.rules.cap_visits}</td><td>{h.rules.cap_minutes}</td><td>{h.rules.places_per_shift}</td><td>{h.rules.weights_label()}</td>
                                                        </tr>
                                                    }).collect_view()}
                                                </tbody>
                                            </table>
                                        </div>
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

#[component]
fn RulesForm(
    version: i64,
    rules: DosageRules,
    save: Action<(i64, DosageRules), Result<protocol::setup::DosageVersion, crate::error::ApiError>>,
) -> impl IntoView {
    let fields: [(&'static str, &'static str, &'static str, i64); 10] = [
        (
            "koper_min_minutes",
            "A Koper visit counts from (minutes in place)",
            "Koper (1995): about 10 to 15 minutes.",
            rules.koper_min_minutes,
        ),
        ("koper_max_minutes", "Minutes past which a visit adds nothing", "", rules.koper_max_minutes),
        ("target_visits", "Target: Koper visits per place per shift", "", rules.target_visits),
        ("cap_visits", "Cap: visits per place in 24 hours", "Never below the target.", rules.cap_visits),
        ("cap_minutes", "Cap: minutes per place in 24 hours", "", rules.cap_minutes),
        ("places_per_shift", "Places a shift's plan proposes per district", "", rules.places_per_shift),
        (
            "violent_weight_pct",
            "Weight of violent harm in the ranking (percent)",
            "100 = as the harm table weighs it; 150 ranks violent harm half again as heavy.",
            rules.violent_weight_pct,
        ),
        ("property_weight_pct", "Weight of property harm (percent)", "", rules.property_weight_pct),
        (
            "quality_of_life_weight_pct",
            "Weight of quality-of-life harm (percent)",
            "0 leaves the track out of the ranking.",
            rules.quality_of_life_weight_pct,
        ),
        (
            "calls_weight_pct",
            "Weight of calls for service (percent)",
            "0 (the default) leaves calls out. Above 0, calls rank as quality-of-life harm by the department's call weights (Load data → Call weights); a call that became an incident counts once.",
            rules.calls_weight_pct,
        ),
    ];
    let values: Vec<RwSignal<String>> = fields.iter().map(|f| RwSignal::new(f.3.to_string())).collect();
    let values = StoredValue::new(values);
    let error = RwSignal::new(None::<String>);
    view! {
        <form class="template-form rules-form" data-testid="rules-form" on:submit=move |ev| {
            ev.prevent_default();
            let v: Vec<i64> = values.get_value().iter().map(|s| s.get_untracked().trim().parse().unwrap_or(0)).collect();
            let r = DosageRules {
                koper_min_minutes: v[0],
                koper_max_minutes: v[1],
                target_visits: v[2],
                cap_visits: v[3],
                cap_minutes: v[4],
                places_per_shift: v[5],
                violent_weight_pct: v[6],
                property_weight_pct: v[7],
                quality_of_life_weight_pct: v[8],
                calls_weight_pct: v[9],
            };
            match r.check() {
                Err(e) => error.set(Some(e.to_string())),
                Ok(()) => { error.set(None); save.dispatch((version, r)); }
            }
        }>
            <h2 data-testid="rules-version">{if version == 0 { "In force: Beatbook's defaults".to_string() } else { format!("In force: version {version}") }}</h2>
            {move || error.get().map(|e| view! { <p class="error" role="alert" data-testid="rules-error">{e}</p> })}
            {fields.into_iter().enumerate().map(|(i, (key, label, hint, _))| {
                let value = values.get_value()[i];
                view! {
                    <label>{label}
                        <input type="number" inputmode="numeric" name=key prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev))/>
                        {(!hint.is_empty()).then(|| view! { <span class="hint">{hint}</span> })}
                    </label>
                }
            }).collect_view()}
            <div class="actions">
                <button type="submit" class="primary" disabled=move || save.pending().get()>{format!("Put version {} in force", version + 1)}</button>
            </div>
        </form>
    }
    .into_any()
}
