//! The server as its users meet it: HTTP routes driven in-process (no socket), and the binary's
//! command line run for real. `make test` runs this binary on SQLite and again on PostgreSQL.

use std::process::{Command, Output};
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use bodega::testing::{fresh_store, TestStore};
use http_body_util::BodyExt;
use tower::ServiceExt;

mod auth;
mod crime;
mod envelope;
mod feedback;
mod field;
mod harm;
mod missions;
mod oidc;
mod presence;
mod proposals;
mod setup;
mod snapshot;
mod sync;
mod upload;

struct TestApp {
    router: Router,
    store: TestStore,
    _site: tempfile::TempDir,
}

/// A router over a fresh store holding the demo city and a minimal built site.
async fn test_app() -> TestApp {
    test_app_with(server::config::Settings::default()).await
}

/// [`test_app`] with these settings (the session cookie is never `Secure` here).
async fn test_app_with(settings: server::config::Settings) -> TestApp {
    let store = fresh_store().await;
    bodega::demo::seed_demo(&store.bodega).await.expect("seed demo");
    store.bodega.ensure_default_menu().await.expect("default menu");
    app_over(store, settings)
}

/// Puts the plain count in force: for the tests that check a ranking against a hand count (the
/// demo runs on the shipped harm index, `cchi@2020`).
async fn on_count_table(app: &TestApp) {
    app.store.bodega.activate_harm_table("count", "1").await.expect("count table");
}

/// A router over a fresh, empty store: a department's first start with the demo off (the
/// server's start adds only the default Mission Menu).
async fn empty_test_app() -> TestApp {
    let store = fresh_store().await;
    store.bodega.ensure_default_menu().await.expect("default menu");
    app_over(store, server::config::Settings::default())
}

fn app_over(store: TestStore, settings: server::config::Settings) -> TestApp {
    let site = tempfile::tempdir().expect("site dir");
    std::fs::create_dir_all(site.path().join("pkg")).expect("pkg");
    std::fs::write(site.path().join("pkg/beatbook.js"), "export default function(){}").expect("js");
    std::fs::write(site.path().join("pkg/beatbook_bg.wasm"), b"\0asm\x01\0\0\0").expect("wasm");
    std::fs::write(site.path().join("pkg/beatbook.css"), "body{}").expect("css");
    std::fs::write(site.path().join("manifest.webmanifest"), r#"{"name":"Beatbook"}"#).expect("manifest");
    std::fs::write(site.path().join("sw.js"), "// worker template").expect("sw");
    let addr = "127.0.0.1:0".parse().expect("addr");
    let settings = server::config::Settings {
        auth: server::auth::config::AuthConfig { secure_cookie: false, ..settings.auth },
        ..settings
    };
    let state = server::state::app_state(store.bodega.clone(), site.path(), addr, settings).expect("state");
    let limits = server::state::Limits {
        request_timeout: Duration::from_secs(30),
        max_body_bytes: server::config::DEFAULT_MAX_BODY_BYTES,
    };
    TestApp { router: server::router::router(state, limits), store, _site: site }
}

async fn call(router: &Router, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, String) {
    let resp = router.clone().oneshot(req).await.expect("infallible");
    let (parts, body) = resp.into_parts();
    let bytes = body.collect().await.expect("body").to_bytes();
    (parts.status, parts.headers, String::from_utf8_lossy(&bytes).into_owned())
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).expect("request")
}

/// Audit records of `action`, newest first.
async fn audit_of(app: &TestApp, action: &str) -> Vec<bodega::audit::AuditRecord> {
    app.store
        .bodega
        .search_audit(&bodega::audit::AuditQuery { action: Some(action.into()), ..Default::default() })
        .await
        .expect("audit")
}

/// The password every test account gets.
const PASSWORD: &str = "correct horse battery staple";

/// Creates a local account with these roles and districts.
async fn add_user(app: &TestApp, username: &str, roles: &[protocol::Role], districts: &[&str]) -> i64 {
    let hash = server::auth::password::hash_password(PASSWORD.into()).await.expect("hash");
    let new = bodega::accounts::NewUser {
        username: username.into(),
        display_name: format!("Test {username}"),
        password_hash: Some(hash),
        roles: roles.to_vec(),
        districts: districts.iter().map(|d| d.to_string()).collect(),
        oidc: None,
        synthetic: false,
    };
    app.store.bodega.create_user(&new).await.expect("create user")
}

/// A sign-in request (JSON).
fn login_request(username: &str, password: &str, extra: serde_json::Value) -> Request<Body> {
    let mut body = serde_json::json!({ "username": username, "password": password });
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    Request::post("/api/auth/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .expect("request")
}

/// The `name=value` part of a response's session cookie.
fn session_cookie(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("beatbook_session="))
        .and_then(|v| v.split(';').next())
        .map(str::to_string)
}

/// Signs in and returns the cookie to send.
async fn sign_in(app: &TestApp, username: &str) -> String {
    let (status, headers, body) = call(&app.router, login_request(username, PASSWORD, serde_json::json!({}))).await;
    assert_eq!(status, StatusCode::OK, "sign-in of {username}: {body}");
    session_cookie(&headers).expect("a session cookie")
}

/// Records `username` as signed in on `device` over `[from, to]`: a test replaying a past shift's
/// breadcrumbs needs its officer's device to have been signed in then
/// (`bodega::testing::signed_in_during`).
async fn signed_in_during(app: &TestApp, username: &str, device: &str, from: i64, to: i64) {
    let user = app.store.bodega.user_by_username(username).await.expect("store").expect("the user");
    bodega::testing::signed_in_during(&app.store.bodega, user.id, device, from, to).await;
}

/// `POST /api/sync/push` from `device` with `mutations`, its clock `sent_at`, as `cookie`'s caller.
fn push_request(
    device: &str,
    mutations: Vec<protocol::sync::Mutation>,
    sent_at: Option<i64>,
    cookie: Option<&str>,
) -> Request<Body> {
    let request = protocol::sync::PushRequest {
        schema_version: protocol::sync::SCHEMA_VERSION,
        device_id: device.into(),
        mutations,
        sent_at,
    };
    auth::json_call("/api/sync/push", &serde_json::to_value(request).expect("json"), cookie)
}

