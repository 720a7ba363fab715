//! The error of every store operation; mirrors the WIT `error` variant.

use std::fmt;

/// Why a store operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The key has a character outside `[a-z0-9]`; or a new session was to
    /// take a key no session may have (shorter than 8 characters, or too
    /// long for its file name to fit in 255 bytes).
    InvalidKey,
    /// `save` with `must_create`: the session already exists.
    AlreadyExists,
    /// `save` without `must_create`: the session does not exist (deleted
    /// elsewhere); it is not recreated.
    NotFound,
    /// The session is larger than the configured maximum.
    TooLarge,
    /// The session data is not a JSON object.
    InvalidData(String),
    /// The settings cannot work (for example a file prefix with a `/`).
    InvalidSettings(String),
    /// The filesystem refused an operation.
    Io(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidKey => f.write_str(INVALID_KEY),
            Error::AlreadyExists => f.write_str("a session with this key already exists"),
            Error::NotFound => f.write_str("no session with this key (deleted elsewhere?); it was not recreated"),
            Error::TooLarge => f.write_str("session data is larger than the configured max session size"),
            Error::InvalidData(why) => write!(f, "invalid session data: {why}"),
            Error::InvalidSettings(why) => write!(f, "invalid settings: {why}"),
            Error::Io(why) => write!(f, "I/O error: {why}"),
        }
    }
}

impl std::error::Error for Error {}

/// What [`Error::InvalidKey`] says, here and in the host.
pub const INVALID_KEY: &str =
    "invalid session key: keys use only the characters a-z and 0-9, and a session's key has 8 or more (its file name at most 255 bytes)";

/// How error text shows a session key: its first four characters, then
/// `…`. A key is the user's credential, and error text ends up in logs.
pub fn redacted_key(key: &str) -> String {
    let shown: String = key.chars().take(4).collect();
    format!("{shown}…")
}

impl Error {
    /// The same error with session `key` in its text shown only as
    /// [`redacted_key`] (file names, temporary names and the host's own
    /// messages carry the key).
    pub fn hiding_key(self, key: &str) -> Error {
        match self {
            Error::Io(why) if !key.is_empty() && why.contains(key) => Error::Io(why.replace(key, &redacted_key(key))),
            other => other,
        }
    }

    /// An I/O error, saying what was being done.
    pub(crate) fn io(doing: &str, name: &str, err: std::io::Error) -> Error {
        Error::Io(format!("{doing} {name}: {err}"))
    }
}
