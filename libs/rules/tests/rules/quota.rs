use hwx_rules::quota::{self, GuidanceQuota, MessageKind};
use hwx_rules::{RuleId, jst};

use crate::{at, d};

#[test]
fn sk8_up_to_one_thousand_a_day() {
    let q = GuidanceQuota::default();
    let now = at("2026-11-28T10:00:00+09:00");
    let cases = [
        (0, 1, Some(999)),
        (999, 1, Some(0)),
        (1000, 1, None),
        (990, 10, Some(0)),
        (990, 11, None), // a batch that does not fit is refused whole
        (0, 1000, Some(0)),
        (0, 1001, None),
        (u32::MAX, 1, None),
    ];
    for (sent, n, remaining) in cases {
        let r = q.check(sent, n, &now).unwrap();
        assert_eq!(
            r.as_ref().ok().map(|g| g.remaining),
            remaining,
            "SK8 {sent}+{n}"
        );
        if let Err(e) = r {
            assert!(e.to_string().contains("SK8"), "{e}");
            assert_eq!(e.resets_at, at("2026-11-29T00:00:00+09:00"));
        }
    }
}

#[test]
fn sk8_refusal_names_the_rule() {
    assert_eq!(quota::QuotaExceeded::RULE, RuleId::SK8);
}

#[test]
fn sk8_days_are_jst_days() {
    // 14:59:59 UTC is 23:59:59 JST; a second later is the next JST day.
    let before = at("2026-11-28T14:59:59Z");
    let after = at("2026-11-28T15:00:00Z");
    assert_eq!(jst::day_of(&before), d("2026-11-28"));
    assert_eq!(jst::day_of(&after), d("2026-11-29"));
    assert_eq!(
        quota::next_reset(&before).unwrap(),
        at("2026-11-29T00:00:00+09:00")
    );
    assert_eq!(
        quota::next_reset(&after).unwrap(),
        at("2026-11-30T00:00:00+09:00")
    );
    // A reset instant expressed in UTC is 15:00 the day before.
    assert_eq!(
        quota::next_reset(&before).unwrap().naive_utc().to_string(),
        "2026-11-28 15:00:00"
    );
}

#[test]
fn sk8_sk7_change_notices_do_not_count() {
    assert!(MessageKind::FirstGuidance.counts_toward_quota());
    assert!(MessageKind::Answer.counts_toward_quota());
    assert!(!MessageKind::MandatoryInfoChange.counts_toward_quota());
}
