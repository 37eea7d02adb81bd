//! `/v1` over the registration service: accounts and sessions, organisations, applications,
//! enrolments, the bureau's lists and the public lists. Each handler parses the JSON, forwards the
//! caller's bearer token over gRPC (the client adds trace context and request ID), and maps the
//! answer back; refusals become problem+json with the rule.

#![allow(unused_qualifications)] // utoipa's generated code qualifies paths

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hwx_proto::registration::v1 as reg;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::model::*;
use crate::problem::Problem;
use crate::{ApiResult, AppState, body, grpc};

/// The query of a list (docs/API.md API3): `page_size` 1–500 (50 when left out) and
/// `page_token` from the previous page's `next_page_token`, then the list's own filters.
macro_rules! paged_query {
    ($(#[$meta:meta])* $name:ident { $($(#[$fmeta:meta])* $field:ident: $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Deserialize, IntoParams)]
        #[into_params(parameter_in = Query)]
        pub struct $name {
            /// Items per page: 1 to 500; 50 when left out.
            #[param(example = 50, minimum = 1, maximum = 500)]
            pub page_size: Option<i32>,
            /// The `next_page_token` of the previous page; left out for the first page.
            pub page_token: Option<String>,
            $($(#[$fmeta])* pub $field: $ty,)*
        }

        impl $name {
            /// The page asked for. A `page_size` the caller gave is 1 or more (0 would mean "the
            /// default" to the service, a quiet change docs/API.md rules out); the service checks
            /// the maximum.
            fn page(&self) -> Result<Option<hwx_proto::common::v1::PageRequest>, Problem> {
                if let Some(n) = self.page_size.filter(|n| *n < 1) {
                    return Err(Problem::bad_request(format!(
                        "page_size {n}: 1 to 500 (50 when left out)"
                    )));
                }
                Ok(Some(hwx_proto::common::v1::PageRequest {
                    page_size: self.page_size.unwrap_or(0),
                    page_token: self.page_token.clone().unwrap_or_default(),
                }))
            }
        }
    };
}

paged_query!(
    /// A list with no filters of its own.
    Paging {}
);

paged_query!(
    /// `GET /v1/applications`.
    ApplicationsQuery {
        /// Only applications in this state: `registered`, `submitted`, `approved`, `rejected` or
        /// `expired` (AP4).
        #[param(example = "submitted")]
        status: Option<String>,
    }
);

paged_query!(
    /// `GET /v1/public/organisations`.
    PublicQuery {
        /// Only organisations in this prefecture (JIS code `01`–`47`).
        #[param(example = "13")]
        prefecture_code: Option<String>,
    }
);

paged_query!(
    /// `GET /v1/bureau/overdue-emails`.
    OverdueQuery {
        /// MHLW and operations: only this bureau's (prefecture code `01`–`47`); a bureau officer
        /// always sees their own.
        #[param(example = "13")]
        bureau_code: Option<String>,
    }
);

fn next(token: String) -> Option<String> {
    Some(token).filter(|t| !t.is_empty())
}

/// Sign up an organisation or seeker account: without a session, the answer is 202 whether or
/// not the email is free, and the email receives either a one-time token (valid 24 hours) to
/// confirm with `POST /v1/accounts/confirmation`, or a message saying it has an account already
/// (or cannot be registered yet, E7). With an operations or ministry session, an account of any
/// role is made at once (201).
#[utoipa::path(post, path = "/v1/accounts", security((), ("bearer" = ["ops", "mhlw"])), request_body = NewAccount, responses(
    (status = 201, body = Account, description = "made by operations or the ministry"),
    (status = 202, body = Accepted, description = "signed up: the email receives a token to confirm with"),
    (status = 409, body = Problem, description = "operations: email taken"),
    (status = 422, body = Problem, description = "operations: E7, the email of an account closed less than 5 years ago")))]
