//! `exists` and `delete`.

use super::SessionStore;
use crate::dir::{Dir, System};
use crate::Error;
use std::io::ErrorKind;

impl<D: Dir, S: System> SessionStore<D, S> {
    /// Whether a file for session `key` exists (expired or not).
    pub fn exists(&self, key: &str) -> Result<bool, Error> {
        let name = self.valid_file_name(key)?;
        match self.dir.metadata(&name) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::io("stat", &name, e)),
        }
    }

    /// Deletes session `key`; a missing session is not an error.
    pub fn delete(&self, key: &str) -> Result<(), Error> {
        let name = self.valid_file_name(key)?;
        match self.dir.remove_file(&name) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io("delete", &name, e)),
        }
    }
}
