//! Seed inputs for the fuzz targets, from the project's own fixtures:
//!
//! - `deidentify/`: the test fixtures of tests/common/mod.rs (both synthetic patients, every
//!   header transfer syntax, with and without a referenced instance) and a few of the
//!   malformed cases of tests/common/broken.rs;
//! - `pixels/`: the same fixtures plus small native and RLE images in the layouts the
//!   pixel decoder handles (8/16/1 bit, signed, RGB planar 0 and 1, YBR_FULL_422, palette,
//!   multi-frame);
//! - `policy_json/`: the default policy, the JSON examples in README.md and docs/*.md, and
//!   the JSON literals of tests/policy_json.rs and tests/cli.rs.
//!
//! Usage: seedgen REPO_ROOT OUT_DIR

#[path = "../../../tests/common/mod.rs"]
#[allow(dead_code, unused_imports)]
mod common;

use common::*;
use dicom_core::value::{PixelFragmentSequence, PrimitiveValue, Value};
use dicom_core::{DataElement, Tag, VR};
use dicom_object::mem::InMemDicomObject;
use dicom_object::meta::FileMetaTableBuilder;
use std::path::Path;

const RLE: &str = "1.2.840.10008.1.2.5";

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::create_dir_all(dir).expect("seed directory");
    std::fs::write(dir.join(name), bytes).expect("write seed");
}

/// A Part 10 file of `obj` as is (no pixel data added).
fn part10(obj: InMemDicomObject, ts: &str) -> Vec<u8> {
    let file = obj.with_meta(FileMetaTableBuilder::new().transfer_syntax(ts)).expect("meta");
    let mut out = Vec::new();
    file.write_all(&mut out).expect("encode seed");
    out
}

/// Image Pixel module: rows, columns, samples, bits allocated/stored, signed, photometric.
fn image(w: u16, h: u16, spp: u16, ba: u16, bs: u16, signed: bool, pi: &str) -> InMemDicomObject {
    let mut o = InMemDicomObject::new_empty();
    let us = |o: &mut InMemDicomObject, e: u16, v: u16| o.put(DataElement::new(Tag(0x0028, e), VR::US, PrimitiveValue::from(v)));
    o.put(DataElement::new(Tag(0x0008, 0x0016), VR::UI, PrimitiveValue::from("1.2.840.10008.5.1.4.1.1.7")));
    o.put(DataElement::new(Tag(0x0008, 0x0018), VR::UI, PrimitiveValue::from("2.25.1")));
    o.put(DataElement::new(Tag(0x0028, 0x0004), VR::CS, PrimitiveValue::from(pi)));
    us(&mut o, 0x0002, spp);
    if spp == 3 {
        us(&mut o, 0x0006, 0);
    }
    us(&mut o, 0x0010, h);
    us(&mut o, 0x0011, w);
    us(&mut o, 0x0100, ba);
    us(&mut o, 0x0101, bs);
    us(&mut o, 0x0102, bs - 1);
    us(&mut o, 0x0103, signed as u16);
    o
}

fn bytes_pixels(mut o: InMemDicomObject, mut b: Vec<u8>) -> InMemDicomObject {
    if b.len() % 2 == 1 {
        b.push(0);
    }
    o.put(DataElement::new(Tag(0x7FE0, 0x0010), VR::OB, PrimitiveValue::U8(b.into())));
    o
}

