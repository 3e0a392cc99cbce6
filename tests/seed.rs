//! Importing the seed algorithm's configuration (tests/fixtures/seed, copied from
//! shared/seed-config) into a dicom-deid policy.

mod common;

use common::*;
use dicom_core::Tag;
use dicom_deid::policy::seed::import;
use dicom_deid::policy::pixels::PixelMode;
use dicom_deid::policy::{Action, Policy};
use dicom_deid::{Deidentifier, ErrorKind};

fn fixture(name: &str) -> String {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seed").join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn csv() -> String {
    fixture("base_anonymization_profile.csv")
}

fn rules() -> String {
    fixture("custom_rules.json")
}

fn rules_json() -> serde_json::Value {
    serde_json::from_str(&rules()).unwrap()
}

fn seed_policy() -> Policy {
    import(&csv(), &rules()).expect("the seed configuration imports")
}

fn switch(name: &str) -> bool {
    let r = rules_json();
    let v = r["custom_actions"].as_array().unwrap().iter().find(|s| s["action"] == name).unwrap_or_else(|| panic!("no switch {name}"));
    v["value"].as_str().unwrap().trim().eq_ignore_ascii_case("yes")
}

fn override_for(p: &Policy, select: &str) -> Option<Action> {
    let hits: Vec<_> = p.overrides.iter().filter(|o| o.select == select).collect();
    assert!(hits.len() <= 1, "{select}: {} overrides", hits.len());
    hits.first().map(|o| o.action)
}

/// A rules JSON with just these tag_list entries (group, element, action, values).
fn tag_list_rules(rows: &[(&str, &str, &str, &[&str])]) -> String {
    let list: Vec<serde_json::Value> = rows
        .iter()
        .map(|(g, e, a, v)| serde_json::json!({"tag_group": g, "tag_element": e, "action": a, "values": v}))
        .collect();
    serde_json::json!({"custom_actions": [{"action": "retain_longitudinal_temporal_information_with_modified_dates_option", "value": "yes"}], "tag_list": list}).to_string()
}

#[test]
fn options_match_the_custom_action_switches() {
    let p = seed_policy();
    let o = &p.options;
    // The seed's own settings, stated explicitly...
    assert!(o.retain_longitudinal_modified_dates);
    assert!(!o.retain_longitudinal_full_dates);
    assert!(!o.retain_institution_identity);
    assert_eq!(p.pixels.mode, PixelMode::Detect);
    assert!(o.clean_recognizable_visual_features);
    assert!(!o.clean_graphics);
    // ...and every switch, read from the file.
    let pairs = [
        (o.retain_safe_private, "retain_safe_private_option"),
        (o.retain_uids, "retain_uid_option"),
        (o.retain_device_identity, "retain_device_identity_option"),
        (o.retain_institution_identity, "retain_institution_identity_option"),
        (o.retain_patient_characteristics, "retain_patient_characteristics_option"),
        (o.retain_longitudinal_full_dates, "retain_longitudinal_temporal_information_with_full_dates_option"),
        (o.retain_longitudinal_modified_dates, "retain_longitudinal_temporal_information_with_modified_dates_option"),
        (o.clean_descriptors, "clean_descriptors_option"),
        (o.clean_structured_content, "clean_structured_content_option"),
        (o.clean_graphics, "clean_graphics_option"),
        (p.pixels.mode == PixelMode::Detect, "clean_pixel_data_option"),
        (o.clean_recognizable_visual_features, "clean_recognizable_visual_features_option"),
    ];
    for (ours, name) in pairs {
        assert_eq!(ours, switch(name), "{name}");
    }
}

#[test]
fn switches_default_to_off_and_yes_is_case_insensitive() {
    let rules = r#"{"custom_actions": [
        {"action": "retain_uid_option", "value": " YES "},
        {"action": "retain_longitudinal_temporal_information_with_modified_dates_option", "value": "Yes"},
        {"action": "clean_descriptors_option", "value": "no"}
    ]}"#;
    let p = import("", rules).unwrap();
    assert!(p.options.retain_uids);
    assert!(p.options.retain_longitudinal_modified_dates);
    assert!(!p.options.clean_descriptors);
    assert!(!p.options.retain_safe_private, "absent switches are off");
    assert_eq!(p.pixels.mode, PixelMode::Off);
}

