//! docs/AUTHORISATION.md, every cell: each route called by each kind of caller over HTTP. A `yes`
//! succeeds; a `no` is a 401/403/404 problem and leaves every table and outbox as it was.

use std::collections::{BTreeSet, HashMap};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

use super::{PASSWORD, Who, World, text};

const TABLE: &str = include_str!("../../../../docs/AUTHORISATION.md");

/// One row of the table: the route, its variant (the words in brackets) and one answer per
/// caller, in [`Who::ALL`] order.
#[derive(Debug)]
struct Row {
    method: String,
    path: String,
    key: String,
    allowed: Vec<bool>,
}

fn rows() -> Vec<Row> {
    let mut out = Vec::new();
    for line in TABLE.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        assert_eq!(cells.len(), 10, "a row of 9 callers: {line}");
        let route = cells[0];
        let (quoted, _variant) = route
            .trim_start_matches('`')
            .split_once('`')
            .unwrap_or_else(|| panic!("a route in backquotes: {line}"));
        let (method, path) = quoted.split_once(' ').unwrap();
        let allowed = cells[1..]
            .iter()
            .map(|c| match *c {
                "yes" => true,
                "no" => false,
                other => panic!("a cell is yes or no, not {other:?}: {line}"),
            })
            .collect();
        out.push(Row {
            method: method.to_owned(),
            path: path.to_owned(),
            key: route.replace('`', ""),
            allowed,
        });
    }
    out
}

/// What the cell sends.
#[derive(Debug, Default)]
struct Call {
    method: String,
    path: String,
    token: Option<String>,
    body: Option<Value>,
    /// An NDJSON body instead of JSON.
    ndjson: Option<Vec<u8>>,
    /// A stream that does not end: only the status and headers are read.
    stream: bool,
    /// The preparation wrote something (the tables move before the call).
    wrote: bool,
}

/// Everything the rows act on, made once.
struct Fixture {
    w: World,
    tokens: HashMap<Who, String>,
    emails: HashMap<Who, String>,
    org_a: String,
    org_b: String,
    /// An application of A, not submitted.
    app_a: String,
    posting: String,
    /// A's acquisition of the seeker the fixture ingested.
    acquisition_a: String,
    upstream_serial: std::sync::atomic::AtomicU64,
}

impl Fixture {
    async fn new() -> Fixture {
        let w = World::start().await;
        let mut tokens = HashMap::new();
        let mut emails = HashMap::new();
        for who in [
            Who::Seeker,
            Who::BureauA,
            Who::BureauX,
            Who::Mhlw,
            Who::Ops,
            Who::Upstream,
        ] {
            let (email, token) = w.account(who).await;
            tokens.insert(who, token);
            emails.insert(who, email);
        }
        let (email_a, token_a, org_a) = w.enrolled("13", &tokens[&Who::BureauA]).await;
        let (email_b, token_b, org_b) = w.enrolled("27", &tokens[&Who::BureauX]).await;
        tokens.insert(Who::OrgA, token_a.clone());
        tokens.insert(Who::OrgB, token_b);
        emails.insert(Who::OrgA, email_a);
        emails.insert(Who::OrgB, email_b);
        w.seeker_enrolled(&token_a, &org_a, &tokens[&Who::BureauA])
            .await;
        w.seeker_enrolled(&tokens[&Who::OrgB], &org_b, &tokens[&Who::BureauX])
            .await;
        let app_a = w.application(&token_a, &org_a).await;
        let posting = w.ingest(&tokens[&Who::Upstream], 0, 1).await.remove(0);
        let seeker = json!({
            "seeker_id": "S-matrix", "age_band": 30, "desired_occupations": ["05"], "desired_prefectures": ["13"],
            "hello_work_office": "ハローワーク新宿", "consent_on": "2026-10-01", "last_active_on": "2026-11-20",
            "consents": true,
        });
        let auth = format!("Bearer {}", tokens[&Who::Upstream]);
        let r = w
            .raw(
                "POST",
                "/v1/seekers",
                &[
                    ("Authorization", &auth),
                    ("Content-Type", "application/x-ndjson"),
                ],
                format!("{seeker}\n").as_bytes(),
            )
            .await;
        assert_eq!(r.json()["stored"], 1, "{}", text(&r));
        let r = w
            .call("GET", "/v1/seekers/S-matrix", Some(&token_a), None)
            .await;
        assert_eq!(r.status, 200, "{}", text(&r));
        let acquisition_a = r.json()["acquisition"]["id"].as_str().unwrap().to_owned();
        Fixture {
            w,
            tokens,
            emails,
            org_a,
            org_b,
            app_a,
            posting,
            acquisition_a,
            upstream_serial: std::sync::atomic::AtomicU64::new(1000),
        }
    }

