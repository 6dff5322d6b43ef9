//! Harm weight tables in the product: a department's table, once in force, weighs every score
//! the screens and devices show, each says which table it used, and versions never change meaning.

use protocol::Role;

use super::auth::json_call;
use super::*;

async fn post(app: &TestApp, path: &str, body: serde_json::Value, cookie: &str) -> serde_json::Value {
    let (status, _, text) = call(&app.router, json_call(path, &body, Some(cookie))).await;
    assert_eq!(status, StatusCode::OK, "{path}: {text}");
    serde_json::from_str(&text).expect("json")
}

/// Bicycle thefts weigh 50, everything else the demo records 1.
fn bicycle_table() -> Vec<(String, f64, String)> {
    let mut rows: Vec<(String, f64, String)> = [
        "Break and Enter Commercial",
        "Break and Enter Residential/Other",
        "Homicide",
        "Mischief",
        "Offence Against a Person",
        "Other Theft",
        "Theft from Vehicle",
        "Theft of Vehicle",
        "Vehicle Collision or Pedestrian Struck (with Fatality)",
        "Vehicle Collision or Pedestrian Struck (with Injury)",
    ]
    .iter()
    .map(|o| (o.to_string(), 1.0, "test".to_string()))
    .collect();
    rows.push(("theft of bicycle ".into(), 50.0, "test: case and spaces do not matter".into()));
    rows
}

#[tokio::test]
async fn the_table_in_force_weighs_every_screen_and_the_devices_and_each_says_which() {
    let app = test_app().await;
    let b = &app.store.bodega;
    add_user(&app, "ana", &[Role::Analyst], &[]).await;
    add_user(&app, "cmd", &[Role::Command], &[]).await;
    add_user(&app, "off1", &[Role::Officer], &["D1"]).await;
    let (ana, cmd, off) = (sign_in(&app, "ana").await, sign_in(&app, "cmd").await, sign_in(&app, "off1").await);
    let q = serde_json::json!({ "query": { "end": "2020-11-30", "days": 28, "district": "D1" } });

    // The demo runs on the shipped harm index, and every screen says so.
    let plain = post(&app, "/api/crime", q.clone(), &ana).await;
    assert_eq!(plain["harm_table"], "cchi@2020");

    // Load and choose the department's table.
    assert!(b.load_harm_table("dept", "2026-11", &bicycle_table()).await.expect("load"));
    assert!(!b.load_harm_table("dept", "2026-11", &bicycle_table()).await.expect("same again: nothing to do"));
    assert_eq!(b.activate_harm_table("dept", "2026-11").await.expect("activate"), "cchi@2020");
    let tables = b.harm_tables().await.expect("list");
    assert_eq!(tables.len(), 3, "the two shipped tables and the department's");
    assert!(tables.iter().any(|t| t.name == "dept" && t.active && t.offenses == 11));

    // The crime view: each cell's harm is its count plus 49 per bicycle theft, from the cell's
    // own composition.
    let weighed = post(&app, "/api/crime", q.clone(), &ana).await;
    assert_eq!(weighed["harm_table"], "dept@2026-11");
    assert_eq!(weighed["cells"].as_array().map(Vec::len), plain["cells"].as_array().map(Vec::len));
    // The busiest cells first, until three with bicycle thefts have been checked.
    let mut cells: Vec<&serde_json::Value> =
        weighed["cells"].as_array().expect("cells").iter().filter(|c| c["count"].as_u64() > Some(0)).collect();
    cells.sort_by_key(|c| std::cmp::Reverse(c["count"].as_u64()));
    let mut with_bicycles = 0;
    for cell in cells {
        let body = serde_json::json!({ "query": q["query"], "ix": cell["ix"], "iy": cell["iy"] });
        let parts = post(&app, "/api/crime/cell", body, &ana).await;
        let bicycles: u64 = parts["parts"]
            .as_array()
            .expect("parts")
            .iter()
            .filter(|p| p["offense"] == "Theft of Bicycle")
            .map(|p| p["count"].as_u64().expect("n"))
            .sum();
        let count = cell["count"].as_u64().expect("count");
        assert_eq!(cell["harm"].as_f64(), Some((count + 49 * bicycles) as f64), "{cell}");
        with_bicycles += usize::from(bicycles > 0);
        if with_bicycles == 3 {
            break;
        }
    }
    assert_eq!(with_bicycles, 3);

    // Mission recommendations and the snapshot say the table they ranked by.
    let shift = serde_json::json!({ "district": "D1", "shift": "B", "shift_date": "2020-12-15" });
    let rec = post(&app, "/api/missions/recommend", serde_json::json!({ "shift": shift }), &cmd).await;
    assert_eq!(rec["harm_table"], "dept@2026-11");
    let snap = post(&app, "/api/snapshot", serde_json::json!({ "date": "2020-11-30" }), &cmd).await;
    assert_eq!(snap["harm_table"], "dept@2026-11");

    // Officers' devices get the weights with the aggregates, and score with them.
    let cache = post(&app, "/api/field_cache", serde_json::json!({}), &off).await;
    assert_eq!(cache["aggregates"]["harm_table"], "dept@2026-11");
    let weights: Vec<(String, f64)> = cache["aggregates"]["offenses"]
        .as_array()
        .expect("offences")
        .iter()
        .map(|o| (o["offense"].as_str().expect("o").to_string(), o["weight"].as_f64().expect("w")))
        .collect();
    assert!(weights.iter().all(|(o, w)| *w == if o == "Theft of Bicycle" { 50.0 } else { 1.0 }), "{weights:?}");

    // A version never changes meaning; bad tables are refused whole and say why.
    let mut changed = bicycle_table();
    changed[0].1 = 7.0;
    let err = b.load_harm_table("dept", "2026-11", &changed).await.expect_err("other weights, same version");
    assert!(err.to_string().contains("new version"), "{err}");
    let mut negative = bicycle_table();
    negative[1].1 = -1.0;
    let err = b.load_harm_table("dept", "2026-12", &negative).await.expect_err("negative weight");
    assert!(err.to_string().contains("Break and Enter Residential/Other"), "{err}");
    assert!(b.load_harm_table("dept", "has space", &bicycle_table()).await.is_err());
    assert!(b.activate_harm_table("dept", "2027-01").await.is_err(), "an unknown version cannot be chosen");
    assert_eq!(b.harm_tables().await.expect("list").len(), 3, "nothing half-loaded");

    // Back to the plain count.
    assert_eq!(b.activate_harm_table("count", "1").await.expect("count"), "dept@2026-11");
    assert_eq!(post(&app, "/api/crime", q, &ana).await["harm_table"], "count@1");
}

