//! `server hotspots` and `server evaluate`: the analysts' one-file analyses (no database).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;

use crate::cli::{
    AnalysisInput, BacktestArgs, BacktestFormat, EvaluateArgs, HorizonArg, HotspotsArgs, KernelArg, MeasureArg,
    MethodArg, RankArg,
};

/// Reads and weighs the incident file, reporting what it could not use on stderr.
fn load_analysis_input(
    input: &AnalysisInput,
) -> anyhow::Result<(crate::analysis::Incidents, hotspot::Grid, hotspot::ScoreParams)> {
    use crate::analysis::{analysis_grid, read_incidents, read_weight_table, score_params};
    let shipped = |(name, version): (&str, &str)| {
        let rows = bodega::harm::shipped_table(name).into_iter().map(|(o, w, _)| (o, w));
        hotspot::HarmTable::new(name, format!("{name}@{version}"), rows)
            .map_err(|e| anyhow::anyhow!("the shipped table {name}@{version}: {e}"))
    };
    let table = match input.weights.as_str() {
        "count" => hotspot::HarmTable::count(),
        // The shipped Cambridge Crime Harm Index 2020 (docs/HARM.md), unless a file of that name
        // is meant.
        w if !std::path::Path::new(w).exists() && ["cchi", "chi", "cchi@2020"].contains(&w) => {
            shipped(bodega::harm::DEFAULT_TABLE)?
        }
        w if !std::path::Path::new(w).exists() && ["cchi-all", "cchi-all@2020"].contains(&w) => {
            shipped(bodega::harm::WITH_DISCOVERED_TABLE)?
        }
        path => {
            let bytes = std::fs::read(path).with_context(|| format!("cannot read the weight table {path}"))?;
            let name = PathBuf::from(path).file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            read_weight_table(&name, &bytes)?
        }
    };
    let params = score_params(
        match input.kernel {
            KernelArg::Gaussian => hotspot::Kernel::Gaussian,
            KernelArg::Quartic => hotspot::Kernel::Quartic,
        },
        input.bandwidth,
        input.half_life,
        match input.measure {
            MeasureArg::Count => hotspot::Measure::Count,
            MeasureArg::Harm => hotspot::Measure::Harm,
        },
    )?;
    let file =
        std::fs::File::open(&input.incidents).with_context(|| format!("cannot open {}", input.incidents.display()))?;
    let incidents = read_incidents(std::io::BufReader::new(file), &table, input.epsg, input.strict)
        .with_context(|| format!("{} cannot be analysed", input.incidents.display()))?;
    let grid = analysis_grid(&incidents, input.cell_size)?;
    eprintln!(
        "{}: {} rows, {} located, {} without coordinates (counted, not mapped), {} rejected; {}, {} × {} cells of {} m; weights {}",
        input.incidents.display(),
        incidents.rows,
        incidents.events.len(),
        incidents.unlocated,
        incidents.rejected.len(),
        incidents.epsg,
        grid.ncols,
        grid.nrows,
        grid.size,
        incidents.weights_version
    );
    for r in incidents.rejected.iter().take(20) {
        eprintln!("  skipped line {}: {}: {}", r.line, r.field, r.reason);
    }
    if incidents.rejected.len() > 20 {
        eprintln!("  … and {} more skipped rows", incidents.rejected.len() - 20);
    }
    for (offense, n) in &incidents.unmapped {
        eprintln!("  no weight for '{offense}' ({n} rows): 0 in harm, still counted");
    }
    Ok((incidents, grid, params))
}

fn output(path: Option<&PathBuf>) -> anyhow::Result<Box<dyn std::io::Write>> {
    Ok(match path {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    })
}

