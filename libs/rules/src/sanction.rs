//! Violations and sanctions (§8: V1–V7, SN1–SN3) as a state machine: given an organisation's
//! standing, its sanction history and a new event, what follows, and the rule that decided it.
//!
//! Where RULES.md's table and the seed differ, the seed is followed:
//! - V2 and V4: *any* violation after resuming from such a sanction leads to revocation
//!   (「再度利用規約違反行為を行った場合」), not only a repeat of the same kind;
//! - V3 and V6 have no repeat clause: a repeat gets the first-time measure again;
//! - V5: revocation when not remedied by the end of the 6-month suspension, or for a V5 「直ちに」
//!   (within [`SanctionPolicy::v5_repeat_window_months`]) after resuming;
//! - the end of a V2 or V3 suspension restores access: only V5 revokes when unremedied (D6).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::RuleId;
use crate::deadline;
use crate::error::{Result, RulesError};
use crate::period::{self, Span};

/// How a suspension measure ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum MeasureEnd {
    /// A fixed six-month suspension (D6): access returns after `last_day`.
    Fixed { last_day: NaiveDate },
    /// Suspended until the bureau confirms the correction.
    UntilCorrected,
    /// V7: temporary, while the facts are established; lifted by the bureau.
    Temporary,
}

/// One open suspension measure and the rule that imposed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Measure {
    pub cause: RuleId,
    pub since: NaiveDate,
    pub end: MeasureEnd,
}

/// An organisation's standing in the services.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum Standing {
    Active,
    /// Suspended while any measure is open (SN1). `ended` keeps the causes of measures that ran
    /// out while others kept the suspension: the organisation resumes from them too.
    Suspended {
        measures: Vec<Measure>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        ended: Vec<RuleId>,
    },
    /// Revoked (SN2): final; the E8 bar runs from `on`.
    Revoked {
        on: NaiveDate,
        cause: RuleId,
    },
}

/// A sanction the organisation came back from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PastSanction {
    pub cause: RuleId,
    pub resumed_on: NaiveDate,
}

/// Something that happens to an organisation's standing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "event")]
pub enum SanctionEvent {
    /// A violation established by the bureau (`rule` one of V1–V7, V5b, or SN3 for an ops measure
    /// request not complied with). `malicious` marks a highly malicious V6 (悪質).
    Violation {
        rule: RuleId,
        on: NaiveDate,
        #[serde(default)]
        malicious: bool,
    },
    /// The bureau confirms the correction of the measures imposed under `cause` (all correctable
    /// measures when `None`), or lifts a temporary suspension.
    Corrected {
        on: NaiveDate,
        cause: Option<RuleId>,
    },
    /// A day passes: fixed suspensions whose last day is before `on` end. `remedied` says whether the
    /// missed procedure of a V5 suspension was made good (D6).
    Elapsed { on: NaiveDate, remedied: bool },
}

/// Tunables the seed leaves open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SanctionPolicy {
    /// 「利用再開後に直ちに同種の…」: months after resuming from a V5 suspension within which a new
    /// V5 revokes.
    pub v5_repeat_window_months: u32,
}

impl Default for SanctionPolicy {
    fn default() -> Self {
        SanctionPolicy {
            v5_repeat_window_months: 6,
        }
    }
}

/// What follows from an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub standing: Standing,
    /// A correction request (是正要求) goes to the organisation.
    pub correction_request: bool,
    /// Sanctions the organisation resumed from with this event: record them in its history.
    pub resumed: Vec<RuleId>,
    /// Consequences to carry out: SN1 (access cut, 停止中), SK6e (delete seeker data), SN2 (revoked
    /// list), E8 (re-application bar).
    pub effects: Vec<RuleId>,
    /// The rule that decided.
    pub rule: RuleId,
    /// Why, in one sentence.
    pub reason: String,
}

const VIOLATIONS: &[RuleId] = &[
    RuleId::V1,
    RuleId::V2,
    RuleId::V3,
    RuleId::V4,
    RuleId::V5,
    RuleId::V5b,
    RuleId::V6,
    RuleId::V7,
    RuleId::SN3,
];

fn revoke(on: NaiveDate, rule: RuleId, reason: String, was_suspended: bool) -> Decision {
    let mut effects = vec![RuleId::SN2, RuleId::E8];
    if !was_suspended {
        effects.insert(0, RuleId::SN1);
        effects.push(RuleId::SK6e);
    }
    Decision {
        standing: Standing::Revoked { on, cause: rule },
        correction_request: false,
        resumed: vec![],
        effects,
        rule,
        reason,
    }
}

/// The first-time measure for a violation: `(correction request, how the suspension ends)`.
fn first_measure(rule: RuleId, on: NaiveDate) -> Result<(bool, MeasureEnd)> {
    let six_months = || -> Result<MeasureEnd> {
        Ok(MeasureEnd::Fixed {
            last_day: deadline::suspension_last_day(on)?,
        })
    };
    Ok(match rule {
        RuleId::V1 | RuleId::SN3 => (false, MeasureEnd::UntilCorrected),
        RuleId::V2 | RuleId::V3 => (true, six_months()?),
        RuleId::V4 | RuleId::V6 => (true, MeasureEnd::UntilCorrected),
        RuleId::V5 => (false, six_months()?),
        RuleId::V7 => (false, MeasureEnd::Temporary),
        other => {
            return Err(RulesError::invalid(
                other,
                format!("{other} is not a violation of §8 (V1–V7, V5b, SN3)"),
            ));
        }
    })
}

