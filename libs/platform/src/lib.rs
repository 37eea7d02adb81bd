//! `hwx-platform`: what every HWX service shares, written once.
//!
//! | module | what |
//! |---|---|
//! | [`config`] | typed settings: defaults → file → `HWX_…` env, validated, printed masked |
//! | [`clock`] | the injectable clock (system, fixed, offset) |
//! | [`db`] | Postgres pool, one schema and role per service, embedded migrations |
//! | [`events`] | NATS JetStream stream, transactional outbox + relay, idempotent inbox consumers |
//! | [`leader`] | leader election: a Kubernetes Lease in a cluster, a Postgres advisory lock elsewhere |
//! | [`shutdown`] | SIGINT/SIGTERM → one watch channel; servers drain, relays flush |
//! | [`telemetry`] | `tracing` logs (JSON or pretty), OpenTelemetry traces, W3C trace context |
//! | [`metrics`] | request latency, outbox lag, consumer outcomes, sweep durations (OTLP) |
//! | [`prometheus`] | the same metrics in the Prometheus text format, served at `/metrics` when `HWX_METRICS_ADDR` is set |
//! | [`grpc`] | one error type → `tonic::Code` + rule ID in the details; a server with health and reflection; the one client constructor (trace context and request ID on every call) |
//! | [`auth`] | one `Caller`, one `Role`, the bearer parser and the authenticator with its cache |
//! | [`codes`] | one mapping per enum between rules, proto and text (SQL, JSON) |
//! | [`http`] | a keep-alive HTTP/1.1 client, for the load generator and tests |
//! | [`kit`] | the service kit: a spec per service; start, supervise, drain and join its parts |

pub mod auth;
pub mod clock;
pub mod codes;
pub mod config;
pub mod db;
pub mod events;
pub mod grpc;
pub mod http;
pub mod kit;
pub mod leader;
pub mod metrics;
pub mod prometheus;
pub mod shutdown;
pub mod telemetry;
