//! The job feed: Hello Work's postings in (role upstream), and out to organisations with an active
//! S-JOB enrolment as a gap-free change feed, a live stream and consistent snapshots, every version
//! hashed and signed (RULES §6, J1–J9).

pub mod access;
mod api;
pub mod bulk;
pub mod codes;
pub mod export;
pub mod generate;
pub mod record;
pub mod signing;
pub mod store;

use std::net::SocketAddr;
use std::time::Duration;

use hwx_platform::clock::SharedClock;
use hwx_platform::db::{Database, Migration};
use hwx_platform::events::{ConsumerSpec, Events, Relay};
use hwx_platform::grpc::{self, Running};
use hwx_platform::leader::{Election, Elector};
use hwx_proto::jobfeed::v1::job_feed_service_server::JobFeedServiceServer;
use tokio::sync::{broadcast, watch};

pub use api::JobFeed;

/// The schema this service owns.
pub const SCHEMA: &str = "job_feed";

/// Migrations, in order: the platform's outbox/inbox, then this service's tables.
pub const MIGRATIONS: &[Migration] = &[
    hwx_platform::events::MIGRATION,
    Migration {
        version: 100,
        name: "job_feed",
        sql: include_str!("../migrations/0100_job_feed.sql"),
    },
    Migration {
        version: 101,
        name: "valid_until",
        sql: include_str!("../migrations/0101_valid_until.sql"),
    },
];

/// The durable consumer of registration's events.
pub const CONSUMER: &str = "job-feed-enrolments";

/// How often postings past their `valid_until` are withdrawn. Ingest already refuses to serve an
/// expired posting; the hour bounds how long one stays live after its last day.
pub const EXPIRY_EVERY: Duration = Duration::from_secs(3600);

/// The expiry sweep, on one replica at a time.
async fn expiry_loop(store: store::Store, clock: SharedClock, mut shutdown: watch::Receiver<bool>) {
    // A Lease inside Kubernetes, a Postgres advisory lock elsewhere.
    let mut leader = Election::new("job-feed-expiry", &store.db, clock.clone()).await;
    loop {
        if leader.acquire().await {
            let started = std::time::Instant::now();
            let today = clock.now_jst().date_naive();
            match store.withdraw_expired(today, clock.now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(
                    withdrawn = n,
                    "J6: postings past their valid_until withdrawn"
                ),
                Err(e) => tracing::warn!(error = %e, "expiry sweep failed; next hour again"),
            }
            hwx_platform::metrics::sweep("posting_expiry", started.elapsed().as_secs_f64());
        }
        tokio::select! {
            _ = tokio::time::sleep(EXPIRY_EVERY) => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
    }
}

/// How the service is set up.
#[derive(Debug, Clone)]
pub struct Settings {
    pub addr: SocketAddr,
    /// `http://host:port` of registration, which authenticates callers.
    pub registration_url: String,
    /// 64 hex digits, or empty to use the key kept in the schema.
    pub signing_key: String,
    /// Snapshot downloads at once; each holds one database connection while it runs.
    pub max_exports: usize,
}

/// A running job feed.
#[derive(Debug)]
pub struct Service {
    pub grpc: Running,
    pub relay: tokio::task::JoinHandle<()>,
    pub consumer: tokio::task::JoinHandle<()>,
    pub key_id: String,
}

/// Serve until `shutdown`: gRPC, the outbox relay, the enrolment consumer and the NOTIFY listener.
pub async fn serve(
    db: Database,
    events: Events,
    clock: SharedClock,
    settings: Settings,
    shutdown: watch::Receiver<bool>,
) -> Result<Service, String> {
    let signer = signing::Signer::load(&db, &settings.signing_key).await?;
    let (feed_tx, feed_rx) = watch::channel(0u64);
    let (changed, _) = broadcast::channel(1024);
    tokio::spawn(access::listen(
        db.clone(),
        feed_tx,
        changed.clone(),
        shutdown.clone(),
    ));
    let access = access::Access::new(
        db.clone(),
        clock.clone(),
        &settings.registration_url,
        feed_rx,
        changed,
    )?;
    let relay = tokio::spawn(
        Relay::new(db.clone(), events.clone()).run(shutdown.clone(), Duration::from_millis(500)),
    );
    let consumer = tokio::spawn(hwx_platform::events::run_consumer(
        db.clone(),
        events,
        ConsumerSpec {
            name: CONSUMER.into(),
            filter: "hwx.registration.>".into(),
            max_deliveries: 10,
        },
        access::EnrolmentEvents,
        shutdown.clone(),
    ));
    let key_id = signer.key_id().to_owned();
    let store = store::Store { db, signer };
    tokio::spawn(expiry_loop(store.clone(), clock.clone(), shutdown.clone()));
    let feed = JobFeed {
        store,
        access,
        clock,
        shutdown: shutdown.clone(),
        exports: std::sync::Arc::new(tokio::sync::Semaphore::new(settings.max_exports.max(1))),
    };
    // Snapshot chunks and ingest streams are larger than tonic's 4 MiB default allows for one
    // message only in pathological cases; keep a margin.
    let service = JobFeedServiceServer::new(feed)
        .max_decoding_message_size(16 * 1024 * 1024)
        .max_encoding_message_size(16 * 1024 * 1024);
    let grpc = grpc::serve(service, settings.addr, shutdown)
        .await
        .map_err(|e| format!("job feed: cannot listen on {}: {e}", settings.addr))?;
    tracing::info!(addr = %grpc.addr, key_id, "job feed serving");
    Ok(Service {
        grpc,
        relay,
        consumer,
        key_id,
    })
}
