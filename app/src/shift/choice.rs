//! Which ranking ranks a district's places, chosen by its record on the department's own data.
//!
//! A rolling-origin backtest (`hotspot::backtest`) over the last [`ORIGINS`] shifts of
//! [`HORIZON_HOURS`] hours, each ranked from the [`TRAINING_DAYS`] days before it, scores every
//! method on the city grid once per origin (parameters pooled city-wide) and the city and each
//! district as their own areas. In each area the evidence rule (`backtest::choose_from`) keeps
//! the strongest trailing count unless another method beat it on the earlier origins and the 95%
//! moving-block interval of its paired PEI difference excludes zero on the later ones. It
//! decides at the department's own coverage: the places a shift plans, as a share of the area.
//!
//! The choice is stored (the `ranking_choice` setting) with every method's record, so the
//! ranking, the plan and the scoreboard read one decision; who re-ran it is audited by the caller.
//! Only incidents that carry harm under the table and command's track weights take part: what
//! the ranking leaves out (an offence weighed 0) is neither ranked nor scored.
//!
//! The self-exciting model takes part only when asked (`with_model`): on the demo city one
//! origin's fit costs about 4.5 s (30 shift origins with 180 days of training: 135 s with the
//! model, 0.75 s without it, `server backtest … --horizon shift --origins 30`, debug build with
//! the optimised core), and in
//! the backtests on two cities' records (docs/FORECAST.md) it never beat the long trailing count.

use serde::{Deserialize, Serialize};

/// The forecast window each origin scores, hours (a shift).
pub const HORIZON_HOURS: i64 = 8;
/// Origins: the last 90 shifts (30 days), so the later half confirms on 45.
pub const ORIGINS: i64 = 90;
/// Days of history each origin's methods may read.
pub const TRAINING_DAYS: u32 = 365;
/// The settings key the choice is stored under.
pub const SETTING: &str = "ranking_choice";

/// One method's record in an area.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MethodSummary {
    /// The method's name ("count 365 days").
    pub method: String,
    /// PEI at the department's coverage: the mean over origins and its 95% interval.
    pub pei: Option<hotspot::backtest::Interval>,
    /// PEI at 1% of the area.
    pub pei_1: Option<hotspot::backtest::Interval>,
    /// PAI at 1% of the area.
    pub pai_1: Option<hotspot::backtest::Interval>,
    /// Origins where it could not rank (the 365-day count ranked there).
    pub fallbacks: usize,
}

/// The choice for the city or one district.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AreaChoice {
    /// `city` or the district's code.
    pub code: String,
    /// Its name.
    pub name: String,
    /// Cells of the area.
    pub cells: usize,
    /// The share of the area a shift plans (its places), percent: where the rule decides.
    pub coverage_percent: f64,
    /// The method that ranks.
    pub method: hotspot::backtest::Method,
    /// Why, in a sentence ("count 365 days: no method beat it on the earlier 45 origins").
    pub reason: String,
    /// The confirmed gain over the baseline, percent of its PEI, when another method earned it.
    pub gain: Option<hotspot::backtest::Interval>,
    /// Every method's record, in the order run.
    pub methods: Vec<MethodSummary>,
}

/// The stored decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankingChoice {
    /// When it was made, UTC seconds.
    pub chosen_at: i64,
    /// The last local day of data it scored.
    pub data_through: String,
    /// Hours of each scored window.
    pub horizon_hours: i64,
    /// Origins scored.
    pub origins: usize,
    /// Days of history per origin.
    pub training_days: u32,
    /// The places a shift plans when it was made.
    pub places_per_shift: i64,
    /// The harm table and version scored.
    pub harm_table: String,
    /// Command's track weights it scored under ("violent ×1, property ×1, quality of life ×1");
    /// empty in a choice stored before they were recorded.
    #[serde(default)]
    pub track_weights: String,
    /// Whether the self-exciting model took part.
    pub with_model: bool,
    /// The city first, then each district.
    pub areas: Vec<AreaChoice>,
}

/// The ranking in force for an area, in words a planner reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankBasis {
    /// The method.
    pub method: hotspot::backtest::Method,
    /// Why it ranks: the evidence, or that none is recorded yet.
    pub why: String,
}

