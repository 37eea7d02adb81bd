//! Registration's tables: every SQL statement of the service, and the rows they read. A command's
//! writes commit together: one statement on its own, or several (with the event) in the caller's
//! transaction. Reads use the pool.

use chrono::{DateTime, NaiveDate, Utc};
use hwx_platform::auth::{Caller, Role};
use hwx_platform::codes::Code;
use hwx_platform::db::Database;
use hwx_rules::access::EnrolmentStatus;
use hwx_rules::application::ApplicationStatus;
use hwx_rules::eligibility::{ApplicationKind, OrgKind, School, Service};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};
use uuid::Uuid;

/// The SQL of the service, checked against the migrated schema by `tests/api/sql.rs`.
pub mod sql {
    hwx_platform::statements! {
        SESSION_CALLER = "SELECT a.id, a.role, a.organisation_id, a.bureau_code, a.locked_until, a.closed_on
             FROM sessions s JOIN accounts a ON a.id = s.account_id
             WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2";
        LAST_CLOSED = "SELECT max(closed_on) FROM accounts WHERE email = $1 AND closed_on IS NOT NULL";
        INSERT_ACCOUNT = "INSERT INTO accounts (id, email, password_hash, role, bureau_code) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (email) WHERE closed_on IS NULL DO NOTHING RETURNING *";
        OPEN_ACCOUNT = "SELECT * FROM accounts WHERE email = $1 AND closed_on IS NULL";
        FAILED_LOGIN = "UPDATE accounts SET failed_logins = failed_logins + 1 WHERE id = $1 RETURNING failed_logins";
        /// A lock for failed logins never shortens or relabels a compromise lock.
        LOCK_FAILED = "UPDATE accounts SET locked_until = GREATEST(coalesce(locked_until, $2), $2),
               locked_reason = CASE WHEN locked_reason = 'compromise reported' AND locked_until > $2 THEN locked_reason ELSE 'failed logins' END,
               failed_logins = 0 WHERE id = $1";
        /// Still unlocked now: a lock taken by a parallel attempt (or a compromise report) wins.
        CLEAR_FAILURES = "UPDATE accounts SET failed_logins = 0 WHERE id = $1 AND (locked_until IS NULL OR locked_until <= $2) RETURNING id";
        INSERT_SESSION = "INSERT INTO sessions (token_hash, account_id, expires_at) VALUES ($1, $2, $3)";
        REVOKE_SESSION = "UPDATE sessions SET revoked_at = now() WHERE token_hash = $1 AND revoked_at IS NULL";
        LOCK_ACCOUNT = "UPDATE accounts SET locked_until = $2, locked_reason = $3 WHERE id = $1 RETURNING *";
        REVOKE_SESSIONS = "UPDATE sessions SET revoked_at = now() WHERE account_id = $1 AND revoked_at IS NULL";
        /// Every session of the account but the one making the change.
        REVOKE_OTHER_SESSIONS = "UPDATE sessions SET revoked_at = now() WHERE account_id = $1 AND revoked_at IS NULL AND token_hash <> $2";
        ACCOUNT = "SELECT * FROM accounts WHERE id = $1";
        SET_PASSWORD = "UPDATE accounts SET password_hash = $2 WHERE id = $1 AND closed_on IS NULL RETURNING *";
        /// A reset proves the holder has the mailbox: a lock for failed logins lifts, a
        /// compromise lock does not (A1: operations lift it).
        RESET_PASSWORD = "UPDATE accounts SET password_hash = $2, failed_logins = 0,
               locked_until = CASE WHEN locked_reason = 'compromise reported' THEN locked_until ELSE NULL END,
               locked_reason = CASE WHEN locked_reason = 'compromise reported' THEN locked_reason ELSE NULL END
             WHERE id = $1 AND closed_on IS NULL RETURNING *";
        UNLOCK_ACCOUNT = "UPDATE accounts SET locked_until = NULL, locked_reason = NULL, failed_logins = 0 WHERE id = $1 AND closed_on IS NULL RETURNING *";
        INSERT_PASSWORD_RESET = "INSERT INTO password_resets (token_hash, account_id, expires_at) VALUES ($1, $2, $3)";
        /// Takes a reset token once: unused and unexpired, then marked used in the same statement.
        /// Uses a token of this account once (the account row is locked first: one lock order).
        USE_PASSWORD_RESET = "UPDATE password_resets SET used_at = $2 WHERE token_hash = $1 AND account_id = $3 AND used_at IS NULL AND expires_at > $2 RETURNING account_id";
        /// Every open reset token of the account ends (a reset, a change, an unlock, a compromise).
        END_PASSWORD_RESETS = "UPDATE password_resets SET used_at = $2 WHERE account_id = $1 AND used_at IS NULL";
        /// A token still usable, looked at before any password is hashed for it.
        PASSWORD_RESET_OPEN = "SELECT account_id FROM password_resets WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2";
        /// The account row, locked: requests for one account are taken one at a time.
        LOCK_ACCOUNT_ROW = "SELECT * FROM accounts WHERE id = $1 FOR NO KEY UPDATE";
        /// Stamped by the service's clock, like its expiry: the bound below counts by that clock.
        INSERT_NOTICE = "INSERT INTO notices (id, account_id, to_address, subject, body, kind, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
        RECENT_NOTICES = "SELECT count(*) FROM notices WHERE to_address = $1 AND kind = $2 AND created_at > $3";
        /// Per email, in its own key space (the feed's leader locks use small integers).
        LOCK_EMAIL = "SELECT pg_advisory_xact_lock(hashtextextended('sign-up ' || $1, 0))";
        INSERT_SIGN_UP = "INSERT INTO sign_ups (token_hash, email, password_hash, role, expires_at) VALUES ($1, $2, $3, $4, $5)";
        /// Takes a sign-up token once: unexpired, and deleted in the same statement.
        TAKE_SIGN_UP = "DELETE FROM sign_ups WHERE token_hash = $1 AND expires_at > $2 RETURNING email, password_hash, role";
        END_SIGN_UPS = "DELETE FROM sign_ups WHERE email = $1";
        /// The email a token was sent to (nothing locked: the email's lock comes first).
        SIGN_UP_EMAIL = "SELECT email FROM sign_ups WHERE token_hash = $1";
        /// Sign-ups never confirmed: their password hash is kept no longer than their token works.
        DELETE_EXPIRED_SIGN_UPS = "DELETE FROM sign_ups WHERE expires_at <= $1";
        /// A notice not delivered yet, locked for its delivery.
        TAKE_NOTICE = "SELECT to_address, subject, body FROM notices WHERE id = $1 AND delivered_at IS NULL FOR UPDATE";
        /// Delivered: its text (a token) is kept nowhere after that.
        DELIVERED_NOTICE = "UPDATE notices SET body = '', delivered_at = now() WHERE id = $1";
        /// Notices nobody delivered while their token worked: their text goes.
        BLANK_STALE_NOTICES = "UPDATE notices SET body = '' WHERE body <> '' AND expires_at <= $1";
        /// Resets still open for the account (a bound on how many one can ask for).
        OPEN_PASSWORD_RESETS = "SELECT count(*) FROM password_resets WHERE account_id = $1 AND used_at IS NULL AND expires_at > $2";

        ORGANISATION = "SELECT * FROM organisations WHERE id = $1";
        /// NO KEY: applications being inserted for it (their foreign key) are not blocked.
        LOCK_ORGANISATION = "SELECT * FROM organisations WHERE id = $1 FOR NO KEY UPDATE";
        MANDATORY_INFO = "SELECT version, info FROM mandatory_info WHERE organisation_id = $1 ORDER BY version DESC LIMIT 1";
        NEXT_MANDATORY_VERSION = "SELECT coalesce(max(version), 0) + 1 FROM mandatory_info WHERE organisation_id = $1";
        INSERT_MANDATORY_INFO = "INSERT INTO mandatory_info (organisation_id, version, info) VALUES ($1, $2, $3)";
        INSERT_ORGANISATION = "INSERT INTO organisations (id, name, kind, school, licence_number, licence_expiry, address, prefecture_code,
               handles_subsidies, certifications, contact_person, pi_manager, registered_on, bureau_email_due)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";
        /// Two registrations racing for one account: the second links nothing.
        LINK_ACCOUNT = "UPDATE accounts SET organisation_id = $2 WHERE id = $1 AND organisation_id IS NULL";
        /// What eligibility needs of an organisation, in one round trip: the row, and the last
        /// revocation under its licence or notification number (E8 follows the number, not the
        /// row).
        ELIGIBILITY_FACTS = "SELECT o.*, (SELECT max(r.revoked_on) FROM organisations r WHERE r.licence_number = o.licence_number) AS last_revoked
             FROM organisations o WHERE o.id = $1";
        BUREAU_EMAIL_SENT = "UPDATE organisations SET bureau_email_sent_on = coalesce(bureau_email_sent_on, $2) WHERE id = $1";
        /// D2: due by the 3rd business day; overdue once that day has passed without the email.
        OVERDUE_BUREAU_EMAILS = "SELECT * FROM organisations WHERE bureau_email_sent_on IS NULL AND bureau_email_due < $1
               AND ($2::text IS NULL OR prefecture_code = $2) ORDER BY bureau_email_due, id LIMIT $3 OFFSET $4";
        /// L1: organisations enrolled in a service, 停止中 when suspended; the revoked are on the other list.
        PUBLIC_ORGANISATIONS = "SELECT o.name, o.address, o.licence_number, o.handles_subsidies, o.certifications,
                    bool_or(e.status = 'suspended') OR o.suspended AS suspended
             FROM organisations o JOIN enrolments e ON e.organisation_id = o.id
             WHERE e.status IN ('active', 'suspended') AND o.revoked_on IS NULL
               AND ($1::text IS NULL OR o.prefecture_code = $1)
             GROUP BY o.id ORDER BY o.prefecture_code, o.name, o.id LIMIT $2 OFFSET $3";
        REVOKED_ORGANISATIONS = "SELECT name, licence_number, revoked_on FROM organisations WHERE revoked_on IS NOT NULL
             ORDER BY revoked_on DESC, id LIMIT $1 OFFSET $2";

