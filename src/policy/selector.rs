//! Element selectors used by overrides and harvest rules:
//! `(0008,1010)`, `00081010`, `StationName` (match at any depth), or a path from the root
//! `RequestAttributesSequence[*].RequestedProcedureDescription` / `(0040,0275)[0].(0032,1060)`.

use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
use dicom_core::Tag;
use dicom_dictionary_std::StandardDataDictionary;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemSpec {
    Any,
    Index(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    /// Enclosing sequences with the item(s) they select, outermost first.
    pub sequences: Vec<(u32, ItemSpec)>,
    pub tag: u32,
}

/// Where an element sits: the enclosing (sequence tag, item index) pairs, outermost first.
pub type ItemPath = [(u32, usize)];

impl Selector {
    pub fn parse(s: &str) -> Result<Selector, String> {
        let s = s.trim();
        if s.is_empty() {
            return Err("empty selector".into());
        }
        let parts: Vec<&str> = split_path(s);
        let mut sequences = Vec::new();
        for part in &parts[..parts.len() - 1] {
            let (name, item) = match part.find('[') {
                Some(i) if part.ends_with(']') => {
                    let spec = &part[i + 1..part.len() - 1];
                    let item = if spec == "*" {
                        ItemSpec::Any
                    } else {
                        ItemSpec::Index(spec.parse().map_err(|_| format!("bad item index '{spec}' in '{s}'"))?)
                    };
                    (&part[..i], item)
                }
                _ => (*part, ItemSpec::Any),
            };
            sequences.push((parse_tag(name).map_err(|e| format!("{e} in '{s}'"))?, item));
        }
        let last = parts[parts.len() - 1];
        if last.contains('[') {
            return Err(format!("the last part of '{s}' must be an element, not an item"));
        }
        Ok(Selector { sequences, tag: parse_tag(last).map_err(|e| format!("{e} in '{s}'"))? })
    }

    /// A single-element selector matches that tag at any depth; a path matches from the root.
    pub fn matches(&self, path: &ItemPath, tag: u32) -> bool {
        if tag != self.tag {
            return false;
        }
        if self.sequences.is_empty() {
            return true;
        }
        self.sequences.len() == path.len()
            && self.sequences.iter().zip(path).all(|((st, spec), (pt, idx))| {
                st == pt && (*spec == ItemSpec::Any || *spec == ItemSpec::Index(*idx))
            })
    }
}

/// Split on dots that are outside parentheses (tags contain commas, keywords never dots).
fn split_path(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            '.' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

/// "(gggg,eeee)", "gggg,eeee", "ggggeeee" or a dictionary keyword.
pub fn parse_tag(s: &str) -> Result<u32, String> {
    let t = s.trim();
    let hex: String = t.chars().filter(|c| !matches!(c, '(' | ')' | ',' | ' ')).collect();
    if hex.len() == 8 && hex.chars().all(|c| c.is_ascii_hexdigit()) && (t.starts_with('(') || t.contains(',') || t.chars().all(|c| c.is_ascii_hexdigit())) {
        return u32::from_str_radix(&hex, 16).map_err(|e| e.to_string());
    }
    match StandardDataDictionary.by_name(t) {
        Some(e) => {
            let tag: Tag = e.tag_range().inner();
            Ok(((tag.group() as u32) << 16) | tag.element() as u32)
        }
        None => Err(format!("unknown tag or keyword '{t}'")),
    }
}

/// Human-readable path for reports: keywords where the dictionary has them.
pub fn display_path(path: &ItemPath, tag: u32) -> String {
    let mut out = String::new();
    for (seq, idx) in path {
        out.push_str(&tag_name(*seq));
        out.push_str(&format!("[{idx}]."));
    }
    out.push_str(&tag_name(tag));
    out
}

pub fn tag_name(tag: u32) -> String {
    keyword(tag).map(str::to_string).unwrap_or_else(|| format_tag(tag))
}

pub fn keyword(tag: u32) -> Option<&'static str> {
    if (tag >> 16) % 2 == 1 {
        return None;
    }
    StandardDataDictionary
        .by_tag(Tag((tag >> 16) as u16, tag as u16))
        .map(|e| e.alias)
        .filter(|a| !a.is_empty())
}

pub fn format_tag(tag: u32) -> String {
    format!("({:04X},{:04X})", tag >> 16, tag & 0xFFFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tags_keywords_and_paths() {
        assert_eq!(parse_tag("(0008,1010)").unwrap(), 0x0008_1010);
        assert_eq!(parse_tag("00081010").unwrap(), 0x0008_1010);
        assert_eq!(parse_tag("StationName").unwrap(), 0x0008_1010);
        assert!(parse_tag("NoSuchKeyword").is_err());
        let s = Selector::parse("RequestAttributesSequence[*].RequestedProcedureDescription").unwrap();
        assert_eq!(s.sequences, vec![(0x0040_0275, ItemSpec::Any)]);
        assert_eq!(s.tag, 0x0032_1060);
        let s2 = Selector::parse("(0040,0275)[1].(0032,1060)").unwrap();
        assert!(s2.matches(&[(0x0040_0275, 1)], 0x0032_1060));
        assert!(!s2.matches(&[(0x0040_0275, 0)], 0x0032_1060));
        assert!(s.matches(&[(0x0040_0275, 3)], 0x0032_1060));
        assert!(!s.matches(&[], 0x0032_1060), "a path only matches at its depth");
        assert!(Selector::parse("StationName[0]").is_err());
    }

    #[test]
    fn single_tag_matches_at_any_depth() {
        let s = Selector::parse("StationName").unwrap();
        assert!(s.matches(&[], 0x0008_1010));
        assert!(s.matches(&[(0x0040_0275, 0), (0x0008_1140, 2)], 0x0008_1010));
    }

    #[test]
    fn displays_paths() {
        assert_eq!(
            display_path(&[(0x0040_0275, 0)], 0x0032_1060),
            "RequestAttributesSequence[0].RequestedProcedureDescription"
        );
        assert_eq!(display_path(&[], 0x0009_1010), "(0009,1010)");
    }
}
