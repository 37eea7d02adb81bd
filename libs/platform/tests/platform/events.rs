//! Outbox → NATS → inbox: nothing lost, nothing applied twice.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use hwx_platform::db::{Database, Migration};
use hwx_platform::events::{self, Applied, ConsumerSpec, Delivered, Handler, HandlerError, Relay};
use hwx_testkit::TestEnv;
use sqlx::PgConnection;
use uuid::Uuid;

const PRODUCER: &[Migration] = &[
    events::MIGRATION,
    Migration {
        version: 100,
        name: "orgs",
        sql: "CREATE TABLE orgs (id uuid PRIMARY KEY, name text NOT NULL);",
    },
];
const CONSUMER: &[Migration] = &[
    events::MIGRATION,
    Migration {
        version: 100,
        name: "seen",
        sql: "CREATE TABLE seen (event_id uuid NOT NULL, name text NOT NULL);",
    },
];

/// The consumer's effect: one row per applied event (duplicates would show as extra rows).
struct Record {
    calls: Arc<AtomicUsize>,
}

impl Handler for Record {
    async fn handle<'a>(
        &'a self,
        event: &'a Delivered,
        tx: &'a mut PgConnection,
    ) -> Result<(), HandlerError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let name = String::from_utf8(event.payload.to_vec())
            .map_err(|e| HandlerError::Poison(e.to_string()))?;
        sqlx::query("INSERT INTO seen (event_id, name) VALUES ($1, $2)")
            .bind(event.event_id)
            .bind(name)
            .execute(tx)
            .await?;
        Ok(())
    }
}

