//! Who may do what, and where: the declared access policy.
//!
//! Every server function, HTTP route and sync mutation kind names one [`Action`]; the server asks
//! [`decide`] before it acts, and the UI asks the same function before it offers a button. The
//! policy itself is the table [`POLICY`]: one row per (role, action) grant with its [`Scope`].
//! Anything not granted is denied. Least privilege (CJIS AC-6): officers see aggregates and their
//! own assignments, never incident records; administrators manage accounts, devices and the audit
//! log but do not read crime data.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A user's role. A person may hold several (a sergeant who is also an analyst).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Patrol officer: works assigned missions, on a phone or in-car laptop.
    Officer,
    /// Sergeant: acknowledges, assigns and reviews the squad's missions in the field.
    Sergeant,
    /// Command staff: plans missions and watches the command views.
    Command,
    /// Crime analyst: loads and maps the data, builds the Mission Menu.
    Analyst,
    /// Administrator: accounts, devices, configuration and the audit log.
    Admin,
}

impl Role {
    /// Every role, in rank order.
    pub const ALL: [Role; 5] = [Role::Officer, Role::Sergeant, Role::Command, Role::Analyst, Role::Admin];

    /// The stable name used in the database, in tokens and in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Officer => "officer",
            Role::Sergeant => "sergeant",
            Role::Command => "command",
            Role::Analyst => "analyst",
            Role::Admin => "admin",
        }
    }

    /// Reads a role name as stored, or as an identity provider's app role (`Beatbook.Sergeant`,
    /// `command_staff`, any case).
    pub fn parse(name: &str) -> Option<Role> {
        let n = name.trim().to_ascii_lowercase();
        let n = n.strip_prefix("beatbook.").unwrap_or(&n);
        Some(match n {
            "officer" | "patrol" | "patrol_officer" => Role::Officer,
            "sergeant" | "sgt" => Role::Sergeant,
            "command" | "command_staff" | "commandstaff" => Role::Command,
            "analyst" | "crime_analyst" => Role::Analyst,
            "admin" | "administrator" => Role::Admin,
            _ => return None,
        })
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a grant applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// The whole city.
    Anywhere,
    /// Only targets in a district the user is a member of (never city-wide requests).
    OwnDistrict,
    /// Only the user's own assignments (missions assigned to them or their unit).
    OwnAssignments,
}

/// Everything a user can ask Beatbook to do. Each endpoint names exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// See one's own account, sessions and devices.
    ViewOwnAccount,
    /// City totals and the micro-place map (aggregates, no records).
    ViewOverview,
    /// Hot-spot scores and per-cell, per-day aggregates (no personal data).
    ViewHotSpots,
    /// Incident-level records (offence, time, place of each incident).
    ViewIncidents,
    /// Download data out of Beatbook (CSV, PDF).
    ExportData,
    /// Load RMS/CAD/AVL exports into the Data Bodega.
    IngestData,
    /// Read missions.
    ViewMissions,
    /// Create and edit Mission Menu templates.
    ManageMenu,
    /// Draft and issue missions; see recommendations; approve or decline officers' proposals.
    PlanMissions,
    /// Propose a mission at a place one knows (an officer; the squad's sergeant decides).
    ProposeMission,
    /// The squad's sergeant accepts an issued mission.
    AcknowledgeMission,
    /// Assign a mission to an officer or unit.
    AssignMission,
    /// Start, complete or not complete a mission, and add notes to it.
    WorkMission,
    /// Review a finished mission.
    ReviewMission,
    /// Cancel a mission.
    CancelMission,
    /// The presence dashboard (where officers were).
    ViewPresence,
    /// The Chief's Daily Snapshot.
    ViewSnapshot,
    /// Push and pull through the offline sync.
    SyncDevice,
    /// Issue one's own supervisor override code (lets an officer sign out of a device holding
    /// unsynced work when there is no signal).
    IssueOverrideCode,
    /// Create users, change roles and district membership.
    ManageUsers,
    /// Register and revoke devices.
    ManageDevices,
    /// Search the audit log.
    ViewAudit,
    /// Change the patrol rules: the dosage rules (and, with the harm index, its tracks' weights).
    ChangeConfig,
    /// Set the department up: its shift patterns (squads, units and the roster to follow).
    ManageSetup,
}

