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
use aho_corasick::{AhoCorasick, AhoCorasickBuilder};
use crate::policy::selector::ItemPath;
use std::collections::HashMap;
use std::io::Read;
use std::ops::Range;
use std::sync::OnceLock;

use crate::engine::DEFLATED;
/// The markers: PatientIdentityRemoved, DeidentificationMethod,
/// DeidentificationMethodCodeSequence, LongitudinalTemporalInformationModified.
const MARKERS: [u32; 4] = [0x0012_0062, 0x0012_0063, 0x0012_0064, 0x0028_0303];

/// The element `tag` at `path` is one of the (top-level) markers or inside one of them.
fn is_marker(path: &ItemPath, tag: u32) -> bool {
    MARKERS.contains(&path.first().map_or(tag, |(top, _)| *top))
}

/// The markers' own texts, lower case, longest first (so that blanking a longer one is not
/// pre-empted by a shorter one inside it), and an automaton finding all of them in raw bytes.
struct MarkerTexts {
    texts: Vec<String>,
    automaton: AhoCorasick,
}

fn marker_texts() -> &'static MarkerTexts {
    static TEXTS: OnceLock<MarkerTexts> = OnceLock::new();
    TEXTS.get_or_init(|| {
        let mut texts: Vec<String> = crate::engine::markers::fixed_texts().iter().map(|s| s.to_lowercase()).collect();
        texts.sort_by_key(|s| std::cmp::Reverse(s.len()));
        assert!(texts.iter().all(|t| t.is_ascii()), "the markers' texts are ASCII");
        let automaton = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .build(&texts)
            .expect("literal patterns build");
        MarkerTexts { texts, automaton }
    })
}

impl MarkerTexts {
    /// `hay` with every marker text replaced by spaces: the words of "Retain Patient
    /// Characteristics Option" are this program's, not the patient's, wherever they stand.
    fn blank(&self, mut hay: String) -> String {
        for m in &self.texts {
            if hay.contains(m.as_str()) {
                hay = hay.replace(m.as_str(), &" ".repeat(m.len()));
            }
        }
        hay
    }

    /// Where `blank` would put spaces in a lower-case reading of the raw bytes `b`, as byte
    /// ranges of `b` (the texts are ASCII, so they sit at the same bytes in every reading):
    /// each text in turn, longest first, at its non-overlapping occurrences that no longer
    /// text has blanked.
    fn ranges(&self, b: &[u8]) -> Vec<Range<usize>> {
        let mut found: Vec<(usize, Range<usize>)> =
            self.automaton.find_overlapping_iter(b).map(|m| (m.pattern().as_usize(), m.range())).collect();
        if found.is_empty() {
            return Vec::new();
        }
        found.sort_by_key(|(p, r)| (*p, r.start));
        let mut blanks: Vec<Range<usize>> = Vec::new();
        for (_, r) in found {
            // An occurrence overlapping a blanked one is gone from the blanked text.
            if !blanks.iter().any(|b| b.start < r.end && r.start < b.end) {
                blanks.push(r);
            }
        }
        blanks
    }
}

/// One literal to look for, folded for case-insensitive search.
struct Needle {
    text: String,
    numeric: bool,
    /// Fewer than four characters: a word only where words have edges (parsed values).
    short: bool,
    kind: PhiKind,
}

/// Every needle at once (automata per patient vocabulary), with the boundary rules applied
/// per hit. A needle is matched straight on the bytes to check, ASCII lower-cased, through
/// its spellings: the byte strings that the Latin-1 or the UTF-8 lower-case reading turns
/// into it (an ASCII needle is one spelling in both readings; "märz" is "märz" and "mÄrz" in
/// UTF-8, "m\xE4rz" and "m\xC4rz" in Latin-1). So no lower-case reading has to be made:
/// the readings only differ in the characters around a hit, and both are checked. Needles
/// whose spellings are not enumerated (below) are matched on the readings.
pub struct Needles {
    list: Vec<Needle>,
    /// The needles' text, in bytes (for `memory_bytes`).
    text_bytes: usize,
    spellings: Option<(AhoCorasick, Vec<(usize, Reading)>)>,
    other: Option<(AhoCorasick, Vec<usize>)>,
}

