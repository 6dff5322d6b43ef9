//! The mission lifecycle: one definition for the server, the sergeant's board, the officer's
//! phone and the offline merge.
//!
//! ```text
//! draft ─issue→ issued ─acknowledge→ acknowledged ─assign→ assigned ─start→ in_progress
//!                                                      │  ↺ assign (reassign)    │
//!                                                      ├────complete / not_complete──┤
//!                                                      ▼                         ▼
//!                                           completed | not_completed ─review→ reviewed
//! cancel: from any state that is not terminal (reviewed, cancelled), sergeant or above
//! ```
//!
//! The [`MissionStatus::rank`] order (issued < acknowledged < assigned < in progress <
//! {completed, not completed} < reviewed, cancelled above all) is also the merge order of the
//! offline sync ([`merge`]): two devices that each moved a mission forward converge on the
//! furthest state, whatever order their pushes arrive in.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::policy::{decide, Action, Decision, Subject, Target};

/// Where a mission stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MissionStatus {
    /// Being planned; not yet visible to the squad.
    Draft,
    /// Issued for a district and shift.
    Issued,
    /// The squad's sergeant accepted it.
    Acknowledged,
    /// Given to an officer or unit.
    Assigned,
    /// The officer is working it.
    InProgress,
    /// Done, with outcomes.
    Completed,
    /// Not done, with a reason.
    NotCompleted,
    /// The sergeant reviewed the outcome. Terminal.
    Reviewed,
    /// Called off. Terminal.
    Cancelled,
}

impl MissionStatus {
    /// Every status.
    pub const ALL: [MissionStatus; 9] = [
        MissionStatus::Draft,
        MissionStatus::Issued,
        MissionStatus::Acknowledged,
        MissionStatus::Assigned,
        MissionStatus::InProgress,
        MissionStatus::Completed,
        MissionStatus::NotCompleted,
        MissionStatus::Reviewed,
        MissionStatus::Cancelled,
    ];

    /// Position in the merge order; completed and not completed share a rank.
    pub fn rank(self) -> u8 {
        match self {
            MissionStatus::Draft => 0,
            MissionStatus::Issued => 1,
            MissionStatus::Acknowledged => 2,
            MissionStatus::Assigned => 3,
            MissionStatus::InProgress => 4,
            MissionStatus::Completed | MissionStatus::NotCompleted => 5,
            MissionStatus::Reviewed => 6,
            MissionStatus::Cancelled => 7,
        }
    }

    /// No transition leaves a terminal state.
    pub fn is_terminal(self) -> bool {
        matches!(self, MissionStatus::Reviewed | MissionStatus::Cancelled)
    }

    /// The stable name stored in the database and sent over the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            MissionStatus::Draft => "draft",
            MissionStatus::Issued => "issued",
            MissionStatus::Acknowledged => "acknowledged",
            MissionStatus::Assigned => "assigned",
            MissionStatus::InProgress => "in_progress",
            MissionStatus::Completed => "completed",
            MissionStatus::NotCompleted => "not_completed",
            MissionStatus::Reviewed => "reviewed",
            MissionStatus::Cancelled => "cancelled",
        }
    }

    /// Reads a stored name.
    pub fn parse(name: &str) -> Option<MissionStatus> {
        MissionStatus::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Words for people.
    pub fn label(self) -> &'static str {
        match self {
            MissionStatus::Draft => "Draft",
            MissionStatus::Issued => "Issued",
            MissionStatus::Acknowledged => "Acknowledged",
            MissionStatus::Assigned => "Assigned",
            MissionStatus::InProgress => "In progress",
            MissionStatus::Completed => "Completed",
            MissionStatus::NotCompleted => "Not completed",
            MissionStatus::Reviewed => "Reviewed",
            MissionStatus::Cancelled => "Cancelled",
        }
    }
}

impl fmt::Display for MissionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A step in the lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transition {
    /// draft → issued.
    Issue,
    /// issued → acknowledged.
    Acknowledge,
    /// acknowledged → assigned, or assigned → assigned to someone else.
    Assign,
    /// assigned → in progress.
    Start,
    /// assigned or in progress → completed.
    Complete,
    /// assigned or in progress → not completed.
    NotComplete,
    /// completed or not completed → reviewed.
    Review,
    /// any non-terminal state → cancelled.
    Cancel,
}