        INSERT_APPLICATION = "INSERT INTO applications (id, organisation_id, service, kind, status, registered_on, submission_deadline, regular_placements_3m)
             VALUES ($1, $2, $3, $4, 'registered', $5, $6, $7) RETURNING *";
        APPLICATION = "SELECT a.*, o.prefecture_code FROM applications a JOIN organisations o ON o.id = a.organisation_id WHERE a.id = $1";
        LOCK_APPLICATION = "SELECT a.*, o.prefecture_code FROM applications a JOIN organisations o ON o.id = a.organisation_id
             WHERE a.id = $1 FOR UPDATE OF a";
        SET_APPLICATION_STATUS = "UPDATE applications SET status = $2, submitted_on = coalesce($3, submitted_on) WHERE id = $1 RETURNING *";
        RECORD_DECISION = "UPDATE applications SET decided_on = $2, decided_by = $3, decision_note = $4 WHERE id = $1";
        LIST_APPLICATIONS = "SELECT a.* FROM applications a JOIN organisations o ON o.id = a.organisation_id
             WHERE ($1::uuid IS NULL OR a.organisation_id = $1) AND ($2::text IS NULL OR o.prefecture_code = $2)
               AND ($3::text IS NULL OR a.status = $3)
             ORDER BY a.registered_on DESC, a.id DESC LIMIT $4 OFFSET $5";
        UNSUBMITTED = "SELECT id, registered_on FROM applications WHERE status = 'registered'";
        DELETE_UNSUBMITTED = "DELETE FROM applications WHERE id = ANY($1) AND status = 'registered'";

