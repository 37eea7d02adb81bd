//! `/v1/feed`: the job feed over HTTP. Ingest of NDJSON (role upstream), the change feed (a page
//! after a cursor, or a live NDJSON stream), snapshots as CSV (UTF-8 or Shift_JIS) or NDJSON with
//! ETag / If-None-Match, single postings, J8 additions, the signing key and the access log.

#![allow(unused_qualifications)] // utoipa's generated code qualifies paths

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use hwx_posting::record::{
    AdditionJson, IngestLine, IngestLineError, PostingJson, PostingRecord, ServedJson,
    parse_ingest_line,
};
use hwx_proto::jobfeed::v1 as jf;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use utoipa::{IntoParams, ToSchema};

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::model::Page;
use crate::ndjson::Lines;
use crate::problem::Problem;
use crate::{ApiResult, AppState, grpc};

/// Longest NDJSON line accepted at ingest (one posting).
pub const MAX_LINE: usize = 1024 * 1024;

/// How a line that is not UTF-8 is named.
const NOT_UTF8: &str = "not UTF-8";

/// A served posting as JSON: the verbatim content, its version, hash, signature, attribution (J4)
/// and the labelled J8 addition. The shape `hwx feed verify` reads.
fn served(p: jf::Posting) -> ServedJson {
    let content = p.content.unwrap_or_default();
    ServedJson {
        version: p.version,
        content: PostingRecord::from_stored(&content),
        content_hash: p.content_hash,
        signature: hex::encode(&p.signature),
        key_id: p.key_id,
        attribution: p.attribution,
        organisation_addition: (!p.organisation_addition.is_empty()).then_some(AdditionJson {
            label: p.organisation_addition_label,
            text: p.organisation_addition,
        }),
        updated_at: p
            .updated_at
            .as_ref()
            .and_then(hwx_platform::grpc::instant)
            .map(|t| hwx_posting::record::updated_at_text(&t))
            .unwrap_or_default(),
    }
}

/// One change: an upsert with the posting, or a tombstone with its number (J6).
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeJson {
    pub cursor: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upsert: Option<ServedJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tombstone: Option<String>,
}

fn change_json(c: jf::Change) -> ChangeJson {
    match c.change {
        Some(jf::change::Change::Upsert(p)) => ChangeJson {
            cursor: c.cursor,
            upsert: Some(served(p)),
            tombstone: None,
        },
        Some(jf::change::Change::Tombstone(n)) => ChangeJson {
            cursor: c.cursor,
            upsert: None,
            tombstone: Some(n),
        },
        None => ChangeJson {
            cursor: c.cursor,
            upsert: None,
            tombstone: None,
        },
    }
}

/// A page of changes.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangesPage {
    pub changes: Vec<ChangeJson>,
    /// Pass it back as `cursor` to continue; the same cursor when nothing changed.
    pub next_cursor: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChangesQuery {
    /// Where to continue from: a cursor this feed gave out (empty: the beginning).
    pub cursor: Option<String>,
    /// Changes per page (default 500, at most 5,000).
    pub limit: Option<i32>,
}

/// Changes after a cursor, oldest first: upserts and tombstones (J6).
#[utoipa::path(get, path = "/v1/feed/changes", security(("bearer" = ["org"])), params(ChangesQuery), responses(
    (status = 200, body = ChangesPage),
    (status = 403, body = Problem, description = "no active S-JOB enrolment (J2), suspended (SN1), revoked (SN2)")))]
pub(crate) async fn changes(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<ChangesQuery>,
) -> ApiResult<Json<ChangesPage>> {
    let r = s
        .job_feed
        .clone()
        .get_changes(grpc(
            &headers,
            jf::GetChangesRequest {
                cursor: q.cursor.unwrap_or_default(),
                limit: q.limit.unwrap_or(0),
            },
        ))
        .await?
        .into_inner();
    Ok(Json(ChangesPage {
        changes: r.changes.into_iter().map(change_json).collect(),
        next_cursor: r.next_cursor,
    }))
}

