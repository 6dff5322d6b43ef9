//! Officers' proposals. An officer proposes a mission at a place they know — a Mission Menu
//! template, a point with a radius (where they stand, or a place tapped on the map), and what
//! they have seen there — from "My missions"; their sergeant sees it on the shift board and
//! approves it into an issued mission of the board's shift in one step, or declines it with a
//! reason the officer reads. Made online: a proposal is a record of its own, not a mission state,
//! so the sync protocol is unchanged.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use protocol::menu::Template;
use protocol::mission::{Mission, MissionProposal, Place, ProposalDraft, ProposalStatus};
use serde::{Deserialize, Serialize};

use super::ShiftRef;
use crate::error::ApiError;
use crate::format::utc;

/// What "My missions" needs for proposing: whether the caller may, where, with which templates,
/// and their proposals so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProposingView {
    /// The caller may propose (officers).
    pub may_propose: bool,
    /// The caller's district (their squad's), where they propose.
    pub district: Option<String>,
    /// The Mission Menu's active templates.
    pub templates: Vec<Template>,
    /// The caller's proposals, newest first.
    pub proposals: Vec<MissionProposal>,
}

/// A sergeant's decision on one proposal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProposalDecision {
    /// The proposal.
    pub proposal_id: i64,
    /// `true`: approve it into a mission of `shift`; `false`: decline it with `reason`.
    pub approve: bool,
    /// The new mission's id (a UUID the device makes, as the plan's are).
    pub new_id: String,
    /// The shift the mission is issued for (the board's).
    pub shift: ShiftRef,
    /// Why it is declined (required), or a note added to the mission's instructions.
    pub reason: String,
}

/// Proposes a mission at a place the officer knows.
#[server(prefix = "/api", endpoint = "missions/propose", input = Json)]
pub async fn propose_mission(draft: ProposalDraft) -> Result<MissionProposal, ApiError> {
    ssr::propose(draft).await
}

/// The caller's proposals and what proposing needs.
#[server(prefix = "/api", endpoint = "missions/my_proposals", input = Json)]
pub async fn my_proposals() -> Result<ProposingView, ApiError> {
    ssr::mine().await
}

/// Approves a proposal into an issued mission, or declines it with a reason.
#[server(prefix = "/api", endpoint = "missions/proposal_decide", input = Json)]
pub async fn decide_proposal(decision: ProposalDecision) -> Result<Option<Mission>, ApiError> {
    ssr::decide(decision).await
}

/// Server side.
#[cfg(feature = "ssr")]
pub mod ssr {
    use bodega::audit::Outcome;
    use geo::Contains;
    use protocol::mission::{MissionProposal, Place, ProposalDraft};
    use protocol::policy::Target;
    use protocol::Action;

    use super::{ProposalDecision, ProposingView};
    use crate::auth::ssr::authorize;
    use crate::context::{context, fail, unavailable};
    use crate::error::ApiError;
    use crate::missions::ssr::from_mission_error;
    use crate::missions::IssueItem;

    /// A proposal stored; audited.
    ///
    /// # Errors
    /// 401/403 (not the caller's district); 422 naming the field (a point outside the
    /// district, no reason, a retired template); 503.
    pub async fn propose(mut d: ProposalDraft) -> Result<MissionProposal, ApiError> {
        let ctx = context()?;
        let grant =
            authorize(&ctx, Action::ProposeMission, Target::District(&d.district), &format!("proposal {}", d.district))
                .await?;
        let Some(area) = ctx.bodega.district_area(&d.district).await.map_err(unavailable)? else {
            return Err(fail(ApiError::invalid("district", format!("no district '{}'", d.district))));
        };
        // A proposal is a point with a radius: what an officer can name by standing there or
        // tapping the map. Its name, when the officer gives none, is the micro place's.
        let Place::Point { lat, lon, .. } = d.place else {
            return Err(fail(ApiError::invalid("place", "a proposal is a point with a radius")));
        };
        if lat.is_finite() && lon.is_finite() && !area.area.contains(&geo::Point::new(lon, lat)) {
            return Err(fail(ApiError::invalid("place", format!("{lat:.5}, {lon:.5} is outside {}", area.name))));
        }
        if d.place_label.trim().is_empty() && lat.is_finite() && lon.is_finite() {
            d.place_label = crate::missions::ssr::place_name(&ctx, &area, lat, lon).await?;
        }
        let result = ctx.bodega.propose_mission(&d, grant.user().id).await;
        let (outcome, detail) = match &result {
            Ok(p) => (Outcome::Success, format!("proposal {}: '{}' at {}", p.id, p.template_name, p.place_label)),
            Err(e) => (Outcome::Failure, e.to_string()),
        };
        grant.audit(&ctx, &format!("proposal {}", d.district), outcome, &detail).await?;
        result.map_err(from_mission_error)
    }

