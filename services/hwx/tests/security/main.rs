//! The API's security, over real HTTP against every service in this process: who may call what
//! (docs/AUTHORISATION.md, every cell), bad input, accounts and sessions, and what browsers are
//! told. Each test starts its own stack in its own schemas and stream.

#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed, and says where

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use hwx_job_feed::record::PostingJson;
use hwx_platform::clock::ManualClock;
use hwx_platform::config::Config;
use hwx_platform::db::Database;
use hwx_testkit::http::{Response, request, request_raw};
use serde_json::{Value, json};

mod accounts;
mod bad_input;
mod browser;
mod fuzz;
mod matrix;
mod seekers;

/// Everything the services log in this test binary, as production writes it (JSON lines), at
/// debug level; notices excluded (their log backend delivers tokens by design).
pub mod logs {
    use std::io::Write;
    use std::sync::{Mutex, OnceLock, PoisonError};

    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;

    static BUF: Mutex<Vec<u8>> = Mutex::new(Vec::new());

    struct Sink;

    impl Write for Sink {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            let mut buf = BUF.lock().unwrap_or_else(PoisonError::into_inner);
            // A bound on what a test binary keeps (the fuzzing logs much); far above one run's.
            if buf.len() < 512 * 1024 * 1024 {
                buf.extend_from_slice(b);
            }
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    pub fn install() {
        static ONCE: OnceLock<()> = OnceLock::new();
        ONCE.get_or_init(|| {
            let _ = tracing_subscriber::registry()
                .with(tracing_subscriber::EnvFilter::new("debug,hwx::notice=off"))
                .with(tracing_subscriber::fmt::layer().json().with_writer(|| Sink))
                .try_init();
        });
    }

    pub fn text() -> String {
        String::from_utf8_lossy(&BUF.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }
}

pub const PASSWORD: &str = "a long enough password";

/// The kinds of caller of docs/AUTHORISATION.md, in its column order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Who {
    Anonymous,
    OrgA,
    OrgB,
    Seeker,
    BureauA,
    BureauX,
    Mhlw,
    Ops,
    Upstream,
}

impl Who {
    pub const ALL: [Who; 9] = [
        Who::Anonymous,
        Who::OrgA,
        Who::OrgB,
        Who::Seeker,
        Who::BureauA,
        Who::BureauX,
        Who::Mhlw,
        Who::Ops,
        Who::Upstream,
    ];

    /// The role of an account of this kind, as sign-up and staff accounts take it.
    pub fn role(self) -> Option<&'static str> {
        match self {
            Who::Anonymous => None,
            Who::OrgA | Who::OrgB => Some("org"),
            Who::Seeker => Some("seeker"),
            Who::BureauA | Who::BureauX => Some("bureau"),
            Who::Mhlw => Some("mhlw"),
            Who::Ops => Some("ops"),
            Who::Upstream => Some("upstream"),
        }
    }

    pub fn bureau(self) -> Option<&'static str> {
        match self {
            Who::BureauA => Some("13"),
            Who::BureauX => Some("27"),
            _ => None,
        }
    }
}

/// Every service of the binary, the gateway in front, on the real Postgres and NATS.
#[allow(missing_debug_implementations)] // holds running servers
pub struct World {
    pub stack: hwx_testkit::Stack,
    pub reg_db: Database,
    pub feed_db: Database,
    pub sm_db: Database,
    pub gateway: SocketAddr,
    serial: AtomicU64,
}

