//! # hotspot — Beatbook's scoring core
//!
//! Pure Rust with no I/O, compiled twice: into the server (for the analysts' CLI, mission
//! recommendations and the Chief's Daily Snapshot) and into the WebAssembly bundle that runs on
//! officers' phones and in-car laptops with no signal. Because both builds must give the same
//! numbers to the bit, every transcendental function goes through [`libm`] rather than the
//! platform's maths library (whose `sin`/`exp` differ between glibc and wasm32). The kernel
//! density's inner product is compiled natively for the widest vector unit the CPU has, picked at
//! run time by `pulp`, with nothing fused and every addition in the same order: the same bits on
//! every path (tested).
//!
//! A tour:
//! - [`projection`]: WGS84 latitude/longitude ↔ UTM metres (Krüger series to n⁶; sub-millimetre
//!   inside a zone), and the zone rule `floor((lon + 180) / 6) + 1`; [`LocalUtm`] projects many
//!   points at once by per-tile fits of the series, each checked against it.
//! - [`grid`]: the global square lattice that gives every micro place a permanent identity
//!   ([`grid::CellKey`] = EPSG, size, ⌊x/size⌋, ⌊y/size⌋) and counts incidents into it; and
//!   [`Grid`], the bounding rectangle of cells one analysis works on (`cell_id = row·ncols + col`).
//! - [`gi`]: Getis-Ord Gi* z-scores (binary queen contiguity including the cell itself) and
//!   Benjamini–Hochberg false-discovery-rate classes at 99/95/90 %.
//! - [`kde`]: Gaussian and quartic kernel density at cell centres, per km².
//! - [`evaluate`](mod@evaluate): ranking places and scoring the ranking on a later period: hit rate, PAI,
//!   PAI*, PEI, RRI at fixed shares of the study area.
//! - [`backtest`]: what every method of a rolling-origin backtest is scored with alike: top-`k`
//!   catch with fractional credit for ties, hit rate, PAI, PEI and RRI per origin, moving-block
//!   bootstrap intervals over origins, and the rule that lets a method replace the trailing-count
//!   baseline only when later origins confirm it.
//! - [`nearby`](mod@nearby): places within a radius of the officer, nearest first, with compass bearings.
//! - [`presence`]: visits to a place from GPS fixes (accuracy filter, clock-skew correction,
//!   gap merging, minimum dwell, honest gaps), several devices' presence united so time
//!   together counts once, and Koper-compliant minutes.
//! - [`harm`]: named, versioned harm-weight tables (offence text → weight; `count` weighs 1).
//! - [`score`](mod@score): everything per cell for a half-open window — count, harm, time-decayed harm,
//!   kernel density, Gi* and its FDR class — plus a cell's composition by offence.
//!
//! - [`sepp`]: the self-exciting point process (Mohler et al. 2011): background plus triggering
//!   that decays exponentially in time and as a truncated Gaussian in space, fitted by EM
//!   (stochastic declustering), a simulator with known truth, and a forecast per cell for the
//!   next hours.
//!
//! - [`segments`]: street segments as a second kind of place — a department's street network
//!   (projected polylines), incidents snapped to the nearest segment within a tolerance, scores
//!   per segment and Gi* over the street graph (segments meeting at an intersection).
//! - [`cached`]: the device's scoring from per-cell, per-day, per-offence aggregates (no
//!   incidents), for the officer's chosen window and tracks, and the hot spots near them.
//!
//! - [`rng`]: the one seeded generator (SplitMix64) of simulations and synthetic data;
//!   [`synthetic`] and [`workload`]: the deterministic inputs of the cross-target checks and
//!   benchmarks.
//!
//! Units: metres for projected coordinates and cell sizes, degrees for latitude/longitude.

pub mod backtest;
pub mod cached;
pub mod evaluate;
pub mod gi;
pub mod grid;
pub mod harm;
pub mod kde;
pub mod nearby;
pub mod presence;
pub mod projection;
pub mod rng;
pub mod score;
pub mod segments;
pub mod sepp;
pub mod synthetic;
pub mod workload;

pub use cached::{near, score_cached, Aggregates, CachedError, CachedOffense, DeviceQuery, HotSpot};
pub use evaluate::{evaluate, rank_cells, AreaShare};
pub use gi::{fdr_classes, gi_star, gi_star_lists, GiClass};
pub use grid::{CellCount, CellKey, CellSize, Grid, GridError, Lattice};
pub use harm::{HarmError, HarmTable};
pub use kde::{kde_at_centres, KdeError, Kernel};
pub use nearby::{nearby, Nearby};
pub use presence::{implausible_jumps, united, visits, Area, Fix, Jump, Presence, Visit, VisitParams};
pub use projection::{Epsg, LocalUtm, ProjectionError, Utm};
pub use score::{composition, score, Contribution, Event, Measure, RankBy, ScoreError, ScoreParams, Scores, Window};
pub use segments::{score_segments, Network, Segment, SegmentError, SegmentScores};
