//! Decode every frame of a data set's Pixel Data to [`Frame`]s: raw stored words (so that
//! unmasked pixels are written back bit-exact), samples interleaved.
//!
//! Native data (any byte order the parser already handled, planar 0 or 1, 1 to 16 bits
//! allocated, YBR_FULL_422 expanded to YBR_FULL) is read directly; encapsulated data goes
//! through our own RLE decoder ([`super::rle`]), JPEG-LS and 12-bit JPEG decoders, or the
//! codecs registered in dicom-transfer-syntax-registry for this build (JPEG
//! baseline/extended/lossless, JPEG 2000 through openjp2). Whatever has no decoder
//! fails with [`PixelError::Unsupported`] and a reason naming the encoding.

use super::PixelError;
use dicom_core::value::{PrimitiveValue, Value};
use dicom_core::Tag;
use dicom_encoding::adapters::{PixelDataObject, RawPixelData};
use dicom_encoding::transfer_syntax::Codec;
use dicom_encoding::TransferSyntaxIndex;
use dicom_object::mem::InMemDicomObject;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;
use smallvec::SmallVec;
use std::borrow::Cow;

pub(crate) const ROWS: Tag = Tag(0x0028, 0x0010);
pub(crate) const COLUMNS: Tag = Tag(0x0028, 0x0011);
pub(crate) const SAMPLES_PER_PIXEL: Tag = Tag(0x0028, 0x0002);
pub(crate) const PHOTOMETRIC: Tag = Tag(0x0028, 0x0004);
pub(crate) const PLANAR: Tag = Tag(0x0028, 0x0006);
pub(crate) const NUMBER_OF_FRAMES: Tag = Tag(0x0028, 0x0008);
pub(crate) const BITS_ALLOCATED: Tag = Tag(0x0028, 0x0100);
pub(crate) const BITS_STORED: Tag = Tag(0x0028, 0x0101);
pub(crate) const PIXEL_REPRESENTATION: Tag = Tag(0x0028, 0x0103);
pub(crate) const PIXEL_DATA: Tag = Tag(0x7FE0, 0x0010);
const WINDOW_CENTER: Tag = Tag(0x0028, 0x1050);
const WINDOW_WIDTH: Tag = Tag(0x0028, 0x1051);
const RESCALE_INTERCEPT: Tag = Tag(0x0028, 0x1052);
const RESCALE_SLOPE: Tag = Tag(0x0028, 0x1053);
const VOI_LUT_SEQUENCE: Tag = Tag(0x0028, 0x3010);
const LUT_DESCRIPTOR: Tag = Tag(0x0028, 0x3002);
const LUT_DATA: Tag = Tag(0x0028, 0x3006);
const PALETTE_DESCRIPTORS: [Tag; 3] = [Tag(0x0028, 0x1101), Tag(0x0028, 0x1102), Tag(0x0028, 0x1103)];
const PALETTE_DATA: [Tag; 3] = [Tag(0x0028, 0x1201), Tag(0x0028, 0x1202), Tag(0x0028, 0x1203)];
const SEGMENTED_PALETTE_DATA: [Tag; 3] = [Tag(0x0028, 0x1221), Tag(0x0028, 0x1222), Tag(0x0028, 0x1223)];

/// Photometric interpretation of the decoded frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Photometric {
    Monochrome1,
    Monochrome2,
    PaletteColor,
    Rgb,
    /// YBR_FULL (YBR_FULL_422 native data is expanded to this).
    YbrFull,
}

impl Photometric {
    pub fn as_str(&self) -> &'static str {
        match self {
            Photometric::Monochrome1 => "MONOCHROME1",
            Photometric::Monochrome2 => "MONOCHROME2",
            Photometric::PaletteColor => "PALETTE COLOR",
            Photometric::Rgb => "RGB",
            Photometric::YbrFull => "YBR_FULL",
        }
    }
}

/// One frame: `width * height * samples` raw stored words, samples interleaved (R G B R G B
/// ...). Bits above Bits Stored are kept as they were (they are written back unchanged);
/// [`Frame::value`] gives the sample's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub width: u32,
    pub height: u32,
    pub samples: u16,
    /// 1, 8 or 16.
    pub bits_allocated: u16,
    pub bits_stored: u16,
    /// Pixel Representation 1 (two's complement in `bits_stored` bits).
    pub signed: bool,
    pub data: Samples,
}

impl Frame {
    /// The value of stored word `i`: masked to Bits Stored, sign-extended when signed
    /// (High Bit is taken as Bits Stored - 1).
    #[inline]
    pub fn value(&self, i: usize) -> i32 {
        word_value(self.data.get(i), self.bits_stored, self.signed)
    }
}

