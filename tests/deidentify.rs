//! End-to-end tests of the header core on fixtures built here.

mod common;

use common::*;
use dicom_core::header::Header;
use dicom_core::{PrimitiveValue, Tag, VR};
use dicom_deid::policy::{Action, Override};
use dicom_deid::{Deidentifier, ErrorKind, Policy};

fn deid() -> Deidentifier {
    Deidentifier::new(header_policy(), Some(b"test secret".as_slice())).unwrap()
}

fn assert_no_phi(bytes: &[u8], p: &Patient) {
    for s in phi_strings(p) {
        assert!(!raw_contains(bytes, &s), "PHI string {s:?} survives in the output bytes");
    }
}

#[test]
fn default_policy_removes_all_phi_in_every_header_transfer_syntax() {
    for ts in [EXPLICIT_LE, IMPLICIT_LE, EXPLICIT_BE, DEFLATED, JPEG_BASELINE] {
        let out = deid().deidentify(&file(&EN_PATIENT, &STUDY_A, 1, ts)).unwrap_or_else(|e| panic!("{ts}: {e}"));
        let obj = parse(&out.bytes);
        assert_eq!(obj.meta().transfer_syntax().trim_end_matches('\0'), ts, "transfer syntax kept");
        if ts != DEFLATED {
            assert_no_phi(&out.bytes, &EN_PATIENT);
        }
        // Deflated: the scorer inflates; our own verifier did too. Check the parsed values.
        for e in obj.iter() {
            if let Ok(v) = e.value().to_str() {
                for s in phi_strings(&EN_PATIENT) {
                    assert!(!v.to_lowercase().contains(&s.to_lowercase()), "{ts}: {s:?} in {:?}", e.tag());
                }
            }
        }
    }
}

#[test]
fn keeps_clinical_attributes_and_characteristics() {
    let out = deid().deidentify(&file(&EN_PATIENT, &STUDY_A, 1, EXPLICIT_LE)).unwrap();
    let obj = parse(&out.bytes);
    assert_eq!(text(&obj, 0x0008, 0x0060).as_deref(), Some("CT"));
    assert_eq!(text(&obj, 0x0018, 0x0015).as_deref(), Some("CHEST"));
    assert_eq!(text(&obj, 0x0018, 0x0050).as_deref(), Some("5.0"));
    assert_eq!(text(&obj, 0x0010, 0x0040).as_deref(), Some("F"), "Retain Patient Characteristics");
    assert_eq!(text(&obj, 0x0010, 0x1010).as_deref(), Some("062Y"));
    assert_eq!(text(&obj, 0x0008, 0x103E).as_deref(), Some("AX 5mm"), "clinical descriptor survives cleaning");
    assert_eq!(text(&obj, 0x0018, 0x1000).as_deref(), Some("SN-558812"), "Retain Device Identity");
    assert_eq!(text(&obj, 0x0008, 0x0070).as_deref(), Some("ACME Medical Systems"));
    let desc = text(&obj, 0x0008, 0x1030).unwrap();
    assert!(desc.starts_with("CT CHEST"), "descriptor cleaned, not removed: {desc}");
    let code = obj.get(Tag(0x0008, 0x1032)).unwrap().items().unwrap()[0].get(Tag(0x0008, 0x0104)).unwrap().to_str().unwrap();
    assert_eq!(code, "CT CHEST W/O CONTRAST");
    assert_eq!(obj.get(Tag(0x7FE0, 0x0010)).unwrap().to_bytes().unwrap().len(), 32, "pixels untouched");
}

#[test]
fn removes_private_curves_overlays_group_lengths_and_unlisted_names() {
    let out = deid().deidentify(&file(&EN_PATIENT, &STUDY_A, 1, EXPLICIT_LE)).unwrap();
    let obj = parse(&out.bytes);
    for (g, e) in [(0x0009, 0x0010), (0x0009, 0x1010), (0x0009, 0x1012), (0x0019, 0x1099), (0x5000, 0x0005), (0x6000, 0x3000), (0x6000, 0x0022), (0x0018, 0x0000), (0x0010, 0x1002), (0x6000, 0x0010)] {
        assert!(obj.get(Tag(g, e)).is_none(), "({g:04X},{e:04X}) should be removed");
    }
    // Request Attributes Sequence: X, but C under Clean Descriptors: kept, items cleaned.
    let req = &obj.get(Tag(0x0040, 0x0275)).unwrap().items().unwrap()[0];
    assert!(req.get(Tag(0x0040, 0x1001)).is_none(), "Requested Procedure ID removed inside");
    let desc = req.get(Tag(0x0032, 0x1060)).unwrap().to_str().unwrap().to_string();
    assert!(desc.starts_with("CT chest") && !desc.contains(EN_PATIENT.family), "cleaned: {desc}");
    assert_eq!(text(&obj, 0x0019, 0x100C).as_deref(), Some("1000"), "safe private kept");
    assert_eq!(text(&obj, 0x0019, 0x0010).as_deref(), Some("SIEMENS MR HEADER"), "its creator kept");
    assert_eq!(text(&obj, 0x0014, 0x2006).as_deref(), Some(""), "unlisted PN (Evaluator Name) emptied");
    assert!(out.report.elements.iter().any(|c| c.source == "private" && c.action == Action::Remove));
}

