//! The registration service: accounts, organisations, applications, enrolments and the public
//! lists (RULES §1–§3, §5, L1).
//!
//! [`SERVICE`] is the whole service as the kit runs it: the gRPC API ([`api`]: parse, authorise,
//! ask the rules, call the store), the store ([`store`]: every SQL statement, one transaction per
//! command with its event), what it publishes ([`events`]), and two sweeps (AP3, D8), each on one
//! replica at a time.

mod api;
pub mod auth;
mod convert;
pub mod events;
pub mod notify;
pub mod password;
pub mod pdf;
pub mod store;

use std::time::Duration;

use hwx_platform::db::Migration;
use hwx_platform::kit::{Context, Parts, ServiceSpec, Sweep};
use hwx_proto::registration::v1::registration_service_server::RegistrationServiceServer;

pub use api::Registration;

/// Registration, as the kit runs it.
pub const SERVICE: ServiceSpec =
    ServiceSpec::grpc("registration", 50051, MIGRATIONS, |cx| Box::pin(build(cx)));

/// Migrations, in order: the platform's outbox/inbox, then this service's tables.
pub const MIGRATIONS: &[Migration] = hwx_platform::migrations![
    100 => "0100_registration",
    101 => "0101_password_resets",
    102 => "0102_sign_ups",
];

/// How often the sweeps run. Both are idempotent, so the hour only bounds how late after its day
/// a registration disappears (AP3) or an enrolment ends (D8).
pub const SWEEP_EVERY: Duration = Duration::from_secs(3600);

async fn build(cx: Context) -> Result<Parts, String> {
    let store = store::Store { db: cx.db()? };
    let registration = Registration::new(store.clone(), cx.clock.clone(), cx.outbox());
    let (ap3, d8) = (registration.clone(), registration.clone());
    let clock = cx.clock.clone();
    let today = move || clock.now_jst().date_naive();
    let today_d8 = today.clone();
    let clock = cx.clock.clone();
    let mut parts = Parts::grpc(RegistrationServiceServer::new(registration))
        .sweep(Sweep::new(
            "ap3",
            SWEEP_EVERY,
            "AP3: unsubmitted applications deleted",
            move || {
                let (r, day) = (ap3.clone(), today());
                async move { r.sweep(day).await.map_err(|e| e.to_string()) }
            },
        ))
        .sweep(Sweep::new(
            "enrolment-expiry",
            SWEEP_EVERY,
            "D8: enrolments past their validity expired",
            move || {
                let (r, day) = (d8.clone(), today_d8());
                async move { r.expire_enrolments(day).await.map_err(|e| e.to_string()) }
            },
        ))
        .sweep(Sweep::new(
            "expired-tokens",
            SWEEP_EVERY,
            "notices past their token's life blanked, and unconfirmed sign-ups deleted",
            move || {
                let (store, now) = (store.clone(), clock.now());
                async move { store.forget_expired(now).await.map_err(|e| e.to_string()) }
            },
        ));
    // The notifier delivers to this process's log: a process whose log does not show notices
    // (a filter above info for hwx::notice, or no log at all) leaves them to one that does.
    if tracing::enabled!(target: "hwx::notice", tracing::Level::INFO) {
        parts = parts.consumer(notify::spec(), notify::LogNotifier);
    } else {
        // Info, not a warning: tools (`hwx demo seed`) run with warnings only, on purpose.
        tracing::info!(
            "the log filter hides hwx::notice: this process delivers no notices (sign-up and password-reset tokens); set HWX_LOG_FILTER with hwx::notice=info"
        );
    }
    Ok(parts)
}
