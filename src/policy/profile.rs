//! PS3.15 Table E.1-1 as types, and how the enabled options turn a row into one action.

use serde::{Deserialize, Serialize};

/// The Basic Profile column. Combined codes ("X/Z") let the implementation pick the
/// weakest action that keeps the IOD valid; without IOD tables we pick the one that can
/// never break conformance (see `BasicAction::resolved`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BasicAction {
    X,
    Z,
    D,
    U,
    XZ,
    XD,
    ZD,
    XZD,
    /// X/Z/U*: sequences of references; their UIDs are remapped.
    XZU,
}

impl BasicAction {
    /// The single action applied for this code.
    /// X/Z -> Z (type 2 stays present), X/D, Z/D, X/Z/D -> D (type 1 stays valid),
    /// X/Z/U* -> U (references survive with remapped UIDs).
    pub fn resolved(self) -> Action {
        match self {
            BasicAction::X => Action::Remove,
            BasicAction::Z | BasicAction::XZ => Action::Empty,
            BasicAction::D | BasicAction::XD | BasicAction::ZD | BasicAction::XZD => Action::Dummy,
            BasicAction::U | BasicAction::XZU => Action::RemapUid,
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            BasicAction::X => "X",
            BasicAction::Z => "Z",
            BasicAction::D => "D",
            BasicAction::U => "U",
            BasicAction::XZ => "X/Z",
            BasicAction::XD => "X/D",
            BasicAction::ZD => "Z/D",
            BasicAction::XZD => "X/Z/D",
            BasicAction::XZU => "X/Z/U*",
        }
    }
}

/// What an option column says for a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionAction {
    Keep,
    Clean,
}

/// The ten option columns of Table E.1-1, in the table's (and the seed CSV's) order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProfileOption {
    RetainSafePrivate,
    RetainUids,
    RetainDeviceIdentity,
    RetainInstitutionIdentity,
    RetainPatientCharacteristics,
    RetainLongitudinalFullDates,
    RetainLongitudinalModifiedDates,
    CleanDescriptors,
    CleanStructuredContent,
    CleanGraphics,
}

impl ProfileOption {
    pub const ALL: [ProfileOption; 10] = [
        ProfileOption::RetainSafePrivate,
        ProfileOption::RetainUids,
        ProfileOption::RetainDeviceIdentity,
        ProfileOption::RetainInstitutionIdentity,
        ProfileOption::RetainPatientCharacteristics,
        ProfileOption::RetainLongitudinalFullDates,
        ProfileOption::RetainLongitudinalModifiedDates,
        ProfileOption::CleanDescriptors,
        ProfileOption::CleanStructuredContent,
        ProfileOption::CleanGraphics,
    ];
    pub fn index(self) -> usize {
        self as usize
    }
    /// CID 7050 code value and meaning (PS3.16) recorded in DeidentificationMethodCodeSequence.
    pub fn cid7050(self) -> (&'static str, &'static str) {
        match self {
            ProfileOption::RetainSafePrivate => ("113111", "Retain Safe Private Option"),
            ProfileOption::RetainUids => ("113110", "Retain UIDs Option"),
            ProfileOption::RetainDeviceIdentity => ("113109", "Retain Device Identity Option"),
            ProfileOption::RetainInstitutionIdentity => ("113112", "Retain Institution Identity Option"),
            ProfileOption::RetainPatientCharacteristics => ("113108", "Retain Patient Characteristics Option"),
            ProfileOption::RetainLongitudinalFullDates => {
                ("113106", "Retain Longitudinal Temporal Information Full Dates Option")
            }
            ProfileOption::RetainLongitudinalModifiedDates => {
                ("113107", "Retain Longitudinal Temporal Information Modified Dates Option")
            }
            ProfileOption::CleanDescriptors => ("113105", "Clean Descriptors Option"),
            ProfileOption::CleanStructuredContent => ("113104", "Clean Structured Content Option"),
            ProfileOption::CleanGraphics => ("113103", "Clean Graphics Option"),
        }
    }
}

/// One row of Table E.1-1. `tag & mask` selects repeating groups (50xx, 60xx).
#[derive(Debug, Clone, Copy)]
pub struct ProfileEntry {
    pub tag: u32,
    pub mask: u32,
    pub name: &'static str,
    pub basic: BasicAction,
    pub in_std_iod: bool,
    pub options: [Option<OptionAction>; 10],
}

