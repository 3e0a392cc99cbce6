//! Language data (shipped JSON files) and the merged word lexicon used by the
//! context detectors. Everything is folded (lowercase, no accents) once at build time.

use super::fold::fold_str;
use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

pub const SHIPPED: [&str; 5] = ["en", "it", "de", "fr", "es"];

#[derive(Debug, Deserialize, Default, Clone)]
#[serde(default)]
pub struct LangData {
    pub code: String,
    /// 12 entries, each [full name, abbreviations...]; the first form is the full name.
    pub months: Vec<Vec<String>>,
    pub ordinal_suffixes: Vec<String>,
    pub honorifics: Vec<String>,
    pub name_prefixes: Vec<String>,
    pub name_prefixes_colon: Vec<String>,
    pub institution_strong: Vec<String>,
    pub institution_weak: Vec<String>,
    pub institution_stems: Vec<String>,
    pub street_before: Vec<String>,
    pub street_after: Vec<String>,
    pub street_suffixes: Vec<String>,
    pub phone_keywords: Vec<String>,
    pub id_keywords: Vec<String>,
    pub connectors: Vec<String>,
    pub name_particles: Vec<String>,
    pub time_before: Vec<String>,
    pub time_after: Vec<String>,
    pub stop_words: Vec<String>,
}

fn parse(code: &str, json: &str) -> LangData {
    // The shipped files are tested below; a parse failure is a build-time bug.
    let mut d: LangData = serde_json::from_str(json).unwrap_or_default();
    if d.code.is_empty() {
        d.code = code.to_string();
    }
    d
}

/// All shipped languages, parsed once per process.
pub fn all_languages() -> &'static [LangData] {
    static DATA: OnceLock<Vec<LangData>> = OnceLock::new();
    DATA.get_or_init(|| {
        vec![
            parse("en", include_str!("lang/en.json")),
            parse("it", include_str!("lang/it.json")),
            parse("de", include_str!("lang/de.json")),
            parse("fr", include_str!("lang/fr.json")),
            parse("es", include_str!("lang/es.json")),
        ]
    })
}

pub fn language(code: &str) -> Option<&'static LangData> {
    all_languages().iter().find(|l| l.code == code)
}

/// Dictionary key for a word: folded, trailing dots removed.
pub fn key(word: &str) -> String {
    let f = fold_str(word.trim());
    f.trim_end_matches('.').to_string()
}

/// Month lookup info.
#[derive(Debug, Clone, Copy)]
pub struct MonthInfo {
    pub month: u32,
    pub lang: &'static str,
    pub full: bool,
}

/// Merged word sets for the selected languages plus the user's additions.
#[derive(Debug, Default)]
pub struct Lexicon {
    pub stop: HashSet<String>,
    pub keep: HashSet<String>,
    pub months: HashMap<String, MonthInfo>,
    pub honorific_words: HashSet<String>,
    pub prefix_words: HashSet<String>,
    pub inst_strong: HashSet<String>,
    pub inst_weak: HashSet<String>,
    /// Multi-word institution phrases (folded words, strong flag).
    pub inst_phrases: Vec<(Vec<String>, bool)>,
    pub inst_stems: Vec<String>,
    pub street_before: HashSet<String>,
    pub street_after: HashSet<String>,
    pub street_suffixes: Vec<String>,
    pub connectors: HashSet<String>,
    pub particles: HashSet<String>,
}

fn add_words(set: &mut HashSet<String>, words: &[String]) {
    for w in words {
        let k = key(w);
        if !k.is_empty() {
            set.insert(k);
        }
    }
}

