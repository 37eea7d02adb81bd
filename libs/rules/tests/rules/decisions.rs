//! The smaller decisions: accounts, applications, access, lists, labels, seeker fields, rate
//! limits and reports.

use chrono::Duration;
use hwx_rules::RuleId;
use hwx_rules::access::{self, EnrolmentStatus, Listing};
use hwx_rules::account::{self, LockoutPolicy, ResponsiblePerson};
use hwx_rules::application::{self, ApplicationAction as A, ApplicationStatus as S};
use hwx_rules::eligibility::{ApplicationKind, OrgKind, Service};
use hwx_rules::ratelimit::RateLimit;
use hwx_rules::report::{self, ReportFigures};
use hwx_rules::seeker::{self, MandatoryInfo};

use crate::{at, d};

#[test]
fn a1_lockout_and_compromise_report() {
    let p = LockoutPolicy::default();
    let now = at("2026-11-28T10:00:00+09:00");
    assert_eq!(p.after_failure(4, now), None);
    assert_eq!(
        p.after_failure(5, now),
        Some(at("2026-11-28T10:30:00+09:00"))
    );
    let r = account::on_compromise_report();
    assert!(r.lock_account && r.revoke_sessions && r.notify_ops);
    assert_eq!(r.rule, RuleId::A1);
}

#[test]
fn a2_both_responsible_persons_named_and_full_time() {
    let ok = ResponsiblePerson {
        name: "山田太郎".into(),
        contact: "03-1234-5678".into(),
        full_time: true,
    };
    assert!(
        account::responsible_person_problems(&ok, &ok).is_empty(),
        "one person may hold both roles"
    );
    let part_time = ResponsiblePerson {
        full_time: false,
        ..ok.clone()
    };
    assert_eq!(
        account::responsible_person_problems(&ok, &part_time),
        vec!["the personal-information manager must be a full-time employee"]
    );
    assert_eq!(
        account::responsible_person_problems(&ResponsiblePerson::default(), &ok).len(),
        3
    );
}

#[test]
fn ap4_ap2_application_lifecycle() {
    let reg = d("2026-11-28");
    assert_eq!(
        application::transition(
            S::Registered,
            reg,
            A::Submit {
                on: d("2026-12-11")
            }
        )
        .unwrap(),
        S::Submitted
    );
    assert_eq!(
        application::transition(S::Submitted, reg, A::Approve).unwrap(),
        S::Approved
    );
    assert_eq!(
        application::transition(S::Submitted, reg, A::Reject).unwrap(),
        S::Rejected
    );
    let registered_only = application::transition(S::Registered, reg, A::Approve).unwrap_err();
    assert_eq!(registered_only.rule(), RuleId::AP4);
    let twice = application::transition(S::Approved, reg, A::Approve).unwrap_err();
    assert_eq!(twice.rule(), RuleId::AP4);
}

#[test]
fn d1_ap2_late_submission_refused() {
    // Registered 11/28: the deadline 12/12 is a Saturday, so it is Friday 12/11.
    let e = application::transition(
        S::Registered,
        d("2026-11-28"),
        A::Submit {
            on: d("2026-12-12"),
        },
    )
    .unwrap_err();
    assert_eq!(e.rule(), RuleId::D1);
    assert!(e.to_string().contains("2026-12-11"), "{e}");
}

#[test]
fn ap3_sweep_expires_unsubmitted_after_the_14th_day() {
    let reg = d("2026-11-28");
    assert_eq!(
        application::transition(
            S::Registered,
            reg,
            A::Sweep {
                on: d("2026-12-12")
            }
        )
        .unwrap(),
        S::Registered
    );
    assert_eq!(
        application::transition(
            S::Registered,
            reg,
            A::Sweep {
                on: d("2026-12-13")
            }
        )
        .unwrap(),
        S::Expired
    );
    assert_eq!(
        application::transition(
            S::Submitted,
            reg,
            A::Sweep {
                on: d("2027-12-13")
            }
        )
        .unwrap(),
        S::Submitted
    );
}