        ENROLMENTS = "SELECT * FROM enrolments WHERE organisation_id = $1 ORDER BY service";
        LOCK_ENROLMENT = "SELECT status FROM enrolments WHERE organisation_id = $1 AND service = $2 FOR UPDATE";
        WITHDRAW_ENROLMENT = "UPDATE enrolments SET status = 'withdrawn', updated_at = now() WHERE organisation_id = $1 AND service = $2";
        ACTIVATE_ENROLMENT = "INSERT INTO enrolments (organisation_id, service, status, valid_from, valid_until) VALUES ($1, $2, 'active', $3, $4)
             ON CONFLICT (organisation_id, service) DO UPDATE SET status = 'active', valid_from = $3, valid_until = $4, updated_at = now()";
        EXPIRE_ENROLMENTS = "UPDATE enrolments SET status = 'expired', updated_at = now()
             WHERE status = 'active' AND valid_until < $1 RETURNING organisation_id, service";
    }
}

/// A message for a person, kept until the notifier delivers it.
#[derive(Debug)]
pub struct NewNotice<'a> {
    pub id: Uuid,
    /// None for a sign-up: the email has no account (yet).
    pub account: Option<Uuid>,
    pub to: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    /// `password-reset` or `sign-up`: what the bound on an address counts.
    pub kind: &'a str,
    /// When it was asked for, by the service's clock.
    pub at: DateTime<Utc>,
    /// The text is blanked then, delivered or not (its token no longer works).
    pub expires: DateTime<Utc>,
}

/// A stored account.
#[derive(Debug, Clone)]
pub struct AccountRow {
    pub id: Uuid,
    pub email: String,
    pub password_hash: String,
    pub role: Role,
    pub organisation_id: Option<Uuid>,
    pub bureau_code: Option<String>,
    pub locked_until: Option<DateTime<Utc>>,
    pub locked_reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

fn account_row(r: &PgRow) -> Result<AccountRow, sqlx::Error> {
    Ok(AccountRow {
        id: r.try_get("id")?,
        email: r.try_get("email")?,
        password_hash: r.try_get("password_hash")?,
        role: Role::decode(r.try_get("role")?)?,
        organisation_id: r.try_get("organisation_id")?,
        bureau_code: r.try_get("bureau_code")?,
        locked_until: r.try_get("locked_until")?,
        locked_reason: r.try_get("locked_reason")?,
        created_at: r.try_get("created_at")?,
    })
}

/// A session's caller with what decides whether it may still act.
#[derive(Debug, Clone)]
pub struct SessionRow {
    pub caller: Caller,
    pub locked_until: Option<DateTime<Utc>>,
    pub closed_on: Option<NaiveDate>,
}

/// A responsible person (A2), as stored (JSON).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Person {
    pub name: String,
    pub contact: String,
    pub full_time: bool,
}

/// SK7 mandatory information, as stored (JSON, one version per change).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct MandatoryInfo {
    pub placement_record: String,
    pub occupations: Vec<String>,
    pub industries: Vec<String>,
    pub regions: Vec<String>,
    pub seeker_fees: String,
    pub pi_manager_name: String,
    pub pi_manager_contact: String,
    pub contacts: Vec<String>,
}

/// A stored organisation.
#[derive(Debug, Clone)]
pub struct OrganisationRow {
    pub id: Uuid,
    pub name: String,
    pub kind: OrgKind,
    pub school: Option<School>,
    pub licence_number: String,
    pub licence_expiry: Option<NaiveDate>,
    pub address: String,
    pub prefecture_code: String,
    pub handles_subsidies: bool,
    pub certifications: Vec<String>,
    pub contact_person: Person,
    pub pi_manager: Person,
    pub registered_on: NaiveDate,
    pub bureau_email_due: NaiveDate,
    pub bureau_email_sent_on: Option<NaiveDate>,
    pub revoked_on: Option<NaiveDate>,
    pub suspended: bool,
}

