//! No session key in any error message or log line: a key is the user's
//! credential, and error text ends up in logs. Every error path a session
//! key can reach (an entry that is no file, a full disk, a failed write
//! under the web layer, the CLI's stderr) is provoked, and its text checked
//! for the key; each shows the key's first four characters only.

use crate::disk_full::{fill, TinyDisk};
use crate::support::logs::capture;
use axum::body::Body;
use axum::http::Request;
use axum::routing::get;
use axum::Router;
use sessionbox::{Data, Settings, Store};
use sessionbox_tower::{Session, SessionLayer};
use std::path::Path;
use tower::ServiceExt;

const SECRET: &str = "key-redaction-secret";

/// `text` must not hold `key`, and must show it as its first four characters
/// where it names the session at all.
fn assert_hidden(what: &str, text: &str, key: &str) {
    assert!(!text.contains(key), "{what}: the session key is in {text:?}");
    assert!(!text.contains(&key[..8]), "{what}: more than four characters of the key in {text:?}");
}

fn big() -> Data {
    sessionbox::parse_data(&format!(r#"{{"blob":"{}"}}"#, "x".repeat(20_000))).unwrap()
}

fn cli(dir: &Path, args: &[&str]) -> String {
    let out = crate::support::sessionbox_on(dir, SECRET).args(args).output().unwrap();
    assert!(!out.status.success(), "{args:?} should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn no_error_text_or_log_line_carries_a_session_key() {
    let disk = TinyDisk::mount("2m").unwrap_or_else(|why| panic!("cannot mount a tmpfs here ({why}): this test needs root"));
    let dir = disk.mount.join("sessions");
    let store = Store::open(&dir, Settings::new(SECRET)).unwrap();
    let mut texts: Vec<(String, String, String)> = Vec::new();

    // An entry that is no file under a session's name.
    let odd = "adirectory000000000000000000000a";
    std::fs::create_dir(dir.join(format!("sessionid{odd}"))).unwrap();
    texts.push(("delete a directory".into(), store.delete(odd).unwrap_err().to_string(), odd.into()));
    texts.push(("save over a directory".into(), store.save(odd, &Data::new(), false).unwrap_err().to_string(), odd.into()));
    texts.push(("CLI delete a directory".into(), cli(&dir, &["delete", odd]), odd.into()));
    texts.push(("CLI set over a directory".into(), cli(&dir, &["set", odd, "{}"]), odd.into()));
    let missing = "missing0000000000000000000000000";
    texts.push(("CLI get a missing session".into(), cli(&dir, &["get", missing]), missing.into()));
    texts.push(("CLI exists of a missing session".into(), cli(&dir, &["exists", missing]), missing.into()));

    // A full disk: the save's temporary file, named after the key, fails.
    let key = store.create(&Data::new()).unwrap();
    let filler = fill(&disk.mount);
    texts.push(("save on a full disk".into(), store.save(&key, &big(), false).unwrap_err().to_string(), key.clone()));
    texts.push(("CLI set on a full disk".into(), cli(&dir, &["set", &key, &format!(r#"{{"blob":"{}"}}"#, "x".repeat(20_000))]), key.clone()));

    // The web layer logs a failed save at error level.
    let app = Router::new()
        .route("/grow", get(|s: Session| async move { s.insert("blob", "x".repeat(20_000)).await.map(|_| "grown") }))
        .layer(SessionLayer::new(store.clone()));
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let (status, logs) = capture(|| {
        rt.block_on(async {
            let req = Request::get("/grow").header("cookie", format!("sessionid={key}")).body(Body::empty()).unwrap();
            app.oneshot(req).await.unwrap().status()
        })
    });
    assert!(status.is_server_error(), "the save on a full disk must fail: {status}");
    assert!(!logs.is_empty(), "the failed save was not logged");
    for (level, target, line) in &logs {
        texts.push((format!("web layer log {level} {target}"), line.clone(), key.clone()));
    }
    std::fs::remove_file(filler).unwrap();

    for (what, text, key) in &texts {
        eprintln!("{what}: {}", text.trim());
        assert_hidden(what, text, key);
    }
    // The errors still say which session: by its first characters.
    assert!(texts.iter().any(|(_, text, key)| text.contains(&format!("{}…", &key[..4]))), "no error names its session at all");
}

/// A key longer than the temporary name's room (240 characters): the
/// temporary name holds a cut key, which `hiding_key` does not find, so
/// the write error carried 233 of its characters.
#[test]
fn a_long_keys_failed_write_shows_only_four_characters_of_it() {
    use crate::disk_full::{fill, TinyDisk};
    let disk = TinyDisk::mount("2m").unwrap();
    let dir = disk.mount.join("sessions");
    let store = Store::open(&dir, Settings::new("hostile-secret")).unwrap();
    let key = crate::support::letters(240, 7);
    store.save(&key, &Data::new(), true).unwrap();
    let filler = fill(&disk.mount);
    let big = sessionbox::parse_data(&format!(r#"{{"blob":"{}"}}"#, "x".repeat(20_000))).unwrap();
    let err = store.save(&key, &big, false).unwrap_err().to_string();
    std::fs::remove_file(filler).unwrap();
    eprintln!("error: {err}");
    assert!(!err.contains(&key[..8]), "more than four characters of the key in {err:?}");
}
