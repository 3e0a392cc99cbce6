//! JPEG-LS decoder (ITU-T T.87 | ISO/IEC 14495-1), pure Rust, no dependencies.
//!
//! Decodes one codestream (SOI ... EOI) as stored in one frame of a DICOM JPEG-LS
//! transfer syntax (1.2.840.10008.1.2.4.80 lossless, .81 near-lossless):
//!
//! - lossless (NEAR = 0) and near-lossless (NEAR > 0) scans;
//! - sample precision 2..=16 bits, 1 to 4 components;
//! - interleave modes 0 (one scan per component, or any grouping of components over
//!   several scans), 1 (line) and 2 (sample);
//! - default and custom preset coding parameters (LSE id 1: MAXVAL, T1, T2, T3, RESET),
//!   oversize dimensions (LSE id 4), restart intervals (DRI / RSTm);
//! - context modelling, run mode, bias correction, limited-length Golomb codes and the
//!   JPEG-LS marker bit stuffing (after a 0xFF byte only 7 bits are data).
//!
//! Rejected with an error: mapping tables (palettised scans, LSE id 2/3 used by a scan),
//! colour transforms (LSE id 13, CharLS' "mrfx" APP8 with a non-zero transform), a point
//! transform, subsampled components, the DNL marker (height 0 in SOF), more than four
//! components.
//!
//! Malformed input gives `Err`, never a panic: every marker segment is bounds checked,
//! the entropy decoder stops at the end of the data, and memory grows with the decoded
//! lines (at most 2^31 samples per image), not with the header's claims.

#![forbid(unsafe_code)]

/// A decoded JPEG-LS image: samples interleaved pixel by pixel (R G B R G B ... for 3 components), row-major.
pub struct JlsImage {
    pub width: u32,
    pub height: u32,
    pub components: u16,
    pub bits: u16,
    pub samples: Vec<u16>,
}

impl std::fmt::Debug for JlsImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JlsImage")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("components", &self.components)
            .field("bits", &self.bits)
            .field("samples", &self.samples.len())
            .finish()
    }
}

/// Largest image accepted, in samples (width x height x components).
const MAX_SAMPLES: u64 = 1 << 31;
/// Largest width or height accepted (SOF holds 16 bits; LSE id 4 may give more).
const MAX_DIMENSION: u32 = 1 << 20;
/// Largest mapped error value that can be valid (RANGE + 1 <= 65537), with margin;
/// larger decoded values mean corrupt data (and would risk overflow).
const MAX_MAPPED_ERROR: u64 = 1 << 18;

/// J[RUNindex]: run-length order table (T.87 A.7.1.2).
const J: [u32; 32] = [
    0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 9, 10, 11, 12, 13, 14, 15,
];

type Res<T> = Result<T, String>;
/// Errors of the entropy decoder (hot path): a one-byte code, formatted once at the top.
type EntropyRes<T> = Result<T, Fault>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    LongUnary,
    BigError,
    LongRun,
    NoRestart,
    WrongRestart,
    Internal,
}

impl Fault {
    fn message(self) -> &'static str {
        match self {
            Fault::LongUnary => "invalid Golomb code (too many leading zeros)",
            Fault::BigError => "invalid Golomb code (error value out of range)",
            Fault::LongRun => "run length exceeds the line",
            Fault::NoRestart => "truncated data (missing restart marker)",
            Fault::WrongRestart => "expected restart marker not found",
            Fault::Internal => "internal error (line buffers)",
        }
    }
}

fn fail<T>(msg: impl std::fmt::Display) -> Res<T> {
    Err(format!("JPEG-LS: {msg}"))
}

/// Decode one JPEG-LS codestream (SOI ... EOI), as found in one DICOM frame (fragments concatenated; trailing 0x00 padding after EOI allowed).
pub fn decode(data: &[u8]) -> Result<JlsImage, String> {
    if data.len() < 2 || data[0] != 0xFF || data[1] != 0xD8 {
        return fail("not a JPEG-LS codestream (no SOI marker)");
    }
    let mut pos = 2usize;
    let mut frame: Option<FrameHeader> = None;
    let mut preset = PresetRaw::default();
    let mut restart_interval: u32 = 0;
    let mut scans: Vec<ScanOutput> = Vec::new();
    let mut saw_eoi = false;

    while let Some((marker, after)) = read_marker(data, pos)? {
        pos = after;
        match marker {
            0xD8 => {
                // A second SOI (e.g. after a SPIFF directory) before the frame: tolerated.
                if frame.is_some() {
                    return fail("unexpected SOI marker inside the image");
                }
            }
            0xD9 => {
                saw_eoi = true;
                break;
            }
            0xF7 => {
                let seg = segment(data, &mut pos)?;
                if frame.is_some() {
                    return fail("more than one SOF55 frame header");
                }
                frame = Some(parse_frame(seg)?);
            }
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                return fail(format!(
                    "SOF{} frame: this is a JPEG (T.81) codestream, not JPEG-LS",
                    marker - 0xC0
                ));
            }
            0xF8 => {
                let seg = segment(data, &mut pos)?;
                parse_lse(seg, &mut preset, frame.as_mut(), !scans.is_empty())?;
            }
            0xDD => {
                let seg = segment(data, &mut pos)?;
                if seg.is_empty() || seg.len() > 4 {
                    return fail("bad DRI segment length");
                }
                restart_interval = seg.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b));
            }
            0xDC => return fail("DNL marker (height defined after the scan) is not supported"),
            0xDA => {
                let seg = segment(data, &mut pos)?;
                let Some(fr) = frame.as_ref() else {
                    return fail("SOS before the SOF55 frame header");
                };
                let header = parse_scan(seg, fr, &preset, restart_interval, &scans)?;
                let (samples, next) = decode_scan(data, pos, fr, &header)?;
                scans.push(ScanOutput { components: header.components, samples });
                pos = next;
            }
            0xE0..=0xEF => {
                let seg = segment(data, &mut pos)?;
                // CharLS writes its HP colour transform id in an APP8 "mrfx" segment.
                if marker == 0xE8 && seg.len() >= 5 && &seg[..4] == b"mrfx" && seg[4] != 0 {
                    return fail(format!("HP colour transform {} (APP8 mrfx) is not supported", seg[4]));
                }
            }
            0xF9 => return fail("JPEG-LS part 2 extensions (SOF57) are not supported"),
            0xFE | 0xF0..=0xF6 | 0xFA..=0xFD | 0xC4 | 0xC8 | 0xCC | 0xDB | 0xDE | 0xDF => {
                segment(data, &mut pos)?;
            }
            0xD0..=0xD7 => return fail("restart marker outside a scan"),
            0x01 => {} // TEM, no length
            _ => return fail(format!("unexpected marker 0xFF{marker:02X}")),
        }
    }

    let Some(fr) = frame else {
        return fail("no SOF55 frame header");
    };
    let nf = fr.component_ids.len();
    let covered: usize = scans.iter().map(|s| s.components.len()).sum();
    if covered != nf {
        return fail(if saw_eoi {
            "EOI before every component was decoded"
        } else {
            "truncated codestream (missing scans or EOI)"
        });
    }
    let (width, height) = (fr.width as usize, fr.height as usize);
    let pixels = width * height;

    let samples = if scans.len() == 1 && scans[0].components.iter().enumerate().all(|(i, &c)| i == c) {
        scans.pop().map(|s| s.samples).unwrap_or_default()
    } else {
        let mut out = zeroed::<u16>(pixels * nf)?;
        for scan in &scans {
            let ns = scan.components.len();
            for (dst, src) in out.chunks_exact_mut(nf).zip(scan.samples.chunks_exact(ns)) {
                for (&ci, &v) in scan.components.iter().zip(src) {
                    if let Some(d) = dst.get_mut(ci) {
                        *d = v;
                    }
                }
            }
        }
        out
    };
    if samples.len() != pixels * nf {
        return fail("internal error: sample count mismatch");
    }
    Ok(JlsImage {
        width: fr.width,
        height: fr.height,
        components: nf as u16,
        bits: fr.bits as u16,
        samples,
    })
}

