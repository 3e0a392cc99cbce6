//! Arbitrary bytes through the whole header path: harvest (header walk, header-only parse),
//! then de-identify (parse, transfer-syntax check, completeness check, actions, write, and
//! the independent verification) with the default policy and a fixed secret.
//! Any `Err` is fine; a panic, a hang or an unbounded allocation is a finding.
#![no_main]

use dicom_deid::{Deidentifier, Policy};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

/// One de-identifier for the whole run: building one (compiling the text detectors) costs
/// far more than an input under the sanitizer. Patient vocabularies accumulate across
/// inputs; they only change what free text matches, so a crash still reproduces from its
/// input alone in practice (and `cargo fuzz run TARGET INPUT` starts fresh anyway).
static DEID: OnceLock<Deidentifier> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let deid = DEID.get_or_init(|| Deidentifier::new(Policy::default(), Some(b"fuzz secret".as_slice())).expect("default policy"));
    let _ = deid.harvest(data);
    let _ = deid.deidentify(data);
});
