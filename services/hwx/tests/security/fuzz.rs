//! Schema-driven fuzzing of the HTTP API with schemathesis, against `/openapi.json`, once per
//! role: no generated request may get a 5xx, and every answer must be one the description
//! documents (status, content type, schema).
//!
//! Each role gets schemathesis' coverage phase (every schema's boundaries and kinds of wrong
//! value) and `HWX_FUZZ_EXAMPLES` random cases per operation (default 3: about 7,000 requests in
//! all, a minute); `HWX_FUZZ_EXAMPLES=100` is the long run. schemathesis comes from PyPI
//! (`scripts/deps` installs it); without it this test says so and passes, unless
//! `HWX_REQUIRE_SCHEMATHESIS=1` (as `scripts/test` sets) makes that a failure.

use std::path::PathBuf;
use std::process::Command;

use super::{Who, World};

/// Operations not fuzzed, each for its reason; the matrix and their own tests call them.
/// - Ending the run's own session (`/v1/sessions` DELETE, `/v1/account/sessions`), or locking
///   its account: a wrong current password in a change counts as a failed login (A1), so a
///   fuzzed `/v1/account/password` locks the caller out after five.
/// - Switching the gateway for everyone (maintenance, rate limits).
/// - The live stream, which never ends by design, and NDJSON ingest, which schemathesis cannot
///   write (no serializer for application/x-ndjson).
const NOT_FUZZED: &[&str] = &[
    "DELETE /v1/sessions",
    "DELETE /v1/account/sessions",
    "PUT /v1/account/password",
    "PUT /v1/ops/maintenance",
    "PUT /v1/ops/rate-limits",
    "DELETE /v1/ops/rate-limits",
    "GET /v1/feed/changes/stream",
    "POST /v1/feed/postings",
    "POST /v1/seekers",
];

fn schemathesis() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("HWX_SCHEMATHESIS") {
        return Some(PathBuf::from(p));
    }
    let found = Command::new("st").arg("--version").output().ok()?;
    found.status.success().then(|| PathBuf::from("st"))
}

// Several threads, as the services have in production: one would queue every request behind a
// snapshot export.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_error_and_no_undocumented_answer() {
    let Some(st) = schemathesis() else {
        assert!(
            std::env::var("HWX_REQUIRE_SCHEMATHESIS").as_deref() != Ok("1"),
            "schemathesis (PyPI) is required here: pip install schemathesis, or run scripts/deps"
        );
        eprintln!("schemathesis not found: the API fuzzing is skipped (pip install schemathesis)");
        return;
    };
    let examples: u32 = std::env::var("HWX_FUZZ_EXAMPLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let w = World::start().await;
    // A caller of each role; the organisation one enrolled, so the feed answers it.
    let mut callers: Vec<(&str, Option<String>)> = vec![("anonymous", None)];
    let (_, bureau) = w.account(Who::BureauA).await;
    let (_, org, _) = w.enrolled("13", &bureau).await;
    callers.push(("org", Some(org)));
    callers.push(("bureau", Some(bureau)));
    for (name, who) in [
        ("seeker", Who::Seeker),
        ("mhlw", Who::Mhlw),
        ("ops", Who::Ops),
        ("upstream", Who::Upstream),
    ] {
        callers.push((name, Some(w.account(who).await.1)));
    }
    let url = format!("http://{}/openapi.json", w.gateway);
    let scratch = std::env::temp_dir().join(format!("hwx-fuzz-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&scratch).unwrap();
    let mut failures_seen = Vec::new();
    let mut requests = 0usize;
    for (name, token) in callers {
        let mut cmd = Command::new(&st);
        // Its example database (`.schemathesis/`) goes to a scratch folder, not the checkout.
        cmd.current_dir(&scratch)
            .args(["run", &url])
            .args([
                "--checks",
                "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
            ])
            .args(["--max-examples", &examples.to_string()])
            .args(["--seed", "20261201", "--workers", "1", "--no-shrink"])
            // Coverage: each schema's boundaries and each kind of wrong value, systematically;
            // then random cases.
            .args(["--phases", "examples,coverage,fuzzing"])
            .args(["--suppress-health-check", "all"])
            .args(["--request-timeout", "30"])
            ;
        for name in NOT_FUZZED {
            cmd.args(["--exclude-name", name]);
        }
        if let Some(t) = &token {
            cmd.args(["-H", &format!("Authorization: Bearer {t}")]);
        }
        // The CLI is synchronous; the servers run on this runtime's other threads meanwhile.
        let out = tokio::task::spawn_blocking(move || cmd.output())
            .await
            .unwrap()
            .expect("schemathesis runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        // "1264 generated, 1264 passed": the cases sent, each one request.
        let sent = stdout
            .lines()
            .find_map(|l| l.trim().split_once(" generated, ")?.0.parse::<usize>().ok())
            .unwrap_or(0);
        eprintln!("schemathesis as {name}: {sent} cases");
        requests += sent;
        if !out.status.success() {
            // What failed, with schemathesis' own reproduction (`curl …`), not its warnings.
            let failures: String = stdout
                .split_once("= FAILURES =")
                .or_else(|| stdout.split_once("= ERRORS ="))
                .map_or(&stdout[..], |(_, rest)| rest)
                .split("= WARNINGS =")
                .next()
                .unwrap_or_default()
                .lines()
                .take(150)
                .collect::<Vec<_>>()
                .join("\n");
            failures_seen.push(format!(
                "as {name}: schemathesis exited {:?}\n{failures}\n{}",
                out.status.code(),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    w.stop().await;
    let _ = std::fs::remove_dir_all(&scratch);
    eprintln!(
        "schemathesis: {requests} requests over 7 roles, {examples} random cases per operation and role"
    );
    assert!(failures_seen.is_empty(), "{}", failures_seen.join("\n\n"));
    assert!(requests > 0, "schemathesis sent nothing");
}
