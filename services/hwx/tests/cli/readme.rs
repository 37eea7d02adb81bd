//! The README's examples (every `sh` block), run as printed, in order, from a folder outside the
//! repository: a user who downloads into `~/Downloads` and calls `scripts/run` by its path gets
//! their files there, and every command works.
//!
//! The system runs as `scripts/run` runs it (`hwx demo seed`, then `hwx serve all`), in a
//! database and a stream of its own. Two things differ from a user's machine: `localhost:8080`
//! (and the gRPC ports) become the ports the test's services got, and `scripts/run` runs the
//! test's build of `hwx` (`HWX_BIN`) rather than building a release.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The README's `sh` blocks, in order (listings and transcripts are `text` and `console`).
fn sh_blocks(readme: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut rest = readme;
    while let Some(open) = rest.find("```sh\n") {
        let body = &rest[open + 6..];
        let close = body.find("```").expect("a closed code block");
        blocks.push(body[..close].to_owned());
        rest = &body[close + 3..];
    }
    blocks
}

/// The end of a long output (the examples print whole snapshots).
fn tail(text: &str) -> &str {
    let mut from = text.len().saturating_sub(4000);
    while !text.is_char_boundary(from) {
        from += 1;
    }
    &text[from..]
}

/// A folder outside the repository, removed when dropped.
struct Folder(PathBuf);

impl Folder {
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The server, killed when dropped.
struct Serving(Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn env(cmd: &mut Command, db: &str, prefix: &str) {
    cmd.env("HWX_DATABASE_URL", db)
        .env("HWX_NATS_URL", hwx_testkit::nats_url())
        .env("HWX_SUBJECT_PREFIX", prefix)
        .env("HWX_GATEWAY_ADDR", "127.0.0.1:0")
        .env("HWX_REGISTRATION_ADDR", "127.0.0.1:0")
        .env("HWX_JOB_FEED_ADDR", "127.0.0.1:0")
        .env("HWX_LOG_FILTER", "warn")
        .env("HWX_BIN", env!("CARGO_BIN_EXE_hwx"));
}

async fn drop_database(name: &str) {
    if let Ok(pool) = sqlx::PgPool::connect(&hwx_testkit::database_url()).await {
        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&pool)
        .await;
        pool.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_job_feed_examples_work_as_printed_from_another_folder() {
    let id = &uuid::Uuid::new_v4().simple().to_string()[..12];
    let name = format!("hwx_readme_{id}");
    let prefix = format!("t{id}");
    let base = hwx_testkit::database_url();
    let db = format!(
        "{}/{name}",
        &base[..base.rfind('/').expect("a database URL")]
    );
    let run = repo().join("scripts/run");
    let folder = Folder(std::env::temp_dir().join(format!("hwx-readme-{id}")));
    std::fs::create_dir_all(folder.path()).expect("a temporary folder");
    let in_repo_before = repo().join("postings.ndjson").exists();

    // `scripts/run` with no arguments: the demo data, then every service.
    let mut seed = Command::new(&run);
    seed.args(["demo", "seed"])
        .current_dir(folder.path())
        .stdout(Stdio::null());
    env(&mut seed, &db, &prefix);
    let seeded = seed.status().expect("scripts/run demo seed");
    assert!(seeded.success(), "scripts/run demo seed failed");
    // The Prometheus endpoint too (a port free a moment ago: the system only takes it).
    let metrics = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let mut serve = Command::new(&run);
    serve
        .env("HWX_METRICS_ADDR", metrics.to_string())
        .args(["serve", "all"])
        .current_dir(folder.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    env(&mut serve, &db, &prefix);
    let mut child = Serving(serve.spawn().expect("scripts/run serve all"));
    let stdout = child.0.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    // "registration gRPC on 127.0.0.1:PORT (…)", "job-feed gRPC on …", "gateway on http://…".
    let mut ports = std::collections::HashMap::new();
    let gateway = loop {
        let line = lines
            .next()
            .expect("serve all says where the gateway listens")
            .expect("stdout");
        if let Some(rest) = line.strip_prefix("gateway on http://") {
            break rest
                .split_whitespace()
                .next()
                .expect("an address")
                .to_owned();
        }
        if let Some((name, rest)) = line.split_once(" gRPC on ") {
            let addr = rest
                .split_whitespace()
                .next()
                .expect("an address")
                .to_owned();
            ports.insert(name.to_owned(), addr);
        }
    };
    let grpcurl = Command::new("grpcurl").arg("-version").output().is_ok();

    let readme = std::fs::read_to_string(repo().join("README.md")).expect("README.md");
    let blocks = sh_blocks(&readme);
    assert!(blocks.len() >= 6, "the README's examples were found");
    let script = blocks
        .into_iter()
        // Without grpcurl on this machine its block cannot run (scripts/deps installs it).
        .filter(|b| grpcurl || !b.trim_start().starts_with("grpcurl"))
        .collect::<Vec<_>>()
        .join("\n")
        .replace("localhost:8080", &gateway)
        .replace("localhost:50051", &ports["registration"])
        .replace("localhost:50052", &ports["job-feed"])
        .replace("localhost:50053", &ports["seeker-matching"])
        .replace("scripts/run", &run.display().to_string());
    if !grpcurl {
        eprintln!("grpcurl is not installed here: the README's grpcurl examples were left out");
    }
    let out = tokio::task::spawn_blocking({
        let dir = folder.path().to_owned();
        let (db, prefix) = (db.clone(), prefix.clone());
        move || {
            let mut cmd = Command::new("bash");
            cmd.args(["-e", "-c", &script]).current_dir(dir);
            env(&mut cmd, &db, &prefix);
            cmd.output().expect("bash")
        }
    })
    .await
    .expect("the examples ran");
    let scraped = hwx_testkit::http::request(metrics, "GET", "/metrics", None, None).await;
    drop(child);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    drop_database(&name).await;
    if let Ok(events) =
        hwx_platform::events::Events::connect(&hwx_testkit::nats_url(), &prefix).await
    {
        let _ = events.delete_stream().await;
    }

    assert!(
        out.status.success(),
        "the README's examples failed ({}):\n…{}\n{stderr}",
        out.status,
        tail(&stdout)
    );
    // Files land where the user stands, not in the repository.
    for file in [
        "postings.ndjson",
        "postings.csv",
        "key.json",
        "tokyo-office.csv",
    ] {
        assert!(
            folder.path().join(file).exists(),
            "{file} is in the current folder:\n…{}",
            tail(&stdout)
        );
    }
    assert_eq!(
        repo().join("postings.ndjson").exists(),
        in_repo_before,
        "nothing was written into the repository"
    );
    // Prometheus saw the requests the examples made, by route template, in seconds.
    let scraped = scraped.expect("GET /metrics");
    assert_eq!(scraped.status, 200);
    let text = String::from_utf8_lossy(&scraped.body);
    assert!(
        text.contains("# TYPE http_server_request_duration_seconds histogram"),
        "…{}",
        tail(&text)
    );
    assert!(
        text.contains("http_route=\"/v1/feed/postings\""),
        "…{}",
        tail(&text)
    );
    // What the README says the commands print.
    assert!(stdout.contains("\"stored\":1000"), "…{}", tail(&stdout));
    assert!(
        stdout.contains("1000 records: 1000 verified, 0 failed"),
        "…{}",
        tail(&stdout)
    );
}
