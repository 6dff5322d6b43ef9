//! `server weights load|list|use`: the harm weight tables and the one in force.

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
    }
    bodega.close().await;
    Ok(())
}
