//! A self-exciting point process for crime (Mohler, Short, Brantingham, Schoenberg & Tita 2011,
//! "Self-exciting point process modeling of crime", JASA 106(493)): each incident is either
//! *background* or *triggered* by an earlier one (a repeat or near-repeat).
//!
//! The conditional intensity at place `(x, y)` and time `t` (metres, days):
//!
//! ```text
//! λ(x, y, t) = μ · b(x, y, t) + Σ_{t − L ≤ tᵢ < t} θ · f_ω(t − tᵢ) · g_σ(x − xᵢ, y − yᵢ)
//! f_ω(Δt) = ω e^{−ω Δt} / N,   N = 1 − e^{−ω L},   0 < Δt ≤ L
//! g_σ(dx, dy) = exp(−(dx² + dy²) / 2σ²) / (2π σ² Z),   Z = 1 − exp(−R² / 2σ²),   √(dx² + dy²) ≤ R
//! ```
//!
//! - `μ` background events per day; `b` the background's shape, given by the caller (a long-run
//!   surface times a profile in time: [`crate::backtest`] uses the window's incidents per cell, an
//!   hour-of-week profile per district (`BacktestPlan::zones`) and the city's smoothed daily
//!   level) as a density that integrates
//!   to 1 over the area and averages 1 over time, so `μ·T` background events are expected in a
//!   window of `T` days;
//! - `θ` the branching ratio (offspring per event), `ω` the time decay (per day) of an
//!   exponential lag truncated at `L` ([`SeppOptions::max_lag_days`]: triggering is what follows
//!   within `L` days, by definition), `σ` the spatial spread (metres) of a Gaussian truncated at
//!   `R` ([`SeppOptions::max_distance_m`]): pooled over the whole city, so no border cuts it.
//!
//! Fitted by expectation–maximisation (stochastic declustering, Veen & Schoenberg 2008; Mohler
//! et al. 2011 §3): the E-step gives each event the probability that it is background and that it
//! was triggered by each earlier event within `R` and [`SeppOptions::max_lag_days`]; the M-step
//! sets `μ = Σ p_background / T`; `θ = Σ p_ij · N / Σᵢ (1 − e^{−ω uᵢ})`, `uᵢ = min(T − tᵢ, L)`
//! (offspring that had time to appear before the window ends); `ω` maximises
//! `ln ω − ω·D − ln Σᵢ (1 − e^{−ω uᵢ})` with `D = Σ p_ij·Δt / Σ p_ij` (the complete-data
//! likelihood with θ profiled out: `N` cancels), found by bisection of its derivative and kept at
//! or above `0.01/L` (a flat lag over the window; untruncated, this is `ω = 1/D`); and
//! `σ² = Σ p_ij·d² / (2 Σ p_ij)`, σ kept at or above [`SeppOptions::min_sigma_m`] (records
//! geocoded to one point per block would otherwise collapse it). σ's step ignores its truncation,
//! which costs less than `e^{−R²/2σ²}`; a fit where that is not small is refused
//! ([`SeppError::Truncated`]).
//!
//! Why the lag is truncated by definition rather than only for speed: on real records the
//! triggering also takes up the slow, local rise and fall of places that a long-run background
//! cannot follow, and an untruncated exponential then reaches far past any window (measured on the
//! Chicago assaults of 2019, weekly origins, 365 days of training: fitted with a 60-day lag, 9.5%
//! of the fitted exponential lay beyond 60 days; refitted with a 180-day lag, 5.7% beyond 180 —
//! the lag grows with the window). Truncated, the model says what it is used for: what the last
//! `L` days add to the long-run background. A fit whose ω ends at its floor `0.01/L` says the
//! triggering is flat over the lag: recent incidents at the place, not a decaying near-repeat. Every transcendental goes through [`libm`], so the fit and the forecast
//! give the same bits natively and in WebAssembly.

use crate::rng::Draw;

/// One incident as the model sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeppEvent {
    /// Projected metres.
    pub x: f64,
    /// Projected metres.
    pub y: f64,
    /// Days from the start of the fitting window.
    pub t: f64,
    /// The background's shape `b(x, y, t)` here (per m², averaging 1 over time).
    pub background: f64,
}

