//! The Python package (python/): `sessionbox_django.file`, a Django
//! `SESSION_ENGINE` whose storage is the component run by wasmtime-py, and
//! `sessionbox_django.cache`, the key-value component with its `kv` import
//! served by redis-py from a real `redis-server`.
//!
//! The wheel is built from python/ (with the components the host embeds),
//! installed from that file into a fresh venv (its dependencies from a local
//! wheelhouse of the exact Django and wasmtime-py the Django venv holds), and
//! everything below runs against the installed package: Django's own file
//! and cache session tests from Django's source distribution (python/tests/
//! test_django_suite.py, test_django_cache_suite.py), the engines' own tests
//! (python/tests/test_engine.py, test_engine_cache.py) and a fresh
//! `django-admin startproject` site.

use crate::support::django::{django_python, django_python_with, django_redis_python, django_version};
use crate::support::redis::RedisServer;
use crate::support::{install_once, lock, run_ok, sha256_hex, tools_dir, workspace_root};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// wasmtime-py, whose component model (`wasmtime.component`) the engine uses;
/// as python/pyproject.toml requires it.
pub const WASMTIME_PY_REQUIREMENT: &str = "wasmtime==51.*";
/// The build backend, with `bdist_wheel` built in (so no `wheel` package),
/// for building the wheel without build isolation (offline after the first
/// install).
pub const SETUPTOOLS_REQUIREMENT: &str = "setuptools>=70.1,<81";

/// The Django venv with wasmtime-py and setuptools.
fn engine_python() -> PathBuf {
    django_python_with("wasmtime-py", WASMTIME_PY_REQUIREMENT, "wasmtime");
    django_python_with("setuptools", SETUPTOOLS_REQUIREMENT, "setuptools")
}

/// The version of the component's WIT package (`sessionbox:store@X`).
fn wit_version() -> String {
    let wit = std::fs::read_to_string(workspace_root().join("wit/sessionbox.wit")).expect("reading wit/sessionbox.wit");
    let line = wit.lines().find(|l| l.starts_with("package sessionbox:store@")).expect("the WIT package line");
    line.trim_start_matches("package sessionbox:store@").trim_end_matches(';').trim().to_owned()
}

/// A directory of this test process's own under the target's tmp dir.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("django-engine-{}", std::process::id())).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    dir
}

/// The wheel, built once per test process from python/.
fn wheel() -> &'static Path {
    static WHEEL: OnceLock<PathBuf> = OnceLock::new();
    WHEEL.get_or_init(|| {
        let python = engine_python();
        let out = scratch("wheel");
        // pip builds in the tree (python/build): one build at a time.
        let _lock = lock("sessionbox-django-build");
        run_ok(
            Command::new(&python)
                .args(["-m", "pip", "wheel", "--disable-pip-version-check", "--no-input", "--quiet", "--no-deps", "--no-build-isolation", "-w"])
                .arg(&out)
                .arg(workspace_root().join("python"))
                .env("PIP_NO_INPUT", "1"),
        );
        let wheels: Vec<PathBuf> = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "whl")).collect();
        assert_eq!(wheels.len(), 1, "pip wheel made {wheels:?}");
        wheels.into_iter().next().unwrap()
    })
}

/// The installed version of `dist` in the Django venv.
fn installed_version(python: &Path, dist: &str) -> String {
    run_ok(Command::new(python).args(["-c", &format!("import importlib.metadata as m; print(m.version({dist:?}))")])).trim().to_owned()
}

/// A directory of wheels of the engine's dependencies (the Django venv's
/// exact Django, wasmtime-py and redis-py, and theirs), downloaded once per
/// machine, so fresh venvs install offline.
fn wheelhouse() -> PathBuf {
    let python = engine_python();
    django_redis_python();
    let django = django_version();
    let wasmtime = installed_version(&python, "wasmtime");
    let redis = installed_version(&python, "redis");
    let dir = tools_dir().join(format!("sessionbox-django-wheelhouse-{django}-{wasmtime}-{redis}"));
    let done = dir.join("done.txt");
    install_once("sessionbox-django-wheelhouse", &done, || {
        let _ = std::fs::remove_dir_all(&dir);
        run_ok(
            Command::new(&python)
                .args(["-m", "pip", "download", "--disable-pip-version-check", "--no-input", "--quiet", "-d"])
                .arg(&dir)
                .arg(format!("django=={django}"))
                .arg(format!("wasmtime=={wasmtime}"))
                .arg(format!("redis=={redis}"))
                .env("PIP_NO_INPUT", "1"),
        );
        std::fs::write(&done, format!("django {django}, wasmtime {wasmtime}, redis {redis}\n")).unwrap();
    });
    dir
}

