//! A real Django server and a real headless Chromium for the shared-login
//! browser tests.
//!
//! [`DjangoServer`] runs the site in `tests/interop/django_site` (Django's
//! LoginView, configured from the environment) on a free port of 127.0.0.1,
//! its sessions in files, on Redis, in its database, behind a cache or in
//! signed cookies ([`DjangoSessions`]),
//! with a fresh database (SQLite or PostgreSQL, [`DjangoDatabase`]) holding
//! the user [`DJANGO_USER`]. [`Browser`] drives Debian's `/usr/bin/chromium` through
//! `/usr/bin/chromedriver` (WebDriver, via `fantoccini`) with a fresh
//! profile that can be kept across a [`Browser::restart`].
//!
//! Cookies do not depend on the port, so servers on different ports of
//! 127.0.0.1 (Django and the Rust app) share the `sessionid` cookie; always
//! address them as `127.0.0.1`, never `localhost`, or the browser keeps two
//! cookie jars.
//!
//! The API is blocking: [`Browser`] runs its WebDriver client on a tokio
//! runtime of its own. Do not call it from inside an async test (tokio
//! panics when a runtime blocks inside another); run an in-process axum app
//! on its own thread and runtime instead.
//!
//! Nothing here skips: a missing Chromium, chromedriver or Python fails the
//! test with what to install.

use super::django::django_python;
use super::postgres::PostgresServer;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};
use std::fs::File;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tempfile::TempDir;

/// The user `DjangoServer::start` creates, and its password.
pub const DJANGO_USER: &str = "alice";
pub const DJANGO_PASSWORD: &str = "alice-correct-horse-7";
/// The auth backend Django's login records in the session.
pub const DJANGO_BACKEND: &str = "django.contrib.auth.backends.ModelBackend";

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long a server gets to answer after it starts.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long one browser command may take before the test fails.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// How long `text` and the page-change waits look for their element.
const ELEMENT_TIMEOUT: Duration = Duration::from_secs(15);

/// The shared-login Django site (manage.py's directory).
pub fn django_site_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("interop/django_site")
}

/// A port that was free on 127.0.0.1 a moment ago. Another process may take
/// it before the caller binds it: callers retry with a new one.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("binding 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

