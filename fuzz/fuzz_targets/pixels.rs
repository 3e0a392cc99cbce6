//! Arbitrary bytes as a DICOM file, parsed by the engine (`dicom_deid::engine::parse`: the
//! header walk, then dicom-object), then the pixel cleaner with rules only
//! (no detector model): decode every frame, mask one rule box, write the pixels back.
//! Any `Err` is fine; a panic, a hang or an unbounded allocation is a finding.
#![no_main]

use dicom_deid::pixels::{clean, CleanOptions};
use dicom_object::DefaultDicomObject;
use libfuzzer_sys::fuzz_target;

/// The engine's own parse: the header walk, then dicom-object (a deflated file as inflated
/// by the walk).
fn parse(input: &[u8]) -> Option<DefaultDicomObject> {
    dicom_deid::engine::parse(input, false, &dicom_deid::policy::Limits::default()).ok()
}

fuzz_target!(|data: &[u8]| {
    let Some(mut file) = parse(data) else { return };
    let ts = file.meta().transfer_syntax().trim_end_matches('\0').to_string();
    let opts = CleanOptions { detect: false, rule_boxes: vec![(0, 0, 10, 10)], ..Default::default() };
    let _ = clean(&mut file, &ts, None, &opts);
});
