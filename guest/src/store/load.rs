//! `load`: read a session, strictly (SPEC §3).

use super::SessionStore;
use crate::codec::DecodeError;
use crate::dir::{read_to_end, Dir, System};
use crate::{expiry, Error};
use std::io::ErrorKind;

/// What `load` found; mirrors the WIT `loaded` variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Loaded {
    /// A live session's data as JSON object text (`{}` for a placeholder).
    Found(String),
    /// No session with this key, or the key is invalid.
    Missing,
    /// The session had expired; its file was deleted.
    Expired,
    /// The signature matched no secret (tampered, or an unknown secret).
    BadSignature,
    /// The content could not be decoded (or is not a regular file).
    Corrupt,
}

impl<D: Dir, S: System> SessionStore<D, S> {
    /// Reads session `key`. Never creates a file; deletes an expired one.
    pub fn load(&self, key: &str) -> Result<Loaded, Error> {
        let Ok(name) = self.valid_file_name(key) else {
            return Ok(Loaded::Missing);
        };
        // Stat before opening: a FIFO named like a session must not block us.
        let meta = match self.dir.metadata(&name) {
            Ok(meta) => meta,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Loaded::Missing),
            Err(e) => return Err(Error::io("stat", &name, e)),
        };
        if !meta.is_file {
            return Ok(Loaded::Corrupt);
        }
        if meta.len > self.max_file_len() as u64 {
            return Err(Error::TooLarge);
        }
        let content = match self.dir.open(&name).and_then(|f| read_to_end(&f, meta.len, self.max_file_len() + 1)) {
            Ok(content) => content,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Loaded::Missing),
            Err(e) => return Err(Error::io("read", &name, e)),
        };
        if content.len() > self.max_file_len() {
            return Err(Error::TooLarge);
        }
        if content.is_empty() {
            // A placeholder between create's probe and its rename.
            return Ok(Loaded::Found("{}".to_owned()));
        }
        let decoded = match self.codec.decode_session(&content, self.settings.max_session_size as usize) {
            Ok(decoded) => decoded,
            Err(DecodeError::BadSignature) => return Ok(Loaded::BadSignature),
            Err(DecodeError::Corrupt) => return Ok(Loaded::Corrupt),
            Err(DecodeError::TooLarge) => return Err(Error::TooLarge),
        };
        let expires = expiry::expires_at(decoded.expiry.as_ref(), meta.modified, self.settings.cookie_age);
        if expiry::is_expired(expires, self.system.now()) {
            match self.dir.remove_file(&name) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io("delete expired", &name, e)),
            }
            return Ok(Loaded::Expired);
        }
        Ok(Loaded::Found(decoded.json))
    }
}
