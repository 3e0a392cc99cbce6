//! Broken files the tests build byte by byte: hostile lengths, deep nesting, wrong VRs,
//! mismatched transfer syntaxes, bad pixel data, DICOMDIRs (tests/malformed.rs, tests/cli.rs).

use super::*;

/// Explicit VR little endian encoding of one element (value padded by the caller).
pub fn explicit_le(group: u16, elem: u16, vr: &[u8; 2], value: &[u8]) -> Vec<u8> {
    let mut v = tag_bytes(group, elem);
    v.extend_from_slice(vr);
    if matches!(vr, b"OB" | b"OW" | b"OF" | b"OD" | b"OL" | b"OV" | b"SQ" | b"UN" | b"UT" | b"UC" | b"UR" | b"SV" | b"UV") {
        v.extend_from_slice(&[0, 0]);
        v.extend_from_slice(&(value.len() as u32).to_le_bytes());
    } else {
        v.extend_from_slice(&(value.len() as u16).to_le_bytes());
    }
    v.extend_from_slice(value);
    v
}

/// Implicit VR little endian encoding of one element.
pub fn implicit_le(group: u16, elem: u16, value: &[u8]) -> Vec<u8> {
    let mut v = tag_bytes(group, elem);
    v.extend_from_slice(&(value.len() as u32).to_le_bytes());
    v.extend_from_slice(value);
    v
}

pub fn tag_bytes(group: u16, elem: u16) -> Vec<u8> {
    let mut v = group.to_le_bytes().to_vec();
    v.extend_from_slice(&elem.to_le_bytes());
    v
}

pub const UNDEFINED: u32 = 0xFFFF_FFFF;

/// A sequence start (explicit VR LE) with undefined length.
pub fn sequence_start(group: u16, elem: u16) -> Vec<u8> {
    let mut v = tag_bytes(group, elem);
    v.extend_from_slice(b"SQ\0\0");
    v.extend_from_slice(&UNDEFINED.to_le_bytes());
    v
}

pub fn item_start(len: u32) -> Vec<u8> {
    let mut v = tag_bytes(0xFFFE, 0xE000);
    v.extend_from_slice(&len.to_le_bytes());
    v
}

pub fn item_end() -> Vec<u8> {
    [tag_bytes(0xFFFE, 0xE00D), vec![0; 4]].concat()
}

pub fn sequence_end() -> Vec<u8> {
    [tag_bytes(0xFFFE, 0xE0DD), vec![0; 4]].concat()
}

fn padded(s: &str, pad: u8) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    if v.len() % 2 == 1 {
        v.push(pad);
    }
    v
}

pub fn text_value(s: &str) -> Vec<u8> {
    padded(s, b' ')
}

pub fn uid_value(s: &str) -> Vec<u8> {
    padded(s, 0)
}

/// Preamble, "DICM" and a file meta group for `ts` (and the given SOP class).
pub fn part10_head(ts: &str, sop_class: &str, sop_instance: &str) -> Vec<u8> {
    let meta = FileMetaTableBuilder::new()
        .transfer_syntax(ts)
        .media_storage_sop_class_uid(sop_class)
        .media_storage_sop_instance_uid(sop_instance)
        .build()
        .expect("meta");
    let mut out = vec![0u8; 128];
    out.extend_from_slice(b"DICM");
    meta.write(&mut out).expect("meta group");
    out
}

/// A Part 10 file in explicit VR LE of SOP class `class` around `body` (elements after the
/// patient's name and ID).
pub fn explicit_file_of(class: &str, body: &[u8]) -> Vec<u8> {
    let sop = "2.25.4242";
    let mut out = part10_head(EXPLICIT_LE, class, sop);
    out.extend(explicit_le(0x0008, 0x0016, b"UI", &uid_value(class)));
    out.extend(explicit_le(0x0008, 0x0018, b"UI", &uid_value(sop)));
    out.extend(explicit_le(0x0010, 0x0010, b"PN", &text_value(&format!("{}^{}", EN_PATIENT.family, EN_PATIENT.given))));
    out.extend(explicit_le(0x0010, 0x0020, b"LO", &text_value(EN_PATIENT.id)));
    out.extend_from_slice(body);
    out
}

/// A CT image file around `body`.
pub fn explicit_file(body: &[u8]) -> Vec<u8> {
    explicit_file_of(CT_IMAGE_STORAGE, body)
}

pub const BASIC_TEXT_SR: &str = "1.2.840.10008.5.1.4.1.1.88.11";

