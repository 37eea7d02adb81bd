//! HTTP for tests: each request over a connection of its own (a test's runtime ends with it, and a
//! pooled connection must not outlive the runtime that drives it), through the platform's client.

use std::net::SocketAddr;

use hwx_platform::http::HttpClient;
pub use hwx_platform::http::Response;

/// Send one request. `body` is sent as JSON when given.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<&serde_json::Value>,
) -> std::io::Result<Response> {
    HttpClient::new()
        .request(addr, method, path, bearer, body)
        .await
}

/// Send one request with these headers and this body, as bytes.
pub async fn request_raw(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Response> {
    HttpClient::new()
        .request_raw(addr, method, path, headers, body)
        .await
}
