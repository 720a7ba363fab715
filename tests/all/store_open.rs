//! `Store::open`: the directory it prepares, the settings it refuses, and
//! what it shows of itself.

use sessionbox::{Error, Settings, Store};
use std::os::unix::fs::PermissionsExt;

use crate::support::logs;

const SECRET: &str = "s3cr3t-never-shown";

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn creates_a_missing_directory_private() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("sessions");
    let store = Store::open(&dir, Settings::new(SECRET)).unwrap();
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(store.dir(), Some(dir.canonicalize().unwrap().as_path()));
}

#[test]
fn warns_about_a_directory_others_can_reach() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("shared");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let ((), logs) = logs::capture(|| drop(Store::open(&dir, Settings::new(SECRET)).unwrap()));
    let shown = dir.display().to_string();
    assert!(logs.iter().any(|(level, _, msg)| *level == log::Level::Warn && msg.contains(&shown) && msg.contains("755")), "{logs:?}");
    assert_eq!(mode(&dir), 0o755, "an existing directory's mode is the owner's business");
}

#[test]
fn configuration_errors_are_clear() {
    let tmp = tempfile::tempdir().unwrap();
    let missing_parent = tmp.path().join("no/such/parent/sessions");
    match Store::open(&missing_parent, Settings::new(SECRET)) {
        Err(Error::Config(why)) => assert!(why.contains("does not exist"), "{why}"),
        other => panic!("expected a configuration error, got {other:?}"),
    }
    let file = tmp.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    assert!(matches!(Store::open(&file, Settings::new(SECRET)), Err(Error::Config(why)) if why.contains("not a directory")));

    let mut bad = Settings::new(SECRET);
    bad.file_prefix = "../escape".into();
    assert!(matches!(Store::open(tmp.path(), bad), Err(Error::InvalidSettings(_))));
    let empty_secret = Store::open(tmp.path(), Settings::new("")).err().expect("an empty secret is refused");
    assert!(matches!(empty_secret, Error::InvalidSettings(_)));
    // Said once, with the reason: not "invalid settings: invalid settings: ...".
    assert_eq!(empty_secret.to_string(), "invalid settings: the secret key is empty");
}

#[test]
fn store_is_clone_send_sync() {
    fn assert_shareable<T: Clone + Send + Sync + 'static>() {}
    assert_shareable::<Store>();
}

#[test]
fn the_secret_never_shows() {
    let tmp = tempfile::tempdir().unwrap();
    let mut settings = Settings::new(SECRET);
    settings.fallback_keys = vec!["older-s3cr3t".into()];
    let store = Store::open(tmp.path(), settings).unwrap();
    let mut session = store.session(None);
    session.insert("k", "v").unwrap();
    session.save(false).unwrap();
    let key = session.key().unwrap().to_owned();
    // A tampered file makes the store log a security warning.
    let file = tmp.path().join(format!("sessionid{key}"));
    let content = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, content.replacen(':', "x:", 1)).unwrap();
    let (value, logs) = logs::capture(|| store.session(Some(&key)).get("k").unwrap());
    assert!(value.is_none());
    let logs: Vec<String> = logs.iter().map(|(level, target, msg)| format!("{level} {target}: {msg}")).collect();
    let errors = [store.save("bad/key", &Default::default(), false).unwrap_err(), store.save(&key, &Default::default(), true).unwrap_err()];

    let shown = format!("{store:?} {session:?} {:?} {errors:?} {}", store.settings(), logs.join("\n"));
    assert!(logs.iter().any(|l| l.contains("sessionbox::security")), "{logs:?}");
    assert!(!shown.contains("s3cr3t"), "{shown}");
    // A session's Debug shows neither its key (a credential) nor its data.
    let mut live = store.session(None);
    live.insert("_auth_user_hash", "hash-value-0123").unwrap();
    live.save(false).unwrap();
    let shown = format!("{live:?}");
    assert!(!shown.contains(live.key().unwrap()) && !shown.contains("hash-value-0123"), "{shown}");
    // Nor in the session directory.
    for entry in std::fs::read_dir(tmp.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(!String::from_utf8_lossy(&bytes).contains("s3cr3t"));
    }
}