fn ndjson_line(v: &impl Serialize) -> bytes::Bytes {
    let mut b = serde_json::to_vec(v).unwrap_or_default();
    b.push(b'\n');
    b.into()
}

/// The live change feed from a cursor: one change per NDJSON line as it commits. The stream ends
/// with a problem line when access ends (J2, SN1, SN2).
#[utoipa::path(get, path = "/v1/feed/changes/stream", security(("bearer" = ["org"])), params(ChangesQuery), responses(
    (status = 200, description = "application/x-ndjson, one ChangeJson per line"),
    (status = 403, body = Problem)))]
pub(crate) async fn watch(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<ChangesQuery>,
) -> ApiResult<Response> {
    let mut stream = s
        .job_feed
        .clone()
        .watch_changes(grpc(
            &headers,
            jf::GetChangesRequest {
                cursor: q.cursor.unwrap_or_default(),
                limit: 0,
            },
        ))
        .await?
        .into_inner();
    let mut shutdown = s.shutdown.clone();
    let body = async_body(move |tx| async move {
        loop {
            // A client that hangs up on a quiet feed ends the stream here, not at the next change.
            // A stopping gateway ends it too (it would wait for the stream forever), saying why.
            let item = tokio::select! {
                item = stream.next() => item,
                _ = tx.closed() => return,
                _ = async { let _ = shutdown.wait_for(|s| *s).await; } => {
                    let stopping = Problem::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "the gateway is stopping; reconnect with your last cursor",
                    );
                    let _ = tx.send(Ok(ndjson_line(&stopping))).await;
                    return;
                }
            };
            let Some(item) = item else { return };
            let line = match item {
                Ok(c) => ndjson_line(&change_json(c)),
                Err(e) => {
                    let _ = tx.send(Ok(ndjson_line(&Problem::from(e)))).await;
                    return;
                }
            };
            if tx.send(Ok(line)).await.is_err() {
                return;
            }
        }
    });
    Ok((
        [(header::CONTENT_TYPE, "application/x-ndjson; charset=utf-8")],
        body,
    )
        .into_response())
}

/// A body fed by a task: the bounded channel keeps memory flat, and the task ends when the client
/// goes away.
fn async_body<F, Fut>(f: F) -> Body
where
    F: FnOnce(mpsc::Sender<Result<bytes::Bytes, std::io::Error>>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(f(tx));
    Body::from_stream(ReceiverStream::new(rx))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SnapshotQuery {
    /// csv (default) or ndjson.
    pub format: Option<String>,
    /// For CSV: utf-8 (default) or shift_jis.
    pub encoding: Option<String>,
    /// Prefecture codes, comma-separated (`13,14`).
    pub prefecture: Option<String>,
    /// Occupation code prefix (`06`: every 事務的職業).
    pub occupation: Option<String>,
    /// JSIC codes or division letters, comma-separated (`E,I56`).
    pub industry: Option<String>,
    /// Employment types, comma-separated (`正社員,パート労働者`).
    pub employment_type: Option<String>,
    /// Only postings changed at or after this instant (RFC 3339).
    pub updated_since: Option<String>,
}

fn list(s: &Option<String>) -> Vec<String> {
    s.as_deref()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The whole current feed, or a filtered part, from one consistent snapshot. `X-Feed-Cursor` is
/// where the change feed continues exactly; NDJSON also ends with a `{"cursor": …}` line. A weak
/// ETag names the snapshot's position and the query: If-None-Match answers 304 when nothing
/// changed.
#[utoipa::path(get, path = "/v1/feed/snapshot", security(("bearer" = ["org"])), params(SnapshotQuery), responses(
    (status = 200, description = "text/csv (UTF-8 or Shift_JIS) or application/x-ndjson"),
    (status = 304, description = "not modified since the ETag sent"),
    (status = 403, body = Problem)))]
