//! A posting's canonical form (J5), its checks at ingest (J7 and the code tables), and the file
//! formats it is served in: NDJSON, CSV (UTF-8 or Shift_JIS). `hwx feed verify` reads the same
//! formats back.

use hwx_platform::grpc::{date_from_text as parse_date, date_text};
use hwx_proto::jobfeed::v1 as pb;
use hwx_rules::RuleId;
use hwx_rules::posting::{J7Item, PostingTerms, missing_items};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::codes;

/// The content of one posting version exactly as Hello Work sent it. Its JSON serialisation, with
/// the fields in this order and no whitespace, is the canonical form the hash is taken over.
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostingRecord {
    pub posting_number: String,
    pub employer_name: String,
    pub establishment_number: String,
    pub title: String,
    pub work_content: String,
    pub work_content_change_scope: String,
    pub occupation_code: String,
    pub industry_code: String,
    pub prefecture_code: String,
    pub workplace: String,
    pub workplace_change_scope: String,
    pub employment_type: String,
    pub contract_period: String,
    pub fixed_term: bool,
    /// Stated for fixed-term contracts only.
    pub renewable: Option<bool>,
    pub renewal_cap: String,
    pub trial_period: String,
    pub hours_start: String,
    pub hours_end: String,
    pub overtime: String,
    pub breaks: String,
    pub days_off: String,
    pub wage_type: String,
    pub wage_min_yen: i64,
    pub wage_max_yen: i64,
    pub fixed_overtime_pay: bool,
    pub fixed_overtime_details: String,
    pub health_insurance: bool,
    pub pension_insurance: bool,
    pub workers_accident_insurance: bool,
    pub employment_insurance: bool,
    pub dispatch: bool,
    pub passive_smoking_measures: String,
    /// `YYYY-MM-DD`.
    pub received_on: String,
    pub valid_until: String,
    pub receiving_office: String,
}

impl PostingRecord {
    /// The last day the posting is valid (checked at intake, so always a date).
    pub fn valid_until_date(&self) -> chrono::NaiveDate {
        chrono::NaiveDate::parse_from_str(&self.valid_until, "%Y-%m-%d").unwrap_or_default()
    }

    /// The canonical bytes (J5).
    pub fn canonical(&self) -> String {
        // A struct of strings, numbers and booleans always serialises.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// SHA-256 of the canonical form, lowercase hex.
    pub fn hash(&self) -> String {
        hash_hex(self.canonical().as_bytes())
    }

    /// The record of a posting message, field for field (the inverse of [`Self::to_proto`]).
    pub fn from_stored(p: &pb::PostingContent) -> Self {
        let w = p.wage.clone().unwrap_or_default();
        PostingRecord {
            posting_number: p.posting_number.clone(),
            employer_name: p.employer_name.clone(),
            establishment_number: p.establishment_number.clone(),
            title: p.title.clone(),
            work_content: p.work_content.clone(),
            work_content_change_scope: p.work_content_change_scope.clone(),
            occupation_code: p.occupation_code.clone(),
            industry_code: p.industry_code.clone(),
            prefecture_code: p.prefecture_code.clone(),
            workplace: p.workplace.clone(),
            workplace_change_scope: p.workplace_change_scope.clone(),
            employment_type: p.employment_type.clone(),
            contract_period: p.contract_period.clone(),
            fixed_term: p.fixed_term.unwrap_or_default(),
            renewable: p.renewable,
            renewal_cap: p.renewal_cap.clone(),
            trial_period: p.trial_period.clone(),
            hours_start: p.hours_start.clone(),
            hours_end: p.hours_end.clone(),
            overtime: p.overtime.clone(),
            breaks: p.breaks.clone(),
            days_off: p.days_off.clone(),
            wage_type: w.r#type,
            wage_min_yen: w.min_yen,
            wage_max_yen: w.max_yen,
            fixed_overtime_pay: w.fixed_overtime_pay.unwrap_or_default(),
            fixed_overtime_details: w.fixed_overtime_details,
            health_insurance: p.health_insurance.unwrap_or_default(),
            pension_insurance: p.pension_insurance.unwrap_or_default(),
            workers_accident_insurance: p.workers_accident_insurance.unwrap_or_default(),
            employment_insurance: p.employment_insurance.unwrap_or_default(),
            dispatch: p.dispatch.unwrap_or_default(),
            passive_smoking_measures: p.passive_smoking_measures.clone(),
            received_on: date_text(&p.received_on).unwrap_or_default(),
            valid_until: date_text(&p.valid_until).unwrap_or_default(),
            receiving_office: p.receiving_office.clone(),
        }
    }

    pub fn to_proto(&self) -> pb::PostingContent {
        pb::PostingContent {
            posting_number: self.posting_number.clone(),
            employer_name: self.employer_name.clone(),
            establishment_number: self.establishment_number.clone(),
            title: self.title.clone(),
            work_content: self.work_content.clone(),
            work_content_change_scope: self.work_content_change_scope.clone(),
            occupation_code: self.occupation_code.clone(),
            industry_code: self.industry_code.clone(),
            prefecture_code: self.prefecture_code.clone(),
            workplace: self.workplace.clone(),
            workplace_change_scope: self.workplace_change_scope.clone(),
            employment_type: self.employment_type.clone(),
            contract_period: self.contract_period.clone(),
            fixed_term: Some(self.fixed_term),
            renewable: self.renewable,
            renewal_cap: self.renewal_cap.clone(),
            trial_period: self.trial_period.clone(),
            hours_start: self.hours_start.clone(),
            hours_end: self.hours_end.clone(),
            overtime: self.overtime.clone(),
            breaks: self.breaks.clone(),
            days_off: self.days_off.clone(),
            wage: Some(pb::Wage {
                r#type: self.wage_type.clone(),
                min_yen: self.wage_min_yen,
                max_yen: self.wage_max_yen,
                fixed_overtime_pay: Some(self.fixed_overtime_pay),
                fixed_overtime_details: self.fixed_overtime_details.clone(),
            }),
            health_insurance: Some(self.health_insurance),
            pension_insurance: Some(self.pension_insurance),
            workers_accident_insurance: Some(self.workers_accident_insurance),
            employment_insurance: Some(self.employment_insurance),
            dispatch: Some(self.dispatch),
            passive_smoking_measures: self.passive_smoking_measures.clone(),
            received_on: parse_date(&self.received_on),
            valid_until: parse_date(&self.valid_until),
            receiving_office: self.receiving_office.clone(),
            employer_consents: true,
            closed: false,
        }
    }
}

pub fn hash_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The message an Ed25519 signature is made over: the hash binds the content, the number and the
/// version bind it to its place in the feed.
pub fn signed_message(posting_number: &str, version: i64, content_hash: &str) -> String {
    format!("hwx-posting-v1\n{posting_number}\n{version}\n{content_hash}")
}

/// What an ingested record asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intake {
    /// Store this version.
    Live(Box<PostingRecord>),
    /// The posting is closed or the employer withdrew consent: a tombstone (J6).
    Close {
        posting_number: String,
        reason: String,
    },
}

