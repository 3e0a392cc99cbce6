//! The pixel cleaner (feature "pixels"): decoding, display conversion, masking, writing, the
//! detector on rendered text (the model built in: run tools/fetch-model.sh before building;
//! without it these tests fail), and the engine's pixel step end to end.
//!
//!     cargo test --release --test pixels
#![cfg(feature = "pixels")]

use dicom_core::value::{PixelFragmentSequence, PrimitiveValue, Value};
use dicom_core::{DataElement, Tag, VR};
use dicom_deid::detect::{DetectOptions, Detector, DetectorCache};
use dicom_deid::pixels::decode::Samples;
use dicom_deid::pixels::{
    self, clean, decode, equal_outside, fill_value, mask_frame, static_image, to_display_u8, BoxSource, CleanOptions, Fill, Frame, FrameStrategy,
    Photometric, PixelBox, PixelError, Window,
};
use dicom_object::mem::InMemDicomObject;
use std::sync::{Arc, OnceLock};

const EVLE: &str = "1.2.840.10008.1.2.1";

struct Spec {
    w: u16,
    h: u16,
    spp: u16,
    bits_allocated: u16,
    bits_stored: u16,
    signed: bool,
    pi: &'static str,
    planar: u16,
    frames: u32,
}

fn spec(w: u16, h: u16, spp: u16, ba: u16, bs: u16, signed: bool, pi: &'static str) -> Spec {
    Spec { w, h, spp, bits_allocated: ba, bits_stored: bs, signed, pi, planar: 0, frames: 1 }
}

fn header(s: &Spec) -> InMemDicomObject {
    let mut o = InMemDicomObject::new_empty();
    let us = |o: &mut InMemDicomObject, e: u16, v: u16| {
        o.put(DataElement::new(Tag(0x0028, e), VR::US, PrimitiveValue::from(v)));
    };
    o.put(DataElement::new(Tag(0x0008, 0x0016), VR::UI, PrimitiveValue::from("1.2.840.10008.5.1.4.1.1.7")));
    o.put(DataElement::new(Tag(0x0008, 0x0018), VR::UI, PrimitiveValue::from("2.25.1")));
    us(&mut o, 0x0002, s.spp);
    o.put(DataElement::new(Tag(0x0028, 0x0004), VR::CS, PrimitiveValue::from(s.pi)));
    if s.spp == 3 {
        us(&mut o, 0x0006, s.planar);
    }
    if s.frames > 1 {
        o.put(DataElement::new(Tag(0x0028, 0x0008), VR::IS, PrimitiveValue::from(s.frames.to_string())));
    }
    us(&mut o, 0x0010, s.h);
    us(&mut o, 0x0011, s.w);
    us(&mut o, 0x0100, s.bits_allocated);
    us(&mut o, 0x0101, s.bits_stored);
    us(&mut o, 0x0102, s.bits_stored - 1);
    us(&mut o, 0x0103, s.signed as u16);
    o
}

/// An object with native pixel data from stored words (frame-major, as stored: planar
/// configuration as in the spec).
fn native(s: &Spec, words: &[u16]) -> InMemDicomObject {
    let mut o = header(s);
    let v = match s.bits_allocated {
        16 => DataElement::new(Tag(0x7FE0, 0x0010), VR::OW, PrimitiveValue::U16(words.to_vec().into())),
        8 => {
            let mut b: Vec<u8> = words.iter().map(|w| *w as u8).collect();
            if b.len() % 2 == 1 {
                b.push(0);
            }
            DataElement::new(Tag(0x7FE0, 0x0010), VR::OB, PrimitiveValue::U8(b.into()))
        }
        _ => {
            let mut b: Vec<u8> = words.chunks(8).map(|c| c.iter().enumerate().fold(0u8, |a, (i, v)| a | (((v & 1) as u8) << i))).collect();
            if b.len() % 2 == 1 {
                b.push(0);
            }
            DataElement::new(Tag(0x7FE0, 0x0010), VR::OB, PrimitiveValue::U8(b.into()))
        }
    };
    o.put(v);
    o
}

/// Deterministic pseudo-random words (xorshift), masked to `mask`.
fn noise(n: usize, mask: u16, seed: u32) -> Vec<u16> {
    let mut x = seed.wrapping_mul(2654435761).max(1);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x as u16) & mask
        })
        .collect()
}

fn in_box(x: u32, y: u32, b: &PixelBox) -> bool {
    b.x0 <= x && x < b.x1 && b.y0 <= y && y < b.y1
}

/// Mask `boxes` on every frame through `clean` (rules only), write the file, read it back,
/// and check: inside = `expect_fill` words, outside = the original words, bit for bit.
fn check_mask_roundtrip(s: &Spec, words: &[u16], boxes: &[PixelBox], expect_fill: &[u16]) {
    let mut obj = native(s, words);
    let before = decode(&obj, EVLE).expect("decode");
    let opts = CleanOptions { pad: 0, detect: false, rule_boxes: boxes.iter().map(|b| (b.x0, b.y0, b.x1, b.y1)).collect(), frames: FrameStrategy::Every, rle: false, keep_jpeg: true };
    let report = clean(&mut obj, EVLE, None, &opts).expect("clean");
    assert_eq!(report.frames, s.frames);
    assert_eq!(report.boxes.len(), boxes.len() * s.frames as usize);
    assert!(report.boxes.iter().all(|b| b.source == BoxSource::Rule));
    let after = decode(&reencode(obj), EVLE).expect("decode after");
    assert_eq!(after.frames.len(), before.frames.len());
    for (fa, fb) in before.frames.iter().zip(&after.frames) {
        let sp = fa.samples as usize;
        let (wa, wb) = (fa.data.to_words(), fb.data.to_words());
        for y in 0..fa.height {
            for x in 0..fa.width {
                let i = (y * fa.width + x) as usize * sp;
                if boxes.iter().any(|b| in_box(x, y, b)) {
                    assert_eq!(&wb[i..i + sp], expect_fill, "inside at {x},{y}");
                } else {
                    assert_eq!(&wb[i..i + sp], &wa[i..i + sp], "outside at {x},{y}");
                }
            }
        }
    }
}

/// Write as a Part 10 file (Explicit VR Little Endian) and parse it back.
fn reencode(obj: InMemDicomObject) -> InMemDicomObject {
    let meta = dicom_object::meta::FileMetaTableBuilder::new()
        .transfer_syntax(EVLE)
        .media_storage_sop_class_uid("1.2.840.10008.5.1.4.1.1.7")
        .media_storage_sop_instance_uid("2.25.1")
        .build()
        .unwrap();
    let mut bytes = Vec::new();
    obj.with_exact_meta(meta).write_all(&mut bytes).expect("write");
    dicom_object::OpenFileOptions::new()
        .read_preamble(dicom_object::file::ReadPreamble::Always)
        .from_reader(bytes.as_slice())
        .expect("re-read")
        .into_inner()
}

const B1: PixelBox = PixelBox { x0: 2, y0: 1, x1: 9, y1: 4 };
const B2: PixelBox = PixelBox { x0: 10, y0: 6, x1: 40, y1: 40 }; // runs past the edge: clipped

#[test]
fn mask_mono_8_unsigned() {
    let s = spec(16, 12, 1, 8, 8, false, "MONOCHROME2");
    check_mask_roundtrip(&s, &noise(16 * 12, 0xFF, 1), &[B1, B2], &[0]);
}

#[test]
fn mask_mono_16_with_bits_above_bits_stored_kept_outside() {
    // 12 bits stored; the upper 4 bits carry junk (an overlay, say) and must survive outside.
    let s = spec(16, 12, 1, 16, 12, false, "MONOCHROME2");
    check_mask_roundtrip(&s, &noise(16 * 12, 0xFFFF, 2), &[B1], &[0]);
}

#[test]
fn mask_mono_16_signed_fills_the_minimum() {
    let s = spec(16, 12, 1, 16, 16, true, "MONOCHROME2");
    check_mask_roundtrip(&s, &noise(16 * 12, 0xFFFF, 3), &[B1, B2], &[0x8000]);
    let s = spec(16, 12, 1, 16, 12, true, "MONOCHROME2");
    check_mask_roundtrip(&s, &noise(16 * 12, 0x0FFF, 4), &[B1], &[0x0800]); // -2048 in 12 bits
    let s = spec(16, 12, 1, 8, 8, true, "MONOCHROME2");
    check_mask_roundtrip(&s, &noise(16 * 12, 0xFF, 5), &[B1], &[0x80]);
}

#[test]
fn mask_monochrome1_is_white_the_minimum_stored_value() {
    let s = spec(16, 12, 1, 16, 10, false, "MONOCHROME1");
    check_mask_roundtrip(&s, &noise(16 * 12, 0x3FF, 6), &[B1], &[0]);
    // and it displays white
    let obj = native(&s, &vec![0u16; 16 * 12].iter().enumerate().map(|(i, _)| (i % 1024) as u16).collect::<Vec<_>>());
    let img = decode(&obj, EVLE).unwrap();
    let d = to_display_u8(&img.frames[0], &img.info, Some(Window::MinMax));
    assert_eq!(d.data[0], 255);
}

#[test]
fn mask_rgb_planar_0() {
    let s = spec(16, 12, 3, 8, 8, false, "RGB");
    check_mask_roundtrip(&s, &noise(16 * 12 * 3, 0xFF, 7), &[B1, B2], &[0, 0, 0]);
}

