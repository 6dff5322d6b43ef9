//! The mission screens: planning a shift from recommendations (`/plan`), the sergeant's shift
//! board (`/board`), the officer's "My missions" with the Koper timer (`/missions`), and the
//! Mission Menu editor (`/menu`). Mobile first: big touch targets, no typing for the common
//! outcomes.

use std::collections::BTreeSet;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use protocol::menu::{OutcomeField, OutcomeKind, Template, TemplateDraft, CRIME_TYPES, TACTICS};
use protocol::mission::{Mission, Place, TransitionArgs};
use protocol::{MissionStatus, Transition};

use crate::missions::{
    get_board, get_menu, get_shifts, issue_missions, move_mission, recommend, save_template, IssueItem, ShiftRef,
};

/// Straight-line distance (metres) and compass bearing (degrees from grid north) from a
/// position to a place, projected in the place's UTM zone by the scoring core.
pub fn distance_and_bearing(lat: f64, lon: f64, place: &Place) -> Option<(f64, f64)> {
    let (plat, plon) = place.centre();
    let epsg = match place {
        Place::Cell { epsg, .. } => hotspot::Epsg::utm(*epsg).ok()?,
        _ => hotspot::Epsg::for_lon_lat(plon, plat).ok()?,
    };
    let utm = hotspot::Utm::new(epsg);
    let (px, py) = utm.forward(plon, plat).ok()?;
    let (x, y) = utm.forward(lon, lat).ok()?;
    let found = hotspot::nearby(&[(px, py)], x, y, f64::INFINITY);
    found.first().map(|n| (n.distance_m, n.bearing_deg))
}

/// Eight-point compass name of a bearing.
pub fn compass(bearing: f64) -> &'static str {
    const NAMES: [&str; 8] = ["N", "NE", "E", "SE", "S", "SW", "W", "NW"];
    NAMES[((bearing.rem_euclid(360.0) + 22.5) / 45.0) as usize % 8]
}

/// "350 m", "1.2 km".
pub fn distance_text(m: f64) -> String {
    if m < 1000.0 {
        format!("{} m", (m / 10.0).round() * 10.0)
    } else {
        format!("{:.1} km", m / 1000.0)
    }
}

/// Missions ordered as an officer works them: priority first, then nearest.
pub fn order_by_priority_and_distance(missions: &mut [(Mission, Option<(f64, f64)>)]) {
    missions.sort_by(|(a, da), (b, db)| {
        a.priority
            .cmp(&b.priority)
            .then_with(|| {
                let (x, y) = (da.map_or(f64::INFINITY, |d| d.0), db.map_or(f64::INFINITY, |d| d.0));
                x.total_cmp(&y)
            })
            .then_with(|| a.id.cmp(&b.id))
    });
}

pub(crate) fn query_or(key: &'static str, default: impl Fn() -> String + Send + Sync + 'static) -> RwSignal<String> {
    let q = use_query_map();
    let v = q.with_untracked(|q| q.get(key)).unwrap_or_else(default);
    RwSignal::new(v)
}

fn new_id() -> String {
    #[cfg(feature = "hydrate")]
    {
        let a = js_sys::Math::random();
        let b = js_sys::Math::random();
        let c = js_sys::Date::now() as u64;
        format!(
            "{:012x}-{:04x}-7{:03x}-8{:03x}-{:012x}",
            c,
            (a * 65536.0) as u32,
            (b * 4096.0) as u32,
            (a * b * 4096.0) as u32,
            ((a + b) * 1e14) as u64 & 0xffff_ffff_ffff
        )
    }
    #[cfg(not(feature = "hydrate"))]
    {
        String::new()
    }
}

/// District, shift and date pickers shared by the planning and board screens.
#[component]
pub(crate) fn ShiftPicker(
    district: RwSignal<String>,
    shift: RwSignal<String>,
    date: RwSignal<String>,
) -> impl IntoView {
    let options = Resource::new(|| (), |_| get_shifts());
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading shifts…"</p> }>
            {move || Suspend::new(async move {
                match options.await {
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(o) => {
                        // Shown with the department's defaults for what the page's query left
                        // empty; the signals keep only what the user chose.
                        let first_district = o.districts.first().map(|d| d.0.clone()).unwrap_or_default();
                        let first_shift = o.shifts.first().map(|s| s.0.clone()).unwrap_or_default();
                        let today = o.today.clone();
                        fn or(v: String, d: &str) -> String {
                            if v.is_empty() { d.to_string() } else { v }
                        }
                        view! {
                            <div class="picker">
                                <label>"District"
                                    <select prop:value=move || or(district.get(), &first_district) on:change=move |ev| district.set(event_target_value(&ev))>
                                        {o.districts.iter().map(|(c, n)| view! { <option value=c.clone()>{n.clone()}</option> }).collect_view()}
                                    </select>
                                </label>
                                <label>"Shift"
                                    <select prop:value=move || or(shift.get(), &first_shift) on:change=move |ev| shift.set(event_target_value(&ev))>
                                        {o.shifts.iter().map(|(c, n, a, b)| view! { <option value=c.clone()>{format!("{n} ({a}–{b})")}</option> }).collect_view()}
                                    </select>
                                </label>
                                <label>"Date"
                                    <input type="date" prop:value=move || or(date.get(), &today) on:change=move |ev| date.set(event_target_value(&ev))/>
                                </label>
                            </div>
                        }
                        .into_any()
                    }
                }
            })}
        </Suspense>
    }
    .into_any()
}

