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

/// `text` with every run of more than four leading characters of `key`
/// replaced by [`redacted_key`].
fn hide_key(text: &str, key: &str) -> String {
    const SHOWN: usize = 4;
    if key.len() <= SHOWN || !key.is_ascii() {
        return text.to_owned();
    }
    let start = &key[..=SHOWN];
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(start) {
        out.push_str(&rest[..at]);
        let run = rest[at..].bytes().zip(key.bytes()).take_while(|(a, b)| a == b).count();
        out.push_str(&redacted_key(key));
        rest = &rest[at + run..];
    }
    out.push_str(rest);
    out
}

impl Error {
    /// The same error with session `key` in its text shown only as
    /// [`redacted_key`] (file names, temporary names and the host's own
    /// messages carry the key). A temporary name may hold the key cut short
    /// (a long key, where the whole name would pass 255 bytes): any run of
    /// more than four of its first characters goes too.
    pub fn hiding_key(self, key: &str) -> Error {
        match self {
            Error::Io(why) => Error::Io(hide_key(&why, key)),
            other => other,
        }
    }

    /// An I/O error, saying what was being done.
    pub(crate) fn io(doing: &str, name: &str, err: std::io::Error) -> Error {
        Error::Io(format!("{doing} {name}: {err}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_whole_or_cut_short_shows_four_characters() {
        let key = "abcdefghij0123456789abcdefghij01";
        let hidden = |text: &str| Error::Io(text.to_owned()).hiding_key(key).to_string();
        assert_eq!(hidden(&format!("write sessionid{key}: full")), "I/O error: write sessionidabcd…: full");
        assert_eq!(hidden(&format!("write sessionid{}_out_x1: full", &key[..20])), "I/O error: write sessionidabcd…_out_x1: full");
        assert_eq!(hidden(&format!("{key} and {key}")), "I/O error: abcd… and abcd…");
        assert_eq!(hidden("abcd stays, abcdx stays"), "I/O error: abcd stays, abcdx stays");
        assert_eq!(Error::NotFound.hiding_key(key), Error::NotFound);
    }
}
