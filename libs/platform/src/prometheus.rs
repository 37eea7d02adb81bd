//! The metrics of [`crate::metrics`] in the Prometheus text format (0.0.4), for a scraper: a
//! [`PrometheusReader`] registered in the meter provider beside the OTLP exporter, and a minimal
//! HTTP/1.1 server that answers `GET /metrics` with what it reads ([`serve`]). The kit starts that
//! server once per process when `metrics_addr` (`HWX_METRICS_ADDR`) is set; it is off by default.
//!
//! Names follow the OpenTelemetry → Prometheus conventions: dots become underscores, the unit
//! becomes a suffix (`s` → `_seconds`), counters end in `_total`; attribute keys become label names
//! the same way. So `http.server.request.duration` (unit `s`) is
//! `http_server_request_duration_seconds_bucket{http_route="…",le="0.5"}`, `…_sum` and `…_count`.
//! Values are cumulative since the process started, as Prometheus expects.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, PoisonError, RwLock, Weak};
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, Metric, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::reader::MetricReader;
use opentelemetry_sdk::metrics::{InstrumentKind, ManualReader, Pipeline, Temporality};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// The `Content-Type` of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A pull reader: register a clone in the meter provider (`.with_reader(reader.clone())`), then
/// [`render`](Self::render) what the provider aggregated, whenever a scraper asks. Clones share
/// one underlying reader, so the clone kept to render and the one the provider owns are the same.
#[derive(Debug, Clone)]
pub struct PrometheusReader {
    inner: Arc<ManualReader>,
}

impl Default for PrometheusReader {
    fn default() -> Self {
        Self::new()
    }
}

impl PrometheusReader {
    /// A reader with cumulative temporality (what Prometheus expects of counters and histograms).
    pub fn new() -> Self {
        PrometheusReader {
            inner: Arc::new(
                ManualReader::builder()
                    .with_temporality(Temporality::Cumulative)
                    .build(),
            ),
        }
    }

    /// Everything the provider holds now, in the text exposition format 0.0.4: metrics sorted by
    /// name, series by labels. Empty when nothing was recorded yet; a `#` comment (which scrapers
    /// ignore) when the reader is not registered in a provider, or the provider was shut down.
    pub fn render(&self) -> String {
        let mut collected = ResourceMetrics::default();
        match self.inner.collect(&mut collected) {
            Ok(()) => exposition(&collected),
            Err(e) => format!("# metrics not collected: {e}\n"),
        }
    }
}

/// Delegates to the shared [`ManualReader`], so a clone can be handed to the provider.
impl MetricReader for PrometheusReader {
    fn register_pipeline(&self, pipeline: Weak<Pipeline>) {
        self.inner.register_pipeline(pipeline);
    }