/// The one number a `SELECT COUNT(*) …` answers.
async fn count(app: &TestApp, sql: &str) -> i64 {
    bodega::on_pool!(&app.store.bodega, pool => sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string())).fetch_one(pool).await)
        .expect("count")
}

/// A JSON server function called as `cookie`'s caller: its status and its answer (as JSON, or
/// the text when it is not JSON).
async fn call_json(
    app: &TestApp,
    path: &str,
    body: serde_json::Value,
    cookie: &str,
) -> (StatusCode, serde_json::Value) {
    let (status, _, text) = call(&app.router, auth::json_call(path, &body, Some(cookie))).await;
    let value = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
    (status, value)
}

/// A request with a session cookie.
fn with_cookie(mut req: Request<Body>, cookie: &str) -> Request<Body> {
    req.headers_mut().insert(header::COOKIE, cookie.parse().expect("cookie header"));
    req
}

/// Calls a server function (POST, empty form body) with an optional session cookie.
fn server_fn(path: &str, cookie: Option<&str>) -> Request<Body> {
    let req = Request::post(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::empty())
        .expect("request");
    match cookie {
        Some(c) => with_cookie(req, c),
        None => req,
    }
}

/// A D1 mission of shift B on 2020-12-15, issued by `by` from the first template of the menu
/// (or the directed patrol when `koper`), at a point downtown.
async fn issue_test_mission(app: &TestApp, id: &str, by: i64, koper: bool) {
    let b = &app.store.bodega;
    let subject = b.user_by_id(by).await.expect("q").expect("issuer").subject();
    let menu = b.mission_menu(false).await.expect("menu");
    let template = menu.iter().find(|t| !koper || t.tactic == "directed_patrol").expect("template").id;
    let m = bodega::missions::NewMission {
        id: id.into(),
        template_id: template,
        district: "D1".into(),
        shift: "B".into(),
        shift_date: "2020-12-15".into(),
        window_start: 1_608_069_600,
        window_end: 1_608_098_400,
        place: bodega::missions::Place::Point { lat: 49.28, lon: -123.12, radius_m: 100.0 },
        place_label: format!("test mission {id}"),
        priority: 3,
        instructions: String::new(),
        reason: String::new(),
        issue: true,
    };
    b.create_mission(&m, &subject, None).await.expect("issue");
}

/// An analyst's session on a fresh app (analysts may see everything a page shows).
async fn analyst_session(app: &TestApp) -> String {
    add_user(app, "ana", &[protocol::Role::Analyst], &[]).await;
    sign_in(app, "ana").await
}

#[tokio::test]
async fn probes_report_liveness_and_database_readiness() {
    let app = test_app().await;
    assert_eq!(call(&app.router, get("/healthz")).await.0, StatusCode::OK);
    let (status, _, body) = call(&app.router, get("/readyz")).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ready"));
    app.store.bodega.close().await;
    let (status, _, body) = call(&app.router, get("/readyz")).await;
    assert_eq!((status, body.as_str()), (StatusCode::SERVICE_UNAVAILABLE, "database unreachable"));
    assert_eq!(call(&app.router, get("/healthz")).await.0, StatusCode::OK, "alive even when the database is not");
}

#[tokio::test]
async fn every_answer_says_it_is_beatbooks_so_devices_tell_it_from_a_proxy_or_a_portal() {
    let app = test_app().await;
    let cookie = analyst_session(&app).await;
    let big = vec![b'a'; server::config::DEFAULT_MAX_BODY_BYTES + 1];
    let too_large = Request::post("/api/city_overview")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::CONTENT_LENGTH, big.len())
        .body(Body::from(big))
        .expect("request");
    let answers = [
        ("probe", get("/healthz"), StatusCode::OK),
        ("page", with_cookie(get("/"), &cookie), StatusCode::OK),
        ("missing page", with_cookie(get("/no/such/page"), &cookie), StatusCode::NOT_FOUND),
        ("server function, signed out", server_fn("/api/city_overview", None), StatusCode::UNAUTHORIZED),
        ("sync route, signed out", get("/api/sync/pull?cookie=0&device_id=x"), StatusCode::UNAUTHORIZED),
        ("body too large", too_large, StatusCode::PAYLOAD_TOO_LARGE),
        ("service worker", get("/sw.js"), StatusCode::OK),
        ("bundle file", get("/pkg/beatbook.js"), StatusCode::OK),
    ];
    for (what, req, expected) in answers {
        let (status, headers, body) = call(&app.router, req).await;
        assert_eq!(status, expected, "{what}: {body}");
        assert_eq!(
            headers.get(protocol::SERVER_HEADER).and_then(|v| v.to_str().ok()),
            Some("1"),
            "{what} carries {}",
            protocol::SERVER_HEADER
        );
    }
    let (_, _, sw) = call(&app.router, get("/sw.js")).await;
    assert!(sw.contains(&format!("\"server_header\":\"{}\"", protocol::SERVER_HEADER)), "the worker knows it too");
}

