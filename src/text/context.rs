//! Word-context detectors: honorific + name, name prefixes, institutions,
//! street addresses, postal codes, and name expansion. They walk the token list
//! built once per text.

use super::detectors::{push, Detectors};
use super::tokens::*;
use super::{Finding, PhiKind};

const MAX_NAME_WORDS: usize = 3;
const MAX_INST_LEFT: usize = 4;
const MAX_INST_RIGHT: usize = 5;

impl Detectors {
    /// A word that may be (part of) a person's name.
    fn name_like(&self, text: &str, t: &Tok, allow_caps: bool) -> bool {
        let w = &text[t.start..t.end];
        if is_initial(text, t) {
            return true;
        }
        if has_digit(w) || !is_capitalised(w) || w.chars().count() < 2 {
            return false;
        }
        if !allow_caps && !is_title(w) {
            return false;
        }
        !self.lx.not_a_name(&t.key)
    }

    /// Up to `max` name words starting right after byte `pos`; returns the span.
    fn take_name(&self, text: &str, toks: &[Tok], pos: usize, allow_caps: bool, allow_glued: bool) -> Option<(usize, usize)> {
        let mut i = first_at_or_after(toks, pos);
        let first = toks.get(i)?;
        let gap = &text[pos..first.start];
        if !(is_space_gap(gap) || (gap.is_empty() && allow_glued)) {
            return None;
        }
        let (mut start, mut end, mut words, mut real) = (None, 0, 0, 0);
        while i < toks.len() && words < MAX_NAME_WORDS {
            let t = &toks[i];
            if words > 0 || start.is_some() {
                let prev = &toks[i - 1];
                // After a colon, "FAMILY, Given" is a common field layout.
                let family_comma = allow_caps && words == 1 && text[prev.end..t.start] == *", ";
                if !name_gap_ok(text, prev, t) && !family_comma {
                    break;
                }
            }
            if self.name_like(text, t, allow_caps) {
                start.get_or_insert(t.start);
                end = t.end;
                words += 1;
                if !is_initial(text, t) {
                    real += 1;
                }
            } else if self.lx.particles.contains(&t.key)
                && toks.get(i + 1).map(|n| name_gap_ok(text, t, n) && self.name_like(text, n, allow_caps)).unwrap_or(false)
            {
                // "de", "van", "di" inside a name; only kept if a name word follows.
                start.get_or_insert(t.start);
            } else {
                break;
            }
            i += 1;
        }
        (real > 0).then(|| (start.unwrap_or(0), end))
    }

    /// Honorific followed by 1-3 capitalised words ("Dott.ssa Maria Rossi", "Mr SMITH").
    pub(super) fn find_honorific_names(&self, text: &str, toks: &[Tok], out: &mut Vec<Finding>) {
        for m in self.honorific.find_iter(text) {
            if !m.as_str().starts_with(|c: char| c.is_uppercase()) {
                continue;
            }
            let dotted = m.as_str().ends_with('.');
            if !dotted && char_after(text, m.end()).map(|c| !c.is_whitespace()).unwrap_or(true) {
                continue;
            }
            let pos = self.skip_titles(text, m.end());
            let glued = dotted && pos == m.end();
            if let Some((s, e)) = self.take_name(text, toks, pos, true, glued) {
                push(out, s, e, PhiKind::Name, "honorific:name");
            }
        }
    }

    /// Skip further titles after an honorific ("Frau Dr. med. Schulz", "Prof. Dr. Weber").
    fn skip_titles(&self, text: &str, mut pos: usize) -> usize {
        const FILLERS: [&str; 6] = ["med.", "dent.", "phil.", "rer. nat.", "h.c.", "univ."];
        for _ in 0..4 {
            let rest = &text[pos..];
            let ws = rest.len() - rest.trim_start_matches([' ', '\t']).len();
            if ws == 0 {
                break;
            }
            let at = pos + ws;
            if let Some(f) = FILLERS.iter().find(|f| text[at..].starts_with(*f)) {
                pos = at + f.len();
                continue;
            }
            match self.honorific.find_at(text, at) {
                Some(h) if h.start() == at && h.as_str().starts_with(|c: char| c.is_uppercase())
                    && (h.as_str().ends_with('.') || char_after(text, h.end()).map(|c| c.is_whitespace()).unwrap_or(false)) =>
                {
                    pos = h.end()
                }
                _ => break,
            }
        }
        pos
    }