/// The reading a spelling is a needle in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reading {
    /// ASCII: both.
    Both,
    Latin1,
    Utf8,
}

/// What the bytes to check are.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Bytes {
    /// Raw bytes, read as Latin-1 and as UTF-8.
    Raw,
    /// A parsed text value (UTF-8): its only reading.
    Text,
}

/// Which of the needles a search in a lower-case reading looks for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Which {
    All,
    NotSpelled,
}

/// More spellings than this (a needle with many letters beyond ASCII) and the needle is
/// matched on the readings instead.
const MAX_SPELLINGS: usize = 64;

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
                short: s.chars().count() < 4,
                text: s.to_lowercase(),
                kind,
            })
            .collect();
        let mut patterns: Vec<Vec<u8>> = Vec::new();
        let mut spelled: Vec<(usize, Reading)> = Vec::new();
        let mut other: Vec<usize> = Vec::new();
        for (i, n) in list.iter().enumerate() {
            match spellings(&n.text) {
                Some(sp) => {
                    for (bytes, reading) in sp {
                        patterns.push(bytes);
                        spelled.push((i, reading));
                    }
                }
                None => other.push(i),
            }
        }
        let build = |pats: &mut dyn Iterator<Item = &[u8]>| AhoCorasick::new(pats).expect("literal patterns build");
        let spellings = (!patterns.is_empty()).then(|| (build(&mut patterns.iter().map(Vec::as_slice)), spelled));
        let other = (!other.is_empty()).then(|| (build(&mut other.iter().map(|&i| list[i].text.as_bytes())), other));
        let text_bytes = list.iter().map(|n| n.text.len()).sum();
        Needles { list, text_bytes, spellings, other }
    }

    /// About how many heap bytes the needles and their automata hold.
    pub fn memory_bytes(&self) -> usize {
        let list = self.list.len() * std::mem::size_of::<Needle>() + self.text_bytes;
        let spellings = self.spellings.as_ref().map_or(0, |(ac, ids)| ac.memory_usage() + ids.len() * std::mem::size_of::<(usize, Reading)>());
        let other = self.other.as_ref().map_or(0, |(ac, ids)| ac.memory_usage() + ids.len() * std::mem::size_of::<usize>());
        list + spellings + other
    }

    /// The first needle found in `hay` (a lower-case reading), by the rules of `scope`.
    fn find(&self, hay: &str, scope: Scope) -> Option<&Needle> {
        self.find_in_reading(hay, scope, Which::All)
    }

    fn find_in_reading(&self, hay: &str, scope: Scope, which: Which) -> Option<&Needle> {
        let check = |n: &'_ Needle, m: &aho_corasick::Match| {
            let before = hay[..m.start()].chars().next_back();
            let after = hay[m.end()..].chars().next();
            n.hit(scope, before, after)
        };
        let spelled = self.spellings.as_ref().filter(|_| which == Which::All).and_then(|(ac, ids)| {
            ac.find_overlapping_iter(hay).find_map(|m| {
                // A Latin-1 spelling is not the needle in a UTF-8 string.
                let (i, reading) = ids[m.pattern().as_usize()];
                (reading != Reading::Latin1 && check(&self.list[i], &m)).then(|| &self.list[i])
            })
        });
        spelled.or_else(|| {
            let (ac, ids) = self.other.as_ref()?;
            ac.find_overlapping_iter(hay).find_map(|m| {
                let n = &self.list[ids[m.pattern().as_usize()]];
                check(n, &m).then_some(n)
            })
        })
    }

    /// The first spelled needle found in `b` by the rules of `scope`; the markers' texts, if
    /// `markers` is given, are read as spaces and hold no hit.
    fn find_spelled(&self, b: &[u8], what: Bytes, scope: Scope, markers: Option<&MarkerTexts>) -> Option<&Needle> {
        let (ac, ids) = self.spellings.as_ref()?;
        let lowered = b.to_ascii_lowercase();
        // Looked for only once something is found (most bytes hold no needle at all).
        let blanks = std::cell::OnceCell::new();
        let blanks = || blanks.get_or_init(|| markers.map(|m| m.ranges(b)).unwrap_or_default());
        let latin1_read = what == Bytes::Raw;
        let utf8_differs = what == Bytes::Text || !b.is_ascii();
        let blank_at = |i: usize| blanks().iter().any(|r| r.contains(&i));
        let around = |i: Option<usize>, read: &dyn Fn(usize) -> char| i.map(|i| if blank_at(i) { ' ' } else { read(i) });
        ac.find_overlapping_iter(&lowered).find_map(|m| {
            let (i, reading) = ids[m.pattern().as_usize()];
            let n = &self.list[i];
            if blanks().iter().any(|r| r.start < m.end() && m.start() < r.end) {
                return None;
            }
            let (before, after) = (m.start().checked_sub(1), Some(m.end()).filter(|&e| e < b.len()));
            let latin1 = |i: usize| b[i] as char;
            if latin1_read && reading != Reading::Utf8 && n.hit(scope, around(before, &latin1), around(after, &latin1)) {
                return Some(n);
            }
            let utf8_before = |_: usize| lower_last(utf8_char_ending_at(b, m.start()));
            let utf8_after = |e: usize| lower_first(utf8_char_starting_at(b, e));
            let utf8_read = match reading {
                Reading::Both => utf8_differs,
                Reading::Latin1 => false,
                Reading::Utf8 => true,
            };
            (utf8_read && n.hit(scope, around(before, &utf8_before), around(after, &utf8_after))).then_some(n)
        })
    }

    /// The first needle found in the raw bytes `b` (a header, a binary value), read as Latin-1
    /// and as UTF-8, lower case, with the markers' texts blanked if `markers` is given.
    fn find_in_bytes(&self, b: &[u8], scope: Scope, markers: Option<&MarkerTexts>) -> Option<&Needle> {
        if lowers_to_ascii(b) {
            // A character beyond ASCII lowers to an ASCII letter: hits the bytes do not spell.
            return self.find_in_readings(b, scope, markers, Which::All);
        }
        self.find_spelled(b, Bytes::Raw, scope, markers).or_else(|| {
            (self.other.is_some() && !b.is_ascii()).then(|| self.find_in_readings(b, scope, markers, Which::NotSpelled)).flatten()
        })
    }

    /// As `find_in_bytes`, by making the lower-case readings (the reference way).
    fn find_in_readings(&self, b: &[u8], scope: Scope, markers: Option<&MarkerTexts>, which: Which) -> Option<&Needle> {
        lower_case_readings(b).into_iter().find_map(|hay| {
            let hay = match markers {
                Some(m) => m.blank(hay),
                None => hay,
            };
            self.find_in_reading(&hay, scope, which)
        })
    }

    /// The first needle found in a parsed text value, whole words, with the markers' texts
    /// blanked if `markers` is given.
    fn find_in_text(&self, text: &str, markers: Option<&MarkerTexts>) -> Option<&Needle> {
        let lower_case = || {
            let lower = text.to_lowercase();
            match markers {
                Some(m) => m.blank(lower),
                None => lower,
            }
        };
        if lowers_to_ascii(text.as_bytes()) {
            return self.find(&lower_case(), Scope::Value);
        }
        self.find_spelled(text.as_bytes(), Bytes::Text, Scope::Value, markers).or_else(|| {
            (self.other.is_some() && !text.is_ascii()).then(|| self.find_in_reading(&lower_case(), Scope::Value, Which::NotSpelled)).flatten()
        })
    }
}

