//! Peers in the same run: sessionbox beside PHP's `files` session handler
//! (timed inside one `php` process by `php_bench.php`),
//! tower-sessions-file-store driven through its `SessionStore` trait, and
//! two syscall floors: the atomic replace sessionbox does (temp file, then
//! link or rename) and PHP's write in place (open, flock, ftruncate, pwrite,
//! close), so the price of atomicity shows.
//!
//! Every round, each implementation takes a fresh temporary directory,
//! creates `ops` sessions, then loads each once, then saves each once with
//! changed data. Each phase runs in [`CHUNKS`] chunks and the
//! implementations take turns chunk by chunk, in an order that rotates,
//! with a `sync` before each chunk (so one's writeback does not land in
//! another's time). Each sweep runs on a fresh fixture of the
//! implementation's own format, the implementations taking turns round by
//! round. Ratios are medians of same-round ratios.

use crate::variants::{Component, Floor, Payload, Variant};
use crate::workloads::{median, settle, sweep_fixture};
use sessionbox::Durability;
use std::collections::HashMap;
use std::fs::{self, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};
use tokio::runtime::{Builder, Runtime};
use tower_sessions_core::session::{Id, Record};
use tower_sessions_core::{ExpiredDeletion as _, SessionStore as _};
use tower_sessions_file_store::FileSessionStorage;

/// The operations, in table order; the last is one sweep of the fixture.
pub const OPS: [&str; 4] = ["create", "load", "update-save", "gc / sweep"];
/// Index of the sweep in [`OPS`].
pub const SWEEP: usize = 3;

/// The implementations, in table order.
pub const PEERS: [&str; 5] = [
    "sessionbox (component, `Store`)",
    "PHP `files` handler",
    "tower-sessions-file-store 0.3",
    "floor: atomic (temp file + link / rename)",
    "floor: in place (PHP's syscalls)",
];
/// Index of sessionbox in [`PEERS`].
pub const SESSIONBOX: usize = 0;
/// Index of PHP in [`PEERS`].
pub const PHP: usize = 1;
/// Index of tower-sessions-file-store in [`PEERS`].
pub const TOWER: usize = 2;
/// Index of the atomic-write floor in [`PEERS`].
pub const ATOMIC: usize = 3;
/// Index of the in-place floor in [`PEERS`].
pub const IN_PLACE: usize = 4;

/// Django's `SESSION_COOKIE_AGE`: the age every sweep here deletes at.
const MAX_AGE: Duration = Duration::from_secs(1_209_600);

/// What one run measured.
pub struct Peers {
    /// Sessions per phase and round.
    pub ops: usize,
    /// Rounds of the per-operation phases.
    pub rounds: usize,
    /// Files in each sweep fixture, a tenth of them expired.
    pub sweep_files: usize,
    /// Rounds of sweeps.
    pub sweep_rounds: usize,
    /// Per implementation, per operation ([`OPS`]): µs per operation (per
    /// sweep) in each round; empty where not measured.
    pub per_round: [[Vec<f64>; 4]; 5],
    /// Per round, µs per `Store::save` of a session that does not exist:
    /// everything a sessionbox write does before its files (the call, the
    /// JSON canonicalized, signed, base64-encoded) and one failing stat.
    pub encode: Vec<f64>,
    /// PHP's version, or why PHP was not measured.
    pub php: Result<String, String>,
    /// Where the temporary directories live: `findmnt`'s target, source,
    /// filesystem type and mount options for them.
    pub mount: [String; 4],
}

impl Peers {
    /// Median µs per `op` of `peer`, if measured.
    pub fn us(&self, peer: usize, op: usize) -> Option<f64> {
        let rounds = &self.per_round[peer][op];
        (!rounds.is_empty()).then(|| median(rounds.clone()))
    }