/// Django's source distribution's `tests/` directory (for
/// `tests/sessions_tests`), of the exact Django the venv holds; downloaded
/// once per machine (`pip download --no-binary :all:`).
fn django_sdist_tests() -> PathBuf {
    let python = django_python();
    let version = django_version();
    let dir = tools_dir().join(format!("django-{version}-sdist"));
    let tests = dir.join(format!("django-{version}/tests"));
    let done = dir.join("done.txt");
    install_once(&format!("django-{version}-sdist"), &done, || {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        run_ok(
            Command::new(&python)
                .args(["-m", "pip", "download", "--disable-pip-version-check", "--no-input", "--quiet", "--no-binary", ":all:", "--no-deps", "-d"])
                .arg(&dir)
                .arg(format!("django=={version}"))
                .env("PIP_NO_INPUT", "1"),
        );
        // Only the session tests and what they import.
        let extract = r#"
import glob, sys, tarfile
d, v = sys.argv[1], sys.argv[2]
[sdist] = glob.glob(f"{d}/[Dd]jango-{v}.tar.gz")
with tarfile.open(sdist) as t:
    want = [m for m in t.getmembers() if m.name.startswith(f"django-{v}/tests/sessions_tests/")]
    assert want, "no tests/sessions_tests in " + sdist
    t.extractall(d, members=want)
"#;
        run_ok(Command::new(&python).args(["-c", extract]).arg(&dir).arg(&version));
        assert!(tests.join("sessions_tests/tests.py").is_file(), "no sessions_tests/tests.py in {}", tests.display());
        std::fs::write(&done, format!("{version}\n")).unwrap();
    });
    tests
}

/// A fresh venv (python3 -m venv) with the wheel installed from its file
/// (with its `redis` extra, for the cache engine), made once per test
/// process; its python.
fn fresh_venv_python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let wheel = wheel();
        let wheelhouse = wheelhouse();
        let venv = scratch("venv");
        run_ok(Command::new("python3").arg("-m").arg("venv").arg(&venv));
        let python = venv.join("bin/python");
        run_ok(
            Command::new(&python)
                .args(["-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--quiet", "--no-index", "--find-links"])
                .arg(&wheelhouse)
                .arg(format!("{}[redis]", wheel.display()))
                .env("PIP_NO_INPUT", "1"),
        );
        python
    })
}

/// Output of running a Django test label with python/tests/settings.py,
/// against the installed engine (python/src is not on the path).
fn django_test(label: &str) -> String {
    django_test_with(label, "settings", None)
}

/// As [`django_test`] with the cache engine's settings (settings_redis.py)
/// on `redis`.
fn django_cache_test(label: &str, redis: &RedisServer) -> String {
    django_test_with(label, "settings_redis", Some(redis.url()))
}