    /// Context words ("Paziente", "born", "Contact", "for:") followed by a name.
    pub(super) fn find_prefixed_names(&self, text: &str, toks: &[Tok], out: &mut Vec<Finding>) {
        for c in self.prefix.captures_iter(text) {
            let Some(m) = c.get(0) else { continue };
            let needs_colon = c.get(1).is_none();
            if !m.as_str().ends_with('.') && char_after(text, m.end()).map(|c| c.is_alphanumeric()).unwrap_or(false) {
                continue;
            }
            let mut pos = m.end();
            let rest = &text[pos..];
            let ws = rest.len() - rest.trim_start_matches([' ', '\t']).len();
            let colon = rest[ws..].starts_with(':');
            if colon {
                pos += ws + 1;
            } else if needs_colon {
                continue;
            }
            // "Paziente: Sig.ra Rossi": the honorific detector owns that name.
            let rest = &text[pos..];
            let ws = rest.len() - rest.trim_start().len();
            if let Some(h) = self.honorific.find_at(text, pos + ws) {
                if h.start() == pos + ws {
                    continue;
                }
            }
            if let Some((s, e)) = self.take_name(text, toks, pos, colon, false) {
                if !self.followed_by_capitalised_term(text, toks, e) {
                    push(out, s, e, PhiKind::Name, "prefix:name");
                }
            }
        }
    }

    /// A place of birth: "born in Leeds", "geb. in Kötzschenbroda", "nato a Forlì",
    /// "née à Lyon", "nacido en Cádiz": the capitalised words after birth word + preposition.
    pub(super) fn find_birthplaces(&self, text: &str, toks: &[Tok], out: &mut Vec<Finding>) {
        static BIRTH_PLACE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
        let re = BIRTH_PLACE.get_or_init(|| {
            regex::Regex::new(
                r"(?i)\b(?:born|birthplace|place of birth|geb\.|geboren|geburtsort|nato|nata|nati|nate|luogo di nascita|née?|lieu de naissance|nacid[oa]|lugar de nacimiento)\s*:?\s*(?:(?:in|at|a|à|ad|en|im|zu|di|de)\s+)?",
            )
            .expect("birthplace pattern")
        });
        for m in re.find_iter(text) {
            if m.end() == m.start() || !m.as_str().ends_with(char::is_whitespace) && !m.as_str().ends_with(':') {
                continue;
            }
            if let Some((s, e)) = self.take_place(text, toks, m.end()) {
                push(out, s, e, PhiKind::Address, "address:birthplace");
            }
        }
    }

    /// Up to three capitalised words (with hyphens and particles) right after `pos`.
    fn take_place(&self, text: &str, toks: &[Tok], pos: usize) -> Option<(usize, usize)> {
        let mut i = first_at_or_after(toks, pos);
        let first = toks.get(i)?;
        if !text[pos..first.start].trim().is_empty() {
            return None; // the pattern already consumed the spaces; anything else ends it
        }
        let (mut end, mut words) = (None, 0);
        while let Some(t) = toks.get(i) {
            let w = &text[t.start..t.end];
            let glued = words > 0 && !name_gap_ok(text, &toks[i - 1], t);
            if glued || words == 3 || has_digit(w) || !is_capitalised(w) || self.lx.months.contains_key(&t.key) {
                break;
            }
            end = Some(t.end);
            words += 1;
            i += 1;
        }
        end.map(|e| (first.start, e))
    }