/// Why a record was refused. Nothing of it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub posting_number: String,
    pub rule: Option<RuleId>,
    pub missing: Vec<J7Item>,
    pub message: String,
}

fn pattern(s: &str, groups: &[usize]) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == groups.len()
        && parts
            .iter()
            .zip(groups)
            .all(|(p, n)| p.len() == *n && p.bytes().all(|b| b.is_ascii_digit()))
}

/// 求人番号: 5-digit receiving office, hyphen, 8-digit serial.
pub fn valid_posting_number(s: &str) -> bool {
    pattern(s, &[5, 8])
}

fn opt_text(s: &str) -> Option<String> {
    Some(s.to_owned()).filter(|s| !s.trim().is_empty())
}

/// Check a posting as sent: J7 first (every missing item named), then the codes and formats.
pub fn intake(p: &pb::PostingContent) -> Result<Intake, Refusal> {
    let number = p.posting_number.trim().to_owned();
    let refuse = |rule: Option<RuleId>, missing: Vec<J7Item>, message: String| Refusal {
        posting_number: number.clone(),
        rule,
        missing,
        message,
    };
    if !valid_posting_number(&number) {
        return Err(refuse(
            None,
            vec![],
            format!(
                "posting_number: {:?} is not a 求人番号 (NNNNN-NNNNNNNN)",
                p.posting_number
            ),
        ));
    }
    if p.closed || !p.employer_consents {
        let reason = if p.closed {
            "closed by Hello Work"
        } else {
            "the employer withdrew consent to provision"
        };
        return Ok(Intake::Close {
            posting_number: number,
            reason: reason.into(),
        });
    }
    let wage = p.wage.clone().unwrap_or_default();
    let wages = (!wage.r#type.trim().is_empty() && wage.min_yen > 0).then(|| {
        format!(
            "{} {}〜{}円",
            wage.r#type,
            wage.min_yen,
            wage.max_yen.max(wage.min_yen)
        )
    });
    let terms = PostingTerms {
        work_content: opt_text(&p.work_content),
        work_content_change_scope: opt_text(&p.work_content_change_scope),
        contract_period: opt_text(&p.contract_period),
        fixed_term: p.fixed_term,
        renewable: p.renewable,
        renewal_cap: opt_text(&p.renewal_cap),
        trial_period: opt_text(&p.trial_period),
        workplace: opt_text(&p.workplace),
        workplace_change_scope: opt_text(&p.workplace_change_scope),
        hours_start: opt_text(&p.hours_start),
        hours_end: opt_text(&p.hours_end),
        overtime: opt_text(&p.overtime),
        breaks: opt_text(&p.breaks),
        days_off: opt_text(&p.days_off),
        wages,
        fixed_overtime_pay: wage.fixed_overtime_pay,
        fixed_overtime_details: opt_text(&wage.fixed_overtime_details),
        health_insurance: p.health_insurance,
        pension_insurance: p.pension_insurance,
        workers_accident_insurance: p.workers_accident_insurance,
        employment_insurance: p.employment_insurance,
        employer_name: opt_text(&p.employer_name),
        dispatch: p.dispatch,
        passive_smoking_measures: opt_text(&p.passive_smoking_measures),
    };
    let missing = missing_items(&terms);
    if !missing.is_empty() {
        let names: Vec<String> = missing
            .iter()
            .map(|i| format!("{} ({})", i.field(), i.label()))
            .collect();
        return Err(refuse(
            Some(RuleId::J7),
            missing,
            format!(
                "J7: items that may never be omitted are missing: {}",
                names.join(", ")
            ),
        ));
    }
    let mut problems = Vec::new();
    if !pattern(&p.establishment_number, &[4, 6, 1]) {
        problems.push(format!(
            "establishment_number {:?} is not NNNN-NNNNNN-N",
            p.establishment_number
        ));
    }
    if p.title.trim().is_empty() {
        problems.push("title is empty".into());
    }
    if !codes::valid_occupation(&p.occupation_code) {
        problems.push(format!(
            "occupation_code {:?} is not an MHLW 2022 code (major group 01–15 first)",
            p.occupation_code
        ));
    }
    if !codes::valid_industry(&p.industry_code) {
        problems.push(format!(
            "industry_code {:?} is not a JSIC code (division A–T, then up to 4 digits)",
            p.industry_code
        ));
    }
    if codes::prefecture(&p.prefecture_code).is_none() {
        problems.push(format!(
            "prefecture_code {:?} is not a JIS X 0401 code 01–47",
            p.prefecture_code
        ));
    }
    if !codes::EMPLOYMENT_TYPES.contains(&p.employment_type.as_str()) {
        problems.push(format!(
            "employment_type {:?} is not one of {}",
            p.employment_type,
            codes::EMPLOYMENT_TYPES.join(", ")
        ));
    }
    if !codes::WAGE_TYPES.contains(&wage.r#type.as_str()) {
        problems.push(format!(
            "wage.type {:?} is not one of {}",
            wage.r#type,
            codes::WAGE_TYPES.join(", ")
        ));
    }
    if wage.max_yen != 0 && wage.max_yen < wage.min_yen {
        problems.push("wage.max_yen is below wage.min_yen".into());
    }
    let received = date_text(&p.received_on);
    let valid_until = date_text(&p.valid_until);
    match (&received, &valid_until) {
        (Some(r), Some(v)) if v < r => problems.push("valid_until is before received_on".into()),
        (Some(_), Some(_)) => {}
        _ => problems.push("received_on and valid_until must be real dates".into()),
    }
    if p.receiving_office.trim().is_empty() {
        problems.push("receiving_office is empty".into());
    }
    if !problems.is_empty() {
        return Err(refuse(None, vec![], problems.join("; ")));
    }
    // Checked: the record is the message as sent, with the number trimmed, renewal stated only
    // for fixed terms and the wage range never upside down.
    let fixed_term = p.fixed_term.unwrap_or_default();
    Ok(Intake::Live(Box::new(PostingRecord {
        posting_number: number,
        renewable: if fixed_term { p.renewable } else { None },
        wage_max_yen: wage.max_yen.max(wage.min_yen),
        ..PostingRecord::from_stored(p)
    })))
}

