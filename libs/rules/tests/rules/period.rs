use hwx_rules::RuleId;
use hwx_rules::period::{self, Span};

use crate::d;

#[test]
fn p1_days_counted_from_the_day_after() {
    for (x, n, end) in [
        ("2026-04-20", 14, "2026-05-04"),
        ("2026-12-31", 1, "2027-01-01"),
        ("2028-02-15", 14, "2028-02-29"),
        ("2027-02-15", 14, "2027-03-01"),
    ] {
        assert_eq!(period::days_after(d(x), n).unwrap(), d(end), "P1 {x} + {n}");
    }
}

#[test]
fn p2_months_and_years_end_the_day_before_the_corresponding_day() {
    let cases = [
        // (first day, span, last day)
        ("2026-04-21", Span::Months(1), "2026-05-20"),
        ("2026-04-01", Span::Months(1), "2026-04-30"),
        ("2026-01-31", Span::Months(1), "2026-02-28"), // no Feb 31: end of February
        ("2028-01-31", Span::Months(1), "2028-02-29"), // leap year
        ("2026-03-31", Span::Months(1), "2026-04-30"), // no Apr 31
        ("2026-03-30", Span::Months(1), "2026-04-29"),
        ("2026-08-31", Span::Months(6), "2027-02-28"),
        ("2027-08-30", Span::Months(6), "2028-02-29"),
        ("2026-12-01", Span::Months(6), "2027-05-31"),
        ("2024-02-29", Span::Years(1), "2025-02-28"), // Feb 29 start: no corresponding day
        ("2024-02-29", Span::Years(4), "2028-02-28"),
        ("2026-11-28", Span::Years(3), "2029-11-27"),
        ("2026-11-28", Span::Days(1), "2026-11-28"),
        ("2026-11-28", Span::Days(14), "2026-12-11"),
    ];
    for (start, span, end) in cases {
        assert_eq!(
            period::period_end(d(start), span).unwrap(),
            d(end),
            "P2 {start} {span:?}"
        );
    }
    assert_eq!(
        period::period_end(d("2026-01-01"), Span::Months(0))
            .unwrap_err()
            .rule(),
        RuleId::P2
    );
}

#[test]
fn p3_deadline_on_an_administrative_holiday_moves_back() {
    for (raw, rolled) in [
        ("2026-11-27", "2026-11-27"), // Friday: stays
        ("2026-11-28", "2026-11-27"), // Saturday → Friday
        ("2026-11-29", "2026-11-27"), // Sunday → Friday
        ("2026-11-23", "2026-11-20"), // Monday holiday → Friday before
        ("2027-01-03", "2026-12-28"), // the whole New-Year block 12/29–1/3 is crossed
        ("2027-01-01", "2026-12-28"),
        ("2026-12-29", "2026-12-28"),
        ("2026-05-06", "2026-05-01"), // Golden Week: 5/2–5/6 back to Friday 5/1
        ("2026-09-23", "2026-09-18"), // Silver Week: 9/19–9/23
        ("2019-05-06", "2019-04-26"), // 2019's ten-day Golden Week, the longest run of holidays
    ] {
        assert_eq!(period::roll_back(d(raw)).unwrap(), d(rolled), "P3 {raw}");
    }
}

#[test]
fn p1_p2_p3_deadline_after_combines_count_and_roll_back() {
    // One month from the day after Apr 20 is May 20 (P2); 2029-05-20 is a Sunday → Friday May 18 (P3).
    assert_eq!(
        period::deadline_after(d("2029-04-20"), Span::Months(1)).unwrap(),
        d("2029-05-18")
    );
    // 14 days after Dec 20 is Jan 3, inside the New-Year block → Dec 28.
    assert_eq!(
        period::deadline_after(d("2026-12-20"), Span::Days(14)).unwrap(),
        d("2026-12-28")
    );
}
