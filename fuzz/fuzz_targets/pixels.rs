//! Arbitrary bytes as a DICOM file, parsed as the engine parses it (src/engine/io.rs
//! `parse`, which is crate-private: mirrored here, header walk first), then the pixel cleaner with rules only
//! (no detector model): decode every frame, mask one rule box, write the pixels back.
//! Any `Err` is fine; a panic, a hang or an unbounded allocation is a finding.
#![no_main]

use dicom_deid::pixels::{clean, CleanOptions};
use dicom_object::file::ReadPreamble;
use dicom_object::{DefaultDicomObject, OpenFileOptions};
use libfuzzer_sys::fuzz_target;

/// As `dicom_deid::engine::io::parse(input, false, limits)`: the header walk, then the parse.
fn parse(input: &[u8]) -> Option<DefaultDicomObject> {
    dicom_deid::engine::check_structure(input, &dicom_deid::policy::Limits::default()).ok()?;
    let preamble = if input.len() >= 132 && &input[128..132] == b"DICM" {
        ReadPreamble::Always
    } else if input.starts_with(b"DICM") {
        ReadPreamble::Never
    } else {
        return None;
    };
    OpenFileOptions::new().read_preamble(preamble).from_reader(input).ok()
}

fuzz_target!(|data: &[u8]| {
    let Some(mut file) = parse(data) else { return };
    let ts = file.meta().transfer_syntax().trim_end_matches('\0').to_string();
    let opts = CleanOptions { detect: false, rule_boxes: vec![(0, 0, 10, 10)], ..Default::default() };
    let _ = clean(&mut file, &ts, None, &opts);
});
