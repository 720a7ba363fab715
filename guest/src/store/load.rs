//! `load`: read a session, strictly (docs/SPEC.md §3).

use super::SessionStore;
use crate::codec::DecodeError;
use crate::dir::{read_to_end, Dir, Metadata, NotAFile, System};
use crate::{expiry, Error};
use std::io::ErrorKind;

/// What `load` found; mirrors the WIT `loaded` variant. The data is JSON
/// object text (`T = String`, as it crosses the WIT boundary), or whatever a
/// host turns it into ([`Loaded::map`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Loaded<T = String> {
    /// A live session's data (`{}` for an empty placeholder file).
    Found(T),
    /// No session with this key (or a key that can name none: shorter than
    /// 8 characters, too long for a file name, or with a character outside
    /// `[a-z0-9]`).
    Missing,
    /// The session had expired; its file was deleted (or, where the
    /// filesystem refused, left for a sweep).
    Expired,
    /// The signature matched no secret (tampered, or an unknown secret).
    BadSignature,
    /// The content could not be decoded (or is not a regular file).
    Corrupt,
}

impl<T> Loaded<T> {
    /// The same outcome with the found data converted by `f`.
    pub fn map<U, E>(self, f: impl FnOnce(T) -> Result<U, E>) -> Result<Loaded<U>, E> {
        Ok(match self {
            Loaded::Found(data) => Loaded::Found(f(data)?),
            Loaded::Missing => Loaded::Missing,
            Loaded::Expired => Loaded::Expired,
            Loaded::BadSignature => Loaded::BadSignature,
            Loaded::Corrupt => Loaded::Corrupt,
        })
    }
}

/// A session file read whole: its metadata (from before the open) and bytes.
pub(super) struct Read {
    pub meta: Metadata,
    pub content: Vec<u8>,
}

/// Why a session file could not be read.
pub(super) enum Unread {
    /// There is no such file (any more).
    Missing,
    /// Not a regular file (a FIFO, device, directory or symlink).
    NotAFile,
    /// Larger than any session can be.
    TooLarge,
    /// The filesystem failed.
    Io(Error),
}

impl<D: Dir, S: System> SessionStore<D, S> {
    /// Reads session `key`. Never creates a file; deletes an expired one.
    pub fn load(&self, key: &str) -> Result<Loaded, Error> {
        let Ok(Some(name)) = self.session_file(key) else {
            return Ok(Loaded::Missing);
        };
        let Read { meta, content } = match self.read_file(&name) {
            Ok(read) => read,
            Err(Unread::Missing) => return Ok(Loaded::Missing),
            Err(Unread::NotAFile) => return Ok(Loaded::Corrupt),
            Err(Unread::TooLarge) => return Err(Error::TooLarge),
            Err(Unread::Io(e)) => return Err(e),
        };
        if content.is_empty() {
            // A placeholder between create's probe and its rename.
            return Ok(Loaded::Found("{}".to_owned()));
        }
        let decoded = match self.codec.decode_session(&content, self.settings.max_session_size as usize) {
            Ok(decoded) => decoded,
            Err(DecodeError::BadSignature) => return Ok(Loaded::BadSignature),
            Err(DecodeError::NotAscii | DecodeError::Corrupt) => return Ok(Loaded::Corrupt),
            Err(DecodeError::TooLarge) => return Err(Error::TooLarge),
        };
        let expires = expiry::expires_at(decoded.expiry.as_ref(), meta.modified, self.settings.cookie_age);
        if expiry::is_expired(expires, self.system.now()) {
            // Expired whatever the filesystem says to the delete (Django
            // ignores that error too); a file that stays goes in a sweep.
            let _ = self.dir.remove_file(&name);
            return Ok(Loaded::Expired);
        }
        Ok(Loaded::Found(decoded.json))
    }

    /// Reads the session file `name` whole, refusing anything but a regular
    /// file no larger than a session of the maximum size can be.
    pub(super) fn read_file(&self, name: &str) -> Result<Read, Unread> {
        // Stat before opening: in hosts that open blocking, a FIFO named
        // like a session must not block us. (The sessionbox host also opens
        // non-blocking and refuses non-regular files, which closes the race
        // with an entry swapped between this stat and the open.)
        let meta = match self.dir.metadata(name) {
            Ok(meta) => meta,
            Err(e) if e.kind() == ErrorKind::NotFound => return Err(Unread::Missing),
            Err(e) => return Err(Unread::Io(Error::io("stat", name, e))),
        };
        if !meta.is_file {
            return Err(Unread::NotAFile);
        }
        if meta.len > self.max_file_len() {
            return Err(Unread::TooLarge);
        }
        let content = match self.dir.open(name).and_then(|f| read_to_end(&f, meta.len, self.read_limit().saturating_add(1))) {
            Ok(content) => content,
            Err(e) if e.kind() == ErrorKind::NotFound => return Err(Unread::Missing),
            // Swapped for something else since the stat.
            Err(e) if NotAFile::is(&e) => return Err(Unread::NotAFile),
            Err(_) if self.dir.metadata(name).is_ok_and(|now| !now.is_file) => return Err(Unread::NotAFile),
            Err(e) => return Err(Unread::Io(Error::io("read", name, e))),
        };
        if content.len() as u64 > self.max_file_len() {
            return Err(Unread::TooLarge);
        }
        Ok(Read { meta, content })
    }
}
