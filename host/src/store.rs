//! [`Store`]: the session store over one directory, backed by the component.

use crate::directory;
use crate::error::{Error, Result};
use crate::instance::Instance;
use crate::runtime::bindings::wit;
use crate::session::Session;
use crate::Data;
use sessionbox_guest::{Durability, Settings};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
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
    /// Warm instances kept for reuse (default 16).
    pub max_idle_instances: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            memory_limit: 64 << 20,
            deadline: Duration::from_secs(10),
            expire_at_browser_close: false,
            max_idle_instances: 16,
        }
    }
}

/// What [`Store::load`] found.
#[derive(Debug, Clone, PartialEq)]
pub enum Loaded {
    /// A live session and its data (empty for a placeholder file).
    Found(Data),
    /// No session with this key, or the key is not a valid key.
    Missing,
    /// The session had expired; its file has been deleted.
    Expired,
    /// The signature matched no secret (tampered, or an unknown secret).
    BadSignature,
    /// The file could not be decoded.
    Corrupt,
}

/// What [`Store::clear_expired`] did.
pub use sessionbox_guest::SweepReport;

/// Django's file session store over one directory, run inside the sandboxed
/// component. Cheap to clone; safe to use from many threads at once.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    settings: Settings,
    /// The settings as the WIT record, for opening each instance's `store`.
    wit_settings: wit::Settings,
    options: Options,
    idle: Mutex<Vec<Instance>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("dir", &self.inner.dir)
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
        settings.validate().map_err(|e| match e {
            // The guest's message already starts with "invalid settings".
            sessionbox_guest::Error::InvalidSettings(why) => Error::InvalidSettings(why),
            other => Error::InvalidSettings(other.to_string()),
        })?;
        let dir = directory::prepare(dir.as_ref())?;
        let wit_settings = to_wit(&settings);
        let store = Store { inner: Arc::new(Inner { dir, settings, wit_settings, options, idle: Mutex::new(Vec::new()) }) };
        // Start one instance now, so a bad directory or a broken runtime shows
        // up here rather than at the first request.
        let instance = Instance::new(&store.inner.dir, store.inner.options.memory_limit, &store.inner.wit_settings)?;
        store.release(instance);
        Ok(store)
    }

    /// The session directory (canonical path).
    pub fn dir(&self) -> &Path {
        &self.inner.dir
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
        let data = to_json(data)?;
        self.call(|api, store, handle| api.call_create(store, handle, &data))
    }

    /// Reads session `key`; never creates a file, deletes an expired one.
    pub fn load(&self, key: &str) -> Result<Loaded> {
        let loaded = self.call(|api, store, handle| api.call_load(store, handle, key))?;
        Ok(match loaded {
            wit::Loaded::Found(json) => Loaded::Found(
                sessionbox_guest::json_parse::parse_object(&json)
                    .map_err(|e| Error::Runtime(format!("the component returned unreadable data: {e}")))?,
            ),
            wit::Loaded::Missing => Loaded::Missing,
            wit::Loaded::Expired => Loaded::Expired,
            wit::Loaded::BadSignature => Loaded::BadSignature,
            wit::Loaded::Corrupt => Loaded::Corrupt,
        })
    }

    /// Saves `data` as session `key`, atomically. With `must_create` the
    /// session must be new ([`Error::AlreadyExists`]); without, it must exist
    /// ([`Error::NotFound`]).
    pub fn save(&self, key: &str, data: &Data, must_create: bool) -> Result<()> {
        let data = to_json(data)?;
        self.call(|api, store, handle| api.call_save(store, handle, key, &data, must_create))
    }

    /// Whether a file for session `key` exists.
    pub fn exists(&self, key: &str) -> Result<bool> {
        self.call(|api, store, handle| api.call_exists(store, handle, key))
    }

    /// Deletes session `key`; a missing session is not an error.
    pub fn delete(&self, key: &str) -> Result<()> {
        self.call(|api, store, handle| api.call_delete(store, handle, key))
    }

    /// Moves `data` to a new key and deletes session `key`; returns the new key.
    pub fn cycle_key(&self, key: &str, data: &Data) -> Result<String> {
        let data = to_json(data)?;
        self.call(|api, store, handle| api.call_cycle_key(store, handle, key, &data))
    }

    /// Deletes every expired session (Django's `clearsessions`).
    pub fn clear_expired(&self) -> Result<SweepReport> {
        let r = self.call(|api, store, handle| api.call_clear_expired(store, handle))?;
        Ok(SweepReport { scanned: r.scanned, deleted: r.deleted, skipped: r.skipped })
    }

    /// Runs one export on a warm instance (or a new one).
    ///
    /// wasmtime-wasi's synchronous bindings `block_on` the current tokio
    /// runtime, which panics inside a task. On a multi-thread runtime,
    /// `block_in_place` makes blocking legal on this very thread (and is a
    /// no-op on a `spawn_blocking` thread). A current-thread runtime offers no
    /// such escape, so there the call moves to a short-lived plain thread.
    fn call<T: Send>(
        &self,
        f: impl FnOnce(&wit::GuestStore, &mut wasmtime::Store<crate::runtime::HostState>, ResourceAny) -> wasmtime::Result<Result<T, wit::Error>> + Send,
    ) -> Result<T> {
        use tokio::runtime::{Handle, RuntimeFlavor};
        match Handle::try_current().map(|handle| handle.runtime_flavor()) {
            Err(_) => self.call_here(f),
            Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(|| self.call_here(f)),
            Ok(_) => std::thread::scope(|s| s.spawn(|| self.call_here(f)).join())
                .unwrap_or_else(|_| Err(Error::Runtime("the session store call panicked".into()))),
        }
    }

    fn call_here<T>(
        &self,
        f: impl FnOnce(&wit::GuestStore, &mut wasmtime::Store<crate::runtime::HostState>, ResourceAny) -> wasmtime::Result<Result<T, wit::Error>>,
    ) -> Result<T> {
        let mut instance = match self.inner.idle.lock().ok().and_then(|mut idle| idle.pop()) {
            Some(instance) => instance,
            None => Instance::new(&self.inner.dir, self.inner.options.memory_limit, &self.inner.wit_settings)?,
        };
        // A trap drops the instance here: its state may be inconsistent.
        let result = instance.call(self.inner.options.deadline, f)?;
        self.release(instance);
        result.map_err(from_wit)
    }

    fn release(&self, instance: Instance) {
        if let Ok(mut idle) = self.inner.idle.lock() {
            if idle.len() < self.inner.options.max_idle_instances {
                idle.push(instance);
            }
        }
    }
}

fn to_json(data: &Data) -> Result<String> {
    serde_json::to_string(data).map_err(|e| Error::InvalidData(e.to_string()))
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

fn from_wit(e: wit::Error) -> Error {
    match e {
        wit::Error::InvalidKey => Error::InvalidKey,
        wit::Error::AlreadyExists => Error::AlreadyExists,
        wit::Error::NotFound => Error::NotFound,
        wit::Error::TooLarge => Error::TooLarge,
        wit::Error::InvalidData(why) => Error::InvalidData(why),
        wit::Error::InvalidSettings(why) => Error::InvalidSettings(why),
        wit::Error::Io(why) => Error::Io(why),
    }
}
