//! The life of an application (§3: AP1–AP4, E6).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::RuleId;
use crate::deadline;
use crate::eligibility::ApplicationKind;
use crate::error::{Result, RulesError};

/// Where an application stands (AP4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationStatus {
    /// Registered on the site; the signed PDF has not reached the bureau.
    Registered,
    /// The bureau recorded receipt of the signed PDF.
    Submitted,
    Approved,
    Rejected,
    /// Not submitted in time; the registration data is deleted (AP3).
    Expired,
}

/// What happens to an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum ApplicationAction {
    /// The bureau records receipt of the signed PDF on `on` (AP2).
    Submit {
        on: NaiveDate,
    },
    Approve,
    Reject,
    /// The AP3 sweep runs on `on`.
    Sweep {
        on: NaiveDate,
    },
}

/// AP4: the status after `action`, or the rule that refuses it. `registered` is the day the
/// application was registered on the site.
pub fn transition(
    status: ApplicationStatus,
    registered: NaiveDate,
    action: ApplicationAction,
) -> Result<ApplicationStatus> {
    use ApplicationAction as A;
    use ApplicationStatus as S;
    match (status, action) {
        (S::Registered, A::Submit { on }) => {
            let due = deadline::submission_deadline(registered)?;
            if on > due {
                Err(RulesError::invalid(
                    RuleId::D1,
                    format!(
                        "the submission deadline was {due} (14 days from the day after {registered}); register a new application"
                    ),
                ))
            } else {
                Ok(S::Submitted)
            }
        }
        (S::Registered, A::Sweep { on }) if on >= deadline::unsubmitted_deleted_on(registered)? => {
            Ok(S::Expired)
        }
        (s, A::Sweep { .. }) => Ok(s),
        (S::Submitted, A::Approve) => Ok(S::Approved),
        (S::Submitted, A::Reject) => Ok(S::Rejected),
        (S::Registered, A::Approve | A::Reject) => Err(RulesError::invalid(
            RuleId::AP4,
            "registration alone completes nothing: the bureau decides after the signed application arrives",
        )),
        (s, a) => {
            let again = if s == S::Submitted && matches!(a, A::Submit { .. }) {
                " again"
            } else {
                ""
            };
            Err(RulesError::invalid(
                RuleId::AP4,
                format!(
                    "the application is already {}, so it cannot {}{again}",
                    s.word(),
                    a.phrase()
                ),
            ))
        }
    }
}

impl ApplicationStatus {
    /// The status as the API writes it (`submitted`).
    pub fn word(self) -> &'static str {
        match self {
            ApplicationStatus::Registered => "registered",
            ApplicationStatus::Submitted => "submitted",
            ApplicationStatus::Approved => "approved",
            ApplicationStatus::Rejected => "rejected",
            ApplicationStatus::Expired => "expired",
        }
    }
}

impl ApplicationAction {
    /// What the action does, for messages ("be approved").
    pub fn phrase(self) -> &'static str {
        match self {
            ApplicationAction::Submit { .. } => "have its submission recorded",
            ApplicationAction::Approve => "be approved",
            ApplicationAction::Reject => "be rejected",
            ApplicationAction::Sweep { .. } => "be swept",
        }
    }
}

/// AP1 and E6: the applications a request consists of. A renewal whose content changed carries a
/// change application with it.
pub fn applications_for(kind: ApplicationKind, content_changed: bool) -> Vec<ApplicationKind> {
    match kind {
        ApplicationKind::Renewal if content_changed => {
            vec![ApplicationKind::Renewal, ApplicationKind::Change]
        }
        k => vec![k],
    }
}
