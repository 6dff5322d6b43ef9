//! What the server hands every server function (the Data Bodega, the department's settings) and
//! the helpers every feature's server side uses on it: the store failure answered 503, a bad
//! field answered 422, a date in the range Beatbook works with, the last day of a window, the
//! analysis grid over a box.

#[cfg(feature = "ssr")]
pub use ssr::*;

#[cfg(feature = "ssr")]
mod ssr {
    use hotspot::Epsg;
    use leptos::prelude::use_context;

    use crate::error::ssr::respond_with;
    use crate::error::ApiError;

    /// What the server provides to every server function through Leptos context.
    #[derive(Clone, Debug)]
    pub struct ServerContext {
        /// The Data Bodega.
        pub bodega: bodega::Bodega,
        /// The department's IANA time zone.
        pub time_zone: String,
        /// Cell of the overview map (`BEATBOOK_MAP_CELL_METRES`).
        pub map_cell: hotspot::CellSize,
        /// Idle lock, seconds.
        pub idle_lock_seconds: i64,
        /// A device's cached data expires this long after the session's end, seconds.
        pub device_keep_seconds: i64,
        /// The department's basemap file, if it has one.
        pub basemap: Option<crate::model::BasemapInfo>,
        /// The department's online tile service, if it has one.
        pub tiles: Option<crate::model::TileServiceInfo>,
        /// The identity provider's name on the sign-in button, when single sign-on is configured.
        pub sign_in_with: Option<String>,
        /// Makes a temporary password and its stored hash. The server's: password hashing
        /// (argon2id) lives in the server crate, and the app holds no hasher of its own.
        pub temporary_password: Option<TemporaryPassword>,
    }

    /// A temporary password and its hash, `(password, hash)`, being made.
    pub type MadePassword =
        std::pin::Pin<Box<dyn std::future::Future<Output = Result<(String, String), String>> + Send>>;

    /// What makes a temporary password (the server's).
    pub type TemporaryPassword = fn() -> MadePassword;

    impl ServerContext {
        /// The department's time zone.
        ///
        /// # Errors
        /// 503 when the configured zone is unknown (the server checks it at start).
        pub fn tz(&self) -> Result<jiff::tz::TimeZone, ApiError> {
            jiff::tz::TimeZone::get(&self.time_zone).map_err(unavailable)
        }

        /// Today in the department's zone; on the demo city, its own today (the last day of its
        /// data), so the shift screens open on a day with data.
        ///
        /// # Errors
        /// 503 from the store or an unknown zone.
        pub async fn today(&self) -> Result<jiff::civil::Date, ApiError> {
            match bodega::demo::demo_today(&self.bodega).await.map_err(unavailable)? {
                Some(day) => Ok(day),
                None => Ok(jiff::Timestamp::now().to_zoned(self.tz()?).date()),
            }
        }
    }

    /// The server context, or the error an unconfigured server gives.
    ///
    /// # Errors
    /// [`ApiError::Unavailable`].
    pub fn context() -> Result<ServerContext, ApiError> {
        use_context::<ServerContext>()
            .ok_or_else(|| ApiError::Unavailable("the server was started without a database".into()))
    }

    /// A Data Bodega failure as the caller meets it: logged with its details, answered 503 with
    /// a message safe to show.
    pub fn unavailable(e: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %e, "data bodega query failed");
        fail(ApiError::Unavailable("the query failed; the server log has the details".into()))
    }

    /// A field the caller got wrong, answered 422.
    pub fn invalid(field: &str, message: impl Into<String>) -> ApiError {
        fail(ApiError::invalid(field, message))
    }

    /// Answers `e` with its status and returns it (for `return Err(fail(…))`).
    pub fn fail(e: ApiError) -> ApiError {
        respond_with(&e);
        e
    }

    /// The first and last day any date a caller sends may name (crime and accuracy windows, shift
    /// dates, snapshots). Police records start well after the first and plans end well before
    /// the last; outside them the window arithmetic and time-zone conversion would fail, and the
    /// caller must hear 422 naming the field, not a 503 from deep inside.
    pub const DAYS: std::ops::RangeInclusive<jiff::civil::Date> =
        jiff::civil::date(1900, 1, 1)..=jiff::civil::date(2100, 12, 31);

    /// A date a caller sent (`YYYY-MM-DD`), in [`DAYS`].
    ///
    /// # Errors
    /// 422 naming `field`: not a date, or outside [`DAYS`].
    pub fn parse_day(field: &str, text: &str) -> Result<jiff::civil::Date, ApiError> {
        let text = text.trim();
        let day: jiff::civil::Date =
            text.parse().map_err(|_| invalid(field, format!("'{text}' is not a date (YYYY-MM-DD)")))?;
        if !DAYS.contains(&day) {
            return Err(invalid(
                field,
                format!("{day} is outside the dates Beatbook works with ({} to {})", DAYS.start(), DAYS.end()),
            ));
        }
        Ok(day)
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
            Some(s) => parse_day(field, s),
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

    /// The analysis grid of `size` cells covering a `(west, south, east, north)` box, in the UTM
    /// zone of its centre: the study area of the crime view and the accuracy scoreboard.
    ///
    /// # Errors
    /// 503 when the box cannot be projected or gridded.
    pub fn grid_over(
        bbox: (f64, f64, f64, f64),
        size: hotspot::CellSize,
    ) -> Result<(hotspot::Grid, hotspot::Utm), ApiError> {
        let (w, s, e, n) = bbox;
        let epsg = Epsg::for_lon_lat((w + e) / 2.0, (s + n) / 2.0).map_err(unavailable)?;
        let utm = hotspot::Utm::new(epsg);
        let corners = [(w, s), (e, s), (w, n), (e, n)].into_iter().filter_map(|(lon, lat)| utm.forward(lon, lat).ok());
        let grid = hotspot::Grid::covering(epsg, size.metres(), corners).map_err(unavailable)?;
        Ok((grid, utm))
    }

    /// The cells of `grid` whose centre lies in `area` (a district's cells on a city grid).
    pub fn cells_within(grid: &hotspot::Grid, utm: &hotspot::Utm, area: &geo::MultiPolygon<f64>) -> Vec<usize> {
        (0..grid.len())
            .filter(|&c| {
                let (x, y) = grid.centre(c);
                let (lon, lat) = utm.inverse(x, y);
                geo::Contains::contains(area, &geo::Point::new(lon, lat))
            })
            .collect()
    }

    /// A UTC instant as the local date in `tz`, `YYYY-MM-DD`.
    pub fn local_day(seconds: i64, tz: &jiff::tz::TimeZone) -> Option<String> {
        jiff::Timestamp::from_second(seconds).ok().map(|t| t.to_zoned(tz.clone()).date().to_string())
    }
}