// ---------------------------------------------------------------------------------------
// Marker segments
// ---------------------------------------------------------------------------------------

struct FrameHeader {
    width: u32,
    height: u32,
    bits: u32,
    component_ids: Vec<u8>,
}

/// Preset coding parameters as signalled (0 = default).
#[derive(Default, Clone, Copy)]
struct PresetRaw {
    maxval: u32,
    t1: u32,
    t2: u32,
    t3: u32,
    reset: u32,
}

struct ScanHeader {
    /// Indices into the frame's components, in scan order.
    components: Vec<usize>,
    near: u32,
    ilv: u8,
    maxval: u32,
    t1: u32,
    t2: u32,
    t3: u32,
    reset: u32,
    restart_interval: u32,
}

struct ScanOutput {
    components: Vec<usize>,
    /// Lines of the scan, its components interleaved pixel by pixel.
    samples: Vec<u16>,
}

/// Finds the marker at `pos` (skipping 0xFF fill bytes). `None` at the end of the data
/// or when only zero padding remains.
fn read_marker(data: &[u8], pos: usize) -> Res<Option<(u8, usize)>> {
    let rest = data.get(pos..).unwrap_or(&[]);
    if rest.iter().all(|&b| b == 0) {
        return Ok(None);
    }
    if rest[0] != 0xFF {
        return fail(format!("expected a marker at offset {pos}, found 0x{:02X}", rest[0]));
    }
    let mut i = 1;
    while i < rest.len() && rest[i] == 0xFF {
        i += 1;
    }
    match rest.get(i) {
        None => Ok(None),
        Some(0) => fail(format!("invalid marker 0xFF00 at offset {pos}")),
        Some(&m) => Ok(Some((m, pos + i + 1))),
    }
}

/// Reads a length-prefixed marker segment at `*pos`; returns its payload (after the length).
fn segment<'a>(data: &'a [u8], pos: &mut usize) -> Res<&'a [u8]> {
    let p = *pos;
    let (Some(&hi), Some(&lo)) = (data.get(p), data.get(p + 1)) else {
        return fail("truncated marker segment");
    };
    let len = usize::from(hi) << 8 | usize::from(lo);
    if len < 2 {
        return fail("marker segment length < 2");
    }
    let Some(seg) = p.checked_add(len).and_then(|end| data.get(p + 2..end)) else {
        return fail("truncated marker segment");
    };
    *pos = p + len;
    Ok(seg)
}

fn be16(b: &[u8], i: usize) -> u32 {
    match (b.get(i), b.get(i + 1)) {
        (Some(&h), Some(&l)) => u32::from(h) << 8 | u32::from(l),
        _ => 0,
    }
}

fn parse_frame(seg: &[u8]) -> Res<FrameHeader> {
    if seg.len() < 6 {
        return fail("SOF55 segment too short");
    }
    let bits = u32::from(seg[0]);
    let height = be16(seg, 1);
    let width = be16(seg, 3);
    let nf = usize::from(seg[5]);
    if seg.len() != 6 + 3 * nf {
        return fail("SOF55 segment length does not match its component count");
    }
    if !(2..=16).contains(&bits) {
        return fail(format!("sample precision {bits} (must be 2..16)"));
    }
    if nf == 0 || nf > 4 {
        return fail(format!("{nf} components (supported: 1 to 4)"));
    }
    let mut ids = Vec::with_capacity(nf);
    let mut sampling = None;
    for c in seg[6..].chunks_exact(3) {
        if ids.contains(&c[0]) {
            return fail("duplicate component identifier in SOF55");
        }
        ids.push(c[0]);
        match sampling {
            None => sampling = Some(c[1]),
            Some(s) if s != c[1] => return fail("subsampled components are not supported"),
            _ => {}
        }
    }
    Ok(FrameHeader { width, height, bits, component_ids: ids })
}

fn parse_lse(seg: &[u8], preset: &mut PresetRaw, frame: Option<&mut FrameHeader>, after_scan: bool) -> Res<()> {
    let Some(&id) = seg.first() else {
        return fail("empty LSE segment");
    };
    match id {
        1 => {
            if seg.len() != 11 {
                return fail("LSE preset parameters segment has the wrong length");
            }
            *preset = PresetRaw {
                maxval: be16(seg, 1),
                t1: be16(seg, 3),
                t2: be16(seg, 5),
                t3: be16(seg, 7),
                reset: be16(seg, 9),
            };
            Ok(())
        }
        // Mapping table specification / continuation: only an error if a scan uses one.
        2 | 3 => Ok(()),
        4 => {
            let Some(fr) = frame else {
                return fail("LSE oversize dimensions before the frame header");
            };
            if after_scan {
                return fail("LSE oversize dimensions after a scan");
            }
            let wxy = usize::from(*seg.get(1).unwrap_or(&0));
            if !(2..=4).contains(&wxy) || seg.len() != 2 + 2 * wxy {
                return fail("bad LSE oversize dimensions segment");
            }
            let num = |b: &[u8]| b.iter().fold(0u64, |a, &x| (a << 8) | u64::from(x));
            let h = num(&seg[2..2 + wxy]);
            let w = num(&seg[2 + wxy..2 + 2 * wxy]);
            if h > u64::from(MAX_DIMENSION) || w > u64::from(MAX_DIMENSION) {
                return fail(format!("image {w}x{h} is too large"));
            }
            fr.height = h as u32;
            fr.width = w as u32;
            Ok(())
        }
        13 => fail("HP colour transform (LSE id 13) is not supported"),
        _ => fail(format!("unknown LSE segment id {id}")),
    }
}