/// A posting version as served, with everything an organisation needs beside the content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served {
    pub version: i64,
    /// The stored canonical JSON.
    pub content: String,
    pub content_hash: String,
    pub signature: Vec<u8>,
    pub key_id: String,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    /// J8: the calling organisation's own addition.
    pub addition: Option<String>,
}

/// When a version was stored, as every served form writes it: JST like the rest of the API, with
/// the microseconds clients order by.
pub fn updated_at_text(at: &chrono::DateTime<chrono::Utc>) -> String {
    hwx_rules::jst::to_jst(at).to_rfc3339_opts(chrono::SecondsFormat::Micros, false)
}

/// One served record as read back from a file.
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ServedJson {
    pub version: i64,
    pub content: PostingRecord,
    pub content_hash: String,
    pub signature: String,
    pub key_id: String,
    pub attribution: String,
    pub organisation_addition: Option<AdditionJson>,
    pub updated_at: String,
}

/// J8 as served: always labelled.
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct AdditionJson {
    pub label: String,
    pub text: String,
}

impl Served {
    pub fn record(&self) -> Result<PostingRecord, serde_json::Error> {
        serde_json::from_str(&self.content)
    }

    /// The posting message of the gRPC API.
    pub fn to_proto(&self) -> Result<pb::Posting, serde_json::Error> {
        let r = self.record()?;
        let (label, addition) = addition_parts(&self.addition);
        Ok(pb::Posting {
            attribution: hwx_rules::access::attribution(&r.receiving_office),
            content: Some(r.to_proto()),
            version: self.version,
            content_hash: self.content_hash.clone(),
            signature: self.signature.clone(),
            organisation_addition: addition,
            updated_at: Some(hwx_platform::grpc::timestamp(self.updated_at)),
            key_id: self.key_id.clone(),
            organisation_addition_label: label,
        })
    }

