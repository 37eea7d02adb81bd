//! Content checks on messages between organisations and seekers: identifying contact information
//! (SK9) and one-sided promotion (V3).
//!
//! Text is normalised first (full-width letters and digits, the many hyphen and dash characters,
//! `＠`, kanji digit runs), so `０９０ー１２３４ー５６７８` is caught like `090-1234-5678`.

use std::sync::OnceLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::RuleId;

/// Who writes the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sender {
    Seeker,
    Org,
}

/// A kind of identifying contact information (SK9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactKind {
    Phone,
    Email,
    PostalCode,
    Address,
}

/// One piece of contact information found in a text, in a canonical form for comparison.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Contact {
    pub kind: ContactKind,
    /// Phone: national digits (`0312345678`); email: lower-case `local@domain`; postal code: seven
    /// digits; address: the matched text without spaces.
    pub canonical: String,
}

/// The verdict on one message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MessageVerdict {
    pub allowed: bool,
    /// Rules that refuse the message (SK9).
    pub rules: Vec<RuleId>,
    /// The kinds of contact information that made it refused.
    pub found: Vec<ContactKind>,
    /// Rules flagged for review without refusing the message (V3).
    pub flags: Vec<RuleId>,
    /// The promotion terms found (V3).
    pub promotion: Vec<String>,
}

/// Terms that mark one-sided promotion (V3): fairs, seminars, bare job ads, unrelated goods.
/// Operators replace the list through [`MessagePolicy::with_promotion_terms`].
pub const DEFAULT_PROMOTION_TERMS: &[&str] = &[
    "説明会",
    "面接会",
    "セミナー",
    "就職フェア",
    "転職フェア",
    "合同企業",
    "イベント参加",
    "求人広告",
    "リクルートスーツ",
    "スーツ販売",
    "販売中",
    "セール",
    "割引",
    "キャンペーン",
    "プレゼント",
    "有料講座",
    "資格講座",
    "seminar",
    "job fair",
];

/// Checks messages. Build once and reuse: it holds compiled patterns.
#[derive(Debug, Clone)]
pub struct MessagePolicy {
    promotion_terms: Vec<String>,
}

impl Default for MessagePolicy {
    fn default() -> Self {
        Self::with_promotion_terms(DEFAULT_PROMOTION_TERMS.iter().copied())
    }
}

struct Patterns {
    phone: Regex,
    email: Regex,
    postal: Regex,
    address: Regex,
}

fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| {
        // The patterns are constants; a failure to compile is a bug caught by every test.
        let re = |s: &str| Regex::new(s).unwrap_or_else(|e| panic!("bad built-in pattern: {e}"));
        Patterns {
            // Domestic `0…` or international `+81…` numbers in any grouping with `-`, `.`, spaces
            // or parentheses; the digit count is checked afterwards.
            phone: re(
                r"(?:\+\s?81[\s.-]?(?:\(0\))?[\s.-]?\(?|\(?0)[0-9]{1,4}\)?[\s.-]?\(?[0-9]{1,4}\)?[\s.-]?[0-9]{3,4}",
            ),
            email: re(concat!(
                r"(?i)([a-z0-9][a-z0-9._%+-]*)\s*(?:@|\[at\]|\(at\)|\{at\}|\sat\s|アットマーク|アット|あっと)\s*",
                r"([a-z0-9-]+(?:\s*(?:\.|\[dot\]|\(dot\)|\{dot\}|\sdot\s|ドット|どっと)\s*[a-z0-9-]+)+)"
            )),
            postal: re(r"(?:〒|郵便番号[:\s]*)\s*([0-9]{3})-?([0-9]{4})|([0-9]{3})-([0-9]{4})"),
            address: re(concat!(
                r"[0-9一二三四五六七八九十〇]+丁目|[0-9]+番地|[0-9]+番[0-9]+号|",
                r"(?:都|道|府|県|市|区|町|村|郡)[^\s、。,.!?0-9]{0,10}?[0-9]{1,4}-[0-9]{1,4}(?:-[0-9]{1,4})?"
            )),
        }
    })
}

const KANJI_DIGITS: &str = "〇一二三四五六七八九";

fn kanji_digit(c: char) -> Option<char> {
    KANJI_DIGITS
        .chars()
        .position(|k| k == c)
        .and_then(|i| char::from_digit(i as u32, 10))
}

/// Normalise text for matching: full-width ASCII to ASCII, every dash to `-`, ideographic space to
/// space, and kanji digits to ASCII where two or more stand together (`〇三` but not `第一`).
pub fn normalize(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let neighbour_is = |i: usize, f: fn(char) -> bool| {
        i.checked_sub(1)
            .and_then(|j| chars.get(j))
            .is_some_and(|&p| f(p))
            || chars.get(i + 1).is_some_and(|&n| f(n))
    };
    let mut out = String::with_capacity(text.len());
    for (i, &c) in chars.iter().enumerate() {
        let mapped = match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            '\u{2010}'..='\u{2015}'
            | '\u{2212}'
            | '\u{FE63}'
            | '\u{2043}'
            | '\u{02D7}'
            | '\u{2500}'
            | '\u{2501}'
            | '\u{FE58}' => '-',
            // The long-vowel marks ー and ｰ stand for a hyphen only next to digits: elsewhere they
            // are part of words (メール, アットマーク).
            '\u{30FC}' | '\u{FF70}' if neighbour_is(i, is_digitish) => '-',
            _ => match kanji_digit(c) {
                Some(d) if neighbour_is(i, |n| kanji_digit(n).is_some()) => d,
                _ => c,
            },
        };
        out.push(mapped);
    }
    out
}

