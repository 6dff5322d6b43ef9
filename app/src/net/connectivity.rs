//! Whether Beatbook's server can be reached, from what actually happened on the wire.
//!
//! `navigator.onLine` alone is not enough: it is `true` behind a captive portal or on a network
//! with no route to the server, and Chromium (147, 148) reports `true` after a reload while the
//! network is cut. So one state, [`Connectivity`], drives the header's badge and every decision
//! that depends on signal (whether a sync is attempted, the device copies' notices), and it
//! changes only on evidence:
//! - **No signal**: the browser says it is offline, or a request failed at the network level
//!   (a failed fetch, a timeout);
//! - **Server unreachable**: an HTTP answer arrived but it is not Beatbook's (a proxy's 502/503/504,
//!   a captive portal's page): Beatbook marks every answer of its own with
//!   [`protocol::SERVER_HEADER`];
//! - **Online** again only once `/healthz` answers with that header.
//!
//! `/healthz` is probed (`no-store`, no redirects followed, a 5 s limit) on the `online` event,
//! when the app becomes visible, every [`PROBE_ONLINE_MS`] while online and visible, and on a
//! back-off from [`PROBE_FIRST_RETRY_MS`] to [`PROBE_MAX_RETRY_MS`] while not online.

/// Whether the server can be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connectivity {
    /// Beatbook's server answered.
    Online,
    /// The network is down (the browser says so, or a request failed before any answer).
    NoSignal,
    /// Something answered that is not Beatbook (a proxy's error page, a captive portal).
    Unreachable,
}

impl Connectivity {
    /// What the header's badge says.
    pub fn label(self) -> &'static str {
        match self {
            Connectivity::Online => "Online",
            Connectivity::NoSignal => "No signal",
            Connectivity::Unreachable => "Server unreachable",
        }
    }

    /// True when Beatbook's server answered last.
    pub fn is_online(self) -> bool {
        self == Connectivity::Online
    }
}

/// How often `/healthz` is probed while online and visible, milliseconds.
pub const PROBE_ONLINE_MS: f64 = 15_000.0;
/// The first retry after the server was lost, milliseconds; each failed probe doubles it...
pub const PROBE_FIRST_RETRY_MS: f64 = 1_000.0;
/// ...up to this, milliseconds: with no signal a probe fails at once and costs nothing, and an
/// officer whose signal came back should not wait long for the outbox to drain.
pub const PROBE_MAX_RETRY_MS: f64 = 10_000.0;

/// The state, tracked: a view or effect that reads it re-runs when it changes. Always
/// [`Connectivity::Online`] on the server (it is rendering the page).
pub fn state() -> Connectivity {
    #[cfg(feature = "hydrate")]
    {
        use leptos::prelude::Get;
        browser::STATE.with(|s| s.get())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        Connectivity::Online
    }
}

/// The state, untracked (for decisions taken in event handlers and tasks).
pub fn current() -> Connectivity {
    #[cfg(feature = "hydrate")]
    {
        use leptos::prelude::GetUntracked;
        browser::STATE.with(|s| s.get_untracked())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        Connectivity::Online
    }
}

#[cfg(feature = "hydrate")]
pub use browser::{check_now, observe_failure, observe_response, start};

#[cfg(feature = "hydrate")]
mod browser {
    use std::cell::Cell;

    use leptos::prelude::*;
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;

    use super::{Connectivity, PROBE_FIRST_RETRY_MS, PROBE_MAX_RETRY_MS, PROBE_ONLINE_MS};

    /// How long a probe may take before it counts as no signal, milliseconds.
    const PROBE_TIMEOUT_MS: u32 = 5_000;

    thread_local! {
        // An `ArcRwSignal` is owned by no reactive owner, so it lives as long as the page.
        pub(super) static STATE: ArcRwSignal<Connectivity> = ArcRwSignal::new(Connectivity::Online);
        /// When the next probe is due (`Date.now()` milliseconds).
        static NEXT_PROBE_AT: Cell<f64> = const { Cell::new(0.0) };
        /// The wait before the next retry while not online.
        static RETRY_MS: Cell<f64> = const { Cell::new(PROBE_FIRST_RETRY_MS) };
        /// A probe is on its way (one at a time).
        static PROBING: Cell<bool> = const { Cell::new(false) };
        static STARTED: Cell<bool> = const { Cell::new(false) };
    }

    fn now_ms() -> f64 {
        js_sys::Date::now()
    }

