//! `/followups`: the district's follow-up queue. A finished mission whose officer answered
//! "needs follow-up" waits here, with the officer's closing note and field notes, until a
//! sergeant (or command) turns it into a new mission at the same place in one step, or closes it
//! with a reason. Each is handled once: the store's key refuses a second hand.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use leptos_meta::Title;
use protocol::menu::Template;
use protocol::mission::{FollowUp, Mission};
use serde::{Deserialize, Serialize};

use super::outcome_text;
use crate::error::ApiError;

/// The queue as the screen shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FollowUpList {
    /// The district shown (`None`: every district).
    pub district: Option<String>,
    /// The districts the caller may choose between: (code, name).
    pub districts: Vec<(String, String)>,
    /// Waiting follow-ups, newest shift first.
    pub items: Vec<FollowUp>,
    /// Templates a follow-up mission can use (the latest active versions).
    pub templates: Vec<Template>,
    /// Shift codes and names.
    pub shifts: Vec<(String, String)>,
    /// Today in the department (the demo city's own today on the demo).
    pub today: String,
}

/// What the sergeant does with one follow-up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FollowUpAction {
    /// The finished mission that asked for it.
    pub mission_id: String,
    /// The new mission's id (a UUID the device makes, as the plan's are).
    pub new_id: String,
    /// `true`: a new mission; `false`: close it with `reason`.
    pub new_mission: bool,
    /// The new mission's template version (the default: the finished mission's template).
    pub template_id: Option<i64>,
    /// The new mission's shift code.
    pub shift: Option<String>,
    /// The new mission's shift date (`YYYY-MM-DD`).
    pub shift_date: Option<String>,
    /// Why it is closed without a mission (or a note for the new mission's instructions).
    pub reason: String,
}

/// A district's follow-up queue (sergeants: their district; command and analysts: any or all).
#[server(prefix = "/api", endpoint = "missions/followups", input = Json)]
pub async fn follow_up_queue(district: Option<String>) -> Result<FollowUpList, ApiError> {
    ssr::queue(district).await
}

/// Turns a follow-up into a new mission, or closes it with a reason.
#[server(prefix = "/api", endpoint = "missions/followup_act", input = Json)]
pub async fn act_on_follow_up(action: FollowUpAction) -> Result<Option<Mission>, ApiError> {
    ssr::act(action).await
}

/// Server side.
#[cfg(feature = "ssr")]
pub mod ssr {
    use bodega::audit::Outcome;
    use bodega::feedback::Handled;
    use protocol::policy::Target;
    use protocol::Action;

    use super::{FollowUpAction, FollowUpList};
    use crate::auth::ssr::authorize;
    use crate::context::{context, unavailable};
    use crate::error::ApiError;
    use crate::missions::ssr::{from_mission_error, gated_mission, in_district};
    use crate::missions::{IssueItem, ShiftRef};

    /// The queue.
    ///
    /// # Errors
    /// 401/403; 503.
    pub async fn queue(district: Option<String>) -> Result<FollowUpList, ApiError> {
        let ctx = context()?;
        let district = crate::missions::ssr::default_district(Action::PlanMissions, district);
        let target = match &district {
            Some(d) => Target::District(d),
            None => Target::City,
        };
        let grant = authorize(&ctx, Action::PlanMissions, target, "follow-up queue").await?;
        let subject = grant.user().subject();
        let districts = crate::missions::ssr::districts_for(&ctx, &subject, Action::PlanMissions).await?;
        let items = ctx.bodega.follow_ups(district.as_deref()).await.map_err(unavailable)?;
        let templates = ctx.bodega.mission_menu(false).await.map_err(unavailable)?;
        let shifts = ctx.bodega.shifts().await.map_err(unavailable)?.into_iter().map(|p| (p.code, p.name)).collect();
        let today = ctx.today().await?.to_string();
        Ok(FollowUpList { district, districts, items, templates, shifts, today })
    }

