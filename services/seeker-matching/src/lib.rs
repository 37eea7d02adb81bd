//! Seeker matching: job seekers registered at Hello Work who consented, shown without anything
//! that identifies them (SK1) to organisations with an active S-SEEKER enrolment (E3, SN1, SN2).
//!
//! [`SERVICE`] is the whole service as the kit runs it: the gRPC API ([`api`]: ingest from Hello
//! Work, search), the checks a record passes ([`record`]), the store ([`store`]) and the consumer
//! of registration's enrolment events ([`events`]).

mod api;
pub mod events;
pub mod generate;
pub mod record;
pub mod store;

use hwx_platform::db::Migration;
use hwx_platform::events::ConsumerSpec;
use hwx_platform::kit::{Context, Parts, ServiceSpec};
use hwx_proto::seekermatching::v1::seeker_matching_service_server::SeekerMatchingServiceServer;

pub use api::SeekerMatching;

/// Seeker matching, as the kit runs it.
pub const SERVICE: ServiceSpec = ServiceSpec::grpc("seeker-matching", 50053, MIGRATIONS, |cx| {
    Box::pin(build(cx))
});

/// Migrations, in order: the platform's outbox/inbox, then this service's tables.
pub const MIGRATIONS: &[Migration] = hwx_platform::migrations![
    100 => "0100_seeker_matching",
    101 => "0101_acquisitions",
];

async fn build(cx: Context) -> Result<Parts, String> {
    let store = store::Store {
        db: cx.db()?,
        outbox: cx.outbox(),
    };
    let service = SeekerMatching {
        store,
        clock: cx.clock.clone(),
        auth: cx.authenticator()?,
    };
    Ok(
        Parts::grpc(SeekerMatchingServiceServer::new(service)).consumer(
            ConsumerSpec {
                name: events::CONSUMER.into(),
                filter: "hwx.registration.>".into(),
                max_deliveries: 10,
            },
            events::EnrolmentEvents,
        ),
    )
}
