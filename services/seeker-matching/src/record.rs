//! A seeker record as Hello Work sends it, checked and put in the form it is stored and searched
//! in. A refusal names the field and the rule: SK1 for anything that could identify the seeker
//! (contact details in free text), otherwise the reference code or shape the field must have.

use chrono::NaiveDate;
use hwx_posting::codes;
use hwx_proto::seekermatching::v1 as sm;
use hwx_rules::RuleId;
use hwx_rules::message::{ContactKind, find_contacts};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Why a record was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub field: String,
    /// SK1 for identifying content; none for a value of the wrong shape.
    pub rule: Option<RuleId>,
    pub message: String,
}

impl Refusal {
    fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Refusal {
            field: field.into(),
            rule: None,
            message: message.into(),
        }
    }
}

pub const GENDERS: &[&str] = &["female", "male", "other"];
pub const EDUCATION: &[&str] = &[
    "junior_high",
    "high_school",
    "vocational",
    "junior_college",
    "university",
    "graduate",
];

/// Longest free text accepted (working hours, a qualification's name).
const MAX_TEXT: usize = 200;
/// Most values of one list field.
const MAX_LIST: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Experience {
    pub occupation: String,
    pub years: i32,
}

/// A seeker as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeekerRow {
    pub seeker_id: String,
    pub age_band: i16,
    pub gender: Option<String>,
    pub occupations: Vec<String>,
    pub occupation_groups: Vec<String>,
    pub prefectures: Vec<String>,
    pub municipalities: Vec<String>,
    pub employment_types: Vec<String>,
    pub wage_type: Option<String>,
    pub wage_min: Option<i64>,
    pub wage_max: Option<i64>,
    pub working_hours: String,
    pub qualifications: Vec<String>,
    pub experience: Vec<Experience>,
    pub education: Option<String>,
    pub hello_work_office: String,
    pub consent_on: NaiveDate,
    pub last_active_on: NaiveDate,
}

/// A seeker ID: 1–32 letters, digits or hyphens (a pseudonym, never the Hello Work number).
pub fn valid_seeker_id(id: &str) -> bool {
    (1..=32).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Why `id` cannot be a seeker's ID, if it cannot: it is shown to every S-SEEKER organisation, so
/// it must be a pseudonym (SK1), neither Hello Work's 求職番号 (office code, hyphen, number:
/// `13010-1234567`) nor anything that reads as contact details.
pub fn seeker_id_refusal(id: &str) -> Option<Refusal> {
    if !valid_seeker_id(id) {
        return Some(Refusal::invalid(
            "seeker_id",
            format!("seeker_id: {id:?} is not 1–32 letters, digits or hyphens"),
        ));
    }
    let hellowork_number = id.split_once('-').is_some_and(|(office, n)| {
        office.len() == 5
            && (7..=8).contains(&n.len())
            && office.bytes().chain(n.bytes()).all(|b| b.is_ascii_digit())
    });
    if hellowork_number || !find_contacts(id).is_empty() {
        return Some(Refusal {
            field: "seeker_id".into(),
            rule: Some(RuleId::SK1),
            message: format!(
                "seeker_id: {id:?} reads as a Hello Work number or contact details; the ID is a pseudonym for this service"
            ),
        });
    }
    None
}

/// An occupation code without its hyphens (`051-03` → `05103`), or none when it is not one: a
/// major group (`05`), a medium group (`051`), a minor group (`051-03`) or a detailed one
/// (`051-03-01`) of the MHLW 2022 classification, under one of its 15 major groups.
pub fn occupation_key(code: &str) -> Option<String> {
    let code = code.trim();
    let parts: Vec<&str> = code.split('-').collect();
    let shape = match parts.as_slice() {
        [major] => major.len() == 2 || major.len() == 3,
        [medium, minor] => medium.len() == 3 && minor.len() == 2,
        [medium, minor, detail] => medium.len() == 3 && minor.len() == 2 && detail.len() == 2,
        _ => false,
    };
    (shape
        && parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit()))
        && codes::valid_occupation(&code[..2]))
    .then(|| code.replace('-', ""))
}

