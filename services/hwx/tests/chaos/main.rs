//! The fault harness: real processes killed under load, then the books checked.
//!
//! It starts its own PostgreSQL and nats-server (never the machine's shared ones, so it may kill
//! them) and every role as its own `hwx serve <role>` process: two registration replicas, one job
//! feed, two gateways. A seeded load runs through the gateways (organisations signing up,
//! registering, applying; the bureau submitting and deciding; Hello Work ingesting postings and
//! full snapshots; organisations following the change feed and the live stream) while, at seeded
//! moments, a role
//! process, NATS or PostgreSQL is killed with SIGKILL and restarted after a pause. When the load
//! stops and the system settles, `check` compares the databases and the followers' copies with
//! what the clients saw, and one table is printed.
//!
//! `HWX_CHAOS_ROUNDS` (default 4: one kill of each kind and one more of a role),
//! `HWX_CHAOS_SECONDS` (default 150), `HWX_CHAOS_SEED` (default 1), `HWX_CHAOS_KEEP=1` keeps the
//! logs. `scripts/chaos` runs it with a table on the terminal; `scripts/chaos --rounds 100` is the
//! long run.

#![allow(clippy::unwrap_used)] // a harness that cannot unwrap has failed, and says where

mod check;
mod cluster;
mod load;
mod mail;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cluster::{Cluster, Kind};
use load::{Client, Ledger, Outcome, Rng};
use tokio::sync::watch;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Until the whole path answers again: through both gateways, registration, the job feed and
/// seeker matching (and, after NATS, until every event staged before the restart is published).
async fn recovered(
    c: &Client,
    pool: &sqlx::PgPool,
    kind: Kind,
    since: chrono::DateTime<chrono::Utc>,
    tokens: &(String, String),
) -> bool {
    for via in 0..2 {
        let ok = |o: Outcome| matches!(o, Outcome::Ok(_));
        if !ok(c
            .send(
                via,
                "GET",
                "/v1/applications?page_size=1",
                Some(&tokens.0),
                None,
            )
            .await)
            || !ok(c
                .send(
                    via,
                    "GET",
                    "/v1/feed/changes?limit=1",
                    Some(&tokens.1),
                    None,
                )
                .await)
            || !ok(c
                .send(via, "GET", "/v1/seekers?page_size=1", Some(&tokens.1), None)
                .await)
        {
            return false;
        }
    }
    if kind == Kind::Nats {
        let left: Result<i64, _> = sqlx::query_scalar(
            "SELECT count(*) FROM registration.outbox WHERE published_at IS NULL AND created_at < $1",
        )
        .bind(since)
        .fetch_one(pool)
        .await;
        return left.is_ok_and(|n| n == 0);
    }
    true
}

/// A session for the probes, or the run fails saying who could not log in.
async fn probe_login(client: &Client, email: &str) -> String {
    let never = watch::channel(false).1;
    let login = load::login(client, email, "hwx-demo-password", &never);
    match tokio::time::timeout(Duration::from_secs(60), login).await {
        Ok(Some(token)) => token,
        _ => panic!("{email} could not log in within 60 s of the start"),
    }
}

