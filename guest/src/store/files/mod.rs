//! The directory backend: one file per session, byte-compatible with
//! Django's file backend, over any [`Dir`] (the WASI preopen, cap-std, or
//! memory).

mod sweep;
mod write;

pub use sweep::{sweep_ranges, SweepBatch, SweepRange, SweepReport};

use crate::dir::{read_to_end, Dir, Metadata, NotAFile, System};
use crate::store::{Age, Core, Format, Storage, Stored, Unread};
use crate::Error;
use std::io::ErrorKind;

/// Sessions as files in one directory.
pub struct Files<D> {
    dir: D,
    /// The rest of the listing after a sweep batch stopped, and the cursor
    /// it stopped at and the upper bound it had: the next batch from that
    /// cursor to that bound continues without listing the directory again (a
    /// listing of 100k entries is 100k host calls).
    sweep_rest: std::sync::Mutex<Option<(String, Option<String>, sweep::Window)>>,
}

/// A session file read whole: its metadata (from before the open) and bytes.
struct Read {
    meta: Metadata,
    content: Vec<u8>,
}

impl<D: Dir> Files<D> {
    /// Sessions in `dir`.
    pub fn new(dir: D) -> Files<D> {
        Files { dir, sweep_rest: Default::default() }
    }

    /// The directory.
    pub fn dir(&self) -> &D {
        &self.dir
    }

    /// Reads the session file `name` whole, refusing anything but a regular
    /// file of at most `limit` bytes.
    fn read_file(&self, name: &str, limit: u64) -> Result<Read, Unread> {
        // Stat before opening: in hosts that open blocking, a FIFO named
        // like a session must not block us. (The sessionbox host also opens
        // non-blocking and refuses non-regular files, which closes the race
        // with an entry swapped between this stat and the open.)
        let meta = match self.dir.metadata(name) {
            Ok(meta) => meta,
            Err(e) if e.kind() == ErrorKind::NotFound => return Err(Unread::Missing),
            Err(e) => return Err(Unread::Io(Error::io("stat", name, e))),
        };
        if !meta.is_file {
            return Err(Unread::NotAFile);
        }
        if meta.len > limit {
            return Err(Unread::TooLarge);
        }
        // On wasm32 a file past usize could never be held in memory anyway.
        let read_limit = usize::try_from(limit).unwrap_or(usize::MAX).saturating_add(1);
        let content = match self.dir.open(name).and_then(|f| read_to_end(&f, meta.len, read_limit)) {
            Ok(content) => content,
            Err(e) if e.kind() == ErrorKind::NotFound => return Err(Unread::Missing),
            // Swapped for something else since the stat.
            Err(e) if NotAFile::is(&e) => return Err(Unread::NotAFile),
            Err(_) if self.dir.metadata(name).is_ok_and(|now| !now.is_file) => return Err(Unread::NotAFile),
            Err(e) => return Err(Unread::Io(Error::io("read", name, e))),
        };
        if content.len() as u64 > limit {
            return Err(Unread::TooLarge);
        }
        Ok(Read { meta, content })
    }
}

impl<D: Dir> Storage for Files<D> {
    const EXPIRES_ENTRIES: bool = false;

    fn format(&self) -> Format {
        Format::Signed
    }

    fn read<S: System>(&self, _core: &Core<S>, name: &str, limit: u64) -> Result<Stored, Unread> {
        let Read { meta, content } = self.read_file(name, limit)?;
        Ok(Stored { content, age: Age::WrittenAt(meta.modified) })
    }

    fn write<S: System>(&self, core: &Core<S>, name: &str, content: &[u8], must_create: bool, _ttl_ms: Option<u64>) -> Result<(), Error> {
        self.write_file(core, name, content, must_create)
    }

    fn exists(&self, name: &str) -> Result<bool, Error> {
        match self.dir.metadata(name) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::io("stat", name, e)),
        }
    }

    fn remove(&self, name: &str) -> Result<bool, Error> {
        match self.dir.remove_file(name) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::io("delete", name, e)),
        }
    }

    fn sweep<S: System>(&self, core: &Core<S>, cursor: Option<&str>, upto: Option<&str>, budget_nanos: Option<u64>) -> Result<SweepBatch, Error> {
        self.sweep_files(core, cursor, upto, budget_nanos)
    }
}
