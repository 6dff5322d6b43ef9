//! A department's own setup, as its administrator and command staff meet it: the first-run
//! checklist from an empty store, shift patterns (every refusal naming its field, nothing
//! half-saved, overlap shown), shifts that run only on their days, and dosage rules that the
//! plan follows — on the screens' server functions and on the command line.

use protocol::Role;

use super::*;

fn shift(code: &str, name: &str, starts: &str, ends: &str, days: u8) -> serde_json::Value {
    serde_json::json!({ "code": code, "name": name, "starts_local": starts, "ends_local": ends, "days": days })
}

async fn save(
    app: &TestApp,
    cookie: &str,
    editing: Option<&str>,
    s: serde_json::Value,
) -> (StatusCode, serde_json::Value) {
    call_json(app, "/api/setup/shift_save", serde_json::json!({ "editing": editing, "shift": s }), cookie).await
}

fn step<'a>(status: &'a serde_json::Value, key: &str) -> &'a serde_json::Value {
    status["steps"].as_array().expect("steps").iter().find(|s| s["key"] == key).expect("the step")
}

const EVERY_DAY: u8 = 127;
const MON_FRI: u8 = 0b001_1111;
const FRI_SAT: u8 = 0b011_0000;

#[tokio::test]
async fn an_administrator_sets_up_shifts_from_an_empty_store_and_each_refusal_names_its_field() {
    let app = empty_test_app().await;
    add_user(&app, "adm", &[Role::Admin], &[]).await;
    let adm = sign_in(&app, "adm").await;

    // An empty store: the checklist says what is missing and where to do it.
    let (status, before) = call_json(&app, "/api/setup/status", serde_json::json!({}), &adm).await;
    assert_eq!(status, StatusCode::OK, "{before}");
    for key in ["districts", "shifts", "accounts", "incidents", "first_mission"] {
        assert_eq!(step(&before, key)["done"], false, "{key} is still to do on an empty store");
        assert_eq!(step(&before, key)["required"], true, "{key}");
    }
    assert_eq!(step(&before, "menu")["done"], true, "the default Mission Menu is there from the start");
    assert_eq!(step(&before, "harm")["done"], false, "the department has not confirmed its harm table");
    assert_eq!(step(&before, "harm")["required"], true, "the checklist asks for the harm table");
    assert!(step(&before, "harm")["detail"]
        .as_str()
        .expect("detail")
        .starts_with("cchi@2020 (the Cambridge Crime Harm Index 2020"));
    assert_eq!(step(&before, "districts")["link"], "/upload");
    assert!(step(&before, "shifts")["detail"].as_str().expect("detail").contains("add the department's shifts"));
    assert_eq!(before["shifts"].as_array().map(Vec::len), Some(0));

    // Three shifts: a day watch on weekdays, a night watch across midnight, a weekend power shift.
    let (status, day) = save(&app, &adm, None, shift("A", "Day watch", "06:00", "14:00", MON_FRI)).await;
    assert_eq!(status, StatusCode::OK, "{day}");
    assert_eq!(day["describe"], "06:00–14:00 (8 h), Mon–Fri");
    let (status, night) = save(&app, &adm, None, shift("C", "Night watch", "22:00", "06:00", EVERY_DAY)).await;
    assert_eq!(status, StatusCode::OK, "{night}");
    assert_eq!(night["describe"], "22:00–06:00 (8 h, into the next day), every day");
    assert_eq!(night["overlaps"], serde_json::json!([]), "back to back with the day watch is no overlap");
    let (status, power) = save(&app, &adm, None, shift("P", "Power", "18:00", "02:00", FRI_SAT)).await;
    assert_eq!(status, StatusCode::OK, "overlap is shown, never refused: {power}");
    assert_eq!(power["overlaps"], serde_json::json!(["C"]));

    // Each bad shift is refused with its field and reason; none is half-saved.
    for (bad, field, words) in [
        (shift("Z", "Zero", "08:00", "08:00", EVERY_DAY), "ends_local", "needs a length"),
        (shift("Z", "Long", "08:00", "32:00", EVERY_DAY), "ends_local", "more than 24 hours"),
        (shift("A", "Again", "07:00", "15:00", EVERY_DAY), "code", "exists already"),
        (shift("Z", "Never", "07:00", "15:00", 0), "days", "at least one day"),
        (shift("Z", "", "07:00", "15:00", EVERY_DAY), "name", "1 to 60"),
        (shift("Z z", "Space", "07:00", "15:00", EVERY_DAY), "code", "only letters"),
    ] {
        let (status, e) = save(&app, &adm, None, bad.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {e}");
        assert_eq!(e["field"], field, "{bad}: {e}");
        assert!(e["message"].as_str().is_some_and(|m| m.contains(words)), "{bad}: {e}");
    }
    assert_eq!(count(&app, "SELECT COUNT(*) FROM shifts").await, 3, "nothing refused was stored");

    // An edit changes hours and days, never the code missions carry.
    let (status, edited) = save(&app, &adm, Some("A"), shift("A", "Day watch", "07:00", "19:00", EVERY_DAY)).await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["describe"], "07:00–19:00 (12 h), every day");
    assert_eq!(
        edited["overlaps"],
        serde_json::json!(["P"]),
        "now it meets the power shift on Friday and Saturday evenings"
    );
    let (status, e) = save(&app, &adm, Some("A"), shift("A2", "Day watch", "07:00", "17:00", EVERY_DAY)).await;
    assert_eq!((status, e["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("code")), "{e}");

    let (status, after) = call_json(&app, "/api/setup/status", serde_json::json!({}), &adm).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(step(&after, "shifts")["done"], true);
    assert_eq!(step(&after, "shifts")["detail"], "3 shifts below.");
    let codes: Vec<&str> =
        after["shifts"].as_array().expect("shifts").iter().filter_map(|r| r["pattern"]["code"].as_str()).collect();
    assert_eq!(codes, ["A", "P", "C"], "by start time");

    // Removed when no mission names it.
    let (status, gone) = call_json(&app, "/api/setup/shift_remove", serde_json::json!({ "code": "P" }), &adm).await;
    assert_eq!(status, StatusCode::OK, "{gone}");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM shifts").await, 2);

    // Every change is audited with what it was; the refusals too, with their reason.
    let audit = audit_of(&app, "manage_setup").await;
    let said = |outcome: bodega::audit::Outcome, words: &str| {
        audit.iter().any(|r| r.outcome == outcome && r.detail.contains(words))
    };
    assert!(said(bodega::audit::Outcome::Success, "added: 'Night watch' 22:00–06:00"), "{audit:?}");
    assert!(said(bodega::audit::Outcome::Success, "changed: 06:00–14:00 (8 h), Mon–Fri -> 07:00–19:00"), "{audit:?}");
    assert!(said(bodega::audit::Outcome::Success, "removed: 'Power'"), "{audit:?}");
    assert!(said(bodega::audit::Outcome::Failure, "code: a shift with code 'A' exists already"), "{audit:?}");
    assert!(audit.iter().all(|r| r.actor == "adm"), "{audit:?}");
}

#[tokio::test]
async fn a_shift_with_missions_stays_and_a_shift_is_planned_only_on_its_days() {
    let app = test_app().await;
    add_user(&app, "adm", &[Role::Admin], &[]).await;
    let cmd_id = add_user(&app, "cmd", &[Role::Command], &[]).await;
    let (adm, cmd) = (sign_in(&app, "adm").await, sign_in(&app, "cmd").await);
    issue_test_mission(&app, "0193b3c4-0000-7000-8000-0000000005e1", cmd_id, false).await;

    let (status, e) = call_json(&app, "/api/setup/shift_remove", serde_json::json!({ "code": "B" }), &adm).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(e["message"].as_str().is_some_and(|m| m.contains("1 mission names shift 'B'")), "{e}");
    let (status, e) = call_json(&app, "/api/setup/shift_remove", serde_json::json!({ "code": "nope" }), &adm).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{e}");

    // The demo's evening shift, Monday to Friday from now on.
    let (status, b) = save(&app, &adm, Some("B"), shift("B", "Evening", "14:00", "22:00", MON_FRI)).await;
    assert_eq!(status, StatusCode::OK, "{b}");
    // Tuesday 15 Dec 2020 is planned; Saturday 19 Dec is not a day it runs.
    let plan = |date: &str| serde_json::json!({ "shift": { "district": "D1", "shift": "B", "shift_date": date } });
    let (status, rec) = call_json(&app, "/api/missions/recommend", plan("2020-12-15"), &cmd).await;
    assert_eq!(status, StatusCode::OK, "{rec}");
    let (status, e) = call_json(&app, "/api/missions/recommend", plan("2020-12-19"), &cmd).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["field"], "shift");
    assert_eq!(e["message"], "shift B does not run on Sat 2020-12-19 (it runs Mon–Fri)");
    // Nor issued then; but a past Saturday's board stays readable after the change.
    let item = serde_json::json!({ "id": "0193b3c4-0000-7000-8000-0000000005e2", "template_id": 1,
        "place": { "kind": "point", "lat": 49.28, "lon": -123.12, "radius_m": 100.0 }, "place_label": "Granville",
        "priority": 2, "instructions": "", "reason": "" });
    let saturday = serde_json::json!({ "district": "D1", "shift": "B", "shift_date": "2020-12-19" });
    let (status, e) =
        call_json(&app, "/api/missions/issue", serde_json::json!({ "shift": saturday, "items": [item] }), &cmd).await;
    assert_eq!((status, e["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("shift")), "{e}");
    let (status, board) = call_json(&app, "/api/missions/board", serde_json::json!({ "shift": saturday }), &cmd).await;
    assert_eq!(status, StatusCode::OK, "{board}");
}

#[tokio::test]
async fn command_sets_dosage_rules_by_version_and_the_plan_follows_them() {
    let app = test_app().await;
    add_user(&app, "cmd", &[Role::Command], &[]).await;
    let cmd = sign_in(&app, "cmd").await;
    let d1 = serde_json::json!({ "shift": { "district": "D1", "shift": "B", "shift_date": "2020-12-15" } });

    let (status, rules) = call_json(&app, "/api/setup/rules", serde_json::json!({}), &cmd).await;
    assert_eq!(status, StatusCode::OK, "{rules}");
    assert_eq!(rules["current"]["version"], 0, "Beatbook's defaults until command sets rules");
    assert_eq!(rules["current"]["rules"]["places_per_shift"], 20);
    let (_, rec) = call_json(&app, "/api/missions/recommend", d1.clone(), &cmd).await;
    assert_eq!(rec["proposals"].as_array().map(Vec::len), Some(20));

    let with = |changes: serde_json::Value| {
        let mut r = rules["current"]["rules"].clone();
        if let (Some(r), Some(c)) = (r.as_object_mut(), changes.as_object()) {
            r.extend(c.clone());
        }
        r
    };
    // A cap below the target is refused, naming the field; nothing is saved.
    let (status, e) = call_json(
        &app,
        "/api/setup/rules_save",
        serde_json::json!({ "expected_version": 0, "rules": with(serde_json::json!({ "cap_visits": 2 })) }),
        &cmd,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["field"], "cap_visits");
    assert!(e["message"].as_str().is_some_and(|m| m.contains("below the target of 3")), "{e}");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM dosage_rules").await, 0);

    // Five places a shift: version 1, and the plan proposes five.
    let (status, v1) = call_json(
        &app,
        "/api/setup/rules_save",
        serde_json::json!({ "expected_version": 0, "rules": with(serde_json::json!({ "places_per_shift": 5 })) }),
        &cmd,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v1}");
    assert_eq!((v1["version"].as_i64(), v1["set_by"].as_str()), (Some(1), Some("Test cmd")));
    let (_, rec) = call_json(&app, "/api/missions/recommend", d1.clone(), &cmd).await;
    assert_eq!(rec["proposals"].as_array().map(Vec::len), Some(5), "{rec}");

    // An edit made from version 0 after version 1 was set is refused, not applied over it.
    let (status, e) = call_json(
        &app,
        "/api/setup/rules_save",
        serde_json::json!({ "expected_version": 0, "rules": with(serde_json::json!({ "places_per_shift": 9 })) }),
        &cmd,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{e}");
    assert!(e["message"].as_str().is_some_and(|m| m.contains("now version 1")), "{e}");

    let (_, rules) = call_json(&app, "/api/setup/rules", serde_json::json!({}), &cmd).await;
    assert_eq!(rules["history"].as_array().map(Vec::len), Some(1));
    let audit = audit_of(&app, "change_config").await;
    assert!(
        audit.iter().any(|r| r.outcome == bodega::audit::Outcome::Success
            && r.detail.contains("version 0 -> 1")
            && r.detail.contains("20 places a shift; track weights violent ×1, property ×1, quality of life ×1 -> ")
            && r.detail.contains("5 places a shift")),
        "{audit:?}"
    );
}

#[tokio::test]
async fn the_command_line_sets_up_shifts_and_rules_with_the_screens_checks() {
    let store = fresh_store().await;
    let url = store.url.clone();
    let env = [("BEATBOOK_DATABASE_URL", url.as_str())];
    let run = |args: &[&str]| {
        let out = server(args, &env);
        (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), out)
    };
    let (ok, text, _) = run(&["shift", "list"]);
    assert!(ok && text.contains("no shift patterns yet"), "{text}");
    let (ok, text, _) =
        run(&["shift", "add", "N", "--name", "Nights", "--starts", "22:00", "--ends", "06:00", "--days", "Fri-Mon"]);
    assert!(ok && text.contains("22:00–06:00 (8 h, into the next day), Fri–Mon"), "{text}");
    let (ok, text, _) = run(&["shift", "add", "D", "--name", "Days", "--starts", "05:00", "--ends", "15:00"]);
    assert!(ok, "{text}");
    let (ok, text, _) = run(&["shift", "list"]);
    assert!(ok && text.contains("D\tDays\t05:00–15:00 (10 h), every day\toverlaps N"), "{text}");
    let (_, _, out) = run(&["shift", "add", "Z", "--name", "Zero", "--starts", "08:00", "--ends", "08:00"]);
    assert_one_clear_line(&out, "ends_local: the shift starts and ends at 08:00");
    let (_, _, out) =
        run(&["shift", "add", "Z", "--name", "Odd", "--starts", "08:00", "--ends", "16:00", "--days", "Funday"]);
    assert_one_clear_line(&out, "days: 'funday' is not a day of the week");
    let (ok, text, _) = run(&["shift", "edit", "D", "--name", "Days", "--starts", "06:00", "--ends", "16:00"]);
    assert!(ok && text.contains("06:00–16:00"), "{text}");
    let (ok, _, _) = run(&["shift", "remove", "D"]);
    assert!(ok);
    let (_, _, out) = run(&["shift", "remove", "D"]);
    assert_one_clear_line(&out, "no shift 'D'");

    let (_, _, out) = run(&["rules", "set", "--cap-visits", "1"]);
    assert_one_clear_line(&out, "cap_visits: a cap of 1 visits in 24 hours is below the target of 3");
    let (ok, text, _) = run(&["rules", "set", "--target", "2", "--places", "8"]);
    assert!(
        ok && text.contains("version 1 in force") && text.contains("target 2 visits") && text.contains("8 places"),
        "{text}"
    );
    let (ok, text, _) = run(&["rules", "show"]);
    assert!(ok && text.contains("* version 1 (set by command line)"), "{text}");
    assert_eq!(store.bodega.dosage_rules().await.expect("rules").rules.places_per_shift, 8);

    let setup = store
        .bodega
        .search_audit(&bodega::audit::AuditQuery { actor: Some("command line".into()), ..Default::default() })
        .await
        .expect("audit");
    assert!(setup.iter().any(|r| r.action == "manage_setup" && r.detail.contains("added: 'Nights'")), "{setup:?}");
    assert!(setup.iter().any(|r| r.action == "change_config" && r.detail.contains("version 0 -> 1")), "{setup:?}");
    assert!(setup.iter().any(|r| r.outcome == bodega::audit::Outcome::Failure && r.detail.contains("ends_local")));
}

#[tokio::test]
async fn the_demo_city_has_its_own_today_and_a_department_has_the_real_one() {
    let demo = test_app().await;
    add_user(&demo, "cmd", &[Role::Command], &[]).await;
    let cmd = sign_in(&demo, "cmd").await;
    let (status, options) = call_json(&demo, "/api/missions/shifts", serde_json::json!({}), &cmd).await;
    assert_eq!(status, StatusCode::OK, "{options}");
    assert_eq!(options["today"], "2020-12-31", "the demo's data end on 31 Dec 2020: the shift screens open there");
    let (_, me) = call_json(&demo, "/api/me", serde_json::json!({}), &cmd).await;
    assert_eq!(me["demo_today"], "2020-12-31");
    let (_, snapshot) = call_json(&demo, "/api/snapshot", serde_json::json!({ "date": "2020-11-30" }), &cmd).await;
    assert_eq!(snapshot["data_from"], "2020-01-01", "why 'vs last year' is empty");

    let own = empty_test_app().await;
    add_user(&own, "cmd", &[Role::Command], &[]).await;
    let cmd = sign_in(&own, "cmd").await;
    let (_, options) = call_json(&own, "/api/missions/shifts", serde_json::json!({}), &cmd).await;
    let today = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::get("America/Vancouver").expect("tz")).date();
    assert_eq!(options["today"], today.to_string(), "a department's own store runs on the calendar");
    let (_, me) = call_json(&own, "/api/me", serde_json::json!({}), &cmd).await;
    assert_eq!(me["demo_today"], serde_json::Value::Null);
}

#[tokio::test]
async fn an_administrator_imports_a_roster_all_or_nothing_and_the_checklist_follows() {
    let app = empty_test_app().await;
    add_user(&app, "adm", &[Role::Admin], &[]).await;
    let adm = sign_in(&app, "adm").await;
    bodega::districts::load_districts(
        &app.store.bodega,
        r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","properties":{"code":"D1","name":"Downtown"},"geometry":{"type":"Polygon",
             "coordinates":[[[-123.14,49.27],[-123.10,49.27],[-123.10,49.29],[-123.14,49.29],[-123.14,49.27]]]}},
            {"type":"Feature","properties":{"code":"D2","name":"East"},"geometry":{"type":"Polygon",
             "coordinates":[[[-123.10,49.25],[-123.06,49.25],[-123.06,49.28],[-123.10,49.28],[-123.10,49.25]]]}}]}"#,
        "district",
        "code",
        "name",
    )
    .await
    .expect("districts");
    let import = |csv: &str| call_json(&app, "/api/setup/roster_import", serde_json::json!({ "csv": csv }), &adm);

    // An unknown district and a squad without its sergeant: refused with line and column, and
    // nothing of the file stored (the clean rows neither).
    let (status, e) = import(
        "username,display_name,role,district,squad,badge\n\
         r.lee,Ofc Ray Lee,officer,D1,1A,5120\n\
         k.obi,Ofc Kemi Obi,officer,D7,,5121\n",
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["field"], "roster");
    let message = e["message"].as_str().expect("message");
    assert!(message.contains("line 2, squad: squad '1A' has no sergeant (lines 2)"), "{message}");
    assert!(message.contains("line 3, district: no district 'D7' (the districts are D1, D2)"), "{message}");
    assert!(app.store.bodega.user_by_username("r.lee").await.expect("read").is_none(), "nothing half-saved");

    // A clean roster: accounts, a squad with its sergeant, the checklist's step done.
    let (status, report) = import(
        "username,display_name,role,district,squad,badge,unit\n\
         s.diaz,Sgt Ana Diaz,sergeant,D1,1A,4411,1A10\n\
         r.lee,Ofc Ray Lee,officer,D1,1A,5120,1A11\n",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["created"], serde_json::json!(["s.diaz", "r.lee"]));
    let (_, after) = call_json(&app, "/api/setup/status", serde_json::json!({}), &adm).await;
    assert_eq!(step(&after, "accounts")["done"], true);
    assert_eq!(after["squads"][0]["code"], "1A");
    assert_eq!(after["squads"][0]["sergeant"], "Sgt Ana Diaz");
    assert_eq!(after["squads"][0]["members"], serde_json::json!(["Sgt Ana Diaz", "Ofc Ray Lee"]));
    // The audit says what the import did, and that the refused one failed.
    let audit = app
        .store
        .bodega
        .search_audit(&bodega::audit::AuditQuery { action: Some("manage_setup".into()), ..Default::default() })
        .await
        .expect("audit");
    let roster: Vec<_> = audit.iter().filter(|r| r.target == "roster").collect();
    assert_eq!(roster.len(), 2, "{audit:?}");
    assert_eq!(roster[0].detail, "2 accounts created, 0 updated; squads: 1A; units: 1A10, 1A11");
    assert_eq!(roster[1].outcome, bodega::audit::Outcome::Failure);

    // An imported account has no password until an administrator gives it a temporary one,
    // shown once; with it the officer signs in, and a second one ends the first's sessions.
    let (status, _, _) = call(&app.router, login_request("r.lee", "no-password-yet", serde_json::json!({}))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let temporary =
        |who: &str| call_json(&app, "/api/admin/temporary_password", serde_json::json!({ "username": who }), &adm);
    let (status, first) = temporary("r.lee").await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let password = first["password"].as_str().expect("password").to_string();
    let (status, headers, body) = call(&app.router, login_request("r.lee", &password, serde_json::json!({}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let officer = session_cookie(&headers).expect("session");
    let (status, mine) = call_json(&app, "/api/missions/my_proposals", serde_json::json!({}), &officer).await;
    assert_eq!(status, StatusCode::OK, "signed in: {mine}");
    let (_, second) = temporary("r.lee").await;
    assert_ne!(second["password"], first["password"]);
    let (status, _) = call_json(&app, "/api/missions/my_proposals", serde_json::json!({}), &officer).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the first password's session ended");
    let (status, _, _) = call(&app.router, login_request("r.lee", &password, serde_json::json!({}))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the first password no longer works");
    // Never one's own (that is `server user passwd`), never an unknown name; never logged.
    let (status, e) = temporary("adm").await;
    assert_eq!((status, e["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("username")), "{e}");
    let (status, _) = temporary("nobody").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Nor an account of the identity provider: a local password would go round it.
    let sso = bodega::accounts::NewUser {
        username: "sso.officer".into(),
        display_name: "Ofc Single Sign-On".into(),
        roles: vec![Role::Officer],
        districts: vec!["D1".into()],
        oidc: Some(("https://idp.example".into(), "subject-1".into())),
        ..Default::default()
    };
    app.store.bodega.create_user(&sso).await.expect("sso account");
    let (status, e) = temporary("sso.officer").await;
    assert_eq!((status, e["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("username")), "{e}");
    assert!(e.to_string().contains("identity provider"), "{e}");
    let audit = audit_of(&app, "manage_users").await;
    assert!(
        audit.iter().any(|r| r.target == "user r.lee" && r.detail.starts_with("temporary password set")),
        "{audit:?}"
    );
    assert!(audit.iter().all(|r| !r.detail.contains(&password)), "the password is never in the audit log");
}
