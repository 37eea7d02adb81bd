//! Events over NATS JetStream with a transactional outbox and an idempotent inbox.
//!
//! - A producer stages an event with [`stage`] in the same transaction as its state change: both
//!   commit or neither does.
//! - A [`Relay`] publishes staged events with `Nats-Msg-Id` = event id, waits for JetStream's ack,
//!   then marks them sent. Several relays may run at once (`FOR UPDATE SKIP LOCKED`). A relay killed
//!   after publishing but before marking publishes again; JetStream's duplicate window and the
//!   consumers' inbox both drop the repeat.
//! - A consumer ([`run_consumer`]) records the event id in its inbox in the same transaction as the
//!   event's effect, so a replay is a no-op. It is a durable pull consumer, supervised: after a NATS
//!   restart it reconnects and re-creates what is missing.

use std::future::Future;
use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::{self, AckKind, consumer, stream};
use bytes::Bytes;
use futures::StreamExt;
use sqlx::{AssertSqlSafe, PgConnection, Row};
use tokio::sync::watch;
use uuid::Uuid;

use hwx_proto::Event;
use hwx_proto::events::v1::EventMeta;

use crate::db::{Database, Migration};

/// The outbox, inbox and dead-letter tables every service schema has. Services list it first in
/// their migrations; their own start at version 100.
pub const MIGRATION: Migration = Migration {
    version: 1,
    name: "outbox_inbox",
    sql: r#"
CREATE TABLE outbox (
    seq          bigserial PRIMARY KEY,
    event_id     uuid NOT NULL UNIQUE,
    subject      text NOT NULL,
    payload      bytea NOT NULL,
    traceparent  text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX outbox_unpublished ON outbox (seq) WHERE published_at IS NULL;

CREATE TABLE inbox (
    consumer     text NOT NULL,
    event_id     uuid NOT NULL,
    subject      text NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

CREATE TABLE dead_letters (
    consumer   text NOT NULL,
    event_id   uuid NOT NULL,
    subject    text NOT NULL,
    payload    bytea NOT NULL,
    error      text NOT NULL,
    failed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

-- Wake the relay as soon as an event commits (it also polls, so nothing waits on this).
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('hwx_outbox_' || TG_TABLE_SCHEMA, '');
    RETURN NULL;
END $$;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();
"#,
};

/// The SQL of the outbox, the relay and the inbox, checked against [`MIGRATION`] by the
/// platform's tests.
pub mod sql {
    crate::statements! {
        STAGE_ONE = "INSERT INTO outbox (event_id, subject, payload, traceparent) VALUES ($1, $2, $3, $4)";
        /// A batch of events, bound column by column.
        STAGE_MANY = "INSERT INTO outbox (event_id, subject, payload, traceparent)
             SELECT id, subject, payload, $4 FROM UNNEST($1::uuid[], $2::text[], $3::bytea[]) AS t(id, subject, payload)";
        /// The next events to publish, locked so that a second relay skips them.
        NEXT_BATCH = "SELECT seq, event_id, subject, payload, traceparent FROM outbox
             WHERE published_at IS NULL ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED";
        MARK_SENT = "UPDATE outbox SET published_at = now() WHERE seq = ANY($1)";
        PENDING = "SELECT count(*) FROM outbox WHERE published_at IS NULL";
        /// An event applied by a consumer; nothing when it was applied before.
        RECORD_INBOX = "INSERT INTO inbox (consumer, event_id, subject) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
        DEAD_LETTER = "INSERT INTO dead_letters (consumer, event_id, subject, payload, error) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT DO NOTHING";
    }
}

/// An events error.
#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    #[error("cannot connect to NATS at {url}: {message}")]
    Connect { url: String, message: String },
    #[error("JetStream: {0}")]
    JetStream(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

fn js_err(e: impl std::fmt::Display) -> EventsError {
    EventsError::JetStream(e.to_string())
}

/// The connection to the event stream: one JetStream stream for every HWX subject under a prefix.
#[derive(Debug, Clone)]
pub struct Events {
    js: jetstream::Context,
    prefix: String,
}

impl Events {
    /// Connect and create the stream if it does not exist (idempotent).
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, EventsError> {
        let client = async_nats::ConnectOptions::new()
            .name("hwx")
            .connect(url)
            .await
            .map_err(|e| EventsError::Connect {
                url: crate::config::redact_url(url),
                message: e.to_string(),
            })?;
        let events = Events {
            js: jetstream::new(client),
            prefix: prefix.into(),
        };
        events.ensure_stream().await?;
        Ok(events)
    }

    /// The stream name: `HWX`, or `HWX_<prefix>`.
    pub fn stream_name(&self) -> String {
        if self.prefix.is_empty() {
            "HWX".into()
        } else {
            format!("HWX_{}", self.prefix)
        }
    }

    /// The full NATS subject of an HWX subject (`hwx.registration.org.approved`).
    pub fn subject(&self, subject: &str) -> String {
        if self.prefix.is_empty() {
            subject.into()
        } else {
            format!("{}.{subject}", self.prefix)
        }
    }

    /// The HWX subject of a full NATS subject.
    pub fn strip<'a>(&self, full: &'a str) -> &'a str {
        if self.prefix.is_empty() {
            full
        } else {
            full.strip_prefix(&self.prefix)
                .and_then(|s| s.strip_prefix('.'))
                .unwrap_or(full)
        }
    }

    pub async fn ensure_stream(&self) -> Result<stream::Stream, EventsError> {
        self.js
            .get_or_create_stream(stream::Config {
                name: self.stream_name(),
                subjects: vec![self.subject("hwx.>")],
                duplicate_window: Duration::from_secs(120),
                storage: stream::StorageType::File,
                ..Default::default()
            })
            .await
            .map_err(js_err)
    }

    /// Delete the stream and this deployment's key-value buckets (tests clean up with this).
    pub async fn delete_stream(&self) -> Result<(), EventsError> {
        // This deployment's buckets are `KV_<stream>_<name>`, the name without `_`: another
        // deployment's (`KV_HWX_<its prefix>_<name>`) has one more `_` after this stream's name.
        let buckets = format!("KV_{}_", self.stream_name());
        let mut names = self.js.stream_names();
        let mut kv = Vec::new();
        while let Some(Ok(name)) = names.next().await {
            if let Some(own) = name.strip_prefix(&buckets)
                && !own.contains('_')
            {
                kv.push(name["KV_".len()..].to_owned());
            }
        }
        for bucket in kv {
            let _ = self.js.delete_key_value(bucket).await;
        }
        self.js
            .delete_stream(self.stream_name())
            .await
            .map(|_| ())
            .map_err(js_err)
    }

    pub fn jetstream(&self) -> &jetstream::Context {
        &self.js
    }

    /// The plain NATS connection (subjects outside the stream: nothing there is kept).
    pub fn client(&self) -> async_nats::Client {
        self.js.client()
    }

    /// A subject for messages that live only while they travel (replicas telling each other
    /// things): outside `hwx.>`, so the stream never stores them.
    pub fn live_subject(&self, subject: &str) -> String {
        self.subject(&format!("live.{subject}"))
    }

    /// This deployment's key-value bucket `name` (`HWX_gateway`, `HWX_<prefix>_gateway`), made on
    /// first use, keeping the latest value of each key.
    pub async fn kv(&self, name: &str) -> Result<jetstream::kv::Store, EventsError> {
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(EventsError::JetStream(format!(
                "bucket name {name:?}: letters, digits and - only"
            )));
        }
        // The bucket's stream is made here, as the key-value convention lays it out, rather than
        // by `create_key_value`: that first asks for the account's limits, which nats-server 2.9
        // answers in a form this client no longer reads.
        let bucket = format!("{}_{name}", self.stream_name());
        self.js
            .get_or_create_stream(stream::Config {
                name: format!("KV_{bucket}"),
                subjects: vec![format!("$KV.{bucket}.>")],
                max_messages_per_subject: 1,
                allow_rollup: true,
                deny_delete: true,
                allow_direct: true,
                discard: stream::DiscardPolicy::New,
                storage: stream::StorageType::File,
                ..Default::default()
            })
            .await
            .map_err(js_err)?;
        self.js.get_key_value(bucket).await.map_err(js_err)
    }
}

/// Stage a raw event in the caller's transaction. It is published after the transaction commits,
/// and never if it rolls back. Services stage typed events through [`Outbox`]; this is for tests
/// of the relay and inbox themselves.
#[doc(hidden)]
pub async fn stage(
    conn: &mut PgConnection,
    event_id: Uuid,
    subject: &str,
    payload: &[u8],
    traceparent: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(sql::STAGE_ONE)
        .bind(event_id)
        .bind(subject)
        .bind(payload)
        .bind(traceparent)
        .execute(conn)
        .await?;
    Ok(())
}

/// The outbox of one service: builds each event's metadata (id, time from the service's clock,
/// producer) and stages it in the caller's transaction. No service writes outbox rows itself.
#[derive(Clone)]
pub struct Outbox {
    producer: &'static str,
    clock: crate::clock::SharedClock,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("producer", &self.producer)
            .finish()
    }
}

