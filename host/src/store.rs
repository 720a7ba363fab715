//! [`Store`]: the session store over one directory or one key-value store
//! (Redis), backed by the component.

use crate::directory;
use crate::error::{Error, Result};
use crate::instance::{Backend, Instance};
use crate::runtime::bindings::wit;
use crate::session::Session;
use crate::Data;
use sessionbox_guest::{Durability, Settings};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use wasmtime::component::ResourceAny;

/// Host-side limits and defaults of a [`Store`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Most linear memory one guest instance may use (default 64 MiB).
    pub memory_limit: usize,
    /// Longest one call may run before it is stopped (default 10 s; checked
    /// every 10 ms, so a call may run up to 20 ms past it).
    pub deadline: Duration,
    /// Django's `SESSION_EXPIRE_AT_BROWSER_CLOSE`: what
    /// [`Session::expire_at_browser_close`] says when a session sets no expiry.
    pub expire_at_browser_close: bool,
    /// Warm instances kept for reuse (default 16). An instance whose memory
    /// grew past 16 MiB (a call with a huge argument) is dropped after its
    /// call instead, so one such call does not pin its memory.
    pub max_idle_instances: usize,
    /// How long one batch of a sweep works before it returns (default: a
    /// quarter of the deadline, at most a second). Each batch is one call,
    /// so this must stay well inside the deadline; the first batch also
    /// lists the directory.
    pub sweep_batch: Option<Duration>,
    /// How many threads [`Store::clear_expired`] sweeps a directory on,
    /// each over its own part of the names with its own instance (default:
    /// the machine's available parallelism, at most
    /// [`MAX_DEFAULT_SWEEP_THREADS`]; `Some(0)` counts as 1). Each thread
    /// holds one instance for the whole sweep, so other calls meanwhile use
    /// the remaining warm instances, or start new ones.
    pub sweep_threads: Option<usize>,
}

/// The most threads a sweep uses by default: past a few threads the sweep
/// is bound by the filesystem, and each thread holds an instance (with up
/// to 4 MiB of listed names) for the sweep's length.
pub const MAX_DEFAULT_SWEEP_THREADS: usize = 8;

impl Default for Options {
    fn default() -> Options {
        Options {
            memory_limit: 64 << 20,
            deadline: Duration::from_secs(10),
            expire_at_browser_close: false,
            max_idle_instances: 16,
            sweep_batch: None,
            sweep_threads: None,
        }
    }
}

pub use sessionbox_guest::{SweepBatch, SweepReport};
use sessionbox_guest::SweepRange;

/// Largest linear memory of an instance kept warm for reuse.
const MAX_IDLE_MEMORY: usize = 16 << 20;

/// What [`Store::load`] found: the guest's own `Loaded`, holding the session
/// as [`Data`] (or, from [`Store::load_json`], as JSON text) and the moment
/// it expires as a [`SystemTime`], clamped to [`UNIX_EPOCH`] ..=
/// [`latest_expiry`] (9999-12-31T23:59:59Z, Python's `datetime.max` to the
/// second), which is what a session that never expires reports.
pub type Loaded<T = Data> = sessionbox_guest::Loaded<T, SystemTime>;

/// 9999-12-31T23:59:59Z in seconds since the Unix epoch.
const LATEST_EXPIRY_SECS: u64 = 253_402_300_799;

/// The latest expiry a found session ([`Loaded`]) reports, 9999-12-31T23:59:59Z (the
/// last whole second Python's `datetime` can hold): what a session that never
/// expires (`_session_expiry` is `Infinity`), or one set to expire later
/// still, reports.
pub fn latest_expiry() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(LATEST_EXPIRY_SECS)
}

/// The component's expiry moment as a `SystemTime`, clamped to
/// [`UNIX_EPOCH`] ..= [`latest_expiry`] (so never past what a `SystemTime`
/// or Python's `datetime` holds, whatever the seconds).
fn expiry_time(at: wit::Timestamp) -> SystemTime {
    match u64::try_from(at.seconds) {
        Err(_) => UNIX_EPOCH,
        Ok(secs) if secs >= LATEST_EXPIRY_SECS => latest_expiry(),
        Ok(secs) => UNIX_EPOCH + Duration::new(secs, at.nanoseconds.min(999_999_999)),
    }
}

