//! Ingest: J7 refusals, no-op re-ingest, tombstones (closed, consent withdrawn, absent from a full
//! snapshot), and what the change feed shows of each.

use hwx_platform::events::count;
use hwx_proto::jobfeed::v1 as jf;

use crate::{Feed, authed, posting, rule};

#[tokio::test]
async fn j7_a_posting_missing_items_is_refused_with_each_item_named_and_nothing_stored() {
    let f = Feed::start().await;
    let mut bad = posting(1);
    bad.trial_period = "  ".into();
    bad.health_insurance = None;
    if let Some(w) = bad.wage.as_mut() {
        w.fixed_overtime_pay = None;
    }
    let good = posting(2);
    let s = f
        .ingest(None, vec![bad.clone(), good.clone()])
        .await
        .unwrap();
    assert_eq!((s.stored, s.refused, s.unchanged), (1, 1, 0));
    let r = &s.results[0];
    assert_eq!(r.index, 1);
    assert_eq!(r.posting_number, bad.posting_number);
    assert_eq!(r.outcome, "refused");
    assert_eq!(r.rule, "J7");
    assert_eq!(
        r.missing_items,
        ["trial_period", "fixed_overtime_pay", "health_insurance"]
    );
    assert!(r.message.contains("試用期間"), "{}", r.message);
    // Nothing of the refused record exists; the good one does.
    let numbers: Vec<String> = sqlx::query_scalar("SELECT posting_number FROM postings")
        .fetch_all(f.db.pool())
        .await
        .unwrap();
    assert_eq!(numbers, std::slice::from_ref(&good.posting_number));
    // A malformed number is refused too, without a rule of the terms.
    let mut odd = posting(3);
    odd.posting_number = "1310-123".into();
    let s = f.ingest(None, vec![odd]).await.unwrap();
    assert_eq!(s.refused, 1);
    assert!(s.results[0].message.contains("求人番号"));
    f.stop().await;
}

