//! Server functions. Each has a fixed URL (`/api/<endpoint>`, no build hash) so that installed
//! apps and offline clients keep working across deployments, and each returns [`ApiError`], one
//! error envelope that says what went wrong without leaking internals.

use leptos::prelude::*;
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

use crate::model::CityOverview;

/// The error envelope every server function returns. Each variant has one HTTP status
/// ([`ApiError::status`]); messages are safe to show and never carry internals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
pub enum ApiError {
    /// No live session (never signed in, idle-locked, expired, ended): 401.
    #[error("{0}")]
    Unauthenticated(String),
    /// Signed in, but the policy does not allow it: 403.
    #[error("not allowed: {0}")]
    Forbidden(String),
    /// A field is missing or wrong: 422, naming the field.
    #[error("{field}: {message}")]
    Invalid {
        /// The field, as named in the request.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// The thing asked for does not exist: 404.
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with the current state (stale version, not allowed from here): 409.
    #[error("{0}")]
    Conflict(String),
    /// The Data Bodega could not answer; the message is safe to show: 503.
    #[error("the Data Bodega is unavailable: {0}")]
    Unavailable(String),
    /// The call itself failed (network, encoding); offline clients see this.
    #[error("{0}")]
    Transport(ServerFnErrorErr),
}

impl ApiError {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        match self {
            ApiError::Unauthenticated(_) => 401,
            ApiError::Forbidden(_) => 403,
            ApiError::NotFound(_) => 404,
            ApiError::Conflict(_) => 409,
            ApiError::Invalid { .. } => 422,
            ApiError::Unavailable(_) => 503,
            ApiError::Transport(ServerFnErrorErr::Args(_) | ServerFnErrorErr::Deserialization(_)) => 400,
            ApiError::Transport(_) => 500,
        }
    }

    /// True when the server could not be reached at all (the device store should answer).
    pub fn is_offline(&self) -> bool {
        matches!(self, ApiError::Transport(ServerFnErrorErr::Request(_) | ServerFnErrorErr::Response(_)))
    }

    /// A field-level validation error.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        ApiError::Invalid { field: field.to_string(), message: message.into() }
    }
}

/// Who may call an endpoint: `None` for public endpoints, else the policy action it needs.
/// Every server function and API route is listed in [`ENDPOINTS`]; the server's authorization
/// matrix test fails for one that is not.
pub type Access = Option<protocol::Action>;

/// Every server function with the action it needs: [`ENDPOINTS`] here and the missions'
/// (see `server::routes` for the other routes).
pub fn endpoints() -> Vec<(&'static str, Access)> {
    ENDPOINTS
        .iter()
        .chain(crate::missions::ENDPOINTS)
        .chain(crate::admin::ENDPOINTS)
        .chain(crate::map::ENDPOINTS)
        .chain(crate::snapshot::ENDPOINTS)
        .chain(crate::crime::ENDPOINTS)
        .chain(crate::presence::ENDPOINTS)
        .chain(crate::accuracy::ENDPOINTS)
        .chain(crate::field::ENDPOINTS)
        .copied()
        .collect()
}

/// The overview's server functions, with the action each needs.
pub const ENDPOINTS: &[(&str, Access)] =
    &[("/api/city_overview", Some(protocol::Action::ViewOverview)), ("/api/me", None), ("/api/sign_in_options", None)];

impl FromServerFnError for ApiError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        Self::Transport(value)
    }
}

/// What the server provides to every server function through Leptos context.
#[cfg(feature = "ssr")]
#[derive(Clone, Debug)]
pub struct ServerContext {
    /// The Data Bodega.
    pub bodega: bodega::Bodega,
    /// The department's IANA time zone.
    pub time_zone: String,
    /// Cell size of the overview map, metres.
    pub map_cell_size_m: u32,
    /// Idle lock, seconds.
    pub idle_lock_seconds: i64,
    /// A device's cached data expires this long after the session's end, seconds.
    pub device_keep_seconds: i64,
    /// The department's basemap file, if it has one.
    pub basemap: Option<crate::map::BasemapInfo>,
    /// The identity provider's name on the sign-in button, when single sign-on is configured.
    pub sign_in_with: Option<String>,
}

/// The city at a glance: totals, offences and the micro-place map.
#[server(prefix = "/api", endpoint = "city_overview")]
pub async fn get_city_overview() -> Result<CityOverview, ApiError> {
    let ctx = crate::auth::ssr::context()?;
    crate::auth::ssr::authorize(
        &ctx,
        protocol::Action::ViewOverview,
        protocol::policy::Target::City,
        "/api/city_overview",
    )
    .await?;
    ssr::city_overview_inner(&ctx).await.inspect_err(crate::auth::ssr::respond_with)
}

/// The signed-in user, or `None` without a live session. Public: asking who one is reveals
/// nothing and is not an access attempt worth an audit record.
#[server(prefix = "/api", endpoint = "me")]
pub async fn get_me() -> Result<Option<crate::auth::Me>, ApiError> {
    let ctx = crate::auth::ssr::context()?;
    Ok(crate::auth::ssr::caller().map(|caller| crate::auth::Me {
        username: caller.user.username.clone(),
        display_name: caller.user.display_name.clone(),
        roles: caller.user.roles.clone(),
        districts: caller.user.districts.clone(),
        session_expires_at: caller.session_expires_at,
        idle_lock_seconds: ctx.idle_lock_seconds,
        device_data_expires_at: caller.session_expires_at + ctx.device_keep_seconds,
    }))
}

