//! Logs and traces through `tracing`. Logs are JSON lines in production, readable lines in
//! development. Spans become OpenTelemetry spans; they are exported over OTLP when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set, and W3C trace context (`traceparent`) is always carried,
//! through gRPC metadata and NATS headers, so one trace follows a request into every consumer.
//! Metrics go out over OTLP too, and are read in the Prometheus format by the kit's `/metrics`
//! endpoint when `HWX_METRICS_ADDR` is set ([`crate::prometheus`]).

use std::collections::HashMap;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::LogFormat;

/// Install the global subscriber once; later calls are ignored (tests start many services).
/// Returns the tracer provider to flush at exit (`provider.shutdown()`).
pub fn init(format: LogFormat, filter: &str) -> Option<Providers> {
    let mut traces = SdkTracerProvider::builder();
    // Always one Prometheus reader, whether or not `metrics_addr` is set: `init` does not see the
    // configuration, and a provider takes no reader once built. Unscraped, it costs the
    // aggregation of each measurement into one cumulative table (at most 2,000 series per
    // instrument, the SDK's limit) and nothing else; the kit serves it only when `metrics_addr`
    // is set. Each `init` makes it the global reader along with its provider.
    let prometheus = crate::prometheus::PrometheusReader::new();
    let mut metrics = SdkMeterProvider::builder().with_reader(prometheus.clone());
    if std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT").is_some() {
        // The standard OTEL_* variables configure the exporters (endpoint, headers, timeout).
        match opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .build()
        {
            Ok(exporter) => traces = traces.with_batch_exporter(exporter),
            Err(e) => eprintln!("hwx: OTLP span exporter not started: {e}"),
        }
        match opentelemetry_otlp::MetricExporter::builder()
            .with_tonic()
            .build()
        {
            Ok(exporter) => metrics = metrics.with_periodic_exporter(exporter),
            Err(e) => eprintln!("hwx: OTLP metric exporter not started: {e}"),
        }
    }
    let providers = Providers {
        traces: traces.build(),
        metrics: metrics.build(),
    };
    opentelemetry::global::set_meter_provider(providers.metrics.clone());
    crate::prometheus::set_global(prometheus);
    init_with(format, filter, providers.traces.clone()).then_some(providers)
}

/// The OpenTelemetry providers, to flush at exit.
#[derive(Debug)]
pub struct Providers {
    pub traces: SdkTracerProvider,
    pub metrics: SdkMeterProvider,
}

impl Providers {
    /// Flush what is buffered and stop exporting.
    pub fn shutdown(&self) {
        let _ = self.traces.shutdown();
        let _ = self.metrics.shutdown();
    }
}

/// Install the global subscriber with `provider` (tests pass one with an in-memory exporter).
/// Returns false when a subscriber was already installed.
pub fn init_with(format: LogFormat, filter: &str, provider: SdkTracerProvider) -> bool {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let tracer = provider.tracer("hwx");
    opentelemetry::global::set_tracer_provider(provider);
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    // Notices (a reset token) are for the log only: never a span event sent to a trace backend.
    let otel = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_filter(tracing_subscriber::filter::filter_fn(|m| {
            m.target() != "hwx::notice"
        }));
    let registry = tracing_subscriber::registry().with(filter).with(otel);
    let result = match format {
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_writer(std::io::stderr),
            )
            .try_init(),
        LogFormat::Pretty => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .compact()
                    .with_ansi(ansi)
                    .with_writer(std::io::stderr),
            )
            .try_init(),
    };
    result.is_ok()
}

/// The W3C `traceparent` of the current span, to put into an outgoing message.
pub fn current_traceparent() -> Option<String> {
    traceparent_of(&tracing::Span::current())
}

/// The W3C `traceparent` of `span`.
pub fn traceparent_of(span: &tracing::Span) -> Option<String> {
    let cx = span.context();
    let mut carrier: HashMap<String, String> = HashMap::new();
    TraceContextPropagator::new().inject_context(&cx, &mut carrier);
    carrier.remove("traceparent")
}

/// Make `span` a child of the context in `traceparent` (from a header or an outbox row).
pub fn set_parent(span: &tracing::Span, traceparent: Option<&str>) {
    let Some(tp) = traceparent else { return };
    let carrier: HashMap<String, String> =
        HashMap::from([("traceparent".to_owned(), tp.to_owned())]);
    let cx = TraceContextPropagator::new().extract(&carrier);
    let _ = span.set_parent(cx);
}