#[test]
fn markers_are_present() {
    let out = deid().deidentify(&file(&EN_PATIENT, &STUDY_A, 1, EXPLICIT_LE)).unwrap();
    let obj = parse(&out.bytes);
    assert_eq!(text(&obj, 0x0012, 0x0062).as_deref(), Some("YES"));
    assert!(text(&obj, 0x0012, 0x0063).unwrap().contains("Basic Application Confidentiality Profile"));
    let codes: Vec<String> = obj.get(Tag(0x0012, 0x0064)).unwrap().items().unwrap().iter()
        .map(|i| i.get(Tag(0x0008, 0x0100)).unwrap().to_str().unwrap().trim().to_string()).collect();
    for c in ["113100", "113111", "113109", "113108", "113107", "113105", "113104"] {
        assert!(codes.contains(&c.to_string()), "code {c} missing from {codes:?}");
    }
    assert_eq!(text(&obj, 0x0028, 0x0303).as_deref(), Some("MODIFIED"));
}

#[test]
fn uids_are_consistent_across_files_and_references_survive() {
    let d = deid();
    let a = d.deidentify(&file(&EN_PATIENT, &STUDY_A, 1, EXPLICIT_LE)).unwrap();
    let ref_uid = format!("{}.1", STUDY_A.series_uid);
    let b = d.deidentify(&encode(dataset(&EN_PATIENT, &STUDY_A, 2, Some(&ref_uid)), IMPLICIT_LE)).unwrap();
    let (oa, ob) = (parse(&a.bytes), parse(&b.bytes));
    for (g, e) in [(0x0020, 0x000D), (0x0020, 0x000E), (0x0020, 0x0052)] {
        let (ua, ub) = (text(&oa, g, e).unwrap(), text(&ob, g, e).unwrap());
        assert_eq!(ua, ub, "same input UID, same output UID");
        assert!(ua.starts_with("2.25."));
    }
    let sop_a = text(&oa, 0x0008, 0x0018).unwrap();
    assert_ne!(sop_a, text(&ob, 0x0008, 0x0018).unwrap());
    assert_eq!(oa.meta().media_storage_sop_instance_uid().trim_end_matches('\0'), sop_a);
    let r = ob.get(Tag(0x0008, 0x1140)).unwrap().items().unwrap()[0].get(Tag(0x0008, 0x1155)).unwrap().to_str().unwrap().trim_end_matches('\0').to_string();
    assert_eq!(r, sop_a, "the reference points at the new SOP Instance UID");
    assert_eq!(text(&oa, 0x0008, 0x0016).as_deref(), Some(CT_IMAGE_STORAGE), "SOP class kept");
}

#[test]
fn same_secret_same_output_other_secret_other_uids() {
    let input = file(&EN_PATIENT, &STUDY_A, 1, EXPLICIT_LE);
    let a = deid().deidentify(&input).unwrap();
    let b = deid().deidentify(&input).unwrap();
    assert_eq!(a.bytes, b.bytes, "deterministic under one secret");
    let c = Deidentifier::new(header_policy(), Some(b"another".as_slice())).unwrap().deidentify(&input).unwrap();
    assert_ne!(text(&parse(&a.bytes), 0x0020, 0x000D), text(&parse(&c.bytes), 0x0020, 0x000D));
}

#[test]
fn a_meta_group_without_its_group_length_is_read_as_with_it() {
    for ts in [EXPLICIT_LE, IMPLICIT_LE, EXPLICIT_BE, DEFLATED] {
        let input = file(&EN_PATIENT, &STUDY_A, 1, ts);
        assert_eq!((&input[132..136], &input[136..138]), (&[2u8, 0, 0, 0][..], &b"UL"[..]), "the fixture's meta group starts with its length");
        let mut without = input[..132].to_vec();
        without.extend_from_slice(&input[144..]);
        // The harvest from a reader (the CLI's) and from bytes (the page's), then de-identification.
        let (a, b) = (deid(), deid());
        a.harvest(&input).unwrap();
        b.harvest_from(without.as_slice()).unwrap();
        let c = deid();
        c.harvest(&without).unwrap();
        let expected = a.deidentify(&input).unwrap().bytes;
        assert_eq!(b.deidentify(&without).unwrap().bytes, expected, "{ts}");
        assert_eq!(c.deidentify(&without).unwrap().bytes, expected, "{ts}");
    }
}

