//! Case and accent folding with a map back to the original byte offsets.
//!
//! Folding changes byte lengths ("ß" -> "ss", "é" (2 bytes) -> "e"), so every
//! folded byte remembers the original char it came from.

/// Fold one char into `out`: lowercase, strip Latin diacritics, expand ligatures.
pub fn fold_char_into(c: char, out: &mut String) {
    if c.is_ascii() {
        out.push(c.to_ascii_lowercase());
        return;
    }
    let folded: &str = match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å'
        | 'Ā' | 'Ă' | 'Ą' | 'ª' => "a",
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' | 'Ç' | 'Ć' | 'Ĉ' | 'Ċ' | 'Č' => "c",
        'ď' | 'đ' | 'Ď' | 'Đ' | 'ð' | 'Ð' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' | 'È' | 'É' | 'Ê' | 'Ë' | 'Ē' | 'Ĕ'
        | 'Ė' | 'Ę' | 'Ě' => "e",
        'ĝ' | 'ğ' | 'ġ' | 'ģ' | 'Ĝ' | 'Ğ' | 'Ġ' | 'Ģ' => "g",
        'ĥ' | 'ħ' | 'Ĥ' | 'Ħ' => "h",
        'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' | 'Ì' | 'Í' | 'Î' | 'Ï' | 'Ĩ' | 'Ī'
        | 'Ĭ' | 'Į' | 'İ' => "i",
        'ĵ' | 'Ĵ' => "j",
        'ķ' | 'Ķ' => "k",
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' | 'Ĺ' | 'Ļ' | 'Ľ' | 'Ŀ' | 'Ł' => "l",
        'ñ' | 'ń' | 'ņ' | 'ň' | 'Ñ' | 'Ń' | 'Ņ' | 'Ň' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ŏ' | 'ő' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø'
        | 'Ō' | 'Ŏ' | 'Ő' | 'º' => "o",
        'ŕ' | 'ŗ' | 'ř' | 'Ŕ' | 'Ŗ' | 'Ř' => "r",
        'ś' | 'ŝ' | 'ş' | 'š' | 'ș' | 'Ś' | 'Ŝ' | 'Ş' | 'Š' | 'Ș' => "s",
        'ţ' | 'ť' | 'ŧ' | 'ț' | 'Ţ' | 'Ť' | 'Ŧ' | 'Ț' => "t",
        'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' | 'Ù' | 'Ú' | 'Û' | 'Ü' | 'Ũ'
        | 'Ū' | 'Ŭ' | 'Ů' | 'Ű' | 'Ų' => "u",
        'ŵ' | 'Ŵ' => "w",
        'ý' | 'ÿ' | 'ŷ' | 'Ý' | 'Ÿ' | 'Ŷ' => "y",
        'ź' | 'ż' | 'ž' | 'Ź' | 'Ż' | 'Ž' => "z",
        'ß' | 'ẞ' => "ss",
        'æ' | 'Æ' => "ae",
        'œ' | 'Œ' => "oe",
        'þ' | 'Þ' => "th",
        '\u{2018}' | '\u{2019}' | '\u{02BC}' | '´' | '`' => "'",
        '\u{00A0}' | '\u{2007}' | '\u{202F}' => " ",
        '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2014}' => "-",
        // Combining diacritical marks (decomposed input) vanish.
        '\u{0300}'..='\u{036F}' => "",
        _ => {
            for l in c.to_lowercase() {
                out.push(l);
            }
            return;
        }
    };
    out.push_str(folded);
}

/// Fold a whole string (no offset map); used for dictionary keys.
pub fn fold_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        fold_char_into(c, &mut out);
    }
    out
}

/// A folded copy of a text plus, for every folded byte, the original char span.
pub struct Folded {
    pub text: String,
    /// (original start, original end) of the char each folded byte came from.
    pub origin: Vec<(usize, usize)>,
}

impl Folded {
    pub fn new(s: &str) -> Folded {
        let mut text = String::with_capacity(s.len() + 8);
        let mut origin = Vec::with_capacity(s.len() + 8);
        for (i, c) in s.char_indices() {
            let before = text.len();
            fold_char_into(c, &mut text);
            let span = (i, i + c.len_utf8());
            for _ in before..text.len() {
                origin.push(span);
            }
        }
        Folded { text, origin }
    }

    /// Map a folded byte range back to an original byte range (char aligned).
    pub fn to_original(&self, start: usize, end: usize) -> Option<(usize, usize)> {
        if start >= end || end > self.origin.len() {
            return None;
        }
        Some((self.origin[start].0, self.origin[end - 1].1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_accents_and_case() {
        assert_eq!(fold_str("Müller"), "muller");
        assert_eq!(fold_str("Straße"), "strasse");
        assert_eq!(fold_str("PITIÉ-SALPÊTRIÈRE"), "pitie-salpetriere");
        assert_eq!(fold_str("Nicolò"), "nicolo");
        assert_eq!(fold_str("Cœur"), "coeur");
        assert_eq!(fold_str("e\u{0301}te"), "ete");
    }

    #[test]
    fn maps_back_to_original_offsets() {
        let s = "Herr Weiß, née";
        let f = Folded::new(s);
        let pos = f.text.find("weiss").unwrap();
        let (a, b) = f.to_original(pos, pos + 5).unwrap();
        assert_eq!(&s[a..b], "Weiß");
        let pos = f.text.find("nee").unwrap();
        let (a, b) = f.to_original(pos, pos + 3).unwrap();
        assert_eq!(&s[a..b], "née");
    }

    #[test]
    fn empty_and_bad_ranges() {
        let f = Folded::new("");
        assert!(f.text.is_empty());
        assert_eq!(f.to_original(0, 1), None);
    }
}
