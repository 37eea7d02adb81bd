//! J6 under load: while several writers ingest at once (their transactions overlapping and
//! committing in any order), a reader that takes a snapshot and then follows the change feed from
//! the snapshot's cursor, and a reader that follows the change feed alone from the start, both end
//! with exactly the source state: no change missed, none invented.

use std::collections::BTreeMap;

use futures::StreamExt;
use hwx_job_feed::record::PostingRecord;
use hwx_proto::jobfeed::v1 as jf;

use crate::{Feed, authed, posting};

type State = BTreeMap<String, (i64, String)>;

fn apply(state: &mut State, changes: &[jf::Change]) {
    for c in changes {
        match &c.change {
            Some(jf::change::Change::Upsert(p)) => {
                let content = p.content.clone().unwrap();
                // Every version served verifies against its hash (J5).
                assert_eq!(
                    PostingRecord::from_stored(&content).hash(),
                    p.content_hash,
                    "{}",
                    content.posting_number
                );
                state.insert(content.posting_number, (p.version, p.content_hash.clone()));
            }
            Some(jf::change::Change::Tombstone(n)) => {
                state.remove(n);
            }
            None => panic!("empty change"),
        }
    }
}

/// Follow the change feed from `cursor` until `done` and caught up with the final head.
async fn follow(
    f: &Feed,
    org: &str,
    mut cursor: String,
    state: &mut State,
    limit: i32,
    done: &tokio::sync::watch::Receiver<Option<String>>,
) {
    loop {
        let page = f.changes(org, &cursor, limit).await.unwrap();
        apply(state, &page.changes);
        cursor = page.next_cursor;
        if page.changes.is_empty() {
            if let Some(head) = done.borrow().clone()
                && cursor.parse::<i64>().unwrap() >= head.parse::<i64>().unwrap()
            {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn j6_snapshot_and_change_feed_reproduce_the_source_under_concurrent_writers() {
    let f = Feed::start().await;
    let (org, _) = f.approved_org("follower@example.jp").await;
    let universe = 150u64;
    f.ingest(None, (0..universe).map(posting).collect())
        .await
        .unwrap();
    let (done_tx, done) = tokio::sync::watch::channel(None::<String>);
    let (snap_tx, snap_go) = tokio::sync::watch::channel(false);

    let writers = async {
        let mut tasks = Vec::new();
        for w in 0..4u64 {
            let f = &f;
            let snap_tx = &snap_tx;
            tasks.push(async move {
                for round in 0..12u64 {
                    let mut batch = Vec::new();
                    for k in 0..25u64 {
                        let i = (w * 7919 + round * 104_729 + k * 31) % universe;
                        let mut p = posting(i);
                        match (i + round + w) % 6 {
                            0 => p.closed = true,
                            _ => {
                                // Raise the whole range: a minimum above the maximum is refused.
                                let wage = p.wage.as_mut().unwrap();
                                wage.min_yen += ((round * 4 + w) * 10) as i64;
                                wage.max_yen += ((round * 4 + w) * 10) as i64;
                            }
                        }
                        batch.push(p);
                    }
                    let s = f.ingest(None, batch).await.unwrap();
                    assert_eq!(s.refused, 0, "{:?}", s.results);
                    if round == 4 && w == 0 {
                        let _ = snap_tx.send(true);
                    }
                }
            });
        }
        futures::future::join_all(tasks).await;
        let head = f.ingest(None, vec![]).await.unwrap().cursor;
        let _ = done_tx.send(Some(head));
    };

    let snapshot_then_follow = async {
        let mut go = snap_go.clone();
        go.wait_for(|g| *g).await.unwrap();
        let mut chunks = f
            .feed
            .clone()
            .export_snapshot(authed(&org, jf::ExportSnapshotRequest::default()))
            .await
            .unwrap()
            .into_inner();
        let mut state = State::new();
        let mut cursor = String::new();
        while let Some(c) = chunks.next().await {
            let c = c.unwrap();
            for p in c.postings {
                let content = p.content.unwrap();
                state.insert(content.posting_number, (p.version, p.content_hash));
            }
            if c.last {
                cursor = c.cursor;
            }
        }
        assert!(!cursor.is_empty(), "the snapshot ends with its cursor");
        follow(&f, &org, cursor, &mut state, 40, &done).await;
        state
    };

    let feed_only = async {
        let mut state = State::new();
        follow(&f, &org, String::new(), &mut state, 37, &done).await;
        state
    };

    let ((), from_snapshot, from_feed) = tokio::join!(writers, snapshot_then_follow, feed_only);
    let source: State = sqlx::query_as::<_, (String, i32, String)>(
        "SELECT posting_number, version, content_hash FROM postings WHERE NOT withdrawn",
    )
    .fetch_all(f.db.pool())
    .await
    .unwrap()
    .into_iter()
    .map(|(n, v, h)| (n, (i64::from(v), h)))
    .collect();
    assert!(source.len() > 10 && source.len() < universe as usize);
    assert_eq!(from_snapshot, source, "snapshot + change feed");
    assert_eq!(from_feed, source, "change feed alone");
    f.stop().await;
}
