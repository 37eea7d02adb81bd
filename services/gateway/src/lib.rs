//! The gateway: the one door for portal frontends. REST/JSON under `/v1`, OpenAPI 3.1 at
//! `/openapi.json` generated from the handlers, an interactive page at `/docs`, problem+json errors
//! with the rule ID, bearer sessions, request IDs, body-size limits, maintenance windows (X1) and
//! per-organisation rate limits (X2). Behind it, the services over gRPC.

// A problem is the response itself, built once on the error path: boxing it buys nothing.
#![allow(clippy::result_large_err)]

mod docs;
mod feed;
pub mod model;
pub mod problem;
mod routes;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, FixedOffset};
use hwx_platform::clock::SharedClock;
use hwx_proto::jobfeed::v1::job_feed_service_client::JobFeedServiceClient;
use hwx_proto::registration::v1::registration_service_client::RegistrationServiceClient;
use hwx_rules::maintenance::MaintenancePolicy;
use hwx_rules::ratelimit::RateLimit;
use tokio::sync::watch;
use tonic::transport::Channel;

use crate::problem::Problem;

/// Largest request body accepted.
pub const BODY_LIMIT: usize = 256 * 1024;

/// How the gateway is set up.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// `http://host:port` of the registration service.
    pub registration_url: String,
    /// `http://host:port` of the job feed.
    pub job_feed_url: String,
    /// Scheduled windows of X1 (`MaintenancePolicy::none()` for development).
    pub maintenance: MaintenancePolicy,
    /// Default per-organisation limit (X2).
    pub requests_per_second: u32,
    pub burst: u32,
}

/// Shared state of the handlers.
#[derive(Debug, Clone)]
pub struct AppState {
    pub(crate) registration: RegistrationServiceClient<Channel>,
    pub(crate) job_feed: JobFeedServiceClient<Channel>,
    pub(crate) clock: SharedClock,
    pub(crate) maintenance: Arc<RwLock<MaintenancePolicy>>,
    pub(crate) limits: Arc<RwLock<RateLimit>>,
    /// Theoretical arrival time per caller (GCRA state).
    pub(crate) tats: Arc<Mutex<HashMap<String, DateTime<FixedOffset>>>>,
    /// Bearer token → rate-limit key, with when it was looked up.
    pub(crate) callers: Arc<Mutex<HashMap<String, (String, std::time::Instant)>>>,
}

fn lock_poisoned<T>(e: std::sync::PoisonError<T>) -> T {
    e.into_inner()
}

/// Request IDs: kept when the caller sends one, made otherwise; echoed on the response.
async fn request_id(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128)
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    if let Ok(v) = HeaderValue::from_str(&id) {
        req.headers_mut().insert("x-request-id", v.clone());
        let mut res = next.run(req).await;
        res.headers_mut().insert("x-request-id", v);
        return res;
    }
    next.run(req).await
}

/// One server span per request, child of the caller's trace when it sends `traceparent`.
async fn trace(req: Request, next: Next) -> Response {
    let span = tracing::info_span!(
        "http",
        otel.name = %format!("{} {}", req.method(), req.uri().path()),
        otel.kind = "server",
        http.request.method = %req.method(),
        url.path = %req.uri().path(),
        http.response.status_code = tracing::field::Empty,
    );
    let tp = req
        .headers()
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    hwx_platform::telemetry::set_parent(&span, tp.as_deref());
    // The route template (`/v1/applications/{id}`), not the path: bounded label values.
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |m| m.as_str())
        .to_owned();
    let method = req.method().to_string();
    let started = std::time::Instant::now();
    let res = tracing::Instrument::instrument(next.run(req), span.clone()).await;
    span.record("http.response.status_code", res.status().as_u16());
    hwx_platform::metrics::http_request(
        &method,
        &route,
        res.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    res
}

/// X1: during a maintenance window every `/v1` call answers 503 with when it reopens.
async fn maintenance(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    // Operations must be able to end an emergency window; health and docs stay up.
    if !path.starts_with("/v1/") || path.starts_with("/v1/ops/") {
        return next.run(req).await;
    }
    let now = state.clock.now_jst();
    let status = state
        .maintenance
        .read()
        .unwrap_or_else(lock_poisoned)
        .status(&now);
    if let Some(reopens) = status.reopens {
        let secs = (reopens - now).num_seconds().max(1) as u64;
        return Problem::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "the service is in a maintenance window; it reopens at {}",
                reopens.to_rfc3339()
            ),
        )
        .with_rule("X1")
        .retry_after(secs)
        .into_response();
    }
    next.run(req).await
}