fn is_digitish(c: char) -> bool {
    c.is_ascii_digit() || ('\u{FF10}'..='\u{FF19}').contains(&c) || kanji_digit(c).is_some()
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

fn before_is(text: &str, start: usize, f: impl Fn(char) -> bool) -> bool {
    text[..start].chars().next_back().is_some_and(f)
}

fn after_is(text: &str, end: usize, f: impl Fn(char) -> bool) -> bool {
    text[end..].chars().next().is_some_and(f)
}

/// Every piece of identifying contact information in `text` (SK9).
pub fn find_contacts(text: &str) -> Vec<Contact> {
    let n = normalize(text);
    let p = patterns();
    let mut found = Vec::new();
    for m in p.phone.find_iter(&n) {
        let s = m.as_str();
        if before_is(&n, m.start(), |c| c.is_ascii_digit())
            || after_is(&n, m.end(), |c| c.is_ascii_digit())
        {
            continue;
        }
        let d = digits(s);
        let national = if s.trim_start().starts_with('+') {
            // +81 3 … and +81 (0)3 … are both 03 …
            let rest = d.strip_prefix("81").unwrap_or(&d);
            format!("0{}", rest.strip_prefix('0').unwrap_or(rest))
        } else {
            d
        };
        if national.starts_with('0') && (10..=11).contains(&national.len()) {
            found.push(Contact {
                kind: ContactKind::Phone,
                canonical: national,
            });
        }
    }
    for c in p.email.captures_iter(&n) {
        let (Some(local), Some(domain)) = (c.get(1), c.get(2)) else {
            continue;
        };
        let domain: String = domain
            .as_str()
            .to_lowercase()
            .replace("[dot]", ".")
            .replace("(dot)", ".")
            .replace("{dot}", ".")
            .replace(" dot ", ".")
            .replace("ドット", ".")
            .replace("どっと", ".")
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        found.push(Contact {
            kind: ContactKind::Email,
            canonical: format!("{}@{domain}", local.as_str().to_lowercase()),
        });
    }
    for c in p.postal.captures_iter(&n) {
        let Some(m) = c.get(0) else { continue };
        let marked = c.get(1).is_some();
        if !marked
            && (before_is(&n, m.start(), |c| c.is_ascii_digit() || c == '-')
                || after_is(&n, m.end(), |c| c.is_ascii_digit() || c == '-'))
        {
            continue;
        }
        found.push(Contact {
            kind: ContactKind::PostalCode,
            canonical: digits(m.as_str()),
        });
    }
    for m in p.address.find_iter(&n) {
        if after_is(&n, m.end(), |c| c.is_ascii_digit()) {
            continue;
        }
        found.push(Contact {
            kind: ContactKind::Address,
            canonical: m.as_str().chars().filter(|c| !c.is_whitespace()).collect(),
        });
    }
    found
}

impl MessagePolicy {
    /// A policy with its own V3 term list.
    pub fn with_promotion_terms<I, S>(terms: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        MessagePolicy {
            promotion_terms: terms
                .into_iter()
                .map(|t| normalize(t.as_ref()).to_lowercase())
                .filter(|t| !t.is_empty())
                .collect(),
        }
    }

    /// The V3 terms in force.
    pub fn promotion_terms(&self) -> &[String] {
        &self.promotion_terms
    }

    /// Judge a message. A seeker may send no contact information at all; an organisation only the
    /// contact points registered in its mandatory information (`org_contacts`, SK7/SK9).
    pub fn check(&self, from: Sender, text: &str, org_contacts: &[String]) -> MessageVerdict {
        let registered: Vec<String> = org_contacts.iter().map(|c| compact(c)).collect();
        let registered_contacts: Vec<Contact> =
            org_contacts.iter().flat_map(|c| find_contacts(c)).collect();
        let mut found: Vec<ContactKind> = find_contacts(text)
            .into_iter()
            .filter(|c| match from {
                Sender::Seeker => true,
                Sender::Org => !is_registered(c, &registered_contacts, &registered),
            })
            .map(|c| c.kind)
            .collect();
        found.sort();
        found.dedup();

        let lowered = normalize(text).to_lowercase();
        let promotion: Vec<String> = if from == Sender::Org {
            self.promotion_terms
                .iter()
                .filter(|t| lowered.contains(t.as_str()))
                .cloned()
                .collect()
        } else {
            Vec::new()
        };
        MessageVerdict {
            allowed: found.is_empty(),
            rules: if found.is_empty() {
                vec![]
            } else {
                vec![RuleId::SK9]
            },
            found,
            flags: if promotion.is_empty() {
                vec![]
            } else {
                vec![RuleId::V3]
            },
            promotion,
        }
    }
}

fn compact(s: &str) -> String {
    normalize(s)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

fn is_registered(c: &Contact, registered: &[Contact], registered_text: &[String]) -> bool {
    registered
        .iter()
        .any(|r| r.kind == c.kind && r.canonical == c.canonical)
        || (c.kind == ContactKind::Address
            && registered_text.iter().any(|r| r.contains(&c.canonical)))
}
