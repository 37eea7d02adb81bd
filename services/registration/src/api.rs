//! gRPC handlers: parse, authorise, ask the rules, persist (state change + event in one
//! transaction), answer.

use chrono::{DateTime, NaiveDate, Utc};
use hwx_platform::clock::SharedClock;
use hwx_platform::db::Database;
use hwx_platform::grpc::{ErrorKind, ServiceError};
use hwx_proto::events::v1 as ev;
use hwx_proto::registration::v1::registration_service_server::RegistrationService;
use hwx_proto::registration::v1::*;
use hwx_rules::RuleId;
use hwx_rules::account::{self as rules_account, LockoutPolicy, ResponsiblePerson as RulesPerson};
use hwx_rules::application::{self, ApplicationAction, ApplicationStatus as RuleStatus};
use hwx_rules::deadline;
use hwx_rules::eligibility::{self, EligibilityQuery, OrgKind};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::auth::{self, Caller, Role};
use crate::convert;
use crate::events::{self, meta, stage};
use crate::pdf;

/// The registration service.
#[derive(Debug, Clone)]
pub struct Registration {
    db: Database,
    clock: SharedClock,
    lockout: LockoutPolicy,
}

type Reply<T> = Result<Response<T>, Status>;

impl Registration {
    pub fn new(db: Database, clock: SharedClock) -> Self {
        Registration {
            db,
            clock,
            lockout: LockoutPolicy::default(),
        }
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Today in Japan: every date of the terms is a JST day.
    fn today(&self) -> NaiveDate {
        self.clock.now_jst().date_naive()
    }

    async fn caller<T>(&self, request: &Request<T>) -> Result<Caller, ServiceError> {
        let token = auth::bearer(request)
            .ok_or_else(|| ServiceError::unauthenticated("log in first: no bearer token"))?;
        auth::authenticate(self.db.pool(), &token, self.now()).await
    }

    async fn optional_caller<T>(
        &self,
        request: &Request<T>,
    ) -> Result<Option<Caller>, ServiceError> {
        match auth::bearer(request) {
            Some(token) => Ok(Some(
                auth::authenticate(self.db.pool(), &token, self.now()).await?,
            )),
            None => Ok(None),
        }
    }

    async fn organisation_row(
        &self,
        conn: &mut PgConnection,
        id: Uuid,
    ) -> Result<PgRow, ServiceError> {
        sqlx::query("SELECT * FROM organisations WHERE id = $1")
            .bind(id)
            .fetch_optional(conn)
            .await?
            .ok_or_else(|| ServiceError::not_found(format!("no organisation {id}")))
    }

    async fn mandatory_info(&self, id: Uuid) -> Result<Option<MandatoryInfo>, ServiceError> {
        let row = sqlx::query("SELECT version, info FROM mandatory_info WHERE organisation_id = $1 ORDER BY version DESC LIMIT 1")
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?;
        Ok(match row {
            None => None,
            Some(r) => {
                let info: serde_json::Value = r.try_get("info")?;
                let mut m = mandatory_from_json(&info);
                m.version = r.try_get("version")?;
                Some(m)
            }
        })
    }

    async fn organisation(&self, id: Uuid) -> Result<Organisation, ServiceError> {
        let mut conn = self.db.pool().acquire().await?;
        let row = self.organisation_row(&mut conn, id).await?;
        let mut org = organisation_from_row(&row)?;
        org.mandatory_info = self.mandatory_info(id).await?;
        Ok(org)
    }

    /// A bureau officer may act only on organisations under their own bureau (AP4).
    fn jurisdiction(&self, caller: &Caller, prefecture: &str) -> Result<(), ServiceError> {
        match caller.role {
            Role::Mhlw => Ok(()),
            Role::Bureau if caller.bureau_code.as_deref() == Some(prefecture) => Ok(()),
            Role::Bureau => Err(ServiceError::forbidden(format!(
                "only an officer of the jurisdictional bureau (prefecture {prefecture}) may do this"
            ))
            .with_rule(RuleId::AP4)),
            _ => Err(ServiceError::forbidden(
                "this is for labour-bureau officers",
            )),
        }
    }
}

fn uuid(s: &str, field: &str) -> Result<Uuid, ServiceError> {
    Uuid::parse_str(s).map_err(|_| ServiceError::invalid(format!("{field}: {s:?} is not an ID")))
}

fn valid_prefecture(code: &str) -> bool {
    code.len() == 2
        && code.bytes().all(|b| b.is_ascii_digit())
        && code.parse::<u8>().is_ok_and(|n| (1..=47).contains(&n))
}

fn person_json(p: &Option<ResponsiblePerson>) -> serde_json::Value {
    let p = p.clone().unwrap_or_default();
    serde_json::json!({"name": p.name, "contact": p.contact, "full_time": p.full_time})
}

fn person_from_json(v: &serde_json::Value) -> ResponsiblePerson {
    ResponsiblePerson {
        name: v["name"].as_str().unwrap_or_default().into(),
        contact: v["contact"].as_str().unwrap_or_default().into(),
        full_time: v["full_time"].as_bool().unwrap_or(false),
    }
}

fn mandatory_json(m: &MandatoryInfo) -> serde_json::Value {
    serde_json::json!({
        "placement_record": m.placement_record, "occupations": m.occupations, "industries": m.industries,
        "regions": m.regions, "seeker_fees": m.seeker_fees, "pi_manager_name": m.pi_manager_name,
        "pi_manager_contact": m.pi_manager_contact, "contacts": m.contacts,
    })
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn mandatory_from_json(v: &serde_json::Value) -> MandatoryInfo {
    let s = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
    MandatoryInfo {
        placement_record: s("placement_record"),
        occupations: strings(&v["occupations"]),
        industries: strings(&v["industries"]),
        regions: strings(&v["regions"]),
        seeker_fees: s("seeker_fees"),
        pi_manager_name: s("pi_manager_name"),
        pi_manager_contact: s("pi_manager_contact"),
        contacts: strings(&v["contacts"]),
        version: 0,
    }
}

fn organisation_from_row(r: &PgRow) -> Result<Organisation, sqlx::Error> {
    let kind: String = r.try_get("kind")?;
    let school: Option<String> = r.try_get("school")?;
    Ok(Organisation {
        id: r.try_get::<Uuid, _>("id")?.to_string(),
        name: r.try_get("name")?,
        kind: convert::kind_proto(convert::kind_from_str(&kind)),
        school: convert::school_proto(school.as_deref().and_then(convert::school_from_str)),
        licence_number: r.try_get("licence_number")?,
        licence_expiry: convert::opt_date(r.try_get("licence_expiry")?),
        address: r.try_get("address")?,
        prefecture_code: r.try_get("prefecture_code")?,
        handles_subsidies: r.try_get("handles_subsidies")?,
        certifications: r.try_get("certifications")?,
        contact_person: Some(person_from_json(&r.try_get("contact_person")?)),
        pi_manager: Some(person_from_json(&r.try_get("pi_manager")?)),
        mandatory_info: None,
        registered_on: convert::date(r.try_get("registered_on")?),
        bureau_email_due: convert::date(r.try_get("bureau_email_due")?),
        bureau_email_sent: r
            .try_get::<Option<NaiveDate>, _>("bureau_email_sent_on")?
            .is_some(),
        revoked_on: convert::opt_date(r.try_get("revoked_on")?),
    })
}

fn application_from_row(r: &PgRow) -> Result<Application, sqlx::Error> {
    let service: String = r.try_get("service")?;
    let kind: String = r.try_get("kind")?;
    let status: String = r.try_get("status")?;
    Ok(Application {
        id: r.try_get::<Uuid, _>("id")?.to_string(),
        organisation_id: r.try_get::<Uuid, _>("organisation_id")?.to_string(),
        service: convert::service_proto(convert::service_from_str(&service)),
        kind: convert::app_kind_proto(&kind),
        status: convert::status_proto(&status),
        registered_on: convert::date(r.try_get("registered_on")?),
        submission_deadline: convert::date(r.try_get("submission_deadline")?),
        submitted_on: convert::opt_date(r.try_get("submitted_on")?),
        decided_on: convert::opt_date(r.try_get("decided_on")?),
        decided_by: r
            .try_get::<Option<Uuid>, _>("decided_by")?
            .map(|u| u.to_string())
            .unwrap_or_default(),
        decision_note: r
            .try_get::<Option<String>, _>("decision_note")?
            .unwrap_or_default(),
        regular_placements_3m: r.try_get("regular_placements_3m")?,
    })
}

fn rule_status(s: &str) -> RuleStatus {
    match s {
        "submitted" => RuleStatus::Submitted,
        "approved" => RuleStatus::Approved,
        "rejected" => RuleStatus::Rejected,
        "expired" => RuleStatus::Expired,
        _ => RuleStatus::Registered,
    }
}

fn status_str(s: RuleStatus) -> &'static str {
    match s {
        RuleStatus::Registered => "registered",
        RuleStatus::Submitted => "submitted",
        RuleStatus::Approved => "approved",
        RuleStatus::Rejected => "rejected",
        RuleStatus::Expired => "expired",
    }
}

fn account_message(r: &PgRow, now: DateTime<Utc>) -> Result<Account, sqlx::Error> {
    let role: String = r.try_get("role")?;
    let locked: Option<DateTime<Utc>> = r.try_get("locked_until")?;
    Ok(Account {
        id: r.try_get::<Uuid, _>("id")?.to_string(),
        email: r.try_get("email")?,
        role: Role::parse(&role).map_or(0, convert::role_proto),
        organisation_id: r
            .try_get::<Option<Uuid>, _>("organisation_id")?
            .map(|u| u.to_string())
            .unwrap_or_default(),
        bureau_code: r
            .try_get::<Option<String>, _>("bureau_code")?
            .unwrap_or_default(),
        locked: locked.is_some_and(|t| t > now),
        created_at: convert::timestamp(r.try_get("created_at")?),
    })
}

/// Until when a reported-compromised account stays locked: until ops unlock it.
fn locked_for_good() -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(9999, 12, 31)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map_or(DateTime::<Utc>::MAX_UTC, |t| t.and_utc())
}

