//! The demo city that a new install shows: real Vancouver Police Department open data for 2020
//! (see `bodega/demo/README.md` for provenance and terms), embedded in the binary.

use crate::csvfile::IngestError;
use crate::load::{IngestOptions, LoadSummary};
use crate::store::{begin_write, Bodega, BodegaError};
use crate::{on_pool, on_writer};
use hotspot::rng::Draw;

/// The canonical incident CSV of Vancouver 2020 (37,512 rows, 33,761 with coordinates).
pub const VANCOUVER_2020_CSV: &[u8] = include_bytes!("../demo/vancouver_crime_2020.csv");
/// The source label demo incidents carry.
pub const VANCOUVER_SOURCE: &str = "vpd-geodash-2020";
/// The demo city's time zone.
pub const VANCOUVER_TIME_ZONE: &str = "America/Vancouver";
/// The setting that holds the demo city's clock: the local date a demo calls today, the last day
/// of its data (`YYYY-MM-DD`). Set when the demo is seeded; a department's own store never has it.
pub const DEMO_TODAY_KEY: &str = "demo_today";

/// Loads the demo incidents. Idempotent: a second call loads nothing new.
///
/// # Errors
/// As [`crate::ingest::ingest_incidents_csv`].
pub async fn seed_demo(bodega: &Bodega) -> Result<LoadSummary, IngestError> {
    if bodega.setting(crate::geocode::PLACEHOLDERS_KEY).await?.is_none() {
        // VPD geocodes "X NK_LOC ST" (location not known) to two points near 312 Main Street,
        // 8 m apart; found from the original file's HUNDRED_BLOCK (see demo/README.md).
        let placeholders = [crate::geocode::Placeholder {
            label: "VPD X NK_LOC ST (location not known)".into(),
            lat: 49.281_847,
            lon: -123.099_524,
            radius_m: 15.0,
        }];
        let json = serde_json::to_string(&placeholders).map_err(|e| IngestError::Unreadable(e.to_string()))?;
        bodega.set_setting(crate::geocode::PLACEHOLDERS_KEY, &json).await?;
    }
    let opts = IngestOptions {
        source: VANCOUVER_SOURCE.into(),
        file_name: "vancouver_crime_2020.csv".into(),
        time_zone: VANCOUVER_TIME_ZONE.into(),
        dry_run: false,
        mapping: None,
    };
    let summary = crate::ingest::ingest_incidents_csv(bodega, VANCOUVER_2020_CSV, &opts).await?;
    seed_demo_roster(bodega).await?;
    // The demo runs on the shipped harm index, chosen as a department would (docs/HARM.md).
    if !bodega.harm_table_chosen().await? {
        bodega.ensure_shipped_harm_tables().await?;
        let (name, version) = crate::harm::DEFAULT_TABLE;
        bodega.set_setting(crate::harm::ACTIVE_KEY, &format!("{name}@{version}")).await?;
    }
    // The districts arrive after the incidents: place the incidents in them.
    bodega.assign_districts().await?;
    // The demo's clock: its data end on 31 December 2020, so that is its today, and every screen
    // opens there instead of on a day with no data.
    if let Some(last) = bodega.city_summary().await?.last_at {
        let tz = jiff::tz::TimeZone::get(VANCOUVER_TIME_ZONE).map_err(|e| IngestError::Unreadable(e.to_string()))?;
        let day =
            jiff::Timestamp::from_second(last).map_err(|e| IngestError::Unreadable(e.to_string()))?.to_zoned(tz).date();
        bodega.set_setting(DEMO_TODAY_KEY, &day.to_string()).await?;
    }
    Ok(summary)
}

/// The demo city's today, when this store holds the demo (see [`DEMO_TODAY_KEY`]).
///
/// # Errors
/// A store error.
pub async fn demo_today(bodega: &Bodega) -> Result<Option<jiff::civil::Date>, BodegaError> {
    Ok(bodega.setting(DEMO_TODAY_KEY).await?.and_then(|d| d.parse().ok()))
}

