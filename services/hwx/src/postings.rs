//! `hwx demo postings`: believable postings, through the real ingest path (gRPC, as Hello Work's
//! system account), straight into the store for bulk loads, or into an NDJSON file for
//! `POST /v1/feed/postings`.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Instant;

use hwx_job_feed::generate;
use hwx_platform::config::Config;
use hwx_platform::db::Database;
use hwx_posting::record::PostingJson;
use hwx_proto::jobfeed::v1 as jf;
use hwx_proto::jobfeed::v1::job_feed_service_client::JobFeedServiceClient;
use hwx_proto::registration::v1::registration_service_client::RegistrationServiceClient;

/// Where the postings go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sink {
    /// The job feed's IngestPostings, optionally as a full snapshot.
    Ingest { snapshot: Option<String> },
    /// COPY into the store (new postings only).
    Bulk,
    /// NDJSON lines, `-` for standard output.
    File(String),
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub count: u64,
    pub start: u64,
    pub revision: u32,
    pub sink: Sink,
}

/// A progress bar on standard error: redrawn in place on a terminal, a line per tenth otherwise.
#[derive(Debug)]
pub struct Progress {
    total: u64,
    started: Instant,
    last: Instant,
    tty: bool,
    tenth: u64,
}

impl Progress {
    pub fn new(total: u64) -> Self {
        Progress {
            total,
            started: Instant::now(),
            last: Instant::now(),
            tty: std::io::stderr().is_terminal(),
            tenth: 0,
        }
    }

    pub fn update(&mut self, done: u64) {
        let finished = done >= self.total;
        if self.tty {
            if !finished && self.last.elapsed().as_millis() < 100 {
                return;
            }
            self.last = Instant::now();
            let width = 30;
            let filled = (done * width / self.total.max(1)) as usize;
            let rate = done as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
            let eta = (self.total - done.min(self.total)) as f64 / rate.max(1.0);
            eprint!(
                "\r[{}{}] {done}/{} {rate:.0}/s ETA {eta:.0} s   ",
                "#".repeat(filled),
                "-".repeat(width as usize - filled),
                self.total
            );
            if finished {
                eprintln!();
            }
        } else {
            let tenth = done * 10 / self.total.max(1);
            if tenth > self.tenth || finished {
                self.tenth = tenth;
                eprintln!("{done}/{} postings", self.total);
            }
        }
    }

    pub fn rate(&self, done: u64) -> f64 {
        done as f64 / self.started.elapsed().as_secs_f64().max(1e-9)
    }
}

pub fn run(plan: Plan) -> ExitCode {
    match crate::serve::tool_config() {
        Ok(cfg) => crate::serve::command("demo postings", go(cfg, plan)),
        Err(code) => code,
    }
}

