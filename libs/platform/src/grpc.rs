//! gRPC plumbing: one error type mapped once to `tonic::Code` with the rule ID in the status
//! details (`google.rpc.ErrorInfo`, domain `hwx.jp`), and a server that always serves
//! `grpc.health.v1` and reflection next to the service.

use std::collections::HashMap;

use hwx_rules::{RuleId, RulesError};
use std::time::Duration;
use tokio::sync::watch;

use tonic::Code;
use tonic::transport::Channel;
use tonic::transport::server::TcpIncoming;
use tonic_types::{ErrorDetails, StatusExt};

/// The error domain of HWX in `google.rpc.ErrorInfo`.
pub const ERROR_DOMAIN: &str = "hwx.jp";

/// What kind of failure, mapped once to a gRPC code (and by the gateway to an HTTP status).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Malformed input (INVALID_ARGUMENT, 400).
    Invalid,
    /// A rule of the terms refuses the request (FAILED_PRECONDITION, 422).
    Refused,
    NotFound,
    /// Already exists (ALREADY_EXISTS, 409).
    Conflict,
    /// No or bad credentials (UNAUTHENTICATED, 401).
    Unauthenticated,
    /// Authenticated but not allowed (PERMISSION_DENIED, 403).
    Forbidden,
    /// A quota or rate limit (RESOURCE_EXHAUSTED, 429).
    Exhausted,
    /// Maintenance or a dependency down (UNAVAILABLE, 503).
    Unavailable,
    Internal,
}

impl ErrorKind {
    pub fn code(self) -> Code {
        match self {
            ErrorKind::Invalid => Code::InvalidArgument,
            ErrorKind::Refused => Code::FailedPrecondition,
            ErrorKind::NotFound => Code::NotFound,
            ErrorKind::Conflict => Code::AlreadyExists,
            ErrorKind::Unauthenticated => Code::Unauthenticated,
            ErrorKind::Forbidden => Code::PermissionDenied,
            ErrorKind::Exhausted => Code::ResourceExhausted,
            ErrorKind::Unavailable => Code::Unavailable,
            ErrorKind::Internal => Code::Internal,
        }
    }

    /// The HTTP status the gateway answers with.
    pub fn http_status(code: Code) -> u16 {
        match code {
            Code::InvalidArgument | Code::OutOfRange => 400,
            Code::Unauthenticated => 401,
            Code::PermissionDenied => 403,
            Code::NotFound => 404,
            Code::AlreadyExists | Code::Aborted => 409,
            Code::FailedPrecondition => 422,
            Code::ResourceExhausted => 429,
            Code::Unavailable => 503,
            Code::DeadlineExceeded => 504,
            Code::Unimplemented => 501,
            _ => 500,
        }
    }
}

/// A service error: a kind, a message for people, and the rule that decided when one did.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ServiceError {
    pub kind: ErrorKind,
    pub message: String,
    pub rule: Option<RuleId>,
}

impl ServiceError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ServiceError {
            kind,
            message: message.into(),
            rule: None,
        }
    }

    /// A refusal by a rule of the terms.
    pub fn refused(rule: RuleId, message: impl Into<String>) -> Self {
        ServiceError {
            kind: ErrorKind::Refused,
            message: message.into(),
            rule: Some(rule),
        }
    }

    pub fn with_rule(mut self, rule: RuleId) -> Self {
        self.rule = Some(rule);
        self
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Invalid, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, message)
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unauthenticated, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }
}

impl From<RulesError> for ServiceError {
    fn from(e: RulesError) -> Self {
        let kind = match e {
            RulesError::OutsideCalendar { .. } => ErrorKind::Invalid,
            RulesError::Invalid { .. } => ErrorKind::Refused,
        };
        ServiceError {
            kind,
            rule: Some(e.rule()),
            message: e.to_string(),
        }
    }
}

/// The database is away, not wrong: it cannot be reached, or it ended the connection because it
/// is stopping, restarting or crashed (SQLSTATE classes 08 connection exception, 57 operator
/// intervention, 53 insufficient resources). A retry shortly may work: 503, not 500.
pub fn database_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|c| c.starts_with("08") || c.starts_with("57") || c.starts_with("53")),
        _ => false,
    }
}

/// A value of the request the database cannot take: a NUL or a character it cannot encode
/// (22021, 22P05), text too long (22001), a number out of range (22003). The request is wrong,
/// not the service. Other data exceptions (a division by zero, a cast our SQL makes) stay ours.
pub fn database_refused_value(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db)
        if db.code().is_some_and(|c| matches!(&*c, "22021" | "22P05" | "22001" | "22003")))
}