fn django_test_with(label: &str, settings: &str, redis_url: Option<String>) -> String {
    let python = fresh_venv_python();
    let mut cmd = Command::new(python);
    cmd.args(["-m", "django", "test", label, &format!("--settings={settings}"), "-v", "2"])
        .current_dir(workspace_root().join("python/tests"))
        .env("PYTHONPATH", django_sdist_tests())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("DJANGO_SETTINGS_MODULE");
    if let Some(url) = redis_url {
        cmd.env("SESSIONBOX_TEST_REDIS_URL", url);
    }
    let out = cmd.output().unwrap_or_else(|e| panic!("running Django's test runner: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "`django test {label}` failed ({}):\n{text}", out.status);
    text
}

/// How many tests the runner reports it ran.
fn ran(output: &str) -> usize {
    let line = output.lines().find(|l| l.starts_with("Ran ")).unwrap_or_else(|| panic!("no `Ran N tests` in:\n{output}"));
    line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("odd line {line:?}"))
}

#[test]
fn the_wheel_ships_the_components_and_carries_their_version() {
    let version = wit_version();
    let wheel = wheel();
    assert_eq!(wheel.file_name().unwrap().to_string_lossy(), format!("sessionbox_django-{version}-py3-none-any.whl"));
    let pyproject = std::fs::read_to_string(workspace_root().join("python/pyproject.toml")).unwrap();
    assert!(pyproject.contains(&format!("\nversion = \"{version}\"\n")), "python/pyproject.toml's version is not the WIT package's {version}");
    let probe = r#"
import hashlib, importlib.metadata, importlib.resources, sessionbox_django
from sessionbox_django import _component
print(importlib.metadata.version("sessionbox-django"))
print(sessionbox_django.__version__)
print(_component.SESSIONS)
print(sessionbox_django.__file__)
for name in ("sessionbox_guest.wasm", "sessionbox_guest_kv.wasm"):
    print(hashlib.sha256(importlib.resources.files("sessionbox_django").joinpath(name).read_bytes()).hexdigest())
"#;
    let python = fresh_venv_python();
    let out = run_ok(Command::new(python).args(["-c", probe]).current_dir(std::env::temp_dir()));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], version, "the installed distribution's version");
    assert_eq!(lines[1], version, "sessionbox_django.__version__");
    assert_eq!(lines[2], format!("sessionbox:store/sessions@{version}"));
    let venv = python.parent().unwrap().parent().unwrap();
    assert!(Path::new(lines[3]).starts_with(venv), "imported {} instead of the installed wheel", lines[3]);
    for (line, file) in lines[4..].iter().zip(["sessionbox_guest.wasm", "sessionbox_guest_kv.wasm"]) {
        let committed = std::fs::read(workspace_root().join("host/component").join(file)).unwrap();
        assert_eq!(*line, sha256_hex(&committed), "the wheel's {file} is not host/component/{file}");
    }
}

/// The Django tests python/tests/test_django_suite.py excludes by name
/// (its EXCLUDED): none, every test of Django's file backend passes.
const EXCLUDED: &[&str] = &[];

#[test]
fn djangos_own_file_session_tests_pass_against_the_engine() {
    let output = django_test("test_django_suite");
    // FileSessionTests and FileSessionPathLibTests, each with the mixin's
    // sync and async tests.
    let n = ran(&output);
    assert!(n >= 130, "only {n} of Django's file session tests ran:\n{output}");
    let skipped: Vec<&str> = output.lines().filter(|l| l.contains(" ... skipped")).collect();
    assert_eq!(skipped.len(), EXCLUDED.len() * 2, "skipped:\n{}", skipped.join("\n"));
    for name in EXCLUDED {
        assert!(skipped.iter().any(|l| l.starts_with(&format!("{name} "))), "{name} was not excluded");
    }
    // The classes run are the ones pointed at the engine, through the
    // engine's own clearsessions.
    assert!(output.contains("test_clearsessions_command (test_django_suite.SessionboxFileSessionTests"), "{output}");
    assert!(!output.contains("(sessions_tests."), "Django's own classes ran too:\n{output}");
    assert!(output.contains("\nOK"), "{output}");
}

#[test]
fn sessions_pass_between_the_engine_and_djangos_file_backend_both_ways() {
    let output = django_test("test_engine.InteropTests");
    assert_eq!(ran(&output), 7, "{output}");
}

#[test]
fn a_logout_racing_a_dozen_saves_through_the_engine_is_never_undone() {
    // 200 rounds of 12 threads saving one session while another deletes it;
    // without the engine's directory lock 7–11 of 200 come back.
    let output = django_test("test_engine.LogoutRaceTests");
    assert_eq!(ran(&output), 1, "{output}");
}

