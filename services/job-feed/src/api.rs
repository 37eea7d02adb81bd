//! gRPC handlers of the job feed.

use std::pin::Pin;
use std::time::Duration;

use futures::Stream;
use hwx_platform::auth::Role;
use hwx_platform::clock::SharedClock;
use hwx_platform::grpc::ServiceError;
use hwx_proto::jobfeed::v1::job_feed_service_server::JobFeedService;
use hwx_proto::jobfeed::v1::*;
use hwx_rules::RuleId;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};
use uuid::Uuid;

use crate::access::Access;
use crate::export::{self, ExportError, Filter};
use crate::store::{self, FeedRow, FinishError, Store, parse_cursor};

/// The job feed service.
#[derive(Debug, Clone)]
pub struct JobFeed {
    pub store: Store,
    pub access: Access,
    pub clock: SharedClock,
    /// Live streams end when the server stops (else a graceful stop would wait for them forever).
    pub shutdown: tokio::sync::watch::Receiver<bool>,
    /// Snapshot downloads that may run at once.
    pub exports: std::sync::Arc<tokio::sync::Semaphore>,
}

type Reply<T> = Result<Response<T>, Status>;
type Boxed<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// Changes per page by default, and at most.
pub const DEFAULT_LIMIT: i64 = 500;
pub const MAX_LIMIT: i64 = 5000;

fn change(row: &FeedRow) -> Result<Change, ServiceError> {
    let cursor = row.seq.to_string();
    Ok(if row.withdrawn {
        Change {
            cursor,
            change: Some(change::Change::Tombstone(row.posting_number.clone())),
        }
    } else {
        Change {
            cursor,
            change: Some(change::Change::Upsert(posting(row)?)),
        }
    })
}

/// A stored posting as the API serves it.
fn posting(row: &FeedRow) -> Result<Posting, ServiceError> {
    row.served
        .to_proto()
        .map_err(|e| ServiceError::internal(format!("stored posting unreadable: {e}")))
}

fn invalid(e: String) -> ServiceError {
    ServiceError::invalid(e)
}

impl JobFeed {
    async fn do_ingest(
        &self,
        request: Request<Streaming<IngestRequest>>,
    ) -> Result<Response<IngestSummary>, ServiceError> {
        self.access.upstream(&request).await?;
        let mut stream = request.into_inner();
        let mut ingest = self.store.ingest(self.clock.now());
        while let Some(msg) = stream.message().await.map_err(|s| {
            ServiceError::invalid(format!(
                "the stream broke off: {}; what was written before stays, a snapshot withdraws nothing",
                s.message()
            ))
        })? {
            match msg.item {
                Some(ingest_request::Item::SnapshotStart(s)) => {
                    ingest.start_snapshot(s.snapshot_id).await.map_err(invalid)?
                }
                Some(ingest_request::Item::Posting(p)) => ingest.push(&p).await?,
                Some(ingest_request::Item::Malformed(m)) => ingest.malformed(m.message),
                Some(ingest_request::Item::SnapshotEnd(e)) => {
                    ingest.end_snapshot(e.count).map_err(invalid)?
                }
                None => {}
            }
        }
        let summary = ingest.finish().await.map_err(|e| match e {
            FinishError::Db(e) => ServiceError::from(e),
            FinishError::Incomplete(m) => ServiceError::invalid(m),
        })?;
        tracing::info!(
            stored = summary.stored,
            unchanged = summary.unchanged,
            withdrawn = summary.withdrawn,
            refused = summary.refused,
            "postings ingested"
        );
        Ok(Response::new(summary))
    }

