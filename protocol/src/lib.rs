//! # protocol — the rules both ends of Beatbook share
//!
//! The server enforces these rules; the devices use the very same code to decide what to offer
//! (a button a role may not press is not shown) and to merge what they hold offline. Keeping
//! them in one pure crate — no IO, no framework, builds for `wasm32-unknown-unknown` — means the
//! phone and the server can never disagree about them.
//!
//! - [`policy`]: the five roles, every [`policy::Action`] the product offers, and the declared
//!   policy that says which role may take which action and where (anywhere, in its own district,
//!   only on its own assignments). One function, [`policy::decide`], answers every question.
//! - [`mission`]: the mission lifecycle as a state machine — statuses, the transitions each role
//!   may make, and the monotonic merge order the offline sync uses; and the mission records
//!   that travel between server and devices ([`mission::Mission`], [`mission::Place`]).
//! - [`sync`]: the offline sync as a pure protocol — messages, the server's per-device
//!   sequencing rule, the device's outbox and rebase — simulated in its tests against an
//!   in-memory server through a faulty network.
//! - [`audit`]: the audit log's records as the administrator's screen reads them.
//! - [`error`]: the one envelope every refusal of the API takes on the wire, and its codes.
//! - [`text`]: what free text a person types may hold (length, no hidden characters), for
//!   every field that stores it.
//! - [`menu`]: the Mission Menu's templates and the checks a template must pass, run in the
//!   editor before sending and on the server before storing.
//! - [`setup`]: a department's shift patterns (hours, days, overlap) and dosage rules, and the
//!   checks they pass wherever they are typed.

pub mod audit;
pub mod error;
pub mod menu;
pub mod mission;
pub mod policy;
pub mod setup;
pub mod sync;
pub mod text;

pub use mission::{MissionStatus, Transition, TransitionError};

/// The side of a micro place, metres: the cell of the lattice every mission place, device cache
/// and presence record is keyed by. Stored missions and the devices' caches carry it, so it is
/// one constant both ends read (`hotspot::CellSize` checks it when a lattice is built).
pub const MICRO_PLACE_M: u32 = 150;

/// The response header Beatbook's server puts on every answer, so a device can tell its own
/// server from whatever else answers on the way (a proxy's 502/503/504, a captive portal's page):
/// only an answer that carries it proves the server reachable.
pub const SERVER_HEADER: &str = "x-beatbook";
pub use policy::{Action, Decision, Role, Scope, Subject};
