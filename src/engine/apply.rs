//! Apply the decisions to one file: walk the data set (sequences and private blocks
//! included), transform or drop each element, and record what was done.

use super::classify::{Context, Decision, PrivateInfo};
use crate::actions::dates::{self, Offset};
use crate::actions::dummy::{dummy_for, max_len};
use crate::actions::uid::{is_standard_uid, remap_uid};
use crate::policy::profile::Action;
use crate::policy::selector::{display_path, format_tag, keyword, ItemPath};
use crate::report::{ElementChange, FileReport, FindingSummary};
use super::PatientVocabulary;
use crate::text::{redact, Finding};
use crate::Deidentifier;
use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
use dicom_core::value::{DataSetSequence, PrimitiveValue, Value};
use dicom_core::header::Header;
use dicom_core::{DataElement, Length, Tag, VR};
use dicom_dictionary_std::StandardDataDictionary;
use dicom_object::mem::{InMemDicomObject, InMemElement};
use std::collections::{HashMap, HashSet};

/// VRs whose values are free or short text and can be scanned for PHI.
const SCANNED_VRS: &[&str] = &["AE", "CS", "LO", "LT", "PN", "SH", "ST", "UC", "UR", "UT"];
/// VRs whose character repertoire or format a redaction mark would break: a finding
/// empties the whole value instead.
const RESTRICTED_VRS: &[&str] = &["AE", "CS", "UR"];

pub(crate) struct FileRun<'a> {
    de: &'a Deidentifier,
    patient: &'a PatientVocabulary,
    offset: Offset,
    pseudo_name: String,
    pseudo_id: String,
    pub report: FileReport,
}

fn tag_u32(t: Tag) -> u32 {
    ((t.group() as u32) << 16) | t.element() as u32
}

impl<'a> FileRun<'a> {
    pub fn new(de: &'a Deidentifier, patient: &'a PatientVocabulary, offset: Offset, pseudo_name: String, pseudo_id: String) -> Self {
        FileRun { de, patient, offset, pseudo_name, pseudo_id, report: FileReport::default() }
    }

    pub fn into_report(mut self, transfer_syntax: String) -> FileReport {
        self.report.transfer_syntax = transfer_syntax;
        self.report.patient = self.pseudo_id;
        self.report
    }

    pub fn process_root(&mut self, obj: InMemDicomObject) -> InMemDicomObject {
        self.process(obj, &mut Vec::new(), Context::Normal)
    }

    /// A UID's replacement (standard UIDs kept), recorded for the mapping table.
    pub fn map_uid(&self, old: &str) -> String {
        let t = old.trim_end_matches(['\0', ' ']);
        if t.is_empty() || is_standard_uid(t) {
            return t.to_string();
        }
        let new = remap_uid(&self.de.secret, t);
        self.de.record_uid(t, &new);
        new
    }

    fn process(&mut self, obj: InMemDicomObject, path: &mut Vec<(u32, usize)>, ctx: Context) -> InMemDicomObject {
        // Private creators and date/time values of this level, read before anything moves.
        let mut creators: HashMap<(u16, u8), String> = HashMap::new();
        let mut temporal: HashMap<u32, String> = HashMap::new();
        for e in obj.iter() {
            let (g, el) = (e.tag().group(), e.tag().element());
            if g % 2 == 1 && (0x10..=0xFF).contains(&el) {
                if let Ok(s) = e.value().to_str() {
                    creators.insert((g, el as u8), s.trim().to_string());
                }
            }
            if matches!(e.vr(), VR::DA | VR::TM) {
                if let Ok(s) = e.value().to_str() {
                    temporal.insert(tag_u32(e.tag()), s.trim().to_string());
                }
            }
        }
        let mut out: Vec<InMemElement> = Vec::new();
        let mut kept_blocks: HashSet<(u16, u8)> = HashSet::new();
        for elem in obj {
            let tag = tag_u32(elem.tag());
            let (g, el) = (elem.tag().group(), elem.tag().element());
            let vr = elem.vr().to_string();
            let private = (g % 2 == 1).then(|| PrivateInfo { creator: creators.get(&(g, (el >> 8) as u8)).map(String::as_str) });
            let decision = self.de.classify(tag, vr, path, private, ctx);
            if let Some(new) = self.apply(elem, tag, &decision, path, &temporal) {
                if g % 2 == 1 && el >= 0x1000 {
                    kept_blocks.insert((g, (el >> 8) as u8));
                }
                out.push(new);
            }
        }
        // A creator with nothing left in its block goes too.
        let mut result = Vec::with_capacity(out.len());
        for e in out {
            let (g, el) = (e.tag().group(), e.tag().element());
            if g % 2 == 1 && (0x10..=0xFF).contains(&el) && !kept_blocks.contains(&(g, el as u8)) {
                self.record(path, tag_u32(e.tag()), e.vr().to_string(), "private", "private creator of an emptied block", Action::Remove, vec![]);
                self.report.removed_paths.push((path.to_vec(), tag_u32(e.tag())));
                continue;
            }
            result.push(e);
        }
        InMemDicomObject::from_element_iter(result)
    }

