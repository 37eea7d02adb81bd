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
    "バーゲン",
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
    postal_marked: Regex,
    postal_bare: Regex,
    /// 丁目, 番地, 番…号: street-level on their own.
    address_strong: Regex,
    /// A prefecture or a municipality, a short place name, then block numbers (霞が関1-2-2).
    address_block: Regex,
    /// What may follow a bare postal code for it to be one: a prefecture or a municipality.
    place_ahead: Regex,
}

/// The 47 prefectures (JIS X 0401 order).
const PREFECTURES: &str = "北海道 青森県 岩手県 宮城県 秋田県 山形県 福島県 茨城県 栃木県 群馬県 埼玉県 千葉県 東京都 神奈川県 新潟県 富山県 石川県 福井県 山梨県 長野県 岐阜県 静岡県 愛知県 三重県 滋賀県 京都府 大阪府 兵庫県 奈良県 和歌山県 鳥取県 島根県 岡山県 広島県 山口県 徳島県 香川県 愛媛県 高知県 福岡県 佐賀県 長崎県 熊本県 大分県 宮崎県 鹿児島県 沖縄県";

/// Characters that, right after 市/区/町/村/郡/都/県, show a word rather than a place name
/// (市内, 都合, 区間, 町会 …).
const NOT_A_PLACE_AFTER: &str = "内外合度民役長立営政議場部間会販境";

/// Units that, right after a number range, show a quantity rather than a block number (2-3名).
const QUANTITY_UNITS: &str = "時日名円人件歳年月分回割倍%週ヶか万千個社店期級";

fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| {
        // The patterns are constants; a failure to compile is a bug caught by every test.
        let re = |s: &str| Regex::new(s).unwrap_or_else(|e| panic!("bad built-in pattern: {e}"));
        // CJK ideographs by code point: `\p{Han}` would need the regex crate's `unicode-script`
        // tables, which a build may or may not have depending on what else it links.
        let place = format!(
            r"(?:{}|[\u{{3400}}-\u{{4DBF}}\u{{4E00}}-\u{{9FFF}}\u{{F900}}-\u{{FAFF}}ヶケ々]{{1,8}}?(?:市|区|町|村|郡))",
            PREFECTURES.replace(' ', "|")
        );
        Patterns {
            // Domestic `0…` or international `+81…` numbers in any grouping with `-`, `.`, spaces
            // or parentheses; the digit count is checked afterwards.
            phone: re(concat!(
                r"(?:\+\s?81\s*[.-]?\s*(?:\(0\))?\s*[.-]?\s*\(?|\(?0)",
                r"[0-9]{1,4}\)?\s*[.-]?\s*\(?[0-9]{1,4}\)?\s*[.-]?\s*[0-9]{3,4}"
            )),
            // The domain ends in a label of letters, so "at 3.30" is no address.
            email: re(concat!(
                r"(?i)([a-z0-9][a-z0-9._%+-]*)\s*(?:@|\[at\]|\(at\)|\{at\}|\sat\s|アットマーク|アット|あっと)\s*",
                r"((?:[a-z0-9-]+\s*(?:\.|\[dot\]|\(dot\)|\{dot\}|\sdot\s|ドット|どっと)\s*)+[a-z]{2,24})"
            )),
            postal_marked: re(r"(?:〒|郵便番号)[:\s]*[0-9]{3}-?[0-9]{4}"),
            postal_bare: re(r"[0-9]{3}-[0-9]{4}"),
            address_strong: re(r"[0-9一二三四五六七八九十〇]+丁目|[0-9]+番地|[0-9]+番[0-9]+号"),
            address_block: re(&format!(
                r"({place})[^、。,.!?()（）:：0-9]{{0,12}}?[0-9]{{1,4}}-[0-9]{{1,4}}(?:-[0-9]{{1,4}})?"
            )),
            place_ahead: re(&format!(r"^\s*{place}")),
        }
    })
}

/// Every match of `re` in `text` that `accept` keeps. A refused match does not hide a later one
/// inside it: the search goes on from its second character.
fn scan<'t>(
    re: &Regex,
    text: &'t str,
    accept: impl Fn(&regex::Match<'t>) -> bool,
) -> Vec<regex::Match<'t>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos <= text.len() {
        let Some(m) = re.find_at(text, pos) else {
            break;
        };
        if accept(&m) {
            pos = m.end().max(m.start() + 1);
            out.push(m);
        } else {
            pos = m.start() + text[m.start()..].chars().next().map_or(1, char::len_utf8);
        }
    }
    out
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
    let digit = |c: char| c.is_ascii_digit();
    let national = |s: &str| {
        let d = digits(s);
        if s.trim_start().starts_with('+') {
            // +81 3 … and +81 (0)3 … are both 03 …
            let rest = d.strip_prefix("81").unwrap_or(&d);
            format!("0{}", rest.strip_prefix('0').unwrap_or(rest))
        } else {
            d
        }
    };
    let phones = scan(&p.phone, &n, |m| {
        let d = national(m.as_str());
        !before_is(&n, m.start(), digit)
            && !after_is(&n, m.end(), digit)
            && d.starts_with('0')
            && (10..=11).contains(&d.len())
    });
    for m in phones {
        found.push(Contact {
            kind: ContactKind::Phone,
            canonical: national(m.as_str()),
        });
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
    let mut postal: Vec<regex::Match> =
        scan(&p.postal_marked, &n, |m| !after_is(&n, m.end(), digit));
    // A bare 100-8916 is a postal code only where an address follows it: wage and headcount ranges
    // (950-1200円) have the same shape.
    postal.extend(scan(&p.postal_bare, &n, |m| {
        !before_is(&n, m.start(), |c| digit(c) || c == '-')
            && !after_is(&n, m.end(), |c| digit(c) || c == '-')
            && p.place_ahead.is_match(&n[m.end()..])
    }));
    for m in postal {
        found.push(Contact {
            kind: ContactKind::PostalCode,
            canonical: digits(m.as_str()),
        });
    }
    let mut addresses = scan(&p.address_strong, &n, |_| true);
    addresses.extend(scan(&p.address_block, &n, |m| {
        let place_end = p
            .address_block
            .captures(m.as_str())
            .and_then(|c| c.get(1))
            .map_or(0, |g| g.end());
        let word_after_place = m.as_str()[place_end..]
            .chars()
            .next()
            .is_some_and(|c| NOT_A_PLACE_AFTER.contains(c));
        !word_after_place && !after_is(&n, m.end(), |c| digit(c) || QUANTITY_UNITS.contains(c))
    }));
    for m in addresses {
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
