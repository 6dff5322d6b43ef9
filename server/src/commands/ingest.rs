//! `server ingest incidents|calls|gps|districts|watch`: files into the Data Bodega with the same
//! idempotent loaders as the analysts' uploads.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use bodega::{Bodega, IngestOptions};
use indicatif::{ProgressBar, ProgressStyle};

use super::open_store;
use crate::cli::Ingest;
use crate::config::Common;

/// Runs one `server ingest …` command.
///
/// # Errors
/// One clear line: the file, the mapping, the database.
pub async fn run(common: &Common, cmd: Ingest) -> anyhow::Result<()> {
    match cmd {
        Ingest::Incidents { file, source, dry_run, preset, mapping } => {
            let mapping = incident_mapping(preset, mapping)?;
            ingest_incidents(common, file, source, dry_run, mapping).await
        }
        Ingest::Districts { file, kind, code_property, name_property } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let bodega = open_store(common).await?;
            let summary = bodega::districts::load_districts(&bodega, &text, &kind, &code_property, &name_property)
                .await
                .with_context(|| format!("{} was not loaded", file.display()))?;
            bodega.close().await;
            println!("{}: loaded {} {kind} polygon(s)", file.display(), summary.loaded);
            Ok(())
        }
        Ingest::Watch { dir, kind, source, preset, mapping, interval_secs, once } => {
            let mapping = incident_mapping(preset, mapping)?;
            watch_folder(common, &dir, &kind, source, mapping, interval_secs, once).await
        }
        Ingest::Calls { file, source, dry_run } => {
            let (reader, bodega, opts) = prepare_ingest(common, &file, source, dry_run, None).await?;
            let s = bodega::calls::ingest_calls_csv(&bodega, reader, &opts)
                .await
                .with_context(|| format!("{} was not loaded", file.display()))?;
            println!(
                "{}{}: read {}, loaded {}, updated {}, unchanged {}, rejected {}; batch {}",
                dry_run_prefix(dry_run),
                file.display(),
                s.read,
                s.loaded,
                s.updated,
                s.unchanged,
                s.rejected,
                s.batch_id
            );
            finish_ingest(&bodega, s.batch_id, dry_run).await
        }
        Ingest::Gps { file, source, dry_run } => {
            let (reader, bodega, opts) = prepare_ingest(common, &file, source, dry_run, None).await?;
            let s = bodega::gps::ingest_gps_csv(&bodega, reader, &opts)
                .await
                .with_context(|| format!("{} was not loaded", file.display()))?;
            println!(
                "{}{}: read {}, loaded {}, already stored {}, rejected {}; batch {}",
                dry_run_prefix(dry_run),
                file.display(),
                s.read,
                s.loaded,
                s.unchanged,
                s.rejected,
                s.batch_id
            );
            finish_ingest(&bodega, s.batch_id, dry_run).await
        }
    }
}

async fn ingest_incidents(
    common: &Common,
    file: PathBuf,
    source: String,
    dry_run: bool,
    mapping: Option<bodega::mapping::Mapping>,
) -> anyhow::Result<()> {
    let (reader, bodega, opts) = prepare_ingest(common, &file, source, dry_run, mapping).await?;
    let size = reader.get_ref().metadata().map(|m| m.len()).unwrap_or(0);
    let bar = ProgressBar::new(size);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {bytes}/{total_bytes} [{bar:30}] {bytes_per_sec} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let reader = bar.wrap_read(reader);
    let summary = bodega::ingest::ingest_incidents_csv(&bodega, reader, &opts)
        .await
        .with_context(|| format!("{} was not loaded", file.display()))?;
    bar.finish_and_clear();
    println!(
        "{}{}: read {}, loaded {}, updated {}, unchanged {}, rejected {} (without location {}, location flagged {}, DST-flagged {}); batch {}",
        dry_run_prefix(dry_run),
        file.display(),
        summary.read,
        summary.loaded,
        summary.updated,
        summary.unchanged,
        summary.rejected,
        summary.without_location,
        summary.geo_flagged,
        summary.time_flagged,
        summary.batch_id
    );
    finish_ingest(&bodega, summary.batch_id, dry_run).await
}

/// The column mapping a preset name or a mapping file gives (none: the canonical file).
fn incident_mapping(
    preset: Option<String>,
    mapping: Option<PathBuf>,
) -> anyhow::Result<Option<bodega::mapping::Mapping>> {
    Ok(match (preset, mapping) {
        (Some(name), _) => Some(bodega::mapping::Mapping::preset(&name).ok_or_else(|| {
            anyhow::anyhow!("no preset '{name}'; the presets are {}", bodega::mapping::Mapping::PRESETS.join(", "))
        })?),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read the mapping {}", path.display()))?;
            Some(bodega::mapping::Mapping::from_toml(&text)?)
        }
        (None, None) => None,
    })
}

