//! Masking a sequential JPEG in its DCT coefficients, then writing it again: the image stays
//! JPEG (same transfer syntax, Photometric Interpretation and quantization), every 8x8 block
//! outside the masked MCUs keeps its coefficients, so it decodes exactly as before, and no
//! second lossy step is taken. Masked MCUs become flat blocks of the fill value.
//!
//! The codestream is written anew from the coefficients, never copied: one interleaved scan
//! (one scan per component when an MCU would exceed 10 blocks), Huffman tables computed for
//! the data (ITU-T T.81 K.2, as libjpeg's `jpeg_gen_optimal_table`), no restart markers, and
//! of the application markers only what says the colour space (a fresh JFIF or Adobe
//! marker): comments and EXIF, which can carry identifying text, are not written.

use super::decode::frame_stream;
use super::jpeg12::{decode_coefficients, Coefficients, NATURAL_ORDER};
use super::MaskedBox;

/// Pixels per MCU across and down: the grid whole-MCU masking snaps to.
pub fn mcu_size(c: &Coefficients) -> (u32, u32) {
    ((8 * c.hmax) as u32, (8 * c.vmax) as u32)
}

/// `[x0, x1) x [y0, y1)` widened to whole MCUs, clipped to the image.
pub fn snap_to_mcus(c: &Coefficients, (x0, y0, x1, y1): (u32, u32, u32, u32)) -> (u32, u32, u32, u32) {
    let (mw, mh) = mcu_size(c);
    let (w, h) = (c.width as u32, c.height as u32);
    (x0 / mw * mw, y0 / mh * mh, x1.div_ceil(mw).saturating_mul(mw).min(w), y1.div_ceil(mh).saturating_mul(mh).min(h))
}

/// The quantized DC coefficient of a flat block of sample value `fill`: the inverse DCT of
/// a DC-only block gives `center + round(dc * q0 / 8)` (then clamped), so the extremes are
/// rounded outwards to come out exact (black stays 0).
fn flat_dc(fill: u16, q0: u16, precision: u8) -> i16 {
    let center = 1i64 << (precision - 1);
    let max = (1i64 << precision) - 1;
    let offset = (fill as i64).min(max) - center;
    let q = q0.max(1) as i64;
    let dc = match offset * 8 {
        x if fill == 0 => x.div_euclid(q),
        x if fill as i64 >= max => -((-x).div_euclid(q)),
        x => (2 * x + q).div_euclid(2 * q),
    };
    // |offset * 8| <= 2^(precision + 2): a DC of category precision + 3 at most.
    dc.clamp(-(1 << (precision + 2)), 1 << (precision + 2)) as i16
}

/// Replace every MCU that `rect` (in pixels) touches by flat blocks: component `i` gets the
/// sample value `fill[i]`.
pub fn mask(c: &mut Coefficients, rect: (u32, u32, u32, u32), fill: &[u16]) {
    let (mw, mh) = mcu_size(c);
    let (x0, y0, x1, y1) = snap_to_mcus(c, rect);
    if x0 >= x1 || y0 >= y1 {
        return;
    }
    let precision = c.precision;
    for comp_index in 0..c.components.len() {
        let comp = &mut c.components[comp_index];
        let mut flat = [0i16; 64];
        flat[0] = flat_dc(fill.get(comp_index).copied().unwrap_or(0), comp.q[0], precision);
        for my in (y0 / mh) as usize..y1.div_ceil(mh) as usize {
            for mx in (x0 / mw) as usize..x1.div_ceil(mw) as usize {
                for by in my * comp.v..(my + 1) * comp.v {
                    for bx in mx * comp.h..(mx + 1) * comp.h {
                        if let Some(b) = comp.blocks.get_mut(by * comp.blocks_w + bx) {
                            *b = flat;
                        }
                    }
                }
            }
        }
    }
}

/// One entropy-coded event: a Huffman symbol of table `(class, slot)` and the extra bits
/// after it.
struct Symbol {
    ac: bool,
    slot: usize,
    symbol: u8,
    bits: u32,
    nbits: u32,
}

