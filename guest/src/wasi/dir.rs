//! [`Dir`] over the directory the host preopens, through `wasi:filesystem`
//! descriptors only (no std::fs path lookups): what jco and every other WASI
//! 0.2 host support.

use crate::dir::{Dir, File, Metadata, NotAFile};
use crate::Files;
use std::cell::OnceCell;
use crate::time::Time;
use std::io;
use wasip2::filesystem::preopens::get_directories;
use wasip2::clocks::wall_clock::Datetime;
use wasip2::filesystem::types::{Descriptor, DescriptorFlags, DescriptorStat, DescriptorType, ErrorCode, NewTimestamp, OpenFlags, PathFlags};

/// The first directory the host preopened.
pub struct WasiDir(Descriptor);


fn to_io(code: ErrorCode) -> io::Error {
    let kind = match code {
        ErrorCode::Exist => io::ErrorKind::AlreadyExists,
        ErrorCode::NoEntry => io::ErrorKind::NotFound,
        ErrorCode::Access | ErrorCode::NotPermitted | ErrorCode::ReadOnly => io::ErrorKind::PermissionDenied,
        ErrorCode::InsufficientSpace | ErrorCode::Quota => io::ErrorKind::StorageFull,
        ErrorCode::IsDirectory => io::ErrorKind::IsADirectory,
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, describe(code))
}

/// The error as one plain phrase, as `strerror` would say it (the WASI
/// docs' own messages read "…, similar to `ENOENT` in POSIX").
fn describe(code: ErrorCode) -> String {
    let text = match code {
        ErrorCode::Access => "permission denied",
        ErrorCode::WouldBlock => "the operation would block",
        ErrorCode::Already => "already in progress",
        ErrorCode::BadDescriptor => "bad file descriptor",
        ErrorCode::Busy => "device or resource busy",
        ErrorCode::Deadlock => "resource deadlock avoided",
        ErrorCode::Quota => "disk quota exceeded",
        ErrorCode::Exist => "file exists",
        ErrorCode::FileTooLarge => "file too large",
        ErrorCode::IllegalByteSequence => "name is not valid UTF-8",
        ErrorCode::InProgress => "operation in progress",
        ErrorCode::Interrupted => "interrupted",
        ErrorCode::Invalid => "invalid argument",
        ErrorCode::Io => "input/output error",
        ErrorCode::IsDirectory => "is a directory",
        ErrorCode::Loop => "too many levels of symbolic links",
        ErrorCode::TooManyLinks => "too many links",
        ErrorCode::MessageSize => "message too long",
        ErrorCode::NameTooLong => "file name too long",
        ErrorCode::NoDevice => "no such device",
        ErrorCode::NoEntry => "no such file or directory",
        ErrorCode::NoLock => "no locks available",
        ErrorCode::InsufficientMemory => "out of memory",
        ErrorCode::InsufficientSpace => "no space left on device",
        ErrorCode::NotDirectory => "not a directory",
        ErrorCode::NotEmpty => "directory not empty",
        ErrorCode::NotRecoverable => "state not recoverable",
        ErrorCode::Unsupported => "operation not supported",
        ErrorCode::NoTty => "not a terminal",
        ErrorCode::NoSuchDevice => "no such device or address",
        ErrorCode::Overflow => "value too large",
        ErrorCode::NotPermitted => "operation not permitted",
        ErrorCode::Pipe => "broken pipe",
        ErrorCode::ReadOnly => "read-only file system",
        ErrorCode::InvalidSeek => "invalid seek",
        ErrorCode::TextFileBusy => "text file busy",
        ErrorCode::CrossDevice => "cross-device link",
    };
    text.to_owned()
}

fn to_metadata(stat: DescriptorStat) -> Metadata {
    let modified = stat.data_modification_timestamp.map_or(Time::default(), |t| Time::new(t.seconds as i64, t.nanoseconds));
    Metadata { len: stat.size, modified, is_file: stat.type_ == DescriptorType::RegularFile }
}

impl WasiDir {
    /// The first preopened directory, or an error naming the problem.
    pub fn preopened() -> io::Result<WasiDir> {
        get_directories()
            .into_iter()
            .next()
            .map(|(descriptor, _)| WasiDir(descriptor))
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "the host preopened no directory"))
    }
}

impl File for Descriptor {
    fn metadata(&self) -> io::Result<Metadata> {
        self.stat().map(to_metadata).map_err(to_io)
    }

    fn identity(&self) -> io::Result<u128> {
        self.metadata_hash().map(|h| (u128::from(h.upper) << 64) | u128::from(h.lower)).map_err(to_io)
    }

    fn read_at(&self, len: usize, offset: u64) -> io::Result<Vec<u8>> {
        // The host allocates `len` bytes: callers ask for what they expect.
        self.read(len as u64, offset).map(|(bytes, _end)| bytes).map_err(to_io)
    }

    fn write_all(&self, mut buf: &[u8]) -> io::Result<()> {
        let mut offset = 0;
        while !buf.is_empty() {
            let n = self.write(buf, offset).map_err(to_io)?;
            if n == 0 {
                return Err(io::Error::new(io::ErrorKind::WriteZero, "the file accepted no more bytes"));
            }
            buf = &buf[n as usize..];
            offset += n;
        }
        Ok(())
    }

