//! Inputs found by the cargo-fuzz targets in fuzz/ (docs/robustness.md), minimised and kept
//! in tests/fixtures/fuzz/<target>-<name>.bin. Each goes through the same code path as its
//! fuzz target and must end in an error (or a success), never in a panic, a hang or a huge
//! allocation.
//!
//! Allocations are watched by a global allocator that refuses any single request above
//! `LIMIT` (as a memory-capped process would) and remembers the largest request made by
//! each thread, so that a multi-GiB allocation fails the test at once instead of taking
//! the machine's memory.

use dicom_deid::{Deidentifier, Policy};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// No input of a few hundred bytes needs more than this in one allocation.
const LIMIT: usize = 256 << 20;

struct Capped;

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) -> bool {
    let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
    size <= LIMIT
}

unsafe impl GlobalAlloc for Capped {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if note(layout.size()) { unsafe { System.alloc(layout) } } else { std::ptr::null_mut() }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if note(layout.size()) { unsafe { System.alloc_zeroed(layout) } } else { std::ptr::null_mut() }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if note(new_size) { unsafe { System.realloc(ptr, layout, new_size) } } else { std::ptr::null_mut() }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Capped = Capped;

/// Run `f` and return its result with the largest single allocation it asked for.
fn watched<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LARGEST.with(|l| l.set(0));
    let out = f();
    (out, LARGEST.with(|l| l.get()))
}

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/fuzz/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The `deidentify` fuzz target's path: harvest, then de-identify, default policy.
fn deidentify_path(input: &[u8]) -> (dicom_deid::Result<()>, dicom_deid::Result<dicom_deid::Output>) {
    let deid = Deidentifier::new(Policy::default(), Some(b"fuzz secret".as_slice())).expect("default policy");
    (deid.harvest(input), deid.deidentify(input))
}

fn assert_refused_without_huge_allocation(name: &str) {
    let input = fixture(name);
    let ((harvest, out), largest) = watched(|| deidentify_path(&input));
    assert!(harvest.is_err(), "{name}: harvest accepted the input");
    assert!(out.is_err(), "{name}: deidentify accepted the input");
    assert!(
        largest <= LIMIT,
        "{name}: {} bytes of input made the parser ask for {largest} bytes at once (declared element length trusted)",
        input.len()
    );
}

/// A 302-byte file whose private OB element declares 0xFFFFFFF0 bytes: dicom-parser 0.10
/// reserves and zero-fills 4 GiB before finding the end of the input (an out-of-memory in
/// the fuzz run). Refused by the header walk (src/engine/structure.rs).
#[test]
fn deidentify_huge_declared_length_in_the_data_set() {
    assert_refused_without_huge_allocation("deidentify-huge-declared-length.bin");
}

/// Found by the `deidentify` target as a 20 s timeout (and a 4 GiB out-of-memory), minimised
/// with `cargo fuzz tmin` to 176 bytes: the meta group's (0002,0002) has an unknown VR and a
/// 4-byte length of about 1 GiB, which dicom-object's meta reader reserves and zero-fills.
/// The header walk covers the file meta group too.
#[test]
fn deidentify_huge_declared_length_in_the_meta_group() {
    assert_refused_without_huge_allocation("deidentify-timeout-huge-alloc.bin");
}

/// Found by the `pixels` target on 2026-11-26 (315 bytes): a tag of group FF02 inside the
/// file meta group's declared length. dicom-object's meta reader reads every element the
/// group length covers, whatever its group, and reached a (0002,xxxx) element declaring
/// 1.4 GB; the header walk stopped at the first tag outside group 0002 and never saw it.
#[test]
fn meta_group_length_covers_a_stray_tag() {
    assert_refused_without_huge_allocation("pixels-meta-stray-tag-huge-alloc.bin");
}

