//! Import of known-region rules from a deid recipe (pydicom/deid's `deid.dicom` format, MIT),
//! the CTP DicomPixelAnonymizer rules as deid ships them (`bash tools/fetch-deid-rules.sh`
//! puts deid's own recipe at `target/deid/deid.dicom`).
//!
//! Each `LABEL` of a `%filter` section whose conditions our [`RegionRule`] can express becomes
//! one rule (or a few, one per alternative of a `A|B` value); every other `LABEL` is skipped with
//! a note. The semantics follow deid 0.4.13's code, which was checked by running it:
//!
//! - Lines: a `LABEL` takes every following line up to the next `LABEL` or `%section`
//!   (deid/config/utils.py `parse_filter_group`). Its condition lines are ANDed together
//!   whatever their leading `+` or `||` (deid/dicom/pixels/detect.py, `_has_burned_pixels_single`:
//!   one flag per line, `evaluate_group` of a list without operators). deid's documentation says
//!   a leading `||` means OR, so a `LABEL` with one after its first condition line is skipped
//!   rather than guessed. Inside one line, `A || B` and `A + B` are OR and AND, evaluated left to
//!   right (`parse_member`, `evaluate_group`).
//! - `contains F V` is a case-insensitive `re.search` of V in the element's text
//!   (deid/dicom/filter.py `compareBase`): plain text is a substring test, as ours; `A|B` becomes
//!   one rule per alternative; a trailing `X+`, `X*` or `X?` has a substring equivalent; any other
//!   regular expression is not expressible. `equals` compares the whole text (`equalsBase`), so
//!   `equals Rows 600` works and `equals Rows 600|768` never matches.
//! - A field that is no DICOM keyword (`Manfacturer`), or a file meta element
//!   (`ImplementationVersionName`), is never found by deid's `Dataset.get`: `contains`, `equals`,
//!   `present`, `empty` are then always false and `notcontains`, `notequals`, `missing` always true.
//! - `coordinates x0,y0,x1,y1` and `ctpcoordinates x,y,width,height`
//!   (utils.py `_derive_ctp_coordinate`: x1 = x + width) are masked as numpy slices
//!   `mask[y0:y1, x0:x1]` (deid/dicom/pixels/clean.py `clean_pixel_data`): end-exclusive, as our
//!   boxes, a negative value counting from the far edge. Every coordinate line of a `LABEL` adds a
//!   box. `coordinates all` is the whole image. `keepcoordinates` and `ctpkeepcoordinates` (regions
//!   unmasked again) and `coordinates from:Field` (regions read from the header) are ignored with a
//!   note: the rule then masks more, or fewer boxes, than deid.
//! - Every `LABEL` that matches adds its boxes, whatever its section (`detect.py` goes through all
//!   filter groups, `clean.py` applies the coordinates of every result), so all `%filter` sections
//!   are read; whitelist and blacklist `LABEL`s usually have no coordinates and are skipped.
//!
//! A condition our rules cannot express (on ImageType, SeriesDescription, BurnedInAnnotation, a
//! negation, ...) makes the `LABEL` skipped: dropping it would mask the boxes on images that deid
//! leaves alone. The one exception: conditions on a device-identity element (SoftwareVersions,
//! StationName, ...) are dropped, with a note, from a rule that already names the modality, the
//! manufacturer, the rows and the columns.

use super::pixels::RegionRule;
use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
use dicom_dictionary_std::StandardDataDictionary;

/// Rows and Columns are US: no frame is larger, so a box to here covers the whole image.
const WHOLE: u32 = 65535;
/// A `LABEL` that would expand into more rules than this is skipped.
const MAX_RULES_PER_LABEL: usize = 32;
/// deid's filter actions (deid/config/standards.py `filters`).
const FILTER_ACTIONS: [&str; 7] = ["contains", "notcontains", "equals", "notequals", "missing", "present", "empty"];
/// deid's recipe sections (deid/config/standards.py `sections`).
const SECTIONS: [&str; 5] = ["header", "labels", "filter", "values", "fields"];
/// Elements that say which device or site made an image, not what kind of image it is: a
/// condition on them may be dropped from a rule pinned to modality, manufacturer and size.
const DEVICE_FIELDS: [&str; 5] =
    ["SoftwareVersions", "DeviceSerialNumber", "StationName", "InstitutionName", "InstitutionalDepartmentName"];
/// Modality defined terms (PS3.3 C.7.3.1.1.1, with retired ones), to flag a value no image has.
const MODALITIES: &str = "AR AS ASMT AU BDUS BI BMD CD CF CFM CP CR CS CT CTPROTOCOL DD DF DG DM DMS DOC DS DX EC ECG EEG \
    EMG EOG EPS ES FA FID FS GM HC HD IO IOL IVOCT IVUS KER KO LEN LP LS M3D MA MG MR MS NM OAM OCT \
    OP OPM OPR OPT OPTBSV OPTENF OPV OSS OT PA PLAN POS PR PT PX REG RESP RF RG RTDOSE RTIMAGE \
    RTINTENT RTPLAN RTRAD RTRECORD RTSEGANN RTSTRUCT RWV SEG SM SMR SR SRF ST STAIN TEXTUREMAP TG US \
    VA VF XA XAPROTOCOL XC";

/// The graylist/blacklist filter rules of a deid recipe that our RegionRule can express, and
/// notes (one per rule skipped or narrowed, naming the LABEL and why).
///
/// Every `%filter` section is read (deid masks the coordinates of any `LABEL` that matches,
/// whatever its section). Rules come in the recipe's order; a `LABEL` that repeats an earlier
/// rule exactly is skipped. Never panics, whatever the text.
pub fn import_deid_recipe(text: &str) -> (Vec<RegionRule>, Vec<String>) {
    let (labels, mut notes) = parse_recipe(text);
    let mut rules = Vec::new();
    for label in &labels {
        let (mut converted, note) = convert_label(label, &rules);
        rules.append(&mut converted);
        notes.extend(note);
    }
    (rules, notes)
}

// ---------------------------------------------------------------------------------------------
// Recipe structure (deid/config/utils.py load_deid, parse_filter_group, parse_label)

struct Label<'a> {
    section: String,
    name: String,
    line: usize,
    /// (line number, trimmed text), comments included (deid skips them later).
    members: Vec<(usize, &'a str)>,
}

fn starts_with_ci(s: &str, prefix: &str) -> bool {
    s.get(..prefix.len()).is_some_and(|h| h.eq_ignore_ascii_case(prefix))
}

fn parse_recipe(text: &str) -> (Vec<Label<'_>>, Vec<String>) {
    let lines: Vec<(usize, &str)> =
        text.lines().enumerate().map(|(i, l)| (i + 1, l.trim())).filter(|(_, l)| !l.is_empty()).collect();
    let mut labels = Vec::new();
    let mut notes = Vec::new();
    // The name of the current section, if it is a %filter.
    let mut filter: Option<String> = None;
    let mut i = 0;
    while i < lines.len() {
        let (n, line) = lines[i];
        i += 1;
        if line.starts_with('#') || starts_with_ci(line, "format") {
            continue;
        }
        if line.starts_with('%') {
            let head = line.split('#').next().unwrap_or("").trim();
            let (kind, name) = head.split_once(' ').unwrap_or((head, ""));
            let kind: String = kind.chars().filter(|c| *c != '%' && !c.is_whitespace()).collect::<String>().to_lowercase();
            if !SECTIONS.contains(&kind.as_str()) {
                notes.push(format!("line {n}: unknown section '%{kind}' (deid rejects the recipe); its lines are ignored"));
            }
            filter = (kind == "filter").then(|| name.trim().to_string());
            continue;
        }
        if starts_with_ci(line, "LABEL") {
            let start = i;
            while i < lines.len() && !starts_with_ci(lines[i].1, "LABEL") && !lines[i].1.starts_with('%') {
                i += 1;
            }
            if let Some(section) = &filter {
                let name = line["LABEL".len()..].split('#').next().unwrap_or("").trim().to_string();
                labels.push(Label { section: section.clone(), name, line: n, members: lines[start..i].to_vec() });
            }
        }
        // Anything else (header actions, stray lines) says nothing about pixels.
    }
    (labels, notes)
}

