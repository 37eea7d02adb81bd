//! What the job feed consumes: registration's enrolment events keep its copy of each
//! organisation's S-JOB enrolment current (J2, SN1, SN2). What it publishes (`posting.published`,
//! `posting.withdrawn`) is staged by the store with each batch.

use chrono::Utc;
use hwx_platform::codes::Code;
use hwx_platform::events::{Delivered, Handler, HandlerError};
use hwx_proto::common::v1 as common;
use hwx_proto::events::v1 as ev;
use hwx_rules::access::EnrolmentStatus;
use hwx_rules::eligibility::Service;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::store::{self, Enrolment};

/// The durable consumer of registration's events.
pub const CONSUMER: &str = "job-feed-enrolments";

/// Keeps `enrolments` current from registration's events.
#[derive(Debug, Clone, Copy)]
pub struct EnrolmentEvents;

fn org_id(s: &str) -> Result<Uuid, HandlerError> {
    Uuid::parse_str(s).map_err(|_| HandlerError::Poison(format!("organisation_id {s:?}")))
}

fn date(d: &Option<common::Date>) -> Option<chrono::NaiveDate> {
    d.as_ref().and_then(hwx_platform::grpc::day)
}

fn poison(e: impl std::fmt::Display) -> HandlerError {
    HandlerError::Poison(e.to_string())
}

impl Handler for EnrolmentEvents {
    async fn handle(&self, event: &Delivered, tx: &mut PgConnection) -> Result<(), HandlerError> {
        if let Some(e) = event.decode::<ev::OrgApproved>() {
            let e = e?;
            if Service::from_proto(e.service).map_err(poison)? == Service::Job {
                let at = Delivered::occurred_at(&e).unwrap_or_else(Utc::now);
                let enrolment = Enrolment {
                    status: EnrolmentStatus::Active,
                    valid_from: date(&e.valid_from),
                    valid_until: date(&e.valid_until),
                };
                store::record_enrolment(tx, org_id(&e.organisation_id)?, enrolment, at).await?;
            }
        } else if let Some(e) = event.decode::<ev::EnrolmentEnded>() {
            let e = e?;
            if Service::from_proto(e.service).map_err(poison)? == Service::Job {
                let at = Delivered::occurred_at(&e).unwrap_or_else(Utc::now);
                // An enrolment that ended ends access whatever the status says: one this service
                // does not know (a newer producer) is recorded as expired, and said so.
                let status = EnrolmentStatus::from_proto(e.status).unwrap_or_else(|unknown| {
                    tracing::error!(error = %unknown, organisation = %e.organisation_id, "enrolment.ended with a status this service does not know: access ended as expired");
                    EnrolmentStatus::Expired
                });
                let enrolment = Enrolment {
                    status,
                    valid_from: None,
                    valid_until: None,
                };
                store::record_enrolment(tx, org_id(&e.organisation_id)?, enrolment, at).await?;
            }
        }
        Ok(())
    }
}