    /// Median of same-round ratios `a / b` for `op`.
    pub fn ratio(&self, a: usize, b: usize, op: usize) -> Option<f64> {
        let (a, b) = (&self.per_round[a][op], &self.per_round[b][op]);
        (!a.is_empty() && !b.is_empty()).then(|| median(a.iter().zip(b).map(|(x, y)| x / y).collect()))
    }

    /// Median of same-round differences `a - b` for `op`, µs.
    pub fn over(&self, a: usize, b: usize, op: usize) -> Option<f64> {
        let (a, b) = (&self.per_round[a][op], &self.per_round[b][op]);
        (!a.is_empty() && !b.is_empty()).then(|| median(a.iter().zip(b).map(|(x, y)| x - y).collect()))
    }

    /// Median µs of a sessionbox save that stops before its files.
    pub fn encode_us(&self) -> f64 {
        median(self.encode.clone())
    }
}

/// Runs the workload: `rounds` rounds of `ops` sessions per phase, and
/// `sweep_rounds` sweeps of `sweep_files` files per implementation.
pub fn measure(rounds: usize, ops: usize, sweep_files: usize, sweep_rounds: usize, data: &Payload, update: &Payload) -> Peers {
    let php = php();
    if let Err(why) = &php {
        // CI must not publish a report that silently lacks the PHP rows.
        if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
            panic!("the peers benchmark needs PHP on CI: {why}");
        }
        eprintln!("PHP is not measured: {why}");
    }
    let bin = php.as_ref().ok().map(|(bin, _)| bin.as_path());
    let tower = Tower::new(data, update);
    let mut per_round: [[Vec<f64>; 4]; 5] = Default::default();
    let mut encode = Vec::new();
    let chunk = ops.div_ceil(CHUNKS);
    for round in 0..rounds {
        let dirs: Vec<tempfile::TempDir> = PEERS.iter().map(|_| tempfile::tempdir().expect("tempdir")).collect();
        let dir = |peer: usize| dirs[peer].path();
        let mut stores: Vec<Option<Box<dyn Phases + '_>>> = vec![
            Some(Box::new(Timed::new(Driven::new(Component::open(dir(SESSIONBOX), Durability::None), data, update)))),
            bin.map(|bin| Box::new(PhpOps::start(bin, dir(PHP), ops, data, update)) as Box<dyn Phases>),
            Some(Box::new(Timed::new(tower.at(dir(TOWER))))),
            Some(Box::new(Timed::new(Driven::new(Floor::open(dir(ATOMIC), Durability::None), data, update)))),
            Some(Box::new(Timed::new(Driven::new(InPlace::open(dir(IN_PLACE)), data, update)))),
        ];
        // µs per operation and implementation, summed over the chunks.
        let mut took = [[0.0; 5]; 3];
        for (op, took) in took.iter_mut().enumerate() {
            for c in 0..CHUNKS {
                let range = (c * chunk).min(ops)..((c + 1) * chunk).min(ops);
                for i in 0..PEERS.len() {
                    let peer = (i + round + c) % PEERS.len();
                    if let Some(store) = &mut stores[peer] {
                        settle();
                        took[peer] += store.run(op, range.clone());
                    }
                }
            }
        }
        drop(stores);
        for (op, took) in took.iter().enumerate() {
            for (peer, us) in took.iter().enumerate().filter(|&(peer, _)| peer != PHP || bin.is_some()) {
                per_round[peer][op].push(us / ops as f64);
            }
        }
        encode.push(encode_cost(ops, data));
        let line: Vec<String> = (0..PEERS.len()).filter_map(|p| per_round[p][0].get(round).map(|_| format!("{:.1}/{:.1}/{:.1}", per_round[p][0][round], per_round[p][1][round], per_round[p][2][round]))).collect();
        eprintln!("peers round {}: create/load/update-save µs: {}; encode {:.1} µs", round + 1, line.join("  "), encode[round]);
    }
    for round in 0..sweep_rounds {
        for i in 0..PEERS.len() {
            let peer = (i + round) % PEERS.len();
            let fixture = tempfile::tempdir().expect("tempdir");
            let dir = fixture.path();
            let us = match peer {
                SESSIONBOX => sweep(dir, sweep_files, data, &mut Component::open(dir, Durability::None)),
                ATOMIC => sweep(dir, sweep_files, data, &mut Floor::open(dir, Durability::None)),
                IN_PLACE => sweep(dir, sweep_files, data, &mut InPlace::open(dir)),
                TOWER => tower.at(dir).sweep(sweep_files),
                PHP => match bin {
                    Some(bin) => {
                        run_php(bin, "gc-fixture", dir, sweep_files, data, update);
                        settle();
                        let v = run_php(bin, "gc", dir, 0, data, update);
                        assert_eq!(v["deleted"].as_u64(), Some(sweep_files as u64 / 10), "session_gc() deleted the wrong number of files");
                        v["gc"].as_f64().expect("µs from php_bench.php")
                    }
                    None => continue,
                },
                _ => unreachable!(),
            };
            per_round[peer][SWEEP].push(us);
        }
        let line: Vec<String> = (0..PEERS.len()).filter_map(|p| per_round[p][SWEEP].get(round).map(|us| format!("{:.1}", us / 1e3))).collect();
        eprintln!("peers sweep round {}: ms per sweep of {sweep_files}: {}", round + 1, line.join("  "));
    }
    Peers { ops, rounds, sweep_files, sweep_rounds, per_round, encode, php: php.map(|(_, version)| version), mount: mount_of(&std::env::temp_dir()) }
}

