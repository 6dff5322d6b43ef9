//! The demo's missions: nine weeks of a squad's work in each demo district, so Board, My
//! missions, Presence, Outcomes and the snapshot show data on first start.
//!
//! - **The last week** (the demo's today and the six days before): a mission in every lifecycle
//!   state. Today's day shift (the one the board and presence open on) holds a draft, an issued,
//!   an acknowledged, an assigned and an in-progress mission, a completed one that asks for a
//!   follow-up, and a cancelled one; earlier days of the week hold completed, reviewed and
//!   not-completed missions.
//! - **Eight earlier weeks**: two completed missions a week in each district (the first of each
//!   day reviewed), so the outcomes page and impact measures have a before and an after.
//!
//! Every mission goes through the ordinary lifecycle ([`Bodega::create_mission`] and
//! [`Bodega::transition_mission`], each step by the role that takes it): the commander issues,
//! the district's sergeant acknowledges, assigns, reviews or cancels, and the district's seventh
//! demo officer (`d1.officer7` … `d4.officer7`, [`FIELD_OFFICER`]) works them. Each step is
//! written at its demo time (issued 90 minutes before the shift, the visit during it; events are
//! append-only, so they are dated as written), so the dosage rules and the presence dashboard
//! read them as the days they belong to. The officer
//! writes an outcome note and a field note, answers the template's outcome fields, and their
//! phone's GPS track walks to the place and stays the template's minutes. Follow-ups asked for
//! before the last week were handled at the time; the last week's wait in the sergeant's queue.
//!
//! All of it is marked synthetic: ids `demo-…`, reasons and notes that say "synthetic", GPS
//! device `synthetic-phone-<district><07>`. The places are each district's six busiest micro
//! places of the last quarter, by name. Days the browser tests plan and measure on in a district
//! (and the day before, which the dosage rules' 24 hours reach) are left free, so what a test
//! counts is only what it made ([`KEPT_FREE`]).

use hotspot::rng::Draw;
use hotspot::{Epsg, Lattice};
use protocol::menu::{OutcomeKind, Template};
use protocol::mission::{MissionStatus, NewMission, Place, Transition, TransitionArgs, FOLLOW_UP_KEY};

use crate::demo::{DEMO_DISTRICTS, DEMO_SHIFTS, VANCOUVER_SOURCE, VANCOUVER_TIME_ZONE};
use crate::load::IngestOptions;
use crate::missions::MissionError;
use crate::places::{fallback_label, MICRO_PLACE};
use crate::store::{begin_write, Bodega, BodegaError};
use crate::{on_pool, on_writer};

/// Demo mission ids start so.
pub const DEMO_MISSION_PREFIX: &str = "demo-";
/// The demo officer of each district who works the seeded missions (`d<n>.officer7`): the
/// last, so the officers the browser tests sign in as start with empty lists.
pub const FIELD_OFFICER: u8 = crate::demo::OFFICERS_PER_DISTRICT;
/// Weeks of completed missions before the last one.
pub const EARLIER_WEEKS: i64 = 8;
/// Places a district's missions go to: its busiest micro places.
const PLACES: usize = 6;

/// December 2020 days the browser tests plan, issue and measure on in each demo district, and
/// the day before each (whose visits the dosage rules' 24 hours reach): no seeded mission or
/// track falls on them. The demo's today (31 December) is seeded in every district all the
/// same: the tests that use it work another shift of it. D1's day shifts of 26–30 December (the
/// fault tests') are left out by the schedule instead: the last week's earlier days are seeded
/// on evening and night shifts.
pub const KEPT_FREE: [(&str, &[i8]); 4] = [
    ("D1", &[11, 12, 13, 14, 15, 16]),
    ("D2", &[9, 10, 11, 14, 15, 19, 20, 21, 25, 26, 27]),
    ("D3", &[7, 8, 9, 17, 18, 21, 22, 23, 27, 28, 29]),
    ("D4", &[15, 16, 17, 18, 23, 24, 25, 29, 30, 31]),
];

/// How far a seeded mission goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// Stays as it is.
    Stop(MissionStatus),
    /// Completed, asking for a follow-up or not, and reviewed or not.
    Done { follow_up: bool, reviewed: bool },
}

/// One mission of the schedule.
struct Planned {
    district: &'static str,
    date: jiff::civil::Date,
    shift: usize,
    fate: Fate,
}

