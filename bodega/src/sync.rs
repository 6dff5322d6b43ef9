//! The offline sync's store side: applying a device's pushed mutations exactly once, and
//! answering pulls.
//!
//! The rules are `protocol::sync` (sequencing, checks) and `protocol::mission` (where a synced
//! step lands); this module runs them transactionally. A push is applied in **one write
//! transaction**: each mutation with its effect and its `mutation_log` row, then the device's
//! `last_seq` (SQLite: `BEGIN IMMEDIATE`; PostgreSQL: the device row is locked `FOR UPDATE`), so
//! nothing of a mutation is ever committed without the others' record of it, and a retry, a
//! duplicate delivered concurrently, or a second server instance receiving the same push finds
//! the sequence already taken and does nothing. A business rejection is recorded and still
//! consumes its number. Every change a device must see takes the next value of the global
//! change counter (`sync_state`) in the same transaction; pull returns what is stamped above the
//! device's cookie.

use std::collections::HashMap;

use protocol::mission::{land_step, StepLanding};
use protocol::policy::{decide, Decision, Target};
use protocol::sync::{
    check_mutation, fix_time_refusal, plan_push, skewed, Disposition, FixTimeRefusal, Mutation, MutationKind, Note,
    Outcome, PullResponse, PushRequest, PushResponse, Rejection, SyncRefusal, SCHEMA_VERSION,
};
use protocol::{Action, MissionStatus};

use crate::accounts::{AccountError, User};
use crate::changes::next_change;
use crate::missions::{record_step, MissionError, MissionFilter, StepRecord};
use crate::store::{begin_write, now_seconds, Bodega, BodegaError};
use crate::{on_pool, on_writer};

