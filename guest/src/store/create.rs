//! `create` and `cycle_key`: sessions under fresh random keys.

use super::SessionStore;
use crate::dir::{Dir, System};
use crate::key::KEY_LEN;
use crate::Error;

/// Attempts before giving up on finding an unused key; with 165 bits of key
/// a single collision is already astronomically unlikely.
const MAX_KEY_ATTEMPTS: usize = 16;

impl<D: Dir, S: System> SessionStore<D, S> {
    /// Creates a session holding `data` under a fresh key and returns the key.
    pub fn create(&self, data: &str) -> Result<String, Error> {
        let encoded = self.encode(data)?;
        for _ in 0..MAX_KEY_ATTEMPTS {
            let key = self.random_key(KEY_LEN);
            match self.write(&self.file_name(&key), encoded.as_bytes(), true) {
                Ok(()) => return Ok(key),
                Err(Error::AlreadyExists) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(Error::Io("no unused session key found; is the random source broken?".to_owned()))
    }

    /// Moves `data` to a new key, then deletes session `key` (the
    /// session-fixation defence). If the old session cannot be deleted, the
    /// new one is removed again and the error returned.
    pub fn cycle_key(&self, key: &str, data: &str) -> Result<String, Error> {
        self.session_file(key)?;
        let new_key = self.create(data)?;
        if let Err(e) = self.delete(key) {
            let _ = self.delete(&new_key);
            return Err(e);
        }
        Ok(new_key)
    }
}
