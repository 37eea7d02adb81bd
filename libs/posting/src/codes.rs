//! Reference codes a posting is checked against: JIS X 0401 prefectures, the major groups of the
//! MHLW 2022 occupational classification and the JSIC divisions.

use std::sync::LazyLock;

/// One row of a reference table.
#[derive(Debug, Clone)]
pub struct Code {
    pub code: String,
    pub name: String,
    /// Prefectures: the labour bureau. Occupations: the group's letter.
    pub extra: String,
}

fn parse(csv: &str, code_col: usize, name_col: usize, extra_col: Option<usize>) -> Vec<Code> {
    // The tables are compiled in: a row that does not parse would show as a code refused at intake.
    crate::record::csv_rows(csv.as_bytes())
        .skip(1)
        .filter_map(Result::ok)
        .map(|(_, cols)| {
            let col = |i: usize| cols.get(i).map_or("", |c| c.trim()).to_owned();
            Code {
                code: col(code_col),
                name: col(name_col),
                extra: extra_col.map(col).unwrap_or_default(),
            }
        })
        .filter(|c| !c.code.is_empty())
        .collect()
}

/// The 47 prefectures, code `01`–`47`.
pub static PREFECTURES: LazyLock<Vec<Code>> =
    LazyLock::new(|| parse(include_str!("../data/prefectures.csv"), 0, 1, Some(2)));

/// The 15 major occupation groups, code `01`–`15`.
pub static OCCUPATIONS: LazyLock<Vec<Code>> = LazyLock::new(|| {
    parse(
        include_str!("../data/occupations-major-2022.csv"),
        0,
        2,
        Some(1),
    )
});

/// The 20 JSIC divisions `A`–`T`.
pub static INDUSTRIES: LazyLock<Vec<Code>> = LazyLock::new(|| {
    parse(
        include_str!("../data/industries-jsic-divisions.csv"),
        0,
        1,
        None,
    )
});

/// Hello Work's employment types (雇用形態).
pub const EMPLOYMENT_TYPES: &[&str] = &[
    "正社員",
    "正社員以外",
    "パート労働者",
    "有期雇用派遣労働者",
    "無期雇用派遣労働者",
];

/// Wage types (賃金形態).
pub const WAGE_TYPES: &[&str] = &["monthly", "daily", "hourly", "annual"];

pub fn prefecture(code: &str) -> Option<&'static Code> {
    PREFECTURES.iter().find(|c| c.code == code)
}

/// An occupation code: a major group `01`–`15`, optionally followed by the medium and minor
/// group digits (`06`, `0601`, `06-01-02`).
pub fn valid_occupation(code: &str) -> bool {
    code.len() >= 2
        && code.len() <= 9
        && code.bytes().all(|b| b.is_ascii_digit() || b == b'-')
        && OCCUPATIONS
            .iter()
            .any(|c| code.starts_with(c.code.as_str()))
}

/// A JSIC code: a division letter `A`–`T`, optionally followed by 2–4 digits (major, group,
/// industry).
pub fn valid_industry(code: &str) -> bool {
    let mut chars = code.chars();
    let Some(division) = chars.next() else {
        return false;
    };
    let digits = chars.as_str();
    INDUSTRIES.iter().any(|c| c.code.starts_with(division))
        && (digits.is_empty()
            || ((2..=4).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())))
}