/// The status code of `GET path` on 127.0.0.1:port, or `None` when nothing
/// answers (yet).
pub fn http_status(port: u16, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n").ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    // "HTTP/1.1 200"
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

pub fn read_log(path: &Path) -> String {
    std::fs::read(path).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default()
}

/// A log file for a child's stdout and stderr both.
pub fn log_file(path: &Path) -> (Stdio, Stdio) {
    let file = File::options()
        .create(true)
        .append(true)
        .open(path)
        .unwrap_or_else(|e| panic!("creating {}: {e}", path.display()));
    let clone = file.try_clone().expect("cloning a log file handle");
    (Stdio::from(file), Stdio::from(clone))
}

/// Starts a server with `spawn(port)` on a fresh free port until it answers
/// `GET ready_path` with 200, retrying with another port when the child
/// exits because the port was taken meanwhile.
pub fn start_on_free_port(what: &str, log: &Path, ready_path: &str, mut spawn: impl FnMut(u16) -> Child) -> (Child, u16) {
    const TRIES: usize = 5;
    for attempt in 1..=TRIES {
        let port = free_port();
        let mut child = spawn(port);
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if http_status(port, ready_path) == Some(200) {
                return (child, port);
            }
            if let Some(status) = child.try_wait().expect("polling a child") {
                let text = read_log(log);
                let taken = ["already in use", "Address in use", "bind() failed", "Errno 98"].iter().any(|m| text.contains(m));
                if taken && attempt < TRIES {
                    eprintln!("{what}: port {port} was taken, trying another");
                    break;
                }
                panic!("{what} exited ({status}) before answering on port {port}; its output:\n{text}");
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{what} did not answer GET {ready_path} on port {port} within {START_TIMEOUT:?}; its output:\n{}", read_log(log));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    unreachable!("the last try panics")
}

/// Stops a child this module started: SIGKILL to its own process group
/// (the child and what it started, e.g. chromedriver's Chromium), then reaps.
pub fn kill_group(child: &mut Child) {
    if child.try_wait().ok().flatten().is_none() {
        let pgid = child.id() as libc::pid_t;
        // SAFETY: plain syscall on the process group this module created
        // for its own child (process_group(0) at spawn).
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
    }
    let _ = child.wait();
}

// ---------------------------------------------------------------------------
// Django
// ---------------------------------------------------------------------------

/// The shared-login Django site running `manage.py runserver --noreload`
/// (threaded) on 127.0.0.1. Killed when dropped; its log is printed when the
/// test is failing then.
pub struct DjangoServer {
    child: Child,
    port: u16,
    /// The venv's Python, with what the site's settings need.
    python: PathBuf,
    /// The environment of every manage.py run (the server's and `manage`'s).
    env: Vec<(String, String)>,
    log: PathBuf,
    sqlite_path: Option<PathBuf>,
    /// Holds the SQLite database (if any) and the log.
    _dir: TempDir,
}

/// Where the Django site keeps its sessions (its settings' SESSION_STORE).
pub enum DjangoSessions<'a> {
    /// Django's file backend on this directory (created when missing).
    Files(&'a Path),
    /// Django's cache backend (`django.contrib.sessions.backends.cache`) on
    /// `django.core.cache.backends.redis.RedisCache` at this URL, with the
    /// cache's default KEY_PREFIX and VERSION: sessions are Redis keys
    /// `:1:django.contrib.sessions.cache<key>` holding the pickled dict.
    Redis(&'a str),
    /// Django's db backend (`django.contrib.sessions.backends.db`): rows of
    /// the `django_session` table in the site's own database, the one its
    /// users are in, created by Django's `migrate`.
    Db,
    /// Django's cached_db backend: that table, with its RedisCache at this
    /// URL in front of it (default KEY_PREFIX and VERSION: Redis keys
    /// `:1:django.contrib.sessions.cached_db<key>`).
    CachedDb(&'a str),
    /// Django's signed_cookies backend: nothing stored, the session is the
    /// `sessionid` cookie, signed with the site's SECRET_KEY.
    SignedCookies,
}

/// The site's database: its users, and its sessions with
/// [`DjangoSessions::Db`]. `setup_site` migrates it.
pub enum DjangoDatabase<'a> {
    /// A fresh SQLite file in the server's temporary directory
    /// ([`DjangoServer::sqlite_path`]).
    Sqlite,
    /// The database of this name on this server, as `support::postgres`'s
    /// user (Django's psycopg backend).
    Postgres(&'a PostgresServer, &'a str),
}

impl DjangoServer {
    /// Creates a fresh SQLite database (migrated, holding [`DJANGO_USER`])
    /// in a temporary directory and starts the site with Django's file
    /// session backend on `session_dir` (created when missing) and
    /// `SECRET_KEY=secret`. `extra_env` adds settings the site reads:
    /// `SESSION_COOKIE_AGE`, `SESSION_EXPIRE_AT_BROWSER_CLOSE`,
    /// `SESSION_SAVE_EVERY_REQUEST` (see the site's settings.py).
    pub fn start(session_dir: &Path, secret: &str, extra_env: &[(&str, &str)]) -> DjangoServer {
        DjangoServer::start_with(DjangoSessions::Files(session_dir), DjangoDatabase::Sqlite, secret, extra_env)
    }

    /// As [`start`](Self::start), but with Django's cache session backend
    /// on Redis at `redis_url` ([`DjangoSessions::Redis`]).
    pub fn start_on_redis(redis_url: &str, secret: &str, extra_env: &[(&str, &str)]) -> DjangoServer {
        DjangoServer::start_with(DjangoSessions::Redis(redis_url), DjangoDatabase::Sqlite, secret, extra_env)
    }

    /// The site with its sessions where `sessions` says, on `database`
    /// (migrated, holding [`DJANGO_USER`]), otherwise as [`start`](Self::start).
    pub fn start_with(sessions: DjangoSessions, database: DjangoDatabase, secret: &str, extra_env: &[(&str, &str)]) -> DjangoServer {
        let started = Instant::now();
        let python = match (&sessions, &database) {
            (DjangoSessions::Redis(_) | DjangoSessions::CachedDb(_), _) => super::django::django_redis_python(),
            (_, DjangoDatabase::Postgres(..)) => super::django::django_postgres_python(),
            _ => django_python(),
        };
        let dir = tempfile::Builder::new().prefix("sessionbox-django-").tempdir().expect("a temporary directory");
        let mut env: Vec<(String, String)> = vec![("SECRET_KEY".into(), secret.into())];
        match sessions {
            DjangoSessions::Files(session_dir) => {
                std::fs::create_dir_all(session_dir).unwrap_or_else(|e| panic!("creating {}: {e}", session_dir.display()));
                let session_dir = session_dir.canonicalize().expect("canonical session dir");
                env.push(("SESSION_STORE".into(), "file".into()));
                env.push(("SESSION_FILE_PATH".into(), session_dir.display().to_string()));
            }
            DjangoSessions::Redis(url) => {
                env.push(("SESSION_STORE".into(), "cache".into()));
                env.push(("SESSION_REDIS_URL".into(), url.into()));
            }
            DjangoSessions::Db => env.push(("SESSION_STORE".into(), "db".into())),
            DjangoSessions::CachedDb(url) => {
                env.push(("SESSION_STORE".into(), "cached_db".into()));
                env.push(("SESSION_REDIS_URL".into(), url.into()));
            }
            DjangoSessions::SignedCookies => env.push(("SESSION_STORE".into(), "signed_cookies".into())),
        }
        let sqlite_path = match database {
            DjangoDatabase::Sqlite => {
                let path = dir.path().join("db.sqlite3");
                env.push(("SQLITE_PATH".into(), path.display().to_string()));
                Some(path)
            }
            DjangoDatabase::Postgres(server, name) => {
                env.push(("POSTGRES_NAME".into(), name.into()));
                env.push(("POSTGRES_HOST".into(), "127.0.0.1".into()));
                env.push(("POSTGRES_PORT".into(), server.port.to_string()));
                env.push(("POSTGRES_USER".into(), super::postgres::USER.into()));
                env.push(("POSTGRES_PASSWORD".into(), super::postgres::PASSWORD.into()));
                None
            }
        };
        env.extend(extra_env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let log = dir.path().join("django.log");

        super::run_ok(manage_command(&python, &env).args(["manage.py", "setup_site", DJANGO_USER, DJANGO_PASSWORD]));
        let (child, port) = start_on_free_port("Django runserver", &log, "/django/whoami/", |port| {
            let (out, err) = log_file(&log);
            let mut cmd = manage_command(&python, &env);
            cmd.args(["manage.py", "runserver", "--noreload", &format!("127.0.0.1:{port}")])
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err)
                .process_group(0);
            cmd.spawn().unwrap_or_else(|e| panic!("starting {cmd:?}: {e}"))
        });
        eprintln!("Django on 127.0.0.1:{port} in {:.1} s", started.elapsed().as_secs_f64());
        DjangoServer { child, port, python, env, log, sqlite_path, _dir: dir }
    }

    /// The site's SQLite database file (users, and sessions with
    /// [`DjangoSessions::Db`]); `None` on PostgreSQL.
    pub fn sqlite_path(&self) -> Option<&Path> {
        self.sqlite_path.as_deref()
    }

    /// Runs `manage.py ARGS...` against this server's database and settings;
    /// returns its stdout, panicking with its output when it fails.
    pub fn manage(&self, args: &[&str]) -> String {
        super::run_ok(manage_command(&self.python, &self.env).arg("manage.py").args(args))
    }

    /// `user.get_session_auth_hash()` for `username`: what Django's login
    /// stores as the session's `_auth_user_hash`.
    pub fn session_auth_hash(&self, username: &str) -> String {
        self.manage(&["auth_hash", username]).trim().to_owned()
    }

    /// The user's id (as the session's `_auth_user_id` holds it), backend,
    /// encoded password and session auth hash, as JSON.
    pub fn user_info(&self, username: &str) -> Value {
        let out = self.manage(&["auth_hash", "--json", username]);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("auth_hash --json printed {out:?}: {e}"))
    }

    /// `http://127.0.0.1:<port><path>`; `path` starts with `/`.
    pub fn url(&self, path: &str) -> String {
        assert!(path.starts_with('/'), "a path starts with /: {path:?}");
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's output so far (its request lines and any traceback).
    pub fn log(&self) -> String {
        read_log(&self.log)
    }
}

impl Drop for DjangoServer {
    fn drop(&mut self) {
        kill_group(&mut self.child);
        if std::thread::panicking() {
            eprintln!("--- Django server log ({}) ---\n{}--- end of Django server log ---", self.log.display(), self.log());
        }
    }
}

/// Python running in the site's directory with the site's environment and
/// nothing of the test process's own Django or session settings.
fn manage_command(python: &Path, env: &[(String, String)]) -> Command {
    let mut cmd = Command::new(python);
    cmd.current_dir(django_site_dir())
        .env_remove("DJANGO_SETTINGS_MODULE")
        .env_remove("SESSION_STORE")
        .env_remove("POSTGRES_NAME")
        .env_remove("SESSION_COOKIE_AGE")
        .env_remove("SESSION_EXPIRE_AT_BROWSER_CLOSE")
        .env_remove("SESSION_SAVE_EVERY_REQUEST")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONUNBUFFERED", "1")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    cmd
}

// ---------------------------------------------------------------------------
// Chromium
// ---------------------------------------------------------------------------

/// A cookie as the browser stores it (WebDriver's view: the cookies of the
/// current page's host).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrowserCookie {
    pub name: String,
    pub value: String,
    pub domain: Option<String>,
    pub path: Option<String>,
    pub secure: bool,
    pub http_only: bool,
    /// "Strict", "Lax" or "None".
    pub same_site: Option<String>,
    /// Unix seconds; `None` for a session cookie (gone when the browser
    /// closes).
    pub expiry: Option<i64>,
}

/// Headless Chromium driven through chromedriver, with a fresh profile
/// (`--user-data-dir`) in a temporary directory. Quit and killed when
/// dropped; chromedriver's log is printed when the test is failing then.
pub struct Browser {
    rt: tokio::runtime::Runtime,
    client: Option<Client>,
    driver: Child,
    driver_port: u16,
    /// profile/, home/ (HOME of chromedriver and Chromium, so nothing lands
    /// in the real home), chromedriver.log.
    dir: TempDir,
}

/// Chromium's other answer for an element of a page that has just been
/// replaced (seen in CI mid-navigation): an "unknown error" saying the node
/// does not belong to the document, instead of a stale element reference.
fn left_the_document(e: &fantoccini::error::CmdError) -> bool {
    let text = format!("{e:?}");
    text.contains("does not belong to the document") || text.contains("No node with given id")
}

impl Browser {
    /// Starts chromedriver on a free port and opens a Chromium session.
    /// Panics, saying what to install, when Chromium or chromedriver is
    /// missing.
    pub fn start() -> Browser {
        let started = Instant::now();
        for (path, package) in [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")] {
            assert!(
                Path::new(path).exists(),
                "the browser tests need {path} (Debian package {package}): run .ci/run as root, or apt-get install chromium chromium-driver"
            );
        }
        let dir = tempfile::Builder::new().prefix("sessionbox-chromium-").tempdir().expect("a temporary directory");
        let home = dir.path().join("home");
        std::fs::create_dir_all(dir.path().join("profile")).expect("creating the profile dir");
        std::fs::create_dir_all(&home).expect("creating the browser's HOME");
        let log = dir.path().join("chromedriver.log");
        let (driver, driver_port) = start_on_free_port("chromedriver", &log, "/status", |port| {
            let (out, err) = log_file(&log);
            let mut cmd = Command::new(CHROMEDRIVER);
            cmd.arg(format!("--port={port}"))
                .env("HOME", &home)
                .env("XDG_CONFIG_HOME", home.join(".config"))
                .env("XDG_CACHE_HOME", home.join(".cache"))
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err)
                .process_group(0);
            cmd.spawn().unwrap_or_else(|e| panic!("starting {cmd:?}: {e}"))
        });
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime");
        let mut browser = Browser { rt, client: None, driver, driver_port, dir };
        browser.connect();
        eprintln!("Chromium (chromedriver on 127.0.0.1:{driver_port}) in {:.1} s", started.elapsed().as_secs_f64());
        browser
    }

    /// The profile directory (`--user-data-dir`), kept across [`restart`](Self::restart).
    pub fn profile_dir(&self) -> PathBuf {
        self.dir.path().join("profile")
    }

    fn capabilities(&self) -> serde_json::Map<String, Value> {
        let profile = self.profile_dir();
        let args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1024,768",
            &format!("--user-data-dir={}", profile.display()),
        ];
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": args,
                // Start with a new tab page, never the previous session: a
                // restored session would bring its session cookies back.
                "prefs": {"session": {"restore_on_startup": 5}},
            },
            "timeouts": {"pageLoad": 30_000, "script": 30_000, "implicit": 0},
        });
        caps.as_object().cloned().expect("an object")
    }

    fn connect(&mut self) {
        let caps = self.capabilities();
        let url = format!("http://127.0.0.1:{}", self.driver_port);
        let client = self.block("opening a Chromium session", async {
            let mut builder = ClientBuilder::new(HttpConnector::new());
            builder.capabilities(caps);
            builder.connect(&url).await
        });
        self.client = Some(client);
    }

    /// Quits Chromium (as a user closing it: session cookies are dropped,
    /// persistent ones written out) and starts it again on the same profile.
    pub fn restart(&mut self) {
        let started = Instant::now();
        self.close_session();
        self.connect();
        eprintln!("Chromium restarted on the same profile in {:.1} s", started.elapsed().as_secs_f64());
    }

    fn close_session(&mut self) {
        if let Some(client) = self.client.take() {
            self.block("quitting Chromium", client.close());
        }
    }

    fn client(&self) -> &Client {
        self.client.as_ref().expect("a browser session")
    }

    /// Runs one WebDriver interaction, failing the test when it errs or
    /// takes longer than COMMAND_TIMEOUT.
    fn block<T, E: std::fmt::Debug>(&self, what: &str, fut: impl std::future::Future<Output = Result<T, E>>) -> T {
        match self.rt.block_on(async { tokio::time::timeout(COMMAND_TIMEOUT, fut).await }) {
            Ok(Ok(value)) => value,
            Ok(Err(e)) => panic!("browser: {what}: {e:?}"),
            Err(_) => panic!("browser: {what}: no answer within {COMMAND_TIMEOUT:?}"),
        }
    }

    /// Opens `url` and waits until it has loaded.
    pub fn goto(&self, url: &str) {
        self.block(&format!("opening {url}"), self.client().goto(url));
    }

    pub fn current_url(&self) -> String {
        self.block("reading the URL", self.client().current_url()).to_string()
    }

    /// The rendered text of the element with id `id`, waiting for it to
    /// appear.
    pub fn text(&self, id: &str) -> String {
        self.block(&format!("reading #{id}"), async {
            let element = self.client().wait().at_most(ELEMENT_TIMEOUT).for_element(Locator::Id(id)).await?;
            element.text().await
        })
    }

    /// Whether the page has an element with id `id` (no waiting).
    pub fn has(&self, id: &str) -> bool {
        self.block(&format!("looking for #{id}"), async {
            match self.client().find(Locator::Id(id)).await {
                Ok(_) => Ok(true),
                Err(e) if e.is_no_such_element() => Ok(false),
                Err(e) => Err(e),
            }
        })
    }

    /// The page's HTML.
    pub fn source(&self) -> String {
        self.block("reading the page source", self.client().source())
    }

    /// Types `value` into the (cleared) form field named `name`.
    pub fn fill(&self, name: &str, value: &str) {
        self.block(&format!("filling {name}"), async {
            let field = self.client().find(Locator::Css(&format!("[name=\"{name}\"]"))).await?;
            field.clear().await?;
            field.send_keys(value).await
        });
    }

    /// Clicks the element with id `id` and waits until the page it leads to
    /// has replaced this one and finished loading.
    pub fn click_and_wait(&self, id: &str) {
        self.block(&format!("clicking #{id}"), async {
            let client = self.client();
            let old_root = client.find(Locator::Css("html")).await?;
            client.find(Locator::Id(id)).await?.click().await?;
            let deadline = Instant::now() + ELEMENT_TIMEOUT;
            // The old document's root goes stale once the next page is in.
            loop {
                match old_root.tag_name().await {
                    Err(e) if e.is_stale_element_reference() || left_the_document(&e) => break,
                    Err(e) => return Err(e),
                    Ok(_) if Instant::now() > deadline => return Err(fantoccini::error::CmdError::WaitTimeout),
                    Ok(_) => tokio::time::sleep(Duration::from_millis(25)).await,
                }
            }
            loop {
                let state = client.execute("return document.readyState", vec![]).await?;
                if state == "complete" {
                    return Ok(());
                }
                if Instant::now() > deadline {
                    return Err(fantoccini::error::CmdError::WaitTimeout);
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        });
    }

    /// Loads a counter page `n` times: its `#count` reads 1 to `n` in turn
    /// and its `#user` reads `user` every time.
    pub fn count_visits(&self, url: &str, n: u32, user: &str) {
        for visit in 1..=n {
            self.goto(url);
            assert_eq!(self.text("count"), visit.to_string(), "visit {visit}");
            assert_eq!(self.text("user"), user);
        }
    }

    /// Fills the named fields, clicks the submit button `submit_id`, and
    /// waits for the next page.
    pub fn submit_form(&self, fields: &[(&str, &str)], submit_id: &str) {
        for (name, value) in fields {
            self.fill(name, value);
        }
        self.click_and_wait(submit_id);
    }

    /// The cookies the browser holds for the current page's host.
    pub fn cookies(&self) -> Vec<BrowserCookie> {
        let cookies = self.block("listing cookies", self.client().get_all_cookies());
        cookies
            .into_iter()
            .map(|c| BrowserCookie {
                name: c.name().to_owned(),
                value: c.value().to_owned(),
                domain: c.domain().map(str::to_owned),
                path: c.path().map(str::to_owned),
                secure: c.secure().unwrap_or(false),
                http_only: c.http_only().unwrap_or(false),
                same_site: c.same_site().map(|s| s.to_string()),
                expiry: c.expires_datetime().map(|t| t.unix_timestamp()),
            })
            .collect()
    }

    /// The cookie named `name` for the current page's host, if the browser
    /// holds one.
    pub fn cookie(&self, name: &str) -> Option<BrowserCookie> {
        self.cookies().into_iter().find(|c| c.name == name)
    }

    /// Saves a PNG screenshot of the viewport to `path`.
    pub fn screenshot(&self, path: &Path) {
        let png = self.block("taking a screenshot", self.client().screenshot());
        std::fs::write(path, png).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    }

    /// chromedriver's output so far.
    pub fn log(&self) -> String {
        read_log(&self.dir.path().join("chromedriver.log"))
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            // Best effort: a failing test may have left the session broken.
            let _ = self.rt.block_on(async { tokio::time::timeout(Duration::from_secs(10), client.close()).await });
        }
        kill_group(&mut self.driver);
        if std::thread::panicking() {
            eprintln!("--- chromedriver log ---\n{}--- end of chromedriver log ---", self.log());
        }
    }
}

