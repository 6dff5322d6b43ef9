//! Accounts, sessions, the authorization matrix, the audit log and the request guards, through
//! the router as a browser or a device meets them.

use std::collections::BTreeMap;

use protocol::Role;

use super::*;

/// Everyone the matrix asks on behalf of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Who {
    Anonymous,
    Officer,
    Sergeant,
    OtherDistrictSergeant,
    Command,
    Analyst,
    Admin,
}

const EVERYONE: [Who; 7] =
    [Who::Anonymous, Who::Officer, Who::Sergeant, Who::OtherDistrictSergeant, Who::Command, Who::Analyst, Who::Admin];

/// What a caller should get from an endpoint: one exact class each, so a role the policy
/// refuses can never pass for allowed with a 404 or a 422 its request earned past a missing gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Served: 2xx.
    Allowed,
    /// 401, or a page load sent to the sign-in screen (303 to `/signin`): sign in first.
    SignIn,
    /// 403: the policy says no.
    Forbidden,
    /// 404 past the gate: what the request names does not exist here.
    NotFound,
    /// 422 past the gate: the request was let through and its content refused.
    Invalid,
}

/// A row where `allowed` are served, everyone else signed in is refused, and anonymous callers
/// are sent to sign in.
fn only(allowed: &[Who]) -> Vec<(Who, Expect)> {
    EVERYONE
        .iter()
        .map(|w| match w {
            Who::Anonymous => (*w, Expect::SignIn),
            w if allowed.contains(w) => (*w, Expect::Allowed),
            w => (*w, Expect::Forbidden),
        })
        .collect()
}

/// `row` with every allowed caller's answer `class` instead (the gate passes them; the
/// request then earns that answer).
fn past_the_gate(row: &[(Who, Expect)], class: Expect) -> Vec<(Who, Expect)> {
    row.iter().map(|&(w, e)| (w, if e == Expect::Allowed { class } else { e })).collect()
}

