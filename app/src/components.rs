//! Pieces every screen shares: the header with connectivity, the update prompt, and the loader
//! that reads from the server and falls back to the device store when there is no signal.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::model::{CityOverview, Loaded};

/// The overview data as every screen sees it: `Err` carries a message fit for the user.
pub type OverviewResult = Result<Loaded<CityOverview>, String>;

/// What the overview resource holds on screens that do not show the city.
const NOT_LOADED: &str = "the city overview is loaded by the screens that show it";

/// Set when a screen that shows the city is on screen (the overview resource then loads).
#[derive(Clone, Copy)]
pub struct OverviewWanted(pub RwSignal<bool>);

/// The app-wide overview resource, shared by the screens so navigation does not refetch.
#[derive(Clone, Copy)]
pub struct OverviewResource(pub Resource<OverviewResult>);

/// Whether this device holds a copy of the city for use without signal.
#[derive(Clone, Copy)]
pub struct OfflineReady(pub RwSignal<bool>);

/// Whether a new version of Beatbook is installed and waiting for the user's go-ahead.
#[derive(Clone, Copy)]
pub struct UpdateReady(pub RwSignal<bool>);

/// Loads the city overview: from the server when it answers; in the browser, from the device
/// store when it does not.
pub async fn load_overview() -> OverviewResult {
    let fresh = crate::api::get_city_overview().await;
    #[cfg(feature = "hydrate")]
    if let Err(err) = &fresh {
        if server_unreachable(err).await {
            // IndexedDB futures are not `Send`; the browser is single-threaded, so the wrapper is sound.
            return match send_wrapper::SendWrapper::new(crate::device_store::load_overview()).await {
                Ok(Some(data)) => Ok(Loaded { data, from_device: true }),
                Ok(None) => Err(format!("Cannot reach the server ({err}) and this device has no saved copy yet.")),
                Err(store) => Err(format!("Cannot reach the server ({err}) and the device store failed: {store}")),
            };
        }
    }
    fresh.map(|data| Loaded { data, from_device: false }).map_err(|e| e.to_string())
}

/// Whether a server function's error means the server cannot be reached: at once when the
/// request got no answer; for any other failure of the call itself (an answer that did not
/// decode: a captive portal's page, a proxy's 502), when a probe of `/healthz` finds no Beatbook.
/// The server's own refusals (401, 403, 422…) are answers, not a lost server.
#[cfg(feature = "hydrate")]
pub async fn server_unreachable(err: &crate::api::ApiError) -> bool {
    if err.is_offline() {
        crate::connectivity::observe_failure();
        return true;
    }
    if !matches!(err, crate::api::ApiError::Transport(_) | crate::api::ApiError::Unavailable(_)) {
        return false;
    }
    !send_wrapper::SendWrapper::new(crate::connectivity::check_now()).await.is_online()
}

/// The path of the page being rendered (server) or shown (browser).
pub fn current_path() -> String {
    #[cfg(feature = "ssr")]
    {
        use_context::<http::request::Parts>().map(|p| p.uri.path().to_string()).unwrap_or_default()
    }
    #[cfg(not(feature = "ssr"))]
    {
        #[cfg(feature = "hydrate")]
        if let Some(path) = web_sys::window().and_then(|w| w.location().pathname().ok()) {
            return path;
        }
        String::new()
    }
}

