//! The pieces of a rolling-origin backtest that every method is scored with alike: how much of a
//! window's harm a forecast's top places caught when many places tie (at a shift's horizon most
//! forecasts are zero in most places), a moving-block bootstrap interval for a mean over origins,
//! and the rule that lets a method replace the trailing-count baseline only on evidence.
//!
//! **Tie rule: fractional credit.** At `k` flagged places, the places forecast strictly above the
//! `k`-th place's value are flagged whole; the `m` places tied with it share the `r` slots left,
//! each counted `r/m` of its value. This is the expectation over every random order of the ties
//! (an averaged random order), so no method gains from the order of cell ids, and it applies to
//! every method and baseline alike. With no ties it is [`crate::evaluate()`]'s top-`k`.
//!
//! **Metrics per origin** (notation of [`crate::evaluate`]): hit rate `n/N`, PAI
//! `(n/N)/(k/A)`, PEI `n/n*` (the one name for the share of the best possible catch) and RRI
//! `(n/n₁)/(N/N₁)`, with `n` and `n₁` by fractional credit.
//!
//! **Intervals.** Origins a week apart are not independent (a hot week follows a hot week), so
//! means over origins get a moving-block bootstrap interval (Künsch 1989): resample circular
//! blocks of consecutive origins, take the percentile interval of the resampled means.
//!
//! **Choosing a method.** A method replaces the strongest trailing count only where, on the earlier
//! half of the origins, it has the best mean PEI difference over the baseline, and on the later half
//! the 95% interval of its paired per-origin difference excludes zero: chosen on one set of
//! origins, confirmed on another, so the best of several does not win by luck.

use crate::evaluate::ratio;
use crate::rng::{Draw, SplitMix64};

/// The test-period total caught by the `k` places a forecast ranks highest, by fractional
/// credit for ties at the boundary; also the same places' `train` total, by the same credit.
/// `area` lists the study area's cells; `forecast`, `test` and `train` are indexed by cell id.
pub fn caught(area: &[usize], forecast: &[f64], test: &[f64], train: &[f64], k: usize) -> (f64, f64) {
    if k == 0 || area.is_empty() {
        return (0.0, 0.0);
    }
    let k = k.min(area.len());
    let mut values: Vec<f64> = area.iter().map(|c| forecast[*c]).collect();
    values.sort_by(|a, b| b.total_cmp(a));
    let boundary = values[k - 1];
    let above = values.iter().take_while(|v| **v > boundary).count();
    let tied = values.iter().filter(|v| **v == boundary).count();
    let credit = (k - above) as f64 / tied as f64;
    let (mut n, mut n_train) = (0.0, 0.0);
    for c in area {
        let share = if forecast[*c] > boundary {
            1.0
        } else if forecast[*c] == boundary {
            credit
        } else {
            0.0
        };
        n += share * test[*c];
        n_train += share * train[*c];
    }
    (n, n_train)
}

/// One origin's score at one share of the area.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct OriginScore {
    /// Places flagged.
    pub k: usize,
    /// `n / N`.
    pub hit_rate: Option<f64>,
    /// `(n/N)/(k/A)`.
    pub pai: Option<f64>,
    /// `n / n*`.
    pub pei: Option<f64>,
    /// `(n/n₁)/(N/N₁)`.
    pub rri: Option<f64>,
}

/// Scores one origin's forecast against what then happened, flagging `k` places.
pub fn score_origin(area: &[usize], forecast: &[f64], test: &[f64], train: &[f64], k: usize) -> OriginScore {
    let a = area.len();
    let k = k.min(a);
    let (n, n_train) = caught(area, forecast, test, train, k);
    let total: f64 = area.iter().map(|c| test[*c]).sum();
    let total_train: f64 = area.iter().map(|c| train[*c]).sum();
    let mut best: Vec<f64> = area.iter().map(|c| test[*c]).collect();
    best.sort_by(|x, y| y.total_cmp(x));
    let n_star: f64 = best.iter().take(k).sum();
    let hit_rate = ratio(n, total);
    OriginScore {
        k,
        hit_rate,
        pai: hit_rate.zip(ratio(k as f64, a as f64)).and_then(|(h, s)| ratio(h, s)),
        pei: ratio(n, n_star),
        rri: ratio(n, n_train).zip(ratio(total, total_train)).and_then(|(x, y)| ratio(x, y)),
    }
}

/// A mean with its interval.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Interval {
    /// The mean over origins.
    pub mean: f64,
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
}

impl Interval {
    /// True when the interval lies wholly above or below zero.
    pub fn excludes_zero(&self) -> bool {
        self.low > 0.0 || self.high < 0.0
    }
}

