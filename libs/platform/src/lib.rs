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
//! | [`grpc`] | one error type → `tonic::Code` + rule ID in the details; a server with health and reflection |

pub mod clock;
pub mod config;
pub mod db;
pub mod events;
pub mod grpc;
pub mod leader;
pub mod metrics;
pub mod shutdown;
pub mod telemetry;
