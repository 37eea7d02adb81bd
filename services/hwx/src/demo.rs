//! `hwx demo seed`: a believable set of bureau officers, organisations of all four kinds and
//! applications in several states, made through the registration service's own API (started in
//! process on a free port), so the data is exactly what real use would leave behind.

use std::process::ExitCode;

use hwx_platform::codes::Code;
use hwx_platform::config::Config;
use hwx_platform::events::{Events, Outbox};
use hwx_platform::kit::Host;
use hwx_proto::common::v1 as common;
use hwx_proto::registration::v1::registration_service_client::RegistrationServiceClient;
use hwx_proto::registration::v1::*;
use hwx_rules::access::EnrolmentStatus;
use hwx_rules::eligibility::Service;
use tonic::transport::Channel;

/// Password of every demo account.
pub const PASSWORD: &str = "hwx-demo-password";

/// Hello Work's system account of the demo (role upstream).
pub const UPSTREAM: &str = "upstream@hwx.example.go.jp";

struct Org {
    email: &'static str,
    name: &'static str,
    kind: common::OrgKind,
    school: common::School,
    licence: &'static str,
    prefecture: &'static str,
    address: &'static str,
    /// What happens to its S-JOB application: registered, submitted, approved, rejected.
    fate: &'static str,
    /// Its use is revoked (SN2) after its approval: the revoked list (L1) and the E8 bar.
    revoked: bool,
    /// Also approved for S-SEEKER (E3: K1, K2 or K4 with placements in the last 3 months): it
    /// may search seekers.
    seeker: bool,
}

const ORGS: &[Org] = &[
    Org {
        email: "info@mirai-career.example.jp",
        name: "株式会社みらいキャリア",
        kind: common::OrgKind::K1,
        school: common::School::Unspecified,
        licence: "13-ユ-310001",
        prefecture: "13",
        address: "東京都千代田区丸の内2-4-1",
        fate: "approved",
        revoked: false,
        seeker: true,
    },
    Org {
        email: "shien@furusato.example.jp",
        name: "一般社団法人ふるさと就職支援",
        kind: common::OrgKind::K2,
        school: common::School::Unspecified,
        licence: "01-ム-300012",
        prefecture: "01",
        address: "北海道札幌市中央区北1条西2-1",
        fate: "submitted",
        revoked: false,
        seeker: false,
    },
    Org {
        email: "career@minato-u.example.ac.jp",
        name: "国立みなと大学 キャリアセンター",
        kind: common::OrgKind::K3,
        school: common::School::University,
        licence: "27-学-000123",
        prefecture: "27",
        address: "大阪府大阪市港区築港3-1-1",
        fate: "registered",
        revoked: false,
        seeker: false,
    },
    Org {
        email: "shokai@osaka-cci.example.or.jp",
        name: "大阪商工会議所 職業紹介所",
        kind: common::OrgKind::K4,
        school: common::School::Unspecified,
        licence: "27-特-000045",
        prefecture: "27",
        address: "大阪府大阪市中央区本町橋2-8",
        fate: "rejected",
        revoked: false,
        seeker: false,
    },
    Org {
        email: "info@hakata-jinzai.example.jp",
        name: "株式会社博多人材サービス",
        kind: common::OrgKind::K1,
        school: common::School::Unspecified,
        licence: "40-ユ-300777",
        prefecture: "40",
        address: "福岡県福岡市博多区博多駅前3-2-1",
        fate: "approved",
        revoked: true,
        seeker: false,
    },
];

const OFFICERS: &[(&str, &str)] = &[
    ("officer@tokyo-roudoukyoku.example.go.jp", "13"),
    ("officer@hokkaido-roudoukyoku.example.go.jp", "01"),
    ("officer@osaka-roudoukyoku.example.go.jp", "27"),
    ("officer@fukuoka-roudoukyoku.example.go.jp", "40"),
];

pub(crate) fn authed<T>(token: &str, msg: T) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    if let Ok(v) = format!("Bearer {token}").parse() {
        r.metadata_mut().insert("authorization", v);
    }
    r
}

pub(crate) async fn login(
    c: &mut RegistrationServiceClient<Channel>,
    email: &str,
) -> Result<String, String> {
    c.login(LoginRequest {
        email: email.into(),
        password: PASSWORD.into(),
    })
    .await
    .map(|r| r.into_inner().token)
    .map_err(|e| format!("login {email}: {}", e.message()))
}

pub fn seed() -> ExitCode {
    match crate::serve::tool_config() {
        Ok(cfg) => crate::serve::command("demo seed", run(cfg)),
        Err(code) => code,
    }
}

