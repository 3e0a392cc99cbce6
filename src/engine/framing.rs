//! How a file's bytes become the Part 10 stream the parser reads.
//!
//! dicom-object reads a preamble (or none), "DICM", a file meta group that starts with its
//! group length, then the data set. Files in the wild miss parts of that frame: a meta group
//! without its length, a meta group without "DICM", or no meta group at all (a raw data set,
//! as older archives and some modalities store them, read by dcmtk and pydicom alike).
//! Where the missing part follows from the bytes, it is rebuilt here and the file is read;
//! a raw data set whose encoding or SOP UIDs cannot be told is refused with the reason.

use crate::error::{Error, Result};
use dicom_core::Tag;
use dicom_encoding::TransferSyntaxIndex;
use dicom_object::meta::FileMetaTableBuilder;
use dicom_parser::dataset::lazy_read::LazyDataSetReader;
use dicom_parser::dataset::LazyDataToken;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;
use std::io::Cursor;

use super::{EXPLICIT_BE, EXPLICIT_LE, IMPLICIT_LE};

/// How much of a raw data set is read to find its SOP Class and Instance UIDs (group 0008,
/// near the start). The CLI's header read starts with this many bytes, so that the harvest
/// and the de-identification see the same frame.
pub(crate) const SNIFF_BYTES: usize = 64 << 10;

/// What was rebuilt so that a file could be read; reported with the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repair {
    /// The meta group had no File Meta Information Group Length (0002,0000).
    MetaGroupLength,
    /// The meta group was not preceded by "DICM".
    Marker,
    /// No meta group at all: one was built for the data set, read in this transfer syntax.
    MetaGroup { transfer_syntax: &'static str },
    /// The meta group had no Transfer Syntax UID: the data set was read in this one, and
    /// the group rebuilt.
    TransferSyntax { transfer_syntax: &'static str },
    /// Sequences encoded as UN of undefined length were read as SQ (`unknown_sequences`).
    UnknownSequences,
}

impl Repair {
    /// One line for the report (no values from the file).
    pub fn describe(&self) -> String {
        match self {
            Repair::MetaGroupLength => {
                "the file meta group had no group length (0002,0000); it was computed from the group".into()
            }
            Repair::Marker => "the file meta group was not preceded by the 'DICM' marker; read without it".into(),
            Repair::MetaGroup { transfer_syntax } => format!(
                "no file meta group (a raw data set): read as {}, and a meta group built from its SOP Class and Instance UIDs",
                syntax_name(transfer_syntax)
            ),
            Repair::TransferSyntax { transfer_syntax } => format!(
                "the file meta group had no Transfer Syntax UID (0002,0010): the data set was read as {}",
                syntax_name(transfer_syntax)
            ),
            Repair::UnknownSequences => {
                "sequences encoded as UN of undefined length (items in implicit VR) were read as SQ".into()
            }
        }
    }
}

fn syntax_name(uid: &str) -> &'static str {
    match uid {
        IMPLICIT_LE => "Implicit VR Little Endian",
        EXPLICIT_LE => "Explicit VR Little Endian",
        _ => "Explicit VR Big Endian",
    }
}

/// Where a Part 10 file's "DICM" marker is: 128 (after the preamble), 0 (no preamble), or
/// `None` (not a Part 10 file, or too short to tell).
pub(crate) fn dicm_offset(bytes: &[u8]) -> Option<usize> {
    if bytes.len() >= 132 && &bytes[128..132] == b"DICM" {
        Some(128)
    } else if bytes.starts_with(b"DICM") {
        Some(0)
    } else {
        None
    }
}

