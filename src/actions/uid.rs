//! UID remapping: HMAC-SHA256 of the original UID under the secret, rendered as a
//! 2.25 UID (PS3.5 B.2). Deterministic, so every reference to a UID in every file maps
//! to the same new UID; one-way, so the original cannot be recovered without the secret.

use crate::secret::Secret;

/// UIDs under the DICOM root name things defined by the standard (SOP classes, transfer
/// syntaxes, coding schemes, well-known frames of reference): never patient-specific.
pub fn is_standard_uid(uid: &str) -> bool {
    uid.starts_with("1.2.840.10008.")
}

/// Elements whose UIDs name a class or a syntax, not an instance: their values are kept.
pub fn is_class_uid_keyword(keyword: &str) -> bool {
    keyword.ends_with("ClassUID")
        || keyword.ends_with("SOPClassUIDInFile")
        || keyword.contains("TransferSyntaxUID")
        || matches!(
            keyword,
            "CodingSchemeUID"
                | "ContextGroupExtensionCreatorUID"
                | "MappingResourceUID"
                | "PrivateInformationCreatorUID"
                | "ImplementationClassUID"
                | "ApplicationContextName"
        )
}

pub fn remap_uid(secret: &Secret, uid: &str) -> String {
    let mac = secret.mac("uid", uid.trim_end_matches(['\0', ' ']).as_bytes());
    let mut n = [0u8; 16];
    n.copy_from_slice(&mac[..16]);
    format!("2.25.{}", u128::from_be_bytes(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remap_is_deterministic_valid_and_keyed() {
        let s = Secret::from_bytes(b"k").unwrap();
        let a = remap_uid(&s, "1.2.826.0.1.3680043.8.498.1");
        assert_eq!(a, remap_uid(&s, "1.2.826.0.1.3680043.8.498.1"));
        assert_eq!(a, remap_uid(&s, "1.2.826.0.1.3680043.8.498.1\0"), "padding does not matter");
        assert_ne!(a, remap_uid(&s, "1.2.826.0.1.3680043.8.498.2"));
        assert_ne!(a, remap_uid(&Secret::from_bytes(b"j").unwrap(), "1.2.826.0.1.3680043.8.498.1"));
        assert!(a.len() <= 64 && a.starts_with("2.25."));
        let digits = &a[5..];
        assert!(digits.chars().all(|c| c.is_ascii_digit()));
        assert!(!digits.starts_with('0') || digits == "0");
    }

    #[test]
    fn standard_and_class_uids() {
        assert!(is_standard_uid("1.2.840.10008.5.1.4.1.1.2"));
        assert!(!is_standard_uid("1.2.840.113619.2.55"));
        assert!(is_class_uid_keyword("SOPClassUID"));
        assert!(is_class_uid_keyword("ReferencedSOPClassUID"));
        assert!(is_class_uid_keyword("TransferSyntaxUID"));
        assert!(!is_class_uid_keyword("SOPInstanceUID"));
    }
}
