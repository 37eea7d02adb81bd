//! Seekers over HTTP: what identifies a person never gets in (SK1), and only an organisation with
//! an active S-SEEKER enrolment sees seekers (E3).

use serde_json::{Value, json};

use super::{Who, World, text};

fn ndjson(lines: &[Value]) -> Vec<u8> {
    let mut body = Vec::new();
    for l in lines {
        body.extend_from_slice(l.to_string().as_bytes());
        body.push(b'\n');
    }
    body
}

fn seeker(id: &str) -> Value {
    json!({
        "seeker_id": id, "age_band": 40, "desired_occupations": ["051-03"], "desired_prefectures": ["13"],
        "employment_types": ["正社員"], "wage_type": "monthly", "wage_min": 240000,
        "hello_work_office": "ハローワーク飯田橋", "consent_on": "2026-10-01", "last_active_on": "2026-11-20",
        "consents": true,
    })
}

#[tokio::test]
async fn sk1_e3_seekers_over_http_identify_nobody_and_reach_only_s_seeker_organisations() {
    let w = World::start().await;
    let (_, upstream) = w.account(Who::Upstream).await;
    let send = |lines: Vec<Value>| {
        let w = &w;
        let auth = format!("Bearer {upstream}");
        async move {
            w.raw(
                "POST",
                "/v1/seekers",
                &[
                    ("Authorization", &auth),
                    ("Content-Type", "application/x-ndjson"),
                ],
                &ndjson(&lines),
            )
            .await
        }
    };
    let mut named = seeker("S-named");
    named["name"] = json!("山田太郎");
    let mut phoned = seeker("S-phoned");
    phoned["working_hours"] = json!("夜は 03-1234-5678 へ");
    let mut unknown = seeker("S-unknown");
    unknown["favourite_colour"] = json!("青");
    let r = send(vec![seeker("S-1"), named, phoned, unknown]).await;
    assert_eq!(r.status, 200, "{}", text(&r));
    let s = r.json();
    assert_eq!(
        (s["stored"].as_i64(), s["refused"].as_i64()),
        (Some(1), Some(3)),
        "{s}"
    );
    let refused: Vec<(i64, &str, &str)> = s["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["line"].as_i64().unwrap(),
                r["field"].as_str().unwrap_or(""),
                r["rule"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        refused,
        [(2, "name", "SK1"), (3, "working_hours", "SK1"), (4, "", "")]
    );
    assert_eq!(s["results"][0]["seeker_id"], "S-named");
    assert!(text(&r).contains("favourite_colour"), "{}", text(&r));
    let held: Vec<String> = sqlx::query_scalar("SELECT seeker_id FROM seekers")
        .fetch_all(w.sm_db.pool())
        .await
        .unwrap();
    assert_eq!(held, ["S-1"], "nothing of a refused line was written");

    // An organisation with S-JOB only: E3, as problem+json naming the rule.
    let (_, officer) = w.account(Who::BureauA).await;
    let (_, org, org_id) = w.enrolled("13", &officer).await;
    let r = w.call("GET", "/v1/seekers", Some(&org), None).await;
    assert_eq!(
        (r.status, r.json()["rule"].as_str()),
        (422, Some("E3")),
        "{}",
        text(&r)
    );
    // With S-SEEKER: the seeker, as stored, with codes as the classification writes them.
    w.seeker_enrolled(&org, &org_id, &officer).await;
    let r = w
        .call(
            "GET",
            "/v1/seekers?occupation=05&prefecture=13,14",
            Some(&org),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", text(&r));
    let items = r.json()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["seeker_id"], "S-1");
    assert_eq!(items[0]["desired_occupations"], json!(["051-03"]));
    assert_eq!(items[0]["last_active_on"], "2026-11-20");
    let r = w
        .call("GET", "/v1/seekers?occupation=99", Some(&org), None)
        .await;
    assert_eq!(r.status, 400, "{}", text(&r));

    // Opening the details is an acquisition with its SK6 deadline; accepting moves it to SK6d.
    let r = w.call("GET", "/v1/seekers/S-1", Some(&org), None).await;
    assert_eq!(r.status, 200, "{}", text(&r));
    let a = r.json()["acquisition"].clone();
    assert_eq!(
        (
            &a["acquired_on"],
            &a["accept_by"],
            &a["deletion_due"],
            &a["deletion_rule"]
        ),
        (
            &json!("2026-11-27"),
            &json!("2027-01-31"),
            &json!("2027-02-01"),
            &json!("SK6c")
        ),
        "{a}"
    );
    let path = format!("/v1/acquisitions/{}/acceptance", a["id"].as_str().unwrap());
    let r = w.call("POST", &path, Some(&org), None).await;
    assert_eq!(r.status, 200, "{}", text(&r));
    assert_eq!(
        (&r.json()["deletion_due"], &r.json()["deletion_rule"]),
        (&json!("2028-04-01"), &json!("SK6d"))
    );
    let r = w.call("GET", "/v1/acquisitions", Some(&org), None).await;
    assert_eq!(r.json()["items"][0]["seeker_id"], "S-1", "{}", text(&r));
    let r = w
        .call("GET", "/v1/seekers/S-nobody", Some(&org), None)
        .await;
    assert_eq!(r.status, 404, "{}", text(&r));

    // Consent withdrawn: gone from the next search, whatever else the line holds.
    let r = send(vec![
        json!({"seeker_id": "S-1", "consents": false, "name": "山田太郎", "last_active_on": "昨日"}),
    ])
    .await;
    assert_eq!(r.json()["withdrawn"].as_i64(), Some(1), "{}", text(&r));
    let r = w.call("GET", "/v1/seekers", Some(&org), None).await;
    assert_eq!(r.json()["items"], json!([]), "{}", text(&r));
    // A line without `consents` withdraws nothing by accident: it is refused.
    let mut silent = seeker("S-2");
    silent.as_object_mut().unwrap().remove("consents");
    let r = send(vec![silent]).await;
    assert_eq!(r.json()["refused"].as_i64(), Some(1), "{}", text(&r));
    assert!(text(&r).contains("consents: required"), "{}", text(&r));
    w.stop().await;
}
