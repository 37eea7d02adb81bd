use hwx_rules::RuleId;
use hwx_rules::message::{self, ContactKind, MessagePolicy, Sender};

fn kinds(text: &str) -> Vec<ContactKind> {
    let mut k: Vec<_> = message::find_contacts(text)
        .into_iter()
        .map(|c| c.kind)
        .collect();
    k.sort();
    k.dedup();
    k
}

#[test]
fn sk9_phone_numbers_in_every_common_form() {
    let phones = [
        "03-1234-5678",
        "電話は03-1234-5678です",
        "(03)1234-5678",
        "03(1234)5678",
        "0312345678",
        "090-1234-5678",
        "09012345678",
        "090 1234 5678",
        "080.1234.5678",
        "+81-3-1234-5678",
        "+81 90 1234 5678",
        "+81(0)3-1234-5678",
        "0120-123-456",
        "0120-12-3456",
        "0800-123-4567",
        "050-1234-5678",
        "０３－１２３４－５６７８",
        "０９０ー１２３４ー５６７８",
        "090‐1234‐5678",
        "090―1234―5678",
        "090−1234−5678",
        "090–1234–5678",
        "０９０１２３４５６７８",
        "（０３）１２３４－５６７８",
        "〇九〇一二三四五六七八",
        "tel:0312345678",
        "TEL０３ー１２３４ー５６７８まで",
        "平日10:00 090-1234-5678までお電話ください", // right after a time
        "受付 9:00-17:00 03-1234-5678",
        "12/01 03-1234-5678",
        "ID:00123 0312345678",
        "090 - 1234 - 5678",
    ];
    for p in phones {
        assert_eq!(kinds(p), vec![ContactKind::Phone], "SK9 phone {p:?}");
    }
    // Canonical form for comparing with registered contacts.
    assert_eq!(
        message::find_contacts("+81 3-1234-5678")[0].canonical,
        "0312345678"
    );
}

#[test]
fn sk9_numbers_that_are_not_phones() {
    for text in [
        "月給250,000円～300,000円",
        "2026-11-28に面談",
        "勤務時間 9:00-18:00",
        "年間休日120日",
        "従業員数 1234名",
        "第一希望は三月です",
        "時給1,200円",
        "12345678901234",
        "時給950-1200円",
        "日給800-1200円",
        "勤務時間900-1800",
        "従業員数 100-5000名",
    ] {
        assert_eq!(kinds(text), vec![], "SK9 false positive {text:?}");
    }
}

#[test]
fn sk9_email_addresses_and_obfuscations() {
    for text in [
        "taro@example.com",
        "連絡は taro.yamada+job@example.co.jp まで",
        "ｔａｒｏ＠ｅｘａｍｐｌｅ．ｃｏｍ",
        "taro＠example.com",
        "taro [at] example [dot] com",
        "taro(at)example.com",
        "taro at example dot com",
        "taro アットマーク example.com",
        "taroあっとexample.com",
        "TARO@EXAMPLE.COM",
    ] {
        assert_eq!(kinds(text), vec![ContactKind::Email], "SK9 email {text:?}");
    }
    assert_eq!(
        message::find_contacts("Taro [at] Example [dot] com")[0].canonical,
        "taro@example.com"
    );
    for text in [
        "meet at the station",
        "I am at home.",
        "@mention",
        "free at 3.30",
        "meet at 10.30",
    ] {
        assert_eq!(kinds(text), vec![], "SK9 not an email {text:?}");
    }
}

#[test]
fn sk9_postal_codes_with_or_without_the_mark() {
    for text in [
        "〒100-8916",
        "〒1008916",
        "〒 100-8916",
        "郵便番号：100-8916",
        "100-8916 東京都千代田区霞が関",
        "〒１００－８９１６",
        "住所は160-0023新宿区西新宿です",
    ] {
        assert!(
            kinds(text).contains(&ContactKind::PostalCode),
            "SK9 postal {text:?}"
        );
    }
    assert_eq!(
        kinds("1008916"),
        vec![],
        "a bare 7-digit number is not taken for a postal code"
    );
    assert_eq!(
        kinds("100-8916"),
        vec![],
        "nor a bare NNN-NNNN with no address after it"
    );
}

