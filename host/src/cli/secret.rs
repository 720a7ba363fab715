//! The store settings from the command line, and where the secret key comes
//! from: --secret-key-file, else $SESSIONBOX_SECRET_KEY, else a key generated
//! once and kept (mode 0600) in the user's config directory.

use super::args::{Cli, DurabilityArg};
use super::Failure;
use sessionbox::{Durability, Settings};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The environment variable holding the secret key.
pub const SECRET_ENV: &str = "SESSIONBOX_SECRET_KEY";

/// Characters of generated secrets (Django's `get_random_secret_key`).
const SECRET_CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789!@#$%^&*(-_=+)";

/// The settings the command line asks for.
pub fn settings(cli: &Cli) -> Result<Settings, Failure> {
    let mut settings = Settings::new(secret_key(cli)?);
    if let Some(path) = &cli.fallback_keys_file {
        settings.fallback_keys = read_key_file(path)?;
    }
    settings.cookie_age = cli.cookie_age;
    settings.file_prefix = cli.prefix.clone();
    settings.key_salt = cli.key_salt.clone();
    settings.max_session_size = cli.max_session_size;
    settings.durability = match cli.durability {
        DurabilityArg::None => Durability::None,
        DurabilityArg::File => Durability::File,
        DurabilityArg::Full => Durability::Full,
    };
    Ok(settings)
}

fn secret_key(cli: &Cli) -> Result<String, Failure> {
    if let Some(path) = &cli.secret_key_file {
        return read_one_key(path);
    }
    match std::env::var_os(SECRET_ENV) {
        None => generated_key(&cli.dir),
        // Set but unusable is a mistake to report, never a reason to sign
        // with some other secret.
        Some(key) if key.is_empty() => Err(Failure::Error(format!("{SECRET_ENV} is set but empty; unset it or give the secret"))),
        Some(key) => key.into_string().map_err(|_| Failure::Error(format!("{SECRET_ENV} is not valid UTF-8"))),
    }
}

/// The secrets in a key file: one per line. A line ends at LF or at the
/// end of the file, and one CR at its end is dropped (files saved on
/// Windows); nothing else is trimmed, so a secret may begin or end with
/// spaces. Empty lines are skipped. The same rule for the secret key, the fallback keys and the
/// generated key, so a secret survives rotation from one file to the other.
pub fn key_lines(text: &str) -> Vec<String> {
    text.split('\n').map(|line| line.strip_suffix('\r').unwrap_or(line)).filter(|line| !line.is_empty()).map(str::to_owned).collect()
}

/// Largest key file read: far more than any list of secrets, far less than
/// `/dev/zero` would fill.
const MAX_KEY_FILE: u64 = 16 << 20;

/// Every secret in the key file at `path`: a regular file, or a pipe (as
/// `--secret-key-file <(pass show app)` gives), at most 16 MiB.
fn read_key_file(path: &Path) -> Result<Vec<String>, Failure> {
    use std::io::Read;
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let fail = |why: String| Failure::Error(format!("key file {}: {why}", path.display()));
    // Non-blocking open: a FIFO nobody writes to must not hang the command.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(path)
        .map_err(|e| fail(e.to_string()))?;
    let meta = file.metadata().map_err(|e| fail(e.to_string()))?;
    let kind = meta.file_type();
    if !kind.is_file() && !kind.is_fifo() {
        return Err(fail("not a regular file or a pipe".into()));
    }
    // Reads may wait for a pipe's writer; only the open had to be quick.
    let flags = rustix::fs::fcntl_getfl(&file).map_err(|e| fail(e.to_string()))?;
    rustix::fs::fcntl_setfl(&file, flags - rustix::fs::OFlags::NONBLOCK).map_err(|e| fail(e.to_string()))?;
    let mut bytes = Vec::new();
    file.take(MAX_KEY_FILE + 1).read_to_end(&mut bytes).map_err(|e| fail(e.to_string()))?;
    if bytes.len() as u64 > MAX_KEY_FILE {
        return Err(fail(format!("larger than {} MiB", MAX_KEY_FILE >> 20)));
    }
    let text = String::from_utf8(bytes).map_err(|_| fail("not valid UTF-8".into()))?;
    if kind.is_file() && meta.permissions().mode() & 0o077 != 0 {
        log::warn!("{} can be read by other users; chmod 600 it", path.display());
    }
    Ok(key_lines(&text))
}

