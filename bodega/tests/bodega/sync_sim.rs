//! The randomized sync simulation (`protocol::sync::sim`) against the real Data Bodega: 200
//! seeded schedules of drops, duplicates, reorders and restarts on this run's engine, each
//! ending with every outbox drained, every device's view equal to the store's, and every note
//! and breadcrumb stored exactly once.

use std::collections::BTreeMap;

use bodega::accounts::{NewUser, User};
use bodega::missions::{NewMission, Place};
use bodega::sync::SyncError;
use bodega::testing::fresh_store;
use bodega::Bodega;
use protocol::policy::Subject;
use protocol::sync::sim::{run_schedule, Cast, Device, PullView, SyncServer};
use protocol::sync::{PushRequest, PushResponse, Rejection, SyncRefusal};
use protocol::{MissionStatus, Role};

struct Real<'a> {
    rt: &'a tokio::runtime::Runtime,
    bodega: &'a Bodega,
    users: BTreeMap<i64, User>,
    missions: Vec<String>,
    devices: Vec<String>,
}

impl SyncServer for Real<'_> {
    fn push(&mut self, who: &Subject, req: &PushRequest) -> Result<PushResponse, SyncRefusal> {
        match self.rt.block_on(self.bodega.apply_push(&self.users[&who.user_id], None, req)) {
            Ok(r) => Ok(r),
            Err(SyncError::Refused(r)) => Err(r),
            Err(e) => panic!("the store failed: {e}"),
        }
    }

    fn pull(&mut self, who: &Subject, device: &str, cookie: i64) -> PullView {
        let p = self.rt.block_on(self.bodega.pull(&self.users[&who.user_id], device, cookie)).expect("pull");
        let changed =
            p.missions.into_iter().filter(|m| self.missions.contains(&m.id)).map(|m| (m.id, m.status)).collect();
        (p.cookie, p.last_seq, changed, p.rejections)
    }

    fn visible_statuses(&mut self, who: &Subject) -> BTreeMap<String, MissionStatus> {
        let mut out = BTreeMap::new();
        for id in &self.missions {
            let m = self.rt.block_on(self.bodega.mission(id)).expect("query").expect("mission");
            let sees = who.roles.contains(&Role::Sergeant) || m.assignee_user_id == Some(who.user_id);
            if sees {
                out.insert(id.clone(), m.status);
            }
        }
        out
    }

    fn effects(&mut self) -> BTreeMap<(String, u64), usize> {
        let rows = self.rt.block_on(self.bodega.mutation_log_counts()).expect("log");
        let mut out = BTreeMap::new();
        for (device, seq, _) in rows.into_iter().filter(|(d, _, _)| self.devices.contains(d)) {
            *out.entry((device, seq.max(0) as u64)).or_default() += 1;
        }
        out
    }

    fn rejections(&mut self, device: &str) -> Vec<Rejection> {
        let owner = if device.ends_with("tablet") {
            self.users.values().find(|u| u.roles.contains(&Role::Sergeant))
        } else {
            self.users.values().find(|u| u.roles.contains(&Role::Officer))
        };
        self.rt.block_on(self.bodega.pull(owner.expect("owner"), device, i64::MAX)).expect("pull").rejections
    }
}

async fn person(b: &Bodega, name: &str, role: Role) -> User {
    let new = NewUser {
        username: name.into(),
        display_name: name.into(),
        password_hash: None,
        roles: vec![role],
        districts: vec!["D1".into()],
        oidc: None,
        synthetic: false,
    };
    let id = b.create_user(&new).await.expect("user");
    b.user_by_id(id).await.expect("q").expect("user")
}

async fn count(b: &Bodega, sql: String) -> i64 {
    bodega::on_pool!(b, pool => sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(pool).await).expect("count")
}

/// An officer, a sergeant and a commander of D1, and the default menu's Koper patrol template.
struct Cast3 {
    officer: User,
    sergeant: User,
    command: User,
    koper: i64,
}