async fn create_account(
    State(s): State<AppState>,
    headers: HeaderMap,
    raw: axum::body::Bytes,
) -> ApiResult<Response> {
    let account: NewAccount = body(&raw)?;
    if !headers.contains_key(header::AUTHORIZATION) {
        s.registration
            .clone()
            .sign_up(grpc(&headers, account.into_sign_up()?))
            .await?;
        return Ok((
            StatusCode::ACCEPTED,
            Json(Accepted {
                detail: "a message is on its way to this email: a one-time token (valid 24 hours) to confirm it with POST /v1/accounts/confirmation, or, if the email cannot be signed up, the reason".into(),
            }),
        )
            .into_response());
    }
    let a = s
        .registration
        .clone()
        .create_account(grpc(&headers, account.into_proto()?))
        .await?
        .into_inner();
    Ok((StatusCode::CREATED, Json(Account::try_from(a)?)).into_response())
}

/// Confirm a sign-up with the token from its message: the account is made; log in next.
#[utoipa::path(post, path = "/v1/accounts/confirmation", security(()), request_body = SignUpConfirmation, responses(
    (status = 201, body = Account),
    (status = 401, body = Problem, description = "the token is unknown, used or expired"),
    (status = 409, body = Problem, description = "the email has an account already"),
    (status = 422, body = Problem, description = "E7: the email of an account closed less than 5 years ago")))]
async fn confirm_sign_up(State(s): State<AppState>, raw: axum::body::Bytes) -> ApiResult<Response> {
    let c: SignUpConfirmation = body(&raw)?;
    let a = s
        .registration
        .clone()
        .confirm_sign_up(reg::ConfirmSignUpRequest { token: c.token })
        .await?
        .into_inner();
    Ok((StatusCode::CREATED, Json(Account::try_from(a)?)).into_response())
}

/// Log in: a bearer session.
#[utoipa::path(post, path = "/v1/sessions", security(()), request_body = Credentials, responses(
    (status = 201, body = Session), (status = 401, body = Problem, description = "wrong credentials, or locked (A1)")))]
async fn login(State(s): State<AppState>, raw: axum::body::Bytes) -> ApiResult<Response> {
    let c: Credentials = body(&raw)?;
    let session = s
        .registration
        .clone()
        .login(reg::LoginRequest {
            email: c.email,
            password: c.password,
        })
        .await?
        .into_inner();
    let expires_at = session
        .expires_at
        .and_then(|t| chrono::DateTime::from_timestamp(t.seconds, 0))
        .map(|t| hwx_rules::jst::text(&t))
        .unwrap_or_default();
    Ok((
        StatusCode::CREATED,
        Json(Session {
            token: session.token,
            expires_at,
            account: session.account.map(Account::try_from).transpose()?,
        }),
    )
        .into_response())
}

/// Log out: the bearer session ends.
#[utoipa::path(delete, path = "/v1/sessions", security(("bearer" = [])), responses((status = 204)))]
async fn logout(State(s): State<AppState>, headers: HeaderMap) -> ApiResult<StatusCode> {
    let token = crate::bearer(&headers)?;
    s.registration
        .clone()
        .logout(reg::LogoutRequest {
            token,
            everywhere: false,
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Log out everywhere: every session of the caller's account ends, this one included (other
/// gateways stop honouring them within 5 seconds).
#[utoipa::path(delete, path = "/v1/account/sessions", security(("bearer" = [])), responses((status = 204)))]
async fn logout_everywhere(State(s): State<AppState>, headers: HeaderMap) -> ApiResult<StatusCode> {
    let token = crate::bearer(&headers)?;
    s.registration
        .clone()
        .logout(reg::LogoutRequest {
            token,
            everywhere: true,
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A1: report a compromised account: it is locked, its sessions end, operations are told.
#[utoipa::path(post, path = "/v1/accounts/{id}/compromise", security(("bearer" = [])), request_body = CompromiseReport, params(("id" = String, Path, description = "the ID (a UUID, from the list or the create answer)", example = "0193b0a4-7c1e-7d2a-9f1e-2b7c6a9d4e10")),
    responses((status = 200, body = Account)))]
async fn report_compromise(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    raw: axum::body::Bytes,
) -> ApiResult<Json<Account>> {
    let r: CompromiseReport = if raw.is_empty() {
        CompromiseReport {
            reason: String::new(),
        }
    } else {
        body(&raw)?
    };
    let a = s
        .registration
        .clone()
        .report_compromise(grpc(
            &headers,
            reg::ReportCompromiseRequest {
                account_id: id,
                reason: r.reason,
            },
        ))
        .await?;
    Ok(Json(a.into_inner().try_into()?))
}

/// Change the caller's own password. Their other sessions end; this one stays.
#[utoipa::path(put, path = "/v1/account/password", request_body = PasswordChange,
    security(("bearer" = [])),
    responses((status = 200, body = Account),
        (status = 400, body = Problem, description = "the new password is too short"),
        (status = 403, body = Problem, description = "the current password is wrong")))]
async fn change_password(
    State(s): State<AppState>,
    headers: HeaderMap,
    raw: axum::body::Bytes,
) -> ApiResult<Json<Account>> {
    let c: PasswordChange = body(&raw)?;
    let a = s
        .registration
        .clone()
        .change_password(grpc(
            &headers,
            reg::ChangePasswordRequest {
                current_password: c.current_password,
                new_password: c.new_password,
            },
        ))
        .await?;
    Ok(Json(a.into_inner().try_into()?))
}

/// Forgot the password: a one-time token (valid 1 hour) goes to the account's email through the
/// notifier. The answer is the same whether or not the email has an account.
#[utoipa::path(post, path = "/v1/password-resets", security(()), request_body = PasswordResetRequest,
    responses((status = 202, body = Accepted)))]
