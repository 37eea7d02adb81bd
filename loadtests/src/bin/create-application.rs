//! Benchmark of "create application" through the whole stack over real HTTP (gateway → gRPC →
//! registration → Postgres), next to a bare single-row sqlx insert into the same Postgres in the
//! same run, all at the same concurrency; latency p50/p99 and throughput. Between the two, the
//! layers one at a time, to say where the time goes: the command's own SQL, one gRPC hop with the
//! session lookup (`Authenticate`), the service over gRPC without the gateway, and the gateway with
//! and without keep-alive connections.
//!
//! Run: `cargo run --release -p hwx-loadtests --bin create-application -- [requests] [concurrency]`
//! (needs the local PostgreSQL and NATS, as the tests do; leaves nothing behind).

use std::sync::Arc;
use std::time::{Duration, Instant};

use hwx_platform::http::HttpClient;
use hwx_proto::registration::v1 as reg;
use hwx_proto::registration::v1::registration_service_client::RegistrationServiceClient;
use hwx_testkit::Stack;
use hwx_testkit::http::request;
use serde_json::json;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

struct Stats {
    p50: Duration,
    p99: Duration,
    per_sec: f64,
}

async fn run<F, Fut>(n: usize, concurrency: usize, op: F) -> Stats
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send,
{
    let op = Arc::new(op);
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let op = op.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut i = w;
            while i < n {
                let s = Instant::now();
                op(i).await;
                lat.push(s.elapsed());
                i += concurrency;
            }
            lat
        }));
    }
    let mut all = Vec::with_capacity(n);
    for t in tasks {
        all.extend(t.await.unwrap_or_default());
    }
    let wall = t0.elapsed();
    all.sort();
    Stats {
        p50: percentile(&all, 0.5),
        p99: percentile(&all, 0.99),
        per_sec: all.len() as f64 / wall.as_secs_f64(),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(2000);
    let concurrency: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(8);

    let stack = Stack::with(&[&hwx_registration::SERVICE, &hwx_gateway::SERVICE])
        .peer("job-feed", "http://127.0.0.1:9")
        .peer("seeker-matching", "http://127.0.0.1:9")
        .configure(|c| {
            c.rate_limit_per_second = 1_000_000;
            c.rate_limit_burst = 1_000_000;
        })
        .start()
        .await;
    let db = stack.db("registration");
    let addr = stack.addr("gateway");

    // One organisation, logged in.
    hwx_testkit::mailbox::sign_up(addr, &db, "bench@example.jp", "benchmark password", "org").await;
    let token = request(
        addr,
        "POST",
        "/v1/sessions",
        None,
        Some(&json!({"email": "bench@example.jp", "password": "benchmark password"})),
    )
    .await?
    .json()["token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let person = json!({"name": "山田太郎", "contact": "03-1234-5678", "full_time": true});
    let org = request(
        addr,
        "POST",
        "/v1/organisations",
        Some(&token),
        Some(&json!({"name": "株式会社ベンチ", "kind": "K1", "licence_number": "13-ユ-1", "licence_expiry": "2030-03-31",
            "address": "東京都千代田区丸の内1-1-1", "prefecture_code": "13", "contact_person": person, "pi_manager": person})),
    )
    .await?
    .json()["id"]
    .as_str()
    .unwrap_or_default()
    .to_owned();

    // Warm up both paths.
    for _ in 0..50 {
        request(
            addr,
            "POST",
            "/v1/applications",
            Some(&token),
            Some(&json!({"organisation_id": org, "service": "job"})),
        )
        .await?;
    }
    sqlx::raw_sql("CREATE TABLE bare (id uuid PRIMARY KEY, organisation_id uuid NOT NULL, service text NOT NULL, registered_on date NOT NULL)")
        .execute(db.pool())
        .await?;

    let org_id: uuid::Uuid = org.parse()?;
    let body = Arc::new(json!({"organisation_id": org, "service": "job"}));
    let token = Arc::new(token);
    let mut results: Vec<(&str, Stats)> = Vec::new();

    // The raw engine: one single-row insert, autocommit, on the service's own pool.
    let pool = db.pool().clone();
    results.push((
        "bare sqlx single-row insert",
        run(n, concurrency, move |_| {
            let pool = pool.clone();
            async move {
                sqlx::query("INSERT INTO bare (id, organisation_id, service, registered_on) VALUES ($1, $2, 'job', current_date)")
                    .bind(uuid::Uuid::now_v7())
                    .bind(org_id)
                    .execute(&pool)
                    .await
                    .map(|_| ())
                    .unwrap_or_else(|e| panic!("bare insert: {e}"));
            }
        })
        .await,
    ));

    // The command's own SQL, straight: the eligibility read and the insert.
    let pool = db.pool().clone();
    results.push((
        "the command's SQL (read + insert)",
        run(n, concurrency, move |_| {
            let pool = pool.clone();
            async move {
                sqlx::query(hwx_registration::store::sql::ELIGIBILITY_FACTS)
                    .bind(org_id)
                    .fetch_one(&pool)
                    .await
                    .unwrap_or_else(|e| panic!("read: {e}"));
                sqlx::query(hwx_registration::store::sql::INSERT_APPLICATION)
                    .bind(uuid::Uuid::now_v7())
                    .bind(org_id)
                    .bind("job")
                    .bind("use")
                    .bind(chrono::Utc::now().date_naive())
                    .bind(chrono::Utc::now().date_naive())
                    .bind(0)
                    .fetch_one(&pool)
                    .await
                    .unwrap_or_else(|e| panic!("insert: {e}"));
            }
        })
        .await,
    ));

    // One gRPC hop and the session lookup, nothing else: Authenticate.
    let channel = hwx_platform::grpc::client(&stack.url("registration"), None)?;
    let registration = RegistrationServiceClient::new(channel);
    let (c, t) = (registration.clone(), token.clone());
    results.push((
        "gRPC Authenticate (hop + session)",
        run(n, concurrency, move |_| {
            let (mut c, t) = (c.clone(), t.clone());
            async move {
                c.authenticate(reg::AuthenticateRequest {
                    token: t.to_string(),
                })
                .await
                .unwrap_or_else(|e| panic!("authenticate: {e}"));
            }
        })
        .await,
    ));

    // The service itself, over gRPC: no gateway.
    let (c, t) = (registration.clone(), token.clone());
    results.push((
        "gRPC CreateApplication",
        run(n, concurrency, move |_| {
            let (mut c, t) = (c.clone(), t.clone());
            async move {
                let mut req = tonic::Request::new(reg::CreateApplicationRequest {
                    organisation_id: org_id.to_string(),
                    service: hwx_proto::common::v1::ServiceCode::Job as i32,
                    ..Default::default()
                });
                req.metadata_mut().insert(
                    "authorization",
                    format!("Bearer {t}")
                        .parse()
                        .unwrap_or_else(|_| unreachable!()),
                );
                c.create_application(req)
                    .await
                    .unwrap_or_else(|e| panic!("create application: {e}"));
            }
        })
        .await,
    ));

    // Through the gateway, as a portal would: connections kept open.
    let client = HttpClient::new();
    let (b, t) = (body.clone(), token.clone());
    results.push((
        "POST /v1/applications (HTTP, keep-alive)",
        run(n, concurrency, move |_| {
            let (b, t, client) = (b.clone(), t.clone(), client.clone());
            async move {
                let r = client
                    .request(addr, "POST", "/v1/applications", Some(&t), Some(&b))
                    .await;
                assert!(
                    matches!(r, Ok(ref r) if r.status == 201),
                    "create application failed"
                );
            }
        })
        .await,
    ));

    // The same with a new connection per request (how this benchmark measured before).
    let (b, t) = (body.clone(), token.clone());
    results.push((
        "POST /v1/applications (HTTP, new connection each)",
        run(n, concurrency, move |_| {
            let (b, t) = (b.clone(), t.clone());
            async move {
                let r = request(addr, "POST", "/v1/applications", Some(&t), Some(&b)).await;
                assert!(
                    matches!(r, Ok(ref r) if r.status == 201),
                    "create application failed"
                );
            }
        })
        .await,
    ));

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let bare = results[0].1.per_sec;
    println!("create-application: {n} requests per path, concurrency {concurrency}");
    println!(
        "  {:<50} {:>9} {:>9} {:>9}  {:>6}",
        "path", "p50 ms", "p99 ms", "per s", "× bare"
    );
    for (name, st) in &results {
        println!(
            "  {:<50} {:>9.2} {:>9.2} {:>9.0}  {:>6.2}",
            name,
            ms(st.p50),
            ms(st.p99),
            st.per_sec,
            st.per_sec / bare
        );
    }
    drop(db);
    stack.stop().await;
    Ok(())
}
