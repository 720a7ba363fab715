//! The directory backend: one file per session, byte-compatible with
//! Django's file backend, over any [`Dir`] (the WASI preopen, cap-std, or
//! memory).

mod sweep;
mod write;


use crate::dir::{read_to_end, Dir, File, Metadata, NotAFile};
use crate::system::System;
use crate::store::{Age, Core, Format, Storage, Stored, SweepBatch, Unread, MAX_NAME_LEN, TEMP_MARKER};
use crate::time::Time;
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

/// A session file read whole: its metadata (from the stat before the open),
/// its bytes, and the open file, which a delete checks the name against.
struct Read<F> {
    meta: Metadata,
    content: Vec<u8>,
    file: F,
}

/// A file that was read, kept open until a decision to delete it is checked
/// against what its name holds by then.
pub struct Opened<F> {
    /// The metadata its content was judged with (the stat before the open).
    meta: Metadata,
    file: F,
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
    fn read_file(&self, name: &str, limit: u64) -> Result<Read<D::File>, Unread> {
        // Stat before opening: in hosts that open blocking, a FIFO named
        // like a session must not block us. (The sessionbox host also opens
        // non-blocking and refuses non-regular files, which closes the race
        // with an entry swapped between this stat and the open.)
        let meta = match self.dir.symlink_metadata(name) {
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
        let read = self.dir.open(name).and_then(|file| read_to_end(&file, meta.len, read_limit).map(|content| (file, content)));
        let (file, content) = match read {
            Ok(read) => read,
            Err(e) if e.kind() == ErrorKind::NotFound => return Err(Unread::Missing),
            // Swapped for something else since the stat.
            Err(e) if NotAFile::is(&e) => return Err(Unread::NotAFile),
            Err(_) if self.dir.symlink_metadata(name).is_ok_and(|now| !now.is_file) => return Err(Unread::NotAFile),
            Err(e) => return Err(Unread::Io(Error::io("read", name, e))),
        };
        if content.len() as u64 > limit {
            return Err(Unread::TooLarge);
        }
        Ok(Read { meta, content, file })
    }

    /// Where [`remove_unchanged`](Self::remove_unchanged) holds session
    /// `name` for a moment: a temporary name (swept as one an hour on), the
    /// same every time, so that a delete finds it there
    /// ([`remove`](Storage::remove)).
    fn aside_name(name: &str) -> String {
        // Keys are ASCII; only the key part is ever cut.
        let stem = &name[..name.len().min(MAX_NAME_LEN - TEMP_MARKER.len() - ASIDE.len())];
        format!("{stem}{TEMP_MARKER}{ASIDE}")
    }

    /// Deletes `name` only while it still holds the file that was opened,
    /// unchanged since the stat its content was judged with; `Ok(false)`
    /// when it holds something else (a save renamed a newer file over it)
    /// or nothing.
    ///
    /// POSIX has no unlink-if-same-file, and a save may rename a fresh file
    /// over the name right after any check. So the file is first taken off
    /// its name in one step (renamed to its aside name), and only then
    /// compared: the judged file is deleted; a save's newer file is given
    /// its name back at once (a hard link, which fails if the name was
    /// taken meanwhile). For those microseconds a load sees no session and
    /// a save of it fails with `NotFound`; a delete (a logout) looks under
    /// the aside name too, and what it deletes there stays deleted. Should
    /// the process die in between, that newer session is lost (never
    /// brought back after a logout).
    /// Whether `name` still holds the file that was opened, unchanged since
    /// the stat its content was judged with: `Some` with the file's
    /// identity, `None` when it holds something else or nothing.
    fn still_holds(&self, name: &str, opened: &Opened<D::File>, doing: &str) -> Result<Option<u128>, Error> {
        self.holds(name, opened, doing, true)
    }

    /// [`still_holds`](Self::still_holds), with `same_mtime` false for a
    /// write that replaces the content: only a rename changes a session's
    /// content (a new file), so the identity decides, and a touch (a new
    /// mtime, same content) meanwhile does not make the write start over.
    fn holds(&self, name: &str, opened: &Opened<D::File>, doing: &str, same_mtime: bool) -> Result<Option<u128>, Error> {
        let io = |e: std::io::Error| Error::io(doing, name, e);
        // The open file's own metadata: a rename between the stat and the
        // open paired an old mtime with newer content.
        let now = opened.file.metadata().map_err(io)?;
        if (same_mtime && now.modified != opened.meta.modified) || now.len != opened.meta.len {
            return Ok(None);
        }
        // The file is held open, so its inode cannot be reused meanwhile:
        // equal identities mean the name holds this very file.
        let judged = opened.file.identity().map_err(io)?;
        match self.dir.identity(name) {
            Ok(id) if id == judged => Ok(Some(judged)),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(e)),
        }
    }