/// The one secret in the key file at `path`.
fn read_one_key(path: &Path) -> Result<String, Failure> {
    let mut keys = read_key_file(path)?;
    match keys.len() {
        1 => Ok(keys.remove(0)),
        0 => Err(Failure::Error(format!("key file {}: holds no secret", path.display()))),
        n => Err(Failure::Error(format!("key file {}: holds {n} lines; a secret key file holds one secret on one line", path.display()))),
    }
}

/// Where the generated secret is kept.
fn generated_key_path() -> Result<PathBuf, Failure> {
    dirs::config_dir()
        .map(|d| d.join("sessionbox").join("secret-key"))
        .ok_or_else(|| Failure::Error(format!("no secret key: set {SECRET_ENV} or pass --secret-key-file (no config directory to keep a generated one in)")))
}

/// The generated secret: the one already kept, else a new one, kept now.
/// Several first runs at once agree on one secret: each writes its own to a
/// temporary file and links it into place, and a run that finds the place
/// taken reads the winner's, which is complete from the moment it appears.
fn generated_key(session_dir: &Path) -> Result<String, Failure> {
    let path = generated_key_path()?;
    if path.exists() {
        return read_one_key(&path);
    }
    // Never inside the session directory: that is the one place the guest
    // (and anyone who can read sessions) can see.
    let session_dir = session_dir.canonicalize().unwrap_or_else(|_| session_dir.to_path_buf());
    if path.starts_with(&session_dir) {
        return Err(Failure::Error(format!("refusing to keep the secret key inside the session directory ({})", path.display())));
    }
    let key = random_secret()?;
    let fail = |e: std::io::Error| Failure::Error(format!("keeping the generated secret key at {}: {e}", path.display()));
    let Some(parent) = path.parent() else {
        return Err(fail(std::io::Error::new(std::io::ErrorKind::InvalidInput, "no parent directory")));
    };
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(parent).map_err(fail)?;
    if !keep_new(parent, &path, &key).map_err(fail)? {
        // Another run kept its secret first: use that one.
        return read_one_key(&path);
    }
    let _ = writeln!(
        std::io::stderr(),
        "sessionbox: generated a new secret key and saved it to {} (mode 0600); set {SECRET_ENV} or pass --secret-key-file to use your own",
        path.display()
    );
    Ok(key)
}

/// Puts a file holding `key` (mode 0600, fsynced) at `path` unless
/// something is there already: written in full to a temporary file in
/// `dir` first, then hard-linked into place, which fails if `path` exists
/// (where hard links are unsupported, a rename that refuses to replace).
/// So `path` never holds a partial secret. `false` when `path` was taken.
fn keep_new(dir: &Path, path: &Path, key: &str) -> std::io::Result<bool> {
    let mut suffix = [0u8; 8];
    getrandom::fill(&mut suffix).map_err(|e| std::io::Error::other(format!("the OS random source failed: {e}")))?;
    let temp = dir.join(format!(".secret-key.{}.{:016x}.tmp", std::process::id(), u64::from_ne_bytes(suffix)));
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&temp)?;
    let kept = file.write_all(key.as_bytes()).and_then(|()| file.sync_all()).and_then(|()| match std::fs::hard_link(&temp, path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(_) => match rustix::fs::renameat_with(rustix::fs::CWD, &temp, rustix::fs::CWD, path, rustix::fs::RenameFlags::NOREPLACE) {
            Ok(()) => Ok(true),
            Err(rustix::io::Errno::EXIST) => Ok(false),
            Err(e) => Err(e.into()),
        },
    });
    // After a link the secret has two names, after a rename one; either
    // way the temporary name goes.
    let _ = std::fs::remove_file(&temp);
    kept
}

/// 50 characters drawn uniformly from `SECRET_CHARS` (rejection sampling:
/// a plain modulo would favour the first characters).
fn random_secret() -> Result<String, Failure> {
    let limit = 256 - 256 % SECRET_CHARS.len();
    let mut key = String::with_capacity(50);
    let mut buf = [0u8; 64];
    while key.len() < 50 {
        getrandom::fill(&mut buf).map_err(|e| Failure::Error(format!("the OS random source failed: {e}")))?;
        for &b in buf.iter().filter(|&&b| (b as usize) < limit) {
            if key.len() < 50 {
                key.push(SECRET_CHARS[b as usize % SECRET_CHARS.len()] as char);
            }
        }
    }
    Ok(key)
}