/// The stored samples of a frame: a byte each when Bits Allocated is 1 or 8, a word each
/// when 16, so that a decoded 8-bit clip takes no more memory than its Pixel Data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Samples {
    U8(Vec<u8>),
    U16(Vec<u16>),
}

impl Samples {
    /// Words narrowed to bytes when `bits_allocated` is 8 or less.
    pub fn from_words(words: Vec<u16>, bits_allocated: u16) -> Samples {
        if bits_allocated <= 8 {
            Samples::U8(words.into_iter().map(|w| w as u8).collect())
        } else {
            Samples::U16(words)
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Samples::U8(v) => v.len(),
            Samples::U16(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    #[inline]
    pub fn get(&self, i: usize) -> u16 {
        match self {
            Samples::U8(v) => v[i] as u16,
            Samples::U16(v) => v[i],
        }
    }

    /// A copy as words.
    pub fn to_words(&self) -> Vec<u16> {
        match self {
            Samples::U8(v) => v.iter().map(|b| *b as u16).collect(),
            Samples::U16(v) => v.clone(),
        }
    }

    /// Set samples `start..end` pixel by pixel to `fill` (one word per sample, repeated).
    pub fn fill(&mut self, start: usize, end: usize, fill: &[u16], samples: usize) {
        match self {
            Samples::U8(v) => {
                for px in v[start..end].chunks_exact_mut(samples) {
                    px.iter_mut().zip(fill.iter().cycle()).for_each(|(d, f)| *d = *f as u8);
                }
            }
            Samples::U16(v) => {
                for px in v[start..end].chunks_exact_mut(samples) {
                    px.iter_mut().zip(fill.iter().cycle()).for_each(|(d, f)| *d = *f);
                }
            }
        }
    }

    /// OR into `differs` the bits in which each sample differs from `other`'s; false (and
    /// nothing marked) if the two are not of the same type and length as `differs`.
    pub fn mark_differences(&self, other: &Samples, differs: &mut [u16]) -> bool {
        match (self, other) {
            (Samples::U8(a), Samples::U8(b)) if a.len() == differs.len() && b.len() == differs.len() => {
                differs.iter_mut().zip(a.iter().zip(b)).for_each(|(d, (x, y))| *d |= (x ^ y) as u16);
                true
            }
            (Samples::U16(a), Samples::U16(b)) if a.len() == differs.len() && b.len() == differs.len() => {
                differs.iter_mut().zip(a.iter().zip(b)).for_each(|(d, (x, y))| *d |= x ^ y);
                true
            }
            _ => false,
        }
    }

    /// True if samples `start..end` exist in both and are equal.
    #[inline]
    pub fn same(&self, other: &Samples, start: usize, end: usize) -> bool {
        match (self, other) {
            (Samples::U8(a), Samples::U8(b)) => a.get(start..end).is_some_and(|x| Some(x) == b.get(start..end)),
            (Samples::U16(a), Samples::U16(b)) => a.get(start..end).is_some_and(|x| Some(x) == b.get(start..end)),
            _ => false,
        }
    }
}

#[inline]
pub(crate) fn word_value(w: u16, bits_stored: u16, signed: bool) -> i32 {
    let bits = bits_stored.clamp(1, 16) as u32;
    let v = (w as u32) & ((1u32 << bits) - 1);
    if signed && v & (1 << (bits - 1)) != 0 {
        v as i32 - (1i32 << bits)
    } else {
        v as i32
    }
}

/// A palette: RGB (8-bit) per index from `first`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Palette {
    pub first: i32,
    pub rgb: Vec<[u8; 3]>,
}

impl Palette {
    pub fn lookup(&self, v: i32) -> [u8; 3] {
        let i = (v - self.first).clamp(0, self.rgb.len() as i32 - 1) as usize;
        self.rgb[i]
    }
}

/// A VOI LUT from the header: `first` mapped value, output bits, table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoiLut {
    pub first: i32,
    pub bits: u16,
    pub data: Vec<u16>,
}

/// What the frames mean (for display) and how they were stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageInfo {
    pub photometric: Photometric,
    /// The Photometric Interpretation in the header, as read.
    pub original_photometric: String,
    /// (center, width) of the first window in the header.
    pub window: Option<(f64, f64)>,
    /// (slope, intercept).
    pub rescale: (f64, f64),
    pub voi_lut: Option<VoiLut>,
    pub palette: Option<Palette>,
    pub was_encapsulated: bool,
    pub transfer_syntax: String,
}

