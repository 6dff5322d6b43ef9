//! The accuracy scoreboard: how well each period's hot spots predicted the next period's harm,
//! for the city and each district, for the rankings Beatbook offers beside the naive
//! trailing-count baseline — hit rate, PAI and PEI at 1 % and 5 % of the area
//! (`hotspot::evaluate`), over rolling 28-day periods, with the concentration curve.
//!
//! Each test period is 28 days; a ranking may look only at what happened before it:
//! - **Harm, 28 days**: harm over the 28 days before (what the missions ranked by before a
//!   backtest chose otherwise, and still do until one is run);
//! - **Time-decayed harm**: the 56 days before, each incident's harm halved every 28 days;
//! - **Naive baseline**: incidents over the 28 days before, each counting 1;
//! - **Trailing count, 365 days**: incidents over the year before, each counting 1 — in Beatbook's
//!   backtests on Chicago and on the Vancouver demo (docs/FORECAST.md) no method beat the long
//!   trailing counts and the 28-day window was the weakest.
//!
//! With the plain count table harm over 28 days and the baseline coincide, and the board says
//! so rather than hiding it.
//!
//! Above the periods, the board shows which ranking ranks each district's places and why: the
//! shift backtest's record of every method ([`crate::shift::choice`]), which command re-runs
//! from here after loading new data (audited).

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};

use crate::error::{Access, ApiError};
use crate::shift::choice::RankingChoice;

pub mod page;

/// Metrics at one share of the area.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Share of the area, percent.
    pub percent: f64,
    /// Share of the test period's harm in the flagged places.
    pub hit_rate: Option<f64>,
    /// Predictive accuracy index.
    pub pai: Option<f64>,
    /// Predictive efficiency index (PAI over the oracle's).
    pub pei: Option<f64>,
}

/// One ranking's result in one period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MethodScore {
    /// `missions`, `decayed`, `naive`.
    pub method: String,
    /// At 1 % and 5 %.
    pub at: Vec<Metrics>,
}

/// One test period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Period {
    /// First and last local day of the test period.
    pub from: String,
    /// See `from`.
    pub to: String,
    /// Harm in the test period in the area.
    pub harm: f64,
    /// Each ranking.
    pub methods: Vec<MethodScore>,
}

/// The city or a district.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AreaBoard {
    /// `city` or a district code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Cells in the area.
    pub cells: usize,
    /// Newest period first.
    pub periods: Vec<Period>,
    /// Concentration of the newest test period's harm: `(share of area, share of harm)`.
    pub lorenz: Vec<(f64, f64)>,
}

/// The scoreboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scoreboard {
    /// City first, then districts.
    pub areas: Vec<AreaBoard>,
    /// The weight table.
    pub harm_table: String,
    /// Method names for people.
    pub methods: Vec<(String, String)>,
    /// The ranking in force per area and every method's shift backtest, if one was run.
    pub choice: Option<RankingChoice>,
}

/// The scoreboard's server functions.
pub const ENDPOINTS: &[(&str, Access)] = &[
    ("/api/accuracy", Some(protocol::Action::ViewHotSpots)),
    ("/api/accuracy/backtest", Some(protocol::Action::ChangeConfig)),
];

/// The scoreboard for the periods ending with `end` (default: the newest day with data).
#[server(prefix = "/api", endpoint = "accuracy", input = Json)]
pub async fn get_accuracy(end: Option<String>, periods: Option<u32>) -> Result<Scoreboard, ApiError> {
    ssr::scoreboard(end, periods).await
}

/// Runs the shift backtest on the department's data again and puts its choice in force (command).
#[server(prefix = "/api", endpoint = "accuracy/backtest", input = Json)]
pub async fn run_backtest() -> Result<RankingChoice, ApiError> {
    ssr::run_backtest().await
}

