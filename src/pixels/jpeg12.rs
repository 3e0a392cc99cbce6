//! Decoder for sequential DCT-based Huffman JPEG codestreams (ITU-T T.81 baseline, SOF0,
//! and extended sequential, SOF1) with 8- or 12-bit samples: the codestreams of DICOM
//! transfer syntaxes 1.2.840.10008.1.2.4.50 and 1.2.840.10008.1.2.4.51 (processes 1, 2
//! and 4). Pure Rust without dependencies, so it builds for wasm32; it exists because the
//! `jpeg-decoder` crate rejects 12-bit streams.
//!
//! The output follows IJG libjpeg 6b / libjpeg-turbo, the library inside dcmtk's
//! `dcmdjpeg`, Pillow and most viewers:
//! - the inverse DCT is libjpeg's accurate integer "islow" IDCT (computed in 64-bit, so it
//!   is bit-exact with libjpeg on valid streams and cannot overflow on corrupt ones);
//! - chroma subsampled 2:1 horizontally (and 1:1 or 2:1 vertically) is upsampled with
//!   libjpeg's "fancy" triangle filter; 1:2 (vertical only) with libjpeg-turbo's; other
//!   integral ratios are replicated and non-integral ratios (which libjpeg rejects) take the
//!   nearest sample;
//! - there is no colour conversion: the components come out as coded (YCbCr stays YCbCr);
//!   [`Jpeg12Image::coded_rgb`] says whether the stream declares RGB (libjpeg's rule).
//!
//! Supported: SOF0/SOF1, precision 8 and 12, 1 to 4 components, sampling factors 1..=4,
//! 8- and 16-bit quantization tables, Huffman tables (Annex K tables stand in for missing
//! tables 0 and 1, as libjpeg-turbo does for Motion-JPEG), restart intervals, interleaved and
//! non-interleaved scans (one component per scan, or any subset), 0xFF00 stuffing, fill
//! bytes, a missing EOI and trailing padding after the last scan. Progressive, lossless,
//! hierarchical and arithmetic-coded streams are rejected ("unsupported JPEG process ...").
//!
//! Corrupt data gives an error, never a panic, and the decoder fails closed where libjpeg
//! would warn and go on: a truncated scan, a bad Huffman code or a missing restart marker is
//! an error. Memory is bounded before anything is allocated: width and height at most 65535,
//! at most 2^30 output samples, and no more 8x8 blocks than the input could code (every
//! Huffman-coded block takes at least two bits), so a small input cannot make it allocate
//! much; allocation failure is an error too.

/// A decoded image: samples interleaved pixel by pixel, row-major, full resolution (chroma
/// upsampled), no colour conversion (components as coded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jpeg12Image {
    pub width: u32,
    pub height: u32,
    pub components: u16,
    pub precision: u16,
    pub samples: Vec<u16>,
    /// Three components that the stream declares RGB, as libjpeg reads it: an Adobe APP14
    /// marker with transform 0 (and no JFIF marker), or component ids 'R' 'G' 'B'.
    /// Otherwise three components are YCbCr.
    pub coded_rgb: bool,
}

/// Decode one baseline/extended sequential Huffman JPEG codestream (SOF0 or SOF1; precision
/// 8 or 12), as found in one DICOM frame (fragments concatenated; trailing 0x00 padding
/// allowed).
pub fn decode(data: &[u8]) -> Result<Jpeg12Image, String> {
    let mut d = Decoder::new(data);
    d.run()?;
    d.finish()
}

/// The quantized DCT coefficients of a sequential JPEG codestream, as coded (for
/// [`super::jpeg_blocks`], which masks whole blocks and writes the stream again).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coefficients {
    /// The frame header's marker: 0xC0 (baseline) or 0xC1 (extended).
    pub sof: u8,
    pub precision: u8,
    pub width: usize,
    pub height: usize,
    /// Largest sampling factors: an MCU is 8 * hmax by 8 * vmax pixels.
    pub hmax: usize,
    pub vmax: usize,
    /// MCUs across and down.
    pub mcux: usize,
    pub mcuy: usize,
    pub components: Vec<ComponentCoefficients>,
    /// A JFIF APP0 marker was seen, and the transform flag of an Adobe APP14 marker (they
    /// say which colour space the components are in).
    pub jfif: bool,
    pub adobe_transform: Option<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentCoefficients {
    pub id: u8,
    pub h: usize,
    pub v: usize,
    /// Size of the component in samples.
    pub dw: usize,
    pub dh: usize,
    /// Blocks across (whole MCUs); `blocks` is row-major, `blocks_w` per row.
    pub blocks_w: usize,
    /// The quantization table the component was coded with (natural order).
    pub q: [u16; 64],
    /// Coefficients per block, natural (row-major) order.
    pub blocks: Vec<[i16; 64]>,
}

/// True when the frame header of `data` says sequential Huffman coding (SOF0 or SOF1), what
/// this decoder reads (the markers before it are skipped, not checked).
pub fn is_sequential(data: &[u8]) -> bool {
    let mut pos = 2;
    if !data.starts_with(&[0xFF, 0xD8]) {
        return false;
    }
    while let Some(marker) = next_marker(data, &mut pos) {
        match marker {
            0xC0 | 0xC1 => return true,
            0xC2..=0xCF if marker != 0xC4 && marker != 0xC8 && marker != 0xCC => return false,
            0xD0..=0xD9 | 0x01 => {}
            _ => match data.get(pos..pos + 2) {
                Some(len) => pos += u16::from_be_bytes([len[0], len[1]]) as usize,
                None => return false,
            },
        }
    }
    false
}

/// Three components that the stream declares RGB, as libjpeg decides: a JFIF marker means
/// YCbCr, else an Adobe marker's transform 0 means RGB, else component ids 'R' 'G' 'B' do.
fn coded_rgb(jfif: bool, adobe_transform: Option<u8>, ids: &[u8]) -> bool {
    ids.len() == 3
        && match (jfif, adobe_transform) {
            (true, _) => false,
            (false, Some(t)) => t == 0,
            (false, None) => ids == b"RGB",
        }
}

impl Coefficients {
    /// See [`Jpeg12Image::coded_rgb`].
    pub fn coded_rgb(&self) -> bool {
        coded_rgb(self.jfif, self.adobe_transform, &self.components.iter().map(|c| c.id).collect::<Vec<_>>())
    }
}

/// The coefficients of one sequential Huffman JPEG codestream (what [`decode`] reads),
/// without the inverse DCT.
pub fn decode_coefficients(data: &[u8]) -> Result<Coefficients, String> {
    let mut d = Decoder::new(data);
    d.keep_coefficients = true;
    d.run()?;
    let frame = d.scanned_frame()?;
    Ok(Coefficients {
        sof: d.sof_marker,
        precision: frame.precision,
        width: frame.width,
        height: frame.height,
        hmax: frame.hmax,
        vmax: frame.vmax,
        mcux: frame.mcux,
        mcuy: frame.mcuy,
        components: frame
            .comps
            .into_iter()
            .map(|c| ComponentCoefficients { id: c.id, h: c.h, v: c.v, dw: c.dw, dh: c.dh, blocks_w: c.pw / 8, q: c.q, blocks: c.coefs })
            .collect(),
        jfif: d.jfif,
        adobe_transform: d.adobe_transform,
    })
}