    /// One JSON object (no newline). The content is the stored canonical text, verbatim.
    pub fn write_json(&self, out: &mut Vec<u8>) -> Result<(), String> {
        let attribution = hwx_rules::access::attribution(&receiving_office(&self.content)?);
        out.extend_from_slice(b"{\"version\":");
        out.extend_from_slice(self.version.to_string().as_bytes());
        out.extend_from_slice(b",\"content\":");
        out.extend_from_slice(self.content.as_bytes());
        out.extend_from_slice(b",\"content_hash\":\"");
        out.extend_from_slice(self.content_hash.as_bytes());
        out.extend_from_slice(b"\",\"signature\":\"");
        out.extend_from_slice(hex::encode(&self.signature).as_bytes());
        out.extend_from_slice(b"\",\"key_id\":");
        serde_json::to_writer(&mut *out, &self.key_id).map_err(|e| e.to_string())?;
        out.extend_from_slice(b",\"attribution\":");
        serde_json::to_writer(&mut *out, &attribution).map_err(|e| e.to_string())?;
        out.extend_from_slice(b",\"organisation_addition\":");
        let addition = self.addition.as_ref().map(|text| AdditionJson {
            label: addition_label(),
            text: text.clone(),
        });
        serde_json::to_writer(&mut *out, &addition).map_err(|e| e.to_string())?;
        out.extend_from_slice(b",\"updated_at\":\"");
        out.extend_from_slice(updated_at_text(&self.updated_at).as_bytes());
        out.extend_from_slice(b"\"}");
        Ok(())
    }
}

/// J8's label, from the rules.
pub fn addition_label() -> String {
    hwx_rules::access::organisation_addition(true)
        .unwrap_or_default()
        .to_owned()
}

fn addition_parts(a: &Option<String>) -> (String, String) {
    match a {
        Some(t) => (addition_label(), t.clone()),
        None => (String::new(), String::new()),
    }
}

/// The CSV columns: the feed's own, then every content field (all J7 items) in canonical order,
/// then attribution (J4) and the labelled J8 addition.
pub const CSV_HEAD: &[&str] = &[
    "version",
    "updated_at",
    "content_hash",
    "signature",
    "key_id",
];
pub const CSV_CONTENT: &[&str] = &[
    "posting_number",
    "employer_name",
    "establishment_number",
    "title",
    "work_content",
    "work_content_change_scope",
    "occupation_code",
    "industry_code",
    "prefecture_code",
    "workplace",
    "workplace_change_scope",
    "employment_type",
    "contract_period",
    "fixed_term",
    "renewable",
    "renewal_cap",
    "trial_period",
    "hours_start",
    "hours_end",
    "overtime",
    "breaks",
    "days_off",
    "wage_type",
    "wage_min_yen",
    "wage_max_yen",
    "fixed_overtime_pay",
    "fixed_overtime_details",
    "health_insurance",
    "pension_insurance",
    "workers_accident_insurance",
    "employment_insurance",
    "dispatch",
    "passive_smoking_measures",
    "received_on",
    "valid_until",
    "receiving_office",
];
pub const CSV_TAIL: &[&str] = &[
    "attribution",
    "organisation_addition_label",
    "organisation_addition",
];

/// Served records as CSV (RFC 4180, CRLF line ends), written with the `csv` crate into memory:
/// the header first, then one row per record.
#[derive(Debug)]
pub struct CsvWriter(csv::Writer<Vec<u8>>);

impl Default for CsvWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl CsvWriter {
    /// A writer with the header row written.
    pub fn new() -> Self {
        let mut w = CsvWriter(Self::writer());
        // Writing into memory cannot fail.
        let _ =
            w.0.write_record(CSV_HEAD.iter().chain(CSV_CONTENT).chain(CSV_TAIL));
        w
    }

    fn writer() -> csv::Writer<Vec<u8>> {
        csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(Vec::with_capacity(64 * 1024))
    }

    /// Append one record.
    pub fn row(&mut self, served: &Served) -> Result<(), String> {
        write_csv_row(served, &mut self.0)
    }