impl Transition {
    /// Every transition.
    pub const ALL: [Transition; 8] = [
        Transition::Issue,
        Transition::Acknowledge,
        Transition::Assign,
        Transition::Start,
        Transition::Complete,
        Transition::NotComplete,
        Transition::Review,
        Transition::Cancel,
    ];

    /// The status a mission is in after this step.
    pub fn target(self) -> MissionStatus {
        match self {
            Transition::Issue => MissionStatus::Issued,
            Transition::Acknowledge => MissionStatus::Acknowledged,
            Transition::Assign => MissionStatus::Assigned,
            Transition::Start => MissionStatus::InProgress,
            Transition::Complete => MissionStatus::Completed,
            Transition::NotComplete => MissionStatus::NotCompleted,
            Transition::Review => MissionStatus::Reviewed,
            Transition::Cancel => MissionStatus::Cancelled,
        }
    }

    /// The policy action this step needs.
    pub fn action(self) -> Action {
        match self {
            Transition::Issue => Action::PlanMissions,
            Transition::Acknowledge => Action::AcknowledgeMission,
            Transition::Assign => Action::AssignMission,
            Transition::Start | Transition::Complete | Transition::NotComplete => Action::WorkMission,
            Transition::Review => Action::ReviewMission,
            Transition::Cancel => Action::CancelMission,
        }
    }

    /// True when this step may leave `from`.
    pub fn leaves(self, from: MissionStatus) -> bool {
        use MissionStatus as M;
        match self {
            Transition::Issue => from == M::Draft,
            Transition::Acknowledge => from == M::Issued,
            Transition::Assign => matches!(from, M::Acknowledged | M::Assigned),
            Transition::Start => from == M::Assigned,
            Transition::Complete | Transition::NotComplete => matches!(from, M::Assigned | M::InProgress),
            Transition::Review => matches!(from, M::Completed | M::NotCompleted),
            Transition::Cancel => !from.is_terminal(),
        }
    }

    /// The stable name used in events and over the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Transition::Issue => "issue",
            Transition::Acknowledge => "acknowledge",
            Transition::Assign => "assign",
            Transition::Start => "start",
            Transition::Complete => "complete",
            Transition::NotComplete => "not_complete",
            Transition::Review => "review",
            Transition::Cancel => "cancel",
        }
    }

    /// Reads a stored name.
    pub fn parse(name: &str) -> Option<Transition> {
        Transition::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

impl fmt::Display for Transition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a transition was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum TransitionError {
    /// The step does not leave the current status.
    #[error("a mission that is {from} cannot be {}", past(*.transition))]
    NotFromHere {
        /// Where the mission is.
        from: MissionStatus,
        /// What was asked.
        transition: Transition,
    },
    /// The policy says no.
    #[error("{0}")]
    Forbidden(String),
}

fn past(t: Transition) -> &'static str {
    match t {
        Transition::Issue => "issued",
        Transition::Acknowledge => "acknowledged",
        Transition::Assign => "assigned",
        Transition::Start => "started",
        Transition::Complete => "completed",
        Transition::NotComplete => "marked not completed",
        Transition::Review => "reviewed",
        Transition::Cancel => "cancelled",
    }
}

/// The facts about a mission the rules need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MissionFacts<'a> {
    /// Current status.
    pub status: MissionStatus,
    /// District code.
    pub district: &'a str,
    /// Assigned user, if any.
    pub assignee: Option<i64>,
}

/// Checks one step by one person: the step must leave the current status, and the person's
/// roles must allow its action on this mission. For an assignment, `new_assignee` is whom the
/// mission is being given to (it does not change who may assign).
///
/// # Errors
/// [`TransitionError`] with the reason.
///
/// ```
/// use protocol::mission::{check, MissionFacts};
/// use protocol::{MissionStatus, Role, Subject, Transition};
/// let officer = Subject { user_id: 42, roles: vec![Role::Officer], districts: vec!["D1".into()] };
/// let mine = MissionFacts { status: MissionStatus::Assigned, district: "D1", assignee: Some(42) };
/// assert_eq!(check(&officer, mine, Transition::Start), Ok(MissionStatus::InProgress));
/// // An assigned mission is past acknowledgement; and officers do not review their own work.
/// assert!(check(&officer, mine, Transition::Acknowledge).is_err());
/// assert!(check(&officer, mine, Transition::Review).is_err());
/// ```
pub fn check(
    subject: &Subject,
    facts: MissionFacts<'_>,
    transition: Transition,
) -> Result<MissionStatus, TransitionError> {
    if !transition.leaves(facts.status) {
        return Err(TransitionError::NotFromHere { from: facts.status, transition });
    }
    let target = Target::Assignment { district: facts.district, assignee: facts.assignee };
    match decide(subject, transition.action(), target) {
        Decision::Allow(_) => Ok(transition.target()),
        Decision::Deny(reason) => Err(TransitionError::Forbidden(reason)),
    }
}

