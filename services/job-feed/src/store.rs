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
use hwx_platform::events::{Batch, Outbox};
use hwx_posting::record::{self, Intake, PostingRecord, Refusal, Served};
use hwx_proto::events::v1 as ev;
use hwx_proto::jobfeed::v1 as pb;
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use crate::signing::Signer;

/// Why a posting past its `valid_until` was withdrawn.
pub const EXPIRED: &str = "past its valid_until";

/// Records per ingest transaction.
pub const BATCH: usize = 500;

pub use hwx_posting::MAX_RESULTS;

/// The SQL of the job feed, checked against the migrated schema by `tests/feed/sql.rs`.
pub mod sql {
    /// The columns a served record is read from (with the J8 addition of the organisation `$1`).
    macro_rules! served_columns {
        () => {
            "p.posting_number, p.version, p.seq, p.withdrawn, p.content, p.content_hash, p.signature, p.key_id, p.updated_at, a.text"
        };
    }
    /// The same without the join to `additions`, for a caller that added nothing.
    macro_rules! served_columns_alone {
        () => {
            "p.posting_number, p.version, p.seq, p.withdrawn, p.content, p.content_hash, p.signature, p.key_id, p.updated_at, NULL::text AS text"
        };
    }
    /// A snapshot's filter: prefectures, occupation prefix, industries, employment types, changed
    /// since.
    macro_rules! snapshot_filter {
        () => {
            " WHERE ($1::uuid IS NOT NULL) AND NOT p.withdrawn
                AND (cardinality($2::text[]) = 0 OR p.prefecture_code = ANY($2))
                AND ($3 = '' OR starts_with(p.occupation_code, $3))
                AND (cardinality($4::text[]) = 0 OR p.industry_code LIKE ANY($4))
                AND (cardinality($5::text[]) = 0 OR p.employment_type = ANY($5))
                AND ($6::timestamptz IS NULL OR p.updated_at >= $6)"
        };
    }
    /// The columns of a bulk load.
    macro_rules! bulk_columns {
        () => {
            "posting_number, version, content, content_hash, signature, key_id,
             prefecture_code, occupation_code, industry_code, employment_type, updated_at, valid_until"
        };
    }

