//! A bounded, thread-safe memo of findings by text: the same descriptions and comments recur
//! in every file of a series, and scanning them is the costly part of a header.

use super::Finding;
use std::collections::HashMap;
use std::sync::RwLock;

/// Findings by text, one map per mode ([normal, strict]). In memory only; cleared when full.
#[derive(Default)]
pub struct FindingCache {
    maps: [RwLock<HashMap<Box<str>, Vec<Finding>>>; 2],
}

impl FindingCache {
    /// Entries per map before it is cleared.
    const ENTRIES: usize = 20_000;
    /// Texts longer than this are not kept.
    const TEXT_BYTES: usize = 4096;

    /// The findings of `text` in mode `strict`: remembered, or made by `scan` and remembered.
    pub fn get_or_scan(&self, text: &str, strict: bool, scan: impl FnOnce() -> Vec<Finding>) -> Vec<Finding> {
        if text.len() > Self::TEXT_BYTES {
            return scan();
        }
        let map = &self.maps[strict as usize];
        if let Some(hit) = map.read().expect("finding cache").get(text) {
            return hit.clone();
        }
        let found = scan();
        let mut m = map.write().expect("finding cache");
        if m.len() >= Self::ENTRIES {
            m.clear();
        }
        m.insert(text.into(), found.clone());
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::PhiKind;
    use std::cell::Cell;

    #[test]
    fn remembers_texts_per_mode_and_not_long_ones() {
        let cache = FindingCache::default();
        let scans = Cell::new(0);
        let finding = Finding { start: 0, end: 3, kind: PhiKind::Name, rule: "test".into() };
        let scan = |strict: bool| {
            scans.set(scans.get() + 1);
            if strict { Vec::new() } else { vec![finding.clone()] }
        };
        assert_eq!(cache.get_or_scan("Lee", false, || scan(false)), std::slice::from_ref(&finding));
        assert_eq!(cache.get_or_scan("Lee", false, || scan(false)), std::slice::from_ref(&finding));
        assert_eq!(scans.get(), 1, "the second look-up is remembered");
        assert!(cache.get_or_scan("Lee", true, || scan(true)).is_empty(), "strict mode has its own findings");
        assert_eq!(scans.get(), 2);
        let long = "x".repeat(FindingCache::TEXT_BYTES + 1);
        cache.get_or_scan(&long, false, || scan(false));
        cache.get_or_scan(&long, false, || scan(false));
        assert_eq!(scans.get(), 4, "long texts are scanned each time");
    }
}
