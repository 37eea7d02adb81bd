//! `hwx`: the one binary of HWX. Every service role, migrations, the rules and demo tools are
//! subcommands of it.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use hwx::{rules, serve};

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
    /// Run a service role (`all` runs every built service in this process).
    ///
    /// Settings come from HWX_CONFIG (a TOML file) and HWX_* variables; see `hwx config`.
    Serve {
        #[arg(value_enum, default_value_t = serve::Role::All)]
        role: serve::Role,
    },
    /// Create or update the database schemas (also done by `serve` at start).
    Migrate {
        #[arg(value_enum, default_value_t = serve::MigrateTarget::All)]
        target: serve::MigrateTarget,
    },
    /// Print the effective configuration, secrets masked.
    Config,
    /// Demo data: `hwx demo seed` creates bureau officers, organisations of all four kinds and
    /// applications in several states, and prints how to log in.
    #[command(subcommand)]
    Demo(DemoCommand),
}

#[derive(Debug, Subcommand)]
enum DemoCommand {
    /// Create the demo data (once; a second run only prints the logins).
    Seed,
    /// Load a running gateway: sign up an organisation, then create applications over HTTP for a
    /// while, and report throughput and latency.
    Load {
        /// The gateway, host:port.
        #[arg(long, default_value = "127.0.0.1:8080")]
        target: String,
        #[arg(long, default_value_t = 30)]
        seconds: u64,
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Rules(cmd) => rules::run(cmd),
        Command::Serve { role } => serve::serve(role),
        Command::Migrate { target } => serve::migrate(target),
        Command::Config => serve::config(),
        Command::Demo(DemoCommand::Seed) => hwx::demo::seed(),
        Command::Demo(DemoCommand::Load {
            target,
            seconds,
            concurrency,
        }) => hwx::load::run(hwx::load::LoadPlan {
            target,
            seconds,
            concurrency,
        }),
    }
}