/// Seeds the demo's missions (see the module tour). Needs the demo incidents, the demo accounts
/// and the Mission Menu first. Idempotent: once any demo mission exists it adds nothing.
/// Returns how many missions it created.
///
/// # Errors
/// A refused step (the demo's roles or menu changed) or a store error.
pub async fn seed_demo_missions(bodega: &Bodega) -> Result<usize, MissionError> {
    let existing: i64 = on_pool!(bodega, pool => sqlx::query_scalar(
        "SELECT COUNT(*) FROM missions WHERE id LIKE 'demo-%'").fetch_one(pool).await)
    .map_err(BodegaError::from)?;
    let Some(today) = crate::demo::demo_today(bodega).await? else {
        return Err(invalid("demo", "the demo city is not loaded".into()));
    };
    if existing > 0 {
        return Ok(0);
    }
    let tz = jiff::tz::TimeZone::get(VANCOUVER_TIME_ZONE).map_err(|e| invalid("demo", e.to_string()))?;
    let menu = bodega.mission_menu(false).await?;
    if menu.is_empty() {
        return Err(invalid("demo", "the Mission Menu is empty".into()));
    }
    let user = |name: String| async move {
        bodega.user_by_username(&name).await?.ok_or_else(|| invalid("demo", format!("no demo account {name}")))
    };
    let commander = user("commander".into()).await?.subject();
    let mut rng = hotspot::rng::SplitMix64::seeded(0xDE70_0000_0000_2020);
    let (mut created, mut tracks) = (0, String::from("device,fix_at,lat,lon,accuracy_m,speed_mps\n"));
    for (code, ..) in DEMO_DISTRICTS {
        let n = &code[1..];
        let sergeant = user(format!("d{n}.sergeant")).await?.subject();
        let officer = user(format!("d{n}.officer{FIELD_OFFICER}")).await?;
        let places = busiest_places(bodega, code, today, &tz).await?;
        if places.is_empty() {
            continue;
        }
        let device = format!("synthetic-phone-{n}{FIELD_OFFICER:02}");
        for (k, p) in schedule(code, today).into_iter().enumerate() {
            let (place, label) = &places[k % places.len()];
            // The template: one that asks "needs follow-up" when the officer will; the rest in turn.
            let asks = |t: &&Template| t.outcome_fields.iter().any(|f| f.key == FOLLOW_UP_KEY);
            let template = match p.fate {
                Fate::Done { follow_up: true, .. } => menu.iter().find(asks).unwrap_or(&menu[0]),
                _ => &menu[k % menu.len()],
            };
            let (shift_code, _, starts, ends) = DEMO_SHIFTS[p.shift];
            let (start, end) = (local(p.date, starts, &tz)?, local(p.date, ends, &tz)?);
            let end = if end <= start { end + 86_400 } else { end };
            let id =
                format!("{DEMO_MISSION_PREFIX}{}-{}-{}-{k}", p.date, code.to_lowercase(), shift_code.to_lowercase());
            let draft = NewMission {
                id: id.clone(),
                template_id: template.id,
                district: code.to_string(),
                shift: shift_code.to_string(),
                shift_date: p.date.to_string(),
                window_start: start,
                window_end: end,
                place: place.clone(),
                place_label: label.clone(),
                priority: 1 + (k % 3) as i64,
                instructions: String::new(),
                reason: format!(
                    "Synthetic demo mission: one of {code}'s six busiest places in the quarter to {today}."
                ),
                issue: p.fate != Fate::Stop(MissionStatus::Draft),
            };
            bodega.create_mission_at(&draft, &commander, None, start - 90 * 60).await?;
            let arrive = start + 30 * 60 + 40 * 60 * (k as i64 % 8);
            let mut stay = 0;
            // Each step at its demo time (see the module tour).
            let step = |t: Transition, who: &protocol::Subject, args: TransitionArgs, at: i64| {
                let id = id.clone();
                let who = who.clone();
                async move { bodega.transition_mission_at(&id, t, &who, &args, at).await }
            };
            let rank = |s: MissionStatus| s.rank();
            let goes_to = match p.fate {
                Fate::Stop(s) => s,
                Fate::Done { reviewed: true, .. } => MissionStatus::Reviewed,
                Fate::Done { .. } => MissionStatus::Completed,
            };
            if goes_to == MissionStatus::Cancelled {
                step(
                    Transition::Cancel,
                    &sergeant,
                    args_with(|a| a.reason = Some("Squad sent to a planned event downtown (synthetic).".into())),
                    start - 30 * 60,
                )
                .await?;
            } else if rank(goes_to) >= rank(MissionStatus::Acknowledged) {
                step(Transition::Acknowledge, &sergeant, TransitionArgs::default(), start - 60 * 60).await?;
                if rank(goes_to) >= rank(MissionStatus::Assigned) {
                    let assign = args_with(|a| a.assignee_user_id = Some(officer.id));
                    step(Transition::Assign, &sergeant, assign, start - 45 * 60).await?;
                }
                if rank(goes_to) >= rank(MissionStatus::InProgress) {
                    step(Transition::Start, &officer.subject(), TransitionArgs::default(), arrive).await?;
                }
                match goes_to {
                    MissionStatus::InProgress => stay = 8,
                    MissionStatus::NotCompleted => {
                        stay = 6;
                        step(
                            Transition::NotComplete,
                            &officer.subject(),
                            args_with(|a| {
                                a.reason =
                                    Some("Called away to a priority-1 call after six minutes (synthetic).".into());
                            }),
                            arrive + stay * 60,
                        )
                        .await?;
                    }
                    MissionStatus::Completed | MissionStatus::Reviewed => {
                        let follow_up = matches!(p.fate, Fate::Done { follow_up: true, .. });
                        stay = template.dwell_minutes + 1 + (k as i64 % 3);
                        let outcome = answers(template, follow_up, &mut rng);
                        let note = if follow_up {
                            "Lane light out behind the shops and people sleeping in the doorway; the owner asks for \
                             a visit with city outreach (synthetic)."
                        } else {
                            NOTES[k % NOTES.len()]
                        };
                        step(
                            Transition::Complete,
                            &officer.subject(),
                            args_with(|a| {
                                a.outcome = Some(outcome);
                                a.note = Some(note.into());
                            }),
                            arrive + stay * 60,
                        )
                        .await?;
                        field_note(bodega, &id, officer.id, arrive + 5 * 60, FIELD_NOTES[k % FIELD_NOTES.len()])
                            .await?;
                        if goes_to == MissionStatus::Reviewed {
                            step(
                                Transition::Review,
                                &sergeant,
                                args_with(|a| a.note = Some("Good visit: keep it at this hour (synthetic).".into())),
                                end + 2 * 3600,
                            )
                            .await?;
                        }
                        // Follow-ups asked for before the last week were dealt with then.
                        if follow_up && p.date < today - jiff::Span::new().days(6) {
                            bodega
                                .handle_follow_up(
                                    &id,
                                    crate::feedback::Handled::Closed,
                                    "Referred to city outreach at the time (synthetic).",
                                    sergeant.user_id,
                                )
                                .await?;
                        }
                    }
                    _ => {}
                }
            }
            if stay > 0 {
                walk(&mut tracks, &mut rng, &device, place.centre(), arrive, stay);
            }
            created += 1;
        }
    }
    let opts = IngestOptions {
        source: "synthetic-phone".into(),
        file_name: "synthetic-mission-tracks (generated)".into(),
        time_zone: VANCOUVER_TIME_ZONE.into(),
        dry_run: false,
        mapping: None,
    };
    crate::gps::ingest_gps_csv(bodega, tracks.as_bytes(), &opts).await.map_err(|e| invalid("gps", e.to_string()))?;
    Ok(created)
}

