//! The Japanese calendar the terms run on: national holidays (C2), administrative holidays (C1) and
//! business days (C3).
//!
//! National holidays are computed by rule from the Act on National Holidays (国民の祝日に関する法律)
//! and the special acts for single days, for 1980–2099: the equinox formula is valid there, and
//! deadlines run years ahead of any published table.

use std::sync::OnceLock;

use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::Serialize;

use crate::error::{Result, RulesError};

/// First year the holiday rules are computed for.
pub const FIRST_YEAR: i32 = 1980;
/// Last year the holiday rules are computed for (the equinox formula changes in 2100).
pub const LAST_YEAR: i32 = 2099;

/// Why a day is a national holiday.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HolidayKind {
    /// 国民の祝日 named in Art. 2 of the Act, or a single day declared one by a special act.
    National,
    /// 振替休日: a national holiday fell on a Sunday (Art. 3(2)).
    Substitute,
    /// 国民の休日: a day between two national holidays (Art. 3(3)).
    Citizens,
}

/// A national holiday or 休日 under the Act.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Holiday {
    pub date: NaiveDate,
    pub name: &'static str,
    pub kind: HolidayKind,
}

/// Why a day is an administrative holiday (行政機関の休日, C1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AdministrativeHoliday {
    Saturday,
    Sunday,
    /// A national holiday or 休日 (C2); a national holiday on a weekend is reported here.
    National(Holiday),
    /// Dec 29 – Jan 3 (年末年始), when not already a national holiday.
    YearEnd,
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    // Callers pass calendar-valid constants or checked values.
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
}

/// The `n`-th (1-based) `weekday` of a month: Happy-Monday holidays and the D4 reminder.
pub fn nth_weekday(year: i32, month: u32, weekday: Weekday, n: u8) -> NaiveDate {
    NaiveDate::from_weekday_of_month_opt(year, month, weekday, n).unwrap_or(NaiveDate::MIN)
}

/// Day of March of the vernal equinox day, by the standard formula for 1980–2099.
///
/// `floor(20.8431 + 0.242194 (Y − 1980) − floor((Y − 1980) / 4))`, in integers so no rounding can
/// move a day.
pub fn vernal_equinox_day(year: i32) -> u32 {
    equinox(year, 20_843_100)
}

/// Day of September of the autumnal equinox day, by the standard formula for 1980–2099.
pub fn autumnal_equinox_day(year: i32) -> u32 {
    equinox(year, 23_248_800)
}

fn equinox(year: i32, base_micro: i64) -> u32 {
    let t = i64::from(year - 1980);
    let micro = base_micro + 242_194 * t - 1_000_000 * t.div_euclid(4);
    micro.div_euclid(1_000_000) as u32
}