/// The model's parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeppParams {
    /// Background events per day.
    pub mu: f64,
    /// Branching ratio: events each event triggers, on average (< 1).
    pub theta: f64,
    /// Time decay per day.
    pub omega: f64,
    /// Spatial spread, metres.
    pub sigma: f64,
}

/// How the fit runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeppOptions {
    /// Pairs further apart in time are not considered (days).
    pub max_lag_days: f64,
    /// `R`: the triggering kernel's truncation radius (metres).
    pub max_distance_m: f64,
    /// EM iterations at most.
    pub max_iterations: u32,
    /// Converged when no parameter moves by more than this share in an iteration.
    pub tolerance: f64,
    /// Fewer events than this are refused: the caller falls back to a baseline.
    pub min_events: usize,
    /// The spatial spread never goes below this (metres): records geocoded to a block's centroid
    /// put many incidents at one point, and unbounded, σ collapses onto them (measured: to 0 m on
    /// the Vancouver demo, whose records are hundred-block centroids).
    pub min_sigma_m: f64,
}

impl Default for SeppOptions {
    fn default() -> Self {
        Self {
            max_lag_days: 60.0,
            max_distance_m: 1_000.0,
            max_iterations: 500,
            tolerance: 1e-6,
            min_events: 50,
            min_sigma_m: 10.0,
        }
    }
}

/// A fitted model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeppFit {
    /// The parameters.
    pub params: SeppParams,
    /// EM iterations run.
    pub iterations: u32,
    /// The log-likelihood at `params`.
    pub log_likelihood: f64,
    /// Events fitted.
    pub events: usize,
    /// Expected share of the events that were triggered.
    pub triggered_share: f64,
}

/// Why a model cannot be fitted (the caller ranks by its baseline instead and says why).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SeppError {
    /// Too few events in the window.
    #[error("{events} events in the training window; the self-exciting model needs at least {needed}")]
    TooFewEvents {
        /// Events given.
        events: usize,
        /// Events needed.
        needed: usize,
    },
    /// EM did not settle.
    #[error("the self-exciting model did not converge in {iterations} iterations (last: μ {:.4}/day, θ {:.4}, ω {:.4}/day, σ {:.1} m)", last.mu, last.theta, last.omega, last.sigma)]
    NotConverged {
        /// Iterations run.
        iterations: u32,
        /// Where it stopped.
        last: SeppParams,
    },
    /// The fitted kernel reaches past the truncation, where the M-step's closed forms no longer hold.
    #[error("the fitted triggering reaches past the model's spatial truncation ({0}); widen max_distance_m")]
    Truncated(String),
    /// Input the model cannot use (the message names it).
    #[error("{0}")]
    Invalid(String),
}

/// Candidate parent–child pairs: for each child `j`, the earlier events within the lag and radius.
struct Pairs {
    /// `start[j]..start[j + 1]` index `parent`, `dt`, `d2` for child `j`.
    start: Vec<usize>,
    parent: Vec<usize>,
    dt: Vec<f64>,
    d2: Vec<f64>,
}

fn pairs(events: &[SeppEvent], opts: &SeppOptions) -> Pairs {
    let r2 = opts.max_distance_m * opts.max_distance_m;
    let mut p =
        Pairs { start: Vec::with_capacity(events.len() + 1), parent: Vec::new(), dt: Vec::new(), d2: Vec::new() };
    let mut first = 0;
    for (j, e) in events.iter().enumerate() {
        p.start.push(p.parent.len());
        while first < j && e.t - events[first].t > opts.max_lag_days {
            first += 1;
        }
        for (i, o) in events.iter().enumerate().take(j).skip(first) {
            let dt = e.t - o.t;
            let (dx, dy) = (e.x - o.x, e.y - o.y);
            let d2 = dx * dx + dy * dy;
            if dt > 0.0 && d2 <= r2 {
                p.parent.push(i);
                p.dt.push(dt);
                p.d2.push(d2);
            }
        }
    }
    p.start.push(p.parent.len());
    p
}