/// Demo officers in each district (`d1.officer1` … `d1.officer7`); the last works the seeded
/// missions (see [`crate::demo_missions`]).
pub const OFFICERS_PER_DISTRICT: u8 = 7;

/// The demo's synthetic districts: (code, name, west, south, east, north), WGS84 rectangles.
pub(crate) const DEMO_DISTRICTS: [(&str, &str, f64, f64, f64, f64); 4] = [
    ("D1", "District 1 — Northwest (synthetic)", -123.2250, 49.2500, -123.1000, 49.3150),
    ("D2", "District 2 — Northeast (synthetic)", -123.1000, 49.2500, -123.0230, 49.3150),
    ("D3", "District 3 — Southwest (synthetic)", -123.2250, 49.1980, -123.1000, 49.2500),
    ("D4", "District 4 — Southeast (synthetic)", -123.1000, 49.1980, -123.0230, 49.2500),
];

/// The demo's shifts: (code, name, start, end), local times.
pub(crate) const DEMO_SHIFTS: [(&str, &str, &str, &str); 3] =
    [("A", "Day", "06:00", "14:00"), ("B", "Evening", "14:00", "22:00"), ("C", "Night", "22:00", "06:00")];

/// The synthetic part of the demo, marked `synthetic = 1` everywhere: four districts (quadrants
/// of the city around Main Street and 25th Avenue — not VPD's real districts), three shifts, twelve
/// units and a roster of demo officers, sergeants and command staff. Idempotent.
///
/// # Errors
/// [`BodegaError::Query`].
pub async fn seed_demo_roster(bodega: &Bodega) -> Result<(), BodegaError> {
    on_writer!(bodega, pool => {
        let mut tx = begin_write(pool).await?;
        for (code, name, w, s, e, n) in DEMO_DISTRICTS {
            let geojson = format!(
                r#"{{"type":"Polygon","coordinates":[[[{w},{s}],[{e},{s}],[{e},{n}],[{w},{n}],[{w},{s}]]]}}"#
            );
            sqlx::query(
                "INSERT INTO districts (code, name, kind, geojson, min_lon, min_lat, max_lon, max_lat, synthetic) \
                 VALUES ($1, $2, 'district', $3, $4, $5, $6, $7, 1) ON CONFLICT (code) DO NOTHING",
            )
            .bind(code)
            .bind(name)
            .bind(geojson)
            .bind(w)
            .bind(s)
            .bind(e)
            .bind(n)
            .execute(&mut *tx)
            .await?;
            for k in 1..=3 {
                sqlx::query("INSERT INTO units (call_sign, district_code, synthetic) VALUES ($1, $2, 1) ON CONFLICT (call_sign) DO NOTHING")
                    .bind(format!("{}A{k}", &code[1..]))
                    .bind(code)
                    .execute(&mut *tx)
                    .await?;
            }
            let mut roster: Vec<(String, String, &str)> = (1..=OFFICERS_PER_DISTRICT)
                .map(|k| (format!("S{}{k:02}", &code[1..]), format!("Demo Officer {}{k:02} (synthetic)", &code[1..]), "officer"))
                .collect();
            roster.push((format!("S{}90", &code[1..]), format!("Demo Sergeant {} (synthetic)", &code[1..]), "sergeant"));
            for (badge, name, rank) in roster {
                sqlx::query(
                    "INSERT INTO officers (badge, display_name, rank, district_code, synthetic) VALUES ($1, $2, $3, $4, 1) \
                     ON CONFLICT (badge) DO NOTHING",
                )
                .bind(badge)
                .bind(name)
                .bind(rank)
                .bind(code)
                .execute(&mut *tx)
                .await?;
            }
        }
        sqlx::query(
            "INSERT INTO officers (badge, display_name, rank, synthetic) VALUES ('S0001', 'Demo Commander (synthetic)', 'command', 1) \
             ON CONFLICT (badge) DO NOTHING",
        )
        .execute(&mut *tx)
        .await?;
        for (code, name, start, end) in DEMO_SHIFTS {
            sqlx::query(
                "INSERT INTO shifts (code, name, starts_local, ends_local, synthetic) VALUES ($1, $2, $3, $4, 1) \
                 ON CONFLICT (code) DO NOTHING",
            )
            .bind(code)
            .bind(name)
            .bind(start)
            .bind(end)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
    });
    Ok(())
}

/// The demo sign-in accounts: one per demo officer and sergeant (`d1.officer1` … `d4.officer7`,
/// `d1.sergeant` … `d4.sergeant`), `commander` (command staff), `analyst` and `admin`, all marked
/// synthetic and all with the one password whose argon2id hash is given (the server chooses it:
/// `BEATBOOK_DEMO_PASSWORD`, or a random one it prints once), and a squad per district (`D1-S1`
/// …: its sergeant and officers). Idempotent: existing accounts and squads are left alone.
/// Returns how many accounts were created.
///
/// # Errors
/// A store error.
pub async fn seed_demo_accounts(bodega: &Bodega, password_hash: &str) -> Result<usize, crate::accounts::AccountError> {
    use protocol::Role;
    let mut wanted: Vec<(String, String, Vec<Role>, Vec<String>)> = Vec::new();
    for d in 1..=4 {
        let code = format!("D{d}");
        for k in 1..=OFFICERS_PER_DISTRICT {
            wanted.push((
                format!("d{d}.officer{k}"),
                format!("Demo Officer {d}{k:02} (synthetic)"),
                vec![Role::Officer],
                vec![code.clone()],
            ));
        }
        wanted.push((
            format!("d{d}.sergeant"),
            format!("Demo Sergeant {d} (synthetic)"),
            vec![Role::Sergeant],
            vec![code],
        ));
    }
    wanted.push(("commander".into(), "Demo Commander (synthetic)".into(), vec![Role::Command], vec![]));
    wanted.push(("analyst".into(), "Demo Analyst (synthetic)".into(), vec![Role::Analyst], vec![]));
    wanted.push(("admin".into(), "Demo Administrator (synthetic)".into(), vec![Role::Admin], vec![]));
    let mut created = 0;
    for (username, display_name, roles, districts) in wanted {
        if bodega.user_by_username(&username).await?.is_some() {
            continue;
        }
        let new = crate::accounts::NewUser {
            username,
            display_name,
            password_hash: Some(password_hash.to_string()),
            roles,
            districts,
            oidc: None,
            synthetic: true,
        };
        bodega.create_user(&new).await?;
        created += 1;
    }
    // A squad per district: its sergeant and its officers (`D1-S1` …).
    for d in 1..=4 {
        let member =
            |name: String| async move { Ok::<_, BodegaError>(bodega.user_by_username(&name).await?.map(|u| u.id)) };
        let Some(sergeant) = member(format!("d{d}.sergeant")).await? else { continue };
        let mut members = vec![sergeant];
        for k in 1..=OFFICERS_PER_DISTRICT {
            members.extend(member(format!("d{d}.officer{k}")).await?);
        }
        let code = format!("D{d}-S1");
        on_writer!(bodega, pool => {
            let mut tx = begin_write(pool).await?;
            sqlx::query(
                "INSERT INTO squads (code, district_code, sergeant_user_id, updated_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (code) DO NOTHING")
                .bind(&code).bind(format!("D{d}")).bind(sergeant).bind(crate::store::now_seconds())
                .execute(&mut *tx).await?;
            for id in &members {
                sqlx::query("INSERT INTO squad_members (user_id, squad_code) VALUES ($1, $2) ON CONFLICT (user_id) DO NOTHING")
                    .bind(id).bind(&code).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok::<(), sqlx::Error>(())
        })
        .map_err(BodegaError::from)?;
    }
    Ok(created)
}

/// True when the demo accounts exist.
///
/// # Errors
/// A store error.
pub async fn has_demo_accounts(bodega: &Bodega) -> Result<bool, BodegaError> {
    Ok(bodega.user_by_username("d1.sergeant").await?.is_some())
}

/// What [`seed_demo_activity`] loaded.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ActivitySummary {
    /// The synthetic calls-for-service load.
    pub calls: LoadSummary,
    /// The synthetic GPS load.
    pub gps: LoadSummary,
}

/// The source label synthetic demo calls carry (with call ids `SYN-…`).
pub const SYNTHETIC_CALLS_SOURCE: &str = "synthetic-cad";
/// GPS devices of the synthetic patrol cars are `synthetic-avl-<unit>`.
pub const SYNTHETIC_DEVICE_PREFIX: &str = "synthetic-avl-";
/// The local days with synthetic patrol tracks: the demo's last week, 25–31 December 2020.
pub const SYNTHETIC_TRACK_DAYS: std::ops::RangeInclusive<i8> = 25..=31;

/// The rest of the demo's synthetic world, generated (fixed seed: the same every time, so a
/// second call loads nothing new) and loaded through the ordinary calls and GPS ingest:
///
/// - **Calls for service**: two per located Vancouver incident of 2020, each near a real incident
///   (Gaussian-like jitter, σ ≈ 40 m) and within six hours of it, so calls gather where crime
///   does, as they do in a real city; types and priorities from a dispatch vocabulary, with
///   dispatch, arrival and clearance delays by priority, 4% cancelled before dispatch. Source
///   [`SYNTHETIC_CALLS_SOURCE`], ids `SYN-2020-nnnnnn`.
/// - **Patrol tracks**: for each day of [`SYNTHETIC_TRACK_DAYS`], each district and each shift,
///   one unit (`<d>A<k>`, k = the shift's number) drives between places drawn from the
///   district's incidents of the last quarter (so busy places are visited more), at 8–12 m/s,
///   and stops 10–16 minutes at each (the Koper rule); a fix every 30 s with an accuracy of
///   5–15 m. Devices [`SYNTHETIC_DEVICE_PREFIX`]`<unit>`.
///
/// Needs [`seed_demo`] first (it draws on the real incidents).
///
/// # Errors
/// As the calls and GPS ingest.
pub async fn seed_demo_activity(bodega: &Bodega) -> Result<ActivitySummary, IngestError> {
    let anchors: Vec<(i64, f64, f64, Option<String>)> = on_pool!(bodega, pool => sqlx::query_as(
        "SELECT occurred_at, lat, lon, district_code FROM incidents \
         WHERE source = $1 AND lat IS NOT NULL AND geo_flag IS NULL ORDER BY id")
        .bind(VANCOUVER_SOURCE)
        .fetch_all(pool).await)
    .map_err(BodegaError::from)?;
    if anchors.is_empty() {
        return Err(IngestError::Unreadable("the demo incidents are not loaded: run seed-demo first".into()));
    }
    let tz = jiff::tz::TimeZone::get(VANCOUVER_TIME_ZONE).map_err(|e| IngestError::Unreadable(e.to_string()))?;
    let options = |source: &str, file: &str| IngestOptions {
        source: source.into(),
        file_name: file.into(),
        time_zone: VANCOUVER_TIME_ZONE.into(),
        dry_run: false,
        mapping: None,
    };
    let calls_csv = synthetic_calls(&anchors, &tz);
    let calls = crate::calls::ingest_calls_csv(
        bodega,
        calls_csv.as_bytes(),
        &options(SYNTHETIC_CALLS_SOURCE, "synthetic-calls-2020.csv (generated)"),
    )
    .await?;
    let gps_csv = synthetic_tracks(&anchors, &tz);
    let gps = crate::gps::ingest_gps_csv(
        bodega,
        gps_csv.as_bytes(),
        &options("synthetic-avl", "synthetic-patrol-tracks-2020-12.csv (generated)"),
    )
    .await?;
    Ok(ActivitySummary { calls, gps })
}

/// Metres per degree of latitude (and of longitude at the equator), for the small offsets of the
/// synthetic generator.
const M_PER_DEG: f64 = 111_320.0;

/// A bell-shaped offset with standard deviation ≈ `sigma` (sum of three uniforms).
fn bell(rng: &mut hotspot::rng::SplitMix64, sigma: f64) -> f64 {
    (rng.unit() + rng.unit() + rng.unit() - 1.5) * 2.0 * sigma
}

/// A uniform integer in `[lo, hi]`.
fn between(rng: &mut hotspot::rng::SplitMix64, lo: i64, hi: i64) -> i64 {
    lo + (rng.bits() % (hi - lo + 1) as u64) as i64
}

/// One of `items` by weight.
fn weighted<'a, T>(rng: &mut hotspot::rng::SplitMix64, items: &'a [(T, u64)]) -> &'a T {
    let total: u64 = items.iter().map(|(_, w)| w).sum();
    let mut pick = rng.bits() % total;
    for (item, w) in items {
        if pick < *w {
            return item;
        }
        pick -= w;
    }
    &items[items.len() - 1].0
}

