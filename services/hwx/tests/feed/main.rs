//! The job feed as its users meet it: Hello Work's system posting NDJSON to the gateway, an
//! organisation approved over HTTP downloading CSV (UTF-8 and Shift_JIS) and NDJSON snapshots,
//! checking them offline with `hwx feed verify`, and being cut off when suspended. Real servers in
//! this process (registration, job feed, gateway), the real binary for `verify`.

#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed, and says where

use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use hwx_job_feed::record::PostingJson;
use hwx_platform::clock::ManualClock;
use hwx_platform::db::Database;
use hwx_proto::common::v1 as common;
use hwx_proto::events::v1 as ev;
use hwx_testkit::http::{Response, request, request_raw};
use prost::Message;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PASSWORD: &str = "a long enough password";

struct Stack {
    stack: hwx_testkit::Stack,
    reg_db: Database,
    gateway: SocketAddr,
}

impl Stack {
    async fn start() -> Stack {
        let clock = Arc::new(ManualClock::new(
            DateTime::parse_from_rfc3339("2026-11-27T10:00:00+09:00")
                .unwrap()
                .with_timezone(&Utc),
        ));
        let stack = hwx_testkit::Stack::with(hwx::registry::SERVICES)
            .clock(clock)
            .configure(|c| {
                c.rate_limit_per_second = 1000;
                c.rate_limit_burst = 1000;
            })
            .start()
            .await;
        Stack {
            reg_db: stack.db("registration"),
            gateway: stack.addr("gateway"),
            stack,
        }
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> Response {
        request(self.gateway, method, path, token, body.as_ref())
            .await
            .unwrap()
    }

    async fn get(&self, path: &str, token: &str, extra: &[(&str, &str)]) -> Response {
        let auth = format!("Bearer {token}");
        let mut headers = vec![("Authorization", auth.as_str())];
        headers.extend_from_slice(extra);
        request_raw(self.gateway, "GET", path, &headers, b"")
            .await
            .unwrap()
    }

    async fn login(&self, email: &str) -> String {
        let r = self
            .call(
                "POST",
                "/v1/sessions",
                None,
                Some(json!({"email": email, "password": PASSWORD})),
            )
            .await;
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
        r.json()["token"].as_str().unwrap().to_owned()
    }

    async fn staff(&self, email: &str, role: &str, bureau: Option<&str>) -> String {
        let hash = hwx_registration::auth::hash_password(PASSWORD.into())
            .await
            .unwrap();
        sqlx::query("INSERT INTO accounts (id, email, password_hash, role, bureau_code) VALUES (gen_random_uuid(), $1, $2, $3, $4)")
            .bind(email)
            .bind(hash)
            .bind(role)
            .bind(bureau)
            .execute(self.reg_db.pool())
            .await
            .unwrap();
        self.login(email).await
    }

    /// An organisation signed up, applied for S-JOB and approved, all over HTTP; returns once the
    /// feed serves it.
    async fn approved(&self, email: &str) -> (String, String) {
        hwx_testkit::mailbox::sign_up(self.gateway, &self.reg_db, email, PASSWORD, "org").await;
        let token = self.login(email).await;
        let person = |n: &str| json!({"name": n, "contact": "03-1234-5678", "full_time": true});
        let body = json!({
            "name": "株式会社ハローキャリア", "kind": "K1", "licence_number": "13-ユ-304050",
            "licence_expiry": "2029-03-31", "address": "東京都千代田区丸の内1-1-1", "prefecture_code": "13",
            "contact_person": person("山田太郎"), "pi_manager": person("佐藤花子"),
        });
        let r = self
            .call("POST", "/v1/organisations", Some(&token), Some(body))
            .await;
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
        let org = r.json()["id"].as_str().unwrap().to_owned();
        let r = self
            .call(
                "POST",
                "/v1/applications",
                Some(&token),
                Some(json!({"organisation_id": org, "service": "job"})),
            )
            .await;
        let app = r.json()["id"].as_str().unwrap().to_owned();
        let officer = self
            .staff("officer@tokyo.example.go.jp", "bureau", Some("13"))
            .await;
        for (path, body) in [
            (format!("/v1/applications/{app}/submission"), None),
            (
                format!("/v1/applications/{app}/decision"),
                Some(json!({"approve": true, "note": "確認済み"})),
            ),
        ] {
            let r = self.call("POST", &path, Some(&officer), body).await;
            assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        }
        for _ in 0..400 {
            if self
                .get("/v1/feed/changes?limit=1", &token, &[])
                .await
                .status
                == 200
            {
                return (token, org);
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the approval never reached the feed");
    }

    async fn stop(self) {
        // Stopping waits for every server, so no session is left in the schemas being dropped.
        self.stack.stop().await;
    }
}

fn ndjson(lines: &[String]) -> Vec<u8> {
    let mut b = lines.join("\n").into_bytes();
    b.push(b'\n');
    b
}

fn posting_line(i: u64) -> String {
    serde_json::to_string(&PostingJson::from(&hwx_job_feed::generate::posting(
        0, i, 0,
    )))
    .unwrap()
}

fn verify(file: &std::path::Path, key: &std::path::Path) -> (i32, String) {
    verify_with(file, key, &[])
}

fn verify_with(file: &std::path::Path, key: &std::path::Path, extra: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_hwx"))
        .args(["feed", "verify"])
        .arg(file)
        .arg("--key")
        .arg(key)
        .args(extra)
        .output()
        .unwrap();
    // What it printed and what it complained of, together.
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[tokio::test]
async fn j5_j6_j7_feed_over_http_from_ndjson_ingest_to_a_verified_download() {
    let s = Stack::start().await;
    let upstream = s
        .staff("upstream@hellowork.example", "upstream", None)
        .await;
    let (org, _) = s.approved("reader@hello-career.example.jp").await;

    // Ingest: 30 good lines, one missing J7 items, one that is no JSON posting.
    let mut lines: Vec<String> = (0..30).map(posting_line).collect();
    let mut missing: serde_json::Value = serde_json::from_str(&posting_line(30)).unwrap();
    missing["passive_smoking_measures"] = json!("");
    missing.as_object_mut().unwrap().remove("dispatch");
    lines.push(missing.to_string());
    lines.push("{\"posting_number\": 12}".into());
    let auth = format!("Bearer {upstream}");
    let r = request_raw(
        s.gateway,
        "POST",
        "/v1/feed/postings",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/x-ndjson"),
        ],
        &ndjson(&lines),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let sum = r.json();
    assert_eq!(
        (sum["stored"].as_i64(), sum["refused"].as_i64()),
        (Some(30), Some(2))
    );
    let results = sum["results"].as_array().unwrap();
    assert_eq!(results[0]["line"], 31);
    assert_eq!(results[0]["rule"], "J7");
    assert_eq!(
        results[0]["missing_items"],
        json!(["dispatch", "passive_smoking_measures"])
    );
    assert_eq!(results[1]["line"], 32);
    // The body's own line and the column, not serde's "line 1".
    let message = results[1]["message"].as_str().unwrap();
    assert!(message.starts_with("line 32, column "), "{message}");
    assert!(!message.contains("at line 1"), "{message}");
    // An empty body says so, rather than "stored 0".
    let r = request_raw(
        s.gateway,
        "POST",
        "/v1/feed/postings",
        &[("Authorization", &auth)],
        b"",
    )
    .await
    .unwrap();
    assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&r.body));
    assert!(r.json()["detail"].as_str().unwrap().contains("no postings"));
    // The wage nested and flat at once is refused; without a word on consent too.
    let mut both: serde_json::Value = serde_json::from_str(&posting_line(40)).unwrap();
    both["wage"] = json!({"type": "月給", "min_yen": 200000, "max_yen": 250000});
    let mut silent: serde_json::Value = serde_json::from_str(&posting_line(41)).unwrap();
    silent.as_object_mut().unwrap().remove("employer_consents");
    let r = request_raw(
        s.gateway,
        "POST",
        "/v1/feed/postings",
        &[("Authorization", &auth)],
        &ndjson(&[both.to_string(), silent.to_string()]),
    )
    .await
    .unwrap();
    let sum = r.json();
    assert_eq!(sum["refused"], 2, "{sum}");
    assert!(
        sum["results"][0]["message"]
            .as_str()
            .unwrap()
            .contains("both nested")
    );
    assert!(
        sum["results"][1]["message"]
            .as_str()
            .unwrap()
            .contains("employer_consents")
    );
    // A snapshot body with a malformed line is abandoned: nothing withdrawn.
    let r = request_raw(
        s.gateway,
        "POST",
        "/v1/feed/postings?snapshot_id=2026-11-28",
        &[("Authorization", &auth)],
        &ndjson(&[posting_line(0), "not json".into()]),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&r.body));
    assert!(r.json()["detail"].as_str().unwrap().contains("line 2"));
    // A snapshot body shorter than the count its sender announced withdraws nothing either.
    let r = request_raw(
        s.gateway,
        "POST",
        "/v1/feed/postings?snapshot_id=2026-11-28&count=31",
        &[("Authorization", &auth)],
        &ndjson(&lines[..30]),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&r.body));
    assert!(
        r.json()["detail"]
            .as_str()
            .unwrap()
            .contains("nothing was withdrawn")
    );
    // An organisation cannot ingest.
    let r = request_raw(
        s.gateway,
        "POST",
        "/v1/feed/postings",
        &[("Authorization", &format!("Bearer {org}"))],
        &ndjson(&lines[..1]),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 403);

