//! The seeded load a chaos run drives through the gateways, and the ledger of what the clients
//! saw: every write acknowledged, refused or left unknown (an outage answered or cut it), every
//! status, and every answer that broke the outage contract (a 5xx other than 502/503/504, a 503
//! without `Retry-After`, a request that hung past the timeouts).

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use hwx_job_feed::record::{PostingJson, PostingRecord};
use hwx_platform::http::{HttpClient, Response};
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::mail::Mailbox;

/// Longer than any timeout of the system (the gateway's 30 s to registration): a request still
/// unanswered after this hung.
pub const HANG: Duration = Duration::from_secs(45);

/// What became of one request.
#[derive(Debug, Clone)]
pub enum Outcome {
    Ok(Response),
    /// 4xx: the system said no.
    Refused(Response),
    /// 502/503/504, a connection refused or cut: the write may or may not have happened.
    Unknown,
}

/// One posting as the feed writer last sent it, in order: the states it may be in now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostingState {
    Live(String),
    Withdrawn,
}

#[derive(Debug, Clone)]
pub struct Sent {
    pub state: PostingState,
    pub acked: bool,
}

/// Everything the clients saw.
#[derive(Debug, Default)]
pub struct Ledger {
    pub requests: usize,
    pub statuses: BTreeMap<u16, usize>,
    pub unreachable: usize,
    pub violations: Vec<String>,
    /// Acknowledged writes, by kind.
    pub acked: BTreeMap<&'static str, usize>,
    pub orgs: Vec<String>,
    /// Emails of acknowledged sign-ups.
    pub accounts: Vec<String>,
    /// Application → the furthest status the client saw acknowledged.
    pub applications: HashMap<String, &'static str>,
    /// Emails signed up again after their account was made: exactly one account each.
    pub taken: Vec<String>,
    /// Sign-ups acknowledged whose token never arrived.
    pub lost_mail: usize,
    /// Posting number → what was sent, in order.
    pub postings: BTreeMap<String, Vec<Sent>>,
    /// Seeker ID → what was sent (the last-active day, or none for a withdrawn consent), in order.
    pub seekers: BTreeMap<String, Vec<SentSeeker>>,
}

/// One seeker line as Hello Work sent it.
#[derive(Debug, Clone)]
pub struct SentSeeker {
    /// The last-active day sent (each version has its own), or none: consent withdrawn.
    pub state: Option<String>,
    pub acked: bool,
}

pub type Shared = Arc<Mutex<Ledger>>;

fn lock(l: &Shared) -> std::sync::MutexGuard<'_, Ledger> {
    l.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A client of the gateways that records every answer in the ledger, and reads its mail.
#[derive(Clone)]
pub struct Client {
    http: HttpClient,
    gateways: Vec<SocketAddr>,
    ledger: Shared,
    mail: Arc<Mailbox>,
}

impl Client {
    pub fn new(gateways: Vec<SocketAddr>, ledger: Shared, mail: Arc<Mailbox>) -> Self {
        Client {
            http: HttpClient::new(),
            gateways,
            ledger,
            mail,
        }
    }

