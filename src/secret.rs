//! The secret that keys every one-way mapping (UIDs, pseudonyms, date offsets).
//! Same secret, same outputs, across files, runs and front ends; without it the
//! mappings cannot be reversed or recomputed.

use crate::error::{Error, ErrorKind, Result};
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

#[derive(Clone)]
pub struct Secret([u8; 32]);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)") // never print key material
    }
}

impl Secret {
    /// Any bytes (a passphrase, a key file) are stretched into a 256-bit key.
    pub fn from_bytes(material: &[u8]) -> Result<Secret> {
        if material.is_empty() {
            return Err(Error::policy("the secret is empty"));
        }
        let mut mac = HmacSha256::new_from_slice(b"dicom-deid secret v1").expect("any key length");
        mac.update(material);
        Ok(Secret(mac.finalize().into_bytes().into()))
    }

    /// A fresh random secret (the OS or browser CSPRNG).
    pub fn random() -> Result<Secret> {
        let mut b = [0u8; 32];
        getrandom::getrandom(&mut b)
            .map_err(|e| Error::new(ErrorKind::Io, format!("no random source for a secret: {e}")))?;
        Ok(Secret(b))
    }

    /// The key as 64 hex digits, for saving with `--secret-file`.
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }

    /// Keyed one-way hash of `data` in a named domain, so that the same input in two
    /// domains (a UID and a patient ID, say) never gives related outputs.
    pub fn mac(&self, domain: &str, data: &[u8]) -> [u8; 32] {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("any key length");
        mac.update(domain.as_bytes());
        mac.update(&[0]);
        mac.update(data);
        mac.finalize().into_bytes().into()
    }
}

/// 32 random bytes as hex: key material a front end can save and pass back later.
pub fn random_material_hex() -> Result<String> {
    Ok(Secret::random()?.to_hex())
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_material_same_key_domains_separate() {
        let a = Secret::from_bytes(b"passphrase").unwrap();
        let b = Secret::from_bytes(b"passphrase").unwrap();
        assert_eq!(a.to_hex(), b.to_hex());
        assert_ne!(a.mac("uid", b"1.2.3"), a.mac("patient", b"1.2.3"));
        assert_ne!(Secret::from_bytes(b"other").unwrap().mac("uid", b"1.2.3"), a.mac("uid", b"1.2.3"));
        assert!(Secret::from_bytes(b"").is_err());
        assert_ne!(Secret::random().unwrap().to_hex(), Secret::random().unwrap().to_hex());
        assert_eq!(format!("{a:?}"), "Secret(..)");
    }
}