fn pixel_seeds(dir: &Path) {
    let n = |w: usize, h: usize, s: usize| (0..w * h * s).map(|i| (i * 37 % 251) as u8).collect::<Vec<u8>>();
    // 16-bit monochrome, unsigned and signed, explicit and implicit little endian, big endian.
    let words: Vec<u16> = (0..16 * 16).map(|i| (i * 97 % 4096) as u16).collect();
    for (name, ts, signed) in [("mono16.dcm", EXPLICIT_LE, false), ("mono16s_implicit.dcm", IMPLICIT_LE, true), ("mono16_be.dcm", EXPLICIT_BE, false)] {
        let mut o = image(16, 16, 1, 16, 12, signed, "MONOCHROME2");
        o.put(DataElement::new(Tag(0x7FE0, 0x0010), VR::OW, PrimitiveValue::U16(words.clone().into())));
        write(dir, name, &part10(o, ts));
    }
    // 8-bit monochrome 1, with window and rescale.
    let mut o = image(16, 16, 1, 8, 8, false, "MONOCHROME1");
    o.put(DataElement::new(Tag(0x0028, 0x1050), VR::DS, PrimitiveValue::from("128")));
    o.put(DataElement::new(Tag(0x0028, 0x1051), VR::DS, PrimitiveValue::from("256")));
    o.put(DataElement::new(Tag(0x0028, 0x1052), VR::DS, PrimitiveValue::from("-1024")));
    o.put(DataElement::new(Tag(0x0028, 0x1053), VR::DS, PrimitiveValue::from("1")));
    write(dir, "mono8_m1.dcm", &part10(bytes_pixels(o, n(16, 16, 1)), EXPLICIT_LE));
    // RGB planar 0 and 1, two frames.
    for planar in [0u16, 1] {
        let mut o = image(12, 10, 3, 8, 8, false, "RGB");
        o.put(DataElement::new(Tag(0x0028, 0x0006), VR::US, PrimitiveValue::from(planar)));
        o.put(DataElement::new(Tag(0x0028, 0x0008), VR::IS, PrimitiveValue::from("2")));
        write(dir, &format!("rgb_planar{planar}_2frames.dcm"), &part10(bytes_pixels(o, n(12, 10, 6)), EXPLICIT_LE));
    }
    // YBR_FULL_422 (two luma samples and one pair of chroma per two pixels).
    let o = image(8, 4, 3, 8, 8, false, "YBR_FULL_422");
    write(dir, "ybr422.dcm", &part10(bytes_pixels(o, n(8, 4, 2)), EXPLICIT_LE));
    // Palette colour with 8-bit descriptors and 16-bit tables.
    let mut o = image(8, 8, 1, 8, 8, false, "PALETTE COLOR");
    for (d, t) in [(0x1101, 0x1201), (0x1102, 0x1202), (0x1103, 0x1203)] {
        o.put(DataElement::new(Tag(0x0028, d), VR::US, PrimitiveValue::U16([256u16, 0, 16].into_iter().collect())));
        o.put(DataElement::new(Tag(0x0028, t), VR::OW, PrimitiveValue::U16((0..256u16).map(|v| v * 257).collect())));
    }
    write(dir, "palette.dcm", &part10(bytes_pixels(o, n(8, 8, 1)), EXPLICIT_LE));
    // 1-bit (a segmentation-like bitmap), three frames.
    let mut o = image(16, 8, 1, 1, 1, false, "MONOCHROME2");
    o.put(DataElement::new(Tag(0x0028, 0x0008), VR::IS, PrimitiveValue::from("3")));
    write(dir, "bits1_3frames.dcm", &part10(bytes_pixels(o, n(16, 8, 3).into_iter().take(48).collect()), EXPLICIT_LE));
    // RLE: 8-bit monochrome 16x16, one segment of literal runs.
    let pixels = n(16, 16, 1);
    let mut frame = vec![0u8; 64];
    frame[0] = 1; // one segment
    frame[4] = 64; // at offset 64
    for chunk in pixels.chunks(128) {
        frame.push((chunk.len() - 1) as u8);
        frame.extend_from_slice(chunk);
    }
    if frame.len() % 2 == 1 {
        frame.push(0);
    }
    let mut o = image(16, 16, 1, 8, 8, false, "MONOCHROME2");
    let frags = PixelFragmentSequence::new(Vec::<u32>::new(), vec![frame]);
    o.put(DataElement::new(Tag(0x7FE0, 0x0010), VR::OB, Value::PixelSequence(frags)));
    write(dir, "rle_mono8.dcm", &part10(o, RLE));
}

