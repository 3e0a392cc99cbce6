//! Date and time detectors: numeric forms, month names in the selected
//! languages, and clock times. Every candidate is range-validated.

use super::lang::{key, LangData, MonthInfo};
use super::tokens::{char_after, char_before};
use super::{Finding, PhiKind};
use regex::Regex;
use std::collections::HashMap;

// `is_multiple_of` needs Rust 1.87; the crate's MSRV is 1.85.
#[allow(clippy::manual_is_multiple_of)]
pub fn is_leap(y: u32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

pub fn days_in_month(y: Option<u32>, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 => match y {
            Some(y) if !is_leap(y) => 28,
            _ => 29,
        },
        _ => 0,
    }
}

/// Valid day/month; year optional (2-digit years accepted as-is).
pub fn valid_dm(y: Option<u32>, m: u32, d: u32) -> bool {
    (1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m)
}

/// Full date with a plausible 4-digit year.
pub fn valid_ymd(y: u32, m: u32, d: u32) -> bool {
    (1800..=2199).contains(&y) && valid_dm(Some(y), m, d)
}

pub struct DateDetector {
    num_dmy: Regex,
    num_ymd: Regex,
    compact: Regex,
    name_dmy: Regex,
    name_mdy: Regex,
    name_my: Regex,
    time_colon: Regex,
    time_h: Regex,
    time_before: Option<Regex>,
    time_after: Option<Regex>,
    time_ampm: Regex,
    months: HashMap<String, MonthInfo>,
}

fn alternation(words: impl IntoIterator<Item = String>) -> String {
    let mut v: Vec<String> = words.into_iter().filter(|w| !w.is_empty()).collect();
    v.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
    v.dedup();
    v.iter().map(|w| regex::escape(w)).collect::<Vec<_>>().join("|")
}

fn re(p: &str) -> Result<Regex, String> {
    regex::RegexBuilder::new(p).size_limit(50 << 20).build().map_err(|e| format!("internal regex: {e}"))
}

