//! What registration publishes. Each event is staged through the service's outbox in the
//! transaction of its state change; its subject comes from the contract (`events.proto`).
//!
//! | event | when |
//! |---|---|
//! | `org.registered` | an organisation is registered |
//! | `org.approved` | an application is approved and its enrolment is active |
//! | `org.mandatory_info_changed` | a new version of the SK7 information |
//! | `enrolment.ended` | withdrawn, expired (D8), suspended or revoked: SK6e follows where data is held |
//! | `account.locked` | failed logins, or a reported compromise (A1: ops are told) |
//! | `account.unlocked` | operations lifted a lock, or a reset lifted a lock after failed logins |
//! | `account.password_changed` | by the holder, or with a reset token |
//! | `notice.requested` | a message for a person (a reset token): the notifier delivers it |

use hwx_platform::codes::Code;
use hwx_platform::events::Outbox;
use hwx_proto::events::v1 as ev;
use hwx_rules::RuleId;
use hwx_rules::access::EnrolmentStatus;
use hwx_rules::eligibility::Service;
use sqlx::PgConnection;
use uuid::Uuid;

/// Stage `enrolment.ended` for one organisation's enrolment in `service`.
pub async fn enrolment_ended(
    outbox: &Outbox,
    tx: &mut PgConnection,
    organisation_id: Uuid,
    service: Service,
    status: EnrolmentStatus,
    rule: RuleId,
) -> Result<(), sqlx::Error> {
    outbox
        .stage(
            tx,
            ev::EnrolmentEnded {
                meta: None,
                organisation_id: organisation_id.to_string(),
                service: service.to_proto(),
                status: status.to_proto(),
                rule: rule.to_string(),
            },
        )
        .await
        .map(|_| ())
}

/// Stage `account.locked`.
pub async fn account_locked(
    outbox: &Outbox,
    tx: &mut PgConnection,
    account_id: Uuid,
    reason: &str,
    compromise_reported: bool,
) -> Result<(), sqlx::Error> {
    outbox
        .stage(
            tx,
            ev::AccountLocked {
                meta: None,
                account_id: account_id.to_string(),
                reason: reason.to_owned(),
                compromise_reported,
            },
        )
        .await
        .map(|_| ())
}

/// Stage `account.password_changed` (`via` is `change` or `reset`).
pub async fn password_changed(
    outbox: &Outbox,
    tx: &mut PgConnection,
    account_id: Uuid,
    via: &str,
) -> Result<(), sqlx::Error> {
    outbox
        .stage(
            tx,
            ev::AccountPasswordChanged {
                meta: None,
                account_id: account_id.to_string(),
                via: via.to_owned(),
            },
        )
        .await
        .map(|_| ())
}

/// Stage `account.unlocked` (`by` is the operations account, or the holder after a reset).
pub async fn account_unlocked(
    outbox: &Outbox,
    tx: &mut PgConnection,
    account_id: Uuid,
    by: Uuid,
) -> Result<(), sqlx::Error> {
    outbox
        .stage(
            tx,
            ev::AccountUnlocked {
                meta: None,
                account_id: account_id.to_string(),
                unlocked_by: by.to_string(),
            },
        )
        .await
        .map(|_| ())
}