/// The mean of `values` (one per origin, in time order) with a `level` (e.g. 0.95) percentile
/// interval from `resamples` moving-block bootstrap resamples of circular blocks of `block`
/// consecutive origins, seeded. `None` for no values.
pub fn block_bootstrap(values: &[f64], block: usize, resamples: usize, level: f64, seed: u64) -> Option<Interval> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let block = block.clamp(1, n);
    let mut rng = SplitMix64::seeded(seed);
    let mut means: Vec<f64> = (0..resamples.max(1))
        .map(|_| {
            let mut sum = 0.0;
            let mut taken = 0;
            while taken < n {
                let start = (rng.unit() * n as f64) as usize % n;
                for j in 0..block.min(n - taken) {
                    sum += values[(start + j) % n];
                }
                taken += block.min(n - taken);
            }
            sum / n as f64
        })
        .collect();
    means.sort_by(f64::total_cmp);
    let tail = (1.0 - level.clamp(0.0, 1.0)) / 2.0;
    let at = |q: f64| means[((q * (means.len() - 1) as f64).round() as usize).min(means.len() - 1)];
    Some(Interval { mean, low: at(tail), high: at(1.0 - tail) })
}

/// The block length for `n` origins: `⌈n^(1/3)⌉`, the order that balances a block bootstrap's
/// bias and variance for a mean (Hall, Horowitz & Jing 1995).
pub fn block_length(n: usize) -> usize {
    (libm::ceil(libm::cbrt(n as f64)) as usize).max(1)
}

/// Which method ranks, and why.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Choice {
    /// The method that ranks (the baseline unless another earned it).
    pub method: String,
    /// The confirmed paired difference in PEI over the baseline on the later origins, as a share
    /// of the baseline's mean PEI there (`None` when the baseline stays).
    pub gain: Option<Interval>,
    /// In a sentence, for command.
    pub reason: String,
}

/// Chooses the method that ranks: `baseline` and each candidate's PEI per origin (same origins,
/// time order). The candidate with the best mean difference on the earlier half is confirmed on
/// the later half when the 95% moving-block interval of its paired difference excludes zero and
/// is above it; otherwise the baseline ranks. Origins without a PEI (nothing happened) are left
/// out of both sides.
pub fn choose(baseline: (&str, &[Option<f64>]), candidates: &[(&str, Vec<Option<f64>>)], seed: u64) -> Choice {
    let (base_name, base) = baseline;
    // (baseline, candidate) at the same origins `from..to`, where both have a PEI.
    let paired = |from: usize, to: usize, other: &[Option<f64>]| -> Vec<(f64, f64)> {
        let to = to.min(base.len()).min(other.len());
        let from = from.min(to);
        base[from..to].iter().zip(&other[from..to]).filter_map(|(b, o)| b.zip(*o)).collect()
    };
    let n = base.len();
    let half = n / 2;
    let keep = |reason: String| Choice { method: base_name.to_string(), gain: None, reason };
    if half < 4 {
        return keep(format!("{base_name}: {n} origins are too few to choose on (8 needed)"));
    }
    let mean_diff = |pairs: &[(f64, f64)]| -> Option<f64> {
        (!pairs.is_empty()).then(|| pairs.iter().map(|(b, o)| o - b).sum::<f64>() / pairs.len() as f64)
    };
    let best = candidates
        .iter()
        .filter_map(|(name, pei)| mean_diff(&paired(0, half, pei)).map(|d| (*name, pei, d)))
        .max_by(|a, b| a.2.total_cmp(&b.2));
    let Some((name, pei, earlier)) = best else {
        return keep(format!("{base_name}: no other method was scored"));
    };
    if earlier <= 0.0 {
        return keep(format!("{base_name}: no method beat it on the earlier {half} origins"));
    }
    let later = paired(half, n, pei);
    let diffs: Vec<f64> = later.iter().map(|(b, o)| o - b).collect();
    let base_mean = later.iter().map(|(b, _)| b).sum::<f64>() / later.len().max(1) as f64;
    let Some(ci) = block_bootstrap(&diffs, block_length(diffs.len()), 2_000, 0.95, seed) else {
        return keep(format!("{base_name}: no later origin to confirm {name} on"));
    };
    let pct = |v: f64| if base_mean > 0.0 { 100.0 * v / base_mean } else { f64::NAN };
    if ci.low > 0.0 && base_mean > 0.0 {
        let gain = Interval { mean: pct(ci.mean), low: pct(ci.low), high: pct(ci.high) };
        Choice {
            method: name.to_string(),
            reason: format!(
                "{name}: {:+.0}% PEI over {base_name}, {} later origins, 95% CI {:+.0}% to {:+.0}%",
                gain.mean,
                diffs.len(),
                gain.low,
                gain.high
            ),
            gain: Some(gain),
        }
    } else {
        keep(format!(
            "{base_name}: {name} led on the earlier origins but not on the later {} (95% CI of the PEI difference {:+.3} to {:+.3})",
            diffs.len(),
            ci.low,
            ci.high
        ))
    }
}