#[test]
fn a_raw_data_set_is_read_as_the_same_file_with_its_meta_group() {
    for ts in [EXPLICIT_LE, IMPLICIT_LE, EXPLICIT_BE] {
        let input = file(&EN_PATIENT, &STUDY_A, 1, ts);
        let group_length = u32::from_le_bytes(input[140..144].try_into().unwrap()) as usize;
        let raw = &input[144 + group_length..];
        let group_0008 = if ts == EXPLICIT_BE { [0x00, 0x08] } else { [0x08, 0x00] };
        assert_eq!(raw[..2], group_0008, "{ts}: the data set starts with group 0008");
        // The harvest from a reader (the CLI's) and from bytes (the page's), then de-identification.
        let (a, b, c) = (deid(), deid(), deid());
        a.harvest(&input).unwrap();
        b.harvest_from(raw).unwrap();
        c.harvest(raw).unwrap();
        let expected = a.deidentify(&input).unwrap();
        assert!(expected.report.input_repairs.is_empty());
        for d in [&b, &c] {
            let out = d.deidentify(raw).unwrap();
            assert_eq!(out.bytes, expected.bytes, "{ts}");
            let repairs = out.report.input_repairs;
            assert!(repairs.len() == 1 && repairs[0].starts_with("no file meta group (a raw data set)"), "{ts}: {repairs:?}");
        }
    }
}

#[test]
fn dates_and_times_shift_consistently_per_patient() {
    let d = deid();
    let a = parse(&d.deidentify(&file(&EN_PATIENT, &STUDY_A, 1, EXPLICIT_LE)).unwrap().bytes);
    let study_date = text(&a, 0x0008, 0x0020).unwrap();
    let study_time = text(&a, 0x0008, 0x0030).unwrap();
    let series_time = text(&a, 0x0008, 0x0031).unwrap();
    assert_ne!(study_date, STUDY_A.date);
    assert_ne!(study_time, STUDY_A.time);
    let secs = |t: &str| t[..2].parse::<i64>().unwrap() * 3600 + t[2..4].parse::<i64>().unwrap() * 60 + t[4..6].parse::<i64>().unwrap();
    let day = |d: &str| dicom_deid::actions::dates::parse_da(d).unwrap();
    // StudyDate/Time and SeriesDate/Time keep their 14 min 57 s interval.
    let series_date = text(&a, 0x0008, 0x0021).unwrap();
    let inst = |d: &str, t: &str| day(d) * 86400 + secs(t);
    assert_eq!(inst(&series_date, &series_time) - inst(&study_date, &study_time), 897);
    // A second file of the same patient: same offset.
    let study_b = Study { date: "20230601", ..STUDY_A };
    let b = parse(&d.deidentify(&file(&EN_PATIENT, &study_b, 3, EXPLICIT_LE)).unwrap().bytes);
    let shifted_b = text(&b, 0x0008, 0x0020).unwrap();
    assert_eq!(inst(&shifted_b, &text(&b, 0x0008, 0x0030).unwrap()) - inst(&study_date, &study_time), 15 * 86400);
    assert_eq!(text(&a, 0x0010, 0x0030), text(&b, 0x0010, 0x0030), "birth date shifted the same way");
}

#[test]
fn pseudonyms_are_stable_per_patient() {
    let d = deid();
    let a = parse(&d.deidentify(&file(&EN_PATIENT, &STUDY_A, 1, EXPLICIT_LE)).unwrap().bytes);
    let b = parse(&d.deidentify(&file(&EN_PATIENT, &STUDY_A, 2, EXPLICIT_LE)).unwrap().bytes);
    let c = parse(&d.deidentify(&file(&IT_PATIENT, &STUDY_A, 3, EXPLICIT_LE)).unwrap().bytes);
    assert_eq!(text(&a, 0x0010, 0x0010), text(&b, 0x0010, 0x0010));
    assert_eq!(text(&a, 0x0010, 0x0020), text(&b, 0x0010, 0x0020));
    assert_ne!(text(&a, 0x0010, 0x0020), text(&c, 0x0010, 0x0020));
    assert!(text(&a, 0x0010, 0x0010).unwrap().starts_with("ANON^"));
    let mut p = header_policy();
    p.pseudonyms.patient_id = "SUBJ-{hash:6}".into();
    let d2 = Deidentifier::new(p, Some(b"test secret".as_slice())).unwrap();
    let e = parse(&d2.deidentify(&file(&EN_PATIENT, &STUDY_A, 1, EXPLICIT_LE)).unwrap().bytes);
    assert_eq!(text(&e, 0x0010, 0x0020).unwrap().len(), 11);
}