fn district_at(lat: f64, lon: f64) -> &'static str {
    DEMO_DISTRICTS.iter().find(|d| lon >= d.2 && lon < d.4 && lat >= d.3 && lat < d.5).map_or("", |d| d.0)
}

fn rfc3339(t: i64) -> String {
    jiff::Timestamp::from_second(t).map(|t| t.to_string()).unwrap_or_default()
}

/// The synthetic calls-for-service file (see [`seed_demo_activity`]).
fn synthetic_calls(anchors: &[(i64, f64, f64, Option<String>)], tz: &jiff::tz::TimeZone) -> String {
    // (type, priority): weight.
    let types: [((&str, &str), u64); 12] = [
        (("DISTURBANCE", "2"), 14),
        (("SUSPICIOUS PERSON", "2"), 12),
        (("THEFT REPORT", "3"), 12),
        (("WELFARE CHECK", "2"), 10),
        (("ALARM", "3"), 9),
        (("TRAFFIC COMPLAINT", "3"), 8),
        (("NOISE COMPLAINT", "4"), 8),
        (("MISCHIEF", "3"), 7),
        (("MENTAL HEALTH", "2"), 6),
        (("ASSAULT IN PROGRESS", "1"), 5),
        (("FIGHT", "1"), 5),
        (("BREAK AND ENTER IN PROGRESS", "1"), 4),
    ];
    let dispositions: [(&str, u64); 6] = [
        ("REPORT TAKEN", 30),
        ("ADVISED", 25),
        ("GONE ON ARRIVAL", 18),
        ("NO POLICE ACTION REQUIRED", 14),
        ("REFERRED", 8),
        ("ARREST", 5),
    ];
    let year = |y: i16| jiff::civil::date(y, 1, 1).to_zoned(tz.clone()).map(|z| z.timestamp().as_second()).unwrap_or(0);
    let (start, end) = (year(2020), year(2021));
    let mut rng = hotspot::rng::SplitMix64::seeded(0x00BE_A7B0_0C0A_1150);
    let mut out = String::from(
        "call_id,call_type,priority,received_at,dispatched_at,arrived_at,cleared_at,disposition,lat,lon,district\n",
    );
    for i in 0..anchors.len() * 2 {
        let (t, lat, lon, _) = &anchors[(rng.bits() % anchors.len() as u64) as usize];
        let received = (t + between(&mut rng, -6 * 3600, 6 * 3600)).clamp(start, end - 1);
        let lat = lat + bell(&mut rng, 40.0) / M_PER_DEG;
        let lon = lon + bell(&mut rng, 40.0) / (M_PER_DEG * lat.to_radians().cos());
        let (call_type, priority) = *weighted(&mut rng, &types);
        let minutes = |rng: &mut hotspot::rng::SplitMix64, lo: i64, hi: i64| between(rng, lo * 60, hi * 60);
        let (dispatch, travel) = match priority {
            "1" => (minutes(&mut rng, 1, 4), minutes(&mut rng, 2, 8)),
            "2" => (minutes(&mut rng, 3, 15), minutes(&mut rng, 3, 15)),
            "3" => (minutes(&mut rng, 10, 45), minutes(&mut rng, 3, 15)),
            _ => (minutes(&mut rng, 15, 90), minutes(&mut rng, 3, 15)),
        };
        let on_scene = minutes(&mut rng, 8, 60);
        let cancelled = rng.bits() % 100 < 4;
        let (dispatched, arrived, cleared, disposition) = if cancelled {
            (String::new(), String::new(), rfc3339(received + dispatch), "CANCELLED")
        } else {
            let d = received + dispatch;
            (rfc3339(d), rfc3339(d + travel), rfc3339(d + travel + on_scene), *weighted(&mut rng, &dispositions))
        };
        out.push_str(&format!(
            "SYN-2020-{:06},{call_type},{priority},{},{dispatched},{arrived},{cleared},{disposition},{lat:.6},{lon:.6},{}\n",
            i + 1,
            rfc3339(received),
            district_at(lat, lon),
        ));
    }
    out
}

