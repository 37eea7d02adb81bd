//! Snapshots: the whole current feed, or a filtered part, from one consistent database snapshot,
//! streamed in constant memory (a server-side cursor, fetched a page at a time, into a bounded
//! channel), ending with the cursor the change feed continues from.

use chrono::{DateTime, Utc};
use hwx_proto::jobfeed::v1 as pb;
use sqlx::Row;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::store::{self, feed_row};
use hwx_posting::record;

/// Formatted bytes per chunk sent.
const CHUNK_BYTES: usize = 256 * 1024;
/// Posting messages per chunk of the gRPC format.
const CHUNK_POSTINGS: usize = 200;
/// A client that takes nothing for this long loses its download (and its database snapshot).
pub const STALLED: std::time::Duration = std::time::Duration::from_secs(120);
/// Pages between two looks at the organisation's enrolment: a suspension also ends a download.
const RECHECK_PAGES: u32 = 10;

/// What part of the feed to export.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub prefectures: Vec<String>,
    pub occupation_prefix: String,
    /// JSIC codes or prefixes (a division letter selects the division).
    pub industries: Vec<String>,
    pub employment_types: Vec<String>,
    pub updated_since: Option<DateTime<Utc>>,
}

impl Filter {
    pub fn from_proto(r: &pb::ExportSnapshotRequest) -> Self {
        let clean = |v: &[String]| -> Vec<String> {
            v.iter()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        };
        Filter {
            prefectures: clean(&r.prefecture_codes),
            occupation_prefix: r.occupation_prefix.trim().to_owned(),
            industries: clean(&r.industry_codes),
            employment_types: clean(&r.employment_types),
            updated_since: r
                .updated_since
                .as_ref()
                .and_then(hwx_platform::grpc::instant),
        }
    }

    /// A stable description, for the ETag and the access log.
    pub fn describe(&self) -> String {
        format!(
            "prefecture={};occupation={};industry={};employment_type={};updated_since={}",
            self.prefectures.join(","),
            self.occupation_prefix,
            self.industries.join(","),
            self.employment_types.join(","),
            // JST like the rest of the API, to the microsecond: two filters apart by less than a
            // second are two filters (the ETag).
            self.updated_since
                .map(|t| hwx_rules::jst::to_jst(&t).to_rfc3339())
                .unwrap_or_default()
        )
    }
}

/// Why an export stopped early.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error("stored content is not valid: {0}")]
    Content(String),
    /// The receiver went away (the client disconnected), or stopped reading.
    #[error("the client went away")]
    Gone,
    /// The organisation lost access during the download (told to the client already).
    #[error("access ended during the download")]
    Refused,
}

/// How many records went out, and the cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exported {
    pub records: i64,
    pub cursor: i64,
}

struct Sink<'a> {
    tx: &'a mpsc::Sender<Result<pb::SnapshotChunk, tonic::Status>>,
    format: pb::SnapshotFormat,
    /// CSV formats only.
    csv: Option<record::CsvWriter>,
    bytes: Vec<u8>,
    postings: Vec<pb::Posting>,
}

impl Sink<'_> {
    fn full(&self) -> bool {
        self.csv.as_ref().is_some_and(|c| c.len() >= CHUNK_BYTES)
            || self.bytes.len() >= CHUNK_BYTES
            || self.postings.len() >= CHUNK_POSTINGS
    }

    fn take(&mut self) -> pb::SnapshotChunk {
        let data = match (self.format, &mut self.csv) {
            (pb::SnapshotFormat::CsvShiftJis, Some(csv)) => record::to_shift_jis(&csv.take()),
            (_, Some(csv)) => csv.take().into_bytes(),
            (_, None) => std::mem::take(&mut self.bytes),
        };
        pb::SnapshotChunk {
            postings: std::mem::take(&mut self.postings),
            data,
            ..Default::default()
        }
    }

    async fn send(&self, chunk: pb::SnapshotChunk) -> Result<(), ExportError> {
        match tokio::time::timeout(STALLED, self.tx.send(Ok(chunk))).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(ExportError::Gone),
        }
    }

    async fn flush(&mut self) -> Result<(), ExportError> {
        let chunk = self.take();
        if chunk.postings.is_empty() && chunk.data.is_empty() {
            return Ok(());
        }
        self.send(chunk).await
    }
}

/// Export into `tx`. The first chunk carries the cursor (for an ETag before any row) and the count
/// the snapshot will hold (for a header a client checks its file against), the last one the
/// cursor again, the record count and `last`.
pub async fn export(
    db: &hwx_platform::db::Database,
    access: &crate::access::Access,
    filter: &Filter,
    format: pb::SnapshotFormat,
    organisation: Uuid,
    tx: &mpsc::Sender<Result<pb::SnapshotChunk, tonic::Status>>,
    unless_version: Option<&str>,
) -> Result<Exported, ExportError> {
    let mut conn = db.pool().acquire().await?;
    sqlx::raw_sql(store::sql::BEGIN_SNAPSHOT)
        .execute(&mut *conn)
        .await?;
    let result = export_in(
        &mut conn,
        access,
        filter,
        format,
        organisation,
        tx,
        unless_version,
    )
    .await;
    // Read-only: ending it either way is the same.
    let _ = sqlx::raw_sql(store::sql::END_SNAPSHOT)
        .execute(&mut *conn)
        .await;
    result
}

