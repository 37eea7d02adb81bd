//! Deletion of provided seeker information (SK6a–e).
//!
//! Every acquisition (organisation × seeker × acquisition time) carries a deletion deadline. These
//! are retention clocks, not deadlines for an act: P3 never moves them.

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use crate::RuleId;
use crate::error::{Result, RulesError};
use crate::fiscal::FiscalYear;
use crate::period::{self, Span};

/// What is known about one acquisition of a seeker's information by an organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Acquisition {
    /// JST day the organisation acquired the information.
    pub acquired: NaiveDate,
    /// JST day the organisation accepted the seeker (求職受理), if it did.
    pub accepted: Option<NaiveDate>,
    /// SK6a: the seeker asked for deletion.
    pub deletion_requested: Option<NaiveDate>,
    /// SK6b: the seeker blocked the organisation's messages.
    pub blocked: Option<NaiveDate>,
    /// SK6e: the organisation stopped using S-SEEKER (withdrawal, expiry, suspension, revocation).
    pub service_ended: Option<NaiveDate>,
}

/// When an acquisition must be deleted, and the rule that says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DeletionDeadline {
    /// The last day the information may be kept. For SK6a, b and e it is the day before the
    /// triggering day: the data is due at once.
    pub keep_through: NaiveDate,
    /// The day deletion is due (`keep_through` + 1); for SK6a, b, e the triggering day itself.
    pub due: NaiveDate,
    pub rule: RuleId,
}

/// SK6c: the last day the organisation may accept the seeker: the last day of the month after next
/// of the acquisition month (acquired 2026-11-10 → 2027-01-31).
pub fn acceptance_deadline(acquired: NaiveDate) -> Result<NaiveDate> {
    let first = acquired
        .with_day(1)
        .and_then(|f| f.checked_add_months(chrono::Months::new(2)))
        .ok_or_else(|| RulesError::invalid(RuleId::SK6c, format!("{acquired} out of range")))?;
    period::last_day_of_month(first)
}

/// SK6d: the last day an accepted seeker's information may be kept: more than one year counted
/// from the first day of the fiscal year after the fiscal year of acceptance must not pass, so it
/// is kept through March 31 two fiscal years on (accepted 2026-05-10 → through 2028-03-31).
pub fn accepted_keep_through(accepted: NaiveDate) -> Result<NaiveDate> {
    let from = FiscalYear::of(accepted)
        .next()
        .first_day()
        .ok_or_else(|| RulesError::invalid(RuleId::SK6d, format!("{accepted} out of range")))?;
    period::period_end(from, Span::Years(1))
}

fn due_at_once(day: NaiveDate, rule: RuleId) -> Result<DeletionDeadline> {
    let keep_through = day
        .pred_opt()
        .ok_or_else(|| RulesError::invalid(rule, format!("{day} out of range")))?;
    Ok(DeletionDeadline {
        keep_through,
        due: day,
        rule,
    })
}

fn due_after(keep_through: NaiveDate, rule: RuleId) -> Result<DeletionDeadline> {
    let due = keep_through
        .succ_opt()
        .ok_or_else(|| RulesError::invalid(rule, format!("{keep_through} out of range")))?;
    Ok(DeletionDeadline {
        keep_through,
        due,
        rule,
    })
}

/// The clock that runs without any event: SK6d when accepted in time, SK6c otherwise. An
/// acceptance after the SK6c deadline does not restart the clock: the data was already due.
pub fn retention_clock(
    acquired: NaiveDate,
    accepted: Option<NaiveDate>,
) -> Result<DeletionDeadline> {
    let accept_by = acceptance_deadline(acquired)?;
    match accepted {
        Some(a) if a < acquired => Err(RulesError::invalid(
            RuleId::SK6d,
            format!("accepted on {a}, before the acquisition on {acquired}"),
        )),
        Some(a) if a <= accept_by => due_after(accepted_keep_through(a)?, RuleId::SK6d),
        _ => due_after(accept_by, RuleId::SK6c),
    }
}

/// The deletion deadline of an acquisition: the earliest of every clock and event that applies.
pub fn deletion_deadline(acq: &Acquisition) -> Result<DeletionDeadline> {
    let mut best = retention_clock(acq.acquired, acq.accepted)?;
    let events = [
        (acq.deletion_requested, RuleId::SK6a),
        (acq.blocked, RuleId::SK6b),
        (acq.service_ended, RuleId::SK6e),
    ];
    for (day, rule) in events {
        if let Some(day) = day {
            let d = due_at_once(day.max(acq.acquired), rule)?;
            if d.due < best.due {
                best = d;
            }
        }
    }
    Ok(best)
}