#[test]
fn sk9_street_addresses() {
    for text in [
        "東京都千代田区霞が関1-2-2",
        "千代田区霞が関一丁目2番2号",
        "大阪市北区梅田1丁目",
        "横浜市中区本町2-22",
        "札幌市中央区北1条西2丁目",
        "那覇市おもろまち2-1-1に住んでいます",
        "123番地",
        "東京都千代田区霞が関１－２－２",
        "名古屋市中村区名駅1丁目1-4",
        "東京都千代田区霞が関1丁目2-2",
        "山田町1番地2",
        "大字中野123番地4",
        "東京都千代田区霞が関 1-2-2",
        "大阪市北区梅田　3-1-3",
        "東京都内にある千代田区霞が関1-2-2", // a refused match does not hide the real one
    ] {
        assert!(
            kinds(text).contains(&ContactKind::Address),
            "SK9 address {text:?}"
        );
    }
    for text in [
        "東京都内で働きたい",
        "大阪市の求人を探しています",
        "1-2年の経験",
        "都合のよい時間帯は10-12時です",
        "ご都合の良い日時を2-3候補お知らせください",
        "県内で2-3名募集しています",
        "市内の店舗で1-2名募集",
        "勤務地：東京都内の各店舗（週3-5日）",
        "道具の準備は8-9時",
        "区間2-3km",
    ] {
        assert_eq!(kinds(text), vec![], "SK9 not an address {text:?}");
    }
}

#[test]
fn sk9_seeker_messages_with_contacts_are_refused() {
    let p = MessagePolicy::default();
    let v = p.check(
        Sender::Seeker,
        "電話は090-1234-5678、メールはtaro@example.comです",
        &[],
    );
    assert!(!v.allowed);
    assert_eq!(v.rules, vec![RuleId::SK9]);
    assert_eq!(v.found, vec![ContactKind::Phone, ContactKind::Email]);
    let ok = p.check(
        Sender::Seeker,
        "面談を希望します。平日の午後が都合がよいです。",
        &[],
    );
    assert!(ok.allowed && ok.rules.is_empty() && ok.found.is_empty());
}

#[test]
fn sk9_org_may_give_only_its_registered_contacts() {
    let p = MessagePolicy::default();
    let registered = vec![
        "03-1234-5678".to_owned(),
        "info@agency.example.jp".to_owned(),
        "東京都千代田区丸の内1-1-1".to_owned(),
    ];
    let ok = p.check(Sender::Org, "お問い合わせは０３（１２３４）５６７８ または INFO@agency.example.jp へ。所在地: 千代田区丸の内1-1-1", &registered);
    assert!(ok.allowed, "{ok:?}");
    let bad = p.check(
        Sender::Org,
        "担当の携帯 090-9999-8888 へどうぞ",
        &registered,
    );
    assert_eq!(
        (bad.allowed, bad.rules.clone(), bad.found.clone()),
        (false, vec![RuleId::SK9], vec![ContactKind::Phone])
    );
}

#[test]
fn v3_promotion_terms_are_flagged_not_refused() {
    let p = MessagePolicy::default();
    let v = p.check(
        Sender::Org,
        "来週の合同説明会にぜひご参加ください。リクルートスーツ割引もあります",
        &[],
    );
    assert!(v.allowed);
    assert_eq!(v.flags, vec![RuleId::V3]);
    assert!(
        v.promotion.contains(&"説明会".to_owned())
            && v.promotion.contains(&"リクルートスーツ".to_owned()),
        "{v:?}"
    );
    assert!(
        p.check(Sender::Org, "ご希望の職種を教えてください", &[])
            .flags
            .is_empty()
    );
    assert!(
        p.check(Sender::Org, "法人セールス職の求人です", &[])
            .flags
            .is_empty(),
        "セールス is a job, not a sale"
    );
}
#[test]
fn v3_promotion_terms_are_configurable() {
    let p = MessagePolicy::with_promotion_terms(["ｷｬﾝﾍﾟｰﾝ", "WEBINAR"]);
    assert_eq!(
        p.check(Sender::Org, "Join our webinar!", &[]).flags,
        vec![RuleId::V3]
    );
    assert!(
        p.check(Sender::Org, "合同説明会のお知らせ", &[])
            .flags
            .is_empty()
    );
}