/// The action applied to one element after every rule has been considered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Keep the value; text is still checked against the harvested vocabulary and the
    /// high-precision detectors (fail closed: a kept value can still leak).
    Keep,
    /// Remove the element.
    Remove,
    /// Keep the element with a zero-length value.
    Empty,
    /// Replace with a dummy value valid for the VR.
    Dummy,
    /// Clean: free text redacted, dates shifted, UIDs remapped, sequences recursed.
    Clean,
    /// Replace the UID(s) with keyed one-way mappings.
    RemapUid,
    /// Shift dates/times by the patient's offset.
    ShiftDate,
    /// Replace with the patient pseudonym (PatientName, PatientID).
    Pseudonym,
}

impl ProfileEntry {
    /// The action for this row given which options are on (indexed by ProfileOption).
    /// A Keep from a Retain option and a Clean from any option on the same row: Clean wins,
    /// since cleaning keeps the non-identifying content and removes the rest.
    pub fn action(&self, enabled: &[bool; 10]) -> (Action, Option<ProfileOption>) {
        let mut keep = None;
        let mut clean = None;
        for opt in ProfileOption::ALL {
            if !enabled[opt.index()] {
                continue;
            }
            match self.options[opt.index()] {
                Some(OptionAction::Keep) if keep.is_none() => keep = Some(opt),
                Some(OptionAction::Clean) if clean.is_none() => clean = Some(opt),
                _ => {}
            }
        }
        if let Some(opt) = clean {
            return (Action::Clean, Some(opt));
        }
        if let Some(opt) = keep {
            return (Action::Keep, Some(opt));
        }
        (self.basic.resolved(), None)
    }
}

/// The Table E.1-1 row for a tag, if any (private tags excepted: see `ps315::PRIVATE`).
pub fn lookup(tag: u32) -> Option<&'static ProfileEntry> {
    use super::ps315::{EXACT, PATTERNS};
    if let Ok(i) = EXACT.binary_search_by_key(&tag, |e| e.tag) {
        return Some(&EXACT[i]);
    }
    PATTERNS.iter().find(|e| tag & e.mask == e.tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enabled(opts: &[ProfileOption]) -> [bool; 10] {
        let mut e = [false; 10];
        for o in opts {
            e[o.index()] = true;
        }
        e
    }

    #[test]
    fn table_has_known_rows() {
        let acc = lookup(0x0008_0050).expect("Accession Number");
        assert_eq!(acc.basic, BasicAction::Z);
        assert_eq!(lookup(0x6002_3000).unwrap().name, "Overlay Data");
        assert_eq!(lookup(0x5010_2000).unwrap().name, "Curve Data");
        assert!(lookup(0x0028_0010).is_none(), "Rows is not in the table");
        assert_eq!(super::super::ps315::EXACT.len() + super::super::ps315::PATTERNS.len() + 1, 621);
    }

    #[test]
    fn options_override_basic() {
        let sex = lookup(0x0010_0040).unwrap();
        assert_eq!(sex.action(&enabled(&[])).0, Action::Empty);
        assert_eq!(sex.action(&enabled(&[ProfileOption::RetainPatientCharacteristics])).0, Action::Keep);
        let study_date = lookup(0x0008_0020).unwrap();
        assert_eq!(study_date.action(&enabled(&[ProfileOption::RetainLongitudinalModifiedDates])).0, Action::Clean);
        assert_eq!(study_date.action(&enabled(&[ProfileOption::RetainLongitudinalFullDates])).0, Action::Keep);
        let desc = lookup(0x0008_1030).unwrap();
        assert_eq!(desc.action(&enabled(&[])).0, Action::Remove);
        assert_eq!(desc.action(&enabled(&[ProfileOption::CleanDescriptors])).0, Action::Clean);
        let sop = lookup(0x0008_0018).unwrap();
        assert_eq!(sop.action(&enabled(&[])).0, Action::RemapUid);
        assert_eq!(sop.action(&enabled(&[ProfileOption::RetainUids])).0, Action::Keep);
    }

    #[test]
    fn combined_codes_pick_conformance_safe_actions() {
        assert_eq!(BasicAction::XZ.resolved(), Action::Empty);
        assert_eq!(BasicAction::XZD.resolved(), Action::Dummy);
        assert_eq!(BasicAction::ZD.resolved(), Action::Dummy);
        assert_eq!(BasicAction::XZU.resolved(), Action::RemapUid);
    }

    #[test]
    fn clean_beats_keep_on_the_same_row() {
        // Allergies: Retain Patient Characteristics says C, Clean Descriptors says C.
        let allergies = lookup(0x0010_2110).unwrap();
        let on = enabled(&[ProfileOption::RetainPatientCharacteristics, ProfileOption::CleanDescriptors]);
        assert_eq!(allergies.action(&on).0, Action::Clean);
    }
}
