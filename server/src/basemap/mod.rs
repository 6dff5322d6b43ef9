//! The department's basemap: one PMTiles archive the department serves itself
//! (`BEATBOOK_BASEMAP`), read by browsers with HTTP Range requests and kept whole by devices
//! that work offline (docs/ARCHITECTURE.md, "Maps").
//!
//! - [`Basemap::open`] checks the file at start (PMTiles v3, raster tiles: Leaflet draws
//!   images) and gives it a versioned URL, `/maps/<version>/basemap.pmtiles`, so a new file is
//!   a new URL and browsers may cache the old one forever.
//! - [`routes::serve`] answers that URL through `tower_http::services::ServeFile`: a single byte range
//!   gets `206 Partial Content` with `Content-Range`, which is all pmtiles.js asks for.
//! - [`tiles`] checks an online XYZ tile service (`BEATBOOK_TILE_URL`) drawn over it with signal.
//! - [`write_schematic`] writes a plain raster archive (a light grid, no map data) over a
//!   bounding box: the test suite's basemap, and a placeholder a department can use to try
//!   the offline map before it has a real one (`server basemap schematic`).

pub mod routes;
pub mod tiles;

use std::io::Read;
use std::path::{Path, PathBuf};

use app::model::BasemapInfo;
use pmtiles::{Header, PmTilesWriter, TileCoord, TileId, TileType};
use sha2::{Digest, Sha256};

/// The media type the basemap is served as (also what keeps it out of response compression,
/// which would break byte ranges).
pub const CONTENT_TYPE: &str = "application/vnd.pmtiles";

/// Why a basemap file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum BasemapError {
    /// The file cannot be read.
    #[error("cannot read the basemap {path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// Not a PMTiles v3 archive.
    #[error("{path} is not a PMTiles v3 archive: {reason}")]
    NotPmTiles {
        /// The file.
        path: PathBuf,
        /// What the reader said.
        reason: String,
    },
    /// Vector tiles (Beatbook's Leaflet map draws raster basemaps).
    #[error(
        "{path} holds {kind} tiles; Beatbook's map draws raster basemaps (PNG, JPEG or WebP): \
         render the city to raster tiles first"
    )]
    NotRaster {
        /// The file.
        path: PathBuf,
        /// The tile type found.
        kind: String,
    },
    /// Writing a schematic archive failed.
    #[error("cannot write the basemap: {0}")]
    Write(String),
}

/// A checked basemap file.
#[derive(Debug, Clone)]
pub struct Basemap {
    /// Where it is on disk.
    pub path: PathBuf,
    /// The version in its URL.
    pub version: String,
    /// What clients are told about it.
    pub info: BasemapInfo,
}

fn tile_type_name(t: TileType) -> Option<&'static str> {
    match t {
        TileType::Png => Some("png"),
        TileType::Jpeg => Some("jpeg"),
        TileType::Webp => Some("webp"),
        _ => None,
    }
}

impl Basemap {
    /// Checks the file and reads its header.
    ///
    /// # Errors
    /// [`BasemapError`] naming the file and what is wrong with it.
    pub fn open(path: &Path, attribution: &str) -> Result<Self, BasemapError> {
        let io = |error| BasemapError::Io { path: path.to_path_buf(), error };
        let mut file = std::fs::File::open(path).map_err(io)?;
        let meta = file.metadata().map_err(io)?;
        let mut head = vec![0u8; 127];
        let read = file.read(&mut head).map_err(io)?;
        head.truncate(read);
        let header = Header::try_from_bytes(bytes::Bytes::from(head.clone()))
            .map_err(|e| BasemapError::NotPmTiles { path: path.to_path_buf(), reason: e.to_string() })?;
        let Some(tile_type) = tile_type_name(header.tile_type) else {
            return Err(BasemapError::NotRaster {
                path: path.to_path_buf(),
                kind: format!("{:?}", header.tile_type).to_lowercase(),
            });
        };
        // The version changes with the file: its header (which records the directory and data
        // lengths), size and modification time. Hashing a city-sized file at every start would
        // cost seconds for no gain.
        let mut h = Sha256::new();
        h.update(&head);
        h.update(meta.len().to_le_bytes());
        if let Ok(modified) = meta.modified() {
            if let Ok(since) = modified.duration_since(std::time::UNIX_EPOCH) {
                h.update(since.as_nanos().to_le_bytes());
            }
        }
        let version = hex::encode(&h.finalize()[..8]);
        let info = BasemapInfo {
            url: format!("/maps/{version}/basemap.pmtiles"),
            attribution: attribution.to_string(),
            tile_type: tile_type.to_string(),
            min_zoom: header.min_zoom,
            max_zoom: header.max_zoom,
            bounds: [header.min_longitude, header.min_latitude, header.max_longitude, header.max_latitude],
            bytes: meta.len(),
        };
        Ok(Basemap { path: path.to_path_buf(), version, info })
    }
}

