//! The JSON of the REST API, and its mapping to the gRPC contracts. Dates are `YYYY-MM-DD`
//! (JST days), enums are lower-case words.

use hwx_platform::auth::Role;
use hwx_platform::codes::Code;
use hwx_proto::common::v1 as common;
use hwx_proto::registration::v1 as reg;
use hwx_rules::access::EnrolmentStatus;
use hwx_rules::application::ApplicationStatus;
use hwx_rules::eligibility::{ApplicationKind, OrgKind, School, Service};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::problem::Problem;

pub fn date_str(d: &Option<common::Date>) -> Option<String> {
    hwx_platform::grpc::date_text(d)
}

pub fn date_in(s: &Option<String>, field: &str) -> Result<Option<common::Date>, Problem> {
    match s.as_deref() {
        None | Some("") => Ok(None),
        Some(s) => hwx_platform::grpc::date_from_text(s)
            .map(Some)
            .ok_or_else(|| {
                Problem::bad_request(format!("{field}: expected a date YYYY-MM-DD, got {s:?}"))
            }),
    }
}

/// A text value of the JSON into its proto number, through the enum's one table.
fn code_in<T: Code>(text: &str, field: &str) -> Result<i32, Problem> {
    T::parse(text)
        .map(Code::to_proto)
        .map_err(|e| Problem::bad_request(e.field(field).to_string()))
}

/// A proto number from a service into its JSON text. A number this gateway does not know is an
/// error that names it (a service newer than the gateway), never a default.
fn code_out<T: Code>(n: i32) -> Result<String, Problem> {
    T::from_proto(n)
        .map(|v| v.as_str().to_owned())
        .map_err(unknown_from_service)
}

fn unknown_from_service(e: hwx_platform::codes::UnknownCode) -> Problem {
    tracing::error!(error = %e, "a service sent a value this gateway does not know");
    Problem::new(
        axum::http::StatusCode::BAD_GATEWAY,
        format!("a service sent a value this gateway does not know ({e})"),
    )
}

/// The `status` filter of a list of applications.
pub fn status_in(s: &str) -> Result<i32, Problem> {
    code_in::<ApplicationStatus>(s, "status")
}

/// Sign-up of an organisation or seeker account (without a session), or an account of any role
/// made by operations or the ministry (with their session).
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"email": "info@example-career.jp", "password": "a passphrase of fifteen characters or more"}))]
pub struct NewAccount {
    pub email: String,
    /// 15 to 256 characters of any kind (spaces, Japanese); not a common or breached password.
    /// No composition rules (NIST SP 800-63B).
    pub password: String,
    /// `org` (default), `seeker`; `bureau`, `mhlw`, `ops`, `upstream` only for operations.
    #[serde(default)]
    pub role: Option<String>,
    /// For `bureau`: the prefecture code 01–47 of the officer's labour bureau.
    #[serde(default)]
    pub bureau_code: Option<String>,
}

impl NewAccount {
    pub fn into_sign_up(self) -> Result<reg::SignUpRequest, Problem> {
        let role = code_in::<Role>(self.role.as_deref().unwrap_or("org"), "role")?;
        // A staff role is refused by registration (403: operations make those); a bureau code
        // on an organisation or seeker account is a mistake of the form.
        let own = [Role::Org, Role::Seeker].map(Code::to_proto);
        if self.bureau_code.is_some() && own.contains(&role) {
            return Err(Problem::bad_request(
                "bureau_code: only for a bureau officer's account, which operations make (with their session)",
            ));
        }
        Ok(reg::SignUpRequest {
            email: self.email,
            password: self.password,
            role,
        })
    }

