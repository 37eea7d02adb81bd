//! Civil Code periods (P1, P2) and the roll-back of deadlines that end on an administrative holiday (P3).

use chrono::{Datelike, Days, Months, NaiveDate};

use crate::RuleId;
use crate::calendar;
use crate::error::{Result, RulesError};

/// A length of time as the terms state it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    Days(u32),
    Months(u32),
    Years(u32),
}

/// Last day of a period of `n` days counted from the day after `x` (P1, Civil Code Art. 140):
/// day `x + n`.
pub fn days_after(x: NaiveDate, n: u32) -> Result<NaiveDate> {
    x.checked_add_days(Days::new(u64::from(n)))
        .ok_or_else(|| RulesError::invalid(RuleId::P1, format!("{x} + {n} days is out of range")))
}

/// Last day of a period of months or years whose first day is `start` (P2, Civil Code Art. 143):
/// the day before the corresponding day of the last month or year; when that month has no
/// corresponding day, its last day.
///
/// Days are handled as P1 counts them from `start` as day 1, so `Span::Days(n)` ends on
/// `start + n − 1`.
pub fn period_end(start: NaiveDate, span: Span) -> Result<NaiveDate> {
    let months = match span {
        Span::Days(0) | Span::Months(0) | Span::Years(0) => {
            return Err(RulesError::invalid(RuleId::P2, "a period cannot be empty"));
        }
        Span::Days(n) => return days_after(start, n - 1),
        Span::Months(n) => n,
        Span::Years(n) => n.checked_mul(12).ok_or_else(|| overflow(start))?,
    };
    // The month `months` after start's month, at its first day.
    let first_of_start = start.with_day(1).ok_or_else(|| overflow(start))?;
    let target_month = first_of_start
        .checked_add_months(Months::new(months))
        .ok_or_else(|| overflow(start))?;
    match target_month.with_day(start.day()) {
        // The corresponding day exists: the period ends the day before it.
        Some(corresponding) => corresponding.pred_opt().ok_or_else(|| overflow(start)),
        // No corresponding day (Jan 31 + 1 month): the end of that month.
        None => last_day_of_month(target_month),
    }
}

fn overflow(start: NaiveDate) -> RulesError {
    RulesError::invalid(
        RuleId::P2,
        format!("a period from {start} runs out of range"),
    )
}

/// Last day of the month `d` falls in.
pub fn last_day_of_month(d: NaiveDate) -> Result<NaiveDate> {
    d.with_day(1)
        .and_then(|f| f.checked_add_months(Months::new(1)))
        .and_then(|f| f.pred_opt())
        .ok_or_else(|| RulesError::invalid(RuleId::P2, format!("{d}: month out of range")))
}

/// The day after a period of `span` whose first day is `start`: the first day it no longer runs.
pub fn day_after_period(start: NaiveDate, span: Span) -> Result<NaiveDate> {
    period_end(start, span)?
        .succ_opt()
        .ok_or_else(|| overflow(start))
}

/// A deadline for an act whose last day is an administrative holiday moves back to the nearest
/// preceding business day (P3). The seed says "the day before"; a Sunday's day before is a
/// Saturday, so the only reading that yields a day anyone can act on is the nearest business day.
pub fn roll_back(deadline: NaiveDate) -> Result<NaiveDate> {
    calendar::business_day_on_or_before(deadline)
}

/// A period counted from the day after `x` (P1 for days, P2 for months and years), then rolled
/// back by P3: the shape of every "within N from the day after" deadline of the terms.
pub fn deadline_after(x: NaiveDate, span: Span) -> Result<NaiveDate> {
    let raw = match span {
        Span::Days(n) => days_after(x, n)?,
        _ => period_end(x.succ_opt().ok_or_else(|| overflow(x))?, span)?,
    };
    roll_back(raw)
}
