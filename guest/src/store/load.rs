//! `load` and `exists`: read a session, strictly (docs/SPEC.md §3), from any
//! backend, or only ask whether it is stored.

use super::{Age, Format, SessionStore, Storage, Stored, Unread};
use crate::codec::{DecodeError, Decoded, Signed};
use crate::system::System;
use crate::pickle::{self, PickleError};
use crate::time::Time;
use crate::{expiry, json, Error};

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

impl<B: Storage, S: System> SessionStore<B, S> {
    /// Whether session `key` is stored (expired or not). A key that can
    /// name no session (too short, too long) has none.
    pub fn exists(&self, key: &str) -> Result<bool, Error> {
        let Some(name) = self.session_name(key)? else { return Ok(false) };
        self.backend.exists(&name).map_err(|e| e.hiding_key(key))
    }

    /// Reads session `key`. Never creates an entry; deletes an expired one.
    pub fn load(&self, key: &str) -> Result<Loaded, Error> {
        self.load_named(key).map_err(|e| e.hiding_key(key))
    }

    fn load_named(&self, key: &str) -> Result<Loaded, Error> {
        let Ok(Some(name)) = self.session_name(key) else {
            return Ok(Loaded::Missing);
        };
        let core = &self.core;
        let stored = match self.backend.read(core, &name, core.max_stored_len(self.backend.format())) {
            Ok(stored) => stored,
            Err(Unread::Missing) => return Ok(Loaded::Missing),
            Err(Unread::NotAFile) => return Ok(Loaded::Corrupt),
            Err(Unread::TooLarge) => return Err(Error::TooLarge),
            Err(Unread::Io(e)) => return Err(e),
        };
        Ok(match self.judge(&stored, core.system.now())? {
            Judgement::Live(live) => Loaded::Found { data: live.json, expires_at: live.expires_at },
            Judgement::Expired => {
                // Expired whatever the storage says to the delete (Django
                // ignores that error too); an entry that stays goes in a
                // sweep. Only what was read is deleted: a save may have
                // renamed a fresh file over it since.
                let _ = self.backend.remove_read(core, &name, &stored.opened);
                Loaded::Expired
            }
            Judgement::BadSignature => Loaded::BadSignature,
            Judgement::Corrupt => Loaded::Corrupt,
        })
    }

    /// Decodes and judges what was read of a session at `now`, strictly
    /// (docs/SPEC.md §3); deletes nothing.
    pub(super) fn judge<O>(&self, stored: &Stored<O>, now: Time) -> Result<Judgement, Error> {
        let core = &self.core;
        let Stored { content, format, age, .. } = stored;
        let (format, age) = (*format, *age);
        if content.is_empty() && matches!(age, Age::WrittenAt(_)) {
            // A placeholder file between create's probe and its rename:
            // empty data, so the default expiry.
            let expires_at = expires_at(None, age, now, core.settings.cookie_age);
            let written_at = match age {
                Age::WrittenAt(mtime) => Some(mtime),
                Age::ExpiresIn(_) => None,
            };
            return Ok(Judgement::Live(Live { json: "{}".to_owned(), expires_at, written_at, signer: None }));
        }
        let max = core.settings.max_session_size as usize;
        let (decoded, signer) = match format {
            Format::Signed | Format::DjangoDb | Format::DjangoCachedDb => match core.codec.decode_session_signed(content, max) {
                Ok((decoded, signer)) => (decoded, Some(signer)),
                Err(DecodeError::BadSignature) => return Ok(Judgement::BadSignature),
                Err(DecodeError::NotAscii | DecodeError::Corrupt) => return Ok(Judgement::Corrupt),
                Err(DecodeError::TooLarge) => return Err(Error::TooLarge),
            },
            Format::DjangoPickle => match pickle::to_json_object(content, max) {
                Ok(json) => match json::object_field(&json, expiry::EXPIRY_KEY) {
                    Ok(expiry) => (Decoded { json, expiry }, None),
                    Err(_) => return Ok(Judgement::Corrupt),
                },
                Err(PickleError::TooLarge) => return Err(Error::TooLarge),
                Err(PickleError::Unreadable(_)) => return Ok(Judgement::Corrupt),
            },
        };
        let expires = expires_at(decoded.expiry.as_ref(), age, now, core.settings.cookie_age);
        // An entry with a TTL is live for as long as the store holds it, as
        // in Django's cache backend: the store drops it when the TTL ends.
        let judged_here = !matches!(age, Age::ExpiresIn(Some(_)));
        if judged_here && expiry::is_expired(expires, now) {
            return Ok(Judgement::Expired);
        }
        let written_at = match age {
            Age::WrittenAt(mtime) => Some(mtime),
            // The signing time: when a signed value was last written.
            Age::ExpiresIn(_) if signer.is_some() => Signed::split(content).and_then(|s| s.timestamp()).ok().map(|secs| Time::new(secs, 0)),
            Age::ExpiresIn(_) => None,
        };
        Ok(Judgement::Live(Live { json: decoded.json, expires_at: expires, written_at, signer }))
    }
}

/// What [`SessionStore::judge`] made of a stored session.
pub(super) enum Judgement {
    /// A live session.
    Live(Live),
    /// Expired (judged here: a file, or an entry without a TTL).
    Expired,
    /// Signed by no known secret.
    BadSignature,
    /// Unreadable.
    Corrupt,
}

/// A live session as judged.
pub(super) struct Live {
    /// Its data, JSON object text.
    pub json: String,
    /// When it expires.
    pub expires_at: Time,
    /// When it was last written, where the store tells: a file's mtime, a
    /// signed value's signing time.
    pub written_at: Option<Time>,
    /// Which secret verified it (0: the current one); `None` when it is not
    /// signed (a pickle, an empty placeholder).
    pub signer: Option<usize>,
}

/// When a session stored at `age` expires: counted from a file's last
/// write; for an entry the store expires itself, the moment its TTL ends
/// (the TTL was set from the session's own expiry when it was saved), and
/// without a TTL as if written now.
fn expires_at(expiry: Option<&serde_json::Value>, age: Age, now: Time, cookie_age: u64) -> Time {
    match age {
        Age::WrittenAt(mtime) => expiry::expires_at(expiry, mtime, cookie_age),
        Age::ExpiresIn(Some(ms)) => now.plus_millis(ms),
        Age::ExpiresIn(None) => expiry::expires_at(expiry, now, cookie_age),
    }
}
