//! The real `dicom-deid` binary, driven end to end on temporary folders of fixtures.
//! The fixtures carry pixels, which the default policy cleans: a build without the pixel
//! cleaner withholds them (tests/header_only_build.rs checks that build instead).
#![cfg(feature = "pixels")]

mod common;

use common::*;
use dicom_core::header::Header;
use dicom_deid::Policy;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

const BIN: &str = env!("CARGO_BIN_EXE_dicom-deid");

const STUDY_B: Study = Study {
    study_uid: "1.2.826.0.1.3680043.8.498.2002",
    series_uid: "1.2.826.0.1.3680043.8.498.2002.1",
    date: "20221104",
    time: "141500",
};

/// A unique scratch folder under the system temp dir, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(label: &str) -> Scratch {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("dicom-deid-cli-{label}-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        Scratch(p)
    }
    fn path(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn put(root: &Path, rel: &str, bytes: &[u8]) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, bytes).unwrap();
}

/// Good fixture files: (relative path, bytes), nested, several transfer syntaxes, two patients.
fn good_files() -> Vec<(&'static str, Vec<u8>)> {
    let ref_uid = format!("{}.1", STUDY_A.series_uid);
    vec![
        ("en1.dcm", file(&EN_PATIENT, &STUDY_A, 1, EXPLICIT_LE)),
        ("ward/en2.dcm", encode(dataset(&EN_PATIENT, &STUDY_A, 2, Some(&ref_uid)), IMPLICIT_LE)),
        ("ward/deep/er/en3_be.dcm", file(&EN_PATIENT, &STUDY_A, 3, EXPLICIT_BE)),
        ("ward/deep/en4_deflated.dcm", file(&EN_PATIENT, &STUDY_A, 4, DEFLATED)),
        ("other/it1.dcm", file(&IT_PATIENT, &STUDY_B, 1, EXPLICIT_LE)),
        ("other/sub/it2_jpeg.dcm", file(&IT_PATIENT, &STUDY_B, 2, JPEG_BASELINE)),
    ]
}

/// Files that claim to be DICOM but cannot be processed.
fn broken_files() -> Vec<(&'static str, Vec<u8>)> {
    let good = file(&EN_PATIENT, &STUDY_A, 9, EXPLICIT_LE);
    let mut garbage = vec![0u8; 128];
    garbage.extend_from_slice(b"DICM");
    garbage.extend((0..600u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8));
    // A private OB element that declares 0xFFFFFFF0 bytes.
    let mut huge = common::broken::explicit_file(&common::broken::explicit_le(0x0009, 0x1001, b"OB", &[1; 8]));
    let at = huge.len() - 12;
    huge[at..at + 4].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    vec![
        ("broken/trunc_in_meta.dcm", good[..140].to_vec()),
        ("broken/trunc_early.dcm", good[..300].to_vec()),
        ("ward/trunc_half.dcm", good[..good.len() / 2].to_vec()),
        ("dicm_then_garbage.dcm", garbage),
        ("hostile/huge_length.dcm", huge),
        ("hostile/nested_5000.dcm", common::broken::nested_sequences(5000)),
        ("hostile/DICOMDIR", common::broken::dicomdir()),
    ]
}

fn non_dicom_files() -> Vec<(&'static str, Vec<u8>)> {
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10\x08\x02\0\0\0".to_vec();
    png.extend(std::iter::repeat_n(0x5Au8, 300));
    vec![("ward/picture.png", png), ("notes.txt", b"Just a text file, not a DICOM file.\n".to_vec())]
}

fn write_all(root: &Path, files: &[(&str, Vec<u8>)]) {
    for (rel, b) in files {
        put(root, rel, b);
    }
}

/// A folder with only good files.
fn good_folder(root: &Path) {
    write_all(root, &good_files());
}

/// A folder with good, broken and non-DICOM files.
fn mixed_folder(root: &Path) {
    write_all(root, &good_files());
    write_all(root, &broken_files());
    write_all(root, &non_dicom_files());
}

fn run(cwd: &Path, args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    Command::new(BIN).current_dir(cwd).args(args.iter().map(|a| a.as_ref())).output().expect("run dicom-deid")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Every file under `root`, as relative paths with '/' separators.
fn tree(root: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = fs::read_dir(&d) else { continue };
        for e in rd {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(root).unwrap();
                out.insert(rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect::<Vec<_>>().join("/"));
            }
        }
    }
    out
}