    async fn do_get_changes(
        &self,
        request: Request<GetChangesRequest>,
    ) -> Result<Response<GetChangesResponse>, ServiceError> {
        let (caller, org) = self.access.reader(&request).await?;
        let req = request.into_inner();
        let cursor = parse_cursor(&req.cursor).map_err(invalid)?;
        let limit = match i64::from(req.limit) {
            0 => DEFAULT_LIMIT,
            n if (1..=MAX_LIMIT).contains(&n) => n,
            n => {
                return Err(ServiceError::invalid(format!(
                    "limit {n}: 1 to {MAX_LIMIT}"
                )));
            }
        };
        let rows = self.store.changes(cursor, limit, org).await?;
        if rows.is_empty() {
            self.cursor_known(cursor).await?;
        }
        let changes = rows.iter().map(change).collect::<Result<Vec<_>, _>>()?;
        let next = rows.last().map_or(cursor, |r| r.seq);
        self.access
            .log(
                &caller,
                org,
                "changes",
                &format!("cursor={cursor};limit={limit}"),
                changes.len() as i64,
            )
            .await?;
        Ok(Response::new(GetChangesResponse {
            changes,
            next_cursor: next.to_string(),
        }))
    }

    /// A cursor from another deployment, or from before a restore, is ahead of the feed: the
    /// client must start again from a snapshot rather than wait for positions that mean nothing.
    async fn cursor_known(&self, cursor: i64) -> Result<(), ServiceError> {
        let head = self.store.head().await?;
        if cursor > head {
            return Err(ServiceError::invalid(format!(
                "cursor {cursor} is ahead of the feed (at {head}): take a new snapshot and continue from its cursor"
            )));
        }
        Ok(())
    }

    async fn do_get_posting(
        &self,
        request: Request<GetPostingRequest>,
    ) -> Result<Response<Posting>, ServiceError> {
        let (caller, org) = self.access.reader(&request).await?;
        let number = request.into_inner().posting_number;
        let row = self
            .store
            .posting(number.trim(), org)
            .await?
            .ok_or_else(|| ServiceError::not_found(format!("no posting {number}")))?;
        if row.withdrawn {
            return Err(
                ServiceError::not_found(format!("posting {number} was withdrawn (J6)"))
                    .with_rule(RuleId::J6),
            );
        }
        self.access.log(&caller, org, "posting", &number, 1).await?;
        Ok(Response::new(posting(&row)?))
    }

    async fn do_set_addition(
        &self,
        request: Request<SetOrganisationAdditionRequest>,
    ) -> Result<Response<Posting>, ServiceError> {
        let (caller, org) = self.access.reader(&request).await?;
        let req = request.into_inner();
        let number = req.posting_number.trim().to_owned();
        let live = self.store.posting(&number, org).await?;
        if live.as_ref().is_none_or(|r| r.withdrawn) {
            return Err(ServiceError::not_found(format!("no live posting {number}")));
        }
        let text = req.text.trim();
        if !text.is_empty() {
            hwx_rules::access::organisation_addition(req.employer_consented)?;
            if text.chars().count() > 2000 {
                return Err(ServiceError::invalid("text: at most 2,000 characters"));
            }
        }
        store::set_addition(&self.store.db, org, &number, text, self.clock.now()).await?;
        self.access
            .log(&caller, org, "addition", &number, 1)
            .await?;
        let row = self
            .store
            .posting(&number, org)
            .await?
            .ok_or_else(|| ServiceError::not_found(format!("no posting {number}")))?;
        Ok(Response::new(posting(&row)?))
    }

    async fn do_list_access_log(
        &self,
        request: Request<ListAccessLogRequest>,
    ) -> Result<Response<ListAccessLogResponse>, ServiceError> {
        let caller = self.access.caller(&request).await?;
        let org = match caller.role {
            Role::Org => caller
                .organisation_id
                .ok_or_else(|| ServiceError::not_found("register your organisation first"))?,
            Role::Bureau | Role::Mhlw | Role::Ops => {
                Uuid::parse_str(request.get_ref().organisation_id.trim()).map_err(|_| {
                    ServiceError::invalid("organisation_id: the organisation whose reads to list")
                })?
            }
            _ => return Err(ServiceError::forbidden("not a role that reads access logs")),
        };
        if caller.role == Role::Bureau {
            self.access.in_jurisdiction(&request, org).await?;
        }
        let req = request.into_inner();
        if caller.role == Role::Org
            && !req.organisation_id.trim().is_empty()
            && Uuid::parse_str(req.organisation_id.trim()).ok() != Some(org)
        {
            return Err(ServiceError::forbidden(
                "an organisation sees its own access log only",
            ));
        }
        let limit = match req.limit {
            0 => 100,
            n @ 1..=1000 => i64::from(n),
            n => {
                return Err(ServiceError::invalid(format!(
                    "page_size {n}: 1 to 1000 (100 when left out)"
                )));
            }
        };
        let before = match req.page_token.trim() {
            "" => None,
            t => Some(
                t.parse::<i64>()
                    .map_err(|_| ServiceError::invalid("page_token is not one this log gave"))?,
            ),
        };
        // One row past the page says whether an older page exists.
        let mut reads = store::reads(&self.store.db, org, limit + 1, before).await?;
        let next_page_token = if reads.len() as i64 > limit {
            reads.truncate(limit as usize);
            reads.last().map(|r| r.id.to_string()).unwrap_or_default()
        } else {
            String::new()
        };
        Ok(Response::new(ListAccessLogResponse {
            next_page_token,
            entries: reads
                .into_iter()
                .map(|r| AccessLogEntry {
                    organisation_id: r.organisation_id.to_string(),
                    account_id: r.account_id.to_string(),
                    action: r.action,
                    detail: r.detail,
                    records: r.records,
                    at: Some(hwx_platform::grpc::timestamp(r.at)),
                })
                .collect(),
        }))
    }