/// `r#"{...}"#` literals in a Rust source file that look like JSON objects.
fn raw_json_literals(src: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = src;
    while let Some(i) = rest.find("r#\"") {
        rest = &rest[i + 3..];
        let Some(j) = rest.find("\"#") else { break };
        let lit = &rest[..j];
        if lit.trim_start().starts_with('{') {
            out.push(lit.to_string());
        }
        rest = &rest[j + 2..];
    }
    out
}

/// ```json fenced blocks of a Markdown file.
fn json_blocks(md: &str) -> Vec<String> {
    md.split("```json").skip(1).filter_map(|b| b.split("```").next()).map(str::to_string).collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (root, out) = match args.as_slice() {
        [_, root, out] => (Path::new(root), Path::new(out)),
        _ => {
            eprintln!("usage: seedgen REPO_ROOT OUT_DIR");
            std::process::exit(2);
        }
    };
    let deid_dir = out.join("deidentify");
    let pix_dir = out.join("pixels");
    let pol_dir = out.join("policy_json");
    let mut count = 0;
    for (pname, p) in [("en", &EN_PATIENT), ("it", &IT_PATIENT)] {
        for (tname, ts) in [("evle", EXPLICIT_LE), ("ivle", IMPLICIT_LE), ("evbe", EXPLICIT_BE), ("deflated", DEFLATED), ("jpeg", JPEG_BASELINE)] {
            let f = file(p, &STUDY_A, 1, ts);
            write(&deid_dir, &format!("fixture_{pname}_{tname}.dcm"), &f);
            write(&pix_dir, &format!("fixture_{pname}_{tname}.dcm"), &f);
            count += 2;
        }
        let referring = encode(dataset(p, &STUDY_A, 2, Some("1.2.826.0.1.3680043.8.498.1001.1.1")), EXPLICIT_LE);
        write(&deid_dir, &format!("fixture_{pname}_referring.dcm"), &referring);
        count += 1;
    }
    // The generated malformed cases of tests/malformed.rs, near misses for the parser.
    for (name, f) in [
        ("broken_nested_40.dcm", broken::nested_sequences(40)),
        ("broken_dicomdir.dcm", broken::dicomdir()),
        ("broken_mismatch_ivle_in_evle.dcm", broken::mismatched_syntax(IMPLICIT_LE, EXPLICIT_LE)),
        ("broken_image_short.dcm", broken::native_image(64, 64, 1, 100)),
        ("unknown_vr_sequences.dcm", broken::unknown_vr_sequences()),
        ("raw_data_set_ivle.dcm", broken::split_meta(&file(&EN_PATIENT, &STUDY_A, 1, IMPLICIT_LE)).1),
        ("raw_data_set_evle.dcm", broken::split_meta(&file(&EN_PATIENT, &STUDY_A, 1, EXPLICIT_LE)).1),
    ] {
        write(&deid_dir, name, &f);
        write(&pix_dir, name, &f);
        count += 2;
    }
    pixel_seeds(&pix_dir);
    let mut policies = vec![dicom_deid::Policy::default().to_json(), "{}".to_string()];
    for md in ["README.md", "docs/robustness.md", "docs/benchmarks.md"] {
        if let Ok(s) = std::fs::read_to_string(root.join(md)) {
            policies.extend(json_blocks(&s));
        }
    }
    for rs in ["tests/policy_json.rs", "tests/cli.rs", "tests/seed.rs"] {
        if let Ok(s) = std::fs::read_to_string(root.join(rs)) {
            policies.extend(raw_json_literals(&s));
        }
    }
    policies.sort();
    policies.dedup();
    for (i, p) in policies.iter().enumerate() {
        write(&pol_dir, &format!("policy_{i:03}.json"), p.as_bytes());
    }
    let pixel_count = std::fs::read_dir(&pix_dir).map(|d| d.count()).unwrap_or(0);
    eprintln!("seedgen: {count} fixture files, {pixel_count} pixel seeds, {} policies", policies.len());
}
