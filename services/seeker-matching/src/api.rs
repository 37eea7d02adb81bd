//! gRPC handlers: who calls, the record checks and the access rules, then the store.

use std::collections::HashSet;

use chrono::NaiveDate;
use hwx_platform::auth::{Authenticator, Caller, Role};
use hwx_platform::clock::SharedClock;
use hwx_platform::grpc::ServiceError;
use hwx_proto::seekermatching::v1::seeker_matching_service_server::SeekerMatchingService;
use hwx_proto::seekermatching::v1::*;
use hwx_rules::RuleId;
use hwx_rules::access::{self, EnrolmentStatus};
use hwx_rules::eligibility::Service;
use hwx_rules::retention;
use tonic::{Request, Response, Status, Streaming};
use uuid::Uuid;

use crate::record::{self, SeekerRow};
use crate::store::{AcquisitionRow, Occupations, Search, Store};

/// Records written per transaction: large enough that a 2-million-seeker snapshot is a few
/// thousand commits, small enough that one holds little memory and few locks.
const BATCH: usize = 500;
/// Refused and withdrawn records listed in an ingest's answer; the counts cover every one.
const MAX_RESULTS: usize = 10_000;
const DEFAULT_PAGE: i32 = 50;
const MAX_PAGE: i32 = 200;

/// The seeker-matching service.
#[derive(Debug, Clone)]
pub struct SeekerMatching {
    pub(crate) store: Store,
    pub(crate) clock: SharedClock,
    pub(crate) auth: Authenticator,
}

type Reply<T> = Result<Response<T>, Status>;

/// An ingest in progress: the records of the current batch and the summary so far.
struct Ingest<'a> {
    store: &'a Store,
    clock: &'a SharedClock,
    today: NaiveDate,
    rows: Vec<SeekerRow>,
    withdraw: Vec<String>,
    /// IDs in the current batch: a second record for one of them flushes the batch first, so
    /// each batch holds an ID once and records apply in the order sent.
    pending: HashSet<String>,
    /// Index of each pending withdrawal, for its result.
    withdrawn_at: Vec<i64>,
    index: i64,
    summary: IngestSeekersSummary,
}

impl Ingest<'_> {
    fn result(&mut self, r: IngestResult) {
        if self.summary.results.len() < MAX_RESULTS {
            self.summary.results.push(r);
        }
    }

    fn refuse(&mut self, seeker_id: &str, field: &str, rule: &str, message: String) {
        self.summary.refused += 1;
        let index = self.index;
        self.result(IngestResult {
            index,
            seeker_id: seeker_id.to_owned(),
            outcome: "refused".into(),
            rule: rule.to_owned(),
            field: field.to_owned(),
            message,
        });
    }

    async fn push(&mut self, s: &Seeker) -> Result<(), ServiceError> {
        self.index += 1;
        let id = s.seeker_id.trim().to_owned();
        if self.pending.contains(&id) {
            self.flush().await?;
        }
        let Some(consents) = s.consents else {
            let message = "consents: required (true; false withdraws the seeker)".to_owned();
            self.refuse(&s.seeker_id, "consents", "", message);
            return Ok(());
        };
        if !consents {
            // Only the ID is read: a withdrawal goes through whatever else the record holds.
            if !record::valid_seeker_id(&id) {
                let message = format!("seeker_id: {:?} is not a seeker ID", s.seeker_id);
                self.refuse(&s.seeker_id, "seeker_id", "", message);
                return Ok(());
            }
            self.withdrawn_at.push(self.index);
            self.withdraw.push(id.clone());
            self.pending.insert(id);
        } else {
            match record::check(s, self.today) {
                Ok(row) => {
                    self.pending.insert(row.seeker_id.clone());
                    self.rows.push(row);
                }
                Err(r) => {
                    let rule = r.rule.map(|r| r.to_string()).unwrap_or_default();
                    self.refuse(&s.seeker_id, &r.field, &rule, r.message);
                }
            }
        }
        if self.pending.len() >= BATCH {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), ServiceError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let rows = std::mem::take(&mut self.rows);
        let withdraw = std::mem::take(&mut self.withdraw);
        let at = std::mem::take(&mut self.withdrawn_at);
        self.pending.clear();
        let (written, _gone) = self
            .store
            .apply_batch(&rows, &withdraw, self.clock.now())
            .await?;
        self.summary.stored += written.len() as i64;
        self.summary.unchanged += (rows.len() - written.len()) as i64;
        // A withdrawal of a seeker already gone is still one: the answer is the same on a resend.
        self.summary.withdrawn += withdraw.len() as i64;
        for (id, index) in withdraw.into_iter().zip(at) {
            self.result(IngestResult {
                index,
                seeker_id: id,
                outcome: "withdrawn".into(),
                message: "consent withdrawn: the seeker left every search".into(),
                ..Default::default()
            });
        }
        Ok(())
    }
}