    /// Bytes written and not yet taken.
    pub fn len(&self) -> usize {
        self.0.get_ref().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The text written since the last take (whole rows: the writer is flushed first).
    pub fn take(&mut self) -> String {
        let full = std::mem::replace(&mut self.0, Self::writer());
        // Flushing into memory cannot fail; every field came from a `str`, so the rows are UTF-8.
        let bytes = full.into_inner().unwrap_or_default();
        String::from_utf8(bytes).unwrap_or_default()
    }
}

/// One value of the canonical JSON object, as it stands in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scalar<'a> {
    /// A string's inside, still JSON-escaped.
    Str(&'a str),
    /// A number, `true`, `false` or `null`, verbatim.
    Bare(&'a str),
}

/// Walk the canonical JSON (a flat object of scalars, as [`PostingRecord::canonical`] writes it)
/// without building anything: exports read a million of these.
fn scan(content: &str, mut f: impl FnMut(&str, Scalar<'_>)) -> Result<(), String> {
    let b = content.as_bytes();
    let bad = |at: usize| format!("stored content is not canonical JSON near byte {at}");
    let string_end = |from: usize| -> Result<usize, String> {
        let mut i = from;
        while i < b.len() {
            match b[i] {
                b'\\' => i += 2,
                b'"' => return Ok(i),
                _ => i += 1,
            }
        }
        Err(bad(from))
    };
    if b.first() != Some(&b'{') {
        return Err(bad(0));
    }
    let mut i = 1;
    while i < b.len() && b[i] != b'}' {
        if b[i] == b',' {
            i += 1;
        }
        if b.get(i) != Some(&b'"') {
            return Err(bad(i));
        }
        let key_end = string_end(i + 1)?;
        let key = &content[i + 1..key_end];
        i = key_end + 1;
        if b.get(i) != Some(&b':') {
            return Err(bad(i));
        }
        i += 1;
        if b.get(i) == Some(&b'"') {
            let end = string_end(i + 1)?;
            f(key, Scalar::Str(&content[i + 1..end]));
            i = end + 1;
        } else {
            let end = b[i..]
                .iter()
                .position(|c| *c == b',' || *c == b'}')
                .map(|p| i + p)
                .ok_or_else(|| bad(i))?;
            f(key, Scalar::Bare(&content[i..end]));
            i = end;
        }
    }
    Ok(())
}

/// The text of a JSON string's inside.
fn unescape(raw: &str) -> std::borrow::Cow<'_, str> {
    if raw.contains('\\') {
        serde_json::from_str::<String>(&format!("\"{raw}\""))
            .map(std::borrow::Cow::Owned)
            .unwrap_or(std::borrow::Cow::Borrowed(raw))
    } else {
        std::borrow::Cow::Borrowed(raw)
    }
}

/// The receiving office of a stored posting (for the J4 attribution).
fn receiving_office(content: &str) -> Result<String, String> {
    let mut office = None;
    scan(content, |k, v| {
        if k == "receiving_office"
            && let Scalar::Str(s) = v
        {
            office = Some(unescape(s).into_owned());
        }
    })?;
    office.ok_or_else(|| "stored content has no receiving_office".to_owned())
}

/// Append one CSV row: the feed's own columns, the content fields straight from the stored
/// canonical JSON (no record is built: exports write a million of these), attribution and J8.
fn write_csv_row<W: std::io::Write>(
    served: &Served,
    out: &mut csv::Writer<W>,
) -> Result<(), String> {
    let failed = |e: csv::Error| e.to_string();
    out.write_field(served.version.to_string())
        .map_err(failed)?;
    out.write_field(updated_at_text(&served.updated_at))
        .map_err(failed)?;
    out.write_field(&served.content_hash).map_err(failed)?;
    out.write_field(hex::encode(&served.signature))
        .map_err(failed)?;
    out.write_field(&served.key_id).map_err(failed)?;
    let mut office = String::new();
    let mut column = 0;
    let mut misplaced = None;
    let mut written = Ok(());
    scan(&served.content, |key, value| {
        if CSV_CONTENT.get(column) != Some(&key) {
            misplaced.get_or_insert_with(|| key.to_owned());
        }
        column += 1;
        let field = match value {
            // `null` is only ever an unstated `renewable`: an empty field.
            Scalar::Bare("null") => out.write_field(""),
            Scalar::Bare(v) => out.write_field(v),
            Scalar::Str(raw) => {
                let text = unescape(raw);
                if key == "receiving_office" {
                    office = text.clone().into_owned();
                }
                out.write_field(text.as_bytes())
            }
        };
        if written.is_ok() {
            written = field;
        }
    })?;
    written.map_err(failed)?;
    if let Some(key) = misplaced.or_else(|| (column != CSV_CONTENT.len()).then(String::new)) {
        return Err(format!(
            "stored content does not have the canonical fields (at {key:?})"
        ));
    }
    let (label, addition) = addition_parts(&served.addition);
    let attribution = hwx_rules::access::attribution(&office);
    out.write_record([attribution.as_str(), &label, &addition])
        .map_err(failed)
}

/// Parse CSV text into rows (RFC 4180: quoted fields may hold commas, quotes and newlines).
pub fn parse_csv(text: &str) -> Result<Vec<Vec<String>>, String> {
    csv_rows(text.as_bytes())
        .map(|r| r.map(|(_, row)| row))
        .collect()
}

/// The rows of a CSV file as they are read, each with the line it starts on. The bytes may be
/// UTF-8 or Shift_JIS: every field is decoded on its own (a Shift_JIS character never contains
/// a comma, a quote or a line end, so the rows split the same either way).
pub fn csv_rows<R: std::io::Read>(
    reader: R,
) -> impl Iterator<Item = Result<(u64, Vec<String>), String>> {
    let mut rows = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(reader);
    let mut record = csv::ByteRecord::new();
    std::iter::from_fn(move || match rows.read_byte_record(&mut record) {
        Ok(false) => None,
        Ok(true) => {
            let line = record.position().map_or(0, csv::Position::line);
            Some(Ok((line, record.iter().map(decode_text).collect())))
        }
        Err(e) => Some(Err(format!("not CSV: {e}"))),
    })
}

/// Rebuild the served record of one CSV row (the inverse of [`write_csv_row`]).
pub fn served_from_csv(header: &[String], row: &[String]) -> Result<ServedJson, String> {
    let get = |name: &str| -> Result<&str, String> {
        let i = header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| format!("no column {name:?}"))?;
        row.get(i)
            .map(String::as_str)
            .ok_or_else(|| format!("the row has no {name:?} field"))
    };
    let mut content = serde_json::Map::new();
    for name in CSV_CONTENT {
        let v = get(name)?;
        let value = match *name {
            "wage_min_yen" | "wage_max_yen" => serde_json::Value::from(
                v.parse::<i64>()
                    .map_err(|_| format!("{name}: {v:?} is not a number"))?,
            ),
            "renewable" if v.is_empty() => serde_json::Value::Null,
            "fixed_term"
            | "renewable"
            | "fixed_overtime_pay"
            | "health_insurance"
            | "pension_insurance"
            | "workers_accident_insurance"
            | "employment_insurance"
            | "dispatch" => match v {
                "true" => true.into(),
                "false" => false.into(),
                _ => return Err(format!("{name}: {v:?} is not true or false")),
            },
            _ => v.into(),
        };
        content.insert((*name).to_owned(), value);
    }
    let content: PostingRecord = serde_json::from_value(serde_json::Value::Object(content))
        .map_err(|e| format!("content: {e}"))?;
    let addition = get("organisation_addition")?;
    Ok(ServedJson {
        version: get("version")?
            .parse()
            .map_err(|_| "version is not a number".to_owned())?,
        content,
        content_hash: get("content_hash")?.to_owned(),
        signature: get("signature")?.to_owned(),
        key_id: get("key_id")?.to_owned(),
        attribution: get("attribution")?.to_owned(),
        organisation_addition: (!addition.is_empty()).then(|| AdditionJson {
            label: get("organisation_addition_label")
                .unwrap_or_default()
                .to_owned(),
            text: addition.to_owned(),
        }),
        updated_at: get("updated_at")?.to_owned(),
    })
}

/// Encode UTF-8 CSV text as Shift_JIS (Windows-31J, what spreadsheets in Japan open). A character
/// with no Shift_JIS form becomes an HTML numeric reference, as the encoding standard does.
pub fn to_shift_jis(text: &str) -> Vec<u8> {
    // The encoder maps these three to bytes that read back as other characters (¥ → \, ‾ → ~,
    // − → －): write them as references too, so a download still verifies.
    if text.contains(['\u{a5}', '\u{203e}', '\u{2212}']) {
        let text = text
            .replace('\u{a5}', "&#165;")
            .replace('\u{203e}', "&#8254;")
            .replace('\u{2212}', "&#8722;");
        return encoding_rs::SHIFT_JIS.encode(&text).0.into_owned();
    }
    encoding_rs::SHIFT_JIS.encode(text).0.into_owned()
}

/// Decode a file that may be Shift_JIS: valid UTF-8 is taken as it is.
pub fn decode_text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.trim_start_matches('\u{feff}').to_owned(),
        Err(_) => encoding_rs::SHIFT_JIS.decode(bytes).0.into_owned(),
    }
}