fn json<T: serde::de::DeserializeOwned>(r: &PgRow, column: &str) -> Result<T, sqlx::Error> {
    let v: serde_json::Value = r.try_get(column)?;
    serde_json::from_value(v).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

fn organisation_row(r: &PgRow) -> Result<OrganisationRow, sqlx::Error> {
    Ok(OrganisationRow {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        kind: OrgKind::decode(r.try_get("kind")?)?,
        school: r
            .try_get::<Option<&str>, _>("school")?
            .map(School::decode)
            .transpose()?,
        licence_number: r.try_get("licence_number")?,
        licence_expiry: r.try_get("licence_expiry")?,
        address: r.try_get("address")?,
        prefecture_code: r.try_get("prefecture_code")?,
        handles_subsidies: r.try_get("handles_subsidies")?,
        certifications: r.try_get("certifications")?,
        contact_person: json(r, "contact_person")?,
        pi_manager: json(r, "pi_manager")?,
        registered_on: r.try_get("registered_on")?,
        bureau_email_due: r.try_get("bureau_email_due")?,
        bureau_email_sent_on: r.try_get("bureau_email_sent_on")?,
        revoked_on: r.try_get("revoked_on")?,
        suspended: r.try_get("suspended")?,
    })
}

/// A stored application.
#[derive(Debug, Clone)]
pub struct ApplicationRow {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub service: Service,
    pub kind: ApplicationKind,
    pub status: ApplicationStatus,
    pub registered_on: NaiveDate,
    pub submission_deadline: NaiveDate,
    pub submitted_on: Option<NaiveDate>,
    pub decided_on: Option<NaiveDate>,
    pub decided_by: Option<Uuid>,
    pub decision_note: Option<String>,
    pub regular_placements_3m: i32,
}

fn application_row(r: &PgRow) -> Result<ApplicationRow, sqlx::Error> {
    Ok(ApplicationRow {
        id: r.try_get("id")?,
        organisation_id: r.try_get("organisation_id")?,
        service: Service::decode(r.try_get("service")?)?,
        kind: ApplicationKind::decode(r.try_get("kind")?)?,
        status: ApplicationStatus::decode(r.try_get("status")?)?,
        registered_on: r.try_get("registered_on")?,
        submission_deadline: r.try_get("submission_deadline")?,
        submitted_on: r.try_get("submitted_on")?,
        decided_on: r.try_get("decided_on")?,
        decided_by: r.try_get("decided_by")?,
        decision_note: r.try_get("decision_note")?,
        regular_placements_3m: r.try_get("regular_placements_3m")?,
    })
}

/// A stored enrolment.
#[derive(Debug, Clone)]
pub struct EnrolmentRow {
    pub organisation_id: Uuid,
    pub service: Service,
    pub status: EnrolmentStatus,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
}

/// An organisation of the public list (L1).
#[derive(Debug, Clone)]
pub struct PublicRow {
    pub name: String,
    pub address: String,
    pub licence_number: String,
    pub handles_subsidies: bool,
    pub certifications: Vec<String>,
    pub suspended: bool,
}

/// What registering an organisation writes.
#[derive(Debug, Clone)]
pub struct NewOrganisation<'a> {
    pub id: Uuid,
    pub name: &'a str,
    pub kind: OrgKind,
    pub school: Option<School>,
    pub licence_number: &'a str,
    pub licence_expiry: Option<NaiveDate>,
    pub address: &'a str,
    pub prefecture_code: &'a str,
    pub handles_subsidies: bool,
    pub certifications: &'a [String],
    pub contact_person: &'a Person,
    pub pi_manager: &'a Person,
    pub registered_on: NaiveDate,
    pub bureau_email_due: NaiveDate,
}

/// What registering an application writes.
#[derive(Debug, Clone, Copy)]
pub struct NewApplication {
    pub organisation_id: Uuid,
    pub service: Service,
    pub kind: ApplicationKind,
    pub registered_on: NaiveDate,
    pub submission_deadline: NaiveDate,
    pub regular_placements_3m: i32,
}

/// Registration's store.
#[derive(Debug, Clone)]
pub struct Store {
    pub db: Database,
}

