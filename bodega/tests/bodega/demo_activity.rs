//! The demo's synthetic calls for service and patrol tracks: marked synthetic, plausible as a
//! dispatcher or a patrol sergeant would read them, and loaded once however often the demo is
//! seeded.

use bodega::demo;
use bodega::testing::fresh_store;

async fn scalar(b: &bodega::Bodega, sql: &'static str) -> i64 {
    bodega::on_pool!(b, pool => sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await).expect(sql)
}

#[tokio::test]
async fn synthetic_calls_and_patrol_tracks_are_marked_plausible_and_loaded_once() {
    let store = fresh_store().await;
    let b = &store.bodega;
    demo::seed_demo(b).await.expect("seed incidents");
    let a = demo::seed_demo_activity(b).await.expect("seed activity");

    // Two calls per located, unflagged Vancouver incident; none rejected; all marked synthetic.
    let located = scalar(b, "SELECT COUNT(*) FROM incidents WHERE lat IS NOT NULL AND geo_flag IS NULL").await;
    assert_eq!(located, 33_761 - 346);
    assert_eq!((a.calls.loaded, a.calls.rejected), (2 * located as u64, 0));
    assert_eq!(
        scalar(
            b,
            "SELECT COUNT(*) FROM calls_for_service WHERE source = 'synthetic-cad' AND source_id LIKE 'SYN-2020-%'"
        )
        .await,
        2 * located
    );
    // The times a dispatcher expects: in 2020 (local), in order, top priority sent within 4 minutes.
    // 2020-01-01T00:00 and 2021-01-01T00:00 PST.
    let outside = "SELECT COUNT(*) FROM calls_for_service WHERE received_at < 1577865600 OR received_at >= 1609488000";
    assert_eq!(scalar(b, outside).await, 0);
    let disorder =
        "SELECT COUNT(*) FROM calls_for_service WHERE dispatched_at < received_at OR arrived_at < dispatched_at \
                    OR cleared_at < arrived_at OR cleared_at IS NULL";
    assert_eq!(scalar(b, disorder).await, 0);
    assert_eq!(
        scalar(b, "SELECT COUNT(*) FROM calls_for_service WHERE priority = '1' AND dispatched_at - received_at > 240")
            .await,
        0
    );
    let cancelled = scalar(b, "SELECT COUNT(*) FROM calls_for_service WHERE disposition = 'CANCELLED'").await;
    assert!(cancelled > 0 && cancelled < located * 2 / 10, "{cancelled} cancelled");
    assert_eq!(
        scalar(
            b,
            "SELECT COUNT(*) FROM calls_for_service WHERE disposition = 'CANCELLED' AND dispatched_at IS NOT NULL"
        )
        .await,
        0
    );
    // Calls gather where crime does: the districts rank the same by calls as by incidents.
    let ranked = |sql: &'static str| async move {
        bodega::on_pool!(b, pool => sqlx::query_scalar::<_, String>(sql).fetch_all(pool).await).expect("ranking")
    };
    let incidents = ranked(
        "SELECT district_code FROM incidents WHERE district_code IS NOT NULL GROUP BY district_code ORDER BY COUNT(*) DESC",
    )
    .await;
    assert_eq!(incidents.len(), 4);
    let calls = ranked(
        "SELECT district_code FROM calls_for_service WHERE district_code IS NOT NULL GROUP BY district_code \
         ORDER BY COUNT(*) DESC",
    )
    .await;
    assert_eq!(calls, incidents);

    // Patrol tracks: one unit per district and shift, 25–31 Dec, a fix every 30 s for 8 hours.
    assert_eq!((a.gps.loaded, a.gps.rejected), (4 * 3 * 7 * 960, 0));
    assert_eq!(scalar(b, "SELECT COUNT(DISTINCT device) FROM gps_fixes WHERE device LIKE 'synthetic-avl-%'").await, 12);
    // From 2020-12-25T00:00 PST to the last night shift's end, 2021-01-01T06:00 PST.
    let outside = "SELECT COUNT(*) FROM gps_fixes WHERE fix_at < 1608883200 OR fix_at >= 1609509600";
    assert_eq!(scalar(b, outside).await, 0);
    assert_eq!(scalar(b, "SELECT COUNT(*) FROM gps_fixes WHERE accuracy_m < 5 OR accuracy_m > 15").await, 0);
    // The cars stop at places 10–16 minutes (the Koper rule): runs of standing fixes of 20–32
    // fixes, except where the shift ends mid-stop.
    let speeds: Vec<(String, f64)> = bodega::on_pool!(b, pool => sqlx::query_as(
        "SELECT device, speed_mps FROM gps_fixes ORDER BY device, fix_at").fetch_all(pool).await)
    .expect("fixes");
    let (mut stops, mut odd, mut run) = (0, 0, 0);
    for (i, (device, speed)) in speeds.iter().enumerate() {
        let standing = *speed == 0.0;
        run = if standing { run + 1 } else { 0 };
        let run_ends = standing && speeds.get(i + 1).is_none_or(|(d, s)| d != device || *s != 0.0);
        if run_ends {
            stops += 1;
            if !(20..=32).contains(&run) {
                odd += 1;
            }
        }
    }
    assert!(stops > 12 * 7 * 10, "{stops} stops");
    // At most one cut-short stop per unit and shift (the shift ended during it).
    assert!(odd <= 12 * 7, "{odd} stops outside 10–16 minutes");

    // Seeding again loads nothing new.
    let again = demo::seed_demo_activity(b).await.expect("seed again");
    assert_eq!((again.calls.loaded, again.calls.updated, again.calls.unchanged), (0, 0, 2 * located as u64));
    assert_eq!((again.gps.loaded, again.gps.unchanged), (0, 4 * 3 * 7 * 960));
}

