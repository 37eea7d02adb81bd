//! The `hwx` command as a user runs it: a real process, stdin in, stdout out.

#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed, and says where

mod readme;
mod reflection;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn hwx(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hwx"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start hwx");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("write stdin");
    child.wait_with_output().expect("hwx runs")
}

fn eval(lines: &str) -> Vec<Value> {
    let out = hwx(&["rules", "eval"], lines.as_bytes());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("every answer is JSON"))
        .collect()
}

/// The examples of the README, answer for answer, with the rule each one exercises.
#[test]
fn eval_answers_the_documented_queries_c2_c3_d1_d2_d3_d4_d5_d6_e7_e8_sk6c_sk6d_x1_e3_sk9() {
    let cases: &[(&str, &str)] = &[
        (
            r#"{"q":"business_day","date":"2026-12-29"}"#,
            r#"{"business_day":false}"#,
        ),
        (
            r#"{"q":"submission_deadline","registered":"2026-11-28"}"#,
            r#"{"deadline":"2026-12-11"}"#,
        ),
        (
            r#"{"q":"bureau_email_due","registered":"2026-12-25"}"#,
            r#"{"due":"2027-01-05"}"#,
        ),
        (
            r#"{"q":"report_deadline","fiscal_year":2026}"#,
            r#"{"due":"2027-04-20","grace_end":"2027-05-20","reminder":"2027-03-15"}"#,
        ),
        (
            r#"{"q":"expiry_grace_end","expired":"2026-11-30"}"#,
            r#"{"grace_end":"2026-12-28"}"#,
        ),
        (
            r#"{"q":"suspension_last_day","start":"2026-12-01"}"#,
            r#"{"last_day":"2027-05-31"}"#,
        ),
        (
            r#"{"q":"reapply_from","revoked":"2026-11-28"}"#,
            r#"{"date":"2029-11-28"}"#,
        ),
        (
            r#"{"q":"email_reusable_from","closed":"2021-11-28"}"#,
            r#"{"date":"2026-11-28"}"#,
        ),
        (
            r#"{"q":"retention","acquired":"2026-11-10","accepted":null}"#,
            r#"{"keep_through":"2027-01-31","rule":"SK6c"}"#,
        ),
        (
            r#"{"q":"retention","acquired":"2026-05-01","accepted":"2026-05-10"}"#,
            r#"{"keep_through":"2028-03-31","rule":"SK6d"}"#,
        ),
        (
            r#"{"q":"maintenance","at":"2026-11-30T21:45:00+09:00"}"#,
            r#"{"in_window":true,"reopens":"2026-12-01T06:00:00+09:00"}"#,
        ),
        (
            r#"{"q":"eligible","service":"seeker","kind":"K3","school":"university","regular_placements_3m":0,"suspension_order":false,"improvement_order":false,"revoked_on":null,"on":"2026-11-28"}"#,
            r#"{"eligible":false,"rules":["E3"]}"#,
        ),
        (
            r#"{"q":"message","from":"seeker","text":"連絡は０９０ー１２３４ー５６７８へ","org_contacts":[]}"#,
            r#"{"allowed":false,"rules":["SK9"],"found":["phone"]}"#,
        ),
    ];
    let input: String = cases.iter().map(|(q, _)| format!("{q}\n")).collect();
    let out = hwx(&["rules", "eval"], input.as_bytes());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), cases.len());
    for ((q, expected), got) in cases.iter().zip(lines) {
        assert_eq!(got, *expected, "answer to {q}");
    }
}

