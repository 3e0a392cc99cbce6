//! Inputs unlike the evaluation corpus: other languages, other identifying tags, SR content
//! items, another vendor's private block. Nothing identifying may survive; clinical words do.

mod common;

use common::{parse, raw_contains, text};
use dicom_core::value::{DataSetSequence, PrimitiveValue, Value};
use dicom_core::{DataElement, Length, Tag, VR};
use dicom_deid::Deidentifier;
use dicom_object::mem::InMemDicomObject;

fn el(g: u16, e: u16, vr: VR, v: &str) -> DataElement<InMemDicomObject> {
    DataElement::new(Tag(g, e), vr, PrimitiveValue::from(v))
}

fn seq(g: u16, e: u16, items: Vec<InMemDicomObject>) -> DataElement<InMemDicomObject> {
    DataElement::new(Tag(g, e), VR::SQ, Value::Sequence(DataSetSequence::new(items, Length::UNDEFINED)))
}

fn text_item(value: &str) -> InMemDicomObject {
    InMemDicomObject::from_element_iter([
        el(0x0040, 0xA040, VR::CS, "TEXT"),
        el(0x0040, 0xA010, VR::CS, "CONTAINS"),
        el(0x0040, 0xA160, VR::UT, value),
    ])
}

const PHI: &[&str] = &[
    "Oberhäuser", "Wilhelmine", "Brennecke", "Kötzschenbroda", "55123987", "Lindenstraße 14", "01445",
    "Radebeul", "0351 4471 220", "Marchetti-Duval", "Clinique Sainte-Odile", "Hospital Universitario La Fe",
    "Quiñones", "16.05.1957", "3 mars 2021", "12 de enero de 2022", "w.oberhaeuser@example.org", "STR-8841-77",
    "Irmgard",
];

fn dataset() -> InMemDicomObject {
    InMemDicomObject::from_element_iter([
        el(0x0008, 0x0005, VR::CS, "ISO_IR 192"),
        el(0x0008, 0x0016, VR::UI, "1.2.840.10008.5.1.4.1.1.88.11"),
        el(0x0008, 0x0018, VR::UI, "1.3.6.1.4.1.9590.100.1.2.4471"),
        el(0x0008, 0x0060, VR::CS, "SR"),
        el(0x0008, 0x0020, VR::DA, "20210303"),
        el(0x0008, 0x0090, VR::PN, "Marchetti-Duval^Hélène^^Dr"),
        el(0x0008, 0x0080, VR::LO, "Clinique Sainte-Odile"),
        el(0x0008, 0x1030, VR::LO, "Thorax a.p. - Patientin Oberhäuser"),
        el(0x0010, 0x0010, VR::PN, "Oberhäuser^Wilhelmine"),
        el(0x0010, 0x0020, VR::LO, "55123987"),
        el(0x0010, 0x0030, VR::DA, "19570516"),
        el(0x0010, 0x0040, VR::CS, "F"),
        el(0x0010, 0x1060, VR::PN, "Brennecke^Irmgard"), // mother's birth name
        el(0x0010, 0x1040, VR::LO, "Lindenstraße 14, 01445 Radebeul"),
        el(0x0010, 0x2180, VR::SH, "Lehrerin"), // occupation (X)
        el(0x0010, 0x21B0, VR::LT, "Geb. in Kötzschenbroda. Tel. 0351 4471 220, w.oberhaeuser@example.org"),
        el(0x0020, 0x000D, VR::UI, "1.3.6.1.4.1.9590.100.1.2.4470"),
        el(0x0020, 0x000E, VR::UI, "1.3.6.1.4.1.9590.100.1.2.4472"),
        el(0x0032, 0x1032, VR::PN, "Quiñones^Mateo"), // requesting physician
        seq(0x0040, 0xA730, vec![
            text_item("Befund: Rundherd 8 mm im rechten Unterlappen. Patientin Wilhelmine Oberhäuser, geb. 16.05.1957."),
            text_item("Vu le 3 mars 2021 par Dr Hélène Marchetti-Duval, Clinique Sainte-Odile."),
            text_item("Remitida desde Hospital Universitario La Fe el 12 de enero de 2022, historia STR-8841-77."),
            InMemDicomObject::from_element_iter([
                el(0x0040, 0xA040, VR::CS, "PNAME"),
                el(0x0040, 0xA123, VR::PN, "Quiñones^Mateo"),
            ]),
        ]),
        el(0x0029, 0x0010, VR::LO, "OTHER VENDOR 2.1"),
        el(0x0029, 0x1001, VR::LT, "Oberhäuser Wilhelmine 55123987"),
        seq(0x0029, 0x1002, vec![InMemDicomObject::from_element_iter([
            el(0x0029, 0x0010, VR::LO, "OTHER VENDOR 2.1"),
            el(0x0029, 0x1003, VR::SH, "Radebeul"),
        ])]),
    ])
}

#[test]
fn nothing_identifying_survives_in_other_languages_tags_and_vendors() {
    let input = common::encode(dataset(), common::EXPLICIT_LE);
    for s in PHI {
        assert!(raw_contains(&input, s), "fixture check: {s}");
    }
    let d = Deidentifier::new(common::header_policy(), Some(b"unseen".as_slice())).unwrap();
    let out = d.deidentify(&input).unwrap();
    for s in PHI {
        assert!(!raw_contains(&out.bytes, s), "{s:?} survives");
    }
    let obj = parse(&out.bytes);
    let desc = text(&obj, 0x0008, 0x1030).unwrap();
    assert!(desc.starts_with("Thorax a.p."), "clinical words kept: {desc}");
    assert!(obj.get(Tag(0x0029, 0x1001)).is_none() && obj.get(Tag(0x0029, 0x0010)).is_none(), "other vendor's block removed");
    assert_eq!(text(&obj, 0x0010, 0x0040).as_deref(), Some("F"));
}

#[test]
fn structured_content_is_cleaned_not_dropped() {
    let input = common::encode(dataset(), common::EXPLICIT_LE);
    let d = Deidentifier::new(common::header_policy(), Some(b"unseen".as_slice())).unwrap();
    let obj = parse(&d.deidentify(&input).unwrap().bytes);
    let items = obj.get(Tag(0x0040, 0xA730)).expect("content kept under Clean Structured Content").items().unwrap().to_vec();
    let first = items[0].get(Tag(0x0040, 0xA160)).unwrap().to_str().unwrap().to_string();
    assert!(first.contains("Rundherd 8 mm im rechten Unterlappen"), "finding kept: {first}");
    let pname = items[3].get(Tag(0x0040, 0xA123)).map(|e| e.to_str().unwrap().to_string()).unwrap_or_default();
    assert!(!pname.contains("Quiñones"), "person name in content replaced: {pname}");
}
