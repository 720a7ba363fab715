//! `wasi:filesystem/types` for the guest: wasmtime-wasi's implementation,
//! except that opening an existing entry by a plain name never blocks,
//! creating a new file by a plain name skips wasmtime-wasi's stat of it, and
//! a rename between plain names replaces only an existing entry (see
//! `replace_existing`). A rename to a path (`./name`) is wasmtime-wasi's
//! plain rename: the guest's sweep uses it to take a session off its name.
//!
//! Opening a FIFO for reading blocks in `open(2)` until a writer appears,
//! and no epoch deadline interrupts a blocked host call. The guest stats a
//! session file before opening it, but an entry swapped in between (a
//! FIFO, a device) would still block the call, or feed it. So here such an
//! open uses `O_NONBLOCK | O_NOFOLLOW` and then checks what it opened: a
//! regular file or a directory is handed to the guest as wasmtime-wasi
//! would hand it; anything else is closed and refused with `no-such-device`
//! (`ENXIO`, what Linux answers for a FIFO nobody serves).
//!
//! An open for reading also asks for `O_NOATIME`: reading a session (a load,
//! a sweep) then writes nothing to the disk, where the access time would
//! otherwise dirty the inode on the first read after each save and, under
//! `relatime`, on every read a day apart (a daily sweep touches every idle
//! session). Linux grants it only to the file's owner (or `CAP_FOWNER`);
//! after one refusal the process stops asking.
//!
//! A new file is created with mode 0600 whatever the umask: a session file
//! (and its temporary file) is a credential, readable only by the owner, as
//! Django's `mkstemp` makes it. wasmtime-wasi would create it 0666 less the
//! umask, 0644 under the common `umask 022`.
//!
//! A read-only filesystem is reported as WASI's `read-only`: wasmtime-wasi
//! has no mapping for `EROFS` and calls it `io`. This module's own opens see
//! the errno; for a call it hands to wasmtime-wasi that changes the
//! filesystem and fails with `io`, it asks the OS whether the descriptor's
//! filesystem is mounted read-only.
//!
//! Listing a directory (`read-directory`) is done here too, taking each
//! entry's type from the listing instead of a stat per entry.
//!
//! Every other call, and every open this does not cover (creating without
//! `exclusive`, truncating, a path of several components, following
//! symlinks, `O_DIRECTORY`), goes to wasmtime-wasi's own implementation:
//! its async one, polled once by [`now`]. (Its sync flavour wraps the same futures in tokio's `block_on`,
//! which panics on a tokio worker thread; with blocking on the current
//! thread allowed, every one of these futures is ready at its first poll, so
//! a call into the guest needs no runtime at all.)

use rustix::fs::{FileType, Mode, OFlags};
use std::sync::atomic::{AtomicBool, Ordering};
use wasmtime::component::{HasData, Resource};
use wasmtime_wasi::filesystem::{Descriptor, Dir, File, OpenMode, WasiFilesystemCtxView};
use wasmtime_wasi::p2::bindings::filesystem::types::ErrorCode as FsCode;
use wasmtime_wasi::p2::bindings::sync::filesystem::types::{
    self as fs, DescriptorFlags, ErrorCode, Host, HostDescriptor, HostDirectoryEntryStream, OpenFlags, PathFlags,
};
use wasmtime_wasi::p2::bindings::filesystem::types as async_fs;
use wasmtime_wasi::p2::bindings::sync::io::streams;
use wasmtime_wasi::p2::{FsError, FsResult};
use std::future::Future;

/// The output of `f`, which is ready at its first poll when wasmtime-wasi
/// may block the current thread (the sessionbox host's setting). Should it
/// ever not be, it is driven to completion as wasmtime-wasi's sync bindings
/// drive it.
pub(crate) fn now<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut std::task::Context::from_waker(std::task::Waker::noop())) {
        std::task::Poll::Ready(out) => out,
        std::task::Poll::Pending => wasmtime_wasi::runtime::in_tokio(f),
    }
}

/// One path component naming an entry of the directory itself.
fn is_plain_name(path: &str) -> bool {
    !path.is_empty() && path != "." && path != ".." && !path.contains('/') && !path.contains('\0')
}

/// The linker's handle on [`NonBlockingOpen`].
pub(crate) struct Filesystem;

impl HasData for Filesystem {
    type Data<'a> = NonBlockingOpen<'a>;
}

