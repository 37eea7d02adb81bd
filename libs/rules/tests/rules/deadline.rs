use hwx_rules::RuleId;
use hwx_rules::deadline;
use hwx_rules::fiscal::FiscalYear;

use crate::d;

#[test]
fn d1_ap2_submission_deadline_14_days_then_roll_back() {
    for (registered, deadline) in [
        ("2026-11-02", "2026-11-16"), // Monday: stays
        ("2026-11-28", "2026-12-11"), // 12/12 is a Saturday
        ("2026-12-15", "2026-12-28"), // 12/29 starts the year-end block
        ("2026-12-20", "2026-12-28"), // 1/3: back across the whole New-Year block
        ("2026-04-22", "2026-05-01"), // 5/6 substitute holiday: back across Golden Week
        ("2028-02-15", "2028-02-29"), // leap day, a Tuesday
    ] {
        assert_eq!(
            deadline::submission_deadline(d(registered)).unwrap(),
            d(deadline),
            "D1 {registered}"
        );
    }
}

#[test]
fn ap3_unsubmitted_registration_deleted_after_the_14th_day() {
    // The deletion is not rolled back: data registered 11/28 is deleted on 12/13.
    assert_eq!(
        deadline::unsubmitted_deleted_on(d("2026-11-28")).unwrap(),
        d("2026-12-13")
    );
    assert_eq!(
        deadline::unsubmitted_deleted_on(d("2026-12-20")).unwrap(),
        d("2027-01-04")
    );
}

#[test]
fn d2_ap5_bureau_email_due_third_business_day() {
    for (registered, due) in [
        ("2026-11-27", "2026-12-02"), // Fri → Mon, Tue, Wed
        ("2026-11-28", "2026-12-02"), // Saturday registration
        ("2026-12-25", "2027-01-05"), // 12/28, then 1/4, 1/5
        ("2026-04-30", "2026-05-08"), // 5/1, then 5/7, 5/8
        ("2026-09-17", "2026-09-25"), // Silver Week: 9/18, 9/24, 9/25
    ] {
        assert_eq!(
            deadline::bureau_email_due(d(registered)).unwrap(),
            d(due),
            "D2 {registered}"
        );
    }
}

#[test]
fn d3_d4_report_due_grace_and_reminder() {
    let cases = [
        // (fiscal year, due, grace end, reminder)
        (2026, "2027-04-20", "2027-05-20", "2027-03-15"),
        (2027, "2028-04-20", "2028-05-19", "2028-03-20"), // 5/20 Saturday; the reminder falls on 春分の日
        (2028, "2029-04-20", "2029-05-18", "2029-03-19"), // 5/20 Sunday
        (2029, "2030-04-19", "2030-05-20", "2030-03-18"), // 4/20 Saturday: the seed's proviso moves it back
        (2019, "2020-04-20", "2020-05-20", "2020-03-16"),
    ];
    for (fy, due, grace, reminder) in cases {
        let r = deadline::report_dates(FiscalYear(fy)).unwrap();
        assert_eq!(
            (r.due, r.grace_end, r.reminder),
            (d(due), d(grace), d(reminder)),
            "FY{fy}"
        );
    }
}

#[test]
fn d5_expiry_grace_one_month_from_the_day_after() {
    for (expired, grace_end) in [
        ("2026-06-15", "2026-07-15"),
        ("2026-11-30", "2026-12-28"), // 12/31 is in the year-end block
        ("2027-01-30", "2027-02-26"), // from 1/31: no 2/31 → 2/28 (Sunday) → 2/26
        ("2027-03-30", "2027-04-30"), // from 3/31: no 4/31 → 4/30 (Friday)
    ] {
        assert_eq!(
            deadline::expiry_grace_end(d(expired)).unwrap(),
            d(grace_end),
            "D5 {expired}"
        );
    }
}

#[test]
fn d6_suspension_lasts_six_months_without_roll_back() {
    for (start, last) in [
        ("2026-12-01", "2027-05-31"),
        ("2026-08-31", "2027-02-28"),
        ("2027-11-28", "2028-05-27"), // ends on a Saturday: a suspension is not moved by P3
    ] {
        assert_eq!(
            deadline::suspension_last_day(d(start)).unwrap(),
            d(last),
            "D6 {start}"
        );
    }
}

#[test]
fn e8_d7_reapply_three_years_from_revocation() {
    for (revoked, from) in [
        ("2026-11-28", "2029-11-28"),
        ("2024-02-29", "2027-03-01"), // no 2/29 in 2027: barred through 2/28
        ("2023-12-31", "2026-12-31"),
    ] {
        assert_eq!(
            deadline::reapply_from(d(revoked)).unwrap(),
            d(from),
            "E8 {revoked}"
        );
    }
}

#[test]
fn e7_email_reusable_five_years_after_closing() {
    for (closed, from) in [
        ("2021-11-28", "2026-11-28"),
        ("2020-02-29", "2025-03-01"),
        ("2023-11-28", "2028-11-28"),
    ] {
        assert_eq!(
            deadline::email_reusable_from(d(closed)).unwrap(),
            d(from),
            "E7 {closed}"
        );
    }
}

#[test]
fn d8_validity_one_year_capped_at_licence_expiry() {
    assert_eq!(
        deadline::validity_end(d("2026-12-01"), None, None).unwrap(),
        d("2027-11-30")
    );
    assert_eq!(
        deadline::validity_end(d("2026-12-01"), Some(6), None).unwrap(),
        d("2027-05-31")
    );
    assert_eq!(
        deadline::validity_end(d("2026-12-01"), None, Some(d("2027-06-30"))).unwrap(),
        d("2027-06-30")
    );
    assert_eq!(
        deadline::validity_end(d("2026-12-01"), None, Some(d("2028-06-30"))).unwrap(),
        d("2027-11-30")
    );
    let e = deadline::validity_end(d("2026-12-01"), None, Some(d("2026-11-30"))).unwrap_err();
    assert_eq!(e.rule(), RuleId::D8);
}

#[test]
fn e3_placement_window_three_months_back_including_the_application_date() {
    for (applied, first) in [
        ("2026-11-28", "2026-08-29"),
        ("2026-05-31", "2026-03-01"), // no 2/31: the window is March–May
        ("2026-03-31", "2026-01-01"),
        ("2028-05-29", "2028-03-01"), // 2/29 exists in 2028
    ] {
        assert_eq!(
            deadline::placement_window(d(applied)).unwrap(),
            (d(first), d(applied)),
            "E3 {applied}"
        );
    }
}
