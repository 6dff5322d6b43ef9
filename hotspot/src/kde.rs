//! Kernel density at cell centres, in events (or harm) per km².
//!
//! - `gaussian`: `f(s) = Σ_i w_i · exp(−d_i² / 2h²) / (2πh²)`, truncated beyond the cells where
//!   the kernel can still reach 1e-9 of its peak: an event adds to the disc of cells around its
//!   own cell whose nearest distance from any point of that cell is within `6.44·h`
//!   (`h·sqrt(2 ln 1e9)`; a centre `n` rows and `m` columns away is at least `(|n| − ½)⁺` rows and
//!   `(|m| − ½)⁺` columns away). So every cell where the kernel is at least 1e-9 of its peak is
//!   summed, and some where it is a little less; the square of `⌊6.44·h/size + ½⌋` cells either
//!   side loses its corners (150 m cells, h = 200 m: 269 cells of 361).
//! - `quartic` (Silverman 1986, as in ArcGIS): `f(s) = Σ_i w_i · 3/(πh²) · (1 − d_i²/h²)²` for
//!   `d_i < h`.
//!
//! Neither is divided by the number of events: the surface is an intensity, so it sums (times
//! the cell area) to roughly the number of events, not to 1. Units: `h` in metres, output per km².
//! Points that are not numbers are skipped.
//!
//! The Gaussian kernel is separable, `exp(−(dx² + dy²)/2h²) = exp(−dx²/2h²)·exp(−dy²/2h²)`, so
//! an event adds the outer product of a row of column factors and a column of row factors over
//! its window. For an event `u` metres east of its own cell's centre, the centre `m` cells east
//! is at `m·size − u`, so its factor is `G_m·T^m·exp(−u²/2h²)`: `G_m = exp(−m²size²/2h²)` is one
//! table for every event, and `T = exp(size·u/h²)` is one small-argument exponential per axis
//! (a short polynomial, `exp_near_zero`); the powers are repeated multiplications, a few ulps
//! from direct evaluation (checked against direct evaluation and against numpy). Events are
//! grouped by cell (a counting sort), and since the events of one cell share a window, their
//! outer products are summed a tile of output cells at a time in registers, up to 128 events at
//! once, before the sums are added to the grid: a small matrix product instead of a
//! read-modify-write of the grid per event and cell. Natively that product is compiled for the
//! widest vector unit the CPU has, picked at run time (`pulp`: AVX-512, AVX2 or the SSE2
//! baseline). The order of every addition is fixed by the events' order within each cell, and
//! nothing is fused, so every vector unit and WebAssembly give the same bits (tested).
//! A tile with no cell in the disc is skipped, and a tile's sums are added only to its cells in
//! the disc, so the cells summed do not depend on the tile's shape. 1M events at h = 200 m over
//! 150 m cells: 136 ms (one grid update per event and cell) → 92 (tiles) → 46 (these factors,
//! AVX dispatch) → 43 (the disc), `bench/run.sh`.

use serde::{Deserialize, Serialize};

use crate::grid::Grid;

/// The kernel shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kernel {
    /// Gaussian, truncated below 1e-9 of the peak.
    Gaussian,
    /// Quartic (biweight), zero beyond the bandwidth.
    Quartic,
}

/// Why a density cannot be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum KdeError {
    /// Bandwidths are positive finite metres.
    #[error("bandwidth must be a positive number of metres, got {0}")]
    BadBandwidth(f64),
    /// The kernel would reach more than [`MAX_REACH_CELLS`] cells either side of an event.
    #[error("a bandwidth of {bandwidth_m} m reaches more than {MAX_REACH_CELLS} cells of {cell_m} m; use larger cells or a smaller bandwidth")]
    TooWide {
        /// The bandwidth asked for, metres.
        bandwidth_m: f64,
        /// The cell size, metres.
        cell_m: f64,
    },
}

/// How many cells either side of an event a kernel may reach (a bandwidth of about 600 cells):
/// far beyond any hot-spot map, and small enough that the per-event tables stay a few
/// kilobytes instead of exhausting memory.
pub const MAX_REACH_CELLS: f64 = 4096.0;

/// Where the Gaussian kernel drops below 1e-9 of its peak, in bandwidths: sqrt(2 ln 1e9).
pub fn gaussian_cutoff() -> f64 {
    libm::sqrt(2.0 * libm::log(1e9))
}

