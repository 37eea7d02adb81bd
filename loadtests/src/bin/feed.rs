//! Benchmark of the job feed with a million postings, each number next to the raw engine in the
//! same run:
//!
//! 1. `hwx demo postings` generation alone, and the bulk load into the store;
//! 2. the snapshot export over HTTP (CSV UTF-8, CSV Shift_JIS, NDJSON) from a running `hwx serve
//!    all` process, next to `COPY (SELECT …) TO STDOUT` of the same rows, with the service
//!    process's peak RSS;
//! 3. a daily full snapshot with ~5 % changed (and 0.5 % gone) through the real ingest path,
//!    next to a bare read of every (number, hash) pair;
//! 4. change-feed latency from ingest to a watching client, next to a bare LISTEN/NOTIFY.
//!
//! Run: `cargo build --release -p hwx -p hwx-loadtests && ~/.cache/hwx-target/release/feed
//! [postings]` (needs the local PostgreSQL and NATS; uses a database of its own and drops it).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use hwx_job_feed::record::PostingJson;
use hwx_platform::db::Database;
use hwx_proto::jobfeed::v1 as jf;
use hwx_proto::jobfeed::v1::job_feed_service_client::JobFeedServiceClient;
use hwx_proto::registration::v1::LoginRequest;
use hwx_proto::registration::v1::registration_service_client::RegistrationServiceClient;
use prost::Message;
use sqlx::postgres::PgPoolOptions;

type Error = Box<dyn std::error::Error + Send + Sync>;

fn free_port() -> Result<SocketAddr, Error> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

/// Peak and current resident memory of a process, in kB.
fn memory(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// GET over plain HTTP/1.1, reading and dropping the body; returns (status, body bytes).
fn download(addr: SocketAddr, path: &str, token: &str) -> Result<(u16, u64), Error> {
    let mut s = TcpStream::connect(addr)?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )?;
    let mut buf = vec![0u8; 1 << 20];
    let mut head = Vec::new();
    let mut body = 0u64;
    let mut in_body = false;
    loop {
        let n = s.read(&mut buf)?;
        if n == 0 {
            break;
        }
        if in_body {
            body += n as u64;
            continue;
        }
        head.extend_from_slice(&buf[..n]);
        if let Some(p) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            body += (head.len() - p - 4) as u64;
            in_body = true;
            head.truncate(p);
        }
    }
    let status = String::from_utf8_lossy(&head)
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok((status, body))
}

struct Server {
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn hwx_bin() -> std::path::PathBuf {
    let me = std::env::current_exe().unwrap_or_default();
    me.with_file_name("hwx")
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let count: u64 = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let id = format!("b{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let base = hwx_testkit::database_url();
    let db_url = match base.rsplit_once('/') {
        Some((server, _)) => format!("{server}/hwx_{id}"),
        None => return Err("database URL without a database".into()),
    };
    let (gateway, registration, job_feed) = (free_port()?, free_port()?, free_port()?);
    let env: Vec<(&str, String)> = vec![
        ("HWX_DATABASE_URL", db_url.clone()),
        ("HWX_NATS_URL", hwx_testkit::nats_url()),
        ("HWX_SUBJECT_PREFIX", id.clone()),
        ("HWX_GATEWAY_ADDR", gateway.to_string()),
        ("HWX_REGISTRATION_ADDR", registration.to_string()),
        ("HWX_JOB_FEED_ADDR", job_feed.to_string()),
        ("HWX_LOG_FILTER", "warn".into()),
        ("HWX_RATE_LIMIT_PER_SECOND", "100000".into()),
        ("HWX_RATE_LIMIT_BURST", "100000".into()),
    ];
    println!("job feed benchmark: {count} postings, database hwx_{id}");
    let result = bench(count, &db_url, &env, &id, gateway, registration, job_feed).await;
    // Leave nothing behind.
    if let Ok(admin) = PgPoolOptions::new().max_connections(1).connect(&base).await {
        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS hwx_{id} WITH (FORCE)"
        )))
        .execute(&admin)
        .await;
    }
    if let Ok(events) = hwx_platform::events::Events::connect(&hwx_testkit::nats_url(), &id).await {
        let _ = events.delete_stream().await;
    }
    result
}