/// The file as a Part 10 stream the parser reads, when it is not one already, and what was
/// rebuilt; `Ok(None)` when nothing needs to be (or can be: a file that is no DICOM at all
/// is left to the parser, which says so). `bytes` may be the start of a longer file (at
/// least `SNIFF_BYTES` of it, or all of it).
pub(crate) fn as_part10(bytes: &[u8]) -> Result<Option<(Vec<u8>, Repair)>> {
    if dicm_offset(bytes).is_some() {
        let with_length = with_meta_group_length(bytes);
        let file = with_length.as_deref().unwrap_or(bytes);
        if let Some(data_set) = after_meta_without_syntax(file) {
            let (framed, transfer_syntax) = with_recognised_meta(data_set).ok_or_else(|| {
                Error::unsupported(
                    "the file meta group has no Transfer Syntax UID (0002,0010), and the data set's encoding and SOP UIDs could not be recognised",
                )
            })?;
            return Ok(Some((framed, Repair::TransferSyntax { transfer_syntax })));
        }
        return Ok(with_length.map(|b| (b, Repair::MetaGroupLength)));
    }
    let first_group = |big_endian: bool| {
        let g = bytes.get(..2).map(|g| [g[0], g[1]]).unwrap_or_default();
        if big_endian { u16::from_be_bytes(g) } else { u16::from_le_bytes(g) }
    };
    if first_group(false) == 0x0002 && bytes.get(4..6).is_some_and(|vr| vr.iter().all(u8::is_ascii_uppercase)) {
        // A meta group (always explicit VR little endian) without the marker in front.
        let mut framed = b"DICM".to_vec();
        framed.extend_from_slice(bytes);
        let repaired = with_meta_group_length(&framed).unwrap_or(framed);
        return Ok(Some((repaired, Repair::Marker)));
    }
    if first_group(false) != 0x0008 && first_group(true) != 0x0008 {
        return Ok(None);
    }
    match with_recognised_meta(bytes) {
        Some((framed, transfer_syntax)) => Ok(Some((framed, Repair::MetaGroup { transfer_syntax }))),
        None => Err(Error::unsupported(format!(
            "no file meta group, and no SOP Class UID and SOP Instance UID could be read in the data set's first {} KB \
             (an ACR-NEMA file, or not DICOM): it cannot be made a valid DICOM file",
            SNIFF_BYTES >> 10
        ))),
    }
}

/// A data set behind a meta group built for it (preamble, "DICM", the group), and the
/// encoding it was recognised in; `None` when no candidate encoding reads its SOP UIDs.
fn with_recognised_meta(data_set: &[u8]) -> Option<(Vec<u8>, &'static str)> {
    let sniffed = &data_set[..data_set.len().min(SNIFF_BYTES)];
    candidate_syntaxes(sniffed).into_iter().find_map(|ts| {
        let (class, instance) = sop_uids(sniffed, ts)?;
        Some((with_built_meta(data_set, &class, &instance, ts).ok()?, ts))
    })
}

/// The data set of a Part 10 file whose meta group (with its group length) has no Transfer
/// Syntax UID; `None` when it has one, or cannot be walked (the parser reports it).
fn after_meta_without_syntax(file: &[u8]) -> Option<&[u8]> {
    match meta_group(file)? {
        (start, None) => Some(&file[start..]),
        _ => None,
    }
}

/// Where the data set of a Part 10 file starts, and its meta group's Transfer Syntax UID
/// (without padding) if the group has one. The group must start with its group length and
/// every element must end within it; `None` otherwise. Only headers are decoded and values
/// read within the file, never at a declared length (dicom-object's meta reader allocates
/// what a length declares: a fuzz finding).
pub(crate) fn meta_group(file: &[u8]) -> Option<(usize, Option<String>)> {
    let start = dicm_offset(file)? + 4;
    let meta = &file[start..];
    if meta.get(..8) != Some(&[0x02, 0x00, 0x00, 0x00, b'U', b'L', 4, 0][..]) {
        return None;
    }
    let end = 12usize.checked_add(u32::from_le_bytes(meta.get(8..12)?.try_into().ok()?) as usize)?;
    let group = meta.get(..end)?;
    let decoder = dicom_encoding::decode::file_header_decoder();
    let mut cursor = Cursor::new(group);
    let mut syntax = None;
    while (cursor.position() as usize) < group.len() {
        let (header, _) = dicom_encoding::decode::Decode::decode_header(&decoder, &mut cursor).ok()?;
        let value = cursor.position() as usize;
        let next = value.checked_add(header.len.get()? as usize)?;
        if next > group.len() {
            return None; // an element past its group: corrupt, for the parser to report
        }
        if header.tag == Tag(0x0002, 0x0010) {
            syntax = Some(String::from_utf8_lossy(&group[value..next]).trim_end_matches(['\0', ' ']).to_string());
        }
        cursor.set_position(next as u64);
    }
    Some((start + end, syntax))
}

/// The encodings a raw data set may be in, the likeliest first: explicit VR when the bytes
/// after the first tag read as a VR, big endian only when the first group reads so.
fn candidate_syntaxes(bytes: &[u8]) -> Vec<&'static str> {
    if bytes.get(..2) == Some(&[0x00, 0x08][..]) {
        return vec![EXPLICIT_BE];
    }
    let vr_follows = bytes.get(4..6).and_then(|vr| dicom_core::VR::from_binary([vr[0], vr[1]])).is_some();
    if vr_follows {
        vec![EXPLICIT_LE, IMPLICIT_LE]
    } else {
        vec![IMPLICIT_LE, EXPLICIT_LE]
    }
}