/// Creates the shared resources and, in the browser, keeps the device store and service worker
/// in step with them.
pub fn provide_app_state() {
    // The sign-in screen shows no data: it neither fetches the city nor asks for it anonymously.
    // The city overview is computed only for the screens that show it (the overview and the
    // places) — not on every page load — and fetched when the user navigates to one of them.
    let path = current_path();
    let on_signin = path.starts_with("/signin");
    let wanted = RwSignal::new(path == "/" || path.starts_with("/places"));
    let overview = Resource::new(
        move || wanted.get(),
        move |wanted| async move {
            if on_signin {
                Err("Sign in to see the city.".to_string())
            } else if !wanted {
                Err(NOT_LOADED.to_string())
            } else {
                load_overview().await
            }
        },
    );
    provide_context(OverviewResource(overview));
    provide_context(OverviewWanted(wanted));
    let me = Resource::new(
        || (),
        |_| async {
            let answer = crate::api::get_me().await;
            #[cfg(feature = "hydrate")]
            if let Err(e) = &answer {
                // No answer: the device works from what it keeps (the PIN opens it); the
                // connectivity state learns why.
                let _ = server_unreachable(e).await;
            }
            answer.ok().flatten()
        },
    );
    provide_context(MeResource(me));
    let field = FieldStore {
        state: RwSignal::new(None),
        syncing: RwSignal::new(false),
        cache: RwSignal::new(None),
        resync: RwSignal::new(false),
        lock: StoredValue::new(Default::default()),
        stored: StoredValue::new(None),
        vault: RwSignal::new(Vault::Unknown),
    };
    provide_context(field);
    let update_ready = RwSignal::new(false);
    provide_context(UpdateReady(update_ready));
    let offline_ready = RwSignal::new(false);
    provide_context(OfflineReady(offline_ready));

    #[cfg(feature = "hydrate")]
    {
        // A page the server just rendered was online a moment ago; the offline shell is served
        // only when the navigation got no answer.
        let from_shell = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.body())
            .is_some_and(|b| b.has_attribute("data-beatbook-shell"));
        crate::connectivity::start(if from_shell {
            crate::connectivity::Connectivity::NoSignal
        } else {
            crate::connectivity::Connectivity::Online
        });
        // Whatever the server sent (rendered into the page or fetched later) is kept on the device
        // for the next time there is no signal. Copies read from the device are not re-saved.
        Effect::new(move |_| {
            if let Some(Ok(loaded)) = overview.get() {
                if loaded.from_device {
                    offline_ready.set(true);
                    return;
                }
                leptos::task::spawn_local(async move {
                    match crate::device_store::save_overview(&loaded.data).await {
                        Ok(()) => offline_ready.set(true),
                        Err(e) => leptos::logging::warn!("could not save the overview on this device: {e}"),
                    }
                });
            }
        });
        Effect::new(move |_| crate::pwa::register(update_ready));
        start_field_sync(me, field);
    }
}

