//! A walk over the element headers of a file before it is parsed.
//!
//! dicom-object and dicom-parser (0.10) allocate and zero-fill an element's declared length
//! before reading its value, so a few bytes declaring 0xFFFFFFF0 cost 4 GiB (fuzz targets
//! `deidentify` and `pixels`, docs/robustness.md), and they build nested sequences by
//! recursion, so thousands of nested sequences overflow the stack. This walk reads every
//! element, sequence and item header without reading any value (dicom-parser's lazy token
//! reader, which keeps its nesting on the heap) and refuses, before the parser runs:
//! a declared length longer than what can follow (the input, or the inflated data set when
//! deflated), a length over `limits.max_element_bytes`, and nesting deeper than
//! `limits.max_nesting_depth`. Anything else it cannot read is left to the parser, which
//! reports it.

use super::io::transfer_syntax;
use crate::error::{Error, ErrorKind, Result};
use crate::policy::Limits;
use dicom_core::{Length, Tag};
use dicom_encoding::decode::Decode;
use dicom_encoding::TransferSyntaxIndex;
use dicom_object::meta::FileMetaTable;
use dicom_parser::dataset::lazy_read::LazyDataSetReader;
use dicom_parser::dataset::LazyDataToken;
use dicom_parser::stateful::decode::StatefulDecode;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;
use std::io::{Cursor, Read};

use super::{DEFLATED, EXPLICIT_LE, IMPLICIT_LE, PIXEL_DATA};

/// How far the walk got.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Walk {
    /// Every header checked (up to Pixel Data when asked to stop there), or the rest is
    /// unreadable in a way the parser reports.
    Done,
    /// The bytes ran out before the walk finished, and more may follow (`complete` false).
    NeedMore,
    /// Stopped, as asked, at the header of the top-level Pixel Data element of a data set
    /// that is not deflated (a deflated one ends `Done`: its offsets are not the file's).
    AtPixelData(PixelDataAt),
}

/// Where a file's top-level Pixel Data element lies, as the header walk found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PixelDataAt {
    /// Offset of the value's first byte in the bytes walked.
    pub value_start: u64,
    /// The value's declared length (`None`: undefined).
    pub len: Option<u32>,
    pub vr: dicom_core::VR,
    /// The transfer syntax has explicit VRs (the element's header is then 12 bytes for OB
    /// and OW, else 8).
    pub explicit_vr: bool,
}

/// A deflated file as the walk saw it: its meta group and its inflated data set. The
/// parser must read exactly these bytes (inflating again could give it others).
pub struct Inflated {
    pub meta: FileMetaTable,
    pub data_set: Vec<u8>,
}

/// Check the headers of a whole file held in memory. A deflated file comes back inflated.
pub fn check(input: &[u8], limits: &Limits) -> Result<Option<Inflated>> {
    let mut inflated = None;
    guarded(|| walk_inner(input, true, false, limits, &mut inflated))?;
    Ok(inflated)
}

/// dicom-parser's token reader panics on some inconsistent structures ("item header should
/// be read only inside an existing sequence", found by the `deidentify` fuzz target): that
/// is a file that cannot be read, not a crash. (In wasm, where panics abort, the page
/// replaces the worker and reports the file failed.)
fn guarded(walk: impl FnOnce() -> Result<Walk>) -> Result<Walk> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(walk)).unwrap_or_else(|_| {
        Err(Error::parse("cannot parse the DICOM data: its element structure is inconsistent (the header walk failed)"))
    })
}

/// Check the headers of `bytes`, the first bytes of a file, or all of it when `complete`.
/// With `stop_at_pixel_data`, the walk ends at the top-level Pixel Data element.
pub(crate) fn walk(bytes: &[u8], complete: bool, stop_at_pixel_data: bool, limits: &Limits) -> Result<Walk> {
    guarded(|| walk_inner(bytes, complete, stop_at_pixel_data, limits, &mut None))
}

