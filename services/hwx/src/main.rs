//! `hwx`: the one binary of HWX. Every service role, migrations, the rules and demo tools are
//! subcommands of it.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use hwx::rules;

/// HWX runs the Hello Work job / job-seeker information provision service.
#[derive(Debug, Parser)]
#[command(name = "hwx", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Ask the rules of the terms of use: the calendar, deadlines, eligibility, message checks.
    #[command(subcommand)]
    Rules(rules::RulesCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Rules(cmd) => rules::run(cmd),
    }
}