/// Replays a log of steps from `draft`, ignoring roles (the log holds only steps that were
/// accepted when they happened).
///
/// # Errors
/// The first step that does not leave the status reached so far.
pub fn replay(steps: impl IntoIterator<Item = Transition>) -> Result<MissionStatus, TransitionError> {
    steps.into_iter().try_fold(MissionStatus::Draft, |from, t| {
        if t.leaves(from) {
            Ok(t.target())
        } else {
            Err(TransitionError::NotFromHere { from, transition: t })
        }
    })
}

/// How a step arriving through the offline sync lands on a mission's current status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum StepLanding {
    /// Apply it: the mission moves to this status.
    Apply(MissionStatus),
    /// The mission is already there or further along (another device of the same officer, or
    /// the sergeant's second tablet, got there first): nothing to do, and that is a success.
    AlreadyThere,
    /// Completed on one device, not completed on another: keep the merge, flag it for review.
    Conflict(MissionStatus),
    /// It cannot land (the mission was cancelled, or is not yet where the step starts).
    Refuse(String),
}

/// Where a synced step lands, given the mission's status when it arrives. Steps are set-once
/// facts under the monotonic merge: a repeat or a step the mission has moved past is a no-op
/// success, so two devices of one officer converge in either order; a step into a cancelled
/// mission, or one the mission has not reached, is refused with a reason the user sees.
pub fn land_step(current: MissionStatus, step: Transition) -> StepLanding {
    if step.leaves(current) {
        return StepLanding::Apply(step.target());
    }
    let target = step.target();
    if current == MissionStatus::Cancelled && step != Transition::Cancel {
        return StepLanding::Refuse(format!("the mission was cancelled before this could be {}", past(step)));
    }
    let merged = merge(current, target);
    if merged.conflict {
        return StepLanding::Conflict(merged.status);
    }
    if current.rank() >= target.rank() && step != Transition::Assign {
        return StepLanding::AlreadyThere;
    }
    StepLanding::Refuse(TransitionError::NotFromHere { from: current, transition: step }.to_string())
}

/// The outcome of merging two views of one mission's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Merged {
    /// The converged status.
    pub status: MissionStatus,
    /// True when the views disagreed in a way a person must look at (completed on one device,
    /// not completed on another).
    pub conflict: bool,
}

/// The monotonic merge: the furthest status wins, cancelled overrides everything, and completed
/// against not completed keeps completed (the work was done) but flags the conflict for the
/// sergeant's review. Commutative, associative and idempotent.
pub fn merge(a: MissionStatus, b: MissionStatus) -> Merged {
    use MissionStatus as M;
    match (a, b) {
        (M::Completed, M::NotCompleted) | (M::NotCompleted, M::Completed) => {
            Merged { status: M::Completed, conflict: true }
        }
        _ if a.rank() >= b.rank() => Merged { status: a, conflict: false },
        _ => Merged { status: b, conflict: false },
    }
}

/// Where a mission happens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Place {
    /// A micro hot spot: a cell of the global lattice.
    Cell {
        /// UTM zone as EPSG code.
        epsg: u32,
        /// Cell size, metres.
        size_m: u32,
        /// Column.
        ix: i64,
        /// Row.
        iy: i64,
        /// Centre latitude.
        lat: f64,
        /// Centre longitude.
        lon: f64,
    },
    /// A street segment.
    Segment {
        /// Segment id in the department's street network.
        id: String,
        /// Midpoint latitude.
        lat: f64,
        /// Midpoint longitude.
        lon: f64,
        /// Buffer, metres.
        radius_m: f64,
    },
    /// An address or point with a radius.
    Point {
        /// Latitude.
        lat: f64,
        /// Longitude.
        lon: f64,
        /// Radius, metres.
        radius_m: f64,
    },
}

