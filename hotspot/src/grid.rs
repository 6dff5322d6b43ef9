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

/// The side of a lattice cell: whole metres from 1 to [`CellSize::MAX_M`], checked here once
/// for every lattice Beatbook keys places by (the 150 m micro place, the overview map's cell).
///
/// ```
/// use hotspot::CellSize;
/// assert_eq!(CellSize::new(150).map(CellSize::m), Ok(150));
/// assert!(CellSize::new(0).is_err() && CellSize::new(10_001).is_err());
/// assert_eq!("250".parse::<CellSize>().map(|c| c.metres()), Ok(250.0));
/// assert_eq!(CellSize::new(250).map(|c| c.to_string().parse::<CellSize>()), Ok(Ok(CellSize::new(250).unwrap())));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct CellSize(u32);

impl CellSize {
    /// The largest cell, metres (10 km: beyond it a "place" is a district).
    pub const MAX_M: u32 = 10_000;

    /// A cell of `m` metres.
    ///
    /// # Errors
    /// [`GridError::BadCellSize`] for 0 or more than [`CellSize::MAX_M`].
    pub fn new(m: u32) -> Result<Self, GridError> {
        if m == 0 || m > Self::MAX_M {
            return Err(GridError::BadCellSize(m));
        }
        Ok(Self(m))
    }

    /// A cell size written as a constant (`const MICRO: CellSize = CellSize::from_const(150);`):
    /// evaluated when the program is compiled, so an out-of-range size does not compile.
    pub const fn from_const(m: u32) -> Self {
        assert!(m > 0 && m <= Self::MAX_M, "cell size must be a whole number of metres from 1 to 10000");
        Self(m)
    }

    /// Whole metres.
    pub fn m(self) -> u32 {
        self.0
    }

    /// Metres, for arithmetic.
    pub fn metres(self) -> f64 {
        f64::from(self.0)
    }
}

impl TryFrom<u32> for CellSize {
    type Error = GridError;

    fn try_from(m: u32) -> Result<Self, GridError> {
        Self::new(m)
    }
}

impl From<CellSize> for u32 {
    fn from(c: CellSize) -> u32 {
        c.0
    }
}

impl std::str::FromStr for CellSize {
    type Err = GridError;

    /// `150`, or as [`Display`](std::fmt::Display) writes it, `150 m`.
    fn from_str(s: &str) -> Result<Self, GridError> {
        let digits = s.trim().strip_suffix('m').unwrap_or(s.trim()).trim_end();
        let m = digits.parse::<u32>().map_err(|_| GridError::BadCellSizeText(s.to_string()))?;
        Self::new(m)
    }
}

impl std::fmt::Display for CellSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} m", self.0)
    }
}

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
    /// A cell size written as something other than a whole number.
    #[error("cell size must be a whole number of metres from 1 to 10000, got '{0}'")]
    BadCellSizeText(String),
    /// A cell size that is not a positive number of metres up to 10 km.
    #[error("cell size must be a positive number of metres up to 10000, got {0}")]
    BadCellSizeMetres(f64),
    /// No point to build a grid around.
    #[error("no located incident to build a grid around")]
    NoPoints,
    /// The points span more cells than an analysis should hold.
    #[error("the incidents span {ncols} × {nrows} cells, more than 4,000,000: check for stray coordinates or use larger cells")]
    TooLarge {
        /// Columns needed.
        ncols: usize,
        /// Rows needed.
        nrows: usize,
    },
    /// The projection rejected the zone or a point.
    #[error(transparent)]
    Projection(#[from] ProjectionError),
}

impl Lattice {
    /// A lattice of `size_m`-metre cells in `epsg`.
    ///
    /// # Errors
    /// [`GridError::BadCellSize`] for a size of 0 or above 10 km ([`CellSize::new`]).
    pub fn new(epsg: Epsg, size_m: u32) -> Result<Self, GridError> {
        Ok(Self::of(epsg, CellSize::new(size_m)?))
    }