/// Checks that a session cookie has Django's attributes as the browser
/// stored them: HttpOnly, not Secure, `SameSite=Lax`, `Path=/`, and an
/// expiry `age` seconds after `since` (give or take 2 s).
pub fn assert_django_session_cookie(cookie: &BrowserCookie, since: i64, age: i64) {
    assert!(cookie.http_only && !cookie.secure, "{cookie:?}");
    assert_eq!((cookie.same_site.as_deref(), cookie.path.as_deref()), (Some("Lax"), Some("/")), "{cookie:?}");
    let expiry = cookie.expiry.expect("a persistent cookie");
    assert!((since + age - 2..=unix_now() + age + 2).contains(&expiry), "expiry {expiry}");
}

/// Unix seconds now.
pub fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_secs() as i64
}

// ---------------------------------------------------------------------------
// wasmtime serve
// ---------------------------------------------------------------------------

/// The stock wasmtime CLI's `wasmtime serve` running a composed wasi:http
/// component on 127.0.0.1, with `sessions` as its only preopen (`.` inside)
/// and `env` passed by name (`--env NAME`, the value inherited from this
/// process's child environment, never on the command line). Killed when
/// dropped; its output is printed when the test is failing then.
pub struct WasmtimeServe {
    child: Child,
    port: u16,
    log: PathBuf,
    _dir: TempDir,
}