/// The expected answer of every endpoint for every caller, written out by hand from the policy
/// the department signed off — not computed from it. An endpoint missing here fails the test.
fn expected_matrix() -> BTreeMap<&'static str, Vec<(Who, Expect)>> {
    use Expect::*;
    use Who::*;
    let public = EVERYONE.iter().map(|w| (*w, Allowed)).collect::<Vec<_>>();
    let mut m = BTreeMap::new();
    m.insert(
        "/api/city_overview",
        vec![
            (Anonymous, SignIn),
            (Officer, Allowed),
            (Sergeant, Allowed),
            (OtherDistrictSergeant, Allowed),
            (Command, Allowed),
            (Analyst, Allowed),
            (Admin, Forbidden),
        ],
    );
    let mission_readers = vec![
        (Anonymous, SignIn),
        (Officer, Allowed),
        (Sergeant, Allowed),
        (OtherDistrictSergeant, Allowed),
        (Command, Allowed),
        (Analyst, Allowed),
        (Admin, Forbidden),
    ];
    m.insert("/api/missions/menu", mission_readers.clone());
    // The map's basemap and outlines: whoever sees the overview.
    m.insert("/api/map", mission_readers.clone());
    m.insert("/api/missions/shifts", mission_readers.clone());
    m.insert("/api/missions/mine", mission_readers.clone());
    // Every role with missions syncs its device; administrators have nothing to sync.
    m.insert("/api/sync/push", mission_readers.clone());
    m.insert("/api/sync/pull", mission_readers.clone());
    // A supervisor's override, reported by the author's device: whoever syncs; the matrix's
    // device was never registered, so the report is refused past the gate (answered alike for
    // an unknown device and another user's).
    m.insert("/api/sync/override", past_the_gate(&mission_readers, Invalid));
    // A device's server-held key: whoever syncs (for their own device).
    m.insert("/api/device/key", mission_readers.clone());
    // A sealed state the matrix cannot seal: refused past the gate.
    m.insert("/api/sync/push-sealed", past_the_gate(&mission_readers, Invalid));
    // Supervisors' own override codes: sergeants (any district: it is their own) and command.
    m.insert(
        "/api/auth/override-code",
        vec![
            (Anonymous, SignIn),
            (Officer, Forbidden),
            (Sergeant, Allowed),
            (OtherDistrictSergeant, Allowed),
            (Command, Allowed),
            (Analyst, Forbidden),
            (Admin, Forbidden),
        ],
    );
    m.insert(
        "/api/missions/menu/save",
        vec![
            (Anonymous, SignIn),
            (Officer, Forbidden),
            (Sergeant, Forbidden),
            (OtherDistrictSergeant, Forbidden),
            (Command, Allowed),
            (Analyst, Allowed),
            (Admin, Forbidden),
        ],
    );
    // District D1's planning and board: its sergeant, command and analysts; not D2's sergeant.
    let d1_planners = vec![
        (Anonymous, SignIn),
        (Officer, Forbidden),
        (Sergeant, Allowed),
        (OtherDistrictSergeant, Forbidden),
        (Command, Allowed),
        (Analyst, Allowed),
        (Admin, Forbidden),
    ];
    m.insert("/api/missions/recommend", d1_planners.clone());
    m.insert("/api/missions/issue", d1_planners.clone());
    m.insert("/api/missions/board", d1_planners.clone());
    // D1's follow-up queue and outcomes: the same people. Acting on a mission whose officer
    // asked for no follow-up: past the gate, refused naming the field.
    m.insert("/api/missions/followups", d1_planners.clone());
    m.insert("/api/missions/outcomes", d1_planners.clone());
    m.insert("/api/missions/followup_act", past_the_gate(&d1_planners, Invalid));
    // Editing a D1 mission before acknowledgement: D1's planners, whose priority 9 is refused
    // past the gate naming the field.
    m.insert("/api/missions/edit", past_the_gate(&d1_planners, Invalid));
    // Proposing a mission in D1: D1's officers only; the matrix's proposal says nothing of why,
    // so it is refused past the gate naming the field.
    m.insert("/api/missions/propose", past_the_gate(&only(&[Officer]), Invalid));
    // One's own proposals: whoever reads missions.
    m.insert("/api/missions/my_proposals", mission_readers.clone());
    // Deciding a proposal nobody made: whoever plans anywhere gets past the gate to "not found";
    // officers and administrators do not.
    m.insert(
        "/api/missions/proposal_decide",
        vec![
            (Anonymous, SignIn),
            (Officer, Forbidden),
            (Sergeant, NotFound),
            (OtherDistrictSergeant, NotFound),
            (Command, NotFound),
            (Analyst, NotFound),
            (Admin, Forbidden),
        ],
    );
    // District D1's presence: the same people as its planning.
    m.insert("/api/presence", d1_planners);
    // A D1 mission's event log: D1's sergeant, command, analysts (the officer is not assigned).
    m.insert(
        "/api/missions/events",
        vec![
            (Anonymous, SignIn),
            (Officer, Forbidden),
            (Sergeant, Allowed),
            (OtherDistrictSergeant, Forbidden),
            (Command, Allowed),
            (Analyst, Allowed),
            (Admin, Forbidden),
        ],
    );
    // The Chief's Daily Snapshot: command staff and analysts; its files are exports (the same).
    let command_views = vec![
        (Anonymous, SignIn),
        (Officer, Forbidden),
        (Sergeant, Forbidden),
        (OtherDistrictSergeant, Forbidden),
        (Command, Allowed),
        (Analyst, Allowed),
        (Admin, Forbidden),
    ];
    m.insert("/api/snapshot", command_views.clone());
    // The crime view: everyone who sees hot spots (incident points are a further check inside).
    m.insert("/api/crime", mission_readers.clone());
    m.insert("/api/crime/cell", mission_readers.clone());
    m.insert("/api/accuracy", mission_readers.clone());
    // The device's hot-spot inputs (aggregates only): everyone who sees hot spots.
    m.insert("/api/field_cache", mission_readers.clone());
    // Live updates (a change counter, no data) for whoever sees hot spots.
    m.insert("/api/live", mission_readers.clone());
    m.insert("/snapshot/{file}", command_views);
    // Loading data: analysts only.
    m.insert(
        "/api/ingest/{kind}",
        vec![
            (Anonymous, SignIn),
            (Officer, Forbidden),
            (Sergeant, Forbidden),
            (OtherDistrictSergeant, Forbidden),
            (Command, Forbidden),
            (Analyst, Allowed),
            (Admin, Forbidden),
        ],
    );
    // The audit log, accounts and devices: administrators only.
    for path in ["/api/admin/audit", "/api/admin/accounts", "/api/admin/account", "/api/admin/devices"] {
        m.insert(path, only(&[Admin]));
    }
    // A temporary password for an account nobody made: past the gate, not found.
    m.insert("/api/admin/temporary_password", past_the_gate(&only(&[Admin]), NotFound));
    // A department's setup: its shifts are the administrators'; its dosage rules are command's.
    for path in ["/api/setup/status", "/api/setup/shift_save"] {
        m.insert(path, only(&[Admin]));
    }
    // Removing a shift the matrix names but nobody added: past the gate, not found.
    m.insert("/api/setup/shift_remove", past_the_gate(&only(&[Admin]), NotFound));
    // A roster naming a district nobody loaded: past the gate, refused by line and column.
    m.insert("/api/setup/roster_import", past_the_gate(&only(&[Admin]), Invalid));
    // Choosing a harm table nobody loaded: past the gate, refused naming the table.
    m.insert("/api/setup/harm_choose", past_the_gate(&only(&[Admin]), Invalid));
    // Which ranking plans the shifts is command's to re-run (the backtest on the demo: seconds).
    for path in ["/api/setup/rules", "/api/setup/rules_save", "/api/accuracy/backtest"] {
        m.insert(path, only(&[Command]));
    }
    // Revoking a device the matrix names but nobody registered: past the gate, not found.
    m.insert("/api/admin/device_revoke", past_the_gate(&only(&[Admin]), NotFound));
    // Acknowledging a D1 mission: only D1's sergeant.
    m.insert(
        "/api/missions/transition",
        vec![
            (Anonymous, SignIn),
            (Officer, Forbidden),
            (Sergeant, Allowed),
            (OtherDistrictSergeant, Forbidden),
            (Command, Forbidden),
            (Analyst, Forbidden),
            (Admin, Forbidden),
        ],
    );
    for path in ["/api/me", "/api/sign_in_options", "/healthz", "/readyz", "/sw.js", "/shell", "/api/auth/logout"] {
        m.insert(path, public.clone());
    }
    // Public, and not here: the test server has no identity provider and no basemap (a basemap
    // holds no police data: public like the site's other static files).
    for path in ["/api/auth/oidc/start", "/api/auth/oidc/callback", "/maps/{version}/basemap.pmtiles"] {
        m.insert(path, past_the_gate(&public, NotFound));
    }
    // Anyone may try to sign in; the matrix's wrong password is 401 for anyone.
    m.insert("/api/auth/login", past_the_gate(&public, SignIn));
    // The screens, written out from the policy by hand: anonymous page loads go to the sign-in
    // screen; a role that may not use a screen gets it answered 403.
    let patrol = [Officer, Sergeant, OtherDistrictSergeant];
    let everyone_signed_in = [Officer, Sergeant, OtherDistrictSergeant, Command, Analyst, Admin];
    let hot_spot_readers = [Officer, Sergeant, OtherDistrictSergeant, Command, Analyst];
    let planners = [Sergeant, OtherDistrictSergeant, Command, Analyst];
    m.insert("/", only(&everyone_signed_in));
    m.insert("/signin", public.clone());
    m.insert("/missions", only(&patrol));
    m.insert("/board", only(&[Sergeant, OtherDistrictSergeant]));
    m.insert("/plan", only(&planners));
    m.insert("/menu", only(&[Command, Analyst]));
    m.insert("/crime", only(&hot_spot_readers));
    m.insert("/places", only(&hot_spot_readers));
    m.insert("/accuracy", only(&hot_spot_readers));
    m.insert("/presence", only(&planners));
    m.insert("/followups", only(&planners));
    m.insert("/outcomes", only(&planners));
    m.insert("/snapshot", only(&[Command, Analyst]));
    m.insert("/upload", only(&[Analyst]));
    for path in ["/admin/users", "/admin/devices", "/admin/audit", "/setup"] {
        m.insert(path, only(&[Admin]));
    }
    m.insert("/rules", only(&[Command]));
    m
}

async fn sessions_for_everyone(app: &TestApp) -> BTreeMap<Who, Option<String>> {
    add_user(app, "off1", &[Role::Officer], &["D1"]).await;
    add_user(app, "sgt1", &[Role::Sergeant], &["D1"]).await;
    add_user(app, "sgt2", &[Role::Sergeant], &["D2"]).await;
    add_user(app, "cmd", &[Role::Command], &[]).await;
    add_user(app, "ana", &[Role::Analyst], &[]).await;
    add_user(app, "adm", &[Role::Admin], &[]).await;
    let mut out = BTreeMap::new();
    out.insert(Who::Anonymous, None);
    for (who, name) in [
        (Who::Officer, "off1"),
        (Who::Sergeant, "sgt1"),
        (Who::OtherDistrictSergeant, "sgt2"),
        (Who::Command, "cmd"),
        (Who::Analyst, "ana"),
        (Who::Admin, "adm"),
    ] {
        out.insert(who, Some(sign_in(app, name).await));
    }
    out
}