/// Why a push or pull is refused as a whole.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// Wire version, gap, malformed batch: answered 409 or 422.
    #[error(transparent)]
    Refused(#[from] SyncRefusal),
    /// The device id belongs to another user: 403.
    #[error("this device is registered to another user")]
    DeviceOfAnotherUser,
    /// The device was revoked: 403; the device reports how much unsynced work it holds.
    #[error("this device was revoked by an administrator; {pending} unsynced change(s) stay on it")]
    Revoked {
        /// Mutations the refused push carried.
        pending: usize,
    },
    /// The store failed: 503.
    #[error(transparent)]
    Store(#[from] BodegaError),
}

impl From<sqlx::Error> for SyncError {
    fn from(e: sqlx::Error) -> Self {
        SyncError::Store(BodegaError::Query(e))
    }
}

impl From<MissionError> for SyncError {
    fn from(e: MissionError) -> Self {
        match e {
            MissionError::Store(s) => SyncError::Store(s),
            other => SyncError::Store(BodegaError::Query(sqlx::Error::Protocol(other.to_string()))),
        }
    }
}

/// What was decided about a mutation before the write lock: its effect, or why it is refused.
enum Prepared {
    Step {
        mission_id: String,
        step: protocol::Transition,
        args: protocol::mission::TransitionArgs,
        detail: serde_json::Map<String, serde_json::Value>,
    },
    Note {
        note_id: String,
        mission_id: String,
        body: String,
        supersedes: Option<String>,
    },
    /// The fixes to store, and why the others of the mutation were refused (it is then
    /// recorded as rejected with that reason, the device shows it, and the good fixes stay).
    Fixes(Vec<protocol::sync::Fix>, Option<String>),
}

/// When a push's breadcrumbs may lie: the user's sessions, and the push's device clock skew.
struct FixWindow {
    sessions: Vec<(i64, i64)>,
    skew: i64,
    now: i64,
}

impl FixWindow {
    /// The fixes believed, their times corrected to the server's clock, and a reason naming the
    /// first refused and how many were. What is stored is what was checked: a device that lies
    /// about its clock (`sent_at`) only moves its fixes inside its own session.
    fn sort(&self, fixes: &[protocol::sync::Fix]) -> (Vec<protocol::sync::Fix>, Option<String>) {
        let mut kept = Vec::with_capacity(fixes.len());
        let mut refused = 0;
        let mut first = None;
        for f in fixes {
            match fix_time_refusal(f.t, self.skew, self.now, &self.sessions) {
                None => kept.push(protocol::sync::Fix { t: f.t.saturating_add(self.skew), ..*f }),
                Some(why) => {
                    refused += 1;
                    first.get_or_insert((f.t, why));
                }
            }
        }
        let reason = first.map(|(t, why)| {
            let at = jiff::Timestamp::from_second(t)
                .map(|ts| ts.strftime("%Y-%m-%d %H:%M:%S UTC").to_string())
                .unwrap_or_else(|_| format!("t={t}"));
            let why = match why {
                FixTimeRefusal::Future => format!("in the future (device clock corrected by {:+} s)", self.skew),
                FixTimeRefusal::OutsideSessions => "outside every signed-in session of yours".to_string(),
            };
            let saved = match fixes.len() - refused {
                0 => String::new(),
                n => format!("; the other {n} were saved"),
            };
            format!("fixes: {refused} of {} refused, the first at {at}: {why}{saved}", fixes.len())
        });
        (kept, reason)
    }
}

/// Why a note under an id another note holds is refused.
fn id_taken(note_id: &str) -> String {
    format!("note id {note_id} is already another note's: this note was not saved; write it again")
}

fn entity_of(m: &Mutation) -> Option<String> {
    match &m.kind {
        MutationKind::Step { mission_id, .. } => Some(mission_id.clone()),
        MutationKind::Note { note_id, .. } => Some(note_id.clone()),
        MutationKind::Breadcrumbs { .. } => None,
    }
}

impl Bodega {
    /// Who wrote note `id`, and on which mission.
    async fn note_author(&self, id: &str) -> Result<Option<(i64, String)>, SyncError> {
        Ok(on_pool!(self, pool => sqlx::query_as("SELECT author_user_id, mission_id FROM mission_notes WHERE id = $1")
            .bind(id).fetch_optional(pool).await)?)
    }

    /// The device `id` for `user`: registered on first use, refused when another user's or
    /// revoked.
    async fn sync_device(&self, user: &User, id: &str, pending: usize) -> Result<crate::accounts::Device, SyncError> {
        let device = match self.device(id).await? {
            Some(d) => d,
            None => match self.register_device(id, user.id, "").await {
                Ok(d) => d,
                Err(AccountError::Invalid { reason, .. }) => {
                    return Err(SyncError::Refused(SyncRefusal::Malformed(format!("device_id: {reason}"))))
                }
                Err(AccountError::DeviceOfAnotherUser(_)) => return Err(SyncError::DeviceOfAnotherUser),
                Err(AccountError::Store(e)) => return Err(SyncError::Store(e)),
                Err(e) => return Err(SyncError::Store(BodegaError::Query(sqlx::Error::Protocol(e.to_string())))),
            },
        };
        usable(user, device, pending)
    }

    /// Decides, before the write lock, what a mutation will do (or why it is refused).
    async fn prepare(
        &self,
        user: &User,
        m: &Mutation,
        window: &FixWindow,
        noted: &HashMap<String, String>,
    ) -> Result<Result<Prepared, String>, SyncError> {
        if let Err(reason) = check_mutation(m) {
            return Ok(Err(reason));
        }
        let subject = user.subject();
        Ok(match &m.kind {
            MutationKind::Step { mission_id, step, args } => {
                let Some(mission) = self.mission(mission_id).await? else {
                    return Ok(Err(format!("no mission {mission_id}")));
                };
                let target = Target::Assignment { district: &mission.district, assignee: mission.assignee_user_id };
                if let Decision::Deny(reason) = decide(&subject, step.action(), target) {
                    return Ok(Err(reason));
                }
                match self.step_details(&mission, *step, args).await {
                    Ok(detail) => {
                        Ok(Prepared::Step { mission_id: mission_id.clone(), step: *step, args: args.clone(), detail })
                    }
                    Err(MissionError::Invalid { field, reason }) => Err(format!("{field}: {reason}")),
                    Err(e) => return Err(e.into()),
                }
            }
            MutationKind::Note { note_id, mission_id, body, supersedes } => {
                let Some(mission) = self.mission(mission_id).await? else {
                    return Ok(Err(format!("no mission {mission_id}")));
                };
                let target = Target::Assignment { district: &mission.district, assignee: mission.assignee_user_id };
                if let Decision::Deny(reason) = decide(&subject, Action::WorkMission, target) {
                    return Ok(Err(reason));
                }
                // An id another note holds is refused here (and again under the write lock,
                // for a race), so that no edit below can lean on it.
                if self.note_author(note_id).await?.is_some_and(|(author, on)| author != user.id || &on != mission_id) {
                    return Ok(Err(id_taken(note_id)));
                }
                // An edit replaces one of its author's own notes on the same mission: one sent
                // before, or one earlier in this push (written offline, then edited).
                if let Some(original) = supersedes {
                    let own = match noted.get(original) {
                        Some(on) => on == mission_id,
                        None => self
                            .note_author(original)
                            .await?
                            .is_some_and(|(author, on)| author == user.id && &on == mission_id),
                    };
                    if !own {
                        return Ok(Err(format!(
                            "supersedes: note {original} is not one of your notes on this mission; this note was not saved"
                        )));
                    }
                }
                Ok(Prepared::Note {
                    note_id: note_id.clone(),
                    mission_id: mission_id.clone(),
                    body: body.trim().to_string(),
                    supersedes: supersedes.clone(),
                })
            }
            MutationKind::Breadcrumbs { fixes } => match window.sort(fixes) {
                (kept, Some(reason)) if kept.is_empty() => Err(reason),
                (kept, reason) => Ok(Prepared::Fixes(kept, reason)),
            },
        })
    }

    /// Applies a push from `user`'s device, exactly once per (device, seq), sent in `session`
    /// (its token hash; `None` for a push without one, such as a test's).
    ///
    /// # Errors
    /// [`SyncError`]: the whole push refused (wire version, gap, malformed, another user's or a
    /// revoked device) or the store failed. Mutations committed before a failure stay committed
    /// and are reported by the next pull's `last_seq`.
    pub async fn apply_push(
        &self,
        user: &User,
        session: Option<&str>,
        req: &PushRequest,
    ) -> Result<PushResponse, SyncError> {
        if req.schema_version != SCHEMA_VERSION {
            return Err(SyncRefusal::Upgrade { client: req.schema_version, server: SCHEMA_VERSION }.into());
        }
        let device = self.sync_device(user, &req.device_id, req.mutations.len()).await?;
        // The session pushing is this device's from now on (a session not yet tied to one is
        // tied to the first it pushes for): revoking the device ends it, and the breadcrumbs
        // below are checked against this device's sessions.
        if let Some(hash) = session {
            self.bind_session_device(hash, &req.device_id).await?;
        }
        let plan = plan_push(device.last_seq.max(0) as u64, &req.mutations)?;
        let has_fixes = req.mutations.iter().any(|m| matches!(m.kind, MutationKind::Breadcrumbs { .. }));
        let now = now_seconds();
        let window = FixWindow {
            sessions: if has_fixes { self.session_spans(user.id, &req.device_id).await? } else { Vec::new() },
            skew: req.sent_at.map_or(0, |sent| now.saturating_sub(sent)),
            now,
        };
        // What each mutation will do is decided before the write lock (reads only); the
        // authoritative checks that depend on the mission's current state run again inside it.
        let mut work = Vec::with_capacity(req.mutations.len());
        let mut results = Vec::with_capacity(req.mutations.len());
        let mut noted = HashMap::new();
        for (m, disposition) in req.mutations.iter().zip(plan) {
            if disposition == Disposition::Skip {
                results.push((m.seq, Outcome::Duplicate));
            } else {
                let prepared = self.prepare(user, m, &window, &noted).await?;
                if let Ok(Prepared::Note { note_id, mission_id, .. }) = &prepared {
                    noted.insert(note_id.clone(), mission_id.clone());
                }
                work.push((m, prepared));
            }
        }
        let (applied, last_seq, gap) = self.apply_batch(user, &req.device_id, work, device.last_seq.max(0)).await?;
        results.extend(applied);
        results.sort_by_key(|r| r.0);
        if let Some((held, first)) = gap {
            return Err(SyncRefusal::Gap { last_seq: held, first }.into());
        }
        Ok(PushResponse { schema_version: SCHEMA_VERSION, last_seq, results })
    }

    /// The push's mutations in one transaction (one commit, one device lock): for each, the
    /// sequence check under the lock, its effect and its log row; then the device's `last_seq`.
    /// Each mutation is still applied in the same transaction as its effect, exactly once per
    /// (device, seq). A gap found under the lock (a concurrent push got ahead) stops the batch:
    /// what came before it commits, and the gap is returned as (held, first missing).
    async fn apply_batch(
        &self,
        user: &User,
        device_id: &str,
        work: Vec<(&Mutation, Result<Prepared, String>)>,
        last_seq: i64,
    ) -> Result<(Vec<(u64, Outcome)>, u64, Option<(u64, u64)>), SyncError> {
        if work.is_empty() {
            return Ok((Vec::new(), last_seq as u64, None));
        }
        let now = now_seconds();
        let subject = user.subject();
        on_writer!(self, pool => {
            // The server's own timing of the write path (`BEATBOOK_LOG=bodega::sync=debug`;
            // bench/load.sh summarises it): the wait for the writer, the work, the commit.
            let asked = std::time::Instant::now();
            let mut tx = begin_write(pool).await?;
            let writer_at = asked.elapsed();
            let mut held: i64 = sqlx::query_scalar(lock_device_sql(self))
                .bind(device_id).fetch_one(&mut *tx).await?;
            let mut done = Vec::with_capacity(work.len());
            let mut gap = None;
            let mut fixes = Vec::new();
            let mut log = Vec::with_capacity(work.len());
            for (m, prepared) in work {
                let seq = m.seq as i64;
                if seq <= held {
                    done.push((m.seq, Outcome::Duplicate));
                    continue;
                }
                if seq > held + 1 {
                    gap = Some((held as u64, m.seq));
                    break;
                }
                    let mut outcome = Outcome::Applied;
                    match prepared {
                        Err(reason) => outcome = Outcome::Rejected { reason },
                        Ok(Prepared::Step { mission_id, step, mut args, detail }) => {
                            args.device_id = Some(device_id.to_string());
                            args.device_time = Some(m.device_time);
                            let row: Option<(String, Option<i64>, String)> = sqlx::query_as(lock_mission_sql(self))
                                .bind(&mission_id).fetch_optional(&mut *tx).await?;
                            match row {
                                None => outcome = Outcome::Rejected { reason: format!("no mission {mission_id}") },
                                Some((status, assignee, district)) => {
                                    let from = MissionStatus::parse(&status).unwrap_or(MissionStatus::Draft);
                                    let target = Target::Assignment { district: &district, assignee };
                                    if let Decision::Deny(reason) = decide(&subject, step.action(), target) {
                                        outcome = Outcome::Rejected { reason };
                                    } else {
                                        let (to, conflict) = match land_step(from, step) {
                                            StepLanding::Apply(to) => (Some(to), false),
                                            StepLanding::Conflict(to) => (Some(to), true),
                                            StepLanding::AlreadyThere => (None, false),
                                            StepLanding::Refuse(reason) => {
                                                outcome = Outcome::Rejected { reason };
                                                (None, false)
                                            }
                                        };
                                        if let Some(to) = to {
                                            record_step!(tx, StepRecord {
                                                id: &mission_id, t: step, from, to, by: user.id, args: &args,
                                                detail: &detail, conflict, now,
                                            });
                                        }
                                    }
                                }
                            }
                        }
                        Ok(Prepared::Note { note_id, mission_id, body, supersedes }) => {
                            let change = next_change(&mut tx).await?;
                            let inserted = sqlx::query(
                                "INSERT INTO mission_notes (id, mission_id, author_user_id, body, supersedes, device_id, \
                                 device_time, server_time, change_version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                                 ON CONFLICT (id) DO NOTHING")
                                .bind(&note_id).bind(&mission_id).bind(user.id).bind(&body).bind(&supersedes)
                                .bind(device_id).bind(m.device_time).bind(now).bind(change)
                                .execute(&mut *tx).await?;
                            if inserted.rows_affected() == 1 {
                                // The mission is re-sent with its new note on the next pull.
                                sqlx::query("UPDATE missions SET change_version = $2 WHERE id = $1")
                                    .bind(&mission_id).bind(change).execute(&mut *tx).await?;
                            } else {
                                // The id is taken. The same note sent again by its author (a
                                // device that lost its outbox's numbering) is already there; any
                                // other note under that id would be lost, so it is refused, and
                                // the device shows why.
                                let (author, on, text): (i64, String, String) = sqlx::query_as(
                                    "SELECT author_user_id, mission_id, body FROM mission_notes WHERE id = $1")
                                    .bind(&note_id).fetch_one(&mut *tx).await?;
                                if (author, &on, &text) != (user.id, &mission_id, &body) {
                                    outcome = Outcome::Rejected { reason: id_taken(&note_id) };
                                }
                            }
                        }
                        Ok(Prepared::Fixes(f, refused)) => {
                            fixes.extend(f);
                            if let Some(reason) = refused {
                                outcome = Outcome::Rejected { reason };
                            }
                        }
                    }
                    let (kind_outcome, reason) = match &outcome {
                        Outcome::Rejected { reason } => ("rejected", reason.clone()),
                        _ => ("applied", String::new()),
                    };
                    log.push(LogRow { seq, kind: m.kind.name(), entity: entity_of(m), outcome: kind_outcome, reason,
                        device_time: m.device_time, skewed: i64::from(skewed(m.device_time, now)) });
                held = seq;
                done.push((m.seq, outcome));
            }
            // The breadcrumbs and the log rows of the whole push in one statement each (a push
            // of 5 was 21 statements, each a round trip to SQLite's thread while holding the one
            // writer; now 4, with the device's read and update).
            for chunk in fixes.chunks(ROWS_PER_INSERT) {
                let mut q = sqlx::QueryBuilder::new(
                    "INSERT INTO gps_fixes (device, fix_at, lat, lon, accuracy_m, speed_mps, received_at) ");
                q.push_values(chunk, |mut row, f| {
                    row.push_bind(device_id).push_bind(f.t).push_bind(f.lat).push_bind(f.lon)
                        .push_bind(f.accuracy_m).push_bind(f.speed_mps).push_bind(now);
                });
                q.push(" ON CONFLICT (device, fix_at) DO NOTHING");
                q.build().execute(&mut *tx).await?;
            }
            for chunk in log.chunks(ROWS_PER_INSERT) {
                let mut q = sqlx::QueryBuilder::new(
                    "INSERT INTO mutation_log (device_id, seq, user_id, author_user_id, kind, entity_id, outcome, reason, \
                     device_time, received_at, skewed) ");
                q.push_values(chunk, |mut row, r| {
                    row.push_bind(device_id).push_bind(r.seq).push_bind(user.id).push_bind(user.id).push_bind(r.kind)
                        .push_bind(&r.entity).push_bind(r.outcome).push_bind(&r.reason).push_bind(r.device_time)
                        .push_bind(now).push_bind(r.skewed);
                });
                q.build().execute(&mut *tx).await?;
            }
            sqlx::query("UPDATE devices SET last_seq = $2, last_seen_at = $3 WHERE id = $1")
                .bind(device_id).bind(held).bind(now).execute(&mut *tx).await?;
            let applied_at = asked.elapsed();
            tx.commit().await?;
            tracing::debug!(
                wait_us = writer_at.as_micros() as u64,
                apply_us = (applied_at - writer_at).as_micros() as u64,
                commit_us = (asked.elapsed() - applied_at).as_micros() as u64,
                mutations = done.len(),
                "push written"
            );
            Ok((done, held as u64, gap))
        })
    }

    /// What `user`'s device should hear since `cookie`: missions it may see that changed (with
    /// their new notes), its rejected mutations, its `last_seq`, and the new cookie.
    ///
    /// # Errors
    /// [`SyncError`] for another user's or a revoked device, or a store failure.
    pub async fn pull(&self, user: &User, device_id: &str, cookie: i64) -> Result<PullResponse, SyncError> {
        // A pull reads: a device id never seen is answered (nothing synced yet, `last_seq` 0) but
        // not registered. Devices are registered at sign-in or by their first push, which the
        // server ties to the session; a pull naming any id it likes must not create devices.
        let device = match self.device(device_id).await? {
            Some(d) => Some(usable(user, d, 0)?),
            None => match protocol::sync::check_device_id(device_id) {
                Err(reason) => return Err(SyncRefusal::Malformed(reason).into()),
                Ok(()) => None,
            },
        };
        let now = now_seconds();
        let new_cookie: i64 = on_pool!(self, pool => sqlx::query_scalar("SELECT change_version FROM sync_state WHERE id = 1").fetch_one(pool).await)?;
        let subject = user.subject();
        let mut filters = Vec::new();
        if decide(&subject, Action::ViewMissions, Target::City).is_allowed() {
            filters.push(MissionFilter { changed_since: Some(cookie), exclude_drafts: true, ..Default::default() });
        } else {
            for d in &user.districts {
                if decide(&subject, Action::ViewMissions, Target::District(d)).is_allowed() {
                    filters.push(MissionFilter {
                        district: Some(d.clone()),
                        changed_since: Some(cookie),
                        exclude_drafts: true,
                        ..Default::default()
                    });
                }
            }
            filters.push(MissionFilter {
                assignee_user_id: Some(user.id),
                changed_since: Some(cookie),
                exclude_drafts: true,
                ..Default::default()
            });
        }
        let mut missions = Vec::new();
        for f in &filters {
            for m in self.missions(f).await? {
                if !missions.iter().any(|x: &protocol::mission::Mission| x.id == m.id) {
                    missions.push(m);
                }
            }
        }
        // New notes in one query; a note also re-stamps its mission, so every note returned
        // here belongs to a mission in `missions` or to one the user cannot see (left out).
        let rows: Vec<(String, String, String, String, Option<String>, i64)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT n.id, n.mission_id, u.display_name, n.body, n.supersedes, n.server_time FROM mission_notes n \
             JOIN users u ON u.id = n.author_user_id WHERE n.change_version > $1 ORDER BY n.server_time, n.id")
            .bind(cookie).fetch_all(pool).await)?;
        let notes: Vec<Note> = rows
            .into_iter()
            .filter(|(_, mission_id, ..)| missions.iter().any(|m| &m.id == mission_id))
            .map(|(id, mission_id, author, body, supersedes, server_time)| Note {
                id,
                mission_id,
                author,
                body,
                supersedes,
                server_time,
            })
            .collect();
        // Missions once assigned to this user that changed since the cookie and are no longer
        // visible to them (reassigned): named, so the device drops what it keeps of them. The
        // assign event's detail is JSON written by `step_details` ({"assignee":…,
        // "assignee_user_id":N}, keys sorted), so the id is matched with its delimiter.
        let once_mine: Vec<String> = on_pool!(self, pool => sqlx::query_scalar(
            "SELECT DISTINCT e.mission_id FROM mission_events e JOIN missions m ON m.id = e.mission_id \
             WHERE m.change_version > $1 AND e.transition = 'assign' \
             AND (e.detail LIKE $2 OR e.detail LIKE $3) ORDER BY e.mission_id")
            .bind(cookie)
            .bind(format!("%\"assignee_user_id\":{},%", user.id))
            .bind(format!("%\"assignee_user_id\":{}}}%", user.id))
            .fetch_all(pool).await)?;
        let gone: Vec<String> = once_mine.into_iter().filter(|id| !missions.iter().any(|m| &m.id == id)).collect();
        let rejections: Vec<(i64, String, String)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT seq, kind, reason FROM mutation_log WHERE device_id = $1 AND outcome = 'rejected' ORDER BY seq")
            .bind(device_id).fetch_all(pool).await)?;
        // A pull reads; it writes only to say the device was seen, and at most once a minute: a
        // write waits for SQLite's one writer, behind every push (the final pulls of the load
        // benchmark, one write each, doubled the writer's work and its queue).
        if let Some(device) = device.as_ref().filter(|d| d.last_seen_at.is_none_or(|seen| now - seen >= SEEN_EVERY_S)) {
            on_writer!(self, pool => sqlx::query("UPDATE devices SET last_seen_at = $2 WHERE id = $1")
                .bind(&device.id).bind(now).execute(pool).await.map(|_| ()))?;
        }
        Ok(PullResponse {
            schema_version: SCHEMA_VERSION,
            cookie: new_cookie,
            last_seq: device.as_ref().map_or(0, |d| d.last_seq.max(0)) as u64,
            missions,
            notes,
            rejections: rejections
                .into_iter()
                .map(|(seq, kind, reason)| Rejection { seq: seq.max(0) as u64, kind, reason })
                .collect(),
            server_time: now,
            gone,
        })
    }

    /// Mutations applied (or rejected) per device and sequence: how many times each took effect.
    /// For tests and the load tool's "zero lost, zero doubled" count.
    ///
    /// # Errors
    /// A store error.
    pub async fn mutation_log_counts(&self) -> Result<Vec<(String, i64, String)>, BodegaError> {
        Ok(on_pool!(self, pool => sqlx::query_as(
            "SELECT device_id, seq, outcome FROM mutation_log ORDER BY device_id, seq").fetch_all(pool).await)?)
    }
}

