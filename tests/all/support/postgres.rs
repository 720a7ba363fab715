//! Real PostgreSQL servers for the `db` engine tests: Debian's
//! `postgresql` package (`.ci/run` installs it), a fresh cluster made by
//! `initdb` in a temporary directory, started on a free loopback port with
//! password authentication, stopped when dropped. PostgreSQL refuses to run
//! as root, so as root the server runs as the `postgres` user. There is no
//! fallback: without the package the tests fail.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The user every test cluster has, and its password.
pub const USER: &str = "sessionbox";
pub const PASSWORD: &str = "pg-test-password-4e1c";

/// The directory of PostgreSQL's server binaries (`initdb`, `postgres`);
/// panics (never skips) when the server is not installed.
pub fn postgres_bin_dir() -> PathBuf {
    let root = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<PathBuf> = std::fs::read_dir(root)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path().join("bin")).filter(|p| p.join("initdb").is_file()).collect())
        .unwrap_or_default();
    versions.sort();
    versions.pop().unwrap_or_else(|| panic!("PostgreSQL is not installed (Debian: apt-get install postgresql; .ci/run installs it)"))
}

/// The uid and gid the server runs as: `postgres` when we are root.
fn server_ids() -> Option<(u32, u32)> {
    if rustix::process::geteuid().as_raw() != 0 {
        return None;
    }
    let id = |flag: &str| -> u32 {
        let out = Command::new("id").args([flag, "postgres"]).output().expect("running id");
        assert!(out.status.success(), "no postgres user (the Debian package creates it)");
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    };
    Some((id("-u"), id("-g")))
}

/// One PostgreSQL server with one database, `sessionbox`.
pub struct PostgresServer {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl PostgresServer {
    /// A new cluster on a free port, running and accepting connections.
    pub fn start() -> PostgresServer {
        PostgresServer::start_with(false)
    }

    /// A cluster that accepts only TLS connections, with a certificate for
    /// 127.0.0.1 from a CA of its own, whose certificate is
    /// [`ca_file`](Self::ca_file).
    pub fn start_tls() -> PostgresServer {
        PostgresServer::start_with(true)
    }

    /// The CA certificate of a [`start_tls`](Self::start_tls) server.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.crt")
    }

