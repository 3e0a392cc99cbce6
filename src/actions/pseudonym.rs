//! Patient pseudonyms from templates: `{hash}` (10 hex digits) or `{hash:N}` (N digits),
//! keyed by the secret and the original patient key, so the same patient always gets
//! the same pseudonym and different patients (almost surely) different ones.

use crate::secret::{hex, Secret};

pub fn check_template(t: &str) -> Result<(), String> {
    render(t, &[0u8; 32]).map(|_| ())
}

/// The pseudonym for a patient key under `template`.
pub fn pseudonym(secret: &Secret, template: &str, patient_key: &str) -> Result<String, String> {
    render(template, &secret.mac("patient", patient_key.as_bytes()))
}

fn render(template: &str, mac: &[u8; 32]) -> Result<String, String> {
    let digits = hex(mac).to_uppercase();
    let mut out = String::new();
    let mut rest = template;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let end = rest[i..].find('}').ok_or_else(|| format!("unclosed '{{' in template '{template}'"))? + i;
        let field = &rest[i + 1..end];
        let n = match field.split_once(':') {
            None if field == "hash" => 10,
            Some(("hash", n)) => n.parse::<usize>().ok().filter(|n| (4..=32).contains(n)).ok_or_else(|| {
                format!("'{{{field}}}' in template '{template}': the length must be 4 to 32")
            })?,
            _ => return Err(format!("unknown field '{{{field}}}' in template '{template}' (use {{hash}} or {{hash:N}})")),
        };
        out.push_str(&digits[..n]);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    if out.chars().count() > 64 {
        return Err(format!("template '{template}' gives values longer than 64 characters"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_stable_keyed_pseudonyms() {
        let s = Secret::from_bytes(b"k").unwrap();
        let a = pseudonym(&s, "ANON^{hash:8}", "12345678").unwrap();
        assert_eq!(a, pseudonym(&s, "ANON^{hash:8}", "12345678").unwrap());
        assert_ne!(a, pseudonym(&s, "ANON^{hash:8}", "12345679").unwrap());
        assert!(a.starts_with("ANON^") && a.len() == 13);
        assert_eq!(pseudonym(&s, "ID-{hash}", "x").unwrap().len(), 13);
        assert_eq!(pseudonym(&s, "ANONYMOUS", "x").unwrap(), "ANONYMOUS");
    }

    #[test]
    fn rejects_bad_templates() {
        assert!(check_template("{name}").is_err());
        assert!(check_template("{hash:2}").is_err());
        assert!(check_template("{hash").is_err());
        assert!(check_template("P-{hash:32}{hash:32}{hash:32}").is_err());
    }
}
