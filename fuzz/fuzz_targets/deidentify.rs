//! Arbitrary bytes through the whole header path: harvest (header-only parse), then
//! de-identify (parse, transfer-syntax check, completeness check, actions, write, and the
//! independent verification) with the default policy and a fixed secret.
//! Any `Err` is fine; a panic, a hang or an unbounded allocation is a finding.
#![no_main]

use dicom_deid::{Deidentifier, Policy};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // A fresh de-identifier per input, so that no vocabulary carries over between inputs
    // (a crash then reproduces from its one input).
    let deid = Deidentifier::new(Policy::default(), Some(b"fuzz secret".as_slice())).expect("default policy");
    let _ = deid.harvest(data);
    let _ = deid.deidentify(data);
});