    hwx_platform::statements! {
        /// The feed lock, until the transaction ends.
        LOCK_FEED = "SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || '.feed', 0))";
        NOTIFY_FEED = "SELECT pg_notify('hwx_feed_' || current_schema(), '')";
        HEAD = "SELECT COALESCE(max(seq), 0)::bigint FROM postings";
        /// A batch of new versions, bound column by column.
        UPSERT_POSTINGS = "INSERT INTO postings (posting_number, version, seq, withdrawn, withdrawn_reason, content, content_hash,
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
               valid_until = EXCLUDED.valid_until";
        /// Tombstones: only postings still live and, with `$3`, unchanged since that position.
        WITHDRAW = "UPDATE postings p SET withdrawn = true, withdrawn_reason = t.r, seq = nextval('feed_seq'), updated_at = $4
           FROM UNNEST($1::text[], $2::text[]) AS t(n, r)
          WHERE p.posting_number = t.n AND NOT p.withdrawn AND ($3::bigint IS NULL OR p.seq <= $3)
         RETURNING p.posting_number, p.version, t.r";
        STORED_HASHES = "SELECT posting_number, version, content_hash, withdrawn FROM postings WHERE posting_number = ANY($1)";
        LIVE_UP_TO = "SELECT posting_number FROM postings WHERE NOT withdrawn AND seq <= $1";
        EXPIRED = "SELECT posting_number FROM postings WHERE NOT withdrawn AND valid_until < $1 LIMIT $2";
        REMOVE_ADDITION = "DELETE FROM additions WHERE organisation_id = $1 AND posting_number = $2";
        SET_ADDITION = "INSERT INTO additions (organisation_id, posting_number, text, consented_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (organisation_id, posting_number) DO UPDATE SET text = EXCLUDED.text, consented_at = EXCLUDED.consented_at";
        LOG_READ = "INSERT INTO access_log (organisation_id, account_id, action, detail, records, at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";
        LOG_COUNT = "UPDATE access_log SET records = $2 WHERE id = $1";
        /// Newest first, a page at a time: `$3` is the last ID of the previous page.
        READS = "SELECT organisation_id, account_id, action, detail, records, at, id FROM access_log
          WHERE organisation_id = $1 AND ($3::bigint IS NULL OR id < $3) ORDER BY id DESC LIMIT $2";
        ENROLMENT = "SELECT status, valid_from, valid_until FROM enrolments WHERE organisation_id = $1";
        /// An older announcement (a redelivery after a newer one) changes nothing.
        RECORD_ENROLMENT = "INSERT INTO enrolments (organisation_id, status, valid_from, valid_until, changed_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (organisation_id) DO UPDATE SET
           status = EXCLUDED.status,
           valid_from = COALESCE(EXCLUDED.valid_from, enrolments.valid_from),
           valid_until = COALESCE(EXCLUDED.valid_until, enrolments.valid_until),
           changed_at = EXCLUDED.changed_at
         WHERE enrolments.changed_at <= EXCLUDED.changed_at";
        NOTIFY_ACCESS = "SELECT pg_notify('hwx_access_' || current_schema(), $1)";
        KEPT_KEY = "SELECT secret FROM signing_keys ORDER BY created_at, key_id LIMIT 1";
        /// Two replicas starting at once: the first key wins and both use it.
        KEEP_KEY = "INSERT INTO signing_keys (key_id, secret, public_key)
             SELECT $1, $2, $3 WHERE NOT EXISTS (SELECT 1 FROM signing_keys)";
        ANY_STORED = "SELECT EXISTS (SELECT 1 FROM postings WHERE posting_number = ANY($1))";
        BULK_TABLE = "CREATE TEMP TABLE IF NOT EXISTS bulk_postings (
            posting_number text, version integer, content text, content_hash text, signature bytea,
            key_id text, prefecture_code text, occupation_code text, industry_code text,
            employment_type text, updated_at timestamptz, valid_until date) ON COMMIT DELETE ROWS";
        BEGIN_SNAPSHOT = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
        END_SNAPSHOT = "ROLLBACK";
        /// The caller's J8 additions: how many, and a digest that changes when one does.
        ADDITIONS_DIGEST = "SELECT count(*), COALESCE(md5(string_agg(posting_number || ':' || text, '|' ORDER BY posting_number)), '')
           FROM additions WHERE organisation_id = $1";
        /// Changes after a cursor, oldest first.
        CHANGES = concat!(
            "SELECT ", served_columns!(), " FROM postings p
               LEFT JOIN additions a ON a.organisation_id = $1 AND a.posting_number = p.posting_number
              WHERE p.seq > $2 ORDER BY p.seq LIMIT $3"
        );
        POSTING = concat!(
            "SELECT ", served_columns!(), " FROM postings p
               LEFT JOIN additions a ON a.organisation_id = $1 AND a.posting_number = p.posting_number
              WHERE p.posting_number = $2"
        );
        /// A snapshot, for a caller with J8 additions.
        SNAPSHOT_WITH_ADDITIONS = concat!(
            "DECLARE snapshot NO SCROLL CURSOR FOR SELECT ", served_columns!(), " FROM postings p
               LEFT JOIN additions a ON a.organisation_id = $1 AND a.posting_number = p.posting_number",
            snapshot_filter!()
        );
        /// How many postings a snapshot will hold, counted in its own database snapshot, so a
        /// download can say up front how many records a whole file has.
        SNAPSHOT_COUNT = concat!("SELECT count(*) FROM postings p", snapshot_filter!());
        /// A snapshot, for a caller without (most): no row needs a look into `additions`.
        SNAPSHOT = concat!(
            "DECLARE snapshot NO SCROLL CURSOR FOR SELECT ", served_columns_alone!(), " FROM postings p",
            snapshot_filter!()
        );
        /// A bulk load that met postings already stored: the new ones only.
        BULK_INSERT = concat!(
            "INSERT INTO postings (", bulk_columns!(), ") SELECT ", bulk_columns!(),
            " FROM bulk_postings ON CONFLICT (posting_number) DO NOTHING"
        );
        /// Rows of the snapshot's cursor per FETCH (inside [`SNAPSHOT`]'s transaction).
        FETCH = "FETCH 2000 FROM snapshot";
        /// A bulk load of new postings, straight in.
        COPY_POSTINGS = concat!("COPY postings (", bulk_columns!(), ") FROM STDIN");
        /// A bulk load into the session's scratch table ([`BULK_TABLE`]).
        COPY_BULK = concat!("COPY bulk_postings (", bulk_columns!(), ") FROM STDIN");
    }
}