impl ImageInfo {
    /// Native YBR_FULL_422 (each pair of pixels shares its Cb and Cr): written back as such
    /// unless re-encoded, so the mask covers whole pairs.
    pub fn native_422(&self) -> bool {
        !self.was_encapsulated && self.original_photometric == "YBR_FULL_422"
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct DecodedImage {
    pub info: ImageInfo,
    pub frames: Vec<Frame>,
}

fn malformed(s: impl Into<String>) -> PixelError {
    PixelError::Malformed(s.into())
}

fn get_int(obj: &InMemDicomObject, tag: Tag) -> Option<i64> {
    obj.get(tag).and_then(|e| e.to_int::<i64>().ok())
}

fn get_str(obj: &InMemDicomObject, tag: Tag) -> Option<String> {
    obj.get(tag).and_then(|e| e.to_str().ok()).map(|s| s.trim_matches(|c: char| c == '\0' || c.is_whitespace()).to_string())
}

fn get_f64s(obj: &InMemDicomObject, tag: Tag) -> Vec<f64> {
    obj.get(tag).and_then(|e| e.to_multi_float64().ok()).unwrap_or_default()
}

/// Words of an OW/US/SS element, whichever way the parser stored them.
fn words(value: &PrimitiveValue) -> Vec<u16> {
    match value {
        PrimitiveValue::U16(v) => v.to_vec(),
        PrimitiveValue::I16(v) => v.iter().map(|x| *x as u16).collect(),
        PrimitiveValue::U8(v) => v.chunks(2).map(|c| u16::from_le_bytes([c[0], *c.get(1).unwrap_or(&0)])).collect(),
        other => other.to_bytes().chunks(2).map(|c| u16::from_le_bytes([c[0], *c.get(1).unwrap_or(&0)])).collect(),
    }
}

fn element_words(obj: &InMemDicomObject, tag: Tag) -> Option<Vec<u16>> {
    match obj.get(tag)?.value() {
        Value::Primitive(p) => Some(words(p)),
        _ => None,
    }
}

/// LUT descriptor: (entries, first mapped value, bits), per PS3.3 C.7.6.3.1.5 / C.11.1.1.
fn lut_descriptor(obj: &InMemDicomObject, tag: Tag, pixel_signed: bool) -> Option<(usize, i32, u16)> {
    let w = element_words(obj, tag).or_else(|| {
        obj.get(tag)?.to_multi_int::<i64>().ok().map(|v| v.into_iter().map(|x| x as u16).collect())
    })?;
    if w.len() < 3 {
        return None;
    }
    let n = if w[0] == 0 { 65536 } else { w[0] as usize };
    let first = if pixel_signed { w[1] as i16 as i32 } else { w[1] as i32 };
    Some((n, first, w[2]))
}

fn read_palette(obj: &InMemDicomObject, signed: bool) -> Option<Palette> {
    let mut chans: Vec<Vec<u8>> = Vec::new();
    let mut first = 0;
    let mut n = 0;
    for c in 0..3 {
        let (entries, f, bits) = lut_descriptor(obj, PALETTE_DESCRIPTORS[c], signed)?;
        let data = match element_words(obj, PALETTE_DATA[c]) {
            Some(d) => d,
            // A segmented table must expand to exactly the described number of entries;
            // anything else is unreadable (and the file withheld), never guessed at.
            None => expand_segmented_lut(&element_words(obj, SEGMENTED_PALETTE_DATA[c])?, entries).filter(|d| d.len() == entries)?,
        };
        let vals: Vec<u8> = if bits == 8 && data.len() * 2 >= entries && data.len() < entries {
            // 8-bit entries packed two per word.
            data.iter().flat_map(|w| [(*w & 0xff) as u8, (*w >> 8) as u8]).take(entries).collect()
        } else if bits == 8 {
            data.iter().take(entries).map(|w| (*w & 0xff) as u8).collect()
        } else {
            data.iter().take(entries).map(|w| (*w >> 8) as u8).collect()
        };
        first = f;
        n = vals.len();
        chans.push(vals);
    }
    if n == 0 || chans.iter().any(|c| c.len() != n) {
        return None;
    }
    Some(Palette { first, rgb: (0..n).map(|i| [chans[0][i], chans[1][i], chans[2][i]]).collect() })
}

/// Expand Segmented Palette Color Lookup Table Data (PS3.3 C.7.9.2): discrete (opcode 0),
/// linear (1) and indirect (2) segments of 16-bit words. `None` on anything malformed: a
/// first segment that is not discrete, an unknown opcode, a segment or offset outside the
/// data, indirect segments nested too deep, more than `max_entries` values, or more segments
/// visited than a real table could hold (hostile indirections).
pub fn expand_segmented_lut(data: &[u16], max_entries: usize) -> Option<Vec<u16>> {
    let mut lut = Vec::new();
    let mut budget = 2 * max_entries + data.len() + 16;
    expand_segments(data, 0, usize::MAX, &mut lut, max_entries, 0, &mut budget)?;
    Some(lut)
}

fn expand_segments(data: &[u16], mut at: usize, max_segments: usize, lut: &mut Vec<u16>, max_entries: usize, depth: u32, budget: &mut usize) -> Option<()> {
    let mut segments = 0;
    // `at + 1 < len`: a trailing pad word after the last segment is allowed.
    while at + 1 < data.len() && segments < max_segments {
        *budget = budget.checked_sub(1)?;
        let (opcode, length) = (data[at], data[at + 1] as usize);
        at += 2;
        match opcode {
            0 => {
                lut.extend_from_slice(data.get(at..at + length)?);
                at += length;
            }
            1 => {
                let (y0, y1) = (*lut.last()? as f64, *data.get(at)? as f64);
                at += 1;
                let step = (y1 - y0) / length.max(1) as f64;
                lut.extend((1..=length).map(|i| (y0 + step * i as f64).round() as u16));
            }
            // The offset (two words, low word first) counts words from the start of the data,
            // as pydicom and GDCM read it.
            2 if depth < 4 && !lut.is_empty() => {
                let offset = (*data.get(at + 1)? as usize) << 16 | *data.get(at)? as usize;
                at += 2;
                if offset >= data.len() {
                    return None;
                }
                expand_segments(data, offset, length, lut, max_entries, depth + 1, budget)?;
            }
            _ => return None,
        }
        if lut.len() > max_entries {
            return None;
        }
        segments += 1;
    }
    Some(())
}

fn read_voi_lut(obj: &InMemDicomObject, signed: bool) -> Option<VoiLut> {
    let seq = obj.get(VOI_LUT_SEQUENCE)?;
    let item = seq.items()?.first()?;
    let (n, first, bits) = lut_descriptor(item, LUT_DESCRIPTOR, signed)?;
    let mut data = element_words(item, LUT_DATA)?;
    data.truncate(n);
    (!data.is_empty()).then_some(VoiLut { first, bits: bits.clamp(1, 16), data })
}

/// A view of the data set for the registry's codecs.
struct Src<'a> {
    obj: &'a InMemDicomObject,
    ts: &'a str,
}

impl PixelDataObject for Src<'_> {
    fn transfer_syntax_uid(&self) -> &str {
        self.ts
    }
    fn rows(&self) -> Option<u16> {
        self.obj.get(ROWS)?.uint16().ok()
    }
    fn cols(&self) -> Option<u16> {
        self.obj.get(COLUMNS)?.uint16().ok()
    }
    fn samples_per_pixel(&self) -> Option<u16> {
        self.obj.get(SAMPLES_PER_PIXEL)?.uint16().ok()
    }
    fn bits_allocated(&self) -> Option<u16> {
        self.obj.get(BITS_ALLOCATED)?.uint16().ok()
    }
    fn bits_stored(&self) -> Option<u16> {
        self.obj.get(BITS_STORED)?.uint16().ok()
    }
    fn photometric_interpretation(&self) -> Option<&str> {
        self.obj.get(PHOTOMETRIC)?.string().ok().map(|s| s.trim_end_matches([' ', '\0']))
    }
    fn number_of_frames(&self) -> Option<u32> {
        self.obj.get(NUMBER_OF_FRAMES)?.to_int().ok()
    }
    fn number_of_fragments(&self) -> Option<u32> {
        match self.obj.get(PIXEL_DATA)?.value() {
            Value::PixelSequence(v) => Some(v.fragments().len() as u32),
            _ => None,
        }
    }
    fn fragment(&self, fragment: usize) -> Option<Cow<'_, [u8]>> {
        match self.obj.get(PIXEL_DATA)?.value() {
            Value::PixelSequence(v) => v.fragments().get(fragment).map(|f| Cow::Borrowed(f.as_ref())),
            Value::Primitive(p) if fragment == 0 => Some(p.to_bytes()),
            _ => None,
        }
    }
    fn offset_table(&self) -> Option<Cow<'_, [u32]>> {
        match self.obj.get(PIXEL_DATA)?.value() {
            Value::PixelSequence(seq) => Some(Cow::from(seq.offset_table())),
            _ => None,
        }
    }
    fn raw_pixel_data(&self) -> Option<RawPixelData> {
        match self.obj.get(PIXEL_DATA)?.value() {
            Value::Primitive(p) => {
                let mut fragments = SmallVec::new();
                fragments.push(p.to_bytes().to_vec());
                Some(RawPixelData { fragments, offset_table: SmallVec::new() })
            }
            Value::PixelSequence(v) => {
                let (offset_table, fragments) = v.clone().into_parts();
                Some(RawPixelData { fragments, offset_table })
            }
            _ => None,
        }
    }
}