#[test]
fn eval_national_holidays_c2() {
    let a = &eval(r#"{"q":"national_holidays","year":2026}"#)[0];
    let list = a["holidays"].as_array().unwrap();
    assert_eq!(list.len(), 18);
    assert_eq!(
        list[0],
        serde_json::json!({"date": "2026-01-01", "name": "元日"})
    );
    assert!(
        list.iter()
            .any(|h| h["date"] == "2026-09-22" && h["name"] == "国民の休日")
    );
}

#[test]
fn eval_bad_lines_get_an_error_and_the_next_line_is_answered() {
    let input = concat!(
        "{\"q\":\"bogus\"}\n",
        "not json\n",
        "\n",
        "{\"q\":\"business_day\",\"date\":\"2026-02-30\"}\n",
        "{\"q\":\"national_holidays\",\"year\":2100}\n",
        "{\"q\":\"eligible\",\"service\":\"job\",\"kind\":\"K3\",\"school\":null,\"on\":\"2026-11-28\"}\n",
        "{\"q\":\"business_day\"}\n",
        "\u{0}\u{1}garbage\n",
        "{\"q\":\"business_day\",\"date\":\"2026-12-28\"}\n",
    );
    let mut bytes = input.as_bytes().to_vec();
    bytes.extend_from_slice(b"\xff\xfe\n{\"q\":\"business_day\",\"date\":\"2027-01-04\"}");
    let out = hwx(&["rules", "eval"], &bytes);
    assert!(out.status.success());
    let answers: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        answers.len(),
        11,
        "one answer per line, the last without a newline too"
    );
    let rules: Vec<Value> = answers.iter().map(|a| a["rule"].clone()).collect();
    assert!(
        answers[0]["error"]
            .as_str()
            .unwrap()
            .contains("unknown query \"bogus\"")
    );
    assert!(
        answers[1]["error"]
            .as_str()
            .unwrap()
            .starts_with("not JSON")
    );
    assert!(answers[2]["error"].as_str().unwrap().contains("empty line"));
    assert!(
        answers[3]["error"]
            .as_str()
            .unwrap()
            .contains("expected a date YYYY-MM-DD, got \"2026-02-30\"")
    );
    assert_eq!(rules[4], "C2");
    assert_eq!(rules[5], "E1", "K3 must say which school: E1");
    assert!(
        answers[6]["error"]
            .as_str()
            .unwrap()
            .contains("missing field `date`")
    );
    assert!(answers[7]["error"].is_string());
    assert_eq!(answers[8], serde_json::json!({"business_day": true}));
    assert!(answers[9]["error"].as_str().unwrap().contains("not UTF-8"));
    assert_eq!(answers[10], serde_json::json!({"business_day": true}));
    assert!(
        out.stderr.is_empty(),
        "no panic, no noise: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn eval_extra_queries_sk8_j7_sanction_v2_deletion_sk6a() {
    let a = eval(concat!(
        r#"{"q":"quota","sent_today":995,"n":10,"at":"2026-11-28T23:59:59+09:00"}"#,
        "\n",
        r#"{"q":"quota","sent_today":995,"n":5,"at":"2026-11-28T23:59:59+09:00"}"#,
        "\n",
        r#"{"q":"posting","posting":{"work_content":"一般事務"}}"#,
        "\n",
        r#"{"q":"sanction","event":{"event":"violation","rule":"V2","on":"2026-12-01"}}"#,
        "\n",
        r#"{"q":"deletion","acquired":"2026-11-10","accepted":"2026-11-20","deletion_requested":"2026-12-01"}"#,
        "\n",
        r#"{"q":"placement_window","application":"2026-11-28"}"#,
        "\n",
        r#"{"q":"validity_end","start":"2026-12-01","licence_expiry":"2027-06-30"}"#,
        "\n",
    ));
    assert_eq!(
        (a[0]["allowed"].clone(), a[0]["rule"].clone()),
        (Value::Bool(false), Value::from("SK8"))
    );
    assert_eq!(a[1]["remaining"], 0);
    assert_eq!(a[2]["rule"], "J7");
    assert_eq!(a[2]["missing"].as_array().unwrap().len(), 19);
    assert_eq!(
        a[3]["standing"]["measures"][0]["end"]["last_day"],
        "2027-05-31"
    );
    assert_eq!(a[3]["effects"], serde_json::json!(["SN1", "SK6e"]));
    assert_eq!(
        (a[4]["rule"].clone(), a[4]["due"].clone()),
        (Value::from("SK6a"), Value::from("2026-12-01"))
    );
    assert_eq!(
        a[5],
        serde_json::json!({"from": "2026-08-29", "through": "2026-11-28"})
    );
    assert_eq!(a[6], serde_json::json!({"last_day": "2027-06-30"}));
}

#[test]
fn eval_emergency_window_x1() {
    let out = hwx(
        &[
            "rules",
            "eval",
            "--emergency",
            "2026-12-02T10:00:00+09:00/2026-12-02T12:00:00+09:00",
        ],
        br#"{"q":"maintenance","at":"2026-12-02T11:00:00+09:00"}"#,
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        r#"{"in_window":true,"reopens":"2026-12-02T12:00:00+09:00"}"#
    );
    let bad = hwx(&["rules", "eval", "--emergency", "tomorrow"], b"");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("FROM/UNTIL"));
}