/// The SOP Class and Instance UIDs of a raw data set read in `ts_uid`, when the start of
/// `bytes` reads as a data set in it: top-level elements of group 0008 in ascending order,
/// the two UIDs well formed. Anything else means the guess of encoding was wrong.
fn sop_uids(bytes: &[u8], ts_uid: &str) -> Option<(String, String)> {
    const CLASS: Tag = Tag(0x0008, 0x0016);
    const INSTANCE: Tag = Tag(0x0008, 0x0018);
    let ts = TransferSyntaxRegistry.get(ts_uid)?;
    let mut reader = LazyDataSetReader::new_with_ts(Cursor::new(bytes), ts).ok()?;
    let (mut class, mut instance) = (None, None);
    // What is open (true: a sequence, false: an item), innermost last. A delimiter that does
    // not close what is open ends the guess before the token reader goes on (it panics on
    // an item after such a delimiter; see `structure`).
    let (mut open, mut last) = (Vec::<bool>::new(), None::<Tag>);
    while let Some(token) = reader.advance() {
        let token = token.ok()?;
        match &token {
            LazyDataToken::SequenceStart { .. } => open.push(true),
            LazyDataToken::ItemStart { .. } if open.last() == Some(&true) => open.push(false),
            LazyDataToken::ItemEnd if open.last() == Some(&false) => {
                open.pop();
            }
            LazyDataToken::SequenceEnd if open.last() == Some(&true) => {
                open.pop();
            }
            LazyDataToken::ItemStart { .. } | LazyDataToken::ItemEnd | LazyDataToken::SequenceEnd => return None,
            LazyDataToken::PixelSequenceStart => return None,
            _ => {}
        }
        let depth = open.len();
        let header = match &token {
            LazyDataToken::ElementHeader(h) | LazyDataToken::LazyValue { header: h, .. } if depth == 0 => *h,
            LazyDataToken::SequenceStart { tag, .. } if depth == 1 => {
                check_order(&mut last, *tag)?;
                continue;
            }
            _ => {
                if matches!(token, LazyDataToken::LazyValue { .. } | LazyDataToken::LazyItemValue { .. }) {
                    token.skip().ok()?;
                }
                continue;
            }
        };
        if !matches!(token, LazyDataToken::LazyValue { .. }) {
            continue; // the header; its value comes as the next token
        }
        check_order(&mut last, header.tag)?;
        if header.tag.group() > 0x0008 {
            break;
        }
        let slot = match header.tag {
            CLASS => &mut class,
            INSTANCE => &mut instance,
            _ => {
                token.skip().ok()?;
                continue;
            }
        };
        if header.len.get()? > 64 {
            return None;
        }
        let mut value = Vec::new();
        token.read_value_into(&mut value).ok()?;
        *slot = Some(uid_text(&value)?);
        if class.is_some() && instance.is_some() {
            break;
        }
    }
    Some((class?, instance?))
}

/// Top-level tags must start in group 0008 and ascend.
fn check_order(last: &mut Option<Tag>, tag: Tag) -> Option<()> {
    let ok = match *last {
        None => tag.group() == 0x0008,
        Some(prev) => tag > prev,
    };
    *last = Some(tag);
    ok.then_some(())
}

/// A UID value without its padding, when it is one (digits and dots, at most 64).
fn uid_text(value: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(value).ok()?.trim_end_matches(['\0', ' ']);
    let well_formed = !text.is_empty()
        && text.len() <= 64
        && text.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && !text.starts_with('.')
        && !text.ends_with('.');
    well_formed.then(|| text.to_string())
}

/// A preamble, "DICM" and a meta group naming the data set's SOP UIDs and encoding, in
/// front of the data set.
fn with_built_meta(data_set: &[u8], class: &str, instance: &str, ts: &str) -> Result<Vec<u8>> {
    let meta = FileMetaTableBuilder::new()
        .media_storage_sop_class_uid(class)
        .media_storage_sop_instance_uid(instance)
        .transfer_syntax(ts)
        .implementation_class_uid(super::io::IMPLEMENTATION_CLASS_UID)
        .build()
        .map_err(|e| Error::parse(format!("cannot build a file meta group for the raw data set: {e}")))?;
    let mut out = vec![0u8; 128];
    out.extend_from_slice(b"DICM");
    meta.write(&mut out).map_err(|e| Error::parse(format!("cannot build a file meta group for the raw data set: {e}")))?;
    out.extend_from_slice(data_set);
    Ok(out)
}