#[test]
fn batch_vocabulary_cleans_names_harvested_from_other_files() {
    // File 2 of the patient lacks the name in its header, but its text mentions it.
    let d = deid();
    d.harvest(&file(&IT_PATIENT, &STUDY_A, 1, EXPLICIT_LE)).unwrap();
    let mut obj = dataset(&IT_PATIENT, &STUDY_A, 2, None);
    obj.remove_element(Tag(0x0010, 0x0010));
    obj.put(dicom_core::DataElement::new(Tag(0x0020, 0x4000), dicom_core::VR::LT, dicom_core::PrimitiveValue::from("controllo QUAGLIARELLA ok")));
    let out = d.deidentify(&encode(obj, EXPLICIT_LE)).unwrap();
    assert!(!raw_contains(&out.bytes, "Quagliarella"));
}

#[test]
fn batch_vocabulary_is_harvested_from_the_first_bytes_of_a_large_file() {
    // The page harvests a prefix of a large file: its header, then part of its Pixel Data.
    let mut first = dataset(&IT_PATIENT, &STUDY_A, 1, None);
    let (rows, cols) = (512u16, 1024u16);
    let put = |o: &mut dicom_object::mem::InMemDicomObject, tag: Tag, vr: VR, v: PrimitiveValue| o.put(dicom_core::DataElement::new(tag, vr, v));
    put(&mut first, Tag(0x0028, 0x0010), VR::US, PrimitiveValue::from(rows));
    put(&mut first, Tag(0x0028, 0x0011), VR::US, PrimitiveValue::from(cols));
    put(&mut first, Tag(0x7FE0, 0x0010), VR::OW, PrimitiveValue::U16(vec![0u16; rows as usize * cols as usize].into()));
    // (`encode` would put the fixtures' 16 pixels in place of these.)
    let mut whole = Vec::new();
    let meta = dicom_object::meta::FileMetaTableBuilder::new().transfer_syntax(EXPLICIT_LE);
    first.with_meta(meta).unwrap().write_all(&mut whole).unwrap();
    assert!(whole.len() > 1 << 20);
    let prefix = &whole[..64 * 1024];
    let mut second = dataset(&IT_PATIENT, &STUDY_A, 2, None);
    second.remove_element(Tag(0x0010, 0x0010));
    put(&mut second, Tag(0x0020, 0x4000), VR::LT, PrimitiveValue::from("controllo QUAGLIARELLA ok"));
    let second = encode(second, EXPLICIT_LE);
    let (a, b) = (deid(), deid());
    a.harvest(&whole).unwrap();
    b.harvest(prefix).unwrap_or_else(|e| panic!("a prefix with the whole header: {e}"));
    let out = b.deidentify(&second).unwrap().bytes;
    assert!(!raw_contains(&out, "Quagliarella"));
    assert_eq!(out, a.deidentify(&second).unwrap().bytes, "the same vocabulary from the prefix as from the whole file");
}

#[test]
fn options_change_actions() {
    let input = file(&EN_PATIENT, &STUDY_A, 1, EXPLICIT_LE);
    let run = |f: &dyn Fn(&mut Policy)| {
        let mut p = header_policy();
        f(&mut p);
        parse(&Deidentifier::new(p, Some(b"k".as_slice())).unwrap().deidentify(&input).unwrap().bytes)
    };
    let o = run(&|p| p.options.retain_uids = true);
    assert_eq!(text(&o, 0x0020, 0x000D).as_deref(), Some(STUDY_A.study_uid));
    let o = run(&|p| {
        p.options.retain_longitudinal_modified_dates = false;
        p.options.retain_longitudinal_full_dates = true;
    });
    assert_eq!(text(&o, 0x0008, 0x0020).as_deref(), Some(STUDY_A.date));
    assert_eq!(text(&o, 0x0028, 0x0303).as_deref(), Some("UNMODIFIED"));
    let o = run(&|p| p.options.retain_patient_characteristics = false);
    assert_eq!(text(&o, 0x0010, 0x0040).as_deref(), Some(""), "Z without the option");
    assert!(o.get(Tag(0x0010, 0x1010)).is_none(), "X without the option");
    let o = run(&|p| p.options.clean_descriptors = false);
    assert!(o.get(Tag(0x0008, 0x1030)).is_none(), "X without Clean Descriptors");
    let o = run(&|p| p.options.retain_safe_private = false);
    assert!(o.get(Tag(0x0019, 0x100C)).is_none());
    let o = run(&|p| p.options.retain_device_identity = false);
    assert_eq!(text(&o, 0x0018, 0x1000).as_deref(), Some("ANONYMIZED"), "X/Z/D -> dummy");
    let o = run(&|p| {
        p.options.retain_longitudinal_modified_dates = false;
    });
    assert_eq!(text(&o, 0x0008, 0x0020).as_deref(), Some(""), "Study Date Z in the Basic Profile");
    assert_eq!(text(&o, 0x0028, 0x0303).as_deref(), Some("REMOVED"));
}

