//! The notifier: delivers `notice.requested` (a message for a person, such as a password-reset
//! token). Until HWX sends email, its one backend is the log: the notice is written to the
//! service log (target `hwx::notice`) once, whatever redelivery happens (the inbox).

use hwx_platform::events::{ConsumerSpec, Delivered, Handler, HandlerError};
use hwx_proto::events::v1 as ev;
use sqlx::PgConnection;

/// The durable consumer of notices.
pub fn spec() -> ConsumerSpec {
    ConsumerSpec {
        name: "registration-notifier".into(),
        filter: "hwx.registration.notice.>".into(),
        max_deliveries: 10,
    }
}

/// The log backend.
#[derive(Debug, Clone, Copy)]
pub struct LogNotifier;

impl Handler for LogNotifier {
    async fn handle(&self, event: &Delivered, _tx: &mut PgConnection) -> Result<(), HandlerError> {
        if let Some(notice) = event.decode::<ev::NoticeRequested>() {
            let n = notice?;
            tracing::info!(
                target: "hwx::notice",
                to = %n.to,
                subject = %n.subject,
                account_id = %n.account_id,
                "notice for {}: {}\n{}",
                n.to,
                n.subject,
                n.body
            );
        }
        Ok(())
    }
}
