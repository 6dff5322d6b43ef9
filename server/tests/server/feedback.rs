//! Feedback that reaches someone, through the API: the officer's closing note, field notes and
//! the sergeant's review comment on the board; the district's follow-up queue, where a
//! sergeant turns one into a mission once (a second hand is refused); and the outcomes added up
//! by template and week, checked against sums worked out by hand.

use protocol::sync::{Mutation, MutationKind};
use protocol::Role;

use super::*;

fn shift() -> serde_json::Value {
    serde_json::json!({ "district": "D1", "shift": "B", "shift_date": "2020-12-15" })
}

const M: [&str; 3] = [
    "0193b3c4-0000-7000-8000-0000000fb000",
    "0193b3c4-0000-7000-8000-0000000fb001",
    "0193b3c4-0000-7000-8000-0000000fb002",
];

struct Worked {
    app: TestApp,
    cmd: String,
    sgt: String,
    sgt2: String,
}

/// Three D1 missions worked: M0 "Park and walk" completed with "needs follow-up", a closing note
/// and a field note; M1 "Park and walk" completed and reviewed with a comment; M2 "Koper visit"
/// not completed.
async fn worked() -> Worked {
    let app = test_app().await;
    add_user(&app, "cmd", &[Role::Command], &[]).await;
    add_user(&app, "sgt1", &[Role::Sergeant], &["D1"]).await;
    add_user(&app, "sgt2", &[Role::Sergeant], &["D2"]).await;
    let off_id = add_user(&app, "off1", &[Role::Officer], &["D1"]).await;
    let (cmd, sgt, sgt2, off) = (
        sign_in(&app, "cmd").await,
        sign_in(&app, "sgt1").await,
        sign_in(&app, "sgt2").await,
        sign_in(&app, "off1").await,
    );
    let (_, menu) = call_json(&app, "/api/missions/menu", serde_json::json!({ "include_retired": false }), &cmd).await;
    let template =
        |name: &str| menu.as_array().expect("menu").iter().find(|t| t["name"] == name).expect("template")["id"].clone();
    let (walk, koper) = (template("Park and walk"), template("Koper visit"));
    let (_, rec) = call_json(&app, "/api/missions/recommend", serde_json::json!({ "shift": shift() }), &cmd).await;
    let items: Vec<serde_json::Value> = rec["proposals"].as_array().expect("proposals")[..3]
        .iter()
        .enumerate()
        .map(|(i, p)| {
            serde_json::json!({
                "id": M[i], "template_id": if i < 2 { walk.clone() } else { koper.clone() },
                "place": p["place"], "place_label": p["place_label"], "priority": 1,
                "instructions": "Walk the block.", "reason": p["reason"],
            })
        })
        .collect();
    let (status, body) =
        call_json(&app, "/api/missions/issue", serde_json::json!({ "shift": shift(), "items": items }), &cmd).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let step =
        |id: &str, step: &str, args: serde_json::Value| serde_json::json!({ "id": id, "step": step, "args": args });
    for id in M {
        for (s, args) in
            [("acknowledge", serde_json::json!({})), ("assign", serde_json::json!({ "assignee_user_id": off_id }))]
        {
            let (status, body) = call_json(&app, "/api/missions/transition", step(id, s, args), &sgt).await;
            assert_eq!(status, StatusCode::OK, "{s}: {body}");
        }
    }
    let finish = [
        (
            M[0],
            "complete",
            serde_json::json!({ "outcome": { "contacts": 2, "conditions": "Quiet", "follow_up": true },
                "note": "The corner store owner asks about the broken lane light." }),
        ),
        (
            M[1],
            "complete",
            serde_json::json!({ "outcome": { "contacts": 5, "conditions": "Disorder", "follow_up": false } }),
        ),
        (M[2], "not_complete", serde_json::json!({ "reason": "Called to a collision." })),
    ];
    for (id, s, args) in finish {
        let (status, body) = call_json(&app, "/api/missions/transition", step(id, s, args), &off).await;
        assert_eq!(status, StatusCode::OK, "{s}: {body}");
    }
    // A field note from the officer's phone, through the sync.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs() as i64;
    let note = Mutation {
        seq: 1,
        kind: MutationKind::Note {
            note_id: "0193b3c4-0000-7000-8000-0000000fbn01".into(),
            mission_id: M[0].into(),
            body: "Lane light out behind 1000 Alberni.".into(),
            supersedes: None,
        },
        device_time: now,
    };
    let (status, _, text) = call(&app.router, push_request("phone-fb", vec![note], Some(now), Some(&off))).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let (status, body) = call_json(
        &app,
        "/api/missions/transition",
        step(M[1], "review", serde_json::json!({ "note": "Good contacts." })),
        &sgt,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    Worked { app, cmd, sgt, sgt2 }
}

#[tokio::test]
async fn notes_reach_the_board_and_a_follow_up_becomes_a_mission_once() {
    let Worked { app, sgt, sgt2, .. } = worked().await;
    let (status, board) = call_json(&app, "/api/missions/board", serde_json::json!({ "shift": shift() }), &sgt).await;
    assert_eq!(status, StatusCode::OK, "{board}");
    let of = |id: &str| {
        let i = board["missions"].as_array().expect("missions").iter().position(|m| m["id"] == id).expect("on board");
        (board["missions"][i].clone(), board["feedback"][i].clone())
    };
    let (m0, f0) = of(M[0]);
    assert_eq!(m0["outcome_note"], "The corner store owner asks about the broken lane light.");
    assert_eq!(f0["notes"][0]["body"], "Lane light out behind 1000 Alberni.");
    assert_eq!(f0["notes"][0]["author"], "Test off1");
    let (_, f1) = of(M[1]);
    assert_eq!(f1["review_comment"], serde_json::json!(["Good contacts.", "Test sgt1"]));
    let (m2, _) = of(M[2]);
    assert_eq!(m2["not_completed_reason"], "Called to a collision.");

    // The queue holds the one mission whose officer asked for a follow-up.
    let queue = |cookie: String, district: &'static str| {
        let app = &app;
        async move { call_json(app, "/api/missions/followups", serde_json::json!({ "district": district }), &cookie).await }
    };
    let (status, q) = queue(sgt.clone(), "D1").await;
    assert_eq!(status, StatusCode::OK, "{q}");
    let items = q["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{q}");
    assert_eq!(items[0]["mission"]["id"], M[0]);
    assert_eq!(items[0]["feedback"]["notes"][0]["body"], "Lane light out behind 1000 Alberni.");
    let (status, _) = queue(sgt2.clone(), "D1").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "another district's sergeant");

    let act = |cookie: String, a: serde_json::Value| {
        let app = &app;
        async move { call_json(app, "/api/missions/followup_act", serde_json::json!({ "action": a }), &cookie).await }
    };
    let base = serde_json::json!({ "mission_id": M[0], "new_id": "0193b3c4-0000-7000-8000-0000000fbf01",
        "new_mission": false, "template_id": null, "shift": "B", "shift_date": "2020-12-16", "reason": "" });
    let (status, e) = act(sgt.clone(), base.clone()).await;
    assert_eq!((status, e["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("reason")), "{e}");
    let with = |k: &str, v: serde_json::Value| {
        let mut a = base.clone();
        a[k] = v;
        a
    };
    let mission = with("new_mission", serde_json::json!(true));
    let (status, _) = act(sgt2.clone(), mission.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "another district's sergeant cannot act on it");
    let mut asked = mission.clone();
    asked["reason"] = serde_json::json!("Check the lane lights with the owner.");
    let (status, made) = act(sgt.clone(), asked.clone()).await;
    assert_eq!(status, StatusCode::OK, "{made}");
    assert_eq!(made["id"], "0193b3c4-0000-7000-8000-0000000fbf01");
    assert_eq!((made["status"].as_str(), made["shift_date"].as_str()), (Some("issued"), Some("2020-12-16")));
    assert_eq!(made["place_label"], m0["place_label"], "the same place");
    assert_eq!(made["template"]["name"], "Park and walk", "the finished mission's template by default");
    let instructions = made["instructions"].as_str().expect("instructions");
    assert!(instructions.contains("Check the lane lights with the owner."), "{instructions}");
    assert!(instructions.contains("broken lane light"), "the officer's note travels: {instructions}");
    // Handled once: a second tap (or a second sergeant) is refused, and makes no twin.
    let mut again = asked.clone();
    again["new_id"] = serde_json::json!("0193b3c4-0000-7000-8000-0000000fbf02");
    let (status, e) = act(sgt.clone(), again).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(e["message"].as_str().expect("message").contains("handled already"), "{e}");
    assert!(app.store.bodega.mission("0193b3c4-0000-7000-8000-0000000fbf02").await.expect("read").is_none());
    let (_, q) = queue(sgt.clone(), "D1").await;
    assert_eq!(q["items"], serde_json::json!([]), "the queue is empty once handled");
    // A mission whose officer asked for nothing cannot be "followed up".
    let (status, e) = act(sgt.clone(), with("mission_id", serde_json::json!(M[1]))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
}

#[tokio::test]
async fn outcomes_add_up_by_template_and_week_as_worked_out_by_hand() {
    let Worked { app, cmd, sgt2, .. } = worked().await;
    let ask = |cookie: String, body: serde_json::Value| {
        let app = &app;
        async move { call_json(app, "/api/missions/outcomes", body, &cookie).await }
    };
    let dec = |by: &str| serde_json::json!({ "district": "D1", "from": "2020-12-01", "to": "2020-12-31", "by": by });
    let (status, v) = ask(cmd.clone(), dec("template")).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    // By hand: Park and walk ×2 (both completed; contacts 2 + 5 = 7; one "needs follow-up"
    // yes), Koper visit ×1 (not completed, no outcome). Choices are not summed.
    assert_eq!(
        v["rows"],
        serde_json::json!([
            { "group": "Koper visit", "missions": 1, "completed": 0, "not_completed": 1, "follow_ups": 0, "figures": [] },
            { "group": "Park and walk", "missions": 2, "completed": 2, "not_completed": 0, "follow_ups": 1,
              "figures": [["Contacts made", 7], ["Needs follow-up", 1]] },
        ])
    );
    assert_eq!(
        v["csv"],
        "template,missions,completed,not_completed,follow_ups,Contacts made,Needs follow-up\n\
         Koper visit,1,0,1,0,0,0\n\
         Park and walk,2,2,0,1,7,1\n"
    );
    // 15 Dec 2020 is a Tuesday of ISO week 51.
    assert_eq!(v["weeks"][0]["group"], "2020-W51");
    assert_eq!(v["weeks"][0]["missions"], 3);
    let (_, by_place) = ask(cmd.clone(), dec("place")).await;
    let places = by_place["rows"].as_array().expect("rows");
    assert_eq!(places.len(), 3, "three places: {by_place}");
    for row in places {
        let yes =
            row["figures"].as_array().and_then(|f| f.iter().find(|p| p[0] == "Needs follow-up")).map(|p| p[1].clone());
        let expected = match row["follow_ups"].as_i64() {
            Some(1) => Some(serde_json::json!(1)),
            _ if row["completed"] == 1 => Some(serde_json::json!(0)),
            _ => None,
        };
        assert_eq!(yes, expected, "the yes is counted at the place whose officer said yes: {row}");
    }
    // Outside the dates: nothing; backwards or other districts: refused.
    let (_, none) = ask(
        cmd.clone(),
        serde_json::json!({ "district": "D1", "from": "2020-11-01", "to": "2020-11-30", "by": "template" }),
    )
    .await;
    assert_eq!(none["rows"], serde_json::json!([]));
    let (status, e) = ask(
        cmd.clone(),
        serde_json::json!({ "district": "D1", "from": "2020-12-31", "to": "2020-12-01", "by": "week" }),
    )
    .await;
    assert_eq!((status, e["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("from")), "{e}");
    let (status, _) = ask(sgt2.clone(), dec("template")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "D2's sergeant asking for D1");
    // No district named by D2's sergeant: their own district's (none), never D1's.
    let (status, own) = ask(
        sgt2.clone(),
        serde_json::json!({ "district": null, "from": "2020-12-01", "to": "2020-12-31", "by": "template" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{own}");
    assert_eq!((own["district"].as_str(), own["rows"].clone()), (Some("D2"), serde_json::json!([])));
}
