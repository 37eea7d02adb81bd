use std::time::Duration as StdDuration;

use futures_lite_wait::wait_until;
use hwx_proto::common::v1 as common;
use hwx_proto::events::v1 as ev;
use hwx_proto::registration::v1::*;
use prost::Message;
use tonic::Code;

use crate::{Harness, authed, rule};

mod futures_lite_wait {
    use std::future::Future;
    use std::time::Duration;

    /// Poll `check` until it holds or 10 s pass.
    pub async fn wait_until<F, Fut>(mut check: F) -> bool
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = bool>,
    {
        for _ in 0..200 {
            if check().await {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    }
}

/// The application PDF as poppler shows it, a reader with no Japanese fonts of its own: every
/// font embedded (as CID TrueType), the expected text extractable, ink on the first page.
/// Needs poppler-utils (`scripts/deps` installs it). Without it the check is skipped with a
/// note, unless `CI` or `HWX_REQUIRE_POPPLER` is set: then it fails.
mod poppler {
    use std::path::Path;
    use std::process::Command;
    use std::time::{SystemTime, UNIX_EPOCH};

    const TOOLS: [&str; 3] = ["pdffonts", "pdftotext", "pdftoppm"];

    fn required() -> bool {
        ["CI", "HWX_REQUIRE_POPPLER"].into_iter().any(|name| {
            std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
        })
    }

    /// `tool before… pdf after…`: its standard output, after checking that it succeeded and
    /// reported no errors (poppler prints "Syntax Error: …" and the like for what it cannot show).
    fn run(tool: &str, before: &[&str], pdf: &Path, after: &[&str]) -> Vec<u8> {
        let output = Command::new(tool)
            .args(before)
            .arg(pdf)
            .args(after)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success() && !stderr.contains("Error"),
            "{tool} {}: {}\n{stderr}",
            pdf.display(),
            output.status
        );
        output.stdout
    }

    pub fn check(pdf: &[u8], expected: &[&str]) {
        let missing: Vec<&str> = TOOLS
            .into_iter()
            .filter(|&tool| Command::new(tool).arg("-v").output().is_err())
            .collect();
        if !missing.is_empty() {
            assert!(
                !required(),
                "CI/HWX_REQUIRE_POPPLER: the application PDF must be checked with poppler, \
                 but {missing:?} are not on PATH (scripts/deps installs poppler-utils)"
            );
            eprintln!(
                "note: {missing:?} not on PATH: the application PDF is not checked with poppler \
                 (install poppler-utils; CI requires it)"
            );
            return;
        }
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let path = std::env::temp_dir().join(format!(
            "hwx-application-{}-{nanos}.pdf",
            std::process::id()
        ));
        std::fs::write(&path, pdf).unwrap();

        // A header of two lines, then a font a line: name, type (two words for "CID
        // TrueType"), encoding, then emb sub uni yes/no and the object number and generation.
        let fonts = String::from_utf8(run("pdffonts", &[], &path, &[])).unwrap();
        let rows: Vec<&str> = fonts.lines().skip(2).collect();
        assert!(!rows.is_empty(), "no fonts in {}: {fonts}", path.display());
        for row in rows {
            let columns: Vec<&str> = row.split_whitespace().collect();
            assert!(
                row.contains(" CID TrueType ")
                    && columns.len() >= 8
                    && columns[columns.len() - 5] == "yes",
                "every font embedded, as CID TrueType: {fonts}"
            );
        }

        let text = String::from_utf8(run("pdftotext", &["-enc", "UTF-8"], &path, &["-"])).unwrap();
        for wanted in expected {
            assert!(text.contains(wanted), "{wanted} in the text: {text}");
        }

        // Page 1 in grey at 50 dpi, as a binary PGM: the header (P5, width, height and maximum
        // value, separated by whitespace, with # comments), one whitespace byte, the pixels.
        let pgm = run(
            "pdftoppm",
            &["-r", "50", "-gray", "-f", "1", "-l", "1", "-singlefile"],
            &path,
            &[],
        );
        let mut header = Vec::new();
        let mut at = 0;
        while header.len() < 4 {
            if pgm[at].is_ascii_whitespace() {
                at += 1;
            } else if pgm[at] == b'#' {
                while pgm[at] != b'\n' {
                    at += 1;
                }
            } else {
                let start = at;
                while !pgm[at].is_ascii_whitespace() {
                    at += 1;
                }
                header.push(String::from_utf8_lossy(&pgm[start..at]).into_owned());
            }
        }
        assert_eq!(header[0], "P5");
        let width: usize = header[1].parse().unwrap();
        let height: usize = header[2].parse().unwrap();
        let max: u16 = header[3].parse().unwrap();
        assert!(max < 256, "8-bit grey: {header:?}");
        let pixels = &pgm[at + 1..];
        assert_eq!(pixels.len(), width * height);
        let dark = pixels.iter().filter(|&&p| u16::from(p) * 2 < max).count();
        // A page of text has a few thousand at this size; without its fonts, none.
        assert!(
            dark > 1000 && dark < pixels.len() / 4,
            "{dark} dark pixels of {} on page 1 of {}",
            pixels.len(),
            path.display()
        );

        std::fs::remove_file(&path).unwrap();
    }
}

fn job() -> i32 {
    common::ServiceCode::Job as i32
}

#[tokio::test]
async fn ap1_ap2_ap4_l1_sign_up_apply_submit_approve_listed() {
    // Friday 2026-11-27, 10:00 JST.
    let h = Harness::start("2026-11-27T10:00:00+09:00").await;
    let mut c = h.client.clone();
    let (org_token, org) = h
        .organisation(
            "info@hello-career.example.jp",
            common::OrgKind::K1,
            common::School::Unspecified,
            "13",
        )
        .await;
    assert_eq!(
        org.bureau_email_due,
        Some(common::Date {
            year: 2026,
            month: 12,
            day: 2
        }),
        "D2: third business day"
    );

    let app = c
        .create_application(authed(
            &org_token,
            CreateApplicationRequest {
                organisation_id: org.id.clone(),
                service: job(),
                kind: 1,
                regular_placements_3m: 0,
                content_changed: false,
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(app.status, ApplicationStatus::Registered as i32);
    assert_eq!(
        app.submission_deadline,
        Some(common::Date {
            year: 2026,
            month: 12,
            day: 11
        }),
        "D1: 14 days, 12/11 Friday"
    );

    let pdf = c
        .get_application_pdf(authed(
            &org_token,
            GetApplicationRequest { id: app.id.clone() },
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(pdf.pdf.starts_with(b"%PDF-1.4") && pdf.pdf.ends_with(b"%%EOF\n"));
    let raw = String::from_utf8_lossy(&pdf.pdf);
    assert!(
        raw.contains("+BIZUDPGothic-Regular") && raw.contains("/FontFile2"),
        "the PDF embeds a subset of its font, so every reader shows the text"
    );
    // The organisation's name and a field for the representative's name, as a reader shows them.
    poppler::check(&pdf.pdf, &["株式会社ハローキャリア", "代表者氏名（自署）"]);

    // Three days on, the Tokyo bureau (13) receives the signed PDF and approves.
    h.advance_days(3);
    let bureau = h
        .staff(
            "officer@tokyo-roudoukyoku.example.go.jp",
            "bureau",
            Some("13"),
        )
        .await;
    let submitted = c
        .record_submission(authed(
            &bureau,
            RecordSubmissionRequest {
                application_id: app.id.clone(),
                received_on: None,
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(submitted.status, ApplicationStatus::Submitted as i32);
    let approved = c
        .decide_application(authed(
            &bureau,
            DecideApplicationRequest {
                application_id: app.id.clone(),
                approve: true,
                note: "書類確認済み".into(),
                validity_months: 0,
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(approved.status, ApplicationStatus::Approved as i32);
    // Sessions last 12 hours: the organisation logs in again three days on.
    let org_token = h
        .login("info@hello-career.example.jp", "a long enough password")
        .await;

    let enrolments = c
        .list_enrolments(authed(
            &org_token,
            ListEnrolmentsRequest {
                organisation_id: org.id.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .enrolments;
    assert_eq!(enrolments.len(), 1);
    assert_eq!(enrolments[0].status, common::EnrolmentStatus::Active as i32);
    assert_eq!(
        enrolments[0].valid_until,
        Some(common::Date {
            year: 2027,
            month: 11,
            day: 29
        }),
        "D8: one year from 11/30"
    );

    // L1: public, no login.
    let list = c
        .list_public_organisations(ListPublicOrganisationsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .organisations;
    assert_eq!(list.len(), 1);
    assert_eq!(
        (list[0].name.as_str(), list[0].suspended),
        ("株式会社ハローキャリア", false)
    );

    // The approval reached NATS through the outbox, exactly once.
    let js = h.env.events();
    let stream = js.ensure_stream().await.unwrap();
    let published = wait_until(|| {
        let stream = stream.clone();
        async move {
            let mut s = stream.clone();
            s.info()
                .await
                .map(|i| i.state.messages >= 2)
                .unwrap_or(false)
        }
    })
    .await;
    assert!(published, "org.registered and org.approved were published");
    let msg = stream
        .get_last_raw_message_by_subject(&js.subject("hwx.registration.org.approved"))
        .await
        .unwrap();
    let event = ev::OrgApproved::decode(msg.payload.as_ref()).unwrap();
    assert_eq!(event.organisation_id, org.id);
    assert_eq!(
        event.valid_until,
        Some(common::Date {
            year: 2027,
            month: 11,
            day: 29
        })
    );
    tokio::time::sleep(StdDuration::from_millis(100)).await;
    h.stop().await;
}

#[tokio::test]
async fn e1_e3_e8_ap4_d1_refusals_name_their_rule() {
    let h = Harness::start("2026-11-27T10:00:00+09:00").await;
    let mut c = h.client.clone();

    // E1: a high school may not use S-JOB.
    let (t, org) = h
        .organisation(
            "career@high.example.ed.jp",
            common::OrgKind::K3,
            common::School::High,
            "13",
        )
        .await;
    let e = c
        .create_application(authed(
            &t,
            CreateApplicationRequest {
                organisation_id: org.id,
                service: job(),
                kind: 1,
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), rule(&e).as_deref()),
        (Code::FailedPrecondition, Some("E1")),
        "{e:?}"
    );

    // E3: a university (K3) may not use S-SEEKER.
    let (t, org) = h
        .organisation(
            "career@univ.example.ac.jp",
            common::OrgKind::K3,
            common::School::University,
            "13",
        )
        .await;
    let e = c
        .create_application(authed(
            &t,
            CreateApplicationRequest {
                organisation_id: org.id,
                service: common::ServiceCode::Seeker as i32,
                kind: 1,
                regular_placements_3m: 5,
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), rule(&e).as_deref()),
        (Code::FailedPrecondition, Some("E3")),
        "{e:?}"
    );

    // E8: revoked two years ago.
    let (t, org) = h
        .organisation(
            "info@revoked.example.jp",
            common::OrgKind::K1,
            common::School::Unspecified,
            "13",
        )
        .await;
    sqlx::query("UPDATE organisations SET revoked_on = '2024-11-27' WHERE id = $1::uuid")
        .bind(&org.id)
        .execute(h.db.pool())
        .await
        .unwrap();
    let e = c
        .create_application(authed(
            &t,
            CreateApplicationRequest {
                organisation_id: org.id,
                service: job(),
                kind: 1,
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), rule(&e).as_deref()),
        (Code::FailedPrecondition, Some("E8")),
        "{e:?}"
    );
    assert!(e.message().contains("E8"), "{}", e.message());

    // AP4: an officer of another bureau (Osaka, 27) may not approve a Tokyo application.
    let (t, org) = h
        .organisation(
            "info@tokyo-agency.example.jp",
            common::OrgKind::K1,
            common::School::Unspecified,
            "13",
        )
        .await;
    let app = c
        .create_application(authed(
            &t,
            CreateApplicationRequest {
                organisation_id: org.id,
                service: job(),
                kind: 1,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let osaka = h
        .staff(
            "officer@osaka-roudoukyoku.example.go.jp",
            "bureau",
            Some("27"),
        )
        .await;
    let e = c
        .record_submission(authed(
            &osaka,
            RecordSubmissionRequest {
                application_id: app.id.clone(),
                received_on: None,
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), rule(&e).as_deref()),
        (Code::PermissionDenied, Some("AP4")),
        "{e:?}"
    );

    // D1: the signed PDF arrives after the deadline (12/11).
    let tokyo = h
        .staff(
            "officer@tokyo-roudoukyoku.example.go.jp",
            "bureau",
            Some("13"),
        )
        .await;
    let late = Some(common::Date {
        year: 2026,
        month: 12,
        day: 14,
    });
    let e = c
        .record_submission(authed(
            &tokyo,
            RecordSubmissionRequest {
                application_id: app.id.clone(),
                received_on: late,
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), rule(&e).as_deref()),
        (Code::FailedPrecondition, Some("D1")),
        "{e:?}"
    );
    assert!(e.message().contains("2026-12-11"), "{}", e.message());
    // Approving without a submission is refused by AP4.
    let e = c
        .decide_application(authed(
            &tokyo,
            DecideApplicationRequest {
                application_id: app.id,
                approve: true,
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(rule(&e).as_deref(), Some("AP4"), "{e:?}");
    h.stop().await;
}

#[tokio::test]
async fn e7_email_of_an_account_closed_three_years_ago_is_refused() {
    let h = Harness::start("2026-11-27T10:00:00+09:00").await;
    sqlx::query("INSERT INTO accounts (id, email, password_hash, role, closed_on) VALUES (gen_random_uuid(), 'old@agency.example.jp', 'x', 'org', '2023-11-27')")
        .execute(h.db.pool())
        .await
        .unwrap();
    let mut c = h.client.clone();
    // A sign-up answers as for any email; the mailbox is told why no token came.
    c.sign_up(SignUpRequest {
        email: "Old@Agency.example.jp".into(),
        password: "a long enough password".into(),
        role: common::Role::Org as i32,
    })
    .await
    .unwrap();
    let mail = crate::notices::wait_for("old@agency.example.jp", 1).await;
    assert!(
        mail.contains("(E7)") && mail.contains("2028-11-27"),
        "says the rule and from when it is free again: {mail}"
    );
    assert!(
        !mail
            .split_whitespace()
            .any(|w| w.len() == 64 && w.bytes().all(|b| b.is_ascii_hexdigit())),
        "no token: {mail}"
    );
    // Operations are refused with the rule.
    let ops = h.staff("ops@example.go.jp", "ops", None).await;
    let e = c
        .create_account(authed(
            &ops,
            CreateAccountRequest {
                email: "Old@Agency.example.jp".into(),
                password: "a long enough password".into(),
                role: common::Role::Org as i32,
                bureau_code: String::new(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), rule(&e).as_deref()),
        (Code::FailedPrecondition, Some("E7")),
        "{e:?}"
    );
    assert!(
        e.message().contains("2028-11-27"),
        "says from when it is free again: {}",
        e.message()
    );
    h.stop().await;
}

#[tokio::test]
async fn a_sign_up_token_works_once_for_a_day_then_is_forgotten() {
    let h = Harness::start("2026-11-27T10:00:00+09:00").await;
    let mut c = h.client.clone();
    let sign_up = |email: &str| {
        let mut c = h.client.clone();
        let req = SignUpRequest {
            email: email.into(),
            password: "a long enough password".into(),
            role: common::Role::Seeker as i32,
        };
        async move { c.sign_up(req).await.unwrap() }
    };
    // Confirmed within the day: a seeker account, once.
    sign_up("quick@example.jp").await;
    let token = crate::notices::token(&crate::notices::wait_for("quick@example.jp", 1).await);
    let a = c
        .confirm_sign_up(ConfirmSignUpRequest {
            token: token.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (a.email.as_str(), a.role),
        ("quick@example.jp", common::Role::Seeker as i32)
    );
    let e = c
        .confirm_sign_up(ConfirmSignUpRequest { token })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated, "{e:?}");
    // An account with the email closed while the token was on its way (E7): refused at
    // confirmation, and the sign-up (with its password hash) is gone.
    sign_up("closing@example.jp").await;
    let token = crate::notices::token(&crate::notices::wait_for("closing@example.jp", 1).await);
    sqlx::query("INSERT INTO accounts (id, email, password_hash, role, closed_on) VALUES (gen_random_uuid(), 'closing@example.jp', 'x', 'org', '2026-11-26')")
        .execute(h.db.pool())
        .await
        .unwrap();
    let e = c
        .confirm_sign_up(ConfirmSignUpRequest { token })
        .await
        .unwrap_err();
    assert_eq!(rule(&e).as_deref(), Some("E7"), "{e:?}");
    let left: i64 =
        sqlx::query_scalar("SELECT count(*) FROM sign_ups WHERE email = 'closing@example.jp'")
            .fetch_one(h.db.pool())
            .await
            .unwrap();
    assert_eq!(left, 0);
    // Left for a day and a second: expired, and the sweep forgets the sign-up and blanks its
    // undelivered text.
    sign_up("slow@example.jp").await;
    let token = crate::notices::token(&crate::notices::wait_for("slow@example.jp", 1).await);
    h.clock
        .advance(chrono::Duration::hours(24) + chrono::Duration::seconds(1));
    let e = c
        .confirm_sign_up(ConfirmSignUpRequest { token })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated, "{e:?}");
    let pending = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM sign_ups")
            .fetch_one(h.db.pool())
            .await
            .unwrap()
    };
    assert_eq!(pending().await, 1);
    sqlx::query("UPDATE notices SET body = 'undelivered', delivered_at = NULL")
        .execute(h.db.pool())
        .await
        .unwrap();
    let store = hwx_registration::store::Store { db: h.db.clone() };
    let now = hwx_platform::clock::Clock::now(&h.clock);
    // Three notices blanked, one sign-up deleted.
    assert_eq!(store.forget_expired(now).await.unwrap(), 4);
    assert_eq!(pending().await, 0);
    let kept: i64 = sqlx::query_scalar("SELECT count(*) FROM notices WHERE body <> ''")
        .fetch_one(h.db.pool())
        .await
        .unwrap();
    assert_eq!(kept, 0);
    // Not a seeker's business to make staff accounts: sign-up takes organisations and seekers.
    let e = c
        .sign_up(SignUpRequest {
            email: "boss@example.go.jp".into(),
            password: "a long enough password".into(),
            role: common::Role::Ops as i32,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
    h.stop().await;
}

#[tokio::test]
async fn a1_lockout_and_compromise_report() {
    let h = Harness::start("2026-11-27T10:00:00+09:00").await;
    let mut c = h.client.clone();
    let (token, _) = h
        .organisation(
            "info@lock.example.jp",
            common::OrgKind::K2,
            common::School::Unspecified,
            "01",
        )
        .await;
    for _ in 0..5 {
        let e = c
            .login(LoginRequest {
                email: "info@lock.example.jp".into(),
                password: "wrong password!".into(),
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::Unauthenticated);
    }
    let e = c
        .login(LoginRequest {
            email: "info@lock.example.jp".into(),
            password: "a long enough password".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        rule(&e).as_deref(),
        Some("A1"),
        "locked after five failures: {e:?}"
    );
    h.clock.advance(chrono::Duration::minutes(31));
    let fresh = h
        .login("info@lock.example.jp", "a long enough password")
        .await;

    // Reporting a compromise locks the account and revokes every session at once.
    c.report_compromise(authed(
        &fresh,
        ReportCompromiseRequest {
            account_id: String::new(),
            reason: "password leaked".into(),
        },
    ))
    .await
    .unwrap();
    for t in [&token, &fresh] {
        let e = c
            .authenticate(AuthenticateRequest { token: t.clone() })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::Unauthenticated);
    }
    let e = c
        .login(LoginRequest {
            email: "info@lock.example.jp".into(),
            password: "a long enough password".into(),
        })
        .await
        .unwrap_err();
    assert!(e.message().contains("compromise"), "{}", e.message());
    h.stop().await;
}

#[tokio::test]
async fn ap3_d2_sweep_and_overdue_bureau_emails() {
    let h = Harness::start("2026-11-27T10:00:00+09:00").await;
    let mut c = h.client.clone();
    let (t, org) = h
        .organisation(
            "info@sweep.example.jp",
            common::OrgKind::K1,
            common::School::Unspecified,
            "13",
        )
        .await;
    c.create_application(authed(
        &t,
        CreateApplicationRequest {
            organisation_id: org.id.clone(),
            service: job(),
            kind: 1,
            ..Default::default()
        },
    ))
    .await
    .unwrap();
    h.advance_days(14); // 12/11: the 14th day
    let ops = h.staff("ops@mhlw.example.go.jp", "ops", None).await;
    assert_eq!(
        c.sweep_unsubmitted(authed(&ops, SweepUnsubmittedRequest {}))
            .await
            .unwrap()
            .into_inner()
            .expired,
        0
    );
    h.advance_days(1); // 12/12: past it
    let ops = h
        .login("ops@mhlw.example.go.jp", "correct horse battery")
        .await;
    assert_eq!(
        c.sweep_unsubmitted(authed(&ops, SweepUnsubmittedRequest {}))
            .await
            .unwrap()
            .into_inner()
            .expired,
        1
    );

    // D2 was 12/2; on 12/12 the email is overdue, and the Tokyo bureau sees it.
    let tokyo = h
        .staff(
            "officer@tokyo-roudoukyoku.example.go.jp",
            "bureau",
            Some("13"),
        )
        .await;
    let overdue = c
        .list_overdue_bureau_emails(authed(&tokyo, ListOverdueBureauEmailsRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .organisations;
    assert_eq!(
        overdue.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(),
        vec![org.id.as_str()]
    );
    c.record_bureau_email_sent(authed(
        &tokyo,
        RecordBureauEmailSentRequest {
            organisation_id: org.id.clone(),
        },
    ))
    .await
    .unwrap();
    let overdue = c
        .list_overdue_bureau_emails(authed(&tokyo, ListOverdueBureauEmailsRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .organisations;
    assert!(overdue.is_empty());
    h.stop().await;
}

#[tokio::test]
async fn d8_enrolment_expires_after_its_validity_and_says_so() {
    let h = Harness::start("2026-11-27T10:00:00+09:00").await;
    let mut c = h.client.clone();
    let (t, org) = h
        .organisation(
            "info@expiring.example.jp",
            common::OrgKind::K1,
            common::School::Unspecified,
            "13",
        )
        .await;
    let app = c
        .create_application(authed(
            &t,
            CreateApplicationRequest {
                organisation_id: org.id.clone(),
                service: job(),
                kind: 1,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let tokyo = h
        .staff(
            "officer@tokyo-roudoukyoku.example.go.jp",
            "bureau",
            Some("13"),
        )
        .await;
    c.record_submission(authed(
        &tokyo,
        RecordSubmissionRequest {
            application_id: app.id.clone(),
            received_on: None,
        },
    ))
    .await
    .unwrap();
    c.decide_application(authed(
        &tokyo,
        DecideApplicationRequest {
            application_id: app.id,
            approve: true,
            note: String::new(),
            validity_months: 6,
        },
    ))
    .await
    .unwrap();
    let clock: hwx_platform::clock::SharedClock = std::sync::Arc::new(h.clock.clone());
    let registration = hwx_registration::Registration::new(
        hwx_registration::store::Store { db: h.db.clone() },
        clock.clone(),
        hwx_platform::events::Outbox::new("registration", clock),
    );
    let last_day = chrono::NaiveDate::from_ymd_opt(2027, 5, 26).unwrap(); // six months from 11/27
    assert_eq!(
        registration.expire_enrolments(last_day).await.unwrap(),
        0,
        "valid through its last day"
    );
    assert_eq!(
        registration
            .expire_enrolments(last_day.succ_opt().unwrap())
            .await
            .unwrap(),
        1
    );
    let status: String = sqlx::query_scalar("SELECT status FROM enrolments")
        .fetch_one(h.db.pool())
        .await
        .unwrap();
    assert_eq!(status, "expired");
    let ended: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM outbox WHERE subject = 'hwx.registration.enrolment.ended'",
    )
    .fetch_one(h.db.pool())
    .await
    .unwrap();
    assert_eq!(ended, 1, "the end is an event, committed with the change");
    h.stop().await;
}

#[tokio::test]
async fn ap4_sn1_approval_is_atomic_and_never_lifts_a_suspension() {
    let h = Harness::start("2026-11-27T10:00:00+09:00").await;
    let mut c = h.client.clone();
    let (t, org) = h
        .organisation(
            "info@atomic.example.jp",
            common::OrgKind::K1,
            common::School::Unspecified,
            "13",
        )
        .await;
    let tokyo = h
        .staff(
            "officer@tokyo-roudoukyoku.example.go.jp",
            "bureau",
            Some("13"),
        )
        .await;
    use hwx_proto::registration::v1::registration_service_client::RegistrationServiceClient;
    let apply = |c: &mut RegistrationServiceClient<tonic::transport::Channel>, kind: i32| {
        let req = authed(
            &t,
            CreateApplicationRequest {
                organisation_id: org.id.clone(),
                service: job(),
                kind,
                ..Default::default()
            },
        );
        let mut c = c.clone();
        async move { c.create_application(req).await.unwrap().into_inner() }
    };
    // The licence expired after the application: D8 refuses the approval, and nothing of it stays.
    let app = apply(&mut c, 1).await;
    c.record_submission(authed(
        &tokyo,
        RecordSubmissionRequest {
            application_id: app.id.clone(),
            received_on: None,
        },
    ))
    .await
    .unwrap();
    sqlx::query("UPDATE organisations SET licence_expiry = '2026-11-01' WHERE id = $1::uuid")
        .bind(&org.id)
        .execute(h.db.pool())
        .await
        .unwrap();
    let e = c
        .decide_application(authed(
            &tokyo,
            DecideApplicationRequest {
                application_id: app.id.clone(),
                approve: true,
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(rule(&e).as_deref(), Some("D8"), "{e:?}");
    let status: String = sqlx::query_scalar("SELECT status FROM applications WHERE id = $1::uuid")
        .bind(&app.id)
        .fetch_one(h.db.pool())
        .await
        .unwrap();
    assert_eq!(
        status, "submitted",
        "the refused approval left the application as it was"
    );
    let enrolments: i64 = sqlx::query_scalar("SELECT count(*) FROM enrolments")
        .fetch_one(h.db.pool())
        .await
        .unwrap();
    assert_eq!(enrolments, 0);

    // A suspended organisation's change application cannot reactivate it.
    sqlx::query("UPDATE organisations SET licence_expiry = '2029-03-31' WHERE id = $1::uuid")
        .bind(&org.id)
        .execute(h.db.pool())
        .await
        .unwrap();
    sqlx::query("INSERT INTO enrolments (organisation_id, service, status, valid_from, valid_until) VALUES ($1::uuid, 'job', 'suspended', '2026-01-01', '2027-01-01')")
        .bind(&org.id)
        .execute(h.db.pool())
        .await
        .unwrap();
    let change = apply(&mut c, 2).await;
    c.record_submission(authed(
        &tokyo,
        RecordSubmissionRequest {
            application_id: change.id.clone(),
            received_on: None,
        },
    ))
    .await
    .unwrap();
    let e = c
        .decide_application(authed(
            &tokyo,
            DecideApplicationRequest {
                application_id: change.id,
                approve: true,
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(rule(&e).as_deref(), Some("SN1"), "{e:?}");
    let status: String = sqlx::query_scalar("SELECT status FROM enrolments")
        .fetch_one(h.db.pool())
        .await
        .unwrap();
    assert_eq!(status, "suspended");
    h.stop().await;
}

#[tokio::test]
async fn sn2_an_application_submitted_before_a_revocation_cannot_be_approved_after_it() {
    let h = Harness::start("2026-11-27T10:00:00+09:00").await;
    let mut c = h.client.clone();
    let (t, org) = h
        .organisation(
            "info@revoked-later.example.jp",
            common::OrgKind::K1,
            common::School::Unspecified,
            "13",
        )
        .await;
    let tokyo = h
        .staff(
            "officer@tokyo-roudoukyoku.example.go.jp",
            "bureau",
            Some("13"),
        )
        .await;
    let app = c
        .create_application(authed(
            &t,
            CreateApplicationRequest {
                organisation_id: org.id.clone(),
                service: job(),
                kind: 1,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    h.record_submission(&tokyo, &app.id).await;
    // Revoked while its first application waits: it has no enrolment a check could look at.
    sqlx::query("UPDATE organisations SET revoked_on = '2026-11-26' WHERE id = $1::uuid")
        .bind(&org.id)
        .execute(h.db.pool())
        .await
        .unwrap();
    let e = h.decide(&tokyo, &app.id, true).await.unwrap_err();
    assert_eq!(rule(&e).as_deref(), Some("SN2"), "{e:?}");
    assert!(e.message().contains("2029-11-26"), "{}", e.message());
    let status: String = sqlx::query_scalar("SELECT status FROM applications WHERE id = $1::uuid")
        .bind(&app.id)
        .fetch_one(h.db.pool())
        .await
        .unwrap();
    assert_eq!(status, "submitted");
    let enrolments: i64 = sqlx::query_scalar("SELECT count(*) FROM enrolments")
        .fetch_one(h.db.pool())
        .await
        .unwrap();
    assert_eq!(enrolments, 0, "no enrolment was made active");
    // A rejection is still possible: it grants nothing.
    let rejected = h.decide(&tokyo, &app.id, false).await.unwrap();
    assert_eq!(rejected.status, ApplicationStatus::Rejected as i32);
    h.stop().await;
}

#[tokio::test]
async fn e8_a_revoked_licence_cannot_register_again_under_a_new_email() {
    let h = Harness::start("2026-11-27T10:00:00+09:00").await;
    let mut c = h.client.clone();
    let (_, old) = h
        .organisation(
            "old@revoked.example.jp",
            common::OrgKind::K1,
            common::School::Unspecified,
            "13",
        )
        .await;
    sqlx::query("UPDATE organisations SET revoked_on = '2025-06-01' WHERE id = $1::uuid")
        .bind(&old.id)
        .execute(h.db.pool())
        .await
        .unwrap();
    // Same licence number (the test organisations share one), new account.
    let (t, org) = h
        .organisation(
            "new@revoked.example.jp",
            common::OrgKind::K1,
            common::School::Unspecified,
            "13",
        )
        .await;
    // It registers under the revoked organisation's licence number.
    sqlx::query("UPDATE organisations SET licence_number = (SELECT licence_number FROM organisations WHERE id = $1::uuid) WHERE id = $2::uuid")
        .bind(&old.id)
        .bind(&org.id)
        .execute(h.db.pool())
        .await
        .unwrap();
    let e = c
        .create_application(authed(
            &t,
            CreateApplicationRequest {
                organisation_id: org.id,
                service: job(),
                kind: 1,
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(rule(&e).as_deref(), Some("E8"), "{e:?}");
    h.stop().await;
}

#[tokio::test]
async fn a1_change_reset_and_unlock_a_password() {
    let h = Harness::start("2026-11-27T10:00:00+09:00").await;
    let mut c = h.client.clone();
    let email = "forgetful@example.jp";
    // Made by operations: no sign-up notice, so the notices below are the resets'.
    let ops = h.staff("ops@example.go.jp", "ops", None).await;
    c.create_account(authed(
        &ops,
        CreateAccountRequest {
            email: email.into(),
            password: "the first password".into(),
            role: common::Role::Org as i32,
            bureau_code: String::new(),
        },
    ))
    .await
    .unwrap();
    let login = |password: &str| {
        let mut c = h.client.clone();
        let req = LoginRequest {
            email: email.into(),
            password: password.into(),
        };
        async move { c.login(req).await }
    };
    let first = login("the first password")
        .await
        .unwrap()
        .into_inner()
        .token;
    let second = login("the first password")
        .await
        .unwrap()
        .into_inner()
        .token;

    // Change: the current password is checked, the other session ends, this one stays.
    let e = c
        .change_password(authed(
            &first,
            ChangePasswordRequest {
                current_password: "not it at all".into(),
                new_password: "the second password".into(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
    let e = c
        .change_password(authed(
            &first,
            ChangePasswordRequest {
                current_password: "the first password".into(),
                new_password: "short".into(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    c.change_password(authed(
        &first,
        ChangePasswordRequest {
            current_password: "the first password".into(),
            new_password: "the second password".into(),
        },
    ))
    .await
    .unwrap();
    let who = |token: &str| {
        let mut c = h.client.clone();
        let req = AuthenticateRequest {
            token: token.into(),
        };
        async move { c.authenticate(req).await }
    };
    assert!(who(&first).await.is_ok(), "the changing session stays");
    assert!(who(&second).await.is_err(), "the other session ended");
    assert!(login("the first password").await.is_err());

    // Five failures lock the account; the lock message names the way out, in JST seconds.
    for _ in 0..5 {
        let _ = login("a wrong password!").await;
    }
    let locked = login("the second password").await.unwrap_err();
    assert_eq!(rule(&locked).as_deref(), Some("A1"), "{locked:?}");
    assert!(locked.message().contains("+09:00"), "{}", locked.message());
    assert!(
        !locked.message().contains('.'),
        "to the second: {}",
        locked.message()
    );
    assert!(
        locked.message().contains("reset the password"),
        "{}",
        locked.message()
    );

    // A reset: the same answer for an unknown email, a token in a notice for a known one.
    c.request_password_reset(RequestPasswordResetRequest {
        email: "nobody@example.jp".into(),
    })
    .await
    .unwrap();
    let none: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM outbox WHERE subject = 'hwx.registration.notice.requested'",
    )
    .fetch_one(h.db.pool())
    .await
    .unwrap();
    assert_eq!(none, 0, "no notice for an email without an account");
    c.request_password_reset(RequestPasswordResetRequest {
        email: "Forgetful@Example.jp ".into(),
    })
    .await
    .unwrap();
    c.request_password_reset(RequestPasswordResetRequest {
        email: email.into(),
    })
    .await
    .unwrap();
    // The notifier's log backend delivered both, once each; the event carries no token.
    let first_token = crate::notices::token(&crate::notices::wait_for(email, 1).await);
    let token = crate::notices::token(&crate::notices::wait_for(email, 2).await);
    let payloads: Vec<Vec<u8>> = sqlx::query_scalar(
        "SELECT payload FROM outbox WHERE subject = 'hwx.registration.notice.requested'",
    )
    .fetch_all(h.db.pool())
    .await
    .unwrap();
    assert_eq!(payloads.len(), 2);
    for p in &payloads {
        let event = ev::NoticeRequested::decode(p.as_slice()).unwrap();
        assert_eq!(event.to, email);
        for t in [&token, &first_token] {
            assert!(!String::from_utf8_lossy(p).contains(&t[..16]));
        }
    }
    let delivered = wait_until(|| async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM notices WHERE delivered_at IS NOT NULL AND body = ''",
        )
        .fetch_one(h.db.pool())
        .await
        .is_ok_and(|n| n == 2)
    })
    .await;
    assert!(delivered, "a delivered notice keeps no token");

    let reset = c
        .reset_password(ResetPasswordRequest {
            token: token.clone(),
            new_password: "the third password".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!reset.locked, "a reset lifts a lock after failed logins");
    assert!(who(&first).await.is_err(), "a reset ends every session");
    assert!(login("the third password").await.is_ok());
    for used in [token, first_token] {
        let again = c
            .reset_password(ResetPasswordRequest {
                token: used,
                new_password: "the fourth password".into(),
            })
            .await
            .unwrap_err();
        assert_eq!(
            again.code(),
            Code::Unauthenticated,
            "a token works once, and a reset ends the others"
        );
    }
    let unlocked_by_reset: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM outbox WHERE subject = 'hwx.registration.account.unlocked'",
    )
    .fetch_one(h.db.pool())
    .await
    .unwrap();
    assert_eq!(
        unlocked_by_reset, 1,
        "the reset lifted the lock, and said so"
    );

    // After a reported compromise no token is sent, and one asked for before no longer works.
    let session = login("the third password")
        .await
        .unwrap()
        .into_inner()
        .token;
    c.request_password_reset(RequestPasswordResetRequest {
        email: email.into(),
    })
    .await
    .unwrap();
    let before = crate::notices::token(&crate::notices::wait_for(email, 3).await);
    c.report_compromise(authed(&session, ReportCompromiseRequest::default()))
        .await
        .unwrap();
    let e = c
        .reset_password(ResetPasswordRequest {
            token: before,
            new_password: "the attacker's password".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated, "{e:?}");
    assert!(e.message().contains("used or expired"), "{}", e.message());
    // Even a token that escaped (made here by hand) cannot reset a compromised account.
    let (escaped, escaped_hash) = hwx_registration::auth::new_token();
    sqlx::query("INSERT INTO password_resets (token_hash, account_id, expires_at) SELECT $1, id, now() + interval '1 hour' FROM accounts WHERE email = $2")
        .bind(&escaped_hash)
        .bind(email)
        .execute(h.db.pool())
        .await
        .unwrap();
    let e = c
        .reset_password(ResetPasswordRequest {
            token: escaped,
            new_password: "the attacker's password".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(rule(&e).as_deref(), Some("A1"), "{e:?}");
    c.request_password_reset(RequestPasswordResetRequest {
        email: email.into(),
    })
    .await
    .unwrap();
    let notices: i64 = sqlx::query_scalar("SELECT count(*) FROM notices")
        .fetch_one(h.db.pool())
        .await
        .unwrap();
    assert_eq!(notices, 3, "no token for a compromised account");
    assert!(login("the third password").await.is_err(), "still locked");
    let org = h.staff("someone@example.jp", "org", None).await;
    let e = c
        .unlock_account(authed(
            &org,
            UnlockAccountRequest {
                email: email.into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied, "only operations unlock");
    let unlocked = c
        .unlock_account(authed(
            &ops,
            UnlockAccountRequest {
                email: email.into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(!unlocked.locked);
    assert!(login("the third password").await.is_ok());
    let unlocked_events: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM outbox WHERE subject = 'hwx.registration.account.unlocked'",
    )
    .fetch_one(h.db.pool())
    .await
    .unwrap();
    assert_eq!(unlocked_events, 2);
    h.stop().await;
}