fn percentile(v: &mut [Duration], p: f64) -> Duration {
    if v.is_empty() {
        return Duration::ZERO;
    }
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_nothing_lost_nothing_doubled() {
    let rounds = env_u64("HWX_CHAOS_ROUNDS", 4);
    let seconds = env_u64("HWX_CHAOS_SECONDS", 150);
    let seed = env_u64("HWX_CHAOS_SEED", 1);
    let keep = std::env::var("HWX_CHAOS_KEEP").as_deref() == Ok("1");
    let started = Instant::now();
    let mut cluster = Cluster::start(Path::new(env!("CARGO_BIN_EXE_hwx"))).await;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect_lazy(&cluster.database_url())
        .unwrap();
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let mail = Arc::new(mail::Mailbox::new(cluster.dir.join("logs")));
    let client = Client::new(cluster.gateways.clone(), ledger.clone(), mail);
    let (stop_tx, stop) = watch::channel(false);
    let mut workers = Vec::new();
    for w in 0..2 {
        workers.push(tokio::spawn(load::organisations(
            client.clone(),
            w,
            seed,
            stop.clone(),
        )));
    }
    workers.push(tokio::spawn(load::feed_writer(
        client.clone(),
        seed,
        stop.clone(),
    )));
    workers.push(tokio::spawn(load::seeker_writer(
        client.clone(),
        seed,
        stop.clone(),
    )));
    // The follower stops only after the writers have: it must see their last changes.
    let (follower_stop_tx, follower_stop) = watch::channel(false);
    let follower = tokio::spawn(check::follow(client.clone(), follower_stop.clone()));
    let streamer = tokio::spawn(check::follow_stream(
        client.clone(),
        cluster.gateways.clone(),
        follower_stop,
    ));
    let probe_tokens = (
        probe_login(&client, "officer@tokyo-roudoukyoku.example.go.jp").await,
        probe_login(&client, "info@mirai-career.example.jp").await,
    );

    let mut rng = Rng::new(seed);
    let mut kills: Vec<(Kind, String, Duration)> = Vec::new();
    let mut violations: Vec<String> = Vec::new();
    let deadline = started + Duration::from_secs(seconds);
    let roles: Vec<usize> = (0..cluster.procs.len())
        .filter(|i| cluster.procs[*i].kind == Kind::Role)
        .collect();
    for round in 0..rounds {
        tokio::time::sleep(rng.millis(2000, 5000)).await;
        if Instant::now() > deadline {
            break;
        }
        // Every fourth kill is NATS, every fourth PostgreSQL, the rest a role process at random.
        let kind = [Kind::Role, Kind::Nats, Kind::Postgres, Kind::Role][(round % 4) as usize];
        let victim = match kind {
            Kind::Role => roles[rng.below(roles.len() as u64) as usize],
            k => (0..cluster.procs.len())
                .find(|i| cluster.procs[*i].kind == k)
                .unwrap(),
        };
        cluster.procs[victim].kill();
        tokio::time::sleep(rng.millis(500, 2500)).await;
        let restarted = Instant::now();
        let since = chrono::Utc::now();
        cluster.procs[victim].start();
        let name = cluster.procs[victim].name.clone();
        loop {
            if recovered(&client, &pool, kind, since, &probe_tokens).await {
                kills.push((kind, name, restarted.elapsed()));
                break;
            }
            if restarted.elapsed() > Duration::from_secs(90) {
                violations.push(format!(
                    "no recovery within 90 s after {name} was killed and restarted"
                ));
                kills.push((kind, name, restarted.elapsed()));
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let _ = stop_tx.send(true);
    for w in workers {
        let _ = w.await;
    }
    let _ = follower_stop_tx.send(true);
    let follower = follower.await.unwrap();
    let streamer = streamer.await.unwrap();
    let settled = check::settle(&pool, Duration::from_secs(90)).await;
    if let Err(e) = &settled {
        violations.push(e.clone());
    }
    let dead = cluster.all_running();
    if !dead.is_empty() {
        violations.push(format!("processes that exited on their own: {dead:?}"));
    }
    let ledger = Arc::try_unwrap(ledger)
        .map(|m| m.into_inner().unwrap())
        .unwrap_or_else(|a| std::mem::take(&mut *a.lock().unwrap()));
    let findings = check::check(
        &pool,
        &ledger,
        &[
            ("change-feed follower", &follower),
            ("live-stream follower", &streamer),
        ],
    )
    .await
    .unwrap();
    violations.extend(findings.violations.iter().cloned());

    let count = |k: Kind| kills.iter().filter(|(x, _, _)| *x == k).count();
    let mut table = String::new();
    table.push_str(&format!(
        "\nchaos run: seed {seed}, {} rounds in {:.0} s (logs: {})\n\n",
        kills.len(),
        started.elapsed().as_secs_f64(),
        cluster.dir.join("logs").display()
    ));
    table.push_str("| rounds | kills: role / NATS / PostgreSQL | requests | acknowledged writes | lost | doubled |\n|---|---|---|---|---|---|\n");
    table.push_str(&format!(
        "| {} | {} / {} / {} | {} | {} | **{}** | **{}** |\n\n",
        kills.len(),
        count(Kind::Role),
        count(Kind::Nats),
        count(Kind::Postgres),
        ledger.requests,
        ledger.acked.values().sum::<usize>(),
        findings.lost,
        findings.doubled
    ));
    table.push_str("| recovery after killing | kills | p50 | max |\n|---|---|---|---|\n");
    for k in [Kind::Role, Kind::Nats, Kind::Postgres] {
        let mut times: Vec<Duration> = kills
            .iter()
            .filter(|(x, _, _)| *x == k)
            .map(|(_, _, d)| *d)
            .collect();
        if times.is_empty() {
            continue;
        }
        let max = times.iter().max().copied().unwrap_or_default();
        table.push_str(&format!(
            "| {} | {} | {:.1} s | {:.1} s |\n",
            k.word(),
            times.len(),
            percentile(&mut times, 0.5).as_secs_f64(),
            max.as_secs_f64()
        ));
    }
    table.push_str(&format!(
        "\nacknowledged: {:?}; answers by status: {:?}; unreachable (connection refused or cut): {}; change-feed follower: {} pages, {} postings, {} reconnects; live-stream follower: {} postings, {} reconnects; settled in {}\n",
        ledger.acked,
        ledger.statuses,
        ledger.unreachable,
        follower.pages,
        follower.postings.len(),
        follower.reconnects,
        streamer.postings.len(),
        streamer.reconnects,
        settled.map(|d| format!("{:.1} s", d.as_secs_f64())).unwrap_or_else(|e| e),
    ));
    table.push_str(&format!(
        "violations: {}\n",
        if violations.is_empty() {
            "none".to_owned()
        } else {
            violations.len().to_string()
        }
    ));
    for v in violations.iter().take(30) {
        table.push_str(&format!("  - {v}\n"));
    }
    println!("{table}");
    let failed = !violations.is_empty() || findings.lost > 0 || findings.doubled > 0;
    pool.close().await;
    cluster.finish(keep || failed);
    assert!(!failed, "{table}");
    assert!(
        ledger.acked.values().sum::<usize>() > 0,
        "the load acknowledged no write: {table}"
    );
}
