//! [`Dir`] over the directory the host preopens, through `wasi:filesystem`
//! descriptors only (no std::fs path lookups): what jco and every other WASI
//! 0.2 host support.

use crate::dir::{Dir, File, Metadata, System};
use crate::time::Time;
use std::io;
use wasip2::filesystem::preopens::get_directories;
use wasip2::filesystem::types::{Descriptor, DescriptorFlags, DescriptorStat, DescriptorType, ErrorCode, OpenFlags, PathFlags};

/// The first directory the host preopened.
pub struct WasiDir(Descriptor);

/// The WASI wall clock and CSPRNG.
pub struct WasiSystem;

fn to_io(code: ErrorCode) -> io::Error {
    let kind = match code {
        ErrorCode::Exist => io::ErrorKind::AlreadyExists,
        ErrorCode::NoEntry => io::ErrorKind::NotFound,
        ErrorCode::Access | ErrorCode::NotPermitted | ErrorCode::ReadOnly => io::ErrorKind::PermissionDenied,
        ErrorCode::InsufficientSpace | ErrorCode::Quota => io::ErrorKind::StorageFull,
        ErrorCode::IsDirectory => io::ErrorKind::IsADirectory,
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, code.message())
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
        self.0.open_at(PathFlags::empty(), name, OpenFlags::empty(), DescriptorFlags::READ).map_err(to_io)
    }

    fn create_new(&self, name: &str) -> io::Result<Descriptor> {
        // WRITE only: asking for MUTATE_DIRECTORY too (as wasi-libc does) is
        // refused by jco's filesystem shim.
        let create = OpenFlags::CREATE | OpenFlags::EXCLUSIVE;
        self.0.open_at(PathFlags::empty(), name, create, DescriptorFlags::WRITE).map_err(to_io)
    }

    fn metadata(&self, name: &str) -> io::Result<Metadata> {
        self.0.stat_at(PathFlags::empty(), name).map(to_metadata).map_err(to_io)
    }

    fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        self.0.rename_at(from, &self.0, to).map_err(to_io)
    }

    fn hard_link(&self, from: &str, to: &str) -> io::Result<()> {
        self.0.link_at(PathFlags::empty(), from, &self.0, to).map_err(to_io)
    }

    fn remove_file(&self, name: &str) -> io::Result<()> {
        self.0.unlink_file_at(name).map_err(to_io)
    }

    fn entries(&self) -> io::Result<Vec<String>> {
        let stream = self.dot()?.read_directory().map_err(to_io)?;
        let mut names = Vec::new();
        loop {
            match stream.read_directory_entry() {
                Ok(Some(entry)) => names.push(entry.name),
                Ok(None) => return Ok(names),
                // Hosts stat each entry while listing (wasmtime does); one
                // deleted meanwhile is simply gone, not a failed listing.
                Err(ErrorCode::NoEntry) => continue,
                Err(code) => return Err(to_io(code)),
            }
        }
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

impl System for WasiSystem {
    fn now(&self) -> Time {
        let now = wasip2::clocks::wall_clock::now();
        Time::new(now.seconds as i64, now.nanoseconds)
    }

    fn fill_random(&self, buf: &mut [u8]) {
        let bytes = wasip2::random::random::get_random_bytes(buf.len() as u64);
        buf.copy_from_slice(&bytes[..buf.len()]);
    }
}