    fn collect(&self, rm: &mut ResourceMetrics) -> OTelSdkResult {
        self.inner.collect(rm)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn temporality(&self, kind: InstrumentKind) -> Temporality {
        self.inner.temporality(kind)
    }
}

/// The reader of the global meter provider: replaced by each `telemetry::init`, as the global
/// provider is, so it always reads the provider installed last.
static GLOBAL: RwLock<Option<PrometheusReader>> = RwLock::new(None);

/// The reader registered in the global meter provider, once `telemetry::init` installed one.
pub fn global() -> Option<PrometheusReader> {
    GLOBAL
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

/// Make `reader` the one [`global`] returns (`telemetry::init` calls this with the reader it
/// registered in the provider it makes global).
pub fn set_global(reader: PrometheusReader) {
    *GLOBAL.write().unwrap_or_else(PoisonError::into_inner) = Some(reader);
}

/// Answer on `listener` until `shutdown` turns true: `GET /metrics` (and `HEAD`) with the metrics
/// of the global reader ([`global`], looked up at each scrape), any other path with 404. One
/// request per connection (`Connection: close`), which is what a scraper needs.
pub async fn serve(listener: TcpListener, shutdown: watch::Receiver<bool>) -> std::io::Result<()> {
    serve_with(listener, global, shutdown).await
}

/// [`serve`] with the reader found by `source` (tests pass their own).
async fn serve_with<F>(
    listener: TcpListener,
    source: F,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<()>
where
    F: Fn() -> Option<PrometheusReader>,
{
    loop {
        let accepted = tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => return Ok(()),
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, _)) => {
                let reader = source();
                tokio::spawn(async move {
                    // A client that stalls does not keep its task forever.
                    let _ = tokio::time::timeout(REQUEST_TIMEOUT, answer(stream, reader)).await;
                });
            }
            // Out of file descriptors, say: the next accept may work; do not spin meanwhile.
            Err(e) => {
                tracing::warn!(error = %e, "metrics endpoint: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// How long one connection may take, from accept to the last byte of the answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The most a request head may hold (request line and headers); a scrape needs a few hundred.
const MAX_HEAD: usize = 16 * 1024;

/// Read one request head and answer it.
async fn answer(mut stream: TcpStream, reader: Option<PrometheusReader>) -> std::io::Result<()> {
    let mut head: Vec<u8> = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    // The whole head is read (a GET has no body), so closing after the answer loses nothing the
    // client sent and does not reset the connection under the answer.
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        if head.len() > MAX_HEAD {
            let reply = response("431 Request Header Fields Too Large", "", "text/plain", "");
            return finish(stream, reply.as_bytes(), None).await;
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        head.extend_from_slice(&chunk[..n]);
    }
    let line = head
        .split(|b| *b == b'\n')
        .next()
        .and_then(|l| std::str::from_utf8(l).ok())
        .unwrap_or("")
        .trim_end_matches('\r');
    let mut words = line.split(' ');
    let (method, target, version) = (words.next(), words.next(), words.next());
    let (Some(method), Some(target), Some(version)) = (method, target, version) else {
        let reply = response("400 Bad Request", "", "text/plain", "bad request\n");
        return finish(stream, reply.as_bytes(), None).await;
    };
    if !version.starts_with("HTTP/1.") {
        let reply = response("400 Bad Request", "", "text/plain", "bad request\n");
        return finish(stream, reply.as_bytes(), None).await;
    }
    let path = target.split('?').next().unwrap_or(target);
    let head_only = method == "HEAD";
    let (status, extra, content_type, body): (&str, &str, &str, Cow<'static, str>) =
        match (method, path) {
            ("GET" | "HEAD", "/metrics") => match &reader {
                Some(r) => ("200 OK", "", CONTENT_TYPE, r.render().into()),
                None => (
                    "503 Service Unavailable",
                    "",
                    "text/plain",
                    "no meter provider with a Prometheus reader (telemetry::init was not called)\n"
                        .into(),
                ),
            },
            (_, "/metrics") => (
                "405 Method Not Allowed",
                "Allow: GET, HEAD\r\n",
                "text/plain",
                "method not allowed\n".into(),
            ),
            _ => (
                "404 Not Found",
                "",
                "text/plain",
                "not found: metrics are at /metrics\n".into(),
            ),
        };
    let reply = response(status, extra, content_type, &body);
    let payload = (!head_only).then_some(body.as_bytes());
    finish(stream, reply.as_bytes(), payload).await
}

/// The status line and headers of an answer with `body` (sent after them, or not for `HEAD`).
fn response(status: &str, extra: &str, content_type: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Connection: close\r\n{extra}\r\n",
        body.len()
    )
}

/// Write the answer and close the connection.
async fn finish(mut stream: TcpStream, head: &[u8], body: Option<&[u8]>) -> std::io::Result<()> {
    stream.write_all(head).await?;
    if let Some(body) = body {
        stream.write_all(body).await?;
    }
    stream.shutdown().await
}

/// What a Prometheus metric family is (`# TYPE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// One metric family: its samples, by series.
struct Family {
    help: String,
    kind: Kind,
    series: Vec<Series>,
}

/// One time series: its labels (sorted by name) and its value.
struct Series {
    labels: Vec<(String, String)>,
    value: Sample,
}

enum Sample {
    /// A counter or a gauge: the value, formatted.
    Single(String),
    /// Cumulative counts per upper bound (without `+Inf`), the sum and the count.
    Histogram {
        buckets: Vec<(String, u64)>,
        sum: String,
        count: u64,
    },
}

/// A value as the text format writes it.
trait Number: Copy {
    fn text(self) -> String;
}

impl Number for f64 {
    fn text(self) -> String {
        float(self)
    }
}

impl Number for u64 {
    fn text(self) -> String {
        self.to_string()
    }
}

impl Number for i64 {
    fn text(self) -> String {
        self.to_string()
    }
}

/// A float as the text format writes it: `+Inf`, `-Inf`, `NaN`, or the shortest decimal that reads
/// back the same (`0.5`, `1`, `2.5625`).
fn float(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_owned()
    } else if v.is_infinite() && v.is_sign_positive() {
        "+Inf".to_owned()
    } else if v.is_infinite() {
        "-Inf".to_owned()
    } else {
        format!("{v}")
    }
}

/// Write `collected` in the text format 0.0.4, sorted so the same data always reads the same.
fn exposition(collected: &ResourceMetrics) -> String {
    let mut families: BTreeMap<String, Family> = BTreeMap::new();
    for scope in collected.scope_metrics() {
        for metric in scope.metrics() {
            match metric.data() {
                AggregatedMetrics::F64(data) => add(&mut families, metric, data),
                AggregatedMetrics::U64(data) => add(&mut families, metric, data),
                AggregatedMetrics::I64(data) => add(&mut families, metric, data),
            }
        }
    }
    let mut out = String::new();
    for (name, mut family) in families {
        family.series.sort_by(|a, b| Ord::cmp(&a.labels, &b.labels));
        let _ = writeln!(out, "# HELP {name} {}", escape_help(&family.help));
        let _ = writeln!(out, "# TYPE {name} {}", family.kind.as_str());
        for series in &family.series {
            match &series.value {
                Sample::Single(value) => {
                    let _ = writeln!(out, "{name}{} {value}", labels(&series.labels, None));
                }
                Sample::Histogram {
                    buckets,
                    sum,
                    count,
                } => {
                    for (le, n) in buckets {
                        let _ = writeln!(
                            out,
                            "{name}_bucket{} {n}",
                            labels(&series.labels, Some(le.as_str()))
                        );
                    }
                    let _ = writeln!(
                        out,
                        "{name}_bucket{} {count}",
                        labels(&series.labels, Some("+Inf"))
                    );
                    let _ = writeln!(out, "{name}_sum{} {sum}", labels(&series.labels, None));
                    let _ = writeln!(out, "{name}_count{} {count}", labels(&series.labels, None));
                }
            }
        }
    }
    out
}

/// Add the series of `metric` to its family (made on first sight).
fn add<T: Number>(families: &mut BTreeMap<String, Family>, metric: &Metric, data: &MetricData<T>) {
    let (kind, series): (Kind, Vec<Series>) = match data {
        MetricData::Gauge(gauge) => (
            Kind::Gauge,
            gauge
                .data_points()
                .map(|p| Series {
                    labels: label_pairs(p.attributes()),
                    value: Sample::Single(p.value().text()),
                })
                .collect(),
        ),
        // An up-down counter is a sum that may fall: a gauge to Prometheus.
        MetricData::Sum(sum) => (
            if sum.is_monotonic() {
                Kind::Counter
            } else {
                Kind::Gauge
            },
            sum.data_points()
                .map(|p| Series {
                    labels: label_pairs(p.attributes()),
                    value: Sample::Single(p.value().text()),
                })
                .collect(),
        ),
        MetricData::Histogram(histogram) => (
            Kind::Histogram,
            histogram
                .data_points()
                .map(|p| {
                    // The SDK counts per bucket; Prometheus wants each bucket to hold all below it.
                    let mut cumulative = 0u64;
                    let buckets = p
                        .bounds()
                        .zip(p.bucket_counts())
                        .map(|(bound, n)| {
                            cumulative = cumulative.saturating_add(n);
                            (float(bound), cumulative)
                        })
                        .collect();
                    Series {
                        labels: label_pairs(p.attributes()),
                        value: Sample::Histogram {
                            buckets,
                            sum: p.sum().text(),
                            count: p.count(),
                        },
                    }
                })
                .collect(),
        ),
        // Not made by the default aggregation (no view here asks for it), and the text format
        // 0.0.4 has no native histograms.
        MetricData::ExponentialHistogram(_) => return,
    };
    let name = metric_name(metric.name(), metric.unit(), kind);
    let family = families.entry(name).or_insert_with(|| Family {
        help: metric.description().to_owned(),
        kind,
        series: Vec::new(),
    });
    // Two instruments that map to one name with different types cannot share a family: the
    // first keeps it.
    if family.kind == kind {
        family.series.extend(series);
    }
}

/// `{a="1",b="2"}` with `le` last when given; nothing when there are no labels.
fn labels(pairs: &[(String, String)], le: Option<&str>) -> String {
    if pairs.is_empty() && le.is_none() {
        return String::new();
    }
    let mut out = String::from("{");
    let le = le.map(|le| ("le", le));
    for (i, (name, value)) in pairs
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .chain(le)
        .enumerate()
    {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{name}=\"{}\"", escape_label(value));
    }
    out.push('}');
    out
}

/// Attributes as label pairs sorted by name. Keys that become the same label name
/// (`a.b`, `a_b`) share it, their values joined with `;` in the order of the keys.
fn label_pairs<'a>(attributes: impl Iterator<Item = &'a KeyValue>) -> Vec<(String, String)> {
    let mut attributes: Vec<&KeyValue> = attributes.collect();
    attributes.sort_by(|a, b| Ord::cmp(a.key.as_str(), b.key.as_str()));
    let mut pairs: Vec<(String, String)> = Vec::with_capacity(attributes.len());
    for kv in attributes {
        let name = label_name(kv.key.as_str());
        let value = kv.value.as_str();
        match pairs.iter_mut().find(|(n, _)| *n == name) {
            Some((_, joined)) => {
                joined.push(';');
                joined.push_str(&value);
            }
            None => pairs.push((name, value.into_owned())),
        }
    }
    pairs.sort();
    pairs
}

/// The Prometheus name of an instrument: `hwx.sweep.duration` with unit `s` →
/// `hwx_sweep_duration_seconds`; a counter's name ends in `_total`.
fn metric_name(name: &str, unit: &str, kind: Kind) -> String {
    let mut out = sanitize(name, true);
    if let Some(unit) = unit_suffix(unit)
        && !out.ends_with(&format!("_{unit}"))
    {
        out.push('_');
        out.push_str(&unit);
    }
    if kind == Kind::Counter && !out.ends_with("_total") {
        out.push_str("_total");
    }
    out
}

/// A label name: `http.route` → `http_route`.
fn label_name(key: &str) -> String {
    let name = sanitize(key, false);
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        format!("key_{name}")
    } else {
        name
    }
}

/// Every character outside `[a-zA-Z0-9_]` (and `:` in metric names) becomes `_`, runs of `_`
/// become one, and a leading digit gets a `_` before it.
fn sanitize(name: &str, metric: bool) -> String {
    let mut out = String::with_capacity(name.len() + 1);
    if name.starts_with(|c: char| c.is_ascii_digit()) && metric {
        out.push('_');
    }
    for c in name.chars() {
        let c = if c.is_ascii_alphanumeric() || c == '_' || (metric && c == ':') {
            c
        } else {
            '_'
        };
        if c != '_' || !out.ends_with('_') {
            out.push(c);
        }
    }
    out
}

/// The name suffix of a UCUM unit: `s` → `seconds`, `By` → `bytes`. None for `1`, for
/// annotations alone (`{event}`) and for no unit.
fn unit_suffix(unit: &str) -> Option<Cow<'static, str>> {
    // Annotations (`{request}`) name what is counted, not a unit.
    let mut bare = String::with_capacity(unit.len());
    let mut depth = 0usize;
    for c in unit.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            c if depth == 0 => bare.push(c),
            _ => {}
        }
    }
    let suffix: Cow<'static, str> = match bare.trim() {
        "" | "1" => return None,
        "d" => "days".into(),
        "h" => "hours".into(),
        "min" => "minutes".into(),
        "s" => "seconds".into(),
        "ms" => "milliseconds".into(),
        "us" => "microseconds".into(),
        "ns" => "nanoseconds".into(),
        "By" => "bytes".into(),
        "KiBy" => "kibibytes".into(),
        "MiBy" => "mebibytes".into(),
        "GiBy" => "gibibytes".into(),
        "%" => "percent".into(),
        other => {
            let other = sanitize(other, false);
            let other = other.trim_matches('_');
            if other.is_empty() {
                return None;
            }
            other.to_owned().into()
        }
    };
    Some(suffix)
}