#[test]
fn overrides_by_keyword_tag_and_path() {
    let input = file(&EN_PATIENT, &STUDY_A, 1, EXPLICIT_LE);
    let mut p = header_policy();
    p.overrides.push(Override { select: "Manufacturer".into(), action: Action::Remove, value: None, reason: String::new() });
    p.overrides.push(Override { select: "(0008,103E)".into(), action: Action::Empty, value: None, reason: String::new() });
    p.overrides.push(Override { select: "RequestAttributesSequence".into(), action: Action::Keep, value: None, reason: String::new() });
    p.overrides.push(Override { select: "RequestAttributesSequence[*].RequestedProcedureID".into(), action: Action::Remove, value: None, reason: String::new() });
    let out = Deidentifier::new(p, Some(b"k".as_slice())).unwrap().deidentify(&input).unwrap();
    let o = parse(&out.bytes);
    assert!(o.get(Tag(0x0008, 0x0070)).is_none());
    assert_eq!(text(&o, 0x0008, 0x103E).as_deref(), Some(""));
    let item = &o.get(Tag(0x0040, 0x0275)).unwrap().items().unwrap()[0];
    assert!(item.get(Tag(0x0040, 0x1001)).is_none(), "path override inside the kept sequence");
    let desc = item.get(Tag(0x0032, 0x1060)).unwrap().to_str().unwrap().to_string();
    assert!(desc.starts_with("CT chest") && !desc.contains("Thistlethwaite"), "kept text is still checked: {desc}");
    assert!(out.report.elements.iter().any(|c| c.source == "override"));
}

#[test]
fn report_names_rules_without_values_unless_asked() {
    let input = file(&EN_PATIENT, &STUDY_A, 1, EXPLICIT_LE);
    let out = deid().deidentify(&input).unwrap();
    let json = serde_json::to_string(&out.report).unwrap();
    for s in phi_strings(&EN_PATIENT) {
        assert!(!json.contains(&s), "report leaks {s}");
    }
    let acc = out.report.elements.iter().find(|c| c.keyword == "AccessionNumber").unwrap();
    assert_eq!(acc.action, Action::Empty);
    assert!(acc.rule.contains("Accession Number (Z)"));
    let with_values = deid().report_values(true).deidentify(&input).unwrap();
    let acc = with_values.report.elements.iter().find(|c| c.keyword == "AccessionNumber").unwrap();
    assert_eq!(acc.before.as_deref(), Some("HDH23-448812"));
}

#[test]
fn mappings_are_recorded_only_when_asked() {
    let d = deid();
    d.deidentify(&file(&EN_PATIENT, &STUDY_A, 1, EXPLICIT_LE)).unwrap();
    assert!(d.mappings().is_none());
    let d = deid().record_mappings(true);
    d.deidentify(&file(&EN_PATIENT, &STUDY_A, 1, EXPLICIT_LE)).unwrap();
    let m = d.mappings().unwrap();
    assert!(m.uids.contains_key(STUDY_A.study_uid));
    assert!(m.patient_ids.get(EN_PATIENT.id).unwrap().starts_with("ANON-"));
}

#[test]
fn encapsulated_fragments_pass_through_byte_for_byte() {
    let out = deid().deidentify(&file(&EN_PATIENT, &STUDY_A, 1, JPEG_BASELINE)).unwrap();
    let obj = parse(&out.bytes);
    let px = obj.get(Tag(0x7FE0, 0x0010)).unwrap();
    assert_eq!(px.fragments().unwrap()[0], tiny_jpeg());
}

#[test]
fn verifier_rejects_an_output_that_still_holds_phi() {
    let d = deid();
    let input = file(&EN_PATIENT, &STUDY_A, 1, EXPLICIT_LE);
    let err = d.verify_pair(&input, &input).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Verification);
    assert!(!err.message.contains(EN_PATIENT.family), "the error names the kind, not the value");
    let out = d.deidentify(&input).unwrap();
    d.verify_pair(&input, &out.bytes).unwrap();
}

#[test]
fn bad_input_gets_clear_errors() {
    let d = deid();
    assert_eq!(d.deidentify(b"\x89PNG\r\n\x1a\n not dicom").unwrap_err().kind, ErrorKind::NotDicom);
    assert_eq!(d.deidentify(b"").unwrap_err().kind, ErrorKind::NotDicom);
    let good = file(&EN_PATIENT, &STUDY_A, 1, EXPLICIT_LE);
    for cut in [140, 200, 400, good.len() / 2, good.len() - 5] {
        match d.deidentify(&good[..cut]) {
            Err(e) => assert!(matches!(e.kind, ErrorKind::Parse | ErrorKind::Unsupported), "cut {cut}: {e}"),
            Ok(out) => assert!(!raw_contains(&out.bytes, EN_PATIENT.family), "cut {cut}: a readable prefix must still be clean"),
        }
    }
}

