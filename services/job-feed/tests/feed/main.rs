//! The job feed over real gRPC, with the real registration service authenticating callers and
//! announcing enrolments over real NATS, against real Postgres (one schema and stream per test).

#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed, and says where

mod access;
mod concurrent;
mod ingest;
mod sql;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use hwx_platform::clock::ManualClock;
use hwx_platform::db::Database;
use hwx_proto::common::v1 as common;
use hwx_proto::jobfeed::v1 as jf;
use hwx_proto::jobfeed::v1::job_feed_service_client::JobFeedServiceClient;
use hwx_proto::registration::v1::registration_service_client::RegistrationServiceClient;
use hwx_proto::registration::v1::*;
use hwx_testkit::Stack;
use tonic::transport::Channel;
use uuid::Uuid;

pub const PASSWORD: &str = "a long enough password";

#[allow(missing_debug_implementations)] // holds clients and running servers
pub struct Feed {
    pub stack: Stack,
    pub reg_db: Database,
    pub db: Database,
    pub clock: ManualClock,
    pub reg: RegistrationServiceClient<Channel>,
    pub feed: JobFeedServiceClient<Channel>,
    pub feed_addr: std::net::SocketAddr,
    /// Hello Work's system account.
    pub upstream: String,
}

impl std::ops::Deref for Feed {
    type Target = Stack;
    fn deref(&self) -> &Stack {
        &self.stack
    }
}

pub fn authed<T>(token: &str, msg: T) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    r.metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    r
}

pub fn rule(status: &tonic::Status) -> Option<String> {
    hwx_platform::grpc::rule_of(status)
}

impl Feed {
    pub async fn start() -> Feed {
        let clock = ManualClock::new(
            DateTime::parse_from_rfc3339("2026-11-27T10:00:00+09:00")
                .unwrap()
                .with_timezone(&Utc),
        );
        let stack = Stack::with(&[&hwx_registration::SERVICE, &hwx_job_feed::SERVICE])
            .clock(Arc::new(clock.clone()))
            .start()
            .await;
        let reg = RegistrationServiceClient::connect(stack.url("registration"))
            .await
            .unwrap();
        let feed_addr = stack.addr("job-feed");
        let feed = JobFeedServiceClient::connect(format!("http://{feed_addr}"))
            .await
            .unwrap()
            .max_decoding_message_size(16 * 1024 * 1024);
        let mut f = Feed {
            reg_db: stack.db("registration"),
            db: stack.db("job-feed"),
            stack,
            clock,
            reg,
            feed,
            feed_addr,
            upstream: String::new(),
        };
        f.upstream = f
            .staff("upstream@hellowork.example", "upstream", None)
            .await;
        f
    }

    /// A staff or system account made directly in the database, logged in.
    pub async fn staff(&self, email: &str, role: &str, bureau: Option<&str>) -> String {
        let hash = hwx_registration::auth::hash_password(PASSWORD.into())
            .await
            .unwrap();
        sqlx::query("INSERT INTO accounts (id, email, password_hash, role, bureau_code) VALUES ($1, $2, $3, $4, $5)")
            .bind(Uuid::now_v7())
            .bind(email)
            .bind(hash)
            .bind(role)
            .bind(bureau)
            .execute(self.reg_db.pool())
            .await
            .unwrap();
        self.login(email).await
    }

