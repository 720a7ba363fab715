//! The session store: Django's `SessionStore` operations (docs/SPEC.md §3),
//! one file per operation, over one storage seam, [`Storage`]. Two backends
//! implement it: [`Files`] (one file per session in a directory, Django's
//! file backend) and [`Kv`] (one key per session in a key-value store such
//! as Redis, Django's cache backend). The codec, keys, expiry, validation
//! and size limits live here and are shared; a backend only stores bytes.

mod create;
mod delete;
mod files;
mod import;
mod kv;
mod load;
mod save;
mod scan;
mod sweep;
mod update;
#[cfg(test)]
mod operator_tests;
#[cfg(test)]
mod tests;

pub use files::Files;
pub use sweep::{sweep_ranges, SweepBatch, SweepRange, SweepReport};
pub use import::{Imported, Resigned};
pub use kv::{KeyPage, KeyValue, Kv, KvEntry, KvError};
pub use load::Loaded;
pub use scan::{ScanBatch, ScanReport, SessionInfo};
pub use update::Change;

use crate::codec::Codec;
use crate::dir::Dir;
use crate::system::System;
use crate::time::Time;
use crate::{key, Error, Settings};

/// Marks a temporary file: `<prefix><key>_out_<random>` (as Django's mkstemp).
pub(crate) const TEMP_MARKER: &str = "_out_";
/// Random characters that make a temporary file name unique.
const TEMP_SUFFIX_LEN: usize = 8;
/// The longest file name common filesystems accept, in bytes; session
/// names in every backend keep to it, so a key valid in one is valid in all.
const MAX_NAME_LEN: usize = 255;
/// Temporary files older than this are debris from a crash and get swept.
pub const TEMP_FILE_MAX_AGE_SECS: i64 = 3600;
/// What Django's cache session backend puts before a session key
/// (`django.contrib.sessions.backends.cache.KEY_PREFIX`).
pub const DJANGO_CACHE_KEY_PREFIX: &str = "django.contrib.sessions.cache";

/// How a session is stored as bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Django's signed session text (`signing.dumps`, compressed), under the
    /// name `<file prefix><key>`: what Django's file backend writes.
    Signed,
    /// The same signed text under the bare session key: what Django's `db`
    /// backend stores (`session_data` under `session_key`).
    DjangoDb,
    /// The session dict pickled (protocol 5), under the name
    /// `django.contrib.sessions.cache<key>`: what Django's cache backend
    /// stores through its Redis cache. Not signed: only a trusted store can
    /// hold it.
    DjangoPickle,
    /// Django's `cached_db` backend: [`DjangoDb`](Self::DjangoDb) in the
    /// database, and the session dict pickled under
    /// `django.contrib.sessions.cached_db<key>` in a cache in front of it,
    /// through one key-value store that routes those names to the cache
    /// (see [`Kv`](crate::Kv)).
    DjangoCachedDb,
}

/// What Django's `cached_db` backend puts before a session key in the cache
/// (`django.contrib.sessions.backends.cached_db.KEY_PREFIX`).
pub const DJANGO_CACHED_DB_KEY_PREFIX: &str = "django.contrib.sessions.cached_db";

/// What a backend holds under a session's name, read whole.
pub struct Stored<O> {
    /// The bytes as stored.
    pub content: Vec<u8>,
    /// Their encoding (for `cached_db`, the cache's pickle or the
    /// database's signed text, whichever answered).
    pub format: Format,
    /// How old the entry is, as the backend knows it.
    pub age: Age,
    /// What [`Storage::remove_read`] needs to delete exactly this entry.
    pub opened: O,
}

/// What a backend knows of when an entry was written or will go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Age {
    /// Last written at this moment (a file's mtime): expiry counts from it.
    WrittenAt(Time),
    /// The store drops the entry itself after this many milliseconds (a
    /// key's TTL); `None` when it has no TTL.
    ExpiresIn(Option<u64>),
}

