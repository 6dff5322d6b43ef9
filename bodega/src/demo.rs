//! The demo city that a new install shows: real Vancouver Police Department open data for 2020
//! (see `bodega/demo/README.md` for provenance and terms), embedded in the binary.

use crate::{begin_write, on_pool, Bodega, BodegaError, IngestError, IngestOptions, IngestSummary};

/// The canonical incident CSV of Vancouver 2020 (37,512 rows, 33,761 with coordinates).
pub const VANCOUVER_2020_CSV: &[u8] = include_bytes!("../demo/vancouver_crime_2020.csv");
/// The source label demo incidents carry.
pub const VANCOUVER_SOURCE: &str = "vpd-geodash-2020";
/// The demo city's time zone.
pub const VANCOUVER_TIME_ZONE: &str = "America/Vancouver";

/// Loads the demo incidents. Idempotent: a second call loads nothing new.
///
/// # Errors
/// As [`crate::ingest::ingest_incidents_csv`].
pub async fn seed_demo(bodega: &Bodega) -> Result<IngestSummary, IngestError> {
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
    // The districts arrive after the incidents: place the incidents in them.
    bodega.assign_districts().await?;
    Ok(summary)
}

/// The synthetic part of the demo, marked `synthetic = 1` everywhere: four districts (quadrants
/// of the city around Main Street and 25th Avenue — not VPD's real districts), three shifts, twelve
/// units and a roster of demo officers, sergeants and command staff. Idempotent.
///
/// # Errors
/// [`BodegaError::Query`].
pub async fn seed_demo_roster(bodega: &Bodega) -> Result<(), BodegaError> {
    // (code, name, west, south, east, north)
    let districts = [
        ("D1", "District 1 — Northwest (synthetic)", -123.2250, 49.2500, -123.1000, 49.3150),
        ("D2", "District 2 — Northeast (synthetic)", -123.1000, 49.2500, -123.0230, 49.3150),
        ("D3", "District 3 — Southwest (synthetic)", -123.2250, 49.1980, -123.1000, 49.2500),
        ("D4", "District 4 — Southeast (synthetic)", -123.1000, 49.1980, -123.0230, 49.2500),
    ];
    let shifts = [("A", "Day", "06:00", "14:00"), ("B", "Evening", "14:00", "22:00"), ("C", "Night", "22:00", "06:00")];
    on_pool!(bodega, pool => {
        let mut tx = begin_write(pool).await?;
        for (code, name, w, s, e, n) in districts {
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
            let mut roster: Vec<(String, String, &str)> = (1..=6)
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
        for (code, name, start, end) in shifts {
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

/// The demo sign-in accounts: one per demo officer and sergeant (`d1.officer1` … `d4.officer6`,
/// `d1.sergeant` … `d4.sergeant`), `commander` (command staff), `analyst` and `admin`, all marked
/// synthetic and all with the one password whose argon2id hash is given (the server chooses it:
/// `BEATBOOK_DEMO_PASSWORD`, or a random one it prints once). Idempotent: existing accounts are
/// left alone. Returns how many were created.
///
/// # Errors
/// A store error.
pub async fn seed_demo_accounts(bodega: &Bodega, password_hash: &str) -> Result<usize, crate::accounts::AccountError> {
    use protocol::Role;
    let mut wanted: Vec<(String, String, Vec<Role>, Vec<String>)> = Vec::new();
    for d in 1..=4 {
        let code = format!("D{d}");
        for k in 1..=6 {
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
    Ok(created)
}

/// True when the demo accounts exist.
///
/// # Errors
/// A store error.
pub async fn has_demo_accounts(bodega: &Bodega) -> Result<bool, BodegaError> {
    Ok(bodega.user_by_username("d1.sergeant").await?.is_some())
}