#[tokio::test]
async fn the_overview_page_is_server_rendered_with_the_demo_city_and_never_cached() {
    let app = test_app().await;
    let cookie = analyst_session(&app).await;
    let (status, headers, html) = call(&app.router, with_cookie(get("/"), &cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert!(html.contains("City overview"));
    assert!(html.contains("37,512"), "total incidents rendered on the server");
    assert!(html.contains("3,751"), "withheld locations reported, not hidden");
    assert!(html.contains(r#"<link rel="manifest" href="/manifest.webmanifest">"#));
    assert!(html.contains("/pkg/beatbook.js"), "hydration script");
}

#[tokio::test]
async fn the_overview_api_has_a_fixed_url_and_counts_every_located_incident() {
    let app = test_app().await;
    let cookie = analyst_session(&app).await;
    let (status, headers, body) = call(&app.router, server_fn("/api/city_overview", Some(&cookie))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    let overview: app::model::CityOverview = serde_json::from_str(&body).expect("json");
    assert_eq!((overview.incidents, overview.located, overview.geo_flagged), (37_512, 33_761 - 346, 346));
    assert_eq!(overview.epsg, 32610, "Vancouver's centroid is in UTM zone 10N");
    assert_eq!(overview.cell_size_m, 250);
    let mapped: u64 = overview.cells.iter().map(|c| u64::from(c.count)).sum();
    assert_eq!(mapped, 33_761 - 346, "every mappable incident lands in exactly one cell");
    assert_eq!((overview.first_day.as_deref(), overview.last_day.as_deref()), (Some("2020-01-01"), Some("2020-12-31")));
}

#[tokio::test]
async fn the_offline_shell_and_service_worker_come_from_the_running_build() {
    let app = test_app().await;
    let (status, headers, shell) = call(&app.router, get("/shell")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
    assert!(shell.contains("data-beatbook-shell"));
    assert!(!shell.contains("37,512"), "the shell carries no data");
    let (status, headers, sw) = call(&app.router, get("/sw.js")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers[header::CONTENT_TYPE].to_str().expect("ascii").starts_with("text/javascript"));
    assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
    for url in ["/shell", "/pkg/beatbook.js", "/pkg/beatbook_bg.wasm", "/pkg/beatbook.css", "/manifest.webmanifest"] {
        assert!(sw.contains(&format!("\"url\":\"{url}\"")), "{url} precached: {sw}");
    }
    assert!(sw.ends_with("// worker template"));
}

#[tokio::test]
async fn static_files_carry_the_right_cache_and_type_headers() {
    let app = test_app().await;
    let (status, headers, _) = call(&app.router, get("/pkg/beatbook.js")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CACHE_CONTROL], "public, max-age=31536000, immutable");
    let (status, headers, _) = call(&app.router, get("/manifest.webmanifest")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "application/manifest+json");
    assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
}

#[tokio::test]
async fn the_basemap_is_served_in_byte_ranges_and_announced_to_maps() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("city.pmtiles");
    server::basemap::write_schematic(&file, [-123.23, 49.19, -123.02, 49.32], 10, 12).expect("schematic");
    let bytes = std::fs::read(&file).expect("read");
    let basemap = server::basemap::Basemap::open(&file, "© Test contributors").expect("basemap");
    let url = basemap.info.url.clone();
    let app = test_app_with(server::config::Settings { basemap: Some(basemap), ..Default::default() }).await;

    // pmtiles.js reads the header with a single range: 206, the exact bytes, never compressed.
    let req = Request::get(&url)
        .header(header::RANGE, "bytes=0-126")
        .header(header::ACCEPT_ENCODING, "gzip, br")
        .body(Body::empty())
        .expect("request");
    let resp = app.router.clone().oneshot(req).await.expect("infallible");
    assert_eq!(resp.status(), StatusCode::PARTIAL_CONTENT);
    let headers = resp.headers().clone();
    assert_eq!(headers[header::CONTENT_RANGE], format!("bytes 0-126/{}", bytes.len()).as_str());
    assert!(headers.get(header::CONTENT_ENCODING).is_none(), "a byte range must not be re-encoded");
    assert_eq!(headers[header::CONTENT_TYPE], server::basemap::CONTENT_TYPE);
    assert_eq!(headers[header::CACHE_CONTROL], "public, max-age=31536000, immutable");
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    assert_eq!(&body[..], &bytes[..127]);
    assert!(body.starts_with(b"PMTiles\x03"));

    // A range in the middle, and the whole file for a device keeping it offline.
    let req = Request::get(&url).header(header::RANGE, "bytes=200-299").body(Body::empty()).expect("request");
    let resp = app.router.clone().oneshot(req).await.expect("infallible");
    assert_eq!(resp.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(&resp.into_body().collect().await.expect("body").to_bytes()[..], &bytes[200..300]);
    let resp = app.router.clone().oneshot(get(&url)).await.expect("infallible");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.into_body().collect().await.expect("body").to_bytes().len(), bytes.len());

    // Another version's URL is gone, not a different file.
    assert_eq!(call(&app.router, get("/maps/0000000000000000/basemap.pmtiles")).await.0, StatusCode::NOT_FOUND);

    // Signed-in maps learn where it is, its attribution, and the district outlines.
    let cookie = analyst_session(&app).await;
    let (status, _, body) = call(&app.router, server_fn("/api/map", Some(&cookie))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let config: app::ui::map::MapConfig = serde_json::from_str(&body).expect("map config");
    let info = config.basemap.expect("a basemap");
    assert_eq!((info.url.as_str(), info.attribution.as_str()), (url.as_str(), "© Test contributors"));
    assert_eq!((info.min_zoom, info.max_zoom, info.bytes), (10, 12, bytes.len() as u64));
    assert!(!config.districts.is_empty(), "the demo city's districts are outlined");
    assert!(config.districts.iter().all(|d| d.rings.iter().all(|r| r.len() >= 4)));
}

#[tokio::test]
async fn without_a_basemap_maps_still_get_outlines_and_the_url_is_404() {
    let app = test_app().await;
    let cookie = analyst_session(&app).await;
    let (status, _, body) = call(&app.router, server_fn("/api/map", Some(&cookie))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let config: app::ui::map::MapConfig = serde_json::from_str(&body).expect("map config");
    assert!(config.basemap.is_none());
    assert!(!config.districts.is_empty());
    let (status, _, body) = call(&app.router, get("/maps/abc/basemap.pmtiles")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("no basemap"), "{body}");
}

#[tokio::test]
async fn unknown_paths_are_404_pages_and_traversal_finds_nothing() {
    let app = test_app().await;
    let cookie = analyst_session(&app).await;
    let (status, _, html) = call(&app.router, with_cookie(get("/no/such/page"), &cookie)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("Not found"));
    let (status, _, body) = call(&app.router, get("/pkg/../../../../etc/passwd")).await;
    assert_ne!(status, StatusCode::OK);
    assert!(!body.contains("root:"), "no file outside the site root is served");
}

#[tokio::test]
async fn oversized_bodies_are_refused_and_responses_are_compressed() {
    let app = test_app().await;
    let big = vec![b'a'; server::config::DEFAULT_MAX_BODY_BYTES + 1];
    let req = Request::post("/api/city_overview")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::CONTENT_LENGTH, big.len())
        .body(Body::from(big))
        .expect("request");
    assert_eq!(call(&app.router, req).await.0, StatusCode::PAYLOAD_TOO_LARGE);
    let cookie = analyst_session(&app).await;
    let req = with_cookie(
        Request::get("/").header(header::ACCEPT_ENCODING, "gzip").body(Body::empty()).expect("request"),
        &cookie,
    );
    let (status, headers, _) = call(&app.router, req).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_ENCODING], "gzip");
}

// ---- the binary ----------------------------------------------------------------------------

fn server(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_server"));
    cmd.args(args).env_remove("BEATBOOK_DATABASE_URL").env_remove("BEATBOOK_ADDR").env("BEATBOOK_LOG", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run server binary")
}

/// A failure a person can act on: non-zero exit, one line on stderr naming the problem.
fn assert_one_clear_line(out: &Output, expect: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "should fail: {stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line, got: {stderr}");
    assert!(lines[0].starts_with("beatbook: "), "{stderr}");
    assert!(lines[0].contains(expect), "expected '{expect}' in: {stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("backtrace"), "{stderr}");
}

#[test]
fn every_subcommand_explains_itself() {
    let top = server(&["--help"], &[]);
    assert!(top.status.success());
    let text = String::from_utf8_lossy(&top.stdout);
    for word in ["serve", "migrate", "seed-demo", "ingest", "BEATBOOK_DATABASE_URL", "BEATBOOK_TIME_ZONE"] {
        assert!(text.contains(word), "top-level help mentions {word}: {text}");
    }
    for (args, word) in [
        (&["serve", "--help"][..], "BEATBOOK_ADDR"),
        (&["migrate", "--help"][..], "migrations"),
        (&["seed-demo", "--help"][..], "Vancouver"),
        (&["ingest", "--help"][..], "incidents"),
        (&["ingest", "incidents", "--help"][..], "--dry-run"),
        (&["weights", "load", "--help"][..], "--table-version"),
        (&["weights", "use", "--help"][..], "count"),
    ] {
        let out = server(args, &[]);
        assert!(out.status.success(), "{args:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(word), "{args:?} help mentions {word}: {text}");
    }
}

#[test]
fn an_unparseable_database_url_is_one_clear_line() {
    let out = server(&["migrate"], &[("BEATBOOK_DATABASE_URL", "not-a-url")]);
    assert_one_clear_line(&out, "not a usable database URL");
}

#[test]
fn an_unreachable_database_is_one_clear_line() {
    let out = server(&["migrate"], &[("BEATBOOK_DATABASE_URL", "postgres://beatbook@127.0.0.1:1/beatbook")]);
    assert_one_clear_line(&out, "cannot reach the database at 127.0.0.1:1");
}

#[test]
fn a_port_in_use_is_one_clear_line() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("b.db").display());
    let out = server(&["serve"], &[("BEATBOOK_ADDR", addr.as_str()), ("BEATBOOK_DATABASE_URL", url.as_str())]);
    assert_one_clear_line(&out, &format!("cannot listen on {addr}"));
}

#[test]
fn a_bad_time_zone_is_one_clear_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("b.db").display());
    let out = server(&["migrate"], &[("BEATBOOK_DATABASE_URL", url.as_str()), ("BEATBOOK_TIME_ZONE", "Mars/Olympus")]);
    assert_one_clear_line(&out, "Mars/Olympus");
}

#[tokio::test]
async fn the_command_line_migrates_seeds_and_ingests_on_this_engine() {
    let store = fresh_store().await;
    let url = store.url.clone();
    let env = [("BEATBOOK_DATABASE_URL", url.as_str())];
    let out = server(&["migrate"], &env);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = server(&["seed-demo"], &env);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("loaded 37512"), "{text}");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("export.csv");
    std::fs::write(&file, "id,occurred_at,offense,category,lat,lon\nA1,2021-02-03T04:05,Mischief,,49.28,-123.12\nA2,soon,Mischief,,49.28,-123.12\n")
        .expect("write");
    let path = file.to_string_lossy().into_owned();
    let out = server(&["ingest", "incidents", &path, "--dry-run"], &env);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("dry run") && text.contains("loaded 1"), "{text}");
    assert_eq!(store.bodega.incident_count().await.expect("count"), 37_512, "a dry run stores nothing");
    let out = server(&["ingest", "incidents", &path], &env);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("loaded 1") && text.contains("rejected 1"), "{text}");
    assert!(text.contains("line 3: occurred_at"), "the bad row is named: {text}");
    assert_eq!(store.bodega.incident_count().await.expect("count"), 37_513);
    let out = server(&["ingest", "incidents", "/no/such/file.csv"], &env);
    assert_one_clear_line(&out, "cannot open /no/such/file.csv");
}