/// The triggering kernel `θ·ω·e^{−ω Δt}/N·g_σ(d)` at given parameters: its constant factor and
/// `1 / 2σ²`, so each pair costs one `exp`.
#[derive(Clone, Copy)]
struct Kernel {
    scale: f64,
    omega: f64,
    inv_2s2: f64,
}

impl Kernel {
    fn new(params: &SeppParams, opts: &SeppOptions) -> Self {
        let (r, s2) = (opts.max_distance_m, params.sigma * params.sigma);
        let z = 1.0 - libm::exp(-r * r / (2.0 * s2));
        Self {
            scale: params.theta * params.omega
                / (within(params.omega, opts.max_lag_days) * 2.0 * std::f64::consts::PI * s2 * z),
            omega: params.omega,
            inv_2s2: 1.0 / (2.0 * s2),
        }
    }

    fn at(&self, dt: f64, d2: f64) -> f64 {
        self.scale * libm::exp(-self.omega * dt - d2 * self.inv_2s2)
    }
}

/// `1 − e^{−ω u}`: the share of an exponential lag that falls within `u` days.
fn within(omega: f64, u: f64) -> f64 {
    -libm::expm1(-omega * u)
}

/// Expected offspring of the events that had time to appear before `span_days` ends, per unit θ:
/// `Σᵢ (1 − e^{−ω uᵢ}) / N`, `uᵢ = min(T − tᵢ, L)`.
fn offspring_window(events: &[SeppEvent], omega: f64, span_days: f64, lag: f64) -> f64 {
    events.iter().map(|e| within(omega, (span_days - e.t).min(lag))).sum::<f64>() / within(omega, lag)
}

