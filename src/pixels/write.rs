//! Put decoded (and masked) frames back into the data set as native little-endian Pixel
//! Data (or RLE Lossless), and update the Image Pixel attributes that change.

use super::decode::{DecodedImage, Frame, ImageInfo, Samples, BITS_ALLOCATED, PHOTOMETRIC, PIXEL_DATA, PLANAR};
use super::PixelError;
use dicom_core::value::{PixelFragmentSequence, PrimitiveValue, Value};
use dicom_core::{DataElement, Tag, VR};
use dicom_object::mem::InMemDicomObject;

const BURNED_IN_ANNOTATION: Tag = Tag(0x0028, 0x0301);

pub const RLE_LOSSLESS: &str = "1.2.840.10008.1.2.5";

/// Each frame as one RLE Lossless fragment (dropped once encoded).
fn rle_fragments(frames: Vec<Frame>) -> Vec<Vec<u8>> {
    frames
        .into_iter()
        .map(|f| match &f.data {
            Samples::U8(v) => super::rle::encode(|i| v[i] as u16, f.width, f.height, f.samples, f.bits_allocated),
            Samples::U16(v) => super::rle::encode(|i| v[i], f.width, f.height, f.samples, f.bits_allocated),
        })
        .collect()
}

/// True when these frames are written as YBR_FULL_422 ([`ImageInfo::native_422`], not
/// re-encoded: RLE does not allow it).
pub fn keeps_422(info: &ImageInfo, rle: bool) -> bool {
    info.native_422() && !rle
}

/// The Photometric Interpretation the cleaned frames are written with.
pub fn written_photometric(info: &ImageInfo, rle: bool) -> &'static str {
    if keeps_422(info, rle) {
        "YBR_FULL_422"
    } else {
        info.photometric.as_str()
    }
}

/// Bytes of one YBR_FULL_422 frame: Y Y Cb Cr per pair of pixels (where decoding gave three
/// samples per pixel).
fn packed_422_len(f: &Frame) -> usize {
    (f.width as usize).div_ceil(2) * 4 * f.height as usize
}

/// A YBR_FULL frame (8 bits, as decoded from YBR_FULL_422) packed back into pairs of pixels,
/// Y1 Y2 Cb Cr (PS3.3 C.7.6.3.1.2), each pair's Cb Cr taken from its first pixel (both
/// pixels hold the pair's: the decoder expanded them and the mask covers whole pairs).
fn packed_422(f: &Frame) -> Vec<u8> {
    let Samples::U8(v) = &f.data else { unreachable!("YBR_FULL_422 is decoded to 8-bit samples") };
    let w = f.width as usize;
    let mut out = Vec::with_capacity(packed_422_len(f));
    for row in v.chunks_exact(w * 3) {
        for pair in row.chunks(6) {
            let y2 = if pair.len() == 6 { pair[3] } else { pair[0] };
            out.extend([pair[0], y2, pair[1], pair[2]]);
        }
    }
    out
}

/// The frames as native Pixel Data bytes (little endian; 1-bit data packed LSB first,
/// frames contiguous; with `pairs_422`, YBR_FULL_422 pairs), padded to even length. Each
/// frame is dropped once copied, so the frames and the bytes are not both held in full.
pub fn native_bytes(frames: Vec<Frame>, pairs_422: bool) -> Vec<u8> {
    let per_frame = frames.first().map_or(0, |f| match &f.data {
        Samples::U8(_) if pairs_422 => packed_422_len(f),
        Samples::U16(v) => v.len() * 2,
        Samples::U8(v) if f.bits_allocated == 1 => v.len().div_ceil(8),
        Samples::U8(v) => v.len(),
    });
    // Room for the data set's header too: the writer puts it in front in place.
    let mut out = Vec::with_capacity(per_frame * frames.len() + 1 + crate::engine::io::HEADER_ROOM);
    let mut bits = 0usize; // 1-bit data: bits written so far (frames are not byte-aligned)
    for f in frames {
        if pairs_422 {
            out.extend_from_slice(&packed_422(&f));
            continue;
        }
        match f.data {
            Samples::U16(v) => crate::engine::io::extend_le_words(&mut out, &v),
            Samples::U8(v) if f.bits_allocated == 1 => {
                for b in v {
                    if bits % 8 == 0 {
                        out.push(0);
                    }
                    *out.last_mut().expect("pushed") |= (b & 1) << (bits % 8);
                    bits += 1;
                }
            }
            Samples::U8(v) => out.extend_from_slice(&v),
        }
    }
    if out.len() % 2 == 1 {
        out.push(0);
    }
    out
}

