//! The posting store and its change feed.
//!
//! Every posting row carries `seq`, its position in the change feed; every change moves it to a new
//! `seq`. The feed is "rows with seq > cursor, in seq order": each posting's latest state, upserts
//! and tombstones alike (J6).
//!
//! A reader must never miss a change, even when writers commit out of order. So every writer takes
//! the feed lock (a transaction-scoped advisory lock) before it takes any `seq`, and holds it until
//! it commits: `seq` values become visible in the order they were taken, and a reader that has seen
//! `seq` N has seen everything below N.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use hwx_platform::db::Database;
use hwx_proto::events::v1 as ev;
use hwx_proto::jobfeed::v1 as pb;
use prost::Message;
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use crate::record::{self, Intake, PostingRecord, Refusal, Served};
use crate::signing::Signer;

pub const POSTING_PUBLISHED: &str = "hwx.jobfeed.posting.published";
pub const POSTING_WITHDRAWN: &str = "hwx.jobfeed.posting.withdrawn";

/// Why a posting past its `valid_until` was withdrawn.
pub const EXPIRED: &str = "past its valid_until";

/// Records per ingest transaction.
pub const BATCH: usize = 500;

/// Refused and withdrawn records listed one by one in a summary; beyond this they are counted
/// only, so the answer to a million bad records still fits in one message.
pub const MAX_RESULTS: usize = 10_000;

/// Take the feed lock for the rest of the transaction.
pub async fn lock_feed(tx: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || '.feed', 0))")
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Wake every watcher of this schema's feed when the transaction commits.
pub async fn notify_feed(tx: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_notify('hwx_feed_' || current_schema(), '')")
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// The newest position visible to the transaction.
pub async fn head(conn: &mut PgConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COALESCE(max(seq), 0)::bigint FROM postings")
        .fetch_one(conn)
        .await
}

/// A cursor as clients see it: opaque text, the decimal position today.
pub fn parse_cursor(cursor: &str) -> Result<i64, String> {
    let c = cursor.trim();
    if c.is_empty() {
        return Ok(0);
    }
    c.parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(|| format!("cursor {cursor:?} is not one this feed gave out"))
}

/// One record's fate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Stored { version: i64 },
    Unchanged { version: i64 },
    Withdrawn { version: i64 },
    Refused(Refusal),
}

/// A posting number as a number, for the set of numbers a full snapshot held.
fn number_key(n: &str) -> Option<u64> {
    let (office, serial) = n.split_once('-')?;
    Some(office.parse::<u64>().ok()? * 100_000_000 + serial.parse::<u64>().ok()?)
}

/// The staged events of one transaction.
#[derive(Default)]
struct Outbox {
    ids: Vec<Uuid>,
    subjects: Vec<String>,
    payloads: Vec<Vec<u8>>,
}

impl Outbox {
    fn push(&mut self, subject: &str, payload: Vec<u8>, id: Uuid) {
        self.ids.push(id);
        self.subjects.push(subject.to_owned());
        self.payloads.push(payload);
    }

    fn meta(now: DateTime<Utc>) -> (Uuid, Option<ev::EventMeta>) {
        let id = Uuid::now_v7();
        (
            id,
            Some(ev::EventMeta {
                event_id: id.to_string(),
                occurred_at: Some(hwx_platform::grpc::timestamp(now)),
                producer: "job-feed".into(),
            }),
        )
    }

    fn published(&mut self, now: DateTime<Utc>, number: &str, version: i64, hash: &str) {
        let (id, meta) = Self::meta(now);
        let e = ev::PostingPublished {
            meta,
            posting_number: number.to_owned(),
            version,
            content_hash: hash.to_owned(),
        };
        self.push(POSTING_PUBLISHED, e.encode_to_vec(), id);
    }

    fn withdrawn(&mut self, now: DateTime<Utc>, number: &str, reason: &str) {
        let (id, meta) = Self::meta(now);
        let e = ev::PostingWithdrawn {
            meta,
            posting_number: number.to_owned(),
            reason: reason.to_owned(),
        };
        self.push(POSTING_WITHDRAWN, e.encode_to_vec(), id);
    }

