//! dicom-deid: a DICOM de-identifier that runs on the user's machine.
//!
//! The core is plain Rust: [`Deidentifier`] is built once from a [`Policy`] (PS3.15
//! Annex E Basic Profile, its options, and custom rules) and a secret, then turns DICOM
//! files into de-identified ones with a [`FileReport`] each. The CLI, the WebAssembly
//! binding and the page are thin fronts over this API; none of them holds a rule.
//!
//! ```no_run
//! use dicom_deid::{Deidentifier, Policy};
//! let deid = Deidentifier::new(Policy::default(), Some(b"my secret".as_slice())).unwrap();
//! let input = std::fs::read("in.dcm").unwrap();
//! let out = deid.deidentify(&input).unwrap();
//! std::fs::write("out.dcm", &out.bytes).unwrap();
//! ```

pub mod actions;
pub mod engine;
pub mod error;
pub mod policy;
pub mod report;
pub mod secret;
pub mod text;
pub mod verify;
#[cfg(target_arch = "wasm32")]
pub mod wasm;
#[cfg(all(target_arch = "wasm32", feature = "pixels"))]
mod wasm_libc;

pub use engine::{Deidentifier, Head, HeadOutput, Mappings, Output, ParsedFile};
pub use error::{Error, ErrorKind, Result};
pub use policy::Policy;
pub use report::FileReport;
#[cfg(feature = "pixels")]
pub mod pixels;
#[cfg(feature = "pixels")]
pub mod detect;

/// The text detection model compiled into this build (native builds with the "pixels"
/// feature, when tools/fetch-model.sh had fetched it), for `Deidentifier::load_model`.
pub fn embedded_model() -> Option<&'static [u8]> {
    #[cfg(embedded_model)]
    return Some(include_bytes!(env!("DICOM_DEID_MODEL_PATH")));
    #[cfg(not(embedded_model))]
    None
}