impl WasmtimeServe {
    pub fn start(component: &Path, sessions: &Path, env: &[(&str, &str)]) -> WasmtimeServe {
        let started = Instant::now();
        let dir = tempfile::Builder::new().prefix("sessionbox-serve-").tempdir().expect("a temporary directory");
        std::fs::create_dir_all(sessions).unwrap_or_else(|e| panic!("creating {}: {e}", sessions.display()));
        let log = dir.path().join("serve.log");
        let wasmtime = super::runtimes::wasmtime_cli();
        let (child, port) = start_on_free_port("wasmtime serve", &log, "/healthz", |port| {
            let (out, err) = log_file(&log);
            let mut cmd = Command::new(&wasmtime);
            cmd.args(["serve", "-O", "pooling-allocator=n", "-S", "cli", "--addr", &format!("127.0.0.1:{port}")])
                .arg("--dir")
                .arg(format!("{}::.", sessions.display()));
            cmd.env_clear();
            for (name, value) in env {
                cmd.arg("--env").arg(name).env(name, value);
            }
            cmd.arg(component).stdin(Stdio::null()).stdout(out).stderr(err).process_group(0);
            cmd.spawn().unwrap_or_else(|e| panic!("starting {cmd:?}: {e}"))
        });
        eprintln!("wasmtime serve on 127.0.0.1:{port} in {:.1} s", started.elapsed().as_secs_f64());
        WasmtimeServe { child, port, log, _dir: dir }
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for WasmtimeServe {
    fn drop(&mut self) {
        kill_group(&mut self.child);
        if std::thread::panicking() {
            eprintln!("wasmtime serve output:\n{}", read_log(&self.log));
        }
    }
}

/// The demo app (`examples/demo`) served over real HTTP on 127.0.0.1, on
/// its own thread and multi-thread runtime (the browser helper blocks on a
/// runtime of its own); stopped when dropped.
pub struct DemoApp {
    port: u16,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl DemoApp {
    /// The demo app on `store`, whatever holds its sessions.
    pub fn start(store: sessionbox::Store, users: Vec<sessionbox_demo::DemoUser>) -> DemoApp {
        let config = sessionbox_tower::SessionConfig::for_store(&store);
        DemoApp::serve(sessionbox_demo::app(store, config, users), 2)
    }

    /// Any axum app served the same way, on `workers` runtime threads (a
    /// test's own routes, for what the demo has none).
    pub fn serve(app: axum::Router, workers: usize) -> DemoApp {
        let port = free_port();
        let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
        listener.set_nonblocking(true).unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(workers).enable_all().build().unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(listener, app).with_graceful_shutdown(async move { drop(rx.await) }).await.unwrap();
            });
        });
        DemoApp { port, shutdown: Some(tx), thread: Some(thread) }
    }

    /// The app's URL for `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for DemoApp {
    fn drop(&mut self) {
        drop(self.shutdown.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One HTTP/1.1 exchange over a fresh connection, as raw text: the status,
/// the `sessionid` value a `Set-Cookie` gave (empty for a deletion), and
/// the body.
pub struct Exchange {
    pub status: u16,
    pub session_cookie: Option<String>,
    pub body: String,
}

/// Sends `method path` to 127.0.0.1:`port` with the session cookie `key`
/// (if any) and a form `body` (for POST).
pub fn exchange(port: u16, method: &str, path: &str, key: Option<&str>, body: &str) -> Exchange {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(std::time::Duration::from_secs(30))).unwrap();
    let cookie = key.map(|k| format!("Cookie: sessionid={k}\r\n")).unwrap_or_default();
    let form = if method == "POST" { format!("Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n", body.len()) } else { String::new() };
    write!(stream, "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{cookie}{form}Connection: close\r\n\r\n{body}").unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("no status in {head:?}"));
    let session_cookie = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .filter(|(name, _)| name.eq_ignore_ascii_case("set-cookie"))
        .find_map(|(_, value)| value.trim().strip_prefix("sessionid="))
        .map(|rest| rest.split(';').next().unwrap_or("").trim_matches('"').to_owned());
    Exchange { status, session_cookie, body: body.to_owned() }
}
