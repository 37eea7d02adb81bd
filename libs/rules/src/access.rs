//! Who may see what, now: service access (J2, SN1, SN2, SK6e), the public lists (L1), and how
//! provided job information is labelled (J4, J8).

use serde::{Deserialize, Serialize};

use crate::eligibility::Service;
use crate::error::{Result, RulesError};
use crate::{Date, RuleId};

/// An organisation's enrolment in one service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnrolmentStatus {
    Active,
    Suspended,
    Revoked,
    Withdrawn,
    Expired,
}

/// J2 / SN1 / SN2: may an organisation with this enrolment use `service` now? The refusal names the
/// rule: SN1 for a suspension, SN2 for a revocation, J2 (S-JOB) or E3 (S-SEEKER) for no active
/// enrolment.
pub fn service_access(service: Service, enrolment: Option<EnrolmentStatus>) -> Result<()> {
    let refuse = |rule, why: &str| Err(RulesError::invalid(rule, format!("{service}: {why}")));
    match enrolment {
        Some(EnrolmentStatus::Active) => Ok(()),
        Some(EnrolmentStatus::Suspended) => {
            refuse(RuleId::SN1, "the organisation's use is suspended (停止中)")
        }
        Some(EnrolmentStatus::Revoked) => refuse(RuleId::SN2, "the organisation's use was revoked"),
        _ => refuse(
            match service {
                Service::Job => RuleId::J2,
                Service::Seeker => RuleId::E3,
            },
            "no active enrolment",
        ),
    }
}

/// What the organisation itself stands under when an application of it is decided.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Standing {
    /// The day its use was revoked (SN2), if it was.
    pub revoked_on: Option<Date>,
    /// Its use is suspended as a whole (SN1), whatever each enrolment says.
    pub suspended: bool,
}

/// Whether approving an application may make the organisation's enrolment in a service active:
/// a decision on an application never lifts a sanction (SN1 suspension, SN2 revocation); only the
/// sanction's own end does. `current` is the enrolment in the service applied for; `standing`
/// covers both services (a revocation of S-JOB is a revocation of the organisation).
pub fn approval_allowed(current: Option<EnrolmentStatus>, standing: Standing) -> Result<()> {
    if let Some(revoked) = standing.revoked_on {
        return Err(RulesError::invalid(
            RuleId::SN2,
            format!(
                "the organisation's use was revoked on {revoked}: no application of it can be approved; \
                 a new application is possible from {} (E8)",
                crate::deadline::reapply_from(revoked)
                    .map_or_else(|_| "three years later".to_owned(), |d| d.to_string())
            ),
        ));
    }
    match current {
        Some(EnrolmentStatus::Revoked) => Err(RulesError::invalid(
            RuleId::SN2,
            "the organisation's use was revoked: no application of it can be approved",
        )),
        Some(EnrolmentStatus::Suspended) => Err(RulesError::invalid(
            RuleId::SN1,
            "the organisation's use is suspended (停止中): no approval until it is lifted",
        )),
        _ if standing.suspended => Err(RulesError::invalid(
            RuleId::SN1,
            "the organisation's use is suspended (停止中): no approval until it is lifted",
        )),
        _ => Ok(()),
    }
}

/// SK6e: whether seeker information provided to an organisation must be deleted because it no
/// longer uses S-SEEKER.
pub fn seeker_data_must_go(enrolment: EnrolmentStatus) -> bool {
    enrolment != EnrolmentStatus::Active
}

/// Where an organisation appears on the public lists (L1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Listing {
    /// On the organisation list.
    Listed,
    /// On the organisation list, marked 停止中.
    ListedSuspended,
    /// On the revoked-organisations list.
    Revoked,
    /// On neither (withdrawn, expired, never approved).
    Unlisted,
}

impl Listing {
    /// The mark the public list shows next to the name.
    pub const fn mark(self) -> Option<&'static str> {
        match self {
            Listing::ListedSuspended => Some("停止中"),
            _ => None,
        }
    }
}

/// L1: the listing of an organisation given its enrolments in both services. Suspended in any
/// service shows 停止中 (SN1: a suspension cuts both).
pub fn listing(enrolments: &[EnrolmentStatus]) -> Listing {
    use EnrolmentStatus as E;
    if enrolments.contains(&E::Revoked) {
        Listing::Revoked
    } else if enrolments.contains(&E::Suspended) {
        Listing::ListedSuspended
    } else if enrolments.contains(&E::Active) {
        Listing::Listed
    } else {
        Listing::Unlisted
    }
}

/// J4: the attribution every provided posting carries.
pub fn attribution(receiving_office: &str) -> String {
    format!(
        "この求人情報はハローワーク（{receiving_office}）が受理し、ハローワークの求人・求職情報提供サービスにより提供されたものです。\
         応募される方は、当団体の職業紹介を通じてお申し込みください。"
    )
}

/// J8: an organisation may add its own information to a posting only with the employer's consent,
/// and the addition stays a separate, labelled field.
pub fn organisation_addition(employer_consented: bool) -> Result<&'static str> {
    if employer_consented {
        Ok("利用団体による追加情報（ハローワークの求人票の内容ではありません）")
    } else {
        Err(RulesError::invalid(
            RuleId::J8,
            "information added to a posting needs the employer's consent",
        ))
    }
}