/// wasmtime-wasi's filesystem view with a non-blocking `open-at`. Assumes
/// the context allows blocking the current thread, as the sessionbox host
/// sets it.
pub(crate) struct NonBlockingOpen<'a>(pub(crate) WasiFilesystemCtxView<'a>);

type Fd = Resource<fs::Descriptor>;

/// The mode of every file the guest creates, whatever the umask.
const FILE_MODE: Mode = Mode::RUSR.union(Mode::WUSR);

/// An errno of this module's own calls as a WASI error: as wasmtime-wasi
/// maps it, except `EROFS`, which it would call `io`.
fn errno(e: rustix::io::Errno) -> FsError {
    match e {
        rustix::io::Errno::ROFS => FsCode::ReadOnly.into(),
        e => std::io::Error::from(e).into(),
    }
}

/// The opens this module makes itself.
enum OwnOpen {
    /// An existing entry, opened non-blocking and checked.
    Existing,
    /// A new file (`O_CREAT | O_EXCL`).
    CreateNew,
}

/// Set once an open with `O_NOATIME` was refused (the process owns not
/// every session file and lacks `CAP_FOWNER`): from then on reads open
/// without it, instead of paying a refused open each time.
static NOATIME_REFUSED: AtomicBool = AtomicBool::new(false);

/// `O_NOATIME` where the OS has it.
#[cfg(any(target_os = "linux", target_os = "android"))]
const NOATIME: OFlags = OFlags::NOATIME;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const NOATIME: OFlags = OFlags::empty();

