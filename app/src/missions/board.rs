//! `/board`: a district's shift as a planner board, columns by status, each folding (sergeants
//! acknowledge, assign and review; command sees it too), with the officers' proposals waiting
//! above it.

use leptos::prelude::*;
use leptos_meta::Title;
use protocol::mission::{Mission, MissionFeedback, TransitionArgs};
use protocol::{MissionStatus, Transition};

use super::proposals::{decide_proposal, ProposalDecision, ProposalQueue};
use super::{edit_mission, get_board, outcome_text, transition_mission, MissionChange};
use crate::ui::shift_picker::{use_shift_resource, ShiftPicker};

fn status_column(s: MissionStatus) -> usize {
    match s {
        MissionStatus::Draft | MissionStatus::Issued => 0,
        MissionStatus::Acknowledged => 1,
        MissionStatus::Assigned => 2,
        MissionStatus::InProgress => 3,
        MissionStatus::Completed | MissionStatus::NotCompleted | MissionStatus::Reviewed => 4,
        MissionStatus::Cancelled => 5,
    }
}

/// `/board`: a district's shift as a planner board, columns by status.
#[component]
pub fn ShiftBoard() -> impl IntoView {
    let (choice, board) = use_shift_resource(get_board);
    let error = RwSignal::new(None::<String>);
    let step = Action::new(move |input: &(String, Transition, TransitionArgs)| {
        let (id, t, args) = input.clone();
        async move { transition_mission(id, t, args).await }
    });
    Effect::new(move |_| {
        if let Some(result) = step.value().get() {
            error.set(result.err().map(|e| e.to_string()));
            board.refetch();
        }
    });
    let decide = Action::new(move |d: &ProposalDecision| {
        let d = d.clone();
        async move { decide_proposal(d).await }
    });
    let decided = RwSignal::new(None::<String>);
    let edit = Action::new(move |c: &MissionChange| {
        let c = c.clone();
        async move { edit_mission(c).await }
    });
    Effect::new(move |_| {
        if let Some(result) = edit.value().get() {
            match result {
                Ok(m) => {
                    error.set(None);
                    decided.set(Some(format!("Saved the changes to the mission at {}.", m.place_label)));
                }
                Err(e) => error.set(Some(e.to_string())),
            }
            board.refetch();
        }
    });
    Effect::new(move |_| {
        if let Some(result) = decide.value().get() {
            match result {
                Ok(m) => {
                    error.set(None);
                    decided.set(Some(match m {
                        Some(m) => {
                            format!("Approved: issued at {} for shift {} on {}.", m.place_label, m.shift, m.shift_date)
                        }
                        None => "Declined; the officer sees your reason.".to_string(),
                    }));
                }
                Err(e) => error.set(Some(e.to_string())),
            }
            board.refetch();
        }
    });
    const COLUMNS: [&str; 5] = ["Issued", "Acknowledged", "Assigned", "In progress", "Done"];
    const OPEN_UP_TO: usize = 8;
    view! {
        <Title text="Shift board · Beatbook"/>
        <section class="page wide">
            <h1>"Shift board"</h1>
            <ShiftPicker choice/>
            {move || error.get().map(|e| view! { <p class="error" role="alert" data-testid="board-error">{e}</p> })}
            {move || decided.get().map(|t| view! { <p class="notice" role="status" data-testid="proposal-decided">{t}</p> })}
            <Transition fallback=|| view! { <p class="loading">"Loading the board…"</p> }>
                {move || Suspend::new(async move {
                    match board.await {
                        None => ().into_any(),
                        Some(Err(e)) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                        Some(Ok(b)) => {
                            let officers = b.officers.clone();
                            let rights = b.rights;
                            let templates = StoredValue::new(b.templates.clone());
                            let feedback: std::collections::HashMap<String, MissionFeedback> =
                                b.feedback.iter().map(|f| (f.mission_id.clone(), f.clone())).collect();
                            view! {
                                <ProposalQueue proposals=b.proposals.clone() shift=b.shift.clone() may_decide=rights.approve decide/>
                                <div class="board" data-testid="board">
                                    {COLUMNS.iter().enumerate().map(|(col, title)| {
                                        let cards: Vec<Mission> = b.missions.iter().filter(|m| status_column(m.status) == col).cloned().collect();
                                        let officers = officers.clone();
                                        let feedback = feedback.clone();
                                        // Each status folds: a group with cards opens unless it is
                                        // longer than a phone screen's worth (a sergeant's 18 issued
                                        // missions were one 18,000-pixel column); a tap opens it.
                                        let open = !cards.is_empty() && cards.len() <= OPEN_UP_TO;
                                        let n = cards.len();
                                        view! {
                                            <details class="column" data-column=*title open=open>
                                                <summary><h2>{format!("{title} ({n})")}</h2></summary>
                                                {cards.into_iter().map(|m| {
                                                    let fb = feedback.get(&m.id).cloned().unwrap_or_default();
                                                    view! { <BoardCard m fb officers=officers.clone() rights step templates edit/> }
                                                }).collect_view()}
                                            </details>
                                        }
                                    }).collect_view()}
                                </div>
                            }
                            .into_any()
                        }
                    }
                })}
            </Transition>
        </section>
    }
    .into_any()
}

