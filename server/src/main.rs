//! `server` — run Beatbook, or work on its Data Bodega from the command line. This file parses
//! the command line and dispatches; each command family lives in `server::commands`.
//!
//! Every failure ends with one line on stderr (`beatbook: …`) and a non-zero exit, never a panic
//! or a backtrace: a department's IT lead should see at once what to fix.

use std::process::ExitCode;

use clap::Parser;
use server::cli::{Cli, Command};
use server::commands;
use server::config::Serve;

async fn run(cli: Cli) -> anyhow::Result<()> {
    commands::init_tracing(&cli.common)?;
    let common = cli.common;
    match cli.command {
        None => commands::serve::serve(common, Serve::from_env()?).await,
        Some(Command::Serve(args)) => commands::serve::serve(common, args).await,
        Some(Command::Migrate) => commands::serve::migrate(&common).await,
        Some(Command::SeedDemo) => commands::serve::seed_demo(&common).await,
        Some(Command::Ingest(cmd)) => commands::ingest::run(&common, cmd).await,
        Some(Command::User(cmd)) => commands::accounts::user(&common, cmd).await,
        Some(Command::Device(cmd)) => commands::accounts::device(&common, cmd).await,
        Some(Command::Snapshot { date, out }) => commands::snapshot::write(&common, &date, &out).await,
        Some(Command::Weights(cmd)) => commands::weights::run(&common, cmd).await,
        Some(Command::Shift(cmd)) => commands::setup::shift(&common, cmd).await,
        Some(Command::Rules(cmd)) => commands::setup::rules(&common, cmd).await,
        Some(Command::Roster(cmd)) => commands::setup::roster(&common, cmd).await,
        Some(Command::Basemap(cmd)) => commands::basemap::run(cmd),
        Some(Command::Hotspots(args)) => commands::analysis::hotspots(args),
        Some(Command::Evaluate(args)) => commands::analysis::evaluate(args),
        Some(Command::Backtest(args)) => commands::analysis::backtest(args),
        Some(Command::ChooseRanking { with_model }) => commands::setup::choose_ranking(&common, with_model).await,
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("beatbook: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("beatbook: {}", format!("{e:#}").replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}
