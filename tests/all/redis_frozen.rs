//! A Redis that stops answering (SIGSTOP: its kernel still accepts
//! connections, nothing replies) must cost the requests that wait on it
//! one timeout each, side by side, and nothing else: the demo app
//! (`examples/demo`) over real HTTP on a two-worker tokio runtime, as
//! `sessionbox-demo --redis` runs on a two-core machine; and opening a
//! store against such a server, with and without AUTH, within one
//! connect timeout.

use crate::support::redis::RedisServer;
use crate::support::web::DemoApp;
use sessionbox::{Error, RedisOptions, Settings, Store};
use sessionbox_demo::DemoUser;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

const SECRET: &str = "redis-frozen-test-secret";
const PASSWORD: &str = "pw-frozen-Vb4";
/// The Redis timeouts of these tests (connect and response).
const TIMEOUT: Duration = Duration::from_secs(2);

fn options(url: String) -> RedisOptions {
    let mut options = RedisOptions::new(url);
    options.connect_timeout = TIMEOUT;
    options.response_timeout = TIMEOUT;
    options
}

/// `GET path` with `cookie` to the demo app, on a connection of its own:
/// the raw response and how long it took.
fn get(demo: &DemoApp, path: &str, cookie: Option<&str>) -> (String, Duration) {
    let start = Instant::now();
    let mut stream = TcpStream::connect(("127.0.0.1", demo.port())).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let cookie = cookie.map(|c| format!("Cookie: {c}\r\n")).unwrap_or_default();
    stream.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n{cookie}Connection: close\r\n\r\n").as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    (response, start.elapsed())
}

fn status(response: &str) -> u16 {
    response.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("no status line: {response:?}"))
}

/// Six concurrent loads of a session on a frozen Redis each fail after
/// about one timeout, side by side (not 2, 4, 6 s as two workers held in
/// turn would give), and a route that never touches the session answers
/// at once meanwhile.
#[test]
fn a_frozen_redis_holds_only_the_requests_that_load_a_session() {
    let server = RedisServer::start();
    let store = Store::open_redis(&options(server.url()), Settings::new(SECRET)).unwrap();
    let demo = DemoApp::start(store.clone(), vec![DemoUser::with_password("1", "alice", "wonderland", 1000)]);
    let (first, _) = get(&demo, "/", None);
    assert_eq!(status(&first), 200, "{first}");
    let line = first.lines().find(|l| l.to_ascii_lowercase().starts_with("set-cookie: sessionid=")).unwrap_or_else(|| panic!("no cookie: {first}"));
    let cookie = line["set-cookie: ".len()..].split(';').next().unwrap().to_owned();
    let (page, _) = get(&demo, "/session", Some(&cookie));
    assert_eq!(status(&page), 200, "{page}");

    // A server that has been busy keeps several instances warm: eight
    // loads held at once (by a short pause) leave eight behind.
    let key = cookie.strip_prefix("sessionid=").unwrap();
    server.pause();
    std::thread::scope(|s| {
        let held: Vec<_> = (0..8).map(|_| s.spawn(|| store.load(key))).collect();
        std::thread::sleep(Duration::from_millis(300));
        server.resume();
        for load in held {
            assert!(matches!(load.join().unwrap(), Ok(sessionbox::Loaded::Found { .. })));
        }
    });

    server.pause();
    let (loads, login) = std::thread::scope(|s| {
        let loads: Vec<_> = (0..6).map(|_| s.spawn(|| get(&demo, "/session", Some(&cookie)))).collect();
        // Let the six reach the store first.
        std::thread::sleep(Duration::from_millis(300));
        let login = get(&demo, "/login", None);
        (loads.into_iter().map(|l| l.join().unwrap()).collect::<Vec<_>>(), login)
    });
    server.resume();

    let mut took: Vec<Duration> = loads.iter().map(|(_, took)| *took).collect();
    took.sort();
    eprintln!("redis frozen, over HTTP: 6 concurrent loads answered after {took:?}; /login after {:?} (timeouts {TIMEOUT:?})", login.1);
    assert_eq!(status(&login.0), 200, "{}", login.0);
    assert!(login.1 < TIMEOUT / 4, "/login, which never loads a session, took {:?}", login.1);
    for (response, took) in &loads {
        // Each load waited on the frozen server and failed.
        assert_eq!(status(response), 500, "{response}");
        assert!(*took >= TIMEOUT * 3 / 4, "a load answered after {took:?}, before any timeout");
    }
    assert!(took[5] < TIMEOUT * 7 / 4, "the loads ran one after another: {took:?}");
    // The server answers again: so does the app.
    let (page, _) = get(&demo, "/session", Some(&cookie));
    assert_eq!(status(&page), 200, "{page}");
}

/// Opening a store against a frozen server fails within about one connect
/// timeout: not one timeout per reply of the connection's handshake
/// (`CLIENT SETINFO` twice, `AUTH`), then another for the `PING`.
#[test]
fn opening_against_a_frozen_redis_takes_one_connect_timeout_with_or_without_auth() {
    let plain = RedisServer::start();
    let auth = RedisServer::start_with(&["--requirepass", PASSWORD]);
    let with_password = |url: String| RedisOptions { password: Some(PASSWORD.into()), ..options(url) };
    let cases = [
        ("no AUTH", &plain, options(plain.url())),
        ("no AUTH, database 3", &plain, options(format!("{}/3", plain.url()))),
        ("AUTH", &auth, with_password(auth.url())),
        ("AUTH, database 3", &auth, with_password(format!("{}/3", auth.url()))),
    ];
    for (what, server, options) in cases {
        // It opens while the server answers.
        drop(Store::open_redis(&options, Settings::new(SECRET)).unwrap_or_else(|e| panic!("{what}: {e}")));
        server.pause();
        let start = Instant::now();
        let result = Store::open_redis(&options, Settings::new(SECRET));
        let took = start.elapsed();
        server.resume();
        eprintln!("redis frozen: open ({what}) failed after {took:?} (connect timeout {TIMEOUT:?})");
        match result {
            Err(Error::Config(msg)) => assert!(msg.contains("timed out") && !msg.contains(PASSWORD), "{what}: {msg}"),
            other => panic!("{what}: opening on a frozen server gave {other:?}"),
        }
        assert!(took < TIMEOUT + TIMEOUT / 4, "{what}: opening on a frozen server took {took:?}");
    }
}
