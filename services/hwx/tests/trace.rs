//! One request through the gateway produces one trace (and its metrics): the gateway's HTTP span,
//! the registration service's gRPC span, the outbox relay's publish span and a consumer's process
//! span in another service, linked across NATS by the W3C traceparent header.
//!
//! Its own test binary: it installs the global tracing subscriber with an in-memory exporter.

#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed, and says where

mod common;

use hwx_platform::config::LogFormat;
use opentelemetry::trace::SpanKind;
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, SdkMeterProvider};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_request_one_trace_across_grpc_and_nats() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    assert!(hwx_platform::telemetry::init_with(
        LogFormat::Pretty,
        // No notifier: the scenario reads its sign-up token from the notice, undelivered.
        "info,hwx::notice=off",
        provider.clone()
    ));
    let metrics = InMemoryMetricExporter::default();
    let meter_provider = SdkMeterProvider::builder()
        .with_periodic_exporter(metrics.clone())
        .build();
    opentelemetry::global::set_meter_provider(meter_provider.clone());

    let running = common::one_request_across_services().await;
    let _ = provider.force_flush();

    let spans = exporter.get_finished_spans().unwrap();
    let http = spans
        .iter()
        .find(|s| s.name == common::REQUEST_SPAN)
        .expect("the gateway's span");
    let trace = http.span_context.trace_id();
    let in_trace: Vec<_> = spans
        .iter()
        .filter(|s| s.span_context.trace_id() == trace)
        .collect();
    let names: Vec<&str> = in_trace.iter().map(|s| s.name.as_ref()).collect();
    let find = |name: &str| in_trace.iter().find(|s| s.name == name).copied();
    let (Some(grpc), Some(publish), Some(process)) = (
        find(common::GRPC_SPAN),
        find(common::PUBLISH_SPAN),
        find(common::PROCESS_SPAN),
    ) else {
        panic!("one trace across the services: {names:?}");
    };
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
        "rpc.server.duration",
        "hwx.consumer.events",
        "hwx.consumer.pending",
        "hwx.outbox.pending",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "metric {expected} missing from {names:?}"
        );
    }
    running.stop().await;
}