/// Magnitude category of `v` and its extra bits (T.81 F.1.2.1).
fn category(v: i32) -> (u32, u32) {
    let n = 32 - v.unsigned_abs().leading_zeros();
    let bits = if v < 0 { (v - 1) as u32 & ((1u32 << n) - 1) } else { v as u32 };
    (n, bits)
}

/// The scans written: each is the list of components it holds.
fn scans(c: &Coefficients) -> Vec<Vec<usize>> {
    let n = c.components.len();
    let blocks_per_mcu: usize = c.components.iter().map(|k| k.h * k.v).sum();
    if n > 1 && blocks_per_mcu <= 10 {
        vec![(0..n).collect()]
    } else {
        (0..n).map(|i| vec![i]).collect()
    }
}

/// Huffman table slot of component `i`: 0 for the first (luminance), 1 for the others.
fn slot(i: usize) -> usize {
    (i > 0) as usize
}

/// Every symbol of `scan`, in coding order.
fn scan_symbols(c: &Coefficients, scan: &[usize], mut f: impl FnMut(Symbol)) {
    let mut preds = vec![0i32; c.components.len()];
    let mut block = |ci: usize, b: &[i16; 64], preds: &mut [i32]| {
        let (n, bits) = category(b[0] as i32 - preds[ci]);
        preds[ci] = b[0] as i32;
        f(Symbol { ac: false, slot: slot(ci), symbol: n as u8, bits, nbits: n });
        let mut run = 0u8;
        for &k in &NATURAL_ORDER[1..64] {
            let v = b[k] as i32;
            if v == 0 {
                run += 1;
                continue;
            }
            while run > 15 {
                f(Symbol { ac: true, slot: slot(ci), symbol: 0xF0, bits: 0, nbits: 0 });
                run -= 16;
            }
            let (n, bits) = category(v);
            f(Symbol { ac: true, slot: slot(ci), symbol: (run << 4) | n as u8, bits, nbits: n });
            run = 0;
        }
        if run > 0 {
            f(Symbol { ac: true, slot: slot(ci), symbol: 0x00, bits: 0, nbits: 0 });
        }
    };
    if let [ci] = scan {
        // Non-interleaved: the component's own blocks, row by row.
        let comp = &c.components[*ci];
        for by in 0..comp.dh.div_ceil(8) {
            for bx in 0..comp.dw.div_ceil(8) {
                block(*ci, &comp.blocks[by * comp.blocks_w + bx], &mut preds);
            }
        }
        return;
    }
    for my in 0..c.mcuy {
        for mx in 0..c.mcux {
            for &ci in scan {
                let comp = &c.components[ci];
                for by in my * comp.v..(my + 1) * comp.v {
                    for bx in mx * comp.h..(mx + 1) * comp.h {
                        block(ci, &comp.blocks[by * comp.blocks_w + bx], &mut preds);
                    }
                }
            }
        }
    }
}

/// A Huffman table: code lengths per length 1..=16 and the symbols in code order (T.81 K.2,
/// as libjpeg's `jpeg_gen_optimal_table`: no code of all ones, at most 16 bits).
fn optimal_table(freq: &[u64; 256]) -> ([u8; 16], Vec<u8>) {
    let mut freq: Vec<u64> = freq.iter().copied().chain([1]).collect(); // 256: reserved
    let mut codesize = [0usize; 257];
    let mut others = [-1i32; 257];
    loop {
        // The two least frequent (the larger symbol on ties, as libjpeg).
        let mut c1: Option<usize> = None;
        for i in 0..257 {
            if freq[i] > 0 && c1.is_none_or(|c| freq[i] <= freq[c]) {
                c1 = Some(i);
            }
        }
        let mut c2: Option<usize> = None;
        for i in 0..257 {
            if freq[i] > 0 && Some(i) != c1 && c2.is_none_or(|c| freq[i] <= freq[c]) {
                c2 = Some(i);
            }
        }
        let (Some(mut a), Some(mut b)) = (c1, c2) else { break };
        freq[a] += freq[b];
        freq[b] = 0;
        codesize[a] += 1;
        while others[a] >= 0 {
            a = others[a] as usize;
            codesize[a] += 1;
        }
        others[a] = b as i32;
        codesize[b] += 1;
        while others[b] >= 0 {
            b = others[b] as usize;
            codesize[b] += 1;
        }
    }
    let mut bits = [0usize; 64];
    for &s in codesize.iter().filter(|s| **s > 0) {
        bits[s] += 1;
    }
    // Limit code lengths to 16 (K.3).
    for i in (17..64).rev() {
        while bits[i] > 0 {
            let mut j = i - 2;
            while bits[j] == 0 {
                j -= 1;
            }
            bits[i] -= 2;
            bits[i - 1] += 1;
            bits[j + 1] += 2;
            bits[j] -= 1;
        }
    }
    // Drop the reserved symbol's code (the longest).
    let mut i = 16;
    while bits[i] == 0 {
        i -= 1;
    }
    bits[i] -= 1;
    let mut values = Vec::new();
    for len in 1..64 {
        values.extend((0..256).filter(|&s| codesize[s] == len).map(|s| s as u8));
    }
    let mut counts = [0u8; 16];
    for len in 1..=16 {
        counts[len - 1] = bits[len] as u8;
    }
    let total = counts.iter().map(|c| *c as usize).sum::<usize>();
    values.truncate(total);
    (counts, values)
}

