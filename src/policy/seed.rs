//! Import the seed algorithm's configuration (profile CSV + rules JSON, see
//! shared/seed-config/README.md) into a dicom-deid policy, so its users keep their settings.
//!
//! How each concept maps:
//! - `custom_actions` switches -> `options` (same option names, yes/no -> true/false).
//! - profile CSV rows -> the generated Table E.1-1 is the baseline; a row whose action under
//!   the chosen options differs from the table's becomes an override (the CSV wins).
//! - `default_anon_values` -> `dummy_values` (values invalid for their VR are skipped, noted).
//! - `tag_list_to_check_by_keep` -> `harvest` (values harvested into the vocabulary).
//! - `text_to_clean` -> `text.institution_words`; `prefix_to_check` -> `text.name_prefixes`.
//! - `tag_list` actions -> overrides: REPLACE_PART_TEXT, CHEKPERSONNAME, PHONE -> clean;
//!   REPLACE_FULL_TEXT -> dummy (first value); SET_DATE_YEAR, SHIFT_DATE_YEAR -> shift_date;
//!   EMPTY -> empty; DELETE -> remove; KEEP, SKIP, CHEKANDRETAIN -> keep (kept text is still
//!   checked for PHI).

use super::profile::{lookup, Action, BasicAction};
use super::pixels::PixelMode;
use super::{Override, Policy};
use crate::error::{Error, Result};
use serde::Deserialize;

#[derive(Deserialize)]
struct Rules {
    #[serde(default)]
    default_anon_values: Vec<VrValue>,
    #[serde(default)]
    custom_actions: Vec<Switch>,
    #[serde(default)]
    tag_list_to_check_by_keep: Vec<TagRef>,
    #[serde(default)]
    text_to_clean: Option<Values>,
    #[serde(default)]
    prefix_to_check: Option<Values>,
    #[serde(default)]
    tag_list: Vec<TagRule>,
}
#[derive(Deserialize)]
struct VrValue {
    vr: String,
    value: String,
}
#[derive(Deserialize)]
struct Switch {
    action: String,
    value: String,
}
#[derive(Deserialize)]
struct TagRef {
    tag_group: String,
    tag_element: String,
}
#[derive(Deserialize)]
struct Values {
    values: Vec<String>,
}
#[derive(Deserialize)]
struct TagRule {
    tag_group: String,
    tag_element: String,
    action: String,
    #[serde(default)]
    values: Vec<String>,
}

fn hex16(s: &str) -> Result<u16> {
    u16::from_str_radix(s.trim().trim_start_matches("0x").trim_start_matches("0X"), 16)
        .map_err(|_| Error::policy(format!("seed rules: bad tag part '{s}'")))
}

fn tag_text(g: &str, e: &str) -> Result<String> {
    Ok(format!("({:04X},{:04X})", hex16(g)?, hex16(e)?))
}

fn seed_code(code: &str) -> Option<Action> {
    Some(match code.trim() {
        "X" => Action::Remove,
        "Z" | "X/Z" => Action::Empty,
        "D" | "X/D" | "Z/D" | "X/Z/D" => Action::Dummy,
        "U" | "X/Z/U*" | "X/Z/U" => Action::RemapUid,
        "K" => Action::Keep,
        "C" => Action::Clean,
        _ => return None,
    })
}

/// The seed's option switch names, in its column order (CSV columns 3-12).
const COLUMNS: [&str; 10] = [
    "retain_safe_private_option",
    "retain_uid_option",
    "retain_device_identity_option",
    "retain_institution_identity_option",
    "retain_patient_characteristics_option",
    "retain_longitudinal_temporal_information_with_full_dates_option",
    "retain_longitudinal_temporal_information_with_modified_dates_option",
    "clean_descriptors_option",
    "clean_structured_content_option",
    "clean_graphics_option",
];

/// The policy only; see `import_with_notes`.
pub fn import(profile_csv: &str, rules_json: &str) -> Result<Policy> {
    import_with_notes(profile_csv, rules_json).map(|(p, _)| p)
}

/// Patient's Name and Patient ID get pseudonyms from the engine (as in the seed algorithm);
/// a profile row for them must not turn into an override that empties them.
const PSEUDONYMISED: [u32; 2] = [0x0010_0010, 0x0010_0020];

