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

/// `path` is one of the markers or inside one of them.
fn is_marker(path: &str) -> bool {
    MARKERS.iter().any(|m| path.strip_prefix(m).is_some_and(|rest| rest.is_empty() || rest.starts_with('[')))
}

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
    /// Some needle holds a character beyond ASCII.
    non_ascii: bool,
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
        let non_ascii = list.iter().any(|n| !n.text.is_ascii());
        Needles { list, automaton, non_ascii }
    }

    /// The first needle found in `hay` (already lower-case), by the rules of `scope`. Numbers
    /// never touch other digits (a date is no leak inside a fresh 2.25 UID).
    fn find(&self, hay: &str, scope: Scope) -> Option<&Needle> {
        let ac = self.automaton.as_ref()?;
        ac.find_overlapping_iter(hay).find_map(|m| {
            let n = &self.list[m.pattern().as_usize()];
            if scope != Scope::Value && !n.numeric && n.text.chars().count() < 4 {
                return None; // three letters make a word by chance in binary bytes
            }
            let before = hay[..m.start()].chars().next_back();
            let after = hay[m.end()..].chars().next();
            let touches = |c: Option<char>| {
                c.is_some_and(|c| if n.numeric { c.is_ascii_digit() } else { scope != Scope::Binary && c.is_alphanumeric() })
            };
            (!touches(before) && !touches(after)).then_some(n)
        })
    }
}

/// Where a needle is looked for, which decides what counts as a hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// A parsed text value: whole words.
    Value,
    /// The raw header bytes: whole words of at least four letters. Not anywhere: "text" is
    /// inside the SR relationship "HAS OBS CONTEXT" and "long" inside "longitudinal", so a
    /// person called Text or Long would withhold every such file (pydicom's reportsi.dcm).
    /// A value whose edge touches header bytes that read as letters is found by the walk,
    /// which checks it within its own edges.
    RawHeader,
    /// The bytes of a binary value (OB, OW, UN...), where words have no edges: anywhere, at
    /// least four letters.
    Binary,
}

/// Binary VRs: no text to parse, but text may hide in their bytes (a PDF, a vendor blob).
fn is_binary(vr: &str) -> bool {
    matches!(vr, "OB" | "OW" | "OF" | "OD" | "OL" | "OV" | "UN")
}

