//! docs/API.md, checked: what can be checked mechanically over `/openapi.json` and live answers.
//! A route that breaks a convention fails here, naming the route and the rule (API3 …).

use hwx_platform::config::MaintenanceMode;
use hwx_testkit::http::{Response, request_raw};
use serde_json::{Value, json};

use super::Stack;

/// `$ref` → the schema it names.
fn resolve<'a>(spec: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r.trim_start_matches("#/components/schemas/");
            &spec["components"]["schemas"][name]
        }
        None => schema,
    }
}

/// Every `enum` value anywhere under `v`, with where it was found.
fn enums(v: &Value, at: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::Array(values)) = m.get("enum") {
                for e in values.iter().filter_map(Value::as_str) {
                    out.push((at.to_owned(), e.to_owned()));
                }
            }
            for (k, child) in m {
                enums(child, &format!("{at}/{k}"), out);
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                enums(child, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// A documented word: lowercase snake_case, or an ID of the terms (`K1`, `SK6c`).
fn is_wire_word(w: &str) -> bool {
    let lower = !w.is_empty()
        && w.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    let id = w.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && w.chars().any(|c| c.is_ascii_digit())
        && w.len() <= 5;
    lower || id
}

fn is_problem(r: &Response) -> bool {
    r.header("content-type")
        .is_some_and(|v| v.starts_with("application/problem+json"))
        && r.json()["status"] == r.status
        && r.json()["detail"].as_str().is_some_and(|d| !d.is_empty())
}

#[tokio::test]
async fn api3_api5_api11_api12_the_description_follows_the_conventions() {
    let s = Stack::start("2026-11-27T10:00:00+09:00", MaintenanceMode::Off).await;
    let spec = s.call("GET", "/openapi.json", None, None).await.json();
    s.stop().await;

    // API11: the bearer scheme.
    let bearer = &spec["components"]["securitySchemes"]["bearer"];
    assert_eq!(bearer["type"], "http", "{bearer}");
    assert_eq!(bearer["scheme"], "bearer", "{bearer}");

    let roles = ["org", "seeker", "bureau", "mhlw", "ops", "upstream"];
    let mut broken: Vec<String> = Vec::new();
    let mut operations = 0;
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("a path item") {
            if !["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                continue;
            }
            operations += 1;
            let at = format!("{} {path}", method.to_uppercase());
            // API11: who may call it, stated.
            match op.get("security").and_then(Value::as_array) {
                Some(reqs) if !reqs.is_empty() => {
                    for req in reqs {
                        for named in req
                            .get("bearer")
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten()
                        {
                            let role = named.as_str().unwrap_or_default();
                            if !roles.contains(&role) {
                                broken.push(format!("API11 {at}: unknown role {role:?}"));
                            }
                        }
                    }
                }
                _ => broken.push(format!("API11 {at}: no security requirement")),
            }
            // API12: described, parameters where they are read.
            if op["summary"].as_str().is_none_or(str::is_empty) {
                broken.push(format!("API12 {at}: no summary"));
            }
            for p in op["parameters"].as_array().into_iter().flatten() {
                let name = p["name"].as_str().unwrap_or_default();
                let place = p["in"].as_str().unwrap_or_default();
                let in_template = path.contains(&format!("{{{name}}}"));
                if (place == "path") != in_template {
                    broken.push(format!(
                        "API12 {at}: parameter {name} is declared in {place}"
                    ));
                }
                if p["description"].as_str().is_none_or(str::is_empty) {
                    broken.push(format!("API12 {at}: parameter {name} has no description"));
                }
            }
            // API3: lists are pages, never bare arrays.
            for (status, resp) in op["responses"].as_object().into_iter().flatten() {
                if !status.starts_with('2') {
                    continue;
                }
                let Some(schema) = resp["content"]["application/json"].get("schema") else {
                    continue;
                };
                let schema = resolve(&spec, schema);
                if schema["type"] == "array" {
                    broken.push(format!("API3 {at}: answers a bare array"));
                }
                let props = &schema["properties"];
                if props["items"]["type"] == "array" && props.get("next_page_token").is_none() {
                    broken.push(format!("API3 {at}: items without next_page_token"));
                }
            }
        }
    }
    assert!(operations > 30, "{operations} operations described");
    // API5: enum values are the documented words.
    let mut found = Vec::new();
    enums(&spec, "", &mut found);
    for (at, word) in found {
        if !is_wire_word(&word) {
            broken.push(format!("API5 {at}: enum value {word:?}"));
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

#[tokio::test]
async fn api8_framework_answers_are_problems_too() {
    let s = Stack::start("2026-11-27T10:00:00+09:00", MaintenanceMode::Off).await;
    let unknown = s.call("GET", "/v1/nothing-here", None, None).await;
    assert_eq!(unknown.status, 404);
    assert!(is_problem(&unknown), "{:?}", unknown.text());
    assert_eq!(unknown.json()["type"], "about:blank");

    let method = s.call("DELETE", "/v1/applications", None, None).await;
    assert_eq!(method.status, 405);
    assert!(is_problem(&method), "{:?}", method.text());
    let allow = method.header("allow").unwrap_or_default().to_owned();
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
    assert!(method.json()["detail"].as_str().unwrap().contains("DELETE"));

    let query = s
        .call("GET", "/v1/public/organisations?page_size=many", None, None)
        .await;
    assert_eq!(query.status, 400);
    assert!(is_problem(&query), "{:?}", query.text());

    let big = vec![b'x'; 300 * 1024];
    let too_big = request_raw(
        s.gateway,
        "POST",
        "/v1/sessions",
        &[("content-type", "application/json")],
        &big,
    )
    .await
    .unwrap();
    assert_eq!(too_big.status, 413);
    assert!(is_problem(&too_big), "{:?}", too_big.text());

    // API3: a page size out of range is refused, not changed.
    let r = s
        .call("GET", "/v1/public/organisations?page_size=501", None, None)
        .await;
    assert_eq!(r.status, 400, "{:?}", r.text());
    assert!(r.json()["detail"].as_str().unwrap().contains("1 to 500"));
    s.stop().await;
}

#[tokio::test]
async fn api3_lists_answer_pages_and_the_last_full_page_has_no_token() {
    let s = Stack::start("2026-11-27T10:00:00+09:00", MaintenanceMode::Off).await;
    let (t, org) = s.organisation("pages@example.jp", "K1", None, "13").await;
    let enrolments = s
        .call(
            "GET",
            &format!("/v1/organisations/{org}/enrolments"),
            Some(&t),
            None,
        )
        .await;
    assert_eq!(enrolments.status, 200, "{:?}", enrolments.text());
    assert!(
        enrolments.json()["items"].is_array(),
        "{:?}",
        enrolments.text()
    );

    let tokyo = s
        .staff(
            "pages@tokyo-roudoukyoku.example.go.jp",
            "bureau",
            Some("13"),
        )
        .await;
    let overdue = s
        .call("GET", "/v1/bureau/overdue-emails", Some(&tokyo), None)
        .await;
    assert_eq!(overdue.status, 200, "{:?}", overdue.text());
    assert!(overdue.json()["items"].is_array(), "{:?}", overdue.text());

    // Two applications, pages of two: one page, no token; pages of one: a token, then none.
    for _ in 0..2 {
        let r = s
            .call(
                "POST",
                "/v1/applications",
                Some(&t),
                Some(json!({"organisation_id": org, "service": "job"})),
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.text());
    }
    let full = s
        .call("GET", "/v1/applications?page_size=2", Some(&t), None)
        .await
        .json();
    assert_eq!(full["items"].as_array().unwrap().len(), 2);
    assert!(full.get("next_page_token").is_none(), "{full}");
    let first = s
        .call("GET", "/v1/applications?page_size=1", Some(&t), None)
        .await
        .json();
    let token = first["next_page_token"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let second = s
        .call(
            "GET",
            &format!("/v1/applications?page_size=1&page_token={token}"),
            Some(&t),
            None,
        )
        .await
        .json();
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert!(second.get("next_page_token").is_none(), "{second}");
    assert_ne!(first["items"][0]["id"], second["items"][0]["id"]);

    // The catalogue is a list too (a refusal's type resolving to it: tests/gateway/main.rs).
    let rules = s.call("GET", "/v1/rules", None, None).await.json();
    assert_eq!(
        rules["items"].as_array().unwrap().len(),
        hwx_rules::RuleId::ALL.len()
    );
    s.stop().await;
}

/// The value as text, for assertion messages.
trait Text {
    fn text(&self) -> String;
}

impl Text for Response {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

#[test]
fn wire_words_are_lowercase_words_or_ids() {
    for ok in ["submitted", "shift_jis", "job", "K1", "SK6c", "csv"] {
        assert!(is_wire_word(ok), "{ok}");
    }
    for bad in ["SNAPSHOT_FORMAT_CSV", "Submitted", "ApplicationStatus", ""] {
        assert!(!is_wire_word(bad), "{bad}");
    }
}
