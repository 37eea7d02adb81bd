//! The injectable clock. Rules take "now" as an argument; services take it from here, so demos
//! and tests can stand on any day (deadline sweeps, quota days, maintenance windows).

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, FixedOffset, Utc};

/// Where "now" comes from.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> DateTime<Utc>;

    /// Now in Japan Standard Time.
    fn now_jst(&self) -> DateTime<FixedOffset> {
        hwx_rules::jst::to_jst(&self.now())
    }
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        DateTime::<Utc>::from(std::time::SystemTime::now())
    }
}

/// A clock that stands still until moved: tests and demos.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<DateTime<Utc>>>);

impl ManualClock {
    pub fn new(at: DateTime<Utc>) -> Self {
        ManualClock(Arc::new(Mutex::new(at)))
    }

    pub fn set(&self, at: DateTime<Utc>) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = at;
    }

    pub fn advance(&self, by: Duration) {
        let mut t = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *t = t.checked_add_signed(by).unwrap_or(*t);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The system clock shifted by a fixed amount: a demo that runs "next month" in real time.
#[derive(Debug, Clone, Copy)]
pub struct OffsetClock(pub Duration);

impl Clock for OffsetClock {
    fn now(&self) -> DateTime<Utc> {
        let now = SystemClock.now();
        now.checked_add_signed(self.0).unwrap_or(now)
    }
}

/// A shared clock.
pub type SharedClock = Arc<dyn Clock>;

/// Parse the `clock` setting: `system`, `fixed:<RFC 3339>` or `offset:<±seconds>`.
pub fn parse(spec: &str) -> Result<SharedClock, String> {
    match spec.split_once(':') {
        None if spec == "system" => Ok(Arc::new(SystemClock)),
        Some(("fixed", at)) => DateTime::parse_from_rfc3339(at)
            .map(|t| Arc::new(ManualClock::new(t.with_timezone(&Utc))) as SharedClock)
            .map_err(|e| format!("clock {spec:?}: {e}")),
        Some(("offset", secs)) => secs
            .trim_start_matches('+')
            .parse::<i64>()
            .ok()
            .and_then(Duration::try_seconds)
            .map(|d| Arc::new(OffsetClock(d)) as SharedClock)
            .ok_or_else(|| {
                format!("clock {spec:?}: the offset is whole seconds, e.g. offset:+86400")
            }),
        _ => Err(format!(
            "clock {spec:?}: use system, fixed:<RFC 3339 time> or offset:<seconds>"
        )),
    }
}
