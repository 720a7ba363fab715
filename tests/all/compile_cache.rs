//! The compiled-component cache, through the real binary: created private,
//! every artifact checked against its digest, and anything another user
//! could have written refused (the component compiled afresh) instead of run.
//! Each test has its own cache directory; the damaged artifacts are a good
//! one with its whole `.text` overwritten by `ud2`, so running one crashes.

use sha2::{Digest, Sha256};
use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

const SECRET: &str = "compile-cache-test-secret";

/// A scratch directory: sessions, config home, and whatever cache the test
/// sets up.
struct Case {
    root: tempfile::TempDir,
}

impl Case {
    fn new() -> Case {
        Case { root: tempfile::tempdir().unwrap() }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.path().join(rel)
    }

    /// A cache directory that passes the checks (0700, ours).
    fn private_dir(&self, rel: &str) -> PathBuf {
        let dir = self.path(rel);
        fs::create_dir_all(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
        dir
    }

    fn run(&self, cache: &Path, args: &[&str]) -> Output {
        crate::support::sessionbox_on(&self.path("sessions"), SECRET)
            .args(args)
            .env("SESSIONBOX_CACHE_DIR", cache)
            .env("XDG_CONFIG_HOME", self.path("config"))
            .output()
            .unwrap()
    }

    /// Creates a session; the command must exit 0 (not die on a signal) and
    /// the session file must be there. Returns the key and the stderr.
    fn create(&self, cache: &Path) -> (String, String) {
        let out = self.run(cache, &["create", r#"{"cart":[1,2]}"#]);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(0), "create ended with {:?}: {stderr}", out.status);
        let created: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let key = created["key"].as_str().expect("create prints the key").to_owned();
        assert!(self.path("sessions").join(format!("sessionid{key}")).is_file(), "no session file for {key}");
        (key, stderr)
    }

    /// Creates a session and reads it back in a second run (which uses
    /// whatever the first left in the cache). Returns the first run's stderr.
    fn round_trip(&self, cache: &Path) -> String {
        let (key, stderr) = self.create(cache);
        let out = self.run(cache, &["get", &key]);
        let get_stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "get ended with {:?}: {get_stderr}", out.status);
        assert_eq!(serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap(), serde_json::json!({"cart": [1, 2]}));
        assert_eq!(warnings(&get_stderr), Vec::<&str>::new(), "the second run, from a good cache, warns");
        stderr
    }
}

fn warnings(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.starts_with("sessionbox: warn:")).collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// The name of the one artifact in `cache`.
fn only_artifact(cache: &Path) -> String {
    let names: Vec<String> = fs::read_dir(cache)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".cwasm"))
        .collect();
    assert_eq!(names.len(), 1, "expected one artifact in {}: {names:?}", cache.display());
    names.into_iter().next().unwrap()
}

/// Asserts that `name` in `cache` is a private regular file of ours and that
/// its digest file (also private) holds its SHA-256.
fn assert_verified(cache: &Path, name: &str) {
    let artifact = cache.join(name);
    let digest_file = cache.join(format!("{name}.sha256"));
    for file in [&artifact, &digest_file] {
        let meta = fs::symlink_metadata(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(meta.file_type().is_file(), "{} is not a regular file", file.display());
        assert_eq!(format!("{:o}", meta.mode() & 0o777), "600", "{} mode", file.display());
        // SAFETY: geteuid has no preconditions.
        assert_eq!(meta.uid(), unsafe { libc::geteuid() }, "{} owner", file.display());
    }
    let digest = fs::read_to_string(&digest_file).unwrap();
    assert_eq!(digest.trim_end(), sha256_hex(&fs::read(&artifact).unwrap()), "digest of {}", artifact.display());
}

/// A good artifact and its file name, compiled once for all these tests.
fn good_artifact() -> &'static (String, Vec<u8>) {
    static GOOD: OnceLock<(String, Vec<u8>)> = OnceLock::new();
    GOOD.get_or_init(|| {
        let case = Case::new();
        let cache = case.private_dir("cache");
        case.create(&cache);
        let name = only_artifact(&cache);
        let bytes = fs::read(cache.join(&name)).unwrap();
        (name, bytes)
    })
}