impl DateDetector {
    pub fn new(langs: &[&'static LangData], months: &HashMap<String, MonthInfo>) -> Result<Self, String> {
        // Month names as written and in folded form ("März" and "marz").
        let mut forms = Vec::new();
        for l in langs {
            for m in &l.months {
                for f in m {
                    forms.push(f.to_lowercase());
                    forms.push(key(f));
                }
            }
        }
        let mon = alternation(forms);
        let ord = r"(?:st|nd|rd|th|er|ère|°|º)?";
        let name_dmy = format!(
            r"(?i)\b(\d{{1,2}}){ord}\.?(?:\s+(?:de|of)\s+|\s*[-/.]\s*|\s+)({mon})\b\.?(?:(?:\s+de(?:l)?\s+|\s*[-/.,]\s*|\s+)(\d{{4}}|'?\d{{2}})\b)?"
        );
        let name_mdy = format!(r"(?i)\b({mon})\b\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(\d{{4}})\b)?");
        let name_my = format!(r"(?i)\b({mon})\b\.?,?\s+(?:de(?:l)?\s+)?(\d{{4}})\b");
        let before: Vec<String> = langs.iter().flat_map(|l| l.time_before.iter().cloned()).collect();
        let after: Vec<String> = langs.iter().flat_map(|l| l.time_after.iter().cloned()).collect();
        let clock = r"([01]?\d|2[0-3])[.:h]([0-5]\d)";
        let time_before = if before.is_empty() {
            None
        } else {
            Some(re(&format!(r"(?i)\b(?:{})\s+{clock}\b", alternation(before)))?)
        };
        let time_after = if after.is_empty() {
            None
        } else {
            Some(re(&format!(r"(?i)\b{clock}\s?(?:{})\b", alternation(after)))?)
        };
        Ok(DateDetector {
            num_dmy: re(r"\b(\d{1,2})([/.\-])(\d{1,2})([/.\-])(\d{4}|\d{2})\b")?,
            num_ymd: re(r"\b(\d{4})([/.\-])(\d{1,2})([/.\-])(\d{1,2})(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+\-]\d{2}:?\d{2})?)?\b")?,
            // DICOM DA, or DT with hours+minutes(+seconds).
            compact: re(r"\b(\d{4})(\d{2})(\d{2})(?:\d{4}|\d{6}(?:\.\d{1,6})?)?\b")?,
            name_dmy: re(&name_dmy)?,
            name_mdy: re(&name_mdy)?,
            name_my: re(&name_my)?,
            time_colon: re(r"\b([01]?\d|2[0-3]):([0-5]\d)(?::([0-5]\d)(?:\.\d{1,6})?)?(?:\s?([AaPp]\.?[Mm]\.?))?")?,
            time_h: re(r"\b([01]?\d|2[0-3])h([0-5]\d)\b")?,
            time_before,
            time_after,
            time_ampm: re(r"\b(1[0-2]|0?[1-9])\s?([AaPp]\.?[Mm]\.?)")?,
            months: months.clone(),
        })
    }

    pub fn find_dates(&self, text: &str, out: &mut Vec<Finding>) {
        self.numeric(text, out);
        self.month_names(text, out);
    }

    fn numeric(&self, text: &str, out: &mut Vec<Finding>) {
        for c in self.num_dmy.captures_iter(text) {
            let m = c.get(0).map(|m| (m.start(), m.end())).unwrap_or((0, 0));
            if c[2] != c[4] || !numeric_flanks_ok(text, m.0, m.1) {
                continue;
            }
            let (a, b) = (num(&c[1]), num(&c[3]));
            let y = num(&c[5]);
            let year = if c[5].len() == 4 { Some(y) } else { None };
            if year.map(|y| !(1800..=2199).contains(&y)).unwrap_or(false) {
                continue;
            }
            let rule = if valid_dm(year, b, a) {
                "date:numeric_dmy"
            } else if valid_dm(year, a, b) {
                "date:numeric_mdy"
            } else {
                continue;
            };
            push(out, m.0, m.1, PhiKind::Date, rule);
        }
        for c in self.num_ymd.captures_iter(text) {
            let m = c.get(0).map(|m| (m.start(), m.end())).unwrap_or((0, 0));
            if c[2] != c[4] || !numeric_flanks_ok(text, m.0, m.1) {
                continue;
            }
            if valid_ymd(num(&c[1]), num(&c[3]), num(&c[5])) {
                push(out, m.0, m.1, PhiKind::Date, "date:numeric_ymd");
            }
        }
        for c in self.compact.captures_iter(text) {
            let m = c.get(0).map(|m| (m.start(), m.end())).unwrap_or((0, 0));
            if valid_ymd(num(&c[1]), num(&c[2]), num(&c[3])) && numeric_flanks_ok(text, m.0, m.1) {
                push(out, m.0, m.1, PhiKind::Date, "date:compact");
            }
        }
    }

    fn month(&self, word: &str) -> Option<MonthInfo> {
        self.months.get(&key(word)).copied()
    }

    fn month_names(&self, text: &str, out: &mut Vec<Finding>) {
        for c in self.name_dmy.captures_iter(text) {
            let (Some(all), Some(mw)) = (c.get(0), c.get(2)) else { continue };
            let Some(info) = self.month(mw.as_str()) else { continue };
            let d = num(&c[1]);
            let year = c.get(3).map(|y| num(y.as_str().trim_start_matches('\'')));
            let four = c.get(3).map(|y| y.as_str().len() == 4).unwrap_or(false);
            if !valid_dm(year, info.month, d) || (four && !(1800..=2199).contains(&year.unwrap_or(0))) {
                continue;
            }
            // Day + abbreviated month without a year is too ambiguous ("3 set", "2 mar").
            if year.is_none() && !info.full {
                continue;
            }
            let end = if year.is_some() { all.end() } else { mw.end() };
            push_month(out, all.start(), end, info);
        }
        for c in self.name_mdy.captures_iter(text) {
            let (Some(all), Some(mw)) = (c.get(0), c.get(1)) else { continue };
            let Some(info) = self.month(mw.as_str()) else { continue };
            let d = num(&c[2]);
            let year = c.get(3).map(|y| num(y.as_str()));
            if !valid_dm(year, info.month, d) || year.map(|y| !(1800..=2199).contains(&y)).unwrap_or(false) {
                continue;
            }
            if year.is_none() && !info.full {
                continue;
            }
            if char_after(text, all.end()).map(|c| c.is_ascii_digit() || c == ':' || c == '.').unwrap_or(false)
                && year.is_none()
            {
                continue;
            }
            push_month(out, all.start(), all.end(), info);
        }
        for c in self.name_my.captures_iter(text) {
            let (Some(all), Some(mw)) = (c.get(0), c.get(1)) else { continue };
            let Some(info) = self.month(mw.as_str()) else { continue };
            if (1800..=2199).contains(&num(&c[2])) {
                push_month(out, all.start(), all.end(), info);
            }
        }
    }

    pub fn find_times(&self, text: &str, out: &mut Vec<Finding>) {
        for c in self.time_colon.captures_iter(text) {
            let Some(m) = c.get(0) else { continue };
            let end = m.end();
            // "10:30:45:12" timecodes and ratios like "1:200" are not clock times.
            if char_after(text, end).map(|c| c.is_ascii_digit() || c == ':').unwrap_or(false)
                || char_before(text, m.start()).map(|c| c == ':' || c == '.').unwrap_or(false)
            {
                continue;
            }
            push(out, m.start(), end, PhiKind::Time, "time:clock");
        }
        for m in self.time_h.find_iter(text) {
            push(out, m.start(), m.end(), PhiKind::Time, "time:h");
        }
        if let Some(r) = &self.time_before {
            for c in r.captures_iter(text) {
                if let (Some(h), Some(m)) = (c.get(1), c.get(2)) {
                    push(out, h.start(), m.end(), PhiKind::Time, "time:keyword");
                }
            }
        }
        if let Some(r) = &self.time_after {
            for m in r.find_iter(text) {
                push(out, m.start(), m.end(), PhiKind::Time, "time:keyword");
            }
        }
        for m in self.time_ampm.find_iter(text) {
            if char_after(text, m.end()).map(|c| c.is_alphanumeric()).unwrap_or(false) {
                continue;
            }
            push(out, m.start(), m.end(), PhiKind::Time, "time:ampm");
        }
    }
}

fn num(s: &str) -> u32 {
    s.parse().unwrap_or(0)
}

/// Reject numeric dates that are really part of a longer dotted/slashed number
/// (versions, UIDs: "1.2.840.10008").
fn numeric_flanks_ok(text: &str, start: usize, end: usize) -> bool {
    let before = char_before(text, start);
    let after = char_after(text, end);
    let bad_before = match before {
        Some(c) if c.is_ascii_digit() => true,
        Some('.' | '/' | '-') => {
            char_before(text, start - 1).map(|c| c.is_ascii_digit()).unwrap_or(false)
        }
        _ => false,
    };
    let bad_after = match after {
        Some(c) if c.is_ascii_digit() => true,
        Some('.' | '/' | '-') => char_after(text, end + 1).map(|c| c.is_ascii_digit()).unwrap_or(false),
        _ => false,
    };
    !bad_before && !bad_after
}

fn push(out: &mut Vec<Finding>, start: usize, end: usize, kind: PhiKind, rule: &str) {
    out.push(Finding { start, end, kind, rule: rule.to_string() });
}

fn push_month(out: &mut Vec<Finding>, start: usize, end: usize, info: MonthInfo) {
    out.push(Finding { start, end, kind: PhiKind::Date, rule: format!("date:month_name:{}", info.lang) });
}

#[cfg(test)]
mod tests {
    use super::super::lang::{all_languages, Lexicon};
    use super::*;

