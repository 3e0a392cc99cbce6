//! Broken input: every case ends in a clear error or a clean output, never a panic, and a
//! clean output never holds the fixture's PHI.

mod common;

use common::*;
use dicom_deid::{Deidentifier, ErrorKind, Policy};

fn deid() -> Deidentifier {
    Deidentifier::new(header_policy(), Some(b"malformed".as_slice())).unwrap()
}

/// Either a typed error with a message, or an output without the fixture's PHI.
fn assert_fails_closed(d: &Deidentifier, input: &[u8], what: &str) {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| d.deidentify(input))) {
        Err(_) => panic!("{what}: panicked"),
        Ok(Err(e)) => assert!(!e.message.is_empty(), "{what}: empty error message"),
        Ok(Ok(out)) => {
            for s in phi_strings(&EN_PATIENT) {
                assert!(!raw_contains(&out.bytes, &s), "{what}: output holds {s:?}");
            }
        }
    }
}

#[test]
fn truncation_at_many_offsets() {
    let d = deid();
    for ts in [EXPLICIT_LE, IMPLICIT_LE, EXPLICIT_BE, DEFLATED] {
        let good = file(&EN_PATIENT, &STUDY_A, 1, ts);
        for cut in (0..good.len()).step_by(37) {
            assert_fails_closed(&d, &good[..cut], &format!("{ts} cut at {cut}"));
        }
    }
}

#[test]
fn lengths_far_beyond_the_file() {
    let d = deid();
    let good = file(&EN_PATIENT, &STUDY_A, 1, EXPLICIT_LE);
    // Overwrite the 4-byte length of the overlay data (OW, a long-length VR).
    for patch in [0xFFFF_FFF0_u32, 0x7FFF_FFFF, 0x0100_0000] {
        let mut bad = good.clone();
        let pos = bad.windows(4).position(|w| w == b"OW\0\0").expect("an OW element");
        bad[pos + 4..pos + 8].copy_from_slice(&patch.to_le_bytes());
        assert_fails_closed(&d, &bad, &format!("length {patch:#x}"));
    }
}

#[test]
fn garbage_after_the_magic_and_wrong_vrs() {
    let d = deid();
    let mut junk = vec![0u8; 128];
    junk.extend_from_slice(b"DICM");
    junk.extend((0..4000u32).map(|i| (i.wrapping_mul(2654435761) >> 24) as u8));
    let e = d.deidentify(&junk).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Parse | ErrorKind::Unsupported), "{e}");
    let mut bad = file(&EN_PATIENT, &STUDY_A, 1, EXPLICIT_LE);
    let pos = bad.windows(2).rposition(|w| w == b"PN").unwrap();
    bad[pos..pos + 2].copy_from_slice(b"Q!");
    assert_fails_closed(&d, &bad, "unknown VR code");
}

#[test]
fn deeply_nested_sequences_do_not_crash() {
    use dicom_core::value::{DataSetSequence, PrimitiveValue, Value};
    use dicom_core::{DataElement, Length, Tag, VR};
    use dicom_object::mem::InMemDicomObject;
    let mut inner = InMemDicomObject::from_element_iter([DataElement::new(Tag(0x0010, 0x0010), VR::PN, PrimitiveValue::from("Thistlethwaite^Penelope"))]);
    for _ in 0..200 {
        inner = InMemDicomObject::from_element_iter([DataElement::new(
            Tag(0x0040, 0xA730),
            VR::SQ,
            Value::Sequence(DataSetSequence::new(vec![inner], Length::UNDEFINED)),
        )]);
    }
    let mut obj = dataset(&EN_PATIENT, &STUDY_A, 1, None);
    for e in inner {
        obj.put(e);
    }
    assert_fails_closed(&deid(), &encode(obj, EXPLICIT_LE), "200 nested sequences");
}

#[test]
fn not_dicom_at_all() {
    let d = deid();
    for (what, bytes) in [("empty", &b""[..]), ("png", &b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"[..]), ("text", &b"hello, world\n"[..])] {
        assert_eq!(d.deidentify(bytes).unwrap_err().kind, ErrorKind::NotDicom, "{what}");
    }
}