    /// Stage them all with one statement, in the caller's transaction.
    async fn stage(self, tx: &mut PgConnection) -> Result<(), sqlx::Error> {
        if self.ids.is_empty() {
            return Ok(());
        }
        let traceparent = hwx_platform::telemetry::current_traceparent();
        sqlx::query(
            "INSERT INTO outbox (event_id, subject, payload, traceparent)
             SELECT id, subject, payload, $4 FROM UNNEST($1::uuid[], $2::text[], $3::bytea[]) AS t(id, subject, payload)",
        )
        .bind(&self.ids)
        .bind(&self.subjects)
        .bind(&self.payloads)
        .bind(traceparent)
        .execute(tx)
        .await?;
        Ok(())
    }
}

/// Rows to upsert, column by column (bound as arrays).
#[derive(Default)]
struct Upserts {
    numbers: Vec<String>,
    versions: Vec<i32>,
    contents: Vec<String>,
    hashes: Vec<String>,
    signatures: Vec<Vec<u8>>,
    prefectures: Vec<String>,
    occupations: Vec<String>,
    industries: Vec<String>,
    employment: Vec<String>,
    valid_until: Vec<chrono::NaiveDate>,
}

impl Upserts {
    fn push(
        &mut self,
        r: &PostingRecord,
        version: i64,
        content: String,
        hash: String,
        sig: Vec<u8>,
    ) {
        self.numbers.push(r.posting_number.clone());
        self.versions.push(version as i32);
        self.contents.push(content);
        self.hashes.push(hash);
        self.signatures.push(sig);
        self.prefectures.push(r.prefecture_code.clone());
        self.occupations.push(r.occupation_code.clone());
        self.industries.push(r.industry_code.clone());
        self.employment.push(r.employment_type.clone());
        self.valid_until.push(r.valid_until_date());
    }

    async fn write(
        self,
        tx: &mut PgConnection,
        key_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        if self.numbers.is_empty() {
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO postings (posting_number, version, seq, withdrawn, withdrawn_reason, content, content_hash,
                                   signature, key_id, prefecture_code, occupation_code, industry_code, employment_type,
                                   updated_at, valid_until)
             SELECT n, v, nextval('feed_seq'), false, NULL, c, h, s, $10, p, o, i, e, $11, u
               FROM UNNEST($1::text[], $2::int[], $3::text[], $4::text[], $5::bytea[], $6::text[], $7::text[], $8::text[],
                           $9::text[], $12::date[])
                    AS t(n, v, c, h, s, p, o, i, e, u)
             ON CONFLICT (posting_number) DO UPDATE SET
               version = EXCLUDED.version, seq = EXCLUDED.seq, withdrawn = false, withdrawn_reason = NULL,
               content = EXCLUDED.content, content_hash = EXCLUDED.content_hash, signature = EXCLUDED.signature,
               key_id = EXCLUDED.key_id, prefecture_code = EXCLUDED.prefecture_code,
               occupation_code = EXCLUDED.occupation_code, industry_code = EXCLUDED.industry_code,
               employment_type = EXCLUDED.employment_type, updated_at = EXCLUDED.updated_at,
               valid_until = EXCLUDED.valid_until",
        )
        .bind(&self.numbers)
        .bind(&self.versions)
        .bind(&self.contents)
        .bind(&self.hashes)
        .bind(&self.signatures)
        .bind(&self.prefectures)
        .bind(&self.occupations)
        .bind(&self.industries)
        .bind(&self.employment)
        .bind(key_id)
        .bind(now)
        .bind(&self.valid_until)
        .execute(tx)
        .await?;
        Ok(())
    }
}