/// A Basic Text SR with `depth` content sequences nested inside each other, the innermost
/// item naming the patient.
pub fn nested_sequences(depth: usize) -> Vec<u8> {
    let mut body = Vec::new();
    for _ in 0..depth {
        body.extend(sequence_start(0x0040, 0xA730));
        body.extend(item_start(UNDEFINED));
    }
    body.extend(explicit_le(0x0040, 0xA160, b"UT", &text_value(&format!("seen by {}", EN_PATIENT.family))));
    for _ in 0..depth {
        body.extend(item_end());
        body.extend(sequence_end());
    }
    explicit_file_of(BASIC_TEXT_SR, &body)
}

/// SOP Instance, Study, Series and a referenced instance UID of `unknown_vr_sequences`.
pub const UNKNOWN_VR_SEQUENCES_UIDS: (&str, &str, &str, &str) = ("2.25.778001", "2.25.778002", "2.25.778003", "2.25.778004");

/// A CT image in explicit VR LE with sequences a sender did not know, written as UN of
/// undefined length with implicit VR items (PS3.5 6.2.2): Referenced Image Sequence (an item
/// of undefined and one of defined length), a private sequence naming the patient (with a
/// nested one), the same private sequence inside an explicit Source Image Sequence of
/// defined lengths, and another after Pixel Data.
pub fn unknown_vr_sequences() -> Vec<u8> {
    let (sop, study, series, referenced) = UNKNOWN_VR_SEQUENCES_UIDS;
    let name = format!("{}^{}", EN_PATIENT.family, EN_PATIENT.given);
    let un_sequence = |g: u16, e: u16| [tag_bytes(g, e), b"UN\0\0".to_vec(), UNDEFINED.to_le_bytes().to_vec()].concat();
    let reference = [implicit_le(0x0008, 0x1150, &uid_value(CT_IMAGE_STORAGE)), implicit_le(0x0008, 0x1155, &uid_value(referenced))].concat();
    // A private sequence holding the patient's name, with a nested sequence of undefined length.
    let private_item = [
        implicit_le(0x0009, 0x0010, &text_value("ACME 1.0")),
        tag_bytes(0x0009, 0x1011),
        UNDEFINED.to_le_bytes().to_vec(),
        item_start(UNDEFINED),
        implicit_le(0x0008, 0x1030, &text_value(&format!("seen by {}", EN_PATIENT.family))),
        item_end(),
        sequence_end(),
        implicit_le(0x0010, 0x0010, &text_value(&name)),
    ]
    .concat();
    let private = [
        explicit_le(0x0009, 0x0010, b"LO", &text_value("ACME 1.0")),
        un_sequence(0x0009, 0x1010),
        item_start(UNDEFINED),
        private_item,
        item_end(),
        sequence_end(),
    ]
    .concat();
    let mut f = part10_head(EXPLICIT_LE, CT_IMAGE_STORAGE, sop);
    f.extend(explicit_le(0x0008, 0x0016, b"UI", &uid_value(CT_IMAGE_STORAGE)));
    f.extend(explicit_le(0x0008, 0x0018, b"UI", &uid_value(sop)));
    // Referenced Image Sequence as UN: one item of undefined length, one of defined length.
    f.extend(un_sequence(0x0008, 0x1140));
    f.extend([item_start(UNDEFINED), reference.clone(), item_end()].concat());
    f.extend([item_start(reference.len() as u32), reference].concat());
    f.extend(sequence_end());
    // Source Image Sequence: explicit, defined lengths, a UN sequence inside its item.
    let source_item = [explicit_le(0x0008, 0x1150, b"UI", &uid_value(CT_IMAGE_STORAGE)), explicit_le(0x0008, 0x1155, b"UI", &uid_value(referenced)), private.clone()].concat();
    f.extend(explicit_le(0x0008, 0x2112, b"SQ", &[item_start(source_item.len() as u32), source_item].concat()));
    f.extend(&private);
    f.extend(explicit_le(0x0010, 0x0010, b"PN", &text_value(&name)));
    f.extend(explicit_le(0x0010, 0x0020, b"LO", &text_value(EN_PATIENT.id)));
    f.extend(explicit_le(0x0020, 0x000D, b"UI", &uid_value(study)));
    f.extend(explicit_le(0x0020, 0x000E, b"UI", &uid_value(series)));
    f.extend(explicit_le(0x0028, 0x0010, b"US", &4u16.to_le_bytes()));
    f.extend(explicit_le(0x0028, 0x0011, b"US", &4u16.to_le_bytes()));
    f.extend(explicit_le(0x7FE0, 0x0010, b"OB", &[0x40; 16]));
    // A vendor's private sequence after Pixel Data (as GE's group 7FE1), also as UN.
    f.extend(explicit_le(0x7FE1, 0x0010, b"LO", &text_value("ACME 1.0")));
    f.extend([un_sequence(0x7FE1, 0x1010), item_start(UNDEFINED), implicit_le(0x7FE1, 0x1011, &text_value(&name)), item_end(), sequence_end()].concat());
    f
}

