//! Access restriction (X2): a per-organisation rate limit as a generic cell rate algorithm, so the
//! whole state is one instant (the theoretical arrival time) that any replica can store.

use chrono::{DateTime, Duration, FixedOffset};
use serde::Serialize;

use crate::RuleId;

/// `requests` per `per`, with bursts of up to `burst` requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub requests: u32,
    pub per: Duration,
    pub burst: u32,
}

/// The verdict on one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RateDecision {
    pub allowed: bool,
    /// The state to store for the next request.
    pub next_tat: DateTime<FixedOffset>,
    /// When refused: how long until a request would be allowed (for `Retry-After`).
    pub retry_after: Option<Duration>,
    pub rule: RuleId,
}

impl RateLimit {
    fn interval(&self) -> Duration {
        self.per / i32::try_from(self.requests.max(1)).unwrap_or(i32::MAX)
    }

    /// X2 across replicas: the cell after `n` requests that another replica admitted, as if they had
    /// arrived here at `now` (admitted already: no check, only their cost).
    pub fn charge(
        &self,
        tat: Option<DateTime<FixedOffset>>,
        now: DateTime<FixedOffset>,
        n: u32,
    ) -> DateTime<FixedOffset> {
        let tat = tat.map_or(now, |t| t.max(now));
        i32::try_from(n)
            .ok()
            .and_then(|n| self.interval().checked_mul(n))
            .and_then(|cost| tat.checked_add_signed(cost))
            .unwrap_or(tat)
    }

    /// X2: decide one request at `now`, given the stored theoretical arrival time (`None` at first).
    pub fn check(
        &self,
        tat: Option<DateTime<FixedOffset>>,
        now: DateTime<FixedOffset>,
    ) -> RateDecision {
        let interval = self.interval();
        let tolerance = i32::try_from(self.burst.saturating_sub(1))
            .ok()
            .and_then(|b| interval.checked_mul(b))
            .unwrap_or(Duration::MAX);
        let tat = tat.map_or(now, |t| t.max(now));
        let allow_at = tat.checked_sub_signed(tolerance).unwrap_or(now);
        if now < allow_at {
            RateDecision {
                allowed: false,
                next_tat: tat,
                retry_after: Some(allow_at - now),
                rule: RuleId::X2,
            }
        } else {
            RateDecision {
                allowed: true,
                next_tat: tat.checked_add_signed(interval).unwrap_or(tat),
                retry_after: None,
                rule: RuleId::X2,
            }
        }
    }
}