/// The national holidays named by the Act (and the single days of the special acts) in `year`,
/// before substitute and citizens' holidays are added. Sorted by date.
fn named_holidays(y: i32) -> Vec<(NaiveDate, &'static str)> {
    let mut v: Vec<(NaiveDate, &'static str)> = Vec::with_capacity(20);
    let monday = |m, n| nth_weekday(y, m, Weekday::Mon, n);
    v.push((date(y, 1, 1), "元日"));
    v.push((
        if y < 2000 {
            date(y, 1, 15)
        } else {
            monday(1, 2)
        },
        "成人の日",
    ));
    v.push((date(y, 2, 11), "建国記念の日"));
    if y >= 2020 {
        v.push((date(y, 2, 23), "天皇誕生日"));
    }
    v.push((date(y, 3, vernal_equinox_day(y)), "春分の日"));
    v.push((
        date(y, 4, 29),
        match y {
            ..=1988 => "天皇誕生日",
            1989..=2006 => "みどりの日",
            _ => "昭和の日",
        },
    ));
    v.push((date(y, 5, 3), "憲法記念日"));
    if y >= 2007 {
        v.push((date(y, 5, 4), "みどりの日"));
    }
    v.push((date(y, 5, 5), "こどもの日"));
    match y {
        1996..=2002 => v.push((date(y, 7, 20), "海の日")),
        2020 => v.push((date(y, 7, 23), "海の日")),
        2021 => v.push((date(y, 7, 22), "海の日")),
        2003.. => v.push((monday(7, 3), "海の日")),
        _ => {}
    }
    match y {
        2020 => v.push((date(y, 8, 10), "山の日")),
        2021 => v.push((date(y, 8, 8), "山の日")),
        2016.. => v.push((date(y, 8, 11), "山の日")),
        _ => {}
    }
    v.push((
        if y < 2003 {
            date(y, 9, 15)
        } else {
            monday(9, 3)
        },
        "敬老の日",
    ));
    v.push((date(y, 9, autumnal_equinox_day(y)), "秋分の日"));
    match y {
        ..=1999 => v.push((date(y, 10, 10), "体育の日")),
        2000..=2019 => v.push((monday(10, 2), "体育の日")),
        // The Tokyo 2020 special measures moved スポーツの日 into July in 2020 and 2021.
        2020 => v.push((date(y, 7, 24), "スポーツの日")),
        2021 => v.push((date(y, 7, 23), "スポーツの日")),
        _ => v.push((monday(10, 2), "スポーツの日")),
    }
    v.push((date(y, 11, 3), "文化の日"));
    v.push((date(y, 11, 23), "勤労感謝の日"));
    if (1989..=2018).contains(&y) {
        v.push((date(y, 12, 23), "天皇誕生日"));
    }
    // Single days declared national holidays by special acts.
    match y {
        1989 => v.push((date(y, 2, 24), "昭和天皇の大喪の礼")),
        1990 => v.push((date(y, 11, 12), "即位礼正殿の儀")),
        1993 => v.push((date(y, 6, 9), "皇太子徳仁親王の結婚の儀")),
        2019 => {
            v.push((date(y, 5, 1), "天皇の即位の日"));
            v.push((date(y, 10, 22), "即位礼正殿の儀"));
        }
        _ => {}
    }
    v.sort_by_key(|(d, _)| *d);
    v
}

fn compute_year(y: i32) -> Vec<Holiday> {
    let named = named_holidays(y);
    let is_named = |d: NaiveDate| named.iter().any(|(n, _)| *n == d);
    let mut out: Vec<Holiday> = named
        .iter()
        .map(|&(date, name)| Holiday {
            date,
            name,
            kind: HolidayKind::National,
        })
        .collect();

    // 振替休日 (Art. 3(2)). Until 2006 it was the Monday after; since 2007 the nearest following day
    // that is not itself a national holiday, so a Sunday 5/3 moves to 5/6.
    let mut substitutes = Vec::new();
    for &(d, _) in &named {
        if d.weekday() != Weekday::Sun {
            continue;
        }
        let mut s = d + Days::new(1);
        if y >= 2007 {
            while is_named(s) {
                s = s + Days::new(1);
            }
        } else if is_named(s) {
            continue;
        }
        if s.year() == y {
            substitutes.push(s);
        }
    }
    for s in &substitutes {
        out.push(Holiday {
            date: *s,
            name: "振替休日",
            kind: HolidayKind::Substitute,
        });
    }

    // 国民の休日 (Art. 3(3), in force since 1985-12-27): a day whose previous and next days are
    // national holidays. Until 2006 Sundays and substitute holidays were excluded.
    if y >= 1986 {
        for w in named.windows(2) {
            let (a, b) = (w[0].0, w[1].0);
            if b.signed_duration_since(a).num_days() != 2 {
                continue;
            }
            let mid = a + Days::new(1);
            if substitutes.contains(&mid) || (y < 2007 && mid.weekday() == Weekday::Sun) {
                continue;
            }
            out.push(Holiday {
                date: mid,
                name: "国民の休日",
                kind: HolidayKind::Citizens,
            });
        }
    }
    out.sort_by_key(|h| h.date);
    out
}

fn check_year(y: i32) -> Result<()> {
    if (FIRST_YEAR..=LAST_YEAR).contains(&y) {
        Ok(())
    } else {
        Err(RulesError::OutsideCalendar { year: y })
    }
}

/// Every national holiday and 休日 of `year`, sorted (C2).
pub fn national_holidays(year: i32) -> Result<Vec<Holiday>> {
    check_year(year)?;
    Ok(compute_year(year))
}

/// Bit table of national holidays 1980–2099, built once: deadline code asks about single days
/// millions of times.
fn table() -> &'static Vec<u64> {
    static TABLE: OnceLock<Vec<u64>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let days = (date(LAST_YEAR, 12, 31) - date(FIRST_YEAR, 1, 1)).num_days() as usize + 1;
        let mut bits = vec![0u64; days.div_ceil(64)];
        for y in FIRST_YEAR..=LAST_YEAR {
            for h in compute_year(y) {
                let i = day_index(h.date);
                bits[i / 64] |= 1 << (i % 64);
            }
        }
        bits
    })
}