    async fn account_id(&self, email: &str) -> Uuid {
        sqlx::query_scalar("SELECT id FROM accounts WHERE email = $1")
            .bind(email)
            .fetch_one(self.w.reg_db.pool())
            .await
            .unwrap()
    }

    /// What `who` sends for `row`: its own token, and a fresh target where the call consumes one.
    async fn prepare(&self, row: &Row, who: Who) -> Call {
        let w = &self.w;
        let allowed = row.allowed[Who::ALL.iter().position(|x| *x == who).unwrap()];
        let mut call = Call {
            method: row.method.clone(),
            path: row.path.clone(),
            token: self.tokens.get(&who).cloned(),
            ..Call::default()
        };
        let n = w.serial();
        match row.key.as_str() {
            "POST /v1/accounts (sign-up of an organisation account)" => {
                call.body = Some(
                    json!({"email": format!("signup{n}@security.example.jp"), "password": PASSWORD, "role": "org"}),
                );
            }
            "POST /v1/accounts/confirmation" => {
                let email = format!("confirm{n}@security.example.jp");
                let r = w
                    .call(
                        "POST",
                        "/v1/accounts",
                        None,
                        Some(json!({"email": email, "password": PASSWORD, "role": "org"})),
                    )
                    .await;
                assert_eq!(r.status, 202, "{}", text(&r));
                call.wrote = true;
                call.body = Some(json!({"token": w.sign_up_token(&email).await}));
            }
            "POST /v1/accounts (a staff account)" => {
                call.body = Some(
                    json!({"email": format!("officer{n}@security.example.go.jp"), "password": PASSWORD, "role": "bureau", "bureau_code": "13"}),
                );
            }
            "POST /v1/sessions" => {
                call.body = Some(json!({"email": self.emails[&Who::Seeker], "password": PASSWORD}));
            }
            "DELETE /v1/sessions" => {
                if who != Who::Anonymous {
                    call.token = Some(w.login(&self.emails[&who], PASSWORD).await);
                    call.wrote = true;
                }
            }
            "DELETE /v1/account/sessions" | "PUT /v1/account/password" => {
                if who != Who::Anonymous {
                    call.token = Some(w.account(who).await.1);
                    call.wrote = true;
                }
                if row.method == "PUT" {
                    call.body = Some(
                        json!({"current_password": PASSWORD, "new_password": "a newer password for this account"}),
                    );
                }
            }
            "POST /v1/accounts/{id}/compromise (another account)" => {
                let (email, _) = w.account(Who::Seeker).await;
                call.wrote = true;
                let id = self.account_id(&email).await;
                call.path = format!("/v1/accounts/{id}/compromise");
                call.body = Some(json!({"reason": "a phishing mail was answered"}));
            }
            "POST /v1/password-resets" => {
                call.body = Some(json!({"email": self.emails[&Who::Seeker]}));
            }
            "POST /v1/password-resets/confirmation" => {
                let (email, _) = w.account(Who::Seeker).await;
                let token = w.reset_token(&email).await;
                call.wrote = true;
                call.body = Some(
                    json!({"token": token, "new_password": "a newer password for this account"}),
                );
            }
            "POST /v1/ops/unlocks" => {
                let (email, _) = w.account(Who::Seeker).await;
                let id = self.account_id(&email).await;
                let r = w
                    .call(
                        "POST",
                        &format!("/v1/accounts/{id}/compromise"),
                        Some(&self.tokens[&Who::Ops]),
                        Some(json!({"reason": "lost laptop"})),
                    )
                    .await;
                assert_eq!(r.status, 200, "{}", text(&r));
                call.wrote = true;
                call.body = Some(json!({"account_id": id}));
            }
            "POST /v1/organisations (by an account without one)" => {
                if allowed {
                    call.token = Some(w.account(who).await.1);
                    call.wrote = true;
                }
                call.body = Some(super::organisation_body("13", n));
            }
            "GET /v1/organisations/{id} (A's)"
            | "GET /v1/organisations/{id}/enrolments (A's)"
            | "POST /v1/organisations/{id}/bureau-email (A's)" => {
                call.path = row.path.replace("{id}", &self.org_a);
            }
            "PUT /v1/organisations/{id}/mandatory-info (A's)" => {
                call.path = row.path.replace("{id}", &self.org_a);
                call.body = Some(json!({
                    "placement_record": "2025年度 常用就職 120件", "occupations": ["05"], "industries": ["P"],
                    "regions": ["13"], "seeker_fees": "なし", "pi_manager_name": "佐藤花子",
                    "pi_manager_contact": "03-1234-5679", "contacts": ["03-1234-5678"]
                }));
            }
            "POST /v1/applications (for A)" => {
                call.body = Some(json!({"organisation_id": self.org_a, "service": "job"}));
            }
            "GET /v1/applications/{id} (A's)" | "GET /v1/applications/{id}/pdf (A's)" => {
                call.path = row.path.replace("{id}", &self.app_a);
            }
            "POST /v1/applications/{id}/submission (A's)" => {
                let app = w.application(&self.tokens[&Who::OrgA], &self.org_a).await;
                call.wrote = true;
                call.path = row.path.replace("{id}", &app);
            }
            "POST /v1/applications/{id}/decision (A's)" => {
                let app = w.application(&self.tokens[&Who::OrgA], &self.org_a).await;
                w.decide(&self.tokens[&Who::BureauA], &app, false).await;
                call.wrote = true;
                call.path = row.path.replace("{id}", &app);
                call.body = Some(json!({"approve": false, "note": "書類不備"}));
            }
            "GET /v1/feed/changes" => call.path = "/v1/feed/changes?limit=1".into(),
            "GET /v1/feed/changes/stream" => call.stream = true,
            "GET /v1/feed/postings/{number}" => {
                call.path = row.path.replace("{number}", &self.posting);
            }
            "PUT /v1/feed/postings/{number}/addition" => {
                call.path = row.path.replace("{number}", &self.posting);
                call.body = Some(json!({"text": "駅から徒歩5分", "employer_consented": true}));
            }
            "GET /v1/feed/access-log (A's)" => {
                call.path = format!("/v1/feed/access-log?organisation_id={}", self.org_a);
            }
            "POST /v1/feed/postings" => {
                let i = self
                    .upstream_serial
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let p = hwx_job_feed::record::PostingJson::from(&hwx_job_feed::generate::posting(
                    0, i, 0,
                ));
                let mut line = serde_json::to_vec(&p).unwrap();
                line.push(b'\n');
                call.ndjson = Some(line);
            }
            "POST /v1/seekers" => {
                let line = json!({
                    "seeker_id": format!("S-{n}"), "age_band": 30, "desired_occupations": ["05"],
                    "desired_prefectures": ["13"], "hello_work_office": "ハローワーク新宿",
                    "consent_on": "2026-10-01", "last_active_on": "2026-11-20", "consents": true,
                });
                let mut line = serde_json::to_vec(&line).unwrap();
                line.push(b'\n');
                call.ndjson = Some(line);
            }
            "GET /v1/seekers" => call.path = "/v1/seekers?occupation=05&page_size=5".into(),
            "GET /v1/seekers/{id}" => call.path = "/v1/seekers/S-matrix".into(),
            "POST /v1/acquisitions/{id}/acceptance (A's)" => {
                call.path = format!("/v1/acquisitions/{}/acceptance", self.acquisition_a);
            }
            "PUT /v1/ops/maintenance" => call.body = Some(json!({"until": null})),
            "PUT /v1/ops/rate-limits" => {
                call.body = Some(json!({"requests_per_second": 10000, "burst": 10000}));
            }
            "GET /v1/rules/{id}" => call.path = "/v1/rules/E1".into(),
            "GET /v1/applications"
            | "GET /v1/bureau/overdue-emails"
            | "GET /v1/public/organisations"
            | "GET /v1/public/revoked-organisations"
            | "GET /v1/feed/snapshot"
            | "GET /v1/feed/signing-key"
            | "DELETE /v1/ops/rate-limits"
            | "GET /v1/acquisitions"
            | "GET /v1/rules" => {}
            other => panic!("no preparation for the row {other:?}: add one here"),
        }
        if who == Who::Anonymous {
            call.token = None;
        }
        call
    }