/// Loads one dropped file; the line it prints says what happened (or why not).
async fn land_file(
    bodega: &Bodega,
    kind: &str,
    path: &std::path::Path,
    opts: &IngestOptions,
) -> anyhow::Result<String> {
    let file = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let reader = std::io::BufReader::with_capacity(1 << 20, file);
    let name = path.display();
    Ok(match kind {
        "calls" => {
            let s = bodega::calls::ingest_calls_csv(bodega, reader, opts).await?;
            format!(
                "{name}: calls read {}, loaded {}, updated {}, unchanged {}, rejected {}",
                s.read, s.loaded, s.updated, s.unchanged, s.rejected
            )
        }
        "gps" => {
            let s = bodega::gps::ingest_gps_csv(bodega, reader, opts).await?;
            format!(
                "{name}: fixes read {}, loaded {}, already stored {}, rejected {}",
                s.read, s.loaded, s.unchanged, s.rejected
            )
        }
        _ => {
            let s = bodega::ingest::ingest_incidents_csv(bodega, reader, opts).await?;
            format!(
                "{name}: incidents read {}, loaded {}, updated {}, unchanged {}, rejected {}",
                s.read, s.loaded, s.updated, s.unchanged, s.rejected
            )
        }
    })
}

/// `ingest watch`: scan, load what settled, sleep; until stopped (or once).
async fn watch_folder(
    common: &Common,
    dir: &std::path::Path,
    kind: &str,
    source: Option<String>,
    mapping: Option<bodega::mapping::Mapping>,
    interval_secs: u64,
    once: bool,
) -> anyhow::Result<()> {
    if !dir.is_dir() {
        anyhow::bail!("{} is not a folder", dir.display());
    }
    let bodega = open_store(common).await?;
    let source = source.unwrap_or_else(|| match kind {
        "calls" => "cad".into(),
        "gps" => "avl".into(),
        _ => "rms".into(),
    });
    let mut scanner = crate::watch::Scanner::default();
    let interval = Duration::from_secs(interval_secs.max(1));
    if !once {
        println!("watching {} for {kind} exports every {} s (Ctrl-C stops)", dir.display(), interval.as_secs());
    }
    loop {
        let ready = scanner.ready(dir, "csv", once).with_context(|| format!("cannot read {}", dir.display()))?;
        for path in ready {
            let opts = IngestOptions {
                source: source.clone(),
                file_name: path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
                time_zone: common.time_zone.clone(),
                dry_run: false,
                mapping: mapping.clone(),
            };
            match land_file(&bodega, kind, &path, &opts).await {
                Ok(line) => {
                    println!("{line}");
                    scanner.mark_loaded(&path);
                }
                // A file that cannot be loaded is reported and tried again when it changes.
                Err(e) => {
                    eprintln!("{}: not loaded: {e:#}", path.display());
                    scanner.mark_loaded(&path);
                }
            }
        }
        if once {
            break;
        }
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    bodega.close().await;
    Ok(())
}

/// What every ingest needs: the file (buffered), the store, and the options.
async fn prepare_ingest(
    common: &Common,
    file: &std::path::Path,
    source: String,
    dry_run: bool,
    mapping: Option<bodega::mapping::Mapping>,
) -> anyhow::Result<(std::io::BufReader<std::fs::File>, Bodega, IngestOptions)> {
    let handle = std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let bodega = open_store(common).await?;
    let opts = IngestOptions {
        source,
        file_name: file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        time_zone: common.time_zone.clone(),
        dry_run,
        mapping,
    };
    Ok((std::io::BufReader::with_capacity(1 << 20, handle), bodega, opts))
}

/// Lists the first 20 rows a committed batch rejected, then closes the store.
async fn finish_ingest(bodega: &Bodega, batch_id: i64, dry_run: bool) -> anyhow::Result<()> {
    if !dry_run {
        for (line, field, reason) in bodega.rejected_rows(batch_id).await?.iter().take(20) {
            println!("  line {line}: {field}: {reason}");
        }
    }
    bodega.close().await;
    Ok(())
}

fn dry_run_prefix(dry_run: bool) -> &'static str {
    if dry_run {
        "dry run, nothing stored — "
    } else {
        ""
    }
}
