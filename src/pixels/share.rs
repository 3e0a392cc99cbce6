//! One clip's detections spread over several workers. Under the sampled frame strategy the
//! detector runs on a fixed list of jobs (the sampled frames, then the clip's static image)
//! that do not depend on each other, and they are nearly all of a clip's time (twelve for
//! 120 frames). [`detect_part`] runs every `parts`-th job from `part`; [`find_boxes`] takes the
//! shares made elsewhere and runs only the jobs that no usable share holds. A share is usable
//! only for the image it was made from: the same decoded frames, display information and
//! options (a fingerprint); any other share is ignored and its jobs are detected here.
//!
//! [`find_boxes`]: super::find_boxes

use super::{detect_frame, static_image, fill_value, CleanOptions, DecodedImage, FrameStrategy, PixelError, Rect};
use super::decode::Samples;
use crate::detect::Detector;
use crate::report::DetectionShare;
use std::collections::HashMap;

/// One detector run of a clip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Job {
    Frame(usize),
    /// The clip's static image ([`static_image`]).
    Still,
}

impl Job {
    /// The frame the boxes were found on (`None` for the static image).
    pub(super) fn frame(self) -> Option<usize> {
        match self {
            Job::Frame(j) => Some(j),
            Job::Still => None,
        }
    }
}

/// Frame 0, every `every`-th frame, the last frame, and the static image of a clip of `n`.
pub(super) fn sampled_jobs(n: usize, every: u32) -> Vec<Job> {
    let mut jobs: Vec<Job> = (0..n).step_by(every.max(1) as usize).map(Job::Frame).collect();
    if n > 0 && jobs.last() != Some(&Job::Frame(n - 1)) {
        jobs.push(Job::Frame(n - 1));
    }
    if n > 1 {
        jobs.push(Job::Still);
    }
    jobs
}

/// How many jobs [`detect_part`] shares out for a clip of `frames` sampled every `every`.
pub fn job_count(frames: usize, every: u32) -> u32 {
    sampled_jobs(frames, every).len() as u32
}

/// The detector's boxes for one job (padded and clipped).
pub(super) fn run_job(image: &DecodedImage, det: &Detector, opts: &CleanOptions, job: Job) -> Result<Vec<Rect>, PixelError> {
    match job {
        Job::Frame(j) => detect_frame(det, &image.frames[j], &image.info, opts.pad),
        Job::Still => detect_frame(det, &static_image(&image.frames, &fill_value(&image.info)), &image.info, opts.pad),
    }
}

/// The jobs `part`, `part + parts`, ... of the image's detection, with its fingerprint (a
/// single frame is one job). An image detected frame after frame (`ReuseUnchanged`, whose
/// runs depend on each other) or not at all has none to share: the share is empty.
pub fn detect_part(image: &DecodedImage, det: &Detector, opts: &CleanOptions, part: u32, parts: u32) -> Result<DetectionShare, PixelError> {
    let FrameStrategy::Sampled { every } = opts.frames else { return Ok(DetectionShare::default()) };
    if !opts.detect || parts == 0 || part >= parts {
        return Ok(DetectionShare::default());
    }
    let jobs = sampled_jobs(image.frames.len(), every);
    let mut results = Vec::new();
    for (i, job) in jobs.iter().enumerate().skip(part as usize).step_by(parts as usize) {
        results.push((i as u32, run_job(image, det, opts, *job)?));
    }
    Ok(DetectionShare { fingerprint: fingerprint(image, det, opts), jobs: jobs.len() as u32, results })
}

/// The boxes of each job that one of `shares` holds for this very image (by job index).
pub(super) fn usable<'a>(shares: &'a [DetectionShare], image: &DecodedImage, det: &Detector, opts: &CleanOptions, jobs: usize) -> HashMap<usize, &'a [Rect]> {
    let mut given = HashMap::new();
    if shares.iter().all(|s| s.results.is_empty()) {
        return given;
    }
    let own = fingerprint(image, det, opts);
    // Boxes as the detector makes them (padded and clipped, never empty), or not at all.
    let well_formed = |s: &DetectionShare| s.results.iter().flat_map(|r| &r.1).all(|b| b.0 < b.2 && b.1 < b.3);
    for share in shares.iter().filter(|s| s.fingerprint == own && s.jobs as usize == jobs && well_formed(s)) {
        for (job, rects) in &share.results {
            if (*job as usize) < jobs {
                given.entry(*job as usize).or_insert(rects.as_slice());
            }
        }
    }
    given
}

/// A 64-bit fingerprint (hex) of what decides a job's boxes: every decoded sample, the frames'
/// layout, the display information, the frame strategy, the padding and the detector's
/// options. Not a defence against forgery (the shares come from the same program); a guard
/// against using one image's boxes on another. Each step is a bijection of the state, so two
/// inputs that differ in one word always differ here.
fn fingerprint(image: &DecodedImage, det: &Detector, opts: &CleanOptions) -> String {
    let mut h = Fold(0);
    let settings = format!("{:?}|{:?}|{}|{:?}|{}", image.info, opts.frames, opts.pad, det.options(), image.frames.len());
    h.bytes(settings.as_bytes());
    for f in &image.frames {
        h.word(((f.width as u64) << 32) | f.height as u64);
        h.word(((f.samples as u64) << 48) | ((f.bits_allocated as u64) << 32) | ((f.bits_stored as u64) << 16) | f.signed as u64);
        match &f.data {
            Samples::U8(v) => h.bytes(v),
            Samples::U16(v) => {
                let mut words = v.chunks_exact(4);
                for c in &mut words {
                    h.word(c[0] as u64 | (c[1] as u64) << 16 | (c[2] as u64) << 32 | (c[3] as u64) << 48);
                }
                for &w in words.remainder() {
                    h.word(w as u64);
                }
                h.word(v.len() as u64);
            }
        }
    }
    format!("{:016x}", h.0)
}

/// A multiply-rotate fold over 64-bit words (fast enough for a 100 MB clip in wasm).
struct Fold(u64);

impl Fold {
    #[inline]
    fn word(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn bytes(&mut self, b: &[u8]) {
        let mut chunks = b.chunks_exact(8);
        for c in &mut chunks {
            self.word(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let mut tail = [0u8; 8];
        tail[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
        self.word(u64::from_le_bytes(tail));
        self.word(b.len() as u64);
    }
}