    // Snapshots: CSV in UTF-8, CSV in Shift_JIS, NDJSON; the same cursor, an ETag.
    let csv = s.get("/v1/feed/snapshot", &org, &[]).await;
    assert_eq!(csv.status, 200);
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    let cursor = csv.header("x-feed-cursor").unwrap().to_owned();
    assert_eq!(csv.header("x-record-count"), Some("30"));
    let etag = csv.header("etag").unwrap().to_owned();
    let text = String::from_utf8(csv.body.clone()).unwrap();
    assert_eq!(text.matches("\r\n").count(), 31, "header and 30 rows");
    let header = text.lines().next().unwrap();
    for item in hwx_rules::posting::J7Item::ALL {
        let column = match item.field() {
            "wages" => "wage_min_yen",
            f => f,
        };
        assert!(header.split(',').any(|c| c == column), "J7 {column} in CSV");
    }
    assert!(text.contains("ハローワーク"), "J4 attribution in every row");
    let not_modified = s
        .get("/v1/feed/snapshot", &org, &[("If-None-Match", &etag)])
        .await;
    assert_eq!(not_modified.status, 304);
    // Answered from the snapshot's version alone: nothing counted, no count to give.
    assert_eq!(not_modified.header("x-record-count"), None);
    assert!(not_modified.body.is_empty());
    // The strong form of the same tag matches too (If-None-Match compares weakly).
    let strong = etag.trim_start_matches("W/").to_owned();
    let again = s
        .get("/v1/feed/snapshot", &org, &[("If-None-Match", &strong)])
        .await;
    assert_eq!(again.status, 304);
    // Another query's download is another file: the tag does not match it.
    let other = s
        .get(
            "/v1/feed/snapshot?format=ndjson",
            &org,
            &[("If-None-Match", &etag)],
        )
        .await;
    assert_eq!(other.status, 200);
    assert_eq!(other.header("x-record-count"), Some("30"));
    let sjis = s
        .get("/v1/feed/snapshot?encoding=shift_jis", &org, &[])
        .await;
    assert_eq!(
        sjis.header("content-type"),
        Some("text/csv; charset=Shift_JIS")
    );
    assert!(std::str::from_utf8(&sjis.body).is_err(), "really Shift_JIS");
    let nd = s.get("/v1/feed/snapshot?format=ndjson", &org, &[]).await;
    let nd_text = String::from_utf8(nd.body.clone()).unwrap();
    let last: serde_json::Value = serde_json::from_str(nd_text.lines().last().unwrap()).unwrap();
    assert_eq!(last["cursor"], json!(cursor));
    assert_eq!(last["records"], 30);
    // A filter narrows rows, never columns.
    let tokyo = s
        .get("/v1/feed/snapshot?prefecture=13&format=ndjson", &org, &[])
        .await;
    let tokyo_rows: Vec<serde_json::Value> = String::from_utf8(tokyo.body)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|v: &serde_json::Value| v.get("content").is_some())
        .collect();
    assert!(!tokyo_rows.is_empty() && tokyo_rows.len() < 30);
    assert!(
        tokyo_rows
            .iter()
            .all(|v| v["content"]["prefecture_code"] == "13"
                && v["content"]["passive_smoking_measures"].as_str().is_some())
    );

    // Offline verification with the public key the gateway serves (no login needed).
    let key = request(s.gateway, "GET", "/v1/feed/signing-key", None, None)
        .await
        .unwrap();
    assert_eq!(key.status, 200);
    let dir = std::env::temp_dir().join(format!("hwx-feed-{}", s.stack.env.id));
    std::fs::create_dir_all(&dir).unwrap();
    let key_file = dir.join("key.json");
    std::fs::write(&key_file, &key.body).unwrap();
    for (name, body) in [
        ("snapshot.csv", &csv.body),
        ("snapshot-sjis.csv", &sjis.body),
        ("snapshot.ndjson", &nd.body),
    ] {
        let f = dir.join(name);
        std::fs::write(&f, body).unwrap();
        let (code, out) = verify(&f, &key_file);
        assert_eq!(code, 0, "{name}: {out}");
        assert!(out.contains("30 records: 30 verified, 0 failed"), "{out}");
    }
    // A CSV cut short: at a line break only the expected count tells; inside a record, always.
    let cut_at_row = &text[..text.trim_end().rfind("\r\n").unwrap() + 2];
    let f = dir.join("cut-at-row.csv");
    std::fs::write(&f, cut_at_row).unwrap();
    let (code, out) = verify_with(&f, &key_file, &["--expect-count", "30"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("looks truncated"), "{out}");
    let headers = dir.join("headers.txt");
    std::fs::write(&headers, "HTTP/1.1 200 OK\r\nX-Record-Count: 30\r\n\r\n").unwrap();
    let (code, out) = verify_with(
        &dir.join("snapshot.csv"),
        &key_file,
        &["--headers", headers.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{out}");
    let f = dir.join("cut-in-row.csv");
    std::fs::write(&f, &csv.body[..csv.body.len() - 40]).unwrap();
    let (code, out) = verify(&f, &key_file);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("truncated"), "{out}");
    // One character changed in one record: that record fails, by name.
    let tampered = text.replacen("業務全般", "業務全部", 1);
    let f = dir.join("tampered.csv");
    std::fs::write(&f, tampered).unwrap();
    let (code, out) = verify(&f, &key_file);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("1 failed") && out.contains("does not match its hash"),
        "{out}"
    );
    // A signature from another key fails too.
    let other = dir.join("other.key");
    std::fs::write(&other, hex::encode([9u8; 32])).unwrap();
    let (code, _) = verify(&dir.join("snapshot.ndjson"), &other);
    assert_eq!(code, 1);
    // A record removed from an NDJSON snapshot, or its attribution edited, fails too.
    let nd_lines: Vec<&str> = nd_text.lines().collect();
    let mut fewer = nd_lines.clone();
    fewer.remove(4);
    let f = dir.join("fewer.ndjson");
    std::fs::write(&f, fewer.join("\n")).unwrap();
    let (code, out) = verify(&f, &key_file);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("held 30 records but the file has 29"), "{out}");
    let f = dir.join("attribution.ndjson");
    std::fs::write(&f, nd_text.replacen("ハローワーク（", "職業紹介所（", 1)).unwrap();
    let (code, out) = verify(&f, &key_file);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("J4 attribution"), "{out}");
    // A download cut short between records has no closing line: incomplete.
    let f = dir.join("cut.ndjson");
    std::fs::write(&f, nd_lines[..10].join("\n")).unwrap();
    let (code, out) = verify(&f, &key_file);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("incomplete"), "{out}");
    std::fs::remove_dir_all(&dir).unwrap();

    // A record downloaded from the feed goes back to ingest as it is: the same content, unchanged.
    let r = request_raw(
        s.gateway,
        "POST",
        "/v1/feed/postings",
        &[("Authorization", &auth)],
        &ndjson(&[nd_lines[0].to_owned()]),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        (r.json()["unchanged"].as_i64(), r.json()["refused"].as_i64()),
        (Some(1), Some(0)),
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    // A whole downloaded snapshot sent back as a full snapshot: its closing line is no record
    // and gives the count; nothing changes.
    let r = request_raw(
        s.gateway,
        "POST",
        "/v1/feed/postings?snapshot_id=2026-11-29",
        &[("Authorization", &auth)],
        nd_text.as_bytes(),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        (
            r.json()["unchanged"].as_i64(),
            r.json()["withdrawn"].as_i64()
        ),
        (Some(30), Some(0))
    );
    // The same download cut short (no closing line) withdraws nothing.
    let r = request_raw(
        s.gateway,
        "POST",
        "/v1/feed/postings?snapshot_id=2026-11-29",
        &[("Authorization", &auth)],
        &ndjson(
            &nd_lines[..10]
                .iter()
                .map(|l| (*l).to_owned())
                .collect::<Vec<_>>(),
        ),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&r.body));
    assert!(
        r.json()["detail"].as_str().unwrap().contains("cut short"),
        "{}",
        String::from_utf8_lossy(&r.body)
    );

    // A J8 addition changes what this organisation downloads: a new ETag.
    let number = hwx_job_feed::generate::posting_number(0, 5);
    let r = s
        .call(
            "PUT",
            &format!("/v1/feed/postings/{number}/addition"),
            Some(&org),
            Some(json!({"text": "面接対策あり", "employer_consented": true})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let again = s
        .get("/v1/feed/snapshot", &org, &[("If-None-Match", &etag)])
        .await;
    assert_eq!(again.status, 200);
    let etag = again.header("etag").unwrap().to_owned();
    // Its text changed, same count: a new ETag again.
    s.call(
        "PUT",
        &format!("/v1/feed/postings/{number}/addition"),
        Some(&org),
        Some(json!({"text": "面接対策と履歴書添削あり", "employer_consented": true})),
    )
    .await;
    let edited = s
        .get("/v1/feed/snapshot", &org, &[("If-None-Match", &etag)])
        .await;
    assert_eq!(edited.status, 200);
    let etag = edited.header("etag").unwrap().to_owned();
    // The live stream refuses a future cursor too.
    let r = s
        .get("/v1/feed/changes/stream?cursor=999999", &org, &[])
        .await;
    assert_eq!(r.status, 400);
    // A cursor from the future is refused: start from a snapshot.
    let r = s.get("/v1/feed/changes?cursor=999999", &org, &[]).await;
    assert_eq!(r.status, 400);

    // The change feed continues exactly from the snapshot's cursor.
    let mut closed: serde_json::Value = serde_json::from_str(&posting_line(3)).unwrap();
    closed["closed"] = json!(true);
    let r = request_raw(
        s.gateway,
        "POST",
        "/v1/feed/postings",
        &[("Authorization", &auth)],
        &ndjson(&[closed.to_string()]),
    )
    .await
    .unwrap();
    assert_eq!(r.json()["withdrawn"], 1);
    let page = s
        .get(&format!("/v1/feed/changes?cursor={cursor}"), &org, &[])
        .await
        .json();
    assert_eq!(page["changes"].as_array().unwrap().len(), 1);
    assert_eq!(
        page["changes"][0]["tombstone"],
        json!(hwx_job_feed::generate::posting_number(0, 3))
    );
    let moved = s
        .get("/v1/feed/snapshot", &org, &[("If-None-Match", &etag)])
        .await;
    assert_eq!(moved.status, 200, "a new ETag once the feed moved");
    let same = s
        .get(
            "/v1/feed/snapshot",
            &org,
            &[("If-None-Match", moved.header("etag").unwrap())],
        )
        .await;
    assert_eq!(same.status, 304);
    s.stop().await;
}

#[tokio::test]
async fn sn1_a_suspended_organisation_gets_403_naming_the_rule() {
    let s = Stack::start().await;
    let (org, org_id) = s.approved("suspended@hello-career.example.jp").await;
    let upstream = s
        .staff("upstream@hellowork.example", "upstream", None)
        .await;
    let r = request_raw(
        s.gateway,
        "POST",
        "/v1/feed/postings",
        &[("Authorization", &format!("Bearer {upstream}"))],
        &ndjson(&[posting_line(1)]),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200);
    // A live stream over HTTP, open before the suspension.
    let mut live = tokio::net::TcpStream::connect(s.gateway).await.unwrap();
    live.write_all(
        format!(
            "GET /v1/feed/changes/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {org}\r\n\r\n"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 65536];
    while !String::from_utf8_lossy(&seen).contains("\"upsert\"") {
        let n = tokio::time::timeout(Duration::from_secs(10), live.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "stream ended early");
        seen.extend_from_slice(&buf[..n]);
    }
    let e = ev::EnrolmentEnded {
        meta: Some(ev::EventMeta {
            event_id: uuid::Uuid::now_v7().to_string(),
            occurred_at: Some(prost_types::Timestamp {
                seconds: Utc::now().timestamp(),
                nanos: 0,
            }),
            producer: "registration".into(),
        }),
        organisation_id: org_id,
        service: common::ServiceCode::Job as i32,
        status: common::EnrolmentStatus::Suspended as i32,
        rule: "SN1".into(),
    };
    hwx_testkit::publish(
        &s.stack.env.events(),
        "hwx.registration.enrolment.ended",
        e.encode_to_vec(),
    )
    .await
    .unwrap();
    let mut last = None;
    for _ in 0..400 {
        let r = s.get("/v1/feed/snapshot", &org, &[]).await;
        if r.status == 403 {
            last = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let r = last.expect("refused once suspended");
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    assert_eq!(r.json()["rule"], "SN1");
    // The live stream ended with a problem line naming the rule.
    loop {
        let n = tokio::time::timeout(Duration::from_secs(10), live.read(&mut buf))
            .await
            .expect("the live stream was cut")
            .unwrap();
        seen.extend_from_slice(&buf[..n]);
        if n == 0 || String::from_utf8_lossy(&seen).contains("\"rule\":\"SN1\"") {
            break;
        }
    }
    assert!(
        String::from_utf8_lossy(&seen).contains("\"rule\":\"SN1\""),
        "{}",
        String::from_utf8_lossy(&seen)
    );
    s.stop().await;
}

/// A CSV download of demo posting `i` with this work content, signed by `signer`.
fn signed_csv(signer: &hwx_job_feed::signing::Signer, i: u64, work_content: &str) -> String {
    use hwx_job_feed::record::{self, Intake, Served};
    let mut p = hwx_job_feed::generate::posting(0, i, 0);
    p.work_content = work_content.into();
    let Intake::Live(r) = record::intake(&p).unwrap() else {
        panic!()
    };
    let content = r.canonical();
    let hash = record::hash_hex(content.as_bytes());
    let served = Served {
        version: 1,
        signature: signer.sign(&r.posting_number, 1, &hash),
        content,
        content_hash: hash,
        key_id: signer.key_id().into(),
        updated_at: Utc::now(),
        addition: None,
    };
    let mut csv = record::CsvWriter::new();
    csv.row(&served).unwrap();
    csv.take()
}

#[test]
fn j5_a_shift_jis_download_with_characters_it_cannot_hold_still_verifies() {
    use hwx_job_feed::record;
    let signer = hwx_job_feed::signing::Signer::from_seed([3; 32]);
    let csv = signed_csv(
        &signer,
        8,
        "固定残業代 ¥30,000（20時間分）− 超過分は支給‾ 🙂 髙橋",
    );
    let sjis = record::to_shift_jis(&csv);
    let key = hwx_job_feed::signing::parse_public_key(&hex::encode(signer.public_key())).unwrap();
    let report = hwx::feed::verify_reader(&sjis[..], Some(&key), |_| {}).unwrap();
    assert_eq!(
        (report.ok, report.failed.len()),
        (1, 0),
        "{:?}",
        report.failed
    );
    // The same file with one character changed fails.
    let tampered = record::to_shift_jis(&csv.replacen("30,000", "35,000", 1));
    let report = hwx::feed::verify_reader(&tampered[..], Some(&key), |_| {}).unwrap();
    assert_eq!(report.failed.len(), 1);
}

#[test]
fn j5_a_csv_download_cut_inside_a_quoted_field_is_no_whole_file() {
    let signer = hwx_job_feed::signing::Signer::from_seed([5; 32]);
    let csv = signed_csv(&signer, 9, "月給 250,000円、賞与あり");
    let cut = csv.find("250,000").unwrap();
    let err = hwx::feed::verify_reader(&csv.as_bytes()[..cut], None, |_| {}).unwrap_err();
    assert!(err.contains("a quoted field never ends"), "{err}");
    let whole = hwx::feed::verify_reader(csv.as_bytes(), None, |_| {}).unwrap();
    assert_eq!((whole.ok, whole.failed.len()), (1, 0));
}