fn day_index(d: NaiveDate) -> usize {
    (d - date(FIRST_YEAR, 1, 1)).num_days() as usize
}

fn check_date(d: NaiveDate) -> Result<()> {
    if (FIRST_YEAR..=LAST_YEAR).contains(&d.year()) {
        Ok(())
    } else {
        Err(RulesError::OutsideCalendar { year: d.year() })
    }
}

/// Whether `d` is a national holiday or 休日 (C2).
pub fn is_national_holiday(d: NaiveDate) -> Result<bool> {
    check_date(d)?;
    let i = day_index(d);
    Ok(table()[i / 64] & (1 << (i % 64)) != 0)
}

/// The national holiday on `d`, if any, with its name (C2).
pub fn holiday_on(d: NaiveDate) -> Result<Option<Holiday>> {
    if !is_national_holiday(d)? {
        return Ok(None);
    }
    Ok(compute_year(d.year()).into_iter().find(|h| h.date == d))
}

fn is_year_end(d: NaiveDate) -> bool {
    matches!((d.month(), d.day()), (12, 29..=31) | (1, 1..=3))
}

/// Whether `d` is an administrative holiday (C1): a weekend, a national holiday, or Dec 29 – Jan 3.
pub fn is_administrative_holiday(d: NaiveDate) -> Result<bool> {
    // Checked first: a weekend of 1979 must not answer where a weekday of 1979 cannot.
    check_date(d)?;
    Ok(matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
        || is_year_end(d)
        || is_national_holiday(d)?)
}

/// Why `d` is an administrative holiday, or `None` on a business day (C1).
pub fn administrative_holiday(d: NaiveDate) -> Result<Option<AdministrativeHoliday>> {
    if let Some(h) = holiday_on(d)? {
        return Ok(Some(AdministrativeHoliday::National(h)));
    }
    // The year-end days are named as such even on a weekend: it is what a bureau calendar shows.
    if is_year_end(d) {
        return Ok(Some(AdministrativeHoliday::YearEnd));
    }
    Ok(match d.weekday() {
        Weekday::Sat => Some(AdministrativeHoliday::Saturday),
        Weekday::Sun => Some(AdministrativeHoliday::Sunday),
        _ => None,
    })
}

/// Whether `d` is a business day (C3): not an administrative holiday.
pub fn is_business_day(d: NaiveDate) -> Result<bool> {
    Ok(!is_administrative_holiday(d)?)
}

/// The administrative holidays of `year` that are not plain weekends: national holidays (also those
/// on a weekend) and the year-end days. What a bureau calendar prints.
pub fn administrative_holidays(year: i32) -> Result<Vec<(NaiveDate, AdministrativeHoliday)>> {
    check_year(year)?;
    let mut out = Vec::new();
    let mut d = date(year, 1, 1);
    while d.year() == year {
        match administrative_holiday(d)? {
            Some(AdministrativeHoliday::Saturday | AdministrativeHoliday::Sunday) | None => {}
            Some(h) => out.push((d, h)),
        }
        d = d + Days::new(1);
    }
    Ok(out)
}

/// Number of business days in `year` (C3).
pub fn business_days_in(year: i32) -> Result<u32> {
    check_year(year)?;
    let mut n = 0;
    let mut d = date(year, 1, 1);
    while d.year() == year {
        n += u32::from(is_business_day(d)?);
        d = d + Days::new(1);
    }
    Ok(n)
}

/// The latest business day on or before `d` (P3's roll-back).
pub fn business_day_on_or_before(mut d: NaiveDate) -> Result<NaiveDate> {
    while !is_business_day(d)? {
        d = d
            .pred_opt()
            .ok_or(RulesError::OutsideCalendar { year: d.year() })?;
    }
    Ok(d)
}

/// The `n`-th business day after `d` (`d` itself not counted).
pub fn nth_business_day_after(mut d: NaiveDate, n: u32) -> Result<NaiveDate> {
    let mut left = n;
    while left > 0 {
        d = d
            .succ_opt()
            .ok_or(RulesError::OutsideCalendar { year: d.year() })?;
        if is_business_day(d)? {
            left -= 1;
        }
    }
    Ok(d)
}