/// Seconds in a day.
const DAY: i64 = 86_400;

/// A way of ranking places for the next window, from what came before it.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Method {
    /// Incidents in the trailing `days`.
    Count {
        /// Trailing days.
        days: u32,
    },
    /// Harm in the trailing `days`.
    Harm {
        /// Trailing days.
        days: u32,
    },
    /// Harm over the training window, each incident halved every `half_life_days` of age.
    Decayed {
        /// Half-life, days.
        half_life_days: f64,
    },
    /// Kernel density of harm over the training window.
    Kde {
        /// Bandwidth, metres.
        bandwidth_m: f64,
    },
    /// The self-exciting model ([`crate::sepp`]) fitted on the training window.
    Sepp,
}

impl Method {
    /// The method's name in reports.
    pub fn name(&self) -> String {
        match self {
            Self::Count { days } => format!("count {days} days"),
            Self::Harm { days } => format!("harm {days} days"),
            Self::Decayed { half_life_days } => format!("decayed harm (half-life {half_life_days} days)"),
            Self::Kde { bandwidth_m } => format!("kde {bandwidth_m} m"),
            Self::Sepp => "sepp".into(),
        }
    }

    /// The days of history the method reads before its origin: its own window for the trailing
    /// sums, the plan's training window for the others.
    pub fn history_days(&self, training_days: u32) -> u32 {
        match *self {
            Self::Count { days } | Self::Harm { days } => days,
            Self::Decayed { .. } | Self::Kde { .. } | Self::Sepp => training_days,
        }
    }
}

/// What a backtest runs.
#[derive(Debug, Clone, PartialEq)]
pub struct BacktestPlan {
    /// Each origin: the start of a forecast window (seconds), in time order.
    pub origins: Vec<i64>,
    /// The forecast window's length, seconds (a shift: 8 h; a week).
    pub horizon_s: i64,
    /// Days of history each origin's methods may use (decayed, KDE and the self-exciting fit).
    pub training_days: u32,
    /// Shares of the area, percent.
    pub percents: Vec<f64>,
    /// Score harm (true) or counts (false) in the forecast window.
    pub score_harm: bool,
    /// The cells of the study area.
    pub area: Vec<usize>,
    /// How the self-exciting model is fitted.
    pub sepp: crate::sepp::SeppOptions,
    /// The district of each grid cell (any small numbers; cells outside every district share
    /// one of their own), so each district's background has its own hour-of-week profile: a
    /// nightlife district's harm comes at night while the city's comes by day. Empty: one
    /// profile for the whole grid.
    pub zones: Vec<u16>,
}

/// One method's record over every origin.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MethodRecord {
    /// The method's name.
    pub method: String,
    /// Per share of the area: the mean over origins with its 95% moving-block interval.
    pub at: Vec<ShareRecord>,
    /// Per origin, per share (the paired differences are taken from these).
    #[serde(skip)]
    pub per_origin: Vec<Vec<OriginScore>>,
    /// Origins where the method could not rank and the 365-day count ranked instead, with why.
    pub fallbacks: Vec<Fallback>,
}

/// An origin where a method could not rank, and why (the 365-day count ranked there instead).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Fallback {
    /// The origin, seconds.
    pub origin: i64,
    /// Why, in words.
    pub reason: String,
}

/// A method's record at one share of the area.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct ShareRecord {
    /// Percent of the area.
    pub percent: f64,
    /// Origins with a metric (something happened).
    pub origins: usize,
    /// Hit rate.
    pub hit_rate: Option<Interval>,
    /// PAI.
    pub pai: Option<Interval>,
    /// PEI.
    pub pei: Option<Interval>,
    /// RRI.
    pub rri: Option<Interval>,
}

/// Why a backtest cannot run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BacktestError {
    /// A setting out of range (the message names it and the range).
    #[error("{0}")]
    Invalid(String),
}

fn hour_of_week(t: i64) -> usize {
    // 1970-01-01 was a Thursday; the profile only needs the same hour to recur weekly.
    (t.rem_euclid(7 * DAY) / 3_600) as usize
}

/// The spread (days) of the Gaussian that smooths the city's daily counts into the background's
/// slowly varying level, so that the seasons' swing city-wide is background, not triggering (the
/// rise and fall of single places is what the truncated lag then takes up: see [`crate::sepp`]).
pub const LEVEL_SPREAD_DAYS: f64 = 14.0;