/// The device's field state (missions, outbox) once loaded in the browser; `None` on the server
/// and until IndexedDB answers.
#[derive(Clone, Copy)]
pub struct FieldStore {
    /// The state.
    pub state: RwSignal<Option<crate::field::FieldState>>,
    /// A sync is running.
    pub syncing: RwSignal<bool>,
    /// The hot-spot inputs kept on the device (its districts' aggregates).
    pub cache: RwSignal<Option<crate::field::FieldCache>>,
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
    /// ([`crate::field::device::save_if`]), the state is read again and the change applied to it:
    /// every write keeps its own outbox sequence number, across tabs too.
    #[cfg(feature = "hydrate")]
    async fn modify(self, mut change: impl FnMut(&mut crate::field::FieldState)) -> Result<(), String> {
        let lock = self.lock.get_value();
        let _held = lock.lock().await;
        for _ in 0..8 {
            let Some(mut state) = self.state.get_untracked() else {
                return Err("no field state on this device".into());
            };
            change(&mut state);
            let expected = self.stored.get_value();
            if let Some(stored) = crate::field::device::save_if(&state, expected.as_deref()).await? {
                self.stored.set_value(Some(stored));
                self.state.set(Some(state));
                return Ok(());
            }
            // Saved meanwhile by another page: take what it saved, then try again.
            let username = state.username.clone();
            match crate::field::device::read(&username).await? {
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
    /// holds exactly what was read ([`crate::field::device::wipe_if`]), so a change saved in
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
            let (fresh, stored) = crate::field::device::read(&username).await?;
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
            if crate::field::device::wipe_if(&username, stored.as_deref()).await? {
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
            "" => crate::vault::browser::record(user).await.ok().flatten().map(|r| r.device_id).unwrap_or_default(),
            id => id.to_string(),
        };
        let (mut state, stored) = match crate::field::device::load_for(user, &device_id).await {
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
                let _ = crate::field::device::drop_cache(user).await;
            }
            None => {}
        }
        if !expired {
            if let Ok(Some(cache)) = crate::field::device::load_cache(user).await {
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
            let settled = match crate::field::device::report_override(&report).await {
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
            crate::field::device::ask_persistent_storage();
            self.sync();
        }
    }

    /// Closes the store: the data key leaves memory and the screens forget what they showed.
    #[cfg(feature = "hydrate")]
    pub fn lock_now(self) {
        let Some(user) = self.state.with_untracked(|s| s.as_ref().map(|s| s.username.clone())) else { return };
        crate::vault::browser::lock();
        self.state.set(None);
        self.cache.set(None);
        self.vault.set(Vault::Locked(user));
    }

    /// Notes a supervisor's override on the user's state (saved before it returns).
    ///
    /// # Errors
    /// When the device could not save.
    #[cfg(feature = "hydrate")]
    pub async fn hold(self, held: crate::field::Held) -> Result<(), String> {
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
                    crate::pwa::request_background_sync();
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
            if !crate::connectivity::current().is_online() {
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
        use crate::field::device::{pull, push, Pushed};
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
            match crate::field::device::refresh_cache(&user).await {
                Ok(c) => self.cache.set(Some(c)),
                Err(e) => leptos::logging::warn!("hot-spot inputs not refreshed: {e}"),
            }
        }
    }
}

/// Loads the field state (the signed-in user's, or offline the last user's) and syncs: on start,
/// when the signal returns, when the app becomes visible, and on a back-off timer.
#[cfg(feature = "hydrate")]
fn start_field_sync(me: Resource<Option<crate::auth::Me>>, field: FieldStore) {
    Effect::new(move |_| {
        let Some(me) = me.get() else { return };
        leptos::task::spawn_local(async move {
            match &me {
                // Signed in: the server-held key opens the store (made on first sign-in).
                Some(m) => {
                    let fresh = crate::field::device::new_uuid();
                    match crate::vault::browser::open_online(&m.username, &fresh).await {
                        Ok(device_id) => {
                            field.vault.set(if crate::vault::browser::needs_pin() {
                                Vault::ChoosePin(m.username.clone())
                            } else {
                                Vault::Open
                            });
                            field.load(me.clone(), &m.username, &device_id).await;
                        }
                        // The key did not come or did not fit (the signal went between the
                        // two requests, a server error): the officer's PIN still opens the
                        // store. A refusal (a revoked device) is final.
                        Err(e) => {
                            leptos::logging::warn!("the device store did not open with signal: {e}");
                            let by_pin = matches!(e, crate::vault::browser::OnlineOpenError::Failed(_))
                                && crate::vault::browser::has_pin(&m.username).await;
                            field.vault.set(if by_pin {
                                Vault::Locked(m.username.clone())
                            } else {
                                Vault::Unavailable(e.to_string())
                            });
                        }
                    }
                }
                // No signal: the last user's store, once their PIN opens it.
                None => match crate::field::device::last_user().await {
                    Ok(Some(user)) if crate::vault::browser::is_open() => field.load(None, &user, "").await,
                    Ok(Some(user)) => field.vault.set(Vault::Locked(user)),
                    Ok(None) => {}
                    Err(e) => leptos::logging::warn!("the device store could not be read: {e}"),
                },
            }
        });
    });
    start_idle_lock(me, field);
    crate::pwa::on_background_sync(move || field.sync());
    // Back online (Beatbook's `/healthz` answered): send what waits.
    Effect::new(move |was_online: Option<bool>| {
        let online = crate::connectivity::state().is_online();
        if online && was_online == Some(false) {
            field.sync();
        }
        online
    });
    let visible = window_event_listener(leptos::ev::visibilitychange, move |_| {
        let shown = web_sys::window()
            .and_then(|w| w.document())
            .is_some_and(|d| d.visibility_state() == web_sys::VisibilityState::Visible);
        if shown {
            field.sync();
        }
    });
    // Back-off: 30 s while things go through, up to 5 minutes while they do not.
    let delay = StoredValue::new(30u32);
    let tick = set_interval_with_handle(
        move || {
            let pending = field.state.with_untracked(|s| s.as_ref().is_some_and(|s| !s.outbox.is_empty()));
            let failing = field.state.with_untracked(|s| s.as_ref().is_some_and(|s| s.last_error.is_some()));
            let wait = delay.get_value();
            delay.set_value(if failing { (wait * 2).min(300) } else { 30 });
            if pending || !failing {
                field.sync();
            }
        },
        std::time::Duration::from_secs(30),
    );
    on_cleanup(move || {
        visible.remove();
        if let Ok(t) = tick {
            t.clear();
        }
    });
}

/// The idle lock (CJIS AC-11): after the department's idle time (30 minutes) without a touch or
/// a key, the device store closes, and with signal the session ends as idle-locked and the page
/// goes to the sign-in screen (nothing a previous screen showed stays on view). With no signal
/// the PIN opens the store again; otherwise signing in does. Unsynced work stays sealed.
#[cfg(feature = "hydrate")]
fn start_idle_lock(me: Resource<Option<crate::auth::Me>>, field: FieldStore) {
    let last_touch = StoredValue::new(js_sys::Date::now());
    let touch = move || last_touch.set_value(js_sys::Date::now());
    let a = window_event_listener(leptos::ev::pointerdown, move |_| touch());
    let b = window_event_listener(leptos::ev::keydown, move |_| touch());
    let session_locked = StoredValue::new(false);
    let tick = set_interval_with_handle(
        move || {
            let signed_in = me.get_untracked().flatten();
            let idle_s = signed_in.as_ref().map_or(1800, |m| m.idle_lock_seconds);
            let idle = (js_sys::Date::now() - last_touch.get_value()) / 1000.0;
            if idle < idle_s as f64 {
                return;
            }
            // Also before a PIN is chosen: the store then waits for a new sign-in.
            if matches!(field.vault.get_untracked(), Vault::Open | Vault::ChoosePin(_)) {
                field.lock_now();
            }
            // With signal, the session is locked too, as the server's own idle rule would lock
            // it: the live refreshes of an open crime view or dashboard keep it in use on the
            // server, so only the page knows nobody is there. Signing in again opens it all.
            let online = crate::connectivity::current().is_online();
            if signed_in.is_some() && online && !session_locked.get_value() {
                session_locked.set_value(true);
                leptos::task::spawn_local(async move {
                    let _ = crate::field::device::end_session_idle().await;
                    if let Some(w) = web_sys::window() {
                        let here = w.location().pathname().unwrap_or_else(|_| "/".into());
                        let next: String = js_sys::encode_uri_component(&here).into();
                        let _ = w.location().assign(&format!("/signin?reason=idle&next={next}"));
                    }
                });
            }
        },
        std::time::Duration::from_secs(15),
    );
    on_cleanup(move || {
        a.remove();
        b.remove();
        if let Ok(t) = tick {
            t.clear();
        }
    });
}

/// The PIN screens: choose the PIN after the first sign-in on a device, and open the locked
/// store with it when there is no signal.
#[component]
pub fn VaultPrompt() -> impl IntoView {
    let field = expect_context::<FieldStore>();
    let pin = RwSignal::new(String::new());
    let again = RwSignal::new(String::new());
    let message = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let choose = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Vault::ChoosePin(user) = field.vault.get_untracked() else { return };
        let (p, q) = (pin.get_untracked(), again.get_untracked());
        if let Err(e) = crate::vault::check_pin(&p) {
            message.set(Some(e));
            return;
        }
        if p != q {
            message.set(Some("The two PINs differ.".into()));
            return;
        }
        busy.set(true);
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            match crate::vault::browser::set_pin(&user, &p).await {
                Ok(()) => {
                    pin.set(String::new());
                    again.set(String::new());
                    message.set(None);
                    field.vault.set(Vault::Open);
                }
                Err(e) => message.set(Some(e)),
            }
            busy.set(false);
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = user;
    };
    let unlock = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Vault::Locked(user) = field.vault.get_untracked() else { return };
        let p = pin.get_untracked();
        busy.set(true);
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            match crate::vault::browser::open_with_pin(&user, &p).await {
                Ok(()) => {
                    pin.set(String::new());
                    message.set(None);
                    field.vault.set(Vault::Open);
                    field.load(None, &user, "").await;
                }
                Err(e) => message.set(Some(e.to_string())),
            }
            busy.set(false);
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = (user, p);
    };
    let pin_input = move |label: &'static str, value: RwSignal<String>, testid: &'static str| {
        view! {
            <label>{label}
                <input type="password" inputmode="numeric" autocomplete="off" maxlength="8" data-testid=testid
                    prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev))/>
            </label>
        }
    };
    view! {
        {move || match field.vault.get() {
            Vault::ChoosePin(_) => view! {
                <form class="vault-prompt" role="dialog" aria-labelledby="vault-title" data-testid="choose-pin" on:submit=choose>
                    <h2 id="vault-title">"Choose a PIN for this device"</h2>
                    <p class="hint">"4 to 8 digits. With no signal, after a reload or 30 minutes idle, the PIN opens Beatbook on this device. Your missions and unsynced work stay encrypted until then."</p>
                    {pin_input("PIN", pin, "pin")}
                    {pin_input("The same PIN again", again, "pin-again")}
                    <button type="submit" disabled=move || busy.get()>{move || if busy.get() { "Saving…" } else { "Set PIN" }}</button>
                    {move || message.get().map(|m| view! { <p class="error" role="alert">{m}</p> })}
                </form>
            }.into_any(),
            Vault::Locked(user) => view! {
                <form class="vault-prompt" role="dialog" aria-labelledby="vault-title" data-testid="unlock" on:submit=unlock>
                    <h2 id="vault-title">"Beatbook is locked"</h2>
                    <p class="hint">{format!("Enter {user}'s PIN to open this device's missions, or sign in with signal.")}</p>
                    {pin_input("PIN", pin, "pin")}
                    <button type="submit" disabled=move || busy.get()>{move || if busy.get() { "Opening…" } else { "Unlock" }}</button>
                    <a href="/signin">"Sign in instead"</a>
                    {move || message.get().map(|m| view! { <p class="error" role="alert" data-testid="unlock-message">{m}</p> })}
                </form>
            }.into_any(),
            Vault::Unavailable(e) => view! {
                <p class="error vault-error" role="alert">{format!("This device's store did not open: {e}")}</p>
            }.into_any(),
            _ => ().into_any(),
        }}
    }
    .into_any()
}

