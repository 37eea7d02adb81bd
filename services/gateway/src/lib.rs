//! The gateway: the one door for portal frontends. REST/JSON under `/v1`, OpenAPI 3.1 at
//! `/openapi.json` generated from the handlers, an interactive page at `/docs`, problem+json errors
//! with the rule ID, bearer sessions, request IDs, body-size limits, maintenance windows (X1) and
//! per-organisation rate limits (X2), both shared by every replica ([`limits`]). Behind it, the
//! services over gRPC.
//!
//! Handlers are grouped by the service behind them: [`registration`], [`feed`] (the job feed),
//! and [`ops`] (the gateway's own switches). Each route is registered once, with its OpenAPI
//! description, through `utoipa-axum`.

// A problem is the response itself, built once on the error path: boxing it buys nothing.
#![allow(clippy::result_large_err)]

mod browser;
mod docs;
mod feed;
pub mod limits;
pub mod model;
mod ndjson;
mod ops;
pub mod problem;
mod registration;
mod rules;
pub mod seekers;
pub mod server;

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use hwx_platform::auth::{Authenticator, bearer_token};
use hwx_platform::clock::SharedClock;
use hwx_platform::config::MaintenanceMode;
use hwx_platform::grpc;
use hwx_platform::kit::{Context, Parts, ServiceSpec};
use hwx_proto::jobfeed::v1::job_feed_service_client::JobFeedServiceClient;
use hwx_proto::registration::v1::registration_service_client::RegistrationServiceClient;
use hwx_proto::seekermatching::v1::seeker_matching_service_client::SeekerMatchingServiceClient;
use hwx_rules::maintenance::MaintenancePolicy;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::limits::Limits;
use crate::problem::Problem;

/// The gateway, as the kit runs it. It has no schema: what its replicas share (X1, X2) goes
/// through NATS.
pub const SERVICE: ServiceSpec = ServiceSpec::http("gateway", 8080, &[], |cx| Box::pin(build(cx)));

/// Largest request body accepted (ingest streams any size).
pub const BODY_LIMIT: usize = 256 * 1024;

type ApiResult<T> = Result<T, Problem>;

/// Shared state of the handlers. Every request clones it (each extractor and middleware takes
/// its own), so a clone is one reference count.
#[derive(Debug, Clone)]
pub struct AppState(std::sync::Arc<GatewayState>);

impl std::ops::Deref for AppState {
    type Target = GatewayState;
    fn deref(&self) -> &GatewayState {
        &self.0
    }
}

/// What [`AppState`] holds.
#[derive(Debug)]
pub struct GatewayState {
    pub(crate) registration: RegistrationServiceClient<grpc::Client>,
    pub(crate) job_feed: JobFeedServiceClient<grpc::Client>,
    pub(crate) seeker_matching: SeekerMatchingServiceClient<grpc::Client>,
    pub(crate) clock: SharedClock,
    /// Who calls (for X2 buckets and the ops routes), through registration.
    pub(crate) auth: Authenticator,
    pub(crate) limits: Limits,
    /// Live streams end when the gateway stops (a graceful stop would wait for them forever).
    pub(crate) shutdown: tokio::sync::watch::Receiver<bool>,
    /// The portal origins browsers may call from (CORS).
    pub(crate) cors_origins: Vec<String>,
}

async fn build(cx: Context) -> Result<Parts, String> {
    let maintenance = match cx.config.maintenance {
        MaintenanceMode::Official => MaintenancePolicy::default(),
        MaintenanceMode::Off => MaintenancePolicy::none(),
    };
    let limits = Limits::open(
        cx.events.clone(),
        cx.clock.clone(),
        maintenance,
        cx.config.rate_limit_per_second,
        cx.config.rate_limit_burst,
    )
    .await?;
    let state = AppState(std::sync::Arc::new(GatewayState {
        registration: RegistrationServiceClient::new(
            cx.client("registration", Some(Duration::from_secs(30)))?,
        ),
        // No overall timeout: snapshots and live streams last as long as the client reads.
        job_feed: JobFeedServiceClient::new(cx.client("job-feed", None)?)
            .max_decoding_message_size(16 * 1024 * 1024)
            .max_encoding_message_size(16 * 1024 * 1024),
        // No overall timeout either: an ingest streams as long as Hello Work sends.
        seeker_matching: SeekerMatchingServiceClient::new(cx.client("seeker-matching", None)?),
        clock: cx.clock.clone(),
        auth: cx.authenticator()?,
        limits: limits.clone(),
        shutdown: cx.shutdown.clone(),
        cors_origins: cx.config.cors_origins.clone(),
    }));
    let app = router(state);
    let watcher = limits.clone();
    Ok(
        Parts::http(move |listener, shutdown| server::serve(app, listener, shutdown))
            .task("switches", move |shutdown| watcher.watch(shutdown))
            .task("admissions", move |shutdown| limits.exchange(shutdown))
            .note(format!("API docs: http://{}/docs", cx.addr)),
    )
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "HWX API",
        description = "Hello Work job / job-seeker information provision service.\n\nLog in with `POST /v1/sessions` and send the token as `Authorization: Bearer <token>`. Each operation names the roles it serves in its security requirement (`bearer: [org]`); an empty one (`{}`) needs no login.\n\nErrors are `application/problem+json`; a refusal by a rule of the terms carries the rule's ID in `rule`, and its `type` is that rule in the catalogue (`/v1/rules/<ID>`). Lists are `{\"items\": [...], \"next_page_token\": ...}`. The conventions are in docs/API.md."
    ),
    components(schemas(Problem)),
    modifiers(&BearerScheme),
    security(("bearer" = []))
)]
struct ApiDoc;