/// A well-formed body for each JSON server function: the gate, not the decoder, must answer.
fn json_body(path: &str) -> Option<serde_json::Value> {
    let d1 = serde_json::json!({ "district": "D1", "shift": "B", "shift_date": "2020-12-15" });
    Some(match path {
        "/api/missions/menu" => serde_json::json!({ "include_retired": false }),
        "/api/missions/shifts" | "/api/missions/mine" | "/api/field_cache" | "/api/auth/override-code" => {
            serde_json::json!({})
        }
        "/api/sync/override" => {
            serde_json::json!({ "device_id": "matrix", "supervisor": "nobody", "at": 0, "pending": 1 })
        }
        "/api/missions/recommend" | "/api/missions/board" => serde_json::json!({ "shift": d1 }),
        "/api/missions/transition" => serde_json::json!({ "id": MATRIX_MISSION, "step": "acknowledge", "args": {} }),
        "/api/missions/events" => serde_json::json!({ "id": MATRIX_MISSION }),
        "/api/missions/followups" => serde_json::json!({ "district": "D1" }),
        "/api/missions/my_proposals" => serde_json::json!({}),
        "/api/missions/edit" => serde_json::json!({ "change": { "id": MATRIX_MISSION, "expected_version": 1,
            "template_id": 1, "priority": 9, "instructions": "", "place_label": "matrix", "window": null } }),
        "/api/missions/propose" => serde_json::json!({ "draft": { "district": "D1", "template_id": 1,
            "place": { "kind": "point", "lat": 49.28, "lon": -123.12, "radius_m": 50.0 }, "place_label": "",
            "why": "" } }),
        "/api/missions/proposal_decide" => serde_json::json!({ "decision": { "proposal_id": 999_999,
            "approve": false, "new_id": "", "shift": d1, "reason": "matrix" } }),
        "/api/missions/outcomes" => {
            serde_json::json!({ "district": "D1", "from": "2020-12-01", "to": "2020-12-31", "by": "template" })
        }
        "/api/missions/followup_act" => serde_json::json!({ "action": { "mission_id": MATRIX_MISSION,
            "new_id": "0193b3c4-0000-7000-8000-00000000mx01", "new_mission": false, "template_id": null,
            "shift": null, "shift_date": null, "reason": "matrix" } }),
        "/api/admin/audit" => serde_json::json!({ "search": {} }),
        "/api/admin/accounts" | "/api/admin/devices" => serde_json::json!({}),
        "/api/admin/account" => serde_json::json!({ "change": {
            "username": "off1", "roles": ["officer"], "districts": ["D1"], "active": true, "unlock": false } }),
        "/api/admin/temporary_password" => serde_json::json!({ "username": "no-such-account" }),
        "/api/admin/device_revoke" => serde_json::json!({ "id": "no-such-device", "reason": "matrix" }),
        "/api/snapshot" => serde_json::json!({ "date": "2020-11-30" }),
        "/api/setup/status" | "/api/setup/rules" | "/api/accuracy/backtest" => serde_json::json!({}),
        "/api/setup/shift_save" => serde_json::json!({ "editing": null, "shift": {
            "code": "MX", "name": "Matrix watch", "starts_local": "07:00", "ends_local": "15:00", "days": 127 } }),
        "/api/setup/shift_remove" => serde_json::json!({ "code": "no-such-shift" }),
        "/api/setup/harm_choose" => serde_json::json!({ "label": "no-such-table@1" }),
        "/api/setup/roster_import" => serde_json::json!({
            "csv": "username,display_name,role,district\nmx.one,Matrix One,officer,ZZ\n" }),
        "/api/setup/rules_save" => serde_json::json!({ "expected_version": 0, "rules": {
            "koper_min_minutes": 10, "koper_max_minutes": 16, "target_visits": 3, "cap_visits": 6,
            "cap_minutes": 90, "places_per_shift": 20 } }),
        "/api/presence" => serde_json::json!({ "shift": d1 }),
        "/api/accuracy" => serde_json::json!({ "end": "2020-12-31", "periods": 1 }),
        "/api/crime" => serde_json::json!({ "query": { "end": "2020-11-30", "days": 7 } }),
        "/api/crime/cell" => {
            serde_json::json!({ "query": { "end": "2020-11-30", "days": 7 }, "ix": 3275, "iy": 36391 })
        }
        _ => return None,
    })
}

/// The D1 mission the matrix tries to acknowledge.
const MATRIX_MISSION: &str = "0193b3c4-0000-7000-8000-00000000aaaa";

async fn issue_matrix_mission(app: &TestApp) {
    let cmd = add_user(app, "matrix-cmd", &[Role::Command], &[]).await;
    issue_test_mission(app, MATRIX_MISSION, cmd, false).await;
}

/// A JSON server-function call.
pub(crate) fn json_call(path: &str, body: &serde_json::Value, cookie: Option<&str>) -> Request<Body> {
    let req = Request::post(path)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .expect("request");
    match cookie {
        Some(c) => with_cookie(req, c),
        None => req,
    }
}

fn request_for(path: &str, cookie: Option<&str>) -> Request<Body> {
    // Each caller syncs its own device (a device belongs to one user).
    let device = format!("matrix-{}", cookie.map_or("anon", |c| &c[c.len() - 12..]));
    if path == "/api/sync/push" {
        let body = serde_json::json!({ "schema_version": 1, "device_id": device, "mutations": [] });
        return json_call(path, &body, cookie);
    }
    if path == "/api/sync/push-sealed" {
        let sealed = serde_json::json!({ "iv": "00", "ct": "00" });
        let body = serde_json::json!({ "device_id": device, "key": sealed, "state": sealed });
        return json_call(path, &body, cookie);
    }
    // Each allowed caller issues a mission of its own and saves a template of its own name, so
    // "allowed" is a real success, not a refusal of the request's content.
    if path == "/api/missions/issue" {
        let id: String = format!("0193b3c4-0000-7000-8000-{:0>12}", &device[device.len().saturating_sub(12)..]);
        let item = serde_json::json!({ "id": id, "template_id": 1,
            "place": { "kind": "point", "lat": 49.28, "lon": -123.12, "radius_m": 100.0 },
            "place_label": "Matrix corner", "priority": 2, "instructions": "", "reason": "" });
        let d1 = serde_json::json!({ "district": "D1", "shift": "B", "shift_date": "2020-12-15" });
        return json_call(path, &serde_json::json!({ "shift": d1, "items": [item] }), cookie);
    }
    if path == "/api/missions/menu/save" {
        let draft = serde_json::json!({ "name": format!("Matrix check {device}"), "goal": "g", "tactic": "directed_patrol",
            "dwell_minutes": 15, "visits_per_shift": 1, "crime_types": [], "outcome_fields": [], "evidence_note": "",
            "active": true });
        return json_call(path, &serde_json::json!({ "key": null, "expected_version": null, "draft": draft }), cookie);
    }
    if path == "/api/device/key" {
        return json_call(path, &serde_json::json!({ "device_id": device }), cookie);
    }
    if path == "/api/sync/pull" {
        let req = get(&format!("/api/sync/pull?cookie=0&device_id={device}"));
        return match cookie {
            Some(c) => with_cookie(req, c),
            None => req,
        };
    }
    if path == "/snapshot/{file}" || path == "/api/live" || path.starts_with("/api/auth/oidc/") {
        let req = get(if path == "/snapshot/{file}" { "/snapshot/2020-11-30.csv" } else { path });
        return match cookie {
            Some(c) => with_cookie(req, c),
            None => req,
        };
    }
    if path == "/api/ingest/{kind}" {
        // A dry run: the matrix changes nothing.
        let req = Request::post("/api/ingest/incidents?file_name=matrix.csv&dry_run=true")
            .header(header::CONTENT_TYPE, "text/csv")
            .body(Body::from("id,occurred_at,offense,category,lat,lon\nm-1,2020-05-01T10:00,Mischief,,49.28,-123.12\n"))
            .expect("request");
        return match cookie {
            Some(c) => with_cookie(req, c),
            None => req,
        };
    }
    if let Some(body) = json_body(path) {
        return json_call(path, &body, cookie);
    }
    let is_server_fn = app::endpoints().iter().any(|(p, _)| *p == path);
    let req = if is_server_fn {
        return server_fn(path, cookie);
    } else if path == "/api/auth/login" {
        // A name per caller: five failures for one name from one client lock it there.
        login_request(&format!("nobody-{device}"), "wrong password", serde_json::json!({}))
    } else if path.starts_with("/api/") {
        Request::post(path).body(Body::empty()).expect("request")
    } else {
        get(path)
    };
    match cookie {
        Some(c) => with_cookie(req, c),
        None => req,
    }
}

