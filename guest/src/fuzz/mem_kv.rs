//! An in-memory [`KeyValue`], so the key-value backend runs natively (unit
//! tests, the fuzzer) the way it runs over the host's import.

use crate::store::{KeyPage, KeyValue, KvEntry, KvError};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

/// What a key holds: a plain value with the TTL it was given (time stands
/// still here), or another type (a Redis list) the store cannot read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemValue {
    /// Bytes, and the TTL in milliseconds they were set with.
    Plain(Vec<u8>, Option<u64>),
    /// Some other type: `get` fails with `WrongType`.
    Other,
}

/// A key-value store held in memory; clones share it.
#[derive(Default, Clone)]
pub struct MemKv {
    keys: Rc<RefCell<BTreeMap<String, MemValue>>>,
}

impl MemKv {
    /// What `key` holds.
    pub fn value(&self, key: &str) -> Option<MemValue> {
        self.keys.borrow().get(key).cloned()
    }

    /// Puts `value` under `key`.
    pub fn insert(&self, key: &str, value: MemValue) {
        self.keys.borrow_mut().insert(key.to_owned(), value);
    }

    /// All keys, in order.
    pub fn keys(&self) -> Vec<String> {
        self.keys.borrow().keys().cloned().collect()
    }

    fn set(&self, key: &str, value: &[u8], ttl_ms: Option<u64>, present: bool) -> bool {
        let mut keys = self.keys.borrow_mut();
        if keys.contains_key(key) != present {
            return false;
        }
        keys.insert(key.to_owned(), MemValue::Plain(value.to_vec(), ttl_ms));
        true
    }
}

impl KeyValue for MemKv {
    fn get(&self, key: &str, max_len: u64) -> Result<Option<KvEntry>, KvError> {
        match self.keys.borrow().get(key) {
            None => Ok(None),
            Some(MemValue::Other) => Err(KvError::WrongType),
            Some(MemValue::Plain(value, _)) if value.len() as u64 > max_len => Err(KvError::TooLarge),
            Some(MemValue::Plain(value, ttl_ms)) => Ok(Some(KvEntry { value: value.clone(), ttl_ms: *ttl_ms })),
        }
    }

    fn set_if_absent(&self, key: &str, value: &[u8], ttl_ms: Option<u64>) -> Result<bool, KvError> {
        Ok(self.set(key, value, ttl_ms, false))
    }

    fn set_if_present(&self, key: &str, value: &[u8], ttl_ms: Option<u64>) -> Result<bool, KvError> {
        Ok(self.set(key, value, ttl_ms, true))
    }

    fn delete(&self, key: &str) -> Result<bool, KvError> {
        Ok(self.keys.borrow_mut().remove(key).is_some())
    }

    fn exists(&self, key: &str) -> Result<bool, KvError> {
        Ok(self.keys.borrow().contains_key(key))
    }

    fn set_if_equal(&self, key: &str, expected: &[u8], value: &[u8], ttl_ms: Option<u64>) -> Result<bool, KvError> {
        let mut keys = self.keys.borrow_mut();
        match keys.get(key) {
            Some(MemValue::Plain(now, _)) if now == expected => {
                keys.insert(key.to_owned(), MemValue::Plain(value.to_vec(), ttl_ms));
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    fn set_ttl(&self, key: &str, expected: &[u8], ttl_ms: Option<u64>) -> Result<bool, KvError> {
        match self.keys.borrow_mut().get_mut(key) {
            Some(MemValue::Plain(value, ttl)) if value == expected => {
                *ttl = ttl_ms;
                Ok(true)
            }
            Some(MemValue::Other) => Err(KvError::WrongType),
            _ => Ok(false),
        }
    }

    /// Pages in key order; the cursor is the last key of the page.
    fn keys(&self, prefix: &str, cursor: Option<&str>, count: u32) -> Result<KeyPage, KvError> {
        let keys = self.keys.borrow();
        let mut page: Vec<String> = keys
            .keys()
            .filter(|k| k.starts_with(prefix) && cursor.is_none_or(|c| k.as_str() > c))
            .take(count.max(1) as usize + 1)
            .cloned()
            .collect();
        let more = page.len() > count.max(1) as usize;
        page.truncate(count.max(1) as usize);
        let cursor = if more { page.last().cloned() } else { None };
        Ok(KeyPage { keys: page, cursor })
    }
}
