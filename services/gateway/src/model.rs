//! The JSON of the REST API, and its mapping to the gRPC contracts. Dates are `YYYY-MM-DD`
//! (JST days), enums are lower-case words.

use hwx_proto::common::v1 as common;
use hwx_proto::registration::v1 as reg;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::problem::Problem;

pub fn date_str(d: &Option<common::Date>) -> Option<String> {
    d.as_ref()
        .map(|d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day))
}

pub fn date_in(s: &Option<String>, field: &str) -> Result<Option<common::Date>, Problem> {
    match s.as_deref() {
        None | Some("") => Ok(None),
        Some(s) => {
            let d: chrono::NaiveDate = s.parse().map_err(|_| {
                Problem::bad_request(format!("{field}: expected a date YYYY-MM-DD, got {s:?}"))
            })?;
            use chrono::Datelike;
            Ok(Some(common::Date {
                year: d.year(),
                month: d.month() as i32,
                day: d.day() as i32,
            }))
        }
    }
}

fn pick<T: Copy>(table: &[(&str, T)], s: &str, field: &str) -> Result<T, Problem> {
    table
        .iter()
        .find(|(k, _)| *k == s)
        .map(|(_, v)| *v)
        .ok_or_else(|| {
            Problem::bad_request(format!(
                "{field}: {s:?} is not one of {}",
                table.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ")
            ))
        })
}