/// Largest width or height accepted.
const MAX_DIMENSION: usize = 65535;
/// Largest number of samples (output, and component planes) accepted.
const MAX_SAMPLES: u64 = 1 << 30;

/// Zig-zag position -> natural (row-major) position, with 16 extra entries so that a corrupt
/// run length past the end of the block lands on the last coefficient (as in libjpeg).
pub(crate) const NATURAL_ORDER: [usize; 80] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7,
    14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39,
    46, 53, 60, 61, 54, 47, 55, 62, 63, //
    63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63,
];

// ---------------------------------------------------------------------------------------
// Huffman tables

const LOOKUP_BITS: u32 = 9;

#[derive(Clone)]
struct HuffTable {
    /// First LOOKUP_BITS bits -> (code length << 8) | symbol; 0 when the code is longer.
    lookup: [u16; 1 << LOOKUP_BITS],
    /// Largest code of each length (1..=16), -1 when there is none.
    maxcode: [i32; 17],
    /// Index of a code's symbol in `values` minus the code, per length.
    valoffset: [i32; 17],
    values: [u8; 256],
    nvalues: usize,
}

impl HuffTable {
    /// Build the decoding tables from BITS (codes per length 1..=16) and HUFFVAL, with
    /// libjpeg's checks (at most 256 codes, no code of all 1 bits).
    fn new(bits: &[u8; 16], vals: &[u8]) -> Result<HuffTable, String> {
        let total: usize = bits.iter().map(|&b| b as usize).sum();
        if total > 256 || total != vals.len() {
            return Err("bad Huffman table (more than 256 codes)".into());
        }
        let mut t = HuffTable {
            lookup: [0; 1 << LOOKUP_BITS],
            maxcode: [-1; 17],
            valoffset: [0; 17],
            values: [0; 256],
            nvalues: total,
        };
        t.values[..total].copy_from_slice(vals);
        let mut code: u32 = 0;
        let mut k = 0usize;
        for len in 1..=16u32 {
            let n = bits[len as usize - 1] as usize;
            if n > 0 {
                t.valoffset[len as usize] = k as i32 - code as i32;
                for _ in 0..n {
                    // Codes must fit in `len` bits and not be all ones.
                    if code + 1 >= (1u32 << len) {
                        return Err("bad Huffman table (code lengths overflow)".into());
                    }
                    if len <= LOOKUP_BITS {
                        let shift = LOOKUP_BITS - len;
                        let base = (code << shift) as usize;
                        let entry = ((len as u16) << 8) | vals[k] as u16;
                        for e in &mut t.lookup[base..base + (1usize << shift)] {
                            *e = entry;
                        }
                    }
                    code += 1;
                    k += 1;
                }
                t.maxcode[len as usize] = code as i32 - 1;
            }
            code <<= 1;
        }
        Ok(t)
    }
}

// The Annex K.3 tables, used when a scan refers to table 0 or 1 that no DHT defined.
const STD_DC_BITS: [[u8; 16]; 2] = [
    [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0],
    [0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0],
];
const STD_DC_VALS: [u8; 12] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
const STD_AC_BITS: [[u8; 16]; 2] = [
    [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d],
    [0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77],
];
const STD_AC_LUMA_VALS: [u8; 162] = [
    0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07, 0x22,
    0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0, 0x24, 0x33,
    0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x34,
    0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x53, 0x54, 0x55,
    0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75, 0x76,
    0x77, 0x78, 0x79, 0x7a, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96,
    0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5,
    0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4,
    0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf1,
    0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa,
];
const STD_AC_CHROMA_VALS: [u8; 162] = [
    0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71, 0x13,
    0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33, 0x52, 0xf0, 0x15, 0x62,
    0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18, 0x19, 0x1a, 0x26, 0x27, 0x28, 0x29,
    0x2a, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x53, 0x54,
    0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75,
    0x76, 0x77, 0x78, 0x79, 0x7a, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94,
    0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3,
    0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2,
    0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea,
    0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa,
];

fn std_table(ac: bool, slot: usize) -> Option<HuffTable> {
    let r = match (ac, slot) {
        (false, 0 | 1) => HuffTable::new(&STD_DC_BITS[slot], &STD_DC_VALS),
        (true, 0) => HuffTable::new(&STD_AC_BITS[0], &STD_AC_LUMA_VALS),
        (true, 1) => HuffTable::new(&STD_AC_BITS[1], &STD_AC_CHROMA_VALS),
        _ => return None,
    };
    r.ok()
}

// ---------------------------------------------------------------------------------------
// Entropy-coded data

/// MSB-first bit reader over entropy-coded data: undoes 0xFF00 stuffing, skips fill bytes
/// and stops at a marker, after which it supplies zero bits and counts them, so that a
/// decoder that reads into them can be told the data ran out.
struct BitReader<'a> {
    data: &'a [u8],
    /// Next byte to read; at a marker, the first 0xFF of it.
    pos: usize,
    /// Buffered bits, left-aligned.
    acc: u64,
    nbits: u32,
    /// Zero bits appended after the data ended (at a marker or the end of input). Padding
    /// always sits at the end of the buffer, so bits were read past the data when
    /// `pad_bits > nbits`.
    pad_bits: u32,
    at_marker: bool,
}

impl<'a> BitReader<'a> {
    fn new(data: &'a [u8], pos: usize) -> Self {
        BitReader {
            data,
            pos,
            acc: 0,
            nbits: 0,
            pad_bits: 0,
            at_marker: false,
        }
    }

    fn fill(&mut self) {
        while self.nbits <= 56 {
            let mut byte = 0u8;
            if !self.at_marker {
                match self.data.get(self.pos) {
                    None => self.at_marker = true,
                    Some(&0xFF) => {
                        let mut p = self.pos + 1;
                        while p < self.data.len() && self.data[p] == 0xFF {
                            p += 1;
                        }
                        if p < self.data.len() && self.data[p] == 0x00 {
                            byte = 0xFF;
                            self.pos = p + 1;
                        } else {
                            // A marker (or the end): leave `pos` on its last 0xFF.
                            self.at_marker = true;
                            self.pos = p - 1;
                        }
                    }
                    Some(&b) => {
                        byte = b;
                        self.pos += 1;
                    }
                }
            }
            if self.at_marker {
                self.pad_bits = self.pad_bits.saturating_add(8);
            }
            self.acc |= (byte as u64) << (56 - self.nbits);
            self.nbits += 8;
        }
    }

    #[inline]
    fn consume(&mut self, n: u32) {
        self.acc <<= n;
        self.nbits -= n;
    }