/// What [`write_schematic`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchematicSummary {
    /// Tiles addressed.
    pub tiles: usize,
    /// Bytes written.
    pub bytes: u64,
}

/// The XYZ tile holding `(lon, lat)` at `zoom` (Web Mercator).
pub fn tile_of(lon: f64, lat: f64, zoom: u8) -> (u32, u32) {
    let n = f64::from(1u32 << zoom);
    let lat = lat.clamp(-85.051_128_78, 85.051_128_78).to_radians();
    let x = ((lon + 180.0) / 360.0 * n).floor();
    let y = ((1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0 * n).floor();
    let max = n - 1.0;
    (x.clamp(0.0, max) as u32, y.clamp(0.0, max) as u32)
}

/// One schematic tile: a light background with a grid every 32 pixels and darker tile edges.
fn schematic_tile(zoom: u8) -> Result<Vec<u8>, BasemapError> {
    const SIZE: u32 = 256;
    let mut pixels = Vec::with_capacity((SIZE * SIZE * 3) as usize);
    // A shade per zoom level, so zooming visibly changes the tiles.
    let tint = 236 - (zoom % 4) * 3;
    for y in 0..SIZE {
        for x in 0..SIZE {
            let rgb = if x == 0 || y == 0 {
                [190, 200, 210]
            } else if x % 32 == 0 || y % 32 == 0 {
                [214, 222, 230]
            } else {
                [tint, tint + 4, tint + 8]
            };
            pixels.extend_from_slice(&rgb);
        }
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, SIZE, SIZE);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| BasemapError::Write(e.to_string()))?;
    writer.write_image_data(&pixels).map_err(|e| BasemapError::Write(e.to_string()))?;
    writer.finish().map_err(|e| BasemapError::Write(e.to_string()))?;
    Ok(out)
}

