//! Compiled detectors: regexes and word sets built once from the language data
//! and the user's configuration, then shared read-only (Send + Sync).

use super::checksums::*;
use super::dates::DateDetector;
use super::lang::{self, LangData, Lexicon, SHIPPED};
use super::tokens::{char_after, char_before, is_mixed_case, tokenize};
use super::{Finding, PhiKind, TextConfig};
use regex::{Regex, RegexBuilder};
use super::cache::FindingCache;

pub struct Detectors {
    pub(super) lx: Lexicon,
    dates: DateDetector,
    email: Regex,
    url: Regex,
    uid: Regex,
    phone_intl: Regex,
    phone_local: Regex,
    phone_kw: Regex,
    cf: Regex,
    nhs: Regex,
    ssn: Regex,
    dni: Regex,
    nie: Regex,
    nir: Regex,
    steuer: Regex,
    id_token: Regex,
    id_kw: Regex,
    pub(super) honorific: Regex,
    pub(super) prefix: Regex,
    pub(super) uk_postcode: Regex,
    pub(super) uk_outward: Regex,
    pub(super) uk_inward: Regex,
    postal_kw: Regex,
    us_zip: Regex,
    custom: Vec<(String, Regex, PhiKind)>,
    disabled: Vec<String>,
    /// Results by text: the detectors do not depend on the patient, so a text seen in any
    /// earlier file is not scanned again.
    cache: FindingCache,
}

fn build(p: &str) -> Result<Regex, String> {
    RegexBuilder::new(p).size_limit(50 << 20).build().map_err(|e| format!("internal regex error: {e}"))
}

/// Regex alternation of literal phrases, longest first (leftmost-first semantics).
/// Inner spaces match any run of whitespace.
fn alternation(words: impl IntoIterator<Item = String>) -> String {
    let mut v: Vec<String> = words.into_iter().map(|w| w.trim().to_string()).filter(|w| !w.is_empty()).collect();
    v.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
    v.dedup();
    let parts: Vec<String> = v
        .iter()
        .map(|w| w.split_whitespace().map(regex::escape).collect::<Vec<_>>().join(r"\s+"))
        .collect();
    if parts.is_empty() {
        // Matches nothing.
        r"[^\s\S]".to_string()
    } else {
        parts.join("|")
    }
}

fn collect(langs: &[&LangData], f: impl Fn(&LangData) -> &Vec<String>) -> Vec<String> {
    langs.iter().flat_map(|l| f(l).iter().cloned()).collect()
}