async fn request_password_reset(
    State(s): State<AppState>,
    raw: axum::body::Bytes,
) -> ApiResult<Response> {
    let r: PasswordResetRequest = body(&raw)?;
    s.registration
        .clone()
        .request_password_reset(reg::RequestPasswordResetRequest { email: r.email })
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Accepted {
            detail: "if an open account has this email, a reset token is on its way to it; it works once, for 1 hour".into(),
        }),
    )
        .into_response())
}

/// Set a new password with a reset token. Every session of the account ends, and so does every
/// other open token; a lock after failed logins lifts. Refused under a compromise lock (A1):
/// operations lift that one.
#[utoipa::path(post, path = "/v1/password-resets/confirmation", security(()), request_body = PasswordReset,
    responses((status = 200, body = Account),
        (status = 401, body = Problem, description = "the token is unknown, used or expired, or the account is locked after a reported compromise (A1)")))]
async fn reset_password(
    State(s): State<AppState>,
    raw: axum::body::Bytes,
) -> ApiResult<Json<Account>> {
    let r: PasswordReset = body(&raw)?;
    let a = s
        .registration
        .clone()
        .reset_password(reg::ResetPasswordRequest {
            token: r.token,
            new_password: r.new_password,
        })
        .await?;
    Ok(Json(a.into_inner().try_into()?))
}

/// Operations: lift an account's lock (failed logins, or a compromise once dealt with, A1).
#[utoipa::path(post, path = "/v1/ops/unlocks", request_body = Unlock,
    security(("bearer" = ["ops"])),
    responses((status = 200, body = Account),
        (status = 403, body = Problem, description = "not operations"),
        (status = 404, body = Problem, description = "no such account")))]
async fn unlock_account(
    State(s): State<AppState>,
    headers: HeaderMap,
    raw: axum::body::Bytes,
) -> ApiResult<Json<Account>> {
    let u: Unlock = body(&raw)?;
    let a = s
        .registration
        .clone()
        .unlock_account(grpc(
            &headers,
            reg::UnlockAccountRequest {
                account_id: u.account_id,
                email: u.email,
            },
        ))
        .await?;
    Ok(Json(a.into_inner().try_into()?))
}

/// Register the caller's organisation (K1–K4, responsible persons A2).
#[utoipa::path(post, path = "/v1/organisations", security(("bearer" = ["org"])), request_body = NewOrganisation, responses(
    (status = 201, body = Organisation), (status = 422, body = Problem, description = "A2, E1")))]
async fn register_organisation(
    State(s): State<AppState>,
    headers: HeaderMap,
    raw: axum::body::Bytes,
) -> ApiResult<Response> {
    let req = body::<NewOrganisation>(&raw)?.into_proto()?;
    let o = s
        .registration
        .clone()
        .register_organisation(grpc(&headers, req))
        .await?
        .into_inner();
    Ok((StatusCode::CREATED, Json(Organisation::try_from(o)?)).into_response())
}

