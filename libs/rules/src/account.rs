//! Accounts and responsible persons (§2: A1, A2).

use chrono::{DateTime, Duration, FixedOffset};
use serde::{Deserialize, Serialize};

use crate::RuleId;

/// Login lockout: the terms make the organisation answer for its ID (A1); repeated failures lock
/// the account for a while so a guessed password cannot be tried at leisure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    pub max_failures: u32,
    pub lock_for: Duration,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        LockoutPolicy {
            max_failures: 5,
            lock_for: Duration::minutes(30),
        }
    }
}

impl LockoutPolicy {
    /// After a failed login that brings the consecutive failures to `failures`: locked until when?
    pub fn after_failure(
        &self,
        failures: u32,
        now: DateTime<FixedOffset>,
    ) -> Option<DateTime<FixedOffset>> {
        (failures >= self.max_failures)
            .then(|| now.checked_add_signed(self.lock_for).unwrap_or(now))
    }
}

/// What a "report compromise" does (A1): all of it, at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CompromiseResponse {
    /// The account is locked until operations unlock it.
    pub lock_account: bool,
    pub revoke_sessions: bool,
    pub notify_ops: bool,
    pub rule: RuleId,
}

/// A1: the response to a reported compromise.
pub const fn on_compromise_report() -> CompromiseResponse {
    CompromiseResponse {
        lock_account: true,
        revoke_sessions: true,
        notify_ops: true,
        rule: RuleId::A1,
    }
}

/// A responsible person as the organisation names them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ResponsiblePerson {
    pub name: String,
    pub contact: String,
    /// 常勤 (full-time employee): required by A2.
    pub full_time: bool,
}

/// A2: the organisation's contact person (連絡責任者) and personal-information & complaints manager
/// (個人情報管理等責任者). One person may hold both. Returns what is wrong, empty when fine.
pub fn responsible_person_problems(
    contact: &ResponsiblePerson,
    pi_manager: &ResponsiblePerson,
) -> Vec<String> {
    let mut problems = Vec::new();
    for (role, p) in [
        ("contact person", contact),
        ("personal-information manager", pi_manager),
    ] {
        if p.name.trim().is_empty() {
            problems.push(format!("the {role} has no name"));
        }
        if p.contact.trim().is_empty() {
            problems.push(format!("the {role} has no contact"));
        }
        if !p.full_time {
            problems.push(format!("the {role} must be a full-time employee"));
        }
    }
    problems
}
