//! Fixtures the tests build: DICOM files full of synthetic PHI, in every header transfer
//! syntax, with sequences, private blocks, overlays, curves and references.
#![allow(dead_code)]

use dicom_core::value::{DataSetSequence, PixelFragmentSequence, PrimitiveValue, Value};
use dicom_core::{DataElement, Length, Tag, VR};
use dicom_object::meta::FileMetaTableBuilder;
use dicom_object::mem::InMemDicomObject;

pub mod broken;

pub const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";
pub const IMPLICIT_LE: &str = "1.2.840.10008.1.2";
pub const EXPLICIT_BE: &str = "1.2.840.10008.1.2.2";
pub const DEFLATED: &str = "1.2.840.10008.1.2.1.99";
pub const JPEG_BASELINE: &str = "1.2.840.10008.1.2.4.50";
pub const CT_IMAGE_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.2";

/// Identity of a synthetic patient; every string here is PHI the output must not contain.
#[derive(Clone)]
pub struct Patient {
    pub family: &'static str,
    pub given: &'static str,
    pub id: &'static str,
    pub birth: &'static str,
    pub address: &'static str,
    pub phone: &'static str,
    pub other_id: &'static str,
}

pub const EN_PATIENT: Patient = Patient {
    family: "Thistlethwaite",
    given: "Penelope",
    id: "48213377",
    birth: "19610412",
    address: "27 Wetherby Road, Harrogate HG2 7QT",
    phone: "+44 1423 557210",
    other_id: "943 476 5919",
};

pub const IT_PATIENT: Patient = Patient {
    family: "Quagliarella",
    given: "Niccolò",
    id: "70021845",
    birth: "19780903",
    address: "Via Santa Sofia 18, 20122 Milano MI",
    phone: "+39 02 5503211",
    other_id: "QGLNCC78P03F205X",
};

pub struct Study {
    pub study_uid: &'static str,
    pub series_uid: &'static str,
    pub date: &'static str,
    pub time: &'static str,
}

pub const STUDY_A: Study = Study {
    study_uid: "1.2.826.0.1.3680043.8.498.1001",
    series_uid: "1.2.826.0.1.3680043.8.498.1001.1",
    date: "20230517",
    time: "093015",
};

fn el(g: u16, e: u16, vr: VR, v: impl Into<PrimitiveValue>) -> DataElement<InMemDicomObject> {
    DataElement::new(Tag(g, e), vr, v.into())
}

fn seq(g: u16, e: u16, items: Vec<InMemDicomObject>) -> DataElement<InMemDicomObject> {
    DataElement::new(Tag(g, e), VR::SQ, Value::Sequence(DataSetSequence::new(items, Length::UNDEFINED)))
}

