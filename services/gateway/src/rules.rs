//! `/v1/rules`: the rule catalogue (`docs/RULES.md`, built in). Every refusal's problem+json
//! `type` is `/v1/rules/<ID>`, so a client (or a person) follows it to the rule's meaning and the
//! seed passage it comes from.

#![allow(unused_qualifications)] // utoipa's generated code qualifies paths

use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use hwx_rules::RuleId;
use hwx_rules::catalogue;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::model::Page;
use crate::problem::Problem;
use crate::{ApiResult, AppState};

/// One rule of the terms of use.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "D1",
    "section": "§5 Deadlines",
    "title": "application submission deadline: registration + 14 days",
    "meaning": "An organisation that registered an application on the site must get the signed PDF to its bureau within 14 days …",
    "seed": "登録日の翌日から起算して14日以内に…",
    "seed_ref": "3 (1) ④",
    "decision": true
}))]
pub struct Rule {
    /// The rule's ID (`E3`, `SK6c`, `D1` …), as refusals name it in `rule`.
    pub id: String,
    /// The section of the terms it belongs to.
    pub section: String,
    /// One line saying what it is about.
    pub title: String,
    /// What it means for the people using HWX, in plain words (paragraphs apart by a blank line).
    pub meaning: String,
    /// The passage of the original Japanese terms it comes from.
    pub seed: String,
    /// Where that passage stands in the terms.
    pub seed_ref: String,
    /// Whether HWX decides it (a date, a yes/no, a state change) rather than recording an
    /// obligation the organisation carries.
    pub decision: bool,
}

impl From<&catalogue::Entry> for Rule {
    fn from(e: &catalogue::Entry) -> Self {
        Rule {
            id: e.id.to_string(),
            section: e.section.clone(),
            title: e.title.clone(),
            meaning: e.meaning.clone(),
            seed: e.seed.clone(),
            seed_ref: e.seed_ref.clone(),
            decision: e.id.is_decision(),
        }
    }
}

/// Every rule of the terms of use, in the order of the terms (one page: there are fewer than a
/// hundred).
#[utoipa::path(get, path = "/v1/rules", security(()), responses((status = 200, body = Page<Rule>)))]
async fn list() -> Json<Page<Rule>> {
    Json(Page {
        items: catalogue::entries().iter().map(Rule::from).collect(),
        next_page_token: None,
    })
}

/// One rule: what it means and the seed passage it comes from. A refusal's `type` links here.
#[utoipa::path(get, path = "/v1/rules/{id}", security(()),
    params(("id" = String, Path, description = "the rule's ID, as a refusal names it", example = "D1")),
    responses((status = 200, body = Rule), (status = 404, body = Problem, description = "no rule has this ID")))]
async fn one(Path(id): Path<String>) -> ApiResult<Json<Rule>> {
    let entry = id
        .parse::<RuleId>()
        .ok()
        .and_then(catalogue::entry)
        .ok_or_else(|| {
            Problem::new(
                StatusCode::NOT_FOUND,
                format!("no rule {id:?}; GET /v1/rules lists them all"),
            )
        })?;
    Ok(Json(Rule::from(entry)))
}

/// The catalogue's routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(one))
}
