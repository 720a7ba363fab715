//! A real Django for the interop tests: a Python venv with Django 5.2 LTS,
//! created once per machine in the tools cache.
//!
//! Django 5.2's session format (signing, JSON serializer, file backend) is the
//! one 6.x still writes, and 5.2 runs on Python 3.10+, which CI machines have.



use super::{install_once, run_ok, tools_dir};
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

/// The Django series the interop tests run against (`pip install` spec).
pub const DJANGO_REQUIREMENT: &str = "django==5.2.*";

/// The venv directory.
pub fn django_venv() -> PathBuf {
    tools_dir().join("django-5.2-venv")
}

/// The venv's Python, with Django 5.2.x installed; the venv is created (and
/// Django installed from PyPI) on first use. Panics with pip's output when
/// the installation fails.
pub fn django_python() -> PathBuf {
    let venv = django_venv();
    let python = venv.join("bin").join("python");
    // Written last, holding the exact version pip installed.
    let done = venv.join("django-version.txt");
    install_once("django-5.2-venv", &done, || {
        let started = Instant::now();
        if venv.exists() {
            // Debris from an interrupted install: start over.
            std::fs::remove_dir_all(&venv).unwrap_or_else(|e| panic!("removing {}: {e}", venv.display()));
        }
        run_ok(Command::new("python3").arg("-m").arg("venv").arg(&venv));
        run_ok(
            Command::new(&python)
                .args(["-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--quiet", DJANGO_REQUIREMENT])
                .env("PIP_NO_INPUT", "1"),
        );
        let version = run_ok(Command::new(&python).args(["-c", "import django; print(django.get_version())"]));
        let version = version.trim();
        assert!(version.starts_with("5.2."), "pip installed Django {version}, expected 5.2.x");
        std::fs::write(&done, format!("{version}\n")).unwrap_or_else(|e| panic!("writing {}: {e}", done.display()));
        eprintln!("sessionbox tests: Django {version} installed in {:.1} s", started.elapsed().as_secs_f64());
    });
    python
}

/// The exact Django version in the venv (e.g. "5.2.9").
pub fn django_version() -> String {
    django_python();
    let file = django_venv().join("django-version.txt");
    std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("reading {}: {e}", file.display())).trim().to_owned()
}

/// The `redis` client Django's `RedisCache` needs (`pip install` spec):
/// Django 5.2 wants redis-py 3.4 or later; 5.x is a long-lived series.
pub const REDIS_PY_REQUIREMENT: &str = "redis==5.*";

/// The venv's Python (as [`django_python`]) with redis-py installed too, for
/// Django's `django.core.cache.backends.redis.RedisCache`. Installed once,
/// with its own marker file, so a venv made before the Redis tests gains it.
pub fn django_redis_python() -> PathBuf {
    let python = django_python();
    let done = django_venv().join("redis-py-version.txt");
    install_once("django-5.2-venv", &done, || {
        run_ok(
            Command::new(&python)
                .args(["-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--quiet", REDIS_PY_REQUIREMENT])
                .env("PIP_NO_INPUT", "1"),
        );
        let version = run_ok(Command::new(&python).args(["-c", "import redis; print(redis.__version__)"]));
        let version = version.trim();
        std::fs::write(&done, format!("{version}\n")).unwrap_or_else(|e| panic!("writing {}: {e}", done.display()));
        eprintln!("sessionbox tests: redis-py {version} installed in the Django venv");
    });
    python
}
