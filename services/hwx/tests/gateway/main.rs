//! The whole story over real HTTP: gateway → registration over gRPC → Postgres and NATS.

#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed, and says where

use std::net::SocketAddr;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use hwx_platform::clock::ManualClock;
use hwx_platform::config::MaintenanceMode;
use hwx_testkit::http::{Response, request};
use serde_json::{Value, json};

mod conventions;

#[allow(missing_debug_implementations)] // holds running servers
struct Stack {
    stack: hwx_testkit::Stack,
    db: hwx_platform::db::Database,
    clock: ManualClock,
    gateway: SocketAddr,
}

impl Stack {
    async fn start(at: &str, maintenance: MaintenanceMode) -> Stack {
        let clock = ManualClock::new(
            DateTime::parse_from_rfc3339(at)
                .unwrap()
                .with_timezone(&Utc),
        );
        let stack = hwx_testkit::Stack::with(&[&hwx_registration::SERVICE, &hwx_gateway::SERVICE])
            .clock(Arc::new(clock.clone()))
            // No job feed in these tests: its routes answer 503.
            .peer("job-feed", "http://127.0.0.1:9")
            .peer("seeker-matching", "http://127.0.0.1:9")
            .configure(|c| {
                c.maintenance = maintenance;
                c.rate_limit_per_second = 1000;
                c.rate_limit_burst = 1000;
            })
            .start()
            .await;
        Stack {
            db: stack.db("registration"),
            gateway: stack.addr("gateway"),
            stack,
            clock,
        }
    }

    async fn stop(self) {
        self.stack.stop().await;
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        request(self.gateway, method, path, token, body.as_ref())
            .await
            .unwrap()
    }

    async fn login(&self, email: &str, password: &str) -> String {
        let r = self
            .call(
                "POST",
                "/v1/sessions",
                None,
                Some(json!({"email": email, "password": password})),
            )
            .await;
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
        r.json()["token"].as_str().unwrap().to_owned()
    }

    async fn staff(&self, email: &str, role: &str, bureau: Option<&str>) -> String {
        let hash = hwx_registration::auth::hash_password("correct horse battery".into())
            .await
            .unwrap();
        sqlx::query("INSERT INTO accounts (id, email, password_hash, role, bureau_code) VALUES (gen_random_uuid(), $1, $2, $3, $4)")
            .bind(email)
            .bind(hash)
            .bind(role)
            .bind(bureau)
            .execute(self.db.pool())
            .await
            .unwrap();
        self.login(email, "correct horse battery").await
    }

    /// Sign up and register an organisation; returns (token, organisation id).
    async fn organisation(
        &self,
        email: &str,
        kind: &str,
        school: Option<&str>,
        prefecture: &str,
    ) -> (String, String) {
        hwx_testkit::mailbox::sign_up(
            self.gateway,
            &self.db,
            email,
            "a long enough password",
            "org",
        )
        .await;
        let token = self.login(email, "a long enough password").await;
        let person = |n: &str| json!({"name": n, "contact": "03-1234-5678", "full_time": true});
        let body = json!({
            "name": "株式会社ハローキャリア", "kind": kind, "school": school, "licence_number": format!("13-ユ-{}", email.len() * 7919 + email.bytes().map(usize::from).sum::<usize>()),
            "licence_expiry": "2029-03-31", "address": "東京都千代田区丸の内1-1-1", "prefecture_code": prefecture,
            "handles_subsidies": true, "certifications": ["プライバシーマーク"],
            "contact_person": person("山田太郎"), "pi_manager": person("佐藤花子"),
        });
        let r = self
            .call("POST", "/v1/organisations", Some(&token), Some(body))
            .await;
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
        let id = r.json()["id"].as_str().unwrap().to_owned();
        (token, id)
    }
}

