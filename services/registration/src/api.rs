//! gRPC handlers: parse, authorise, ask the rules, call the store (state change + event in one
//! transaction), answer.

use chrono::{DateTime, NaiveDate, Utc};
use hwx_platform::auth::{Authenticator, Caller, Role};
use hwx_platform::clock::SharedClock;
use hwx_platform::codes::Code;
use hwx_platform::events::Outbox;
use hwx_platform::grpc::{ErrorKind, ServiceError};
use hwx_proto::events::v1 as ev;
use hwx_proto::registration::v1::registration_service_server::RegistrationService;
use hwx_proto::registration::v1::*;
use hwx_rules::RuleId;
use hwx_rules::access::{self, EnrolmentStatus};
use hwx_rules::account::{self as rules_account, LockoutPolicy, ResponsiblePerson as RulesPerson};
use hwx_rules::application::{self, ApplicationAction, ApplicationStatus as RuleStatus};
use hwx_rules::deadline;
use hwx_rules::eligibility::{self, EligibilityQuery, OrgKind, School, Service};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::auth::{self, LocalSessions};
use crate::convert;
use crate::events;
use crate::password;
use crate::pdf;
use crate::store::{self, ApplicationRow, NewApplication, NewOrganisation, Store};

/// The registration service.
#[derive(Debug, Clone)]
pub struct Registration {
    store: Store,
    clock: SharedClock,
    outbox: Outbox,
    auth: Authenticator,
    lockout: LockoutPolicy,
}

type Reply<T> = Result<Response<T>, Status>;