/// `b` holds a character beyond ASCII whose lower case holds an ASCII letter.
fn lowers_to_ascii(b: &[u8]) -> bool {
    !b.is_ascii() && ASCII_LOWERING.iter().any(|c| memchr::memmem::find(b, c).is_some())
}

/// The byte strings whose Latin-1 or UTF-8 reading, lower case, is `text` (lower case), with
/// ASCII letters in lower case (the bytes searched are ASCII lower-cased first); None when
/// they are not enumerated: a sigma (whose lower case depends on the letters around it),
/// Greek Extended (title-case letters), more than `MAX_SPELLINGS`.
fn spellings(text: &str) -> Option<Vec<(Vec<u8>, Reading)>> {
    if text.is_ascii() {
        return Some(vec![(text.as_bytes().to_vec(), Reading::Both)]);
    }
    if text.chars().any(|c| matches!(c, 'σ' | 'ς') || ('\u{1F00}'..='\u{1FFF}').contains(&c)) {
        return None;
    }
    let mut out = Vec::new();
    let utf8: Vec<Vec<Vec<u8>>> = text
        .chars()
        .map(|c| upper_sources(c).into_iter().map(|u| u.to_string().into_bytes()).collect())
        .collect();
    out.extend(product(&utf8)?.into_iter().map(|b| (b, Reading::Utf8)));
    if text.chars().all(|c| (c as u32) < 0x100) {
        let latin1: Vec<Vec<Vec<u8>>> = text
            .chars()
            .map(|c| match c.is_ascii() {
                true => vec![vec![c as u8]],
                false => (0x80..=0xFFu8).filter(|&x| latin1_lower_byte(x) as u32 == c as u32).map(|x| vec![x]).collect(),
            })
            .collect();
        out.extend(product(&latin1)?.into_iter().map(|b| (b, Reading::Latin1)));
    }
    (out.len() <= MAX_SPELLINGS).then_some(out)
}

