//! The one error type of the library: the WIT `error` variant, plus what can
//! go wrong around it (configuration, the wasm runtime).

use std::time::Duration;

/// Everything a sessionbox operation can fail with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The key has a character outside `[a-z0-9]`; or a new session was to
    /// take a key no session may have (shorter than 8 characters, or too
    /// long for its file name to fit in 255 bytes). Elsewhere such a key
    /// names no session, as in Django.
    #[error("{}", sessionbox_guest::INVALID_KEY)]
    InvalidKey,
    /// A session with this key already exists (`save` with `must_create`).
    #[error("a session with this key already exists")]
    AlreadyExists,
    /// No session with this key: it was deleted elsewhere (a logout) and is
    /// not recreated.
    #[error("no session with this key (deleted elsewhere?); it was not recreated")]
    NotFound,
    /// The session is larger than the configured max session size.
    #[error("the session is larger than the max session size")]
    TooLarge,
    /// The session data is not a JSON object.
    #[error("invalid session data: {0}")]
    InvalidData(String),
    /// The settings cannot work.
    #[error("invalid settings: {0}")]
    InvalidSettings(String),
    /// The filesystem refused an operation.
    #[error("I/O error: {0}")]
    Io(String),
    /// The store could not be set up: the session directory's parent is
    /// missing, or the directory is not a directory or cannot be opened.
    #[error("configuration error: {0}")]
    Config(String),
    /// The call ran past its execution deadline and was stopped.
    #[error("the session store call ran past its deadline of {0:?} and was stopped")]
    Deadline(Duration),
    /// The call needed more guest memory than the limit allows
    /// ([`Options::memory_limit`](crate::Options::memory_limit)).
    #[error("the session store call needed more than its memory limit of {0} bytes")]
    MemoryLimit(usize),
    /// The component trapped or could not be instantiated. The instance was
    /// discarded; the next call gets a fresh one.
    #[error("the session store component failed: {0}")]
    Runtime(String),
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
