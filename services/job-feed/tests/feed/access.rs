//! J2, SN1, SN2: only organisations with an active S-JOB enrolment read the feed, and an
//! enrolment that ends cuts them off, live streams included. Every read is logged.

use std::time::{Duration, Instant};

use futures::StreamExt;
use hwx_proto::common::v1 as common;
use hwx_proto::events::v1 as ev;
use hwx_proto::jobfeed::v1 as jf;
use prost::Message;

use crate::{Feed, authed, posting, rule};

fn ended(org: uuid::Uuid, status: common::EnrolmentStatus) -> Vec<u8> {
    ev::EnrolmentEnded {
        meta: Some(ev::EventMeta {
            event_id: uuid::Uuid::now_v7().to_string(),
            occurred_at: Some(prost_types::Timestamp {
                seconds: chrono::Utc::now().timestamp(),
                nanos: 0,
            }),
            producer: "registration".into(),
        }),
        organisation_id: org.to_string(),
        service: common::ServiceCode::Job as i32,
        status: status as i32,
        rule: "SN1".into(),
    }
    .encode_to_vec()
}

#[tokio::test]
async fn sn1_a_suspension_cuts_reads_and_live_streams_with_the_rule_named() {
    let f = Feed::start().await;
    let (org, org_id) = f.approved_org("suspended@example.jp").await;
    f.ingest(None, vec![posting(1)]).await.unwrap();
    let mut live = f
        .feed
        .clone()
        .watch_changes(authed(
            &org,
            jf::GetChangesRequest {
                cursor: String::new(),
                limit: 0,
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let first = live.next().await.unwrap().unwrap();
    assert!(matches!(first.change, Some(jf::change::Change::Upsert(_))));

    f.announce(
        "hwx.registration.enrolment.ended",
        ended(org_id, common::EnrolmentStatus::Suspended),
    )
    .await;
    let published = Instant::now();
    // The stream ends with PERMISSION_DENIED naming SN1.
    let end = tokio::time::timeout(Duration::from_secs(10), live.next())
        .await
        .expect("the live stream was cut")
        .unwrap()
        .unwrap_err();
    let cut = published.elapsed();
    assert_eq!(end.code(), tonic::Code::PermissionDenied);
    assert_eq!(rule(&end).as_deref(), Some("SN1"));
    let refused = f.changes(&org, "", 10).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::PermissionDenied);
    assert_eq!(rule(&refused).as_deref(), Some("SN1"));
    eprintln!("suspension to cut stream: {} ms", cut.as_millis());

    // Revocation names SN2; an organisation never approved, J2.
    f.announce(
        "hwx.registration.enrolment.ended",
        ended(org_id, common::EnrolmentStatus::Revoked),
    )
    .await;
    f.until(Duration::from_secs(10), || async {
        f.changes(&org, "", 1)
            .await
            .is_err_and(|e| rule(&e).as_deref() == Some("SN2"))
    })
    .await;
    f.stop().await;
}

#[tokio::test]
async fn j2_an_organisation_without_an_approved_s_job_enrolment_is_refused() {
    let f = Feed::start().await;
    let token = f.org_account("pending@example.jp").await;
    let e = f.changes(&token, "", 10).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::PermissionDenied);
    assert_eq!(rule(&e).as_deref(), Some("J2"));
    f.stop().await;
}

#[tokio::test]
async fn every_read_is_in_the_organisations_access_log() {
    let f = Feed::start().await;
    let (org, org_id) = f.approved_org("logged@example.jp").await;
    f.ingest(None, (0..3).map(posting).collect()).await.unwrap();
    let page = f.changes(&org, "", 2).await.unwrap();
    assert_eq!(page.changes.len(), 2);
    let mut chunks = f
        .feed
        .clone()
        .export_snapshot(authed(
            &org,
            jf::ExportSnapshotRequest {
                format: jf::SnapshotFormat::Csv as i32,
                prefecture_codes: vec![],
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    while chunks.next().await.is_some() {}
    let log = f
        .feed
        .clone()
        .list_access_log(authed(&org, jf::ListAccessLogRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .entries;
    // Newest first: the approval check's read, the page, the download (with its count).
    let actions: Vec<(&str, i64)> = log.iter().map(|e| (e.action.as_str(), e.records)).collect();
    assert_eq!(actions[0], ("snapshot", 3), "{actions:?}");
    assert_eq!(actions[1], ("changes", 2), "{actions:?}");
    assert!(log.iter().all(|e| e.organisation_id == org_id.to_string()));
    // An officer reads any organisation's log; another organisation cannot.
    let officer = f.staff("officer@mhlw.example", "bureau", Some("13")).await;
    let seen = f
        .feed
        .clone()
        .list_access_log(authed(
            &officer,
            jf::ListAccessLogRequest {
                organisation_id: org_id.to_string(),
                limit: 10,
                page_token: String::new(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(seen.entries.len(), log.len());
    assert!(seen.next_page_token.is_empty(), "one page holds it all");
    // The formats are the API's words (docs/API.md API5), never the proto's names.
    let format = log[0].detail.split(';').next().unwrap_or_default();
    assert!(
        format.starts_with("format=") && !format.chars().any(|c| c.is_ascii_uppercase()),
        "{}",
        log[0].detail
    );
    // Page by page, one entry each: the same entries, newest first, then no token.
    let mut paged = Vec::new();
    let mut token = String::new();
    loop {
        let page = f
            .feed
            .clone()
            .list_access_log(authed(
                &officer,
                jf::ListAccessLogRequest {
                    organisation_id: org_id.to_string(),
                    limit: 1,
                    page_token: token.clone(),
                },
            ))
            .await
            .unwrap()
            .into_inner();
        paged.extend(page.entries.into_iter().map(|e| (e.action, e.records)));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let all: Vec<(String, i64)> = log.iter().map(|e| (e.action.clone(), e.records)).collect();
    assert_eq!(paged, all);
    f.stop().await;
}
