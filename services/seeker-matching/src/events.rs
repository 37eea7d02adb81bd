//! What seeker matching consumes: registration's enrolment events keep its copy of each
//! organisation's S-SEEKER enrolment current, so a suspension or revocation cuts search at once
//! (E3, SN1, SN2). What it publishes (`consent.withdrawn`) is staged by the store with each batch.

use chrono::Utc;
use hwx_platform::codes::Code;
use hwx_platform::events::{Delivered, Handler, HandlerError};
use hwx_proto::events::v1 as ev;
use hwx_rules::access::EnrolmentStatus;
use hwx_rules::eligibility::Service;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::store;

/// The durable consumer of registration's events.
pub const CONSUMER: &str = "seeker-matching-enrolments";

/// Keeps `enrolments` current from registration's events.
#[derive(Debug, Clone, Copy)]
pub struct EnrolmentEvents;

fn poison(e: impl std::fmt::Display) -> HandlerError {
    HandlerError::Poison(e.to_string())
}

fn org_id(s: &str) -> Result<Uuid, HandlerError> {
    Uuid::parse_str(s).map_err(|_| poison(format!("organisation_id {s:?}")))
}

impl Handler for EnrolmentEvents {
    async fn handle(&self, event: &Delivered, tx: &mut PgConnection) -> Result<(), HandlerError> {
        if let Some(e) = event.decode::<ev::OrgApproved>() {
            let e = e?;
            if Service::from_proto(e.service).map_err(poison)? == Service::Seeker {
                let at = Delivered::occurred_at(&e).unwrap_or_else(Utc::now);
                let until = e.valid_until.as_ref().and_then(hwx_platform::grpc::day);
                store::record_enrolment(
                    tx,
                    org_id(&e.organisation_id)?,
                    EnrolmentStatus::Active,
                    until,
                    at,
                )
                .await?;
            }
        } else if let Some(e) = event.decode::<ev::EnrolmentEnded>() {
            let e = e?;
            if Service::from_proto(e.service).map_err(poison)? == Service::Seeker {
                let at = Delivered::occurred_at(&e).unwrap_or_else(Utc::now);
                // An ended enrolment ends access whatever its status says: one this service does
                // not know (a newer producer) is recorded as expired, and said so.
                let status = EnrolmentStatus::from_proto(e.status).unwrap_or_else(|unknown| {
                    tracing::error!(error = %unknown, organisation = %e.organisation_id, "enrolment.ended with a status this service does not know: access ended as expired");
                    EnrolmentStatus::Expired
                });
                store::record_enrolment(tx, org_id(&e.organisation_id)?, status, None, at).await?;
            }
        }
        Ok(())
    }
}