/// A decoded codestream: samples interleaved by pixel.
struct OwnImage {
    width: u32,
    height: u32,
    components: u16,
    samples: Vec<u16>,
    /// Colour as coded (no transform applied): [`Photometric::Rgb`], or
    /// [`Photometric::YbrFull`] for a JPEG that codes YCbCr. `None`: as the header says.
    colour: Option<Photometric>,
}

impl OwnImage {
    fn as_labelled(width: u32, height: u32, components: u16, samples: Vec<u16>) -> OwnImage {
        OwnImage { width, height, components, samples, colour: None }
    }

    fn from_jpeg(i: super::jpeg12::Jpeg12Image) -> OwnImage {
        let colour = (i.components == 3).then_some(if i.coded_rgb { Photometric::Rgb } else { Photometric::YbrFull });
        OwnImage { width: i.width, height: i.height, components: i.components, samples: i.samples, colour }
    }
}

/// What an own decoder is told by the header (RLE has no header of its own).
struct Expected {
    width: u32,
    height: u32,
    samples_per_pixel: u16,
    bits_allocated: u16,
}

pub(crate) const JPEG_BASELINE: &str = "1.2.840.10008.1.2.4.50";
pub(crate) const JPEG_EXTENDED: &str = "1.2.840.10008.1.2.4.51";