/// What the page's pickers hold (empty where the user has not chosen): a resource's source.
pub(crate) fn shift_choice(
    district: RwSignal<String>,
    shift: RwSignal<String>,
    date: RwSignal<String>,
) -> (String, String, String) {
    (district.get(), shift.get(), date.get())
}

/// The shift a planning page shows: the page's choice, with the department's defaults (the first
/// district the caller may see, the first shift, today) for whatever is still empty. Resolved
/// inside the page's resource — never by writing signals while rendering — so the server's render
/// and the hydrating browser's always agree on it.
pub(crate) async fn chosen_shift(
    (district, shift, date): (String, String, String),
) -> Result<Option<ShiftRef>, crate::api::ApiError> {
    if !district.is_empty() && !shift.is_empty() && !date.is_empty() {
        return Ok(Some(ShiftRef { district, shift, shift_date: date }));
    }
    let o = get_shifts().await?;
    let pick = |v: String, d: Option<&String>| if v.is_empty() { d.cloned().unwrap_or_default() } else { v };
    let d = pick(district, o.districts.first().map(|d| &d.0));
    let s = pick(shift, o.shifts.first().map(|s| &s.0));
    let t = pick(date, Some(&o.today));
    Ok((!d.is_empty() && !s.is_empty() && !t.is_empty()).then_some(ShiftRef { district: d, shift: s, shift_date: t }))
}

