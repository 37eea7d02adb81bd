//! `/openapi.json` and `/docs`: the API described from the handlers' annotations, and an API
//! viewer (RapiDoc, vendored in `assets/`: no CDN) that shows every operation with its
//! parameters, schemas and examples, logs in with a bearer token and tries requests.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse};
use axum::routing::get;

use crate::AppState;

/// RapiDoc 9.3.8, gzip-compressed as npm ships it.
const RAPIDOC_GZ: &[u8] = include_bytes!("../assets/rapidoc-min.js.gz");

/// `/openapi.json` (the description of every route, rendered once), `/docs` and `/healthz`.
pub fn routes(openapi: &utoipa::openapi::OpenApi) -> Router<AppState> {
    let json = openapi
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    Router::new()
        .route(
            "/openapi.json",
            get(move || async move { ([(header::CONTENT_TYPE, "application/json")], json) }),
        )
        .route("/docs", get(|| async { Html(PAGE) }))
        .route(
            "/docs/rapidoc-min.js",
            get(|| async {
                (
                    [
                        (
                            header::CONTENT_TYPE,
                            HeaderValue::from_static("text/javascript; charset=utf-8"),
                        ),
                        (header::CONTENT_ENCODING, HeaderValue::from_static("gzip")),
                        (
                            header::CACHE_CONTROL,
                            HeaderValue::from_static("public, max-age=86400"),
                        ),
                    ],
                    RAPIDOC_GZ,
                )
                    .into_response()
            }),
        )
        .route("/healthz", get(|| async { "ok" }))
}

/// The viewer: the whole description, grouped by tag, with a bearer login field (paste the token
/// from `POST /v1/sessions`) and a "try" panel on every operation.
const PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>HWX API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<script type="module" src="/docs/rapidoc-min.js"></script>
</head><body>
<rapi-doc spec-url="/openapi.json" heading-text="HWX API" theme="light" render-style="read"
  layout="column" schema-style="table" schema-expand-level="2" default-schema-tab="schema"
  show-method-in-nav-bar="as-colored-block" allow-authentication="true" allow-server-selection="false"
  allow-try="true" show-header="false" allow-spec-url-load="false" allow-spec-file-load="false" persist-auth="false" regular-font="system-ui, sans-serif"
  mono-font="ui-monospace, monospace" sort-tags="true">
</rapi-doc>
<noscript>The API viewer needs JavaScript; the description itself is <a href="/openapi.json">/openapi.json</a>.</noscript>
</body></html>"#;