impl RankBasis {
    /// What a place is ranked by, for "#3 by … in District 2".
    pub fn by(&self) -> &'static str {
        use hotspot::backtest::Method;
        match self.method {
            Method::Count { .. } => "incidents",
            Method::Harm { .. } => "harm",
            Method::Decayed { .. } => "time-decayed harm",
            Method::Kde { .. } => "smoothed harm",
            Method::Sepp => "the self-exciting forecast",
        }
    }

    /// The method in words ("the incident count over 365 days").
    pub fn label(&self) -> String {
        label_of(&self.method)
    }
}

/// How many hours ahead a device's forecast looks.
pub const DEVICE_HOURS: i64 = 12;

/// One district's forecast for the next [`DEVICE_HOURS`] hours, per cell, as the device gets it
/// with its hot-spot inputs (at the first sync after its copy is an hour old): intensities only,
/// never an incident's time; the device ranks from it offline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceForecast {
    /// The district's code.
    pub district: String,
    /// The method in words ("the incident count over 365 days").
    pub method: String,
    /// Why that method ranks.
    pub why: String,
    /// The window's start, UTC seconds (now, or the data's end when the data is older).
    pub from: i64,
    /// The UTM zone (EPSG code) its cells are keyed in; a device whose kept aggregates are in
    /// another zone (a city on a zone line) ranks by its window instead.
    pub epsg: u32,
    /// `(ix, iy, expected)`: each cell's expected harm in the window (cells with none are left
    /// out), sorted by `(ix, iy)`.  One unit in every district, so a device covering several
    /// ranks them together.
    pub cells: Vec<(i64, i64, f64)>,
}

/// A method in words, for command.
pub fn label_of(m: &hotspot::backtest::Method) -> String {
    use hotspot::backtest::Method;
    match *m {
        Method::Count { days } => format!("the incident count over {days} days"),
        Method::Harm { days } => format!("harm over {days} days"),
        Method::Decayed { half_life_days } => format!("time-decayed harm (half-life {half_life_days} days)"),
        Method::Kde { bandwidth_m } => format!("kernel-smoothed harm ({bandwidth_m} m)"),
        Method::Sepp => "the self-exciting model's forecast for the shift".into(),
    }
}

/// Server side: run the backtest, store it, read it.
#[cfg(feature = "ssr")]
pub mod ssr {
    use hotspot::backtest::{choose_from, run_areas, BacktestPlan, Method, ScoredArea};

    use super::*;
    use crate::context::{cells_within, grid_over, local_day, unavailable, ServerContext};
    use crate::error::ApiError;
    use crate::geo::MICRO_PLACE;
    use crate::shift::WINDOW_DAYS;

    const DAY: i64 = 86_400;

    /// The ranking when no backtest is stored: harm over the last [`WINDOW_DAYS`] days.
    pub fn default_method() -> Method {
        Method::Harm { days: WINDOW_DAYS as u32 }
    }

    /// An offence's weight in the ranking: the harm table's, times command's weight for its
    /// track (see [`protocol::setup::DosageRules::track_weight`]; an offence no map classifies is
    /// on the track `unclassified`).
    pub struct Weigh {
        table: hotspot::harm::HarmTable,
        tracks: std::collections::HashMap<String, String>,
        rules: protocol::setup::DosageRules,
        /// The department's call weights, read only when the calls track is on.
        calls: Option<bodega::call_weights::CallWeights>,
    }

    /// Something that carries weight in the ranking at a place and time: an incident, or a call
    /// for service when command has the calls track on (docs/HARM.md, "Calls for service").
    #[derive(Debug, Clone, PartialEq)]
    pub struct Weighed {
        /// Longitude.
        pub lon: f64,
        /// Latitude.
        pub lat: f64,
        /// When, UTC seconds.
        pub t: i64,
        /// The offence text, or "call for service: " and the call type.
        pub what: String,
        /// Its harm track (`quality_of_life` for a call).
        pub track: String,
        /// Its weight in the ranking (0 for an offence of a track weighed 0 or no table row).
        pub harm: f64,
        /// True for a call for service.
        pub call: bool,
    }

