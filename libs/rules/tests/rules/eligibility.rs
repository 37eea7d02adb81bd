use hwx_rules::RuleId;
use hwx_rules::eligibility::{
    self, ApplicationKind, EligibilityQuery, EmploymentTerms, OrgKind, School, Service,
};

use crate::d;

fn q(service: Service, kind: OrgKind) -> EligibilityQuery {
    EligibilityQuery {
        service,
        kind,
        school: (kind == OrgKind::K3).then_some(School::University),
        application: ApplicationKind::Use,
        regular_placements_3m: 1,
        suspension_order: false,
        improvement_order: false,
        revoked_on: None,
        on: d("2026-11-28"),
    }
}

fn rules(q: &EligibilityQuery) -> Vec<RuleId> {
    eligibility::eligibility(q).unwrap().rules
}

#[test]
fn e1_s_job_open_to_every_kind() {
    for kind in [OrgKind::K1, OrgKind::K2, OrgKind::K3, OrgKind::K4] {
        assert_eq!(rules(&q(Service::Job, kind)), vec![], "{kind:?}");
    }
    // S-JOB needs no placement record.
    let mut x = q(Service::Job, OrgKind::K1);
    x.regular_placements_3m = 0;
    assert!(eligibility::eligibility(&x).unwrap().eligible);
}

#[test]
fn e1_junior_high_and_high_schools_excluded() {
    for school in [School::High, School::JuniorHigh] {
        let mut x = q(Service::Job, OrgKind::K3);
        x.school = Some(school);
        assert_eq!(rules(&x), vec![RuleId::E1], "{school:?}");
    }
    for school in [
        School::University,
        School::GraduateSchool,
        School::JuniorCollege,
        School::TechnicalCollege,
        School::VocationalSchool,
    ] {
        let mut x = q(Service::Job, OrgKind::K3);
        x.school = Some(school);
        assert_eq!(rules(&x), vec![], "{school:?}");
    }
}

#[test]
fn e1_k3_without_school_kind_is_an_input_error() {
    let mut x = q(Service::Job, OrgKind::K3);
    x.school = None;
    assert_eq!(eligibility::eligibility(&x).unwrap_err().rule(), RuleId::E1);
    let mut x = q(Service::Job, OrgKind::K1);
    x.school = Some(School::University);
    assert_eq!(eligibility::eligibility(&x).unwrap_err().rule(), RuleId::E1);
}

#[test]
fn e2_no_admission_under_suspension_or_improvement_order() {
    let mut x = q(Service::Job, OrgKind::K1);
    x.suspension_order = true;
    assert_eq!(rules(&x), vec![RuleId::E2]);
    let mut x = q(Service::Seeker, OrgKind::K2);
    x.improvement_order = true;
    assert_eq!(rules(&x), vec![RuleId::E2]);
}

#[test]
fn e3_s_seeker_only_k1_k2_k4_with_a_regular_placement() {
    assert_eq!(rules(&q(Service::Seeker, OrgKind::K1)), vec![]);
    assert_eq!(rules(&q(Service::Seeker, OrgKind::K2)), vec![]);
    assert_eq!(rules(&q(Service::Seeker, OrgKind::K4)), vec![]);
    assert_eq!(rules(&q(Service::Seeker, OrgKind::K3)), vec![RuleId::E3]);
    let mut x = q(Service::Seeker, OrgKind::K1);
    x.regular_placements_3m = 0;
    assert_eq!(rules(&x), vec![RuleId::E3]);
}

#[test]
fn e5_renewal_without_placements_is_refused() {
    let mut x = q(Service::Seeker, OrgKind::K1);
    x.regular_placements_3m = 0;
    x.application = ApplicationKind::Renewal;
    assert_eq!(rules(&x), vec![RuleId::E3, RuleId::E5]);
    x.regular_placements_3m = 2;
    assert_eq!(rules(&x), vec![]);
}