#[test]
fn mask_rgb_planar_1_is_written_planar_0() {
    let mut s = spec(16, 12, 3, 8, 8, false, "RGB");
    s.planar = 1;
    let words = noise(16 * 12 * 3, 0xFF, 8);
    let mut obj = native(&s, &words);
    let img = decode(&obj, EVLE).unwrap();
    // interleaved in the frame: pixel 5 = (R plane[5], G plane[5], B plane[5])
    assert_eq!(&img.frames[0].data.to_words()[15..18], &[words[5], words[192 + 5], words[384 + 5]]);
    check_mask_roundtrip(&s, &words, &[B1], &[0, 0, 0]);
    clean(&mut obj, EVLE, None, &CleanOptions { detect: false, ..Default::default() }).unwrap();
    assert_eq!(obj.get(Tag(0x0028, 0x0006)).unwrap().to_int::<u16>().unwrap(), 0);
    assert_eq!(obj.get(Tag(0x0028, 0x0301)).unwrap().to_str().unwrap().trim(), "NO");
}

#[test]
fn mask_rgb_16_bits() {
    let s = spec(8, 8, 3, 16, 16, false, "RGB");
    check_mask_roundtrip(&s, &noise(8 * 8 * 3, 0xFFFF, 9), &[B1], &[0, 0, 0]);
}

#[test]
fn mask_multi_frame_masks_every_frame() {
    let mut s = spec(16, 12, 1, 16, 16, false, "MONOCHROME2");
    s.frames = 4;
    check_mask_roundtrip(&s, &noise(16 * 12 * 4, 0xFFFF, 10), &[B1, B2], &[0]);
    let mut s = spec(16, 12, 3, 8, 8, false, "RGB");
    s.frames = 3;
    s.planar = 1;
    check_mask_roundtrip(&s, &noise(16 * 12 * 9, 0xFF, 11), &[B1], &[0, 0, 0]);
}

#[test]
fn mask_one_bit() {
    let s = spec(16, 12, 1, 1, 1, false, "MONOCHROME2");
    check_mask_roundtrip(&s, &noise(16 * 12, 1, 12), &[B1], &[0]);
}

#[test]
fn mask_frame_only_touches_its_boxes() {
    let s = spec(16, 12, 1, 16, 16, false, "MONOCHROME2");
    let img = decode(&native(&s, &noise(192, 0xFFFF, 13)), EVLE).unwrap();
    let mut f = img.frames[0].clone();
    mask_frame(&mut f, &[B1], &fill_value(&img.info));
    assert!(equal_outside(&img.frames[0], &f, &[B1]));
    assert!(!equal_outside(&img.frames[0], &f, &[]));
    assert_eq!(Fill::YbrBlack.words(8, false), vec![0, 128, 128]);
    assert_eq!(Fill::Minimum.words(12, true), vec![0x800]);
    assert_eq!(Fill::Index(-1).words(8, true), vec![0xFF]);
}

/// A clip's static image keeps each pixel equal in every frame and fills every other one,
/// however little it differs (one bit of one sample, in one frame).
#[test]
fn static_image_keeps_only_pixels_equal_in_every_frame() {
    let frame = |samples: u16, bits: u16, data: Samples| Frame { width: 4, height: 2, samples, bits_allocated: bits, bits_stored: bits, signed: bits == 16, data };
    let rgb: Vec<u8> = (0..24).map(|i| 10 + i as u8).collect();
    let (mut one_bit, mut last) = (rgb.clone(), rgb.clone());
    one_bit[2 * 3 + 1] ^= 0x80; // pixel 2, green
    last[7 * 3 + 2] = 0; // pixel 7, blue
    let frames = [frame(3, 8, Samples::U8(rgb.clone())), frame(3, 8, Samples::U8(one_bit)), frame(3, 8, Samples::U8(last))];
    let mut expected = rgb.clone();
    expected[6..9].fill(0);
    expected[21..24].fill(0);
    assert_eq!(static_image(&frames, &Fill::RgbBlack).data, Samples::U8(expected));
    // 16-bit signed monochrome: the fill is the stored minimum.
    let mono: Vec<u16> = (0..8).map(|i| 1000 + i).collect();
    let mut moved = mono.clone();
    moved[0] = 0x8000 | 1000;
    let still = static_image(&[frame(1, 16, Samples::U16(mono.clone())), frame(1, 16, Samples::U16(mono.clone())), frame(1, 16, Samples::U16(moved))], &Fill::Minimum);
    assert_eq!(still.data, Samples::U16([vec![0x8000], mono[1..].to_vec()].concat()));
    // One frame alone is its own static image.
    assert_eq!(static_image(&frames[..1], &Fill::RgbBlack).data, Samples::U8(rgb));
}

#[test]
fn ybr_full_422_native_is_masked_by_whole_pairs_and_stays_422() {
    // 4x2 image: pairs (Y1 Y2 Cb Cr)
    let s = spec(4, 2, 3, 8, 8, false, "YBR_FULL_422");
    let mut o = header(&s);
    let raw: Vec<u8> = vec![10, 20, 100, 150, 30, 40, 110, 160, 50, 60, 120, 170, 70, 80, 130, 180];
    o.put(DataElement::new(Tag(0x7FE0, 0x0010), VR::OB, PrimitiveValue::U8(raw.clone().into())));
    let img = decode(&o, EVLE).unwrap();
    assert_eq!(img.info.photometric, Photometric::YbrFull);
    assert_eq!(&img.frames[0].data.to_words()[..12], &[10, 100, 150, 20, 100, 150, 30, 110, 160, 40, 110, 160]);
    let pixel_bytes = |o: &InMemDicomObject| o.get(Tag(0x7FE0, 0x0010)).unwrap().to_bytes().unwrap().to_vec();
    let photometric = |o: &InMemDicomObject| o.get(Tag(0x0028, 0x0004)).unwrap().to_str().unwrap().trim().to_string();
    let only = |x0, x1| CleanOptions { pad: 0, detect: false, rule_boxes: vec![(x0, 0, x1, 1)], frames: FrameStrategy::Every, rle: false, keep_jpeg: true };

    // A box on the second pixel of the first pair masks the whole pair (it shares Cb Cr);
    // every other stored byte is as it was, and the data stays YBR_FULL_422.
    let mut o2 = o.clone();
    let report = clean(&mut o2, EVLE, None, &only(1, 2)).unwrap();
    assert_eq!(photometric(&o2), "YBR_FULL_422");
    assert_eq!(report.photometric, "YBR_FULL_422");
    assert_eq!((report.boxes[0].x0, report.boxes[0].x1), (0, 2), "the report names the pair masked");
    assert_eq!(pixel_bytes(&o2), [&[0, 0, 128, 128][..], &raw[4..]].concat());
    // Across a pair boundary: both pairs.
    let mut o3 = o.clone();
    clean(&mut o3, EVLE, None, &only(1, 3)).unwrap();
    assert_eq!(pixel_bytes(&o3), [&[0, 0, 128, 128, 0, 0, 128, 128][..], &raw[8..]].concat());
    // Displayed as RGB: Y=0, Cb=Cr=128 is black.
    let after = decode(&o2, EVLE).unwrap();
    let d = to_display_u8(&after.frames[0], &after.info, None);
    assert_eq!((d.channels, &d.data[..3]), (3, &[0u8, 0, 0][..]));

    // RLE does not allow YBR_FULL_422: re-encoded, the pixels are YBR_FULL, masked as asked.
    let mut o4 = o.clone();
    clean(&mut o4, EVLE, None, &CleanOptions { rle: true, ..only(0, 1) }).unwrap();
    assert_eq!(photometric(&o4), "YBR_FULL");
    let after = decode(&o4, "1.2.840.10008.1.2.5").unwrap();
    assert_eq!(&after.frames[0].data.to_words()[..6], &[0, 128, 128, 20, 100, 150]);
}

#[test]
fn palette_colour_fills_the_darkest_entry_and_displays_rgb() {
    let s = spec(8, 4, 1, 8, 8, false, "PALETTE COLOR");
    let mut o = native(&s, &(0..32).map(|i| (i % 4) as u16).collect::<Vec<_>>());
    for c in 0..3u16 {
        o.put(DataElement::new(Tag(0x0028, 0x1101 + c), VR::US, PrimitiveValue::U16(vec![4, 0, 16].into())));
        // entry 2 is black; others bright (16-bit entries)
        let lut: Vec<u16> = vec![0xFF00, 0x8000 + c * 0x1000, 0x0000, 0xFFFF];
        o.put(DataElement::new(Tag(0x0028, 0x1201 + c), VR::OW, PrimitiveValue::U16(lut.into())));
    }
    let img = decode(&o, EVLE).unwrap();
    assert_eq!(fill_value(&img.info), Fill::Index(2));
    let d = to_display_u8(&img.frames[0], &img.info, None);
    assert_eq!(&d.data[..6], &[0xFF, 0xFF, 0xFF, 0x80, 0x90, 0xA0]);
    let mut o2 = o.clone();
    clean(&mut o2, EVLE, None, &CleanOptions { pad: 0, detect: false, rule_boxes: vec![(0, 0, 2, 1)], frames: FrameStrategy::Every, rle: false, keep_jpeg: true }).unwrap();
    let after = decode(&o2, EVLE).unwrap();
    assert_eq!(&after.frames[0].data.to_words()[..3], &[2, 2, 2]);
}

#[test]
fn segmented_palette_expands_discrete_linear_and_indirect_segments() {
    use dicom_deid::pixels::decode::expand_segmented_lut;
    // discrete [0, 100], linear to 400 over 3 entries, then an indirect copy of the first
    // two segments (offset 0, low word first).
    let data = [0, 2, 0, 100, 1, 3, 400, 2, 2, 0, 0];
    assert_eq!(expand_segmented_lut(&data, 64).unwrap(), vec![0, 100, 200, 300, 400, 0, 100, 200, 300, 400]);
    // A trailing pad word is allowed.
    assert_eq!(expand_segmented_lut(&[0, 1, 7, 0], 8).unwrap(), vec![7]);
    // Malformed tables are refused, never guessed: a linear first segment, an unknown
    // opcode, a discrete segment running past the data, an offset outside it, too many
    // entries, indirections that point at themselves.
    for bad in [&[1u16, 2, 50][..], &[0, 1, 5, 3, 1, 1], &[0, 9, 1, 2], &[0, 1, 5, 2, 1, 99, 0], &[0, 4, 1, 2, 3, 4]] {
        assert_eq!(expand_segmented_lut(bad, 3), None, "{bad:?}");
    }
    assert_eq!(expand_segmented_lut(&[0, 1, 5, 2, 9, 3, 0], 1 << 16), None);
}