#[test]
fn patients_named_like_words_of_the_markers_are_not_withheld() {
    // Real files carry names such as "NAME^PATIENT^NAME" (gdcm-US-ALOKA-16); "Patient",
    // "Clean" or "Basic" also occur in the CID 7050 code meanings the markers write.
    for (family, given) in [("NAME", "PATIENT"), ("Clean", "Basic"), ("Device", "Identity")] {
        let p = Patient { family, given, ..EN_PATIENT };
        let out = deid().deidentify(&file(&p, &STUDY_A, 1, EXPLICIT_LE)).unwrap_or_else(|e| panic!("{family}^{given}: {e}"));
        let obj = parse(&out.bytes);
        assert_ne!(text(&obj, 0x0010, 0x0010).as_deref(), Some(format!("{family}^{given}").as_str()));
        // The name where the patient's data was: still found and cleaned.
        let desc = text(&obj, 0x0008, 0x1030).unwrap_or_default().to_lowercase();
        assert!(!desc.contains(&family.to_lowercase()) && !desc.contains(&given.to_lowercase()), "{desc}");
    }
}

#[test]
fn names_inside_longer_words_of_the_header_are_not_withheld() {
    // The header keeps "CT CHEST W/O CONTRAST"; pydicom's reportsi.dcm has an observer
    // named "Enter text" and the relationship "HAS OBS CONTEXT". A name inside a longer
    // word is no leak; the same name standing alone still is (and is cleaned).
    let p = Patient { family: "Rast", given: "Ches", ..EN_PATIENT };
    let out = deid().deidentify(&file(&p, &STUDY_A, 1, EXPLICIT_LE)).unwrap_or_else(|e| panic!("{e}"));
    let obj = parse(&out.bytes);
    let code = obj.get(Tag(0x0008, 0x1032)).unwrap().items().unwrap()[0].get(Tag(0x0008, 0x0104)).unwrap().to_str().unwrap();
    assert_eq!(code, "CT CHEST W/O CONTRAST");
    assert_no_phi_words(&out.bytes, &["rast", "ches"]);
}

/// No `words` (lower case) in `bytes` as whole words (letters and digits around end them).
fn assert_no_phi_words(bytes: &[u8], words: &[&str]) {
    let text: String = bytes.iter().map(|&b| (b as char).to_ascii_lowercase()).collect();
    for w in words {
        for (i, _) in text.match_indices(w) {
            let around = [text[..i].chars().next_back(), text[i + w.len()..].chars().next()];
            assert!(around.iter().any(|c| c.is_some_and(|c| c.is_ascii_alphanumeric())), "{w:?} stands alone in the output");
        }
    }
}

/// A sequence the sender did not know, written in explicit VR as UN of undefined length with
/// its items in implicit VR (PS3.5 6.2.2): read as a sequence, so that its references are
/// remapped and its private contents removed, instead of the file failing to parse. Also
/// inside an explicit sequence and item of defined lengths, and items of defined length.
#[test]
fn sequences_encoded_as_unknown_vr_of_undefined_length_are_read_as_sequences() {
    use common::broken::*;
    let f = unknown_vr_sequences();
    let (sop, study, series, referenced) = UNKNOWN_VR_SEQUENCES_UIDS;
    let d = deid().record_mappings(true);
    // The harvest from a reader (the CLI's) reads the same sequences.
    d.harvest_from(f.as_slice()).unwrap_or_else(|e| panic!("{e}"));
    let out = d.deidentify(&f).unwrap_or_else(|e| panic!("{e}"));
    assert_no_phi(&out.bytes, &EN_PATIENT);
    assert!(out.report.input_repairs.iter().any(|r| r.contains("UN of undefined length")), "{:?}", out.report.input_repairs);
    for old in [sop, study, series, referenced] {
        assert!(!raw_contains(&out.bytes, old), "{old} survives");
    }
    let obj = parse(&out.bytes);
    let uids = d.mappings().unwrap().uids;
    let referenced_uid = |item: &dicom_object::mem::InMemDicomObject| text(item, 0x0008, 0x1155);
    let images = obj.element(Tag(0x0008, 0x1140)).unwrap();
    assert_eq!(images.vr().to_string(), "SQ");
    let items = images.items().expect("a sequence");
    assert_eq!(items.len(), 2);
    for item in items {
        assert_eq!(referenced_uid(item), Some(uids[referenced].clone()), "reference remapped in both items");
        assert_eq!(text(item, 0x0008, 0x1150).as_deref(), Some(CT_IMAGE_STORAGE));
    }
    let source_item = &obj.element(Tag(0x0008, 0x2112)).unwrap().items().unwrap()[0];
    assert_eq!(referenced_uid(source_item), Some(uids[referenced].clone()));
    // The private sequences are not on the safe list: removed, at the top and in the item.
    assert!(obj.element(Tag(0x0009, 0x1010)).is_err());
    assert!(source_item.element(Tag(0x0009, 0x1010)).is_err());
    assert!(obj.element(Tag(0x7FE1, 0x1010)).is_err());
}

