//! X1 and X2 across gateway replicas.
//!
//! - **Switches** (the emergency maintenance window and the rate limit ops set at run time) live in
//!   a NATS key-value bucket. Every replica watches it: a switch set through one replica is answered
//!   by all of them within milliseconds, and a replica that starts later reads the current values.
//! - **Rate-limit cells** (GCRA, one per organisation) stay in each replica's memory, so a request
//!   costs no network round trip. Every 50 ms each replica publishes how many requests it admitted
//!   per organisation, and every other replica charges them to its own cells, as if those requests
//!   had arrived there. An organisation spread over any number of replicas therefore gets its
//!   configured limit in total (plus what the replicas admit in one exchange interval), not the
//!   limit times the number of replicas. The exchange is O(organisations active in the interval),
//!   never O(requests).
//!
//! When NATS is unreachable each replica keeps limiting on its own and keeps the last switches it
//! saw; it catches up when NATS is back.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use async_nats::jetstream::kv;
use chrono::{DateTime, FixedOffset};
use futures::StreamExt;
use hwx_platform::clock::SharedClock;
use hwx_platform::events::Events;
use hwx_rules::maintenance::MaintenancePolicy;
use hwx_rules::ratelimit::{RateDecision, RateLimit};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

/// How often admissions are exchanged between replicas.
pub const EXCHANGE_EVERY: Duration = Duration::from_millis(50);

/// The bucket's keys.
const EMERGENCY: &str = "emergency";
const RATE_LIMIT: &str = "rate-limit";

/// The emergency window as stored: from, until (RFC 3339); none when there is none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Window {
    from: Option<String>,
    until: Option<String>,
}

/// The limit as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Limit {
    requests_per_second: u32,
    burst: u32,
}

/// Admissions of one replica in one interval.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Admitted {
    replica: String,
    counts: Vec<(String, u32)>,
}

/// X1 and X2 state of this replica; a clone shares it (every request clones the gateway's state).
#[derive(Clone)]
pub struct Limits(Arc<Shared>);

/// What the clones of [`Limits`] share.
#[allow(missing_debug_implementations)] // `Limits` prints what is worth printing
pub struct Shared {
    clock: SharedClock,
    /// The policy, and the bucket revision it comes from (0: the configuration's). A value only
    /// replaces one of an older revision: this replica's own write and the watch may arrive in
    /// either order.
    maintenance: RwLock<(MaintenancePolicy, u64)>,
    limit: RwLock<(RateLimit, u64)>,
    /// The limit of this replica's configuration, in force while ops set none.
    configured: Limit,
    /// Theoretical arrival time per caller (GCRA state).
    tats: Mutex<HashMap<String, DateTime<FixedOffset>>>,
    /// Admitted here since the last exchange, per caller.
    admitted: Mutex<HashMap<String, u32>>,
    replica: String,
    kv: kv::Store,
    events: Events,
}

impl std::ops::Deref for Limits {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl std::fmt::Debug for Limits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limits")
            .field("replica", &self.replica)
            .finish()
    }
}

/// Resolves once the stop signal is set (the guard `wait_for` lends is dropped at once).
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|s| *s).await;
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn per_second(requests: u32, burst: u32) -> RateLimit {
    RateLimit {
        requests: requests.max(1),
        per: chrono::Duration::seconds(1),
        burst: burst.max(1),
    }
}

impl Limits {
    /// Open the shared bucket (made on first use) and start from the configured defaults.
    pub async fn open(
        events: Events,
        clock: SharedClock,
        maintenance: MaintenancePolicy,
        requests_per_second: u32,
        burst: u32,
    ) -> Result<Self, String> {
        let kv = events
            .kv("gateway")
            .await
            .map_err(|e| format!("the shared X1/X2 switches: {e}"))?;
        let limits = Limits(Arc::new(Shared {
            clock,
            maintenance: RwLock::new((maintenance, 0)),
            limit: RwLock::new((per_second(requests_per_second, burst), 0)),
            configured: Limit {
                requests_per_second,
                burst,
            },
            tats: Mutex::default(),
            admitted: Mutex::default(),
            replica: uuid::Uuid::new_v4().to_string(),
            kv,
            events,
        }));
        // The switches in force now, before the first request: a replica that starts during an
        // emergency window starts closed.
        for key in [EMERGENCY, RATE_LIMIT] {
            let entry = limits
                .kv
                .entry(key)
                .await
                .map_err(|e| format!("the shared X1/X2 switches: {e}"))?;
            if let Some(entry) = entry {
                limits.apply(&entry);
            }
        }
        Ok(limits)
    }