/// Each phase runs in this many chunks, the implementations taking turns
/// chunk by chunk (with a `sync` before each), so that all of them see the
/// machine in the same state: file creates and renames on this VM drift
/// several-fold within a minute.
pub const CHUNKS: usize = 10;

/// One implementation over its own directory, driven a chunk at a time.
trait Phases {
    /// Runs operation `op` (0 create, 1 load, 2 update-save; see [`OPS`])
    /// on the sessions numbered `range`, creating them for op 0; returns
    /// the µs that took.
    fn run(&mut self, op: usize, range: std::ops::Range<usize>) -> f64;
}

/// One store over one directory, as the per-operation phases drive it.
trait Peer {
    /// What names a created session.
    type Key;
    /// Creates a session with the first payload.
    fn create(&mut self) -> Self::Key;
    /// Loads a session (asserting it is there).
    fn load(&mut self, key: &Self::Key);
    /// Saves the changed payload over an existing session.
    fn save(&mut self, key: &Self::Key);
}

/// A [`Peer`] timed in this process, with the keys it created.
struct Timed<P: Peer> {
    peer: P,
    keys: Vec<P::Key>,
}

impl<P: Peer> Timed<P> {
    fn new(peer: P) -> Self {
        Timed { peer, keys: Vec::new() }
    }
}

impl<P: Peer> Phases for Timed<P> {
    fn run(&mut self, op: usize, range: std::ops::Range<usize>) -> f64 {
        let start = Instant::now();
        match op {
            0 => {
                assert_eq!(range.start, self.keys.len(), "creates run in order");
                for _ in range {
                    let key = self.peer.create();
                    self.keys.push(key);
                }
            }
            1 => self.keys[range].iter().for_each(|k| self.peer.load(k)),
            _ => self.keys[range].iter().for_each(|k| self.peer.save(k)),
        }
        start.elapsed().as_secs_f64() * 1e6
    }
}

/// `php_bench.php` in `ops` mode: one PHP process for the whole round,
/// timing each chunk itself.
struct PhpOps {
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    stdout: BufReader<std::process::ChildStdout>,
}

impl PhpOps {
    fn start(bin: &Path, dir: &Path, n: usize, data: &Payload, update: &Payload) -> PhpOps {
        let mut child = php_command(bin).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("start php");
        let mut stdin = child.stdin.take().expect("stdin");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        writeln!(stdin, "{}", job("ops", dir, n, data, update)).expect("send job");
        let mut ready = String::new();
        stdout.read_line(&mut ready).expect("php ready");
        assert_eq!(ready.trim(), "ready", "php_bench.php did not start");
        PhpOps { child, stdin: Some(stdin), stdout }
    }
}

