//! Vocabulary: literal PHI values harvested from identifying DICOM elements,
//! expanded into the variants in which they show up in free text.

use super::fold::{fold_str, Folded};
use super::lang::all_languages;
use super::redact::merge_findings;
use super::{Finding, PhiKind};
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use std::collections::HashMap;
use std::sync::OnceLock;

#[derive(Clone, Debug)]
struct Entry {
    literal: String,
    kind: PhiKind,
    /// Entry begins/ends with a letter or digit (whole-word check applies).
    alnum_start: bool,
    alnum_end: bool,
    numeric: bool,
}

/// Values harvested from identifying elements (patient name, IDs, birth date, accession...).
#[derive(Clone, Debug, Default)]
pub struct Vocabulary {
    entries: Vec<Entry>,
    /// folded literal -> entry index (dedup, case/accent-insensitive)
    index: HashMap<String, usize>,
    /// folded patterns in entry order, the automaton's input
    folded: Vec<String>,
    /// Built lazily at the first find() after a change.
    automaton: OnceLock<Option<AhoCorasick>>,
}

/// Name affixes that are not names (DICOM PN prefix/suffix components, titles).
const NAME_AFFIXES: &[&str] = &[
    "dr", "mr", "mrs", "ms", "miss", "mx", "prof", "sir", "jr", "sr", "ii", "iii", "iv", "md", "phd",
    "dott", "dottssa", "sig", "sigra", "herr", "frau", "mme", "mlle", "sra", "srta", "don", "dona",
];

/// Lowercase particles inside multi-word surnames that must not stand alone.
const PARTICLES: &[&str] = &[
    "de", "del", "della", "dello", "dei", "di", "da", "dal", "dalla", "van", "von", "der", "den", "la",
    "las", "los", "le", "les", "dos", "das", "du", "des", "san", "santa", "mac", "ter", "ten", "zu", "vom",
];

impl Vocabulary {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Add a harvested value; derived variants are added according to `kind`.
    pub fn add(&mut self, value: &str, kind: PhiKind) {
        let value = value.trim().trim_matches('\0').trim();
        if value.is_empty() {
            return;
        }
        match kind {
            PhiKind::Name => self.add_name(value),
            PhiKind::Date => self.add_date(value),
            PhiKind::Time => self.add_time(value),
            _ => self.add_separated(value, kind),
        }
    }

    pub fn merge(&mut self, other: &Vocabulary) {
        for e in &other.entries {
            self.add_literal(&e.literal, e.kind);
        }
    }

    /// About how many heap bytes the vocabulary holds, its automaton included if built.
    pub fn memory_bytes(&self) -> usize {
        // Each literal is held as itself, folded, and folded again as the index's key.
        let strings: usize = self.entries.iter().zip(&self.folded).map(|(e, f)| e.literal.len() + 2 * f.len()).sum();
        let slots = self.entries.len() * (std::mem::size_of::<Entry>() + 2 * std::mem::size_of::<String>() + std::mem::size_of::<usize>() + 8);
        strings + slots + self.automaton_bytes()
    }

    /// The heap bytes of the automaton, if it is built.
    pub fn automaton_bytes(&self) -> usize {
        self.automaton.get().and_then(Option::as_ref).map_or(0, AhoCorasick::memory_usage)
    }

    /// Every literal string held (including derived variants).
    pub fn literals(&self) -> Vec<(String, PhiKind)> {
        self.entries.iter().map(|e| (e.literal.clone(), e.kind)).collect()
    }

    /// Whole-word, case- and accent-insensitive search for every entry.
    pub fn find(&self, text: &str) -> Vec<Finding> {
        let Some(ac) = self.automaton() else { return Vec::new() };
        if text.is_empty() {
            return Vec::new();
        }
        let folded = Folded::new(text);
        let mut out = Vec::new();
        for m in ac.find_overlapping_iter(folded.text.as_str()) {
            let e = &self.entries[m.pattern().as_usize()];
            let Some((start, end)) = folded.to_original(m.start(), m.end()) else { continue };
            if !self.boundaries_ok(text, start, end, e) {
                continue;
            }
            out.push(Finding { start, end, kind: e.kind, rule: format!("vocabulary:{}", kind_name(e.kind)) });
        }
        merge_findings(out)
    }