const COMPROMISE: &str = "compromise reported";

/// The handlers, in the service's own error type: `?` works on database and rule errors alike.
impl Registration {
    async fn do_create_account(
        &self,
        request: Request<CreateAccountRequest>,
    ) -> Result<Response<Account>, ServiceError> {
        let caller = self.optional_caller(&request).await?;
        let req = request.into_inner();
        let role = convert::role(req.role)?;
        if !matches!(role, Role::Org | Role::Seeker) {
            // Staff and system accounts are made by operations, never by sign-up.
            match caller {
                Some(c) if matches!(c.role, Role::Ops | Role::Mhlw) => {}
                _ => {
                    return Err(ServiceError::forbidden(
                        "only operations can create staff and system accounts",
                    ));
                }
            }
        }
        let email = req.email.trim().to_lowercase();
        if !email.contains('@')
            || email.len() > 254
            || email.starts_with('@')
            || email.ends_with('@')
        {
            return Err(ServiceError::invalid(format!(
                "email: {:?} is not an email address",
                req.email
            )));
        }
        if req.password.chars().count() < auth::MIN_PASSWORD_LEN {
            return Err(ServiceError::invalid(format!(
                "password: at least {} characters",
                auth::MIN_PASSWORD_LEN
            )));
        }
        let bureau = match role {
            Role::Bureau if valid_prefecture(&req.bureau_code) => Some(req.bureau_code.clone()),
            Role::Bureau => {
                return Err(ServiceError::invalid(
                    "bureau_code: the prefecture code 01–47 of the officer's labour bureau",
                ));
            }
            _ => None,
        };
        // E7: an email of an account closed less than 5 years ago stays taken.
        let today = self.today();
        let closed: Option<NaiveDate> = sqlx::query_scalar(
            "SELECT max(closed_on) FROM accounts WHERE email = $1 AND closed_on IS NOT NULL",
        )
        .bind(&email)
        .fetch_one(self.db.pool())
        .await?;
        if let Some(closed) = closed {
            let from = deadline::email_reusable_from(closed)?;
            if today < from {
                return Err(ServiceError::refused(
                    RuleId::E7,
                    format!(
                        "this email belonged to an account closed on {closed}; it can be registered again from {from}: use another email"
                    ),
                ));
            }
        }
        let hash = auth::hash_password(req.password).await?;
        let row = sqlx::query(
            "INSERT INTO accounts (id, email, password_hash, role, bureau_code) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (email) WHERE closed_on IS NULL DO NOTHING RETURNING *",
        )
        .bind(Uuid::now_v7())
        .bind(&email)
        .bind(hash)
        .bind(role.as_str())
        .bind(bureau)
        .fetch_optional(self.db.pool())
        .await?
        .ok_or_else(|| ServiceError::new(ErrorKind::Conflict, "an account with this email exists"))?;
        Ok(Response::new(account_message(&row, self.now())?))
    }