#[test]
fn station_name_empty_rule_becomes_an_override() {
    let p = seed_policy();
    assert_eq!(override_for(&p, "(0008,1010)"), Some(Action::Empty));
    let ov = p.overrides.iter().find(|o| o.select == "(0008,1010)").unwrap();
    assert!(ov.reason.contains("EMPTY"), "reason names the seed rule: {}", ov.reason);
    // The other EMPTY rules of the file.
    for sel in ["(0032,1021)", "(0008,0054)", "(0040,0241)", "(0012,0051)"] {
        assert_eq!(override_for(&p, sel), Some(Action::Empty), "{sel}");
    }
}

#[test]
fn seed_file_rule_actions_map_as_documented() {
    let p = seed_policy();
    // PHONE and CHEKPERSONNAME -> clean; SKIP and CHEKANDRETAIN -> keep.
    assert_eq!(override_for(&p, "(0010,21B0)"), Some(Action::Clean));
    assert_eq!(override_for(&p, "(0040,0310)"), Some(Action::Clean));
    assert_eq!(override_for(&p, "(0018,1030)"), Some(Action::Clean));
    assert_eq!(override_for(&p, "(0012,0010)"), Some(Action::Keep));
    assert_eq!(override_for(&p, "(0008,1150)"), Some(Action::Keep));
    assert_eq!(override_for(&p, "(0020,0011)"), Some(Action::Keep));
    // The meta group is rebuilt, never overridden.
    assert!(p.overrides.iter().all(|o| !o.select.starts_with("(0002,")), "meta group override");
}

#[test]
fn tag_list_actions_map_as_documented() {
    let rules = tag_list_rules(&[
        ("0x0008", "0x1040", "DELETE", &[]),
        ("0x0018", "0x1030", "KEEP", &[]),
        ("0x0012", "0x0010", "SKIP", &[]),
        ("0x0020", "0x0011", "CHEKANDRETAIN", &[]),
        ("0x0008", "0x103e", "REPLACE_PART_TEXT", &[]),
        ("0x0008", "0x0090", "CHEKPERSONNAME", &[]),
        ("0x0010", "0x2154", "PHONE", &[]),
        ("0x0008", "0x0080", "REPLACE_FULL_TEXT", &["SOME HOSPITAL", "ignored"]),
        ("0x0010", "0x0030", "SET_DATE_YEAR", &[]),
        ("0x0008", "0x0021", "SHIFT_DATE_YEAR", &[]),
        ("0x0008", "0x1010", "EMPTY", &[]),
        ("0x0002", "0x0013", "KEEP", &[]),
    ]);
    let p = import("", &rules).unwrap();
    let expect = [
        ("(0008,1040)", Action::Remove),
        ("(0018,1030)", Action::Keep),
        ("(0012,0010)", Action::Keep),
        ("(0020,0011)", Action::Keep),
        ("(0008,103E)", Action::Clean),
        ("(0008,0090)", Action::Clean),
        ("(0010,2154)", Action::Clean),
        ("(0008,0080)", Action::Dummy),
        ("(0010,0030)", Action::ShiftDate),
        ("(0008,0021)", Action::ShiftDate),
        ("(0008,1010)", Action::Empty),
    ];
    for (sel, action) in expect {
        assert_eq!(override_for(&p, sel), Some(action), "{sel}");
    }
    assert_eq!(p.overrides.len(), expect.len(), "one override per rule, none for the meta group: {:?}", p.overrides);
    let full = p.overrides.iter().find(|o| o.select == "(0008,0080)").unwrap();
    assert_eq!(full.value.as_deref(), Some("SOME HOSPITAL"), "REPLACE_FULL_TEXT takes the first value");
    assert!(p.overrides.iter().filter(|o| o.select != "(0008,0080)").all(|o| o.value.is_none()));
}

#[test]
fn a_later_tag_list_rule_replaces_an_earlier_one() {
    let rules = tag_list_rules(&[("0x0008", "0x1010", "EMPTY", &[]), ("0x0008", "0x1010", "DELETE", &[])]);
    let p = import("", &rules).unwrap();
    assert_eq!(override_for(&p, "(0008,1010)"), Some(Action::Remove));
}

