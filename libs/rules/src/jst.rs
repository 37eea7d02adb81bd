//! Japan Standard Time: every "day" of the terms is a JST calendar day (UTC+9, no DST).

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc};

/// UTC+09:00.
pub const JST: FixedOffset = match FixedOffset::east_opt(9 * 3600) {
    Some(o) => o,
    None => panic!("9 hours is a valid offset"),
};

/// UTC+09:00.
pub fn offset() -> FixedOffset {
    JST
}

/// The JST calendar day an instant falls on.
pub fn day_of<Tz: TimeZone>(at: &DateTime<Tz>) -> NaiveDate {
    at.with_timezone(&offset()).date_naive()
}

/// The instant a JST day starts (00:00 JST).
pub fn start_of(day: NaiveDate) -> DateTime<FixedOffset> {
    let naive = day.and_time(NaiveTime::MIN);
    // A fixed offset has exactly one mapping for every local time.
    offset()
        .from_local_datetime(&naive)
        .single()
        .unwrap_or_else(|| Utc.from_utc_datetime(&naive).with_timezone(&offset()))
}

/// An instant, expressed in JST.
pub fn to_jst<Tz: TimeZone>(at: &DateTime<Tz>) -> DateTime<FixedOffset> {
    at.with_timezone(&offset())
}

/// An instant as the API and its messages write it: RFC 3339 in JST, to the second
/// (`2026-12-01T06:00:00+09:00`).
pub fn text<Tz: TimeZone>(at: &DateTime<Tz>) -> String {
    to_jst(at).to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}
