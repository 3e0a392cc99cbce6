//! The independent verification pass: re-read the written bytes and check that no
//! harvested identifying value survives, in any parsed value or in the raw bytes, that
//! every removed element is gone and that no private element outside the safe list is
//! left. It shares no matching code with the cleaner, so a bug in one action does not
//! become a leak. Failure withholds the file.

use crate::engine::io;
use crate::error::{Error, Result};
use crate::policy::selector::display_path;
use crate::policy::Policy;
use crate::report::Verification;
use crate::text::{PhiKind, Vocabulary};
use dicom_core::header::Header;
use dicom_core::value::Value;
use dicom_object::mem::InMemDicomObject;
use aho_corasick::AhoCorasick;
use std::collections::HashSet;
use std::io::Read;

const DEFLATED: &str = "1.2.840.10008.1.2.1.99";
const MARKERS: &[&str] = &[
    "PatientIdentityRemoved",
    "DeidentificationMethod",
    "DeidentificationMethodCodeSequence",
    "LongitudinalTemporalInformationModified",
];

/// The markers' own texts, lower case, longest first (so that blanking a longer one is not
/// pre-empted by a shorter one inside it).
fn marker_texts() -> Vec<String> {
    let mut t: Vec<String> = crate::engine::markers::fixed_texts().iter().map(|s| s.to_lowercase()).collect();
    t.sort_by_key(|s| std::cmp::Reverse(s.len()));
    t
}

/// `hay` with every marker text replaced by spaces: the words of "Retain Patient
/// Characteristics Option" are this program's, not the patient's, wherever they stand.
fn blank_marker_texts(mut hay: String, markers: &[String]) -> String {
    for m in markers {
        if hay.contains(m.as_str()) {
            hay = hay.replace(m.as_str(), &" ".repeat(m.len()));
        }
    }
    hay
}

/// One literal to look for, folded for case-insensitive search.
struct Needle {
    text: String,
    numeric: bool,
    kind: PhiKind,
}

/// Every needle at once (one automaton per patient vocabulary), with the boundary rules
/// applied per hit.
pub struct Needles {
    list: Vec<Needle>,
    automaton: Option<AhoCorasick>,
}

impl Needles {
    pub fn new(vocab: &Vocabulary, policy: &Policy) -> Needles {
        let o = &policy.options;
        let list: Vec<Needle> = vocab
            .literals()
            .into_iter()
            .filter(|(s, kind)| {
                s.chars().count() >= 3
                    && !(*kind == PhiKind::Date && o.retain_longitudinal_full_dates)
                    && !(*kind == PhiKind::Uid && o.retain_uids)
            })
            .map(|(s, kind)| Needle {
                numeric: s.chars().all(|c| c.is_ascii_digit() || " ./:+-".contains(c)),
                text: s.to_lowercase(),
                kind,
            })
            .collect();
        let automaton = (!list.is_empty())
            .then(|| AhoCorasick::new(list.iter().map(|n| n.text.as_str())).expect("literal patterns build"));
        Needles { list, automaton }
    }

    /// The first needle found in `hay` (already lower-case). Numbers must not touch other
    /// digits (a date is no leak inside a fresh 2.25 UID); with `words`, text needles must
    /// not touch letters or digits either, otherwise they match anywhere (a byte search) if
    /// they have at least four characters.
    fn find(&self, hay: &str, words: bool) -> Option<&Needle> {
        let ac = self.automaton.as_ref()?;
        ac.find_overlapping_iter(hay).find_map(|m| {
            let n = &self.list[m.pattern().as_usize()];
            if !words && !n.numeric && n.text.chars().count() < 4 {
                return None; // three letters match by chance somewhere in binary header bytes
            }
            let before = hay[..m.start()].chars().next_back();
            let after = hay[m.end()..].chars().next();
            let touches = |c: Option<char>| {
                c.is_some_and(|c| if n.numeric { c.is_ascii_digit() } else { words && c.is_alphanumeric() })
            };
            (!touches(before) && !touches(after)).then_some(n)
        })
    }
}

pub fn verify_output(bytes: &[u8], needles: &Needles, removed: &[String], policy: &Policy) -> Result<Verification> {
    // The whole file, so that elements after Pixel Data are checked too.
    let file = io::parse(bytes, false, &policy.limits).map_err(|e| Error::verification(format!("the output does not parse back: {e}")))?;
    let ts = io::transfer_syntax(file.meta());
    let obj = file.into_inner();
    let mut stats = Verification { vocabulary_entries: needles.list.len(), ..Default::default() };

    let mut paths = HashSet::new();
    let mut problems = Vec::new();
    let markers = marker_texts();
    walk(&obj, &mut Vec::new(), needles, &markers, &mut paths, &mut problems, &mut stats, policy);
    for r in removed {
        stats.removed_elements_checked += 1;
        if paths.contains(r) && !MARKERS.contains(&r.as_str()) {
            problems.push(format!("removed element {r} is present"));
        }
    }

    let raw = header_bytes(bytes, &ts)?;
    stats.raw_bytes_checked = raw.len();
    for enc in [raw_latin1(&raw).to_lowercase(), String::from_utf8_lossy(&raw).to_lowercase()] {
        if let Some(n) = needles.find(&blank_marker_texts(enc, &markers), false) {
            problems.push(format!("a harvested {:?} value is present in the raw bytes", n.kind));
        }
    }
    if problems.is_empty() {
        Ok(stats)
    } else {
        problems.sort();
        problems.dedup();
        Err(Error::verification(format!("verification failed, file withheld: {}", problems.join("; "))))
    }
}

