//! The PostgreSQL provider against a real server: nothing hangs on a server
//! that stops answering, a wrong password is a clear error that never shows
//! a password, and the password comes from a file or the environment.

use crate::support::postgres::{PostgresServer, PASSWORD, USER};
use sessionbox::kv::sql::postgres::PostgresOptions;
use sessionbox::{Error, Loaded, Options, Settings, Store};
use std::time::{Duration, Instant};

const SECRET: &str = "postgres-test-secret";

fn open(server: &PostgresServer) -> Store {
    let mut options = PostgresOptions::new(server.url("sessionbox"));
    options.create_table = true;
    Store::open_postgres(&options, Settings::new(SECRET), Options::default()).unwrap()
}

#[test]
fn a_server_that_stops_answering_fails_calls_in_time_and_they_work_again_after() {
    let server = PostgresServer::start();
    let store = open(&server);
    let key = store.create(&crate::support::data(serde_json::json!({"a": 1}))).unwrap();
    server.freeze();
    let started = Instant::now();
    let err = store.load(&key).unwrap_err();
    let took = started.elapsed();
    server.resume();
    assert!(matches!(&err, Error::Io(why) if why.contains("no answer within")), "{err:?}");
    // The response timeout (2 s) and the backstop; never the kernel's
    // minutes of TCP retries.
    assert!(took < Duration::from_secs(6), "a frozen server held the call {took:?}");
    assert!(matches!(store.load(&key).unwrap(), Loaded::Found { .. }), "the next call works on a fresh connection");
}

#[test]
fn a_wrong_password_is_a_clear_error_that_shows_no_password() {
    let server = PostgresServer::start();
    let wrong = format!("postgres://{USER}:not-the-password-7e2@127.0.0.1:{}/sessionbox", server.port);
    let err = Store::open_postgres(&PostgresOptions::new(&wrong), Settings::new(SECRET), Options::default()).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("password authentication failed") || text.contains("access denied"), "{text}");
    assert!(!text.contains("not-the-password-7e2") && !text.contains(PASSWORD), "{text}");

    // The CLI: the password from a file, from the environment, and a file
    // that is empty.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pw");
    std::fs::write(&file, format!("{PASSWORD}\n")).unwrap();
    let url = server.url_without_password("sessionbox");
    let run = |extra: &[&str], env: Option<&str>| {
        let mut cmd = crate::support::sessionbox(SECRET);
        cmd.args(["--postgres", &url, "--create-table"]).args(extra).args(["create", "{}"]);
        if let Some(pw) = env {
            cmd.env("SESSIONBOX_POSTGRES_PASSWORD", pw);
        }
        cmd.output().unwrap()
    };
    let out = run(&["--postgres-password-file", file.to_str().unwrap()], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = run(&[], Some(PASSWORD));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = run(&[], Some("wrong-one-c0ffee"));
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("wrong-one-c0ffee") && stderr.contains("PostgreSQL"), "{stderr}");
    std::fs::write(&file, "").unwrap();
    let out = run(&["--postgres-password-file", file.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is empty"), "{}", String::from_utf8_lossy(&out.stderr));
}

/// A dozen requests at once on one session, through the pool: a logout
/// among eleven saves is never undone (the update needs a live row).
#[test]
fn a_logout_among_twelve_concurrent_saves_is_never_undone() {
    let server = PostgresServer::start();
    let store = open(&server);
    let mut undone = 0;
    for _ in 0..20 {
        let key = store.create(&crate::support::data(serde_json::json!({"n": 0}))).unwrap();
        let barrier = std::sync::Barrier::new(12);
        std::thread::scope(|s| {
            for i in 0..12 {
                let (store, key, barrier) = (store.clone(), key.clone(), &barrier);
                s.spawn(move || {
                    barrier.wait();
                    if i == 0 {
                        store.delete(&key).unwrap();
                    } else {
                        match store.save(&key, &crate::support::data(serde_json::json!({"n": i})), false) {
                            Ok(()) | Err(Error::NotFound) => {}
                            Err(e) => panic!("{e}"),
                        }
                    }
                });
            }
        });
        undone += u32::from(store.load(&key).unwrap() != Loaded::Missing);
    }
    assert_eq!(undone, 0, "a logout was undone in {undone} of 20 rounds");
}

/// TLS as the URL's sslmode asks, against a server that takes nothing else:
/// the server's certificate verified against a given CA, a certificate no
/// trusted CA signed refused, a plain connection refused by the server.
#[test]
fn tls_follows_sslmode_and_verifies_the_server() {
    let server = PostgresServer::start_tls();
    let url = |mode: &str| format!("{}?sslmode={mode}", server.url("sessionbox"));
    let mut options = PostgresOptions::new(url("require"));
    options.create_table = true;
    options.ca_file = Some(server.ca_file());
    let store = Store::open_postgres(&options, Settings::new(SECRET), Options::default()).unwrap();
    let key = store.create(&crate::support::data(serde_json::json!({"over": "tls"}))).unwrap();
    assert!(matches!(store.load(&key).unwrap(), Loaded::Found { .. }));
    // The default, prefer, takes TLS when offered, verified with a CA
    // given; without one, as libpq's prefer, any certificate (the server
    // here takes nothing but TLS, so the connection is encrypted).
    let mut prefer = PostgresOptions::new(server.url("sessionbox"));
    prefer.ca_file = Some(server.ca_file());
    assert!(Store::open_postgres(&prefer, Settings::new(SECRET), Options::default()).is_ok());
    let unchecked = Store::open_postgres(&PostgresOptions::new(server.url("sessionbox")), Settings::new(SECRET), Options::default()).unwrap();
    assert!(matches!(unchecked.load(&key).unwrap(), Loaded::Found { .. }));

    // The system's roots do not know the test CA.
    let err = Store::open_postgres(&PostgresOptions::new(url("require")), Settings::new(SECRET), Options::default()).unwrap_err().to_string();
    assert!(err.contains("certificate"), "{err}");
    // Plain TCP: the server refuses it.
    let err = Store::open_postgres(&PostgresOptions::new(url("disable")), Settings::new(SECRET), Options::default()).unwrap_err().to_string();
    assert!(err.contains("no encryption") || err.contains("pg_hba.conf"), "{err}");
    assert!(!err.contains(PASSWORD), "{err}");

    // The CLI, with the CA given.
    let out = crate::support::sessionbox(SECRET)
        .args(["--postgres", &url("require"), "--postgres-ca-file"])
        .arg(server.ca_file())
        .args(["get", &key])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), r#"{"over":"tls"}"#);
}
