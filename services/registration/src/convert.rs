//! Between the wire (hwx-proto) and the domain (hwx-rules, SQL text values).

use chrono::{Datelike, NaiveDate};
use hwx_platform::grpc::ServiceError;
use hwx_proto::common::v1 as common;
use hwx_rules::eligibility::{ApplicationKind, OrgKind, School, Service};

use crate::auth::Role;

pub fn date(d: NaiveDate) -> Option<common::Date> {
    Some(common::Date {
        year: d.year(),
        month: d.month() as i32,
        day: d.day() as i32,
    })
}

pub fn opt_date(d: Option<NaiveDate>) -> Option<common::Date> {
    d.and_then(date)
}

pub fn from_date(d: Option<&common::Date>, field: &str) -> Result<Option<NaiveDate>, ServiceError> {
    match d {
        None => Ok(None),
        Some(d) if d.year == 0 && d.month == 0 && d.day == 0 => Ok(None),
        Some(d) => u32::try_from(d.month)
            .ok()
            .zip(u32::try_from(d.day).ok())
            .and_then(|(m, day)| NaiveDate::from_ymd_opt(d.year, m, day))
            .map(Some)
            .ok_or_else(|| {
                ServiceError::invalid(format!(
                    "{field}: {}-{}-{} is not a date",
                    d.year, d.month, d.day
                ))
            }),
    }
}

pub fn kind(k: i32) -> Result<OrgKind, ServiceError> {
    match common::OrgKind::try_from(k) {
        Ok(common::OrgKind::K1) => Ok(OrgKind::K1),
        Ok(common::OrgKind::K2) => Ok(OrgKind::K2),
        Ok(common::OrgKind::K3) => Ok(OrgKind::K3),
        Ok(common::OrgKind::K4) => Ok(OrgKind::K4),
        _ => Err(ServiceError::invalid("kind: give K1, K2, K3 or K4")),
    }
}

pub fn kind_str(k: OrgKind) -> &'static str {
    match k {
        OrgKind::K1 => "K1",
        OrgKind::K2 => "K2",
        OrgKind::K3 => "K3",
        OrgKind::K4 => "K4",
    }
}

pub fn kind_from_str(s: &str) -> OrgKind {
    match s {
        "K1" => OrgKind::K1,
        "K2" => OrgKind::K2,
        "K3" => OrgKind::K3,
        _ => OrgKind::K4,
    }
}

pub fn kind_proto(k: OrgKind) -> i32 {
    (match k {
        OrgKind::K1 => common::OrgKind::K1,
        OrgKind::K2 => common::OrgKind::K2,
        OrgKind::K3 => common::OrgKind::K3,
        OrgKind::K4 => common::OrgKind::K4,
    }) as i32
}

const SCHOOLS: &[(School, &str, common::School)] = &[
    (School::University, "university", common::School::University),
    (
        School::GraduateSchool,
        "graduate_school",
        common::School::GraduateSchool,
    ),
    (
        School::JuniorCollege,
        "junior_college",
        common::School::JuniorCollege,
    ),
    (
        School::TechnicalCollege,
        "technical_college",
        common::School::TechnicalCollege,
    ),
    (
        School::VocationalSchool,
        "vocational_school",
        common::School::VocationalSchool,
    ),
    (School::High, "high", common::School::High),
    (
        School::JuniorHigh,
        "junior_high",
        common::School::JuniorHigh,
    ),
];

pub fn school(s: i32) -> Option<School> {
    SCHOOLS
        .iter()
        .find(|(_, _, p)| *p as i32 == s)
        .map(|(d, _, _)| *d)
}

pub fn school_str(s: School) -> &'static str {
    SCHOOLS
        .iter()
        .find(|(d, _, _)| *d == s)
        .map_or("", |(_, t, _)| t)
}

pub fn school_from_str(s: &str) -> Option<School> {
    SCHOOLS.iter().find(|(_, t, _)| *t == s).map(|(d, _, _)| *d)
}

pub fn school_proto(s: Option<School>) -> i32 {
    s.and_then(|s| SCHOOLS.iter().find(|(d, _, _)| *d == s))
        .map_or(0, |(_, _, p)| *p as i32)
}

pub fn service(s: i32) -> Result<Service, ServiceError> {
    match common::ServiceCode::try_from(s) {
        Ok(common::ServiceCode::Job) => Ok(Service::Job),
        Ok(common::ServiceCode::Seeker) => Ok(Service::Seeker),
        _ => Err(ServiceError::invalid(
            "service: give SERVICE_CODE_JOB or SERVICE_CODE_SEEKER",
        )),
    }
}

pub fn service_str(s: Service) -> &'static str {
    match s {
        Service::Job => "job",
        Service::Seeker => "seeker",
    }
}

