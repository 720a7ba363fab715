//! Compiles the embedded component once per machine: the compiled artifact is
//! kept in a cache directory, keyed by the component's hash and the engine's
//! compatibility hash, so a one-shot CLI run deserializes it in milliseconds
//! instead of compiling for a few hundred.
//!
//! The artifact is native code that this process jumps into, so nothing in the
//! cache is taken on trust. The directory must belong to this user and be
//! writable by no one else, or it is not read or written at all (the component
//! is compiled in memory, with one warning). Each file read from it must be a
//! regular file, not a symlink, with the same owner and mode rule. Next to
//! `X.cwasm` lives `X.cwasm.sha256`, the SHA-256 of its exact bytes. The
//! artifact is read into memory, not mapped, so it cannot change after it is
//! checked, and it is used only if it matches that digest. Anything that
//! fails a check is compiled again and both files are rewritten.

use sha2::{Digest, Sha256};
use std::fs::{Metadata, OpenOptions};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use wasmtime::component::Component;
use wasmtime::Engine;

/// An embedded guest component: its bytes and their SHA-256 in hex.
pub(crate) struct Guest {
    pub(crate) wasm: &'static [u8],
    sha256: &'static str,
}

/// The embedded guest component over a directory.
pub(crate) const GUEST: Guest =
    Guest { wasm: include_bytes!(env!("SESSIONBOX_GUEST_WASM")), sha256: env!("SESSIONBOX_GUEST_SHA256") };

/// The embedded guest component over the host's key-value import.
pub(crate) const GUEST_KV: Guest =
    Guest { wasm: include_bytes!(env!("SESSIONBOX_GUEST_KV_WASM")), sha256: env!("SESSIONBOX_GUEST_KV_SHA256") };

/// A digest file holds 64 hex digits and a newline; anything much longer is
/// not one of ours, and is not worth reading.
const DIGEST_FILE_MAX: u64 = 128;

/// The artifact is about 1 MB; a file hundreds of times that size is not one
/// of ours, and reading it whole would only risk running out of memory.
const ARTIFACT_MAX: u64 = 256 << 20;

/// Where compiled components are cached: `$SESSIONBOX_CACHE_DIR` (empty
/// disables caching), else the user's cache directory + `sessionbox`.
pub fn cache_dir() -> Option<PathBuf> {
    match std::env::var_os("SESSIONBOX_CACHE_DIR") {
        Some(dir) if dir.is_empty() => None,
        Some(dir) => Some(PathBuf::from(dir)),
        None => dirs::cache_dir().map(|d| d.join("sessionbox")),
    }
}

/// `guest`, from the cache when a verified artifact for this
/// component and engine is there, else compiled (and cached when the cache
/// directory is private to this user).
pub(crate) fn load_component(engine: &Engine, guest: &Guest) -> wasmtime::Result<Component> {
    let Some(dir) = cache_dir() else {
        return Component::new(engine, guest.wasm);
    };
    if let Err(why) = prepare_dir(&dir) {
        let start = Instant::now();
        let component = Component::new(engine, guest.wasm)?;
        warn_uncached(&dir, &why, start.elapsed());
        return Ok(component);
    }
    let path = dir.join(artifact_name(engine, guest));
    match read_verified(&path) {
        Ok(bytes) => {
            // SAFETY: `bytes` is a copy in this process's memory (read, not
            // mapped: the file changing now cannot change it) and its SHA-256
            // equals the digest stored beside it. Both files were checked,
            // through the descriptors they were read from, to be regular
            // files (not symlinks) owned by this process's effective uid and
            // writable by no group or other user; the directory was checked
            // just before, by path, against the same rule. So no other user
            // (root aside) can write them or swap them, and this module only
            // ever writes there `precompile_component` output for this
            // component and an engine whose compatibility hash is in the file
            // name. wasmtime checks the header (version, target, settings)
            // before using the code. Not verified: that this module, rather
            // than another program run by the same user, wrote them; whoever
            // can do that already runs code as this user.
            match unsafe { Component::deserialize(engine, &bytes) } {
                Ok(component) => return Ok(component),
                Err(e) => log::debug!("ignoring unusable cached component {}: {e:#}", path.display()),
            }
        }
        Err(Rejected::Stale(why)) => log::debug!("not using cached component {}: {why}", path.display()),
        Err(Rejected::Untrusted(why)) => {
            log::warn!("ignoring cached component {}: {why}; compiling it again", path.display())
        }
    }
    let start = Instant::now();
    let compiled = engine.precompile_component(guest.wasm)?;
    let took = start.elapsed();
    if let Err(e) = store(&dir, &path, &compiled) {
        warn_uncached(&dir, &format!("it cannot be written ({e})"), took);
    }
    // SAFETY: these bytes were produced just now, in memory, by this engine.
    unsafe { Component::deserialize(engine, &compiled) }
}

