//! Free-text PHI detection for DICOM descriptions and comments.
//!
//! Three layers, combined by [`scan`]:
//! - [`Vocabulary`]: literal values harvested from the identifying elements of the
//!   same object (patient name, IDs, dates), found case/accent-insensitively;
//! - [`Detectors`]: pattern and keyword detectors (dates, phones, national IDs,
//!   honorific + name, institutions, addresses...) in en/it/de/fr/es;
//! - name expansion: a name finding grows over adjacent Title-case words.
//!
//! [`redact`] then replaces the findings.

mod cache;
mod checksums;
mod context;
mod dates;
mod detectors;
mod fold;
mod lang;
mod redact;
mod tokens;
mod vocab;
#[cfg(test)]
mod tests;

pub use cache::FindingCache;
pub use checksums::{codice_fiscale_valid, dni_valid, nhs_valid, nie_valid, nir_valid, ssn_valid, steuer_id_valid};
pub use detectors::Detectors;
pub use fold::fold_str;
pub use redact::{merge_findings, redact};
pub use vocab::Vocabulary;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhiKind {
    Name,
    Date,
    Time,
    Id,
    Phone,
    Email,
    Url,
    Address,
    PostalCode,
    Institution,
    NationalId,
    Uid,
    Other,
}

impl PhiKind {
    /// snake_case name, as in the serde form.
    pub fn as_str(self) -> &'static str {
        match self {
            PhiKind::Name => "name",
            PhiKind::Date => "date",
            PhiKind::Time => "time",
            PhiKind::Id => "id",
            PhiKind::Phone => "phone",
            PhiKind::Email => "email",
            PhiKind::Url => "url",
            PhiKind::Address => "address",
            PhiKind::PostalCode => "postal_code",
            PhiKind::Institution => "institution",
            PhiKind::NationalId => "national_id",
            PhiKind::Uid => "uid",
            PhiKind::Other => "other",
        }
    }
}

/// A span of `text` (byte offsets on char boundaries) and what fired on it.
/// `rule` never contains PHI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub start: usize,
    pub end: usize,
    pub kind: PhiKind,
    pub rule: String,
}

#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TextConfig {
    /// Empty = all shipped ("en","it","de","fr","es").
    pub languages: Vec<String>,
    /// User additions to the shipped lists.
    pub institution_words: Vec<String>,
    pub honorifics: Vec<String>,
    /// Words after which the next word(s) are a name; a trailing ':' means "only with a colon".
    pub name_prefixes: Vec<String>,
    pub street_words: Vec<String>,
    /// Never redacted by the capitalised-word heuristics.
    pub keep_words: Vec<String>,
    pub patterns: Vec<CustomPattern>,
    /// Rule-name prefixes to switch off, e.g. "id:digits".
    pub disabled_rules: Vec<String>,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomPattern {
    pub name: String,
    pub regex: String,
    pub kind: PhiKind,
}

/// Vocabulary + detectors + name expansion; sorted by start, overlapping findings
/// merged (a merged finding keeps the kind/rule of its longest contributor).
pub fn scan(text: &str, vocab: &Vocabulary, det: &Detectors, strict: bool) -> Vec<Finding> {
    if text.is_empty() {
        return Vec::new();
    }
    let mut all = vocab.find(text);
    all.extend(if strict { det.find_strict(text) } else { det.find(text) });
    det.expand_names(text, &mut all);
    merge_findings(all)
}