/// Code and length of each symbol of a table ([`optimal_table`]'s output), canonical
/// (T.81 C.2).
fn codes(counts: &[u8; 16], values: &[u8]) -> [(u16, u8); 256] {
    let mut out = [(0u16, 0u8); 256];
    let (mut code, mut k) = (0u32, 0usize);
    for len in 1..=16u8 {
        for _ in 0..counts[len as usize - 1] {
            out[values[k] as usize] = (code as u16, len);
            code += 1;
            k += 1;
        }
        code <<= 1;
    }
    out
}

/// Entropy-coded bits, 0xFF stuffed with 0x00.
struct BitWriter {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl BitWriter {
    fn put(&mut self, bits: u32, n: u32) {
        if n == 0 {
            return;
        }
        self.acc = (self.acc << n) | (bits as u64 & ((1u64 << n) - 1));
        self.n += n;
        while self.n >= 8 {
            let byte = (self.acc >> (self.n - 8)) as u8;
            self.out.push(byte);
            if byte == 0xFF {
                self.out.push(0);
            }
            self.n -= 8;
        }
    }

    /// Pad the last byte with one bits.
    fn finish(mut self) -> Vec<u8> {
        if self.n > 0 {
            self.put((1 << (8 - self.n)) - 1, 8 - self.n);
        }
        self.out
    }
}

fn segment(out: &mut Vec<u8>, marker: u8, payload: &[u8]) {
    out.extend_from_slice(&[0xFF, marker]);
    out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(payload);
}

/// The codestream of `c` (see the module comment), padded to an even length as DICOM
/// fragments are.
pub fn encode(c: &Coefficients) -> Vec<u8> {
    let mut out = vec![0xFF, 0xD8];
    if c.jfif {
        segment(&mut out, 0xE0, &[b'J', b'F', b'I', b'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0]);
    }
    if let Some(t) = c.adobe_transform {
        segment(&mut out, 0xEE, &[b'A', b'd', b'o', b'b', b'e', 0, 100, 0, 0, 0, 0, t]);
    }
    // One quantization table per component (slot = component index; at most 4).
    for (i, comp) in c.components.iter().enumerate() {
        let wide = comp.q.iter().any(|v| *v > 255);
        let mut p = vec![((wide as u8) << 4) | i as u8];
        for &k in &NATURAL_ORDER[..64] {
            if wide {
                p.extend_from_slice(&comp.q[k].to_be_bytes());
            } else {
                p.push(comp.q[k] as u8);
            }
        }
        segment(&mut out, 0xDB, &p);
    }
    let mut sof = vec![c.precision];
    sof.extend_from_slice(&(c.height as u16).to_be_bytes());
    sof.extend_from_slice(&(c.width as u16).to_be_bytes());
    sof.push(c.components.len() as u8);
    for (i, comp) in c.components.iter().enumerate() {
        sof.extend_from_slice(&[comp.id, ((comp.h as u8) << 4) | comp.v as u8, i as u8]);
    }
    segment(&mut out, c.sof, &sof);
    for scan in scans(c) {
        // Tables for this scan's data, then its header and its bits.
        let mut freq = [[[0u64; 256]; 2]; 2];
        scan_symbols(c, &scan, |s| freq[s.ac as usize][s.slot][s.symbol as usize] += 1);
        let mut table = [[[(0u16, 0u8); 256]; 2]; 2];
        let mut dht = Vec::new();
        for ac in 0..2 {
            for slot in 0..2 {
                if freq[ac][slot].iter().all(|f| *f == 0) {
                    continue;
                }
                let (counts, values) = optimal_table(&freq[ac][slot]);
                table[ac][slot] = codes(&counts, &values);
                dht.push(((ac as u8) << 4) | slot as u8);
                dht.extend_from_slice(&counts);
                dht.extend_from_slice(&values);
            }
        }
        segment(&mut out, 0xC4, &dht);
        let mut sos = vec![scan.len() as u8];
        for &ci in &scan {
            sos.extend_from_slice(&[c.components[ci].id, ((slot(ci) as u8) << 4) | slot(ci) as u8]);
        }
        sos.extend_from_slice(&[0, 63, 0]);
        segment(&mut out, 0xDA, &sos);
        let mut bw = BitWriter { out, acc: 0, n: 0 };
        scan_symbols(c, &scan, |s| {
            let (code, len) = table[s.ac as usize][s.slot][s.symbol as usize];
            bw.put(code as u32, len as u32);
            bw.put(s.bits, s.nbits);
        });
        out = bw.finish();
    }
    out.extend_from_slice(&[0xFF, 0xD9]);
    if out.len() % 2 == 1 {
        out.push(0);
    }
    out
}

/// JPEG baseline (8-bit) and extended (8/12-bit): the transfer syntaxes masked block by block.
pub fn recodes(ts: &str) -> bool {
    matches!(ts, super::decode::JPEG_BASELINE | super::decode::JPEG_EXTENDED)
}

/// The frames of an encapsulated JPEG, each masked in its MCUs under `boxes` (widened to
/// whole MCUs in place) and written again. `fill` gives the stored value of a masked
/// grey sample (monochrome images); colour is filled with black in the colour space the
/// stream is coded in. `Err`: some frame is not a sequential Huffman JPEG this decoder reads
/// (the caller then writes the decoded pixels instead).
pub fn recode_frames(fragments: &[Vec<u8>], offsets: &[u32], nframes: u32, boxes: &mut [MaskedBox], grey_fill: u16) -> Result<Vec<Vec<u8>>, String> {
    let mut out = Vec::with_capacity(nframes as usize);
    for f in 0..nframes {
        let stream = frame_stream(fragments, offsets, f, nframes).map_err(|e| e.reason().to_string())?;
        let mut c = decode_coefficients(&stream).map_err(|e| format!("frame {}: {e}", f + 1))?;
        let centre = 1u16 << (c.precision - 1);
        let fill = match c.components.len() {
            1 => vec![grey_fill],
            3 if c.coded_rgb() => vec![0, 0, 0],
            3 => vec![0, centre, centre],
            n => return Err(format!("frame {}: {n} JPEG components", f + 1)),
        };
        for b in boxes.iter_mut().filter(|b| b.frame == f) {
            (b.x0, b.y0, b.x1, b.y1) = snap_to_mcus(&c, (b.x0, b.y0, b.x1, b.y1));
            mask(&mut c, (b.x0, b.y0, b.x1, b.y1), &fill);
        }
        out.push(encode(&c));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pixels::jpeg12::{decode, ComponentCoefficients};

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/tests/fixtures/jpeg12/{name}.jpg", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    const FIXTURES: &[&str] = &[
        "mono12_dcmtk", "mono8_dcmtk", "mono8_stdhuff", "ybr8_422_dcmtk", "ybr8_411_dcmtk", "ycc8_420_rst_pillow",
        "ycc8_420_tiny_pillow", "mono12_rst_q16", "ycc12_420_multiscan", "ycc8_31_partial", "ycc8_mixed_interleaved",
        "ycc8_h1v2", "ycc12_41", "flat12_nonint",
    ];

    /// A pseudo-random frame of coefficients with the given sampling: DC and sparse AC
    /// within what `precision` allows; blocks outside the coded area zero (a single-component
    /// scan does not code them).
    fn synthetic(width: usize, height: usize, sampling: &[(usize, usize)], precision: u8, seed: u64) -> Coefficients {
        let mut state = seed;
        let mut next = move |n: i32| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((state >> 33) % (2 * n as u64 + 1)) as i32 - n
        };
        let (hmax, vmax) = (sampling.iter().map(|s| s.0).max().unwrap(), sampling.iter().map(|s| s.1).max().unwrap());
        let (mcux, mcuy) = (width.div_ceil(8 * hmax), height.div_ceil(8 * vmax));
        let dc_limit = 1 << (precision + 1);
        let components = sampling
            .iter()
            .enumerate()
            .map(|(i, &(h, v))| {
                let (dw, dh) = ((width * h).div_ceil(hmax), (height * v).div_ceil(vmax));
                let (blocks_w, blocks_h) = (mcux * h, mcuy * v);
                let blocks = (0..blocks_w * blocks_h)
                    .map(|k| {
                        let mut b = [0i16; 64];
                        if k % blocks_w < dw.div_ceil(8) && k / blocks_w < dh.div_ceil(8) {
                            b[0] = next(dc_limit) as i16;
                            for c in b.iter_mut().skip(1) {
                                if next(3) == 0 {
                                    *c = next(dc_limit / 2) as i16;
                                }
                            }
                        }
                        b
                    })
                    .collect();
                let mut q = [1u16; 64];
                q[0] = 1 + i as u16;
                ComponentCoefficients { id: i as u8 + 1, h, v, dw, dh, blocks_w, q, blocks }
            })
            .collect();
        Coefficients { sof: if precision == 8 { 0xC0 } else { 0xC1 }, precision, width, height, hmax, vmax, mcux, mcuy, components, jfif: false, adobe_transform: None }
    }

    #[test]
    fn written_again_every_fixture_has_the_same_coefficients_and_samples() {
        for name in FIXTURES {
            let original = fixture(name);
            let c = decode_coefficients(&original).unwrap();
            let again = encode(&c);
            assert_eq!(again.len() % 2, 0);
            assert_eq!(decode_coefficients(&again).unwrap(), c, "{name}");
            assert_eq!(decode(&again).unwrap(), decode(&original).unwrap(), "{name}");
        }
    }

    #[test]
    fn synthetic_frames_round_trip_interleaved_or_one_scan_per_component() {
        for (w, h, sampling, precision) in [
            (37, 29, vec![(1, 1)], 8),
            (41, 23, vec![(2, 2)], 12),
            (70, 45, vec![(2, 2), (1, 1), (1, 1)], 8),
            (70, 45, vec![(4, 2), (1, 1), (1, 1)], 12),
            // 16 + 1 + 1 blocks per MCU: one scan per component.
            (77, 70, vec![(4, 4), (1, 1), (1, 1)], 8),
            (33, 17, vec![(1, 1), (1, 1), (1, 1), (1, 1)], 8),
        ] {
            let c = synthetic(w, h, &sampling, precision, w as u64 * 31 + h as u64);
            assert_eq!(scans(&c).len() > 1, sampling.len() > 1 && sampling.iter().map(|s| s.0 * s.1).sum::<usize>() > 10);
            assert_eq!(decode_coefficients(&encode(&c)).unwrap(), c, "{w}x{h} {sampling:?} {precision}-bit");
        }
    }

    #[test]
    fn a_flat_block_decodes_to_the_fill_and_extremes_exactly() {
        for precision in [8u8, 12] {
            let (center, max) = (1i64 << (precision - 1), (1i64 << precision) - 1);
            for q0 in 1..=255u16 {
                for fill in [0, 1, center as u16 - 3, center as u16, center as u16 + 7, max as u16 - 1, max as u16] {
                    let dc = flat_dc(fill, q0, precision) as i64;
                    // The inverse DCT of a DC-only block (jpeg12's islow, descaled by 2^3).
                    let pixel = ((dc * q0 as i64 + 4) >> 3) + center;
                    let pixel = pixel.clamp(0, max);
                    if fill == 0 || fill as i64 == max {
                        assert_eq!(pixel, fill as i64, "{precision}-bit q0 {q0} fill {fill}");
                    } else {
                        assert!((pixel - fill as i64).abs() <= q0 as i64 / 16 + 1, "{precision}-bit q0 {q0} fill {fill}: {pixel}");
                    }
                }
            }
        }
    }

    #[test]
    fn masked_mcus_are_flat_and_every_other_block_decodes_as_before() {
        // Grey: bit-exact outside the MCUs, exactly the fill inside.
        for (name, fill) in [("mono8_dcmtk", 0u16), ("mono12_dcmtk", 4095), ("mono8_stdhuff", 0)] {
            let original = fixture(name);
            let mut c = decode_coefficients(&original).unwrap();
            let rect = snap_to_mcus(&c, (13, 9, 30, 17));
            assert_eq!(rect, (8, 8, 32, 24));
            mask(&mut c, (13, 9, 30, 17), &[fill]);
            let (before, after) = (decode(&original).unwrap(), decode(&encode(&c)).unwrap());
            let w = before.width as usize;
            for (i, (a, b)) in after.samples.iter().zip(&before.samples).enumerate() {
                let (x, y) = ((i % w) as u32, (i / w) as u32);
                let inside = (rect.0..rect.2).contains(&x) && (rect.1..rect.3).contains(&y);
                assert_eq!(*a, if inside { fill } else { *b }, "{name} ({x}, {y})");
            }
        }
        // YCbCr 4:2:2 and 4:2:0: luma as grey; chroma upsampling blends the masked chroma
        // into at most two pixels beyond the MCUs, nothing further.
        for name in ["ybr8_422_dcmtk", "ycc8_420_rst_pillow"] {
            let original = fixture(name);
            let mut c = decode_coefficients(&original).unwrap();
            let rect = snap_to_mcus(&c, (20, 10, 40, 20));
            assert_eq!((rect.0 % 16, rect.2 % 16), (0, 0));
            mask(&mut c, (20, 10, 40, 20), &[0, 128, 128]);
            let (before, after) = (decode(&original).unwrap(), decode(&encode(&c)).unwrap());
            let w = before.width as usize;
            for (i, (a, b)) in after.samples.chunks(3).zip(before.samples.chunks(3)).enumerate() {
                let (x, y) = ((i % w) as u32, (i / w) as u32);
                let inside = (rect.0..rect.2).contains(&x) && (rect.1..rect.3).contains(&y);
                let near = (rect.0.saturating_sub(2)..rect.2 + 2).contains(&x) && (rect.1.saturating_sub(2)..rect.3 + 2).contains(&y);
                assert_eq!(a[0], if inside { 0 } else { b[0] }, "{name} luma ({x}, {y})");
                if !near {
                    assert_eq!(a, b, "{name} ({x}, {y})");
                }
            }
        }
    }

    #[test]
    fn huffman_tables_stay_within_16_bits_and_prefix_free() {
        // Fibonacci frequencies make a tree 30 deep before the lengths are limited.
        let mut freq = [0u64; 256];
        let (mut a, mut b) = (1u64, 1u64);
        for f in freq.iter_mut().take(30) {
            *f = a;
            (a, b) = (b, a + b);
        }
        for freq in [freq, [1; 256], { let mut one = [0; 256]; one[7] = 5; one }] {
            let (counts, values) = optimal_table(&freq);
            assert_eq!(values.len(), freq.iter().filter(|f| **f > 0).count());
            assert_eq!(counts.iter().map(|c| *c as usize).sum::<usize>(), values.len());
            // Kraft sum below 1: no code is all ones.
            let kraft: f64 = counts.iter().enumerate().map(|(i, c)| *c as f64 / (1u64 << (i + 1)) as f64).sum();
            assert!(kraft < 1.0, "{kraft}");
            let table = codes(&counts, &values);
            for &s in &values {
                let (code, len) = table[s as usize];
                assert!((1..=16).contains(&len) && (code as u32) < (1u32 << len) - 1, "symbol {s}: {code:b} ({len} bits)");
            }
        }
    }
}
