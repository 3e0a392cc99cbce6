//! Merging overlapping findings and replacing them in text.

use super::{Finding, PhiKind};

/// Kind preference when two contributors have the same length (more specific first).
fn kind_rank(k: PhiKind) -> u8 {
    match k {
        PhiKind::NationalId => 0,
        PhiKind::Email => 1,
        PhiKind::Url => 2,
        PhiKind::Uid => 3,
        PhiKind::Phone => 4,
        PhiKind::Date => 5,
        PhiKind::Time => 6,
        PhiKind::PostalCode => 7,
        PhiKind::Address => 8,
        PhiKind::Institution => 9,
        PhiKind::Name => 10,
        PhiKind::Id => 11,
        PhiKind::Other => 12,
    }
}

/// True when `a` should give its kind/rule to a merged span over `b`.
fn better(a: &Finding, b: &Finding) -> bool {
    let (la, lb) = (a.end - a.start, b.end - b.start);
    la > lb || (la == lb && kind_rank(a.kind) < kind_rank(b.kind))
}

/// Sort by start and merge overlapping findings; the merged finding keeps the
/// kind and rule of its longest contributor.
pub fn merge_findings(mut v: Vec<Finding>) -> Vec<Finding> {
    v.retain(|f| f.start < f.end);
    v.sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)));
    let mut out: Vec<Finding> = Vec::with_capacity(v.len());
    // Longest contributor of the current merged span.
    let mut best: Option<Finding> = None;
    for f in v {
        match out.last_mut() {
            Some(cur) if f.start < cur.end => {
                cur.end = cur.end.max(f.end);
                if best.as_ref().map(|b| better(&f, b)).unwrap_or(true) {
                    cur.kind = f.kind;
                    cur.rule = f.rule.clone();
                    best = Some(f);
                }
            }
            _ => {
                best = Some(f.clone());
                out.push(f);
            }
        }
    }
    out
}

/// Chars that may separate two findings that then collapse into one replacement.
fn is_joinable_gap(gap: &str) -> bool {
    gap.chars().all(|c| c.is_whitespace() || matches!(c, ',' | ';' | '-' | '/' | '^' | '\u{2013}'))
}

/// Clamp a finding into `text` on char boundaries; None if nothing is left.
fn clamp(text: &str, f: &Finding) -> Option<(usize, usize)> {
    let mut s = f.start.min(text.len());
    let mut e = f.end.min(text.len());
    while s > 0 && !text.is_char_boundary(s) {
        s -= 1;
    }
    while e < text.len() && !text.is_char_boundary(e) {
        e += 1;
    }
    (s < e).then_some((s, e))
}

/// Replace each finding span by `replacement`; neighbouring spans separated only by
/// spaces or list punctuation collapse into one replacement. Trims and collapses
/// double spaces.
pub fn redact(text: &str, findings: &[Finding], replacement: &str) -> String {
    let mut spans: Vec<(usize, usize)> = findings.iter().filter_map(|f| clamp(text, f)).collect();
    spans.sort();
    let mut groups: Vec<(usize, usize)> = Vec::with_capacity(spans.len());
    for (s, e) in spans {
        match groups.last_mut() {
            Some(g) if s <= g.1 || is_joinable_gap(&text[g.1..s]) => g.1 = g.1.max(e),
            _ => groups.push((s, e)),
        }
    }
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    for (s, e) in groups {
        out.push_str(&text[pos..s]);
        out.push_str(replacement);
        pos = e;
    }
    out.push_str(&text[pos..]);
    collapse_double_spaces(out.trim())
}

fn collapse_double_spaces(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev_space = false;
    for c in s.chars() {
        if c == ' ' {
            if prev_space {
                continue;
            }
            prev_space = true;
        } else {
            prev_space = false;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(start: usize, end: usize, kind: PhiKind, rule: &str) -> Finding {
        Finding { start, end, kind, rule: rule.into() }
    }

    #[test]
    fn merges_overlaps_keeping_longest() {
        let v = vec![f(5, 10, PhiKind::Id, "id"), f(0, 8, PhiKind::Name, "name"), f(20, 25, PhiKind::Date, "d")];
        let m = merge_findings(v);
        assert_eq!(m.len(), 2);
        assert_eq!((m[0].start, m[0].end, m[0].kind), (0, 10, PhiKind::Name));
        let m = merge_findings(vec![f(0, 10, PhiKind::Phone, "p"), f(0, 10, PhiKind::NationalId, "n")]);
        assert_eq!(m[0].kind, PhiKind::NationalId);
        assert!(merge_findings(vec![f(3, 3, PhiKind::Id, "x")]).is_empty());
    }

    #[test]
    fn redact_collapses_neighbours() {
        let t = "Rossi, Mario nato 01/02/1960 a Roma";
        let v = vec![f(0, 5, PhiKind::Name, "n"), f(7, 12, PhiKind::Name, "n"), f(18, 28, PhiKind::Date, "d")];
        assert_eq!(redact(t, &v, "[X]"), "[X] nato [X] a Roma");
        assert_eq!(redact("  a  b ", &[], "[X]"), "a b");
        assert_eq!(redact("", &[f(0, 5, PhiKind::Id, "x")], "[X]"), "");
    }

    #[test]
    fn redact_survives_bad_offsets() {
        let t = "é1234é";
        let v = vec![f(1, 5, PhiKind::Id, "x"), f(100, 200, PhiKind::Id, "y")];
        let r = redact(t, &v, "#");
        assert!(r.contains('#'));
    }
}
