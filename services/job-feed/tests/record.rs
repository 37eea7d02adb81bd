//! The canonical form, the served formats and their verification, without a database.

#![allow(clippy::unwrap_used)]

use hwx_job_feed::generate;
use hwx_job_feed::record::{self, Intake, PostingRecord, Served};
use hwx_job_feed::signing::{self, Signer, VerifyError};
use proptest::prelude::*;

fn served(i: u64, signer: &Signer) -> Served {
    let Intake::Live(r) = record::intake(&generate::posting(0, i, 0)).unwrap() else {
        panic!("live")
    };
    let content = r.canonical();
    let hash = record::hash_hex(content.as_bytes());
    Served {
        version: 3,
        signature: signer.sign(&r.posting_number, 3, &hash),
        content,
        content_hash: hash,
        key_id: signer.key_id().into(),
        updated_at: chrono::Utc::now(),
        addition: i
            .is_multiple_of(2)
            .then(|| "面接対策あり, \"無料\"\n2行目".to_owned()),
    }
}

#[test]
fn j5_the_canonical_form_is_stable_and_survives_a_round_trip_through_json() {
    let Intake::Live(r) = record::intake(&generate::posting(0, 42, 0)).unwrap() else {
        panic!()
    };
    let c = r.canonical();
    let back: PostingRecord = serde_json::from_str(&c).unwrap();
    assert_eq!(back.canonical(), c);
    // Pretty-printed, the same content still has the same hash.
    let pretty = serde_json::to_string_pretty(&back).unwrap();
    let again: PostingRecord = serde_json::from_str(&pretty).unwrap();
    assert_eq!(again.hash(), r.hash());
    // From the gRPC message and back.
    assert_eq!(PostingRecord::from_stored(&r.to_proto()), *r);
}

#[test]
fn j5_csv_and_ndjson_rows_verify_and_a_changed_character_does_not() {
    let signer = Signer::from_seed([7; 32]);
    let key = signing::parse_public_key(&hex::encode(signer.public_key())).unwrap();
    let mut csv = record::CsvWriter::new();
    for i in 0..20 {
        csv.row(&served(i, &signer)).unwrap();
    }
    let csv = csv.take();
    let rows = record::parse_csv(&csv).unwrap();
    assert_eq!(rows.len(), 21);
    for row in &rows[1..] {
        let rec = record::served_from_csv(&rows[0], row).unwrap();
        signing::verify(
            &rec.content,
            rec.version,
            &rec.content_hash,
            &rec.signature,
            &rec.key_id,
            Some(&key),
        )
        .unwrap();
        // J8 stays apart and labelled.
        if let Some(a) = &rec.organisation_addition {
            assert!(a.text.contains("2行目") && a.label.contains("利用団体"));
        }
    }
    // Shift_JIS and back is the same text for these postings.
    assert_eq!(record::decode_text(&record::to_shift_jis(&csv)), csv);

    let mut json = Vec::new();
    served(1, &signer).write_json(&mut json).unwrap();
    let rec: record::ServedJson = serde_json::from_slice(&json).unwrap();
    let check = |rec: &record::ServedJson| {
        signing::verify(
            &rec.content,
            rec.version,
            &rec.content_hash,
            &rec.signature,
            &rec.key_id,
            Some(&key),
        )
    };
    check(&rec).unwrap();
    let mut tampered = rec.clone();
    tampered.content.wage_min_yen += 1;
    assert_eq!(check(&tampered), Err(VerifyError::Hash));
    let mut other_version = rec.clone();
    other_version.version = 4;
    assert_eq!(check(&other_version), Err(VerifyError::Signature));
    let stranger =
        signing::parse_public_key(&hex::encode(Signer::from_seed([8; 32]).public_key())).unwrap();
    assert!(matches!(
        signing::verify(
            &rec.content,
            rec.version,
            &rec.content_hash,
            &rec.signature,
            &rec.key_id,
            Some(&stranger)
        ),
        Err(VerifyError::OtherKey(_))
    ));
}

#[test]
fn j7_a_yes_no_item_not_stated_differs_from_no() {
    let mut p = generate::posting(0, 5, 0);
    p.dispatch = Some(false);
    p.employment_insurance = Some(false);
    assert!(matches!(record::intake(&p), Ok(Intake::Live(_))));
    p.dispatch = None;
    let refused = record::intake(&p).unwrap_err();
    assert_eq!(refused.rule, Some(hwx_rules::RuleId::J7));
    assert_eq!(
        refused
            .missing
            .iter()
            .map(|i| i.field())
            .collect::<Vec<_>>(),
        ["dispatch"]
    );
}

#[test]
fn codes_outside_the_reference_tables_are_refused() {
    for (field, value) in [
        ("prefecture", "48"),
        ("occupation", "16"),
        ("industry", "U01"),
        ("employment", "アルバイト"),
    ] {
        let mut p = generate::posting(0, 9, 0);
        match field {
            "prefecture" => p.prefecture_code = value.into(),
            "occupation" => p.occupation_code = value.into(),
            "industry" => p.industry_code = value.into(),
            _ => p.employment_type = value.into(),
        }
        let r = record::intake(&p).unwrap_err();
        assert!(r.message.contains(value), "{field}: {}", r.message);
        assert_eq!(r.rule, None);
    }
}

proptest! {
    /// Every generated posting is valid, and its number matches the pattern.
    #[test]
    fn generated_postings_pass_ingest(start in 0u64..1_000_000_000, i in 0u64..1_000_000, revision in 0u32..5) {
        let p = generate::posting(start, i, revision);
        prop_assert!(record::valid_posting_number(&p.posting_number));
        // The receiving office is in the posting's prefecture.
        prop_assert_eq!(&p.posting_number[..2], p.prefecture_code.as_str());
        prop_assert!(matches!(record::intake(&p), Ok(Intake::Live(_))), "{:?}", record::intake(&p));
    }

    /// Different indices give different posting numbers.
    #[test]
    fn generated_numbers_are_unique(a in 0u64..99_999_999, b in 0u64..99_999_999) {
        prop_assume!(a != b);
        prop_assert_ne!(generate::posting_number(0, a), generate::posting_number(0, b));
    }
}
