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
/// Django's `django.core.cache.backends.redis.RedisCache`.
pub fn django_redis_python() -> PathBuf {
    django_python_with("redis-py", REDIS_PY_REQUIREMENT, "redis")
}

/// The venv's Python with `requirement` pip-installed too (importable as
/// `module`). Installed once, with its own marker file, so a venv made
/// before the tests that need it gains it.
pub fn django_python_with(name: &str, requirement: &str, module: &str) -> PathBuf {
    let python = django_python();
    let done = django_venv().join(format!("{name}-version.txt"));
    install_once("django-5.2-venv", &done, || {
        run_ok(
            Command::new(&python)
                .args(["-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--quiet", requirement])
                .env("PIP_NO_INPUT", "1"),
        );
        // Not every package has `__version__` (wasmtime-py has not): then
        // the installed distribution's, named as the module.
        let probe = format!("import importlib.metadata, {module}; print(getattr({module}, '__version__', None) or importlib.metadata.version('{module}'))");
        let version = run_ok(Command::new(&python).args(["-c", &probe]));
        let version = version.trim();
        std::fs::write(&done, format!("{version}\n")).unwrap_or_else(|e| panic!("writing {}: {e}", done.display()));
        eprintln!("sessionbox tests: {name} {version} installed in the Django venv");
    });
    python
}

/// The psycopg Django's PostgreSQL backend needs (`pip install` spec):
/// psycopg 3 with its own libpq (`binary`), so no system library.
pub const PSYCOPG_REQUIREMENT: &str = "psycopg[binary]==3.*";

/// The venv's Python (as [`django_python`]) with psycopg installed too, for
/// `django.db.backends.postgresql`.
pub fn django_postgres_python() -> PathBuf {
    django_python_with("psycopg", PSYCOPG_REQUIREMENT, "psycopg")
}

/// `EXPECTED` (tests/interop/pickle_cases.py: every plain type, in the
/// forms pickle and JSON give them) as JSON text, in its order.
pub fn expected_json() -> String {
    let many: Vec<String> = (0..2500).map(|i| i.to_string()).collect();
    let many_keys: Vec<String> = (0..1200).map(|i| format!("\"k{i}\":{i}")).collect();
    format!(
        concat!(
            r#"{{"name":"Zoë Ünïcödé 日本語 🎉👩‍💻","empty":"","escapes":"quote \" backslash \\ newline \n tab \t nul \u0000 del \u007f","#,
            r#""long":"{long}é","n":42,"zero":0,"word":65535,"neg":-7,"i32":2147483647,"i32_over":2147483648,"#,
            r#""neg_i32_under":-2147483649,"i64max":9223372036854775807,"big":1267650600228229401496703205376,"#,
            r#""neg_big":-1180591620717411303424,"pi":3.141592653589793,"three":3.0,"tiny":1e-300,"#,
            r#""huge":1.7976931348623157e308,"neg_half":-0.5,"neg_zero":-0.0,"yes":true,"no":false,"nothing":null,"#,
            r#""empty_list":[],"empty_dict":{{}},"list":[1,"two",3.5,[null,true,false],{{"k":"v"}}],"#,
            r#""nested":{{"a":{{"b":[{{"c":"ü","d":[[[]]]}}]}},"":0,"🔑":"emoji key"}},"#,
            r#""many":[{many}],"many_keys":{{{many_keys}}},"shared_a":["same",1],"shared_b":["same",1],"records":[{{"id":1,"name":"a"}},{{"id":2,"name":"b"}}],"_auth_user_id":"42"}}"#
        ),
        long = "ab".repeat(200),
        many = many.join(","),
        many_keys = many_keys.join(","),
    )
}

/// A running `tests/interop/django_sessions.py`: Django's own
/// `SessionStore` of one engine (`file`, `cache`, ...), one op in, one JSON
/// result out. The one driver of Django's session code in these tests; the
/// script's docstring lists its configuration and ops.
pub struct Driver {
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    stdout: std::io::BufReader<std::process::ChildStdout>,
    stderr_path: PathBuf,
    _stderr_dir: tempfile::TempDir,
}

impl Driver {
    /// Starts Django with `config` (the script's first line) on `python`
    /// ([`django_python`], or [`django_redis_python`] for a cache on Redis).
    pub fn start(python: &std::path::Path, config: &serde_json::Value) -> Driver {
        use std::process::Stdio;
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/interop/django_sessions.py");
        let stderr_dir = tempfile::tempdir().unwrap();
        let stderr_path = stderr_dir.path().join("stderr");
        let mut child = Command::new(python)
            .arg(script)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env_remove("DJANGO_SETTINGS_MODULE")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr_path).unwrap())
            .spawn()
            .expect("starting Django's Python");
        let stdin = child.stdin.take();
        let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut driver = Driver { child, stdin, stdout, stderr_path, _stderr_dir: stderr_dir };
        driver.send_text(&config.to_string());
        driver
    }

    /// Sends one line. The text is Python-form JSON, so Python reads big
    /// ints, floats and strings exactly as they are in the test data.
    pub fn send(&mut self, v: &serde_json::Value) {
        self.send_text(&sessionbox_guest::json::to_string(v));
    }

    /// Sends one line of JSON text as it is.
    pub fn send_text(&mut self, line: &str) {
        use std::io::Write;
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{line}").and_then(|()| stdin.flush()).unwrap_or_else(|e| self.died(&format!("writing to it: {e}")));
    }

    fn died(&mut self, why: &str) -> ! {
        self.stdin = None;
        let _ = self.child.wait();
        let stderr = std::fs::read_to_string(&self.stderr_path).unwrap_or_default();
        panic!("the Django process failed ({why}); its stderr:\n{stderr}");
    }

    /// Runs one op and returns its result, whether it succeeded or not.
    pub fn op(&mut self, op: &serde_json::Value) -> serde_json::Value {
        self.send(op);
        self.answer(&op.to_string())
    }

    /// Runs one op given as JSON text (for what a Rust `Value` cannot hold,
    /// such as a lone surrogate).
    pub fn op_text(&mut self, op: &str) -> serde_json::Value {
        self.send_text(op);
        self.answer(op)
    }

    /// Runs one op that must succeed.
    pub fn ok(&mut self, op: &serde_json::Value) -> serde_json::Value {
        let result = self.op(op);
        assert_eq!(result["ok"], serde_json::json!(true), "Django op {op} failed: {result}");
        result
    }

    /// Reads the result line of `op` (named in a failure).
    pub fn answer(&mut self, op: &str) -> serde_json::Value {
        use std::io::BufRead;
        let mut line = String::new();
        match self.stdout.read_line(&mut line) {
            Ok(0) => self.died(&format!("no answer to {op}")),
            Ok(_) => {}
            Err(e) => self.died(&format!("reading its answer to {op}: {e}")),
        }
        // parse_data keeps Python's number text and the key order.
        serde_json::Value::Object(sessionbox::parse_data(&line).unwrap_or_else(|e| panic!("Django answered {line:?}: {e}")))
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.stdin = None; // EOF: the script ends
        let _ = self.child.wait();
    }
}