impl Phases for PhpOps {
    fn run(&mut self, op: usize, range: std::ops::Range<usize>) -> f64 {
        let op = ["create", "load", "update"][op];
        writeln!(self.stdin.as_mut().expect("running"), "{op} {} {}", range.start, range.end).expect("send chunk");
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("php answered");
        line.trim().parse().unwrap_or_else(|_| panic!("php_bench.php failed a {op} chunk: {line:?}"))
    }
}

impl Drop for PhpOps {
    fn drop(&mut self) {
        // Closing stdin ends the script's loop.
        drop(self.stdin.take());
        let status = self.child.wait().expect("php exit");
        if !std::thread::panicking() {
            assert!(status.success(), "php_bench.php failed: {status}");
        }
    }
}

/// A benchmark [`Variant`] with the two payloads it creates and saves.
struct Driven<'a, V> {
    variant: V,
    data: &'a Payload,
    update: &'a Payload,
}

impl<'a, V: Variant> Driven<'a, V> {
    fn new(variant: V, data: &'a Payload, update: &'a Payload) -> Self {
        Driven { variant, data, update }
    }
}

impl<V: Variant> Peer for Driven<'_, V> {
    type Key = String;
    fn create(&mut self) -> String {
        self.variant.create(self.data)
    }
    fn load(&mut self, key: &String) {
        self.variant.load(key)
    }
    fn save(&mut self, key: &String) {
        self.variant.save(key, self.update)
    }
}

/// Fills `dir` with `n` sessionbox sessions (a tenth expired), syncs, and
/// times one sweep by `v`: µs per sweep.
fn sweep(dir: &Path, n: usize, data: &Payload, v: &mut dyn Variant) -> f64 {
    sweep_fixture(dir, n, data);
    settle();
    let start = Instant::now();
    let deleted = v.clear_expired();
    let us = start.elapsed().as_secs_f64() * 1e6;
    assert_eq!(deleted as usize, n / 10, "a sweep deleted the wrong number of files");
    us
}

/// µs per `Store::save` of a session that does not exist: the save encodes
/// first (canonical JSON, signature, base64), then finds no file and stops,
/// so this is what a sessionbox write costs besides its files, plus one
/// failing stat.
fn encode_cost(n: usize, data: &Payload) -> f64 {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Component::open(dir.path(), Durability::None).0;
    let missing = "abcdefghijklmnopqrstuvwxyz012345";
    let start = Instant::now();
    for _ in 0..n {
        assert!(matches!(store.save(missing, &data.data, false), Err(sessionbox::Error::NotFound)));
    }
    start.elapsed().as_secs_f64() * 1e6 / n as f64
}

/// PHP's `files` handler's syscalls with nothing encoded: writes in place
/// under `flock`, as `ext/session/mod_files.c` does (it opens every session
/// `O_RDWR|O_CREAT`, locks it `LOCK_EX`, and truncates before each write).
pub struct InPlace {
    dir: PathBuf,
    next: u64,
}

impl InPlace {
    /// Writes into `dir`.
    pub fn open(dir: &Path) -> InPlace {
        InPlace { dir: dir.to_owned(), next: 0 }
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("sess_{key}"))
    }

    /// Locks, truncates and writes `content` at offset 0, then closes.
    fn write_locked(file: fs::File, content: &[u8]) {
        file.lock().expect("flock");
        file.set_len(0).expect("ftruncate");
        file.write_all_at(content, 0).expect("pwrite");
    }
}

