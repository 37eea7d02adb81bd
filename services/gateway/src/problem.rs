//! Errors as RFC 9457 problem+json, carrying the rule ID that refused the request.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hwx_platform::grpc::{self, ErrorKind};
use serde::Serialize;
use tonic_types::StatusExt;
use utoipa::ToSchema;

/// A problem report (`application/problem+json`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the problem kind: for a refusal, the rule in the gateway's catalogue
    /// (`/v1/rules/<ID>`, relative to the request URL); `about:blank` otherwise.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The rule of the terms that refused the request (`E3`, `SK8` …), when one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Seconds until retrying makes sense (maintenance, rate limits); also sent as `Retry-After`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

impl Problem {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Problem {
            kind: "about:blank".into(),
            title: status.canonical_reason().unwrap_or("Error").into(),
            status: status.as_u16(),
            detail: detail.into(),
            rule: None,
            request_id: None,
            retry_after: None,
        }
    }

    pub fn with_rule(mut self, rule: &str) -> Self {
        self.kind = format!("/v1/rules/{rule}");
        self.rule = Some(rule.into());
        self
    }

    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds.max(1));
        self
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::BAD_REQUEST, detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::UNAUTHORIZED, detail)
    }
}

impl From<tonic::Status> for Problem {
    fn from(s: tonic::Status) -> Self {
        // Only our services' own errors (domain hwx.jp) are shown as they are; transport and
        // internal failures get a generic word, never a socket error or a stack of causes.
        let ours = s
            .get_error_details()
            .error_info()
            .is_some_and(|i| i.domain == grpc::ERROR_DOMAIN);
        let (status, detail) = match s.code() {
            tonic::Code::Cancelled | tonic::Code::DeadlineExceeded => (
                StatusCode::GATEWAY_TIMEOUT,
                "the service did not answer in time; try again".to_owned(),
            ),
            tonic::Code::Unavailable if !ours => (
                StatusCode::SERVICE_UNAVAILABLE,
                "a service is unavailable; try again".to_owned(),
            ),
            // Not our service's answer but the call breaking under it (the service died or
            // restarted mid-call): whether it acted is unknown, and a retry shortly may work.
            tonic::Code::Unknown | tonic::Code::Internal | tonic::Code::Aborted if !ours =>
            {
                (
                    StatusCode::BAD_GATEWAY,
                    "a service stopped while answering; whether it acted is unknown: look, then try again".to_owned(),
                )
            }
            code => {
                let status = StatusCode::from_u16(ErrorKind::http_status(code))
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                let detail = if status == StatusCode::INTERNAL_SERVER_ERROR || !ours {
                    status.canonical_reason().unwrap_or("error").to_owned()
                } else {
                    s.message().to_owned()
                };
                (status, detail)
            }
        };
        let mut p = Problem::new(status, detail);
        if matches!(
            status,
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::BAD_GATEWAY
        ) {
            // A service that is down or restarting: worth a retry shortly (docs/API.md API9).
            p = p.retry_after(2);
        }
        match grpc::rule_of(&s) {
            Some(rule) => p.with_rule(&rule),
            None => p,
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(mut self) -> Response {
        // The request's ID, to quote to operations (also in the `x-request-id` header).
        if self.request_id.is_none() {
            self.request_id = grpc::request_id();
        }
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let retry = self.retry_after;
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut res = (status, body).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(secs) = retry
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        res
    }
}

/// A refusal decided in the gateway itself (an authentication through registration, say), shown
/// exactly as if a service had answered it.
impl From<grpc::ServiceError> for Problem {
    fn from(e: grpc::ServiceError) -> Self {
        Problem::from(tonic::Status::from(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the fault harness: a registration killed mid-call gave the caller a 500. A call
    /// broken under it (any status without our services' error info: every one of ours carries
    /// it) is a 502 to retry; our own internal error stays a 500.
    #[test]
    fn a_call_broken_under_it_is_a_bad_gateway_to_retry_not_a_500() {
        let cut = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "connection reset");
        for broken in [
            tonic::Status::from_error(Box::new(cut)),
            tonic::Status::unknown("missing grpc-status trailer"),
            tonic::Status::internal("Unexpected EOF decoding stream."),
        ] {
            let p = Problem::from(broken);
            assert_eq!((p.status, p.retry_after), (502, Some(2)), "{}", p.detail);
        }
        let ours: tonic::Status = grpc::ServiceError::internal("internal error").into();
        let p = Problem::from(ours);
        assert_eq!((p.status, p.retry_after), (500, None));
        let p = Problem::from(tonic::Status::unavailable("connection refused"));
        assert_eq!((p.status, p.retry_after), (503, Some(2)));
    }
}
