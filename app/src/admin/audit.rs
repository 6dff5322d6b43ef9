//! `/admin/audit`: the audit log, searchable (administrators).

use leptos::prelude::*;
use leptos_meta::Title;

use super::{search_audit, AuditSearch};

/// `/admin/audit`: the audit log, searchable by who, what and outcome (administrators).
#[component]
pub fn AuditLog() -> impl IntoView {
    let actor = RwSignal::new(String::new());
    let action = RwSignal::new(String::new());
    let outcome = RwSignal::new(String::new());
    let query = RwSignal::new(AuditSearch::default());
    let rows = Resource::new(move || query.get(), search_audit);
    let opt = |s: String| Some(s).filter(|v| !v.trim().is_empty());
    view! {
        <Title text="Audit log · Beatbook"/>
        <section class="page wide">
            <h1>"Audit log"</h1>
            <p class="hint">"Who did what, when, from where, and how it ended. Kept at least a year; nothing in it can be changed."</p>
            <form class="picker" on:submit=move |ev| {
                ev.prevent_default();
                query.set(AuditSearch {
                    actor: opt(actor.get_untracked()),
                    action: opt(action.get_untracked()),
                    outcome: opt(outcome.get_untracked()),
                    before_id: None,
                });
            }>
                <label>"Who"<input prop:value=move || actor.get() on:input=move |ev| actor.set(event_target_value(&ev))/></label>
                <label>"Action"<input prop:value=move || action.get() on:input=move |ev| action.set(event_target_value(&ev)) placeholder="sign_in"/></label>
                <label>"Outcome"
                    <select on:change=move |ev| outcome.set(event_target_value(&ev))>
                        <option value="">"any"</option>
                        <option value="success">"success"</option>
                        <option value="denied">"denied"</option>
                        <option value="failure">"failure"</option>
                    </select>
                </label>
                <button type="submit" class="primary">"Search"</button>
            </form>
            <Transition fallback=|| view! { <p class="loading">"Searching…"</p> }>
                {move || Suspend::new(async move {
                    match rows.await {
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                        Ok(list) if list.is_empty() => view! { <p class="empty">"No records match."</p> }.into_any(),
                        Ok(list) => view! {
                            <div class="table-scroll">
                                <table class="audit" data-testid="audit">
                                    <thead><tr><th>"When"</th><th>"Who"</th><th>"Action"</th><th>"On"</th><th>"From"</th><th>"Outcome"</th><th>"Detail"</th></tr></thead>
                                    <tbody>
                                        {list.into_iter().map(|r| {
                                            let class = format!("outcome-{}", r.outcome);
                                            view! {
                                            <tr class=class>
                                                <td>{crate::format::utc(r.at)}</td>
                                                <td>{r.actor}</td>
                                                <td>{r.action}</td>
                                                <td>{r.target}</td>
                                                <td>{format!("{}{}", r.source_ip, r.device_id.map(|d| format!(" · {d}")).unwrap_or_default())}</td>
                                                <td>{r.outcome.as_str()}</td>
                                                <td>{r.detail}</td>
                                            </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
    .into_any()
}