/// Withdraw postings (tombstones) in the caller's transaction, which holds the feed lock. Only
/// postings still live and, with `at_most`, unchanged since that position are withdrawn.
async fn withdraw(
    tx: &mut PgConnection,
    numbers: &[String],
    reasons: &[String],
    at_most: Option<i64>,
    now: DateTime<Utc>,
    outbox: &mut Outbox,
) -> Result<HashMap<String, i64>, sqlx::Error> {
    let rows = sqlx::query(
        "UPDATE postings p SET withdrawn = true, withdrawn_reason = t.r, seq = nextval('feed_seq'), updated_at = $4
           FROM UNNEST($1::text[], $2::text[]) AS t(n, r)
          WHERE p.posting_number = t.n AND NOT p.withdrawn AND ($3::bigint IS NULL OR p.seq <= $3)
         RETURNING p.posting_number, p.version, t.r",
    )
    .bind(numbers)
    .bind(reasons)
    .bind(at_most)
    .bind(now)
    .fetch_all(&mut *tx)
    .await?;
    let mut done = HashMap::new();
    for r in rows {
        let n: String = r.try_get(0)?;
        let v: i32 = r.try_get(1)?;
        let reason: String = r.try_get(2)?;
        outbox.withdrawn(now, &n, &reason);
        done.insert(n, i64::from(v));
    }
    Ok(done)
}

/// A record of a batch with its canonical text and hash (for live ones).
type Prepared = (i64, Intake, Option<(String, String)>);

/// The store: ingest and reads.
#[derive(Debug, Clone)]
pub struct Store {
    pub db: Database,
    pub signer: Signer,
}

/// Why an ingest could not finish.
#[derive(Debug, thiserror::Error)]
pub enum FinishError {
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    /// A full snapshot that cannot withdraw anything.
    #[error("{0}")]
    Incomplete(String),
}

/// One ingest call: records arrive one by one and are written in batches.
#[derive(Debug)]
pub struct Ingest {
    store: Store,
    now: DateTime<Utc>,
    pending: Vec<(i64, Intake)>,
    pending_numbers: HashSet<String>,
    index: i64,
    pub summary: pb::IngestSummary,
    snapshot: Option<Snapshot>,
}

#[derive(Debug)]
struct Snapshot {
    id: String,
    /// Postings received (valid or not) and, once it came, the count snapshot_end announced.
    received: i64,
    end: Option<i64>,
    /// Postings at or below this position that the snapshot does not hold are withdrawn.
    start: i64,
    seen: HashSet<u64>,
}

impl Store {
    pub fn ingest(&self, now: DateTime<Utc>) -> Ingest {
        Ingest {
            store: self.clone(),
            now,
            pending: Vec::with_capacity(BATCH),
            pending_numbers: HashSet::new(),
            index: 0,
            summary: pb::IngestSummary::default(),
            snapshot: None,
        }
    }
}

fn refused_result(index: i64, r: &Refusal) -> pb::IngestResult {
    pb::IngestResult {
        index,
        posting_number: r.posting_number.clone(),
        outcome: "refused".into(),
        version: 0,
        rule: r.rule.map(|r| r.to_string()).unwrap_or_default(),
        missing_items: r.missing.iter().map(|i| i.field().to_owned()).collect(),
        message: r.message.clone(),
    }
}

impl Ingest {
    /// Full-snapshot mode: must come before any posting.
    pub async fn start_snapshot(&mut self, id: String) -> Result<(), String> {
        if self.index > 0 || self.snapshot.is_some() {
            return Err("snapshot_start must be the first message of the stream".into());
        }
        let mut tx = self
            .store
            .db
            .pool()
            .begin()
            .await
            .map_err(|e| e.to_string())?;
        lock_feed(&mut tx).await.map_err(|e| e.to_string())?;
        let start = head(&mut tx).await.map_err(|e| e.to_string())?;
        tx.commit().await.map_err(|e| e.to_string())?;
        self.snapshot = Some(Snapshot {
            id,
            received: 0,
            end: None,
            start,
            seen: HashSet::new(),
        });
        Ok(())
    }

    /// The snapshot's last message: how many postings it sent.
    pub fn end_snapshot(&mut self, count: i64) -> Result<(), String> {
        match &mut self.snapshot {
            None => Err("snapshot_end without snapshot_start".into()),
            Some(s) if s.end.is_some() => Err("snapshot_end twice".into()),
            Some(s) => {
                s.end = Some(count);
                Ok(())
            }
        }
    }