/// Every concatenation of one choice per position, or None past `MAX_SPELLINGS`.
fn product(choices: &[Vec<Vec<u8>>]) -> Option<Vec<Vec<u8>>> {
    let mut all = vec![Vec::new()];
    for options in choices {
        all = all.iter().flat_map(|p| options.iter().map(move |o| [p.as_slice(), o].concat())).collect();
        if all.len() > MAX_SPELLINGS {
            return None;
        }
    }
    Some(all)
}

/// The characters whose lower case is `c` (itself a lower case), ASCII letters as themselves:
/// `c`, its upper case, and the few others (checked over every character by a test).
fn upper_sources(c: char) -> Vec<char> {
    const OTHERS: &[(char, char)] = &[
        ('ß', 'ẞ'),
        ('å', '\u{212B}'),
        ('ǆ', 'ǅ'),
        ('ǉ', 'ǈ'),
        ('ǌ', 'ǋ'),
        ('ǳ', 'ǲ'),
        ('θ', 'ϴ'),
        ('ω', '\u{2126}'),
    ];
    let mut v = vec![c];
    if c.is_ascii() {
        return v;
    }
    let mut up = c.to_uppercase();
    if let (Some(u), None) = (up.next(), up.next()) {
        if u != c && u.to_lowercase().eq([c]) {
            v.push(u);
        }
    }
    v.extend(OTHERS.iter().filter(|(l, _)| *l == c).map(|(_, u)| *u));
    v
}

/// A Latin-1 byte lower case: every capital is its small letter minus 0x20.
fn latin1_lower_byte(c: u8) -> u8 {
    if c.is_ascii_uppercase() || ((0xC0..=0xDE).contains(&c) && c != 0xD7) {
        c + 0x20
    } else {
        c
    }
}

impl Needle {
    /// A match of this needle between the characters `before` and `after` is a hit in `scope`.
    /// Numbers never touch other digits (a date is no leak inside a fresh 2.25 UID).
    fn hit(&self, scope: Scope, before: Option<char>, after: Option<char>) -> bool {
        if scope != Scope::Value && !self.numeric && self.short {
            return false; // three letters make a word by chance in binary bytes
        }
        let touches = |c: Option<char>| {
            c.is_some_and(|c| if self.numeric { c.is_ascii_digit() } else { scope != Scope::Binary && c.is_alphanumeric() })
        };
        !touches(before) && !touches(after)
    }
}

/// The character the UTF-8 reading of `b` has just before byte `s`, where a character starts.
/// A lead byte always starts a character of the reading, so the bytes from the last one
/// before `s` are either that character or invalid (U+FFFD).
fn utf8_char_ending_at(b: &[u8], s: usize) -> char {
    let is_continuation = |c: u8| c & 0xC0 == 0x80;
    (s.saturating_sub(4)..s)
        .rev()
        .find(|&i| !is_continuation(b[i]))
        .and_then(|i| std::str::from_utf8(&b[i..s]).ok())
        .and_then(|t| {
            let mut cs = t.chars();
            cs.next().filter(|_| cs.next().is_none())
        })
        .unwrap_or(char::REPLACEMENT_CHARACTER)
}