/// The M-step's `ω` for a mean triggered lag `mean_dt` (see the module's notes): the root of
/// `1/ω − D − Σ uᵢ e^{−ω uᵢ} / Σ (1 − e^{−ω uᵢ})` by bisection of `ln ω` between the floor
/// `0.01/L` and `1/D` (where the derivative is negative), or the floor when it is negative there.
fn omega_step(events: &[SeppEvent], mean_dt: f64, span_days: f64, lag: f64) -> f64 {
    // Every event older than the lag has uᵢ = L: one term for all of them.
    let old = events.iter().take_while(|e| span_days - e.t >= lag).count() as f64;
    let recent: Vec<f64> = events.iter().map(|e| span_days - e.t).filter(|u| *u < lag).collect();
    let slope = |omega: f64| {
        let (mut a, mut da) = (old * within(omega, lag), old * lag * libm::exp(-omega * lag));
        for u in &recent {
            a += within(omega, *u);
            da += u * libm::exp(-omega * u);
        }
        1.0 / omega - mean_dt - da / a
    };
    let floor = 0.01 / lag;
    let (mut lo, mut hi) = (libm::log(floor), libm::log(1.0 / mean_dt));
    if hi <= lo || slope(floor) <= 0.0 {
        return floor;
    }
    for _ in 0..64 {
        let mid = 0.5 * (lo + hi);
        if slope(libm::exp(mid)) > 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    libm::exp(0.5 * (lo + hi))
}

fn check(events: &[SeppEvent], span_days: f64) -> Result<(), SeppError> {
    if !(span_days.is_finite() && span_days > 0.0) {
        return Err(SeppError::Invalid(format!(
            "the training window must be a positive number of days, got {span_days}"
        )));
    }
    for (k, e) in events.iter().enumerate() {
        if !(e.x.is_finite() && e.y.is_finite() && e.t.is_finite() && e.background.is_finite() && e.background > 0.0) {
            return Err(SeppError::Invalid(format!(
                "event {k}: coordinates, time and background must be finite (background > 0)"
            )));
        }
        if !(0.0..=span_days).contains(&e.t) {
            return Err(SeppError::Invalid(format!("event {k}: day {} is outside the window 0–{span_days}", e.t)));
        }
        if k > 0 && e.t < events[k - 1].t {
            return Err(SeppError::Invalid(format!("event {k}: events must be in time order")));
        }
    }
    Ok(())
}

/// The log-likelihood of `events` over `[0, span_days]` under `params`:
/// `Σⱼ ln λ(xⱼ, yⱼ, tⱼ) − μT − θ Σᵢ (1 − e^{−ω uᵢ}) / N`, `uᵢ = min(T − tᵢ, L)` (offspring
/// landing outside the area are not subtracted: the area is taken as large against σ).
///
/// # Errors
/// [`SeppError::Invalid`] for events out of order or outside the window.
pub fn log_likelihood(
    events: &[SeppEvent],
    params: &SeppParams,
    span_days: f64,
    opts: &SeppOptions,
) -> Result<f64, SeppError> {
    check(events, span_days)?;
    let p = pairs(events, opts);
    Ok(log_likelihood_on(events, &p, params, span_days, opts))
}

fn log_likelihood_on(events: &[SeppEvent], p: &Pairs, params: &SeppParams, span_days: f64, opts: &SeppOptions) -> f64 {
    let kernel = Kernel::new(params, opts);
    let mut sum = 0.0;
    for (j, e) in events.iter().enumerate() {
        let mut lambda = params.mu * e.background;
        for k in p.start[j]..p.start[j + 1] {
            lambda += kernel.at(p.dt[k], p.d2[k]);
        }
        sum += libm::log(lambda);
    }
    sum - params.mu * span_days - params.theta * offspring_window(events, params.omega, span_days, opts.max_lag_days)
}

/// Fits the model to `events` (in time order, days from 0 to `span_days`) by EM, starting from
/// `start` (the previous origin's fit, warm) or a neutral guess.
///
/// # Errors
/// [`SeppError::TooFewEvents`] below [`SeppOptions::min_events`]; [`SeppError::NotConverged`]
/// with its iterations; [`SeppError::Truncated`]; [`SeppError::Invalid`] for unusable input.
pub fn fit(
    events: &[SeppEvent],
    span_days: f64,
    start: Option<SeppParams>,
    opts: &SeppOptions,
) -> Result<SeppFit, SeppError> {
    if events.len() < opts.min_events.max(2) {
        return Err(SeppError::TooFewEvents { events: events.len(), needed: opts.min_events.max(2) });
    }
    check(events, span_days)?;
    let p = pairs(events, opts);
    let n = events.len() as f64;
    let mut params = start.unwrap_or(SeppParams {
        mu: 0.5 * n / span_days,
        theta: 0.5,
        omega: 1.0 / (0.1 * opts.max_lag_days),
        sigma: 0.2 * opts.max_distance_m,
    });
    let mut weights = vec![0.0; p.parent.len()];
    for iteration in 1..=opts.max_iterations {
        // E-step.
        let kernel = Kernel::new(&params, opts);
        let mut background = 0.0;
        let (mut trig, mut trig_dt, mut trig_d2) = (0.0, 0.0, 0.0);
        for (j, e) in events.iter().enumerate() {
            let base = params.mu * e.background;
            let mut lambda = base;
            let parents = p.start[j]..p.start[j + 1];
            let (w, dt, d2) = (&mut weights[parents.clone()], &p.dt[parents.clone()], &p.d2[parents]);
            for ((w, dt), d2) in w.iter_mut().zip(dt).zip(d2) {
                *w = kernel.at(*dt, *d2);
                lambda += *w;
            }
            background += base / lambda;
            for ((w, dt), d2) in w.iter().zip(dt).zip(d2) {
                let share = w / lambda;
                trig += share;
                trig_dt += share * dt;
                trig_d2 += share * d2;
            }
        }
        // M-step.
        let next = if trig > 0.0 {
            let omega = omega_step(events, trig_dt / trig, span_days, opts.max_lag_days);
            SeppParams {
                mu: background / span_days,
                theta: trig / offspring_window(events, omega, span_days, opts.max_lag_days),
                omega,
                // The constrained maximum: the likelihood in σ² is unimodal for fixed weights.
                sigma: (trig_d2 / (2.0 * trig)).sqrt().max(opts.min_sigma_m),
            }
        } else {
            SeppParams { mu: background / span_days, theta: 0.0, ..params }
        };
        if !(next.mu.is_finite() && next.theta.is_finite() && next.omega.is_finite() && next.sigma.is_finite())
            || next.sigma <= 0.0
        {
            return Err(SeppError::NotConverged { iterations: iteration, last: params });
        }
        let moved = |a: f64, b: f64| (a - b).abs() / b.abs().max(1e-12);
        let change = moved(next.mu, params.mu)
            .max(moved(next.theta, params.theta).min((next.theta - params.theta).abs()))
            .max(moved(next.omega, params.omega))
            .max(moved(next.sigma, params.sigma));
        params = next;
        if change < opts.tolerance {
            if params.theta > 0.0 {
                let reach_left =
                    libm::exp(-opts.max_distance_m * opts.max_distance_m / (2.0 * params.sigma * params.sigma));
                if reach_left > 0.01 {
                    return Err(SeppError::Truncated(format!(
                        "{:.1}% of the triggering lies beyond {} m",
                        100.0 * reach_left,
                        opts.max_distance_m
                    )));
                }
            }
            let log_likelihood = log_likelihood_on(events, &p, &params, span_days, opts);
            return Ok(SeppFit {
                params,
                iterations: iteration,
                log_likelihood,
                events: events.len(),
                triggered_share: 1.0 - background / n,
            });
        }
    }
    Err(SeppError::NotConverged { iterations: opts.max_iterations, last: params })
}

/// A square cell to forecast: its south-west corner and side (metres), and the background's mass
/// in it over the forecast window (`∫∫∫ b` over the cell and the window, days).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ForecastCell {
    /// West edge, metres.
    pub x0: f64,
    /// South edge, metres.
    pub y0: f64,
    /// Side, metres.
    pub size: f64,
    /// Background mass in the cell over the window.
    pub background_mass: f64,
}

