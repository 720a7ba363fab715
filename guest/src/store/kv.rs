//! The key-value backend: one key per session in a store that expires keys
//! itself (Redis, Valkey), reached through [`KeyValue`] (in the component,
//! the host's `sessionbox:store/kv` import). Create is an add-if-absent and
//! an update a set-if-present, so no two creates share a key and an update
//! never brings back a session deleted meanwhile; each write carries the
//! session's time to live, so there is nothing to sweep.

use crate::system::System;
use crate::store::{Age, Core, Format, Storage, Stored, SweepBatch, Unread};
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

    fn read<S: System>(&self, _core: &Core<S>, name: &str, limit: u64) -> Result<Stored<()>, Unread> {
        match self.kv.get(name, limit) {
            Ok(Some(KvEntry { value, ttl_ms })) => Ok(Stored { content: value, age: Age::ExpiresIn(ttl_ms), opened: () }),
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
                Ok(true) => Ok(()),
                Ok(false) => Err(Error::AlreadyExists),
                Err(e) => Err(io("add", name, e)),
            }
        } else {
            match self.kv.set_if_present(name, content, ttl_ms) {
                Ok(true) => Ok(()),
                Ok(false) => Err(Error::NotFound),
                Err(e) => Err(io("replace", name, e)),
            }
        }
    }

    fn exists(&self, name: &str) -> Result<bool, Error> {
        self.kv.exists(name).map_err(|e| io("check", name, e))
    }

    fn remove(&self, name: &str) -> Result<bool, Error> {
        self.kv.delete(name).map_err(|e| io("delete", name, e))
    }

    /// Only an entry without a TTL is ever judged expired here; no
    /// key-value call deletes a key only if unchanged, so this is a delete.
    fn remove_read<S: System>(&self, _core: &Core<S>, name: &str, _opened: &()) -> Result<bool, Error> {
        self.remove(name)
    }

    /// The store drops expired keys by their TTL: nothing to sweep.
    fn sweep<S: System>(&self, _core: &Core<S>, _cursor: Option<&str>, _upto: Option<&str>, _budget_nanos: Option<u64>) -> Result<SweepBatch, Error> {
        Ok(SweepBatch::default())
    }
}
