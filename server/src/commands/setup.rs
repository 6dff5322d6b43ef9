//! `server shift …`, `server rules …`, `server roster …` and `server choose-ranking`: a
//! department's shift patterns, dosage rules, roster and ranking from the command line, with the
//! setup screens' checks (`protocol::setup`, `bodega::roster`) and audit records.

use bodega::setup::SetupError;
use bodega::Bodega;
use protocol::setup::{Days, DosageRules, ShiftPattern};

use super::open_store;
use crate::cli::{RosterCmd, RulesCmd, ShiftArgs, ShiftCmd};
use crate::config::{Common, Serve};

async fn audit(bodega: &Bodega, action: &str, target: &str, ok: bool, detail: String) -> anyhow::Result<()> {
    bodega
        .append_audit(&bodega::audit::AuditRecord {
            actor: "command line".into(),
            action: action.into(),
            target: target.into(),
            outcome: if ok { bodega::audit::Outcome::Success } else { bodega::audit::Outcome::Failure },
            detail,
            ..Default::default()
        })
        .await?;
    Ok(())
}

fn pattern(a: &ShiftArgs) -> anyhow::Result<ShiftPattern> {
    let days = Days::parse(&a.days).map_err(|e| anyhow::anyhow!("days: {e}"))?;
    Ok(ShiftPattern::new(&a.code, &a.name, &a.starts, &a.ends, days))
}

fn refused(e: SetupError) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

/// Runs one `server shift …` command.
///
/// # Errors
/// One clear line naming the field: a bad time, a code taken, a shift missions name.
pub async fn shift(common: &Common, cmd: ShiftCmd) -> anyhow::Result<()> {
    let bodega = open_store(common).await?;
    let result = shift_command(&bodega, cmd).await;
    bodega.close().await;
    result
}

async fn shift_command(bodega: &Bodega, cmd: ShiftCmd) -> anyhow::Result<()> {
    match cmd {
        ShiftCmd::List => {
            let shifts = bodega.shifts().await?;
            if shifts.is_empty() {
                println!(
                    "no shift patterns yet: add one with `server shift add CODE --name … --starts HH:MM --ends HH:MM`"
                );
            }
            for p in &shifts {
                let overlaps: Vec<&str> =
                    shifts.iter().filter(|o| o.code != p.code && p.overlaps(o)).map(|o| o.code.as_str()).collect();
                let note =
                    if overlaps.is_empty() { String::new() } else { format!("\toverlaps {}", overlaps.join(", ")) };
                println!("{}\t{}\t{}{note}", p.code, p.name, p.describe());
            }
        }
        ShiftCmd::Add(a) => {
            let p = pattern(&a)?;
            let target = format!("shift {}", p.code.trim().chars().take(16).collect::<String>());
            let result = bodega.save_shift(None, &p).await;
            let detail = match &result {
                Ok(p) => format!("added: '{}' {}", p.name, p.describe()),
                Err(e) => e.to_string(),
            };
            audit(bodega, "manage_setup", &target, result.is_ok(), detail).await?;
            let p = result.map_err(refused)?;
            println!("shift {} added: {}", p.code, p.describe());
        }
        ShiftCmd::Edit(a) => {
            let p = pattern(&a)?;
            let target = format!("shift {}", p.code.trim().chars().take(16).collect::<String>());
            let was = bodega.shifts().await?.into_iter().find(|s| s.code == p.code.trim());
            let result = bodega.save_shift(Some(p.code.trim()), &p).await;
            let detail = match (&result, &was) {
                (Ok(now), Some(was)) => format!("changed: {} -> {} '{}'", was.describe(), now.describe(), now.name),
                (Ok(now), None) => format!("changed: {}", now.describe()),
                (Err(e), _) => e.to_string(),
            };
            audit(bodega, "manage_setup", &target, result.is_ok(), detail).await?;
            let p = result.map_err(refused)?;
            println!("shift {} changed: {}", p.code, p.describe());
        }
        ShiftCmd::Remove { code } => {
            let result = bodega.remove_shift(&code).await;
            let detail = match &result {
                Ok(()) => "removed".to_string(),
                Err(e) => e.to_string(),
            };
            let target = format!("shift {}", code.chars().take(16).collect::<String>());
            audit(bodega, "manage_setup", &target, result.is_ok(), detail).await?;
            result.map_err(refused)?;
            println!("shift {code} removed");
        }
    }
    Ok(())
}

/// Runs one `server rules …` command.
///
/// # Errors
/// One clear line naming the figure that does not fit.
pub async fn rules(common: &Common, cmd: RulesCmd) -> anyhow::Result<()> {
    let bodega = open_store(common).await?;
    let result = rules_command(&bodega, cmd).await;
    bodega.close().await;
    result
}

fn line(r: &DosageRules) -> String {
    r.summary()
}