    impl Weigh {
        /// The weights in force.
        ///
        /// # Errors
        /// 503.
        pub async fn load(ctx: &ServerContext) -> Result<Self, ApiError> {
            let rules = crate::shift::ssr::dosage_rules(ctx).await?;
            let calls = if rules.calls_weight_pct > 0 {
                let rows = ctx.bodega.call_weights().await.map_err(unavailable)?;
                Some(bodega::call_weights::CallWeights::new(&rows))
            } else {
                None
            };
            Ok(Self {
                table: ctx.bodega.active_harm_table().await.map_err(unavailable)?,
                tracks: ctx.bodega.offense_tracks().await.map_err(unavailable)?,
                rules,
                calls,
            })
        }

        /// The located incidents in `filter`'s time and box, each weighed, and with the calls
        /// track on, the located calls its table weighs above 0 (those that did not become a
        /// located incident: [`bodega::Bodega::calls_for_ranking`]), each weighed by the table
        /// times command's weight for calls.
        ///
        /// # Errors
        /// 503.
        pub async fn located(
            &self,
            ctx: &ServerContext,
            filter: &bodega::queries::Filter,
        ) -> Result<Vec<Weighed>, ApiError> {
            let incidents = ctx.bodega.mappable_incidents(filter).await.map_err(unavailable)?;
            let mut out: Vec<Weighed> = incidents
                .into_iter()
                .map(|(lon, lat, t, what)| Weighed {
                    lon,
                    lat,
                    t,
                    track: self.track_of(&what),
                    harm: self.weigh(&what),
                    what,
                    call: false,
                })
                .collect();
            if let Some(calls) = &self.calls {
                let factor = self.rules.calls_weight();
                for (lon, lat, t, call_type, priority) in
                    ctx.bodega.calls_for_ranking(filter).await.map_err(unavailable)?
                {
                    let harm = calls.weigh(&call_type, &priority).unwrap_or(0.0) * factor;
                    if harm > 0.0 {
                        let (what, track) = (format!("call for service: {call_type}"), "quality_of_life".into());
                        out.push(Weighed { lon, lat, t, what, track, harm, call: true });
                    }
                }
            }
            Ok(out)
        }

        /// The offence's track, `unclassified` when no map knows it.
        pub fn track_of(&self, offense: &str) -> String {
            self.tracks.get(offense).cloned().unwrap_or_else(|| "unclassified".into())
        }

        /// The offence's weight.
        pub fn weigh(&self, offense: &str) -> f64 {
            self.table.weigh(offense).unwrap_or(0.0) * self.rules.track_weight(&self.track_of(offense))
        }

        /// The table's version.
        pub fn table_version(&self) -> String {
            self.table.version().to_string()
        }

        /// The dosage rules read with the weights.
        pub fn rules(&self) -> &protocol::setup::DosageRules {
            &self.rules
        }
    }

    /// The stored choice, if a backtest was run.
    ///
    /// # Errors
    /// 503.
    pub async fn stored(ctx: &ServerContext) -> Result<Option<RankingChoice>, ApiError> {
        let Some(json) = ctx.bodega.setting(SETTING).await.map_err(unavailable)? else { return Ok(None) };
        match serde_json::from_str(&json) {
            Ok(c) => Ok(Some(c)),
            Err(e) => {
                // A choice stored by an older build that no longer reads: rank by the default
                // and say so, rather than refuse to plan.
                tracing::warn!(error = %e, "the stored ranking choice does not read; ranking by the default");
                Ok(None)
            }
        }
    }

    /// The ranking in force for district `code` (or `city`), said stale when `weigh` (the
    /// weights in force) is not what the choice scored.
    ///
    /// # Errors
    /// 503.
    pub async fn basis_for(ctx: &ServerContext, code: &str, weigh: &Weigh) -> Result<RankBasis, ApiError> {
        let stored = stored(ctx).await?;
        let area = stored.as_ref().and_then(|c| c.areas.iter().find(|a| a.code == code).map(|a| (c, a)));
        Ok(match area {
            Some((c, a)) => RankBasis {
                method: a.method,
                why: format!(
                    "{} ({} shifts of {} h to {}, each ranked from the {} days before it; chosen at {:.1}% of the area, the places a shift plans){}",
                    a.reason,
                    c.origins,
                    c.horizon_hours,
                    c.data_through,
                    c.training_days,
                    a.coverage_percent,
                    weights_since(c, weigh)
                ),
            },
            None => RankBasis {
                method: default_method(),
                why: match stored.as_ref() {
                    Some(c) => format!(
                        "the last backtest (data through {}) did not cover this district: ranked by harm over 28 days until command runs it again (Accuracy → Run the backtest)",
                        c.data_through
                    ),
                    None => "no backtest has been run on this department's data yet: ranked by harm over 28 days until one is (Accuracy → Run the backtest)".into(),
                },
            },
        })
    }

