//! The one error type of the rules crate: every variant knows the rule it comes from.

use crate::RuleId;

/// A question the rules cannot answer as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RulesError {
    /// The national-holiday rules are computed for 1980–2099 only (C2): the equinox formula holds there.
    #[error(
        "year {year} is outside the calendar this system computes ({first}–{last}); rule C2",
        first = crate::calendar::FIRST_YEAR,
        last = crate::calendar::LAST_YEAR
    )]
    OutsideCalendar { year: i32 },
    /// An input that no rule accepts, with the rule that says why.
    #[error("{message}; rule {rule}")]
    Invalid { rule: RuleId, message: String },
}

impl RulesError {
    /// The rule that decided, for error messages and API details.
    pub fn rule(&self) -> RuleId {
        match self {
            RulesError::OutsideCalendar { .. } => RuleId::C2,
            RulesError::Invalid { rule, .. } => *rule,
        }
    }

    pub(crate) fn invalid(rule: RuleId, message: impl Into<String>) -> Self {
        RulesError::Invalid {
            rule,
            message: message.into(),
        }
    }
}

/// Result of a rules computation.
pub type Result<T, E = RulesError> = std::result::Result<T, E>;