/// Why a cached file was not used.
enum Rejected {
    /// Absent, unreadable or not matching its digest: a cold or damaged
    /// cache, rebuilt without comment.
    Stale(String),
    /// Someone other than this user could have put it there: worth a warning.
    Untrusted(String),
}

impl Rejected {
    /// Names the file the reason is about (the digest file, when the warning
    /// names the artifact).
    fn about(self, path: &Path) -> Rejected {
        match self {
            Rejected::Stale(why) => Rejected::Stale(format!("{}: {why}", path.display())),
            Rejected::Untrusted(why) => Rejected::Untrusted(format!("{}: {why}", path.display())),
        }
    }
}

/// `guest-<component sha256 prefix>-<engine compatibility hash>.cwasm`.
fn artifact_name(engine: &Engine, guest: &Guest) -> String {
    let mut hasher = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    format!("guest-{}-{:016x}.cwasm", &guest.sha256[..16], hasher.finish())
}

fn digest_path(artifact: &Path) -> PathBuf {
    let mut name = artifact.as_os_str().to_owned();
    name.push(".sha256");
    PathBuf::from(name)
}

/// Creates the cache directory if it is missing (the directory itself 0700,
/// missing parents as usual), then checks that only this user can write to
/// it. The error says why the directory cannot be used.
fn prepare_dir(dir: &Path) -> Result<(), String> {
    let meta = match std::fs::metadata(dir) {
        Ok(meta) => meta,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            create_private_dir(dir).map_err(|e| format!("it cannot be created ({e})"))?;
            std::fs::metadata(dir).map_err(|e| format!("it cannot be inspected ({e})"))?
        }
        Err(e) => return Err(format!("it cannot be inspected ({e})")),
    };
    if !meta.is_dir() {
        return Err("it is not a directory".into());
    }
    only_owner_writes(&meta)
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        // Another process may have created it meanwhile; the caller checks
        // whatever is there now.
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(()),
        result => result,
    }
}

/// Ok when `meta` (a file or the directory) belongs to this process's
/// effective uid and neither its group nor others may write it.
fn only_owner_writes(meta: &Metadata) -> Result<(), String> {
    let euid = rustix::process::geteuid().as_raw();
    if meta.uid() != euid {
        return Err(format!("it is owned by uid {}, not by this user (uid {euid})", meta.uid()));
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(format!("other users can write to it (mode {mode:o})"));
    }
    Ok(())
}

/// The artifact's bytes, once it and its digest file pass the ownership
/// checks and the bytes match the digest.
fn read_verified(path: &Path) -> Result<Vec<u8>, Rejected> {
    let bytes = read_checked(path, ARTIFACT_MAX)?;
    let digest_path = digest_path(path);
    let digest = read_checked(&digest_path, DIGEST_FILE_MAX).map_err(|r| r.about(&digest_path))?;
    let actual = format!("{:x}", Sha256::digest(&bytes));
    if digest.trim_ascii() != actual.as_bytes() {
        return Err(Rejected::Stale(format!("its bytes do not match {}", digest_path.display())));
    }
    Ok(bytes)
}