/// The synthetic patrol tracks file (see [`seed_demo_activity`]).
fn synthetic_tracks(anchors: &[(i64, f64, f64, Option<String>)], tz: &jiff::tz::TimeZone) -> String {
    const STEP_S: i64 = 30;
    let quarter_start =
        jiff::civil::date(2020, 10, 1).to_zoned(tz.clone()).map(|z| z.timestamp().as_second()).unwrap_or(0);
    let mut rng = hotspot::rng::SplitMix64::seeded(0x7A7C_0000_0000_2020);
    let mut out = String::from("device,unit,fix_at,lat,lon,accuracy_m,speed_mps\n");
    for day in SYNTHETIC_TRACK_DAYS {
        for (code, ..) in DEMO_DISTRICTS {
            let places: Vec<(f64, f64)> = anchors
                .iter()
                .filter(|a| a.0 >= quarter_start && a.3.as_deref() == Some(code))
                .map(|a| (a.1, a.2))
                .collect();
            if places.is_empty() {
                continue;
            }
            for (k, (_, _, starts, _)) in DEMO_SHIFTS.iter().enumerate() {
                let unit = format!("{}A{}", &code[1..], k + 1);
                let device = format!("{SYNTHETIC_DEVICE_PREFIX}{unit}");
                let (h, m) =
                    starts.split_once(':').map_or((0, 0), |(h, m)| (h.parse().unwrap_or(0), m.parse().unwrap_or(0)));
                let Ok(begin) = jiff::civil::date(2020, 12, day).at(h, m, 0, 0).to_zoned(tz.clone()) else { continue };
                let (mut t, end) = (begin.timestamp().as_second(), begin.timestamp().as_second() + 8 * 3600);
                let mut here = places[(rng.bits() % places.len() as u64) as usize];
                let fix = |out: &mut String,
                           rng: &mut hotspot::rng::SplitMix64,
                           t: i64,
                           (lat, lon): (f64, f64),
                           speed: f64| {
                    out.push_str(&format!(
                        "{device},{unit},{},{lat:.6},{lon:.6},{},{speed:.1}\n",
                        rfc3339(t),
                        between(rng, 5, 15)
                    ));
                };
                while t < end {
                    // Drive to the next place in a straight line...
                    let next = places[(rng.bits() % places.len() as u64) as usize];
                    let (dy, dx) =
                        ((next.0 - here.0) * M_PER_DEG, (next.1 - here.1) * M_PER_DEG * here.0.to_radians().cos());
                    let speed = 8.0 + 4.0 * rng.unit();
                    let steps = (((dx * dx + dy * dy).sqrt() / speed) as i64 / STEP_S).max(1);
                    for s in 0..steps {
                        if t >= end {
                            break;
                        }
                        let f = s as f64 / steps as f64;
                        fix(
                            &mut out,
                            &mut rng,
                            t,
                            (here.0 + (next.0 - here.0) * f, here.1 + (next.1 - here.1) * f),
                            speed,
                        );
                        t += STEP_S;
                    }
                    // ...and stay 10–16 minutes.
                    here = next;
                    let stay_until = t + between(&mut rng, 10 * 60, 16 * 60);
                    while t < stay_until.min(end) {
                        let wobble =
                            (here.0 + bell(&mut rng, 4.0) / M_PER_DEG, here.1 + bell(&mut rng, 4.0) / M_PER_DEG);
                        fix(&mut out, &mut rng, t, wobble, 0.0);
                        t += STEP_S;
                    }
                }
            }
        }
    }
    out
}
