//! What was done to each element of a file, as serde data for JSON reports. Values appear
//! only when the user asks for them (`Deidentifier::report_values`).

use crate::policy::profile::Action;
use crate::text::PhiKind;
use serde::Serialize;

#[derive(Debug, Default, Clone, Serialize)]
pub struct FileReport {
    pub transfer_syntax: String,
    /// The patient's pseudonymous ID (never the original).
    pub patient: String,
    /// The new (remapped) UIDs, e.g. for the patient/study/series output layout.
    pub study_instance_uid: String,
    pub series_instance_uid: String,
    pub sop_instance_uid: String,
    /// Every element changed, removed, or added (markers), in data set order.
    pub elements: Vec<ElementChange>,
    pub verification: Verification,
    /// Paths of removed elements, for the verifier.
    #[serde(skip)]
    pub removed_paths: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ElementChange {
    pub path: String,
    pub tag: String,
    pub keyword: String,
    pub vr: String,
    /// profile, option, override, private, default or marker.
    pub source: String,
    pub rule: String,
    pub action: Action,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<FindingSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

/// A detector hit, without the text it matched.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct FindingSummary {
    pub kind: PhiKind,
    pub rule: String,
}

/// What the independent verification pass checked on the written output.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Verification {
    pub values_checked: usize,
    pub vocabulary_entries: usize,
    pub raw_bytes_checked: usize,
    pub removed_elements_checked: usize,
}