/// A state change and its event, committed together.
async fn register(db: &Database, name: &str) -> Uuid {
    let mut tx = db.pool().begin().await.unwrap();
    let id = Uuid::now_v7();
    sqlx::query("INSERT INTO orgs (id, name) VALUES ($1, $2)")
        .bind(id)
        .bind(name)
        .execute(&mut *tx)
        .await
        .unwrap();
    events::stage(
        &mut tx,
        id,
        "hwx.registration.org.registered",
        name.as_bytes(),
        None,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    id
}

async fn seen(db: &Database) -> Vec<String> {
    sqlx::query_scalar("SELECT name FROM seen ORDER BY name")
        .fetch_all(db.pool())
        .await
        .unwrap()
}

async fn wait_for(db: &Database, n: usize) -> Vec<String> {
    for _ in 0..100 {
        let s = seen(db).await;
        if s.len() >= n {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    seen(db).await
}

fn spec(name: &str) -> ConsumerSpec {
    ConsumerSpec {
        name: name.into(),
        filter: "hwx.registration.>".into(),
        max_deliveries: 5,
    }
}

#[tokio::test]
async fn a_rolled_back_change_publishes_nothing() {
    let env = TestEnv::new().await;
    let producer = env.database("registration", PRODUCER).await;
    let mut tx = producer.pool().begin().await.unwrap();
    events::stage(
        &mut tx,
        Uuid::now_v7(),
        "hwx.registration.org.registered",
        b"ghost",
        None,
    )
    .await
    .unwrap();
    tx.rollback().await.unwrap();
    let relay = Relay::new(producer.clone(), env.events());
    assert_eq!(relay.publish_batch().await.unwrap(), 0);
    env.cleanup().await;
}

#[tokio::test]
async fn relay_killed_before_marking_delivers_exactly_once() {
    let env = TestEnv::new().await;
    let producer = env.database("registration", PRODUCER).await;
    let consumer_db = env.database("compliance", CONSUMER).await;
    register(&producer, "株式会社A").await;
    register(&producer, "株式会社B").await;

    // The relay publishes, then dies before it can mark the events sent.
    let relay = Relay::new(producer.clone(), env.events());
    assert_eq!(relay.publish_batch_then_crash().await.unwrap(), 2);
    assert_eq!(
        relay.pending().await.unwrap(),
        2,
        "still staged: the relay never marked them"
    );
    // A new relay starts and publishes them again (same Nats-Msg-Id).
    let relay = Relay::new(producer.clone(), env.events());
    assert_eq!(relay.publish_batch().await.unwrap(), 2);
    assert_eq!(relay.pending().await.unwrap(), 0);

    let calls = Arc::new(AtomicUsize::new(0));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(events::run_consumer(
        consumer_db.clone(),
        env.events(),
        spec("compliance-orgs"),
        Record {
            calls: calls.clone(),
        },
        stopped,
    ));
    assert_eq!(
        wait_for(&consumer_db, 2).await,
        vec!["株式会社A", "株式会社B"]
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        seen(&consumer_db).await.len(),
        2,
        "each event applied exactly once"
    );
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "JetStream dropped the republished duplicates"
    );
    stop.send(true).unwrap();
    task.await.unwrap();
    env.cleanup().await;
}

#[tokio::test]
async fn replaying_events_has_no_second_effect() {
    let env = TestEnv::new().await;
    let consumer_db = env.database("compliance", CONSUMER).await;
    let calls = Arc::new(AtomicUsize::new(0));
    let handler = Record {
        calls: calls.clone(),
    };
    let d = Delivered {
        event_id: Uuid::now_v7(),
        subject: "hwx.registration.org.registered".into(),
        payload: "株式会社C".into(),
        traceparent: None,
        delivery: 1,
    };
    assert_eq!(
        events::apply(&consumer_db, "c", &handler, &d, 5)
            .await
            .unwrap(),
        Applied::Applied
    );
    for delivery in 2..5 {
        let again = Delivered {
            delivery,
            ..d.clone()
        };
        assert_eq!(
            events::apply(&consumer_db, "c", &handler, &again, 5)
                .await
                .unwrap(),
            Applied::Duplicate
        );
    }
    assert_eq!(seen(&consumer_db).await, vec!["株式会社C"]);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "the handler never ran for a replay"
    );
    // Another consumer keeps its own inbox: it applies the event once too.
    assert_eq!(
        events::apply(&consumer_db, "other", &handler, &d, 5)
            .await
            .unwrap(),
        Applied::Applied
    );
    env.cleanup().await;
}

#[tokio::test]
async fn a_poison_event_is_dead_lettered_not_retried_forever() {
    let env = TestEnv::new().await;
    let consumer_db = env.database("compliance", CONSUMER).await;
    let handler = Record {
        calls: Arc::new(AtomicUsize::new(0)),
    };
    let d = Delivered {
        event_id: Uuid::now_v7(),
        subject: "hwx.registration.org.registered".into(),
        payload: vec![0xff, 0xfe].into(),
        traceparent: None,
        delivery: 1,
    };
    assert_eq!(
        events::apply(&consumer_db, "c", &handler, &d, 5)
            .await
            .unwrap(),
        Applied::DeadLettered
    );
    assert_eq!(
        events::count(&consumer_db, "dead_letters").await.unwrap(),
        1
    );
    assert_eq!(
        events::count(&consumer_db, "inbox").await.unwrap(),
        0,
        "nothing half-applied"
    );
    env.cleanup().await;
}

#[tokio::test]
async fn concurrent_relays_publish_each_event_once() {
    let env = TestEnv::new().await;
    let producer = env.database("registration", PRODUCER).await;
    let consumer_db = env.database("compliance", CONSUMER).await;
    for i in 0..200 {
        register(&producer, &format!("org-{i:03}")).await;
    }
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let relays: Vec<_> = (0..3)
        .map(|_| {
            tokio::spawn(
                Relay::new(producer.clone(), env.events())
                    .run(stopped.clone(), Duration::from_millis(50)),
            )
        })
        .collect();
    let calls = Arc::new(AtomicUsize::new(0));
    let consumer = tokio::spawn(events::run_consumer(
        consumer_db.clone(),
        env.events(),
        spec("compliance-orgs"),
        Record {
            calls: calls.clone(),
        },
        stopped.clone(),
    ));
    let got = wait_for(&consumer_db, 200).await;
    assert_eq!(got.len(), 200);
    let mut unique = got.clone();
    unique.dedup();
    assert_eq!(unique.len(), 200, "no event applied twice");
    stop.send(true).unwrap();
    for r in relays {
        r.await.unwrap();
    }
    consumer.await.unwrap();
    env.cleanup().await;
}

#[tokio::test]
async fn a_deleted_consumer_is_recreated_and_nothing_is_lost() {
    let env = TestEnv::new().await;
    let producer = env.database("registration", PRODUCER).await;
    let consumer_db = env.database("compliance", CONSUMER).await;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let calls = Arc::new(AtomicUsize::new(0));
    let task = tokio::spawn(events::run_consumer(
        consumer_db.clone(),
        env.events(),
        spec("compliance-orgs"),
        Record {
            calls: calls.clone(),
        },
        stopped,
    ));
    let relay = Relay::new(producer.clone(), env.events());
    register(&producer, "before").await;
    relay.publish_batch().await.unwrap();
    assert_eq!(wait_for(&consumer_db, 1).await, vec!["before"]);
    // An operator deletes the consumer (or NATS lost it): the supervisor re-creates it.
    let stream = env.events().ensure_stream().await.unwrap();
    stream.delete_consumer("compliance-orgs").await.unwrap();
    register(&producer, "after").await;
    relay.publish_batch().await.unwrap();
    let got = wait_for(&consumer_db, 2).await;
    assert_eq!(
        got,
        vec!["after", "before"],
        "the re-created consumer replays from the start; the inbox drops what was applied"
    );
    stop.send(true).unwrap();
    task.await.unwrap();
    env.cleanup().await;
}