/// The level of each day of `daily` (counts per day): a Gaussian average of `LEVEL_SPREAD_DAYS`
/// over the days of the window only (edge-corrected: each day's weights are divided by their sum
/// within the window), so the last day's level is what the forecast carries forward.
fn smoothed_level(daily: &[f64]) -> Vec<f64> {
    let reach = (4.0 * LEVEL_SPREAD_DAYS) as usize;
    let w: Vec<f64> =
        (0..=reach).map(|k| libm::exp(-((k * k) as f64) / (2.0 * LEVEL_SPREAD_DAYS * LEVEL_SPREAD_DAYS))).collect();
    (0..daily.len())
        .map(|i| {
            let (lo, hi) = (i.saturating_sub(reach), (i + reach).min(daily.len() - 1));
            let (mut sum, mut weight) = (0.0, 0.0);
            for (j, d) in daily.iter().enumerate().take(hi + 1).skip(lo) {
                let k = w[i.abs_diff(j)];
                sum += k * d;
                weight += k;
            }
            sum / weight
        })
        .collect()
}

/// The self-exciting model's forecast for the window at `origin`, fitted on `history` (the
/// training window's events with their cells) from `warm`, which the fit then replaces.
fn sepp_forecast(
    grid: &crate::Grid,
    history: &[(crate::Event, Option<usize>)],
    origin: i64,
    plan: &BacktestPlan,
    warm: &mut Option<crate::sepp::SeppParams>,
) -> Result<Vec<f64>, crate::sepp::SeppError> {
    use crate::sepp::{fit, forecast, ForecastCell, SeppEvent};
    let (n, cell_area) = (grid.len(), grid.size * grid.size);
    let start = origin - i64::from(plan.training_days) * DAY;
    // Background shape in space: the training window's incidents per cell, mixed
    // with 1% uniform so no place is impossible (measured on the Chicago assaults
    // of 2019, 52 weekly origins, PEI at 1%: 0.204 with these counts against 0.183
    // with a 200 m Gaussian density, whose smoothing loses to the plain 365-day
    // count, 0.203, as the KDE method does, 0.164). In time: each district's
    // hour-of-week profile (`plan.zones`) times the city's smoothed daily level,
    // scaled to average 1 over every hour of the window in each district (so the
    // background still integrates to 1 and μ counts background events per day).
    let mut surface = vec![0.0; n];
    for c in history.iter().filter_map(|(_, c)| *c) {
        surface[c] += 1.0;
    }
    let total: f64 = surface.iter().sum();
    let mass: Vec<f64> =
        surface.iter().map(|v| if total > 0.0 { 0.99 * v / total + 0.01 / n as f64 } else { 1.0 / n as f64 }).collect();
    // Each zone (district) its own hour-of-week profile, each bin starting at 1 so an hour
    // with no incident is not impossible; with no zones, one profile counts every event.
    let zone_count = plan.zones.iter().map(|z| usize::from(*z) + 1).max().unwrap_or(1);
    let zone_of = |c: Option<usize>| c.and_then(|c| plan.zones.get(c)).map_or(0, |z| usize::from(*z));
    let mut profile = vec![[1.0f64; 168]; zone_count];
    let days = plan.training_days as usize;
    let day_of = |t: i64| (((t - start) / DAY).max(0) as usize).min(days - 1);
    let mut daily = vec![0.0; days];
    for (e, c) in history {
        // With zones, an event off the grid is in none of them: it counts in the level only.
        if plan.zones.is_empty() || c.is_some() {
            profile[zone_of(*c)][hour_of_week(e.t)] += 1.0;
        }
        daily[day_of(e.t)] += 1.0;
    }
    let level = smoothed_level(&daily);
    let hour_factor = |z: usize, t: i64| profile[z][hour_of_week(t)] * level[day_of(t)];
    let hours_in_window = i64::from(plan.training_days) * 24;
    let mean_factor: Vec<f64> = (0..zone_count)
        .map(|z| (0..hours_in_window).map(|h| hour_factor(z, start + h * 3_600)).sum::<f64>() / hours_in_window as f64)
        .collect();
    let time_factor = |z: usize, t: i64| {
        if mean_factor[z] > 0.0 {
            hour_factor(z, t) / mean_factor[z]
        } else {
            1.0
        }
    };
    let located: Vec<SeppEvent> = history
        .iter()
        .filter_map(|(e, c)| {
            c.map(|c| SeppEvent {
                x: e.x,
                y: e.y,
                t: (e.t - start) as f64 / DAY as f64,
                background: mass[c] / cell_area * time_factor(zone_of(Some(c)), e.t),
            })
        })
        .collect();
    let span = f64::from(plan.training_days);
    let f = fit(&located, span, *warm, &plan.sepp)?;
    *warm = Some(f.params);
    let hours = plan.horizon_s / 3_600;
    // Past the window's end the level stays at its last day's.
    let in_window_profile: Vec<f64> = (0..zone_count)
        .map(|z| {
            let last_level = level[days - 1] / mean_factor[z].max(f64::MIN_POSITIVE);
            (0..hours).map(|h| profile[z][hour_of_week(origin + h * 3_600)] * last_level / 24.0).sum()
        })
        .collect();
    let cells: Vec<ForecastCell> = (0..n)
        .map(|c| {
            let (cx, cy) = grid.centre(c);
            ForecastCell {
                x0: cx - grid.size / 2.0,
                y0: cy - grid.size / 2.0,
                size: grid.size,
                background_mass: mass[c] * in_window_profile[zone_of(Some(c))],
            }
        })
        .collect();
    Ok(forecast(&f.params, &located, span, plan.horizon_s as f64 / 3_600.0, &cells, &plan.sepp))
}

