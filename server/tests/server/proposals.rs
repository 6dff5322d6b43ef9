//! Officers' proposals and the planner's own places, through the API: an officer proposes a
//! mission at a place they know, their sergeant approves it into an issued mission of the
//! board's shift (once: a second approval is refused) or declines it with a reason the officer
//! reads; a planner issues a mission at a tapped place for a time window within the shift, and
//! edits a mission until its sergeant acknowledges it.

use protocol::Role;

use super::*;

fn d1_shift() -> serde_json::Value {
    serde_json::json!({ "district": "D1", "shift": "B", "shift_date": "2020-12-15" })
}

struct Squad {
    app: TestApp,
    off: String,
    sgt: String,
    sgt2: String,
    cmd: String,
    /// The menu's "Park and walk" template id.
    walk: serde_json::Value,
    /// District 1's top place by harm: its centre and its name.
    top: (f64, f64, String),
}

async fn squad() -> Squad {
    let app = test_app().await;
    add_user(&app, "off1", &[Role::Officer], &["D1"]).await;
    add_user(&app, "sgt1", &[Role::Sergeant], &["D1"]).await;
    add_user(&app, "sgt2", &[Role::Sergeant], &["D2"]).await;
    add_user(&app, "cmd", &[Role::Command], &[]).await;
    let (off, sgt, sgt2, cmd) = (
        sign_in(&app, "off1").await,
        sign_in(&app, "sgt1").await,
        sign_in(&app, "sgt2").await,
        sign_in(&app, "cmd").await,
    );
    let (_, menu) = call_json(&app, "/api/missions/menu", serde_json::json!({ "include_retired": false }), &cmd).await;
    let walk =
        menu.as_array().expect("menu").iter().find(|t| t["name"] == "Park and walk").expect("walk")["id"].clone();
    let (_, rec) = call_json(&app, "/api/missions/recommend", serde_json::json!({ "shift": d1_shift() }), &cmd).await;
    let p = &rec["proposals"][0];
    let top = (
        p["place"]["lat"].as_f64().expect("lat"),
        p["place"]["lon"].as_f64().expect("lon"),
        p["place_label"].as_str().expect("label").to_string(),
    );
    Squad { app, off, sgt, sgt2, cmd, walk, top }
}

fn draft(s: &Squad, why: &str, label: &str) -> serde_json::Value {
    serde_json::json!({ "draft": {
        "district": "D1", "template_id": s.walk,
        "place": { "kind": "point", "lat": s.top.0, "lon": s.top.1, "radius_m": 60.0 },
        "place_label": label, "why": why,
    } })
}