impl Lexicon {
    pub fn build(langs: &[&'static LangData], cfg: &super::TextConfig) -> Lexicon {
        let mut lx = Lexicon::default();
        for l in langs {
            add_words(&mut lx.stop, &l.stop_words);
            for (i, forms) in l.months.iter().enumerate() {
                for (j, f) in forms.iter().enumerate() {
                    let info = MonthInfo { month: i as u32 + 1, lang: lang_static(&l.code), full: j == 0 };
                    lx.months.entry(key(f)).or_insert(info);
                }
            }
            add_words(&mut lx.honorific_words, &l.honorifics);
            for p in l.name_prefixes.iter().chain(&l.name_prefixes_colon) {
                for w in p.split_whitespace() {
                    lx.prefix_words.insert(key(w));
                }
            }
            lx.add_institutions(&l.institution_strong, true);
            lx.add_institutions(&l.institution_weak, false);
            lx.inst_stems.extend(l.institution_stems.iter().map(|s| key(s)));
            add_words(&mut lx.street_before, &l.street_before);
            add_words(&mut lx.street_after, &l.street_after);
            lx.street_suffixes.extend(l.street_suffixes.iter().map(|s| key(s)));
            add_words(&mut lx.connectors, &l.connectors);
            add_words(&mut lx.particles, &l.name_particles);
        }
        add_words(&mut lx.keep, &cfg.keep_words);
        add_words(&mut lx.honorific_words, &cfg.honorifics);
        for p in &cfg.name_prefixes {
            for w in p.trim_end_matches(':').split_whitespace() {
                lx.prefix_words.insert(key(w));
            }
        }
        lx.add_institutions(&cfg.institution_words, true);
        add_words(&mut lx.street_before, &cfg.street_words);
        add_words(&mut lx.street_after, &cfg.street_words);
        // Keep words win over everything user-visible.
        for k in lx.keep.clone() {
            lx.inst_strong.remove(&k);
            lx.inst_weak.remove(&k);
        }
        lx.inst_stems.sort();
        lx.inst_stems.dedup();
        lx
    }

    fn add_institutions(&mut self, words: &[String], strong: bool) {
        for w in words {
            let parts: Vec<String> = w.split_whitespace().map(key).filter(|p| !p.is_empty()).collect();
            match parts.len() {
                0 => {}
                1 => {
                    let k = parts.into_iter().next().unwrap_or_default();
                    if strong {
                        self.inst_weak.remove(&k);
                        self.inst_strong.insert(k);
                    } else if !self.inst_strong.contains(&k) {
                        self.inst_weak.insert(k);
                    }
                }
                _ => self.inst_phrases.push((parts, strong)),
            }
        }
    }

    pub fn is_month(&self, k: &str) -> bool {
        self.months.contains_key(k)
    }

    pub fn is_street_word(&self, k: &str) -> bool {
        self.street_before.contains(k) || self.street_after.contains(k)
    }

    /// Institution keyword strength of a single folded word: Some(true)=strong.
    pub fn institution_word(&self, k: &str, capitalised: bool) -> Option<bool> {
        if self.inst_strong.contains(k) {
            return Some(true);
        }
        if self.inst_weak.contains(k) {
            return Some(false);
        }
        // German-style compounds ("Universitätsklinikum", "Kreiskrankenhaus").
        if capitalised && self.inst_stems.iter().any(|s| k.len() > s.len() && k.contains(s.as_str())) {
            return Some(true);
        }
        None
    }

    /// Words that can never be part of a person's name.
    pub fn not_a_name(&self, k: &str) -> bool {
        self.stop.contains(k)
            || self.keep.contains(k)
            || self.is_month(k)
            || self.honorific_words.contains(k)
            || self.prefix_words.contains(k)
            || self.inst_strong.contains(k)
            || self.inst_weak.contains(k)
            || self.is_street_word(k)
            || self.connectors.contains(k) && !self.particles.contains(k)
    }
}

fn lang_static(code: &str) -> &'static str {
    SHIPPED.iter().copied().find(|c| *c == code).unwrap_or("xx")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_files_parse_completely() {
        for code in SHIPPED {
            let json = match code {
                "en" => include_str!("lang/en.json"),
                "it" => include_str!("lang/it.json"),
                "de" => include_str!("lang/de.json"),
                "fr" => include_str!("lang/fr.json"),
                _ => include_str!("lang/es.json"),
            };
            let d: LangData = serde_json::from_str(json).expect(code);
            assert_eq!(d.code, code);
            assert_eq!(d.months.len(), 12, "{code}");
            assert!(!d.honorifics.is_empty() && !d.stop_words.is_empty());
        }
    }

    #[test]
    fn lexicon_lookups() {
        let langs: Vec<&LangData> = all_languages().iter().collect();
        let lx = Lexicon::build(&langs, &Default::default());
        assert_eq!(lx.months["marz"].month, 3);
        assert_eq!(lx.months["luglio"].month, 7);
        assert_eq!(lx.institution_word("ospedale", true), Some(true));
        assert_eq!(lx.institution_word("universitatsklinikum", true), Some(true));
        assert_eq!(lx.institution_word("home", false), Some(false));
        assert!(lx.not_a_name("torace"));
        assert!(!lx.not_a_name("fumagalli"));
    }
}
