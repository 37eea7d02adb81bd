//! `/v1/seekers`: seeker matching over HTTP. Hello Work's systems send seekers as NDJSON (role
//! upstream); organisations with an active S-SEEKER enrolment search them (E3, SN1, SN2).

#![allow(unused_qualifications)] // utoipa's generated code qualifies paths

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use hwx_proto::seekermatching::v1 as sm;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::model::{Page, date_in, date_str};
use crate::ndjson::Lines;
use crate::problem::Problem;
use crate::{ApiResult, AppState, grpc};

/// Longest NDJSON line accepted (one seeker).
const MAX_LINE: usize = 256 * 1024;

/// Years of experience in one occupation.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExperienceJson {
    /// MHLW 2022 occupation code.
    pub occupation: String,
    /// 0 to 60.
    pub years: i32,
}

/// A seeker as Hello Work sends it and organisations see it: attributes only, nothing that
/// identifies the person (SK1). A line with `"consents": false` and the ID withdraws the seeker.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"seeker_id": "S-000001", "age_band": 30, "desired_occupations": ["05"], "desired_prefectures": ["13"],
    "employment_types": ["正社員"], "wage_type": "monthly", "wage_min": 220000, "hello_work_office": "ハローワーク新宿",
    "consent_on": "2026-10-01", "last_active_on": "2026-11-20", "consents": true}))]
pub struct SeekerJson {
    /// A pseudonym Hello Work assigns for this service (1–32 letters, digits or hyphens), never
    /// the Hello Work registration number.
    pub seeker_id: String,
    /// Lower bound of a five-year age band: 15, 20, … 80.
    #[serde(default)]
    pub age_band: i32,
    /// female, male or other; only when the seeker chose to show it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<String>,
    /// MHLW 2022 occupation codes at any level (`05`, `051`, `051-03`).
    #[serde(default)]
    pub desired_occupations: Vec<String>,
    /// JIS prefecture codes 01–47.
    #[serde(default)]
    pub desired_prefectures: Vec<String>,
    /// Five-digit JIS municipality codes.
    #[serde(default)]
    pub desired_municipalities: Vec<String>,
    /// 正社員, 正社員以外, パート労働者, 有期雇用派遣労働者, 無期雇用派遣労働者.
    #[serde(default)]
    pub employment_types: Vec<String>,
    /// monthly, daily, hourly or annual, with the band in yen (an end left out is open).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wage_type: Option<String>,
    /// Lower end of the desired band, yen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wage_min: Option<i64>,
    /// Upper end of the desired band, yen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wage_max: Option<i64>,
    /// Working-hours wishes in words.
    #[serde(default)]
    pub working_hours: String,
    /// Qualifications and licences by name.
    #[serde(default)]
    pub qualifications: Vec<String>,
    /// Years of experience by occupation.
    #[serde(default)]
    pub experience: Vec<ExperienceJson>,
    /// junior_high, high_school, vocational, junior_college, university, graduate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub education: Option<String>,
    /// The registering Hello Work office.
    #[serde(default)]
    pub hello_work_office: String,
    /// YYYY-MM-DD.
    #[serde(default)]
    pub consent_on: Option<String>,
    /// YYYY-MM-DD.
    #[serde(default)]
    pub last_active_on: Option<String>,
    /// Required: true, or false to withdraw the seeker.
    pub consents: Option<bool>,
}

/// A withdrawal: the ID and `"consents": false`. It goes through whatever else the line holds,
/// so a seeker's withdrawal is never lost to a mistake in a field that no longer matters.
fn withdrawal(value: &serde_json::Value) -> Option<sm::Seeker> {
    let id = value.get("seeker_id")?.as_str()?;
    (value.get("consents")? == &serde_json::Value::Bool(false)).then(|| sm::Seeker {
        seeker_id: id.to_owned(),
        consents: Some(false),
        ..Default::default()
    })
}

