//! A bounded, thread-safe memo of findings by text: the same descriptions and comments recur
//! in every file of a series, and scanning them is the costly part of a header.

use super::Finding;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::RwLock;

/// Findings by text, one map per mode ([normal, strict]). In memory only; a map is cleared
/// when it holds `ENTRIES` texts or `max_bytes` (about) of texts and findings.
pub struct FindingCache {
    maps: [RwLock<HashMap<Box<str>, Vec<Finding>>>; 2],
    /// Approximate heap bytes held by each map.
    bytes: [AtomicUsize; 2],
    max_bytes: usize,
}

impl Default for FindingCache {
    fn default() -> Self {
        Self::new(Self::DEFAULT_BYTES)
    }
}

impl FindingCache {
    /// Entries per map before it is cleared.
    const ENTRIES: usize = 20_000;
    /// Texts longer than this are not kept.
    const TEXT_BYTES: usize = 4096;
    /// The bytes a map may hold by default.
    pub const DEFAULT_BYTES: usize = 16 << 20;

    /// A cache whose maps are cleared when either holds about `max_bytes`.
    pub fn new(max_bytes: usize) -> Self {
        FindingCache { maps: Default::default(), bytes: Default::default(), max_bytes }
    }

    /// About how many heap bytes the cache holds.
    pub fn memory_bytes(&self) -> usize {
        self.bytes.iter().map(|b| b.load(Ordering::Relaxed)).sum()
    }

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
        let size = entry_bytes(text, &found);
        let bytes = &self.bytes[strict as usize];
        let mut m = map.write().expect("finding cache");
        if m.len() >= Self::ENTRIES || bytes.load(Ordering::Relaxed) + size > self.max_bytes {
            m.clear();
            bytes.store(0, Ordering::Relaxed);
        }
        if m.insert(text.into(), found.clone()).is_none() {
            bytes.fetch_add(size, Ordering::Relaxed);
        }
        found
    }
}

/// The heap bytes of one entry, map slot included (an estimate).
fn entry_bytes(text: &str, found: &[Finding]) -> usize {
    let findings: usize = found.iter().map(|f| std::mem::size_of::<Finding>() + f.rule.len()).sum();
    text.len() + findings + std::mem::size_of::<(Box<str>, Vec<Finding>)>() + 8
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

    #[test]
    fn a_map_past_its_bytes_is_cleared() {
        let cache = FindingCache::new(1000);
        let scans = Cell::new(0);
        let scan = || {
            scans.set(scans.get() + 1);
            Vec::new()
        };
        let texts: Vec<String> = (0..20).map(|i| format!("{i:0>100}")).collect();
        for t in &texts {
            cache.get_or_scan(t, false, scan);
            assert!(cache.memory_bytes() <= 1000, "{} bytes held", cache.memory_bytes());
        }
        assert!(cache.memory_bytes() > 0);
        cache.get_or_scan(&texts[0], false, scan);
        assert_eq!(scans.get(), 21, "the first text was dropped when the map was cleared");
    }
}
