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
        // Every value is checked, and put in Python's compact form, before
        // anything is read or written. Values stay text throughout: no
        // tree is built, so nesting of any depth works (as in `save`).
        let mut values = Vec::with_capacity(changes.len());
        for change in changes {
            values.push(match change {
                Change::Set(field, value) => {
                    let wrapped = json::canonical_object(&format!("{{\"v\":{value}}}"))
                        .map_err(|e| Error::InvalidData(format!("the value of {field:?}: {e}")))?;
                    // `{"v":` and `}` around the compact value.
                    Some(wrapped[5..wrapped.len() - 1].to_owned())
                }
                _ => None,
            });
        }
        for _ in 0..MAX_UPDATE_ATTEMPTS {
            let stored = self.read_for_write(&name)?.ok_or(Error::NotFound)?;
            let Judgement::Live(live) = self.judge(&stored, self.core.system.now())? else { return Err(Error::NotFound) };
            let members = json::object_members_of_valid(&live.json, usize::MAX).map_err(|e| Error::InvalidData(e.to_string()))?;
            // A Python dict's rules: a key set again keeps its place.
            let mut data: indexmap::IndexMap<String, &str> = indexmap::IndexMap::with_capacity(members.members.len() + changes.len());
            for member in &members.members {
                let raw = live.json.get(member.value.clone()).ok_or_else(|| Error::InvalidData("a stored value lies outside its text".into()))?;
                data.insert(member.key.clone(), raw);
            }
            for (change, value) in changes.iter().zip(&values) {
                match (change, value) {
                    (Change::Set(field, _), Some(value)) => {
                        data.insert(field.clone(), value);
                    }
                    (Change::Remove(field), _) => {
                        data.shift_remove(field);
                    }
                    (Change::Clear, _) => data.clear(),
                    (Change::Set(..), None) => {}
                }
            }
            let mut text = String::with_capacity(live.json.len() + 64);
            text.push('{');
            for (i, (k, v)) in data.iter().enumerate() {
                if i > 0 {
                    text.push(',');
                }
                json::write_string(&mut text, k);
                text.push(':');
                text.push_str(v);
            }
            text.push('}');
            let encoded = self.encode(&text)?;
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
