//! Bytes in, bytes out: parsing with clear errors, the transfer-syntax check, and writing
//! with a rebuilt file meta group (no source AE title, no private meta information).

use super::framing::Repair;
use super::{EXPLICIT_BE, EXPLICIT_LE, IMPLICIT_LE, PIXEL_DATA};
use crate::error::{Error, ErrorKind, Result};
use crate::policy::Limits;
use dicom_core::value::PrimitiveValue;
use dicom_core::header::Header;
use dicom_core::Tag;
use dicom_core::dictionary::UidDictionary;
use dicom_dictionary_std::StandardSopClassDictionary;
use dicom_encoding::TransferSyntaxIndex;
use dicom_object::meta::{FileMetaTable, FileMetaTableBuilder};
use dicom_object::file::ReadPreamble;
use dicom_object::{mem::InMemDicomObject, DefaultDicomObject, OpenFileOptions};
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;
use std::io::Read;

/// Our implementation class UID (a fixed 2.25 UID) and version name, written in every output.
pub const IMPLEMENTATION_CLASS_UID: &str = "2.25.255013382843542613441330358914457045651";
pub const IMPLEMENTATION_VERSION_NAME: &str = "DICOM_DEID_010";

/// Parse a DICOM Part 10 file (with or without the 128-byte preamble; a meta group or data
/// set missing parts of its frame is framed first, see `framing`), after the header walk of
/// `structure` (declared lengths, element size and nesting limits).
/// `header_only` stops before Pixel Data.
pub fn parse(input: &[u8], header_only: bool, limits: &Limits) -> Result<DefaultDicomObject> {
    parse_framed(input, header_only, limits).map(|(file, _)| file)
}

/// As `parse`, also saying what had to be rebuilt for the file to be read: its frame
/// (`framing`), sequences encoded as UN of undefined length (`unknown_sequences`).
pub(crate) fn parse_framed(input: &[u8], header_only: bool, limits: &Limits) -> Result<(DefaultDicomObject, Vec<Repair>)> {
    let mut repairs = Vec::new();
    let framed = super::framing::as_part10(input)?;
    let input = match &framed {
        Some((bytes, repair)) => {
            repairs.push(*repair);
            bytes.as_slice()
        }
        None => input,
    };
    let rewritten = super::unknown_sequences::as_sequences(input);
    if rewritten.is_some() {
        repairs.push(Repair::UnknownSequences);
    }
    let input = rewritten.as_deref().unwrap_or(input);
    parse_unresolved(input, header_only, limits).map(|file| (with_known_vrs(file), repairs))
}

/// UN values of attributes whose VR is known, re-read as that VR (see `unknown_vr`).
fn with_known_vrs(mut file: DefaultDicomObject) -> DefaultDicomObject {
    let big_endian = transfer_syntax(file.meta()) == EXPLICIT_BE;
    super::unknown_vr::resolve(&mut file, big_endian);
    file
}

fn parse_unresolved(input: &[u8], header_only: bool, limits: &Limits) -> Result<DefaultDicomObject> {
    match super::structure::check(input, limits)? {
        None => parse_from(input, header_only),
        // Deflated: the data set the walk checked, read as the explicit VR little endian it
        // is once inflated, under the file's own meta group.
        Some(inflated) => {
            let ts = TransferSyntaxRegistry.get(EXPLICIT_LE).expect("a built-in syntax");
            InMemDicomObject::read_dataset_with_ts(inflated.data_set.as_slice(), ts)
                .map(|obj| obj.with_exact_meta(inflated.meta))
                .map_err(|e| Error::parse(format!("cannot parse the DICOM data: {}", error_chain(&e))))
        }
    }
}

/// The header of a file read from `reader` (the CLI's harvest pass): read in steps until
/// the header walk reaches Pixel Data, then parsed; nothing much past Pixel Data is read.
pub fn parse_header_from(reader: impl Read, limits: &Limits) -> Result<DefaultDicomObject> {
    let bytes = super::structure::read_header(reader, limits)?;
    parse_from(bytes.as_slice(), true).map(with_known_vrs)
}

/// The first bytes of a file, up to (not including) its top-level Pixel Data element, as
/// `structure::read_head` read and walked them.
pub(crate) fn parse_head(bytes: &[u8]) -> Result<DefaultDicomObject> {
    parse_from(bytes, false).map(with_known_vrs)
}

