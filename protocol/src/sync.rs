//! The offline sync, as a pure protocol: messages, the server's per-device sequencing rule, the
//! device's outbox, and the merge a device applies to what it pulls. No IO: the HTTP transport
//! (`POST /api/sync/push`, `GET /api/sync/pull?cookie=N`) and the Data Bodega's transactional
//! apply wrap these rules; the simulations in this module's tests run them against an
//! in-memory server through a network that drops, duplicates and reorders messages.
//!
//! Exactly once = at-least-once delivery + idempotent apply: every mutation carries its
//! device's sequence number; the server applies `last_seq + 1` and nothing else, skips what it
//! has seen, and refuses a gap without applying anything past it ([`plan_push`]). A business
//! rejection still consumes its number, so one bad mutation never wedges the queue; the device
//! learns of it through pull. The acknowledgement comes back through pull too (`last_seq`), so a
//! lost push response is harmless. See docs/SYNC.md.

use serde::{Deserialize, Serialize};

use crate::mission::{Mission, TransitionArgs};
use crate::Transition;

/// The wire format's version. A push or pull from another version is answered 409 "upgrade";
/// the device updates its code and re-pushes its untouched outbox.
pub const SCHEMA_VERSION: u32 = 1;

/// Most mutations in one push.
pub const MAX_BATCH: usize = 100;

/// Most breadcrumbs in one mutation.
pub const MAX_FIXES: usize = 500;

/// Largest push body a device sends, bytes: half the server's default body limit (2 MiB), so a
/// backlog of full breadcrumb batches (≈ 50 KB each) goes in several pushes instead of one the
/// server must refuse.
pub const MAX_PUSH_BYTES: usize = 1024 * 1024;

/// Device clock skew beyond which a mutation is flagged (seconds).
pub const SKEW_FLAG_SECONDS: i64 = 120;

/// One GPS fix from the device.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Fix {
    /// Device clock, UTC seconds.
    pub t: i64,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
    /// Accuracy radius, metres.
    pub accuracy_m: Option<f64>,
    /// Speed, m/s.
    pub speed_mps: Option<f64>,
}

/// What a mutation does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MutationKind {
    /// A lifecycle step on a mission.
    Step {
        /// The mission.
        mission_id: String,
        /// The step.
        step: Transition,
        /// Its details (device id and time are the mutation's own).
        args: TransitionArgs,
    },
    /// A field note on a mission: immutable; an edit is a new note that supersedes one.
    Note {
        /// Client-generated id.
        note_id: String,
        /// The mission.
        mission_id: String,
        /// The text.
        body: String,
        /// The note this one replaces.
        supersedes: Option<String>,
    },
    /// GPS breadcrumbs while a mission is active.
    Breadcrumbs {
        /// The fixes.
        fixes: Vec<Fix>,
    },
}

impl MutationKind {
    /// The stable name in the mutation log.
    pub fn name(&self) -> &'static str {
        match self {
            MutationKind::Step { .. } => "step",
            MutationKind::Note { .. } => "note",
            MutationKind::Breadcrumbs { .. } => "breadcrumbs",
        }
    }
}

/// One device write on its way to the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mutation {
    /// Per-device sequence: 1, 2, 3, … with no gaps.
    pub seq: u64,
    /// What it does.
    #[serde(flatten)]
    pub kind: MutationKind,
    /// Device clock when it happened, UTC seconds (kept; never used for ordering).
    pub device_time: i64,
}

/// PBKDF2-HMAC-SHA256 iterations of a supervisor's override code (OWASP's 2023 figure).
pub const OVERRIDE_ITERATIONS: u32 = 600_000;

