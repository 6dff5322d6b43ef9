//! `server snapshot`: the Chief's Daily Snapshot for a date, written as HTML, PDF or CSV, from
//! the same settings the server runs with (the environment's `BEATBOOK_*`).

use std::path::Path;

use anyhow::Context;

use super::open_store;
use crate::config::{Common, Serve};

/// Writes the snapshot for `date` (empty: the newest day with data) to `out`.
///
/// # Errors
/// An output name that is not .html, .pdf or .csv; a bad date; the database; the file.
pub async fn write(common: &Common, date: &str, out: &Path) -> anyhow::Result<()> {
    let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let Some((_, format)) = crate::snapshot::Format::from_name(&name) else {
        anyhow::bail!("{}: the output must end in .html, .pdf or .csv", out.display());
    };
    let bodega = open_store(common).await?;
    // What the server would render: its settings from the same environment.
    let settings = Serve::from_env()?.settings(common)?;
    let ctx = crate::state::server_context(bodega, &settings);
    let snapshot = app::snapshot::ssr::snapshot(&ctx, date).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let bytes = match format {
        crate::snapshot::Format::Csv => crate::snapshot::to_csv(&snapshot).into_bytes(),
        crate::snapshot::Format::Pdf => crate::snapshot::to_pdf(&snapshot),
        crate::snapshot::Format::Html => app::snapshot::page::standalone_html(&snapshot).into_bytes(),
    };
    std::fs::write(out, &bytes).with_context(|| format!("cannot write {}", out.display()))?;
    println!("{}: snapshot for {} ({} bytes)", out.display(), snapshot.date, bytes.len());
    Ok(())
}
