use hwx_rules::maintenance::MaintenancePolicy;

use crate::at;

#[test]
fn x1_daily_and_month_end_windows() {
    let p = MaintenancePolicy::default();
    let cases = [
        (
            "2026-11-30T21:45:00+09:00",
            Some("2026-12-01T06:00:00+09:00"),
        ), // month end
        ("2026-11-30T21:29:59+09:00", None),
        (
            "2026-11-30T21:30:00+09:00",
            Some("2026-12-01T06:00:00+09:00"),
        ),
        ("2026-11-29T21:45:00+09:00", None),
        (
            "2026-11-28T00:00:00+09:00",
            Some("2026-11-28T06:00:00+09:00"),
        ),
        (
            "2026-11-28T05:59:59+09:00",
            Some("2026-11-28T06:00:00+09:00"),
        ),
        ("2026-11-28T06:00:00+09:00", None),
        ("2026-11-27T15:30:00Z", Some("2026-11-28T06:00:00+09:00")), // 00:30 JST
        ("2026-11-30T12:45:00Z", Some("2026-12-01T06:00:00+09:00")), // 21:45 JST on the 30th
        (
            "2028-02-29T22:00:00+09:00",
            Some("2028-03-01T06:00:00+09:00"),
        ), // leap month end
        (
            "2027-02-28T22:00:00+09:00",
            Some("2027-03-01T06:00:00+09:00"),
        ),
        (
            "2026-12-31T23:59:00+09:00",
            Some("2027-01-01T06:00:00+09:00"),
        ),
    ];
    for (t, reopens) in cases {
        let s = p.status(&at(t));
        assert_eq!(s.in_window, reopens.is_some(), "X1 {t}");
        assert_eq!(s.reopens, reopens.map(at), "X1 {t}");
    }
}

#[test]
fn x1_emergency_windows_chain_with_scheduled_ones() {
    let mut p = MaintenancePolicy::default();
    p.emergency.push((
        at("2026-11-28T04:00:00+09:00"),
        at("2026-11-28T09:00:00+09:00"),
    ));
    let s = p.status(&at("2026-11-28T01:00:00+09:00"));
    assert_eq!(
        s.reopens,
        Some(at("2026-11-28T09:00:00+09:00")),
        "the emergency extends the night window"
    );
    assert_eq!(
        p.status(&at("2026-11-28T08:59:00+09:00")).reopens,
        Some(at("2026-11-28T09:00:00+09:00"))
    );
    assert!(!p.status(&at("2026-11-28T09:00:00+09:00")).in_window);
}

#[test]
fn x1_development_policy_has_no_scheduled_windows() {
    let p = MaintenancePolicy::none();
    assert!(!p.status(&at("2026-11-30T23:00:00+09:00")).in_window);
    assert!(!p.status(&at("2026-11-28T03:00:00+09:00")).in_window);
}
