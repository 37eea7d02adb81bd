//! gRPC plumbing: one error type mapped once to `tonic::Code` with the rule ID in the status
//! details (`google.rpc.ErrorInfo`, domain `hwx.jp`), and a server that always serves
//! `grpc.health.v1` and reflection next to the service.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;

use hwx_rules::{RuleId, RulesError};
use tokio::sync::watch;
use tonic::Code;
use tonic::body::Body;
use tonic::server::NamedService;
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

impl From<sqlx::Error> for ServiceError {
    fn from(e: sqlx::Error) -> Self {
        // The cause goes to the log; the caller learns only that it was ours.
        tracing::error!(error = %e, "database error");
        match e {
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) => Self::new(
                ErrorKind::Unavailable,
                "the database is not reachable; try again",
            ),
            _ => Self::internal("internal error"),
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

/// The token of an `Authorization: Bearer <token>` value (scheme in any case, token not empty).
pub fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The bearer token a gRPC call carries in its `authorization` metadata.
pub fn bearer<T>(request: &tonic::Request<T>) -> Option<String> {
    let value = request.metadata().get("authorization")?.to_str().ok()?;
    bearer_token(value).map(str::to_owned)
}

/// An instant as a protobuf timestamp.
pub fn timestamp(t: chrono::DateTime<chrono::Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

/// A protobuf timestamp as an instant (none when out of range).
pub fn instant(t: &prost_types::Timestamp) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32)
}

/// Put the current trace context into an outgoing gRPC request.
pub fn inject_trace<T>(request: &mut tonic::Request<T>) {
    if let Some(tp) = crate::telemetry::current_traceparent()
        && let Ok(v) = tp.parse()
    {
        request.metadata_mut().insert("traceparent", v);
    }
}

/// The rule ID a status carries, if any (the gateway puts it into problem+json).
pub fn rule_of(status: &tonic::Status) -> Option<String> {
    status
        .get_error_details()
        .error_info()
        .filter(|i| i.domain == ERROR_DOMAIN)
        .and_then(|i| i.metadata.get("rule").cloned())
}

/// Records the latency of every call (`rpc.server.duration`), by method.
#[derive(Debug, Clone, Copy, Default)]
pub struct TimedLayer;

impl<S> tower_layer::Layer<S> for TimedLayer {
    type Service = Timed<S>;
    fn layer(&self, inner: S) -> Timed<S> {
        Timed { inner }
    }
}

/// The service [`TimedLayer`] wraps.
#[derive(Debug, Clone)]
pub struct Timed<S> {
    inner: S,
}

impl<S, B> tower_service::Service<http::Request<B>> for Timed<S>
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
        let started = std::time::Instant::now();
        let call = self.inner.call(req);
        Box::pin(async move {
            let result = call.await;
            crate::metrics::rpc(&method, started.elapsed().as_secs_f64());
            result
        })
    }
}

/// A running gRPC server.
#[derive(Debug)]
pub struct Running {
    pub addr: SocketAddr,
    pub handle: tokio::task::JoinHandle<Result<(), tonic::transport::Error>>,
}

/// Serve `service` with health (reported SERVING) and reflection on `addr` (port 0 picks one)
/// until `shutdown`, then drain in-flight calls.
pub async fn serve<S>(
    service: S,
    addr: SocketAddr,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<Running>
where
    S: tower_service::Service<
            http::Request<Body>,
            Response = http::Response<Body>,
            Error = Infallible,
        > + NamedService
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<S>().await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(hwx_proto::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(std::io::Error::other)?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    let handle = tokio::spawn(async move {
        tonic::transport::Server::builder()
            .trace_fn(|req| {
                // One span per call, child of the caller's trace (W3C traceparent in the metadata).
                let path = req.uri().path().to_owned();
                let span = tracing::info_span!("grpc", otel.name = %path, otel.kind = "server", rpc.system = "grpc", rpc.method = %path);
                let tp = req.headers().get("traceparent").and_then(|v| v.to_str().ok());
                crate::telemetry::set_parent(&span, tp);
                span
            })
            .layer(TimedLayer)
            .add_service(health_service)
            .add_service(reflection)
            .add_service(service)
            .serve_with_incoming_shutdown(incoming, async move {
                let _ = shutdown.wait_for(|stop| *stop).await;
            })
            .await
    });
    Ok(Running { addr, handle })
}