/// Why a backend could not read an entry.
#[derive(Debug)]
pub enum Unread {
    /// There is no such entry (any more).
    Missing,
    /// Not a regular file (a FIFO, device, directory or symlink).
    NotAFile,
    /// Larger than any session can be.
    TooLarge,
    /// The storage failed.
    Io(Error),
}

/// The seam between the session logic and where sessions are kept: what a
/// backend must implement (as Django's `SessionBase` lists what its backends
/// implement). Names are built by the store from a validated key; a backend
/// never sees anything else.
pub trait Storage {
    /// Whether the backend drops expired entries itself (a TTL per write),
    /// so writes carry one and a sweep has nothing to do.
    const EXPIRES_ENTRIES: bool;

    /// What a read keeps of the entry it read, so that deleting it (an
    /// expired session) never deletes a newer entry written meanwhile.
    type Opened;

    /// How sessions are encoded in this backend.
    fn format(&self) -> Format;

    /// Reads the entry `name` whole; more than `limit` bytes is `TooLarge`.
    fn read<S: System>(&self, core: &Core<S>, name: &str, limit: u64) -> Result<Stored<Self::Opened>, Unread>;

    /// Writes `content` as `name`, atomically: with `must_create` only if no
    /// entry has the name (`AlreadyExists`), else only if one does
    /// (`NotFound`, never recreating a deleted session). `ttl_ms` is the
    /// time to live for backends that expire entries (`None`: none).
    fn write<S: System>(&self, core: &Core<S>, name: &str, content: &[u8], must_create: bool, ttl_ms: Option<u64>) -> Result<(), Error>;

    /// Whether an entry `name` exists (expired or not).
    fn exists(&self, name: &str) -> Result<bool, Error>;

    /// Deletes the entry `name`; whether there was one.
    fn remove(&self, name: &str) -> Result<bool, Error>;

    /// Deletes the entry `name` only if it is still the one [`read`](Self::read)
    /// returned `opened` for; whether it was deleted.
    fn remove_read<S: System>(&self, core: &Core<S>, name: &str, opened: &Self::Opened) -> Result<bool, Error>;

    /// One batch of a sweep of expired entries (see
    /// [`SessionStore::sweep_range`]).
    fn sweep<S: System>(&self, core: &Core<S>, cursor: Option<&str>, upto: Option<&str>, budget_nanos: Option<u64>) -> Result<SweepBatch, Error>;

    /// Reads `name` from where it is kept for good, for a write that must
    /// compare against it: for `cached_db` the database, never the cache.
    fn read_latest<S: System>(&self, core: &Core<S>, name: &str, limit: u64) -> Result<Stored<Self::Opened>, Unread> {
        self.read(core, name, limit)
    }

    /// Writes `content` as `name` only while `name` still holds what
    /// [`read_latest`](Self::read_latest) returned as `read`; whether it
    /// did (`false`: changed or gone meanwhile, nothing written).
    fn replace<S: System>(&self, core: &Core<S>, name: &str, read: &Stored<Self::Opened>, content: &[u8], ttl_ms: Option<u64>) -> Result<bool, Error>;

    /// Sets when `name`, still holding what `read` returned, counts as
    /// written (`written_at`, a file's mtime) or how long it has left
    /// (`ttl_ms`, for backends that expire entries), without rewriting it;
    /// whether it did (`false`: changed or gone meanwhile).
    fn retime<S: System>(&self, core: &Core<S>, name: &str, read: &Stored<Self::Opened>, written_at: Time, ttl_ms: Option<u64>) -> Result<bool, Error>;

    /// Calls `visit` with the names of one batch of a scan: those that start
    /// with `prefix`, after `cursor`, up to `upto` where the backend orders
    /// names, until `budget_nanos` have passed (at least one per batch).
    /// Returns the cursor of the next batch (`None`: done) and how many
    /// names could not be passed (not UTF-8).
    fn walk<S: System>(
        &self,
        core: &Core<S>,
        prefix: &str,
        cursor: Option<&str>,
        upto: Option<&str>,
        budget_nanos: Option<u64>,
        visit: &mut dyn FnMut(&str),
    ) -> Result<(Option<String>, u32), Error>;
}