    /// The caller's proposals.
    ///
    /// # Errors
    /// 401/403; 503.
    pub async fn mine() -> Result<ProposingView, ApiError> {
        let ctx = context()?;
        let grant = authorize(&ctx, Action::ViewMissions, Target::Own, "/api/missions/my_proposals").await?;
        let user = grant.user();
        let district = user.districts.first().cloned();
        let subject = user.subject();
        let may_propose = district.as_deref().is_some_and(|d| {
            protocol::policy::decide(&subject, Action::ProposeMission, Target::District(d)).is_allowed()
        });
        let templates = ctx.bodega.mission_menu(false).await.map_err(unavailable)?;
        let proposals = ctx.bodega.proposals_by(user.id).await.map_err(unavailable)?;
        Ok(ProposingView { may_propose, district, templates, proposals })
    }

    /// A decision; audited.
    ///
    /// # Errors
    /// 401/403 (another district's proposal); 404; 422 naming the field (decided already, no
    /// reason to decline, a shift that does not run that day); 503.
    pub async fn decide(d: ProposalDecision) -> Result<Option<protocol::mission::Mission>, ApiError> {
        let ctx = context()?;
        let what = format!("proposal {}", d.proposal_id);
        let Some(p) = ctx.bodega.proposal(d.proposal_id).await.map_err(unavailable)? else {
            authorize(&ctx, Action::PlanMissions, Target::Reference, &what).await?;
            return Err(fail(ApiError::NotFound(format!("no proposal {}", d.proposal_id))));
        };
        let grant = authorize(&ctx, Action::PlanMissions, Target::District(&p.district), &what).await?;
        let by = grant.user().id;
        if !d.approve {
            let result = ctx.bodega.decide_proposal(p.id, None, &d.reason, by).await;
            let (outcome, detail) = match &result {
                Ok(_) => (Outcome::Success, format!("declined: {}", d.reason.trim())),
                Err(e) => (Outcome::Failure, e.to_string()),
            };
            grant.audit(&ctx, &what, outcome, &detail).await?;
            return result.map(|_| None).map_err(from_mission_error);
        }
        if d.shift.district != p.district {
            return Err(fail(ApiError::invalid(
                "shift",
                format!("the proposal is for {}, the shift for {}", p.district, d.shift.district),
            )));
        }
        let goal = ctx.bodega.template(p.template_id).await.map_err(unavailable)?.map(|t| t.goal).unwrap_or_default();
        // Claimed first, so a second sergeant's tap is refused rather than making a twin (and
        // given back to the queue when the mission cannot be made).
        if let Err(e) = ctx.bodega.decide_proposal(p.id, Some(d.new_id.trim()), "", by).await {
            grant.audit(&ctx, &what, Outcome::Failure, &e.to_string()).await?;
            return Err(from_mission_error(e));
        }
        let note = d.reason.trim();
        let instructions = [goal.trim(), note].into_iter().filter(|t| !t.is_empty()).collect::<Vec<_>>().join("\n");
        let item = IssueItem {
            id: d.new_id.clone(),
            template_id: p.template_id,
            place: p.place.clone(),
            place_label: p.place_label.clone(),
            priority: 2,
            instructions,
            reason: format!("Proposed by {}: {}", p.proposed_by, p.why).chars().take(1000).collect(),
            window: None,
        };
        match crate::missions::ssr::issue(d.shift.clone(), vec![item]).await {
            Ok(mut made) => {
                let m = made.remove(0);
                let detail = format!("approved as mission {} for {} {} {}", m.id, m.district, m.shift, m.shift_date);
                grant.audit(&ctx, &what, Outcome::Success, &detail).await?;
                Ok(Some(m))
            }
            Err(e) => {
                ctx.bodega.reopen_proposal(p.id).await.map_err(unavailable)?;
                grant.audit(&ctx, &what, Outcome::Failure, &e.to_string()).await?;
                Err(e)
            }
        }
    }
}