/// `device` if `user` may sync with it: theirs and not revoked (`pending`: what a revoked one
/// still holds, for the refusal).
fn usable(user: &User, device: crate::accounts::Device, pending: usize) -> Result<crate::accounts::Device, SyncError> {
    if device.user_id != user.id {
        return Err(SyncError::DeviceOfAnotherUser);
    }
    if device.revoked_at.is_some() {
        return Err(SyncError::Revoked { pending });
    }
    Ok(device)
}

/// A push's `mutation_log` row, written with the others of its push in one statement.
struct LogRow {
    seq: i64,
    kind: &'static str,
    entity: Option<String>,
    outcome: &'static str,
    reason: String,
    device_time: i64,
    skewed: i64,
}

/// Rows per multi-row `INSERT`: 1,000 fixes bind 7,000 values, under SQLite's limit of 32,766
/// and PostgreSQL's 65,535 (a push may carry up to `MAX_BATCH` × `MAX_FIXES` fixes).
const ROWS_PER_INSERT: usize = 1000;

/// How stale a device's `last_seen_at` may grow before a pull writes it (a push always does).
const SEEN_EVERY_S: i64 = 60;

/// Reads a mission's status, assignee and district for a step, locking its row on PostgreSQL
/// until the transaction ends (SQLite's `BEGIN IMMEDIATE` already holds the database's one
/// write lock). Without the lock, two devices' steps on one mission at once both read the old
/// status under READ COMMITTED, and the second write silently replaced the first: a
/// completion overwritten by "not completed" with no conflict flagged, or a cancellation lost.
fn lock_mission_sql(b: &Bodega) -> &'static str {
    match b {
        Bodega::Sqlite(_) => "SELECT status, assignee_user_id, district_code FROM missions WHERE id = $1",
        Bodega::Postgres(_) => "SELECT status, assignee_user_id, district_code FROM missions WHERE id = $1 FOR UPDATE",
    }
}

/// Reads the device's `last_seq`, locking its row on PostgreSQL (SQLite's `BEGIN IMMEDIATE`
/// already holds the database's one write lock).
fn lock_device_sql(b: &Bodega) -> &'static str {
    match b {
        Bodega::Sqlite(_) => "SELECT last_seq FROM devices WHERE id = $1",
        Bodega::Postgres(_) => "SELECT last_seq FROM devices WHERE id = $1 FOR UPDATE",
    }
}