impl Outbox {
    pub fn new(producer: &'static str, clock: crate::clock::SharedClock) -> Self {
        Outbox { producer, clock }
    }

    /// Stage one event in `tx`; it is published once `tx` commits, never if it rolls back.
    pub async fn stage<E: Event>(
        &self,
        tx: &mut PgConnection,
        event: E,
    ) -> Result<Uuid, sqlx::Error> {
        let mut batch = self.batch();
        let id = batch.push(event);
        batch.stage(tx).await?;
        Ok(id)
    }

    /// Collect events to stage with one statement (a batch of hundreds of postings).
    pub fn batch(&self) -> Batch {
        Batch {
            outbox: self.clone(),
            now: self.clock.now(),
            ids: Vec::new(),
            subjects: Vec::new(),
            payloads: Vec::new(),
        }
    }
}

/// Events of one transaction, staged together by [`Batch::stage`].
#[derive(Debug)]
pub struct Batch {
    outbox: Outbox,
    now: chrono::DateTime<chrono::Utc>,
    ids: Vec<Uuid>,
    subjects: Vec<&'static str>,
    payloads: Vec<Vec<u8>>,
}

impl Batch {
    /// Add `event` with fresh metadata; returns its id.
    pub fn push<E: Event>(&mut self, mut event: E) -> Uuid {
        let id = Uuid::now_v7();
        event.set_meta(EventMeta {
            event_id: id.to_string(),
            occurred_at: Some(crate::grpc::timestamp(self.now)),
            producer: self.outbox.producer.to_owned(),
        });
        self.ids.push(id);
        self.subjects.push(E::SUBJECT);
        self.payloads.push(prost::Message::encode_to_vec(&event));
        id
    }

