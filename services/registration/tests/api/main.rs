//! The registration service over real gRPC, against real Postgres and NATS (one schema and
//! stream per test).

#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed, and says where

mod notices;
mod sql;
mod story;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use hwx_platform::clock::ManualClock;
use hwx_platform::db::Database;
use hwx_proto::common::v1 as common;
use hwx_proto::registration::v1::registration_service_client::RegistrationServiceClient;
use hwx_proto::registration::v1::*;
use hwx_registration::auth;
use hwx_testkit::Stack;
use tonic::transport::Channel;
use uuid::Uuid;

#[allow(missing_debug_implementations)] // holds a client and a running server
pub struct Harness {
    pub stack: Stack,
    pub db: Database,
    pub clock: ManualClock,
    pub client: RegistrationServiceClient<Channel>,
}

impl std::ops::Deref for Harness {
    type Target = Stack;
    fn deref(&self) -> &Stack {
        &self.stack
    }
}

impl Harness {
    /// A registration service on a free port, its clock at `at`.
    pub async fn start(at: &str) -> Harness {
        notices::capture();
        let clock = ManualClock::new(
            DateTime::parse_from_rfc3339(at)
                .unwrap()
                .with_timezone(&Utc),
        );
        let stack = Stack::with(&[&hwx_registration::SERVICE])
            .clock(Arc::new(clock.clone()))
            .start()
            .await;
        let client = RegistrationServiceClient::connect(stack.url("registration"))
            .await
            .unwrap();
        let db = stack.db("registration");
        Harness {
            stack,
            db,
            clock,
            client,
        }
    }

    pub fn advance_days(&self, days: i64) {
        self.clock.advance(Duration::days(days));
    }

    /// A staff account made directly in the database: operations bootstrap the first one.
    pub async fn staff(&self, email: &str, role: &str, bureau: Option<&str>) -> String {
        let hash = auth::hash_password("correct horse battery".into())
            .await
            .unwrap();
        sqlx::query("INSERT INTO accounts (id, email, password_hash, role, bureau_code) VALUES ($1, $2, $3, $4, $5)")
            .bind(Uuid::now_v7())
            .bind(email)
            .bind(hash)
            .bind(role)
            .bind(bureau)
            .execute(self.db.pool())
            .await
            .unwrap();
        self.login(email, "correct horse battery").await
    }

    /// A bureau officer records that the signed application arrived (today).
    pub async fn record_submission(&self, officer: &str, application_id: &str) {
        self.client
            .clone()
            .record_submission(authed(
                officer,
                RecordSubmissionRequest {
                    application_id: application_id.into(),
                    received_on: None,
                },
            ))
            .await
            .unwrap();
    }

    /// A bureau officer decides an application.
    pub async fn decide(
        &self,
        officer: &str,
        application_id: &str,
        approve: bool,
    ) -> Result<Application, tonic::Status> {
        self.client
            .clone()
            .decide_application(authed(
                officer,
                DecideApplicationRequest {
                    application_id: application_id.into(),
                    approve,
                    ..Default::default()
                },
            ))
            .await
            .map(tonic::Response::into_inner)
    }

    pub async fn login(&self, email: &str, password: &str) -> String {
        let s = self
            .client
            .clone()
            .login(LoginRequest {
                email: email.into(),
                password: password.into(),
            })
            .await
            .unwrap();
        s.into_inner().token
    }

    /// Sign up, and confirm with the token from the notice the notifier logged: the account
    /// exists.
    pub async fn sign_up(&self, email: &str, password: &str, role: common::Role) -> Account {
        let mut c = self.client.clone();
        let before = notices::logged_for(email).len();
        c.sign_up(SignUpRequest {
            email: email.into(),
            password: password.into(),
            role: role as i32,
        })
        .await
        .unwrap();
        let token = notices::token(&notices::wait_for(email, before + 1).await);
        c.confirm_sign_up(ConfirmSignUpRequest { token })
            .await
            .unwrap()
            .into_inner()
    }

    /// Sign up an organisation account, log in and register the organisation.
    pub async fn organisation(
        &self,
        email: &str,
        kind: common::OrgKind,
        school: common::School,
        prefecture: &str,
    ) -> (String, Organisation) {
        let mut c = self.client.clone();
        self.sign_up(email, "a long enough password", common::Role::Org)
            .await;
        let token = self.login(email, "a long enough password").await;
        let org = c
            .register_organisation(authed(
                &token,
                RegisterOrganisationRequest {
                    // Each organisation its own licence number, as in life.
                    organisation: Some(Organisation {
                        licence_number: licence_for(email),
                        ..org_input(kind, school, prefecture)
                    }),
                },
            ))
            .await
            .unwrap();
        (token, org.into_inner())
    }

    pub async fn stop(self) {
        self.stack.stop().await;
    }
}

pub fn authed<T>(token: &str, msg: T) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    r.metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    r
}

pub fn person(name: &str) -> ResponsiblePerson {
    ResponsiblePerson {
        name: name.into(),
        contact: "03-1234-5678".into(),
        full_time: true,
    }
}

pub fn org_input(kind: common::OrgKind, school: common::School, prefecture: &str) -> Organisation {
    Organisation {
        name: "株式会社ハローキャリア".into(),
        kind: kind as i32,
        school: school as i32,
        licence_number: "13-ユ-300001".into(),
        licence_expiry: Some(common::Date {
            year: 2029,
            month: 3,
            day: 31,
        }),
        address: "東京都千代田区丸の内1-1-1".into(),
        prefecture_code: prefecture.into(),
        handles_subsidies: true,
        certifications: vec!["プライバシーマーク".into()],
        contact_person: Some(person("山田太郎")),
        pi_manager: Some(person("佐藤花子")),
        ..Default::default()
    }
}

/// The rule ID a refusal carries.
pub fn rule(status: &tonic::Status) -> Option<String> {
    hwx_platform::grpc::rule_of(status)
}

/// A licence number unique to an email: a revocation in one test case bars only that licence.
pub fn licence_for(email: &str) -> String {
    let n = email
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)))
        % 1_000_000;
    format!("13-ユ-{n:06}")
}