    /// `n` (0..=16) raw bits.
    #[inline]
    fn bits(&mut self, n: u32) -> u32 {
        if n == 0 {
            return 0;
        }
        if self.nbits < n {
            self.fill();
        }
        let v = (self.acc >> (64 - n)) as u32;
        self.consume(n);
        v
    }

    #[inline]
    fn decode(&mut self, t: &HuffTable) -> Result<u8, String> {
        if self.nbits < 16 {
            self.fill();
        }
        let e = t.lookup[(self.acc >> (64 - LOOKUP_BITS)) as usize];
        if e != 0 {
            self.consume((e >> 8) as u32);
            return Ok(e as u8);
        }
        for len in (LOOKUP_BITS + 1)..=16 {
            let code = (self.acc >> (64 - len)) as i32;
            if code <= t.maxcode[len as usize] {
                self.consume(len);
                let i = code + t.valoffset[len as usize];
                return match usize::try_from(i).ok().filter(|&i| i < t.nvalues) {
                    Some(i) => Ok(t.values[i]),
                    None => Err("corrupt JPEG data: bad Huffman code".into()),
                };
            }
        }
        Err("corrupt JPEG data: bad Huffman code".into())
    }

    /// True once bits past the end of the data have been used.
    fn overrun(&self) -> bool {
        self.pad_bits > self.nbits
    }

    /// At a restart interval boundary: drop the buffered bits and read the RSTn marker,
    /// which must be the expected one (n = `expected`, counting modulo 8).
    fn restart(&mut self, expected: u8) -> Result<(), String> {
        self.acc = 0;
        self.nbits = 0;
        self.pad_bits = 0;
        self.at_marker = false;
        match next_marker(self.data, &mut self.pos) {
            Some(m) if m == 0xD0 + (expected & 7) => Ok(()),
            Some(m) => Err(format!(
                "corrupt JPEG data: expected restart marker RST{}, found 0xFF{m:02X}",
                expected & 7
            )),
            None => Err("truncated JPEG data: expected a restart marker".into()),
        }
    }
}

/// HUFF_EXTEND: the signed value of an `s`-bit magnitude category.
#[inline]
fn extend(v: u32, s: u32) -> i32 {
    if s == 0 {
        0
    } else if v < (1u32 << (s - 1)) {
        v as i32 - ((1i32 << s) - 1)
    } else {
        v as i32
    }
}

