//! `/menu`: the Mission Menu and its editor (each save is a new version; missions already issued
//! keep theirs).

use std::collections::BTreeSet;

use leptos::prelude::*;
use leptos_meta::Title;
use protocol::menu::{OutcomeField, OutcomeKind, Template, TemplateDraft, CRIME_TYPES, TACTICS};

use super::{get_menu, save_template};

/// `/menu`: the Mission Menu and its editor (each save is a new version).
#[component]
pub fn MenuEditor() -> impl IntoView {
    let menu = Resource::new(|| (), |_| get_menu(true));
    let editing = RwSignal::new(None::<Template>);
    view! {
        <Title text="Mission Menu · Beatbook"/>
        <section class="page">
            <h1>"Mission Menu"</h1>
            <p class="hint">"Editing a template makes a new version: missions already issued keep the version they were issued from."</p>
            <Transition fallback=|| view! { <p class="loading">"Loading the menu…"</p> }>
                {move || Suspend::new(async move {
                    match menu.await {
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                        Ok(list) => view! {
                            <ul class="menu-list" data-testid="menu">
                                {list.into_iter().map(|t| {
                                    let edit = t.clone();
                                    view! {
                                        <li class:retired=!t.active>
                                            <strong>{t.name.clone()}</strong>
                                            <span class="meta">{format!("v{} · {} min · {} per shift{}", t.version, t.dwell_minutes, t.visits_per_shift, if t.active { "" } else { " · retired" })}</span>
                                            <p>{t.goal.clone()}</p>
                                            <p class="evidence">{t.evidence_note.clone()}</p>
                                            <button type="button" on:click=move |_| editing.set(Some(edit.clone()))>"Edit"</button>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                    }
                })}
            </Transition>
            <Show when=move || editing.with(Option::is_none)>
                <button type="button" class="primary" data-testid="new-template" on:click=move |_| editing.set(Some(blank_template()))>
                    "New template"
                </button>
            </Show>
            {move || editing.get().map(|t| view! { <TemplateForm t editing menu/> })}
        </section>
    }
    .into_any()
}

/// A new template's starting point: a Koper visit with no outcome fields yet.
fn blank_template() -> Template {
    Template {
        id: 0,
        key: String::new(),
        version: 0,
        name: String::new(),
        goal: String::new(),
        tactic: "directed_patrol".into(),
        dwell_minutes: 15,
        visits_per_shift: 1,
        crime_types: Vec::new(),
        outcome_fields: Vec::new(),
        evidence_note: String::new(),
        active: true,
    }
}

/// One outcome field being edited. A field that came with the template keeps its key (stored
/// outcomes refer to it); a new one takes its key from its label.
#[derive(Clone, Copy)]
struct OutcomeRow {
    row: usize,
    key: RwSignal<Option<String>>,
    label: RwSignal<String>,
    kind: RwSignal<OutcomeKind>,
    choices: RwSignal<String>,
}

impl OutcomeRow {
    fn from_field(row: usize, f: &OutcomeField) -> Self {
        OutcomeRow {
            row,
            key: RwSignal::new(Some(f.key.clone())),
            label: RwSignal::new(f.label.clone()),
            kind: RwSignal::new(f.kind),
            choices: RwSignal::new(f.choices.join(", ")),
        }
    }

    fn to_field(self) -> OutcomeField {
        let label = self.label.get_untracked().trim().to_string();
        let kind = self.kind.get_untracked();
        OutcomeField {
            key: self.key.get_untracked().unwrap_or_else(|| protocol::menu::slug(&label).replace('-', "_")),
            label,
            kind,
            choices: if kind == OutcomeKind::Choice {
                self.choices
                    .get_untracked()
                    .split(',')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(String::from)
                    .collect()
            } else {
                Vec::new()
            },
        }
    }
}

fn kind_value(kind: OutcomeKind) -> &'static str {
    match kind {
        OutcomeKind::Count => "count",
        OutcomeKind::YesNo => "yes_no",
        OutcomeKind::Choice => "choice",
    }
}

#[component]
fn OutcomeFieldsEditor(rows: RwSignal<Vec<OutcomeRow>>, next_row: RwSignal<usize>) -> impl IntoView {
    view! {
        <fieldset class="outcome-fields" data-testid="outcome-fields">
            <legend>"Outcome fields (what the officer reports on completion)"</legend>
            <For each=move || rows.get() key=|r| r.row let:r>
                <div class="outcome-field-row" data-testid="outcome-field">
                    <label>"Label"
                        <input prop:value=move || r.label.get() on:input=move |ev| r.label.set(event_target_value(&ev))/>
                    </label>
                    <label>"Answered as"
                        <select prop:value=move || kind_value(r.kind.get()) on:change=move |ev| {
                            r.kind.set(match event_target_value(&ev).as_str() {
                                "yes_no" => OutcomeKind::YesNo,
                                "choice" => OutcomeKind::Choice,
                                _ => OutcomeKind::Count,
                            });
                        }>
                            <option value="count">"A count (− / +)"</option>
                            <option value="yes_no">"Yes or no"</option>
                            <option value="choice">"One of a list"</option>
                        </select>
                    </label>
                    <Show when=move || r.kind.get() == OutcomeKind::Choice>
                        <label>"Choices, separated by commas"
                            <input prop:value=move || r.choices.get() on:input=move |ev| r.choices.set(event_target_value(&ev))/>
                        </label>
                    </Show>
                    <button type="button" class="secondary" on:click=move |_| rows.update(|v| v.retain(|x| x.row != r.row))>
                        {move || format!("Remove “{}”", r.label.get())}
                    </button>
                </div>
            </For>
            <button type="button" class="secondary" data-testid="add-outcome-field" on:click=move |_| {
                let row = next_row.get_untracked();
                next_row.set(row + 1);
                rows.update(|v| v.push(OutcomeRow {
                    row,
                    key: RwSignal::new(None),
                    label: RwSignal::new(String::new()),
                    kind: RwSignal::new(OutcomeKind::Count),
                    choices: RwSignal::new(String::new()),
                }));
            }>"Add an outcome field"</button>
        </fieldset>
    }
}

#[component]
fn TemplateForm(
    t: Template,
    editing: RwSignal<Option<Template>>,
    menu: Resource<Result<Vec<Template>, crate::error::ApiError>>,
) -> impl IntoView {
    let name = RwSignal::new(t.name.clone());
    let goal = RwSignal::new(t.goal.clone());
    let tactic = RwSignal::new(t.tactic.clone());
    let dwell = RwSignal::new(t.dwell_minutes.to_string());
    let visits = RwSignal::new(t.visits_per_shift.to_string());
    let evidence = RwSignal::new(t.evidence_note.clone());
    let active = RwSignal::new(t.active);
    let error = RwSignal::new(None::<String>);
    let is_new = t.key.is_empty();
    let key = t.key.clone();
    let version = t.version;
    let crime_types = RwSignal::new(t.crime_types.iter().cloned().collect::<BTreeSet<String>>());
    let rows = RwSignal::new(
        t.outcome_fields.iter().enumerate().map(|(i, f)| OutcomeRow::from_field(i, f)).collect::<Vec<_>>(),
    );
    let next_row = RwSignal::new(t.outcome_fields.len());
    let save = Action::new(move |draft: &TemplateDraft| {
        let draft = draft.clone();
        let (key, version) = if is_new { (None, None) } else { (Some(key.clone()), Some(version)) };
        async move { save_template(key, version, draft).await }
    });
    Effect::new(move |_| match save.value().get() {
        Some(Ok(_)) => {
            editing.set(None);
            menu.refetch();
        }
        Some(Err(e)) => error.set(Some(e.to_string())),
        None => {}
    });
    view! {
        <form class="template-form" on:submit=move |ev| {
            ev.prevent_default();
            let draft = TemplateDraft {
                name: name.get_untracked(),
                goal: goal.get_untracked(),
                tactic: tactic.get_untracked(),
                dwell_minutes: dwell.get_untracked().trim().parse().unwrap_or(0),
                visits_per_shift: visits.get_untracked().trim().parse().unwrap_or(0),
                crime_types: crime_types.get_untracked().into_iter().collect(),
                outcome_fields: rows.get_untracked().into_iter().map(OutcomeRow::to_field).collect(),
                evidence_note: evidence.get_untracked(),
                active: active.get_untracked(),
            };
            // The same checks the server runs, before anything is sent.
            match draft.validate() {
                Err(e) => error.set(Some(e.to_string())),
                Ok(()) => { error.set(None); save.dispatch(draft); }
            }
        }>
            <h2>{if is_new { "New template".to_string() } else { format!("Edit “{}” (version {version} → {})", t.name, version + 1) }}</h2>
            {move || error.get().map(|e| view! { <p class="error" role="alert" data-testid="template-error">{e}</p> })}
            <label>"Name"<input prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/></label>
            <label>"Goal"<textarea rows="2" prop:value=move || goal.get() on:input=move |ev| goal.set(event_target_value(&ev))></textarea></label>
            <label>"Tactic"
                <select prop:value=move || tactic.get() on:change=move |ev| tactic.set(event_target_value(&ev))>
                    {TACTICS.iter().map(|(k, label)| view! { <option value=*k>{*label}</option> }).collect_view()}
                </select>
            </label>
            <label>"Minutes in place"<input type="number" inputmode="numeric" prop:value=move || dwell.get() on:input=move |ev| dwell.set(event_target_value(&ev))/></label>
            <label>"Visits per shift"<input type="number" inputmode="numeric" prop:value=move || visits.get() on:input=move |ev| visits.set(event_target_value(&ev))/></label>
            <fieldset class="crime-types">
                <legend>"Suits these crime types"</legend>
                {CRIME_TYPES.iter().map(|c| {
                    let c = *c;
                    view! {
                        <label class="check">
                            <input type="checkbox" prop:checked=move || crime_types.with(|s| s.contains(c)) on:change=move |ev| {
                                let on = event_target_checked(&ev);
                                crime_types.update(|s| { if on { s.insert(c.to_string()); } else { s.remove(c); } });
                            }/>
                            {format!(" {}", c.replace('_', " "))}
                        </label>
                    }
                }).collect_view()}
            </fieldset>
            <OutcomeFieldsEditor rows next_row/>
            <label>"Evidence note"<textarea rows="3" prop:value=move || evidence.get() on:input=move |ev| evidence.set(event_target_value(&ev))></textarea></label>
            <label class="check"><input type="checkbox" prop:checked=move || active.get() on:change=move |ev| active.set(event_target_checked(&ev))/>" Offered for new missions"</label>
            <div class="actions">
                <button type="submit" class="primary">{if is_new { "Add to the menu" } else { "Save as new version" }}</button>
                <button type="button" class="secondary" on:click=move |_| editing.set(None)>"Cancel"</button>
            </div>
        </form>
    }
    .into_any()
}