const RLE_LOSSLESS: &str = "1.2.840.10008.1.2.5";

/// Our own pure-Rust decoders, for encodings the dicom-pixeldata codecs do not decode in
/// every build (JPEG-LS has only a C library there; jpeg-decoder rejects 12-bit JPEG), do
/// not decode safely (dicom-rs's RLE panics on a short segment, a trapped worker in wasm),
/// or decode to something else than what was coded (jpeg-decoder turns YCbCr into RGB: JPEG
/// labelled YBR_FULL or YBR_FULL_422 is decoded as coded here, chroma upsampled as libjpeg
/// does, and written back as YBR_FULL, without a colour transform's rounding).
type OwnDecoder = fn(&[u8], &Expected) -> Result<OwnImage, String>;

fn own_decoder(ts: &str, bits_allocated: u16, spp: u16, photometric: &str) -> Option<OwnDecoder> {
    match ts {
        RLE_LOSSLESS if matches!(bits_allocated, 8 | 16) => Some(|b, e| {
            super::rle::decode(b, e.width, e.height, e.samples_per_pixel, e.bits_allocated)
                .map(|s| OwnImage::as_labelled(e.width, e.height, e.samples_per_pixel, s))
        }),
        "1.2.840.10008.1.2.4.80" | "1.2.840.10008.1.2.4.81" => Some(|b, _| {
            super::jpegls::decode(b).map(|i| OwnImage::as_labelled(i.width, i.height, i.components, i.samples))
        }),
        // JPEG extended (8 or 12 bit), and 8-bit baseline labelled YCbCr; colour as coded.
        JPEG_EXTENDED => Some(jpeg_as_coded),
        JPEG_BASELINE if spp == 3 && bits_allocated == 8 && matches!(photometric, "YBR_FULL" | "YBR_FULL_422") => Some(jpeg_as_coded),
        _ => None,
    }
}

fn jpeg_as_coded(b: &[u8], _: &Expected) -> Result<OwnImage, String> {
    super::jpeg12::decode(b).map(OwnImage::from_jpeg)
}

/// The codestream of frame `f` (0-based): one fragment per frame, all fragments of a
/// single frame, or the fragments the Basic Offset Table assigns to it.
pub(crate) fn frame_stream(fragments: &[Vec<u8>], offsets: &[u32], f: u32, nframes: u32) -> Result<Vec<u8>, PixelError> {
    let f = f as usize;
    if nframes == 1 {
        return Ok(fragments.concat());
    }
    if fragments.len() == nframes as usize {
        return Ok(fragments[f].clone());
    }
    if offsets.len() == nframes as usize {
        // Offsets count from the first fragment's item tag; each item has an 8-byte header.
        let (start, end) = (offsets[f] as u64, offsets.get(f + 1).map_or(u64::MAX, |o| *o as u64));
        let mut pos = 0u64;
        let mut out = Vec::new();
        for frag in fragments {
            if pos >= start && pos < end {
                out.extend_from_slice(frag);
            }
            pos += 8 + frag.len() as u64;
        }
        if !out.is_empty() {
            return Ok(out);
        }
    }
    Err(PixelError::Decode(format!(
        "{} fragments for {nframes} frames and no usable offset table: cannot tell which fragments hold frame {}",
        fragments.len(),
        f + 1
    )))
}

