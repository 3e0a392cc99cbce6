//! The engine's pixel step: decide whether a file's pixels must be cleaned and clean them
//! (feature "pixels"), or fail closed with the reason. Called on the de-identified data set
//! just before it is written.

use super::Deidentifier;
use crate::error::{Error, ErrorKind, Result};
use crate::policy::pixels::PixelMode;
use crate::report::{DetectionShare, PixelReport};
use dicom_core::dictionary::UidDictionary;
use dicom_core::Tag;
use dicom_object::mem::InMemDicomObject;

use super::PIXEL_DATA;
const FLOAT_PIXEL_DATA: [Tag; 2] = [Tag(0x7FE0, 0x0008), Tag(0x7FE0, 0x0009)];
const BURNED_IN_ANNOTATION: Tag = Tag(0x0028, 0x0301);

fn withheld(reason: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Pixels, format!("pixels not cleaned, file withheld: {reason}"))
}

/// What the pixel step does with a file.
enum Decision {
    /// Nothing to clean (no pixels, or pixels off and no declared burned-in text).
    Nothing,
    /// Pixels kept as they are, with the reason.
    Kept(PixelReport),
    Clean,
}

fn decide(de: &Deidentifier, obj: &InMemDicomObject) -> Result<Decision> {
    decide_with(de, obj, obj.get(PIXEL_DATA).is_some())
}

/// As [`decide`], `has_pixels` saying whether the file has Pixel Data (a header read up to
/// it cannot tell).
fn decide_with(de: &Deidentifier, obj: &InMemDicomObject, has_pixels: bool) -> Result<Decision> {
    let has_float = FLOAT_PIXEL_DATA.iter().any(|t| obj.get(*t).is_some());
    if !has_pixels && !has_float {
        return Ok(Decision::Nothing);
    }
    let policy = &de.policy.pixels;
    if policy.mode == PixelMode::Off {
        let burned_in = super::io::element_text(obj, BURNED_IN_ANNOTATION).is_some_and(|v| v.eq_ignore_ascii_case("YES"));
        if burned_in {
            return Err(withheld("the file declares Burned In Annotation (0028,0301) YES and pixels.mode is off"));
        }
        return Ok(Decision::Nothing);
    }
    let class = super::io::element_text(obj, Tag(0x0008, 0x0016)).unwrap_or_default();
    if policy.computed_sop_classes.iter().any(|c| c.trim() == class) {
        let name = dicom_dictionary_std::StandardSopClassDictionary.by_uid(&class).map_or(class.as_str(), |e| e.name);
        return Ok(Decision::Kept(PixelReport {
            kept_because: Some(format!("{name}: computed pixels (pixels.computed_sop_classes), no burned-in text possible")),
            ..Default::default()
        }));
    }
    if has_float {
        return Err(withheld("float pixel data (7FE0,0008/0009) has no text detector path in this build"));
    }
    Ok(Decision::Clean)
}

/// `Ok(None)`: nothing to clean. `Ok(Some(report))`: pixels masked and written native or
/// RLE (the caller writes the file in the report's `transfer_syntax`), or kept with the
/// reason. `Err`: the file must not be written. `shares`: detections made elsewhere
/// ([`detect_part`]; may be empty).
pub(crate) fn run(de: &Deidentifier, obj: &mut InMemDicomObject, ts: &str, shares: &[DetectionShare]) -> Result<Option<PixelReport>> {
    match decide(de, obj)? {
        Decision::Nothing => Ok(None),
        Decision::Kept(report) => Ok(Some(report)),
        Decision::Clean => clean(de, obj, ts, shares).map(Some),
    }
}

/// As [`run`] for a data set read up to its Pixel Data, which is written on as it is (see
/// `Deidentifier::read_head`): only for a policy that does not clean this file's pixels.
pub(crate) fn run_passing_pixels(de: &Deidentifier, obj: &InMemDicomObject) -> Result<Option<PixelReport>> {
    match decide_with(de, obj, true)? {
        Decision::Nothing => Ok(None),
        Decision::Kept(report) => Ok(Some(report)),
        // Never reached (`read_head` takes only files whose pixels the policy leaves), and
        // never a pass-through of pixels the policy would clean.
        Decision::Clean => Err(withheld("the pixels must be cleaned but were not read")),
    }
}

/// The detection jobs `part`, `part + parts`, ... of the file's pixels, for the call that
/// cleans them (an empty share when there is nothing to detect or to share).
pub(crate) fn detect_part(de: &Deidentifier, obj: &InMemDicomObject, ts: &str, part: u32, parts: u32) -> Result<DetectionShare> {
    match decide(de, obj)? {
        Decision::Clean => detect(de, obj, ts, part, parts),
        _ => Ok(DetectionShare::default()),
    }
}

/// How many detector runs cleaning these pixels takes that [`detect_part`] can share out.
pub(crate) fn detection_jobs(de: &Deidentifier, obj: &InMemDicomObject) -> Result<u32> {
    detection_jobs_with(de, obj, obj.get(PIXEL_DATA).is_some())
}

/// As [`detection_jobs`], from a header read up to Pixel Data (assumed there: the count is
/// for sharing out work, and a file without pixels costs its helpers one parse).
pub(crate) fn detection_jobs_of_header(de: &Deidentifier, header: &InMemDicomObject) -> Result<u32> {
    detection_jobs_with(de, header, true)
}

fn detection_jobs_with(de: &Deidentifier, obj: &InMemDicomObject, has_pixels: bool) -> Result<u32> {
    use crate::policy::pixels::FramePolicy;
    let policy = &de.policy.pixels;
    if policy.mode != PixelMode::Detect || policy.frames != FramePolicy::Sampled || !matches!(decide_with(de, obj, has_pixels)?, Decision::Clean) {
        return Ok(0);
    }
    Ok(job_count(number_of_frames(obj) as usize, policy.sample_every))
}

