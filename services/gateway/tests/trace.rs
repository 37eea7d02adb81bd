//! One request through the gateway produces one trace (and its metrics): the gateway's HTTP span, the
//! registration service's gRPC span, the outbox relay's publish span and a consumer's process
//! span in another service, linked across NATS by the W3C traceparent header.
//!
//! Its own test binary: it installs the global tracing subscriber with an in-memory exporter.

#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed, and says where

use std::sync::Arc;
use std::time::Duration;

use hwx_gateway::GatewayConfig;
use hwx_platform::clock::SystemClock;
use hwx_platform::config::LogFormat;
use hwx_platform::db::Migration;
use hwx_platform::events::{self, ConsumerSpec, Delivered, Handler, HandlerError};
use hwx_rules::maintenance::MaintenancePolicy;
use hwx_testkit::TestEnv;
use hwx_testkit::http::request;
use opentelemetry::trace::SpanKind;
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, SdkMeterProvider};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use serde_json::json;
use sqlx::PgConnection;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_request_one_trace_across_grpc_and_nats() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    assert!(hwx_platform::telemetry::init_with(
        LogFormat::Pretty,
        "info",
        provider.clone()
    ));
    let metrics = InMemoryMetricExporter::default();
    let meter_provider = SdkMeterProvider::builder()
        .with_periodic_exporter(metrics.clone())
        .build();
    opentelemetry::global::set_meter_provider(meter_provider.clone());

    let env = TestEnv::new().await;
    let db = env
        .database("registration", hwx_registration::MIGRATIONS)
        .await;
    let compliance = env.database("compliance", CONSUMER).await;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let clock = Arc::new(SystemClock);
    let reg = hwx_registration::serve(
        db.clone(),
        env.events(),
        clock.clone(),
        "127.0.0.1:0".parse().unwrap(),
        stopped.clone(),
    )
    .await
    .unwrap();
    let cfg = GatewayConfig {
        registration_url: format!("http://{}", reg.grpc.addr),
        maintenance: MaintenancePolicy::none(),
        requests_per_second: 1000,
        burst: 1000,
    };
    let gw = hwx_gateway::serve(cfg, clock, "127.0.0.1:0".parse().unwrap(), stopped.clone())
        .await
        .unwrap();
    let consumer = tokio::spawn(events::run_consumer(
        compliance.clone(),
        env.events(),
        ConsumerSpec {
            name: "compliance-registration".into(),
            filter: "hwx.registration.>".into(),
            max_deliveries: 5,
        },
        Seen,
        stopped,
    ));

    let r = request(
        gw.addr,
        "POST",
        "/v1/accounts",
        None,
        Some(&json!({"email": "trace@example.jp", "password": "a long enough password"})),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 201);
    let token = request(
        gw.addr,
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
    // The request under test: registering the organisation stages hwx.registration.org.registered.
    let r = request(
        gw.addr,
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
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _ = provider.force_flush();

    let spans = exporter.get_finished_spans().unwrap();
    let http = spans
        .iter()
        .find(|s| s.name == "POST /v1/organisations")
        .expect("the gateway's span");
    let trace = http.span_context.trace_id();
    let in_trace: Vec<_> = spans
        .iter()
        .filter(|s| s.span_context.trace_id() == trace)
        .collect();
    let names: Vec<&str> = in_trace.iter().map(|s| s.name.as_ref()).collect();
    let grpc = in_trace
        .iter()
        .find(|s| s.name == "/hwx.registration.v1.RegistrationService/RegisterOrganisation");
    let publish = in_trace
        .iter()
        .find(|s| s.name == "publish hwx.registration.org.registered");
    let process = in_trace
        .iter()
        .find(|s| s.name == "process hwx.registration.org.registered");
    assert!(
        grpc.is_some() && publish.is_some() && process.is_some(),
        "one trace across the services: {names:?}"
    );
    let (grpc, publish, process) = (grpc.unwrap(), publish.unwrap(), process.unwrap());
    assert_eq!(
        grpc.parent_span_id,
        http.span_context.span_id(),
        "gRPC span is the HTTP span's child"
    );
    assert_eq!(publish.span_kind, SpanKind::Producer);
    assert_eq!(process.span_kind, SpanKind::Consumer);
    assert_eq!(
        process.parent_span_id,
        publish.span_context.span_id(),
        "linked across NATS"
    );
    assert!(
        process
            .attributes
            .iter()
            .any(|kv| kv.key.as_str() == "messaging.system" && kv.value.as_str() == "nats")
    );

    // The same request shows in the metrics: its latency by route, and the consumer's outcome.
    meter_provider.force_flush().unwrap();
    let exported = metrics.get_finished_metrics().unwrap();
    let names: Vec<String> = exported
        .iter()
        .flat_map(|rm| {
            rm.scope_metrics()
                .flat_map(|sm| sm.metrics().map(|m| m.name().to_owned()))
        })
        .collect();
    for expected in [
        "http.server.request.duration",
        "hwx.consumer.events",
        "hwx.outbox.pending",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "metric {expected} missing from {names:?}"
        );
    }

    let _ = stop.send(true);
    let _ = consumer.await;
    let _ = gw.handle.await;
    let _ = reg.grpc.handle.await;
    let _ = reg.relay.await;
    env.cleanup().await;
}