/// The demo's missions: every lifecycle state in the last week, eight earlier weeks of finished
/// work, each step dated in its shift and taken by the role that takes it, the visits on the GPS
/// track, the last week's follow-ups waiting, and none on a day the browser tests keep free.
#[tokio::test]
async fn demo_missions_cover_every_state_and_nine_weeks_with_tracks_and_are_seeded_once() {
    use bodega::demo_missions::{seed_demo_missions, EARLIER_WEEKS, FIELD_OFFICER, KEPT_FREE};
    use protocol::mission::{MissionStatus, Place};
    let store = fresh_store().await;
    let b = &store.bodega;
    demo::seed_demo(b).await.expect("seed incidents");
    demo::seed_demo_accounts(b, "$argon2id$unused").await.expect("accounts");
    b.ensure_default_menu().await.expect("menu");
    let created = seed_demo_missions(b).await.expect("seed missions");
    assert!(created > 4 * (2 * EARLIER_WEEKS as usize + 7), "{created} missions");

    let today = demo::demo_today(b).await.expect("today").expect("a demo today");
    let last_week = (today - jiff::Span::new().days(6)).to_string();
    for (code, kept) in KEPT_FREE {
        let all = b
            .missions(&bodega::missions::MissionFilter { district: Some(code.into()), ..Default::default() })
            .await
            .expect("missions");
        let officer = b
            .user_by_username(&format!("d{}.officer{FIELD_OFFICER}", &code[1..]))
            .await
            .expect("store")
            .expect("field officer");
        // Every state, in the last week.
        let recent: std::collections::BTreeSet<&str> =
            all.iter().filter(|m| m.shift_date >= last_week).map(|m| m.status.as_str()).collect();
        let every: std::collections::BTreeSet<&str> = MissionStatus::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(recent, every, "{code}: states of the last week");
        // Finished work in each of the eight weeks before (weeks ending on the demo's today).
        let weeks: std::collections::BTreeSet<i32> = all
            .iter()
            .filter(|m| m.shift_date < last_week)
            .filter(|m| matches!(m.status, MissionStatus::Completed | MissionStatus::Reviewed))
            .map(|m| {
                m.shift_date.parse::<jiff::civil::Date>().expect("date").until(today).expect("days").get_days() / 7
            })
            .collect();
        assert_eq!(weeks, (1..=EARLIER_WEEKS as i32).collect(), "{code}: weeks back with finished missions");
        for m in &all {
            assert!(m.id.starts_with("demo-") && m.reason.contains("Synthetic"), "{}", m.id);
            assert!(!m.place_label.is_empty(), "{}: a named place", m.id);
            let day: jiff::civil::Date = m.shift_date.parse().expect("date");
            assert!(day == today || day.month() != 12 || !kept.contains(&day.day()), "{} on a kept day", m.id);
            if let Some(who) = m.assignee_user_id {
                assert_eq!(who, officer.id, "{}: worked by the field officer", m.id);
            }
            // Each step dated in order: issued before the shift, the visit within it.
            let events = b.mission_events(&m.id).await.expect("events");
            assert!(events.windows(2).all(|w| w[0].server_time <= w[1].server_time), "{}: steps in order", m.id);
            assert!(events[0].server_time < m.window_start, "{}: issued before the shift", m.id);
            for e in events.iter().filter(|e| matches!(e.transition.as_str(), "start" | "complete" | "not_complete")) {
                assert!(
                    (m.window_start..m.window_end).contains(&e.server_time),
                    "{}: {} in the shift",
                    m.id,
                    e.transition
                );
            }
            // A finished visit shows on the track: the template's minutes inside the cell.
            if matches!(m.status, MissionStatus::Completed | MissionStatus::Reviewed) {
                assert!(m.outcome_note.as_deref().is_some_and(|n| n.contains("synthetic")), "{}: outcome note", m.id);
                let Place::Cell { epsg, size_m, ix, iy, .. } = m.place else { panic!("{}: a cell", m.id) };
                let lattice = hotspot::Lattice::new(hotspot::Epsg::utm(epsg).expect("zone"), size_m).expect("lattice");
                let fixes: Vec<(f64, f64)> = bodega::on_pool!(b, pool => sqlx::query_as(
                    "SELECT lon, lat FROM gps_fixes WHERE device = $1 AND fix_at >= $2 AND fix_at < $3")
                    .bind(format!("synthetic-phone-{}{FIELD_OFFICER:02}", &code[1..]))
                    .bind(m.window_start).bind(m.window_end).fetch_all(pool).await)
                .expect("fixes");
                let inside = fixes
                    .iter()
                    .filter(|(lon, lat)| lattice.key_of(*lon, *lat).is_ok_and(|k| (k.ix, k.iy) == (ix, iy)))
                    .count() as i64;
                assert!(inside * 30 >= m.template.dwell_minutes * 60, "{}: {inside} fixes in the place", m.id);
            }
        }
        // The last week's follow-ups wait for the sergeant; earlier ones were handled then.
        let waiting = b.follow_ups(Some(code)).await.expect("follow-ups");
        assert!(!waiting.is_empty(), "{code}: a follow-up waits");
        assert!(waiting.iter().all(|f| f.mission.shift_date >= last_week), "{code}: only the last week's wait");
        assert!(waiting.iter().all(|f| !f.feedback.notes.is_empty()), "{code}: the field note shows");
    }
    // Once only.
    assert_eq!(seed_demo_missions(b).await.expect("again"), 0);
}
