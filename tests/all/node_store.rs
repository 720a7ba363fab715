//! The Node package in `js/` (`sessionbox-express`: an express-session
//! store on the component through jco, and Django's cookie for it):
//!
//! - its own tests, `node --test js/test/` (the store under the real
//!   express-session over real directories, the races, expiry, the version
//!   tied to the WIT package, `npm pack` installed into a fresh project),
//!   after installing its npm dependencies and building `js/gen/`;
//! - what express writes, Django's own file engine reads, and the other way
//!   round (`support::django::Driver`), through the example app
//!   (`js/examples/app.mjs`) over real HTTP.
//!
//! The npm dependencies are installed once per machine per
//! `package-lock.json` into `<tools>/sessionbox-express-<hash>` and linked
//! as `js/node_modules` (a real `js/node_modules`, a developer's own
//! `npm install`, is used as it is). Node 20 and npm must be on `PATH`.

use crate::support::django::{django_python, Driver};
use crate::support::web::{exchange, kill_group, log_file, read_log, start_on_free_port};
use crate::support::{install_once, lock, run_ok, sha256_hex, tools_dir, workspace_root};
use serde_json::{json, Value};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// `js/`, the package's directory.
pub fn js_dir() -> PathBuf {
    workspace_root().join("js")
}

/// Node's version, checked to be 20 or later; fails saying what to install.
fn require_node() {
    let out = Command::new("node").arg("--version").output();
    let version = match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().to_owned(),
        _ => panic!("the Node tests need node (20 or later) and npm on PATH: run .ci/run as root, or apt-get install nodejs npm"),
    };
    let major: u32 = version.trim_start_matches('v').split('.').next().and_then(|m| m.parse().ok()).unwrap_or(0);
    assert!(major >= 20, "the Node tests need Node 20 or later, found {version}");
}

/// `js/` ready to run: its npm dependencies installed (once per machine per
/// lock file) and `js/gen/` built from the current component. Returns `js/`.
pub fn js_ready() -> PathBuf {
    require_node();
    let js = js_dir();
    let lockfile = std::fs::read(js.join("package-lock.json")).expect("js/package-lock.json");
    let name = format!("sessionbox-express-{}", &sha256_hex(&lockfile)[..16]);
    let deps = tools_dir().join(&name);
    let done = deps.join(".installed");
    install_once(&name, &done, || {
        std::fs::create_dir_all(&deps).unwrap_or_else(|e| panic!("creating {}: {e}", deps.display()));
        for file in ["package.json", "package-lock.json"] {
            std::fs::copy(js.join(file), deps.join(file)).unwrap_or_else(|e| panic!("copying js/{file}: {e}"));
        }
        let started = std::time::Instant::now();
        // --ignore-scripts: the package's own prepack (the build) needs its
        // sources, which are not here; the dependencies have no scripts.
        run_ok(Command::new("npm").args(["ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"]).current_dir(&deps));
        std::fs::write(&done, "").unwrap();
        eprintln!("sessionbox tests: the js/ dependencies installed in {:.0?}", started.elapsed());
    });
    let _lock = lock("js-build");
    let link = js.join("node_modules");
    match std::fs::symlink_metadata(&link) {
        Ok(m) if m.file_type().is_symlink() => {
            if std::fs::read_link(&link).ok().as_deref() != Some(deps.join("node_modules").as_path()) {
                std::fs::remove_file(&link).unwrap_or_else(|e| panic!("removing {}: {e}", link.display()));
                std::os::unix::fs::symlink(deps.join("node_modules"), &link).unwrap();
            }
        }
        // A developer's own install.
        Ok(_) => {}
        Err(_) => std::os::unix::fs::symlink(deps.join("node_modules"), &link).unwrap_or_else(|e| panic!("linking {}: {e}", link.display())),
    }
    run_ok(Command::new("node").arg("scripts/build.mjs").current_dir(&js));
    js
}