impl Detectors {
    pub fn new(cfg: &TextConfig) -> Result<Detectors, String> {
        let langs = select_languages(&cfg.languages)?;
        let lx = Lexicon::build(&langs, cfg);
        let dates = DateDetector::new(&langs, &lx.months)?;

        let mut honorifics = collect(&langs, |l| &l.honorifics);
        honorifics.extend(cfg.honorifics.iter().cloned());
        let ctx_prefixes: Vec<String> = collect(&langs, |l| &l.name_prefixes)
            .into_iter()
            .chain(cfg.name_prefixes.iter().filter(|p| !p.trim().ends_with(':')).cloned())
            .collect();
        let colon_prefixes: Vec<String> = collect(&langs, |l| &l.name_prefixes_colon)
            .into_iter()
            .chain(cfg.name_prefixes.iter().filter(|p| p.trim().ends_with(':')).map(|p| p.trim().trim_end_matches(':').to_string()))
            .filter(|p| !ctx_prefixes.iter().any(|c| c.eq_ignore_ascii_case(p)))
            .collect();
        let phone_kw = collect(&langs, |l| &l.phone_keywords);
        let id_kw = collect(&langs, |l| &l.id_keywords);

        let mut custom = Vec::new();
        for p in &cfg.patterns {
            let re = RegexBuilder::new(&p.regex)
                .size_limit(10 << 20)
                .build()
                .map_err(|e| format!("text pattern '{}': invalid regex: {e}", p.name))?;
            custom.push((p.name.clone(), re, p.kind));
        }

        Ok(Detectors {
            dates,
            email: build(r"(?i)\b[a-z0-9][a-z0-9._%+\-]*@[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?)*\.[a-z]{2,}\b")?,
            url: build(r#"(?i)\b(?:https?://|ftp://|www\.)[^\s<>"'(){}\[\]]+"#)?,
            uid: build(r"\b[0-2](?:\.(?:0|[1-9]\d*)){3,}\b")?,
            phone_intl: build(r"(?:\+|\b00)[1-9]\d{0,2}(?:[ .\-]?\(0?\d{1,5}\))?(?:[ .\-]?\d{1,8}){1,6}")?,
            phone_local: build(r"(?:\(\d{2,5}\)\s?|\b\d{2,5}[ .\-])\d{2,8}(?:[ .\-]\d{2,8}){0,3}\b")?,
            phone_kw: build(&format!(
                r"(?i)\b(?:{})[\s.:#]*(?:n\.|nr\.|no\.|n°|nº|number|numero|nummer|número)?[\s.:#]*(\+?\(?\d[\d ()./\-]*\d)",
                alternation(phone_kw)
            ))?,
            cf: build(r"(?i)\b[A-Z]{6}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]\b")?,
            nhs: build(r"\b(\d{3})([ \-]?)(\d{3})([ \-]?)(\d{4})\b")?,
            ssn: build(r"\b(\d{3})-(\d{2})-(\d{4})\b")?,
            dni: build(r"(?i)\b(\d{8})[\s\-]?([A-Z])\b")?,
            nie: build(r"(?i)\b([XYZ])[\s\-]?(\d{7})[\s\-]?([A-Z])\b")?,
            nir: build(r"\b([12])\s?(\d{2})\s?(\d{2})\s?(\d{2}|2[AB])\s?(\d{3})\s?(\d{3})\s?(\d{2})\b")?,
            steuer: build(r"\b[1-9]\d{10}\b")?,
            id_token: build(r"[\p{L}\p{N}]+(?:[\-/.#_][\p{L}\p{N}]+)*")?,
            id_kw: build(&format!(
                r"(?i)(?:^|[^\p{{L}}\p{{N}}])(?:{})[\s.:#°º]*([\p{{L}}\p{{N}}]*\d[\p{{L}}\p{{N}}]*(?:[\-/.][\p{{L}}\p{{N}}]+)*)",
                alternation(id_kw)
            ))?,
            honorific: build(&format!(r"(?i)\b(?:{})", alternation(honorifics)))?,
            prefix: build(&format!(
                r"(?i)\b(?:({})|({}))",
                alternation(ctx_prefixes),
                alternation(colon_prefixes)
            ))?,
            uk_postcode: build(r"\b([A-Z]{1,2}[0-9][A-Z0-9]?) ?([0-9][ABD-HJLNP-UW-Z]{2})\b")?,
            uk_outward: build(r"^[A-Z]{1,2}[0-9][A-Z0-9]?$")?,
            uk_inward: build(r"^[0-9][ABD-HJLNP-UW-Z]{2}$")?,
            postal_kw: build(r"(?i)\b(?:c\.a\.p\.|cap|plz|postleitzahl|code\s+postal|c\.p\.|cp|zip\s+code|zip|post\s*code)[\s.:]*(\d{4,5}(?:-\d{4})?)\b")?,
            us_zip: build(r"\b(?:A[LKZR]|C[AOT]|D[EC]|FL|GA|HI|I[ADLN]|K[SY]|LA|M[ADEINOST]|N[CDEHJMVY]|O[HKR]|PA|RI|S[CD]|T[NX]|UT|V[AIT]|W[AIVY])\.?,?\s+(\d{5}(?:-\d{4})?)\b")?,
            custom,
            disabled: cfg.disabled_rules.iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect(),
            lx,
            cache: Default::default(),
        })
    }

    /// Every pattern and keyword detector.
    pub fn find(&self, text: &str) -> Vec<Finding> {
        self.cached(text, false)
    }

    /// Only the high-precision detectors.
    pub fn find_strict(&self, text: &str) -> Vec<Finding> {
        self.cached(text, true)
    }

    fn cached(&self, text: &str, strict: bool) -> Vec<Finding> {
        self.cache.get_or_scan(text, strict, || self.run(text, strict))
    }

    fn run(&self, text: &str, strict: bool) -> Vec<Finding> {
        let mut out = Vec::new();
        if text.is_empty() {
            return out;
        }
        self.dates.find_dates(text, &mut out);
        self.dates.find_times(text, &mut out);
        self.find_web(text, &mut out);
        self.find_national_ids(text, &mut out);
        self.prune(&mut out);
        self.find_phones(text, &mut out);
        let toks = tokenize(text);
        let mixed = is_mixed_case(text);
        self.find_postal(text, &toks, &mut out);
        self.find_addresses(text, &toks, &mut out);
        self.find_institutions(text, &toks, mixed, strict, &mut out);
        self.find_custom(text, &mut out);
        if !strict {
            self.prune(&mut out);
            self.find_ids(text, &mut out);
            self.find_honorific_names(text, &toks, &mut out);
            self.find_prefixed_names(text, &toks, &mut out);
            self.find_birthplaces(text, &toks, &mut out);
        }
        self.prune(&mut out);
        out.sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)));
        out
    }

    /// Drop findings of disabled rules.
    fn prune(&self, out: &mut Vec<Finding>) {
        if !self.disabled.is_empty() {
            out.retain(|f| !self.disabled.iter().any(|d| f.rule.starts_with(d.as_str())));
        }
    }

    fn find_web(&self, text: &str, out: &mut Vec<Finding>) {
        for m in self.email.find_iter(text) {
            push(out, m.start(), m.end(), PhiKind::Email, "email");
        }
        for m in self.url.find_iter(text) {
            let s = m.as_str().trim_end_matches(['.', ',', ';', ':', '!', '?']);
            push(out, m.start(), m.start() + s.len(), PhiKind::Url, "url");
        }
        for m in self.uid.find_iter(text) {
            if m.as_str().len() >= 10 && !char_after(text, m.end()).map(|c| c == '.').unwrap_or(false) {
                push(out, m.start(), m.end(), PhiKind::Uid, "uid");
            }
        }
    }

    fn find_national_ids(&self, text: &str, out: &mut Vec<Finding>) {
        for m in self.cf.find_iter(text) {
            let s = m.as_str();
            if codice_fiscale_valid(s) {
                push(out, m.start(), m.end(), PhiKind::NationalId, "national_id:codice_fiscale");
            } else if s.chars().all(|c| !c.is_lowercase()) && s.chars().filter(|c| c.is_ascii_digit()).count() >= 2 {
                push(out, m.start(), m.end(), PhiKind::NationalId, "national_id:codice_fiscale_shape");
            }
        }
        for c in self.nhs.captures_iter(text) {
            let Some(m) = c.get(0) else { continue };
            if c[2] != c[4] || !digit_flanks_ok(text, m.start(), m.end()) {
                continue;
            }
            let digits: String = m.as_str().chars().filter(|c| c.is_ascii_digit()).collect();
            if nhs_valid(&digits) {
                push(out, m.start(), m.end(), PhiKind::NationalId, "national_id:nhs_number");
            } else if keyword_before(text, m.start(), "nhs", 24) {
                push(out, m.start(), m.end(), PhiKind::NationalId, "national_id:nhs_number_shape");
            }
        }
        for c in self.ssn.captures_iter(text) {
            let Some(m) = c.get(0) else { continue };
            if ssn_valid(&c[1], &c[2], &c[3]) && digit_flanks_ok(text, m.start(), m.end()) {
                push(out, m.start(), m.end(), PhiKind::NationalId, "national_id:ssn");
            }
        }
        for c in self.dni.captures_iter(text) {
            let Some(m) = c.get(0) else { continue };
            let letter = c[2].chars().next().unwrap_or(' ');
            if dni_valid(&c[1], letter) {
                push(out, m.start(), m.end(), PhiKind::NationalId, "national_id:dni");
            }
        }
        for c in self.nie.captures_iter(text) {
            let Some(m) = c.get(0) else { continue };
            let (p, l) = (c[1].chars().next().unwrap_or(' '), c[3].chars().next().unwrap_or(' '));
            if nie_valid(p, &c[2], l) {
                push(out, m.start(), m.end(), PhiKind::NationalId, "national_id:nie");
            }
        }
        for c in self.nir.captures_iter(text) {
            let Some(m) = c.get(0) else { continue };
            let body = format!("{}{}{}{}{}{}", &c[1], &c[2], &c[3], &c[4], &c[5], &c[6]);
            if nir_valid(&body, &c[7]) {
                push(out, m.start(), m.end(), PhiKind::NationalId, "national_id:nir");
            }
        }
        for m in self.steuer.find_iter(text) {
            if steuer_id_valid(m.as_str()) {
                push(out, m.start(), m.end(), PhiKind::NationalId, "national_id:steuer_id");
            }
        }
    }

    fn find_phones(&self, text: &str, out: &mut Vec<Finding>) {
        let mut found = Vec::new();
        for m in self.phone_intl.find_iter(text) {
            let s = m.as_str().trim_end_matches(['.', '-', ' ']);
            let digits = count_digits(s);
            if (8..=15).contains(&digits) && !char_after(text, m.start() + s.len()).map(|c| c.is_alphanumeric()).unwrap_or(false) {
                found.push((m.start(), m.start() + s.len(), "phone:international"));
            }
        }
        for m in self.phone_local.find_iter(text) {
            if local_phone_ok(m.as_str()) && digit_flanks_ok(text, m.start(), m.end()) {
                found.push((m.start(), m.end(), "phone:local"));
            }
        }
        for c in self.phone_kw.captures_iter(text) {
            let Some(g) = c.get(1) else { continue };
            let s = g.as_str().trim_end_matches(['.', '-', ' ', '/', '(']);
            if count_digits(s) >= 6 {
                found.push((g.start(), g.start() + s.len(), "phone:keyword"));
            }
        }
        for (s, e, rule) in found {
            // Numeric dates and IDs with spaces look like phone numbers: those win.
            let taken = out.iter().any(|f| {
                f.start < e && s < f.end && matches!(f.kind, PhiKind::Date | PhiKind::Time | PhiKind::NationalId | PhiKind::Uid)
                    && rule != "phone:keyword"
            });
            if !taken {
                push(out, s, e, PhiKind::Phone, rule);
            }
        }
    }

    /// Tokens with >= 5 digits, and digit-bearing tokens after an ID keyword.
    fn find_ids(&self, text: &str, out: &mut Vec<Finding>) {
        let mut found = Vec::new();
        for m in self.id_token.find_iter(text) {
            let s = m.as_str();
            if count_digits(s) >= 5 && !is_decimal(s) {
                found.push((m.start(), m.end(), "id:digits"));
            }
        }
        for c in self.id_kw.captures_iter(text) {
            let Some(g) = c.get(1) else { continue };
            if g.as_str().chars().count() >= 3 && !is_decimal(g.as_str()) {
                found.push((g.start(), g.end(), "id:keyword"));
            }
        }
        for (s, e, rule) in found {
            let covered = out.iter().any(|f| f.start <= s && e <= f.end)
                || out.iter().any(|f| {
                    f.start < e && s < f.end && matches!(f.kind, PhiKind::Date | PhiKind::Time | PhiKind::Uid | PhiKind::Email | PhiKind::Url)
                });
            if !covered {
                push(out, s, e, PhiKind::Id, rule);
            }
        }
    }

    fn find_custom(&self, text: &str, out: &mut Vec<Finding>) {
        for (name, re, kind) in &self.custom {
            for m in re.find_iter(text) {
                push(out, m.start(), m.end(), *kind, &format!("custom:{name}"));
            }
        }
    }

    pub(super) fn postal_keyword(&self) -> &Regex {
        &self.postal_kw
    }

    pub(super) fn us_zip(&self) -> &Regex {
        &self.us_zip
    }
}

