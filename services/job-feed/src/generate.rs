//! Believable postings for demos and load: real prefecture, occupation and industry codes, wage
//! ranges by occupation, Japanese text. Deterministic within a month: posting `i` of revision `r`
//! is the same all month (its dates follow the month), so a re-run is a no-op and a new revision
//! changes about one posting in twenty.

use hwx_proto::common::v1::Date;
use hwx_proto::jobfeed::v1::{PostingContent, Wage};

use hwx_posting::codes;

/// SplitMix64: a small, fast, well-mixed hash of the posting index.
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

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }

    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1) as u64) as i64
    }
}

/// Job titles and monthly wage ranges (yen) per major occupation group 01–15.
const JOBS: [(&[&str], i64, i64); 15] = [
    (
        &["店舗運営管理者", "工場長候補", "営業所長"],
        300_000,
        550_000,
    ),
    (
        &["機械設計技術者", "システムエンジニア", "品質保証技術者"],
        250_000,
        450_000,
    ),
    (&["経理専門職", "学芸員", "デザイナー"], 220_000, 380_000),
    (
        &["正看護師", "准看護師", "臨床検査技師", "薬剤師"],
        240_000,
        420_000,
    ),
    (&["保育士", "幼稚園教諭", "学習塾講師"], 190_000, 290_000),
    (
        &["一般事務", "経理事務", "営業事務", "医療事務"],
        170_000,
        260_000,
    ),
    (
        &["ルート営業", "販売スタッフ", "不動産営業"],
        190_000,
        350_000,
    ),
    (&["介護職員", "生活相談員", "訪問介護員"], 180_000, 280_000),
    (
        &[
            "調理師",
            "ホールスタッフ",
            "理容師・美容師",
            "ホテルフロント",
        ],
        170_000,
        270_000,
    ),
    (&["施設警備員", "交通誘導警備員"], 170_000, 250_000),
    (&["農作業員", "園芸作業員", "漁船員"], 160_000, 260_000),
    (
        &["製造オペレーター", "溶接工", "食品製造スタッフ", "検査工"],
        180_000,
        300_000,
    ),
    (
        &[
            "大型トラック運転手",
            "路線バス運転士",
            "フォークリフト運転作業員",
        ],
        220_000,
        380_000,
    ),
    (
        &["土木作業員", "電気工事士", "施工管理技士"],
        220_000,
        420_000,
    ),
    (
        &[
            "倉庫作業員",
            "清掃スタッフ",
            "ピッキング作業員",
            "梱包作業員",
        ],
        160_000,
        240_000,
    ),
];

const SURNAMES: &[&str] = &[
    "山田",
    "鈴木",
    "高橋",
    "田中",
    "伊藤",
    "渡辺",
    "中村",
    "小林",
    "加藤",
    "吉田",
    "山本",
    "佐々木",
    "松本",
    "井上",
    "木村",
    "清水",
    "森",
    "池田",
    "橋本",
    "石川",
];
const SUFFIXES: &[&str] = &[
    "商事",
    "製作所",
    "工業",
    "物流",
    "サービス",
    "建設",
    "食品",
    "運輸",
    "電機",
    "ケアサービス",
];
const FORMS: &[&str] = &[
    "株式会社",
    "有限会社",
    "社会福祉法人",
    "医療法人社団",
    "合同会社",
];
const CITIES: &[&str] = &[
    "中央市",
    "北山市",
    "南原市",
    "東浜市",
    "西野市",
    "新田市",
    "桜台市",
    "緑ヶ丘市",
];
const TOWNS: &[&str] = &[
    "中央", "本町", "栄町", "駅前", "緑町", "旭町", "港町", "新町", "東町", "西町", "南町", "北町",
];
const SMOKING: &[&str] = &[
    "屋内禁煙",
    "敷地内禁煙",
    "屋内原則禁煙（喫煙専用室あり）",
    "屋外に喫煙場所設置",
];
const DAYS_OFF: &[&str] = &[
    "土日祝 年間休日120日",
    "週休2日制（シフト制） 年間休日105日",
    "日曜・祝日 他 年間休日96日",
    "4週8休 年間休日110日",
];

/// Posting number `i` (0-based) of a run that starts at serial `start`.
pub fn posting_number(start: u64, i: u64) -> String {
    let serial = start + i;
    // The receiving office: a prefecture code and an office number; the serial keeps it unique.
    // The office's first two digits are the prefecture of the posting.
    let office = (serial % 47 + 1) * 1000 + serial / 100_000_000 % 1000;
    format!("{:05}-{:08}", office % 100_000, serial % 100_000_000)
}