pub(crate) async fn snapshot(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<SnapshotQuery>,
) -> ApiResult<Response> {
    let (format, content_type, ext) = match (
        q.format.as_deref().unwrap_or("csv"),
        q.encoding
            .as_deref()
            .unwrap_or("utf-8")
            .to_ascii_lowercase()
            .replace('_', "-")
            .as_str(),
    ) {
        ("csv", "utf-8" | "utf8") => (jf::SnapshotFormat::Csv, "text/csv; charset=utf-8", "csv"),
        ("csv", "shift-jis" | "sjis" | "windows-31j" | "cp932") => (
            jf::SnapshotFormat::CsvShiftJis,
            "text/csv; charset=Shift_JIS",
            "csv",
        ),
        ("ndjson", _) => (
            jf::SnapshotFormat::Ndjson,
            "application/x-ndjson; charset=utf-8",
            "ndjson",
        ),
        (f, e) => {
            return Err(Problem::bad_request(format!(
                "format={f}, encoding={e}: use format=csv (encoding=utf-8 or shift_jis) or format=ndjson"
            )));
        }
    };
    let updated_since = match q.updated_since.as_deref().filter(|v| !v.is_empty()) {
        None => None,
        Some(v) => {
            let t = chrono::DateTime::parse_from_rfc3339(v).map_err(|_| {
                Problem::bad_request(format!("updated_since {v:?}: an RFC 3339 instant"))
            })?;
            Some(hwx_platform::grpc::timestamp(t.to_utc()))
        }
    };
    let mut req = jf::ExportSnapshotRequest {
        prefecture_codes: list(&q.prefecture),
        occupation_prefix: q.occupation.clone().unwrap_or_default(),
        industry_codes: list(&q.industry),
        employment_types: list(&q.employment_type),
        updated_since,
        format: format as i32,
        unless_version: String::new(),
    };
    let query_key = hwx_posting::record::hash_hex(format!("{req:?}").as_bytes());
    // An ETag of ours for this query (`W/"<version>-<query>"`): the service then answers "the
    // same" without counting or reading a row.
    req.unless_version = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .into_iter()
        .flat_map(|v| v.split(','))
        .filter_map(|t| {
            let t = t.trim().trim_start_matches("W/").trim_matches('"');
            let (version, key) = t.rsplit_once('-')?;
            (key == &query_key[..16]).then(|| version.to_owned())
        })
        .next()
        .unwrap_or_default();
    let req_unless = req.unless_version.clone();
    let mut stream = s
        .job_feed
        .clone()
        .export_snapshot(grpc(&headers, req))
        .await?
        .into_inner();
    // The first chunk carries the snapshot's position: the ETag is known before any row.
    let first = match stream.next().await {
        Some(Ok(c)) => c,
        Some(Err(e)) => return Err(e.into()),
        None => return Err(Problem::from(tonic::Status::unavailable("empty export"))),
    };
    let cursor = first.cursor.clone();
    // The feed's position and the caller's J8 additions (version_tag), and the query.
    let etag_value = format!("{}-{}", first.version_tag, &query_key[..16]);
    let etag = format!("W/\"{etag_value}\"");
    // The service said "the same" (the version asked for is current), or the header names this
    // ETag in any form (weak comparison, RFC 9110) or `*`.
    let same_version = first.last && !req_unless.is_empty() && first.version_tag == req_unless;
    let matches = same_version
        || headers
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(',').any(|t| {
                    let t = t.trim();
                    t == "*" || t.trim_start_matches("W/").trim_matches('"') == etag_value
                })
            });
    let mut res_headers = HeaderMap::new();
    for (name, value) in [
        (header::ETAG, etag.as_str()),
        (header::CACHE_CONTROL, "private, no-cache"),
    ] {
        if let Ok(v) = HeaderValue::from_str(value) {
            res_headers.insert(name, v);
        }
    }
    if let Ok(v) = HeaderValue::from_str(&cursor) {
        res_headers.insert("x-feed-cursor", v);
    }
    if matches {
        // Dropping the stream ends the export on the service.
        return Ok((StatusCode::NOT_MODIFIED, res_headers).into_response());
    }
    // The number of records the whole file holds: `hwx feed verify --expect-count` checks a
    // download against it (a CSV cut short at a line boundary looks whole otherwise).
    res_headers.insert("x-record-count", HeaderValue::from(first.records));
    res_headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"hwx-postings-{cursor}.{ext}\""
    )) {
        res_headers.insert(header::CONTENT_DISPOSITION, v);
    }
    let body = async_body(move |tx| async move {
        if !first.data.is_empty() && tx.send(Ok(first.data.into())).await.is_err() {
            return;
        }
        if first.last {
            return;
        }
        while let Some(item) = stream.next().await {
            match item {
                Ok(c) => {
                    if !c.data.is_empty() && tx.send(Ok(c.data.into())).await.is_err() {
                        return;
                    }
                    if c.last {
                        return;
                    }
                }
                Err(e) => {
                    // Headers are gone already: break the body so the client sees a failed
                    // download, never a short file that looks whole.
                    let _ = tx
                        .send(Err(std::io::Error::other(e.message().to_owned())))
                        .await;
                    return;
                }
            }
        }
        let _ = tx
            .send(Err(std::io::Error::other("the export ended early")))
            .await;
    });
    Ok((res_headers, body).into_response())
}

