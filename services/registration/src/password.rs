//! What a new password must be, after NIST SP 800-63B-4 (§3.1.1.2): long enough, not too long to
//! hash, and not one an attacker tries first. No composition rules (no "one digit, one symbol"):
//! length and the block list do the work, and any character, spaces and Japanese included, counts.

use std::collections::HashSet;
use std::sync::OnceLock;

/// Shortest password accepted: 800-63B-4 asks 15 of a password that is the only factor.
pub const MIN_LEN: usize = 15;
/// Longest accepted (800-63B asks at least 64 be allowed); beyond it hashing is wasted work.
pub const MAX_LEN: usize = 256;

/// The shipped list of common and breached passwords.
const LIST: &str = include_str!("../data/common-passwords.txt");

fn blocked() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| {
        LIST.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect()
    })
}

/// Words of this service that make a password easy to guess for anyone attacking it.
const CONTEXT: &[&str] = &["hellowork", "harowaku", "hwx", "ハローワーク"];

/// Why `password` cannot be a new password of the account `email`, or `None` when it can.
/// The reason names the field `field` and says what to do instead.
pub fn problem(field: &str, password: &str, email: &str) -> Option<String> {
    let password = crate::auth::normalise(password);
    let password = password.as_str();
    let len = password.chars().count();
    if len < MIN_LEN {
        return Some(format!(
            "{field}: at least {MIN_LEN} characters (it has {len}); a few words with spaces between them are easy to remember"
        ));
    }
    if len > MAX_LEN {
        return Some(format!("{field}: at most {MAX_LEN} characters"));
    }
    let lower = password.to_lowercase();
    let letters: String = lower.chars().filter(|c| c.is_alphabetic()).collect();
    let list = blocked();
    if list.contains(lower.as_str()) {
        return Some(format!(
            "{field}: this password is on the list of common and breached passwords attackers try first; choose another"
        ));
    }
    // A listed word with digits or symbols around it, when the word is much of the password
    // (two fifths or more: "Password-2026-0401" is refused, "4921 8830 love 7712" is not).
    if letters.chars().count() * 5 >= len * 2 && list.contains(letters.as_str()) {
        return Some(format!(
            "{field}: this password is a common or breached password ({letters:?}) with digits or symbols added, which attackers try first; choose another"
        ));
    }
    if let Some(unit) = [lower.as_str(), letters.as_str()]
        .into_iter()
        .filter_map(repeated_unit)
        .find(|u| u.chars().count() < 4 || list.contains(u))
    {
        return Some(format!(
            "{field}: this password repeats {unit:?}; choose one that does not"
        ));
    }
    if distinct(&lower) < 5 || sequential(&lower) {
        return Some(format!(
            "{field}: this password is a run or a repetition of a few characters; choose another"
        ));
    }
    let local = email.split('@').next().unwrap_or_default().to_lowercase();
    let local_letters: String = local.chars().filter(|c| c.is_alphabetic()).collect();
    if (local.chars().count() >= 4 && lower.contains(&local))
        || (!letters.is_empty() && letters == local_letters)
    {
        return Some(format!(
            "{field}: the password must not contain the account's email address"
        ));
    }
    if CONTEXT.iter().any(|w| letters == *w || lower == *w) {
        return Some(format!(
            "{field}: the password must not be the name of this service"
        ));
    }
    None
}

/// The shortest `u` such that `s` is `u` repeated at least twice.
fn repeated_unit(s: &str) -> Option<&str> {
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    let n = chars.len();
    (1..=n / 2).find_map(|p| {
        (n.is_multiple_of(p) && (p..n).all(|i| chars[i].1 == chars[i - p].1))
            .then(|| &s[..chars[p].0])
    })
}

fn distinct(s: &str) -> usize {
    s.chars().collect::<HashSet<_>>().len()
}

/// `abcdefgh…`, `98765…`, `1234567890123…`: at least 80 % of the steps go one up or one down
/// (digits wrap 9 → 0).
fn sequential(s: &str) -> bool {
    let c: Vec<u32> = s.chars().map(u32::from).collect();
    if c.len() < 2 {
        return false;
    }
    let steps = c.windows(2).filter(|w| {
        let (a, b) = (w[0], w[1]);
        a.abs_diff(b) == 1
            || (a == u32::from('9') && b == u32::from('0'))
            || (a == u32::from('0') && b == u32::from('9'))
    });
    steps.count() * 5 >= (c.len() - 1) * 4
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a test that cannot unwrap has failed, and says where
mod tests {
    use super::*;

    const EMAIL: &str = "yamada.taro@mirai-career.example.jp";

    #[test]
    fn a_long_passphrase_of_any_characters_is_accepted() {
        for ok in [
            "a long enough password",
            "correct horse battery staple",
            "みらいキャリアの合言葉です2026",
            "J7-wf!pZ2q#Lm0xV",
            "4921 8830 love 7712",
        ] {
            assert_eq!(problem("password", ok, EMAIL), None, "{ok}");
        }
        let max: String = (0..MAX_LEN)
            .map(|i| char::from(b'a' + (i * 7 % 26) as u8))
            .collect();
        assert_eq!(problem("password", &max, EMAIL), None);
    }

    #[test]
    fn too_short_or_too_long_is_refused_with_the_bound() {
        let short = problem("new_password", "fourteen chars", EMAIL).unwrap();
        assert!(
            short.starts_with("new_password: at least 15 characters (it has 14)"),
            "{short}"
        );
        let long: String = (0..=MAX_LEN)
            .map(|i| char::from(b'a' + (i * 7 % 26) as u8))
            .collect();
        assert!(
            problem("password", &long, EMAIL)
                .unwrap()
                .contains("at most 256")
        );
    }

    #[test]
    fn breached_and_derived_passwords_are_refused() {
        for bad in [
            "1qaz2wsx3edc4rfv",
            "passwordstandard",
            "Password12345678!",
            "qwertyuiop123456",
            "PasswordPassword",
            "iloveyou iloveyou",
        ] {
            let p = problem("password", bad, EMAIL).unwrap_or_else(|| panic!("{bad} accepted"));
            assert!(p.starts_with("password: "), "{p}");
        }
    }

    #[test]
    fn runs_repetitions_email_and_service_name_are_refused() {
        for bad in [
            "aaaaaaaaaaaaaaaa",
            "abababababababab",
            "123456789012345678",
            "abcdefghijklmnopq",
            "zyxwvutsrqponmlk",
            "yamada.taro-secret-2026",
            "hellowork!!2026!!",
            "あ漢x7あ漢x7あ漢x7あ漢x7",
        ] {
            assert!(problem("password", bad, EMAIL).is_some(), "{bad} accepted");
        }
    }
}
