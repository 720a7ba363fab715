//! `save`: validate and encode the data, then hand it to the backend, which
//! places it atomically (see [`Storage::write`]).

use super::{Format, SessionStore, Storage};
use crate::system::System;
use crate::{expiry, json, pickle, Error};

impl<B: Storage, S: System> SessionStore<B, S> {
    /// Saves `data` (a JSON object) as session `key`. With `must_create` the
    /// session must not exist yet; without it, it must exist. A key that can
    /// name no session (too short or too long) exists as none: `NotFound`,
    /// and with `must_create` `InvalidKey`, as no session may take it.
    pub fn save(&self, key: &str, data: &str, must_create: bool) -> Result<(), Error> {
        let name = match self.session_name(key)? {
            Some(name) => name,
            None if must_create => return Err(Error::InvalidKey),
            None => return Err(Error::NotFound),
        };
        let encoded = self.encode(data)?;
        self.place(&name, &encoded, must_create).map_err(|e| e.hiding_key(key))
    }

    /// Writes `encoded` as `name` (see [`save`](Self::save)). A session
    /// already expired is not written to a store that expires entries: as
    /// Django's Redis cache deletes a key given a timeout of 0 (and its
    /// `add` drops what it just added), an update deletes the entry, and a
    /// create claims the key only (`AlreadyExists` if it is taken). Written
    /// with the shortest TTL instead, it would load, data and all, until
    /// the store dropped it.
    pub(super) fn place(&self, name: &str, encoded: &Encoded, must_create: bool) -> Result<(), Error> {
        if !encoded.expired {
            return self.backend.write(&self.core, name, &encoded.content, must_create, encoded.ttl_ms);
        }
        match must_create {
            true if self.backend.exists(name)? => Err(Error::AlreadyExists),
            true => Ok(()),
            false if self.backend.remove(name)? => Ok(()),
            false => Err(Error::NotFound),
        }
    }

    /// Validates `data` as a JSON object within the size limit and encodes
    /// it in the backend's format (signed now with the current secret), with
    /// its time to live where the backend expires entries.
    pub(super) fn encode(&self, data: &str) -> Result<Encoded, Error> {
        let core = &self.core;
        let json = json::canonical_object(data).map_err(|e| Error::InvalidData(e.to_string()))?;
        if json.len() as u64 > u64::from(core.settings.max_session_size) {
            return Err(Error::TooLarge);
        }
        let now = core.system.now();
        let (ttl_ms, expired) = if B::EXPIRES_ENTRIES {
            // What Django's cache backend gives the cache: the expiry age
            // counted from now; none left (under a whole second, as Django
            // counts it), and the entry is not written (see `place`).
            let field = json::object_field(&json, expiry::EXPIRY_KEY).map_err(|e| Error::InvalidData(e.to_string()))?;
            let expires = expiry::expires_at(field.as_ref(), now, core.settings.cookie_age);
            ((expires.secs != i64::MAX).then(|| now.millis_until(expires).max(1)), expiry::is_expired(expires, now))
        } else {
            (None, false)
        };
        let content = match self.backend.format() {
            Format::Signed | Format::DjangoDb | Format::DjangoCachedDb => core.codec.encode(&json, now.secs).into_bytes(),
            Format::DjangoPickle => pickle::from_json_object(&json).map_err(|e| Error::InvalidData(e.to_string()))?,
        };
        Ok(Encoded { content, ttl_ms, expired })
    }
}

/// A session ready for the backend.
pub(super) struct Encoded {
    /// The stored bytes.
    pub content: Vec<u8>,
    /// Its time to live, for backends that expire entries.
    pub ttl_ms: Option<u64>,
    /// Whether it has expired already, for backends that expire entries.
    pub expired: bool,
}