/// Reads a file from the cache directory, refusing symlinks (`O_NOFOLLOW`)
/// and anything that is not a regular file only this user can write. The
/// checks are made on the open descriptor, so they describe the very bytes
/// read; the directory's own check keeps others from swapping entries.
fn read_checked(path: &Path, max_len: u64) -> Result<Vec<u8>, Rejected> {
    // O_NONBLOCK: opening a FIFO must not hang; it changes nothing for a
    // regular file.
    let file = OpenOptions::new()
        .read(true)
        .custom_flags((rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK).bits() as i32)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(e) if e == rustix::io::Errno::LOOP.raw_os_error() => Rejected::Untrusted("it is a symbolic link".into()),
            _ if e.kind() == ErrorKind::NotFound => Rejected::Stale("not cached yet".into()),
            _ => Rejected::Stale(format!("cannot open it: {e}")),
        })?;
    let meta = file.metadata().map_err(|e| Rejected::Stale(format!("cannot inspect it: {e}")))?;
    if !meta.is_file() {
        return Err(Rejected::Untrusted("it is not a regular file".into()));
    }
    only_owner_writes(&meta).map_err(Rejected::Untrusted)?;
    if meta.len() > max_len {
        return Err(Rejected::Stale("it is too large".into()));
    }
    // The length is a hint: the read stops at the real end, or at `max_len`.
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    (&file)
        .take(max_len)
        .read_to_end(&mut bytes)
        .map_err(|e| Rejected::Stale(format!("cannot read it: {e}")))?;
    Ok(bytes)
}

/// Writes the artifact, then its digest, each atomically (a private temp file
/// renamed into place). A reader between the two renames sees a mismatch
/// and compiles; it never sees a partial file.
fn store(dir: &Path, path: &Path, compiled: &[u8]) -> std::io::Result<()> {
    write_private(dir, path, compiled)?;
    let digest = format!("{:x}\n", Sha256::digest(compiled));
    write_private(dir, &digest_path(path), digest.as_bytes())
}

fn write_private(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    // A random name, so a temp file left by a crashed run whose pid comes
    // round again cannot block this one (create_new refuses existing names,
    // symlinks included).
    let tag = getrandom::u64().unwrap_or_else(|_| u64::from(std::process::id()));
    let temp = dir.join(format!(".tmp-{}-{tag:016x}", std::process::id()));
    let mut file = OpenOptions::new().write(true).create_new(true).mode(0o600).open(&temp)?;
    // An empty directory in the file's place (nothing this module makes)
    // would block the rename forever; a non-empty one stays, and is named.
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir()) {
        let _ = std::fs::remove_dir(path);
    }
    // From here on the temp file is ours to remove if anything fails.
    file.write_all(bytes).and_then(|()| std::fs::rename(&temp, path)).map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        std::io::Error::new(e.kind(), format!("{}: {e}", path.display()))
    })
}

/// Says, once per process, that the cache is not in use and what that costs:
/// without it every run pays the whole compile, which otherwise goes unseen.
fn warn_uncached(dir: &Path, why: &str, took: Duration) {
    static WARNED: AtomicBool = AtomicBool::new(false);
    if !WARNED.swap(true, Ordering::Relaxed) {
        log::warn!(
            "not using the compile cache {}: {why}; so every run compiles the component (this one took {}); \
             point SESSIONBOX_CACHE_DIR at a directory only you can write, or set it empty to compile without this warning",
            dir.display(),
            human(took)
        );
    }
}

/// "250 ms", "11.3 s".
fn human(took: Duration) -> String {
    if took < Duration::from_secs(1) {
        format!("{} ms", took.as_millis())
    } else {
        format!("{:.1} s", took.as_secs_f64())
    }
}