// ---------------------------------------------------------------------------------------------
// Conditions

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TextField {
    Modality = 0,
    Manufacturer = 1,
    Model = 2,
}

const TEXT_FIELDS: [(TextField, &str); 3] = [
    (TextField::Modality, "Modality"),
    (TextField::Manufacturer, "Manufacturer"),
    (TextField::Model, "ManufacturerModelName"),
];

/// One condition of a line: `action field [value]`, as deid's `parse_member` splits it.
struct Cond {
    action: String,
    field: String,
    value: Option<String>,
}

impl Cond {
    fn describe(&self) -> String {
        match &self.value {
            Some(v) => format!("'{} {} {v}'", self.action, self.field),
            None => format!("'{} {}'", self.action, self.field),
        }
    }
}

/// What a condition becomes.
enum Atom {
    /// The element contains one of these texts (an empty text: always true).
    Text(TextField, Vec<String>),
    /// Rows (false) or Columns (true) equals this.
    Size(bool, u32),
    /// Always true or always false in deid, and why.
    Const(bool, String),
    /// Not expressible, and why.
    Other(String),
}

/// deid's `parse_member`: split a line at its first `||` or `+` when the rest names a filter
/// action, repeatedly. Returns the conditions and, between them, whether each operator is OR.
fn parse_member(line: &str) -> Result<(Vec<Cond>, Vec<bool>), String> {
    let mut queue = vec![line.trim().to_string()];
    let mut conds = Vec::new();
    let mut ors = Vec::new();
    while let Some(member) = queue.pop() {
        let mut member = member.trim().to_string();
        let op = match (member.find("||"), member.find('+')) {
            (Some(o), Some(a)) if o >= a => Some("+"),
            (Some(_), _) => Some("||"),
            (None, Some(_)) => Some("+"),
            (None, None) => None,
        };
        if let Some(op) = op {
            if let Some((head, rest)) = member.split_once(op) {
                if FILTER_ACTIONS.iter().any(|w| rest.contains(w)) {
                    queue.push(rest.trim().to_string());
                    ors.push(op == "||");
                    member = head.to_string();
                }
            }
        }
        let Some((action, rest)) = member.split_once(' ') else {
            return Err(format!("'{member}' has no field (deid stops on it)"));
        };
        let action = action.trim().to_lowercase();
        let (field, value) = match action.as_str() {
            "contains" | "notcontains" | "equals" | "notequals" => match rest.split_once(' ') {
                Some((f, v)) => (f.trim().to_string(), Some(v.trim().to_string())),
                None => return Err(format!("'{member}' needs a field and a value (deid stops on it)")),
            },
            "missing" | "empty" | "present" => (rest.trim().to_string(), None),
            _ => return Err(format!("'{action}' is not a filter action (deid stops on it)")),
        };
        conds.push(Cond { action, field, value });
    }
    // deid keeps the values of a line in one list, skipping the conditions without one, and
    // reads the i-th value for the i-th condition (detect.py): a valued condition after a
    // valueless one gets the wrong value.
    if let Some(first_valueless) = conds.iter().position(|c| c.value.is_none()) {
        if conds[first_valueless..].iter().any(|c| c.value.is_some()) {
            return Err(format!(
                "'{line}': deid reads the values of this line shifted (a condition without value comes before one with a value)"
            ));
        }
    }
    Ok((conds, ors))
}

fn atom(c: &Cond) -> Atom {
    let desc = c.describe();
    let value = c.value.as_deref().unwrap_or("");
    if let Some((field, _)) = TEXT_FIELDS.iter().find(|(_, k)| *k == c.field) {
        return match c.action.as_str() {
            "contains" if value.contains(" #") => Atom::Const(
                false,
                format!("{desc}: deid keeps the trailing comment as part of the value, so it looks for that text and never finds it"),
            ),
            "contains" => match literal_alternatives(value) {
                Ok(alts) => Atom::Text(*field, alts),
                Err(why) => Atom::Other(format!("{desc} ({why})")),
            },
            "equals" => Atom::Other(format!("{desc} (an exact comparison; our rules match substrings)")),
            _ => Atom::Other(desc),
        };
    }
    if c.field == "Rows" || c.field == "Columns" {
        let columns = c.field == "Columns";
        return match c.action.as_str() {
            "equals" => match canonical_number(value) {
                Some(n) => Atom::Size(columns, n),
                None => Atom::Const(
                    false,
                    format!("{desc}: equals compares text exactly (no regular expression) and '{value}' is no number's text, so it never matches"),
                ),
            },
            "contains" => Atom::Other(format!("{desc} (a text search in the number: '60' also matches 600 and 1060)")),
            _ => Atom::Other(desc),
        };
    }
    if c.field.contains("0x") {
        return Atom::Other(format!("{desc} (a tag number: deid then searches the whole element's description)"));
    }
    let entry = StandardDataDictionary.by_name(&c.field);
    let never_found = match entry {
        None => Some(format!("'{}' is not a DICOM keyword{}", c.field, typo_hint(&c.field))),
        Some(e) if e.tag_range().inner().group() == 0x0002 => {
            Some(format!("'{}' is a file meta element, which deid looks for in the data set", c.field))
        }
        Some(_) => None,
    };
    if let Some(why) = never_found {
        let truth = matches!(c.action.as_str(), "notcontains" | "notequals" | "missing");
        return Atom::Const(truth, format!("{desc} is always {truth} in deid: {why}, so deid never finds it"));
    }
    Atom::Other(desc)
}

fn canonical_number(s: &str) -> Option<u32> {
    let ok = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    if ok {
        s.parse().ok()
    } else {
        None
    }
}

fn typo_hint(field: &str) -> String {
    let a: Vec<char> = field.to_lowercase().chars().collect();
    for key in ["Modality", "Manufacturer", "ManufacturerModelName", "Rows", "Columns"] {
        let b: Vec<char> = key.to_lowercase().chars().collect();
        if a.len().abs_diff(b.len()) <= 2 && edit_distance(&a, &b) <= 2 {
            return format!(" (a typo of {key}?)");
        }
    }
    String::new()
}

fn edit_distance(a: &[char], b: &[char]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The plain texts whose substring search equals Python's `re.search` of `expr`, or why there
/// are none. `A|B` gives both; a quantifier is accepted only as the last character of an
/// alternative (`AS+` is found exactly where `AS` is; `AB?` where `A` is).
fn literal_alternatives(expr: &str) -> Result<Vec<String>, String> {
    let chars: Vec<char> = expr.trim().chars().collect();
    let mut alts = Vec::new();
    let mut cur = String::new();
    let mut after_literal = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                let Some(&n) = chars.get(i + 1) else { return Err("ends with a backslash".into()) };
                if n.is_ascii_alphanumeric() {
                    return Err(format!("regular expression escape '\\{n}'"));
                }
                cur.push(n);
                after_literal = true;
                i += 2;
                continue;
            }
            '|' => {
                alts.push(std::mem::take(&mut cur));
                after_literal = false;
            }
            '*' | '+' | '?' => {
                let last = i + 1 == chars.len() || chars[i + 1] == '|';
                if !last || !after_literal {
                    return Err(format!("regular expression quantifier '{c}' inside the value"));
                }
                if c != '+' {
                    cur.pop();
                }
                after_literal = false;
            }
            '.' | '^' | '$' | '(' | ')' | '[' | ']' | '{' | '}' => return Err(format!("regular expression '{c}'")),
            _ => {
                cur.push(c);
                after_literal = true;
            }
        }
        i += 1;
    }
    alts.push(cur);
    if alts.iter().any(|a| a.trim() != a) {
        return Err("spaces around '|', which our match would trim".into());
    }
    Ok(alts)
}

