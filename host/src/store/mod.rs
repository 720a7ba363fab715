//! [`Store`]: the session store over one directory or one key-value store
//! (Redis), backed by the component.

mod migrate;
mod pool;
mod scan;
mod sweep;

pub use migrate::MigrateReport;
pub use scan::{ResignReport, Revoked, SecretUse, SecretsReport};
pub use sessionbox_guest::{Change, Imported, Resigned, ScanReport, SessionInfo};

use crate::bindings::{check, to_wit, wit};
use crate::data::{to_json, unreadable_as_data, Data, Loaded, MAX_DATA_DEPTH};
use crate::directory;
use crate::error::Result;
use crate::instance::{Backend, Instance};
use sessionbox_guest::Settings;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
    /// 8; `Some(0)` counts as 1). Each thread
    /// holds one instance for the whole sweep, so other calls meanwhile use
    /// the remaining warm instances, or start new ones.
    pub sweep_threads: Option<usize>,
}

/// The most threads a sweep uses by default: past a few threads the sweep
/// is bound by the filesystem, and each thread holds an instance (with up
/// to 4 MiB of listed names) for the sweep's length.
pub(crate) const MAX_DEFAULT_SWEEP_THREADS: usize = 8;

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


/// Django's session store over one directory ([`Store::open`]) or one
/// key-value store ([`Store::open_kv`]; Redis: [`Store::open_redis`]), run
/// inside the sandboxed component. Cheap to clone; safe to use from many
/// threads at once.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    backend: Backend,
    /// What the store is on, for `Debug`: the directory, or the provider
    /// (a Redis store's servers, without passwords).
    about: String,
    settings: Settings,
    /// The settings as the WIT record, for opening each instance's `store`.
    wit_settings: wit::Settings,
    options: Options,
    idle: Mutex<Vec<Instance>>,
    /// For a directory store: notices the directory deleted or replaced
    /// under its path, so instances reopen it.
    watch: Option<directory::DirWatch>,
    /// Django's `signed_cookies` engine: the key is the session.
    signed_cookies: bool,
    /// The store this one reads through to ([`Store::with_fallback`]).
    fallback: std::sync::OnceLock<Store>,
}

/// The database of Django's `db` or `cached_db` engine.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
#[derive(Clone, Debug)]
pub enum DbOptions {
    /// A SQLite database file.
    #[cfg(feature = "sqlite")]
    Sqlite(crate::kv::sql::sqlite::SqliteOptions),
    /// A PostgreSQL database.
    #[cfg(feature = "postgres")]
    Postgres(crate::kv::sql::postgres::PostgresOptions),
}

/// The storage of a signed-cookie store: none. Its instances run the
/// key-value component, whose cookie calls never reach storage.
struct NoStorage;

impl crate::kv::KeyValue for NoStorage {
    fn get(&self, _: &str, _: u64) -> std::result::Result<Option<crate::kv::KvEntry>, crate::kv::KvError> {
        Err(NoStorage::error())
    }
    fn set_if_absent(&self, _: &str, _: &[u8], _: Option<u64>) -> std::result::Result<bool, crate::kv::KvError> {
        Err(NoStorage::error())
    }
    fn set_if_present(&self, _: &str, _: &[u8], _: Option<u64>) -> std::result::Result<bool, crate::kv::KvError> {
        Err(NoStorage::error())
    }
    fn delete(&self, _: &str) -> std::result::Result<bool, crate::kv::KvError> {
        Err(NoStorage::error())
    }
    fn exists(&self, _: &str) -> std::result::Result<bool, crate::kv::KvError> {
        Err(NoStorage::error())
    }
}

impl NoStorage {
    fn error() -> crate::kv::KvError {
        crate::kv::KvError::Other("a signed-cookie store keeps no sessions: the cookie is the session".into())
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("on", &self.inner.about)
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
        let about = dir.display().to_string();
        Store::start(Backend::Dir(dir), about, settings, options)
    }

    /// Opens a store on a key-value `provider`: one key per session,
    /// expiring by its TTL, in the provider's [`Format`](crate::kv::Format).
    /// [`kv::MemoryKv`](crate::kv::MemoryKv) keeps sessions in memory; a
    /// provider of your own implements [`KeyValue`](crate::kv::KeyValue)
    /// (see [`kv`](crate::kv)). The provider is called from the guest's
    /// thread with the call's deadline running, which no epoch interrupt can
    /// cut short while a provider call blocks: a provider that waits on a
    /// network bounds each call well inside [`Options::deadline`].
    pub fn open_kv(provider: impl crate::kv::KeyValue + Send + Sync + 'static, settings: Settings, options: Options) -> Result<Store> {
        // The type, not its `Debug`: that might show sessions and keys.
        let about = std::any::type_name_of_val(&provider).to_owned();
        Store::open_provider(Arc::new(provider), about, settings, options)
    }