impl NonBlockingOpen<'_> {
    /// Which open this module makes itself, if any: `path` must be one
    /// plain component, opened without following symlinks or sync flags,
    /// either existing (no open flags) or new (`create` + `exclusive`).
    fn covers(path_flags: PathFlags, path: &str, oflags: OpenFlags, flags: DescriptorFlags) -> Option<OwnOpen> {
        let plain_name = is_plain_name(path);
        let sync_flags = DescriptorFlags::FILE_INTEGRITY_SYNC | DescriptorFlags::DATA_INTEGRITY_SYNC | DescriptorFlags::REQUESTED_WRITE_SYNC;
        if !plain_name || path_flags.contains(PathFlags::SYMLINK_FOLLOW) || flags.intersects(sync_flags) {
            return None;
        }
        if oflags == OpenFlags::empty() {
            Some(OwnOpen::Existing)
        } else if oflags == OpenFlags::CREATE | OpenFlags::EXCLUSIVE {
            Some(OwnOpen::CreateNew)
        } else {
            None
        }
    }

    /// Creates the file `path`, which must not exist, as wasmtime-wasi
    /// would, minus its stat of what it opened: `O_CREAT | O_EXCL` with a
    /// plain name can only make a new regular file (an existing entry, a
    /// symlink included, fails with `EEXIST`), so there is nothing to
    /// check. One syscall fewer per create and per save.
    fn create_new(&mut self, fd: Fd, path: &str, flags: DescriptorFlags) -> FsResult<Fd> {
        let Descriptor::Dir(dir) = self.0.table.get(&fd)? else {
            return Err(FsCode::NotDirectory.into());
        };
        if dir.perms.write_not_permitted() {
            return Err(FsCode::NotPermitted.into());
        }
        // As wasmtime-wasi: a create writes, and also reads when asked to
        // or when not asked to write.
        let (access, mode) = if flags.contains(DescriptorFlags::READ) || !flags.contains(DescriptorFlags::WRITE) {
            (OFlags::RDWR, OpenMode::READ | OpenMode::WRITE)
        } else {
            (OFlags::WRONLY, OpenMode::WRITE)
        };
        // 0600: only the owner may read a session (module docs).
        let created = rustix::fs::openat(&*dir.dir, path, access | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC, FILE_MODE)
            .map_err(errno)?;
        let file = File::new(std::fs::File::from(created), dir.perms, mode, true);
        Ok(self.0.table.push(Descriptor::File(file))?)
    }

    /// Renames `old` over `new` only while `new` exists, in one step: the
    /// two entries are exchanged (`renameat2` with `RENAME_EXCHANGE`), then
    /// `old`, which now holds what `new` held, is unlinked. A missing `new`
    /// fails with `no-entry` and nothing moves. The guest renames only over
    /// an existing name (a session being updated, or the placeholder of a
    /// create), and an update must never bring back a session deleted (a
    /// logout) after the guest checked it exists: a plain rename would. On
    /// a filesystem without exchange (`EINVAL`), a plain rename, after the
    /// guest's own check.
    fn replace_existing(&mut self, fd: Fd, old: &str, new_fd: Fd, new: &str) -> FsResult<()> {
        let (Descriptor::Dir(from), Descriptor::Dir(to)) = (self.0.table.get(&fd)?, self.0.table.get(&new_fd)?) else {
            return Err(FsCode::NotDirectory.into());
        };
        // wasmtime-wasi's own checks for a rename.
        if from.perms.write_not_permitted() || to.perms.write_not_permitted() || from.perms != to.perms {
            return Err(FsCode::NotPermitted.into());
        }
        let (from, to) = (&*from.dir, &*to.dir);
        match rustix::fs::renameat_with(from, old, to, new, rustix::fs::RenameFlags::EXCHANGE) {
            Ok(()) => match rustix::fs::unlinkat(from, old, rustix::fs::AtFlags::empty()) {
                // What `new` held, now under the temporary name, gone; should
                // the unlink fail otherwise, the sweep removes it as an old
                // temporary file.
                Err(rustix::io::Errno::ISDIR) => {
                    // `new` was a directory (swapped in after the guest's
                    // check), which a plain rename would have refused: put
                    // both back and refuse likewise.
                    let _ = rustix::fs::renameat_with(from, old, to, new, rustix::fs::RenameFlags::EXCHANGE);
                    Err(FsCode::IsDirectory.into())
                }
                _ => Ok(()),
            },
            Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS | rustix::io::Errno::OPNOTSUPP) => {
                rustix::fs::renameat(from, old, to, new).map_err(errno)
            }
            Err(e) => Err(errno(e)),
        }
    }

    /// `result` of a call that changes the filesystem through descriptor
    /// `rep`, with `io` turned into `read-only` when that descriptor's
    /// filesystem is mounted read-only (wasmtime-wasi maps `EROFS` to `io`;
    /// only a failed call pays for the check).
    fn or_read_only<T>(&mut self, rep: u32, result: FsResult<T>) -> FsResult<T> {
        match result {
            Err(e) if e.downcast_ref() == Some(&FsCode::Io) && self.is_read_only(rep) => Err(FsCode::ReadOnly.into()),
            result => result,
        }
    }

    /// Whether descriptor `rep` is on a filesystem mounted read-only.
    fn is_read_only(&self, rep: u32) -> bool {
        let fd = Resource::<fs::Descriptor>::new_borrow(rep);
        let vfs = match self.0.table.get(&fd) {
            Ok(Descriptor::Dir(dir)) => rustix::fs::fstatvfs(&*dir.dir),
            Ok(Descriptor::File(file)) => rustix::fs::fstatvfs(&*file.file),
            Err(_) => return false,
        };
        vfs.is_ok_and(|vfs| vfs.f_flag.contains(rustix::fs::StatVfsMountFlags::RDONLY))
    }

    fn open_existing(&mut self, fd: Fd, path: &str, flags: DescriptorFlags) -> FsResult<Fd> {
        let Descriptor::Dir(dir) = self.0.table.get(&fd)? else {
            return Err(FsCode::NotDirectory.into());
        };
        let write = flags.contains(DescriptorFlags::WRITE);
        if write && dir.perms.write_not_permitted() {
            return Err(FsCode::NotPermitted.into());
        }
        // As wasmtime-wasi: a descriptor opened without WRITE is opened to read.
        let (access, mode) = match (flags.contains(DescriptorFlags::READ), write) {
            (true, true) => (OFlags::RDWR, OpenMode::READ | OpenMode::WRITE),
            (false, true) => (OFlags::WRONLY, OpenMode::WRITE),
            _ => (OFlags::RDONLY, OpenMode::READ),
        };
        let open = |extra: OFlags| rustix::fs::openat(&*dir.dir, path, access | extra | OFlags::NONBLOCK | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty());
        let noatime = if access == OFlags::RDONLY && !NOATIME_REFUSED.load(Ordering::Relaxed) { NOATIME } else { OFlags::empty() };
        let (opened, kept) = match open(noatime) {
            Err(rustix::io::Errno::PERM) if !noatime.is_empty() => {
                NOATIME_REFUSED.store(true, Ordering::Relaxed);
                (open(OFlags::empty()), OFlags::empty())
            }
            opened => (opened, noatime),
        };
        let opened = opened.map_err(errno)?;
        let kind = FileType::from_raw_mode(rustix::fs::fstat(&opened).map_err(errno)?.st_mode);
        let perms = dir.perms;
        let descriptor = match kind {
            FileType::RegularFile | FileType::Directory => {
                // Non-blocking only for the open; I/O on the file stays as
                // usual. O_NONBLOCK and O_NOATIME are the only status flags
                // this open set (F_SETFL ignores the access mode), so
                // setting them to O_NOATIME alone clears O_NONBLOCK without
                // first asking for them: one syscall per load instead of two.
                rustix::fs::fcntl_setfl(&opened, kept).map_err(std::io::Error::from)?;
                let file = std::fs::File::from(opened);
                if kind == FileType::Directory {
                    Descriptor::Dir(Dir::new(file, perms, mode, true))
                } else {
                    Descriptor::File(File::new(file, perms, mode, true))
                }
            }
            _ => return Err(FsCode::NoSuchDevice.into()),
        };
        Ok(self.0.table.push(descriptor)?)
    }
}