/// Writes a schematic raster PMTiles archive covering `bbox` (`[west, south, east, north]`)
/// from `min_zoom` to `max_zoom`.
///
/// # Errors
/// [`BasemapError::Write`] for a bad box or zoom range, or when the file cannot be written.
pub fn write_schematic(
    out: &Path,
    bbox: [f64; 4],
    min_zoom: u8,
    max_zoom: u8,
) -> Result<SchematicSummary, BasemapError> {
    let [west, south, east, north] = bbox;
    let lon_ok = |v: f64| (-180.0..=180.0).contains(&v);
    let lat_ok = |v: f64| (-85.06..=85.06).contains(&v);
    let box_ok = west < east && south < north && lon_ok(west) && lon_ok(east) && lat_ok(south) && lat_ok(north);
    if !box_ok {
        return Err(BasemapError::Write(format!(
            "the box {west},{south},{east},{north} is not west,south,east,north in degrees"
        )));
    }
    if min_zoom > max_zoom || max_zoom > 18 {
        return Err(BasemapError::Write(format!("zoom {min_zoom}..{max_zoom} is not a range within 0..18")));
    }
    let mut tiles = Vec::new();
    for z in min_zoom..=max_zoom {
        let (x0, y0) = tile_of(west, north, z);
        let (x1, y1) = tile_of(east, south, z);
        for x in x0..=x1 {
            for y in y0..=y1 {
                let coord = TileCoord::new(z, x, y).map_err(|e| BasemapError::Write(e.to_string()))?;
                tiles.push((TileId::from(coord).value(), coord, z));
            }
        }
    }
    if tiles.len() > 200_000 {
        return Err(BasemapError::Write(format!(
            "{} tiles is too many for a schematic basemap; lower --max-zoom",
            tiles.len()
        )));
    }
    tiles.sort_by_key(|t| t.0);
    let file = std::fs::File::create(out).map_err(|e| BasemapError::Write(format!("{}: {e}", out.display())))?;
    let mut writer = PmTilesWriter::new(TileType::Png)
        .min_zoom(min_zoom)
        .max_zoom(max_zoom)
        .bounds(west, south, east, north)
        .center((west + east) / 2.0, (south + north) / 2.0)
        .center_zoom(min_zoom.max(max_zoom.saturating_sub(2)))
        .metadata(r#"{"name":"Beatbook schematic basemap","attribution":"Beatbook schematic grid (no map data)"}"#)
        .create(file)
        .map_err(|e| BasemapError::Write(e.to_string()))?;
    let images: Vec<Vec<u8>> = (0..=max_zoom).map(schematic_tile).collect::<Result<_, _>>()?;
    for (_, coord, z) in &tiles {
        writer.add_tile(*coord, &images[usize::from(*z)]).map_err(|e| BasemapError::Write(e.to_string()))?;
    }
    writer.finalize().map_err(|e| BasemapError::Write(e.to_string()))?;
    let bytes = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    Ok(SchematicSummary { tiles: tiles.len(), bytes })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_follow_the_slippy_map_convention() {
        // Vancouver City Hall at zoom 12 (checked with the OSM wiki's slippy-map formula in
        // Python), zoom 0; the dateline and poles clamp into range.
        assert_eq!(tile_of(-123.1139, 49.2609, 12), (647, 1402));
        assert_eq!(tile_of(0.0, 0.0, 0), (0, 0));
        assert_eq!(tile_of(180.0, -90.0, 3), (7, 7));
    }

    #[test]
    fn a_schematic_archive_opens_as_a_raster_basemap() {
        let dir = tempfile::tempdir().expect("test setup");
        let path = dir.path().join("city.pmtiles");
        let summary = write_schematic(&path, [-123.23, 49.19, -123.02, 49.32], 10, 13).expect("test setup");
        assert!(summary.tiles > 10, "{summary:?}");
        let map = Basemap::open(&path, "© test").expect("test setup");
        assert_eq!(map.info.tile_type, "png");
        assert_eq!((map.info.min_zoom, map.info.max_zoom), (10, 13));
        assert!((map.info.bounds[0] + 123.23).abs() < 1e-6 && (map.info.bounds[3] - 49.32).abs() < 1e-6);
        assert_eq!(map.info.bytes, summary.bytes);
        assert!(map.info.url.ends_with("/basemap.pmtiles") && map.info.url.contains(&map.version));
    }

    #[test]
    fn files_that_are_not_raster_pmtiles_are_refused_by_name() {
        let dir = tempfile::tempdir().expect("test setup");
        let text = dir.path().join("notes.pmtiles");
        std::fs::write(&text, "not a map").expect("test setup");
        let err = Basemap::open(&text, "").expect_err("must fail").to_string();
        assert!(err.contains("notes.pmtiles") && err.contains("not a PMTiles v3 archive"), "{err}");

        let vector = dir.path().join("vector.pmtiles");
        let file = std::fs::File::create(&vector).expect("test setup");
        let mut w = PmTilesWriter::new(TileType::Mvt).create(file).expect("test setup");
        w.add_tile(TileCoord::new(0, 0, 0).expect("test setup"), b"\x1a\x00").expect("test setup");
        w.finalize().expect("test setup");
        let err = Basemap::open(&vector, "").expect_err("must fail").to_string();
        assert!(err.contains("mvt tiles") && err.contains("raster"), "{err}");

        let missing = Basemap::open(&dir.path().join("absent.pmtiles"), "").expect_err("must fail").to_string();
        assert!(missing.contains("absent.pmtiles"), "{missing}");
        assert!(write_schematic(&dir.path().join("x.pmtiles"), [10.0, 5.0, 9.0, 6.0], 0, 3).is_err());
        assert!(write_schematic(&dir.path().join("x.pmtiles"), [9.0, 5.0, 10.0, 6.0], 5, 3).is_err());
    }
}