/// As `parse`, from any reader, without the header walk (callers walk first); with
/// `header_only` nothing past Pixel Data is read.
fn parse_from(mut reader: impl Read, header_only: bool) -> Result<DefaultDicomObject> {
    let mut head = Vec::with_capacity(132);
    (&mut reader)
        .take(132)
        .read_to_end(&mut head)
        .map_err(|e| Error::new(ErrorKind::Io, format!("cannot read: {e}")))?;
    let preamble = match super::framing::dicm_offset(&head) {
        Some(128) => ReadPreamble::Always,
        Some(_) => ReadPreamble::Never,
        None => {
            return Err(Error::new(
                ErrorKind::NotDicom,
                "not a DICOM file: no 'DICM' marker at byte 128 (or 0), and no data set starting with group 0008",
            ))
        }
    };
    let mut opts = OpenFileOptions::new().read_preamble(preamble);
    if header_only {
        opts = opts.read_until(Tag(0x7FE0, 0x0010));
    }
    opts.from_reader(head.as_slice().chain(reader))
        .map_err(|e| Error::parse(format!("cannot parse the DICOM data: {}", error_chain(&e))))
}

/// The error and its causes in one line (dicom-rs nests them).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

const DICOMDIR_CLASS: &str = "1.2.840.10008.1.3.10";

/// A data set that parsed may still be incomplete: a file cut at an element boundary reads
/// as valid DICOM. Without its identifying elements nothing would be harvested to clean
/// the free text that did arrive, so such files fail here (fail closed).
/// `pixel_data_follows`: the data set was read up to a Pixel Data element that is there but
/// not parsed (see `Deidentifier::read_head`).
pub fn check_complete(file: &DefaultDicomObject, pixel_data_follows: bool) -> Result<()> {
    if file.meta().media_storage_sop_class_uid().trim_end_matches('\0') == DICOMDIR_CLASS {
        // Its records hold names, IDs and dates, and byte offsets and file paths that no
        // longer match once the files are rewritten: withheld rather than left broken.
        return Err(Error::unsupported(
            "a DICOMDIR (media directory) is an index of the original files, not an instance: it is not \
             de-identified; make a new one from the outputs if one is needed",
        ));
    }
    // The instance's own UIDs still encoded as UN after parsing (`unknown_vr` re-reads them
    // as UI except in explicit big endian) are bytes to the engine: they could not be
    // remapped and would be removed, leaving an output that is no valid instance. Withheld
    // instead, with the reason.
    for (tag, name) in [
        (Tag(0x0008, 0x0016), "SOP Class UID"),
        (Tag(0x0008, 0x0018), "SOP Instance UID"),
        (Tag(0x0020, 0x000D), "Study Instance UID"),
        (Tag(0x0020, 0x000E), "Series Instance UID"),
    ] {
        if file.get(tag).is_some_and(|e| e.vr() == dicom_core::VR::UN) {
            return Err(Error::unsupported(format!(
                "{name} {tag} is encoded as UN (unknown VR): it cannot be remapped, and without it the output would not be a valid instance"
            )));
        }
    }
    let text = |g: u16, e: u16| element_text(file, Tag(g, e));
    let incomplete = |what: &str| Error::parse(format!("{what}: the data set is incomplete or the file truncated"));
    let class = text(0x0008, 0x0016).ok_or_else(|| incomplete("no SOP Class UID (0008,0016)"))?;
    text(0x0008, 0x0018).ok_or_else(|| incomplete("no SOP Instance UID (0008,0018)"))?;
    let is_image = StandardSopClassDictionary.by_uid(&class).is_some_and(|e| e.name.contains("Image Storage"));
    let has_pixels = pixel_data_follows || [0x0010, 0x0008, 0x0009].iter().any(|&e| file.get(Tag(0x7FE0, e)).is_some());
    if is_image && !has_pixels {
        return Err(incomplete("an image object without Pixel Data (7FE0,0010)"));
    }
    Ok(())
}

/// Only transfer syntaxes this build can read and write are processed.
pub fn check_transfer_syntax(uid: &str) -> Result<()> {
    match TransferSyntaxRegistry.get(uid) {
        None => Err(Error::unsupported(format!("transfer syntax {uid} is not known to this build"))),
        Some(ts) if ts.is_unsupported() => Err(Error::unsupported(format!(
            "transfer syntax {} ({uid}) cannot be read or written by this build",
            ts.name()
        ))),
        Some(_) => Ok(()),
    }
}

/// An element's value as text, without padding; `None` when absent or empty.
pub fn element_text(obj: &InMemDicomObject, tag: Tag) -> Option<String> {
    let v = obj.get(tag)?.value().to_str().ok()?;
    let v = v.trim_matches(|c: char| c == ' ' || c == '\0').to_string();
    (!v.is_empty()).then_some(v)
}