impl Action {
    /// Every action, for the authorization matrix.
    pub const ALL: [Action; 24] = [
        Action::ViewOwnAccount,
        Action::ViewOverview,
        Action::ViewHotSpots,
        Action::ViewIncidents,
        Action::ExportData,
        Action::IngestData,
        Action::ViewMissions,
        Action::ManageMenu,
        Action::PlanMissions,
        Action::ProposeMission,
        Action::AcknowledgeMission,
        Action::AssignMission,
        Action::WorkMission,
        Action::ReviewMission,
        Action::CancelMission,
        Action::ViewPresence,
        Action::ViewSnapshot,
        Action::SyncDevice,
        Action::IssueOverrideCode,
        Action::ManageUsers,
        Action::ManageDevices,
        Action::ViewAudit,
        Action::ChangeConfig,
        Action::ManageSetup,
    ];

    /// The stable name used in the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::ViewOwnAccount => "view_own_account",
            Action::ViewOverview => "view_overview",
            Action::ViewHotSpots => "view_hot_spots",
            Action::ViewIncidents => "view_incidents",
            Action::ExportData => "export_data",
            Action::IngestData => "ingest_data",
            Action::ViewMissions => "view_missions",
            Action::ManageMenu => "manage_menu",
            Action::PlanMissions => "plan_missions",
            Action::ProposeMission => "propose_mission",
            Action::AcknowledgeMission => "acknowledge_mission",
            Action::AssignMission => "assign_mission",
            Action::WorkMission => "work_mission",
            Action::ReviewMission => "review_mission",
            Action::CancelMission => "cancel_mission",
            Action::ViewPresence => "view_presence",
            Action::ViewSnapshot => "view_snapshot",
            Action::SyncDevice => "sync_device",
            Action::IssueOverrideCode => "issue_override_code",
            Action::ManageUsers => "manage_users",
            Action::ManageDevices => "manage_devices",
            Action::ViewAudit => "view_audit",
            Action::ChangeConfig => "change_config",
            Action::ManageSetup => "manage_setup",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

use Action as A;
use Role as R;
use Scope as S;

/// The declared policy: every grant there is. A (role, action) pair not listed is denied.
pub const POLICY: &[(Role, Action, Scope)] = &[
    // Everyone signed in: their own account, the city's aggregates and hot spots.
    (R::Officer, A::ViewOwnAccount, S::Anywhere),
    (R::Sergeant, A::ViewOwnAccount, S::Anywhere),
    (R::Command, A::ViewOwnAccount, S::Anywhere),
    (R::Analyst, A::ViewOwnAccount, S::Anywhere),
    (R::Admin, A::ViewOwnAccount, S::Anywhere),
    (R::Officer, A::ViewOverview, S::Anywhere),
    (R::Sergeant, A::ViewOverview, S::Anywhere),
    (R::Command, A::ViewOverview, S::Anywhere),
    (R::Analyst, A::ViewOverview, S::Anywhere),
    (R::Officer, A::ViewHotSpots, S::Anywhere),
    (R::Sergeant, A::ViewHotSpots, S::Anywhere),
    (R::Command, A::ViewHotSpots, S::Anywhere),
    (R::Analyst, A::ViewHotSpots, S::Anywhere),
    // Incident records: analysts and command city-wide, sergeants for their district.
    (R::Sergeant, A::ViewIncidents, S::OwnDistrict),
    (R::Command, A::ViewIncidents, S::Anywhere),
    (R::Analyst, A::ViewIncidents, S::Anywhere),
    (R::Command, A::ExportData, S::Anywhere),
    (R::Analyst, A::ExportData, S::Anywhere),
    (R::Analyst, A::IngestData, S::Anywhere),
    // Missions.
    (R::Officer, A::ViewMissions, S::OwnAssignments),
    (R::Sergeant, A::ViewMissions, S::OwnDistrict),
    (R::Command, A::ViewMissions, S::Anywhere),
    (R::Analyst, A::ViewMissions, S::Anywhere),
    (R::Command, A::ManageMenu, S::Anywhere),
    (R::Analyst, A::ManageMenu, S::Anywhere),
    (R::Sergeant, A::PlanMissions, S::OwnDistrict),
    (R::Command, A::PlanMissions, S::Anywhere),
    (R::Analyst, A::PlanMissions, S::Anywhere),
    // Officers know places the numbers miss: they propose; whoever plans in the district (its
    // sergeant, command, analysts) approves or declines.
    (R::Officer, A::ProposeMission, S::OwnDistrict),
    (R::Sergeant, A::AcknowledgeMission, S::OwnDistrict),
    (R::Sergeant, A::AssignMission, S::OwnDistrict),
    (R::Command, A::AssignMission, S::Anywhere),
    (R::Officer, A::WorkMission, S::OwnAssignments),
    (R::Sergeant, A::WorkMission, S::OwnDistrict),
    (R::Sergeant, A::ReviewMission, S::OwnDistrict),
    (R::Sergeant, A::CancelMission, S::OwnDistrict),
    (R::Command, A::CancelMission, S::Anywhere),
    // Command views.
    (R::Sergeant, A::ViewPresence, S::OwnDistrict),
    (R::Command, A::ViewPresence, S::Anywhere),
    (R::Analyst, A::ViewPresence, S::Anywhere),
    (R::Command, A::ViewSnapshot, S::Anywhere),
    (R::Analyst, A::ViewSnapshot, S::Anywhere),
    // Devices in the field.
    (R::Officer, A::SyncDevice, S::Anywhere),
    (R::Sergeant, A::SyncDevice, S::Anywhere),
    (R::Command, A::SyncDevice, S::Anywhere),
    (R::Analyst, A::SyncDevice, S::Anywhere),
    // Supervisors hold an override code for their squads' devices.
    (R::Sergeant, A::IssueOverrideCode, S::Anywhere),
    (R::Command, A::IssueOverrideCode, S::Anywhere),
    // Administration.
    (R::Admin, A::ManageUsers, S::Anywhere),
    (R::Admin, A::ManageDevices, S::Anywhere),
    (R::Admin, A::ViewAudit, S::Anywhere),
    (R::Admin, A::ManageSetup, S::Anywhere),
    // The patrol rules are command's: how much patrol a place gets is an operational choice.
    (R::Command, A::ChangeConfig, S::Anywhere),
];

/// The scope a role holds for an action, if any.
pub fn grant(role: Role, action: Action) -> Option<Scope> {
    POLICY.iter().find(|(r, a, _)| *r == role && *a == action).map(|(_, _, s)| *s)
}

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    /// The user's id in the Data Bodega.
    pub user_id: i64,
    /// The user's roles.
    pub roles: Vec<Role>,
    /// District codes the user belongs to (their squad's district).
    pub districts: Vec<String>,
}

