//! After the load stops and the system settles: what the databases and the stream hold, against
//! what the clients saw.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use ed25519_dalek::VerifyingKey;
use serde_json::Value;
use sqlx::PgPool;
use tokio::sync::watch;

use super::load::{Client, Ledger, Outcome, PostingState, login};

/// What a reader following the change feed built: posting → (version, content hash).
#[derive(Debug, Default)]
pub struct Follower {
    pub postings: BTreeMap<String, (i64, String)>,
    pub cursor: String,
    pub pages: usize,
    pub reconnects: usize,
    pub bad_signatures: Vec<String>,
    pub backwards: Vec<String>,
    /// Why it stopped early, when it did.
    pub stuck: Option<String>,
}

/// The organisation that follows the feed (approved for S-JOB by the demo data).
const FOLLOWER: &str = "info@mirai-career.example.jp";

fn verifying_key(v: &Value) -> Option<VerifyingKey> {
    let hex = v["ed25519_public_key"].as_str()?;
    let bytes: [u8; 32] = hex::decode(hex).ok()?.try_into().ok()?;
    VerifyingKey::from_bytes(&bytes).ok()
}

/// Follow `/v1/feed/changes` as an organisation, through every fault, until `stop`; then catch
/// up to the end, for at most a minute after `stop` (then `stuck` says why).
pub async fn follow(c: Client, stop: watch::Receiver<bool>) -> Follower {
    let mut f = Follower::default();
    let mut stopped_at: Option<Instant> = None;
    let Some(mut token) = login(&c, FOLLOWER, "hwx-demo-password", &stop).await else {
        f.stuck = Some("the follower could not log in before the run ended".into());
        return f;
    };
    let mut key = None;
    let mut via = 0usize;
    let mut quiet_since: Option<Instant> = None;
    loop {
        if *stop.borrow() {
            let at = *stopped_at.get_or_insert_with(Instant::now);
            if at.elapsed() > Duration::from_secs(60) {
                f.stuck = Some(format!(
                    "the follower did not catch up within 60 s after the run (at cursor {})",
                    f.cursor
                ));
                return f;
            }
        }
        if key.is_none()
            && let Outcome::Ok(r) = c.send(via, "GET", "/v1/feed/signing-key", None, None).await
        {
            key = verifying_key(&r.json());
        }
        let path = format!("/v1/feed/changes?cursor={}&limit=500", f.cursor);
        match c.send(via, "GET", &path, Some(&token), None).await {
            Outcome::Ok(r) => {
                f.pages += 1;
                f.stuck = None;
                let page = r.json();
                let changes = page["changes"].as_array().cloned().unwrap_or_default();
                for ch in &changes {
                    apply(&mut f, ch, key.as_ref());
                }
                if let Some(next) = page["next_cursor"].as_str() {
                    f.cursor = next.to_owned();
                }
                if changes.is_empty() {
                    if *stop.borrow() {
                        // Caught up twice, a second apart, after the run: the end.
                        match quiet_since {
                            Some(t) if t.elapsed() > Duration::from_secs(1) => return f,
                            None => quiet_since = Some(Instant::now()),
                            _ => {}
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                } else {
                    quiet_since = None;
                }
            }
            Outcome::Refused(r) if r.status == 401 => {
                let never = watch::channel(false).1;
                let relogin = login(&c, FOLLOWER, "hwx-demo-password", &never);
                match tokio::time::timeout(Duration::from_secs(60), relogin).await {
                    Ok(Some(t)) => token = t,
                    _ => {
                        f.stuck = Some(
                            "the follower's session ended and it could not log in again".into(),
                        );
                        return f;
                    }
                }
            }
            // Refused (the enrolment not yet known to the feed at the start, say): again, until
            // the deadline after the run says it is stuck.
            Outcome::Refused(r) => {
                f.stuck = Some(format!("the feed kept refusing the follower: {}", r.status));
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            _ => {
                f.reconnects += 1;
                via += 1;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

/// One change of the feed, whichever way it came: applied to the follower's copy.
fn apply(f: &mut Follower, ch: &Value, key: Option<&VerifyingKey>) {
    let cursor = ch["cursor"].as_str().unwrap_or_default().to_owned();
    let (a, b) = (
        cursor.parse::<i64>().unwrap_or(-1),
        f.cursor.parse::<i64>().unwrap_or(0),
    );
    if a <= b {
        f.backwards.push(format!("{cursor} after {}", f.cursor));
    }
    if let Some(p) = ch.get("upsert") {
        match serde_json::from_value::<hwx_job_feed::record::ServedJson>(p.clone()) {
            Ok(served) => {
                let number = served.content.posting_number.clone();
                let valid = key.is_some_and(|k| {
                    hwx_job_feed::signing::verify(
                        &served.content,
                        served.version,
                        &served.content_hash,
                        &served.signature,
                        &served.key_id,
                        Some(k),
                    )
                    .is_ok()
                });
                if !valid {
                    f.bad_signatures.push(number.clone());
                }
                f.postings
                    .insert(number, (served.version, served.content_hash));
            }
            Err(e) => f.bad_signatures.push(format!("unreadable upsert: {e}")),
        }
    } else if let Some(n) = ch["tombstone"].as_str() {
        f.postings.remove(n);
    }
    f.cursor = cursor;
}

/// Follow the live stream (`/v1/feed/changes/stream`) as an organisation: read its NDJSON as it
/// comes, and when a fault ends it (a gateway or the job feed killed, a problem line), reconnect
/// from the last cursor. After `stop`, it reconnects until a quiet second passes, for at most a
/// minute.
pub async fn follow_stream(
    c: Client,
    gateways: Vec<std::net::SocketAddr>,
    stop: watch::Receiver<bool>,
) -> Follower {
    let mut f = Follower::default();
    let Some(mut token) = login(&c, FOLLOWER, "hwx-demo-password", &stop).await else {
        f.stuck = Some("the stream follower could not log in before the run ended".into());
        return f;
    };
    let mut key = None;
    let mut stopped_at: Option<Instant> = None;
    for attempt in 0usize.. {
        if *stop.borrow() {
            let at = *stopped_at.get_or_insert_with(Instant::now);
            if at.elapsed() > Duration::from_secs(60) {
                f.stuck = Some(format!(
                    "the stream follower did not catch up within 60 s (at cursor {})",
                    f.cursor
                ));
                return f;
            }
        }
        if key.is_none()
            && let Outcome::Ok(r) = c
                .send(attempt, "GET", "/v1/feed/signing-key", None, None)
                .await
        {
            key = verifying_key(&r.json());
        }
        // Without the key no record could be verified: no stream before it.
        if key.is_none() {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        let addr = gateways[attempt % gateways.len()];
        // After the run: read until the stream has been quiet for a second, then stop.
        let quiet = if *stop.borrow() {
            Some(Duration::from_secs(1))
        } else {
            None
        };
        match stream_once(addr, &token, &mut f, key.as_ref(), quiet, &stop).await {
            StreamEnd::Quiet => return f,
            StreamEnd::Unauthorized => {
                let never = watch::channel(false).1;
                match tokio::time::timeout(
                    Duration::from_secs(60),
                    login(&c, FOLLOWER, "hwx-demo-password", &never),
                )
                .await
                {
                    Ok(Some(t)) => token = t,
                    _ => {
                        f.stuck = Some(
                            "the stream follower's session ended and it could not log in again"
                                .into(),
                        );
                        return f;
                    }
                }
            }
            StreamEnd::Broken => {
                f.reconnects += 1;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    f
}

/// One line (a header, a chunk size), or the time ran out first.
async fn read_line_within(
    r: &mut tokio::io::BufReader<tokio::net::TcpStream>,
    line: &mut String,
    within: Duration,
) -> Result<std::io::Result<usize>, tokio::time::error::Elapsed> {
    use tokio::io::AsyncBufReadExt;
    line.clear();
    tokio::time::timeout(within, r.read_line(line)).await
}

enum StreamEnd {
    /// Quiet for the time asked (the run is over and the follower caught up).
    Quiet,
    Unauthorized,
    /// Cut, refused, ended with a problem line, or the run stopped: reconnect.
    Broken,
}

/// One connection to the stream: a GET over plain HTTP/1.1, its chunked body decoded by hand.
async fn stream_once(
    addr: std::net::SocketAddr,
    token: &str,
    f: &mut Follower,
    key: Option<&VerifyingKey>,
    quiet: Option<Duration>,
    stop: &watch::Receiver<bool>,
) -> StreamEnd {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    let Ok(Ok(mut s)) =
        tokio::time::timeout(Duration::from_secs(5), tokio::net::TcpStream::connect(addr)).await
    else {
        return StreamEnd::Broken;
    };
    let head = format!(
        "GET /v1/feed/changes/stream?cursor={} HTTP/1.1\r\nHost: hwx\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n",
        f.cursor
    );
    if s.write_all(head.as_bytes()).await.is_err() {
        return StreamEnd::Broken;
    }
    let mut r = BufReader::new(s);
    let mut line = String::new();
    // The status line and headers.
    let Ok(Ok(n)) = read_line_within(&mut r, &mut line, Duration::from_secs(10)).await else {
        return StreamEnd::Broken;
    };
    if n == 0 {
        return StreamEnd::Broken;
    }
    let status = line
        .get(9..12)
        .and_then(|s| s.parse::<u16>().ok())
        .unwrap_or(0);
    loop {
        match read_line_within(&mut r, &mut line, Duration::from_secs(10)).await {
            Ok(Ok(n)) if n > 0 && line.trim().is_empty() => break,
            Ok(Ok(n)) if n > 0 => {}
            _ => return StreamEnd::Broken,
        }
    }
    match status {
        200 => {}
        401 => return StreamEnd::Unauthorized,
        _ => return StreamEnd::Broken,
    }
    // The chunked body: size line, data, CRLF; NDJSON lines may span chunks. The size line is
    // read into a buffer kept across the idle timeouts (read_until keeps what it read).
    let mut pending: Vec<u8> = Vec::new();
    let mut size_line: Vec<u8> = Vec::new();
    loop {
        let within = quiet.unwrap_or(Duration::from_millis(500));
        let size = match tokio::time::timeout(within, r.read_until(b'\n', &mut size_line)).await {
            Ok(Ok(n)) if n > 0 && size_line.ends_with(b"\n") => {
                let text = String::from_utf8_lossy(&size_line).trim().to_owned();
                size_line.clear();
                match usize::from_str_radix(text.split(';').next().unwrap_or(""), 16) {
                    Ok(n) => n,
                    Err(_) => return StreamEnd::Broken,
                }
            }
            Ok(_) => return StreamEnd::Broken,
            Err(_) if quiet.is_some() && size_line.is_empty() => return StreamEnd::Quiet,
            // Quiet while the run goes on: keep listening, unless the run just stopped.
            Err(_) => {
                if *stop.borrow() && quiet.is_none() {
                    return StreamEnd::Broken;
                }
                continue;
            }
        };
        if size == 0 {
            return StreamEnd::Broken;
        }
        let mut chunk = vec![0u8; size + 2];
        match tokio::time::timeout(Duration::from_secs(10), r.read_exact(&mut chunk)).await {
            Ok(Ok(_)) => {}
            _ => return StreamEnd::Broken,
        }
        pending.extend_from_slice(&chunk[..size]);
        while let Some(pos) = pending.iter().position(|b| *b == b'\n') {
            let text: Vec<u8> = pending.drain(..=pos).collect();
            // A line that is not a change (a problem: the gateway stopping, access ended) or
            // cannot be read ends this connection; the next resumes from the last cursor.
            match serde_json::from_slice::<Value>(&text) {
                Ok(v) if v.get("cursor").is_some() => apply(f, &v, key),
                _ => return StreamEnd::Broken,
            }
        }
    }
}

/// Registration's events a consumer has not applied (not in its inbox): the job feed's, then
/// seeker matching's.
const UNAPPLIED: &str = "SELECT
      (SELECT count(*) FROM registration.outbox o
        WHERE NOT EXISTS (SELECT 1 FROM job_feed.inbox i WHERE i.event_id = o.event_id)),
      (SELECT count(*) FROM registration.outbox o
        WHERE NOT EXISTS (SELECT 1 FROM seeker_matching.inbox i WHERE i.event_id = o.event_id))";

/// Wait until every outbox row of every schema is published, the job feed and seeker matching
/// have applied every registration event (their inboxes hold every id) and every notice is
/// delivered: then the system has settled.
pub async fn settle(pool: &PgPool, within: Duration) -> Result<Duration, String> {
    let start = Instant::now();
    loop {
        let unpublished: i64 = sqlx::query_scalar(
            "SELECT (SELECT count(*) FROM registration.outbox WHERE published_at IS NULL)
                  + (SELECT count(*) FROM job_feed.outbox WHERE published_at IS NULL)
                  + (SELECT count(*) FROM seeker_matching.outbox WHERE published_at IS NULL)",
        )
        .fetch_one(pool)
        .await
        .map_err(|e| e.to_string())?;
        let (feed, seekers): (i64, i64) = sqlx::query_as(UNAPPLIED)
            .fetch_one(pool)
            .await
            .map_err(|e| e.to_string())?;
        let unapplied = feed + seekers;
        // Every notice (a sign-up's token) reached a mailbox.
        let undelivered: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM registration.notices WHERE delivered_at IS NULL",
        )
        .fetch_one(pool)
        .await
        .map_err(|e| e.to_string())?;
        if unpublished == 0 && unapplied == 0 && undelivered == 0 {
            return Ok(start.elapsed());
        }
        if start.elapsed() > within {
            return Err(format!(
                "not settled after {within:?}: {unpublished} events unpublished, {unapplied} registration events a consumer (job feed, seeker matching) has not applied, {undelivered} notices undelivered"
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Counts for the report, and the violations found.
#[derive(Debug, Default)]
pub struct Findings {
    pub lost: usize,
    pub doubled: usize,
    pub violations: Vec<String>,
}

fn rank(status: &str) -> u8 {
    match status {
        "registered" => 1,
        "submitted" => 2,
        "approved" | "rejected" => 3,
        _ => 0,
    }
}

pub async fn check(
    pool: &PgPool,
    ledger: &Ledger,
    followers: &[(&str, &Follower)],
) -> Result<Findings, sqlx::Error> {
    let mut f = Findings::default();
    // Every acknowledged organisation and application exists, no less far than acknowledged.
    let ids: Vec<uuid::Uuid> = ledger.orgs.iter().filter_map(|s| s.parse().ok()).collect();
    let found: i64 =
        sqlx::query_scalar("SELECT count(*) FROM registration.organisations WHERE id = ANY($1)")
            .bind(&ids)
            .fetch_one(pool)
            .await?;
    if found as usize != ids.len() {
        f.lost += ids.len() - found as usize;
        f.violations.push(format!(
            "{} acknowledged organisations are missing",
            ids.len() - found as usize
        ));
    }
    let apps: Vec<uuid::Uuid> = ledger
        .applications
        .keys()
        .filter_map(|s| s.parse().ok())
        .collect();
    let rows: Vec<(uuid::Uuid, String)> =
        sqlx::query_as("SELECT id, status FROM registration.applications WHERE id = ANY($1)")
            .bind(&apps)
            .fetch_all(pool)
            .await?;
    let stored: HashMap<String, String> = rows
        .into_iter()
        .map(|(id, s)| (id.to_string(), s))
        .collect();
    for (id, acked) in &ledger.applications {
        match stored.get(id) {
            None => {
                f.lost += 1;
                f.violations
                    .push(format!("acknowledged application {id} is missing"));
            }
            Some(s) if rank(s) < rank(acked) => {
                f.lost += 1;
                f.violations.push(format!(
                    "application {id} is {s}, but {acked} was acknowledged"
                ));
            }
            _ => {}
        }
    }
    // Each approval (S-JOB) has exactly one event, and the job feed knows the enrolment.
    let approvals: Vec<(uuid::Uuid, i64)> = sqlx::query_as(
        "SELECT a.organisation_id, (SELECT count(*) FROM registration.outbox o
            WHERE o.subject = 'hwx.registration.org.approved'
              AND position(convert_to(a.id::text, 'UTF8') IN o.payload) > 0)
           FROM registration.applications a
          WHERE a.status = 'approved' AND a.organisation_id = ANY($1)",
    )
    .bind(&ids)
    .fetch_all(pool)
    .await?;
    for (org, events) in &approvals {
        match events {
            1 => {}
            0 => {
                f.lost += 1;
                f.violations
                    .push(format!("the approval of {org} has no event"));
            }
            n => {
                f.doubled += 1;
                f.violations
                    .push(format!("the approval of {org} has {n} events"));
            }
        }
    }
    let unknown_to_feed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM unnest($1::uuid[]) o(id)
          WHERE NOT EXISTS (SELECT 1 FROM job_feed.enrolments e WHERE e.organisation_id = o.id AND e.status = 'active')",
    )
    .bind(approvals.iter().map(|(o, _)| *o).collect::<Vec<_>>())
    .fetch_one(pool)
    .await?;
    if unknown_to_feed > 0 {
        f.lost += unknown_to_feed as usize;
        f.violations.push(format!(
            "{unknown_to_feed} approved organisations the job feed does not know as enrolled"
        ));
    }
    // Every event applied by each consumer exactly once: inbox ids against outbox ids.
    // (Applied twice cannot be: the inbox's key is the consumer and the event.)
    let (missing, missing_seekers): (i64, i64) = sqlx::query_as(UNAPPLIED).fetch_one(pool).await?;
    let extra: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM job_feed.inbox i WHERE i.subject LIKE 'hwx.registration.%' AND NOT EXISTS
                  (SELECT 1 FROM registration.outbox o WHERE o.event_id = i.event_id))
              + (SELECT count(*) FROM seeker_matching.inbox i WHERE i.subject LIKE 'hwx.registration.%' AND NOT EXISTS
                  (SELECT 1 FROM registration.outbox o WHERE o.event_id = i.event_id))",
    )
    .fetch_one(pool)
    .await?;
    for (n, who) in [
        (missing, "the job feed"),
        (missing_seekers, "seeker matching"),
    ] {
        if n > 0 {
            f.lost += n as usize;
            f.violations
                .push(format!("{n} registration events never applied by {who}"));
        }
    }
    if extra > 0 {
        f.doubled += extra as usize;
        f.violations.push(format!(
            "{extra} events applied that registration never staged"
        ));
    }
    // Signed up again after the account was made: still one account per email.
    for email in &ledger.taken {
        let n: i64 =
            sqlx::query_scalar("SELECT count(*) FROM registration.accounts WHERE email = $1")
                .bind(email)
                .fetch_one(pool)
                .await?;
        if n != 1 {
            f.doubled += 1;
            f.violations
                .push(format!("{email}: {n} accounts after a second sign-up"));
        }
    }
    // Postings: each is in a state the acknowledged and unknown ingests allow.
    let rows: Vec<(String, bool, String, i64)> = sqlx::query_as(
        "SELECT posting_number, withdrawn, content_hash, version::bigint FROM job_feed.postings",
    )
    .fetch_all(pool)
    .await?;
    let store: HashMap<String, (bool, String, i64)> = rows
        .into_iter()
        .map(|(n, w, h, v)| (n, (w, h, v)))
        .collect();
    for (number, sent) in &ledger.postings {
        let last_acked = sent.iter().rposition(|s| s.acked);
        let mut allowed: Vec<Option<&PostingState>> = Vec::new();
        match last_acked {
            Some(k) => allowed.push(Some(&sent[k].state)),
            None => allowed.push(None),
        }
        let from = last_acked.map_or(0, |k| k + 1);
        allowed.extend(sent[from..].iter().map(|s| Some(&s.state)));
        let now = store.get(number).map(|(w, h, _)| {
            if *w {
                PostingState::Withdrawn
            } else {
                PostingState::Live(h.clone())
            }
        });
        // Never acknowledged live: absent is as good as withdrawn (a batch that never arrived,
        // then a snapshot that left the posting out).
        let ever_live = sent
            .iter()
            .any(|s| s.acked && matches!(s.state, PostingState::Live(_)));
        let absent_ok = now.is_none()
            && !ever_live
            && allowed
                .iter()
                .any(|a| matches!(a, None | Some(PostingState::Withdrawn)));
        if !absent_ok && !allowed.iter().any(|a| a.cloned() == now) {
            if now.is_none() || matches!(now, Some(PostingState::Withdrawn)) && last_acked.is_some()
            {
                f.lost += 1;
            } else {
                f.doubled += 1;
            }
            f.violations.push(format!(
                "posting {number} is {now:?}; the clients saw it sent as {:?}",
                sent.iter().map(|s| (&s.state, s.acked)).collect::<Vec<_>>()
            ));
        }
    }
    // Seekers: each is as the last acknowledged ingest left it, or as a later unacknowledged
    // one may have (a batch is written whole or not at all, but its answer may be lost).
    let rows: Vec<(String, chrono::NaiveDate)> =
        sqlx::query_as("SELECT seeker_id, last_active_on FROM seeker_matching.seekers")
            .fetch_all(pool)
            .await?;
    let held: HashMap<String, String> = rows
        .into_iter()
        .map(|(id, day)| (id, day.to_string()))
        .collect();
    for (id, sent) in &ledger.seekers {
        let last_acked = sent.iter().rposition(|s| s.acked);
        let mut allowed: Vec<Option<&String>> = match last_acked {
            Some(k) => vec![sent[k].state.as_ref()],
            None => vec![None],
        };
        let from = last_acked.map_or(0, |k| k + 1);
        allowed.extend(sent[from..].iter().map(|s| s.state.as_ref()));
        let now = held.get(id);
        if !allowed.contains(&now) {
            if now.is_none() {
                f.lost += 1;
            } else {
                f.doubled += 1;
            }
            f.violations.push(format!(
                "seeker {id} is {now:?}; the clients saw it sent as {:?}",
                sent.iter().map(|s| (&s.state, s.acked)).collect::<Vec<_>>()
            ));
        }
    }
    let stray_seekers = held
        .keys()
        .filter(|id| !ledger.seekers.contains_key(*id))
        .count();
    if stray_seekers > 0 {
        f.doubled += stray_seekers;
        f.violations.push(format!(
            "{stray_seekers} seekers stored that no ingest sent"
        ));
    }
    // The job feed and seeker matching both know every S-SEEKER approval of the run (the demo's).
    let unknown_to_seekers: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM registration.enrolments e WHERE e.service = 'seeker' AND e.status = 'active'
           AND NOT EXISTS (SELECT 1 FROM seeker_matching.enrolments s
                            WHERE s.organisation_id = e.organisation_id AND s.status = 'active')",
    )
    .fetch_one(pool)
    .await?;
    if unknown_to_seekers > 0 {
        f.lost += unknown_to_seekers as usize;
        f.violations.push(format!(
            "{unknown_to_seekers} S-SEEKER enrolments seeker matching does not know"
        ));
    }
    // Nothing in the store that no client sent (a refused batch, or one never acknowledged and
    // not in the ledger).
    let strays: Vec<&String> = store
        .keys()
        .filter(|n| !ledger.postings.contains_key(*n))
        .collect();
    if !strays.is_empty() {
        f.doubled += strays.len();
        f.violations.push(format!(
            "{} postings in the store that no accepted or pending ingest sent: {:?}",
            strays.len(),
            strays.iter().take(5).collect::<Vec<_>>()
        ));
    }
    // Every sign-up's token arrived (the load records those that never did).
    f.lost += ledger.lost_mail;
    // Every acknowledged confirmation has its account.
    let accounts: i64 =
        sqlx::query_scalar("SELECT count(*) FROM registration.accounts WHERE email = ANY($1)")
            .bind(&ledger.accounts)
            .fetch_one(pool)
            .await?;
    if accounts as usize != ledger.accounts.len() {
        f.lost += ledger.accounts.len() - accounts as usize;
        f.violations.push(format!(
            "{} acknowledged confirmations have no account",
            ledger.accounts.len() - accounts as usize
        ));
    }
    // Each follower rebuilt exactly the store's live postings, with valid signatures.
    let live: BTreeMap<String, (i64, String)> = store
        .iter()
        .filter(|(_, (w, _, _))| !w)
        .map(|(n, (_, h, v))| (n.clone(), (*v, h.clone())))
        .collect();
    for (name, follower) in followers {
        if live != follower.postings {
            let only_store = live
                .keys()
                .filter(|k| !follower.postings.contains_key(*k))
                .count();
            let only_follower = follower
                .postings
                .keys()
                .filter(|k| !live.contains_key(*k))
                .count();
            let differ = live
                .iter()
                .filter(|(k, v)| follower.postings.get(*k).is_some_and(|f| f != *v))
                .count();
            f.violations.push(format!(
                "the {name}'s copy differs from the store: {only_store} missing, {only_follower} extra, {differ} other versions"
            ));
            f.lost += only_store;
            f.doubled += only_follower;
        }
        if !follower.bad_signatures.is_empty() {
            f.violations.push(format!(
                "{name}: {} records failed signature verification: {:?}",
                follower.bad_signatures.len(),
                follower.bad_signatures.iter().take(5).collect::<Vec<_>>()
            ));
        }
        if let Some(why) = &follower.stuck {
            f.violations.push(format!("{name}: {why}"));
        }
        if !follower.backwards.is_empty() {
            f.violations.push(format!(
                "{name}: the change feed went backwards: {:?}",
                follower.backwards.iter().take(5).collect::<Vec<_>>()
            ));
        }
    }
    f.violations.extend(ledger.violations.iter().cloned());
    Ok(f)
}
