//! Seeker matching over real gRPC, with the real registration service authenticating callers and
//! announcing enrolments over real NATS, against real Postgres (one schema and stream per test).

#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed, and says where

mod sql;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use hwx_platform::clock::ManualClock;
use hwx_platform::db::Database;
use hwx_platform::events::Outbox;
use hwx_proto::common::v1 as common;
use hwx_proto::events::v1 as ev;
use hwx_proto::registration::v1::registration_service_client::RegistrationServiceClient;
use hwx_proto::registration::v1::*;
use hwx_proto::seekermatching::v1 as sm;
use hwx_proto::seekermatching::v1::seeker_matching_service_client::SeekerMatchingServiceClient;
use hwx_testkit::Stack;
use tonic::transport::Channel;
use uuid::Uuid;

const PASSWORD: &str = "a long enough password";

#[allow(missing_debug_implementations)] // holds clients and running servers
struct World {
    stack: Stack,
    reg_db: Database,
    db: Database,
    clock: ManualClock,
    reg: RegistrationServiceClient<Channel>,
    sm: SeekerMatchingServiceClient<Channel>,
    upstream: String,
}

fn authed<T>(token: &str, msg: T) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    r.metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    r
}

fn rule(status: &tonic::Status) -> Option<String> {
    hwx_platform::grpc::rule_of(status)
}

fn day(y: i32, m: i32, d: i32) -> Option<common::Date> {
    Some(common::Date {
        year: y,
        month: m,
        day: d,
    })
}

/// A believable consenting seeker in Tokyo who wants `occupation`.
fn seeker(id: &str, occupation: &str, active: i32) -> sm::Seeker {
    sm::Seeker {
        seeker_id: id.into(),
        age_band: 30,
        desired_occupations: vec![occupation.into()],
        desired_prefectures: vec!["13".into()],
        employment_types: vec!["正社員".into()],
        wage_type: "monthly".into(),
        wage_min: 220_000,
        wage_max: 300_000,
        working_hours: "平日日中".into(),
        qualifications: vec!["普通自動車第一種運転免許".into()],
        experience: vec![sm::Experience {
            occupation: occupation.into(),
            years: 3,
        }],
        education: "high_school".into(),
        hello_work_office: "ハローワーク新宿".into(),
        consent_on: day(2026, 10, 1),
        last_active_on: day(2026, 11, active),
        consents: Some(true),
        ..Default::default()
    }
}

impl World {
    async fn start() -> World {
        let clock = ManualClock::new(
            DateTime::parse_from_rfc3339("2026-11-27T10:00:00+09:00")
                .unwrap()
                .with_timezone(&Utc),
        );
        let stack = Stack::with(&[&hwx_registration::SERVICE, &hwx_seeker_matching::SERVICE])
            .clock(Arc::new(clock.clone()))
            .start()
            .await;
        let reg = RegistrationServiceClient::connect(stack.url("registration"))
            .await
            .unwrap();
        let sm = SeekerMatchingServiceClient::connect(stack.url("seeker-matching"))
            .await
            .unwrap();
        let mut w = World {
            reg_db: stack.db("registration"),
            db: stack.db("seeker-matching"),
            stack,
            clock,
            reg,
            sm,
            upstream: String::new(),
        };
        w.upstream = w
            .staff("upstream@hellowork.example", "upstream", None)
            .await;
        w
    }

    async fn stop(self) {
        self.stack.stop().await;
    }