#[test]
fn calendar_prints_the_year_c1_c2() {
    let out = hwx(&["rules", "calendar", "2027"], b"");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("2027-03-22  月  substitute  振替休日"),
        "{text}"
    );
    assert!(
        text.contains("2027-12-29  水  year_end    年末年始"),
        "{text}"
    );
    assert!(text.contains("242 business days"), "{text}");
    let csv = String::from_utf8(hwx(&["rules", "calendar", "2027", "--format", "csv"], b"").stdout)
        .unwrap();
    assert_eq!(csv.lines().next(), Some("date,weekday,kind,name"));
    assert_eq!(csv.lines().count(), 1 + 22);
    let json: Value = serde_json::from_slice(
        &hwx(&["rules", "calendar", "2027", "--format", "json"], b"").stdout,
    )
    .unwrap();
    assert_eq!(json["business_days"], 242);
}

#[test]
fn calendar_refuses_years_outside_the_rules_c2() {
    let out = hwx(&["rules", "calendar", "2100"], b"");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("1980–2099") && err.contains("C2"), "{err}");
}

#[test]
fn help_explains_the_commands() {
    let out = hwx(&["rules", "--help"], b"");
    let text = String::from_utf8(out.stdout).unwrap();
    for word in ["calendar", "eval", "ids", "show"] {
        assert!(text.contains(word), "{text}");
    }
    let ids = String::from_utf8(hwx(&["rules", "ids"], b"").stdout).unwrap();
    assert!(
        ids.lines()
            .any(|l| l.starts_with("SK6c") && l.contains("month after next")),
        "{ids}"
    );
    // One rule from the catalogue: its meaning and the terms' own words.
    let sk6c = String::from_utf8(hwx(&["rules", "show", "SK6c"], b"").stdout).unwrap();
    assert!(sk6c.starts_with("SK6c — "), "{sk6c}");
    assert!(sk6c.contains("  > "), "the seed is quoted: {sk6c}");
    let unknown = hwx(&["rules", "show", "Z9"], b"");
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("hwx rules ids"));
}

/// The golden file of README-style queries: `scripts/test` also runs it through a binary built
/// without test dependencies, whose features (regex tables) can differ from this test build.
#[test]
fn eval_golden_answers_c2_d1_sk9_sk8_x1() {
    let queries = include_str!("../data/readme-queries.ndjson");
    let expected = include_str!("../data/readme-answers.ndjson");
    let out = hwx(&["rules", "eval"], queries.as_bytes());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), expected);
}

mod replicas;

#[test]
fn services_lists_the_registry() {
    let out = hwx(&["services", "--json"], b"");
    assert!(out.status.success());
    let services: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let names: Vec<&str> = services.iter().filter_map(|s| s["name"].as_str()).collect();
    assert_eq!(
        names,
        ["registration", "job-feed", "seeker-matching", "gateway"]
    );
    assert_eq!(services[1]["schema"], "job_feed");
    assert_eq!(services[2]["schema"], "seeker_matching");
    assert_eq!(
        services[3]["schema"],
        Value::Null,
        "the gateway has no schema"
    );
    let out = hwx(&["serve", "reporting"], b"");
    assert!(!out.status.success(), "a role the binary does not have");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("registration"),
        "the error lists the roles there are"
    );
}