fn parse_scan(seg: &[u8], fr: &FrameHeader, preset: &PresetRaw, restart_interval: u32, done: &[ScanOutput]) -> Res<ScanHeader> {
    let Some(&ns) = seg.first() else {
        return fail("empty SOS segment");
    };
    let ns = usize::from(ns);
    if ns == 0 || ns > 4 || seg.len() != 4 + 2 * ns {
        return fail("bad SOS segment");
    }
    let mut components = Vec::with_capacity(ns);
    for c in seg[1..1 + 2 * ns].chunks_exact(2) {
        let Some(idx) = fr.component_ids.iter().position(|&id| id == c[0]) else {
            return fail(format!("scan refers to unknown component {}", c[0]));
        };
        if components.contains(&idx) || done.iter().any(|s| s.components.contains(&idx)) {
            return fail(format!("component {} is coded twice", c[0]));
        }
        if c[1] != 0 {
            return fail("mapping tables (palettised JPEG-LS) are not supported");
        }
        components.push(idx);
    }
    let near = u32::from(seg[1 + 2 * ns]);
    let mut ilv = seg[2 + 2 * ns];
    let pt = seg[3 + 2 * ns];
    if pt & 0x0F != 0 {
        return fail("point transform is not supported");
    }
    if ilv > 2 {
        return fail(format!("invalid interleave mode {ilv}"));
    }
    if ns == 1 {
        ilv = 0;
    } else if ilv == 0 {
        return fail("interleave mode 0 with more than one component in a scan");
    }

    // Dimensions are final now.
    if fr.width == 0 || fr.height == 0 {
        return fail(format!("image size {}x{} (zero dimension)", fr.width, fr.height));
    }
    if fr.width > MAX_DIMENSION || fr.height > MAX_DIMENSION {
        return fail(format!("image {}x{} is too large", fr.width, fr.height));
    }
    let total = u64::from(fr.width) * u64::from(fr.height) * fr.component_ids.len() as u64;
    if total > MAX_SAMPLES {
        return fail(format!("image of {total} samples is too large"));
    }

    // Preset coding parameters (T.87 C.2.4.1.1, validated as Table C.1).
    let max_component = (1u32 << fr.bits) - 1;
    let maxval = if preset.maxval == 0 { max_component } else { preset.maxval };
    if maxval > max_component || maxval < 1 {
        return fail(format!("MAXVAL {maxval} does not fit {} bits", fr.bits));
    }
    if near > 255 || near > maxval / 2 {
        return fail(format!("NEAR {near} is too large for MAXVAL {maxval}"));
    }
    let (d1, d2, d3) = default_thresholds(maxval, near);
    let t1 = if preset.t1 == 0 { d1 } else { preset.t1 };
    let t2 = if preset.t2 == 0 { d2 } else { preset.t2 };
    let t3 = if preset.t3 == 0 { d3 } else { preset.t3 };
    let reset = if preset.reset == 0 { 64 } else { preset.reset };
    if (preset.t1 != 0 && (t1 < near + 1 || t1 > maxval))
        || (preset.t2 != 0 && (t2 < t1 || t2 > maxval))
        || (preset.t3 != 0 && (t3 < t2 || t3 > maxval))
        || reset < 3
        || reset > maxval.max(255)
    {
        return fail(format!("invalid preset coding parameters T1={t1} T2={t2} T3={t3} RESET={reset}"));
    }
    Ok(ScanHeader { components, near, ilv, maxval, t1, t2, t3, reset, restart_interval })
}

/// Default thresholds T1, T2, T3 (T.87 C.2.4.1.1.1).
fn default_thresholds(maxval: u32, near: u32) -> (u32, u32, u32) {
    let clamp = |i: u32, j: u32| if i > maxval || i < j { j } else { i };
    if maxval >= 128 {
        let factor = (maxval.min(4095) + 128) / 256;
        let t1 = clamp(factor + 2 + 3 * near, near + 1);
        let t2 = clamp(factor * 4 + 3 + 5 * near, t1);
        let t3 = clamp(factor * 17 + 4 + 7 * near, t2);
        (t1, t2, t3)
    } else {
        let factor = 256 / (maxval + 1);
        let t1 = clamp((3 / factor + 3 * near).max(2), near + 1);
        let t2 = clamp((7 / factor + 5 * near).max(3), t1);
        let t3 = clamp((21 / factor + 7 * near).max(4), t2);
        (t1, t2, t3)
    }
}

/// A zero-filled vector, failing (instead of aborting) when memory is short.
fn zeroed<T: Clone + Default>(n: usize) -> Res<Vec<T>> {
    let mut v = Vec::new();
    if v.try_reserve_exact(n).is_err() {
        return fail(format!("out of memory for {n} values"));
    }
    v.resize(n, T::default());
    Ok(v)
}

// ---------------------------------------------------------------------------------------
// Bit reader
// ---------------------------------------------------------------------------------------

/// Reads the entropy-coded segment MSB first. A 0xFF byte is followed by a byte whose
/// top bit is a stuffed 0 (only 7 data bits); 0xFF followed by a byte >= 0x80 is a marker,
/// which ends the segment. Past the end, zero bits are supplied and counted as padding,
/// so a decoder that consumes padding can report truncated data.
struct BitReader<'a> {
    data: &'a [u8],
    pos: usize,
    /// Bits, MSB aligned. Bits below `bits` may hold a copy of the next byte's top bits.
    cache: u64,
    bits: u32,
    prev_ff: bool,
    at_end: bool,
    /// Zero bits supplied after the end of the segment.
    pad: u64,
}

impl<'a> BitReader<'a> {
    fn new(data: &'a [u8], pos: usize) -> Self {
        BitReader { data, pos, cache: 0, bits: 0, prev_ff: false, at_end: false, pad: 0 }
    }