impl SeekerJson {
    fn into_proto(self) -> Result<sm::Seeker, String> {
        let day = |d: &Option<String>, field: &str| date_in(d, field).map_err(|p| p.detail);
        let Some(consents) = self.consents else {
            return Err(
                "consents: required (true; false withdraws the seeker from every search)".into(),
            );
        };
        Ok(sm::Seeker {
            consent_on: day(&self.consent_on, "consent_on")?,
            last_active_on: day(&self.last_active_on, "last_active_on")?,
            seeker_id: self.seeker_id,
            age_band: self.age_band,
            gender: self.gender.unwrap_or_default(),
            desired_occupations: self.desired_occupations,
            desired_prefectures: self.desired_prefectures,
            desired_municipalities: self.desired_municipalities,
            employment_types: self.employment_types,
            wage_type: self.wage_type.unwrap_or_default(),
            wage_min: self.wage_min.unwrap_or(0),
            wage_max: self.wage_max.unwrap_or(0),
            working_hours: self.working_hours,
            qualifications: self.qualifications,
            experience: self
                .experience
                .into_iter()
                .map(|e| sm::Experience {
                    occupation: e.occupation,
                    years: e.years,
                })
                .collect(),
            education: self.education.unwrap_or_default(),
            hello_work_office: self.hello_work_office,
            consents: Some(consents),
        })
    }

    /// A seeker as served (and as `hwx demo seekers --out` writes it for ingest).
    pub fn from_proto(s: sm::Seeker) -> Self {
        let text = |s: String| Some(s).filter(|s| !s.is_empty());
        let wage = |n: i64| Some(n).filter(|n| *n > 0);
        SeekerJson {
            consent_on: date_str(&s.consent_on),
            last_active_on: date_str(&s.last_active_on),
            seeker_id: s.seeker_id,
            age_band: s.age_band,
            gender: text(s.gender),
            desired_occupations: s.desired_occupations,
            desired_prefectures: s.desired_prefectures,
            desired_municipalities: s.desired_municipalities,
            employment_types: s.employment_types,
            wage_type: text(s.wage_type),
            wage_min: wage(s.wage_min),
            wage_max: wage(s.wage_max),
            working_hours: s.working_hours,
            qualifications: s.qualifications,
            experience: s
                .experience
                .into_iter()
                .map(|e| ExperienceJson {
                    occupation: e.occupation,
                    years: e.years,
                })
                .collect(),
            education: text(s.education),
            hello_work_office: s.hello_work_office,
            consents: s.consents,
        }
    }
}

/// One body line as the service takes it: a seeker, or why it is none. A field that identifies
/// the seeker (SK1) is refused by name before the record is read.
fn seeker_item(line: &[u8], n: i64) -> sm::ingest_seekers_request::Item {
    use sm::ingest_seekers_request::Item;
    let malformed = |message: String, field: &str, rule: &str, seeker_id: &str| {
        Item::Malformed(sm::Malformed {
            message,
            field: field.to_owned(),
            rule: rule.to_owned(),
            seeker_id: seeker_id.to_owned(),
        })
    };
    let value: serde_json::Value = match serde_json::from_slice(line) {
        Ok(v) => v,
        Err(e) => {
            let full = e.to_string();
            let what = full
                .rsplit_once(" at line ")
                .map_or(full.as_str(), |(m, _)| m);
            return malformed(
                format!("line {n}, column {}: not a seeker: {what}", e.column()),
                "",
                "",
                "",
            );
        }
    };
    if let Some(w) = withdrawal(&value) {
        return Item::Seeker(w);
    }
    let id = value["seeker_id"].as_str().unwrap_or_default().to_owned();
    if let Some(fields) = value.as_object() {
        let identifying = hwx_rules::seeker::identifying_fields(fields.keys().map(String::as_str));
        if let Some(field) = identifying.first() {
            return malformed(
                format!(
                    "line {n}: {field} identifies the seeker: seeker information never carries it (SK1)"
                ),
                field,
                "SK1",
                &id,
            );
        }
    }
    match serde_json::from_value::<SeekerJson>(value).map_err(|e| e.to_string()) {
        Ok(s) => match s.into_proto() {
            Ok(s) => Item::Seeker(s),
            Err(why) => malformed(format!("line {n}: {why}"), "", "", &id),
        },
        Err(why) => malformed(format!("line {n}: not a seeker: {why}"), "", "", &id),
    }
}