fn read_tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    tree(root).into_iter().map(|rel| (rel.clone(), fs::read(root.join(&rel)).unwrap())).collect()
}

fn all_phi() -> Vec<String> {
    let mut v = phi_strings(&EN_PATIENT);
    v.extend(phi_strings(&IT_PATIENT));
    v
}

/// No PHI in the raw bytes nor in any parsed value (deflated outputs compress the text).
fn assert_no_phi(rel: &str, bytes: &[u8]) {
    let phi = all_phi();
    for s in &phi {
        assert!(!raw_contains(bytes, s), "{rel}: PHI {s:?} in the output bytes");
    }
    fn walk(obj: &dicom_object::mem::InMemDicomObject, rel: &str, phi: &[String]) {
        for e in obj.iter() {
            if let Some(items) = e.items() {
                for i in items {
                    walk(i, rel, phi);
                }
            } else if let Ok(v) = e.value().to_str() {
                let v = v.to_lowercase();
                for s in phi {
                    assert!(!v.contains(&s.to_lowercase()), "{rel}: PHI {s:?} in element {:?}", e.tag());
                }
            }
        }
    }
    walk(&parse(bytes), rel, &phi);
}

fn uid_of(bytes: &[u8], g: u16, e: u16) -> String {
    text(&parse(bytes), g, e).unwrap_or_else(|| panic!("({g:04X},{e:04X}) missing"))
}

fn display(rel: &str) -> String {
    Path::new(rel).display().to_string()
}

#[test]
fn mixed_folder_fails_cleanly_and_writes_only_good_outputs() {
    let s = Scratch::new("mixed");
    let input = s.path("in");
    let out = s.path("out");
    mixed_folder(&input);
    let o = run(&s.0, &[&input, &"--out", &out, &"--quiet", &"--secret-file", &s.path("key")]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "a failed file makes the run fail; stderr:\n{err}");

    let written = tree(&out);
    for (rel, _) in good_files() {
        assert!(written.contains(rel), "no output for good file {rel}; written: {written:?}\n{err}");
    }
    for (rel, _) in broken_files().iter().chain(non_dicom_files().iter()) {
        assert!(!written.contains(*rel), "an output exists for broken/non-DICOM input {rel}");
    }
    assert_eq!(written.len(), good_files().len(), "exactly one output per good file: {written:?}");
    assert!(!written.iter().any(|f| f.ends_with(".tmp")), "temporary files left: {written:?}");

    for (rel, _) in broken_files() {
        let line = err
            .lines()
            .find(|l| l.contains("FAILED") && l.contains(&display(rel)))
            .unwrap_or_else(|| panic!("stderr does not report {rel} as FAILED:\n{err}"));
        let reason = line.split_once(&format!("{}:", display(rel))).map(|(_, r)| r.trim()).unwrap_or("");
        assert!(reason.len() > 5, "no reason given for {rel}: {line}");
    }
    for (rel, _) in non_dicom_files() {
        assert!(
            err.lines().any(|l| l.contains("skipped") && l.contains(&display(rel))),
            "stderr does not report {rel} as skipped:\n{err}"
        );
        assert!(!err.lines().any(|l| l.contains("FAILED") && l.contains(&display(rel))), "{rel} is not a failure");
    }
    for (rel, bytes) in read_tree(&out) {
        assert_no_phi(&rel, &bytes);
    }
}

#[test]
fn all_good_folder_exits_zero() {
    let s = Scratch::new("good");
    let (input, out) = (s.path("in"), s.path("out"));
    good_folder(&input);
    let o = run(&s.0, &[&input, &"--out", &out, &"--quiet"]);
    assert_eq!(o.status.code(), Some(0), "stderr:\n{}", stderr(&o));
    let written = tree(&out);
    let expected: BTreeSet<String> = good_files().iter().map(|(r, _)| r.to_string()).collect();
    assert_eq!(written, expected);
    for (rel, bytes) in read_tree(&out) {
        assert_no_phi(&rel, &bytes);
    }
}