fn normal_cdf(z: f64) -> f64 {
    0.5 * (1.0 + libm::erf(z / std::f64::consts::SQRT_2))
}

/// Expected events in each cell during `[from, from + hours/24)` (days on the fit's clock),
/// given the history (every event before `from`): `μ · background_mass` plus, from each earlier
/// event within the lag, `θ (e^{−ω aᵢ} − e^{−ω min(aᵢ + h, L)}) / N` (`aᵢ = from − tᵢ`) times the
/// share of its spatial kernel on the cell (the Gaussian's mass on the square, divided by `Z`).
pub fn forecast(
    fit: &SeppParams,
    history: &[SeppEvent],
    from: f64,
    hours: f64,
    cells: &[ForecastCell],
    opts: &SeppOptions,
) -> Vec<f64> {
    let h = hours / 24.0;
    let s = fit.sigma;
    let z = 1.0 - libm::exp(-opts.max_distance_m * opts.max_distance_m / (2.0 * s * s));
    let lag = opts.max_lag_days;
    let norm = within(fit.omega, lag);
    let recent: Vec<(&SeppEvent, f64)> = history
        .iter()
        .filter(|e| e.t < from && from - e.t <= lag)
        .map(|e| {
            let a = from - e.t;
            (e, fit.theta * (libm::exp(-fit.omega * a) - libm::exp(-fit.omega * (a + h).min(lag))) / norm)
        })
        .collect();
    cells
        .iter()
        .map(|c| {
            let mut expected = fit.mu * c.background_mass;
            let (cx, cy) = (c.x0 + c.size / 2.0, c.y0 + c.size / 2.0);
            let reach = opts.max_distance_m + c.size;
            for (e, in_time) in &recent {
                if (e.x - cx).abs() > reach || (e.y - cy).abs() > reach {
                    continue;
                }
                let px = normal_cdf((c.x0 + c.size - e.x) / s) - normal_cdf((c.x0 - e.x) / s);
                let py = normal_cdf((c.y0 + c.size - e.y) / s) - normal_cdf((c.y0 - e.y) / s);
                expected += in_time * px * py / z;
            }
            expected
        })
        .collect()
}