/// One posting as the calling organisation sees it.
#[utoipa::path(get, path = "/v1/feed/postings/{number}", security(("bearer" = ["org"])), params(("number" = String, Path, description = "求人番号 NNNNN-NNNNNNNN")), responses(
    (status = 200, body = ServedJson, description = "the served posting"), (status = 404, body = Problem, description = "unknown or withdrawn (J6)"),
    (status = 403, body = Problem)))]
pub(crate) async fn posting(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(number): Path<String>,
) -> ApiResult<Json<ServedJson>> {
    let p = s
        .job_feed
        .clone()
        .get_posting(grpc(
            &headers,
            jf::GetPostingRequest {
                posting_number: number,
            },
        ))
        .await?
        .into_inner();
    Ok(Json(served(p)))
}

/// J8: the organisation's own information on a posting.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"text": "面接対策あり（当社独自）", "employer_consented": true}))]
pub struct NewAddition {
    /// Empty removes the addition.
    pub text: String,
    /// The employer agreed to it (required, J8).
    #[serde(default)]
    pub employer_consented: bool,
}

/// Add (or remove) the organisation's own information on a posting; it is served labelled and
/// apart from Hello Work's text (J8).
#[utoipa::path(put, path = "/v1/feed/postings/{number}/addition", security(("bearer" = ["org"])), request_body = NewAddition, params(("number" = String, Path, description = "求人番号 NNNNN-NNNNNNNN")), responses(
    (status = 200, body = ServedJson, description = "the posting with the addition"),
    (status = 422, body = Problem, description = "no employer consent (J8)")))]
pub(crate) async fn addition(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(number): Path<String>,
    raw: axum::body::Bytes,
) -> ApiResult<Json<ServedJson>> {
    let a: NewAddition = serde_json::from_slice(&raw)
        .map_err(|e| Problem::bad_request(format!("malformed JSON body: {e}")))?;
    let p = s
        .job_feed
        .clone()
        .set_organisation_addition(grpc(
            &headers,
            jf::SetOrganisationAdditionRequest {
                posting_number: number,
                text: a.text,
                employer_consented: a.employer_consented,
            },
        ))
        .await?
        .into_inner();
    Ok(Json(served(p)))
}

/// The Ed25519 key that verifies every posting signature (J5).
#[derive(Debug, Serialize, ToSchema)]
pub struct SigningKeyJson {
    pub key_id: String,
    /// 64 hex digits.
    pub ed25519_public_key: String,
}