#[test]
fn single_file_input_goes_to_its_file_name() {
    let s = Scratch::new("single");
    put(&s.0, "in/one.dcm", &file(&EN_PATIENT, &STUDY_A, 1, EXPLICIT_LE));
    let out = s.path("out");
    let o = run(&s.0, &[&s.path("in/one.dcm"), &"--out", &out, &"--quiet"]);
    assert_eq!(o.status.code(), Some(0), "stderr:\n{}", stderr(&o));
    assert_eq!(tree(&out), BTreeSet::from(["one.dcm".to_string()]));
}

fn read_report(path: &Path) -> (String, Vec<serde_json::Value>) {
    let text = fs::read_to_string(path).expect("report written");
    let lines = text.lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str(l).expect("each line is JSON")).collect();
    (text, lines)
}

#[test]
fn report_has_one_line_per_file_and_no_values_unless_asked() {
    let s = Scratch::new("report");
    let (input, out) = (s.path("in"), s.path("out"));
    mixed_folder(&input);
    let report = s.path("r.jsonl");
    let o = run(&s.0, &[&input, &"--out", &out, &"--quiet", &"--report", &report]);
    assert_eq!(o.status.code(), Some(1), "stderr:\n{}", stderr(&o));
    let (text, lines) = read_report(&report);

    let mut expected: BTreeMap<String, &str> = BTreeMap::new();
    for (rel, _) in good_files() {
        expected.insert(display(rel), "ok");
    }
    for (rel, _) in broken_files() {
        expected.insert(display(rel), "failed");
    }
    for (rel, _) in non_dicom_files() {
        expected.insert(display(rel), "skipped");
    }
    assert_eq!(lines.len(), expected.len(), "one line per input file:\n{text}");
    let mut seen = BTreeMap::new();
    for l in &lines {
        let file = l["file"].as_str().expect("file").to_string();
        let status = l["status"].as_str().expect("status").to_string();
        assert!(["ok", "failed", "skipped"].contains(&status.as_str()), "status {status}");
        if status == "ok" {
            assert_eq!(l["output"].as_str(), Some(file.as_str()), "mirror layout output path");
            let elements = l["report"]["elements"].as_array().expect("report.elements");
            assert!(!elements.is_empty(), "{file}: no element changes reported");
            for e in elements {
                for k in ["tag", "keyword", "vr", "action", "rule"] {
                    assert!(e.get(k).and_then(|v| v.as_str()).is_some(), "{file}: element without {k}: {e}");
                }
                assert!(e.get("before").is_none() && e.get("after").is_none(), "values without --report-values: {e}");
            }
            let acc = elements.iter().find(|e| e["keyword"] == "AccessionNumber").expect("AccessionNumber in the report");
            assert_eq!(acc["tag"], "(0008,0050)");
            assert_eq!(acc["vr"], "SH");
            assert_eq!(acc["action"], "empty");
        } else {
            assert!(l["reason"].as_str().is_some_and(|r| !r.is_empty()), "{file}: no reason");
        }
        seen.insert(file, status);
    }
    let expected: BTreeMap<String, String> = expected.into_iter().map(|(k, v)| (k, v.to_string())).collect();
    assert_eq!(seen, expected);
    for p in all_phi() {
        assert!(!text.to_lowercase().contains(&p.to_lowercase()), "the report leaks {p:?} without --report-values");
    }

    let report2 = s.path("r2.jsonl");
    let o = run(&s.0, &[&input, &"--out", &s.path("out2"), &"--quiet", &"--report", &report2, &"--report-values"]);
    assert_eq!(o.status.code(), Some(1));
    let (text2, lines2) = read_report(&report2);
    assert_eq!(lines2.len(), expected.len());
    assert!(text2.contains("HDH23-448812"), "--report-values shows the original AccessionNumber");
}

fn read_csv(path: &Path) -> (String, BTreeMap<String, String>) {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    let header = lines.next().unwrap_or("").to_string();
    let rows = lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (a, b) = l.split_once(',').unwrap_or_else(|| panic!("bad row {l:?}"));
            (a.to_string(), b.to_string())
        })
        .collect();
    (header, rows)
}