/// What a method ranked with at one origin.
enum Ranked {
    /// Its own forecast.
    Forecast(Vec<f64>),
    /// The 365-day count, because the method could not rank (why, in words).
    FellBack { values: Vec<f64>, reason: String },
}

/// One method's forecast at one origin, per cell: `history` is the training window's events
/// (with their cells), `trailing(days, harm)` the trailing sum per cell.
fn method_forecast(
    m: Method,
    grid: &crate::Grid,
    history: &[(crate::Event, Option<usize>)],
    origin: i64,
    plan: &BacktestPlan,
    warm: &mut Option<crate::sepp::SeppParams>,
    trailing: &dyn Fn(u32, bool) -> Vec<f64>,
) -> Result<Ranked, BacktestError> {
    let n = grid.len();
    Ok(Ranked::Forecast(match m {
        Method::Count { days } => trailing(days, false),
        Method::Harm { days } => trailing(days, true),
        Method::Decayed { half_life_days } => {
            let mut v = vec![0.0; n];
            for (e, c) in history {
                if let Some(c) = c {
                    let age = (origin - e.t) as f64 / DAY as f64;
                    v[*c] += e.harm * libm::exp2(-age / half_life_days);
                }
            }
            v
        }
        Method::Kde { bandwidth_m } => {
            let points: Vec<(f64, f64, f64)> = history.iter().map(|(e, _)| (e.x, e.y, e.harm)).collect();
            crate::kde::kde_at_centres(grid, &points, crate::Kernel::Gaussian, bandwidth_m)
                .map_err(|e| BacktestError::Invalid(e.to_string()))?
        }
        Method::Sepp => match sepp_forecast(grid, history, origin, plan, warm) {
            Ok(values) => values,
            Err(e) => return Ok(Ranked::FellBack { values: trailing(365, false), reason: e.to_string() }),
        },
    }))
}

/// Events with their cells, in time order, and the slice of them in `[from, to)`.
struct Timeline(Vec<(crate::Event, Option<usize>)>);

impl Timeline {
    fn of(grid: &crate::Grid, events: &[crate::Event]) -> Self {
        let mut sorted: Vec<(crate::Event, Option<usize>)> =
            events.iter().map(|e| (*e, grid.cell_of(e.x, e.y))).collect();
        sorted.sort_by_key(|(e, _)| e.t);
        Self(sorted)
    }

    fn window(&self, from: i64, to: i64) -> &[(crate::Event, Option<usize>)] {
        let a = self.0.partition_point(|(e, _)| e.t < from);
        let b = self.0.partition_point(|(e, _)| e.t < to);
        &self.0[a..b]
    }

    /// Each cell's sum over the `days` before `origin`: harm, or 1 per event.
    fn trailing(&self, n: usize, origin: i64, days: u32, harm: bool) -> Vec<f64> {
        let mut v = vec![0.0; n];
        for (e, c) in self.window(origin - i64::from(days) * DAY, origin) {
            if let Some(c) = c {
                v[*c] += if harm { e.harm } else { 1.0 };
            }
        }
        v
    }
}

/// A method's forecast per cell of `grid` for the window `[origin, origin + plan.horizon_s)`,
/// from the events before `origin` (the ranking a department uses live, by the same code the
/// backtest scores). `Err` when the method cannot rank (the self-exciting model's fit refused,
/// with why): the caller says so and ranks by a baseline.
///
/// # Errors
/// [`BacktestError::Invalid`] naming why the method could not rank.
pub fn forecast_at(
    grid: &crate::Grid,
    events: &[crate::Event],
    origin: i64,
    plan: &BacktestPlan,
    method: Method,
) -> Result<Vec<f64>, BacktestError> {
    check_plan(grid, plan)?;
    let timeline = Timeline::of(grid, events);
    let history = timeline.window(origin - i64::from(plan.training_days) * DAY, origin);
    let trailing = |days: u32, harm: bool| timeline.trailing(grid.len(), origin, days, harm);
    match method_forecast(method, grid, history, origin, plan, &mut None, &trailing)? {
        Ranked::Forecast(values) => Ok(values),
        Ranked::FellBack { reason, .. } => Err(BacktestError::Invalid(format!("{}: {reason}", method.name()))),
    }
}