    fn open_provider(provider: crate::state::Provider, about: String, settings: Settings, options: Options) -> Result<Store> {
        check(&settings)?;
        Store::start(Backend::Kv(provider), about, settings, options)
    }

    /// Opens a store on Django's `db` engine over SQLite: the sessions are
    /// rows of Django's `django_session` table in the database file, read
    /// and written as Django reads and writes them, so a Django app on the
    /// same file shares them. Checks the table now (see
    /// [`SqliteOptions`](crate::kv::sql::sqlite::SqliteOptions)). The busy
    /// timeout is capped at a quarter of [`Options::deadline`].
    #[cfg(feature = "sqlite")]
    pub fn open_sqlite(sqlite: &crate::kv::sql::sqlite::SqliteOptions, settings: Settings, options: Options) -> Result<Store> {
        check(&settings)?;
        // A call waits for a writer inside the deadline, where no epoch
        // interrupt reaches it, and a load may ask twice.
        let mut sqlite = sqlite.clone();
        sqlite.busy_timeout = sqlite.busy_timeout.min((options.deadline / 4).max(Duration::from_millis(1)));
        let kv = crate::kv::sql::sqlite::SqliteKv::open(&sqlite)?;
        Store::open_provider(Arc::new(kv), sqlite.describe(), settings, options)
    }

    /// Opens a store on Django's `db` engine over PostgreSQL: the sessions
    /// are rows of Django's `django_session` table, read and written as
    /// Django reads and writes them. Connects once now and checks the
    /// table. The connect and response timeouts are capped at a quarter of
    /// [`Options::deadline`], as for Redis.
    #[cfg(feature = "postgres")]
    pub fn open_postgres(postgres: &crate::kv::sql::postgres::PostgresOptions, settings: Settings, options: Options) -> Result<Store> {
        check(&settings)?;
        let mut postgres = postgres.clone();
        let budget = (options.deadline / 4).max(Duration::from_millis(1));
        postgres.connect_timeout = postgres.connect_timeout.min(budget);
        postgres.response_timeout = postgres.response_timeout.min(budget);
        let kv = crate::kv::sql::postgres::PostgresKv::connect(&postgres)?;
        Store::open_provider(Arc::new(kv), postgres.describe(), settings, options)
    }

    /// Opens Django's `cached_db` engine: the database `db` (as for
    /// [`open_sqlite`](Self::open_sqlite) or
    /// [`open_postgres`](Self::open_postgres)) with Redis in front of it,
    /// in Django's cache format (`redis.format` must be
    /// [`RedisFormat::Django`](crate::kv::redis::RedisFormat::Django) with
    /// Django's cache `KEY_PREFIX` and `VERSION`; the signed format is
    /// [`Error::Config`]: its cache entries would sit under other names
    /// than every other process's, so a logout or a `revoke_user` there
    /// would leave this process's cached copy loading). A load may ask both
    /// (and fill the cache), so the Redis and PostgreSQL timeouts are
    /// capped at an eighth of [`Options::deadline`], and so is SQLite's busy
    /// timeout.
    #[cfg(all(feature = "redis", any(feature = "sqlite", feature = "postgres")))]
    pub fn open_cached_db(db: &DbOptions, redis: &crate::kv::redis::RedisOptions, settings: Settings, options: Options) -> Result<Store> {
        check(&settings)?;
        if !matches!(redis.format, crate::kv::redis::RedisFormat::Django { .. }) {
            return Err(crate::error::Error::Config("cached_db keeps its cache in Django's format: set the Redis options' format to RedisFormat::Django (with Django's cache KEY_PREFIX and VERSION)".into()));
        }
        let budget = (options.deadline / 8).max(Duration::from_millis(1));
        let mut redis = redis.clone();
        redis.connect_timeout = redis.connect_timeout.min(budget);
        redis.response_timeout = redis.response_timeout.min(budget);
        let cache = crate::kv::redis::RedisKv::connect(&redis)?;
        let (about, kv) = match db {
            #[cfg(feature = "sqlite")]
            DbOptions::Sqlite(sqlite) => {
                let mut sqlite = sqlite.clone();
                sqlite.busy_timeout = sqlite.busy_timeout.min(budget);
                (sqlite.describe(), crate::kv::CachedDbKv::new(crate::kv::sql::sqlite::SqliteKv::open(&sqlite)?, cache))
            }
            #[cfg(feature = "postgres")]
            DbOptions::Postgres(postgres) => {
                let mut postgres = postgres.clone();
                postgres.connect_timeout = postgres.connect_timeout.min(budget);
                postgres.response_timeout = postgres.response_timeout.min(budget);
                (postgres.describe(), crate::kv::CachedDbKv::new(crate::kv::sql::postgres::PostgresKv::connect(&postgres)?, cache))
            }
        };
        Store::open_provider(Arc::new(kv), format!("{about}, cached in {}", redis.describe()), settings, options)
    }