    async fn send(&self, call: &Call) -> (u16, Option<String>, Vec<u8>) {
        if call.stream {
            return stream_head(self.w.gateway, &call.path, call.token.as_deref()).await;
        }
        let r = if let Some(body) = &call.ndjson {
            let auth = call.token.as_ref().map(|t| format!("Bearer {t}"));
            let mut headers = vec![("Content-Type", "application/x-ndjson")];
            if let Some(a) = &auth {
                headers.push(("Authorization", a.as_str()));
            }
            self.w.raw(&call.method, &call.path, &headers, body).await
        } else {
            self.w
                .call(
                    &call.method,
                    &call.path,
                    call.token.as_deref(),
                    call.body.clone(),
                )
                .await
        };
        (
            r.status,
            r.header("content-type").map(str::to_owned),
            r.body,
        )
    }
}

/// Open a stream, read its status line and headers, and hang up.
async fn stream_head(
    addr: std::net::SocketAddr,
    path: &str,
    token: Option<&str>,
) -> (u16, Option<String>, Vec<u8>) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: hwx\r\n{auth}\r\n").as_bytes())
        .await
        .unwrap();
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tokio::time::timeout(std::time::Duration::from_secs(10), s.read(&mut buf))
            .await
            .expect("the stream's head within 10 s")
            .unwrap();
        assert!(n > 0, "closed before the head");
        head.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let status = head[9..12].parse().unwrap();
    let content_type = head.lines().find_map(|l| {
        l.split_once(':')
            .filter(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| v.trim().to_owned())
    });
    (status, content_type, Vec::new())
}

