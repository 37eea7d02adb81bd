//! Leader election for singleton work (sweeps, the outbox relay): one trait, two backends.
//!
//! - [`crate::db::Leadership`]: a Postgres advisory lock on a dedicated session (one machine, or
//!   any deployment without Kubernetes).
//! - [`LeaseLock`]: a `coordination.k8s.io/v1` Lease, what Kubernetes-native controllers use; the
//!   chart grants the RBAC for it. Chosen by [`Election::new`] when running in a cluster.

use std::future::Future;

use chrono::{DateTime, Duration, Utc};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::Api;
use kube::api::PostParams;

use crate::clock::SharedClock;
use crate::db::{Database, Leadership};

/// Whoever holds the lead runs the singleton work; everyone asks again on their next round.
pub trait Elector: Send {
    /// Whether this process leads now (taking the lead when it is free or expired).
    fn acquire(&mut self) -> impl Future<Output = bool> + Send;
}

/// A Kubernetes Lease held by this pod, renewed on every `acquire`.
#[derive(Clone)]
pub struct LeaseLock {
    api: Api<Lease>,
    name: String,
    identity: String,
    duration: Duration,
    clock: SharedClock,
}

impl std::fmt::Debug for LeaseLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaseLock")
            .field("name", &self.name)
            .field("identity", &self.identity)
            .finish()
    }
}

fn micro(t: DateTime<Utc>) -> Option<MicroTime> {
    k8s_openapi::jiff::Timestamp::from_microsecond(t.timestamp_micros())
        .ok()
        .map(MicroTime)
}

fn from_micro(t: &MicroTime) -> Option<DateTime<Utc>> {
    DateTime::<Utc>::from_timestamp_micros(t.0.as_microsecond())
}

impl LeaseLock {
    /// A lease `name` in the client's namespace, held as `identity` (the pod name) for `duration`.
    pub fn new(
        client: kube::Client,
        name: impl Into<String>,
        identity: impl Into<String>,
        duration: Duration,
        clock: SharedClock,
    ) -> Self {
        LeaseLock {
            api: Api::default_namespaced(client),
            name: name.into(),
            identity: identity.into(),
            duration,
            clock,
        }
    }

    fn spec(&self, now: DateTime<Utc>, acquired: Option<MicroTime>, transitions: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(self.identity.clone()),
            lease_duration_seconds: i32::try_from(self.duration.num_seconds()).ok(),
            acquire_time: acquired.or_else(|| micro(now)),
            renew_time: micro(now),
            lease_transitions: Some(transitions),
            ..Default::default()
        }
    }

    async fn try_lead(&self) -> Result<bool, kube::Error> {
        let now = self.clock.now();
        let Some(mut lease) = self.api.get_opt(&self.name).await? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.name.clone()),
                    ..Default::default()
                },
                spec: Some(self.spec(now, None, 0)),
            };
            // Two pods creating at once: the API server lets one win (409 for the other).
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(e)) if e.code == 409 => Ok(false),
                Err(e) => Err(e),
            };
        };
        let spec = lease.spec.clone().unwrap_or_default();
        let ours = spec.holder_identity.as_deref() == Some(self.identity.as_str());
        let expired = spec
            .renew_time
            .as_ref()
            .and_then(from_micro)
            .is_none_or(|renewed| {
                let ttl = Duration::seconds(i64::from(spec.lease_duration_seconds.unwrap_or(0)));
                renewed + ttl < now
            });
        if !ours && !expired {
            return Ok(false);
        }
        let transitions = spec.lease_transitions.unwrap_or(0) + i32::from(!ours);
        let acquired = if ours {
            spec.acquire_time.clone()
        } else {
            None
        };
        lease.spec = Some(self.spec(now, acquired, transitions));
        // `replace` carries the resourceVersion we read: if another pod renewed or took the lease
        // meanwhile, the API server refuses (409) and we do not lead.
        match self
            .api
            .replace(&self.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(e)) if e.code == 409 => Ok(false),
            Err(e) => Err(e),
        }
    }
}

impl Elector for LeaseLock {
    async fn acquire(&mut self) -> bool {
        match self.try_lead().await {
            Ok(lead) => lead,
            Err(e) => {
                tracing::warn!(lease = %self.name, error = %e, "lease: cannot reach the API server; not leading");
                false
            }
        }
    }
}

/// The backend for this deployment: a Lease inside Kubernetes, an advisory lock elsewhere.
#[derive(Debug)]
pub enum Election {
    Postgres { lock: Leadership, db: Database },
    Lease(Box<LeaseLock>),
}

impl Election {
    /// `name` identifies the singleton work (`registration-ap3`). Inside a cluster
    /// (`KUBERNETES_SERVICE_HOST` set) it uses a Lease named `hwx-<name>`, held as the pod's
    /// hostname; otherwise the Postgres advisory lock.
    pub async fn new(name: &str, db: &Database, clock: SharedClock) -> Self {
        if std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() {
            match kube::Client::try_default().await {
                Ok(client) => {
                    let identity = std::env::var("HOSTNAME")
                        .unwrap_or_else(|_| uuid::Uuid::new_v4().to_string());
                    return Election::Lease(Box::new(LeaseLock::new(
                        client,
                        format!("hwx-{name}"),
                        identity,
                        Duration::seconds(60),
                        clock,
                    )));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "no Kubernetes client; leader election falls back to Postgres")
                }
            }
        }
        Election::Postgres {
            lock: Leadership::new(format!("hwx-{name}")),
            db: db.clone(),
        }
    }
}

impl Elector for Election {
    async fn acquire(&mut self) -> bool {
        match self {
            Election::Postgres { lock, db } => lock.acquire(db).await,
            Election::Lease(l) => Elector::acquire(l.as_mut()).await,
        }
    }
}
