//! `hwx demo load`: a load generator against a running gateway. An operations account makes its
//! organisation account (a sign-up waits for its email to be confirmed), which registers its
//! organisation and then applications over HTTP for a while; it reports latency and throughput.
//! The skaffold `load` profile runs it as a Job inside the cluster.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use hwx_platform::http::HttpClient;
use serde_json::json;

/// How the load runs.
#[derive(Debug, Clone)]
pub struct LoadPlan {
    pub target: String,
    pub ops_email: String,
    pub ops_password: String,
    pub seconds: u64,
    pub concurrency: usize,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[(((sorted.len() - 1) as f64) * p).round() as usize]
}

pub fn run(plan: LoadPlan) -> ExitCode {
    crate::serve::command("demo load", load(plan))
}

async fn load(plan: LoadPlan) -> Result<(), String> {
    let target = plan
        .target
        .trim_end_matches('/')
        .trim_start_matches("http://");
    let addr = tokio::net::lookup_host(target)
        .await
        .map_err(|e| format!("cannot resolve {target}: {e}"))?
        .next()
        .ok_or_else(|| format!("{target} resolves to nothing"))?;
    let email = format!(
        "load-{}@load.example.jp",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    // Connections stay open between requests, as a portal's would.
    let client = HttpClient::new();
    let call = |method: &'static str,
                path: &'static str,
                token: Option<String>,
                body: serde_json::Value| {
        let client = client.clone();
        async move {
            client
                .request(addr, method, path, token.as_deref(), Some(&body))
                .await
                .map_err(|e| format!("{method} {path}: {e}"))
        }
    };
    let r = call(
        "POST",
        "/v1/sessions",
        None,
        json!({"email": plan.ops_email, "password": plan.ops_password}),
    )
    .await?;
    let Some(ops) = r.json()["token"].as_str().map(str::to_owned) else {
        return Err(format!(
            "the operations account {} cannot log in ({} {}): run `hwx demo seed`, or give --ops-email and HWX_LOAD_OPS_PASSWORD",
            plan.ops_email,
            r.status,
            String::from_utf8_lossy(&r.body)
        ));
    };
    let r = call(
        "POST",
        "/v1/accounts",
        Some(ops),
        json!({"email": email, "password": "load test password", "role": "org"}),
    )
    .await?;
    if r.status != 201 {
        return Err(format!(
            "the organisation account was refused: {} {}",
            r.status,
            String::from_utf8_lossy(&r.body)
        ));
    }
    let token = call(
        "POST",
        "/v1/sessions",
        None,
        json!({"email": email, "password": "load test password"}),
    )
    .await?
    .json()["token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let person = json!({"name": "負荷 太郎", "contact": "03-0000-0000", "full_time": true});
    let org = call(
        "POST",
        "/v1/organisations",
        Some(token.clone()),
        json!({"name": "株式会社負荷試験", "kind": "K1", "licence_number": format!("LOAD-{email}"), "licence_expiry": "2030-03-31",
               "address": "東京都千代田区丸の内1-1-1", "prefecture_code": "13", "contact_person": person, "pi_manager": person}),
    )
    .await?
    .json()["id"]
    .as_str()
    .unwrap_or_default()
    .to_owned();
    println!(
        "load: {} workers for {} s against http://{addr}",
        plan.concurrency, plan.seconds
    );

    let deadline = Instant::now() + Duration::from_secs(plan.seconds);
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..plan.concurrency.max(1) {
        let (token, org, client) = (token.clone(), org.clone(), client.clone());
        workers.push(tokio::spawn(async move {
            let (mut ok, mut refused, mut lat) = (0u64, 0u64, Vec::new());
            while Instant::now() < deadline {
                let t = Instant::now();
                let body = json!({"organisation_id": org, "service": "job"});
                match client
                    .request(addr, "POST", "/v1/applications", Some(&token), Some(&body))
                    .await
                {
                    Ok(r) if r.status == 201 => {
                        ok += 1;
                        lat.push(t.elapsed());
                    }
                    // 429 and 503 are the gateway protecting itself (X2, X1): counted, and honoured
                    // as a well-behaved portal would, by waiting as Retry-After says.
                    Ok(r) if r.status == 429 || r.status == 503 => {
                        refused += 1;
                        let wait = r
                            .header("retry-after")
                            .and_then(|v| v.parse::<u64>().ok())
                            .unwrap_or(1);
                        tokio::time::sleep(Duration::from_millis((wait * 1000).min(5000))).await;
                    }
                    Ok(_) | Err(_) => refused += 1,
                }
            }
            (ok, refused, lat)
        }));
    }
    let (mut ok, mut refused, mut lat) = (0u64, 0u64, Vec::new());
    for w in workers {
        if let Ok((o, r, l)) = w.await {
            ok += o;
            refused += r;
            lat.extend(l);
        }
    }
    lat.sort();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "load: {ok} applications created, {refused} refused (rate limit, maintenance) or failed; {:.0}/s; p50 {:.2} ms, p99 {:.2} ms",
        ok as f64 / secs,
        percentile(&lat, 0.5).as_secs_f64() * 1e3,
        percentile(&lat, 0.99).as_secs_f64() * 1e3
    );
    if ok == 0 {
        return Err("no request succeeded".into());
    }
    Ok(())
}
