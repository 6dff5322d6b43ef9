use leptos::prelude::*;
use leptos_meta::Title;

use crate::admin::{search_audit, AuditSearch};

pub(crate) fn utc(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    let secs = seconds.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC", secs / 3600, secs % 3600 / 60, secs % 60)
}

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
                                                <td>{utc(r.at)}</td>
                                                <td>{r.actor}</td>
                                                <td>{r.action}</td>
                                                <td>{r.target}</td>
                                                <td>{format!("{}{}", r.source_ip, r.device_id.map(|d| format!(" · {d}")).unwrap_or_default())}</td>
                                                <td>{r.outcome}</td>
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

#[cfg(test)]
mod tests {
    #[test]
    fn utc_times_read_as_calendar_dates() {
        assert_eq!(super::utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(super::utc(1_608_069_600), "2020-12-15 22:00:00 UTC");
        assert_eq!(super::utc(951_782_400), "2000-02-29 00:00:00 UTC");
    }
}