/// Pixel Data, float and double float: image samples, not text, and possibly a gigabyte.
fn is_pixel_data(tag: u32) -> bool {
    matches!(tag, 0x7FE0_0010 | 0x7FE0_0008 | 0x7FE0_0009)
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
    for enc in lower_case_readings(&raw) {
        if let Some(n) = needles.find(&blank_marker_texts(enc, &markers), Scope::RawHeader) {
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

/// `b` read as Latin-1 and as UTF-8 (invalid sequences replaced), lower case: a name is
/// found in either encoding. Pure ASCII reads the same both ways and is searched once.
fn lower_case_readings(b: &[u8]) -> Vec<String> {
    let latin1 = latin1_lower(b);
    if b.is_ascii() {
        return vec![latin1];
    }
    vec![latin1, utf8_lower(b)]
}

/// `String::from_utf8_lossy(b).to_lowercase()`, without its char-by-char path over the ASCII
/// that most of a header is: ASCII bytes are lowered as bytes, other characters by the
/// Unicode tables, invalid sequences become U+FFFD. A capital sigma (whose lower case
/// depends on the letters around it) takes the standard path.
fn utf8_lower(b: &[u8]) -> String {
    const CAPITAL_SIGMA: [u8; 2] = [0xCE, 0xA3];
    if b.windows(2).any(|w| w == CAPITAL_SIGMA) {
        return String::from_utf8_lossy(b).to_lowercase();
    }
    let mut out = Vec::with_capacity(b.len() + b.len() / 4);
    let mut buf = [0u8; 4];
    for chunk in b.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_ascii() {
                out.push((c as u8).to_ascii_lowercase());
            } else {
                c.to_lowercase().for_each(|l| out.extend_from_slice(l.encode_utf8(&mut buf).as_bytes()));
            }
        }
        if !chunk.invalid().is_empty() {
            out.extend_from_slice(char::REPLACEMENT_CHARACTER.encode_utf8(&mut buf).as_bytes());
        }
    }
    String::from_utf8(out).expect("ASCII and encoded characters only")
}

/// The readings of a binary value that the Binary scope needs. Found anywhere, an ASCII
/// needle is found in the UTF-8 reading exactly where it is found in the Latin-1 one (the
/// same ASCII runs, lower-cased the same), unless a character whose lower case holds an
/// ASCII letter (`ASCII_LOWERING`) is there: the UTF-8 reading, the costly one (binary
/// values are long and their bytes mostly not ASCII), is made only for needles with other
/// letters, or around such a character.
fn binary_readings(b: &[u8], non_ascii_needles: bool) -> Vec<String> {
    let lowers_to_ascii = || ASCII_LOWERING.iter().any(|c| b.windows(c.len()).any(|w| w == *c));
    if b.is_ascii() || non_ascii_needles || lowers_to_ascii() {
        return lower_case_readings(b);
    }
    vec![latin1_lower(b)]
}

/// The UTF-8 encodings of the only characters beyond ASCII whose lower case holds an ASCII
/// letter: U+0130 (capital I with dot, lower case "i" and a combining dot) and U+212A
/// (Kelvin sign, lower case "k"). Checked over every character by a test.
const ASCII_LOWERING: [&[u8]; 2] = [&[0xC4, 0xB0], &[0xE2, 0x84, 0xAA]];

/// `b` read as Latin-1, lower case, without the Unicode tables (binary values are long and
/// half their bytes are not ASCII): every Latin-1 capital is its small letter minus 0x20.
fn latin1_lower(b: &[u8]) -> String {
    // Built as UTF-8 bytes, ASCII runs a block at a time (pushing chars one by one onto a
    // String was a tenth of a run on a corpus of small files): the rest as the two-byte
    // encodings of their Latin-1 characters.
    let mut out = Vec::with_capacity(b.len() + b.len() / 4);
    for block in b.chunks(16) {
        if block.is_ascii() {
            let start = out.len();
            out.extend_from_slice(block);
            out[start..].make_ascii_lowercase();
            continue;
        }
        for &c in block {
            let c = if c.is_ascii_uppercase() || ((0xC0..=0xDE).contains(&c) && c != 0xD7) { c + 0x20 } else { c };
            if c.is_ascii() {
                out.push(c);
            } else {
                out.extend_from_slice(&[0xC0 | (c >> 6), 0x80 | (c & 0x3F)]);
            }
        }
    }
    String::from_utf8(out).expect("Latin-1 encoded as UTF-8")
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
                if is_binary(vr) {
                    if !(path.is_empty() && is_pixel_data(tag)) {
                        let bytes = v.to_bytes();
                        stats.values_checked += 1;
                        for hay in binary_readings(&bytes, needles.non_ascii) {
                            if let Some(n) = needles.find(&hay, Scope::Binary) {
                                problems.push(format!("a harvested {:?} value is present in the bytes of {p}", n.kind));
                            }
                        }
                    }
                } else if !matches!(vr, "US" | "SS" | "UL" | "SL" | "FL" | "FD" | "SV" | "UV" | "AT") {
                    let mut text = v.to_str().to_lowercase();
                    // Only the markers hold the markers' texts (and a search for each of
                    // them in every value would cost more than the check).
                    if is_marker(&p) {
                        text = blank_marker_texts(text, markers);
                    }
                    stats.values_checked += 1;
                    if let Some(n) = needles.find(&text, Scope::Value) {
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
        assert!(n.find("patient pemberton seen", Scope::Value).is_some());
        assert!(n.find("pembertonshire", Scope::Value).is_none(), "whole words in parsed values");
        assert!(n.find("\0pemberton\u{10}", Scope::RawHeader).is_some());
        assert!(n.find("xxpembertonxx", Scope::RawHeader).is_none(), "whole words in raw header bytes");
        assert!(n.find("xxpembertonxx", Scope::Binary).is_some(), "anywhere in binary values");
        assert!(n.find("mrn 12345678.", Scope::Value).is_some());
        for scope in [Scope::Value, Scope::RawHeader, Scope::Binary] {
            assert!(n.find("2.25.9912345678001", scope).is_none(), "numbers never inside other digits");
        }
        assert!(needles(&[]).find("anything", Scope::Binary).is_none());
    }

    #[test]
    fn three_letters_only_as_whole_parsed_values() {
        let n = needles(&[("Lee", PhiKind::Name)]);
        assert!(n.find("dr lee", Scope::Value).is_some());
        assert!(n.find("\0lee\0", Scope::RawHeader).is_none());
        assert!(n.find("\0lee\0", Scope::Binary).is_none());
    }

    /// A small explicit VR little endian file holding `elements` (and the meta it needs).
    fn file_with(elements: Vec<dicom_core::DataElement<InMemDicomObject>>) -> Vec<u8> {
        use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
        let mut all = vec![
            DataElement::new(Tag(0x0008, 0x0016), VR::UI, PrimitiveValue::from("1.2.840.10008.5.1.4.1.1.7")),
            DataElement::new(Tag(0x0008, 0x0018), VR::UI, PrimitiveValue::from("2.25.1")),
        ];
        all.extend(elements);
        let obj = InMemDicomObject::from_element_iter(all);
        let meta = dicom_object::meta::FileMetaTableBuilder::new().transfer_syntax("1.2.840.10008.1.2.1");
        let mut out = Vec::new();
        obj.with_meta(meta).unwrap().write_all(&mut out).unwrap();
        out
    }

    fn ob(g: u16, e: u16, bytes: &[u8]) -> dicom_core::DataElement<InMemDicomObject> {
        dicom_core::DataElement::new(dicom_core::Tag(g, e), dicom_core::VR::OB, dicom_core::PrimitiveValue::from(bytes.to_vec()))
    }

    #[test]
    fn names_in_binary_values_are_found_anywhere_but_not_in_pixel_data() {
        let n = needles(&[("Pemberton", PhiKind::Name)]);
        let check = |bytes: &[u8]| verify_output(bytes, &n, &[], &Policy::default());
        // An encapsulated document with the name glued between other letters.
        let doc = check(&file_with(vec![ob(0x0042, 0x0011, b"%PDF-1.4 (xPembertonx) Tj ")]));
        assert!(doc.unwrap_err().to_string().contains("in the bytes of"), "found inside a binary value");
        // After Pixel Data, where the raw-header search never looks.
        let trailing = check(&file_with(vec![ob(0x7FE0, 0x0010, &[0; 16]), ob(0xFFFA, 0xFFFA, b"..PEMBERTON..")]));
        assert!(trailing.is_err(), "binary values after Pixel Data are checked too");
        // Pixel samples are not text: they may read as anything.
        assert!(check(&file_with(vec![ob(0x7FE0, 0x0010, b"apembertonb\0\0\0\0\0")])).is_ok());
    }

    #[test]
    fn marker_paths() {
        assert!(is_marker("DeidentificationMethod"));
        assert!(is_marker("DeidentificationMethodCodeSequence[1].CodeMeaning"));
        assert!(!is_marker("DeidentificationMethodX"));
        assert!(!is_marker("ContentSequence[0].DeidentificationMethod"), "only the top-level markers are ours");
    }

    #[test]
    fn latin1_lower_case_is_the_unicode_one() {
        let all: Vec<u8> = (0..=255).collect();
        let unicode: String = all.iter().map(|&c| c as char).collect::<String>().to_lowercase();
        assert_eq!(latin1_lower(&all), unicode);
        assert_eq!(lower_case_readings(b"ASCII Only"), ["ascii only"]);
        assert_eq!(lower_case_readings("MÜLLER".as_bytes())[1], "müller");
    }

    #[test]
    fn fast_lower_case_readings_are_the_standard_ones() {
        let standard = |b: &[u8]| String::from_utf8_lossy(b).to_lowercase();
        let mut cases: Vec<Vec<u8>> = vec![
            b"PLAIN ASCII".to_vec(),
            "MÜLLER İSTANBUL KELVIN \u{212A} ΟΔΥΣΣΕΥΣ Σ".as_bytes().to_vec(),
            b"\xC3\xA9SMITH\xFF\xFE\xC3".to_vec(),
            b"\xF0\x9F\x98\x80 \xE2\x84 X".to_vec(),
        ];
        // Pseudo-random bytes, mostly ASCII with high bytes between, as headers are.
        let mut x = 0x2545_F491_u32;
        for len in [1usize, 7, 64, 1000] {
            cases.push((0..len).map(|_| { x ^= x << 13; x ^= x >> 17; x ^= x << 5; if x % 5 == 0 { (x >> 8) as u8 } else { b'A' + (x % 26) as u8 } }).collect());
        }
        for c in &cases {
            assert_eq!(utf8_lower(c), standard(c), "{c:?}");
            assert_eq!(latin1_lower(c), c.iter().map(|&b| b as char).collect::<String>().to_lowercase(), "{c:?}");
        }
    }

    #[test]
    fn only_two_characters_beyond_ascii_lower_to_ascii_letters() {
        let lowering: Vec<Vec<u8>> = (0x80..=0x10FFFFu32)
            .filter_map(char::from_u32)
            .filter(|c| c.to_lowercase().any(|l| l.is_ascii()))
            .map(|c| c.to_string().into_bytes())
            .collect();
        assert_eq!(lowering, ASCII_LOWERING.map(<[u8]>::to_vec).to_vec());
    }

    #[test]
    fn binary_values_are_read_as_utf8_only_when_it_can_matter() {
        let latin1_only = |b: &[u8], non_ascii| binary_readings(b, non_ascii).len() == 1;
        assert!(latin1_only(b"\xC3\xA9SMITH\xFF", false));
        assert!(!latin1_only(b"\xC3\xA9SMITH\xFF", true), "a needle with accents needs the UTF-8 reading");
        assert!(!latin1_only("\u{130}RIS\u{0}".as_bytes(), false), "capital I with dot lowers to i");
        let n = needles(&[("Kimura", PhiKind::Name)]);
        let hay = [b"\x00\xFF".as_slice(), "\u{212A}IMURA".as_bytes()].concat();
        assert!(binary_readings(&hay, n.non_ascii).iter().any(|h| n.find(h, Scope::Binary).is_some()));
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