/// The sync status: what is waiting, when the last sync went through, what failed and why.
#[component]
pub fn SyncStatus() -> impl IntoView {
    let field = expect_context::<FieldStore>();
    let text = move || {
        field.state.with(|s| {
            s.as_ref().map(|s| {
                let pending = s.outbox.len();
                let waiting = match pending {
                    0 => "All changes synced".to_string(),
                    1 => "1 change waiting to sync".to_string(),
                    n => format!("{n} changes waiting to sync"),
                };
                let last = s.last_sync_ms.map(|ms| format!(" · last sync {}", clock_time(ms))).unwrap_or_default();
                let error = s.last_error.as_ref().map(|e| format!(" · {e}")).unwrap_or_default();
                // Why nothing moves: the work waits on the device until the server answers.
                let held = match crate::connectivity::state() {
                    _ if pending == 0 => "",
                    crate::connectivity::Connectivity::Online => "",
                    crate::connectivity::Connectivity::NoSignal => " · kept on this device until there is signal",
                    crate::connectivity::Connectivity::Unreachable => {
                        " · kept on this device until the server can be reached"
                    }
                };
                (pending, format!("{waiting}{last}{held}{error}"))
            })
        })
    };
    view! {
        {move || text().map(|(pending, t)| {
            let waiting = pending > 0;
            view! {
            <p class="sync-status" class:pending=waiting role="status" data-testid="sync-status" data-pending=pending.to_string()>
                {t}
                <button type="button" class="link" on:click=move |_| field.sync()>"Sync now"</button>
            </p>
            }
        })}
    }
}

