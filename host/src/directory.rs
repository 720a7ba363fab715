//! Preparing the session directory: WASI cannot set file modes, so the host
//! owns the directory's permissions.

use crate::error::Error;
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Makes sure `dir` is a directory and returns its canonical path. A missing
/// directory is created with mode 0700 when its parent exists (a missing
/// parent is a configuration error, as in Django); an existing one that group
/// or others can access is used, with a warning.
pub(crate) fn prepare(dir: &Path) -> Result<PathBuf, Error> {
    let config = |what: String| Error::Config(format!("session directory {}: {what}", dir.display()));
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                log::warn!(
                    "session directory {} has mode {mode:o}: other users can reach the session files; chmod 700 it",
                    dir.display()
                );
            }
        }
        Ok(_) => return Err(config("exists but is not a directory".into())),
        Err(e) if e.kind() == ErrorKind::NotFound => match std::fs::DirBuilder::new().mode(0o700).create(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(config("does not exist, and neither does its parent; create it first".into()))
            }
            Err(e) => return Err(config(format!("cannot create it: {e}"))),
        },
        Err(e) => return Err(config(e.to_string())),
    }
    dir.canonicalize().map_err(|e| config(e.to_string()))
}

/// How often at most [`DirWatch::check`] looks at the path again: a stat
/// per call would cost a tenth of a load.
const CHECK_EVERY: Duration = Duration::from_millis(50);

/// Which directory the session path names, so a store notices the
/// directory deleted and re-created (or replaced) under it: instances hold
/// a handle to the directory they were opened on, and would otherwise keep
/// working in a deleted one.
pub(crate) struct DirWatch {
    path: PathBuf,
    started: Instant,
    /// When the path was last looked at, in milliseconds since `started`.
    checked_ms: AtomicU64,
    /// The directory's device and inode when last looked at.
    id: Mutex<Option<(u64, u64)>>,
    /// Bumped each time the path names another directory: instances opened
    /// under an older generation are retired.
    generation: AtomicU64,
    /// Whether the last attempt to make the directory again failed (and
    /// said so): one warning until it works again, not one per call.
    failing: AtomicBool,
}

impl DirWatch {
    /// Watches `path`, the prepared (canonical) session directory.
    pub(crate) fn new(path: PathBuf) -> DirWatch {
        let id = identity(&path).ok();
        DirWatch { path, started: Instant::now(), checked_ms: AtomicU64::new(0), id: Mutex::new(id), generation: AtomicU64::new(0), failing: AtomicBool::new(false) }
    }

    /// The current generation: what a new instance is opened under.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Looks at the path if [`CHECK_EVERY`] has passed since the last look
    /// (or at once with `now`). When it no longer names the directory seen
    /// before (deleted, re-created, replaced), prepares it again (a missing
    /// one is created 0700, as at open) and starts a new generation.
    /// Returns whether it did.
    pub(crate) fn check(&self, now: bool) -> bool {
        let elapsed = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let last = self.checked_ms.load(Ordering::Relaxed);
        let due = now || elapsed.saturating_sub(last) >= CHECK_EVERY.as_millis() as u64;
        // One thread looks; the others go on meanwhile.
        if !due || self.checked_ms.compare_exchange(last, elapsed, Ordering::Relaxed, Ordering::Relaxed).is_err() {
            return false;
        }
        let Ok(mut seen) = self.id.lock() else { return false };
        let current = match identity(&self.path) {
            Ok(id) => Some(id),
            Err(e) if e.kind() == ErrorKind::NotFound => None,
            // Unreadable for another reason: the calls will say why.
            Err(_) => return false,
        };
        if current.is_some() && current == *seen {
            return false;
        }
        if current.is_none() {
            if let Err(e) = prepare(&self.path) {
                if !self.failing.swap(true, Ordering::Relaxed) {
                    log::warn!("{e}");
                }
                return false;
            }
        }
        self.failing.store(false, Ordering::Relaxed);
        let Ok(id) = identity(&self.path) else { return false };
        log::warn!("session directory {} was replaced; reopening it", self.path.display());
        *seen = Some(id);
        self.generation.fetch_add(1, Ordering::AcqRel);
        true
    }
}

/// The device and inode of the directory at `path`.
fn identity(path: &Path) -> std::io::Result<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path)?;
    if !meta.is_dir() {
        return Err(std::io::Error::new(ErrorKind::NotADirectory, "not a directory"));
    }
    Ok((meta.dev(), meta.ino()))
}