    /// One follow-up handled; audited.
    ///
    /// # Errors
    /// 401/403; 404; 422 naming the field (handled already, no reason, a shift that does not
    /// run that day); 503.
    pub async fn act(a: FollowUpAction) -> Result<Option<protocol::mission::Mission>, ApiError> {
        let ctx = context()?;
        let what = format!("follow-up {}", a.mission_id.chars().take(40).collect::<String>());
        let (source, grant) = gated_mission(&ctx, &a.mission_id, Action::PlanMissions, in_district, &what).await?;
        let by = grant.user().id;
        if !a.new_mission {
            let result = ctx.bodega.handle_follow_up(&a.mission_id, Handled::Closed, &a.reason, by).await;
            let (outcome, detail) = match &result {
                Ok(_) => (Outcome::Success, format!("closed without a mission: {}", a.reason.trim())),
                Err(e) => (Outcome::Failure, e.to_string()),
            };
            grant.audit(&ctx, &what, outcome, &detail).await?;
            return result.map(|_| None).map_err(from_mission_error);
        }
        let shift = ShiftRef {
            district: source.district.clone(),
            shift: a.shift.clone().filter(|s| !s.is_empty()).unwrap_or_else(|| source.shift.clone()),
            shift_date: a.shift_date.clone().filter(|d| !d.is_empty()).unwrap_or(ctx.today().await?.to_string()),
        };
        // Claimed first, so a second sergeant's tap is refused rather than making a twin.
        let claimed = ctx.bodega.handle_follow_up(&a.mission_id, Handled::Mission, &a.reason, by).await;
        if let Err(e) = claimed {
            grant.audit(&ctx, &what, Outcome::Failure, &e.to_string()).await?;
            return Err(from_mission_error(e));
        }
        let note = source.outcome_note.clone().unwrap_or_default();
        let said = [a.reason.trim(), note.trim()].into_iter().filter(|t| !t.is_empty()).collect::<Vec<_>>().join(" — ");
        let item = IssueItem {
            id: a.new_id.clone(),
            template_id: a.template_id.unwrap_or(source.template.id),
            place: source.place.clone(),
            place_label: source.place_label.clone(),
            priority: 1,
            instructions: if said.is_empty() {
                "Follow up on the last mission here.".to_string()
            } else {
                format!("Follow up: {}", said.chars().take(900).collect::<String>())
            },
            reason: format!(
                "Follow-up asked for by {} after '{}' on {}",
                source.assignee_name.clone().unwrap_or_else(|| "the officer".into()),
                source.template.name,
                source.shift_date
            ),
            window: None,
        };
        match crate::missions::ssr::issue(shift.clone(), vec![item]).await {
            Ok(mut made) => {
                let m = made.remove(0);
                ctx.bodega.link_follow_up(&a.mission_id, &m.id).await.map_err(unavailable)?;
                grant
                    .audit(
                        &ctx,
                        &what,
                        Outcome::Success,
                        &format!("new mission {} for {} {} {}", m.id, shift.district, shift.shift, shift.shift_date),
                    )
                    .await?;
                Ok(Some(m))
            }
            Err(e) => {
                ctx.bodega.release_follow_up(&a.mission_id).await.map_err(unavailable)?;
                grant.audit(&ctx, &what, Outcome::Failure, &e.to_string()).await?;
                Err(e)
            }
        }
    }
}

