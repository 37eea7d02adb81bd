//! `hwx serve`, `hwx migrate`, `hwx config` and `hwx services`: the service roles of the one
//! binary, from the registry.

use std::process::ExitCode;

use hwx_platform::config::Config;
use hwx_platform::db::Database;
use hwx_platform::events::Events;
use hwx_platform::kit::Host;

use crate::registry;

pub fn config() -> ExitCode {
    match registry::config() {
        Ok(c) => {
            print!("{}", c.to_masked_toml());
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}

/// `hwx services`: the registry, as a table or (`--json`) one JSON object per line.
pub fn services(json: bool) -> ExitCode {
    if !json {
        println!("{:<14} {:>5}  {:<8} schema", "service", "port", "protocol");
    }
    for s in registry::SERVICES {
        let schema = s.schema();
        if json {
            println!(
                "{}",
                serde_json::json!({"name": s.name, "port": s.port, "protocol": s.protocol.as_str(), "schema": schema})
            );
        } else {
            println!(
                "{:<14} {:>5}  {:<8} {}",
                s.name,
                s.port,
                s.protocol.as_str(),
                schema.as_deref().unwrap_or("-")
            );
        }
    }
    ExitCode::SUCCESS
}

fn fail(e: &str) -> ExitCode {
    eprintln!("hwx: {e}");
    ExitCode::FAILURE
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))
}

/// Run a command's work on a runtime; its error goes to stderr as `hwx <command>: …`.
pub(crate) fn command(name: &str, work: impl Future<Output = Result<(), String>>) -> ExitCode {
    match runtime().and_then(|rt| rt.block_on(work)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hwx {name}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The configuration for a tool command (`hwx demo …`), logging warnings only.
pub(crate) fn tool_config() -> Result<Config, ExitCode> {
    let cfg = registry::config().map_err(|e| fail(&e))?;
    hwx_platform::telemetry::init(cfg.log_format, "warn");
    Ok(cfg)
}

pub fn migrate(target: &str) -> ExitCode {
    let cfg = match registry::config() {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    hwx_platform::telemetry::init(cfg.log_format, &cfg.log_filter);
    command("migrate", async move {
        let url = cfg.database_url.expose();
        hwx_platform::db::ensure_database(url)
            .await
            .map_err(|e| e.to_string())?;
        for spec in registry::select(target) {
            let Some(schema) = spec.schema() else {
                continue;
            };
            let n = Database::migrate(url, &schema, spec.migrations)
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "{schema}: {n} migration(s) applied, {} known",
                spec.migrations.len()
            );
        }
        Ok(())
    })
}

pub fn serve(role: &str) -> ExitCode {
    let cfg = match registry::config() {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => return fail(&e),
    };
    rt.block_on(async move {
        // Inside the runtime: the OTLP exporter's batch processor needs it.
        let provider = hwx_platform::telemetry::init(cfg.log_format, &cfg.log_filter);
        let code = match run(role, cfg).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(&e),
        };
        // Flush spans still buffered.
        if let Some(p) = provider {
            p.shutdown();
        }
        code
    })
}

async fn run(role: &str, cfg: Config) -> Result<(), String> {
    let clock = hwx_platform::clock::parse(&cfg.clock)?;
    let events = Events::connect(&cfg.nats_url, &cfg.subject_prefix)
        .await
        .map_err(|e| e.to_string())?;
    let specs = registry::select(role);
    // A role without a schema (the gateway) needs no database.
    if specs.iter().any(|s| s.schema().is_some()) {
        hwx_platform::db::ensure_database(cfg.database_url.expose())
            .await
            .map_err(|e| e.to_string())?;
    }
    let mut host = Host::new(cfg, clock, events);
    host.stop_on_signal();
    let mut running = Vec::new();
    let mut failed = None;
    for spec in specs {
        // Stopped while starting (a signal during the migrations): start nothing more.
        if *host.shutdown().borrow() {
            break;
        }
        match host.start(spec).await {
            Ok(r) => {
                println!("{}", r.banner());
                running.push(r);
            }
            Err(e) => {
                failed = Some(e);
                host.stop();
                break;
            }
        }
    }
    for r in running {
        r.join().await;
    }
    match failed.or_else(|| host.failure()) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