/// Simulates the process on a `width × height` metre rectangle over `span_days` with a uniform
/// background (so `background = 1 / (width·height)`), as a branching process: background events
/// uniform in space and time, each event's offspring Poisson(θ), their lags exponential(ω) and
/// displacements Gaussian(σ) per axis. Offspring after the window or outside the rectangle are not
/// observed (as in real data). In time order. The lags are not truncated: this is the fitted
/// model when `e^{−ωL}` is negligible for the fit's `L` (the tests keep `ωL` at 15 or more).
pub fn simulate(params: &SeppParams, width: f64, height: f64, span_days: f64, seed: u64) -> Vec<SeppEvent> {
    let mut rng = crate::rng::SplitMix64::seeded(seed);
    let background = 1.0 / (width * height);
    let mut events: Vec<SeppEvent> = (0..poisson(&mut rng, params.mu * span_days))
        .map(|_| SeppEvent { x: rng.unit() * width, y: rng.unit() * height, t: rng.unit() * span_days, background })
        .collect();
    let mut k = 0;
    while k < events.len() {
        let parent = events[k];
        for _ in 0..poisson(&mut rng, params.theta) {
            let t = parent.t - libm::log(1.0 - rng.unit()) / params.omega;
            let (dx, dy) = rng.normal_pair();
            let (x, y) = (parent.x + params.sigma * dx, parent.y + params.sigma * dy);
            if t <= span_days && (0.0..width).contains(&x) && (0.0..height).contains(&y) {
                events.push(SeppEvent { x, y, t, background });
            }
        }
        k += 1;
    }
    events.sort_by(|a, b| a.t.total_cmp(&b.t));
    events
}

/// A Poisson draw: unit-rate arrivals counted up to `mean` (exact for any mean; O(mean)).
fn poisson(rng: &mut crate::rng::SplitMix64, mean: f64) -> usize {
    let (mut n, mut clock) = (0, 0.0);
    loop {
        clock -= libm::log(1.0 - rng.unit());
        if clock > mean {
            return n;
        }
        n += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    /// Events whose offspring had the whole lag to appear (`T − tᵢ ≥ L` for all).
    fn old_events(n: usize) -> Vec<SeppEvent> {
        vec![SeppEvent { x: 0.0, y: 0.0, t: 0.0, background: 1.0 }; n]
    }

    /// Lags drawn from an exponential of rate `omega` truncated at `lag` (inverse CDF).
    fn truncated_lags(omega: f64, lag: f64, n: usize, seed: u64) -> f64 {
        let mut rng = SplitMix64::seeded(seed);
        let norm = within(omega, lag);
        let sum: f64 = (0..n).map(|_| -libm::log(1.0 - rng.unit() * norm) / omega).sum();
        sum / n as f64
    }

    #[test]
    fn the_lag_step_recovers_a_heavily_truncated_decay_where_one_over_the_mean_does_not() {
        // ω = 0.05/day cut at 30 days: 22% of the untruncated lag would lie beyond the cut.
        let (omega, lag) = (0.05, 30.0);
        let mean = truncated_lags(omega, lag, 20_000, 7);
        let fitted = omega_step(&old_events(100), mean, 1_000.0, lag);
        assert!((fitted / omega - 1.0).abs() < 0.05, "ω {fitted}");
        assert!(1.0 / mean / omega - 1.0 > 0.5, "the untruncated step would be {} (biased up)", 1.0 / mean);
    }

    #[test]
    fn a_flat_lag_over_the_window_gives_the_floor_and_a_short_one_the_untruncated_step() {
        // Lags of mean L/2 or more over [0, L] (uniform, or bunched late): no decay at all, so
        // ω stays at its floor.
        assert_eq!(omega_step(&old_events(10), 15.0, 1_000.0, 30.0), 0.01 / 30.0);
        assert_eq!(omega_step(&old_events(10), 20.0, 1_000.0, 30.0), 0.01 / 30.0);
        // A short mean lag far inside the cut: the root is 1/D to within the cut's e^{−ωL}.
        let fitted = omega_step(&old_events(10), 0.5, 1_000.0, 30.0);
        assert!((fitted - 2.0).abs() < 1e-9, "{fitted}");
    }
}