/// Density at every cell centre of `grid` from weighted projected points `(x, y, w)`.
///
/// # Errors
/// [`KdeError::BadBandwidth`] for `h ≤ 0` or not finite; [`KdeError::TooWide`] for a bandwidth
/// that reaches more than [`MAX_REACH_CELLS`] cells.
pub fn kde_at_centres(grid: &Grid, points: &[(f64, f64, f64)], kernel: Kernel, h: f64) -> Result<Vec<f64>, KdeError> {
    let off_grid = grid.len();
    kde_of(grid, points.iter().map(|&(x, y, w)| (grid.cell_of(x, y).unwrap_or(off_grid), (x, y, w))), kernel, h)
}

/// [`kde_at_centres`] from any source of points that can be walked more than once (the Gaussian
/// kernel walks it twice to group the events by cell), each with its cell id (`grid.len()` off
/// the grid), so callers that know them need neither collect the points nor find their cells again.
pub(crate) fn kde_of<P>(grid: &Grid, points: P, kernel: Kernel, h: f64) -> Result<Vec<f64>, KdeError>
where
    P: Iterator<Item = (usize, (f64, f64, f64))> + Clone,
{
    if !(h.is_finite() && h > 0.0) {
        return Err(KdeError::BadBandwidth(h));
    }
    if gaussian_cutoff() * h / grid.size > MAX_REACH_CELLS {
        return Err(KdeError::TooWide { bandwidth_m: h, cell_m: grid.size });
    }
    let mut out = vec![0.0; grid.len()];
    match kernel {
        Kernel::Gaussian => gaussian_widest(grid, points, h, &mut out),
        Kernel::Quartic => quartic(grid, points.map(|(_, p)| p), h, &mut out),
    }
    Ok(out)
}

/// The Gaussian sums compiled for the widest vector unit this CPU has (AVX2 or AVX-512 where
/// present, else the x86-64 baseline's SSE2), chosen at run time by `pulp`, with a tile of output
/// sums that fits its registers: 4 × 8 (eight AVX2 registers of four), 4 × 4 on SSE2 (eight
/// registers of two). Only plain multiplications and additions are vectorised, lane by lane,
/// never fused, and the tile shape decides only which sums share a loop, never the order of any
/// addition: every path gives the same bits as every other and as WebAssembly.
#[cfg(not(target_arch = "wasm32"))]
#[inline(always)]
fn gaussian_widest(
    grid: &Grid,
    points: impl Iterator<Item = (usize, (f64, f64, f64))> + Clone,
    h: f64,
    out: &mut [f64],
) {
    gaussian_on(pulp::Arch::new(), grid, points, h, out);
}

/// [`gaussian_widest`] on a given vector unit (the tests run every one this CPU has).
#[cfg(not(target_arch = "wasm32"))]
#[inline(always)]
fn gaussian_on(
    arch: pulp::Arch,
    grid: &Grid,
    points: impl Iterator<Item = (usize, (f64, f64, f64))> + Clone,
    h: f64,
    out: &mut [f64],
) {
    /// `f` as a `pulp` operation, inlined into each vector unit's copy.
    struct Op<F>(F);
    impl<R, F: FnOnce() -> R> pulp::WithSimd for Op<F> {
        type Output = R;
        #[inline(always)]
        fn with_simd<S: pulp::Simd>(self, _: S) -> R {
            (self.0)()
        }
    }
    match arch {
        pulp::Arch::Scalar => arch.dispatch(Op(
            #[inline(always)]
            || gaussian::<4, 4>(grid, points, h, out),
        )),
        _ => arch.dispatch(Op(
            #[inline(always)]
            || gaussian::<4, 8>(grid, points, h, out),
        )),
    }
}

/// WebAssembly has one code path, without SIMD: 2 × 4 tiles (eight scalar locals, which the
/// engine need not spill).
#[cfg(target_arch = "wasm32")]
fn gaussian_widest(
    grid: &Grid,
    points: impl Iterator<Item = (usize, (f64, f64, f64))> + Clone,
    h: f64,
    out: &mut [f64],
) {
    gaussian::<2, 4>(grid, points, h, out);
}

