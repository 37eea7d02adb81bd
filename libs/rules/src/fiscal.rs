//! Japanese fiscal years (年度): April 1 of year N to March 31 of N + 1.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

/// Fiscal year N, April 1 N – March 31 N+1 (年度).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FiscalYear(pub i32);

impl FiscalYear {
    /// The fiscal year `d` falls in.
    pub fn of(d: NaiveDate) -> Self {
        FiscalYear(if d.month() >= 4 {
            d.year()
        } else {
            d.year() - 1
        })
    }

    /// April 1 of the fiscal year.
    pub fn first_day(self) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(self.0, 4, 1)
    }

    /// March 31 that closes the fiscal year.
    pub fn last_day(self) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(self.0.checked_add(1)?, 3, 31)
    }

    /// The following fiscal year (saturating at the end of the representable range).
    pub fn next(self) -> Self {
        FiscalYear(self.0.saturating_add(1))
    }
}
