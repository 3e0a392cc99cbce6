//! The page's "Try a sample" study: three small synthetic CT slices of an invented patient,
//! with fake PHI in the header (names, IDs, dates, address, phone, free text, a private
//! block, a reference between slices), a plain phantom in the pixels and the patient's name
//! and ID burned into them, as on a screen capture. Nothing here is real.
//!
//!     cargo run --release --manifest-path tools/make-sample/Cargo.toml --target-dir target -- target/sample

use dicom_core::value::{DataSetSequence, PrimitiveValue, Value};
use dicom_core::{DataElement, Length, Tag, VR};
use dicom_object::mem::InMemDicomObject;
use dicom_object::meta::FileMetaTableBuilder;

const CT_IMAGE_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.2";
const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";
// Arbitrary 2.25 UIDs (fixed so that the sample is the same in every build).
const STUDY: &str = "2.25.161803398874989484820458683436563811772";
const SERIES: &str = "2.25.161803398874989484820458683436563811772.1";
const SIZE: u16 = 256;

fn el(g: u16, e: u16, vr: VR, v: impl Into<PrimitiveValue>) -> DataElement<InMemDicomObject> {
    DataElement::new(Tag(g, e), vr, v.into())
}

fn seq(g: u16, e: u16, items: Vec<InMemDicomObject>) -> DataElement<InMemDicomObject> {
    DataElement::new(Tag(g, e), VR::SQ, Value::Sequence(DataSetSequence::new(items, Length::UNDEFINED)))
}

/// A 5x7 bitmap of the characters the burned-in labels use.
fn glyph(c: char) -> [&'static str; 7] {
    match c {
        '0' => [" ### ", "#   #", "#  ##", "# # #", "##  #", "#   #", " ### "],
        '1' => ["  #  ", " ##  ", "  #  ", "  #  ", "  #  ", "  #  ", " ### "],
        '2' => [" ### ", "#   #", "    #", "   # ", "  #  ", " #   ", "#####"],
        '4' => ["   # ", "  ## ", " # # ", "#  # ", "#####", "   # ", "   # "],
        '5' => ["#####", "#    ", "#### ", "    #", "    #", "#   #", " ### "],
        'D' => ["#### ", "#   #", "#   #", "#   #", "#   #", "#   #", "#### "],
        'E' => ["#####", "#    ", "#    ", "#### ", "#    ", "#    ", "#####"],
        'I' => [" ### ", "  #  ", "  #  ", "  #  ", "  #  ", "  #  ", " ### "],
        'N' => ["#   #", "##  #", "# # #", "#  ##", "#   #", "#   #", "#   #"],
        'O' => [" ### ", "#   #", "#   #", "#   #", "#   #", "#   #", " ### "],
        'P' => ["#### ", "#   #", "#   #", "#### ", "#    ", "#    ", "#    "],
        'Q' => [" ### ", "#   #", "#   #", "#   #", "# # #", "#  # ", " ## #"],
        'R' => ["#### ", "#   #", "#   #", "#### ", "# #  ", "#  # ", "#   #"],
        'S' => [" ####", "#    ", "#    ", " ### ", "    #", "    #", "#### "],
        'T' => ["#####", "  #  ", "  #  ", "  #  ", "  #  ", "  #  ", "  #  "],
        '-' => ["     ", "     ", "     ", "#####", "     ", "     ", "     "],
        _ => ["     "; 7],
    }
}

/// Burn `text` into a SIZE x SIZE frame at (x, y), dots of `scale` pixels.
fn burn(px: &mut [u16], x: usize, y: usize, scale: usize, text: &str, value: u16) {
    for (i, c) in text.chars().enumerate() {
        for (r, row) in glyph(c).iter().enumerate() {
            for (k, _) in row.char_indices().filter(|(_, ch)| *ch == '#') {
                for dy in 0..scale {
                    for dx in 0..scale {
                        let (px_x, px_y) = (x + (i * 6 + k) * scale + dx, y + r * scale + dy);
                        if px_x < SIZE as usize && px_y < SIZE as usize {
                            px[px_y * SIZE as usize + px_x] = value;
                        }
                    }
                }
            }
        }
    }
}