/// The bearer scheme every protected operation names (`security(("bearer" = [roles]))`).
struct BearerScheme;

impl utoipa::Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("opaque session token from POST /v1/sessions")
                    .description(Some(
                        "A session token: POST /v1/sessions with an email and password returns one (valid 12 hours).",
                    ))
                    .build(),
            ),
        );
    }
}

/// The router: every route once, with its description, and the middleware around them.
pub fn router(state: AppState) -> Router {
    let (api, openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(
            registration::routes()
                .merge(feed::routes())
                .merge(ops::routes())
                .merge(rules::routes())
                .merge(seekers::routes())
                .layer(DefaultBodyLimit::max(BODY_LIMIT)),
        )
        .merge(feed::ingest_routes().layer(DefaultBodyLimit::disable()))
        .merge(seekers::ingest_routes().layer(DefaultBodyLimit::disable()))
        .split_for_parts();
    let openapi = document_problems(tag_by_area(openapi));
    api.merge(docs::routes(&openapi))
        .layer(middleware::from_fn_with_state(state.clone(), rate_limit))
        .layer(middleware::from_fn_with_state(state.clone(), maintenance))
        .layer(middleware::from_fn(problems))
        .layer(middleware::from_fn_with_state(state.clone(), browser::cors))
        .layer(middleware::from_fn(request_id))
        .layer(middleware::from_fn(browser::security_headers))
        .layer(middleware::from_fn(trace))
        .with_state(state)
}

/// Groups the operations for readers of `/docs` by the first part of their path.
fn tag_by_area(mut openapi: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    const AREAS: &[(&str, &str)] = &[
        ("/v1/accounts", "accounts and sessions"),
        ("/v1/account/", "accounts and sessions"),
        ("/v1/sessions", "accounts and sessions"),
        ("/v1/password-resets", "accounts and sessions"),
        ("/v1/organisations", "organisations"),
        ("/v1/applications", "applications"),
        ("/v1/bureau/", "labour bureaus"),
        ("/v1/public/", "public lists (L1)"),
        ("/v1/feed/", "job feed (S-JOB)"),
        ("/v1/seekers", "seekers (S-SEEKER)"),
        ("/v1/acquisitions", "seekers (S-SEEKER)"),
        ("/v1/ops/", "operations"),
        ("/v1/rules", "rules of the terms"),
    ];
    for (path, item) in openapi.paths.paths.iter_mut() {
        let Some((_, tag)) = AREAS.iter().find(|(prefix, _)| path.starts_with(prefix)) else {
            continue;
        };
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            op.tags = Some(vec![(*tag).to_owned()]);
        }
    }
    openapi
}