    /// A staff or system account made directly in the database (as operations bootstrap the
    /// first), logged in.
    async fn staff(&self, email: &str, role: &str, bureau: Option<&str>) -> String {
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

    async fn login(&self, email: &str) -> String {
        let r = LoginRequest {
            email: email.into(),
            password: PASSWORD.into(),
        };
        self.reg.clone().login(r).await.unwrap().into_inner().token
    }

    /// An organisation (K1, Tokyo) whose application for `service` its bureau approved; returns
    /// its token and ID once seeker matching has heard of the approval (or at once for S-JOB).
    async fn approved(&self, email: &str, service: common::ServiceCode) -> (String, Uuid) {
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
        let token = self.login(email).await;
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
                        licence_expiry: day(2029, 3, 31),
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
                    service: service as i32,
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
        let org = Uuid::parse_str(&org.id).unwrap();
        if service == common::ServiceCode::Seeker {
            self.until(|| async { self.search(&token, Default::default()).await.is_ok() })
                .await;
        }
        (token, org)
    }

    /// Poll until `f` holds, or fail after 20 s.
    async fn until<F, Fut>(&self, f: F)
    where
        F: Fn() -> Fut,
        Fut: Future<Output = bool>,
    {
        let started = Instant::now();
        while !f().await {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "condition not met within 20 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn ingest(&self, seekers: Vec<sm::Seeker>) -> sm::IngestSeekersSummary {
        let items: Vec<sm::IngestSeekersRequest> = seekers
            .into_iter()
            .map(|s| sm::IngestSeekersRequest {
                item: Some(sm::ingest_seekers_request::Item::Seeker(s)),
            })
            .collect();
        self.sm
            .clone()
            .ingest_seekers(authed(&self.upstream, tokio_stream::iter(items)))
            .await
            .unwrap()
            .into_inner()
    }

    async fn search(
        &self,
        token: &str,
        q: sm::SearchSeekersRequest,
    ) -> Result<sm::SearchSeekersResponse, tonic::Status> {
        self.sm
            .clone()
            .search_seekers(authed(token, q))
            .await
            .map(tonic::Response::into_inner)
    }

    async fn ids(&self, token: &str, q: sm::SearchSeekersRequest) -> Vec<String> {
        self.search(token, q)
            .await
            .unwrap()
            .seekers
            .into_iter()
            .map(|s| s.seeker_id)
            .collect()
    }
}

#[tokio::test]
async fn sk1_an_identifying_record_is_refused_naming_the_field_and_the_rest_is_stored() {
    let w = World::start().await;
    let mut phone = seeker("S-2", "051", 20);
    phone.qualifications = vec!["連絡は 090-1234-5678 まで".into()];
    let mut old = seeker("S-3", "051", 20);
    old.age_band = 33;
    let summary = w
        .ingest(vec![seeker("S-1", "051-03", 20), phone, old])
        .await;
    assert_eq!((summary.stored, summary.refused), (1, 2), "{summary:?}");
    let refused: Vec<(i64, &str, &str, &str)> = summary
        .results
        .iter()
        .map(|r| {
            (
                r.index,
                r.seeker_id.as_str(),
                r.field.as_str(),
                r.rule.as_str(),
            )
        })
        .collect();
    assert_eq!(
        refused,
        [
            (2, "S-2", "qualifications[0]", "SK1"),
            (3, "S-3", "age_band", "")
        ]
    );
    assert!(summary.results[0].message.contains("phone number"));
    let stored: Vec<String> = sqlx::query_scalar("SELECT seeker_id FROM seekers")
        .fetch_all(w.db.pool())
        .await
        .unwrap();
    assert_eq!(stored, ["S-1"]);
    // The same record again writes nothing; a changed one a new row version.
    let again = w.ingest(vec![seeker("S-1", "051-03", 20)]).await;
    assert_eq!((again.stored, again.unchanged), (0, 1));
    let changed = w.ingest(vec![seeker("S-1", "051-03", 21)]).await;
    assert_eq!((changed.stored, changed.unchanged), (1, 0));
    // Only Hello Work's systems send seekers.
    let (org, _) = w
        .approved("info@agency.example.jp", common::ServiceCode::Seeker)
        .await;
    let items = vec![sm::IngestSeekersRequest {
        item: Some(sm::ingest_seekers_request::Item::Seeker(seeker(
            "S-9", "051", 20,
        ))),
    }];
    let e =
        w.sm.clone()
            .ingest_seekers(authed(&org, tokio_stream::iter(items)))
            .await
            .unwrap_err();
    assert_eq!(e.code(), tonic::Code::PermissionDenied);
    w.stop().await;
}

#[tokio::test]
async fn e3_search_needs_an_active_s_seeker_enrolment_and_sn1_cuts_it_at_once() {
    let w = World::start().await;
    w.ingest(vec![seeker("S-1", "051", 20)]).await;
    // Approved for S-JOB only: no S-SEEKER enrolment (E3).
    let (job_only, _) = w
        .approved("job@agency.example.jp", common::ServiceCode::Job)
        .await;
    let e = w.search(&job_only, Default::default()).await.unwrap_err();
    assert_eq!(
        (e.code(), rule(&e).as_deref()),
        (tonic::Code::FailedPrecondition, Some("E3")),
        "{e:?}"
    );
    // Not an organisation at all.
    let e = w.search(&w.upstream, Default::default()).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::PermissionDenied);
    let (org, org_id) = w
        .approved("seeker@agency.example.jp", common::ServiceCode::Seeker)
        .await;
    assert_eq!(w.ids(&org, Default::default()).await, ["S-1"]);
    // Suspended (SN1), as registration or compliance announce it: refused from that event on.
    let mut tx = w.reg_db.pool().begin().await.unwrap();
    Outbox::new("registration", Arc::new(w.clock.clone()))
        .stage(
            &mut tx,
            ev::EnrolmentEnded {
                meta: None,
                organisation_id: org_id.to_string(),
                service: common::ServiceCode::Seeker as i32,
                status: common::EnrolmentStatus::Suspended as i32,
                rule: "SN1".into(),
            },
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    w.until(|| async {
        w.search(&org, Default::default())
            .await
            .is_err_and(|e| rule(&e).as_deref() == Some("SN1"))
    })
    .await;
    w.stop().await;
}

#[tokio::test]
async fn search_filters_at_any_occupation_level_pages_stably_and_never_shows_a_blocker() {
    let w = World::start().await;
    let (org, org_id) = w
        .approved("find@agency.example.jp", common::ServiceCode::Seeker)
        .await;
    let mut osaka = seeker("S-osaka", "051-03", 25);
    osaka.desired_prefectures = vec!["27".into()];
    let mut part = seeker("S-part", "05", 24);
    part.employment_types = vec!["パート労働者".into()];
    part.wage_type = "hourly".into();
    part.wage_min = 1_200;
    part.wage_max = 0;
    w.ingest(vec![
        seeker("S-narrow", "051-03", 23),
        part,
        osaka,
        seeker("S-other", "10", 22),
        // The same day as S-other: the ID breaks the tie, across a page boundary below.
        seeker("S-twin", "10", 22),
        seeker("S-old", "051", 1),
    ])
    .await;
    let q = |occupations: &[&str]| sm::SearchSeekersRequest {
        occupations: occupations.iter().map(|s| (*s).to_owned()).collect(),
        ..Default::default()
    };
    // `05` finds every wish under it; `051-03` also finds the wishes for all of `05` and `051`.
    assert_eq!(
        w.ids(&org, q(&["05"])).await,
        ["S-osaka", "S-part", "S-narrow", "S-old"]
    );
    assert_eq!(
        w.ids(&org, q(&["051-03"])).await,
        ["S-osaka", "S-part", "S-narrow", "S-old"]
    );
    assert_eq!(w.ids(&org, q(&["10"])).await, ["S-twin", "S-other"]);
    let tokyo_full_time = sm::SearchSeekersRequest {
        prefectures: vec!["13".into()],
        employment_types: vec!["正社員".into()],
        active_since: day(2026, 11, 10),
        ..q(&["05"])
    };
    assert_eq!(w.ids(&org, tokyo_full_time).await, ["S-narrow"]);
    let hourly = sm::SearchSeekersRequest {
        wage_type: "hourly".into(),
        wage_offered: 1_300,
        ..Default::default()
    };
    assert_eq!(w.ids(&org, hourly).await, ["S-part"]);
    // Pages of two, in order, each seeker once.
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = w
            .search(
                &org,
                sm::SearchSeekersRequest {
                    page: Some(common::PageRequest {
                        page_size: 2,
                        page_token: token.clone(),
                    }),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        seen.extend(page.seekers.into_iter().map(|s| s.seeker_id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(
        seen,
        [
            "S-osaka", "S-part", "S-narrow", "S-twin", "S-other", "S-old"
        ]
    );
    // SK6b: a seeker who blocked this organisation is never shown to it.
    sqlx::query("INSERT INTO blocks (seeker_id, organisation_id, blocked_at) VALUES ('S-narrow', $1, now())")
        .bind(org_id)
        .execute(w.db.pool())
        .await
        .unwrap();
    assert_eq!(
        w.ids(&org, q(&["051-03"])).await,
        ["S-osaka", "S-part", "S-old"]
    );
    // What an organisation sees identifies nobody: the codes as the classification writes them.
    let shown = w.search(&org, q(&["10"])).await.unwrap().seekers.remove(0);
    assert_eq!(shown.desired_occupations, ["10"]);
    assert_eq!(shown.age_band, 30);
    w.stop().await;
}

#[tokio::test]
async fn a_withdrawn_consent_hides_the_seeker_at_once_and_is_announced_once() {
    let w = World::start().await;
    let (org, _) = w
        .approved("gone@agency.example.jp", common::ServiceCode::Seeker)
        .await;
    w.ingest(vec![seeker("S-1", "051", 20), seeker("S-2", "051", 21)])
        .await;
    let withdraw = sm::Seeker {
        seeker_id: "S-1".into(),
        consents: Some(false),
        ..Default::default()
    };
    for _ in 0..2 {
        let s = w.ingest(vec![withdraw.clone()]).await;
        assert_eq!(s.withdrawn, 1, "{s:?}");
        assert_eq!(w.ids(&org, Default::default()).await, ["S-2"]);
    }
    // A record that does not say whether the seeker consents withdraws nobody: it is refused.
    let silent = sm::Seeker {
        consents: None,
        ..seeker("S-2", "051", 22)
    };
    let s = w.ingest(vec![silent]).await;
    assert_eq!((s.refused, s.withdrawn), (1, 0), "{s:?}");
    assert_eq!(s.results[0].field, "consents");
    assert_eq!(w.ids(&org, Default::default()).await, ["S-2"]);
    let announced: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM outbox WHERE subject = 'hwx.seekermatching.consent.withdrawn'",
    )
    .fetch_one(w.db.pool())
    .await
    .unwrap();
    assert_eq!(announced, 1);
    // Stored and withdrawn in one request: applied in the order sent.
    let s = w
        .ingest(vec![
            seeker("S-3", "051", 22),
            sm::Seeker {
                seeker_id: "S-3".into(),
                consents: Some(false),
                ..Default::default()
            },
        ])
        .await;
    assert_eq!((s.stored, s.withdrawn), (1, 1));
    assert_eq!(w.ids(&org, Default::default()).await, ["S-2"]);
    w.stop().await;
}

/// The organisation's view of an acquisition: (acquired on, accept by, deletion due, rule).
fn dates(a: &sm::Acquisition) -> (String, String, String, String) {
    let d = |d: &Option<common::Date>| {
        d.as_ref()
            .map(|d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day))
            .unwrap_or_default()
    };
    (
        d(&a.acquired_on),
        d(&a.accept_by),
        d(&a.deletion_due),
        a.deletion_rule.clone(),
    )
}

#[tokio::test]
async fn sk6_acquisitions_carry_their_deletion_deadlines_across_a_fiscal_year_end() {
    let w = World::start().await;
    let email = "hold@agency.example.jp";
    let (org, _) = w.approved(email, common::ServiceCode::Seeker).await;
    w.ingest(vec![
        seeker("S-1", "051", 20),
        seeker("S-2", "051", 21),
        seeker("S-3", "051", 22),
    ])
    .await;
    let open = |token: String, id: &'static str| {
        let mut c = w.sm.clone();
        async move {
            c.get_seeker(authed(
                &token,
                sm::GetSeekerRequest {
                    seeker_id: id.into(),
                },
            ))
            .await
        }
    };
    let accept = |token: String, id: String| {
        let mut c = w.sm.clone();
        async move {
            c.accept_seeker(authed(
                &token,
                sm::AcceptSeekerRequest { acquisition_id: id },
            ))
            .await
        }
    };
    // Opened on 2026-11-27: SK6c, accept by the last day of the month after next.
    let first = open(org.clone(), "S-1").await.unwrap().into_inner();
    let s1 = first.acquisition.unwrap();
    assert_eq!(first.seeker.unwrap().seeker_id, "S-1");
    assert_eq!(
        dates(&s1),
        (
            "2026-11-27".into(),
            "2027-01-31".into(),
            "2027-02-01".into(),
            "SK6c".into()
        )
    );
    // Opened again while held: the same acquisition, announced once.
    let again = open(org.clone(), "S-1").await.unwrap().into_inner();
    assert_eq!(again.acquisition.unwrap().id, s1.id);
    let announced = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM outbox WHERE subject = 'hwx.seekermatching.seeker.acquired'",
        )
        .fetch_one(w.db.pool())
        .await
        .unwrap()
    };
    assert_eq!(announced().await, 1);
    // Accepted on its last day, 2027-01-31 (FY2026): SK6d, kept through 2028-03-31.
    w.clock.advance(chrono::Duration::days(65));
    let org = w.login(email).await;
    let s1 = accept(org.clone(), s1.id).await.unwrap().into_inner();
    assert_eq!(
        (dates(&s1).2, dates(&s1).3),
        ("2028-04-01".into(), "SK6d".into())
    );
    // Opened 2027-02-10, accepted 2027-04-02 (FY2027): kept through 2029-03-31.
    w.clock.advance(chrono::Duration::days(10));
    let org = w.login(email).await;
    let s2 = open(org.clone(), "S-2")
        .await
        .unwrap()
        .into_inner()
        .acquisition
        .unwrap();
    let s3 = open(org.clone(), "S-3")
        .await
        .unwrap()
        .into_inner()
        .acquisition
        .unwrap();
    assert_eq!(
        dates(&s2),
        (
            "2027-02-10".into(),
            "2027-04-30".into(),
            "2027-05-01".into(),
            "SK6c".into()
        )
    );
    w.clock.advance(chrono::Duration::days(51));
    let org = w.login(email).await;
    let s2 = accept(org.clone(), s2.id).await.unwrap().into_inner();
    assert_eq!(
        (dates(&s2).2, dates(&s2).3),
        ("2029-04-01".into(), "SK6d".into())
    );
    // Too late: S-3's acceptance ended with April; it is due for deletion instead.
    w.clock.advance(chrono::Duration::days(29));
    let org = w.login(email).await;
    let e = accept(org.clone(), s3.id.clone()).await.unwrap_err();
    assert_eq!(rule(&e).as_deref(), Some("SK6c"), "{e:?}");
    // What it holds, soonest deletion first.
    let held: Vec<(String, String)> =
        w.sm.clone()
            .list_acquisitions(authed(&org, sm::ListAcquisitionsRequest::default()))
            .await
            .unwrap()
            .into_inner()
            .acquisitions
            .iter()
            .map(|a| (a.seeker_id.clone(), dates(a).2))
            .collect();
    assert_eq!(
        held,
        [
            ("S-3".into(), "2027-05-01".into()),
            ("S-1".into(), "2028-04-01".into()),
            ("S-2".into(), "2029-04-01".into())
        ]
    );
    // Past its deletion day S-3's hold has ended: opening it again is a new acquisition.
    let s3_again = open(org.clone(), "S-3")
        .await
        .unwrap()
        .into_inner()
        .acquisition
        .unwrap();
    assert_ne!(s3_again.id, s3.id);
    assert_eq!(
        dates(&s3_again),
        (
            "2027-05-01".into(),
            "2027-07-31".into(),
            "2027-08-01".into(),
            "SK6c".into()
        )
    );
    assert_eq!(announced().await, 4);
    // A seeker who withdrew is due for deletion, never accepted into a longer hold (SK6b).
    w.ingest(vec![seeker("S-4", "051", 22)]).await;
    let s4 = open(org.clone(), "S-4")
        .await
        .unwrap()
        .into_inner()
        .acquisition
        .unwrap();
    w.ingest(vec![sm::Seeker {
        seeker_id: "S-4".into(),
        consents: Some(false),
        ..Default::default()
    }])
    .await;
    let e = accept(org.clone(), s4.id).await.unwrap_err();
    assert_eq!(rule(&e).as_deref(), Some("SK6b"), "{e:?}");
    // Another organisation's acquisition is answered as an unknown one.
    let (other, _) = w
        .approved("other@agency.example.jp", common::ServiceCode::Seeker)
        .await;
    let e = accept(other, s3.id).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::NotFound);
    w.stop().await;
}