    fn automaton(&self) -> Option<&AhoCorasick> {
        self.automaton
            .get_or_init(|| {
                if self.folded.is_empty() {
                    return None;
                }
                AhoCorasickBuilder::new().match_kind(MatchKind::Standard).build(&self.folded).ok()
            })
            .as_ref()
    }

    fn boundaries_ok(&self, text: &str, start: usize, end: usize, e: &Entry) -> bool {
        let before = super::tokens::char_before(text, start);
        let after = super::tokens::char_after(text, end);
        let blocks = |c: Option<char>| -> bool {
            match c {
                None => false,
                Some(c) if e.numeric => c.is_ascii_digit(),
                Some(c) => c.is_alphanumeric(),
            }
        };
        (!e.alnum_start || !blocks(before)) && (!e.alnum_end || !blocks(after))
    }

    /// Store one literal (deduplicated on its folded form). Too-short values are ambiguous.
    fn add_literal(&mut self, literal: &str, kind: PhiKind) {
        let literal = literal.trim();
        if literal.chars().count() < 3 {
            return;
        }
        let folded = fold_str(literal);
        if folded.is_empty() || self.index.contains_key(&folded) {
            return;
        }
        let first = literal.chars().next().map(|c| c.is_alphanumeric()).unwrap_or(false);
        let last = literal.chars().next_back().map(|c| c.is_alphanumeric()).unwrap_or(false);
        let numeric = literal.chars().all(|c| c.is_ascii_digit());
        self.index.insert(folded.clone(), self.entries.len());
        self.folded.push(folded);
        self.entries.push(Entry { literal: literal.to_string(), kind, alnum_start: first, alnum_end: last, numeric });
        self.automaton = OnceLock::new();
    }

    fn add_name(&mut self, value: &str) {
        self.add_literal(value, PhiKind::Name);
        if value.contains('^') {
            self.add_literal(&collapse_spaces(&value.replace('^', " ")), PhiKind::Name);
        }
        for group in value.split('=') {
            let group = group.trim();
            if group.is_empty() {
                continue;
            }
            if group.contains('^') {
                self.add_pn_group(group);
            } else {
                self.add_plain_name(group);
            }
        }
    }

    /// DICOM PN group "Family^Given^Middle^Prefix^Suffix".
    fn add_pn_group(&mut self, group: &str) {
        let comps: Vec<&str> = group.split('^').map(str::trim).collect();
        // Family, given and middle positions hold names by definition, even when a name is
        // spelt like a title ("DONÀ" folds to "dona", as in "Doña"); titles live in the
        // prefix and suffix components, which are not harvested.
        let family = comps.first().copied().filter(|c| is_pn_name_component(c)).unwrap_or("");
        let given = comps.get(1).copied().filter(|c| is_pn_name_component(c)).unwrap_or("");
        let middle = comps.get(2).copied().filter(|c| is_pn_name_component(c)).unwrap_or("");
        self.add_literal(group, PhiKind::Name);
        for c in [family, given, middle] {
            self.add_name_literal(c);
        }
        self.add_combinations(family, given, middle);
    }

    /// Plain "Given Family" or "Family, Given" text.
    fn add_plain_name(&mut self, text: &str) {
        self.add_literal(&collapse_spaces(text), PhiKind::Name);
        if let Some((fam, giv)) = text.split_once(',') {
            let (fam, giv) = (fam.trim(), giv.trim());
            self.add_component(fam);
            self.add_component(giv);
            self.add_combinations(fam, giv, "");
            return;
        }
        let words: Vec<&str> = text.split_whitespace().filter(|w| is_name_part(w)).collect();
        for w in &words {
            self.add_component(w);
        }
        if words.len() == 2 {
            self.add_combinations(words[1], words[0], "");
        }
    }

    /// One name component plus, for multi-word components, its longer parts.
    fn add_component(&mut self, comp: &str) {
        let comp = comp.trim().trim_end_matches('.');
        if !is_name_part(comp) {
            return;
        }
        self.add_name_literal(comp);
    }

    /// A name component known to be a name, plus, for multi-word components, its longer parts.
    fn add_name_literal(&mut self, comp: &str) {
        let comp = comp.trim().trim_end_matches('.');
        if comp.is_empty() {
            return;
        }
        self.add_literal(comp, PhiKind::Name);
        let parts: Vec<&str> = comp.split(|c: char| c.is_whitespace() || c == '-').collect();
        if parts.len() > 1 {
            for p in parts {
                let k = fold_str(p);
                if p.chars().filter(|c| c.is_alphabetic()).count() >= 3 && !PARTICLES.contains(&k.as_str()) {
                    self.add_literal(p, PhiKind::Name);
                }
            }
        }
    }

