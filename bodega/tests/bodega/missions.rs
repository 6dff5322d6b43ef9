//! The Mission Menu, missions and their lifecycle on both engines.

use bodega::missions::{MissionError, MissionFilter, NewMission, Place, TemplateDraft, TransitionArgs};
use bodega::testing::fresh_store;
use bodega::Bodega;
use protocol::{MissionStatus, Role, Subject, Transition};

async fn person(b: &Bodega, name: &str, role: Role, district: Option<&str>) -> Subject {
    let new = bodega::accounts::NewUser {
        username: name.into(),
        display_name: format!("Person {name}"),
        password_hash: None,
        roles: vec![role],
        districts: district.map(|d| vec![d.to_string()]).unwrap_or_default(),
        oidc: None,
        synthetic: false,
    };
    let id = b.create_user(&new).await.expect("user");
    b.user_by_id(id).await.expect("q").expect("user").subject()
}

fn new_mission(id: &str, template_id: i64) -> NewMission {
    NewMission {
        id: id.into(),
        template_id,
        district: "D1".into(),
        shift: "B".into(),
        shift_date: "2020-12-15".into(),
        window_start: 1_608_069_600,
        window_end: 1_608_098_400,
        place: Place::Cell { epsg: 32610, size_m: 150, ix: 3275, iy: 36_053, lat: 49.28, lon: -123.12 },
        place_label: "Granville & Davie".into(),
        priority: 1,
        instructions: "Stay visible near the bus stop.".into(),
        reason: "#1 by harm in District 1".into(),
        issue: true,
    }
}

async fn counts(b: &Bodega) -> (i64, i64) {
    bodega::on_pool!(b, pool => {
        let m: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM missions").fetch_one(pool).await.expect("count");
        let e: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM mission_events").fetch_one(pool).await.expect("count");
        (m, e)
    })
}

#[tokio::test]
async fn the_default_menu_ships_once_and_edits_make_new_versions() {
    let store = fresh_store().await;
    let b = &store.bodega;
    assert_eq!(b.ensure_default_menu().await.expect("menu"), 6);
    assert_eq!(b.ensure_default_menu().await.expect("menu"), 0, "never twice");
    let menu = b.mission_menu(false).await.expect("menu");
    assert_eq!(menu.len(), 6);
    let koper = menu.iter().find(|t| t.tactic == "directed_patrol").expect("a Koper visit");
    assert!((10..=16).contains(&koper.dwell_minutes), "directed patrol defaults to a 10–16 minute Koper visit");
    assert!(menu.iter().all(|t| !t.evidence_note.is_empty() && !t.outcome_fields.is_empty()));

    let cmd = person(b, "cmd", Role::Command, None).await;
    let issued = b.create_mission(&new_mission("m-1", koper.id), &cmd, None).await.expect("issue");
    let mut draft = TemplateDraft {
        name: koper.name.clone(),
        goal: koper.goal.clone(),
        tactic: koper.tactic.clone(),
        dwell_minutes: 12,
        visits_per_shift: 4,
        crime_types: koper.crime_types.clone(),
        outcome_fields: koper.outcome_fields.clone(),
        evidence_note: koper.evidence_note.clone(),
        active: true,
    };
    let v2 = b.revise_template(&koper.key, 1, &draft, Some(cmd.user_id)).await.expect("revise");
    assert_eq!((v2.version, v2.dwell_minutes), (2, 12));
    let stale = b.revise_template(&koper.key, 1, &draft, Some(cmd.user_id)).await;
    assert!(matches!(stale, Err(MissionError::Stale { current: 2 })), "{stale:?}");
    let kept = b.mission("m-1").await.expect("q").expect("mission");
    assert_eq!(
        (kept.template.version, kept.template.dwell_minutes),
        (1, issued.template.dwell_minutes),
        "issued missions keep their version"
    );

    draft.active = false;
    let retired = b.revise_template(&koper.key, 2, &draft, None).await.expect("retire");
    assert!(!b.mission_menu(false).await.expect("menu").iter().any(|t| t.key == koper.key));
    assert!(b.mission_menu(true).await.expect("menu").iter().any(|t| t.key == koper.key));
    let refused = b.create_mission(&new_mission("m-2", retired.id), &cmd, None).await;
    assert!(matches!(refused, Err(MissionError::Invalid { field: "template_id", .. })), "{refused:?}");

    draft.tactic = "door_kicking".into();
    let bad = b.create_template(&TemplateDraft { name: "New thing".into(), ..draft }, None).await;
    assert!(matches!(bad, Err(MissionError::Invalid { field: "tactic", .. })), "{bad:?}");
}

