use hwx_rules::RuleId;
use hwx_rules::retention::{self, Acquisition};

use crate::d;

#[test]
fn sk6c_not_accepted_deleted_after_the_month_after_next() {
    for (acquired, keep_through) in [
        ("2026-11-10", "2027-01-31"),
        ("2026-12-31", "2027-02-28"),
        ("2027-12-01", "2028-02-29"), // leap February
        ("2026-01-31", "2026-03-31"),
    ] {
        let r = retention::retention_clock(d(acquired), None).unwrap();
        assert_eq!(
            (r.keep_through, r.rule),
            (d(keep_through), RuleId::SK6c),
            "SK6c {acquired}"
        );
        assert_eq!(r.due, r.keep_through.succ_opt().unwrap());
    }
}

#[test]
fn sk6d_accepted_kept_one_year_from_the_next_fiscal_year() {
    for (acquired, accepted, keep_through) in [
        ("2026-05-01", "2026-05-10", "2028-03-31"), // FY2026 → from 2027-04-01 → through 2028-03-31
        ("2027-01-15", "2027-03-31", "2028-03-31"), // FY2026 (March)
        ("2027-02-15", "2027-04-01", "2029-03-31"), // FY2027 (April)
    ] {
        let r = retention::retention_clock(d(acquired), Some(d(accepted))).unwrap();
        assert_eq!(
            (r.keep_through, r.rule),
            (d(keep_through), RuleId::SK6d),
            "SK6d {accepted}"
        );
    }
}

#[test]
fn sk6c_acceptance_after_the_deadline_does_not_restart_the_clock() {
    let r = retention::retention_clock(d("2026-11-10"), Some(d("2027-02-01"))).unwrap();
    assert_eq!((r.keep_through, r.rule), (d("2027-01-31"), RuleId::SK6c));
    // On the last allowed day it still counts.
    let r = retention::retention_clock(d("2026-11-10"), Some(d("2027-01-31"))).unwrap();
    assert_eq!(r.rule, RuleId::SK6d);
}

#[test]
fn sk6d_acceptance_before_acquisition_is_refused() {
    let e = retention::retention_clock(d("2026-11-10"), Some(d("2026-11-09"))).unwrap_err();
    assert_eq!(e.rule(), RuleId::SK6d);
}

#[test]
fn sk6a_sk6b_sk6e_events_make_deletion_due_at_once() {
    let base = Acquisition {
        acquired: d("2026-11-10"),
        accepted: Some(d("2026-11-20")),
        ..Default::default()
    };
    let cases = [
        (
            Acquisition {
                deletion_requested: Some(d("2026-12-01")),
                ..base
            },
            RuleId::SK6a,
            "2026-12-01",
        ),
        (
            Acquisition {
                blocked: Some(d("2026-12-02")),
                ..base
            },
            RuleId::SK6b,
            "2026-12-02",
        ),
        (
            Acquisition {
                service_ended: Some(d("2027-03-05")),
                ..base
            },
            RuleId::SK6e,
            "2027-03-05",
        ),
        // The earliest wins.
        (
            Acquisition {
                blocked: Some(d("2026-12-09")),
                deletion_requested: Some(d("2026-12-03")),
                ..base
            },
            RuleId::SK6a,
            "2026-12-03",
        ),
        // An event after the clock has run out changes nothing.
        (
            Acquisition {
                accepted: None,
                blocked: Some(d("2027-06-01")),
                ..base
            },
            RuleId::SK6c,
            "2027-02-01",
        ),
    ];
    for (acq, rule, due) in cases {
        let r = retention::deletion_deadline(&acq).unwrap();
        assert_eq!((r.rule, r.due), (rule, d(due)), "{acq:?}");
    }
}
