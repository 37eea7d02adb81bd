//! The rule catalogue: every rule with its meaning in plain words and the passage of the seed
//! (the original Japanese terms) it comes from. The text is `docs/RULES.md`, compiled in and
//! read once, so the document people read and the one the gateway serves (`GET /v1/rules`) are
//! the same file.
//!
//! The file's shape: `## §N section` headings group rules; each rule is `### ID — title`, then
//! paragraphs of meaning, `> ` lines quoting the seed and one `Seed: ` line saying where.

use std::sync::OnceLock;

use serde::Serialize;

use crate::RuleId;

/// `docs/RULES.md`, as built into the binary.
pub const TEXT: &str = include_str!("../../../docs/RULES.md");

/// One rule as the catalogue describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub id: RuleId,
    /// The section it belongs to (`§1 Eligibility`).
    pub section: String,
    /// One line (the same as [`RuleId::title`]).
    pub title: String,
    /// What the rule means for the people who use HWX, in plain words (paragraphs apart by a
    /// blank line).
    pub meaning: String,
    /// The seed's own words (Japanese).
    pub seed: String,
    /// Where in the seed.
    pub seed_ref: String,
}

/// What is wrong with the catalogue text (a test keeps `docs/RULES.md` free of these).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogueError {
    #[error("docs/RULES.md line {line}: {problem}")]
    Line { line: usize, problem: String },
    #[error("docs/RULES.md does not describe {0}")]
    Missing(RuleId),
    #[error("docs/RULES.md lists {found} where rule.rs has {expected} (same order expected)")]
    Order { expected: RuleId, found: RuleId },
}

/// Parse a catalogue text: every rule of [`RuleId::ALL`] exactly once, in that order, each with
/// a title equal to its [`RuleId::title`], a meaning, a seed quote and a seed reference.
pub fn parse(text: &str) -> Result<Vec<Entry>, CatalogueError> {
    let mut entries: Vec<Entry> = Vec::new();
    let mut section = String::new();
    let mut meaning: Vec<String> = Vec::new();
    let mut seed: Vec<String> = Vec::new();
    // Whether the last entry still takes lines (a section heading closes it).
    let mut open = false;
    let finish = |entries: &mut Vec<Entry>,
                  meaning: &mut Vec<String>,
                  seed: &mut Vec<String>,
                  open: &mut bool,
                  line: usize|
     -> Result<(), CatalogueError> {
        if let Some(last) = entries.last_mut().filter(|_| *open) {
            *open = false;
            last.meaning = join_paragraphs(meaning);
            last.seed = seed.join("\n");
            let fail = |problem: &str| CatalogueError::Line {
                line,
                problem: format!("{} {problem}", last.id),
            };
            if last.meaning.is_empty() {
                return Err(fail("has no meaning paragraph"));
            }
            if last.seed.is_empty() {
                return Err(fail("quotes no seed passage (`> ` lines)"));
            }
            if last.seed_ref.is_empty() {
                return Err(fail("has no `Seed: ` line"));
            }
        }
        meaning.clear();
        seed.clear();
        Ok(())
    };
    for (n, raw) in text.lines().enumerate() {
        let line = n + 1;
        if let Some(rest) = raw.strip_prefix("### ") {
            finish(&mut entries, &mut meaning, &mut seed, &mut open, line)?;
            let (id, title) = rest.split_once(" — ").ok_or_else(|| CatalogueError::Line {
                line,
                problem: "a rule heading is `### ID — title`".into(),
            })?;
            let id: RuleId = id.trim().parse().map_err(|e| CatalogueError::Line {
                line,
                problem: format!("{e}"),
            })?;
            if title.trim() != id.title() {
                return Err(CatalogueError::Line {
                    line,
                    problem: format!("{id}'s title is {:?} in rule.rs", id.title()),
                });
            }
            let expected = RuleId::ALL.get(entries.len()).copied();
            if expected != Some(id) {
                return Err(match expected {
                    Some(expected) => CatalogueError::Order {
                        expected,
                        found: id,
                    },
                    None => CatalogueError::Line {
                        line,
                        problem: format!("{id} is described twice"),
                    },
                });
            }
            entries.push(Entry {
                id,
                section: section.clone(),
                title: title.trim().to_owned(),
                meaning: String::new(),
                seed: String::new(),
                seed_ref: String::new(),
            });
            open = true;
        } else if let Some(rest) = raw.strip_prefix("## ") {
            finish(&mut entries, &mut meaning, &mut seed, &mut open, line)?;
            section = rest.trim().to_owned();
        } else if !open {
            // The introduction, or a section's own text: not part of any rule.
        } else if let Some(quote) = raw.strip_prefix('>') {
            seed.push(quote.trim().to_owned());
        } else if let Some(at) = raw.strip_prefix("Seed: ") {
            if let Some(last) = entries.last_mut() {
                last.seed_ref = at.trim().to_owned();
            }
        } else {
            meaning.push(raw.trim().to_owned());
        }
    }
    finish(
        &mut entries,
        &mut meaning,
        &mut seed,
        &mut open,
        text.lines().count(),
    )?;
    if let Some(missing) = RuleId::ALL.get(entries.len()) {
        return Err(CatalogueError::Missing(*missing));
    }
    Ok(entries)
}

