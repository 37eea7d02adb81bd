//! One mapping per enum between the domain (`hwx-rules`, [`crate::auth::Role`]), the wire
//! (`hwx-proto`) and text (SQL columns and JSON use the same words). Each enum has one table; a
//! value the table lacks is an error that names it, never a silent default.

use std::fmt;

use hwx_proto::common::v1 as common;
use hwx_proto::registration::v1 as reg;
use hwx_rules::access::EnrolmentStatus;
use hwx_rules::application::ApplicationStatus;
use hwx_rules::eligibility::{ApplicationKind, OrgKind, School, Service};

use crate::auth::Role;
use crate::grpc::ServiceError;

/// A value that is not one of an enum's: which enum, the value, and what it may be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct UnknownCode {
    /// The field or enum (`kind`, `role`).
    pub what: String,
    pub value: String,
    pub known: Vec<&'static str>,
}

impl fmt::Display for UnknownCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} is not one of {}",
            self.what,
            self.value,
            self.known.join(", ")
        )
    }
}

impl UnknownCode {
    /// The same refusal for another field name (`status` for a filter, say).
    pub fn field(mut self, name: &str) -> Self {
        self.what = name.to_owned();
        self
    }
}

/// Bad input from a caller.
impl From<UnknownCode> for ServiceError {
    fn from(e: UnknownCode) -> Self {
        ServiceError::invalid(e.to_string())
    }
}

/// An enum with its one table: domain value, text, proto number.
pub trait Code: Copy + PartialEq + Send + Sync + 'static {
    /// What a value is called in messages.
    const WHAT: &'static str;
    const TABLE: &'static [(Self, &'static str, i32)];

    /// The text (SQL column value and JSON).
    fn as_str(self) -> &'static str {
        Self::TABLE
            .iter()
            .find(|(v, _, _)| *v == self)
            .map_or("", |(_, t, _)| t)
    }

    fn to_proto(self) -> i32 {
        Self::TABLE
            .iter()
            .find(|(v, _, _)| *v == self)
            .map_or(0, |(_, _, n)| *n)
    }

    fn parse(text: &str) -> Result<Self, UnknownCode> {
        Self::TABLE
            .iter()
            .find(|(_, t, _)| *t == text)
            .map(|(v, _, _)| *v)
            .ok_or_else(|| unknown::<Self>(format!("{text:?}")))
    }

    /// A proto number; 0 (unspecified) is unknown too.
    fn from_proto(n: i32) -> Result<Self, UnknownCode> {
        Self::TABLE
            .iter()
            .find(|(_, _, p)| *p == n)
            .map(|(v, _, _)| *v)
            .ok_or_else(|| unknown::<Self>(n.to_string()))
    }

    /// A proto number where 0 means "not given".
    fn from_proto_opt(n: i32) -> Result<Option<Self>, UnknownCode> {
        if n == 0 {
            Ok(None)
        } else {
            Self::from_proto(n).map(Some)
        }
    }

    /// A stored text value: one the table lacks is a decode error of the row, not a default.
    fn decode(text: &str) -> Result<Self, sqlx::Error> {
        Self::parse(text)
            .map_err(|e| sqlx::Error::Decode(Box::new(e.field(&format!("stored {}", Self::WHAT)))))
    }
}

fn unknown<T: Code>(value: String) -> UnknownCode {
    UnknownCode {
        what: T::WHAT.to_owned(),
        value,
        known: T::TABLE.iter().map(|(_, t, _)| *t).collect(),
    }
}

macro_rules! codes {
    ($ty:ty, $what:literal, [$(($v:expr, $t:literal, $p:expr)),* $(,)?]) => {
        impl Code for $ty {
            const WHAT: &'static str = $what;
            const TABLE: &'static [(Self, &'static str, i32)] = &[$(($v, $t, $p as i32)),*];
        }
    };
}

codes!(
    Role,
    "role",
    [
        (Role::Org, "org", common::Role::Org),
        (Role::Seeker, "seeker", common::Role::Seeker),
        (Role::Bureau, "bureau", common::Role::Bureau),
        (Role::Mhlw, "mhlw", common::Role::Mhlw),
        (Role::Ops, "ops", common::Role::Ops),
        (Role::Upstream, "upstream", common::Role::Upstream),
    ]
);

codes!(
    OrgKind,
    "kind",
    [
        (OrgKind::K1, "K1", common::OrgKind::K1),
        (OrgKind::K2, "K2", common::OrgKind::K2),
        (OrgKind::K3, "K3", common::OrgKind::K3),
        (OrgKind::K4, "K4", common::OrgKind::K4),
    ]
);

codes!(
    School,
    "school",
    [
        (School::University, "university", common::School::University),
        (
            School::GraduateSchool,
            "graduate_school",
            common::School::GraduateSchool
        ),
        (
            School::JuniorCollege,
            "junior_college",
            common::School::JuniorCollege
        ),
        (
            School::TechnicalCollege,
            "technical_college",
            common::School::TechnicalCollege
        ),
        (
            School::VocationalSchool,
            "vocational_school",
            common::School::VocationalSchool
        ),
        (School::High, "high", common::School::High),
        (
            School::JuniorHigh,
            "junior_high",
            common::School::JuniorHigh
        ),
    ]
);

codes!(
    Service,
    "service",
    [
        (Service::Job, "job", common::ServiceCode::Job),
        (Service::Seeker, "seeker", common::ServiceCode::Seeker),
    ]
);

codes!(
    ApplicationKind,
    "kind",
    [
        (ApplicationKind::Use, "use", reg::ApplicationKind::Use),
        (
            ApplicationKind::Change,
            "change",
            reg::ApplicationKind::Change
        ),
        (
            ApplicationKind::Renewal,
            "renewal",
            reg::ApplicationKind::Renewal
        ),
        (
            ApplicationKind::Withdrawal,
            "withdrawal",
            reg::ApplicationKind::Withdrawal
        ),
    ]
);

codes!(
    ApplicationStatus,
    "status",
    [
        (
            ApplicationStatus::Registered,
            "registered",
            reg::ApplicationStatus::Registered
        ),
        (
            ApplicationStatus::Submitted,
            "submitted",
            reg::ApplicationStatus::Submitted
        ),
        (
            ApplicationStatus::Approved,
            "approved",
            reg::ApplicationStatus::Approved
        ),
        (
            ApplicationStatus::Rejected,
            "rejected",
            reg::ApplicationStatus::Rejected
        ),
        (
            ApplicationStatus::Expired,
            "expired",
            reg::ApplicationStatus::Expired
        ),
    ]
);

codes!(
    EnrolmentStatus,
    "enrolment status",
    [
        (
            EnrolmentStatus::Active,
            "active",
            common::EnrolmentStatus::Active
        ),
        (
            EnrolmentStatus::Suspended,
            "suspended",
            common::EnrolmentStatus::Suspended
        ),
        (
            EnrolmentStatus::Revoked,
            "revoked",
            common::EnrolmentStatus::Revoked
        ),
        (
            EnrolmentStatus::Withdrawn,
            "withdrawn",
            common::EnrolmentStatus::Withdrawn
        ),
        (
            EnrolmentStatus::Expired,
            "expired",
            common::EnrolmentStatus::Expired
        ),
    ]
);
