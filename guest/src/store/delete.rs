//! `exists` and `delete`.

use super::SessionStore;
use crate::dir::{Dir, System};
use crate::Error;
use std::io::ErrorKind;

impl<D: Dir, S: System> SessionStore<D, S> {
    /// Whether a file for session `key` exists (expired or not). A key that
    /// can name no session (too short, too long) has none.
    pub fn exists(&self, key: &str) -> Result<bool, Error> {
        let Some(name) = self.session_file(key)? else { return Ok(false) };
        match self.dir.metadata(&name) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::io("stat", &name, e)),
        }
    }

    /// Deletes session `key`; returns whether a file was deleted (a missing
    /// session is not an error).
    pub fn delete(&self, key: &str) -> Result<bool, Error> {
        let Some(name) = self.session_file(key)? else { return Ok(false) };
        match self.dir.remove_file(&name) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::io("delete", &name, e)),
        }
    }
}
