//! `/missions`: the officer's missions by priority and distance, each with its place, reason,
//! Koper timer and a completion form — read from the device, so it opens with no signal.

use leptos::prelude::*;
use leptos_meta::Title;
use protocol::menu::OutcomeKind;
use protocol::mission::{Mission, Place, TransitionArgs};
use protocol::{MissionStatus, Transition};

use super::nearby::NearbyHotSpots;
use super::outcome_text;
use crate::device::FieldStore;
use crate::geo::{compass, distance_and_bearing, distance_text};
use crate::ui::hooks::{page_visible, use_clock, use_position};

/// Missions ordered as an officer works them: those still to do first, by priority, then
/// nearest; below them the finished ones, newest shift first (an officer's weeks of history
/// must not bury today's work).
pub fn order_by_priority_and_distance(missions: &mut [(Mission, Option<(f64, f64)>)]) {
    let finished = |m: &Mission| m.status.rank() >= MissionStatus::Completed.rank();
    missions.sort_by(|(a, da), (b, db)| {
        finished(a)
            .cmp(&finished(b))
            .then_with(|| if finished(a) { b.shift_date.cmp(&a.shift_date) } else { std::cmp::Ordering::Equal })
            .then_with(|| a.priority.cmp(&b.priority))
            .then_with(|| {
                let (x, y) = (da.map_or(f64::INFINITY, |d| d.0), db.map_or(f64::INFINITY, |d| d.0));
                x.total_cmp(&y)
            })
            .then_with(|| a.id.cmp(&b.id))
    });
}

/// `/missions`: the officer's missions by priority and distance, each with its place, reason,
/// Koper timer and a completion form. Read from the device (IndexedDB), so it opens with no
/// signal; every step is saved on the device first and synced when there is signal.
#[component]
pub fn MyMissions() -> impl IntoView {
    let field = expect_context::<FieldStore>();
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
    // `device::state::Sampler`); what is kept goes into the outbox in batches.
    let sampler = StoredValue::new(crate::device::state::Sampler::default());
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
            <crate::device::prompt::SyncStatus/>
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
            <super::proposals::ProposeSection position/>
            <NearbyHotSpots position missions=Signal::derive(move || {
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
    let (utm, area) = crate::geo::place_area(place)?;
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
    let config = LocalResource::new(crate::ui::map::load_map_config);
    let (lat, lon) = place.centre();
    let outline = match &place {
        Place::Cell { epsg, size_m, ix, iy, .. } => crate::ui::map::cell_corners(*epsg, *size_m, *ix, *iy),
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
                        <crate::ui::map::CityMap
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