/// What the request touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    /// The whole city (a city-wide list, report or setting).
    City,
    /// Something in one district.
    District(&'a str),
    /// A mission or other assignment in a district, assigned to a user (if assigned yet).
    Assignment {
        /// The district it belongs to.
        district: &'a str,
        /// The assigned user, if any.
        assignee: Option<i64>,
    },
    /// The user's own account or device.
    Own,
    /// Reference data that belongs to no district (the Mission Menu, shift patterns): any
    /// grant of the action covers it.
    Reference,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Decision {
    /// Go ahead, under this scope.
    Allow(Scope),
    /// No, with a reason fit to show the user and to write in the audit log.
    Deny(String),
}

impl Decision {
    /// True when allowed.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allow(_))
    }
}

fn scope_covers(scope: Scope, subject: &Subject, target: Target<'_>) -> bool {
    match (scope, target) {
        (Scope::Anywhere, _) | (_, Target::Own | Target::Reference) => true,
        (Scope::OwnDistrict, Target::District(d) | Target::Assignment { district: d, .. }) => {
            subject.districts.iter().any(|m| m == d)
        }
        (Scope::OwnAssignments, Target::Assignment { assignee, .. }) => assignee == Some(subject.user_id),
        (Scope::OwnDistrict | Scope::OwnAssignments, Target::City) | (Scope::OwnAssignments, Target::District(_)) => {
            false
        }
    }
}