/// A posting as Hello Work sends it over HTTP, one JSON object per NDJSON line: the fields of the
/// served `content` ([`PostingRecord`], wage flat), plus `employer_consents` and `closed`. Dates
/// are `YYYY-MM-DD`; a yes/no item left out is "not stated" (and refused under J7). The wage may
/// also come nested (`"wage": {"type", "min_yen", "max_yen", "fixed_overtime_pay",
/// "fixed_overtime_details"}`, the first form of this API), but not both ways in one record.
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PostingJson {
    pub posting_number: String,
    pub employer_name: String,
    pub establishment_number: String,
    pub title: String,
    pub work_content: String,
    pub work_content_change_scope: String,
    pub occupation_code: String,
    pub industry_code: String,
    pub prefecture_code: String,
    pub workplace: String,
    pub workplace_change_scope: String,
    pub employment_type: String,
    pub contract_period: String,
    pub fixed_term: Option<bool>,
    pub renewable: Option<bool>,
    pub renewal_cap: String,
    pub trial_period: String,
    pub hours_start: String,
    pub hours_end: String,
    pub overtime: String,
    pub breaks: String,
    pub days_off: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wage: Option<WageJson>,
    pub wage_type: Option<String>,
    pub wage_min_yen: Option<i64>,
    pub wage_max_yen: Option<i64>,
    pub fixed_overtime_pay: Option<bool>,
    pub fixed_overtime_details: Option<String>,
    pub health_insurance: Option<bool>,
    pub pension_insurance: Option<bool>,
    pub workers_accident_insurance: Option<bool>,
    pub employment_insurance: Option<bool>,
    pub dispatch: Option<bool>,
    pub passive_smoking_measures: String,
    pub received_on: Option<String>,
    pub valid_until: Option<String>,
    pub receiving_office: String,
    /// Whether the employer consents to the posting's provision: `false` withdraws it. Left
    /// out, the record is refused: silence is neither.
    pub employer_consents: Option<bool>,
    pub closed: bool,
}

