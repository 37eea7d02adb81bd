//! Bad input: each answered with a clear 4xx problem+json and nothing half-written; slow and
//! idle clients cannot hold the gateway.

use std::time::{Duration, Instant};

use hwx_gateway::server::HEADER_TIMEOUT;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{PASSWORD, Who, World, text};

fn assert_problem(r: &hwx_testkit::http::Response, status: u16, says: &str) {
    assert_eq!(r.status, status, "{}", text(r));
    assert_eq!(
        r.header("content-type"),
        Some("application/problem+json"),
        "{}",
        text(r)
    );
    let detail = r.json()["detail"].as_str().unwrap_or_default().to_owned();
    assert!(detail.contains(says), "{detail:?} should say {says:?}");
}

#[tokio::test]
async fn bad_bodies_are_refused_whole_and_change_nothing() {
    let w = World::start().await;
    let (_, org) = w.account(Who::OrgA).await;
    let (_, upstream) = w.account(Who::Upstream).await;
    let up = format!("Bearer {upstream}");
    let ndjson = |auth: &str| {
        vec![
            ("Authorization", auth.to_owned()),
            ("Content-Type", "application/x-ndjson".to_owned()),
        ]
    };
    let before = w.settled_digest().await;

    // Over the body limit (256 KiB): 413, before any of it is parsed.
    let mut big = super::organisation_body("13", 1);
    big["address"] = json!("東".repeat(100_000));
    let r = w
        .call("POST", "/v1/organisations", Some(&org), Some(big))
        .await;
    assert_problem(&r, 413, "");

    // JSON nested 100,000 deep: refused by the parser's depth limit, no stack overflow.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let r = w
        .raw(
            "POST",
            "/v1/accounts",
            &[("Content-Type", "application/json")],
            deep.as_bytes(),
        )
        .await;
    assert_problem(&r, 400, "malformed JSON body");
    let r = w
        .raw(
            "POST",
            "/v1/accounts",
            &[("Content-Type", "application/json")],
            format!(
                "{{\"email\":{}1{}}}",
                "{\"a\":".repeat(5000),
                "}".repeat(5000)
            )
            .as_bytes(),
        )
        .await;
    assert_problem(&r, 400, "malformed JSON body");

    // Invalid UTF-8 inside a JSON string.
    let mut bytes = br#"{"email":"x"#.to_vec();
    bytes.extend_from_slice(&[0xff, 0xfe, 0x80]);
    bytes.extend_from_slice(format!(r#"@example.jp","password":"{PASSWORD}"}}"#).as_bytes());
    let r = w
        .raw(
            "POST",
            "/v1/accounts",
            &[("Content-Type", "application/json")],
            &bytes,
        )
        .await;
    assert_problem(&r, 400, "malformed JSON body");

    // A NUL character, which no text column can hold (found by fuzzing: it was a 500).
    let r = w
        .call(
            "GET",
            "/v1/public/organisations?prefecture_code=%00",
            None,
            None,
        )
        .await;
    assert_problem(&r, 400, "NUL character");
    let r = w
        .call(
            "POST",
            "/v1/password-resets",
            None,
            Some(json!({"email": "someone\u{0}@example.jp"})),
        )
        .await;
    assert_problem(&r, 400, "NUL character");

    // One NDJSON line of 5 MB: refused when it passes the line limit, nothing stored.
    let headers = ndjson(&up);
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut line = br#"{"posting_number":"13010-00000001","job_description":""#.to_vec();
    line.extend(std::iter::repeat_n(b'a', 5 * 1024 * 1024));
    line.extend_from_slice(b"\"}\n");
    let r = w.raw("POST", "/v1/feed/postings", &headers, &line).await;
    assert_problem(&r, 400, "longer than 1048576 bytes");

    // A Shift_JIS file sent as UTF-8: named once, with the way out.
    let posting =
        hwx_job_feed::record::PostingJson::from(&hwx_job_feed::generate::posting(0, 1, 0));
    let utf8 = serde_json::to_string(&posting).unwrap();
    let (sjis, _, lossy) = encoding_rs::SHIFT_JIS.encode(&utf8);
    assert!(!lossy);
    let mut body = sjis.into_owned();
    body.push(b'\n');
    let sjis_line = body.clone();
    let r = w.raw("POST", "/v1/feed/postings", &headers, &body).await;
    assert_problem(&r, 400, "line 1: not UTF-8");

    // A body cut off mid-line by a client that gives up is not half a posting either: the same
    // line whole works.
    let r = w
        .raw(
            "POST",
            "/v1/feed/postings",
            &headers,
            &utf8.as_bytes()[..(0..=utf8.len() / 2)
                .rev()
                .find(|i| utf8.is_char_boundary(*i))
                .unwrap()],
        )
        .await;
    assert_eq!(r.status, 200, "{}", text(&r));
    assert_eq!(r.json()["stored"], 0, "{}", r.json());
    assert_eq!(r.json()["refused"], 1, "{}", r.json());

    assert_eq!(w.digest().await, before, "a refused body wrote something");

    // One stray line in another encoding, among good ones, is that line's refusal only.
    let good = |i: u64| {
        let p = hwx_job_feed::record::PostingJson::from(&hwx_job_feed::generate::posting(0, i, 0));
        let mut line = serde_json::to_vec(&p).unwrap();
        line.push(b'\n');
        line
    };
    let mut mixed = good(2);
    mixed.extend_from_slice(&sjis_line);
    mixed.extend_from_slice(&good(3));
    let r = w.raw("POST", "/v1/feed/postings", &headers, &mixed).await;
    assert_eq!(r.status, 200, "{}", text(&r));
    assert_eq!(
        (r.json()["stored"].as_i64(), r.json()["refused"].as_i64()),
        (Some(2), Some(1)),
        "{}",
        r.json()
    );
    w.stop().await;
}

/// Read until the server closes; how long that took (`None`: still open at `limit`).
async fn closed_within(s: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(limit.saturating_sub(start.elapsed()), s.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(start.elapsed()),
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test]
async fn slow_and_idle_clients_are_dropped_and_others_still_served() {
    let w = World::start().await;
    // 300 connections that never send a byte, and one that sends its head a byte a second.
    let mut idle = Vec::new();
    for _ in 0..300 {
        idle.push(TcpStream::connect(w.gateway).await.unwrap());
    }
    let mut slow = TcpStream::connect(w.gateway).await.unwrap();
    let started = Instant::now();
    let head =
        b"GET /v1/rules HTTP/1.1\r\nHost: hwx\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let dribble = tokio::spawn(async move {
        for b in head {
            if slow.write_all(&[*b]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        slow
    });
    // Meanwhile everyone else is answered at once.
    for _ in 0..20 {
        let t = Instant::now();
        let r = w.call("GET", "/v1/rules/E1", None, None).await;
        assert_eq!(r.status, 200);
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    }
    let mut slow = dribble.await.unwrap();
    // The dribbler was cut off at the header timeout, long before its head was complete.
    let cut = closed_within(&mut slow, Duration::from_secs(2)).await;
    let at = started.elapsed();
    assert!(
        cut.is_some() && at < HEADER_TIMEOUT + Duration::from_secs(5),
        "a client sending its head a byte a second was still connected after {at:?}"
    );
    assert!(at >= HEADER_TIMEOUT - Duration::from_secs(1), "{at:?}");
    // The idle connections were closed too.
    for s in &mut idle {
        assert!(
            closed_within(s, Duration::from_secs(5)).await.is_some(),
            "an idle connection was kept past the header timeout"
        );
    }
    w.stop().await;
}
