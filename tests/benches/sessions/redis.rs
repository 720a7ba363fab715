//! The Redis workload: sessionbox on Redis (both formats) beside the bare
//! `redis` crate round trips, tower-sessions' Redis store and Django's
//! cache session backend, all on one `redis-server` this benchmark starts;
//! and how load throughput grows from 1 to 2 host processes.
//!
//! Every round, each store creates `ops` sessions, loads each once and
//! saves each once with new data (timed per phase); the stores take turns
//! in a rotating order, the server is emptied between rounds, and the
//! median round is reported. Ratios are medians of same-round ratios.

use crate::variants::{settings, Payload};
use crate::workloads::median;
use sessionbox::{Durability, Loaded, RedisFormat, RedisOptions, Store};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tower_sessions_core_014::session::{Id, Record};
use tower_sessions_core_014::SessionStore as _;
use tower_sessions_redis_store::fred::prelude::{ClientLike as _, Config, Pool};
use tower_sessions_redis_store::RedisStore;

/// The operations, in table order.
pub const OPS: [&str; 3] = ["load", "save (update)", "create"];

/// The stores, in table order.
pub const STORES: [&str; 5] = [
    "floor: bare `GET` / `SET … XX PX` / `SET … NX PX` (`redis` crate, one `redis::Connection`)",
    "sessionbox, signed format",
    "sessionbox, django format",
    "tower-sessions-redis-store 0.16 (fred 10)",
    "Django 5.2 cache backend (`RedisCache`, redis-py)",
];
const FLOOR: usize = 0;
const SIGNED: usize = 1;
const DJANGO_FORMAT: usize = 2;
const TOWER: usize = 3;
const DJANGO: usize = 4;

/// What one run measured.
pub struct Redis {
    pub ops: usize,
    pub rounds: usize,
    /// `redis-server --version`'s version.
    pub server: String,
    /// Bytes of one stored session: the signed value (also the floor's), the
    /// pickle, tower-sessions' MessagePack record.
    pub value_len: [usize; 3],
    /// Per store, per round: µs per load, save, create. Empty for a store
    /// that was not measured.
    pub per_round: [Vec<[f64; 3]>; 5],
    /// Per round, µs per read of one ~200 B session, read again and again:
    /// a bare `GET`; sessionbox's read (a `MULTI`/`EXEC` transaction of
    /// `PTTL` and `GETRANGE`) sent by hand; `Store::load_json` and `Store::load` (signed format);
    /// the same two (django format).
    pub read_only: Vec<[f64; 6]>,
    /// The 1-minute load average before and after the process runs.
    pub loadavg: [f64; 2],
    /// redis-py's version, when Django was measured.
    pub redis_py: Option<String>,
    /// Why Django was not measured, if it was not.
    pub django_missing: Option<String>,
    /// The one CPU the per-operation rounds ran on (the benchmark's thread,
    /// `redis-server`, Python), if pinning worked.
    pub pinned: Option<usize>,
    /// Loads per process count measurement.
    pub scaling_loads: usize,
    /// Median loads/s with 1 and 2 processes: the floor's `GET` and
    /// sessionbox's (signed) `Store::load`.
    pub scaling: [[f64; 2]; 2],
    /// Median of same-round 2-process / 1-process ratios: floor, sessionbox.
    pub scaling_ratio: [f64; 2],
}

impl Redis {
    /// Median µs per op of `store`.
    pub fn us(&self, store: usize, op: usize) -> Option<f64> {
        let rounds = &self.per_round[store];
        (!rounds.is_empty()).then(|| median(rounds.iter().map(|r| r[op]).collect()))
    }

    /// Median of same-round differences `a - b` for `op`, µs.
    pub fn over(&self, a: usize, b: usize, op: usize) -> f64 {
        let (a, b) = (&self.per_round[a], &self.per_round[b]);
        if a.is_empty() || b.is_empty() { f64::NAN } else { median(a.iter().zip(b).map(|(x, y)| x[op] - y[op]).collect()) }
    }

    /// Median of same-round ratios `a / b` for `op`.
    pub fn ratio(&self, a: usize, b: usize, op: usize) -> Option<f64> {
        let (a, b) = (&self.per_round[a], &self.per_round[b]);
        (!a.is_empty() && !b.is_empty()).then(|| median(a.iter().zip(b).map(|(x, y)| x[op] / y[op]).collect()))
    }
}

