//! RLE Lossless (PS3.5 Annex G) decoding and encoding, our own: dicom-rs's decoder indexes past a
//! segment that decodes short (a fuzz finding), and a panic in the browser is a trapped
//! worker. Every length here is checked against the header's image size; corrupt data is an
//! error naming the segment, never a panic or an allocation beyond the frame.

/// One frame: the 64-byte header (number of segments, up to 15 offsets) then the segments,
/// one per byte of each sample (most significant byte first), each PackBits-coded to
/// `width * height` bytes. Returns the samples interleaved (R G B R G B ...), one word each.
pub fn decode(stream: &[u8], width: u32, height: u32, samples: u16, bits_allocated: u16) -> Result<Vec<u16>, String> {
    let bytes_per_sample = match bits_allocated {
        8 => 1usize,
        16 => 2,
        other => return Err(format!("RLE with {other} bits allocated is not supported")),
    };
    let (pixels, spp) = (width as usize * height as usize, samples as usize);
    if stream.len() < 64 {
        return Err(format!("RLE header truncated ({} bytes, 64 needed)", stream.len()));
    }
    let word = |i: usize| u32::from_le_bytes([stream[4 * i], stream[4 * i + 1], stream[4 * i + 2], stream[4 * i + 3]]) as usize;
    let count = word(0);
    let needed = spp * bytes_per_sample;
    // The header has room for 15 offsets.
    if count != needed || count > 15 {
        return Err(format!("RLE header lists {count} segments, {needed} expected for {spp} sample(s) of {bits_allocated} bits"));
    }
    let mut out = vec![0u16; pixels * spp];
    let mut segment = Vec::with_capacity(pixels);
    for seg in 0..count {
        let start = word(1 + seg);
        let end = if seg + 1 < count { word(2 + seg) } else { stream.len() };
        if start < 64 || start > end || end > stream.len() {
            return Err(format!("RLE segment {} has offsets {start}..{end} outside the {} bytes of the frame", seg + 1, stream.len()));
        }
        unpack_bits(&stream[start..end], pixels, &mut segment).map_err(|e| format!("RLE segment {}: {e}", seg + 1))?;
        // Segment order: sample 0 high byte, sample 0 low byte, sample 1 high byte, ...
        let (sample, shift) = (seg / bytes_per_sample, 8 * (bytes_per_sample - 1 - seg % bytes_per_sample));
        for (p, b) in segment.iter().enumerate() {
            out[p * spp + sample] |= (*b as u16) << shift;
        }
    }
    Ok(out)
}

/// PackBits: a header byte n, then n + 1 literal bytes (n in 0..=127) or one byte repeated
/// 1 - n times (n in -127..=-1); -128 is a no-op. Exactly `len` bytes into `out`: a segment
/// that runs short is an error, anything past `len` (padding) is ignored.
fn unpack_bits(data: &[u8], len: usize, out: &mut Vec<u8>) -> Result<(), String> {
    out.clear();
    let mut i = 0;
    while out.len() < len && i < data.len() {
        let n = data[i] as i8;
        i += 1;
        match n {
            0..=127 => {
                let k = n as usize + 1;
                let lit = data.get(i..i + k).ok_or("a literal run goes past the end of the segment")?;
                out.extend_from_slice(&lit[..k.min(len - out.len())]);
                i += k;
            }
            -127..=-1 => {
                let v = *data.get(i).ok_or("a repeat run has no byte")?;
                i += 1;
                let k = (1 - n as isize) as usize;
                out.resize(out.len() + k.min(len - out.len()), v);
            }
            -128 => {}
        }
    }
    if out.len() < len {
        return Err(format!("decodes to {} bytes, {len} expected", out.len()));
    }
    Ok(())
}

/// One frame as RLE Lossless: the 64-byte header, then one PackBits segment per byte of
/// each sample (most significant first), each row coded on its own (PS3.5 G.3.1) and each
/// segment padded to an even length. `words` are the samples interleaved, one word each;
/// `bits_allocated` 8 or 16 (checked by the caller), at most 7 samples (15 segments).
pub fn encode(words: impl Fn(usize) -> u16, width: u32, height: u32, samples: u16, bits_allocated: u16) -> Vec<u8> {
    let bytes_per_sample = if bits_allocated == 16 { 2 } else { 1 };
    let (w, h, spp) = (width as usize, height as usize, samples as usize);
    let count = spp * bytes_per_sample;
    let mut out = vec![0u8; 64];
    out[..4].copy_from_slice(&(count as u32).to_le_bytes());
    let mut row = Vec::with_capacity(w);
    for seg in 0..count {
        let offset = out.len() as u32;
        out[4 + 4 * seg..8 + 4 * seg].copy_from_slice(&offset.to_le_bytes());
        let (sample, shift) = (seg / bytes_per_sample, 8 * (bytes_per_sample - 1 - seg % bytes_per_sample));
        for y in 0..h {
            row.clear();
            row.extend((0..w).map(|x| (words((y * w + x) * spp + sample) >> shift) as u8));
            pack_bits(&row, &mut out);
        }
        if out.len() % 2 == 1 {
            out.push(0);
        }
    }
    out
}

