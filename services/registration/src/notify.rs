//! The notifier: delivers the notices registration keeps for people (a sign-up's or a password
//! reset's token, or why a sign-up got none).
//! Until HWX sends email, its one backend is the log: the notice is written to the service log
//! (target `hwx::notice`, never exported as a trace event). The event names the notice; its text
//! stays in the `notices` table until delivered, and is blanked then.

use hwx_platform::events::{ConsumerSpec, Delivered, Handler, HandlerError};
use hwx_proto::events::v1 as ev;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::store::Store;

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
    async fn handle(&self, event: &Delivered, tx: &mut PgConnection) -> Result<(), HandlerError> {
        let Some(notice) = event.decode::<ev::NoticeRequested>() else {
            return Ok(());
        };
        let n = notice?;
        // A process whose log does not show notices (a filter above info) must not take one:
        // it goes back for a process that does.
        if !tracing::enabled!(target: "hwx::notice", tracing::Level::INFO) {
            return Err(HandlerError::Retry(
                "this process's log filter hides hwx::notice".into(),
            ));
        }
        let id = Uuid::parse_str(&n.notice_id)
            .map_err(|_| HandlerError::Poison(format!("notice_id {:?}", n.notice_id)))?;
        // Delivered already (a redelivery): nothing more to say.
        let Some((to, subject, body)) = Store::take_notice(tx, id).await? else {
            return Ok(());
        };
        tracing::info!(
            target: "hwx::notice",
            to = %to,
            subject = %subject,
            account_id = %n.account_id,
            "notice for {to}: {subject}\n{body}"
        );
        Store::delivered_notice(tx, id).await?;
        Ok(())
    }
}