impl World {
    pub async fn start() -> World {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(configure: impl FnOnce(&mut Config)) -> World {
        logs::install();
        let clock = Arc::new(ManualClock::new(
            DateTime::parse_from_rfc3339("2026-11-27T10:00:00+09:00")
                .unwrap()
                .with_timezone(&Utc),
        ));
        let stack = hwx_testkit::Stack::with(hwx::registry::SERVICES)
            .clock(clock)
            .configure(|c| {
                c.rate_limit_per_second = 10_000;
                c.rate_limit_burst = 10_000;
                configure(c);
            })
            .start()
            .await;
        World {
            reg_db: stack.db("registration"),
            feed_db: stack.db("job-feed"),
            sm_db: stack.db("seeker-matching"),
            gateway: stack.addr("gateway"),
            stack,
            serial: AtomicU64::new(0),
        }
    }

    pub async fn stop(self) {
        self.stack.stop().await;
    }

    /// A number no other call of this world got: unique emails and licence numbers.
    pub fn serial(&self) -> u64 {
        self.serial.fetch_add(1, Ordering::Relaxed)
    }

    pub async fn call(
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

    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        request_raw(self.gateway, method, path, headers, body)
            .await
            .unwrap()
    }

    pub async fn login(&self, email: &str, password: &str) -> String {
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

    /// A new account of `who`'s role (signed up, or made by operations for staff), logged in:
    /// (email, token). Organisation accounts have no organisation yet.
    pub async fn account(&self, who: Who) -> (String, String) {
        let role = who.role().expect("anonymous has no account");
        let email = format!("{role}{}@security.example.jp", self.serial());
        if matches!(role, "org" | "seeker") {
            hwx_testkit::mailbox::sign_up(self.gateway, &self.reg_db, &email, PASSWORD, role).await;
        } else {
            let hash = hwx_registration::auth::hash_password(PASSWORD.into())
                .await
                .unwrap();
            sqlx::query("INSERT INTO accounts (id, email, password_hash, role, bureau_code) VALUES (gen_random_uuid(), $1, $2, $3, $4)")
                .bind(&email)
                .bind(hash)
                .bind(role)
                .bind(who.bureau())
                .execute(self.reg_db.pool())
                .await
                .unwrap();
        }
        let token = self.login(&email, PASSWORD).await;
        (email, token)
    }

    /// Register an organisation for the organisation account `token`, in `prefecture`.
    pub async fn register(&self, token: &str, prefecture: &str) -> String {
        let body = organisation_body(prefecture, self.serial());
        let r = self
            .call("POST", "/v1/organisations", Some(token), Some(body))
            .await;
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
        r.json()["id"].as_str().unwrap().to_owned()
    }

    /// An S-JOB use application of the organisation, as its account makes it.
    pub async fn application(&self, token: &str, org: &str) -> String {
        let r = self
            .call(
                "POST",
                "/v1/applications",
                Some(token),
                Some(json!({"organisation_id": org, "service": "job"})),
            )
            .await;
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
        r.json()["id"].as_str().unwrap().to_owned()
    }

    /// Submit (and approve, when `approve`) an application as the officer `officer`.
    pub async fn decide(&self, officer: &str, app: &str, approve: bool) {
        let mut steps = vec![(format!("/v1/applications/{app}/submission"), None)];
        if approve {
            steps.push((
                format!("/v1/applications/{app}/decision"),
                Some(json!({"approve": true, "note": "確認済み"})),
            ));
        }
        for (path, body) in steps {
            let r = self.call("POST", &path, Some(officer), body).await;
            assert_eq!(
                r.status,
                200,
                "{path}: {}",
                String::from_utf8_lossy(&r.body)
            );
        }
    }

    /// An organisation registered in `prefecture` with an active S-JOB enrolment that the feed
    /// already honours: (email, token, organisation id).
    pub async fn enrolled(&self, prefecture: &str, officer: &str) -> (String, String, String) {
        let (email, token) = self.account(Who::OrgA).await;
        let org = self.register(&token, prefecture).await;
        let app = self.application(&token, &org).await;
        self.decide(officer, &app, true).await;
        for _ in 0..400 {
            if self
                .call("GET", "/v1/feed/changes?limit=1", Some(&token), None)
                .await
                .status
                == 200
            {
                return (email, token, org);
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the approval never reached the feed");
    }

    /// Ask for a password reset for `email` and read its token where the notifier would (the
    /// notices table).
    pub async fn reset_token(&self, email: &str) -> String {
        let r = self
            .call(
                "POST",
                "/v1/password-resets",
                None,
                Some(json!({"email": email})),
            )
            .await;
        assert_eq!(r.status, 202, "{}", text(&r));
        hwx_testkit::mailbox::token(&self.reg_db, email, "password-reset").await
    }

    /// The token of the newest sign-up notice to `email`.
    pub async fn sign_up_token(&self, email: &str) -> String {
        hwx_testkit::mailbox::token(&self.reg_db, email, "sign-up").await
    }

    /// Postings as Hello Work sends them, stored through the gateway; their numbers.
    pub async fn ingest(&self, upstream: &str, from: u64, n: u64) -> Vec<String> {
        let postings: Vec<PostingJson> = (from..from + n)
            .map(|i| PostingJson::from(&hwx_job_feed::generate::posting(0, i, 0)))
            .collect();
        let mut body = Vec::new();
        for p in &postings {
            body.extend_from_slice(serde_json::to_string(p).unwrap().as_bytes());
            body.push(b'\n');
        }
        let auth = format!("Bearer {upstream}");
        let r = self
            .raw(
                "POST",
                "/v1/feed/postings",
                &[
                    ("Authorization", &auth),
                    ("Content-Type", "application/x-ndjson"),
                ],
                &body,
            )
            .await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        assert_eq!(r.json()["stored"].as_u64(), Some(n), "{}", r.json());
        postings.iter().map(|p| p.posting_number.clone()).collect()
    }

    /// The organisation (its account `token`) also enrolled in S-SEEKER, approved by `officer`
    /// (E3: K1 with placements in the last 3 months); returns once seeker matching honours it.
    pub async fn seeker_enrolled(&self, token: &str, org: &str, officer: &str) {
        let r = self
            .call(
                "POST",
                "/v1/applications",
                Some(token),
                Some(json!({"organisation_id": org, "service": "seeker", "regular_placements_3m": 4})),
            )
            .await;
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
        let app = r.json()["id"].as_str().unwrap().to_owned();
        self.decide(officer, &app, true).await;
        for _ in 0..400 {
            if self
                .call("GET", "/v1/seekers", Some(token), None)
                .await
                .status
                == 200
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the S-SEEKER approval never reached seeker matching");
    }

    /// Everything the services hold, as one text per table (the outbox as its size: its
    /// relay marks rows on its own time; the inbox and dead letters are the consumers' books).
    pub async fn digest(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for db in [&self.reg_db, &self.feed_db, &self.sm_db] {
            let tables: Vec<String> = sqlx::query_scalar(
                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE' ORDER BY 1",
            )
            .bind(db.schema())
            .fetch_all(db.pool())
            .await
            .unwrap();
            for t in tables {
                let q = match t.as_str() {
                    "inbox" | "dead_letters" | "_migrations" => continue,
                    "outbox" => format!("SELECT count(*)::text FROM {}.outbox", db.schema()),
                    _ => format!(
                        "SELECT coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM {}.{t} t",
                        db.schema()
                    ),
                };
                let v: String = sqlx::query_scalar(sqlx::AssertSqlSafe(q))
                    .fetch_one(db.pool())
                    .await
                    .unwrap();
                out.push((format!("{}.{t}", db.schema()), v));
            }
        }
        out
    }

    /// [`World::digest`] once it stops moving (the consumers of earlier calls have caught up).
    pub async fn settled_digest(&self) -> Vec<(String, String)> {
        let mut last = self.digest().await;
        for _ in 0..60 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let now = self.digest().await;
            if now == last {
                return now;
            }
            last = now;
        }
        panic!("the services' tables kept changing for 6 s");
    }
}

/// An organisation to register in `prefecture`; `n` makes its licence number unique.
pub fn organisation_body(prefecture: &str, n: u64) -> Value {
    let person = |name: &str| json!({"name": name, "contact": "03-1234-5678", "full_time": true});
    json!({
        "name": "株式会社ハローキャリア", "kind": "K1",
        "licence_number": format!("{prefecture}-ユ-{}", 300_000 + n),
        "licence_expiry": "2029-03-31", "address": "東京都千代田区丸の内1-1-1",
        "prefecture_code": prefecture,
        "contact_person": person("山田太郎"), "pi_manager": person("佐藤花子"),
    })
}

/// The body as text, for assertion messages.
pub fn text(r: &Response) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

/// A refusal as the API conventions make it: 401, 403 or 404, as problem+json.
pub fn is_refusal(r: &Response) -> bool {
    matches!(r.status, 401 | 403 | 404)
        && r.header("content-type")
            .is_some_and(|c| c.starts_with("application/problem+json"))
}

/// Each service's pool works as its schema's role: registration cannot read or change the job
/// feed's tables, nor the job feed registration's (accounts and their password hashes above all).
#[tokio::test]
async fn a_service_cannot_read_or_write_another_services_schema() {
    let w = World::start().await;
    let (reg, feed) = (&w.reg_db, &w.feed_db);
    for (db, other, table) in [
        (reg, feed, "postings"),
        (reg, feed, "signing_keys"),
        (reg, feed, "outbox"),
        (feed, reg, "accounts"),
        (feed, reg, "sessions"),
        (feed, reg, "notices"),
    ] {
        for sql in [
            format!("SELECT count(*)::bigint FROM {}.{table}", other.schema()),
            format!("DELETE FROM {}.{table}", other.schema()),
        ] {
            let err = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .execute(db.pool())
                .await
                .unwrap_err();
            assert!(
                err.to_string().contains("permission denied"),
                "{} ran {sql}: {err}",
                db.schema()
            );
        }
        // Not even by making a table of its own in the other's schema.
        let sql = format!("CREATE TABLE {}.planted (x int)", other.schema());
        let err = sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(db.pool())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("permission denied"), "{err}");
    }
    // Its own tables it uses as ever.
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM accounts")
        .fetch_one(reg.pool())
        .await
        .unwrap();
    assert!(n >= 0);
    w.stop().await;
}