#[tokio::test]
async fn bad_missions_are_refused_by_field_and_nothing_is_written() {
    let store = fresh_store().await;
    let b = &store.bodega;
    b.ensure_default_menu().await.expect("menu");
    let t = b.mission_menu(false).await.expect("menu")[0].id;
    let cmd = person(b, "cmd", Role::Command, None).await;
    let cases: Vec<(NewMission, &str)> = vec![
        (NewMission { template_id: 9999, ..new_mission("x1", t) }, "template_id"),
        (NewMission { window_end: 1_608_000_000, ..new_mission("x2", t) }, "window_end"),
        (NewMission { place: Place::Point { lat: 91.0, lon: 0.0, radius_m: 50.0 }, ..new_mission("x3", t) }, "place"),
        (NewMission { place: Place::Point { lat: 49.2, lon: -123.1, radius_m: 0.5 }, ..new_mission("x4", t) }, "place"),
        (NewMission { priority: 9, ..new_mission("x5", t) }, "priority"),
        (NewMission { shift_date: "15/12/2020".into(), ..new_mission("x6", t) }, "shift_date"),
        // Dates the board and the snapshot would never match as text.
        (NewMission { shift_date: "2020-12-5".into(), ..new_mission("x8", t) }, "shift_date"),
        (NewMission { shift_date: " 2020-12-15".into(), ..new_mission("x9", t) }, "shift_date"),
        (NewMission { id: "'; DROP TABLE missions; --".into(), ..new_mission("x7", t) }, "id"),
    ];
    for (m, field) in cases {
        match b.create_mission(&m, &cmd, None).await {
            Err(MissionError::Invalid { field: f, reason }) => assert_eq!(f, field, "{reason}"),
            other => panic!("{field}: expected a refusal, got {other:?}"),
        }
    }
    assert_eq!(counts(b).await, (0, 0), "nothing half-written");
    b.create_mission(&new_mission("ok", t), &cmd, None).await.expect("a good one");
    let dup = b.create_mission(&new_mission("ok", t), &cmd, None).await;
    assert!(matches!(dup, Err(MissionError::Invalid { field: "id", .. })));
    assert_eq!(counts(b).await, (1, 1));
}