/// `server hotspots`: one row per cell (or street segment) of a file's incidents.
///
/// # Errors
/// One clear line: the file, a flag out of range.
pub fn hotspots(args: HotspotsArgs) -> anyhow::Result<()> {
    let window = crate::analysis::parse_window(args.from.as_deref(), args.to.as_deref())?;
    if args.segments.is_some() && !(args.snap_m.is_finite() && args.snap_m > 0.0) {
        anyhow::bail!("{}", hotspot::SegmentError::BadTolerance(args.snap_m));
    }
    let streets = match &args.segments {
        Some(path) => {
            let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            Some((path, crate::analysis::read_network(&bytes)?))
        }
        None => None,
    };
    let (incidents, grid, params) = load_analysis_input(&args.input)?;
    if let Some((path, segments)) = streets {
        let network = crate::analysis::project_network(segments, incidents.epsg)?;
        let scores = hotspot::score_segments(&network, &incidents.events, window, args.snap_m, params.measure)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        eprintln!(
            "{}: {} street segments; {} incidents in the window snapped, {} farther than {} m from every segment (not scored)",
            path.display(),
            network.len(),
            scores.snapped,
            scores.unsnapped,
            args.snap_m
        );
        let mut out = output(args.out.as_ref())?;
        crate::analysis::write_segments(&mut out, args.format, &network, &scores, &incidents, args.snap_m)?;
        out.flush()?;
        return Ok(());
    }
    let scores = hotspot::score(&grid, &incidents.events, window, &params).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut out = output(args.out.as_ref())?;
    crate::analysis::write_hotspots(&mut out, args.format, &grid, &scores, &incidents, &params)?;
    out.flush()?;
    Ok(())
}

/// `server evaluate`: how well a ranking on the training window predicted the test window.
///
/// # Errors
/// One clear line: the file, a window, a flag out of range.
pub fn evaluate(args: EvaluateArgs) -> anyhow::Result<()> {
    let train = crate::analysis::parse_window(Some(&args.train[0]), Some(&args.train[1]))?;
    let test = crate::analysis::parse_window(Some(&args.test[0]), Some(&args.test[1]))?;
    if let Some(p) = args.top.iter().find(|p| !(p.is_finite() && **p > 0.0 && **p <= 100.0)) {
        anyhow::bail!("--top takes percentages above 0 and at most 100, got {p}");
    }
    let (incidents, grid, params) = load_analysis_input(&args.input)?;
    let rank_by = match args.rank_by {
        RankArg::Count => hotspot::RankBy::Count,
        RankArg::Harm => hotspot::RankBy::Harm,
        RankArg::Kde => hotspot::RankBy::Kde,
        RankArg::Gi => hotspot::RankBy::Gi,
        RankArg::Decayed => hotspot::RankBy::Decayed,
    };
    let plan = crate::analysis::EvaluationPlan { train, test, rank_by, area: args.area, percents: args.top };
    let report = crate::analysis::run_evaluation(&grid, &incidents, &plan, &params)?;
    let mut out = output(args.out.as_ref())?;
    serde_json::to_writer_pretty(&mut out, &report)?;
    writeln!(out)?;
    out.flush()?;
    Ok(())
}

/// The `backtest` report.
#[derive(Debug, serde::Serialize)]
struct BacktestReport {
    file: String,
    weights: String,
    /// `harm` or `count`: what each window is scored on.
    scored: &'static str,
    horizon_hours: i64,
    origins: usize,
    first_window_starts: String,
    last_window_ends: String,
    training_days: u32,
    cell_size_m: f64,
    area_cells: usize,
    tie_rule: &'static str,
    intervals: &'static str,
    methods: Vec<hotspot::backtest::MethodRecord>,
    /// Per share of the area: which method should rank, and why.
    choice: Vec<(f64, Option<hotspot::backtest::Choice>)>,
}

fn local(t: i64) -> String {
    jiff::Timestamp::from_second(t)
        .map(|s| s.to_zoned(jiff::tz::TimeZone::UTC).datetime().to_string())
        .unwrap_or_default()
}