    /// "Referred by: Sports Medicine Clinic": the capitalised words run on into a
    /// non-name term, so they are a service or place, not a person.
    fn followed_by_capitalised_term(&self, text: &str, toks: &[Tok], end: usize) -> bool {
        let i = first_at_or_after(toks, end);
        toks.get(i).map(|t| {
            let w = &text[t.start..t.end];
            is_space_gap(&text[end..t.start]) && is_title(w) && !self.name_like(text, t, true)
                && !self.lx.connectors.contains(&t.key)
                && !self.lx.particles.contains(&t.key) && !self.lx.prefix_words.contains(&t.key)
                && !self.lx.honorific_words.contains(&t.key)
        }).unwrap_or(false)
    }

    /// Name findings grow over directly adjacent Title-case words (max 2 each side).
    pub fn expand_names(&self, text: &str, findings: &mut [Finding]) {
        if !findings.iter().any(|f| f.kind == PhiKind::Name) {
            return;
        }
        let toks = tokenize(text);
        for f in findings.iter_mut().filter(|f| f.kind == PhiKind::Name) {
            let ok = |t: &Tok| {
                let w = &text[t.start..t.end];
                is_title(w) && !has_digit(w) && !self.lx.not_a_name(&t.key)
            };
            for _ in 0..2 {
                match last_ending_before(&toks, f.start) {
                    Some(i) if is_space_gap(&text[toks[i].end..f.start]) && ok(&toks[i]) => f.start = toks[i].start,
                    _ => break,
                }
            }
            for _ in 0..2 {
                let i = first_at_or_after(&toks, f.end);
                match toks.get(i) {
                    Some(t) if is_space_gap(&text[f.end..t.start]) && ok(t) => f.end = t.end,
                    _ => break,
                }
            }
        }
    }

    /// Institution keyword at token `i`: (index of its last token, strong).
    fn institution_at(&self, text: &str, toks: &[Tok], i: usize) -> Option<(usize, bool)> {
        for (words, strong) in &self.lx.inst_phrases {
            let n = words.len();
            if i + n <= toks.len()
                && toks[i..i + n].iter().zip(words).all(|(t, w)| &t.key == w)
                && (1..n).all(|k| is_space_gap(&text[toks[i + k - 1].end..toks[i + k].start]))
            {
                return Some((i + n - 1, *strong));
            }
        }
        let cap = is_capitalised(&text[toks[i].start..toks[i].end]);
        self.lx.institution_word(&toks[i].key, cap).map(|s| (i, s))
    }

    /// A capitalised word that may belong to an institution's name.
    fn inst_word_ok(&self, text: &str, t: &Tok) -> bool {
        let w = &text[t.start..t.end];
        let k = t.key.as_str();
        is_capitalised(w)
            && !has_digit(w)
            && !self.lx.stop.contains(k)
            && !self.lx.keep.contains(k)
            && !self.lx.is_month(k)
            && !self.lx.honorific_words.contains(k)
            && !self.lx.prefix_words.contains(k)
    }

    fn inst_gap_ok(&self, text: &str, left: &Tok, right: &Tok) -> bool {
        let gap = &text[left.end..right.start];
        is_space_gap(gap) || (gap.starts_with('.') && is_space_gap(&gap[1..]) && self.lx.connectors.contains(&left.key))
    }

    /// Walk from keyword tokens over capitalised neighbours and connectors.
    /// Returns the last included index in direction `step` (+1 / -1).
    fn extend_institution(&self, text: &str, toks: &[Tok], from: usize, forward: bool, strong: &mut bool) -> usize {
        let max = if forward { MAX_INST_RIGHT } else { MAX_INST_LEFT };
        let (mut last, mut cur, mut words) = (from, from, 0);
        loop {
            let next = if forward { cur + 1 } else { match cur.checked_sub(1) { Some(n) => n, None => break } };
            let Some(t) = toks.get(next) else { break };
            let (l, r) = if forward { (&toks[cur], t) } else { (t, &toks[cur]) };
            if words >= max || !self.inst_gap_ok(text, l, r) {
                break;
            }
            if self.inst_word_ok(text, t) {
                if let Some((_, s)) = self.institution_at(text, toks, next) {
                    *strong |= s;
                }
                last = next;
                words += 1;
            } else if !self.lx.connectors.contains(&t.key) {
                break;
            }
            cur = next;
        }
        last
    }