/// Number of Frames (0028,0008) as the header states it; 1 when absent or unreadable.
fn number_of_frames(obj: &InMemDicomObject) -> u64 {
    super::io::element_text(obj, Tag(0x0028, 0x0008)).and_then(|v| v.parse::<u64>().ok()).unwrap_or(1)
}

#[cfg(feature = "pixels")]
fn job_count(frames: usize, every: u32) -> u32 {
    crate::pixels::share::job_count(frames, every)
}

#[cfg(not(feature = "pixels"))]
fn job_count(_: usize, _: u32) -> u32 {
    0
}

#[cfg(not(feature = "pixels"))]
fn clean(_: &Deidentifier, _: &mut InMemDicomObject, _: &str, _: &[DetectionShare]) -> Result<PixelReport> {
    Err(withheld("this build has no pixel cleaner (built without the 'pixels' feature); set pixels.mode to off to keep pixels as they are"))
}

#[cfg(not(feature = "pixels"))]
fn detect(_: &Deidentifier, _: &InMemDicomObject, _: &str, _: u32, _: u32) -> Result<DetectionShare> {
    Ok(DetectionShare::default())
}

#[cfg(feature = "pixels")]
fn clean(de: &Deidentifier, obj: &mut InMemDicomObject, ts: &str, shares: &[DetectionShare]) -> Result<PixelReport> {
    let (detector, opts) = clean_options(de, obj)?;
    guarded(|| crate::pixels::clean_with_shares(obj, ts, detector, &opts, shares))
}

#[cfg(feature = "pixels")]
fn detect(de: &Deidentifier, obj: &InMemDicomObject, ts: &str, part: u32, parts: u32) -> Result<DetectionShare> {
    let (detector, opts) = clean_options(de, obj)?;
    let Some(det) = detector.filter(|_| opts.detect) else { return Ok(DetectionShare::default()) };
    guarded(|| crate::pixels::share::detect_part(&crate::pixels::decode(obj, ts)?, det, &opts, part, parts))
}

/// A decoder bug must cost this file, not the batch (native builds unwind).
#[cfg(feature = "pixels")]
fn guarded<T>(f: impl FnOnce() -> std::result::Result<T, crate::pixels::PixelError>) -> Result<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(withheld(e)),
        Err(_) => Err(withheld("the pixel decoder failed unexpectedly (internal error)")),
    }
}

/// The detector and the cleaner's options for this file, after the policy's limits.
#[cfg(feature = "pixels")]
fn clean_options<'a>(de: &'a Deidentifier, obj: &InMemDicomObject) -> Result<(Option<&'a crate::detect::Detector>, crate::pixels::CleanOptions)> {
    use crate::pixels::{CleanOptions, FrameStrategy};
    use crate::policy::pixels::FramePolicy;
    let policy = &de.policy.pixels;
    let header = image_header(obj);
    check_limits(obj, &header, policy)?;
    let detect = policy.mode == PixelMode::Detect;
    let detector = de.detector.as_deref();
    if detect && detector.is_none() {
        return Err(withheld(
            "text detection is on (pixels.mode detect) but no model is loaded; load the model, or use pixels.mode rules",
        ));
    }
    let opts = CleanOptions {
        pad: policy.pad,
        rule_boxes: policy.region_boxes(&header),
        detect,
        frames: match policy.frames {
            FramePolicy::Every => FrameStrategy::ReuseUnchanged,
            FramePolicy::Sampled => FrameStrategy::Sampled { every: policy.sample_every },
        },
        rle: policy.output == crate::policy::pixels::PixelOutput::Rle,
        keep_jpeg: policy.keep_jpeg,
    };
    Ok((detector, opts))
}

#[cfg(feature = "pixels")]
fn image_header(obj: &InMemDicomObject) -> crate::policy::pixels::ImageHeader {
    let text = |g, e| super::io::element_text(obj, Tag(g, e)).unwrap_or_default();
    let int = |g, e| obj.get(Tag(g, e)).and_then(|v| v.to_int::<u32>().ok()).unwrap_or(0);
    crate::policy::pixels::ImageHeader {
        modality: text(0x0008, 0x0060),
        manufacturer: text(0x0008, 0x0070),
        model: text(0x0008, 0x1090),
        rows: int(0x0028, 0x0010),
        columns: int(0x0028, 0x0011),
    }
}

/// Refuse images whose decoded pixels would exceed the policy's limits, before decoding.
#[cfg(feature = "pixels")]
fn check_limits(obj: &InMemDicomObject, h: &crate::policy::pixels::ImageHeader, policy: &crate::policy::pixels::PixelPolicy) -> Result<()> {
    let frames = number_of_frames(obj);
    let samples = obj.get(Tag(0x0028, 0x0002)).and_then(|v| v.to_int::<u64>().ok()).unwrap_or(1);
    if frames > policy.max_frames as u64 {
        return Err(withheld(format!("{frames} frames is more than pixels.max_frames ({})", policy.max_frames)));
    }
    // Decoded frames are held as 16-bit words.
    let bytes = frames * h.rows as u64 * h.columns as u64 * samples * 2;
    if bytes > policy.max_decoded_bytes {
        return Err(withheld(format!(
            "{frames} frames of {}x{}x{samples} need {} MB decoded, more than pixels.max_decoded_bytes ({} MB)",
            h.columns,
            h.rows,
            bytes >> 20,
            policy.max_decoded_bytes >> 20
        )));
    }
    Ok(())
}
