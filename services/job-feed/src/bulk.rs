//! Bulk loads straight into the store, for demos and benchmarks: postings are checked, hashed and
//! signed exactly as ingest does, then COPYed in under the feed lock. A bulk load only adds
//! postings the store does not have (existing numbers are skipped and counted); it stages no
//! per-posting events. Changes to existing postings go through ingest.

use std::sync::mpsc as std_mpsc;

use chrono::{DateTime, Utc};
use hwx_platform::db::Database;
use hwx_proto::jobfeed::v1::PostingContent;

use crate::signing::Signer;
use crate::store::{lock_feed, notify_feed, sql};
use hwx_posting::record::{self, Intake};

/// Postings per COPY transaction.
pub const CHUNK: u64 = 20_000;

fn escape(out: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            _ => out.push(c),
        }
    }
}

/// One COPY text row of a first version, or why the posting cannot be stored.
pub fn copy_row(
    p: &PostingContent,
    signer: &Signer,
    now: &str,
    out: &mut String,
) -> Result<(), record::Refusal> {
    let r = match record::intake(p)? {
        Intake::Live(r) => r,
        // Closed postings are not loaded.
        Intake::Close { .. } => return Ok(()),
    };
    let content = r.canonical();
    let hash = record::hash_hex(content.as_bytes());
    let sig = signer.sign(&r.posting_number, 1, &hash);
    let fields = [
        r.posting_number.as_str(),
        "1",
        &content,
        &hash,
        &format!("\\x{}", hex::encode(sig)),
        signer.key_id(),
        &r.prefecture_code,
        &r.occupation_code,
        &r.industry_code,
        &r.employment_type,
        now,
        &r.valid_until,
    ];
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push('\t');
        }
        escape(out, f);
    }
    out.push('\n');
    Ok(())
}

/// Load one chunk of COPY rows (of the postings `numbers`); returns how many were new.
pub async fn load_chunk(db: &Database, rows: &str, numbers: &[String]) -> Result<u64, sqlx::Error> {
    let mut tx = db.pool().begin().await?;
    lock_feed(&mut tx).await?;
    let clash: bool = sqlx::query_scalar(sql::ANY_STORED)
        .bind(numbers)
        .fetch_one(&mut *tx)
        .await?;
    if !clash {
        // All new (the usual bulk load): straight in, positions taken under the lock.
        let mut copy = tx.copy_in_raw(sql::COPY_POSTINGS).await?;
        copy.send(rows.as_bytes()).await?;
        let inserted = copy.finish().await?;
        notify_feed(&mut tx).await?;
        tx.commit().await?;
        return Ok(inserted);
    }
    sqlx::raw_sql(sql::BULK_TABLE).execute(&mut *tx).await?;
    let mut copy = tx.copy_in_raw(sql::COPY_BULK).await?;
    copy.send(rows.as_bytes()).await?;
    copy.finish().await?;
    let inserted = sqlx::query(sql::BULK_INSERT)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    notify_feed(&mut tx).await?;
    tx.commit().await?;
    Ok(inserted)
}

/// A generated chunk: how many postings, their COPY rows, their numbers, how many were refused.
type Chunk = (u64, String, Vec<String>, u64);

/// What a bulk load did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Loaded {
    pub inserted: u64,
    pub skipped: u64,
    pub refused: u64,
}

/// Generate `count` postings from serial `start` and load them: two threads generate, check, hash
/// and sign while the database takes the previous chunk. `progress` gets the running total.
pub async fn load_generated(
    db: &Database,
    signer: &Signer,
    start: u64,
    count: u64,
    revision: u32,
    now: DateTime<Utc>,
    mut progress: impl FnMut(u64),
) -> Result<Loaded, sqlx::Error> {
    let now = now.to_rfc3339();
    let chunks: Vec<(u64, u64)> = (0..count.div_ceil(CHUNK))
        .map(|c| (c * CHUNK, ((c + 1) * CHUNK).min(count)))
        .collect();
    let (tx, rx) = std_mpsc::sync_channel::<Chunk>(2);
    let workers = 2usize;
    let mut handles = Vec::new();
    for w in 0..workers {
        let tx = tx.clone();
        let mine: Vec<(u64, u64)> = chunks.iter().copied().skip(w).step_by(workers).collect();
        let signer = signer.clone();
        let now = now.clone();
        handles.push(std::thread::spawn(move || {
            for (from, to) in mine {
                let mut out = String::with_capacity(((to - from) * 2200) as usize);
                let mut numbers = Vec::with_capacity((to - from) as usize);
                let mut refused = 0;
                for i in from..to {
                    let p = crate::generate::posting(start, i, revision);
                    match copy_row(&p, &signer, &now, &mut out) {
                        Ok(()) => numbers.push(p.posting_number),
                        Err(_) => refused += 1,
                    }
                }
                if tx.send((to - from, out, numbers, refused)).is_err() {
                    return;
                }
            }
        }));
    }
    drop(tx);
    let mut loaded = Loaded::default();
    let mut done = 0;
    // The receiving side blocks: take chunks on a blocking thread, one at a time.
    let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
    loop {
        let rx = rx.clone();
        let next = tokio::task::spawn_blocking(move || {
            rx.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .recv()
                .ok()
        })
        .await
        .ok()
        .flatten();
        let Some((n, rows, numbers, refused)) = next else {
            break;
        };
        let inserted = load_chunk(db, &rows, &numbers).await?;
        loaded.inserted += inserted;
        loaded.refused += refused;
        loaded.skipped += n - refused - inserted;
        done += n;
        progress(done);
    }
    for h in handles {
        let _ = h.join();
    }
    Ok(loaded)
}
