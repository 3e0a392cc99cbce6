//! Arbitrary bytes as a policy JSON: parse, validate, and when valid build a
//! `Deidentifier` and run it on one small fixed DICOM file, so that policy values reach
//! the code that uses them (date shift, pseudonym templates, dummies, overrides, regexes).
//! Errors are fine; a panic is a finding. A policy that validates must also survive a
//! JSON round trip (`to_json` then `from_json`), which is what the CLI and the page do.
#![no_main]

use dicom_core::value::{DataSetSequence, PrimitiveValue, Value};
use dicom_core::{DataElement, Length, Tag, VR};
use dicom_deid::{Deidentifier, Policy};
use dicom_object::mem::InMemDicomObject;
use dicom_object::meta::FileMetaTableBuilder;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn el(g: u16, e: u16, vr: VR, v: &str) -> DataElement<InMemDicomObject> {
    DataElement::new(Tag(g, e), vr, PrimitiveValue::from(v))
}

/// A small CT header with names, IDs, dates, times, free text, a sequence and a private block.
fn fixture() -> &'static [u8] {
    static FILE: OnceLock<Vec<u8>> = OnceLock::new();
    FILE.get_or_init(|| {
        let item = InMemDicomObject::from_element_iter([el(0x0010, 0x0020, VR::LO, "OTHER-1"), el(0x0010, 0x0022, VR::CS, "TEXT")]);
        let obj = InMemDicomObject::from_element_iter([
            el(0x0008, 0x0016, VR::UI, "1.2.840.10008.5.1.4.1.1.2"),
            el(0x0008, 0x0018, VR::UI, "1.2.826.0.1.3680043.8.498.1.1"),
            el(0x0008, 0x0020, VR::DA, "20230517"),
            el(0x0008, 0x0030, VR::TM, "093015"),
            el(0x0008, 0x002A, VR::DT, "20230517093015.5+0100"),
            el(0x0008, 0x0080, VR::LO, "Harrogate District Hospital"),
            el(0x0008, 0x0090, VR::PN, "Ravenscroft^Alistair"),
            el(0x0008, 0x1030, VR::LO, "CT CHEST - Thistlethwaite, Penelope - MRN 48213377"),
            el(0x0010, 0x0010, VR::PN, "Thistlethwaite^Penelope"),
            el(0x0010, 0x0020, VR::LO, "48213377"),
            el(0x0010, 0x0030, VR::DA, "19610412"),
            el(0x0010, 0x1010, VR::AS, "062Y"),
            el(0x0010, 0x4000, VR::LT, "Seen on 17/05/2023, call +44 1423 557210."),
            el(0x0020, 0x000D, VR::UI, "1.2.826.0.1.3680043.8.498.1001"),
            el(0x0020, 0x000E, VR::UI, "1.2.826.0.1.3680043.8.498.1001.1"),
            el(0x0009, 0x0010, VR::LO, "ACME_PHI 1.0"),
            el(0x0009, 0x1010, VR::LO, "Penelope Thistlethwaite"),
            DataElement::new(Tag(0x0010, 0x1002), VR::SQ, Value::Sequence(DataSetSequence::new(vec![item], Length::UNDEFINED))),
            DataElement::new(Tag(0x7FE0, 0x0010), VR::OW, PrimitiveValue::U16((0..16u16).collect())),
        ]);
        let file = obj.with_meta(FileMetaTableBuilder::new().transfer_syntax("1.2.840.10008.1.2.1")).expect("meta");
        let mut out = Vec::new();
        file.write_all(&mut out).expect("fixture encodes");
        out
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(json) = std::str::from_utf8(data) else { return };
    let Ok(policy) = serde_json::from_str::<Policy>(json) else { return };
    if policy.validate().is_err() {
        return;
    }
    let again = policy.to_json();
    if let Err(e) = Policy::from_json(&again) {
        panic!("a valid policy does not survive its JSON round trip: {e}\n{again}");
    }
    let Ok(deid) = Deidentifier::new(policy, Some(b"fuzz secret".as_slice())) else { return };
    let _ = deid.harvest(fixture());
    let _ = deid.deidentify(fixture());
});
