//! # hotspot — Beatbook's scoring core
//!
//! Pure Rust with no I/O, compiled twice: into the server (for the analysts' CLI, mission
//! recommendations and the Chief's Daily Snapshot) and into the WebAssembly bundle that runs on
//! officers' phones and in-car laptops with no signal. Because both builds must give the same
//! numbers to the bit, every transcendental function goes through [`libm`] rather than the
//! platform's maths library (whose `sin`/`exp` differ between glibc and wasm32).
//!
//! A tour:
//! - [`projection`]: WGS84 latitude/longitude ↔ UTM metres (Krüger series to n⁶; sub-millimetre
//!   inside a zone), and the zone rule `floor((lon + 180) / 6) + 1`.
//! - [`grid`]: the global square lattice that gives every micro place a permanent identity
//!   ([`grid::CellKey`] = EPSG, size, ⌊x/size⌋, ⌊y/size⌋) and counts incidents into it.
//!
//! Units: metres for projected coordinates and cell sizes, degrees for latitude/longitude.

pub mod grid;
pub mod projection;

pub use grid::{CellCount, CellKey, Lattice};
pub use projection::{Epsg, ProjectionError, Utm};