#[tokio::test]
async fn an_officers_proposal_becomes_a_mission_once_its_sergeant_approves_it() {
    let s = squad().await;
    let (status, p) = call_json(
        &s.app,
        "/api/missions/propose",
        draft(&s, "Cars broken into every evening behind the parkade.", ""),
        &s.off,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{p}");
    assert_eq!(p["status"], "pending");
    // No name given: the place is called what the micro place it lies in is called.
    assert_eq!(p["place_label"], s.top.2);
    assert_eq!(p["proposed_by"], "Test off1");
    let id = p["id"].as_i64().expect("id");

    // The sergeant of District 1 sees it above the board; the board of another district's
    // sergeant does not carry it, and that sergeant may not decide it.
    let (_, board) = call_json(&s.app, "/api/missions/board", serde_json::json!({ "shift": d1_shift() }), &s.sgt).await;
    let waiting = board["proposals"].as_array().expect("proposals");
    assert_eq!(waiting.len(), 1, "{board}");
    assert_eq!(waiting[0]["why"], "Cars broken into every evening behind the parkade.");
    assert_eq!(board["rights"]["approve"], true);
    let decide = |approve: bool, new_id: &str, reason: &str| {
        serde_json::json!({ "decision": { "proposal_id": id, "approve": approve, "new_id": new_id,
            "shift": d1_shift(), "reason": reason } })
    };
    let new_id = "0193b3c4-0000-7000-8000-0000000a9001";
    let (status, body) = call_json(&s.app, "/api/missions/proposal_decide", decide(true, new_id, ""), &s.sgt2).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = call_json(&s.app, "/api/missions/proposal_decide", decide(true, new_id, ""), &s.off).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    // Approved: an issued mission of the board's shift at the proposed place, saying who
    // proposed it and why.
    let (status, m) =
        call_json(&s.app, "/api/missions/proposal_decide", decide(true, new_id, "Park by the exit."), &s.sgt).await;
    assert_eq!(status, StatusCode::OK, "{m}");
    assert_eq!((m["id"].as_str(), m["status"].as_str()), (Some(new_id), Some("issued")));
    assert_eq!(
        (m["district"].as_str(), m["shift"].as_str(), m["shift_date"].as_str()),
        (Some("D1"), Some("B"), Some("2020-12-15"))
    );
    assert_eq!(m["place"]["kind"], "point");
    assert_eq!(m["place"]["radius_m"], 60.0);
    assert_eq!(m["place_label"], s.top.2);
    assert_eq!(m["reason"], "Proposed by Test off1: Cars broken into every evening behind the parkade.");
    assert!(m["instructions"].as_str().expect("instructions").ends_with("\nPark by the exit."), "{m}");
    assert_eq!(m["template"]["name"], "Park and walk");
    // On the board, and gone from the queue.
    let (_, board) = call_json(&s.app, "/api/missions/board", serde_json::json!({ "shift": d1_shift() }), &s.sgt).await;
    assert!(board["missions"].as_array().expect("missions").iter().any(|x| x["id"] == new_id), "{board}");
    assert_eq!(board["proposals"].as_array().map(Vec::len), Some(0));
    // Once: a second approval (a twin tap, another sergeant) is refused and makes nothing.
    let twin = "0193b3c4-0000-7000-8000-0000000a9002";
    let (status, body) = call_json(&s.app, "/api/missions/proposal_decide", decide(true, twin, ""), &s.cmd).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.to_string().contains("approved already by Test sgt1"), "{body}");
    assert_eq!(count(&s.app, &format!("SELECT COUNT(*) FROM missions WHERE id = '{twin}'")).await, 0);
    // The officer reads where it stands.
    let (_, mine) = call_json(&s.app, "/api/missions/my_proposals", serde_json::json!({}), &s.off).await;
    assert_eq!(mine["may_propose"], true);
    assert_eq!(mine["proposals"][0]["status"], "approved");
    assert_eq!(mine["proposals"][0]["mission_id"], new_id);
    // Audited, both ways.
    let audit = audit_of(&s.app, "propose_mission").await;
    assert!(audit.iter().any(|r| r.detail.contains(&format!("proposal {id}: 'Park and walk'"))), "{audit:?}");
    let audit = audit_of(&s.app, "plan_missions").await;
    assert!(audit.iter().any(|r| r.detail.starts_with(&format!("approved as mission {new_id}"))), "{audit:?}");
}

#[tokio::test]
async fn a_declined_proposal_says_why_and_bad_proposals_are_refused_with_the_field() {
    let s = squad().await;
    let (_, p) =
        call_json(&s.app, "/api/missions/propose", draft(&s, "Kids on the roof.", "Roof of the old mall"), &s.off)
            .await;
    assert_eq!(p["place_label"], "Roof of the old mall", "the officer's own name is kept");
    let id = p["id"].as_i64().expect("id");
    let decline = |reason: &str| {
        serde_json::json!({ "decision": { "proposal_id": id, "approve": false, "new_id": "",
            "shift": d1_shift(), "reason": reason } })
    };
    // A decline needs a reason, and nothing changes without one.
    let (status, body) = call_json(&s.app, "/api/missions/proposal_decide", decline("  "), &s.sgt).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.to_string().contains("reason"), "{body}");
    let (status, _) =
        call_json(&s.app, "/api/missions/proposal_decide", decline("Security patrols it nightly."), &s.sgt).await;
    assert_eq!(status, StatusCode::OK);
    let (_, mine) = call_json(&s.app, "/api/missions/my_proposals", serde_json::json!({}), &s.off).await;
    assert_eq!(mine["proposals"][0]["status"], "declined");
    assert_eq!(mine["proposals"][0]["decline_reason"], "Security patrols it nightly.");
    assert_eq!(mine["proposals"][0]["decided_by"], "Test sgt1");
    assert_eq!(count(&s.app, "SELECT COUNT(*) FROM missions").await, 0, "a decline makes no mission");

    // Bad input: each refused with its field, nothing stored.
    let before = count(&s.app, "SELECT COUNT(*) FROM mission_proposals").await;
    let mut outside = draft(&s, "Seen it.", "");
    outside["draft"]["place"]["lon"] = (-123.05).into(); // District 2
    let mut no_why = draft(&s, " ", "");
    no_why["draft"]["why"] = " ".into();
    let mut huge = draft(&s, "Seen it.", "");
    huge["draft"]["place"]["radius_m"] = 5000.0.into();
    let mut cell = draft(&s, "Seen it.", "");
    cell["draft"]["place"] = serde_json::json!({ "kind": "cell", "epsg": 32610, "size_m": 150, "ix": 1, "iy": 1,
        "lat": s.top.0, "lon": s.top.1 });
    let mut retired = draft(&s, "Seen it.", "");
    retired["draft"]["template_id"] = 999_999.into();
    for (body, field) in
        [(outside, "place"), (no_why, "why"), (huge, "place"), (cell, "place"), (retired, "template_id")]
    {
        let (status, err) = call_json(&s.app, "/api/missions/propose", body.clone(), &s.off).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {err}");
        assert_eq!(err["field"], field, "{err}");
    }
    // Another district's proposal is not an officer's to make.
    let mut d2 = draft(&s, "Seen it.", "");
    d2["draft"]["district"] = "D2".into();
    let (status, _) = call_json(&s.app, "/api/missions/propose", d2, &s.off).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(count(&s.app, "SELECT COUNT(*) FROM mission_proposals").await, before);
}

