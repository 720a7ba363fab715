//! Session data as the library hands it out: [`Data`], how deep it may
//! nest, and [`Loaded`], what a load found.

use crate::error::{Error, Result};
use std::time::SystemTime;

/// Session data: a JSON object, keys in insertion order.
pub type Data = serde_json::Map<String, serde_json::Value>;

/// Deepest nesting [`Store::load`](crate::Store::load) turns into [`Data`] (the object itself is
/// level 1); a [`Session`](crate::Session) refuses a deeper session at its
/// first access, with the same error. The store keeps sessions of any depth, and
/// [`Store::load_json`](crate::Store::load_json) reads them; but `serde_json`'s own `Clone` recurses
/// with large frames, and in a debug build cloning `Data` some 975 levels
/// deep overflows a 2 MiB thread stack (tokio's and the test harness's
/// default). Half that leaves room for the caller's own frames. Django on
/// Python 3.11 writes up to 986 levels: such a session reads as
/// [`Error::InvalidData`] here, never as no session.
pub const MAX_DATA_DEPTH: usize = 512;

/// What [`Store::load`](crate::Store::load) found: the guest's own `Loaded`, holding the session
/// as [`Data`] (or, from [`Store::load_json`](crate::Store::load_json), as JSON text) and the moment
/// it expires as a [`SystemTime`], clamped to [`UNIX_EPOCH`](std::time::UNIX_EPOCH) ..=
/// [`latest_expiry`](crate::latest_expiry) (9999-12-31T23:59:59Z, Python's `datetime.max` to the
/// second), which is what a session that never expires reports.
pub type Loaded<T = Data> = sessionbox_guest::Loaded<T, SystemTime>;

/// Parses JSON object text as session data, accepting what Python's `json`
/// writes (`NaN`, `Infinity`, integers of any size) up to
/// [`MAX_DATA_DEPTH`] levels deep. A lone surrogate in a string becomes
/// U+FFFD (Rust strings cannot hold one; the `*_json` methods of
/// [`Store`](crate::Store) keep it).
pub fn parse_data(text: &str) -> Result<Data> {
    sessionbox_guest::json::parse_object_within(text, MAX_DATA_DEPTH).map_err(|e| Error::InvalidData(e.to_string()))
}

/// Data as JSON text; iterative, so data of any depth converts.
pub(crate) fn to_json(data: &Data) -> String {
    sessionbox_guest::json::object_to_string(data)
}

/// Why stored session `key` cannot be read as [`Data`] (nested deeper than
/// [`MAX_DATA_DEPTH`]): one message for [`Store::load`](crate::Store::load)
/// and [`Session`](crate::Session).
pub(crate) fn unreadable_as_data(key: &str, e: sessionbox_guest::json::ParseError) -> Error {
    Error::InvalidData(format!("session {} cannot be read as Data ({e}); read it with Store::load_json", sessionbox_guest::redacted_key(key)))
}