    /// Opens a store on Redis (or Valkey, or a Redis Cluster) with default
    /// [`Options`]: one key per session, expiring by its TTL. Connects once
    /// now, so an unreachable server or a wrong password is an error here.
    #[cfg(feature = "redis")]
    pub fn open_redis(redis: &crate::kv::redis::RedisOptions, settings: Settings) -> Result<Store> {
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
    pub fn open_redis_with(redis: &crate::kv::redis::RedisOptions, settings: Settings, options: Options) -> Result<Store> {
        check(&settings)?;
        let mut redis = redis.clone();
        let budget = (options.deadline / 4).max(Duration::from_millis(1));
        redis.connect_timeout = redis.connect_timeout.min(budget);
        redis.response_timeout = redis.response_timeout.min(budget);
        let kv = crate::kv::redis::RedisKv::connect(&redis)?;
        Store::open_provider(Arc::new(kv), redis.describe(), settings, options)
    }

    /// Opens Django's `signed_cookies` engine: the session is the cookie.
    /// Nothing is stored; a session's key is its cookie value, signed under
    /// the salt `django.contrib.sessions.backends.signed_cookies` with
    /// `settings.secret_key` (its fallbacks read too), and every save makes
    /// a new one. So: [`create`](Self::create) and
    /// [`cycle_key`](Self::cycle_key) return the new cookie value;
    /// [`load`](Self::load) reads one (until its signing time plus
    /// `cookie_age`, or its own `_session_expiry` when earlier);
    /// [`exists`](Self::exists) and [`delete`](Self::delete) have nothing to
    /// find (`false`, as in Django), [`clear_expired`](Self::clear_expired)
    /// nothing to sweep; [`save`](Self::save) under a key is an
    /// [`Error::Config`]: save through a [`Session`](crate::Session), which
    /// takes the new value as its key. A logout cannot revoke a cookie the
    /// client keeps: until it expires, a copied cookie still loads (as in
    /// Django; docs/django.md).
    pub fn open_signed_cookies(settings: Settings, options: Options) -> Result<Store> {
        check(&settings)?;
        Store::start_as(Backend::Kv(Arc::new(NoStorage)), "signed cookies".to_owned(), settings, options, true)
    }

    /// Whether this store is Django's `signed_cookies` engine
    /// ([`open_signed_cookies`](Self::open_signed_cookies)).
    pub fn is_signed_cookies(&self) -> bool {
        self.inner.signed_cookies
    }

    /// The `signed_cookies` value holding `data`, signed now: what
    /// Django's `signed_cookies` engine puts in the session cookie. Works on
    /// any store (nothing is stored); `TooLarge` past `max_session_size`.
    pub fn encode_cookie(&self, data: &Data) -> Result<String> {
        self.encode_cookie_json(&to_json(data))
    }

    /// [`encode_cookie`](Self::encode_cookie) with the data as JSON object
    /// text.
    pub fn encode_cookie_json(&self, json: &str) -> Result<String> {
        self.call_brief(|api, store, handle| api.call_encode_cookie(store, handle, json))
    }

    /// Reads a `signed_cookies` value (see
    /// [`open_signed_cookies`](Self::open_signed_cookies)). Works on any
    /// store; a bad signature is logged as for a stored session.
    pub fn decode_cookie(&self, cookie: &str) -> Result<Loaded<Data>> {
        self.decode_cookie_json(cookie)?
            .map(|json| sessionbox_guest::json::parse_object_within(&json, MAX_DATA_DEPTH).map_err(|e| unreadable_as_data(cookie, e)))
    }

    /// [`decode_cookie`](Self::decode_cookie) with the data as JSON object
    /// text exactly as signed.
    pub fn decode_cookie_json(&self, cookie: &str) -> Result<Loaded<String>> {
        Ok(self.decode_cookie_wit(cookie)?.into())
    }

    fn decode_cookie_wit(&self, cookie: &str) -> Result<wit::Loaded> {
        let loaded = self.call_brief(|api, store, handle| api.call_decode_cookie(store, handle, cookie))?;
        if matches!(loaded, wit::Loaded::BadSignature) {
            log::warn!(target: "sessionbox::security", "Session data corrupted: bad signature");
        }
        Ok(loaded)
    }

    fn start(backend: Backend, about: String, settings: Settings, options: Options) -> Result<Store> {
        Store::start_as(backend, about, settings, options, false)
    }

    fn start_as(backend: Backend, about: String, settings: Settings, options: Options, signed_cookies: bool) -> Result<Store> {
        let wit_settings = to_wit(&settings);
        let watch = match &backend {
            Backend::Dir(dir) => Some(directory::DirWatch::new(dir.clone())),
            Backend::Kv(_) => None,
        };
        let inner = Inner { backend, about, settings, wit_settings, options, idle: Mutex::new(Vec::new()), watch, signed_cookies, fallback: Default::default() };
        let store = Store { inner: Arc::new(inner) };
        // Start one instance now, so a bad directory or a broken runtime shows
        // up here rather than at the first request.
        let instance = store.instance(None)?;
        store.release(instance);
        Ok(store)
    }

    /// The session directory (canonical path); `None` for a key-value store.
    pub fn dir(&self) -> Option<&Path> {
        match &self.inner.backend {
            Backend::Dir(dir) => Some(dir),
            Backend::Kv(_) => None,
        }
    }

    /// What the store is on, for messages: its directory, "Redis at …"
    /// (never a password), "SQLite database …", or a provider's type name.
    pub fn about(&self) -> &str {
        &self.inner.about
    }

    /// Whether the store expires sessions by itself (Redis keys' TTLs), so
    /// [`clear_expired`](Self::clear_expired) has nothing to do.
    pub fn expires_by_itself(&self) -> bool {
        match &self.inner.backend {
            Backend::Dir(_) => false,
            Backend::Kv(provider) => provider.drops_expired(),
        }
    }

    /// The settings this store runs with.
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// The host-side options.
    pub fn options(&self) -> &Options {
        &self.inner.options
    }

    /// Creates a session holding `data` under a fresh key; returns the key.
    pub fn create(&self, data: &Data) -> Result<String> {
        self.create_json(&to_json(data))
    }

    /// [`create`](Self::create) with the data as JSON object text, which may
    /// hold what `Data` cannot (lone surrogates, any depth).
    pub fn create_json(&self, json: &str) -> Result<String> {
        if self.inner.signed_cookies {
            return self.encode_cookie_json(json);
        }
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
    /// [`json::canonical_object`](crate::json::canonical_object) gives the compact form).
    pub fn load_json(&self, key: &str) -> Result<Loaded<String>> {
        Ok(self.load_wit(key)?.into())
    }

    /// [`load_json`](Self::load_json) as the WIT type, for the plugin import:
    /// the guest's answer passed on unconverted.
    /// A bad signature is logged here, once for every caller, as Django's
    /// `SuspiciousSession` warning: someone holds a session cookie this
    /// store's secrets did not sign, or the stored session was tampered with.
    pub(crate) fn load_wit(&self, key: &str) -> Result<wit::Loaded> {
        if self.inner.signed_cookies {
            return self.decode_cookie_wit(key);
        }
        let mut loaded = self.call_brief(|api, store, handle| api.call_load(store, handle, key))?;
        if matches!(loaded, wit::Loaded::Missing) && self.adopt(key)? {
            loaded = self.call_brief(|api, store, handle| api.call_load(store, handle, key))?;
        }
        if matches!(loaded, wit::Loaded::BadSignature) {
            log::warn!(target: "sessionbox::security", "Session data corrupted: bad signature");
        }
        Ok(loaded)
    }

    /// Saves `data` as session `key`, atomically. With `must_create` the
    /// session must be new ([`Error::AlreadyExists`]); without, it must exist
    /// ([`Error::NotFound`]).
    pub fn save(&self, key: &str, data: &Data, must_create: bool) -> Result<()> {
        self.save_json(key, &to_json(data), must_create)
    }

    /// [`save`](Self::save) with the data as JSON object text.
    pub fn save_json(&self, key: &str, json: &str, must_create: bool) -> Result<()> {
        if self.inner.signed_cookies {
            return Err(crate::Error::Config(
                "a signed-cookie store keeps nothing under a key: save through a Session, or call create, which returns the new cookie value".into(),
            ));
        }
        let save = || self.call(|api, store, handle| api.call_save(store, handle, key, json, must_create));
        match save() {
            Err(crate::Error::NotFound) if !must_create && self.adopt(key)? => save(),
            other => other,
        }
    }

    /// Applies `changes` to session `key` as it is stored now (not as this
    /// request loaded it) and saves it, so that concurrent requests that
    /// each change different keys all keep their changes: the component
    /// writes only if the session still holds what it read, else reads
    /// again. Exact on Redis, SQL and in memory; on a directory the check
    /// and the rename run under the session's lock file, so two updates
    /// never interleave (a plain [`save`](Self::save) takes no lock;
    /// docs/operations.md). A session deleted meanwhile (a logout) is
    /// [`Error::NotFound`] and stays deleted.
    pub fn update(&self, key: &str, changes: &[Change]) -> Result<()> {
        if self.inner.signed_cookies {
            return Err(crate::Error::Config("a signed-cookie store keeps nothing under a key to update: save through a Session".into()));
        }
        let changes: Vec<wit::Change> = changes.iter().map(Into::into).collect();
        let update = || self.call(|api, store, handle| api.call_update(store, handle, key, &changes));
        match update() {
            Err(crate::Error::NotFound) if self.adopt(key)? => update(),
            other => other,
        }
    }

    /// Extends session `key`'s life as a save of its unchanged data would,
    /// without rewriting it: a Redis key's TTL (`PEXPIRE`), a row's
    /// `expire_date`, a file's modification time (a session with a fixed
    /// `_session_expiry` date has nothing to extend). `false` when no live
    /// session has the key.
    pub fn touch(&self, key: &str) -> Result<bool> {
        if self.inner.signed_cookies {
            return Ok(false);
        }
        let touch = || self.call_brief(|api, store, handle| api.call_touch(store, handle, key));
        match touch()? {
            false if self.adopt(key)? => touch(),
            touched => Ok(touched),
        }
    }

    /// Whether a file for session `key` exists (a key too short or too long
    /// to name a session has none).
    pub fn exists(&self, key: &str) -> Result<bool> {
        if self.inner.signed_cookies {
            return Ok(false);
        }
        let here = self.call_brief(|api, store, handle| api.call_exists(store, handle, key))?;
        match self.inner.fallback.get() {
            Some(old) if !here => old.exists(key),
            _ => Ok(here),
        }
    }

    /// Deletes session `key`; returns whether a file was deleted (a missing
    /// session is not an error).
    pub fn delete(&self, key: &str) -> Result<bool> {
        if self.inner.signed_cookies {
            return Ok(false);
        }
        let here = self.call_brief(|api, store, handle| api.call_delete(store, handle, key))?;
        match self.inner.fallback.get() {
            Some(old) => Ok(old.delete(key)? | here),
            None => Ok(here),
        }
    }

    /// Moves `data` to a new key and deletes session `key`; returns the new key.
    pub fn cycle_key(&self, key: &str, data: &Data) -> Result<String> {
        self.cycle_key_json(key, &to_json(data))
    }

    /// [`cycle_key`](Self::cycle_key) with the data as JSON object text.
    pub fn cycle_key_json(&self, key: &str, json: &str) -> Result<String> {
        if self.inner.signed_cookies {
            return self.encode_cookie_json(json);
        }
        let new_key = self.call(|api, store, handle| api.call_cycle_key(store, handle, key, json))?;
        if let Some(old) = self.inner.fallback.get() {
            old.delete(key)?;
        }
        Ok(new_key)
    }

}



/// Whether this thread is a worker of a multi-thread tokio runtime, where a
/// call that holds the thread for long goes under `block_in_place`.
fn on_tokio_worker() -> bool {
    use tokio::runtime::{Handle, RuntimeFlavor};
    matches!(Handle::try_current().map(|handle| handle.runtime_flavor()), Ok(RuntimeFlavor::MultiThread))
}