    /// Stage them all in `tx`, with the current trace context.
    pub async fn stage(self, tx: &mut PgConnection) -> Result<(), sqlx::Error> {
        if self.ids.is_empty() {
            return Ok(());
        }
        let traceparent = crate::telemetry::current_traceparent();
        sqlx::query(sql::STAGE_MANY)
            .bind(&self.ids)
            .bind(&self.subjects)
            .bind(&self.payloads)
            .bind(traceparent)
            .execute(tx)
            .await?;
        Ok(())
    }
}

/// Publishes staged events of one schema.
#[derive(Debug, Clone)]
pub struct Relay {
    db: Database,
    events: Events,
    batch: i64,
}

impl Relay {
    pub fn new(db: Database, events: Events) -> Self {
        Relay {
            db,
            events,
            batch: 256,
        }
    }

    /// Publish one batch and mark it sent; returns how many were published.
    pub async fn publish_batch(&self) -> Result<usize, EventsError> {
        self.publish(true).await
    }

    /// Publish one batch but die before marking it sent: what a relay killed at the worst moment
    /// leaves behind. For tests of exactly-once delivery.
    #[doc(hidden)]
    pub async fn publish_batch_then_crash(&self) -> Result<usize, EventsError> {
        self.publish(false).await
    }

    async fn publish(&self, mark: bool) -> Result<usize, EventsError> {
        let mut tx = self.db.pool().begin().await?;
        let rows = sqlx::query(sql::NEXT_BATCH)
            .bind(self.batch)
            .fetch_all(&mut *tx)
            .await?;
        let mut acks = Vec::with_capacity(rows.len());
        let mut seqs = Vec::with_capacity(rows.len());
        for row in &rows {
            let event_id: Uuid = row.try_get("event_id")?;
            let subject: String = row.try_get("subject")?;
            let payload: Vec<u8> = row.try_get("payload")?;
            let traceparent: Option<String> = row.try_get("traceparent")?;
            let mut headers = HeaderMap::new();
            headers.insert("Nats-Msg-Id", event_id.to_string().as_str());
            // A producer span in the trace of the request that staged the event; the consumer's
            // span becomes its child through the header.
            let span = tracing::info_span!(
                "publish",
                otel.name = %format!("publish {subject}"),
                otel.kind = "producer",
                messaging.system = "nats",
                messaging.operation.type = "publish",
                messaging.destination.name = %subject,
                messaging.message.id = %event_id,
            );
            crate::telemetry::set_parent(&span, traceparent.as_deref());
            if let Some(tp) = crate::telemetry::traceparent_of(&span).or(traceparent.clone()) {
                headers.insert("traceparent", tp.as_str());
            }
            drop(span);
            let ack = self
                .events
                .js
                .publish_with_headers(self.events.subject(&subject), headers, Bytes::from(payload))
                .await
                .map_err(js_err)?;
            acks.push(ack);
            seqs.push(row.try_get::<i64, _>("seq")?);
        }
        // Wait for every ack before marking: an unacknowledged event stays staged.
        for ack in acks {
            ack.await.map_err(js_err)?;
        }
        if !mark {
            return Ok(seqs.len());
        }
        sqlx::query(sql::MARK_SENT)
            .bind(&seqs)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(seqs.len())
    }