impl Place {
    /// Centre `(lat, lon)`.
    pub fn centre(&self) -> (f64, f64) {
        match self {
            Place::Cell { lat, lon, .. } | Place::Segment { lat, lon, .. } | Place::Point { lat, lon, .. } => {
                (*lat, *lon)
            }
        }
    }

    /// Its reference on the lattice or the network, shown beside its name ("cell 3276/36392",
    /// "segment 812"); `None` for a point.
    pub fn grid_ref(&self) -> Option<String> {
        match self {
            Place::Cell { ix, iy, .. } => Some(format!("cell {ix}/{iy}")),
            Place::Segment { id, .. } => Some(format!("segment {id}")),
            Place::Point { .. } => None,
        }
    }

    /// The radius presence and the Koper timer use: for a cell, the circle through its corners.
    pub fn radius_m(&self) -> f64 {
        match self {
            Place::Cell { size_m, .. } => f64::from(*size_m) * std::f64::consts::FRAC_1_SQRT_2,
            Place::Segment { radius_m, .. } | Place::Point { radius_m, .. } => *radius_m,
        }
    }
}

/// A mission as every screen and the sync see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mission {
    /// UUID.
    pub id: String,
    /// The template version it was issued from.
    pub template: crate::menu::Template,
    /// Where it stands.
    pub status: MissionStatus,
    /// District code.
    pub district: String,
    /// Shift code.
    pub shift: String,
    /// Local date the shift starts.
    pub shift_date: String,
    /// Window start, UTC seconds.
    pub window_start: i64,
    /// Window end, UTC seconds.
    pub window_end: i64,
    /// Where.
    pub place: Place,
    /// A name for the place people recognise.
    pub place_label: String,
    /// Assigned officer (user id).
    pub assignee_user_id: Option<i64>,
    /// Assigned officer's display name.
    pub assignee_name: Option<String>,
    /// Assigned unit.
    pub assignee_unit: Option<String>,
    /// 1 (highest) to 5.
    pub priority: i64,
    /// Instructions.
    pub instructions: String,
    /// Why it was recommended.
    pub reason: String,
    /// Outcome values by field key.
    pub outcome: Option<serde_json::Value>,
    /// The officer's closing note.
    pub outcome_note: Option<String>,
    /// Why it was not completed.
    pub not_completed_reason: Option<String>,
    /// Devices disagreed about the outcome.
    pub conflict: bool,
    /// Bumped by every change.
    pub version: i64,
}

/// The outcome field an officer answers "needs follow-up" with (a yes/no of the Mission Menu's
/// templates): a yes puts the mission in its district's follow-up queue.
pub const FOLLOW_UP_KEY: &str = "follow_up";

impl Mission {
    /// Finished, and its officer answered "needs follow-up" with yes.
    pub fn needs_follow_up(&self) -> bool {
        matches!(self.status, MissionStatus::Completed | MissionStatus::Reviewed)
            && self.outcome.as_ref().and_then(|o| o.get(FOLLOW_UP_KEY)).and_then(serde_json::Value::as_bool)
                == Some(true)
    }
}

/// A field note on a mission: immutable; an edit is a new note that supersedes the old one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    /// Id.
    pub id: String,
    /// Mission.
    pub mission_id: String,
    /// Author's display name.
    pub author: String,
    /// Text.
    pub body: String,
    /// The note it replaces.
    pub supersedes: Option<String>,
    /// Server time, UTC seconds.
    pub server_time: i64,
}

/// What the field sent back on one mission, beyond its outcome: the officers' notes in force
/// (an edited note replaces the one it supersedes) and the sergeant's review comment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MissionFeedback {
    /// The mission.
    pub mission_id: String,
    /// Field notes, oldest first.
    pub notes: Vec<Note>,
    /// The review's comment and who wrote it.
    pub review_comment: Option<(String, String)>,
    /// Why it was cancelled, and by whom.
    pub cancel_reason: Option<(String, String)>,
}

/// A finished mission whose officer asked for a follow-up, waiting for its sergeant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FollowUp {
    /// The mission (its outcome, its closing note).
    pub mission: Mission,
    /// Its notes and review.
    pub feedback: MissionFeedback,
}

