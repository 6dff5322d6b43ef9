//! The Chief's Daily Snapshot for a fixed date of the real demo data (30 November 2020), each
//! figure checked against a count made here straight from the demo CSV, and its files.

use std::collections::BTreeMap;

use protocol::sync::{Fix, Mutation, MutationKind};
use protocol::{Role, Transition};

use super::auth::json_call;
use super::*;

const DATE: &str = "2020-11-30";

/// The harm track of each Vancouver offence, written out here (not read from Beatbook's map).
fn track(offense: &str) -> &'static str {
    match offense {
        "Homicide" | "Offence Against a Person" => "violent",
        "Vehicle Collision or Pedestrian Struck (with Injury)"
        | "Vehicle Collision or Pedestrian Struck (with Fatality)" => "quality_of_life",
        _ => "property",
    }
}

struct CsvRow {
    day: jiff::civil::Date,
    t: i64,
    offense: String,
    location: Option<(f64, f64)>,
}

fn demo_rows() -> Vec<CsvRow> {
    let tz = jiff::tz::TimeZone::get("America/Vancouver").expect("tz");
    let mut rdr = csv::Reader::from_reader(bodega::demo::VANCOUVER_2020_CSV);
    rdr.records()
        .map(|rec| {
            let rec = rec.expect("row");
            let local: jiff::civil::DateTime = rec[1].parse().expect("local time");
            let t = tz.to_ambiguous_zoned(local).compatible().expect("zoned").timestamp().as_second();
            let location = match (rec[4].parse::<f64>(), rec[5].parse::<f64>()) {
                (Ok(lat), Ok(lon)) => Some((lat, lon)),
                _ => None,
            };
            CsvRow { day: local.date(), t, offense: rec[2].to_string(), location }
        })
        .collect()
}

fn days_back(n: i64) -> jiff::civil::Date {
    let d: jiff::civil::Date = DATE.parse().expect("date");
    d.checked_sub(jiff::Span::new().days(n)).expect("date")
}

/// Incidents of a track with local dates in `[first, last]`.
fn count(rows: &[CsvRow], key: &str, first: jiff::civil::Date, last: jiff::civil::Date) -> i64 {
    rows.iter().filter(|r| track(&r.offense) == key && r.day >= first && r.day <= last).count() as i64
}

/// VPD's placeholder for "location not known" (flagged, never mapped): within 15 m of this point.
fn at_placeholder((lat, lon): (f64, f64)) -> bool {
    let (dlat, dlon) = ((lat - 49.281_847).to_radians(), (lon + 123.099_524).to_radians());
    6_371_000.0 * (dlat * dlat + (dlon * lat.to_radians().cos()).powi(2)).sqrt() <= 15.0
}

async fn analyst(app: &TestApp) -> String {
    add_user(app, "ana", &[Role::Analyst], &[]).await;
    sign_in(app, "ana").await
}

async fn snapshot_json(app: &TestApp, cookie: &str, date: &str) -> (StatusCode, serde_json::Value) {
    let (status, _, text) =
        call(&app.router, json_call("/api/snapshot", &serde_json::json!({ "date": date }), Some(cookie))).await;
    (status, serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)))
}