#[tokio::test]
async fn a_planner_issues_a_mission_at_a_tapped_place_for_a_window_within_the_shift() {
    let s = squad().await;
    let item = |id: &str, place: serde_json::Value, window: serde_json::Value| {
        serde_json::json!({ "id": id, "template_id": s.walk, "place": place, "place_label": "",
            "priority": 2, "instructions": "Walk it.", "reason": "Chosen by the planner", "window": window })
    };
    // A tap as the micro place: the server puts it on the lattice and names it.
    let tap =
        serde_json::json!({ "kind": "cell", "epsg": 0, "size_m": 0, "ix": 0, "iy": 0, "lat": s.top.0, "lon": s.top.1 });
    let body = serde_json::json!({ "shift": d1_shift(), "items": [
        item("0193b3c4-0000-7000-8000-0000000a9101", tap.clone(), serde_json::json!(["16:00", "18:00"])) ] });
    let (status, made) = call_json(&s.app, "/api/missions/issue", body, &s.cmd).await;
    assert_eq!(status, StatusCode::OK, "{made}");
    let m = &made[0];
    assert_eq!(m["place"]["size_m"], 150);
    assert_eq!(m["place_label"], s.top.2);
    // 16:00 and 18:00 Pacific Standard Time on 15 December 2020 are 00:00 and 02:00 UTC on the
    // 16th: 1,608,076,800 and 1,608,084,000 seconds after the epoch (worked out by hand).
    assert_eq!((m["window_start"].as_i64(), m["window_end"].as_i64()), (Some(1_608_076_800), Some(1_608_084_000)));
    // A night shift's small hours are the next morning's: shift C (22:00–06:00) of 20 December,
    // 01:00–03:00 is 21 December 09:00–11:00 UTC.
    let night = serde_json::json!({ "district": "D1", "shift": "C", "shift_date": "2020-12-20" });
    let body = serde_json::json!({ "shift": night, "items": [
        item("0193b3c4-0000-7000-8000-0000000a9102", tap.clone(), serde_json::json!(["01:00", "03:00"])) ] });
    let (status, made) = call_json(&s.app, "/api/missions/issue", body, &s.cmd).await;
    assert_eq!(status, StatusCode::OK, "{made}");
    assert_eq!(
        (made[0]["window_start"].as_i64(), made[0]["window_end"].as_i64()),
        (Some(1_608_541_200), Some(1_608_548_400))
    );
    // A window past the shift's end, or unreadable, is refused with the field; nothing issued.
    for window in [serde_json::json!(["21:00", "23:00"]), serde_json::json!(["4pm", "18:00"])] {
        let body = serde_json::json!({ "shift": d1_shift(), "items": [
            item("0193b3c4-0000-7000-8000-0000000a9103", tap.clone(), window.clone()) ] });
        let (status, err) = call_json(&s.app, "/api/missions/issue", body, &s.cmd).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{window}: {err}");
        assert_eq!(err["field"], "window", "{err}");
    }
    let refused = "SELECT COUNT(*) FROM missions WHERE id = '0193b3c4-0000-7000-8000-0000000a9103'";
    assert_eq!(count(&s.app, refused).await, 0);
    let (_, err) = call_json(
        &s.app,
        "/api/missions/issue",
        serde_json::json!({ "shift": d1_shift(), "items": [
            item("0193b3c4-0000-7000-8000-0000000a9103", tap, serde_json::json!(["21:00", "23:00"])) ] }),
        &s.cmd,
    )
    .await;
    assert!(err.to_string().contains("21:00–23:00 is not within shift B (14:00–22:00)"), "{err}");
}