/// Languages by code; empty = all shipped.
fn select_languages(codes: &[String]) -> Result<Vec<&'static LangData>, String> {
    if codes.is_empty() {
        return Ok(lang::all_languages().iter().collect());
    }
    let mut out = Vec::new();
    for c in codes {
        let code = c.trim().to_ascii_lowercase();
        let l = lang::language(&code)
            .ok_or_else(|| format!("unknown text language '{c}' (shipped: {})", SHIPPED.join(", ")))?;
        if !out.iter().any(|x: &&LangData| x.code == l.code) {
            out.push(l);
        }
    }
    Ok(out)
}

pub(super) fn push(out: &mut Vec<Finding>, start: usize, end: usize, kind: PhiKind, rule: &str) {
    if start < end {
        out.push(Finding { start, end, kind, rule: rule.to_string() });
    }
}

fn count_digits(s: &str) -> usize {
    s.bytes().filter(|b| b.is_ascii_digit()).count()
}

/// "12.5", "1,25": measurements, not identifiers.
fn is_decimal(s: &str) -> bool {
    let parts: Vec<&str> = s.split(['.', ',']).collect();
    parts.len() == 2 && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())) && parts[1].len() <= 3
}

/// Not glued to other digits or to a dotted number.
fn digit_flanks_ok(text: &str, start: usize, end: usize) -> bool {
    let bad = |c: Option<char>| c.map(|c| c.is_alphanumeric()).unwrap_or(false);
    let dotted_before = matches!(char_before(text, start), Some('.' | '/' | '-'))
        && char_before(text, start.saturating_sub(1)).map(|c| c.is_ascii_digit()).unwrap_or(false);
    let dotted_after = matches!(char_after(text, end), Some('.' | '/' | '-'))
        && char_after(text, end + 1).map(|c| c.is_ascii_digit()).unwrap_or(false);
    !bad(char_before(text, start)) && !bad(char_after(text, end)) && !dotted_before && !dotted_after
}

