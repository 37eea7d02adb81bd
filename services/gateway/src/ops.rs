//! `/v1/ops`: what operations switch at run time, on every gateway replica at once (X1, X2; see
//! [`crate::limits`]).

#![allow(unused_qualifications)] // utoipa's generated code qualifies paths

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use hwx_platform::auth::Role;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::model::{Emergency, RateLimits};
use crate::problem::Problem;
use crate::{ApiResult, AppState, body};

/// The caller must be operations, asked now: a switch that reaches every replica is never thrown
/// with a token revoked a moment ago.
async fn require_ops(s: &AppState, headers: &HeaderMap) -> ApiResult<()> {
    let token = crate::bearer(headers)?;
    let caller = s.auth.fresh(&token).await?;
    if caller.role == Role::Ops {
        Ok(())
    } else {
        Err(Problem::new(
            StatusCode::FORBIDDEN,
            "operations only (an account of role ops)",
        ))
    }
}

fn unshared(e: String) -> Problem {
    Problem::new(StatusCode::SERVICE_UNAVAILABLE, e)
}

/// X1: declare (or end, with `until: null`) emergency maintenance on every gateway replica.
/// Operations only.
#[utoipa::path(put, path = "/v1/ops/maintenance", security(("bearer" = ["ops"])), request_body = Emergency, responses((status = 200, body = Emergency)))]
async fn emergency(
    State(s): State<AppState>,
    headers: HeaderMap,
    raw: axum::body::Bytes,
) -> ApiResult<Json<Emergency>> {
    require_ops(&s, &headers).await?;
    let e: Emergency = body(&raw)?;
    // Parse before touching the switch: a malformed request must not end a running window.
    let until = match &e.until {
        None => None,
        Some(until) => Some(chrono::DateTime::parse_from_rfc3339(until).map_err(|_| {
            Problem::bad_request(format!("until: {until:?} is not an RFC 3339 time"))
        })?),
    };
    s.limits.set_emergency(until).await.map_err(unshared)?;
    // The window as it applies: in JST to the second, or none when it ended already.
    let now = s.clock.now_jst();
    Ok(Json(Emergency {
        until: until.filter(|u| *u > now).map(|u| hwx_rules::jst::text(&u)),
    }))
}

/// X2: change the per-organisation rate limit at run time, on every gateway replica. Operations
/// only.
#[utoipa::path(put, path = "/v1/ops/rate-limits", security(("bearer" = ["ops"])), request_body = RateLimits, responses((status = 200, body = RateLimits)))]
async fn set_limits(
    State(s): State<AppState>,
    headers: HeaderMap,
    raw: axum::body::Bytes,
) -> ApiResult<Json<RateLimits>> {
    require_ops(&s, &headers).await?;
    let l: RateLimits = body(&raw)?;
    if l.requests_per_second == 0 || l.burst == 0 {
        return Err(Problem::bad_request(
            "requests_per_second and burst must be at least 1",
        ));
    }
    s.limits
        .set_rate(l.requests_per_second, l.burst)
        .await
        .map_err(unshared)?;
    Ok(Json(l))
}

/// X2: back to the configured rate limit (`HWX_RATE_LIMIT_PER_SECOND`, `HWX_RATE_LIMIT_BURST`), on
/// every gateway replica. A limit set with PUT stays, through restarts, until this. Operations only.
#[utoipa::path(delete, path = "/v1/ops/rate-limits", security(("bearer" = ["ops"])), responses((status = 204)))]
async fn reset_limits(State(s): State<AppState>, headers: HeaderMap) -> ApiResult<StatusCode> {
    require_ops(&s, &headers).await?;
    s.limits.reset_rate().await.map_err(unshared)?;
    Ok(StatusCode::NO_CONTENT)
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(emergency))
        .routes(routes!(set_limits, reset_limits))
}