    /// Events staged and not yet published (outbox lag).
    pub async fn pending(&self) -> Result<i64, EventsError> {
        Ok(sqlx::query_scalar(sql::PENDING)
            .fetch_one(self.db.pool())
            .await?)
    }

    /// Publish until `shutdown`, woken by NOTIFY and at least every `poll`. On shutdown it
    /// flushes what is staged before returning.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>, poll: Duration) {
        let stopped = *shutdown.borrow();
        if stopped {
            self.drain().await;
            return;
        }
        let channel = format!("hwx_outbox_{}", self.db.schema());
        let mut listener = match sqlx::postgres::PgListener::connect_with(self.db.pool()).await {
            Ok(mut l) => match l.listen(&channel).await {
                Ok(()) => Some(l),
                Err(e) => {
                    tracing::warn!(error = %e, "outbox relay: LISTEN failed, polling only");
                    None
                }
            },
            Err(e) => {
                tracing::warn!(error = %e, "outbox relay: no listener, polling only");
                None
            }
        };
        // One publisher per schema at a time keeps events in commit order; the others stand by
        // and take over when the leader's session ends.
        let mut leader =
            crate::db::Leadership::new(format!("hwx-outbox-relay-{}", self.db.schema()));
        let mut stopping = false;
        loop {
            if let Ok(pending) = self.pending().await {
                crate::metrics::outbox_pending(
                    self.db.schema(),
                    u64::try_from(pending).unwrap_or(0),
                );
            }
            if leader.acquire(&self.db).await {
                self.drain().await;
            }
            if stopping {
                return;
            }
            let notified = async {
                match listener.as_mut() {
                    Some(l) => l.recv().await.map(|_| ()).map_err(|e| e.to_string()),
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                r = notified => {
                    if let Err(e) = r {
                        // A broken listener would wake us in a loop: fall back to polling.
                        tracing::warn!(error = %e, "outbox relay: listener lost, polling only");
                        listener = None;
                    }
                }
                _ = tokio::time::sleep(poll) => {}
                // `wait_for` lends a guard on the value: drop it before the awaits below.
                _ = async { shutdown.wait_for(|s| *s).await.map(|_| ()) } => {
                    // Requests still draining may commit events: give them a moment, then flush
                    // once more before stopping.
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    stopping = true;
                }
            }
        }
    }