/// The index range of centres within `radius` of coordinate `p` along one axis.
fn axis_range(origin: f64, size: f64, count: usize, p: f64, radius: f64) -> Option<(usize, usize)> {
    // Centre k is at origin + (k + 0.5) size.
    let lo = libm::ceil((p - radius - origin) / size - 0.5).max(0.0);
    let hi = libm::floor((p + radius - origin) / size - 0.5).min(count as f64 - 1.0);
    (lo <= hi).then_some((lo as usize, hi as usize))
}

/// The Gaussian's factors along one axis of the grid. For an event at offset `u` from its own
/// cell's centre, the centre `m` cells away is at `m·size − u`, and
/// `exp(−(m·size − u)²/2h²) = G_m · T^m · exp(−u²/2h²)` with `G_m = exp(−m²·size²/2h²)` (a
/// table, the same for every event) and `T = exp(size·u/h²)`. So an event needs `T` per axis
/// and one `exp(−(u² + v²)/2h²)` for both, and each argument is small (`|u| ≤ size/2`: at most
/// `size²/2h²`, 0.28 for 150 m cells and h = 200 m), where [`exp_near_zero`] is a short
/// polynomial rather than a general `exp`.
#[derive(Clone)]
struct GaussAxis {
    /// Cell size, metres.
    size: f64,
    /// size/h², per metre.
    size_over_h2: f64,
    /// 1/2h², per square metre.
    inv_two_h2: f64,
    /// `G_m` for m = −reach..=reach, at index `m + reach`.
    g: Vec<f64>,
    /// How many cells an event's window reaches either side of its own cell.
    reach: usize,
    /// For each row offset n = −reach..=reach (at index `n + reach`), the largest column offset
    /// |m| of the disc of cells an event's kernel is summed over, or −1 for none.
    span: Vec<i64>,
}

impl GaussAxis {
    fn new(size: f64, h: f64, reach: usize) -> Self {
        // A centre n rows and m columns away is at least (|n| − ½)⁺ and (|m| − ½)⁺ cells from any
        // point of the event's cell along each axis; it is in the disc when that distance is
        // within the cut-off, r = 6.44·h/size cells.
        let r = gaussian_cutoff() * h / size;
        let near = |k: i64| (libm::fabs(k as f64) - 0.5).max(0.0);
        let span = (-(reach as i64)..=reach as i64)
            .map(|n| {
                let left = r * r - near(n) * near(n);
                if left < 0.0 {
                    -1
                } else {
                    (libm::floor(libm::sqrt(left) + 0.5) as i64).min(reach as i64)
                }
            })
            .collect();
        let g = (0..=2 * reach)
            .map(|i| {
                let m = i as f64 - reach as f64;
                libm::exp(-(m * m) * (size * size) / (2.0 * h * h))
            })
            .collect();
        Self { size, size_over_h2: size / (h * h), inv_two_h2: 1.0 / (2.0 * h * h), g, reach, span }
    }

    /// Fills `out[k]` with `G_m·T^m` for `m = m0 + k`, the factors of the window's cells
    /// (`−reach ≤ m ≤ reach`), for an event `u` metres from its cell's centre. The powers by
    /// repeated multiplication from `T⁰ = 1` outwards: a few ulps at most.
    #[inline(always)]
    fn factors(&self, u: f64, m0: i64, out: &mut [f64]) {
        let t = exp_near_zero(self.size_over_h2 * u);
        let m1 = m0 + out.len() as i64 - 1;
        let at = |m: i64| (m + self.reach as i64) as usize;
        // The cells at m < 0, then those at m ≥ 0 (either may be empty).
        let n_below = (m1.min(-1) + 1 - m0).max(0) as usize;
        let (below, rest) = out.split_at_mut(n_below);
        // m ≥ 0: T^m, multiplying by T from T⁰ = 1 (past the cells left of the window, if any).
        let mut p = 1.0;
        for _ in 0..m0.max(0) {
            p *= t;
        }
        for (f, g) in rest.iter_mut().zip(&self.g[at(m0.max(0))..]) {
            *f = g * p;
            p *= t;
        }
        // m < 0: (1/T)^|m|, from m = −1 outwards (past the cells right of the window, if any).
        let t_inv = 1.0 / t;
        let mut p = t_inv;
        for _ in 0..(-1 - m1).max(0) {
            p *= t_inv;
        }
        for (f, g) in below.iter_mut().rev().zip(self.g[at(m0)..at(m0) + n_below].iter().rev()) {
            *f = g * p;
            p *= t_inv;
        }
    }
}