fn occupations(field: &str, codes: &[String]) -> Result<Option<Occupations>, ServiceError> {
    if codes.is_empty() {
        return Ok(None);
    }
    let mut keys = Vec::new();
    let mut levels = Vec::new();
    for (i, c) in codes.iter().enumerate() {
        let key = record::occupation_key(c).ok_or_else(|| {
            ServiceError::invalid(format!(
                "{field}[{i}]: {c:?} is not an MHLW 2022 occupation code"
            ))
        })?;
        levels.extend(record::levels(&key));
        keys.push(key);
    }
    Ok(Some(Occupations { keys, levels }))
}

fn some(v: &[String]) -> Option<Vec<String>> {
    (!v.is_empty()).then(|| v.iter().map(|s| s.trim().to_owned()).collect())
}

/// `last_active_on~seeker_id` of the last row of the page before.
fn after(token: &str) -> Result<Option<(NaiveDate, String)>, ServiceError> {
    if token.is_empty() {
        return Ok(None);
    }
    let bad = || {
        ServiceError::invalid(format!(
            "page_token: {token:?} is not one this service gave"
        ))
    };
    let (day, id) = token.split_once('~').ok_or_else(bad)?;
    let day = NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(|_| bad())?;
    if !record::valid_seeker_id(id) {
        return Err(bad());
    }
    Ok(Some((day, id.to_owned())))
}

impl SeekerMatching {
    async fn upstream<T>(&self, request: &Request<T>) -> Result<Caller, ServiceError> {
        let c = self.auth.caller(request).await?;
        if c.role != Role::Upstream {
            return Err(ServiceError::forbidden(
                "only Hello Work's systems (role upstream) send seekers",
            ));
        }
        Ok(c)
    }

    /// An organisation whose S-SEEKER enrolment is active now, or the refusal naming the rule
    /// (E3 without one, SN1 suspended, SN2 revoked).
    async fn searcher<T>(&self, request: &Request<T>) -> Result<Uuid, ServiceError> {
        let c = self.auth.caller(request).await?;
        let Some(org) = c.organisation_id.filter(|_| c.role == Role::Org) else {
            return Err(ServiceError::forbidden(
                "seekers are shown to organisations with an active S-SEEKER enrolment only",
            ));
        };
        let today = self.clock.now_jst().date_naive();
        let status = self.store.enrolment(org).await?.map(|(status, until)| {
            // Past its last day an enrolment has ended, whether or not the event has come.
            if status == EnrolmentStatus::Active && until.is_some_and(|u| today > u) {
                EnrolmentStatus::Expired
            } else {
                status
            }
        });
        access::service_access(Service::Seeker, status)?;
        Ok(org)
    }

    async fn do_ingest(
        &self,
        request: Request<Streaming<IngestSeekersRequest>>,
    ) -> Result<Response<IngestSeekersSummary>, ServiceError> {
        self.upstream(&request).await?;
        let mut stream = request.into_inner();
        let mut ingest = Ingest {
            store: &self.store,
            clock: &self.clock,
            today: self.clock.now_jst().date_naive(),
            rows: Vec::new(),
            withdraw: Vec::new(),
            pending: HashSet::new(),
            withdrawn_at: Vec::new(),
            index: 0,
            summary: IngestSeekersSummary::default(),
        };
        while let Some(msg) = stream.message().await.map_err(|s| {
            ServiceError::invalid(format!(
                "the stream broke off: {}; the batches written before stay",
                s.message()
            ))
        })? {
            match msg.item {
                Some(ingest_seekers_request::Item::Seeker(s)) => ingest.push(&s).await?,
                Some(ingest_seekers_request::Item::Malformed(m)) => {
                    ingest.index += 1;
                    ingest.refuse(&m.seeker_id, &m.field, &m.rule, m.message);
                }
                None => {}
            }
        }
        ingest.flush().await?;
        let mut s = ingest.summary;
        // Withdrawals are listed when their batch commits: in the answer, in the order sent.
        s.results.sort_by_key(|r| r.index);
        tracing::info!(
            stored = s.stored,
            unchanged = s.unchanged,
            withdrawn = s.withdrawn,
            refused = s.refused,
            "seekers ingested"
        );
        Ok(Response::new(s))
    }