    pub fn into_proto(self) -> Result<reg::CreateAccountRequest, Problem> {
        let role = code_in::<Role>(self.role.as_deref().unwrap_or("org"), "role")?;
        Ok(reg::CreateAccountRequest {
            email: self.email,
            password: self.password,
            role,
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

impl TryFrom<reg::Account> for Account {
    type Error = Problem;
    fn try_from(a: reg::Account) -> Result<Self, Problem> {
        Ok(Account {
            role: code_out::<Role>(a.role)?,
            id: a.id,
            email: a.email,
            organisation_id: Some(a.organisation_id).filter(|s| !s.is_empty()),
            bureau_code: Some(a.bureau_code).filter(|s| !s.is_empty()),
            locked: a.locked,
        })
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"email": "info@mirai-career.example.jp", "password": "hwx-demo-password"}))]
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
#[schema(example = json!({
    "placement_record": "2025年度 常用就職 120件", "occupations": ["05", "08"], "industries": ["P"],
    "regions": ["13", "14"], "seeker_fees": "なし", "pi_manager_name": "佐藤花子",
    "pi_manager_contact": "03-1234-5679", "contacts": ["03-1234-5678"]
}))]
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
#[schema(example = json!({
    "name": "株式会社ハローキャリア", "kind": "K1", "licence_number": "13-ユ-300123",
    "licence_expiry": "2029-03-31", "address": "東京都千代田区丸の内1-1-1", "prefecture_code": "13",
    "handles_subsidies": true, "certifications": ["プライバシーマーク"],
    "contact_person": {"name": "山田太郎", "contact": "03-1234-5678", "full_time": true},
    "pi_manager": {"name": "佐藤花子", "contact": "03-1234-5679", "full_time": true}
}))]
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
        let kind = code_in::<OrgKind>(&self.kind, "kind")?;
        let school = match self.school.as_deref() {
            None | Some("") => common::School::Unspecified as i32,
            Some(s) => code_in::<School>(s, "school")?,
        };
        Ok(reg::RegisterOrganisationRequest {
            organisation: Some(reg::Organisation {
                name: self.name,
                kind,
                school,
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

impl TryFrom<reg::Organisation> for Organisation {
    type Error = Problem;
    fn try_from(o: reg::Organisation) -> Result<Self, Problem> {
        Ok(Organisation {
            kind: code_out::<OrgKind>(o.kind)?,
            school: School::from_proto_opt(o.school)
                .map_err(unknown_from_service)?
                .map(|s| s.as_str().to_owned()),
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
        })
    }
}

/// An application (AP1) as the organisation registers it.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"organisation_id": "0193b0a4-7c1e-7d2a-9f1e-2b7c6a9d4e10", "service": "job", "kind": "use"}))]
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
            service: code_in::<Service>(&self.service, "service")?,
            kind: code_in::<ApplicationKind>(self.kind.as_deref().unwrap_or("use"), "kind")?,
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

impl TryFrom<reg::Application> for Application {
    type Error = Problem;
    fn try_from(a: reg::Application) -> Result<Self, Problem> {
        Ok(Application {
            service: code_out::<Service>(a.service)?,
            kind: code_out::<ApplicationKind>(a.kind)?,
            status: code_out::<ApplicationStatus>(a.status)?,
            registered_on: date_str(&a.registered_on),
            submission_deadline: date_str(&a.submission_deadline),
            submitted_on: date_str(&a.submitted_on),
            decided_on: date_str(&a.decided_on),
            id: a.id,
            organisation_id: a.organisation_id,
            decision_note: a.decision_note,
            regular_placements_3m: a.regular_placements_3m,
        })
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"received_on": "2026-12-04"}))]
pub struct Submission {
    /// The day the bureau received the signed PDF; today when absent.
    #[serde(default)]
    pub received_on: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"approve": true, "note": "", "validity_months": 12}))]
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

impl TryFrom<reg::Enrolment> for Enrolment {
    type Error = Problem;
    fn try_from(e: reg::Enrolment) -> Result<Self, Problem> {
        Ok(Enrolment {
            service: code_out::<Service>(e.service)?,
            status: code_out::<EnrolmentStatus>(e.status)?,
            valid_from: date_str(&e.valid_from),
            valid_until: date_str(&e.valid_until),
        })
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
#[schema(example = json!({"reason": "the password was sent by email to a wrong address"}))]
pub struct CompromiseReport {
    #[serde(default)]
    pub reason: String,
}

/// Emergency maintenance declared by operations (X1).
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[schema(example = json!({"until": "2026-12-02T12:00:00+09:00"}))]
pub struct Emergency {
    /// RFC 3339; the window runs from now until then. Absent or null ends it.
    pub until: Option<String>,
}

/// Per-organisation rate limit (X2).
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[schema(example = json!({"requests_per_second": 50, "burst": 100}))]
pub struct RateLimits {
    pub requests_per_second: u32,
    pub burst: u32,
}

/// A new password for the caller's own account, with the current one.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"current_password": "hwx-demo-password", "new_password": "a-longer-new-password"}))]
pub struct PasswordChange {
    pub current_password: String,
    /// 15 to 256 characters of any kind (spaces, Japanese); not a common or breached password.
    /// No composition rules (NIST SP 800-63B).
    pub new_password: String,
}

/// The token from the sign-up message.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"token": "5f0c…(64 hex digits)"}))]
pub struct SignUpConfirmation {
    pub token: String,
}

/// Ask for a password-reset token, sent to the account's email.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"email": "info@mirai-career.example.jp"}))]
pub struct PasswordResetRequest {
    pub email: String,
}

/// A reset token (from the message) and the new password.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"token": "5f0c…(64 hex digits)", "new_password": "a-longer-new-password"}))]
pub struct PasswordReset {
    pub token: String,
    /// 15 to 256 characters of any kind (spaces, Japanese); not a common or breached password.
    /// No composition rules (NIST SP 800-63B).
    pub new_password: String,
}

/// The account operations unlock: by ID or by email.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"email": "info@mirai-career.example.jp"}))]
pub struct Unlock {
    #[serde(default)]
    pub account_id: String,
    #[serde(default)]
    pub email: String,
}

/// A request taken; what happens next.
#[derive(Debug, Serialize, ToSchema)]
pub struct Accepted {
    pub detail: String,
}