    /// A lattice of cells of `size` in `epsg`.
    pub fn of(epsg: Epsg, size: CellSize) -> Self {
        Self { utm: Utm::new(epsg), size: size.metres() }
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
    ///
    /// ```
    /// use hotspot::{CellSize, Epsg, Lattice};
    /// let lattice = Lattice::of(Epsg::for_lon_lat(-123.1139, 49.2609).unwrap(), CellSize::new(150).unwrap());
    /// let key = lattice.key_of(-123.1139, 49.2609).unwrap();
    /// // Two points a few metres apart share their micro place; its key never changes.
    /// assert_eq!(lattice.key_of(-123.11385, 49.26092).unwrap(), key);
    /// assert_eq!((key.epsg.code(), key.size_m), (32610, 150));
    /// ```
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

/// The rectangular grid of one analysis (the CLI's one-file analyses and the Gi* study area):
/// square cells of `size` metres in one UTM zone covering every input point.
///
/// Conventions (fixed, tested): origin `x0 = ⌊min_x / size⌋ · size`, `y0` likewise (one cell
/// further west or south when that product rounds past `min_x`), over every point given (a time
/// window never moves the grid); the grid is the full bounding rectangle,
/// empty cells included; `cell_id = row · ncols + col`, row 0 southernmost, col 0 westernmost.
/// Each cell is also a cell of the global [`Lattice`]: [`Grid::lattice_key`] gives its
/// permanent identity.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    /// The UTM zone.
    pub epsg: Epsg,
    /// Cell size, metres.
    pub size: f64,
    /// West edge of column 0, metres.
    pub x0: f64,
    /// South edge of row 0, metres.
    pub y0: f64,
    /// Columns.
    pub ncols: usize,
    /// Rows.
    pub nrows: usize,
}

/// Grids larger than this many cells are refused (a 150 m grid over a 300 km × 300 km area).
pub const MAX_GRID_CELLS: usize = 4_000_000;

impl Grid {
    /// The smallest grid of `size_m`-metre cells covering projected points `(x, y)`.
    ///
    /// # Errors
    /// [`GridError::BadCellSize`] for a size that is not a positive finite number of metres of
    /// at most 10 km; [`GridError::NoPoints`] when there is nothing to cover;
    /// [`GridError::TooLarge`] when the points span more than [`MAX_GRID_CELLS`] cells.
    pub fn covering(epsg: Epsg, size_m: f64, points: impl IntoIterator<Item = (f64, f64)>) -> Result<Self, GridError> {
        // Analysis grids (the analysts' one-file commands) may have fractional cells; the
        // lattices that key places never do ([`CellSize`]). Both stop at the same 10 km.
        if !(size_m.is_finite() && size_m > 0.0 && size_m <= f64::from(CellSize::MAX_M)) {
            return Err(GridError::BadCellSizeMetres(size_m));
        }
        let (mut min_x, mut min_y, mut max_x, mut max_y) =
            (f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY);
        for (x, y) in points {
            min_x = min_x.min(x);
            min_y = min_y.min(y);
            max_x = max_x.max(x);
            max_y = max_y.max(y);
        }
        if !(min_x.is_finite() && min_y.is_finite() && max_x.is_finite() && max_y.is_finite()) {
            return Err(GridError::NoPoints);
        }
        // floor(v / size) · size can land a few ulps east of (or north of) v with a fractional
        // size (187 / 1.1 → 187.00000000000003): then the lattice starts a cell earlier, so the
        // westernmost and southernmost points always fall on the grid.
        let origin = |v: f64| {
            let o = libm::floor(v / size_m) * size_m;
            if o > v {
                o - size_m
            } else {
                o
            }
        };
        let (x0, y0) = (origin(min_x), origin(min_y));
        // Counted in f64 first: a cast of an absurd count would saturate (then wrap to 0 cells).
        let (cols, rows) = (libm::floor((max_x - x0) / size_m) + 1.0, libm::floor((max_y - y0) / size_m) + 1.0);
        if cols * rows > MAX_GRID_CELLS as f64 {
            return Err(GridError::TooLarge { ncols: cols as usize, nrows: rows as usize });
        }
        let (ncols, nrows) = (cols as usize, rows as usize);
        match ncols.checked_mul(nrows) {
            Some(n) if n <= MAX_GRID_CELLS => Ok(Self { epsg, size: size_m, x0, y0, ncols, nrows }),
            _ => Err(GridError::TooLarge { ncols, nrows }),
        }
    }

    /// Number of cells.
    pub fn len(&self) -> usize {
        self.ncols * self.nrows
    }

    /// True for a grid of no cells (never produced by [`Grid::covering`]).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The cell holding projected point `(x, y)`, if it is on the grid.
    pub fn cell_of(&self, x: f64, y: f64) -> Option<usize> {
        let col = (x - self.x0) / self.size;
        let row = (y - self.y0) / self.size;
        // Written so that NaN is off the grid too; on it both are ≥ 0, where truncation is floor.
        if !(col >= 0.0 && row >= 0.0 && col < self.ncols as f64 && row < self.nrows as f64) {
            return None;
        }
        Some(row as usize * self.ncols + col as usize)
    }

    /// `(row, col)` of a cell id.
    pub fn row_col(&self, cell: usize) -> (usize, usize) {
        (cell / self.ncols, cell % self.ncols)
    }