impl HostDescriptor for NonBlockingOpen<'_> {
    fn open_at(&mut self, fd: Fd, path_flags: PathFlags, path: String, oflags: OpenFlags, flags: DescriptorFlags) -> FsResult<Fd> {
        match Self::covers(path_flags, &path, oflags, flags) {
            Some(OwnOpen::Existing) => self.open_existing(fd, &path, flags),
            Some(OwnOpen::CreateNew) => self.create_new(fd, &path, flags),
            None => {
                let rep = fd.rep();
                let opened = now(async_fs::HostDescriptor::open_at(&mut self.0, fd, path_flags.into(), path, oflags.into(), flags.into()));
                let changes = oflags != OpenFlags::empty() || flags.contains(DescriptorFlags::WRITE);
                if changes { self.or_read_only(rep, opened) } else { opened }
            }
        }
    }

    // Everything else: wasmtime-wasi's own implementation.
    fn advise(&mut self, fd: Fd, offset: u64, len: u64, advice: fs::Advice) -> FsResult<()> {
        now(async_fs::HostDescriptor::advise(&mut self.0, fd, offset, len, advice.into()))
    }
    fn sync_data(&mut self, fd: Fd) -> FsResult<()> {
        let rep = fd.rep();
        let result = now(async_fs::HostDescriptor::sync_data(&mut self.0, fd));
        self.or_read_only(rep, result)
    }
    fn get_flags(&mut self, fd: Fd) -> FsResult<DescriptorFlags> {
        now(async_fs::HostDescriptor::get_flags(&mut self.0, fd)).map(Into::into)
    }
    fn get_type(&mut self, fd: Fd) -> FsResult<fs::DescriptorType> {
        now(async_fs::HostDescriptor::get_type(&mut self.0, fd)).map(Into::into)
    }
    fn set_size(&mut self, fd: Fd, size: u64) -> FsResult<()> {
        let rep = fd.rep();
        let result = now(async_fs::HostDescriptor::set_size(&mut self.0, fd, size));
        self.or_read_only(rep, result)
    }
    fn set_times(&mut self, fd: Fd, atim: fs::NewTimestamp, mtim: fs::NewTimestamp) -> FsResult<()> {
        let rep = fd.rep();
        let result = now(async_fs::HostDescriptor::set_times(&mut self.0, fd, atim.into(), mtim.into()));
        self.or_read_only(rep, result)
    }
    fn read(&mut self, fd: Fd, len: u64, offset: u64) -> FsResult<(Vec<u8>, bool)> {
        now(async_fs::HostDescriptor::read(&mut self.0, fd, len, offset))
    }
    fn write(&mut self, fd: Fd, buf: Vec<u8>, offset: u64) -> FsResult<u64> {
        let rep = fd.rep();
        let result = now(async_fs::HostDescriptor::write(&mut self.0, fd, buf, offset));
        self.or_read_only(rep, result)
    }
    fn read_directory(&mut self, fd: Fd) -> FsResult<Resource<fs::DirectoryEntryStream>> {
        let Descriptor::Dir(dir) = self.0.table.get(&fd)? else {
            return Err(FsCode::NotDirectory.into());
        };
        let listing = Listing(list(&dir.dir)?.into_iter());
        // The stream's handle names a `Listing`: every call that touches it
        // (the entries, the drop) is implemented below, never by
        // wasmtime-wasi, whose own stream type is private.
        let own = self.0.table.push(listing)?;
        Ok(Resource::new_own(own.rep()))
    }
    fn sync(&mut self, fd: Fd) -> FsResult<()> {
        let rep = fd.rep();
        let result = now(async_fs::HostDescriptor::sync(&mut self.0, fd));
        self.or_read_only(rep, result)
    }
    fn create_directory_at(&mut self, fd: Fd, path: String) -> FsResult<()> {
        let rep = fd.rep();
        let result = now(async_fs::HostDescriptor::create_directory_at(&mut self.0, fd, path));
        self.or_read_only(rep, result)
    }
    fn stat(&mut self, fd: Fd) -> FsResult<fs::DescriptorStat> {
        now(async_fs::HostDescriptor::stat(&mut self.0, fd)).map(Into::into)
    }
    fn stat_at(&mut self, fd: Fd, path_flags: PathFlags, path: String) -> FsResult<fs::DescriptorStat> {
        now(async_fs::HostDescriptor::stat_at(&mut self.0, fd, path_flags.into(), path)).map(Into::into)
    }
    fn set_times_at(&mut self, fd: Fd, path_flags: PathFlags, path: String, atim: fs::NewTimestamp, mtim: fs::NewTimestamp) -> FsResult<()> {
        let rep = fd.rep();
        let result = now(async_fs::HostDescriptor::set_times_at(&mut self.0, fd, path_flags.into(), path, atim.into(), mtim.into()));
        self.or_read_only(rep, result)
    }
    fn link_at(&mut self, fd: Fd, old_flags: PathFlags, old_path: String, new_fd: Fd, new_path: String) -> FsResult<()> {
        let rep = fd.rep();
        let result = now(async_fs::HostDescriptor::link_at(&mut self.0, fd, old_flags.into(), old_path, new_fd, new_path));
        self.or_read_only(rep, result)
    }
    fn drop(&mut self, fd: Fd) -> wasmtime::Result<()> {
        HostDescriptor::drop(&mut self.0, fd)
    }
    fn readlink_at(&mut self, fd: Fd, path: String) -> FsResult<String> {
        now(async_fs::HostDescriptor::readlink_at(&mut self.0, fd, path))
    }
    fn remove_directory_at(&mut self, fd: Fd, path: String) -> FsResult<()> {
        let rep = fd.rep();
        let result = now(async_fs::HostDescriptor::remove_directory_at(&mut self.0, fd, path));
        self.or_read_only(rep, result)
    }
    fn rename_at(&mut self, fd: Fd, old_path: String, new_fd: Fd, new_path: String) -> FsResult<()> {
        // A name renamed to itself is a no-op; an exchange would unlink it.
        if is_plain_name(&old_path) && is_plain_name(&new_path) && !(old_path == new_path && fd.rep() == new_fd.rep()) {
            return self.replace_existing(fd, &old_path, new_fd, &new_path);
        }
        let rep = fd.rep();
        let result = now(async_fs::HostDescriptor::rename_at(&mut self.0, fd, old_path, new_fd, new_path));
        self.or_read_only(rep, result)
    }
    fn symlink_at(&mut self, fd: Fd, src_path: String, dest_path: String) -> FsResult<()> {
        let rep = fd.rep();
        let result = now(async_fs::HostDescriptor::symlink_at(&mut self.0, fd, src_path, dest_path));
        self.or_read_only(rep, result)
    }
    fn unlink_file_at(&mut self, fd: Fd, path: String) -> FsResult<()> {
        let rep = fd.rep();
        let result = now(async_fs::HostDescriptor::unlink_file_at(&mut self.0, fd, path));
        self.or_read_only(rep, result)
    }
    fn read_via_stream(&mut self, fd: Fd, offset: u64) -> FsResult<Resource<streams::InputStream>> {
        self.0.read_via_stream(fd, offset)
    }
    fn write_via_stream(&mut self, fd: Fd, offset: u64) -> FsResult<Resource<streams::OutputStream>> {
        self.0.write_via_stream(fd, offset)
    }
    fn append_via_stream(&mut self, fd: Fd) -> FsResult<Resource<streams::OutputStream>> {
        self.0.append_via_stream(fd)
    }
    fn is_same_object(&mut self, a: Fd, b: Fd) -> wasmtime::Result<bool> {
        now(async_fs::HostDescriptor::is_same_object(&mut self.0, a, b))
    }
    fn metadata_hash(&mut self, fd: Fd) -> FsResult<fs::MetadataHashValue> {
        now(async_fs::HostDescriptor::metadata_hash(&mut self.0, fd)).map(Into::into)
    }
    fn metadata_hash_at(&mut self, fd: Fd, path_flags: PathFlags, path: String) -> FsResult<fs::MetadataHashValue> {
        now(async_fs::HostDescriptor::metadata_hash_at(&mut self.0, fd, path_flags.into(), path)).map(Into::into)
    }
}