    /// Tops the cache up to at least 57 bits.
    #[inline(never)]
    fn fill(&mut self) {
        // Fast path: eight bytes without 0xFF.
        if !self.prev_ff && !self.at_end {
            if let Some(chunk) = self.data.get(self.pos..self.pos + 8) {
                let mut b = [0u8; 8];
                b.copy_from_slice(chunk);
                let v = u64::from_be_bytes(b);
                let inv = !v;
                let has_ff = inv.wrapping_sub(0x0101_0101_0101_0101) & !inv & 0x8080_8080_8080_8080;
                if has_ff == 0 {
                    let n = (64 - self.bits) / 8;
                    self.cache |= v >> self.bits;
                    self.bits += n * 8;
                    self.pos += n as usize;
                    return;
                }
            }
        }
        while self.bits <= 56 {
            if self.at_end {
                self.pad += u64::from(64 - self.bits);
                self.bits = 64;
                return;
            }
            let Some(&b) = self.data.get(self.pos) else {
                self.at_end = true;
                continue;
            };
            if self.prev_ff {
                // Checked when the 0xFF was read: b < 0x80.
                self.cache |= u64::from(b & 0x7F) << (57 - self.bits);
                self.bits += 7;
                self.prev_ff = false;
            } else {
                if b == 0xFF {
                    match self.data.get(self.pos + 1) {
                        Some(&next) if next < 0x80 => self.prev_ff = true,
                        _ => {
                            self.at_end = true; // marker (or end of data)
                            continue;
                        }
                    }
                }
                self.cache |= u64::from(b) << (56 - self.bits);
                self.bits += 8;
            }
            self.pos += 1;
        }
    }

    #[inline]
    fn bit(&mut self) -> bool {
        if self.bits == 0 {
            self.fill();
        }
        let b = self.cache >> 63 != 0;
        self.cache <<= 1;
        self.bits -= 1;
        b
    }

    /// Reads `n` <= 32 bits.
    #[inline]
    fn read(&mut self, n: u32) -> u32 {
        if n == 0 {
            return 0;
        }
        if self.bits < n {
            self.fill();
        }
        let v = (self.cache >> (64 - n)) as u32;
        self.cache <<= n;
        self.bits -= n;
        v
    }

    /// Counts zero bits up to the next 1 bit (consumed); more than `max` zeros is an error.
    #[inline]
    fn unary(&mut self, max: u32) -> EntropyRes<u32> {
        let mut q = 0u32;
        loop {
            if self.bits == 0 {
                self.fill();
            }
            let lz = self.cache.leading_zeros();
            if lz < self.bits {
                q += lz;
                self.cache = self.cache.checked_shl(lz + 1).unwrap_or(0);
                self.bits -= lz + 1;
                return if q > max { Err(Fault::LongUnary) } else { Ok(q) };
            }
            q += self.bits;
            self.cache = 0;
            self.bits = 0;
            if q > max {
                return Err(Fault::LongUnary);
            }
        }
    }

    /// Limited-length Golomb code (T.87 A.5.3): MErrval.
    #[inline(always)]
    fn golomb(&mut self, k: u32, max_unary: u32, qbpp: u32) -> EntropyRes<u32> {
        let q = self.unary(max_unary)?;
        let v = if q < max_unary {
            (u64::from(q) << k) | u64::from(self.read(k))
        } else {
            u64::from(self.read(qbpp)) + 1
        };
        if v > MAX_MAPPED_ERROR {
            return Err(Fault::BigError);
        }
        Ok(v as u32)
    }

    /// True when more bits were consumed than the segment holds.
    fn overrun(&self) -> bool {
        self.pad > u64::from(self.bits)
    }

    /// Position of the marker that ends the segment (or the end of the data).
    fn marker_position(&self) -> usize {
        let mut i = self.pos;
        while i + 1 < self.data.len() {
            if self.data[i] == 0xFF && self.data[i + 1] >= 0x80 {
                return i;
            }
            i += 1;
        }
        self.data.len()
    }

    /// Byte-aligns, expects restart marker RSTm (m = `index` mod 8) and restarts after it.
    fn restart(&mut self, index: u32) -> EntropyRes<()> {
        let mut i = self.marker_position();
        if i >= self.data.len() {
            return Err(Fault::NoRestart);
        }
        while self.data.get(i) == Some(&0xFF) {
            i += 1;
        }
        if self.data.get(i) != Some(&(0xD0 + (index % 8) as u8)) {
            return Err(Fault::WrongRestart);
        }
        *self = BitReader::new(self.data, i + 1);
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// Scan decoding
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy)]
struct RegularContext {
    a: i64,
    b: i64,
    c: i32,
    n: i64,
}

#[derive(Clone, Copy)]
struct RunContext {
    a: i64,
    n: i64,
    nn: i64,
}

struct Coder {
    near: i32,
    maxval: i32,
    range: i32,
    /// 2 * NEAR + 1
    step: i32,
    qbpp: u32,
    limit: u32,
    reset: i64,
    a_init: i64,
    /// Gradient quantization, indexed by difference + MAXVAL.
    quant: Vec<i8>,
    ctx: [RegularContext; 365],
    run_ctx: [RunContext; 2],
}

/// Golomb parameter: the smallest k (at most 32) with n * 2^k >= a, for n >= 1.
#[inline]
fn golomb_k(n: i64, a: i64) -> u32 {
    if n >= a || n <= 0 {
        return 0;
    }
    let k = n.leading_zeros() - a.leading_zeros();
    let k = if (n << k) >= a { k } else { k + 1 };
    k.min(32)
}

fn ceil_log2(v: u32) -> u32 {
    // Smallest x with 2^x >= v.
    if v <= 1 {
        0
    } else {
        32 - (v - 1).leading_zeros()
    }
}

impl Coder {
    fn new(h: &ScanHeader) -> Res<Coder> {
        let maxval = h.maxval as i32;
        let near = h.near as i32;
        let step = 2 * near + 1;
        let range = (maxval + 2 * near) / step + 1;
        let qbpp = ceil_log2(range as u32);
        let bpp = ceil_log2(h.maxval + 1).max(2);
        let limit = 2 * (bpp + bpp.max(8));
        // Smallest escape threshold: run interruption with J = 15.
        if limit < qbpp + 18 {
            return fail("inconsistent coding parameters (LIMIT too small)");
        }
        let (t1, t2, t3) = (h.t1 as i32, h.t2 as i32, h.t3 as i32);
        let mut quant = zeroed::<i8>(2 * h.maxval as usize + 1)?;
        for (i, q) in quant.iter_mut().enumerate() {
            let d = i as i32 - maxval;
            *q = if d <= -t3 {
                -4
            } else if d <= -t2 {
                -3
            } else if d <= -t1 {
                -2
            } else if d < -near {
                -1
            } else if d <= near {
                0
            } else if d < t1 {
                1
            } else if d < t2 {
                2
            } else if d < t3 {
                3
            } else {
                4
            };
        }
        let a_init = i64::from(((range + 32) / 64).max(2));
        let mut coder = Coder {
            near,
            maxval,
            range,
            step,
            qbpp,
            limit,
            reset: i64::from(h.reset),
            a_init,
            quant,
            ctx: [RegularContext { a: 0, b: 0, c: 0, n: 1 }; 365],
            run_ctx: [RunContext { a: 0, n: 1, nn: 0 }; 2],
        };
        coder.reset_contexts();
        Ok(coder)
    }