/// An organisation: its own account, or a bureau of its jurisdiction.
#[utoipa::path(get, path = "/v1/organisations/{id}", security(("bearer" = ["org", "bureau", "mhlw", "ops"])), params(("id" = String, Path, description = "the ID (a UUID, from the list or the create answer)", example = "0193b0a4-7c1e-7d2a-9f1e-2b7c6a9d4e10")), responses((status = 200, body = Organisation)))]
async fn get_organisation(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<Organisation>> {
    let o = s
        .registration
        .clone()
        .get_organisation(grpc(&headers, reg::GetOrganisationRequest { id }))
        .await?;
    Ok(Json(o.into_inner().try_into()?))
}

/// SK7: a new version of the mandatory information; ongoing conversations are told.
#[utoipa::path(put, path = "/v1/organisations/{id}/mandatory-info", security(("bearer" = ["org"])), request_body = MandatoryInfo, params(("id" = String, Path, description = "the ID (a UUID, from the list or the create answer)", example = "0193b0a4-7c1e-7d2a-9f1e-2b7c6a9d4e10")),
    responses((status = 200, body = Organisation)))]
async fn update_mandatory_info(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    raw: axum::body::Bytes,
) -> ApiResult<Json<Organisation>> {
    let m: MandatoryInfo = body(&raw)?;
    let req = reg::UpdateMandatoryInfoRequest {
        organisation_id: id,
        mandatory_info: Some(m.into_proto()),
    };
    Ok(Json(
        s.registration
            .clone()
            .update_mandatory_info(grpc(&headers, req))
            .await?
            .into_inner()
            .try_into()?,
    ))
}

/// The organisation's enrolments in S-JOB and S-SEEKER, with their validity (D8).
/// At most two (one per service): one page, never a `next_page_token`.
#[utoipa::path(get, path = "/v1/organisations/{id}/enrolments", params(("id" = String, Path, description = "the ID (a UUID, from the list or the create answer)", example = "0193b0a4-7c1e-7d2a-9f1e-2b7c6a9d4e10")),
    security(("bearer" = ["org", "bureau", "mhlw", "ops"])),
    responses((status = 200, body = Page<Enrolment>)))]
async fn enrolments(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<Page<Enrolment>>> {
    let e = s
        .registration
        .clone()
        .list_enrolments(grpc(
            &headers,
            reg::ListEnrolmentsRequest {
                organisation_id: id,
            },
        ))
        .await?;
    Ok(Json(Page {
        items: e
            .into_inner()
            .enrolments
            .into_iter()
            .map(Enrolment::try_from)
            .collect::<ApiResult<_>>()?,
        next_page_token: None,
    }))
}

/// AP5/D2: the bureau sent its application email address.
#[utoipa::path(post, path = "/v1/organisations/{id}/bureau-email", security(("bearer" = ["bureau", "mhlw"])), params(("id" = String, Path, description = "the ID (a UUID, from the list or the create answer)", example = "0193b0a4-7c1e-7d2a-9f1e-2b7c6a9d4e10")), responses((status = 200, body = Organisation)))]
async fn bureau_email_sent(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<Organisation>> {
    let o = s
        .registration
        .clone()
        .record_bureau_email_sent(grpc(
            &headers,
            reg::RecordBureauEmailSentRequest {
                organisation_id: id,
            },
        ))
        .await?;
    Ok(Json(o.into_inner().try_into()?))
}

/// D2: organisations whose bureau email is overdue (a bureau sees its own).
#[utoipa::path(get, path = "/v1/bureau/overdue-emails", params(OverdueQuery),
    security(("bearer" = ["bureau", "mhlw", "ops"])),
    responses((status = 200, body = Page<Organisation>)))]
async fn overdue_emails(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<OverdueQuery>,
) -> ApiResult<Json<Page<Organisation>>> {
    let r = s
        .registration
        .clone()
        .list_overdue_bureau_emails(grpc(
            &headers,
            reg::ListOverdueBureauEmailsRequest {
                bureau_code: q.bureau_code.clone().unwrap_or_default(),
                page: q.page()?,
            },
        ))
        .await?
        .into_inner();
    Ok(Json(Page {
        items: r
            .organisations
            .into_iter()
            .map(Organisation::try_from)
            .collect::<ApiResult<_>>()?,
        next_page_token: next(r.next_page_token),
    }))
}