/// What the officer writes when a visit was uneventful.
const NOTES: [&str; 4] = [
    "Quiet; spoke with the shop staff at the corner, nothing new since last week (synthetic).",
    "Two people moved on from the bus shelter without trouble; area calm when I left (synthetic).",
    "Busy foot traffic, no disorder seen; checked the lane behind the block (synthetic).",
    "Residents glad to see a patrol; one asked about the parked cars at night (synthetic).",
];

/// Field notes written during the visit.
const FIELD_NOTES: [&str; 3] = [
    "Arrived on foot from the east end of the block (synthetic).",
    "Needles found by the recycling bins; reported to the city (synthetic).",
    "Store manager says shoplifting is down this month (synthetic).",
];

/// The schedule of one district (see the module tour), oldest day first.
fn schedule(code: &'static str, today: jiff::civil::Date) -> Vec<Planned> {
    let free = |d: jiff::civil::Date| {
        d == today
            || !(d.year() == 2020
                && d.month() == 12
                && KEPT_FREE.iter().any(|(c, days)| *c == code && days.contains(&d.day())))
    };
    let day = |back: i64| today - jiff::Span::new().days(back);
    let mut out = Vec::new();
    for week in (1..=EARLIER_WEEKS).rev() {
        let days: Vec<_> =
            [1, 4, 2, 5, 0, 3, 6].iter().map(|d| day(7 * week + d)).filter(|d| free(*d)).take(2).collect();
        for (i, date) in days.into_iter().enumerate() {
            let follow_up = week % 3 == 0 && i == 0;
            out.push(Planned {
                district: code,
                date,
                shift: (week as usize + i) % 3,
                fate: Fate::Done { follow_up, reviewed: i == 0 },
            });
        }
    }
    let earlier: Vec<_> = (1..=6).rev().map(day).filter(|d| free(*d)).collect();
    for (i, date) in earlier.iter().enumerate() {
        let shift = 1 + i % 2; // evening or night, never the day shift (see KEPT_FREE)
        out.push(Planned { district: code, date: *date, shift, fate: Fate::Done { follow_up: false, reviewed: true } });
        out.push(Planned { district: code, date: *date, shift, fate: Fate::Stop(MissionStatus::NotCompleted) });
        out.push(Planned {
            district: code,
            date: *date,
            shift,
            fate: Fate::Done { follow_up: i == 0, reviewed: false },
        });
    }
    for fate in [
        Fate::Done { follow_up: true, reviewed: false },
        Fate::Stop(MissionStatus::InProgress),
        Fate::Stop(MissionStatus::Assigned),
        Fate::Stop(MissionStatus::Acknowledged),
        Fate::Stop(MissionStatus::Issued),
        Fate::Stop(MissionStatus::Draft),
        Fate::Stop(MissionStatus::Cancelled),
    ] {
        out.push(Planned { district: code, date: today, shift: 0, fate });
    }
    debug_assert!(out.iter().all(|p| p.district == code));
    out
}