    pub(super) fn find_institutions(&self, text: &str, toks: &[Tok], mixed: bool, strict: bool, out: &mut Vec<Finding>) {
        let mut i = 0;
        while i < toks.len() {
            let Some((kw_end, kw_strong)) = self.institution_at(text, toks, i) else {
                i += 1;
                continue;
            };
            let cap = is_capitalised(&text[toks[i].start..toks[i].end]);
            // Weak generic words ("home", "medical") need their own capital and case information.
            if !kw_strong && (!cap || !mixed) {
                i = kw_end + 1;
                continue;
            }
            let mut strong = kw_strong;
            let left = self.extend_institution(text, toks, i, false, &mut strong);
            let right = self.extend_institution(text, toks, kw_end, true, &mut strong);
            if (left == i && right == kw_end) || (strict && !strong) {
                i = kw_end + 1;
                continue;
            }
            let rule = if strong { "institution:keyword" } else { "institution:weak_keyword" };
            push(out, toks[left].start, toks[right].end, PhiKind::Institution, rule);
            i = right + 1;
        }
    }

    fn is_street_prefix(&self, text: &str, t: &Tok) -> bool {
        self.lx.street_before.contains(&t.key)
            || (t.key == "c" && char_after(text, t.end) == Some('/') && self.lx.street_before.contains("c/"))
    }

    fn is_german_street(&self, t: &Tok) -> Option<bool> {
        // Some(true) when the suffix is unambiguous enough to stand without a number.
        self.lx.street_suffixes.iter().find_map(|s| {
            (t.key.len() > s.len() + 2 && t.key.ends_with(s.as_str())).then(|| s == "strasse" || s == "str")
        })
    }

    /// House number right after `t` (space or ", " gap): index of the number token.
    fn number_after(&self, text: &str, toks: &[Tok], i: usize) -> Option<usize> {
        let n = toks.get(i + 1)?;
        let gap = &text[toks[i].end..n.start];
        let gap_ok = is_space_gap(gap) || gap == ", " || gap == "," || gap == ". " || gap == " n. " || gap == ", n. ";
        (gap_ok && is_house_number(&text[n.start..n.end])).then_some(i + 1)
    }

    /// Street name words after a street prefix ("Via [Giuseppe Garibaldi] 12").
    fn street_name_after(&self, text: &str, toks: &[Tok], i: usize) -> Option<usize> {
        let (mut j, mut last, mut words) = (i, None, 0);
        while words < 6 {
            let Some(t) = toks.get(j + 1) else { break };
            let gap = &text[toks[j].end..t.start];
            let abbrev_dot = j == i && gap.starts_with('.') && is_space_gap(&gap[1..]);
            if !is_space_gap(gap) && !abbrev_dot {
                // Elided connectors: "Rue de l'Église" are single tokens already.
                break;
            }
            let w = &text[t.start..t.end];
            if is_capitalised(w) && !has_digit(w) && !self.lx.stop.contains(&t.key) || is_roman(w) {
                last = Some(j + 1);
                words += 1;
            } else if is_capitalised(w) && self.lx.is_month(&t.key) {
                last = Some(j + 1); // "Via XX Settembre"
                words += 1;
            } else if !self.lx.connectors.contains(&t.key) && !self.lx.particles.contains(&t.key) {
                break;
            }
            j += 1;
        }
        let last = last?;
        Some(self.number_after(text, toks, last).unwrap_or(last))
    }

    pub(super) fn find_addresses(&self, text: &str, toks: &[Tok], out: &mut Vec<Finding>) {
        let mut i = 0;
        while i < toks.len() {
            let Some((s, e, rule)) = self.address_at(text, toks, i) else {
                i += 1;
                continue;
            };
            let e = self.address_tail(text, toks, e);
            push(out, toks[s].start, toks[e].end, PhiKind::Address, rule);
            i = e + 1;
        }
    }