/// What every forecast needs of a plan: a horizon and a training window, and a zone for every
/// cell of the grid when zones are given.
fn check_plan(grid: &crate::Grid, plan: &BacktestPlan) -> Result<(), BacktestError> {
    if plan.horizon_s <= 0 || plan.training_days == 0 {
        return Err(BacktestError::Invalid("the horizon and the training window must be longer than zero".into()));
    }
    if !plan.zones.is_empty() && plan.zones.len() != grid.len() {
        return Err(BacktestError::Invalid(format!(
            "{} zones given for a grid of {} cells: one per cell, or none",
            plan.zones.len(),
            grid.len()
        )));
    }
    Ok(())
}

/// A study area a backtest scores: its cells and the shares of it flagged.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoredArea {
    /// The area's cells (ids of the grid).
    pub cells: Vec<usize>,
    /// Shares of the area, percent.
    pub percents: Vec<f64>,
}

/// Runs every method at every origin: each ranks the area from the events before the origin, and
/// is scored on the events of `[origin, origin + horizon)`. `events` in any order.
///
/// # Errors
/// [`BacktestError::Invalid`] for no origins, a horizon or training window of no length, or an
/// origin out of time order.
pub fn run(
    grid: &crate::Grid,
    events: &[crate::Event],
    plan: &BacktestPlan,
    methods: &[Method],
) -> Result<Vec<MethodRecord>, BacktestError> {
    let area = ScoredArea { cells: plan.area.clone(), percents: plan.percents.clone() };
    Ok(run_areas(grid, events, plan, methods, &[area])?.pop().unwrap_or_default())
}

/// [`run`] scoring several areas from the same forecasts (a city and its districts: each method
/// forecasts the whole grid once per origin, its parameters pooled city-wide, so a district's
/// border cuts nothing). `plan.area` and `plan.percents` are not read: each of `areas` brings
/// its own. One list of records per area, in `areas`' order.
///
/// # Errors
/// As [`run`].
pub fn run_areas(
    grid: &crate::Grid,
    events: &[crate::Event],
    plan: &BacktestPlan,
    methods: &[Method],
    areas: &[ScoredArea],
) -> Result<Vec<Vec<MethodRecord>>, BacktestError> {
    use crate::sepp::SeppParams;
    if plan.origins.is_empty() {
        return Err(BacktestError::Invalid("a backtest needs at least one origin".into()));
    }
    check_plan(grid, plan)?;
    if plan.origins.windows(2).any(|w| w[0] >= w[1]) {
        return Err(BacktestError::Invalid("origins must be in time order".into()));
    }
    let timeline = Timeline::of(grid, events);
    let n = grid.len();
    let mut records: Vec<Vec<MethodRecord>> = areas
        .iter()
        .map(|_| {
            methods
                .iter()
                .map(|m| MethodRecord {
                    method: m.name(),
                    at: Vec::new(),
                    per_origin: Vec::new(),
                    fallbacks: Vec::new(),
                })
                .collect()
        })
        .collect();
    let mut warm: Option<SeppParams> = None;
    for &origin in &plan.origins {
        let measure = |e: &crate::Event| if plan.score_harm { e.harm } else { 1.0 };
        let mut test = vec![0.0; n];
        for (e, c) in timeline.window(origin, origin + plan.horizon_s) {
            if let Some(c) = c {
                test[*c] += measure(e);
            }
        }
        let trailing = |days: u32, harm: bool| timeline.trailing(n, origin, days, harm);
        // RRI's training period: the whole training window before the origin.
        let train = trailing(plan.training_days, plan.score_harm);
        let history = timeline.window(origin - i64::from(plan.training_days) * DAY, origin);
        for (i, m) in methods.iter().enumerate() {
            let (forecast_values, fallback) =
                match method_forecast(*m, grid, history, origin, plan, &mut warm, &trailing)? {
                    Ranked::Forecast(values) => (values, None),
                    Ranked::FellBack { values, reason } => (values, Some(Fallback { origin, reason })),
                };
            for (area, area_records) in areas.iter().zip(records.iter_mut()) {
                let record = &mut area_records[i];
                record.fallbacks.extend(fallback.clone());
                record.per_origin.push(
                    area.percents
                        .iter()
                        .map(|p| {
                            let k = crate::evaluate::flagged_count(*p, area.cells.len());
                            score_origin(&area.cells, &forecast_values, &test, &train, k)
                        })
                        .collect(),
                );
            }
        }
    }
    let block = block_length(plan.origins.len());
    for (area, area_records) in areas.iter().zip(records.iter_mut()) {
        for record in area_records {
            record.at = area
                .percents
                .iter()
                .enumerate()
                .map(|(j, &percent)| {
                    let series = |f: fn(&OriginScore) -> Option<f64>| -> Vec<f64> {
                        record.per_origin.iter().filter_map(|o| f(&o[j])).collect()
                    };
                    let pei = series(|s| s.pei);
                    ShareRecord {
                        percent,
                        origins: pei.len(),
                        hit_rate: block_bootstrap(&series(|s| s.hit_rate), block, 2_000, 0.95, 1),
                        pai: block_bootstrap(&series(|s| s.pai), block, 2_000, 0.95, 2),
                        pei: block_bootstrap(&pei, block, 2_000, 0.95, 3),
                        rri: block_bootstrap(&series(|s| s.rri), block, 2_000, 0.95, 4),
                    }
                })
                .collect();
        }
    }
    Ok(records)
}