    fn add_combinations(&mut self, family: &str, given: &str, middle: &str) {
        if family.is_empty() || given.is_empty() {
            return;
        }
        let combos = [
            format!("{given} {family}"),
            format!("{family} {given}"),
            format!("{family}, {given}"),
            format!("{family}^{given}").to_uppercase(),
        ];
        for c in combos {
            self.add_literal(&c, PhiKind::Name);
        }
        if !middle.is_empty() {
            self.add_literal(&format!("{given} {middle} {family}"), PhiKind::Name);
            self.add_literal(&format!("{family} {given} {middle}"), PhiKind::Name);
            self.add_literal(&format!("{family}, {given} {middle}"), PhiKind::Name);
        }
    }

    fn add_date(&mut self, value: &str) {
        self.add_literal(value, PhiKind::Date);
        match parse_dicom_date(value) {
            Some((y, m, d)) => {
                for r in date_renderings(y, m, d) {
                    self.add_literal(&r, PhiKind::Date);
                }
            }
            None => self.add_separated(value, PhiKind::Date),
        }
    }

    fn add_time(&mut self, value: &str) {
        self.add_literal(value, PhiKind::Time);
        let digits: String = value.chars().take_while(|c| c.is_ascii_digit()).collect();
        if digits.len() >= 4 {
            let (h, m) = (&digits[0..2], &digits[2..4]);
            for r in [format!("{h}:{m}"), format!("{h}.{m}"), format!("{h}h{m}")] {
                self.add_literal(&r, PhiKind::Time);
            }
            if digits.len() >= 6 {
                self.add_literal(&format!("{h}:{m}:{}", &digits[4..6]), PhiKind::Time);
            }
        }
    }

    /// Literal plus separator-free, single-spaced and digits-only variants.
    fn add_separated(&mut self, value: &str, kind: PhiKind) {
        self.add_literal(value, kind);
        // A UID without its dots is a number; a short one (a toy UID such as 1.2.3.4.0.1)
        // reads as a time or a date, which a shifted value in the output can equal by chance
        // (the verifier then withholds the file). Real UIDs written without their dots are
        // longer than any DA (8 digits) or TM (6).
        let worth_deriving = |derived: &str| kind != PhiKind::Uid || derived.len() > 8;
        let has_sep = value.chars().any(|c| !c.is_alphanumeric() && c != '+');
        if has_sep {
            let joined: String = value.chars().filter(|c| c.is_alphanumeric() || *c == '+').collect();
            if worth_deriving(&joined) {
                self.add_literal(&joined, kind);
            }
            let spaced = collapse_spaces(
                &value.chars().map(|c| if c.is_alphanumeric() || c == '+' { c } else { ' ' }).collect::<String>(),
            );
            self.add_literal(&spaced, kind);
        }
        let digits: String = value.chars().filter(|c| c.is_ascii_digit()).collect();
        if digits.len() >= 5 && digits.len() != value.len() && worth_deriving(&digits) {
            self.add_literal(&digits, kind);
        }
        if kind == PhiKind::Phone {
            if let Some(national) = national_part(value) {
                self.add_literal(&national, kind);
            }
        }
    }
}

fn kind_name(kind: PhiKind) -> &'static str {
    kind.as_str()
}