    fn det() -> DateDetector {
        let langs: Vec<&'static LangData> = all_languages().iter().collect();
        let lx = Lexicon::build(&langs, &Default::default());
        DateDetector::new(&langs, &lx.months).unwrap()
    }

    fn dates(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        det().find_dates(text, &mut out);
        out.iter().map(|f| text[f.start..f.end].to_string()).collect()
    }

    fn times(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        det().find_times(text, &mut out);
        out.iter().map(|f| text[f.start..f.end].to_string()).collect()
    }

    #[test]
    fn numeric_dates() {
        assert_eq!(dates("nata 03/07/1962 ok"), vec!["03/07/1962"]);
        assert_eq!(dates("on 12/31/2023"), vec!["12/31/2023"]);
        assert_eq!(dates("2024-03-15"), vec!["2024-03-15"]);
        assert_eq!(dates("geb. 12.04.1961,"), vec!["12.04.1961"]);
        assert_eq!(dates("15/03/24"), vec!["15/03/24"]);
        assert_eq!(dates("20240315"), vec!["20240315"]);
        assert_eq!(dates("DT 20240315143000 x"), vec!["20240315143000"]);
        assert_eq!(dates("at 2024-03-15T14:30:00Z."), vec!["2024-03-15T14:30:00Z"]);
        assert!(dates("12345678").is_empty());
        assert!(dates("3/45 1.2.840.10008.5.1 32/13/2020 15/03-2024").is_empty());
    }