async fn run(mut cfg: Config) -> Result<(), String> {
    hwx_platform::db::ensure_database(cfg.database_url.expose())
        .await
        .map_err(|e| e.to_string())?;
    let events = Events::connect(&cfg.nats_url, &cfg.subject_prefix)
        .await
        .map_err(|e| e.to_string())?;
    let clock = hwx_platform::clock::parse(&cfg.clock)?;
    let today = clock.now_jst().date_naive();
    let outbox = Outbox::new(hwx_registration::SERVICE.name, clock.clone());
    // Its own registration service on a free port, beside any that runs already (and no second
    // Prometheus endpoint on the running one's address).
    cfg.metrics_addr = None;
    if let Some(e) = cfg.services.get_mut(hwx_registration::SERVICE.name) {
        e.addr = Some(std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
        e.url.clear();
    }
    let mut host = Host::new(cfg, clock, events);
    let svc = host.start(&hwx_registration::SERVICE).await?;
    let db = svc
        .db
        .clone()
        .ok_or("registration runs without its schema")?;
    let mut c = RegistrationServiceClient::connect(format!("http://{}", svc.addr))
        .await
        .map_err(|e| e.to_string())?;

    let seeded: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM accounts WHERE email = 'ops@hwx.example.go.jp')",
    )
    .fetch_one(db.pool())
    .await
    .map_err(|e| e.to_string())?;
    if seeded {
        println!("demo data is already there.");
    } else {
        // Operations bootstrap the first account; every other account goes through the API.
        let hash = hwx_registration::auth::hash_password(PASSWORD.into())
            .await
            .map_err(|e| e.to_string())?;
        sqlx::query("INSERT INTO accounts (id, email, password_hash, role) VALUES (gen_random_uuid(), 'ops@hwx.example.go.jp', $1, 'ops')")
            .bind(hash)
            .execute(db.pool())
            .await
            .map_err(|e| e.to_string())?;
        let ops = login(&mut c, "ops@hwx.example.go.jp").await?;
        for (email, bureau) in OFFICERS {
            c.create_account(authed(
                &ops,
                CreateAccountRequest {
                    email: (*email).into(),
                    password: PASSWORD.into(),
                    role: common::Role::Bureau as i32,
                    bureau_code: (*bureau).into(),
                },
            ))
            .await
            .map_err(|e| format!("{email}: {}", e.message()))?;
        }
        for org in ORGS {
            seed_org(&mut c, &ops, org).await?;
        }
        // One organisation revoked after its approval (today, by the service's clock: an
        // approval after a revocation is refused, SN2), for the revoked list (L1) and the E8 bar.
        // The revocation and its announcement commit together, so the job feed cuts the
        // organisation off.
        let mut tx = db.pool().begin().await.map_err(|e| e.to_string())?;
        for org in ORGS.iter().filter(|o| o.revoked) {
            sqlx::query("UPDATE organisations SET revoked_on = $1 WHERE name = $2")
                .bind(today)
                .bind(org.name)
                .execute(&mut *tx)
                .await
                .map_err(|e| e.to_string())?;
        }
        let revoked: Vec<(uuid::Uuid, String)> = sqlx::query_as(
            "UPDATE enrolments SET status = 'revoked'
              WHERE status IN ('active', 'suspended')
                AND organisation_id IN (SELECT id FROM organisations WHERE revoked_on IS NOT NULL)
             RETURNING organisation_id, service",
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| e.to_string())?;
        for (org, service) in revoked {
            let service = Service::parse(&service).map_err(|e| e.to_string())?;
            hwx_registration::events::enrolment_ended(
                &outbox,
                &mut tx,
                org,
                service,
                EnrolmentStatus::Revoked,
                hwx_rules::RuleId::SN2,
            )
            .await
            .map_err(|e| e.to_string())?;
        }
        tx.commit().await.map_err(|e| e.to_string())?;
        println!(
            "demo data created: {} organisations, {} bureau officers.",
            ORGS.len(),
            OFFICERS.len()
        );
    }
    // Hello Work's system account feeds postings in (`hwx demo postings`); older demo data may
    // lack it.
    let has_upstream: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM accounts WHERE email = $1)")
            .bind(UPSTREAM)
            .fetch_one(db.pool())
            .await
            .map_err(|e| e.to_string())?;
    if !has_upstream {
        let ops = login(&mut c, "ops@hwx.example.go.jp").await?;
        c.create_account(authed(
            &ops,
            CreateAccountRequest {
                email: UPSTREAM.into(),
                password: PASSWORD.into(),
                role: common::Role::Upstream as i32,
                bureau_code: String::new(),
            },
        ))
        .await
        .map_err(|e| format!("{UPSTREAM}: {}", e.message()))?;
    }
    let mut fates = Vec::new();
    for org in ORGS {
        let revoked: Option<chrono::NaiveDate> =
            sqlx::query_scalar("SELECT revoked_on FROM organisations WHERE name = $1")
                .bind(org.name)
                .fetch_optional(db.pool())
                .await
                .map_err(|e| e.to_string())?
                .flatten();
        fates.push(match revoked {
            Some(on) => format!(
                "S-JOB application approved, then its use revoked on {on} (SN2; no new application before {}, E8)",
                hwx_rules::deadline::reapply_from(on).map_err(|e| e.to_string())?
            ),
            None if org.seeker => format!("S-JOB application {}, and S-SEEKER approved", org.fate),
            None => format!("S-JOB application {}", org.fate),
        });
    }
    // Stopping flushes the outbox: the events of the demo data are on NATS before this returns.
    host.stop();
    svc.join().await;

    println!("\nLog in (POST /v1/sessions) with any of these, password {PASSWORD:?}:");
    println!("  operations            ops@hwx.example.go.jp");
    println!("  Hello Work (upstream) {UPSTREAM}");
    for (email, bureau) in OFFICERS {
        println!("  bureau {bureau}             {email}");
    }
    for (org, fate) in ORGS.iter().zip(&fates) {
        println!(
            "  organisation {:?}       {}  ({}, {fate})",
            org.kind, org.email, org.name
        );
    }
    Ok(())
}

