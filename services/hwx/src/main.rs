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
        #[arg(default_value = "all", value_parser = clap::builder::PossibleValuesParser::new(hwx::registry::roles()))]
        role: String,
    },
    /// Create or update the database schemas (also done by `serve` at start).
    Migrate {
        #[arg(default_value = "all", value_parser = clap::builder::PossibleValuesParser::new(hwx::registry::schemas()))]
        target: String,
    },
    /// Print the effective configuration, secrets masked.
    Config,
    /// List the services this binary runs: name, default port, protocol, schema.
    Services {
        /// One JSON object per line (what `scripts/check-chart` compares the chart with).
        #[arg(long)]
        json: bool,
    },
    /// Work with downloaded feed files.
    #[command(subcommand)]
    Feed(FeedCommand),
    /// Demo data: `hwx demo seed` creates bureau officers, organisations of all four kinds and
    /// applications in several states, and prints how to log in.
    #[command(subcommand)]
    Demo(DemoCommand),
}

#[derive(Debug, Subcommand)]
enum FeedCommand {
    /// Check a downloaded snapshot (CSV in UTF-8 or Shift_JIS, or NDJSON), a change-feed page or
    /// a posting offline: every record's content against its SHA-256 hash and, with --key, its
    /// Ed25519 signature (J5). Exits 0 when every record verifies, 1 when any fails.
    Verify {
        /// The downloaded file.
        file: std::path::PathBuf,
        /// The public key: a file saved from GET /v1/feed/signing-key, or its 64 hex digits.
        #[arg(long)]
        key: Option<String>,
        /// How many records the whole download holds (its X-Record-Count header): fewer or more
        /// in the file fails, so a download cut short at a line boundary is caught.
        #[arg(long, value_name = "N")]
        expect_count: Option<u64>,
        /// The response headers saved with the download (`curl -D headers.txt`): their
        /// X-Record-Count is the expected count.
        #[arg(long, value_name = "FILE", conflicts_with = "expect_count")]
        headers: Option<std::path::PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum DemoCommand {
    /// Create the demo data (once; a second run only prints the logins).
    Seed,
    /// Generate believable postings (real prefecture, occupation and industry codes, wages by
    /// occupation, Japanese text) and feed them in: through the job feed's ingest as Hello Work's
    /// demo account (default), straight into the store (--bulk), or into an NDJSON file (--out).
    /// The same --start and --revision always give the same postings: a re-run is a no-op, and
    /// each higher revision changes about 5 % of them.
    Postings {
        #[arg(long, default_value_t = 1000)]
        count: u64,
        /// First serial number.
        #[arg(long, default_value_t = 0)]
        start: u64,
        #[arg(long, default_value_t = 0)]
        revision: u32,
        /// COPY straight into the store (new postings only; no per-posting events).
        #[arg(long, conflicts_with_all = ["out", "snapshot"])]
        bulk: bool,
        /// Send as a full snapshot with this ID: postings it does not hold are withdrawn.
        #[arg(long)]
        snapshot: Option<String>,
        /// Write NDJSON for POST /v1/feed/postings instead (`-`: standard output).
        #[arg(long, conflicts_with = "snapshot")]
        out: Option<String>,
    },
    /// Believable consenting seekers (real prefecture and occupation codes, places by population,
    /// occupations by the prefecture's mix), through seeker matching's ingest as Hello Work's demo
    /// account (default) or into an NDJSON file for POST /v1/seekers (--out). On one day the same
    /// --start and --revision give the same seekers; a revision above 0 changes about 5 % of them.
    Seekers {
        #[arg(long, default_value_t = 1000)]
        count: u64,
        /// First serial number.
        #[arg(long, default_value_t = 0)]
        start: u64,
        #[arg(long, default_value_t = 0)]
        revision: u32,
        /// Write NDJSON for POST /v1/seekers instead (`-`: standard output).
        #[arg(long)]
        out: Option<String>,
    },
    /// Load a running gateway: an operations account makes an organisation account (signing up
    /// would wait for an email), which registers and then creates applications over HTTP for a
    /// while; throughput and latency are reported.
    Load {
        /// The gateway, host:port.
        #[arg(long, default_value = "127.0.0.1:8080")]
        target: String,
        /// The operations account that makes the load's organisation account (the demo's by
        /// default: `hwx demo seed` makes it). Its password comes from HWX_LOAD_OPS_PASSWORD (the
        /// demo's when unset), never from the command line.
        #[arg(long, default_value = "ops@hwx.example.go.jp")]
        ops_email: String,
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
        Command::Serve { role } => serve::serve(&role),
        Command::Migrate { target } => serve::migrate(&target),
        Command::Config => serve::config(),
        Command::Services { json } => serve::services(json),
        Command::Feed(FeedCommand::Verify {
            file,
            key,
            expect_count,
            headers,
        }) => hwx::feed::verify(&file, key.as_deref(), expect_count, headers.as_deref()),
        Command::Demo(DemoCommand::Seed) => hwx::demo::seed(),
        Command::Demo(DemoCommand::Postings {
            count,
            start,
            revision,
            bulk,
            snapshot,
            out,
        }) => hwx::postings::run(hwx::postings::Plan {
            count,
            start,
            revision,
            sink: match (bulk, out) {
                (true, _) => hwx::postings::Sink::Bulk,
                (false, Some(path)) => hwx::postings::Sink::File(path),
                (false, None) => hwx::postings::Sink::Ingest { snapshot },
            },
        }),
        Command::Demo(DemoCommand::Seekers {
            count,
            start,
            revision,
            out,
        }) => hwx::seekers::run(hwx::seekers::Plan {
            count,
            start,
            revision,
            out,
        }),
        Command::Demo(DemoCommand::Load {
            target,
            ops_email,
            seconds,
            concurrency,
        }) => hwx::load::run(hwx::load::LoadPlan {
            target,
            ops_email,
            ops_password: std::env::var("HWX_LOAD_OPS_PASSWORD")
                .unwrap_or_else(|_| hwx::demo::PASSWORD.to_owned()),
            seconds,
            concurrency,
        }),
    }
}
