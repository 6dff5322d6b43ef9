//! A randomized sync simulation: devices acting offline and syncing through a network that
//! loses, duplicates and reorders messages and loses everything in flight on a server restart,
//! against any [`SyncServer`] — the in-memory model in this crate's tests, or the real Data
//! Bodega in its integration tests. Seeded: a failing schedule replays from its seed.
//!
//! Checked at the end of every schedule: each `(device, seq)` took effect exactly once and every
//! mutation a device made is held by the server (safety); once the network heals every outbox
//! drains (liveness); every device's view equals the server's and every device was told of every
//! rejection (convergence).

use std::collections::BTreeMap;

use super::{Fix, MutationKind, Outbox, PushRequest, PushResponse, Rejection, SyncRefusal, SCHEMA_VERSION};
use crate::mission::TransitionArgs;
use crate::policy::Subject;
use crate::{MissionStatus, Transition};

/// The simulation's draws: SplitMix64 (`rand_xoshiro`; Steele, Lea & Flood 2014), whose state
/// is the schedule's seed, so a failing schedule replays from it on any machine.
#[derive(Debug, Clone)]
pub struct Rng(rand_xoshiro::SplitMix64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(rand_core::SeedableRng::seed_from_u64(seed))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        rand_core::RngCore::next_u64(&mut self.0)
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// True `percent`% of the time.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// What a pull tells a device: new cookie, `last_seq`, changed missions' statuses, rejections.
pub type PullView = (i64, u64, BTreeMap<String, MissionStatus>, Vec<Rejection>);

/// A server the simulation can drive.
pub trait SyncServer {
    /// Applies a push from `who`.
    ///
    /// # Errors
    /// The refusal of the whole push.
    fn push(&mut self, who: &Subject, req: &PushRequest) -> Result<PushResponse, SyncRefusal>;
    /// Answers a pull.
    fn pull(&mut self, who: &Subject, device: &str, cookie: i64) -> PullView;
    /// The status of every mission `who` may see, as the server holds it.
    fn visible_statuses(&mut self, who: &Subject) -> BTreeMap<String, MissionStatus>;
    /// How many times each `(device, seq)` took effect.
    fn effects(&mut self) -> BTreeMap<(String, u64), usize>;
    /// The rejections recorded for a device.
    fn rejections(&mut self, device: &str) -> Vec<Rejection>;
}

/// A simulated device.
#[derive(Debug, Clone)]
pub struct Device {
    /// Its id.
    pub id: String,
    /// Whose it is.
    pub who: Subject,
    /// Pending writes.
    pub outbox: Outbox,
    cookie: i64,
    server_view: BTreeMap<String, MissionStatus>,
    rejections: Vec<Rejection>,
}

impl Device {
    /// A fresh device.
    pub fn new(id: &str, who: Subject) -> Self {
        Device {
            id: id.into(),
            who,
            outbox: Outbox::new(),
            cookie: -1,
            server_view: BTreeMap::new(),
            rejections: Vec::new(),
        }
    }

    /// What the user sees: the server's status with pending steps re-applied.
    pub fn view(&self, mission: &str) -> Option<MissionStatus> {
        let mut status = *self.server_view.get(mission)?;
        for m in &self.outbox.pending {
            if let MutationKind::Step { mission_id, step, .. } = &m.kind {
                if mission_id == mission && step.leaves(status) {
                    status = crate::mission::merge(status, step.target()).status;
                }
            }
        }
        Some(status)
    }

    fn act(&mut self, rng: &mut Rng, cast: (&[String], i64, &serde_json::Value), t: i64) {
        let (missions, assignee, outcome) = cast;
        let mission = &missions[rng.below(missions.len() as u64) as usize];
        let roll = rng.below(10);
        let kind = if roll < 6 {
            let Some(status) = self.view(mission) else { return };
            let options: Vec<Transition> = Transition::ALL
                .into_iter()
                .filter(|s| s.leaves(status) && *s != Transition::Issue && *s != Transition::Cancel)
                .filter(|s| crate::policy::grant(self.who.roles[0], s.action()).is_some())
                .collect();
            if options.is_empty() {
                return;
            }
            let step = options[rng.below(options.len() as u64) as usize];
            let args = TransitionArgs {
                assignee_user_id: (step == Transition::Assign).then_some(assignee),
                reason: (step == Transition::NotComplete).then(|| "called to a priority call".to_string()),
                outcome: (step == Transition::Complete).then(|| outcome.clone()),
                ..Default::default()
            };
            MutationKind::Step { mission_id: mission.clone(), step, args }
        } else if roll < 8 {
            MutationKind::Note {
                note_id: format!("{}-{}", self.id, self.outbox.next_seq),
                mission_id: mission.clone(),
                body: "note".into(),
                supersedes: None,
            }
        } else {
            MutationKind::Breadcrumbs {
                fixes: vec![Fix { t, lat: 49.28, lon: -123.12, accuracy_m: Some(8.0), speed_mps: None }],
            }
        };
        self.outbox.enqueue(kind, t);
    }

    fn push_request(&self, rng: &mut Rng) -> Option<PushRequest> {
        if self.outbox.is_empty() {
            return None;
        }
        let n = 1 + rng.below(4) as usize;
        Some(PushRequest {
            schema_version: SCHEMA_VERSION,
            device_id: self.id.clone(),
            mutations: self.outbox.batch(n),
            sent_at: None,
        })
    }

    fn absorb_pull(&mut self, (cookie, last_seq, changed, rejections): PullView) {
        if cookie < self.cookie {
            return; // a stale answer overtaken by a newer one
        }
        self.cookie = cookie;
        self.server_view.extend(changed);
        self.outbox.acknowledge(last_seq);
        self.rejections = rejections;
    }
}

enum Message {
    Push(usize, PushRequest),
    PushReply(usize, PushResponse),
    Pull(usize, i64),
    PullReply(usize, PullView),
}

/// One schedule's cast: the devices and the missions they work (all issued in one district).
pub struct Cast {
    /// The devices.
    pub devices: Vec<Device>,
    /// Mission ids.
    pub missions: Vec<String>,
    /// The officer the sergeant assigns to.
    pub assignee: i64,
    /// The outcome a completion carries (it must answer the missions' template).
    pub outcome: serde_json::Value,
}

/// Runs one seeded schedule of `steps` steps; returns the first broken invariant.
///
/// # Errors
/// A description naming the seed and the invariant.
pub fn run_schedule<S: SyncServer>(server: &mut S, cast: Cast, seed: u64, steps: usize) -> Result<(), String> {
    let mut rng = Rng::new(seed);
    let Cast { mut devices, missions, assignee, outcome } = cast;
    let mut in_flight: Vec<Message> = Vec::new();
    for device in devices.iter_mut() {
        let pulled = server.pull(&device.who, &device.id, device.cookie);
        device.absorb_pull(pulled);
    }
    let mut t = 1_700_000_000;
    for _ in 0..steps {
        t += 1 + rng.below(30) as i64;
        let d = rng.below(devices.len() as u64) as usize;
        match rng.below(10) {
            0..=3 => devices[d].act(&mut rng, (&missions, assignee, &outcome), t),
            4 | 5 => {
                if let Some(req) = devices[d].push_request(&mut rng) {
                    in_flight.push(Message::Push(d, req));
                }
            }
            6 => in_flight.push(Message::Pull(d, devices[d].cookie)),
            7 if rng.chance(20) => in_flight.clear(), // the server restarts: in-flight messages are lost
            _ => {}
        }
        // The network delivers one message, not necessarily the oldest; sometimes twice; sometimes not at all.
        if !in_flight.is_empty() && rng.chance(70) {
            let i = rng.below(in_flight.len() as u64) as usize;
            let msg = in_flight.swap_remove(i);
            if rng.chance(10) {
                continue; // lost
            }
            let duplicate = rng.chance(10);
            deliver(server, &mut devices, &mut in_flight, msg, duplicate, &mut rng);
        }
    }
    // The network heals: deliver what is in flight, then sync until quiet.
    while let Some(msg) = in_flight.pop() {
        deliver(server, &mut devices, &mut in_flight, msg, false, &mut rng);
    }
    for round in 0.. {
        if round > 200 {
            return Err(format!("seed {seed}: outboxes did not drain (liveness)"));
        }
        let mut busy = false;
        for device in devices.iter_mut() {
            if let Some(req) = device.push_request(&mut rng) {
                busy = true;
                if let Ok(resp) = server.push(&device.who, &req) {
                    device.outbox.acknowledge(resp.last_seq);
                }
            }
            let pulled = server.pull(&device.who, &device.id, device.cookie);
            device.absorb_pull(pulled);
        }
        if !busy {
            break;
        }
    }
    let effects = server.effects();
    for ((device, seq), n) in &effects {
        if *n != 1 && devices.iter().any(|d| &d.id == device) {
            return Err(format!("seed {seed}: {device} #{seq} took effect {n} times"));
        }
    }
    for d in &devices {
        let statuses = server.visible_statuses(&d.who);
        let made = d.outbox.next_seq - 1;
        let applied = effects.keys().filter(|(id, _)| *id == d.id).count() as u64;
        if applied != made {
            return Err(format!("seed {seed}: {} made {made} mutations, the server holds {applied}", d.id));
        }
        if !d.outbox.is_empty() {
            return Err(format!("seed {seed}: {} still has {} pending", d.id, d.outbox.len()));
        }
        for (m, status) in &statuses {
            if d.view(m) != Some(*status) {
                return Err(format!("seed {seed}: {} sees {m} as {:?}, the server {status:?}", d.id, d.view(m)));
            }
        }
        if d.rejections != server.rejections(&d.id) {
            return Err(format!("seed {seed}: {} was not told of every rejection", d.id));
        }
    }
    Ok(())
}

fn deliver<S: SyncServer>(
    server: &mut S,
    devices: &mut [Device],
    in_flight: &mut Vec<Message>,
    msg: Message,
    duplicate: bool,
    rng: &mut Rng,
) {
    match msg {
        Message::Push(d, req) => {
            for _ in 0..if duplicate { 2 } else { 1 } {
                if let Ok(resp) = server.push(&devices[d].who, &req) {
                    in_flight.push(Message::PushReply(d, resp));
                }
            }
        }
        Message::PushReply(d, resp) => devices[d].outbox.acknowledge(resp.last_seq),
        Message::Pull(d, cookie) => {
            let reply = server.pull(&devices[d].who, &devices[d].id, cookie);
            in_flight.push(Message::PullReply(d, reply));
        }
        Message::PullReply(d, reply) => {
            if !rng.chance(5) {
                devices[d].absorb_pull(reply);
            }
        }
    }
}