#[tokio::test]
async fn the_snapshot_counts_match_an_independent_count_of_the_demo_csv() {
    let app = test_app().await;
    on_count_table(&app).await;
    let cookie = analyst(&app).await;
    let (status, s) = snapshot_json(&app, &cookie, DATE).await;
    assert_eq!(status, StatusCode::OK, "{s}");
    let rows = demo_rows();
    let date = days_back(0);
    let year_start = jiff::civil::date(2020, 1, 1);
    for key in ["violent", "property", "quality_of_life"] {
        let cat = s["categories"].as_array().expect("categories").iter().find(|c| c["key"] == key).expect(key);
        let w = cat["windows"].as_array().expect("windows");
        let expect = [
            ("24 h", count(&rows, key, date, date), Some(count(&rows, key, days_back(1), days_back(1)))),
            ("7 days", count(&rows, key, days_back(6), date), Some(count(&rows, key, days_back(13), days_back(7)))),
            ("28 days", count(&rows, key, days_back(27), date), Some(count(&rows, key, days_back(55), days_back(28)))),
            ("Year to date", count(&rows, key, year_start, date), None),
        ];
        for (i, (name, current, prior)) in expect.into_iter().enumerate() {
            assert_eq!(w[i]["window"], name);
            assert_eq!(w[i]["current"].as_i64(), Some(current), "{key} {name} current");
            assert_eq!(w[i]["prior"].as_i64(), prior, "{key} {name} prior");
            // The demo holds 2020 only: last year is honestly zero, and no % change is shown.
            assert_eq!(w[i]["last_year"].as_i64(), Some(0), "{key} {name} last year");
        }
        let daily: Vec<i64> = cat["daily"].as_array().expect("daily").iter().map(|v| v.as_i64().expect("n")).collect();
        let expect_daily: Vec<i64> = (0..28).rev().map(|i| count(&rows, key, days_back(i), days_back(i))).collect();
        assert_eq!(daily, expect_daily, "{key} daily");
    }
    // No calls for service in the demo: a zero row, not a missing one.
    let calls = s["categories"].as_array().expect("c").iter().find(|c| c["key"] == "calls").expect("calls row");
    assert!(calls["windows"].as_array().expect("w").iter().all(|w| w["current"] == 0));
    assert!(s["categories"].as_array().expect("c").iter().all(|c| c["key"] != "unclassified"), "all demo offences map");

    // Top hot spots: 150 m cells over the 28 days, counted here from the CSV.
    let tz = jiff::tz::TimeZone::get("America/Vancouver").expect("tz");
    let end = days_back(-1).to_zoned(tz.clone()).expect("end").timestamp().as_second();
    let start = days_back(27).to_zoned(tz.clone()).expect("start").timestamp().as_second();
    let lattice = hotspot::Lattice::new(hotspot::Epsg::utm(32610).expect("zone"), 150).expect("lattice");
    let mut cells: BTreeMap<(i64, i64), i64> = BTreeMap::new();
    for r in &rows {
        let Some(loc) = r.location else { continue };
        if r.t < start || r.t >= end || at_placeholder(loc) {
            continue;
        }
        let k = lattice.key_of(loc.1, loc.0).expect("key");
        *cells.entry((k.ix, k.iy)).or_default() += 1;
    }
    let mut ranked: Vec<((i64, i64), i64)> = cells.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let top: Vec<((i64, i64), i64)> = s["hot_spots"]
        .as_array()
        .expect("hot spots")
        .iter()
        .map(|h| ((h["ix"].as_i64().expect("ix"), h["iy"].as_i64().expect("iy")), h["incidents"].as_i64().expect("n")))
        .collect();
    assert_eq!(top, ranked[..10].to_vec());
    // With the count table, harm equals incidents; the share of the top cells follows.
    let total: i64 = ranked.iter().map(|r| r.1).sum();
    let cells_in_area = s["concentration"]["cells"].as_u64().expect("cells");
    let k1 = ((cells_in_area as f64) * 0.01).ceil() as usize;
    let top1: i64 = ranked.iter().take(k1).map(|r| r.1).sum();
    let got = s["concentration"]["top_1"].as_f64().expect("top_1");
    assert!((got - top1 as f64 / total as f64).abs() < 1e-9, "top 1%: {got}");
    // The demo's four districts span 0.2025° × 0.117° of longitude and latitude: about 98 × 89 cells.
    assert!((8_000..10_000).contains(&cells_in_area), "{cells_in_area}");
    let curve = s["concentration"]["curve"].as_array().expect("curve");
    let ys: Vec<f64> = curve.iter().map(|p| p[1].as_f64().expect("y")).collect();
    assert!(ys.windows(2).all(|w| w[0] <= w[1] + 1e-12) && (ys[ys.len() - 1] - 1.0).abs() < 1e-9, "{ys:?}");

    // Notable incidents over the 7 days: the homicides (VPD gives no robbery type).
    let homicides = rows.iter().filter(|r| r.offense == "Homicide" && r.day >= days_back(6) && r.day <= date).count();
    assert_eq!(s["notable"].as_array().expect("notable").len(), homicides);
}

/// Every string operand in a PDF: literal `(…)` (with `\\` escapes) and hex `<…>`.
fn pdf_strings(pdf: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < pdf.len() {
        match pdf[i] {
            b'(' => {
                let (mut s, mut depth) = (Vec::new(), 1);
                i += 1;
                while i < pdf.len() && depth > 0 {
                    match pdf[i] {
                        b'\\' if i + 1 < pdf.len() => {
                            i += 1;
                            s.push(match pdf[i] {
                                b'n' => b'\n',
                                b'r' => b'\r',
                                b't' => b'\t',
                                c => c,
                            });
                        }
                        b'(' => {
                            depth += 1;
                            s.push(b'(');
                        }
                        b')' => {
                            depth -= 1;
                            if depth > 0 {
                                s.push(b')');
                            }
                        }
                        c => s.push(c),
                    }
                    i += 1;
                }
                out.push(s);
            }
            b'<' if pdf.get(i + 1) != Some(&b'<') && pdf.get(i.wrapping_sub(1)) != Some(&b'<') => {
                let end = pdf[i..].iter().position(|&c| c == b'>').map_or(pdf.len(), |p| i + p);
                let hex: Vec<u8> = pdf[i + 1..end].iter().copied().filter(u8::is_ascii_hexdigit).collect();
                out.push(
                    hex.chunks(2).filter_map(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()).collect(),
                );
                i = end + 1;
            }
            _ => i += 1,
        }
    }
    out
}