/// A change to a mission before its sergeant acknowledges it (afterwards the squad has planned
/// around it: it is cancelled with a reason and issued anew). The place stays: a mission somewhere
/// else is another mission.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MissionEdit {
    /// The template version.
    pub template_id: i64,
    /// 1 (highest) to 5.
    pub priority: i64,
    /// Instructions.
    pub instructions: String,
    /// The place's name.
    pub place_label: String,
    /// When it starts, UTC seconds (within its shift).
    pub window_start: i64,
    /// When it ends, UTC seconds.
    pub window_end: i64,
}

/// Where an officer's proposal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProposalStatus {
    /// Waiting for the sergeant.
    Pending,
    /// Approved: it became an issued mission.
    Approved,
    /// Declined, with the sergeant's reason.
    Declined,
}

impl ProposalStatus {
    /// Its stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ProposalStatus::Pending => "pending",
            ProposalStatus::Approved => "approved",
            ProposalStatus::Declined => "declined",
        }
    }

    /// From its stored name.
    pub fn parse(s: &str) -> Option<ProposalStatus> {
        [ProposalStatus::Pending, ProposalStatus::Approved, ProposalStatus::Declined]
            .into_iter()
            .find(|p| p.as_str() == s)
    }
}

/// What an officer proposes: a mission of a Mission Menu template at a place they know, and why.
/// A record of its own, not a mission state (a proposal is made online; the sync protocol and
/// the mission state machine are unchanged).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProposalDraft {
    /// The district (the officer's own).
    pub district: String,
    /// The template version proposed.
    pub template_id: i64,
    /// Where: a point with a radius (the officer's position, or a place tapped on the map).
    pub place: Place,
    /// What the officer calls the place ("the alley behind 1200 Granville"); empty: the
    /// place's name from the incidents around it.
    pub place_label: String,
    /// Why: what the officer has seen there.
    pub why: String,
}

/// An officer's proposal as the sergeant's queue and the officer's list show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MissionProposal {
    /// Its number.
    pub id: i64,
    /// The district.
    pub district: String,
    /// The template version proposed.
    pub template_id: i64,
    /// That template's name.
    pub template_name: String,
    /// Where.
    pub place: Place,
    /// The place's name.
    pub place_label: String,
    /// Why, in the officer's words.
    pub why: String,
    /// Who proposed it (display name).
    pub proposed_by: String,
    /// When, UTC seconds.
    pub proposed_at: i64,
    /// Where it stands.
    pub status: ProposalStatus,
    /// Who decided (display name; empty while pending).
    pub decided_by: String,
    /// When, UTC seconds.
    pub decided_at: Option<i64>,
    /// The sergeant's reason for declining.
    pub decline_reason: String,
    /// The mission it became.
    pub mission_id: Option<String>,
}

/// How outcomes are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    /// By Mission Menu template.
    Template,
    /// By district.
    District,
    /// By place.
    Place,
    /// By ISO week of the shift date ("2020-W53").
    Week,
}

impl GroupBy {
    /// Every grouping, in the order a screen offers them.
    pub const ALL: [GroupBy; 4] = [GroupBy::Template, GroupBy::District, GroupBy::Place, GroupBy::Week];

    /// Its name over the wire and in a CSV header.
    pub fn key(self) -> &'static str {
        match self {
            GroupBy::Template => "template",
            GroupBy::District => "district",
            GroupBy::Place => "place",
            GroupBy::Week => "week",
        }
    }

    /// Its name on a screen.
    pub fn label(self) -> &'static str {
        match self {
            GroupBy::Template => "Template",
            GroupBy::District => "District",
            GroupBy::Place => "Place",
            GroupBy::Week => "Week",
        }
    }
}

/// The figures' labels across `rows`, in the order they first appear: the outcome table's
/// columns after the counts.
pub fn figure_labels(rows: &[OutcomeRow]) -> Vec<String> {
    let mut labels: Vec<String> = Vec::new();
    for (label, _) in rows.iter().flat_map(|r| &r.figures) {
        if !labels.contains(label) {
            labels.push(label.clone());
        }
    }
    labels
}

/// One group's outcomes added up.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeRow {
    /// The group ("Koper visit", "D1", "10XX Alberni St (West End)", "2020-W53").
    pub group: String,
    /// Missions issued in it (drafts and cancelled ones left out).
    pub missions: i64,
    /// Completed (or completed and reviewed).
    pub completed: i64,
    /// Not completed.
    pub not_completed: i64,
    /// Finished with "needs follow-up".
    pub follow_ups: i64,
    /// Each count field's total and each yes/no field's yeses, by the field's label, in the
    /// order labels first appear.
    pub figures: Vec<(String, i64)>,
}

