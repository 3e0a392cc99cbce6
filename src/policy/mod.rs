//! The JSON policy: which PS3.15 options are on, per-element overrides, dummy values,
//! date shifting, pseudonyms, free-text detectors and private-element rules.
//! `Policy::default()` is the project's default profile (see README "Policy").

pub mod deid_rules;
pub mod pixels;
pub mod profile;
#[rustfmt::skip]
pub mod ps315;
pub mod safe_private;
pub mod seed;
pub mod selector;

use crate::error::{Error, Result};
use crate::text::TextConfig;
use profile::ProfileOption;
pub use profile::Action;
use selector::Selector;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The PS3.15 options (Table E.1-1 columns) plus the pixel options used by the pixel cleaner.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct Options {
    pub retain_safe_private: bool,
    pub retain_uids: bool,
    pub retain_device_identity: bool,
    pub retain_institution_identity: bool,
    pub retain_patient_characteristics: bool,
    pub retain_longitudinal_full_dates: bool,
    pub retain_longitudinal_modified_dates: bool,
    pub clean_descriptors: bool,
    pub clean_structured_content: bool,
    pub clean_graphics: bool,
    pub clean_recognizable_visual_features: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            retain_safe_private: true,
            retain_uids: false,
            retain_device_identity: true,
            retain_institution_identity: false,
            retain_patient_characteristics: true,
            retain_longitudinal_full_dates: false,
            retain_longitudinal_modified_dates: true,
            clean_descriptors: true,
            clean_structured_content: true,
            clean_graphics: false,
            clean_recognizable_visual_features: false,
        }
    }
}

impl Options {
    pub fn is_on(&self, opt: ProfileOption) -> bool {
        match opt {
            ProfileOption::RetainSafePrivate => self.retain_safe_private,
            ProfileOption::RetainUids => self.retain_uids,
            ProfileOption::RetainDeviceIdentity => self.retain_device_identity,
            ProfileOption::RetainInstitutionIdentity => self.retain_institution_identity,
            ProfileOption::RetainPatientCharacteristics => self.retain_patient_characteristics,
            ProfileOption::RetainLongitudinalFullDates => self.retain_longitudinal_full_dates,
            ProfileOption::RetainLongitudinalModifiedDates => self.retain_longitudinal_modified_dates,
            ProfileOption::CleanDescriptors => self.clean_descriptors,
            ProfileOption::CleanStructuredContent => self.clean_structured_content,
            ProfileOption::CleanGraphics => self.clean_graphics,
        }
    }
    pub fn enabled(&self) -> [bool; 10] {
        ProfileOption::ALL.map(|o| self.is_on(o))
    }
}

/// A per-element rule that beats the profile: `select` is a tag "(0008,1010)", a keyword
/// "StationName" (any depth) or a path "RequestAttributesSequence[*].RequestedProcedureDescription".
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Override {
    pub select: String,
    pub action: Action,
    /// For `action: "dummy"`: the value to write instead of the VR's dummy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct DateShift {
    /// The per-patient offset is drawn (keyed by the secret) from [min_days, max_days].
    pub min_days: i32,
    pub max_days: i32,
    /// Also shift times by a per-patient number of seconds, so no original time survives.
    pub shift_times: bool,
}

impl Default for DateShift {
    fn default() -> Self {
        DateShift { min_days: -3650, max_days: -365, shift_times: true }
    }
}

/// Pseudonym templates. `{hash}` is 10 upper-case hex digits keyed by the secret and the
/// original patient ID; `{hash:N}` takes N digits (4 to 32).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct Pseudonyms {
    pub patient_name: String,
    pub patient_id: String,
}

impl Default for Pseudonyms {
    fn default() -> Self {
        Pseudonyms { patient_name: "ANON^{hash:8}".into(), patient_id: "ANON-{hash}".into() }
    }
}

/// A private attribute known to carry no identity (e.g. vendor scaling factors).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SafePrivate {
    /// Private creator string, compared after trimming spaces.
    pub creator: String,
    /// Odd group, hex ("0019").
    pub group: String,
    /// Element offset within the block, hex, the low byte ("0C" for (0019,xx0C)).
    pub element: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct PrivatePolicy {
    /// Kept under Retain Safe Private; every other private element is removed.
    pub safe: Vec<SafePrivate>,
}

