//! The global lattice of micro places.
//!
//! A micro place is a square cell of `size` metres in one UTM zone. Its identity is the lattice
//! key `(EPSG, size, ⌊x/size⌋, ⌊y/size⌋)`: it never changes as data grows, so missions, device
//! caches and presence history can refer to it for years. (The one-file CLI analyses number
//! cells `row * ncols + col` inside a bounding rectangle; that numbering lives with them.)

use std::collections::BTreeMap;

use geo::{Coord, Rect};
use serde::{Deserialize, Serialize};

use crate::projection::{Epsg, ProjectionError, Utm};

/// One square lattice: a UTM zone and a cell size in metres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lattice {
    utm: Utm,
    size: f64,
}

/// The permanent identity of a micro place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CellKey {
    /// UTM zone of the lattice.
    pub epsg: Epsg,
    /// Cell size, whole metres.
    pub size_m: u32,
    /// Column: ⌊easting / size⌋.
    pub ix: i64,
    /// Row: ⌊northing / size⌋ (grows northwards).
    pub iy: i64,
}

/// How many incidents fell in one cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CellCount {
    /// The cell.
    pub key: CellKey,
    /// Incidents inside it.
    pub count: u32,
}

/// Why a lattice could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GridError {
    /// Cell sizes are whole metres from 1 to 10 000.
    #[error("cell size must be a whole number of metres from 1 to 10000, got {0}")]
    BadCellSize(u32),
    /// The projection rejected the zone or a point.
    #[error(transparent)]
    Projection(#[from] ProjectionError),
}

impl Lattice {
    /// A lattice of `size_m`-metre cells in `epsg`.
    ///
    /// # Errors
    /// [`GridError::BadCellSize`] for a size of 0 or above 10 km.
    pub fn new(epsg: Epsg, size_m: u32) -> Result<Self, GridError> {
        if size_m == 0 || size_m > 10_000 {
            return Err(GridError::BadCellSize(size_m));
        }
        Ok(Self { utm: Utm::new(epsg), size: f64::from(size_m) })
    }

    /// The projection behind the lattice.
    pub fn utm(&self) -> &Utm {
        &self.utm
    }

    /// Cell size in metres.
    pub fn size_m(&self) -> u32 {
        self.size as u32
    }

    /// The cell containing projected point `(x, y)` (metres).
    pub fn key_of_xy(&self, x: f64, y: f64) -> CellKey {
        CellKey {
            epsg: self.utm.epsg(),
            size_m: self.size_m(),
            ix: libm::floor(x / self.size) as i64,
            iy: libm::floor(y / self.size) as i64,
        }
    }

    /// The cell containing a WGS84 point.
    ///
    /// # Errors
    /// [`ProjectionError::OutOfRange`] when the point is not on the globe.
    pub fn key_of(&self, lon: f64, lat: f64) -> Result<CellKey, ProjectionError> {
        let (x, y) = self.utm.forward(lon, lat)?;
        Ok(self.key_of_xy(x, y))
    }

    /// The square a cell covers, in projected metres.
    pub fn bounds(&self, key: CellKey) -> Rect<f64> {
        let (x0, y0) = (key.ix as f64 * self.size, key.iy as f64 * self.size);
        Rect::new(Coord { x: x0, y: y0 }, Coord { x: x0 + self.size, y: y0 + self.size })
    }

    /// Counts WGS84 points (`(lon, lat)`) into cells, sorted by key. Points off the globe are
    /// returned by index in the second vector, never silently dropped.
    pub fn count_points(&self, points: impl IntoIterator<Item = (f64, f64)>) -> (Vec<CellCount>, Vec<usize>) {
        let mut counts: BTreeMap<CellKey, u32> = BTreeMap::new();
        let mut rejected = Vec::new();
        for (i, (lon, lat)) in points.into_iter().enumerate() {
            match self.key_of(lon, lat) {
                Ok(key) => *counts.entry(key).or_default() += 1,
                Err(_) => rejected.push(i),
            }
        }
        (counts.into_iter().map(|(key, count)| CellCount { key, count }).collect(), rejected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lattice(size: u32) -> Lattice {
        Lattice::new(Epsg::utm(32610).expect("zone"), size).expect("size")
    }

    #[test]
    fn keys_floor_towards_negative_infinity() {
        let l = lattice(150);
        assert_eq!((l.key_of_xy(0.0, 0.0).ix, l.key_of_xy(0.0, 0.0).iy), (0, 0));
        assert_eq!(l.key_of_xy(149.999, 150.0).ix, 0);
        assert_eq!(l.key_of_xy(149.999, 150.0).iy, 1);
        assert_eq!(l.key_of_xy(-0.001, -150.0).ix, -1);
        assert_eq!(l.key_of_xy(-0.001, -150.0).iy, -1);
    }

    #[test]
    fn bounds_contain_their_points() {
        let l = lattice(250);
        let k = l.key_of_xy(491_285.0, 5_453_433.0);
        let r = l.bounds(k);
        assert_eq!((r.min().x, r.min().y, r.width()), (491_250.0, 5_453_250.0, 250.0));
    }

    #[test]
    fn counts_and_reports_bad_points() {
        let l = lattice(250);
        let pts = vec![(-123.119_262, 49.231_524), (-123.119_262, 49.231_524), (-123.0, 95.0), (-123.1, 49.28)];
        let (cells, bad) = l.count_points(pts);
        assert_eq!(bad, vec![2]);
        assert_eq!(cells.iter().map(|c| c.count).sum::<u32>(), 3);
        assert_eq!(cells.len(), 2);
    }

    #[test]
    fn rejects_silly_sizes() {
        assert_eq!(Lattice::new(Epsg::utm(32610).expect("zone"), 0).err(), Some(GridError::BadCellSize(0)));
    }
}