/// One CT image of `p` in `study`, instance number `n`, referencing `refers_to` if given.
pub fn dataset(p: &Patient, study: &Study, n: u32, refers_to: Option<&str>) -> InMemDicomObject {
    let pn = format!("{}^{}", p.family, p.given);
    let sop = format!("{}.{}", study.series_uid, n);
    let mut elems = vec![
        el(0x0008, 0x0005, VR::CS, "ISO_IR 192"),
        el(0x0008, 0x0016, VR::UI, CT_IMAGE_STORAGE),
        el(0x0008, 0x0018, VR::UI, sop.as_str()),
        el(0x0008, 0x0020, VR::DA, study.date),
        el(0x0008, 0x0021, VR::DA, study.date),
        el(0x0008, 0x0030, VR::TM, study.time),
        el(0x0008, 0x0031, VR::TM, "094512"),
        el(0x0008, 0x0050, VR::SH, "HDH23-448812"),
        el(0x0008, 0x0060, VR::CS, "CT"),
        el(0x0008, 0x0070, VR::LO, "ACME Medical Systems"),
        el(0x0008, 0x0080, VR::LO, "Harrogate District Hospital"),
        el(0x0008, 0x0081, VR::ST, "Lancaster Park Road, Harrogate HG2 7SX"),
        el(0x0008, 0x0090, VR::PN, "Ravenscroft^Alistair^^Dr"),
        el(0x0008, 0x1010, VR::SH, "HDH-CT2-07"),
        el(0x0008, 0x1030, VR::LO, format!("CT CHEST - {}, {} - MRN {}", p.family, p.given, p.id)),
        el(0x0008, 0x103E, VR::LO, "AX 5mm"),
        el(0x0008, 0x1070, VR::PN, "Ormerod^Rupert"),
        el(0x0008, 0x1090, VR::LO, "Scanner 9000"),
        el(0x0010, 0x0010, VR::PN, pn.as_str()),
        el(0x0010, 0x0020, VR::LO, p.id),
        el(0x0010, 0x0030, VR::DA, p.birth),
        el(0x0010, 0x0040, VR::CS, "F"),
        el(0x0010, 0x1010, VR::AS, "062Y"),
        el(0x0010, 0x1040, VR::LO, p.address),
        el(0x0010, 0x2154, VR::SH, p.phone),
        el(0x0010, 0x4000, VR::LT, format!("Patient {} {} seen on 17/05/2023. Call {}.", p.given, p.family, p.phone)),
        el(0x0018, 0x0015, VR::CS, "CHEST"),
        el(0x0018, 0x0050, VR::DS, "5.0"),
        el(0x0018, 0x0060, VR::DS, "120"),
        el(0x0018, 0x1000, VR::LO, "SN-558812"),
        el(0x0020, 0x000D, VR::UI, study.study_uid),
        el(0x0020, 0x000E, VR::UI, study.series_uid),
        el(0x0020, 0x0010, VR::SH, "ST55120"),
        el(0x0020, 0x0013, VR::IS, n.to_string()),
        el(0x0020, 0x0052, VR::UI, format!("{}.9", study.study_uid).as_str()),
        el(0x0020, 0x4000, VR::LT, format!("Referred by Dr Alistair Ravenscroft. DOB {}.", "12/04/1961")),
        el(0x0028, 0x0002, VR::US, 1_u16),
        el(0x0028, 0x0004, VR::CS, "MONOCHROME2"),
        el(0x0028, 0x0010, VR::US, 4_u16),
        el(0x0028, 0x0011, VR::US, 4_u16),
        el(0x0028, 0x0100, VR::US, 16_u16),
        el(0x0028, 0x0101, VR::US, 12_u16),
        el(0x0028, 0x0102, VR::US, 11_u16),
        el(0x0028, 0x0103, VR::US, 0_u16),
        // Group length (retired), a curve and an overlay: all must go.
        el(0x0018, 0x0000, VR::UL, 0_u32),
        el(0x5000, 0x0005, VR::US, 2_u16),
        el(0x6000, 0x0010, VR::US, 4_u16),
        el(0x6000, 0x0022, VR::LO, format!("{} overlay", p.family)),
        el(0x6000, 0x3000, VR::OW, PrimitiveValue::U16([0xFFFF_u16; 1].into_iter().collect())),
        // A PN the profile does not list: fail closed.
        el(0x0014, 0x2006, VR::PN, pn.as_str()),
    ];
    // Other patient IDs and request attributes, nested.
    let other = InMemDicomObject::from_element_iter([el(0x0010, 0x0020, VR::LO, p.other_id), el(0x0010, 0x0022, VR::CS, "TEXT")]);
    elems.push(seq(0x0010, 0x1002, vec![other]));
    let req = InMemDicomObject::from_element_iter([
        el(0x0040, 0x1001, VR::SH, "RP4471200"),
        el(0x0032, 0x1060, VR::LO, format!("CT chest for {}", p.family)),
    ]);
    elems.push(seq(0x0040, 0x0275, vec![req]));
    // Procedure code: clinical, kept.
    let code = InMemDicomObject::from_element_iter([
        el(0x0008, 0x0100, VR::SH, "CTCHEST"),
        el(0x0008, 0x0102, VR::SH, "99LOCAL"),
        el(0x0008, 0x0104, VR::LO, "CT CHEST W/O CONTRAST"),
    ]);
    elems.push(seq(0x0008, 0x1032, vec![code]));
    if let Some(r) = refers_to {
        let item = InMemDicomObject::from_element_iter([el(0x0008, 0x1150, VR::UI, CT_IMAGE_STORAGE), el(0x0008, 0x1155, VR::UI, r)]);
        elems.push(seq(0x0008, 0x1140, vec![item]));
    }
    // Private block with PHI (removed) and a nested private sequence, and a safe one (kept).
    elems.push(el(0x0009, 0x0010, VR::LO, "ACME_PHI 1.0"));
    elems.push(el(0x0009, 0x1010, VR::LO, format!("{} {}", p.given, p.family)));
    let inner = InMemDicomObject::from_element_iter([
        el(0x0009, 0x0010, VR::LO, "ACME_PHI 1.0"),
        el(0x0009, 0x1013, VR::LO, p.address),
    ]);
    elems.push(seq(0x0009, 0x1012, vec![inner]));
    elems.push(el(0x0019, 0x0010, VR::LO, "SIEMENS MR HEADER"));
    elems.push(el(0x0019, 0x100C, VR::IS, "1000"));
    elems.push(el(0x0019, 0x1099, VR::LO, p.id));
    InMemDicomObject::from_element_iter(elems)
}