    /// An address starting at token `i`: (first, last token index, rule).
    fn address_at(&self, text: &str, toks: &[Tok], i: usize) -> Option<(usize, usize, &'static str)> {
        let t = &toks[i];
        let w = &text[t.start..t.end];
        if is_house_number(w) {
            // "12 Larkspur Close", "221B Baker Street"
            let (mut j, mut end) = (i, None);
            while j + 1 < toks.len() && j - i < 4 {
                let n = &toks[j + 1];
                let nw = &text[n.start..n.end];
                if !is_space_gap(&text[toks[j].end..n.start]) || !is_capitalised(nw) || has_digit(nw) {
                    break;
                }
                if j > i && self.lx.street_after.contains(&n.key) {
                    end = Some(j + 1);
                }
                j += 1;
            }
            if let Some(e) = end {
                return Some((i, e, "address:street"));
            }
            // "3 rue de la Paix"
            let n = toks.get(i + 1)?;
            if is_space_gap(&text[t.end..n.start]) && self.is_street_prefix(text, n) {
                let e = self.street_name_after(text, toks, i + 1)?;
                return Some((i, e, "address:street"));
            }
            return None;
        }
        if self.is_street_prefix(text, t) && is_capitalised(w) {
            let e = self.street_name_after(text, toks, i)?;
            return Some((i, e, "address:street"));
        }
        if is_capitalised(w) {
            if let Some(no_number_ok) = self.is_german_street(t) {
                return match self.number_after(text, toks, i) {
                    Some(e) => Some((i, e, "address:street")),
                    None if no_number_ok => Some((i, i, "address:street")),
                    None => None,
                };
            }
            // "Berliner Straße 12": capitalised words + street word + number.
            if let Some(k) = (i + 1..(i + 4).min(toks.len())).find(|&k| self.lx.street_after.contains(&toks[k].key)) {
                let words_ok = (i..k).all(|x| {
                    let xw = &text[toks[x].start..toks[x].end];
                    let connector = self.lx.connectors.contains(&toks[x].key);
                    is_capitalised(xw) && !has_digit(xw) && (connector || !self.lx.stop.contains(&toks[x].key))
                        && is_space_gap(&text[toks[x].end..toks[x + 1].start])
                });
                if words_ok && is_capitalised(&text[toks[k].start..toks[k].end]) {
                    if let Some(e) = self.number_after(text, toks, k) {
                        return Some((i, e, "address:street"));
                    }
                }
            }
        }
        None
    }

    /// ", 20121 Milano MI" / ", Harrogate HG2 7QT" after a street.
    fn address_tail(&self, text: &str, toks: &[Tok], end: usize) -> usize {
        let Some(first) = toks.get(end + 1) else { return end };
        let gap = &text[toks[end].end..first.start];
        if !matches!(gap.trim(), "," | "-" | "–") || gap.len() > 4 {
            return end;
        }
        let mut last = end;
        let mut j = end + 1;
        while j < toks.len() && j <= end + 5 {
            let t = &toks[j];
            let w = &text[t.start..t.end];
            if j > end + 1 {
                let g = &text[toks[j - 1].end..t.start];
                if !(is_space_gap(g) || g == " (" || g == "(") {
                    break;
                }
            }
            let postal = (j == end + 1 && w.len() == 5 && w.bytes().all(|b| b.is_ascii_digit()))
                || self.uk_outward.is_match(w)
                || self.uk_inward.is_match(w);
            let city = is_capitalised(w) && !has_digit(w) && !self.lx.stop.contains(&t.key) && !self.lx.prefix_words.contains(&t.key);
            // "Frankfurt am Main", "Newcastle upon Tyne"
            let connector = last > end && self.lx.connectors.contains(&t.key) && !is_capitalised(w);
            if connector {
                j += 1;
                continue;
            }
            if !(postal || city) {
                break;
            }
            last = j;
            j += 1;
        }
        if last > end && text[toks[last].end..].starts_with(')') {
            // keep "(MI)" balanced: the ')' is punctuation outside the span, harmless
        }
        last
    }