/// The public key for `hwx feed verify` (public: no login needed).
#[utoipa::path(get, path = "/v1/feed/signing-key", security(()), responses((status = 200, body = SigningKeyJson)))]
pub(crate) async fn signing_key(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<Json<SigningKeyJson>> {
    let k = s
        .job_feed
        .clone()
        .get_signing_key(grpc(&headers, jf::GetSigningKeyRequest {}))
        .await?
        .into_inner();
    Ok(Json(SigningKeyJson {
        key_id: k.key_id,
        ed25519_public_key: hex::encode(k.ed25519_public_key),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AccessLogQuery {
    /// Bureaus and operations: whose reads (organisations see their own).
    #[param(example = "0193b0a4-7c1e-7d2a-9f1e-2b7c6a9d4e10")]
    pub organisation_id: Option<String>,
    /// Entries per page, newest first: 1 to 1,000; 100 when left out.
    #[param(example = 100, minimum = 1, maximum = 1000)]
    pub page_size: Option<i32>,
    /// The `next_page_token` of the previous page (older entries).
    pub page_token: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccessLogEntryJson {
    pub organisation_id: String,
    pub account_id: String,
    /// changes, watch, snapshot, posting, addition.
    pub action: String,
    pub detail: String,
    pub records: i64,
    pub at: String,
}

/// Who read what from the feed, when, and how many records.
#[utoipa::path(get, path = "/v1/feed/access-log", security(("bearer" = ["org", "bureau", "mhlw", "ops"])), params(AccessLogQuery), responses(
    (status = 200, body = Page<AccessLogEntryJson>)))]
pub(crate) async fn access_log(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<AccessLogQuery>,
) -> ApiResult<Json<Page<AccessLogEntryJson>>> {
    let r = s
        .job_feed
        .clone()
        .list_access_log(grpc(
            &headers,
            jf::ListAccessLogRequest {
                organisation_id: q.organisation_id.unwrap_or_default(),
                limit: q.page_size.unwrap_or(0),
                page_token: q.page_token.unwrap_or_default(),
            },
        ))
        .await?
        .into_inner();
    let items = r
        .entries
        .into_iter()
        .map(|e| AccessLogEntryJson {
            organisation_id: e.organisation_id,
            account_id: e.account_id,
            action: e.action,
            detail: e.detail,
            records: e.records,
            at: e
                .at
                .as_ref()
                .and_then(hwx_platform::grpc::instant)
                .map(|t| hwx_rules::jst::text(&t))
                .unwrap_or_default(),
        })
        .collect();
    Ok(Json(Page {
        items,
        next_page_token: Some(r.next_page_token).filter(|t| !t.is_empty()),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IngestQuery {
    /// Set for a full snapshot: every posting the body does not hold is withdrawn.
    pub snapshot_id: Option<String>,
    /// For a snapshot: how many postings the body holds. A body that ends early then withdraws
    /// nothing.
    pub count: Option<i64>,
}

/// What an ingest did.
#[derive(Debug, Serialize, ToSchema)]
pub struct IngestSummaryJson {
    pub stored: i64,
    pub unchanged: i64,
    pub withdrawn: i64,
    pub refused: i64,
    /// Every refused and withdrawn record (stored and unchanged ones are counted only).
    pub results: Vec<IngestResultJson>,
    /// The change-feed position after this ingest.
    pub cursor: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IngestResultJson {
    /// The line of the body (1-based); 0 for a posting withdrawn as absent from a snapshot.
    pub line: i64,
    pub posting_number: String,
    /// stored, unchanged, withdrawn, refused.
    pub outcome: String,
    pub version: i64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub rule: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing_items: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// Hello Work's systems send postings: one JSON posting per line (NDJSON), any number, streamed.
/// Each record is stored, found unchanged (no new version, no event), withdrawn (closed or consent
/// withdrawn: a tombstone) or refused with the missing J7 items named; nothing half-written. With
/// `snapshot_id` the body is a full snapshot: postings absent from it are withdrawn once the whole
/// body has arrived; a malformed line then ends the request and withdraws nothing.
#[utoipa::path(post, path = "/v1/feed/postings", security(("bearer" = ["upstream"])), params(IngestQuery), request_body(content = PostingJson, content_type = "application/x-ndjson", description = "one posting (this schema) per line; a downloaded snapshot line is accepted too"), responses(
    (status = 200, body = IngestSummaryJson),
    (status = 400, body = Problem, description = "malformed line in a snapshot"),
    (status = 403, body = Problem, description = "not role upstream")))]
pub(crate) async fn ingest(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<IngestQuery>,
    body: Body,
) -> ApiResult<Json<IngestSummaryJson>> {
    // No body is read for a caller who sent no credentials at all.
    crate::bearer(&headers)?;
    let snapshot = q.snapshot_id.filter(|v| !v.trim().is_empty());
    let (tx, rx) = mpsc::channel::<jf::IngestRequest>(256);
    let mut client = s.job_feed.clone();
    let request = grpc(&headers, ReceiverStream::new(rx));
    // The call runs beside the body reader: as a task that carries this request's ID and trace.
    let call =
        hwx_platform::grpc::spawn_carrying(async move { client.ingest_postings(request).await });
    if let Some(id) = &snapshot {
        let _ = tx
            .send(jf::IngestRequest {
                item: Some(jf::ingest_request::Item::SnapshotStart(jf::SnapshotStart {
                    snapshot_id: id.clone(),
                })),
            })
            .await;
    }
    let mut malformed = 0i64;
    // A downloaded snapshot sent back: its closing line's count, and whether any line was in
    // the downloaded form (one without its closing line may have been cut short).
    let mut closing: Option<i64> = None;
    let mut downloaded = false;
    let mut sent = 0i64;
    let mut body = Lines::new(body, MAX_LINE);
    // Why the body was not taken whole (the snapshot then withdraws nothing).
    let mut broken: Option<String> = None;
    // Lines the service saw, by service index: the service numbers the records it received,
    // which skips malformed lines.
    let mut line_of: Vec<i64> = Vec::new();
    while let Some(next) = body.next().await {
        let (lines, line) = match next {
            Ok(l) => l,
            Err(why) => {
                broken = Some(why);
                break;
            }
        };
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        // A file in another encoding is wrong throughout: when its first posting line (or
        // any line of a snapshot) is not UTF-8, the body is refused whole, said once. A
        // stray line further on is one malformed line among good ones.
        if std::str::from_utf8(line).is_err() && (snapshot.is_some() || line_of.is_empty()) {
            broken = Some(format!(
                "line {lines}: {NOT_UTF8}; the body must be UTF-8 NDJSON (a Shift_JIS file? convert it first: iconv -f SHIFT_JIS -t UTF-8)"
            ));
            break;
        }
        let item = match parse_ingest_line(line) {
            Ok(IngestLine::Closing { records }) => {
                closing = Some(records);
                continue;
            }
            Ok(IngestLine::Posting { .. }) if snapshot.is_some() && closing.is_some() => {
                broken = Some(format!(
                    "line {lines}: a record after the snapshot's closing line"
                ));
                break;
            }
            Ok(IngestLine::Posting {
                content,
                downloaded: served,
            }) => {
                downloaded |= served;
                jf::ingest_request::Item::Posting(*content)
            }
            Err(e) if snapshot.is_some() => {
                broken = Some(not_a_posting(lines, &e));
                break;
            }
            // The service counts it with the rest, so the answer, its results and the
            // service's log agree.
            Err(e) => {
                malformed += 1;
                jf::ingest_request::Item::Malformed(jf::Malformed {
                    message: not_a_posting(lines, &e),
                })
            }
        };
        line_of.push(lines);
        // The service ended the call (refused the caller, or failed): stop reading.
        if call.is_finished()
            || tx
                .send(jf::IngestRequest { item: Some(item) })
                .await
                .is_err()
        {
            break;
        }
        sent += 1;
    }
    let lines = body.count();
    // A downloaded snapshot sent back as a full snapshot must be whole: its closing line gives
    // the count (and must agree with the caller's).
    if snapshot.is_some() && broken.is_none() {
        match (q.count, closing) {
            (Some(given), Some(held)) if given != held => {
                broken = Some(format!(
                    "count={given} but the snapshot's closing line says {held} records"
                ));
            }
            (None, None) if downloaded => {
                broken = Some(
                    "a downloaded snapshot without its closing line may have been cut short".into(),
                );
            }
            _ => {}
        }
    }
    // A snapshot says it is complete only when the whole body arrived and every line was a
    // posting; otherwise the service withdraws nothing.
    if snapshot.is_some() && broken.is_none() && !call.is_finished() {
        let _ = tx
            .send(jf::IngestRequest {
                // The caller's own count (or the closing line's) when there is one: the service
                // compares it with what came.
                item: Some(jf::ingest_request::Item::SnapshotEnd(jf::SnapshotEnd {
                    count: q.count.or(closing).unwrap_or(sent),
                })),
            })
            .await;
    }
    drop(tx);
    let outcome = call
        .await
        .map_err(|_| Problem::from(tonic::Status::unavailable("ingest interrupted")))?;
    if let Some(why) = broken {
        // The service's own refusal (who may ingest, limits, outages) comes first.
        if let Err(e) = &outcome
            && e.code() != tonic::Code::InvalidArgument
        {
            return Err(Problem::from(e.clone()));
        }
        let done = match &outcome {
            Ok(s) => format!(
                "{} stored, {} unchanged before it",
                s.get_ref().stored,
                s.get_ref().unchanged
            ),
            Err(_) => format!("the {sent} postings before it were processed"),
        };
        let withdrawn = if snapshot.is_some() {
            "; the snapshot was abandoned and nothing was withdrawn"
        } else {
            ""
        };
        return Err(Problem::bad_request(format!("{why}: {done}{withdrawn}")));
    }
    if sent == 0 {
        // Said plainly, rather than `{"stored":0}`: an empty file, or a path curl could not read.
        // The service's own refusal (who may ingest, an empty snapshot) comes first.
        if let Err(e) = &outcome {
            return Err(Problem::from(e.clone()));
        }
        return Err(Problem::bad_request(
            "the body holds no postings: send one JSON posting per line (application/x-ndjson; curl --data-binary @file)",
        ));
    }
    let summary = outcome?.into_inner();
    tracing::info!(
        stored = summary.stored,
        unchanged = summary.unchanged,
        withdrawn = summary.withdrawn,
        refused = summary.refused,
        malformed,
        lines,
        "ingest answered"
    );
    let results: Vec<IngestResultJson> = summary
        .results
        .into_iter()
        .map(|r| IngestResultJson {
            line: usize::try_from(r.index - 1)
                .ok()
                .and_then(|i| line_of.get(i).copied())
                .unwrap_or(0),
            posting_number: r.posting_number,
            outcome: r.outcome,
            version: r.version,
            rule: r.rule,
            missing_items: r.missing_items,
            message: r.message,
        })
        .collect();
    Ok(Json(IngestSummaryJson {
        stored: summary.stored,
        unchanged: summary.unchanged,
        withdrawn: summary.withdrawn,
        refused: summary.refused,
        results,
        cursor: summary.cursor,
    }))
}

/// A body line that is no posting, located in the body: serde numbers lines within the one
/// line it was given, so its own "line 1 column N" is replaced by the body's line.
fn not_a_posting(line: i64, e: &IngestLineError) -> String {
    match e {
        IngestLineError::Json(e) => {
            let full = e.to_string();
            let what = full
                .rsplit_once(" at line ")
                .map_or(full.as_str(), |(m, _)| m);
            format!("line {line}, column {}: not a posting: {what}", e.column())
        }
        IngestLineError::Invalid(why) => format!("line {line}: {why}"),
    }
}

/// Every route over the job feed but ingest, each with its OpenAPI description.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(changes))
        .routes(routes!(watch))
        .routes(routes!(snapshot))
        .routes(routes!(posting))
        .routes(routes!(addition))
        .routes(routes!(signing_key))
        .routes(routes!(access_log))
}

/// Ingest takes bodies of any size (streamed line by line), so it is routed apart from the body
/// limit the other routes have.
pub fn ingest_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(ingest))
}