    async fn do_login(
        &self,
        request: Request<LoginRequest>,
    ) -> Result<Response<Session>, ServiceError> {
        let req = request.into_inner();
        let email = req.email.trim().to_lowercase();
        let now = self.now();
        let wrong = || ServiceError::unauthenticated("the email or the password is wrong");
        let Some(row) =
            sqlx::query("SELECT * FROM accounts WHERE email = $1 AND closed_on IS NULL")
                .bind(&email)
                .fetch_optional(self.db.pool())
                .await?
        else {
            // Spend the same time as a real check, so timing does not tell which emails exist.
            let _ = auth::verify_password(req.password, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into()).await;
            return Err(wrong());
        };
        let id: Uuid = row.try_get("id")?;
        let locked: Option<DateTime<Utc>> = row.try_get("locked_until")?;
        if let Some(until) = locked.filter(|t| *t > now) {
            let reason: Option<String> = row.try_get("locked_reason")?;
            let msg = if reason.as_deref() == Some(COMPROMISE) {
                "the account is locked after a reported compromise: contact operations".to_owned()
            } else {
                format!(
                    "the account is locked after repeated failed logins until {}",
                    hwx_rules::jst::to_jst(&until).to_rfc3339()
                )
            };
            return Err(ServiceError::unauthenticated(msg).with_rule(RuleId::A1));
        }
        let hash: String = row.try_get("password_hash")?;
        if !auth::verify_password(req.password, hash).await {
            let mut tx = self.db.pool().begin().await?;
            let failures: i32 = sqlx::query_scalar("UPDATE accounts SET failed_logins = failed_logins + 1 WHERE id = $1 RETURNING failed_logins")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
            if let Some(until) = self
                .lockout
                .after_failure(failures.max(0) as u32, hwx_rules::jst::to_jst(&now))
            {
                sqlx::query("UPDATE accounts SET locked_until = GREATEST(coalesce(locked_until, $2), $2), locked_reason = CASE WHEN locked_reason = 'compromise reported' AND locked_until > $2 THEN locked_reason ELSE 'failed logins' END, failed_logins = 0 WHERE id = $1")
                    .bind(id)
                    .bind(until.with_timezone(&Utc))
                    .execute(&mut *tx)
                    .await?;
                let (event_id, m) = meta(now);
                let e = ev::AccountLocked {
                    meta: m,
                    account_id: id.to_string(),
                    reason: "failed logins".into(),
                    compromise_reported: false,
                };
                stage(&mut tx, event_id, events::ACCOUNT_LOCKED, &e).await?;
            }
            tx.commit().await?;
            return Err(wrong());
        }
        let (token, token_hash) = auth::new_token();
        let expires = now + auth::SESSION_TTL;
        let mut tx = self.db.pool().begin().await?;
        // Still unlocked now: a lock taken by a parallel attempt (or a compromise report) wins.
        let open = sqlx::query(
            "UPDATE accounts SET failed_logins = 0 WHERE id = $1 AND (locked_until IS NULL OR locked_until <= $2) RETURNING id",
        )
        .bind(id)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        if open.is_none() {
            return Err(
                ServiceError::unauthenticated("the account is locked").with_rule(RuleId::A1)
            );
        }
        sqlx::query(
            "INSERT INTO sessions (token_hash, account_id, expires_at) VALUES ($1, $2, $3)",
        )
        .bind(token_hash)
        .bind(id)
        .bind(expires)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Response::new(Session {
            token,
            expires_at: convert::timestamp(expires),
            account: Some(account_message(&row, now)?),
        }))
    }

    async fn do_logout(
        &self,
        request: Request<LogoutRequest>,
    ) -> Result<Response<LogoutResponse>, ServiceError> {
        let req = request.into_inner();
        sqlx::query(
            "UPDATE sessions SET revoked_at = now() WHERE token_hash = $1 AND revoked_at IS NULL",
        )
        .bind(auth::token_hash(&req.token))
        .execute(self.db.pool())
        .await?;
        Ok(Response::new(LogoutResponse {}))
    }

    async fn do_authenticate(
        &self,
        request: Request<AuthenticateRequest>,
    ) -> Result<Response<Caller_>, ServiceError> {
        let req = request.into_inner();
        let c = auth::authenticate(self.db.pool(), &req.token, self.now()).await?;
        Ok(Response::new(Caller_ {
            account_id: c.account_id.to_string(),
            role: convert::role_proto(c.role),
            organisation_id: c.organisation_id.map(|u| u.to_string()).unwrap_or_default(),
            bureau_code: c.bureau_code.unwrap_or_default(),
        }))
    }

    async fn do_report_compromise(
        &self,
        request: Request<ReportCompromiseRequest>,
    ) -> Result<Response<Account>, ServiceError> {
        let caller = self.caller(&request).await?;
        let req = request.into_inner();
        let id = if req.account_id.is_empty() {
            caller.account_id
        } else {
            uuid(&req.account_id, "account_id")?
        };
        if id != caller.account_id && !matches!(caller.role, Role::Ops | Role::Mhlw) {
            return Err(ServiceError::forbidden(
                "only the account holder or operations can report a compromise",
            ));
        }
        let now = self.now();
        let response = rules_account::on_compromise_report();
        let mut tx = self.db.pool().begin().await?;
        let row = sqlx::query(
            "UPDATE accounts SET locked_until = $2, locked_reason = $3 WHERE id = $1 RETURNING *",
        )
        .bind(id)
        .bind(locked_for_good())
        .bind(COMPROMISE)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| ServiceError::not_found(format!("no account {id}")))?;
        if response.revoke_sessions {
            sqlx::query("UPDATE sessions SET revoked_at = now() WHERE account_id = $1 AND revoked_at IS NULL")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        // Operations learn of it from the event (A1: notify ops).
        let (event_id, m) = meta(now);
        let e = ev::AccountLocked {
            meta: m,
            account_id: id.to_string(),
            reason: req.reason,
            compromise_reported: true,
        };
        stage(&mut tx, event_id, events::ACCOUNT_LOCKED, &e).await?;
        tx.commit().await?;
        Ok(Response::new(account_message(&row, now)?))
    }

    async fn do_register_organisation(
        &self,
        request: Request<RegisterOrganisationRequest>,
    ) -> Result<Response<Organisation>, ServiceError> {
        let caller = self.caller(&request).await?;
        caller.require(&[Role::Org])?;
        if caller.organisation_id.is_some() {
            return Err(ServiceError::new(
                ErrorKind::Conflict,
                "this account already has an organisation",
            ));
        }
        let org = request
            .into_inner()
            .organisation
            .ok_or_else(|| ServiceError::invalid("organisation is required"))?;
        let kind = convert::kind(org.kind)?;
        let school = convert::school(org.school);
        if org.name.trim().is_empty()
            || org.licence_number.trim().is_empty()
            || org.address.trim().is_empty()
        {
            return Err(ServiceError::invalid(
                "name, licence_number and address are required",
            ));
        }
        if !valid_prefecture(&org.prefecture_code) {
            return Err(ServiceError::invalid(
                "prefecture_code: the JIS X 0401 code 01–47 of the organisation's prefecture",
            ));
        }
        if kind == OrgKind::K3 && school.is_none() {
            return Err(ServiceError::refused(
                RuleId::E1,
                "a K3 organisation is a school: give the kind of school",
            ));
        }
        let licence_expiry = convert::from_date(org.licence_expiry.as_ref(), "licence_expiry")?;
        if kind.is_licensed() && licence_expiry.is_none() {
            return Err(ServiceError::invalid(
                "licence_expiry: a K1 or K2 licence has an expiry date",
            ));
        }
        let to_rules = |p: &Option<ResponsiblePerson>| {
            let p = p.clone().unwrap_or_default();
            RulesPerson {
                name: p.name,
                contact: p.contact,
                full_time: p.full_time,
            }
        };
        let problems = rules_account::responsible_person_problems(
            &to_rules(&org.contact_person),
            &to_rules(&org.pi_manager),
        );
        if !problems.is_empty() {
            return Err(ServiceError::refused(RuleId::A2, problems.join("; ")));
        }
        let now = self.now();
        let today = self.today();
        let email_due = deadline::bureau_email_due(today)?;
        let id = Uuid::now_v7();
        let mut tx = self.db.pool().begin().await?;
        sqlx::query(
            "INSERT INTO organisations (id, name, kind, school, licence_number, licence_expiry, address, prefecture_code,
               handles_subsidies, certifications, contact_person, pi_manager, registered_on, bureau_email_due)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(id)
        .bind(org.name.trim())
        .bind(convert::kind_str(kind))
        .bind(school.map(convert::school_str))
        .bind(org.licence_number.trim())
        .bind(licence_expiry)
        .bind(org.address.trim())
        .bind(&org.prefecture_code)
        .bind(org.handles_subsidies)
        .bind(&org.certifications)
        .bind(person_json(&org.contact_person))
        .bind(person_json(&org.pi_manager))
        .bind(today)
        .bind(email_due)
        .execute(&mut *tx)
        .await?;
        if let Some(m) = &org.mandatory_info {
            sqlx::query(
                "INSERT INTO mandatory_info (organisation_id, version, info) VALUES ($1, 1, $2)",
            )
            .bind(id)
            .bind(mandatory_json(m))
            .execute(&mut *tx)
            .await?;
        }
        // Two registrations racing for one account: the second finds it taken and rolls back.
        let linked = sqlx::query(
            "UPDATE accounts SET organisation_id = $2 WHERE id = $1 AND organisation_id IS NULL",
        )
        .bind(caller.account_id)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if linked == 0 {
            return Err(ServiceError::new(
                ErrorKind::Conflict,
                "this account already has an organisation",
            ));
        }
        let (event_id, m) = meta(now);
        let e = ev::OrgRegistered {
            meta: m,
            organisation_id: id.to_string(),
            name: org.name.clone(),
            kind: convert::kind_proto(kind),
            prefecture_code: org.prefecture_code.clone(),
        };
        stage(&mut tx, event_id, events::ORG_REGISTERED, &e).await?;
        tx.commit().await?;
        Ok(Response::new(self.organisation(id).await?))
    }

    async fn do_get_organisation(
        &self,
        request: Request<GetOrganisationRequest>,
    ) -> Result<Response<Organisation>, ServiceError> {
        let caller = self.caller(&request).await?;
        let id = uuid(&request.get_ref().id, "id")?;
        caller.own_organisation(id)?;
        let org = self.organisation(id).await?;
        if caller.role == Role::Bureau {
            self.jurisdiction(&caller, &org.prefecture_code)?;
        }
        Ok(Response::new(org))
    }

    async fn do_update_mandatory_info(
        &self,
        request: Request<UpdateMandatoryInfoRequest>,
    ) -> Result<Response<Organisation>, ServiceError> {
        let caller = self.caller(&request).await?;
        let req = request.into_inner();
        let id = uuid(&req.organisation_id, "organisation_id")?;
        caller.require(&[Role::Org])?;
        caller.own_organisation(id)?;
        let info = req
            .mandatory_info
            .ok_or_else(|| ServiceError::invalid("mandatory_info is required"))?;
        let now = self.now();
        let mut tx = self.db.pool().begin().await?;
        // Versions are serialised per organisation by the row lock.
        self.organisation_row(&mut tx, id).await?;
        sqlx::query("SELECT id FROM organisations WHERE id = $1 FOR UPDATE")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let version: i32 = sqlx::query_scalar(
            "SELECT coalesce(max(version), 0) + 1 FROM mandatory_info WHERE organisation_id = $1",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        let json = mandatory_json(&info);
        sqlx::query(
            "INSERT INTO mandatory_info (organisation_id, version, info) VALUES ($1, $2, $3)",
        )
        .bind(id)
        .bind(version)
        .bind(&json)
        .execute(&mut *tx)
        .await?;
        let (event_id, m) = meta(now);
        let e = ev::MandatoryInfoChanged {
            meta: m,
            organisation_id: id.to_string(),
            version,
            mandatory_info_json: json.to_string(),
        };
        stage(&mut tx, event_id, events::MANDATORY_INFO_CHANGED, &e).await?;
        tx.commit().await?;
        Ok(Response::new(self.organisation(id).await?))
    }

    async fn do_create_application(
        &self,
        request: Request<CreateApplicationRequest>,
    ) -> Result<Response<Application>, ServiceError> {
        let caller = self.caller(&request).await?;
        caller.require(&[Role::Org])?;
        let req = request.into_inner();
        let org_id = uuid(&req.organisation_id, "organisation_id")?;
        caller.own_organisation(org_id)?;
        let service = convert::service(req.service)?;
        let kind = convert::app_kind(req.kind)?;
        if req.regular_placements_3m < 0 {
            return Err(ServiceError::invalid(
                "regular_placements_3m cannot be negative",
            ));
        }
        let today = self.today();
        let mut tx = self.db.pool().begin().await?;
        let org = self.organisation_row(&mut tx, org_id).await?;
        let org_kind: String = org.try_get("kind")?;
        let school: Option<String> = org.try_get("school")?;
        let suspended: bool = org.try_get("suspended")?;
        let verdict = eligibility::eligibility(&EligibilityQuery {
            service,
            kind: convert::kind_from_str(&org_kind),
            school: school.as_deref().and_then(convert::school_from_str),
            application: kind,
            regular_placements_3m: req.regular_placements_3m as u32,
            suspension_order: suspended,
            improvement_order: false,
            // A revoked organisation cannot shed the E8 bar by registering again under the same
            // licence or notification number.
            revoked_on: sqlx::query_scalar(
                "SELECT max(revoked_on) FROM organisations WHERE licence_number = $1",
            )
            .bind(org.try_get::<String, _>("licence_number")?)
            .fetch_one(&mut *tx)
            .await?,
            on: today,
        })?;
        if let Some(first) = verdict.rules.first() {
            let all: Vec<String> = verdict
                .rules
                .iter()
                .map(|r| format!("{r} ({})", r.title()))
                .collect();
            return Err(ServiceError::refused(
                *first,
                format!("not eligible for {service}: {}", all.join("; ")),
            ));
        }
        let deadline = deadline::submission_deadline(today)?;
        // E6: a renewal whose content changed carries a change application with it.
        let kinds = application::applications_for(kind, req.content_changed);
        let mut first_row = None;
        for k in kinds {
            let row = sqlx::query(
                "INSERT INTO applications (id, organisation_id, service, kind, status, registered_on, submission_deadline, regular_placements_3m)
                 VALUES ($1, $2, $3, $4, 'registered', $5, $6, $7) RETURNING *",
            )
            .bind(Uuid::now_v7())
            .bind(org_id)
            .bind(convert::service_str(service))
            .bind(convert::app_kind_str(k))
            .bind(today)
            .bind(deadline)
            .bind(req.regular_placements_3m)
            .fetch_one(&mut *tx)
            .await?;
            first_row.get_or_insert(row);
        }
        tx.commit().await?;
        let row = first_row.ok_or_else(|| ServiceError::internal("no application created"))?;
        Ok(Response::new(application_from_row(&row)?))
    }

    async fn do_get_application(
        &self,
        request: Request<GetApplicationRequest>,
    ) -> Result<Response<Application>, ServiceError> {
        let caller = self.caller(&request).await?;
        let (app, prefecture) = self.application_for(&caller, &request.get_ref().id).await?;
        if caller.role == Role::Bureau {
            self.jurisdiction(&caller, &prefecture)?;
        }
        Ok(Response::new(app))
    }

    async fn do_list_applications(
        &self,
        request: Request<ListApplicationsRequest>,
    ) -> Result<Response<ListApplicationsResponse>, ServiceError> {
        let caller = self.caller(&request).await?;
        let req = request.into_inner();
        let (size, offset) = convert::page(req.page.as_ref())?;
        let org = if req.organisation_id.is_empty() {
            None
        } else {
            Some(uuid(&req.organisation_id, "organisation_id")?)
        };
        let (org, bureau) =
            match caller.role {
                Role::Org => (
                    Some(caller.organisation_id.ok_or_else(|| {
                        ServiceError::forbidden("register the organisation first")
                    })?),
                    None,
                ),
                Role::Bureau => (org, caller.bureau_code.clone()),
                Role::Mhlw | Role::Ops => (
                    org,
                    (!req.bureau_code.is_empty()).then(|| req.bureau_code.clone()),
                ),
                _ => return Err(ServiceError::forbidden("not allowed for this role")),
            };
        let status = convert::status_from_proto(req.status);
        let rows = sqlx::query(
            "SELECT a.* FROM applications a JOIN organisations o ON o.id = a.organisation_id
             WHERE ($1::uuid IS NULL OR a.organisation_id = $1) AND ($2::text IS NULL OR o.prefecture_code = $2)
               AND ($3::text IS NULL OR a.status = $3)
             ORDER BY a.registered_on DESC, a.id DESC LIMIT $4 OFFSET $5",
        )
        .bind(org)
        .bind(bureau)
        .bind(status)
        .bind(size)
        .bind(offset)
        .fetch_all(self.db.pool())
        .await?;
        let applications = rows
            .iter()
            .map(application_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let next_page_token = convert::next_token(offset, size, applications.len());
        Ok(Response::new(ListApplicationsResponse {
            applications,
            next_page_token,
        }))
    }

    async fn do_get_application_pdf(
        &self,
        request: Request<GetApplicationRequest>,
    ) -> Result<Response<ApplicationPdf>, ServiceError> {
        let caller = self.caller(&request).await?;
        let (app, prefecture) = self.application_for(&caller, &request.get_ref().id).await?;
        if caller.role == Role::Bureau {
            self.jurisdiction(&caller, &prefecture)?;
        }
        let org = self
            .organisation(uuid(&app.organisation_id, "organisation_id")?)
            .await?;
        let date = |d: &Option<hwx_proto::common::v1::Date>| {
            d.as_ref().map_or(String::new(), |d| {
                format!("{:04}-{:02}-{:02}", d.year, d.month, d.day)
            })
        };
        let service = if app.service == convert::service_proto(eligibility::Service::Seeker) {
            "求職情報提供サービス (S-SEEKER)"
        } else {
            "求人情報提供サービス (S-JOB)"
        };
        let kind = match app.kind {
            2 => "変更申請",
            3 => "更新申請",
            4 => "退会申請",
            _ => "利用申請",
        };
        let contact = org.contact_person.clone().unwrap_or_default();
        let pi = org.pi_manager.clone().unwrap_or_default();
        let fields: Vec<pdf::Field> = vec![
            ("申請番号".into(), app.id.clone()),
            ("申請の種類".into(), kind.into()),
            ("サービス".into(), service.into()),
            ("団体名".into(), org.name.clone()),
            ("許可・届出番号".into(), org.licence_number.clone()),
            ("所在地".into(), org.address.clone()),
            (
                "管轄労働局（都道府県コード）".into(),
                org.prefecture_code.clone(),
            ),
            (
                "連絡責任者".into(),
                format!("{} {}", contact.name, contact.contact),
            ),
            (
                "個人情報管理等責任者".into(),
                format!("{} {}", pi.name, pi.contact),
            ),
            (
                "過去3か月の常用就職件数".into(),
                app.regular_placements_3m.to_string(),
            ),
            ("登録日".into(), date(&app.registered_on)),
            ("提出期限（D1）".into(), date(&app.submission_deadline)),
        ];
        let title = format!("ハローワーク求人・求職情報提供サービス {kind}書");
        Ok(Response::new(ApplicationPdf {
            filename: format!("hwx-application-{}.pdf", app.id),
            pdf: pdf::application_form(&title, &fields),
        }))
    }

    async fn do_record_submission(
        &self,
        request: Request<RecordSubmissionRequest>,
    ) -> Result<Response<Application>, ServiceError> {
        let caller = self.caller(&request).await?;
        caller.require(&[Role::Bureau, Role::Mhlw])?;
        let req = request.into_inner();
        let received = convert::from_date(req.received_on.as_ref(), "received_on")?
            .unwrap_or_else(|| self.today());
        let id = uuid(&req.application_id, "application_id")?;
        let mut tx = self.db.pool().begin().await?;
        let app = self
            .transition(
                &mut tx,
                &caller,
                id,
                ApplicationAction::Submit { on: received },
            )
            .await?;
        tx.commit().await?;
        Ok(Response::new(app))
    }

    async fn do_decide_application(
        &self,
        request: Request<DecideApplicationRequest>,
    ) -> Result<Response<Application>, ServiceError> {
        let caller = self.caller(&request).await?;
        caller.require(&[Role::Bureau, Role::Mhlw])?;
        let req = request.into_inner();
        let action = if req.approve {
            ApplicationAction::Approve
        } else {
            ApplicationAction::Reject
        };
        let app_id = uuid(&req.application_id, "application_id")?;
        let today = self.today();
        let now = self.now();
        // The status, the decision, the enrolment and the event commit together or not at all.
        let mut tx = self.db.pool().begin().await?;
        let app = self.transition(&mut tx, &caller, app_id, action).await?;
        sqlx::query("UPDATE applications SET decided_on = $2, decided_by = $3, decision_note = $4 WHERE id = $1")
            .bind(app_id)
            .bind(today)
            .bind(caller.account_id)
            .bind(&req.note)
            .execute(&mut *tx)
            .await?;
        if req.approve {
            let org_id = uuid(&app.organisation_id, "organisation_id")?;
            let org = self.organisation_row(&mut tx, org_id).await?;
            let service = convert::service_str(convert::service(app.service)?);
            if app.kind == convert::app_kind_proto("withdrawal") {
                sqlx::query("UPDATE enrolments SET status = 'withdrawn', updated_at = now() WHERE organisation_id = $1 AND service = $2")
                    .bind(org_id)
                    .bind(service)
                    .execute(&mut *tx)
                    .await?;
                events::stage_enrolment_ended(
                    &mut tx,
                    now,
                    org_id,
                    convert::service_from_str(service),
                    "withdrawn",
                    RuleId::SK6e,
                )
                .await?;
            } else {
                // A decision never lifts a sanction: that is the compliance service's to do.
                let current: Option<String> =
                    sqlx::query_scalar("SELECT status FROM enrolments WHERE organisation_id = $1 AND service = $2 FOR UPDATE")
                        .bind(org_id)
                        .bind(service)
                        .fetch_optional(&mut *tx)
                        .await?;
                match current.as_deref() {
                    Some("suspended") => {
                        return Err(ServiceError::refused(
                            RuleId::SN1,
                            "the organisation's use is suspended (停止中): no approval until it is lifted",
                        ));
                    }
                    Some("revoked") => {
                        return Err(ServiceError::refused(
                            RuleId::SN2,
                            "the organisation's use was revoked",
                        ));
                    }
                    _ => {}
                }
                let months = u32::try_from(req.validity_months).ok().filter(|m| *m > 0);
                let until = deadline::validity_end(today, months, org.try_get("licence_expiry")?)?;
                sqlx::query(
                    "INSERT INTO enrolments (organisation_id, service, status, valid_from, valid_until) VALUES ($1, $2, 'active', $3, $4)
                     ON CONFLICT (organisation_id, service) DO UPDATE SET status = 'active', valid_from = $3, valid_until = $4, updated_at = now()",
                )
                .bind(org_id)
                .bind(service)
                .bind(today)
                .bind(until)
                .execute(&mut *tx)
                .await?;
                let (event_id, m) = meta(now);
                let e = ev::OrgApproved {
                    meta: m,
                    organisation_id: org_id.to_string(),
                    application_id: app.id.clone(),
                    service: app.service,
                    valid_from: convert::date(today),
                    valid_until: convert::date(until),
                    approved_by: caller.account_id.to_string(),
                };
                stage(&mut tx, event_id, events::ORG_APPROVED, &e).await?;
            }
        }
        tx.commit().await?;
        let (app, _) = self.application_for(&caller, &app.id).await?;
        Ok(Response::new(app))
    }

    async fn do_sweep_unsubmitted(
        &self,
        request: Request<SweepUnsubmittedRequest>,
    ) -> Result<Response<SweepUnsubmittedResponse>, ServiceError> {
        let caller = self.caller(&request).await?;
        caller.require(&[Role::Ops, Role::Mhlw])?;
        let expired = self.sweep(self.today()).await?;
        Ok(Response::new(SweepUnsubmittedResponse { expired }))
    }

    async fn do_record_bureau_email_sent(
        &self,
        request: Request<RecordBureauEmailSentRequest>,
    ) -> Result<Response<Organisation>, ServiceError> {
        let caller = self.caller(&request).await?;
        caller.require(&[Role::Bureau, Role::Mhlw])?;
        let id = uuid(&request.get_ref().organisation_id, "organisation_id")?;
        let org = self.organisation(id).await?;
        self.jurisdiction(&caller, &org.prefecture_code)?;
        sqlx::query("UPDATE organisations SET bureau_email_sent_on = coalesce(bureau_email_sent_on, $2) WHERE id = $1")
            .bind(id)
            .bind(self.today())
            .execute(self.db.pool())
            .await?;
        Ok(Response::new(self.organisation(id).await?))
    }

    async fn do_list_overdue_bureau_emails(
        &self,
        request: Request<ListOverdueBureauEmailsRequest>,
    ) -> Result<Response<ListOverdueBureauEmailsResponse>, ServiceError> {
        let caller = self.caller(&request).await?;
        caller.require(&[Role::Bureau, Role::Mhlw, Role::Ops])?;
        let bureau = match caller.role {
            Role::Bureau => caller.bureau_code.clone(),
            _ => (!request.get_ref().bureau_code.is_empty())
                .then(|| request.get_ref().bureau_code.clone()),
        };
        // D2: due by the 3rd business day; overdue once that day has passed without the email.
        let rows = sqlx::query(
            "SELECT * FROM organisations WHERE bureau_email_sent_on IS NULL AND bureau_email_due < $1
               AND ($2::text IS NULL OR prefecture_code = $2) ORDER BY bureau_email_due, id",
        )
        .bind(self.today())
        .bind(bureau)
        .fetch_all(self.db.pool())
        .await?;
        let organisations = rows
            .iter()
            .map(organisation_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Response::new(ListOverdueBureauEmailsResponse {
            organisations,
        }))
    }

    async fn do_list_enrolments(
        &self,
        request: Request<ListEnrolmentsRequest>,
    ) -> Result<Response<ListEnrolmentsResponse>, ServiceError> {
        let caller = self.caller(&request).await?;
        let id = uuid(&request.get_ref().organisation_id, "organisation_id")?;
        caller.own_organisation(id)?;
        if caller.role == Role::Bureau {
            let org = self.organisation(id).await?;
            self.jurisdiction(&caller, &org.prefecture_code)?;
        }
        let rows =
            sqlx::query("SELECT * FROM enrolments WHERE organisation_id = $1 ORDER BY service")
                .bind(id)
                .fetch_all(self.db.pool())
                .await?;
        let enrolments = rows
            .iter()
            .map(|r| -> Result<Enrolment, sqlx::Error> {
                let service: String = r.try_get("service")?;
                let status: String = r.try_get("status")?;
                Ok(Enrolment {
                    organisation_id: id.to_string(),
                    service: convert::service_proto(convert::service_from_str(&service)),
                    status: convert::enrolment_proto(&status),
                    valid_from: convert::date(r.try_get("valid_from")?),
                    valid_until: convert::date(r.try_get("valid_until")?),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Response::new(ListEnrolmentsResponse { enrolments }))
    }

    async fn do_list_public_organisations(
        &self,
        request: Request<ListPublicOrganisationsRequest>,
    ) -> Result<Response<ListPublicOrganisationsResponse>, ServiceError> {
        let req = request.into_inner();
        let (size, offset) = convert::page(req.page.as_ref())?;
        let prefecture = (!req.prefecture_code.is_empty()).then_some(req.prefecture_code);
        // L1: organisations enrolled in a service, 停止中 when suspended; the revoked are on the other list.
        let rows = sqlx::query(
            "SELECT o.name, o.address, o.licence_number, o.handles_subsidies, o.certifications,
                    bool_or(e.status = 'suspended') OR o.suspended AS suspended
             FROM organisations o JOIN enrolments e ON e.organisation_id = o.id
             WHERE e.status IN ('active', 'suspended') AND o.revoked_on IS NULL
               AND ($1::text IS NULL OR o.prefecture_code = $1)
             GROUP BY o.id ORDER BY o.prefecture_code, o.name, o.id LIMIT $2 OFFSET $3",
        )
        .bind(prefecture)
        .bind(size)
        .bind(offset)
        .fetch_all(self.db.pool())
        .await?;
        let organisations = rows
            .iter()
            .map(|r| -> Result<PublicOrganisation, sqlx::Error> {
                Ok(PublicOrganisation {
                    name: r.try_get("name")?,
                    address: r.try_get("address")?,
                    licence_number: r.try_get("licence_number")?,
                    handles_subsidies: r.try_get("handles_subsidies")?,
                    certifications: r.try_get("certifications")?,
                    suspended: r.try_get::<Option<bool>, _>("suspended")?.unwrap_or(false),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let next_page_token = convert::next_token(offset, size, organisations.len());
        Ok(Response::new(ListPublicOrganisationsResponse {
            organisations,
            next_page_token,
        }))
    }

    async fn do_list_revoked_organisations(
        &self,
        request: Request<ListRevokedOrganisationsRequest>,
    ) -> Result<Response<ListRevokedOrganisationsResponse>, ServiceError> {
        let req = request.into_inner();
        let (size, offset) = convert::page(req.page.as_ref())?;
        let rows = sqlx::query(
            "SELECT name, licence_number, revoked_on FROM organisations WHERE revoked_on IS NOT NULL
             ORDER BY revoked_on DESC, id LIMIT $1 OFFSET $2",
        )
        .bind(size)
        .bind(offset)
        .fetch_all(self.db.pool())
        .await?;
        let organisations = rows
            .iter()
            .map(|r| -> Result<RevokedOrganisation, sqlx::Error> {
                Ok(RevokedOrganisation {
                    name: r.try_get("name")?,
                    licence_number: r.try_get("licence_number")?,
                    revoked_on: convert::opt_date(r.try_get("revoked_on")?),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let next_page_token = convert::next_token(offset, size, organisations.len());
        Ok(Response::new(ListRevokedOrganisationsResponse {
            organisations,
            next_page_token,
        }))
    }
}

/// Each RPC hands over to its `do_` handler; `?` turns the `ServiceError` into a `Status`.
macro_rules! delegate {
    ($($name:ident => $handler:ident($req:ty) -> $resp:ty;)*) => {
        #[tonic::async_trait]
        impl RegistrationService for Registration {
            $(
                async fn $name(&self, request: Request<$req>) -> Reply<$resp> {
                    Ok(self.$handler(request).await?)
                }
            )*
        }
    };
}

delegate! {
    create_account => do_create_account(CreateAccountRequest) -> Account;
    login => do_login(LoginRequest) -> Session;
    logout => do_logout(LogoutRequest) -> LogoutResponse;
    authenticate => do_authenticate(AuthenticateRequest) -> Caller_;
    report_compromise => do_report_compromise(ReportCompromiseRequest) -> Account;
    register_organisation => do_register_organisation(RegisterOrganisationRequest) -> Organisation;
    get_organisation => do_get_organisation(GetOrganisationRequest) -> Organisation;
    update_mandatory_info => do_update_mandatory_info(UpdateMandatoryInfoRequest) -> Organisation;
    create_application => do_create_application(CreateApplicationRequest) -> Application;
    get_application => do_get_application(GetApplicationRequest) -> Application;
    list_applications => do_list_applications(ListApplicationsRequest) -> ListApplicationsResponse;
    get_application_pdf => do_get_application_pdf(GetApplicationRequest) -> ApplicationPdf;
    record_submission => do_record_submission(RecordSubmissionRequest) -> Application;
    decide_application => do_decide_application(DecideApplicationRequest) -> Application;
    sweep_unsubmitted => do_sweep_unsubmitted(SweepUnsubmittedRequest) -> SweepUnsubmittedResponse;
    record_bureau_email_sent => do_record_bureau_email_sent(RecordBureauEmailSentRequest) -> Organisation;
    list_overdue_bureau_emails => do_list_overdue_bureau_emails(ListOverdueBureauEmailsRequest) -> ListOverdueBureauEmailsResponse;
    list_enrolments => do_list_enrolments(ListEnrolmentsRequest) -> ListEnrolmentsResponse;
    list_public_organisations => do_list_public_organisations(ListPublicOrganisationsRequest) -> ListPublicOrganisationsResponse;
    list_revoked_organisations => do_list_revoked_organisations(ListRevokedOrganisationsRequest) -> ListRevokedOrganisationsResponse;
}

/// `Caller` is also the name of our auth type; the proto message gets an alias.
type Caller_ = hwx_proto::registration::v1::Caller;

impl Registration {
    /// An application the caller may see, with its organisation's prefecture.
    async fn application_for(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<(Application, String), ServiceError> {
        let id = uuid(id, "id")?;
        let row = sqlx::query("SELECT a.*, o.prefecture_code FROM applications a JOIN organisations o ON o.id = a.organisation_id WHERE a.id = $1")
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?
            .ok_or_else(|| ServiceError::not_found(format!("no application {id}")))?;
        let app = application_from_row(&row)?;
        caller.own_organisation(uuid(&app.organisation_id, "organisation_id")?)?;
        Ok((app, row.try_get("prefecture_code")?))
    }

    /// Move an application through AP4 under a row lock; the rules crate decides.
    async fn transition(
        &self,
        tx: &mut PgConnection,
        caller: &Caller,
        id: Uuid,
        action: ApplicationAction,
    ) -> Result<Application, ServiceError> {
        let row = sqlx::query(
            "SELECT a.*, o.prefecture_code FROM applications a JOIN organisations o ON o.id = a.organisation_id
             WHERE a.id = $1 FOR UPDATE OF a",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| ServiceError::not_found(format!("no application {id}")))?;
        let prefecture: String = row.try_get("prefecture_code")?;
        self.jurisdiction(caller, &prefecture)?;
        let status: String = row.try_get("status")?;
        let registered: NaiveDate = row.try_get("registered_on")?;
        let next = application::transition(rule_status(&status), registered, action)?;
        let submitted = match action {
            ApplicationAction::Submit { on } => Some(on),
            _ => None,
        };
        let updated = sqlx::query("UPDATE applications SET status = $2, submitted_on = coalesce($3, submitted_on) WHERE id = $1 RETURNING *")
            .bind(id)
            .bind(status_str(next))
            .bind(submitted)
            .fetch_one(&mut *tx)
            .await?;
        Ok(application_from_row(&updated)?)
    }

    /// D8: enrolments past their last valid day become `expired`, each with an `enrolment.ended`
    /// event (S-SEEKER data is then deleted under SK6e by its owner). Returns how many.
    pub async fn expire_enrolments(&self, today: NaiveDate) -> Result<usize, ServiceError> {
        let now = self.now();
        let mut tx = self.db.pool().begin().await?;
        let rows = sqlx::query(
            "UPDATE enrolments SET status = 'expired', updated_at = now()
             WHERE status = 'active' AND valid_until < $1 RETURNING organisation_id, service",
        )
        .bind(today)
        .fetch_all(&mut *tx)
        .await?;
        for r in &rows {
            let org: Uuid = r.try_get("organisation_id")?;
            let service: String = r.try_get("service")?;
            events::stage_enrolment_ended(
                &mut tx,
                now,
                org,
                convert::service_from_str(&service),
                "expired",
                RuleId::D8,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(rows.len())
    }

    /// AP3: delete registrations not submitted by the end of their 14th day. Returns how many.
    pub async fn sweep(&self, today: NaiveDate) -> Result<i32, ServiceError> {
        let rows =
            sqlx::query("SELECT id, registered_on FROM applications WHERE status = 'registered'")
                .fetch_all(self.db.pool())
                .await?;
        let mut due = Vec::new();
        for r in rows {
            let registered: NaiveDate = r.try_get("registered_on")?;
            if application::transition(
                RuleStatus::Registered,
                registered,
                ApplicationAction::Sweep { on: today },
            )? == RuleStatus::Expired
            {
                due.push(r.try_get::<Uuid, _>("id")?);
            }
        }
        let deleted =
            sqlx::query("DELETE FROM applications WHERE id = ANY($1) AND status = 'registered'")
                .bind(&due)
                .execute(self.db.pool())
                .await?
                .rows_affected();
        Ok(i32::try_from(deleted).unwrap_or(i32::MAX))
    }
}
