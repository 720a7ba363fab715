//! Writing a session file: a temporary file first, then the session's name
//! in one step: a rename over the existing session (update), or a hard link
//! that fails when the name is taken (create). A reader sees the old content
//! or the new, never a mix, and a crash never leaves an empty or partial
//! session.

use super::Files;
use crate::dir::{Dir, File};
use crate::system::System;
use crate::store::{Core, MAX_NAME_LEN, TEMP_MARKER, TEMP_SUFFIX_LEN};
use crate::{Durability, Error};
use std::io::ErrorKind;

impl<D: Dir> Files<D> {
    /// Writes `content` as `name`: a new session with `must_create`, else an
    /// existing one. The content goes to a temporary file first (fsynced as
    /// the durability asks) and only then takes the session's name.
    pub(super) fn write_file<S: System>(&self, core: &Core<S>, name: &str, content: &[u8], must_create: bool) -> Result<(), Error> {
        if !must_create {
            self.probe_existing(name)?;
        }
        let temp = self.write_temp(core, name, content)?;
        let placed = if must_create {
            self.place_new(&temp, name)
        } else {
            // Again, right before the rename: a delete (a logout) during the
            // write and fsync would otherwise be undone by it. Over WASI
            // only the moment between this probe and the rename stays open:
            // neither WASI nor POSIX rename can replace a file only if it
            // still exists.
            // The sessionbox host closes that moment too: its rename
            // replaces only an existing file, and fails with `NotFound`
            // when the session is gone.
            self.probe_existing(name).and_then(|()| {
                self.dir.rename(&temp, name).map_err(|e| if e.kind() == ErrorKind::NotFound { Error::NotFound } else { Error::io("rename to", name, e) })
            })
        };
        if placed.is_err() {
            let _ = self.dir.remove_file(&temp);
            return placed;
        }
        if core.settings.durability == Durability::Full {
            self.dir.sync().map_err(|e| Error::io("sync directory after writing", name, e))?;
        }
        Ok(())
    }

    /// An update needs the session to exist: one deleted elsewhere (logged
    /// out) is never resurrected.
    fn probe_existing(&self, name: &str) -> Result<(), Error> {
        match self.dir.symlink_metadata(name) {
            Ok(meta) if meta.is_file => Ok(()),
            Ok(_) => Err(Error::Io(format!("{name} is not a regular file"))),
            Err(e) if e.kind() == ErrorKind::NotFound => Err(Error::NotFound),
            Err(e) => Err(Error::io("stat", name, e)),
        }
    }

    /// Gives the written `temp` file the name `name` only if no file has it.
    /// A hard link does that atomically, so a crash never leaves an empty
    /// placeholder. Where the filesystem has no hard links, Django's way:
    /// an exclusive empty placeholder, then a rename over it.
    pub(super) fn place_new(&self, temp: &str, name: &str) -> Result<(), Error> {
        match self.dir.hard_link(temp, name) {
            Ok(()) => {
                // A leftover (if this fails) is swept after an hour.
                let _ = self.dir.remove_file(temp);
                return Ok(());
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => return Err(Error::AlreadyExists),
            Err(_) => {}
        }
        match self.dir.create_new(name) {
            Ok(_placeholder) => {}
            Err(e) if e.kind() == ErrorKind::AlreadyExists => return Err(Error::AlreadyExists),
            Err(e) => return Err(Error::io("create", name, e)),
        }
        self.dir.rename(temp, name).map_err(|e| {
            // Our own empty placeholder: leave no trace of a failed create.
            let _ = self.dir.remove_file(name);
            Error::io("rename to", name, e)
        })
    }

    /// Writes `content` to a fresh temporary file beside `name`.
    pub(super) fn write_temp<S: System>(&self, core: &Core<S>, name: &str, content: &[u8]) -> Result<String, Error> {
        let (temp, file) = self.create_temp(core, name)?;
        let written = file
            .write_all(content)
            .and_then(|()| if core.settings.durability == Durability::None { Ok(()) } else { file.sync_data() })
            .map_err(|e| Error::io("write", &temp, e));
        drop(file);
        if let Err(e) = written {
            let _ = self.dir.remove_file(&temp);
            return Err(e);
        }
        Ok(temp)
    }

    /// A new temporary file, named after `name` (cut short where the whole
    /// would pass the file-name limit: the random part keeps it unique, the
    /// marker keeps it recognisable to the sweep).
    fn create_temp<S: System>(&self, core: &Core<S>, name: &str) -> Result<(String, D::File), Error> {
        // Only the key part is ever cut, and keys are ASCII: the prefix is at
        // most 200 bytes, well inside the room.
        let stem = &name[..name.len().min(MAX_NAME_LEN - TEMP_MARKER.len() - TEMP_SUFFIX_LEN)];
        let mut last = None;
        for _ in 0..8 {
            let temp = format!("{stem}{TEMP_MARKER}{}", core.random_key(TEMP_SUFFIX_LEN));
            match self.dir.create_new(&temp) {
                Ok(file) => return Ok((temp, file)),
                Err(e) if e.kind() == ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(Error::io("create temporary file for", name, e)),
            }
        }
        Err(Error::Io(format!("no free temporary file name for {name}: {last:?}")))
    }
}