/// What a device keeps to check a supervisor's override code with no signal: never the code,
/// only `PBKDF2-HMAC-SHA256(code, salt, iterations)`. Codes are 10 characters of a 32-letter
/// alphabet (50 bits), so the verifier on a lost device does not give the code away.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverrideVerifier {
    /// The supervisor's sign-in name.
    pub username: String,
    /// Their display name.
    pub display_name: String,
    /// Salt, hex.
    pub salt: String,
    /// PBKDF2 iterations.
    pub iterations: u32,
    /// The derived 32 bytes, hex.
    pub verifier: String,
}

/// `POST /api/sync/override`: after a supervisor's override signed its author out with work
/// unsynced, the device says so at the author's next sign-in, before pushing that work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverrideReport {
    /// The device.
    pub device_id: String,
    /// The supervisor who overrode (sign-in name).
    pub supervisor: String,
    /// When, device clock (UTC seconds).
    pub at: i64,
    /// Unsynced changes the device held.
    pub pending: u32,
}

/// `POST /api/sync/push`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushRequest {
    /// Must equal [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The device (registered to the signed-in user).
    pub device_id: String,
    /// Mutations from `last_seq + 1` on, at most [`MAX_BATCH`].
    pub mutations: Vec<Mutation>,
    /// The device's clock when it sent this push, UTC seconds: the server corrects the fixes'
    /// device times by the difference before checking them ([`fix_time_refusal`]). Absent (an
    /// older device, a sealed push opened by the server): no correction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<i64>,
}

/// How one mutation ended on the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// Applied now.
    Applied,
    /// Seen before (a retry): nothing done again.
    Duplicate,
    /// Refused for a business reason (recorded; the number is consumed).
    Rejected {
        /// Why, for the user.
        reason: String,
    },
}

/// `POST /api/sync/push` answer (an optimisation: the device must not depend on it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushResponse {
    /// The wire version.
    pub schema_version: u32,
    /// Highest sequence applied (or rejected) for this device.
    pub last_seq: u64,
    /// Per mutation pushed, in order, up to where the server stopped.
    pub results: Vec<(u64, Outcome)>,
}

/// A mutation the server refused, as the device learns it through pull.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    /// Its sequence number.
    pub seq: u64,
    /// What it was (`step`, `note`, `breadcrumbs`).
    pub kind: String,
    /// Why.
    pub reason: String,
}

/// A field note as devices see it (the mission's own type, sent as it is).
pub use crate::mission::Note;

/// `GET /api/sync/pull?cookie=N` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PullResponse {
    /// The wire version.
    pub schema_version: u32,
    /// Pass this as `cookie` next time.
    pub cookie: i64,
    /// Highest sequence the server holds for this device: outbox entries up to it are done.
    pub last_seq: u64,
    /// Missions visible to the user that changed since the cookie (whole records).
    pub missions: Vec<Mission>,
    /// Notes on those missions added since the cookie.
    pub notes: Vec<Note>,
    /// This device's rejected mutations (all of them still within the outbox's reach).
    pub rejections: Vec<Rejection>,
    /// Server time, UTC seconds (the device shows skew from it).
    pub server_time: i64,
    /// Missions changed since the cookie that were once the user's and are no longer theirs to
    /// see (reassigned to another officer): the device forgets them. Absent from older servers.
    #[serde(default)]
    pub gone: Vec<String>,
}

/// Errors a push or pull is refused with, before anything is applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum SyncRefusal {
    /// The device runs another wire version: update, then push again.
    #[error("this app is out of date (wire version {client}, server {server}): update and sync again")]
    Upgrade {
        /// The device's.
        client: u32,
        /// The server's.
        server: u32,
    },
    /// A mutation is missing before this batch (gap or reordering): resend from `last_seq + 1`.
    #[error("mutations are missing before {first}: the server has up to {last_seq}")]
    Gap {
        /// Highest sequence the server holds.
        last_seq: u64,
        /// First sequence of the refused batch.
        first: u64,
    },
    /// The batch is malformed (too long, sequences not consecutive, bad field).
    #[error("{0}")]
    Malformed(String),
}

