//! The sync protocol against an in-memory server, through a network that loses, duplicates,
//! delays and reorders messages, with server restarts (in-flight messages lost, state kept).
//! Safety: every (device, seq) takes effect at most once, nothing is lost. Liveness: once the
//! network heals, every outbox drains and every device's view equals the server's.

use std::collections::{BTreeMap, BTreeSet};

use super::sim::{run_schedule, Cast, Device, PullView, SyncServer};
use super::*;
use crate::mission::{land_step, StepLanding};
use crate::policy::{decide, Decision, Role, Subject, Target};
use crate::MissionStatus;

#[derive(Debug, Clone, PartialEq)]
struct ModelMission {
    status: MissionStatus,
    assignee: Option<i64>,
    conflict: bool,
    changed: i64,
}

/// The server's rules with an in-memory store.
#[derive(Default)]
struct ModelServer {
    missions: BTreeMap<String, ModelMission>,
    devices: BTreeMap<String, u64>,
    rejections: BTreeMap<String, Vec<Rejection>>,
    notes: BTreeSet<String>,
    fixes: BTreeSet<(String, i64)>,
    effects: BTreeMap<(String, u64), usize>,
    change: i64,
}

impl SyncServer for ModelServer {
    fn push(&mut self, who: &Subject, req: &PushRequest) -> Result<PushResponse, SyncRefusal> {
        self.push_model(who, req)
    }
    fn pull(&mut self, _who: &Subject, device: &str, cookie: i64) -> PullView {
        self.pull_view(device, cookie)
    }
    fn visible_statuses(&mut self, _who: &Subject) -> BTreeMap<String, MissionStatus> {
        self.missions.iter().map(|(k, v)| (k.clone(), v.status)).collect()
    }
    fn effects(&mut self) -> BTreeMap<(String, u64), usize> {
        self.effects.clone()
    }
    fn rejections(&mut self, device: &str) -> Vec<Rejection> {
        self.rejections.get(device).cloned().unwrap_or_default()
    }
}

impl ModelServer {
    fn push_model(&mut self, who: &Subject, req: &PushRequest) -> Result<PushResponse, SyncRefusal> {
        if req.schema_version != SCHEMA_VERSION {
            return Err(SyncRefusal::Upgrade { client: req.schema_version, server: SCHEMA_VERSION });
        }
        let last = *self.devices.get(&req.device_id).unwrap_or(&0);
        let plan = plan_push(last, &req.mutations)?;
        let mut results = Vec::new();
        for (m, d) in req.mutations.iter().zip(plan) {
            if d == Disposition::Skip {
                results.push((m.seq, Outcome::Duplicate));
                continue;
            }
            // One "transaction": effect, log and last_seq together.
            let outcome = match self.apply(who, m) {
                Ok(()) => Outcome::Applied,
                Err(reason) => {
                    self.rejections.entry(req.device_id.clone()).or_default().push(Rejection {
                        seq: m.seq,
                        kind: m.kind.name().into(),
                        reason: reason.clone(),
                    });
                    Outcome::Rejected { reason }
                }
            };
            *self.effects.entry((req.device_id.clone(), m.seq)).or_default() += 1;
            self.devices.insert(req.device_id.clone(), m.seq);
            results.push((m.seq, outcome));
        }
        Ok(PushResponse {
            schema_version: SCHEMA_VERSION,
            last_seq: *self.devices.get(&req.device_id).unwrap_or(&0),
            results,
        })
    }

    fn apply(&mut self, who: &Subject, m: &Mutation) -> Result<(), String> {
        check_mutation(m)?;
        match &m.kind {
            MutationKind::Step { mission_id, step, args } => {
                let mission = self.missions.get(mission_id).cloned().ok_or("no such mission")?;
                let target = Target::Assignment { district: "D1", assignee: mission.assignee };
                if let Decision::Deny(reason) = decide(who, step.action(), target) {
                    return Err(reason);
                }
                self.change += 1;
                let entry = self.missions.get_mut(mission_id).ok_or("no such mission")?;
                match land_step(entry.status, *step) {
                    StepLanding::Apply(next) => {
                        entry.status = next;
                        if *step == Transition::Assign {
                            entry.assignee = args.assignee_user_id;
                        }
                    }
                    StepLanding::AlreadyThere => return Ok(()),
                    StepLanding::Conflict(next) => {
                        entry.status = next;
                        entry.conflict = true;
                    }
                    StepLanding::Refuse(reason) => return Err(reason),
                }
                entry.changed = self.change;
                Ok(())
            }
            MutationKind::Note { note_id, .. } => {
                self.notes.insert(note_id.clone());
                Ok(())
            }
            MutationKind::Breadcrumbs { fixes } => {
                for f in fixes {
                    self.fixes.insert((format!("{}", who.user_id), f.t));
                }
                Ok(())
            }
        }
    }

    fn pull_view(&self, device: &str, cookie: i64) -> PullView {
        let changed =
            self.missions.iter().filter(|(_, m)| m.changed > cookie).map(|(k, v)| (k.clone(), v.status)).collect();
        (
            self.change,
            *self.devices.get(device).unwrap_or(&0),
            changed,
            self.rejections.get(device).cloned().unwrap_or_default(),
        )
    }
}