#[test]
fn profile_csv_rows_that_differ_from_the_table_become_overrides() {
    let rules = r#"{"custom_actions": [{"action": "retain_longitudinal_temporal_information_with_modified_dates_option", "value": "yes"}]}"#;
    // Accession Number is Z in the table: the same row adds nothing, a changed row wins.
    assert!(import("0008,0050;Z;;;;;;;;;;\n", rules).unwrap().overrides.is_empty());
    let p = import("0008,0050;X;;;;;;;;;;\n", rules).unwrap();
    assert_eq!(override_for(&p, "(0008,0050)"), Some(Action::Remove));
    // Study Date: Z, C under modified dates (on): Clean, as in the table.
    let study_date = ["0008,0020", "Z", "", "", "", "", "", "K", "C", "", "", ""].join(";");
    assert!(import(&study_date, rules).unwrap().overrides.is_empty());
    // Repeating-group rows are left to the table.
    assert!(import("60[0-9A-F]{2},3000;X;;;;;;;;;;C\n", rules).unwrap().overrides.is_empty());
    // An unknown action code is an error.
    assert_eq!(import("0008,0050;Q;;;;;;;;;;\n", rules).unwrap_err().kind, ErrorKind::Policy);
}

#[test]
fn text_lists_and_harvest_tags_are_carried_over() {
    let p = seed_policy();
    let r = rules_json();
    let strings = |v: &serde_json::Value| v.as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect::<Vec<_>>();
    assert_eq!(p.text.institution_words, strings(&r["text_to_clean"]["values"]));
    assert!(p.text.institution_words.iter().any(|w| w == "hospital"));
    assert_eq!(p.text.name_prefixes, strings(&r["prefix_to_check"]["values"]));
    assert!(p.text.name_prefixes.iter().any(|w| w == "by:"));

    let hex = |s: &serde_json::Value| u16::from_str_radix(s.as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
    let expected: Vec<String> = r["tag_list_to_check_by_keep"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| format!("({:04X},{:04X})", hex(&t["tag_group"]), hex(&t["tag_element"])))
        .collect();
    assert_eq!(p.harvest, expected);
    assert!(p.harvest.contains(&"(0040,A075)".to_string()));
    assert!(p.harvest.contains(&"(0010,0020)".to_string()));
}

#[test]
fn default_anon_values_become_valid_dummy_values() {
    let p = seed_policy();
    assert_eq!(p.dummy_values.get("LO").map(String::as_str), Some("Anonymized"));
    assert_eq!(p.dummy_values.get("DA").map(String::as_str), Some("00010101"));
    // "Anonymized" is not a valid CS value (lower case): skipped, not imported.
    assert!(!p.dummy_values.contains_key("CS"), "{:?}", p.dummy_values);
    // And the whole policy is valid and survives its own JSON.
    p.validate().unwrap();
    let back = Policy::from_json(&p.to_json()).unwrap();
    assert_eq!(back.to_json(), p.to_json());
}

// The imported policy cleans pixels: only with the pixel cleaner built in.
#[cfg(feature = "pixels")]
#[test]
fn imported_policy_removes_all_phi() {
    let d = Deidentifier::new(seed_policy(), Some(b"k".as_slice())).unwrap().load_model(model()).unwrap();
    for ts in [EXPLICIT_LE, IMPLICIT_LE, EXPLICIT_BE, JPEG_BASELINE] {
        let out = d.deidentify(&file(&EN_PATIENT, &STUDY_A, 1, ts)).unwrap_or_else(|e| panic!("{ts}: {e}"));
        for s in phi_strings(&EN_PATIENT) {
            assert!(!raw_contains(&out.bytes, &s), "{ts}: PHI {s:?} survives");
        }
        let obj = parse(&out.bytes);
        assert_eq!(text(&obj, 0x0008, 0x1010).as_deref(), Some(""), "StationName emptied by the seed rule");
        assert_eq!(text(&obj, 0x0008, 0x0060).as_deref(), Some("CT"), "clinical data kept");
        assert_eq!(text(&obj, 0x0012, 0x0062).as_deref(), Some("YES"));
        assert!(obj.get(Tag(0x0009, 0x1010)).is_none(), "private PHI removed");
    }
}

#[test]
fn unknown_tag_list_action_is_a_policy_error() {
    let rules = tag_list_rules(&[("0x0008", "0x1010", "SCRAMBLE", &[])]);
    let err = import("", &rules).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Policy);
    assert!(err.message.contains("SCRAMBLE"), "{}", err.message);
}

