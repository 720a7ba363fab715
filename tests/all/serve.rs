//! No host at all: the example wasi:http handler (`examples/plugins/
//! http-counter`, which imports `sessionbox:store/bound-sessions`) composed
//! with the sessionbox component by `wac plug`, and served by the stock
//! wasmtime CLI (`wasmtime serve`) with the session directory as its only
//! preopen. The secret reaches the sessionbox component from the
//! environment `wasmtime serve --env` passes; the `no-environment` plug
//! keeps it from the handler. No sessionbox host code runs on this path;
//! headless Chromium drives it, and real Django reads the files it leaves.

use crate::support::file_names as session_files;
use crate::support::plugins::{compose, plugin_wasm, python_plugin_wasm};
use crate::support::runtimes::wasmtime_cli;
use crate::support::web::{assert_django_session_cookie, unix_now, Browser, DjangoServer, WasmtimeServe, DJANGO_PASSWORD, DJANGO_USER};
use serde_json::Value;
use sessionbox::{Loaded, Settings, Store};
use std::path::Path;
use std::process::Command;

const SECRET: &str = "the composition's secret, from the environment";
const COOKIE_AGE: i64 = 1_209_600;

/// (user, session data) on Django's whoami page, with the browser's cookie.
fn on_django(browser: &Browser, django: &DjangoServer) -> (String, Value) {
    browser.goto(&django.url("/django/whoami/"));
    (browser.text("user"), serde_json::from_str(&browser.text("session")).unwrap())
}

#[test]
fn the_composed_handler_keeps_a_login_in_chromium_and_django_reads_its_files() {
    let tmp = tempfile::tempdir().unwrap();
    let sessions = tmp.path().join("sessions");
    let composed = compose(&plugin_wasm("http-counter"), true, &tmp.path().join("composed.wasm"));
    let serve = WasmtimeServe::start(&composed, &sessions, &[("SESSIONBOX_SECRET_KEY", SECRET)]);
    let b = Browser::start();

    // The counter survives reloads, on Django's cookie.
    let before = unix_now();
    b.count_visits(&serve.url("/"), 3, "");
    let cookie = b.cookie("sessionid").expect("the handler's session cookie");
    assert_django_session_cookie(&cookie, before, COOKIE_AGE);
    let first_key = cookie.value.clone();
    assert_eq!(session_files(&sessions), [format!("sessionid{first_key}")]);
    let png = tmp.path().join("counter.png");
    b.screenshot(&png);
    assert!(std::fs::read(&png).unwrap().starts_with(b"\x89PNG"), "a screenshot");

    // A wrong password changes nothing; the right one logs in on a new key.
    b.goto(&serve.url("/login"));
    b.submit_form(&[("username", "alice"), ("password", "not it")], "submit");
    assert!(b.source().contains("wrong username or password"));
    b.goto(&serve.url("/login"));
    b.submit_form(&[("username", "alice"), ("password", "wonderland")], "submit");
    assert_eq!((b.text("count"), b.text("user")), ("4".into(), "alice".into()));
    let login_key = b.cookie("sessionid").expect("a session after login").value;
    assert_ne!(login_key, first_key, "a login moves the session to a new key");
    assert_eq!(session_files(&sessions), [format!("sessionid{login_key}")]);

    // Real Django reads what the composition wrote, with the same secret.
    let django = DjangoServer::start(&sessions, SECRET, &[]);
    let (user, data) = on_django(&b, &django);
    assert_eq!(data, serde_json::json!({"counter": 4, "user": "alice"}));
    assert_eq!(user, "anonymous", "the handler's own login is not Django's auth");

    // Logout deletes the session; the page it leads to starts over.
    b.goto(&serve.url("/"));
    b.click_and_wait("logout");
    assert_eq!((b.text("count"), b.text("user")), ("1".into(), "".into()));
    let after_logout = b.cookie("sessionid").expect("the counter's new session").value;
    assert_ne!(after_logout, login_key);
    assert_eq!(session_files(&sessions), [format!("sessionid{after_logout}")]);

    // And the other way: Django logs in on that session (moving it to a new
    // key), the handler reads and updates it, and it stays a Django login.
    b.goto(&django.url("/django/login/"));
    b.submit_form(&[("username", DJANGO_USER), ("password", DJANGO_PASSWORD)], "submit");
    assert_eq!(b.text("user"), DJANGO_USER);
    let django_key = b.cookie("sessionid").unwrap().value;
    assert_ne!(django_key, after_logout);
    b.goto(&serve.url("/"));
    b.goto(&serve.url("/"));
    assert_eq!(b.text("count"), "3");
    assert_eq!(b.cookie("sessionid").unwrap().value, django_key, "the handler keeps Django's session");
    assert_eq!(session_files(&sessions), [format!("sessionid{django_key}")]);
    let (user, data) = on_django(&b, &django);
    assert_eq!(user, DJANGO_USER, "still logged in on Django");
    assert_eq!(data["counter"], 3);
}