/// Local numbers need a phone-like shape: trunk 0, area code in parentheses,
/// 3-3-4 grouping, or an Italian mobile 3xx; plain number lists do not qualify.
fn local_phone_ok(s: &str) -> bool {
    let digits = count_digits(s);
    if !(7..=15).contains(&digits) {
        return false;
    }
    let groups: Vec<&str> = s.split(|c: char| !c.is_ascii_digit()).filter(|g| !g.is_empty()).collect();
    let seps: Vec<char> = s.chars().filter(|c| matches!(c, '.' | '-' | ' ')).collect();
    // Dotted pairs like "12.55 13.25" are measurements.
    if seps.first() == Some(&'.') && groups.len() < 3 {
        return false;
    }
    let lens: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    s.starts_with('(')
        || s.starts_with('0')
        || lens == [3, 3, 4]
        || (s.starts_with('3') && digits == 10 && lens[0] == 3)
}

/// `word` (ASCII, lowercase) occurs as a whole word within `window` bytes before `pos`.
fn keyword_before(text: &str, pos: usize, word: &str, window: usize) -> bool {
    let mut from = pos.saturating_sub(window);
    while from > 0 && !text.is_char_boundary(from) {
        from -= 1;
    }
    let hay = text[from..pos].to_ascii_lowercase();
    hay.match_indices(word).any(|(i, _)| {
        let before = hay[..i].chars().next_back().map(|c| c.is_alphanumeric()).unwrap_or(false);
        let after = hay[i + word.len()..].chars().next().map(|c| c.is_alphanumeric()).unwrap_or(false);
        !before && !after
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(det: &Detectors, text: &str, rule_prefix: &str) -> Vec<String> {
        det.find(text)
            .iter()
            .filter(|f| f.rule.starts_with(rule_prefix))
            .map(|f| text[f.start..f.end].to_string())
            .collect()
    }

    fn det() -> Detectors {
        Detectors::new(&TextConfig::default()).unwrap()
    }

    #[test]
    fn bad_config_is_an_error() {
        let cfg = TextConfig { languages: vec!["xx".into()], ..Default::default() };
        assert!(Detectors::new(&cfg).err().unwrap().contains("xx"));
        let cfg = TextConfig {
            patterns: vec![super::super::CustomPattern { name: "broken".into(), regex: "(".into(), kind: PhiKind::Id }],
            ..Default::default()
        };
        assert!(Detectors::new(&cfg).err().unwrap().contains("broken"));
    }

    #[test]
    fn phones() {
        let d = det();
        for (t, want) in [
            ("Contact on +44 1423 123456.", "+44 1423 123456"),
            ("al +39 02 1234567.", "+39 02 1234567"),
            ("chiamare 02 1234567", "02 1234567"),
            ("cell 340 123 4567", "340 123 4567"),
            ("mobile 07700 900123", "07700 900123"),
            ("call (555) 123-4567", "(555) 123-4567"),
            ("Tel. 040 7410 0", "040 7410 0"),
            ("0044 20 7946 0958", "0044 20 7946 0958"),
        ] {
            assert!(spans(&d, t, "phone").iter().any(|s| s == want), "{t}: {:?}", spans(&d, t, "phone"));
        }
        for t in ["120 250 300 mAs", "12.55 13.25", "10 12 14 16", "15.03.2024"] {
            assert!(spans(&d, t, "phone").is_empty(), "{t}");
        }
    }

    #[test]
    fn national_ids() {
        let d = det();
        assert_eq!(spans(&d, "CF RSSMRA80A01H501U.", "national_id:codice_fiscale"), vec!["RSSMRA80A01H501U"]);
        assert_eq!(spans(&d, "CF RSSMRA80A01H501X", "national_id:codice_fiscale_shape"), vec!["RSSMRA80A01H501X"]);
        assert_eq!(spans(&d, "NHS no. 943 476 5919.", "national_id:nhs_number"), vec!["943 476 5919"]);
        assert_eq!(spans(&d, "NHS 943 476 5918", "national_id:nhs_number_shape"), vec!["943 476 5918"]);
        assert_eq!(spans(&d, "SSN 123-45-6789", "national_id:ssn"), vec!["123-45-6789"]);
        assert!(spans(&d, "SSN 666-45-6789", "national_id:ssn").is_empty());
        assert_eq!(spans(&d, "DNI 12345678Z", "national_id:dni"), vec!["12345678Z"]);
        assert_eq!(spans(&d, "NIE X1234567L", "national_id:nie"), vec!["X1234567L"]);
        assert_eq!(spans(&d, "Steuer-ID 86095742719", "national_id:steuer_id"), vec!["86095742719"]);
        let body = "1841276451089";
        let k = 97 - body.parse::<u64>().unwrap() % 97;
        let nir = format!("NIR 1 84 12 76 451 089 {k:02}");
        assert_eq!(spans(&d, &nir, "national_id:nir").len(), 1);
    }

    #[test]
    fn web_and_uid() {
        let d = det();
        assert_eq!(spans(&d, "mail mario.rossi@ospedale.it.", "email"), vec!["mario.rossi@ospedale.it"]);
        assert_eq!(spans(&d, "see https://example.org/a?b=1.", "url"), vec!["https://example.org/a?b=1"]);
        assert_eq!(spans(&d, "uid 1.2.840.113619.2.55.3", "uid"), vec!["1.2.840.113619.2.55.3"]);
    }

    #[test]
    fn ids() {
        let d = det();
        for (t, want) in [
            ("acc OSR24-123456", "OSR24-123456"),
            ("SPS1234567", "SPS1234567"),
            ("ref A-2024-000123", "A-2024-000123"),
            ("MRN: AB123", "AB123"),
            ("Pat.-Nr. 4711", "4711"),
            ("Fall-Nr 8812", "8812"),
            ("N° 123", "123"),
            ("número 9876", "9876"),
        ] {
            assert!(spans(&d, t, "id:").iter().any(|s| s == want), "{t}: {:?}", d.find(t));
        }
        assert!(spans(&d, "slice 1.25 mm, 12345.5 HU? no: 3 x 4 cm", "id:").is_empty());
        let cfg = TextConfig { disabled_rules: vec!["id:digits".into()], ..Default::default() };
        let d2 = Detectors::new(&cfg).unwrap();
        assert!(spans(&d2, "SPS1234567", "id:").is_empty());
    }

    #[test]
    fn custom_patterns_and_languages() {
        let cfg = TextConfig {
            languages: vec!["it".into()],
            patterns: vec![super::super::CustomPattern { name: "study".into(), regex: r"\bSTU-\d+\b".into(), kind: PhiKind::Id }],
            ..Default::default()
        };
        let d = Detectors::new(&cfg).unwrap();
        assert_eq!(spans(&d, "code STU-42 x", "custom:study"), vec!["STU-42"]);
        assert!(d.find_strict("code STU-42").iter().any(|f| f.rule == "custom:study"));
        // English month names are not loaded for an Italian-only detector.
        assert!(spans(&d, "15 March 2024", "date:month_name").is_empty());
        assert!(!spans(&d, "15 marzo 2024", "date:month_name:it").is_empty());
    }

    fn assert_send_sync<T: Send + Sync>() {}
    #[test]
    fn detectors_are_send_sync() {
        assert_send_sync::<Detectors>();
        assert_send_sync::<super::super::Vocabulary>();
    }
}