/// "21:04" in the device's local time.
fn clock_time(ms: f64) -> String {
    #[cfg(feature = "hydrate")]
    {
        let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms));
        format!("{:02}:{:02}", d.get_hours(), d.get_minutes())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = ms;
        String::new()
    }
}

/// The signed-in user, shared by the screens (`None`: nobody, or not known offline).
#[derive(Clone, Copy)]
pub struct MeResource(pub Resource<Option<crate::auth::Me>>);

/// Who is signed in, as far as the header and menus need to know.
#[component]
fn AccountMenu() -> impl IntoView {
    let me = expect_context::<MeResource>().0;
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match me.await {
                    Some(me) => {
                        let roles: Vec<&str> = me.roles.iter().map(|r| r.as_str()).collect();
                        view! {
                            <span class="account" data-testid="account">
                                <span class="who">{me.display_name.clone()}</span>
                                <span class="roles">{roles.join(", ")}</span>
                                {me.may(protocol::Action::IssueOverrideCode).then(|| view! { <crate::signout::OverrideCode/> })}
                                <crate::signout::SignOut/>
                            </span>
                        }
                        .into_any()
                    }
                    // No signal: the device's last user, from what it keeps.
                    None => {
                        let field = expect_context::<FieldStore>();
                        view! {
                            {move || field.state.with(|s| s.as_ref().map(|s| s.username.clone())).map(|user| view! {
                                <span class="account" data-testid="account">
                                    <span class="who">{user}</span>
                                    <crate::signout::SignOut/>
                                </span>
                            })}
                        }
                        .into_any()
                    }
                }
            })}
        </Transition>
    }
}

