//! Seeker information as organisations see it (SK1) and the mandatory information of the first
//! guidance (SK7).

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

/// Fields that identify a person and are never provided to organisations (SK1).
pub const IDENTIFYING_FIELDS: &[&str] = &[
    "name",
    "name_kana",
    "address",
    "street",
    "phone",
    "email",
    "birth_date",
    "employer_name",
    "current_employer",
    "hellowork_number",
];

/// SK1: the fields of a seeker record that may not be provided, in the order given.
pub fn identifying_fields<'a>(fields: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    fields
        .into_iter()
        .filter(|f| IDENTIFYING_FIELDS.contains(f))
        .collect()
}

/// SK1: an exact birth date identifies; an age band of five years does not. Returns the lower bound
/// of the band (20 for 20–24).
pub fn age_band(birth: NaiveDate, on: NaiveDate) -> Option<u32> {
    let mut age = on.year() - birth.year();
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    u32::try_from(age).ok().map(|a| a / 5 * 5)
}

/// The mandatory information (必須情報) the first guidance carries (SK7).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MandatoryInfo {
    /// Placement record from the application.
    pub placement_record: Option<String>,
    pub occupations: Vec<String>,
    pub industries: Vec<String>,
    pub regions: Vec<String>,
    /// Fees charged to seekers (「なし」 when free).
    pub seeker_fees: Option<String>,
    pub pi_manager_name: Option<String>,
    pub pi_manager_contact: Option<String>,
}

/// SK7: the mandatory information items missing, by field name; empty when the first guidance may go.
pub fn missing_mandatory_info(m: &MandatoryInfo) -> Vec<&'static str> {
    let blank = |s: &Option<String>| s.as_deref().is_none_or(|s| s.trim().is_empty());
    let mut missing = Vec::new();
    if blank(&m.placement_record) {
        missing.push("placement_record");
    }
    for (name, v) in [
        ("occupations", &m.occupations),
        ("industries", &m.industries),
        ("regions", &m.regions),
    ] {
        if v.iter().all(|s| s.trim().is_empty()) {
            missing.push(name);
        }
    }
    for (name, v) in [
        ("seeker_fees", &m.seeker_fees),
        ("pi_manager_name", &m.pi_manager_name),
        ("pi_manager_contact", &m.pi_manager_contact),
    ] {
        if blank(v) {
            missing.push(name);
        }
    }
    missing
}

/// SK7: the first message of an organisation in a conversation carries the mandatory information.
pub fn carries_mandatory_info(org_messages_before: u32) -> bool {
    org_messages_before == 0
}
