//! # bodega — the Data Bodega
//!
//! Beatbook's one source of truth: every incident, call for service, unit and GPS fix lands
//! here, cleaned and with its provenance, and every dashboard, hot spot and mission reads from
//! here. Server-only; never part of the WebAssembly bundle.
//!
//! A tour:
//! - [`Bodega`] ([`store`]) is the handle: one connection pool to either **SQLite** (the embedded default, a
//!   file under `./data/`) or **PostgreSQL** (the scale path). [`Bodega::connect`] picks the engine
//!   from the URL, applies the engine's embedded migrations (`migrations/sqlite`,
//!   `migrations/postgres`) and returns a ready pool.
//! - Both engines share one schema and one set of query texts: times are UTC seconds in 64-bit
//!   integers and placeholders are `$N` (which SQLite also accepts), so each query is written once
//!   and the [`on_pool!`] macro runs it against whichever pool is live. Where an engine needs its
//!   own SQL, the macro's arm says so explicitly.
//! - [`load`] is the one way a CSV file lands (one transaction, a batch row, bad rows kept in
//!   `rejected_rows` with line, field and reason, reading and writing overlapped, a dry run
//!   rolled back), reading through [`csvfile`] (records, their lines, rows that cannot be read,
//!   times and coordinates), for each kind: [`ingest`] (incidents — Beatbook's canonical file, or any export
//!   through a [`mapping`]: presets for real city exports, or a department's TOML file;
//!   re-loading changes nothing), [`calls`] (calls for service, upserted by call id as they
//!   close) and [`gps`] (append-only fixes from devices and AVL).
//! - [`export`] writes every CSV that people open ([`export::CsvExport`]): no cell can start a
//!   spreadsheet formula.
//! - [`geocode`] flags coordinates at (0,0), at "location unknown" placeholders or outside the
//!   boundary: kept, never mapped or scored. [`districts`] loads district/zone/boundary polygons.
//! - [`queries`] is the read API the rest of Beatbook uses: summaries, filtered incidents,
//!   per-cell per-local-day counts for the scoring core and devices, counts for the snapshot.
//! - [`accounts`] keeps users, roles, district membership, server-side sessions (token hashes
//!   only) and registered devices; [`audit`] is the append-only audit log (who, what, when, from
//!   where, outcome), which the schema itself refuses to update or trim inside a year.
//! - [`missions`] keeps the Mission Menu (versioned templates, a default menu with its evidence),
//!   missions and their event log; each transition is checked by `protocol::mission` and written
//!   with its event in one transaction.
//! - [`places`] names each micro place from its incidents' block addresses ("10XX Alberni St
//!   (West End)"), rebuilt after every incident load.
//! - [`feedback`] brings what the field sends back to someone: notes and review comments on the
//!   board, the district's follow-up queue, outcomes added up by template, district, place, week.
//! - [`proposals`] keeps officers' proposals (a mission at a place an officer knows) until their
//!   sergeant approves one into a mission or declines it with a reason.
//! - [`roster`] imports a roster CSV — accounts, squads (a sergeant and their officers in a
//!   district) and units — in one transaction, refusing the whole file with each fault's line.
//! - [`setup`] keeps a department's own setup: shift patterns (hours and days) and the
//!   versioned dosage rules and harm-track weights command sets, checked by `protocol::setup`.
//! - [`changes`] is the global change counter every change a device must see takes a value of.
//! - [`sync`] applies devices' pushed mutations exactly once (a push in one transaction: each
//!   mutation with its effect and its `mutation_log` row, then the device's `last_seq`) and
//!   answers pulls by the global change counter.
//! - [`aggregates`] keeps the per-cell, per-day counts; [`classify`] the offence map; [`harm`]
//!   the harm tables; [`call_weights`] the department's weights for calls for service (the
//!   optional calls track) and the calls it ranks; [`snapshot`] the command views' queries.
//! - [`demo`] holds the real Vancouver 2020 open data that seeds a new install, with its
//!   synthetic districts, roster, accounts, calls and patrol tracks; [`demo_missions`] its
//!   squads' nine weeks of missions, written through the ordinary lifecycle at the demo's times.
//! - [`testing`] gives tests a fresh store on the engine the test run targets.

pub mod accounts;
pub mod aggregates;
pub mod audit;
pub mod call_weights;
pub mod calls;
pub mod changes;
pub mod classify;
pub mod csvfile;
pub mod demo;
pub mod demo_missions;
pub mod districts;
pub mod export;
pub mod feedback;
pub mod geocode;
pub mod gps;
pub mod harm;
pub mod ingest;
pub mod load;
pub mod mapping;
pub mod missions;
pub mod places;
pub mod proposals;
pub mod queries;
pub mod roster;
pub mod setup;
pub mod snapshot;
pub mod store;
pub mod sync;
pub mod testing;

pub use csvfile::IngestError;
pub use load::{IngestOptions, LoadSummary};
pub use queries::{CitySummary, OffenseCount};
pub use store::{Bodega, BodegaError, Engine};