/// The file with a File Meta Information Group Length (0002,0000) inserted, when its meta
/// group has none. dicom-object reads a meta group only from that length, which some
/// writers leave out; it follows exactly from the group's elements (explicit VR little
/// endian), so such a file is read rather than refused. `None` when the group has its
/// length, or cannot be walked to its end (the parser then reports the file).
fn with_meta_group_length(bytes: &[u8]) -> Option<Vec<u8>> {
    let start = dicm_offset(bytes)? + 4;
    let meta = &bytes[start..];
    let in_group = |at: usize| meta.get(at..at + 2) == Some(&[0x02, 0x00][..]);
    if !in_group(0) || meta.get(2..4) == Some(&[0x00, 0x00][..]) {
        return None;
    }
    let decoder = dicom_encoding::decode::file_header_decoder();
    let mut cursor = Cursor::new(meta);
    while in_group(cursor.position() as usize) {
        let (header, _) = dicom_encoding::decode::Decode::decode_header(&decoder, &mut cursor).ok()?;
        let end = cursor.position() + u64::from(header.len.get()?);
        if end > meta.len() as u64 {
            return None;
        }
        cursor.set_position(end);
    }
    let group_length = u32::try_from(cursor.position()).ok()?;
    let mut out = Vec::with_capacity(bytes.len() + 12);
    out.extend_from_slice(&bytes[..start]);
    out.extend_from_slice(&[0x02, 0x00, 0x00, 0x00, b'U', b'L', 0x04, 0x00]);
    out.extend_from_slice(&group_length.to_le_bytes());
    out.extend_from_slice(meta);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_object::meta::FileMetaTable;

    #[test]
    fn a_missing_meta_group_length_is_computed_from_the_group() {
        let mut b = vec![0u8; 128];
        b.extend_from_slice(b"DICM");
        b.extend_from_slice(&[0x02, 0x00, 0x01, 0x00, b'O', b'B', 0, 0, 2, 0, 0, 0, 0, 1]); // 14 bytes
        b.extend_from_slice(&[0x02, 0x00, 0x10, 0x00, b'U', b'I', 20, 0]);
        b.extend_from_slice(b"1.2.840.10008.1.2.1\0"); // 28 bytes
        b.extend_from_slice(&[0x08, 0x00, 0x16, 0x00, b'U', b'I', 2, 0, b'1', 0]);
        let (fixed, repair) = as_part10(&b).unwrap().unwrap();
        assert_eq!(repair, Repair::MetaGroupLength);
        assert_eq!(&fixed[132..144], &[0x02, 0x00, 0x00, 0x00, b'U', b'L', 4, 0, 42, 0, 0, 0]);
        assert_eq!(&fixed[144..], &b[132..]);
        assert_eq!(FileMetaTable::from_reader(&mut &fixed[128..]).unwrap().transfer_syntax(), "1.2.840.10008.1.2.1");
        // Nothing to do: a group with its length, a file without "DICM", a group cut short.
        assert_eq!(as_part10(&fixed).unwrap(), None);
        assert_eq!(with_meta_group_length(&b[..100]), None);
        assert_eq!(as_part10(&b[..150]).unwrap(), None);
        // Without a preamble.
        let short = with_meta_group_length(&b[128..]).unwrap();
        assert_eq!(short, fixed[128..]);
        // Without the marker either: both are rebuilt.
        let (unmarked, repair) = as_part10(&b[132..]).unwrap().unwrap();
        assert_eq!(repair, Repair::Marker);
        assert_eq!(unmarked, fixed[128..]);
    }

    /// An element in implicit VR little endian.
    fn implicit(group: u16, element: u16, value: &[u8]) -> Vec<u8> {
        let mut out = [group.to_le_bytes(), element.to_le_bytes()].concat();
        out.extend_from_slice(&(value.len() as u32).to_le_bytes());
        out.extend_from_slice(value);
        out
    }

    /// An element with a short length in explicit VR, little or big endian.
    fn explicit(group: u16, element: u16, vr: &[u8; 2], value: &[u8], big: bool) -> Vec<u8> {
        let (g, e, l) = if big {
            (group.to_be_bytes(), element.to_be_bytes(), (value.len() as u16).to_be_bytes())
        } else {
            (group.to_le_bytes(), element.to_le_bytes(), (value.len() as u16).to_le_bytes())
        };
        [&g[..], &e, vr, &l, value].concat()
    }

    const CT: &[u8] = b"1.2.840.10008.5.1.4.1.1.2\0";
    const INSTANCE: &[u8] = b"1.2.3.4.5.6.7.8.9\0";

    #[test]
    fn a_raw_data_set_gets_a_meta_group_in_the_encoding_it_is_in() {
        let implicit_set = [
            implicit(0x0008, 0x0005, b"ISO_IR 100"),
            implicit(0x0008, 0x0016, CT),
            implicit(0x0008, 0x0018, INSTANCE),
            implicit(0x0010, 0x0010, b"DOE^JOHN"),
        ]
        .concat();
        let explicit_set = |big| {
            [
                explicit(0x0008, 0x0005, b"CS", b"ISO_IR 100", big),
                explicit(0x0008, 0x0016, b"UI", CT, big),
                explicit(0x0008, 0x0018, b"UI", INSTANCE, big),
                explicit(0x0010, 0x0010, b"PN", b"DOE^JOHN", big),
            ]
            .concat()
        };
        for (set, ts) in [(implicit_set, IMPLICIT_LE), (explicit_set(false), EXPLICIT_LE), (explicit_set(true), EXPLICIT_BE)] {
            let (framed, repair) = as_part10(&set).unwrap().unwrap();
            assert_eq!(repair, Repair::MetaGroup { transfer_syntax: ts });
            assert_eq!(&framed[128..132], b"DICM");
            let meta = FileMetaTable::from_reader(&mut &framed[128..]).unwrap();
            assert_eq!(meta.transfer_syntax().trim_end_matches('\0'), ts);
            assert_eq!(meta.media_storage_sop_class_uid().trim_end_matches('\0'), "1.2.840.10008.5.1.4.1.1.2");
            assert_eq!(meta.media_storage_sop_instance_uid().trim_end_matches('\0'), "1.2.3.4.5.6.7.8.9");
            assert!(framed.ends_with(&set), "the data set follows unchanged");
        }
    }

    #[test]
    fn a_meta_group_without_a_transfer_syntax_is_rebuilt_for_the_encoding_of_the_data_set() {
        let group = [
            explicit(0x0002, 0x0001, b"OB", &[0, 1], false),
            explicit(0x0002, 0x0002, b"UI", CT, false),
            explicit(0x0002, 0x0003, b"UI", INSTANCE, false),
        ]
        .concat();
        // "OB" has a 4-byte length: fix up the short form `explicit` wrote.
        let group = [&group[..6], &[0, 0, 2, 0, 0, 0], &group[8..]].concat();
        let mut file = vec![0u8; 128];
        file.extend_from_slice(b"DICM");
        file.extend(explicit(0x0002, 0x0000, b"UL", &(group.len() as u32).to_le_bytes(), false));
        file.extend_from_slice(&group);
        let data_set = [implicit(0x0008, 0x0016, CT), implicit(0x0008, 0x0018, INSTANCE)].concat();
        file.extend_from_slice(&data_set);
        let (framed, repair) = as_part10(&file).unwrap().unwrap();
        assert_eq!(repair, Repair::TransferSyntax { transfer_syntax: IMPLICIT_LE });
        let meta = FileMetaTable::from_reader(&mut &framed[128..]).unwrap();
        assert_eq!(meta.transfer_syntax().trim_end_matches('\0'), IMPLICIT_LE);
        assert!(framed.ends_with(&data_set));
        // A data set that cannot be recognised: refused with the reason.
        let garbage = [&file[..file.len() - data_set.len()], &[0x55; 40][..]].concat();
        let e = as_part10(&garbage).unwrap_err();
        assert!(e.message.contains("no Transfer Syntax UID"), "{e}");
    }

    #[test]
    fn a_raw_data_set_without_sop_uids_is_refused_and_other_bytes_are_left_to_the_parser() {
        // ACR-NEMA style: group 0008 without SOP Class and Instance UIDs.
        let acr_nema = [implicit(0x0008, 0x0010, b"ACR-NEMA 2.0"), implicit(0x0010, 0x0010, b"DOE^JOHN")].concat();
        let e = as_part10(&acr_nema).unwrap_err();
        assert_eq!(e.kind, crate::error::ErrorKind::Unsupported);
        assert!(e.message.contains("no file meta group"), "{e}");
        // A UID that is no UID, tags out of order: the guess is refused.
        let bad_uid = [implicit(0x0008, 0x0016, b"not a uid"), implicit(0x0008, 0x0018, INSTANCE)].concat();
        assert!(as_part10(&bad_uid).is_err());
        let unordered = [implicit(0x0008, 0x0018, INSTANCE), implicit(0x0008, 0x0016, CT)].concat();
        assert!(as_part10(&unordered).is_err());
        // Not group 0008 or 0002 first: not ours to frame.
        for other in [&b"hello, world"[..], b"", b"\x08", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"] {
            assert_eq!(as_part10(other).unwrap(), None);
        }
    }
}