/// Replace Pixel Data with the frames, uncompressed (little endian; OW for 16 bits, OB
/// otherwise) or, with `rle` and 8 or 16 bits allocated, as RLE Lossless fragments (one per
/// frame, empty basic offset table); set Photometric Interpretation ([`written_photometric`]), Planar Configuration 0
/// (colour) and Burned In Annotation NO; remove the Extended Offset Table (it describes the
/// input's fragments). Returns the transfer syntax the data set must be written in.
pub fn write_pixels(obj: &mut InMemDicomObject, image: DecodedImage, rle: bool) -> Result<&'static str, PixelError> {
    let first = image.frames.first().ok_or_else(|| PixelError::Malformed("no frames".into()))?;
    let (bits_allocated, samples) = (first.bits_allocated, first.samples);
    let photometric = written_photometric(&image.info, rle);
    let pairs_422 = keeps_422(&image.info, rle);
    // The old value goes first, so that the old and the new pixels are not held together.
    obj.remove_element(PIXEL_DATA);
    let rle = rle && matches!(bits_allocated, 8 | 16);
    if rle {
        let fragments = PixelFragmentSequence::new(Vec::<u32>::new(), rle_fragments(image.frames));
        obj.put(DataElement::new(PIXEL_DATA, VR::OB, Value::PixelSequence(fragments)));
    } else {
        let vr = if bits_allocated == 16 { VR::OW } else { VR::OB };
        obj.put(DataElement::new(PIXEL_DATA, vr, PrimitiveValue::U8(native_bytes(image.frames, pairs_422).into())));
    }
    mark_rewritten(obj);
    obj.put(DataElement::new(BITS_ALLOCATED, VR::US, PrimitiveValue::from(bits_allocated)));
    obj.put(DataElement::new(PHOTOMETRIC, VR::CS, PrimitiveValue::from(photometric)));
    if samples > 1 {
        obj.put(DataElement::new(PLANAR, VR::US, PrimitiveValue::from(0u16)));
    }
    Ok(if rle { RLE_LOSSLESS } else { crate::engine::EXPLICIT_LE })
}

/// Replace Pixel Data with one fragment per frame (a Basic Offset Table for several frames,
/// none if an offset would not fit in 32 bits) and [`mark_rewritten`].
pub(crate) fn put_encapsulated(obj: &mut InMemDicomObject, fragments: Vec<Vec<u8>>) {
    let mut offsets = Vec::new();
    if fragments.len() > 1 {
        let mut at = 0u64;
        for f in &fragments {
            offsets.push(at);
            at += 8 + f.len() as u64;
        }
    }
    let offsets: Vec<u32> = offsets.iter().map(|o| u32::try_from(*o)).collect::<Result<_, _>>().unwrap_or_default();
    obj.put(DataElement::new(PIXEL_DATA, VR::OB, Value::PixelSequence(PixelFragmentSequence::new(offsets, fragments))));
    mark_rewritten(obj);
}

/// What every rewrite of Pixel Data changes besides the pixels: the Extended Offset Table
/// and its lengths (they describe the old fragments) go, Burned In Annotation is NO.
pub(crate) fn mark_rewritten(obj: &mut InMemDicomObject) {
    obj.remove_element(Tag(0x7FE0, 0x0001));
    obj.remove_element(Tag(0x7FE0, 0x0002));
    obj.put(DataElement::new(BURNED_IN_ANNOTATION, VR::CS, PrimitiveValue::from("NO")));
}