/// One `redis-server` on a free loopback port, killed when dropped.
pub struct Server {
    pub port: u16,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Server {
    pub fn start() -> Result<Server, String> {
        let bin = ["/usr/bin", "/usr/local/bin", "/usr/sbin"]
            .iter()
            .map(|d| PathBuf::from(d).join("redis-server"))
            .find(|p| p.is_file())
            .ok_or("redis-server is not installed (Debian: apt-get install redis-server)")?;
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(|e| e.to_string())?.port();
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let child = Command::new(bin)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("starting redis-server: {e}"))?;
        let server = Server { port, child, _dir: dir };
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if start.elapsed() > Duration::from_secs(10) {
                return Err(format!("redis-server did not listen on {port} within 10 s"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(server)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain connection of the `redis` crate, as sessionbox's pool holds.
fn connect(url: &str) -> redis::Connection {
    redis::Client::open(url).expect("redis url").get_connection().expect("connect to redis-server")
}

/// The CPUs this thread may run on.
fn allowed_cpus() -> Vec<usize> {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; the calls get its size.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return Vec::new();
        }
        (0..libc::CPU_SETSIZE as usize).filter(|&c| libc::CPU_ISSET(c, &set)).collect()
    }
}

/// Lets thread or process `pid` (0: this thread) run only on `cpus`.
fn set_cpus(pid: u32, cpus: &[usize]) {
    // SAFETY: as above; sched_setaffinity only reads the set.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for &c in cpus {
            libc::CPU_SET(c, &mut set);
        }
        libc::sched_setaffinity(pid as libc::pid_t, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// The stores' TTL: Django's default `SESSION_COOKIE_AGE`, two weeks.
const TTL_MS: u64 = 1_209_600_000;

/// The floor: what any store on Redis pays per operation.
struct Floor {
    conn: redis::Connection,
    value: Vec<u8>,
    next: u64,
}


impl Floor {
    fn create(&mut self) -> String {
        let key = format!("floor:{:032}", self.next);
        self.next += 1;
        let set: Option<()> = redis::cmd("SET").arg(&key).arg(&self.value).arg("NX").arg("PX").arg(TTL_MS).query(&mut self.conn).expect("SET NX");
        assert!(set.is_some(), "{key} was taken");
        key
    }
    fn load(&mut self, key: &str) {
        let value: Option<Vec<u8>> = redis::cmd("GET").arg(key).query(&mut self.conn).expect("GET");
        assert_eq!(value.map(|v| v.len()), Some(self.value.len()));
    }
    /// sessionbox's read of one key, without sessionbox: the same
    /// transaction.
    fn load_transaction(&mut self, key: &str) {
        let (pttl, value): (i64, Vec<u8>) =
            redis::pipe().atomic().cmd("PTTL").arg(key).cmd("GETRANGE").arg(key).arg(0).arg(4_000_000).query(&mut self.conn).expect("MULTI");
        assert!(value.len() == self.value.len() && pttl > 0);
    }
    fn save(&mut self, key: &str) {
        let set: Option<()> = redis::cmd("SET").arg(key).arg(&self.value).arg("XX").arg("PX").arg(TTL_MS).query(&mut self.conn).expect("SET XX");
        assert!(set.is_some(), "{key} was gone");
    }
}

fn sessionbox_store(url: &str, format: RedisFormat) -> Store {
    let mut options = RedisOptions::new(url);
    options.format = format;
    // A timed-out reply would end the whole run; on a busy shared VM a
    // reply can stall for seconds. (No effect on the time of a reply.)
    options.response_timeout = Duration::from_secs(60);
    Store::open_redis(&options, settings(Durability::None)).expect("open_redis")
}

/// tower-sessions' Redis store on a current-thread runtime, each call run
/// to completion by `block_on`.
struct Tower {
    rt: tokio::runtime::Runtime,
    store: RedisStore<Pool>,
    data: std::collections::HashMap<String, serde_json::Value>,
    update: std::collections::HashMap<String, serde_json::Value>,
}

impl Tower {
    fn open(url: &str, data: &Payload, update: &Payload) -> Tower {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let pool = Pool::new(Config::from_url(url).expect("fred config"), None, None, None, 1).expect("fred pool");
        rt.block_on(async {
            let _connection = pool.init().await.expect("fred connect");
        });
        let map = |p: &Payload| serde_json::from_str(&p.json).expect("payload is an object");
        Tower { rt, store: RedisStore::new(pool), data: map(data), update: map(update) }
    }
    fn record(&self, id: Id, data: &std::collections::HashMap<String, serde_json::Value>) -> Record {
        Record { id, data: data.clone(), expiry_date: time::OffsetDateTime::now_utc() + time::Duration::weeks(2) }
    }
    fn create(&mut self) -> Id {
        let mut record = self.record(Id::default(), &self.data);
        self.rt.block_on(self.store.create(&mut record)).expect("create");
        record.id
    }
    fn load(&mut self, id: &Id) {
        let record = self.rt.block_on(self.store.load(id)).expect("load");
        assert!(record.is_some_and(|r| !r.data.is_empty()));
    }
    fn save(&mut self, id: &Id) {
        let record = self.record(*id, &self.update);
        self.rt.block_on(self.store.save(&record)).expect("save");
    }
}

/// Times `n` creates, then a load and a save of each: µs per load, save,
/// create.
fn phases<K>(n: usize, mut create: impl FnMut() -> K, mut load: impl FnMut(&K), mut save: impl FnMut(&K)) -> [f64; 3] {
    let per_op = |start: Instant| start.elapsed().as_secs_f64() * 1e6 / n as f64;
    let start = Instant::now();
    let keys: Vec<K> = (0..n).map(|_| create()).collect();
    let create = per_op(start);
    let start = Instant::now();
    keys.iter().for_each(&mut load);
    let load = per_op(start);
    let start = Instant::now();
    keys.iter().for_each(&mut save);
    [load, per_op(start), create]
}

/// Django's cache backend in the venv, timed by `django_redis_bench.py`:
/// µs per load, save, create.
fn django(python: &std::path::Path, url: &str, n: usize, data: &Payload, update: &Payload) -> [f64; 3] {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/sessions/django_redis_bench.py");
    let job = format!(r#"{{"url":{url:?},"n":{n},"data":{},"update":{}}}"#, data.json, update.json);
    let mut child = Command::new(python).arg(script).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("start python");
    child.stdin.take().expect("stdin").write_all(job.as_bytes()).expect("send job");
    let out = child.wait_with_output().expect("python ran");
    assert!(out.status.success(), "django_redis_bench.py failed");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json from django_redis_bench.py");
    ["load", "save", "create"].map(|op| v[op].as_f64().expect("µs per op"))
}

/// Runs the workload on a fresh `redis-server`.
pub fn measure(rounds: usize, ops: usize, scaling_loads: usize, data: &Payload, update: &Payload) -> Result<Redis, String> {
    // The per-operation figures run on one core: this thread, the server,
    // and Python (all inherit the mask). Between two cores, each round trip
    // waits for an idle vCPU to wake, 15 to 50 µs on this VM depending on
    // what else runs, which swamps the costs compared here.
    let all_cpus = allowed_cpus();
    let pinned = all_cpus.last().copied();
    if let Some(cpu) = pinned {
        set_cpus(0, &[cpu]);
    }
    let server = Server::start()?;
    let url = server.url();
    let version = Command::new("redis-server").arg("--version").output().map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default();
    let server_version = version.split_whitespace().find_map(|w| w.strip_prefix("v=")).unwrap_or("unknown").to_owned();

    let signed = sessionbox_store(&url, RedisFormat::signed());
    let pickled = sessionbox_store(&url, RedisFormat::django());
    let mut admin = connect(&url);
    // The floor moves as many bytes as sessionbox's signed value.
    let probe = signed.create(&data.data).expect("create");
    let value: Vec<u8> = redis::cmd("GET").arg(format!("sessionbox:sessionid{probe}")).query(&mut admin).expect("GET the signed value");
    let probe = pickled.create(&data.data).expect("create");
    let pickle: Vec<u8> = redis::cmd("GET").arg(format!(":1:django.contrib.sessions.cache{probe}")).query(&mut admin).expect("GET the pickle");
    let mut floor = Floor { conn: connect(&url), value: value.clone(), next: 0 };
    let mut tower = Tower::open(&url, data, update);
    let probe = tower.create();
    let record: Vec<u8> = redis::cmd("GET").arg(probe.to_string()).query(&mut admin).expect("GET the record");

    let (python, django_missing) = match crate::django::redis_python() {
        Ok(python) => (Some(python), None),
        Err(why) => {
            eprintln!("Django's Redis backend is not measured: {why}");
            (None, Some(why))
        }
    };

    let redis_py = python.as_ref().and_then(|p| Command::new(p).args(["-c", "import redis; print(redis.__version__)"]).output().ok()).map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    let mut per_round: [Vec<[f64; 3]>; 5] = Default::default();
    let mut read_only = Vec::new();
    // Round 0 warms every store up (connections, compiled code) and is
    // not kept.
    for round in 0..=rounds {
        let n = if round == 0 { ops.min(50) } else { ops };
        let _: () = redis::cmd("FLUSHALL").query(&mut admin).expect("FLUSHALL");
        for i in 0..STORES.len() {
            let store = (i + round) % STORES.len();
            let times = match store {
                FLOOR => {
                    let times = {
                        let floor = std::cell::RefCell::new(&mut floor);
                        phases(n, || floor.borrow_mut().create(), |k| floor.borrow_mut().load(k), |k| floor.borrow_mut().save(k))
                    };
                    let key = floor.create();
                    let per_read = |f: &mut dyn FnMut()| {
                        let start = Instant::now();
                        (0..n).for_each(|_| f());
                        start.elapsed().as_secs_f64() * 1e6 / n as f64
                    };
                    let get = per_read(&mut || floor.load(&key));
                    let pipelined = per_read(&mut || floor.load_transaction(&key));
                    let sessionbox = |s: &Store| {
                        let key = s.create(&data.data).expect("create");
                        let json = per_read(&mut || assert!(matches!(s.load_json(&key), Ok(Loaded::Found { .. }))));
                        let parsed = per_read(&mut || assert!(matches!(s.load(&key), Ok(Loaded::Found { .. }))));
                        [json, parsed]
                    };
                    let [signed_json, signed_data] = sessionbox(&signed);
                    let [pickled_json, pickled_data] = sessionbox(&pickled);
                    if round > 0 {
                        read_only.push([get, pipelined, signed_json, signed_data, pickled_json, pickled_data]);
                    }
                    times
                }
                SIGNED | DJANGO_FORMAT => {
                    let s = if store == SIGNED { &signed } else { &pickled };
                    phases(
                        n,
                        || s.create(&data.data).expect("create"),
                        |k| assert!(matches!(s.load(k), Ok(Loaded::Found { .. }))),
                        |k| s.save(k, &update.data, false).expect("save"),
                    )
                }
                TOWER => {
                    let tower = std::cell::RefCell::new(&mut tower);
                    phases(n, || tower.borrow_mut().create(), |k| tower.borrow_mut().load(k), |k| tower.borrow_mut().save(k))
                }
                DJANGO => match &python {
                    Some(python) => django(python, &url, n, data, update),
                    None => continue,
                },
                _ => unreachable!(),
            };
            if round > 0 {
                per_round[store].push(times);
            }
        }
        if round > 0 {
            let line: Vec<String> = (0..STORES.len()).filter_map(|s| per_round[s].last().map(|t| format!("{:.1}/{:.1}/{:.1}", t[0], t[1], t[2]))).collect();
            eprintln!("redis round {round}: load/save/create µs per store: {}", line.join("  "));
        }
    }
    let _: () = redis::cmd("FLUSHALL").query(&mut admin).expect("FLUSHALL");
    set_cpus(0, &all_cpus);
    set_cpus(server.child.id(), &all_cpus);

    // 1 against 2 host processes, each loading its own session.
    let loadavg = || std::fs::read_to_string("/proc/loadavg").ok().and_then(|l| l.split_whitespace().next()?.parse().ok()).unwrap_or(f64::NAN);
    let loadavg_before = loadavg();
    let mut scaling_rounds: [[Vec<f64>; 2]; 2] = Default::default();
    let mut ratios: [Vec<f64>; 2] = Default::default();
    for _ in 0..rounds {
        for (k, kind) in ["floor", "sessionbox"].into_iter().enumerate() {
            let one = loads_per_second(&url, kind, 1, scaling_loads);
            let two = loads_per_second(&url, kind, 2, scaling_loads);
            scaling_rounds[k][0].push(one);
            scaling_rounds[k][1].push(two);
            ratios[k].push(two / one);
            eprintln!("redis processes, {kind}: 1 → {one:.0} loads/s, 2 → {two:.0} loads/s");
        }
    }
    let loadavg = [loadavg_before, loadavg()];
    let scaling = scaling_rounds.map(|per| per.map(median));
    let scaling_ratio = ratios.map(median);
    Ok(Redis {
        ops,
        rounds,
        server: server_version,
        value_len: [value.len(), pickle.len(), record.len()],
        per_round,
        read_only,
        loadavg,
        pinned,
        redis_py,
        django_missing,
        scaling_loads,
        scaling,
        scaling_ratio,
    })
}

/// Loads/s of `total` loads split over `processes` workers (this binary
/// re-run with `--redis-worker`), timed from the moment all are ready.
fn loads_per_second(url: &str, kind: &str, processes: usize, total: usize) -> f64 {
    let each = total / processes;
    let mut workers: Vec<Child> = (0..processes)
        .map(|_| {
            Command::new(std::env::current_exe().expect("own path"))
                .args(["--redis-worker", url, kind, &each.to_string()])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .expect("start worker")
        })
        .collect();
    let mut outs: Vec<BufReader<std::process::ChildStdout>> = workers.iter_mut().map(|w| BufReader::new(w.stdout.take().expect("stdout"))).collect();
    for out in &mut outs {
        let mut line = String::new();
        out.read_line(&mut line).expect("worker ready");
        assert_eq!(line.trim(), "ready", "worker did not get ready");
    }
    let start = Instant::now();
    for w in &mut workers {
        w.stdin.as_mut().expect("stdin").write_all(b"go\n").expect("go");
    }
    for out in &mut outs {
        let mut line = String::new();
        out.read_line(&mut line).expect("worker done");
        assert_eq!(line.trim(), "done", "worker failed");
    }
    let seconds = start.elapsed().as_secs_f64();
    for mut w in workers {
        drop(w.stdin.take());
        assert!(w.wait().expect("worker exit").success(), "worker failed");
    }
    (each * processes) as f64 / seconds
}

/// A worker process: sets up one session (`floor`: a bare value; or
/// `sessionbox`: a signed session through `Store::open_redis`), loads it
/// 100 times, says `ready`, waits for `go`, loads it `n` times, says `done`.
pub fn worker(url: &str, kind: &str, n: usize) {
    let data = Payload::new(crate::auth_session(0));
    let mut load: Box<dyn FnMut()> = match kind {
        "floor" => {
            let store = sessionbox_store(url, RedisFormat::signed());
            let key = store.create(&data.data).expect("create");
            let value: Vec<u8> = redis::cmd("GET").arg(format!("sessionbox:sessionid{key}")).query(&mut connect(url)).expect("GET");
            let mut floor = Floor { conn: connect(url), value, next: 0 };
            let key = format!("sessionbox:sessionid{key}");
            Box::new(move || floor.load(&key))
        }
        "sessionbox" => {
            let store = sessionbox_store(url, RedisFormat::signed());
            let key = store.create(&data.data).expect("create");
            Box::new(move || assert!(matches!(store.load(&key), Ok(Loaded::Found { .. }))))
        }
        other => panic!("--redis-worker takes floor or sessionbox, not {other:?}"),
    };
    (0..100).for_each(|_| load());
    let mut stdout = std::io::stdout();
    writeln!(stdout, "ready").and_then(|_| stdout.flush()).expect("stdout");
    let mut go = String::new();
    std::io::stdin().read_line(&mut go).expect("stdin");
    (0..n).for_each(|_| load());
    writeln!(stdout, "done").and_then(|_| stdout.flush()).expect("stdout");
}
