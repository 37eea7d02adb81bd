//! Two `hwx serve gateway` processes in front of one registration: what one replica is told (an
//! emergency window, X1) the other answers, and an organisation spread over both gets its
//! configured rate limit in total (X2), not twice.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hwx_testkit::Stack;
use hwx_testkit::http::request;
use serde_json::json;

const RATE: u32 = 20;
const BURST: u32 = 20;

/// A gateway process; killed when dropped.
struct Gateway {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn gateway(stack: &Stack) -> Gateway {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hwx"))
        .args(["serve", "gateway"])
        .env_clear()
        .env("HWX_DATABASE_URL", hwx_testkit::database_url())
        .env("HWX_NATS_URL", hwx_testkit::nats_url())
        .env("HWX_SUBJECT_PREFIX", &stack.env.id)
        .env("HWX_GATEWAY_ADDR", "127.0.0.1:0")
        .env("HWX_REGISTRATION_URL", stack.url("registration"))
        .env("HWX_JOB_FEED_URL", "http://127.0.0.1:9")
        .env("HWX_RATE_LIMIT_PER_SECOND", RATE.to_string())
        .env("HWX_RATE_LIMIT_BURST", BURST.to_string())
        .env("HWX_LOG_FILTER", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start hwx serve gateway");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    // "gateway on http://127.0.0.1:PORT (API docs: …)"
    let line = lines
        .next()
        .expect("the gateway says where it listens")
        .expect("stdout");
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    Gateway { child, addr }
}

async fn login(gw: SocketAddr, email: &str, password: &str) -> String {
    let r = request(
        gw,
        "POST",
        "/v1/sessions",
        None,
        Some(&json!({"email": email, "password": password})),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    r.json()["token"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x1_x2_two_gateway_processes_share_the_switch_and_the_limit() {
    let stack = Stack::start(&[&hwx_registration::SERVICE]).await;
    let (a, b) = (gateway(&stack), gateway(&stack));

    // Operations, made the way operations bootstrap their first account.
    let hash = hwx_registration::auth::hash_password("correct horse battery".into())
        .await
        .unwrap();
    sqlx::query("INSERT INTO accounts (id, email, password_hash, role) VALUES (gen_random_uuid(), 'ops@example.go.jp', $1, 'ops')")
        .bind(hash)
        .execute(stack.db("registration").pool())
        .await
        .unwrap();
    let ops = login(a.addr, "ops@example.go.jp", "correct horse battery").await;

    // X1: the window declared through A closes B too, and ending it through B reopens A.
    let until = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let r = request(
        a.addr,
        "PUT",
        "/v1/ops/maintenance",
        Some(&ops),
        Some(&json!({"until": until})),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let answered = async |gw: SocketAddr, status: u16| {
        let started = Instant::now();
        loop {
            let r = request(gw, "GET", "/v1/public/organisations", Some(&ops), None)
                .await
                .unwrap();
            if r.status == status {
                return (r, started.elapsed());
            }
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "still {} after 5 s",
                r.status
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let (closed, took) = answered(b.addr, 503).await;
    assert_eq!(closed.json()["rule"], "X1");
    assert!(took < Duration::from_secs(2), "B heard of it in {took:?}");
    let r = request(
        b.addr,
        "PUT",
        "/v1/ops/maintenance",
        Some(&ops),
        Some(&json!({"until": null})),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200);
    answered(a.addr, 200).await;

    // An organisation, logged in afresh after registering so its sessions count as the
    // organisation's.
    let email = "load@replicas.example.jp";
    let password = "a long enough password";
    hwx_testkit::mailbox::sign_up(a.addr, &stack.db("registration"), email, password, "org").await;
    let token = login(a.addr, email, password).await;
    let person = json!({"name": "山田太郎", "contact": "03-1234-5678", "full_time": true});
    let r = request(a.addr, "POST", "/v1/organisations", Some(&token), Some(&json!({
        "name": "株式会社レプリカ", "kind": "K1", "licence_number": "13-ユ-424242", "licence_expiry": "2030-03-31",
        "address": "東京都千代田区丸の内1-1-1", "prefecture_code": "13", "contact_person": person, "pi_manager": person})))
        .await
        .unwrap();
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let org = r.json()["id"].as_str().unwrap().to_owned();
    let token = login(b.addr, email, password).await;
    // Let the buckets of the set-up requests refill.
    tokio::time::sleep(Duration::from_secs(2)).await;

    // X2: four clients hammer A and B together for three seconds.
    let window = Duration::from_secs(3);
    let started = Instant::now();
    let mut workers = Vec::new();
    for i in 0..4 {
        let gw = if i % 2 == 0 { a.addr } else { b.addr };
        let (token, path) = (token.clone(), format!("/v1/organisations/{org}"));
        workers.push(tokio::spawn(async move {
            let (mut ok, mut limited) = (0u32, 0u32);
            while started.elapsed() < window {
                match request(gw, "GET", &path, Some(&token), None)
                    .await
                    .unwrap()
                    .status
                {
                    200 => ok += 1,
                    429 => limited += 1,
                    other => panic!("unexpected {other}"),
                }
            }
            (ok, limited)
        }));
    }
    let (mut ok, mut limited) = (0, 0);
    for w in workers {
        let (o, l) = w.await.unwrap();
        ok += o;
        limited += l;
    }
    let seconds = started.elapsed().as_secs_f64();
    let allowed = f64::from(BURST) + f64::from(RATE) * seconds;
    eprintln!(
        "X2 over two replicas: {ok} admitted, {limited} refused in {seconds:.1} s; one replica alone would admit {allowed:.0}"
    );
    assert!(limited > 0, "the limit held nothing back");
    assert!(
        f64::from(ok) <= allowed * 1.3,
        "{ok} admitted: more than the limit of {allowed:.0} (each replica limiting alone would admit about {:.0})",
        allowed * 2.0
    );
    assert!(
        f64::from(ok) >= allowed * 0.7,
        "{ok} admitted: well below the limit of {allowed:.0}"
    );
    drop((a, b));
    stack.stop().await;
}