// ---- the analysts' one-file commands ---------------------------------------------------------

#[tokio::test]
async fn a_watched_folder_lands_each_export_once_and_again_only_when_it_changes() {
    let store = fresh_store().await;
    let url = store.url.clone();
    let env = [("BEATBOOK_DATABASE_URL", url.as_str())];
    assert!(server(&["migrate"], &env).status.success());
    let dir = tempfile::tempdir().expect("tempdir");
    let header = "id,occurred_at,offense,category,lat,lon\n";
    std::fs::write(
        dir.path().join("2021-02-03T0400.csv"),
        format!("{header}W1,2021-02-03T04:05,Mischief,,49.28,-123.12\n"),
    )
    .expect("write");
    std::fs::write(
        dir.path().join("2021-02-03T0500.csv"),
        format!(
            "{header}W2,2021-02-03T05:05,Other Theft,,49.28,-123.12\nW3,2021-02-03T05:10,Mischief,,49.28,-123.12\n"
        ),
    )
    .expect("write");
    std::fs::write(dir.path().join("broken.csv"), "this is not an export\n").expect("write");
    std::fs::write(
        dir.path().join("still-copying.csv.part"),
        format!("{header}W9,2021-02-03T06:00,Mischief,,49.28,-123.12\n"),
    )
    .expect("write");
    let path = dir.path().to_string_lossy().into_owned();
    let out = server(&["ingest", "watch", &path, "--once"], &env);
    let (text, err) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "a bad file does not stop the watch: {err}");
    assert!(text.contains("2021-02-03T0400.csv: incidents read 1, loaded 1"), "{text}");
    assert!(text.contains("2021-02-03T0500.csv: incidents read 2, loaded 2"), "{text}");
    assert!(err.contains("broken.csv: not loaded"), "the bad file is named: {err}");
    assert!(!text.contains("still-copying"), "partial files are left alone: {text}");
    assert_eq!(store.bodega.incident_count().await.expect("count"), 3);
    // The same files again (a restart): nothing new, nothing doubled; an edited export updates.
    std::fs::write(
        dir.path().join("2021-02-03T0500.csv"),
        format!("{header}W2,2021-02-03T05:05,Theft of Bicycle,,49.28,-123.12\nW3,2021-02-03T05:10,Mischief,,49.28,-123.12\n"),
    )
    .expect("write");
    let out = server(&["ingest", "watch", &path, "--once"], &env);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("0400.csv: incidents read 1, loaded 0, updated 0, unchanged 1"), "{text}");
    assert!(text.contains("0500.csv: incidents read 2, loaded 0, updated 1, unchanged 1"), "{text}");
    assert_eq!(store.bodega.incident_count().await.expect("count"), 3);

    // Watching: a file dropped while it runs lands within a few scans.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_server"))
        .args(["ingest", "watch", &path, "--interval-secs", "1"])
        .env("BEATBOOK_DATABASE_URL", &url)
        .env("BEATBOOK_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("start the watch");
    std::fs::write(
        dir.path().join("2021-02-03T0600.csv"),
        format!("{header}W4,2021-02-03T06:05,Mischief,,49.28,-123.12\n"),
    )
    .expect("write");
    let mut landed = false;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        if store.bodega.incident_count().await.expect("count") == 4 {
            landed = true;
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(landed, "the dropped export landed while the watch ran");
    let out = server(&["ingest", "watch", "/no/such/folder"], &env);
    assert_one_clear_line(&out, "/no/such/folder is not a folder");
}

/// The demo CSV's located incidents as the Data Bodega maps them, counted straight from the
/// file: `(ix, iy, t)` with the 150 m lattice cell and UTC seconds, inside the districts' box and
/// without VPD's "location unknown" placeholder (flagged at load and never mapped).
fn demo_located_incidents() -> Vec<(i64, i64, i64)> {
    let tz = jiff::tz::TimeZone::get("America/Vancouver").expect("tz");
    let lattice = hotspot::Lattice::new(hotspot::Epsg::utm(32610).expect("zone"), 150).expect("lattice");
    let mut rdr = csv::Reader::from_reader(bodega::demo::VANCOUVER_2020_CSV);
    let mut out = Vec::new();
    for rec in rdr.records() {
        let rec = rec.expect("row");
        let (Ok(lat), Ok(lon)) = (rec[4].parse::<f64>(), rec[5].parse::<f64>()) else { continue };
        if !(-123.2250..=-123.0230).contains(&lon) || !(49.1980..=49.3150).contains(&lat) {
            continue;
        }
        let (dy, dx) = ((lat - 49.281_847) * 111_195.0, (lon + 123.099_524) * 111_195.0 * lat.to_radians().cos());
        if dx.hypot(dy) <= 15.0 {
            continue;
        }
        let local: jiff::civil::DateTime = rec[1].parse().expect("time");
        let t = tz.to_ambiguous_zoned(local).compatible().expect("z").timestamp().as_second();
        let k = lattice.key_of(lon, lat).expect("key");
        out.push((k.ix, k.iy, t));
    }
    out
}

fn shared_data(file: &str) -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data").join(file).to_string_lossy().into_owned()
}