impl From<sqlx::Error> for ServiceError {
    fn from(e: sqlx::Error) -> Self {
        if database_refused_value(&e) {
            tracing::info!(error = %e, "a request value the database cannot take");
            return Self::invalid(
                "a value of the request cannot be taken: a NUL character, a number out of range or text too long",
            );
        }
        // The cause goes to the log; the caller learns only that it was ours.
        tracing::error!(error = %e, "database error");
        if matches!(&e, sqlx::Error::Database(db) if db.code().as_deref() == Some("57014")) {
            // A statement timeout: the database is there and busy; a retry may pass.
            Self::new(
                ErrorKind::Unavailable,
                "the database took too long to answer; try again",
            )
        } else if database_unavailable(&e) {
            Self::new(
                ErrorKind::Unavailable,
                "the database is not reachable; try again",
            )
        } else {
            Self::internal("internal error")
        }
    }
}

impl From<ServiceError> for tonic::Status {
    fn from(e: ServiceError) -> Self {
        let reason = e.rule.map_or_else(
            || format!("{:?}", e.kind).to_uppercase(),
            |r| r.as_str().to_owned(),
        );
        let mut metadata = HashMap::new();
        if let Some(rule) = e.rule {
            metadata.insert("rule".to_owned(), rule.as_str().to_owned());
        }
        tonic::Status::with_error_details(
            e.kind.code(),
            e.message,
            ErrorDetails::with_error_info(reason, ERROR_DOMAIN, metadata),
        )
    }
}

/// An instant as a protobuf timestamp.
pub fn timestamp(t: chrono::DateTime<chrono::Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

/// A day (JST, as every date of the terms) as the proto `Date`.
pub fn date(d: chrono::NaiveDate) -> hwx_proto::common::v1::Date {
    use chrono::Datelike;
    hwx_proto::common::v1::Date {
        year: d.year(),
        month: d.month() as i32,
        day: d.day() as i32,
    }
}

/// The day a proto `Date` names; none when it names none (all zero is "not given").
pub fn day(d: &hwx_proto::common::v1::Date) -> Option<chrono::NaiveDate> {
    chrono::NaiveDate::from_ymd_opt(
        d.year,
        u32::try_from(d.month).ok()?,
        u32::try_from(d.day).ok()?,
    )
}

/// A proto `Date` as `YYYY-MM-DD`; none when absent or not a day.
pub fn date_text(d: &Option<hwx_proto::common::v1::Date>) -> Option<String> {
    d.as_ref()
        .and_then(day)
        .map(|d| d.format("%Y-%m-%d").to_string())
}

/// `YYYY-MM-DD` as a proto `Date`; none when it is not a day.
pub fn date_from_text(s: &str) -> Option<hwx_proto::common::v1::Date> {
    chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .ok()
        .map(date)
}

/// A protobuf timestamp as an instant (none when out of range).
pub fn instant(t: &prost_types::Timestamp) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32)
}

tokio::task_local! {
    /// The request ID of the call being served (from `x-request-id`), for outgoing calls and logs.
    static REQUEST_ID: String;
}

/// Run `f` with `id` as the current request ID: every gRPC call made inside carries it.
pub async fn with_request_id<F: Future>(id: String, f: F) -> F::Output {
    REQUEST_ID.scope(id, f).await
}

/// The request ID of the call being served, if any.
pub fn request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// Spawn `f` as a task that keeps the caller's request ID and span: the calls it makes carry them
/// as the caller's own would.
pub fn spawn_carrying<F>(f: F) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let span = tracing::Span::current();
    let work = tracing::Instrument::instrument(f, span);
    match request_id() {
        Some(id) => tokio::spawn(with_request_id(id, work)),
        None => tokio::spawn(work),
    }
}

/// Puts the current trace context (`traceparent`) and request ID (`x-request-id`) on every
/// outgoing call of a [`Client`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Propagate;

impl tonic::service::Interceptor for Propagate {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(tp) = crate::telemetry::current_traceparent()
            && let Ok(v) = tp.parse()
        {
            request.metadata_mut().insert("traceparent", v);
        }
        if !request.metadata().contains_key("x-request-id")
            && let Some(id) = request_id()
            && let Ok(v) = id.parse()
        {
            request.metadata_mut().insert("x-request-id", v);
        }
        Ok(request)
    }
}