/// The character the UTF-8 reading of `b` has at byte `e`, where a character starts.
fn utf8_char_starting_at(b: &[u8], e: usize) -> char {
    b[e..b.len().min(e + 4)]
        .utf8_chunks()
        .next()
        .and_then(|c| c.valid().chars().next())
        .unwrap_or(char::REPLACEMENT_CHARACTER)
}

fn lower_last(c: char) -> char {
    c.to_lowercase().last().unwrap_or(c)
}

fn lower_first(c: char) -> char {
    c.to_lowercase().next().unwrap_or(c)
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

pub fn verify_output(bytes: &[u8], needles: &Needles, removed: &[(Vec<(u32, usize)>, u32)], policy: &Policy) -> Result<Verification> {
    // The whole file, so that elements after Pixel Data are checked too.
    let file = io::parse(bytes, false, &policy.limits).map_err(|e| Error::verification(format!("the output does not parse back: {e}")))?;
    let ts = io::transfer_syntax(file.meta());
    let obj = file.into_inner();
    let mut stats = Verification { vocabulary_entries: needles.list.len(), ..Default::default() };

    let markers = marker_texts();
    // Removed elements by tag; the markers, rewritten, are not removed.
    let mut removed_at: HashMap<u32, Vec<&ItemPath>> = HashMap::new();
    for (path, tag) in removed {
        stats.removed_elements_checked += 1;
        if !(path.is_empty() && MARKERS.contains(tag)) {
            removed_at.entry(*tag).or_default().push(path);
        }
    }
    let mut walk = Walk { needles, markers, removed_at, policy, problems: Vec::new(), stats };
    walk.data_set(&obj, &mut Vec::new());
    let Walk { mut problems, mut stats, .. } = walk;

    let raw = header_bytes(bytes, &ts)?;
    stats.raw_bytes_checked = raw.len();
    if let Some(n) = needles.find_in_bytes(&raw, Scope::RawHeader, Some(markers)) {
        problems.push(format!("a harvested {:?} value is present in the raw bytes", n.kind));
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
            let c = latin1_lower_byte(c);
            if c.is_ascii() {
                out.push(c);
            } else {
                out.extend_from_slice(&[0xC0 | (c >> 6), 0x80 | (c & 0x3F)]);
            }
        }
    }
    String::from_utf8(out).expect("Latin-1 encoded as UTF-8")
}

/// The walk over the output's elements, and what it found.
struct Walk<'a> {
    needles: &'a Needles,
    markers: &'a MarkerTexts,
    removed_at: HashMap<u32, Vec<&'a ItemPath>>,
    policy: &'a Policy,
    problems: Vec<String>,
    stats: Verification,
}