fn walk_inner(bytes: &[u8], complete: bool, stop_at_pixel_data: bool, limits: &Limits, inflated_out: &mut Option<Inflated>) -> Result<Walk> {
    // What can follow is unknown until the whole file is there: until then a long declared
    // length only asks for more bytes.
    let max = if complete { bytes.len() as u64 } else { u64::MAX };
    let start = match super::framing::dicm_offset(bytes) {
        Some(at) => at,
        None if !complete && bytes.len() < 132 => return Ok(Walk::NeedMore),
        None => return Ok(Walk::Done), // not DICOM: the parser says so
    };
    // The file meta group (explicit VR little endian), read by dicom-object the same way:
    // after the group length, as many elements as it covers, whatever their tags (a stray
    // tag inside the group does not end it; a fuzz finding: a 315-byte file made it allocate
    // 1.4 GB), then any further group 0002 elements.
    let meta_bytes = &bytes[start + 4..];
    let mut cursor = Cursor::new(meta_bytes);
    let decoder = dicom_encoding::decode::file_header_decoder();
    let mut group_end: Option<u64> = None;
    loop {
        let at = cursor.position();
        let Ok((header, _)) = decoder.decode_header(&mut cursor) else {
            return Ok(if complete { Walk::Done } else { Walk::NeedMore });
        };
        if header.tag.group() != 0x0002 && group_end.is_none_or(|end| at >= end) {
            break;
        }
        let Some(len) = header.len.get() else { break };
        check_length(header.len, max, limits)?;
        let end = cursor.position() + u64::from(len);
        if end > meta_bytes.len() as u64 {
            if complete {
                return Err(declared_too_long(header.len, max));
            }
            return Ok(Walk::NeedMore);
        }
        if at == 0 && header.tag == Tag(0x0002, 0x0000) && len == 4 {
            let v = &meta_bytes[cursor.position() as usize..end as usize];
            group_end = Some(end + u64::from(u32::from_le_bytes([v[0], v[1], v[2], v[3]])));
        }
        cursor.set_position(end);
    }
    let mut cursor = Cursor::new(&bytes[start..]);
    let Ok(meta) = FileMetaTable::from_reader(&mut cursor) else {
        return Ok(if complete { Walk::Done } else { Walk::NeedMore });
    };
    let ts_uid = transfer_syntax(&meta);
    if ts_uid == DEFLATED {
        // Walk the inflated data set (raw deflate, as dicom-object reads it), inflating no
        // more than deflate's maximum ratio (1032:1) of the input allows. A whole file whose
        // stream is corrupt is refused (what inflated before the error is not the data set);
        // a prefix's stream is cut by nature.
        let rest = &bytes[start + cursor.position() as usize..];
        let mut inflated = Vec::new();
        let cap = (rest.len() as u64).saturating_mul(1032).saturating_add(1024);
        let inflating = flate2::read::DeflateDecoder::new(rest).take(cap).read_to_end(&mut inflated);
        if let (Err(e), true) = (inflating, complete) {
            return Err(Error::parse(format!("cannot parse the DICOM data: the deflated data set does not inflate: {e}")));
        }
        let max = if complete { inflated.len() as u64 } else { u64::MAX };
        let walked = match walk_data_set(Cursor::new(&inflated[..]), EXPLICIT_LE, max, complete, stop_at_pixel_data, limits)? {
            Walk::AtPixelData(_) => Walk::Done,
            walked => walked,
        };
        *inflated_out = Some(Inflated { meta, data_set: inflated });
        return Ok(walked);
    }
    // The cursor's offsets start after the preamble (if any) and "DICM".
    Ok(match walk_data_set(cursor, &ts_uid, max, complete, stop_at_pixel_data, limits)? {
        Walk::AtPixelData(at) => Walk::AtPixelData(PixelDataAt { value_start: at.value_start + start as u64, ..at }),
        walked => walked,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    Sequence,
    PixelSequence,
    Item,
}

/// The data set part of the walk: every element, sequence and item header, values skipped.
fn walk_data_set(
    cursor: Cursor<&[u8]>,
    ts_uid: &str,
    max: u64,
    complete: bool,
    stop_at_pixel_data: bool,
    limits: &Limits,
) -> Result<Walk> {
    let ran_out = if complete { Walk::Done } else { Walk::NeedMore };
    // Where the token reader fails on a whole file, the parser would go on past that point
    // with lengths nobody checked (a fuzz finding: 1.6 GB asked for after a walk error):
    // the file is refused here.
    let unreadable = |e: &dyn std::error::Error| -> Result<Walk> {
        if complete {
            Err(Error::parse(format!("cannot parse the DICOM data: {}", super::io::error_chain(e))))
        } else {
            Ok(Walk::NeedMore)
        }
    };
    let Some(ts) = TransferSyntaxRegistry.get(ts_uid) else { return Ok(Walk::Done) };
    let mut reader = match LazyDataSetReader::new_with_ts(cursor, ts) {
        Ok(r) => r,
        Err(e) => return unreadable(&e),
    };
    // What is open, innermost last. dicom-parser's token reader panics when a delimiter
    // closes something that is not open and an item follows ("item header should be read
    // only inside an existing sequence", a fuzz finding): the walk stops at the first
    // delimiter that does not match, before the reader goes on.
    let mut open: Vec<Open> = Vec::new();
    let depth = |open: &[Open]| open.iter().filter(|o| **o == Open::Sequence).count() as u32;
    let inconsistent = |what: &str| Err(Error::parse(format!("cannot parse the DICOM data: {what}")));
    loop {
        let token = match reader.advance() {
            // Skipping a value past the end of the bytes is not an error to the token
            // reader (it copies what there is), so the end of a prefix is not the end.
            None => return Ok(ran_out),
            Some(Err(e)) => return unreadable(&e),
            Some(Ok(token)) => token,
        };
        let declared = match &token {
            LazyDataToken::ElementHeader(h) | LazyDataToken::LazyValue { header: h, .. } => h.len,
            LazyDataToken::SequenceStart { len, .. } | LazyDataToken::ItemStart { len } => *len,
            LazyDataToken::LazyItemValue { len, .. } => Length(*len),
            _ => Length::UNDEFINED,
        };
        check_length(declared, max, limits)?;
        if let LazyDataToken::ElementHeader(h) | LazyDataToken::LazyValue { header: h, .. } = &token {
            check_value_size(h)?;
        }
        if let LazyDataToken::ElementHeader(h) = &token {
            if open.is_empty() && h.tag == PIXEL_DATA && stop_at_pixel_data {
                let (len, vr) = (h.len.get(), h.vr);
                let value_start = reader.into_decoder().position();
                return Ok(Walk::AtPixelData(PixelDataAt { value_start, len, vr, explicit_vr: ts_uid != IMPLICIT_LE }));
            }
        }
        match &token {
            LazyDataToken::SequenceStart { .. } => {
                open.push(Open::Sequence);
                if depth(&open) > limits.max_nesting_depth {
                    return Err(Error::new(
                        ErrorKind::Limit,
                        format!(
                            "sequences are nested more than {} deep (limits.max_nesting_depth)",
                            limits.max_nesting_depth
                        ),
                    ));
                }
            }
            LazyDataToken::PixelSequenceStart => open.push(Open::PixelSequence),
            LazyDataToken::ItemStart { .. } => match open.last() {
                Some(Open::Sequence | Open::PixelSequence) => open.push(Open::Item),
                _ => return inconsistent("an item outside a sequence"),
            },
            LazyDataToken::ItemEnd => match open.last() {
                Some(Open::Item) => {
                    open.pop();
                }
                _ => return inconsistent("an item delimiter outside an item"),
            },
            LazyDataToken::SequenceEnd => match open.last() {
                Some(Open::Sequence | Open::PixelSequence) => {
                    open.pop();
                }
                _ => return inconsistent("a sequence delimiter outside a sequence"),
            },
            _ => {}
        }
        if matches!(token, LazyDataToken::PixelSequenceStart) && open.len() == 1 && stop_at_pixel_data {
            return Ok(Walk::Done);
        }
        if matches!(token, LazyDataToken::LazyValue { .. } | LazyDataToken::LazyItemValue { .. }) && token.skip().is_err() {
            return Ok(ran_out);
        }
    }
}

/// A binary value whose length is not a whole number of its VR's units is refused: the
/// parser reads the whole units and leaves the rest, so the next header is read from inside
/// the value (a fuzz finding: PatientSex as FD of 2 bytes, then a "header" from its text
/// declaring 4 GB).
fn check_value_size(h: &dicom_core::header::DataElementHeader) -> Result<()> {
    use dicom_core::VR;
    let unit = match h.vr {
        VR::US | VR::SS | VR::OW => 2,
        VR::UL | VR::SL | VR::FL | VR::AT | VR::OF | VR::OL => 4,
        VR::FD | VR::OD | VR::OV | VR::SV | VR::UV => 8,
        _ => return Ok(()),
    };
    match h.len.get() {
        Some(len) if len % unit != 0 => Err(Error::parse(format!(
            "cannot parse the DICOM data: element ({:04X},{:04X}) {} has {len} bytes, not a whole number of {unit}-byte values",
            h.tag.group(),
            h.tag.element(),
            h.vr
        ))),
        _ => Ok(()),
    }
}

fn check_length(declared: Length, max: u64, limits: &Limits) -> Result<()> {
    let Some(len) = declared.get() else { return Ok(()) };
    if u64::from(len) > max {
        return Err(declared_too_long(declared, max));
    }
    if u64::from(len) > limits.max_element_bytes {
        return Err(Error::new(
            ErrorKind::Limit,
            format!(
                "an element of {} MB is longer than limits.max_element_bytes ({} MB)",
                u64::from(len) >> 20,
                limits.max_element_bytes >> 20
            ),
        ));
    }
    Ok(())
}

fn declared_too_long(len: Length, max: u64) -> Error {
    Error::parse(format!("cannot parse the DICOM data: an element declares {} bytes where at most {max} can follow", len.0))
}

/// The most read into the buffer at a time: steps grow fourfold and a short file ends one
/// early, so a step's room is made (and zeroed) this much at a time.
const MAX_READ_CHUNK: u64 = 16 << 20;

/// Read from `reader` until `bytes` holds `want` bytes; true when the reader ended first
/// (the whole file is then in `bytes`). Reads straight into the room made for the step:
/// one call for a head's first 64 KB where `read_to_end` made four, and no reallocation.
fn read_up_to(reader: &mut impl Read, bytes: &mut Vec<u8>, want: u64) -> Result<bool> {
    while (bytes.len() as u64) < want {
        let mut filled = bytes.len();
        let chunk = (want - filled as u64).min(MAX_READ_CHUNK) as usize;
        bytes.resize(filled + chunk, 0);
        while filled < bytes.len() {
            match reader.read(&mut bytes[filled..]) {
                Ok(0) => {
                    bytes.truncate(filled);
                    return Ok(true);
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    bytes.truncate(filled);
                    return Err(Error::new(ErrorKind::Io, format!("cannot read: {e}")));
                }
            }
        }
    }
    Ok(false)
}

/// The header of a file read from `reader` (nothing much past Pixel Data), checked by the
/// walk. The file's length is not known in advance: the bytes are read in growing steps
/// until the walk is done, so memory stays within a small multiple of the file's header
/// (or of the file, when a declared length has to be checked against its end).
pub(crate) fn read_header(mut reader: impl Read, limits: &Limits) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let mut want = super::framing::SNIFF_BYTES as u64;
    loop {
        let first = bytes.is_empty();
        let complete = read_up_to(&mut reader, &mut bytes, want)?;
        if first {
            // The first read holds the meta group (a few hundred bytes), or the start of a
            // raw data set as far as `framing` looks for its UIDs.
            if let Some((framed, _)) = super::framing::as_part10(&bytes)? {
                bytes = framed;
            }
        }
        // Sequences encoded as UN of undefined length are read as SQ, as by `io::parse`.
        let rewritten = super::unknown_sequences::as_sequences(&bytes);
        match walk(rewritten.as_deref().unwrap_or(&bytes), complete, true, limits)? {
            Walk::Done | Walk::AtPixelData(_) => return Ok(rewritten.unwrap_or(bytes)),
            Walk::NeedMore if complete => return Ok(rewritten.unwrap_or(bytes)),
            Walk::NeedMore => want = want.saturating_mul(4),
        }
    }
}

/// The first bytes of a file as they are, through the header of its top-level Pixel Data
/// element, and where that element lies: for writing the file again around that element's
/// value, which is then never read. `None` when the file cannot be handled so: it needs a
/// repair to be read (`framing`, `unknown_sequences`: offsets would no longer be the
/// file's), is deflated, or has no top-level Pixel Data of explicit length.
pub(crate) fn read_head(mut reader: impl Read, limits: &Limits) -> Result<Option<(Vec<u8>, PixelDataAt)>> {
    let mut bytes = Vec::new();
    let mut want = super::framing::SNIFF_BYTES as u64;
    loop {
        let first = bytes.is_empty();
        let complete = read_up_to(&mut reader, &mut bytes, want)?;
        if (first && super::framing::as_part10(&bytes)?.is_some()) || super::unknown_sequences::as_sequences(&bytes).is_some() {
            return Ok(None);
        }
        match walk(&bytes, complete, true, limits)? {
            Walk::AtPixelData(at) if at.len.is_some() => return Ok(Some((bytes, at))),
            Walk::AtPixelData(_) | Walk::Done => return Ok(None),
            Walk::NeedMore if complete => return Ok(None),
            Walk::NeedMore => want = want.saturating_mul(4),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits::default()
    }

    #[test]
    fn short_prefixes_ask_for_more_and_non_dicom_is_left_to_the_parser() {
        assert_eq!(walk(b"", false, true, &limits()).unwrap(), Walk::NeedMore);
        assert_eq!(walk(b"hello", true, true, &limits()).unwrap(), Walk::Done);
        assert_eq!(walk(&[0u8; 200], true, false, &limits()).unwrap(), Walk::Done);
    }

    #[test]
    fn a_meta_element_longer_than_the_file_is_refused() {
        let mut b = vec![0u8; 128];
        b.extend_from_slice(b"DICM");
        b.extend_from_slice(&[0x02, 0x00, 0x01, 0x00, b'O', b'B', 0, 0]);
        b.extend_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
        b.extend_from_slice(&[0u8; 16]);
        let e = check(&b, &limits()).err().unwrap();
        assert_eq!(e.kind, ErrorKind::Parse);
        assert!(e.message.contains("4294967280 bytes"), "{e}");
        // Over the element limit even before the end of the file is known.
        assert_eq!(walk(&b, false, true, &limits()).unwrap_err().kind, ErrorKind::Limit);
        // Within the limit, a prefix of a longer file only asks for more.
        b[140..144].copy_from_slice(&(100u32 << 20).to_le_bytes());
        assert_eq!(walk(&b, false, true, &limits()).unwrap(), Walk::NeedMore);
        assert_eq!(check(&b, &limits()).err().unwrap().kind, ErrorKind::Parse);
    }

    /// Counts the read calls made on it.
    struct CountingReader<'a> {
        bytes: &'a [u8],
        calls: usize,
    }

    impl Read for CountingReader<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.calls += 1;
            self.bytes.read(buf)
        }
    }

    #[test]
    fn a_step_is_read_in_one_call() {
        let file = vec![7u8; 200 << 10];
        let mut reader = CountingReader { bytes: &file, calls: 0 };
        let mut bytes = Vec::new();
        let want = super::super::framing::SNIFF_BYTES as u64;
        assert!(!read_up_to(&mut reader, &mut bytes, want).unwrap());
        assert_eq!((bytes.len(), reader.calls), (want as usize, 1));
        // The next step, and the reader ending within it.
        assert!(read_up_to(&mut reader, &mut bytes, 4 * want).unwrap());
        assert_eq!(bytes, file);
    }
}
