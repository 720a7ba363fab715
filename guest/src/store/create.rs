//! `create` and `cycle_key`: sessions under fresh random keys.

use super::{SessionStore, Storage};
use crate::system::System;
use crate::key::KEY_LEN;
use crate::Error;

/// Attempts before giving up on finding an unused key; with 165 bits of key
/// a single collision is already astronomically unlikely.
const MAX_KEY_ATTEMPTS: usize = 16;

impl<B: Storage, S: System> SessionStore<B, S> {
    /// Creates a session holding `data` under a fresh key and returns the key.
    pub fn create(&self, data: &str) -> Result<String, Error> {
        let encoded = self.encode(data)?;
        for _ in 0..MAX_KEY_ATTEMPTS {
            let key = self.core.random_key(KEY_LEN);
            let name = format!("{}{key}", self.name_prefix());
            match self.place(&name, &encoded, true) {
                Ok(()) => return Ok(key),
                Err(Error::AlreadyExists) => continue,
                Err(e) => return Err(e.hiding_key(&key)),
            }
        }
        Err(Error::Io("no unused session key found; is the random source broken?".to_owned()))
    }

    /// Moves `data` to a new key, then deletes session `key` (the
    /// session-fixation defence). If the old session cannot be deleted, the
    /// new one is removed again and the error returned.
    pub fn cycle_key(&self, key: &str, data: &str) -> Result<String, Error> {
        self.session_name(key)?;
        let new_key = self.create(data)?;
        if let Err(e) = self.delete(key) {
            let _ = self.delete(&new_key);
            return Err(e.hiding_key(&new_key));
        }
        Ok(new_key)
    }
}
