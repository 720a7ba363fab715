//! docs/tower.md's one command works: the binary starts, serves the counter,
//! and logs alice in with the default password.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn request(addr: &str, raw: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.write_all(raw.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

fn cookie(response: &str) -> String {
    let line = response.lines().find(|l| l.to_ascii_lowercase().starts_with("set-cookie: sessionid=")).unwrap_or_else(|| panic!("no session cookie in {response}"));
    line["set-cookie: ".len()..].split(';').next().unwrap().to_owned()
}

/// The running demo binary, killed when dropped (also when a test fails).
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The demo binary, as the README runs it (its one user: alice, password
/// wonderland, a million PBKDF2 iterations), on a free port in `dir`; and
/// the address it listens on.
fn start_demo(dir: &Path) -> (Running, String) {
    let (running, addr, _) = start_demo_on(dir, &["--sessions".as_ref(), dir.join("sessions").as_os_str()]);
    (running, addr)
}

/// The demo binary as [`start_demo`], with `store_args` saying where its
/// sessions are; also its start-up line.
fn start_demo_on(dir: &Path, store_args: &[&OsStr]) -> (Running, String, String) {
    let mut child = demo_command(dir).args(["--listen", "127.0.0.1:0"]).args(store_args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line.split("http://").nth(1).and_then(|rest| rest.split_whitespace().next()).unwrap_or_else(|| panic!("no address in {line:?}")).to_owned();
    (Running(child), addr, line)
}

/// The demo binary's command, in `dir`, with none of the test process's
/// secret or PostgreSQL password.
fn demo_command(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sessionbox-demo"));
    cmd.current_dir(dir)
        .env_remove("SESSIONBOX_SECRET_KEY")
        .env_remove("SESSIONBOX_POSTGRES_PASSWORD")
        .env("SESSIONBOX_CACHE_DIR", dir.join("cache"));
    cmd
}

/// `POST /login` with `body`.
fn login(addr: &str, body: &str) -> String {
    request(
        addr,
        &format!("POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()),
    )
}

#[test]
fn the_demo_binary_serves_the_counter_and_the_login() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut child, addr) = start_demo(tmp.path());

    let first = request(&addr, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert!(first.contains(r#"<span id="count">1</span>"#), "{first}");
    let session = cookie(&first);
    let second = request(&addr, &format!("GET / HTTP/1.1\r\nHost: x\r\nCookie: {session}\r\nConnection: close\r\n\r\n"));
    assert!(second.contains(r#"<span id="count">2</span>"#), "{second}");

    let body = "username=alice&password=wonderland";
    let login = request(
        &addr,
        &format!("POST /login HTTP/1.1\r\nHost: x\r\nCookie: {session}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()),
    );
    assert!(login.starts_with("HTTP/1.1 303"), "{login}");
    let logged_in = cookie(&login);
    assert_ne!(logged_in, session, "login cycles the key");
    let page = request(&addr, &format!("GET /session HTTP/1.1\r\nHost: x\r\nCookie: {logged_in}\r\nConnection: close\r\n\r\n"));
    assert!(page.contains(r#"<span id="user">alice</span>"#), "{page}");

    child.0.kill().unwrap();
    let mut stderr = String::new();
    child.0.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    child.0.wait().unwrap();
    assert!(stderr.contains("insecure demo secret"), "the placeholder secret is announced: {stderr}");
}

/// The median of `samples`.
fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// A login's timing does not tell which user names exist, and the password
/// checks do not hold up other pages: over real HTTP to the real binary, an
/// unknown name's login takes about as long as a known name's wrong
/// password (the median ratio of 7 pairs; asserted at half, generously), and a page
/// answers quickly (under half a login's time) while 6 bad logins (more on a machine with more cores
/// than that, so that they would occupy every async worker) run at once.
#[test]
fn a_login_takes_as_long_for_an_unknown_name_and_does_not_hold_up_pages() {
    let tmp = tempfile::tempdir().unwrap();
    let (_demo, addr) = start_demo(tmp.path());
    let timed = |body: &str| {
        let started = Instant::now();
        let response = login(&addr, body);
        assert!(response.starts_with("HTTP/1.1 401"), "{response}");
        started.elapsed()
    };
    // Pairs taken back to back, compared pair by pair: the machine's load
    // changes between pairs more than within one.
    let (mut known, mut unknown, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..7 {
        let (k, u) = (timed("username=alice&password=not-it"), timed("username=mallory&password=not-it"));
        ratios.push(u.as_secs_f64() / k.as_secs_f64());
        known.push(k);
        unknown.push(u);
    }
    ratios.sort_by(f64::total_cmp);
    let ratio = ratios[ratios.len() / 2];
    let (known, unknown) = (median(known), median(unknown));
    eprintln!("a wrong password for alice: {known:.3?}; for an unknown name: {unknown:.3?} (medians of 7; median ratio {ratio:.2})");
    assert!(ratio >= 0.5, "an unknown name's login takes {ratio:.2} times a known one's ({unknown:?} against {known:?}): the timing tells names apart");

    let logins = std::thread::available_parallelism().map_or(6, |n| n.get() + 2).max(6);
    let start = std::sync::Barrier::new(logins + 1);
    let page = std::thread::scope(|scope| {
        for i in 0..logins {
            let (start, addr) = (&start, &addr);
            scope.spawn(move || {
                start.wait();
                let response = login(addr, &format!("username={}&password=not-it", if i % 2 == 0 { "alice" } else { "mallory" }));
                assert!(response.starts_with("HTTP/1.1 401"), "{response}");
            });
        }
        start.wait();
        // Let the logins arrive and start hashing.
        std::thread::sleep(Duration::from_millis(50));
        // Three pages, one after another, while the logins run (they take
        // about three logins' time on two cores).
        let pages = (0..3).map(|_| {
            let started = Instant::now();
            let response = request(&addr, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            assert!(response.contains(r#"<span id="count">1</span>"#), "{response}");
            started.elapsed()
        });
        median(pages.collect())
    });
    eprintln!("a page while {logins} bad logins ran: {page:.3?} (median of 3)");
    assert!(page < known / 2, "a page took {page:?} while {logins} logins ran (one login takes {known:?})");
}

/// `GET /` with the session cookie `session` (if any): the count the page
/// shows, and the cookie the response sets (else `session` again).
fn count(addr: &str, session: Option<&str>) -> (u64, String) {
    let header = session.map(|s| format!("Cookie: {s}\r\n")).unwrap_or_default();
    let page = request(addr, &format!("GET / HTTP/1.1\r\nHost: x\r\n{header}Connection: close\r\n\r\n"));
    let count = page.split(r#"<span id="count">"#).nth(1).and_then(|rest| rest.split('<').next()).and_then(|n| n.parse().ok());
    let set = page.lines().any(|l| l.to_ascii_lowercase().starts_with("set-cookie: sessionid="));
    (count.unwrap_or_else(|| panic!("no count in {page}")), if set { cookie(&page) } else { session.unwrap_or_default().to_owned() })
}

/// `--sqlite PATH --create-table`: the sessions are rows of Django's
/// django_session table in that file, so they outlive the process; no
/// session directory is made.
#[test]
fn the_demo_binary_keeps_sessions_in_a_sqlite_table_across_restarts() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db.sqlite3");
    let args = ["--sqlite".as_ref(), db.as_os_str(), "--create-table".as_ref()];
    let (demo, addr, line) = start_demo_on(tmp.path(), &args);
    assert!(line.contains(&format!("sessions in SQLite database {}, table django_session", db.display())), "{line}");
    let (n, session) = count(&addr, None);
    assert_eq!(n, 1);
    assert_eq!(count(&addr, Some(&session)), (2, session.clone()));
    drop(demo);
    assert!(db.is_file(), "the database file was made");
    assert!(!tmp.path().join("demo-sessions").exists(), "and no session directory");

    // A new process on the same file, without --create-table: the table is there.
    let (_demo, addr, _) = start_demo_on(tmp.path(), &args[..2]);
    assert_eq!(count(&addr, Some(&session)), (3, session), "the session outlived the process");
}

/// Wrong or missing store options end the binary at once with an error that
/// says what is wrong, and never shows a PostgreSQL password.
#[test]
fn the_demo_binary_refuses_bad_db_options_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let fails = |args: &[&str]| -> (Option<i32>, String) {
        let out = demo_command(tmp.path()).args(["--listen", "127.0.0.1:0"]).args(args).stdin(Stdio::null()).output().unwrap();
        assert!(!out.status.success(), "{args:?} should fail");
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (_, err) = fails(&["--sqlite", "never-migrated.sqlite3"]);
    assert!(err.contains("migrate"), "a database without Django's table says to migrate: {err}");
    assert!(err.contains("sessionbox-demo: configuration error: SQLite database never-migrated.sqlite3"), "one plain line, not a Debug dump: {err}");
    let (_, err) = fails(&["--postgres", "postgres://demo@127.0.0.1:1/db", "--postgres-password-file", "no-such-file"]);
    assert!(err.contains("cannot read the PostgreSQL password file no-such-file"), "{err}");
    let (_, err) = fails(&["--postgres", "postgres://demo:hunter2-in-url@127.0.0.1:1/db"]);
    assert!(err.contains("127.0.0.1") && !err.contains("hunter2"), "an unreachable server is named, its password not: {err}");
    let (_, err) = fails(&["--create-table"]);
    assert!(err.contains("--create-table goes with --sqlite or --postgres"), "{err}");
    let (code, err) = fails(&["--sqlite", "a.sqlite3", "--sessions", "dir"]);
    assert_eq!(code, Some(2), "clap refuses two stores: {err}");
    assert!(!tmp.path().join("a.sqlite3").exists() && !tmp.path().join("never-migrated.sqlite3").exists(), "no database file made without --create-table");
}

/// `--signed-cookies`: Django's signed_cookies engine. Nothing is stored
/// (no session directory); every save sends a new signed cookie, which
/// carries the count and the login, and a new process with the same secret
/// reads it.
#[test]
fn the_demo_binary_keeps_sessions_in_signed_cookies() {
    let tmp = tempfile::tempdir().unwrap();
    let (demo, addr, line) = start_demo_on(tmp.path(), &["--signed-cookies".as_ref()]);
    assert!(line.contains("sessions in signed cookies"), "{line}");
    let (n, first) = count(&addr, None);
    assert_eq!(n, 1);
    let value = first.strip_prefix("sessionid=").unwrap();
    assert!(value.contains(':') && value.len() > 32, "a signed value, not a session key: {first}");
    let (n, second) = count(&addr, Some(&first));
    assert_eq!(n, 2);
    assert_ne!(second, first, "each save is a new cookie");

    let body = "username=alice&password=wonderland";
    let response = request(
        &addr,
        &format!("POST /login HTTP/1.1\r\nHost: x\r\nCookie: {second}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()),
    );
    assert!(response.starts_with("HTTP/1.1 303"), "{response}");
    let logged_in = cookie(&response);
    assert_ne!(logged_in, second, "login cycles the key: a new cookie");
    let page = request(&addr, &format!("GET /session HTTP/1.1\r\nHost: x\r\nCookie: {logged_in}\r\nConnection: close\r\n\r\n"));
    assert!(page.contains(r#"<span id="user">alice</span>"#), "the login is in the cookie: {page}");
    assert!(page.contains("&quot;counter&quot;: 2,"), "with the count: {page}");
    drop(demo);
    assert!(!tmp.path().join("demo-sessions").exists(), "nothing stored");

    // A new process with the same secret reads the count from the cookie.
    // (Not the login: the built-in alice gets a fresh salt, so a new
    // password hash, at each start, and Django's hash check ends it.)
    let (_demo, addr, _) = start_demo_on(tmp.path(), &["--signed-cookies".as_ref()]);
    assert_eq!(count(&addr, Some(&second)).0, 3, "the cookie outlived the process");
}

/// A real redis-server on a Unix socket in `dir` (no port to race for),
/// killed when dropped. Panics when redis-server is missing: the test
/// cannot run without it.
fn redis_on_socket(dir: &Path) -> (Running, String) {
    let socket = dir.join("redis.sock");
    let child = Command::new("redis-server")
        .args(["--port", "0", "--save", "", "--appendonly", "no", "--unixsocket"])
        .arg(&socket)
        .arg("--dir")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("starting redis-server (Debian: apt-get install redis-server): {e}"));
    let running = Running(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::os::unix::net::UnixStream::connect(&socket).is_err() {
        assert!(Instant::now() < deadline, "redis-server did not open {}", socket.display());
        std::thread::sleep(Duration::from_millis(20));
    }
    (running, socket.display().to_string())
}

/// `redis-cli -s SOCKET ARGS...`'s output, trimmed.
fn redis_cli(socket: &str, args: &[&str]) -> String {
    let out = Command::new("redis-cli").args(["-s", socket]).args(args).output().expect("redis-cli (Debian: redis-tools)");
    assert!(out.status.success(), "redis-cli {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// `--cached-db --redis URL --sqlite PATH`: Django's cached_db engine. A
/// session is a row of the SQLite table and, in Django's cache format, a
/// Redis key; with the cache emptied, the row still holds it.
#[test]
fn the_demo_binary_runs_djangos_cached_db_on_sqlite_behind_redis() {
    let tmp = tempfile::tempdir().unwrap();
    let (_redis, socket) = redis_on_socket(tmp.path());
    let db = tmp.path().join("db.sqlite3");
    let url = format!("redis+unix://{socket}");
    let args = ["--cached-db".as_ref(), "--redis".as_ref(), url.as_ref(), "--sqlite".as_ref(), db.as_os_str(), "--create-table".as_ref()];
    let (_demo, addr, line) = start_demo_on(tmp.path(), &args);
    assert!(line.contains(&format!("sessions in SQLite database {}, table django_session, cached in Redis", db.display())), "{line}");
    let (n, session) = count(&addr, None);
    assert_eq!(n, 1);
    let key = session.strip_prefix("sessionid=").unwrap();
    let cached = |socket: &str| redis_cli(socket, &["exists", &format!(":1:django.contrib.sessions.cached_db{key}")]);
    assert_eq!(cached(&socket), "0", "a save leaves the cache entry to the next load");
    // /session only reads: its load fills Django's cache key.
    request(&addr, &format!("GET /session HTTP/1.1\r\nHost: x\r\nCookie: {session}\r\nConnection: close\r\n\r\n"));
    assert_eq!(cached(&socket), "1", "Django's cache key");
    assert_eq!(count(&addr, Some(&session)), (2, session.clone()));
    redis_cli(&socket, &["flushall"]);
    assert_eq!(count(&addr, Some(&session)), (3, session.clone()), "the row holds the session without the cache");
    assert!(db.is_file() && !tmp.path().join("demo-sessions").exists());
}

/// Store options that do not make one of Django's engines end the binary
/// at once with an error that says what to give instead.
#[test]
fn the_demo_binary_refuses_bad_engine_combinations_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let fails = |args: &[&str]| -> (Option<i32>, String) {
        let out = demo_command(tmp.path()).args(["--listen", "127.0.0.1:0"]).args(args).stdin(Stdio::null()).output().unwrap();
        assert!(!out.status.success(), "{args:?} should fail");
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (code, err) = fails(&["--cached-db", "--redis", "redis://127.0.0.1:1"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("--cached-db needs its database: --sqlite PATH or --postgres URL"), "{err}");
    let (code, err) = fails(&["--redis", "redis://127.0.0.1:1", "--sqlite", "a.sqlite3"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("two stores: add --cached-db"), "{err}");
    let (code, err) = fails(&["--cached-db", "--sqlite", "a.sqlite3"]);
    assert_eq!(code, Some(2), "clap: --cached-db requires --redis: {err}");
    assert!(err.contains("--redis"), "{err}");
    for other in [&["--redis", "redis://127.0.0.1:1"][..], &["--sqlite", "a.sqlite3"], &["--sessions", "dir"]] {
        let (code, err) = fails(&[&["--signed-cookies"], other].concat());
        assert_eq!(code, Some(2), "clap: signed cookies and a store: {err}");
        assert!(err.contains("--signed-cookies") && err.contains("cannot be used with"), "{err}");
    }
    assert!(!tmp.path().join("a.sqlite3").exists() && !tmp.path().join("dir").exists(), "nothing made");
}