    /// Writes `content` as `name` only while it holds the file `opened`
    /// unchanged: a temporary file, then the check, then the rename. POSIX
    /// has no rename-if-unchanged, so the check and the rename run under
    /// the session's lock file (an exclusive create of its lock name, gone
    /// right after): two such writes never interleave there. A lock older
    /// than [`STALE_LOCK_SECS`] (its writer died) is broken. A plain save
    /// (not one of these) takes no lock and can still land in between.
    fn replace_unchanged<S: System>(&self, core: &Core<S>, name: &str, opened: &Opened<D::File>, content: &[u8]) -> Result<bool, Error> {
        // Checked first too: a write that has already lost costs no file.
        if self.holds(name, opened, "replace", false)?.is_none() {
            return Ok(false);
        }
        let temp = self.write_temp(core, name, content)?;
        let locked = self.lock(core, name);
        let placed = match self.holds(name, opened, "replace", false) {
            Ok(Some(_)) => match self.dir.rename(&temp, name) {
                Ok(()) => Ok(true),
                // The sessionbox host renames only over an existing file.
                Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
                Err(e) => Err(Error::io("rename to", name, e)),
            },
            other => other.map(|_| false),
        };
        if let Some(lock) = locked {
            let _ = self.dir.remove_file(&lock);
        }
        if placed != Ok(true) {
            let _ = self.dir.remove_file(&temp);
            return placed;
        }
        if core.settings.durability == crate::Durability::Full {
            self.dir.sync().map_err(|e| Error::io("sync directory after writing", name, e))?;
        }
        Ok(true)
    }

    fn remove_unchanged(&self, name: &str, opened: &Opened<D::File>) -> Result<bool, Error> {
        let io = |e: std::io::Error| Error::io("delete", name, e);
        let Some(judged) = self.still_holds(name, opened, "delete")? else { return Ok(false) };
        // No file is created for this: a sweep must still delete when the
        // filesystem has no inode or quota left.
        let aside = Self::aside_name(name);
        match self.dir.take(name, &aside) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(io(e)),
        }
        if self.dir.identity(&aside).is_ok_and(|id| id == judged) {
            // Gone already means a delete took it: deleted either way.
            let _ = self.dir.remove_file(&aside);
            return Ok(true);
        }
        // A save's file, renamed over the judged one after the check.
        match self.dir.hard_link(&aside, name) {
            Ok(()) => {
                let _ = self.dir.remove_file(&aside);
                return Ok(false);
            }
            // Created anew meanwhile: what was taken is older than that.
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                let _ = self.dir.remove_file(&aside);
                return Ok(false);
            }
            // A delete (a logout) took it from the aside name: it stays deleted.
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(false),
            Err(_) => {}
        }
        // No hard links here: Django's way, a placeholder and a rename.
        match self.place_new(&aside, name) {
            Ok(()) => Ok(false),
            Err(Error::AlreadyExists) => {
                let _ = self.dir.remove_file(&aside);
                Ok(false)
            }
            Err(e) => {
                // Still aside, and the name free: a plain rename back.
                if self.dir.symlink_metadata(name).is_err_and(|e| e.kind() == ErrorKind::NotFound) && self.dir.take(&aside, name).is_ok() {
                    return Ok(false);
                }
                Err(e)
            }
        }
    }
}

/// What ends a session's aside name (after the temporary-file marker).
const ASIDE: &str = "aside";

/// What ends a session's lock name (after the temporary-file marker).
const LOCK: &str = "lock";

/// A lock file older than this was left by a writer that died: broken.
const STALE_LOCK_SECS: i64 = 2;

/// How long a write waits for a session's lock, in all.
const LOCK_WAIT_NANOS: u64 = 500_000_000;

