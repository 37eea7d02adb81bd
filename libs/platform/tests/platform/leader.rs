//! The Kubernetes Lease backend of leader election against a mocked API server (a tower-test
//! service pair standing in for the cluster, as kube's own tests do).

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use http::{Method, Request, Response, StatusCode};
use hwx_platform::clock::ManualClock;
use hwx_platform::leader::{Elector, LeaseLock};
use k8s_openapi::api::coordination::v1::Lease;
use kube::client::Body;
use serde_json::{Value, json};
use tower_test::mock;

type Handle = mock::Handle<Request<Body>, Response<Body>>;

const NOW: &str = "2026-11-28T01:00:00Z";

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn lease_json(holder: &str, renewed: &str, version: &str, transitions: i32) -> Value {
    json!({
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": "hwx-sweeps", "namespace": "hwx", "resourceVersion": version},
        "spec": {"holderIdentity": holder, "leaseDurationSeconds": 60, "acquireTime": "2026-11-28T00:00:00.000000Z",
                 "renewTime": renewed, "leaseTransitions": transitions}
    })
}

fn status(code: u16, reason: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Status", "status": "Failure", "message": reason, "reason": reason, "code": code})
}

fn respond(code: u16, body: &Value) -> Response<Body> {
    Response::builder()
        .status(StatusCode::from_u16(code).unwrap())
        .header("content-type", "application/json")
        .body(Body::from(serde_json::to_vec(body).unwrap()))
        .unwrap()
}

/// Expect one request: check its method and path, hand back `reply`, return the request body.
async fn expect(
    handle: &mut Handle,
    method: Method,
    path_end: &str,
    code: u16,
    reply: Value,
) -> Option<Lease> {
    let (req, send) = handle
        .next_request()
        .await
        .expect("a request to the API server");
    assert_eq!(req.method(), method, "{}", req.uri());
    assert!(req.uri().path().ends_with(path_end), "{}", req.uri());
    assert!(
        req.uri()
            .path()
            .contains("/apis/coordination.k8s.io/v1/namespaces/hwx/leases"),
        "{}",
        req.uri()
    );
    let bytes = req.into_body().collect_bytes().await.unwrap();
    send.send_response(respond(code, &reply));
    (!bytes.is_empty()).then(|| serde_json::from_slice(&bytes).unwrap())
}

fn lock(identity: &str) -> (LeaseLock, Handle) {
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    let client = kube::Client::new(service, "hwx");
    let clock = ManualClock::new(at(NOW));
    (
        LeaseLock::new(
            client,
            "hwx-sweeps",
            identity,
            Duration::seconds(60),
            Arc::new(clock),
        ),
        handle,
    )
}

#[tokio::test]
async fn lease_is_created_when_absent() {
    let (mut lock, mut api) = lock("pod-a");
    let server = tokio::spawn(async move {
        expect(
            &mut api,
            Method::GET,
            "/leases/hwx-sweeps",
            404,
            status(404, "NotFound"),
        )
        .await;
        let created = expect(
            &mut api,
            Method::POST,
            "/leases",
            201,
            lease_json("pod-a", "2026-11-28T01:00:00.000000Z", "1", 0),
        )
        .await
        .unwrap();
        let spec = created.spec.unwrap();
        assert_eq!(spec.holder_identity.as_deref(), Some("pod-a"));
        assert_eq!(spec.lease_duration_seconds, Some(60));
    });
    assert!(lock.acquire().await, "the first pod leads");
    server.await.unwrap();
}

#[tokio::test]
async fn a_fresh_lease_of_another_pod_is_respected() {
    let (mut lock, mut api) = lock("pod-a");
    let server = tokio::spawn(async move {
        // pod-b renewed 10 s ago: only a read, no write.
        expect(
            &mut api,
            Method::GET,
            "/leases/hwx-sweeps",
            200,
            lease_json("pod-b", "2026-11-28T00:59:50.000000Z", "7", 3),
        )
        .await;
    });
    assert!(!lock.acquire().await);
    server.await.unwrap();
}

#[tokio::test]
async fn an_expired_lease_is_taken_over_and_counted() {
    let (mut lock, mut api) = lock("pod-a");
    let server = tokio::spawn(async move {
        expect(
            &mut api,
            Method::GET,
            "/leases/hwx-sweeps",
            200,
            lease_json("pod-b", "2026-11-28T00:58:00.000000Z", "7", 3),
        )
        .await;
        let taken = expect(
            &mut api,
            Method::PUT,
            "/leases/hwx-sweeps",
            200,
            lease_json("pod-a", "2026-11-28T01:00:00.000000Z", "8", 4),
        )
        .await
        .unwrap();
        assert_eq!(
            taken.metadata.resource_version.as_deref(),
            Some("7"),
            "the write is conditional on what was read"
        );
        let spec = taken.spec.unwrap();
        assert_eq!(
            (spec.holder_identity.as_deref(), spec.lease_transitions),
            (Some("pod-a"), Some(4))
        );
    });
    assert!(lock.acquire().await);
    server.await.unwrap();
}

#[tokio::test]
async fn losing_the_race_for_an_expired_lease_means_not_leading() {
    let (mut lock, mut api) = lock("pod-a");
    let server = tokio::spawn(async move {
        expect(
            &mut api,
            Method::GET,
            "/leases/hwx-sweeps",
            200,
            lease_json("pod-b", "2026-11-28T00:58:00.000000Z", "7", 3),
        )
        .await;
        expect(
            &mut api,
            Method::PUT,
            "/leases/hwx-sweeps",
            409,
            status(409, "Conflict"),
        )
        .await;
    });
    assert!(
        !lock.acquire().await,
        "pod-c renewed first: the API server refused our write"
    );
    server.await.unwrap();
}

#[tokio::test]
async fn the_leader_renews_and_keeps_its_acquire_time() {
    let (mut lock, mut api) = lock("pod-a");
    let server = tokio::spawn(async move {
        expect(
            &mut api,
            Method::GET,
            "/leases/hwx-sweeps",
            200,
            lease_json("pod-a", "2026-11-28T00:59:30.000000Z", "9", 4),
        )
        .await;
        let renewed = expect(
            &mut api,
            Method::PUT,
            "/leases/hwx-sweeps",
            200,
            lease_json("pod-a", "2026-11-28T01:00:00.000000Z", "10", 4),
        )
        .await
        .unwrap();
        let spec = renewed.spec.unwrap();
        assert_eq!(
            spec.lease_transitions,
            Some(4),
            "a renewal is no transition"
        );
        assert_eq!(
            spec.acquire_time.map(|t| t.0.to_string()),
            Some("2026-11-28T00:00:00Z".to_owned())
        );
        assert_eq!(
            spec.renew_time.map(|t| t.0.to_string()),
            Some("2026-11-28T01:00:00Z".to_owned())
        );
    });
    assert!(lock.acquire().await);
    server.await.unwrap();
}

#[tokio::test]
async fn an_unreachable_api_server_means_not_leading() {
    let (mut lock, mut api) = lock("pod-a");
    let server = tokio::spawn(async move {
        expect(
            &mut api,
            Method::GET,
            "/leases/hwx-sweeps",
            500,
            status(500, "InternalError"),
        )
        .await;
    });
    assert!(!lock.acquire().await);
    server.await.unwrap();
}