/// A mission to create.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewMission {
    /// UUID chosen by the caller (devices create missions offline).
    pub id: String,
    /// Template version row id.
    pub template_id: i64,
    /// District code.
    pub district: String,
    /// Shift code.
    pub shift: String,
    /// Local date the shift starts.
    pub shift_date: String,
    /// Window start, UTC seconds.
    pub window_start: i64,
    /// Window end, UTC seconds.
    pub window_end: i64,
    /// Where.
    pub place: Place,
    /// A name for the place.
    pub place_label: String,
    /// 1 (highest) to 5.
    pub priority: i64,
    /// Instructions.
    pub instructions: String,
    /// Why it was recommended.
    pub reason: String,
    /// Issue at once (otherwise it stays a draft).
    pub issue: bool,
}

/// The details a transition carries.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TransitionArgs {
    /// For `assign`: the officer.
    pub assignee_user_id: Option<i64>,
    /// For `assign`: the unit.
    pub assignee_unit: Option<String>,
    /// For `complete`: outcome values by field key.
    pub outcome: Option<serde_json::Value>,
    /// For `complete` and `review`: a note.
    pub note: Option<String>,
    /// For `not_complete` and `cancel`: why.
    pub reason: Option<String>,
    /// The version the caller last saw (refused as stale if it moved on).
    pub expected_version: Option<i64>,
    /// The device it came from.
    pub device_id: Option<String>,
    /// The device's clock when it happened (UTC seconds).
    pub device_time: Option<i64>,
}