    fn sync_data(&self) -> io::Result<()> {
        Descriptor::sync_data(self).map_err(to_io)
    }
}

impl Dir for WasiDir {
    type File = Descriptor;

    fn open(&self, name: &str) -> io::Result<Descriptor> {
        self.0.open_at(PathFlags::empty(), name, OpenFlags::empty(), DescriptorFlags::READ).map_err(|code| match code {
            // The sessionbox host's answer to a FIFO or device (ENXIO).
            ErrorCode::NoSuchDevice => NotAFile::error(),
            code => to_io(code),
        })
    }

    fn create_new(&self, name: &str) -> io::Result<Descriptor> {
        // WRITE only: asking for MUTATE_DIRECTORY too (as wasi-libc does) is
        // refused by jco's filesystem shim.
        let create = OpenFlags::CREATE | OpenFlags::EXCLUSIVE;
        self.0.open_at(PathFlags::empty(), name, create, DescriptorFlags::WRITE).map_err(to_io)
    }

    fn symlink_metadata(&self, name: &str) -> io::Result<Metadata> {
        self.0.stat_at(PathFlags::empty(), name).map(to_metadata).map_err(to_io)
    }

    fn identity(&self, name: &str) -> io::Result<u128> {
        self.0.metadata_hash_at(PathFlags::empty(), name).map(|h| (u128::from(h.upper) << 64) | u128::from(h.lower)).map_err(to_io)
    }

    fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        self.0.rename_at(from, &self.0, to).map_err(to_io)
    }

    fn take(&self, from: &str, to: &str) -> io::Result<()> {
        // The sessionbox host renames between plain names only over an
        // existing entry, and unlinks the source name after exchanging the
        // two: for a shared name like `from` that could unlink a file
        // another process renamed there meanwhile. A target given as a
        // path (`./to`) asks any host for a plain rename.
        self.0.rename_at(from, &self.0, &format!("./{to}")).map_err(to_io)
    }

    fn hard_link(&self, from: &str, to: &str) -> io::Result<()> {
        self.0.link_at(PathFlags::empty(), from, &self.0, to).map_err(to_io)
    }

    fn remove_file(&self, name: &str) -> io::Result<()> {
        self.0.unlink_file_at(name).map_err(to_io)
    }

    fn for_each_entry(&self, f: &mut dyn FnMut(&str)) -> io::Result<u32> {
        let stream = self.dot()?.read_directory().map_err(to_io)?;
        let mut not_utf8 = 0;
        loop {
            match stream.read_directory_entry() {
                Ok(Some(entry)) => f(&entry.name),
                Ok(None) => return Ok(not_utf8),
                // Hosts stat each entry while listing (wasmtime does); one
                // deleted meanwhile is simply gone, not a failed listing.
                Err(ErrorCode::NoEntry) => continue,
                // A name that is not UTF-8 cannot cross as a string; the
                // stream goes on after it (wasmtime's does).
                Err(ErrorCode::IllegalByteSequence) => not_utf8 += 1,
                Err(code) => return Err(to_io(code)),
            }
        }
    }

    fn set_modified(&self, name: &str, modified: Time) -> io::Result<()> {
        // The access time too: jco's shim answers `no-change` by a stat of
        // the preopen itself, which it cannot do, and nothing reads atimes.
        let at = || NewTimestamp::Timestamp(Datetime { seconds: modified.secs.max(0) as u64, nanoseconds: modified.nanos });
        self.0.set_times_at(PathFlags::empty(), name, at(), at()).map_err(to_io)
    }

    fn sync(&self) -> io::Result<()> {
        // Not `self.0.sync()`: jco's shim refuses `sync` on a preopen itself
        // ("invalid"), which made every save with durability `full` fail
        // under Node. Syncing a descriptor opened from "." flushes the same
        // directory, everywhere.
        self.dot()?.sync().map_err(to_io)
    }
}

impl WasiDir {
    /// A fresh read-only descriptor for the preopened directory, opened from
    /// "." through the preopen. jco's preview2-shim (checked with 0.26.1)
    /// treats a preopen descriptor as a bare path: `read-directory`, `sync`
    /// and `stat` on it fail (`bad-descriptor` / `invalid`), while the same
    /// calls on a descriptor opened from it work. wasmtime accepts both.
    fn dot(&self) -> io::Result<Descriptor> {
        self.0.open_at(PathFlags::empty(), ".", OpenFlags::DIRECTORY, DescriptorFlags::READ).map_err(to_io)
    }
}

thread_local! {
    /// The preopen, fetched once per instance: hosts that reuse an instance
    /// save a `get-directories` call (and a descriptor) per operation.
    static DIR: OnceCell<Result<&'static WasiDir, String>> = const { OnceCell::new() };
}

/// Sessions in the preopened directory.
pub fn storage() -> Result<Files<&'static WasiDir>, String> {
    // Leaked once per instance: the descriptor lives as long as the instance.
    let dir = DIR.with(|cell| cell.get_or_init(|| WasiDir::preopened().map(|d| &*Box::leak(Box::new(d))).map_err(|e| e.to_string())).clone());
    Ok(Files::new(dir?))
}