/// A proposal's standing in words, for the officer's list and the sergeant's queue.
pub fn standing(p: &MissionProposal) -> String {
    match p.status {
        ProposalStatus::Pending => "Waiting for a decision".to_string(),
        ProposalStatus::Approved => format!("Approved by {}: now a mission", p.decided_by),
        ProposalStatus::Declined => format!("Declined by {}: {}", p.decided_by, p.decline_reason),
    }
}

/// "My missions"' proposing section: a form (template, place, why) and the officer's proposals.
#[component]
pub fn ProposeSection(
    /// The device's position (the screen's one watch).
    position: RwSignal<Option<(f64, f64, f64)>>,
) -> impl IntoView {
    let mine = Resource::new(|| (), |_| my_proposals());
    let message = RwSignal::new(None::<Result<String, String>>);
    let send = Action::new(move |d: &ProposalDraft| {
        let d = d.clone();
        async move { propose_mission(d).await }
    });
    Effect::new(move |_| {
        if let Some(result) = send.value().get() {
            message.set(Some(match result {
                Ok(p) => {
                    Ok(format!("Proposed: {} at {}. Your sergeant decides on it.", p.template_name, p.place_label))
                }
                Err(e) => Err(e.to_string()),
            }));
            mine.refetch();
        }
    });
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match mine.await {
                    Err(_) => ().into_any(),
                    Ok(m) if !m.may_propose && m.proposals.is_empty() => ().into_any(),
                    Ok(m) => view! {
                        <section class="propose" data-testid="propose">
                            <h2>"Propose a mission"</h2>
                            {move || message.get().map(|r| match r {
                                Ok(t) => view! { <p class="notice" role="status" data-testid="propose-message">{t}</p> }.into_any(),
                                Err(t) => view! { <p class="error" role="alert" data-testid="propose-message">{t}</p> }.into_any(),
                            })}
                            {m.may_propose.then(|| {
                                let district = m.district.clone().unwrap_or_default();
                                view! { <ProposeForm district templates=m.templates.clone() send position/> }
                            })}
                            {(!m.proposals.is_empty()).then(|| view! {
                                <h3>"Your proposals"</h3>
                                <ul class="proposal-list" data-testid="my-proposals">
                                    {m.proposals.iter().map(|p| view! {
                                        <li data-status=p.status.as_str()>
                                            <strong>{p.place_label.clone()}</strong>
                                            <span class="hint">{format!(" · {} · {}", p.template_name, utc(p.proposed_at))}</span>
                                            <p class="standing">{standing(p)}</p>
                                        </li>
                                    }).collect_view()}
                                </ul>
                            })}
                        </section>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn ProposeForm(
    district: String,
    templates: Vec<Template>,
    send: Action<ProposalDraft, Result<MissionProposal, ApiError>>,
    position: RwSignal<Option<(f64, f64, f64)>>,
) -> impl IntoView {
    let first = templates.first().map(|t| t.id).unwrap_or_default();
    let template = RwSignal::new(first);
    let picked = RwSignal::new(None::<(f64, f64)>);
    let radius = RwSignal::new(75.0);
    let label = RwSignal::new(String::new());
    let why = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let district = StoredValue::new(district);
    view! {
        <form class="template-form propose-form" data-testid="propose-form" on:submit=move |ev| {
            ev.prevent_default();
            let Some((lat, lon)) = picked.get_untracked() else {
                error.set(Some("Choose the place: tap the map, or use your position.".into()));
                return;
            };
            if why.get_untracked().trim().is_empty() {
                error.set(Some("Say what you have seen there: your sergeant decides on it.".into()));
                return;
            }
            error.set(None);
            send.dispatch(ProposalDraft {
                district: district.get_value(),
                template_id: template.get_untracked(),
                place: Place::Point { lat, lon, radius_m: radius.get_untracked() },
                place_label: label.get_untracked(),
                why: why.get_untracked(),
            });
        }>
            <p class="hint">"A place you know that the numbers miss. Online only; your sergeant approves it into a mission or says why not."</p>
            {move || error.get().map(|e| view! { <p class="error" role="alert" data-testid="propose-error">{e}</p> })}
            <label>"Template"
                <select name="template" on:change=move |ev| template.set(event_target_value(&ev).parse().unwrap_or_default())>
                    {templates.into_iter().map(|t| view! { <option value=t.id.to_string() selected=t.id == first>{t.name.clone()}</option> }).collect_view()}
                </select>
            </label>
            <crate::ui::place_picker::PlacePicker picked radius=radius label="Tap the map where the mission should be" district=district.get_value()/>
            <div class="actions">
                <button type="button" class="secondary" data-testid="use-position" disabled=move || position.get().is_none()
                    on:click=move |_| if let Some((lat, lon, _)) = position.get_untracked() { picked.set(Some((lat, lon))) }>
                    {move || if position.get().is_some() { "Use my position" } else { "Waiting for your position…" }}
                </button>
            </div>
            <label>"Radius (metres)"
                <input type="number" name="radius" min="5" max="2000" prop:value=move || radius.get().to_string()
                    on:input=move |ev| radius.set(event_target_value(&ev).parse().unwrap_or(75.0))/>
            </label>
            <label>"Name of the place (optional)"
                <input type="text" name="place_label" maxlength="200" placeholder="Left empty: the block's name"
                    prop:value=move || label.get() on:input=move |ev| label.set(event_target_value(&ev))/>
            </label>
            <label>"What you have seen there"
                <textarea name="why" maxlength="1000" rows="3" prop:value=move || why.get() on:input=move |ev| why.set(event_target_value(&ev))></textarea>
            </label>
            <div class="actions">
                <button type="submit" class="primary" disabled=move || send.pending().get()>"Propose"</button>
            </div>
        </form>
    }
}

/// The board's queue of the district's pending proposals: approve one into the board's shift,
/// or decline it with a reason.
#[component]
pub fn ProposalQueue(
    proposals: Vec<MissionProposal>,
    shift: ShiftRef,
    may_decide: bool,
    decide: Action<ProposalDecision, Result<Option<Mission>, ApiError>>,
) -> impl IntoView {
    // The board carries only the waiting ones.
    let pending = proposals;
    if pending.is_empty() {
        return ().into_any();
    }
    let n = pending.len();
    let shift = StoredValue::new(shift);
    view! {
        <details class="proposals-queue" open data-testid="proposal-queue">
            <summary><h2>{format!("Proposals from officers ({n})")}</h2></summary>
            {pending.into_iter().map(|p| {
                let reason = RwSignal::new(String::new());
                let id = p.id;
                let dispatch = move |approve: bool| {
                    decide.dispatch(ProposalDecision {
                        proposal_id: id,
                        approve,
                        new_id: super::plan::new_mission_id(),
                        shift: shift.get_value(),
                        reason: reason.get_untracked(),
                    });
                };
                view! {
                    <article class="card proposal-card" data-proposal=id.to_string()>
                        <header>
                            <strong>{p.place_label.clone()}</strong>
                            <span class="hint">{format!(" · {}", p.template_name)}</span>
                        </header>
                        <p class="reason">{format!("{}: {}", p.proposed_by, p.why)}</p>
                        <p class="hint">{format!("Proposed {}", utc(p.proposed_at))}</p>
                        {may_decide.then(|| view! {
                            <label class="comment">
                                <span class="visually-hidden">"Note or reason"</span>
                                <input type="text" maxlength="500" placeholder="Note for the mission, or why not (required to decline)"
                                    data-testid="proposal-reason" prop:value=move || reason.get() on:input=move |ev| reason.set(event_target_value(&ev))/>
                            </label>
                            <div class="actions">
                                <button type="button" class="primary" disabled=move || decide.pending().get() on:click=move |_| dispatch(true)>
                                    {shift.with_value(|s| format!("Approve for shift {} on {}", s.shift, s.shift_date))}
                                </button>
                                <button type="button" class="secondary" disabled=move || decide.pending().get() on:click=move |_| dispatch(false)>"Decline"</button>
                            </div>
                        })}
                    </article>
                }
            }).collect_view()}
        </details>
    }
    .into_any()
}
