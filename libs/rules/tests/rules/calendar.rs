use std::collections::BTreeMap;

use chrono::Datelike;
use hwx_rules::calendar::{self, AdministrativeHoliday, HolidayKind};

use crate::d;

/// The Cabinet Office's list (内閣府 syukujitsu.csv), 1980–2027.
const CABINET_OFFICE: &str = include_str!("../data/cabinet-office-1980-2027.csv");
/// An independent computation (PyPI `holidays` 0.109) for sample years 2030–2099.
const FUTURE_SAMPLE: &str = include_str!("../data/future-sample.csv");

fn parse(csv: &str) -> BTreeMap<hwx_rules::Date, String> {
    csv.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (date, name) = l.split_once(',').expect("date,name");
            (d(date), name.to_owned())
        })
        .collect()
}

/// The Cabinet Office writes 休日 for substitute and citizens' holidays and short names for the
/// single days; map ours onto its wording.
fn cabinet_office_name(h: &calendar::Holiday) -> &'static str {
    match (h.kind, h.name) {
        (HolidayKind::Substitute | HolidayKind::Citizens, _) => "休日",
        (_, "昭和天皇の大喪の礼") => "大喪の礼",
        (_, "皇太子徳仁親王の結婚の儀") => "結婚の儀",
        (_, "天皇の即位の日") => "休日（祝日扱い）",
        (_, "即位礼正殿の儀") if h.date.year() == 2019 => "休日（祝日扱い）",
        (_, "体育の日") if h.date.year() == 2019 => "体育の日（スポーツの日）",
        (_, name) => name,
    }
}

#[test]
fn c2_matches_cabinet_office_list_1980_to_2027() {
    let expected = parse(CABINET_OFFICE);
    let mut ours = BTreeMap::new();
    for y in 1980..=2027 {
        for h in calendar::national_holidays(y).unwrap() {
            ours.insert(h.date, cabinet_office_name(&h).to_owned());
        }
    }
    let missing: Vec<_> = expected
        .iter()
        .filter(|(k, _)| !ours.contains_key(*k))
        .collect();
    let extra: Vec<_> = ours
        .iter()
        .filter(|(k, _)| !expected.contains_key(*k))
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}\nextra {extra:?}"
    );
    let renamed: Vec<_> = expected.iter().filter(|(k, v)| ours[*k] != **v).collect();
    assert!(renamed.is_empty(), "names differ: {renamed:?}");
    assert_eq!(ours.len(), 789);
}

#[test]
fn c2_matches_independent_source_for_future_sample_years() {
    let expected = parse(FUTURE_SAMPLE);
    let years: Vec<i32> = {
        let mut y: Vec<i32> = expected.keys().map(|d| d.year()).collect();
        y.dedup();
        y
    };
    assert_eq!(
        years,
        vec![2030, 2033, 2036, 2040, 2045, 2050, 2060, 2075, 2099]
    );
    for y in years {
        let ours: Vec<_> = calendar::national_holidays(y)
            .unwrap()
            .iter()
            .map(|h| h.date)
            .collect();
        let theirs: Vec<_> = expected.keys().copied().filter(|d| d.year() == y).collect();
        assert_eq!(ours, theirs, "year {y}");
    }
}

#[test]
fn c2_named_holidays_and_their_history() {
    // (date, name) that must be a holiday with exactly that name.
    let cases = [
        ("1980-01-15", "成人の日"),
        ("2000-01-10", "成人の日"),
        ("1988-04-29", "天皇誕生日"),
        ("1989-04-29", "みどりの日"),
        ("2007-04-29", "昭和の日"),
        ("2007-05-04", "みどりの日"),
        ("2018-12-23", "天皇誕生日"),
        ("2020-02-23", "天皇誕生日"),
        ("1996-07-20", "海の日"),
        ("2003-07-21", "海の日"),
        ("2016-08-11", "山の日"),
        ("2002-09-16", "振替休日"),
        ("2003-09-15", "敬老の日"),
        ("1999-10-11", "振替休日"),
        ("2000-10-09", "体育の日"),
        ("2020-07-24", "スポーツの日"),
        ("2021-07-23", "スポーツの日"),
        ("2022-10-10", "スポーツの日"),
        ("2020-07-23", "海の日"),
        ("2021-07-22", "海の日"),
        ("2020-08-10", "山の日"),
        ("2021-08-08", "山の日"),
        ("2021-08-09", "振替休日"),
        ("1989-02-24", "昭和天皇の大喪の礼"),
        ("1990-11-12", "即位礼正殿の儀"),
        ("1993-06-09", "皇太子徳仁親王の結婚の儀"),
        ("2019-05-01", "天皇の即位の日"),
        ("2019-10-22", "即位礼正殿の儀"),
        ("2019-04-30", "国民の休日"),
        ("2019-05-02", "国民の休日"),
        ("1988-05-04", "国民の休日"),
        ("2009-09-22", "国民の休日"),
        ("2026-09-22", "国民の休日"),
        ("2032-09-21", "国民の休日"),
    ];
    for (date, name) in cases {
        let h = calendar::holiday_on(d(date)).unwrap();
        assert_eq!(h.map(|h| h.name), Some(name), "{date}");
    }
    // Dates that are not holidays although an older or newer rule would make them one.
    for date in [
        "2019-12-23",
        "2019-02-23",
        "1985-05-04",
        "1986-05-04",
        "2020-10-12",
        "2021-10-11",
        "2020-07-20",
        "2015-08-11",
        "1995-07-20",
    ] {
        assert_eq!(calendar::holiday_on(d(date)).unwrap(), None, "{date}");
    }
}

