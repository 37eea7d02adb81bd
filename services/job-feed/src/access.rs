//! Who may use the feed (J2, SN1, SN2) and the record of what they read.
//!
//! Callers are authenticated by registration (their bearer token, remembered for a short while).
//! Whether an organisation may read is decided here, from this service's own copy of its S-JOB
//! enrolment, kept current by registration's events: an `enrolment.ended` cuts access as soon as it
//! is applied, and a NOTIFY ends the organisation's live streams on every replica.

use std::time::Duration;

use chrono::NaiveDate;
use hwx_platform::auth::{Authenticator, Caller, Role};
use hwx_platform::clock::SharedClock;
use hwx_platform::db::Database;
use hwx_platform::grpc::{self, ErrorKind, ServiceError};
use hwx_proto::registration::v1::GetOrganisationRequest;
use hwx_proto::registration::v1::registration_service_client::RegistrationServiceClient;
use hwx_rules::access::{EnrolmentStatus, service_access};
use hwx_rules::eligibility::Service;
use tokio::sync::{broadcast, watch};
use uuid::Uuid;

use crate::store::{self, Read};

/// Authentication and authorisation of feed calls, and the access log.
#[derive(Debug, Clone)]
pub struct Access {
    db: Database,
    clock: SharedClock,
    auth: Authenticator,
    /// Registration, which knows under which bureau each organisation is.
    registration: RegistrationServiceClient<grpc::Client>,
    /// Organisations whose enrolment just changed (from NOTIFY, on every replica).
    pub changed: broadcast::Sender<Uuid>,
    /// Bumped whenever the feed moves.
    pub feed: watch::Receiver<u64>,
}

impl Access {
    pub fn new(
        db: Database,
        clock: SharedClock,
        auth: Authenticator,
        registration: RegistrationServiceClient<grpc::Client>,
        feed: watch::Receiver<u64>,
        changed: broadcast::Sender<Uuid>,
    ) -> Self {
        Access {
            db,
            clock,
            auth,
            registration,
            changed,
            feed,
        }
    }

    /// Who calls, from the bearer token.
    pub async fn caller<T>(&self, request: &tonic::Request<T>) -> Result<Caller, ServiceError> {
        self.auth.caller(request).await
    }

    /// A bureau officer sees only what concerns organisations under their own bureau. Registration
    /// knows where each organisation is and decides, asked with the officer's own token; an
    /// organisation elsewhere and one that does not exist get the same refusal.
    pub async fn in_jurisdiction<T>(
        &self,
        request: &tonic::Request<T>,
        org: Uuid,
    ) -> Result<(), ServiceError> {
        let mut ask = tonic::Request::new(GetOrganisationRequest {
            id: org.to_string(),
        });
        if let Some(token) = request.metadata().get("authorization") {
            ask.metadata_mut().insert("authorization", token.clone());
        }
        match self.registration.clone().get_organisation(ask).await {
            Ok(_) => Ok(()),
            Err(s)
                if matches!(
                    s.code(),
                    tonic::Code::PermissionDenied | tonic::Code::NotFound
                ) =>
            {
                Err(ServiceError::forbidden(
                    "a labour-bureau officer reads the access logs of the organisations under their own bureau only",
                ))
            }
            // A session that ended since this service last saw it.
            Err(s) if s.code() == tonic::Code::Unauthenticated => {
                Err(ServiceError::unauthenticated(s.message().to_owned()))
            }
            Err(s) => {
                tracing::warn!(error = %s, "registration could not say where an organisation is");
                Err(ServiceError::new(
                    ErrorKind::Unavailable,
                    "registration cannot say where the organisation is now; try again",
                ))
            }
        }
    }

    /// Only Hello Work's systems feed postings in.
    pub async fn upstream<T>(&self, request: &tonic::Request<T>) -> Result<Caller, ServiceError> {
        let c = self.caller(request).await?;
        if c.role != Role::Upstream {
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
            (Role::Org, Some(org)) => org,
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
        store::log_read(
            &self.db,
            &Read {
                organisation_id: org,
                account_id: caller.account_id,
                action: action.to_owned(),
                detail: detail.to_owned(),
                records,
                at: self.clock.now(),
                // The log numbers it.
                id: 0,
            },
        )
        .await
    }

    pub async fn log_count(&self, id: i64, records: i64) -> Result<(), sqlx::Error> {
        store::log_count(&self.db, id, records).await
    }
}

/// The organisation's S-JOB enrolment today, as this service knows it.
pub async fn enrolment(
    db: &Database,
    org: Uuid,
    today: NaiveDate,
) -> Result<Option<EnrolmentStatus>, sqlx::Error> {
    let Some(e) = store::enrolment(db, org).await? else {
        return Ok(None);
    };
    Ok(match e.status {
        // D8: past its validity an enrolment has ended, whether or not the event has arrived.
        EnrolmentStatus::Active if e.valid_until.is_some_and(|u| today > u) => {
            Some(EnrolmentStatus::Expired)
        }
        EnrolmentStatus::Active if e.valid_from.is_some_and(|f| today < f) => None,
        status => Some(status),
    })
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