async fn bench(
    count: u64,
    db_url: &str,
    env: &[(&str, String)],
    prefix: &str,
    gateway: SocketAddr,
    registration: SocketAddr,
    job_feed: SocketAddr,
) -> Result<(), Error> {
    // 1. Generation alone, then the bulk load.
    let sample = count.min(200_000);
    let t = Instant::now();
    let mut bytes = 0usize;
    for i in 0..sample {
        bytes += serde_json::to_vec(&PostingJson::from(&hwx_job_feed::generate::posting(
            0, i, 0,
        )))?
        .len();
    }
    let gen_rate = sample as f64 / t.elapsed().as_secs_f64();
    println!(
        "generate (one thread, {sample} postings as NDJSON, {:.0} bytes each): {gen_rate:.0}/s",
        bytes as f64 / sample as f64
    );
    hwx_platform::db::ensure_database(db_url).await?;
    let schema = hwx_job_feed::SERVICE.schema().unwrap_or_default();
    let db = Database::open(db_url, &schema, 4, hwx_job_feed::MIGRATIONS).await?;
    let signer = hwx_job_feed::signing::Signer::load(&db, "").await?;
    // The CPU part of a bulk load alone, one thread: generate, check, hash, sign, COPY text.
    let now = chrono::Utc::now().to_rfc3339();
    let (mut out, mut sign_only) = (String::new(), Duration::ZERO);
    let t = Instant::now();
    for i in 0..sample {
        let p = hwx_job_feed::generate::posting(0, i, 0);
        out.clear();
        let _ = hwx_job_feed::bulk::copy_row(&p, &signer, &now, &mut out);
        let s0 = Instant::now();
        let _ = signer.sign(&p.posting_number, 1, "0");
        sign_only += s0.elapsed();
    }
    let prep = t.elapsed() - sign_only;
    println!(
        "bulk-load rows without the database (one thread): {:.0}/s, of which one Ed25519 signature {:.1} µs",
        sample as f64 / prep.as_secs_f64(),
        sign_only.as_secs_f64() * 1e6 / sample as f64
    );
    let t = Instant::now();
    let loaded =
        hwx_job_feed::bulk::load_generated(&db, &signer, 0, count, 0, chrono::Utc::now(), |_| {})
            .await?;
    let load_s = t.elapsed().as_secs_f64();
    println!(
        "bulk load (generate, check J7, hash, sign, COPY): {} postings in {load_s:.1} s = {:.0}/s",
        loaded.inserted,
        count as f64 / load_s
    );
    sqlx::raw_sql("VACUUM ANALYZE postings")
        .execute(db.pool())
        .await?;

    // The service, as its own process.
    let bin = hwx_bin();
    let seed = Command::new(&bin)
        .args(["demo", "seed"])
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::null())
        .status()?;
    if !seed.success() {
        return Err("hwx demo seed failed".into());
    }
    let server = Server {
        child: Command::new(&bin)
            .args(["serve", "all"])
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::null())
            .spawn()?,
    };
    let pid = server.child.id();
    let mut reg = loop {
        match RegistrationServiceClient::connect(format!("http://{registration}")).await {
            Ok(c) => break c,
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    };
    let login = |email: &str| LoginRequest {
        email: email.into(),
        password: hwx::demo::PASSWORD.into(),
    };
    let org = reg
        .login(login("info@mirai-career.example.jp"))
        .await?
        .into_inner()
        .token;
    let upstream = reg
        .login(login(hwx::demo::UPSTREAM))
        .await?
        .into_inner()
        .token;
    while download(gateway, "/v1/feed/changes?limit=1", &org)?.0 != 200 {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (hwm_idle, _) = memory(pid);

    // 2. Export next to COPY of the same rows.
    let copy_sql =
        "COPY (SELECT posting_number, version, content, content_hash, signature, key_id, updated_at
                            FROM postings WHERE NOT withdrawn) TO STDOUT (FORMAT csv)";
    let t = Instant::now();
    let mut conn = db.pool().acquire().await?;
    let mut out = conn.copy_out_raw(copy_sql).await?;
    let mut copy_bytes = 0u64;
    while let Some(chunk) = out.next().await {
        copy_bytes += chunk?.len() as u64;
    }
    drop(out);
    drop(conn);
    let copy_s = t.elapsed().as_secs_f64();
    println!(
        "COPY (SELECT …) TO STDOUT: {:.0} MB in {copy_s:.2} s = {:.0} rows/s",
        mb(copy_bytes),
        count as f64 / copy_s
    );
    for (name, path) in [
        ("CSV UTF-8", "/v1/feed/snapshot"),
        ("CSV Shift_JIS", "/v1/feed/snapshot?encoding=shift_jis"),
        ("NDJSON", "/v1/feed/snapshot?format=ndjson"),
    ] {
        let t = Instant::now();
        let org2 = org.clone();
        let sampling = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let s2 = sampling.clone();
        let sampler = std::thread::spawn(move || {
            let mut peak_rss = 0;
            while s2.load(std::sync::atomic::Ordering::Relaxed) {
                peak_rss = peak_rss.max(memory(pid).1);
                std::thread::sleep(Duration::from_millis(20));
            }
            peak_rss
        });
        let (status, body) =
            tokio::task::spawn_blocking(move || download(gateway, path, &org2)).await??;
        let secs = t.elapsed().as_secs_f64();
        sampling.store(false, std::sync::atomic::Ordering::Relaxed);
        let rss = sampler.join().unwrap_or(0);
        println!(
            "{name} snapshot over HTTP: status {status}, {:.0} MB in {secs:.2} s = {:.0} rows/s, {:.2}× COPY; service RSS peak during it {:.0} MB",
            mb(body),
            count as f64 / secs,
            copy_s / secs,
            rss as f64 / 1024.0
        );
    }
    let (hwm, _) = memory(pid);
    println!(
        "service process peak RSS: {:.0} MB before the exports, {:.0} MB after",
        hwm_idle as f64 / 1024.0,
        hwm as f64 / 1024.0
    );

    // 3. The next day's full snapshot: revision 1 changes ~5 %, the last 0.5 % are gone.
    let mut feed = JobFeedServiceClient::connect(format!("http://{job_feed}"))
        .await?
        .max_decoding_message_size(64 * 1024 * 1024);
    let today = count - count / 200;
    let (tx, rx) = tokio::sync::mpsc::channel::<jf::IngestRequest>(4096);
    tokio::spawn(async move {
        let _ = tx
            .send(jf::IngestRequest {
                item: Some(jf::ingest_request::Item::SnapshotStart(jf::SnapshotStart {
                    snapshot_id: "day-2".into(),
                })),
            })
            .await;
        for i in 0..today {
            let p = hwx_job_feed::generate::posting(0, i, 1);
            if tx
                .send(jf::IngestRequest {
                    item: Some(jf::ingest_request::Item::Posting(p)),
                })
                .await
                .is_err()
            {
                return;
            }
        }
        let _ = tx
            .send(jf::IngestRequest {
                item: Some(jf::ingest_request::Item::SnapshotEnd(jf::SnapshotEnd {
                    count: today as i64,
                })),
            })
            .await;
    });
    let mut req = tonic::Request::new(tokio_stream::wrappers::ReceiverStream::new(rx));
    req.metadata_mut()
        .insert("authorization", format!("Bearer {upstream}").parse()?);
    let t = Instant::now();
    let s = feed.ingest_postings(req).await?.into_inner();
    let day_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let pairs: Vec<(String, String)> =
        sqlx::query_as("SELECT posting_number, content_hash FROM postings")
            .fetch_all(db.pool())
            .await?;
    let raw_s = t.elapsed().as_secs_f64();
    println!(
        "daily full snapshot through ingest ({today} postings): {day_s:.1} s = {:.0}/s; {} stored, {} unchanged, {} withdrawn, {} refused; \
         bare read of all {} (number, hash) pairs {raw_s:.2} s ({:.1}×)",
        today as f64 / day_s,
        s.stored,
        s.unchanged,
        s.withdrawn,
        s.refused,
        pairs.len(),
        day_s / raw_s
    );
    drop(pairs);

    // 4. Change-feed latency: a watcher from the head, single-posting ingests 20 per second.
    let head = s.cursor.clone();
    let mut watch_req = tonic::Request::new(jf::GetChangesRequest {
        cursor: head,
        limit: 0,
    });
    watch_req
        .metadata_mut()
        .insert("authorization", format!("Bearer {org}").parse()?);
    let mut live = feed.watch_changes(watch_req).await?.into_inner();
    let rounds = 200u64;
    let (seen_tx, mut seen_rx) = tokio::sync::mpsc::unbounded_channel::<(String, Instant)>();
    tokio::spawn(async move {
        while let Some(Ok(c)) = live.next().await {
            if let Some(jf::change::Change::Upsert(p)) = c.change {
                let _ =
                    seen_tx.send((p.content.unwrap_or_default().posting_number, Instant::now()));
            }
        }
    });
    let mut from_call = Vec::new();
    let mut from_commit = Vec::new();
    for r in 0..rounds {
        let p = hwx_job_feed::generate::posting(0, r, 2 + r as u32 * 20);
        let mut p = p;
        // Every round a real change.
        if let Some(w) = p.wage.as_mut() {
            w.min_yen += 1 + r as i64;
            w.max_yen += 1 + r as i64;
        }
        let number = p.posting_number.clone();
        let mut req = tonic::Request::new(futures::stream::iter(vec![jf::IngestRequest {
            item: Some(jf::ingest_request::Item::Posting(p)),
        }]));
        req.metadata_mut()
            .insert("authorization", format!("Bearer {upstream}").parse()?);
        let start = Instant::now();
        feed.ingest_postings(req).await?;
        let committed = Instant::now();
        loop {
            let (n, at) = tokio::time::timeout(Duration::from_secs(10), seen_rx.recv())
                .await?
                .ok_or("watch ended")?;
            if n == number {
                from_call.push(at - start);
                from_commit.push(at.saturating_duration_since(committed));
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The raw engine: NOTIFY from one session to a LISTENing one.
    let mut listener = sqlx::postgres::PgListener::connect(db_url).await?;
    listener.listen("bench_raw").await?;
    let notifier = PgPoolOptions::new()
        .max_connections(1)
        .connect(db_url)
        .await?;
    let mut raw = Vec::new();
    for _ in 0..rounds {
        let t = Instant::now();
        sqlx::query("SELECT pg_notify('bench_raw', 'x')")
            .execute(&notifier)
            .await?;
        listener.recv().await?;
        raw.push(t.elapsed());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let pct = |v: &mut Vec<Duration>, p: f64| {
        v.sort();
        v[((v.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1000.0
    };
    let (c50, c99) = (pct(&mut from_call, 0.5), pct(&mut from_call, 0.99));
    let (m50, m99) = (pct(&mut from_commit, 0.5), pct(&mut from_commit, 0.99));
    let (r50, r99) = (pct(&mut raw, 0.5), pct(&mut raw, 0.99));
    println!(
        "change-feed latency over {rounds} changes: ingest call → watcher p50 {c50:.1} ms p99 {c99:.1} ms; \
         commit acknowledged → watcher p50 {m50:.1} ms p99 {m99:.1} ms; bare NOTIFY → LISTEN p50 {r50:.2} ms p99 {r99:.2} ms ({:.0}× at p50)",
        c50 / r50.max(1e-3)
    );

    // 5. Access cut: a suspension published on NATS until the organisation's live stream ends,
    //    then a reinstatement (approval) until it reads again; 20 rounds.
    let caller = reg
        .authenticate(hwx_proto::registration::v1::AuthenticateRequest { token: org.clone() })
        .await?
        .into_inner();
    let events = hwx_platform::events::Events::connect(&hwx_testkit::nats_url(), prefix).await?;
    let mut cuts = Vec::new();
    for round in 0..20i64 {
        let mut req = tonic::Request::new(jf::GetChangesRequest {
            cursor: s.cursor.clone(),
            limit: 0,
        });
        req.metadata_mut()
            .insert("authorization", format!("Bearer {org}").parse()?);
        let mut live = feed.watch_changes(req).await?.into_inner();
        let at = chrono::Utc::now() + chrono::Duration::seconds(round * 2);
        let meta = |at: chrono::DateTime<chrono::Utc>| {
            Some(hwx_proto::events::v1::EventMeta {
                event_id: uuid::Uuid::now_v7().to_string(),
                occurred_at: Some(prost_types::Timestamp {
                    seconds: at.timestamp(),
                    nanos: 0,
                }),
                producer: "registration".into(),
            })
        };
        let suspend = hwx_proto::events::v1::EnrolmentEnded {
            meta: meta(at),
            organisation_id: caller.organisation_id.clone(),
            service: hwx_proto::common::v1::ServiceCode::Job as i32,
            status: hwx_proto::common::v1::EnrolmentStatus::Suspended as i32,
            rule: "SN1".into(),
        };
        hwx_testkit::publish(
            &events,
            "hwx.registration.enrolment.ended",
            suspend.encode_to_vec(),
        )
        .await?;
        let t = Instant::now();
        // Drain whatever was on its way; the stream ends with PERMISSION_DENIED.
        while let Some(Ok(_)) = tokio::time::timeout(Duration::from_secs(10), live.next()).await? {}
        cuts.push(t.elapsed());
        let approve = hwx_proto::events::v1::OrgApproved {
            meta: meta(at + chrono::Duration::seconds(1)),
            organisation_id: caller.organisation_id.clone(),
            application_id: String::new(),
            service: hwx_proto::common::v1::ServiceCode::Job as i32,
            valid_from: None,
            valid_until: None,
            approved_by: String::new(),
        };
        hwx_testkit::publish(
            &events,
            "hwx.registration.org.approved",
            approve.encode_to_vec(),
        )
        .await?;
        while download(gateway, "/v1/feed/changes?limit=1", &org)?.0 != 200 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let (k50, k99) = (pct(&mut cuts, 0.5), pct(&mut cuts, 1.0));
    println!(
        "access cut, suspension published on NATS → the live stream ends (20 rounds): p50 {k50:.1} ms, max {k99:.1} ms (aim < 1 s)"
    );
    drop(server);
    Ok(())
}
