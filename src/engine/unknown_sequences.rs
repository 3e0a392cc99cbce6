//! Sequences encoded as UN of undefined length, rewritten as SQ before parsing.
//!
//! A system that does not know a sequence attribute (often a private one) and writes the
//! file in explicit VR encodes it as UN of undefined length, its items still in implicit VR
//! little endian (PS3.5 6.2.2). dicom-parser reads those items as explicit VR and fails, so
//! such a file could not be de-identified at all. Here the element becomes an SQ of
//! undefined length whose items are re-encoded in explicit VR little endian: each element as
//! UN holding its implicit bytes (what UN means; `unknown_vr` re-reads standard attributes
//! as their own VR after parsing), nested sequences likewise. Sequences and items on the
//! way are written with undefined lengths, so that no length has to be recomputed. Files
//! without such an element are not touched; bytes this walk cannot follow are left to the
//! parser, which reports them.

use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry, VirtualVr};
use dicom_core::{Tag, VR};
use dicom_dictionary_std::StandardDataDictionary;

const UNDEFINED: u32 = 0xFFFF_FFFF;
const ITEM: Tag = Tag(0xFFFE, 0xE000);
const ITEM_END: Tag = Tag(0xFFFE, 0xE00D);
const SEQUENCE_END: Tag = Tag(0xFFFE, 0xE0DD);
use super::{DEFLATED, EXPLICIT_BE, IMPLICIT_LE, PIXEL_DATA};
/// Deeper nesting is left to the parser and the header walk, which refuse it by the policy.
const MAX_DEPTH: u32 = 128;
/// The only syntaxes with implicit VR, big endian or a deflated data set: not rewritten.
const NOT_EXPLICIT_LE: [&str; 3] = [IMPLICIT_LE, EXPLICIT_BE, DEFLATED];

/// `file` (a Part 10 file with its meta group length) with every UN of undefined length
/// rewritten as an SQ, or `None` when it has none (or cannot be followed). `file` may be the
/// start of a longer file, cut after the top-level Pixel Data begins; one cut before gives
/// `None`.
pub(crate) fn as_sequences(file: &[u8]) -> Option<Vec<u8>> {
    // Cheap first: the bytes of such a header anywhere in the file.
    memchr::memmem::find(file, b"UN\0\0\xFF\xFF\xFF\xFF")?;
    // Not dicom-object's meta reader: this runs before the header walk has checked lengths.
    let (start, syntax) = super::framing::meta_group(file)?;
    if NOT_EXPLICIT_LE.contains(&syntax?.as_str()) {
        return None;
    }
    let mut rewrite = Rewrite { bytes: file, out: Vec::with_capacity(file.len() + 4096), found: false, past_pixel_data: false };
    rewrite.out.extend_from_slice(&file[..start]);
    rewrite.elements(start, End::Bytes, Encoding::Explicit, 0)?;
    rewrite.found.then_some(rewrite.out)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Explicit,
    Implicit,
}

/// Where a run of elements ends.
#[derive(Clone, Copy)]
enum End {
    /// The end of the bytes (the top level).
    Bytes,
    /// A defined length.
    At(usize),
    /// An item delimiter.
    Delimiter,
}

struct Rewrite<'a> {
    bytes: &'a [u8],
    out: Vec<u8>,
    /// A UN of undefined length was rewritten.
    found: bool,
    /// The top-level Pixel Data has been reached.
    past_pixel_data: bool,
}