#[test]
fn mappings_are_written_only_when_asked_and_match_outputs() {
    let s = Scratch::new("maps");
    let (input, out, maps) = (s.path("in"), s.path("out"), s.path("maps"));
    good_folder(&input);
    let o = run(&s.0, &[&input, &"--out", &out, &"--quiet", &"--mappings", &maps]);
    assert_eq!(o.status.code(), Some(0), "stderr:\n{}", stderr(&o));
    let (h1, uids) = read_csv(&maps.join("uid_mapping.csv"));
    let (h2, ids) = read_csv(&maps.join("patient_id_mapping.csv"));
    assert_eq!(h1, "id_old,id_new");
    assert_eq!(h2, "id_old,id_new");

    let en1 = fs::read(out.join("en1.dcm")).unwrap();
    let it1 = fs::read(out.join("other/it1.dcm")).unwrap();
    assert_eq!(uids.get(STUDY_A.study_uid), Some(&uid_of(&en1, 0x0020, 0x000D)), "StudyInstanceUID mapping");
    assert_eq!(uids.get(STUDY_A.series_uid), Some(&uid_of(&en1, 0x0020, 0x000E)), "SeriesInstanceUID mapping");
    assert_eq!(uids.get(&format!("{}.1", STUDY_A.series_uid)), Some(&uid_of(&en1, 0x0008, 0x0018)), "SOPInstanceUID mapping");
    assert_eq!(uids.get(STUDY_B.study_uid), Some(&uid_of(&it1, 0x0020, 0x000D)));
    assert_eq!(ids.get(EN_PATIENT.id), Some(&uid_of(&en1, 0x0010, 0x0020)), "PatientID mapping");
    assert_eq!(ids.get(IT_PATIENT.id), Some(&uid_of(&it1, 0x0010, 0x0020)));
    assert_ne!(ids.get(EN_PATIENT.id), ids.get(IT_PATIENT.id));

    // Without --mappings: no tables anywhere (the scratch root is also the working directory).
    let s2 = Scratch::new("nomaps");
    good_folder(&s2.path("in"));
    let o = run(&s2.0, &[&s2.path("in"), &"--out", &s2.path("out"), &"--quiet"]);
    assert_eq!(o.status.code(), Some(0));
    for f in tree(&s2.0) {
        assert!(!f.ends_with("uid_mapping.csv") && !f.ends_with("patient_id_mapping.csv"), "mapping table written without --mappings: {f}");
    }
}