/// The links a user's roles make useful.
#[component]
fn RoleLinks() -> impl IntoView {
    let me = expect_context::<MeResource>().0;
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let me = me.await;
                let may = |a| me.as_ref().is_some_and(|m| m.may(a));
                let officer = me.as_ref().is_some_and(|m| m.roles.contains(&protocol::Role::Officer));
                view! {
                    {(officer || may(protocol::Action::AcknowledgeMission)).then(|| view! { <A href="/missions">"My missions"</A> })}
                    {may(protocol::Action::AcknowledgeMission).then(|| view! { <A href="/board">"Board"</A> })}
                    {may(protocol::Action::PlanMissions).then(|| view! { <A href="/plan">"Plan"</A> })}
                    {may(protocol::Action::ManageMenu).then(|| view! { <A href="/menu">"Menu"</A> })}
                    {may(protocol::Action::ViewHotSpots).then(|| view! { <A href="/crime">"Crime"</A> })}
                    {may(protocol::Action::ViewPresence).then(|| view! { <A href="/presence">"Presence"</A> })}
                    {may(protocol::Action::ViewSnapshot).then(|| view! { <A href="/snapshot">"Snapshot"</A> })}
                    {may(protocol::Action::IngestData).then(|| view! { <A href="/upload">"Load data"</A> })}
                    {may(protocol::Action::ManageUsers).then(|| view! { <A href="/admin/users">"Accounts"</A> })}
                    {may(protocol::Action::ManageDevices).then(|| view! { <A href="/admin/devices">"Devices"</A> })}
                    {may(protocol::Action::ViewAudit).then(|| view! { <A href="/admin/audit">"Audit"</A> })}
                }
            })}
        </Transition>
    }
}

/// Top bar: the name, the navigation, who is signed in and whether the device has signal.
#[component]
pub fn AppHeader() -> impl IntoView {
    let connectivity = crate::connectivity::state;
    view! {
        <header class="app-header">
            <a class="brand" href="/">
                <img src="/icons/icon.svg" alt="" width="28" height="28"/>
                <span>"Beatbook"</span>
            </a>
            <nav aria-label="Main">
                <A href="/" exact=true>"Overview"</A>
                <A href="/places">"Places"</A>
                <RoleLinks/>
            </nav>
            <AccountMenu/>
            <ThemeToggle/>
            <span class="connectivity" class:offline=move || !connectivity().is_online() role="status"
                data-testid="connectivity" data-state=move || format!("{:?}", connectivity()).to_lowercase()>
                {move || connectivity().label()}
            </span>
        </header>
    }
}

/// The cookie that keeps the night-mode choice (a display preference, nothing else).
pub const THEME_COOKIE: &str = "beatbook_theme";

/// The theme chosen on this device: `night`, `day`, or `None` to follow the device's setting.
#[derive(Clone, Copy)]
pub struct Theme(pub RwSignal<Option<&'static str>>);

fn theme_from_cookies(cookies: &str) -> Option<&'static str> {
    cookies.split(';').filter_map(|c| c.trim().split_once('=')).find(|(k, _)| *k == THEME_COOKIE).and_then(|(_, v)| {
        match v {
            "night" => Some("night"),
            "day" => Some("day"),
            _ => None,
        }
    })
}

/// Sets `<html data-theme>` from the cookie, on the server (so the first paint is right) and in
/// the browser; the header's switch changes it.
pub fn provide_theme() -> Theme {
    #[cfg(feature = "ssr")]
    let initial = use_context::<http::request::Parts>()
        .and_then(|p| p.headers.get(http::header::COOKIE).and_then(|v| v.to_str().ok()).and_then(theme_from_cookies));
    #[cfg(not(feature = "ssr"))]
    let initial = {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.dyn_into::<web_sys::HtmlDocument>().ok())
                .and_then(|d| d.cookie().ok())
                .and_then(|c| theme_from_cookies(&c))
        }
        #[cfg(not(feature = "hydrate"))]
        {
            None
        }
    };
    let theme = Theme(RwSignal::new(initial));
    provide_context(theme);
    theme
}