#[test]
fn e8_revoked_organisation_barred_three_years() {
    let mut x = q(Service::Job, OrgKind::K1);
    x.revoked_on = Some(d("2024-11-28")); // two years ago
    assert_eq!(rules(&x), vec![RuleId::E8]);
    x.revoked_on = Some(d("2023-11-29")); // the bar ends 2026-11-28 inclusive
    assert_eq!(rules(&x), vec![RuleId::E8]);
    x.revoked_on = Some(d("2023-11-28")); // may apply from 2026-11-28
    assert_eq!(rules(&x), vec![]);
}

#[test]
fn e1_e2_e3_e8_every_failed_rule_is_listed() {
    let mut x = q(Service::Seeker, OrgKind::K3);
    x.school = Some(School::High);
    x.suspension_order = true;
    x.regular_placements_3m = 0;
    x.revoked_on = Some(d("2025-01-01"));
    let e = eligibility::eligibility(&x).unwrap();
    assert!(!e.eligible);
    assert_eq!(
        e.rules,
        vec![RuleId::E1, RuleId::E2, RuleId::E3, RuleId::E8]
    );
}

#[test]
fn e4_regular_employment() {
    let fixed = |a: &str, b: &str| EmploymentTerms {
        fixed_term: Some((d(a), d(b))),
        seasonal: false,
    };
    let cases = [
        (
            EmploymentTerms {
                fixed_term: None,
                seasonal: false,
            },
            true,
        ),
        (
            EmploymentTerms {
                fixed_term: None,
                seasonal: true,
            },
            false,
        ),
        (fixed("2026-04-01", "2026-07-31"), true), // exactly 4 months
        (fixed("2026-04-01", "2026-07-30"), false), // a day short
        (fixed("2026-10-31", "2027-02-28"), true), // no 2/31: 4 months end 2/28
        (fixed("2026-04-01", "2027-03-31"), true),
        (
            EmploymentTerms {
                fixed_term: Some((d("2026-04-01"), d("2027-03-31"))),
                seasonal: true,
            },
            false,
        ),
    ];
    for (terms, regular) in cases {
        assert_eq!(
            eligibility::is_regular_employment(&terms).unwrap(),
            regular,
            "{terms:?}"
        );
    }
    assert_eq!(
        eligibility::is_regular_employment(&fixed("2026-04-01", "2026-03-01"))
            .unwrap_err()
            .rule(),
        RuleId::E4
    );
}

#[test]
fn e2_e3_apply_by_application_kind() {
    // A change application needs no placement record; a withdrawal is always accepted.
    let mut x = q(Service::Seeker, OrgKind::K1);
    x.regular_placements_3m = 0;
    x.application = ApplicationKind::Change;
    assert_eq!(rules(&x), vec![]);
    let mut w = q(Service::Job, OrgKind::K1);
    w.application = ApplicationKind::Withdrawal;
    w.suspension_order = true;
    w.revoked_on = Some(d("2026-01-01"));
    assert_eq!(rules(&w), vec![]);
    // E2 bars new admission only: a renewal under an improvement order is not refused by E2.
    let mut r = q(Service::Job, OrgKind::K2);
    r.application = ApplicationKind::Renewal;
    r.improvement_order = true;
    assert_eq!(rules(&r), vec![]);
}

#[test]
fn e1_organisation_kind_at_registration() {
    use hwx_rules::eligibility::organisation_kind;
    assert!(organisation_kind(OrgKind::K3, Some(School::University)).is_ok());
    assert!(organisation_kind(OrgKind::K1, None).is_ok());
    let no_school = organisation_kind(OrgKind::K3, None).unwrap_err();
    assert_eq!(no_school.rule(), RuleId::E1);
    assert!(no_school.to_string().contains("give the kind of school"));
    let not_a_school = organisation_kind(OrgKind::K2, Some(School::High)).unwrap_err();
    assert_eq!(not_a_school.rule(), RuleId::E1);
}