#[test]
fn segmented_palette_colour_16_bit_decodes_and_masks() {
    let s = spec(8, 4, 1, 16, 16, false, "PALETTE COLOR");
    let mut o = native(&s, &(0..32).map(|i| (i % 4) as u16 * 1000).collect::<Vec<_>>());
    for c in 0..3u16 {
        o.put(DataElement::new(Tag(0x0028, 0x1101 + c), VR::US, PrimitiveValue::U16(vec![4096, 0, 16].into())));
        // 0..=3000 black, then a ramp to white at 4095 (each channel).
        let seg: Vec<u16> = vec![0, 1, 0, 1, 3000, 0, 1, 1095, 0xFFFF];
        o.put(DataElement::new(Tag(0x0028, 0x1221 + c), VR::OW, PrimitiveValue::U16(seg.into())));
    }
    let img = decode(&o, EVLE).unwrap();
    let pal = img.info.palette.as_ref().unwrap();
    assert_eq!(pal.rgb.len(), 4096);
    assert_eq!((pal.lookup(0), pal.lookup(3000), pal.lookup(4095)), ([0, 0, 0], [0, 0, 0], [255, 255, 255]));
    let mut o2 = o.clone();
    clean(&mut o2, EVLE, None, &CleanOptions { pad: 0, detect: false, rule_boxes: vec![(0, 0, 4, 4)], frames: FrameStrategy::Every, rle: false, keep_jpeg: true }).unwrap();
    let after = decode(&o2, EVLE).unwrap();
    let (w0, w1) = (img.frames[0].data.to_words(), after.frames[0].data.to_words());
    for i in 0..32 {
        let expect = if i % 8 < 4 { 0 } else { w0[i] };
        assert_eq!(w1[i], expect, "pixel {i}");
    }
    // A segmented table that expands to fewer entries than described: withheld.
    let mut bad = o.clone();
    bad.put(DataElement::new(Tag(0x0028, 0x1222), VR::OW, PrimitiveValue::U16(vec![0, 2, 0, 0].into())));
    assert!(matches!(decode(&bad, EVLE), Err(PixelError::Unsupported(_))));
}

#[test]
fn display_window_rescale_and_min_max() {
    let s = spec(4, 1, 1, 16, 16, true, "MONOCHROME2");
    let mut o = native(&s, &[(-1000i16) as u16, 0, 40, 3000]);
    o.put(DataElement::new(Tag(0x0028, 0x1050), VR::DS, PrimitiveValue::from("40")));
    o.put(DataElement::new(Tag(0x0028, 0x1051), VR::DS, PrimitiveValue::from("400")));
    let img = decode(&o, EVLE).unwrap();
    assert_eq!(img.frames[0].value(0), -1000);
    let d = to_display_u8(&img.frames[0], &img.info, None);
    assert_eq!((d.data[0], d.data[3]), (0, 255));
    assert!((126..=129).contains(&d.data[2]), "{:?}", d.data);
    let d = to_display_u8(&img.frames[0], &img.info, Some(Window::MinMax));
    assert_eq!((d.data[0], d.data[3]), (0, 255));
    // rescale: the window applies to rescaled values
    o.put(DataElement::new(Tag(0x0028, 0x1052), VR::DS, PrimitiveValue::from("-1024")));
    let img = decode(&o, EVLE).unwrap();
    let d = to_display_u8(&img.frames[0], &img.info, None);
    assert_eq!(d.data[1], 0); // 0 stored = -1024 HU
}

/// RLE Lossless (PS3.5 Annex G) with literal runs only: enough for a decoder test.
fn rle_frame(words: &[u16], spp: usize, bytes: usize) -> Vec<u8> {
    let npx = words.len() / spp;
    let mut segments: Vec<Vec<u8>> = Vec::new();
    for s in 0..spp {
        for b in (0..bytes).rev() {
            let plane: Vec<u8> = (0..npx).map(|p| (words[p * spp + s] >> (8 * b)) as u8).collect();
            let mut seg = Vec::new();
            for chunk in plane.chunks(128) {
                seg.push((chunk.len() - 1) as u8);
                seg.extend_from_slice(chunk);
            }
            if seg.len() % 2 == 1 {
                seg.push(0);
            }
            segments.push(seg);
        }
    }
    let mut out = vec![0u8; 64];
    out[..4].copy_from_slice(&(segments.len() as u32).to_le_bytes());
    let mut off = 64u32;
    for (i, seg) in segments.iter().enumerate() {
        out[4 + 4 * i..8 + 4 * i].copy_from_slice(&off.to_le_bytes());
        off += seg.len() as u32;
    }
    for seg in segments {
        out.extend(seg);
    }
    out
}

fn encapsulated(s: &Spec, frames: Vec<Vec<u8>>) -> InMemDicomObject {
    let mut o = header(s);
    o.put(DataElement::new(
        Tag(0x7FE0, 0x0010),
        VR::OB,
        Value::PixelSequence(PixelFragmentSequence::new(Vec::<u32>::new(), frames)),
    ));
    o
}

/// The cleaner with `rle`: RLE Lossless fragments that decode to the native output, for
/// 8 and 16 bits, grey and colour, several frames; 1-bit data stays native.
#[test]
fn clean_with_rle_output_matches_the_native_output() {
    const RLE: &str = "1.2.840.10008.1.2.5";
    for (spp, bits, stored, pi, seed) in [(1, 8, 8, "MONOCHROME2", 31), (1, 16, 12, "MONOCHROME2", 32), (3, 8, 8, "RGB", 33), (3, 16, 16, "RGB", 34)] {
        let mut s = spec(40, 30, spp, bits, stored, false, pi);
        s.frames = 3;
        let words = noise(40 * 30 * spp as usize * 3, ((1u32 << stored) - 1) as u16, seed);
        let opts = |rle| CleanOptions { pad: 0, detect: false, rule_boxes: vec![(2, 3, 20, 9)], frames: FrameStrategy::Every, rle, keep_jpeg: true };
        let (mut as_native, mut as_rle) = (native(&s, &words), native(&s, &words));
        assert_eq!(clean(&mut as_native, EVLE, None, &opts(false)).unwrap().transfer_syntax, EVLE);
        assert_eq!(clean(&mut as_rle, EVLE, None, &opts(true)).unwrap().transfer_syntax, RLE, "{pi} {bits}");
        assert_eq!(as_rle.get(Tag(0x7FE0, 0x0010)).unwrap().value().fragments().map(|f| f.len()), Some(3));
        assert_eq!(decode(&as_native, EVLE).unwrap().frames, decode(&as_rle, RLE).unwrap().frames, "{pi} {bits}");
    }
    let s = spec(16, 2, 1, 1, 1, false, "MONOCHROME2");
    let mut one_bit = native(&s, &noise(32, 1, 35));
    let opts = CleanOptions { detect: false, rle: true, ..Default::default() };
    assert_eq!(clean(&mut one_bit, EVLE, None, &opts).unwrap().transfer_syntax, EVLE, "1-bit data is written native");
}

#[test]
fn rle_decodes_rgb_8_and_mono_16_multi_frame() {
    const RLE: &str = "1.2.840.10008.1.2.5";
    let mut s = spec(20, 7, 3, 8, 8, false, "RGB");
    s.frames = 2;
    let words = noise(20 * 7 * 3 * 2, 0xFF, 20);
    let o = encapsulated(&s, words.chunks(420).map(|f| rle_frame(f, 3, 1)).collect());
    let img = decode(&o, RLE).unwrap();
    assert!(img.info.was_encapsulated);
    assert_eq!(img.frames.iter().flat_map(|f| f.data.to_words()).collect::<Vec<_>>(), words);
    let mut s = spec(300, 3, 1, 16, 12, true, "MONOCHROME2");
    s.frames = 3;
    let words = noise(900 * 3, 0x0FFF, 21);
    let mut o = encapsulated(&s, words.chunks(900).map(|f| rle_frame(f, 1, 2)).collect());
    let img = decode(&o, RLE).unwrap();
    assert_eq!(img.frames.iter().flat_map(|f| f.data.to_words()).collect::<Vec<_>>(), words);
    // One frame alone (the page's preview), encapsulated and native.
    let one = dicom_deid::pixels::decode_one(&o, RLE, 1).unwrap();
    assert_eq!((one.frames.len(), &one.frames[0]), (1, &img.frames[1]));
    assert!(dicom_deid::pixels::decode_one(&o, RLE, 3).is_err(), "no frame 3");
    let native_o = native(&s, &words);
    let one = dicom_deid::pixels::decode_one(&native_o, EVLE, 2).unwrap();
    assert_eq!((one.frames.len(), &one.frames[0]), (1, &img.frames[2]));
    // cleaned: written native, frames kept, boxes masked
    let r = clean(&mut o, RLE, None, &CleanOptions { pad: 0, detect: false, rule_boxes: vec![(0, 0, 10, 1)], frames: FrameStrategy::Every, rle: false, keep_jpeg: true }).unwrap();
    assert!(r.was_encapsulated);
    let after = decode(&reencode(o), EVLE).unwrap();
    assert_eq!(after.frames.len(), 3);
    assert_eq!(after.frames[2].data.to_words()[0], 0x800);
    assert_eq!(after.frames[2].data.to_words()[10..], img.frames[2].data.to_words()[10..]);
}