/// What an ingest did.
#[derive(Debug, Serialize, ToSchema)]
pub struct SeekerIngestJson {
    pub stored: i64,
    pub unchanged: i64,
    pub withdrawn: i64,
    pub refused: i64,
    /// Every refused and withdrawn record (the first 10,000); stored and unchanged ones are
    /// counted only.
    pub results: Vec<SeekerResultJson>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SeekerResultJson {
    /// The line of the body (1-based).
    pub line: i64,
    pub seeker_id: String,
    /// withdrawn or refused.
    pub outcome: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub rule: String,
    /// The field at fault, for a refusal.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub field: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// Hello Work's systems send seekers who consented: one JSON seeker per line (NDJSON), any number,
/// streamed. Each record is stored, found unchanged, withdrawn (`"consents": false`: the seeker
/// leaves every search at once) or refused naming the field, with SK1 for anything that
/// identifies the seeker (a name, address, phone, email, birth date or employer field, or contact
/// details in free text). Records are written in batches: a body cut short keeps what came before.
#[utoipa::path(post, path = "/v1/seekers", security(("bearer" = ["upstream"])),
    request_body(content = SeekerJson, content_type = "application/x-ndjson", description = "one seeker (this schema) per line"),
    responses(
        (status = 200, body = SeekerIngestJson),
        (status = 400, body = Problem, description = "an empty body, a line over 256 KiB, or a body that broke off"),
        (status = 403, body = Problem, description = "not role upstream")))]
pub(crate) async fn ingest(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<SeekerIngestJson>> {
    // No body is read for a caller who sent no credentials at all.
    crate::bearer(&headers)?;
    let (tx, rx) = mpsc::channel::<sm::IngestSeekersRequest>(256);
    let mut client = s.seeker_matching.clone();
    let request = grpc(&headers, ReceiverStream::new(rx));
    let call =
        hwx_platform::grpc::spawn_carrying(async move { client.ingest_seekers(request).await });
    // The body line of each record the service numbered.
    let mut line_of: Vec<i64> = Vec::new();
    let mut lines = Lines::new(body, MAX_LINE);
    let mut broken: Option<String> = None;
    while let Some(next) = lines.next().await {
        let (n, line) = match next {
            Ok(l) => l,
            Err(why) => {
                broken = Some(why);
                break;
            }
        };
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let item = seeker_item(line, n);
        line_of.push(n);
        // The service ended the call (refused the caller, or failed): stop reading.
        if call.is_finished()
            || tx
                .send(sm::IngestSeekersRequest { item: Some(item) })
                .await
                .is_err()
        {
            break;
        }
    }
    drop(tx);
    let outcome = call
        .await
        .map_err(|_| Problem::from(tonic::Status::unavailable("ingest interrupted")))?;
    // The service's own refusal (who may ingest, an outage) comes first.
    if let Err(e) = &outcome
        && (broken.is_none() || e.code() != tonic::Code::InvalidArgument)
    {
        return Err(Problem::from(e.clone()));
    }
    if let Some(why) = broken {
        let done = match &outcome {
            Ok(s) => format!(
                "{} stored, {} unchanged, {} withdrawn before it",
                s.get_ref().stored,
                s.get_ref().unchanged,
                s.get_ref().withdrawn
            ),
            Err(_) => "the records before it were processed".into(),
        };
        return Err(Problem::bad_request(format!("{why}: {done}")));
    }
    if line_of.is_empty() {
        return Err(Problem::bad_request(
            "the body holds no seekers: send one JSON seeker per line (application/x-ndjson; curl --data-binary @file)",
        ));
    }
    let summary = outcome?.into_inner();
    let results = summary
        .results
        .into_iter()
        .map(|r| SeekerResultJson {
            line: usize::try_from(r.index - 1)
                .ok()
                .and_then(|i| line_of.get(i).copied())
                .unwrap_or(0),
            seeker_id: r.seeker_id,
            outcome: r.outcome,
            rule: r.rule,
            field: r.field,
            message: r.message,
        })
        .collect();
    Ok(Json(SeekerIngestJson {
        stored: summary.stored,
        unchanged: summary.unchanged,
        withdrawn: summary.withdrawn,
        refused: summary.refused,
        results,
    }))
}

/// `GET /v1/seekers`: the filters (each optional; lists are comma-separated) and the page.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SeekerQuery {
    /// Occupation codes, any of them, at any level either way (`05` finds a wish for `051-03`,
    /// and `051-03` a wish for all of `05`).
    #[param(example = "05,10")]
    pub occupation: Option<String>,
    /// Prefecture codes, any of them.
    #[param(example = "13,14")]
    pub prefecture: Option<String>,
    /// Five-digit municipality codes, any of them.
    pub municipality: Option<String>,
    /// Employment types, any of them.
    #[param(example = "正社員")]
    pub employment_type: Option<String>,
    /// From this age band (15–80).
    pub age_band_min: Option<i32>,
    /// Up to this age band (15–80).
    pub age_band_max: Option<i32>,
    /// Only seekers who show this gender.
    pub gender: Option<String>,
    /// With `wage_offered`: seekers whose desired band admits this wage.
    #[param(example = "monthly")]
    pub wage_type: Option<String>,
    /// The wage offered, in yen per `wage_type`.
    #[param(example = 250000)]
    pub wage_offered: Option<i64>,
    /// Qualifications, all of them.
    pub qualification: Option<String>,
    /// Education levels, any of them.
    pub education: Option<String>,
    /// Active on or after this day (YYYY-MM-DD).
    #[param(example = "2026-11-01")]
    pub active_since: Option<String>,
    /// Items per page: 1 to 200; 50 when left out.
    #[param(example = 50, minimum = 1, maximum = 200)]
    pub page_size: Option<i32>,
    /// The `next_page_token` of the previous page; left out for the first page.
    pub page_token: Option<String>,
}

