//! Put decoded (and masked) frames back into the data set as native little-endian Pixel
//! Data, and update the Image Pixel attributes that change.

use super::decode::{DecodedImage, BITS_ALLOCATED, PHOTOMETRIC, PIXEL_DATA, PLANAR};
use super::PixelError;
use dicom_core::value::PrimitiveValue;
use dicom_core::{DataElement, Tag, VR};
use dicom_object::mem::InMemDicomObject;

const BURNED_IN_ANNOTATION: Tag = Tag(0x0028, 0x0301);

/// The frames as native Pixel Data bytes (little endian; 1-bit data packed LSB first,
/// frames contiguous), padded to even length.
pub fn native_bytes(image: &DecodedImage) -> Vec<u8> {
    let Some(first) = image.frames.first() else { return Vec::new() };
    let mut out = Vec::new();
    match first.bits_allocated {
        16 => {
            for f in &image.frames {
                out.reserve(f.data.len() * 2);
                for w in &f.data {
                    out.extend_from_slice(&w.to_le_bytes());
                }
            }
        }
        8 => {
            for f in &image.frames {
                out.extend(f.data.iter().map(|w| *w as u8));
            }
        }
        _ => {
            let bits: Vec<u16> = image.frames.iter().flat_map(|f| f.data.iter().copied()).collect();
            out = bits.chunks(8).map(|c| c.iter().enumerate().fold(0u8, |b, (i, v)| b | (((*v & 1) as u8) << i))).collect();
        }
    }
    if out.len() % 2 == 1 {
        out.push(0);
    }
    out
}

/// Replace Pixel Data with the frames, uncompressed; set Photometric Interpretation,
/// Planar Configuration 0 (colour) and Burned In Annotation NO; remove the Extended Offset
/// Table (it describes encapsulated data only).
pub fn write_pixels(obj: &mut InMemDicomObject, image: &DecodedImage) -> Result<(), PixelError> {
    let first = image.frames.first().ok_or_else(|| PixelError::Malformed("no frames".into()))?;
    let value = if first.bits_allocated == 16 {
        let words: Vec<u16> = image.frames.iter().flat_map(|f| f.data.iter().copied()).collect();
        DataElement::new(PIXEL_DATA, VR::OW, PrimitiveValue::U16(words.into()))
    } else {
        DataElement::new(PIXEL_DATA, VR::OB, PrimitiveValue::U8(native_bytes(image).into()))
    };
    obj.put(value);
    // Extended Offset Table and its lengths describe encapsulated fragments only.
    obj.remove_element(Tag(0x7FE0, 0x0001));
    obj.remove_element(Tag(0x7FE0, 0x0002));
    obj.put(DataElement::new(BITS_ALLOCATED, VR::US, PrimitiveValue::from(first.bits_allocated)));
    obj.put(DataElement::new(PHOTOMETRIC, VR::CS, PrimitiveValue::from(image.info.photometric.as_str())));
    if first.samples > 1 {
        obj.put(DataElement::new(PLANAR, VR::US, PrimitiveValue::from(0u16)));
    }
    obj.put(DataElement::new(BURNED_IN_ANNOTATION, VR::CS, PrimitiveValue::from("NO")));
    Ok(())
}