/// Decides whether `subject` may take `action` on `target`: allowed when any of the subject's
/// roles holds a grant whose scope covers the target. The widest covering scope is returned.
///
/// ```
/// use protocol::policy::{decide, Target};
/// use protocol::{Action, Role, Subject};
/// let sergeant = Subject { user_id: 7, roles: vec![Role::Sergeant], districts: vec!["D1".into()] };
/// assert!(decide(&sergeant, Action::AcknowledgeMission, Target::District("D1")).is_allowed());
/// // Another district's missions are not theirs to acknowledge.
/// assert!(!decide(&sergeant, Action::AcknowledgeMission, Target::District("D2")).is_allowed());
/// ```
pub fn decide(subject: &Subject, action: Action, target: Target<'_>) -> Decision {
    let mut best: Option<Scope> = None;
    let mut held = false;
    for role in &subject.roles {
        if let Some(scope) = grant(*role, action) {
            held = true;
            if scope_covers(scope, subject, target) {
                best = match (best, scope) {
                    (Some(Scope::Anywhere), _) | (_, Scope::Anywhere) => Some(Scope::Anywhere),
                    (Some(Scope::OwnDistrict), _) | (_, Scope::OwnDistrict) => Some(Scope::OwnDistrict),
                    _ => Some(scope),
                };
            }
        }
    }
    match best {
        Some(scope) => Decision::Allow(scope),
        None if held => Decision::Deny(match target {
            Target::City => format!("{action} across the whole city is beyond your role's scope"),
            Target::District(d) => format!("{action} in district {d} is outside your districts"),
            Target::Assignment { district, .. } => {
                format!("{action} on this assignment in district {district} is not yours to take")
            }
            Target::Own | Target::Reference => format!("{action} is not allowed"),
        }),
        None => Decision::Deny(format!("your role does not allow {action}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(roles: &[Role], districts: &[&str]) -> Subject {
        Subject { user_id: 7, roles: roles.to_vec(), districts: districts.iter().map(|d| d.to_string()).collect() }
    }

    #[test]
    fn every_grant_is_listed_once() {
        for (i, (r, a, _)) in POLICY.iter().enumerate() {
            assert!(!POLICY[..i].iter().any(|(r2, a2, _)| r2 == r && a2 == a), "{r} {a} listed twice");
        }
    }

    #[test]
    fn officers_never_read_incident_records() {
        let officer = who(&[Role::Officer], &["D1"]);
        assert!(!decide(&officer, Action::ViewIncidents, Target::District("D1")).is_allowed());
        assert!(decide(&officer, Action::ViewOverview, Target::City).is_allowed());
    }

    #[test]
    fn sergeants_act_in_their_own_district_only() {
        let sgt = who(&[Role::Sergeant], &["D2"]);
        assert_eq!(
            decide(&sgt, Action::AcknowledgeMission, Target::District("D2")),
            Decision::Allow(Scope::OwnDistrict)
        );
        let other = decide(&sgt, Action::AcknowledgeMission, Target::District("D3"));
        assert!(matches!(other, Decision::Deny(ref m) if m.contains("D3")), "{other:?}");
        assert!(!decide(&sgt, Action::ViewIncidents, Target::City).is_allowed());
    }

    #[test]
    fn officers_work_only_their_own_assignments() {
        let officer = who(&[Role::Officer], &["D1"]);
        let mine = Target::Assignment { district: "D1", assignee: Some(7) };
        let theirs = Target::Assignment { district: "D1", assignee: Some(8) };
        let unassigned = Target::Assignment { district: "D1", assignee: None };
        assert!(decide(&officer, Action::WorkMission, mine).is_allowed());
        assert!(!decide(&officer, Action::WorkMission, theirs).is_allowed());
        assert!(!decide(&officer, Action::WorkMission, unassigned).is_allowed());
    }

    #[test]
    fn several_roles_take_the_widest_covering_grant() {
        let both = who(&[Role::Sergeant, Role::Analyst], &["D1"]);
        assert_eq!(decide(&both, Action::ViewIncidents, Target::District("D4")), Decision::Allow(Scope::Anywhere));
        let nobody = who(&[], &[]);
        assert!(!decide(&nobody, Action::ViewOverview, Target::City).is_allowed());
    }

    #[test]
    fn admins_do_not_read_crime_data() {
        let admin = who(&[Role::Admin], &[]);
        for action in [Action::ViewIncidents, Action::ViewMissions, Action::ExportData, Action::ViewOverview] {
            assert!(!decide(&admin, action, Target::City).is_allowed(), "{action}");
        }
        assert!(decide(&admin, Action::ViewAudit, Target::City).is_allowed());
    }

    #[test]
    fn role_names_round_trip_and_read_provider_app_roles() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("Beatbook.Sergeant"), Some(Role::Sergeant));
        assert_eq!(Role::parse("command_staff"), Some(Role::Command));
        assert_eq!(Role::parse("janitor"), None);
    }
}