impl HostDirectoryEntryStream for NonBlockingOpen<'_> {
    fn read_directory_entry(&mut self, stream: Resource<fs::DirectoryEntryStream>) -> FsResult<Option<fs::DirectoryEntry>> {
        let listing = self.0.table.get_mut(&Resource::<Listing>::new_own(stream.rep()))?;
        listing.0.next().transpose()
    }
    fn drop(&mut self, stream: Resource<fs::DirectoryEntryStream>) -> wasmtime::Result<()> {
        self.0.table.delete(Resource::<Listing>::new_own(stream.rep()))?;
        Ok(())
    }
}

/// A directory's entries, read whole when the guest asked for them (as
/// wasmtime-wasi does), handed out one per `read-directory-entry`.
struct Listing(std::vec::IntoIter<FsResult<fs::DirectoryEntry>>);

/// The entries of `dir` but `.` and `..`, each with its type from the
/// listing itself (`d_type`); only a filesystem that leaves the type
/// unknown costs a stat. wasmtime-wasi stats every entry instead, which
/// reads every inode: a sweep lists the whole directory once per thread,
/// and those stats made a cold listing of 100k sessions cost the component
/// 0.22 s against 0.04 s natively. A name that is not UTF-8 is an
/// `illegal-byte-sequence` entry, and a failure while listing is the last
/// entry, both as in wasmtime-wasi.
fn list(dir: &std::fs::File) -> FsResult<Vec<FsResult<fs::DirectoryEntry>>> {
    use rustix::fs::AtFlags;
    let mut entries = Vec::new();
    // `read_from` opens the directory anew, so the descriptor's own offset
    // is untouched and listings never interfere.
    for entry in rustix::fs::Dir::read_from(dir).map_err(std::io::Error::from)? {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                entries.push(Err(std::io::Error::from(e).into()));
                break;
            }
        };
        let name = entry.file_name();
        if name == c"." || name == c".." {
            continue;
        }
        let kind = match entry.file_type() {
            FileType::Unknown => match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(stat) => FileType::from_raw_mode(stat.st_mode),
                // Deleted since it was listed: gone, as a stat-first listing
                // would have found it.
                Err(rustix::io::Errno::NOENT) => continue,
                Err(e) => return Err(std::io::Error::from(e).into()),
            },
            known => known,
        };
        entries.push(match name.to_str() {
            Ok(name) => Ok(fs::DirectoryEntry { type_: descriptor_type(kind), name: name.to_owned() }),
            Err(_) => Err(FsCode::IllegalByteSequence.into()),
        });
    }
    Ok(entries)
}