impl<D: Dir> Files<D> {
    /// Takes session `name`'s lock (an exclusive create of its lock name),
    /// waiting for another holder up to [`LOCK_WAIT_NANOS`]; the lock's
    /// name, to delete when done, or `None` when it could not be had (a
    /// full filesystem, a holder that does not let go): the write then goes
    /// on unlocked, as before locks.
    fn lock<S: System>(&self, core: &Core<S>, name: &str) -> Option<String> {
        let stem = &name[..name.len().min(MAX_NAME_LEN - TEMP_MARKER.len() - LOCK.len())];
        let lock = format!("{stem}{TEMP_MARKER}{LOCK}");
        let started = core.system.monotonic_nanos();
        let mut pause = 20_000;
        loop {
            match self.dir.create_new(&lock) {
                Ok(_) => return Some(lock),
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                    let stale = self.dir.symlink_metadata(&lock).is_ok_and(|m| m.modified.whole_secs_until(core.system.now()) >= STALE_LOCK_SECS);
                    if stale {
                        let _ = self.dir.remove_file(&lock);
                        continue;
                    }
                }
                Err(_) => return None,
            }
            if core.system.monotonic_nanos().saturating_sub(started) > LOCK_WAIT_NANOS {
                return None;
            }
            core.system.sleep(pause);
            pause = (pause * 2).min(2_000_000);
        }
    }
}

impl<D: Dir> Storage for Files<D> {
    const EXPIRES_ENTRIES: bool = false;
    type Opened = Opened<D::File>;

    fn format(&self) -> Format {
        Format::Signed
    }

    fn read<S: System>(&self, _core: &Core<S>, name: &str, limit: u64) -> Result<Stored<Self::Opened>, Unread> {
        let Read { meta, content, file } = self.read_file(name, limit)?;
        Ok(Stored { content, format: Format::Signed, age: Age::WrittenAt(meta.modified), opened: Opened { meta, file } })
    }

    fn write<S: System>(&self, core: &Core<S>, name: &str, content: &[u8], must_create: bool, _ttl_ms: Option<u64>) -> Result<(), Error> {
        self.write_file(core, name, content, must_create)
    }

    fn exists(&self, name: &str) -> Result<bool, Error> {
        match self.dir.symlink_metadata(name) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::io("stat", name, e)),
        }
    }

    fn remove(&self, name: &str) -> Result<bool, Error> {
        let remove = |name: &str| match self.dir.remove_file(name) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::io("delete", name, e)),
        };
        if remove(name)? {
            return Ok(true);
        }
        // A sweep may hold the session under its aside name for a moment,
        // about to give it back (`remove_unchanged`): deleted there, it is
        // not given back; given back meanwhile, it is deleted again here.
        let aside = remove(&Self::aside_name(name)).unwrap_or(false);
        Ok(remove(name)? || aside)
    }

    fn remove_read<S: System>(&self, _core: &Core<S>, name: &str, opened: &Self::Opened) -> Result<bool, Error> {
        self.remove_unchanged(name, opened)
    }

    fn sweep<S: System>(&self, core: &Core<S>, cursor: Option<&str>, upto: Option<&str>, budget_nanos: Option<u64>) -> Result<SweepBatch, Error> {
        self.sweep_files(core, cursor, upto, budget_nanos)
    }

    fn replace<S: System>(&self, core: &Core<S>, name: &str, read: &Stored<Self::Opened>, content: &[u8], _ttl_ms: Option<u64>) -> Result<bool, Error> {
        self.replace_unchanged(core, name, &read.opened, content)
    }

    fn retime<S: System>(&self, _core: &Core<S>, name: &str, read: &Stored<Self::Opened>, written_at: Time, _ttl_ms: Option<u64>) -> Result<bool, Error> {
        if self.still_holds(name, &read.opened, "touch")?.is_none() {
            return Ok(false);
        }
        match self.dir.set_modified(name, written_at) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::io("touch", name, e)),
        }
    }

    fn walk<S: System>(
        &self,
        core: &Core<S>,
        prefix: &str,
        cursor: Option<&str>,
        upto: Option<&str>,
        budget_nanos: Option<u64>,
        visit: &mut dyn FnMut(&str),
    ) -> Result<(Option<String>, u32), Error> {
        self.walk_names(core, prefix, cursor, upto, budget_nanos, visit)
    }
}