    fn reset_contexts(&mut self) {
        self.ctx = [RegularContext { a: self.a_init, b: 0, c: 0, n: 1 }; 365];
        self.run_ctx = [RunContext { a: self.a_init, n: 1, nn: 0 }; 2];
    }

    /// Quantized context Q = 81 Q1 + 9 Q2 + Q3 for gradients of samples in [0, MAXVAL].
    #[inline]
    fn context(&self, d1: i32, d2: i32, d3: i32) -> i32 {
        let q = |d: i32| i32::from(self.quant.get((d + self.maxval) as usize).copied().unwrap_or(0));
        81 * q(d1) + 9 * q(d2) + q(d3)
    }

    /// Modulo reduction and clamping of a reconstructed value (T.87 A.4.5 / A.8).
    #[inline]
    fn fix(&self, mut v: i32) -> i32 {
        if v < -self.near {
            v += self.range * self.step;
        } else if v > self.maxval + self.near {
            v -= self.range * self.step;
        }
        v.max(0).min(self.maxval)
    }

    /// Regular mode sample (T.87 A.4 - A.6).
    #[inline(always)]
    fn regular(&mut self, br: &mut BitReader, q: i32, ra: i32, rb: i32, rc: i32) -> EntropyRes<i32> {
        let predicted = if rc >= ra.max(rb) {
            ra.min(rb)
        } else if rc <= ra.min(rb) {
            ra.max(rb)
        } else {
            ra + rb - rc
        };
        let negative = q < 0;
        let (near, step, reset, maxval, limit, qbpp) =
            (self.near, self.step, self.reset, self.maxval, self.limit, self.qbpp);
        // |q| <= 364 by construction of the quantization table.
        let ctx = &mut self.ctx[(q.unsigned_abs() as usize).min(364)];
        let px = (predicted + if negative { -ctx.c } else { ctx.c }).max(0).min(maxval);
        let k = golomb_k(ctx.n, ctx.a);
        let merr = br.golomb(k, limit - qbpp - 1, qbpp)? as i32;
        let mut e = if merr & 1 == 0 { merr >> 1 } else { -((merr + 1) >> 1) };
        if k == 0 && near == 0 && 2 * ctx.b + ctx.n - 1 < 0 {
            e = !e;
        }
        // Context update and bias correction (A.6).
        ctx.a += i64::from(e.abs());
        ctx.b += i64::from(e * step);
        if ctx.n == reset {
            ctx.a >>= 1;
            ctx.b >>= 1;
            ctx.n >>= 1;
        }
        ctx.n += 1;
        if ctx.b + ctx.n <= 0 {
            ctx.b += ctx.n;
            if ctx.b <= -ctx.n {
                ctx.b = -ctx.n + 1;
            }
            if ctx.c > -128 {
                ctx.c -= 1;
            }
        } else if ctx.b > 0 {
            ctx.b -= ctx.n;
            if ctx.b > 0 {
                ctx.b = 0;
            }
            if ctx.c < 127 {
                ctx.c += 1;
            }
        }
        let e = if negative { -e } else { e };
        Ok(self.fix(px + e * step))
    }

    /// Run length (T.87 A.7.1): number of samples equal to Ra, at most `remaining`.
    #[inline]
    fn run_length(&mut self, br: &mut BitReader, remaining: usize, run_index: &mut usize) -> EntropyRes<usize> {
        let mut count = 0usize;
        while br.bit() {
            let j = J[*run_index % 32];
            let len = 1usize << j;
            let c = len.min(remaining - count);
            count += c;
            if c == len && *run_index < 31 {
                *run_index += 1;
            }
            if count == remaining {
                return Ok(count);
            }
        }
        count += br.read(J[*run_index % 32]) as usize;
        if count > remaining {
            return Err(Fault::LongRun);
        }
        Ok(count)
    }

    /// Error value of a run interruption sample (T.87 A.7.2).
    #[inline]
    fn run_interruption_error(&mut self, br: &mut BitReader, ri_type: usize, run_index: usize) -> EntropyRes<i32> {
        let (reset, qbpp) = (self.reset, self.qbpp);
        let limit = self.limit - J[run_index % 32] - 1;
        let ctx = &mut self.run_ctx[ri_type & 1];
        let temp = ctx.a + if ri_type == 1 { ctx.n >> 1 } else { 0 };
        let k = golomb_k(ctx.n, temp);
        let em = br.golomb(k, limit - qbpp - 1, qbpp)?;
        let t = em + ri_type as u32;
        let map = t & 1 == 1;
        let abs = ((t + u32::from(map)) / 2) as i32;
        let negative = (k != 0 || 2 * ctx.nn >= ctx.n) == map;
        let e = if negative { -abs } else { abs };
        if e < 0 {
            ctx.nn += 1;
        }
        ctx.a += i64::from((em + 1 - ri_type as u32) >> 1);
        if ctx.n == reset {
            ctx.a >>= 1;
            ctx.n >>= 1;
            ctx.nn >>= 1;
        }
        ctx.n += 1;
        Ok(e)
    }

    /// Decodes one line of one component. `prev` and `cur` hold `w + 2` samples: the
    /// line at 1..=w, and the edge samples at 0 and w + 1 (set by the caller).
    fn decode_line(&mut self, br: &mut BitReader, prev: &[i32], cur: &mut [i32], run_index: &mut usize) -> EntropyRes<()> {
        let w = cur.len().saturating_sub(2);
        if prev.len() != cur.len() {
            return Err(Fault::Internal);
        }
        let mut x = 1usize;
        while x <= w {
            let ra = cur[x - 1];
            let rc = prev[x - 1];
            let rb = prev[x];
            let rd = prev[x + 1];
            let q = self.context(rd - rb, rb - rc, rc - ra);
            if q != 0 {
                cur[x] = self.regular(br, q, ra, rb, rc)?;
                x += 1;
                continue;
            }
            // Run mode.
            let n = self.run_length(br, w + 1 - x, run_index)?;
            cur[x..x + n].fill(ra);
            x += n;
            if x > w {
                break;
            }
            let rb = prev[x];
            cur[x] = if (ra - rb).abs() <= self.near {
                let e = self.run_interruption_error(br, 1, *run_index)?;
                self.fix(ra + e * self.step)
            } else {
                let e = self.run_interruption_error(br, 0, *run_index)?;
                let e = if rb < ra { -e } else { e };
                self.fix(rb + e * self.step)
            };
            *run_index = run_index.saturating_sub(1);
            x += 1;
        }
        Ok(())
    }