#[tokio::test]
async fn j5_re_sending_an_unchanged_posting_makes_no_version_no_event_and_no_change() {
    let f = Feed::start().await;
    let (org, _) = f.approved_org("reader@example.jp").await;
    let p = posting(7);
    let first = f.ingest(None, vec![p.clone()]).await.unwrap();
    assert_eq!(first.stored, 1);
    let events_before = count(&f.db, "outbox").await.unwrap();
    let again = f.ingest(None, vec![p.clone()]).await.unwrap();
    assert_eq!((again.stored, again.unchanged), (0, 1));
    assert_eq!(again.cursor, first.cursor, "the feed did not move");
    assert_eq!(count(&f.db, "outbox").await.unwrap(), events_before);
    let got = f
        .feed
        .clone()
        .get_posting(authed(
            &org,
            jf::GetPostingRequest {
                posting_number: p.posting_number.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.version, 1);
    // A real change is a new version with a new hash, one event, one change.
    let mut changed = p.clone();
    let w = changed.wage.as_mut().unwrap();
    w.min_yen += 10_000;
    w.max_yen += 10_000;
    let s = f.ingest(None, vec![changed]).await.unwrap();
    assert_eq!(s.stored, 1);
    assert_eq!(count(&f.db, "outbox").await.unwrap(), events_before + 1);
    let page = f.changes(&org, &first.cursor, 10).await.unwrap();
    assert_eq!(page.changes.len(), 1);
    let Some(jf::change::Change::Upsert(v2)) = &page.changes[0].change else {
        panic!("an upsert")
    };
    assert_eq!(v2.version, 2);
    assert_ne!(v2.content_hash, got.content_hash);
    f.stop().await;
}

#[tokio::test]
async fn j6_a_posting_absent_from_a_full_snapshot_becomes_a_tombstone() {
    let f = Feed::start().await;
    let (org, _) = f.approved_org("snapshot@example.jp").await;
    let ps: Vec<_> = (0..5).map(posting).collect();
    let s = f.ingest(None, ps.clone()).await.unwrap();
    assert_eq!(s.stored, 5);
    let before = s.cursor.clone();
    // Today's full snapshot holds 0–3: 4 is gone.
    let s = f
        .ingest(Some("2026-11-27"), ps[..4].to_vec())
        .await
        .unwrap();
    assert_eq!((s.stored, s.unchanged, s.withdrawn), (0, 4, 1));
    assert_eq!(s.results[0].posting_number, ps[4].posting_number);
    assert_eq!(s.results[0].outcome, "withdrawn");
    let page = f.changes(&org, &before, 10).await.unwrap();
    assert_eq!(page.changes.len(), 1);
    assert_eq!(
        page.changes[0].change,
        Some(jf::change::Change::Tombstone(ps[4].posting_number.clone()))
    );
    let gone = f
        .feed
        .clone()
        .get_posting(authed(
            &org,
            jf::GetPostingRequest {
                posting_number: ps[4].posting_number.clone(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(gone.code(), tonic::Code::NotFound);
    assert_eq!(rule(&gone).as_deref(), Some("J6"));
    // Closed and consent-withdrawn postings are tombstones too; closing again is a no-op.
    let mut closed = ps[0].clone();
    closed.closed = true;
    let mut no_consent = ps[1].clone();
    no_consent.employer_consents = false;
    let s = f
        .ingest(None, vec![closed.clone(), no_consent])
        .await
        .unwrap();
    assert_eq!(s.withdrawn, 2);
    let s = f.ingest(None, vec![closed]).await.unwrap();
    assert_eq!((s.withdrawn, s.unchanged), (0, 1));
    // An empty snapshot would withdraw everything: refused.
    let e = f.ingest(Some("empty"), vec![]).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
    // A snapshot that closes without snapshot_end, or with the wrong count, withdraws nothing.
    let start = jf::IngestRequest {
        item: Some(jf::ingest_request::Item::SnapshotStart(jf::SnapshotStart {
            snapshot_id: "cut short".into(),
        })),
    };
    let only_2 = jf::IngestRequest {
        item: Some(jf::ingest_request::Item::Posting(ps[2].clone())),
    };
    for end in [None, Some(5)] {
        let mut items = vec![start.clone(), only_2.clone()];
        if let Some(count) = end {
            items.push(jf::IngestRequest {
                item: Some(jf::ingest_request::Item::SnapshotEnd(jf::SnapshotEnd {
                    count,
                })),
            });
        }
        let e = f
            .feed
            .clone()
            .ingest_postings(authed(&f.upstream, futures::stream::iter(items)))
            .await
            .unwrap_err();
        assert_eq!(e.code(), tonic::Code::InvalidArgument);
        assert!(
            e.message().contains("nothing was withdrawn"),
            "{}",
            e.message()
        );
    }
    let live: i64 = sqlx::query_scalar("SELECT count(*) FROM postings WHERE NOT withdrawn")
        .fetch_one(f.db.pool())
        .await
        .unwrap();
    assert_eq!(live, 2, "2 and 3 stay live");
    // A posting that comes back is live again, as a new version.
    let s = f.ingest(None, vec![ps[4].clone()]).await.unwrap();
    assert_eq!(s.stored, 1);
    f.stop().await;
}

#[tokio::test]
async fn j8_an_addition_needs_consent_and_is_served_labelled_apart_from_the_text() {
    let f = Feed::start().await;
    let (org, _) = f.approved_org("adds@example.jp").await;
    let p = posting(11);
    f.ingest(None, vec![p.clone()]).await.unwrap();
    let set = |consent: bool| {
        let mut c = f.feed.clone();
        let req = authed(
            &org,
            jf::SetOrganisationAdditionRequest {
                posting_number: p.posting_number.clone(),
                text: "当社経由の応募者には面接対策を無料で行います".into(),
                employer_consented: consent,
            },
        );
        async move { c.set_organisation_addition(req).await }
    };
    let refused = set(false).await.unwrap_err();
    assert_eq!(rule(&refused).as_deref(), Some("J8"));
    let got = set(true).await.unwrap().into_inner();
    assert_eq!(
        got.organisation_addition,
        "当社経由の応募者には面接対策を無料で行います"
    );
    assert!(
        got.organisation_addition_label
            .contains("利用団体による追加情報")
    );
    // Hello Work's text and its hash are untouched.
    assert_eq!(got.content.unwrap().work_content, p.work_content);
    assert!(got.attribution.contains("ハローワーク"), "J4");
    f.stop().await;
}

#[tokio::test]
async fn only_upstream_ingests_and_only_organisations_read() {
    let f = Feed::start().await;
    let (org, _) = f.approved_org("notupstream@example.jp").await;
    let e = f
        .feed
        .clone()
        .ingest_postings(authed(
            &org,
            futures::stream::iter(vec![jf::IngestRequest {
                item: Some(jf::ingest_request::Item::Posting(posting(1))),
            }]),
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::PermissionDenied);
    let e = f.changes(&f.upstream, "", 10).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::PermissionDenied);
    assert_eq!(rule(&e).as_deref(), Some("J2"));
    let e = f.changes("not-a-session", "", 10).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::Unauthenticated);
    let e = f.changes(&org, "yesterday", 10).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
    f.stop().await;
}

#[tokio::test]
async fn a_bulk_load_adds_new_signed_postings_to_the_feed_and_skips_known_ones() {
    let f = Feed::start().await;
    let (org, _) = f.approved_org("bulk@example.jp").await;
    let signer = hwx_job_feed::signing::Signer::load(&f.db, "")
        .await
        .unwrap();
    let load = |count| {
        hwx_job_feed::bulk::load_generated(&f.db, &signer, 0, count, 0, chrono::Utc::now(), |_| {})
    };
    let first = load(120).await.unwrap();
    assert_eq!((first.inserted, first.skipped, first.refused), (120, 0, 0));
    // Again with more: the known ones are skipped, the new ones added.
    let second = load(150).await.unwrap();
    assert_eq!((second.inserted, second.skipped), (30, 120));
    let page = f.changes(&org, "", 1000).await.unwrap();
    assert_eq!(page.changes.len(), 150);
    // Signed with the service's key, and equal to what ingest would store: re-sending is a no-op.
    let key = f
        .feed
        .clone()
        .get_signing_key(jf::GetSigningKeyRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(key.key_id, signer.key_id());
    let s = f
        .ingest(None, (0..150).map(posting).collect())
        .await
        .unwrap();
    assert_eq!((s.stored, s.unchanged), (0, 150));
    f.stop().await;
}

#[tokio::test]
async fn a_snapshot_that_breaks_off_keeps_its_whole_batches_and_withdraws_nothing() {
    let f = Feed::start().await;
    // Yesterday: 0–99.
    f.ingest(None, (0..100).map(posting).collect())
        .await
        .unwrap();
    // Today's snapshot holds 1000–1699 only, but the connection dies after 600 records.
    let (tx, rx) = tokio::sync::mpsc::channel::<jf::IngestRequest>(16);
    let mut client = f.feed.clone();
    let request = authed(&f.upstream, tokio_stream::wrappers::ReceiverStream::new(rx));
    let call = tokio::spawn(async move { client.ingest_postings(request).await });
    tx.send(jf::IngestRequest {
        item: Some(jf::ingest_request::Item::SnapshotStart(jf::SnapshotStart {
            snapshot_id: "broken".into(),
        })),
    })
    .await
    .unwrap();
    for i in 1000..1600 {
        tx.send(jf::IngestRequest {
            item: Some(jf::ingest_request::Item::Posting(posting(i))),
        })
        .await
        .unwrap();
    }
    let stored = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM postings")
            .fetch_one(f.db.pool())
            .await
            .unwrap()
    };
    // The first batch of 500 commits while the stream is still open.
    f.until(std::time::Duration::from_secs(10), || async {
        stored().await >= 600
    })
    .await;
    // The connection dies: the call is dropped with its stream still open. (Dropping the sender
    // first would end the stream cleanly, and the service would rightly store the last batch.)
    call.abort();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(stored().await, 600, "whole batches only");
    let withdrawn: i64 = sqlx::query_scalar("SELECT count(*) FROM postings WHERE withdrawn")
        .fetch_one(f.db.pool())
        .await
        .unwrap();
    assert_eq!(withdrawn, 0, "an unfinished snapshot withdraws nothing");
    drop(tx);
    f.stop().await;
}

#[tokio::test]
async fn j6_a_posting_past_its_valid_until_is_withdrawn_by_the_sweep_and_at_ingest() {
    let f = Feed::start().await;
    let (org, _) = f.approved_org("expiry@example.jp").await;
    let day = |s: &str| {
        let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        use chrono::Datelike;
        Some(hwx_proto::common::v1::Date {
            year: d.year(),
            month: d.month() as i32,
            day: d.day() as i32,
        })
    };
    let mut ends_soon = posting(1);
    ends_soon.received_on = day("2026-11-01");
    ends_soon.valid_until = day("2026-11-30");
    let lasting = posting(2);
    let s = f
        .ingest(None, vec![ends_soon.clone(), lasting])
        .await
        .unwrap();
    assert_eq!(s.stored, 2);
    let cursor = s.cursor;
    // Two days after its last day (the clock starts on 2026-11-27).
    f.clock.advance(chrono::Duration::days(5));
    let store = hwx_job_feed::store::Store {
        db: f.db.clone(),
        signer: hwx_job_feed::signing::Signer::load(&f.db, "")
            .await
            .unwrap(),
        outbox: hwx_platform::events::Outbox::new("job-feed", std::sync::Arc::new(f.clock.clone())),
    };
    let now = chrono::Utc::now();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
    assert_eq!(store.withdraw_expired(today, now).await.unwrap(), 1);
    assert_eq!(
        store.withdraw_expired(today, now).await.unwrap(),
        0,
        "idempotent"
    );
    let page = f.changes(&org, &cursor, 10).await.unwrap();
    assert_eq!(
        page.changes
            .iter()
            .map(|c| c.change.clone())
            .collect::<Vec<_>>(),
        [Some(jf::change::Change::Tombstone(
            ends_soon.posting_number.clone()
        ))]
    );
    // Sent again after its last day, it is not provided again.
    let s = f.ingest(None, vec![ends_soon]).await.unwrap();
    assert_eq!((s.stored, s.withdrawn, s.unchanged), (0, 0, 1));
    f.stop().await;
}