/// The ranking chosen by the record at the share `percent_index`: the strongest trailing count
/// (best mean PEI on the earlier half of the origins) is the baseline, and every other method a
/// candidate ([`choose`]).
pub fn choose_from(records: &[MethodRecord], percent_index: usize) -> Option<Choice> {
    let pei = |r: &MethodRecord| -> Vec<Option<f64>> { r.per_origin.iter().map(|o| o[percent_index].pei).collect() };
    let half = records.first()?.per_origin.len() / 2;
    let earlier_mean = |v: &[Option<f64>]| {
        let x: Vec<f64> = v[..half].iter().flatten().copied().collect();
        if x.is_empty() {
            f64::NEG_INFINITY
        } else {
            x.iter().sum::<f64>() / x.len() as f64
        }
    };
    let baseline = records
        .iter()
        .filter(|r| r.method.starts_with("count "))
        .max_by(|a, b| earlier_mean(&pei(a)).total_cmp(&earlier_mean(&pei(b))))?;
    let base = pei(baseline);
    let candidates: Vec<(&str, Vec<Option<f64>>)> =
        records.iter().filter(|r| !r.method.starts_with("count ")).map(|r| (r.method.as_str(), pei(r))).collect();
    Some(choose((&baseline.method, &base), &candidates, 5))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_level_is_edge_corrected_and_follows_a_season() {
        // A constant rate has a constant level, up to the window's edges (no fall-off there).
        for v in smoothed_level(&[3.0; 120]) {
            assert!((v - 3.0).abs() < 1e-12, "{v}");
        }
        // A rise from 2 to 6 a day halfway: the last day's level (what the forecast carries
        // forward) is the new rate's, not the window's mean of 4.
        let daily: Vec<f64> = (0..200).map(|d| if d < 100 { 2.0 } else { 6.0 }).collect();
        let level = smoothed_level(&daily);
        assert!((level[199] - 6.0).abs() < 1e-6 && (level[0] - 2.0).abs() < 1e-6, "{} {}", level[0], level[199]);
        assert!((level[99] - 4.0).abs() < 0.2, "{}", level[99]);
    }

    #[test]
    fn ties_at_the_boundary_share_the_slots_left() {
        // Five places; the forecast ties places 1, 2 and 3 at 1.0 below place 0 at 2.0. Two slots:
        // place 0 whole, and one slot shared by three: each counts 1/3.
        let area = [0, 1, 2, 3, 4];
        let forecast = [2.0, 1.0, 1.0, 1.0, 0.0];
        let test = [4.0, 3.0, 0.0, 6.0, 1.0];
        let train = [1.0, 1.0, 1.0, 1.0, 1.0];
        let (n, n_train) = caught(&area, &forecast, &test, &train, 2);
        assert!((n - (4.0 + (3.0 + 0.0 + 6.0) / 3.0)).abs() < 1e-12, "{n}");
        assert!((n_train - (1.0 + 3.0 / 3.0)).abs() < 1e-12);
        // By hand: N = 14, n = 7, n* = 6 + 4 = 10, k/A = 0.4.
        let s = score_origin(&area, &forecast, &test, &train, 2);
        assert!((s.hit_rate.expect("hit") - 0.5).abs() < 1e-12);
        assert!((s.pai.expect("pai") - 1.25).abs() < 1e-12);
        assert!((s.pei.expect("pei") - 0.7).abs() < 1e-12);
        // RRI = (7/2) / (14/5).
        assert!((s.rri.expect("rri") - 1.25).abs() < 1e-12);
    }

    #[test]
    fn fractional_credit_is_the_mean_over_every_order_of_the_ties() {
        // All 4! orders of four tied places, two flagged: the mean catch equals the credit rule.
        let area = [0, 1, 2, 3];
        let test = [5.0, 1.0, 0.0, 2.0];
        let orders = [
            [0, 1, 2, 3],
            [0, 1, 3, 2],
            [0, 2, 1, 3],
            [0, 2, 3, 1],
            [0, 3, 1, 2],
            [0, 3, 2, 1],
            [1, 0, 2, 3],
            [1, 0, 3, 2],
            [1, 2, 0, 3],
            [1, 2, 3, 0],
            [1, 3, 0, 2],
            [1, 3, 2, 0],
            [2, 0, 1, 3],
            [2, 0, 3, 1],
            [2, 1, 0, 3],
            [2, 1, 3, 0],
            [2, 3, 0, 1],
            [2, 3, 1, 0],
            [3, 0, 1, 2],
            [3, 0, 2, 1],
            [3, 1, 0, 2],
            [3, 1, 2, 0],
            [3, 2, 0, 1],
            [3, 2, 1, 0],
        ];
        let mean = orders.iter().map(|o| test[o[0]] + test[o[1]]).sum::<f64>() / 24.0;
        let (n, _) = caught(&area, &[0.0; 4], &test, &[0.0; 4], 2);
        assert!((n - mean).abs() < 1e-12, "{n} vs {mean}");
        // No ties: the plain top-k.
        assert_eq!(caught(&area, &[4.0, 3.0, 2.0, 1.0], &test, &[0.0; 4], 2).0, 6.0);
    }

    #[test]
    fn nothing_happened_gives_no_metric() {
        let s = score_origin(&[0, 1], &[1.0, 0.0], &[0.0, 0.0], &[0.0, 0.0], 1);
        assert_eq!((s.hit_rate, s.pai, s.pei, s.rri), (None, None, None, None));
    }

    /// An AR(1) series (φ = 0.5) with a known mean: the interval covers it about 95% of the time.
    fn ar1(seed: u64, n: usize, mean: f64, scale: f64) -> Vec<f64> {
        let mut rng = SplitMix64::seeded(seed);
        let mut x = 0.0;
        (0..n)
            .map(|_| {
                x = 0.5 * x + rng.normal_pair().0;
                mean + scale * x
            })
            .collect()
    }

    #[test]
    fn the_block_bootstrap_covers_a_known_mean_of_dependent_origins() {
        let (reps, mut covered) = (300, 0);
        for seed in 0..reps {
            let v = ar1(1_000 + seed, 52, 0.3, 0.1);
            let ci = block_bootstrap(&v, block_length(52), 1_000, 0.95, seed).expect("values");
            assert!(ci.low <= ci.mean && ci.mean <= ci.high);
            covered += usize::from(ci.low <= 0.3 && 0.3 <= ci.high);
        }
        // Stated before running: between 85% and 99% (a percentile block bootstrap undercovers a
        // little at 52 origins; an iid bootstrap here covers about 80%).
        let rate = covered as f64 / reps as f64;
        assert!((0.85..=0.99).contains(&rate), "coverage {rate}");
        assert_eq!(block_length(52), 4);
        assert_eq!(block_bootstrap(&[], 4, 10, 0.95, 1), None);
    }

    #[test]
    fn a_method_replaces_the_baseline_only_when_a_later_interval_confirms_it() {
        let base: Vec<Option<f64>> = ar1(7, 52, 0.40, 0.1).into_iter().map(Some).collect();
        // Truly better by 0.05 PEI at every origin (plus its own noise, 0.035 a origin): chosen,
        // and says why.
        let better: Vec<Option<f64>> = base.iter().zip(ar1(8, 52, 0.05, 0.03)).map(|(b, d)| b.map(|b| b + d)).collect();
        // Equal in truth: noise only.
        let same: Vec<Option<f64>> = base.iter().zip(ar1(9, 52, 0.0, 0.03)).map(|(b, d)| b.map(|b| b + d)).collect();
        let c = choose(("count 365 days", &base), &[("sepp", better.clone()), ("kde", same.clone())], 1);
        assert_eq!(c.method, "sepp", "{}", c.reason);
        let gain = c.gain.expect("gain");
        assert!(gain.low > 0.0 && c.reason.starts_with("sepp: +") && c.reason.contains("95% CI"), "{}", c.reason);
        // Only equals on offer, over many draws: the baseline keeps its place (nearly) always.
        let mut kept = 0;
        for seed in 0..100 {
            let noise: Vec<Option<f64>> =
                base.iter().zip(ar1(500 + seed, 52, 0.0, 0.03)).map(|(b, d)| b.map(|b| b + d)).collect();
            let noise2: Vec<Option<f64>> =
                base.iter().zip(ar1(900 + seed, 52, 0.0, 0.03)).map(|(b, d)| b.map(|b| b + d)).collect();
            let c = choose(("count 365 days", &base), &[("kde", noise), ("decayed", noise2)], seed);
            kept += usize::from(c.method == "count 365 days");
        }
        assert!(kept >= 90, "an equal method replaced the baseline in {} of 100 draws", 100 - kept);
        // Too few origins to choose on.
        let c = choose(("count 365 days", &base[..6]), &[("sepp", better[..6].to_vec())], 1);
        assert_eq!(c.method, "count 365 days");
        assert!(c.reason.contains("too few"), "{}", c.reason);
    }
}
