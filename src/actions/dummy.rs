//! Dummy values for action D: valid for their VR (length, character repertoire, format),
//! so that replacing a type 1 attribute never makes a file fail validation.

use std::collections::BTreeMap;

/// Built-in dummy per VR; `None` for VRs handled elsewhere (UI is remapped, SQ recursed).
pub fn builtin(vr: &str) -> Option<&'static str> {
    Some(match vr {
        "AE" => "ANONYMOUS",
        "AS" => "000Y",
        "CS" => "ANONYMIZED",
        "DA" => "19000101",
        "DT" => "19000101000000",
        "TM" => "000000",
        "DS" | "IS" => "0",
        "LO" | "LT" | "SH" | "ST" | "UT" | "UC" => "ANONYMIZED",
        // With a component separator: a PN without one reads as the retired form.
        "PN" => "ANONYMIZED^ANONYMIZED",
        "UR" => "",
        _ => return None,
    })
}

/// The dummy for `vr`, the policy's own value first.
pub fn dummy_for<'a>(vr: &str, custom: &'a BTreeMap<String, String>) -> Option<&'a str> {
    match custom.get(vr) {
        Some(v) => Some(v.as_str()),
        None => builtin(vr),
    }
}

/// Maximum length in characters of a value of this VR (PS3.5 Table 6.2-1).
pub fn max_len(vr: &str) -> Option<usize> {
    Some(match vr {
        "AE" | "CS" | "SH" | "DS" => 16,
        "AS" => 4,
        "DA" => 8,
        "DT" => 26,
        "TM" => 14,
        "IS" => 12,
        "LO" | "PN" | "UI" => 64,
        "ST" => 1024,
        "LT" => 10240,
        _ => return None,
    })
}

/// Is `v` a valid single value for `vr`? Used for policy values and for cleaned text.
pub fn check_dummy(vr: &str, v: &str) -> Result<(), String> {
    if let Some(n) = max_len(vr) {
        if v.chars().count() > n {
            return Err(format!("'{v}' is longer than {n} characters allowed for VR {vr}"));
        }
    }
    let ok = match vr {
        "CS" => v.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b' ' || b == b'_'),
        "AS" => v.len() == 4 && v[..3].bytes().all(|b| b.is_ascii_digit()) && matches!(&v[3..], "D" | "W" | "M" | "Y"),
        "DA" => crate::actions::dates::parse_da(v).is_some(),
        "TM" => crate::actions::dates::parse_tm(v).is_some(),
        "DT" => crate::actions::dates::shift_dt(v, crate::actions::dates::Offset { days: 0, seconds: 0 }).is_ok(),
        "DS" => v.trim().parse::<f64>().is_ok(),
        "IS" => v.trim().parse::<i64>().is_ok(),
        "AE" | "LO" | "LT" | "PN" | "SH" | "ST" | "UT" | "UC" | "UR" => !v.contains('\\') || matches!(vr, "LT" | "ST" | "UT"),
        _ => return Err(format!("no dummy values for VR '{vr}'")),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("'{v}' is not a valid {vr} value"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_are_valid_for_their_vr() {
        for vr in ["AE", "AS", "CS", "DA", "DT", "TM", "DS", "IS", "LO", "LT", "SH", "ST", "UT", "UC", "PN"] {
            check_dummy(vr, builtin(vr).unwrap()).unwrap();
        }
    }

    #[test]
    fn rejects_invalid_values() {
        assert!(check_dummy("CS", "anonymous").is_err());
        assert!(check_dummy("SH", "A VALUE LONGER THAN SIXTEEN").is_err());
        assert!(check_dummy("DA", "00000000").is_err());
        assert!(check_dummy("AS", "30Y").is_err());
        assert!(check_dummy("XX", "x").is_err());
        let mut custom = BTreeMap::new();
        custom.insert("PN".to_string(), "REMOVED".to_string());
        assert_eq!(dummy_for("PN", &custom), Some("REMOVED"));
        assert_eq!(dummy_for("LO", &custom), Some("ANONYMIZED"));
    }
}