    #[allow(clippy::too_many_arguments)]
    fn record(&mut self, path: &ItemPath, tag: u32, vr: &str, source: &str, rule: &str, action: Action, findings: Vec<FindingSummary>) {
        if !self.de.report_elements {
            return;
        }
        self.report.elements.push(ElementChange {
            path: display_path(path, tag),
            tag: format_tag(tag),
            keyword: keyword(tag).unwrap_or("").to_string(),
            vr: vr.to_string(),
            source: source.to_string(),
            rule: rule.to_string(),
            action,
            findings,
            before: None,
            after: None,
        });
    }

    /// Values go in the report only when the user asked for them.
    fn record_values(&mut self, before: Option<String>, after: Option<String>) {
        if self.de.report_values && self.de.report_elements {
            if let Some(last) = self.report.elements.last_mut() {
                last.before = before;
                last.after = after;
            }
        }
    }

    fn apply(&mut self, elem: InMemElement, tag: u32, d: &Decision, path: &mut Vec<(u32, usize)>, temporal: &HashMap<u32, String>) -> Option<InMemElement> {
        let vr_code = elem.vr();
        let vr = vr_code.to_string();
        let t = elem.tag();
        let (_, value) = elem.into_parts();
        match (d.action, value) {
            (Action::Remove, value) => {
                self.record(path, tag, vr, d.source, &d.rule, Action::Remove, vec![]);
                if self.de.report_values {
                    self.record_values(value_text(&value), None);
                }
                self.report.removed_paths.push((path.to_vec(), tag));
                None
            }
            (Action::Empty, Value::Sequence(_)) => {
                self.record(path, tag, vr, d.source, &d.rule, Action::Empty, vec![]);
                Some(DataElement::new(t, vr_code, Value::Sequence(DataSetSequence::new(Vec::<InMemDicomObject>::new(), Length::UNDEFINED))))
            }
            (Action::Empty, value) => {
                if !is_empty(&value) {
                    self.record(path, tag, vr, d.source, &d.rule, Action::Empty, vec![]);
                    if self.de.report_values {
                        self.record_values(value_text(&value), Some(String::new()));
                    }
                }
                Some(DataElement::new(t, vr_code, PrimitiveValue::Empty))
            }
            (_, Value::PixelSequence(px)) => Some(DataElement::new(t, vr_code, Value::PixelSequence(px))),
            (action, Value::Sequence(seq)) => {
                let inner = if matches!(action, Action::Keep | Action::RemapUid) { Context::Normal } else { Context::CleanAll };
                let items: Vec<InMemDicomObject> = seq
                    .into_items()
                    .into_iter()
                    .enumerate()
                    .map(|(i, item)| {
                        path.push((tag, i));
                        let r = self.process(item, path, inner);
                        path.pop();
                        r
                    })
                    .collect();
                Some(DataElement::new(t, vr_code, Value::Sequence(DataSetSequence::new(items, Length::UNDEFINED))))
            }
            (action, Value::Primitive(p)) => self.apply_primitive(t, vr_code, tag, action, d, p, path, temporal),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn apply_primitive(
        &mut self,
        t: Tag,
        vr_code: VR,
        tag: u32,
        action: Action,
        d: &Decision,
        p: PrimitiveValue,
        path: &ItemPath,
        temporal: &HashMap<u32, String>,
    ) -> Option<InMemElement> {
        let vr = vr_code.to_string();
        let keep = |p| Some(DataElement::new(t, vr_code, p));
        if matches!(p, PrimitiveValue::Empty) && action != Action::Dummy {
            return keep(p);
        }
        let effective = match (action, vr) {
            (Action::RemapUid | Action::Clean | Action::Dummy, "UI") => Action::RemapUid,
            (Action::Clean | Action::ShiftDate, "DA" | "DT" | "TM") => Action::ShiftDate,
            (Action::Clean, "PN") => Action::Dummy,
            (Action::ShiftDate | Action::RemapUid, _) => Action::Clean,
            (Action::Pseudonym, "PN" | "LO" | "SH") => Action::Pseudonym,
            (Action::Pseudonym, _) => Action::Dummy,
            (a, _) => a,
        };
        let before = self.de.report_values.then(|| p.to_str().into_owned());
        let new_value: PrimitiveValue = match effective {
            Action::RemapUid => {
                let vals: Vec<String> = p.to_multi_str().iter().map(|u| self.map_uid(u)).collect();
                strs(vals)
            }
            Action::ShiftDate => match self.shift_temporal(tag, vr, &p, temporal) {
                Ok(v) => v,
                Err(why) => {
                    let rule = format!("{}; {why}: emptied (fail closed)", d.rule);
                    self.record(path, tag, vr, d.source, &rule, Action::Empty, vec![]);
                    self.record_values(before, Some(String::new()));
                    return keep(PrimitiveValue::Empty);
                }
            },
            Action::Pseudonym => PrimitiveValue::from(if vr == "PN" { self.pseudo_name.clone() } else { self.pseudo_id.clone() }),
            Action::Dummy => dummy_value(vr, &self.de.policy.dummy_values),
            Action::Clean | Action::Keep => {
                if !SCANNED_VRS.contains(&vr) {
                    if action == Action::Clean && is_binary_vr(vr) {
                        // Binary data we cannot inspect is not passed through under "clean".
                        let rule = format!("{}; binary value cannot be cleaned: removed", d.rule);
                        self.record(path, tag, vr, d.source, &rule, Action::Remove, vec![]);
                        self.report.removed_paths.push((path.to_vec(), tag));
                        return None;
                    }
                    if vr == "UN" {
                        return self.check_unknown(t, vr_code, tag, d, p, path);
                    }
                    return keep(p);
                }
                let strict = action == Action::Keep;
                let values = p.to_multi_str().into_owned();
                let (cleaned, findings) = self.clean_values(vr, &values, strict);
                if findings.is_empty() {
                    return keep(p);
                }
                let rule = format!("{}; PHI found in text: redacted", d.rule);
                self.record(path, tag, vr, d.source, &rule, Action::Clean, findings);
                self.record_values(before, Some(cleaned.join("\\")));
                return keep(strs(cleaned));
            }
            Action::Remove | Action::Empty => unreachable!("handled by the caller"),
        };
        let changed = new_value != p;
        let after = self.de.report_values.then(|| new_value.to_str().into_owned());
        if changed {
            self.record(path, tag, vr, d.source, &d.rule, effective, vec![]);
            self.record_values(before, after);
        }
        keep(new_value)
    }

    /// UN values of standard text attributes may hide text: scanned as bytes; a finding
    /// removes the element, since its encoding is unknown.
    fn check_unknown(&mut self, t: Tag, vr_code: VR, tag: u32, d: &Decision, p: PrimitiveValue, path: &ItemPath) -> Option<InMemElement> {
        let text = String::from_utf8_lossy(&p.to_bytes()).into_owned();
        let findings = self.patient.scan(&text, &self.de.detectors, true);
        if findings.is_empty() {
            return Some(DataElement::new(t, vr_code, p));
        }
        let rule = format!("{}; PHI found in a UN value: removed", d.rule);
        let summary = summarize(&findings);
        self.record(path, tag, "UN", d.source, &rule, Action::Remove, summary);
        self.report.removed_paths.push((path.to_vec(), tag));
        None
    }

    /// Scan each value; redact spans (or empty restricted VRs). Returns the new values and
    /// what was found (kinds and rules only: no PHI).
    fn clean_values(&self, vr: &str, values: &[String], strict: bool) -> (Vec<String>, Vec<FindingSummary>) {
        let ft = &self.de.policy.free_text;
        let mut all = Vec::new();
        let cleaned = values
            .iter()
            .map(|v| {
                let findings = self.patient.scan(v, &self.de.detectors, strict);
                if findings.is_empty() {
                    return v.clone();
                }
                all.extend(summarize(&findings));
                if ft.remove_value_on_finding || RESTRICTED_VRS.contains(&vr) || vr == "PN" {
                    return String::new();
                }
                let mut r = redact(v, &findings, &ft.replacement);
                if let Some(n) = max_len(vr) {
                    r = r.chars().take(n).collect();
                }
                r
            })
            .collect();
        all.sort();
        all.dedup();
        (cleaned, all)
    }

    /// Shift DA, TM and DT values; a DA or TM with a paired sibling shifts as one instant.
    fn shift_temporal(&self, tag: u32, vr: &str, p: &PrimitiveValue, temporal: &HashMap<u32, String>) -> Result<PrimitiveValue, String> {
        let values = p.to_multi_str();
        let off = self.offset;
        let pair = paired_tag(tag, vr).and_then(|pt| temporal.get(&pt));
        let shifted: Result<Vec<String>, String> = values
            .iter()
            .map(|v| {
                let v = v.trim();
                if v.is_empty() {
                    return Ok(String::new());
                }
                match (vr, pair) {
                    ("DA", Some(tm)) => dates::shift_da_with_time(v, tm, off),
                    ("DA", None) => dates::shift_da(v, off),
                    ("TM", Some(da)) if dates::parse_da(da).is_some() => dates::shift_pair(da, v, off).map(|(_, t)| t),
                    ("TM", _) => dates::shift_tm(v, off),
                    ("DT", _) => dates::shift_dt(v, off),
                    _ => Err(format!("VR {vr} is not a date or time")),
                }
            })
            .collect();
        Ok(strs(shifted?))
    }
}

/// StudyDate <-> StudyTime and every other Date/Time keyword pair of the dictionary.
fn paired_tag(tag: u32, vr: &str) -> Option<u32> {
    let kw = keyword(tag)?;
    let other = match vr {
        "DA" => kw.rfind("Date").map(|i| format!("{}Time{}", &kw[..i], &kw[i + 4..]))?,
        "TM" => kw.rfind("Time").map(|i| format!("{}Date{}", &kw[..i], &kw[i + 4..]))?,
        _ => return None,
    };
    StandardDataDictionary.by_name(&other).map(|e| {
        let t: Tag = e.tag_range().inner();
        tag_u32(t)
    })
}

fn summarize(findings: &[Finding]) -> Vec<FindingSummary> {
    let mut v: Vec<FindingSummary> = findings.iter().map(|f| FindingSummary { kind: f.kind, rule: f.rule.clone() }).collect();
    v.sort();
    v.dedup();
    v
}

fn strs(values: Vec<String>) -> PrimitiveValue {
    PrimitiveValue::Strs(values.into_iter().collect())
}

fn is_empty(v: &Value<InMemDicomObject>) -> bool {
    match v {
        Value::Primitive(p) => matches!(p, PrimitiveValue::Empty) || (p.multiplicity() <= 1 && p.to_str().trim().is_empty()),
        Value::Sequence(s) => s.items().is_empty(),
        Value::PixelSequence(_) => false,
    }
}

/// The value as text for a report, unless it is bulk binary data.
fn value_text(v: &Value<InMemDicomObject>) -> Option<String> {
    match v {
        Value::Primitive(p) if p.multiplicity() < 64 => Some(p.to_str().into_owned()),
        _ => None,
    }
}

fn is_binary_vr(vr: &str) -> bool {
    matches!(vr, "OB" | "OW" | "OF" | "OD" | "OL" | "OV" | "UN")
}

/// A dummy of the right type for the VR: text from the policy, zero for numbers, empty for
/// binary (no byte of the original survives).
fn dummy_value(vr: &str, custom: &std::collections::BTreeMap<String, String>) -> PrimitiveValue {
    if let Some(s) = dummy_for(vr, custom) {
        return PrimitiveValue::from(s.to_string());
    }
    match vr {
        "US" => PrimitiveValue::from(0_u16),
        "SS" => PrimitiveValue::from(0_i16),
        "UL" => PrimitiveValue::from(0_u32),
        "SL" => PrimitiveValue::from(0_i32),
        "FL" => PrimitiveValue::from(0_f32),
        "FD" => PrimitiveValue::from(0_f64),
        "SV" => PrimitiveValue::from(0_i64),
        "UV" => PrimitiveValue::from(0_u64),
        _ => PrimitiveValue::Empty,
    }
}