/// A district's busiest micro places in the 90 days to `today`, most incidents first, with
/// their names (or the district and grid reference).
async fn busiest_places(
    bodega: &Bodega,
    code: &str,
    today: jiff::civil::Date,
    tz: &jiff::tz::TimeZone,
) -> Result<Vec<(Place, String)>, MissionError> {
    let from = today - jiff::Span::new().days(90);
    let (since, until) = (local(from, "00:00", tz)?, local(today, "00:00", tz)? + 86_400);
    let points: Vec<(f64, f64)> = on_pool!(bodega, pool => sqlx::query_as(
        "SELECT lon, lat FROM incidents WHERE source = $1 AND district_code = $2 AND lat IS NOT NULL \
         AND geo_flag IS NULL AND occurred_at >= $3 AND occurred_at < $4")
        .bind(VANCOUVER_SOURCE).bind(code).bind(since).bind(until).fetch_all(pool).await)
    .map_err(BodegaError::from)?;
    let Some(&(lon, lat)) = points.first() else { return Ok(Vec::new()) };
    let epsg = Epsg::for_lon_lat(lon, lat).map_err(|e| invalid("demo", e.to_string()))?;
    let lattice = Lattice::of(epsg, MICRO_PLACE);
    let (mut counts, _) = lattice.count_points(points);
    counts.sort_by(|a, b| b.count.cmp(&a.count).then(a.key.cmp(&b.key)));
    counts.truncate(PLACES);
    let cells: Vec<(i64, i64)> = counts.iter().map(|c| (c.key.ix, c.key.iy)).collect();
    let names = bodega.place_names(epsg.code(), MICRO_PLACE, &cells).await?;
    Ok(counts
        .iter()
        .map(|c| {
            let r = lattice.bounds(c.key);
            let (lon, lat) = lattice.utm().inverse((r.min().x + r.max().x) / 2.0, (r.min().y + r.max().y) / 2.0);
            let (ix, iy) = (c.key.ix, c.key.iy);
            let label = names.get(&(ix, iy)).map_or_else(|| fallback_label(code, ix, iy), |n| n.label());
            (Place::Cell { epsg: epsg.code(), size_m: MICRO_PLACE.m(), ix, iy, lat, lon }, label)
        })
        .collect())
}