/// Server side.
#[cfg(feature = "ssr")]
pub mod ssr {
    use hotspot::{evaluate, rank_cells, RankBy, ScoreParams, Window};
    use protocol::policy::Target;
    use protocol::Action;

    use super::*;
    use crate::auth::ssr::authorize;
    use crate::context::{cells_within, context, grid_over, invalid, unavailable, window_end_day};
    use crate::geo::MICRO_PLACE;
    use crate::shift::choice::ssr::{choose, store, stored, summary};
    use bodega::audit::Outcome;

    const PERIOD_DAYS: i64 = 28;
    /// The longest trailing window scored (days).
    const YEAR_DAYS: i64 = 365;
    const PERCENTS: [f64; 2] = [1.0, 5.0];

    fn metrics(m: &[hotspot::AreaShare]) -> Vec<Metrics> {
        m.iter().map(|a| Metrics { percent: a.percent, hit_rate: a.hit_rate, pai: a.pai, pei: a.pei }).collect()
    }

    /// The backtest re-run, stored and audited (with every area's choice).
    ///
    /// # Errors
    /// 401/403; 409 with too little data; 503.
    pub async fn run_backtest() -> Result<RankingChoice, ApiError> {
        let ctx = context()?;
        let grant = authorize(&ctx, Action::ChangeConfig, Target::City, "ranking backtest").await?;
        // One run at a time: a second commander's click waits for the first's result.
        static RUNNING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
        let _one = RUNNING.lock().await;
        let result = match choose(&ctx, false).await {
            Ok(c) => store(&ctx, &c).await.map(|()| c),
            Err(e) => Err(e),
        };
        let (outcome, detail) = match &result {
            Ok(c) => (Outcome::Success, format!("data through {}: {}", c.data_through, summary(c))),
            Err(e) => (Outcome::Failure, e.to_string()),
        };
        grant.audit(&ctx, "ranking backtest", outcome, &detail).await?;
        result
    }