    /// What the planner must know when the weights changed after `choice` was made: it was
    /// scored on harm weighed otherwise, so its evidence is not the ranking's any more.
    fn weights_since(choice: &RankingChoice, weigh: &Weigh) -> String {
        let (table, weights) = (weigh.table_version(), weigh.rules().weights_label());
        let then = format!("{} with {}", choice.harm_table, choice.track_weights);
        let now = format!("{table} with {weights}");
        if choice.harm_table == table && choice.track_weights == weights {
            String::new()
        } else if choice.track_weights.is_empty() {
            format!(". The weights it scored are not recorded (harm table {}); run the backtest again (Accuracy → Run the backtest) to choose on {now}", choice.harm_table)
        } else {
            format!(". The weights changed since it was chosen ({then}; now {now}): run the backtest again (Accuracy → Run the backtest)")
        }
    }

    /// Runs the backtest on the Data Bodega and makes the choice for the city and each district.
    ///
    /// # Errors
    /// 409 when there is too little data to score (the reason named); 503.
    pub async fn choose(ctx: &ServerContext, with_model: bool) -> Result<RankingChoice, ApiError> {
        let areas = ctx.bodega.district_areas().await.map_err(unavailable)?;
        let Some(bbox) = city_box(&areas) else {
            return Err(crate::context::fail(ApiError::Conflict(
                "no districts are set up: load the district boundaries first".into(),
            )));
        };
        let summary = ctx.bodega.city_summary().await.map_err(unavailable)?;
        let Some(last) = summary.last_at else {
            return Err(crate::context::fail(ApiError::Conflict(
                "the Data Bodega holds no incidents: load the department's records first".into(),
            )));
        };
        let tz = ctx.tz()?;
        let last_day = jiff::Timestamp::from_second(last).map_err(unavailable)?.to_zoned(tz.clone()).date();
        let horizon_s = HORIZON_HOURS * 3_600;
        // The windows end with the data's last day, or with the last whole shift before now when
        // the data is current: a window still to come has no data to be scored on.
        let midnight = |d: jiff::civil::Date| -> Result<i64, ApiError> {
            Ok(d.to_zoned(tz.clone()).map_err(unavailable)?.timestamp().as_second())
        };
        let after_last = midnight(last_day.tomorrow().map_err(unavailable)?)?;
        let now = jiff::Timestamp::now();
        let today = midnight(now.to_zoned(tz.clone()).date())?;
        let before_now = now.as_second() - (now.as_second() - today).rem_euclid(horizon_s);
        let until = after_last.min(before_now);
        let origins: Vec<i64> = (1..=ORIGINS).rev().map(|k| until - k * horizon_s).collect();
        let (grid, utm) = grid_over(bbox, MICRO_PLACE)?;
        let weigh = Weigh::load(ctx).await?;
        let events = harm_events(ctx, &weigh, &utm, bbox, origins[0] - i64::from(TRAINING_DAYS) * DAY, until).await?;
        if events.iter().filter(|e| e.t >= origins[0]).count() < ORIGINS as usize {
            return Err(crate::context::fail(ApiError::Conflict(format!(
                "too few incidents in the last {} days to score a ranking on (fewer than one per shift): the ranking stays harm over 28 days",
                ORIGINS * HORIZON_HOURS / 24
            ))));
        }
        let places = weigh.rules().places_per_shift;
        let mut scored: Vec<(String, String, Vec<usize>)> =
            vec![("city".into(), "City".into(), (0..grid.len()).collect())];
        for a in &areas {
            scored.push((a.code.clone(), a.name.clone(), cells_within(&grid, &utm, &a.area)));
        }
        scored.retain(|(_, _, cells)| !cells.is_empty());
        let zones = district_zones(&grid, &utm, &areas);
        let coverage = |cells: usize| (100.0 * places as f64 / cells as f64).min(100.0);
        let scored_areas: Vec<ScoredArea> = scored
            .iter()
            .map(|(_, _, cells)| ScoredArea { cells: cells.clone(), percents: vec![coverage(cells.len()), 1.0] })
            .collect();
        let params = hotspot::ScoreParams::default();
        let mut methods: Vec<Method> = [28, 90, 365].map(|days| Method::Count { days }).to_vec();
        methods.extend([28, 90, 365].map(|days| Method::Harm { days }));
        methods.push(Method::Decayed { half_life_days: params.half_life_days });
        methods.push(Method::Kde { bandwidth_m: 200.0 });
        if with_model {
            methods.push(Method::Sepp);
        }
        let plan = BacktestPlan {
            origins: origins.clone(),
            horizon_s,
            training_days: TRAINING_DAYS,
            percents: Vec::new(),
            score_harm: true,
            area: Vec::new(),
            sepp: hotspot::sepp::SeppOptions::default(),
            zones,
        };
        let run_methods = methods.clone();
        let records =
            tokio::task::spawn_blocking(move || run_areas(&grid, &events, &plan, &run_methods, &scored_areas))
                .await
                .map_err(unavailable)?
                .map_err(|e| crate::context::fail(ApiError::invalid("backtest", e.to_string())))?;
        let areas = scored
            .iter()
            .zip(records)
            .map(|((code, name, cells), records)| {
                let choice = choose_from(&records, 0);
                let method = choice
                    .as_ref()
                    .and_then(|c| methods.iter().find(|m| m.name() == c.method))
                    .copied()
                    .unwrap_or_else(default_method);
                AreaChoice {
                    code: code.clone(),
                    name: name.clone(),
                    cells: cells.len(),
                    coverage_percent: coverage(cells.len()),
                    method,
                    reason: choice.as_ref().map_or_else(|| "no method could be scored".into(), |c| c.reason.clone()),
                    gain: choice.and_then(|c| c.gain),
                    methods: records
                        .iter()
                        .map(|r| MethodSummary {
                            method: r.method.clone(),
                            pei: r.at.first().and_then(|s| s.pei),
                            pei_1: r.at.get(1).and_then(|s| s.pei),
                            pai_1: r.at.get(1).and_then(|s| s.pai),
                            fallbacks: r.fallbacks.len(),
                        })
                        .collect(),
                }
            })
            .collect();
        Ok(RankingChoice {
            chosen_at: jiff::Timestamp::now().as_second(),
            data_through: local_day(until - 1, &tz).unwrap_or_default(),
            horizon_hours: HORIZON_HOURS,
            origins: ORIGINS as usize,
            training_days: TRAINING_DAYS,
            places_per_shift: places,
            harm_table: weigh.table_version(),
            track_weights: weigh.rules().weights_label(),
            with_model,
            areas,
        })
    }