fn problem(r: &Response) -> (u16, Option<String>) {
    assert_eq!(
        r.header("content-type"),
        Some("application/problem+json"),
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    (r.status, r.json()["rule"].as_str().map(str::to_owned))
}

#[tokio::test]
async fn ap1_ap2_ap4_l1_the_whole_story_over_http() {
    let s = Stack::start("2026-11-27T10:00:00+09:00", MaintenanceMode::Off).await;
    let (token, org) = s
        .organisation("info@hello-career.example.jp", "K1", None, "13")
        .await;

    let r = s
        .call(
            "POST",
            "/v1/applications",
            Some(&token),
            Some(json!({"organisation_id": org, "service": "job"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let app = r.json();
    assert_eq!(
        (app["status"].as_str(), app["submission_deadline"].as_str()),
        (Some("registered"), Some("2026-12-11"))
    );
    let id = app["id"].as_str().unwrap();
    assert!(
        s.call("GET", "/v1/applications", Some(&token), None)
            .await
            .json()["items"]
            .as_array()
            .unwrap()
            .len()
            == 1
    );

    let pdf = s
        .call(
            "GET",
            &format!("/v1/applications/{id}/pdf"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(
        (pdf.status, pdf.header("content-type")),
        (200, Some("application/pdf"))
    );
    assert!(pdf.body.starts_with(b"%PDF-"));

    s.clock.advance(Duration::days(2));
    let bureau = s
        .staff("officer@tokyo.example.go.jp", "bureau", Some("13"))
        .await;
    let r = s
        .call(
            "POST",
            &format!("/v1/applications/{id}/submission"),
            Some(&bureau),
            None,
        )
        .await;
    assert_eq!(
        (r.status, r.json()["status"].as_str()),
        (200, Some("submitted"))
    );
    let r = s
        .call(
            "POST",
            &format!("/v1/applications/{id}/decision"),
            Some(&bureau),
            Some(json!({"approve": true, "note": "確認済み"})),
        )
        .await;
    assert_eq!(
        (r.status, r.json()["status"].as_str()),
        (200, Some("approved"))
    );

    let list = s
        .call("GET", "/v1/public/organisations", None, None)
        .await
        .json();
    assert_eq!(list["items"][0]["name"], "株式会社ハローキャリア");
    assert_eq!(list["items"][0]["suspended"], false);
    s.stop().await;
}

#[tokio::test]
async fn e1_e3_e8_e7_ap4_d1_refusals_are_problems_with_the_rule() {
    let s = Stack::start("2026-11-27T10:00:00+09:00", MaintenanceMode::Off).await;
    let (t, org) = s
        .organisation("career@high.example.ed.jp", "K3", Some("high"), "13")
        .await;
    let r = s
        .call(
            "POST",
            "/v1/applications",
            Some(&t),
            Some(json!({"organisation_id": org, "service": "job"})),
        )
        .await;
    assert_eq!(problem(&r), (422, Some("E1".into())));
    // The type is the rule in the catalogue: following it explains the refusal.
    assert_eq!(r.json()["type"], "/v1/rules/E1");
    let rule = s.call("GET", "/v1/rules/E1", None, None).await;
    assert_eq!(rule.status, 200);
    assert_eq!(rule.json()["id"], "E1");
    assert!(!rule.json()["seed"].as_str().unwrap().is_empty());

    let (t, org) = s
        .organisation("career@univ.example.ac.jp", "K3", Some("university"), "13")
        .await;
    let r = s
        .call(
            "POST",
            "/v1/applications",
            Some(&t),
            Some(json!({"organisation_id": org, "service": "seeker", "regular_placements_3m": 3})),
        )
        .await;
    assert_eq!(problem(&r), (422, Some("E3".into())));

    let (t, org) = s
        .organisation("info@revoked.example.jp", "K1", None, "13")
        .await;
    sqlx::query("UPDATE organisations SET revoked_on = '2024-11-27' WHERE id = $1::uuid")
        .bind(&org)
        .execute(s.db.pool())
        .await
        .unwrap();
    let r = s
        .call(
            "POST",
            "/v1/applications",
            Some(&t),
            Some(json!({"organisation_id": org, "service": "job"})),
        )
        .await;
    assert_eq!(problem(&r), (422, Some("E8".into())));

    sqlx::query("INSERT INTO accounts (id, email, password_hash, role, closed_on) VALUES (gen_random_uuid(), 'old@agency.example.jp', 'x', 'org', '2023-11-27')")
        .execute(s.db.pool())
        .await
        .unwrap();
    // E7: a sign-up answers as for any email, and the mail says why no token came; operations
    // are refused with the rule.
    let again = json!({"email": "old@agency.example.jp", "password": "a long enough password"});
    let r = s
        .call("POST", "/v1/accounts", None, Some(again.clone()))
        .await;
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    let mail: String =
        sqlx::query_scalar("SELECT body FROM notices WHERE to_address = 'old@agency.example.jp'")
            .fetch_one(s.db.pool())
            .await
            .unwrap();
    assert!(
        mail.contains("closed on 2023-11-27") && mail.contains("(E7)"),
        "{mail}"
    );
    let ops = s.staff("ops-e7@mhlw.example.go.jp", "ops", None).await;
    let r = s
        .call("POST", "/v1/accounts", Some(&ops), Some(again))
        .await;
    assert_eq!(problem(&r), (422, Some("E7".into())));

    let (t, org) = s
        .organisation("info@tokyo-agency.example.jp", "K1", None, "13")
        .await;
    let app = s
        .call(
            "POST",
            "/v1/applications",
            Some(&t),
            Some(json!({"organisation_id": org, "service": "job"})),
        )
        .await
        .json();
    let id = app["id"].as_str().unwrap();
    let osaka = s
        .staff("officer@osaka.example.go.jp", "bureau", Some("27"))
        .await;
    let r = s
        .call(
            "POST",
            &format!("/v1/applications/{id}/submission"),
            Some(&osaka),
            None,
        )
        .await;
    assert_eq!(problem(&r), (403, Some("AP4".into())));
    let tokyo = s
        .staff("officer@tokyo.example.go.jp", "bureau", Some("13"))
        .await;
    let r = s
        .call(
            "POST",
            &format!("/v1/applications/{id}/submission"),
            Some(&tokyo),
            Some(json!({"received_on": "2026-12-14"})),
        )
        .await;
    assert_eq!(problem(&r), (422, Some("D1".into())));

    // Bad input is a 400 problem, never a crash.
    let r = s
        .call(
            "POST",
            "/v1/applications",
            Some(&t),
            Some(json!({"organisation_id": org, "service": "jobs"})),
        )
        .await;
    assert_eq!(problem(&r).0, 400);
    let r = s.call("GET", "/v1/applications", None, None).await;
    assert_eq!(problem(&r).0, 401);
    s.stop().await;
}

#[tokio::test]
async fn x1_maintenance_windows_and_emergency_switch() {
    // 2026-11-30 21:45 JST: the month-end window.
    let s = Stack::start("2026-11-30T21:45:00+09:00", MaintenanceMode::Official).await;
    let r = s.call("GET", "/v1/public/organisations", None, None).await;
    assert_eq!(problem(&r), (503, Some("X1".into())));
    let retry: i64 = r.header("retry-after").unwrap().parse().unwrap();
    assert_eq!(retry, 8 * 3600 + 15 * 60, "reopens 2026-12-01 06:00 JST");
    assert!(
        r.json()["detail"]
            .as_str()
            .unwrap()
            .contains("2026-12-01T06:00:00+09:00")
    );
    assert_eq!(
        s.call("GET", "/healthz", None, None).await.status,
        200,
        "health stays up"
    );
    // Morning: open. Operations declare an emergency, then end it.
    s.clock.advance(Duration::hours(9));
    assert_eq!(
        s.call("GET", "/v1/public/organisations", None, None)
            .await
            .status,
        200
    );
    let ops = s.staff("ops@mhlw.example.go.jp", "ops", None).await;
    let r = s
        .call(
            "PUT",
            "/v1/ops/maintenance",
            Some(&ops),
            Some(json!({"until": "2026-12-01T09:00:00+09:00"})),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        problem(&s.call("GET", "/v1/public/organisations", None, None).await),
        (503, Some("X1".into()))
    );
    s.call(
        "PUT",
        "/v1/ops/maintenance",
        Some(&ops),
        Some(json!({"until": null})),
    )
    .await;
    assert_eq!(
        s.call("GET", "/v1/public/organisations", None, None)
            .await
            .status,
        200
    );
    s.stop().await;
}

#[tokio::test]
async fn x2_rate_limit_changeable_at_run_time() {
    let s = Stack::start("2026-11-27T10:00:00+09:00", MaintenanceMode::Off).await;
    let ops = s.staff("ops@mhlw.example.go.jp", "ops", None).await;
    let (t, _) = s
        .organisation("info@busy.example.jp", "K1", None, "13")
        .await;
    let r = s
        .call(
            "PUT",
            "/v1/ops/rate-limits",
            Some(&ops),
            Some(json!({"requests_per_second": 1, "burst": 2})),
        )
        .await;
    assert_eq!(r.status, 200);
    // The clock stands still: the third request in the same instant is over the burst.
    let codes: Vec<u16> = futures_codes(&s, &t).await;
    assert_eq!(codes, vec![200, 200, 429]);
    let r = s.call("GET", "/v1/applications", Some(&t), None).await;
    assert_eq!(problem(&r), (429, Some("X2".into())));
    assert!(r.header("retry-after").is_some());
    s.clock.advance(Duration::seconds(2));
    assert_eq!(
        s.call("GET", "/v1/applications", Some(&t), None)
            .await
            .status,
        200
    );
    s.stop().await;
}

#[tokio::test]
async fn x2_two_sessions_of_one_organisation_share_its_limit() {
    let s = Stack::start("2026-11-27T10:00:00+09:00", MaintenanceMode::Off).await;
    let ops = s.staff("ops@mhlw.example.go.jp", "ops", None).await;
    let (first, _) = s
        .organisation("info@twice.example.jp", "K1", None, "13")
        .await;
    let second = s
        .login("info@twice.example.jp", "a long enough password")
        .await;
    // Signed up before the limit tightens: anonymous calls share one bucket per client.
    let (other, _) = s
        .organisation("info@other.example.jp", "K2", None, "13")
        .await;
    let r = s
        .call(
            "PUT",
            "/v1/ops/rate-limits",
            Some(&ops),
            Some(json!({"requests_per_second": 1, "burst": 2})),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        s.call("GET", "/v1/applications", Some(&first), None)
            .await
            .status,
        200
    );
    assert_eq!(
        s.call("GET", "/v1/applications", Some(&second), None)
            .await
            .status,
        200
    );
    let r = s.call("GET", "/v1/applications", Some(&first), None).await;
    assert_eq!(
        problem(&r),
        (429, Some("X2".into())),
        "the organisation's bucket is empty, whichever session asks"
    );
    // Another organisation is not affected.
    assert_eq!(
        s.call("GET", "/v1/applications", Some(&other), None)
            .await
            .status,
        200
    );
    s.stop().await;
}

async fn futures_codes(s: &Stack, token: &str) -> Vec<u16> {
    let mut out = Vec::new();
    for _ in 0..3 {
        out.push(
            s.call("GET", "/v1/applications", Some(token), None)
                .await
                .status,
        );
    }
    out
}

#[tokio::test]
async fn openapi_and_docs_are_served_and_request_ids_echoed() {
    let s = Stack::start("2026-11-27T10:00:00+09:00", MaintenanceMode::Off).await;
    let spec = s.call("GET", "/openapi.json", None, None).await.json();
    assert_eq!(
        spec["openapi"].as_str().map(|v| v.starts_with("3.1")),
        Some(true)
    );
    for path in [
        "/v1/applications",
        "/v1/sessions",
        "/v1/applications/{id}/pdf",
        "/v1/public/organisations",
    ] {
        assert!(spec["paths"].get(path).is_some(), "{path} documented");
    }
    let docs = s.call("GET", "/docs", None, None).await;
    assert!(String::from_utf8_lossy(&docs.body).contains("/openapi.json"));
    let r = s.call("GET", "/v1/public/organisations", None, None).await;
    assert!(r.header("x-request-id").is_some_and(|v| v.len() >= 32));
    // Bodies over the limit are refused before any service sees them.
    let big = json!({"email": "x".repeat(300 * 1024), "password": "p"});
    let r = s.call("POST", "/v1/accounts", None, Some(big)).await;
    assert_eq!(r.status, 413);
    s.stop().await;
}
