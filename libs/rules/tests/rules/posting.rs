use hwx_rules::posting::{self, J7Item, PostingTerms};

fn complete() -> PostingTerms {
    let s = |v: &str| Some(v.to_owned());
    PostingTerms {
        work_content: s("一般事務（データ入力、電話応対）"),
        work_content_change_scope: s("会社の定める業務"),
        contract_period: s("期間の定めあり（2027年3月31日まで）"),
        fixed_term: Some(true),
        renewable: Some(true),
        renewal_cap: s("通算契約期間の上限5年"),
        trial_period: s("なし"),
        workplace: s("東京都千代田区"),
        workplace_change_scope: s("本社及び全営業所"),
        hours_start: s("09:00"),
        hours_end: s("18:00"),
        overtime: s("あり（月平均10時間）"),
        breaks: s("60分"),
        days_off: s("土日祝"),
        wages: s("月給220,000円～260,000円"),
        fixed_overtime_pay: Some(false),
        fixed_overtime_details: None,
        health_insurance: Some(true),
        pension_insurance: Some(true),
        workers_accident_insurance: Some(true),
        employment_insurance: Some(true),
        employer_name: s("株式会社サンプル商事"),
        dispatch: Some(false),
        passive_smoking_measures: s("屋内禁煙"),
    }
}

#[test]
fn j7_complete_posting_has_nothing_missing() {
    assert_eq!(posting::missing_items(&complete()), vec![]);
    let open_ended = PostingTerms {
        fixed_term: Some(false),
        renewable: None,
        renewal_cap: None,
        ..complete()
    };
    assert_eq!(posting::missing_items(&open_ended), vec![]);
}

#[test]
fn j7_every_missing_item_is_named() {
    let empty = PostingTerms::default();
    let missing = posting::missing_items(&empty);
    // Everything but the items that depend on an answer (renewal, fixed overtime details).
    let expected: Vec<J7Item> = J7Item::ALL
        .iter()
        .copied()
        .filter(|i| {
            !matches!(
                i,
                J7Item::Renewal | J7Item::RenewalCap | J7Item::FixedOvertimeDetails
            )
        })
        .collect();
    assert_eq!(missing, expected);
    let numbers: std::collections::BTreeSet<u8> = missing.iter().map(|i| i.number()).collect();
    assert_eq!(numbers.len(), 10, "all ten items of §10");
}

#[test]
fn j7_conditional_items() {
    let blank = PostingTerms {
        employer_name: Some("   ".into()),
        ..complete()
    };
    assert_eq!(posting::missing_items(&blank), vec![J7Item::EmployerName]);
    let no_renewal = PostingTerms {
        renewable: None,
        ..complete()
    };
    assert_eq!(posting::missing_items(&no_renewal), vec![J7Item::Renewal]);
    let no_cap = PostingTerms {
        renewal_cap: None,
        ..complete()
    };
    assert_eq!(posting::missing_items(&no_cap), vec![J7Item::RenewalCap]);
    let fixed_ot = PostingTerms {
        fixed_overtime_pay: Some(true),
        ..complete()
    };
    assert_eq!(
        posting::missing_items(&fixed_ot),
        vec![J7Item::FixedOvertimeDetails]
    );
    let unknown_term = PostingTerms {
        fixed_term: None,
        ..complete()
    };
    assert_eq!(
        posting::missing_items(&unknown_term),
        vec![J7Item::ContractPeriod]
    );
    assert_eq!(J7Item::PassiveSmoking.label(), "受動喫煙防止措置");
    assert_eq!(J7Item::PassiveSmoking.field(), "passive_smoking_measures");
}