/// A record as the feed serves it (a snapshot's NDJSON line, one posting): ingest takes its
/// `content`. Its version, hash and signature are the feed's own and are made anew.
#[derive(Debug, Deserialize)]
struct ServedLine {
    content: PostingJson,
}

/// Why an ingest line is not a posting.
#[derive(Debug)]
pub enum IngestLineError {
    /// Not JSON of a posting (serde's own words, and the column).
    Json(serde_json::Error),
    /// JSON of a posting that says something impossible.
    Invalid(String),
}

/// One line of an NDJSON ingest body.
#[derive(Debug, Clone, PartialEq)]
pub enum IngestLine {
    /// A posting; `downloaded` when it came in the served form (a line of a feed download).
    Posting {
        content: Box<pb::PostingContent>,
        downloaded: bool,
    },
    /// The closing line of a downloaded snapshot (`{"cursor": …, "records": N}`): no record, but
    /// how many the snapshot held.
    Closing { records: i64 },
}

/// One NDJSON ingest line: a posting in the ingest form, a record as downloaded from the feed
/// (`{"version", "content": {…}, "content_hash", …}`, taken as the employer's consent), or a
/// downloaded snapshot's closing line.
pub fn parse_ingest_line(line: &[u8]) -> Result<IngestLine, IngestLineError> {
    let plain = match serde_json::from_slice::<PostingJson>(line) {
        Ok(p) => {
            return p
                .into_proto()
                .map(|content| IngestLine::Posting {
                    content: Box::new(content),
                    downloaded: false,
                })
                .map_err(IngestLineError::Invalid);
        }
        Err(e) => e,
    };
    // Not the ingest form: which other form it is decides which error to tell (read as a bare
    // object on this error path only).
    let Ok(object) = serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(line)
    else {
        return Err(IngestLineError::Json(plain));
    };
    if object.contains_key("content") {
        let served = serde_json::from_slice::<ServedLine>(line).map_err(IngestLineError::Json)?;
        let mut p = served.content;
        // Served means provided: the employer consented when it was fed in.
        p.employer_consents.get_or_insert(true);
        return p
            .into_proto()
            .map(|content| IngestLine::Posting {
                content: Box::new(content),
                downloaded: true,
            })
            .map_err(IngestLineError::Invalid);
    }
    let closing = object.len() == 2 && object.contains_key("cursor");
    match object.get("records").and_then(serde_json::Value::as_i64) {
        Some(records) if closing => Ok(IngestLine::Closing { records }),
        _ => Err(IngestLineError::Json(plain)),
    }
}

#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WageJson {
    #[serde(rename = "type")]
    pub wage_type: String,
    pub min_yen: i64,
    pub max_yen: i64,
    pub fixed_overtime_pay: Option<bool>,
    pub fixed_overtime_details: String,
}

