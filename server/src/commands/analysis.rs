//! `server hotspots` and `server evaluate`: the analysts' one-file analyses (no database).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;

use crate::cli::{AnalysisInput, EvaluateArgs, HotspotsArgs, KernelArg, MeasureArg, RankArg};

/// Reads and weighs the incident file, reporting what it could not use on stderr.
fn load_analysis_input(
    input: &AnalysisInput,
) -> anyhow::Result<(crate::analysis::Incidents, hotspot::Grid, hotspot::ScoreParams)> {
    use crate::analysis::{analysis_grid, read_incidents, read_weight_table, score_params};
    let table = match input.weights.as_str() {
        "count" => hotspot::HarmTable::count(),
        // The Cambridge index's custody-days table is not shipped (docs/ARCHITECTURE.md, "Harm
        // weights"): say so rather than report a missing file called `chi`.
        chi if chi.eq_ignore_ascii_case("chi") && !std::path::Path::new(chi).exists() => anyhow::bail!(
            "--weights chi: Beatbook ships no Cambridge Crime Harm Index table (its custody-days \
             weights are the Cambridge Institute of Criminology's spreadsheet, not included); load \
             those weights as a CSV file with columns offense,weight and pass its path, or use \
             --weights count"
        ),
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