pub fn service_from_str(s: &str) -> Service {
    if s == "seeker" {
        Service::Seeker
    } else {
        Service::Job
    }
}

pub fn service_proto(s: Service) -> i32 {
    (match s {
        Service::Job => common::ServiceCode::Job,
        Service::Seeker => common::ServiceCode::Seeker,
    }) as i32
}

pub fn app_kind(k: i32) -> Result<ApplicationKind, ServiceError> {
    use hwx_proto::registration::v1::ApplicationKind as P;
    match P::try_from(k) {
        Ok(P::Use) | Ok(P::Unspecified) => Ok(ApplicationKind::Use),
        Ok(P::Change) => Ok(ApplicationKind::Change),
        Ok(P::Renewal) => Ok(ApplicationKind::Renewal),
        Ok(P::Withdrawal) => Ok(ApplicationKind::Withdrawal),
        Err(_) => Err(ServiceError::invalid("kind: unknown application kind")),
    }
}

pub fn app_kind_str(k: ApplicationKind) -> &'static str {
    match k {
        ApplicationKind::Use => "use",
        ApplicationKind::Change => "change",
        ApplicationKind::Renewal => "renewal",
        ApplicationKind::Withdrawal => "withdrawal",
    }
}

pub fn app_kind_proto(s: &str) -> i32 {
    use hwx_proto::registration::v1::ApplicationKind as P;
    (match s {
        "change" => P::Change,
        "renewal" => P::Renewal,
        "withdrawal" => P::Withdrawal,
        _ => P::Use,
    }) as i32
}

pub fn status_proto(s: &str) -> i32 {
    use hwx_proto::registration::v1::ApplicationStatus as P;
    (match s {
        "registered" => P::Registered,
        "submitted" => P::Submitted,
        "approved" => P::Approved,
        "rejected" => P::Rejected,
        "expired" => P::Expired,
        _ => P::Unspecified,
    }) as i32
}

pub fn status_from_proto(s: i32) -> Option<&'static str> {
    use hwx_proto::registration::v1::ApplicationStatus as P;
    match P::try_from(s).ok()? {
        P::Registered => Some("registered"),
        P::Submitted => Some("submitted"),
        P::Approved => Some("approved"),
        P::Rejected => Some("rejected"),
        P::Expired => Some("expired"),
        P::Unspecified => None,
    }
}

pub fn role(r: i32) -> Result<Role, ServiceError> {
    match common::Role::try_from(r) {
        Ok(common::Role::Org) => Ok(Role::Org),
        Ok(common::Role::Seeker) => Ok(Role::Seeker),
        Ok(common::Role::Bureau) => Ok(Role::Bureau),
        Ok(common::Role::Mhlw) => Ok(Role::Mhlw),
        Ok(common::Role::Ops) => Ok(Role::Ops),
        Ok(common::Role::Upstream) => Ok(Role::Upstream),
        _ => Err(ServiceError::invalid("role: unknown role")),
    }
}

pub fn role_proto(r: Role) -> i32 {
    (match r {
        Role::Org => common::Role::Org,
        Role::Seeker => common::Role::Seeker,
        Role::Bureau => common::Role::Bureau,
        Role::Mhlw => common::Role::Mhlw,
        Role::Ops => common::Role::Ops,
        Role::Upstream => common::Role::Upstream,
    }) as i32
}

pub fn enrolment_proto(s: &str) -> i32 {
    (match s {
        "active" => common::EnrolmentStatus::Active,
        "suspended" => common::EnrolmentStatus::Suspended,
        "revoked" => common::EnrolmentStatus::Revoked,
        "withdrawn" => common::EnrolmentStatus::Withdrawn,
        "expired" => common::EnrolmentStatus::Expired,
        _ => common::EnrolmentStatus::Unspecified,
    }) as i32
}

pub fn timestamp(t: chrono::DateTime<chrono::Utc>) -> Option<prost_types::Timestamp> {
    Some(hwx_platform::grpc::timestamp(t))
}

/// Offset paging: the token is the offset of the next page.
pub fn page(p: Option<&common::PageRequest>) -> Result<(i64, i64), ServiceError> {
    let size = p.map_or(50, |p| p.page_size).clamp(0, 500);
    let size = if size == 0 { 50 } else { size };
    let offset = match p.map(|p| p.page_token.as_str()) {
        None | Some("") => 0,
        Some(t) => t
            .parse::<i64>()
            .ok()
            .filter(|o| *o >= 0)
            .ok_or_else(|| ServiceError::invalid("page_token is not one we gave"))?,
    };
    Ok((i64::from(size), offset))
}

pub fn next_token(offset: i64, size: i64, got: usize) -> String {
    if got as i64 == size {
        (offset + size).to_string()
    } else {
        String::new()
    }
}