/// Every level of an occupation key, broadest first (`05103` → `05`, `051`, `0510`, `05103`).
pub fn levels(key: &str) -> impl Iterator<Item = String> + '_ {
    (2..=key.len()).map(|n| key[..n].to_owned())
}

/// SK1: free text that carries contact details could identify the seeker.
fn no_contacts(field: &str, text: &str) -> Result<(), Refusal> {
    let Some(found) = find_contacts(text).into_iter().next() else {
        return Ok(());
    };
    let what = match found.kind {
        ContactKind::Phone => "a phone number",
        ContactKind::Email => "an email address",
        ContactKind::PostalCode => "a postal code",
        ContactKind::Address => "a street address",
    };
    Err(Refusal {
        field: field.into(),
        rule: Some(RuleId::SK1),
        message: format!("{field} holds {what}: seeker information never identifies a person"),
    })
}

fn text(field: &str, value: &str) -> Result<String, Refusal> {
    let value = value.trim();
    if value.chars().count() > MAX_TEXT {
        return Err(Refusal::invalid(
            field,
            format!("{field}: at most {MAX_TEXT} characters"),
        ));
    }
    if value.contains('\0') {
        return Err(Refusal::invalid(field, format!("{field}: a NUL character")));
    }
    no_contacts(field, value)?;
    Ok(value.to_owned())
}

fn list<'a>(
    field: &str,
    values: &'a [String],
    valid: impl Fn(&str) -> bool,
    what: &str,
) -> Result<Vec<&'a str>, Refusal> {
    if values.len() > MAX_LIST {
        return Err(Refusal::invalid(
            field,
            format!("{field}: at most {MAX_LIST} values"),
        ));
    }
    let mut out: Vec<&str> = Vec::with_capacity(values.len());
    for (i, v) in values.iter().enumerate() {
        let v = v.trim();
        if !valid(v) {
            return Err(Refusal::invalid(
                format!("{field}[{i}]"),
                format!("{field}[{i}]: {v:?} is not {what}"),
            ));
        }
        if !out.contains(&v) {
            out.push(v);
        }
    }
    Ok(out)
}

fn owned(v: Vec<&str>) -> Vec<String> {
    v.into_iter().map(str::to_owned).collect()
}

fn day(field: &str, d: &Option<hwx_proto::common::v1::Date>) -> Result<NaiveDate, Refusal> {
    d.as_ref()
        .and_then(hwx_platform::grpc::day)
        .ok_or_else(|| Refusal::invalid(field, format!("{field}: a date (YYYY-MM-DD) is required")))
}

/// A JIS municipality code: five digits whose first two are a prefecture.
fn valid_municipality(code: &str) -> bool {
    code.len() == 5
        && code.bytes().all(|b| b.is_ascii_digit())
        && codes::prefecture(&code[..2]).is_some()
}

