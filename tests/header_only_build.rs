//! A build without the pixel cleaner (`cargo test --no-default-features`): the CLI withholds
//! every image under the default policy, which promises clean pixels, and says why; with
//! pixels off it de-identifies the headers. (tests/cli.rs covers the full build.)
#![cfg(not(feature = "pixels"))]

mod common;

use common::*;
use std::fs;
use std::path::Path;
use std::process::{Command, Output};

fn run(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dicom-deid")).args(args.iter().map(|a| a.as_ref())).output().expect("run dicom-deid")
}

#[test]
fn images_are_withheld_with_the_reason_unless_pixels_are_off() {
    let dir = std::env::temp_dir().join(format!("dicom-deid-header-only-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    let (input, out) = (dir.join("in"), dir.join("out"));
    fs::create_dir_all(&input).unwrap();
    fs::write(input.join("a.dcm"), file(&EN_PATIENT, &STUDY_A, 1, EXPLICIT_LE)).unwrap();

    let o = run(&[&input, &"--out", &out, &"--quiet"]);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(1), "a withheld image fails the run; stderr:\n{err}");
    let line = err.lines().find(|l| l.contains("FAILED") && l.contains("a.dcm")).unwrap_or_else(|| panic!("a.dcm not reported:\n{err}"));
    assert!(line.contains("no pixel cleaner") && line.contains("pixels.mode"), "the reason and the way out are named: {line}");
    assert!(!out.join("a.dcm").exists(), "a withheld file has no output");

    let cfg = dir.join("header-only.json");
    fs::write(&cfg, r#"{"pixels": {"mode": "off"}}"#).unwrap();
    let o = run(&[&input, &"--out", &out, &"--quiet", &"--config", &cfg]);
    assert_eq!(o.status.code(), Some(0), "stderr:\n{}", String::from_utf8_lossy(&o.stderr));
    let bytes = fs::read(out.join("a.dcm")).expect("written with pixels off");
    for phi in phi_strings(&EN_PATIENT) {
        assert!(!raw_contains(&bytes, &phi), "{phi:?} left in the output");
    }
    assert_eq!(text(&parse(&bytes), 0x0012, 0x0062).as_deref(), Some("YES"), "marked as de-identified");
    let _ = fs::remove_dir_all(Path::new(&dir));
}
