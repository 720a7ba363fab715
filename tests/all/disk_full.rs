//! A full disk (ENOSPC) on a tiny tmpfs mounted for the test: saves fail
//! with an I/O error, the previous content survives, no temporary file is
//! left, and the store works again once space is freed. A read-only one
//! (EROFS): every write says so, through the library and the CLI. Needs root
//! (or CAP_SYS_ADMIN) to mount; where mounting is impossible the tests fail.

use sessionbox::{Data, Durability, Error, Settings, Store};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A tmpfs mounted at a temporary directory, unmounted on drop.
pub(crate) struct TinyDisk {
    pub(crate) mount: PathBuf,
    _root: tempfile::TempDir,
}

impl TinyDisk {
    pub(crate) fn mount(size: &str) -> Result<TinyDisk, String> {
        let root = tempfile::tempdir().map_err(|e| e.to_string())?;
        let mount = root.path().join("disk");
        std::fs::create_dir(&mount).map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700"), "tmpfs"])
            .arg(&mount)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_owned());
        }
        Ok(TinyDisk { mount, _root: root })
    }
}

impl TinyDisk {
    /// Remounts the disk read-only (`ro = true`) or read-write.
    fn remount(&self, ro: bool) {
        let out = Command::new("mount").args(["-o", if ro { "remount,ro" } else { "remount,rw" }]).arg(&self.mount).output().unwrap();
        assert!(out.status.success(), "remount: {}", String::from_utf8_lossy(&out.stderr));
    }
}

impl Drop for TinyDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.mount).status();
    }
}

/// Fills the disk completely; returns the filler file's path.
pub(crate) fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).unwrap();
    let block = vec![0u8; 4096];
    while f.write_all(&block).is_ok() {}
    let _ = f.sync_all();
    path
}

fn data(fill: usize) -> Data {
    sessionbox::parse_data(&format!(r#"{{"user":"42","blob":"{}"}}"#, "x7".repeat(fill))).unwrap()
}

fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).filter(|n| n.contains("_out_")).collect()
}

#[test]
fn full_disk_fails_the_save_and_keeps_the_old_session() {
    // Mounting needs root (CI runs as root); a test that cannot set up its
    // scenario fails rather than passing unrun.
    let disk = TinyDisk::mount("1m").unwrap_or_else(|why| panic!("cannot mount a tmpfs here ({why}): this test needs root"));
    for durability in [Durability::None, Durability::File, Durability::Full] {
        let sessions = disk.mount.join(format!("sessions-{durability:?}"));
        let mut settings = Settings::new("secret");
        settings.durability = durability;
        let store = Store::open(&sessions, settings).unwrap();
        let key = store.create(&data(10)).unwrap();
        let filler = fill(&disk.mount);

        let err = store.save(&key, &data(20_000), false).unwrap_err();
        assert!(matches!(&err, Error::Io(why) if why.to_lowercase().contains("space")), "{durability:?}: {err:?}");
        assert_eq!(store.load(&key).unwrap().into_data(), Some(data(10)), "{durability:?}: the old content must survive");
        assert!(matches!(store.create(&data(20_000)), Err(Error::Io(_))), "{durability:?}");
        assert!(temp_files(&sessions).is_empty(), "{durability:?}: temp files left: {:?}", temp_files(&sessions));
        assert_eq!(std::fs::read_dir(&sessions).unwrap().count(), 1, "{durability:?}: a failed create left a file");

        std::fs::remove_file(filler).unwrap();
        store.save(&key, &data(20_000), false).unwrap();
        assert_eq!(store.load(&key).unwrap().into_data(), Some(data(20_000)));
        std::fs::remove_dir_all(&sessions).unwrap();
    }
}

/// Whether `text` says the filesystem is read-only, as `strerror(EROFS)`
/// does, and not that it failed.
fn says_read_only(text: &str) -> bool {
    text.contains("read-only file system") && !text.contains("input/output")
}

/// On a filesystem remounted read-only every write fails as `Io` saying
/// "read-only file system" (the host tells EROFS from EIO, which
/// wasmtime-wasi does not: it used to say "input/output error"): a create,
/// a save, a delete, a cycle-key, and the CLI's commands on its real
/// stderr. Reads still work, and writes again
/// once it is read-write.
#[test]
fn a_read_only_filesystem_is_reported_as_read_only() {
    let disk = TinyDisk::mount("1m").unwrap_or_else(|why| panic!("cannot mount a tmpfs here ({why}): this test needs root"));
    let sessions = disk.mount.join("sessions");
    let store = Store::open(&sessions, Settings::new("secret")).unwrap();
    let key = store.create(&data(10)).unwrap();
    let expired = store.create_json(r#"{"_session_expiry":-1}"#).unwrap();
    disk.remount(true);

    let read_only = |what: &str, result: Result<(), Error>| match result {
        Err(Error::Io(why)) => assert!(says_read_only(&why), "{what}: {why}"),
        other => panic!("{what}: {other:?}"),
    };
    read_only("create", store.create(&data(10)).map(drop));
    read_only("save", store.save(&key, &data(20), false));
    read_only("delete", store.delete(&key).map(drop));
    read_only("cycle_key", store.cycle_key(&key, &data(10)).map(drop));
    // An expired session is still reported expired (its removal is best effort).
    assert_eq!(store.load(&expired).unwrap(), sessionbox::Loaded::Expired);
    assert_eq!(store.load(&key).unwrap().into_data(), Some(data(10)), "reads still work");

    let cli = |args: &[&str]| {
        crate::support::sessionbox_on(&sessions, "secret").args(args).output().unwrap()
    };
    for args in [vec!["create", "{}"], vec!["set", &key, r#"{"b":1}"#], vec!["delete", &key], vec!["cycle-key", &key]] {
        let out = cli(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(says_read_only(&stderr), "{args:?}: {stderr}");
    }
    let out = cli(&["get", &key]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    disk.remount(false);
    store.save(&key, &data(20), false).unwrap();
    assert_eq!(store.load(&key).unwrap().into_data(), Some(data(20)));
}