#[tokio::test]
async fn a_mission_is_edited_until_its_sergeant_acknowledges_it() {
    let s = squad().await;
    let id = "0193b3c4-0000-7000-8000-0000000a9201";
    let cmd_id = s.app.store.bodega.user_by_username("cmd").await.expect("q").expect("cmd").id;
    issue_test_mission(&s.app, id, cmd_id, true).await;
    let change = |version: i64, priority: i64, window: serde_json::Value| {
        serde_json::json!({ "change": { "id": id, "expected_version": version, "template_id": s.walk,
            "priority": priority, "instructions": "Walk the lane behind the shops.", "place_label": "The lane",
            "window": window } })
    };
    // Another district's sergeant and an officer may not; D1's sergeant may.
    let (status, _) = call_json(&s.app, "/api/missions/edit", change(1, 1, serde_json::Value::Null), &s.sgt2).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = call_json(&s.app, "/api/missions/edit", change(1, 1, serde_json::Value::Null), &s.off).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, m) =
        call_json(&s.app, "/api/missions/edit", change(1, 1, serde_json::json!(["16:00", "18:00"])), &s.sgt).await;
    assert_eq!(status, StatusCode::OK, "{m}");
    assert_eq!((m["template"]["name"].as_str(), m["priority"].as_i64()), (Some("Park and walk"), Some(1)));
    assert_eq!(
        (m["instructions"].as_str(), m["place_label"].as_str()),
        (Some("Walk the lane behind the shops."), Some("The lane"))
    );
    assert_eq!((m["window_start"].as_i64(), m["window_end"].as_i64()), (Some(1_608_076_800), Some(1_608_084_000)));
    assert_eq!(m["version"], 2);
    // The mission's log says what changed from what.
    let (_, events) = call_json(&s.app, "/api/missions/events", serde_json::json!({ "id": id }), &s.sgt).await;
    let edit = events.as_array().expect("events").iter().find(|e| e["transition"] == "edit").expect("an edit event");
    let detail: serde_json::Value = serde_json::from_str(edit["detail"].as_str().expect("detail")).expect("json");
    assert_eq!(detail["template"], serde_json::json!({ "was": "Koper visit", "now": "Park and walk" }));
    assert_eq!(detail["priority"], serde_json::json!({ "was": 3, "now": 1 }));
    // An edit from a stale read is refused (409); so is a bad priority or a window past the shift.
    let (status, _) = call_json(&s.app, "/api/missions/edit", change(1, 2, serde_json::Value::Null), &s.sgt).await;
    assert_eq!(status, StatusCode::CONFLICT);
    for (body, field) in [
        (change(2, 9, serde_json::Value::Null), "priority"),
        (change(2, 2, serde_json::json!(["20:00", "23:00"])), "window"),
    ] {
        let (status, e) = call_json(&s.app, "/api/missions/edit", body, &s.sgt).await;
        assert_eq!((status, e["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(field)), "{e}");
    }
    // Once acknowledged, the squad plans around it: no more edits, and nothing changes.
    let (status, _) = call_json(
        &s.app,
        "/api/missions/transition",
        serde_json::json!({ "id": id, "step": "acknowledge", "args": {} }),
        &s.sgt,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, e) = call_json(&s.app, "/api/missions/edit", change(3, 2, serde_json::Value::Null), &s.sgt).await;
    assert_eq!((status, e["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("status")), "{e}");
    assert!(e.to_string().contains("it is acknowledged already"), "{e}");
    let after = s.app.store.bodega.mission(id).await.expect("q").expect("mission");
    assert_eq!((after.priority, after.version), (1, 3));
}