/// Answers to every outcome field of `template`: small counts, a choice, "needs follow-up" as
/// asked and other yes/no fields mostly no.
fn answers(template: &Template, follow_up: bool, rng: &mut hotspot::rng::SplitMix64) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    for f in &template.outcome_fields {
        let v = match f.kind {
            OutcomeKind::Count => serde_json::Value::from(rng.bits() % 5),
            OutcomeKind::YesNo if f.key == FOLLOW_UP_KEY => follow_up.into(),
            OutcomeKind::YesNo => rng.bits().is_multiple_of(4).into(),
            OutcomeKind::Choice => {
                // The first choice (quiet, nothing needed) most often.
                let i = if rng.bits().is_multiple_of(3) {
                    (rng.bits() % f.choices.len().max(1) as u64) as usize
                } else {
                    0
                };
                f.choices.get(i).cloned().unwrap_or_default().into()
            }
        };
        out.insert(f.key.clone(), v);
    }
    serde_json::Value::Object(out)
}

/// A field note by the officer at `at`.
async fn field_note(bodega: &Bodega, mission: &str, author: i64, at: i64, body: &str) -> Result<(), BodegaError> {
    on_writer!(bodega, pool => {
        let mut tx = begin_write(pool).await?;
        let change = crate::changes::next_change(&mut tx).await?;
        sqlx::query(
            "INSERT INTO mission_notes (id, mission_id, author_user_id, body, supersedes, device_id, device_time, \
             server_time, change_version) VALUES ($1, $2, $3, $4, NULL, NULL, $5, $5, $6)")
            .bind(format!("{mission}-note")).bind(mission).bind(author).bind(body).bind(at).bind(change)
            .execute(&mut *tx).await?;
        sqlx::query("UPDATE missions SET change_version = $2 WHERE id = $1")
            .bind(mission).bind(change).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok::<(), sqlx::Error>(())
    })?;
    Ok(())
}

/// The officer's phone track for one visit: five minutes' walk in from 300 m east, `stay`
/// minutes at the place (a fix every 30 s, a few metres of scatter).
fn walk(
    out: &mut String,
    rng: &mut hotspot::rng::SplitMix64,
    device: &str,
    (lat, lon): (f64, f64),
    arrive: i64,
    stay: i64,
) {
    const M_PER_DEG: f64 = 111_320.0;
    let east = |m: f64| m / (M_PER_DEG * lat.to_radians().cos());
    let mut fix = |t: i64, lat: f64, lon: f64, speed: f64| {
        let jitter = |rng: &mut hotspot::rng::SplitMix64| (rng.unit() - 0.5) * 6.0;
        let (dy, dx) = (jitter(rng), jitter(rng));
        let at = jiff::Timestamp::from_second(t).map(|t| t.to_string()).unwrap_or_default();
        out.push_str(&format!("{device},{at},{:.6},{:.6},8,{speed:.1}\n", lat + dy / M_PER_DEG, lon + east(dx)));
    };
    for s in 0..10 {
        fix(arrive - (10 - s) * 30, lat, lon + east(300.0 * (10 - s) as f64 / 10.0), 1.0);
    }
    for s in 0..stay * 2 {
        fix(arrive + s * 30, lat, lon, 0.0);
    }
}

/// A local time on a date, as UTC seconds.
fn local(date: jiff::civil::Date, hhmm: &str, tz: &jiff::tz::TimeZone) -> Result<i64, MissionError> {
    let (h, m) = hhmm.split_once(':').and_then(|(h, m)| Some((h.parse().ok()?, m.parse().ok()?))).unwrap_or((0, 0));
    date.at(h, m, 0, 0)
        .to_zoned(tz.clone())
        .map(|z| z.timestamp().as_second())
        .map_err(|e| invalid("demo", e.to_string()))
}

fn args_with(f: impl FnOnce(&mut TransitionArgs)) -> TransitionArgs {
    let mut a = TransitionArgs::default();
    f(&mut a);
    a
}

fn invalid(field: &'static str, reason: String) -> MissionError {
    MissionError::Invalid { field, reason }
}