    fn start_with(tls: bool) -> PostgresServer {
        let bin = postgres_bin_dir();
        let dir = tempfile::tempdir().unwrap();
        let ids = server_ids();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let pwfile = dir.path().join("pw");
        std::fs::write(&pwfile, PASSWORD).unwrap();
        let own = |path: &Path| {
            if let Some((uid, gid)) = ids {
                std::os::unix::fs::chown(path, Some(uid), Some(gid)).unwrap();
            }
        };
        own(dir.path());
        own(&pwfile);
        let mut initdb = Command::new(bin.join("initdb"));
        initdb
            .arg("-D")
            .arg(dir.path().join("data"))
            .args(["-U", USER, "--auth=scram-sha-256", "--no-sync", "-E", "UTF8", "--locale=C.UTF-8"])
            .arg(format!("--pwfile={}", pwfile.display()));
        as_server(&mut initdb, ids);
        super::run_ok(&mut initdb);
        if tls {
            let d = dir.path();
            let openssl = |args: &[&str]| super::run_ok(Command::new("openssl").args(args).current_dir(d));
            openssl(&["req", "-new", "-x509", "-days", "2", "-nodes", "-subj", "/CN=sessionbox test CA", "-keyout", "ca.key", "-out", "ca.crt"]);
            openssl(&["req", "-new", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", "server.key", "-out", "server.csr"]);
            std::fs::write(d.join("san.ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
            openssl(&["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "server.crt"]);
            std::fs::set_permissions(d.join("server.key"), std::fs::Permissions::from_mode(0o600)).unwrap();
            own(&d.join("server.key"));
            own(&d.join("server.crt"));
            // TLS or nothing, from anywhere.
            let hba = d.join("data/pg_hba.conf");
            std::fs::write(&hba, "local all all scram-sha-256\nhostssl all all 127.0.0.1/32 scram-sha-256\nhostnossl all all 127.0.0.1/32 reject\n").unwrap();
            own(&hba);
            let conf = d.join("data/postgresql.conf");
            let mut text = std::fs::read_to_string(&conf).unwrap();
            text += &format!("\nssl = on\nssl_cert_file = '{}'\nssl_key_file = '{}'\n", d.join("server.crt").display(), d.join("server.key").display());
            std::fs::write(&conf, text).unwrap();
        }
        let port = super::redis::free_port();
        let mut server = PostgresServer { port, dir, child: None };
        server.spawn(&bin, ids);
        server.create_database("sessionbox");
        server
    }

    fn spawn(&mut self, bin: &Path, ids: Option<(u32, u32)>) {
        let mut cmd = Command::new(bin.join("postgres"));
        cmd.arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-p", &self.port.to_string(), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "full_page_writes=off"])
            .arg("-k")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(self.dir.path().join("server.log")).unwrap());
        as_server(&mut cmd, ids);
        self.child = Some(cmd.spawn().expect("starting postgres"));
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("postgres exited ({status}): {}", self.log());
            }
            assert!(Instant::now() < deadline, "postgres did not listen in 30 s: {}", self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
        // Listening comes before accepting logins; psql waits for both.
        while !self.psql("postgres", "SELECT 1").status.success() {
            assert!(Instant::now() < deadline, "postgres did not accept logins in 30 s: {}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// `postgres://sessionbox:PASSWORD@127.0.0.1:PORT/DB`.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://{USER}:{PASSWORD}@127.0.0.1:{}/{db}", self.port)
    }

    /// The same without the password.
    pub fn url_without_password(&self, db: &str) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/{db}", self.port)
    }

    fn psql(&self, db: &str, sql: &str) -> std::process::Output {
        let psql = ["/usr/bin/psql", "/usr/local/bin/psql"].into_iter().find(|p| Path::new(p).is_file()).expect("psql (Debian: postgresql-client)");
        Command::new(psql)
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", USER, "-d", db, "-v", "ON_ERROR_STOP=1", "-At", "-c", sql])
            .env("PGPASSWORD", PASSWORD)
            .env("PGCONNECT_TIMEOUT", "5")
            .output()
            .expect("running psql")
    }

    /// Runs `sql` in database `db`; its output, trimmed.
    pub fn sql(&self, db: &str, sql: &str) -> String {
        let out = self.psql(db, sql);
        assert!(out.status.success(), "psql {sql:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Creates database `name`.
    pub fn create_database(&self, name: &str) {
        self.sql("postgres", &format!("CREATE DATABASE \"{name}\""));
    }

    /// Stops the server answering (SIGSTOP): connections stay open and
    /// the kernel keeps acknowledging, as with a hung server.
    pub fn freeze(&self) {
        self.signal("STOP");
    }

    /// Undoes [`freeze`](Self::freeze).
    pub fn resume(&self) {
        self.signal("CONT");
    }

    /// Signals the postmaster and every process it forked (each connection
    /// is served by its own backend process).
    fn signal(&self, name: &str) {
        let pid = self.child.as_ref().expect("the server runs").id();
        let mut pids = vec![pid.to_string()];
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            // pid (comm) state ppid ...: the comm may hold spaces, so split after ')'.
            let ppid = stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(1)).and_then(|p| p.parse::<u32>().ok());
            if ppid == Some(pid) {
                pids.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
        let status = Command::new("kill").arg(format!("-{name}")).arg(&pids[0]).status().unwrap();
        assert!(status.success(), "kill -{name} {pid}");
        // A backend may have exited since the listing: not an error.
        let _ = Command::new("kill").arg(format!("-{name}")).args(&pids[1..]).stderr(Stdio::null()).status();
    }
}

/// Runs `cmd` as the server's user when we are root.
fn as_server(cmd: &mut Command, ids: Option<(u32, u32)>) {
    if let Some((uid, gid)) = ids {
        cmd.uid(uid).gid(gid).env("HOME", "/tmp");
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = child.id().to_string();
            let _ = Command::new("kill").args(["-CONT", &pid]).status();
            // SIGQUIT: immediate shutdown, no checkpoint.
            let _ = Command::new("kill").args(["-QUIT", &pid]).status();
            let _ = child.wait();
        }
    }
}
