//! Analysts' uploads (`POST /api/ingest/{kind}`): the same loaders as `server ingest`, through
//! the running server, with hostile files and file names.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use protocol::Role;

use super::*;

fn upload(path_and_query: &str, body: impl Into<Body>, cookie: &str) -> Request<Body> {
    with_cookie(
        Request::post(path_and_query).header(header::CONTENT_TYPE, "text/csv").body(body.into()).expect("request"),
        cookie,
    )
}

async fn batches(app: &TestApp) -> i64 {
    bodega::on_pool!(&app.store.bodega, pool => sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM ingest_batches")
        .fetch_one(pool).await)
    .expect("count")
}

const CSV: &str = "id,occurred_at,offense,category,lat,lon\n\
                   up-1,2020-12-30T10:00,Mischief,,49.2800,-123.1200\n\
                   up-2,2020-12-30T11:00,Theft from Vehicle,,49.2810,-123.1210\n\
                   up-3,not a time,Mischief,,49.2820,-123.1220\n";

#[tokio::test]
async fn an_analyst_uploads_an_export_bad_rows_are_set_aside_and_a_reload_changes_nothing() {
    let app = test_app().await;
    add_user(&app, "ana", &[Role::Analyst], &[]).await;
    add_user(&app, "off", &[Role::Officer], &["D1"]).await;
    let analyst = sign_in(&app, "ana").await;
    let before = app.store.bodega.incident_count().await.expect("count");

    // A dry run checks everything and stores nothing.
    let (status, _, body) =
        call(&app.router, upload("/api/ingest/incidents?file_name=rms%20export.csv&dry_run=true", CSV, &analyst)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let s: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!((s["read"].as_u64(), s["loaded"].as_u64(), s["rejected"].as_u64()), (Some(3), Some(2), Some(1)));
    assert_eq!(app.store.bodega.incident_count().await.expect("count"), before);

    let (status, _, body) =
        call(&app.router, upload("/api/ingest/incidents?file_name=rms%20export.csv", CSV, &analyst)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let s: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!((s["loaded"].as_u64(), s["rejected"].as_u64()), (Some(2), Some(1)), "{s}");
    assert_eq!(s["file_name"], "rms export.csv");
    let row = &s["rejected_rows"][0];
    assert_eq!((row[0].as_i64(), row[1].as_str()), (Some(4), Some("occurred_at")), "the bad row's line and field: {s}");
    assert_eq!(app.store.bodega.incident_count().await.expect("count"), before + 2);

    // The same file again: nothing changes.
    let (_, _, body) =
        call(&app.router, upload("/api/ingest/incidents?file_name=rms%20export.csv", CSV, &analyst)).await;
    let s: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!((s["loaded"].as_u64(), s["unchanged"].as_u64()), (Some(0), Some(2)), "{s}");

    // Each upload is on record; an officer may not upload.
    let audit = audit_of(&app, "ingest_data").await;
    assert_eq!(audit.len(), 3);
    assert!(audit[0].detail.contains("loaded 0, updated 0, unchanged 2"), "{}", audit[0].detail);
    let officer = sign_in(&app, "off").await;
    let (status, _, _) = call(&app.router, upload("/api/ingest/incidents?file_name=x.csv", CSV, &officer)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn hostile_files_and_file_names_get_a_clear_4xx_and_store_nothing() {
    let app = test_app().await;
    add_user(&app, "ana", &[Role::Analyst], &[]).await;
    let analyst = sign_in(&app, "ana").await;
    let incidents = app.store.bodega.incident_count().await.expect("count");
    let districts = app.store.bodega.districts().await.expect("districts");
    let batches_before = batches(&app).await;

    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        // Path traversal and control characters in the file name.
        ("/api/ingest/incidents?file_name=..%2F..%2Fetc%2Fpasswd", CSV.into(), "file_name"),
        ("/api/ingest/incidents?file_name=..%5C..%5Cwindows%5Cwin.ini", CSV.into(), "file_name"),
        ("/api/ingest/incidents?file_name=a%00.csv", CSV.into(), "file_name"),
        // A right-to-left override (U+202E) that makes "report<RLO>fdp.csv" read "reportvsc.pdf".
        ("/api/ingest/incidents?file_name=report%E2%80%AEfdp.csv", CSV.into(), "file_name"),
        ("/api/ingest/incidents", CSV.into(), "file_name"),
        // A CSV without the columns the loader needs, an empty one, binary noise.
        ("/api/ingest/incidents?file_name=x.csv", b"when,what\n2020-01-01,theft\n".to_vec(), "column"),
        ("/api/ingest/incidents?file_name=x.csv", Vec::new(), "empty"),
        ("/api/ingest/calls?file_name=x.csv", vec![0xff, 0xfe, 0x00, 0x9c, 0x12, b'\n', 0x80], "UTF-8"),
        ("/api/ingest/incidents?file_name=x.csv&preset=../../x", CSV.into(), "preset"),
        // GeoJSON that is broken, the wrong shape, or polygons without codes.
        ("/api/ingest/districts?file_name=d.geojson", b"{\"type\": \"FeatureCollection\", \"features\": [".to_vec(), "GeoJSON"),
        ("/api/ingest/districts?file_name=d.geojson", b"{\"type\": \"Point\", \"coordinates\": [0, 0]}".to_vec(), "Geometry"),
        (
            "/api/ingest/districts?file_name=d.geojson",
            br#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}}]}"#.to_vec(),
            "code",
        ),
        ("/api/ingest/passwords?file_name=x.csv", CSV.into(), "incidents, calls, gps, districts, harm or call-weights"),
        ("/api/ingest/call-weights?file_name=c.csv", b"call_type,weight\nnoise,1\n".to_vec(), "priority"),
        ("/api/ingest/call-weights?file_name=c.csv", b"call_type,priority,weight\nnoise,,1\nnoise,,2\n".to_vec(), "line 3"),
        ("/api/ingest/harm?file_name=w.csv&table_version=1", b"offense,weight\nTheft,1\n".to_vec(), "name"),
        ("/api/ingest/harm?file_name=w.csv&table=t&table_version=1", b"offense,weight\nTheft,-1\n".to_vec(), "Theft"),
        ("/api/ingest/harm?file_name=w.csv&table=t&table_version=1", b"offense,weight\nTheft,lots\n".to_vec(), "line 2"),
        ("/api/ingest/harm?file_name=w.csv&table=../t&table_version=1", b"offense,weight\nTheft,1\n".to_vec(), "name"),
    ];
    for (path, body, says) in cases {
        let (status, _, text) = call(&app.router, upload(path, body, &analyst)).await;
        assert!(status.is_client_error(), "{path}: {status} {text}");
        assert!(text.to_lowercase().contains(&says.to_lowercase()), "{path}: the answer says why ({says}): {text}");
    }
    assert_eq!(app.store.bodega.incident_count().await.expect("count"), incidents, "nothing stored");
    assert_eq!(app.store.bodega.districts().await.expect("districts"), districts, "districts untouched");
    assert_eq!(batches(&app).await, batches_before, "no batch is left from a refused file");
    assert!(
        app.store.bodega.call_weights().await.expect("call weights").is_empty(),
        "no call weights from a refused file"
    );
}

/// The Cambridge Crime Harm Index as mapped to Vancouver's offence texts, uploaded as published:
/// checked by a dry run, stored and put in force, and every ranking after it says so; the same
/// file again changes nothing, and other weights under its version are refused.
#[tokio::test]
async fn an_analyst_uploads_a_harm_table_and_it_is_in_force() {
    let app = test_app().await;
    add_user(&app, "ana", &[Role::Analyst], &[]).await;
    let analyst = sign_in(&app, "ana").await;
    let file = std::fs::read(shared_data("harm/vancouver_mapping_cchi2020.csv")).expect("harm file");
    let rows = file.iter().filter(|b| **b == b'\n').count() as u64 - 1;
    let path = |extra: &str| {
        format!(
            "/api/ingest/harm?file_name=vancouver_mapping_cchi2020.csv&table=cambridge-chi&table_version=2020{extra}"
        )
    };
    let b = &app.store.bodega;

    let (status, _, body) = call(&app.router, upload(&path("&dry_run=true"), file.clone(), &analyst)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let s: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!((s["read"].as_u64(), s["loaded"].as_u64()), (Some(rows), Some(0)), "{s}");
    let loaded =
        |tables: Vec<bodega::harm::HarmTableInfo>| tables.into_iter().filter(|t| t.name == "cambridge-chi").count();
    assert_eq!(loaded(b.harm_tables().await.expect("tables")), 0, "a dry run stores nothing");

    let (status, _, body) = call(&app.router, upload(&path(""), file.clone(), &analyst)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let s: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!((s["read"].as_u64(), s["loaded"].as_u64()), (Some(rows), Some(rows)), "{s}");
    assert_eq!(s["in_force"], "harm table in force: cambridge-chi@2020 (was cchi@2020)");
    assert_eq!(b.active_harm_table().await.expect("active").version(), "cambridge-chi@2020");
    // Weights as the file gives them: Homicide weighs 5,475 days.
    let table = b.active_harm_table().await.expect("active");
    assert_eq!(table.weigh("Homicide"), Some(5475.0));
    let audit = audit_of(&app, "ingest_data").await;
    assert!(audit[0].detail.contains("harm table in force: cambridge-chi@2020 (was cchi@2020)"), "{}", audit[0].detail);

    let (_, _, body) = call(&app.router, upload(&path(""), file.clone(), &analyst)).await;
    let s: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!((s["loaded"].as_u64(), s["unchanged"].as_u64()), (Some(0), Some(rows)), "{s}");
    let other = b"offense,weight\nHomicide,1\n".to_vec();
    let (status, _, body) = call(&app.router, upload(&path(""), other, &analyst)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("2020"), "names the version taken: {body}");
}

#[test]
fn the_upload_screen_offers_every_preset_the_loader_knows() {
    let screen: Vec<&str> = app::upload::PRESETS.iter().map(|p| p.0).filter(|p| !p.is_empty()).collect();
    assert_eq!(screen, bodega::mapping::Mapping::PRESETS);
}

/// Uploads have their own time limit: a server whose requests get a millisecond still loads a
/// file (every other request there answers 408), so a large export is not cut off by the limit
/// meant for page and API calls.
#[tokio::test]
async fn an_upload_is_not_held_to_the_api_calls_time_limit() {
    let app = test_app().await;
    add_user(&app, "ana", &[Role::Analyst], &[]).await;
    let analyst = sign_in(&app, "ana").await;
    // A second server on the same Data Bodega, with a one-millisecond limit.
    let site = tempfile::tempdir().expect("site");
    let settings = server::config::Settings {
        auth: server::auth::config::AuthConfig { secure_cookie: false, ..Default::default() },
        ..Default::default()
    };
    let state =
        server::state::app_state(app.store.bodega.clone(), site.path(), "127.0.0.1:0".parse().expect("addr"), settings)
            .expect("state");
    let hurried = server::router::router(
        state,
        server::state::Limits {
            request_timeout: Duration::from_millis(1),
            max_body_bytes: server::config::DEFAULT_MAX_BODY_BYTES,
        },
    );
    let mut csv = String::from("id,occurred_at,offense,category,lat,lon\n");
    for i in 0..3_000 {
        csv.push_str(&format!("slow-{i},2020-12-30T10:00,Mischief,,49.2800,-123.1200\n"));
    }
    let (status, _, body) = call(&hurried, upload("/api/ingest/incidents?file_name=big.csv", csv, &analyst)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let s: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(s["loaded"].as_u64(), Some(3_000), "{s}");
    // A sign-in (a password hash: tens of milliseconds) keeps the short limit.
    let (status, _, _) = call(&hurried, login_request("ana", PASSWORD, serde_json::json!({}))).await;
    assert_eq!(status, StatusCode::REQUEST_TIMEOUT, "everything else keeps the short limit");
}