/// What to do with each mutation of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Already applied: skip.
    Skip,
    /// Next in line: apply (in order).
    Apply,
}

/// The server's sequencing rule for one device's batch, given the highest sequence it holds.
/// Sequences must ascend by one within the batch; those at or below `last_seq` are skipped; the
/// first one above must be `last_seq + 1`, else the whole batch is refused as a gap (nothing
/// past the gap is applied).
///
/// # Errors
/// [`SyncRefusal::Gap`] or [`SyncRefusal::Malformed`].
pub fn plan_push(last_seq: u64, mutations: &[Mutation]) -> Result<Vec<Disposition>, SyncRefusal> {
    if mutations.len() > MAX_BATCH {
        return Err(SyncRefusal::Malformed(format!("at most {MAX_BATCH} mutations per push")));
    }
    for w in mutations.windows(2) {
        if w[0].seq.checked_add(1) != Some(w[1].seq) {
            return Err(SyncRefusal::Malformed(format!(
                "sequence numbers must ascend by one within a push ({} then {})",
                w[0].seq, w[1].seq
            )));
        }
    }
    if let Some(first) = mutations.iter().find(|m| m.seq > last_seq) {
        if first.seq != last_seq + 1 {
            return Err(SyncRefusal::Gap { last_seq, first: first.seq });
        }
    }
    Ok(mutations.iter().map(|m| if m.seq <= last_seq { Disposition::Skip } else { Disposition::Apply }).collect())
}

/// Checks the parts of a mutation the server can judge without its store.
///
/// # Errors
/// A reason, for [`Outcome::Rejected`].
pub fn check_mutation(m: &Mutation) -> Result<(), String> {
    if m.seq == 0 {
        return Err("sequence numbers start at 1".into());
    }
    match &m.kind {
        MutationKind::Step { mission_id, .. } => check_id("mission_id", mission_id),
        MutationKind::Note { note_id, mission_id, body, supersedes } => {
            check_id("note_id", note_id)?;
            check_id("mission_id", mission_id)?;
            if let Some(id) = supersedes {
                check_id("supersedes", id)?;
            }
            if body.trim().is_empty() {
                Err("body: a note has 1 to 2,000 characters".into())
            } else {
                crate::text::check(body.trim(), 2000, crate::text::Lines::Many).map_err(|r| format!("body: {r}"))
            }
        }
        MutationKind::Breadcrumbs { fixes } => {
            if fixes.is_empty() || fixes.len() > MAX_FIXES {
                return Err(format!("fixes: 1 to {MAX_FIXES} per mutation"));
            }
            for f in fixes {
                let ok = f.lat.is_finite()
                    && f.lon.is_finite()
                    && (-90.0..=90.0).contains(&f.lat)
                    && (-180.0..=180.0).contains(&f.lon)
                    && f.accuracy_m.is_none_or(|a| a.is_finite() && a >= 0.0)
                    && f.speed_mps.is_none_or(|s| s.is_finite() && s >= 0.0);
                if !ok {
                    return Err(format!("fixes: a fix at t={} is off the globe or has a negative accuracy/speed", f.t));
                }
            }
            Ok(())
        }
    }
}

/// An id a device made (a mission's or a note's): 1 to 64 ASCII letters, digits, '-', '_' or
/// '.', so it never carries markup or hidden characters into a screen or a log.
fn check_id(field: &str, id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > 64 || !id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(format!("{field}: must be 1 to 64 letters, digits, '-', '_' or '.'"));
    }
    Ok(())
}

