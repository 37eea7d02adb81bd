//! Invariants over the whole calendar range, checked with generated inputs.

use chrono::{DateTime, Datelike, Days, Duration, NaiveDate};
use hwx_rules::calendar;
use hwx_rules::deadline;
use hwx_rules::maintenance::MaintenancePolicy;
use hwx_rules::message::{self, MessagePolicy, Sender};
use hwx_rules::period::{self, Span};
use hwx_rules::quota::GuidanceQuota;
use hwx_rules::retention;
use proptest::prelude::*;

/// Any day from 1980-02-01 to 2098-11-30: far enough from the edges that periods of months stay in
/// the computed calendar.
fn day() -> impl Strategy<Value = NaiveDate> {
    let first = NaiveDate::from_ymd_opt(1980, 2, 1).unwrap();
    let span = (NaiveDate::from_ymd_opt(2098, 11, 30).unwrap() - first).num_days() as u64;
    (0..=span).prop_map(move |n| first + Days::new(n))
}

proptest! {
    // 2,000 cases by default; PROPTEST_CASES raises it for a longer hunt.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(2000),
        ..ProptestConfig::default()
    })]

    #[test]
    fn p3_rolled_back_deadline_is_a_business_day_never_later(raw in day()) {
        let rolled = period::roll_back(raw).unwrap();
        prop_assert!(calendar::is_business_day(rolled).unwrap());
        prop_assert!(rolled <= raw);
        // Nothing between the two is a business day: it is the nearest one.
        let mut d = rolled + Days::new(1);
        while d <= raw {
            prop_assert!(!calendar::is_business_day(d).unwrap());
            d = d + Days::new(1);
        }
        // The longest run of administrative holidays is 2019's ten-day Golden Week (4/27–5/6).
        prop_assert!((raw - rolled).num_days() <= 10);
    }

    #[test]
    fn d1_deadline_is_a_business_day_within_14_days(registered in day()) {
        let deadline = deadline::submission_deadline(registered).unwrap();
        prop_assert!(calendar::is_business_day(deadline).unwrap());
        prop_assert!(deadline > registered);
        prop_assert!(deadline <= registered + Days::new(14));
    }

    #[test]
    fn d2_due_is_the_third_business_day(registered in day()) {
        let due = deadline::bureau_email_due(registered).unwrap();
        prop_assert!(calendar::is_business_day(due).unwrap());
        let mut count = 0;
        let mut d = registered + Days::new(1);
        while d <= due {
            count += u32::from(calendar::is_business_day(d).unwrap());
            d = d + Days::new(1);
        }
        prop_assert_eq!(count, 3);
    }

    #[test]
    fn p2_month_periods_are_monotonic_and_sized(start in day(), later in 0u64..400, months in 1u32..=24) {
        let end = period::period_end(start, Span::Months(months)).unwrap();
        let days = (end - start).num_days() + 1;
        prop_assert!(days >= 28 * i64::from(months) && days <= 31 * i64::from(months), "{days} days");
        let end2 = period::period_end(start + Days::new(later), Span::Months(months)).unwrap();
        prop_assert!(end2 >= end);
        if start.day() == 1 {
            // From the first of a month: the end of the last month of the period.
            prop_assert_eq!(end.succ_opt().unwrap().day(), 1);
        }
    }

    #[test]
    fn e8_reapply_is_three_years_on(revoked in day()) {
        let from = deadline::reapply_from(revoked).unwrap();
        prop_assert!(from.year() == revoked.year() + 3);
        prop_assert!(from.ordinal().abs_diff(revoked.ordinal()) <= 2);
    }

    #[test]
    fn sk6c_sk6d_clock_shape(acquired in day(), accept_after in proptest::option::of(0u64..120)) {
        let accepted = accept_after.map(|n| acquired + Days::new(n));
        let r = retention::retention_clock(acquired, accepted).unwrap();
        prop_assert!(r.keep_through >= acquired);
        prop_assert_eq!(r.due, r.keep_through + Days::new(1));
        // Every clock ends on a month's last day: SK6c at the end of the month after next,
        // SK6d on March 31.
        prop_assert_eq!(r.due.day(), 1);
        if r.rule == hwx_rules::RuleId::SK6d {
            prop_assert_eq!((r.keep_through.month(), r.keep_through.day()), (3, 31));
        }
    }

    #[test]
    fn sk8_quota_is_all_or_nothing(sent in 0u32..1200, n in 0u32..1200) {
        let now = DateTime::parse_from_rfc3339("2026-11-28T12:00:00+09:00").unwrap();
        let r = GuidanceQuota::default().check(sent, n, &now).unwrap();
        prop_assert_eq!(r.is_ok(), sent + n <= 1000);
        if let Ok(g) = r {
            prop_assert_eq!(g.remaining + sent + n, 1000);
        }
    }

    #[test]
    fn x1_reopening_instant_is_open(minutes in 0i64..(60 * 24 * 800)) {
        let p = MaintenancePolicy::default();
        let at = DateTime::parse_from_rfc3339("2026-01-01T00:00:00+09:00").unwrap() + Duration::minutes(minutes);
        let s = p.status(&at);
        if let Some(reopens) = s.reopens {
            prop_assert!(s.in_window && reopens > at);
            prop_assert!(!p.status(&reopens).in_window);
            prop_assert!(reopens - at <= Duration::hours(9));
        } else {
            prop_assert!(!s.in_window);
        }
    }

    #[test]
    fn sk9_checks_never_panic_on_any_text(text in "\\PC{0,80}") {
        let _ = message::normalize(&text);
        let v = MessagePolicy::default().check(Sender::Seeker, &text, std::slice::from_ref(&text));
        prop_assert_eq!(v.allowed, v.found.is_empty());
    }

    #[test]
    fn sk9_any_mobile_number_in_any_shape_is_found(a in 0u32..10_000, b in 0u32..10_000, sep in prop::sample::select(vec!["-", "ー", "－", " ", "", "‐", "−"]), fw in any::<bool>()) {
        let raw = format!("090{sep}{a:04}{sep}{b:04}");
        let text = if fw { raw.chars().map(|c| c.to_digit(10).and_then(|d| char::from_u32(0xFF10 + d)).unwrap_or(c)).collect() } else { raw };
        let found = message::find_contacts(&format!("連絡先は{text}です"));
        prop_assert!(found.iter().any(|c| c.kind == message::ContactKind::Phone), "{text}");
    }
}

#[test]
fn c2_every_year_sorted_unique_and_plausible() {
    for y in calendar::FIRST_YEAR..=calendar::LAST_YEAR {
        let h = calendar::national_holidays(y).unwrap();
        assert!(
            h.windows(2).all(|w| w[0].date < w[1].date),
            "{y} sorted and unique"
        );
        assert!((12..=22).contains(&h.len()), "{y}: {} holidays", h.len());
        assert!(h.iter().all(|x| x.date.year() == y));
        for x in &h {
            if x.kind != calendar::HolidayKind::National {
                assert_ne!(
                    x.date.weekday(),
                    chrono::Weekday::Sun,
                    "{y}: a 休日 on a Sunday would add nothing"
                );
            }
        }
    }
}