    /// Stores `choice` as the one in force.
    ///
    /// # Errors
    /// 503.
    pub async fn store(ctx: &ServerContext, choice: &RankingChoice) -> Result<(), ApiError> {
        let json = serde_json::to_string(choice).map_err(unavailable)?;
        ctx.bodega.set_setting(SETTING, &json).await.map_err(unavailable)
    }

    /// The districts' box, the union of their outlines' boxes.
    pub fn city_box(areas: &[bodega::missions::DistrictArea]) -> Option<(f64, f64, f64, f64)> {
        areas.iter().map(|a| a.bbox).reduce(|a, b| (a.0.min(b.0), a.1.min(b.1), a.2.max(b.2), a.3.max(b.3)))
    }

    /// The incidents in `bbox` in `[from, to)` that carry harm under the weights, projected: what
    /// the backtest scores and the live forecasts read.
    async fn harm_events(
        ctx: &ServerContext,
        weigh: &Weigh,
        utm: &hotspot::Utm,
        bbox: (f64, f64, f64, f64),
        from: i64,
        to: i64,
    ) -> Result<Vec<hotspot::Event>, ApiError> {
        let filter = bodega::queries::Filter { from: Some(from), to: Some(to), bbox: Some(bbox), ..Default::default() };
        Ok(weigh
            .located(ctx, &filter)
            .await?
            .into_iter()
            .filter_map(|w| {
                let (x, y) = utm.forward(w.lon, w.lat).ok()?;
                (w.harm > 0.0).then_some(hotspot::Event { x, y, t: w.t, offense: 0, harm: w.harm })
            })
            .collect())
    }

