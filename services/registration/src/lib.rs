//! The registration service: accounts, organisations, applications, enrolments and the public
//! lists (RULES §1–§3, §5, L1).
//!
//! `serve` starts the gRPC server (with health and reflection) and the outbox relay; every state
//! change commits with its event.

mod api;
pub mod auth;
mod convert;
pub mod events;
pub mod pdf;

use std::net::SocketAddr;
use std::time::Duration;

use hwx_platform::clock::SharedClock;
use hwx_platform::db::{Database, Migration};
use hwx_platform::events::{Events, Relay};
use hwx_platform::grpc::{self, Running};
use hwx_platform::leader::{Election, Elector};
use hwx_proto::registration::v1::registration_service_server::RegistrationServiceServer;
use tokio::sync::watch;

pub use api::Registration;

/// The schema this service owns.
pub const SCHEMA: &str = "registration";

/// Migrations, in order: the platform's outbox/inbox, then this service's tables.
pub const MIGRATIONS: &[Migration] = &[
    hwx_platform::events::MIGRATION,
    Migration {
        version: 100,
        name: "registration",
        sql: include_str!("../migrations/0100_registration.sql"),
    },
];

/// How often the AP3 sweep runs. It is idempotent, so the hour only bounds how late after the
/// 14th day a registration disappears.
pub const SWEEP_EVERY: Duration = Duration::from_secs(3600);

/// AP3 on a schedule, on one replica at a time (Postgres advisory lock).
async fn sweep_loop(
    registration: Registration,
    db: Database,
    clock: SharedClock,
    mut shutdown: watch::Receiver<bool>,
) {
    // A Lease inside Kubernetes, a Postgres advisory lock elsewhere.
    let mut leader = Election::new("registration-sweeps", &db, clock.clone()).await;
    loop {
        if leader.acquire().await {
            let today = clock.now_jst().date_naive();
            let started = std::time::Instant::now();
            let result = registration.sweep(today).await;
            match registration.expire_enrolments(today).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(expired = n, "D8: enrolments past their validity expired"),
                Err(e) => tracing::warn!(error = %e, "enrolment expiry failed; next hour again"),
            }
            hwx_platform::metrics::sweep("ap3", started.elapsed().as_secs_f64());
            match result {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, "AP3: unsubmitted applications deleted"),
                Err(e) => tracing::warn!(error = %e, "AP3 sweep failed; next hour again"),
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(SWEEP_EVERY) => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
    }
}

/// A running registration service.
#[derive(Debug)]
pub struct Service {
    pub grpc: Running,
    pub relay: tokio::task::JoinHandle<()>,
}

/// Serve on `addr` (port 0 picks a free one) until `shutdown`; the relay flushes staged events
/// before it stops.
pub async fn serve(
    db: Database,
    events: Events,
    clock: SharedClock,
    addr: SocketAddr,
    shutdown: watch::Receiver<bool>,
) -> std::io::Result<Service> {
    let relay = tokio::spawn(
        Relay::new(db.clone(), events).run(shutdown.clone(), Duration::from_millis(500)),
    );
    let registration = Registration::new(db.clone(), clock.clone());
    tokio::spawn(sweep_loop(
        registration.clone(),
        db,
        clock,
        shutdown.clone(),
    ));
    let service = RegistrationServiceServer::new(registration);
    let grpc = grpc::serve(service, addr, shutdown).await?;
    tracing::info!(addr = %grpc.addr, "registration serving");
    Ok(Service { grpc, relay })
}