impl Default for PrivatePolicy {
    fn default() -> Self {
        PrivatePolicy { safe: safe_private::shipped() }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct FreeText {
    /// What a redacted span becomes in LO/SH/ST/LT/UT/UC values.
    pub replacement: String,
    /// Remove the whole value instead of redacting spans when PHI is found.
    pub remove_value_on_finding: bool,
}

impl Default for FreeText {
    fn default() -> Self {
        FreeText { replacement: "***".into(), remove_value_on_finding: false }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    pub options: Options,
    pub overrides: Vec<Override>,
    /// Dummy value per VR for action D, merged over the built-in ones.
    pub dummy_values: BTreeMap<String, String>,
    pub date_shift: DateShift,
    pub pseudonyms: Pseudonyms,
    pub free_text: FreeText,
    pub text: TextConfig,
    pub private: PrivatePolicy,
    /// Extra elements whose values are harvested into the sensitive vocabulary (selectors),
    /// beyond the built-in rule (every PN, and every identifying element of the profile).
    pub harvest: Vec<String>,
    /// Clean Pixel Data: burned-in text found and masked (see [`pixels::PixelPolicy`]).
    pub pixels: pixels::PixelPolicy,
    /// What a file may demand before it is refused unread (see [`Limits`]).
    pub limits: Limits,
}

/// Resource limits checked on the element headers before a file is parsed (the pixel
/// limits, frames and decoded bytes, are in [`pixels::PixelPolicy`]). A file over a limit is
/// refused with an error of kind `limit` that names it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Sequences inside sequences: real files rarely go past 10 (SR content trees);
    /// the parser builds nested sequences by recursion, so thousands would exhaust the stack.
    pub max_nesting_depth: u32,
    /// The longest element value accepted, in bytes (Pixel Data included).
    pub max_element_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_nesting_depth: 64, max_element_bytes: 2 << 30 }
    }
}

impl Default for Policy {
    fn default() -> Self {
        let station = |sel: &str| Override {
            select: sel.into(),
            action: Action::Empty,
            value: None,
            reason: "station and location names usually name the site; kept by Retain Device Identity \
                     in PS3.15, emptied here (as the seed rules do)"
                .into(),
        };
        Policy {
            options: Options::default(),
            overrides: vec![
                station("StationName"),
                station("PerformedStationName"),
                station("ScheduledStationName"),
                station("ScheduledStudyLocation"),
                station("ScheduledProcedureStepLocation"),
            ],
            dummy_values: BTreeMap::new(),
            date_shift: DateShift::default(),
            pseudonyms: Pseudonyms::default(),
            free_text: FreeText::default(),
            text: TextConfig::default(),
            private: PrivatePolicy::default(),
            harvest: Vec::new(),
            pixels: pixels::PixelPolicy::default(),
            limits: Limits::default(),
        }
    }
}

impl Policy {
    pub fn from_json(json: &str) -> Result<Policy> {
        let p: Policy = serde_json::from_str(json).map_err(|e| Error::policy(format!("policy JSON: {e}")))?;
        p.validate()?;
        Ok(p)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("policy serialises")
    }

    /// Reject contradictions and values we cannot honour, before any file is touched.
    pub fn validate(&self) -> Result<()> {
        let o = &self.options;
        if o.retain_longitudinal_full_dates && o.retain_longitudinal_modified_dates {
            return Err(Error::policy(
                "options: retain_longitudinal_full_dates and retain_longitudinal_modified_dates exclude each other",
            ));
        }
        let d = &self.date_shift;
        if d.min_days > d.max_days {
            return Err(Error::policy(format!(
                "date_shift: min_days ({}) is greater than max_days ({})",
                d.min_days, d.max_days
            )));
        }
        if o.retain_longitudinal_modified_dates && d.min_days == 0 && d.max_days == 0 && !d.shift_times {
            return Err(Error::policy("date_shift: a zero shift would keep the original dates"));
        }
        for ov in &self.overrides {
            Selector::parse(&ov.select).map_err(|e| Error::policy(format!("overrides: {e}")))?;
        }
        for h in &self.harvest {
            Selector::parse(h).map_err(|e| Error::policy(format!("harvest: {e}")))?;
        }
        for sp in &self.private.safe {
            safe_private::parse_entry(sp).map_err(|e| Error::policy(format!("private.safe: {e}")))?;
        }
        for (vr, v) in &self.dummy_values {
            crate::actions::dummy::check_dummy(vr, v).map_err(|e| Error::policy(format!("dummy_values: {e}")))?;
        }
        crate::actions::pseudonym::check_template(&self.pseudonyms.patient_name)
            .and_then(|_| crate::actions::pseudonym::check_template(&self.pseudonyms.patient_id))
            .map_err(|e| Error::policy(format!("pseudonyms: {e}")))?;
        self.pixels.validate().map_err(|e| Error::policy(format!("pixels: {e}")))?;
        if self.limits.max_nesting_depth == 0 || self.limits.max_element_bytes == 0 {
            return Err(Error::policy("limits: max_nesting_depth and max_element_bytes must be at least 1"));
        }
        // The text detectors (user regexes included) are compiled and checked once, by Deidentifier::new.
        Ok(())
    }
}
