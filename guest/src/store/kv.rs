//! The key-value backend: one key per session in a store that expires keys
//! itself (Redis, Valkey), reached through [`KeyValue`] (in the component,
//! the host's `sessionbox:store/kv` import). Create is an add-if-absent and
//! an update a set-if-present, so no two creates share a key and an update
//! never brings back a session deleted meanwhile; each write carries the
//! session's time to live, so there is nothing to sweep.

use crate::system::System;
use crate::store::{Age, Core, Format, Storage, Stored, SweepBatch, Unread, DJANGO_CACHED_DB_KEY_PREFIX};
use crate::time::Time;
use crate::Error;

/// A value as read, with the time it has left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KvEntry {
    /// The stored bytes.
    pub value: Vec<u8>,
    /// Milliseconds before the store drops it; `None` without a TTL.
    pub ttl_ms: Option<u64>,
}

/// Why a key-value call failed; mirrors the WIT `kv.error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KvError {
    /// The value is longer than the caller's limit (it was not transferred).
    TooLarge,
    /// The key holds something other than a plain value (a Redis list,
    /// hash, ...): someone else's data.
    WrongType,
    /// The store refused the credentials.
    AccessDenied(String),
    /// Anything else: unreachable, timed out, a protocol error.
    Other(String),
}

impl std::fmt::Display for KvError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KvError::TooLarge => f.write_str("the value is too large"),
            KvError::WrongType => f.write_str("the key holds something other than a plain value"),
            KvError::AccessDenied(why) => write!(f, "access denied: {why}"),
            KvError::Other(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for KvError {}

/// The operations a key-value store offers the session logic; the names
/// follow `wasi:keyvalue/store` where it has them. Every call touches one
/// key.
///
/// This is the one storage seam for key-value-shaped stores: the component
/// reaches it through the host's `sessionbox:store/kv` import, and the host
/// library (`sessionbox::kv`) serves that import from any implementation,
/// Redis, in memory, or a user's own (`Store::open_kv`). A call blocks its
/// caller, so an implementation that waits on a network bounds each call
/// with its own timeouts.
pub trait KeyValue {
    /// How sessions are encoded in this store (default: Django's signed
    /// text, what the file backend writes).
    fn format(&self) -> Format {
        Format::Signed
    }
    /// The value of `key` with its TTL; `None` when there is no such key;
    /// `KvError::TooLarge` when the value is longer than `max_len` bytes.
    fn get(&self, key: &str, max_len: u64) -> Result<Option<KvEntry>, KvError>;
    /// Sets `key` only if it does not exist; whether it was set.
    fn set_if_absent(&self, key: &str, value: &[u8], ttl_ms: Option<u64>) -> Result<bool, KvError>;
    /// Sets `key` only if it exists; whether it was set.
    fn set_if_present(&self, key: &str, value: &[u8], ttl_ms: Option<u64>) -> Result<bool, KvError>;
    /// Deletes `key`; whether it existed.
    fn delete(&self, key: &str) -> Result<bool, KvError>;
    /// Whether `key` exists.
    fn exists(&self, key: &str) -> Result<bool, KvError>;

    /// Deletes every expired entry; how many. For a store that keeps them
    /// until asked (an SQL table, as Django's `clearsessions` empties it);
    /// the default, for a store that drops keys by their TTL itself, does
    /// nothing. The host's `Store::clear_expired` calls it; the component
    /// never does.
    fn clear_expired(&self) -> Result<u64, KvError> {
        Ok(0)
    }

    /// Whether the store drops an entry by itself when its TTL ends (Redis,
    /// the default), or keeps it for [`clear_expired`](Self::clear_expired)
    /// (an SQL table). Either way a read never returns an expired entry.
    fn drops_expired(&self) -> bool {
        true
    }

    /// Sets `key` to `value` only if it holds exactly `expected` now;
    /// whether it was set. Saves that merge concurrent changes and
    /// re-signing rely on it being one step (a Redis script, an SQL
    /// `UPDATE ... WHERE`). The default reads, compares and then sets only
    /// if present: a write landing between the read and the set is lost, so
    /// a store that can compare and set in one step should say so here.
    fn set_if_equal(&self, key: &str, expected: &[u8], value: &[u8], ttl_ms: Option<u64>) -> Result<bool, KvError> {
        match self.get(key, expected.len() as u64) {
            Ok(Some(entry)) if entry.value == expected => self.set_if_present(key, value, ttl_ms),
            Ok(_) | Err(KvError::TooLarge) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Sets the time `key` has left without rewriting its value (Redis
    /// `PEXPIRE`), only if it holds exactly `expected` now; whether it did.
    /// The default rewrites the value through
    /// [`set_if_equal`](Self::set_if_equal).
    fn set_ttl(&self, key: &str, expected: &[u8], ttl_ms: Option<u64>) -> Result<bool, KvError> {
        self.set_if_equal(key, expected, expected, ttl_ms)
    }

    /// One page of the keys that start with `prefix`: from the start for
    /// `cursor` `None`, else from where the page that returned `cursor`
    /// stopped; about `count` per page; the last page returns `None` as its
    /// cursor. A key present for the whole scan is listed at least once.
    /// The default lists nothing and fails: a store that cannot list keys
    /// cannot be scanned (`sessions-of`, `migrate`, `secrets-report`).
    fn keys(&self, prefix: &str, cursor: Option<&str>, count: u32) -> Result<KeyPage, KvError> {
        let _ = (prefix, cursor, count);
        Err(KvError::Other("this store cannot list its keys".into()))
    }
}

/// A page of keys, from [`KeyValue::keys`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyPage {
    /// The keys of this page.
    pub keys: Vec<String>,
    /// Where the next page starts; `None` after the last.
    pub cursor: Option<String>,
}

impl<K: KeyValue + ?Sized> KeyValue for std::sync::Arc<K> {
    fn format(&self) -> Format {
        (**self).format()
    }
    fn get(&self, key: &str, max_len: u64) -> Result<Option<KvEntry>, KvError> {
        (**self).get(key, max_len)
    }
    fn set_if_absent(&self, key: &str, value: &[u8], ttl_ms: Option<u64>) -> Result<bool, KvError> {
        (**self).set_if_absent(key, value, ttl_ms)
    }
    fn set_if_present(&self, key: &str, value: &[u8], ttl_ms: Option<u64>) -> Result<bool, KvError> {
        (**self).set_if_present(key, value, ttl_ms)
    }
    fn delete(&self, key: &str) -> Result<bool, KvError> {
        (**self).delete(key)
    }
    fn exists(&self, key: &str) -> Result<bool, KvError> {
        (**self).exists(key)
    }
    fn clear_expired(&self) -> Result<u64, KvError> {
        (**self).clear_expired()
    }
    fn drops_expired(&self) -> bool {
        (**self).drops_expired()
    }
    fn set_if_equal(&self, key: &str, expected: &[u8], value: &[u8], ttl_ms: Option<u64>) -> Result<bool, KvError> {
        (**self).set_if_equal(key, expected, value, ttl_ms)
    }
    fn set_ttl(&self, key: &str, expected: &[u8], ttl_ms: Option<u64>) -> Result<bool, KvError> {
        (**self).set_ttl(key, expected, ttl_ms)
    }
    fn keys(&self, prefix: &str, cursor: Option<&str>, count: u32) -> Result<KeyPage, KvError> {
        (**self).keys(prefix, cursor, count)
    }
}

/// Sessions as keys of a [`KeyValue`] store, in one [`Format`].
pub struct Kv<K> {
    kv: K,
    format: Format,
}

impl<K: KeyValue> Kv<K> {
    /// Sessions in `kv`, stored in `format`.
    pub fn new(kv: K, format: Format) -> Kv<K> {
        Kv { kv, format }
    }

    /// Django's `cached_db`: a cache in front of the database.
    fn cached(&self) -> bool {
        self.format == Format::DjangoCachedDb
    }

    /// The database's and the cache's entries of `cached_db` session `name`
    /// through the cache; a miss (or a cache that fails, as in Django) reads
    /// the database and fills the cache with what its row has left to live.
    fn read_cached<S: System>(&self, core: &Core<S>, name: &str, limit: u64) -> Result<Stored<()>, Unread> {
        let cache = cache_name(name);
        if let Ok(Some(KvEntry { value, ttl_ms })) = self.kv.get(&cache, limit) {
            return Ok(Stored { content: value, format: Format::DjangoPickle, age: Age::ExpiresIn(ttl_ms), opened: () });
        }
        let (value, ttl_ms) = match self.kv.get(name, limit) {
            Ok(Some(KvEntry { value, ttl_ms })) => (value, ttl_ms),
            Ok(None) => return Err(Unread::Missing),
            Err(KvError::TooLarge) => return Err(Unread::TooLarge),
            Err(KvError::WrongType) => return Err(Unread::NotAFile),
            Err(e) => return Err(Unread::Io(io("get", name, e))),
        };
        // Only what verifies goes in the cache (Django's would cache `{}`
        // for a tampered row).
        if let Some(pickled) = self.pickled(core, &value) {
            if self.kv.set_if_absent(&cache, &pickled, ttl_ms) != Ok(false) {
                // The row again: a save or a logout between the read and the
                // fill (whose own cache delete came before the fill) would
                // leave the cache serving what the row no longer holds, so
                // the entry stays only if the row still holds what was
                // cached; on any doubt (an error, a fill that may have
                // happened) it goes.
                let still = matches!(self.kv.get(name, limit), Ok(Some(KvEntry { value: now, .. })) if now == value);
                if !still {
                    let _ = self.kv.delete(&cache);
                }
            }
        }
        Ok(Stored { content: value, format: Format::DjangoDb, age: Age::ExpiresIn(ttl_ms), opened: () })
    }

    /// The cache's form (the dict pickled) of a session in signed text.
    fn pickled<S: System>(&self, core: &Core<S>, signed: &[u8]) -> Option<Vec<u8>> {
        let decoded = core.codec.decode_session(signed, core.settings.max_session_size as usize).ok()?;
        crate::pickle::from_json_object(&decoded.json).ok()
    }

    /// After the database took a save: the cache entry goes, and the next
    /// load fills it from the row. Setting it instead (Django's way) lets
    /// two saves, or a save and a fill, leave the older data in the cache
    /// over the newer row. A cache that cannot take the delete makes the
    /// save an error: it may go on serving the old data.
    fn invalidate(&self, name: &str) -> Result<(), Error> {
        self.kv.delete(&cache_name(name)).map(drop).map_err(|e| io("saved in the database, but clearing the cache failed for", name, e))
    }
}

/// Keys asked of one [`KeyValue::keys`] page: a scan batch, whose sessions
/// are then read one by one within the one call (at 10 ms a read, a
/// second).
const KEYS_PER_PAGE: u32 = 100;

/// The cache's name for `cached_db` session `name` (Django's `cache_key`).
fn cache_name(name: &str) -> String {
    format!("{DJANGO_CACHED_DB_KEY_PREFIX}{name}")
}

fn io(doing: &str, name: &str, e: KvError) -> Error {
    match e {
        KvError::TooLarge => Error::TooLarge,
        KvError::WrongType => Error::Io(format!("{doing} {name}: the key holds something other than a plain value")),
        KvError::AccessDenied(why) => Error::Io(format!("{doing} {name}: access denied: {why}")),
        KvError::Other(why) => Error::Io(format!("{doing} {name}: {why}")),
    }
}

impl<K: KeyValue> Storage for Kv<K> {
    const EXPIRES_ENTRIES: bool = true;
    type Opened = ();

    fn format(&self) -> Format {
        self.format
    }

    fn read<S: System>(&self, core: &Core<S>, name: &str, limit: u64) -> Result<Stored<()>, Unread> {
        if self.cached() {
            return self.read_cached(core, name, limit);
        }
        match self.kv.get(name, limit) {
            Ok(Some(KvEntry { value, ttl_ms })) => Ok(Stored { content: value, format: self.format, age: Age::ExpiresIn(ttl_ms), opened: () }),
            Ok(None) => Err(Unread::Missing),
            Err(KvError::TooLarge) => Err(Unread::TooLarge),
            // Like a directory entry that is not a regular file: corrupt.
            Err(KvError::WrongType) => Err(Unread::NotAFile),
            Err(e) => Err(Unread::Io(io("get", name, e))),
        }
    }

    fn write<S: System>(&self, _core: &Core<S>, name: &str, content: &[u8], must_create: bool, ttl_ms: Option<u64>) -> Result<(), Error> {
        if must_create {
            match self.kv.set_if_absent(name, content, ttl_ms) {
                Ok(true) => {}
                Ok(false) => return Err(Error::AlreadyExists),
                Err(e) => return Err(io("add", name, e)),
            }
        } else {
            match self.kv.set_if_present(name, content, ttl_ms) {
                Ok(true) => {}
                Ok(false) => return Err(Error::NotFound),
                Err(e) => return Err(io("replace", name, e)),
            }
        }
        if self.cached() {
            self.invalidate(name)?;
        }
        Ok(())
    }

    /// For `cached_db`, in the cache or the database (Django's `exists`).
    fn exists(&self, name: &str) -> Result<bool, Error> {
        if self.cached() && self.kv.exists(&cache_name(name)).map_err(|e| io("check", name, e))? {
            return Ok(true);
        }
        self.kv.exists(name).map_err(|e| io("check", name, e))
    }

    /// For `cached_db`, from the database, then from the cache, which is
    /// tried whatever the database answered (a delete that timed out may
    /// have been applied).
    fn remove(&self, name: &str) -> Result<bool, Error> {
        let removed = self.kv.delete(name).map_err(|e| io("delete", name, e));
        if self.cached() {
            let uncached = self.kv.delete(&cache_name(name)).map_err(|e| io("delete", name, e));
            return Ok(removed? | uncached?);
        }
        removed
    }

    /// Only an entry without a TTL is ever judged expired here; no
    /// key-value call deletes a key only if unchanged, so this is a delete.
    fn remove_read<S: System>(&self, _core: &Core<S>, name: &str, _opened: &()) -> Result<bool, Error> {
        self.remove(name)
    }

    /// For `cached_db`, the database row: the copy a write compares against.
    fn read_latest<S: System>(&self, core: &Core<S>, name: &str, limit: u64) -> Result<Stored<()>, Unread> {
        if !self.cached() {
            return self.read(core, name, limit);
        }
        match self.kv.get(name, limit) {
            Ok(Some(KvEntry { value, ttl_ms })) => Ok(Stored { content: value, format: Format::DjangoDb, age: Age::ExpiresIn(ttl_ms), opened: () }),
            Ok(None) => Err(Unread::Missing),
            Err(KvError::TooLarge) => Err(Unread::TooLarge),
            Err(KvError::WrongType) => Err(Unread::NotAFile),
            Err(e) => Err(Unread::Io(io("get", name, e))),
        }
    }

    fn replace<S: System>(&self, _core: &Core<S>, name: &str, read: &Stored<()>, content: &[u8], ttl_ms: Option<u64>) -> Result<bool, Error> {
        let replaced = self.kv.set_if_equal(name, &read.content, content, ttl_ms).map_err(|e| io("replace", name, e))?;
        if replaced && self.cached() {
            self.invalidate(name)?;
        }
        Ok(replaced)
    }

    /// The TTL only (a key-value entry's expiry counts from nothing else),
    /// while the entry holds what was read. For `cached_db`, the database
    /// row's; the cache entry may go first, and the next load refills it
    /// from the row.
    fn retime<S: System>(&self, _core: &Core<S>, name: &str, read: &Stored<()>, _written_at: Time, ttl_ms: Option<u64>) -> Result<bool, Error> {
        self.kv.set_ttl(name, &read.content, ttl_ms).map_err(|e| io("touch", name, e))
    }

    /// One page of [`KeyValue::keys`]; a page is one batch, whatever the
    /// budget, and names have no order here, so `upto` does not apply.
    fn walk<S: System>(
        &self,
        _core: &Core<S>,
        prefix: &str,
        cursor: Option<&str>,
        _upto: Option<&str>,
        _budget_nanos: Option<u64>,
        visit: &mut dyn FnMut(&str),
    ) -> Result<(Option<String>, u32), Error> {
        let page = self.kv.keys(prefix, cursor, KEYS_PER_PAGE).map_err(|e| io("list", "the store's keys", e))?;
        page.keys.iter().for_each(|key| visit(key));
        Ok((page.cursor, 0))
    }

    /// The store drops expired keys by their TTL: nothing to sweep.
    fn sweep<S: System>(&self, _core: &Core<S>, _cursor: Option<&str>, _upto: Option<&str>, _budget_nanos: Option<u64>) -> Result<SweepBatch, Error> {
        Ok(SweepBatch::default())
    }
}