#[tokio::test]
async fn every_endpoint_answers_every_role_as_the_policy_says() {
    let app = test_app().await;
    let matrix = expected_matrix();
    // Every server function the binary registers, and every other route, has an entry.
    for (path, _method) in leptos::server_fn::axum::server_fn_paths() {
        assert!(app::endpoints().iter().any(|(p, _)| *p == path), "{path} has no policy entry in app::endpoints()");
        assert!(matrix.contains_key(path), "{path} has no row in the authorization matrix test");
    }
    for (path, _, _) in server::router::routes() {
        assert!(matrix.contains_key(path), "{path} has no row in the authorization matrix test");
    }
    let screens: Vec<String> = server::router::route_list().iter().map(|r| r.path().to_string()).collect();
    for path in &screens {
        assert!(app::auth::PAGES.iter().any(|p| p.path == path), "the screen {path} has no entry in app::auth::PAGES");
        assert!(matrix.contains_key(path.as_str()), "the screen {path} has no row in the authorization matrix test");
    }
    for page in app::auth::PAGES {
        assert!(screens.iter().any(|s| s == page.path), "app::auth::PAGES names {}, which is no route", page.path);
    }
    let sessions = sessions_for_everyone(&app).await;
    issue_matrix_mission(&app).await;
    let mut failures = Vec::new();
    // Signing out ends the sessions the other rows need: that row goes last.
    let mut rows: Vec<_> = matrix.iter().collect();
    rows.sort_by_key(|(path, _)| **path == "/api/auth/logout");
    for (path, row) in rows {
        assert_eq!(row.len(), EVERYONE.len(), "{path}: a row must say what every caller gets");
        for (who, expect) in row {
            let cookie = sessions[who].as_deref();
            // The live stream never ends: its status is all there is to read.
            // Each call is bounded, so an answer that never comes fails naming its route instead
            // of holding the whole run.
            let answer = tokio::time::timeout(std::time::Duration::from_secs(60), async {
                if *path == "/api/live" {
                    let resp = app.router.clone().oneshot(request_for(path, cookie)).await.expect("infallible");
                    (resp.status(), resp.headers().clone(), String::new())
                } else {
                    call(&app.router, request_for(path, cookie)).await
                }
            })
            .await;
            let Ok((status, headers, body)) = answer else {
                failures.push(format!("{path} as {who:?}: no answer within 60 s"));
                continue;
            };
            let to_sign_in =
                headers.get(header::LOCATION).and_then(|l| l.to_str().ok()).is_some_and(|l| l.starts_with("/signin?"));
            let got = match status {
                s if s.is_success() => Expect::Allowed,
                StatusCode::UNAUTHORIZED => Expect::SignIn,
                StatusCode::SEE_OTHER if to_sign_in => Expect::SignIn,
                StatusCode::FORBIDDEN => Expect::Forbidden,
                StatusCode::NOT_FOUND => Expect::NotFound,
                StatusCode::UNPROCESSABLE_ENTITY => Expect::Invalid,
                StatusCode::BAD_REQUEST => {
                    failures.push(format!("{path} as {who:?}: the test's request did not decode: {body:.200}"));
                    continue;
                }
                other => {
                    failures.push(format!("{path} as {who:?}: expected {expect:?}, got {other} {body:.200}"));
                    continue;
                }
            };
            if got != *expect {
                failures.push(format!("{path} as {who:?}: expected {expect:?}, got {status} {body:.200}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn a_sign_in_rotates_the_session_and_sets_a_guarded_cookie() {
    let app = test_app().await;
    add_user(&app, "off1", &[Role::Officer], &["D1"]).await;
    // A planted cookie (fixation) is never adopted: the sign-in issues its own.
    let planted = format!("beatbook_session={}", "ab".repeat(32));
    let req = with_cookie(login_request("off1", PASSWORD, serde_json::json!({})), &planted);
    let (status, headers, body) = call(&app.router, req).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let set = headers[header::SET_COOKIE].to_str().expect("ascii").to_string();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Path=/"), "{set}");
    let first = session_cookie(&headers).expect("cookie");
    assert_ne!(first, planted);
    let me: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(me["me"]["username"], "off1");
    assert_eq!(me["me"]["roles"], serde_json::json!(["officer"]));
    // Signing in again with a live session ends the old one.
    let (_, headers, _) =
        call(&app.router, with_cookie(login_request("off1", PASSWORD, serde_json::json!({})), &first)).await;
    let second = session_cookie(&headers).expect("cookie");
    assert_ne!(first, second);
    assert_eq!(call(&app.router, server_fn("/api/city_overview", Some(&first))).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(call(&app.router, server_fn("/api/city_overview", Some(&second))).await.0, StatusCode::OK);
    // Signing out ends it too, and clears the cookie.
    let (status, headers, _) =
        call(&app.router, with_cookie(Request::post("/api/auth/logout").body(Body::empty()).expect("req"), &second))
            .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(headers[header::SET_COOKIE].to_str().expect("ascii").contains("Max-Age=0"));
    assert_eq!(call(&app.router, server_fn("/api/city_overview", Some(&second))).await.0, StatusCode::UNAUTHORIZED);
}

async fn age_session(app: &TestApp, column: &str, seconds: i64) {
    let sql = format!("UPDATE sessions SET {column} = {column} - {seconds}");
    bodega::on_pool!(&app.store.bodega, pool => sqlx::query(sqlx::AssertSqlSafe(sql)).execute(pool).await.map(|_| ()))
        .expect("age the session");
}

#[tokio::test]
async fn an_idle_session_locks_and_an_expired_one_ends() {
    let app = test_app().await;
    add_user(&app, "off1", &[Role::Officer], &["D1"]).await;
    let cookie = sign_in(&app, "off1").await;
    age_session(&app, "last_seen_at", 29 * 60).await;
    assert_eq!(
        call(&app.router, server_fn("/api/city_overview", Some(&cookie))).await.0,
        StatusCode::OK,
        "29 min idle is fine"
    );
    age_session(&app, "last_seen_at", 31 * 60).await;
    let (status, _, body) = call(&app.router, server_fn("/api/city_overview", Some(&cookie))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("30 minutes without activity"), "{body}");
    // A page load is sent to the sign-in screen, saying why and where it was going.
    let (status, headers, _) = call(&app.router, with_cookie(get("/places"), &cookie)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/signin?next=/places");

    let cookie = sign_in(&app, "off1").await;
    age_session(&app, "expires_at", 13 * 3600).await;
    let (status, _, body) = call(&app.router, server_fn("/api/city_overview", Some(&cookie))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("end of its shift"), "{body}");
}

#[tokio::test]
async fn a_revoked_device_is_refused_and_cannot_sign_in_again() {
    let app = test_app().await;
    add_user(&app, "off1", &[Role::Officer], &["D1"]).await;
    let device = "0193b3c4-7d1e-7000-8000-00000000d001";
    let req = login_request("off1", PASSWORD, serde_json::json!({ "device_id": device }));
    let (status, headers, body) = call(&app.router, req).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let cookie = session_cookie(&headers).expect("cookie");
    let registered = app.store.bodega.device(device).await.expect("query").expect("registered");
    assert!(registered.revoked_at.is_none());
    assert!(app.store.bodega.revoke_device(device, None, "lost phone").await.expect("revoke"));
    assert_eq!(call(&app.router, server_fn("/api/city_overview", Some(&cookie))).await.0, StatusCode::UNAUTHORIZED);
    let (status, _, body) =
        call(&app.router, login_request("off1", PASSWORD, serde_json::json!({ "device_id": device }))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("device_revoked"), "{body}");
    // Another user cannot take the device over either.
    add_user(&app, "off2", &[Role::Officer], &["D1"]).await;
    let (status, _, _) =
        call(&app.router, login_request("off2", PASSWORD, serde_json::json!({ "device_id": device }))).await;
    assert_eq!(status, StatusCode::CONFLICT);
}

/// `request` as if it came from `ip` (the server reads the peer address).
fn from_client(mut request: Request<Body>, ip: &str) -> Request<Body> {
    let addr = std::net::SocketAddr::new(ip.parse().expect("ip"), 40_000);
    request.extensions_mut().insert(axum::extract::ConnectInfo(addr));
    request
}

/// Five failures lock a name on the client they came from — whether or not the name exists,
/// with one answer, so the lock tells no one which names exist — and only there: the officer
/// signs in from their own device. Failures from all clients together lock the account at the
/// account-wide cap and alert the administrators; an administrator clears it.
#[tokio::test]
async fn failures_lock_a_name_on_one_client_and_the_account_only_at_the_cap() {
    let cap = 12;
    let mut settings = server::config::Settings::default();
    settings.auth.account_lock_after_failures = cap;
    settings.auth.failures_per_minute = 1_000; // the rate limit is its own test
    let app = test_app_with(settings).await;
    let id = add_user(&app, "off1", &[Role::Officer], &["D1"]).await;
    let attempt = |name: &str, password: &str, ip: &str| {
        let request = from_client(login_request(name, password, serde_json::json!({})), ip);
        let router = app.router.clone();
        async move { call(&router, request).await }
    };
    for n in 1..=5 {
        let (status, _, body) = attempt("off1", "wrong password!", "198.51.100.1").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {n}: {body}");
        assert!(body.contains("wrong username or password"), "{body}");
        let (status, _, body) = attempt("nobody-here", "wrong password!", "198.51.100.1").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "unknown name, attempt {n}: {body}");
    }
    let (status, _, known) = attempt("off1", PASSWORD, "198.51.100.1").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "locked on that client even with the right password: {known}");
    assert!(known.contains("too many failed sign-ins"), "{known}");
    let (status, _, unknown) = attempt("nobody-here", "any password", "198.51.100.1").await;
    assert_eq!((status, &unknown), (StatusCode::FORBIDDEN, &known), "an unknown name is answered the same");
    let (status, _, body) = attempt("off1", PASSWORD, "203.0.113.9").await;
    assert_eq!(status, StatusCode::OK, "the officer's own device is not locked out: {body}");
    let user = app.store.bodega.user_by_id(id).await.expect("query").expect("user");
    assert_eq!((user.failed_logins, user.locked_until), (0, None), "a success resets the account's count");

    // Failures spread over many clients lock the account everywhere at the cap, with an alert.
    for n in 0..cap {
        let (status, _, body) = attempt("off1", "wrong password!", &format!("192.0.2.{}", n % 4 + 1)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "failure {n}: {body}");
    }
    let (status, _, body) = attempt("off1", PASSWORD, "203.0.113.10").await;
    assert_eq!((status, &body), (StatusCode::FORBIDDEN, &known), "locked everywhere, the same answer");
    let alerts = app
        .store
        .bodega
        .search_audit(&bodega::audit::AuditQuery { action: Some("account_locked".into()), ..Default::default() })
        .await
        .expect("audit");
    assert_eq!(alerts.len(), 1, "one alert for the administrators");
    assert!(alerts[0].detail.contains(&format!("{cap} consecutive failed sign-ins")), "{}", alerts[0].detail);
    app.store.bodega.unlock_user(id).await.expect("unlock");
    let (status, _, _) = attempt("off1", PASSWORD, "203.0.113.10").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_spray_of_failures_is_rate_limited_with_retry_after() {
    let app = test_app().await;
    add_user(&app, "off1", &[Role::Officer], &["D1"]).await;
    // Ten different names from one address: each fails once (no account lockout involved).
    for n in 0..10 {
        let (status, _, _) =
            call(&app.router, login_request(&format!("guess{n}"), "hunter2hunter2", serde_json::json!({}))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, headers, body) = call(&app.router, login_request("off1", PASSWORD, serde_json::json!({}))).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    let wait: u64 = headers[header::RETRY_AFTER].to_str().expect("ascii").parse().expect("seconds");
    assert!((1..=60).contains(&wait), "{wait}");
}

/// Forty wrong passwords for one account fired at once. The account locks after five
/// consecutive failures, and only a few sign-ins are checked at a time with the limits read
/// under that turn, so the burst gets about as many real tries as the same guesses one by one:
/// before, every request passed the checks before the first failure was recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_parallel_guesses_gets_no_more_tries_than_the_lockout_allows() {
    let app = test_app().await;
    add_user(&app, "off1", &[Role::Officer], &["D1"]).await;
    let guesses = (0..40).map(|n| {
        let router = app.router.clone();
        tokio::spawn(async move {
            call(&router, login_request("off1", &format!("wrong-guess-{n}"), serde_json::json!({}))).await.0
        })
    });
    let mut checked = 0;
    for guess in guesses.collect::<Vec<_>>() {
        let status = guess.await.expect("task");
        assert!(
            [StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN, StatusCode::TOO_MANY_REQUESTS].contains(&status),
            "{status}"
        );
        checked += usize::from(status == StatusCode::UNAUTHORIZED);
    }
    let most = 5 + server::auth::password::sign_in_turns() - 1;
    assert!((5..=most).contains(&checked), "{checked} passwords checked; at most {most} may be");
    let failures =
        audit_rows(&app, "sign_in").await.iter().filter(|r| r.detail.contains("consecutive failures")).count();
    assert_eq!(failures, checked, "each password checked is one failure on record");
}

#[tokio::test]
async fn second_factor_is_required_once_enrolled() {
    let app = test_app().await;
    let id = add_user(&app, "adm", &[Role::Admin], &[]).await;
    let secret = totp_rs::Secret::Raw(b"0123456789abcdefghij".to_vec());
    app.store.bodega.set_totp_secret(id, Some(&secret.to_encoded().to_string())).await.expect("enrol");
    let (status, _, body) = call(&app.router, login_request("adm", PASSWORD, serde_json::json!({}))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("totp_required"), "{body}");
    let (status, _, _) =
        call(&app.router, login_request("adm", PASSWORD, serde_json::json!({ "totp": "000000" }))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let totp = totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, secret.to_bytes().expect("bytes")).expect("totp");
    let code = totp.generate_current().expect("clock");
    let (status, _, body) =
        call(&app.router, login_request("adm", PASSWORD, serde_json::json!({ "totp": code }))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn audit_rows(app: &TestApp, action: &str) -> Vec<bodega::audit::AuditRecord> {
    let q = bodega::audit::AuditQuery { action: Some(action.into()), ..Default::default() };
    app.store.bodega.search_audit(&q).await.expect("search audit")
}

#[tokio::test]
async fn each_audited_action_leaves_exactly_one_record() {
    let app = test_app().await;
    add_user(&app, "adm", &[Role::Admin], &[]).await;
    add_user(&app, "off1", &[Role::Officer], &["D1"]).await;
    let cookie = sign_in(&app, "off1").await;
    let signins = audit_rows(&app, "sign_in").await;
    assert_eq!(signins.len(), 1, "{signins:?}");
    assert_eq!((signins[0].actor.as_str(), signins[0].outcome.as_str()), ("off1", "success"));

    call(&app.router, login_request("off1", "not the password", serde_json::json!({}))).await;
    let failures: Vec<_> = audit_rows(&app, "sign_in")
        .await
        .into_iter()
        .filter(|r| r.outcome == bodega::audit::Outcome::Failure)
        .collect();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].detail, "1 consecutive failures");

    // Denied: an administrator reading crime data, and an anonymous caller.
    let admin = sign_in(&app, "adm").await;
    assert_eq!(call(&app.router, server_fn("/api/city_overview", Some(&admin))).await.0, StatusCode::FORBIDDEN);
    assert_eq!(call(&app.router, server_fn("/api/city_overview", None)).await.0, StatusCode::UNAUTHORIZED);
    let denied = audit_rows(&app, "view_overview").await;
    assert_eq!(denied.len(), 2, "{denied:?}");
    let mut actors: Vec<(&str, &str)> = denied.iter().map(|r| (r.actor.as_str(), r.outcome.as_str())).collect();
    actors.sort();
    assert_eq!(actors, [("adm", "denied"), ("anonymous", "denied")]);

    // An allowed aggregate read is not an audited action; signing out is.
    assert_eq!(call(&app.router, server_fn("/api/city_overview", Some(&cookie))).await.0, StatusCode::OK);
    assert_eq!(audit_rows(&app, "view_overview").await.len(), 2);
    call(&app.router, with_cookie(Request::post("/api/auth/logout").body(Body::empty()).expect("req"), &cookie)).await;
    let out = audit_rows(&app, "sign_out").await;
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].actor, "off1");

    // No secret ever reaches the log.
    let all = app.store.bodega.search_audit(&bodega::audit::AuditQuery::default()).await.expect("search");
    for r in &all {
        let text = format!("{r:?}");
        assert!(!text.contains(PASSWORD) && !text.contains("not the password"), "{text}");
        assert!(!text.contains(cookie.trim_start_matches("beatbook_session=")), "a session token leaked: {text}");
    }
}

#[tokio::test]
async fn the_audit_log_is_append_only_and_kept_a_year() {
    let app = test_app().await;
    add_user(&app, "off1", &[Role::Officer], &["D1"]).await;
    sign_in(&app, "off1").await;
    let b = &app.store.bodega;
    let update = bodega::on_writer!(b, pool => sqlx::query("UPDATE audit_log SET outcome = 'denied'").execute(pool).await.map(|_| ()));
    assert!(update.is_err(), "updates are refused");
    let delete = bodega::on_writer!(b, pool => sqlx::query("DELETE FROM audit_log").execute(pool).await.map(|_| ()));
    assert!(delete.is_err(), "records younger than a year cannot be deleted");
    assert_eq!(b.purge_audit_older_than(30).await.expect("purge keeps a year regardless"), 0);
    assert_eq!(audit_rows(&app, "sign_in").await.len(), 1);
}

#[tokio::test]
async fn pages_carry_a_nonce_based_content_security_policy() {
    let app = test_app().await;
    let cookie = analyst_session(&app).await;
    let (status, headers, html) = call(&app.router, with_cookie(get("/"), &cookie)).await;
    assert_eq!(status, StatusCode::OK);
    let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().expect("ascii").to_string();
    assert!(csp.contains("'wasm-unsafe-eval'") && csp.contains("'strict-dynamic'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("object-src 'none'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    let nonce = csp.split("'nonce-").nth(1).and_then(|r| r.split('\'').next()).expect("a nonce in the policy");
    assert!(nonce.len() >= 16);
    assert!(html.contains(&format!("nonce=\"{nonce}\"")), "the page's inline scripts carry the policy's nonce");
    // Another request gets another nonce.
    let (_, again, _) = call(&app.router, with_cookie(get("/"), &cookie)).await;
    assert_ne!(again[header::CONTENT_SECURITY_POLICY], headers[header::CONTENT_SECURITY_POLICY]);
    // API answers get the locked-down policy, and nobody may frame anything.
    let (_, headers, _) = call(&app.router, server_fn("/api/city_overview", Some(&cookie))).await;
    assert!(headers[header::CONTENT_SECURITY_POLICY].to_str().expect("ascii").starts_with("default-src 'none'"));
    assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
    // The offline shell names the nonce its scripts carry.
    let (_, headers, shell) = call(&app.router, get("/shell")).await;
    let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().expect("ascii");
    let nonce = csp.split("'nonce-").nth(1).and_then(|r| r.split('\'').next()).expect("nonce");
    assert!(shell.contains(&format!("nonce=\"{nonce}\"")));
    // Plain HTTP without a trusted proxy: no HSTS (it would be ignored, and wrong).
    assert!(!headers.contains_key(header::STRICT_TRANSPORT_SECURITY));
}

#[tokio::test]
async fn cross_site_state_changes_are_refused() {
    let app = test_app().await;
    add_user(&app, "off1", &[Role::Officer], &["D1"]).await;
    let cross = login_request("off1", PASSWORD, serde_json::json!({}));
    let mut cross = cross;
    cross.headers_mut().insert("sec-fetch-site", "cross-site".parse().expect("header"));
    let (status, headers, body) = call(&app.router, cross).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(session_cookie(&headers).is_none());
    let mut foreign = login_request("off1", PASSWORD, serde_json::json!({}));
    foreign.headers_mut().insert(header::ORIGIN, "https://evil.example".parse().expect("header"));
    foreign.headers_mut().insert(header::HOST, "beatbook.local".parse().expect("header"));
    assert_eq!(call(&app.router, foreign).await.0, StatusCode::FORBIDDEN);
    let mut same = login_request("off1", PASSWORD, serde_json::json!({}));
    same.headers_mut().insert(header::ORIGIN, "https://beatbook.local".parse().expect("header"));
    same.headers_mut().insert(header::HOST, "beatbook.local".parse().expect("header"));
    same.headers_mut().insert("sec-fetch-site", "same-origin".parse().expect("header"));
    assert_eq!(call(&app.router, same).await.0, StatusCode::OK);
}

#[tokio::test]
async fn the_sign_in_form_works_without_the_app_and_keeps_the_destination() {
    let app = test_app().await;
    add_user(&app, "off1", &[Role::Officer], &["D1"]).await;
    let (status, headers, _) = call(&app.router, get("/places")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/signin?next=/places");
    let (status, _, html) = call(&app.router, get("/signin?next=/places")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"action="/api/auth/login""#), "{html:.400}");
    let form = |password: &str| {
        Request::post("/api/auth/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("username=off1&password={}&next=%2Fplaces", password.replace(' ', "+"))))
            .expect("request")
    };
    let (status, headers, _) = call(&app.router, form("nope nope nope")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/signin?error=bad_credentials&next=/places");
    let (status, headers, _) = call(&app.router, form(PASSWORD)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/places");
    let cookie = session_cookie(&headers).expect("cookie");
    let (status, _, html) = call(&app.router, with_cookie(get("/places"), &cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Test off1"), "the header says who is signed in");
}

#[tokio::test]
async fn administrators_search_the_audit_log_and_the_search_is_itself_recorded() {
    let app = test_app().await;
    add_user(&app, "adm", &[Role::Admin], &[]).await;
    add_user(&app, "off1", &[Role::Officer], &["D1"]).await;
    call(&app.router, login_request("off1", "not the password", serde_json::json!({}))).await;
    let admin = sign_in(&app, "adm").await;
    let search = |body: serde_json::Value| json_call("/api/admin/audit", &body, Some(&admin));
    let (status, _, text) =
        call(&app.router, search(serde_json::json!({ "search": { "actor": "off", "outcome": "failure" } }))).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let rows: Vec<serde_json::Value> = serde_json::from_str(&text).expect("json");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!((rows[0]["actor"].as_str(), rows[0]["action"].as_str()), (Some("off1"), Some("sign_in")));
    let (status, _, text) = call(&app.router, search(serde_json::json!({ "search": { "outcome": "maybe" } }))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{text}");
    assert!(text.contains("outcome"));
    let searches = app
        .store
        .bodega
        .search_audit(&bodega::audit::AuditQuery { action: Some("view_audit".into()), ..Default::default() })
        .await
        .expect("audit");
    assert_eq!(searches.len(), 1, "one record per search that ran");
    assert_eq!(searches[0].actor, "adm");
}

#[tokio::test]
async fn administrators_change_roles_unlock_deactivate_and_revoke_devices_on_record() {
    let mut settings = server::config::Settings::default();
    settings.auth.account_lock_after_failures = 5;
    let app = test_app_with(settings).await;
    add_user(&app, "adm", &[Role::Admin], &[]).await;
    let off = add_user(&app, "off1", &[Role::Officer], &["D1"]).await;
    let device = "0193b3c4-7d1e-7000-8000-00000000d0a1";
    let (status, headers, body) =
        call(&app.router, login_request("off1", PASSWORD, serde_json::json!({ "device_id": device }))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let officer = session_cookie(&headers).expect("cookie");
    // Five failures from a stranger's client reach this test's account-wide cap of five.
    for _ in 0..5 {
        let attempt = from_client(login_request("off1", "not the password", serde_json::json!({})), "198.51.100.20");
        call(&app.router, attempt).await;
    }
    let admin = sign_in(&app, "adm").await;
    let post = |path: &str, body: serde_json::Value| json_call(path, &body, Some(&admin));

    // The accounts screen lists the officer, locked, with a local password.
    let (status, _, text) = call(&app.router, post("/api/admin/accounts", serde_json::json!({}))).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let accounts: serde_json::Value = serde_json::from_str(&text).expect("json");
    let row = accounts["accounts"].as_array().expect("list").iter().find(|a| a["username"] == "off1").expect("off1");
    assert_eq!((row["sign_in"].as_str(), row["locked_until"].is_i64()), (Some("password"), true), "{row}");
    assert!(accounts["districts"].as_array().expect("districts").iter().any(|d| d[0] == "D2"));

    // Promote to sergeant of D1 and D2, and clear the lockout: one record saying what changed.
    let change = |roles: serde_json::Value, districts: serde_json::Value, active: bool, unlock: bool| serde_json::json!({ "change": { "username": "off1", "roles": roles, "districts": districts, "active": active, "unlock": unlock } });
    let (status, _, text) = call(
        &app.router,
        post(
            "/api/admin/account",
            change(serde_json::json!(["sergeant"]), serde_json::json!(["D2", "D1"]), true, true),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let u = app.store.bodega.user_by_id(off).await.expect("q").expect("u");
    assert_eq!(
        (u.roles.clone(), u.districts.clone()),
        (vec![Role::Sergeant], vec!["D1".to_string(), "D2".to_string()])
    );
    assert!(u.locked_until.is_none());
    let records = audit_rows(&app, "manage_users").await;
    assert_eq!(records.len(), 1);
    assert!(records[0].detail.contains("roles sergeant (were officer)"), "{}", records[0].detail);
    assert!(records[0].detail.contains("lockout cleared"), "{}", records[0].detail);

    // Bad input is explained and changes nothing; an administrator cannot demote themselves.
    for (body, field) in [
        (change(serde_json::json!(["sheriff"]), serde_json::json!([]), true, false), "roles"),
        (change(serde_json::json!(["officer"]), serde_json::json!(["D99"]), true, false), "districts"),
        (
            serde_json::json!({ "change": { "username": "adm", "roles": ["analyst"], "districts": [], "active": true, "unlock": false } }),
            "roles",
        ),
        // Nor grant themselves a role that reads crime data.
        (
            serde_json::json!({ "change": { "username": "adm", "roles": ["admin", "command"], "districts": [], "active": true, "unlock": false } }),
            "roles",
        ),
    ] {
        let (status, _, text) = call(&app.router, post("/api/admin/account", body)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{text}");
        assert!(text.contains(field), "{text}");
    }
    assert_eq!(app.store.bodega.user_by_id(off).await.expect("q").expect("u").roles, vec![Role::Sergeant]);
    assert_eq!(audit_rows(&app, "manage_users").await.len(), 1, "refused changes are not recorded as changes");

    // The devices screen lists the officer's device; revoking it ends its session at once.
    let (status, _, text) = call(&app.router, post("/api/admin/devices", serde_json::json!({}))).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let devices: Vec<serde_json::Value> = serde_json::from_str(&text).expect("json");
    assert!(devices.iter().any(|d| d["id"] == device && d["owner"] == "off1" && d["revoked"].is_null()), "{text}");
    let (status, _, text) =
        call(&app.router, post("/api/admin/device_revoke", serde_json::json!({ "id": device, "reason": "  " }))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a revocation says why: {text}");
    let (status, _, text) = call(
        &app.router,
        post("/api/admin/device_revoke", serde_json::json!({ "id": device, "reason": "lost on patrol" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(call(&app.router, server_fn("/api/me", Some(&officer))).await.2, "null", "the device's session ended");
    let revoked = app.store.bodega.device(device).await.expect("q").expect("device");
    assert_eq!(revoked.revoke_reason.as_deref(), Some("lost on patrol"));
    let records = audit_rows(&app, "manage_devices").await;
    assert_eq!(records.len(), 1);
    assert_eq!((records[0].actor.as_str(), records[0].target.as_str()), ("adm", format!("device {device}").as_str()));

    // A session from the web form names no device; once the field app fetches its device key,
    // revoking that device ends the session too.
    let web = sign_in(&app, "off1").await;
    let second = "0193b3c4-7d1e-7000-8000-00000000d0a2";
    let (status, _, text) =
        call(&app.router, json_call("/api/device/key", &serde_json::json!({ "device_id": second }), Some(&web))).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let (status, _, text) = call(
        &app.router,
        post("/api/admin/device_revoke", serde_json::json!({ "id": second, "reason": "stolen from the car" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(call(&app.router, server_fn("/api/me", Some(&web))).await.2, "null", "the web session ended");

    // Deactivating ends the account's sessions.
    let again = sign_in(&app, "off1").await;
    let (status, _, text) = call(
        &app.router,
        post(
            "/api/admin/account",
            change(serde_json::json!(["sergeant"]), serde_json::json!(["D1", "D2"]), false, false),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(call(&app.router, server_fn("/api/me", Some(&again))).await.2, "null");
    let (status, _, _) = call(&app.router, login_request("off1", PASSWORD, serde_json::json!({}))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a deactivated account cannot sign in");
}

/// Every endpoint that takes an id, tried by an officer with another officer's mission, device
/// and note (both of D1, so only ownership stands between them): each is refused, with the
/// exact answer its kind gives, and nothing of the other officer's changes.
#[tokio::test]
async fn every_id_taking_endpoint_refuses_another_officers_mission_device_and_note() {
    let app = test_app().await;
    let cmd = add_user(&app, "cmd", &[Role::Command], &[]).await;
    add_user(&app, "sgt1", &[Role::Sergeant], &["D1"]).await;
    let my_id = add_user(&app, "off1", &[Role::Officer], &["D1"]).await;
    let theirs = add_user(&app, "off2", &[Role::Officer], &["D1"]).await;
    let (sgt, me, them) = (sign_in(&app, "sgt1").await, sign_in(&app, "off1").await, sign_in(&app, "off2").await);
    // off2's mission, device (with its server-held key) and note; and a mission of off1's own.
    let (mission, my_mission) = ("0193b3c4-0000-7000-8000-0000000theirs", "0193b3c4-0000-7000-8000-00000000mine");
    for (id, to) in [(mission, theirs), (my_mission, my_id)] {
        issue_test_mission(&app, id, cmd, false).await;
        for (step, args) in
            [("acknowledge", serde_json::json!({})), ("assign", serde_json::json!({ "assignee_user_id": to }))]
        {
            let body = serde_json::json!({ "id": id, "step": step, "args": args });
            assert_eq!(
                call(&app.router, json_call("/api/missions/transition", &body, Some(&sgt))).await.0,
                StatusCode::OK
            );
        }
    }
    let note = serde_json::json!({ "seq": 1, "kind": "note", "note_id": "their-note", "mission_id": mission,
        "body": "their words", "supersedes": null, "device_time": 1_700_000_000 });
    let push = |device: &str, mutations: serde_json::Value| serde_json::json!({ "schema_version": 1, "device_id": device, "mutations": mutations });
    let (status, _, text) =
        call(&app.router, json_call("/api/sync/push", &push("their-phone", serde_json::json!([note])), Some(&them)))
            .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let key = serde_json::json!({ "device_id": "their-phone" });
    assert_eq!(call(&app.router, json_call("/api/device/key", &key, Some(&them))).await.0, StatusCode::OK);
    let before = app.store.bodega.mission(mission).await.expect("q").expect("mission");

    let sealed = serde_json::json!({ "iv": "00", "ct": "00" });
    let tries: Vec<(&str, Request<Body>, StatusCode)> = vec![
        (
            "start their mission",
            json_call(
                "/api/missions/transition",
                &serde_json::json!({ "id": mission, "step": "start", "args": {} }),
                Some(&me),
            ),
            StatusCode::FORBIDDEN,
        ),
        (
            "read their mission's events",
            json_call("/api/missions/events", &serde_json::json!({ "id": mission }), Some(&me)),
            StatusCode::FORBIDDEN,
        ),
        (
            "push from their device",
            json_call("/api/sync/push", &push("their-phone", serde_json::json!([])), Some(&me)),
            StatusCode::CONFLICT,
        ),
        (
            "pull as their device",
            with_cookie(get("/api/sync/pull?cookie=0&device_id=their-phone"), &me),
            StatusCode::CONFLICT,
        ),
        ("take their device's key", json_call("/api/device/key", &key, Some(&me)), StatusCode::FORBIDDEN),
        (
            "push their device's sealed store",
            json_call(
                "/api/sync/push-sealed",
                &serde_json::json!({ "device_id": "their-phone", "key": sealed, "state": sealed }),
                Some(&me),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "report an override on their device",
            json_call(
                "/api/sync/override",
                &serde_json::json!({ "device_id": "their-phone", "supervisor": "sgt1", "at": 1_700_000_000, "pending": 1 }),
                Some(&me),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ];
    let mut failures = Vec::new();
    for (what, req, expected) in tries {
        let (status, _, body) = call(&app.router, req).await;
        if status != expected {
            failures.push(format!("{what}: expected {expected}, got {status} {body:.200}"));
        }
    }
    // Through the sync, from the officer's own device: a step on their mission, a note on it,
    // a note under their note's id on the officer's own mission, and an edit there of their
    // note are each rejected, saying why.
    let mine = serde_json::json!([
        { "seq": 1, "kind": "step", "mission_id": mission, "step": "start", "args": {}, "device_time": 1_700_000_000 },
        { "seq": 2, "kind": "note", "note_id": "my-note", "mission_id": mission, "body": "mine", "supersedes": null, "device_time": 1_700_000_000 },
        { "seq": 3, "kind": "note", "note_id": "their-note", "mission_id": my_mission, "body": "mine", "supersedes": null, "device_time": 1_700_000_000 },
        { "seq": 4, "kind": "note", "note_id": "my-edit", "mission_id": my_mission, "body": "mine", "supersedes": "their-note", "device_time": 1_700_000_000 },
    ]);
    let (status, _, text) = call(&app.router, json_call("/api/sync/push", &push("my-phone", mine), Some(&me))).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let answer: serde_json::Value = serde_json::from_str(&text).expect("json");
    for r in answer["results"].as_array().expect("results") {
        if r[1]["outcome"] != "rejected" || r[1]["reason"].as_str().is_none_or(str::is_empty) {
            failures.push(format!("sync mutation {}: expected a rejection with a reason, got {}", r[0], r[1]));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let after = app.store.bodega.mission(mission).await.expect("q").expect("mission");
    assert_eq!((after.status, after.version), (before.status, before.version), "their mission is as it was");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM mission_notes").await, 1, "only their note");
    let device = app.store.bodega.device("their-phone").await.expect("q").expect("device");
    assert_eq!((device.user_id, device.revoked_at), (theirs, None), "their device is still theirs");
}