/// Take the feed lock for the rest of the transaction.
pub async fn lock_feed(tx: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query(sql::LOCK_FEED).execute(&mut *tx).await?;
    Ok(())
}

/// Wake every watcher of this schema's feed when the transaction commits.
pub async fn notify_feed(tx: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query(sql::NOTIFY_FEED).execute(&mut *tx).await?;
    Ok(())
}

/// The newest position visible to the transaction.
pub async fn head(conn: &mut PgConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(sql::HEAD).fetch_one(conn).await
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

/// `posting.published` for a new version.
fn published(batch: &mut Batch, number: &str, version: i64, hash: &str) {
    batch.push(ev::PostingPublished {
        meta: None,
        posting_number: number.to_owned(),
        version,
        content_hash: hash.to_owned(),
    });
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
        sqlx::query(sql::UPSERT_POSTINGS)
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
    batch: &mut Batch,
) -> Result<HashMap<String, i64>, sqlx::Error> {
    let rows = sqlx::query(sql::WITHDRAW)
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
        batch.push(ev::PostingWithdrawn {
            meta: None,
            posting_number: n.clone(),
            reason,
        });
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
    pub outbox: Outbox,
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
    /// Records that were not postings: which postings they were is unknown, so nothing is
    /// withdrawn.
    malformed: i64,
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
            return Err("a snapshot starts with its first message (gRPC snapshot_start); this one came later".into());
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
            malformed: 0,
            seen: HashSet::new(),
        });
        Ok(())
    }

    /// The snapshot's last message: how many postings it sent.
    pub fn end_snapshot(&mut self, count: i64) -> Result<(), String> {
        match &mut self.snapshot {
            None => Err("the snapshot was closed (gRPC snapshot_end) without being started (snapshot_start)".into()),
            Some(s) if s.end.is_some() => Err("the snapshot was closed twice (gRPC snapshot_end)".into()),
            Some(s) => {
                s.end = Some(count);
                Ok(())
            }
        }
    }

    /// A record the sender could not read: refused, with the sender's reason.
    pub fn malformed(&mut self, message: String) {
        self.index += 1;
        if let Some(s) = &mut self.snapshot {
            s.received += 1;
            s.malformed += 1;
        }
        self.summary.refused += 1;
        if self.summary.results.len() < MAX_RESULTS {
            self.summary.results.push(pb::IngestResult {
                index: self.index,
                outcome: "refused".into(),
                message,
                ..Default::default()
            });
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
        let existing: HashMap<String, (i64, String, bool)> = sqlx::query(sql::STORED_HASHES)
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
        let mut outbox = self.store.outbox.batch();
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
                    published(&mut outbox, &r.posting_number, version, &hash);
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
            if s.malformed > 0 {
                return Err(FinishError::Incomplete(format!(
                    "{} records of the snapshot were not postings, so it may be incomplete: nothing was withdrawn (the postings received were stored)",
                    s.malformed
                )));
            }
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
                        "the snapshot announced {n} postings (HTTP count, gRPC snapshot_end) but {} arrived: it is incomplete, so nothing was withdrawn (the postings received were stored)",
                        s.received
                    )));
                }
                None => {
                    return Err(FinishError::Incomplete(
                        "the snapshot was not closed (gRPC snapshot_end), so it may be incomplete: nothing was withdrawn (the postings received were stored)".into(),
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
            let mut rows = sqlx::query_scalar::<_, String>(sql::LIVE_UP_TO)
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
            let mut outbox = self.store.outbox.batch();
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
            let numbers: Vec<String> = sqlx::query_scalar(sql::EXPIRED)
                .bind(today)
                .bind((BATCH * 4) as i64)
                .fetch_all(&mut *tx)
                .await?;
            if numbers.is_empty() {
                return Ok(total);
            }
            let reasons = vec![EXPIRED.to_owned(); numbers.len()];
            let mut outbox = self.outbox.batch();
            let done = withdraw(&mut tx, &numbers, &reasons, None, now, &mut outbox).await?;
            outbox.stage(&mut tx).await?;
            notify_feed(&mut tx).await?;
            tx.commit().await?;
            total += done.len() as u64;
        }
    }
}

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
        let rows = sqlx::query(sql::CHANGES)
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
        let row = sqlx::query(sql::POSTING)
            .bind(organisation)
            .bind(number)
            .fetch_optional(self.db.pool())
            .await?;
        row.as_ref().map(feed_row).transpose()
    }
}