/// `exp(z)`: for `|z| ≤ 3/8` by its Taylor series to `z¹³` (Estrin's scheme; the first omitted
/// term, `z¹⁴/14!`, is below 2⁻⁵⁵ of the sum, a quarter of an ulp), beyond by [`libm::exp`].
#[inline(always)]
fn exp_near_zero(z: f64) -> f64 {
    /// 1/k!, k = 0..14.
    const INV_FACTORIAL: [f64; 14] = {
        let mut c = [1.0; 14];
        let mut k = 1;
        while k < 14 {
            c[k] = c[k - 1] / k as f64;
            k += 1;
        }
        c
    };
    if z.is_nan() || libm::fabs(z) > 0.375 {
        return libm::exp(z);
    }
    let c = &INV_FACTORIAL;
    let (z2, z4) = (z * z, (z * z) * (z * z));
    let p = |k: usize| c[k] + c[k + 1] * z;
    let q0 = p(0) + p(2) * z2;
    let q1 = p(4) + p(6) * z2;
    let q2 = p(8) + p(10) * z2;
    let q3 = p(12);
    (q0 + q1 * z4) + (q2 + q3 * z4) * (z4 * z4)
}

/// The most events summed into one tile before it is added to the grid.
const CHUNK: usize = 128;

/// The cells an event's kernel is summed over, clipped to the grid: columns `c0..=c1`, rows
/// `r0..=r1`.
#[derive(Clone, Copy)]
struct CellBlock {
    c0: usize,
    c1: usize,
    r0: usize,
    r1: usize,
}

impl CellBlock {
    /// The cells within `reach` cells of (possibly off-grid) cell `(row, col)`, or `None` when
    /// none of them is on the grid.
    #[inline(always)]
    fn around(grid: &Grid, (row, col): (i64, i64), reach: i64) -> Option<CellBlock> {
        let clip = |i: i64, n: usize| (i.max(0) as usize).min(n);
        let (c0, c1) = (clip(col.saturating_sub(reach), grid.ncols), clip(col.saturating_add(reach + 1), grid.ncols));
        let (r0, r1) = (clip(row.saturating_sub(reach), grid.nrows), clip(row.saturating_add(reach + 1), grid.nrows));
        (c0 < c1 && r0 < r1).then(|| CellBlock { c0, c1: c1 - 1, r0, r1: r1 - 1 })
    }
}

#[inline(always)]
fn gaussian<const TILE_ROWS: usize, const TILE_COLS: usize>(
    grid: &Grid,
    points: impl Iterator<Item = (usize, (f64, f64, f64))> + Clone,
    h: f64,
    out: &mut [f64],
) {
    let two_h2 = 2.0 * h * h;
    let norm = 1e6 / (core::f64::consts::PI * two_h2); // per km²
    let size = grid.size;
    // Every centre where the kernel is at least 1e-9 of its peak lies within `reach` cells of the
    // event's own cell: its distance is at least (|k| − ½)·size for k cells away.
    let reach = libm::floor(gaussian_cutoff() * h / size + 0.5) as i64;
    let axis = GaussAxis::new(size, h, reach as usize);
    // The cell, on or off the grid, each point falls in.
    let lattice = |x: f64, y: f64| {
        let (col, row) = (libm::floor((x - grid.x0) / size), libm::floor((y - grid.y0) / size));
        (col.is_finite() && row.is_finite()).then_some((row as i64, col as i64))
    };
    // Events of one cell share one window, so their kernels are summed tile by tile in registers
    // and each output cell is touched once per chunk of a cell's events rather than once per
    // event. Group by cell with a stable counting sort; events off the grid come last, each a
    // group of its own.
    let cells = grid.len();
    let mut start = vec![0usize; cells + 2];
    for (cell, _) in points.clone() {
        start[cell + 1] += 1;
    }
    for k in 1..start.len() {
        start[k] += start[k - 1];
    }
    let mut sorted = vec![(0.0, 0.0, 0.0); start[cells + 1]];
    let mut next = start.clone();
    for (cell, p) in points {
        sorted[next[cell]] = p;
        next[cell] += 1;
    }
    let mut panels = Panels::default();
    for (cell, bounds) in start.windows(2).take(cells).enumerate() {
        if bounds[0] == bounds[1] {
            continue;
        }
        let (row, col) = grid.row_col(cell);
        let own = (row as i64, col as i64);
        let Some(window) = CellBlock::around(grid, own, reach) else { continue };
        for chunk in sorted[bounds[0]..bounds[1]].chunks(CHUNK) {
            panels.fill::<TILE_ROWS, TILE_COLS>(grid, &axis, norm, own, window, chunk);
            panels.add_to::<TILE_ROWS, TILE_COLS>(grid, &axis, own, window, out);
        }
    }
    for &(x, y, w) in &sorted[start[cells]..] {
        // Off the grid, or not a number (which has no cell and is skipped).
        let Some(own) = lattice(x, y) else { continue };
        let Some(window) = CellBlock::around(grid, own, reach) else { continue };
        panels.fill::<TILE_ROWS, TILE_COLS>(grid, &axis, norm, own, window, &[(x, y, w)]);
        panels.add_to::<TILE_ROWS, TILE_COLS>(grid, &axis, own, window, out);
    }
}

