//! The officer's device: what it keeps for its user and how that reaches the server. The
//! header, the missions and "hot spots near you" all stand on it, so it is part of the shared
//! floor, not a feature.
//!
//! - [`FieldStore`] is the page's handle on the device's field state: every change is saved in
//!   one durable IndexedDB transaction first ([`store`]), then synced ([`client`]) exactly once
//!   — after each write, at start, when the server can be reached again, when the app becomes
//!   visible, and on a back-off timer ([`triggers`]).
//! - [`state`]: the field state itself (missions, outbox, breadcrumbs); [`cache`]: the hot-spot
//!   inputs a device keeps (`/api/field_cache`).
//! - [`vault`] seals what the device keeps (AES-GCM; a data key wrapped by the device's
//!   server-held key and by the officer's PIN); [`prompt`] asks for the PIN and shows the sync
//!   status; [`idle`] is the idle lock (CJIS AC-11); [`signout`] refuses sign-out while work
//!   waits and takes a supervisor's override code.
//! - [`worker`] registers the service worker, offers updates and asks for Background Sync;
//!   [`idb`] is the raw IndexedDB database under [`store`].

use leptos::prelude::*;

pub mod cache;
#[cfg(feature = "hydrate")]
pub mod client;
#[cfg(feature = "hydrate")]
pub mod idb;
#[cfg(feature = "hydrate")]
pub mod idle;
pub mod prompt;
pub mod signout;
pub mod state;
#[cfg(feature = "hydrate")]
pub mod store;
#[cfg(feature = "hydrate")]
pub mod triggers;
pub mod vault;
pub mod worker;

/// The device's field state (missions, outbox) once loaded in the browser; `None` on the server
/// and until IndexedDB answers.
#[derive(Clone, Copy)]
pub struct FieldStore {
    /// The state.
    pub state: RwSignal<Option<state::FieldState>>,
    /// A sync is running.
    pub syncing: RwSignal<bool>,
    /// The hot-spot inputs kept on the device (its districts' aggregates).
    pub cache: RwSignal<Option<cache::FieldCache>>,
    /// Whether the device store is open, and what it needs to open.
    pub vault: RwSignal<Vault>,
    /// Another sync was asked for while one ran.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    resync: RwSignal<bool>,
    /// One change to the state at a time.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    lock: StoredValue<std::sync::Arc<futures::lock::Mutex<()>>>,
    /// The state as this page last read or wrote it in the store (sealed): a save goes through
    /// only while the store still holds exactly this.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    stored: StoredValue<Option<String>>,
}

/// The device store's state, as the screens need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Vault {
    /// Not known yet (on the server, before IndexedDB answers).
    Unknown,
    /// Open.
    Open,
    /// Open, and the officer should choose the PIN that opens it with no signal.
    ChoosePin(String),
    /// Locked (a reload or the idle lock with no signal): this user's PIN opens it.
    Locked(String),
    /// Could not be opened (the message says why).
    Unavailable(String),
}

/// How old the device's hot-spot inputs may grow before a sync fetches fresh ones (seconds).
pub const CACHE_REFRESH_S: i64 = 3_600;

impl FieldStore {
    /// Changes the state and saves it in one durable transaction, one change at a time: a write
    /// and a sync finishing at the same moment never overwrite each other. The screen sees the
    /// change only after the commit. When another page of the app saved since this one last read
    /// (a second tab; a tab killed mid-write whose write committed late), the save is refused
    /// ([`store::save_if`]), the state is read again and the change applied to it:
    /// every write keeps its own outbox sequence number, across tabs too.
    #[cfg(feature = "hydrate")]
    async fn modify(self, mut change: impl FnMut(&mut state::FieldState)) -> Result<(), String> {
        let lock = self.lock.get_value();
        let _held = lock.lock().await;
        for _ in 0..8 {
            let Some(mut state) = self.state.get_untracked() else {
                return Err("no field state on this device".into());
            };
            change(&mut state);
            let expected = self.stored.get_value();
            if let Some(stored) = store::save_if(&state, expected.as_deref()).await? {
                self.stored.set_value(Some(stored));
                self.state.set(Some(state));
                return Ok(());
            }
            // Saved meanwhile by another page: take what it saved, then try again.
            let username = state.username.clone();
            match store::read(&username).await? {
                (Some(fresh), stored) => {
                    self.stored.set_value(stored);
                    self.state.set(Some(fresh));
                }
                (None, _) => return Err("this device's store was cleared by another window (signed out)".into()),
            }
        }
        Err("another window of Beatbook keeps changing this device's store; try again".into())
    }