    /// X1: when the service reopens, if `now` is in a maintenance window.
    pub fn reopens(&self, now: &DateTime<FixedOffset>) -> Option<DateTime<FixedOffset>> {
        self.maintenance
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .0
            .status(now)
            .reopens
    }

    /// X2: admit one request of `key` now, or say when to retry.
    pub fn admit(&self, key: String, now: DateTime<FixedOffset>) -> RateDecision {
        let limit = self.rate();
        let decision = {
            let mut tats = lock(&self.tats);
            let d = limit.check(tats.get(&key).copied(), now);
            if d.allowed {
                // A cell whose arrival time has passed is the same as no cell: drop those now and
                // then, so the map holds only callers active within the last burst.
                if tats.len() > 10_000 {
                    tats.retain(|_, tat| *tat > now);
                }
                tats.insert(key.clone(), d.next_tat);
            }
            d
        };
        if decision.allowed {
            *lock(&self.admitted).entry(key).or_default() += 1;
        }
        decision
    }

    /// Charge `n` requests admitted by another replica to `key`'s cell.
    fn charge(&self, key: String, n: u32, now: DateTime<FixedOffset>) {
        let limit = self.rate();
        let mut tats = lock(&self.tats);
        let tat = limit.charge(tats.get(&key).copied(), now, n);
        tats.insert(key, tat);
    }

    /// X1: declare an emergency window from now until `until` (none ends it), on every replica.
    pub async fn set_emergency(&self, until: Option<DateTime<FixedOffset>>) -> Result<(), String> {
        let now = self.clock.now_jst();
        let window = match until.filter(|u| *u > now) {
            Some(u) => Window {
                from: Some(now.to_rfc3339()),
                until: Some(u.to_rfc3339()),
            },
            None => Window::default(),
        };
        // Shared first: a switch that could not be shared changes no replica, this one included.
        let revision = self.put(EMERGENCY, &window).await?;
        self.apply_emergency(&window, revision);
        Ok(())
    }

    fn rate(&self) -> RateLimit {
        self.limit
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .0
    }

    /// X2: a new limit for every organisation, on every replica, until [`Self::reset_rate`].
    pub async fn set_rate(&self, requests_per_second: u32, burst: u32) -> Result<(), String> {
        let limit = Some(Limit {
            requests_per_second,
            burst,
        });
        let revision = self.put(RATE_LIMIT, &limit).await?;
        self.apply_rate(limit, revision);
        Ok(())
    }

    /// X2: every replica back to the limit of its own configuration (stored as `null`).
    pub async fn reset_rate(&self) -> Result<(), String> {
        let revision = self.put(RATE_LIMIT, &None::<Limit>).await?;
        self.apply_rate(None, revision);
        Ok(())
    }

    /// Store `value` under `key`; returns its revision.
    async fn put(&self, key: &str, value: &impl Serialize) -> Result<u64, String> {
        let bytes = serde_json::to_vec(value).map_err(|e| e.to_string())?;
        self.kv
            .put(key, bytes.into())
            .await
            .map_err(|e| format!("the other gateway replicas cannot be told: {e}"))
    }

    fn apply_emergency(&self, w: &Window, revision: u64) {
        let parse = |s: &Option<String>| {
            s.as_deref()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        };
        let mut policy = self
            .maintenance
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if revision <= policy.1 {
            return;
        }
        policy.1 = revision;
        policy.0.emergency.clear();
        if let (Some(from), Some(until)) = (parse(&w.from), parse(&w.until)) {
            policy.0.emergency.push((from, until));
        }
    }