#[test]
fn c2_cascading_substitute_holidays() {
    // Since 2007 a Sunday 5/3 pushes the substitute past 5/4 and 5/5 to 5/6.
    for (date, holiday) in [
        ("2009-05-06", true), // 5/3 Sunday
        ("2015-05-06", true), // 5/3 Sunday
        ("2020-05-06", true), // 5/3 Sunday
        ("2008-05-06", true), // 5/4 Sunday (みどりの日)
        ("2014-05-06", true), // 5/4 Sunday
        ("2013-05-06", true), // 5/5 Sunday
        ("1998-05-04", true), // before 2007: 5/3 Sunday → Monday 5/4 only
        ("1998-05-06", false),
        ("2003-05-06", false), // 5/4 Sunday before 2007 is just a Sunday
        ("2037-05-06", true),  // 5/3 Sunday in the future
    ] {
        assert_eq!(
            calendar::is_national_holiday(d(date)).unwrap(),
            holiday,
            "{date}"
        );
    }
    assert_eq!(
        calendar::holiday_on(d("2009-05-06")).unwrap().unwrap().kind,
        HolidayKind::Substitute
    );
}

#[test]
fn c2_equinox_formula_on_known_years() {
    let known = [
        (1980, 20, 23),
        (1984, 20, 23),
        (2012, 20, 22),
        (2024, 20, 22),
        (2026, 20, 23),
        (2027, 21, 23),
        (2092, 19, 22),
        (2099, 20, 23),
    ];
    for (y, spring, autumn) in known {
        assert_eq!(calendar::vernal_equinox_day(y), spring, "vernal {y}");
        assert_eq!(calendar::autumnal_equinox_day(y), autumn, "autumnal {y}");
    }
}

#[test]
fn c2_years_outside_1980_to_2099_are_refused_with_the_rule() {
    for y in [1979, 2100] {
        let e = calendar::national_holidays(y).unwrap_err();
        assert_eq!(e.rule(), hwx_rules::RuleId::C2);
        assert!(e.to_string().contains("1980–2099"), "{e}");
    }
    // Every day outside the range is refused, also those that are weekends or year-end days.
    for date in ["2100-01-04", "1979-12-31", "1979-12-29", "2100-01-02"] {
        assert_eq!(
            calendar::is_business_day(d(date)).unwrap_err().rule(),
            hwx_rules::RuleId::C2,
            "{date}"
        );
        assert!(calendar::administrative_holiday(d(date)).is_err(), "{date}");
    }
}

#[test]
fn c1_administrative_holidays_weekends_and_year_end() {
    let cases = [
        ("2026-12-28", None),
        ("2026-12-29", Some("year_end")),
        ("2026-12-31", Some("year_end")),
        ("2027-01-01", Some("national")),
        ("2027-01-02", Some("year_end")), // a Saturday, named as a year-end day
        ("2027-01-03", Some("year_end")),
        ("2026-11-29", Some("sunday")),
        ("2027-01-04", None),
        ("2026-11-28", Some("saturday")),
        ("2026-11-23", Some("national")),
    ];
    for (date, expected) in cases {
        let got = calendar::administrative_holiday(d(date))
            .unwrap()
            .map(|h| match h {
                AdministrativeHoliday::Saturday => "saturday",
                AdministrativeHoliday::Sunday => "sunday",
                AdministrativeHoliday::National(_) => "national",
                AdministrativeHoliday::YearEnd => "year_end",
            });
        assert_eq!(got, expected, "{date}");
    }
}

#[test]
fn c3_business_days() {
    for (date, business) in [
        ("2026-12-28", true),
        ("2026-12-29", false),
        ("2027-01-04", true),
        ("2026-05-06", false), // 振替休日 (5/3 Sunday)
        ("2026-09-22", false), // 国民の休日
        ("2026-11-27", true),
    ] {
        assert_eq!(
            calendar::is_business_day(d(date)).unwrap(),
            business,
            "{date}"
        );
    }
    // 2026: 365 days − 104 weekend days − 17 national holidays on weekdays (5/3 is a Sunday) −
    // 4 year-end weekdays (1/2, 12/29–12/31).
    assert_eq!(
        calendar::business_days_in(2026).unwrap(),
        365 - 104 - 17 - 4
    );
}

#[test]
fn c1_year_calendar_lists_year_end_and_weekend_holidays() {
    let list = calendar::administrative_holidays(2027).unwrap();
    let year_end: Vec<_> = list
        .iter()
        .filter(|(_, h)| *h == AdministrativeHoliday::YearEnd)
        .map(|(d, _)| d.to_string())
        .collect();
    // 2027-01-02 is a Saturday, 01-03 a Sunday: they are year-end days too.
    assert_eq!(
        year_end,
        [
            "2027-01-02",
            "2027-01-03",
            "2027-12-29",
            "2027-12-30",
            "2027-12-31"
        ]
    );
    assert!(list.iter().any(|(d, _)| d.to_string() == "2027-03-21"));
}