fn collapse_spaces(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A name component worth storing: >= 2 letters and not a title/suffix.
/// A PN family/given/middle component: any word of two letters or more.
fn is_pn_name_component(c: &str) -> bool {
    c.chars().filter(|c| c.is_alphabetic()).count() >= 2
}

fn is_name_part(c: &str) -> bool {
    let letters = c.chars().filter(|c| c.is_alphabetic()).count();
    let k: String = fold_str(c).chars().filter(|c| c.is_alphanumeric()).collect();
    letters >= 2 && !NAME_AFFIXES.contains(&k.as_str())
}

/// "+39 02 1234567" / "0039 02 1234567" -> "021234567" (first group is the country code).
fn national_part(value: &str) -> Option<String> {
    let v = value.trim();
    let rest = v.strip_prefix('+').or_else(|| v.strip_prefix("00"))?;
    let mut groups = rest.split(|c: char| !c.is_ascii_digit()).filter(|g| !g.is_empty());
    let cc = groups.next()?;
    if cc.len() > 3 {
        return None;
    }
    let national: String = groups.collect();
    (national.len() >= 5).then_some(national)
}

/// DICOM DA (YYYYMMDD, legacy YYYY.MM.DD) or DT (YYYYMMDDHHMMSS...).
pub fn parse_dicom_date(value: &str) -> Option<(u32, u32, u32)> {
    let digits: String = value.chars().filter(|c| c.is_ascii_digit()).collect();
    let ok_shape = value.len() >= 8 && value.chars().take(10).all(|c| c.is_ascii_digit() || c == '.' || c == '-');
    if digits.len() < 8 || !ok_shape {
        return None;
    }
    let y: u32 = digits[0..4].parse().ok()?;
    let m: u32 = digits[4..6].parse().ok()?;
    let d: u32 = digits[6..8].parse().ok()?;
    super::dates::valid_ymd(y, m, d).then_some((y, m, d))
}

/// Every common rendering of a date in the five shipped languages.
pub fn date_renderings(y: u32, m: u32, d: u32) -> Vec<String> {
    let mut out = Vec::with_capacity(400);
    let yy = format!("{:02}", y % 100);
    let days = [format!("{d:02}"), d.to_string()];
    let months = [format!("{m:02}"), m.to_string()];
    out.push(format!("{y}{m:02}{d:02}"));
    for sep in ["-", "/", "."] {
        out.push(format!("{y}{sep}{m:02}{sep}{d:02}"));
        for dd in &days {
            for mm in &months {
                out.push(format!("{dd}{sep}{mm}{sep}{y}"));
                out.push(format!("{mm}{sep}{dd}{sep}{y}"));
                out.push(format!("{dd}{sep}{mm}{sep}{yy}"));
                out.push(format!("{mm}{sep}{dd}{sep}{yy}"));
            }
        }
    }
    for lang in all_languages() {
        let Some(forms) = lang.months.get(m as usize - 1) else { continue };
        for (i, name) in forms.iter().enumerate() {
            let cap = capitalise(name);
            for dd in &days {
                out.push(format!("{dd} {cap} {y}"));
                out.push(format!("{dd}-{cap}-{y}"));
                out.push(format!("{dd}. {cap} {y}"));
                out.push(format!("{dd} de {name} de {y}"));
                out.push(format!("{cap} {dd}, {y}"));
                out.push(format!("{cap} {dd} {y}"));
                if i > 0 {
                    out.push(format!("{dd} {cap}. {y}"));
                    out.push(format!("{cap}. {dd}, {y}"));
                }
            }
            out.push(format!("{}{} {cap} {y}", d, ordinal(d, &lang.code)));
        }
    }
    out
}

fn ordinal(d: u32, lang: &str) -> &'static str {
    match lang {
        "en" => match (d % 10, d % 100) {
            (1, n) if n != 11 => "st",
            (2, n) if n != 12 => "nd",
            (3, n) if n != 13 => "rd",
            _ => "th",
        },
        "fr" if d == 1 => "er",
        "it" | "es" if d == 1 => "°",
        "de" => ".",
        _ => "",
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(v: &Vocabulary, text: &str) -> Vec<String> {
        v.find(text).iter().map(|f| text[f.start..f.end].to_string()).collect()
    }

    #[test]
    fn pn_components_and_combinations() {
        let mut v = Vocabulary::new();
        v.add("FUMAGALLI^GIULIA", PhiKind::Name);
        let lits: Vec<String> = v.literals().into_iter().map(|l| l.0).collect();
        for want in ["FUMAGALLI^GIULIA", "FUMAGALLI", "GIULIA", "GIULIA FUMAGALLI", "FUMAGALLI, GIULIA"] {
            assert!(lits.iter().any(|l| l == want), "{want} missing from {lits:?}");
        }
        assert_eq!(found(&v, "Sig.ra Fumagalli Giulia nata"), vec!["Fumagalli Giulia"]);
    }

    #[test]
    fn pn_skips_affixes_and_initials() {
        let mut v = Vocabulary::new();
        v.add("De Luca^Anna^M^Dr^Jr", PhiKind::Name);
        let lits: Vec<String> = v.literals().into_iter().map(|l| l.0.to_lowercase()).collect();
        assert!(lits.contains(&"luca".to_string()));
        assert!(lits.contains(&"de luca".to_string()));
        assert!(!lits.contains(&"dr".to_string()) && !lits.contains(&"jr".to_string()));
        assert!(!lits.contains(&"de".to_string()) && !lits.contains(&"m".to_string()));
    }

    #[test]
    fn ideographic_groups() {
        let mut v = Vocabulary::new();
        v.add("Yamada^Tarou=山田^太郎=やまだ^たろう", PhiKind::Name);
        assert_eq!(found(&v, "patient 山田 太郎 seen"), vec!["山田 太郎"]);
        assert_eq!(found(&v, "Tarou Yamada"), vec!["Tarou Yamada"]);
    }

    #[test]
    fn accent_and_case_insensitive_whole_words() {
        let mut v = Vocabulary::new();
        v.add("MULLER^JOSE", PhiKind::Name);
        assert_eq!(found(&v, "Frau Müller und José"), vec!["Müller", "José"]);
        assert!(found(&v, "Mullerstein Joseph").is_empty());
        v.add("Weiß", PhiKind::Name);
        assert_eq!(found(&v, "WEISS"), vec!["WEISS"]);
    }

    #[test]
    fn pn_components_spelt_like_titles_are_names() {
        let mut v = Vocabulary::new();
        v.add("DONÀ^OTTAVIA", PhiKind::Name);
        assert_eq!(v.find("ASSIALE 5mm paz. Donà cart.").len(), 1);
        let mut w = Vocabulary::new();
        w.add("Smith^John^^Dr", PhiKind::Name);
        assert!(w.find("seen by Dr today").is_empty(), "the prefix component is not a name");
    }

    #[test]
    fn date_renderings_found() {
        let mut v = Vocabulary::new();
        v.add("19620703", PhiKind::Date);
        for text in [
            "nata 03/07/1962", "nata il 3 luglio 1962", "born July 3, 1962", "geb. 3. Juli 1962",
            "née le 3 juillet 1962", "nacido el 3 de julio de 1962", "1962-07-03", "03.07.62",
            "3-Jul-1962", "07/03/1962", "3rd July 1962",
        ] {
            assert_eq!(v.find(text).len(), 1, "{text}");
        }
        assert!(v.find("1196207033").is_empty());
    }

    #[test]
    fn ids_and_phones_variants() {
        let mut v = Vocabulary::new();
        v.add("+39 02 1234567", PhiKind::Phone);
        v.add("OSR24-123456", PhiKind::Id);
        v.add("AB", PhiKind::Id);
        v.add("   ", PhiKind::Id);
        let lits: Vec<String> = v.literals().into_iter().map(|l| l.0).collect();
        for want in ["+39021234567", "021234567", "39021234567", "OSR24123456", "OSR24 123456"] {
            assert!(lits.iter().any(|l| l == want), "{want} missing in {lits:?}");
        }
        assert!(!lits.iter().any(|l| l == "AB"));
        assert_eq!(found(&v, "chiamare 021234567."), vec!["021234567"]);
        assert!(found(&v, "x 90212345678").is_empty());
        assert_eq!(found(&v, "acc OSR24-123456"), vec!["OSR24-123456"]);
    }

    #[test]
    fn short_uids_have_no_dotless_variant_that_reads_as_a_time_or_date() {
        let mut v = Vocabulary::new();
        v.add("1.2.3.4.0.1", PhiKind::Uid);
        v.add("1.2.826.0.1.3680043.8.498.1001", PhiKind::Uid);
        let lits: Vec<String> = v.literals().into_iter().map(|l| l.0).collect();
        assert!(!lits.iter().any(|l| l == "123401"), "{lits:?}");
        assert!(lits.iter().any(|l| l == "1282601368004384981001"), "{lits:?}");
        assert!(found(&v, "at 123401.25").is_empty());
        assert_eq!(found(&v, "uid 1282601368004384981001"), vec!["1282601368004384981001"]);
    }

    #[test]
    fn merge_and_len() {
        let mut a = Vocabulary::new();
        a.add("Rossi", PhiKind::Name);
        let mut b = Vocabulary::new();
        b.add("12345678", PhiKind::Id);
        a.merge(&b);
        assert_eq!(a.len(), 2);
        assert!(!a.is_empty());
        assert_eq!(found(&a, "Rossi 12345678"), vec!["Rossi", "12345678"]);
        assert!(Vocabulary::new().find("anything").is_empty());
    }
}