/// Found by the CI fuzz smoke run of session 9 (1,263 bytes, from the UN-sequence seed): a
/// Transfer Syntax UID in the meta group with a bogus VR and a length of 2 GB. The rewrite
/// of UN sequences read the meta group with dicom-object before the header walk, which
/// allocated the declared length; it now walks the group itself within its bounds.
#[test]
fn deidentify_un_rewrite_meta_huge_alloc() {
    assert_refused_without_huge_allocation("deidentify-un-rewrite-meta-huge-alloc.bin");
}

/// Found by an 11-minute `deidentify` run on 2026-11-26 (session 4; 2,094 bytes): Patient's
/// Sex with VR FD and 2 bytes. The parser read no whole 8-byte value, left the 2 bytes, and
/// read the next "header" from them: an element declaring 4,294,901,760 bytes, asked for
/// at once in `harvest`. The header walk skips by declared length and had not noticed.
#[test]
fn deidentify_binary_value_of_a_partial_unit() {
    assert_refused_without_huge_allocation("deidentify-fd-partial-value.bin");
}

/// The same in a deflated data set (found by the `pixels` target as a 20 s timeout on an
/// 8 kB deflated file asking for 2.76 GB; this 298-byte one is written by hand): the parse
/// inflates, then trusts the declared length. The allocation happens in the engine's parse,
/// shared by every path, so it is checked on the de-identification path; the header walk
/// inflates and walks the data set.
#[test]
fn pixels_deflated_huge_declared_length() {
    assert_refused_without_huge_allocation("pixels-deflated-huge-declared-length.bin");
}

/// Found by a 30-minute `deidentify` run on 2026-11-26 (13,797 bytes, not minimised): the
/// header walk's token reader failed part-way, the walk left the rest to the parser, and the
/// parser went on to ask for 1.6 GB for one value. A walk error on a whole file now refuses it.
#[test]
fn deidentify_walk_error_is_not_left_to_the_parser() {
    assert_refused_without_huge_allocation("deidentify-oom-after-walk-error.bin");
}

/// Found by the CI smoke run of `deidentify` on 2026-11-26 (2,834 bytes): a date value with a
/// multi-byte character where a digit should be made the date parser slice inside the
/// character and panic. It must end in an error or an output, not a panic.
#[test]
fn deidentify_non_ascii_date_does_not_panic() {
    let input = fixture("deidentify-date-non-ascii.bin");
    let result = std::panic::catch_unwind(|| deidentify_path(&input));
    assert!(result.is_ok(), "de-identifying the fixture panicked");
}

/// Found by a 25-minute `deidentify` run on 2026-11-26 (49,795 bytes): an item header where
/// no sequence is open made dicom-parser's token reader panic inside the header walk. It
/// must end in an error (or an output), not a panic.
#[test]
fn deidentify_item_outside_a_sequence_does_not_panic() {
    let input = fixture("deidentify-item-outside-sequence.bin");
    let result = std::panic::catch_unwind(|| deidentify_path(&input));
    assert!(result.is_ok(), "de-identifying the fixture panicked");
}

/// The `pixels` target's path: the engine's parse, then clean with one rule box and no model.
#[cfg(feature = "pixels")]
fn clean_path(input: &[u8]) -> Result<(), String> {
    use dicom_deid::pixels::{clean, CleanOptions};
    let mut file = dicom_deid::engine::parse(input, false, &dicom_deid::policy::Limits::default()).map_err(|e| e.to_string())?;
    let ts = file.meta().transfer_syntax().trim_end_matches('\0').to_string();
    let opts = CleanOptions { detect: false, rule_boxes: vec![(0, 0, 10, 10)], ..Default::default() };
    clean(&mut file, &ts, None, &opts).map(|_| ()).map_err(|e| e.to_string())
}

/// Run only from `pixels_jpeg2000_decode_does_not_abort`, in a child process.
#[cfg(feature = "pixels")]
#[test]
#[ignore = "run in a child process by pixels_jpeg2000_decode_does_not_abort"]
fn pixels_jpeg2000_decode_child() {
    let _ = clean_path(&fixture("pixels-openjp2-null-dealloc.bin"));
}