/// The good artifact with every byte of its `.text` section replaced by
/// `ud2` (0F 0B): wasmtime's header and metadata still check out, and any
/// function it calls traps on its first instruction.
fn damaged_artifact() -> Vec<u8> {
    let mut bytes = good_artifact().1.clone();
    let text = elf_section(&bytes, b".text");
    assert!(text.len() > 4096 && text.start >= 64, "implausible .text {text:?}");
    for (i, b) in bytes[text].iter_mut().enumerate() {
        *b = if i % 2 == 0 { 0x0f } else { 0x0b };
    }
    bytes
}

/// The byte range of a named section in a little-endian ELF64 file.
fn elf_section(elf: &[u8], wanted: &[u8]) -> std::ops::Range<usize> {
    assert_eq!(&elf[..6], b"\x7fELF\x02\x01", "not a little-endian ELF64 file");
    let int = |at: usize, len: usize| elf[at..at + len].iter().rev().fold(0usize, |n, &b| n << 8 | usize::from(b));
    let (shoff, shentsize, shnum, shstrndx) = (int(0x28, 8), int(0x3a, 2), int(0x3c, 2), int(0x3e, 2));
    let header = |i: usize| shoff + i * shentsize;
    let names = int(header(shstrndx) + 0x18, 8);
    for i in 0..shnum {
        let name_at = names + int(header(i), 4);
        let name = elf[name_at..].split(|&b| b == 0).next().unwrap();
        if name == wanted {
            let offset = int(header(i) + 0x18, 8);
            return offset..offset + int(header(i) + 0x20, 8);
        }
    }
    panic!("no {} section", String::from_utf8_lossy(wanted));
}

/// Writes `bytes` as `cache/name`, and a digest file holding the SHA-256 of
/// `digest_of`, both regular files of ours with mode 0600.
fn plant(cache: &Path, name: &str, bytes: &[u8], digest_of: &[u8]) {
    let digest = format!("{}\n", sha256_hex(digest_of));
    for (file, contents) in [(cache.join(name), bytes), (cache.join(format!("{name}.sha256")), digest.as_bytes())] {
        fs::write(&file, contents).unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).unwrap();
    }
}

/// Every entry in `dir` with its bytes and modification time.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>, std::time::SystemTime)> {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            let meta = fs::symlink_metadata(&path).unwrap();
            (path.file_name().unwrap().to_string_lossy().into_owned(), fs::read(&path).unwrap(), meta.modified().unwrap())
        })
        .collect();
    entries.sort();
    entries
}

#[test]
fn fresh_cache_is_private_with_a_matching_digest() {
    let case = Case::new();
    // The parent is missing too: it is created as usual, the cache itself 0700.
    let cache = case.path("cache-home/sessionbox");
    let stderr = case.round_trip(&cache);
    assert_eq!(warnings(&stderr), Vec::<&str>::new());
    assert_eq!(format!("{:o}", fs::metadata(&cache).unwrap().mode() & 0o777), "700", "cache directory mode");
    let name = only_artifact(&cache);
    let mut entries: Vec<String> = fs::read_dir(&cache).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    entries.sort();
    assert_eq!(entries, [name.clone(), format!("{name}.sha256")], "nothing else (no temp files) in the cache");
    assert_verified(&cache, &name);
}

#[test]
fn damaged_artifact_with_a_good_header_is_recompiled_not_run() {
    let case = Case::new();
    let cache = case.private_dir("cache");
    let (name, good) = good_artifact();
    let damaged = damaged_artifact();
    // The digest is the good artifact's: the bytes rotted after they were written.
    plant(&cache, name, &damaged, good);
    case.round_trip(&cache);
    assert_verified(&cache, name);
    assert_ne!(fs::read(cache.join(name)).unwrap(), damaged, "the damaged artifact is still there");
}

#[test]
fn cache_without_digests_is_rebuilt_quietly() {
    // What earlier versions left: a good artifact, mode 0644, no digest.
    let case = Case::new();
    let cache = case.private_dir("cache");
    let (name, good) = good_artifact();
    fs::write(cache.join(name), good).unwrap();
    fs::set_permissions(cache.join(name), fs::Permissions::from_mode(0o644)).unwrap();
    let stderr = case.round_trip(&cache);
    assert_eq!(warnings(&stderr), Vec::<&str>::new(), "an old cache is not a threat");
    assert_verified(&cache, name);
}

