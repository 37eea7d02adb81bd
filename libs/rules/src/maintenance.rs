//! Maintenance windows (X1): every day 00:00–06:00 JST, the last day of each month 21:30 until
//! 06:00 the next day, and emergency maintenance at any time.

use chrono::{DateTime, Datelike, Days, FixedOffset, NaiveTime, TimeZone, Timelike};
use serde::Serialize;

use crate::RuleId;
use crate::jst;

/// When the service is closed for maintenance. [`MaintenancePolicy::default`] is the schedule of
/// the terms; [`MaintenancePolicy::none`] keeps development and demo systems open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaintenancePolicy {
    /// The daily window, JST: from the first time (inclusive) to the second (exclusive).
    pub daily: Option<(NaiveTime, NaiveTime)>,
    /// On the last day of a month, the window starts at this JST time and lasts until the daily
    /// window of the next day ends.
    pub month_end_from: Option<NaiveTime>,
    /// Emergency windows declared by operations: `[from, until)`.
    pub emergency: Vec<(DateTime<FixedOffset>, DateTime<FixedOffset>)>,
}

fn hm(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap_or(NaiveTime::MIN)
}

impl Default for MaintenancePolicy {
    fn default() -> Self {
        MaintenancePolicy {
            daily: Some((hm(0, 0), hm(6, 0))),
            month_end_from: Some(hm(21, 30)),
            emergency: Vec::new(),
        }
    }
}

/// Whether the service is open at an instant, and if not, when it reopens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MaintenanceStatus {
    pub in_window: bool,
    /// The first instant the service is open again (JST), when in a window.
    pub reopens: Option<DateTime<FixedOffset>>,
    pub rule: RuleId,
}

impl MaintenancePolicy {
    /// No scheduled windows (development); emergency windows still apply.
    pub fn none() -> Self {
        MaintenancePolicy {
            daily: None,
            month_end_from: None,
            emergency: Vec::new(),
        }
    }

    /// The end of the window that contains `at`, if any (a single window, not chained).
    fn window_end(&self, at: DateTime<FixedOffset>) -> Option<DateTime<FixedOffset>> {
        let day = at.date_naive();
        let time = at.time().with_nanosecond(0).unwrap_or(at.time());
        let mut end: Option<DateTime<FixedOffset>> = None;
        let mut extend = |e: DateTime<FixedOffset>| {
            if e > at && end.is_none_or(|cur| e > cur) {
                end = Some(e);
            }
        };
        let at_local = |d: chrono::NaiveDate, t: NaiveTime| {
            jst::offset().from_local_datetime(&d.and_time(t)).single()
        };
        if let Some((from, until)) = self.daily
            && from <= time
            && time < until
            && let Some(e) = at_local(day, until)
        {
            extend(e);
        }
        if let Some(from) = self.month_end_from {
            let last_of_month = day
                .checked_add_days(Days::new(1))
                .is_some_and(|n| n.month() != day.month());
            if last_of_month && time >= from {
                let reopen = self.daily.map_or(hm(0, 0), |(_, until)| until);
                if let Some(e) = day
                    .checked_add_days(Days::new(1))
                    .and_then(|n| at_local(n, reopen))
                {
                    extend(e);
                }
            }
        }
        for (from, until) in &self.emergency {
            if *from <= at && at < *until {
                extend(*until);
            }
        }
        end
    }

    /// X1: is the service in a maintenance window at `at`, and when does it reopen? Windows that
    /// touch or overlap are followed to the end, so `reopens` is always an open instant.
    pub fn status<Tz: TimeZone>(&self, at: &DateTime<Tz>) -> MaintenanceStatus {
        let at = jst::to_jst(at);
        let Some(mut end) = self.window_end(at) else {
            return MaintenanceStatus {
                in_window: false,
                reopens: None,
                rule: RuleId::X1,
            };
        };
        // Each step moves strictly forward; the bound only guards against a pathological list of
        // emergency windows.
        for _ in 0..10_000 {
            match self.window_end(end) {
                Some(next) if next > end => end = next,
                _ => break,
            }
        }
        MaintenanceStatus {
            in_window: true,
            reopens: Some(end),
            rule: RuleId::X1,
        }
    }
}
