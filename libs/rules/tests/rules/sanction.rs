use hwx_rules::RuleId;
use hwx_rules::sanction::{
    self, Decision, MeasureEnd, PastSanction, SanctionEvent, SanctionPolicy, Standing,
};

use crate::d;

fn violation(rule: RuleId, on: &str) -> SanctionEvent {
    SanctionEvent::Violation {
        rule,
        on: d(on),
        malicious: false,
    }
}

fn elapsed(on: &str, remedied: bool) -> SanctionEvent {
    SanctionEvent::Elapsed {
        on: d(on),
        remedied,
    }
}

fn decide(standing: &Standing, history: &[PastSanction], e: SanctionEvent) -> Decision {
    sanction::decide(standing, history, &e, &SanctionPolicy::default()).unwrap()
}

fn measure_end(dec: &Decision) -> MeasureEnd {
    match &dec.standing {
        Standing::Suspended { measures, .. } => measures.last().unwrap().end,
        other => panic!("not suspended: {other:?}"),
    }
}

#[test]
fn v1_to_v7_first_time_measures() {
    let six = MeasureEnd::Fixed {
        last_day: d("2027-05-31"),
    };
    let cases = [
        // (violation, correction request, measure)
        (RuleId::V1, false, MeasureEnd::UntilCorrected),
        (RuleId::V2, true, six),
        (RuleId::V3, true, six),
        (RuleId::V4, true, MeasureEnd::UntilCorrected),
        (RuleId::V5, false, six),
        (RuleId::V6, true, MeasureEnd::UntilCorrected),
        (RuleId::V7, false, MeasureEnd::Temporary),
        (RuleId::SN3, false, MeasureEnd::UntilCorrected),
    ];
    for (rule, correction, end) in cases {
        let dec = decide(&Standing::Active, &[], violation(rule, "2026-12-01"));
        assert_eq!(
            (dec.rule, dec.correction_request, measure_end(&dec)),
            (rule, correction, end),
            "{rule}"
        );
        assert_eq!(
            dec.effects,
            vec![RuleId::SN1, RuleId::SK6e],
            "{rule}: SN1 cuts access and SK6e deletes"
        );
    }
}

#[test]
fn v5b_and_malicious_v6_revoke_at_once_sn2() {
    for (rule, malicious) in [(RuleId::V5b, false), (RuleId::V6, true)] {
        let dec = decide(
            &Standing::Active,
            &[],
            SanctionEvent::Violation {
                rule,
                on: d("2026-12-01"),
                malicious,
            },
        );
        assert_eq!(
            dec.standing,
            Standing::Revoked {
                on: d("2026-12-01"),
                cause: rule
            }
        );
        assert_eq!(
            dec.effects,
            vec![RuleId::SN1, RuleId::SN2, RuleId::E8, RuleId::SK6e]
        );
    }
}

#[test]
fn v2_v4_any_violation_after_resuming_revokes() {
    for past in [RuleId::V2, RuleId::V4] {
        let history = [PastSanction {
            cause: past,
            resumed_on: d("2026-06-01"),
        }];
        let dec = decide(
            &Standing::Active,
            &history,
            violation(RuleId::V6, "2027-01-10"),
        );
        assert!(matches!(dec.standing, Standing::Revoked { .. }), "{past}");
        assert_eq!(dec.rule, past);
    }
}

#[test]
fn v3_v6_repeat_gets_the_first_time_measure_again() {
    let history = [PastSanction {
        cause: RuleId::V3,
        resumed_on: d("2026-06-01"),
    }];
    let dec = decide(
        &Standing::Active,
        &history,
        violation(RuleId::V3, "2026-12-01"),
    );
    assert_eq!(
        measure_end(&dec),
        MeasureEnd::Fixed {
            last_day: d("2027-05-31")
        }
    );
    let history = [PastSanction {
        cause: RuleId::V6,
        resumed_on: d("2026-06-01"),
    }];
    let dec = decide(
        &Standing::Active,
        &history,
        violation(RuleId::V6, "2026-12-01"),
    );
    assert_eq!(measure_end(&dec), MeasureEnd::UntilCorrected);
}

#[test]
fn v5_same_kind_right_after_resuming_revokes() {
    let history = [PastSanction {
        cause: RuleId::V5,
        resumed_on: d("2026-06-01"),
    }];
    let soon = decide(
        &Standing::Active,
        &history,
        violation(RuleId::V5, "2026-11-30"),
    );
    assert_eq!(
        soon.standing,
        Standing::Revoked {
            on: d("2026-11-30"),
            cause: RuleId::V5
        }
    );
    let later = decide(
        &Standing::Active,
        &history,
        violation(RuleId::V5, "2026-12-01"),
    );
    assert!(
        matches!(later.standing, Standing::Suspended { .. }),
        "outside the window a new suspension"
    );
    let other = decide(
        &Standing::Active,
        &history,
        violation(RuleId::V3, "2026-07-01"),
    );
    assert!(
        matches!(other.standing, Standing::Suspended { .. }),
        "a different kind is not 同種"
    );
}