impl Store {
    pub async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
        self.db.pool().begin().await
    }

    // Accounts and sessions (A1).

    /// The caller of an unexpired, unrevoked session.
    pub async fn session(
        &self,
        token_hash: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Option<SessionRow>, sqlx::Error> {
        let row = sqlx::query(sql::SESSION_CALLER)
            .bind(token_hash)
            .bind(now)
            .fetch_optional(self.db.pool())
            .await?;
        row.map(|r| {
            Ok(SessionRow {
                caller: Caller {
                    account_id: r.try_get("id")?,
                    role: Role::decode(r.try_get("role")?)?,
                    organisation_id: r.try_get("organisation_id")?,
                    bureau_code: r.try_get("bureau_code")?,
                },
                locked_until: r.try_get("locked_until")?,
                closed_on: r.try_get("closed_on")?,
            })
        })
        .transpose()
    }

    /// E7: when an account with this email last closed.
    pub async fn last_closed(&self, email: &str) -> Result<Option<NaiveDate>, sqlx::Error> {
        sqlx::query_scalar(sql::LAST_CLOSED)
            .bind(email)
            .fetch_one(self.db.pool())
            .await
    }

    /// A new account; none when an open account has the email.
    pub async fn insert_account(
        tx: &mut PgConnection,
        email: &str,
        password_hash: &str,
        role: Role,
        bureau_code: Option<&str>,
    ) -> Result<Option<AccountRow>, sqlx::Error> {
        let row = sqlx::query(sql::INSERT_ACCOUNT)
            .bind(Uuid::now_v7())
            .bind(email)
            .bind(password_hash)
            .bind(role.as_str())
            .bind(bureau_code)
            .fetch_optional(tx)
            .await?;
        row.as_ref().map(account_row).transpose()
    }

    /// Sign-ups of one email are taken one at a time (the bound on notices holds), until the
    /// transaction ends.
    pub async fn lock_email(tx: &mut PgConnection, email: &str) -> Result<(), sqlx::Error> {
        sqlx::query(sql::LOCK_EMAIL).bind(email).execute(tx).await?;
        Ok(())
    }

    pub async fn insert_sign_up(
        tx: &mut PgConnection,
        token_hash: &[u8],
        email: &str,
        password_hash: &str,
        role: Role,
        expires: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(sql::INSERT_SIGN_UP)
            .bind(token_hash)
            .bind(email)
            .bind(password_hash)
            .bind(role.as_str())
            .bind(expires)
            .execute(tx)
            .await?;
        Ok(())
    }

    /// The sign-up of a usable token (email, password hash, role), taken: the row is gone once
    /// the transaction commits.
    pub async fn take_sign_up(
        tx: &mut PgConnection,
        token_hash: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Option<(String, String, Role)>, sqlx::Error> {
        let row: Option<(String, String, String)> = sqlx::query_as(sql::TAKE_SIGN_UP)
            .bind(token_hash)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
        row.map(|(email, hash, role)| Ok((email, hash, Role::decode(&role)?)))
            .transpose()
    }

    /// The email of a sign-up token, if it is one.
    pub async fn sign_up_email(&self, token_hash: &[u8]) -> Result<Option<String>, sqlx::Error> {
        sqlx::query_scalar(sql::SIGN_UP_EMAIL)
            .bind(token_hash)
            .fetch_optional(self.db.pool())
            .await
    }

    /// Every sign-up of the email ends (the account exists now, or cannot be made).
    pub async fn end_sign_ups(tx: &mut PgConnection, email: &str) -> Result<(), sqlx::Error> {
        sqlx::query(sql::END_SIGN_UPS)
            .bind(email)
            .execute(tx)
            .await?;
        Ok(())
    }

    /// Notices of `kind` sent to `to` since `since` (a bound on what one mailbox receives).
    pub async fn recent_notices(
        tx: &mut PgConnection,
        to: &str,
        kind: &str,
        since: DateTime<Utc>,
    ) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar(sql::RECENT_NOTICES)
            .bind(to)
            .bind(kind)
            .bind(since)
            .fetch_one(tx)
            .await
    }

    pub async fn open_account(&self, email: &str) -> Result<Option<AccountRow>, sqlx::Error> {
        let row = sqlx::query(sql::OPEN_ACCOUNT)
            .bind(email)
            .fetch_optional(self.db.pool())
            .await?;
        row.as_ref().map(account_row).transpose()
    }

    /// Count a failed login; returns the failures so far.
    pub async fn failed_login(tx: &mut PgConnection, account: Uuid) -> Result<i32, sqlx::Error> {
        sqlx::query_scalar(sql::FAILED_LOGIN)
            .bind(account)
            .fetch_one(tx)
            .await
    }

    pub async fn lock_after_failures(
        tx: &mut PgConnection,
        account: Uuid,
        until: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(sql::LOCK_FAILED)
            .bind(account)
            .bind(until)
            .execute(tx)
            .await?;
        Ok(())
    }

    /// Start a session unless the account was locked meanwhile; false when it was.
    pub async fn open_session(
        tx: &mut PgConnection,
        account: Uuid,
        token_hash: &[u8],
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> Result<bool, sqlx::Error> {
        let open = sqlx::query(sql::CLEAR_FAILURES)
            .bind(account)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
        if open.is_none() {
            return Ok(false);
        }
        sqlx::query(sql::INSERT_SESSION)
            .bind(token_hash)
            .bind(account)
            .bind(expires)
            .execute(tx)
            .await?;
        Ok(true)
    }

    pub async fn revoke_session(&self, token_hash: &[u8]) -> Result<(), sqlx::Error> {
        sqlx::query(sql::REVOKE_SESSION)
            .bind(token_hash)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// Lock an account until `until` for `reason`; none when there is no such account.
    pub async fn lock_account(
        tx: &mut PgConnection,
        account: Uuid,
        until: DateTime<Utc>,
        reason: &str,
    ) -> Result<Option<AccountRow>, sqlx::Error> {
        let row = sqlx::query(sql::LOCK_ACCOUNT)
            .bind(account)
            .bind(until)
            .bind(reason)
            .fetch_optional(tx)
            .await?;
        row.as_ref().map(account_row).transpose()
    }

    pub async fn revoke_sessions(tx: &mut PgConnection, account: Uuid) -> Result<(), sqlx::Error> {
        sqlx::query(sql::REVOKE_SESSIONS)
            .bind(account)
            .execute(tx)
            .await?;
        Ok(())
    }

    /// End every session of the account except the one with `keep` (its token's hash).
    pub async fn revoke_other_sessions(
        tx: &mut PgConnection,
        account: Uuid,
        keep: &[u8],
    ) -> Result<(), sqlx::Error> {
        sqlx::query(sql::REVOKE_OTHER_SESSIONS)
            .bind(account)
            .bind(keep)
            .execute(tx)
            .await?;
        Ok(())
    }

    pub async fn account(&self, id: Uuid) -> Result<Option<AccountRow>, sqlx::Error> {
        let row = sqlx::query(sql::ACCOUNT)
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?;
        row.as_ref().map(account_row).transpose()
    }

    /// A new password hash; `reset` also lifts a lock for failed logins.
    pub async fn set_password(
        tx: &mut PgConnection,
        account: Uuid,
        hash: &str,
        reset: bool,
    ) -> Result<Option<AccountRow>, sqlx::Error> {
        let statement = if reset {
            sql::RESET_PASSWORD
        } else {
            sql::SET_PASSWORD
        };
        let row = sqlx::query(statement)
            .bind(account)
            .bind(hash)
            .fetch_optional(tx)
            .await?;
        row.as_ref().map(account_row).transpose()
    }

    pub async fn unlock_account(
        tx: &mut PgConnection,
        account: Uuid,
    ) -> Result<Option<AccountRow>, sqlx::Error> {
        let row = sqlx::query(sql::UNLOCK_ACCOUNT)
            .bind(account)
            .fetch_optional(tx)
            .await?;
        row.as_ref().map(account_row).transpose()
    }

    pub async fn end_password_resets(
        tx: &mut PgConnection,
        account: Uuid,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(sql::END_PASSWORD_RESETS)
            .bind(account)
            .bind(now)
            .execute(tx)
            .await?;
        Ok(())
    }

    /// The account of a reset token still usable (without using it).
    pub async fn password_reset_open(
        &self,
        token_hash: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Option<Uuid>, sqlx::Error> {
        sqlx::query_scalar(sql::PASSWORD_RESET_OPEN)
            .bind(token_hash)
            .bind(now)
            .fetch_optional(self.db.pool())
            .await
    }

    pub async fn lock_account_row(
        tx: &mut PgConnection,
        account: Uuid,
    ) -> Result<Option<AccountRow>, sqlx::Error> {
        let row = sqlx::query(sql::LOCK_ACCOUNT_ROW)
            .bind(account)
            .fetch_optional(tx)
            .await?;
        row.as_ref().map(account_row).transpose()
    }

    pub async fn insert_notice(
        tx: &mut PgConnection,
        n: &NewNotice<'_>,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(sql::INSERT_NOTICE)
            .bind(n.id)
            .bind(n.account)
            .bind(n.to)
            .bind(n.subject)
            .bind(n.body)
            .bind(n.kind)
            .bind(n.at)
            .bind(n.expires)
            .execute(tx)
            .await?;
        Ok(())
    }

    /// A notice waiting for delivery (to, subject, body), locked; none once delivered.
    pub async fn take_notice(
        tx: &mut PgConnection,
        id: Uuid,
    ) -> Result<Option<(String, String, String)>, sqlx::Error> {
        sqlx::query_as(sql::TAKE_NOTICE)
            .bind(id)
            .fetch_optional(tx)
            .await
    }

    /// What only worked until `now` goes: the text of notices nobody delivered while their token
    /// worked, and sign-ups never confirmed. The count of both.
    pub async fn forget_expired(&self, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
        let mut tx = self.db.pool().begin().await?;
        let mut n = sqlx::query(sql::BLANK_STALE_NOTICES)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        n += sqlx::query(sql::DELETE_EXPIRED_SIGN_UPS)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(n)
    }

    pub async fn delivered_notice(tx: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
        sqlx::query(sql::DELIVERED_NOTICE)
            .bind(id)
            .execute(tx)
            .await?;
        Ok(())
    }

    pub async fn open_password_resets(
        tx: &mut PgConnection,
        account: Uuid,
        now: DateTime<Utc>,
    ) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar(sql::OPEN_PASSWORD_RESETS)
            .bind(account)
            .bind(now)
            .fetch_one(tx)
            .await
    }

    pub async fn insert_password_reset(
        tx: &mut PgConnection,
        token_hash: &[u8],
        account: Uuid,
        expires: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(sql::INSERT_PASSWORD_RESET)
            .bind(token_hash)
            .bind(account)
            .bind(expires)
            .execute(tx)
            .await?;
        Ok(())
    }

    /// The account of a usable reset token, which is used up by this call.
    pub async fn use_password_reset(
        tx: &mut PgConnection,
        token_hash: &[u8],
        account: Uuid,
        now: DateTime<Utc>,
    ) -> Result<bool, sqlx::Error> {
        Ok(sqlx::query_scalar::<_, Uuid>(sql::USE_PASSWORD_RESET)
            .bind(token_hash)
            .bind(now)
            .bind(account)
            .fetch_optional(tx)
            .await?
            .is_some())
    }

    // Organisations (K1–K4, A2, SK7, D2, L1).

    pub async fn organisation(
        conn: &mut PgConnection,
        id: Uuid,
    ) -> Result<Option<OrganisationRow>, sqlx::Error> {
        let row = sqlx::query(sql::ORGANISATION)
            .bind(id)
            .fetch_optional(conn)
            .await?;
        row.as_ref().map(organisation_row).transpose()
    }

    /// The organisation under a row lock: changes to it are serialised.
    pub async fn lock_organisation(
        tx: &mut PgConnection,
        id: Uuid,
    ) -> Result<Option<OrganisationRow>, sqlx::Error> {
        let row = sqlx::query(sql::LOCK_ORGANISATION)
            .bind(id)
            .fetch_optional(tx)
            .await?;
        row.as_ref().map(organisation_row).transpose()
    }

    /// The newest version of the mandatory information, with its number.
    pub async fn mandatory_info(
        &self,
        organisation: Uuid,
    ) -> Result<Option<(i32, MandatoryInfo)>, sqlx::Error> {
        let row = sqlx::query(sql::MANDATORY_INFO)
            .bind(organisation)
            .fetch_optional(self.db.pool())
            .await?;
        row.map(|r| Ok((r.try_get("version")?, json(&r, "info")?)))
            .transpose()
    }

    /// Add the next version of the mandatory information (under the organisation's row lock).
    pub async fn add_mandatory_info(
        tx: &mut PgConnection,
        organisation: Uuid,
        info: &MandatoryInfo,
    ) -> Result<i32, sqlx::Error> {
        let version: i32 = sqlx::query_scalar(sql::NEXT_MANDATORY_VERSION)
            .bind(organisation)
            .fetch_one(&mut *tx)
            .await?;
        sqlx::query(sql::INSERT_MANDATORY_INFO)
            .bind(organisation)
            .bind(version)
            .bind(sqlx::types::Json(info))
            .execute(tx)
            .await?;
        Ok(version)
    }

    /// Insert the organisation and link it to the account; false when the account already has
    /// one (the caller rolls back).
    pub async fn insert_organisation(
        tx: &mut PgConnection,
        account: Uuid,
        o: &NewOrganisation<'_>,
    ) -> Result<bool, sqlx::Error> {
        sqlx::query(sql::INSERT_ORGANISATION)
            .bind(o.id)
            .bind(o.name)
            .bind(o.kind.as_str())
            .bind(o.school.map(School::as_str))
            .bind(o.licence_number)
            .bind(o.licence_expiry)
            .bind(o.address)
            .bind(o.prefecture_code)
            .bind(o.handles_subsidies)
            .bind(o.certifications)
            .bind(sqlx::types::Json(o.contact_person))
            .bind(sqlx::types::Json(o.pi_manager))
            .bind(o.registered_on)
            .bind(o.bureau_email_due)
            .execute(&mut *tx)
            .await?;
        let linked = sqlx::query(sql::LINK_ACCOUNT)
            .bind(account)
            .bind(o.id)
            .execute(tx)
            .await?
            .rows_affected();
        Ok(linked == 1)
    }

    /// An organisation with the last revocation under its licence number (E8).
    pub async fn eligibility_facts(
        &self,
        id: Uuid,
    ) -> Result<Option<(OrganisationRow, Option<NaiveDate>)>, sqlx::Error> {
        let row = sqlx::query(sql::ELIGIBILITY_FACTS)
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?;
        row.map(|r| Ok((organisation_row(&r)?, r.try_get("last_revoked")?)))
            .transpose()
    }

    pub async fn record_bureau_email_sent(
        &self,
        organisation: Uuid,
        on: NaiveDate,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(sql::BUREAU_EMAIL_SENT)
            .bind(organisation)
            .bind(on)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    pub async fn overdue_bureau_emails(
        &self,
        today: NaiveDate,
        bureau: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<OrganisationRow>, sqlx::Error> {
        let rows = sqlx::query(sql::OVERDUE_BUREAU_EMAILS)
            .bind(today)
            .bind(bureau)
            .bind(limit)
            .bind(offset)
            .fetch_all(self.db.pool())
            .await?;
        rows.iter().map(organisation_row).collect()
    }

    pub async fn public_organisations(
        &self,
        prefecture: Option<&str>,
        size: i64,
        offset: i64,
    ) -> Result<Vec<PublicRow>, sqlx::Error> {
        let rows = sqlx::query(sql::PUBLIC_ORGANISATIONS)
            .bind(prefecture)
            .bind(size)
            .bind(offset)
            .fetch_all(self.db.pool())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(PublicRow {
                    name: r.try_get("name")?,
                    address: r.try_get("address")?,
                    licence_number: r.try_get("licence_number")?,
                    handles_subsidies: r.try_get("handles_subsidies")?,
                    certifications: r.try_get("certifications")?,
                    suspended: r.try_get::<Option<bool>, _>("suspended")?.unwrap_or(false),
                })
            })
            .collect()
    }

    /// Revoked organisations: name, licence number, revocation date.
    pub async fn revoked_organisations(
        &self,
        size: i64,
        offset: i64,
    ) -> Result<Vec<(String, String, Option<NaiveDate>)>, sqlx::Error> {
        sqlx::query_as(sql::REVOKED_ORGANISATIONS)
            .bind(size)
            .bind(offset)
            .fetch_all(self.db.pool())
            .await
    }

    // Applications (AP1–AP4, D1, E6).

    /// Register applications: one statement for one (atomic on its own), a transaction for the
    /// pair of E6. Returns the first.
    pub async fn insert_applications(
        &self,
        apps: &[NewApplication],
    ) -> Result<Option<ApplicationRow>, sqlx::Error> {
        match apps {
            [] => Ok(None),
            [one] => {
                let mut conn = self.db.pool().acquire().await?;
                Ok(Some(Self::insert_application(&mut conn, one).await?))
            }
            many => {
                let mut tx = self.begin().await?;
                let mut first = None;
                for a in many {
                    let row = Self::insert_application(&mut tx, a).await?;
                    first.get_or_insert(row);
                }
                tx.commit().await?;
                Ok(first)
            }
        }
    }

    async fn insert_application(
        conn: &mut PgConnection,
        a: &NewApplication,
    ) -> Result<ApplicationRow, sqlx::Error> {
        let row = sqlx::query(sql::INSERT_APPLICATION)
            .bind(Uuid::now_v7())
            .bind(a.organisation_id)
            .bind(a.service.as_str())
            .bind(a.kind.as_str())
            .bind(a.registered_on)
            .bind(a.submission_deadline)
            .bind(a.regular_placements_3m)
            .fetch_one(conn)
            .await?;
        application_row(&row)
    }

    /// An application with its organisation's prefecture.
    pub async fn application(
        &self,
        id: Uuid,
    ) -> Result<Option<(ApplicationRow, String)>, sqlx::Error> {
        let row = sqlx::query(sql::APPLICATION)
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?;
        row.map(|r| Ok((application_row(&r)?, r.try_get("prefecture_code")?)))
            .transpose()
    }

    /// The same, under a row lock for a transition.
    pub async fn lock_application(
        tx: &mut PgConnection,
        id: Uuid,
    ) -> Result<Option<(ApplicationRow, String)>, sqlx::Error> {
        let row = sqlx::query(sql::LOCK_APPLICATION)
            .bind(id)
            .fetch_optional(tx)
            .await?;
        row.map(|r| Ok((application_row(&r)?, r.try_get("prefecture_code")?)))
            .transpose()
    }

    pub async fn set_application_status(
        tx: &mut PgConnection,
        id: Uuid,
        status: ApplicationStatus,
        submitted_on: Option<NaiveDate>,
    ) -> Result<ApplicationRow, sqlx::Error> {
        let row = sqlx::query(sql::SET_APPLICATION_STATUS)
            .bind(id)
            .bind(status.as_str())
            .bind(submitted_on)
            .fetch_one(tx)
            .await?;
        application_row(&row)
    }

    pub async fn record_decision(
        tx: &mut PgConnection,
        id: Uuid,
        on: NaiveDate,
        by: Uuid,
        note: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(sql::RECORD_DECISION)
            .bind(id)
            .bind(on)
            .bind(by)
            .bind(note)
            .execute(tx)
            .await?;
        Ok(())
    }

    pub async fn applications(
        &self,
        organisation: Option<Uuid>,
        bureau: Option<&str>,
        status: Option<ApplicationStatus>,
        size: i64,
        offset: i64,
    ) -> Result<Vec<ApplicationRow>, sqlx::Error> {
        let rows = sqlx::query(sql::LIST_APPLICATIONS)
            .bind(organisation)
            .bind(bureau)
            .bind(status.map(ApplicationStatus::as_str))
            .bind(size)
            .bind(offset)
            .fetch_all(self.db.pool())
            .await?;
        rows.iter().map(application_row).collect()
    }

    /// Registered, unsubmitted applications with their registration day (AP3).
    pub async fn unsubmitted(&self) -> Result<Vec<(Uuid, NaiveDate)>, sqlx::Error> {
        sqlx::query_as(sql::UNSUBMITTED)
            .fetch_all(self.db.pool())
            .await
    }

    /// Delete those of `ids` still unsubmitted; returns how many.
    pub async fn delete_unsubmitted(&self, ids: &[Uuid]) -> Result<u64, sqlx::Error> {
        Ok(sqlx::query(sql::DELETE_UNSUBMITTED)
            .bind(ids)
            .execute(self.db.pool())
            .await?
            .rows_affected())
    }

    // Enrolments (D8, SN1, SN2).

    pub async fn enrolments(&self, organisation: Uuid) -> Result<Vec<EnrolmentRow>, sqlx::Error> {
        let rows = sqlx::query(sql::ENROLMENTS)
            .bind(organisation)
            .fetch_all(self.db.pool())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(EnrolmentRow {
                    organisation_id: r.try_get("organisation_id")?,
                    service: Service::decode(r.try_get("service")?)?,
                    status: EnrolmentStatus::decode(r.try_get("status")?)?,
                    valid_from: r.try_get("valid_from")?,
                    valid_until: r.try_get("valid_until")?,
                })
            })
            .collect()
    }

    /// The enrolment's status, locked for the decision that changes it.
    pub async fn lock_enrolment(
        tx: &mut PgConnection,
        organisation: Uuid,
        service: Service,
    ) -> Result<Option<EnrolmentStatus>, sqlx::Error> {
        let status: Option<String> = sqlx::query_scalar(sql::LOCK_ENROLMENT)
            .bind(organisation)
            .bind(service.as_str())
            .fetch_optional(tx)
            .await?;
        status.as_deref().map(EnrolmentStatus::decode).transpose()
    }

    pub async fn withdraw_enrolment(
        tx: &mut PgConnection,
        organisation: Uuid,
        service: Service,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(sql::WITHDRAW_ENROLMENT)
            .bind(organisation)
            .bind(service.as_str())
            .execute(tx)
            .await?;
        Ok(())
    }

    pub async fn activate_enrolment(
        tx: &mut PgConnection,
        organisation: Uuid,
        service: Service,
        from: NaiveDate,
        until: NaiveDate,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(sql::ACTIVATE_ENROLMENT)
            .bind(organisation)
            .bind(service.as_str())
            .bind(from)
            .bind(until)
            .execute(tx)
            .await?;
        Ok(())
    }

    /// D8: active enrolments past their last valid day become expired; returns which.
    pub async fn expire_enrolments(
        tx: &mut PgConnection,
        today: NaiveDate,
    ) -> Result<Vec<(Uuid, Service)>, sqlx::Error> {
        let rows = sqlx::query(sql::EXPIRE_ENROLMENTS)
            .bind(today)
            .fetch_all(tx)
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("organisation_id")?,
                    Service::decode(r.try_get("service")?)?,
                ))
            })
            .collect()
    }
}