/// The policy, and notes on what could not be carried over (malformed rows, dropped values).
pub fn import_with_notes(profile_csv: &str, rules_json: &str) -> Result<(Policy, Vec<String>)> {
    let mut notes = Vec::new();
    let rules: Rules = serde_json::from_str(rules_json).map_err(|e| Error::policy(format!("seed rules JSON: {e}")))?;
    let mut p = Policy::default();
    p.overrides.clear();
    let on = |name: &str| rules.custom_actions.iter().any(|s| s.action == name && s.value.trim().eq_ignore_ascii_case("yes"));
    let o = &mut p.options;
    o.retain_safe_private = on(COLUMNS[0]);
    o.retain_uids = on(COLUMNS[1]);
    o.retain_device_identity = on(COLUMNS[2]);
    o.retain_institution_identity = on(COLUMNS[3]);
    o.retain_patient_characteristics = on(COLUMNS[4]);
    o.retain_longitudinal_full_dates = on(COLUMNS[5]);
    o.retain_longitudinal_modified_dates = on(COLUMNS[6]);
    o.clean_descriptors = on(COLUMNS[7]);
    o.clean_structured_content = on(COLUMNS[8]);
    o.clean_graphics = on(COLUMNS[9]);
    o.clean_recognizable_visual_features = on("clean_recognizable_visual_features_option");
    p.pixels.mode = if on("clean_pixel_data_option") { PixelMode::Detect } else { PixelMode::Off };
    let enabled = p.options.enabled();

    for row in profile_csv.lines().filter(|l| !l.trim().is_empty()) {
        let cells: Vec<&str> = row.split(';').map(str::trim).collect();
        let tag = cells[0];
        let Some((g, e)) = tag.split_once(',') else { continue };
        if g.len() != 4 || e.len() != 4 || !g.chars().chain(e.chars()).all(|c| c.is_ascii_hexdigit()) {
            continue; // repeating-group and private regex rows: handled natively by the table
        }
        let t = ((hex16(g)? as u32) << 16) | hex16(e)? as u32;
        if cells.len() != 12 {
            // Which option column a cell belongs to is unknowable: the table's row stands.
            notes.push(format!("profile row {tag}: {} cells instead of 12, ignored (Table E.1-1 applies)", cells.len()));
            continue;
        }
        if PSEUDONYMISED.contains(&t) {
            continue;
        }
        let basic = seed_code(cells.get(1).copied().unwrap_or("")).ok_or_else(|| Error::policy(format!("seed profile: unknown action in row '{row}'")))?;
        // The first enabled option column with an entry decides; Clean columns first, as the seed lists them.
        let order = [7, 8, 9, 5, 6, 4, 2, 3, 1, 0];
        let mut action = basic;
        for i in order {
            if enabled[i] {
                if let Some(a) = cells.get(2 + i).and_then(|c| seed_code(c)) {
                    action = a;
                    break;
                }
            }
        }
        let ours = match lookup(t) {
            Some(row) => row.action(&enabled).0,
            None => Action::Keep,
        };
        let ours_basic_u = lookup(t).map(|r| r.basic == BasicAction::U).unwrap_or(false);
        if action != ours && !(ours == Action::RemapUid && ours_basic_u && action == Action::RemapUid) && t >> 16 != 0x0002 {
            p.overrides.push(Override {
                select: format!("({:04X},{:04X})", t >> 16, t & 0xFFFF),
                action,
                value: None,
                reason: "seed profile CSV".into(),
            });
        }
    }
    for r in &rules.tag_list {
        let (action, value) = match r.action.trim() {
            "REPLACE_PART_TEXT" | "CHEKPERSONNAME" | "PHONE" => (Action::Clean, None),
            "REPLACE_FULL_TEXT" => (Action::Dummy, r.values.first().cloned()),
            "SET_DATE_YEAR" | "SHIFT_DATE_YEAR" => (Action::ShiftDate, None),
            "EMPTY" => (Action::Empty, None),
            "DELETE" => (Action::Remove, None),
            "KEEP" | "SKIP" | "CHEKANDRETAIN" => (Action::Keep, None),
            other => return Err(Error::policy(format!("seed rules: unknown tag_list action '{other}'"))),
        };
        let select = tag_text(&r.tag_group, &r.tag_element)?;
        if select.starts_with("(0002,") {
            continue; // the meta group is rebuilt, never copied
        }
        p.overrides.retain(|o| o.select != select);
        p.overrides.push(Override { select, action, value, reason: format!("seed rule {}", r.action.trim()) });
    }
    for v in &rules.default_anon_values {
        if crate::actions::dummy::builtin(&v.vr).is_none() {
            continue; // "-" entries: VRs that get no dummy text (UI is remapped, SQ recursed)
        }
        match crate::actions::dummy::check_dummy(&v.vr, &v.value) {
            Ok(()) => {
                p.dummy_values.insert(v.vr.clone(), v.value.clone());
            }
            Err(e) => notes.push(format!("default_anon_values: {e}; the built-in dummy is used")),
        }
    }
    p.harvest = rules.tag_list_to_check_by_keep.iter().map(|t| tag_text(&t.tag_group, &t.tag_element)).collect::<Result<_>>()?;
    if let Some(t) = rules.text_to_clean {
        p.text.institution_words = t.values;
    }
    if let Some(t) = rules.prefix_to_check {
        p.text.name_prefixes = t.values;
    }
    p.validate()?;
    Ok((p, notes))
}
