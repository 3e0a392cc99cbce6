//! Per element: which rule applies and why. Decide first, apply later (see `apply.rs`),
//! so that the report is the list of decisions.

use crate::actions::uid::is_class_uid_keyword;
use crate::policy::profile::{lookup, Action, ProfileOption};
use crate::policy::ps315::PRIVATE;
use crate::policy::selector::{keyword, ItemPath};
use crate::Deidentifier;

/// How an element is treated inside a sequence whose own rule was "clean" or "dummy":
/// values without a rule of their own are cleaned instead of kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    Normal,
    CleanAll,
}

#[derive(Debug, Clone)]
pub struct Decision {
    pub action: Action,
    /// What decided, for the report: "profile", "option", "override", "private", "default".
    pub source: &'static str,
    /// The rule, readable: row name and code, option, override selector, or default rule.
    pub rule: String,
}

impl Decision {
    fn new(action: Action, source: &'static str, rule: impl Into<String>) -> Self {
        Decision { action, source, rule: rule.into() }
    }
}

/// Private element context: the creator of its block, if the block has one.
pub struct PrivateInfo<'a> {
    pub creator: Option<&'a str>,
}

const TEXT_VRS: &[&str] = &["AE", "LO", "LT", "SH", "ST", "UC", "UR", "UT"];

impl Deidentifier {
    pub(crate) fn classify(
        &self,
        tag: u32,
        vr: &str,
        path: &ItemPath,
        private: Option<PrivateInfo<'_>>,
        ctx: Context,
    ) -> Decision {
        let group = (tag >> 16) as u16;
        let element = tag as u16;
        if element == 0 {
            return Decision::new(Action::Remove, "default", "group length (retired; recomputed by readers)");
        }
        if let Some((_, ov)) = self.overrides.iter().find(|(sel, _)| sel.matches(path, tag)) {
            return Decision::new(ov.action, "override", format!("override '{}'", ov.select));
        }
        if group % 2 == 1 {
            return self.classify_private(tag, vr, private);
        }
        if matches!(tag, 0x0010_0010) {
            return Decision::new(Action::Pseudonym, "profile", "Patient's Name (Z): pseudonym");
        }
        if matches!(tag, 0x0010_0020) {
            return Decision::new(Action::Pseudonym, "profile", "Patient ID (Z/D): pseudonym");
        }
        if is_overlay_group(group) && element != 0x3000 && element != 0x4000 && lookup(tag).is_none() {
            // An overlay plane without its data is invalid (type 1): it follows Overlay Data.
            let data = self.classify((tag & 0xFFFF_0000) | 0x3000, "OW", path, None, ctx);
            let action = if matches!(data.action, Action::Remove | Action::Clean | Action::Empty) { Action::Remove } else { Action::Keep };
            return Decision::new(action, data.source, format!("overlay plane attribute, follows {}", data.rule));
        }
        if let Some(row) = lookup(tag) {
            let (action, opt) = row.action(&self.enabled);
            return match opt {
                Some(o) => Decision::new(action, "option", format!("{} ({}): {}", row.name, row.basic.code(), option_name(o))),
                None => Decision::new(action, "profile", format!("{} ({})", row.name, row.basic.code())),
            };
        }
        self.classify_unlisted(tag, vr, ctx)
    }

    fn classify_private(&self, tag: u32, vr: &str, private: Option<PrivateInfo<'_>>) -> Decision {
        let element = tag as u16;
        if (0x0010..=0x00FF).contains(&element) {
            // Creator elements are kept exactly when their block keeps something.
            return Decision::new(Action::Keep, "private", "private creator (kept only with its block)");
        }
        let creator = private.and_then(|p| p.creator);
        let Some(creator) = creator else {
            return Decision::new(Action::Remove, "private", "private element without a creator");
        };
        if self.policy.options.retain_safe_private
            && element >= 0x1000
            && self.safe_private.contains(&(creator.trim().to_string(), (tag >> 16) as u16, element as u8))
        {
            let action = if vr == "SQ" { Action::Clean } else { Action::Keep };
            return Decision::new(action, "private", "Retain Safe Private: on the safe list");
        }
        Decision::new(Action::Remove, "private", format!("{} (X): not on the safe list", PRIVATE.name))
    }

    /// Elements not in Table E.1-1: kept when they cannot identify, otherwise an explicit
    /// fail-closed decision by VR.
    fn classify_unlisted(&self, tag: u32, vr: &str, ctx: Context) -> Decision {
        if tag == 0x0008_0005 {
            return Decision::new(Action::Keep, "default", "Specific Character Set");
        }
        let opts = &self.policy.options;
        match vr {
            "SQ" => Decision::new(if ctx == Context::CleanAll { Action::Clean } else { Action::Keep }, "default", "sequence: items processed"),
            "UI" => {
                if keyword(tag).is_some_and(is_class_uid_keyword) {
                    Decision::new(Action::Keep, "default", "class or syntax UID")
                } else if opts.retain_uids {
                    Decision::new(Action::Keep, "option", "UID not in profile: Retain UIDs")
                } else {
                    Decision::new(Action::RemapUid, "default", "UID not in profile: remapped (fail closed)")
                }
            }
            "PN" => Decision::new(Action::Empty, "default", "person name not in profile: emptied (fail closed)"),
            "DA" | "DT" | "TM" => {
                if opts.retain_longitudinal_full_dates {
                    Decision::new(Action::Keep, "option", "date/time not in profile: Retain Full Dates")
                } else if opts.retain_longitudinal_modified_dates {
                    Decision::new(Action::ShiftDate, "option", "date/time not in profile: Modified Dates")
                } else {
                    Decision::new(Action::Empty, "default", "date/time not in profile: emptied (fail closed)")
                }
            }
            _ if ctx == Context::CleanAll && TEXT_VRS.contains(&vr) => {
                Decision::new(Action::Clean, "default", "text inside a cleaned sequence")
            }
            _ => Decision::new(Action::Keep, "default", "not in profile"),
        }
    }
}

/// Repeating groups 6000-60FE (even): overlay planes.
fn is_overlay_group(group: u16) -> bool {
    (0x6000..=0x60FF).contains(&group) && group % 2 == 0
}

pub fn option_name(o: ProfileOption) -> &'static str {
    match o {
        ProfileOption::RetainSafePrivate => "Retain Safe Private",
        ProfileOption::RetainUids => "Retain UIDs",
        ProfileOption::RetainDeviceIdentity => "Retain Device Identity",
        ProfileOption::RetainInstitutionIdentity => "Retain Institution Identity",
        ProfileOption::RetainPatientCharacteristics => "Retain Patient Characteristics",
        ProfileOption::RetainLongitudinalFullDates => "Retain Longitudinal Full Dates",
        ProfileOption::RetainLongitudinalModifiedDates => "Retain Longitudinal Modified Dates",
        ProfileOption::CleanDescriptors => "Clean Descriptors",
        ProfileOption::CleanStructuredContent => "Clean Structured Content",
        ProfileOption::CleanGraphics => "Clean Graphics",
    }
}