/// What every backend's operations share: the settings, their codec, the
/// clock and the random source.
pub struct Core<S> {
    /// The clock and the random source.
    pub(crate) system: S,
    /// The settings, validated.
    pub(crate) settings: Settings,
    /// Signs and verifies with the secret and its fallbacks.
    pub(crate) codec: Codec,
}

impl<S: System> Core<S> {
    fn random_key(&self, len: usize) -> String {
        key::random_string(len, |buf| self.system.fill_random(buf))
    }

    /// Largest stored session that can hold one of the maximum size. Signed
    /// text: base64 of the JSON plus the separators, timestamp and
    /// signature. A pickle: in protocols 4 and 5 (Django's `RedisCache`
    /// writes 5) a value costs at most 2.25 times its JSON (a float, `0.0,`
    /// against `G` and 8 bytes); the older protocols' memo opcodes (`p12345`
    /// and a newline) reach about 3.5 times; four times, plus batching marks
    /// and frame headers, covers all. In u64: on wasm32 a `usize` cannot
    /// hold it for the largest sizes.
    pub(crate) fn max_stored_len(&self, format: Format) -> u64 {
        let json = u64::from(self.settings.max_session_size);
        match format {
            Format::Signed | Format::DjangoDb => json.div_ceil(3) * 4 + 1 + 1 + 13 + 1 + 43,
            Format::DjangoPickle | Format::DjangoCachedDb => json * 4 + 64,
        }
    }
}

/// Django's session store over one [`Storage`] backend.
pub struct SessionStore<B, S> {
    backend: B,
    core: Core<S>,
}

impl<D: Dir, S: System> SessionStore<Files<D>, S> {
    /// A store over the directory `dir`, after checking `settings`.
    pub fn new(dir: D, system: S, settings: Settings) -> Result<Self, Error> {
        SessionStore::with_storage(Files::new(dir), system, settings)
    }

    /// The directory this store works in.
    pub fn dir(&self) -> &D {
        self.backend.dir()
    }
}

impl<B: Storage, S: System> SessionStore<B, S> {
    /// A store over `backend`, after checking `settings`.
    pub fn with_storage(backend: B, system: S, settings: Settings) -> Result<Self, Error> {
        settings.validate()?;
        let codec = Codec::cached(&settings.secret_key, &settings.fallback_keys, &settings.key_salt);
        Ok(SessionStore { backend, core: Core { system, settings, codec } })
    }

    /// Django's `signed_cookies` engine: the cookie value holding `data`,
    /// signed now (see [`cookie`](crate::cookie)). The storage is not used.
    pub fn encode_cookie(&self, data: &str) -> Result<String, Error> {
        crate::cookie::encode(&self.core.settings, data, self.core.system.now())
    }

    /// Reads a `signed_cookies` value (see [`cookie`](crate::cookie)). The
    /// storage is not used.
    pub fn decode_cookie(&self, cookie: &str) -> Result<Loaded, Error> {
        crate::cookie::decode(&self.core.settings, cookie, self.core.system.now())
    }

    /// The backend's name for session `key` (`None` for a key that can name
    /// no session: shorter than 8 characters, as Django never makes, or too
    /// long for a file name). `InvalidKey` only for a character outside
    /// `[a-z0-9]`, Django's one refusal and the path-traversal guard.
    fn session_name(&self, key: &str) -> Result<Option<String>, Error> {
        if !key::has_valid_chars(key) {
            return Err(Error::InvalidKey);
        }
        let prefix = self.name_prefix();
        let fits = prefix.len() + key.len() <= MAX_NAME_LEN;
        Ok((key.len() >= key::MIN_KEY_LEN && fits).then(|| format!("{prefix}{key}")))
    }

    fn name_prefix(&self) -> &str {
        match self.backend.format() {
            Format::Signed => &self.core.settings.file_prefix,
            Format::DjangoPickle => DJANGO_CACHE_KEY_PREFIX,
            Format::DjangoDb | Format::DjangoCachedDb => "",
        }
    }
}
