//! The storage the session logic needs, as a small trait, so the same logic
//! runs over the WASI preopened directory (in the component) and over
//! cap-std's `Dir` (native, for the performance baseline and fuzzing).
//!
//! Names are plain file names inside the one session directory; the logic only
//! ever passes names built from a validated key and the prefix.

use crate::time::Time;
use std::io;

/// What [`Dir::symlink_metadata`] tells about a directory entry, or
/// [`File::metadata`] about an open file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Metadata {
    /// Size in bytes.
    pub len: u64,
    /// Last data modification.
    pub modified: Time,
    /// A regular file (not a directory, symlink, FIFO or device).
    pub is_file: bool,
}

/// An open file in the session directory.
pub trait File {
    /// Metadata of the open file.
    fn metadata(&self) -> io::Result<Metadata>;
    /// Which file this is (its device and inode, hashed): equal to
    /// [`Dir::identity`] of a name exactly while that name holds this file.
    fn identity(&self) -> io::Result<u128>;
    /// Reads up to `len` bytes at `offset`; fewer means the end of the file
    /// was reached (none: at or past the end).
    fn read_at(&self, len: usize, offset: u64) -> io::Result<Vec<u8>>;
    /// Writes all of `buf` at offset 0.
    fn write_all(&self, buf: &[u8]) -> io::Result<()>;
    /// Flushes the file's data to stable storage.
    fn sync_data(&self) -> io::Result<()>;
}

/// Most bytes asked of one read. wasmtime returns at most 64 KiB per read;
/// asking no more means a read that returns fewer bytes than asked has met
/// the end of the file, never the host's cap.
const READ_CHUNK: usize = 1 << 16;

/// Reads a whole file, at most `limit` bytes: until a read returns fewer
/// bytes than asked at or past the `expected` size (what stat said), or none
/// at all. The first read asks for one byte more than expected, so a session
/// file (at most 64 KiB) takes one read, and a file replaced by a larger one
/// between stat and open is still read whole. A read that comes back short
/// before the expected size (a host with a smaller cap, or a file replaced
/// by a smaller one) is followed by another.
pub fn read_to_end(file: &impl File, expected: u64, limit: usize) -> io::Result<Vec<u8>> {
    let expected = usize::try_from(expected).unwrap_or(usize::MAX);
    let mut out = Vec::with_capacity(expected.saturating_add(1).min(limit));
    while out.len() < limit {
        let wanted = match expected.checked_sub(out.len()) {
            Some(rest) => rest.saturating_add(1),
            // Grew past what stat said: read on to the end.
            None => READ_CHUNK,
        };
        let ask = wanted.min(READ_CHUNK).min(limit - out.len());
        let chunk = file.read_at(ask, out.len() as u64)?;
        let got = chunk.len();
        out.extend_from_slice(&chunk);
        if got == 0 || (got < ask && out.len() >= expected) {
            break;
        }
    }
    Ok(out)
}

/// What a host's open says when the entry was not a regular file: the
/// sessionbox host opens without blocking and refuses FIFOs and devices
/// (one may be swapped in after the guest's stat).
#[derive(Debug)]
pub struct NotAFile;

impl std::fmt::Display for NotAFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not a regular file")
    }
}

impl std::error::Error for NotAFile {}

impl NotAFile {
    /// As an I/O error.
    pub fn error() -> io::Error {
        io::Error::new(io::ErrorKind::InvalidInput, NotAFile)
    }

    /// Whether `e` is this error.
    pub fn is(e: &io::Error) -> bool {
        e.get_ref().is_some_and(|inner| inner.is::<NotAFile>())
    }
}