/// J8: the organisation's addition to a posting (empty text removes it).
pub async fn set_addition(
    db: &Database,
    organisation: Uuid,
    number: &str,
    text: &str,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    if text.is_empty() {
        sqlx::query(sql::REMOVE_ADDITION)
            .bind(organisation)
            .bind(number)
            .execute(db.pool())
            .await?;
    } else {
        sqlx::query(sql::SET_ADDITION)
            .bind(organisation)
            .bind(number)
            .bind(text)
            .bind(at)
            .execute(db.pool())
            .await?;
    }
    Ok(())
}

/// One read of the feed, as the access log keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Read {
    pub organisation_id: Uuid,
    pub account_id: Uuid,
    /// changes, watch, snapshot, posting, addition.
    pub action: String,
    pub detail: String,
    pub records: i64,
    pub at: DateTime<Utc>,
    /// Its position in the log (page tokens).
    pub id: i64,
}

/// Record a read; returns the entry's id so a long read can record its count at the end.
pub async fn log_read(db: &Database, read: &Read) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(sql::LOG_READ)
        .bind(read.organisation_id)
        .bind(read.account_id)
        .bind(&read.action)
        .bind(&read.detail)
        .bind(read.records)
        .bind(read.at)
        .fetch_one(db.pool())
        .await
}

/// The final record count of a long read.
pub async fn log_count(db: &Database, id: i64, records: i64) -> Result<(), sqlx::Error> {
    sqlx::query(sql::LOG_COUNT)
        .bind(id)
        .bind(records)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// An organisation's reads, newest first.
pub async fn reads(
    db: &Database,
    organisation: Uuid,
    limit: i64,
    before: Option<i64>,
) -> Result<Vec<Read>, sqlx::Error> {
    let rows = sqlx::query(sql::READS)
        .bind(organisation)
        .bind(limit)
        .bind(before)
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Read {
                organisation_id: r.try_get(0)?,
                account_id: r.try_get(1)?,
                action: r.try_get(2)?,
                detail: r.try_get(3)?,
                records: r.try_get(4)?,
                at: r.try_get(5)?,
                id: r.try_get(6)?,
            })
        })
        .collect()
}

/// This service's copy of an organisation's S-JOB enrolment, as registration last announced it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enrolment {
    pub status: hwx_rules::access::EnrolmentStatus,
    pub valid_from: Option<chrono::NaiveDate>,
    pub valid_until: Option<chrono::NaiveDate>,
}

pub async fn enrolment(
    db: &Database,
    organisation: Uuid,
) -> Result<Option<Enrolment>, sqlx::Error> {
    use hwx_platform::codes::Code;
    let row = sqlx::query(sql::ENROLMENT)
        .bind(organisation)
        .fetch_optional(db.pool())
        .await?;
    row.map(|r| {
        Ok(Enrolment {
            status: Code::decode(&r.try_get::<String, _>(0)?)?,
            valid_from: r.try_get(1)?,
            valid_until: r.try_get(2)?,
        })
    })
    .transpose()
}

/// Record an announced enrolment change in the consumer's transaction, and wake the
/// organisation's live streams on every replica. An announcement older than the stored one (a
/// redelivery after a newer event) changes nothing.
pub async fn record_enrolment(
    tx: &mut PgConnection,
    organisation: Uuid,
    e: Enrolment,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    use hwx_platform::codes::Code;
    sqlx::query(sql::RECORD_ENROLMENT)
        .bind(organisation)
        .bind(e.status.as_str())
        .bind(e.valid_from)
        .bind(e.valid_until)
        .bind(at)
        .execute(&mut *tx)
        .await?;
    sqlx::query(sql::NOTIFY_ACCESS)
        .bind(organisation.to_string())
        .execute(&mut *tx)
        .await?;
    Ok(())
}