/// Why a breadcrumb's time is not believed, if it is not: `t` on the device clock, corrected by
/// `skew` (server clock minus device clock at the push), must not lie in the future and must
/// lie inside one of the user's sessions, each `[signed in, signed out or expired]` on the
/// server clock; both with [`SKEW_FLAG_SECONDS`] of slack, the clock error a device is allowed
/// before its mutations are flagged. A device records GPS only while its officer works a
/// mission, which takes a signed-in session; a fix outside every session of its user is made up
/// (or recorded after the session ended, which the device shows as refused).
pub fn fix_time_refusal(t: i64, skew: i64, now: i64, sessions: &[(i64, i64)]) -> Option<FixTimeRefusal> {
    let at = t.saturating_add(skew);
    if at > now.saturating_add(SKEW_FLAG_SECONDS) {
        return Some(FixTimeRefusal::Future);
    }
    let inside = sessions
        .iter()
        .any(|&(from, to)| at >= from.saturating_sub(SKEW_FLAG_SECONDS) && at <= to.saturating_add(SKEW_FLAG_SECONDS));
    (!inside).then_some(FixTimeRefusal::OutsideSessions)
}

/// Why [`fix_time_refusal`] refused a fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FixTimeRefusal {
    /// After the server's now (corrected).
    Future,
    /// In no session of the user.
    OutsideSessions,
}

/// True when a device clock differs from the server's by more than [`SKEW_FLAG_SECONDS`].
pub fn skewed(device_time: i64, server_time: i64) -> bool {
    device_time.abs_diff(server_time) > SKEW_FLAG_SECONDS.unsigned_abs()
}

/// Checks a device id as sent: 1 to 64 ASCII letters, digits or '-' (a UUID), nothing trimmed.
///
/// # Errors
/// The reason, naming the field.
pub fn check_device_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > 64 || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err("device_id: must be 1 to 64 letters, digits or '-' (a UUID)".into());
    }
    Ok(())
}

/// A device's queue of writes not yet known to be on the server.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Outbox {
    /// The next sequence number to use.
    pub next_seq: u64,
    /// Pending mutations, ascending.
    pub pending: Vec<Mutation>,
}

impl Outbox {
    /// An empty outbox for a new device (sequences start at 1).
    pub fn new() -> Self {
        Outbox { next_seq: 1, pending: Vec::new() }
    }

    /// Queues a write and returns it.
    pub fn enqueue(&mut self, kind: MutationKind, device_time: i64) -> Mutation {
        let m = Mutation { seq: self.next_seq.max(1), kind, device_time };
        self.next_seq = m.seq + 1;
        self.pending.push(m.clone());
        m
    }

    /// Drops everything the server holds (`seq ≤ last_seq`).
    pub fn acknowledge(&mut self, last_seq: u64) {
        self.pending.retain(|m| m.seq > last_seq);
        self.next_seq = self.next_seq.max(last_seq + 1);
    }

    /// The next push: the oldest pending mutations, at most `max` of them and, after the first,
    /// no more than [`MAX_PUSH_BYTES`] of JSON.
    pub fn batch(&self, max: usize) -> Vec<Mutation> {
        let mut bytes = 0;
        let mut out = Vec::new();
        for m in self.pending.iter().take(max.min(MAX_BATCH)) {
            let size = serde_json::to_vec(m).map_or(0, |v| v.len()) + 1;
            if !out.is_empty() && bytes + size > MAX_PUSH_BYTES {
                break;
            }
            bytes += size;
            out.push(m.clone());
        }
        out
    }

    /// Pending count (shown to the user).
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// True when nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}

/// The device's view of a mission after a pull: the server's record, with the device's own
/// pending steps re-applied on top (rebase), so a write the server has not confirmed yet does
/// not appear to be undone.
pub fn rebase(server: &Mission, pending: &[Mutation]) -> Mission {
    let mut view = server.clone();
    for m in pending {
        if let MutationKind::Step { mission_id, step, .. } = &m.kind {
            if *mission_id == view.id && step.leaves(view.status) {
                view.status = crate::mission::merge(view.status, step.target()).status;
            }
        }
    }
    view
}

#[cfg(any(test, feature = "sim"))]
pub mod sim;
#[cfg(test)]
mod tests;