    /// Each city grid cell's district (its index in `areas`, the first whose outline holds the
    /// cell's centre; `areas.len()` outside them all), so the self-exciting model's background
    /// keeps each district's own hours (`BacktestPlan::zones`).
    fn district_zones(grid: &hotspot::Grid, utm: &hotspot::Utm, areas: &[bodega::missions::DistrictArea]) -> Vec<u16> {
        let outside = u16::try_from(areas.len()).unwrap_or(u16::MAX);
        let mut zones = vec![outside; grid.len()];
        for (i, a) in areas.iter().enumerate().rev() {
            for c in cells_within(grid, utm, &a.area) {
                zones[c] = u16::try_from(i).unwrap_or(u16::MAX);
            }
        }
        zones
    }

    /// A method's forecast on the city grid, with each cell's incidents and harm over the year
    /// before the origin.
    pub struct CityForecast {
        /// The city grid (the backtest's).
        pub grid: hotspot::Grid,
        /// Its projection.
        pub utm: hotspot::Utm,
        /// Each cell's forecast.
        pub values: Vec<f64>,
        /// Each cell's incidents carrying harm in the [`TRAINING_DAYS`] before the origin.
        pub year_count: Vec<f64>,
        /// Their harm.
        pub year_harm: Vec<f64>,
    }

    impl CityForecast {
        /// The value of lattice cell `(ix, iy)` (0 off the grid or in another zone).
        pub fn at(&self, epsg: hotspot::Epsg, ix: i64, iy: i64) -> f64 {
            if epsg != self.grid.epsg {
                return 0.0;
            }
            let size = self.grid.size;
            // The grid's origin is a lattice multiple (`Grid::lattice_key`).
            let (col, row) = (ix - (self.grid.x0 / size).floor() as i64, iy - (self.grid.y0 / size).floor() as i64);
            if col < 0 || row < 0 || col >= self.grid.ncols as i64 || row >= self.grid.nrows as i64 {
                return 0.0;
            }
            self.values[row as usize * self.grid.ncols + col as usize]
        }
    }

    /// `method`'s forecast for `[origin, origin + horizon_s)` on the city grid from the city's
    /// incidents (and calls) that carry harm under `weigh`: the inputs the backtest scored it on (forecasts pooled
    /// city-wide, so a district's border cuts nothing), by its own code
    /// (`hotspot::backtest::forecast_at`), off the async runtime. `Ok(Err(why))` when the
    /// method cannot forecast (the self-exciting model refusing a fit).
    ///
    /// # Errors
    /// 409 with no districts; 503.
    pub async fn city_forecast(
        ctx: &ServerContext,
        weigh: &Weigh,
        method: Method,
        origin: i64,
        horizon_s: i64,
    ) -> Result<Result<CityForecast, String>, ApiError> {
        let areas = ctx.bodega.district_areas().await.map_err(unavailable)?;
        let Some(bbox) = city_box(&areas) else {
            return Ok(Err("no district outlines are loaded".into()));
        };
        let (grid, utm) = grid_over(bbox, MICRO_PLACE)?;
        let from = origin - i64::from(method.history_days(TRAINING_DAYS).max(TRAINING_DAYS)) * DAY;
        let events = harm_events(ctx, weigh, &utm, bbox, from, origin).await?;
        let zones = district_zones(&grid, &utm, &areas);
        let plan = BacktestPlan {
            origins: Vec::new(),
            horizon_s: horizon_s.max(3_600),
            training_days: TRAINING_DAYS,
            percents: Vec::new(),
            score_harm: true,
            area: Vec::new(),
            sepp: hotspot::sepp::SeppOptions::default(),
            zones,
        };
        let forecast = tokio::task::spawn_blocking(move || {
            let values = hotspot::backtest::forecast_at(&grid, &events, origin, &plan, method);
            let (mut year_count, mut year_harm) = (vec![0.0; grid.len()], vec![0.0; grid.len()]);
            for e in events.iter().filter(|e| e.t >= origin - i64::from(TRAINING_DAYS) * DAY) {
                if let Some(c) = grid.cell_of(e.x, e.y) {
                    year_count[c] += 1.0;
                    year_harm[c] += e.harm;
                }
            }
            values.map(|values| CityForecast { grid, utm, values, year_count, year_harm }).map_err(|e| e.to_string())
        })
        .await
        .map_err(unavailable)?;
        Ok(forecast)
    }