/// Register an application (AP1); eligibility is checked (E1–E8) and the D1 deadline set.
#[utoipa::path(post, path = "/v1/applications", security(("bearer" = ["org"])), request_body = NewApplication, responses(
    (status = 201, body = Application), (status = 422, body = Problem, description = "refused by a rule: E1, E2, E3, E5, E8")))]
async fn create_application(
    State(s): State<AppState>,
    headers: HeaderMap,
    raw: axum::body::Bytes,
) -> ApiResult<Response> {
    let req = body::<NewApplication>(&raw)?.into_proto()?;
    let a = s
        .registration
        .clone()
        .create_application(grpc(&headers, req))
        .await?
        .into_inner();
    Ok((StatusCode::CREATED, Json(Application::try_from(a)?)).into_response())
}

/// Applications: an organisation sees its own, a bureau those under its jurisdiction.
#[utoipa::path(get, path = "/v1/applications", params(ApplicationsQuery),
    security(("bearer" = ["org", "bureau", "mhlw", "ops"])),
    responses((status = 200, body = Page<Application>)))]
async fn list_applications(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(p): Query<ApplicationsQuery>,
) -> ApiResult<Json<Page<Application>>> {
    let status = match p.status.as_deref() {
        None | Some("") => 0,
        Some(st) => status_in(st)?,
    };
    let req = reg::ListApplicationsRequest {
        page: p.page()?,
        status,
        ..Default::default()
    };
    let r = s
        .registration
        .clone()
        .list_applications(grpc(&headers, req))
        .await?
        .into_inner();
    Ok(Json(Page {
        items: r
            .applications
            .into_iter()
            .map(Application::try_from)
            .collect::<ApiResult<_>>()?,
        next_page_token: next(r.next_page_token),
    }))
}

/// One application with its status and D1 deadline.
#[utoipa::path(get, path = "/v1/applications/{id}", security(("bearer" = ["org", "bureau", "mhlw", "ops"])), params(("id" = String, Path, description = "the ID (a UUID, from the list or the create answer)", example = "0193b0a4-7c1e-7d2a-9f1e-2b7c6a9d4e10")), responses((status = 200, body = Application)))]
async fn get_application(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<Application>> {
    Ok(Json(
        s.registration
            .clone()
            .get_application(grpc(&headers, reg::GetApplicationRequest { id }))
            .await?
            .into_inner()
            .try_into()?,
    ))
}

/// AP2: the application as a PDF with a field for the representative's name.
#[utoipa::path(get, path = "/v1/applications/{id}/pdf", security(("bearer" = ["org", "bureau", "mhlw", "ops"])), params(("id" = String, Path, description = "the ID (a UUID, from the list or the create answer)", example = "0193b0a4-7c1e-7d2a-9f1e-2b7c6a9d4e10")),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>)))]
async fn application_pdf(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let pdf = s
        .registration
        .clone()
        .get_application_pdf(grpc(&headers, reg::GetApplicationRequest { id }))
        .await?
        .into_inner();
    let disposition = format!("attachment; filename=\"{}\"", pdf.filename);
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        pdf.pdf,
    )
        .into_response())
}

/// AP4: the bureau records receipt of the signed PDF; refused after the D1 deadline.
#[utoipa::path(post, path = "/v1/applications/{id}/submission", security(("bearer" = ["bureau", "mhlw"])), request_body = Submission, params(("id" = String, Path, description = "the ID (a UUID, from the list or the create answer)", example = "0193b0a4-7c1e-7d2a-9f1e-2b7c6a9d4e10")), responses(
    (status = 200, body = Application), (status = 403, body = Problem, description = "not the jurisdictional bureau (AP4)"),
    (status = 422, body = Problem, description = "D1: past the deadline")))]
