//! The rules crate's one integration-test binary. Test names carry the rule ID they check
//! (`d1_…`, `sk6c_…`); `coverage.rs` fails when a decision of `RULES.md` has no test.

#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed, and says where

mod calendar;
mod coverage;
mod deadline;
mod decisions;
mod eligibility;
mod maintenance;
mod message;
mod period;
mod posting;
mod properties;
mod quota;
mod retention;
mod sanction;

use chrono::{DateTime, FixedOffset};
use hwx_rules::Date;

/// `YYYY-MM-DD` → date, for tables.
pub fn d(s: &str) -> Date {
    s.parse()
        .unwrap_or_else(|e| panic!("bad date {s:?} in a test table: {e}"))
}

/// RFC 3339 → instant, for tables.
pub fn at(s: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("bad instant {s:?} in a test table: {e}"))
}
