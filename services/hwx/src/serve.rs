//! `hwx serve`, `hwx migrate` and `hwx config`: the service roles of the one binary.

use std::process::ExitCode;

use clap::ValueEnum;
use hwx_platform::config::Config;
use hwx_platform::db::Database;
use hwx_platform::events::Events;

/// A role the binary can run. `all` runs every built service in one process; services still talk
/// over real gRPC on loopback and real NATS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Role {
    All,
    Registration,
    JobFeed,
    Gateway,
}

/// Services whose schemas `hwx migrate` manages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MigrateTarget {
    All,
    Registration,
    JobFeed,
}

fn load() -> Result<Config, String> {
    Config::from_env().map_err(|e| format!("configuration: {e}"))
}

pub fn config() -> ExitCode {
    match load() {
        Ok(c) => {
            print!("{}", c.to_masked_toml());
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}

fn fail(e: &str) -> ExitCode {
    eprintln!("hwx: {e}");
    ExitCode::FAILURE
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))
}

pub fn migrate(target: MigrateTarget) -> ExitCode {
    let cfg = match load() {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    hwx_platform::telemetry::init(cfg.log_format, &cfg.log_filter);
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => return fail(&e),
    };
    rt.block_on(async {
        let url = cfg.database_url.expose();
        if let Err(e) = hwx_platform::db::ensure_database(url).await {
            return fail(&e.to_string());
        }
        let registration = (hwx_registration::SCHEMA, hwx_registration::MIGRATIONS);
        let job_feed = (hwx_job_feed::SCHEMA, hwx_job_feed::MIGRATIONS);
        let targets: &[(&str, &[hwx_platform::db::Migration])] = match target {
            MigrateTarget::All => &[registration, job_feed],
            MigrateTarget::Registration => &[registration],
            MigrateTarget::JobFeed => &[job_feed],
        };
        for (schema, migrations) in targets {
            match Database::migrate(url, schema, migrations).await {
                Ok(n) => println!(
                    "{schema}: {n} migration(s) applied, {} known",
                    migrations.len()
                ),
                Err(e) => return fail(&e.to_string()),
            }
        }
        ExitCode::SUCCESS
    })
}

pub fn serve(role: Role) -> ExitCode {
    let cfg = match load() {
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

async fn run(role: Role, cfg: Config) -> Result<(), String> {
    let clock = hwx_platform::clock::parse(&cfg.clock)?;
    let (_stop, stopped) = hwx_platform::shutdown::on_signal();
    let events = Events::connect(&cfg.nats_url, &cfg.subject_prefix)
        .await
        .map_err(|e| e.to_string())?;
    let url = cfg.database_url.expose();
    hwx_platform::db::ensure_database(url)
        .await
        .map_err(|e| e.to_string())?;
    let mut tasks = Vec::new();
    if matches!(role, Role::All | Role::Registration) {
        let db = Database::open(
            url,
            hwx_registration::SCHEMA,
            cfg.database_max_connections,
            hwx_registration::MIGRATIONS,
        )
        .await
        .map_err(|e| e.to_string())?;
        let svc = hwx_registration::serve(
            db,
            events.clone(),
            clock.clone(),
            cfg.registration_addr,
            stopped.clone(),
        )
        .await
        .map_err(|e| {
            format!(
                "registration: cannot listen on {}: {e}",
                cfg.registration_addr
            )
        })?;
        println!(
            "registration gRPC on {} (health and reflection included)",
            svc.grpc.addr
        );
        tasks.push(tokio::spawn(async move {
            let _ = svc.grpc.handle.await;
            let _ = svc.relay.await;
        }));
    }
    if matches!(role, Role::All | Role::JobFeed) {
        let db = Database::open(
            url,
            hwx_job_feed::SCHEMA,
            cfg.database_max_connections,
            hwx_job_feed::MIGRATIONS,
        )
        .await
        .map_err(|e| e.to_string())?;
        let svc = hwx_job_feed::serve(
            db,
            events.clone(),
            clock.clone(),
            hwx_job_feed::Settings {
                addr: cfg.job_feed_addr,
                registration_url: cfg.registration_endpoint(),
                signing_key: cfg.signing_key.expose().to_owned(),
                // Leave a few of the pool's connections for everything else.
                max_exports: (cfg.database_max_connections as usize)
                    .saturating_sub(4)
                    .max(1),
            },
            stopped.clone(),
        )
        .await?;
        println!(
            "job feed gRPC on {} (signing key {})",
            svc.grpc.addr, svc.key_id
        );
        tasks.push(tokio::spawn(async move {
            let _ = svc.grpc.handle.await;
            let _ = svc.relay.await;
            let _ = svc.consumer.await;
        }));
    }
    if matches!(role, Role::All | Role::Gateway) {
        let maintenance = match cfg.maintenance {
            hwx_platform::config::MaintenanceMode::Official => {
                hwx_rules::maintenance::MaintenancePolicy::default()
            }
            hwx_platform::config::MaintenanceMode::Off => {
                hwx_rules::maintenance::MaintenancePolicy::none()
            }
        };
        let gw_cfg = hwx_gateway::GatewayConfig {
            registration_url: cfg.registration_endpoint(),
            job_feed_url: cfg.job_feed_endpoint(),
            maintenance,
            requests_per_second: cfg.rate_limit_per_second,
            burst: cfg.rate_limit_burst,
        };
        let gw = hwx_gateway::serve(gw_cfg, clock.clone(), cfg.gateway_addr, stopped.clone())
            .await
            .map_err(|e| format!("gateway: cannot listen on {}: {e}", cfg.gateway_addr))?;
        println!(
            "gateway on http://{} (API docs: http://{}/docs)",
            gw.addr, gw.addr
        );
        tasks.push(tokio::spawn(async move {
            let _ = gw.handle.await;
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    Ok(())
}