    /// Publish batches until nothing is staged or publishing fails.
    async fn drain(&self) {
        loop {
            match self.publish_batch().await {
                Ok(0) => return,
                Ok(n) => tracing::debug!(published = n, schema = self.db.schema(), "outbox relay"),
                Err(e) => {
                    tracing::warn!(error = %e, schema = self.db.schema(), "outbox relay: publish failed, retrying");
                    return;
                }
            }
        }
    }
}

/// One event as a consumer sees it.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub event_id: Uuid,
    /// The HWX subject, without the deployment prefix.
    pub subject: String,
    pub payload: Bytes,
    pub traceparent: Option<String>,
    /// How many times JetStream has delivered it (1 the first time).
    pub delivery: i64,
}

impl Delivered {
    /// The event as `E`, when this delivery is one (its subject says so); a payload that does not
    /// decode can never apply and is poison.
    pub fn decode<E: Event>(&self) -> Option<Result<E, HandlerError>> {
        (self.subject == E::SUBJECT).then(|| {
            E::decode(self.payload.clone())
                .map_err(|e| HandlerError::Poison(format!("{}: {e}", E::SUBJECT)))
        })
    }

    /// When the event happened, as its producer stamped it.
    pub fn occurred_at<E: Event>(event: &E) -> Option<chrono::DateTime<chrono::Utc>> {
        event
            .meta()
            .and_then(|m| m.occurred_at.as_ref())
            .and_then(crate::grpc::instant)
    }
}

/// Why an event could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// Try again later (a dependency is down).
    #[error("retry: {0}")]
    Retry(String),
    /// The event can never be applied (malformed): it goes to the dead letters.
    #[error("poison: {0}")]
    Poison(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// A consumer's effect: runs inside the transaction that records the event in the inbox.
pub trait Handler: Send + Sync + 'static {
    fn handle<'a>(
        &'a self,
        event: &'a Delivered,
        tx: &'a mut PgConnection,
    ) -> impl Future<Output = Result<(), HandlerError>> + Send + 'a;
}

/// How a consumer is set up.
#[derive(Debug, Clone)]
pub struct ConsumerSpec {
    /// Durable name, unique per consuming service and purpose (`compliance-org-events`).
    pub name: String,
    /// HWX subject filter (`hwx.registration.>`).
    pub filter: String,
    /// Deliveries after which a failing event goes to the dead letters.
    pub max_deliveries: i64,
}

/// Outcome of one delivery, for tests and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Applied,
    /// Already in the inbox: a replay, nothing done.
    Duplicate,
    Retried,
    DeadLettered,
}

/// Apply one delivery: inbox row and effect in one transaction.
pub async fn apply<H: Handler>(
    db: &Database,
    consumer: &str,
    handler: &H,
    d: &Delivered,
    max_deliveries: i64,
) -> Result<Applied, sqlx::Error> {
    let mut tx = db.pool().begin().await?;
    let inserted = sqlx::query(sql::RECORD_INBOX)
        .bind(consumer)
        .bind(d.event_id)
        .bind(&d.subject)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if inserted == 0 {
        tx.rollback().await?;
        return Ok(Applied::Duplicate);
    }
    match handler.handle(d, &mut tx).await {
        Ok(()) => {
            tx.commit().await?;
            Ok(Applied::Applied)
        }
        Err(e) => {
            tx.rollback().await?;
            let poison = matches!(e, HandlerError::Poison(_)) || d.delivery >= max_deliveries;
            if !poison {
                tracing::warn!(consumer, event_id = %d.event_id, error = %e, "event not applied, will retry");
                return Ok(Applied::Retried);
            }
            tracing::error!(consumer, event_id = %d.event_id, error = %e, "event dead-lettered");
            sqlx::query(sql::DEAD_LETTER)
                .bind(consumer)
                .bind(d.event_id)
                .bind(&d.subject)
                .bind(d.payload.as_ref())
                .bind(e.to_string())
                .execute(db.pool())
                .await?;
            Ok(Applied::DeadLettered)
        }
    }
}