    async fn do_search(
        &self,
        request: Request<SearchSeekersRequest>,
    ) -> Result<Response<SearchSeekersResponse>, ServiceError> {
        let org = self.searcher(&request).await?;
        let r = request.into_inner();
        let page = r.page.unwrap_or_default();
        let size = match page.page_size {
            0 => DEFAULT_PAGE,
            n if (1..=MAX_PAGE).contains(&n) => n,
            n => {
                return Err(ServiceError::invalid(format!(
                    "page_size {n}: 1 to {MAX_PAGE} ({DEFAULT_PAGE} when left out)"
                )));
            }
        };
        let band = |field: &str, n: i32| -> Result<Option<i16>, ServiceError> {
            match n {
                0 => Ok(None),
                n if (15..=80).contains(&n) => Ok(Some(n as i16)),
                n => Err(ServiceError::invalid(format!(
                    "{field}: {n} is not an age band from 15 to 80"
                ))),
            }
        };
        let wage = match (r.wage_type.trim(), r.wage_offered) {
            ("", 0) => None,
            (t, w) if hwx_posting::codes::WAGE_TYPES.contains(&t) && w > 0 => {
                Some((t.to_owned(), w))
            }
            _ => {
                return Err(ServiceError::invalid(
                    "wage_type and wage_offered: a wage type (monthly, daily, hourly, annual) and the yen offered, both or neither",
                ));
            }
        };
        let q = Search {
            occupations: occupations("occupations", &r.occupations)?,
            prefectures: some(&r.prefectures),
            municipalities: some(&r.municipalities),
            employment_types: some(&r.employment_types),
            age_band_min: band("age_band_min", r.age_band_min)?,
            age_band_max: band("age_band_max", r.age_band_max)?,
            gender: Some(r.gender.trim().to_owned()).filter(|g| !g.is_empty()),
            wage,
            qualifications: some(&r.qualifications),
            education: some(&r.education),
            active_since: match &r.active_since {
                None => None,
                Some(d) => Some(hwx_platform::grpc::day(d).ok_or_else(|| {
                    ServiceError::invalid(format!(
                        "active_since: {}-{}-{} is not a date",
                        d.year, d.month, d.day
                    ))
                })?),
            },
            after: after(&page.page_token)?,
            limit: i64::from(size) + 1,
        };
        let mut rows = self.store.search(&q, org).await?;
        let more = rows.len() > size as usize;
        rows.truncate(size as usize);
        let next_page_token = match rows.last() {
            Some(last) if more => format!("{}~{}", last.last_active_on, last.seeker_id),
            _ => String::new(),
        };
        Ok(Response::new(SearchSeekersResponse {
            seekers: rows.iter().map(SeekerRow::to_proto).collect(),
            next_page_token,
        }))
    }
}

/// An acquisition as the organisation sees it, with its SK6c acceptance deadline.
fn acquisition(a: &AcquisitionRow) -> Result<Acquisition, ServiceError> {
    let date = |d: NaiveDate| Some(hwx_platform::grpc::date(d));
    Ok(Acquisition {
        id: a.id.to_string(),
        organisation_id: a.organisation_id.to_string(),
        seeker_id: a.seeker_id.clone(),
        acquired_at: Some(hwx_platform::grpc::timestamp(a.acquired_at)),
        acquired_on: date(a.acquired_on),
        accepted_on: a.accepted_on.and_then(date),
        deletion_due: date(a.deletion_due),
        deletion_rule: a.deletion_rule.clone(),
        accept_by: date(retention::acceptance_deadline(a.acquired_on)?),
    })
}

impl SeekerMatching {
    async fn do_get_seeker(
        &self,
        request: Request<GetSeekerRequest>,
    ) -> Result<Response<SeekerDetails>, ServiceError> {
        let org = self.searcher(&request).await?;
        let id = request.into_inner().seeker_id;
        let now = self.clock.now();
        let today = self.clock.now_jst().date_naive();
        // SK6c until it is accepted: due after the last day of the month after next.
        let due = retention::retention_clock(today, None)?;
        // Unknown, withdrawn and blocking seekers are answered alike.
        let (seeker, held) = self
            .store
            .open(org, id.trim(), now, today, &due)
            .await?
            .ok_or_else(|| ServiceError::not_found(format!("no seeker {id:?}")))?;
        Ok(Response::new(SeekerDetails {
            seeker: Some(seeker.to_proto()),
            acquisition: Some(acquisition(&held)?),
        }))
    }