/// Check a record and give its stored form; `today` bounds the dates (JST).
pub fn check(s: &sm::Seeker, today: NaiveDate) -> Result<SeekerRow, Refusal> {
    let seeker_id = s.seeker_id.trim().to_owned();
    if let Some(r) = seeker_id_refusal(&seeker_id) {
        return Err(r);
    }
    if !(15..=80).contains(&s.age_band) || s.age_band % 5 != 0 {
        return Err(Refusal::invalid(
            "age_band",
            format!(
                "age_band: {} is not the lower bound of a five-year band from 15 to 80 (an age band, never a birth date: SK1)",
                s.age_band
            ),
        ));
    }
    let gender = match s.gender.trim() {
        "" => None,
        g if GENDERS.contains(&g) => Some(g.to_owned()),
        g => {
            return Err(Refusal::invalid(
                "gender",
                format!("gender: {g:?}: female, male or other, or left out"),
            ));
        }
    };
    let occupations = list(
        "desired_occupations",
        &s.desired_occupations,
        |c| occupation_key(c).is_some(),
        "an MHLW 2022 occupation code (05, 051, 051-03 or 051-03-01)",
    )?;
    let occupations: Vec<String> = occupations
        .iter()
        .filter_map(|c| occupation_key(c))
        .collect();
    let mut occupation_groups: Vec<String> = Vec::new();
    for key in &occupations {
        for level in levels(key) {
            if !occupation_groups.contains(&level) {
                occupation_groups.push(level);
            }
        }
    }
    let prefectures = owned(list(
        "desired_prefectures",
        &s.desired_prefectures,
        |c| codes::prefecture(c).is_some(),
        "a prefecture code 01–47",
    )?);
    let municipalities = owned(list(
        "desired_municipalities",
        &s.desired_municipalities,
        valid_municipality,
        "a five-digit JIS municipality code",
    )?);
    let employment_types = owned(list(
        "employment_types",
        &s.employment_types,
        |t| codes::EMPLOYMENT_TYPES.contains(&t),
        "an employment type (正社員, 正社員以外, パート労働者, 有期雇用派遣労働者, 無期雇用派遣労働者)",
    )?);
    let (wage_type, wage_min, wage_max) = match s.wage_type.trim() {
        "" if s.wage_min == 0 && s.wage_max == 0 => (None, None, None),
        "" => {
            return Err(Refusal::invalid(
                "wage_type",
                "wage_type: monthly, daily, hourly or annual, with a wage band",
            ));
        }
        t if codes::WAGE_TYPES.contains(&t) => {
            let end = |v: i64| (v > 0).then_some(v);
            if s.wage_min < 0 || s.wage_max < 0 || (s.wage_max > 0 && s.wage_max < s.wage_min) {
                return Err(Refusal::invalid(
                    "wage_max",
                    format!(
                        "wage band {}–{}: yen, the lower end first (0 for an open end)",
                        s.wage_min, s.wage_max
                    ),
                ));
            }
            (Some(t.to_owned()), end(s.wage_min), end(s.wage_max))
        }
        t => {
            return Err(Refusal::invalid(
                "wage_type",
                format!("wage_type: {t:?}: monthly, daily, hourly or annual"),
            ));
        }
    };
    let working_hours = text("working_hours", &s.working_hours)?;
    let mut qualifications = Vec::new();
    for (i, q) in s.qualifications.iter().enumerate() {
        let q = text(&format!("qualifications[{i}]"), q)?;
        if !q.is_empty() && !qualifications.contains(&q) {
            qualifications.push(q);
        }
    }
    if qualifications.len() > MAX_LIST {
        return Err(Refusal::invalid(
            "qualifications",
            format!("qualifications: at most {MAX_LIST} values"),
        ));
    }
    if s.experience.len() > MAX_LIST {
        return Err(Refusal::invalid(
            "experience",
            format!("experience: at most {MAX_LIST} entries"),
        ));
    }
    let mut experience = Vec::new();
    for (i, e) in s.experience.iter().enumerate() {
        let Some(occupation) = occupation_key(&e.occupation) else {
            return Err(Refusal::invalid(
                format!("experience[{i}].occupation"),
                format!(
                    "experience[{i}].occupation: {:?} is not an MHLW 2022 occupation code",
                    e.occupation
                ),
            ));
        };
        if !(0..=60).contains(&e.years) {
            return Err(Refusal::invalid(
                format!("experience[{i}].years"),
                format!("experience[{i}].years: {} is not 0 to 60", e.years),
            ));
        }
        experience.push(Experience {
            occupation,
            years: e.years,
        });
    }
    let education = match s.education.trim() {
        "" => None,
        e if EDUCATION.contains(&e) => Some(e.to_owned()),
        e => {
            return Err(Refusal::invalid(
                "education",
                format!("education: {e:?}: one of {}", EDUCATION.join(", ")),
            ));
        }
    };
    let hello_work_office = text("hello_work_office", &s.hello_work_office)?;
    if hello_work_office.is_empty() {
        return Err(Refusal::invalid(
            "hello_work_office",
            "hello_work_office: the registering Hello Work office is required",
        ));
    }
    let consent_on = day("consent_on", &s.consent_on)?;
    let last_active_on = day("last_active_on", &s.last_active_on)?;
    for (field, d) in [
        ("consent_on", consent_on),
        ("last_active_on", last_active_on),
    ] {
        if d > today {
            return Err(Refusal::invalid(
                field,
                format!("{field}: {d} is after today ({today})"),
            ));
        }
    }
    Ok(SeekerRow {
        seeker_id,
        age_band: s.age_band as i16,
        gender,
        occupations,
        occupation_groups,
        prefectures,
        municipalities,
        employment_types,
        wage_type,
        wage_min,
        wage_max,
        working_hours,
        qualifications,
        experience,
        education,
        hello_work_office,
        consent_on,
        last_active_on,
    })
}