/// Decode one block's coefficients (natural order), as libjpeg does (16-bit coefficients).
#[inline]
fn decode_block(
    br: &mut BitReader,
    dc: &HuffTable,
    ac: &HuffTable,
    pred: &mut i32,
    coef: &mut [i16; 64],
) -> Result<(), String> {
    *coef = [0; 64];
    let s = br.decode(dc)? as u32;
    if s > 15 {
        return Err("corrupt JPEG data: bad DC magnitude category".into());
    }
    let diff = extend(br.bits(s), s);
    *pred = pred.wrapping_add(diff);
    coef[0] = *pred as i16;
    let mut k = 1usize;
    while k < 64 {
        let rs = br.decode(ac)?;
        let r = (rs >> 4) as usize;
        let s = (rs & 15) as u32;
        if s != 0 {
            k += r;
            let v = extend(br.bits(s), s);
            coef[NATURAL_ORDER[k]] = v as i16;
        } else if r == 15 {
            k += 15;
        } else {
            break;
        }
        k += 1;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Inverse DCT: libjpeg's jidctint.c ("islow"), in 64-bit arithmetic.

const CONST_BITS: u32 = 13;
const FIX_0_298631336: i64 = 2446;
const FIX_0_390180644: i64 = 3196;
const FIX_0_541196100: i64 = 4433;
const FIX_0_765366865: i64 = 6270;
const FIX_0_899976223: i64 = 7373;
const FIX_1_175875602: i64 = 9633;
const FIX_1_501321110: i64 = 12299;
const FIX_1_847759065: i64 = 15137;
const FIX_1_961570560: i64 = 16069;
const FIX_2_053119869: i64 = 16819;
const FIX_2_562915447: i64 = 20995;
const FIX_3_072711026: i64 = 25172;

#[inline]
fn descale(x: i64, n: u32) -> i64 {
    (x + (1i64 << (n - 1))) >> n
}

/// One 1-D pass of the islow IDCT on `v` (8 values): returns the 8 outputs before descaling.
#[inline(always)]
fn idct_1d(v: [i64; 8]) -> [i64; 8] {
    // Even part.
    let z2 = v[2];
    let z3 = v[6];
    let z1 = (z2 + z3) * FIX_0_541196100;
    let tmp2 = z1 + z3 * -FIX_1_847759065;
    let tmp3 = z1 + z2 * FIX_0_765366865;
    let tmp0 = (v[0] + v[4]) << CONST_BITS;
    let tmp1 = (v[0] - v[4]) << CONST_BITS;
    let tmp10 = tmp0 + tmp3;
    let tmp13 = tmp0 - tmp3;
    let tmp11 = tmp1 + tmp2;
    let tmp12 = tmp1 - tmp2;
    // Odd part.
    let mut t0 = v[7];
    let mut t1 = v[5];
    let mut t2 = v[3];
    let mut t3 = v[1];
    let z1 = t0 + t3;
    let z2 = t1 + t2;
    let z3 = t0 + t2;
    let z4 = t1 + t3;
    let z5 = (z3 + z4) * FIX_1_175875602;
    t0 *= FIX_0_298631336;
    t1 *= FIX_2_053119869;
    t2 *= FIX_3_072711026;
    t3 *= FIX_1_501321110;
    let z1 = z1 * -FIX_0_899976223;
    let z2 = z2 * -FIX_2_562915447;
    let z3 = z3 * -FIX_1_961570560 + z5;
    let z4 = z4 * -FIX_0_390180644 + z5;
    t0 += z1 + z3;
    t1 += z2 + z4;
    t2 += z2 + z3;
    t3 += z1 + z4;
    [
        tmp10 + t3,
        tmp11 + t2,
        tmp12 + t1,
        tmp13 + t0,
        tmp13 - t0,
        tmp12 - t1,
        tmp11 - t2,
        tmp10 - t3,
    ]
}

/// Dequantize, inverse-transform and level-shift one block into `out` (8 rows of `stride`).
fn idct_block(coef: &[i16; 64], q: &[u16; 64], out: &mut [u16], stride: usize, precision: u8) {
    let pass1_bits: u32 = if precision == 8 { 2 } else { 1 };
    let center: i64 = 1 << (precision - 1);
    let maxval: i64 = (1 << precision) - 1;
    let mut ws = [0i64; 64];
    for col in 0..8 {
        let c = |r: usize| coef[r * 8 + col] as i64 * q[r * 8 + col] as i64;
        if (1..8).all(|r| coef[r * 8 + col] == 0) {
            let dc = c(0) << pass1_bits;
            for r in 0..8 {
                ws[r * 8 + col] = dc;
            }
            continue;
        }
        let o = idct_1d([c(0), c(1), c(2), c(3), c(4), c(5), c(6), c(7)]);
        for r in 0..8 {
            ws[r * 8 + col] = descale(o[r], CONST_BITS - pass1_bits);
        }
    }
    for row in 0..8 {
        let w = &ws[row * 8..row * 8 + 8];
        let line = &mut out[row * stride..row * stride + 8];
        if w[1..].iter().all(|&x| x == 0) {
            let v = (descale(w[0], pass1_bits + 3) + center).clamp(0, maxval) as u16;
            line.fill(v);
            continue;
        }
        let o = idct_1d([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
        for (dst, x) in line.iter_mut().zip(o) {
            *dst = (descale(x, CONST_BITS + pass1_bits + 3) + center).clamp(0, maxval) as u16;
        }
    }
}

// ---------------------------------------------------------------------------------------
// Frame and decoder

struct Component {
    id: u8,
    h: usize,
    v: usize,
    tq: usize,
    /// Size of the component in samples (ceil(X * h / Hmax), ceil(Y * v / Vmax)).
    dw: usize,
    dh: usize,
    /// Size of the sample plane (whole MCUs).
    pw: usize,
    ph: usize,
    plane: Vec<u16>,
    /// With [`decode_coefficients`]: every block's coefficients (instead of `plane`), and
    /// the quantization table the component's scan used.
    coefs: Vec<[i16; 64]>,
    q: [u16; 64],
    decoded: bool,
}

struct Frame {
    precision: u8,
    width: usize,
    height: usize,
    hmax: usize,
    vmax: usize,
    mcux: usize,
    mcuy: usize,
    comps: Vec<Component>,
}

struct Decoder<'a> {
    data: &'a [u8],
    pos: usize,
    qt: [Option<[u16; 64]>; 4],
    /// Huffman tables [DC, AC][slot]; an invalid table is kept as its error, reported if used.
    huff: [[Option<Result<HuffTable, String>>; 4]; 2],
    restart_interval: usize,
    frame: Option<Frame>,
    /// Transform flag of an Adobe APP14 marker, and whether a JFIF APP0 marker was seen.
    adobe_transform: Option<u8>,
    jfif: bool,
    /// Keep the coefficients, skip the inverse DCT ([`decode_coefficients`]).
    keep_coefficients: bool,
    sof_marker: u8,
}

/// Find the next marker at or after `pos` (skipping fill bytes, stuffed 0xFF00 and stray
/// bytes); `pos` ends just after the marker code.
fn next_marker(data: &[u8], pos: &mut usize) -> Option<u8> {
    while *pos < data.len() {
        if data[*pos] != 0xFF {
            *pos += 1;
            continue;
        }
        let mut p = *pos + 1;
        while p < data.len() && data[p] == 0xFF {
            p += 1;
        }
        if p >= data.len() {
            *pos = data.len();
            return None;
        }
        *pos = p + 1;
        if data[p] != 0x00 {
            return Some(data[p]);
        }
    }
    None
}

fn alloc_u16(n: usize) -> Result<Vec<u16>, String> {
    let mut v = Vec::new();
    v.try_reserve_exact(n)
        .map_err(|_| format!("cannot allocate {n} samples"))?;
    v.resize(n, 0);
    Ok(v)
}

fn be16(b: &[u8], i: usize) -> usize {
    ((b[i] as usize) << 8) | b[i + 1] as usize
}

impl<'a> Decoder<'a> {
    fn new(data: &'a [u8]) -> Self {
        Decoder {
            data,
            pos: 0,
            qt: [None; 4],
            huff: Default::default(),
            restart_interval: 0,
            frame: None,
            adobe_transform: None,
            jfif: false,
            keep_coefficients: false,
            sof_marker: 0,
        }
    }

    /// Read the codestream: tables, frame header, and every scan's blocks.
    fn run(&mut self) -> Result<(), String> {
        if self.data.len() < 2 || self.data[0] != 0xFF || self.data[1] != 0xD8 {
            return Err("not a JPEG codestream (no SOI marker)".into());
        }
        self.pos = 2;
        while let Some(marker) = next_marker(self.data, &mut self.pos) {
            match marker {
                0xD9 => break,                  // EOI
                0xD0..=0xD7 | 0x01 | 0xD8 => {} // stray RSTn, TEM, SOI: no segment
                _ => {
                    let seg = self.segment()?;
                    match marker {
                        0xC0 | 0xC1 => {
                            self.sof_marker = marker;
                            self.parse_sof(seg)?
                        }
                        0xC4 => self.parse_dht(seg)?,
                        0xDB => self.parse_dqt(seg)?,
                        0xDD => {
                            if seg.len() < 2 {
                                return Err("bad DRI segment".into());
                            }
                            self.restart_interval = be16(seg, 0);
                        }
                        0xDA => self.parse_sos_and_decode(seg)?,
                        0xC2 => return Err("unsupported JPEG process: progressive DCT".into()),
                        0xC3 => return Err("unsupported JPEG process: lossless".into()),
                        0xC5 | 0xC6 | 0xC7 | 0xCD | 0xCE | 0xCF | 0xDE | 0xDF => {
                            return Err("unsupported JPEG process: hierarchical (differential)".into())
                        }
                        0xC9..=0xCC => return Err("unsupported JPEG process: arithmetic coding".into()),
                        0xC8 => return Err("unsupported JPEG process: JPG extension (SOF8)".into()),
                        0xE0 if seg.starts_with(b"JFIF\0") => self.jfif = true,
                        0xEE if seg.len() >= 12 && seg.starts_with(b"Adobe") => self.adobe_transform = Some(seg[11]),
                        _ => {} // other APPn, COM, DNL, JPGn, ...: skip
                    }
                }
            }
        }
        Ok(())
    }

    /// The payload of the segment whose length field is at `pos`; moves past it.
    fn segment(&mut self) -> Result<&'a [u8], String> {
        let d = self.data;
        if self.pos + 2 > d.len() {
            return Err("truncated JPEG data (marker segment length)".into());
        }
        let len = be16(d, self.pos);
        if len < 2 || self.pos + len > d.len() {
            return Err("truncated or corrupt JPEG marker segment".into());
        }
        let seg = &d[self.pos + 2..self.pos + len];
        self.pos += len;
        Ok(seg)
    }

    fn parse_dqt(&mut self, mut seg: &[u8]) -> Result<(), String> {
        while !seg.is_empty() {
            let pq = seg[0] >> 4;
            let tq = (seg[0] & 15) as usize;
            if pq > 1 || tq > 3 {
                return Err("bad DQT segment".into());
            }
            let n = if pq == 0 { 64 } else { 128 };
            if seg.len() < 1 + n {
                return Err("truncated DQT segment".into());
            }
            let mut table = [0u16; 64];
            for (i, &nat) in NATURAL_ORDER[..64].iter().enumerate() {
                table[nat] = if pq == 0 {
                    seg[1 + i] as u16
                } else {
                    be16(seg, 1 + 2 * i) as u16
                };
            }
            self.qt[tq] = Some(table);
            seg = &seg[1 + n..];
        }
        Ok(())
    }

    fn parse_dht(&mut self, mut seg: &[u8]) -> Result<(), String> {
        while !seg.is_empty() {
            if seg.len() < 17 {
                return Err("truncated DHT segment".into());
            }
            let tc = (seg[0] >> 4) as usize;
            let th = (seg[0] & 15) as usize;
            if tc > 1 || th > 3 {
                return Err("bad DHT segment".into());
            }
            let mut bits = [0u8; 16];
            bits.copy_from_slice(&seg[1..17]);
            let total: usize = bits.iter().map(|&b| b as usize).sum();
            if total > 256 || seg.len() < 17 + total {
                return Err("truncated or corrupt DHT segment".into());
            }
            self.huff[tc][th] = Some(HuffTable::new(&bits, &seg[17..17 + total]));
            seg = &seg[17 + total..];
        }
        Ok(())
    }

    fn parse_sof(&mut self, seg: &[u8]) -> Result<(), String> {
        if self.frame.is_some() {
            return Err("more than one frame header (SOF) in the codestream".into());
        }
        if seg.len() < 6 {
            return Err("truncated SOF segment".into());
        }
        let precision = seg[0];
        let height = be16(seg, 1);
        let width = be16(seg, 3);
        let nf = seg[5] as usize;
        if precision != 8 && precision != 12 {
            return Err(format!(
                "unsupported JPEG sample precision {precision} (8 and 12 are supported)"
            ));
        }
        if width == 0 || height == 0 {
            return Err(format!(
                "bad JPEG image size {width}x{height} (a height given by a DNL marker is not supported)"
            ));
        }
        if width > MAX_DIMENSION || height > MAX_DIMENSION {
            return Err(format!("JPEG image too large: {width}x{height}"));
        }
        if !(1..=4).contains(&nf) {
            return Err(format!("unsupported number of JPEG components: {nf}"));
        }
        if seg.len() < 6 + 3 * nf {
            return Err("truncated SOF segment".into());
        }
        let mut comps: Vec<Component> = Vec::with_capacity(nf);
        for i in 0..nf {
            let c = &seg[6 + 3 * i..9 + 3 * i];
            let (id, h, v, tq) = (c[0], (c[1] >> 4) as usize, (c[1] & 15) as usize, c[2] as usize);
            if !(1..=4).contains(&h) || !(1..=4).contains(&v) {
                return Err(format!("bad JPEG sampling factors {h}x{v}"));
            }
            if tq > 3 {
                return Err("bad quantization table number in SOF".into());
            }
            if comps.iter().any(|o| o.id == id) {
                return Err("duplicate component id in SOF".into());
            }
            comps.push(Component {
                id,
                h,
                v,
                tq,
                dw: 0,
                dh: 0,
                pw: 0,
                ph: 0,
                plane: Vec::new(),
                coefs: Vec::new(),
                q: [0; 64],
                decoded: false,
            });
        }
        let hmax = comps.iter().map(|c| c.h).max().unwrap_or(1);
        let vmax = comps.iter().map(|c| c.v).max().unwrap_or(1);
        let mcux = width.div_ceil(8 * hmax);
        let mcuy = height.div_ceil(8 * vmax);
        // Bound memory before allocating anything: sample counts, and the number of blocks
        // the input could possibly code (each Huffman-coded block takes at least 2 bits).
        let out_samples = width as u64 * height as u64 * nf as u64;
        let mut plane_samples = 0u64;
        let mut min_blocks = 0u64;
        for c in &mut comps {
            c.dw = (width * c.h).div_ceil(hmax);
            c.dh = (height * c.v).div_ceil(vmax);
            c.pw = mcux * c.h * 8;
            c.ph = mcuy * c.v * 8;
            plane_samples += c.pw as u64 * c.ph as u64;
            min_blocks += c.dw.div_ceil(8) as u64 * c.dh.div_ceil(8) as u64;
        }
        if out_samples > MAX_SAMPLES || plane_samples > MAX_SAMPLES {
            return Err(format!("JPEG image too large: {width}x{height}x{nf}"));
        }
        if min_blocks > 4 * self.data.len() as u64 {
            return Err(format!(
                "JPEG image size {width}x{height}x{nf} is inconsistent with the data length ({} bytes)",
                self.data.len()
            ));
        }
        for c in &mut comps {
            if self.keep_coefficients {
                let blocks = (c.pw / 8) * (c.ph / 8);
                c.coefs.try_reserve_exact(blocks).map_err(|_| format!("out of memory for a {width}x{height} JPEG"))?;
                c.coefs.resize(blocks, [0; 64]);
            } else {
                c.plane = alloc_u16(c.pw * c.ph)?;
            }
        }
        self.frame = Some(Frame {
            precision,
            width,
            height,
            hmax,
            vmax,
            mcux,
            mcuy,
            comps,
        });
        Ok(())
    }

    fn table(&self, ac: bool, slot: usize) -> Result<HuffTable, String> {
        let kind = if ac { "AC" } else { "DC" };
        let t = match &self.huff[ac as usize][slot] {
            Some(Ok(t)) => t.clone(),
            Some(Err(e)) => return Err(e.clone()),
            None => {
                std_table(ac, slot).ok_or_else(|| format!("JPEG {kind} Huffman table {slot} not defined"))?
            }
        };
        if !ac && t.values[..t.nvalues].iter().any(|&s| s > 15) {
            return Err("bad Huffman table (DC symbol > 15)".into());
        }
        Ok(t)
    }

    fn parse_sos_and_decode(&mut self, seg: &[u8]) -> Result<(), String> {
        if self.frame.is_none() {
            return Err("JPEG scan (SOS) before the frame header (SOF)".into());
        }
        let ns = *seg.first().ok_or("truncated SOS segment")? as usize;
        if !(1..=4).contains(&ns) || seg.len() < 4 + 2 * ns {
            return Err("bad SOS segment".into());
        }
        // Ss, Se, Ah/Al follow the component list; a sequential decoder ignores them.
        struct ScanComp {
            ci: usize,
            dc: HuffTable,
            ac: HuffTable,
            q: [u16; 64],
        }
        let mut scomps: Vec<ScanComp> = Vec::with_capacity(ns);
        for i in 0..ns {
            let id = seg[1 + 2 * i];
            let td = (seg[2 + 2 * i] >> 4) as usize;
            let ta = (seg[2 + 2 * i] & 15) as usize;
            let frame = self.frame.as_ref().ok_or("no frame")?;
            let ci = frame
                .comps
                .iter()
                .position(|c| c.id == id)
                .ok_or_else(|| format!("JPEG scan refers to unknown component {id}"))?;
            if scomps.iter().any(|s| s.ci == ci) {
                return Err("JPEG scan lists a component twice".into());
            }
            if td > 3 || ta > 3 {
                return Err("bad Huffman table number in SOS".into());
            }
            let tq = frame.comps[ci].tq;
            let q = self.qt[tq].ok_or_else(|| format!("JPEG quantization table {tq} not defined"))?;
            scomps.push(ScanComp {
                ci,
                dc: self.table(false, td)?,
                ac: self.table(true, ta)?,
                q,
            });
        }
        let restart_interval = self.restart_interval;
        let keep = self.keep_coefficients;
        let frame = self.frame.as_mut().ok_or("no frame")?;
        let precision = frame.precision;
        let (mcus_x, mcus_y) = if ns == 1 {
            let c = &frame.comps[scomps[0].ci];
            (c.dw.div_ceil(8), c.dh.div_ceil(8))
        } else {
            (frame.mcux, frame.mcuy)
        };
        let total = mcus_x * mcus_y;
        let mut br = BitReader::new(self.data, self.pos);
        let mut preds = [0i32; 4];
        let mut coef = [0i16; 64];
        let mut next_rst = 0u8;
        for m in 0..total {
            if restart_interval > 0 && m > 0 && m % restart_interval == 0 {
                br.restart(next_rst)?;
                next_rst = next_rst.wrapping_add(1);
                preds = [0; 4];
            }
            let (mx, my) = (m % mcus_x, m / mcus_x);
            for (si, sc) in scomps.iter().enumerate() {
                let comp = &mut frame.comps[sc.ci];
                let (bw, bh) = if ns == 1 { (1, 1) } else { (comp.h, comp.v) };
                for by in 0..bh {
                    for bx in 0..bw {
                        decode_block(&mut br, &sc.dc, &sc.ac, &mut preds[si], &mut coef)?;
                        let x = (mx * bw + bx) * 8;
                        let y = (my * bh + by) * 8;
                        if keep {
                            comp.coefs[(y / 8) * (comp.pw / 8) + x / 8] = coef;
                            comp.q = sc.q;
                        } else {
                            let start = y * comp.pw + x;
                            idct_block(&coef, &sc.q, &mut comp.plane[start..], comp.pw, precision);
                        }
                    }
                }
            }
            if br.overrun() {
                return Err("truncated or corrupt JPEG data (entropy-coded data ended early)".into());
            }
        }
        for sc in &scomps {
            frame.comps[sc.ci].decoded = true;
        }
        self.pos = br.pos;
        Ok(())
    }

    /// The frame once every component has had its scan.
    fn scanned_frame(&mut self) -> Result<Frame, String> {
        let frame = self.frame.take().ok_or("no JPEG frame header (SOF) found")?;
        match frame.comps.iter().find(|c| !c.decoded) {
            Some(c) => Err(format!("truncated JPEG data: no scan for component {}", c.id)),
            None => Ok(frame),
        }
    }

    fn finish(mut self) -> Result<Jpeg12Image, String> {
        let frame = self.scanned_frame()?;
        let (w, h, nc) = (frame.width, frame.height, frame.comps.len());
        let coded_rgb = coded_rgb(self.jfif, self.adobe_transform, &frame.comps.iter().map(|c| c.id).collect::<Vec<_>>());
        let mut samples = alloc_u16(w * h * nc)?;
        if nc == 1 {
            for (y, out) in samples.chunks_exact_mut(w).enumerate() {
                upsample_row(&frame.comps[0], frame.hmax, frame.vmax, y, out);
            }
        } else {
            let mut row = alloc_u16(w)?;
            for (ci, c) in frame.comps.iter().enumerate() {
                for (y, out) in samples.chunks_exact_mut(w * nc).enumerate() {
                    upsample_row(c, frame.hmax, frame.vmax, y, &mut row);
                    for (dst, &s) in out.iter_mut().skip(ci).step_by(nc).zip(row.iter()) {
                        *dst = s;
                    }
                }
            }
        }
        Ok(Jpeg12Image {
            width: w as u32,
            height: h as u32,
            components: nc as u16,
            precision: frame.precision as u16,
            samples,
            coded_rgb,
        })
    }
}

// ---------------------------------------------------------------------------------------
// Upsampling (libjpeg jdsample.c)

/// Output row `y` of component `c` at full resolution (`out.len()` = image width).
fn upsample_row(c: &Component, hmax: usize, vmax: usize, y: usize, out: &mut [u16]) {
    let w = out.len();
    let (dw, dh, pw) = (c.dw, c.dh, c.pw);
    let row = |r: usize| &c.plane[r * pw..r * pw + dw];
    let h2 = c.h * 2 == hmax;
    let v2 = c.v * 2 == vmax;
    let v1 = c.v == vmax;
    if c.h == hmax && v1 {
        out.copy_from_slice(&row(y)[..w]);
    } else if h2 && (v1 || v2) && dw > 2 {
        // h2v1 / h2v2 "fancy": triangle filter, 3/4 of the nearer and 1/4 of the further
        // sample in each direction (edges replicated).
        let sy = if v2 { y / 2 } else { y };
        let cur = row(sy);
        if v2 {
            let other = if y % 2 == 0 {
                row(sy.saturating_sub(1))
            } else {
                row((sy + 1).min(dh - 1))
            };
            let sum = |i: usize| 3 * cur[i] as u32 + other[i] as u32;
            for (x, o) in out.iter_mut().enumerate() {
                let i = x / 2;
                let v = if x % 2 == 0 {
                    3 * sum(i) + sum(i.saturating_sub(1)) + 8
                } else {
                    3 * sum(i) + sum((i + 1).min(dw - 1)) + 7
                };
                *o = (v >> 4) as u16;
            }
        } else {
            for (x, o) in out.iter_mut().enumerate() {
                let i = x / 2;
                let v = if x % 2 == 0 {
                    3 * cur[i] as u32 + cur[i.saturating_sub(1)] as u32 + 1
                } else {
                    3 * cur[i] as u32 + cur[(i + 1).min(dw - 1)] as u32 + 2
                };
                *o = (v >> 2) as u16;
            }
        }
    } else if c.h == hmax && v2 {
        // h1v2 "fancy" (libjpeg-turbo).
        let sy = y / 2;
        let cur = row(sy);
        let (other, bias) = if y % 2 == 0 {
            (row(sy.saturating_sub(1)), 1)
        } else {
            (row((sy + 1).min(dh - 1)), 2)
        };
        for (x, o) in out.iter_mut().enumerate() {
            *o = ((3 * cur[x] as u32 + other[x] as u32 + bias) >> 2) as u16;
        }
    } else {
        // Replication (integral ratios), nearest sample otherwise.
        let sy = (y * c.v / vmax).min(dh - 1);
        let src = row(sy);
        for (x, o) in out.iter_mut().enumerate() {
            *o = src[(x * c.h / hmax).min(dw - 1)];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fixtures in tests/fixtures/jpeg12: NAME.jpg (codestream) and NAME.u16 (expected
    /// samples, raw little-endian u16, interleaved, full resolution). The streams were made
    /// from synthetic images by dcmcjpeg, Pillow and a small Python test encoder (for what
    /// those cannot make: restart intervals with fill bytes, 16-bit DQT, non-interleaved and
    /// partially interleaved scans, unusual sampling factors). The expected samples come from
    /// IJG libjpeg (dcmtk's `dcmdjpeg +cn`) or libjpeg-turbo (Pillow, YCbCr output), never
    /// from this decoder. The decoder is bit-exact with them (tolerance 0); a different IDCT
    /// would need 1 or 2.
    /// (name, width, height, components, precision, tolerance)
    const FIXTURES: &[(&str, u32, u32, u16, u16, u16)] = &[
        // dcmcjpeg +ee: 12-bit extended sequential (SOF1), odd size
        ("mono12_dcmtk", 123, 77, 1, 12, 0),
        // dcmcjpeg +eb: 8-bit baseline (SOF0)
        ("mono8_dcmtk", 97, 64, 1, 8, 0),
        // dcmcjpeg +eb -ho: Annex K standard Huffman tables
        ("mono8_stdhuff", 40, 24, 1, 8, 0),
        // dcmcjpeg +eb +s2: YCbCr 4:2:2 (h2v1 fancy upsampling)
        ("ybr8_422_dcmtk", 80, 48, 3, 8, 0),
        // dcmcjpeg +eb +n1: YCbCr 4:1:1 (replication)
        ("ybr8_411_dcmtk", 61, 37, 3, 8, 0),
        // Pillow 4:2:0 (h2v2 fancy), DRI 5 MCUs
        ("ycc8_420_rst_pillow", 72, 56, 3, 8, 0),
        // Pillow 4:2:0, 3x5 (chroma width 2: no fancy)
        ("ycc8_420_tiny_pillow", 3, 5, 3, 8, 0),
        // 12-bit, 16-bit DQT, DRI 7 with fill bytes before RSTn
        ("mono12_rst_q16", 75, 50, 1, 12, 0),
        // 12-bit 4:2:0, 3 non-interleaved scans, DHT+DQT before each, DRI 3
        ("ycc12_420_multiscan", 64, 45, 3, 12, 0),
        // 8-bit SOF1, Y 3x1 + 1x1 chroma, scans {Y} then {Cb,Cr}
        ("ycc8_31_partial", 70, 33, 3, 8, 0),
        // Y 2x2, Cb 1x2 (h2v1), Cr 2x1 (h1v2, turbo filter), DRI 2
        ("ycc8_mixed_interleaved", 50, 38, 3, 8, 0),
        // 8-bit 4:4:0 (h1v2 fancy, libjpeg-turbo)
        ("ycc8_h1v2", 48, 40, 3, 8, 0),
        // 12-bit, Y 4x1, Cb 1x1 (replication x4), Cr 2x1 (h2v1 fancy)
        ("ycc12_41", 67, 21, 3, 12, 0),
        // flat colours, sampling 3x2/2x1/1x1 (non-integral), DRI 1
        ("flat12_nonint", 29, 19, 3, 12, 0),
    ];

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/tests/fixtures/jpeg12/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn expected(name: &str) -> Vec<u16> {
        fixture(&format!("{name}.u16"))
            .chunks_exact(2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .collect()
    }

    fn max_diff(a: &[u16], b: &[u16]) -> u16 {
        assert_eq!(a.len(), b.len());
        a.iter().zip(b).map(|(&x, &y)| x.abs_diff(y)).max().unwrap_or(0)
    }

    /// Byte ranges (marker start, segment end) of the marker segments before the first SOS
    /// and of every SOS header.
    fn segments(d: &[u8]) -> Vec<(u8, usize, usize)> {
        let mut out = Vec::new();
        let mut i = 2;
        while i + 4 <= d.len() && d[i] == 0xFF {
            let m = d[i + 1];
            let len = ((d[i + 2] as usize) << 8) | d[i + 3] as usize;
            out.push((m, i, i + 2 + len));
            if m == 0xDA {
                break;
            }
            i += 2 + len;
        }
        out
    }

    fn sof_offset(d: &[u8]) -> usize {
        segments(d)
            .iter()
            .find(|s| s.0 == 0xC0 || s.0 == 0xC1)
            .expect("SOF")
            .1
    }

    /// `d` with its three components renamed `ids` (in the frame header and every scan).
    fn with_component_ids(d: &[u8], ids: [u8; 3]) -> Vec<u8> {
        let mut out = d.to_vec();
        let sof = sof_offset(d);
        let old: Vec<u8> = (0..3).map(|k| d[sof + 10 + 3 * k]).collect();
        let rename = |b: &mut u8| *b = ids[old.iter().position(|o| o == b).expect("a known component")];
        (0..3).for_each(|k| rename(&mut out[sof + 10 + 3 * k]));
        // FF DA cannot occur in entropy-coded data (0xFF is stuffed), so every match is a scan.
        for sos in (0..d.len() - 1).filter(|&i| d[i] == 0xFF && d[i + 1] == 0xDA) {
            (0..d[sos + 4] as usize).for_each(|k| rename(&mut out[sos + 5 + 2 * k]));
        }
        out
    }

    #[test]
    fn rgb_coded_streams_are_told_apart_as_libjpeg_does() {
        let d = fixture("ycc8_h1v2.jpg");
        assert!(!decode(&d).unwrap().coded_rgb, "component ids 1 2 3, no marker: YCbCr");
        // Component ids 'R' 'G' 'B', unless a JFIF marker says YCbCr.
        assert!(decode(&with_component_ids(&d, *b"RGB")).unwrap().coded_rgb);
        let jfif_stream = fixture("ybr8_422_dcmtk.jpg");
        assert!(!decode(&with_component_ids(&jfif_stream, *b"RGB")).unwrap().coded_rgb);
        // An Adobe APP14 marker right after SOI: transform 0 is RGB, 1 is YCbCr; a JFIF
        // marker means YCbCr whatever else is said.
        let with = |segments: &[&[u8]]| {
            let mut out = d[..2].to_vec();
            for seg in segments {
                out.extend_from_slice(seg);
            }
            out.extend_from_slice(&d[2..]);
            out
        };
        let adobe = |t: u8| -> Vec<u8> { [&[0xFF, 0xEE, 0, 14][..], b"Adobe", &[0, 100, 0, 0, 0, 0, t]].concat() };
        let jfif: &[u8] = &[0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0];
        assert!(decode(&with(&[&adobe(0)])).unwrap().coded_rgb);
        assert!(!decode(&with(&[&adobe(1)])).unwrap().coded_rgb);
        assert!(!decode(&with(&[jfif, &adobe(0)])).unwrap().coded_rgb);
        assert!(!decode(&fixture("mono8_dcmtk.jpg")).unwrap().coded_rgb, "one component is never RGB");
    }

    #[test]
    fn fixtures_match_reference_decoders() {
        for &(name, w, h, c, p, tol) in FIXTURES {
            let img = decode(&fixture(&format!("{name}.jpg"))).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(
                (img.width, img.height, img.components, img.precision),
                (w, h, c, p),
                "{name}"
            );
            let exp = expected(name);
            assert_eq!(img.samples.len(), exp.len(), "{name}");
            let d = max_diff(&img.samples, &exp);
            assert!(d <= tol, "{name}: max abs difference {d} > {tol}");
            assert!(
                img.samples.iter().all(|&s| s < (1 << p)),
                "{name}: sample out of range"
            );
        }
    }

    #[test]
    fn dicom_padding_and_missing_eoi_are_accepted() {
        let data = fixture("mono12_rst_q16.jpg");
        let want = decode(&data).unwrap();
        assert_eq!(&data[data.len() - 2..], &[0xFF, 0xD9]);
        let no_eoi = &data[..data.len() - 2];
        let mut padded = data.clone();
        padded.push(0);
        let mut no_eoi_padded = no_eoi.to_vec();
        no_eoi_padded.extend_from_slice(&[0, 0, 0]);
        for variant in [&padded[..], no_eoi, &no_eoi_padded[..]] {
            assert_eq!(decode(variant).unwrap(), want);
        }
    }

    #[test]
    fn missing_huffman_tables_default_to_annex_k() {
        // dcmcjpeg -ho wrote the Annex K tables; without its DHT segments the stream must
        // decode the same (libjpeg-turbo behaviour, Motion-JPEG style streams).
        let data = fixture("mono8_stdhuff.jpg");
        let mut stripped = data.clone();
        for &(m, a, b) in segments(&data).iter().rev() {
            if m == 0xC4 {
                stripped.drain(a..b);
            }
        }
        assert!(stripped.len() < data.len());
        assert_eq!(decode(&stripped).unwrap(), decode(&data).unwrap());
    }

    #[test]
    fn malformed_streams_are_errors() {
        let data = fixture("mono12_rst_q16.jpg");
        #[track_caller]
        fn err(d: &[u8]) -> String {
            match decode(d) {
                Ok(img) => panic!(
                    "decoded a malformed stream: {}x{}x{}",
                    img.width, img.height, img.components
                ),
                Err(e) => e,
            }
        }
        // Empty, garbage, no SOI, SOI only, header only.
        err(&[]);
        err(&[0xFF]);
        err(b"this is not a JPEG codestream at all");
        err(&data[2..]);
        err(&[0xFF, 0xD8, 0xFF, 0xD9]);
        let sos = segments(&data).last().unwrap().2;
        err(&data[..sos]);
        // Truncation anywhere (headers, inside the entropy-coded data, the last data byte
        // before the fill bytes and EOI).
        let mut end = data.len() - 2;
        while data[end - 1] == 0xFF {
            end -= 1;
        }
        for cut in [3, 10, 40, 100, 150, sos + 1, (sos + data.len()) / 2, end - 1] {
            assert!(decode(&data[..cut]).is_err(), "cut at {cut} of {}", data.len());
        }
        // Garbage after SOI.
        let mut x = 0x1234_5678u32;
        let mut garbage = vec![0xFF, 0xD8];
        for _ in 0..4000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            garbage.push(x as u8);
        }
        err(&garbage);
        // A restart marker removed.
        let rst = (sos..data.len() - 1)
            .find(|&i| data[i] == 0xFF && data[i + 1] == 0xD3)
            .unwrap();
        let mut no_rst = data.clone();
        no_rst.drain(rst..rst + 2);
        err(&no_rst);
        // SOF fields: zero sizes, precision, absurd size, component count, sampling factor.
        let sof = sof_offset(&data);
        let patched = |off: usize, bytes: &[u8]| {
            let mut d = data.clone();
            d[sof + off..sof + off + bytes.len()].copy_from_slice(bytes);
            d
        };
        assert!(err(&patched(5, &[0, 0])).contains("size"), "zero height");
        assert!(err(&patched(7, &[0, 0])).contains("size"), "zero width");
        assert!(err(&patched(4, &[16])).contains("precision"));
        assert!(err(&patched(4, &[2])).contains("precision"));
        err(&patched(5, &[0xFF, 0xFF, 0xFF, 0xFF])); // 65535x65535 from 2 kB of data
        err(&patched(9, &[0]));
        err(&patched(11, &[0x51]));
        err(&patched(11, &[0x10]));
    }

    #[test]
    fn other_processes_are_rejected_clearly() {
        let data = fixture("mono12_dcmtk.jpg");
        let sof = sof_offset(&data);
        for (code, what) in [
            (0xC2, "progressive"),
            (0xC3, "lossless"),
            (0xC9, "arithmetic"),
            (0xC5, "hierarchical"),
        ] {
            let mut d = data.clone();
            d[sof + 1] = code;
            let e = match decode(&d) {
                Ok(_) => panic!("a {what} stream was decoded"),
                Err(e) => e,
            };
            assert!(e.contains("unsupported JPEG process") && e.contains(what), "{e}");
        }
    }

    #[test]
    fn random_mutations_never_panic() {
        let bases: Vec<Vec<u8>> = [
            "mono12_rst_q16",
            "ycc12_420_multiscan",
            "ycc8_mixed_interleaved",
            "ycc8_420_tiny_pillow",
            "flat12_nonint",
        ]
        .iter()
        .map(|n| fixture(&format!("{n}.jpg")))
        .collect();
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut rnd = move |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n.max(1) as u64) as usize
        };
        let (mut ok, mut failed) = (0, 0);
        for i in 0..4000 {
            let mut d = bases[i % bases.len()].clone();
            let sos = segments(&d).last().map_or(2, |s| s.2);
            for _ in 0..1 + rnd(4) {
                let len = d.len();
                // Headers get most of the attention: that is where the structure is.
                let at = if rnd(3) == 0 { rnd(len) } else { rnd(sos.min(len)) };
                match rnd(8) {
                    0 => d[at] ^= 1 << rnd(8),
                    1 => d[at] = rnd(256) as u8,
                    2 => d[at] = [0x00, 0xFF, 0x01, 0x7F, 0x80, 0x10, 0x44][rnd(7)],
                    3 => d.truncate(at.max(2)),
                    4 => {
                        let n = rnd(16).min(len - at);
                        d.drain(at..at + n);
                    }
                    5 => {
                        let b = rnd(256) as u8;
                        d.insert(at, b);
                    }
                    6 => {
                        let n = rnd(32).min(len - at);
                        let chunk = d[at..at + n].to_vec();
                        let to = rnd(d.len());
                        d.splice(to..to, chunk);
                    }
                    _ => {
                        d.insert(at, 0xFF);
                        d.insert(at + 1, [0xD0, 0xD9, 0xDA, 0xC4, 0xDB, 0xDD, 0x00, 0xC1][rnd(8)]);
                    }
                }
                if d.len() < 2 {
                    break;
                }
            }
            match decode(&d) {
                Ok(img) => {
                    ok += 1;
                    let n = img.width as usize * img.height as usize * img.components as usize;
                    assert_eq!(img.samples.len(), n);
                    assert!(img.samples.iter().all(|&s| s < (1 << img.precision)));
                }
                Err(e) => {
                    failed += 1;
                    assert!(!e.is_empty());
                }
            }
        }
        eprintln!("mutations: {ok} decoded, {failed} rejected");
        assert!(ok > 0 && failed > 0, "ok {ok}, failed {failed}");
    }
}
