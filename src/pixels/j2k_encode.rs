//! JPEG 2000 lossless encoding through openjp2 (the pure-Rust port of OpenJPEG that also
//! decodes here, so it builds for wasm32): the cleaned frames of a JPEG 2000 Lossless image
//! are written back as JPEG 2000 Lossless (reversible 5/3 wavelet, one quality layer, and the
//! reversible colour transform where the input had it: YBR_RCT stays YBR_RCT).

use super::decode::Frame;
use core::ffi::c_void;
use openjp2::image::opj_image;
use openjp2::openjpeg::*;
use openjp2::{opj_image_comptparm, OPJ_CODEC_FORMAT, OPJ_COLOR_SPACE};

/// JPEG 2000 Image Compression (Lossless Only).
pub const J2K_LOSSLESS: &str = "1.2.840.10008.1.2.4.90";

/// The codestream being written: openjp2 seeks back to fill in lengths.
struct Sink {
    data: Vec<u8>,
    pos: usize,
}

unsafe extern "C" fn sink_write(buffer: *mut c_void, n: usize, user: *mut c_void) -> usize {
    // SAFETY: `user` is the `Sink` given to the stream, alive for the stream's life;
    // `buffer` holds `n` bytes (openjp2's contract).
    let (sink, bytes) = unsafe { (&mut *(user as *mut Sink), core::slice::from_raw_parts(buffer as *const u8, n)) };
    let end = sink.pos + n;
    if sink.data.len() < end {
        sink.data.resize(end, 0);
    }
    sink.data[sink.pos..end].copy_from_slice(bytes);
    sink.pos = end;
    n
}

unsafe extern "C" fn sink_seek(to: i64, user: *mut c_void) -> i32 {
    // SAFETY: as in `sink_write`.
    let sink = unsafe { &mut *(user as *mut Sink) };
    match usize::try_from(to) {
        Ok(to) => {
            sink.pos = to;
            1
        }
        Err(_) => 0,
    }
}

unsafe extern "C" fn sink_skip(by: i64, user: *mut c_void) -> i64 {
    // SAFETY: as in `sink_write`.
    let sink = unsafe { &mut *(user as *mut Sink) };
    match usize::try_from(sink.pos as i64 + by) {
        Ok(to) => {
            sink.pos = to;
            by
        }
        Err(_) => -1,
    }
}

/// One frame (samples interleaved) as a JPEG 2000 Lossless codestream; `colour_transform`:
/// the reversible colour transform on three components (YBR_RCT).
// The parameters implement Drop: no struct update syntax.
#[allow(clippy::field_reassign_with_default)]
pub fn encode_lossless(frame: &Frame, colour_transform: bool) -> Result<Vec<u8>, String> {
    let (w, h, spp) = (frame.width, frame.height, frame.samples as usize);
    let prec = frame.bits_stored.clamp(1, 16) as u32;
    let parms = vec![opj_image_comptparm { dx: 1, dy: 1, w, h, x0: 0, y0: 0, prec, bpp: prec, sgnd: frame.signed as u32 }; spp];
    let space = if spp == 3 { OPJ_COLOR_SPACE::OPJ_CLRSPC_SRGB } else { OPJ_COLOR_SPACE::OPJ_CLRSPC_GRAY };
    let mut image = opj_image::create(&parms, space).ok_or("JPEG 2000: cannot allocate the image")?;
    (image.x0, image.y0, image.x1, image.y1) = (0, 0, w, h);
    for (c, comp) in image.comps_mut().ok_or("JPEG 2000: no components")?.iter_mut().enumerate() {
        let data = comp.data_mut().ok_or("JPEG 2000: no component data")?;
        for (i, d) in data.iter_mut().enumerate() {
            *d = frame.value(i * spp + c);
        }
    }
    // SAFETY: openjp2's C-style API, used as OpenJPEG's own opj_compress does: every pointer
    // is checked before use and everything created here is destroyed here; `sink` and
    // `image` outlive the codec and the stream.
    unsafe {
        let mut params = opj_cparameters_t::default();
        params.tcp_numlayers = 1;
        params.tcp_rates[0] = 0.0;
        params.cp_disto_alloc = 1;
        params.irreversible = 0;
        params.tcp_mct = (colour_transform && spp == 3) as _;
        // Our own comment (allocated, and freed with the parameters, by openjp2's `malloc`):
        // without one the port allocates its default with Rust's allocator and frees it with
        // C's `free`, which corrupts the heap in wasm (src/wasm_libc.rs).
        params.set_comment("dicom-deid");
        // Every resolution level must keep at least one sample.
        while params.numresolution > 1 && (w.min(h) >> (params.numresolution - 1)) == 0 {
            params.numresolution -= 1;
        }
        let codec = opj_create_compress(OPJ_CODEC_FORMAT::OPJ_CODEC_J2K);
        if codec.is_null() {
            return Err("JPEG 2000: no encoder".into());
        }
        let mut sink = Sink { data: Vec::new(), pos: 0 };
        let stream = opj_stream_create(1 << 16, 0);
        let ok = !stream.is_null() && {
            opj_stream_set_write_function(stream, Some(sink_write));
            opj_stream_set_seek_function(stream, Some(sink_seek));
            opj_stream_set_skip_function(stream, Some(sink_skip));
            opj_stream_set_user_data(stream, &mut sink as *mut Sink as *mut c_void, None);
            let image: *mut opj_image = &mut *image;
            opj_setup_encoder(codec, &mut params, image) != 0
                && opj_start_compress(codec, image, stream) != 0
                && opj_encode(codec, stream) != 0
                && opj_end_compress(codec, stream) != 0
        };
        // Destroying the stream flushes what it buffered into `sink`.
        opj_stream_destroy(stream);
        opj_destroy_codec(codec);
        if !ok {
            return Err("JPEG 2000: encoding failed".into());
        }
        let mut data = sink.data;
        if data.len() % 2 == 1 {
            data.push(0);
        }
        Ok(data)
    }
}
