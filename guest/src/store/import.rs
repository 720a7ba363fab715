//! `import` and `resign`: write a session moved from another store with its
//! expiry kept, and re-sign one that only a fallback secret verifies.

use super::load::Judgement;
use super::{Format, SessionStore, Storage};
use crate::codec::Signed;
use crate::system::System;
use crate::time::Time;
use crate::{expiry, json, pickle, Error};

/// How often `import` and `resign` read again when the session keeps
/// changing under them.
const MAX_ATTEMPTS: usize = 64;

/// Slack when comparing write times: a signed value keeps its signing time
/// in whole seconds.
const SAME_WRITE_SLACK_SECS: i64 = 1;

/// What [`SessionStore::import`] did; mirrors the WIT `imported` enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Imported {
    /// Created: no session had the key.
    Created,
    /// Replaced an older session with the key.
    Replaced,
    /// A session written as late or later had the key: kept.
    KeptNewer,
}

/// What [`SessionStore::resign`] did; mirrors the WIT `resigned` enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resigned {
    /// Now signed with the current secret.
    Resigned,
    /// Already signed with the current secret, or not signed: unchanged.
    Current,
    /// No live session had the key: nothing written.
    Gone,
}

impl<B: Storage, S: System> SessionStore<B, S> {
    /// Stores `data` as session `key` so that it expires at `expires_at`,
    /// as moved from another store: created when no session has the key,
    /// replacing one only if that one was written before `written_at` (or,
    /// for `None`, the moment it must have been written to expire then).
    /// A file is given that moment as its mtime and a signed value as its
    /// signing time, so importing the same session again writes nothing.
    /// Data already expired is `InvalidData`.
    pub fn import(&self, key: &str, data: &str, expires_at: Time, written_at: Option<Time>) -> Result<Imported, Error> {
        self.import_named(key, data, expires_at, written_at).map_err(|e| e.hiding_key(key))
    }

    fn import_named(&self, key: &str, data: &str, expires_at: Time, written_at: Option<Time>) -> Result<Imported, Error> {
        let core = &self.core;
        let Some(name) = self.session_name(key)? else { return Err(Error::InvalidKey) };
        let json = json::canonical_object(data).map_err(|e| Error::InvalidData(e.to_string()))?;
        if json.len() as u64 > u64::from(core.settings.max_session_size) {
            return Err(Error::TooLarge);
        }
        let now = core.system.now();
        if expiry::is_expired(expires_at, now) {
            return Err(Error::InvalidData("the session has expired".to_owned()));
        }
        let field = json::object_field(&json, expiry::EXPIRY_KEY).map_err(|e| Error::InvalidData(e.to_string()))?;
        // The write time that makes this store expire it at `expires_at`:
        // its expiry counts from there (unless the data fixes the moment).
        let from = Time::new(0, 0);
        let relative = expiry::expires_at(field.as_ref(), from, core.settings.cookie_age);
        let fixed = relative == expiry::expires_at(field.as_ref(), from.plus_secs(1000), core.settings.cookie_age);
        let stamp = if fixed { now } else { expires_at.plus_secs(relative.secs.saturating_neg()) }.min(now).max(Time::new(0, 0));
        let source_written = written_at.unwrap_or(stamp);
        let content = match self.backend.format() {
            Format::Signed | Format::DjangoDb | Format::DjangoCachedDb => core.codec.encode(&json, stamp.secs).into_bytes(),
            Format::DjangoPickle => pickle::from_json_object(&json).map_err(|e| Error::InvalidData(e.to_string()))?,
        };
        let ttl_ms = (B::EXPIRES_ENTRIES && expires_at.secs != i64::MAX).then(|| now.millis_until(expires_at).max(1));
        for _ in 0..MAX_ATTEMPTS {
            let outcome = match self.read_for_write(&name)? {
                None => match self.backend.write(core, &name, &content, true, ttl_ms) {
                    Ok(()) => Imported::Created,
                    Err(Error::AlreadyExists) => continue,
                    Err(e) => return Err(e),
                },
                Some(there) => {
                    if let Judgement::Live(live) = self.judge(&there, now)? {
                        let newer = match live.written_at {
                            Some(at) => at.plus_secs(SAME_WRITE_SLACK_SECS) >= source_written,
                            None => live.expires_at.plus_secs(SAME_WRITE_SLACK_SECS) >= expires_at,
                        };
                        if newer {
                            return Ok(Imported::KeptNewer);
                        }
                    }
                    if !self.backend.replace(core, &name, &there, &content, ttl_ms)? {
                        continue;
                    }
                    Imported::Replaced
                }
            };
            self.restamp(&name, &content, stamp)?;
            return Ok(outcome);
        }
        Err(Error::Io(format!("the session changed under each of {MAX_ATTEMPTS} attempts to import it")))
    }

    /// Gives the file `name` just written with `content` the write time
    /// `stamp` (a no-op where entries carry a TTL instead), unless a save
    /// replaced it since: then the save's own time stands.
    fn restamp(&self, name: &str, content: &[u8], stamp: Time) -> Result<(), Error> {
        if B::EXPIRES_ENTRIES {
            return Ok(());
        }
        match self.read_for_write(name)? {
            Some(written) if written.content == content => self.backend.retime(&self.core, name, &written, stamp, None).map(drop),
            _ => Ok(()),
        }
    }

    /// Re-signs session `key` with the current secret when only a fallback
    /// verifies it, keeping its payload, signing time and expiry; written
    /// only if it still holds what was read, so a session deleted or saved
    /// meanwhile is never brought back or undone.
    pub fn resign(&self, key: &str) -> Result<Resigned, Error> {
        self.resign_named(key).map_err(|e| e.hiding_key(key))
    }

    fn resign_named(&self, key: &str) -> Result<Resigned, Error> {
        let Some(name) = self.session_name(key)? else { return Ok(Resigned::Gone) };
        for _ in 0..MAX_ATTEMPTS {
            let Some(stored) = self.read_for_write(&name)? else { return Ok(Resigned::Gone) };
            let Judgement::Live(live) = self.judge(&stored, self.core.system.now())? else { return Ok(Resigned::Gone) };
            if live.signer.is_none_or(|signer| signer == 0) {
                return Ok(Resigned::Current);
            }
            let signed = Signed::split(&stored.content).map_err(|_| Error::Io("a verified session no longer splits".to_owned()))?;
            let content = self.core.codec.resign(&signed);
            let ttl_ms = match stored.age {
                super::Age::ExpiresIn(ttl) => ttl,
                super::Age::WrittenAt(_) => None,
            };
            if !self.backend.replace(&self.core, &name, &stored, content.as_bytes(), ttl_ms)? {
                continue;
            }
            if let Some(written_at) = live.written_at {
                self.restamp(&name, content.as_bytes(), written_at)?;
            }
            return Ok(Resigned::Resigned);
        }
        Err(Error::Io(format!("the session changed under each of {MAX_ATTEMPTS} attempts to re-sign it")))
    }
}