fn world() -> (ModelServer, Cast) {
    let mut server = ModelServer::default();
    let missions: Vec<String> = (0..4).map(|i| format!("m{i}")).collect();
    for m in &missions {
        server.missions.insert(
            m.clone(),
            ModelMission { status: MissionStatus::Issued, assignee: None, conflict: false, changed: 0 },
        );
    }
    let officer = Subject { user_id: 10, roles: vec![Role::Officer], districts: vec!["D1".into()] };
    let sergeant = Subject { user_id: 20, roles: vec![Role::Sergeant], districts: vec!["D1".into()] };
    // Two devices of one officer (phone and in-car laptop), and the sergeant's tablet.
    let devices =
        vec![Device::new("phone", officer.clone()), Device::new("laptop", officer), Device::new("tablet", sergeant)];
    (server, Cast { devices, missions, assignee: 10, outcome: serde_json::json!({}) })
}

/// Failing seeds found while building the protocol, kept as regression cases.
const REGRESSION_SEEDS: &[u64] = &[];

#[test]
fn ten_thousand_faulty_schedules_converge_with_nothing_lost_or_doubled() {
    let mut failures = Vec::new();
    for seed in REGRESSION_SEEDS.iter().copied().chain(0..10_000) {
        let (mut server, cast) = world();
        if let Err(e) = run_schedule(&mut server, cast, seed, 120) {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{} schedules failed; first: {:?}", failures.len(), failures.first());
}

#[test]
fn a_gap_applies_nothing_past_it_and_resending_converges() {
    let (mut server, Cast { mut devices, .. }) = world();
    let phone = &mut devices[0];
    for i in 0..20 {
        phone.outbox.enqueue(
            MutationKind::Note {
                note_id: format!("n{i}"),
                mission_id: "m0".into(),
                body: "x".into(),
                supersedes: None,
            },
            1,
        );
    }
    let late = PushRequest {
        schema_version: SCHEMA_VERSION,
        device_id: "phone".into(),
        mutations: phone.outbox.pending[10..20].to_vec(),
        sent_at: None,
    };
    assert_eq!(server.push_model(&phone.who, &late), Err(SyncRefusal::Gap { last_seq: 0, first: 11 }));
    assert!(server.notes.is_empty(), "nothing from the early batch is applied");
    let early = PushRequest { mutations: phone.outbox.pending[..10].to_vec(), ..late.clone() };
    assert_eq!(server.push_model(&phone.who, &early).map(|r| r.last_seq), Ok(10));
    assert_eq!(server.push_model(&phone.who, &late).map(|r| r.last_seq), Ok(20));
    assert_eq!(server.notes.len(), 20);
    // The same batch again: all duplicates, same last_seq.
    let again = server.push_model(&phone.who, &late).expect("duplicates are fine");
    assert!(again.results.iter().all(|(_, o)| *o == Outcome::Duplicate));
    assert_eq!(again.last_seq, 20);
}

#[test]
fn two_devices_completing_one_mission_converge_in_either_order() {
    for order in [[0usize, 1], [1, 0]] {
        let (mut server, Cast { devices, .. }) = world();
        let sergeant = &devices[2].who;
        for (seq, step) in [(1, Transition::Acknowledge), (2, Transition::Assign)] {
            let args = TransitionArgs { assignee_user_id: Some(10), ..Default::default() };
            let m = Mutation { seq, kind: MutationKind::Step { mission_id: "m0".into(), step, args }, device_time: 0 };
            server
                .push(
                    sergeant,
                    &PushRequest {
                        schema_version: SCHEMA_VERSION,
                        device_id: "tablet".into(),
                        mutations: vec![m],
                        sent_at: None,
                    },
                )
                .expect("push");
        }
        let steps = [Transition::Complete, Transition::NotComplete];
        for &d in &order {
            let args = TransitionArgs { reason: Some("called away".into()), ..Default::default() };
            let m = Mutation {
                seq: 1,
                kind: MutationKind::Step { mission_id: "m0".into(), step: steps[d], args },
                device_time: 0,
            };
            let req = PushRequest {
                schema_version: SCHEMA_VERSION,
                device_id: devices[d].id.clone(),
                mutations: vec![m],
                sent_at: None,
            };
            let resp = server.push_model(&devices[d].who, &req).expect("push");
            assert!(matches!(resp.results[0].1, Outcome::Applied), "{resp:?}");
        }
        let m = &server.missions["m0"];
        assert_eq!((m.status, m.conflict), (MissionStatus::Completed, true), "order {order:?}");
    }
}

#[test]
fn another_wire_version_is_told_to_upgrade_and_a_bad_batch_is_malformed() {
    let (mut server, Cast { devices, .. }) = world();
    let req = PushRequest { schema_version: 0, device_id: "phone".into(), mutations: vec![], sent_at: None };
    assert_eq!(
        server.push_model(&devices[0].who, &req),
        Err(SyncRefusal::Upgrade { client: 0, server: SCHEMA_VERSION })
    );
    let m = |seq| Mutation { seq, kind: MutationKind::Breadcrumbs { fixes: vec![] }, device_time: 0 };
    assert!(matches!(plan_push(0, &[m(1), m(3)]), Err(SyncRefusal::Malformed(_))));
    assert!(check_mutation(&m(1)).is_err(), "an empty breadcrumb batch is rejected with a reason");
    let off_globe = Mutation {
        seq: 1,
        kind: MutationKind::Breadcrumbs {
            fixes: vec![Fix { t: 0, lat: 95.0, lon: 0.0, accuracy_m: None, speed_mps: None }],
        },
        device_time: 0,
    };
    assert!(check_mutation(&off_globe).expect_err("off the globe").contains("off the globe"));
    assert!(skewed(1_000, 1_000 + SKEW_FLAG_SECONDS + 1) && !skewed(1_000, 1_060));
    // A hostile clock at either end of the range is flagged, never an overflow.
    assert!(skewed(i64::MIN, 1_700_000_000) && skewed(i64::MAX, i64::MIN));
}

/// A long offline backlog (fault #9, past its 10,000 fixes): sixty full breadcrumb mutations
/// (30,000 fixes, ≈ 2.5 MB) and fifty notes go out in pushes that each stay under
/// [`MAX_PUSH_BYTES`] and [`MAX_BATCH`] — fifty mutations by count alone would be over the
/// server's 2 MiB body limit and refused every time — in order, every mutation exactly once.
#[test]
fn a_long_backlog_is_pushed_in_bounded_batches() {
    let mut outbox = Outbox::new();
    for b in 0..60 {
        let fixes = (0..MAX_FIXES as i64)
            .map(|i| Fix {
                t: 1_608_500_000 + b * 10_000 + i * 15,
                lat: 49.282_712_34 + i as f64 * 1e-6,
                lon: -123.120_712_34,
                accuracy_m: Some(8.5),
                speed_mps: Some(1.25),
            })
            .collect();
        outbox.enqueue(MutationKind::Breadcrumbs { fixes }, 1_608_500_000 + b);
    }
    for i in 0..50 {
        outbox.enqueue(
            MutationKind::Note {
                note_id: format!("n{i}"),
                mission_id: "m".into(),
                body: "x".repeat(200),
                supersedes: None,
            },
            1_608_600_000 + i,
        );
    }
    let mut sent = Vec::new();
    let mut pushes = 0;
    while !outbox.is_empty() {
        let batch = outbox.batch(50);
        let body = serde_json::to_vec(&PushRequest {
            schema_version: SCHEMA_VERSION,
            device_id: "d".into(),
            mutations: batch.clone(),
            sent_at: None,
        })
        .expect("json");
        assert!(body.len() <= MAX_PUSH_BYTES + 200, "a push of {} bytes", body.len());
        assert!(batch.len() <= MAX_BATCH);
        sent.extend(batch.iter().map(|m| m.seq));
        outbox.acknowledge(batch.last().expect("non-empty").seq);
        pushes += 1;
    }
    assert_eq!(sent, (1..=110).collect::<Vec<u64>>());
    assert!(pushes >= 3, "the breadcrumbs alone are over two megabytes");
}

/// A fix is believed only inside one of its user's sessions and not in the future, after the
/// device clock is corrected; the slack is the skew a device is allowed before it is flagged.
#[test]
fn fix_times_must_lie_inside_a_session_and_not_in_the_future() {
    let now = 1_800_000_000;
    let sessions = [(now - 10_000, now - 5_000), (now - 3_600, now + 40_000)];
    let refusal = |t, skew| fix_time_refusal(t, skew, now, &sessions);
    assert_eq!(refusal(now - 60, 0), None, "a minute ago, in the current session");
    assert_eq!(refusal(now - 9_000, 0), None, "in an earlier session");
    assert_eq!(refusal(now - 4_000, 0), Some(FixTimeRefusal::OutsideSessions), "between sessions");
    assert_eq!(refusal(now - 3_600 - SKEW_FLAG_SECONDS, 0), None, "the allowed skew before sign-in");
    assert_eq!(refusal(now - 3_601 - SKEW_FLAG_SECONDS, 0), Some(FixTimeRefusal::OutsideSessions));
    assert_eq!(refusal(now + SKEW_FLAG_SECONDS, 0), None, "the allowed skew ahead");
    assert_eq!(refusal(now + SKEW_FLAG_SECONDS + 1, 0), Some(FixTimeRefusal::Future));
    // A device clock an hour fast: its fix "an hour from now" is now; an hour slow, the reverse.
    assert_eq!(refusal(now + 3_600, -3_600), None, "a fast clock, corrected");
    assert_eq!(refusal(now - 4_000 - 3_600, 3_600), Some(FixTimeRefusal::OutsideSessions), "a slow clock, corrected");
    assert_eq!(refusal(i64::MIN, 0), Some(FixTimeRefusal::OutsideSessions));
    assert_eq!(refusal(i64::MAX, i64::MAX), Some(FixTimeRefusal::Future));
    assert_eq!(fix_time_refusal(now, 0, now, &[]), Some(FixTimeRefusal::OutsideSessions), "no session at all");
}