async fn rules_command(bodega: &Bodega, cmd: RulesCmd) -> anyhow::Result<()> {
    match cmd {
        RulesCmd::Show => {
            let now = bodega.dosage_rules().await?;
            if now.version == 0 {
                println!("in force: Beatbook's defaults: {}", line(&now.rules));
            }
            for v in bodega.dosage_history().await? {
                let mark = if v.version == now.version { "*" } else { " " };
                let by = if v.set_by.is_empty() { "command line" } else { &v.set_by };
                println!("{mark} version {} (set by {by}): {}", v.version, line(&v.rules));
            }
        }
        RulesCmd::Set {
            koper_min,
            koper_max,
            target,
            cap_visits,
            cap_minutes,
            places,
            violent,
            property,
            quality_of_life,
            calls,
        } => {
            let now = bodega.dosage_rules().await?;
            let r = now.rules;
            let next = DosageRules {
                koper_min_minutes: koper_min.unwrap_or(r.koper_min_minutes),
                koper_max_minutes: koper_max.unwrap_or(r.koper_max_minutes),
                target_visits: target.unwrap_or(r.target_visits),
                cap_visits: cap_visits.unwrap_or(r.cap_visits),
                cap_minutes: cap_minutes.unwrap_or(r.cap_minutes),
                places_per_shift: places.unwrap_or(r.places_per_shift),
                violent_weight_pct: violent.unwrap_or(r.violent_weight_pct),
                property_weight_pct: property.unwrap_or(r.property_weight_pct),
                quality_of_life_weight_pct: quality_of_life.unwrap_or(r.quality_of_life_weight_pct),
                calls_weight_pct: calls.unwrap_or(r.calls_weight_pct),
            };
            let result = bodega.set_dosage_rules(now.version, &next, None).await;
            let detail = match &result {
                Ok(v) => format!("version {} -> {}: {} -> {}", now.version, v.version, line(&r), line(&v.rules)),
                Err(e) => e.to_string(),
            };
            audit(bodega, "change_config", "dosage rules", result.is_ok(), detail).await?;
            let v = result.map_err(refused)?;
            println!("version {} in force: {}", v.version, line(&v.rules));
        }
    }
    Ok(())
}

/// Runs one `server roster …` command.
///
/// # Errors
/// The file unreadable, or every fault of a refused roster by line and column.
pub async fn roster(common: &Common, cmd: RosterCmd) -> anyhow::Result<()> {
    let bodega = open_store(common).await?;
    let result = roster_command(&bodega, cmd).await;
    bodega.close().await;
    result
}

async fn roster_command(bodega: &Bodega, cmd: RosterCmd) -> anyhow::Result<()> {
    match cmd {
        RosterCmd::Import { file } => {
            let bytes = std::fs::read(&file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
            let name: String =
                file.file_name().map(|n| n.to_string_lossy().chars().take(64).collect()).unwrap_or_default();
            let result = bodega.import_roster(&bytes).await;
            let detail = match &result {
                Ok(r) => bodega::roster::describe(r),
                Err(e) => e.to_string(),
            };
            audit(bodega, "manage_setup", &format!("roster {name}"), result.is_ok(), detail.clone()).await?;
            match result {
                Ok(_) => println!("{detail}"),
                Err(bodega::roster::RosterError::Refused(faults)) => {
                    for f in &faults {
                        eprintln!("{f}");
                    }
                    anyhow::bail!("the roster was not imported ({} faults above); nothing was stored", faults.len());
                }
                Err(e) => return Err(e.into()),
            }
        }
        RosterCmd::Squads => {
            for s in bodega.squads().await? {
                println!("{}\tdistrict {}\tsergeant {}\t{}", s.code, s.district, s.sergeant, s.members.join(", "));
            }
        }
    }
    Ok(())
}

/// Runs the shift backtest on the Data Bodega, puts its choice in force and audits it as
/// `actor` (the command line; Beatbook itself when the demo city is loaded).
///
/// # Errors
/// Too little data (the reason named); the database.
pub async fn put_ranking_choice(
    ctx: &app::context::ServerContext,
    with_model: bool,
    actor: &str,
) -> anyhow::Result<app::shift::choice::RankingChoice> {
    use app::shift::choice::ssr::{choose, store, summary};
    let result = match choose(ctx, with_model).await {
        Ok(c) => store(ctx, &c).await.map(|()| c),
        Err(e) => Err(e),
    };
    let (outcome, detail) = match &result {
        Ok(c) => (bodega::audit::Outcome::Success, format!("data through {}: {}", c.data_through, summary(c))),
        Err(e) => (bodega::audit::Outcome::Failure, e.to_string()),
    };
    ctx.bodega
        .append_audit(&bodega::audit::AuditRecord {
            actor: actor.into(),
            action: protocol::Action::ChangeConfig.as_str().into(),
            target: "ranking backtest".into(),
            outcome,
            detail,
            ..Default::default()
        })
        .await?;
    result.map_err(|e| anyhow::anyhow!("{e}"))
}

/// `server choose-ranking`: the shift backtest on the department's data, every area's choice
/// printed and put in force.
///
/// # Errors
/// Too little data; the database.
pub async fn choose_ranking(common: &Common, with_model: bool) -> anyhow::Result<()> {
    let bodega = open_store(common).await?;
    let settings = Serve::from_env()?.settings(common)?;
    let ctx = crate::state::server_context(bodega, &settings);
    let c = put_ranking_choice(&ctx, with_model, "command line").await?;
    println!(
        "{} shifts of {} h to {}, {} days of history each, {}:",
        c.origins, c.horizon_hours, c.data_through, c.training_days, c.harm_table
    );
    for a in &c.areas {
        println!("  {} ({}): {}", a.name, a.code, a.reason);
    }
    Ok(())
}