/// A disc with two inner discs, shifted a little per slice, and the labels a console
/// would burn in: something to look at, and something for the pixel cleaner to find.
fn phantom(n: u16) -> Vec<u16> {
    let mut px = disc(n);
    burn(&mut px, 6, 6, 2, "TESTPERSON Q", 2000);
    burn(&mut px, 6, SIZE as usize - 22, 2, "ID 555-0142", 2000);
    px
}

fn disc(n: u16) -> Vec<u16> {
    let c = SIZE as f32 / 2.0;
    let k = SIZE as f32 / 128.0;
    let mut px = Vec::with_capacity(SIZE as usize * SIZE as usize);
    for y in 0..SIZE {
        for x in 0..SIZE {
            let (dx, dy) = (x as f32 - c, y as f32 - c);
            let r = (dx * dx + dy * dy).sqrt();
            let inner = |ox: f32, oy: f32, rad: f32| ((dx - ox * k).powi(2) + (dy - oy * k).powi(2)).sqrt() < rad * k;
            let v = if inner(-18.0, -6.0 + n as f32 * 2.0, 12.0) {
                1400
            } else if inner(20.0, 10.0, 8.0 + n as f32) {
                300
            } else if r < 52.0 * k {
                1040
            } else if r < 56.0 * k {
                1900
            } else {
                0
            };
            px.push(v);
        }
    }
    px
}