/// Night mode on or off (dark, high contrast), remembered on this device.
#[component]
fn ThemeToggle() -> impl IntoView {
    let Theme(theme) = expect_context::<Theme>();
    let toggle = move |_| {
        let next = if theme.get_untracked() == Some("night") { "day" } else { "night" };
        theme.set(Some(next));
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            if let Some(d) =
                web_sys::window().and_then(|w| w.document()).and_then(|d| d.dyn_into::<web_sys::HtmlDocument>().ok())
            {
                let _ = d.set_cookie(&format!("{THEME_COOKIE}={next}; Path=/; Max-Age=31536000; SameSite=Lax"));
            }
        }
    };
    view! {
        <button type="button" class="theme-toggle" data-testid="night-mode"
            aria-pressed=move || (theme.get() == Some("night")).to_string() on:click=toggle>
            "Night"
        </button>
    }
}

/// Offers a waiting new version instead of swapping code under an officer mid-task.
#[component]
pub fn UpdateBanner() -> impl IntoView {
    let ready = use_context::<UpdateReady>().map(|u| u.0).unwrap_or_else(|| RwSignal::new(false));
    view! {
        <Show when=move || ready.get()>
            <div class="update-banner" role="alert">
                <span>"A new version of Beatbook is ready."</span>
                <button type="button" on:click=move |_| {
                    #[cfg(feature = "hydrate")]
                    crate::pwa::apply_update();
                }>"Reload now"</button>
                <button type="button" class="secondary" on:click=move |_| ready.set(false)>"Later"</button>
            </div>
        </Show>
    }
}

/// Waits for the city overview, then renders `render` with it: a loading line until then, the
/// error when there is neither signal nor a saved copy, and the device-copy notice and the
/// offline status around the content.
#[component]
pub fn WithOverview<F>(loading: &'static str, render: F) -> impl IntoView
where
    F: Fn(CityOverview) -> AnyView + Clone + Send + Sync + 'static,
{
    let overview = expect_context::<OverviewResource>().0;
    let OverviewWanted(wanted) = expect_context::<OverviewWanted>();
    // Arriving here from a screen that did not load the city: load it now.
    Effect::new(move |_| {
        if !wanted.get_untracked() {
            wanted.set(true);
        }
    });
    view! {
        <Suspense fallback=move || view! { <p class="loading">{loading}</p> }>
            {move || {
                let render = render.clone();
                Suspend::new(async move {
                    match overview.await {
                        Err(message) if message == NOT_LOADED => view! { <p class="loading">{loading}</p> }.into_any(),
                        Err(message) => view! { <p class="error" role="alert">{message}</p> }.into_any(),
                        Ok(loaded) => {
                            let content = render(loaded.data.clone());
                            view! { <Provenance loaded/> {content} <OfflineStatus/> }.into_any()
                        }
                    }
                })
            }}
        </Suspense>
    }
}

/// Says whether this screen will still open with no signal.
#[component]
pub fn OfflineStatus() -> impl IntoView {
    let ready = use_context::<OfflineReady>().map(|r| r.0).unwrap_or_else(|| RwSignal::new(false));
    view! {
        <Show when=move || ready.get()>
            <p class="offline-ready" data-testid="offline-ready">"Saved on this device for use without signal."</p>
        </Show>
    }
}

/// Formats a count with thousands separators, as people read numbers: 37512 → "37,512".
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::thousands;

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(37_512), "37,512");
        assert_eq!(thousands(-1_234_567), "-1,234,567");
    }
}

/// Shows where the data on screen came from when it is not fresh from the server.
#[component]
pub fn Provenance(loaded: Loaded<CityOverview>) -> impl IntoView {
    loaded.from_device.then(|| {
        view! {
            <p class="provenance" role="status" data-testid="from-device">
                "The server cannot be reached: showing the copy saved on this device (computed "
                {loaded.data.generated_at.clone()}
                ")."
            </p>
        }
    })
}