    /// Clears the device for its user at sign-out unless work is waiting. Decided on the state
    /// as stored, read again under this page's lock (another page, a second tab, may have saved
    /// work or synced it since this one last looked), and cleared only while the store still
    /// holds exactly what was read ([`store::wipe_if`]), so a change saved in
    /// between is never deleted. `Ok(None)`: cleared (or nothing was kept); `Ok(Some(n))`: `n`
    /// changes wait for the server, nothing was cleared, and the screen now shows them.
    #[cfg(feature = "hydrate")]
    pub async fn wipe_for_sign_out(self) -> Result<Option<usize>, String> {
        let lock = self.lock.get_value();
        let _held = lock.lock().await;
        for _ in 0..8 {
            let Some(username) = self.state.with_untracked(|s| s.as_ref().map(|s| s.username.clone())) else {
                return Ok(None);
            };
            let (fresh, stored) = store::read(&username).await?;
            self.stored.set_value(stored.clone());
            let Some(fresh) = fresh else {
                // Cleared by another window's sign-out.
                return Ok(None);
            };
            let waiting = fresh.outbox.len();
            self.state.set(Some(fresh));
            if waiting > 0 {
                return Ok(Some(waiting));
            }
            if store::wipe_if(&username, stored.as_deref()).await? {
                self.stored.set_value(None);
                return Ok(None);
            }
        }
        Err("another window of Beatbook keeps changing this device's store; try again".into())
    }

    /// Loads `user`'s state and hot-spot inputs from the opened store (`me`: signed in, with
    /// signal), applies expiry, reports a held override, and syncs when signed in.
    #[cfg(feature = "hydrate")]
    pub async fn load(self, me: Option<crate::auth::Me>, user: &str, device_id: &str) {
        // Opened by the PIN: the device id is the key record's.
        let device_id = match device_id {
            "" => vault::browser::record(user).await.ok().flatten().map(|r| r.device_id).unwrap_or_default(),
            id => id.to_string(),
        };
        let (mut state, stored) = match store::load_for(user, &device_id).await {
            Ok(loaded) => loaded,
            Err(e) => {
                leptos::logging::warn!("the device store could not be read: {e}");
                return;
            }
        };
        let now = (js_sys::Date::now() / 1000.0) as i64;
        let expired = me.is_none() && state.is_expired(now);
        let held = state.held.clone();
        if expired {
            // Never on screen, not even until the store has been told.
            state.expire(now);
        }
        self.stored.set_value(stored);
        self.state.set(Some(state));
        match &me {
            // Signed in: what is kept now lasts until this session's end plus the department's
            // keep time.
            Some(me) => {
                let until = me.device_data_expires_at;
                let _ = self.modify(|s| s.expires_at = Some(until)).await;
            }
            // No signal: past the keep time the missions and hot-spot inputs go; the outbox stays.
            None if expired => {
                let _ = self
                    .modify(|s| {
                        s.expire(now);
                    })
                    .await;
                let _ = store::drop_cache(user).await;
            }
            None => {}
        }
        if !expired {
            if let Ok(Some(cache)) = store::load_cache(user).await {
                self.cache.set(Some(cache));
            }
        }
        // Work a supervisor let wait: say so (both names on record), then push it.
        if let (Some(_), Some(held)) = (&me, held) {
            let report = protocol::sync::OverrideReport {
                device_id: self.state.with_untracked(|s| s.as_ref().map(|s| s.device_id.clone())).unwrap_or_default(),
                supervisor: held.supervisor,
                at: held.at,
                pending: held.pending,
            };
            let settled = match client::report_override(&report).await {
                Ok(()) => true,
                // Refused (recorded by the server as a failed claim): the work is still the
                // author's own and goes through.
                Err((status, e)) if status != 0 => {
                    leptos::logging::warn!("override report refused: {e}");
                    true
                }
                Err(_) => false,
            };
            if settled {
                let _ = self.modify(|s| s.held = None).await;
            }
        }
        if me.is_some() {
            store::ask_persistent_storage();
            self.sync();
        }
    }