/// WASI's name for a file type.
fn descriptor_type(kind: FileType) -> fs::DescriptorType {
    match kind {
        FileType::RegularFile => fs::DescriptorType::RegularFile,
        FileType::Directory => fs::DescriptorType::Directory,
        FileType::Symlink => fs::DescriptorType::SymbolicLink,
        FileType::Fifo => fs::DescriptorType::Fifo,
        FileType::Socket => fs::DescriptorType::Socket,
        FileType::CharacterDevice => fs::DescriptorType::CharacterDevice,
        FileType::BlockDevice => fs::DescriptorType::BlockDevice,
        _ => fs::DescriptorType::Unknown,
    }
}

impl Host for NonBlockingOpen<'_> {
    fn convert_error_code(&mut self, err: FsError) -> wasmtime::Result<ErrorCode> {
        self.0.convert_error_code(err)
    }
    fn filesystem_error_code(&mut self, err: Resource<streams::Error>) -> wasmtime::Result<Option<ErrorCode>> {
        // A stream's error still holds the OS error: EROFS is `read-only`
        // here too (wasmtime-wasi would say `io`).
        let rofs = self.0.table.get(&err).ok().and_then(|e| e.downcast_ref::<std::io::Error>()).and_then(std::io::Error::raw_os_error)
            == Some(rustix::io::Errno::ROFS.raw_os_error());
        if rofs {
            return Ok(Some(ErrorCode::ReadOnly));
        }
        self.0.filesystem_error_code(err)
    }
}