    /// The scoreboard.
    ///
    /// # Errors
    /// 401/403; 422 for a bad date or period count; 503.
    pub async fn scoreboard(end: Option<String>, periods: Option<u32>) -> Result<Scoreboard, ApiError> {
        let ctx = context()?;
        authorize(&ctx, Action::ViewHotSpots, Target::City, "accuracy scoreboard").await?;
        let n_periods = i64::from(periods.unwrap_or(6));
        if !(1..=26).contains(&n_periods) {
            return Err(invalid("periods", format!("{n_periods} is not 1 to 26 periods")));
        }
        let tz = ctx.tz()?;
        let end_day = window_end_day(&ctx, &tz, end.as_deref(), "end").await?;
        let day_start = |d: jiff::civil::Date| -> Result<i64, ApiError> {
            Ok(d.to_zoned(tz.clone()).map_err(unavailable)?.timestamp().as_second())
        };
        let add = |d: jiff::civil::Date, n: i64| d.checked_add(jiff::Span::new().days(n)).map_err(unavailable);
        let areas = ctx.bodega.district_areas().await.map_err(unavailable)?;
        let (w, s, e, n) = areas
            .iter()
            .map(|a| a.bbox)
            .reduce(|a, b| (a.0.min(b.0), a.1.min(b.1), a.2.max(b.2), a.3.max(b.3)))
            .unwrap_or((-123.2, 49.2, -123.0, 49.3));
        let (grid, utm) = grid_over((w, s, e, n), MICRO_PLACE)?;
        // The area of each district: the cells whose centre lies in it.
        let mut area_cells: Vec<(String, String, Vec<usize>)> =
            vec![("city".into(), "City".into(), (0..grid.len()).collect())];
        for a in &areas {
            area_cells.push((a.code.clone(), a.name.clone(), cells_within(&grid, &utm, &a.area)));
        }
        // Every incident the periods and their training windows need, once.
        let last_end = day_start(add(end_day, 1)?)?;
        let first_test = add(end_day, 1 - n_periods * PERIOD_DAYS)?;
        // The year's window is counted in seconds back from each period's start, as the others.
        let earliest = day_start(first_test)? - YEAR_DAYS * 86_400;
        let filter = bodega::queries::Filter {
            from: Some(earliest),
            to: Some(last_end),
            bbox: Some((w, s, e, n)),
            ..Default::default()
        };
        let table = ctx.bodega.active_harm_table().await.map_err(unavailable)?;
        let events: Vec<hotspot::Event> = ctx
            .bodega
            .mappable_incidents(&filter)
            .await
            .map_err(unavailable)?
            .into_iter()
            .filter_map(|(lon, lat, t, offense)| {
                let (x, y) = utm.forward(lon, lat).ok()?;
                Some(hotspot::Event { x, y, t, offense: 0, harm: table.weigh(&offense).unwrap_or(0.0) })
            })
            .collect();
        let params = ScoreParams::default();
        let mut boards: Vec<AreaBoard> = area_cells
            .iter()
            .map(|(code, name, cells)| AreaBoard {
                code: code.clone(),
                name: name.clone(),
                cells: cells.len(),
                periods: Vec::new(),
                lorenz: Vec::new(),
            })
            .collect();
        for i in 0..n_periods {
            let test_last = add(end_day, -i * PERIOD_DAYS)?;
            let test_first = add(test_last, 1 - PERIOD_DAYS)?;
            let (t0, t1) = (day_start(test_first)?, day_start(add(test_last, 1)?)?);
            let recent = Window { from: t0 - PERIOD_DAYS * 86_400, to: t0 };
            let longer = Window { from: t0 - 2 * PERIOD_DAYS * 86_400, to: t0 };
            let year = Window { from: t0 - YEAR_DAYS * 86_400, to: t0 };
            let s_recent = hotspot::score(&grid, &events, recent, &params).map_err(unavailable)?;
            let s_longer = hotspot::score(&grid, &events, longer, &params).map_err(unavailable)?;
            let s_year = hotspot::score(&grid, &events, year, &params).map_err(unavailable)?;
            let s_test = hotspot::score(&grid, &events, Window { from: t0, to: t1 }, &params).map_err(unavailable)?;
            let train = s_recent.harm.clone();
            let test = s_test.harm.clone();
            for (board, (_, _, cells)) in boards.iter_mut().zip(&area_cells) {
                let score_of = |values: Vec<f64>| {
                    let ranked = rank_cells(cells, &values);
                    metrics(&evaluate(&ranked, &train, &test, &PERCENTS))
                };
                let methods = vec![
                    MethodScore { method: "missions".into(), at: score_of(s_recent.values(RankBy::Harm)) },
                    MethodScore { method: "decayed".into(), at: score_of(s_longer.values(RankBy::Decayed)) },
                    MethodScore { method: "naive".into(), at: score_of(s_recent.values(RankBy::Count)) },
                    MethodScore { method: "year".into(), at: score_of(s_year.values(RankBy::Count)) },
                ];
                if i == 0 {
                    let mut harms: Vec<f64> = cells.iter().map(|c| test[*c]).collect();
                    harms.sort_by(|a, b| b.total_cmp(a));
                    board.lorenz = hotspot::evaluate::lorenz_of(&harms, cells.len());
                }
                board.periods.push(Period {
                    from: test_first.to_string(),
                    to: test_last.to_string(),
                    harm: cells.iter().map(|c| test[*c]).sum(),
                    methods,
                });
            }
        }
        Ok(Scoreboard {
            areas: boards,
            harm_table: table.version().to_string(),
            methods: vec![
                ("missions".into(), "Harm, 28 days".into()),
                ("decayed".into(), "Time-decayed harm (56 days, half-life 28)".into()),
                ("naive".into(), "Naive baseline (count, 28 days)".into()),
                ("year".into(), "Trailing count, 365 days".into()),
            ],
            choice: stored(&ctx).await?,
        })
    }
}
