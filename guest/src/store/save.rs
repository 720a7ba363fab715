//! `save`: probe, then write a temporary file and rename it over the session
//! file, so a reader sees the old content or the new, never a mix.

use super::{SessionStore, TEMP_MARKER, TEMP_SUFFIX_LEN};
use crate::dir::{Dir, File, System};
use crate::{Durability, Error};
use std::io::ErrorKind;

impl<D: Dir, S: System> SessionStore<D, S> {
    /// Saves `data` (a JSON object) as session `key`. With `must_create` the
    /// session must not exist yet; without it, it must exist.
    pub fn save(&self, key: &str, data: &str, must_create: bool) -> Result<(), Error> {
        let name = self.valid_file_name(key)?;
        let encoded = self.encode(data)?;
        self.write(&name, encoded.as_bytes(), must_create)
    }

    /// Probes for `name` as `must_create` asks, then replaces its content.
    pub(super) fn write(&self, name: &str, content: &[u8], must_create: bool) -> Result<(), Error> {
        if must_create {
            match self.dir.create_new(name) {
                Ok(_placeholder) => {}
                Err(e) if e.kind() == ErrorKind::AlreadyExists => return Err(Error::AlreadyExists),
                Err(e) => return Err(Error::io("create", name, e)),
            }
        } else {
            match self.dir.metadata(name) {
                Ok(meta) if meta.is_file => {}
                Ok(_) => return Err(Error::Io(format!("{name} is not a regular file"))),
                // Deleted elsewhere (logged out): never resurrect it.
                Err(e) if e.kind() == ErrorKind::NotFound => return Err(Error::NotFound),
                Err(e) => return Err(Error::io("stat", name, e)),
            }
        }
        let written = self.replace(name, content);
        if written.is_err() && must_create {
            // Our own empty placeholder: leave no trace of a failed create.
            let _ = self.dir.remove_file(name);
        }
        written
    }

    /// Writes `content` to a fresh temporary file and renames it to `name`.
    fn replace(&self, name: &str, content: &[u8]) -> Result<(), Error> {
        let (temp, file) = self.create_temp(name)?;
        let durability = self.settings.durability;
        let result = file
            .write_all(content)
            .and_then(|()| if durability == Durability::None { Ok(()) } else { file.sync_data() })
            .map_err(|e| Error::io("write", &temp, e));
        drop(file);
        let result = result.and_then(|()| self.dir.rename(&temp, name).map_err(|e| Error::io("rename to", name, e)));
        if result.is_err() {
            let _ = self.dir.remove_file(&temp);
            return result;
        }
        if durability == Durability::Full {
            self.dir.sync().map_err(|e| Error::io("sync directory after writing", name, e))?;
        }
        Ok(())
    }

    fn create_temp(&self, name: &str) -> Result<(String, D::File), Error> {
        let mut last = None;
        for _ in 0..8 {
            let temp = format!("{name}{TEMP_MARKER}{}", self.random_key(TEMP_SUFFIX_LEN));
            match self.dir.create_new(&temp) {
                Ok(file) => return Ok((temp, file)),
                Err(e) if e.kind() == ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(Error::io("create temporary file for", name, e)),
            }
        }
        Err(Error::Io(format!("no free temporary file name for {name}: {last:?}")))
    }
}
