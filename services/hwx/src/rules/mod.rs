//! `hwx rules`: the rules crate for bureau staff and scripts.

mod calendar;
pub mod eval;

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use clap::{Subcommand, ValueEnum};
use hwx_rules::RuleId;

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Print a year's national holidays (C2) and administrative holidays (C1), with the number of
    /// business days (C3).
    ///
    /// Example: `hwx rules calendar 2027`, `hwx rules calendar 2027 --format csv > 2027.csv`
    Calendar {
        /// The year, 1980–2099. Defaults to the current year in Japan.
        year: Option<i32>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Answer one JSON query per line from stdin with one JSON answer per line on stdout, in order.
    ///
    /// A malformed or unknown query gets `{"error": "...", "rule": ...}` on its own line and the
    /// next line is answered as usual. The README lists every query. Example:
    ///
    ///   echo '{"q":"submission_deadline","registered":"2026-11-28"}' | hwx rules eval
    Eval {
        /// Emergency maintenance windows for `maintenance` queries, as FROM/UNTIL in RFC 3339
        /// (repeatable), e.g. 2026-12-02T10:00:00+09:00/2026-12-02T12:00:00+09:00.
        #[arg(long = "emergency", value_name = "FROM/UNTIL")]
        emergency: Vec<String>,
        /// Replace the V3 promotion terms for `message` queries (repeatable).
        #[arg(long = "promotion-term", value_name = "TERM")]
        promotion_terms: Vec<String>,
    },
    /// List every rule ID of the terms with what it is about.
    Ids,
    /// One rule in full: what it means and the passage of the terms it comes from
    /// (docs/RULES.md; the gateway serves the same at GET /v1/rules/ID).
    Show {
        /// The rule's ID, as errors name it (D1, SK6c …).
        id: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    Table,
    /// `date,weekday,kind,name` with a header.
    Csv,
    /// One JSON document.
    Json,
}

pub fn run(cmd: RulesCommand) -> ExitCode {
    let stdout = io::stdout();
    let result = match cmd {
        RulesCommand::Calendar { year, format } => calendar::print(
            year.unwrap_or_else(calendar::this_year),
            format,
            &mut BufWriter::new(stdout.lock()),
        ),
        RulesCommand::Eval {
            emergency,
            promotion_terms,
        } => match eval::Evaluator::new(&emergency, &promotion_terms) {
            Ok(ev) => ev
                .run(io::stdin().lock(), BufWriter::new(stdout.lock()))
                .map_err(|e| e.to_string()),
            Err(e) => Err(e),
        },
        RulesCommand::Ids => {
            print_ids(&mut BufWriter::new(stdout.lock())).map_err(|e| e.to_string())
        }
        RulesCommand::Show { id } => show(&id, &mut BufWriter::new(stdout.lock())),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.contains("Broken pipe") => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hwx rules: {e}");
            ExitCode::FAILURE
        }
    }
}

fn show(id: &str, out: &mut impl Write) -> Result<(), String> {
    let entry = id
        .trim()
        .parse::<RuleId>()
        .ok()
        .and_then(hwx_rules::catalogue::entry)
        .ok_or_else(|| format!("no rule {id:?}; `hwx rules ids` lists them"))?;
    let quoted: String = entry.seed.lines().map(|l| format!("  > {l}\n")).collect();
    writeln!(
        out,
        "{} — {}\n{}\n\n{}\n\n{quoted}  ({})",
        entry.id, entry.title, entry.section, entry.meaning, entry.seed_ref
    )
    .and_then(|()| out.flush())
    .map_err(|e| e.to_string())
}

fn print_ids(out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "{:<5} {:<9} title", "id", "decided")?;
    for r in RuleId::ALL {
        let decided = if r.is_decision() { "rules" } else { "recorded" };
        writeln!(out, "{:<5} {:<9} {}", r.as_str(), decided, r.title())?;
    }
    out.flush()
}
