//! The job feed: Hello Work's postings in (role upstream), and out to organisations with an active
//! S-JOB enrolment as a gap-free change feed, a live stream and consistent snapshots, every version
//! hashed and signed (RULES §6, J1–J9).
//!
//! [`SERVICE`] is the whole service as the kit runs it: the gRPC API ([`api`]), the consumer of
//! registration's enrolment events ([`events`]), the hourly expiry sweep, and the NOTIFY listener
//! that wakes live streams ([`access::listen`]).

pub mod access;
mod api;
pub mod bulk;
pub mod events;
pub mod export;
pub mod generate;
pub mod signing;
pub mod store;

use std::time::Duration;

use hwx_platform::db::Migration;
use hwx_platform::events::ConsumerSpec;
use hwx_platform::kit::{Context, Parts, ServiceSpec, Sweep};
pub use hwx_posting::{codes, record};
use hwx_proto::jobfeed::v1::job_feed_service_server::JobFeedServiceServer;
use hwx_proto::registration::v1::registration_service_client::RegistrationServiceClient;
use tokio::sync::{broadcast, watch};

pub use api::JobFeed;

/// The job feed, as the kit runs it.
pub const SERVICE: ServiceSpec =
    ServiceSpec::grpc("job-feed", 50052, MIGRATIONS, |cx| Box::pin(build(cx)));

/// Migrations, in order: the platform's outbox/inbox, then this service's tables.
pub const MIGRATIONS: &[Migration] =
    hwx_platform::migrations![100 => "0100_job_feed", 101 => "0101_valid_until"];

/// How often postings past their `valid_until` are withdrawn. Ingest already refuses to serve an
/// expired posting; the hour bounds how long one stays live after its last day.
pub const EXPIRY_EVERY: Duration = Duration::from_secs(3600);

/// Snapshot downloads each hold a database connection while they run: this many of the pool's
/// connections stay for everything else.
const CONNECTIONS_KEPT: u32 = 4;

async fn build(cx: Context) -> Result<Parts, String> {
    let db = cx.db()?;
    let signer = signing::Signer::load(&db, cx.config.signing_key.expose()).await?;
    let key_id = signer.key_id().to_owned();
    let (feed_tx, feed_rx) = watch::channel(0u64);
    let (changed, _) = broadcast::channel(1024);
    let access = access::Access::new(
        db.clone(),
        cx.clock.clone(),
        cx.authenticator()?,
        RegistrationServiceClient::new(cx.client("registration", Some(Duration::from_secs(10)))?),
        feed_rx,
        changed.clone(),
    );
    let store = store::Store {
        db: db.clone(),
        signer,
        outbox: cx.outbox(),
    };
    let exports = db
        .pool()
        .options()
        .get_max_connections()
        .saturating_sub(CONNECTIONS_KEPT)
        .max(1);
    let feed = JobFeed {
        store: store.clone(),
        access,
        clock: cx.clock.clone(),
        shutdown: cx.shutdown.clone(),
        exports: std::sync::Arc::new(tokio::sync::Semaphore::new(exports as usize)),
    };
    // Snapshot chunks and ingest streams are larger than tonic's 4 MiB default allows for one
    // message only in pathological cases; keep a margin.
    let service = JobFeedServiceServer::new(feed)
        .max_decoding_message_size(16 * 1024 * 1024)
        .max_encoding_message_size(16 * 1024 * 1024);
    let clock = cx.clock.clone();
    let expiry = Sweep::new(
        "expiry",
        EXPIRY_EVERY,
        "J6: postings past their valid_until withdrawn",
        move || {
            let (store, clock) = (store.clone(), clock.clone());
            async move {
                let today = clock.now_jst().date_naive();
                store
                    .withdraw_expired(today, clock.now())
                    .await
                    .map_err(|e| e.to_string())
            }
        },
    );
    Ok(Parts::grpc(service)
        .consumer(
            ConsumerSpec {
                name: events::CONSUMER.into(),
                filter: "hwx.registration.>".into(),
                max_deliveries: 10,
            },
            events::EnrolmentEvents,
        )
        .sweep(expiry)
        .task("listener", move |shutdown| {
            access::listen(db, feed_tx, changed, shutdown)
        })
        .note(format!("signing key {key_id}")))
}