/// A channel to another service that carries trace context and request ID on every call.
pub type Client = tonic::service::interceptor::InterceptedService<Channel, Propagate>;

/// The one way to reach another service: connects lazily (a peer that starts later is fine),
/// gives up connecting after 5 s, and ends each call after `timeout` when one is given (streams
/// that last as long as a client reads pass none).
pub fn client(url: &str, timeout: Option<Duration>) -> Result<Client, String> {
    let mut endpoint = Channel::from_shared(url.to_owned())
        .map_err(|e| format!("{url:?} is not a URL: {e}"))?
        .connect_timeout(Duration::from_secs(5))
        .tcp_nodelay(true);
    if let Some(t) = timeout {
        endpoint = endpoint.timeout(t);
    }
    Ok(tonic::service::interceptor::InterceptedService::new(
        endpoint.connect_lazy(),
        Propagate,
    ))
}

/// The rule ID a status carries, if any (the gateway puts it into problem+json).
pub fn rule_of(status: &tonic::Status) -> Option<String> {
    status
        .get_error_details()
        .error_info()
        .filter(|i| i.domain == ERROR_DOMAIN)
        .and_then(|i| i.metadata.get("rule").cloned())
}

/// Around every call a service serves: records its latency (`rpc.server.duration`, by method) and
/// makes the caller's `x-request-id` the current request ID, so the calls it makes carry it on.
#[derive(Debug, Clone, Copy, Default)]
pub struct CallLayer;

impl<S> tower_layer::Layer<S> for CallLayer {
    type Service = Call<S>;
    fn layer(&self, inner: S) -> Call<S> {
        Call { inner }
    }
}

/// The service [`CallLayer`] wraps.
#[derive(Debug, Clone)]
pub struct Call<S> {
    inner: S,
}

impl<S, B> tower_service::Service<http::Request<B>> for Call<S>
where
    S: tower_service::Service<http::Request<B>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = std::pin::Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let method = req.uri().path().to_owned();
        let id = req
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty() && v.len() <= 128)
            .map(str::to_owned);
        let started = std::time::Instant::now();
        let call = self.inner.call(req);
        Box::pin(async move {
            let result = match id {
                Some(id) => with_request_id(id, call).await,
                None => call.await,
            };
            crate::metrics::rpc(&method, started.elapsed().as_secs_f64());
            result
        })
    }
}

/// Serve `routes` (the service's gRPC services) with health (each of `names` reported SERVING)
/// and reflection on `listener` until `shutdown`, then drain in-flight calls.
pub async fn serve(
    routes: tonic::service::Routes,
    names: &[&str],
    listener: tokio::net::TcpListener,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), String> {
    let (health, health_service) = tonic_health::server::health_reporter();
    for name in names {
        health
            .set_service_status(*name, tonic_health::ServingStatus::Serving)
            .await;
    }
    // Both reflection versions: grpcurl 1.8 (the one PyPI ships) and older tools ask only
    // `v1alpha`, newer ones `v1`.
    // Only what this port serves is advertised: the contracts of every service are registered
    // (the descriptor set is one), but a caller listing the registration port must not see the
    // job feed's.
    let reflection = || {
        let builder = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(hwx_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .with_service_name("grpc.health.v1.Health");
        names
            .iter()
            .fold(builder, |b, name| b.with_service_name(*name))
    };
    let reflection_v1 = reflection().build_v1().map_err(|e| e.to_string())?;
    let reflection_v1alpha = reflection().build_v1alpha().map_err(|e| e.to_string())?;
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    let routes = routes
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha);
    let mut server = tonic::transport::Server::builder()
        .trace_fn(|req| {
            // One span per call, child of the caller's trace (W3C traceparent in the metadata).
            let path = req.uri().path().to_owned();
            let request_id = req
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let span = tracing::info_span!("grpc", otel.name = %path, otel.kind = "server", rpc.system = "grpc", rpc.method = %path, request_id = %request_id);
            let tp = req.headers().get("traceparent").and_then(|v| v.to_str().ok());
            crate::telemetry::set_parent(&span, tp);
            span
        })
        .layer(CallLayer);
    server
        .add_routes(routes)
        .serve_with_incoming_shutdown(incoming, async move {
            let _ = shutdown.wait_for(|stop| *stop).await;
        })
        .await
        .map_err(|e| e.to_string())
}
