//! The demo city that a new install shows: real Vancouver Police Department open data for 2020
//! (see `bodega/demo/README.md` for provenance and terms), embedded in the binary.

use crate::{Bodega, IngestError, IngestOptions, IngestSummary};

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
    crate::ingest::ingest_incidents_csv(bodega, VANCOUVER_2020_CSV, &opts).await
}
