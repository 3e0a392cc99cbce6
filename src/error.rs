//! One error type for the whole crate: what went wrong, in words a user can act on.
//! Front ends add the file name (the core only sees bytes).

use serde::Serialize;
use std::fmt;

/// What kind of failure this is; stable, so front ends can group and count them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The input is not a DICOM file (no DICM magic and no parsable data set).
    NotDicom,
    /// The input claims to be DICOM but could not be parsed.
    Parse,
    /// The file uses something this build cannot process safely (a transfer syntax, a value).
    Unsupported,
    /// The policy JSON is invalid or contradictory.
    Policy,
    /// The de-identified data set could not be encoded.
    Write,
    /// The independent verification pass found PHI or an element that should be gone.
    Verification,
    /// The pixels could not be cleaned (undecodable encoding, limits, no model): withheld.
    Pixels,
    /// Reading or writing a file failed.
    Io,
    /// The input asks for more than the policy's limits allow (limits.*): refused unread.
    Limit,
}

#[derive(Debug, Clone)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error { kind, message: message.into() }
    }
    pub fn policy(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Policy, message)
    }
    pub fn parse(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Parse, message)
    }
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unsupported, message)
    }
    pub fn write(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Write, message)
    }
    pub fn verification(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Verification, message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;