impl Registration {
    pub fn new(store: Store, clock: SharedClock, outbox: Outbox) -> Self {
        // Registration owns the sessions: it resolves every token against its own table.
        let auth = Authenticator::new(
            LocalSessions {
                store: store.clone(),
                clock: clock.clone(),
            },
            std::time::Duration::ZERO,
        );
        Registration {
            store,
            clock,
            outbox,
            auth,
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
        self.auth.caller(request).await
    }

    /// An organisation with its newest mandatory information.
    async fn organisation(&self, id: Uuid) -> Result<Organisation, ServiceError> {
        let mut conn = self.store.db.pool().acquire().await?;
        let org = Store::organisation(&mut conn, id)
            .await?
            .ok_or_else(|| ServiceError::not_found(format!("no organisation {id}")))?;
        drop(conn);
        let info = self.store.mandatory_info(id).await?;
        Ok(convert::organisation(&org, info))
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

/// Until when a reported-compromised account stays locked: until ops unlock it.
fn locked_for_good() -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(9999, 12, 31)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map_or(DateTime::<Utc>::MAX_UTC, |t| t.and_utc())
}

const COMPROMISE: &str = "compromise reported";

/// Reset tokens one account may hold unused at once.
const MAX_OPEN_RESETS: i64 = 3;

/// The kind of notice a sign-up sends, and how many of them one address receives in an hour.
const SIGN_UP: &str = "sign-up";
/// One subject for every sign-up notice, whatever it says: an event or a log line that carries
/// the subject does not tell a taken email from a new one.
const SIGN_UP_SUBJECT: &str = "HWX: your sign-up";
const MAX_SIGN_UP_NOTICES: i64 = 3;

/// An email as accounts keep it (trimmed, lower case), or the refusal naming the field.
fn account_email(raw: &str) -> Result<String, ServiceError> {
    let email = raw.trim().to_lowercase();
    if !email.contains('@') || email.len() > 254 || email.starts_with('@') || email.ends_with('@') {
        return Err(ServiceError::invalid(format!(
            "email: {raw:?} is not an email address"
        )));
    }
    Ok(email)
}

/// E7: an email of an account closed less than 5 years ago stays taken until `from`.
#[derive(Debug, Clone, Copy)]
struct EmailBar {
    closed: NaiveDate,
    from: NaiveDate,
}

impl EmailBar {
    fn refusal(self) -> ServiceError {
        ServiceError::refused(
            RuleId::E7,
            format!(
                "this email belonged to an account closed on {}; it can be registered again from {}: use another email",
                self.closed, self.from
            ),
        )
    }
}

/// A new password per NIST SP 800-63B ([`password`]), or the refusal saying why not.
fn check_new_password(field: &str, password: &str, email: &str) -> Result<(), ServiceError> {
    match password::problem(field, password, email) {
        Some(why) => Err(ServiceError::invalid(why)),
        None => Ok(()),
    }
}

const FAILED_LOGINS: &str = "failed logins";

/// The handlers, in the service's own error type: `?` works on database and rule errors alike.
impl Registration {
    async fn do_create_account(
        &self,
        request: Request<CreateAccountRequest>,
    ) -> Result<Response<Account>, ServiceError> {
        let caller = self.caller(&request).await?;
        if !matches!(caller.role, Role::Ops | Role::Mhlw) {
            return Err(ServiceError::forbidden(
                "only operations and the ministry make accounts directly; an organisation or seeker signs up without a session (POST /v1/accounts) and confirms the email",
            ));
        }
        let req = request.into_inner();
        let role = Role::from_proto(req.role)?;
        let email = account_email(&req.email)?;
        check_new_password("password", &req.password, &email)?;
        let bureau = match role {
            Role::Bureau if valid_prefecture(&req.bureau_code) => Some(req.bureau_code.as_str()),
            Role::Bureau => {
                return Err(ServiceError::invalid(
                    "bureau_code: the prefecture code 01–47 of the officer's labour bureau",
                ));
            }
            _ => None,
        };
        if let Some(bar) = self.email_barred(&email).await? {
            return Err(bar.refusal());
        }
        let hash = auth::hash_password(req.password).await?;
        let mut tx = self.store.begin().await?;
        // The email first, as a confirmation takes it: the two never wait on each other.
        Store::lock_email(&mut tx, &email).await?;
        let account = Store::insert_account(&mut tx, &email, &hash, role, bureau)
            .await?
            .ok_or_else(|| {
                ServiceError::new(ErrorKind::Conflict, "an account with this email exists")
            })?;
        Store::end_sign_ups(&mut tx, &email).await?;
        tx.commit().await?;
        Ok(Response::new(convert::account(&account, self.now())))
    }

    /// E7: the email belonged to an account closed less than 5 years ago.
    async fn email_barred(&self, email: &str) -> Result<Option<EmailBar>, ServiceError> {
        let Some(closed) = self.store.last_closed(email).await? else {
            return Ok(None);
        };
        let from = deadline::email_reusable_from(closed)?;
        Ok((self.today() < from).then_some(EmailBar { closed, from }))
    }

    async fn do_sign_up(
        &self,
        request: Request<SignUpRequest>,
    ) -> Result<Response<SignUpResponse>, ServiceError> {
        let req = request.into_inner();
        let role = Role::from_proto_opt(req.role)?.unwrap_or(Role::Org);
        if !matches!(role, Role::Org | Role::Seeker) {
            return Err(ServiceError::forbidden(
                "only operations make staff and system accounts (with their session); sign-up is for organisation and seeker accounts",
            ));
        }
        let email = account_email(&req.email)?;
        check_new_password("password", &req.password, &email)?;
        // Every path below looks the email up twice, hashes the password once and writes one
        // notice with its event (a new email adds one row, well under a millisecond against a
        // hash of tens): the answer and its timing say nothing about the email.
        let holder = self.store.open_account(&email).await?;
        let bar = self.email_barred(&email).await?;
        let hash = auth::hash_password(req.password).await?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        Store::lock_email(&mut tx, &email).await?;
        // A bound on what one mailbox receives: a flood of sign-ups sends a few notices.
        if Store::recent_notices(&mut tx, &email, SIGN_UP, now - chrono::Duration::hours(1)).await?
            >= MAX_SIGN_UP_NOTICES
        {
            return Ok(Response::new(SignUpResponse {}));
        }
        let expires = now + auth::SIGN_UP_TTL;
        let until = hwx_rules::jst::text(&expires);
        let (subject, body) = match (&holder, &bar) {
            (Some(_), _) => (
                SIGN_UP_SUBJECT,
                format!(
                    "Someone asked to sign up for HWX with {email}, which has an account already. \
                     If it was you, log in (POST /v1/sessions); if the password is lost, ask for \
                     a reset (POST /v1/password-resets). If not, ignore this message: nothing \
                     changed."
                ),
            ),
            (None, Some(bar)) => (
                SIGN_UP_SUBJECT,
                format!(
                    "Someone asked to sign up for HWX with {email}. It belonged to an account \
                     closed on {closed}, and can be registered again from {from} (E7): sign up \
                     with another email. If it was not you, ignore this message.",
                    closed = bar.closed,
                    from = bar.from
                ),
            ),
            (None, None) => {
                let (token, token_hash) = auth::new_token();
                Store::insert_sign_up(&mut tx, &token_hash, &email, &hash, role, expires).await?;
                (
                    SIGN_UP_SUBJECT,
                    format!(
                        "A sign-up for an HWX {role} account was asked with {email}. The one-time \
                         token below confirms it, once, until {until}:\n\n{token}\n\nSend it to \
                         POST /v1/accounts/confirmation to make the account, then log in with the \
                         password you chose. If it was not you, ignore this message: no account \
                         is made.",
                        role = role.as_str()
                    ),
                )
            }
        };
        // No account named, whichever it is: the event and the notifier's log line look alike.
        self.notify(
            &mut tx,
            &store::NewNotice {
                id: Uuid::now_v7(),
                account: None,
                to: &email,
                subject,
                body: &body,
                kind: SIGN_UP,
                at: now,
                expires,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(Response::new(SignUpResponse {}))
    }

    async fn do_confirm_sign_up(
        &self,
        request: Request<ConfirmSignUpRequest>,
    ) -> Result<Response<Account>, ServiceError> {
        let token_hash = auth::token_hash(request.into_inner().token.trim());
        let now = self.now();
        let unusable = || {
            ServiceError::unauthenticated(
                "the sign-up token is unknown, used or expired: sign up again (POST /v1/accounts)",
            )
        };
        let email = self
            .store
            .sign_up_email(&token_hash)
            .await?
            .ok_or_else(unusable)?;
        let mut tx = self.store.begin().await?;
        // The email's lock before its sign-up rows and its account, as every maker of an
        // account takes them: two confirmations, or one and operations, never deadlock.
        Store::lock_email(&mut tx, &email).await?;
        let (email, hash, role) = Store::take_sign_up(&mut tx, &token_hash, now)
            .await?
            .ok_or_else(unusable)?;
        // The token proves the mailbox: what the sign-up kept quiet can be said now. A refusal
        // ends the email's sign-ups (their password hashes go with them).
        let made = match self.email_barred(&email).await? {
            Some(bar) => Err(bar.refusal()),
            None => Store::insert_account(&mut tx, &email, &hash, role, None)
                .await?
                .ok_or_else(|| {
                    ServiceError::new(
                        ErrorKind::Conflict,
                        "an account with this email exists already: log in, or ask for a password reset (POST /v1/password-resets)",
                    )
                }),
        };
        Store::end_sign_ups(&mut tx, &email).await?;
        tx.commit().await?;
        Ok(Response::new(convert::account(&made?, now)))
    }

    /// Keep a notice for the notifier, and stage its event, in the caller's transaction. The
    /// event names the notice only: its text (a token) is in no event, stream or trace.
    async fn notify(
        &self,
        tx: &mut sqlx::PgConnection,
        n: &store::NewNotice<'_>,
    ) -> Result<(), ServiceError> {
        Store::insert_notice(tx, n).await?;
        let event = ev::NoticeRequested {
            meta: None,
            notice_id: n.id.to_string(),
            account_id: n.account.map(|a| a.to_string()).unwrap_or_default(),
            to: n.to.to_owned(),
            subject: n.subject.to_owned(),
        };
        self.outbox.stage(tx, event).await?;
        Ok(())
    }

    async fn do_login(
        &self,
        request: Request<LoginRequest>,
    ) -> Result<Response<Session>, ServiceError> {
        let req = request.into_inner();
        let email = req.email.trim().to_lowercase();
        let now = self.now();
        let wrong = || ServiceError::unauthenticated("the email or the password is wrong");
        let Some(account) = self.store.open_account(&email).await? else {
            // Spend the same time as a real check, so timing does not tell which emails exist.
            let _ = auth::verify_password(req.password, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into()).await;
            return Err(wrong());
        };
        if let Some(until) = account.locked_until.filter(|t| *t > now) {
            let msg = if account.locked_reason.as_deref() == Some(COMPROMISE) {
                "the account is locked after a reported compromise: operations unlock it once it is dealt with (ask them to)".to_owned()
            } else {
                format!(
                    "the account is locked after repeated failed logins until {}; reset the password to unlock it now (POST /v1/password-resets), or ask operations",
                    hwx_rules::jst::text(&until)
                )
            };
            return Err(ServiceError::unauthenticated(msg).with_rule(RuleId::A1));
        }
        if !auth::verify_password(req.password, account.password_hash.clone()).await {
            self.count_failure(account.id, now).await?;
            return Err(wrong());
        }
        let (token, token_hash) = auth::new_token();
        let expires = now + auth::SESSION_TTL;
        let mut tx = self.store.begin().await?;
        if !Store::open_session(&mut tx, account.id, &token_hash, now, expires).await? {
            return Err(
                ServiceError::unauthenticated("the account is locked").with_rule(RuleId::A1)
            );
        }
        tx.commit().await?;
        Ok(Response::new(Session {
            token,
            expires_at: convert::timestamp(expires),
            account: Some(convert::account(&account, now)),
        }))
    }

    async fn do_logout(
        &self,
        request: Request<LogoutRequest>,
    ) -> Result<Response<LogoutResponse>, ServiceError> {
        let req = request.into_inner();
        let hash = auth::token_hash(&req.token);
        if !req.everywhere {
            self.store.revoke_session(&hash).await?;
            return Ok(Response::new(LogoutResponse {}));
        }
        // Everywhere: the token must be a live session, which says whose sessions end.
        let caller = self.auth.fresh(&req.token).await?;
        let mut tx = self.store.begin().await?;
        Store::revoke_sessions(&mut tx, caller.account_id).await?;
        tx.commit().await?;
        Ok(Response::new(LogoutResponse {}))
    }

    async fn do_authenticate(
        &self,
        request: Request<AuthenticateRequest>,
    ) -> Result<Response<hwx_proto::registration::v1::Caller>, ServiceError> {
        let req = request.into_inner();
        Ok(Response::new(self.auth.token(&req.token).await?.to_proto()))
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
        let mut tx = self.store.begin().await?;
        let account = Store::lock_account(&mut tx, id, locked_for_good(), COMPROMISE)
            .await?
            .ok_or_else(|| ServiceError::not_found(format!("no account {id}")))?;
        if response.revoke_sessions {
            Store::revoke_sessions(&mut tx, id).await?;
        }
        Store::end_password_resets(&mut tx, id, now).await?;
        // Operations learn of it from the event (A1: notify ops).
        events::account_locked(&self.outbox, &mut tx, id, &req.reason, true).await?;
        tx.commit().await?;
        Ok(Response::new(convert::account(&account, now)))
    }

    /// A wrong password (at login, or as the current one in a change): counted, and locks the
    /// account after the policy's number of failures (A1).
    async fn count_failure(&self, account: Uuid, now: DateTime<Utc>) -> Result<(), ServiceError> {
        let mut tx = self.store.begin().await?;
        let failures = Store::failed_login(&mut tx, account).await?;
        if let Some(until) = self
            .lockout
            .after_failure(failures.max(0) as u32, hwx_rules::jst::to_jst(&now))
        {
            Store::lock_after_failures(&mut tx, account, until.with_timezone(&Utc)).await?;
            events::account_locked(&self.outbox, &mut tx, account, FAILED_LOGINS, false).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn do_change_password(
        &self,
        request: Request<ChangePasswordRequest>,
    ) -> Result<Response<Account>, ServiceError> {
        let caller = self.caller(&request).await?;
        let token = hwx_platform::auth::bearer(&request);
        let req = request.into_inner();
        let now = self.now();
        let account = self
            .store
            .account(caller.account_id)
            .await?
            .ok_or_else(|| ServiceError::not_found("the account no longer exists"))?;
        check_new_password("new_password", &req.new_password, &account.email)?;
        if !auth::verify_password(req.current_password, account.password_hash.clone()).await {
            // A stolen session must not guess the password at the rate limit's pace.
            self.count_failure(account.id, now).await?;
            return Err(ServiceError::forbidden(
                "current_password: this is not the account's password",
            ));
        }
        let hash = auth::hash_password(req.new_password).await?;
        let mut tx = self.store.begin().await?;
        let account = Store::set_password(&mut tx, caller.account_id, &hash, false)
            .await?
            .ok_or_else(|| ServiceError::not_found("the account is closed"))?;
        // Whoever else holds a session of this account is logged out, and an open reset token
        // no longer works; the caller stays.
        let keep = token.as_deref().map(auth::token_hash).unwrap_or_default();
        Store::revoke_other_sessions(&mut tx, account.id, &keep).await?;
        Store::end_password_resets(&mut tx, account.id, now).await?;
        events::password_changed(&self.outbox, &mut tx, account.id, "change").await?;
        tx.commit().await?;
        Ok(Response::new(convert::account(&account, now)))
    }

    async fn do_request_password_reset(
        &self,
        request: Request<RequestPasswordResetRequest>,
    ) -> Result<Response<RequestPasswordResetResponse>, ServiceError> {
        let email = request.into_inner().email.trim().to_lowercase();
        // The same answer whether or not the email has an account: it tells nobody which do.
        let Some(account) = self.store.open_account(&email).await? else {
            return Ok(Response::new(RequestPasswordResetResponse {}));
        };
        let now = self.now();
        let mut tx = self.store.begin().await?;
        // One request per account at a time, so the bound below holds.
        let Some(account) = Store::lock_account_row(&mut tx, account.id).await? else {
            return Ok(Response::new(RequestPasswordResetResponse {}));
        };
        // After a reported compromise the mailbox may be the attacker's: operations act (A1).
        let compromised = account.locked_reason.as_deref() == Some(COMPROMISE)
            && account.locked_until.is_some_and(|t| t > now);
        // A bound on what one mailbox receives: a flood of requests sends a few tokens.
        if compromised
            || Store::open_password_resets(&mut tx, account.id, now).await? >= MAX_OPEN_RESETS
        {
            return Ok(Response::new(RequestPasswordResetResponse {}));
        }
        let (token, token_hash) = auth::new_token();
        let expires = now + auth::RESET_TTL;
        Store::insert_password_reset(&mut tx, &token_hash, account.id, expires).await?;
        let subject = "HWX: reset your password";
        let body = format!(
            "A password reset was asked for the HWX account {email}. The one-time token below \
             works once, until {until}:\n\n{token}\n\nSend it with a new password to \
             POST /v1/password-resets/confirmation. If you did not ask, ignore this message: the \
             password stays as it is.",
            until = hwx_rules::jst::text(&expires)
        );
        self.notify(
            &mut tx,
            &store::NewNotice {
                id: Uuid::now_v7(),
                account: Some(account.id),
                to: &account.email,
                subject,
                body: &body,
                kind: "password-reset",
                at: now,
                expires,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(Response::new(RequestPasswordResetResponse {}))
    }

    async fn do_reset_password(
        &self,
        request: Request<ResetPasswordRequest>,
    ) -> Result<Response<Account>, ServiceError> {
        let req = request.into_inner();
        let now = self.now();
        let token_hash = auth::token_hash(req.token.trim());
        let unusable = || {
            ServiceError::unauthenticated(
                "the reset token is unknown, used or expired: ask for a new one (POST /v1/password-resets)",
            )
        };
        let compromised = |a: &store::AccountRow| {
            a.locked_reason.as_deref() == Some(COMPROMISE)
                && a.locked_until.is_some_and(|t| t > now)
        };
        let refused = || {
            ServiceError::unauthenticated(
                "the account is locked after a reported compromise: operations unlock it; a reset cannot",
            )
            .with_rule(RuleId::A1)
        };
        // Looked at before the (costly) hash: a guessed token costs one index look-up.
        let account_id = self
            .store
            .password_reset_open(&token_hash, now)
            .await?
            .ok_or_else(unusable)?;
        let holder = self
            .store
            .account(account_id)
            .await?
            .ok_or_else(|| ServiceError::not_found("the account is closed"))?;
        if compromised(&holder) {
            return Err(refused());
        }
        check_new_password("new_password", &req.new_password, &holder.email)?;
        let hash = auth::hash_password(req.new_password).await?;
        let mut tx = self.store.begin().await?;
        // The account first, then its token: the order every account change takes.
        let before = Store::lock_account_row(&mut tx, account_id)
            .await?
            .ok_or_else(|| ServiceError::not_found("the account is closed"))?;
        if compromised(&before) {
            return Err(refused());
        }
        if !Store::use_password_reset(&mut tx, &token_hash, account_id, now).await? {
            return Err(unusable());
        }
        let account = Store::set_password(&mut tx, account_id, &hash, true)
            .await?
            .ok_or_else(|| ServiceError::not_found("the account is closed"))?;
        Store::revoke_sessions(&mut tx, account.id).await?;
        Store::end_password_resets(&mut tx, account.id, now).await?;
        events::password_changed(&self.outbox, &mut tx, account.id, "reset").await?;
        if before.locked_until.is_some_and(|t| t > now) {
            // A lock after failed logins ends with the reset: said like any other unlock.
            events::account_unlocked(&self.outbox, &mut tx, account.id, account.id).await?;
        }
        tx.commit().await?;
        Ok(Response::new(convert::account(&account, now)))
    }

    async fn do_unlock_account(
        &self,
        request: Request<UnlockAccountRequest>,
    ) -> Result<Response<Account>, ServiceError> {
        let caller = self.caller(&request).await?;
        caller.require(&[Role::Ops])?;
        let req = request.into_inner();
        let id = match (req.account_id.trim(), req.email.trim()) {
            ("", "") => {
                return Err(ServiceError::invalid(
                    "name the account: account_id or email",
                ));
            }
            ("", email) => {
                self.store
                    .open_account(&email.to_lowercase())
                    .await?
                    .ok_or_else(|| ServiceError::not_found(format!("no open account {email}")))?
                    .id
            }
            (id, _) => uuid(id, "account_id")?,
        };
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let account = Store::unlock_account(&mut tx, id)
            .await?
            .ok_or_else(|| ServiceError::not_found(format!("no open account {id}")))?;
        // Tokens asked for while it was locked (perhaps by whoever compromised it) end too.
        Store::end_password_resets(&mut tx, id, now).await?;
        events::account_unlocked(&self.outbox, &mut tx, id, caller.account_id).await?;
        tx.commit().await?;
        Ok(Response::new(convert::account(&account, now)))
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
        let kind = OrgKind::from_proto(org.kind)?;
        let school = School::from_proto_opt(org.school)?;
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
        eligibility::organisation_kind(kind, school)?;
        let licence_expiry = convert::from_date(org.licence_expiry.as_ref(), "licence_expiry")?;
        if kind.is_licensed() && licence_expiry.is_none() {
            return Err(ServiceError::invalid(
                "licence_expiry: a K1 or K2 licence has an expiry date",
            ));
        }
        let contact = convert::person_in(org.contact_person.as_ref());
        let pi_manager = convert::person_in(org.pi_manager.as_ref());
        let to_rules = |p: &store::Person| RulesPerson {
            name: p.name.clone(),
            contact: p.contact.clone(),
            full_time: p.full_time,
        };
        let problems =
            rules_account::responsible_person_problems(&to_rules(&contact), &to_rules(&pi_manager));
        if !problems.is_empty() {
            return Err(ServiceError::refused(RuleId::A2, problems.join("; ")));
        }
        let today = self.today();
        let id = Uuid::now_v7();
        let new = NewOrganisation {
            id,
            name: org.name.trim(),
            kind,
            school,
            licence_number: org.licence_number.trim(),
            licence_expiry,
            address: org.address.trim(),
            prefecture_code: &org.prefecture_code,
            handles_subsidies: org.handles_subsidies,
            certifications: &org.certifications,
            contact_person: &contact,
            pi_manager: &pi_manager,
            registered_on: today,
            bureau_email_due: deadline::bureau_email_due(today)?,
        };
        let mut tx = self.store.begin().await?;
        // Two registrations racing for one account: the second finds it taken and rolls back.
        if !Store::insert_organisation(&mut tx, caller.account_id, &new).await? {
            return Err(ServiceError::new(
                ErrorKind::Conflict,
                "this account already has an organisation",
            ));
        }
        if let Some(m) = org.mandatory_info.clone() {
            Store::add_mandatory_info(&mut tx, id, &convert::mandatory_in(m)).await?;
        }
        let registered = ev::OrgRegistered {
            meta: None,
            organisation_id: id.to_string(),
            name: org.name.clone(),
            kind: kind.to_proto(),
            prefecture_code: org.prefecture_code.clone(),
        };
        self.outbox.stage(&mut tx, registered).await?;
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
        let given = req
            .mandatory_info
            .ok_or_else(|| ServiceError::invalid("mandatory_info is required"))?;
        // A new version replaces the old one whole: one with items left out would blank them,
        // and the first guidance could no longer carry them (SK7).
        let missing =
            hwx_rules::seeker::missing_mandatory_info(&hwx_rules::seeker::MandatoryInfo {
                placement_record: Some(given.placement_record.clone()),
                occupations: given.occupations.clone(),
                industries: given.industries.clone(),
                regions: given.regions.clone(),
                seeker_fees: Some(given.seeker_fees.clone()),
                pi_manager_name: Some(given.pi_manager_name.clone()),
                pi_manager_contact: Some(given.pi_manager_contact.clone()),
            });
        if !missing.is_empty() {
            return Err(ServiceError::refused(
                RuleId::SK7,
                format!(
                    "the mandatory information replaces the previous version whole, and these items are missing or empty: {}",
                    missing.join(", ")
                ),
            ));
        }
        let info = convert::mandatory_in(given);
        let mut tx = self.store.begin().await?;
        // Versions are serialised per organisation by the row lock.
        Store::lock_organisation(&mut tx, id)
            .await?
            .ok_or_else(|| ServiceError::not_found(format!("no organisation {id}")))?;
        let version = Store::add_mandatory_info(&mut tx, id, &info).await?;
        let changed = ev::MandatoryInfoChanged {
            meta: None,
            organisation_id: id.to_string(),
            version,
            mandatory_info_json: serde_json::to_string(&info)
                .map_err(|e| ServiceError::internal(e.to_string()))?,
        };
        self.outbox.stage(&mut tx, changed).await?;
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
        let service = Service::from_proto(req.service)?;
        let kind = eligibility::ApplicationKind::from_proto_opt(req.kind)?.unwrap_or_default();
        if req.regular_placements_3m < 0 {
            return Err(ServiceError::invalid(
                "regular_placements_3m cannot be negative",
            ));
        }
        let today = self.today();
        let (org, revoked_on) = self
            .store
            .eligibility_facts(org_id)
            .await?
            .ok_or_else(|| ServiceError::not_found(format!("no organisation {org_id}")))?;
        let verdict = eligibility::eligibility(&EligibilityQuery {
            service,
            kind: org.kind,
            school: org.school,
            application: kind,
            regular_placements_3m: req.regular_placements_3m as u32,
            suspension_order: org.suspended,
            improvement_order: false,
            // A revoked organisation cannot shed the E8 bar by registering again under the same
            // licence or notification number.
            revoked_on,
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
        let apps: Vec<NewApplication> = application::applications_for(kind, req.content_changed)
            .into_iter()
            .map(|k| NewApplication {
                organisation_id: org_id,
                service,
                kind: k,
                registered_on: today,
                submission_deadline: deadline,
                regular_placements_3m: req.regular_placements_3m,
            })
            .collect();
        let row = self
            .store
            .insert_applications(&apps)
            .await?
            .ok_or_else(|| ServiceError::internal("no application created"))?;
        Ok(Response::new(convert::application(&row)))
    }

    async fn do_get_application(
        &self,
        request: Request<GetApplicationRequest>,
    ) -> Result<Response<Application>, ServiceError> {
        let caller = self.caller(&request).await?;
        let (app, _) = self.application_for(&caller, &request.get_ref().id).await?;
        Ok(Response::new(convert::application(&app)))
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
        let status = RuleStatus::from_proto_opt(req.status)?;
        let mut rows = self
            .store
            .applications(org, bureau.as_deref(), status, size + 1, offset)
            .await?;
        let next_page_token = convert::next_token(offset, size, &mut rows);
        let applications: Vec<Application> = rows.iter().map(convert::application).collect();
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
        let (app, _) = self.application_for(&caller, &request.get_ref().id).await?;
        let org = self.organisation(app.organisation_id).await?;
        let service = match app.service {
            Service::Seeker => "求職情報提供サービス (S-SEEKER)",
            Service::Job => "求人情報提供サービス (S-JOB)",
        };
        let kind = match app.kind {
            eligibility::ApplicationKind::Change => "変更申請",
            eligibility::ApplicationKind::Renewal => "更新申請",
            eligibility::ApplicationKind::Withdrawal => "退会申請",
            eligibility::ApplicationKind::Use => "利用申請",
        };
        let contact = org.contact_person.clone().unwrap_or_default();
        let pi = org.pi_manager.clone().unwrap_or_default();
        let fields: Vec<pdf::Field> = vec![
            ("申請番号".into(), app.id.to_string()),
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
            ("登録日".into(), app.registered_on.to_string()),
            ("提出期限（D1）".into(), app.submission_deadline.to_string()),
        ];
        let title = format!("ハローワーク求人・求職情報提供サービス {kind}書");
        // Subsetting and compressing the font is CPU work: off the request threads.
        let pdf = tokio::task::spawn_blocking(move || pdf::application_form(&title, &fields))
            .await
            .map_err(|e| ServiceError::internal(format!("the PDF task failed: {e}")))?
            .map_err(|e| ServiceError::internal(e.to_string()))?;
        Ok(Response::new(ApplicationPdf {
            filename: format!("hwx-application-{}.pdf", app.id),
            pdf,
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
        let mut tx = self.store.begin().await?;
        let app = self
            .transition(
                &mut tx,
                &caller,
                id,
                ApplicationAction::Submit { on: received },
            )
            .await?;
        tx.commit().await?;
        Ok(Response::new(convert::application(&app)))
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
        // The status, the decision, the enrolment and the event commit together or not at all.
        let mut tx = self.store.begin().await?;
        let app = self.transition(&mut tx, &caller, app_id, action).await?;
        Store::record_decision(&mut tx, app_id, today, caller.account_id, &req.note).await?;
        if req.approve {
            let org_id = app.organisation_id;
            let service = app.service;
            if app.kind == eligibility::ApplicationKind::Withdrawal {
                Store::withdraw_enrolment(&mut tx, org_id, service).await?;
                events::enrolment_ended(
                    &self.outbox,
                    &mut tx,
                    org_id,
                    service,
                    EnrolmentStatus::Withdrawn,
                    RuleId::SK6e,
                )
                .await?;
            } else {
                // Locked: a revocation or suspension racing this decision waits for it, or wins.
                let org = Store::lock_organisation(&mut tx, org_id)
                    .await?
                    .ok_or_else(|| ServiceError::not_found(format!("no organisation {org_id}")))?;
                let standing = access::Standing {
                    revoked_on: org.revoked_on,
                    suspended: org.suspended,
                };
                access::approval_allowed(
                    Store::lock_enrolment(&mut tx, org_id, service).await?,
                    standing,
                )?;
                let months = u32::try_from(req.validity_months).ok().filter(|m| *m > 0);
                let until = deadline::validity_end(today, months, org.licence_expiry)?;
                Store::activate_enrolment(&mut tx, org_id, service, today, until).await?;
                let approved = ev::OrgApproved {
                    meta: None,
                    organisation_id: org_id.to_string(),
                    application_id: app.id.to_string(),
                    service: service.to_proto(),
                    valid_from: convert::date(today),
                    valid_until: convert::date(until),
                    approved_by: caller.account_id.to_string(),
                };
                self.outbox.stage(&mut tx, approved).await?;
            }
        }
        tx.commit().await?;
        let (app, _) = self.application_for(&caller, &app_id.to_string()).await?;
        Ok(Response::new(convert::application(&app)))
    }

    async fn do_sweep_unsubmitted(
        &self,
        request: Request<SweepUnsubmittedRequest>,
    ) -> Result<Response<SweepUnsubmittedResponse>, ServiceError> {
        let caller = self.caller(&request).await?;
        caller.require(&[Role::Ops, Role::Mhlw])?;
        let expired = self.sweep(self.today()).await?;
        Ok(Response::new(SweepUnsubmittedResponse {
            expired: i32::try_from(expired).unwrap_or(i32::MAX),
        }))
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
        self.store
            .record_bureau_email_sent(id, self.today())
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
        let (size, offset) = convert::page(request.get_ref().page.as_ref())?;
        let mut rows = self
            .store
            .overdue_bureau_emails(self.today(), bureau.as_deref(), size + 1, offset)
            .await?;
        let next_page_token = convert::next_token(offset, size, &mut rows);
        Ok(Response::new(ListOverdueBureauEmailsResponse {
            organisations: rows
                .iter()
                .map(|o| convert::organisation(o, None))
                .collect(),
            next_page_token,
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
        let rows = self.store.enrolments(id).await?;
        Ok(Response::new(ListEnrolmentsResponse {
            enrolments: rows.iter().map(convert::enrolment).collect(),
        }))
    }

    async fn do_list_public_organisations(
        &self,
        request: Request<ListPublicOrganisationsRequest>,
    ) -> Result<Response<ListPublicOrganisationsResponse>, ServiceError> {
        let req = request.into_inner();
        let (size, offset) = convert::page(req.page.as_ref())?;
        let prefecture = (!req.prefecture_code.is_empty()).then_some(req.prefecture_code);
        let mut rows = self
            .store
            .public_organisations(prefecture.as_deref(), size + 1, offset)
            .await?;
        let next_page_token = convert::next_token(offset, size, &mut rows);
        let organisations: Vec<PublicOrganisation> =
            rows.into_iter().map(convert::public).collect();
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
        let mut rows = self.store.revoked_organisations(size + 1, offset).await?;
        let next_page_token = convert::next_token(offset, size, &mut rows);
        let organisations: Vec<RevokedOrganisation> = rows
            .into_iter()
            .map(|(name, licence_number, revoked_on)| RevokedOrganisation {
                name,
                licence_number,
                revoked_on: convert::opt_date(revoked_on),
            })
            .collect();
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
    sign_up => do_sign_up(SignUpRequest) -> SignUpResponse;
    confirm_sign_up => do_confirm_sign_up(ConfirmSignUpRequest) -> Account;
    create_account => do_create_account(CreateAccountRequest) -> Account;
    login => do_login(LoginRequest) -> Session;
    logout => do_logout(LogoutRequest) -> LogoutResponse;
    authenticate => do_authenticate(AuthenticateRequest) -> hwx_proto::registration::v1::Caller;
    report_compromise => do_report_compromise(ReportCompromiseRequest) -> Account;
    change_password => do_change_password(ChangePasswordRequest) -> Account;
    request_password_reset => do_request_password_reset(RequestPasswordResetRequest) -> RequestPasswordResetResponse;
    reset_password => do_reset_password(ResetPasswordRequest) -> Account;
    unlock_account => do_unlock_account(UnlockAccountRequest) -> Account;
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

impl Registration {
    /// An application the caller may see, with its organisation's prefecture: its own
    /// organisation's, or, for a bureau, one under its jurisdiction.
    async fn application_for(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<(ApplicationRow, String), ServiceError> {
        caller.require(&[Role::Org, Role::Bureau, Role::Mhlw, Role::Ops])?;
        let id = uuid(id, "id")?;
        let hidden = || ServiceError::not_found(format!("no application {id}"));
        let (app, prefecture) = self.store.application(id).await?.ok_or_else(hidden)?;
        // Another organisation's application, or one outside the officer's bureau, is answered
        // as one that does not exist: an ID tells nobody whether it is in use.
        if caller.own_organisation(app.organisation_id).is_err()
            || (caller.role == Role::Bureau && self.jurisdiction(caller, &prefecture).is_err())
        {
            return Err(hidden());
        }
        Ok((app, prefecture))
    }

    /// Move an application through AP4 under a row lock; the rules crate decides.
    async fn transition(
        &self,
        tx: &mut sqlx::PgConnection,
        caller: &Caller,
        id: Uuid,
        action: ApplicationAction,
    ) -> Result<ApplicationRow, ServiceError> {
        let (app, prefecture) = Store::lock_application(tx, id)
            .await?
            .ok_or_else(|| ServiceError::not_found(format!("no application {id}")))?;
        self.jurisdiction(caller, &prefecture)?;
        let next = application::transition(app.status, app.registered_on, action)?;
        let submitted = match action {
            ApplicationAction::Submit { on } => Some(on),
            _ => None,
        };
        Ok(Store::set_application_status(tx, id, next, submitted).await?)
    }

    /// D8: enrolments past their last valid day become `expired`, each with an `enrolment.ended`
    /// event (S-SEEKER data is then deleted under SK6e by its owner). Returns how many.
    pub async fn expire_enrolments(&self, today: NaiveDate) -> Result<u64, ServiceError> {
        let mut tx = self.store.begin().await?;
        let expired = Store::expire_enrolments(&mut tx, today).await?;
        for (org, service) in &expired {
            events::enrolment_ended(
                &self.outbox,
                &mut tx,
                *org,
                *service,
                EnrolmentStatus::Expired,
                RuleId::D8,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(expired.len() as u64)
    }

    /// AP3: delete registrations not submitted by the end of their 14th day. Returns how many.
    pub async fn sweep(&self, today: NaiveDate) -> Result<u64, ServiceError> {
        let mut due = Vec::new();
        for (id, registered) in self.store.unsubmitted().await? {
            if application::transition(
                RuleStatus::Registered,
                registered,
                ApplicationAction::Sweep { on: today },
            )? == RuleStatus::Expired
            {
                due.push(id);
            }
        }
        Ok(self.store.delete_unsubmitted(&due).await?)
    }
}