// ---------------------------------------------------------------------------------------------
// Conditions in disjunctive normal form: OR of conjunctions

/// A conjunction: the texts each text field must contain, the rows and columns it must equal.
#[derive(Debug, Clone, Default)]
struct Conj {
    text: [Vec<String>; 3],
    rows: Vec<u32>,
    cols: Vec<u32>,
}

type Dnf = Vec<Conj>;

/// Beyond this many conjunctions while expanding, a `LABEL` is skipped.
const MAX_CONJ: usize = 256;

fn atom_dnf(a: &Atom) -> Option<Dnf> {
    match a {
        Atom::Text(f, alts) => Some(
            alts.iter()
                .map(|t| {
                    let mut c = Conj::default();
                    if !t.is_empty() {
                        c.text[*f as usize].push(t.clone());
                    }
                    c
                })
                .collect(),
        ),
        Atom::Size(columns, n) => {
            let mut c = Conj::default();
            if *columns {
                c.cols.push(*n)
            } else {
                c.rows.push(*n)
            }
            Some(vec![c])
        }
        Atom::Const(true, _) => Some(vec![Conj::default()]),
        Atom::Const(false, _) => Some(Vec::new()),
        Atom::Other(_) => None,
    }
}

fn and(a: &Dnf, b: &Dnf) -> Option<Dnf> {
    if a.len().saturating_mul(b.len()) > MAX_CONJ {
        return None;
    }
    let mut out = Vec::new();
    for x in a {
        for y in b {
            let mut c = x.clone();
            for f in 0..3 {
                c.text[f].extend(y.text[f].iter().cloned());
            }
            c.rows.extend(&y.rows);
            c.cols.extend(&y.cols);
            out.push(c);
        }
    }
    Some(out)
}

fn contains_ci(hay: &str, needle: &str) -> bool {
    hay.to_lowercase().contains(&needle.to_lowercase())
}

/// Conjunction `a` implies conjunction `b`.
fn implies(a: &Conj, b: &Conj) -> bool {
    (0..3).all(|f| b.text[f].iter().all(|nb| a.text[f].iter().any(|na| contains_ci(na, nb))))
        && b.rows.iter().all(|r| a.rows.contains(r))
        && b.cols.iter().all(|c| a.cols.contains(c))
}