#[test]
fn ap1_e6_changed_renewal_carries_a_change_application() {
    assert_eq!(
        application::applications_for(ApplicationKind::Renewal, true),
        vec![ApplicationKind::Renewal, ApplicationKind::Change]
    );
    assert_eq!(
        application::applications_for(ApplicationKind::Renewal, false),
        vec![ApplicationKind::Renewal]
    );
    assert_eq!(
        application::applications_for(ApplicationKind::Withdrawal, true),
        vec![ApplicationKind::Withdrawal]
    );
}

#[test]
fn j2_sn1_sn2_service_access() {
    use EnrolmentStatus as E;
    assert!(access::service_access(Service::Job, Some(E::Active)).is_ok());
    let cases = [
        (Service::Job, Some(E::Suspended), RuleId::SN1),
        (Service::Job, Some(E::Revoked), RuleId::SN2),
        (Service::Job, Some(E::Expired), RuleId::J2),
        (Service::Job, None, RuleId::J2),
        (Service::Seeker, Some(E::Withdrawn), RuleId::E3),
        (Service::Seeker, Some(E::Suspended), RuleId::SN1),
    ];
    for (service, status, rule) in cases {
        assert_eq!(
            access::service_access(service, status).unwrap_err().rule(),
            rule,
            "{service} {status:?}"
        );
    }
}

#[test]
fn sk6e_seeker_data_goes_when_the_service_stops() {
    assert!(!access::seeker_data_must_go(EnrolmentStatus::Active));
    for s in [
        EnrolmentStatus::Suspended,
        EnrolmentStatus::Revoked,
        EnrolmentStatus::Withdrawn,
        EnrolmentStatus::Expired,
    ] {
        assert!(access::seeker_data_must_go(s), "{s:?}");
    }
}

#[test]
fn l1_public_lists() {
    use EnrolmentStatus as E;
    assert_eq!(access::listing(&[E::Active, E::Active]), Listing::Listed);
    assert_eq!(
        access::listing(&[E::Active, E::Suspended]),
        Listing::ListedSuspended
    );
    assert_eq!(Listing::ListedSuspended.mark(), Some("停止中"));
    assert_eq!(access::listing(&[E::Revoked]), Listing::Revoked);
    assert_eq!(access::listing(&[E::Withdrawn]), Listing::Unlisted);
}

#[test]
fn j4_j8_attribution_and_organisation_additions() {
    let a = access::attribution("飯田橋公共職業安定所");
    assert!(
        a.contains("ハローワーク") && a.contains("飯田橋公共職業安定所"),
        "{a}"
    );
    assert!(
        access::organisation_addition(true)
            .unwrap()
            .contains("追加情報")
    );
    assert_eq!(
        access::organisation_addition(false).unwrap_err().rule(),
        RuleId::J8
    );
}

#[test]
fn sk1_identifying_fields_and_age_bands() {
    assert_eq!(
        seeker::identifying_fields(["occupation", "name", "age_band", "phone"]),
        vec!["name", "phone"]
    );
    assert_eq!(seeker::age_band(d("2000-11-29"), d("2026-11-28")), Some(25));
    assert_eq!(seeker::age_band(d("2001-11-28"), d("2026-11-28")), Some(25));
    assert_eq!(seeker::age_band(d("2001-11-29"), d("2026-11-28")), Some(20));
}

#[test]
fn sk7_first_guidance_needs_complete_mandatory_information() {
    let full = MandatoryInfo {
        placement_record: Some("2025年度 常用就職 42件".into()),
        occupations: vec!["事務的職業".into()],
        industries: vec!["情報通信業".into()],
        regions: vec!["東京都".into()],
        seeker_fees: Some("なし".into()),
        pi_manager_name: Some("佐藤花子".into()),
        pi_manager_contact: Some("privacy@agency.example.jp".into()),
    };
    assert!(seeker::missing_mandatory_info(&full).is_empty());
    let partial = MandatoryInfo {
        regions: vec![],
        seeker_fees: None,
        ..full
    };
    assert_eq!(
        seeker::missing_mandatory_info(&partial),
        vec!["regions", "seeker_fees"]
    );
    assert!(seeker::carries_mandatory_info(0));
    assert!(!seeker::carries_mandatory_info(1));
}