/// The transfer syntax UID of a meta group, without padding.
pub fn transfer_syntax(meta: &FileMetaTable) -> String {
    meta.transfer_syntax().trim_end_matches('\0').to_string()
}

/// Spare capacity worth leaving in a Pixel Data buffer, so that the data set's header can be
/// put in front of it in place.
pub(crate) const HEADER_ROOM: usize = 256 << 10;

/// Native Pixel Data in a little-endian syntax, taken out of the data set to be written by
/// hand: the encoder would copy the whole value (and write 16-bit values one by one), which
/// for a 1 GB clip means another gigabyte. `(vr, little-endian bytes)`.
fn take_native_pixels(obj: &mut InMemDicomObject, ts: &str) -> Option<(dicom_core::VR, Vec<u8>)> {
    if ts != EXPLICIT_LE && ts != IMPLICIT_LE {
        return None;
    }
    if !matches!(obj.get(PIXEL_DATA)?.value().primitive()?, PrimitiveValue::U8(_) | PrimitiveValue::U16(_)) {
        return None;
    }
    let elem = obj.take_element(PIXEL_DATA).ok()?;
    let vr = elem.vr();
    let mut bytes = match elem.into_value() {
        dicom_core::value::Value::Primitive(PrimitiveValue::U8(v)) => v.into_vec(),
        dicom_core::value::Value::Primitive(PrimitiveValue::U16(v)) => {
            let mut b = Vec::with_capacity(v.len() * 2 + HEADER_ROOM);
            extend_le_words(&mut b, &v);
            b
        }
        _ => unreachable!("checked above"),
    };
    if bytes.len() % 2 == 1 {
        bytes.push(0);
    }
    Some((vr, bytes))
}

/// Append `words` as little-endian bytes: sized first, then filled pair by pair, a loop the
/// compiler vectorises (pushing two bytes at a time was a third of the work per CT slice).
pub(crate) fn extend_le_words(out: &mut Vec<u8>, words: &[u16]) {
    let start = out.len();
    out.resize(start + words.len() * 2, 0);
    out[start..].chunks_exact_mut(2).zip(words).for_each(|(pair, w)| pair.copy_from_slice(&w.to_le_bytes()));
}

/// The header of an element with a 4-byte length, as `ts` (little endian) encodes it.
fn long_element_header(tag: Tag, vr: dicom_core::VR, len: u32, ts: &str) -> Vec<u8> {
    let mut h = Vec::with_capacity(12);
    h.extend_from_slice(&tag.group().to_le_bytes());
    h.extend_from_slice(&tag.element().to_le_bytes());
    if ts == EXPLICIT_LE {
        h.extend_from_slice(vr.to_string().as_bytes());
        h.extend_from_slice(&[0, 0]);
    }
    h.extend_from_slice(&len.to_le_bytes());
    h
}