#[test]
fn the_weights_command_loads_lists_chooses_and_refuses_a_bad_file_in_one_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("b.db").display());
    let env = [("BEATBOOK_DATABASE_URL", url.as_str())];
    let file = dir.path().join("weights.csv");
    std::fs::write(&file, "offense,weight,note\nTheft of Bicycle,50,department choice\nMischief,2,\n").expect("csv");
    let file = file.to_str().expect("path");
    let out = server(&["weights", "load", file, "--name", "dept", "--table-version", "v1", "--activate"], &env);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("dept@v1: 2 offences loaded") && text.contains("in force: dept@v1 (was cchi@2020)"),
        "{text}"
    );
    let list = server(&["weights", "list"], &env);
    assert_eq!(
        String::from_utf8_lossy(&list.stdout),
        "  count@1 (every offence weighs 1, built in)\n  cchi@2020 (115 offences)\n  cchi-all@2020 (115 offences)\n* dept@v1 (2 offences)\n"
    );
    let back = server(&["weights", "use", "count"], &env);
    assert!(String::from_utf8_lossy(&back.stdout).contains("in force: count@1 (was dept@v1)"));

    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "offense,weight\nMischief,two\n").expect("csv");
    let out =
        server(&["weights", "load", bad.to_str().expect("path"), "--name", "dept", "--table-version", "v2"], &env);
    assert_one_clear_line(&out, "line 2: weight 'two' is not a number");
    let out = server(&["weights", "use", "dept", "v9"], &env);
    assert_one_clear_line(&out, "no harm table dept version v9 is loaded");
}

/// Acceptance: the demo runs on the shipped index (`cchi@2020`), each place's harm is its
/// incidents times the shipped weights (checked here from the place's own composition), and the
/// ranking by harm is not the ranking by count.
#[tokio::test]
async fn the_demo_ranks_by_the_shipped_harm_index_and_not_as_the_count_does() {
    let app = test_app().await;
    add_user(&app, "ana", &[Role::Analyst], &[]).await;
    let ana = sign_in(&app, "ana").await;
    let q = serde_json::json!({ "query": { "end": "2020-12-31", "days": 28, "district": "D1" } });
    let view = post(&app, "/api/crime", q.clone(), &ana).await;
    assert_eq!(view["harm_table"], "cchi@2020");
    let weights: std::collections::HashMap<String, f64> =
        bodega::harm::shipped_table("cchi").into_iter().map(|(o, w, _)| (o, w)).collect();
    let mut cells: Vec<&serde_json::Value> =
        view["cells"].as_array().expect("cells").iter().filter(|c| c["count"].as_u64() > Some(0)).collect();
    cells.sort_by(|a, b| b["harm"].as_f64().expect("harm").total_cmp(&a["harm"].as_f64().expect("harm")));
    // Hand check of the five heaviest places from what happened there.
    for cell in &cells[..5] {
        let body = serde_json::json!({ "query": q["query"], "ix": cell["ix"], "iy": cell["iy"] });
        let parts = post(&app, "/api/crime/cell", body, &ana).await;
        let by_hand: f64 = parts["parts"]
            .as_array()
            .expect("parts")
            .iter()
            .map(|p| {
                let offense = p["offense"].as_str().expect("offense").to_lowercase();
                p["count"].as_f64().expect("n") * weights[&offense]
            })
            .sum();
        assert!((cell["harm"].as_f64().expect("harm") - by_hand).abs() < 1e-9, "{cell} vs {by_hand}");
    }
    // Among the twenty heaviest, a place with fewer incidents ranks above one with more.
    let top: Vec<(f64, u64)> =
        cells[..20].iter().map(|c| (c["harm"].as_f64().expect("harm"), c["count"].as_u64().expect("n"))).collect();
    let inverted = top.iter().enumerate().any(|(i, a)| top[i + 1..].iter().any(|b| a.0 > b.0 && a.1 < b.1));
    assert!(inverted, "harm ranks as the count does: {top:?}");
}