/// `wasmtime run --invoke 'run([...])'` on a composition of the
/// misbehaving plugin, which prints the environment it can read.
fn invoke(component: &Path, sessions: &Path, env: &[(&str, &str)], args: &str) -> String {
    let mut cmd = Command::new(wasmtime_cli());
    cmd.env_clear().args(["run", "--dir"]).arg(format!("{}::.", sessions.display()));
    for (name, value) in env {
        cmd.arg("--env").arg(name).env(name, value);
    }
    crate::support::run_ok(cmd.arg("--invoke").arg(format!("run({args})")).arg(component)).trim().to_owned()
}

#[test]
fn the_composition_takes_settings_from_the_environment_and_keeps_them_from_the_handler() {
    let tmp = tempfile::tempdir().unwrap();
    let sessions = tmp.path().join("sessions");
    std::fs::create_dir(&sessions).unwrap();
    let env = [("SESSIONBOX_SECRET_KEY", SECRET), ("SESSIONBOX_COOKIE_AGE", "60")];

    let hidden = compose(&plugin_wasm("misbehaving"), true, &tmp.path().join("hidden.wasm"));
    assert_eq!(invoke(&hidden, &sessions, &env, r#"["env"]"#), r#"ok("")"#, "the handler reads an empty environment");
    // ... while the sessionbox component inside read its settings there.
    let created = invoke(&hidden, &sessions, &env, r#"["create"]"#);
    let key = created.strip_prefix("ok(\"").and_then(|k| k.strip_suffix("\")")).unwrap_or_else(|| panic!("{created}"));
    // Signed with the environment's secret: this store reads it.
    let store = Store::open(&sessions, Settings::new(SECRET)).unwrap();
    assert!(matches!(store.load(key).unwrap(), Loaded::Found { .. }), "signed with another secret?");
    // The environment's cookie age of a minute: the session is live now,
    // and expired (and deleted) once its file is two minutes old.
    let guess = format!(r#"["guess", "{key}"]"#);
    assert_eq!(invoke(&hidden, &sessions, &env, &guess), format!("ok(\"{key}\")"));
    let file = std::fs::File::options().write(true).open(sessions.join(format!("sessionid{key}"))).unwrap();
    file.set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(120)).unwrap();
    drop(file);
    assert_eq!(invoke(&hidden, &sessions, &env, &guess), r#"ok("")"#);
    assert!(session_files(&sessions).is_empty(), "the expired session is deleted");

    // Without the no-environment plug the handler would see the secret:
    // the plug is what keeps it out.
    let exposed = compose(&plugin_wasm("misbehaving"), false, &tmp.path().join("exposed.wasm"));
    assert!(invoke(&exposed, &sessions, &env, r#"["env"]"#).contains("SESSIONBOX_SECRET_KEY="));

    // Missing settings are an error the handler can show, not a trap.
    let missing = invoke(&hidden, &sessions, &[], r#"["create"]"#);
    assert!(missing.contains("InvalidSettings") && missing.contains("SESSIONBOX_SECRET_KEY is not set"), "{missing}");
}

#[test]
fn a_served_composition_without_a_secret_answers_500_and_says_why() {
    let tmp = tempfile::tempdir().unwrap();
    let sessions = tmp.path().join("sessions");
    let composed = compose(&plugin_wasm("http-counter"), true, &tmp.path().join("composed.wasm"));
    let serve = WasmtimeServe::start(&composed, &sessions, &[]);
    let response = http_get(serve.port(), "/");
    assert!(response.starts_with("HTTP/1.1 500"), "{response}");
    assert!(response.contains("SESSIONBOX_SECRET_KEY is not set"), "{response}");
    assert!(session_files(&sessions).is_empty());
}

/// The whole response to `GET path` on 127.0.0.1:port.
fn http_get(port: u16, path: &str) -> String {
    http(port, &format!("GET {path} HTTP/1.1\r\n"), b"")
}

/// The whole response to a request: its request line and header lines
/// (each ending in CRLF; Host and Connection are added), then `body` with
/// its Content-Length.
fn http(port: u16, head: &str, body: &[u8]) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    write!(stream, "{head}Host: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n", body.len()).unwrap();
    stream.write_all(body).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    String::from_utf8_lossy(&response).into_owned()
}

/// The Python counter (componentize-py) composed with the sessionbox
/// component, as the Rust handler is, and run by the stock wasmtime CLI.
#[test]
fn the_python_plugin_runs_composed_under_the_wasmtime_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let sessions = tmp.path().join("sessions");
    std::fs::create_dir(&sessions).unwrap();
    // Stubbed, it imports no environment: nothing to hide.
    let composed = compose(&python_plugin_wasm(), false, &tmp.path().join("composed.wasm"));
    let env = [("SESSIONBOX_SECRET_KEY", SECRET)];
    let first = invoke(&composed, &sessions, &env, r#"["visit"]"#);
    let key = first.strip_prefix("ok(\"").and_then(|k| k.strip_suffix(" 1\")")).unwrap_or_else(|| panic!("{first}"));
    assert_eq!(invoke(&composed, &sessions, &env, &format!(r#"["visit", "{key}"]"#)), format!("ok(\"{key} 2\")"));
    // The host library reads what the composed Python plugin wrote.
    let store = Store::open(&sessions, Settings::new(SECRET)).unwrap();
    assert_eq!(store.load_json(key).unwrap().into_data().as_deref(), Some(r#"{"n":2}"#));
}

/// What the handler does with odd requests: the answers Django would give,
/// never a trap.
#[test]
fn the_composed_handler_reads_cookies_and_forms_as_django_does() {
    let tmp = tempfile::tempdir().unwrap();
    let (serve, store) = counter_served(tmp.path());
    let port = serve.port();
    let key = store.create_json(r#"{"counter":41}"#).unwrap();
    let count = |response: &str| response.split("<span id=\"count\">").nth(1).and_then(|r| r.split('<').next()).map(str::to_owned);

    // The last cookie of the name wins (across headers), quoted or not.
    let two = http(port, &format!("GET / HTTP/1.1\r\nCookie: sessionid=zzzzzzzzzzzz\r\nCookie: other=1; sessionid=\"{key}\"\r\n"), b"");
    assert_eq!(count(&two).as_deref(), Some("42"), "{two}");
    // HEAD is GET without the body.
    let head = http(port, &format!("HEAD / HTTP/1.1\r\nCookie: sessionid={key}\r\n"), b"");
    assert!(head.starts_with("HTTP/1.1 200") && !head.contains("<html"), "{head}");
    // A form with escapes split inside a UTF-8 character, or a "+" for a
    // hex digit, is a wrong password, not a crash.
    for form in [&b"username=%a\xc3\xa9&password=x"[..], b"username=alice&password=wonderlan%+4"] {
        let response = http(port, "POST /login HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n", form);
        assert!(response.starts_with("HTTP/1.1 403"), "{response}");
    }
    let escaped = http(port, "POST /login HTTP/1.1\r\n", b"username=%61lice&password=wonder%6Cand");
    assert!(escaped.starts_with("HTTP/1.1 302"), "{escaped}");
    // The last value of a field wins, and names are decoded too.
    let last = http(port, "POST /login HTTP/1.1\r\n", b"username=mallory&user%6eame=alice&password=x&password=wonderland");
    assert!(last.starts_with("HTTP/1.1 302"), "{last}");
    let huge = http(port, "POST /login HTTP/1.1\r\n", &vec![b'a'; 64 * 1024]);
    assert!(huge.starts_with("HTTP/1.1 413"), "{huge}");
    let binary = http(port, "POST /login HTTP/1.1\r\n", b"username=\xff");
    assert!(binary.starts_with("HTTP/1.1 400"), "{binary}");
    let put = http(port, "PUT / HTTP/1.1\r\n", b"");
    assert!(put.starts_with("HTTP/1.1 405"), "{put}");
}

/// The session key a response sets, if it sets one.
fn set_session_key(response: &str) -> Option<String> {
    let line = response.lines().find(|l| l.to_ascii_lowercase().starts_with("set-cookie: sessionid="))?;
    let value = line["set-cookie: sessionid=".len()..].split(';').next()?;
    Some(value.trim_matches('"').to_owned()).filter(|v| !v.is_empty())
}

/// A logout racing the page loads of the same session, at the concurrency a
/// browser with a few tabs makes: 8 `GET /` with the session's cookie and a
/// `POST /logout` among them, released together. A page load that read the
/// logged-in session before the logout deleted it must not bring it back
/// under a new key (it answers 400, as Django's `SessionInterrupted`): no
/// response sets a new cookie whose page says "alice", and no session on
/// disk other than the logged-out one holds her.
#[test]
fn a_logout_racing_page_loads_is_never_undone() {
    const ROUNDS: usize = 20;
    const PAGE_LOADS: usize = 8;
    let tmp = tempfile::tempdir().unwrap();
    let (serve, store) = counter_served(tmp.path());
    let sessions = store.dir().unwrap().to_owned();
    let port = serve.port();
    let user = |response: &str| response.split("<span id=\"user\">").nth(1).and_then(|r| r.split('<').next()).map(str::to_owned);
    let form = b"username=alice&password=wonderland";

    let (mut undone, mut odd, mut interrupted, mut before_logout) = (Vec::new(), Vec::new(), 0, 0);
    for round in 0..ROUNDS {
        let login = http(port, "POST /login HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n", form);
        assert!(login.starts_with("HTTP/1.1 302"), "{login}");
        let key = set_session_key(&login).expect("a session after login");
        let cookie = format!("Cookie: sessionid={key}\r\n");
        let earlier = session_files(&sessions);
        // All nine requests start together; the logout is the fifth.
        let start = std::sync::Barrier::new(PAGE_LOADS + 1);
        let responses: Vec<String> = std::thread::scope(|scope| {
            let threads: Vec<_> = (0..=PAGE_LOADS)
                .map(|i| {
                    let (start, cookie) = (&start, &cookie);
                    scope.spawn(move || {
                        start.wait();
                        match i {
                            4 => http(port, &format!("POST /logout HTTP/1.1\r\n{cookie}"), b""),
                            _ => http(port, &format!("GET / HTTP/1.1\r\n{cookie}"), b""),
                        }
                    })
                })
                .collect();
            threads.into_iter().map(|t| t.join().unwrap()).collect()
        });
        let mut this_round = Vec::new();
        for (i, response) in responses.iter().enumerate() {
            if i == 4 {
                assert!(response.starts_with("HTTP/1.1 302"), "the logout: {response}");
                continue;
            }
            let status = response.get(9..12).unwrap_or_default();
            if !["200", "400"].contains(&status) {
                odd.push(format!("round {round}: {}", response.lines().next().unwrap_or_default()));
            }
            interrupted += usize::from(status == "400");
            before_logout += usize::from(status == "200" && set_session_key(response).as_deref() == Some(key.as_str()));
            let new_key = set_session_key(response).filter(|k| *k != key);
            if let Some(new_key) = new_key.filter(|_| user(response).as_deref() == Some("alice")) {
                this_round.push(format!("page load {i} answered a new session {}… for alice", &new_key[..6]));
            }
        }
        // On disk too: whatever the responses said, no session made in this
        // round other than hers holds her.
        for name in session_files(&sessions).into_iter().filter(|name| !earlier.contains(name)) {
            let Some(other) = name.strip_prefix("sessionid").filter(|k| *k != key) else { continue };
            if let Ok(Loaded::Found { data, .. }) = store.load(other) {
                if data.get("user").and_then(Value::as_str) == Some("alice") {
                    this_round.push(format!("session {}… on disk holds alice", &other[..6]));
                }
            }
        }
        if !this_round.is_empty() {
            undone.push(format!("round {round}: {}", this_round.join("; ")));
        }
    }
    eprintln!(
        "{} of {ROUNDS} rounds undid the logout; of {} page loads, {before_logout} ran before the logout and {interrupted} were interrupted",
        undone.len(),
        ROUNDS * PAGE_LOADS
    );
    assert!(undone.is_empty(), "{} of {ROUNDS} rounds undid the logout:\n{}", undone.len(), undone.join("\n"));
    assert!(odd.is_empty(), "page loads answered neither 200 nor 400:\n{}", odd.join("\n"));
}

/// The `http-counter` handler composed with sessionbox and served by
/// `wasmtime serve` on `<tmp>/sessions`, and a store on the same directory.
fn counter_served(tmp: &std::path::Path) -> (WasmtimeServe, Store) {
    let sessions = tmp.join("sessions");
    let composed = compose(&plugin_wasm("http-counter"), true, &tmp.join("composed.wasm"));
    let serve = WasmtimeServe::start(&composed, &sessions, &[("SESSIONBOX_SECRET_KEY", SECRET)]);
    (serve, Store::open(&sessions, Settings::new(SECRET)).unwrap())
}