fn crumbs_inside(seq: u64, t0: i64, minutes: i64, (lat, lon): (f64, f64)) -> Mutation {
    let fixes = (0..=minutes * 4)
        .map(|i| Fix { t: t0 + i * 15, lat, lon, accuracy_m: Some(8.0), speed_mps: Some(0.0) })
        .collect();
    Mutation { seq, kind: MutationKind::Breadcrumbs { fixes }, device_time: t0 }
}

#[tokio::test]
async fn missions_and_koper_compliance_by_district_come_from_steps_and_gps() {
    let app = test_app().await;
    on_count_table(&app).await;
    let cmd = add_user(&app, "cmd", &[Role::Command], &[]).await;
    let sgt = add_user(&app, "sgt1", &[Role::Sergeant], &["D1"]).await;
    let off = add_user(&app, "off1", &[Role::Officer], &["D1"]).await;
    let b = &app.store.bodega;
    let subject = |id: i64| async move { b.user_by_id(id).await.expect("q").expect("u").subject() };
    let koper = b
        .mission_menu(false)
        .await
        .expect("menu")
        .into_iter()
        .find(|t| t.tactic == "directed_patrol")
        .expect("koper")
        .id;
    // Shift B on 30 Nov 2020: 14:00–22:00 Pacific = 22:00–06:00 UTC.
    let (start, end) = (1_606_773_600, 1_606_802_400);
    let places = [(49.2800, -123.1200), (49.2830, -123.1150), (49.2760, -123.1300)];
    for (i, (lat, lon)) in places.iter().enumerate() {
        let m = bodega::missions::NewMission {
            id: format!("0193b3c4-0000-7000-8000-0000000005a{i}"),
            template_id: koper,
            district: "D1".into(),
            shift: "B".into(),
            shift_date: DATE.into(),
            window_start: start,
            window_end: end,
            place: bodega::missions::Place::Point { lat: *lat, lon: *lon, radius_m: 75.0 },
            place_label: format!("place {i}"),
            priority: 1,
            instructions: String::new(),
            reason: String::new(),
            issue: true,
        };
        b.create_mission(&m, &subject(cmd).await, None).await.expect("issue");
    }
    let sgt_s = subject(sgt).await;
    let assign = protocol::mission::TransitionArgs { assignee_user_id: Some(off), ..Default::default() };
    for i in 0..2 {
        let id = format!("0193b3c4-0000-7000-8000-0000000005a{i}");
        b.transition_mission(&id, Transition::Acknowledge, &sgt_s, &Default::default()).await.expect("ack");
        b.transition_mission(&id, Transition::Assign, &sgt_s, &assign).await.expect("assign");
    }
    // The officer works both: twelve minutes at the first place, two at the second.
    let officer = sign_in(&app, "off1").await;
    bodega::testing::signed_in_during(b, off, "snap-phone", start, end).await;
    let mutations = vec![crumbs_inside(1, start + 3_600, 12, places[0]), crumbs_inside(2, start + 7_200, 2, places[1])];
    let (status, _, text) = call(&app.router, push_request("snap-phone", mutations, None, Some(&officer))).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let off_s = subject(off).await;
    for i in 0..2 {
        let id = format!("0193b3c4-0000-7000-8000-0000000005a{i}");
        b.transition_mission(&id, Transition::Start, &off_s, &Default::default()).await.expect("start");
        let args = protocol::mission::TransitionArgs {
            outcome: Some(serde_json::json!({ "contacts": 1, "conditions": "Quiet", "reports": 0 })),
            ..Default::default()
        };
        b.transition_mission(&id, Transition::Complete, &off_s, &args).await.expect("complete");
    }

    let cookie = analyst(&app).await;
    let (status, s) = snapshot_json(&app, &cookie, DATE).await;
    assert_eq!(status, StatusCode::OK, "{s}");
    let d1 = s["missions"].as_array().expect("missions").iter().find(|m| m["district"] == "D1").expect("D1").clone();
    assert_eq!(
        (d1["planned"].as_i64(), d1["acknowledged"].as_i64(), d1["completed"].as_i64()),
        (Some(3), Some(2), Some(2))
    );
    // Both completions had GPS; only the twelve-minute one is a Koper visit.
    assert_eq!((d1["koper_with_gps"].as_i64(), d1["koper_compliant"].as_i64()), (Some(2), Some(1)));
    let d2 = s["missions"].as_array().expect("missions").iter().find(|m| m["district"] == "D2").expect("D2").clone();
    assert_eq!(d2["planned"].as_i64(), Some(0));

    // The CSV carries the same figures; the layout is pinned by an insta snapshot.
    let (status, headers, csv) = call(&app.router, with_cookie(get(&format!("/snapshot/{DATE}.csv")), &cookie)).await;
    assert_eq!(status, StatusCode::OK, "{csv}");
    assert!(headers[header::CONTENT_TYPE].to_str().expect("type").starts_with("text/csv"));
    assert!(headers[header::CONTENT_DISPOSITION].to_str().expect("cd").contains("beatbook-snapshot-2020-11-30.csv"));
    assert!(csv.contains("missions,D1,koper compliant,1\n"), "{csv}");
    insta::assert_snapshot!("snapshot_2020_11_30_csv", csv);

    // Ingested text that reads as a spreadsheet formula is written so it cannot run (OWASP's
    // CSV-injection guidance); numbers keep their sign.
    let mut hostile = s.clone();
    hostile["notable"] = serde_json::json!([{
        "when": "2020-11-30 01:00", "offense": "=HYPERLINK(\"http://evil\",\"x\")", "address": "@SUM(A1)",
        "district": "+D1",
    }]);
    let hostile: app::snapshot::Snapshot = serde_json::from_value(hostile).expect("a snapshot");
    let csv = server::snapshot::to_csv(&hostile);
    assert!(csv.contains("notable,1,offense,\"'=HYPERLINK("), "{csv}");
    assert!(csv.contains("notable,1,address,'@SUM(A1)\n"), "{csv}");
    assert!(csv.contains("notable,1,district,'+D1\n"), "{csv}");
    assert!(!csv.lines().any(|l| l.split(',').any(|c| c.starts_with(['=', '@']))), "{csv}");
}