    #[test]
    fn month_name_dates() {
        let cases = [
            ("surgery on 05 March 2020.", "05 March 2020"),
            ("nata il 3 luglio 1962,", "3 luglio 1962"),
            ("geb. 12. März 1961", "12. März 1961"),
            ("née le 3 mars 1950", "3 mars 1950"),
            ("le 1er janvier 2020", "1er janvier 2020"),
            ("nacido el 5 de mayo de 1970", "5 de mayo de 1970"),
            ("seen March 15, 2024 for", "March 15, 2024"),
            ("15-Mar-2024", "15-Mar-2024"),
            ("il 1° gennaio 2001", "1° gennaio 2001"),
            ("15 genn. 2024", "15 genn. 2024"),
            ("15th of March 2024", "15th of March 2024"),
            ("since March 2024", "March 2024"),
            ("da marzo 2024", "marzo 2024"),
            ("am 3. Februar", "3. Februar"),
        ];
        for (text, want) in cases {
            let got = dates(text);
            assert!(got.iter().any(|g| g == want), "{text}: {got:?}");
        }
        assert!(dates("3 set di sequenze, 5 mar").is_empty());
        assert!(dates("31 febbraio e 15 marked nodes").is_empty());
        assert_eq!(dates("31 febbraio 2020"), vec!["febbraio 2020"]);
    }

    #[test]
    fn clock_times() {
        for (text, want) in [
            ("alle 14:30", "14:30"),
            ("14:30:15", "14:30:15"),
            ("at 2:30 PM", "2:30 PM"),
            ("um 14.30 Uhr", "14.30 Uhr"),
            ("ore 14.30", "14.30"),
            ("à 14h30", "14h30"),
        ] {
            assert!(times(text).iter().any(|t| t == want), "{text}: {:?}", times(text));
        }
        assert!(times("slice 1.25 mm, ratio 1:2, 120 kV 250 mAs").is_empty());
    }

    #[test]
    fn validation_helpers() {
        assert!(valid_ymd(2024, 2, 29) && !valid_ymd(2023, 2, 29) && !valid_ymd(1700, 1, 1));
        assert!(!valid_dm(None, 13, 1) && !valid_dm(None, 4, 31));
    }
}
