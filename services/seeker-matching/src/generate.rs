//! Believable seekers for demos and load: real prefecture and occupation codes, places weighted
//! by population, occupations weighted by the prefecture's mix (more farming and construction
//! outside the big cities), age bands, wages by employment type, real licences. Deterministic:
//! seeker `i` of revision `r` is the same on every run of the same day (its dates count back from
//! today), so a re-run that day is all `unchanged`; revision `r` > 0 differs from revision 0 in
//! about one seeker in twenty (active today).

use hwx_posting::codes;
use hwx_proto::common::v1::Date;
use hwx_proto::seekermatching::v1::{Experience, Seeker};

/// SplitMix64 of the seeker index.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = mix(self.0);
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// An index into `weights`, drawn in proportion to them.
    fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|w| u64::from(*w)).sum();
        let mut x = self.below(total);
        for (i, w) in weights.iter().enumerate() {
            if x < u64::from(*w) {
                return i;
            }
            x -= u64::from(*w);
        }
        weights.len() - 1
    }
}

/// Population of each prefecture 01–47, in ten thousands (2020 census, rounded).
const POPULATION: [u32; 47] = [
    522, 124, 121, 230, 96, 107, 183, 287, 193, 194, 734, 628, 1405, 924, 220, 103, 113, 77, 81,
    205, 198, 363, 754, 177, 141, 258, 884, 547, 132, 92, 55, 67, 189, 280, 134, 72, 95, 133, 69,
    514, 81, 131, 174, 112, 107, 159, 147,
];

/// The big-city prefectures: Saitama, Chiba, Tokyo, Kanagawa, Aichi, Osaka, Hyogo, Fukuoka.
const URBAN: [usize; 8] = [10, 11, 12, 13, 22, 26, 27, 39];

/// Share of seekers wishing for each major occupation group 01–15, in cities and elsewhere.
const OCCUPATION_URBAN: [u32; 15] = [2, 9, 5, 7, 5, 24, 10, 9, 10, 3, 1, 6, 4, 3, 2];
const OCCUPATION_RURAL: [u32; 15] = [2, 5, 3, 8, 5, 16, 8, 11, 9, 3, 5, 11, 6, 6, 2];

/// Age bands 20–65 and their share among seekers.
const AGE_BANDS: [(i32, u32); 10] = [
    (20, 9),
    (25, 12),
    (30, 11),
    (35, 10),
    (40, 10),
    (45, 11),
    (50, 11),
    (55, 10),
    (60, 10),
    (65, 6),
];

const QUALIFICATIONS: [&str; 12] = [
    "普通自動車第一種運転免許",
    "日商簿記検定2級",
    "介護福祉士",
    "介護職員初任者研修",
    "看護師",
    "保育士",
    "フォークリフト運転技能講習",
    "第二種電気工事士",
    "宅地建物取引士",
    "調理師",
    "TOEIC 730点以上",
    "MOS（Excel）",
];

const EDUCATION: [(&str, u32); 6] = [
    ("junior_high", 3),
    ("high_school", 33),
    ("vocational", 16),
    ("junior_college", 10),
    ("university", 33),
    ("graduate", 5),
];

const HOURS: [&str; 5] = [
    "平日日中（9時〜18時）",
    "週3〜4日、1日6時間まで",
    "シフト制可、夜勤不可",
    "土日休み希望",
    "",
];

fn date(days_before: u64, base: chrono::NaiveDate) -> Date {
    let d = base
        .checked_sub_days(chrono::Days::new(days_before))
        .unwrap_or(base);
    hwx_platform::grpc::date(d)
}