    /// Take one record; a full batch is written before this returns.
    pub async fn push(&mut self, p: &pb::PostingContent) -> Result<(), sqlx::Error> {
        self.index += 1;
        let index = self.index;
        let intake = record::intake(p);
        if let Some(s) = &mut self.snapshot {
            // A posting after snapshot_end counts too: the count no longer matches, and nothing
            // is withdrawn.
            s.received += 1;
            // A refused record of a snapshot still says the posting exists: its last good version
            // stays.
            let number = match &intake {
                Ok(Intake::Live(r)) => Some(r.posting_number.as_str()),
                Ok(Intake::Close { .. }) => None,
                Err(r) => Some(r.posting_number.as_str()),
            };
            if let Some(k) = number.and_then(number_key) {
                s.seen.insert(k);
            }
        }
        let today = self.now.with_timezone(&hwx_rules::jst::JST).date_naive();
        let intake = match intake {
            // Past its last day it is no longer provided: a tombstone, like a closed one.
            Ok(Intake::Live(r)) if r.valid_until_date() < today => Ok(Intake::Close {
                posting_number: r.posting_number.clone(),
                reason: EXPIRED.into(),
            }),
            other => other,
        };
        match intake {
            Err(r) => {
                self.summary.refused += 1;
                if self.summary.results.len() < MAX_RESULTS {
                    self.summary.results.push(refused_result(index, &r));
                }
                Ok(())
            }
            Ok(i) => {
                let number = match &i {
                    Intake::Live(r) => r.posting_number.clone(),
                    Intake::Close { posting_number, .. } => posting_number.clone(),
                };
                // The same posting twice in one batch: the first goes in first.
                if self.pending_numbers.contains(&number) {
                    self.flush().await?;
                }
                self.pending_numbers.insert(number);
                self.pending.push((index, i));
                if self.pending.len() >= BATCH {
                    self.flush().await?;
                }
                Ok(())
            }
        }
    }