/// X2: a per-caller rate limit (by bearer token, or by client address without one).
async fn rate_limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !req.uri().path().starts_with("/v1/") {
        return next.run(req).await;
    }
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "anonymous".to_owned(), |c| format!("ip:{}", c.0.ip()));
    let key = match req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token)
    {
        // X2 limits organisations: every session of one organisation shares its bucket. A token
        // that is no session counts against the client's address, like no token at all.
        Some(token) => rate_key(&state, token).await.unwrap_or(ip),
        None => ip,
    };
    let now = state.clock.now_jst();
    let limit = *state.limits.read().unwrap_or_else(lock_poisoned);
    let decision = {
        let mut tats = state.tats.lock().unwrap_or_else(lock_poisoned);
        let d = limit.check(tats.get(&key).copied(), now);
        if d.allowed {
            // A cell whose arrival time has passed is the same as no cell: drop those now and
            // then, so the map holds only callers active within the last burst.
            if tats.len() > 10_000 {
                tats.retain(|_, tat| *tat > now);
            }
            tats.insert(key, d.next_tat);
        }
        d
    };
    if !decision.allowed {
        let secs = decision
            .retry_after
            .map_or(1, |d| (d.num_milliseconds().max(1) as u64).div_ceil(1000));
        return Problem::new(
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            "too many requests: slow down and retry",
        )
        .with_rule("X2")
        .retry_after(secs)
        .into_response();
    }
    next.run(req).await
}

/// How long a token's owner is remembered for rate limiting (one `Authenticate` call per token
/// per minute rather than per request).
const CALLER_CACHE: std::time::Duration = std::time::Duration::from_secs(60);

/// The rate-limit bucket of a bearer token: its organisation, else its account. An unknown token
/// gets a bucket of its own; the service will refuse it anyway.
/// The token of an `Authorization` header, read as the job feed reads it.
pub(crate) use hwx_platform::grpc::bearer_token;

async fn rate_key(state: &AppState, token: &str) -> Option<String> {
    if let Some((key, at)) = state
        .callers
        .lock()
        .unwrap_or_else(lock_poisoned)
        .get(token)
        && at.elapsed() < CALLER_CACHE
    {
        return Some(key.clone());
    }
    let (key, cacheable) = match state
        .registration
        .clone()
        .authenticate(hwx_proto::registration::v1::AuthenticateRequest {
            token: token.to_owned(),
        })
        .await
    {
        Ok(c) => {
            let c = c.into_inner();
            if !c.organisation_id.is_empty() {
                (format!("org:{}", c.organisation_id), true)
            } else {
                // An organisation account before its organisation is registered will soon have
                // one: do not remember its account bucket.
                let pending_org = c.role == hwx_proto::common::v1::Role::Org as i32;
                (format!("account:{}", c.account_id), !pending_org)
            }
        }
        Err(_) => return None,
    };
    if !cacheable {
        return Some(key);
    }
    let mut callers = state.callers.lock().unwrap_or_else(lock_poisoned);
    if callers.len() > 100_000 {
        callers.retain(|_, (_, at)| at.elapsed() < CALLER_CACHE);
    }
    callers.insert(token.to_owned(), (key.clone(), std::time::Instant::now()));
    Some(key)
}

/// The router, for tests that drive it in process and for `serve`.
pub async fn router(cfg: &GatewayConfig, clock: SharedClock) -> Result<Router, String> {
    let channel = Channel::from_shared(cfg.registration_url.clone())
        .map_err(|e| format!("registration_url {:?}: {e}", cfg.registration_url))?
        .connect_timeout(std::time::Duration::from_secs(5))
        .timeout(std::time::Duration::from_secs(30))
        .connect_lazy();
    // No overall timeout: snapshots and live streams last as long as the client reads.
    let feed_channel = Channel::from_shared(cfg.job_feed_url.clone())
        .map_err(|e| format!("job_feed_url {:?}: {e}", cfg.job_feed_url))?
        .connect_timeout(std::time::Duration::from_secs(5))
        .connect_lazy();
    let state = AppState {
        registration: RegistrationServiceClient::new(channel),
        job_feed: JobFeedServiceClient::new(feed_channel)
            .max_decoding_message_size(16 * 1024 * 1024)
            .max_encoding_message_size(16 * 1024 * 1024),
        clock,
        maintenance: Arc::new(RwLock::new(cfg.maintenance.clone())),
        limits: Arc::new(RwLock::new(RateLimit {
            requests: cfg.requests_per_second.max(1),
            per: Duration::seconds(1),
            burst: cfg.burst.max(1),
        })),
        tats: Arc::new(Mutex::new(HashMap::new())),
        callers: Arc::new(Mutex::new(HashMap::new())),
    };
    Ok(routes::routes()
        .merge(feed::routes())
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .merge(feed::ingest_routes().layer(DefaultBodyLimit::disable()))
        .merge(docs::routes())
        .layer(middleware::from_fn_with_state(state.clone(), rate_limit))
        .layer(middleware::from_fn_with_state(state.clone(), maintenance))
        .layer(middleware::from_fn(request_id))
        .layer(middleware::from_fn(trace))
        .with_state(state))
}

/// A running gateway.
#[derive(Debug)]
pub struct Running {
    pub addr: SocketAddr,
    pub handle: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Serve on `addr` (port 0 picks one) until `shutdown`, draining in-flight requests.
pub async fn serve(
    cfg: GatewayConfig,
    clock: SharedClock,
    addr: SocketAddr,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<Running> {
    let app = router(&cfg, clock).await.map_err(std::io::Error::other)?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let handle = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            let _ = shutdown.wait_for(|s| *s).await;
        })
        .await
    });
    tracing::info!(%addr, "gateway serving");
    Ok(Running { addr, handle })
}
