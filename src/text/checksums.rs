//! Check-digit algorithms for national identifiers. Pure functions, no allocation
//! beyond trivial, so they can run on every candidate the regexes produce.

/// Italian codice fiscale: 16 chars, last one is a check letter over the first 15.
pub fn codice_fiscale_valid(cf: &str) -> bool {
    let b = cf.as_bytes();
    if b.len() != 16 || !b.iter().all(|c| c.is_ascii_alphanumeric()) {
        return false;
    }
    // Values for chars in odd (1-based) positions, indexed by 0-9 then A-Z.
    const ODD: [u32; 36] = [
        1, 0, 5, 7, 9, 13, 15, 17, 19, 21, // 0-9
        1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24,
        23, // A-Z
    ];
    let mut sum = 0u32;
    for (i, &c) in b[..15].iter().enumerate() {
        let c = c.to_ascii_uppercase();
        let idx = if c.is_ascii_digit() { (c - b'0') as usize } else { (c - b'A') as usize + 10 };
        let even_val = if c.is_ascii_digit() { (c - b'0') as u32 } else { (c - b'A') as u32 };
        sum += if i % 2 == 0 { ODD[idx] } else { even_val };
    }
    let expected = b'A' + (sum % 26) as u8;
    b[15].to_ascii_uppercase() == expected
}

/// UK NHS number: 10 digits, mod-11 weighted check (weights 10..2).
pub fn nhs_valid(digits: &str) -> bool {
    let d: Vec<u32> = digits.chars().filter_map(|c| c.to_digit(10)).collect();
    if d.len() != 10 || digits.chars().filter(|c| c.is_ascii_digit()).count() != 10 {
        return false;
    }
    let sum: u32 = d[..9].iter().enumerate().map(|(i, v)| v * (10 - i as u32)).sum();
    let check = 11 - (sum % 11);
    let check = if check == 11 { 0 } else { check };
    check != 10 && check == d[9]
}

/// US SSN area/group/serial validity (000, 666 and 9xx areas are never issued).
pub fn ssn_valid(area: &str, group: &str, serial: &str) -> bool {
    area.len() == 3
        && group.len() == 2
        && serial.len() == 4
        && area != "000"
        && area != "666"
        && !area.starts_with('9')
        && group != "00"
        && serial != "0000"
}

const DNI_LETTERS: &[u8; 23] = b"TRWAGMYFPDXBNJZSQVHLCKE";

/// Spanish DNI: 8 digits + letter = table[n mod 23].
pub fn dni_valid(number: &str, letter: char) -> bool {
    if number.len() != 8 || !number.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let n: u64 = number.parse().unwrap_or(0);
    DNI_LETTERS[(n % 23) as usize] as char == letter.to_ascii_uppercase()
}

/// Spanish NIE: X/Y/Z (-> 0/1/2) + 7 digits + DNI letter.
pub fn nie_valid(prefix: char, number: &str, letter: char) -> bool {
    let p = match prefix.to_ascii_uppercase() {
        'X' => '0',
        'Y' => '1',
        'Z' => '2',
        _ => return false,
    };
    if number.len() != 7 {
        return false;
    }
    let mut s = String::with_capacity(8);
    s.push(p);
    s.push_str(number);
    dni_valid(&s, letter)
}

/// French NIR: 13 chars (digits, Corsican 2A/2B in the department) + 2-digit key,
/// key = 97 - (number mod 97). `body` is the 13-char part without spaces.
pub fn nir_valid(body: &str, key: &str) -> bool {
    if body.len() != 13 || key.len() != 2 || !key.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let up = body.to_ascii_uppercase();
    // Corsica: 2A and 2B are replaced by 19 and 18 for the key computation.
    let numeric = if &up[5..7] == "2A" {
        format!("{}19{}", &up[..5], &up[7..])
    } else if &up[5..7] == "2B" {
        format!("{}18{}", &up[..5], &up[7..])
    } else {
        up
    };
    if !numeric.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let n: u64 = match numeric.parse() {
        Ok(n) => n,
        Err(_) => return false,
    };
    let k: u64 = key.parse().unwrap_or(100);
    97 - (n % 97) == k
}

/// German Steuer-ID: 11 digits, ISO 7064 MOD 11,10 check digit.
pub fn steuer_id_valid(digits: &str) -> bool {
    let b = digits.as_bytes();
    if b.len() != 11 || !b.iter().all(|c| c.is_ascii_digit()) || b[0] == b'0' {
        return false;
    }
    let mut product = 10u32;
    for &c in &b[..10] {
        let mut sum = ((c - b'0') as u32 + product) % 10;
        if sum == 0 {
            sum = 10;
        }
        product = (sum * 2) % 11;
    }
    let mut check = 11 - product;
    if check == 10 {
        check = 0;
    }
    check == (b[10] - b'0') as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codice_fiscale() {
        assert!(codice_fiscale_valid("RSSMRA80A01H501U"));
        assert!(codice_fiscale_valid("rssmra80a01h501u"));
        assert!(!codice_fiscale_valid("RSSMRA80A01H501X"));
        assert!(!codice_fiscale_valid("RSSMRA80A01H501"));
        assert!(!codice_fiscale_valid("RSSMRA80A01H501É"));
    }

    #[test]
    fn nhs() {
        assert!(nhs_valid("9434765919"));
        assert!(!nhs_valid("9434765918"));
        assert!(!nhs_valid("123"));
    }

    #[test]
    fn ssn() {
        assert!(ssn_valid("123", "45", "6789"));
        assert!(!ssn_valid("000", "45", "6789"));
        assert!(!ssn_valid("666", "45", "6789"));
        assert!(!ssn_valid("912", "45", "6789"));
        assert!(!ssn_valid("123", "00", "6789"));
    }

    #[test]
    fn dni_nie() {
        assert!(dni_valid("12345678", 'Z'));
        assert!(!dni_valid("12345678", 'A'));
        assert!(nie_valid('X', "1234567", 'L'));
        assert!(!nie_valid('X', "1234567", 'T'));
        assert!(!nie_valid('A', "1234567", 'L'));
    }

    #[test]
    fn nir() {
        // 1 84 12 76 451 089 + key: key computed here to keep the test self-checking.
        let body = "1841276451089";
        let k = 97 - body.parse::<u64>().unwrap() % 97;
        assert!(nir_valid(body, &format!("{:02}", k)));
        assert!(!nir_valid(body, &format!("{:02}", (k + 1) % 97)));
        let corsica = "184122A451089";
        let k = 97 - "1841219451089".parse::<u64>().unwrap() % 97;
        assert!(nir_valid(corsica, &format!("{:02}", k)));
        assert!(!nir_valid("12", "34"));
    }

    #[test]
    fn steuer_id() {
        assert!(steuer_id_valid("86095742719"));
        assert!(!steuer_id_valid("86095742718"));
        assert!(!steuer_id_valid("06095742719"));
    }
}
