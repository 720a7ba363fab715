//! [`Dir`] over cap-std, so the session logic runs natively (no wasm): the
//! baseline the component is measured against, and the target for fuzzing.

use crate::dir::{Dir, File, Metadata};
use crate::system::System;
use crate::time::Time;
use cap_std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

/// Set once an open with `O_NOATIME` was refused (a file the process does
/// not own): reads stop asking for it.
static NOATIME_REFUSED: AtomicBool = AtomicBool::new(false);

/// A session directory opened natively; capability-confined like a preopen.
pub struct NativeDir(cap_std::fs::Dir);

/// The OS clock and CSPRNG.
pub struct NativeSystem;

fn to_metadata(m: cap_std::fs::Metadata) -> io::Result<Metadata> {
    Ok(Metadata { len: m.len(), modified: Time::from_system_time(m.modified()?.into_std()), is_file: m.is_file() })
}

/// The file's device and inode, as one number.
fn identity_of(m: &cap_std::fs::Metadata) -> u128 {
    use cap_std::fs::MetadataExt;
    (u128::from(m.dev()) << 64) | u128::from(m.ino())
}

impl NativeDir {
    /// Opens the directory at `path`.
    pub fn open(path: impl AsRef<Path>) -> io::Result<NativeDir> {
        cap_std::fs::Dir::open_ambient_dir(path, cap_std::ambient_authority()).map(NativeDir)
    }

    /// Wraps an already-open directory.
    pub fn from_cap_std(dir: cap_std::fs::Dir) -> NativeDir {
        NativeDir(dir)
    }
}

impl File for cap_std::fs::File {
    fn metadata(&self) -> io::Result<Metadata> {
        to_metadata(cap_std::fs::File::metadata(self)?)
    }

    fn identity(&self) -> io::Result<u128> {
        Ok(identity_of(&cap_std::fs::File::metadata(self)?))
    }

    fn read_at(&self, len: usize, offset: u64) -> io::Result<Vec<u8>> {
        let mut buf = vec![0; len];
        let mut filled = 0;
        while filled < len {
            match cap_std::fs::FileExt::read_at(self, &mut buf[filled..], offset + filled as u64) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        buf.truncate(filled);
        Ok(buf)
    }

    fn write_all(&self, buf: &[u8]) -> io::Result<()> {
        let mut file = self;
        Write::write_all(&mut file, buf)
    }

    fn sync_data(&self) -> io::Result<()> {
        cap_std::fs::File::sync_data(self)
    }
}

impl Dir for NativeDir {
    type File = cap_std::fs::File;

    /// Opens to read with `O_NOATIME` where the OS has it, as the sessionbox
    /// host does, so the two read alike; without it once refused.
    fn open(&self, name: &str) -> io::Result<cap_std::fs::File> {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if !NOATIME_REFUSED.load(Ordering::Relaxed) {
            use cap_std::fs::OpenOptionsExt;
            match self.0.open_with(name, OpenOptions::new().read(true).custom_flags(libc::O_NOATIME)) {
                Err(e) if e.raw_os_error() == Some(libc::EPERM) => NOATIME_REFUSED.store(true, Ordering::Relaxed),
                opened => return opened,
            }
        }
        self.0.open(name)
    }

    fn create_new(&self, name: &str) -> io::Result<cap_std::fs::File> {
        self.0.open_with(name, OpenOptions::new().write(true).create_new(true))
    }

    fn symlink_metadata(&self, name: &str) -> io::Result<Metadata> {
        to_metadata(self.0.symlink_metadata(name)?)
    }

    fn identity(&self, name: &str) -> io::Result<u128> {
        Ok(identity_of(&self.0.symlink_metadata(name)?))
    }

    fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        self.0.rename(from, &self.0, to)
    }

    fn hard_link(&self, from: &str, to: &str) -> io::Result<()> {
        self.0.hard_link(from, &self.0, to)
    }

    fn remove_file(&self, name: &str) -> io::Result<()> {
        self.0.remove_file(name)
    }

    fn for_each_entry(&self, f: &mut dyn FnMut(&str)) -> io::Result<u32> {
        let mut not_utf8 = 0;
        for entry in self.0.entries()? {
            match entry?.file_name().to_str() {
                Some(name) => f(name),
                None => not_utf8 += 1,
            }
        }
        Ok(not_utf8)
    }

    fn sync(&self) -> io::Result<()> {
        self.0.open(".")?.sync_all()
    }

    fn set_modified(&self, name: &str, modified: Time) -> io::Result<()> {
        self.0.open(name)?.into_std().set_modified(modified.to_system_time())
    }
}

impl System for NativeSystem {
    fn sleep(&self, nanos: u64) {
        std::thread::sleep(std::time::Duration::from_nanos(nanos));
    }

    fn now(&self) -> Time {
        Time::from_system_time(SystemTime::now())
    }

    fn monotonic_nanos(&self) -> u64 {
        static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
        START.get_or_init(std::time::Instant::now).elapsed().as_nanos() as u64
    }

    fn fill_random(&self, buf: &mut [u8]) {
        // The OS CSPRNG failing leaves no safe way to make keys.
        getrandom::fill(buf).expect("the operating system's random source failed");
    }
}
