//! What the officer's device keeps for its user: missions, the outbox, and the GPS breadcrumb
//! sampler (the sync that carries the outbox to the server exactly once is [`super::client`] and
//! [`super::FieldStore`]; the protocol is `protocol::sync`; see docs/SYNC.md).
//!
//! The device keeps one [`FieldState`] document per signed-in user in IndexedDB. A write (a
//! mission step, a note) is a mutation queued in the outbox **together with** its optimistic
//! effect on the local mission, in one durable (`strict`) transaction: the screen shows it as
//! saved only after that commit, and never shows one without the other. Sync pushes the outbox
//! and pulls changes; the server's acknowledgement (`last_seq`) drops what it holds, and pending
//! steps are re-applied on top of what the server sent (rebase).

use protocol::mission::Mission;
use protocol::sync::{MutationKind, Outbox, Rejection};
use serde::{Deserialize, Serialize};

/// Everything the device keeps for one user.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FieldState {
    /// This install's id for this user (a UUID, made on first use).
    pub device_id: String,
    /// The user it belongs to.
    pub username: String,
    /// The last pull's cookie (`-1`: never pulled).
    pub cookie: i64,
    /// Pending writes.
    pub outbox: Outbox,
    /// Missions as the server last sent them.
    pub server_missions: Vec<Mission>,
    /// Mutations the server refused, with reasons (shown to the user).
    pub rejections: Vec<Rejection>,
    /// Last successful sync, UTC milliseconds.
    pub last_sync_ms: Option<f64>,
    /// The last sync failure, for the status line.
    pub last_error: Option<String>,
    /// When the missions kept here expire (UTC seconds; the session's end plus the department's
    /// keep time). The outbox never expires.
    #[serde(default)]
    pub expires_at: Option<i64>,
    /// A supervisor signed the user out with work unsynced: reported at the next sign-in.
    #[serde(default)]
    pub held: Option<Held>,
}

/// A supervisor's override that signed the author out with unsynced work on the device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Held {
    /// The supervisor's sign-in name.
    pub supervisor: String,
    /// When (device clock, UTC seconds).
    pub at: i64,
    /// Unsynced changes at the time.
    pub pending: u32,
}

impl FieldState {
    /// A fresh state for `username` on device `device_id`.
    pub fn new(username: &str, device_id: &str) -> Self {
        FieldState {
            device_id: device_id.into(),
            username: username.into(),
            cookie: -1,
            outbox: Outbox::new(),
            ..Default::default()
        }
    }

    /// Missions as the user should see them: the server's, with pending steps re-applied.
    pub fn missions(&self) -> Vec<Mission> {
        self.server_missions.iter().map(|m| protocol::sync::rebase(m, &self.outbox.pending)).collect()
    }

    /// Drops what has expired at `now` (UTC seconds): the missions and rejections, never the
    /// outbox. Returns true when something was dropped.
    pub fn expire(&mut self, now: i64) -> bool {
        let expired = self.expires_at.is_some_and(|t| now >= t);
        let had = !self.server_missions.is_empty() || !self.rejections.is_empty();
        if expired {
            self.server_missions.clear();
            self.rejections.clear();
        }
        expired && had
    }

    /// True when the data kept here has expired.
    pub fn is_expired(&self, now: i64) -> bool {
        self.expires_at.is_some_and(|t| now >= t)
    }

    /// Queues a write with its optimistic effect (the caller saves the state in one transaction).
    pub fn record(&mut self, kind: MutationKind, device_time: i64) {
        self.outbox.enqueue(kind, device_time);
    }

    /// Takes in a push's acknowledgement of every write up to `last_seq`: they leave the
    /// outbox, and their effect stays on the missions shown until a pull brings the server's
    /// records, so the screen never steps back in between (a started mission shown "assigned"
    /// again stopped its breadcrumbs when the pull after the push failed).
    pub fn acknowledge(&mut self, last_seq: u64) {
        let done: Vec<protocol::sync::Mutation> =
            self.outbox.pending.iter().filter(|m| m.seq <= last_seq).cloned().collect();
        if done.is_empty() {
            return;
        }
        for m in &mut self.server_missions {
            *m = protocol::sync::rebase(m, &done);
        }
        self.outbox.acknowledge(last_seq);
    }

    /// Takes in a pull: missions replaced by the server's records, missions no longer the
    /// user's forgotten, acknowledged writes dropped.
    pub fn absorb(&mut self, pull: protocol::sync::PullResponse, now_ms: f64) {
        self.server_missions.retain(|m| !pull.gone.contains(&m.id));
        for m in pull.missions {
            match self.server_missions.iter_mut().find(|x| x.id == m.id) {
                // An older answer (a second tab's pull that finished late) never replaces a
                // newer record.
                Some(slot) if m.version >= slot.version => *slot = m,
                Some(_) => {}
                None => self.server_missions.push(m),
            }
        }
        self.cookie = self.cookie.max(pull.cookie);
        self.outbox.acknowledge(pull.last_seq);
        self.rejections = pull.rejections;
        self.last_sync_ms = Some(now_ms);
        self.last_error = None;
    }
}

/// GPS breadcrumbs while a mission is active and the screen is visible: adaptive sampling
/// (a fix every 10 s while moving, every 60 s while standing still), accuracy and speed kept as
/// the phone reported them, batched into the outbox as one `breadcrumbs` mutation per
/// [`Sampler::BATCH`] fixes or [`Sampler::FLUSH_S`] seconds — and whenever the screen is hidden,
/// because a web page cannot promise to track in the background.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sampler {
    last_kept: Option<protocol::sync::Fix>,
    pending: Vec<protocol::sync::Fix>,
}

