//! `hwx demo seekers`: believable consenting seekers, through the real ingest path (gRPC, as Hello
//! Work's system account), or into an NDJSON file for `POST /v1/seekers`.

use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

use hwx_platform::config::Config;
use hwx_proto::registration::v1::registration_service_client::RegistrationServiceClient;
use hwx_proto::seekermatching::v1 as sm;
use hwx_proto::seekermatching::v1::seeker_matching_service_client::SeekerMatchingServiceClient;
use hwx_seeker_matching::generate;

use crate::postings::Progress;

#[derive(Debug, Clone)]
pub struct Plan {
    pub count: u64,
    pub start: u64,
    pub revision: u32,
    /// NDJSON lines into this file (`-`: standard output) instead of the ingest.
    pub out: Option<String>,
}

pub fn run(plan: Plan) -> ExitCode {
    match crate::serve::tool_config() {
        Ok(cfg) => crate::serve::command("demo seekers", go(cfg, plan)),
        Err(code) => code,
    }
}

async fn go(cfg: Config, plan: Plan) -> Result<(), String> {
    // The service's day (`HWX_CLOCK`): no seeker is active after it.
    let today = hwx_platform::clock::parse(&cfg.clock)?
        .now_jst()
        .date_naive();
    let mut progress = Progress::new(plan.count);
    if let Some(path) = &plan.out {
        let out: Box<dyn Write> = if path == "-" {
            Box::new(std::io::stdout().lock())
        } else {
            Box::new(std::fs::File::create(path).map_err(|e| format!("{path}: {e}"))?)
        };
        let mut out = std::io::BufWriter::with_capacity(1 << 20, out);
        for i in 0..plan.count {
            let s = generate::seeker(plan.start, i, plan.revision, today);
            serde_json::to_writer(&mut out, &hwx_gateway::seekers::SeekerJson::from_proto(s))
                .map_err(|e| e.to_string())?;
            out.write_all(b"\n").map_err(|e| e.to_string())?;
            if i % 1000 == 999 {
                progress.update(i + 1);
            }
        }
        out.flush().map_err(|e| e.to_string())?;
        progress.update(plan.count);
        eprintln!(
            "{} seekers written ({:.0}/s)",
            plan.count,
            progress.rate(plan.count)
        );
        return Ok(());
    }
    let mut reg = RegistrationServiceClient::connect(cfg.url("registration"))
        .await
        .map_err(|e| format!("registration at {}: {e}", cfg.url("registration")))?;
    let token = crate::demo::login(&mut reg, crate::demo::UPSTREAM)
        .await
        .map_err(|e| format!("{e} (run `hwx demo seed` first)"))?;
    let url = cfg.url("seeker-matching");
    let mut client = SeekerMatchingServiceClient::connect(url.clone())
        .await
        .map_err(|e| format!("seeker matching at {url}: {e}"))?;
    let (tx, rx) = tokio::sync::mpsc::channel::<sm::IngestSeekersRequest>(1024);
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counter = sent.clone();
    let (count, start, revision) = (plan.count, plan.start, plan.revision);
    tokio::spawn(async move {
        for i in 0..count {
            let item = sm::IngestSeekersRequest {
                item: Some(sm::ingest_seekers_request::Item::Seeker(generate::seeker(
                    start, i, revision, today,
                ))),
            };
            if tx.send(item).await.is_err() {
                return;
            }
            counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
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
    let summary = client
        .ingest_seekers(crate::demo::authed(
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
        eprintln!("refused {} {}: {}", r.index, r.seeker_id, r.message);
    }
    println!(
        "{sent} sent: {} stored, {} unchanged, {} withdrawn, {} refused ({:.0}/s)",
        s.stored,
        s.unchanged,
        s.withdrawn,
        s.refused,
        sent as f64 / started.elapsed().as_secs_f64().max(1e-9)
    );
    Ok(())
}