/// How one may sign in here: with a local account always, and with the department's identity
/// provider (its name) when single sign-on is configured. Public: the sign-in page asks.
#[server(prefix = "/api", endpoint = "sign_in_options")]
pub async fn get_sign_in_options() -> Result<Option<String>, ApiError> {
    let ctx = crate::auth::ssr::context()?;
    Ok(ctx.sign_in_with.clone())
}

/// The server-side bodies of the server functions, callable without HTTP (tests, CLI).
#[cfg(feature = "ssr")]
pub mod ssr {
    use hotspot::{Epsg, Lattice};

    use super::{ApiError, ServerContext};
    use crate::model::{CityOverview, MapCell, OffenseTotal};

    /// A Data Bodega failure as the caller meets it: logged with its details, answered 503 with
    /// a message safe to show.
    pub fn unavailable(e: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %e, "data bodega query failed");
        let e = ApiError::Unavailable("the query failed; the server log has the details".into());
        crate::auth::ssr::respond_with(&e);
        e
    }

    /// A field the caller got wrong, answered 422.
    pub fn invalid(field: &str, message: impl Into<String>) -> ApiError {
        let e = ApiError::invalid(field, message);
        crate::auth::ssr::respond_with(&e);
        e
    }

    /// The last local day of a window: the date given (`field` names it when it is not one),
    /// else the newest day with data (a demo city's data ends long before today), else today.
    ///
    /// # Errors
    /// 422 naming `field`; 503 from the store.
    pub async fn window_end_day(
        ctx: &ServerContext,
        tz: &jiff::tz::TimeZone,
        given: Option<&str>,
        field: &str,
    ) -> Result<jiff::civil::Date, ApiError> {
        match given.map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => s.parse().map_err(|_| invalid(field, format!("'{s}' is not a date (YYYY-MM-DD)"))),
            None => {
                let summary = ctx.bodega.city_summary().await.map_err(unavailable)?;
                Ok(summary
                    .last_at
                    .and_then(|t| jiff::Timestamp::from_second(t).ok())
                    .map(|t| t.to_zoned(tz.clone()).date())
                    .unwrap_or_else(|| jiff::Zoned::now().with_time_zone(tz.clone()).date()))
            }
        }
    }

    /// The analysis grid of `size_m` cells covering a `(west, south, east, north)` box, in the
    /// UTM zone of its centre: the study area of the crime view and the accuracy scoreboard.
    ///
    /// # Errors
    /// 503 when the box cannot be projected or gridded.
    pub fn grid_over(bbox: (f64, f64, f64, f64), size_m: u32) -> Result<(hotspot::Grid, hotspot::Utm), ApiError> {
        let (w, s, e, n) = bbox;
        let epsg = Epsg::for_lon_lat((w + e) / 2.0, (s + n) / 2.0).map_err(unavailable)?;
        let utm = hotspot::Utm::new(epsg);
        let corners = [(w, s), (e, s), (w, n), (e, n)].into_iter().filter_map(|(lon, lat)| utm.forward(lon, lat).ok());
        let grid = hotspot::Grid::covering(epsg, f64::from(size_m), corners).map_err(unavailable)?;
        Ok((grid, utm))
    }

    fn local_day(seconds: i64, tz: &jiff::tz::TimeZone) -> Option<String> {
        jiff::Timestamp::from_second(seconds).ok().map(|t| t.to_zoned(tz.clone()).date().to_string())
    }

    /// Builds the [`CityOverview`] from the Data Bodega, binning located incidents into the
    /// lattice of the UTM zone at their centroid.
    ///
    /// # Errors
    /// [`ApiError::Unavailable`] when the database fails or the time zone is unknown.
    pub async fn city_overview_inner(ctx: &ServerContext) -> Result<CityOverview, ApiError> {
        let tz = jiff::tz::TimeZone::get(&ctx.time_zone).map_err(unavailable)?;
        let summary = ctx.bodega.city_summary().await.map_err(unavailable)?;
        let points = ctx.bodega.located_points(i64::MIN, i64::MAX).await.map_err(unavailable)?;
        let (mut epsg, mut cells) = (0, Vec::new());
        if !points.is_empty() {
            let n = points.len() as f64;
            let (lon, lat) = points.iter().fold((0.0, 0.0), |(a, b), (x, y)| (a + x / n, b + y / n));
            let zone = Epsg::for_lon_lat(lon, lat).map_err(unavailable)?;
            let lattice = Lattice::new(zone, ctx.map_cell_size_m).map_err(unavailable)?;
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
            cell_size_m: ctx.map_cell_size_m,
            cells,
            generated_at: jiff::Timestamp::now()
                .round(jiff::Unit::Second)
                .unwrap_or_else(|_| jiff::Timestamp::now())
                .to_string(),
        })
    }
}
