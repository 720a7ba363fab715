//! [`KeyValue`] over the host's `sessionbox:store/kv` import: each method
//! is the import's function of the same name.

use super::exports::sessionbox::store::kv as wit;
use crate::store::{Format, KeyPage, KeyValue, Kv, KvEntry, KvError};
use std::cell::OnceCell;

/// The host's key-value store.
pub struct WasiKv;

thread_local! {
    /// The store's format, asked once per instance.
    static FORMAT: OnceCell<Format> = const { OnceCell::new() };
}

/// Sessions in the host's key-value store, in the format it names.
pub fn storage() -> Result<Kv<WasiKv>, String> {
    let format = FORMAT.with(|cell| {
        *cell.get_or_init(|| match wit::format() {
            wit::ValueFormat::Signed => Format::Signed,
            wit::ValueFormat::DjangoPickle => Format::DjangoPickle,
            wit::ValueFormat::DjangoDb => Format::DjangoDb,
            wit::ValueFormat::DjangoCachedDb => Format::DjangoCachedDb,
        })
    });
    Ok(Kv::new(WasiKv, format))
}

impl From<wit::Error> for KvError {
    fn from(e: wit::Error) -> KvError {
        match e {
            wit::Error::TooLarge => KvError::TooLarge,
            wit::Error::WrongType => KvError::WrongType,
            wit::Error::AccessDenied(why) => KvError::AccessDenied(why),
            wit::Error::Other(why) => KvError::Other(why),
        }
    }
}

impl KeyValue for WasiKv {
    fn get(&self, key: &str, max_len: u64) -> Result<Option<KvEntry>, KvError> {
        Ok(wit::get(key, max_len)?.map(|e| KvEntry { value: e.value, ttl_ms: e.ttl_ms }))
    }

    fn set_if_absent(&self, key: &str, value: &[u8], ttl_ms: Option<u64>) -> Result<bool, KvError> {
        Ok(wit::set_if_absent(key, value, ttl_ms)?)
    }

    fn set_if_present(&self, key: &str, value: &[u8], ttl_ms: Option<u64>) -> Result<bool, KvError> {
        Ok(wit::set_if_present(key, value, ttl_ms)?)
    }

    fn delete(&self, key: &str) -> Result<bool, KvError> {
        Ok(wit::delete(key)?)
    }

    fn exists(&self, key: &str) -> Result<bool, KvError> {
        Ok(wit::exists(key)?)
    }

    fn set_if_equal(&self, key: &str, expected: &[u8], value: &[u8], ttl_ms: Option<u64>) -> Result<bool, KvError> {
        Ok(wit::set_if_equal(key, expected, value, ttl_ms)?)
    }

    fn set_ttl(&self, key: &str, expected: &[u8], ttl_ms: Option<u64>) -> Result<bool, KvError> {
        Ok(wit::set_ttl(key, expected, ttl_ms)?)
    }

    fn keys(&self, prefix: &str, cursor: Option<&str>, count: u32) -> Result<KeyPage, KvError> {
        let page = wit::keys(prefix, cursor, count)?;
        Ok(KeyPage { keys: page.keys, cursor: page.cursor })
    }
}