/// Seeker `start + i` at `revision`, active and consenting on or before `today`.
pub fn seeker(start: u64, i: u64, revision: u32, today: chrono::NaiveDate) -> Seeker {
    let n = start.wrapping_add(i);
    let mut rng = Rng(n);
    let prefecture = rng.weighted(&POPULATION);
    let urban = URBAN.contains(&prefecture);
    let mix = if urban {
        &OCCUPATION_URBAN
    } else {
        &OCCUPATION_RURAL
    };
    let occupation = rng.weighted(mix);
    let major = codes::OCCUPATIONS
        .get(occupation)
        .map_or_else(|| format!("{:02}", occupation + 1), |c| c.code.clone());
    let mut occupations = vec![major.clone()];
    if rng.below(3) == 0 {
        // A second wish, often the neighbouring field.
        let other = rng.weighted(mix);
        if other != occupation {
            occupations.push(format!("{:02}", other + 1));
        }
    }
    let pref = format!("{:02}", prefecture + 1);
    let mut prefectures = vec![pref.clone()];
    if urban && rng.below(4) == 0 {
        // City seekers often accept a neighbouring big city.
        let near = URBAN[rng.below(URBAN.len() as u64) as usize];
        if near != prefecture {
            prefectures.push(format!("{:02}", near + 1));
        }
    }
    let age = AGE_BANDS[rng.weighted(&AGE_BANDS.map(|(_, w)| w))].0;
    let part_time = rng.below(10) < if age >= 60 { 5 } else { 3 };
    let (employment, wage_type, wage_min) = if part_time {
        ("パート労働者", "hourly", 1_000 + 50 * rng.below(12) as i64)
    } else {
        ("正社員", "monthly", 170_000 + 10_000 * rng.below(20) as i64)
    };
    let mut qualifications = Vec::new();
    for _ in 0..rng.below(3) {
        let q = QUALIFICATIONS[rng.below(QUALIFICATIONS.len() as u64) as usize];
        if !qualifications.iter().any(|x| x == q) {
            qualifications.push(q.to_owned());
        }
    }
    let years = (rng.below(u64::from((age - 18).max(1) as u32)) as i32).min(40);
    let education = EDUCATION[rng.weighted(&EDUCATION.map(|(_, w)| w))].0;
    let pref_name = codes::prefecture(&pref).map_or("", |c| c.name.as_str());
    // About one seeker in twenty was active again in each later revision.
    let active_days = rng.below(90);
    let active = if revision > 0 && n % 20 == u64::from(revision % 20) {
        0
    } else {
        active_days
    };
    let consent = active + rng.below(180);
    Seeker {
        seeker_id: format!("D{n:09}"),
        age_band: age,
        gender: match rng.below(5) {
            0 => "female".into(),
            1 => "male".into(),
            _ => String::new(),
        },
        desired_occupations: occupations,
        desired_prefectures: prefectures,
        desired_municipalities: Vec::new(),
        employment_types: vec![employment.into()],
        wage_type: wage_type.into(),
        wage_min,
        wage_max: 0,
        working_hours: HOURS[rng.below(HOURS.len() as u64) as usize].into(),
        qualifications,
        experience: vec![Experience {
            occupation: major,
            years,
        }],
        education: education.into(),
        hello_work_office: format!("ハローワーク（{pref_name}）"),
        consent_on: Some(date(consent, today)),
        last_active_on: Some(date(active, today)),
        consents: Some(true),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a test that cannot unwrap has failed, and says where
mod tests {
    use super::*;

    #[test]
    fn generated_seekers_pass_every_check_and_are_stable() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        let mut tokyo = 0;
        for i in 0..2_000 {
            let s = seeker(0, i, 0, today);
            crate::record::check(&s, today).unwrap_or_else(|r| panic!("{i}: {r:?}"));
            assert_eq!(s, seeker(0, i, 0, today), "the same seeker on every run");
            tokyo += usize::from(s.desired_prefectures[0] == "13");
        }
        // Tokyo holds about 11 % of the population.
        assert!((150..300).contains(&tokyo), "{tokyo} of 2,000 in Tokyo");
        let changed = (0..2_000)
            .filter(|i| seeker(0, *i, 1, today) != seeker(0, *i, 0, today))
            .count();
        assert!(
            (50..150).contains(&changed),
            "{changed} changed by a revision"
        );
    }
}
