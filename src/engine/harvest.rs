//! Harvest the sensitive vocabulary: the values of identifying elements (names, IDs,
//! dates, addresses, instance UIDs), anywhere in the data set, before anything is changed.
//! Free text in every file of the same patient is then checked against them, and the
//! verifier searches the output for them.

use super::classify::Context;
use crate::policy::profile::Action;
use crate::policy::selector::ItemPath;
use crate::text::PhiKind;
use crate::Deidentifier;
use dicom_core::header::Header;
use dicom_core::value::Value;
use dicom_core::Tag;
use super::io::element_text;
use dicom_object::mem::InMemDicomObject;
use std::collections::HashSet;

/// The patient a file belongs to: the key that selects its offset, pseudonym and shared
/// vocabulary, and the original Patient ID if there is one (for the mapping table).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PatientKey(pub String, pub Option<String>);

/// Patient ID when present; else name + birth date; else the study; else the instance.
pub fn patient_key(obj: &InMemDicomObject) -> PatientKey {
    if let Some(id) = element_text(obj, Tag(0x0010, 0x0020)) {
        let issuer = element_text(obj, Tag(0x0010, 0x0021)).unwrap_or_default();
        return PatientKey(format!("id:{issuer}|{id}"), Some(id));
    }
    if let Some(name) = element_text(obj, Tag(0x0010, 0x0010)) {
        let birth = element_text(obj, Tag(0x0010, 0x0030)).unwrap_or_default();
        return PatientKey(format!("name:{name}|{birth}"), None);
    }
    if let Some(study) = element_text(obj, Tag(0x0020, 0x000D)) {
        return PatientKey(format!("study:{study}"), None);
    }
    PatientKey(format!("instance:{}", element_text(obj, Tag(0x0008, 0x0018)).unwrap_or_default()), None)
}

/// Values that say nothing about anyone, never worth harvesting.
const UNINFORMATIVE: &[&str] = &["ANONYMOUS", "ANONYMIZED", "UNKNOWN", "NONE", "NULL", "N/A", "NA", "TEXT", "YES", "NO", "OTHER"];

/// Harvested raw values with their kind. Kept as pairs so that a patient's vocabulary (each
/// date expands into hundreds of renderings) is only extended with values it lacks.
pub type Harvest = HashSet<(String, PhiKind)>;

impl Deidentifier {
    pub(crate) fn harvest_object(&self, obj: &InMemDicomObject) -> Harvest {
        let mut seen = HashSet::new();
        self.harvest_into(obj, &mut Vec::new(), &mut seen);
        seen
    }

    fn harvest_into(&self, obj: &InMemDicomObject, path: &mut Vec<(u32, usize)>, seen: &mut Harvest) {
        for elem in obj.iter() {
            let tag = ((elem.tag().group() as u32) << 16) | elem.tag().element() as u32;
            if elem.tag().group() % 2 == 1 || elem.tag().group() == 0x0002 {
                continue; // private values are removed unless known safe; meta is rebuilt
            }
            if let Value::Sequence(seq) = elem.value() {
                for (i, item) in seq.items().iter().enumerate() {
                    path.push((tag, i));
                    self.harvest_into(item, path, seen);
                    path.pop();
                }
                continue;
            }
            let vr = elem.vr().to_string();
            let Some(kind) = self.harvest_kind(tag, vr, path) else { continue };
            let Ok(values) = elem.value().to_multi_str() else { continue };
            for v in values.iter() {
                let v = v.trim_matches(|c: char| c == ' ' || c == '\0');
                if v.chars().count() < 3
                    || UNINFORMATIVE.iter().any(|u| u.eq_ignore_ascii_case(v))
                    || self.own_words.contains(&v.to_lowercase())
                    || (kind == PhiKind::Uid && crate::actions::uid::is_standard_uid(v))
                {
                    continue;
                }
                // DT: its date part is what free text would repeat.
                let v = if kind == PhiKind::Date && v.len() > 8 && v.is_char_boundary(8) { &v[..8] } else { v };
                seen.insert((v.to_string(), kind));
            }
        }
    }

    /// Which kind of PHI an element's value is, if it is identifying: every person name,
    /// every element the policy does not keep (except free-text descriptors, which are
    /// cleaned, not harvested), and the policy's extra harvest selectors.
    fn harvest_kind(&self, tag: u32, vr: &str, path: &ItemPath) -> Option<PhiKind> {
        let kind_by_vr = match vr {
            "PN" => return Some(PhiKind::Name),
            "DA" | "DT" => PhiKind::Date,
            "UI" => PhiKind::Uid,
            "LO" | "SH" | "ST" | "CS" | "AE" | "UC" | "LT" | "UT" => PhiKind::Id,
            _ => return None,
        };
        if self.harvest_selectors.iter().any(|s| s.matches(path, tag)) {
            return Some(kind_by_vr);
        }
        let decision = self.classify(tag, vr, path, None, Context::Normal);
        let identifying = match decision.action {
            Action::Keep => false,
            // Descriptors are cleaned: harvesting them would erase clinical words elsewhere.
            Action::Clean => vr == "UI" || vr == "DA" || vr == "DT",
            Action::RemapUid => true,
            _ => !matches!(vr, "LT" | "UT"), // long texts are never literals worth matching
        };
        let listed_address = matches!(tag, 0x0010_1040 | 0x0008_0081);
        (identifying || listed_address).then_some(match tag {
            0x0010_1040 | 0x0008_0081 => PhiKind::Address,
            0x0010_2154 => PhiKind::Phone,
            0x0008_0080 | 0x0008_1040 => PhiKind::Institution,
            _ => kind_by_vr,
        })
    }
}
