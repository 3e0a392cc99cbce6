//! The value transformations behind each action: UID remapping, date shifting, dummy
//! values, pseudonyms. Pure functions over strings, tested here; the engine applies them.

pub mod dates;
pub mod dummy;
pub mod pseudonym;
pub mod uid;
