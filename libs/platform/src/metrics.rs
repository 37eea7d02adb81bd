//! Metrics through OpenTelemetry, exported over OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set:
//! request latency, outbox lag, consumer outcomes, sweep durations.

use std::sync::OnceLock;

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Gauge, Histogram};

struct Instruments {
    http_duration: Histogram<f64>,
    rpc_duration: Histogram<f64>,
    consumer_pending: Gauge<u64>,
    outbox_pending: Gauge<u64>,
    consumer_events: Counter<u64>,
    sweep_duration: Histogram<f64>,
}

/// Bucket bounds of the latency histograms, in seconds: the SDK's defaults (0, 5, 10, 25 …) are
/// for milliseconds and would put every request in the first bucket.
fn seconds() -> Vec<f64> {
    vec![
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    ]
}

/// Made on first use from the global meter provider, which `telemetry::init` installs first.
fn instruments() -> &'static Instruments {
    static I: OnceLock<Instruments> = OnceLock::new();
    I.get_or_init(|| {
        let meter = opentelemetry::global::meter("hwx");
        Instruments {
            http_duration: meter
                .f64_histogram("http.server.request.duration")
                .with_unit("s")
                .with_description("Gateway request latency")
                .with_boundaries(seconds())
                .build(),
            rpc_duration: meter
                .f64_histogram("rpc.server.duration")
                .with_unit("s")
                .with_description("gRPC call latency in the services")
                .with_boundaries(seconds())
                .build(),
            consumer_pending: meter
                .u64_gauge("hwx.consumer.pending")
                .with_description(
                    "Events in the stream not yet delivered to a consumer (consumer lag)",
                )
                .build(),
            outbox_pending: meter
                .u64_gauge("hwx.outbox.pending")
                .with_description("Events committed but not yet published (outbox lag)")
                .build(),
            consumer_events: meter
                .u64_counter("hwx.consumer.events")
                .with_description("Events handled by consumers, by outcome")
                .build(),
            sweep_duration: meter
                .f64_histogram("hwx.sweep.duration")
                .with_unit("s")
                .with_description("Sweep run time")
                .with_boundaries(seconds())
                .build(),
        }
    })
}

/// One gateway request: method, route template and status.
pub fn http_request(method: &str, route: &str, status: u16, seconds: f64) {
    instruments().http_duration.record(
        seconds,
        &[
            KeyValue::new("http.request.method", method.to_owned()),
            KeyValue::new("http.route", route.to_owned()),
            KeyValue::new("http.response.status_code", i64::from(status)),
        ],
    );
}

/// Outbox lag of one schema.
pub fn outbox_pending(schema: &str, pending: u64) {
    instruments()
        .outbox_pending
        .record(pending, &[KeyValue::new("hwx.schema", schema.to_owned())]);
}

/// One delivery handled by a consumer (`applied`, `duplicate`, `retried`, `dead_lettered`).
pub fn consumer_event(consumer: &str, outcome: &'static str) {
    instruments().consumer_events.add(
        1,
        &[
            KeyValue::new("messaging.consumer.group.name", consumer.to_owned()),
            KeyValue::new("outcome", outcome),
        ],
    );
}

/// One run of a sweep.
pub fn sweep(name: &'static str, seconds: f64) {
    instruments()
        .sweep_duration
        .record(seconds, &[KeyValue::new("hwx.sweep", name)]);
}

/// One gRPC call handled by a service (`/hwx.registration.v1.RegistrationService/Login`).
pub fn rpc(method: &str, seconds: f64) {
    instruments().rpc_duration.record(
        seconds,
        &[
            KeyValue::new("rpc.system", "grpc"),
            KeyValue::new("rpc.method", method.to_owned()),
        ],
    );
}

/// Consumer lag: how many events wait for `consumer`, as JetStream reports with each delivery.
pub fn consumer_pending(consumer: &str, pending: u64) {
    instruments().consumer_pending.record(
        pending,
        &[KeyValue::new(
            "messaging.consumer.group.name",
            consumer.to_owned(),
        )],
    );
}
