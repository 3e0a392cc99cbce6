//! Date and time shifting by one per-patient offset (days + seconds), so that intervals
//! between events survive and no original date or time string does. A date paired with a
//! time (StudyDate + StudyTime) is shifted as one instant; precision and any UTC offset
//! suffix of the original value are kept. Unparseable values are errors: the engine then
//! empties them (fail closed) instead of passing them through.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offset {
    pub days: i64,
    /// 0..86400; 0 when the policy does not shift times.
    pub seconds: i64,
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

fn num(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// "YYYYMMDD" (or the retired "YYYY.MM.DD") as days since the epoch.
pub fn parse_da(s: &str) -> Option<i64> {
    let s = s.trim();
    if !s.is_ascii() {
        return None; // (and the byte slicing below stays on character boundaries)
    }
    let compact: String = if s.len() == 10 && &s[4..5] == "." && &s[7..8] == "." {
        format!("{}{}{}", &s[..4], &s[5..7], &s[8..])
    } else {
        s.to_string()
    };
    if compact.len() != 8 {
        return None;
    }
    let (y, m, d) = (num(&compact[..4])?, num(&compact[4..6])? as u32, num(&compact[6..])? as u32);
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

pub fn format_da(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{:04}{:02}{:02}", y.clamp(0, 9999), m, d)
}

/// A parsed TM: seconds of day, how many of HH, MM, SS were present, and the fraction text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tm {
    pub secs: i64,
    pub parts: u8,
    pub frac: String,
}

pub fn parse_tm(s: &str) -> Option<Tm> {
    let s = s.trim();
    if !s.is_ascii() {
        return None;
    }
    let s: String = s.chars().filter(|c| *c != ':').collect(); // retired HH:MM:SS form
    let (main, frac) = match s.split_once('.') {
        Some((a, b)) if !b.is_empty() && b.len() <= 6 && b.bytes().all(|c| c.is_ascii_digit()) => (a.to_string(), b.to_string()),
        Some(_) => return None,
        None => (s.clone(), String::new()),
    };
    if !matches!(main.len(), 2 | 4 | 6) {
        return None;
    }
    let h = num(&main[..2])?;
    let mi = if main.len() >= 4 { num(&main[2..4])? } else { 0 };
    let sec = if main.len() == 6 { num(&main[4..6])? } else { 0 };
    if h > 23 || mi > 59 || sec > 60 || (!frac.is_empty() && main.len() != 6) {
        return None;
    }
    Some(Tm { secs: h * 3600 + mi * 60 + sec.min(59), parts: (main.len() / 2) as u8, frac })
}

pub fn format_tm(secs: i64, parts: u8, frac: &str) -> String {
    let secs = secs.rem_euclid(86400);
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let mut out = match parts {
        1 => format!("{h:02}"),
        2 => format!("{h:02}{m:02}"),
        _ => format!("{h:02}{m:02}{s:02}"),
    };
    if parts == 3 && !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    out
}

pub fn shift_da(s: &str, off: Offset) -> Result<String, String> {
    let d = parse_da(s).ok_or("not a DICOM date (YYYYMMDD)")?;
    Ok(format_da(d + off.days))
}

/// A time without its date: shifted by the seconds, wrapping at midnight.
pub fn shift_tm(s: &str, off: Offset) -> Result<String, String> {
    let t = parse_tm(s).ok_or("not a DICOM time (HHMMSS.FFFFFF)")?;
    Ok(format_tm(t.secs + off.seconds, t.parts, &t.frac))
}

/// A date and its paired time shifted as one instant (the date may roll over).
pub fn shift_pair(da: &str, tm: &str, off: Offset) -> Result<(String, String), String> {
    let d = parse_da(da).ok_or("not a DICOM date (YYYYMMDD)")?;
    let t = parse_tm(tm).ok_or("not a DICOM time (HHMMSS.FFFFFF)")?;
    let total = t.secs + off.seconds;
    let new_d = d + off.days + total.div_euclid(86400);
    Ok((format_da(new_d), format_tm(total, t.parts, &t.frac)))
}

/// The date part of a DA shifted as it would be with its paired time.
pub fn shift_da_with_time(da: &str, tm: &str, off: Offset) -> Result<String, String> {
    match parse_tm(tm) {
        Some(_) => shift_pair(da, tm, off).map(|(d, _)| d),
        None => shift_da(da, off),
    }
}

/// DT "YYYY[MM[DD[HH[MM[SS[.F]]]]]][&ZZXX]": shifted with the precision it has.
pub fn shift_dt(s: &str, off: Offset) -> Result<String, String> {
    let s = s.trim();
    let bad = || "not a DICOM date-time (YYYYMMDDHHMMSS.FFFFFF&ZZXX)".to_string();
    if !s.is_ascii() {
        return Err(bad());
    }
    let (body, zone) = match s.find(['+', '-']) {
        Some(i) if i >= 4 => (&s[..i], &s[i..]),
        _ => (s, ""),
    };
    if !zone.is_empty() && (zone.len() != 5 || num(&zone[1..]).is_none()) {
        return Err(bad());
    }
    let (main, frac) = match body.split_once('.') {
        Some((a, f)) => (a, f),
        None => (body, ""),
    };
    if !matches!(main.len(), 4 | 6 | 8 | 10 | 12 | 14) || num(main).is_none() {
        return Err(bad());
    }
    let y = num(&main[..4]).ok_or_else(bad)?;
    let m = if main.len() >= 6 { num(&main[4..6]).ok_or_else(bad)? as u32 } else { 1 };
    let d = if main.len() >= 8 { num(&main[6..8]).ok_or_else(bad)? as u32 } else { 1 };
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return Err(bad());
    }
    let day0 = days_from_civil(y, m, d);
    if main.len() <= 8 {
        let (ny, nm, nd) = civil_from_days(day0 + off.days);
        let full = format!("{:04}{:02}{:02}", ny.clamp(0, 9999), nm, nd);
        return Ok(format!("{}{}", &full[..main.len()], zone));
    }
    let tm = parse_tm(&format!("{}{}{}", &main[8..], if frac.is_empty() { "" } else { "." }, frac)).ok_or_else(bad)?;
    let total = tm.secs + off.seconds;
    let nd = format_da(day0 + off.days + total.div_euclid(86400));
    Ok(format!("{}{}{}", nd, format_tm(total, tm.parts, &tm.frac), zone))
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFF: Offset = Offset { days: -400, seconds: 3 * 3600 + 25 };

    /// Found by the `deidentify` fuzz target: a multi-byte character where a date's digits
    /// should be made the byte slicing panic ("not a char boundary").
    #[test]
    fn non_ascii_values_are_not_dates_and_do_not_panic() {
        for v in ["2024\u{c6}0101", "2024.\u{c6}.011", "\u{c6}\u{c6}\u{c6}\u{c6}", "20\u{c6}40101"] {
            assert_eq!(parse_da(v), None, "{v}");
            assert!(shift_da(v, OFF).is_err(), "{v}");
        }
        for v in ["1\u{c6}3", "12\u{c6}", "1234\u{c6}", "123456.\u{c6}1"] {
            assert!(parse_tm(v).is_none(), "{v}");
        }
        for v in ["2024\u{c6}0101", "20240101\u{c6}", "2024+\u{c6}\u{c6}"] {
            assert!(shift_dt(v, OFF).is_err(), "{v}");
        }
    }

    #[test]
    fn civil_round_trip() {
        for z in [-800_000, -1, 0, 1, 11_016, 19_797, 2_932_896] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(format_da(days_from_civil(2024, 2, 29)), "20240229");
    }

    #[test]
    fn dates_shift_and_validate() {
        assert_eq!(shift_da("20240315", Offset { days: -15, seconds: 0 }).unwrap(), "20240229");
        assert_eq!(shift_da("2024.03.15", Offset { days: 1, seconds: 0 }).unwrap(), "20240316");
        assert!(shift_da("20240230", OFF).is_err());
        assert!(shift_da("2024031", OFF).is_err());
        assert!(shift_da("unknown", OFF).is_err());
    }

    #[test]
    fn times_keep_precision_and_wrap() {
        assert_eq!(shift_tm("143025", OFF).unwrap(), "173050");
        assert_eq!(shift_tm("1430", OFF).unwrap(), "1730");
        assert_eq!(shift_tm("143025.250000", OFF).unwrap(), "173050.250000");
        assert_eq!(shift_tm("14:30:25", OFF).unwrap(), "173050");
        assert_eq!(shift_tm("223000", OFF).unwrap(), "013025");
        assert!(shift_tm("250000", OFF).is_err());
        assert!(shift_tm("12a", OFF).is_err());
    }

    #[test]
    fn paired_date_rolls_over_with_time() {
        let (d, t) = shift_pair("20240315", "223000", OFF).unwrap();
        assert_eq!(t, "013025");
        assert_eq!(d, format_da(days_from_civil(2024, 3, 15) - 400 + 1));
        assert_eq!(shift_da_with_time("20240315", "223000", OFF).unwrap(), d);
    }

    #[test]
    fn intervals_survive() {
        let a = shift_pair("20240315", "080000", OFF).unwrap();
        let b = shift_pair("20240316", "093000", OFF).unwrap();
        let inst = |(d, t): &(String, String)| parse_da(d).unwrap() * 86400 + parse_tm(t).unwrap().secs;
        assert_eq!(inst(&b) - inst(&a), 86400 + 5400);
    }

    #[test]
    fn datetimes_keep_precision_and_zone() {
        assert_eq!(shift_dt("20240315143025.123+0100", OFF).unwrap(), format!("{}173050.123+0100", format_da(days_from_civil(2024, 3, 15) - 400)));
        assert_eq!(shift_dt("2024", Offset { days: -400, seconds: 0 }).unwrap(), "2022");
        assert_eq!(shift_dt("202403", Offset { days: 31, seconds: 0 }).unwrap(), "202404");
        assert_eq!(shift_dt("20240315", Offset { days: 1, seconds: 0 }).unwrap(), "20240316");
        assert!(shift_dt("2024-03-15", OFF).is_err());
        assert!(shift_dt("20241345", OFF).is_err());
    }
}