/// The one session directory.
pub trait Dir {
    /// The file handle type.
    type File: File;
    /// Opens an existing regular file for reading; a symlink is not followed.
    fn open(&self, name: &str) -> io::Result<Self::File>;
    /// Creates a file that must not exist yet (O_CREAT|O_EXCL), for writing;
    /// `AlreadyExists` when it does.
    fn create_new(&self, name: &str) -> io::Result<Self::File>;
    /// Metadata of an entry, without following a symlink; `NotFound` when
    /// missing.
    fn symlink_metadata(&self, name: &str) -> io::Result<Metadata>;
    /// Which file the entry `name` is (see [`File::identity`]), without
    /// following a symlink; `NotFound` when missing.
    fn identity(&self, name: &str) -> io::Result<u128>;
    /// Atomically renames `from` to `to`, replacing `to`. (The sessionbox
    /// host replaces `to` only while it exists: see [`take`](Self::take).)
    fn rename(&self, from: &str, to: &str) -> io::Result<()>;
    /// Atomically moves the entry `from` to `to`, a file of this store's own
    /// (a temporary file it just created), replacing it: whatever `from`
    /// holds at that instant ends up under `to`. `NotFound` when `from` is
    /// missing. Unlike [`rename`](Self::rename) this must work where `to`
    /// is replaced whether or not it still exists.
    fn take(&self, from: &str, to: &str) -> io::Result<()> {
        self.rename(from, to)
    }
    /// Makes `to` a second name (hard link) for the file `from`, atomically
    /// failing with `AlreadyExists` when `to` exists; symlinks not followed.
    fn hard_link(&self, from: &str, to: &str) -> io::Result<()>;
    /// Removes a file; `NotFound` when missing.
    fn remove_file(&self, name: &str) -> io::Result<()>;
    /// Calls `f` with the name of every entry, one at a time (a directory
    /// may hold millions); returns how many entries had names that are not
    /// UTF-8 (no session has such a name, and WASI cannot pass them).
    fn for_each_entry(&self, f: &mut dyn FnMut(&str)) -> io::Result<u32>;
    /// Flushes the directory itself (so a rename survives a power loss).
    fn sync(&self) -> io::Result<()>;
    /// Sets the last data modification time of the entry `name`, without
    /// following a symlink (a file's expiry counts from it).
    fn set_modified(&self, name: &str, modified: Time) -> io::Result<()>;
}


impl<T: Dir> Dir for &T {
    type File = T::File;
    fn open(&self, name: &str) -> io::Result<Self::File> {
        (**self).open(name)
    }
    fn create_new(&self, name: &str) -> io::Result<Self::File> {
        (**self).create_new(name)
    }
    fn symlink_metadata(&self, name: &str) -> io::Result<Metadata> {
        (**self).symlink_metadata(name)
    }
    fn identity(&self, name: &str) -> io::Result<u128> {
        (**self).identity(name)
    }
    fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        (**self).rename(from, to)
    }
    fn take(&self, from: &str, to: &str) -> io::Result<()> {
        (**self).take(from, to)
    }
    fn hard_link(&self, from: &str, to: &str) -> io::Result<()> {
        (**self).hard_link(from, to)
    }
    fn remove_file(&self, name: &str) -> io::Result<()> {
        (**self).remove_file(name)
    }
    fn for_each_entry(&self, f: &mut dyn FnMut(&str)) -> io::Result<u32> {
        (**self).for_each_entry(f)
    }
    fn sync(&self) -> io::Result<()> {
        (**self).sync()
    }
    fn set_modified(&self, name: &str, modified: Time) -> io::Result<()> {
        (**self).set_modified(name, modified)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzz::MemDir;

    /// MemDir returns at most 64 KiB per read, as wasmtime does: every size
    /// must still be read whole.
    #[test]
    fn read_to_end_survives_short_reads_and_growth() {
        let dir = MemDir::new(Time::default());
        let content: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        dir.insert("f", &content);
        let file = dir.open("f").unwrap();
        assert_eq!(read_to_end(&file, 10, usize::MAX).unwrap(), content, "grew since stat");
        assert_eq!(read_to_end(&file, content.len() as u64, usize::MAX).unwrap(), content);
        assert_eq!(read_to_end(&file, 10, 1000).unwrap(), content[..1000]);
        assert_eq!(read_to_end(&file, 500_000, 400_000).unwrap(), content, "shrank since stat");
        for len in [0, 1, 65_535, 65_536, 65_537, 131_072, 200_000] {
            dir.insert("g", &content[..len]);
            let file = dir.open("g").unwrap();
            assert_eq!(read_to_end(&file, len as u64, usize::MAX).unwrap(), content[..len], "{len} bytes");
        }
    }

    /// A file of a whole number of host reads, replaced by a larger one
    /// between stat and open: a read that fills what was asked is never
    /// taken for the end (the old loop stopped at the stat size, cutting the
    /// new file short: a "bad signature", and a sweep could delete it).
    #[test]
    fn read_to_end_reads_a_replacement_past_a_read_boundary() {
        let dir = MemDir::new(Time::default());
        let content: Vec<u8> = (0..140_000u32).map(|i| (i % 251) as u8).collect();
        dir.insert("f", &content);
        let file = dir.open("f").unwrap();
        // Stat said 131072 bytes (two whole reads); the file now holds more.
        assert_eq!(read_to_end(&file, 131_072, usize::MAX).unwrap(), content);
    }
}