async fn cast_of_three(b: &Bodega) -> Cast3 {
    b.ensure_default_menu().await.expect("menu");
    let koper = b
        .mission_menu(false)
        .await
        .expect("menu")
        .into_iter()
        .find(|t| t.tactic == "directed_patrol")
        .expect("koper")
        .id;
    Cast3 {
        officer: person(b, "off1", Role::Officer).await,
        sergeant: person(b, "sgt1", Role::Sergeant).await,
        command: person(b, "cmd", Role::Command).await,
        koper,
    }
}

/// A Koper patrol mission `id` in D1, shift B of 15 December 2020, to be issued.
fn d1_patrol(id: &str, template_id: i64) -> NewMission {
    NewMission {
        id: id.into(),
        template_id,
        district: "D1".into(),
        shift: "B".into(),
        shift_date: "2020-12-15".into(),
        window_start: 1_608_069_600,
        window_end: 1_608_098_400,
        place: Place::Point { lat: 49.28, lon: -123.12, radius_m: 100.0 },
        place_label: id.into(),
        priority: 1,
        instructions: String::new(),
        reason: String::new(),
        issue: true,
    }
}

#[test]
fn two_hundred_faulty_schedules_against_the_real_store_converge_exactly_once() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let store = rt.block_on(fresh_store());
    let b = &store.bodega;
    let Cast3 { officer, sergeant, command, koper } = rt.block_on(cast_of_three(b));
    let mut failures = Vec::new();
    let mut stored = 0;
    for seed in 0..200u64 {
        let missions: Vec<String> = (0..4).map(|i| format!("s{seed}-m{i}")).collect();
        rt.block_on(async {
            for id in &missions {
                b.create_mission(&d1_patrol(id, koper), &command.subject(), None).await.expect("issue");
            }
        });
        let ids = [format!("s{seed}-phone"), format!("s{seed}-laptop"), format!("s{seed}-tablet")];
        // The schedules' breadcrumbs are timed from 1,700,000,000 on: each device's user was
        // signed in on it then (a fix outside every session of its user on that device is refused).
        rt.block_on(async {
            for (id, who) in ids.iter().zip([&officer, &officer, &sergeant]) {
                bodega::testing::signed_in_during(b, who.id, id, 1_699_999_000, 1_700_100_000).await;
            }
        });
        let devices = vec![
            Device::new(&ids[0], officer.subject()),
            Device::new(&ids[1], officer.subject()),
            Device::new(&ids[2], sergeant.subject()),
        ];
        let mut real = Real {
            rt: &rt,
            bodega: b,
            users: [(officer.id, officer.clone()), (sergeant.id, sergeant.clone())].into_iter().collect(),
            missions: missions.clone(),
            devices: ids.to_vec(),
        };
        let cast = Cast {
            devices,
            missions,
            assignee: officer.id,
            outcome: serde_json::json!({ "contacts": 1, "conditions": "Quiet", "reports": 0 }),
        };
        if let Err(e) = run_schedule(&mut real, cast, seed, 60) {
            failures.push(e);
            continue;
        }
        // Effects, counted in the tables they landed in: each applied note and breadcrumb once.
        let list = ids.iter().map(|d| format!("'{d}'")).collect::<Vec<_>>().join(", ");
        let (notes, note_log, fixes, fix_log) = rt.block_on(async {
            (
                count(b, format!("SELECT COUNT(*) FROM mission_notes WHERE device_id IN ({list})")).await,
                count(b, format!("SELECT COUNT(*) FROM mutation_log WHERE device_id IN ({list}) AND kind = 'note' AND outcome = 'applied'")).await,
                count(b, format!("SELECT COUNT(*) FROM gps_fixes WHERE device IN ({list})")).await,
                count(b, format!("SELECT COUNT(*) FROM mutation_log WHERE device_id IN ({list}) AND kind = 'breadcrumbs' AND outcome = 'applied'")).await,
            )
        });
        stored += fixes;
        if (notes, fixes) != (note_log, fix_log) {
            failures.push(format!(
                "seed {seed}: {notes} notes for {note_log} applied, {fixes} fixes for {fix_log} applied"
            ));
        }
    }
    assert!(failures.is_empty(), "{} of 200 schedules failed; first: {:?}", failures.len(), failures.first());
    assert!(stored > 0, "the schedules' breadcrumbs were stored");
}