impl SeekerRow {
    /// SHA-256 over the stored form: the same record sent again is found unchanged.
    pub fn content_hash(&self) -> Vec<u8> {
        let canonical = serde_json::json!([
            self.seeker_id,
            self.age_band,
            self.gender,
            self.occupations,
            self.prefectures,
            self.municipalities,
            self.employment_types,
            self.wage_type,
            self.wage_min,
            self.wage_max,
            self.working_hours,
            self.qualifications,
            self.experience,
            self.education,
            self.hello_work_office,
            self.consent_on,
            self.last_active_on,
        ]);
        Sha256::digest(canonical.to_string().as_bytes()).to_vec()
    }

    /// As organisations see it.
    pub fn to_proto(&self) -> sm::Seeker {
        let date = |d: NaiveDate| Some(hwx_platform::grpc::date(d));
        sm::Seeker {
            seeker_id: self.seeker_id.clone(),
            age_band: i32::from(self.age_band),
            gender: self.gender.clone().unwrap_or_default(),
            desired_occupations: self.occupations.iter().map(|k| display_code(k)).collect(),
            desired_prefectures: self.prefectures.clone(),
            desired_municipalities: self.municipalities.clone(),
            employment_types: self.employment_types.clone(),
            wage_type: self.wage_type.clone().unwrap_or_default(),
            wage_min: self.wage_min.unwrap_or(0),
            wage_max: self.wage_max.unwrap_or(0),
            working_hours: self.working_hours.clone(),
            qualifications: self.qualifications.clone(),
            experience: self
                .experience
                .iter()
                .map(|e| sm::Experience {
                    occupation: display_code(&e.occupation),
                    years: e.years,
                })
                .collect(),
            education: self.education.clone().unwrap_or_default(),
            hello_work_office: self.hello_work_office.clone(),
            consent_on: date(self.consent_on),
            last_active_on: date(self.last_active_on),
            consents: Some(true),
        }
    }
}