/// A sender that did not know an attribute writes it as UN (explicit VR): the bytes of its
/// implicit VR encoding. Such values are read as their dictionary VR, so the name is
/// pseudonymised, UIDs are remapped (references kept consistent), dates shifted and free
/// text cleaned, instead of the file being withheld or its references removed.
#[test]
fn attributes_encoded_as_unknown_vr_are_de_identified_as_their_own_vr() {
    use common::broken::*;
    let (sop, study, series, referenced) = ("2.25.777001", "2.25.777002", "2.25.777003", "2.25.777004");
    let name = format!("{}^{}", EN_PATIENT.family, EN_PATIENT.given);
    let reference_item = [explicit_le(0x0008, 0x1150, b"UI", &uid_value(CT_IMAGE_STORAGE)), explicit_le(0x0008, 0x1155, b"UN", &uid_value(referenced))].concat();
    let mut f = part10_head(EXPLICIT_LE, CT_IMAGE_STORAGE, sop);
    f.extend(explicit_le(0x0008, 0x0016, b"UN", &uid_value(CT_IMAGE_STORAGE)));
    f.extend(explicit_le(0x0008, 0x0018, b"UN", &uid_value(sop)));
    f.extend(explicit_le(0x0008, 0x0020, b"UN", &text_value("20240315")));
    f.extend(explicit_le(0x0008, 0x1030, b"UN", &text_value(&format!("CT CHEST for {}", EN_PATIENT.family))));
    // Referenced Image Sequence, its item's Referenced SOP Instance UID as UN.
    f.extend(sequence_start(0x0008, 0x1140));
    f.extend(item_start(reference_item.len() as u32));
    f.extend(&reference_item);
    f.extend(sequence_end());
    f.extend(explicit_le(0x0010, 0x0010, b"UN", &text_value(&name)));
    f.extend(explicit_le(0x0010, 0x0020, b"UN", &text_value(EN_PATIENT.id)));
    f.extend(explicit_le(0x0010, 0x0030, b"UN", &text_value(EN_PATIENT.birth)));
    f.extend(explicit_le(0x0020, 0x000D, b"UN", &uid_value(study)));
    f.extend(explicit_le(0x0020, 0x000E, b"UN", &uid_value(series)));
    f.extend(explicit_le(0x0028, 0x0010, b"UN", &4u16.to_le_bytes()));
    f.extend(explicit_le(0x0028, 0x0011, b"UN", &4u16.to_le_bytes()));
    f.extend(explicit_le(0x7FE0, 0x0010, b"OB", &[0x40; 16]));

    let d = deid().record_mappings(true);
    d.harvest(&f).unwrap();
    let out = d.deidentify(&f).unwrap_or_else(|e| panic!("{e}"));
    assert_no_phi(&out.bytes, &EN_PATIENT);
    for old in [sop, study, series, referenced, "20240315"] {
        assert!(!raw_contains(&out.bytes, old), "{old} survives");
    }
    let obj = parse(&out.bytes);
    let uids = d.mappings().unwrap().uids;
    let value = |o: &dicom_object::mem::InMemDicomObject, g, e| {
        let el = o.element(Tag(g, e)).unwrap_or_else(|_| panic!("({g:04X},{e:04X}) missing"));
        (el.vr().to_string().to_owned(), el.value().to_str().unwrap().trim_end_matches('\0').to_string())
    };
    assert_eq!(value(&obj, 0x0008, 0x0018), ("UI".to_string(), uids[sop].clone()));
    assert_eq!(value(&obj, 0x0020, 0x000D), ("UI".to_string(), uids[study].clone()));
    assert_eq!(value(&obj, 0x0008, 0x0016), ("UI".to_string(), CT_IMAGE_STORAGE.to_string()), "a standard UID is kept");
    let item = &obj.element(Tag(0x0008, 0x1140)).unwrap().items().expect("a sequence")[0];
    assert_eq!(value(item, 0x0008, 0x1155), ("UI".to_string(), uids[referenced].clone()), "reference remapped like the instance");
    let (vr, date) = value(&obj, 0x0008, 0x0020);
    assert_eq!((vr, date.len()), ("DA".to_string(), 8), "the date is shifted, not removed: {date}");
    let (vr, description) = value(&obj, 0x0008, 0x1030);
    assert!(vr == "LO" && description.starts_with("CT CHEST"), "free text cleaned, clinical words kept: {description}");
    assert_eq!(obj.element(Tag(0x0028, 0x0010)).unwrap().value().to_int::<u16>().unwrap(), 4);
}