fn slice(n: u16) -> InMemDicomObject {
    let sop = format!("{SERIES}.{n}");
    let mut elems = vec![
        el(0x0008, 0x0005, VR::CS, "ISO_IR 192"),
        el(0x0008, 0x0008, VR::CS, "ORIGINAL\\PRIMARY\\AXIAL"),
        el(0x0008, 0x0016, VR::UI, CT_IMAGE_STORAGE),
        el(0x0008, 0x0018, VR::UI, sop.as_str()),
        el(0x0008, 0x0020, VR::DA, "20240311"),
        el(0x0008, 0x0021, VR::DA, "20240311"),
        el(0x0008, 0x0023, VR::DA, "20240311"),
        el(0x0008, 0x0030, VR::TM, "101522"),
        el(0x0008, 0x0033, VR::TM, format!("1016{:02}", 10 + n).as_str()),
        el(0x0008, 0x0050, VR::SH, "ACC-2024-0311-77"),
        el(0x0008, 0x0060, VR::CS, "CT"),
        el(0x0008, 0x0070, VR::LO, "Example Imaging Co"),
        el(0x0008, 0x0080, VR::LO, "Saint Example General Hospital"),
        el(0x0008, 0x0081, VR::ST, "1 Sample Street, Exampleton EX1 2MP"),
        el(0x0008, 0x0090, VR::PN, "Specimen^Harriet^^Dr"),
        el(0x0008, 0x1010, VR::SH, "SEGH-CT-01"),
        el(0x0008, 0x1030, VR::LO, "CT HEAD - Testperson, Quentin - MRN 555-0142"),
        el(0x0008, 0x103E, VR::LO, "AXIAL 5mm"),
        el(0x0008, 0x1050, VR::PN, "Placeholder^Otto"),
        el(0x0008, 0x1090, VR::LO, "Phantom Scanner 1"),
        el(0x0010, 0x0010, VR::PN, "Testperson^Quentin"),
        el(0x0010, 0x0020, VR::LO, "555-0142"),
        el(0x0010, 0x0021, VR::LO, "SEGH"),
        el(0x0010, 0x0030, VR::DA, "19700101"),
        el(0x0010, 0x0040, VR::CS, "M"),
        el(0x0010, 0x1010, VR::AS, "054Y"),
        el(0x0010, 0x1040, VR::LO, "42 Imaginary Lane, Exampleton EX9 9ZZ"),
        el(0x0010, 0x2154, VR::SH, "+44 20 7946 0142"),
        el(0x0010, 0x4000, VR::LT, "Quentin Testperson, seen 11/03/2024; call +44 20 7946 0142 with results."),
        el(0x0018, 0x0015, VR::CS, "HEAD"),
        el(0x0018, 0x0050, VR::DS, "5.0"),
        el(0x0018, 0x0060, VR::DS, "120"),
        el(0x0018, 0x1000, VR::LO, "SN-0000-SAMPLE"),
        el(0x0020, 0x000D, VR::UI, STUDY),
        el(0x0020, 0x000E, VR::UI, SERIES),
        el(0x0020, 0x0010, VR::SH, "STUDY-77"),
        el(0x0020, 0x0011, VR::IS, "1"),
        el(0x0020, 0x0013, VR::IS, n.to_string()),
        el(0x0020, 0x0032, VR::DS, format!("-64\\-64\\{}", n as i32 * 5).as_str()),
        el(0x0020, 0x0037, VR::DS, "1\\0\\0\\0\\1\\0"),
        el(0x0020, 0x0052, VR::UI, format!("{STUDY}.9").as_str()),
        el(0x0020, 0x4000, VR::LT, "Referred by Dr Harriet Specimen (Saint Example General). DOB 01/01/1970."),
        el(0x0028, 0x0002, VR::US, 1_u16),
        el(0x0028, 0x0004, VR::CS, "MONOCHROME2"),
        el(0x0028, 0x0010, VR::US, SIZE),
        el(0x0028, 0x0011, VR::US, SIZE),
        el(0x0028, 0x0030, VR::DS, "1\\1"),
        el(0x0028, 0x0100, VR::US, 16_u16),
        el(0x0028, 0x0101, VR::US, 12_u16),
        el(0x0028, 0x0102, VR::US, 11_u16),
        el(0x0028, 0x0103, VR::US, 0_u16),
        el(0x0028, 0x1050, VR::DS, "1040"),
        el(0x0028, 0x1051, VR::DS, "400"),
        el(0x0028, 0x1052, VR::DS, "-1024"),
        el(0x0028, 0x1053, VR::DS, "1"),
        // A private block with PHI (removed by the default policy).
        el(0x0009, 0x0010, VR::LO, "SAMPLE_PRIVATE 1.0"),
        el(0x0009, 0x1001, VR::LO, "Quentin Testperson 555-0142"),
    ];
    let other = InMemDicomObject::from_element_iter([el(0x0010, 0x0020, VR::LO, "NHS 943 476 5919"), el(0x0010, 0x0022, VR::CS, "TEXT")]);
    elems.push(seq(0x0010, 0x1002, vec![other]));
    let req = InMemDicomObject::from_element_iter([
        el(0x0040, 0x1001, VR::SH, "RP-0311"),
        el(0x0032, 0x1060, VR::LO, "CT head for Testperson"),
    ]);
    elems.push(seq(0x0040, 0x0275, vec![req]));
    if n > 1 {
        let item = InMemDicomObject::from_element_iter([
            el(0x0008, 0x1150, VR::UI, CT_IMAGE_STORAGE),
            el(0x0008, 0x1155, VR::UI, format!("{SERIES}.1").as_str()),
        ]);
        elems.push(seq(0x0008, 0x1140, vec![item]));
    }
    elems.push(el(0x7FE0, 0x0010, VR::OW, PrimitiveValue::U16(phantom(n).into_iter().collect())));
    InMemDicomObject::from_element_iter(elems)
}

fn main() {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "target/sample".into()));
    std::fs::create_dir_all(&dir).expect("create the output folder");
    for n in 1..=3u16 {
        let file = slice(n)
            .with_meta(FileMetaTableBuilder::new().transfer_syntax(EXPLICIT_LE))
            .expect("file meta");
        let mut out = Vec::new();
        file.write_all(&mut out).expect("encode");
        std::fs::write(dir.join(format!("slice{n}.dcm")), out).expect("write");
    }
    println!("make-sample: 3 files in {}", dir.display());
}