    async fn do_accept(
        &self,
        request: Request<AcceptSeekerRequest>,
    ) -> Result<Response<Acquisition>, ServiceError> {
        let org = self.searcher(&request).await?;
        let raw = request.into_inner().acquisition_id;
        let unknown = || ServiceError::not_found(format!("no acquisition {raw:?} of yours"));
        let id = Uuid::parse_str(raw.trim()).map_err(|_| unknown())?;
        let today = self.clock.now_jst().date_naive();
        let mut tx = self.store.db.pool().begin().await?;
        let held = Store::lock_acquisition(&mut tx, id, org)
            .await?
            .ok_or_else(unknown)?;
        if held.accepted_on.is_some() {
            return Ok(Response::new(acquisition(&held)?));
        }
        // A seeker who withdrew or blocked the organisation is to be deleted, never accepted
        // into a longer hold (SK6b).
        if Store::seeker_for(&mut tx, &held.seeker_id, org)
            .await?
            .is_none()
        {
            return Err(ServiceError::refused(
                RuleId::SK6b,
                "the seeker withdrew their consent or blocked this organisation: their information is due for deletion, not acceptance",
            ));
        }
        let accept_by = retention::acceptance_deadline(held.acquired_on)?;
        if today > accept_by {
            return Err(ServiceError::refused(
                RuleId::SK6c,
                format!(
                    "acquired on {}: acceptance was possible through {accept_by}; the information is due for deletion, not acceptance",
                    held.acquired_on
                ),
            ));
        }
        let due = retention::retention_clock(held.acquired_on, Some(today))?;
        let accepted = self.store.accept(&mut tx, id, today, &due).await?;
        tx.commit().await?;
        Ok(Response::new(acquisition(&accepted)?))
    }

    async fn do_list_acquisitions(
        &self,
        request: Request<ListAcquisitionsRequest>,
    ) -> Result<Response<ListAcquisitionsResponse>, ServiceError> {
        // What it holds, even while suspended: it must delete it (SK6e).
        let c = self.auth.caller(&request).await?;
        let Some(org) = c.organisation_id.filter(|_| c.role == Role::Org) else {
            return Err(ServiceError::forbidden(
                "an organisation lists the seekers it holds",
            ));
        };
        let page = request.into_inner().page.unwrap_or_default();
        let size = match page.page_size {
            0 => DEFAULT_PAGE,
            n if (1..=MAX_PAGE).contains(&n) => n,
            n => {
                return Err(ServiceError::invalid(format!(
                    "page_size {n}: 1 to {MAX_PAGE} ({DEFAULT_PAGE} when left out)"
                )));
            }
        };
        let after = match page.page_token.as_str() {
            "" => None,
            t => {
                let bad = || {
                    ServiceError::invalid(format!("page_token: {t:?} is not one this service gave"))
                };
                let (day, id) = t.split_once('~').ok_or_else(bad)?;
                Some((
                    NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(|_| bad())?,
                    Uuid::parse_str(id).map_err(|_| bad())?,
                ))
            }
        };
        let mut rows = self
            .store
            .acquisitions(org, after, i64::from(size) + 1)
            .await?;
        let more = rows.len() > size as usize;
        rows.truncate(size as usize);
        let next_page_token = match rows.last() {
            Some(last) if more => format!("{}~{}", last.deletion_due, last.id),
            _ => String::new(),
        };
        Ok(Response::new(ListAcquisitionsResponse {
            acquisitions: rows.iter().map(acquisition).collect::<Result<_, _>>()?,
            next_page_token,
        }))
    }
}

#[tonic::async_trait]
impl SeekerMatchingService for SeekerMatching {
    async fn get_seeker(&self, request: Request<GetSeekerRequest>) -> Reply<SeekerDetails> {
        Ok(self.do_get_seeker(request).await?)
    }

    async fn accept_seeker(&self, request: Request<AcceptSeekerRequest>) -> Reply<Acquisition> {
        Ok(self.do_accept(request).await?)
    }

    async fn list_acquisitions(
        &self,
        request: Request<ListAcquisitionsRequest>,
    ) -> Reply<ListAcquisitionsResponse> {
        Ok(self.do_list_acquisitions(request).await?)
    }

    async fn ingest_seekers(
        &self,
        request: Request<Streaming<IngestSeekersRequest>>,
    ) -> Reply<IngestSeekersSummary> {
        Ok(self.do_ingest(request).await?)
    }

    async fn search_seekers(
        &self,
        request: Request<SearchSeekersRequest>,
    ) -> Reply<SearchSeekersResponse> {
        Ok(self.do_search(request).await?)
    }
}
