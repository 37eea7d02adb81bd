//! Who may use the feed (J2, SN1, SN2) and the record of what they read.
//!
//! Callers are authenticated by registration (their bearer token, remembered for a short while).
//! Whether an organisation may read is decided here, from this service's own copy of its S-JOB
//! enrolment, kept current by registration's events: an `enrolment.ended` cuts access as soon as it
//! is applied, and a NOTIFY ends the organisation's live streams on every replica.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use hwx_platform::clock::SharedClock;
use hwx_platform::db::Database;
use hwx_platform::events::{Delivered, Handler, HandlerError};
use hwx_platform::grpc::ServiceError;
use hwx_proto::common::v1 as common;
use hwx_proto::events::v1 as ev;
use hwx_proto::registration::v1::AuthenticateRequest;
use hwx_proto::registration::v1::registration_service_client::RegistrationServiceClient;
use hwx_rules::access::{EnrolmentStatus, service_access};
use hwx_rules::eligibility::Service;
use prost::Message;
use sqlx::{PgConnection, Row};
use tokio::sync::{broadcast, watch};
use tonic::transport::Channel;
use uuid::Uuid;

/// How long an authenticated token is remembered: a logout or a compromise report (A1) reaches
/// feed reads within this. Enrolment changes are not cached: they apply at once.
const TOKEN_CACHE: Duration = Duration::from_secs(5);

/// The registration subjects this service follows.
pub const ORG_APPROVED: &str = "hwx.registration.org.approved";
pub const ENROLMENT_ENDED: &str = "hwx.registration.enrolment.ended";

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub account_id: Uuid,
    pub role: common::Role,
    pub organisation_id: Option<Uuid>,
}

/// Authentication and authorisation of feed calls.
#[derive(Debug, Clone)]
pub struct Access {
    db: Database,
    clock: SharedClock,
    registration: RegistrationServiceClient<Channel>,
    tokens: Arc<Mutex<HashMap<String, (Caller, Instant)>>>,
    /// Organisations whose enrolment just changed (from NOTIFY, on every replica).
    pub changed: broadcast::Sender<Uuid>,
    /// Bumped whenever the feed moves.
    pub feed: watch::Receiver<u64>,
}

impl Access {
    pub fn new(
        db: Database,
        clock: SharedClock,
        registration_url: &str,
        feed: watch::Receiver<u64>,
        changed: broadcast::Sender<Uuid>,
    ) -> Result<Self, String> {
        let channel = Channel::from_shared(registration_url.to_owned())
            .map_err(|e| format!("registration_url {registration_url:?}: {e}"))?
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            .connect_lazy();
        Ok(Access {
            db,
            clock,
            registration: RegistrationServiceClient::new(channel),
            tokens: Arc::default(),
            changed,
            feed,
        })
    }

