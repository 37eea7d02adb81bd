//! What registration publishes. Each event is staged in the transaction of its state change.

use chrono::{DateTime, Utc};
use hwx_proto::events::v1 as ev;
use prost::Message;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::convert;

pub const ORG_REGISTERED: &str = "hwx.registration.org.registered";
pub const ORG_APPROVED: &str = "hwx.registration.org.approved";
pub const MANDATORY_INFO_CHANGED: &str = "hwx.registration.org.mandatory_info_changed";
pub const ENROLMENT_ENDED: &str = "hwx.registration.enrolment.ended";
pub const ACCOUNT_LOCKED: &str = "hwx.registration.account.locked";

/// A fresh event envelope.
pub fn meta(now: DateTime<Utc>) -> (Uuid, Option<ev::EventMeta>) {
    let id = Uuid::now_v7();
    (
        id,
        Some(ev::EventMeta {
            event_id: id.to_string(),
            occurred_at: convert::timestamp(now),
            producer: "registration".into(),
        }),
    )
}

/// Stage `event` under `subject` in the caller's transaction.
pub async fn stage(
    tx: &mut PgConnection,
    id: Uuid,
    subject: &str,
    event: &impl Message,
) -> Result<(), sqlx::Error> {
    let traceparent = hwx_platform::telemetry::current_traceparent();
    hwx_platform::events::stage(
        tx,
        id,
        subject,
        &event.encode_to_vec(),
        traceparent.as_deref(),
    )
    .await
}

/// Stage `enrolment.ended` for one organisation's enrolment in `service` (SK6e follows in the
/// services that hold its data).
pub async fn stage_enrolment_ended(
    tx: &mut PgConnection,
    now: DateTime<Utc>,
    organisation_id: Uuid,
    service: hwx_rules::eligibility::Service,
    status: &str,
    rule: hwx_rules::RuleId,
) -> Result<(), sqlx::Error> {
    let (event_id, m) = meta(now);
    let e = ev::EnrolmentEnded {
        meta: m,
        organisation_id: organisation_id.to_string(),
        service: convert::service_proto(service),
        status: convert::enrolment_proto(status),
        rule: rule.to_string(),
    };
    stage(tx, event_id, ENROLMENT_ENDED, &e).await
}