#[component]
fn BoardCard(
    m: Mission,
    fb: MissionFeedback,
    officers: Vec<(i64, String)>,
    rights: super::BoardRights,
    step: Action<(String, Transition, TransitionArgs), Result<Mission, crate::error::ApiError>>,
    templates: StoredValue<Vec<protocol::menu::Template>>,
    edit: Action<MissionChange, Result<Mission, crate::error::ApiError>>,
) -> impl IntoView {
    let editing = RwSignal::new(false);
    let editable = rights.approve && matches!(m.status, MissionStatus::Issued | MissionStatus::Draft);
    let edit_form = editable.then(|| {
        let (id, version) = (m.id.clone(), m.version);
        let template = RwSignal::new(m.template.id);
        let priority = RwSignal::new(m.priority);
        let instructions = RwSignal::new(m.instructions.clone());
        let label = RwSignal::new(m.place_label.clone());
        let (from, until) = (RwSignal::new(String::new()), RwSignal::new(String::new()));
        let current = m.template.id;
        view! {
            <Show when=move || editing.get() fallback=move || view! {
                <button type="button" class="secondary" data-testid="edit-mission" on:click=move |_| editing.set(true)>"Edit…"</button>
            }>
                <form class="template-form edit-form" data-testid="edit-form" on:submit={
                    let id = id.clone();
                    move |ev| {
                        ev.prevent_default();
                        let (f, u) = (from.get_untracked(), until.get_untracked());
                        let window = (!f.trim().is_empty() && !u.trim().is_empty()).then_some((f, u));
                        edit.dispatch(MissionChange {
                            id: id.clone(),
                            expected_version: version,
                            template_id: template.get_untracked(),
                            priority: priority.get_untracked(),
                            instructions: instructions.get_untracked(),
                            place_label: label.get_untracked(),
                            window,
                        });
                        editing.set(false);
                    }
                }>
                    <label>"Template"
                        <select name="edit-template" on:change=move |ev| template.set(event_target_value(&ev).parse().unwrap_or(current))>
                            {templates.get_value().into_iter().map(|t| view! { <option value=t.id.to_string() selected=t.id == current>{t.name.clone()}</option> }).collect_view()}
                        </select>
                    </label>
                    <label>"Priority"
                        <select name="edit-priority" on:change=move |ev| priority.set(event_target_value(&ev).parse().unwrap_or(3))>
                            {(1..=5).map(|p| view! { <option value=p.to_string() selected=p == priority.get_untracked()>{format!("P{p}")}</option> }).collect_view()}
                        </select>
                    </label>
                    <label>"Name of the place"
                        <input type="text" name="edit-label" maxlength="200" prop:value=move || label.get() on:input=move |ev| label.set(event_target_value(&ev))/>
                    </label>
                    <label>"Instructions"
                        <textarea name="edit-instructions" rows="3" maxlength="2000" prop:value=move || instructions.get()
                            on:input=move |ev| instructions.set(event_target_value(&ev))></textarea>
                    </label>
                    <super::plan::TimeWindow from until name="edit"/>
                    <div class="actions">
                        <button type="submit" class="primary" disabled=move || edit.pending().get()>"Save changes"</button>
                        <button type="button" class="secondary" on:click=move |_| editing.set(false)>"Close"</button>
                    </div>
                </form>
            </Show>
        }
    });
    let choice = RwSignal::new(officers.first().map(|o| o.0).unwrap_or_default());
    let id = m.id.clone();
    let version = m.version;
    let (id_ack, id_assign, id_review, id_cancel) = (id.clone(), id.clone(), id.clone(), id.clone());
    let status = m.status;
    let comment = RwSignal::new(String::new());
    let cancelling = RwSignal::new(false);
    let cancel_reason = RwSignal::new(String::new());
    let follow_up = m.needs_follow_up();
    view! {
        <article class="card" data-mission=m.id.clone() data-status=status.as_str()>
            <header>
                <span class="priority">{format!("P{}", m.priority)}</span>
                <strong>{m.place_label.clone()}</strong>
                <span class="hint grid-ref">{m.place.grid_ref()}</span>
            </header>
            <p class="template">{m.template.name.clone()}</p>
            {(!m.instructions.is_empty()).then(|| view! { <p class="instructions" data-testid="instructions">{m.instructions.clone()}</p> })}
            <p class="reason">{m.reason.clone()}</p>
            {m.assignee_name.clone().map(|n| view! { <p class="assignee">{format!("Assigned: {n}")}</p> })}
            {m.outcome.clone().map(|o| view! { <p class="outcome" data-testid="outcome">{outcome_text(&m, &o)}</p> })}
            {follow_up.then(|| view! { <p class="badge follow-up" data-testid="needs-follow-up">"Needs follow-up"</p> })}
            {m.outcome_note.clone().map(|n| view! { <blockquote class="note" data-testid="outcome-note">{n}</blockquote> })}
            {m.not_completed_reason.clone().map(|r| view! { <p class="note" data-testid="not-completed-reason">{format!("Not completed: {r}")}</p> })}
            {(!fb.notes.is_empty()).then(|| view! {
                <ul class="field-notes" data-testid="field-notes">
                    {fb.notes.iter().map(|n| view! { <li><strong>{n.author.clone()}": "</strong>{n.body.clone()}</li> }).collect_view()}
                </ul>
            })}
            {fb.review_comment.clone().map(|(c, who)| view! { <p class="note" data-testid="review-comment">{format!("Reviewed by {who}: {c}")}</p> })}
            {fb.cancel_reason.clone().map(|(c, who)| view! { <p class="note" data-testid="cancel-reason">{format!("Cancelled by {who}: {c}")}</p> })}
            {edit_form}
            <div class="actions">
                {(status == MissionStatus::Issued).then(|| view! {
                    <button type="button" class="primary" disabled=!rights.acknowledge
                        on:click=move |_| { step.dispatch((id_ack.clone(), Transition::Acknowledge, TransitionArgs { expected_version: Some(version), ..Default::default() })); }>
                        "Acknowledge"
                    </button>
                })}
                {matches!(status, MissionStatus::Acknowledged | MissionStatus::Assigned).then(|| view! {
                    <label class="assign">
                        <span class="visually-hidden">"Officer"</span>
                        <select on:change=move |ev| choice.set(event_target_value(&ev).parse().unwrap_or_default())>
                            {officers.iter().map(|(uid, name)| view! { <option value=uid.to_string()>{name.clone()}</option> }).collect_view()}
                        </select>
                    </label>
                    <button type="button" disabled=!rights.assign
                        on:click=move |_| {
                            let args = TransitionArgs { assignee_user_id: Some(choice.get_untracked()), expected_version: Some(version), ..Default::default() };
                            step.dispatch((id_assign.clone(), Transition::Assign, args));
                        }>
                        {if status == MissionStatus::Assigned { "Reassign" } else { "Assign" }}
                    </button>
                })}
                {matches!(status, MissionStatus::Completed | MissionStatus::NotCompleted).then(|| view! {
                    <label class="comment">
                        <span class="visually-hidden">"Review comment"</span>
                        <input type="text" maxlength="2000" placeholder="Comment (optional)" data-testid="review-comment-input"
                            disabled=!rights.review prop:value=move || comment.get() on:input=move |ev| comment.set(event_target_value(&ev))/>
                    </label>
                    <button type="button" disabled=!rights.review
                        on:click=move |_| {
                            let note = Some(comment.get_untracked()).filter(|c| !c.trim().is_empty());
                            step.dispatch((id_review.clone(), Transition::Review, TransitionArgs { note, expected_version: Some(version), ..Default::default() }));
                        }>
                        "Review"
                    </button>
                })}
                {(rights.cancel && Transition::Cancel.leaves(status) && status != MissionStatus::Draft).then(|| view! {
                    <Show when=move || cancelling.get() fallback=move || view! {
                        <button type="button" class="secondary" on:click=move |_| cancelling.set(true)>"Cancel…"</button>
                    }>
                        <label class="comment">
                            <span class="visually-hidden">"Why it is cancelled"</span>
                            <input type="text" maxlength="500" placeholder="Why (required)" data-testid="cancel-reason-input"
                                prop:value=move || cancel_reason.get() on:input=move |ev| cancel_reason.set(event_target_value(&ev))/>
                        </label>
                        <button type="button" class="danger" on:click={
                            let id_cancel = id_cancel.clone();
                            move |_| {
                                let reason = Some(cancel_reason.get_untracked());
                                step.dispatch((id_cancel.clone(), Transition::Cancel, TransitionArgs { reason, expected_version: Some(version), ..Default::default() }));
                            }
                        }>"Cancel mission"</button>
                    </Show>
                })}
            </div>
            <p class="status">{status.label()}</p>
        </article>
    }
    .into_any()
}