/// The factors of a chunk of events over their common window, one row per event, each padded
/// with zeros to a whole number of tiles: `fx` along the columns, `fy` (times the event's weight
/// and normalisation) along the rows.
#[derive(Default)]
struct Panels {
    width: usize,
    height: usize,
    fx: Vec<f64>,
    fy: Vec<f64>,
}

impl Panels {
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn fill<const TILE_ROWS: usize, const TILE_COLS: usize>(
        &mut self,
        grid: &Grid,
        axis: &GaussAxis,
        norm: f64,
        (row, col): (i64, i64),
        window: CellBlock,
        events: &[(f64, f64, f64)],
    ) {
        let CellBlock { c0, c1, r0, r1 } = window;
        // The events' own cell's centre, and the window's first column and row counted from it.
        let centre = (grid.x0 + (col as f64 + 0.5) * axis.size, grid.y0 + (row as f64 + 0.5) * axis.size);
        let (m0, n0) = (c0 as i64 - col, r0 as i64 - row);
        self.width = (c1 - c0 + 1).next_multiple_of(TILE_COLS);
        self.height = (r1 - r0 + 1).next_multiple_of(TILE_ROWS);
        // Every entry is written below (the factors, then zeros in the padding), so the panels
        // keep their old contents rather than being cleared first.
        self.fx.resize(events.len() * self.width, 0.0);
        self.fy.resize(events.len() * self.height, 0.0);
        let rows = self.fx.chunks_exact_mut(self.width).zip(self.fy.chunks_exact_mut(self.height));
        for ((fx, fy), &(x, y, w)) in rows.zip(events) {
            let (u, v) = (x - centre.0, y - centre.1);
            let (fx, x_pad) = fx.split_at_mut(c1 - c0 + 1);
            axis.factors(u, m0, fx);
            x_pad.fill(0.0);
            let (fy, y_pad) = fy.split_at_mut(r1 - r0 + 1);
            y_pad.fill(0.0);
            axis.factors(v, n0, fy);
            let wn = w * norm * exp_near_zero(-(u * u + v * v) * axis.inv_two_h2);
            for f in fy {
                *f *= wn;
            }
        }
    }

