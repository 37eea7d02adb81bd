//! The same request, exported for real: an OTLP/gRPC receiver started by the test (tonic +
//! opentelemetry-proto) gets one trace with spans from the gateway, the registration service,
//! the outbox relay and a consumer in another service, linked across NATS.
//!
//! Its own test binary: it installs the global tracing subscriber with the OTLP exporter.

#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed, and says where

mod common;

use std::sync::{Arc, Mutex};

use hwx_platform::config::LogFormat;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_sdk::trace::SdkTracerProvider;

/// A minimal OTLP trace receiver that keeps every span it is sent.
#[derive(Clone, Default)]
struct Receiver(Arc<Mutex<Vec<Span>>>);

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = self.0.lock().unwrap();
        for rs in request.into_inner().resource_spans {
            for ss in rs.scope_spans {
                spans.extend(ss.spans);
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_trace_reaches_an_otlp_receiver_across_grpc_and_nats() {
    let receiver = Receiver::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(receiver.clone()))
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );

    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(format!("http://{addr}"))
        .build()
        .unwrap();
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .build();
    assert!(hwx_platform::telemetry::init_with(
        LogFormat::Pretty,
        // No notifier: the scenario reads its sign-up token from the notice, undelivered.
        "info,hwx::notice=off",
        provider.clone()
    ));

    let running = common::one_request_across_services().await;
    provider.force_flush().unwrap();

    let spans = receiver.0.lock().unwrap().clone();
    let http = spans
        .iter()
        .find(|s| s.name == common::REQUEST_SPAN)
        .expect("the gateway's span reached the receiver");
    let in_trace: Vec<&Span> = spans
        .iter()
        .filter(|s| s.trace_id == http.trace_id)
        .collect();
    let find = |name: &str| in_trace.iter().find(|s| s.name == name).copied();
    let names: Vec<&str> = in_trace.iter().map(|s| s.name.as_str()).collect();
    let (Some(grpc), Some(publish), Some(process)) = (
        find(common::GRPC_SPAN),
        find(common::PUBLISH_SPAN),
        find(common::PROCESS_SPAN),
    ) else {
        panic!("one trace across the services, got {names:?}");
    };
    assert_eq!(
        grpc.parent_span_id, http.span_id,
        "the gRPC span is the HTTP span's child"
    );
    assert_eq!(
        process.parent_span_id, publish.span_id,
        "linked across NATS"
    );
    // OTLP span kinds: 4 = producer, 5 = consumer, 2 = server.
    assert_eq!(
        (http.kind, grpc.kind, publish.kind, process.kind),
        (2, 2, 4, 5)
    );

    running.stop().await;
    let _ = provider.shutdown();
    server.abort();
}