#[tokio::test]
async fn every_route_has_a_row_and_every_row_a_route() {
    let w = World::start().await;
    let spec = w.call("GET", "/openapi.json", None, None).await.json();
    w.stop().await;
    let mut documented = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if ["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                documented.insert(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    let tabled: BTreeSet<String> = rows()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    let missing: Vec<_> = documented.difference(&tabled).collect();
    assert!(
        missing.is_empty(),
        "routes without a row in docs/AUTHORISATION.md (say who may call them): {missing:?}"
    );
    let stale: Vec<_> = tabled.difference(&documented).collect();
    assert!(
        stale.is_empty(),
        "rows of docs/AUTHORISATION.md for routes /openapi.json does not have: {stale:?}"
    );
}

#[tokio::test]
async fn every_cell_of_the_authorisation_matrix() {
    let f = Fixture::new().await;
    let mut failures = Vec::new();
    let mut known: Option<Vec<(String, String)>> = None;
    let mut cells = 0;
    for row in rows() {
        for (i, who) in Who::ALL.into_iter().enumerate() {
            let call = f.prepare(&row, who).await;
            if call.wrote {
                known = None;
            }
            let allowed = row.allowed[i];
            let before = if allowed {
                None
            } else {
                Some(match known.take() {
                    Some(d) => d,
                    None => f.w.settled_digest().await,
                })
            };
            let (status, content_type, body) = f.send(&call).await;
            cells += 1;
            let shown = String::from_utf8_lossy(&body)
                .chars()
                .take(300)
                .collect::<String>();
            if allowed {
                if !(200..300).contains(&status) {
                    failures.push(format!(
                        "{} as {who:?}: expected success, got {status} {shown}",
                        row.key
                    ));
                }
                known = None;
                continue;
            }
            let problem = content_type
                .as_deref()
                .is_some_and(|c| c.starts_with("application/problem+json"));
            if !(matches!(status, 401 | 403 | 404) && problem) {
                failures.push(format!(
                    "{} as {who:?}: expected a 401/403/404 problem, got {status} {content_type:?} {shown}",
                    row.key
                ));
            }
            let after = f.w.digest().await;
            let before = before.unwrap();
            if after != before {
                let moved: Vec<&String> = after
                    .iter()
                    .zip(&before)
                    .filter(|(a, b)| a != b)
                    .map(|(a, _)| &a.0)
                    .collect();
                failures.push(format!(
                    "{} as {who:?}: refused ({status}) yet changed {moved:?}",
                    row.key
                ));
                known = None;
            } else {
                known = Some(after);
            }
        }
    }
    f.w.stop().await;
    assert!(
        failures.is_empty(),
        "{} of {cells} cells disagree with docs/AUTHORISATION.md:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Another organisation's resources by ID: the answer is the one for an ID nobody uses, and a
/// list shows only the caller's own.
#[tokio::test]
async fn cross_tenant_ids_are_refused_without_saying_whether_they_exist() {
    let f = Fixture::new().await;
    let w = &f.w;
    let b = &f.tokens[&Who::OrgB];
    let x = &f.tokens[&Who::BureauX];
    let nobody = Uuid::now_v7().to_string();
    for (caller, template) in [
        (b, "/v1/applications/{}"),
        (b, "/v1/applications/{}/pdf"),
        (x, "/v1/applications/{}"),
        (x, "/v1/applications/{}/pdf"),
    ] {
        let theirs = w
            .call("GET", &template.replace("{}", &f.app_a), Some(caller), None)
            .await;
        let unknown = w
            .call("GET", &template.replace("{}", &nobody), Some(caller), None)
            .await;
        assert_eq!(
            theirs.status,
            unknown.status,
            "{template}: {}",
            text(&theirs)
        );
        let detail = |r: &hwx_testkit::http::Response, id: &str| {
            r.json()["detail"].as_str().unwrap().replace(id, "<id>")
        };
        assert_eq!(
            detail(&theirs, &f.app_a),
            detail(&unknown, &nobody),
            "{template}"
        );
    }
    for (caller, template) in [
        (b, "/v1/organisations/{}"),
        (b, "/v1/organisations/{}/enrolments"),
        (b, "/v1/feed/access-log?organisation_id={}"),
    ] {
        let theirs = w
            .call("GET", &template.replace("{}", &f.org_a), Some(caller), None)
            .await;
        let unknown = w
            .call("GET", &template.replace("{}", &nobody), Some(caller), None)
            .await;
        assert_eq!(
            (theirs.status, theirs.json()["detail"].clone()),
            (unknown.status, unknown.json()["detail"].clone()),
            "{template}"
        );
    }
    // Lists: B and the other bureau see their own, never A's.
    for caller in [b, x] {
        let r = w.call("GET", "/v1/applications", Some(caller), None).await;
        assert_eq!(r.status, 200, "{}", text(&r));
        let items = r.json()["items"].as_array().unwrap().clone();
        assert!(
            !items.is_empty(),
            "the caller's own applications are listed"
        );
        assert!(
            items
                .iter()
                .all(|a| a["organisation_id"] != f.org_a.as_str()),
            "{items:?}"
        );
        assert!(
            items
                .iter()
                .all(|a| a["organisation_id"] == f.org_b.as_str())
        );
    }
    // A's acquisition of a seeker (SK6): B accepting it is answered as an unknown one, and B's
    // list of what it holds never shows it.
    let accept = |id: &str| {
        let path = format!("/v1/acquisitions/{id}/acceptance");
        async move { w.call("POST", &path, Some(b), None).await }
    };
    let (theirs, unknown) = (accept(&f.acquisition_a).await, accept(&nobody).await);
    assert_eq!(
        (
            theirs.status,
            theirs.json()["detail"]
                .as_str()
                .unwrap()
                .replace(&f.acquisition_a, "<id>")
        ),
        (
            unknown.status,
            unknown.json()["detail"]
                .as_str()
                .unwrap()
                .replace(&nobody, "<id>")
        )
    );
    let r = w.call("GET", "/v1/acquisitions", Some(b), None).await;
    assert_eq!(r.status, 200, "{}", text(&r));
    assert!(
        !text(&r).contains(&f.acquisition_a),
        "B lists A's acquisition: {}",
        text(&r)
    );
    let r = w.call("GET", "/v1/feed/access-log", Some(b), None).await;
    assert_eq!(r.status, 200, "{}", text(&r));
    let entries = r.json()["items"].as_array().unwrap().clone();
    assert!(!entries.is_empty());
    assert!(
        entries
            .iter()
            .all(|e| e["organisation_id"] == f.org_b.as_str())
    );
    f.w.stop().await;
}