/// An application for `service`, taken as far as `fate` (registered, submitted, approved,
/// rejected) by the bureau's `officer`; a refusal says at which step.
async fn apply(
    c: &mut RegistrationServiceClient<Channel>,
    token: &str,
    org: &str,
    officer: &str,
    service: common::ServiceCode,
    fate: &str,
) -> Result<(), (&'static str, tonic::Status)> {
    let app = c
        .create_application(authed(
            token,
            CreateApplicationRequest {
                organisation_id: org.to_owned(),
                service: service as i32,
                kind: 1,
                regular_placements_3m: 4,
                content_changed: false,
            },
        ))
        .await
        .map_err(|e| ("application", e))?
        .into_inner();
    if fate == "registered" {
        return Ok(());
    }
    let officer = login(c, officer)
        .await
        .map_err(|e| ("officer login", tonic::Status::unauthenticated(e)))?;
    c.record_submission(authed(
        &officer,
        RecordSubmissionRequest {
            application_id: app.id.clone(),
            received_on: None,
        },
    ))
    .await
    .map_err(|e| ("submission", e))?;
    if fate == "submitted" {
        return Ok(());
    }
    let approve = fate == "approved";
    let note = if approve {
        "書類を確認しました"
    } else {
        "添付書類に不備があります"
    };
    c.decide_application(authed(
        &officer,
        DecideApplicationRequest {
            application_id: app.id,
            approve,
            note: note.into(),
            validity_months: 0,
        },
    ))
    .await
    .map_err(|e| ("decision", e))?;
    Ok(())
}

/// A demo organisation, its account made by operations (a person signing up confirms the email
/// first; the demo's mailboxes are made up).
async fn seed_org(
    c: &mut RegistrationServiceClient<Channel>,
    ops: &str,
    o: &Org,
) -> Result<(), String> {
    let err = |what: &str, e: tonic::Status| format!("{} {what}: {}", o.name, e.message());
    c.create_account(authed(
        ops,
        CreateAccountRequest {
            email: o.email.into(),
            password: PASSWORD.into(),
            role: common::Role::Org as i32,
            bureau_code: String::new(),
        },
    ))
    .await
    .map_err(|e| err("account", e))?;
    let token = login(c, o.email).await?;
    let person = |name: &str| ResponsiblePerson {
        name: name.into(),
        contact: "03-5253-1111".into(),
        full_time: true,
    };
    let organisation = Organisation {
        name: o.name.into(),
        kind: o.kind as i32,
        school: o.school as i32,
        licence_number: o.licence.into(),
        licence_expiry: Some(common::Date {
            year: 2029,
            month: 3,
            day: 31,
        }),
        address: o.address.into(),
        prefecture_code: o.prefecture.into(),
        handles_subsidies: o.kind == common::OrgKind::K1,
        certifications: if o.kind == common::OrgKind::K1 {
            vec!["プライバシーマーク".into(), "職業紹介優良事業者".into()]
        } else {
            vec![]
        },
        contact_person: Some(person("山田 太郎")),
        pi_manager: Some(person("佐藤 花子")),
        mandatory_info: Some(MandatoryInfo {
            placement_record: "2025年度 常用就職 48件".into(),
            occupations: vec!["事務的職業".into(), "販売の職業".into()],
            industries: vec!["卸売業，小売業".into()],
            regions: vec!["関東".into()],
            seeker_fees: "なし".into(),
            pi_manager_name: "佐藤 花子".into(),
            pi_manager_contact: "privacy@example.jp".into(),
            contacts: vec!["03-5253-1111".into()],
            version: 0,
        }),
        ..Default::default()
    };
    let org = c
        .register_organisation(authed(
            &token,
            RegisterOrganisationRequest {
                organisation: Some(organisation),
            },
        ))
        .await
        .map_err(|e| err("organisation", e))?
        .into_inner();
    let officer = OFFICERS
        .iter()
        .find(|(_, b)| *b == o.prefecture)
        .map(|(e, _)| *e)
        .ok_or("no officer for the bureau")?;
    // Its S-JOB application goes as far as its fate says; S-SEEKER, where it has one, is approved.
    let seeker = o
        .seeker
        .then_some((common::ServiceCode::Seeker, "approved"));
    for (service, fate) in std::iter::once((common::ServiceCode::Job, o.fate)).chain(seeker) {
        apply(c, &token, &org.id, officer, service, fate)
            .await
            .map_err(|(what, e)| err(&format!("{service:?} {what}"), e))?;
    }
    Ok(())
}
