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