/// Two devices of one officer push opposite endings of the same mission at the same moment
/// (the phone "completed", the in-car laptop "not completed"), for 24 missions. Whatever the
/// interleaving, each mission's events form one chain (every step starts from the status the
/// step before it left), so exactly one ending applies plainly and the other lands on it as a
/// flagged conflict. On PostgreSQL both pushes used to read "in progress" and the second write
/// replaced the first unflagged; a mission row read for a step is now locked (`FOR UPDATE`).
#[test]
fn opposite_endings_pushed_at_once_from_two_devices_chain_one_after_the_other() {
    use protocol::mission::TransitionArgs;
    use protocol::sync::{Mutation, MutationKind, SCHEMA_VERSION};
    use protocol::Transition;

    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(4).enable_all().build().expect("runtime");
    let store = rt.block_on(fresh_store());
    let b = &store.bodega;
    let Cast3 { officer, sergeant, command, koper } = rt.block_on(cast_of_three(b));
    let missions: Vec<String> = (0..24).map(|i| format!("race-{i}")).collect();
    let push = |device: &'static str, seq: u64, mission: &str, step: Transition| {
        let args = TransitionArgs {
            reason: (step == Transition::NotComplete).then(|| "called to a priority call".to_string()),
            outcome: (step == Transition::Complete)
                .then(|| serde_json::json!({ "contacts": 1, "conditions": "Quiet", "reports": 0 })),
            ..Default::default()
        };
        let req = PushRequest {
            schema_version: SCHEMA_VERSION,
            device_id: device.into(),
            mutations: vec![Mutation {
                seq,
                kind: MutationKind::Step { mission_id: mission.into(), step, args },
                device_time: 1_608_080_000,
            }],
            sent_at: None,
        };
        let (b, officer) = (b.clone(), officer.clone());
        rt.spawn(async move { b.apply_push(&officer, None, &req).await.map(|r| r.results) })
    };
    for (i, id) in missions.iter().enumerate() {
        rt.block_on(async {
            b.create_mission(&d1_patrol(id, koper), &command.subject(), None).await.expect("issue");
            let assign = TransitionArgs { assignee_user_id: Some(officer.id), ..Default::default() };
            b.transition_mission(id, Transition::Acknowledge, &sergeant.subject(), &TransitionArgs::default())
                .await
                .expect("acknowledge");
            b.transition_mission(id, Transition::Assign, &sergeant.subject(), &assign).await.expect("assign");
            b.transition_mission(id, Transition::Start, &officer.subject(), &TransitionArgs::default())
                .await
                .expect("start");
        });
        let seq = i as u64 + 1;
        let phone = push("race-phone", seq, id, Transition::Complete);
        let laptop = push("race-laptop", seq, id, Transition::NotComplete);
        let (phone, laptop) = rt.block_on(async { (phone.await, laptop.await) });
        for results in [phone, laptop] {
            let results = results.expect("task").expect("push");
            assert_eq!(results.len(), 1, "{results:?}");
        }
    }
    let mut broken = Vec::new();
    for id in &missions {
        let events: Vec<(Option<String>, String)> = rt
            .block_on(async {
                bodega::on_pool!(b, pool => sqlx::query_as(
                    "SELECT from_status, to_status FROM mission_events WHERE mission_id = $1 ORDER BY id")
                    .bind(id).fetch_all(pool).await)
            })
            .expect("events");
        for pair in events.windows(2) {
            if pair[1].0.as_deref() != Some(pair[0].1.as_str()) {
                broken.push(format!("{id}: {:?} after {:?}", pair[1], pair[0]));
            }
        }
    }
    assert!(broken.is_empty(), "{} steps did not start where the one before ended: {:?}", broken.len(), broken);
}