fn raw_latin1(b: &[u8]) -> String {
    b.iter().map(|&c| c as char).collect()
}

#[allow(clippy::too_many_arguments)]
fn walk(
    obj: &InMemDicomObject,
    path: &mut Vec<(u32, usize)>,
    needles: &Needles,
    markers: &[String],
    paths: &mut HashSet<String>,
    problems: &mut Vec<String>,
    stats: &mut Verification,
    policy: &Policy,
) {
    for e in obj.iter() {
        let tag = ((e.tag().group() as u32) << 16) | e.tag().element() as u32;
        let p = display_path(path, tag);
        if e.tag().group() % 2 == 1 && e.tag().element() >= 0x1000 && !policy.options.retain_safe_private {
            problems.push(format!("private element {p} is present without Retain Safe Private"));
        }
        match e.value() {
            Value::Sequence(seq) => {
                for (i, item) in seq.items().iter().enumerate() {
                    path.push((tag, i));
                    walk(item, path, needles, markers, paths, problems, stats, policy);
                    path.pop();
                }
            }
            Value::Primitive(v) => {
                let vr = e.vr().to_string();
                if !matches!(vr, "OB" | "OW" | "OF" | "OD" | "OL" | "OV" | "US" | "SS" | "UL" | "SL" | "FL" | "FD" | "SV" | "UV" | "AT") {
                    let mut text = v.to_str().to_lowercase();
                    // Only the method and its codes hold the markers' texts (and a search
                    // for each of them in every value would cost more than the check).
                    if p.starts_with("DeidentificationMethod") {
                        text = blank_marker_texts(text, markers);
                    }
                    stats.values_checked += 1;
                    if let Some(n) = needles.find(&text, true) {
                        problems.push(format!("a harvested {:?} value survives in {p}", n.kind));
                    }
                }
            }
            Value::PixelSequence(_) => {}
        }
        paths.insert(p);
    }
}

/// The bytes before Pixel Data (the data set inflated if deflated): preamble, meta group
/// and every header value, where a leak would be visible to a byte search.
fn header_bytes(bytes: &[u8], ts: &str) -> Result<Vec<u8>> {
    let before_pixels = |data: &[u8]| {
        let le = [0xE0, 0x7F, 0x10, 0x00];
        let be = [0x7F, 0xE0, 0x00, 0x10];
        data.windows(4).position(|w| w == le || w == be).unwrap_or(data.len())
    };
    if ts == DEFLATED {
        let start = meta_end(bytes).ok_or_else(|| Error::verification("cannot find the end of the meta group"))?;
        let mut data = bytes[..start].to_vec();
        flate2::read::DeflateDecoder::new(&bytes[start..])
            .read_to_end(&mut data)
            .map_err(|e| Error::verification(format!("the deflated output does not inflate: {e}")))?;
        data.truncate(before_pixels(&data));
        return Ok(data);
    }
    // Only the part before Pixel Data is copied (the output may be a 1 GB clip).
    Ok(bytes[..before_pixels(bytes)].to_vec())
}

/// Offset just past the file meta group (explicit VR little endian, after preamble + DICM).
fn meta_end(b: &[u8]) -> Option<usize> {
    let mut pos = 132;
    while pos + 8 <= b.len() && u16::from_le_bytes([b[pos], b[pos + 1]]) == 0x0002 {
        let vr = &b[pos + 4..pos + 6];
        if matches!(vr, b"OB" | b"OW" | b"OF" | b"SQ" | b"UT" | b"UN" | b"UC" | b"UR" | b"OD" | b"OL" | b"OV" | b"SV" | b"UV") {
            let len = u32::from_le_bytes(b.get(pos + 8..pos + 12)?.try_into().ok()?) as usize;
            pos += 12 + len;
        } else {
            pos += 8 + u16::from_le_bytes([b[pos + 6], b[pos + 7]]) as usize;
        }
    }
    Some(pos)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn needles(words: &[(&str, PhiKind)]) -> Needles {
        let mut v = Vocabulary::new();
        for (w, k) in words {
            v.add(w, *k);
        }
        Needles::new(&v, &Policy::default())
    }

    #[test]
    fn finds_with_boundaries() {
        let n = needles(&[("Pemberton", PhiKind::Other), ("12345678", PhiKind::Id)]);
        assert!(n.find("patient pemberton seen", true).is_some());
        assert!(n.find("pembertonshire", true).is_none(), "whole words in parsed values");
        assert!(n.find("xxpembertonxx", false).is_some(), "anywhere in raw bytes");
        assert!(n.find("mrn 12345678.", true).is_some());
        assert!(n.find("2.25.9912345678001", false).is_none(), "numbers never inside other digits");
        assert!(needles(&[]).find("anything", false).is_none());
    }

    #[test]
    fn kept_full_dates_are_not_needles() {
        let mut v = Vocabulary::new();
        v.add("20240315", PhiKind::Date);
        let mut p = Policy::default();
        assert!(!Needles::new(&v, &p).list.is_empty());
        p.options.retain_longitudinal_modified_dates = false;
        p.options.retain_longitudinal_full_dates = true;
        assert!(Needles::new(&v, &p).list.is_empty());
    }
}