#[tokio::test]
async fn a_mission_goes_from_issue_to_review_with_one_event_per_step() {
    let store = fresh_store().await;
    let b = &store.bodega;
    b.ensure_default_menu().await.expect("menu");
    let koper =
        b.mission_menu(false).await.expect("menu").into_iter().find(|t| t.tactic == "directed_patrol").expect("koper");
    let cmd = person(b, "cmd", Role::Command, None).await;
    let sgt = person(b, "sgt1", Role::Sergeant, Some("D1")).await;
    let sgt2 = person(b, "sgt2", Role::Sergeant, Some("D2")).await;
    let off = person(b, "off1", Role::Officer, Some("D1")).await;
    let off2 = person(b, "off2", Role::Officer, Some("D2")).await;
    let m = b.create_mission(&new_mission("m-1", koper.id), &cmd, Some("tablet-1")).await.expect("issue");
    assert_eq!((m.status, m.version), (MissionStatus::Issued, 1));
    let go = |who: &Subject, t: Transition, args: TransitionArgs| {
        let who = who.clone();
        async move { b.transition_mission("m-1", t, &who, &args).await }
    };

    // Another district's sergeant may not acknowledge; nothing moves.
    let err = go(&sgt2, Transition::Acknowledge, TransitionArgs::default()).await.expect_err("other district");
    assert!(err.to_string().contains("D1"), "{err}");
    let m = go(&sgt, Transition::Acknowledge, TransitionArgs { expected_version: Some(1), ..Default::default() })
        .await
        .expect("ack");
    assert_eq!((m.status, m.version), (MissionStatus::Acknowledged, 2));
    let stale = go(
        &sgt,
        Transition::Assign,
        TransitionArgs { assignee_user_id: Some(off.user_id), expected_version: Some(1), ..Default::default() },
    )
    .await;
    assert!(matches!(stale, Err(MissionError::Stale { current: 2 })), "{stale:?}");
    let wrong =
        go(&sgt, Transition::Assign, TransitionArgs { assignee_user_id: Some(off2.user_id), ..Default::default() })
            .await;
    assert!(
        matches!(wrong, Err(MissionError::Invalid { field: "assignee_user_id", ref reason }) if reason.contains("not in district D1")),
        "{wrong:?}"
    );
    let m = go(&sgt, Transition::Assign, TransitionArgs { assignee_user_id: Some(off.user_id), ..Default::default() })
        .await
        .expect("assign");
    assert_eq!(
        (m.status, m.assignee_user_id, m.assignee_name.as_deref()),
        (MissionStatus::Assigned, Some(off.user_id), Some("Person off1"))
    );
    // Only the assigned officer works it.
    assert!(go(&off2, Transition::Start, TransitionArgs::default()).await.is_err());
    let args =
        TransitionArgs { device_id: Some("phone-1".into()), device_time: Some(1_608_070_000), ..Default::default() };
    let m = go(&off, Transition::Start, args).await.expect("start");
    assert_eq!(m.status, MissionStatus::InProgress);
    let half = serde_json::json!({ "contacts": 2 });
    let incomplete = go(&off, Transition::Complete, TransitionArgs { outcome: Some(half), ..Default::default() }).await;
    assert!(matches!(incomplete, Err(MissionError::Invalid { field: "outcome", .. })), "{incomplete:?}");
    let outcome = serde_json::json!({ "contacts": 2, "conditions": "Quiet", "reports": 0 });
    let m = go(
        &off,
        Transition::Complete,
        TransitionArgs {
            outcome: Some(outcome.clone()),
            note: Some("Talked to the shop owners.".into()),
            ..Default::default()
        },
    )
    .await
    .expect("complete");
    assert_eq!((m.status, m.outcome.as_ref()), (MissionStatus::Completed, Some(&outcome)));
    assert_eq!(m.outcome_note.as_deref(), Some("Talked to the shop owners."));
    let m = go(&sgt, Transition::Review, TransitionArgs::default()).await.expect("review");
    assert_eq!(m.status, MissionStatus::Reviewed);
    let late =
        go(&sgt, Transition::Cancel, TransitionArgs { reason: Some("too late".into()), ..Default::default() }).await;
    assert!(matches!(late, Err(MissionError::Transition(_))), "reviewed is terminal");

    let events = b.mission_events("m-1").await.expect("events");
    let steps: Vec<(&str, i64)> = events.iter().map(|e| (e.transition.as_str(), e.actor_user_id)).collect();
    assert_eq!(
        steps,
        [
            ("issue", cmd.user_id),
            ("acknowledge", sgt.user_id),
            ("assign", sgt.user_id),
            ("start", off.user_id),
            ("complete", off.user_id),
            ("review", sgt.user_id),
        ]
    );
    assert_eq!(events[0].device_id.as_deref(), Some("tablet-1"));
    assert_eq!((events[3].device_id.as_deref(), events[3].device_time), (Some("phone-1"), Some(1_608_070_000)));
    // The log replays to the stored state.
    let replayed = protocol::mission::replay(events.iter().filter_map(|e| Transition::parse(&e.transition)));
    assert_eq!(replayed, Ok(MissionStatus::Reviewed));
    let update = bodega::on_writer!(b, pool => sqlx::query("UPDATE mission_events SET actor_user_id = 1").execute(pool).await.map(|_| ()));
    assert!(update.is_err(), "the event log is append-only");

    let board = b
        .missions(&MissionFilter {
            district: Some("D1".into()),
            shift_date: Some("2020-12-15".into()),
            ..Default::default()
        })
        .await
        .expect("board");
    assert_eq!(board.len(), 1);
    let mine =
        b.missions(&MissionFilter { assignee_user_id: Some(off2.user_id), ..Default::default() }).await.expect("mine");
    assert!(mine.is_empty());
    let dosage = b.mission_dosage(32610, 150, (0, i64::MAX)).await.expect("dosage");
    assert_eq!(dosage.len(), 1);
    assert_eq!(
        (dosage[0].ix, dosage[0].iy, dosage[0].visits, dosage[0].minutes),
        (3275, 36_053, 1, koper.dwell_minutes)
    );
    // Counted up to a time: a visit made after it does not dose a shift that ended before.
    let done = dosage[0].last_completed_at.expect("completed at");
    assert!(b.mission_dosage(32610, 150, (0, done)).await.expect("dosage").is_empty());
    assert_eq!(b.mission_dosage(32610, 150, (done, done + 1)).await.expect("dosage").len(), 1);
}

#[tokio::test]
async fn not_completed_and_cancelled_need_a_reason() {
    let store = fresh_store().await;
    let b = &store.bodega;
    b.ensure_default_menu().await.expect("menu");
    let t = b.mission_menu(false).await.expect("menu")[0].id;
    let cmd = person(b, "cmd", Role::Command, None).await;
    b.create_mission(&new_mission("m-1", t), &cmd, None).await.expect("issue");
    let none = b.transition_mission("m-1", Transition::Cancel, &cmd, &TransitionArgs::default()).await;
    assert!(matches!(none, Err(MissionError::Invalid { field: "reason", .. })));
    let m = b
        .transition_mission(
            "m-1",
            Transition::Cancel,
            &cmd,
            &TransitionArgs { reason: Some("Event moved".into()), ..Default::default() },
        )
        .await
        .expect("cancel");
    assert_eq!(m.status, MissionStatus::Cancelled);
    let unknown = b.transition_mission("nope", Transition::Cancel, &cmd, &TransitionArgs::default()).await;
    assert!(matches!(unknown, Err(MissionError::NotFound(_))));
}