    pub async fn login(&self, email: &str) -> String {
        self.reg
            .clone()
            .login(LoginRequest {
                email: email.into(),
                password: PASSWORD.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .token
    }

    /// An organisation account, signed up and confirmed with the token from its notice; logged
    /// in.
    pub async fn org_account(&self, email: &str) -> String {
        let mut c = self.reg.clone();
        c.sign_up(SignUpRequest {
            email: email.into(),
            password: PASSWORD.into(),
            role: common::Role::Org as i32,
        })
        .await
        .unwrap();
        let token = hwx_testkit::mailbox::token(&self.reg_db, email, "sign-up").await;
        c.confirm_sign_up(ConfirmSignUpRequest { token })
            .await
            .unwrap();
        self.login(email).await
    }

    /// An organisation whose S-JOB application went through registration and was approved by its
    /// bureau; returns once the feed has heard of it.
    pub async fn approved_org(&self, email: &str) -> (String, Uuid) {
        let mut c = self.reg.clone();
        let token = self.org_account(email).await;
        let person = |name: &str| ResponsiblePerson {
            name: name.into(),
            contact: "03-1234-5678".into(),
            full_time: true,
        };
        let licence = email
            .bytes()
            .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)))
            % 1_000_000;
        let org = c
            .register_organisation(authed(
                &token,
                RegisterOrganisationRequest {
                    organisation: Some(Organisation {
                        name: "株式会社ハローキャリア".into(),
                        kind: common::OrgKind::K1 as i32,
                        licence_number: format!("13-ユ-{licence:06}"),
                        licence_expiry: Some(common::Date {
                            year: 2029,
                            month: 3,
                            day: 31,
                        }),
                        address: "東京都千代田区丸の内1-1-1".into(),
                        prefecture_code: "13".into(),
                        contact_person: Some(person("山田太郎")),
                        pi_manager: Some(person("佐藤花子")),
                        ..Default::default()
                    }),
                },
            ))
            .await
            .unwrap()
            .into_inner();
        let app = c
            .create_application(authed(
                &token,
                CreateApplicationRequest {
                    organisation_id: org.id.clone(),
                    service: common::ServiceCode::Job as i32,
                    kind: 1,
                    regular_placements_3m: 4,
                    content_changed: false,
                },
            ))
            .await
            .unwrap()
            .into_inner();
        let officer = self
            .staff(&format!("officer-{email}"), "bureau", Some("13"))
            .await;
        c.record_submission(authed(
            &officer,
            RecordSubmissionRequest {
                application_id: app.id.clone(),
                received_on: None,
            },
        ))
        .await
        .unwrap();
        c.decide_application(authed(
            &officer,
            DecideApplicationRequest {
                application_id: app.id,
                approve: true,
                note: "書類を確認しました".into(),
                validity_months: 0,
            },
        ))
        .await
        .unwrap();
        let org_id = Uuid::parse_str(&org.id).unwrap();
        // The approval travels registration → outbox → NATS → the feed's inbox.
        self.until(Duration::from_secs(20), || async {
            self.changes(&token, "", 1).await.is_ok()
        })
        .await;
        (token, org_id)
    }

    /// Poll until `f` holds, or fail after `limit`.
    pub async fn until<F, Fut>(&self, limit: Duration, f: F) -> Duration
    where
        F: Fn() -> Fut,
        Fut: Future<Output = bool>,
    {
        let started = Instant::now();
        while !f().await {
            assert!(
                started.elapsed() < limit,
                "condition not met within {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        started.elapsed()
    }

    pub async fn ingest(
        &self,
        snapshot: Option<&str>,
        postings: Vec<jf::PostingContent>,
    ) -> Result<jf::IngestSummary, tonic::Status> {
        let mut items = Vec::new();
        if let Some(id) = snapshot {
            items.push(jf::IngestRequest {
                item: Some(jf::ingest_request::Item::SnapshotStart(jf::SnapshotStart {
                    snapshot_id: id.into(),
                })),
            });
        }
        let count = postings.len() as i64;
        items.extend(postings.into_iter().map(|p| jf::IngestRequest {
            item: Some(jf::ingest_request::Item::Posting(p)),
        }));
        if snapshot.is_some() {
            items.push(jf::IngestRequest {
                item: Some(jf::ingest_request::Item::SnapshotEnd(jf::SnapshotEnd {
                    count,
                })),
            });
        }
        self.feed
            .clone()
            .ingest_postings(authed(&self.upstream, futures::stream::iter(items)))
            .await
            .map(tonic::Response::into_inner)
    }

    pub async fn changes(
        &self,
        token: &str,
        cursor: &str,
        limit: i32,
    ) -> Result<jf::GetChangesResponse, tonic::Status> {
        self.feed
            .clone()
            .get_changes(authed(
                token,
                jf::GetChangesRequest {
                    cursor: cursor.into(),
                    limit,
                },
            ))
            .await
            .map(tonic::Response::into_inner)
    }

    /// Publish an event as registration (or compliance through it) would.
    pub async fn announce(&self, subject: &str, payload: Vec<u8>) {
        hwx_testkit::publish(&self.env.events(), subject, payload)
            .await
            .unwrap();
    }

    pub async fn stop(self) {
        self.stack.stop().await;
    }
}

/// Posting `i` of the demo generator (valid, deterministic).
pub fn posting(i: u64) -> jf::PostingContent {
    hwx_job_feed::generate::posting(0, i, 0)
}