/// An occupation key as the classification writes it: `05`, `051`, `051-03`, `051-03-01`.
pub fn display_code(key: &str) -> String {
    match key.len() {
        5 => format!("{}-{}", &key[..3], &key[3..]),
        7 => format!("{}-{}-{}", &key[..3], &key[3..5], &key[5..]),
        _ => key.to_owned(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a test that cannot unwrap has failed, and says where
mod tests {
    use super::*;

    fn seeker() -> sm::Seeker {
        sm::Seeker {
            seeker_id: "S-000001".into(),
            age_band: 35,
            desired_occupations: vec!["051-03".into(), "05".into()],
            desired_prefectures: vec!["13".into()],
            desired_municipalities: vec!["13101".into()],
            employment_types: vec!["正社員".into()],
            wage_type: "monthly".into(),
            wage_min: 250_000,
            working_hours: "平日日中、週40時間まで".into(),
            qualifications: vec!["普通自動車第一種運転免許".into()],
            experience: vec![sm::Experience {
                occupation: "051".into(),
                years: 5,
            }],
            education: "university".into(),
            hello_work_office: "ハローワーク飯田橋".into(),
            consent_on: Some(hwx_platform::grpc::date(day0())),
            last_active_on: Some(hwx_platform::grpc::date(day0())),
            consents: Some(true),
            ..Default::default()
        }
    }

    fn day0() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 20).unwrap_or_default()
    }

    #[test]
    fn sk1_a_good_record_is_stored_with_every_level_of_its_occupations() {
        let row = check(&seeker(), day0()).unwrap_or_else(|r| panic!("{r:?}"));
        assert_eq!(row.occupations, ["05103", "05"]);
        assert_eq!(row.occupation_groups, ["05", "051", "0510", "05103"]);
        assert_eq!(row.to_proto().desired_occupations, ["051-03", "05"]);
        let mut deep = seeker();
        deep.desired_occupations = vec!["051-03-01".into()];
        let deep = check(&deep, day0()).unwrap();
        assert_eq!(deep.to_proto().desired_occupations, ["051-03-01"]);
        assert_eq!(
            row.content_hash(),
            check(&seeker(), day0())
                .map(|r| r.content_hash())
                .unwrap_or_default()
        );
    }

    #[test]
    fn sk1_contact_details_in_free_text_are_refused_naming_the_field() {
        let mut s = seeker();
        s.qualifications.push("連絡先 090-1234-5678".into());
        let r = check(&s, day0()).unwrap_err();
        assert_eq!(
            (r.field.as_str(), r.rule),
            ("qualifications[1]", Some(RuleId::SK1))
        );
        assert!(r.message.contains("phone number"), "{}", r.message);
        let mut s = seeker();
        s.working_hours = "taro@example.jp まで".into();
        let r = check(&s, day0()).unwrap_err();
        assert_eq!(
            (r.field.as_str(), r.rule),
            ("working_hours", Some(RuleId::SK1))
        );
    }

    #[test]
    fn sk1_the_id_is_a_pseudonym_never_a_hello_work_number_or_a_phone() {
        for id in ["13010-1234567", "090-1234-5678"] {
            let mut s = seeker();
            s.seeker_id = id.into();
            let r = check(&s, day0()).unwrap_err();
            assert_eq!(
                (r.field.as_str(), r.rule),
                ("seeker_id", Some(RuleId::SK1)),
                "{id}"
            );
        }
    }

    #[test]
    fn occupation_codes_have_the_classification_shapes() {
        for good in ["05", "051", "051-03", "051-03-01"] {
            assert!(occupation_key(good).is_some(), "{good}");
        }
        for bad in ["05-------", "0599999", "16", "06-01-02", "0510"] {
            assert!(occupation_key(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn sk1_an_age_is_a_band_never_a_birth_date() {
        let mut s = seeker();
        s.age_band = 37;
        assert_eq!(check(&s, day0()).unwrap_err().field, "age_band");
    }

    #[test]
    fn codes_and_dates_are_checked() {
        let mut s = seeker();
        s.desired_prefectures = vec!["48".into()];
        assert_eq!(
            check(&s, day0()).unwrap_err().field,
            "desired_prefectures[0]"
        );
        let mut s = seeker();
        s.desired_occupations = vec!["99".into()];
        assert_eq!(
            check(&s, day0()).unwrap_err().field,
            "desired_occupations[0]"
        );
        let mut s = seeker();
        s.last_active_on = Some(hwx_platform::grpc::date(
            day0().succ_opt().unwrap_or_default(),
        ));
        assert_eq!(check(&s, day0()).unwrap_err().field, "last_active_on");
        let mut s = seeker();
        s.wage_max = 100;
        assert_eq!(check(&s, day0()).unwrap_err().field, "wage_max");
    }
}
