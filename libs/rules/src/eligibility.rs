//! Who may use which service (§1: E1–E5, with the E2 and E8 bars).

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::RuleId;
use crate::deadline;
use crate::error::{Result, RulesError};
use crate::period::{self, Span};

/// The two services of the terms (§1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Service {
    /// S-JOB 求人情報提供サービス.
    Job,
    /// S-SEEKER 求職情報提供サービス.
    Seeker,
}

impl Service {
    pub const fn code(self) -> &'static str {
        match self {
            Service::Job => "S-JOB",
            Service::Seeker => "S-SEEKER",
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Organisation kinds of §2(1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OrgKind {
    /// 有料職業紹介事業者 (Art. 30(1)), licensed.
    K1,
    /// 無料職業紹介事業者 (Art. 33(1)), licensed.
    K2,
    /// 学校等 doing free placement (Art. 33-2(1)(i)(ii)), notified.
    K3,
    /// 特別の法人 doing free placement (Art. 33-3(1)), notified.
    K4,
}

impl OrgKind {
    /// Whether the kind holds a licence with an expiry (K1, K2) rather than a notification.
    pub const fn is_licensed(self) -> bool {
        matches!(self, OrgKind::K1 | OrgKind::K2)
    }
}

impl FromStr for OrgKind {
    type Err = RulesError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "K1" => Ok(OrgKind::K1),
            "K2" => Ok(OrgKind::K2),
            "K3" => Ok(OrgKind::K3),
            "K4" => Ok(OrgKind::K4),
            _ => Err(RulesError::invalid(
                RuleId::E1,
                format!("unknown organisation kind {s:?} (K1–K4)"),
            )),
        }
    }
}

/// The kind of school of a K3 organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum School {
    /// 大学
    University,
    /// 大学院
    GraduateSchool,
    /// 短期大学
    JuniorCollege,
    /// 高等専門学校
    TechnicalCollege,
    /// 専修学校
    VocationalSchool,
    /// 高等学校: excluded from S-JOB (E1).
    High,
    /// 中学校: excluded from S-JOB (E1).
    JuniorHigh,
}

/// The kind of application (AP1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationKind {
    /// 利用申請
    #[default]
    Use,
    /// 変更申請
    Change,
    /// 更新申請
    Renewal,
    /// 退会申請
    Withdrawal,
}

/// What the eligibility rules need to know about an organisation applying for a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EligibilityQuery {
    pub service: Service,
    pub kind: OrgKind,
    /// Required for K3: no organisation outside a school falls under K3 (Art. 33-2(1)(i)(ii)).
    pub school: Option<School>,
    pub application: ApplicationKind,
    /// Regular-employment placements (E4) made as a placement business in the E3 window
    /// ([`deadline::placement_window`]).
    pub regular_placements_3m: u32,
    /// A business-suspension order (事業停止命令) is in force (E2).
    pub suspension_order: bool,
    /// A business-improvement order (業務改善命令) whose improvement is not yet confirmed (E2).
    pub improvement_order: bool,
    /// The day the organisation's use was revoked, if ever (E8).
    pub revoked_on: Option<NaiveDate>,
    /// The application date.
    pub on: NaiveDate,
}

/// E1: whether `kind` and `school` describe an organisation at all: a K3 is a school and says which
/// kind (Art. 33-2(1)(i)(ii)); no other kind is a school. Checked at registration and again at
/// every application.
pub fn organisation_kind(kind: OrgKind, school: Option<School>) -> Result<()> {
    match (kind, school) {
        (OrgKind::K3, None) => Err(RulesError::invalid(
            RuleId::E1,
            "a K3 organisation is a school: give the kind of school",
        )),
        (OrgKind::K3, Some(_)) | (_, None) => Ok(()),
        (kind, Some(_)) => Err(RulesError::invalid(
            RuleId::E1,
            format!("a school kind is given for a {kind:?} organisation, which is not a school"),
        )),
    }
}

/// The answer: eligible, or every rule that refuses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Eligibility {
    pub eligible: bool,
    pub rules: Vec<RuleId>,
}

/// Decide eligibility, naming every rule that fails (not only the first).
///
/// Which rules apply depends on the application (AP1): a withdrawal is always accepted; E2 bars
/// only new admission (「新規に対象としない」), so only a use application; E3 asks for placements
/// at use and renewal (「利用申請日（更新申請時を含む）」); E5 is the renewal case of E3.
pub fn eligibility(q: &EligibilityQuery) -> Result<Eligibility> {
    organisation_kind(q.kind, q.school)?;
    let mut failed = Vec::new();
    // E1 excludes junior high and high schools from every service of the terms.
    if matches!(q.school, Some(School::High | School::JuniorHigh)) {
        failed.push(RuleId::E1);
    }
    let kind = q.application;
    if kind == ApplicationKind::Withdrawal {
        return Ok(Eligibility {
            eligible: true,
            rules: vec![],
        });
    }
    if kind == ApplicationKind::Use && (q.suspension_order || q.improvement_order) {
        failed.push(RuleId::E2);
    }
    if q.service == Service::Seeker
        && matches!(kind, ApplicationKind::Use | ApplicationKind::Renewal)
    {
        let kind_ok = matches!(q.kind, OrgKind::K1 | OrgKind::K2 | OrgKind::K4);
        if !kind_ok || q.regular_placements_3m == 0 {
            failed.push(RuleId::E3);
            if kind == ApplicationKind::Renewal && kind_ok {
                failed.push(RuleId::E5);
            }
        }
    }
    if let Some(revoked) = q.revoked_on
        && q.on < deadline::reapply_from(revoked)?
    {
        failed.push(RuleId::E8);
    }
    failed.sort();
    failed.dedup();
    Ok(Eligibility {
        eligible: failed.is_empty(),
        rules: failed,
    })
}

/// The terms of one placement, for E4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmploymentTerms {
    /// First and last day of a fixed-term contract; `None` for no fixed term.
    pub fixed_term: Option<(NaiveDate, NaiveDate)>,
    /// Seasonal work (季節的労働).
    pub seasonal: bool,
}

/// E4: regular employment (常用) is no fixed term, or a fixed term of 4 months or more, and never
/// seasonal work. A term reaches 4 months when it lasts at least through the P2 end of 4 months.
pub fn is_regular_employment(t: &EmploymentTerms) -> Result<bool> {
    if t.seasonal {
        return Ok(false);
    }
    match t.fixed_term {
        None => Ok(true),
        Some((first, last)) if last < first => Err(RulesError::invalid(
            RuleId::E4,
            format!("contract ends on {last}, before it starts on {first}"),
        )),
        Some((first, last)) => Ok(last >= period::period_end(first, Span::Months(4))?),
    }
}
