//! The head path (`Deidentifier::read_head` + `deidentify_head`): a file whose Pixel Data the
//! policy leaves as it is, de-identified from the bytes before that element, the pixels
//! copied after. Its output must be byte for byte what `deidentify` writes, and every file
//! it cannot take must be left to `deidentify` (None), never half-handled.

mod common;

use common::broken::*;
use common::*;
use dicom_core::value::PrimitiveValue;
use dicom_core::{DataElement, Tag, VR};
use dicom_deid::{Deidentifier, Policy};

const SECRET: &[u8] = b"head path test secret";

fn deid(policy: Policy) -> Deidentifier {
    Deidentifier::new(policy, Some(SECRET)).unwrap()
}

/// The output of the head path for `input`, pixels appended as the CLI appends them; `None`
/// when the head path declines the file.
fn through_head(d: &Deidentifier, input: &[u8]) -> Option<dicom_deid::Result<(Vec<u8>, dicom_deid::report::FileReport)>> {
    let head = d.read_head(input, input.len() as u64).expect("read_head")?;
    Some(d.deidentify_head(head).map(|out| {
        let mut bytes = out.bytes;
        bytes.extend_from_slice(&input[out.pixel_value.start as usize..out.pixel_value.end as usize]);
        (bytes, out.report)
    }))
}

fn assert_same_as_whole_file(input: &[u8]) {
    let whole = deid(header_policy()).deidentify(input).expect("whole-file path");
    let (bytes, report) = through_head(&deid(header_policy()), input).expect("head path taken").expect("head path");
    assert!(bytes == whole.bytes, "head path output differs from the whole-file output");
    assert_eq!(serde_json::to_value(&report).unwrap(), serde_json::to_value(&whole.report).unwrap());
}

#[test]
fn native_pixels_in_every_uncompressed_syntax_give_the_whole_file_output() {
    for ts in [EXPLICIT_LE, IMPLICIT_LE, EXPLICIT_BE] {
        let input = file(&EN_PATIENT, &STUDY_A, 1, ts);
        assert_same_as_whole_file(&input);
        let (bytes, _) = through_head(&deid(header_policy()), &input).unwrap().unwrap();
        for phi in phi_strings(&EN_PATIENT) {
            assert!(!raw_contains(&bytes, &phi), "{ts}: {phi} survives");
        }
    }
}

#[test]
fn a_header_longer_than_the_first_read_is_read_in_full() {
    // 300 KB of a private creator's block before Pixel Data: the head is read in steps.
    let mut obj = dataset(&IT_PATIENT, &STUDY_A, 3, None);
    obj.put(DataElement::new(Tag(0x0029, 0x0010), VR::LO, PrimitiveValue::from("SIEMENS CSA HEADER")));
    obj.put(DataElement::new(Tag(0x0029, 0x1010), VR::OB, PrimitiveValue::U8(vec![7u8; 300_000].into())));
    assert_same_as_whole_file(&encode(obj, EXPLICIT_LE));
}

#[test]
fn a_large_image_gives_the_same_output() {
    assert_same_as_whole_file(&native_image(512, 512, 1, 512 * 512));
}

#[test]
fn files_it_cannot_take_are_left_to_the_whole_file_path() {
    let d = deid(header_policy());
    let declined = |what: &str, input: &[u8]| {
        assert!(through_head(&d, input).is_none(), "{what}: the head path should decline");
        // ...and the whole-file path still handles it.
        assert!(d.deidentify(input).is_ok(), "{what}: the whole-file path fails");
    };
    declined("deflated", &file(&EN_PATIENT, &STUDY_A, 1, DEFLATED));
    declined("encapsulated JPEG", &file(&EN_PATIENT, &STUDY_A, 1, JPEG_BASELINE));
    // An element after Pixel Data (trailing padding): Pixel Data does not end the file.
    let mut trailing = native_image(4, 4, 1, 16);
    trailing.extend(explicit_le(0xFFFC, 0xFFFC, b"OB", &[0u8; 8]));
    declined("an element after Pixel Data", &trailing);
    // An element that sorts after Pixel Data, stored before it: written after it.
    let mut out_of_order = native_image(4, 4, 1, 16);
    let at = out_of_order.windows(4).rposition(|w| w == [0xE0, 0x7F, 0x10, 0x00]).unwrap();
    out_of_order.splice(at..at, explicit_le(0x7FE1, 0x0010, b"LO", &text_value("ACME 1.0")));
    declined("an element sorting after Pixel Data before it", &out_of_order);
    // A raw data set without its meta group needs framing: its offsets are not the file's.
    let (_, data_set) = split_meta(&file(&EN_PATIENT, &STUDY_A, 1, EXPLICIT_LE));
    declined("no meta group", &data_set);
    // No Pixel Data at all.
    let no_pixels = explicit_file(&explicit_le(0x0010, 0x0010, b"PN", &text_value("Doe^Jane")));
    assert!(through_head(&d, &no_pixels).is_none(), "no Pixel Data: the head path should decline");
    // A policy that may clean pixels never takes the head path.
    let detect = deid(Policy::default());
    let input = file(&EN_PATIENT, &STUDY_A, 1, EXPLICIT_LE);
    assert!(detect.read_head(input.as_slice(), input.len() as u64).unwrap().is_none());
    // A file shorter or longer than the walk says is declined too (the length is the file's).
    assert!(d.read_head(input.as_slice(), input.len() as u64 + 2).unwrap().is_none());
}

#[test]
fn burned_in_annotation_yes_is_withheld_as_by_the_whole_file_path() {
    let mut obj = dataset(&EN_PATIENT, &STUDY_A, 1, None);
    obj.put(DataElement::new(Tag(0x0028, 0x0301), VR::CS, PrimitiveValue::from("YES")));
    let input = encode(obj, EXPLICIT_LE);
    let whole = deid(header_policy()).deidentify(&input).unwrap_err();
    let head = through_head(&deid(header_policy()), &input).expect("head path taken").unwrap_err();
    assert_eq!(head.message, whole.message);
}

#[test]
fn an_image_without_pixel_data_is_still_refused_by_both_paths() {
    // The head path knows Pixel Data follows; a CT that has none is declined by read_head
    // and refused by the whole-file path as incomplete.
    let input = encode_without_pixels(dataset(&EN_PATIENT, &STUDY_A, 1, None));
    let d = deid(header_policy());
    assert!(through_head(&d, &input).is_none());
    assert!(d.deidentify(&input).unwrap_err().message.contains("without Pixel Data"));
}

fn encode_without_pixels(obj: dicom_object::mem::InMemDicomObject) -> Vec<u8> {
    let file = obj.with_meta(dicom_object::meta::FileMetaTableBuilder::new().transfer_syntax(EXPLICIT_LE)).unwrap();
    let mut out = Vec::new();
    file.write_all(&mut out).unwrap();
    out
}