/// Simplify: within a conjunction keep the longest of nested texts and drop contradictions
/// (two row counts); across conjunctions drop those that imply another. Then each must name at
/// most one text per field.
fn normalize(d: Dnf) -> Result<Dnf, String> {
    let mut out: Vec<Conj> = Vec::new();
    for mut c in d {
        for t in c.text.iter_mut() {
            let mut kept: Vec<String> = Vec::new();
            for n in t.iter() {
                if !kept.iter().any(|k| k.to_lowercase() == n.to_lowercase()) {
                    kept.push(n.clone());
                }
            }
            let all = kept.clone();
            kept.retain(|n| !all.iter().any(|m| m.to_lowercase() != n.to_lowercase() && contains_ci(m, n)));
            *t = kept;
        }
        c.rows.sort_unstable();
        c.rows.dedup();
        c.cols.sort_unstable();
        c.cols.dedup();
        if c.rows.len() > 1 || c.cols.len() > 1 {
            continue;
        }
        out.push(c);
    }
    // Drop a conjunction that implies another (it adds no image); of two equivalent, the later.
    let mut keep = vec![true; out.len()];
    for i in 0..out.len() {
        for j in 0..out.len() {
            if i != j && keep[j] && implies(&out[i], &out[j]) && (!implies(&out[j], &out[i]) || j < i) {
                keep[i] = false;
                break;
            }
        }
    }
    let out: Dnf = out.into_iter().zip(keep).filter_map(|(c, k)| k.then_some(c)).collect();
    for c in &out {
        for (f, key) in TEXT_FIELDS {
            if c.text[f as usize].len() > 1 {
                let texts: Vec<String> = c.text[f as usize].iter().map(|t| format!("'{t}'")).collect();
                return Err(format!("it needs {key} to contain both {}, which one rule cannot say", texts.join(" and ")));
            }
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Boxes

enum BoxSpec {
    /// x0, y0, x1, y1 as written (numpy slice bounds, possibly negative).
    Fixed([i64; 4]),
    All,
}

/// Python's `int()` of one coordinate.
fn py_int(s: &str) -> Option<i64> {
    let s = s.trim();
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `coordinates` (xmin,ymin,xmax,ymax) or, with `ctp`, `ctpcoordinates` (x,y,width,height).
fn parse_box(raw: &str, ctp: bool) -> Result<BoxSpec, String> {
    let raw = raw.split('#').next().unwrap_or("").trim();
    if raw.eq_ignore_ascii_case("all") {
        return Ok(BoxSpec::All);
    }
    // ctpcoordinates skips empty parts (utils.py _derive_ctp_coordinate); coordinates does not.
    let parts: Vec<&str> = raw.split(',').filter(|p| !ctp || !p.is_empty()).collect();
    let nums: Option<Vec<i64>> = parts.iter().map(|p| py_int(p)).collect();
    match nums.as_deref() {
        Some(&[x, y, a, b]) if ctp => Ok(BoxSpec::Fixed([x, y, x.saturating_add(a), y.saturating_add(b)])),
        Some(&[x0, y0, x1, y1]) => Ok(BoxSpec::Fixed([x0, y0, x1, y1])),
        _ => Err(format!("'{raw}' is not four integers")),
    }
}

/// A numpy slice `start:end` of an axis of `dim` pixels (unknown: `None`), as `[start, end)`.
fn axis(start: i64, end: i64, dim: Option<u32>) -> Result<(u32, u32), String> {
    let (s, e) = if start < 0 || end < 0 {
        let Some(d) = dim else {
            return Err(
                "a negative coordinate counts from the far edge in deid, and this rule does not fix the image size".into()
            );
        };
        let at = |v: i64| if v < 0 { (d as i64 + v).max(0) } else { v.min(d as i64) };
        (at(start), at(end))
    } else {
        (start, end)
    };
    let clamp = |v: i64| v.clamp(0, WHOLE as i64) as u32;
    let (s, e) = (clamp(s), clamp(e));
    if e <= s {
        return Err("it is empty".into());
    }
    Ok((s, e))
}

fn resolve_box(b: &BoxSpec, rows: Option<u32>, cols: Option<u32>) -> Result<[u32; 4], String> {
    match b {
        BoxSpec::All => Ok([0, 0, cols.filter(|c| *c > 0).unwrap_or(WHOLE), rows.filter(|r| *r > 0).unwrap_or(WHOLE)]),
        BoxSpec::Fixed([x0, y0, x1, y1]) => {
            let (a, c) = axis(*x0, *x1, cols)?;
            let (b, d) = axis(*y0, *y1, rows)?;
            Ok([a, b, c, d])
        }
    }
}

fn show_box(b: &BoxSpec) -> String {
    match b {
        BoxSpec::All => "all".into(),
        BoxSpec::Fixed([a, b, c, d]) => format!("{a},{b},{c},{d}"),
    }
}

// ---------------------------------------------------------------------------------------------
// One LABEL

/// A line's conditions: expressible, or not (with why, and the fields it names).
enum Group {
    Expr(Dnf),
    Opaque(Vec<String>, Vec<String>),
}

fn line_group(conds: &[Cond], ors: &[bool], facts: &mut Vec<String>) -> Result<Group, String> {
    let atoms: Vec<Atom> = conds.iter().map(atom).collect();
    let others: Vec<String> =
        atoms.iter().filter_map(|a| if let Atom::Other(w) = a { Some(w.clone()) } else { None }).collect();
    for a in &atoms {
        if let Atom::Const(_, why) = a {
            facts.push(why.clone());
        }
    }
    if !others.is_empty() {
        let fields =
            conds.iter().zip(&atoms).filter(|(_, a)| matches!(a, Atom::Other(_))).map(|(c, _)| c.field.clone()).collect();
        return Ok(Group::Opaque(others, fields));
    }
    // Left to right, as deid's evaluate_group: ((a op b) op c).
    let mut acc = atom_dnf(&atoms[0]).unwrap_or_default();
    for (a, &or) in atoms[1..].iter().zip(ors) {
        let d = atom_dnf(a).unwrap_or_default();
        acc = if or { acc.into_iter().chain(d).collect() } else { and(&acc, &d).ok_or("too many alternatives")? };
        if acc.len() > MAX_CONJ {
            return Err("too many alternatives".into());
        }
    }
    Ok(Group::Expr(acc))
}

/// `earlier`: the rules of the `LABEL`s before, to leave out repeats.
fn convert_label(label: &Label, earlier: &[RegionRule]) -> (Vec<RegionRule>, Option<String>) {
    let id = format!(
        "{} LABEL '{}' (line {})",
        if label.section.is_empty() { "filter" } else { &label.section },
        label.name,
        label.line
    );
    let skip = |why: String| (Vec::new(), Some(format!("{id}: skipped: {why}")));
    let mut boxes: Vec<BoxSpec> = Vec::new();
    let mut remarks: Vec<String> = Vec::new(); // what the rule does differently from deid
    let mut problems: Vec<String> = Vec::new(); // why it cannot be converted
    let mut facts: Vec<String> = Vec::new(); // conditions that are constant in deid
    let mut groups: Vec<Group> = Vec::new();
    let mut late_or = false;
    let mut keeps = 0;
    let mut froms = 0;
    for &(ln, m) in &label.members {
        let lower = m.to_ascii_lowercase();
        // In deid's order (utils.py parse_label): the keywords before any operator.
        let coord = [
            ("ctpcoordinates", true, false),
            ("ctpkeepcoordinates", true, true),
            ("coordinates", false, false),
            ("keepcoordinates", false, true),
        ]
        .into_iter()
        .find(|(kw, _, _)| lower.starts_with(kw));
        if let Some((kw, ctp, keep)) = coord {
            let raw = m[kw.len()..].trim();
            if keep {
                keeps += 1;
            } else if raw.contains("from:") {
                froms += 1;
                remarks
                    .push(format!("line {ln}: '{kw} {raw}' ignored (regions read from the header cannot be a fixed rule)"));
            } else {
                match parse_box(raw, ctp) {
                    Ok(b) => boxes.push(b),
                    Err(why) => remarks.push(format!("line {ln}: box ignored: {why}")),
                }
            }
            continue;
        }
        let (or, rest) = if let Some(r) = m.strip_prefix('+') {
            (false, r.trim())
        } else if let Some(r) = m.strip_prefix("||") {
            (true, r.trim())
        } else {
            (false, m)
        };
        if rest.starts_with('#') {
            continue;
        }
        if !FILTER_ACTIONS.iter().any(|a| starts_with_ci(rest, a)) {
            problems.push(format!(
                "line {ln}: '{m}' is no condition deid knows (deid ignores it, which makes its rule broader)"
            ));
            continue;
        }
        late_or |= or && !groups.is_empty();
        match parse_member(rest).and_then(|(conds, ors)| line_group(&conds, &ors, &mut facts)) {
            Ok(g) => groups.push(g),
            Err(why) => problems.push(format!("line {ln}: {why}")),
        }
    }
    if keeps > 0 {
        remarks.push(format!(
            "{keeps} keepcoordinates line(s) ignored: the whole boxes are masked, also where deid keeps a region"
        ));
    }
    if boxes.is_empty() {
        return skip(match (keeps, froms) {
            (0, 0) if remarks.is_empty() => "no coordinates: deid only flags these images, there is nothing to mask".into(),
            (0, 0) => remarks.join("; "),
            (_, 0) => "only keepcoordinates, nothing to mask".into(),
            _ => "its coordinates come from a header field (from:), which a fixed rule cannot express".into(),
        });
    }
    if !problems.is_empty() {
        return skip(problems.join("; "));
    }
    if groups.is_empty() {
        return skip("no conditions: deid applies it to every image (to combine with keepcoordinates), which we leave to the policy's author".into());
    }
    if late_or {
        return skip(
            "a line starts with '||': deid's documentation reads it as OR, deid 0.4.13 evaluates it as AND; \
             write the alternatives on one line ('A || B') or as separate LABELs"
                .into(),
        );
    }
    let mut dnf: Dnf = vec![Conj::default()];
    let mut opaque: Vec<(Vec<String>, Vec<String>)> = Vec::new();
    for g in groups {
        match g {
            Group::Expr(d) => match and(&dnf, &d) {
                Some(x) => dnf = x,
                None => return skip("too many alternatives".into()),
            },
            Group::Opaque(w, f) => opaque.push((w, f)),
        }
    }
    let dnf = match normalize(dnf) {
        Ok(d) => d,
        Err(why) => return skip(why),
    };
    let shown_facts = if facts.is_empty() { String::new() } else { format!(" ({})", facts.join("; ")) };
    if dnf.is_empty() {
        return skip(format!("its conditions never all hold in deid{shown_facts}"));
    }
    if !facts.is_empty() {
        remarks.push(format!("constant conditions left out{shown_facts}"));
    }
    if !opaque.is_empty() {
        let what: Vec<String> = opaque.iter().flat_map(|(w, _)| w.iter().cloned()).collect();
        let device_only = opaque.iter().all(|(_, f)| f.iter().all(|f| DEVICE_FIELDS.contains(&f.as_str())));
        let pinned = dnf.iter().all(|c| (0..2).all(|f| !c.text[f].is_empty()) && !c.rows.is_empty() && !c.cols.is_empty());
        if device_only && pinned {
            remarks.push(format!(
                "condition(s) dropped, so the rule is broader than deid's: {} (a device-identity element, on a rule pinned to modality, manufacturer, rows and columns)",
                what.join(", ")
            ));
        } else {
            let why = if pinned {
                " (not dropped, though the rule names modality, manufacturer, rows and columns: such a condition tells kinds of \
                 image apart on the same device and size, so without it the boxes would be masked on its other images)"
            } else {
                ""
            };
            return skip(format!("conditions our rules cannot express: {}{why}", what.join(", ")));
        }
    }
    if dnf.iter().any(|c| c.text.iter().all(Vec::is_empty) && c.rows.is_empty() && c.cols.is_empty()) {
        return skip(format!(
            "its conditions hold for every image in deid{shown_facts}, which we leave to the policy's author"
        ));
    }
    if dnf.len() > MAX_RULES_PER_LABEL {
        return skip(format!("it would expand into {} rules", dnf.len()));
    }
    if dnf.len() > 1 {
        remarks.push(format!("converted into {} rules, one per alternative", dnf.len()));
    }
    let name = if label.name.is_empty() {
        format!("deid line {}", label.line)
    } else {
        format!("{} (deid line {})", label.name, label.line)
    };
    let mut rules = Vec::new();
    let mut repeats: Vec<String> = Vec::new();
    for c in &dnf {
        let (rows, cols) = (c.rows.first().copied(), c.cols.first().copied());
        let text = |f: TextField| c.text[f as usize].first().cloned();
        let mut out: Vec<[u32; 4]> = Vec::new();
        for b in &boxes {
            match resolve_box(b, rows, cols) {
                Ok(r) if !out.contains(&r) => out.push(r),
                Ok(_) => {}
                Err(why) => remarks.push(format!("box {} ignored: {why}", show_box(b))),
            }
        }
        if out.is_empty() {
            continue;
        }
        if let Some(m) = text(TextField::Modality) {
            if !MODALITIES.split_whitespace().any(|code| contains_ci(code, &m)) {
                remarks.push(format!(
                    "Modality '{m}' is in no standard Modality code: the rule matches only images with a nonstandard one"
                ));
            }
        }
        let rule = RegionRule {
            name: name.clone(),
            modality: text(TextField::Modality),
            manufacturer: text(TextField::Manufacturer),
            model: text(TextField::Model),
            rows,
            columns: cols,
            boxes: out,
        };
        match earlier.iter().find(|e| RegionRule { name: name.clone(), ..(*e).clone() } == rule) {
            Some(e) => repeats.push(e.name.clone()),
            None => rules.push(rule),
        }
    }
    remarks.dedup();
    if !repeats.is_empty() {
        repeats.dedup();
        remarks.push(format!("the same conditions and boxes as '{}'", repeats.join("', '")));
    }
    if rules.is_empty() {
        return skip(remarks.join("; "));
    }
    let note = (!remarks.is_empty()).then(|| format!("{id}: converted, but: {}", remarks.join("; ")));
    (rules, note)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::pixels::{ImageHeader, PixelPolicy};

    fn import(body: &str) -> (Vec<RegionRule>, Vec<String>) {
        import_deid_recipe(&format!("FORMAT dicom\n\n%filter graylist\n\n{body}"))
    }

    fn header(modality: &str, manufacturer: &str, model: &str, rows: u32, columns: u32) -> ImageHeader {
        ImageHeader { modality: modality.into(), manufacturer: manufacturer.into(), model: model.into(), rows, columns }
    }

    fn one_note(notes: &[String], label: &str) -> String {
        let found: Vec<&String> = notes.iter().filter(|n| n.contains(&format!("LABEL '{label}'"))).collect();
        assert_eq!(found.len(), 1, "one note for {label}: {notes:#?}");
        found[0].clone()
    }

    #[test]
    fn converts_the_brief_example_with_both_coordinate_forms() {
        let (rules, notes) = import(
            "LABEL Some label # comment\n  contains Modality US\n  + contains Manufacturer GE\n  + equals Rows 600\n  \
             coordinates 0,0,800,60\n  ctpcoordinates 10,20,30,40\n",
        );
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(
            rules,
            vec![RegionRule {
                name: "Some label (deid line 5)".into(),
                modality: Some("US".into()),
                manufacturer: Some("GE".into()),
                model: None,
                rows: Some(600),
                columns: None,
                // coordinates are x0,y0,x1,y1; ctpcoordinates x,y,width,height.
                boxes: vec![[0, 0, 800, 60], [10, 20, 40, 60]],
            }]
        );
        assert!(rules[0].matches(&header("US", "GE Healthcare", "LOGIQ", 600, 800)));
        assert!(!rules[0].matches(&header("US", "GE Healthcare", "LOGIQ", 768, 1024)));
    }

    #[test]
    fn model_columns_and_several_boxes() {
        let (rules, notes) = import(
            "LABEL Siemens Antares # (CTP)\n  contains Modality US\n  + contains Manufacturer Siemens\n  + equals Rows 768\n  \
             + equals Columns 1024\n  + contains ManufacturerModelName Antares\n  ctpcoordinates 0,0,1024,60\n  \
             ctpcoordinates 200,60,20,20\n  ctpcoordinates 800,65,104,14\n  ctpcoordinates 0,0,1024,60\n",
        );
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(rules.len(), 1);
        let r = &rules[0];
        assert_eq!((r.model.as_deref(), r.rows, r.columns), (Some("Antares"), Some(768), Some(1024)));
        // The repeated box is kept once.
        assert_eq!(r.boxes, vec![[0, 0, 1024, 60], [200, 60, 220, 80], [800, 65, 904, 79]]);
    }

    #[test]
    fn alternations_expand_into_rules_and_absorb() {
        let (rules, notes) = import(
            "LABEL Logiq\n  contains Modality US\n  + contains Manufacturer GE\n  + contains ManufacturerModelName LOGIQE9|V830\n  \
             ctpcoordinates 0,0,960,70\n\
             LABEL Supersonic\n  contains Modality US\n  + contains Manufacturer SuperSonic Imagine SA|SuperSonic\n  \
             ctpcoordinates 0,0,1400,89\n\
             LABEL Vitrea\n  contains Modality CT\n  + contains Manufacturer VITREA\n  + contains Manufacturer VITAL Images|VITREA\n  \
             ctpcoordinates 0,0,795,150\n",
        );
        let models: Vec<_> =
            rules.iter().filter(|r| r.name.starts_with("Logiq")).map(|r| r.model.clone().unwrap()).collect();
        assert_eq!(models, ["LOGIQE9", "V830"]);
        assert!(one_note(&notes, "Logiq").contains("2 rules"));
        // "SuperSonic Imagine SA" is found only where "SuperSonic" is: one rule.
        let s: Vec<_> = rules.iter().filter(|r| r.name.starts_with("Supersonic")).collect();
        assert_eq!((s.len(), s[0].manufacturer.as_deref()), (1, Some("SuperSonic")));
        // VITREA and (VITAL Images or VITREA) is VITREA.
        let v: Vec<_> = rules.iter().filter(|r| r.name.starts_with("Vitrea")).collect();
        assert_eq!((v.len(), v[0].manufacturer.as_deref()), (1, Some("VITREA")));
        assert_eq!(notes.len(), 1, "{notes:?}");
    }

    #[test]
    fn regular_expressions() {
        assert_eq!(literal_alternatives("SOMATOM Definition AS+").unwrap(), ["SOMATOM Definition AS"]);
        assert_eq!(literal_alternatives("AB?|C*D|E\\.F").unwrap_err(), "regular expression quantifier '*' inside the value");
        assert_eq!(literal_alternatives("AB?|CD*|E\\.F").unwrap(), ["A", "C", "E.F"]);
        assert!(literal_alternatives("GE.*").is_err());
        assert!(literal_alternatives("^GE").is_err());
        assert!(literal_alternatives("[Gg]E").is_err());
        assert!(literal_alternatives("A | B").is_err());
        assert!(literal_alternatives("\\d+").is_err());
        let (rules, notes) = import(
            "LABEL Somatom\n  contains ManufacturerModelName SOMATOM Definition AS+\n  + contains Modality CT\n  coordinates 0,0,80,85\n\
             LABEL Wild\n  contains Manufacturer GE.*Medical\n  + contains Modality CT\n  coordinates 0,0,80,85\n",
        );
        assert_eq!(rules.len(), 1);
        assert!(rules[0].matches(&header("CT", "SIEMENS", "SOMATOM Definition AS", 512, 512)));
        assert!(rules[0].matches(&header("CT", "SIEMENS", "SOMATOM Definition AS+", 512, 512)));
        let n = one_note(&notes, "Wild");
        assert!(n.contains("skipped") && n.contains("regular expression '.'"), "{n}");
    }

    #[test]
    fn conditions_on_one_field_combine() {
        let (rules, notes) = import(
            "LABEL Nested\n  contains Modality CT\n  + contains Manufacturer GE\n  + contains Manufacturer GE MEDICAL\n  coordinates 0,0,10,10\n\
             LABEL Clash\n  contains Modality CT\n  + contains Manufacturer GE\n  + contains Manufacturer Philips\n  coordinates 0,0,10,10\n\
             LABEL Two sizes\n  contains Modality US\n  + equals Rows 600\n  + equals Rows 768\n  coordinates 0,0,10,10\n\
             LABEL Same size twice\n  contains Modality US\n  + equals Rows 600\n  + equals Rows 600\n  coordinates 0,0,10,10\n",
        );
        assert_eq!(
            rules.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
            ["Nested (deid line 5)", "Same size twice (deid line 20)"]
        );
        assert_eq!(rules[0].manufacturer.as_deref(), Some("GE MEDICAL"));
        assert!(one_note(&notes, "Clash").contains("both 'GE' and 'Philips'"));
        assert!(one_note(&notes, "Two sizes").contains("never all hold"));
        assert_eq!(notes.len(), 2, "{notes:?}");
    }

    #[test]
    fn unexpressible_conditions_skip_the_label() {
        let (rules, notes) = import(
            "LABEL Dose Report # (CTP)\n  contains Modality CT\n  + contains Manufacturer GE\n  + contains SeriesDescription Dose Report\n  \
             ctpcoordinates 0,0,512,110\n\
             LABEL Not\n  contains Modality US\n  + notcontains Manufacturer GE\n  coordinates 0,0,10,10\n\
             LABEL Missing\n  contains Modality US\n  + missing Manufacturer\n  coordinates 0,0,10,10\n\
             LABEL Empty\n  contains Modality US\n  + empty ManufacturerModelName\n  coordinates 0,0,10,10\n\
             LABEL Present\n  contains Modality US\n  + present SequenceOfUltrasoundRegions\n  coordinates 0,0,10,10\n\
             LABEL Noteq\n  contains Modality US\n  + notequals Rows 600\n  coordinates 0,0,10,10\n\
             LABEL Exact\n  equals Modality CT\n  coordinates 0,0,10,10\n\
             LABEL Rows text\n  contains Modality US\n  + contains Rows 60\n  coordinates 0,0,10,10\n\
             LABEL Tag number\n  contains 0x00080060 US\n  coordinates 0,0,10,10\n",
        );
        assert!(rules.is_empty(), "{rules:?}");
        assert_eq!(notes.len(), 9, "{notes:#?}");
        assert!(notes.iter().all(|n| n.contains(": skipped: conditions our rules cannot express")), "{notes:#?}");
        assert!(one_note(&notes, "Dose Report").contains("'contains SeriesDescription Dose Report'"));
        assert!(one_note(&notes, "Exact").contains("exact comparison"));
        assert!(one_note(&notes, "Rows text").contains("'60' also matches 600"));
    }

    #[test]
    fn only_device_conditions_are_dropped_and_only_from_pinned_rules() {
        let (rules, notes) = import(
            "LABEL Pinned device\n  contains Modality US\n  + contains Manufacturer Siemens\n  + equals Rows 768\n  + equals Columns 1024\n  \
             + contains SoftwareVersions 2.0\n  ctpcoordinates 0,0,1024,60\n\
             LABEL Pinned kind\n  contains Modality US\n  + contains Manufacturer Siemens\n  + equals Rows 768\n  + equals Columns 1024\n  \
             + contains ImageType SECONDARY\n  ctpcoordinates 230,50,260,370\n\
             LABEL Loose device\n  contains Modality US\n  + contains Manufacturer Siemens\n  + equals Rows 768\n  \
             + contains SoftwareVersions 2.0\n  ctpcoordinates 0,0,1024,60\n",
        );
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0].name, "Pinned device (deid line 5)");
        assert!(one_note(&notes, "Pinned device")
            .contains("dropped, so the rule is broader than deid's: 'contains SoftwareVersions 2.0'"));
        let kind = one_note(&notes, "Pinned kind");
        assert!(kind.contains("skipped") && kind.contains("ImageType") && kind.contains("not dropped"), "{kind}");
        let loose = one_note(&notes, "Loose device");
        assert!(loose.contains("skipped") && !loose.contains("not dropped"), "{loose}");
    }

    #[test]
    fn or_within_a_line_and_or_across_lines() {
        let (rules, notes) = import(
            "LABEL Inline\n  contains Modality US\n  + contains Manufacturer GE || contains Manufacturer Philips\n  coordinates 0,0,10,10\n\
             LABEL Inline opaque\n  contains Modality CT\n  + contains ImageType LOCAL || contains SeriesDescription Localizer\n  \
             coordinates 0,0,80,85\n\
             LABEL Across\n  contains Modality US\n  || contains Modality CT\n  coordinates 0,0,10,10\n\
             LABEL First line\n  || contains Modality US\n  coordinates 0,0,10,10\n\
             LABEL Left to right\n  contains Modality US + contains Manufacturer GE || contains Manufacturer Philips\n  coordinates 0,0,20,20\n",
        );
        let inline: Vec<_> =
            rules.iter().filter(|r| r.name.starts_with("Inline")).map(|r| r.manufacturer.clone().unwrap()).collect();
        assert_eq!(inline, ["GE", "Philips"]);
        assert!(one_note(&notes, "Inline opaque").contains("'contains ImageType LOCAL'"));
        assert!(one_note(&notes, "Across").contains("deid 0.4.13 evaluates it as AND"));
        assert!(rules.iter().any(|r| r.name.starts_with("First line") && r.modality.as_deref() == Some("US")));
        // (US and GE) or Philips: the second rule has no modality.
        let ltr: Vec<_> = rules.iter().filter(|r| r.name.starts_with("Left to right")).collect();
        assert_eq!(ltr.len(), 2);
        assert_eq!((ltr[0].modality.as_deref(), ltr[0].manufacturer.as_deref()), (Some("US"), Some("GE")));
        assert_eq!((ltr[1].modality.as_deref(), ltr[1].manufacturer.as_deref()), (None, Some("Philips")));
    }

    #[test]
    fn conditions_constant_in_deid() {
        let (rules, notes) = import(
            "LABEL ADAC # (CTP)\n  equals Rows 832\n  + equals Columns 1024\n  + contains Manfacturer ADAC\n  ctpcoordinates 0,0,1024,80\n\
             LABEL EPIQ_7G (CTP)\n  + contains Manufacturer EPIQ\n  + equals Rows 600|768\n  ctpcoordinates 0,0,800,59\n\
             LABEL MINDRAY # (CTP)\n  contains Modality US\n  + contains ImplementationVersionName MINDRAY\n  ctpcoordinates 0,0,1229,69\n\
             LABEL Commented\n  contains Modality US # an ultrasound\n  coordinates 0,0,10,10\n\
             LABEL Negated typo\n  contains Modality US\n  + notcontains Manfacturer X\n  coordinates 0,0,10,10\n\
             LABEL Always\n  notcontains Manfacturer X || contains Modality US\n  coordinates 0,0,10,10\n\
             LABEL Any value\n  contains Modality US|\n  coordinates 0,0,10,10\n",
        );
        let adac = one_note(&notes, "ADAC");
        assert!(adac.contains("never all hold") && adac.contains("a typo of Manufacturer?"), "{adac}");
        assert!(one_note(&notes, "EPIQ_7G (CTP)").contains("'600|768' is no number's text"));
        assert!(one_note(&notes, "MINDRAY").contains("file meta element"));
        assert!(one_note(&notes, "Commented").contains("trailing comment"));
        // notcontains on an element deid never finds is always true: left out.
        assert_eq!(rules.len(), 1);
        assert_eq!((rules[0].modality.as_deref(), rules[0].manufacturer.as_deref()), (Some("US"), None));
        assert!(one_note(&notes, "Negated typo").contains("converted, but: constant conditions left out"));
        assert!(one_note(&notes, "Always").contains("hold for every image"));
        // An empty alternative matches anything.
        assert!(one_note(&notes, "Any value").contains("hold for every image"));
    }

    #[test]
    fn coordinate_forms() {
        let (rules, notes) = import(
            "LABEL Keep\n  contains Modality US\n  coordinates 0,0,100,50\n  keepcoordinates 10,10,20,20\n  ctpkeepcoordinates 1,1,2,2\n\
             LABEL All\n  contains Modality US\n  + equals Rows 480\n  + equals Columns 640\n  coordinates all\n\
             LABEL All loose\n  contains Modality US\n  ctpcoordinates all\n\
             LABEL From\n  present SequenceOfUltrasoundRegions\n  keepcoordinates from:SequenceOfUltrasoundRegions\n\
             LABEL From and box\n  contains Modality US\n  coordinates from:SequenceOfUltrasoundRegions\n  coordinates 0,0,10,10\n\
             LABEL Spaces\n  contains Modality US\n  coordinates 450,0,672, 85\n",
        );
        let get = |n: &str| rules.iter().find(|r| r.name.starts_with(&format!("{n} (deid"))).map(|r| r.boxes.clone());
        assert_eq!(get("Keep"), Some(vec![[0, 0, 100, 50]]));
        assert!(one_note(&notes, "Keep").contains("2 keepcoordinates line(s) ignored"));
        assert_eq!(get("All"), Some(vec![[0, 0, 640, 480]]));
        assert_eq!(get("All loose"), Some(vec![[0, 0, WHOLE, WHOLE]]));
        assert_eq!(get("From"), None);
        assert!(one_note(&notes, "From").contains("skipped"));
        assert_eq!(get("From and box"), Some(vec![[0, 0, 10, 10]]));
        assert!(one_note(&notes, "From and box").contains("from:SequenceOfUltrasoundRegions' ignored"));
        assert_eq!(get("Spaces"), Some(vec![[450, 0, 672, 85]]));
    }

    #[test]
    fn negative_empty_and_malformed_boxes() {
        let (rules, notes) = import(
            "LABEL Sized\n  contains Modality US\n  + equals Rows 600\n  + equals Columns 800\n  coordinates -100,0,-1,40\n  \
             coordinates -50,-20,900,700\n\
             LABEL Unsized\n  contains Modality US\n  coordinates -100,0,-1,40\n  coordinates 5,5,10,10\n\
             LABEL Empty\n  contains Modality US\n  ctpcoordinates 10,10,0,20\n  coordinates 30,10,20,20\n\
             LABEL Malformed\n  contains Modality US\n  coordinates 1,2,3\n  ctpcoordinates 1,,2,3,4\n  coordinates a,b,c,d\n",
        );
        let get = |n: &str| rules.iter().find(|r| r.name.starts_with(&format!("{n} (deid"))).map(|r| r.boxes.clone());
        // numpy slices: -100:-1 of 800 columns is 700:799; -20 of 600 rows is 580.
        assert_eq!(get("Sized"), Some(vec![[700, 0, 799, 40], [750, 580, 800, 600]]));
        assert_eq!(get("Unsized"), Some(vec![[5, 5, 10, 10]]));
        assert!(one_note(&notes, "Unsized").contains("far edge"));
        assert_eq!(get("Empty"), None);
        assert!(one_note(&notes, "Empty").contains("it is empty"));
        // ctpcoordinates skips empty parts, as deid does: 1,,2,3,4 is x=1,y=2,w=3,h=4.
        assert_eq!(get("Malformed"), Some(vec![[1, 2, 4, 6]]));
        assert!(one_note(&notes, "Malformed").contains("'1,2,3' is not four integers"));
    }

    #[test]
    fn labels_that_mask_nothing_or_everything() {
        let (rules, notes) = import_deid_recipe(
            "FORMAT dicom\n%filter whitelist\nLABEL Marked as Clean # (Vanessa Sochat)\n  contains BurnedInAnnotation No\n\
             %filter graylist\nLABEL Flag only\n  contains Modality CT\nLABEL Blank Image\n    coordinates all\n\
             %filter blacklist\nLABEL Burned In Annotation # (CTP)\n  contains ImageType SAVE\n  + contains Modality CT|MR\n  \
             || contains SeriesDescription SAVE\n  || empty ImageType\n\
             %header\nLABEL Not a filter\n  coordinates 0,0,1,1\nREMOVE PatientID\n",
        );
        assert!(rules.is_empty(), "{rules:?}");
        assert_eq!(notes.len(), 4, "{notes:#?}");
        assert!(one_note(&notes, "Marked as Clean").starts_with("whitelist LABEL"));
        assert!(one_note(&notes, "Flag only").contains("no coordinates"));
        assert!(one_note(&notes, "Blank Image").contains("no conditions"));
        assert!(one_note(&notes, "Burned In Annotation").starts_with("blacklist LABEL"));
    }

    #[test]
    fn malformed_lines_skip_the_label() {
        let (rules, notes) = import_deid_recipe(
            "%filter graylist\nLABEL Unknown action\n  contains Modality US\n  + startswith Manufacturer GE\n  coordinates 0,0,1,1\n\
             LABEL No value\n  contains Modality\n  coordinates 0,0,1,1\n\
             LABEL Shifted\n  missing Manufacturer || contains Modality US\n  coordinates 0,0,1,1\n\
             LABEL Bad inner\n  contains Modality US + containsX Manufacturer GE\n  coordinates 0,0,1,1\n\
             %filtre graylist\nLABEL In an unknown section\n  contains Modality US\n  coordinates 0,0,1,1\n",
        );
        assert!(rules.is_empty(), "{rules:?}");
        assert!(one_note(&notes, "Unknown action").contains("is no condition deid knows"));
        assert!(one_note(&notes, "No value").contains("needs a field and a value"));
        assert!(one_note(&notes, "Shifted").contains("shifted"));
        assert!(one_note(&notes, "Bad inner").contains("'containsx' is not a filter action"));
        assert!(notes.iter().any(|n| n.contains("unknown section '%filtre'")));
        assert_eq!(notes.len(), 5, "{notes:#?}");
    }

    #[test]
    fn repeated_labels_give_one_rule() {
        let label =
            "contains Modality US\n  + contains Manufacturer ESAOTE\n  + equals Rows 804\n  ctpcoordinates 0,0,1030,45\n";
        let (rules, notes) = import(&format!(
            "LABEL ESAOTE\n  {label}LABEL ESAOTE again\n  {label}LABEL Other box\n  {label}  coordinates 1,1,2,2\n"
        ));
        assert_eq!(
            rules.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
            ["ESAOTE (deid line 5)", "Other box (deid line 15)"]
        );
        assert_eq!(
            notes,
            ["graylist LABEL 'ESAOTE again' (line 10): skipped: the same conditions and boxes as 'ESAOTE (deid line 5)'"]
        );
    }

    #[test]
    fn deid_inner_split_quirks() {
        // A '+' inside a value splits the line only when the rest names a filter action.
        let (conds, ors) = parse_member("contains ImageType DERIVED+SECONDARY+SCREEN SAVE").unwrap();
        assert_eq!((conds.len(), conds[0].value.as_deref(), ors.len()), (1, Some("DERIVED+SECONDARY+SCREEN SAVE"), 0));
        let (conds, ors) = parse_member("contains Modality CT || contains Manufacturer GE + equals Rows 5").unwrap();
        let fields: Vec<_> = conds.iter().map(|c| c.field.as_str()).collect();
        assert_eq!((fields, ors), (vec!["Modality", "Manufacturer", "Rows"], vec![true, false]));
    }

    /// An excerpt of deid 0.4.13's deid/data/deid.dicom (MIT, Copyright (c) 2016-2022 Vanessa Sochat).
    const EXCERPT: &str = "FORMAT dicom

%filter whitelist

LABEL CT Siemens Sensation 64 Catch-all # (Susan Weber)
  contains ManufacturerModelName Sensation 64
  + contains Modality CT

%filter graylist

LABEL LightSpeed Dose Report # (Susan Weber)
  contains ManufacturerModelName LightSpeed VCT
  + contains Modality CT
  + contains ImageType SCREEN SAVE || contains SeriesDescription Dose
  coordinates 0,0,512,121

LABEL Volume Rendering - MRCP  # (CTP)
  contains Modality CT
  + contains Manufacturer GE
  + equals Rows 512
  + equals Columns 512
  + contains BurnedInAnnotation YES
  + contains ImageType VOLREN
  ctpcoordinates 350,0,162,30
  ctpcoordinates 390,80,122,15

LABEL SIEMMENS  # (CTP)
  contains Modality US
  + contains Manufacturer SIEMENS
  + contains ManufacturerModelName S2000
  + equals Rows 768
  + equals Columns 1024
  ctpcoordinates 0,0,1024,60

LABEL Toshiba Aplio 400 or 500 # (CTP)
  contains Modality US
  + contains Manufacturer TOSHIBA
  + equals Rows 720
  + equals Columns 960
  + contains ManufacturerModelName A400|A500
  ctpcoordinates 0,0,960,60

LABEL TOSHIBA # (FFUR)
  contains Modality US
  + contains Manufacturer TOSHIBA
  + equals Rows 903
  ctpcoordinates 0,0,930,50
  + contains ManufacturerModelName TUS-A500

LABEL Canon CR/DR # (CTP)
  contains Modality MRI
  + contains Manufacturer Canon
  + equals Rows 2592
  + contains ManufacturerModelName CXD1
  ctpcoordinates 0,0,2208,80
  ctpcoordinates 0,2512,2208,80

%filter blacklist

LABEL Stanford Blacklist Missing ImageType  # Susan Weber, Vanessa Sochat
  missing ImageType || empty ImageType

%header

REMOVE endswith:Time
ADD PatientIdentityRemoved YES
";

    #[test]
    fn excerpt_of_the_real_recipe() {
        let (rules, notes) = import_deid_recipe(EXCERPT);
        let names: Vec<&str> = rules.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "SIEMMENS (deid line 27)",
                "Toshiba Aplio 400 or 500 (deid line 35)",
                "Toshiba Aplio 400 or 500 (deid line 35)",
                "TOSHIBA (deid line 43)",
                "Canon CR/DR (deid line 50)",
            ]
        );
        assert_eq!(rules[3].model.as_deref(), Some("TUS-A500"));
        assert_eq!(rules[4].boxes, vec![[0, 0, 2208, 80], [0, 2512, 2208, 2592]]);
        assert!(one_note(&notes, "Canon CR/DR").contains("'MRI' is in no standard Modality code"));
        assert!(one_note(&notes, "Volume Rendering - MRCP").contains("not dropped"));
        assert!(one_note(&notes, "LightSpeed Dose Report").contains("ImageType"));
        assert!(one_note(&notes, "CT Siemens Sensation 64 Catch-all").contains("no coordinates"));
        assert!(one_note(&notes, "Stanford Blacklist Missing ImageType").contains("no coordinates"));
        assert_eq!(notes.len(), 6, "{notes:#?}");
        let policy = PixelPolicy { regions: rules, ..PixelPolicy::default() };
        policy.validate().unwrap();
        let us = header("US", "SIEMENS", "ACUSON S2000", 768, 1024);
        assert_eq!(policy.region_boxes(&us), vec![(0, 0, 1024, 60)]);
    }

    #[test]
    fn garbage_never_panics_and_rules_stay_valid() {
        // Whole lines of the format, and fragments to cut into them or to string together.
        const LINES: &str = "LABEL x # c; %filter graylist; %header; %filter; contains Modality US; \
            + contains Manufacturer GE MEDICAL; + contains ManufacturerModelName A400|A500; + equals Rows 600; \
            + equals Columns 800; contains Modality CT || contains Manufacturer GE; + notcontains Manfacturer X; \
            + contains ImageType SAVE; + equals Rows 600|768; || contains Modality MR; coordinates 0,0,10,10; \
            ctpcoordinates -5,3,20,9; coordinates all; keepcoordinates 1,1,2,2; coordinates from:X; \
            ctpcoordinates 1,,2,3,4; # comment";
        const WORDS: &str = "LABEL % + || | # contains notcontains equals missing present empty Modality Manufacturer \
            ManufacturerModelName Rows Columns Manfacturer ImageType 0x00080060 US CT|MR GE+ A| |B ( \\ \\| ? * é 日本 \u{0} \t \
            coordinates ctpcoordinates all from:X 0,0,10,10 -5,3,-1,9 99999999999999999999,1,2,3 ,,, 512 600|768 0600 -";
        let lines: Vec<&str> = LINES.split(';').map(str::trim).collect();
        let words: Vec<&str> = WORDS.split_whitespace().collect();
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let mut converted = 0;
        for _ in 0..3000 {
            let mut text = String::from("%filter graylist\nLABEL start\n");
            for _ in 0..next(16) {
                let mut line = String::from(lines[next(lines.len())]);
                if next(3) == 0 {
                    // Cut the line at a random byte (never inside a character) and add fragments.
                    let cut = (0..=line.len()).filter(|i| line.is_char_boundary(*i)).nth(next(line.len() + 1)).unwrap_or(0);
                    line.truncate(cut);
                    for _ in 0..next(4) {
                        line.push_str([" ", ",", "", "+"][next(4)]);
                        line.push_str(words[next(words.len())]);
                    }
                }
                text.push_str(&line);
                text.push('\n');
            }
            let (rules, notes) = import_deid_recipe(&text);
            converted += rules.len();
            let policy = PixelPolicy { regions: rules.clone(), ..PixelPolicy::default() };
            assert!(policy.validate().is_ok(), "{text}\n{rules:?}");
            assert!(rules.iter().all(|r| !r.boxes.is_empty()), "{text}");
            assert!(notes.iter().all(|n| !n.is_empty()));
        }
        assert!(converted > 100, "the garbage should convert now and then ({converted} rules)");
        // A huge alternation, and lines that end inside a multi-byte character.
        let (rules, notes) =
            import_deid_recipe(&format!("%filter g\nLABEL x\ncontains Modality {}\ncoordinates 0,0,1,1", "A|".repeat(5000)));
        assert!(rules.is_empty() && notes[0].contains("too many alternatives"), "{notes:?}");
        let _ = import_deid_recipe("%filter g\nLABEL é\ncontains Modality é|日\ncoordinates 0,0,1,1\nLABELé\n%é");
    }
}
