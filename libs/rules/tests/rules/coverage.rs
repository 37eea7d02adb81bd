//! Every decision of RULES.md §1–§9 has at least one test whose name carries its ID.

use hwx_rules::RuleId;

const SOURCES: &[&str] = &[
    include_str!("calendar.rs"),
    include_str!("deadline.rs"),
    include_str!("decisions.rs"),
    include_str!("eligibility.rs"),
    include_str!("maintenance.rs"),
    include_str!("message.rs"),
    include_str!("period.rs"),
    include_str!("posting.rs"),
    include_str!("properties.rs"),
    include_str!("quota.rs"),
    include_str!("retention.rs"),
    include_str!("sanction.rs"),
];

/// Names of test functions: `fn name(` right after a `#[test]` line, or inside `proptest!`.
fn test_names() -> Vec<String> {
    let mut names = Vec::new();
    for src in SOURCES {
        for line in src.lines() {
            let line = line.trim_start();
            if let Some(rest) = line.strip_prefix("fn ")
                && let Some(name) = rest.split('(').next()
            {
                names.push(name.trim().to_owned());
            }
        }
    }
    names
}

#[test]
fn every_decision_rule_id_names_a_test() {
    let names = test_names();
    let tokens: Vec<Vec<&str>> = names.iter().map(|n| n.split('_').collect()).collect();
    let uncovered: Vec<RuleId> = RuleId::ALL
        .iter()
        .copied()
        .filter(|r| r.is_decision())
        .filter(|r| {
            let id = r.as_str().to_lowercase();
            !tokens.iter().any(|t| t.contains(&id.as_str()))
        })
        .collect();
    assert!(
        uncovered.is_empty(),
        "decisions without a test named after them: {uncovered:?}"
    );
}

#[test]
fn rule_ids_round_trip_and_are_unique() {
    for r in RuleId::ALL {
        assert_eq!(r.as_str().parse::<RuleId>().unwrap(), *r);
        assert!(!r.title().is_empty());
    }
    let mut ids: Vec<&str> = RuleId::ALL.iter().map(|r| r.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), RuleId::ALL.len());
    assert!("Z9".parse::<RuleId>().is_err());
}

/// Every ID in `RULES.md` is a [`RuleId`]. The file sits beside the repository (`../shared`) on
/// developer machines and in CI; elsewhere there is nothing to compare, and the test says so.
#[test]
fn rule_ids_match_rules_md() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/RULES.md");
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("{} not found: RuleId list not compared", path.display());
        return;
    };
    let is_id = |s: &str| {
        let letters = s.chars().take_while(|c| c.is_ascii_uppercase()).count();
        letters > 0
            && s[letters..].starts_with(|c: char| c.is_ascii_digit())
            && s.chars().all(|c| c.is_ascii_alphanumeric())
    };
    let mut found = Vec::new();
    for line in text.lines() {
        // `**E3**`, and `**SK7 first guidance**` where a name follows the ID.
        for part in line.split("**").skip(1).step_by(2) {
            let id = part.split_whitespace().next().unwrap_or("");
            if is_id(id) {
                found.push(id.to_owned());
            }
        }
        if let Some(cell) = line.strip_prefix("| ").and_then(|l| l.split(" |").next())
            && is_id(cell)
        {
            found.push(cell.to_owned());
        }
    }
    assert!(found.len() > 60, "parsed only {found:?}");
    for sub in ["a", "b", "c", "d", "e"] {
        found.push(format!("SK6{sub}"));
    }
    let unknown: Vec<_> = found
        .iter()
        .filter(|id| id.parse::<RuleId>().is_err() && id.as_str() != "SK6")
        .collect();
    assert!(
        unknown.is_empty(),
        "IDs in RULES.md that RuleId lacks: {unknown:?}"
    );
    let missing: Vec<_> = RuleId::ALL
        .iter()
        .filter(|r| !found.iter().any(|f| f == r.as_str()))
        .collect();
    assert!(missing.is_empty(), "RuleIds not in RULES.md: {missing:?}");
}
