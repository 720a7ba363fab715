//! Key-value storage for sessions: the one seam a [`Store`](crate::Store)
//! opens on besides a directory.
//!
//! A provider implements [`KeyValue`], the same trait the component's
//! session logic calls (in the component, through the `sessionbox:store/kv`
//! import, which [`import`] serves from the instance's provider). Five calls,
//! each on one key; the provider stores bytes and expires keys by their TTL,
//! and the component does everything else (keys, signing or pickling,
//! expiry, create-if-absent, update-if-present).
//!
//! Providers here: [`MemoryKv`] (one process, for tests and embedders who
//! want no server) and, with the `redis` feature, [`redis::RedisKv`]
//! (Redis, Valkey or a Redis Cluster). A provider of your own is one type
//! and one `impl` (docs/library.md, "Your own storage"):
//!
//! ```
//! use sessionbox::kv::{KeyValue, KvEntry, KvError};
//! use sessionbox::{Options, Settings, Store};
//! use std::collections::HashMap;
//! use std::sync::Mutex;
//!
//! /// Sessions in a map, never expiring (a real provider honours `ttl_ms`).
//! #[derive(Default)]
//! struct MapKv(Mutex<HashMap<String, Vec<u8>>>);
//!
//! impl KeyValue for MapKv {
//!     fn get(&self, key: &str, max_len: u64) -> Result<Option<KvEntry>, KvError> {
//!         match self.0.lock().unwrap().get(key) {
//!             Some(value) if value.len() as u64 > max_len => Err(KvError::TooLarge),
//!             Some(value) => Ok(Some(KvEntry { value: value.clone(), ttl_ms: None })),
//!             None => Ok(None),
//!         }
//!     }
//!     fn set_if_absent(&self, key: &str, value: &[u8], _ttl_ms: Option<u64>) -> Result<bool, KvError> {
//!         let mut map = self.0.lock().unwrap();
//!         if map.contains_key(key) {
//!             return Ok(false);
//!         }
//!         map.insert(key.to_owned(), value.to_vec());
//!         Ok(true)
//!     }
//!     fn set_if_present(&self, key: &str, value: &[u8], _ttl_ms: Option<u64>) -> Result<bool, KvError> {
//!         Ok(self.0.lock().unwrap().get_mut(key).map(|v| *v = value.to_vec()).is_some())
//!     }
//!     fn delete(&self, key: &str) -> Result<bool, KvError> {
//!         Ok(self.0.lock().unwrap().remove(key).is_some())
//!     }
//!     fn exists(&self, key: &str) -> Result<bool, KvError> {
//!         Ok(self.0.lock().unwrap().contains_key(key))
//!     }
//! }
//!
//! let store = Store::open_kv(MapKv::default(), Settings::new("a long random secret"), Options::default())?;
//! let key = store.create(&sessionbox::parse_data(r#"{"user_id": 42}"#)?)?;
//! assert_eq!(store.session(Some(&key)).get("user_id")?, Some(42.into()));
//! # Ok::<(), sessionbox::Error>(())
//! ```

mod cached_db;
pub(crate) mod import;
mod memory;
#[cfg(feature = "redis")]
pub mod redis;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub mod sql;

pub use cached_db::CachedDbKv;
pub use memory::MemoryKv;
pub use sessionbox_guest::{Format, KeyPage, KeyValue, KvEntry, KvError};

/// The password in the environment variable `var`, for the server `what`
/// ("Redis", "PostgreSQL"). The error never holds the value (`VarError`'s
/// own text prints one that is not UTF-8).
#[cfg(any(feature = "redis", feature = "postgres"))]
pub(crate) fn password_from_env(what: &str, var: &str) -> crate::Result<String> {
    std::env::var(var).map_err(|e| {
        let why = match e {
            std::env::VarError::NotPresent => "is not set",
            std::env::VarError::NotUnicode(_) => "is not UTF-8",
        };
        crate::Error::Config(format!("the {what} password variable ${var} {why}"))
    })
}

/// The password in the file at `path`: its first line, which must not be
/// empty (a secret that was not mounted is an error, not a quiet login
/// without one).
#[cfg(any(feature = "redis", feature = "postgres"))]
pub(crate) fn password_from_file(what: &str, path: &std::path::Path) -> crate::Result<String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| crate::Error::Config(format!("cannot read the {what} password file {}: {e}", path.display())))?;
    match text.lines().next().unwrap_or_default() {
        "" => Err(crate::Error::Config(format!("the {what} password file {} is empty", path.display()))),
        password => Ok(password.to_owned()),
    }
}