    /// Closes the store: the data key leaves memory and the screens forget what they showed.
    #[cfg(feature = "hydrate")]
    pub fn lock_now(self) {
        let Some(user) = self.state.with_untracked(|s| s.as_ref().map(|s| s.username.clone())) else { return };
        vault::browser::lock();
        self.state.set(None);
        self.cache.set(None);
        self.vault.set(Vault::Locked(user));
    }

    /// Notes a supervisor's override on the user's state (saved before it returns).
    ///
    /// # Errors
    /// When the device could not save.
    #[cfg(feature = "hydrate")]
    pub async fn hold(self, held: state::Held) -> Result<(), String> {
        self.modify(|s| s.held = Some(held.clone())).await
    }

    /// Records a write with its optimistic effect, saves it durably, then syncs. The screen
    /// shows the write only once it is saved.
    pub fn record(self, kind: protocol::sync::MutationKind) {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let now = (js_sys::Date::now() / 1000.0) as i64;
            match self.modify(|s| s.record(kind.clone(), now)).await {
                Ok(()) => {
                    worker::request_background_sync();
                    self.sync();
                }
                Err(e) => self.state.update(|s| {
                    if let Some(s) = s {
                        s.last_error = Some(format!("not saved: {e}"));
                    }
                }),
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = kind;
    }

    /// Pushes and pulls now; a request during a running sync runs another one after it.
    pub fn sync(self) {
        #[cfg(feature = "hydrate")]
        {
            if self.syncing.get_untracked() {
                self.resync.set(true);
                return;
            }
            if self.state.with_untracked(Option::is_none) {
                return;
            }
            // No signal, or something other than Beatbook answers: the work waits on the device;
            // the connectivity probe's return to online starts the next sync.
            if !crate::net::connectivity::current().is_online() {
                return;
            }
            self.syncing.set(true);
            leptos::task::spawn_local(async move {
                match self.sync_once().await {
                    Ok(()) => self.refresh_cache_if_stale().await,
                    Err(e) => self.state.update(|s| {
                        if let Some(s) = s {
                            s.last_error = Some(e);
                        }
                    }),
                }
                self.syncing.set(false);
                if self.resync.get_untracked() {
                    self.resync.set(false);
                    self.sync();
                }
            });
        }
    }

    /// Pushes the outbox in batches, then pulls; each answer is applied to the state as it is
    /// then (writes made meanwhile stay).
    #[cfg(feature = "hydrate")]
    async fn sync_once(self) -> Result<(), String> {
        use client::{pull, push, Pushed};
        let ids = move || self.state.with_untracked(|s| s.as_ref().map(|s| (s.device_id.clone(), s.cookie)));
        for _ in 0..20 {
            let Some(batch) = self.state.with_untracked(|s| s.as_ref().map(|s| s.outbox.batch(50))) else { break };
            let Some((device, _)) = ids() else { break };
            if batch.is_empty() {
                break;
            }
            match push(&device, batch).await? {
                Pushed::Acknowledged(last) => self.modify(|s| s.acknowledge(last)).await?,
                Pushed::Gap => break,
            }
        }
        let Some((device, cookie)) = ids() else { return Ok(()) };
        let answer = pull(&device, cookie).await?;
        let now = js_sys::Date::now();
        self.modify(|s| s.absorb(answer.clone(), now)).await
    }

    /// Fresh hot-spot inputs when the kept ones are missing or an hour old.
    #[cfg(feature = "hydrate")]
    async fn refresh_cache_if_stale(self) {
        let now = (js_sys::Date::now() / 1000.0) as i64;
        let stale = self.cache.with_untracked(|c| c.as_ref().is_none_or(|c| now - c.generated_at > CACHE_REFRESH_S));
        let Some(user) = self.state.with_untracked(|s| s.as_ref().map(|s| s.username.clone())) else { return };
        if stale {
            match store::refresh_cache(&user).await {
                Ok(c) => self.cache.set(Some(c)),
                Err(e) => leptos::logging::warn!("hot-spot inputs not refreshed: {e}"),
            }
        }
    }
}

/// A new field store (empty until [`triggers::start`] loads the user's state in the browser).
pub fn new_field_store() -> FieldStore {
    FieldStore {
        state: RwSignal::new(None),
        syncing: RwSignal::new(false),
        cache: RwSignal::new(None),
        resync: RwSignal::new(false),
        lock: StoredValue::new(Default::default()),
        stored: StoredValue::new(None),
        vault: RwSignal::new(Vault::Unknown),
    }
}