    async fn do_watch(
        &self,
        request: Request<GetChangesRequest>,
    ) -> Result<Response<Boxed<Change>>, ServiceError> {
        let (caller, org) = self.access.reader(&request).await?;
        let cursor = parse_cursor(&request.get_ref().cursor).map_err(invalid)?;
        self.cursor_known(cursor).await?;
        let log = self
            .access
            .log(&caller, org, "watch", &format!("cursor={cursor}"), 0)
            .await?;
        let (tx, rx) = mpsc::channel::<Result<Change, Status>>(64);
        let this = self.clone();
        tokio::spawn(async move {
            let sent = this.watch_loop(org, cursor, &tx).await;
            let _ = this.access.log_count(log, sent).await;
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    /// Send changes as they commit until the client leaves or the organisation loses access.
    async fn watch_loop(
        &self,
        org: Uuid,
        mut cursor: i64,
        tx: &mpsc::Sender<Result<Change, Status>>,
    ) -> i64 {
        let mut feed = self.access.feed.clone();
        let mut changed = self.access.changed.subscribe();
        let mut shutdown = self.shutdown.clone();
        let mut sent = 0i64;
        loop {
            if *shutdown.borrow() {
                let _ = tx
                    .send(Err(Status::unavailable(
                        "the server is stopping; reconnect with your last cursor",
                    )))
                    .await;
                return sent;
            }
            // J2/SN1/SN2 at every wake-up: a suspension ends the stream.
            if let Err(e) = self.access.may_read(org).await {
                let _ = tx.send(Err(e.into())).await;
                return sent;
            }
            feed.mark_unchanged();
            let rows = match self.store.changes(cursor, DEFAULT_LIMIT, org).await {
                Ok(r) => r,
                Err(e) => {
                    let _ = tx.send(Err(ServiceError::from(e).into())).await;
                    return sent;
                }
            };
            for row in &rows {
                let c = match change(row) {
                    Ok(c) => c,
                    Err(e) => {
                        let _ = tx.send(Err(e.into())).await;
                        return sent;
                    }
                };
                if tx.send(Ok(c)).await.is_err() {
                    return sent;
                }
                cursor = row.seq;
                sent += 1;
            }
            if rows.len() as i64 == DEFAULT_LIMIT {
                continue;
            }
            // NOTIFY may be lost with a connection: look anyway now and then.
            let poll = tokio::time::sleep(Duration::from_secs(1));
            tokio::pin!(poll);
            loop {
                tokio::select! {
                    _ = feed.changed() => break,
                    o = changed.recv() => {
                        // Another organisation's enrolment changed: keep waiting.
                        if !matches!(o, Ok(id) if id != org) {
                            break;
                        }
                    }
                    _ = tx.closed() => return sent,
                    _ = shutdown.changed() => break,
                    _ = &mut poll => break,
                }
            }
        }
    }

    async fn do_export(
        &self,
        request: Request<ExportSnapshotRequest>,
    ) -> Result<Response<Boxed<SnapshotChunk>>, ServiceError> {
        let (caller, org) = self.access.reader(&request).await?;
        // Each download holds a database connection for its length: leave room for the rest.
        let permit = self.exports.clone().try_acquire_owned().map_err(|_| {
            ServiceError::new(
                hwx_platform::grpc::ErrorKind::Exhausted,
                "too many snapshot downloads at once; retry in a minute, or follow the change feed",
            )
        })?;
        let req = request.into_inner();
        let filter = Filter::from_proto(&req);
        let format = SnapshotFormat::try_from(req.format).unwrap_or(SnapshotFormat::Unspecified);
        let log = self
            .access
            .log(
                &caller,
                org,
                "snapshot",
                &format!(
                    "format={};{}{}",
                    format_word(format),
                    filter.describe(),
                    // A poll with the version the caller holds (HTTP If-None-Match).
                    if req.unless_version.is_empty() {
                        String::new()
                    } else {
                        format!(";if_none_match={}", req.unless_version)
                    }
                ),
                0,
            )
            .await?;
        // A bounded channel: the export runs only as fast as the client reads.
        let (tx, rx) = mpsc::channel::<Result<SnapshotChunk, Status>>(2);
        let this = self.clone();
        let unless = Some(req.unless_version.clone()).filter(|v| !v.is_empty());
        tokio::spawn(async move {
            let _permit = permit;
            let exported = export::export(
                &this.store.db,
                &this.access,
                &filter,
                format,
                org,
                &tx,
                unless.as_deref(),
            )
            .await;
            match exported {
                Ok(done) => {
                    let _ = this.access.log_count(log, done.records).await;
                }
                Err(ExportError::Gone | ExportError::Refused) => {}
                Err(e) => {
                    tracing::error!(error = %e, "snapshot export failed");
                    let failed = ServiceError::internal("the export failed; try again");
                    let _ =
                        tokio::time::timeout(export::STALLED, tx.send(Err(failed.into()))).await;
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}

#[tonic::async_trait]
impl JobFeedService for JobFeed {
    async fn ingest_postings(
        &self,
        request: Request<Streaming<IngestRequest>>,
    ) -> Reply<IngestSummary> {
        Ok(self.do_ingest(request).await?)
    }

    async fn get_changes(&self, request: Request<GetChangesRequest>) -> Reply<GetChangesResponse> {
        Ok(self.do_get_changes(request).await?)
    }

    type WatchChangesStream = Boxed<Change>;

    async fn watch_changes(
        &self,
        request: Request<GetChangesRequest>,
    ) -> Reply<Self::WatchChangesStream> {
        Ok(self.do_watch(request).await?)
    }

    type ExportSnapshotStream = Boxed<SnapshotChunk>;

    async fn export_snapshot(
        &self,
        request: Request<ExportSnapshotRequest>,
    ) -> Reply<Self::ExportSnapshotStream> {
        Ok(self.do_export(request).await?)
    }

    async fn get_posting(&self, request: Request<GetPostingRequest>) -> Reply<Posting> {
        Ok(self.do_get_posting(request).await?)
    }

    async fn get_signing_key(&self, _: Request<GetSigningKeyRequest>) -> Reply<SigningKey> {
        // Public: anyone may check a signature.
        Ok(Response::new(SigningKey {
            key_id: self.store.signer.key_id().to_owned(),
            ed25519_public_key: self.store.signer.public_key().to_vec(),
        }))
    }

    async fn set_organisation_addition(
        &self,
        request: Request<SetOrganisationAdditionRequest>,
    ) -> Reply<Posting> {
        Ok(self.do_set_addition(request).await?)
    }

    async fn list_access_log(
        &self,
        request: Request<ListAccessLogRequest>,
    ) -> Reply<ListAccessLogResponse> {
        Ok(self.do_list_access_log(request).await?)
    }
}

/// A snapshot format as the API names it (docs/API.md: wire words, never the proto's names).
fn format_word(format: SnapshotFormat) -> &'static str {
    match format {
        SnapshotFormat::Unspecified => "grpc",
        SnapshotFormat::Csv => "csv",
        SnapshotFormat::CsvShiftJis => "csv_shift_jis",
        SnapshotFormat::Ndjson => "ndjson",
    }
}