    /// `v` to three significant figures: a device needs the ranking, not the digits that would
    /// let a single incident's age be read back out of a time-decayed value.
    fn three_figures(v: f64) -> f64 {
        format!("{v:.2e}").parse().unwrap_or(v)
    }

    /// The forecast of each district in `codes` for the next [`DEVICE_HOURS`] hours from
    /// `origin`, by the method its backtest chose, in expected harm per cell of the district
    /// (cells whose centre lies in it), from the same city-wide forecast the backtest scored.
    ///
    /// Expected harm, whatever the method: a trailing sum becomes a rate (its sum over the
    /// window's days, times half a day), a count's incidents weighed by the district's mean harm
    /// per incident over the year; a time-decayed or smoothed surface, which is a score and not
    /// a rate, is scaled to the district's harm at its 365-day rate, so only its shares matter;
    /// the self-exciting model's expected incidents are weighed by the same mean harm. Values
    /// are kept to three significant figures. A district whose method cannot forecast is ranked
    /// by the 365-day count, and says so.
    ///
    /// # Errors
    /// 503.
    pub async fn device_forecasts(
        ctx: &ServerContext,
        codes: &[String],
        origin: i64,
    ) -> Result<Vec<DeviceForecast>, ApiError> {
        let mut forecasts: Vec<(Method, Result<CityForecast, String>)> = Vec::new();
        let mut out = Vec::new();
        let half_days = DEVICE_HOURS as f64 / 24.0;
        let weigh = Weigh::load(ctx).await?;
        for code in codes {
            let Some(district) = ctx.bodega.district_area(code).await.map_err(unavailable)? else { continue };
            let mut basis = basis_for(ctx, code, &weigh).await?;
            if !forecasts.iter().any(|(m, _)| *m == basis.method) {
                let f = city_forecast(ctx, &weigh, basis.method, origin, DEVICE_HOURS * 3_600).await?;
                forecasts.push((basis.method, f));
            }
            let mut f = forecasts.iter().find(|(m, _)| *m == basis.method).map(|(_, f)| f);
            if let Some(Err(why)) = f {
                basis = RankBasis {
                    method: Method::Count { days: TRAINING_DAYS },
                    why: format!("{why}; ranked by the incident count over {TRAINING_DAYS} days instead"),
                };
                if !forecasts.iter().any(|(m, _)| *m == basis.method) {
                    let f = city_forecast(ctx, &weigh, basis.method, origin, DEVICE_HOURS * 3_600).await?;
                    forecasts.push((basis.method, f));
                }
                f = forecasts.iter().find(|(m, _)| *m == basis.method).map(|(_, f)| f);
            }
            let Some(Ok(f)) = f else { continue };
            let inside = cells_within(&f.grid, &f.utm, &district.area);
            let sum = |v: &[f64]| inside.iter().map(|&c| v[c]).sum::<f64>();
            let (year_harm, year_count, total) = (sum(&f.year_harm), sum(&f.year_count), sum(&f.values));
            let mean_harm = if year_count > 0.0 { year_harm / year_count } else { 0.0 };
            let scale = match basis.method {
                Method::Count { days } => half_days / f64::from(days) * mean_harm,
                Method::Harm { days } => half_days / f64::from(days),
                Method::Sepp => mean_harm,
                Method::Decayed { .. } | Method::Kde { .. } if total > 0.0 => {
                    year_harm / f64::from(TRAINING_DAYS) * half_days / total
                }
                Method::Decayed { .. } | Method::Kde { .. } => 0.0,
            };
            let mut cells: Vec<(i64, i64, f64)> = inside
                .into_iter()
                .filter(|&c| f.values[c] > 0.0)
                .map(|c| {
                    let k = f.grid.lattice_key(c);
                    (k.ix, k.iy, three_figures(f.values[c] * scale))
                })
                .collect();
            cells.sort_by_key(|a| (a.0, a.1));
            out.push(DeviceForecast {
                district: code.clone(),
                method: basis.label(),
                why: basis.why.clone(),
                from: origin,
                epsg: f.grid.epsg.code(),
                cells,
            });
        }
        Ok(out)
    }

    /// One line per area for the audit record and the CLI: "city: count 365 days (…)".
    pub fn summary(choice: &RankingChoice) -> String {
        choice.areas.iter().map(|a| format!("{}: {}", a.code, a.reason)).collect::<Vec<_>>().join("; ")
    }
}