#[tokio::test]
async fn the_snapshot_downloads_as_pdf_and_csv_for_those_allowed_and_every_export_is_recorded() {
    let app = test_app().await;
    let cookie = analyst(&app).await;
    let resp =
        app.router.clone().oneshot(with_cookie(get(&format!("/snapshot/{DATE}.pdf")), &cookie)).await.expect("ok");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()[header::CONTENT_TYPE], "application/pdf");
    let pdf = resp.into_body().collect().await.expect("body").to_bytes();
    assert!(pdf.starts_with(b"%PDF-"), "a PDF");
    // The page text, read back from the content streams (stored uncompressed, base-14 fonts,
    // WinAnsiEncoding: 0x97 is the em dash).
    let shown = pdf_strings(&pdf);
    for words in [&b"Chief's Daily Snapshot \x97 2020-11-30"[..], b"Violent crime", b"Top 10 harm hot spots (28 days)"]
    {
        assert!(shown.iter().any(|s| s == words), "the PDF shows {}", String::from_utf8_lossy(words));
    }
    let shows = |needle: &[u8]| pdf.windows(needle.len()).any(|w| w == needle);
    assert!(shows(b"/Count 1"), "one A4 page for the demo date");

    // Officers and sergeants see missions, not the chief's exports; anonymous callers sign in.
    add_user(&app, "off1", &[Role::Officer], &["D1"]).await;
    let officer = sign_in(&app, "off1").await;
    assert_eq!(
        call(&app.router, with_cookie(get(&format!("/snapshot/{DATE}.pdf")), &officer)).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(call(&app.router, get(&format!("/snapshot/{DATE}.csv"))).await.0, StatusCode::UNAUTHORIZED);
    // Bad input names the field.
    let (status, _, body) = call(&app.router, with_cookie(get("/snapshot/30.11.2020.pdf"), &cookie)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("date") && body.contains("30.11.2020"), "{body}");
    let (status, _, _) = call(&app.router, with_cookie(get(&format!("/snapshot/{DATE}.docx")), &cookie)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = snapshot_json(&app, &cookie, "yesterday").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    // Each export, and each refusal, is on record.
    let exports = app
        .store
        .bodega
        .search_audit(&bodega::audit::AuditQuery { action: Some("export_data".into()), ..Default::default() })
        .await
        .expect("audit");
    let targets: Vec<(&str, &str)> = exports.iter().map(|e| (e.target.as_str(), e.outcome.as_str())).collect();
    assert!(targets.contains(&("/snapshot/2020-11-30.pdf", "success")), "{targets:?}");
    assert!(targets.contains(&("/snapshot/2020-11-30.pdf", "denied")), "{targets:?}");
    assert!(targets.contains(&("/snapshot/2020-11-30.csv", "denied")), "{targets:?}");
}