    /// Who calls, from the bearer token.
    pub async fn caller<T>(&self, request: &tonic::Request<T>) -> Result<Caller, ServiceError> {
        let token = hwx_platform::grpc::bearer(request).ok_or_else(|| {
            ServiceError::unauthenticated("log in first: send authorization: Bearer <token>")
        })?;
        if let Some((c, at)) = self
            .tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&token)
            && at.elapsed() < TOKEN_CACHE
        {
            return Ok(c.clone());
        }
        let mut req = tonic::Request::new(AuthenticateRequest {
            token: token.clone(),
        });
        hwx_platform::grpc::inject_trace(&mut req);
        let c = self
            .registration
            .clone()
            .authenticate(req)
            .await
            .map_err(|s| match s.code() {
                tonic::Code::Unauthenticated | tonic::Code::PermissionDenied => {
                    ServiceError::unauthenticated(s.message().to_owned())
                }
                _ => ServiceError::new(
                    hwx_platform::grpc::ErrorKind::Unavailable,
                    format!("registration cannot say who you are now: {}", s.message()),
                ),
            })?
            .into_inner();
        let caller = Caller {
            account_id: Uuid::parse_str(&c.account_id)
                .map_err(|_| ServiceError::internal("registration sent a malformed account id"))?,
            role: common::Role::try_from(c.role).unwrap_or(common::Role::Unspecified),
            organisation_id: Uuid::parse_str(&c.organisation_id).ok(),
        };
        let mut tokens = self
            .tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if tokens.len() > 50_000 {
            tokens.retain(|_, (_, at)| at.elapsed() < TOKEN_CACHE);
        }
        tokens.insert(token, (caller.clone(), Instant::now()));
        Ok(caller)
    }

    /// Only Hello Work's systems feed postings in.
    pub async fn upstream<T>(&self, request: &tonic::Request<T>) -> Result<Caller, ServiceError> {
        let c = self.caller(request).await?;
        if c.role != common::Role::Upstream {
            return Err(ServiceError::forbidden(
                "only Hello Work's systems (role upstream) ingest postings",
            ));
        }
        Ok(c)
    }

    /// An organisation with an active S-JOB enrolment (J2), or a refusal naming the rule.
    pub async fn reader<T>(
        &self,
        request: &tonic::Request<T>,
    ) -> Result<(Caller, Uuid), ServiceError> {
        let c = self.caller(request).await?;
        let org = match (c.role, c.organisation_id) {
            (common::Role::Org, Some(org)) => org,
            _ => {
                return Err(ServiceError::forbidden(
                    "J2: the feed is served only to organisations with an active S-JOB enrolment",
                )
                .with_rule(hwx_rules::RuleId::J2));
            }
        };
        self.may_read(org).await?;
        Ok((c, org))
    }

    /// J2 / SN1 / SN2 for one organisation, now.
    pub async fn may_read(&self, org: Uuid) -> Result<(), ServiceError> {
        let status = enrolment(&self.db, org, self.clock.now_jst().date_naive()).await?;
        service_access(Service::Job, status)
            .map_err(|e| ServiceError::forbidden(e.to_string()).with_rule(e.rule()))
    }

    /// Record a read; returns the entry's id so a long read can record its count at the end.
    pub async fn log(
        &self,
        caller: &Caller,
        org: Uuid,
        action: &str,
        detail: &str,
        records: i64,
    ) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar(
            "INSERT INTO access_log (organisation_id, account_id, action, detail, records, at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(org)
        .bind(caller.account_id)
        .bind(action)
        .bind(detail)
        .bind(records)
        .bind(self.clock.now())
        .fetch_one(self.db.pool())
        .await
    }

    pub async fn log_count(&self, id: i64, records: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE access_log SET records = $2 WHERE id = $1")
            .bind(id)
            .bind(records)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }
}

/// The organisation's S-JOB enrolment today, as this service knows it.
pub async fn enrolment(
    db: &Database,
    org: Uuid,
    today: NaiveDate,
) -> Result<Option<EnrolmentStatus>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT status, valid_from, valid_until FROM enrolments WHERE organisation_id = $1",
    )
    .bind(org)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let status: String = row.try_get(0)?;
    let from: Option<NaiveDate> = row.try_get(1)?;
    let until: Option<NaiveDate> = row.try_get(2)?;
    Ok(Some(match status.as_str() {
        // D8: past its validity an enrolment has ended, whether or not the event has arrived.
        "active" if until.is_some_and(|u| today > u) => EnrolmentStatus::Expired,
        "active" if from.is_some_and(|f| today < f) => return Ok(None),
        "active" => EnrolmentStatus::Active,
        "suspended" => EnrolmentStatus::Suspended,
        "revoked" => EnrolmentStatus::Revoked,
        "withdrawn" => EnrolmentStatus::Withdrawn,
        _ => EnrolmentStatus::Expired,
    }))
}

fn occurred(meta: &Option<ev::EventMeta>) -> DateTime<Utc> {
    meta.as_ref()
        .and_then(|m| m.occurred_at.as_ref())
        .and_then(hwx_platform::grpc::instant)
        .unwrap_or_else(Utc::now)
}

fn date(d: &Option<common::Date>) -> Option<NaiveDate> {
    let d = d.as_ref()?;
    NaiveDate::from_ymd_opt(d.year, d.month as u32, d.day as u32)
}

/// Keeps `enrolments` current from registration's events.
#[derive(Debug, Clone, Copy)]
pub struct EnrolmentEvents;

