//! A small HTTP/1.1 client (hyper, keep-alive connections) for talking to the gateway as a portal
//! would: the load generator, the benchmarks and the tests use it.

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// A response as received.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON (panics with the body when it is not: for tests and tools that expect
    /// JSON and cannot go on without it).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

/// A client that keeps its connections open between requests (one pool per client: make it on
/// the runtime that uses it).
#[derive(Debug, Clone)]
pub struct HttpClient {
    inner: Client<HttpConnector, Full<Bytes>>,
}

impl Default for HttpClient {
    fn default() -> Self {
        Self::new()
    }
}

fn io(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

impl HttpClient {
    pub fn new() -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        HttpClient {
            inner: Client::builder(TokioExecutor::new()).build(connector),
        }
    }

    /// Send one request; `body` goes as JSON when given, `bearer` as `Authorization: Bearer`.
    pub async fn request(
        &self,
        addr: SocketAddr,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        body: Option<&serde_json::Value>,
    ) -> std::io::Result<Response> {
        let payload = body.map(|b| b.to_string()).unwrap_or_default();
        let auth = bearer.map(|t| format!("Bearer {t}"));
        let mut headers = Vec::new();
        if body.is_some() {
            headers.push(("Content-Type", "application/json"));
        }
        if let Some(a) = &auth {
            headers.push(("Authorization", a.as_str()));
        }
        self.request_raw(addr, method, path, &headers, payload.as_bytes())
            .await
    }

    /// Send one request with these headers and this body, as bytes.
    pub async fn request_raw(
        &self,
        addr: SocketAddr,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> std::io::Result<Response> {
        let mut req = http::Request::builder()
            .method(method)
            .uri(format!("http://{addr}{path}"));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req
            .body(Full::new(Bytes::copy_from_slice(body)))
            .map_err(io)?;
        let res = self.inner.request(req).await.map_err(io)?;
        let status = res.status().as_u16();
        let headers = res
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = res.into_body().collect().await.map_err(io)?.to_bytes();
        Ok(Response {
            status,
            headers,
            body: body.to_vec(),
        })
    }
}

/// One request on a connection of its own: for callers that make few requests, or whose runtime
/// ends soon after (a pooled connection must not outlive the runtime that drives it).
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

/// The same with these headers and this body, as bytes.
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