/// Lines into paragraphs: lines of one paragraph joined by a space, paragraphs by a blank line.
fn join_paragraphs(lines: &[String]) -> String {
    let mut paragraphs: Vec<String> = Vec::new();
    let mut current = String::new();
    for line in lines {
        if line.is_empty() {
            if !current.is_empty() {
                paragraphs.push(std::mem::take(&mut current));
            }
        } else {
            if !current.is_empty() {
                current.push(' ');
            }
            current.push_str(line);
        }
    }
    if !current.is_empty() {
        paragraphs.push(current);
    }
    paragraphs.join("\n\n")
}

/// The catalogue built into this binary, parsed once. Empty only if `docs/RULES.md` is broken,
/// which a test of this crate refuses.
pub fn entries() -> &'static [Entry] {
    static ENTRIES: OnceLock<Vec<Entry>> = OnceLock::new();
    ENTRIES.get_or_init(|| parse(TEXT).unwrap_or_default())
}

/// One rule's entry.
pub fn entry(id: RuleId) -> Option<&'static Entry> {
    entries().iter().find(|e| e.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_catalogue_describes_every_rule_in_order() {
        let entries = parse(TEXT).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(entries.len(), RuleId::ALL.len());
        let e3 = entry(RuleId::E3).expect("E3");
        assert!(e3.section.starts_with("§1"), "{}", e3.section);
        assert!(
            e3.seed
                .chars()
                .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
            "the seed is quoted in Japanese: {}",
            e3.seed
        );
    }

    #[test]
    fn a_broken_catalogue_names_what_is_wrong() {
        let one = "# x\n\n## §1 Eligibility\n\n### E1 — S-JOB is open to K1–K4; junior high and high schools excluded\n\nMeaning.\n\n> 原文\n\nSeed: 第1条\n";
        assert_eq!(parse(one), Err(CatalogueError::Missing(RuleId::E2)));
        let wrong_order = one.replace("### E1 — S-JOB is open to K1–K4; junior high and high schools excluded", "### E2 — no new admission under a suspension order or an unconfirmed improvement order");
        assert_eq!(
            parse(&wrong_order),
            Err(CatalogueError::Order {
                expected: RuleId::E1,
                found: RuleId::E2
            })
        );
        let no_seed = one.replace("> 原文\n", "");
        assert!(
            matches!(parse(&no_seed), Err(CatalogueError::Line { problem, .. }) if problem.contains("seed passage"))
        );
        let bad_title = one.replace("junior high and high", "high");
        assert!(
            matches!(parse(&bad_title), Err(CatalogueError::Line { problem, .. }) if problem.contains("title"))
        );
    }
}