async fn upsert(
    tx: &mut PgConnection,
    org: Uuid,
    status: &str,
    from: Option<NaiveDate>,
    until: Option<NaiveDate>,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    // An event older than what is stored (a redelivery after a newer one) changes nothing.
    sqlx::query(
        "INSERT INTO enrolments (organisation_id, status, valid_from, valid_until, changed_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (organisation_id) DO UPDATE SET
           status = EXCLUDED.status,
           valid_from = COALESCE(EXCLUDED.valid_from, enrolments.valid_from),
           valid_until = COALESCE(EXCLUDED.valid_until, enrolments.valid_until),
           changed_at = EXCLUDED.changed_at
         WHERE enrolments.changed_at <= EXCLUDED.changed_at",
    )
    .bind(org)
    .bind(status)
    .bind(from)
    .bind(until)
    .bind(at)
    .execute(&mut *tx)
    .await?;
    sqlx::query("SELECT pg_notify('hwx_access_' || current_schema(), $1)")
        .bind(org.to_string())
        .execute(&mut *tx)
        .await?;
    Ok(())
}

fn org_id(s: &str) -> Result<Uuid, HandlerError> {
    Uuid::parse_str(s).map_err(|_| HandlerError::Poison(format!("organisation_id {s:?}")))
}

impl Handler for EnrolmentEvents {
    async fn handle(&self, event: &Delivered, tx: &mut PgConnection) -> Result<(), HandlerError> {
        let job = common::ServiceCode::Job as i32;
        match event.subject.as_str() {
            ORG_APPROVED => {
                let e = ev::OrgApproved::decode(event.payload.clone())
                    .map_err(|e| HandlerError::Poison(e.to_string()))?;
                if e.service == job {
                    upsert(
                        tx,
                        org_id(&e.organisation_id)?,
                        "active",
                        date(&e.valid_from),
                        date(&e.valid_until),
                        occurred(&e.meta),
                    )
                    .await?;
                }
            }
            ENROLMENT_ENDED => {
                let e = ev::EnrolmentEnded::decode(event.payload.clone())
                    .map_err(|e| HandlerError::Poison(e.to_string()))?;
                if e.service == job {
                    let status = match common::EnrolmentStatus::try_from(e.status) {
                        Ok(common::EnrolmentStatus::Suspended) => "suspended",
                        Ok(common::EnrolmentStatus::Revoked) => "revoked",
                        Ok(common::EnrolmentStatus::Withdrawn) => "withdrawn",
                        Ok(common::EnrolmentStatus::Active) => "active",
                        _ => "expired",
                    };
                    upsert(
                        tx,
                        org_id(&e.organisation_id)?,
                        status,
                        None,
                        None,
                        occurred(&e.meta),
                    )
                    .await?;
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// Listen for feed and enrolment notifications of this schema and fan them out in the process.
/// Polling elsewhere covers a lost connection; a reconnect wakes everyone once.
pub async fn listen(
    db: Database,
    feed: watch::Sender<u64>,
    changed: broadcast::Sender<Uuid>,
    mut shutdown: watch::Receiver<bool>,
) {
    let feed_channel = format!("hwx_feed_{}", db.schema());
    let access_channel = format!("hwx_access_{}", db.schema());
    loop {
        let mut listener = match sqlx::postgres::PgListener::connect_with(db.pool()).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "feed listener: cannot connect; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    _ = shutdown.wait_for(|s| *s) => return,
                }
            }
        };
        if let Err(e) = listener
            .listen_all([feed_channel.as_str(), access_channel.as_str()])
            .await
        {
            tracing::warn!(error = %e, "feed listener: LISTEN failed; retrying");
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        feed.send_modify(|n| *n += 1);
        loop {
            let n = tokio::select! {
                n = listener.try_recv() => n,
                _ = shutdown.wait_for(|s| *s) => return,
            };
            match n {
                Ok(Some(n)) if n.channel() == feed_channel => feed.send_modify(|n| *n += 1),
                Ok(Some(n)) => {
                    if let Ok(org) = Uuid::parse_str(n.payload()) {
                        let _ = changed.send(org);
                    }
                }
                // The connection was lost: anything may have happened meanwhile.
                Ok(None) => feed.send_modify(|n| *n += 1),
                Err(e) => {
                    tracing::warn!(error = %e, "feed listener failed; reconnecting");
                    break;
                }
            }
        }
    }
}