/// A `# HELP` text: backslash and newline escaped.
fn escape_help(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}

/// A label value: backslash, double quote and newline escaped.
fn escape_label(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a test that cannot unwrap has failed, and says where
mod tests {
    use opentelemetry::metrics::MeterProvider as _;
    use opentelemetry_sdk::metrics::SdkMeterProvider;

    use super::*;

    #[test]
    fn histogram_counter_and_gauge_in_the_text_format() {
        let reader = PrometheusReader::new();
        let provider = SdkMeterProvider::builder()
            .with_reader(reader.clone())
            .build();
        let meter = provider.meter("test");
        assert_eq!(reader.render(), "", "nothing recorded, nothing shown");

        let latency = meter
            .f64_histogram("http.server.request.duration")
            .with_unit("s")
            .with_description("Gateway request latency")
            .with_boundaries(vec![0.1, 1.0])
            .build();
        let request = [
            KeyValue::new("http.route", "/v1/jobs"),
            KeyValue::new("http.response.status_code", 200_i64),
        ];
        // Exact in binary, so the sum prints exactly: 0.0625 + 0.5 + 2 = 2.5625.
        latency.record(0.0625, &request);
        latency.record(0.5, &request);
        latency.record(2.0, &request);

        let events = meter
            .u64_counter("hwx.consumer.events")
            .with_description("Events handled\nby consumers, \\ by outcome")
            .build();
        events.add(
            2,
            &[
                KeyValue::new("outcome", "applied"),
                KeyValue::new("messaging.consumer.group.name", "feed \"a\"\\b\nc"),
            ],
        );
        events.add(
            1,
            &[
                KeyValue::new("messaging.consumer.group.name", "feed"),
                KeyValue::new("outcome", "retried"),
            ],
        );

        let pending = meter
            .u64_gauge("hwx.outbox.pending")
            .with_description("Events committed but not yet published")
            .build();
        pending.record(7, &[KeyValue::new("hwx.schema", "job_feed")]);
        pending.record(3, &[KeyValue::new("hwx.schema", "job_feed")]);
        pending.record(0, &[KeyValue::new("hwx.schema", "registration")]);

        let expected = concat!(
            "# HELP http_server_request_duration_seconds Gateway request latency\n",
            "# TYPE http_server_request_duration_seconds histogram\n",
            "http_server_request_duration_seconds_bucket{http_response_status_code=\"200\",http_route=\"/v1/jobs\",le=\"0.1\"} 1\n",
            "http_server_request_duration_seconds_bucket{http_response_status_code=\"200\",http_route=\"/v1/jobs\",le=\"1\"} 2\n",
            "http_server_request_duration_seconds_bucket{http_response_status_code=\"200\",http_route=\"/v1/jobs\",le=\"+Inf\"} 3\n",
            "http_server_request_duration_seconds_sum{http_response_status_code=\"200\",http_route=\"/v1/jobs\"} 2.5625\n",
            "http_server_request_duration_seconds_count{http_response_status_code=\"200\",http_route=\"/v1/jobs\"} 3\n",
            "# HELP hwx_consumer_events_total Events handled\\nby consumers, \\\\ by outcome\n",
            "# TYPE hwx_consumer_events_total counter\n",
            "hwx_consumer_events_total{messaging_consumer_group_name=\"feed\",outcome=\"retried\"} 1\n",
            "hwx_consumer_events_total{messaging_consumer_group_name=\"feed \\\"a\\\"\\\\b\\nc\",outcome=\"applied\"} 2\n",
            "# HELP hwx_outbox_pending Events committed but not yet published\n",
            "# TYPE hwx_outbox_pending gauge\n",
            "hwx_outbox_pending{hwx_schema=\"job_feed\"} 3\n",
            "hwx_outbox_pending{hwx_schema=\"registration\"} 0\n",
        );
        assert_eq!(reader.render(), expected);
        // Cumulative: a second scrape sees the same totals, not what came since the first.
        assert_eq!(reader.render(), expected);

        events.add(
            3,
            &[
                KeyValue::new("messaging.consumer.group.name", "feed"),
                KeyValue::new("outcome", "retried"),
            ],
        );
        assert!(
            reader.render().contains(
                "hwx_consumer_events_total{messaging_consumer_group_name=\"feed\",outcome=\"retried\"} 4\n"
            ),
            "{}",
            reader.render()
        );

        provider.shutdown().unwrap();
        assert!(reader.render().starts_with("# metrics not collected"));
    }

    #[test]
    fn names_and_labels_in_prometheus_style() {
        assert_eq!(
            metric_name("hwx.sweep.duration", "s", Kind::Histogram),
            "hwx_sweep_duration_seconds"
        );
        assert_eq!(
            metric_name("hwx.consumer.pending", "", Kind::Gauge),
            "hwx_consumer_pending"
        );
        assert_eq!(
            metric_name("hwx.requests", "{request}", Kind::Counter),
            "hwx_requests_total"
        );
        assert_eq!(
            metric_name("queue.size", "By", Kind::Gauge),
            "queue_size_bytes"
        );
        assert_eq!(
            metric_name("already_total", "1", Kind::Counter),
            "already_total"
        );
        assert_eq!(label_name("rpc.method"), "rpc_method");
        assert_eq!(label_name("3d.model"), "key_3d_model");
        assert_eq!(
            label_pairs([KeyValue::new("a_b", "2"), KeyValue::new("a.b", "1")].iter()),
            vec![("a_b".to_owned(), "1;2".to_owned())],
            "keys that collide share the label, values in key order"
        );
        assert_eq!(labels(&[], None), "");
        assert_eq!(float(f64::INFINITY), "+Inf");
        assert_eq!(float(0.25), "0.25");
        assert_eq!(float(5.0), "5");
    }

    /// A request to `addr`, the whole answer back.
    async fn get(addr: std::net::SocketAddr, request: &str) -> String {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        answer
    }

    #[tokio::test]
    async fn serves_metrics_and_nothing_else() {
        let reader = PrometheusReader::new();
        let provider = SdkMeterProvider::builder()
            .with_reader(reader.clone())
            .build();
        provider
            .meter("test")
            .u64_gauge("hwx.outbox.pending")
            .build()
            .record(5, &[]);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, shutdown) = watch::channel(false);
        let shared = reader.clone();
        let server = tokio::spawn(serve_with(listener, move || Some(shared.clone()), shutdown));

        let answer = get(addr, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert!(
            answer.contains(&format!("Content-Type: {CONTENT_TYPE}\r\n")),
            "{answer}"
        );
        assert!(
            answer.ends_with("\r\n\r\n# HELP hwx_outbox_pending \n# TYPE hwx_outbox_pending gauge\nhwx_outbox_pending 5\n"),
            "{answer}"
        );
        let answer = get(addr, "GET /other HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert!(answer.starts_with("HTTP/1.1 404 Not Found\r\n"), "{answer}");
        let answer = get(addr, "POST /metrics HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert!(answer.starts_with("HTTP/1.1 405 "), "{answer}");

        stop.send_replace(true);
        server.await.unwrap().unwrap();
        drop(provider);
    }
}
