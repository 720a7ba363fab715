//! `update` and `touch`: write what a request changed onto the session as
//! it is stored now, and extend a session's life without rewriting it.

use super::load::Judgement;
use super::{SessionStore, Storage, Stored, Unread};
use crate::system::System;
use crate::{expiry, json, Error};

/// How often `update` reads again when the session keeps changing under it
/// (each retry means another writer got in first: progress for someone).
const MAX_UPDATE_ATTEMPTS: usize = 64;

/// One change a request made to its session's data; mirrors the WIT
/// `change` variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Sets a top-level key to a JSON value (as text).
    Set(String, String),
    /// Removes a top-level key.
    Remove(String),
    /// Removes every key (the session stays).
    Clear,
}

impl<B: Storage, S: System> SessionStore<B, S> {
    /// Applies `changes` to session `key` as stored now and writes it back
    /// only if it still holds what was read, else reads again: concurrent
    /// requests that change different keys all keep their changes. A
    /// session that is gone (a logout), expired or no longer verified is
    /// `NotFound`, never recreated.
    pub fn update(&self, key: &str, changes: &[Change]) -> Result<(), Error> {
        self.update_named(key, changes).map_err(|e| e.hiding_key(key))
    }

    fn update_named(&self, key: &str, changes: &[Change]) -> Result<(), Error> {
        let Some(name) = self.session_name(key)? else { return Err(Error::NotFound) };
        // Every value is checked before anything is read or written.
        let mut parsed = Vec::with_capacity(changes.len());
        for change in changes {
            if let Change::Set(field, value) = change {
                let value = json::parse(value).map_err(|e| Error::InvalidData(format!("the value of {field:?}: {e}")))?;
                parsed.push(Some(value));
            } else {
                parsed.push(None);
            }
        }
        for _ in 0..MAX_UPDATE_ATTEMPTS {
            let stored = self.read_for_write(&name)?.ok_or(Error::NotFound)?;
            let Judgement::Live(live) = self.judge(&stored, self.core.system.now())? else { return Err(Error::NotFound) };
            let mut data = json::parse_object(&live.json).map_err(|e| Error::InvalidData(e.to_string()))?;
            for (change, value) in changes.iter().zip(&parsed) {
                match (change, value) {
                    (Change::Set(field, _), Some(value)) => {
                        data.insert(field.clone(), value.clone());
                    }
                    (Change::Remove(field), _) => {
                        data.shift_remove(field);
                    }
                    (Change::Clear, _) => data.clear(),
                    (Change::Set(..), None) => {}
                }
            }
            let encoded = self.encode(&json::object_to_string(&data))?;
            if encoded.expired {
                // The changes expired it (as `save` does with such data).
                self.backend.remove(&name)?;
                return Ok(());
            }
            if self.backend.replace(&self.core, &name, &stored, &encoded.content, encoded.ttl_ms)? {
                return Ok(());
            }
        }
        Err(Error::Io(format!("the session changed under each of {MAX_UPDATE_ATTEMPTS} attempts to update it")))
    }

    /// Extends session `key`'s life as a save of its unchanged data would,
    /// without rewriting it: a file's mtime (its expiry counts from it), a
    /// key's TTL. `false` when no live session has the key.
    pub fn touch(&self, key: &str) -> Result<bool, Error> {
        self.touch_named(key).map_err(|e| e.hiding_key(key))
    }

    fn touch_named(&self, key: &str) -> Result<bool, Error> {
        let Some(name) = self.session_name(key)? else { return Ok(false) };
        for _ in 0..MAX_UPDATE_ATTEMPTS {
            let Some(stored) = self.read_for_write(&name)? else { return Ok(false) };
            let now = self.core.system.now();
            let Judgement::Live(live) = self.judge(&stored, now)? else { return Ok(false) };
            // What a save now would give it: counted from now.
            let field = json::object_field(&live.json, expiry::EXPIRY_KEY).map_err(|e| Error::InvalidData(e.to_string()))?;
            let expires = expiry::expires_at(field.as_ref(), now, self.core.settings.cookie_age);
            let ttl_ms = (B::EXPIRES_ENTRIES && expires.secs != i64::MAX).then(|| now.millis_until(expires).max(1));
            if self.backend.retime(&self.core, &name, &stored, now, ttl_ms)? {
                return Ok(true);
            }
        }
        Err(Error::Io(format!("the session changed under each of {MAX_UPDATE_ATTEMPTS} attempts to touch it")))
    }

    /// Reads `name` for a write that compares against it; `None` when there
    /// is no session (or not a regular file) to write over.
    pub(super) fn read_for_write(&self, name: &str) -> Result<Option<Stored<B::Opened>>, Error> {
        match self.backend.read_latest(&self.core, name, self.core.max_stored_len(self.backend.format())) {
            Ok(stored) => Ok(Some(stored)),
            Err(Unread::Missing | Unread::NotAFile) => Ok(None),
            Err(Unread::TooLarge) => Err(Error::TooLarge),
            Err(Unread::Io(e)) => Err(e),
        }
    }
}
