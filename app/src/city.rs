//! The city at a glance: what the overview and the places screens both show (`GET
//! /api/city_overview`), loaded once per page and kept on the device for use with no signal.

use leptos::prelude::*;

use crate::error::{Access, ApiError};
use crate::model::{CityOverview, Loaded};

/// The overview's server function, with the action it needs.
pub const ENDPOINTS: &[(&str, Access)] = &[("/api/city_overview", Some(protocol::Action::ViewOverview))];

/// The city at a glance: totals, offences and the micro-place map.
#[server(prefix = "/api", endpoint = "city_overview")]
pub async fn get_city_overview() -> Result<CityOverview, ApiError> {
    let ctx = crate::context::context()?;
    crate::auth::ssr::authorize(
        &ctx,
        protocol::Action::ViewOverview,
        protocol::policy::Target::City,
        "/api/city_overview",
    )
    .await?;
    ssr::city_overview(&ctx).await.inspect_err(crate::error::ssr::respond_with)
}

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

/// Loads the city overview: from the server when it answers; in the browser, from the device
/// store when it does not.
pub async fn load_overview() -> OverviewResult {
    let fresh = get_city_overview().await;
    #[cfg(feature = "hydrate")]
    if let Err(err) = &fresh {
        if crate::net::server_unreachable(err).await {
            // IndexedDB futures are not `Send`; the browser is single-threaded, so the wrapper is sound.
            return match send_wrapper::SendWrapper::new(crate::device::store::load_overview()).await {
                Ok(Some(data)) => Ok(Loaded { data, from_device: true }),
                Ok(None) => Err(format!("Cannot reach the server ({err}) and this device has no saved copy yet.")),
                Err(store) => Err(format!("Cannot reach the server ({err}) and the device store failed: {store}")),
            };
        }
    }
    fresh.map(|data| Loaded { data, from_device: false }).map_err(|e| e.to_string())
}

/// Creates the overview resource for a page at `path` and, in the browser, keeps what the
/// server sent on the device for the next time there is no signal.
pub fn provide_overview(path: &str) {
    // The sign-in screen shows no data: it neither fetches the city nor asks for it anonymously.
    // The city overview is computed only for the screens that show it (the overview and the
    // places) — not on every page load — and fetched when the user navigates to one of them.
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
    let offline_ready = RwSignal::new(false);
    provide_context(OfflineReady(offline_ready));
    #[cfg(feature = "hydrate")]
    // Whatever the server sent (rendered into the page or fetched later) is kept on the device
    // for the next time there is no signal. Copies read from the device are not re-saved.
    Effect::new(move |_| {
        if let Some(Ok(loaded)) = overview.get() {
            if loaded.from_device {
                offline_ready.set(true);
                return;
            }
            leptos::task::spawn_local(async move {
                match crate::device::store::save_overview(&loaded.data).await {
                    Ok(()) => offline_ready.set(true),
                    Err(e) => leptos::logging::warn!("could not save the overview on this device: {e}"),
                }
            });
        }
    });
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

/// Server side: the overview from the Data Bodega.
#[cfg(feature = "ssr")]
pub mod ssr {
    use hotspot::{Epsg, Lattice};

    use crate::context::{local_day, unavailable, ServerContext};
    use crate::error::ApiError;
    use crate::model::{CityOverview, MapCell, OffenseTotal};

    /// Builds the [`CityOverview`] from the Data Bodega, binning located incidents into the
    /// lattice of the UTM zone at their centroid.
    ///
    /// # Errors
    /// [`ApiError::Unavailable`] when the database fails or the time zone is unknown.
    pub async fn city_overview(ctx: &ServerContext) -> Result<CityOverview, ApiError> {
        let tz = ctx.tz()?;
        let summary = ctx.bodega.city_summary().await.map_err(unavailable)?;
        let points = ctx.bodega.located_points(i64::MIN, i64::MAX).await.map_err(unavailable)?;
        let (mut epsg, mut cells) = (0, Vec::new());
        if !points.is_empty() {
            let n = points.len() as f64;
            let (lon, lat) = points.iter().fold((0.0, 0.0), |(a, b), (x, y)| (a + x / n, b + y / n));
            let zone = Epsg::for_lon_lat(lon, lat).map_err(unavailable)?;
            let lattice = Lattice::of(zone, ctx.map_cell);
            let (counts, _off_globe) = lattice.count_points(points);
            epsg = zone.code();
            cells = counts.into_iter().map(|c| MapCell { ix: c.key.ix, iy: c.key.iy, count: c.count }).collect();
        }
        Ok(CityOverview {
            incidents: summary.incidents,
            located: summary.located,
            geo_flagged: summary.geo_flagged,
            first_day: summary.first_at.and_then(|t| local_day(t, &tz)),
            last_day: summary.last_at.and_then(|t| local_day(t, &tz)),
            by_offense: summary
                .by_offense
                .into_iter()
                .map(|o| OffenseTotal { offense: o.offense, total: o.total, located: o.located })
                .collect(),
            epsg,
            cell_size_m: ctx.map_cell.m(),
            cells,
            generated_at: jiff::Timestamp::now()
                .round(jiff::Unit::Second)
                .unwrap_or_else(|_| jiff::Timestamp::now())
                .to_string(),
        })
    }
}