/// Encode the de-identified data set with a fresh meta group in transfer syntax `ts`.
pub fn write(obj: InMemDicomObject, old_meta: &FileMetaTable, ts: &str, map_uid: impl Fn(&str) -> String) -> Result<Vec<u8>> {
    let text = |tag: Tag| element_text(&obj, tag);
    let class = text(Tag(0x0008, 0x0016)).unwrap_or_else(|| old_meta.media_storage_sop_class_uid().trim_end_matches('\0').to_string());
    let instance = text(Tag(0x0008, 0x0018)).unwrap_or_else(|| map_uid(old_meta.media_storage_sop_instance_uid()));
    let meta = FileMetaTableBuilder::new()
        .transfer_syntax(ts)
        .media_storage_sop_class_uid(class)
        .media_storage_sop_instance_uid(instance)
        .implementation_class_uid(IMPLEMENTATION_CLASS_UID)
        .implementation_version_name(IMPLEMENTATION_VERSION_NAME)
        .build()
        .map_err(|e| Error::write(format!("cannot build the file meta group: {}", error_chain(&e))))?;
    let encode_error = |e: &dyn std::error::Error| Error::write(format!("cannot encode the output: {}", error_chain(e)));
    let mut obj = obj;
    let pixels = take_native_pixels(&mut obj, ts);
    // Elements after Pixel Data (padding, signatures, private groups) follow it by hand too.
    let mut trailing = InMemDicomObject::new_empty();
    if pixels.is_some() {
        let after: Vec<Tag> = obj.iter().map(|e| e.tag()).filter(|t| *t > PIXEL_DATA).collect();
        for t in after {
            if let Ok(e) = obj.take_element(t) {
                trailing.put(e);
            }
        }
    }
    let file = obj.with_exact_meta(meta);
    let mut out = Vec::new();
    file.write_all(&mut out).map_err(|e| encode_error(&e))?;
    if let Some((vr, bytes)) = pixels {
        let len = u32::try_from(bytes.len()).map_err(|_| Error::write("Pixel Data is longer than 4 GiB"))?;
        out.extend_from_slice(&long_element_header(PIXEL_DATA, vr, len, ts));
        // The header goes in front of the pixel bytes, moved within their own allocation
        // when it has room (see `write::native_bytes`): no second copy of the pixels.
        let head = out;
        out = bytes;
        out.splice(0..0, head);
        if trailing.iter().next().is_some() {
            let syntax = TransferSyntaxRegistry.get(ts).expect("a little-endian syntax");
            trailing.write_dataset_with_ts(&mut out, syntax).map_err(|e| encode_error(&e))?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_core::{DataElement, VR};

    fn meta() -> FileMetaTable {
        FileMetaTableBuilder::new()
            .transfer_syntax(EXPLICIT_LE)
            .media_storage_sop_class_uid("1.2.840.10008.5.1.4.1.1.7")
            .media_storage_sop_instance_uid("2.25.1")
            .build()
            .unwrap()
    }

    #[test]
    fn instance_uids_encoded_as_un_are_refused() {
        // Basic Text SR: no Pixel Data needed.
        let el = |e: u16, vr: VR| DataElement::new(Tag(0x0008, e), vr, PrimitiveValue::from("1.2.840.10008.5.1.4.1.1.88.11"));
        let file = |vr: VR| InMemDicomObject::from_element_iter([el(0x0016, VR::UI), el(0x0018, vr)]).with_exact_meta(meta());
        assert!(check_complete(&file(VR::UI), false).is_ok());
        let e = check_complete(&file(VR::UN), false).unwrap_err().to_string();
        assert!(e.contains("SOP Instance UID (0008,0018) is encoded as UN"), "{e}");
    }

    #[test]
    fn words_are_appended_little_endian() {
        let mut out = vec![9];
        extend_le_words(&mut out, &[0x0102, 0xA0B0, 0]);
        assert_eq!(out, [9, 0x02, 0x01, 0xB0, 0xA0, 0, 0]);
    }

    /// Pixel Data written by hand (with the elements after it) reads back as the encoder
    /// would have written it, in both little-endian syntaxes, for 8- and 16-bit values.
    #[test]
    fn native_pixels_written_by_hand_read_back_identical() {
        for ts in [EXPLICIT_LE, IMPLICIT_LE] {
            for (vr, value) in [
                (VR::OB, PrimitiveValue::U8((0..=255u8).cycle().take(1001).collect::<Vec<_>>().into())),
                (VR::OW, PrimitiveValue::U16((0..500u16).map(|v| v * 131).collect::<Vec<_>>().into())),
            ] {
                let mut obj = InMemDicomObject::new_empty();
                obj.put(DataElement::new(Tag(0x0008, 0x0016), VR::UI, PrimitiveValue::from("1.2.840.10008.5.1.4.1.1.7")));
                obj.put(DataElement::new(Tag(0x0008, 0x0018), VR::UI, PrimitiveValue::from("2.25.1")));
                obj.put(DataElement::new(Tag(0x0028, 0x0010), VR::US, PrimitiveValue::from(10u16)));
                obj.put(DataElement::new(PIXEL_DATA, vr, value.clone()));
                obj.put(DataElement::new(Tag(0x7FE1, 0x0010), VR::LO, PrimitiveValue::from("ACME")));
                obj.put(DataElement::new(Tag(0xFFFC, 0xFFFC), VR::OB, PrimitiveValue::U8(vec![0u8; 6].into())));
                let bytes = write(obj, &meta(), ts, |u| u.to_string()).unwrap();
                let back = parse(&bytes, false, &Limits::default()).unwrap();
                assert_eq!(transfer_syntax(back.meta()), ts);
                let px = back.get(PIXEL_DATA).expect("pixel data");
                let mut want = value.to_bytes().to_vec();
                if want.len() % 2 == 1 {
                    want.push(0);
                }
                assert_eq!(&px.value().to_bytes().unwrap()[..], &want[..], "{ts} {vr}");
                // (As bytes: implicit VR reads a private creator back with a guessed VR.)
                let creator = back.get(Tag(0x7FE1, 0x0010)).expect("the element after Pixel Data");
                assert_eq!(&creator.value().to_bytes().unwrap()[..], b"ACME", "{ts}");
                assert!(back.get(Tag(0xFFFC, 0xFFFC)).is_some(), "{ts}");
                assert_eq!(back.get(Tag(0x0028, 0x0010)).unwrap().to_int::<u16>().unwrap(), 10);
            }
        }
    }
}