/// A real 4x4 8-bit JPEG baseline image (made with Pillow), padded to even length.
pub fn tiny_jpeg() -> Vec<u8> {
    let mut v = include_bytes!("../fixtures/tiny4x4.jpg").to_vec();
    if v.len() % 2 == 1 {
        v.push(0);
    }
    v
}

pub fn with_pixels(mut obj: InMemDicomObject, ts: &str) -> InMemDicomObject {
    if ts == JPEG_BASELINE {
        let frags = PixelFragmentSequence::new(Vec::<u32>::new(), vec![tiny_jpeg()]);
        obj.put(DataElement::new(Tag(0x7FE0, 0x0010), VR::OB, Value::PixelSequence(frags)));
        for (e, v) in [(0x0100, 8_u16), (0x0101, 8), (0x0102, 7)] {
            obj.put(el(0x0028, e, VR::US, v));
        }
    } else {
        obj.put(el(0x7FE0, 0x0010, VR::OW, PrimitiveValue::U16((0..16u16).collect())));
    }
    obj
}

/// Encode a data set as a Part 10 file in transfer syntax `ts`.
pub fn encode(obj: InMemDicomObject, ts: &str) -> Vec<u8> {
    let obj = with_pixels(obj, ts);
    let file = obj.with_meta(FileMetaTableBuilder::new().transfer_syntax(ts)).expect("meta");
    let mut out = Vec::new();
    file.write_all(&mut out).expect("encode fixture");
    out
}

pub fn file(p: &Patient, study: &Study, n: u32, ts: &str) -> Vec<u8> {
    encode(dataset(p, study, n, None), ts)
}

/// Every PHI string of a fixture patient (and of the fixed study/staff values).
pub fn phi_strings(p: &Patient) -> Vec<String> {
    let mut v: Vec<String> = [p.family, p.given, p.id, p.birth, p.address, p.phone, p.other_id]
        .iter()
        .map(|s| s.to_string())
        .collect();
    v.extend(
        ["HDH23-448812", "Harrogate District Hospital", "Lancaster Park Road", "Ravenscroft", "Ormerod", "HDH-CT2-07", "ST55120", "RP4471200", "12/04/1961", "17/05/2023"]
            .iter()
            .map(|s| s.to_string()),
    );
    v
}

/// Case-insensitive search of the raw bytes, as a scorer would do.
pub fn raw_contains(bytes: &[u8], needle: &str) -> bool {
    let hay: String = bytes.iter().map(|&b| (b as char).to_ascii_lowercase()).collect();
    let utf8 = String::from_utf8_lossy(bytes).to_lowercase();
    let n = needle.to_lowercase();
    hay.contains(&n) || utf8.contains(&n)
}

pub fn parse(bytes: &[u8]) -> dicom_object::DefaultDicomObject {
    dicom_object::OpenFileOptions::new().from_reader(bytes).expect("output parses")
}

pub fn text(obj: &InMemDicomObject, g: u16, e: u16) -> Option<String> {
    obj.get(Tag(g, e)).map(|e| e.value().to_str().map(|s| s.trim_end_matches(['\0', ' ']).to_string()).unwrap_or_default())
}

/// The default policy with pixels left alone: for the tests of header de-identification
/// (the pixel step has its own tests in tests/pixels.rs).
#[allow(dead_code)]
pub fn header_policy() -> dicom_deid::Policy {
    let mut p = dicom_deid::Policy::default();
    p.pixels.mode = dicom_deid::policy::pixels::PixelMode::Off;
    p
}
