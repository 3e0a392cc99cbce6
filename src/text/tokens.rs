//! Word tokenizer and capitalisation helpers shared by the context detectors.

use super::lang::key;

/// A word: maximal run of letters/digits, with internal apostrophes or hyphens
/// joining alphanumeric parts ("Sant'Orsola-Malpighi", "O'Brien", "221B").
#[derive(Debug, Clone)]
pub struct Tok {
    pub start: usize,
    pub end: usize,
    /// Folded lowercase form, for dictionary lookups.
    pub key: String,
}

fn is_joiner(c: char) -> bool {
    matches!(c, '\'' | '\u{2019}' | '-' | '\u{2010}' | '\u{2011}')
}

pub fn tokenize(text: &str) -> Vec<Tok> {
    let mut toks = Vec::new();
    let mut start: Option<usize> = None;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c.is_alphanumeric() {
            if start.is_none() {
                start = Some(i);
            }
            continue;
        }
        if let Some(s) = start {
            let next_alnum = chars.peek().map(|&(_, n)| n.is_alphanumeric()).unwrap_or(false);
            if is_joiner(c) && next_alnum {
                continue;
            }
            toks.push(Tok { start: s, end: i, key: key(&text[s..i]) });
            start = None;
        }
    }
    if let Some(s) = start {
        toks.push(Tok { start: s, end: text.len(), key: key(&text[s..]) });
    }
    toks
}

/// Index of the first token starting at or after byte `pos`.
pub fn first_at_or_after(toks: &[Tok], pos: usize) -> usize {
    toks.partition_point(|t| t.start < pos)
}

/// Index of the last token ending at or before byte `pos`.
pub fn last_ending_before(toks: &[Tok], pos: usize) -> Option<usize> {
    let n = toks.partition_point(|t| t.end <= pos);
    n.checked_sub(1)
}

/// True when the bytes between two words are a short run of spaces/tabs.
pub fn is_space_gap(gap: &str) -> bool {
    !gap.is_empty() && gap.len() <= 3 && gap.chars().all(|c| c == ' ' || c == '\t' || c == '\u{00A0}')
}

/// First letter uppercase ("Rossi", "ROSSI", "McDonald"), or an elided
/// particle before a capital ("d'Amico", "dell'Orto").
pub fn is_capitalised(word: &str) -> bool {
    let mut chars = word.chars();
    match chars.next() {
        Some(c) if c.is_uppercase() => !word.chars().any(|c| c.is_ascii_digit()),
        Some(c) if c.is_lowercase() => {
            if let Some(p) = word.find(['\'', '\u{2019}']) {
                let rest = &word[p..];
                let after = rest.chars().nth(1);
                p <= 5 && after.map(|a| a.is_uppercase()).unwrap_or(false)
            } else {
                false
            }
        }
        _ => false,
    }
}

/// Capitalised with at least one lowercase letter ("Giulia", not "GIULIA").
pub fn is_title(word: &str) -> bool {
    is_capitalised(word) && word.chars().any(|c| c.is_lowercase())
}

/// Two or more letters, all uppercase.
pub fn is_all_caps(word: &str) -> bool {
    let letters = word.chars().filter(|c| c.is_alphabetic()).count();
    letters >= 2 && !word.chars().any(|c| c.is_lowercase()) && !word.chars().any(|c| c.is_ascii_digit())
}

pub fn has_digit(word: &str) -> bool {
    word.chars().any(|c| c.is_ascii_digit())
}

/// True when the text carries case information (it has lowercase letters).
pub fn is_mixed_case(text: &str) -> bool {
    text.chars().any(|c| c.is_lowercase())
}

/// Previous / next char around a byte span.
pub fn char_before(text: &str, pos: usize) -> Option<char> {
    text.get(..pos).and_then(|s| s.chars().next_back())
}

pub fn char_after(text: &str, pos: usize) -> Option<char> {
    text.get(pos..).and_then(|s| s.chars().next())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<&str> {
        tokenize(s).iter().map(|t| &s[t.start..t.end]).collect::<Vec<_>>()
    }

    #[test]
    fn tokenizes_joined_words() {
        assert_eq!(words("Policlinico Sant'Orsola-Malpighi, 221B x"), vec!["Policlinico", "Sant'Orsola-Malpighi", "221B", "x"]);
        assert_eq!(words("a - b"), vec!["a", "b"]);
        assert_eq!(words("Müller-Lüdenscheidt"), vec!["Müller-Lüdenscheidt"]);
        assert!(words("").is_empty());
        assert_eq!(words("end'"), vec!["end"]);
    }

    #[test]
    fn capitalisation() {
        assert!(is_capitalised("Rossi") && is_capitalised("ROSSI") && is_capitalised("d'Amico"));
        assert!(!is_capitalised("rossi") && !is_capitalised("T1"));
        assert!(is_title("Élodie") && !is_title("ELODIE"));
        assert!(is_all_caps("CT") && !is_all_caps("A"));
    }
}