/// Posting `i` of revision `revision` (0 is the first; each later one changes ~5 % of postings).
pub fn posting(start: u64, i: u64, revision: u32) -> PostingContent {
    let serial = start + i;
    let mut r = Rng(serial);
    let number = posting_number(start, i);
    let pref_index = (serial % 47) as usize;
    let pref = &codes::PREFECTURES[pref_index.min(codes::PREFECTURES.len() - 1)];
    let major = (r.next() % 15) as usize;
    let (titles, lo, hi) = JOBS[major];
    let title = *r.pick(titles);
    let occupation = format!("{:02}{:02}", major + 1, r.range(1, 12));
    let division = r.pick(&codes::INDUSTRIES[..19]).code.clone();
    let industry = format!("{division}{:02}", r.range(1, 99));
    let employment_type = *r.pick(&[
        "正社員",
        "正社員",
        "正社員",
        "正社員以外",
        "パート労働者",
        "パート労働者",
        "有期雇用派遣労働者",
    ]);
    let part_time = employment_type == "パート労働者";
    let fixed_term = employment_type != "正社員";
    // Each revision changes the wage of about one posting in twenty.
    let bump: i64 = (1..=revision)
        .filter(|rev| mix(serial ^ (u64::from(*rev) << 40)).is_multiple_of(20))
        .count() as i64;
    let (wage_type, min, max) = if part_time {
        let base = 1_000 + (lo - 160_000) / 200;
        let min = (base + r.range(0, 150)) / 10 * 10 + bump * 20;
        ("hourly", min, min + r.range(0, 300) / 10 * 10)
    } else {
        let min = (r.range(lo, (lo + hi) / 2)) / 1000 * 1000 + bump * 5_000;
        ("monthly", min, min + r.range(20, (hi - lo) / 1000) * 1000)
    };
    let fixed_overtime = !part_time && r.next().is_multiple_of(4);
    let company = format!("{}{}{}", r.pick(FORMS), r.pick(SURNAMES), r.pick(SUFFIXES));
    let workplace = format!(
        "{}{}{}{}丁目{}-{}",
        pref.name,
        r.pick(CITIES),
        r.pick(TOWNS),
        r.range(1, 5),
        r.range(1, 30),
        r.range(1, 20)
    );
    // Received in the two months before this month began, valid for four months: every
    // generated posting is current all month, and a re-run within the month is a no-op.
    let month = {
        use chrono::Datelike;
        let today = chrono::Utc::now()
            .with_timezone(&hwx_rules::jst::JST)
            .date_naive();
        today.with_day(1).unwrap_or(today)
    };
    let received = month
        .checked_sub_days(chrono::Days::new(serial % 60))
        .unwrap_or_default();
    let valid_until = received
        .checked_add_days(chrono::Days::new(120))
        .unwrap_or_default();
    let date = |d: chrono::NaiveDate| {
        use chrono::Datelike;
        Some(Date {
            year: d.year(),
            month: d.month() as i32,
            day: d.day() as i32,
        })
    };
    let start_hour = r.range(7, 10);
    PostingContent {
        posting_number: number.clone(),
        employer_name: company,
        establishment_number: format!(
            "{:04}-{:06}-{}",
            1000 + serial % 9000,
            serial % 1_000_000,
            serial % 10
        ),
        title: title.into(),
        work_content: format!(
            "{title}として、{}での業務全般をお任せします。経験の浅い方には先輩社員が丁寧に指導します。",
            pref.name
        ),
        work_content_change_scope: if r.next().is_multiple_of(3) {
            "会社の定める業務".into()
        } else {
            "変更なし".into()
        },
        occupation_code: occupation,
        industry_code: industry,
        prefecture_code: pref.code.clone(),
        workplace,
        workplace_change_scope: if r.next().is_multiple_of(3) {
            "会社の定める事業所".into()
        } else {
            "変更なし".into()
        },
        employment_type: employment_type.into(),
        contract_period: if fixed_term {
            "1年".into()
        } else {
            "期間の定めなし".into()
        },
        fixed_term: Some(fixed_term),
        renewable: fixed_term.then_some(true),
        renewal_cap: if fixed_term {
            "更新上限あり（通算5年まで）".into()
        } else {
            String::new()
        },
        trial_period: if r.next().is_multiple_of(2) {
            "あり（3か月、労働条件の変更なし）".into()
        } else {
            "なし".into()
        },
        hours_start: format!("{start_hour:02}:00"),
        hours_end: format!("{:02}:00", start_hour + if part_time { 5 } else { 9 }),
        overtime: if part_time {
            "なし".into()
        } else {
            format!("あり（月平均{}時間）", r.range(5, 25))
        },
        breaks: if part_time { "15分" } else { "60分" }.into(),
        days_off: (*r.pick(DAYS_OFF)).into(),
        wage: Some(Wage {
            r#type: wage_type.into(),
            min_yen: min,
            max_yen: max,
            fixed_overtime_pay: Some(fixed_overtime),
            fixed_overtime_details: if fixed_overtime {
                "固定残業代30,000円（20時間分）を含む。超過分は追加支給".into()
            } else {
                String::new()
            },
        }),
        health_insurance: Some(!part_time || r.next().is_multiple_of(2)),
        pension_insurance: Some(!part_time || r.next().is_multiple_of(2)),
        workers_accident_insurance: Some(true),
        employment_insurance: Some(true),
        dispatch: Some(employment_type.contains("派遣")),
        passive_smoking_measures: (*r.pick(SMOKING)).into(),
        received_on: date(received),
        valid_until: date(valid_until),
        receiving_office: format!(
            "ハローワーク{}",
            pref.name.trim_end_matches(['都', '府', '県'])
        ),
        employer_consents: true,
        closed: false,
    }
}