impl Sampler {
    /// Fixes per batch.
    pub const BATCH: usize = 20;
    /// Oldest a pending fix may grow before its batch goes into the outbox, seconds.
    pub const FLUSH_S: i64 = 300;
    /// Shortest gap between kept fixes while moving, seconds.
    pub const MOVING_S: i64 = 10;
    /// Gap between kept fixes while standing still, seconds.
    pub const STILL_S: i64 = 60;
    /// Movement that counts as moving, metres.
    pub const MOVED_M: f64 = 25.0;

    /// Offers a fix from the phone; returns true when it is kept.
    pub fn offer(&mut self, fix: protocol::sync::Fix) -> bool {
        let keep = match &self.last_kept {
            None => true,
            Some(last) => {
                let dt = fix.t.saturating_sub(last.t);
                // A clock set back (dt < 0) starts the sampling afresh instead of keeping
                // nothing until it passes the last kept fix's time again.
                !(0..Self::STILL_S).contains(&dt)
                    || (dt >= Self::MOVING_S && metres_between(last, &fix) >= Self::MOVED_M)
            }
        };
        if keep {
            self.last_kept = Some(fix);
            self.pending.push(fix);
        }
        keep
    }

    /// The batch to queue now, if one is due at device time `now` (or `force`d: the screen is
    /// being hidden).
    pub fn take_batch(&mut self, now: i64, force: bool) -> Option<Vec<protocol::sync::Fix>> {
        let due = self.pending.len() >= Self::BATCH || self.pending.first().is_some_and(|f| now - f.t >= Self::FLUSH_S);
        ((due || force) && !self.pending.is_empty()).then(|| std::mem::take(&mut self.pending))
    }

    /// Fixes kept but not yet queued.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }
}

/// Ground distance between two fixes, metres (equirectangular: ample for tens of metres).
fn metres_between(a: &protocol::sync::Fix, b: &protocol::sync::Fix) -> f64 {
    let lat = ((a.lat + b.lat) / 2.0).to_radians();
    let dx = (b.lon - a.lon) * 111_320.0 * lat.cos();
    let dy = (b.lat - a.lat) * 110_574.0;
    (dx * dx + dy * dy).sqrt()
}

#[cfg(test)]
mod tests {
    use protocol::sync::Fix;

    use super::Sampler;

    fn fix(t: i64, north_m: f64) -> Fix {
        Fix { t, lat: 49.28 + north_m / 110_574.0, lon: -123.12, accuracy_m: Some(8.0), speed_mps: None }
    }

    #[test]
    fn standing_still_keeps_a_fix_a_minute_and_moving_one_every_ten_seconds() {
        let mut s = Sampler::default();
        // Standing: fixes every 5 s for 3 minutes → one a minute.
        let kept = (0..36).filter(|i| s.offer(fix(i * 5, 0.0))).count();
        assert_eq!(kept, 3);
        // Walking 3 m/s: fixes every 5 s for a minute → one every 10 s.
        let mut s = Sampler::default();
        let kept = (0..12).filter(|i| s.offer(fix(i * 5, *i as f64 * 15.0))).count();
        assert_eq!(kept, 6);
        // The phone's accuracy is kept as it came.
        assert_eq!(s.take_batch(60, true).expect("batch")[0].accuracy_m, Some(8.0));
    }

    #[test]
    fn a_clock_set_back_does_not_stop_the_breadcrumbs() {
        let mut s = Sampler::default();
        assert!(s.offer(fix(10_000, 0.0)));
        // The phone's clock is corrected 30 minutes back: sampling goes on from the new time.
        assert!(s.offer(fix(8_200, 0.0)));
        assert!(!s.offer(fix(8_205, 0.0)), "standing still: one a minute again");
        assert!(s.offer(fix(8_260, 0.0)));
    }

    #[test]
    fn expiry_drops_the_missions_but_never_the_outbox() {
        use protocol::sync::MutationKind;
        let mut s = super::FieldState::new("d2.officer1", "dev-1");
        s.rejections.push(protocol::sync::Rejection { seq: 1, kind: "step".into(), reason: "cancelled".into() });
        s.record(MutationKind::Breadcrumbs { fixes: vec![] }, 100);
        s.expires_at = Some(1_000);
        assert!(!s.expire(999), "not yet");
        assert_eq!(s.rejections.len(), 1);
        assert!(s.expire(1_000));
        assert!(s.rejections.is_empty() && s.server_missions.is_empty());
        assert_eq!(s.outbox.len(), 1, "unsynced work stays");
        assert!(s.is_expired(1_000));
        assert!(!s.expire(2_000), "nothing left to drop");
    }

    #[test]
    fn batches_go_out_by_size_by_age_and_when_hidden() {
        let mut s = Sampler::default();
        for i in 0..19 {
            s.offer(fix(i * 10, i as f64 * 30.0));
        }
        assert_eq!(s.take_batch(185, false), None, "19 fixes, the oldest 185 s old");
        s.offer(fix(190, 600.0));
        assert_eq!(s.take_batch(190, false).map(|b| b.len()), Some(20), "twenty fixes");
        s.offer(fix(400, 0.0));
        assert_eq!(s.take_batch(600, false), None);
        assert_eq!(s.take_batch(700, false).map(|b| b.len()), Some(1), "five minutes old");
        s.offer(fix(760, 0.0));
        assert_eq!(s.pending(), 1);
        assert_eq!(s.take_batch(761, true).map(|b| b.len()), Some(1), "hidden: out now");
        assert_eq!(s.take_batch(762, true), None, "nothing to send");
    }
}
