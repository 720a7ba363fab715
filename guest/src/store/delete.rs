//! `delete`: remove a session, whatever state it is in.

use super::{SessionStore, Storage};
use crate::system::System;
use crate::Error;

impl<B: Storage, S: System> SessionStore<B, S> {
    /// Deletes session `key`; returns whether there was one to delete (a
    /// missing session is not an error).
    pub fn delete(&self, key: &str) -> Result<bool, Error> {
        let Some(name) = self.session_name(key)? else { return Ok(false) };
        self.backend.remove(&name).map_err(|e| e.hiding_key(key))
    }
}
