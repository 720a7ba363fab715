//! Django's `cached_db` session engine: a cache in front of the database.
//! [`CachedDbKv`] joins two providers into one: names with Django's cache
//! prefix (`django.contrib.sessions.cached_db<key>`) go to the cache, the
//! others (bare session keys) to the database. The component does the rest
//! in the [`Format::DjangoCachedDb`] format: it reads the cache, else the
//! database and fills the cache; it writes the database, then the cache;
//! it deletes both (see the WIT's `value-format`).

use crate::kv::{Format, KeyPage, KeyValue, KvEntry, KvError};
use sessionbox_guest::DJANGO_CACHED_DB_KEY_PREFIX;
use std::sync::Arc;

/// Django's `cached_db`: `db` (an SQL provider, or any provider keeping
/// Django's signed text under bare keys) behind `cache` (a provider in
/// Django's cache format: Redis with
/// [`RedisFormat::Django`](crate::kv::redis::RedisFormat::Django), or
/// [`MemoryKv`](crate::kv::MemoryKv)).
pub struct CachedDbKv {
    db: Arc<dyn KeyValue + Send + Sync>,
    cache: Arc<dyn KeyValue + Send + Sync>,
}

impl CachedDbKv {
    /// The database `db` with the cache `cache` in front of it.
    pub fn new(db: impl KeyValue + Send + Sync + 'static, cache: impl KeyValue + Send + Sync + 'static) -> CachedDbKv {
        CachedDbKv { db: Arc::new(db), cache: Arc::new(cache) }
    }

    /// Which provider holds `name`.
    fn route(&self, name: &str) -> &dyn KeyValue {
        if name.starts_with(DJANGO_CACHED_DB_KEY_PREFIX) {
            &*self.cache
        } else {
            &*self.db
        }
    }
}

impl std::fmt::Debug for CachedDbKv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedDbKv").finish_non_exhaustive()
    }
}

impl KeyValue for CachedDbKv {
    fn format(&self) -> Format {
        Format::DjangoCachedDb
    }
    fn get(&self, key: &str, max_len: u64) -> Result<Option<KvEntry>, KvError> {
        self.route(key).get(key, max_len)
    }
    fn set_if_absent(&self, key: &str, value: &[u8], ttl_ms: Option<u64>) -> Result<bool, KvError> {
        self.route(key).set_if_absent(key, value, ttl_ms)
    }
    fn set_if_present(&self, key: &str, value: &[u8], ttl_ms: Option<u64>) -> Result<bool, KvError> {
        self.route(key).set_if_present(key, value, ttl_ms)
    }
    fn delete(&self, key: &str) -> Result<bool, KvError> {
        self.route(key).delete(key)
    }
    fn exists(&self, key: &str) -> Result<bool, KvError> {
        self.route(key).exists(key)
    }
    fn set_if_equal(&self, key: &str, expected: &[u8], value: &[u8], ttl_ms: Option<u64>) -> Result<bool, KvError> {
        self.route(key).set_if_equal(key, expected, value, ttl_ms)
    }
    fn set_ttl(&self, key: &str, expected: &[u8], ttl_ms: Option<u64>) -> Result<bool, KvError> {
        self.route(key).set_ttl(key, expected, ttl_ms)
    }
    /// The database's keys: every session has its row there.
    fn keys(&self, prefix: &str, cursor: Option<&str>, count: u32) -> Result<KeyPage, KvError> {
        self.db.keys(prefix, cursor, count)
    }
    /// The database's expired rows (the cache drops its entries itself).
    fn clear_expired(&self) -> Result<u64, KvError> {
        self.db.clear_expired()
    }
    fn drops_expired(&self) -> bool {
        self.db.drops_expired()
    }
}