/// `/followups`: the queue, each with "Make a mission" and "Close".
#[component]
pub fn FollowUpsPage() -> impl IntoView {
    let district = RwSignal::new(None::<String>);
    let queue = Resource::new(move || district.get(), follow_up_queue);
    let message = RwSignal::new(None::<Result<String, String>>);
    let act = Action::new(move |a: &FollowUpAction| {
        let a = a.clone();
        async move { act_on_follow_up(a).await }
    });
    Effect::new(move |_| {
        if let Some(result) = act.value().get() {
            message.set(Some(match result {
                Ok(Some(m)) => Ok(format!(
                    "Issued a follow-up mission at {} for shift {} on {}.",
                    m.place_label, m.shift, m.shift_date
                )),
                Ok(None) => Ok("Closed without a mission.".into()),
                Err(e) => Err(e.to_string()),
            }));
            queue.refetch();
        }
    });
    view! {
        <Title text="Follow-ups · Beatbook"/>
        <section class="page wide followups">
            <h1>"Follow-ups"</h1>
            <p class="hint">"Missions whose officer answered “needs follow-up”, with what they wrote. Make a mission at the same place in one step, or close it with a reason."</p>
            {move || message.get().map(|m| match m {
                Ok(t) => view! { <p class="notice" role="status" data-testid="followup-message">{t}</p> }.into_any(),
                Err(t) => view! { <p class="error" role="alert" data-testid="followup-message">{t}</p> }.into_any(),
            })}
            <Transition fallback=|| view! { <p class="loading">"Loading the queue…"</p> }>
                {move || Suspend::new(async move {
                    match queue.await {
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                        Ok(q) => {
                            let chosen = q.district.clone().unwrap_or_default();
                            let picker = view! {
                                <label class="district-pick">"District "
                                    <select data-testid="followup-district" on:change=move |ev| {
                                        let v = event_target_value(&ev);
                                        district.set(if v.is_empty() { None } else { Some(v) });
                                    }>
                                        <option value="" selected=chosen.is_empty()>"Every district I plan for"</option>
                                        {q.districts.iter().map(|(code, name)| view! {
                                            <option value=code.clone() selected=*code == chosen>{format!("{name} ({code})")}</option>
                                        }).collect_view()}
                                    </select>
                                </label>
                            };
                            if q.items.is_empty() {
                                return view! {
                                    {picker}
                                    <p class="empty" data-testid="no-followups">"Nothing waits: when an officer finishes a mission with “needs follow-up”, it appears here with their note."</p>
                                }.into_any();
                            }
                            let templates = StoredValue::new(q.templates.clone());
                            let shifts = StoredValue::new(q.shifts.clone());
                            let today = q.today.clone();
                            view! {
                                {picker}
                                <ul class="followup-list" data-testid="followups">
                                    {q.items.into_iter().map(|f| view! { <FollowUpItem f templates shifts today=today.clone() act/> }).collect_view()}
                                </ul>
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
fn FollowUpItem(
    f: FollowUp,
    templates: StoredValue<Vec<Template>>,
    shifts: StoredValue<Vec<(String, String)>>,
    today: String,
    act: Action<FollowUpAction, Result<Option<Mission>, ApiError>>,
) -> impl IntoView {
    let m = f.mission.clone();
    // The template's latest version by default (the finished mission may name an older one).
    let initial =
        templates.with_value(|ts| ts.iter().find(|t| t.key == m.template.key).map(|t| t.id)).unwrap_or(m.template.id);
    let template = RwSignal::new(initial);
    let shift = RwSignal::new(m.shift.clone());
    let date = RwSignal::new(today);
    let reason = RwSignal::new(String::new());
    let id = StoredValue::new(m.id.clone());
    let outcome = m.outcome.as_ref().map(|o| outcome_text(&m, o)).unwrap_or_default();
    let send = move |new_mission: bool| {
        act.dispatch(FollowUpAction {
            mission_id: id.get_value(),
            new_id: super::plan::new_mission_id(),
            new_mission,
            template_id: Some(template.get_untracked()),
            shift: Some(shift.get_untracked()),
            shift_date: Some(date.get_untracked()),
            reason: reason.get_untracked(),
        });
    };
    view! {
        <li class="followup card" data-mission=m.id.clone()>
            <header>
                <strong>{m.place_label.clone()}</strong>
                <span class="hint grid-ref">{m.place.grid_ref()}</span>
            </header>
            <p class="hint">{format!("{} · {} {} · {}", m.template.name, m.district, m.shift_date, m.assignee_name.clone().unwrap_or_default())}</p>
            <p class="outcome">{outcome}</p>
            {m.outcome_note.clone().map(|n| view! { <blockquote class="note" data-testid="followup-note">{n}</blockquote> })}
            {f.feedback.notes.iter().map(|n| view! { <p class="field-note"><strong>{n.author.clone()}": "</strong>{n.body.clone()}</p> }).collect_view()}
            <div class="followup-form">
                <label>"Template"
                    <select on:change=move |ev| template.set(event_target_value(&ev).parse().unwrap_or_default())>
                        {templates.get_value().into_iter().map(|t| {
                            let selected = t.id == initial;
                            view! { <option value=t.id.to_string() selected=selected>{t.name.clone()}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <label>"Shift"
                    <select on:change=move |ev| shift.set(event_target_value(&ev))>
                        {shifts.get_value().into_iter().map(|(code, name)| {
                            let selected = code == m.shift;
                            view! { <option value=code.clone() selected=selected>{format!("{code} · {name}")}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <label>"Date"
                    <input type="date" prop:value=move || date.get() on:input=move |ev| date.set(event_target_value(&ev))/>
                </label>
                <label class="wide">"Note or reason"
                    <input type="text" maxlength="500" placeholder="For the new mission, or why none is needed"
                        prop:value=move || reason.get() on:input=move |ev| reason.set(event_target_value(&ev))/>
                </label>
                <div class="actions">
                    <button type="button" class="primary" disabled=move || act.pending().get() on:click=move |_| send(true)>"Make a mission"</button>
                    <button type="button" disabled=move || act.pending().get() on:click=move |_| send(false)>"Close without a mission"</button>
                </div>
            </div>
        </li>
    }
}