    /// City words right before a UK postcode ("Leeds LS9 7TF", "Newcastle upon Tyne NE1 4LP").
    fn city_before(&self, text: &str, toks: &[Tok], pos: usize) -> usize {
        let mut start = pos;
        let mut cur = pos;
        for _ in 0..4 {
            let Some(i) = last_ending_before(toks, cur) else { break };
            let t = &toks[i];
            let w = &text[t.start..t.end];
            if !is_space_gap(&text[t.end..cur]) {
                break;
            }
            let city = is_title(w) && !self.lx.stop.contains(&t.key) && !self.lx.prefix_words.contains(&t.key)
                && !self.lx.is_month(&t.key);
            if city {
                start = t.start;
            } else if !(start < pos && self.lx.connectors.contains(&t.key) && !is_capitalised(w)) {
                break;
            }
            cur = t.start;
        }
        start
    }

    pub(super) fn find_postal(&self, text: &str, toks: &[Tok], out: &mut Vec<Finding>) {
        for m in self.uk_postcode.find_iter(text) {
            let start = self.city_before(text, toks, m.start());
            push(out, start, m.end(), PhiKind::PostalCode, "postal_code:uk");
        }
        for c in self.postal_keyword().captures_iter(text) {
            if let Some(g) = c.get(1) {
                push(out, g.start(), g.end(), PhiKind::PostalCode, "postal_code:keyword");
            }
        }
        for c in self.us_zip().captures_iter(text) {
            if let Some(g) = c.get(1) {
                push(out, g.start(), g.end(), PhiKind::PostalCode, "postal_code:us");
            }
        }
        // 5-digit code + city: "20121 Milano (MI)", "75013 Paris", "D-10115 Berlin".
        for (i, t) in toks.iter().enumerate() {
            let w = &text[t.start..t.end];
            let code = w.rsplit('-').next().unwrap_or(w);
            let code_ok = code.len() == 5 && code.bytes().all(|b| b.is_ascii_digit()) && (code.len() == w.len() || w.len() <= 8);
            if !code_ok || matches!(char_before(text, t.start), Some('.' | ',' | '/' | '+')) {
                continue;
            }
            let Some(city) = toks.get(i + 1) else { continue };
            let cw = &text[city.start..city.end];
            let city_ok = is_space_gap(&text[t.end..city.start])
                && (is_title(cw) || (is_all_caps(cw) && cw.chars().count() >= 3))
                && !self.lx.stop.contains(&city.key)
                && !self.lx.is_month(&city.key);
            if !city_ok {
                continue;
            }
            let mut end = city.end;
            let mut j = i + 2;
            while let Some(n) = toks.get(j) {
                let nw = &text[n.start..n.end];
                let g = &text[toks[j - 1].end..n.start];
                let next_ok = (is_space_gap(g) || g == " (") && is_capitalised(nw) && !has_digit(nw)
                    && !self.lx.stop.contains(&n.key) && j < i + 4;
                if !next_ok {
                    break;
                }
                end = n.end;
                j += 1;
            }
            if text[end..].starts_with(')') && text[t.start..end].contains('(') {
                end += 1;
            }
            push(out, t.start, end, PhiKind::PostalCode, "postal_code:city");
        }
    }
}

/// "J." style initial.
fn is_initial(text: &str, t: &Tok) -> bool {
    let w = &text[t.start..t.end];
    let mut c = w.chars();
    matches!((c.next(), c.next()), (Some(f), None) if f.is_uppercase()) && char_after(text, t.end) == Some('.')
}

/// Words inside a name are separated by spaces, a DICOM '^', or ". " after an initial.
fn name_gap_ok(text: &str, prev: &Tok, next: &Tok) -> bool {
    let gap = &text[prev.end..next.start];
    is_space_gap(gap) || gap == "^" || (is_initial(text, prev) && (gap == ". " || gap == "."))
}

/// "12", "221B", "10a", "45/A".
fn is_house_number(w: &str) -> bool {
    let digits = w.chars().take_while(|c| c.is_ascii_digit()).count();
    let rest = &w[digits..];
    (1..=4).contains(&digits) && rest.chars().count() <= 3 && rest.chars().all(|c| c.is_alphabetic()) && !w.starts_with('0')
}

fn is_roman(w: &str) -> bool {
    !w.is_empty() && w.len() <= 5 && w.chars().all(|c| matches!(c, 'I' | 'V' | 'X' | 'L'))
}