fn list(v: &Option<String>) -> Vec<String> {
    v.as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Seekers for an organisation with an active S-SEEKER enrolment: newest activity first, never
/// one who blocked the organisation. Without an active enrolment: 422 with E3, or SN1/SN2 while
/// the organisation's use is suspended or revoked.
#[utoipa::path(get, path = "/v1/seekers", security(("bearer" = ["org"])), params(SeekerQuery),
    responses(
        (status = 200, body = Page<SeekerJson>),
        (status = 422, body = Problem, description = "E3: no active S-SEEKER enrolment; SN1 suspended; SN2 revoked")))]
pub(crate) async fn search(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<SeekerQuery>,
) -> ApiResult<Json<Page<SeekerJson>>> {
    if let Some(n) = q.page_size.filter(|n| *n < 1) {
        return Err(Problem::bad_request(format!(
            "page_size {n}: 1 to 200 (50 when left out)"
        )));
    }
    let request = sm::SearchSeekersRequest {
        occupations: list(&q.occupation),
        prefectures: list(&q.prefecture),
        municipalities: list(&q.municipality),
        employment_types: list(&q.employment_type),
        age_band_min: q.age_band_min.unwrap_or(0),
        age_band_max: q.age_band_max.unwrap_or(0),
        gender: q.gender.clone().unwrap_or_default(),
        wage_type: q.wage_type.clone().unwrap_or_default(),
        wage_offered: q.wage_offered.unwrap_or(0),
        qualifications: list(&q.qualification),
        education: list(&q.education),
        active_since: date_in(&q.active_since, "active_since")?,
        page: Some(hwx_proto::common::v1::PageRequest {
            page_size: q.page_size.unwrap_or(0),
            page_token: q.page_token.clone().unwrap_or_default(),
        }),
    };
    let r = s
        .seeker_matching
        .clone()
        .search_seekers(grpc(&headers, request))
        .await?
        .into_inner();
    Ok(Json(Page {
        items: r.seekers.into_iter().map(SeekerJson::from_proto).collect(),
        next_page_token: Some(r.next_page_token).filter(|t| !t.is_empty()),
    }))
}

/// An organisation's hold on a seeker's information (SK6): when it was acquired, until when it may
/// be accepted (求職受理), and when it must be deleted under which rule.
#[derive(Debug, Serialize, ToSchema)]
pub struct AcquisitionJson {
    pub id: String,
    pub seeker_id: String,
    /// When the organisation first opened the details (JST).
    pub acquired_at: String,
    pub acquired_on: Option<String>,
    /// SK6c: the last day the seeker may be accepted.
    pub accept_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accepted_on: Option<String>,
    /// The day deletion is due.
    pub deletion_due: Option<String>,
    /// The rule that set it: SK6c (not accepted), SK6d (accepted), SK6a/b/e.
    pub deletion_rule: String,
}

impl From<sm::Acquisition> for AcquisitionJson {
    fn from(a: sm::Acquisition) -> Self {
        AcquisitionJson {
            acquired_at: a
                .acquired_at
                .and_then(|t| chrono::DateTime::from_timestamp(t.seconds, 0))
                .map(|t| hwx_rules::jst::text(&t))
                .unwrap_or_default(),
            acquired_on: date_str(&a.acquired_on),
            accept_by: date_str(&a.accept_by),
            accepted_on: date_str(&a.accepted_on),
            deletion_due: date_str(&a.deletion_due),
            id: a.id,
            seeker_id: a.seeker_id,
            deletion_rule: a.deletion_rule,
        }
    }
}

/// A seeker's details, and the organisation's acquisition of them.
#[derive(Debug, Serialize, ToSchema)]
pub struct SeekerDetailsJson {
    pub seeker: SeekerJson,
    pub acquisition: AcquisitionJson,
}