/// A human name for an encoding with no decoder here, for the fail-closed message.
pub fn unsupported_reason(ts: &str, bits_allocated: u16, detail: Option<&str>) -> String {
    let name = match ts {
        "1.2.840.10008.1.2.4.80" => "JPEG-LS lossless".to_string(),
        "1.2.840.10008.1.2.4.81" => "JPEG-LS near-lossless".to_string(),
        JPEG_EXTENDED => "JPEG extended (12-bit)".to_string(),
        "1.2.840.10008.1.2.5" if bits_allocated > 16 => format!("RLE lossless with {bits_allocated} bits allocated"),
        _ => match TransferSyntaxRegistry.get(ts) {
            Some(t) => format!("{} ({ts})", t.name()),
            None => format!("unknown transfer syntax {ts}"),
        },
    };
    match detail {
        Some(d) => format!("{name}: no decoder built for this platform ({d})"),
        None => format!("{name}: no decoder built for this platform"),
    }
}

/// Decode every frame of `obj`'s Pixel Data, read with transfer syntax `ts`.
pub fn decode(obj: &InMemDicomObject, ts: &str) -> Result<DecodedImage, PixelError> {
    decode_frames(obj, ts, None)
}

/// Decode one frame (0-based) only, e.g. for a preview of a long clip: the image's `frames`
/// then hold that frame alone.
pub fn decode_one(obj: &InMemDicomObject, ts: &str, frame: u32) -> Result<DecodedImage, PixelError> {
    decode_frames(obj, ts, Some(frame))
}