/// `server backtest`: every method at each of the last N shifts or weeks, scored on what followed.
///
/// # Errors
/// One clear line: the file, a flag out of range.
pub fn backtest(args: BacktestArgs) -> anyhow::Result<()> {
    use hotspot::backtest::{choose_from, run, BacktestPlan, Method};
    if !(1..=520).contains(&args.origins) {
        anyhow::bail!("--origins must be 1 to 520 windows, got {}", args.origins);
    }
    if !(28..=3650).contains(&args.training_days) {
        anyhow::bail!("--training-days must be 28 to 3650, got {}", args.training_days);
    }
    if let Some(p) = args.top.iter().find(|p| !(p.is_finite() && **p > 0.0 && **p <= 100.0)) {
        anyhow::bail!("--top takes percentages above 0 and at most 100, got {p}");
    }
    if !(args.sepp_max_lag_days >= 1.0 && args.sepp_max_lag_days <= f64::from(args.training_days)) {
        anyhow::bail!(
            "--sepp-max-lag-days must be 1 to the training window ({} days), got {}",
            args.training_days,
            args.sepp_max_lag_days
        );
    }
    if !(50.0..=10_000.0).contains(&args.sepp_reach_m) {
        anyhow::bail!("--sepp-reach-m must be 50 to 10000 metres, got {}", args.sepp_reach_m);
    }
    let until = args.until.as_deref().map(crate::analysis::parse_when).transpose()?;
    let (incidents, grid, params) = load_analysis_input(&args.input)?;
    let last = incidents.events.iter().map(|e| e.t).max().context("no located incident to backtest on")?;
    const DAY: i64 = 86_400;
    let until = until.unwrap_or((last.div_euclid(DAY) + 1) * DAY);
    let horizon_s = match args.horizon {
        HorizonArg::Shift => 8 * 3_600,
        HorizonArg::Week => 7 * DAY,
    };
    let n = i64::from(args.origins);
    let origins: Vec<i64> = (1..=n).rev().map(|k| until - k * horizon_s).collect();
    let mut methods: Vec<Method> = [28, 90, 365].map(|days| Method::Count { days }).to_vec();
    for m in &args.methods {
        match m {
            MethodArg::Count => {}
            MethodArg::Harm => methods.extend([28, 90, 365].map(|days| Method::Harm { days })),
            MethodArg::Decayed => methods.push(Method::Decayed { half_life_days: params.half_life_days }),
            MethodArg::Kde => methods.push(Method::Kde { bandwidth_m: params.bandwidth_m }),
            MethodArg::Sepp => methods.push(Method::Sepp),
        }
    }
    methods.dedup();
    let area = crate::analysis::study_area(&grid, &incidents.events, args.area);
    let plan = BacktestPlan {
        origins,
        horizon_s,
        training_days: args.training_days,
        percents: args.top.clone(),
        score_harm: matches!(args.score, MeasureArg::Harm),
        area,
        sepp: hotspot::sepp::SeppOptions {
            max_lag_days: args.sepp_max_lag_days,
            max_distance_m: args.sepp_reach_m,
            ..hotspot::sepp::SeppOptions::default()
        },
        // An incident file names no district outlines: one time profile for the whole box.
        zones: Vec::new(),
    };
    let records = run(&grid, &incidents.events, &plan, &methods).map_err(|e| anyhow::anyhow!("{e}"))?;
    for r in &records {
        for f in r.fallbacks.iter().take(5) {
            eprintln!("  {}: window from {}: {}; ranked by count 365 days", r.method, local(f.origin), f.reason);
        }
        if r.fallbacks.len() > 5 {
            eprintln!("  {}: … and {} more origins fell back", r.method, r.fallbacks.len() - 5);
        }
    }
    let choice = (0..args.top.len()).map(|j| (args.top[j], choose_from(&records, j))).collect();
    let report = BacktestReport {
        file: args.input.incidents.display().to_string(),
        weights: incidents.weights_version.clone(),
        scored: if plan.score_harm { "harm" } else { "count" },
        horizon_hours: horizon_s / 3_600,
        origins: plan.origins.len(),
        first_window_starts: local(plan.origins[0]),
        last_window_ends: local(until),
        training_days: args.training_days,
        cell_size_m: grid.size,
        area_cells: plan.area.len(),
        tie_rule: "fractional credit: places tied at the k-th place's value share the slots left (the mean over every order of the ties)",
        intervals: "95% moving-block bootstrap over origins (blocks of ⌈origins^(1/3)⌉, 2,000 resamples)",
        methods: records,
        choice,
    };
    let mut out = output(args.out.as_ref())?;
    match args.format {
        BacktestFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        }
        BacktestFormat::Csv => {
            writeln!(out, "method,percent,metric,mean,low,high,origins")?;
            for r in &report.methods {
                for s in &r.at {
                    for (metric, v) in [("hit_rate", s.hit_rate), ("pai", s.pai), ("pei", s.pei), ("rri", s.rri)] {
                        let (mean, low, high) = v.map_or((String::new(), String::new(), String::new()), |i| {
                            (format!("{:.6}", i.mean), format!("{:.6}", i.low), format!("{:.6}", i.high))
                        });
                        writeln!(out, "\"{}\",{},{metric},{mean},{low},{high},{}", r.method, s.percent, s.origins)?;
                    }
                }
            }
        }
    }
    out.flush()?;
    Ok(())
}