#[test]
fn clearsessions_sweeps_through_the_component_over_ranges() {
    let output = django_test("test_engine.ClearSessionsTests");
    assert_eq!(ran(&output), 2, "{output}");
}

#[test]
fn a_fresh_django_project_uses_the_installed_engine() {
    let python = fresh_venv_python();
    let bin = python.parent().unwrap();
    let site = scratch("site");
    let sessions = site.join("sessions");
    run_ok(Command::new(bin.join("django-admin")).args(["startproject", "mysite"]).arg(&site));
    let settings = site.join("mysite/settings.py");
    let mut text = std::fs::read_to_string(&settings).unwrap();
    text.push_str(&format!(
        "\nSESSION_ENGINE = \"sessionbox_django.file\"\nSESSION_FILE_PATH = {:?}\nSESSIONBOX_DURABILITY = \"full\"\n",
        sessions.display().to_string()
    ));
    std::fs::write(&settings, text).unwrap();
    let manage = |args: &[&str]| {
        run_ok(Command::new(python).arg(site.join("manage.py")).args(args).current_dir(&site).env_remove("DJANGO_SETTINGS_MODULE").env("PYTHONDONTWRITEBYTECODE", "1"))
    };
    manage(&["migrate", "-v", "0"]);
    // Log in through the site's own middleware and admin, then read the
    // session file with Django's stock file backend.
    let script = r#"
import os
from django.test.utils import setup_test_environment
setup_test_environment()
from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.sessions.backends.file import SessionStore as Stock
from django.test import Client
User.objects.create_superuser("admin", "a@example.com", "pw-123456")
c = Client()
assert c.login(username="admin", password="pw-123456")
assert c.get("/admin/").status_code == 200, "the admin did not see the login"
key = c.cookies[settings.SESSION_COOKIE_NAME].value
files = [n for n in os.listdir(settings.SESSION_FILE_PATH) if n.startswith("sessionid")]
assert files == ["sessionid" + key], files
assert Stock(key)["_auth_user_id"] == str(User.objects.get().pk)
c.post("/admin/logout/")
assert not Stock().exists(key), "the logout left the session"
print("ok", type(c.session).__module__)
"#;
    let out = manage(&["shell", "-c", script]);
    // (Django 5.2's shell first says what it imported.)
    assert_eq!(out.trim().lines().last(), Some("ok sessionbox_django.file"), "{out}");
    // The directory the engine made for itself (SESSION_FILE_PATH did not exist).
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&sessions).unwrap().permissions().mode() & 0o777, 0o700);
    manage(&["clearsessions"]);
}

/// The Django cache tests python/tests/test_django_cache_suite.py excludes
/// by name (its EXCLUDED), each with its reason there and in docs/python.md.
const CACHE_EXCLUDED: &[&str] = &["test_non_default_cache"];

#[test]
fn djangos_own_cache_session_tests_pass_against_the_cache_engine_on_redis() {
    let redis = RedisServer::start();
    let output = django_cache_test("test_django_cache_suite", &redis);
    let n = ran(&output);
    assert!(n >= 65, "only {n} of Django's cache session tests ran:\n{output}");
    let skipped: Vec<&str> = output.lines().filter(|l| l.contains(" ... skipped")).collect();
    assert_eq!(skipped.len(), CACHE_EXCLUDED.len(), "skipped:\n{}", skipped.join("\n"));
    for name in CACHE_EXCLUDED {
        assert!(skipped.iter().any(|l| l.starts_with(&format!("{name} "))), "{name} was not excluded");
    }
    assert!(!output.contains("(sessions_tests."), "Django's own classes ran too:\n{output}");
    assert!(output.contains("\nOK"), "{output}");
}

#[test]
fn the_cache_engine_on_redis_shares_sessions_with_django_and_keeps_logouts() {
    // Interop with Django's cache backend both ways; a logout racing a dozen
    // saves (without `SET XX` all 100 of 100 came back); a Redis failure
    // (a trap in `get`) is an error and the engine recovers.
    let redis = RedisServer::start();
    let output = django_cache_test("test_engine_cache", &redis);
    assert_eq!(ran(&output), 4, "{output}");
}