/// Every answer an operation can give is in its description: besides the successes each
/// handler names, the problems any call may meet on its way (bad input, login, roles, limits,
/// maintenance, a service down), so a client, and a schema-driven fuzzer, can rely on the list.
fn document_problems(mut openapi: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder, header::HeaderBuilder};
    let problem = |why: &str, retry: bool| {
        let mut r = ResponseBuilder::new().description(why).content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        );
        if retry {
            r = r.header(
                "Retry-After",
                HeaderBuilder::new()
                    .schema(Some(
                        utoipa::openapi::schema::ObjectBuilder::new()
                            .schema_type(utoipa::openapi::schema::Type::Integer)
                            .build(),
                    ))
                    .description(Some("seconds until a retry makes sense"))
                    .build(),
            );
        }
        r.build()
    };
    for (path, item) in openapi.paths.paths.iter_mut() {
        let local = path.starts_with("/v1/rules");
        for (method, op) in [
            ("get", &mut item.get),
            ("put", &mut item.put),
            ("post", &mut item.post),
            ("delete", &mut item.delete),
            ("patch", &mut item.patch),
        ] {
            let Some(op) = op else { continue };
            let secured = op.security.as_ref().is_some_and(|s| {
                serde_json::to_value(s)
                    .map(|v| v.to_string().contains("bearer"))
                    .unwrap_or(false)
            });
            // A problem a handler names itself is problem+json too (utoipa writes a body's type
            // as application/json).
            for (status, response) in op.responses.responses.iter_mut() {
                if let (false, utoipa::openapi::RefOr::T(r)) = (status.starts_with('2'), response)
                    && let Some(content) = r.content.shift_remove("application/json")
                {
                    r.content
                        .insert("application/problem+json".to_owned(), content);
                }
            }
            let write = method != "get";
            let mut add = |status: &str, why: &str, retry: bool| {
                op.responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| problem(why, retry).into());
            };
            add(
                "400",
                "bad input: the problem names the field or parameter",
                false,
            );
            if secured {
                add(
                    "401",
                    "no session, or one that ended: log in (POST /v1/sessions)",
                    false,
                );
                add(
                    "403",
                    "the caller's role or organisation may not do this, or a rule of the terms refuses it (`rule`)",
                    false,
                );
            }
            if path.contains('{') || write {
                add(
                    "404",
                    "no such resource, or one that is not the caller's",
                    false,
                );
            }
            if write {
                add("409", "it conflicts with what exists", false);
                add(
                    "422",
                    "a rule of the terms refuses it in the resource's present state (`rule`)",
                    false,
                );
            }
            if op.request_body.is_some() {
                add("413", "the body is over the limit", false);
            }
            add("429", "over the organisation's rate limit (X2)", true);
            add(
                "503",
                "maintenance (X1), or a service is down: retry after the time given",
                true,
            );
            if !local {
                add(
                    "502",
                    "a service stopped while answering: whether it acted is unknown; look, then retry",
                    true,
                );
                add("504", "a service did not answer in time", false);
            }
        }
    }
    openapi
}

/// Every error is problem+json (docs/API.md): axum's own answers (an unknown route, a method the
/// route lacks, a body over the limit, a query it cannot parse) are plain text or empty, so they
/// are rewritten here, keeping their status and headers (`Allow` on a 405).
async fn problems(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let res = next.run(req).await;
    let status = res.status();
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if !(status.is_client_error() || status.is_server_error()) || is_problem {
        return res;
    }
    let (parts, body) = res.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let detail = match status {
        axum::http::StatusCode::NOT_FOUND => {
            format!("no route {path}; /openapi.json lists every route")
        }
        // The router adds `Allow` outside this layer: the header lists the methods.
        axum::http::StatusCode::METHOD_NOT_ALLOWED => {
            format!("{path} does not take {method}; the Allow header lists the methods it takes")
        }
        _ if !text.is_empty() => text,
        _ => status.canonical_reason().unwrap_or("error").to_owned(),
    };
    let mut out = Problem::new(status, detail).into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().insert(name, value.clone());
        }
    }
    out
}

/// A gRPC request carrying the caller's bearer token (the client adds trace context and request
/// ID).
pub(crate) fn grpc<T>(headers: &HeaderMap, msg: T) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    if let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
    {
        r.metadata_mut().insert("authorization", v);
    }
    r
}

/// The caller's bearer token, or a problem saying how to get one.
pub(crate) fn bearer(headers: &HeaderMap) -> ApiResult<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token)
        .map(str::to_owned)
        .ok_or_else(|| {
            Problem::unauthorized(
                "send Authorization: Bearer <token> (POST /v1/sessions gives one)",
            )
        })
}

/// A JSON body, or a problem saying what is wrong with it.
pub(crate) fn body<T: serde::de::DeserializeOwned>(raw: &axum::body::Bytes) -> ApiResult<T> {
    serde_json::from_slice(raw)
        .map_err(|e| Problem::bad_request(format!("malformed JSON body: {e}")))
}

/// Request IDs: kept when the caller sends one, made otherwise; echoed on the response and
/// carried on every gRPC call made for the request.
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
        let mut res = grpc::with_request_id(id, next.run(req)).await;
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
    // Operations must be able to end an emergency window; health, docs and the rule catalogue
    // (which the 503's own `type` links to) stay up.
    if !path.starts_with("/v1/") || path.starts_with("/v1/ops/") || path.starts_with("/v1/rules") {
        return next.run(req).await;
    }
    let now = state.clock.now_jst();
    if let Some(reopens) = state.limits.reopens(&now) {
        let secs = (reopens - now).num_seconds().max(1) as u64;
        return Problem::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "the service is in a maintenance window; it reopens at {}",
                hwx_rules::jst::text(&reopens)
            ),
        )
        .with_rule("X1")
        .retry_after(secs)
        .into_response();
    }
    next.run(req).await
}

/// X2: a per-caller rate limit (by the caller's organisation, or by client address without a
/// session).
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
        Some(token) => match state.auth.token(token).await {
            Ok(c) => match c.organisation_id {
                Some(org) => format!("org:{org}"),
                None => format!("account:{}", c.account_id),
            },
            Err(_) => ip,
        },
        None => ip,
    };
    let decision = state.limits.admit(key, state.clock.now_jst());
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