    /// `None`: the limit of this replica's configuration.
    fn apply_rate(&self, l: Option<Limit>, revision: u64) {
        let l = l.unwrap_or(self.configured);
        let new = per_second(l.requests_per_second, l.burst);
        let mut limit = self
            .limit
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if revision <= limit.1 {
            return;
        }
        limit.1 = revision;
        if limit.0 != new {
            limit.0 = new;
            // The stored arrival times were computed for the old limit: start everyone afresh.
            lock(&self.tats).clear();
        }
    }

    fn apply(&self, entry: &kv::Entry) {
        let deleted = !matches!(entry.operation, kv::Operation::Put);
        let revision = entry.revision;
        match entry.key.as_str() {
            EMERGENCY if deleted => self.apply_emergency(&Window::default(), revision),
            EMERGENCY => match serde_json::from_slice::<Window>(&entry.value) {
                Ok(w) => self.apply_emergency(&w, revision),
                Err(e) => tracing::warn!(error = %e, "X1: unreadable emergency window ignored"),
            },
            RATE_LIMIT if deleted => self.apply_rate(None, revision),
            RATE_LIMIT => match serde_json::from_slice::<Option<Limit>>(&entry.value) {
                Ok(l) => self.apply_rate(l, revision),
                Err(e) => tracing::warn!(error = %e, "X2: unreadable rate limit ignored"),
            },
            _ => {}
        }
    }

    /// Follow the bucket until `shutdown`: the current values first, then every change.
    pub async fn watch(self, mut shutdown: watch::Receiver<bool>) {
        let mut backoff = Duration::from_millis(100);
        loop {
            match self.kv.watch_with_history(">").await {
                Ok(mut entries) => loop {
                    tokio::select! {
                        e = entries.next() => match e {
                            Some(Ok(entry)) => {
                                backoff = Duration::from_millis(100);
                                self.apply(&entry);
                            }
                            Some(Err(e)) => {
                                tracing::warn!(error = %e, "X1/X2 switches: watch failed; again");
                                break;
                            }
                            None => break,
                        },
                        _ = stopped(&mut shutdown) => return,
                    }
                },
                Err(e) => tracing::warn!(error = %e, "X1/X2 switches: cannot watch; retrying"),
            }
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = stopped(&mut shutdown) => return,
            }
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    }

    /// Exchange admissions with the other replicas until `shutdown`.
    pub async fn exchange(self, mut shutdown: watch::Receiver<bool>) {
        let client = self.events.client();
        let subject = self.events.live_subject("gateway.admitted");
        let mut tick = tokio::time::interval(EXCHANGE_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let mut incoming = match client.subscribe(subject.clone()).await {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "X2: cannot hear the other replicas; limiting alone");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                        _ = stopped(&mut shutdown) => return,
                    }
                }
            };
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        let counts: Vec<(String, u32)> = lock(&self.admitted).drain().collect();
                        if counts.is_empty() {
                            continue;
                        }
                        let msg = Admitted { replica: self.replica.clone(), counts };
                        let Ok(bytes) = serde_json::to_vec(&msg) else { continue };
                        // Bounded: a client reconnecting to NATS takes no messages, and this
                        // task must still see the stop signal.
                        let sent = tokio::time::timeout(
                            EXCHANGE_EVERY * 10,
                            client.publish(subject.clone(), bytes.into()),
                        );
                        match sent.await {
                            Ok(Ok(())) => {}
                            Ok(Err(e)) => tracing::warn!(error = %e, "X2: cannot tell the other replicas"),
                            Err(_) => tracing::warn!("X2: NATS takes no messages; limiting alone"),
                        }
                    }
                    m = incoming.next() => {
                        let Some(m) = m else { break };
                        match serde_json::from_slice::<Admitted>(&m.payload) {
                            Ok(a) if a.replica != self.replica => {
                                let now = self.clock.now_jst();
                                for (key, n) in a.counts {
                                    self.charge(key, n, now);
                                }
                            }
                            Ok(_) => {}
                            Err(e) => tracing::warn!(error = %e, "X2: unreadable admissions ignored"),
                        }
                    }
                    _ = stopped(&mut shutdown) => return,
                }
            }
        }
    }
}
