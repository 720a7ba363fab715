//! The storage the session logic needs, as a small trait, so the same logic
//! runs over the WASI preopened directory (in the component) and over
//! cap-std's `Dir` (native, for the performance baseline and fuzzing).
//!
//! Names are plain file names inside the one session directory; the logic only
//! ever passes names built from a validated key and the prefix.

use crate::time::Time;
use std::io;

/// What `metadata` tells about a directory entry (symlinks not followed).
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
    /// Reads up to `len` bytes at `offset`; fewer means the end of the file
    /// was reached (none: at or past the end).
    fn read_at(&self, len: usize, offset: u64) -> io::Result<Vec<u8>>;
    /// Writes all of `buf` at offset 0.
    fn write_all(&self, buf: &[u8]) -> io::Result<()>;
    /// Flushes the file's data to stable storage.
    fn sync_data(&self) -> io::Result<()>;
}

/// Reads a whole file, at most `limit` bytes, asking first for one byte more
/// than the `expected` size (what stat said): a session file then takes one
/// read, and a file that grew meanwhile (replaced between stat and open) is
/// still read whole.
pub fn read_to_end(file: &impl File, expected: u64, limit: usize) -> io::Result<Vec<u8>> {
    let mut asked = (expected as usize).saturating_add(1).min(limit);
    let mut out = file.read_at(asked, 0)?;
    let mut last = out.len();
    // Only a full read can have stopped short of the end.
    while last == asked && out.len() < limit {
        asked = (limit - out.len()).min(1 << 16);
        let chunk = file.read_at(asked, out.len() as u64)?;
        last = chunk.len();
        out.extend_from_slice(&chunk);
    }
    Ok(out)
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
    fn metadata(&self, name: &str) -> io::Result<Metadata>;
    /// Atomically renames `from` to `to`, replacing `to`.
    fn rename(&self, from: &str, to: &str) -> io::Result<()>;
    /// Makes `to` a second name (hard link) for the file `from`, atomically
    /// failing with `AlreadyExists` when `to` exists; symlinks not followed.
    fn hard_link(&self, from: &str, to: &str) -> io::Result<()>;
    /// Removes a file; `NotFound` when missing.
    fn remove_file(&self, name: &str) -> io::Result<()>;
    /// The names of all entries.
    fn entries(&self) -> io::Result<Vec<String>>;
    /// Flushes the directory itself (so a rename survives a power loss).
    fn sync(&self) -> io::Result<()>;
}

/// The clock and the random source.
pub trait System {
    /// The wall-clock time now.
    fn now(&self) -> Time;
    /// Fills `buf` from a cryptographically secure generator.
    fn fill_random(&self, buf: &mut [u8]);
}

impl<T: Dir> Dir for &T {
    type File = T::File;
    fn open(&self, name: &str) -> io::Result<Self::File> {
        (**self).open(name)
    }
    fn create_new(&self, name: &str) -> io::Result<Self::File> {
        (**self).create_new(name)
    }
    fn metadata(&self, name: &str) -> io::Result<Metadata> {
        (**self).metadata(name)
    }
    fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        (**self).rename(from, to)
    }
    fn hard_link(&self, from: &str, to: &str) -> io::Result<()> {
        (**self).hard_link(from, to)
    }
    fn remove_file(&self, name: &str) -> io::Result<()> {
        (**self).remove_file(name)
    }
    fn entries(&self) -> io::Result<Vec<String>> {
        (**self).entries()
    }
    fn sync(&self) -> io::Result<()> {
        (**self).sync()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzz::MemDir;

    #[test]
    fn read_to_end_reads_files_that_grew_since_stat() {
        let dir = MemDir::new(Time::default());
        let content: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        dir.insert("f", &content);
        let file = dir.open("f").unwrap();
        assert_eq!(read_to_end(&file, 10, usize::MAX).unwrap(), content);
        assert_eq!(read_to_end(&file, content.len() as u64, usize::MAX).unwrap(), content);
        assert_eq!(read_to_end(&file, 10, 1000).unwrap(), content[..1000]);
        assert_eq!(read_to_end(&file, 500_000, 300_000).unwrap(), content);
    }
}