impl From<&pb::PostingContent> for PostingJson {
    fn from(p: &pb::PostingContent) -> Self {
        PostingJson {
            posting_number: p.posting_number.clone(),
            employer_name: p.employer_name.clone(),
            establishment_number: p.establishment_number.clone(),
            title: p.title.clone(),
            work_content: p.work_content.clone(),
            work_content_change_scope: p.work_content_change_scope.clone(),
            occupation_code: p.occupation_code.clone(),
            industry_code: p.industry_code.clone(),
            prefecture_code: p.prefecture_code.clone(),
            workplace: p.workplace.clone(),
            workplace_change_scope: p.workplace_change_scope.clone(),
            employment_type: p.employment_type.clone(),
            contract_period: p.contract_period.clone(),
            fixed_term: p.fixed_term,
            renewable: p.renewable,
            renewal_cap: p.renewal_cap.clone(),
            trial_period: p.trial_period.clone(),
            hours_start: p.hours_start.clone(),
            hours_end: p.hours_end.clone(),
            overtime: p.overtime.clone(),
            breaks: p.breaks.clone(),
            days_off: p.days_off.clone(),
            wage: None,
            wage_type: p.wage.as_ref().map(|w| w.r#type.clone()),
            wage_min_yen: p.wage.as_ref().map(|w| w.min_yen),
            wage_max_yen: p.wage.as_ref().map(|w| w.max_yen),
            fixed_overtime_pay: p.wage.as_ref().and_then(|w| w.fixed_overtime_pay),
            fixed_overtime_details: p.wage.as_ref().map(|w| w.fixed_overtime_details.clone()),
            health_insurance: p.health_insurance,
            pension_insurance: p.pension_insurance,
            workers_accident_insurance: p.workers_accident_insurance,
            employment_insurance: p.employment_insurance,
            dispatch: p.dispatch,
            passive_smoking_measures: p.passive_smoking_measures.clone(),
            received_on: date_text(&p.received_on),
            valid_until: date_text(&p.valid_until),
            receiving_office: p.receiving_office.clone(),
            employer_consents: Some(p.employer_consents),
            closed: p.closed,
        }
    }
}

impl PostingJson {
    /// The gRPC message. A date that is no date is left out (and refused at ingest). Refused
    /// here: the wage both nested and flat, and no word on the employer's consent.
    pub fn into_proto(self) -> Result<pb::PostingContent, String> {
        let date = |s: &Option<String>| s.as_deref().and_then(parse_date);
        let flat = self.wage_type.is_some()
            || self.wage_min_yen.is_some()
            || self.wage_max_yen.is_some()
            || self.fixed_overtime_pay.is_some()
            || self.fixed_overtime_details.is_some();
        let wage = match (self.wage, flat) {
            (Some(_), true) => {
                return Err(
                    "the wage is given both nested (\"wage\") and flat (\"wage_type\", \"wage_min_yen\" …): send one"
                        .into(),
                );
            }
            (Some(w), false) => Some(pb::Wage {
                r#type: w.wage_type,
                min_yen: w.min_yen,
                max_yen: w.max_yen,
                fixed_overtime_pay: w.fixed_overtime_pay,
                fixed_overtime_details: w.fixed_overtime_details,
            }),
            (None, true) => Some(pb::Wage {
                r#type: self.wage_type.unwrap_or_default(),
                min_yen: self.wage_min_yen.unwrap_or_default(),
                max_yen: self.wage_max_yen.unwrap_or_default(),
                fixed_overtime_pay: self.fixed_overtime_pay,
                fixed_overtime_details: self.fixed_overtime_details.unwrap_or_default(),
            }),
            (None, false) => None,
        };
        let employer_consents = match (self.employer_consents, self.closed) {
            (Some(c), _) => c,
            // A closed posting is withdrawn whatever the consent.
            (None, true) => false,
            (None, false) => {
                return Err(
                    "employer_consents: say whether the employer consents to the posting's provision (true) or withdrew it (false)"
                        .into(),
                );
            }
        };
        Ok(pb::PostingContent {
            received_on: date(&self.received_on),
            valid_until: date(&self.valid_until),
            posting_number: self.posting_number,
            employer_name: self.employer_name,
            establishment_number: self.establishment_number,
            title: self.title,
            work_content: self.work_content,
            work_content_change_scope: self.work_content_change_scope,
            occupation_code: self.occupation_code,
            industry_code: self.industry_code,
            prefecture_code: self.prefecture_code,
            workplace: self.workplace,
            workplace_change_scope: self.workplace_change_scope,
            employment_type: self.employment_type,
            contract_period: self.contract_period,
            fixed_term: self.fixed_term,
            renewable: self.renewable,
            renewal_cap: self.renewal_cap,
            trial_period: self.trial_period,
            hours_start: self.hours_start,
            hours_end: self.hours_end,
            overtime: self.overtime,
            breaks: self.breaks,
            days_off: self.days_off,
            wage,
            health_insurance: self.health_insurance,
            pension_insurance: self.pension_insurance,
            workers_accident_insurance: self.workers_accident_insurance,
            employment_insurance: self.employment_insurance,
            dispatch: self.dispatch,
            passive_smoking_measures: self.passive_smoking_measures,
            receiving_office: self.receiving_office,
            employer_consents,
            closed: self.closed,
        })
    }
}