    /// Adds `Σ_events fy ⊗ fx` over the cells of `u` (the block the panels were filled for)
    /// inside the disc of the events' own cell `own`, tile by tile; a tile with no cell in the
    /// disc is not computed at all. The cells added are the same whatever the tile's shape, and
    /// each cell's sum runs over the events in the same order, so every shape gives the same bits.
    #[inline(always)]
    fn add_to<const TILE_ROWS: usize, const TILE_COLS: usize>(
        &self,
        grid: &Grid,
        axis: &GaussAxis,
        (row, col): (i64, i64),
        u: CellBlock,
        out: &mut [f64],
    ) {
        let span = |r: usize| axis.span[(r as i64 - row + axis.reach as i64) as usize];
        for tr in (0..self.height).step_by(TILE_ROWS) {
            let rows = (u.r1 + 1 - u.r0).saturating_sub(tr).min(TILE_ROWS);
            for tc in (0..self.width).step_by(TILE_COLS) {
                let cols = (u.c1 + 1 - u.c0).saturating_sub(tc).min(TILE_COLS);
                // Column offsets of the tile's first and last cell from the events' own cell.
                let m0 = (u.c0 + tc) as i64 - col;
                let m1 = m0 + cols as i64 - 1;
                if !(0..rows).any(|i| {
                    let s = span(u.r0 + tr + i);
                    m0 <= s && m1 >= -s
                }) {
                    continue;
                }
                let mut acc = [[0.0; TILE_COLS]; TILE_ROWS];
                for (fx, fy) in self.fx.chunks_exact(self.width).zip(self.fy.chunks_exact(self.height)) {
                    let fx: &[f64; TILE_COLS] = fx[tc..tc + TILE_COLS].try_into().expect("tile");
                    let fy: &[f64; TILE_ROWS] = fy[tr..tr + TILE_ROWS].try_into().expect("tile");
                    for (row, a) in acc.iter_mut().zip(fy) {
                        for (cell, b) in row.iter_mut().zip(fx) {
                            *cell += a * b;
                        }
                    }
                }
                for (i, sums) in acc.iter().enumerate().take(rows) {
                    let s = span(u.r0 + tr + i);
                    let base = (u.r0 + tr + i) * grid.ncols + u.c0 + tc;
                    // The tile's columns j with |m0 + j| ≤ s. (Every j is visited, so the sums
                    // are never indexed by a run-time offset and stay in registers.)
                    for (j, v) in sums.iter().enumerate().take(cols) {
                        let m = m0 + j as i64;
                        if -s <= m && m <= s {
                            out[base + j] += v;
                        }
                    }
                }
            }
        }
    }
}

