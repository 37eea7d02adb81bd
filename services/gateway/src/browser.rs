//! What browsers are told: the security headers every response carries, and CORS for the portal
//! origins the configuration names (`cors_origins`) and no other.
//!
//! The API answers JSON to portals; no page of it may be framed, sniffed into another type or
//! cached by a shared cache when it was asked for with a session. `/docs` is the one HTML page: it
//! runs the vendored viewer from this origin and nothing else.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::problem::Problem;

/// The policy of every answer but the viewer: nothing may load from it, nothing may frame it.
const API_CSP: &str =
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// The viewer's policy: its script, styles and the description from this origin only (the
/// viewer sets inline styles in its components).
const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// Headers a browser reading an API answer may see besides the CORS-safelisted ones.
const EXPOSED: &str =
    "x-request-id, retry-after, location, etag, x-record-count, content-disposition";

/// What a portal may send (the preflight's answer).
const ALLOWED_HEADERS: &str = "authorization, content-type, x-request-id, if-none-match";
const ALLOWED_METHODS: &str = "GET, POST, PUT, DELETE";

/// Security headers on every response, whatever produced it (handler, problem, router).
pub(crate) async fn security_headers(req: Request, next: Next) -> Response {
    let docs = req.uri().path() == "/docs";
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let set = |h: &mut HeaderMap, name: HeaderName, value: &'static str| {
        h.insert(name, HeaderValue::from_static(value));
    };
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(h, header::REFERRER_POLICY, "no-referrer");
    set(
        h,
        header::STRICT_TRANSPORT_SECURITY,
        "max-age=31536000; includeSubDomains",
    );
    set(
        h,
        header::CONTENT_SECURITY_POLICY,
        if docs { DOCS_CSP } else { API_CSP },
    );
    set(
        h,
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    set(
        h,
        HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=(), payment=()",
    );
    // API answers are a caller's (a session token, a reset's answer, what a session saw): no
    // cache keeps them, unless the handler set its own policy (the vendored viewer script).
    if !h.contains_key(header::CACHE_CONTROL) {
        set(h, header::CACHE_CONTROL, "no-store");
    }
    res
}

/// CORS: a preflight from a configured origin is answered here, before limits and routing; any
/// other answer to such an origin names it in `Access-Control-Allow-Origin`. An origin not
/// configured gets no CORS header, so the browser withholds the answer from its page; its
/// preflight is refused with a problem that says how to allow it.
pub(crate) async fn cors(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let origin = req.headers().get(header::ORIGIN).cloned();
    let allowed = origin.clone().filter(|o| {
        o.to_str()
            .is_ok_and(|o| s.cors_origins.iter().any(|a| a == o))
    });
    let preflight = origin.is_some()
        && req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut res = match (&origin, &allowed) {
        (Some(origin), None) if preflight => {
            let shown = String::from_utf8_lossy(origin.as_bytes()).into_owned();
            Problem::new(
                StatusCode::FORBIDDEN,
                format!(
                    "origin {shown} may not call this API from a browser; operations add portal origins to cors_origins (HWX_CORS_ORIGINS)"
                ),
            )
            .into_response()
        }
        (_, Some(_)) if preflight => {
            let mut res = StatusCode::NO_CONTENT.into_response();
            let h = res.headers_mut();
            h.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static(ALLOWED_METHODS),
            );
            h.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static(ALLOWED_HEADERS),
            );
            h.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static("600"),
            );
            res
        }
        _ => next.run(req).await,
    };
    let h = res.headers_mut();
    // The answer depends on the origin (and, with portals configured, on there being none): a
    // cache keeps one per origin.
    if origin.is_some() || !s.cors_origins.is_empty() {
        h.append(header::VARY, HeaderValue::from_static("origin"));
    }
    if let Some(origin) = allowed {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSED),
        );
    }
    res
}
