//! `hwx rules calendar YEAR`.

use std::io::Write;

use chrono::{Datelike, Weekday};
use hwx_rules::calendar::{self, AdministrativeHoliday, HolidayKind};
use serde_json::json;

use super::Format;

/// The current year in Japan: the one default that needs the clock.
pub fn this_year() -> i32 {
    hwx_rules::jst::day_of(&chrono::DateTime::<chrono::Utc>::from(
        std::time::SystemTime::now(),
    ))
    .year()
}

fn weekday_ja(w: Weekday) -> &'static str {
    ["月", "火", "水", "木", "金", "土", "日"][w.num_days_from_monday() as usize]
}

fn kind_label(h: &AdministrativeHoliday) -> &'static str {
    match h {
        AdministrativeHoliday::National(h) => match h.kind {
            HolidayKind::National => "national",
            HolidayKind::Substitute => "substitute",
            HolidayKind::Citizens => "citizens",
        },
        AdministrativeHoliday::YearEnd => "year_end",
        AdministrativeHoliday::Saturday => "saturday",
        AdministrativeHoliday::Sunday => "sunday",
    }
}

fn name(h: &AdministrativeHoliday) -> &'static str {
    match h {
        AdministrativeHoliday::National(h) => h.name,
        AdministrativeHoliday::YearEnd => "年末年始",
        AdministrativeHoliday::Saturday => "土曜日",
        AdministrativeHoliday::Sunday => "日曜日",
    }
}

pub fn print(year: i32, format: Format, out: &mut impl Write) -> Result<(), String> {
    let days = calendar::administrative_holidays(year).map_err(|e| e.to_string())?;
    let business = calendar::business_days_in(year).map_err(|e| e.to_string())?;
    let national = days
        .iter()
        .filter(|(_, h)| matches!(h, AdministrativeHoliday::National(_)))
        .count();
    let io = |e: std::io::Error| e.to_string();
    match format {
        Format::Table => {
            writeln!(
                out,
                "{year}: national holidays (C2) and administrative holidays besides weekends (C1)"
            )
            .map_err(io)?;
            writeln!(out, "{:<10}  曜  {:<10}  name", "date", "kind").map_err(io)?;
            for (d, h) in &days {
                writeln!(
                    out,
                    "{d}  {}  {:<10}  {}",
                    weekday_ja(d.weekday()),
                    kind_label(h),
                    name(h)
                )
                .map_err(io)?;
            }
            writeln!(
                out,
                "{national} national holidays and 休日; {} year-end days (12/29–1/3); {business} business days (C3).",
                days.len() - national
            )
            .map_err(io)?;
        }
        Format::Csv => {
            writeln!(out, "date,weekday,kind,name").map_err(io)?;
            for (d, h) in &days {
                writeln!(
                    out,
                    "{d},{},{},{}",
                    weekday_ja(d.weekday()),
                    kind_label(h),
                    name(h)
                )
                .map_err(io)?;
            }
        }
        Format::Json => {
            let list: Vec<_> = days
                .iter()
                .map(|(d, h)| json!({"date": d.to_string(), "weekday": weekday_ja(d.weekday()), "kind": kind_label(h), "name": name(h)}))
                .collect();
            let doc = json!({"year": year, "holidays": list, "business_days": business});
            serde_json::to_writer_pretty(&mut *out, &doc).map_err(|e| e.to_string())?;
            writeln!(out).map_err(io)?;
        }
    }
    out.flush().map_err(io)
}