/// dicom-rs's JPEG baseline encoder (YBR_FULL_422): decoded as coded and written back as
/// YBR_FULL, displaying as the original colours; labelled RGB instead (as some writers label
/// YCbCr-coded JPEG), the registry's decoder gives RGB.
#[test]
fn jpeg_baseline_round_trip_keeps_its_colour_space() {
    use dicom_pixeldata::Transcode;
    let s = spec(32, 16, 3, 8, 8, false, "RGB");
    // smooth colours so that lossy JPEG stays close
    let words: Vec<u16> = (0..32 * 16).flat_map(|p| [(p % 32 * 8) as u16, (p / 32 * 16) as u16, 128]).collect();
    let obj = native(&s, &words);
    let meta = dicom_object::meta::FileMetaTableBuilder::new()
        .transfer_syntax(EVLE)
        .media_storage_sop_class_uid("1.2.840.10008.5.1.4.1.1.7")
        .media_storage_sop_instance_uid("2.25.1")
        .build()
        .unwrap();
    let mut file = obj.with_exact_meta(meta);
    let jpeg = dicom_transfer_syntax_registry::entries::JPEG_BASELINE.erased();
    file.transcode(&jpeg).expect("JPEG encode");
    let ts = file.meta().transfer_syntax().trim_end_matches('\0').to_string();
    assert_eq!(ts, "1.2.840.10008.1.2.4.50");
    let photometric = |o: &InMemDicomObject| o.get(Tag(0x0028, 0x0004)).unwrap().to_str().unwrap().trim().to_string();
    assert_eq!(photometric(&file), "YBR_FULL_422");
    let max_diff = |a: &[u16]| a.iter().zip(&words).map(|(a, b)| (*a as i32 - *b as i32).abs()).max().unwrap();
    let img = decode(&file, &ts).unwrap();
    assert_eq!(img.info.photometric, Photometric::YbrFull);
    let shown: Vec<u16> = to_display_u8(&img.frames[0], &img.info, None).data.iter().map(|b| *b as u16).collect();
    assert!(max_diff(&shown) < 24, "JPEG round trip differs by {}", max_diff(&shown));
    let mut obj = file.into_inner();
    let mut cleaned = obj.clone();
    clean(&mut cleaned, &ts, None, &CleanOptions { detect: false, keep_jpeg: false, ..Default::default() }).unwrap();
    assert_eq!(photometric(&cleaned), "YBR_FULL");
    assert_eq!(decode(&cleaned, EVLE).unwrap().frames[0].data, img.frames[0].data);

    obj.put(DataElement::new(Tag(0x0028, 0x0004), VR::CS, PrimitiveValue::from("RGB")));
    let img = decode(&obj, &ts).unwrap();
    assert_eq!(img.info.photometric, Photometric::Rgb);
    assert!(max_diff(&img.frames[0].data.to_words()) < 24);
    clean(&mut obj, &ts, None, &CleanOptions { detect: false, keep_jpeg: false, ..Default::default() }).unwrap();
    assert_eq!(photometric(&obj), "RGB");
    assert_eq!(decode(&obj, EVLE).unwrap().frames[0].data, img.frames[0].data);
}