#[test]
fn the_node_package_passes_its_own_tests() {
    let js = js_ready();
    let out = Command::new("node")
        .args(["--test", "--test-reporter=spec", "--test-timeout=300000", "test/"])
        .current_dir(&js)
        .env_remove("NODE_OPTIONS")
        .output()
        .unwrap_or_else(|e| panic!("running node --test: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "node --test js/test/ failed ({}):\n{text}", out.status);
    // Every test file ran: a file that fails to load counts as no test.
    for file in ["store.test.mjs", "version.test.mjs", "pack.test.mjs", "types.test.mjs"] {
        assert!(js.join("test").join(file).is_file(), "js/test/{file}");
    }
    let passed = text.lines().find_map(|l| l.trim().strip_prefix("ℹ pass ")).and_then(|n| n.trim().parse::<u32>().ok());
    assert!(passed.is_some_and(|n| n >= 20), "the summary names the passed tests:\n{text}");
}

/// The example express app (`js/examples/app.mjs`) on `sessions` with
/// `secret`, on a free port of 127.0.0.1; killed when dropped.
pub struct ExpressApp {
    child: Child,
    port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl ExpressApp {
    /// Starts it; `users` is Django's users as `[{"id", "username",
    /// "password_hash"}]`, `env` more settings (`SESSION_EXPIRE_AT_BROWSER_CLOSE`).
    pub fn start(sessions: &std::path::Path, secret: &str, users: &Value, env: &[(&str, &str)]) -> ExpressApp {
        let js = js_ready();
        let dir = tempfile::Builder::new().prefix("sessionbox-express-app-").tempdir().unwrap();
        let log = dir.path().join("express.log");
        let (child, port) = start_on_free_port("the express example", &log, "/healthz", |port| {
            let (out, err) = log_file(&log);
            let mut cmd = Command::new("node");
            cmd.arg("examples/app.mjs")
                .current_dir(&js)
                .env_remove("NODE_OPTIONS")
                .env("SESSIONBOX_DIR", sessions)
                .env("SECRET_KEY", secret)
                .env("PORT", port.to_string())
                .env("SESSIONBOX_USERS", users.to_string())
                .envs(env.iter().copied())
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err)
                .process_group(0);
            cmd.spawn().unwrap_or_else(|e| panic!("starting {cmd:?}: {e}"))
        });
        ExpressApp { child, port, log, _dir: dir }
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for ExpressApp {
    fn drop(&mut self) {
        kill_group(&mut self.child);
        if std::thread::panicking() {
            eprintln!("--- express app log ---\n{}--- end of express app log ---", read_log(&self.log));
        }
    }
}

const SECRET: &str = "node-django-secret-\u{e9}-4f1c";

/// The text of the element with id `id` in an HTML page.
fn element(body: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\">");
    let start = body.find(&marker).unwrap_or_else(|| panic!("no #{id} in {body}")) + marker.len();
    let end = body[start..].find('<').unwrap() + start;
    body[start..end].replace("&quot;", "\"").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

/// What express writes, Django's file engine reads, and the other way round:
/// data, Django's expiry (`set_expiry`), a logout on either side.
#[test]
fn express_and_djangos_file_engine_read_each_others_sessions() {
    let tmp = tempfile::tempdir().unwrap();
    let sessions = tmp.path().join("sessions");
    let app = ExpressApp::start(&sessions, SECRET, &json!([]), &[]);
    let mut django = Driver::start(&django_python(), &json!({"engine": "file", "secret_key": SECRET, "dir": sessions}));

    // express writes (a string with non-ASCII, a counter); Django reads.
    let set = exchange(app.port(), "GET", "/set?key=colour&value=t%C3%A9al%20%E2%9C%93", None, "");
    assert_eq!(set.status, 200, "{}", set.body);
    let key = set.session_cookie.expect("express's cookie");
    assert!(key.len() == 32 && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()), "Django's raw key in the cookie: {key:?}");
    assert_eq!(exchange(app.port(), "GET", "/", Some(&key), "").status, 200);
    let loaded = django.ok(&json!({"op": "load", "key": key}));
    assert_eq!(loaded["data"], json!({"colour": "téal ✓", "counter": 1}), "Django reads what express wrote (no express cookie in it): {loaded}");
    assert_eq!(loaded["key_after"], json!(key));
    let expiry = django.ok(&json!({"op": "expiry", "key": key}));
    assert_eq!(expiry["age"], json!(1_209_600), "no _session_expiry: Django's cookie age: {expiry}");

    // express's cookie maxAge is Django's set_expiry.
    assert_eq!(exchange(app.port(), "GET", "/expiry?seconds=300", Some(&key), "").status, 200);
    let expiry = django.ok(&json!({"op": "expiry", "key": key}));
    assert_eq!(expiry["age"], json!(300), "express's maxAge 300 s is Django's set_expiry(300): {expiry}");

    // Django writes; express reads, with Django's expiry.
    django.ok(&json!({"op": "save", "key": key, "data": {"shape": "round"}}));
    django.ok(&json!({"op": "set_expiry", "key": key, "expiry": 120}));
    let page = exchange(app.port(), "GET", "/session", Some(&key), "");
    let data: Value = serde_json::from_str(&element(&page.body, "session")).unwrap();
    assert_eq!(data, json!({"colour": "téal ✓", "counter": 1, "_session_expiry": 120, "shape": "round"}), "express reads what Django wrote");
    assert_eq!(element(&page.body, "expiry-age"), "120");
    assert_eq!(element(&page.body, "key"), key);

    // A session Django creates is one express continues.
    let created = django.ok(&json!({"op": "create", "data": {"counter": 41}}));
    let dkey = created["key"].as_str().unwrap().to_owned();
    let visit = exchange(app.port(), "GET", "/", Some(&dkey), "");
    assert!(visit.body.contains("<span id=\"count\">42</span>"), "{}", visit.body);
    assert_eq!(django.ok(&json!({"op": "load", "key": dkey}))["data"], json!({"counter": 42}));

    // Django's logout (flush) ends it for express; express's ends it for Django.
    django.ok(&json!({"op": "flush", "key": dkey}));
    let after = exchange(app.port(), "GET", "/session", Some(&dkey), "");
    assert_eq!(element(&after.body, "session"), "{}", "express finds no session after Django's flush");
    let out = exchange(app.port(), "POST", "/logout", Some(&key), "");
    assert_eq!(out.status, 200);
    assert_eq!(out.session_cookie.as_deref(), Some(""), "express deletes the cookie at logout, as Django does");
    assert_eq!(django.ok(&json!({"op": "exists", "key": key}))["exists"], json!(false));
    assert!(crate::support::file_names(&sessions).is_empty(), "{:?}", crate::support::file_names(&sessions));
}