impl Rewrite<'_> {
    fn u16(&self, at: usize) -> Option<u16> {
        Some(u16::from_le_bytes(self.bytes.get(at..at + 2)?.try_into().ok()?))
    }

    fn u32(&self, at: usize) -> Option<u32> {
        Some(u32::from_le_bytes(self.bytes.get(at..at + 4)?.try_into().ok()?))
    }

    fn tag(&self, at: usize) -> Option<Tag> {
        Some(Tag(self.u16(at)?, self.u16(at + 2)?))
    }

    fn copy(&mut self, from: usize, to: usize) -> Option<()> {
        self.out.extend_from_slice(self.bytes.get(from..to)?);
        Some(())
    }

    fn put_header(&mut self, tag: Tag, vr: &[u8; 2], len: u32) {
        self.out.extend_from_slice(&tag.group().to_le_bytes());
        self.out.extend_from_slice(&tag.element().to_le_bytes());
        self.out.extend_from_slice(vr);
        self.out.extend_from_slice(&[0, 0]);
        self.out.extend_from_slice(&len.to_le_bytes());
    }

    fn put_delimiter(&mut self, tag: Tag) {
        self.out.extend_from_slice(&tag.group().to_le_bytes());
        self.out.extend_from_slice(&tag.element().to_le_bytes());
        self.out.extend_from_slice(&0u32.to_le_bytes());
    }

    /// The elements from `at` to `end`, in `encoding`; the position after them.
    fn elements(&mut self, mut at: usize, end: End, encoding: Encoding, depth: u32) -> Option<usize> {
        loop {
            match end {
                End::Bytes if at == self.bytes.len() => return Some(at),
                End::At(e) if at >= e => return (at == e).then_some(at),
                _ => {}
            }
            let tag = self.tag(at)?;
            if tag == ITEM_END {
                return matches!(end, End::Delimiter).then_some(at + 8);
            }
            if tag.group() == 0xFFFE {
                return None; // an item or sequence delimiter where an element belongs
            }
            at = match encoding {
                Encoding::Explicit if depth == 0 && tag == PIXEL_DATA && !self.past_pixel_data => {
                    return self.pixel_data_and_after(at);
                }
                Encoding::Explicit => self.explicit_element(at, tag, depth)?,
                Encoding::Implicit => self.implicit_element(at, tag, depth)?,
            };
        }
    }

    /// Pixel Data and what follows it (some vendors' private sequences, e.g. group 7FE1),
    /// walked like the rest; where that fails, as in the start of a file cut inside Pixel
    /// Data (the CLI's header read), copied as it is.
    fn pixel_data_and_after(&mut self, at: usize) -> Option<usize> {
        let (written, found) = (self.out.len(), self.found);
        self.past_pixel_data = true;
        if let Some(end) = self.elements(at, End::Bytes, Encoding::Explicit, 0) {
            return Some(end);
        }
        self.out.truncate(written);
        self.found = found;
        self.copy(at, self.bytes.len())?;
        Some(self.bytes.len())
    }

    fn explicit_element(&mut self, at: usize, tag: Tag, depth: u32) -> Option<usize> {
        let vr = VR::from_binary(self.bytes.get(at + 4..at + 6)?.try_into().ok()?)?;
        let long = matches!(
            vr,
            VR::OB | VR::OD | VR::OF | VR::OL | VR::OV | VR::OW | VR::SQ | VR::SV | VR::UC | VR::UN | VR::UR | VR::UT | VR::UV
        );
        let (len, value) = if long { (self.u32(at + 8)?, at + 12) } else { (u32::from(self.u16(at + 6)?), at + 8) };
        match (vr, len) {
            (VR::SQ, _) => self.sequence(tag, value, len, Encoding::Explicit, depth),
            (VR::UN, UNDEFINED) => {
                self.found = true;
                self.sequence(tag, value, len, Encoding::Implicit, depth)
            }
            (VR::OB | VR::OW, UNDEFINED) => {
                // Encapsulated pixel data in an item (an icon image): fragments as they are.
                let end = self.fragments_end(value)?;
                self.copy(at, end)?;
                Some(end)
            }
            (_, UNDEFINED) => None,
            _ => {
                let end = value.checked_add(len as usize)?;
                self.copy(at, end)?;
                Some(end)
            }
        }
    }

    fn implicit_element(&mut self, at: usize, tag: Tag, depth: u32) -> Option<usize> {
        let len = self.u32(at + 4)?;
        let value = at + 8;
        let is_sequence = len == UNDEFINED
            || (tag.group() % 2 == 0
                && StandardDataDictionary.by_tag(tag).is_some_and(|e| matches!(e.vr(), VirtualVr::Exact(VR::SQ))));
        if is_sequence {
            return self.sequence(tag, value, len, Encoding::Implicit, depth);
        }
        let end = value.checked_add(len as usize)?;
        self.put_header(tag, b"UN", len);
        self.copy(value, end)?;
        Some(end)
    }

    /// A sequence's items from `at` (`len` bytes, or up to its delimiter), written as an SQ
    /// of undefined length with items of undefined length.
    fn sequence(&mut self, tag: Tag, mut at: usize, len: u32, encoding: Encoding, depth: u32) -> Option<usize> {
        if depth >= MAX_DEPTH {
            return None;
        }
        self.put_header(tag, b"SQ", UNDEFINED);
        let end = if len == UNDEFINED { None } else { Some(at.checked_add(len as usize)?) };
        loop {
            if let Some(e) = end {
                if at >= e {
                    if at != e {
                        return None;
                    }
                    break;
                }
            }
            let (item, item_len) = (self.tag(at)?, self.u32(at + 4)?);
            match item {
                SEQUENCE_END if end.is_none() => {
                    at += 8;
                    break;
                }
                ITEM => {
                    self.put_header_item();
                    let items_end = if item_len == UNDEFINED { End::Delimiter } else { End::At(at.checked_add(8)?.checked_add(item_len as usize)?) };
                    at = self.elements(at + 8, items_end, encoding, depth + 1)?;
                    self.put_delimiter(ITEM_END);
                }
                _ => return None,
            }
        }
        self.put_delimiter(SEQUENCE_END);
        Some(at)
    }

    fn put_header_item(&mut self) {
        self.out.extend_from_slice(&ITEM.group().to_le_bytes());
        self.out.extend_from_slice(&ITEM.element().to_le_bytes());
        self.out.extend_from_slice(&UNDEFINED.to_le_bytes());
    }

    /// The end of encapsulated fragments starting at `at` (after their sequence delimiter).
    fn fragments_end(&self, mut at: usize) -> Option<usize> {
        loop {
            let (tag, len) = (self.tag(at)?, self.u32(at + 4)?);
            match tag {
                SEQUENCE_END => return Some(at + 8),
                ITEM if len != UNDEFINED => at = at.checked_add(8)?.checked_add(len as usize)?,
                _ => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn explicit(tag: Tag, vr: &[u8; 2], value: &[u8]) -> Vec<u8> {
        let mut out = [tag.group().to_le_bytes(), tag.element().to_le_bytes()].concat();
        out.extend_from_slice(vr);
        if matches!(vr, b"OB" | b"UN" | b"SQ") {
            out.extend_from_slice(&[0, 0]);
            out.extend_from_slice(&(value.len() as u32).to_le_bytes());
        } else {
            out.extend_from_slice(&(value.len() as u16).to_le_bytes());
        }
        out.extend_from_slice(value);
        out
    }

    fn delimiter(tag: Tag, len: u32) -> Vec<u8> {
        [&tag.group().to_le_bytes()[..], &tag.element().to_le_bytes(), &len.to_le_bytes()].concat()
    }

    /// Meta group, a private UN sequence of undefined length (one implicit item), Pixel Data
    /// of `pixels` bytes; and where Pixel Data starts.
    fn file(pixels: usize) -> (Vec<u8>, usize) {
        let meta = dicom_object::meta::FileMetaTableBuilder::new()
            .media_storage_sop_class_uid("1.2.840.10008.5.1.4.1.1.7")
            .media_storage_sop_instance_uid("1.2.3")
            .transfer_syntax("1.2.840.10008.1.2.1")
            .build()
            .unwrap();
        let mut f = vec![0u8; 128];
        f.extend_from_slice(b"DICM");
        meta.write(&mut f).unwrap();
        f.extend(explicit(Tag(0x0009, 0x0010), b"LO", b"ACME"));
        f.extend([&[0x09, 0x00, 0x10, 0x10][..], b"UN\0\0", &UNDEFINED.to_le_bytes()].concat()); // (0009,1010) UN
        f.extend(delimiter(ITEM, UNDEFINED));
        f.extend([&[0x10, 0x00, 0x10, 0x00][..], &4u32.to_le_bytes(), b"DOE "].concat()); // (0010,0010) implicit
        f.extend(delimiter(ITEM_END, 0));
        f.extend(delimiter(SEQUENCE_END, 0));
        let pixel_at = f.len();
        f.extend(explicit(PIXEL_DATA, b"OB", &vec![7u8; pixels]));
        (f, pixel_at)
    }

    #[test]
    fn the_items_are_re_encoded_in_explicit_vr_and_the_rest_is_copied() {
        let (f, pixel_at) = file(100_000);
        let out = as_sequences(&f).expect("rewritten");
        let sq = memchr::memmem::find(&out, &[0x09, 0x00, 0x10, 0x10]).unwrap();
        assert_eq!(&out[sq + 4..sq + 12], b"SQ\0\0\xFF\xFF\xFF\xFF");
        // The name as UN (explicit, 4-byte length) in an item of undefined length.
        let name = [&[0x10, 0x00, 0x10, 0x00][..], b"UN\0\0", &4u32.to_le_bytes(), b"DOE "].concat();
        assert!(memchr::memmem::find(&out, &name).is_some());
        assert!(out.ends_with(&f[pixel_at..]), "Pixel Data as it was");
        // The start of the file, cut inside Pixel Data (the CLI's first read): the same
        // rewrite up to the cut.
        let cut = pixel_at + 5_000;
        let prefix = as_sequences(&f[..cut]).expect("rewritten prefix");
        assert_eq!(prefix[..], out[..prefix.len()]);
        assert!(prefix.ends_with(&f[pixel_at..cut]));
        // Cut before Pixel Data, or no such sequence: nothing to do.
        assert_eq!(as_sequences(&f[..pixel_at - 4]), None);
        let plain = [&f[..pixel_at - 60], &f[pixel_at..]].concat();
        assert_eq!(as_sequences(&plain), None);
    }
}