fn name<T: Copy + PartialEq>(table: &[(&'static str, T)], v: T) -> &'static str {
    table
        .iter()
        .find(|(_, x)| *x == v)
        .map_or("unspecified", |(k, _)| k)
}

const ROLES: &[(&str, common::Role)] = &[
    ("org", common::Role::Org),
    ("seeker", common::Role::Seeker),
    ("bureau", common::Role::Bureau),
    ("mhlw", common::Role::Mhlw),
    ("ops", common::Role::Ops),
    ("upstream", common::Role::Upstream),
];
const KINDS: &[(&str, common::OrgKind)] = &[
    ("K1", common::OrgKind::K1),
    ("K2", common::OrgKind::K2),
    ("K3", common::OrgKind::K3),
    ("K4", common::OrgKind::K4),
];
const SCHOOLS: &[(&str, common::School)] = &[
    ("university", common::School::University),
    ("graduate_school", common::School::GraduateSchool),
    ("junior_college", common::School::JuniorCollege),
    ("technical_college", common::School::TechnicalCollege),
    ("vocational_school", common::School::VocationalSchool),
    ("high", common::School::High),
    ("junior_high", common::School::JuniorHigh),
];
const SERVICES: &[(&str, common::ServiceCode)] = &[
    ("job", common::ServiceCode::Job),
    ("seeker", common::ServiceCode::Seeker),
];
const APP_KINDS: &[(&str, reg::ApplicationKind)] = &[
    ("use", reg::ApplicationKind::Use),
    ("change", reg::ApplicationKind::Change),
    ("renewal", reg::ApplicationKind::Renewal),
    ("withdrawal", reg::ApplicationKind::Withdrawal),
];
const STATUSES: &[(&str, reg::ApplicationStatus)] = &[
    ("registered", reg::ApplicationStatus::Registered),
    ("submitted", reg::ApplicationStatus::Submitted),
    ("approved", reg::ApplicationStatus::Approved),
    ("rejected", reg::ApplicationStatus::Rejected),
    ("expired", reg::ApplicationStatus::Expired),
];
const ENROLMENT: &[(&str, common::EnrolmentStatus)] = &[
    ("active", common::EnrolmentStatus::Active),
    ("suspended", common::EnrolmentStatus::Suspended),
    ("revoked", common::EnrolmentStatus::Revoked),
    ("withdrawn", common::EnrolmentStatus::Withdrawn),
    ("expired", common::EnrolmentStatus::Expired),
];

pub fn status_in(s: &str) -> Result<i32, Problem> {
    pick(STATUSES, s, "status").map(|v| v as i32)
}

/// Sign-up: an organisation or seeker account (staff accounts need an ops session).
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewAccount {
    pub email: String,
    pub password: String,
    /// `org` (default), `seeker`; `bureau`, `mhlw`, `ops`, `upstream` only for operations.
    #[serde(default)]
    pub role: Option<String>,
    /// For `bureau`: the prefecture code 01–47 of the officer's labour bureau.
    #[serde(default)]
    pub bureau_code: Option<String>,
}

impl NewAccount {
    pub fn into_proto(self) -> Result<reg::CreateAccountRequest, Problem> {
        let role = pick(ROLES, self.role.as_deref().unwrap_or("org"), "role")?;
        Ok(reg::CreateAccountRequest {
            email: self.email,
            password: self.password,
            role: role as i32,
            bureau_code: self.bureau_code.unwrap_or_default(),
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Account {
    pub id: String,
    pub email: String,
    pub role: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organisation_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bureau_code: Option<String>,
    pub locked: bool,
}

impl From<reg::Account> for Account {
    fn from(a: reg::Account) -> Self {
        Account {
            role: common::Role::try_from(a.role)
                .map_or("unspecified", |r| name(ROLES, r))
                .into(),
            id: a.id,
            email: a.email,
            organisation_id: Some(a.organisation_id).filter(|s| !s.is_empty()),
            bureau_code: Some(a.bureau_code).filter(|s| !s.is_empty()),
            locked: a.locked,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct Credentials {
    pub email: String,
    pub password: String,
}

/// A bearer session: send `Authorization: Bearer <token>`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Session {
    pub token: String,
    pub expires_at: String,
    pub account: Option<Account>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct Person {
    pub name: String,
    pub contact: String,
    /// 常勤: both responsible persons must be full-time employees (A2).
    pub full_time: bool,
}

/// 必須情報, carried by the first guidance (SK7).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct MandatoryInfo {
    pub placement_record: String,
    pub occupations: Vec<String>,
    pub industries: Vec<String>,
    pub regions: Vec<String>,
    pub seeker_fees: String,
    pub pi_manager_name: String,
    pub pi_manager_contact: String,
    /// Contact points messages may give (SK9).
    pub contacts: Vec<String>,
    pub version: i32,
}

impl MandatoryInfo {
    pub fn into_proto(self) -> reg::MandatoryInfo {
        reg::MandatoryInfo {
            placement_record: self.placement_record,
            occupations: self.occupations,
            industries: self.industries,
            regions: self.regions,
            seeker_fees: self.seeker_fees,
            pi_manager_name: self.pi_manager_name,
            pi_manager_contact: self.pi_manager_contact,
            contacts: self.contacts,
            version: 0,
        }
    }

    fn from_proto(m: reg::MandatoryInfo) -> Self {
        MandatoryInfo {
            placement_record: m.placement_record,
            occupations: m.occupations,
            industries: m.industries,
            regions: m.regions,
            seeker_fees: m.seeker_fees,
            pi_manager_name: m.pi_manager_name,
            pi_manager_contact: m.pi_manager_contact,
            contacts: m.contacts,
            version: m.version,
        }
    }
}

/// An organisation as it registers.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewOrganisation {
    pub name: String,
    /// K1–K4 (§2(1)).
    pub kind: String,
    /// For K3: the kind of school.
    #[serde(default)]
    pub school: Option<String>,
    pub licence_number: String,
    /// For K1 and K2: the licence expiry, YYYY-MM-DD.
    #[serde(default)]
    pub licence_expiry: Option<String>,
    pub address: String,
    /// JIS X 0401 code of the prefecture (01–47); its labour bureau has jurisdiction.
    pub prefecture_code: String,
    #[serde(default)]
    pub handles_subsidies: bool,
    #[serde(default)]
    pub certifications: Vec<String>,
    pub contact_person: Person,
    pub pi_manager: Person,
    #[serde(default)]
    pub mandatory_info: Option<MandatoryInfo>,
}

fn person_in(p: Person) -> reg::ResponsiblePerson {
    reg::ResponsiblePerson {
        name: p.name,
        contact: p.contact,
        full_time: p.full_time,
    }
}

fn person_out(p: Option<reg::ResponsiblePerson>) -> Person {
    let p = p.unwrap_or_default();
    Person {
        name: p.name,
        contact: p.contact,
        full_time: p.full_time,
    }
}

impl NewOrganisation {
    pub fn into_proto(self) -> Result<reg::RegisterOrganisationRequest, Problem> {
        let kind = pick(KINDS, &self.kind, "kind")?;
        let school = match self.school.as_deref() {
            None | Some("") => common::School::Unspecified,
            Some(s) => pick(SCHOOLS, s, "school")?,
        };
        Ok(reg::RegisterOrganisationRequest {
            organisation: Some(reg::Organisation {
                name: self.name,
                kind: kind as i32,
                school: school as i32,
                licence_number: self.licence_number,
                licence_expiry: date_in(&self.licence_expiry, "licence_expiry")?,
                address: self.address,
                prefecture_code: self.prefecture_code,
                handles_subsidies: self.handles_subsidies,
                certifications: self.certifications,
                contact_person: Some(person_in(self.contact_person)),
                pi_manager: Some(person_in(self.pi_manager)),
                mandatory_info: self.mandatory_info.map(MandatoryInfo::into_proto),
                ..Default::default()
            }),
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Organisation {
    pub id: String,
    pub name: String,
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub school: Option<String>,
    pub licence_number: String,
    pub licence_expiry: Option<String>,
    pub address: String,
    pub prefecture_code: String,
    pub handles_subsidies: bool,
    pub certifications: Vec<String>,
    pub contact_person: Person,
    pub pi_manager: Person,
    pub mandatory_info: Option<MandatoryInfo>,
    pub registered_on: Option<String>,
    /// D2: the bureau's application email is due by this day.
    pub bureau_email_due: Option<String>,
    pub bureau_email_sent: bool,
    pub revoked_on: Option<String>,
}

impl From<reg::Organisation> for Organisation {
    fn from(o: reg::Organisation) -> Self {
        Organisation {
            kind: common::OrgKind::try_from(o.kind)
                .map_or("unspecified", |k| name(KINDS, k))
                .into(),
            school: common::School::try_from(o.school)
                .ok()
                .filter(|s| *s != common::School::Unspecified)
                .map(|s| name(SCHOOLS, s).into()),
            licence_expiry: date_str(&o.licence_expiry),
            registered_on: date_str(&o.registered_on),
            bureau_email_due: date_str(&o.bureau_email_due),
            revoked_on: date_str(&o.revoked_on),
            contact_person: person_out(o.contact_person),
            pi_manager: person_out(o.pi_manager),
            mandatory_info: o.mandatory_info.map(MandatoryInfo::from_proto),
            id: o.id,
            name: o.name,
            licence_number: o.licence_number,
            address: o.address,
            prefecture_code: o.prefecture_code,
            handles_subsidies: o.handles_subsidies,
            certifications: o.certifications,
            bureau_email_sent: o.bureau_email_sent,
        }
    }
}

/// An application (AP1) as the organisation registers it.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewApplication {
    pub organisation_id: String,
    /// `job` (S-JOB) or `seeker` (S-SEEKER).
    pub service: String,
    /// `use` (default), `change`, `renewal`, `withdrawal`.
    #[serde(default)]
    pub kind: Option<String>,
    /// Regular-employment placements in the 3 months up to today (E3).
    #[serde(default)]
    pub regular_placements_3m: i32,
    /// For a renewal: the content changed, so a change application goes with it (E6).
    #[serde(default)]
    pub content_changed: bool,
}

impl NewApplication {
    pub fn into_proto(self) -> Result<reg::CreateApplicationRequest, Problem> {
        Ok(reg::CreateApplicationRequest {
            organisation_id: self.organisation_id,
            service: pick(SERVICES, &self.service, "service")? as i32,
            kind: pick(APP_KINDS, self.kind.as_deref().unwrap_or("use"), "kind")? as i32,
            regular_placements_3m: self.regular_placements_3m,
            content_changed: self.content_changed,
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Application {
    pub id: String,
    pub organisation_id: String,
    pub service: String,
    pub kind: String,
    /// registered → submitted → approved / rejected (AP4).
    pub status: String,
    pub registered_on: Option<String>,
    /// D1: the signed PDF must reach the bureau by this day.
    pub submission_deadline: Option<String>,
    pub submitted_on: Option<String>,
    pub decided_on: Option<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub decision_note: String,
    pub regular_placements_3m: i32,
}

impl From<reg::Application> for Application {
    fn from(a: reg::Application) -> Self {
        Application {
            service: common::ServiceCode::try_from(a.service)
                .map_or("unspecified", |s| name(SERVICES, s))
                .into(),
            kind: reg::ApplicationKind::try_from(a.kind)
                .map_or("unspecified", |k| name(APP_KINDS, k))
                .into(),
            status: reg::ApplicationStatus::try_from(a.status)
                .map_or("unspecified", |s| name(STATUSES, s))
                .into(),
            registered_on: date_str(&a.registered_on),
            submission_deadline: date_str(&a.submission_deadline),
            submitted_on: date_str(&a.submitted_on),
            decided_on: date_str(&a.decided_on),
            id: a.id,
            organisation_id: a.organisation_id,
            decision_note: a.decision_note,
            regular_placements_3m: a.regular_placements_3m,
        }
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct Submission {
    /// The day the bureau received the signed PDF; today when absent.
    #[serde(default)]
    pub received_on: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct Decision {
    pub approve: bool,
    #[serde(default)]
    pub note: String,
    /// D8: validity in months; the default is 12.
    #[serde(default)]
    pub validity_months: i32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Enrolment {
    pub service: String,
    pub status: String,
    pub valid_from: Option<String>,
    pub valid_until: Option<String>,
}

impl From<reg::Enrolment> for Enrolment {
    fn from(e: reg::Enrolment) -> Self {
        Enrolment {
            service: common::ServiceCode::try_from(e.service)
                .map_or("unspecified", |s| name(SERVICES, s))
                .into(),
            status: common::EnrolmentStatus::try_from(e.status)
                .map_or("unspecified", |s| name(ENROLMENT, s))
                .into(),
            valid_from: date_str(&e.valid_from),
            valid_until: date_str(&e.valid_until),
        }
    }
}

/// An entry of the public organisation list (L1).
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicOrganisation {
    pub name: String,
    pub address: String,
    pub licence_number: String,
    pub handles_subsidies: bool,
    pub certifications: Vec<String>,
    /// 停止中.
    pub suspended: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RevokedOrganisation {
    pub name: String,
    pub licence_number: String,
    pub revoked_on: Option<String>,
}

/// A page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `page_token` for the next page; absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CompromiseReport {
    #[serde(default)]
    pub reason: String,
}

/// Emergency maintenance declared by operations (X1).
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct Emergency {
    /// RFC 3339; the window runs from now until then. Absent or null ends it.
    pub until: Option<String>,
}

/// Per-organisation rate limit (X2).
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
pub struct RateLimits {
    pub requests_per_second: u32,
    pub burst: u32,
}