    /// Write the pending batch in one transaction.
    pub async fn flush(&mut self) -> Result<(), sqlx::Error> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.pending);
        self.pending_numbers.clear();
        let now = self.now;
        let numbers: Vec<String> = batch
            .iter()
            .map(|(_, i)| match i {
                Intake::Live(r) => r.posting_number.clone(),
                Intake::Close { posting_number, .. } => posting_number.clone(),
            })
            .collect();
        // Hash before taking the lock: the lock is held only for the reads and writes.
        let prepared: Vec<Prepared> = batch
            .into_iter()
            .map(|(idx, i)| {
                let hashed = match &i {
                    Intake::Live(r) => {
                        let c = r.canonical();
                        let h = record::hash_hex(c.as_bytes());
                        Some((c, h))
                    }
                    Intake::Close { .. } => None,
                };
                (idx, i, hashed)
            })
            .collect();
        let mut tx = self.store.db.pool().begin().await?;
        lock_feed(&mut tx).await?;
        let existing: HashMap<String, (i64, String, bool)> = sqlx::query(
            "SELECT posting_number, version, content_hash, withdrawn FROM postings WHERE posting_number = ANY($1)",
        )
        .bind(&numbers)
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .map(|r| {
            Ok((
                r.try_get::<String, _>(0)?,
                (
                    i64::from(r.try_get::<i32, _>(1)?),
                    r.try_get::<String, _>(2)?,
                    r.try_get::<bool, _>(3)?,
                ),
            ))
        })
        .collect::<Result<_, sqlx::Error>>()?;
        let mut upserts = Upserts::default();
        let mut outbox = Outbox::default();
        let mut closes: Vec<(i64, String, String)> = Vec::new();
        let mut stored = 0;
        let mut unchanged = 0;
        for (idx, intake, hashed) in prepared {
            match (intake, hashed) {
                (Intake::Live(r), Some((content, hash))) => {
                    let version = match existing.get(&r.posting_number) {
                        Some((_, h, false)) if *h == hash => {
                            // J5: the same content again is no new version and no event.
                            unchanged += 1;
                            continue;
                        }
                        Some((v, _, _)) => v + 1,
                        None => 1,
                    };
                    let sig = self.store.signer.sign(&r.posting_number, version, &hash);
                    outbox.published(now, &r.posting_number, version, &hash);
                    upserts.push(&r, version, content, hash, sig);
                    stored += 1;
                }
                (
                    Intake::Close {
                        posting_number,
                        reason,
                    },
                    _,
                ) => match existing.get(&posting_number) {
                    Some((_, _, false)) => closes.push((idx, posting_number, reason)),
                    // Unknown or already withdrawn: nothing to do.
                    _ => unchanged += 1,
                },
                (Intake::Live(_), None) => {}
            }
        }
        upserts
            .write(&mut tx, self.store.signer.key_id(), now)
            .await?;
        let mut withdrawn_results = Vec::new();
        if !closes.is_empty() {
            let (numbers, reasons): (Vec<String>, Vec<String>) = closes
                .iter()
                .map(|(_, n, r)| (n.clone(), r.clone()))
                .unzip();
            let done = withdraw(&mut tx, &numbers, &reasons, None, now, &mut outbox).await?;
            for (idx, n, _) in &closes {
                if let Some(v) = done.get(n) {
                    withdrawn_results.push(pb::IngestResult {
                        index: *idx,
                        posting_number: n.clone(),
                        outcome: "withdrawn".into(),
                        version: *v,
                        ..Default::default()
                    });
                }
            }
        }
        outbox.stage(&mut tx).await?;
        notify_feed(&mut tx).await?;
        tx.commit().await?;
        self.summary.stored += stored;
        self.summary.unchanged += unchanged;
        self.summary.withdrawn += withdrawn_results.len() as i64;
        let room = MAX_RESULTS.saturating_sub(self.summary.results.len());
        self.summary
            .results
            .extend(withdrawn_results.into_iter().take(room));
        Ok(())
    }

    /// Write what is left; in full-snapshot mode, withdraw every posting the snapshot did not hold
    /// (only when it ended with snapshot_end and the count matches: else nothing is withdrawn and
    /// the answer is the error).
    pub async fn finish(mut self) -> Result<pb::IngestSummary, FinishError> {
        self.flush().await?;
        if let Some(s) = self.snapshot.take() {
            match s.end {
                Some(n) if n == s.received && s.received > 0 => self.withdraw_absent(s).await?,
                Some(0) | None if s.received == 0 => {
                    return Err(FinishError::Incomplete(
                        "a full snapshot with no postings would withdraw every posting: refused"
                            .into(),
                    ));
                }
                Some(n) => {
                    return Err(FinishError::Incomplete(format!(
                        "snapshot_end says {n} postings but {} arrived: the snapshot is incomplete, nothing was withdrawn (the postings received were stored)",
                        s.received
                    )));
                }
                None => {
                    return Err(FinishError::Incomplete(
                        "the snapshot ended without snapshot_end: nothing was withdrawn (the postings received were stored)".into(),
                    ));
                }
            }
        }
        let mut conn = self.store.db.pool().acquire().await?;
        self.summary.cursor = head(&mut conn).await?.to_string();
        self.summary.results.sort_by_key(|r| r.index);
        Ok(self.summary)
    }

    async fn withdraw_absent(&mut self, s: Snapshot) -> Result<(), sqlx::Error> {
        let mut absent = Vec::new();
        {
            let mut conn = self.store.db.pool().acquire().await?;
            let mut rows = sqlx::query_scalar::<_, String>(
                "SELECT posting_number FROM postings WHERE NOT withdrawn AND seq <= $1",
            )
            .bind(s.start)
            .fetch(&mut *conn);
            while let Some(n) = rows.try_next().await? {
                if number_key(&n).is_none_or(|k| !s.seen.contains(&k)) {
                    absent.push(n);
                }
            }
        }
        let reason = format!("absent from full snapshot {}", s.id);
        for chunk in absent.chunks(BATCH * 4) {
            let mut tx = self.store.db.pool().begin().await?;
            lock_feed(&mut tx).await?;
            let mut outbox = Outbox::default();
            let reasons = vec![reason.clone(); chunk.len()];
            let done = withdraw(
                &mut tx,
                chunk,
                &reasons,
                Some(s.start),
                self.now,
                &mut outbox,
            )
            .await?;
            outbox.stage(&mut tx).await?;
            notify_feed(&mut tx).await?;
            tx.commit().await?;
            self.summary.withdrawn += done.len() as i64;
            for n in chunk {
                if self.summary.results.len() >= MAX_RESULTS {
                    break;
                }
                if let Some(v) = done.get(n) {
                    self.summary.results.push(pb::IngestResult {
                        index: 0,
                        posting_number: n.clone(),
                        outcome: "withdrawn".into(),
                        version: *v,
                        message: reason.clone(),
                        ..Default::default()
                    });
                }
            }
        }
        Ok(())
    }
}