impl Walk<'_> {
    fn data_set(&mut self, obj: &InMemDicomObject, path: &mut Vec<(u32, usize)>) {
        for e in obj.iter() {
            let tag = ((e.tag().group() as u32) << 16) | e.tag().element() as u32;
            // Its name, for the messages only.
            let p = || display_path(path, tag);
            if e.tag().group() % 2 == 1 && e.tag().element() >= 0x1000 && !self.policy.options.retain_safe_private {
                self.problems.push(format!("private element {} is present without Retain Safe Private", p()));
            }
            if self.removed_at.get(&tag).is_some_and(|paths| paths.iter().any(|r| **r == **path)) {
                self.problems.push(format!("removed element {} is present", p()));
            }
            match e.value() {
                Value::Sequence(seq) => {
                    for (i, item) in seq.items().iter().enumerate() {
                        path.push((tag, i));
                        self.data_set(item, path);
                        path.pop();
                    }
                }
                Value::Primitive(v) => {
                    let vr = e.vr().to_string();
                    if is_binary(vr) {
                        if !(path.is_empty() && is_pixel_data(tag)) {
                            let bytes = v.to_bytes();
                            self.stats.values_checked += 1;
                            if let Some(n) = self.needles.find_in_bytes(&bytes, Scope::Binary, None) {
                                self.problems.push(format!("a harvested {:?} value is present in the bytes of {}", n.kind, p()));
                            }
                        }
                    } else if !matches!(vr, "US" | "SS" | "UL" | "SL" | "FL" | "FD" | "SV" | "UV" | "AT") {
                        // Only the markers hold the markers' texts (and a search for each of
                        // them in every value would cost more than the check).
                        let markers = is_marker(path, tag).then_some(self.markers);
                        self.stats.values_checked += 1;
                        if let Some(n) = self.needles.find_in_text(&v.to_str(), markers) {
                            self.problems.push(format!("a harvested {:?} value survives in {}", n.kind, p()));
                        }
                    }
                }
                Value::PixelSequence(_) => {}
            }
        }
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
    fn a_removed_element_still_there_withholds_the_file_wherever_it_is() {
        use dicom_core::value::DataSetSequence;
        use dicom_core::{DataElement, Length, PrimitiveValue, Tag, VR};
        let n = needles(&[]);
        let text = |g, e, v: &str| DataElement::new(Tag(g, e), VR::LO, PrimitiveValue::from(v));
        let item = InMemDicomObject::from_element_iter([text(0x0032, 0x1060, "CT CHEST")]);
        let seq = DataElement::new(Tag(0x0040, 0x0275), VR::SQ, DataSetSequence::new(vec![item], Length::UNDEFINED));
        let method = text(0x0012, 0x0063, "dicom-deid");
        let bytes = file_with(vec![text(0x0010, 0x1000, "OTHER ID"), seq, method]);
        let check = |removed: &[(Vec<(u32, usize)>, u32)]| verify_output(&bytes, &n, removed, &Policy::default());
        let err = check(&[(vec![], 0x0010_1000)]).unwrap_err().to_string();
        assert!(err.contains("removed element OtherPatientIDs is present"), "{err}");
        let nested = check(&[(vec![(0x0040_0275, 0)], 0x0032_1060)]).unwrap_err().to_string();
        assert!(nested.contains("RequestAttributesSequence[0].RequestedProcedureDescription"), "{nested}");
        assert!(check(&[(vec![(0x0040_0275, 1)], 0x0032_1060)]).is_ok(), "another item");
        assert!(check(&[(vec![], 0x0032_1060)]).is_ok(), "the same tag at another level");
        assert!(check(&[(vec![], 0x0012_0063)]).is_ok(), "markers are rewritten, not removed");
    }

    #[test]
    fn marker_paths() {
        let names: Vec<&str> = MARKERS.iter().map(|t| crate::policy::selector::keyword(*t).unwrap()).collect();
        assert_eq!(
            names,
            ["PatientIdentityRemoved", "DeidentificationMethod", "DeidentificationMethodCodeSequence", "LongitudinalTemporalInformationModified"]
        );
        let code_meaning = 0x0008_0104;
        assert!(is_marker(&[], 0x0012_0063));
        assert!(is_marker(&[(0x0012_0064, 1)], code_meaning));
        assert!(!is_marker(&[], code_meaning));
        assert!(!is_marker(&[(0x0040_A730, 0)], 0x0012_0063), "only the top-level markers are ours");
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
    fn searching_the_bytes_finds_what_searching_the_readings_finds() {
        let n = needles(&[
            ("Pemberton", PhiKind::Name),
            ("Müller", PhiKind::Name),
            ("Lee", PhiKind::Name),
            ("Kimura", PhiKind::Name),
            ("12345678", PhiKind::Id),
            ("15.03.2024", PhiKind::Date),
            ("Option", PhiKind::Name),
            ("Profile", PhiKind::Name),
            ("15. März 2024", PhiKind::Date),
            ("Straße", PhiKind::Address),
            ("Σωκράτης", PhiKind::Name),
        ]);
        let markers = marker_texts();
        let marker = markers.texts[0].to_uppercase();
        let piece_texts: Vec<Vec<u8>> = vec![
            b"PEMBERTON".to_vec(), b"pemberton".to_vec(), b"Pemb".to_vec(), "MÜLLER".as_bytes().to_vec(),
            b"M\xDCLLER".to_vec(), b"LEE".to_vec(), b"12345678".to_vec(), b"15.03.2024".to_vec(), b"KIMURA".to_vec(),
            "\u{212A}IMURA".as_bytes().to_vec(), "\u{130}".as_bytes().to_vec(), b"x".to_vec(), b"7".to_vec(),
            b" ".to_vec(), b"\0".to_vec(), b"\xE9".to_vec(), "é".as_bytes().to_vec(), "Σ".as_bytes().to_vec(),
            b"\xFF".to_vec(), b"\x80".to_vec(), b"\xE2\x82".to_vec(), b"\xF0\x9F\x98\x80".to_vec(),
            marker.clone().into_bytes(), marker.as_bytes()[..12].to_vec(), markers.texts[1].clone().into_bytes(),
            b"OPTION".to_vec(), b"Profile".to_vec(), "Basic Application Confidentiality Profile".as_bytes().to_vec(),
            "15. MÄRZ 2024".as_bytes().to_vec(), b"15. m\xE4rz 2024".to_vec(), b"15. M\xC4RZ 2024".to_vec(), b"m\xFCller".to_vec(),
            "STRAẞE".as_bytes().to_vec(), "strasse".as_bytes().to_vec(), b"STRA\xDFE".to_vec(), "ΣΩΚΡΆΤΗΣ".as_bytes().to_vec(),
            "σωκράτης".as_bytes().to_vec(), "Ä".as_bytes().to_vec(),
        ];
        let mut x = 0x9E37_79B9_u32;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x
        };
        let mut hits = 0;
        for _ in 0..20_000 {
            let len = next() % 7;
            let b: Vec<u8> = (0..len).flat_map(|_| piece_texts[next() as usize % piece_texts.len()].clone()).collect();
            for scope in [Scope::Value, Scope::RawHeader, Scope::Binary] {
                for m in [None, Some(markers)] {
                    let fast = n.find_in_bytes(&b, scope, m).is_some();
                    assert_eq!(fast, n.find_in_readings(&b, scope, m, Which::All).is_some(), "{scope:?} {:?} {b:?}", m.is_some());
                    hits += fast as usize;
                }
            }
            if let Ok(text) = std::str::from_utf8(&b) {
                for m in [None, Some(markers)] {
                    let lower = text.to_lowercase();
                    let reference = n.find(&m.map_or(lower.clone(), |m| m.blank(lower)), Scope::Value);
                    assert_eq!(n.find_in_text(text, m).is_some(), reference.is_some(), "{text:?}");
                }
            }
        }
        assert!(hits > 10_000, "the cases find needles ({hits})");
    }

    #[test]
    fn upper_sources_are_every_character_whose_lower_case_is_the_letter() {
        let mut sources: std::collections::BTreeMap<char, Vec<char>> = Default::default();
        for u in (0x80..=0x10FFFFu32).filter_map(char::from_u32) {
            let mut l = u.to_lowercase();
            if let (Some(l), None) = (l.next(), l.next()) {
                sources.entry(l).or_insert_with(|| vec![l]).push(u);
            }
        }
        for (c, mut us) in sources {
            if c.is_ascii() || ('\u{1F00}'..='\u{1FFF}').contains(&c) {
                continue; // ASCII is handled as bytes; Greek Extended is not spelled out
            }
            us.sort();
            us.dedup();
            let mut fast = upper_sources(c);
            fast.sort();
            assert_eq!(fast, us, "{c:?}");
        }
    }

    #[test]
    fn spellings_of_a_needle_beyond_ascii() {
        let sp = spellings("märz").unwrap();
        let utf8: Vec<&[u8]> = sp.iter().filter(|s| s.1 == Reading::Utf8).map(|s| s.0.as_slice()).collect();
        let latin1: Vec<&[u8]> = sp.iter().filter(|s| s.1 == Reading::Latin1).map(|s| s.0.as_slice()).collect();
        assert_eq!(utf8, ["märz".as_bytes(), "mÄrz".as_bytes()]);
        assert_eq!(latin1, [b"m\xC4rz".as_slice(), b"m\xE4rz".as_slice()]);
        assert_eq!(spellings("abc").unwrap(), [(b"abc".to_vec(), Reading::Both)]);
        assert!(spellings("σωκράτης").is_none(), "a sigma lowers by context");
        assert!(spellings(&"é".repeat(7)).is_none(), "too many spellings");
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