/// Run a durable pull consumer until `shutdown`, re-creating it after any failure (NATS restart,
/// deleted consumer) with a capped backoff.
pub async fn run_consumer<H: Handler>(
    db: Database,
    events: Events,
    spec: ConsumerSpec,
    handler: H,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut backoff = Duration::from_millis(100);
    loop {
        if *shutdown.borrow() {
            return;
        }
        match consume(&db, &events, &spec, &handler, &mut shutdown).await {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(consumer = %spec.name, error = %e, retry_in = ?backoff, "consumer failed; re-creating");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.changed() => return,
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

async fn consume<H: Handler>(
    db: &Database,
    events: &Events,
    spec: &ConsumerSpec,
    handler: &H,
    shutdown: &mut watch::Receiver<bool>,
) -> Result<(), EventsError> {
    let stream = events.ensure_stream().await?;
    let consumer: consumer::PullConsumer = stream
        .get_or_create_consumer(
            &spec.name,
            consumer::pull::Config {
                durable_name: Some(spec.name.clone()),
                filter_subject: events.subject(&spec.filter),
                ack_policy: consumer::AckPolicy::Explicit,
                ack_wait: Duration::from_secs(30),
                max_deliver: spec.max_deliveries + 1,
                ..Default::default()
            },
        )
        .await
        .map_err(js_err)?;
    let mut messages = consumer.messages().await.map_err(js_err)?;
    loop {
        let next = tokio::select! {
            m = messages.next() => m,
            _ = shutdown.changed() => return Ok(()),
        };
        let Some(msg) = next else {
            return Err(EventsError::JetStream("message stream ended".into()));
        };
        let msg = msg.map_err(js_err)?;
        let headers = msg.headers.clone().unwrap_or_default();
        let event_id = headers
            .get("Nats-Msg-Id")
            .and_then(|v| Uuid::parse_str(v.as_str()).ok());
        let delivery = msg.info().map(|i| i.delivered).unwrap_or(1);
        if let Ok(info) = msg.info() {
            crate::metrics::consumer_pending(&spec.name, info.pending);
        }
        let Some(event_id) = event_id else {
            tracing::error!(consumer = %spec.name, subject = %msg.subject, "event without a Nats-Msg-Id: terminated");
            msg.ack_with(AckKind::Term).await.map_err(js_err)?;
            continue;
        };
        let delivered = Delivered {
            event_id,
            subject: events.strip(msg.subject.as_str()).to_owned(),
            payload: msg.payload.clone(),
            traceparent: headers.get("traceparent").map(|v| v.as_str().to_owned()),
            delivery,
        };
        let span = tracing::info_span!(
            "process",
            otel.name = %format!("process {}", delivered.subject),
            otel.kind = "consumer",
            messaging.system = "nats",
            messaging.operation.type = "process",
            messaging.destination.name = %delivered.subject,
            messaging.consumer.group.name = %spec.name,
            messaging.message.id = %delivered.event_id,
        );
        crate::telemetry::set_parent(&span, delivered.traceparent.as_deref());
        let applied = tracing::Instrument::instrument(
            apply(db, &spec.name, handler, &delivered, spec.max_deliveries),
            span,
        )
        .await?;
        crate::metrics::consumer_event(
            &spec.name,
            match applied {
                Applied::Applied => "applied",
                Applied::Duplicate => "duplicate",
                Applied::Retried => "retried",
                Applied::DeadLettered => "dead_lettered",
            },
        );
        match applied {
            Applied::Applied | Applied::Duplicate | Applied::DeadLettered => {
                msg.ack().await.map_err(js_err)?
            }
            Applied::Retried => msg
                .ack_with(AckKind::Nak(Some(
                    Duration::from_millis(500) * delivery.clamp(1, 20) as u32,
                )))
                .await
                .map_err(js_err)?,
        }
    }
}

/// Count rows of a table in the schema: a helper for tests and health checks.
pub async fn count(db: &Database, table: &str) -> Result<i64, sqlx::Error> {
    if !crate::db::valid_identifier(table) {
        return Err(sqlx::Error::Protocol(format!("bad table name {table:?}")));
    }
    sqlx::query_scalar(AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
        .fetch_one(db.pool())
        .await
}
