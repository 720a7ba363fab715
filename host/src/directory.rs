//! Preparing the session directory: WASI cannot set file modes, so the host
//! owns the directory's permissions.

use crate::error::Error;
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

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