/// JPEG labelled YBR_FULL_422 or YBR_FULL is decoded as coded (no colour transform, chroma
/// upsampled as libjpeg does) and written back as YBR_FULL: the samples are the codestream's,
/// masked as asked; only a stream that declares RGB is RGB.
#[test]
fn jpeg_ybr_is_written_back_as_coded() {
    const BASELINE: &str = "1.2.840.10008.1.2.4.50";
    let jpg = |name: &str| std::fs::read(format!("{}/tests/fixtures/jpeg12/{name}.jpg", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let photometric = |o: &InMemDicomObject| o.get(Tag(0x0028, 0x0004)).unwrap().to_str().unwrap().trim().to_string();
    let rule = |rle| CleanOptions { pad: 0, detect: false, rule_boxes: vec![(5, 4, 21, 10)], frames: FrameStrategy::Every, rle, keep_jpeg: false };
    for (name, w, h, label) in [
        ("ybr8_422_dcmtk", 80, 48, "YBR_FULL_422"),
        ("ybr8_411_dcmtk", 61, 37, "YBR_FULL_422"),
        ("ycc8_h1v2", 48, 40, "YBR_FULL"),
    ] {
        let stream = jpg(name);
        let coded = dicom_deid::pixels::jpeg12::decode(&stream).unwrap();
        for rle in [false, true] {
            let s = Spec { frames: 2, ..spec(w, h, 3, 8, 8, false, label) };
            let mut o = encapsulated(&s, vec![stream.clone(), stream.clone()]);
            let img = decode(&o, BASELINE).unwrap();
            assert_eq!(img.info.photometric, Photometric::YbrFull, "{name} as {label}");
            assert_eq!(img.frames[1].data.to_words(), coded.samples, "{name}: the samples as coded");
            let report = clean(&mut o, BASELINE, None, &rule(rle)).unwrap();
            assert_eq!((photometric(&o).as_str(), report.photometric.as_str()), ("YBR_FULL", "YBR_FULL"), "{name} as {label}");
            let after = if rle { decode(&o, &report.transfer_syntax) } else { decode(&reencode(o), EVLE) }.unwrap();
            for (a, b) in after.frames.iter().zip(&img.frames) {
                for (i, (x, y)) in a.data.to_words().chunks(3).zip(b.data.to_words().chunks(3)).enumerate() {
                    let (px, py) = (i % w as usize, i / w as usize);
                    let inside = (5..21).contains(&px) && (4..10).contains(&py);
                    assert_eq!(x, if inside { &[0, 128, 128][..] } else { y }, "{name} pixel ({px}, {py})");
                }
            }
        }
    }
    // Labelled YBR but coded RGB (component ids R G B, no JFIF marker): RGB, as the stream
    // says.
    let s = spec(48, 40, 3, 8, 8, false, "YBR_FULL_422");
    let mut rgb = jpg("ycc8_h1v2");
    let (sof, sos) = (rgb.windows(2).position(|m| m == [0xFF, 0xC0]).unwrap(), rgb.windows(2).position(|m| m == [0xFF, 0xDA]).unwrap());
    assert_eq!(rgb[sos + 4], 3, "one interleaved scan");
    for k in 0..3 {
        (rgb[sof + 10 + 3 * k], rgb[sos + 5 + 2 * k]) = (b"RGB"[k], b"RGB"[k]);
    }
    let mut o = encapsulated(&s, vec![rgb]);
    assert_eq!(decode(&o, BASELINE).unwrap().info.photometric, Photometric::Rgb);
    clean(&mut o, BASELINE, None, &rule(false)).unwrap();
    assert_eq!(photometric(&o), "RGB");
}

/// By default JPEG stays JPEG: masked in whole MCUs of its coefficients, the transfer
/// syntax and Photometric Interpretation kept, every other block decoding as before.
#[test]
fn jpeg_stays_jpeg_masked_in_whole_mcus() {
    use dicom_deid::pixels::jpeg12;
    const BASELINE: &str = "1.2.840.10008.1.2.4.50";
    let jpg = |name: &str| std::fs::read(format!("{}/tests/fixtures/jpeg12/{name}.jpg", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let text = |o: &InMemDicomObject, e| o.get(Tag(0x0028, e)).unwrap().to_str().unwrap().trim().to_string();
    // (fixture, width, height, photometric, a box on frame 1 and where its MCUs end)
    for (name, w, h, pi, rect, snapped) in [
        ("ybr8_422_dcmtk", 80, 48, "YBR_FULL_422", (5, 4, 21, 10), (0, 0, 32, 16)),
        ("mono8_dcmtk", 97, 64, "MONOCHROME2", (5, 4, 21, 10), (0, 0, 24, 16)),
    ] {
        let stream = jpg(name);
        let s = Spec { frames: 2, ..spec(w, h, if pi.starts_with("YBR") { 3 } else { 1 }, 8, 8, false, pi) };
        let mut o = encapsulated(&s, vec![stream.clone(), stream.clone()]);
        let before = jpeg12::decode(&stream).unwrap().samples;
        let opts = CleanOptions { pad: 0, detect: false, rule_boxes: vec![rect], frames: FrameStrategy::Every, rle: false, keep_jpeg: true };
        let report = clean(&mut o, BASELINE, None, &opts).unwrap();
        assert_eq!((report.transfer_syntax.as_str(), report.photometric.as_str(), text(&o, 0x0004)), (BASELINE, pi, pi.to_string()), "{name}");
        assert_eq!(text(&o, 0x0301), "NO");
        assert!(report.boxes.iter().all(|b| (b.x0, b.y0, b.x1, b.y1) == snapped), "{name}: {:?}", report.boxes);
        let Value::PixelSequence(seq) = o.get(Tag(0x7FE0, 0x0010)).unwrap().value() else { panic!("{name}: not encapsulated") };
        assert_eq!((seq.fragments().len(), seq.offset_table()), (2, &[0, 8 + seq.fragments()[0].len() as u32][..]));
        // Both frames masked; luma (or grey) exactly as before outside the MCUs, 0 inside
        // (compared with our decoder's: the registry's JPEG decoder rounds its IDCT otherwise).
        for (f, fragment) in seq.fragments().iter().enumerate() {
            let after = jpeg12::decode(fragment).unwrap();
            let spp = s.spp as usize;
            for (i, (a, b)) in after.samples.chunks(spp).zip(before.chunks(spp)).enumerate() {
                let (x, y) = ((i % w as usize) as u32, (i / w as usize) as u32);
                let inside = (snapped.0..snapped.2).contains(&x) && (snapped.1..snapped.3).contains(&y);
                assert_eq!(a[0], if inside { 0 } else { b[0] }, "{name} frame {f} ({x}, {y})");
            }
        }
        // The file as written reads back with the same pixels.
        let again = decode(&o, BASELINE).unwrap();
        assert_eq!(again.frames.len(), 2);
    }
    // Not a sequential JPEG (progressive, which the registry's decoder reads): the decoded
    // pixels are written, native (RGB for colour).
    for (name, spp, pi, written) in [("progressive_mono8", 1, "MONOCHROME2", "MONOCHROME2"), ("progressive_ycc8", 3, "YBR_FULL_422", "RGB")] {
        let mut o = encapsulated(&spec(40, 24, spp, 8, 8, false, pi), vec![jpg(name)]);
        let opts = CleanOptions { pad: 0, detect: false, rule_boxes: vec![(5, 4, 21, 10)], frames: FrameStrategy::Every, rle: false, keep_jpeg: true };
        let report = clean(&mut o, BASELINE, None, &opts).unwrap();
        assert_eq!((report.transfer_syntax.as_str(), text(&o, 0x0004).as_str()), (EVLE, written), "{name}");
        assert_eq!((report.boxes[0].x0, report.boxes[0].x1), (5, 21), "{name}: the box as asked");
    }
}

/// JPEG 2000 Lossless stays JPEG 2000 Lossless (with `keep_jpeg`): the masked frames encoded
/// again losslessly, YBR_RCT with the reversible colour transform again; every pixel outside
/// the boxes decodes as before.
#[test]
fn jpeg_2000_lossless_is_encoded_again_losslessly() {
    use dicom_deid::pixels::j2k_encode::{encode_lossless, J2K_LOSSLESS};
    let text = |o: &InMemDicomObject| o.get(Tag(0x0028, 0x0004)).unwrap().to_str().unwrap().trim().to_string();
    for (spp, bits, stored, signed, pi, seed) in [
        (1, 8, 8, false, "MONOCHROME2", 41),
        (1, 16, 12, true, "MONOCHROME2", 42),
        (1, 16, 16, false, "MONOCHROME1", 43),
        (3, 8, 8, false, "RGB", 44),
        (3, 8, 8, false, "YBR_RCT", 45),
    ] {
        let (w, h) = (37u16, 21u16);
        let s = Spec { frames: 2, ..spec(w, h, spp, bits, stored, signed, pi) };
        let n = w as usize * h as usize * spp as usize;
        let words = noise(n * 2, ((1u32 << stored) - 1) as u16, seed);
        let frames: Vec<Frame> = words
            .chunks(n)
            .map(|c| Frame { width: w as u32, height: h as u32, samples: spp, bits_allocated: bits, bits_stored: stored, signed, data: Samples::from_words(c.to_vec(), bits) })
            .collect();
        let input: Vec<Vec<u8>> = frames.iter().map(|f| encode_lossless(f, pi == "YBR_RCT").unwrap()).collect();
        let mut o = encapsulated(&s, input);
        let before = decode(&o, J2K_LOSSLESS).unwrap();
        // Compared as values: the decoder sign-extends signed samples beyond Bits Stored.
        let values = |fs: &[Frame]| -> Vec<i32> { fs.iter().flat_map(|f| (0..f.data.len()).map(|i| f.value(i))).collect() };
        assert_eq!(values(&before.frames), values(&frames), "{pi} {stored}-bit: the encoder is lossless");
        let rect = (3, 2, 20, 9);
        let opts = |keep_jpeg| CleanOptions { pad: 0, detect: false, rule_boxes: vec![rect], frames: FrameStrategy::Every, rle: false, keep_jpeg };
        assert_eq!(clean(&mut o.clone(), J2K_LOSSLESS, None, &opts(false)).unwrap().transfer_syntax, EVLE);
        let report = clean(&mut o, J2K_LOSSLESS, None, &opts(true)).unwrap();
        assert_eq!((report.transfer_syntax.as_str(), report.photometric.as_str(), text(&o).as_str()), (J2K_LOSSLESS, pi, pi));
        let mut expected = before.clone();
        for f in &mut expected.frames {
            mask_frame(f, &[PixelBox { x0: rect.0, y0: rect.1, x1: rect.2, y1: rect.3 }], &fill_value(&before.info));
        }
        assert_eq!(values(&decode(&o, J2K_LOSSLESS).unwrap().frames), values(&expected.frames), "{pi} {stored}-bit");
    }
}

#[test]
fn undecodable_pixel_data_fails_closed_with_a_reason() {
    let s = spec(8, 8, 1, 16, 16, false, "MONOCHROME2");
    let mut o = encapsulated(&s, vec![vec![0xFF, 0xD8, 0xFF, 0xF7, 0, 0]]);
    let before = o.clone();
    // A JPEG-LS stream that is not one (SOF55 with nothing after it).
    let e = clean(&mut o, "1.2.840.10008.1.2.4.80", None, &CleanOptions { detect: false, ..Default::default() }).unwrap_err();
    assert!(matches!(e, PixelError::Decode(_)), "{e}");
    assert!(e.to_string().contains("frame 1: JPEG-LS"), "{e}");
    assert_eq!(format!("{o:?}"), format!("{before:?}"), "object changed on error");
    let e = decode(&o, "1.2.840.10008.1.2.4.81").unwrap_err();
    assert!(e.reason().contains("JPEG-LS"), "{e}");
    // An encoding with no decoder in this build.
    let e = decode(&o, "1.2.840.10008.1.2.4.100").unwrap_err();
    assert!(matches!(e, PixelError::Unsupported(_)), "{e}");
    let e = decode(&o, "1.2.3.4.5").unwrap_err();
    assert!(e.reason().contains("unknown transfer syntax"), "{e}");
    // 32 bits allocated
    let mut o = header(&spec(2, 2, 1, 32, 32, false, "MONOCHROME2"));
    o.put(DataElement::new(Tag(0x7FE0, 0x0010), VR::OB, PrimitiveValue::U8(vec![0u8; 16].into())));
    assert!(matches!(decode(&o, EVLE), Err(PixelError::Unsupported(_))));
    // short pixel data
    let mut o = header(&spec(8, 8, 1, 16, 16, false, "MONOCHROME2"));
    o.put(DataElement::new(Tag(0x7FE0, 0x0010), VR::OW, PrimitiveValue::U16(vec![0u16; 10].into())));
    assert!(matches!(decode(&o, EVLE), Err(PixelError::Malformed(_))));
    // corrupt RLE
    let o = encapsulated(&spec(8, 8, 1, 8, 8, false, "MONOCHROME2"), vec![vec![1, 2, 3]]);
    assert!(matches!(decode(&o, "1.2.840.10008.1.2.5"), Err(PixelError::Decode(_))));
    // detection asked for without a model
    let mut o = native(&spec(4, 4, 1, 8, 8, false, "MONOCHROME2"), &[0; 16]);
    assert!(matches!(clean(&mut o, EVLE, None, &CleanOptions::default()), Err(PixelError::Detector(_))));
}

// ---------------------------------------------------------------------------------------
// The detector on rendered text (needs target/model/det.onnx).

/// 5x7 glyphs, one row per string, '#' = ink.
fn glyph(c: char) -> [&'static str; 7] {
    match c {
        '0' => [" ### ", "#   #", "#  ##", "# # #", "##  #", "#   #", " ### "],
        '1' => ["  #  ", " ##  ", "  #  ", "  #  ", "  #  ", "  #  ", " ### "],
        '2' => [" ### ", "#   #", "    #", "   # ", "  #  ", " #   ", "#####"],
        '3' => ["#####", "   # ", "  #  ", "   # ", "    #", "#   #", " ### "],
        '4' => ["   # ", "  ## ", " # # ", "#  # ", "#####", "   # ", "   # "],
        '5' => ["#####", "#    ", "#### ", "    #", "    #", "#   #", " ### "],
        '6' => ["  ## ", " #   ", "#    ", "#### ", "#   #", "#   #", " ### "],
        '7' => ["#####", "    #", "   # ", "  #  ", " #   ", " #   ", " #   "],
        '8' => [" ### ", "#   #", "#   #", " ### ", "#   #", "#   #", " ### "],
        '9' => [" ### ", "#   #", "#   #", " ####", "    #", "   # ", " ##  "],
        'D' => ["#### ", "#   #", "#   #", "#   #", "#   #", "#   #", "#### "],
        'O' => [" ### ", "#   #", "#   #", "#   #", "#   #", "#   #", " ### "],
        'B' => ["#### ", "#   #", "#   #", "#### ", "#   #", "#   #", "#### "],
        'M' => ["#   #", "## ##", "# # #", "# # #", "#   #", "#   #", "#   #"],
        'R' => ["#### ", "#   #", "#   #", "#### ", "# #  ", "#  # ", "#   #"],
        'N' => ["#   #", "##  #", "# # #", "#  ##", "#   #", "#   #", "#   #"],
        'E' => ["#####", "#    ", "#    ", "#### ", "#    ", "#    ", "#####"],
        'S' => [" ####", "#    ", "#    ", " ### ", "    #", "    #", "#### "],
        'T' => ["#####", "  #  ", "  #  ", "  #  ", "  #  ", "  #  ", "  #  "],
        'A' => [" ### ", "#   #", "#   #", "#####", "#   #", "#   #", "#   #"],
        'H' => ["#   #", "#   #", "#   #", "#####", "#   #", "#   #", "#   #"],
        'I' => [" ### ", "  #  ", "  #  ", "  #  ", "  #  ", "  #  ", " ### "],
        'L' => ["#    ", "#    ", "#    ", "#    ", "#    ", "#    ", "#####"],
        '/' => ["    #", "    #", "   # ", "  #  ", " #   ", "#    ", "#    "],
        ':' => ["     ", "  #  ", "  #  ", "     ", "  #  ", "  #  ", "     "],
        _ => ["     "; 7],
    }
}

/// Draw `text` at (x, y) with `scale`-pixel dots into a mono frame; returns its box.
fn draw_text(frame: &mut [u16], w: usize, x: usize, y: usize, scale: usize, text: &str, value: u16) -> PixelBox {
    assert!(x + text.len() * 6 * scale <= w, "text runs past the right edge");
    for (i, c) in text.chars().enumerate() {
        for (r, row) in glyph(c).iter().enumerate() {
            for (k, ch) in row.chars().enumerate() {
                if ch == '#' {
                    for dy in 0..scale {
                        for dx in 0..scale {
                            frame[(y + r * scale + dy) * w + x + (i * 6 + k) * scale + dx] = value;
                        }
                    }
                }
            }
        }
    }
    PixelBox { x0: x as u32, y0: y as u32, x1: (x + (text.len() * 6 - 1) * scale) as u32, y1: (y + 7 * scale) as u32 }
}

/// The model built into this test binary; a build without it fails these tests.
fn model() -> &'static [u8] {
    dicom_deid::embedded_model().expect("no text detection model built in: run tools/fetch-model.sh, then rebuild")
}

fn detector() -> &'static Detector {
    static DET: OnceLock<Detector> = OnceLock::new();
    DET.get_or_init(|| Detector::from_bytes(model(), DetectOptions::default()).expect("model loads"))
}

/// A smooth "anatomy" background with some texture.
fn background(w: usize, h: usize, seed: u32) -> Vec<u16> {
    let n = noise(w * h, 0x3F, seed);
    (0..w * h)
        .map(|i| {
            let (x, y) = ((i % w) as f64, (i / w) as f64);
            let r = ((x - w as f64 / 2.0).powi(2) + (y - h as f64 / 2.0).powi(2)).sqrt();
            let v = if r < h as f64 / 3.0 { 900.0 - r * 2.0 } else { 100.0 };
            (v as u16) + n[i]
        })
        .collect()
}

/// Every `ink` pixel inside `t` lies in one of the boxes (words may get separate boxes).
fn ink_covered(f: &[u16], w: usize, t: &PixelBox, ink: u16, boxes: &[pixels::MaskedBox]) -> bool {
    let mut n = 0;
    for y in t.y0..t.y1 {
        for x in t.x0..t.x1 {
            if f[y as usize * w + x as usize] == ink {
                n += 1;
                if !boxes.iter().any(|b| b.x0 <= x && x < b.x1 && b.y0 <= y && y < b.y1) {
                    return false;
                }
            }
        }
    }
    n > 0
}

fn all_ink_masked(before: &[u16], after: &[u16], ink: u16) -> (usize, usize) {
    let total = before.iter().filter(|v| **v == ink).count();
    let left = before.iter().zip(after).filter(|(a, b)| **a == ink && **b == ink).count();
    (total, left)
}

#[test]
fn detector_masks_rendered_text_single_frame() {
    let det = detector();
    let (w, h) = (320usize, 240usize);
    let mut f = background(w, h, 30);
    let t1 = draw_text(&mut f, w, 4, 4, 2, "DOE JOHN", 4000);
    let t2 = draw_text(&mut f, w, 4, 220, 2, "MRN 12345678", 4000);
    let t3 = draw_text(&mut f, w, 150, 4, 2, "DOB 01/02/1960", 4000);
    let s = spec(w as u16, h as u16, 1, 16, 12, false, "MONOCHROME2");
    let mut obj = native(&s, &f);
    let r = clean(&mut obj, EVLE, Some(det), &CleanOptions::default()).unwrap();
    let after = decode(&obj, EVLE).unwrap();
    let (total, left) = all_ink_masked(&f, &after.frames[0].data.to_words(), 4000);
    assert!(total > 500);
    assert_eq!(left, 0, "text pixels left unmasked; boxes {:?}", r.boxes);
    for t in [t1, t2, t3] {
        assert!(ink_covered(&f, w, &t, 4000, &r.boxes), "{t:?} not covered by {:?}", r.boxes);
    }
    // the centre of the image is not masked
    let c = (h / 2) * w + w / 2;
    assert_eq!(after.frames[0].data.to_words()[c], f[c]);
    assert!(r.boxes.iter().all(|b| b.source == BoxSource::Detector && b.score >= 0.6));
}

#[test]
fn detector_masks_changing_text_on_every_frame() {
    let det = detector();
    let (w, h, n) = (256usize, 192usize, 6usize);
    let base = background(w, h, 31);
    let mut words = Vec::new();
    let mut inks = Vec::new();
    for i in 0..n {
        let mut f = base.clone();
        draw_text(&mut f, w, 4, 4, 2, "SMITH ANNA", 4000);
        // a frame counter / clock that changes every other frame
        draw_text(&mut f, w, 150, 170, 2, &format!("T 10:0{}", i / 2), 4000);
        // moving "anatomy" on the last two frames only
        if i >= n - 2 {
            for y in 80..120 {
                for x in 100 + i * 3..140 + i * 3 {
                    f[y * w + x] = 2000;
                }
            }
        }
        inks.push(f.clone());
        words.extend(f);
    }
    let mut s = spec(w as u16, h as u16, 1, 16, 12, false, "MONOCHROME2");
    s.frames = n as u32;
    for strategy in [FrameStrategy::Every, FrameStrategy::ReuseUnchanged, FrameStrategy::Sampled { every: 4 }] {
        let mut obj = native(&s, &words);
        let opts = CleanOptions { frames: strategy, ..Default::default() };
        let r = clean(&mut obj, EVLE, Some(det), &opts).unwrap();
        let after = decode(&obj, EVLE).unwrap();
        for (i, f) in inks.iter().enumerate() {
            let (total, left) = all_ink_masked(f, &after.frames[i].data.to_words(), 4000);
            assert!(total > 100);
            assert_eq!(left, 0, "{strategy:?}: frame {i}: {left} text pixels left");
        }
        match strategy {
            FrameStrategy::Every => assert_eq!(r.frames_detected, n as u32),
            // frames 1, 3 equal their predecessor outside the boxes (the counter changes
            // inside a box only at 2 and 4, which are detected afresh if the box does not
            // cover the new digit) - at least frame 1 must be reused, and the two moving
            // frames must be detected.
            FrameStrategy::ReuseUnchanged => {
                assert!(r.frames_detected < n as u32 && r.frames_detected >= 3, "detected {}", r.frames_detected);
                assert!(r.boxes.iter().any(|b| b.source == BoxSource::DetectorReused));
            }
            // frames 0, 4, 5 and the static image
            FrameStrategy::Sampled { .. } => assert_eq!(r.frames_detected, 4),
        }
    }
}

#[test]
fn detector_on_rgb_and_monochrome1() {
    let det = detector();
    let (w, h) = (320usize, 240usize);
    // MONOCHROME1: text is dark (low values display white... here ink = 0 = white)
    let mut f: Vec<u16> = background(w, h, 32).iter().map(|v| 1023 - (*v).min(1023)).collect();
    draw_text(&mut f, w, 6, 6, 2, "HOSPITAL 42", 0);
    let s = spec(w as u16, h as u16, 1, 16, 10, false, "MONOCHROME1");
    let obj = native(&s, &f);
    let img = decode(&obj, EVLE).unwrap();
    let boxes = pixels::find_boxes(&img, Some(det), &CleanOptions::default()).unwrap().0;
    let t = PixelBox { x0: 6, y0: 6, x1: 6 + 65 * 2, y1: 6 + 14 };
    assert!(ink_covered(&f, w, &t, 0, &boxes), "{t:?} not covered by {boxes:?}");
    // RGB, yellow text
    let mono = background(w, h, 33);
    let mut g = mono.clone();
    let t = draw_text(&mut g, w, 10, 200, 2, "ANNA 1999", 9999);
    let rgb: Vec<u16> = g.iter().flat_map(|v| if *v == 9999 { [255, 255, 0] } else { let x = (*v >> 2).min(255); [x, x, x] }).collect();
    let obj = native(&spec(w as u16, h as u16, 3, 8, 8, false, "RGB"), &rgb);
    let img = decode(&obj, EVLE).unwrap();
    let boxes = pixels::find_boxes(&img, Some(det), &CleanOptions::default()).unwrap().0;
    assert!(ink_covered(&g, w, &t, 9999, &boxes), "{t:?} not covered by {boxes:?}");
}

// ---- The engine's pixel step (Deidentifier::deidentify) ----

mod common;
use dicom_deid::policy::pixels::{PixelMode, PixelOutput, RegionRule};
use dicom_deid::{Deidentifier, ErrorKind, Policy};

/// A complete CT file of the fixture patient whose 320x240 pixels carry `text` burned in
/// (ink 4000) at (4, 4); `burned_in` sets Burned In Annotation.
fn burned_file(text: &str, frames: u32, burned_in: Option<&str>, ts: &str) -> (Vec<u8>, Vec<u16>) {
    let (w, h) = (320usize, 240usize);
    let mut f = background(w, h, 40);
    if !text.is_empty() {
        draw_text(&mut f, w, 4, 4, 2, text, 4000);
    }
    let mut s = spec(w as u16, h as u16, 1, 16, 12, false, "MONOCHROME2");
    s.frames = frames;
    let words: Vec<u16> = (0..frames).flat_map(|_| f.iter().copied()).collect();
    let mut obj = common::dataset(&common::EN_PATIENT, &common::STUDY_A, 1, None);
    for e in native(&s, &words) {
        obj.put(e);
    }
    if let Some(b) = burned_in {
        obj.put(DataElement::new(Tag(0x0028, 0x0301), VR::CS, PrimitiveValue::from(b)));
    }
    let file = obj.with_meta(dicom_object::meta::FileMetaTableBuilder::new().transfer_syntax(ts)).unwrap();
    let mut out = Vec::new();
    file.write_all(&mut out).unwrap();
    (out, f)
}

fn policy(mode: PixelMode) -> Policy {
    let mut p = Policy::default();
    p.pixels.mode = mode;
    p
}

fn code_values(obj: &InMemDicomObject) -> Vec<String> {
    let seq = obj.get(Tag(0x0012, 0x0064)).expect("code sequence");
    seq.items().unwrap().iter().map(|i| common::text(i, 0x0008, 0x0100).unwrap()).collect()
}

#[test]
fn engine_masks_burned_in_text_and_says_so() {
    let (input, ink) = burned_file("SMITH JOHN 1961", 1, Some("YES"), "1.2.840.10008.1.2");
    let deid = Deidentifier::new(Policy::default(), Some(b"k".as_slice())).unwrap().load_model(model()).unwrap();
    let out = deid.deidentify(&input).unwrap();
    let px = out.report.pixels.as_ref().expect("pixel report");
    assert!(!px.boxes.is_empty() && px.frames == 1 && px.frames_detected == 1);
    assert_eq!(out.report.transfer_syntax, EVLE);
    let file = common::parse(&out.bytes);
    assert_eq!(file.meta().transfer_syntax().trim_end_matches('\0'), EVLE);
    assert_eq!(common::text(&file, 0x0028, 0x0301).as_deref(), Some("NO"));
    assert!(code_values(&file).contains(&"113101".to_string()), "Clean Pixel Data code");
    let after = decode(&file, EVLE).unwrap();
    let (total, left) = all_ink_masked(&ink, &after.frames[0].data.to_words(), 4000);
    assert!(total > 300 && left == 0, "{left} of {total} text pixels left");
    // Outside the reported boxes every pixel is as it was.
    for (i, (a, b)) in ink.iter().zip(&after.frames[0].data.to_words()).enumerate() {
        let (x, y) = ((i % 320) as u32, (i / 320) as u32);
        if !px.boxes.iter().any(|bx| bx.x0 <= x && x < bx.x1 && bx.y0 <= y && y < bx.y1) {
            assert_eq!(a, b, "pixel {x},{y} changed outside the boxes");
        }
    }
}

#[test]
fn engine_clip_detected_in_parts_is_cleaned_as_in_one_run() {
    // 30 frames sampled every 12: frames 0, 12, 24, 29 and the static image = 5 jobs.
    let (input, ink) = burned_file("SMITH JOHN 1961", 30, None, EVLE);
    let deid = Deidentifier::new(Policy::default(), Some(b"k".as_slice())).unwrap().load_model(model()).unwrap();
    assert_eq!(deid.detection_jobs(&input).unwrap(), 5);
    // Worth sharing out: one part per free thread and this one, at most one per job.
    assert_eq!([0, 1, 2, 9].map(|h| deid.detection_parts(&input, h).unwrap()), [1, 2, 3, 5]);
    let alone = deid.deidentify(&input).unwrap();
    let shares: Vec<_> = (0..3).map(|part| deid.detect_part(&input, part, 3).unwrap()).collect();
    let jobs: Vec<u32> = shares.iter().flat_map(|s| s.results.iter().map(|r| r.0)).collect();
    assert_eq!(jobs, [0, 3, 1, 4, 2], "every job in exactly one part");
    let shared = deid.deidentify_owned_with(input.clone(), &shares).unwrap();
    assert_eq!(shared.bytes, alone.bytes, "the same output as one run");
    let px = shared.report.pixels.as_ref().unwrap();
    assert_eq!((px.frames_detected, px.detections_shared), (5, 5), "every run taken from the shares");
    assert_eq!(alone.report.pixels.as_ref().unwrap().detections_shared, 0);
    let after = decode(&common::parse(&shared.bytes), EVLE).unwrap();
    for f in &after.frames {
        assert_eq!(all_ink_masked(&ink, &f.data.to_words(), 4000).1, 0, "text left on a frame");
    }

    // A share's boxes are used (a box no detector found shows up on every frame)...
    let mut marked = shares.clone();
    marked[0].results[0].1.push((300, 200, 310, 210, 0.99));
    let out = deid.deidentify_owned_with(input.clone(), &marked).unwrap();
    let has_mark = |r: &dicom_deid::FileReport| r.pixels.as_ref().unwrap().boxes.iter().filter(|b| (b.x0, b.y0) == (300, 200)).count();
    assert_eq!(has_mark(&out.report), 30, "the share's box on every frame");
    // ... but never for other pixels, another job count or a box no detector makes: those
    // jobs are detected here.
    let mut other = marked.clone();
    other[0].fingerprint = format!("{}0", &other[0].fingerprint[1..]);
    let mut miscounted = marked.clone();
    miscounted[0].jobs = 4;
    let mut malformed = marked.clone();
    malformed[0].results[0].1.push((20, 20, 10, 30, 0.9));
    for wrong in [other, miscounted, malformed] {
        let out = deid.deidentify_owned_with(input.clone(), &wrong).unwrap();
        assert_eq!(has_mark(&out.report), 0, "a share of another image was used");
        assert_eq!(out.report.pixels.as_ref().unwrap().detections_shared, 3, "parts 1 and 2 only");
        assert_eq!(out.bytes, alone.bytes);
    }
    let (changed, _) = burned_file("SMITH JOHN 1962", 30, None, EVLE);
    let out = deid.deidentify_owned_with(changed, &marked).unwrap();
    assert_eq!(has_mark(&out.report), 0, "a share of other pixels was used");

    // One frame, pixels off, rules only: nothing to share out.
    let (single, _) = burned_file("SMITH JOHN 1961", 1, None, EVLE);
    assert_eq!(deid.detection_jobs(&single).unwrap(), 1);
    assert_eq!(deid.detection_parts(&single, 3).unwrap(), 1, "fewer jobs than MIN_JOBS_TO_SHARE");
    for mode in [PixelMode::Off, PixelMode::Rules] {
        let d = Deidentifier::new(policy(mode), Some(b"k".as_slice())).unwrap();
        assert_eq!(d.detection_jobs(&input).unwrap(), 0, "{mode:?}");
        assert_eq!(d.detection_parts(&input, 3).unwrap(), 1, "{mode:?}");
        assert_eq!(d.detect_part(&input, 0, 2).unwrap(), Default::default(), "{mode:?}");
    }
}

#[test]
fn a_clip_parsed_once_is_shared_out_and_cleaned_as_from_bytes() {
    let (input, _) = burned_file("SMITH JOHN 1961", 30, None, EVLE);
    let deid = Deidentifier::new(Policy::default(), Some(b"k".as_slice())).unwrap().load_model(model()).unwrap();
    let from_bytes = deid.deidentify(&input).unwrap();
    let file = deid.parse_file(input.clone()).unwrap();
    assert_eq!([0, 1, 2, 9].map(|h| deid.parts_of(&file, h).unwrap()), [1, 2, 3, 5], "as detection_parts");
    // The header alone says as much, before a large file is read; a cut header says nothing.
    let header = &input[..input.len() / 2];
    assert_eq!([0, 1, 2, 9].map(|h| deid.detection_parts_of_header(header, h).unwrap()), [1, 2, 3, 5]);
    let cut = deid.detection_parts_of_header(&input[..600], 1);
    assert!(cut.as_ref().map_or(true, |&p| p == 1), "a cut header does not ask for help: {cut:?}");
    let (single, _) = burned_file("SMITH JOHN 1961", 1, None, EVLE);
    assert_eq!(deid.detection_parts_of_header(&single, 3).unwrap(), 1, "one frame");
    // The helping threads read the same parse; each part as from the bytes.
    let shares: Vec<_> = std::thread::scope(|s| {
        let (deid, file) = (&deid, &file);
        let parts: Vec<_> = (0..3).map(|part| s.spawn(move || deid.detect_part_of(file, part, 3).unwrap())).collect();
        parts.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (part, share) in shares.iter().enumerate() {
        assert_eq!(share, &deid.detect_part(&input, part as u32, 3).unwrap(), "part {part}");
    }
    let out = deid.deidentify_parsed_file(file, &shares).unwrap();
    assert_eq!(out.bytes, from_bytes.bytes, "the same output as from the bytes");
    assert_eq!(out.report.pixels.as_ref().unwrap().detections_shared, 5);
    // A file the core cannot read fails at the parse, as deidentify does.
    let e = deid.parse_file(b"not dicom at all".to_vec()).err().unwrap();
    assert_eq!(e.kind, deid.deidentify(b"not dicom at all").unwrap_err().kind);
}

#[test]
fn the_detector_is_prepared_for_common_sizes_once_and_detects_as_before() {
    let (input, _) = burned_file("SMITH JOHN 1961", 1, None, EVLE);
    let sizes = dicom_deid::detect::COMMON_IMAGE_SIZES;
    let cold = Deidentifier::new(Policy::default(), Some(b"k".as_slice())).unwrap().load_model(model()).unwrap();
    let warm = Deidentifier::new(Policy::default(), Some(b"k".as_slice())).unwrap().load_model(model()).unwrap();
    let detector = warm.detector().unwrap();
    assert_eq!(warm.prepare_detector().unwrap() as usize, sizes.len(), "a plan for every common size");
    assert_eq!(detector.prepare(sizes).unwrap(), 0, "the plans are kept");
    assert_eq!(warm.prepare_detector().unwrap() as usize, sizes.len(), "still ready");
    assert_eq!(warm.deidentify(&input).unwrap().bytes, cold.deidentify(&input).unwrap().bytes);
    // Nothing to prepare without a model or when the policy does not detect.
    assert_eq!(Deidentifier::new(Policy::default(), None).unwrap().prepare_detector().unwrap(), 0);
    let rules = Deidentifier::new(policy(PixelMode::Rules), None).unwrap().load_model(model()).unwrap();
    assert_eq!(rules.prepare_detector().unwrap(), 0);
}

#[test]
fn a_new_deidentifier_takes_the_cached_detector_with_its_plans() {
    let (input, _) = burned_file("SMITH JOHN 1961", 1, None, EVLE);
    let cache = DetectorCache::new();
    let with = |p: Policy, secret: &[u8], onnx: &[u8]| {
        let mut d = Deidentifier::new(p, Some(secret)).unwrap();
        d.set_model_cached(onnx, &cache).map(|_| d)
    };
    let first = with(Policy::default(), b"one", model()).unwrap();
    first.prepare_detector().unwrap();
    // New settings (another passphrase), same model and detector settings: the same detector,
    // its plans already built, and the same output as a detector of its own.
    let second = with(Policy::default(), b"two", model()).unwrap();
    let shared = second.detector().unwrap();
    assert!(Arc::ptr_eq(first.detector().unwrap(), shared));
    assert_eq!(shared.prepare(dicom_deid::detect::COMMON_IMAGE_SIZES).unwrap(), 0, "planned by the first");
    let own = Deidentifier::new(Policy::default(), Some(b"two".as_slice())).unwrap().load_model(model()).unwrap();
    assert_eq!(second.deidentify(&input).unwrap().bytes, own.deidentify(&input).unwrap().bytes);
    // Other detector settings, or another model: another detector.
    let mut p = Policy::default();
    p.pixels.threshold = dicom_deid::policy::pixels::PixelPolicy::default().threshold + 0.05;
    let other = with(p, b"two", model()).unwrap();
    assert!(!Arc::ptr_eq(other.detector().unwrap(), shared), "other settings");
    let back = with(Policy::default(), b"two", model()).unwrap();
    assert!(!Arc::ptr_eq(back.detector().unwrap(), shared), "the cache holds the last one only");
    assert!(with(Policy::default(), b"two", &model()[..1000]).is_err(), "another (here: broken) model is loaded, not the cached one");
}

#[test]
fn engine_rules_mode_masks_matching_regions_only() {
    let (input, ink) = burned_file("", 2, None, EVLE);
    let mut p = policy(PixelMode::Rules);
    p.pixels.pad = 0;
    let rule = |manufacturer: &str, b: [u32; 4]| RegionRule {
        name: manufacturer.into(),
        modality: Some("ct".into()),
        manufacturer: Some(manufacturer.into()),
        model: None,
        rows: Some(240),
        columns: Some(320),
        boxes: vec![b],
    };
    p.pixels.regions = vec![rule("acme medical", [10, 20, 30, 25]), rule("Other Vendor", [0, 0, 320, 240])];
    let out = Deidentifier::new(p, None).unwrap().deidentify(&input).unwrap();
    let px = out.report.pixels.unwrap();
    assert_eq!(px.frames_detected, 0);
    let boxes: Vec<_> = px.boxes.iter().map(|b| (b.frame, b.x0, b.y0, b.x1, b.y1)).collect();
    assert_eq!(boxes, vec![(0, 10, 20, 30, 25), (1, 10, 20, 30, 25)]);
    let after = decode(&common::parse(&out.bytes), EVLE).unwrap();
    for f in &after.frames {
        for (i, (a, b)) in ink.iter().zip(&f.data.to_words()).enumerate() {
            let (x, y) = (i % 320, i / 320);
            let inside = (10..30).contains(&x) && (20..25).contains(&y);
            assert_eq!(*b, if inside { 0 } else { *a }, "pixel {x},{y}");
        }
    }
}

/// `pixels.output: rle`: the cleaned pixels are written as RLE Lossless, one fragment per
/// frame, in the RLE transfer syntax, and decode to exactly the native output's pixels.
#[test]
fn engine_writes_cleaned_pixels_as_rle_when_asked() {
    const RLE_LOSSLESS: &str = "1.2.840.10008.1.2.5";
    let (input, _) = burned_file("", 2, None, EVLE);
    let mut p = policy(PixelMode::Rules);
    p.pixels.regions = vec![RegionRule {
        name: "every CT".into(),
        modality: Some("CT".into()),
        manufacturer: None,
        model: None,
        rows: None,
        columns: None,
        boxes: vec![[10, 20, 30, 25]],
    }];
    let native_out = Deidentifier::new(p.clone(), Some(b"k".as_slice())).unwrap().deidentify(&input).unwrap();
    p.pixels.output = PixelOutput::Rle;
    let rle_out = Deidentifier::new(p, Some(b"k".as_slice())).unwrap().deidentify(&input).unwrap();
    assert_eq!(rle_out.report.transfer_syntax, RLE_LOSSLESS);
    assert_eq!(rle_out.report.pixels.as_ref().unwrap().transfer_syntax, RLE_LOSSLESS);
    let file = common::parse(&rle_out.bytes);
    assert_eq!(file.meta().transfer_syntax().trim_end_matches('\0'), RLE_LOSSLESS);
    assert_eq!(file.get(Tag(0x7FE0, 0x0010)).unwrap().value().fragments().map(|f| f.len()), Some(2), "one fragment per frame");
    let (native, rle) = (decode(&common::parse(&native_out.bytes), EVLE).unwrap(), decode(&file, RLE_LOSSLESS).unwrap());
    assert_eq!(native.frames, rle.frames);
}

#[test]
fn engine_pixels_off_keeps_pixels_but_withholds_declared_burned_in_text() {
    let (input, _) = burned_file("DOE", 1, Some("NO"), EVLE);
    let out = Deidentifier::new(policy(PixelMode::Off), None).unwrap().deidentify(&input).unwrap();
    assert!(out.report.pixels.is_none());
    let before = common::parse(&input);
    let after = common::parse(&out.bytes);
    assert_eq!(before.get(Tag(0x7FE0, 0x0010)).unwrap().to_bytes().unwrap(), after.get(Tag(0x7FE0, 0x0010)).unwrap().to_bytes().unwrap());
    assert!(!code_values(&after).contains(&"113101".to_string()), "no Clean Pixel Data claim");
    let (input, _) = burned_file("DOE", 1, Some("YES"), EVLE);
    let e = Deidentifier::new(policy(PixelMode::Off), None).unwrap().deidentify(&input).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Pixels);
    assert!(e.message.contains("Burned In Annotation"), "{}", e.message);
}

#[test]
fn engine_detect_without_a_model_withholds() {
    let (input, _) = burned_file("DOE", 1, None, EVLE);
    let e = Deidentifier::new(Policy::default(), None).unwrap().deidentify(&input).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Pixels);
    assert!(e.message.contains("no model"), "{}", e.message);
}

#[test]
fn engine_withholds_undecodable_pixels_with_the_reason() {
    // A JPEG baseline file whose fragment is cut short.
    let mut obj = common::with_pixels(common::dataset(&common::EN_PATIENT, &common::STUDY_A, 1, None), common::JPEG_BASELINE);
    let frags = dicom_core::value::PixelFragmentSequence::new(Vec::<u32>::new(), vec![common::tiny_jpeg()[..40].to_vec()]);
    obj.put(DataElement::new(Tag(0x7FE0, 0x0010), VR::OB, Value::PixelSequence(frags)));
    let file = obj.with_meta(dicom_object::meta::FileMetaTableBuilder::new().transfer_syntax(common::JPEG_BASELINE)).unwrap();
    let mut input = Vec::new();
    file.write_all(&mut input).unwrap();
    let e = Deidentifier::new(policy(PixelMode::Rules), None).unwrap().deidentify(&input).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Pixels);
    assert!(e.message.contains("file withheld"), "{}", e.message);
}

#[test]
fn engine_pixel_limits_withhold_before_decoding() {
    let (input, _) = burned_file("", 3, None, EVLE);
    let mut p = policy(PixelMode::Rules);
    p.pixels.max_frames = 2;
    let e = Deidentifier::new(p, None).unwrap().deidentify(&input).unwrap_err();
    assert!(e.kind == ErrorKind::Pixels && e.message.contains("max_frames"), "{}", e.message);
    let mut p = policy(PixelMode::Rules);
    p.pixels.max_decoded_bytes = 320 * 240 * 2 * 2;
    let e = Deidentifier::new(p, None).unwrap().deidentify(&input).unwrap_err();
    assert!(e.kind == ErrorKind::Pixels && e.message.contains("max_decoded_bytes"), "{}", e.message);
}

#[test]
fn pixel_policy_is_validated() {
    for bad in [r#"{"pixels": {"sample_every": 0}}"#, r#"{"pixels": {"threshold": 1.5}}"#, r#"{"pixels": {"mode": "maybe"}}"#,
                r#"{"pixels": {"regions": [{"boxes": [[5, 5, 5, 9]]}]}}"#] {
        assert!(Policy::from_json(bad).is_err(), "{bad}");
    }
    let p = Policy::from_json(r#"{"pixels": {"mode": "rules", "regions": [{"manufacturer": "X", "boxes": [[0, 0, 8, 8]]}]}}"#).unwrap();
    assert_eq!(p.pixels.mode, PixelMode::Rules);
}

/// 8-bit samples held as OW words (as the parser gives an 8-bit image whose Pixel Data is
/// OW, common for palette ultrasound): their little-endian bytes are the samples; 16-bit
/// samples held as bytes are read as little-endian words. Multi-frame, both ways.
#[test]
fn native_samples_in_either_storage_decode_the_same() {
    let s8 = Spec { frames: 2, ..spec(4, 2, 1, 8, 8, false, "MONOCHROME2") };
    let samples: Vec<u8> = (1..=16).collect();
    let mut o = header(&s8);
    let words: Vec<u16> = samples.chunks(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
    o.put(DataElement::new(Tag(0x7FE0, 0x0010), VR::OW, PrimitiveValue::U16(words.into())));
    let img = decode(&o, EVLE).expect("8-bit in OW");
    assert_eq!(img.frames[0].data.to_words(), (1..=8).collect::<Vec<u16>>());
    assert_eq!(img.frames[1].data.to_words(), (9..=16).collect::<Vec<u16>>());

    let s16 = Spec { frames: 2, ..spec(2, 2, 1, 16, 12, false, "MONOCHROME2") };
    let values: Vec<u16> = (0..8).map(|v| v * 300 + 7).collect();
    let mut o = header(&s16);
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    o.put(DataElement::new(Tag(0x7FE0, 0x0010), VR::OW, PrimitiveValue::U8(bytes.into())));
    let img = decode(&o, EVLE).expect("16-bit as bytes");
    assert_eq!(img.frames[0].data.to_words(), values[..4]);
    assert_eq!(img.frames[1].data.to_words(), values[4..]);
}