/// PackBits: runs of two or more equal bytes as a repeat (up to 128), the rest as literals
/// (up to 128), a literal ending where a run of three begins.
fn pack_bits(src: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < src.len() {
        let run = src[i..].iter().take(128).take_while(|&&b| b == src[i]).count();
        if run >= 2 {
            out.push((257 - run) as u8);
            out.push(src[i]);
            i += run;
            continue;
        }
        let start = i;
        i += 1;
        while i < src.len() && i - start < 128 && !(i + 2 < src.len() && src[i] == src[i + 1] && src[i] == src[i + 2]) {
            i += 1;
        }
        out.push((i - start - 1) as u8);
        out.extend_from_slice(&src[start..i]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(offsets: &[u32]) -> Vec<u8> {
        let mut h = vec![0u8; 64];
        h[..4].copy_from_slice(&(offsets.len() as u32).to_le_bytes());
        for (i, o) in offsets.iter().enumerate() {
            h[4 + 4 * i..8 + 4 * i].copy_from_slice(&o.to_le_bytes());
        }
        h
    }

    #[test]
    fn literal_repeat_and_noop_runs() {
        let mut out = Vec::new();
        unpack_bits(&[2, 1, 2, 3, 0x80, 0xFE, 9], 6, &mut out).unwrap();
        assert_eq!(out, [1, 2, 3, 9, 9, 9]);
        // Padding past the expected length is ignored.
        unpack_bits(&[0xFD, 4], 2, &mut out).unwrap();
        assert_eq!(out, [4, 4]);
        assert!(unpack_bits(&[3, 1, 2], 4, &mut out).is_err(), "literal past the end");
        assert!(unpack_bits(&[0xFF], 2, &mut out).is_err(), "repeat without its byte");
        assert!(unpack_bits(&[0xFF, 1], 3, &mut out).is_err(), "short segment");
    }

    #[test]
    fn sixteen_bit_rgb_segments_interleave_high_byte_first() {
        // 2 pixels, 3 samples, 16 bits: six segments, each "2 literal bytes".
        let segs: Vec<Vec<u8>> = (0..6u8).map(|s| vec![1, s * 16, s * 16 + 1]).collect();
        let mut offsets = Vec::new();
        let mut at = 64u32;
        for s in &segs {
            offsets.push(at);
            at += s.len() as u32;
        }
        let mut stream = header(&offsets);
        segs.iter().for_each(|s| stream.extend_from_slice(s));
        let words = decode(&stream, 2, 1, 3, 16).unwrap();
        // pixel 0: R = (0x00 << 8) | 0x10, G = (0x20 << 8) | 0x30, B = (0x40 << 8) | 0x50
        assert_eq!(words, vec![0x0010, 0x2030, 0x4050, 0x0111, 0x2131, 0x4151]);
    }

    #[test]
    fn pack_bits_round_trips_runs_literals_and_their_limits() {
        let cases: Vec<Vec<u8>> = vec![
            vec![],
            vec![5],
            vec![1, 1],
            vec![7; 300],
            (0..=255).chain(0..=255).collect(),
            [vec![1, 2], vec![3; 3], vec![4, 5, 5, 6], vec![9; 129]].concat(),
        ];
        for src in cases {
            let mut packed = Vec::new();
            pack_bits(&src, &mut packed);
            let mut back = Vec::new();
            unpack_bits(&packed, src.len(), &mut back).unwrap();
            assert_eq!(back, src);
        }
        let mut packed = Vec::new();
        pack_bits(&[7; 300], &mut packed);
        assert_eq!(packed, [0x81, 7, 0x81, 7, 0xD5, 7], "runs of 128, 128 and 44");
    }

    #[test]
    fn encoded_frames_decode_to_their_samples() {
        let mut seed = 7u32;
        let mut next = move || {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (seed >> 16) as u16
        };
        for (w, h, spp, bits) in [(17, 5, 1, 8), (31, 4, 3, 8), (9, 9, 1, 16), (6, 2, 3, 16), (1, 1, 1, 8)] {
            let mask = if bits == 8 { 0xFF } else { 0xFFFF };
            // Noise with runs: a value repeats for a random length.
            let mut words = Vec::new();
            while words.len() < w * h * spp {
                let (v, n) = (next() & mask, 1 + next() as usize % 6);
                words.extend(std::iter::repeat_n(v, n));
            }
            words.truncate(w * h * spp);
            let stream = encode(|i| words[i], w as u32, h as u32, spp as u16, bits);
            assert_eq!(stream.len() % 2, 0);
            assert_eq!(decode(&stream, w as u32, h as u32, spp as u16, bits).unwrap(), words, "{w}x{h}x{spp} {bits} bits");
        }
    }

    #[test]
    fn corrupt_frames_are_errors() {
        assert!(decode(&[0; 10], 2, 2, 1, 8).is_err(), "short header");
        let mut s = header(&[64]);
        s.extend_from_slice(&[0xFD, 7]);
        assert_eq!(decode(&s, 2, 2, 1, 8).unwrap(), vec![7; 4]);
        assert!(decode(&s, 3, 2, 1, 8).is_err(), "segment short for the image");
        assert!(decode(&header(&[64, 64]), 2, 2, 1, 8).is_err(), "segment count");
        assert!(decode(&header(&[900]), 2, 2, 1, 8).is_err(), "offset outside");
        assert!(decode(&header(&[64]), 2, 2, 1, 32).is_err(), "32 bits");
        // 16 segments would need a 16th offset past the 64-byte header.
        let mut many = vec![0u8; 64];
        many[0] = 16;
        assert!(decode(&many, 1, 1, 8, 16).is_err(), "more segments than the header holds");
    }
}
