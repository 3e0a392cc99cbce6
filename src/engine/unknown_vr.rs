//! UN (unknown VR) values of attributes whose VR is known, re-read as that VR.
//!
//! A system that did not know an attribute writes it in explicit VR as UN: the bytes of its
//! implicit VR little endian encoding (PS3.5 6.2.2). Left as bytes, a Patient's Name could
//! not be harvested, a UID not remapped and a date not shifted; re-read here, right after
//! parsing, such values go through the same rules as any other. Private creators (gggg,00xx)
//! are LO. A value that does not fit its VR (a length that is not a multiple of the number
//! size, non-ASCII text in a character set that cannot be decoded) stays UN, and the engine
//! treats it as opaque bytes (scanned, removed on a finding).

use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry, VirtualVr};
use dicom_core::header::Header;
use dicom_core::value::PrimitiveValue;
use dicom_core::{DataElement, Tag, VR};
use dicom_dictionary_std::StandardDataDictionary;
use dicom_encoding::text::{SpecificCharacterSet, TextCodec};
use dicom_object::mem::InMemDicomObject;
use smallvec::SmallVec;

const SPECIFIC_CHARACTER_SET: Tag = Tag(0x0008, 0x0005);

/// Re-read the UN values of `obj` (and of its sequence items) as their dictionary VR.
/// `big_endian`: the data set is explicit VR big endian, where the encoding of a UN value is
/// not settled; nothing is changed then.
pub(crate) fn resolve(obj: &mut InMemDicomObject, big_endian: bool) {
    if big_endian || !has_unknown(obj) {
        return;
    }
    resolve_in(obj, None);
}

fn has_unknown(obj: &InMemDicomObject) -> bool {
    obj.iter().any(|e| {
        e.vr() == VR::UN || e.value().items().is_some_and(|items| items.iter().any(has_unknown))
    })
}

/// `inherited`: the character set of the enclosing data set (items inherit it).
fn resolve_in(obj: &mut InMemDicomObject, inherited: Option<&str>) {
    if obj.get(SPECIFIC_CHARACTER_SET).is_some_and(|e| e.vr() == VR::UN) {
        retype(obj, SPECIFIC_CHARACTER_SET, VR::CS, None);
    }
    let own = obj.get(SPECIFIC_CHARACTER_SET).and_then(|e| e.value().to_str().ok()).map(|s| s.trim().to_string());
    let charset = own.as_deref().or(inherited).map(str::to_string);
    let tags: Vec<(Tag, VR, bool)> = obj.iter().map(|e| (e.tag(), e.vr(), e.value().items().is_some())).collect();
    for (tag, vr, is_sequence) in tags {
        if is_sequence {
            if vr == VR::UN && known_vr(tag) == Some(VR::SQ) {
                retype_sequence(obj, tag);
            }
            obj.update_value(tag, |v| {
                if let Some(items) = v.items_mut() {
                    items.iter_mut().for_each(|item| resolve_in(item, charset.as_deref()));
                }
            });
        } else if vr == VR::UN {
            if let Some(to) = known_vr(tag) {
                retype(obj, tag, to, charset.as_deref());
            }
        }
    }
}

/// The VR the dictionary gives `tag` when it is one and only one (not US-or-SS, OB-or-OW...).
fn known_vr(tag: Tag) -> Option<VR> {
    if tag.group() % 2 == 1 {
        return (0x0010..=0x00FF).contains(&tag.element()).then_some(VR::LO);
    }
    match StandardDataDictionary.by_tag(tag)?.vr() {
        VirtualVr::Exact(vr) if vr != VR::UN => Some(vr),
        _ => None,
    }
}

fn retype_sequence(obj: &mut InMemDicomObject, tag: Tag) {
    if let Ok(e) = obj.take_element(tag) {
        obj.put(DataElement::new(tag, VR::SQ, e.into_value()));
    }
}

/// Replace the UN element `tag` by the same value read as `to`, if it reads.
fn retype(obj: &mut InMemDicomObject, tag: Tag, to: VR, charset: Option<&str>) {
    let Some(bytes) = obj.get(tag).and_then(|e| e.value().to_bytes().ok()).map(|b| b.into_owned()) else {
        return;
    };
    if let Some(value) = read_as(&bytes, to, charset) {
        obj.put(DataElement::new(tag, to, value));
    }
}

/// The implicit VR little endian bytes of a value, read as `vr`.
fn read_as(bytes: &[u8], vr: VR, charset: Option<&str>) -> Option<PrimitiveValue> {
    fn numbers<const N: usize, T>(bytes: &[u8], f: impl Fn([u8; N]) -> T) -> Option<SmallVec<[T; 2]>> {
        (bytes.len() % N == 0).then(|| bytes.chunks_exact(N).map(|c| f(c.try_into().expect("chunk of N"))).collect())
    }
    if bytes.is_empty() {
        return Some(PrimitiveValue::Empty);
    }
    Some(match vr {
        VR::US => PrimitiveValue::U16(numbers(bytes, u16::from_le_bytes)?),
        VR::SS => PrimitiveValue::I16(numbers(bytes, i16::from_le_bytes)?),
        VR::UL => PrimitiveValue::U32(numbers(bytes, u32::from_le_bytes)?),
        VR::SL => PrimitiveValue::I32(numbers(bytes, i32::from_le_bytes)?),
        VR::UV => PrimitiveValue::U64(numbers(bytes, u64::from_le_bytes)?),
        VR::SV => PrimitiveValue::I64(numbers(bytes, i64::from_le_bytes)?),
        VR::FL => PrimitiveValue::F32(numbers(bytes, f32::from_le_bytes)?),
        VR::FD => PrimitiveValue::F64(numbers(bytes, f64::from_le_bytes)?),
        VR::AT => PrimitiveValue::Tags(numbers(bytes, |b: [u8; 4]| {
            Tag(u16::from_le_bytes([b[0], b[1]]), u16::from_le_bytes([b[2], b[3]]))
        })?),
        VR::LT | VR::ST | VR::UT | VR::UR => PrimitiveValue::Str(trim_padding(&text(bytes, charset)?, vr).to_string()),
        VR::AE | VR::AS | VR::CS | VR::DA | VR::DS | VR::DT | VR::IS | VR::LO | VR::PN | VR::SH | VR::TM | VR::UC | VR::UI => {
            let text = text(bytes, charset)?;
            PrimitiveValue::Strs(text.split('\\').map(|s| trim_padding(s, vr).to_string()).collect())
        }
        // Binary VRs (OB, OW, ...) are bytes either way; SQ is handled by the caller.
        _ => return None,
    })
}

