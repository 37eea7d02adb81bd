//! The scenario both trace tests drive: a gateway, a registration service and a consumer in
//! another service's schema, on the real Postgres and NATS; one request that stages an event.

use std::time::Duration;

use hwx_platform::db::{Database, Migration};
use hwx_platform::events::{self, ConsumerSpec, Delivered, Handler, HandlerError};
use hwx_testkit::Stack;
use hwx_testkit::http::request;
use serde_json::json;
use sqlx::PgConnection;
use tokio::sync::watch;

/// The name of the gateway span of the request under test.
pub const REQUEST_SPAN: &str = "POST /v1/organisations";
pub const GRPC_SPAN: &str = "/hwx.registration.v1.RegistrationService/RegisterOrganisation";
pub const PUBLISH_SPAN: &str = "publish hwx.registration.org.registered";
pub const PROCESS_SPAN: &str = "process hwx.registration.org.registered";

/// A consumer in another service that records what it saw.
struct Seen;

impl Handler for Seen {
    async fn handle<'a>(
        &'a self,
        event: &'a Delivered,
        tx: &'a mut PgConnection,
    ) -> Result<(), HandlerError> {
        sqlx::query("INSERT INTO seen (subject) VALUES ($1)")
            .bind(&event.subject)
            .execute(tx)
            .await?;
        Ok(())
    }
}

const CONSUMER: &[Migration] = &[
    events::MIGRATION,
    Migration {
        version: 100,
        name: "seen",
        sql: "CREATE TABLE seen (subject text NOT NULL);",
    },
];

/// Everything the scenario started, to stop afterwards.
#[allow(missing_debug_implementations, dead_code)]
pub struct Running {
    pub stack: Stack,
    stop: watch::Sender<bool>,
    consumer: tokio::task::JoinHandle<()>,
    _db: Database,
}

impl Running {
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.consumer.await;
        self.stack.stop().await;
    }
}

/// Start the stack, send the request (registering an organisation stages
/// `hwx.registration.org.registered`) and wait until the consumer has applied the event.
pub async fn one_request_across_services() -> Running {
    let stack = Stack::with(&[&hwx_registration::SERVICE, &hwx_gateway::SERVICE])
        .peer("job-feed", "http://127.0.0.1:9")
        .peer("seeker-matching", "http://127.0.0.1:9")
        .configure(|c| {
            c.rate_limit_per_second = 1000;
            c.rate_limit_burst = 1000;
        })
        .start()
        .await;
    let compliance = stack.env.database("compliance", CONSUMER).await;
    let (stop, stopped) = watch::channel(false);
    let consumer = tokio::spawn(events::run_consumer(
        compliance.clone(),
        stack.env.events(),
        ConsumerSpec {
            name: "compliance-registration".into(),
            filter: "hwx.registration.>".into(),
            max_deliveries: 5,
        },
        Seen,
        stopped,
    ));
    let gw = stack.addr("gateway");

    hwx_testkit::mailbox::sign_up(
        gw,
        &stack.db("registration"),
        "trace@example.jp",
        "a long enough password",
        "org",
    )
    .await;
    let token = request(
        gw,
        "POST",
        "/v1/sessions",
        None,
        Some(&json!({"email": "trace@example.jp", "password": "a long enough password"})),
    )
    .await
    .unwrap()
    .json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let person = json!({"name": "山田太郎", "contact": "03-1234-5678", "full_time": true});
    let r = request(
        gw,
        "POST",
        "/v1/organisations",
        Some(&token),
        Some(&json!({"name": "株式会社トレース", "kind": "K1", "licence_number": "13-ユ-9", "licence_expiry": "2030-03-31",
            "address": "東京都千代田区丸の内1-1-1", "prefecture_code": "13", "contact_person": person, "pi_manager": person})),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));

    let mut seen = 0i64;
    for _ in 0..200 {
        seen = sqlx::query_scalar(
            "SELECT count(*) FROM seen WHERE subject = 'hwx.registration.org.registered'",
        )
        .fetch_one(compliance.pool())
        .await
        .unwrap();
        if seen > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(seen, 1, "the consumer applied the event");
    // Let the consumer's span end before the caller looks.
    tokio::time::sleep(Duration::from_millis(200)).await;

    Running {
        stack,
        stop,
        consumer,
        _db: compliance,
    }
}