async fn record_submission(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    raw: axum::body::Bytes,
) -> ApiResult<Json<Application>> {
    let sub: Submission = if raw.is_empty() {
        Submission::default()
    } else {
        body(&raw)?
    };
    let req = reg::RecordSubmissionRequest {
        application_id: id,
        received_on: date_in(&sub.received_on, "received_on")?,
    };
    Ok(Json(
        s.registration
            .clone()
            .record_submission(grpc(&headers, req))
            .await?
            .into_inner()
            .try_into()?,
    ))
}

/// AP4: approve or reject; only an officer of the jurisdictional bureau.
#[utoipa::path(post, path = "/v1/applications/{id}/decision", security(("bearer" = ["bureau", "mhlw"])), request_body = Decision, params(("id" = String, Path, description = "the ID (a UUID, from the list or the create answer)", example = "0193b0a4-7c1e-7d2a-9f1e-2b7c6a9d4e10")), responses(
    (status = 200, body = Application), (status = 403, body = Problem, description = "not the jurisdictional bureau (AP4)")))]
async fn decide(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    raw: axum::body::Bytes,
) -> ApiResult<Json<Application>> {
    let d: Decision = body(&raw)?;
    let req = reg::DecideApplicationRequest {
        application_id: id,
        approve: d.approve,
        note: d.note,
        validity_months: d.validity_months,
    };
    Ok(Json(
        s.registration
            .clone()
            .decide_application(grpc(&headers, req))
            .await?
            .into_inner()
            .try_into()?,
    ))
}

/// L1: the public organisation list (停止中 marked).
#[utoipa::path(get, path = "/v1/public/organisations", params(PublicQuery), security(()),
    responses((status = 200, body = Page<PublicOrganisation>)))]
async fn public_organisations(
    State(s): State<AppState>,
    Query(p): Query<PublicQuery>,
) -> ApiResult<Json<Page<PublicOrganisation>>> {
    let req = reg::ListPublicOrganisationsRequest {
        prefecture_code: p.prefecture_code.clone().unwrap_or_default(),
        page: p.page()?,
    };
    let r = s
        .registration
        .clone()
        .list_public_organisations(req)
        .await?
        .into_inner();
    let items = r
        .organisations
        .into_iter()
        .map(|o| PublicOrganisation {
            name: o.name,
            address: o.address,
            licence_number: o.licence_number,
            handles_subsidies: o.handles_subsidies,
            certifications: o.certifications,
            suspended: o.suspended,
        })
        .collect();
    Ok(Json(Page {
        items,
        next_page_token: next(r.next_page_token),
    }))
}

/// L1: revoked organisations with their revocation dates.
#[utoipa::path(get, path = "/v1/public/revoked-organisations", params(Paging), security(()),
    responses((status = 200, body = Page<RevokedOrganisation>)))]
async fn revoked_organisations(
    State(s): State<AppState>,
    Query(p): Query<Paging>,
) -> ApiResult<Json<Page<RevokedOrganisation>>> {
    let r = s
        .registration
        .clone()
        .list_revoked_organisations(reg::ListRevokedOrganisationsRequest { page: p.page()? })
        .await?
        .into_inner();
    let items = r
        .organisations
        .into_iter()
        .map(|o| RevokedOrganisation {
            name: o.name,
            licence_number: o.licence_number,
            revoked_on: date_str(&o.revoked_on),
        })
        .collect();
    Ok(Json(Page {
        items,
        next_page_token: next(r.next_page_token),
    }))
}

/// Every route over registration, each with its OpenAPI description.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_account))
        .routes(routes!(confirm_sign_up))
        .routes(routes!(report_compromise))
        .routes(routes!(login, logout))
        .routes(routes!(logout_everywhere))
        .routes(routes!(change_password))
        .routes(routes!(request_password_reset))
        .routes(routes!(reset_password))
        .routes(routes!(unlock_account))
        .routes(routes!(register_organisation))
        .routes(routes!(get_organisation))
        .routes(routes!(update_mandatory_info))
        .routes(routes!(enrolments))
        .routes(routes!(bureau_email_sent))
        .routes(routes!(overdue_emails))
        .routes(routes!(create_application, list_applications))
        .routes(routes!(get_application))
        .routes(routes!(application_pdf))
        .routes(routes!(record_submission))
        .routes(routes!(decide))
        .routes(routes!(public_organisations))
        .routes(routes!(revoked_organisations))
}