    /// Centre of a cell, projected metres.
    pub fn centre(&self, cell: usize) -> (f64, f64) {
        let (row, col) = self.row_col(cell);
        (self.x0 + (col as f64 + 0.5) * self.size, self.y0 + (row as f64 + 0.5) * self.size)
    }

    /// The cell's permanent identity on the global lattice (exact when `size` is whole metres
    /// and the grid origin is a lattice multiple, which [`Grid::covering`] guarantees).
    pub fn lattice_key(&self, cell: usize) -> CellKey {
        let (row, col) = self.row_col(cell);
        CellKey {
            epsg: self.epsg,
            size_m: self.size as u32,
            ix: libm::floor(self.x0 / self.size) as i64 + col as i64,
            iy: libm::floor(self.y0 / self.size) as i64 + row as i64,
        }
    }

    /// The ids of a cell's queen neighbours and itself (up to 9), in ascending order.
    pub fn queen_with_self(&self, cell: usize) -> impl Iterator<Item = usize> + '_ {
        let (row, col) = self.row_col(cell);
        let rows = row.saturating_sub(1)..=(row + 1).min(self.nrows - 1);
        rows.flat_map(move |r| {
            let cols = col.saturating_sub(1)..=(col + 1).min(self.ncols - 1);
            cols.map(move |c| r * self.ncols + c)
        })
    }
}

#[cfg(test)]
mod grid_tests {
    use super::*;

    fn epsg() -> Epsg {
        Epsg::utm(32616).expect("zone")
    }

    #[test]
    fn origin_snaps_down_to_the_cell_size_and_the_rectangle_is_full() {
        let g = Grid::covering(epsg(), 150.0, [(1010.0, 2290.0), (1460.0, 2001.0)]).expect("grid");
        assert_eq!((g.x0, g.y0), (900.0, 1950.0));
        // x spans 900..1460 → cols 0..3 (1460 is in col 3: 1350..1500); y 1950..2290 → rows 0..2.
        assert_eq!((g.ncols, g.nrows, g.len()), (4, 3, 12));
        assert_eq!(g.cell_of(1010.0, 2290.0), Some(2 * 4));
        assert_eq!(g.cell_of(1460.0, 2001.0), Some(3));
        assert_eq!(g.cell_of(899.9, 2001.0), None);
        assert_eq!(g.centre(5), (900.0 + 225.0, 1950.0 + 225.0));
    }

    #[test]
    fn lattice_keys_agree_with_the_lattice() {
        let g = Grid::covering(epsg(), 150.0, [(447_123.0, 4_633_001.0), (448_999.0, 4_634_500.0)]).expect("grid");
        let lattice = Lattice::new(epsg(), 150).expect("lattice");
        for cell in [0, 7, g.len() - 1] {
            let (x, y) = g.centre(cell);
            assert_eq!(g.lattice_key(cell), lattice.key_of_xy(x, y));
        }
    }

    #[test]
    fn queen_neighbourhoods_with_self() {
        let g = Grid { epsg: epsg(), size: 1.0, x0: 0.0, y0: 0.0, ncols: 4, nrows: 3 };
        assert_eq!(g.queen_with_self(0).collect::<Vec<_>>(), vec![0, 1, 4, 5]);
        assert_eq!(g.queen_with_self(5).collect::<Vec<_>>(), vec![0, 1, 2, 4, 5, 6, 8, 9, 10]);
        assert_eq!(g.queen_with_self(11).collect::<Vec<_>>(), vec![6, 7, 10, 11]);
        assert_eq!(g.queen_with_self(7).count(), 6);
    }

    #[test]
    fn refuses_bad_sizes_nothing_and_continents() {
        assert_eq!(Grid::covering(epsg(), 0.0, [(0.0, 0.0)]), Err(GridError::BadCellSizeMetres(0.0)));
        assert!(Grid::covering(epsg(), f64::NAN, [(0.0, 0.0)]).is_err());
        assert_eq!(Grid::covering(epsg(), 150.0, []), Err(GridError::NoPoints));
        assert!(matches!(Grid::covering(epsg(), 1.0, [(0.0, 0.0), (1e6, 1e6)]), Err(GridError::TooLarge { .. })));
        // A fractional size whose multiple rounds past the westernmost point: it is still on the grid.
        let g = Grid::covering(epsg(), 1.1, [(187.0, 0.0), (500.0, 0.0)]).expect("grid");
        assert!(g.x0 <= 187.0 && g.cell_of(187.0, 0.0).is_some() && g.cell_of(500.0, 0.0).is_some(), "{g:?}");
        // 2e19 columns: refused, not saturated and wrapped into an empty grid.
        assert!(matches!(Grid::covering(epsg(), 1e-15, [(0.0, 0.0), (2e4, 10.0)]), Err(GridError::TooLarge { .. })));
    }
}