impl Variant for InPlace {
    /// A new file, written in place: what a crash can leave empty or torn.
    fn create(&mut self, p: &Payload) -> String {
        let key = format!("{:032}", self.next);
        self.next += 1;
        let file = OpenOptions::new().read(true).write(true).create_new(true).open(self.path(&key)).expect("create");
        InPlace::write_locked(file, p.json.as_bytes());
        key
    }
    /// As PHP loads with `read_and_close`: open (creating if missing),
    /// lock, fstat, read the whole file at offset 0, close.
    fn load(&mut self, key: &str) {
        let file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(self.path(key)).expect("open");
        file.lock().expect("flock");
        let mut content = vec![0; file.metadata().expect("fstat").len() as usize];
        file.read_exact_at(&mut content, 0).expect("pread");
        assert!(!content.is_empty());
    }
    /// Open the existing file, lock, truncate, write, close.
    fn save(&mut self, key: &str, p: &Payload) {
        let file = OpenOptions::new().read(true).write(true).open(self.path(key)).expect("open");
        InPlace::write_locked(file, p.json.as_bytes());
    }
    fn cycle(&mut self, key: &str, p: &Payload) -> String {
        let new = self.create(p);
        fs::remove_file(self.path(key)).expect("unlink");
        new
    }
    /// As PHP's garbage collection: list, stat each entry, unlink those
    /// whose mtime is past the age; no file is read.
    fn clear_expired(&mut self) -> u32 {
        let now = SystemTime::now();
        let mut deleted = 0;
        for entry in fs::read_dir(&self.dir).expect("readdir") {
            let path = entry.expect("entry").path();
            if fs::metadata(&path).expect("stat").modified().expect("mtime") + MAX_AGE < now {
                fs::remove_file(&path).expect("unlink");
                deleted += 1;
            }
        }
        deleted
    }
}

/// tower-sessions-file-store through the `SessionStore` trait, each call
/// run to completion by `block_on` on a current-thread tokio runtime.
struct Tower {
    rt: Runtime,
    data: HashMap<String, serde_json::Value>,
    update: HashMap<String, serde_json::Value>,
}

/// [`Tower`] over one directory.
struct TowerAt<'a> {
    tower: &'a Tower,
    store: FileSessionStorage,
    dir: PathBuf,
}

impl Tower {
    fn new(data: &Payload, update: &Payload) -> Tower {
        // No I/O or timer driver: the store needs only the blocking pool
        // (tokio::fs) and block_on.
        let rt = Builder::new_current_thread().build().expect("runtime");
        let map = |p: &Payload| serde_json::from_str(&p.json).expect("payload is an object");
        Tower { rt, data: map(data), update: map(update) }
    }

    fn at(&self, dir: &Path) -> TowerAt<'_> {
        TowerAt { tower: self, store: FileSessionStorage::new_in_folder(dir.to_owned()), dir: dir.to_owned() }
    }
}

impl TowerAt<'_> {
    fn record(id: Id, data: &HashMap<String, serde_json::Value>, expiry_date: time::OffsetDateTime) -> Record {
        Record { id, data: data.clone(), expiry_date }
    }

    /// Fills the directory with `n` records, a tenth expired (and, so that
    /// the store looks at them at all, with mtimes older than its one-minute
    /// minimum), syncs, and times one `delete_expired`: µs per sweep.
    fn sweep(&mut self, n: usize) -> f64 {
        let now = time::OffsetDateTime::now_utc();
        let old = SystemTime::now() - MAX_AGE - Duration::from_secs(3600);
        for i in 0..n {
            let expiry = if i % 10 == 0 { now - time::Duration::hours(1) } else { now + time::Duration::weeks(2) };
            let mut record = Self::record(Id::default(), &self.tower.data, expiry);
            self.tower.rt.block_on(self.store.create(&mut record)).expect("create");
            if i % 10 == 0 {
                let file = OpenOptions::new().write(true).open(self.path(&record.id)).expect("open record");
                file.set_modified(old).expect("age record");
            }
        }
        settle();
        let start = Instant::now();
        self.tower.rt.block_on(self.store.delete_expired()).expect("delete_expired");
        let us = start.elapsed().as_secs_f64() * 1e6;
        let left = fs::read_dir(&self.dir).expect("readdir").count();
        assert_eq!(left, n - n.div_ceil(10), "delete_expired left the wrong number of files");
        us
    }

    fn path(&self, id: &Id) -> PathBuf {
        // As FileSessionStorage names its files: the id's string form.
        self.dir.join(id.to_string())
    }
}

