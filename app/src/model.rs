//! Types that cross the wire and live in the device store. Aggregates only: no names, no
//! narratives, no incident-level records.

use serde::{Deserialize, Serialize};

/// Incidents of one offence type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OffenseTotal {
    /// Offence text as recorded.
    pub offense: String,
    /// All incidents.
    pub total: i64,
    /// Those with coordinates (the rest cannot be mapped).
    pub located: i64,
}

/// One micro place on the overview map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MapCell {
    /// Lattice column (⌊easting / size⌋).
    pub ix: i64,
    /// Lattice row (⌊northing / size⌋), growing northwards.
    pub iy: i64,
    /// Incidents in the cell.
    pub count: u32,
}

/// The city at a glance: what the overview and places screens show, and what the device keeps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CityOverview {
    /// All incidents in the Data Bodega.
    pub incidents: i64,
    /// Incidents on the map: with coordinates and no geocoding flag.
    pub located: i64,
    /// Incidents whose coordinates a geocoding rule flagged: (0,0), a placeholder for "unknown",
    /// or outside the department's boundary. Kept, not mapped.
    pub geo_flagged: i64,
    /// First and last occurrence, as local dates (YYYY-MM-DD) in the department's zone.
    pub first_day: Option<String>,
    /// See `first_day`.
    pub last_day: Option<String>,
    /// Per offence, most frequent first.
    pub by_offense: Vec<OffenseTotal>,
    /// EPSG code of the lattice (a WGS84 / UTM zone).
    pub epsg: u32,
    /// Cell size in metres.
    pub cell_size_m: u32,
    /// Non-empty cells.
    pub cells: Vec<MapCell>,
    /// When the server computed this (RFC 3339, UTC).
    pub generated_at: String,
}

/// Data plus where it came from, so screens can say "saved on this device at …" when offline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Loaded<T> {
    /// The data.
    pub data: T,
    /// True when it was read from the device store because the server could not be reached.
    pub from_device: bool,
}

/// The department's basemap file, as the server found it at start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BasemapInfo {
    /// Where to read it (versioned: a new file gets a new URL).
    pub url: String,
    /// The attribution its licence requires, shown on every map.
    pub attribution: String,
    /// Tile format (`png`, `jpeg`, `webp`).
    pub tile_type: String,
    /// Zoom levels it holds.
    pub min_zoom: u8,
    /// See `min_zoom`.
    pub max_zoom: u8,
    /// `[west, south, east, north]`, degrees.
    pub bounds: [f64; 4],
    /// Size of the file, bytes (shown before a device downloads it for offline use).
    pub bytes: u64,
}

/// An online XYZ tile service, drawn over the basemap file when there is signal (never stored
/// on the device).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TileServiceInfo {
    /// `https://tiles.example.org/{z}/{x}/{y}.png`.
    pub url_template: String,
    /// The attribution its licence requires, shown on every map.
    pub attribution: String,
}

/// Share of harm in the top cells.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Concentration {
    /// Cells in the study area.
    pub cells: u64,
    /// Share of the 28 days' harm in the top 1% of cells (0–1).
    pub top_1: f64,
    /// …in the top 5%.
    pub top_5: f64,
    /// The Lorenz curve: `(share of area, share of harm)`, both 0–1.
    pub curve: Vec<(f64, f64)>,
}