/// `/plan`: proposals for a district's shift; accept, edit or reject each; issue.
#[component]
pub fn PlanShift() -> impl IntoView {
    let district = query_or("district", String::new);
    let shift = query_or("shift", String::new);
    let date = query_or("date", String::new);
    let recs = Resource::new(
        move || shift_choice(district, shift, date),
        |c| async move {
            match chosen_shift(c).await {
                Ok(Some(s)) => Some(recommend(s).await),
                Ok(None) => None,
                Err(e) => Some(Err(e)),
            }
        },
    );
    let rejected = RwSignal::new(BTreeSet::<u32>::new());
    let message = RwSignal::new(None::<Result<String, String>>);
    let issue = Action::new(move |items: &(ShiftRef, Vec<IssueItem>)| {
        let (s, items) = items.clone();
        async move { issue_missions(s, items).await }
    });
    Effect::new(move |_| {
        if let Some(result) = issue.value().get() {
            message.set(Some(match result {
                Ok(m) => Ok(format!("Issued {} missions.", m.len())),
                Err(e) => Err(e.to_string()),
            }));
            recs.refetch();
        }
    });
    view! {
        <Title text="Plan a shift · Beatbook"/>
        <section class="page">
            <h1>"Plan a shift"</h1>
            <ShiftPicker district shift date/>
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
                            let window = format!(
                                "Top places of {} by harm ({}) in {} m cells, {} to {}.",
                                r.district_name, r.harm_table, r.cell_size_m, r.window_from, r.window_to
                            );
                            view! {
                                <p class="hint">{window}</p>
                                {r.window_moved_to_data.then(|| view! {
                                    <p class="notice" role="status">"The data ends before this shift: the ranking uses the last 28 days of data."</p>
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
                                                    <span class="where">{p.place_label.clone()}</span>
                                                    <span class="priority">{format!("P{}", p.priority)}</span>
                                                </div>
                                                <p class="reason">{p.reason.clone()}</p>
                                                {match skipped {
                                                    Some(why) => view! { <p class="skip-note">{format!("Not proposed: {why}")}</p> }.into_any(),
                                                    None => view! {
                                                        <label class="accept">
                                                            <input type="checkbox"
                                                                prop:checked=move || !rejected.get().contains(&rank)
                                                                on:change=move |ev| {
                                                                    let on = event_target_checked(&ev);
                                                                    rejected.update(|r| { if on { r.remove(&rank); } else { r.insert(rank); } });
                                                                }/>
                                                            " Issue this mission"
                                                        </label>
                                                    }.into_any(),
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
                                            .map(|p| IssueItem {
                                                id: new_id(),
                                                template_id: p.template_id,
                                                place: p.place.clone(),
                                                place_label: p.place_label.clone(),
                                                priority: p.priority,
                                                instructions: "Koper visits: 10–16 minutes, random order, about every two hours.".into(),
                                                reason: p.reason.clone(),
                                            })
                                            .collect();
                                        issue.dispatch((shift_for_issue.clone(), chosen));
                                    }>
                                    {move || format!("Issue {} missions", open.iter().filter(|p| !rejected.get().contains(&p.rank)).count())}
                                </button>
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
    let district = query_or("district", String::new);
    let shift = query_or("shift", String::new);
    let date = query_or("date", String::new);
    let board = Resource::new(
        move || shift_choice(district, shift, date),
        |c| async move {
            match chosen_shift(c).await {
                Ok(Some(s)) => Some(get_board(s).await),
                Ok(None) => None,
                Err(e) => Some(Err(e)),
            }
        },
    );
    let error = RwSignal::new(None::<String>);
    let step = Action::new(move |input: &(String, Transition, TransitionArgs)| {
        let (id, t, args) = input.clone();
        async move { move_mission(id, t, args).await }
    });
    Effect::new(move |_| {
        if let Some(result) = step.value().get() {
            error.set(result.err().map(|e| e.to_string()));
            board.refetch();
        }
    });
    const COLUMNS: [&str; 5] = ["Issued", "Acknowledged", "Assigned", "In progress", "Done"];
    view! {
        <Title text="Shift board · Beatbook"/>
        <section class="page wide">
            <h1>"Shift board"</h1>
            <ShiftPicker district shift date/>
            {move || error.get().map(|e| view! { <p class="error" role="alert" data-testid="board-error">{e}</p> })}
            <Transition fallback=|| view! { <p class="loading">"Loading the board…"</p> }>
                {move || Suspend::new(async move {
                    match board.await {
                        None => ().into_any(),
                        Some(Err(e)) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                        Some(Ok(b)) => {
                            let officers = b.officers.clone();
                            let rights = b.rights;
                            view! {
                                <div class="board" data-testid="board">
                                    {COLUMNS.iter().enumerate().map(|(col, title)| {
                                        let cards: Vec<Mission> = b.missions.iter().filter(|m| status_column(m.status) == col).cloned().collect();
                                        let officers = officers.clone();
                                        view! {
                                            <section class="column" data-column=*title>
                                                <h2>{format!("{title} ({})", cards.len())}</h2>
                                                {cards.into_iter().map(|m| view! { <BoardCard m officers=officers.clone() rights step/> }).collect_view()}
                                            </section>
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
    officers: Vec<(i64, String)>,
    rights: crate::missions::BoardRights,
    step: Action<(String, Transition, TransitionArgs), Result<Mission, crate::api::ApiError>>,
) -> impl IntoView {
    let choice = RwSignal::new(officers.first().map(|o| o.0).unwrap_or_default());
    let id = m.id.clone();
    let version = m.version;
    let (id_ack, id_assign, id_review) = (id.clone(), id.clone(), id.clone());
    let status = m.status;
    view! {
        <article class="card" data-mission=m.id.clone() data-status=status.as_str()>
            <header>
                <span class="priority">{format!("P{}", m.priority)}</span>
                <strong>{m.place_label.clone()}</strong>
            </header>
            <p class="template">{m.template.name.clone()}</p>
            <p class="reason">{m.reason.clone()}</p>
            {m.assignee_name.clone().map(|n| view! { <p class="assignee">{format!("Assigned: {n}")}</p> })}
            {m.outcome.clone().map(|o| view! { <p class="outcome" data-testid="outcome">{outcome_text(&m, &o)}</p> })}
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
                    <button type="button" disabled=!rights.review
                        on:click=move |_| { step.dispatch((id_review.clone(), Transition::Review, TransitionArgs { expected_version: Some(version), ..Default::default() })); }>
                        "Review"
                    </button>
                })}
            </div>
            <p class="status">{status.label()}</p>
        </article>
    }
    .into_any()
}

fn outcome_text(m: &Mission, o: &serde_json::Value) -> String {
    m.template
        .outcome_fields
        .iter()
        .filter_map(|f| {
            let v = o.get(&f.key)?;
            let text = match v {
                serde_json::Value::Bool(true) => "yes".to_string(),
                serde_json::Value::Bool(false) => "no".to_string(),
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            Some(format!("{}: {text}", f.label))
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

/// The device's position while the screen is open: `(lat, lon, accuracy m)`.
fn use_position() -> RwSignal<Option<(f64, f64, f64)>> {
    let pos = RwSignal::new(None);
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::prelude::*;
        Effect::new(move |_| {
            let Some(geo) = web_sys::window().and_then(|w| w.navigator().geolocation().ok()) else { return };
            let ok = Closure::<dyn Fn(JsValue)>::new(move |p: JsValue| {
                let coords = js_sys::Reflect::get(&p, &"coords".into()).unwrap_or(JsValue::NULL);
                let num = |k: &str| js_sys::Reflect::get(&coords, &k.into()).ok().and_then(|v| v.as_f64());
                if let (Some(lat), Some(lon)) = (num("latitude"), num("longitude")) {
                    pos.set(Some((lat, lon, num("accuracy").unwrap_or(f64::NAN))));
                }
            });
            let options = web_sys::PositionOptions::new();
            options.set_enable_high_accuracy(true);
            options.set_maximum_age(5_000);
            let id =
                geo.watch_position_with_error_callback_and_options(ok.as_ref().unchecked_ref(), None, &options).ok();
            ok.forget();
            on_cleanup(move || {
                if let (Some(id), Some(geo)) = (id, web_sys::window().and_then(|w| w.navigator().geolocation().ok())) {
                    geo.clear_watch(id);
                }
            });
        });
    }
    pos
}

/// True while the page is on screen (always true on the server).
fn page_visible() -> bool {
    #[cfg(feature = "hydrate")]
    {
        web_sys::window()
            .and_then(|w| w.document())
            .is_none_or(|d| d.visibility_state() == web_sys::VisibilityState::Visible)
    }
    #[cfg(not(feature = "hydrate"))]
    true
}

/// Milliseconds since the epoch, ticking once a second while the screen is open.
fn use_clock() -> RwSignal<f64> {
    let now = RwSignal::new(0.0);
    #[cfg(feature = "hydrate")]
    {
        now.set(js_sys::Date::now());
        if let Ok(handle) =
            set_interval_with_handle(move || now.set(js_sys::Date::now()), std::time::Duration::from_secs(1))
        {
            on_cleanup(move || handle.clear());
        }
    }
    now
}

/// `/missions`: the officer's missions by priority and distance, each with its place, reason,
/// Koper timer and a completion form. Read from the device (IndexedDB), so it opens with no
/// signal; every step is saved on the device first and synced when there is signal.
#[component]
pub fn MyMissions() -> impl IntoView {
    let field = expect_context::<crate::components::FieldStore>();
    let position = use_position();
    let now = use_clock();
    let open = RwSignal::new(None::<String>);
    // Koper timers live here, by mission, so that a sync refreshing the list never restarts one.
    let timers = KoperTimers {
        samples: RwSignal::new(Vec::new()),
        manual: RwSignal::new(Default::default()),
        forms: RwSignal::new(Default::default()),
    };
    // The device's own position samples: one every 15 s from the latest fix, and one at each new
    // fix. The Koper timer reads visits from them with the presence dashboard's rules.
    Effect::new(move |_| {
        let t = (now.get() / 1000.0).floor() as i64;
        let Some((lat, lon, acc)) = position.get() else { return };
        timers.samples.update(|v| {
            let moved = v.last().is_some_and(|l| (l.lat, l.lon) != (lat, lon));
            if v.last().is_none_or(|l| moved || t - l.t >= SAMPLE_S) && t > 0 {
                v.push(protocol::sync::Fix { t, lat, lon, accuracy_m: Some(acc), speed_mps: None });
            }
            let cutoff = t - 4 * 3600;
            v.retain(|f| f.t >= cutoff);
        });
    });
    // GPS breadcrumbs while a mission is under way and this screen is visible (see
    // `field::Sampler`); what is kept goes into the outbox in batches.
    let sampler = StoredValue::new(crate::field::Sampler::default());
    let flush = move |force: bool| {
        let t = (now.get_untracked() / 1000.0).floor() as i64;
        if let Some(fixes) = sampler.try_update_value(|s| s.take_batch(t, force)).flatten() {
            field.record(protocol::sync::MutationKind::Breadcrumbs { fixes });
        }
    };
    Effect::new(move |_| {
        let t = (now.get() / 1000.0).floor() as i64;
        let Some((lat, lon, acc)) = position.get() else { return };
        let active = field
            .state
            .with(|s| s.as_ref().is_some_and(|s| s.missions().iter().any(|m| m.status == MissionStatus::InProgress)));
        if !active || t <= 0 || !page_visible() {
            return;
        }
        let fix = protocol::sync::Fix { t, lat, lon, accuracy_m: acc.is_finite().then_some(acc), speed_mps: None };
        sampler.update_value(|s| {
            s.offer(fix);
        });
        flush(false);
    });
    #[cfg(feature = "hydrate")]
    {
        let hidden = window_event_listener(leptos::ev::visibilitychange, move |_| {
            if !page_visible() {
                flush(true);
            }
        });
        on_cleanup(move || {
            hidden.remove();
            flush(true);
        });
    }
    let step = Callback::new(move |(id, t, args): (String, Transition, TransitionArgs)| {
        field.record(protocol::sync::MutationKind::Step { mission_id: id, step: t, args });
    });
    let rejections = move || field.state.with(|s| s.as_ref().map(|s| s.rejections.clone()).unwrap_or_default());
    view! {
        <Title text="My missions · Beatbook"/>
        <section class="page">
            <h1>"My missions"</h1>
            <p class="hint">"Your assigned missions; on a sergeant's device, the squad's missions too."</p>
            <crate::components::SyncStatus/>
            <p class="hint" data-testid="position">{move || match position.get() {
                Some((lat, lon, acc)) => format!("Your position: {lat:.5}, {lon:.5} (±{} m)", acc.round()),
                None => "Waiting for your position… missions are listed by priority until it comes.".to_string(),
            }}</p>
            {move || {
                let r = rejections();
                (!r.is_empty()).then(|| view! {
                    <ul class="rejections" role="alert" data-testid="rejections">
                        {r.into_iter().map(|r| view! { <li>{format!("Not accepted by the server ({} #{}): {}", r.kind, r.seq, r.reason)}</li> }).collect_view()}
                    </ul>
                })
            }}
            {move || match field.state.with(|s| s.as_ref().map(|s| s.missions().is_empty())) {
                None => view! { <p class="loading">"Loading your missions…"</p> }.into_any(),
                Some(true) => view! { <p class="empty">"No missions assigned to you."</p> }.into_any(),
                Some(false) => view! {
                    <ol class="my-missions" data-testid="my-missions">
                        // Keyed by mission and version: a sync that changes nothing keeps each
                        // item (and its open form) as it is.
                        <For
                            each=move || {
                                let here = position.get();
                                let list = field.state.with(|s| s.as_ref().map(|s| s.missions()).unwrap_or_default());
                                let mut rows: Vec<(Mission, Option<(f64, f64)>)> = list.into_iter()
                                    .filter(|m| m.status != MissionStatus::Cancelled)
                                    .map(|m| { let d = here.and_then(|(lat, lon, _)| distance_and_bearing(lat, lon, &m.place)); (m, d) })
                                    .collect();
                                order_by_priority_and_distance(&mut rows);
                                rows.into_iter().map(|(m, _)| m).collect::<Vec<_>>()
                            }
                            key=|m| (m.id.clone(), m.version, m.status)
                            children=move |m| view! { <MissionItem m open now position timers step/> }
                        />
                    </ol>
                }.into_any(),
            }}
            <super::nearby::NearbyHotSpots position missions=Signal::derive(move || {
                field.state.with(|s| s.as_ref().map(|s| s.missions()).unwrap_or_default())
                    .into_iter().filter(|m| m.status != MissionStatus::Cancelled).collect()
            })/>
        </section>
    }
    .into_any()
}

/// Per-mission Koper timers of the "My missions" screen.
#[derive(Clone, Copy)]
struct KoperTimers {
    /// The device's position samples (last four hours).
    samples: RwSignal<Vec<protocol::sync::Fix>>,
    /// Missions whose timer the officer started by hand ("I am here"), with when (UTC ms).
    manual: RwSignal<std::collections::HashMap<String, f64>>,
    /// Outcome answers and note typed so far, by mission.
    forms: RwSignal<std::collections::HashMap<String, DraftOutcome>>,
}

/// Seconds between the device's position samples while a list is open.
const SAMPLE_S: i64 = 15;

/// When the visit the device is in now began (UTC seconds), by `hotspot::presence` over the
/// device's samples: the same rules as the presence dashboard (accuracy filter, brief exits
/// merged, gaps end a visit), except that a visit shows from its first second.
fn current_visit_start(samples: &[protocol::sync::Fix], place: &Place) -> Option<i64> {
    let (utm, area) = crate::map::place_area(place)?;
    let fixes: Vec<hotspot::Fix> = samples
        .iter()
        .filter_map(|f| {
            let (x, y) = utm.forward(f.lon, f.lat).ok()?;
            Some(hotspot::Fix { t: f.t, skew_s: 0, x, y, accuracy_m: f.accuracy_m.unwrap_or(f64::INFINITY) })
        })
        .collect();
    let params = hotspot::VisitParams { min_dwell_s: 0, ..Default::default() };
    let presence = hotspot::visits(&fixes, &area, &params);
    let last = presence.visits.last()?;
    (Some(last.exit) == fixes.iter().map(|f| f.t).max()).then_some(last.entry)
}

/// An outcome being filled in: answers by field key, and the note.
type DraftOutcome = (serde_json::Map<String, serde_json::Value>, String);

#[component]
fn MissionItem(
    m: Mission,
    open: RwSignal<Option<String>>,
    now: RwSignal<f64>,
    position: RwSignal<Option<(f64, f64, f64)>>,
    timers: KoperTimers,
    step: Callback<(String, Transition, TransitionArgs)>,
) -> impl IntoView {
    let id = m.id.clone();
    let id_toggle = id.clone();
    let is_open = {
        let id = id.clone();
        move || open.get().as_deref() == Some(id.as_str())
    };
    let place = m.place.clone();
    let where_text = move || {
        position
            .get()
            .and_then(|(lat, lon, _)| distance_and_bearing(lat, lon, &place))
            .map(|(dist, bearing)| format!("{} {}", distance_text(dist), compass(bearing)))
            .unwrap_or_default()
    };
    let mission = m.clone();
    view! {
        <li class="mission" data-mission=id.clone() data-status=m.status.as_str()>
            <button type="button" class="mission-head" on:click=move |_| {
                open.update(|o| *o = if o.as_deref() == Some(id_toggle.as_str()) { None } else { Some(id_toggle.clone()) });
            }>
                <span class="priority">{format!("P{}", m.priority)}</span>
                <span class="name">{format!("{} · {}", m.template.name, m.place_label)}</span>
                <span class="distance" data-testid="distance">{where_text}</span>
                <span class="status">{m.status.label()}</span>
            </button>
            <Show when=is_open.clone()>
                <MissionDetail m=mission.clone() now position timers step/>
            </Show>
        </li>
    }
    .into_any()
}

/// The place on the map (the cell, or the circle around a point or segment) and where the
/// officer stands, with the accuracy of the fix as a circle.
#[component]
fn PlaceMap(place: Place, position: RwSignal<Option<(f64, f64, f64)>>) -> impl IntoView {
    use leptos_leaflet::prelude::{Circle, Polygon, Position};
    let config = LocalResource::new(crate::map::load_map_config);
    let (lat, lon) = place.centre();
    let outline = match &place {
        Place::Cell { epsg, size_m, ix, iy, .. } => crate::map::cell_corners(*epsg, *size_m, *ix, *iy),
        _ => None,
    };
    let radius = place.radius_m();
    let me =
        Signal::derive_local(move || position.get().map(|(lat, lon, _)| Position::new(lat, lon)).unwrap_or_default());
    let accuracy = Signal::derive(move || position.get().map_or(0.0, |(_, _, acc)| acc.max(4.0)));
    let layers: ChildrenFn = std::sync::Arc::new(move || {
        let shape = match outline.clone() {
            Some(corners) => {
                let ring: Vec<Position> = corners.into_iter().map(|(a, b)| Position::new(a, b)).collect();
                view! { <Polygon positions=ring color="#e63946" weight=2.0 fill_color="#e63946" fill_opacity=0.2/> }
                    .into_any()
            }
            None => view! {
                <Circle center=Position::new(lat, lon) radius=radius color="#e63946" weight=2.0 fill_color="#e63946" fill_opacity=0.2/>
            }
            .into_any(),
        };
        view! {
            {shape}
            <Show when=move || position.get().is_some()>
                <Circle center=me radius=accuracy color="#1d4ed8" weight=2.0 fill_color="#1d4ed8" fill_opacity=0.35/>
            </Show>
        }
        .into_any()
    });
    view! {
        <Suspense fallback=|| view! { <p class="map-loading">"Loading the map…"</p> }>
            {move || {
                let layers = layers.clone();
                config.get().map(|loaded| {
                    view! {
                        <crate::map::CityMap
                            center=(lat, lon)
                            zoom=16.0
                            config=loaded.data
                            label="The place and your position"
                            class="place-map"
                            children=layers
                        />
                    }
                })
            }}
        </Suspense>
    }
    .into_any()
}

#[component]
fn MissionDetail(
    m: Mission,
    now: RwSignal<f64>,
    position: RwSignal<Option<(f64, f64, f64)>>,
    timers: KoperTimers,
    step: Callback<(String, Transition, TransitionArgs)>,
) -> impl IntoView {
    let place = m.place.clone();
    let radius = place.radius_m();
    let inside = {
        let place = place.clone();
        move || {
            position
                .get()
                .and_then(|(lat, lon, _)| distance_and_bearing(lat, lon, &place))
                .is_some_and(|(d, _)| d <= radius)
        }
    };
    // The Koper timer: the visit the device is in now (hotspot::presence over its position
    // samples); "I am here" starts it by hand when there is no GPS.
    let timer_id = m.id.clone();
    let (id_since, id_button) = (timer_id.clone(), timer_id.clone());
    let since = {
        let place = place.clone();
        move || {
            let gps = timers.samples.with(|v| current_visit_start(v, &place)).map(|t| t as f64 * 1000.0);
            gps.or_else(|| timers.manual.with(|t| t.get(&id_since).copied()))
        }
    };
    let since_for_minutes = since.clone();
    let minutes = move || since_for_minutes().map(|s| ((now.get() - s) / 1000.0).max(0.0));
    let minutes_for_nudge = minutes.clone();
    let timer_text = move || match minutes() {
        None => "Timer starts when you are inside the place.".to_string(),
        Some(secs) => format!("{:02}:{:02} in place", (secs / 60.0) as u64, (secs % 60.0) as u64),
    };
    let nudge = move || match minutes_for_nudge() {
        Some(s) if s >= 16.0 * 60.0 => Some("16 minutes: move on to your next place."),
        Some(s) if s >= 10.0 * 60.0 => Some("10 minutes: a Koper visit counts from here."),
        _ => None,
    };
    let id = m.id.clone();
    let version = m.version;
    let status = m.status;
    let fields = m.template.outcome_fields.clone();
    // The form's answers outlive this item: a sync that redraws the mission (a new version from
    // the server) must not clear what the officer has tapped in so far.
    let mut initial = serde_json::Map::new();
    for f in &fields {
        let default = match f.kind {
            OutcomeKind::Count => serde_json::json!(0),
            OutcomeKind::YesNo => serde_json::json!(false),
            OutcomeKind::Choice => serde_json::Value::Null,
        };
        initial.insert(f.key.clone(), default);
    }
    let (kept_answers, kept_note) =
        timers.forms.with_untracked(|f| f.get(&id).cloned()).unwrap_or((initial, String::new()));
    let answers = RwSignal::new(kept_answers);
    let note = RwSignal::new(kept_note);
    Effect::new({
        let id = id.clone();
        move |_| {
            let (a, n) = (answers.get(), note.get());
            timers.forms.update_untracked(|f| {
                f.insert(id.clone(), (a, n));
            });
        }
    });
    let (id_start, id_done, id_not) = (id.clone(), id.clone(), id.clone());
    let complete_ready = {
        let fields = fields.clone();
        move || fields.iter().all(|f| answers.with(|a| a.get(&f.key).is_some_and(|v| !v.is_null())))
    };
    view! {
        <div class="mission-detail">
            <PlaceMap place=place.clone() position/>
            <p class="goal">{m.template.goal.clone()}</p>
            <p class="reason">{m.reason.clone()}</p>
            {(!m.instructions.is_empty()).then(|| view! { <p class="instructions">{m.instructions.clone()}</p> })}
            <div class="koper" role="timer" aria-live="polite">
                <p class="timer" data-testid="koper-timer">{timer_text}</p>
                {move || nudge().map(|n| view! { <p class="nudge" role="alert" data-testid="koper-nudge">{n}</p> })}
                <Show when=move || !inside() && since().is_none()>
                    <button type="button" class="secondary" on:click={
                        let id = id_button.clone();
                        move |_| timers.manual.update(|t| { t.insert(id.clone(), now.get_untracked()); })
                    }>"I am here (no GPS)"</button>
                </Show>
            </div>
            // A sergeant's device holds the squad's missions: an issued one is acknowledged here,
            // in one tap, with or without signal.
            {(status == MissionStatus::Issued).then(|| {
                let id = id_start.clone();
                view! {
                    <button type="button" class="primary big" on:click=move |_| {
                        step.run((id.clone(), Transition::Acknowledge, TransitionArgs { expected_version: Some(version), device_time: device_now(), ..Default::default() }));
                    }>"Acknowledge"</button>
                }
            })}
            {(status == MissionStatus::Assigned).then(|| view! {
                <button type="button" class="primary big" on:click=move |_| {
                    step.run((id_start.clone(), Transition::Start, TransitionArgs { expected_version: Some(version), device_time: device_now(), ..Default::default() }));
                }>"Start mission"</button>
            })}
            {matches!(status, MissionStatus::Assigned | MissionStatus::InProgress).then(|| view! {
                <form class="outcome-form" on:submit=|ev| ev.prevent_default()>
                    <h3>"Outcome"</h3>
                    {fields.iter().map(|f| {
                        let key = f.key.clone();
                        match f.kind {
                            OutcomeKind::Count => {
                                let (k1, k2, k3) = (key.clone(), key.clone(), key.clone());
                                let value = move || answers.with(|a| a.get(&k1).and_then(|v| v.as_u64()).unwrap_or(0));
                                view! {
                                    <div class="field count" data-field=key.clone()>
                                        <span class="label">{f.label.clone()}</span>
                                        <button type="button" class="step" aria-label=format!("fewer {}", f.label) on:click=move |_| answers.update(|a| {
                                            let n = a.get(&k2).and_then(|v| v.as_u64()).unwrap_or(0);
                                            a.insert(k2.clone(), serde_json::json!(n.saturating_sub(1)));
                                        })>"−"</button>
                                        <output>{value}</output>
                                        <button type="button" class="step" aria-label=format!("more {}", f.label) on:click=move |_| answers.update(|a| {
                                            let n = a.get(&k3).and_then(|v| v.as_u64()).unwrap_or(0);
                                            a.insert(k3.clone(), serde_json::json!(n + 1));
                                        })>"+"</button>
                                    </div>
                                }.into_any()
                            }
                            OutcomeKind::YesNo => {
                                let (k1, k2, k3) = (key.clone(), key.clone(), key.clone());
                                view! {
                                    <div class="field yesno" data-field=key.clone() role="group" aria-label=f.label.clone()>
                                        <span class="label">{f.label.clone()}</span>
                                        <button type="button" aria-pressed=move || answers.with(|a| a.get(&k1) == Some(&serde_json::json!(true))).to_string()
                                            on:click=move |_| answers.update(|a| { a.insert(k2.clone(), serde_json::json!(true)); })>"Yes"</button>
                                        <button type="button" aria-pressed=move || answers.with(|a| a.get(&k3) == Some(&serde_json::json!(false))).to_string()
                                            on:click={ let k = key.clone(); move |_| answers.update(|a| { a.insert(k.clone(), serde_json::json!(false)); }) }>"No"</button>
                                    </div>
                                }.into_any()
                            }
                            OutcomeKind::Choice => view! {
                                <div class="field choice" data-field=key.clone() role="group" aria-label=f.label.clone()>
                                    <span class="label">{f.label.clone()}</span>
                                    {f.choices.iter().cloned().map(|c| {
                                        let (k1, k2, c1, c2) = (key.clone(), key.clone(), c.clone(), c.clone());
                                        view! {
                                            <button type="button" aria-pressed=move || answers.with(|a| a.get(&k1).and_then(|v| v.as_str()) == Some(c1.as_str())).to_string()
                                                on:click=move |_| answers.update(|a| { a.insert(k2.clone(), serde_json::json!(c2.clone())); })>{c}</button>
                                        }
                                    }).collect_view()}
                                </div>
                            }.into_any(),
                        }
                    }).collect_view()}
                    <label class="note">"Note (optional)"
                        <textarea rows="2" maxlength="2000" prop:value=move || note.get() on:input=move |ev| note.set(event_target_value(&ev))></textarea>
                    </label>
                    <button type="button" class="primary big" disabled=move || !complete_ready() on:click=move |_| {
                        let args = TransitionArgs {
                            outcome: Some(serde_json::Value::Object(answers.get_untracked())),
                            note: Some(note.get_untracked()).filter(|n| !n.trim().is_empty()),
                            expected_version: Some(version),
                            device_time: device_now(),
                            ..Default::default()
                        };
                        step.run((id_done.clone(), Transition::Complete, args));
                    }>"Complete mission"</button>
                    <details class="not-complete">
                        <summary>"Could not complete it"</summary>
                        {["Called to a priority call", "Place not accessible", "Shift ended", "Sent elsewhere by a supervisor"].into_iter().map(|r| {
                            let id = id_not.clone();
                            view! {
                                <button type="button" class="secondary" on:click=move |_| {
                                    let args = TransitionArgs { reason: Some(r.to_string()), expected_version: Some(version), device_time: device_now(), ..Default::default() };
                                    step.run((id.clone(), Transition::NotComplete, args));
                                }>{r}</button>
                            }
                        }).collect_view()}
                    </details>
                </form>
            })}
            {m.outcome.clone().map(|o| view! { <p class="outcome">{outcome_text(&m, &o)}</p> })}
        </div>
    }
    .into_any()
}

fn device_now() -> Option<i64> {
    #[cfg(feature = "hydrate")]
    {
        Some((js_sys::Date::now() / 1000.0) as i64)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        None
    }
}

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
    menu: Resource<Result<Vec<Template>, crate::api::ApiError>>,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn point(lat: f64, lon: f64) -> Place {
        Place::Point { lat, lon, radius_m: 100.0 }
    }

    #[test]
    fn distance_and_bearing_point_the_right_way() {
        // 0.009° of latitude is about 1 km; due north.
        let (d, b) = distance_and_bearing(49.280, -123.120, &point(49.289, -123.120)).expect("projects");
        assert!((d - 1000.0).abs() < 5.0, "{d}");
        assert!(!(2.0..=358.0).contains(&b), "{b}");
        assert_eq!(compass(b), "N");
        let (_, b) = distance_and_bearing(49.28, -123.12, &point(49.28, -123.10)).expect("projects");
        assert_eq!(compass(b), "E");
        assert_eq!(distance_text(349.0), "350 m");
        assert_eq!(distance_text(1234.0), "1.2 km");
    }
}
