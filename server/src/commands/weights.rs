//! `server weights load|list|use|calls`: the harm weight tables, the one in force, and the weights of
//! calls for service.

use anyhow::Context;

use super::open_store;
use crate::cli::WeightsCmd;
use crate::config::Common;

/// `server weights …`: load, list and choose harm weight tables; a change of the table in force
/// is audited (every score after it says the new table).
pub async fn run(common: &Common, cmd: WeightsCmd) -> anyhow::Result<()> {
    let bodega = open_store(common).await?;
    let activate = |name: String, version: String| {
        let bodega = bodega.clone();
        async move {
            let before = bodega.activate_harm_table(&name, &version).await?;
            let now = bodega.active_harm_table().await?.version().to_string();
            bodega
                .append_audit(&bodega::audit::AuditRecord {
                    actor: "command line".into(),
                    action: "harm_table".into(),
                    target: now.clone(),
                    outcome: bodega::audit::Outcome::Success,
                    detail: format!("harm table in force: {before} -> {now}"),
                    ..Default::default()
                })
                .await?;
            println!("harm table in force: {now} (was {before})");
            anyhow::Ok(())
        }
    };
    match cmd {
        WeightsCmd::Load { file, name, table_version: version, activate: and_activate } => {
            let bytes = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let rows = crate::analysis::read_weight_rows(&name, &bytes)?;
            let added = bodega.load_harm_table(&name, &version, &rows).await?;
            println!(
                "harm table {name}@{version}: {} offences {}",
                rows.len(),
                if added { "loaded" } else { "already loaded, unchanged" }
            );
            if and_activate {
                activate(name, version).await?;
            }
        }
        WeightsCmd::List => {
            let tables = bodega.harm_tables().await?;
            let active = bodega.active_harm_table().await?.version().to_string();
            println!("{} count@1 (every offence weighs 1, built in)", if active == "count@1" { "*" } else { " " });
            for t in tables {
                println!("{} {}@{} ({} offences)", if t.active { "*" } else { " " }, t.name, t.version, t.offenses);
            }
        }
        WeightsCmd::Use { name, table_version } => activate(name, table_version).await?,
        WeightsCmd::Calls { file: Some(file) } => {
            let bytes = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let rows = bodega::call_weights::read_call_weights(&bytes)?;
            let before = bodega.replace_call_weights(&rows).await?;
            bodega
                .append_audit(&bodega::audit::AuditRecord {
                    actor: "command line".into(),
                    action: "call_weights".into(),
                    target: file.display().to_string(),
                    outcome: bodega::audit::Outcome::Success,
                    detail: format!("call weight table replaced: {before} rows -> {}", rows.len()),
                    ..Default::default()
                })
                .await?;
            println!("call weights: {} rows in force (was {before})", rows.len());
            print_unweighed(&bodega).await?;
        }
        WeightsCmd::Calls { file: None } => {
            let rows = bodega.call_weights().await?;
            if rows.is_empty() {
                println!("no call weight table is loaded: the calls track cannot be turned on");
            }
            for r in rows {
                let priority = if r.priority.is_empty() { "any" } else { r.priority.as_str() };
                println!("{} | priority {priority} | {} days | {}", r.call_type, r.weight, r.note);
            }
            let on = bodega.dosage_rules().await?.rules.calls_weight_pct;
            println!("calls track: {}", if on > 0 { format!("on, ×{}", on as f64 / 100.0) } else { "off".into() });
            print_unweighed(&bodega).await?;
        }
    }
    bodega.close().await;
    Ok(())
}

/// The call types in the Data Bodega the table does not weigh: they add nothing to the ranking.
async fn print_unweighed(bodega: &bodega::Bodega) -> anyhow::Result<()> {
    let missing = bodega.unweighed_call_types().await?;
    if !missing.is_empty() {
        println!("call types with no weight (they add nothing when the track is on):");
        for (t, n) in missing {
            println!("  {t} ({n} calls)");
        }
    }
    Ok(())
}