#[test]
fn malformed_rules_are_policy_errors() {
    assert_eq!(import("", "{not json").unwrap_err().kind, ErrorKind::Policy);
    let bad_tag = tag_list_rules(&[("0xZZZZ", "0x1010", "EMPTY", &[])]);
    assert_eq!(import("", &bad_tag).unwrap_err().kind, ErrorKind::Policy);
    // Both date options on: the contradiction is caught by validation.
    let both = r#"{"custom_actions": [
        {"action": "retain_longitudinal_temporal_information_with_full_dates_option", "value": "yes"},
        {"action": "retain_longitudinal_temporal_information_with_modified_dates_option", "value": "yes"}
    ]}"#;
    assert_eq!(import("", both).unwrap_err().kind, ErrorKind::Policy);
}

// The imported policy cleans pixels: only with the pixel cleaner built in.
#[cfg(feature = "pixels")]
#[test]
fn imported_policy_keeps_patient_id_pseudonyms() {
    // The seed algorithm gives patients pseudonymous IDs (its patient_id_mapping.csv lists them);
    // the CSV row "0010,0020;Z" (Z/D in the current table) must not switch that off.
    let p = seed_policy();
    let d = Deidentifier::new(p.clone(), Some(b"k".as_slice())).unwrap().load_model(model()).unwrap();
    let obj = parse(&d.deidentify(&file(&EN_PATIENT, &STUDY_A, 1, EXPLICIT_LE)).unwrap().bytes);
    let id = text(&obj, 0x0010, 0x0020).unwrap_or_default();
    assert!(id.starts_with("ANON-"), "PatientID should be the pseudonym, got {id:?}");
    assert_eq!(override_for(&p, "(0010,0020)"), None, "PatientID override from the CSV");
}

// The imported policy cleans pixels: only with the pixel cleaner built in.
#[cfg(feature = "pixels")]
#[test]
fn imported_policy_does_not_keep_roi_observation_datetime() {
    // The shipped CSV row "3006,002E;X;;;;;K;C;;;" has 11 cells, not 12: read by position its
    // K lands under Retain Patient Characteristics, so the importer emits a keep override.
    let p = seed_policy();
    let mut obj = dataset(&EN_PATIENT, &STUDY_A, 1, None);
    obj.put(dicom_core::DataElement::new(Tag(0x3006, 0x002E), dicom_core::VR::DT, dicom_core::PrimitiveValue::from("20230517093015")));
    let d = Deidentifier::new(p.clone(), Some(b"k".as_slice())).unwrap().load_model(model()).unwrap();
    let out = parse(&d.deidentify(&encode(obj, EXPLICIT_LE)).unwrap().bytes);
    assert_ne!(text(&out, 0x3006, 0x002E).as_deref(), Some("20230517093015"), "ROI Observation DateTime unshifted");
    assert_ne!(override_for(&p, "(3006,002E)"), Some(Action::Keep), "a DateTime kept as is under modified dates");
}

#[test]
fn default_policy_shifts_roi_observation_datetime() {
    // The control for the test above: the built-in policy does shift it.
    let mut obj = dataset(&EN_PATIENT, &STUDY_A, 1, None);
    obj.put(dicom_core::DataElement::new(Tag(0x3006, 0x002E), dicom_core::VR::DT, dicom_core::PrimitiveValue::from("20230517093015")));
    let d = Deidentifier::new(common::header_policy(), Some(b"k".as_slice())).unwrap();
    let out = parse(&d.deidentify(&encode(obj, EXPLICIT_LE)).unwrap().bytes);
    let v = text(&out, 0x3006, 0x002E).unwrap();
    assert!(!v.is_empty() && v != "20230517093015", "shifted: {v}");
}

/// The imported seed policy cleans pixels (its Clean Pixel Data switch is on): the model
/// built into the tests.
#[cfg(feature = "pixels")]
fn model() -> &'static [u8] {
    dicom_deid::embedded_model().expect("no text detection model built in: run tools/fetch-model.sh, then rebuild")
}
