//! The de-identification markers (PS3.15 E.1.1): Patient Identity Removed, the method in
//! words and as CID 7050 codes, and what happened to longitudinal temporal information.

use crate::policy::profile::{Action, ProfileOption};
use crate::policy::Options;
use crate::report::{ElementChange, FileReport};
use dicom_core::value::{DataSetSequence, PrimitiveValue, Value};
use dicom_core::{DataElement, Length, Tag, VR};
use dicom_object::mem::InMemDicomObject;

/// CID 7050 codes of the options in force: the Basic Profile first.
pub fn method_codes(o: &Options) -> Vec<(&'static str, &'static str)> {
    let mut codes = vec![("113100", "Basic Application Confidentiality Profile")];
    codes.extend(ProfileOption::ALL.iter().filter(|opt| o.is_on(**opt)).map(|opt| opt.cid7050()));
    codes
}

/// CID 7050 code of Clean Pixel Data, claimed for files whose pixels were cleaned.
pub const CLEAN_PIXEL_DATA: (&str, &str) = ("113101", "Clean Pixel Data Option");

/// The first value of DeidentificationMethod: this tool and its version.
pub fn method_name() -> String {
    format!("dicom-deid {}", env!("CARGO_PKG_VERSION"))
}

/// Every text a marker can hold (method values, code meanings): fixed strings of this
/// program, whatever the patient. The verifier does not read a harvested word in them as a
/// leak (a patient named "Patient" or "Clean").
pub fn fixed_texts() -> Vec<String> {
    let mut t = vec![method_name(), "Basic Application Confidentiality Profile".to_string(), CLEAN_PIXEL_DATA.1.to_string()];
    t.extend(ProfileOption::ALL.iter().map(|o| o.cid7050().1.to_string()));
    t
}

pub fn add(obj: &mut InMemDicomObject, o: &Options, pixels_cleaned: bool, report: &mut FileReport) {
    let mut codes = method_codes(o);
    if pixels_cleaned {
        codes.push(CLEAN_PIXEL_DATA);
    }
    let mut method: Vec<String> = vec![method_name()];
    method.extend(codes.iter().map(|(_, m)| m.to_string()));
    let items: Vec<InMemDicomObject> = codes
        .iter()
        .map(|(value, meaning)| {
            InMemDicomObject::from_element_iter([
                DataElement::new(Tag(0x0008, 0x0100), VR::SH, PrimitiveValue::from(*value)),
                DataElement::new(Tag(0x0008, 0x0102), VR::SH, PrimitiveValue::from("DCM")),
                DataElement::new(Tag(0x0008, 0x0104), VR::LO, PrimitiveValue::from(*meaning)),
            ])
        })
        .collect();
    let temporal = if o.retain_longitudinal_full_dates {
        "UNMODIFIED"
    } else if o.retain_longitudinal_modified_dates {
        "MODIFIED"
    } else {
        "REMOVED"
    };
    obj.put(DataElement::new(Tag(0x0012, 0x0062), VR::CS, PrimitiveValue::from("YES")));
    obj.put(DataElement::new(Tag(0x0012, 0x0063), VR::LO, PrimitiveValue::Strs(method.into_iter().collect())));
    obj.put(DataElement::new(Tag(0x0012, 0x0064), VR::SQ, Value::Sequence(DataSetSequence::new(items, Length::UNDEFINED))));
    obj.put(DataElement::new(Tag(0x0028, 0x0303), VR::CS, PrimitiveValue::from(temporal)));
    for (tag, kw) in [
        ("(0012,0062)", "PatientIdentityRemoved"),
        ("(0012,0063)", "DeidentificationMethod"),
        ("(0012,0064)", "DeidentificationMethodCodeSequence"),
        ("(0028,0303)", "LongitudinalTemporalInformationModified"),
    ] {
        report.elements.push(ElementChange {
            path: kw.into(),
            tag: tag.into(),
            keyword: kw.into(),
            vr: if kw.ends_with("Sequence") { "SQ" } else if kw == "DeidentificationMethod" { "LO" } else { "CS" }.into(),
            source: "marker".into(),
            rule: "PS3.15 E.1.1 de-identification marker".into(),
            action: Action::Dummy,
            findings: vec![],
            before: None,
            after: None,
        });
    }
}