    pub async fn send(
        &self,
        via: usize,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Outcome {
        let addr = self.gateways[via % self.gateways.len()];
        let started = Instant::now();
        let r =
            tokio::time::timeout(HANG, self.http.request(addr, method, path, token, body)).await;
        self.record(method, path, started, r)
    }

    pub async fn send_raw(
        &self,
        via: usize,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Outcome {
        let addr = self.gateways[via % self.gateways.len()];
        let started = Instant::now();
        let r = tokio::time::timeout(
            HANG,
            self.http.request_raw(addr, method, path, headers, body),
        )
        .await;
        self.record(method, path, started, r)
    }

    fn record(
        &self,
        method: &str,
        path: &str,
        started: Instant,
        r: Result<std::io::Result<Response>, tokio::time::error::Elapsed>,
    ) -> Outcome {
        let mut l = lock(&self.ledger);
        l.requests += 1;
        let route = path.split('?').next().unwrap_or(path);
        match r {
            Err(_) => {
                l.violations.push(format!(
                    "{method} {route} hung: no answer after {:?}",
                    started.elapsed()
                ));
                Outcome::Unknown
            }
            Ok(Err(_)) => {
                l.unreachable += 1;
                Outcome::Unknown
            }
            Ok(Ok(res)) => {
                *l.statuses.entry(res.status).or_default() += 1;
                match res.status {
                    200..=299 => Outcome::Ok(res),
                    400..=499 => Outcome::Refused(res),
                    502 | 504 => Outcome::Unknown,
                    503 => {
                        if res.header("retry-after").is_none() {
                            l.violations
                                .push(format!("{method} {route}: 503 without Retry-After"));
                        }
                        Outcome::Unknown
                    }
                    s => {
                        l.violations.push(format!(
                            "{method} {route}: {s} {}",
                            String::from_utf8_lossy(&res.body)
                                .chars()
                                .take(200)
                                .collect::<String>()
                        ));
                        Outcome::Unknown
                    }
                }
            }
        }
    }

    pub fn ack(&self, kind: &'static str) {
        *lock(&self.ledger).acked.entry(kind).or_default() += 1;
    }
}

pub use hwx_testkit::Rng;

pub const PASSWORD: &str = "a chaos run password";
const DEMO_PASSWORD: &str = "hwx-demo-password";

/// Log in (retrying through outages) until it works or the run stops.
pub async fn login(
    c: &Client,
    email: &str,
    password: &str,
    stop: &watch::Receiver<bool>,
) -> Option<String> {
    let mut via = 0;
    loop {
        if *stop.borrow() {
            return None;
        }
        let body = json!({"email": email, "password": password});
        if let Outcome::Ok(r) = c.send(via, "POST", "/v1/sessions", None, Some(&body)).await {
            return r.json()["token"].as_str().map(str::to_owned);
        }
        via += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Confirm a sign-up, retrying through outages: true once the account is acknowledged. A retry
/// refused as used means an earlier try made the account but its answer was lost: not
/// acknowledged, so not counted.
async fn confirm(
    c: &Client,
    mut via: usize,
    email: &str,
    token: &str,
    stop: &watch::Receiver<bool>,
) -> bool {
    let body = json!({ "token": token });
    while !*stop.borrow() {
        match c
            .send(via, "POST", "/v1/accounts/confirmation", None, Some(&body))
            .await
        {
            Outcome::Ok(_) => {
                c.ack("accounts");
                lock(&c.ledger).accounts.push(email.to_owned());
                return true;
            }
            Outcome::Refused(_) => return false,
            Outcome::Unknown => {
                via += 1;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    false
}

/// Organisations signing up, registering, applying; the bureau submitting and deciding.
pub async fn organisations(c: Client, worker: u64, seed: u64, stop: watch::Receiver<bool>) {
    let mut rng = Rng::new(seed ^ (worker << 32));
    let Some(mut officer) = login(
        &c,
        "officer@tokyo-roudoukyoku.example.go.jp",
        DEMO_PASSWORD,
        &stop,
    )
    .await
    else {
        return;
    };
    let mut n = 0u64;
    while !*stop.borrow() {
        n += 1;
        let via = rng.below(2) as usize;
        let email = format!("chaos{worker}-{n}@chaos.example.jp");
        let signup = json!({"email": email, "password": PASSWORD, "role": "org"});
        match c
            .send(via, "POST", "/v1/accounts", None, Some(&signup))
            .await
        {
            Outcome::Ok(_) => c.ack("sign-ups"),
            _ => continue,
        }
        // The token arrives by mail (the registration log), through whatever is down.
        let Some(token) = c.mail.sign_up_token(&email, &stop).await else {
            if !*stop.borrow() {
                let mut l = lock(&c.ledger);
                l.lost_mail += 1;
                l.violations
                    .push(format!("no sign-up token reached {email} within 90 s"));
            }
            continue;
        };
        if !confirm(&c, via, &email, &token, &stop).await {
            continue;
        }
        // Now and then the same email again: answered alike, and still one account.
        if rng.below(4) == 0
            && let Outcome::Ok(_) = c
                .send(via + 1, "POST", "/v1/accounts", None, Some(&signup))
                .await
        {
            lock(&c.ledger).taken.push(email.clone());
        }
        let Some(token) = login(&c, &email, PASSWORD, &stop).await else {
            return;
        };
        let person =
            |name: &str| json!({"name": name, "contact": "03-1234-5678", "full_time": true});
        let org_body = json!({
            "name": format!("株式会社カオス{worker}-{n}"), "kind": "K1",
            "licence_number": format!("13-ユ-{}", 700_000 + worker * 100_000 + n),
            "licence_expiry": "2030-03-31", "address": "東京都千代田区丸の内1-1-1", "prefecture_code": "13",
            "contact_person": person("山田太郎"), "pi_manager": person("佐藤花子"),
        });
        let org = match c
            .send(
                via,
                "POST",
                "/v1/organisations",
                Some(&token),
                Some(&org_body),
            )
            .await
        {
            Outcome::Ok(r) => r.json()["id"].as_str().unwrap_or_default().to_owned(),
            _ => continue,
        };
        c.ack("organisations");
        lock(&c.ledger).orgs.push(org.clone());
        let app_body = json!({"organisation_id": org, "service": "job"});
        let app = match c
            .send(
                via,
                "POST",
                "/v1/applications",
                Some(&token),
                Some(&app_body),
            )
            .await
        {
            Outcome::Ok(r) => r.json()["id"].as_str().unwrap_or_default().to_owned(),
            _ => continue,
        };
        c.ack("applications");
        lock(&c.ledger)
            .applications
            .insert(app.clone(), "registered");
        for (step, body, status) in [
            ("submission", None, "submitted"),
            (
                "decision",
                Some(json!({"approve": true, "note": "確認済み"})),
                "approved",
            ),
        ] {
            let path = format!("/v1/applications/{app}/{step}");
            match c
                .send(via, "POST", &path, Some(&officer), body.as_ref())
                .await
            {
                Outcome::Ok(_) => {
                    c.ack("decisions");
                    lock(&c.ledger).applications.insert(app.clone(), status);
                }
                Outcome::Refused(r) if r.status == 401 => {
                    if let Some(t) = login(
                        &c,
                        "officer@tokyo-roudoukyoku.example.go.jp",
                        DEMO_PASSWORD,
                        &stop,
                    )
                    .await
                    {
                        officer = t;
                    }
                    break;
                }
                _ => break,
            }
        }
        tokio::time::sleep(rng.millis(20, 120)).await;
    }
}

fn expected(content: &hwx_proto::jobfeed::v1::PostingContent) -> PostingState {
    PostingState::Live(PostingRecord::from_stored(content).hash())
}

/// Hello Work's system: batches of new and revised postings, and now and then a full snapshot
/// that withdraws what it leaves out. One writer, so the ledger's order is the sending order.
pub async fn feed_writer(c: Client, seed: u64, stop: watch::Receiver<bool>) {
    let mut rng = Rng::new(seed ^ 0xFEED);
    let Some(upstream) = login(&c, "upstream@hwx.example.go.jp", DEMO_PASSWORD, &stop).await else {
        return;
    };
    let auth = format!("Bearer {upstream}");
    let mut next = 0u64;
    let mut revision: HashMap<u64, u32> = HashMap::new();
    let mut batch_no = 0u64;
    while !*stop.borrow() {
        batch_no += 1;
        let via = rng.below(2) as usize;
        let snapshot = batch_no.is_multiple_of(8) && next > 0;
        // Which postings this batch holds: new ones and revisions of known ones; a snapshot
        // keeps about four in five of the known and adds a few.
        let mut picks: Vec<u64> = Vec::new();
        if snapshot {
            picks.extend((0..next).filter(|_| rng.below(5) != 0));
        } else {
            for _ in 0..rng.below(8) {
                if next > 0 {
                    picks.push(rng.below(next));
                }
            }
        }
        for _ in 0..(3 + rng.below(10)) {
            picks.push(next);
            next += 1;
        }
        picks.sort_unstable();
        picks.dedup();
        let mut body = Vec::new();
        let mut sent: Vec<(String, PostingState)> = Vec::new();
        for i in &picks {
            let r = revision.entry(*i).or_insert(0);
            if !snapshot {
                *r += 1;
            }
            let content = hwx_job_feed::generate::posting(0, *i, *r);
            let line = PostingJson::from(&content);
            sent.push((line.posting_number.clone(), expected(&content)));
            body.extend_from_slice(serde_json::to_string(&line).unwrap_or_default().as_bytes());
            body.push(b'\n');
        }
        let path = if snapshot {
            format!(
                "/v1/feed/postings?snapshot_id=chaos-{batch_no}&count={}",
                picks.len()
            )
        } else {
            "/v1/feed/postings".to_owned()
        };
        let headers = [
            ("Authorization", auth.as_str()),
            ("Content-Type", "application/x-ndjson"),
        ];
        let outcome = c.send_raw(via, "POST", &path, &headers, &body).await;
        let acked = matches!(outcome, Outcome::Ok(_));
        if let Outcome::Ok(r) = &outcome {
            let refused = r.json()["refused"].as_i64().unwrap_or(0);
            if refused != 0 {
                lock(&c.ledger).violations.push(format!(
                    "ingest refused {refused} generated postings: {}",
                    r.json()
                ));
            }
            c.ack(if snapshot { "snapshots" } else { "ingests" });
        }
        if matches!(outcome, Outcome::Refused(_)) {
            // Refused whole: nothing of it may be in the store (checked through the states).
            continue;
        }
        {
            let mut l = lock(&c.ledger);
            if snapshot {
                let kept: HashMap<&String, &PostingState> =
                    sent.iter().map(|(n, s)| (n, s)).collect();
                let known: Vec<String> = l.postings.keys().cloned().collect();
                for number in known {
                    let state = kept
                        .get(&number)
                        .map_or(PostingState::Withdrawn, |s| (*s).clone());
                    l.postings
                        .entry(number)
                        .or_default()
                        .push(Sent { state, acked });
                }
            }
            for (number, state) in sent {
                let list = l.postings.entry(number).or_default();
                if !(snapshot && list.last().is_some_and(|s| s.state == state)) {
                    list.push(Sent { state, acked });
                }
            }
        }
        tokio::time::sleep(rng.millis(50, 250)).await;
    }
}

/// Hello Work sending seekers: new ones, changes (a later last-active day) and withdrawn
/// consents, in batches through either gateway.
pub async fn seeker_writer(c: Client, seed: u64, stop: watch::Receiver<bool>) {
    let mut rng = Rng::new(seed ^ 0x5EE4);
    let Some(upstream) = login(&c, "upstream@hwx.example.go.jp", DEMO_PASSWORD, &stop).await else {
        return;
    };
    let auth = format!("Bearer {upstream}");
    let mut next = 0u64;
    // Each seeker's version: its last-active day moves a day each time it is sent.
    let mut version: HashMap<u64, u32> = HashMap::new();
    while !*stop.borrow() {
        let via = rng.below(2) as usize;
        // Some known seekers again (changed or withdrawn), then new ones.
        let mut picks: Vec<u64> = Vec::new();
        if next > 0 {
            for _ in 0..rng.below(6) {
                picks.push(rng.below(next));
            }
        }
        for _ in 0..(2 + rng.below(8)) {
            picks.push(next);
            next += 1;
        }
        picks.sort_unstable();
        picks.dedup();
        let mut body = Vec::new();
        let mut sent: Vec<(String, Option<String>)> = Vec::new();
        for i in picks {
            let id = format!("S-{i:07}");
            let withdraw = i + 1 < next && rng.below(5) == 0;
            let line = if withdraw {
                sent.push((id.clone(), None));
                json!({"seeker_id": id, "consents": false})
            } else {
                let v = version.entry(i).or_insert(0);
                *v += 1;
                let day = chrono::NaiveDate::from_ymd_opt(2026, 1, 1)
                    .unwrap_or_default()
                    .checked_add_days(chrono::Days::new(u64::from(*v % 300)))
                    .unwrap_or_default()
                    .to_string();
                sent.push((id.clone(), Some(day.clone())));
                json!({
                    "seeker_id": id, "age_band": 20 + 5 * (i % 8), "desired_occupations": [format!("{:02}", 1 + i % 15)],
                    "desired_prefectures": [format!("{:02}", 1 + i % 47)], "employment_types": ["正社員"],
                    "hello_work_office": "ハローワーク新宿", "consent_on": "2026-01-01", "last_active_on": day,
                    "consents": true,
                })
            };
            body.extend_from_slice(line.to_string().as_bytes());
            body.push(b'\n');
        }
        let headers = [
            ("Authorization", auth.as_str()),
            ("Content-Type", "application/x-ndjson"),
        ];
        let outcome = c
            .send_raw(via, "POST", "/v1/seekers", &headers, &body)
            .await;
        let acked = matches!(outcome, Outcome::Ok(_));
        if let Outcome::Ok(r) = &outcome {
            let refused = r.json()["refused"].as_i64().unwrap_or(0);
            if refused != 0 {
                lock(&c.ledger).violations.push(format!(
                    "seeker ingest refused {refused} generated seekers: {}",
                    r.json()
                ));
            }
            c.ack("seeker ingests");
        }
        if matches!(outcome, Outcome::Refused(_)) {
            continue;
        }
        {
            let mut l = lock(&c.ledger);
            for (id, state) in sent {
                l.seekers
                    .entry(id)
                    .or_default()
                    .push(SentSeeker { state, acked });
            }
        }
        tokio::time::sleep(rng.millis(50, 250)).await;
    }
}
