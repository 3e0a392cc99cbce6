//! RLE Lossless (PS3.5 Annex G) decoding, our own: dicom-rs's decoder indexes past a
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