    /// Decodes one line in sample-interleaved mode: `ns` components per pixel, buffers of
    /// `(w + 2) * ns` samples laid out pixel by pixel.
    fn decode_line_interleaved(
        &mut self,
        br: &mut BitReader,
        prev: &[i32],
        cur: &mut [i32],
        ns: usize,
        run_index: &mut usize,
    ) -> EntropyRes<()> {
        if ns == 0 || ns > 4 || prev.len() != cur.len() {
            return Err(Fault::Internal);
        }
        let w = (cur.len() / ns).saturating_sub(2);
        if cur.len() != (w + 2) * ns {
            return Err(Fault::Internal);
        }
        let mut x = 1usize;
        while x <= w {
            let mut qs = [0i32; 4];
            for (c, q) in qs.iter_mut().enumerate().take(ns) {
                let ra = cur[(x - 1) * ns + c];
                let rc = prev[(x - 1) * ns + c];
                let rb = prev[x * ns + c];
                let rd = prev[(x + 1) * ns + c];
                *q = self.context(rd - rb, rb - rc, rc - ra);
            }
            if qs.iter().any(|&q| q != 0) {
                for (c, &q) in qs.iter().enumerate().take(ns) {
                    let ra = cur[(x - 1) * ns + c];
                    let rc = prev[(x - 1) * ns + c];
                    let rb = prev[x * ns + c];
                    cur[x * ns + c] = self.regular(br, q, ra, rb, rc)?;
                }
                x += 1;
                continue;
            }
            // Run mode over whole pixels.
            let n = self.run_length(br, w + 1 - x, run_index)?;
            for p in x..x + n {
                for c in 0..ns {
                    cur[p * ns + c] = cur[(x - 1) * ns + c];
                }
            }
            x += n;
            if x > w {
                break;
            }
            for c in 0..ns {
                let ra = cur[(x - 1) * ns + c];
                let rb = prev[x * ns + c];
                let e = self.run_interruption_error(br, 0, *run_index)?;
                let e = if rb < ra { -e } else { e };
                cur[x * ns + c] = self.fix(rb + e * self.step);
            }
            *run_index = run_index.saturating_sub(1);
            x += 1;
        }
        Ok(())
    }
}