/// A patient's date offset must not move one of the patient's dates onto another: the
/// output would then hold a real date of the patient (the verifier would withhold the file).
/// Built here: a second study dated exactly where the first one's date would be shifted.
#[test]
fn a_date_offset_that_would_land_on_another_date_of_the_patient_is_not_used() {
    let secret = b"offset collision secret".as_slice();
    let first = file(&EN_PATIENT, &STUDY_A, 1, EXPLICIT_LE);
    let alone = Deidentifier::new(header_policy(), Some(secret)).unwrap().deidentify(&first).unwrap();
    let landed = text(&parse(&alone.bytes), 0x0008, 0x0020).unwrap();
    let later = Study { study_uid: "1.2.826.0.1.3680043.8.498.3003", series_uid: "1.2.826.0.1.3680043.8.498.3003.1", date: Box::leak(landed.clone().into_boxed_str()), time: STUDY_A.time };
    let second = file(&EN_PATIENT, &later, 1, EXPLICIT_LE);

    let d = Deidentifier::new(header_policy(), Some(secret)).unwrap();
    d.harvest(&first).unwrap();
    d.harvest(&second).unwrap();
    let a = d.deidentify(&first).expect("the first study is written, not withheld");
    let b = d.deidentify(&second).expect("the second study is written");
    let date = |bytes: &[u8]| dicom_deid::actions::dates::parse_da(&text(&parse(bytes), 0x0008, 0x0020).unwrap()).unwrap();
    assert_ne!(text(&parse(&a.bytes), 0x0008, 0x0020).unwrap(), landed, "another offset is chosen");
    let original_gap = dicom_deid::actions::dates::parse_da(&landed).unwrap() - dicom_deid::actions::dates::parse_da(STUDY_A.date).unwrap();
    assert_eq!(date(&b.bytes) - date(&a.bytes), original_gap, "one offset for both studies: the interval survives");
    for out in [&a.bytes, &b.bytes] {
        assert!(!raw_contains(out, STUDY_A.date) && !raw_contains(out, &landed), "no original date survives");
    }
}

#[test]
fn a_report_without_its_element_list_changes_nothing_else() {
    let input = file(&EN_PATIENT, &STUDY_A, 1, EXPLICIT_LE);
    let full = deid().deidentify(&input).unwrap();
    let short = deid().report_elements(false).deidentify(&input).unwrap();
    assert!(short.bytes == full.bytes, "the same output bytes");
    assert!(full.report.elements.iter().any(|e| e.source != "marker"), "the full list has the changes");
    assert!(!short.report.elements.is_empty() && short.report.elements.iter().all(|e| e.source == "marker"), "only the markers' entries");
    assert_eq!(short.report.verification.removed_elements_checked, full.report.verification.removed_elements_checked);
}

#[test]
fn dropped_patient_vocabularies_are_built_again_with_the_same_result() {
    // Files of two patients, interleaved, each naming the other patient's files' text; with
    // no memory for built vocabularies each file drops the other patient's and builds its
    // own again (from every value harvested, in the order harvested).
    let files: Vec<Vec<u8>> = (1..=6)
        .map(|n| {
            let p = if n % 2 == 0 { &EN_PATIENT } else { &IT_PATIENT };
            let mut obj = dataset(p, &STUDY_A, n, None);
            let note = format!("seen by {} on {}; tel {}", p.family.to_uppercase(), p.birth, p.phone);
            obj.put(dicom_core::DataElement::new(Tag(0x0020, 0x4000), VR::LT, PrimitiveValue::from(note)));
            encode(obj, EXPLICIT_LE)
        })
        .collect();
    let run = |d: &Deidentifier| -> Vec<Vec<u8>> {
        for f in &files {
            d.harvest(f).unwrap();
        }
        files.iter().map(|f| d.deidentify(f).unwrap().bytes).collect()
    };
    let kept = deid();
    let dropped = deid().patient_memory_budget(0);
    let (a, b) = (run(&kept), run(&dropped));
    assert_eq!(kept.patient_memory().0, 2, "both patients' vocabularies kept");
    assert!(kept.patient_memory().1 > 0);
    assert_eq!(dropped.patient_memory().0, 1, "only the last patient's vocabulary kept");
    assert!(a == b, "the outputs differ when vocabularies are dropped and built again");
    for (out, n) in b.iter().zip(1..) {
        assert_no_phi(out, if n % 2 == 0 { &EN_PATIENT } else { &IT_PATIENT });
    }
}