impl Peer for TowerAt<'_> {
    type Key = Id;
    fn create(&mut self) -> Id {
        let expiry = time::OffsetDateTime::now_utc() + time::Duration::weeks(2);
        let mut record = Self::record(Id::default(), &self.tower.data, expiry);
        self.tower.rt.block_on(self.store.create(&mut record)).expect("create");
        record.id
    }
    fn load(&mut self, id: &Id) {
        let record = self.tower.rt.block_on(self.store.load(id)).expect("load");
        assert!(record.is_some_and(|r| !r.data.is_empty()));
    }
    fn save(&mut self, id: &Id) {
        let expiry = time::OffsetDateTime::now_utc() + time::Duration::weeks(2);
        let record = Self::record(*id, &self.tower.update, expiry);
        self.tower.rt.block_on(self.store.save(&record)).expect("save");
    }
}

/// The PHP binary (Debian's `/usr/bin/php`, else `php` on PATH) and its
/// version, if it runs with the session extension; Err says why not.
fn php() -> Result<(PathBuf, String), String> {
    let bin = PathBuf::from("/usr/bin/php");
    let bin = if bin.is_file() { bin } else { PathBuf::from("php") };
    let out = Command::new(&bin)
        .args(["-n", "-r", "echo extension_loaded('session') ? PHP_VERSION : 'no session extension';"])
        .output()
        .map_err(|e| format!("php is not installed ({e}; Debian: apt-get install php-cli)"))?;
    let version = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if !out.status.success() || !version.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(format!("`{} -n` does not run with sessions: {version} {}", bin.display(), String::from_utf8_lossy(&out.stderr).trim()));
    }
    Ok((bin, version))
}

/// `php -n php_bench.php`: no php.ini, so the script's own settings are
/// all there is.
fn php_command(bin: &Path) -> Command {
    let mut command = Command::new(bin);
    command.arg("-n").arg(concat!(env!("CARGO_MANIFEST_DIR"), "/benches/sessions/php_bench.php"));
    command
}

/// The first line `php_bench.php` reads: its job, as JSON.
fn job(mode: &str, dir: &Path, n: usize, data: &Payload, update: &Payload) -> String {
    format!(r#"{{"mode":"{mode}","dir":{},"n":{n},"data":{},"update":{}}}"#, serde_json::Value::from(dir.to_str().expect("a UTF-8 temp dir")), data.json, update.json)
}

/// Runs `php_bench.php` in a one-shot `mode` over `dir` and returns its
/// JSON answer.
fn run_php(bin: &Path, mode: &str, dir: &Path, n: usize, data: &Payload, update: &Payload) -> serde_json::Value {
    let mut child = php_command(bin).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("start php");
    writeln!(child.stdin.take().expect("stdin"), "{}", job(mode, dir, n, data, update)).expect("send job");
    let out = child.wait_with_output().expect("php ran");
    assert!(out.status.success(), "php_bench.php failed in mode {mode}");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("php_bench.php {mode} printed no JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

/// `findmnt`'s target, source, type and options for the filesystem that
/// holds `path` (`-T`: `/tmp` is often no mount point of its own).
fn mount_of(path: &Path) -> [String; 4] {
    let out = Command::new("findmnt").args(["-n", "-r", "-o", "TARGET,SOURCE,FSTYPE,OPTIONS", "-T"]).arg(path).output();
    let text = out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default();
    let mut fields = text.split_whitespace().map(str::to_owned);
    [(); 4].map(|()| fields.next().unwrap_or_else(|| "?".into()))
}