/// Decodes the scan whose entropy-coded data starts at `start`. Returns the scan's samples
/// (its components interleaved pixel by pixel) and the position of the marker after it.
fn decode_scan(data: &[u8], start: usize, fr: &FrameHeader, h: &ScanHeader) -> Res<(Vec<u16>, usize)> {
    let w = fr.width as usize;
    let height = fr.height as usize;
    let ns = h.components.len();
    // Every line of every component costs at least one bit.
    let lines = height as u64 * if h.ilv == 2 { 1 } else { ns as u64 };
    if lines > (data.len().saturating_sub(start) as u64) * 8 {
        return fail("truncated data (too short for the image size)");
    }
    let mut coder = Coder::new(h)?;
    let mut br = BitReader::new(data, start);

    let total = w * height * ns;
    let mut out: Vec<u16> = Vec::new();
    // Reserve up front for ordinary sizes; larger images grow with the decoded lines.
    if out.try_reserve_exact(total.min(1 << 24)).is_err() {
        return fail("out of memory");
    }
    let stride = w + 2;
    let mut prev = zeroed::<i32>(stride * ns)?;
    let mut cur = zeroed::<i32>(stride * ns)?;
    let mut run_index = [0usize; 4];
    let interval = if h.restart_interval == 0 { height } else { h.restart_interval as usize };
    let mut restart_count = 0u32;
    let entropy = |e: Fault| format!("JPEG-LS: {}", e.message());

    for y in 0..height {
        if y > 0 && y % interval == 0 {
            br.restart(restart_count).map_err(entropy)?;
            restart_count = restart_count.wrapping_add(1);
            coder.reset_contexts();
            run_index = [0; 4];
            prev.fill(0);
            cur.fill(0);
        }
        if h.ilv == 2 {
            for c in 0..ns {
                cur[c] = prev[ns + c];
                prev[(w + 1) * ns + c] = prev[w * ns + c];
            }
            coder.decode_line_interleaved(&mut br, &prev, &mut cur, ns, &mut run_index[0]).map_err(entropy)?;
            if out.try_reserve(w * ns).is_err() {
                return fail("out of memory");
            }
            out.extend(cur[ns..(w + 1) * ns].iter().map(|&v| v as u16));
        } else {
            for (c, ri) in run_index.iter_mut().enumerate().take(ns) {
                let p = &mut prev[c * stride..(c + 1) * stride];
                p[w + 1] = p[w];
                let q = &mut cur[c * stride..(c + 1) * stride];
                q[0] = p[1];
                coder.decode_line(&mut br, p, q, ri).map_err(entropy)?;
            }
            if out.try_reserve(w * ns).is_err() {
                return fail("out of memory");
            }
            if ns == 1 {
                out.extend(cur[1..=w].iter().map(|&v| v as u16));
            } else {
                let start = out.len();
                out.resize(start + w * ns, 0);
                for (c, line) in cur.chunks_exact(stride).take(ns).enumerate() {
                    for (dst, &v) in out[start + c..].iter_mut().step_by(ns).zip(&line[1..=w]) {
                        *dst = v as u16;
                    }
                }
            }
        }
        if br.overrun() {
            return fail(format!("truncated data (entropy-coded data ends in line {y})"));
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    Ok((out, br.marker_position()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn fixture(name: &str) -> Vec<u8> {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jpegls").join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// FNV-1a 64 over the samples as little-endian u16 bytes.
    fn fnv1a64(samples: &[u16]) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for s in samples {
            for b in s.to_le_bytes() {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
        h
    }

    /// Expected samples of each fixture, as FNV-1a 64 of the reference decode: dcmtk's
    /// dcmdjpls, or (where dcmdjpls fails or cannot encode the stream) libjpeg's decoder,
    /// or the encoded source image itself (lossless).
    /// (file, width, height, components, bits, hash)
    const FIXTURES: &[(&str, u32, u32, u16, u16, u64)] = &[
        // dcmcjpls (CharLS) streams, reference dcmdjpls
        ("lossless_8bit_mono.jls", 64, 48, 1, 8, 0xc9fd378f58436a38),
        ("lossless_16bit_mono.jls", 64, 48, 1, 16, 0x429267fda71574ff),
        ("lossless_12bit_mono.jls", 56, 40, 1, 12, 0x89b4c7405e1f86b3),
        ("near2_8bit_rgb_ilv1.jls", 48, 40, 3, 8, 0xc1872b9eb078a3fd),
        ("near2_8bit_rgb_ilv2.jls", 48, 40, 3, 8, 0x9c376e63644a7db9),
        ("near3_16bit_mono.jls", 64, 48, 1, 16, 0x838f32f4221cca89),
        ("near1_12bit_mono.jls", 56, 40, 1, 12, 0x01158d05aa0ffee5),
        ("lossless_8bit_rgb_ilv0.jls", 48, 40, 3, 8, 0xa3261ee8b49546ef),
        ("lossless_8bit_rgb_ilv2.jls", 48, 40, 3, 8, 0xa3261ee8b49546ef),
        ("lossless_16bit_rgb_ilv1.jls", 32, 24, 3, 16, 0x6cae377fb1a8b310),
        ("custom_preset_8bit_mono.jls", 64, 48, 1, 8, 0xc9fd378f58436a38),
        ("custom_preset_near5_8bit_rgb_ilv1.jls", 48, 40, 3, 8, 0x8e9f0e7e319e42e3),
        // dcmcjpls stream that dcmdjpls cannot decode; reference libjpeg
        ("near2_16bit_rgb_ilv0.jls", 32, 24, 3, 16, 0xa473216b3d6e78e1),
        // streams from a small reference encoder, reference libjpeg
        ("custom_preset_near5_16bit_mono.jls", 40, 30, 1, 16, 0xaa55acab1fa27d6a),
        ("maxval1000_near2_12bit.jls", 40, 30, 1, 12, 0x2fb40cc0f196f661),
        ("lossless_2bit_mono.jls", 31, 20, 1, 2, 0xe681ee1c85a978bc),
        ("lossless_5bit_rgb_ilv2.jls", 23, 17, 3, 5, 0x41d729528b17ba05),
        ("lossless_8bit_4comp_ilv2.jls", 20, 16, 4, 8, 0xf3dd9a507af4b534),
        ("restart3_8bit_rgb_ilv1.jls", 30, 24, 3, 8, 0x3f1a794fdaf9c144),
        ("restart7_near2_8bit_rgb_ilv2.jls", 30, 24, 3, 8, 0xae525f391c7e0681),
        ("near255_16bit_mono.jls", 30, 20, 1, 16, 0x0606c844793d138a),
        // LSE with all-zero values (= defaults); reference the lossless source image
        ("lse_zero_defaults_12bit.jls", 40, 30, 1, 12, 0xc409093c81f4d278),
    ];

    fn check(name: &str) {
        let &(_, w, h, c, bits, hash) = FIXTURES.iter().find(|f| f.0 == name).expect("fixture listed");
        let img = decode(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!((img.width, img.height, img.components, img.bits), (w, h, c, bits), "{name}");
        assert_eq!(img.samples.len(), (w * h) as usize * c as usize, "{name}");
        assert_eq!(fnv1a64(&img.samples), hash, "{name}: samples differ from the reference decode");
    }

    #[test]
    fn lossless_8bit_mono() {
        check("lossless_8bit_mono.jls");
    }

    #[test]
    fn lossless_12bit_and_16bit_mono() {
        check("lossless_12bit_mono.jls");
        check("lossless_16bit_mono.jls");
    }

    #[test]
    fn near_lossless_8bit_rgb_line_and_sample_interleaved() {
        check("near2_8bit_rgb_ilv1.jls");
        check("near2_8bit_rgb_ilv2.jls");
    }

    #[test]
    fn near_lossless_mono_12bit_16bit() {
        check("near3_16bit_mono.jls");
        check("near1_12bit_mono.jls");
        check("near255_16bit_mono.jls");
    }

    #[test]
    fn colour_not_interleaved_one_scan_per_component() {
        check("lossless_8bit_rgb_ilv0.jls");
        check("near2_16bit_rgb_ilv0.jls");
    }

    #[test]
    fn colour_lossless_interleaved() {
        check("lossless_8bit_rgb_ilv2.jls");
        check("lossless_16bit_rgb_ilv1.jls");
        // Same source image as the ILV 0 stream.
        let a = decode(&fixture("lossless_8bit_rgb_ilv0.jls")).unwrap();
        let b = decode(&fixture("lossless_8bit_rgb_ilv2.jls")).unwrap();
        assert_eq!(a.samples, b.samples);
    }

    #[test]
    fn custom_preset_parameters() {
        check("custom_preset_8bit_mono.jls");
        check("custom_preset_near5_8bit_rgb_ilv1.jls");
        check("custom_preset_near5_16bit_mono.jls");
        check("maxval1000_near2_12bit.jls");
        check("lse_zero_defaults_12bit.jls");
        // Lossless with other thresholds: same samples as with the defaults.
        let a = decode(&fixture("lossless_8bit_mono.jls")).unwrap();
        let b = decode(&fixture("custom_preset_8bit_mono.jls")).unwrap();
        assert_eq!(a.samples, b.samples);
    }

    #[test]
    fn low_precision_four_components_restart_markers() {
        check("lossless_2bit_mono.jls");
        check("lossless_5bit_rgb_ilv2.jls");
        check("lossless_8bit_4comp_ilv2.jls");
        check("restart3_8bit_rgb_ilv1.jls");
        check("restart7_near2_8bit_rgb_ilv2.jls");
    }

    #[test]
    fn every_fixture_is_checked() {
        for f in FIXTURES {
            check(f.0);
        }
    }

    #[test]
    fn trailing_padding_and_fill_bytes_are_accepted() {
        let mut data = fixture("lossless_8bit_mono.jls");
        let want = decode(&data).unwrap().samples;
        data.extend_from_slice(&[0, 0, 0]);
        assert_eq!(decode(&data).unwrap().samples, want);
        // Fill bytes before EOI.
        let n = data.len();
        data.splice(n - 5..n - 5, [0xFF, 0xFF]);
        assert_eq!(decode(&data).unwrap().samples, want);
    }

    #[test]
    fn truncated_streams_fail() {
        for name in [
            "lossless_8bit_mono.jls",
            "near2_8bit_rgb_ilv2.jls",
            "restart7_near2_8bit_rgb_ilv2.jls",
            "lossless_8bit_rgb_ilv0.jls",
            "lossless_2bit_mono.jls",
        ] {
            let data = fixture(name);
            for cut in [0, 1, 2, 3, 10, 20, data.len() / 3, data.len() / 2, data.len() * 3 / 4, data.len() - 40] {
                assert!(decode(&data[..cut]).is_err(), "{name} cut at {cut} should fail");
            }
            // No prefix panics (every prefix of the small streams, a sample of the others).
            let step = if data.len() < 1000 { 1 } else { 7 };
            for cut in (0..data.len()).step_by(step) {
                let _ = decode(&data[..cut]);
            }
        }
    }

    #[test]
    fn garbage_fails() {
        assert!(decode(&[]).is_err());
        assert!(decode(&[0xFF, 0xD8]).is_err());
        assert!(decode(&[0xFF, 0xD8, 0xFF, 0xD9]).is_err());
        assert!(decode(b"this is not a JPEG-LS codestream").is_err());
        let mut rng = Rng(0x1234_5678_9abc_def1);
        for _ in 0..200 {
            let n = (rng.next() % 300) as usize;
            let mut v: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
            assert!(decode(&v).is_err());
            if v.len() >= 2 {
                v[0] = 0xFF;
                v[1] = 0xD8;
            }
            let _ = decode(&v);
        }
    }

    /// Offset of the first byte after marker 0xFF `code` (its length field).
    fn marker_offset(data: &[u8], code: u8) -> usize {
        data.windows(2).position(|w| w == [0xFF, code]).expect("marker present") + 2
    }

    #[test]
    fn zero_and_oversized_dimensions_fail() {
        let data = fixture("lossless_8bit_mono.jls");
        let sof = marker_offset(&data, 0xF7);
        // Lf(2) P(1) Y(2) X(2)
        for (field, value) in [(3, [0u8, 0]), (5, [0, 0])] {
            let mut d = data.clone();
            d[sof + field..sof + field + 2].copy_from_slice(&value);
            let e = decode(&d).unwrap_err();
            assert!(e.contains("zero") || e.contains("DNL"), "{e}");
        }
        // 65535 x 65535: more than 2^31 samples, rejected before any allocation.
        let mut d = data.clone();
        d[sof + 3..sof + 7].copy_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF]);
        assert!(decode(&d).unwrap_err().contains("too large"));
        // 40000 x 40000 (1.6e9 samples): far more lines than the data could code.
        let mut d = data.clone();
        d[sof + 3..sof + 7].copy_from_slice(&[0x9C, 0x40, 0x9C, 0x40]);
        assert!(decode(&d).is_err());
        // A wide single line of garbage ends in an error, not a long decode.
        let mut d = data.clone();
        d[sof + 3..sof + 7].copy_from_slice(&[0x00, 0x01, 0xFF, 0xFF]);
        let _ = decode(&d);
    }

    #[test]
    fn unsupported_features_are_rejected() {
        let data = fixture("lossless_8bit_mono.jls");
        let sof = marker_offset(&data, 0xF7);
        let sos = marker_offset(&data, 0xDA);
        // Baseline JPEG frame header.
        let mut d = data.clone();
        d[sof - 1] = 0xC0;
        assert!(decode(&d).unwrap_err().contains("not JPEG-LS"));
        // Mapping table selector in SOS (Ls(2) Ns(1) C1(1) Tm1(1)).
        let mut d = data.clone();
        d[sos + 4] = 1;
        assert!(decode(&d).unwrap_err().contains("mapping table"));
        // Point transform.
        let mut d = data.clone();
        d[sos + 7] = 1;
        assert!(decode(&d).unwrap_err().contains("point transform"));
        // Interleave mode 3.
        let mut d = data.clone();
        d[sos + 6] = 3;
        assert!(decode(&d).is_err());
        // NEAR larger than MAXVAL / 2.
        let mut d = data.clone();
        d[sos + 5] = 200;
        assert!(decode(&d).unwrap_err().contains("NEAR"));
        // Precision 1 and 17.
        for p in [1u8, 17] {
            let mut d = data.clone();
            d[sof + 2] = p;
            assert!(decode(&d).unwrap_err().contains("precision"));
        }
        // HP colour transform: LSE id 13, and CharLS' APP8 "mrfx".
        let insert = |seg: &[u8]| {
            let mut d = data.clone();
            d.splice(2..2, seg.iter().copied());
            d
        };
        let e = decode(&insert(&[0xFF, 0xF8, 0x00, 0x05, 0x0D, 0x01, 0x00])).unwrap_err();
        assert!(e.contains("colour transform"), "{e}");
        let e = decode(&insert(&[0xFF, 0xE8, 0x00, 0x07, b'm', b'r', b'f', b'x', 0x01])).unwrap_err();
        assert!(e.contains("colour transform"), "{e}");
        // ... but "no transform" is fine, as are other APPn and COM segments.
        let ok = decode(&insert(&[0xFF, 0xE8, 0x00, 0x07, b'm', b'r', b'f', b'x', 0x00, 0xFF, 0xFE, 0x00, 0x03, b'x']));
        assert!(ok.is_ok());
        // Invalid custom thresholds (T1 > MAXVAL).
        let e = decode(&insert(&[0xFF, 0xF8, 0x00, 0x0D, 0x01, 0, 0, 0x01, 0x00, 0, 0, 0, 0, 0, 0])).unwrap_err();
        assert!(e.contains("preset"), "{e}");
    }

    /// xorshift64* for the mutation tests.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    fn mutate(rng: &mut Rng, data: &mut Vec<u8>) {
        for _ in 0..1 + rng.below(3) {
            if data.is_empty() {
                return;
            }
            let i = rng.below(data.len());
            match rng.below(8) {
                0 => data[i] = rng.next() as u8,
                1 => data[i] ^= 1 << rng.below(8),
                2 => data[i] = 0xFF,
                3 => data.truncate(i),
                4 => data.insert(i, rng.next() as u8),
                5 => {
                    data.remove(i);
                }
                // Header fields: the first 64 bytes hold SOF, LSE, DRI and SOS.
                6 => {
                    let j = rng.below(data.len().min(64));
                    data[j] = [0, 1, 2, 3, 0x7F, 0x80, 0xFF, rng.next() as u8][rng.below(8)];
                }
                _ => {
                    let j = rng.below(data.len());
                    let (a, b) = (i.min(j), i.max(j));
                    let chunk: Vec<u8> = data[a..b.min(a + 16)].to_vec();
                    data.splice(b..b, chunk);
                }
            }
        }
    }

    #[test]
    fn random_mutations_never_panic() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut decoded = 0;
        for name in [
            "lossless_2bit_mono.jls",
            "restart7_near2_8bit_rgb_ilv2.jls",
            "maxval1000_near2_12bit.jls",
            "lossless_5bit_rgb_ilv2.jls",
            "near255_16bit_mono.jls",
        ] {
            let original = fixture(name);
            for _ in 0..600 {
                let mut data = original.clone();
                mutate(&mut rng, &mut data);
                if let Ok(img) = decode(&data) {
                    decoded += 1;
                    let n = img.width as usize * img.height as usize * usize::from(img.components);
                    assert_eq!(img.samples.len(), n);
                    let max = (1u32 << img.bits) - 1;
                    assert!(img.samples.iter().all(|&s| u32::from(s) <= max));
                }
            }
        }
        assert!(decoded > 0);
    }
}