/// Text in the data set's character set; ASCII whatever it is. `None` when the bytes cannot
/// be decoded (a code extension, an unknown character set, invalid bytes).
fn text(bytes: &[u8], charset: Option<&str>) -> Option<String> {
    if bytes.is_ascii() {
        return Some(String::from_utf8(bytes.to_vec()).expect("ASCII"));
    }
    let code = charset.filter(|c| !c.contains('\\'))?;
    let set = SpecificCharacterSet::from_code(code)?;
    if set == SpecificCharacterSet::ISO_IR_6 {
        return None;
    }
    set.decode(bytes).ok()
}

fn trim_padding(s: &str, vr: VR) -> &str {
    match vr {
        VR::UI | VR::LT | VR::ST | VR::UT | VR::UR => s.trim_end_matches(['\0', ' ']),
        _ => s.trim_matches([' ', '\0']),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn un(tag: Tag, bytes: &[u8]) -> DataElement<InMemDicomObject> {
        DataElement::new(tag, VR::UN, PrimitiveValue::from(bytes.to_vec()))
    }

    #[test]
    fn standard_attributes_are_read_as_their_vr() {
        let mut item = InMemDicomObject::new_empty();
        item.put(un(Tag(0x0008, 0x1155), b"1.2.3.4\0"));
        let mut obj = InMemDicomObject::from_element_iter([
            un(Tag(0x0010, 0x0010), b"DOE^JANE"),
            un(Tag(0x0008, 0x0020), b"20240315"),
            un(Tag(0x0028, 0x0010), &512u16.to_le_bytes()),
            un(Tag(0x0020, 0x0013), b"7 "),
            un(Tag(0x0008, 0x0060), b"CT\\MR "),
            un(Tag(0x0009, 0x0010), b"ACME 1.0"),
            un(Tag(0x0009, 0x1001), b"opaque"),
            DataElement::new(Tag(0x0008, 0x1140), VR::SQ, dicom_core::value::DataSetSequence::from(vec![item])),
        ]);
        resolve(&mut obj, false);
        let get = |g, e| obj.get(Tag(g, e)).unwrap();
        assert_eq!(get(0x0010, 0x0010).vr(), VR::PN);
        assert_eq!(get(0x0010, 0x0010).value().to_str().unwrap(), "DOE^JANE");
        assert_eq!(get(0x0008, 0x0020).vr(), VR::DA);
        assert_eq!(get(0x0028, 0x0010).value().to_int::<u16>().unwrap(), 512);
        assert_eq!(get(0x0020, 0x0013).value().to_str().unwrap(), "7");
        assert_eq!(get(0x0008, 0x0060).value().to_multi_str().unwrap().to_vec(), vec!["CT", "MR"]);
        assert_eq!(get(0x0009, 0x0010).vr(), VR::LO);
        assert_eq!(get(0x0009, 0x1001).vr(), VR::UN, "a private value's VR is not known");
        let items = get(0x0008, 0x1140).items().unwrap();
        let uid = items[0].get(Tag(0x0008, 0x1155)).unwrap();
        assert_eq!((uid.vr(), uid.value().to_str().unwrap().as_ref()), (VR::UI, "1.2.3.4"));
    }

    #[test]
    fn values_that_do_not_fit_their_vr_stay_unknown() {
        let mut obj = InMemDicomObject::from_element_iter([
            un(Tag(0x0028, 0x0010), &[1, 2, 3]),
            un(Tag(0x0010, 0x0010), "MÜLLER".as_bytes()),
        ]);
        resolve(&mut obj, false);
        assert_eq!(obj.get(Tag(0x0028, 0x0010)).unwrap().vr(), VR::UN, "3 bytes are no US");
        assert_eq!(obj.get(Tag(0x0010, 0x0010)).unwrap().vr(), VR::UN, "non-ASCII without a character set");
        let mut big = InMemDicomObject::from_element_iter([un(Tag(0x0010, 0x0010), b"DOE^JANE")]);
        resolve(&mut big, true);
        assert_eq!(big.get(Tag(0x0010, 0x0010)).unwrap().vr(), VR::UN, "big endian: left alone");
    }

    #[test]
    fn text_is_decoded_in_the_character_set_of_its_data_set() {
        let mut obj = InMemDicomObject::from_element_iter([
            DataElement::new(SPECIFIC_CHARACTER_SET, VR::CS, PrimitiveValue::from("ISO_IR 100")),
            un(Tag(0x0010, 0x0010), b"M\xDCLLER^J\xD6RG"),
        ]);
        resolve(&mut obj, false);
        let name = obj.get(Tag(0x0010, 0x0010)).unwrap();
        assert_eq!((name.vr(), name.value().to_str().unwrap().as_ref()), (VR::PN, "MÜLLER^JÖRG"));
    }
}