#[test]
fn hotspots_scores_every_cell_and_counts_every_located_incident_in_the_window() {
    let file = shared_data("vancouver_crime_2020.csv");
    let out = server(
        &["hotspots", "--incidents", &file, "--cell-size", "150", "--from", "2020-01-01", "--to", "2020-07-01"],
        &[],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("3751 without coordinates"), "{stderr}");
    // Independent count: located rows whose local time is in [2020-01-01, 2020-07-01).
    let expected = std::fs::read_to_string(&file)
        .expect("data")
        .lines()
        .skip(1)
        .filter(|l| {
            let f: Vec<&str> = l.split(',').collect();
            !f[4].is_empty() && f[1] >= "2020-01-01" && f[1] < "2020-07-01"
        })
        .count();
    let mut reader = csv::Reader::from_reader(out.stdout.as_slice());
    let header = reader.headers().expect("header").clone();
    assert_eq!(
        &header.iter().take(9).collect::<Vec<_>>(),
        &["cell_id", "row", "col", "x_centre", "y_centre", "count", "harm", "gi_star_z", "kde_per_km2"]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    assert_eq!(rows.len(), 97 * 84, "one row per cell of the full rectangle");
    let total: u64 = rows.iter().map(|r| r[5].parse::<u64>().expect("count")).sum();
    assert_eq!(total as usize, expected);
    assert!(rows.iter().enumerate().all(|(i, r)| r[0] == i.to_string()));
    assert!(rows.iter().all(|r| r[12] == *"count@1"), "every score names its weight table");
}

#[test]
fn hotspots_writes_json_and_geojson() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("small.csv");
    std::fs::write(
        &file,
        "id,occurred_at,offense,category,lat,lon\n1,2020-01-01T10:00,Robbery,,49.2800,-123.1200\n\
         2,2020-01-02T10:00,Mischief,,49.2810,-123.1210\n3,2020-01-03T10:00,Mischief,,49.2700,-123.1000\n",
    )
    .expect("write");
    let weights = dir.path().join("dept.csv");
    std::fs::write(&weights, "offense,weight\nRobbery,365\n").expect("write");
    let (f, w) = (file.to_string_lossy().into_owned(), weights.to_string_lossy().into_owned());
    let out =
        server(&["hotspots", "--incidents", &f, "--cell-size", "250", "--weights", &w, "--format", "geojson"], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no weight for 'Mischief' (2 rows)"), "unmapped offences are reported: {stderr}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("geojson");
    assert_eq!(doc["type"], "FeatureCollection");
    let features = doc["features"].as_array().expect("features");
    let harm: f64 = features.iter().map(|f| f["properties"]["harm"].as_f64().expect("harm")).sum();
    let count: u64 = features.iter().map(|f| f["properties"]["count"].as_u64().expect("count")).sum();
    assert_eq!((harm, count), (365.0, 3), "Mischief weighs 0 in harm but still counts");
    assert!(doc["beatbook"]["weights"].as_str().expect("version").starts_with("dept@"));
    let ring = features[0]["geometry"]["coordinates"][0].as_array().expect("ring");
    assert_eq!(ring.len(), 5);
    let out = server(&["hotspots", "--incidents", &f, "--weights", &w, "--strict"], &[]);
    assert_one_clear_line(&out, "--strict: the weight table 'dept@");
    // The shipped index: Robbery 365 days, Mischief 1 (docs/HARM.md).
    let out = server(&["hotspots", "--incidents", &f, "--weights", "cchi", "--format", "geojson"], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("geojson");
    let harm: f64 = doc["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| f["properties"]["harm"].as_f64().expect("harm"))
        .sum();
    assert_eq!(doc["beatbook"]["weights"], "cchi@2020");
    assert_eq!(harm, 365.0 + 2.0 * 1.0, "one robbery and two mischiefs, by the shipped table");
    let out = server(&["hotspots", "--incidents", &f, "--format", "json"], &[]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(doc["grid"]["epsg"], 32610);
}

#[test]
fn hotspots_scores_street_segments_when_a_network_is_given() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("incidents.csv");
    // Two on the 100 block of Main (one 5.6 m north of it), one on the 200 block, one 500 m
    // north of every street.
    std::fs::write(
        &file,
        "id,occurred_at,offense,category,lat,lon\n1,2020-01-01T10:00,Robbery,,49.28000,-123.09950\n\
         2,2020-01-02T10:00,Mischief,,49.28005,-123.09960\n3,2020-01-03T10:00,Mischief,,49.28000,-123.09850\n\
         4,2020-01-04T10:00,Mischief,,49.28500,-123.09950\n",
    )
    .expect("write");
    let streets = dir.path().join("streets.geojson");
    let line = |id: &str, name: &str, coords: &str| {
        format!(
            r#"{{"type":"Feature","properties":{{"id":"{id}","name":"{name}"}},"geometry":{{"type":"LineString","coordinates":{coords}}}}}"#
        )
    };
    let network = [
        line("M100", "100 block Main St", "[[-123.1000,49.2800],[-123.0990,49.2800]]"),
        line("M200", "200 block Main St", "[[-123.0990,49.2800],[-123.0980,49.2800]]"),
        line("S1", "Side St", "[[-123.0990,49.2800],[-123.0990,49.2810]]"),
        r#"{"type":"Feature","properties":{"id":"FAR","name":"Far Rd"},"geometry":{"type":"MultiLineString","coordinates":[[[-123.1000,49.2900],[-123.0990,49.2900]],[[-123.0990,49.2900],[-123.0980,49.2900]]]}}"#.to_string(),
    ];
    std::fs::write(&streets, format!(r#"{{"type":"FeatureCollection","features":[{}]}}"#, network.join(",")))
        .expect("write");
    let (f, st) = (file.to_string_lossy().into_owned(), streets.to_string_lossy().into_owned());
    let out = server(&["hotspots", "--incidents", &f, "--segments", &st, "--snap-m", "30", "--format", "json"], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("5 street segments; 3 incidents in the window snapped, 1 farther than 30 m"), "{stderr}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let rows: Vec<(String, u64)> = doc["segments"]
        .as_array()
        .expect("segments")
        .iter()
        .map(|s| (s["segment_id"].as_str().expect("id").to_string(), s["count"].as_u64().expect("count")))
        .collect();
    let want = [("M100", 2), ("M200", 1), ("S1", 0), ("FAR.1", 0), ("FAR.2", 0)];
    assert_eq!(rows, want.map(|(i, n)| (i.to_string(), n)));
    // A block's length against the arc of the parallel on the WGS84 ellipsoid, N·cos φ·Δλ, times
    // UTM's scale factor near the central meridian (0.9996).
    let (lat, e2) = (49.28f64.to_radians(), 0.006_694_379_990_14);
    let n = 6_378_137.0 / (1.0 - e2 * lat.sin().powi(2)).sqrt();
    let arc = n * lat.cos() * 0.001f64.to_radians();
    let length = doc["segments"][0]["length_m"].as_f64().expect("length");
    assert!((length - arc * 0.9996).abs() < 0.02, "{length} vs {arc}");
    assert_eq!((doc["network"]["snapped"].as_u64(), doc["network"]["unsnapped"].as_u64()), (Some(3), Some(1)));
    // GeoJSON: one LineString per segment, back in WGS84.
    let out = server(&["hotspots", "--incidents", &f, "--segments", &st, "--format", "geojson"], &[]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("geojson");
    let first = &doc["features"][0];
    assert_eq!(first["geometry"]["type"], "LineString");
    let start = first["geometry"]["coordinates"][0].as_array().expect("point");
    assert!(
        (start[0].as_f64().expect("lon") + 123.1).abs() < 1e-9
            && (start[1].as_f64().expect("lat") - 49.28).abs() < 1e-9
    );
    // CSV: the harm ranking and the table used.
    let out = server(&["hotspots", "--incidents", &f, "--segments", &st], &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("segment_id,name,length_m,count,harm,harm_per_km,gi_star_z,gi_class,harm_rank,weights\n"));
    assert!(
        text.lines().nth(1).is_some_and(|l| l.starts_with("M100,100 block Main St,") && l.ends_with(",1,count@1")),
        "{text}"
    );

    // Not a street: one clear line naming the feature.
    let polygon = dir.path().join("polygon.geojson");
    std::fs::write(
        &polygon,
        format!(
            r#"{{"type":"FeatureCollection","features":[{},{{"type":"Feature","properties":{{"id":"P"}},"geometry":{{"type":"Polygon","coordinates":[[[-123.1,49.28],[-123.09,49.28],[-123.09,49.29],[-123.1,49.28]]]}}}}]}}"#,
            network[0]
        ),
    )
    .expect("write");
    let out = server(&["hotspots", "--incidents", &f, "--segments", &polygon.to_string_lossy()], &[]);
    assert_one_clear_line(
        &out,
        "feature 2 (id P): geometry type Polygon; street segments must be LineString or MultiLineString",
    );
    let out = server(&["hotspots", "--incidents", &f, "--segments", &st, "--snap-m", "0"], &[]);
    assert_one_clear_line(&out, "snapping tolerance must be a positive number of metres");
}

#[test]
fn malformed_analysis_input_is_listed_or_refused_clearly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("bad.csv");
    std::fs::write(
        &file,
        "id,occurred_at,offense,category,lat,lon\n1,2020-13-45T10:00,A,,49.28,-123.12\n2,2020-01-01T10:00,A,,95,-123.12\n\
         3,2020-01-01T10:00,A,,NaN,-123.12\n4,2020-01-01T10:00,A,,49.28,-123.12\n",
    )
    .expect("write");
    let f = file.to_string_lossy().into_owned();
    let out = server(&["hotspots", "--incidents", &f], &[]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    for expected in ["skipped line 2: occurred_at", "skipped line 3: lat", "skipped line 4: lat", "3 rejected"] {
        assert!(stderr.contains(expected), "{expected}: {stderr}");
    }
    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, "").expect("write");
    assert_one_clear_line(&server(&["hotspots", "--incidents", &empty.to_string_lossy()], &[]), "has no 'id' column");
    let header_only = dir.path().join("header.csv");
    std::fs::write(&header_only, "id,occurred_at,offense,category,lat,lon\n").expect("write");
    assert_one_clear_line(&server(&["hotspots", "--incidents", &header_only.to_string_lossy()], &[]), "no usable row");
    assert_one_clear_line(
        &server(&["hotspots", "--incidents", &f, "--cell-size", "0"], &[]),
        "cell size must be a positive",
    );
    assert_one_clear_line(
        &server(&["hotspots", "--incidents", &f, "--cell-size=-5"], &[]),
        "cell size must be a positive",
    );
    assert_one_clear_line(
        &server(&["hotspots", "--incidents", &f, "--from", "2020-02-01", "--to", "2020-01-01"], &[]),
        "is empty",
    );
    assert_one_clear_line(
        &server(&["hotspots", "--incidents", &f, "--epsg", "4326"], &[]),
        "EPSG:4326 is not a WGS84 / UTM zone",
    );
}

#[test]
fn evaluate_matches_the_pysal_reference_and_reports_the_baseline() {
    let file = shared_data("chicago_aggravated_assaults_2010_2019.csv");
    let args = [
        "evaluate",
        "--incidents",
        &file,
        "--cell-size",
        "150",
        "--train",
        "2018-01-01",
        "2019-01-01",
        "--test",
        "2019-01-01",
        "2020-01-01",
        "--rank-by",
        "count",
    ];
    let out = server(&args, &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let reference: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../hotspot/tests/reference/chicago.json"),
        )
        .expect("reference"),
    )
    .expect("json");
    for (got, want) in report["method"]["count"]
        .as_array()
        .expect("shares")
        .iter()
        .zip(reference["pai_count"].as_array().expect("pai"))
    {
        assert_eq!(got["k"], want["k"]);
        assert_eq!(got["n"], want["n"]);
        let (g, w) = (got["pai"].as_f64().expect("pai"), want["pai"].as_f64().expect("pai"));
        assert!((g - w).abs() <= 1e-12 * w, "{g} vs {w}");
    }
    assert_eq!(report["method"], report["baseline"], "ranking by count is the trailing-count baseline");
    assert_eq!((report["train_events"].as_u64(), report["test_events"].as_u64()), (Some(15_433), Some(15_328)));
    let out = server(
        &[
            "evaluate",
            "--incidents",
            &file,
            "--train",
            "2018-01-01",
            "2019-01-01",
            "--test",
            "2019-01-01",
            "2020-01-01",
            "--rank-by",
            "kde",
            "--area",
            "active",
            "--top",
            "1,5",
        ],
        &[],
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["method"]["count"].as_array().map(Vec::len), Some(2));
    assert!(report["area_cells"].as_u64().expect("cells") < 62_101, "active cells are fewer than the bounding box");
    assert_ne!(report["method"], report["baseline"]);
}

#[tokio::test]
async fn malformed_files_end_with_one_clear_line_and_leave_the_store_unchanged() {
    let store = fresh_store().await;
    let url = store.url.clone();
    let env = [("BEATBOOK_DATABASE_URL", url.as_str())];
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).expect("write");
        p.to_string_lossy().into_owned()
    };
    let semicolons = write("semi.csv", b"id;occurred_at;offense;category;lat;lon\n1;2020-01-01T10:00;X;;49.2;-123.1\n");
    assert_one_clear_line(&server(&["ingest", "incidents", &semicolons], &env), "has no 'id' column");
    let missing = write("missing.csv", b"id,occurred_at,category,lat,lon\n1,2020-01-01T10:00,,49.2,-123.1\n");
    assert_one_clear_line(&server(&["ingest", "incidents", &missing], &env), "has no 'offense' column");
    let latin1_header = write("latin1.csv", b"id,occurred_at,offense,cat\xe9gorie,lat,lon\n");
    assert_one_clear_line(&server(&["ingest", "incidents", &latin1_header], &env), "cannot read the file");
    let mut huge = vec![b'x'; 50 * 1024 * 1024];
    huge.extend_from_slice(b",y\n");
    let huge = write("huge.csv", &huge);
    let out = server(&["ingest", "incidents", &huge], &env);
    assert_one_clear_line(&out, "has no 'id' column");
    assert!(out.stderr.len() < 2_000, "the message quotes the header briefly, not 50 MB");
    let geo = write("lines.geojson", br#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code":"1"},"geometry":{"type":"LineString","coordinates":[[0,0],[1,1]]}}]}"#);
    assert_one_clear_line(
        &server(&["ingest", "districts", &geo], &env),
        "expected a Polygon or MultiPolygon, found a LineString",
    );
    assert_eq!(store.bodega.incident_count().await.expect("count"), 0);
    assert!(store.bodega.districts().await.expect("districts").is_empty());

    // Row-level damage is not a whole-file failure: good rows load, bad ones are kept with reasons.
    let damaged = write(
        "damaged.csv",
        b"id,occurred_at,offense,category,lat,lon\n1,2020-01-01T10:00,Mischief,,49.2,-123.1\n2,2020-01-01T11:00,Caf\xe9 theft,,49.2,-123.1\n3,2020-01-01T12:00,Mischief,,49.2",
    );
    let out = server(&["ingest", "incidents", &damaged], &env);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("loaded 1") && text.contains("rejected 2"), "{text}");
    assert!(text.contains("line 3: row: not valid UTF-8 text"), "{text}");
    assert!(text.contains("line 4: row: 5 fields where the header has 6"), "a truncated last line is named: {text}");
    assert_eq!(store.bodega.incident_count().await.expect("count"), 1);
}

/// `server backtest` on the demo's real incidents: every method at every weekly origin, each
/// metric with its interval, the choice with its reason, and ranges refused in one line.
#[test]
fn backtest_scores_every_method_at_every_origin_and_refuses_bad_ranges() {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../bodega/demo/vancouver_crime_2020.csv");
    let f = file.to_string_lossy().into_owned();
    let args = ["backtest", "--incidents", &f, "--weights", "cchi", "--horizon", "week", "--origins", "4"];
    let out = server(&[&args[..], &["--training-days", "90", "--top", "1,5"]].concat(), &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        (r["origins"].as_u64(), r["horizon_hours"].as_u64(), r["scored"].as_str()),
        (Some(4), Some(168), Some("harm"))
    );
    assert_eq!(r["weights"], "cchi@2020");
    assert_eq!(r["last_window_ends"], "2021-01-01T00:00:00", "midnight after the file's last incident");
    assert_eq!(r["first_window_starts"], "2020-12-04T00:00:00", "four weeks before");
    let names: Vec<&str> =
        r["methods"].as_array().expect("methods").iter().map(|m| m["method"].as_str().expect("name")).collect();
    assert_eq!(
        names,
        [
            "count 28 days",
            "count 90 days",
            "count 365 days",
            "harm 28 days",
            "harm 90 days",
            "harm 365 days",
            "decayed harm (half-life 28 days)",
            "kde 200 m",
            "sepp"
        ]
    );
    for m in r["methods"].as_array().expect("methods") {
        for (at, percent) in m["at"].as_array().expect("at").iter().zip([1.0, 5.0]) {
            assert_eq!(at["percent"].as_f64(), Some(percent));
            assert_eq!(at["origins"].as_u64(), Some(4), "{m}");
            let pei = &at["pei"];
            let (low, mean, high) = (
                pei["low"].as_f64().expect("low"),
                pei["mean"].as_f64().expect("mean"),
                pei["high"].as_f64().expect("high"),
            );
            assert!((0.0..=1.0).contains(&mean) && low <= mean && mean <= high, "{m}");
        }
    }
    let choice = r["choice"].as_array().expect("choice");
    assert_eq!(choice.len(), 2);
    assert!(choice[0][1]["reason"].as_str().expect("reason").contains("too few to choose on"), "{}", choice[0][1]);
    assert!(r["tie_rule"].as_str().expect("tie rule").starts_with("fractional credit"));

    let csv = server(&[&args[..], &["--methods", "count", "--format", "csv"]].concat(), &[]);
    let text = String::from_utf8_lossy(&csv.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "method,percent,metric,mean,low,high,origins");
    assert_eq!(lines.len(), 1 + 3 * 2 * 4, "three baselines, two shares, four metrics");

    let out = server(&[&args[..7], &["--origins", "0"]].concat(), &[]);
    assert_one_clear_line(&out, "--origins must be 1 to 520 windows, got 0");
    let out = server(&[&args[..], &["--training-days", "7"]].concat(), &[]);
    assert_one_clear_line(&out, "--training-days must be 28 to 3650, got 7");
    let out = server(&[&args[..], &["--training-days", "90", "--sepp-max-lag-days", "120"]].concat(), &[]);
    assert_one_clear_line(&out, "--sepp-max-lag-days must be 1 to the training window (90 days), got 120");
    let out = server(&[&args[..], &["--sepp-reach-m", "20"]].concat(), &[]);
    assert_one_clear_line(&out, "--sepp-reach-m must be 50 to 10000 metres, got 20");
}