fn quartic(grid: &Grid, points: impl Iterator<Item = (f64, f64, f64)>, h: f64, out: &mut [f64]) {
    let h2 = h * h;
    let norm = 1e6 * 3.0 / (core::f64::consts::PI * h2);
    for (x, y, w) in points.filter(|(x, y, _)| x.is_finite() && y.is_finite()) {
        let Some((c0, c1)) = axis_range(grid.x0, grid.size, grid.ncols, x, h) else { continue };
        let Some((r0, r1)) = axis_range(grid.y0, grid.size, grid.nrows, y, h) else { continue };
        for row in r0..=r1 {
            let dy = grid.y0 + (row as f64 + 0.5) * grid.size - y;
            for col in c0..=c1 {
                let dx = grid.x0 + (col as f64 + 0.5) * grid.size - x;
                let u = (dx * dx + dy * dy) / h2;
                if u < 1.0 {
                    out[row * grid.ncols + col] += w * norm * (1.0 - u) * (1.0 - u);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Draw;
    use crate::Epsg;
    use approx::assert_relative_eq;

    fn grid(n: usize, size: f64) -> Grid {
        Grid { epsg: Epsg::utm(32616).expect("zone"), size, x0: 0.0, y0: 0.0, ncols: n, nrows: n }
    }

    /// Whether an event at `(x, y)` is summed into `cell` (grid origin at 0, 0): the cell is in
    /// the disc around the event's own cell — its nearest distance from any point of that cell,
    /// `(|n| − ½)⁺` rows and `(|m| − ½)⁺` columns, is within the 1e-9 cut-off `6.44·h`.
    fn within_reach(g: &Grid, cell: usize, x: f64, y: f64, h: f64) -> bool {
        let (row, col) = g.row_col(cell);
        let (n, m) = ((y / g.size).floor() - row as f64, (x / g.size).floor() - col as f64);
        let near = |k: f64| (k.abs() - 0.5).max(0.0);
        let r = gaussian_cutoff() * h / g.size;
        near(n).powi(2) + near(m).powi(2) <= r * r
    }

    /// The Gaussian density at `cell`'s centre summed directly, in `f64::exp`, over the events
    /// [`within_reach`] of it.
    fn direct_density(g: &Grid, points: &[(f64, f64, f64)], cell: usize, h: f64) -> f64 {
        let (cx, cy) = g.centre(cell);
        points
            .iter()
            .filter(|(x, y, _)| within_reach(g, cell, *x, *y, h))
            .map(|(x, y, w)| {
                let d2 = (cx - x).powi(2) + (cy - y).powi(2);
                w * (-d2 / (2.0 * h * h)).exp() / (2.0 * std::f64::consts::PI * h * h) * 1e6
            })
            .sum()
    }

    #[test]
    fn the_disc_of_cells_an_event_reaches() {
        // 150 m cells, h = 200 m: r = 6.44·200/150 = 8.59 cells, r² = 73.7. Nine rows away the
        // nearest distances are 8.5 rows and (|m| − ½)⁺ columns: 72.25 + 0.25 is in, 72.25 + 2.25
        // is not; seven rows away, 42.25 + 5.5² = 72.5 is in, 42.25 + 6.5² = 84.5 is not.
        let axis = GaussAxis::new(150.0, 200.0, 9);
        let span = |n: i64| axis.span[(n + 9) as usize];
        assert_eq!(span(0), 9);
        assert_eq!(span(9), 1);
        assert_eq!(span(7), 6);
        assert_eq!(span(-7), span(7));
        // 269 of the 361 cells of the square: a quarter fewer products per event.
        assert_eq!((-9..=9).map(|n| 2 * span(n) + 1).sum::<i64>(), 269);
    }

    #[test]
    fn gaussian_by_hand() {
        // One event at the centre of cell (2,2) of a 5×5 grid of 100 m cells, h = 100 m.
        let g = grid(5, 100.0);
        let d = kde_at_centres(&g, &[(250.0, 250.0, 1.0)], Kernel::Gaussian, 100.0).expect("kde");
        let peak = 1e6 / (2.0 * std::f64::consts::PI * 100.0 * 100.0);
        assert_relative_eq!(d[12], peak, max_relative = 1e-12);
        // One cell east: d = 100 m → exp(−1/2).
        assert_relative_eq!(d[13], peak * (-0.5f64).exp(), max_relative = 1e-12);
        // Diagonal: d² = 2·100² → exp(−1).
        assert_relative_eq!(d[18], peak * (-1.0f64).exp(), max_relative = 1e-12);
        // Two cells north-east-east: d² = 200² + 100² → exp(−2.5).
        assert_relative_eq!(d[2 * 5 + 4 + 5], peak * (-2.5f64).exp(), max_relative = 1e-12);
    }

    #[test]
    fn gaussian_recurrence_matches_direct_evaluation() {
        let g = grid(60, 150.0);
        let pts = [(4_321.7, 3_999.1, 1.0), (10.0, 8_990.0, 2.5)];
        let d = kde_at_centres(&g, &pts, Kernel::Gaussian, 200.0).expect("kde");
        // Each event reaches the cells of the disc around its own (within_reach).
        for cell in [0, 1234, 1800, 3599, 2000, 26 * 60 + 19, 26 * 60 + 38, 59 * 60] {
            let direct = direct_density(&g, &pts, cell, 200.0);
            assert!((d[cell] - direct).abs() <= 1e-12 * direct.max(1e-300), "cell {cell}: {} vs {direct}", d[cell]);
        }
    }

    #[test]
    fn quartic_by_hand() {
        let g = grid(5, 100.0);
        let d = kde_at_centres(&g, &[(250.0, 250.0, 2.0)], Kernel::Quartic, 150.0).expect("kde");
        let norm = 1e6 * 3.0 / (std::f64::consts::PI * 150.0 * 150.0);
        assert_relative_eq!(d[12], 2.0 * norm, max_relative = 1e-12);
        let u: f64 = 100.0 * 100.0 / (150.0 * 150.0);
        assert_relative_eq!(d[13], 2.0 * norm * (1.0 - u).powi(2), max_relative = 1e-12);
        assert_eq!(d[14], 0.0, "200 m is beyond h");
    }

    #[test]
    fn mass_is_conserved_away_from_edges() {
        // Σ density · cell area (km²) ≈ number of events for a kernel well inside the grid.
        let g = grid(80, 50.0);
        for kernel in [Kernel::Gaussian, Kernel::Quartic] {
            let d = kde_at_centres(&g, &[(2000.0, 2000.0, 1.0), (2100.0, 1900.0, 1.0)], kernel, 300.0).expect("kde");
            let mass: f64 = d.iter().sum::<f64>() * 0.05 * 0.05;
            assert!((mass - 2.0).abs() < 0.01, "{kernel:?}: {mass}");
            assert!(d.iter().all(|v| *v >= 0.0));
        }
    }

    #[test]
    fn points_that_are_not_numbers_or_far_off_the_grid_are_skipped() {
        let g = grid(30, 100.0);
        for kernel in [Kernel::Gaussian, Kernel::Quartic] {
            let one = kde_at_centres(&g, &[(1_250.0, 1_250.0, 1.0)], kernel, 150.0).expect("kde");
            let with_bad =
                [(f64::NAN, 5.0, 1.0), (1_250.0, 1_250.0, 1.0), (5.0, f64::INFINITY, 1.0), (-1e300, 7.0, 1.0)];
            assert_eq!(kde_at_centres(&g, &with_bad, kernel, 150.0).expect("kde"), one, "{kernel:?}");
        }
        // Just off the grid still reaches the cells near it.
        let d = kde_at_centres(&g, &[(-120.0, 1_500.0, 1.0)], Kernel::Gaussian, 100.0).expect("kde");
        assert!(d[15 * 30] > 0.0);
    }

    /// Several events to a cell, in cells all over a grid (edges included), weighted.
    fn busy_points(g: &Grid) -> Vec<(usize, (f64, f64, f64))> {
        let mut rng = crate::rng::SplitMix64::seeded(7);
        let side = g.size * g.ncols as f64;
        (0..3_000)
            .map(|_| {
                let (x, y) = (side * rng.unit(), side * (rng.unit() * rng.unit()));
                (g.cell_of(x, y).unwrap_or(g.len()), (x, y, 1.0 + rng.unit()))
            })
            .collect()
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn every_vector_unit_gives_the_same_bits() {
        let g = grid(40, 150.0);
        let points = busy_points(&g);
        let run = |arch: pulp::Arch| {
            let mut out = vec![0.0; g.len()];
            gaussian_on(arch, &g, points.iter().copied(), 200.0, &mut out);
            out.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        };
        let scalar = run(pulp::Arch::Scalar);
        assert!(scalar.iter().filter(|b| **b != 0).count() > 1_000, "the events reach most cells");
        let mut units = 1;
        if let Some(v3) = pulp::x86::V3::try_new() {
            assert_eq!(run(pulp::Arch::V3(v3)), scalar, "AVX2");
            units += 1;
        }
        if let Some(v4) = pulp::x86::V4::try_new() {
            assert_eq!(run(pulp::Arch::V4(v4)), scalar, "AVX-512");
            units += 1;
        }
        eprintln!("{units} vector unit(s) compared");
    }

    #[test]
    fn factors_match_direct_evaluation_on_a_busy_grid() {
        // Many events to a cell (several chunks of tiles), near edges too: each centre's density
        // is the direct sum over the events within reach (9 cells at 150 m, h = 200 m).
        let g = grid(40, 150.0);
        let points = busy_points(&g);
        let weighted: Vec<(f64, f64, f64)> = points.iter().map(|(_, p)| *p).collect();
        let d = kde_at_centres(&g, &weighted, Kernel::Gaussian, 200.0).expect("kde");
        for cell in (0..g.len()).step_by(37) {
            let direct = direct_density(&g, &weighted, cell, 200.0);
            assert!((d[cell] - direct).abs() <= 1e-12 * direct.max(1e-300), "cell {cell}: {} vs {direct}", d[cell]);
        }
    }

    proptest::proptest! {
        #[test]
        fn exp_near_zero_is_exp(z in -0.5f64..0.5) {
            // Within 3/8 by the series (a few ulps), beyond exactly libm's.
            let (got, want) = (exp_near_zero(z), libm::exp(z));
            if z.abs() <= 0.375 {
                proptest::prop_assert!((got - want).abs() <= 4.0 * f64::EPSILON * want, "exp({z}): {got} vs {want}");
            } else {
                proptest::prop_assert_eq!(got.to_bits(), want.to_bits());
            }
        }
    }

    #[test]
    fn refuses_bad_bandwidths() {
        let g = grid(2, 100.0);
        assert_eq!(kde_at_centres(&g, &[], Kernel::Gaussian, 0.0), Err(KdeError::BadBandwidth(0.0)));
        // A bandwidth of a million kilometres is refused, not an allocation that aborts.
        for kernel in [Kernel::Gaussian, Kernel::Quartic] {
            assert!(matches!(kde_at_centres(&g, &[(0.0, 0.0, 1.0)], kernel, 1e12), Err(KdeError::TooWide { .. })));
        }
        assert!(kde_at_centres(&g, &[], Kernel::Quartic, f64::NAN).is_err());
    }
}