/// A Part 10 file split into (preamble + DICM + meta group, data set).
pub fn split_meta(file: &[u8]) -> (Vec<u8>, Vec<u8>) {
    // (0002,0000) UL is the first meta element: 4 tag + 2 VR + 2 len + 4 value at 132.
    let group_len = u32::from_le_bytes(file[140..144].try_into().unwrap()) as usize;
    let end = 144 + group_len;
    (file[..end].to_vec(), file[end..].to_vec())
}

/// The data set of a file encoded in `data_ts` behind a meta group that declares `meta_ts`.
pub fn mismatched_syntax(data_ts: &str, meta_ts: &str) -> Vec<u8> {
    let data = split_meta(&file(&EN_PATIENT, &STUDY_A, 1, data_ts)).1;
    let mut head = split_meta(&file(&EN_PATIENT, &STUDY_A, 1, meta_ts)).0;
    head.extend(data);
    head
}

/// A minimal DICOMDIR: one patient record with the patient's name and ID.
pub fn dicomdir() -> Vec<u8> {
    let mut out = part10_head(EXPLICIT_LE, "1.2.840.10008.1.3.10", "2.25.777");
    out.extend(explicit_le(0x0004, 0x1130, b"CS", &text_value("DEID TEST")));
    out.extend(sequence_start(0x0004, 0x1220));
    out.extend(item_start(UNDEFINED));
    out.extend(explicit_le(0x0004, 0x1430, b"CS", &text_value("PATIENT")));
    out.extend(explicit_le(0x0010, 0x0010, b"PN", &text_value(&format!("{}^{}", EN_PATIENT.family, EN_PATIENT.given))));
    out.extend(explicit_le(0x0010, 0x0020, b"LO", &text_value(EN_PATIENT.id)));
    out.extend(item_end());
    out.extend(sequence_end());
    out
}

/// A native 8-bit monochrome image header with `rows` x `cols` x `frames` declared, and
/// `pixel_bytes` bytes of Pixel Data.
pub fn native_image(rows: u16, cols: u16, frames: u32, pixel_bytes: usize) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend(explicit_le(0x0028, 0x0002, b"US", &1u16.to_le_bytes()));
    body.extend(explicit_le(0x0028, 0x0004, b"CS", &text_value("MONOCHROME2")));
    body.extend(explicit_le(0x0028, 0x0008, b"IS", &text_value(&frames.to_string())));
    body.extend(explicit_le(0x0028, 0x0010, b"US", &rows.to_le_bytes()));
    body.extend(explicit_le(0x0028, 0x0011, b"US", &cols.to_le_bytes()));
    for (e, v) in [(0x0100u16, 8u16), (0x0101, 8), (0x0102, 7), (0x0103, 0)] {
        body.extend(explicit_le(0x0028, e, b"US", &v.to_le_bytes()));
    }
    let mut px = vec![0x40u8; pixel_bytes];
    if px.len() % 2 == 1 {
        px.push(0);
    }
    body.extend(explicit_le(0x7FE0, 0x0010, b"OB", &px));
    explicit_file(&body)
}

/// The JPEG baseline fixture with its fragment replaced by `fragment` (raw item bytes
/// after the basic offset table; no sequence delimiter when `delimit` is false).
pub fn encapsulated(fragment_items: &[u8], delimit: bool) -> Vec<u8> {
    let good = file(&EN_PATIENT, &STUDY_A, 1, JPEG_BASELINE);
    // The pixel sequence starts at the last (7FE0,0010) OB with undefined length.
    let marker = [0xE0, 0x7F, 0x10, 0x00, b'O', b'B', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF];
    let at = good.windows(marker.len()).rposition(|w| w == marker).expect("encapsulated pixel data");
    let mut out = good[..at + marker.len()].to_vec();
    out.extend(item_start(0)); // empty basic offset table
    out.extend_from_slice(fragment_items);
    if delimit {
        out.extend(sequence_end());
    }
    out
}