#[test]
fn d6_v5_unremedied_at_suspension_end_revokes() {
    let s = decide(&Standing::Active, &[], violation(RuleId::V5, "2026-12-01")).standing;
    let during = decide(&s, &[], elapsed("2027-05-31", false));
    assert_eq!(during.standing, s, "still inside the six months");
    let end = decide(&s, &[], elapsed("2027-06-01", false));
    assert_eq!(
        end.standing,
        Standing::Revoked {
            on: d("2027-06-01"),
            cause: RuleId::V5
        }
    );
    assert_eq!(end.effects, vec![RuleId::SN2, RuleId::E8]);
    let remedied = decide(&s, &[], elapsed("2027-06-01", true));
    assert_eq!(
        (remedied.standing, remedied.resumed),
        (Standing::Active, vec![RuleId::V5])
    );
}

#[test]
fn d6_v2_suspension_ends_and_access_returns() {
    let s = decide(&Standing::Active, &[], violation(RuleId::V2, "2026-12-01")).standing;
    let end = decide(&s, &[], elapsed("2027-06-01", false));
    assert_eq!(
        (end.standing, end.resumed),
        (Standing::Active, vec![RuleId::V2])
    );
}

#[test]
fn sn1_corrected_lifts_until_corrected_but_not_fixed_measures() {
    let s = decide(&Standing::Active, &[], violation(RuleId::V4, "2026-12-01")).standing;
    let s2 = decide(&s, &[], violation(RuleId::V3, "2026-12-05"));
    assert!(s2.effects.is_empty(), "already suspended: no new SN1");
    let lifted = decide(
        &s2.standing,
        &[],
        SanctionEvent::Corrected {
            on: d("2027-01-10"),
            cause: Some(RuleId::V4),
        },
    );
    match &lifted.standing {
        Standing::Suspended { measures, .. } => assert_eq!(
            measures.iter().map(|m| m.cause).collect::<Vec<_>>(),
            vec![RuleId::V3]
        ),
        other => panic!("the V3 six months still run: {other:?}"),
    }
    let v7 = decide(&Standing::Active, &[], violation(RuleId::V7, "2026-12-01")).standing;
    let back = decide(
        &v7,
        &[],
        SanctionEvent::Corrected {
            on: d("2026-12-20"),
            cause: None,
        },
    );
    assert_eq!(back.standing, Standing::Active);
}

#[test]
fn sn2_revoked_is_final() {
    let revoked = Standing::Revoked {
        on: d("2026-12-01"),
        cause: RuleId::V5b,
    };
    let e = sanction::decide(
        &revoked,
        &[],
        &violation(RuleId::V3, "2027-01-01"),
        &SanctionPolicy::default(),
    )
    .unwrap_err();
    assert_eq!(e.rule(), RuleId::SN2);
}

#[test]
fn sn3_not_a_violation_is_refused() {
    let e = sanction::decide(
        &Standing::Active,
        &[],
        &violation(RuleId::E3, "2027-01-01"),
        &SanctionPolicy::default(),
    )
    .unwrap_err();
    assert_eq!(e.rule(), RuleId::E3);
    let e = sanction::decide(
        &Standing::Active,
        &[],
        &SanctionEvent::Corrected {
            on: d("2027-01-01"),
            cause: None,
        },
        &SanctionPolicy::default(),
    )
    .unwrap_err();
    assert_eq!(e.rule(), RuleId::SN1);
}

#[test]
fn v2_v5_measures_that_ended_under_another_are_remembered() {
    // V1, then V2 while suspended. V2's six months end first, V1 is corrected later: the
    // organisation resumes from both, so a later violation revokes under V2's clause.
    let s = decide(&Standing::Active, &[], violation(RuleId::V1, "2026-12-01")).standing;
    let s = decide(&s, &[], violation(RuleId::V2, "2026-12-05")).standing;
    let s = decide(&s, &[], elapsed("2027-06-05", true)).standing;
    assert!(matches!(&s, Standing::Suspended { ended, .. } if ended == &vec![RuleId::V2]));
    let back = decide(
        &s,
        &[],
        SanctionEvent::Corrected {
            on: d("2027-07-01"),
            cause: Some(RuleId::V1),
        },
    );
    assert_eq!(back.standing, Standing::Active);
    assert_eq!(back.resumed, vec![RuleId::V2, RuleId::V1]);
    let history: Vec<PastSanction> = back
        .resumed
        .iter()
        .map(|&cause| PastSanction {
            cause,
            resumed_on: d("2027-07-01"),
        })
        .collect();
    let again = decide(
        &Standing::Active,
        &history,
        violation(RuleId::V3, "2027-09-01"),
    );
    assert!(
        matches!(
            again.standing,
            Standing::Revoked {
                cause: RuleId::V2,
                ..
            }
        ),
        "{again:?}"
    );
}

#[test]
fn v7_temporary_suspension_is_not_a_repeat() {
    let history = [PastSanction {
        cause: RuleId::V2,
        resumed_on: d("2026-06-01"),
    }];
    let dec = decide(
        &Standing::Active,
        &history,
        violation(RuleId::V7, "2027-01-10"),
    );
    assert_eq!(measure_end(&dec), MeasureEnd::Temporary);
}