#[test]
fn cache_dir_others_can_write_is_neither_read_nor_written() {
    let (name, _) = good_artifact();
    let damaged = damaged_artifact();
    for mode in [0o777, 0o757, 0o770] {
        let case = Case::new();
        let cache = case.private_dir("cache");
        // A damaged artifact with a matching digest, both ours and private:
        // only the directory's mode says not to trust them.
        plant(&cache, name, &damaged, &damaged);
        fs::set_permissions(&cache, fs::Permissions::from_mode(mode)).unwrap();
        let before = snapshot(&cache);
        let (_, stderr) = case.create(&cache);
        let warned = warnings(&stderr);
        assert_eq!(warned.len(), 1, "mode {mode:o}: expected one warning: {stderr}");
        assert!(warned[0].contains(&cache.display().to_string()), "the warning names the directory: {}", warned[0]);
        assert!(warned[0].contains("every run compiles the component (this one took "), "the warning says what it costs: {}", warned[0]);
        assert_eq!(snapshot(&cache), before, "mode {mode:o}: the cache directory was written to");
    }
}

#[test]
fn artifact_owned_by_another_user_is_refused() {
    let case = Case::new();
    let cache = case.private_dir("cache");
    let (name, _) = good_artifact();
    let damaged = damaged_artifact();
    plant(&cache, name, &damaged, &damaged);
    let path = CString::new(cache.join(name).as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path; chown has no other preconditions.
    let rc = unsafe { libc::chown(path.as_ptr(), 65534, 65534) };
    assert_eq!(rc, 0, "cannot chown the planted artifact (these tests must run as root): {}", std::io::Error::last_os_error());
    let stderr = case.round_trip(&cache);
    assert!(stderr.contains("owned by uid 65534"), "no warning about the foreign artifact: {stderr}");
    assert_verified(&cache, name);
}

#[test]
fn artifact_others_can_write_is_refused() {
    let case = Case::new();
    let cache = case.private_dir("cache");
    let (name, _) = good_artifact();
    let damaged = damaged_artifact();
    plant(&cache, name, &damaged, &damaged);
    fs::set_permissions(cache.join(name), fs::Permissions::from_mode(0o620)).unwrap();
    let stderr = case.round_trip(&cache);
    assert!(stderr.contains("other users can write to it"), "no warning about the writable artifact: {stderr}");
    assert_verified(&cache, name);
}

#[test]
fn symlinked_artifact_is_refused() {
    let case = Case::new();
    let cache = case.private_dir("cache");
    let (name, _) = good_artifact();
    let damaged = damaged_artifact();
    // The link's target is a private file of ours, and the digest matches
    // it: only the link itself says not to trust it.
    let target = case.private_dir("elsewhere").join("planted.cwasm");
    plant(&cache, name, &damaged, &damaged);
    fs::rename(cache.join(name), &target).unwrap();
    std::os::unix::fs::symlink(&target, cache.join(name)).unwrap();
    let stderr = case.round_trip(&cache);
    assert!(stderr.contains("symbolic link"), "no warning about the symlink: {stderr}");
    assert_verified(&cache, name);
    assert_eq!(fs::read(&target).unwrap(), damaged, "the link's target was written through");
}

#[test]
fn cache_dir_that_cannot_be_created_warns_once() {
    let case = Case::new();
    let file = case.path("a-file");
    fs::write(&file, b"not a directory").unwrap();
    let cache = file.join("sessionbox");
    let (_, stderr) = case.create(&cache);
    let warned = warnings(&stderr);
    assert_eq!(warned.len(), 1, "expected one warning: {stderr}");
    assert!(warned[0].contains(&cache.display().to_string()), "the warning names the directory: {}", warned[0]);
    assert!(warned[0].contains("every run compiles the component (this one took "), "the warning says what it costs: {}", warned[0]);
    assert_eq!(fs::read(&file).unwrap(), b"not a directory");
}