impl Store {
    /// Withdraw every live posting whose last valid day is before `today` (J6), a batch per
    /// transaction under the feed lock; returns how many.
    pub async fn withdraw_expired(
        &self,
        today: chrono::NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<u64, sqlx::Error> {
        let mut total = 0;
        loop {
            let mut tx = self.db.pool().begin().await?;
            lock_feed(&mut tx).await?;
            let numbers: Vec<String> = sqlx::query_scalar(
                "SELECT posting_number FROM postings WHERE NOT withdrawn AND valid_until < $1 LIMIT $2",
            )
            .bind(today)
            .bind((BATCH * 4) as i64)
            .fetch_all(&mut *tx)
            .await?;
            if numbers.is_empty() {
                return Ok(total);
            }
            let reasons = vec![EXPIRED.to_owned(); numbers.len()];
            let mut outbox = Outbox::default();
            let done = withdraw(&mut tx, &numbers, &reasons, None, now, &mut outbox).await?;
            outbox.stage(&mut tx).await?;
            notify_feed(&mut tx).await?;
            tx.commit().await?;
            total += done.len() as u64;
        }
    }
}

/// The columns a served record is read from (with the J8 addition of the organisation `$1`).
pub const SERVED_COLUMNS: &str = "p.posting_number, p.version, p.seq, p.withdrawn, p.content, p.content_hash, p.signature, p.key_id, p.updated_at, a.text";

/// One row of the feed.
#[derive(Debug, Clone)]
pub struct FeedRow {
    pub posting_number: String,
    pub seq: i64,
    pub withdrawn: bool,
    pub served: Served,
}

pub fn feed_row(r: &sqlx::postgres::PgRow) -> Result<FeedRow, sqlx::Error> {
    Ok(FeedRow {
        posting_number: r.try_get(0)?,
        seq: r.try_get(2)?,
        withdrawn: r.try_get(3)?,
        served: Served {
            version: i64::from(r.try_get::<i32, _>(1)?),
            content: r.try_get(4)?,
            content_hash: r.try_get(5)?,
            signature: r.try_get(6)?,
            key_id: r.try_get(7)?,
            updated_at: r.try_get(8)?,
            addition: r.try_get(9)?,
        },
    })
}

impl Store {
    /// Changes after `cursor`, oldest first.
    pub async fn changes(
        &self,
        cursor: i64,
        limit: i64,
        organisation: Uuid,
    ) -> Result<Vec<FeedRow>, sqlx::Error> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {SERVED_COLUMNS} FROM postings p
               LEFT JOIN additions a ON a.organisation_id = $1 AND a.posting_number = p.posting_number
              WHERE p.seq > $2 ORDER BY p.seq LIMIT $3"
        )))
        .bind(organisation)
        .bind(cursor)
        .bind(limit)
        .fetch_all(self.db.pool())
        .await?;
        rows.iter().map(feed_row).collect()
    }

    /// The newest position.
    pub async fn head(&self) -> Result<i64, sqlx::Error> {
        let mut conn = self.db.pool().acquire().await?;
        head(&mut conn).await
    }

    /// One posting as an organisation sees it.
    pub async fn posting(
        &self,
        number: &str,
        organisation: Uuid,
    ) -> Result<Option<FeedRow>, sqlx::Error> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {SERVED_COLUMNS} FROM postings p
               LEFT JOIN additions a ON a.organisation_id = $1 AND a.posting_number = p.posting_number
              WHERE p.posting_number = $2"
        )))
        .bind(organisation)
        .bind(number)
        .fetch_optional(self.db.pool())
        .await?;
        row.as_ref().map(feed_row).transpose()
    }
}
