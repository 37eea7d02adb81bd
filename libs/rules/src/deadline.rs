//! The deadlines of §5 (D1–D8) and the bars of E7 and E8.

use chrono::{Datelike, NaiveDate, Weekday};
use serde::Serialize;

use crate::RuleId;
use crate::calendar;
use crate::error::{Result, RulesError};
use crate::fiscal::FiscalYear;
use crate::period::{self, Span};

/// Days an organisation has to send the signed application PDF (AP2).
pub const SUBMISSION_DAYS: u32 = 14;
/// Business days within which the bureau sends its application email (AP5).
pub const BUREAU_EMAIL_BUSINESS_DAYS: u32 = 3;
/// Length of a fixed suspension (D6).
pub const SUSPENSION_MONTHS: u32 = 6;
/// Years a revoked organisation may not re-apply (E8).
pub const REAPPLY_BAR_YEARS: u32 = 3;
/// Years an account's email stays taken after the account is closed (E7).
pub const EMAIL_RETENTION_YEARS: u32 = 5;
/// Default validity of a service enrolment (D8).
pub const DEFAULT_VALIDITY_MONTHS: u32 = 12;

/// D1: the last day to submit the signed application registered on `registered`:
/// 14 days counted from the day after (P1), rolled back off administrative holidays (P3).
pub fn submission_deadline(registered: NaiveDate) -> Result<NaiveDate> {
    period::deadline_after(registered, Span::Days(SUBMISSION_DAYS))
}

/// AP3: the day an unsubmitted registration is deleted, the day after the 14th day. The seed
/// deletes "data past 14 days from the next day" without the P3 roll-back, so this is the raw
/// 14th day + 1 even where the D1 deadline moved back.
pub fn unsubmitted_deleted_on(registered: NaiveDate) -> Result<NaiveDate> {
    period::days_after(registered, SUBMISSION_DAYS + 1)
}

/// D2: the bureau's application email is due by the 3rd business day after the account was
/// registered (administrative holidays are skipped, not rolled back).
pub fn bureau_email_due(registered: NaiveDate) -> Result<NaiveDate> {
    calendar::nth_business_day_after(registered, BUREAU_EMAIL_BUSINESS_DAYS)
}

/// The dates of the annual usage report of one fiscal year (D3, D4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ReportDates {
    /// D3: Apr 20 after the fiscal year, rolled back by P3 when it is an administrative holiday.
    pub due: NaiveDate,
    /// D3: one month counted from Apr 21 (P2), rolled back by P3. Missing after it → V5.
    pub grace_end: NaiveDate,
    /// D4: the reminder email goes out on the third Monday of the fiscal year's last March.
    pub reminder: NaiveDate,
}

/// D3 and D4 for the report of fiscal year `fy`.
///
/// The seed's §10 proviso ("期限の末日が…休日となる場合はその前日まで。以下同じ。") covers every later
/// deadline, so the Apr 20 due date is rolled back too; the grace is still counted from the day after
/// the stated Apr 20 (「報告期限（４月20日）の翌日から１か月」).
pub fn report_dates(fy: FiscalYear) -> Result<ReportDates> {
    let out_of_range =
        || RulesError::invalid(RuleId::D3, format!("fiscal year {} out of range", fy.0));
    let year = fy.0.checked_add(1).ok_or_else(out_of_range)?;
    let stated = NaiveDate::from_ymd_opt(year, 4, 20).ok_or_else(out_of_range)?;
    Ok(ReportDates {
        due: period::roll_back(stated)?,
        grace_end: period::deadline_after(stated, Span::Months(1))?,
        reminder: calendar::nth_weekday(year, 3, Weekday::Mon, 3),
    })
}

/// D5: the last day of the grace after a licence or a service validity expired on `expired`
/// (its last valid day): one month counted from the day after (P2), rolled back by P3.
pub fn expiry_grace_end(expired: NaiveDate) -> Result<NaiveDate> {
    period::deadline_after(expired, Span::Months(1))
}

/// D6: the last day of a fixed suspension that starts on `start` (day 1): six months by P2.
///
/// Not rolled back by P3: a suspension is a measure's length, not a deadline for an act, and
/// rolling it back would shorten it.
pub fn suspension_last_day(start: NaiveDate) -> Result<NaiveDate> {
    period::period_end(start, Span::Months(SUSPENSION_MONTHS))
}

/// E8 / D7: the first day a revoked organisation may apply again. "3 years counted from the
/// revocation date" (§5) makes the revocation date day 1, so the bar ends the day before the
/// corresponding day three years on, and the organisation may apply from that day.
pub fn reapply_from(revoked: NaiveDate) -> Result<NaiveDate> {
    period::day_after_period(revoked, Span::Years(REAPPLY_BAR_YEARS))
}

/// E7: the first day the email of an account closed on `closed` may be registered again: the
/// address is kept 5 years counted from the closing date (P2).
pub fn email_reusable_from(closed: NaiveDate) -> Result<NaiveDate> {
    period::day_after_period(closed, Span::Years(EMAIL_RETENTION_YEARS))
}

/// D8: the last valid day of an enrolment approved to start on `start`: `months` (default
/// [`DEFAULT_VALIDITY_MONTHS`]) by P2, but never beyond the licence expiry.
pub fn validity_end(
    start: NaiveDate,
    months: Option<u32>,
    licence_expiry: Option<NaiveDate>,
) -> Result<NaiveDate> {
    let end = period::period_end(
        start,
        Span::Months(months.unwrap_or(DEFAULT_VALIDITY_MONTHS)),
    )?;
    match licence_expiry {
        Some(expiry) if expiry < start => Err(RulesError::invalid(
            RuleId::D8,
            format!("the licence expired on {expiry}, before the enrolment would start on {start}"),
        )),
        Some(expiry) => Ok(end.min(expiry)),
        None => Ok(end),
    }
}

/// E3's window: the three months counted back from the application date, that day included
/// (「利用申請日から起算して過去３か月以内」). Returns `(first, last)` inclusive.
pub fn placement_window(application: NaiveDate) -> Result<(NaiveDate, NaiveDate)> {
    let first_of_month = application
        .with_day(1)
        .ok_or_else(|| window_err(application))?;
    let back = first_of_month
        .checked_sub_months(chrono::Months::new(3))
        .ok_or_else(|| window_err(application))?;
    // Counting backwards mirrors P2: the period ends (at its far end) the day after the
    // corresponding day; with no corresponding day, on the first day of the following month.
    let first = match back.with_day(application.day()) {
        Some(corresponding) => corresponding.succ_opt(),
        None => back.checked_add_months(chrono::Months::new(1)),
    }
    .ok_or_else(|| window_err(application))?;
    Ok((first, application))
}

fn window_err(d: NaiveDate) -> RulesError {
    RulesError::invalid(RuleId::E3, format!("{d}: placement window out of range"))
}