/// Every JPEG 2000 file of the evaluation corpus aborted the `pixels` target (8 of its
/// seeds): openjp2 0.6.1 frees a code block's `decoded_data` with `std::alloc::dealloc`
/// without checking for null (tcd.rs, `opj_tcd_code_block_dec_deallocate` and
/// `opj_tcd_code_block_dec_allocate`), which is undefined behaviour; with debug assertions
/// (Rust's UB checks) the process aborts: "unsafe precondition(s) violated:
/// NonNull::new_unchecked requires that the pointer is non-null". The fixture (670 bytes)
/// is one 256x1024 16-bit JPEG 2000 frame of 250 bytes in a minimal header. An abort
/// cannot be caught, so the decode runs in a child process (this test binary, the ignored
/// test above). Fixed in vendor/openjp2 (PATCHED.md); without the fix it fails in builds
/// with debug assertions and Rust's UB checks (nightly std), and passes in release builds,
/// where the UB goes unnoticed.
#[cfg(feature = "pixels")]
#[test]
fn pixels_jpeg2000_decode_does_not_abort() {
    let out = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args(["--ignored", "--exact", "pixels_jpeg2000_decode_child", "--nocapture", "--test-threads=1"])
        .output()
        .expect("run the child test");
    assert!(
        out.status.success(),
        "decoding the JPEG 2000 fixture aborted the process:\n{}",
        String::from_utf8_lossy(&out.stderr).lines().filter(|l| l.contains("panicked") || l.contains("precondition")).collect::<Vec<_>>().join("\n")
    );
}

/// A small well-formed file (a Basic Text SR header) still goes through with the watch on.
#[test]
fn a_small_valid_file_is_not_refused() {
    let mut obj = dicom_object::mem::InMemDicomObject::new_empty();
    for (g, e, v) in [(0x0008, 0x0016, "1.2.840.10008.5.1.4.1.1.88.11"), (0x0008, 0x0018, "2.25.1"), (0x0010, 0x0010, "Doe^Jane")] {
        let vr = if g == 0x0010 { dicom_core::VR::PN } else { dicom_core::VR::UI };
        obj.put(dicom_core::DataElement::new(dicom_core::Tag(g, e), vr, dicom_core::PrimitiveValue::from(v)));
    }
    let file = obj.with_meta(dicom_object::meta::FileMetaTableBuilder::new().transfer_syntax("1.2.840.10008.1.2.1")).unwrap();
    let mut bytes = Vec::new();
    file.write_all(&mut bytes).unwrap();
    let ((harvest, out), largest) = watched(|| deidentify_path(&bytes));
    harvest.expect("harvest");
    out.expect("deidentify");
    assert!(largest <= LIMIT);
}

/// dicom-rs's RLE decoder indexes past a segment that decodes to fewer bytes than the image
/// has pixels ("index out of bounds: the len is 479987 but the index is 479987"). Natively the
/// decode step catches the panic, but fuzzing (panic = abort) and wasm (a trap) cannot: RLE is
/// now decoded by our own decoder (src/pixels/rle.rs), which returns an error. The test
/// checks that no panic happens at all, caught or not.
#[cfg(feature = "pixels")]
#[test]
fn pixels_rle_short_segment_is_an_error_not_a_panic() {
    use std::cell::Cell;
    thread_local!(static PANICKED: Cell<bool> = const { Cell::new(false) });
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICKED.with(|p| p.set(true));
        previous(info);
    }));
    let result = clean_path(&fixture("pixels-rle-short-segment.bin"));
    assert!(!PANICKED.with(|p| p.get()), "a decoder panicked (caught or not)");
    let err = result.expect_err("a corrupt RLE frame must not be cleaned");
    assert!(err.contains("RLE segment"), "{err}");
}