#[test]
fn x2_rate_limit_with_burst_and_retry_after() {
    let limit = RateLimit {
        requests: 10,
        per: Duration::seconds(1),
        burst: 3,
    };
    let t0 = at("2026-11-28T10:00:00+09:00");
    let mut tat = None;
    for i in 0..3 {
        let r = limit.check(tat, t0);
        assert!(r.allowed, "burst request {i}");
        tat = Some(r.next_tat);
    }
    let refused = limit.check(tat, t0);
    assert!(!refused.allowed);
    assert_eq!(
        (refused.rule, refused.retry_after),
        (RuleId::X2, Some(Duration::milliseconds(100)))
    );
    assert!(limit.check(tat, t0 + Duration::milliseconds(100)).allowed);
}

#[test]
fn x2_requests_admitted_by_another_replica_use_up_the_same_cell() {
    let limit = RateLimit {
        requests: 10,
        per: Duration::seconds(1),
        burst: 3,
    };
    let t0 = at("2026-11-28T10:00:00+09:00");
    // Two requests admitted elsewhere: here only one of the burst of three is left.
    let tat = Some(limit.charge(None, t0, 2));
    let r = limit.check(tat, t0);
    assert!(r.allowed);
    assert!(!limit.check(Some(r.next_tat), t0).allowed);
    // A cell in the past is charged from now, not from then.
    let old = t0 - Duration::seconds(10);
    assert_eq!(
        limit.charge(Some(old), t0, 1),
        t0 + Duration::milliseconds(100)
    );
}

#[test]
fn rp1_rp2_rp3_report_figures() {
    let zero_job = ReportFigures {
        hires: Some(0),
        hire_fees_yen: Some(0),
        ..Default::default()
    };
    assert!(report::missing_figures(Service::Job, OrgKind::K1, &zero_job).is_empty());
    assert!(
        report::is_zero_report(&zero_job),
        "RP3: a zero report is a report"
    );
    let no_fees = ReportFigures {
        hires: Some(3),
        ..Default::default()
    };
    assert_eq!(
        report::missing_figures(Service::Job, OrgKind::K1, &no_fees),
        vec![("hire_fees_yen", RuleId::RP1)]
    );
    assert!(
        report::missing_figures(Service::Job, OrgKind::K2, &no_fees).is_empty(),
        "free placement: no fees"
    );
    let seeker = ReportFigures {
        new_applications: Some(12),
        ..Default::default()
    };
    assert_eq!(
        report::missing_figures(Service::Seeker, OrgKind::K1, &seeker).len(),
        4
    );
    assert_eq!(
        report::missing_figures(Service::Seeker, OrgKind::K4, &ReportFigures::default()),
        vec![("new_applications", RuleId::RP2)]
    );
}

#[test]
fn sn1_sn2_an_approval_never_lifts_a_sanction() {
    let clear = access::Standing::default();
    assert!(access::approval_allowed(None, clear).is_ok());
    assert!(access::approval_allowed(Some(EnrolmentStatus::Active), clear).is_ok());
    assert!(access::approval_allowed(Some(EnrolmentStatus::Withdrawn), clear).is_ok());
    assert!(access::approval_allowed(Some(EnrolmentStatus::Expired), clear).is_ok());
    let rule = |current, standing| {
        access::approval_allowed(current, standing)
            .unwrap_err()
            .rule()
    };
    assert_eq!(rule(Some(EnrolmentStatus::Suspended), clear), RuleId::SN1);
    assert_eq!(rule(Some(EnrolmentStatus::Revoked), clear), RuleId::SN2);
    // The organisation's own standing covers the service it has no enrolment in yet.
    let suspended = access::Standing {
        suspended: true,
        ..clear
    };
    assert_eq!(rule(None, suspended), RuleId::SN1);
    let revoked = access::Standing {
        revoked_on: Some(d("2025-10-28")),
        suspended: false,
    };
    assert_eq!(rule(None, revoked), RuleId::SN2);
    assert_eq!(rule(Some(EnrolmentStatus::Active), revoked), RuleId::SN2);
    let message = access::approval_allowed(None, revoked)
        .unwrap_err()
        .to_string();
    assert!(message.contains("2028-10-28"), "{message}");
}