/// One recorded step of a mission: its audit trail and sync log, as the store keeps it and the
/// board's history shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissionEvent {
    /// Row id (increasing).
    pub id: i64,
    /// The mission.
    pub mission_id: String,
    /// `create` or a transition name.
    pub transition: String,
    /// Status before.
    pub from_status: Option<String>,
    /// Status after.
    pub to_status: String,
    /// Who.
    pub actor_user_id: i64,
    /// From which device.
    pub device_id: Option<String>,
    /// Server clock, UTC seconds.
    pub server_time: i64,
    /// Device clock, UTC seconds.
    pub device_time: Option<i64>,
    /// Details (JSON).
    pub detail: String,
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::policy::Role;

    fn subject(role: Role, user_id: i64, district: &str) -> Subject {
        Subject { user_id, roles: vec![role], districts: vec![district.to_string()] }
    }

    fn any_status() -> impl Strategy<Value = MissionStatus> {
        proptest::sample::select(MissionStatus::ALL.to_vec())
    }

    fn any_transition() -> impl Strategy<Value = Transition> {
        proptest::sample::select(Transition::ALL.to_vec())
    }

    fn any_role() -> impl Strategy<Value = Role> {
        proptest::sample::select(Role::ALL.to_vec())
    }

    #[test]
    fn names_round_trip() {
        for s in MissionStatus::ALL {
            assert_eq!(MissionStatus::parse(s.as_str()), Some(s));
        }
        for t in Transition::ALL {
            assert_eq!(Transition::parse(t.as_str()), Some(t));
        }
    }

    #[test]
    fn the_happy_path_reaches_review() {
        let cmd = subject(Role::Command, 1, "D1");
        let sgt = subject(Role::Sergeant, 2, "D1");
        let off = subject(Role::Officer, 3, "D1");
        let mut facts = MissionFacts { status: MissionStatus::Draft, district: "D1", assignee: None };
        for (who, t) in [
            (&cmd, Transition::Issue),
            (&sgt, Transition::Acknowledge),
            (&sgt, Transition::Assign),
            (&off, Transition::Start),
            (&off, Transition::Complete),
            (&sgt, Transition::Review),
        ] {
            facts.status = check(who, facts, t).unwrap_or_else(|e| panic!("{t}: {e}"));
            if t == Transition::Assign {
                facts.assignee = Some(3);
            }
        }
        assert_eq!(facts.status, MissionStatus::Reviewed);
    }

    #[test]
    fn refusals_say_why() {
        let off = subject(Role::Officer, 3, "D1");
        let facts = MissionFacts { status: MissionStatus::Issued, district: "D1", assignee: None };
        let err = check(&off, facts, Transition::Acknowledge).expect_err("officers do not acknowledge");
        assert!(matches!(err, TransitionError::Forbidden(_)), "{err}");
        let done = MissionFacts { status: MissionStatus::Reviewed, district: "D1", assignee: Some(3) };
        let err = check(&subject(Role::Sergeant, 2, "D1"), done, Transition::Cancel).expect_err("reviewed is terminal");
        assert_eq!(err.to_string(), "a mission that is reviewed cannot be cancelled");
    }

    #[test]
    fn another_districts_sergeant_cannot_touch_it() {
        let facts = MissionFacts { status: MissionStatus::Issued, district: "D1", assignee: None };
        assert!(check(&subject(Role::Sergeant, 9, "D2"), facts, Transition::Acknowledge).is_err());
        assert!(check(&subject(Role::Sergeant, 9, "D1"), facts, Transition::Acknowledge).is_ok());
    }

    proptest! {
        /// No role can make a step that does not leave the current status, and every accepted
        /// step lands on the step's target with a rank that never goes down (except reassigning,
        /// which keeps it).
        #[test]
        fn no_illegal_transition_is_accepted(status in any_status(), t in any_transition(), role in any_role(),
                                             own in any::<bool>(), same_district in any::<bool>()) {
            let who = subject(role, 5, if same_district { "D1" } else { "D9" });
            let facts = MissionFacts { status, district: "D1", assignee: own.then_some(5) };
            match check(&who, facts, t) {
                Ok(next) => {
                    prop_assert!(t.leaves(status));
                    prop_assert_eq!(next, t.target());
                    prop_assert!(next.rank() >= status.rank());
                    prop_assert!(crate::policy::grant(role, t.action()).is_some());
                }
                Err(TransitionError::NotFromHere { .. }) => prop_assert!(!t.leaves(status)),
                Err(TransitionError::Forbidden(_)) => prop_assert!(t.leaves(status)),
            }
        }

        /// Every legal path, followed as long as steps other than reassignment are available,
        /// ends in a terminal state within a bounded number of steps.
        #[test]
        fn every_legal_path_ends_in_a_terminal_state(choices in proptest::collection::vec(0usize..8, 1..40)) {
            let mut status = MissionStatus::Draft;
            let mut steps = Vec::new();
            for c in choices.iter().cycle().take(64) {
                if status.is_terminal() { break; }
                let legal: Vec<Transition> = Transition::ALL
                    .into_iter()
                    .filter(|t| t.leaves(status) && t.target() != status)
                    .collect();
                prop_assert!(!legal.is_empty(), "stuck in {status}");
                let t = legal[c % legal.len()];
                steps.push(t);
                status = t.target();
            }
            prop_assert!(status.is_terminal(), "path {steps:?} ended in {status}");
            // An event log replays to the same state.
            prop_assert_eq!(replay(steps.iter().copied()), Ok(status));
        }

        /// A synced step never moves a mission backwards, and landing the same step twice is
        /// the same as landing it once.
        #[test]
        fn landing_is_monotonic_and_idempotent(status in any_status(), t in any_transition()) {
            match land_step(status, t) {
                StepLanding::Apply(next) => {
                    prop_assert!(next.rank() >= status.rank());
                    prop_assert!(matches!(land_step(next, t), StepLanding::AlreadyThere | StepLanding::Apply(_)));
                }
                StepLanding::Conflict(next) => prop_assert_eq!(next, MissionStatus::Completed),
                StepLanding::AlreadyThere => prop_assert!(status.rank() >= t.target().rank()),
                StepLanding::Refuse(reason) => prop_assert!(!reason.is_empty()),
            }
        }

        /// The merge is a join: commutative, associative, idempotent, and never goes below
        /// either input.
        #[test]
        fn merge_converges_in_any_order(a in any_status(), b in any_status(), c in any_status()) {
            prop_assert_eq!(merge(a, b), merge(b, a));
            prop_assert_eq!(merge(merge(a, b).status, c).status, merge(a, merge(b, c).status).status);
            prop_assert_eq!(merge(a, a).status, a);
            let m = merge(a, b).status;
            prop_assert!(m.rank() >= a.rank() && m.rank() >= b.rank());
        }
    }
}