/// Deepest nesting [`Store::load`] turns into [`Data`] (the object itself is
/// level 1); a [`Session`] refuses a deeper session at its first access, with
/// the same error. The store keeps sessions of any depth, and
/// [`Store::load_json`] reads them; but `serde_json`'s own `Clone` recurses
/// with large frames, and in a debug build cloning `Data` some 975 levels
/// deep overflows a 2 MiB thread stack (tokio's and the test harness's
/// default). Half that leaves room for the caller's own frames. Django on
/// Python 3.11 writes up to 986 levels: such a session reads as
/// [`Error::InvalidData`] here, never as no session.
pub const MAX_DATA_DEPTH: usize = 512;

/// Django's session store over one directory ([`Store::open`]) or one Redis
/// ([`Store::open_redis`]), run inside the sandboxed component. Cheap to
/// clone; safe to use from many threads at once.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    backend: Backend,
    /// The directory, for a directory store.
    dir: Option<PathBuf>,
    /// The servers (without passwords), for a Redis store.
    redis: Option<String>,
    settings: Settings,
    /// The settings as the WIT record, for opening each instance's `store`.
    wit_settings: wit::Settings,
    options: Options,
    idle: Mutex<Vec<Instance>>,
    /// For a directory store: notices the directory deleted or replaced
    /// under its path, so instances reopen it.
    watch: Option<directory::DirWatch>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("dir", &self.inner.dir)
            .field("redis", &self.inner.redis)
            .field("settings", &self.inner.settings)
            .field("options", &self.inner.options)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens the store over `dir` (created 0700 if missing) with default
    /// [`Options`].
    pub fn open(dir: impl AsRef<Path>, settings: Settings) -> Result<Store> {
        Store::open_with(dir, settings, Options::default())
    }

    /// Opens the store over `dir` with explicit [`Options`].
    pub fn open_with(dir: impl AsRef<Path>, settings: Settings, options: Options) -> Result<Store> {
        check(&settings)?;
        // The canonical path: a symlink on the way is resolved once, here,
        // and swapping it later changes nothing (tests/all/sandbox.rs).
        let dir = directory::prepare(dir.as_ref())?;
        Store::start(Backend::Dir(dir.clone()), Some(dir), None, settings, options)
    }

    /// Opens a store on Redis (or Valkey, or a Redis Cluster) with default
    /// [`Options`]: one key per session, expiring by its TTL. Connects once
    /// now, so an unreachable server or a wrong password is an error here.
    #[cfg(feature = "redis")]
    pub fn open_redis(redis: &crate::RedisOptions, settings: Settings) -> Result<Store> {
        Store::open_redis_with(redis, settings, Options::default())
    }

    /// [`open_redis`](Self::open_redis) with explicit [`Options`]. The
    /// Redis connect and response timeouts are capped at a quarter of
    /// [`Options::deadline`]: a call waits for Redis inside the deadline,
    /// where no epoch interrupt can reach it, and may make two round trips
    /// (a load that deletes what it found expired), each of which may first
    /// wait for a pooled connection. A write that timed out may still have
    /// been applied by the server.
    #[cfg(feature = "redis")]
    pub fn open_redis_with(redis: &crate::RedisOptions, settings: Settings, options: Options) -> Result<Store> {
        check(&settings)?;
        let mut redis = redis.clone();
        let budget = (options.deadline / 4).max(Duration::from_millis(1));
        redis.connect_timeout = redis.connect_timeout.min(budget);
        redis.response_timeout = redis.response_timeout.min(budget);
        let redis = &redis;
        let kv = crate::redis_kv::RedisKv::connect(redis)?;
        Store::start(Backend::Kv(Arc::new(kv)), None, Some(redis.describe()), settings, options)
    }

    fn start(backend: Backend, dir: Option<PathBuf>, redis: Option<String>, settings: Settings, options: Options) -> Result<Store> {
        let wit_settings = to_wit(&settings);
        let watch = dir.clone().map(directory::DirWatch::new);
        let inner = Inner { backend, dir, redis, settings, wit_settings, options, idle: Mutex::new(Vec::new()), watch };
        let store = Store { inner: Arc::new(inner) };
        // Start one instance now, so a bad directory or a broken runtime shows
        // up here rather than at the first request.
        let instance = store.instance(None)?;
        store.release(instance);
        Ok(store)
    }

    /// The session directory (canonical path); `None` for a Redis store.
    pub fn dir(&self) -> Option<&Path> {
        self.inner.dir.as_deref()
    }

    /// Whether the store expires sessions by itself (Redis keys' TTLs), so
    /// [`clear_expired`](Self::clear_expired) has nothing to do.
    pub fn expires_by_itself(&self) -> bool {
        matches!(self.inner.backend, Backend::Kv(_))
    }

    /// The settings this store runs with.
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// The host-side options.
    pub fn options(&self) -> &Options {
        &self.inner.options
    }

    /// A Django-style [`Session`] for `key` (`None` for a new session).
    pub fn session(&self, key: Option<&str>) -> Session {
        Session::new(self, key)
    }

    /// Creates a session holding `data` under a fresh key; returns the key.
    pub fn create(&self, data: &Data) -> Result<String> {
        self.create_json(&to_json(data))
    }

    /// [`create`](Self::create) with the data as JSON object text, which may
    /// hold what `Data` cannot (lone surrogates, any depth).
    pub fn create_json(&self, json: &str) -> Result<String> {
        self.call(|api, store, handle| api.call_create(store, handle, json))
    }

    /// Reads session `key`; never creates a file, deletes an expired one.
    /// A found session carries its data and the moment it expires
    /// ([`Loaded`]). Data nested deeper than [`MAX_DATA_DEPTH`] is an
    /// [`Error::InvalidData`] here; [`load_json`](Self::load_json) reads it.
    pub fn load(&self, key: &str) -> Result<Loaded<Data>> {
        self.load_json(key)?.map(|json| sessionbox_guest::json::parse_object_within(&json, MAX_DATA_DEPTH).map_err(|e| unreadable_as_data(key, e)))
    }

    /// [`load`](Self::load) with the data as JSON object text exactly as
    /// stored: Python's compact `json.dumps` form when Django or sessionbox
    /// wrote it (another writer's spacing or repeated keys stay as written;
    /// `sessionbox_guest::json::canonical_object` gives the compact form).
    pub fn load_json(&self, key: &str) -> Result<Loaded<String>> {
        Ok(self.load_wit(key)?.into())
    }

    /// [`load_json`](Self::load_json) as the WIT type, for the plugin import:
    /// the guest's answer passed on unconverted.
    pub(crate) fn load_wit(&self, key: &str) -> Result<wit::Loaded> {
        self.call_brief(|api, store, handle| api.call_load(store, handle, key))
    }

    /// Saves `data` as session `key`, atomically. With `must_create` the
    /// session must be new ([`Error::AlreadyExists`]); without, it must exist
    /// ([`Error::NotFound`]).
    pub fn save(&self, key: &str, data: &Data, must_create: bool) -> Result<()> {
        self.save_json(key, &to_json(data), must_create)
    }

    /// [`save`](Self::save) with the data as JSON object text.
    pub fn save_json(&self, key: &str, json: &str, must_create: bool) -> Result<()> {
        self.call(|api, store, handle| api.call_save(store, handle, key, json, must_create))
    }

    /// Whether a file for session `key` exists (a key too short or too long
    /// to name a session has none).
    pub fn exists(&self, key: &str) -> Result<bool> {
        self.call_brief(|api, store, handle| api.call_exists(store, handle, key))
    }

    /// Deletes session `key`; returns whether a file was deleted (a missing
    /// session is not an error).
    pub fn delete(&self, key: &str) -> Result<bool> {
        self.call_brief(|api, store, handle| api.call_delete(store, handle, key))
    }

    /// Moves `data` to a new key and deletes session `key`; returns the new key.
    pub fn cycle_key(&self, key: &str, data: &Data) -> Result<String> {
        self.cycle_key_json(key, &to_json(data))
    }

    /// [`cycle_key`](Self::cycle_key) with the data as JSON object text.
    pub fn cycle_key_json(&self, key: &str, json: &str) -> Result<String> {
        self.call(|api, store, handle| api.call_cycle_key(store, handle, key, json))
    }

    /// Deletes every expired session (Django's `clearsessions`), in batches
    /// ([`Options::sweep_batch`]) that each stay well inside the deadline, so
    /// a directory of any size is swept whole. The names are split into
    /// [`Options::sweep_threads`] disjoint ranges, each swept on its own
    /// thread with its own instance. Returns the totals. On an error the
    /// other threads stop after their current batch and the first error is
    /// returned; what was deleted stays deleted, and a new sweep finishes
    /// the job.
    pub fn clear_expired(&self) -> Result<SweepReport> {
        self.clear_expired_with(|_| {})
    }

    /// [`clear_expired`](Self::clear_expired), calling `progress` with the
    /// totals so far after each batch of any thread (about once a second per
    /// thread). `progress` runs on the calling thread.
    pub fn clear_expired_with(&self, mut progress: impl FnMut(&SweepReport)) -> Result<SweepReport> {
        // A Redis store has nothing to sweep: one call says so.
        let threads = if self.expires_by_itself() { 1 } else { self.sweep_threads() };
        let ranges = sessionbox_guest::sweep_ranges(&self.inner.settings.file_prefix, threads);
        // The instances are held across batches, so the whole sweep is one
        // blocking section for a tokio worker.
        if on_tokio_worker() {
            tokio::task::block_in_place(|| self.sweep_ranges(&ranges, &mut progress))
        } else {
            self.sweep_ranges(&ranges, &mut progress)
        }
    }

    /// How many threads a sweep runs on: [`Options::sweep_threads`], or the
    /// available parallelism up to [`MAX_DEFAULT_SWEEP_THREADS`].
    pub fn sweep_threads(&self) -> usize {
        match self.inner.options.sweep_threads {
            Some(n) => n.max(1),
            None => std::thread::available_parallelism().map_or(1, |n| n.get()).min(MAX_DEFAULT_SWEEP_THREADS),
        }
    }

    /// Sweeps `ranges`, one thread each (the calling thread alone for one
    /// range), summing the batches' reports into `progress`.
    fn sweep_ranges(&self, ranges: &[SweepRange], progress: &mut dyn FnMut(&SweepReport)) -> Result<SweepReport> {
        let mut total = SweepReport::default();
        let stop = AtomicBool::new(false);
        if let [range] = ranges {
            self.sweep_range(range, &stop, &mut |report| {
                total.add(report);
                progress(&total);
            })?;
            return Ok(total);
        }
        std::thread::scope(|scope| {
            let (sender, reports) = mpsc::channel();
            let mut threads = Vec::new();
            let mut failed = None;
            for range in ranges {
                let (sender, stop) = (sender.clone(), &stop);
                let swept = std::thread::Builder::new().name("sessionbox-sweep".into()).spawn_scoped(scope, move || {
                    let swept = self.sweep_range(range, stop, &mut |report| {
                        // Only a panicking caller closes the channel.
                        let _ = sender.send(report);
                    });
                    if swept.is_err() {
                        stop.store(true, Ordering::Relaxed);
                    }
                    swept
                });
                match swept {
                    Ok(thread) => threads.push(thread),
                    Err(e) => {
                        stop.store(true, Ordering::Relaxed);
                        failed = Some(Error::Runtime(format!("starting a sweep thread: {e}")));
                        break;
                    }
                }
            }
            // The channel closes when the last thread drops its sender.
            drop(sender);
            for report in reports {
                total.add(report);
                progress(&total);
            }
            for thread in threads {
                match thread.join() {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => failed = failed.or(Some(e)),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            failed.map_or(Ok(total), Err)
        })
    }

    /// Sweeps one range batch by batch on one instance, held throughout:
    /// the guest keeps the range's listing between batches only within an
    /// instance, and another instance would list the directory again.
    /// Stops early, without error, once `stop` is set.
    fn sweep_range(&self, range: &SweepRange, stop: &AtomicBool, batch_done: &mut dyn FnMut(SweepReport)) -> Result<()> {
        let mut instance = self.instance(self.warm_instance())?;
        let budget_ms = self.sweep_budget_ms();
        let mut cursor = range.after.clone();
        let upto = range.upto.as_deref();
        loop {
            // A trap drops the instance here: its state may be inconsistent.
            let batch = instance
                .call(self.inner.options.deadline, |api, store, handle| api.call_sweep_range(store, handle, cursor.as_deref(), upto, Some(budget_ms)))?;
            let batch = match batch {
                Ok(batch) => batch,
                Err(e) => {
                    self.release(instance);
                    return Err(from_wit(e));
                }
            };
            batch_done(SweepReport { scanned: batch.report.scanned, deleted: batch.report.deleted, skipped: batch.report.skipped });
            cursor = batch.cursor;
            if cursor.is_none() || stop.load(Ordering::Relaxed) {
                self.release(instance);
                return Ok(());
            }
        }
    }

    /// One batch's budget in whole milliseconds ([`Options::sweep_batch`]).
    fn sweep_budget_ms(&self) -> u32 {
        let options = &self.inner.options;
        let budget = options.sweep_batch.unwrap_or((options.deadline / 4).min(Duration::from_secs(1)));
        u32::try_from(budget.as_millis()).unwrap_or(u32::MAX).max(1)
    }

    /// One batch of a sweep: the entries after `cursor` (all for `None`),
    /// for [`Options::sweep_batch`]. Call again with the returned cursor
    /// until it is `None`.
    pub fn sweep(&self, cursor: Option<&str>) -> Result<SweepBatch> {
        let budget_ms = self.sweep_budget_ms();
        let batch = self.call(|api, store, handle| api.call_sweep(store, handle, cursor, Some(budget_ms)))?;
        Ok(SweepBatch {
            report: SweepReport { scanned: batch.report.scanned, deleted: batch.report.deleted, skipped: batch.report.skipped },
            cursor: batch.cursor,
        })
    }

    /// Runs one export that may hold its thread for a millisecond or more
    /// (a write with its fsyncs, a sweep batch). On a multi-thread tokio
    /// runtime it runs under `block_in_place`, so the worker's other tasks
    /// move on meanwhile; elsewhere (no runtime, a current-thread runtime, a
    /// `spawn_blocking` thread) it runs in place.
    fn call<T>(
        &self,
        f: impl Fn(&wit::GuestStore, &mut wasmtime::Store<crate::runtime::HostState>, ResourceAny) -> wasmtime::Result<Result<T, wit::Error>>,
    ) -> Result<T> {
        self.run(false, f)
    }

    /// Runs one export that takes microseconds on a directory (a load, a
    /// stat, an unlink) in place even on a tokio worker, when a warm
    /// instance is at hand: `block_in_place` would cost more than the call
    /// (it hands the worker to another thread, several context switches
    /// per request). A call that must first instantiate the component, or
    /// one on a key-value store (Redis), goes the way of
    /// [`call`](Self::call): it waits on the network, up to the response
    /// timeout, and must not hold a worker meanwhile. Nothing in a call
    /// needs a runtime: the host's WASI calls complete at their first poll
    /// (see `filesystem::now`).
    fn call_brief<T>(
        &self,
        f: impl Fn(&wit::GuestStore, &mut wasmtime::Store<crate::runtime::HostState>, ResourceAny) -> wasmtime::Result<Result<T, wit::Error>>,
    ) -> Result<T> {
        self.run(true, f)
    }

    fn run<T>(
        &self,
        brief: bool,
        f: impl Fn(&wit::GuestStore, &mut wasmtime::Store<crate::runtime::HostState>, ResourceAny) -> wasmtime::Result<Result<T, wit::Error>>,
    ) -> Result<T> {
        let warm = self.warm_instance();
        // Only a directory's calls are brief: a network store's may wait.
        let brief = brief && matches!(self.inner.backend, Backend::Dir(_));
        if on_tokio_worker() && !(brief && warm.is_some()) {
            tokio::task::block_in_place(|| self.call_on(warm, f))
        } else {
            self.call_on(warm, f)
        }
    }

    /// Runs `f` on `warm`, or on a new instance. A call that failed with
    /// an I/O error because the session directory was deleted or replaced
    /// meanwhile runs once more, on an instance opened on the directory
    /// the path names now: it had no effect on that one.
    fn call_on<T>(
        &self,
        warm: Option<Instance>,
        f: impl Fn(&wit::GuestStore, &mut wasmtime::Store<crate::runtime::HostState>, ResourceAny) -> wasmtime::Result<Result<T, wit::Error>>,
    ) -> Result<T> {
        let mut instance = self.instance(warm)?;
        let generation = instance.generation;
        // A trap drops the instance here: its state may be inconsistent.
        let result = instance.call(self.inner.options.deadline, &f)?;
        self.release(instance);
        // Whichever thread noticed the change, every call that failed on an
        // instance of an older generation runs again.
        let stale = |watch: &directory::DirWatch| {
            watch.check(true);
            watch.generation() != generation
        };
        match result {
            Err(wit::Error::Io(_)) if self.inner.watch.as_ref().is_some_and(stale) => {
                let mut instance = self.instance(None)?;
                let result = instance.call(self.inner.options.deadline, &f)?;
                self.release(instance);
                result.map_err(from_wit)
            }
            result => result.map_err(from_wit),
        }
    }

    /// An idle instance from the pool, if one is warm (and opened on the
    /// directory the path names: see [`directory::DirWatch`]).
    fn warm_instance(&self) -> Option<Instance> {
        let generation = match &self.inner.watch {
            Some(watch) => {
                watch.check(false);
                watch.generation()
            }
            None => 0,
        };
        let mut idle = self.inner.idle.lock().ok()?;
        // Instances of an older generation hold a directory no longer at
        // the path: dropped.
        while let Some(instance) = idle.pop() {
            if instance.generation == generation {
                return Some(instance);
            }
        }
        None
    }

    /// `warm`, or a new instance when there is none.
    fn instance(&self, warm: Option<Instance>) -> Result<Instance> {
        match warm {
            Some(instance) => Ok(instance),
            None => {
                // The generation before the open: should the directory be
                // replaced meanwhile, the instance is retired, never kept
                // on a stale one.
                let generation = self.inner.watch.as_ref().map_or(0, |watch| watch.generation());
                let mut instance = Instance::new(&self.inner.backend, self.inner.options.memory_limit, &self.inner.wit_settings)?;
                instance.generation = generation;
                Ok(instance)
            }
        }
    }

    fn release(&self, instance: Instance) {
        if self.inner.watch.as_ref().is_some_and(|watch| watch.generation() != instance.generation) {
            return;
        }
        if let Ok(mut idle) = self.inner.idle.lock() {
            // A call with a huge argument (a plugin's 60 MB key) grows an
            // instance's memory for good: such an instance is not kept.
            if idle.len() < self.inner.options.max_idle_instances && instance.memory() <= MAX_IDLE_MEMORY {
                idle.push(instance);
            }
        }
    }
}

/// `settings` checked before anything is opened.
fn check(settings: &Settings) -> Result<()> {
    settings.validate().map_err(|e| match e {
        // The guest's message already starts with "invalid settings".
        sessionbox_guest::Error::InvalidSettings(why) => Error::InvalidSettings(why),
        other => Error::InvalidSettings(other.to_string()),
    })
}

/// Why stored session `key` cannot be read as [`Data`] (nested deeper than
/// [`MAX_DATA_DEPTH`]): one message for [`Store::load`] and [`Session`].
pub(crate) fn unreadable_as_data(key: &str, e: sessionbox_guest::json::ParseError) -> Error {
    Error::InvalidData(format!("session {} cannot be read as Data ({e}); read it with Store::load_json", sessionbox_guest::redacted_key(key)))
}

/// Data as JSON text; iterative, so data of any depth converts.
fn to_json(data: &Data) -> String {
    sessionbox_guest::json::object_to_string(data)
}

impl From<wit::Loaded> for Loaded<String> {
    fn from(loaded: wit::Loaded) -> Loaded<String> {
        match loaded {
            wit::Loaded::Found(found) => Loaded::Found { data: found.data, expires_at: expiry_time(found.expires_at) },
            wit::Loaded::Missing => Loaded::Missing,
            wit::Loaded::Expired => Loaded::Expired,
            wit::Loaded::BadSignature => Loaded::BadSignature,
            wit::Loaded::Corrupt => Loaded::Corrupt,
        }
    }
}

fn to_wit(s: &Settings) -> wit::Settings {
    wit::Settings {
        secret_key: s.secret_key.clone(),
        fallback_keys: s.fallback_keys.clone(),
        cookie_age: s.cookie_age,
        file_prefix: s.file_prefix.clone(),
        key_salt: s.key_salt.clone(),
        max_session_size: s.max_session_size,
        durability: match s.durability {
            Durability::None => wit::Durability::None,
            Durability::File => wit::Durability::File,
            Durability::Full => wit::Durability::Full,
        },
    }
}

impl From<wit::Error> for Error {
    fn from(e: wit::Error) -> Error {
        from_wit(e)
    }
}

/// The error cases the WIT `error` and [`Error`] share, listed once: both
/// directions are generated from this list.
macro_rules! shared_errors {
    ($($case:ident $(($why:ident))?),* $(,)?) => {
        fn from_wit(e: wit::Error) -> Error {
            match e {
                $(wit::Error::$case $(($why))? => Error::$case $(($why))?,)*
            }
        }

        /// The WIT error for a host error: the shared cases as they are, what
        /// only a host can fail with (deadline, memory, runtime, configuration)
        /// as `io` with its one-line text.
        pub(crate) fn to_wit_error(e: Error) -> wit::Error {
            match e {
                $(Error::$case $(($why))? => wit::Error::$case $(($why))?,)*
                other => wit::Error::Io(other.to_string()),
            }
        }
    };
}

shared_errors!(InvalidKey, AlreadyExists, NotFound, TooLarge, InvalidData(why), InvalidSettings(why), Io(why));

/// Whether this thread is a worker of a multi-thread tokio runtime, where a
/// call that holds the thread for long goes under `block_in_place`.
fn on_tokio_worker() -> bool {
    use tokio::runtime::{Handle, RuntimeFlavor};
    matches!(Handle::try_current().map(|handle| handle.runtime_flavor()), Ok(RuntimeFlavor::MultiThread))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A call with a huge argument grows its instance's memory for good;
    /// that instance is dropped rather than kept warm, and the next call
    /// works on a fresh one.
    #[test]
    fn an_instance_a_huge_call_grew_is_not_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(tmp.path().join("s"), Settings::new("secret")).unwrap();
        let idle = || store.inner.idle.lock().unwrap().iter().map(Instance::memory).collect::<Vec<_>>();
        // Open keeps one warm instance, its memory counted from the start.
        let before = idle();
        assert!(before.len() == 1 && before[0] > 0 && before[0] <= MAX_IDLE_MEMORY, "{before:?}");
        // The huge call takes that instance; it grows and is not put back.
        assert!(matches!(store.load_json(&"k".repeat(40 << 20)).unwrap(), Loaded::Missing));
        assert_eq!(idle(), Vec::<usize>::new(), "the grown instance was kept");
        // The next call makes a fresh one, which is kept.
        let key = store.create_json("{}").unwrap();
        assert!(matches!(store.load_json(&key).unwrap(), Loaded::Found { .. }));
        assert_eq!(idle().len(), 1);
    }

    #[test]
    fn expiry_times_clamp_to_the_epoch_and_python_datetime_max() {
        let at = |seconds, nanoseconds| expiry_time(wit::Timestamp { seconds, nanoseconds });
        assert_eq!(at(1_700_000_000, 5), UNIX_EPOCH + Duration::new(1_700_000_000, 5));
        assert_eq!(at(-1, 0), UNIX_EPOCH);
        assert_eq!(at(i64::MIN, 0), UNIX_EPOCH);
        assert_eq!(at(i64::MAX, 999_999_999), latest_expiry());
        assert_eq!(at(253_402_300_799, 1), latest_expiry());
        assert_eq!(at(253_402_300_798, 999_999_999), latest_expiry() - Duration::from_nanos(1));
        assert_eq!(latest_expiry().duration_since(UNIX_EPOCH).unwrap().as_secs(), 253_402_300_799);
    }
}