    /// Records what was learned and when to look again.
    fn set(next: Connectivity) {
        if next.is_online() {
            RETRY_MS.with(|r| r.set(PROBE_FIRST_RETRY_MS));
            NEXT_PROBE_AT.with(|t| t.set(now_ms() + PROBE_ONLINE_MS));
        } else {
            let was_online = STATE.with(|s| s.get_untracked().is_online());
            let wait = if was_online { PROBE_FIRST_RETRY_MS } else { RETRY_MS.with(Cell::get) };
            RETRY_MS.with(|r| r.set((wait * 2.0).min(PROBE_MAX_RETRY_MS)));
            NEXT_PROBE_AT.with(|t| t.set(now_ms() + wait));
        }
        STATE.with(|s| {
            if s.get_untracked() != next {
                s.set(next);
            }
        });
    }

    /// A request failed before any answer came (no signal, a timeout).
    pub fn observe_failure() {
        set(Connectivity::NoSignal);
    }

    /// An answer came: Beatbook's own (it carries [`protocol::SERVER_HEADER`]) means online;
    /// anything else (a proxy's error page, a captive portal) means the server is unreachable.
    pub fn observe_response(resp: &web_sys::Response) {
        set(classify(resp));
    }

    fn classify(resp: &web_sys::Response) -> Connectivity {
        let ours = resp.headers().has(protocol::SERVER_HEADER).unwrap_or(false);
        if ours && resp.type_() != web_sys::ResponseType::Opaqueredirect {
            Connectivity::Online
        } else {
            Connectivity::Unreachable
        }
    }

    fn browser_offline() -> bool {
        web_sys::window().is_some_and(|w| !w.navigator().on_line())
    }

    fn visible() -> bool {
        web_sys::window()
            .and_then(|w| w.document())
            .is_none_or(|d| d.visibility_state() == web_sys::VisibilityState::Visible)
    }

    /// Asks `/healthz` now, unless a probe is already on its way, and returns what is known
    /// once it has answered.
    pub async fn check_now() -> Connectivity {
        if PROBING.with(|p| p.replace(true)) {
            // One is on its way: wait for it rather than sending a second.
            while PROBING.with(Cell::get) {
                gloo_timers::future::TimeoutFuture::new(50).await;
            }
            return super::current();
        }
        let result = if browser_offline() { Connectivity::NoSignal } else { probe().await };
        set(result);
        PROBING.with(|p| p.set(false));
        result
    }

    async fn probe() -> Connectivity {
        let Some(window) = web_sys::window() else { return Connectivity::NoSignal };
        let controller = web_sys::AbortController::new().ok();
        let init = web_sys::RequestInit::new();
        init.set_method("GET");
        init.set_cache(web_sys::RequestCache::NoStore);
        // A captive portal redirects; following it would make its page look like an answer.
        init.set_redirect(web_sys::RequestRedirect::Manual);
        init.set_credentials(web_sys::RequestCredentials::Omit);
        if let Some(c) = &controller {
            init.set_signal(Some(&c.signal()));
        }
        let timer =
            controller.clone().map(|c| gloo_timers::callback::Timeout::new(PROBE_TIMEOUT_MS, move || c.abort()));
        let answer = JsFuture::from(window.fetch_with_str_and_init("/healthz", &init)).await;
        drop(timer);
        match answer.ok().and_then(|r| r.dyn_into::<web_sys::Response>().ok()) {
            Some(resp) if resp.type_() == web_sys::ResponseType::Opaqueredirect => Connectivity::Unreachable,
            Some(resp) if resp.ok() => classify(&resp),
            Some(_) => Connectivity::Unreachable,
            None => Connectivity::NoSignal,
        }
    }

    /// Starts watching, once per page. `assume`: what the page's own start says (a page the
    /// server just rendered was online a moment ago; the offline shell is served only when the
    /// navigation got no answer).
    pub fn start(assume: Connectivity) {
        if STARTED.with(|s| s.replace(true)) {
            return;
        }
        let first = if browser_offline() { Connectivity::NoSignal } else { assume };
        STATE.with(|s| s.set(first));
        // Not online by the page's own account: ask at once rather than after a retry's wait.
        NEXT_PROBE_AT.with(|t| t.set(if first.is_online() { now_ms() + PROBE_ONLINE_MS } else { 0.0 }));
        let probe_soon = || {
            leptos::task::spawn_local(async {
                check_now().await;
            })
        };
        // These listeners and the timer live as long as the page (dropping a handle keeps its
        // listener; only `remove` takes it away).
        let _ = window_event_listener(leptos::ev::online, move |_| probe_soon());
        let _ = window_event_listener(leptos::ev::offline, move |_| set(Connectivity::NoSignal));
        let _ = window_event_listener(leptos::ev::visibilitychange, move |_| {
            if visible() {
                probe_soon();
            }
        });
        let tick = move || {
            let due = NEXT_PROBE_AT.with(Cell::get) <= now_ms();
            if due && visible() && !PROBING.with(Cell::get) {
                probe_soon();
            }
        };
        if first != Connectivity::Online {
            tick();
        }
        let _ = set_interval_with_handle(tick, std::time::Duration::from_secs(1));
    }
}