async fn export_in(
    conn: &mut sqlx::PgConnection,
    access: &crate::access::Access,
    filter: &Filter,
    format: pb::SnapshotFormat,
    organisation: Uuid,
    tx: &mpsc::Sender<Result<pb::SnapshotChunk, tonic::Status>>,
    unless_version: Option<&str>,
) -> Result<Exported, ExportError> {
    // The first query fixes the snapshot: the head and the rows are of the same moment.
    let cursor = store::head(conn).await?;
    let csv = matches!(
        format,
        pb::SnapshotFormat::Csv | pb::SnapshotFormat::CsvShiftJis
    );
    let mut sink = Sink {
        tx,
        format,
        csv: csv.then(record::CsvWriter::new),
        bytes: Vec::new(),
        postings: Vec::new(),
    };
    // The caller's J8 additions are part of what it downloads: they change the version too.
    let (adds, digest): (i64, String) = sqlx::query_as(store::sql::ADDITIONS_DIGEST)
        .bind(organisation)
        .fetch_one(&mut *conn)
        .await?;
    let version_tag = format!("{cursor}.{adds}.{}", &digest[..digest.len().min(12)]);
    if unless_version == Some(version_tag.as_str()) {
        // The caller holds this very snapshot (a 304 poll): no count, no rows, no CSV header.
        sink.send(pb::SnapshotChunk {
            cursor: cursor.to_string(),
            version_tag,
            last: true,
            ..Default::default()
        })
        .await?;
        return Ok(Exported { records: 0, cursor });
    }
    let industries: Vec<String> = filter
        .industries
        .iter()
        .map(|i| format!("{}%", i.replace(['%', '_'], "")))
        .collect();
    // The count and the rows take the same filter, bound the same way ($1–$6).
    let bind = |q: sqlx::query::Query<'static, sqlx::Postgres, sqlx::postgres::PgArguments>| {
        q.bind(organisation)
            .bind(filter.prefectures.clone())
            .bind(filter.occupation_prefix.clone())
            .bind(industries.clone())
            .bind(filter.employment_types.clone())
            .bind(filter.updated_since)
    };
    let expected: i64 = bind(sqlx::query(store::sql::SNAPSHOT_COUNT))
        .fetch_one(&mut *conn)
        .await?
        .try_get(0)?;
    let mut first = sink.take();
    first.cursor = cursor.to_string();
    first.records = expected;
    first.version_tag = version_tag;
    sink.send(first).await?;

    // Most organisations add nothing (J8): then a row needs no look into `additions`.
    let declare = if adds > 0 {
        store::sql::SNAPSHOT_WITH_ADDITIONS
    } else {
        store::sql::SNAPSHOT
    };
    bind(sqlx::query(declare)).execute(&mut *conn).await?;
    let mut records = 0i64;
    let mut pages = 0u32;
    loop {
        pages += 1;
        if pages.is_multiple_of(RECHECK_PAGES)
            && let Err(e) = access.may_read(organisation).await
        {
            let _ = tokio::time::timeout(STALLED, tx.send(Err(e.into()))).await;
            return Err(ExportError::Refused);
        }
        let rows = sqlx::query(store::sql::FETCH).fetch_all(&mut *conn).await?;
        if rows.is_empty() {
            break;
        }
        for r in &rows {
            let row = feed_row(r)?;
            match format {
                pb::SnapshotFormat::Csv | pb::SnapshotFormat::CsvShiftJis => {
                    if let Some(csv) = &mut sink.csv {
                        csv.row(&row.served).map_err(ExportError::Content)?;
                    }
                }
                pb::SnapshotFormat::Ndjson => {
                    row.served
                        .write_json(&mut sink.bytes)
                        .map_err(ExportError::Content)?;
                    sink.bytes.push(b'\n');
                }
                pb::SnapshotFormat::Unspecified => sink.postings.push(
                    row.served
                        .to_proto()
                        .map_err(|e| ExportError::Content(e.to_string()))?,
                ),
            }
            records += 1;
            if sink.full() {
                sink.flush().await?;
            }
        }
    }
    if format == pb::SnapshotFormat::Ndjson {
        sink.bytes.extend_from_slice(
            format!("{{\"cursor\":\"{cursor}\",\"records\":{records}}}\n").as_bytes(),
        );
    }
    let mut last = sink.take();
    last.cursor = cursor.to_string();
    last.records = records;
    last.last = true;
    sink.send(last).await?;
    Ok(Exported { records, cursor })
}