/// Decide what follows from `event` for an organisation with `standing` and `history`.
pub fn decide(
    standing: &Standing,
    history: &[PastSanction],
    event: &SanctionEvent,
    policy: &SanctionPolicy,
) -> Result<Decision> {
    if let Standing::Revoked { on, cause } = standing {
        return Err(RulesError::invalid(
            RuleId::SN2,
            format!("the organisation was revoked on {on} under {cause}; nothing further applies"),
        ));
    }
    let (open, ended_before): (Vec<Measure>, Vec<RuleId>) = match standing {
        Standing::Suspended { measures, ended } => (measures.clone(), ended.clone()),
        _ => (Vec::new(), Vec::new()),
    };
    let suspended = !open.is_empty();
    match *event {
        SanctionEvent::Violation {
            rule,
            on,
            malicious,
        } => {
            if !VIOLATIONS.contains(&rule) {
                return Err(RulesError::invalid(
                    rule,
                    format!("{rule} is not a violation of §8 (V1–V7, V5b, SN3)"),
                ));
            }
            if rule == RuleId::V5b {
                return Ok(revoke(
                    on,
                    rule,
                    "false report or fraudulent acquisition of seeker information".into(),
                    suspended,
                ));
            }
            if rule == RuleId::V6 && malicious {
                return Ok(revoke(
                    on,
                    rule,
                    "a highly malicious breach is revoked at once".into(),
                    suspended,
                ));
            }
            // V7 is no established violation (the facts are still being found), so the repeat
            // clauses do not apply to it.
            for past in history.iter().filter(|_| rule != RuleId::V7) {
                if matches!(past.cause, RuleId::V2 | RuleId::V4) && past.resumed_on <= on {
                    return Ok(revoke(
                        on,
                        past.cause,
                        format!(
                            "a violation ({rule}) after resuming from a {} sanction on {}",
                            past.cause, past.resumed_on
                        ),
                        suspended,
                    ));
                }
                if rule == RuleId::V5 && past.cause == RuleId::V5 && past.resumed_on <= on {
                    let window_end = period::period_end(
                        past.resumed_on,
                        Span::Months(policy.v5_repeat_window_months.max(1)),
                    )?;
                    if on <= window_end {
                        return Ok(revoke(
                            on,
                            RuleId::V5,
                            format!(
                                "the same kind of breach right after resuming from a V5 suspension on {}",
                                past.resumed_on
                            ),
                            suspended,
                        ));
                    }
                }
            }
            let (correction_request, end) = first_measure(rule, on)?;
            let mut measures = open;
            measures.push(Measure {
                cause: rule,
                since: on,
                end,
            });
            Ok(Decision {
                standing: Standing::Suspended {
                    measures,
                    ended: ended_before,
                },
                correction_request,
                resumed: vec![],
                effects: if suspended {
                    vec![]
                } else {
                    vec![RuleId::SN1, RuleId::SK6e]
                },
                rule,
                reason: match end {
                    MeasureEnd::Fixed { last_day } => {
                        format!("suspended for six months, through {last_day} (D6)")
                    }
                    MeasureEnd::UntilCorrected => {
                        "suspended until the correction is confirmed".into()
                    }
                    MeasureEnd::Temporary => {
                        "temporarily suspended while the facts are established".into()
                    }
                },
            })
        }
        SanctionEvent::Corrected { on: _, cause } => {
            if !suspended {
                return Err(RulesError::invalid(
                    RuleId::SN1,
                    "the organisation is not suspended",
                ));
            }
            let (lifted, kept): (Vec<Measure>, Vec<Measure>) = open.into_iter().partition(|m| {
                !matches!(m.end, MeasureEnd::Fixed { .. }) && cause.is_none_or(|c| c == m.cause)
            });
            if lifted.is_empty() {
                return Err(RulesError::invalid(
                    cause.unwrap_or(RuleId::SN1),
                    "no correctable measure is open for that cause",
                ));
            }
            Ok(settle(
                kept,
                lifted,
                ended_before,
                lifted_rule(cause),
                "the correction is confirmed",
            ))
        }
        SanctionEvent::Elapsed { on, remedied } => {
            let (ended, kept): (Vec<Measure>, Vec<Measure>) = open
                .into_iter()
                .partition(|m| matches!(m.end, MeasureEnd::Fixed { last_day } if last_day < on));
            if !remedied && let Some(m) = ended.iter().find(|m| m.cause == RuleId::V5) {
                return Ok(revoke(
                    on,
                    RuleId::V5,
                    format!(
                        "not remedied by the end of the suspension that began on {} (D6)",
                        m.since
                    ),
                    true,
                ));
            }
            if ended.is_empty() {
                return Ok(Decision {
                    standing: standing.clone(),
                    correction_request: false,
                    resumed: vec![],
                    effects: vec![],
                    rule: RuleId::D6,
                    reason: "no suspension ends".into(),
                });
            }
            Ok(settle(
                kept,
                ended,
                ended_before,
                RuleId::D6,
                "the six-month suspension is over",
            ))
        }
    }
}

fn lifted_rule(cause: Option<RuleId>) -> RuleId {
    cause.unwrap_or(RuleId::SN1)
}

fn settle(
    kept: Vec<Measure>,
    ended: Vec<Measure>,
    ended_before: Vec<RuleId>,
    rule: RuleId,
    why: &str,
) -> Decision {
    let mut all_ended = ended_before;
    all_ended.extend(ended.iter().map(|m| m.cause));
    let done = kept.is_empty();
    Decision {
        reason: if done {
            format!("{why}: access is restored")
        } else {
            format!(
                "{why}, but {} other measure(s) keep the suspension",
                kept.len()
            )
        },
        standing: if done {
            Standing::Active
        } else {
            Standing::Suspended {
                measures: kept,
                ended: all_ended.clone(),
            }
        },
        correction_request: false,
        resumed: if done { all_ended } else { vec![] },
        effects: vec![],
        rule,
    }
}