#[test]
fn secret_file_is_created_and_makes_runs_reproducible() {
    let s = Scratch::new("secret");
    let input = s.path("in");
    good_folder(&input);
    let key = s.path("secret.key");
    assert!(!key.exists());
    let o = run(&s.0, &[&input, &"--out", &s.path("out1"), &"--quiet", &"--secret-file", &key]);
    assert_eq!(o.status.code(), Some(0), "stderr:\n{}", stderr(&o));
    let secret = fs::read_to_string(&key).expect("secret file created");
    let trimmed = secret.trim();
    assert_eq!(trimmed.len(), 64, "64 hex digits: {trimmed:?}");
    assert!(trimmed.bytes().all(|b| b.is_ascii_hexdigit()), "hex: {trimmed:?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(fs::metadata(&key).unwrap().permissions().mode() & 0o077, 0, "the secret is private to its owner");
    }

    let o = run(&s.0, &[&input, &"--out", &s.path("out2"), &"--quiet", &"--secret-file", &key]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(fs::read_to_string(&key).unwrap(), secret, "an existing secret is reused, not replaced");
    let (a, b) = (read_tree(&s.path("out1")), read_tree(&s.path("out2")));
    assert_eq!(a.len(), good_files().len());
    assert!(a == b, "same secret file, byte-identical outputs");

    let other = s.path("other.key");
    fs::write(&other, "a different secret\n").unwrap();
    let o = run(&s.0, &[&input, &"--out", &s.path("out3"), &"--quiet", &"--secret-file", &other]);
    assert_eq!(o.status.code(), Some(0));
    let c = read_tree(&s.path("out3"));
    assert_ne!(uid_of(&a["en1.dcm"], 0x0020, 0x000D), uid_of(&c["en1.dcm"], 0x0020, 0x000D), "another secret, another StudyInstanceUID");
}

#[test]
fn patient_study_series_layout() {
    let s = Scratch::new("layout");
    let (input, out) = (s.path("in"), s.path("out"));
    good_folder(&input);
    let o = run(&s.0, &[&input, &"--out", &out, &"--quiet", &"--layout", &"patient/study/series"]);
    assert_eq!(o.status.code(), Some(0), "stderr:\n{}", stderr(&o));
    let files = read_tree(&out);
    assert_eq!(files.len(), good_files().len(), "{:?}", files.keys());
    let mut patients = BTreeSet::new();
    for (rel, bytes) in &files {
        let obj = parse(bytes);
        let parts: Vec<&str> = rel.split('/').collect();
        let pid = text(&obj, 0x0010, 0x0020).unwrap();
        let expected = vec![
            pid.clone(),
            text(&obj, 0x0020, 0x000D).unwrap(),
            text(&obj, 0x0020, 0x000E).unwrap(),
            format!("{}.dcm", text(&obj, 0x0008, 0x0018).unwrap()),
        ];
        assert_eq!(parts, expected, "{rel}");
        assert!(pid.starts_with("ANON-"), "pseudonymous patient folder: {pid}");
        patients.insert(pid);
        assert_no_phi(rel, bytes);
    }
    assert_eq!(patients.len(), 2, "one folder per patient");

    let o = run(&s.0, &[&input, &"--out", &s.path("out2"), &"--quiet", &"--layout", &"by-date"]);
    assert_eq!(o.status.code(), Some(2), "an unknown layout is a usage error");
    assert!(!s.path("out2").exists());
}

/// With pixels off the CLI writes native images from their headers, copying Pixel Data file
/// to file (`Deidentifier::read_head`): every output must be the library's whole-file output.
#[test]
fn header_only_outputs_are_the_library_outputs() {
    let s = Scratch::new("headpath");
    let inputs = good_files();
    for (rel, bytes) in &inputs {
        put(&s.path("in"), rel, bytes);
    }
    fs::write(s.path("policy.json"), r#"{"pixels": {"mode": "off"}}"#).unwrap();
    fs::write(s.path("secret"), "cli head path secret").unwrap();
    let o = run(&s.0, &[&"in", &"--out", &"out", &"--jobs", &"1", &"--config", &"policy.json", &"--secret-file", &"secret"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let d = dicom_deid::Deidentifier::new(header_policy(), Some(b"cli head path secret")).unwrap();
    for (_, bytes) in &inputs {
        d.harvest(bytes).unwrap();
    }
    for (rel, bytes) in &inputs {
        let expected = d.deidentify(bytes).unwrap().bytes;
        assert!(fs::read(s.path("out").join(rel)).unwrap() == expected, "{rel}: CLI output differs from the library's");
    }
}

#[test]
fn jobs_do_not_change_outputs() {
    let s = Scratch::new("jobs");
    let input = s.path("in");
    mixed_folder(&input);
    let key = s.path("k");
    fs::write(&key, "jobs secret").unwrap();
    let o1 = run(&s.0, &[&input, &"--out", &s.path("j1"), &"--quiet", &"--secret-file", &key, &"--jobs", &"1"]);
    let o2 = run(&s.0, &[&input, &"--out", &s.path("j2"), &"--quiet", &"--secret-file", &key, &"--jobs", &"2"]);
    assert_eq!(o1.status.code(), Some(1));
    assert_eq!(o2.status.code(), Some(1));
    let (a, b) = (read_tree(&s.path("j1")), read_tree(&s.path("j2")));
    assert_eq!(a.len(), good_files().len());
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (k, v) in &a {
        assert!(v == &b[k], "{k} differs between --jobs 1 and --jobs 2");
    }
}

#[test]
fn a_lone_clip_is_detected_on_every_thread_with_the_same_output() {
    // The batch's last file (here its only one) shares its detector runs out with the
    // threads that have no file left: 30 frames, sampled, and the still image.
    let s = Scratch::new("clip");
    let input = s.path("in");
    put(&input, "clip.dcm", &broken::native_image(128, 160, 30, 128 * 160 * 30));
    let key = s.path("k");
    fs::write(&key, "clip secret").unwrap();
    let pixels = |jobs: &str| {
        let (out, report) = (s.path(&format!("out{jobs}")), s.path(&format!("report{jobs}.jsonl")));
        let o = run(&s.0, &[&input, &"--out", &out, &"--quiet", &"--secret-file", &key, &"--jobs", &jobs, &"--report", &report]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let lines = read_report(&report).1;
        (fs::read(out.join("clip.dcm")).unwrap(), lines[0]["report"]["pixels"].clone())
    };
    let (alone, px1) = pixels("1");
    let (shared, px2) = pixels("2");
    assert!(px1["frames_detected"].as_u64().unwrap() >= 4, "{px1}");
    assert_eq!(px1.get("detections_shared"), None, "one thread shares nothing: {px1}");
    assert_eq!(px2["detections_shared"], px2["frames_detected"], "every run from the two parts: {px2}");
    assert!(shared == alone, "the same output with the runs shared out");
}

#[test]
fn invalid_config_exits_2_and_writes_nothing() {
    let s = Scratch::new("badcfg");
    let input = s.path("in");
    good_folder(&input);
    let cases = [
        ("unknown-field.json", r#"{"options": {"retain_uids": true, "retain_everything": true}}"#, "retain_everything"),
        ("unknown-top.json", r#"{"optoins": {}}"#, "optoins"),
        (
            "dates.json",
            r#"{"options": {"retain_longitudinal_full_dates": true, "retain_longitudinal_modified_dates": true}}"#,
            "retain_longitudinal_full_dates",
        ),
        ("selector.json", r#"{"overrides": [{"select": "NoSuchKeyword", "action": "remove"}]}"#, "NoSuchKeyword"),
    ];
    for (name, json, needle) in cases {
        let cfg = s.path(name);
        fs::write(&cfg, json).unwrap();
        let out = s.path(&format!("out-{name}"));
        let (report, maps, key) = (s.path(&format!("{name}.jsonl")), s.path(&format!("maps-{name}")), s.path(&format!("{name}.key")));
        let o = run(&s.0, &[&input, &"--out", &out, &"--quiet", &"--config", &cfg, &"--report", &report, &"--mappings", &maps, &"--secret-file", &key]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{name}: stderr:\n{err}");
        assert!(err.contains(needle), "{name}: the message should name {needle:?}:\n{err}");
        assert!(err.contains(name), "{name}: the message should name the config file:\n{err}");
        for p in [&out, &report, &maps, &key] {
            assert!(!p.exists(), "{name}: {} was written", p.display());
        }
    }
}

#[test]
fn policy_subcommand_prints_the_default_policy() {
    let s = Scratch::new("policy");
    let o = run(&s.0, &[&"policy"]);
    assert_eq!(o.status.code(), Some(0), "stderr:\n{}", stderr(&o));
    let json = String::from_utf8(o.stdout).unwrap();
    let p = Policy::from_json(&json).expect("the printed policy is accepted");
    assert_eq!(p.to_json(), Policy::default().to_json());
    assert_eq!(json.trim_end(), Policy::default().to_json());
}

#[test]
fn policy_subcommand_imports_the_seed_configuration() {
    let s = Scratch::new("seedpolicy");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seed");
    let (csv, rules) = (dir.join("base_anonymization_profile.csv"), dir.join("custom_rules.json"));
    let o = run(&s.0, &[&"policy", &"--seed-profile", &csv, &"--seed-rules", &rules]);
    assert_eq!(o.status.code(), Some(0), "stderr:\n{}", stderr(&o));
    let json = String::from_utf8(o.stdout).unwrap();
    let p = Policy::from_json(&json).expect("the imported policy is valid");
    let direct = dicom_deid::policy::seed::import(&fs::read_to_string(&csv).unwrap(), &fs::read_to_string(&rules).unwrap()).unwrap();
    assert_eq!(p.to_json(), direct.to_json());
    assert_eq!(p.pixels.mode, dicom_deid::policy::pixels::PixelMode::Detect);
    assert!(p.overrides.iter().any(|o| o.select == "(0008,1010)"), "the seed's StationName rule is carried over");

    // The imported policy drives a real run.
    let cfg = s.path("seed-policy.json");
    fs::write(&cfg, &json).unwrap();
    good_folder(&s.path("in"));
    let o = run(&s.0, &[&s.path("in"), &"--out", &s.path("out"), &"--quiet", &"--config", &cfg]);
    assert_eq!(o.status.code(), Some(0), "stderr:\n{}", stderr(&o));
    for (rel, bytes) in read_tree(&s.path("out")) {
        assert_no_phi(&rel, &bytes);
    }

    // One seed file without the other is a usage error.
    let o = run(&s.0, &[&"policy", &"--seed-profile", &csv]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn verify_subcommand_passes_real_outputs_and_catches_originals() {
    let s = Scratch::new("verify");
    let (input, out) = (s.path("in"), s.path("out"));
    good_folder(&input);
    let o = run(&s.0, &[&input, &"--out", &out, &"--quiet"]);
    assert_eq!(o.status.code(), Some(0), "stderr:\n{}", stderr(&o));

    let o = run(&s.0, &[&"verify", &"--original", &input, &"--deidentified", &out]);
    assert_eq!(o.status.code(), Some(0), "real outputs verify; stderr:\n{}", stderr(&o));

    let victim = "ward/en2.dcm";
    fs::copy(input.join(victim), out.join(victim)).unwrap();
    let o = run(&s.0, &[&"verify", &"--original", &input, &"--deidentified", &out]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "an original in place of an output fails; stderr:\n{err}");
    assert!(err.lines().any(|l| l.contains("FAILED") && l.contains(&display(victim))), "names the file:\n{err}");
    assert_eq!(err.matches("FAILED").count(), 1, "only the replaced file fails:\n{err}");
    for p in all_phi() {
        assert!(!err.to_lowercase().contains(&p.to_lowercase()), "verify prints the PHI value {p:?}:\n{err}");
    }
}

#[test]
fn empty_secret_file_is_a_usage_error() {
    let s = Scratch::new("emptykey");
    good_folder(&s.path("in"));
    let key = s.path("empty.key");
    fs::write(&key, "  \n").unwrap();
    let o = run(&s.0, &[&s.path("in"), &"--out", &s.path("out"), &"--quiet", &"--secret-file", &key]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "stderr:\n{err}");
    assert!(err.contains("empty"), "{err}");
    assert!(!s.path("out").exists());
}

#[test]
fn verify_subcommand_on_a_single_file_pair() {
    let s = Scratch::new("verify1");
    put(&s.0, "in/one.dcm", &file(&IT_PATIENT, &STUDY_B, 1, EXPLICIT_BE));
    let o = run(&s.0, &[&s.path("in/one.dcm"), &"--out", &s.path("out"), &"--quiet"]);
    assert_eq!(o.status.code(), Some(0), "stderr:\n{}", stderr(&o));
    let o = run(&s.0, &[&"verify", &"--original", &s.path("in/one.dcm"), &"--deidentified", &s.path("out/one.dcm")]);
    assert_eq!(o.status.code(), Some(0), "stderr:\n{}", stderr(&o));
    let o = run(&s.0, &[&"verify", &"--original", &s.path("in/one.dcm"), &"--deidentified", &s.path("in/one.dcm")]);
    assert_eq!(o.status.code(), Some(1), "stderr:\n{}", stderr(&o));
}

#[test]
fn layout_path_components_cannot_escape_the_output_folder() {
    let dir = Scratch::new("escape");
    put(&dir.path("in"), "a.dcm", &common::file(&common::EN_PATIENT, &common::STUDY_A, 1, common::EXPLICIT_LE));
    fs::write(dir.path("policy.json"), r#"{"pseudonyms": {"patient_id": "../../{hash}"}}"#).unwrap();
    let status = Command::new(BIN)
        .args(["in", "--out", "out", "--layout", "patient/study/series", "--quiet", "--config", "policy.json"])
        .current_dir(&dir.0)
        .status()
        .unwrap();
    assert!(status.success());
    let all = tree(&dir.0);
    let outside: Vec<_> = all.iter().filter(|p| !p.starts_with("in/") && !p.starts_with("out/") && *p != "policy.json").collect();
    assert!(outside.is_empty(), "written outside the output folder: {outside:?}");
    assert_eq!(all.iter().filter(|p| p.starts_with("out/") && p.ends_with(".dcm")).count(), 1);
}
