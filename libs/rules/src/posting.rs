//! The items a job posting may never omit (J7, §10): the labour conditions of Employment Security
//! Act Art. 5-3 and its Ordinance Art. 4-2, with the 2024-04 additions.

use serde::{Deserialize, Serialize};

/// The J7 items of a posting as stated, before any check. Text items are missing when absent or
/// blank; yes/no items when absent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PostingTerms {
    /// 1. 業務内容
    pub work_content: Option<String>,
    /// 1. 変更の範囲 (of the work content)
    pub work_content_change_scope: Option<String>,
    /// 2. 契約期間, as stated (e.g. 「期間の定めなし」 or the period).
    pub contract_period: Option<String>,
    /// 2. Whether the contract has a fixed term.
    pub fixed_term: Option<bool>,
    /// 2. For fixed terms: whether it may be renewed (契約更新の有無).
    pub renewable: Option<bool>,
    /// 2. For renewable fixed terms: the cap on renewals or total term, or 「なし」 (更新上限).
    pub renewal_cap: Option<String>,
    /// 3. 試用期間 (「なし」 when there is none).
    pub trial_period: Option<String>,
    /// 4. 就業場所
    pub workplace: Option<String>,
    /// 4. 変更の範囲 (of the place of work)
    pub workplace_change_scope: Option<String>,
    /// 5. 始業時刻
    pub hours_start: Option<String>,
    /// 5. 終業時刻
    pub hours_end: Option<String>,
    /// 5. 時間外労働
    pub overtime: Option<String>,
    /// 5. 休憩時間
    pub breaks: Option<String>,
    /// 5. 休日
    pub days_off: Option<String>,
    /// 6. 賃金
    pub wages: Option<String>,
    /// 6. Whether fixed overtime pay (固定残業代) is part of the wage.
    pub fixed_overtime_pay: Option<bool>,
    /// 6. When it is: its amount, the hours it covers and that excess hours are paid extra.
    pub fixed_overtime_details: Option<String>,
    /// 7. 健康保険
    pub health_insurance: Option<bool>,
    /// 7. 厚生年金
    pub pension_insurance: Option<bool>,
    /// 7. 労災保険
    pub workers_accident_insurance: Option<bool>,
    /// 7. 雇用保険
    pub employment_insurance: Option<bool>,
    /// 8. 募集者の氏名又は名称
    pub employer_name: Option<String>,
    /// 9. 派遣労働者として雇用するか
    pub dispatch: Option<bool>,
    /// 10. 受動喫煙防止措置
    pub passive_smoking_measures: Option<String>,
}

macro_rules! items {
    ($( $item:ident => ($no:expr, $field:expr, $label:expr) ),+ $(,)?) => {
        /// One J7 item that may be missing.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum J7Item { $( $item ),+ }

        impl J7Item {
            /// Every item, in the order of §10.
            pub const ALL: &'static [J7Item] = &[ $( J7Item::$item ),+ ];
            /// The number of the item in §10 (1–10).
            pub const fn number(self) -> u8 { match self { $( J7Item::$item => $no ),+ } }
            /// The field of [`PostingTerms`] that states it.
            pub const fn field(self) -> &'static str { match self { $( J7Item::$item => $field ),+ } }
            /// The item's name in the statute.
            pub const fn label(self) -> &'static str { match self { $( J7Item::$item => $label ),+ } }
        }
    };
}

items! {
    WorkContent => (1, "work_content", "業務内容"),
    WorkContentChangeScope => (1, "work_content_change_scope", "業務内容の変更の範囲"),
    ContractPeriod => (2, "contract_period", "契約期間"),
    Renewal => (2, "renewable", "契約更新の有無"),
    RenewalCap => (2, "renewal_cap", "更新上限の有無と内容"),
    TrialPeriod => (3, "trial_period", "試用期間"),
    Workplace => (4, "workplace", "就業場所"),
    WorkplaceChangeScope => (4, "workplace_change_scope", "就業場所の変更の範囲"),
    HoursStart => (5, "hours_start", "始業時刻"),
    HoursEnd => (5, "hours_end", "終業時刻"),
    Overtime => (5, "overtime", "時間外労働"),
    Breaks => (5, "breaks", "休憩時間"),
    DaysOff => (5, "days_off", "休日"),
    Wages => (6, "wages", "賃金"),
    FixedOvertimePay => (6, "fixed_overtime_pay", "固定残業代の有無"),
    FixedOvertimeDetails => (6, "fixed_overtime_details", "固定残業代の内容"),
    HealthInsurance => (7, "health_insurance", "健康保険"),
    PensionInsurance => (7, "pension_insurance", "厚生年金"),
    WorkersAccidentInsurance => (7, "workers_accident_insurance", "労災保険"),
    EmploymentInsurance => (7, "employment_insurance", "雇用保険"),
    EmployerName => (8, "employer_name", "募集者の氏名又は名称"),
    Dispatch => (9, "dispatch", "派遣労働者として雇用する場合その旨"),
    PassiveSmoking => (10, "passive_smoking_measures", "受動喫煙防止措置"),
}

fn blank(s: &Option<String>) -> bool {
    s.as_deref().is_none_or(|s| s.trim().is_empty())
}

/// J7: every item the posting omits, in the order of §10. Empty means the posting may be provided.
pub fn missing_items(p: &PostingTerms) -> Vec<J7Item> {
    use J7Item::*;
    let mut m = Vec::new();
    let mut text = |item, v: &Option<String>| {
        if blank(v) {
            m.push(item);
        }
    };
    text(WorkContent, &p.work_content);
    text(WorkContentChangeScope, &p.work_content_change_scope);
    text(ContractPeriod, &p.contract_period);
    let mut m2 = Vec::new();
    if p.fixed_term.is_none() && !m.contains(&ContractPeriod) {
        m2.push(ContractPeriod);
    }
    if p.fixed_term == Some(true) {
        match p.renewable {
            None => m2.push(Renewal),
            Some(true) if blank(&p.renewal_cap) => m2.push(RenewalCap),
            _ => {}
        }
    }
    m.extend(m2);
    let mut text = |item, v: &Option<String>| {
        if blank(v) {
            m.push(item);
        }
    };
    text(TrialPeriod, &p.trial_period);
    text(Workplace, &p.workplace);
    text(WorkplaceChangeScope, &p.workplace_change_scope);
    text(HoursStart, &p.hours_start);
    text(HoursEnd, &p.hours_end);
    text(Overtime, &p.overtime);
    text(Breaks, &p.breaks);
    text(DaysOff, &p.days_off);
    text(Wages, &p.wages);
    match p.fixed_overtime_pay {
        None => m.push(FixedOvertimePay),
        Some(true) if blank(&p.fixed_overtime_details) => m.push(FixedOvertimeDetails),
        _ => {}
    }
    for (item, v) in [
        (HealthInsurance, p.health_insurance),
        (PensionInsurance, p.pension_insurance),
        (WorkersAccidentInsurance, p.workers_accident_insurance),
        (EmploymentInsurance, p.employment_insurance),
    ] {
        if v.is_none() {
            m.push(item);
        }
    }
    if blank(&p.employer_name) {
        m.push(EmployerName);
    }
    if p.dispatch.is_none() {
        m.push(Dispatch);
    }
    if blank(&p.passive_smoking_measures) {
        m.push(PassiveSmoking);
    }
    m
}