fn decode_frames(obj: &InMemDicomObject, ts: &str, only: Option<u32>) -> Result<DecodedImage, PixelError> {
    let ts = ts.trim_end_matches(['\0', ' ']);
    let rows = get_int(obj, ROWS).ok_or_else(|| malformed("Rows missing"))?;
    let cols = get_int(obj, COLUMNS).ok_or_else(|| malformed("Columns missing"))?;
    if rows <= 0 || cols <= 0 || rows > 65535 || cols > 65535 {
        return Err(malformed(format!("bad image size {cols}x{rows}")));
    }
    let (w, h) = (cols as u32, rows as u32);
    let spp = get_int(obj, SAMPLES_PER_PIXEL).unwrap_or(1);
    if spp != 1 && spp != 3 {
        return Err(PixelError::Unsupported(format!("{spp} samples per pixel")));
    }
    let spp = spp as u16;
    let bits_allocated = get_int(obj, BITS_ALLOCATED).ok_or_else(|| malformed("Bits Allocated missing"))? as u16;
    let bits_stored = get_int(obj, BITS_STORED).map(|b| b as u16).unwrap_or(bits_allocated);
    let signed = get_int(obj, PIXEL_REPRESENTATION).unwrap_or(0) == 1;
    let planar = get_int(obj, PLANAR).unwrap_or(0);
    let nframes = get_int(obj, NUMBER_OF_FRAMES).unwrap_or(1).max(1) as u32;
    let wanted = match only {
        Some(k) if k >= nframes => return Err(malformed(format!("no frame {k} (the image has {nframes})"))),
        Some(k) => k..k + 1,
        None => 0..nframes,
    };
    let wanted_usize = wanted.start as usize..wanted.end as usize;
    let pi_text = get_str(obj, PHOTOMETRIC).unwrap_or_else(|| if spp == 3 { "RGB".into() } else { "MONOCHROME2".into() });
    if !matches!(bits_allocated, 1 | 8 | 16) {
        return Err(PixelError::Unsupported(format!("{bits_allocated} bits allocated (only 1, 8 and 16 are handled)")));
    }
    if bits_stored == 0 || bits_stored > bits_allocated {
        return Err(malformed(format!("Bits Stored {bits_stored} with Bits Allocated {bits_allocated}")));
    }
    let mut photometric = match pi_text.as_str() {
        "MONOCHROME1" => Photometric::Monochrome1,
        "MONOCHROME2" => Photometric::Monochrome2,
        "PALETTE COLOR" => Photometric::PaletteColor,
        "RGB" => Photometric::Rgb,
        "YBR_FULL" | "YBR_FULL_422" | "YBR_ICT" | "YBR_RCT" | "YBR_PARTIAL_420" | "YBR_PARTIAL_422" => Photometric::YbrFull,
        other => return Err(PixelError::Unsupported(format!("photometric interpretation {other}"))),
    };
    if (spp == 1) != matches!(photometric, Photometric::Monochrome1 | Photometric::Monochrome2 | Photometric::PaletteColor) {
        return Err(malformed(format!("{pi_text} with {spp} samples per pixel")));
    }
    let pixel = obj.get(PIXEL_DATA).ok_or_else(|| malformed("no Pixel Data"))?;
    let n = (w * h) as usize * spp as usize;
    let mut frames = Vec::with_capacity(wanted.len());
    let was_encapsulated = matches!(pixel.value(), Value::PixelSequence(_));
    match pixel.value() {
        Value::Primitive(p) => {
            if pi_text == "YBR_FULL_422" {
                // Pairs of pixels: Y1 Y2 Cb Cr (PS3.3 C.7.6.3.1.2), 8 bits.
                let bytes = p.to_bytes();
                let fsize = (w as usize).div_ceil(2) * 4 * h as usize;
                for f in wanted_usize.clone() {
                    let src = bytes.get(f * fsize..(f + 1) * fsize).ok_or_else(|| malformed("Pixel Data shorter than the frames it declares"))?;
                    let mut data = Vec::with_capacity(n);
                    for y in 0..h as usize {
                        for x in 0..w as usize {
                            let g = &src[(y * (w as usize).div_ceil(2) + x / 2) * 4..][..4];
                            data.extend([g[x % 2], g[2], g[3]]);
                        }
                    }
                    let data = Samples::U8(data);
                    frames.push(Frame { width: w, height: h, samples: 3, bits_allocated, bits_stored, signed, data });
                }
            } else {
                // One frame at a time from the element's own storage: no copy of all frames.
                let need = n * nframes as usize;
                let have = match (bits_allocated, p) {
                    (16, PrimitiveValue::U16(v)) => v.len(),
                    (16, PrimitiveValue::I16(v)) => v.len(),
                    (16, other) => other.to_bytes().len() / 2,
                    (8, other) => other.to_bytes().len(),
                    (_, other) => other.to_bytes().len() * 8,
                };
                if have < need {
                    return Err(malformed(format!(
                        "Pixel Data holds {have} samples, {nframes} frame(s) of {w}x{h}x{spp} need {need}"
                    )));
                }
                // Words are read in place for 16 bits; anything else as bytes (8-bit data
                // may come as OW words: their little-endian bytes are the samples).
                let words_in_place = bits_allocated == 16 && matches!(p, PrimitiveValue::U16(_) | PrimitiveValue::I16(_));
                let bytes = if words_in_place { None } else { Some(p.to_bytes()) };
                for f in wanted_usize.clone() {
                    let range = f * n..(f + 1) * n;
                    let mut data = match (bits_allocated, p, &bytes) {
                        (16, PrimitiveValue::U16(v), _) => Samples::U16(v[range].to_vec()),
                        (16, PrimitiveValue::I16(v), _) => Samples::U16(v[range].iter().map(|x| *x as u16).collect()),
                        (16, _, Some(b)) => Samples::U16(b[range.start * 2..range.end * 2].chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect()),
                        (8, _, Some(b)) => Samples::U8(b[range].to_vec()),
                        (_, _, Some(b)) => Samples::U8(range.map(|i| (b[i / 8] >> (i % 8)) & 1).collect()),
                        _ => return Err(malformed("Pixel Data of an unexpected value type")),
                    };
                    if spp == 3 && planar == 1 {
                        let plane = (w * h) as usize;
                        let src = data;
                        data = match &src {
                            Samples::U8(v) => Samples::U8((0..plane).flat_map(|i| [v[i], v[plane + i], v[2 * plane + i]]).collect()),
                            Samples::U16(v) => Samples::U16((0..plane).flat_map(|i| [v[i], v[plane + i], v[2 * plane + i]]).collect()),
                        };
                    }
                    frames.push(Frame { width: w, height: h, samples: spp, bits_allocated, bits_stored, signed, data });
                }
            }
        }
        // Baseline labelled YCbCr but coded otherwise (e.g. progressive): the registry's.
        Value::PixelSequence(seq)
            if own_decoder(ts, bits_allocated, spp, &pi_text).is_some()
                && (ts != JPEG_BASELINE || seq.fragments().first().is_some_and(|f| super::jpeg12::is_sequential(f))) =>
        {
            let own = own_decoder(ts, bits_allocated, spp, &pi_text).expect("checked");
            let expected = Expected { width: w, height: h, samples_per_pixel: spp, bits_allocated };
            let mut colour = None;
            for f in wanted.clone() {
                let stream = frame_stream(seq.fragments(), seq.offset_table(), f, nframes)?;
                let img = own(&stream, &expected).map_err(|e| PixelError::Decode(format!("frame {}: {e}", f + 1)))?;
                if (img.width, img.height, img.components) != (w, h, spp) {
                    return Err(PixelError::Decode(format!(
                        "frame {}: the codestream holds {}x{}x{}, the header says {w}x{h}x{spp}",
                        f + 1,
                        img.width,
                        img.height,
                        img.components
                    )));
                }
                if f > wanted.start && img.colour != colour {
                    return Err(PixelError::Decode(format!("frame {}: coded in another colour space than the frames before it", f + 1)));
                }
                colour = img.colour;
                let data = Samples::from_words(img.samples, bits_allocated);
                frames.push(Frame { width: w, height: h, samples: spp, bits_allocated, bits_stored, signed, data });
            }
            photometric = colour.unwrap_or(photometric);
        }
        Value::PixelSequence(_) => {
            let tsd = TransferSyntaxRegistry.get(ts).ok_or_else(|| PixelError::Unsupported(unsupported_reason(ts, bits_allocated, None)))?;
            let reader = match tsd.codec() {
                Codec::EncapsulatedPixelData(Some(r), _) => r,
                _ => return Err(PixelError::Unsupported(unsupported_reason(ts, bits_allocated, None))),
            };
            if bits_allocated > 16 || bits_allocated == 1 {
                return Err(PixelError::Unsupported(unsupported_reason(ts, bits_allocated, Some("bits allocated"))));
            }
            let src = Src { obj, ts };
            for f in wanted.clone() {
                let mut dst = Vec::new();
                // Some codecs panic on corrupt data (e.g. an RLE header shorter than 64
                // bytes): that is a decoding failure of this file, not of the process.
                let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| reader.decode_frame(&src, f, &mut dst)))
                    .map_err(|_| PixelError::Decode(format!("frame {}: the decoder failed on corrupt data", f + 1)))?;
                res.map_err(|e| {
                    let detail = crate::engine::io::error_chain(&e);
                    if ts == JPEG_EXTENDED && bits_stored > 8 {
                        PixelError::Unsupported(unsupported_reason(ts, bits_allocated, Some(&detail)))
                    } else {
                        PixelError::Decode(format!("frame {}: {detail}", f + 1))
                    }
                })?;
                let bytes_per = if bits_allocated == 16 { 2 } else { 1 };
                if dst.len() < bytes_per * n {
                    return Err(PixelError::Decode(format!("frame {}: decoder gave {} bytes for {w}x{h}x{spp}", f + 1, dst.len())));
                }
                let data = if bytes_per == 2 {
                    Samples::U16(dst.chunks_exact(2).take(n).map(|c| u16::from_le_bytes([c[0], c[1]])).collect())
                } else {
                    dst.truncate(n);
                    Samples::U8(dst)
                };
                frames.push(Frame { width: w, height: h, samples: spp, bits_allocated, bits_stored, signed, data });
            }
            if spp == 3 {
                // JPEG decoders and JPEG 2000 with a component transform give RGB; RLE and
                // JPEG 2000 without the transform give the samples as coded.
                let jpeg = ts.starts_with("1.2.840.10008.1.2.4.") && !matches!(ts, "1.2.840.10008.1.2.4.90" | "1.2.840.10008.1.2.4.91");
                let j2k_mct = matches!(pi_text.as_str(), "YBR_ICT" | "YBR_RCT");
                if jpeg || j2k_mct || photometric == Photometric::Rgb {
                    photometric = Photometric::Rgb;
                }
            }
        }
        _ => return Err(malformed("Pixel Data is a sequence")),
    }
    let wc = get_f64s(obj, WINDOW_CENTER);
    let ww = get_f64s(obj, WINDOW_WIDTH);
    let window = match (wc.first(), ww.first()) {
        (Some(c), Some(w)) if *w > 0.0 => Some((*c, *w)),
        _ => None,
    };
    let slope = get_f64s(obj, RESCALE_SLOPE).first().copied().filter(|s| *s != 0.0).unwrap_or(1.0);
    let intercept = get_f64s(obj, RESCALE_INTERCEPT).first().copied().unwrap_or(0.0);
    let palette = if photometric == Photometric::PaletteColor {
        Some(read_palette(obj, signed).ok_or_else(|| PixelError::Unsupported("PALETTE COLOR without a readable palette (missing, inconsistent or malformed segmented lookup tables)".into()))?)
    } else {
        None
    };
    Ok(DecodedImage {
        info: ImageInfo {
            photometric,
            original_photometric: pi_text,
            window,
            rescale: (slope, intercept),
            voi_lut: read_voi_lut(obj, signed),
            palette,
            was_encapsulated,
            transfer_syntax: ts.to_string(),
        },
        frames,
    })
}
