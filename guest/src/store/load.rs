//! `load`: read a session, strictly (docs/SPEC.md §3).

use super::SessionStore;
use crate::codec::DecodeError;
use crate::dir::{read_to_end, Dir, Metadata, NotAFile, System};
use crate::time::Time;
use crate::{expiry, Error};
use std::io::ErrorKind;

/// What `load` found; mirrors the WIT `loaded` variant. The data is JSON
/// object text (`T = String`, as it crosses the WIT boundary) and the expiry
/// a [`Time`] (`W = Time`), or whatever a host turns them into
/// ([`Loaded::map`], [`Loaded::map_time`], [`Loaded::map_found`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Loaded<T = String, W = Time> {
    /// A live session.
    Found {
        /// Its data (`{}` for an empty placeholder file).
        data: T,
        /// The moment it expires (docs/SPEC.md §4): `_session_expiry` read
        /// against the file's mtime, else the mtime plus `cookie_age`
        /// (saturating), which is also what an empty placeholder file gets.
        /// A session that never expires (`Infinity`) has `secs = i64::MAX`.
        expires_at: W,
    },
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

impl<T, W> Loaded<T, W> {
    /// The same outcome with the found data and expiry converted together by
    /// `f`.
    pub fn map_found<U, X, E>(self, f: impl FnOnce(T, W) -> Result<(U, X), E>) -> Result<Loaded<U, X>, E> {
        Ok(match self {
            Loaded::Found { data, expires_at } => {
                let (data, expires_at) = f(data, expires_at)?;
                Loaded::Found { data, expires_at }
            }
            Loaded::Missing => Loaded::Missing,
            Loaded::Expired => Loaded::Expired,
            Loaded::BadSignature => Loaded::BadSignature,
            Loaded::Corrupt => Loaded::Corrupt,
        })
    }

    /// The same outcome with the found data converted by `f`.
    pub fn map<U, E>(self, f: impl FnOnce(T) -> Result<U, E>) -> Result<Loaded<U, W>, E> {
        self.map_found(|data, expires_at| Ok((f(data)?, expires_at)))
    }

    /// The same outcome with the found expiry converted by `f`.
    pub fn map_time<X>(self, f: impl FnOnce(W) -> X) -> Loaded<T, X> {
        match self.map_found(|data, expires_at| Ok::<_, std::convert::Infallible>((data, f(expires_at)))) {
            Ok(loaded) => loaded,
            Err(never) => match never {},
        }
    }

    /// The found session's data; `None` for every other outcome.
    pub fn data(&self) -> Option<&T> {
        match self {
            Loaded::Found { data, .. } => Some(data),
            _ => None,
        }
    }

    /// The found session's data, owned; `None` for every other outcome.
    pub fn into_data(self) -> Option<T> {
        match self {
            Loaded::Found { data, .. } => Some(data),
            _ => None,
        }
    }

    /// When the found session expires; `None` for every other outcome.
    pub fn expires_at(&self) -> Option<&W> {
        match self {
            Loaded::Found { expires_at, .. } => Some(expires_at),
            _ => None,
        }
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
            // A placeholder between create's probe and its rename: empty
            // data, so the default expiry.
            let expires_at = expiry::expires_at(None, meta.modified, self.settings.cookie_age);
            return Ok(Loaded::Found { data: "{}".to_owned(), expires_at });
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
        Ok(Loaded::Found { data: decoded.json, expires_at: expires })
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