async fn go(cfg: Config, plan: Plan) -> Result<(), String> {
    let mut progress = Progress::new(plan.count);
    match &plan.sink {
        Sink::File(path) => {
            let out: Box<dyn Write> = if path == "-" {
                Box::new(std::io::stdout().lock())
            } else {
                Box::new(std::fs::File::create(path).map_err(|e| format!("{path}: {e}"))?)
            };
            let mut out = std::io::BufWriter::with_capacity(1 << 20, out);
            for i in 0..plan.count {
                let p = generate::posting(plan.start, i, plan.revision);
                serde_json::to_writer(&mut out, &PostingJson::from(&p))
                    .map_err(|e| e.to_string())?;
                out.write_all(b"\n").map_err(|e| e.to_string())?;
                if i % 1000 == 999 {
                    progress.update(i + 1);
                }
            }
            out.flush().map_err(|e| e.to_string())?;
            progress.update(plan.count);
            eprintln!(
                "{} postings written ({:.0}/s)",
                plan.count,
                progress.rate(plan.count)
            );
        }
        Sink::Bulk => {
            let url = cfg.database_url.expose();
            hwx_platform::db::ensure_database(url)
                .await
                .map_err(|e| e.to_string())?;
            let schema = hwx_job_feed::SERVICE.schema().unwrap_or_default();
            let db = Database::open(url, &schema, 4, hwx_job_feed::MIGRATIONS)
                .await
                .map_err(|e| e.to_string())?;
            let signer = hwx_job_feed::signing::Signer::load(&db, cfg.signing_key.expose()).await?;
            let loaded = hwx_job_feed::bulk::load_generated(
                &db,
                &signer,
                plan.start,
                plan.count,
                plan.revision,
                chrono::Utc::now(),
                |n| progress.update(n),
            )
            .await
            .map_err(|e| e.to_string())?;
            eprintln!(
                "{} new postings stored, {} already there (skipped), {} refused ({:.0}/s)",
                loaded.inserted,
                loaded.skipped,
                loaded.refused,
                progress.rate(plan.count)
            );
        }
        Sink::Ingest { snapshot } => {
            let mut reg = RegistrationServiceClient::connect(cfg.url("registration"))
                .await
                .map_err(|e| format!("registration at {}: {e}", cfg.url("registration")))?;
            let token = crate::demo::login(&mut reg, crate::demo::UPSTREAM)
                .await
                .map_err(|e| format!("{e} (run `hwx demo seed` first)"))?;
            let mut feed = JobFeedServiceClient::connect(cfg.url("job-feed"))
                .await
                .map_err(|e| format!("job feed at {}: {e}", cfg.url("job-feed")))?;
            let (tx, rx) = tokio::sync::mpsc::channel::<jf::IngestRequest>(1024);
            let count = plan.count;
            let (start, revision) = (plan.start, plan.revision);
            let snapshot = snapshot.clone();
            let sent = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
            let counter = sent.clone();
            tokio::spawn(async move {
                let full = snapshot.is_some();
                if let Some(id) = snapshot {
                    let _ = tx
                        .send(jf::IngestRequest {
                            item: Some(jf::ingest_request::Item::SnapshotStart(
                                jf::SnapshotStart { snapshot_id: id },
                            )),
                        })
                        .await;
                }
                for i in 0..count {
                    let p = generate::posting(start, i, revision);
                    let item = jf::IngestRequest {
                        item: Some(jf::ingest_request::Item::Posting(p)),
                    };
                    if tx.send(item).await.is_err() {
                        return;
                    }
                    counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                if full {
                    // Only a snapshot that says it is complete withdraws what it lacks.
                    let _ = tx
                        .send(jf::IngestRequest {
                            item: Some(jf::ingest_request::Item::SnapshotEnd(jf::SnapshotEnd {
                                count: count as i64,
                            })),
                        })
                        .await;
                }
            });
            let counter = sent.clone();
            let ticker = tokio::spawn(async move {
                loop {
                    progress.update(counter.load(std::sync::atomic::Ordering::Relaxed));
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
            });
            let started = Instant::now();
            let summary = feed
                .ingest_postings(crate::demo::authed(
                    &token,
                    tokio_stream::wrappers::ReceiverStream::new(rx),
                ))
                .await;
            ticker.abort();
            let sent = sent.load(std::sync::atomic::Ordering::Relaxed);
            let s = summary
                .map_err(|e| format!("ingest: {}", e.message()))?
                .into_inner();
            eprintln!();
            for r in s.results.iter().filter(|r| r.outcome == "refused").take(10) {
                eprintln!("refused {} {}: {}", r.index, r.posting_number, r.message);
            }
            println!(
                "{sent} sent: {} stored, {} unchanged, {} withdrawn, {} refused; cursor {} ({:.0}/s)",
                s.stored,
                s.unchanged,
                s.withdrawn,
                s.refused,
                s.cursor,
                sent as f64 / started.elapsed().as_secs_f64().max(1e-9)
            );
        }
    }
    Ok(())
}