/// Open a seeker's details. That is an acquisition (SK6): recorded the first time, with its
/// deletion deadline (SK6c until the seeker is accepted); opening again while it is held changes
/// nothing. An unknown seeker, one who withdrew or one who blocked the organisation: 404 alike.
#[utoipa::path(get, path = "/v1/seekers/{id}", security(("bearer" = ["org"])),
    params(("id" = String, Path, description = "the seeker's ID", example = "S-000001")),
    responses(
        (status = 200, body = SeekerDetailsJson),
        (status = 404, body = Problem, description = "no such seeker for this organisation"),
        (status = 422, body = Problem, description = "E3: no active S-SEEKER enrolment; SN1 suspended; SN2 revoked")))]
pub(crate) async fn details(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<SeekerDetailsJson>> {
    let d = s
        .seeker_matching
        .clone()
        .get_seeker(grpc(&headers, sm::GetSeekerRequest { seeker_id: id }))
        .await?
        .into_inner();
    let (Some(seeker), Some(acquisition)) = (d.seeker, d.acquisition) else {
        return Err(Problem::from(tonic::Status::internal(
            "seeker matching answered without the seeker or the acquisition",
        )));
    };
    Ok(Json(SeekerDetailsJson {
        seeker: SeekerJson::from_proto(seeker),
        acquisition: acquisition.into(),
    }))
}

/// 求職受理: the organisation accepted the seeker, today. The deletion deadline moves to SK6d
/// (more than a year counted from the next fiscal year's first day). After the SK6c acceptance
/// deadline it is refused: the information is due for deletion instead.
#[utoipa::path(post, path = "/v1/acquisitions/{id}/acceptance", security(("bearer" = ["org"])),
    params(("id" = String, Path, description = "the acquisition's ID (from the seeker's details or the list)", example = "0193b0a4-7c1e-7d2a-9f1e-2b7c6a9d4e10")),
    responses(
        (status = 200, body = AcquisitionJson),
        (status = 404, body = Problem, description = "no such acquisition of this organisation"),
        (status = 422, body = Problem, description = "SK6c: past the acceptance deadline; E3/SN1/SN2")))]
pub(crate) async fn accept(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<AcquisitionJson>> {
    let a = s
        .seeker_matching
        .clone()
        .accept_seeker(grpc(
            &headers,
            sm::AcceptSeekerRequest { acquisition_id: id },
        ))
        .await?
        .into_inner();
    Ok(Json(a.into()))
}

/// `GET /v1/acquisitions`: the page.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AcquisitionsQuery {
    /// Items per page: 1 to 200; 50 when left out.
    #[param(example = 50, minimum = 1, maximum = 200)]
    pub page_size: Option<i32>,
    /// The `next_page_token` of the previous page; left out for the first page.
    pub page_token: Option<String>,
}

/// The seekers' information the organisation holds, soonest deletion first, each with its deadline
/// and rule (also while its use is suspended: it must delete them, SK6e).
#[utoipa::path(get, path = "/v1/acquisitions", security(("bearer" = ["org"])), params(AcquisitionsQuery),
    responses((status = 200, body = Page<AcquisitionJson>)))]
pub(crate) async fn acquisitions(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<AcquisitionsQuery>,
) -> ApiResult<Json<Page<AcquisitionJson>>> {
    if let Some(n) = q.page_size.filter(|n| *n < 1) {
        return Err(Problem::bad_request(format!(
            "page_size {n}: 1 to 200 (50 when left out)"
        )));
    }
    let r = s
        .seeker_matching
        .clone()
        .list_acquisitions(grpc(
            &headers,
            sm::ListAcquisitionsRequest {
                page: Some(hwx_proto::common::v1::PageRequest {
                    page_size: q.page_size.unwrap_or(0),
                    page_token: q.page_token.unwrap_or_default(),
                }),
            },
        ))
        .await?
        .into_inner();
    Ok(Json(Page {
        items: r.acquisitions.into_iter().map(Into::into).collect(),
        next_page_token: Some(r.next_page_token).filter(|t| !t.is_empty()),
    }))
}

/// Search, details and acquisitions, with the other routes' body limit.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(search))
        .routes(routes!(details))
        .routes(routes!(accept))
        .routes(routes!(acquisitions))
}

/// Ingest takes bodies of any size (streamed line by line), so it is routed apart from the body
/// limit the other routes have.
pub fn ingest_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(ingest))
}
