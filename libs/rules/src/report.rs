//! Annual usage reports (§9: RP1–RP3).

use serde::{Deserialize, Serialize};

use crate::RuleId;
use crate::eligibility::{OrgKind, Service};

/// The figures of one annual report as filed. Absent figures are missing; zero is a figure (RP3).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReportFigures {
    /// RP1: hires decided from provided postings.
    pub hires: Option<u64>,
    /// RP1 (paid organisations): total fees for those hires, yen.
    pub hire_fees_yen: Option<u64>,
    /// RP2: new seeker applications obtained through the service.
    pub new_applications: Option<u64>,
    /// RP2 (paid organisations): seeker-fee total and count.
    pub seeker_fees_yen: Option<u64>,
    pub seeker_fee_count: Option<u64>,
    /// RP2 (paid organisations): employer-fee total and count.
    pub employer_fees_yen: Option<u64>,
    pub employer_fee_count: Option<u64>,
}

/// RP1–RP3: the figures a report for `service` by a `kind` organisation lacks, each with the rule
/// that asks for it. Fee figures are asked of paid placement businesses (K1) only.
pub fn missing_figures(
    service: Service,
    kind: OrgKind,
    f: &ReportFigures,
) -> Vec<(&'static str, RuleId)> {
    let paid = kind == OrgKind::K1;
    let wanted: Vec<(&'static str, Option<u64>, bool)> = match service {
        Service::Job => vec![
            ("hires", f.hires, true),
            ("hire_fees_yen", f.hire_fees_yen, paid),
        ],
        Service::Seeker => vec![
            ("new_applications", f.new_applications, true),
            ("seeker_fees_yen", f.seeker_fees_yen, paid),
            ("seeker_fee_count", f.seeker_fee_count, paid),
            ("employer_fees_yen", f.employer_fees_yen, paid),
            ("employer_fee_count", f.employer_fee_count, paid),
        ],
    };
    let rule = match service {
        Service::Job => RuleId::RP1,
        Service::Seeker => RuleId::RP2,
    };
    wanted
        .into_iter()
        .filter(|(_, v, required)| *required && v.is_none())
        .map(|(name, _, _)| (name, rule))
        .collect()
}

/// RP3: a report of all zeros is a report: the obligation is met by filing it.
pub fn is_zero_report(f: &ReportFigures) -> bool {
    [
        f.hires,
        f.hire_fees_yen,
        f.new_applications,
        f.seeker_fees_yen,
        f.seeker_fee_count,
        f.employer_fees_yen,
        f.employer_fee_count,
    ]
    .iter()
    .all(|v| v.unwrap_or(0) == 0)
}
