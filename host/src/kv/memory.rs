//! [`MemoryKv`]: sessions in this process's memory.

use super::{Format, KeyPage, KeyValue, KvEntry, KvError};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A key-value provider in memory: for tests, and for embedders who keep
/// sessions only as long as the process runs. Keys expire by their TTL
/// (an expired key reads as absent and is dropped); every 1024 writes the
/// expired keys are dropped in one pass, so memory follows the live ones.
///
/// ```
/// use sessionbox::kv::MemoryKv;
/// use sessionbox::{Options, Settings, Store};
///
/// let store = Store::open_kv(MemoryKv::new(), Settings::new("a long random secret"), Options::default())?;
/// let mut session = store.session(None);
/// session.insert("user_id", 42)?;
/// session.save(false)?;
/// assert!(store.expires_by_itself());
/// # Ok::<(), sessionbox::Error>(())
/// ```
pub struct MemoryKv {
    format: Format,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    entries: HashMap<String, Value>,
    writes_since_purge: u32,
}

struct Value {
    bytes: Vec<u8>,
    expires: Option<Instant>,
}

impl Value {
    fn live(&self, now: Instant) -> bool {
        self.expires.is_none_or(|at| at > now)
    }
}

/// The format and how many keys it holds: never a key or a value (a key is
/// a user's credential).
impl std::fmt::Debug for MemoryKv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryKv").field("format", &self.format).field("entries", &self.lock().entries.len()).finish()
    }
}

/// Writes between two passes that drop expired keys.
const PURGE_EVERY: u32 = 1024;

impl Default for MemoryKv {
    fn default() -> MemoryKv {
        MemoryKv::new()
    }
}

impl MemoryKv {
    /// An empty store of sessions in Django's signed format.
    pub fn new() -> MemoryKv {
        MemoryKv::with_format(Format::Signed)
    }

    /// An empty store of sessions in `format`.
    pub fn with_format(format: Format) -> MemoryKv {
        MemoryKv { format, state: Mutex::new(State::default()) }
    }

    /// How many keys are live now.
    pub fn len(&self) -> usize {
        let now = Instant::now();
        self.lock().entries.values().filter(|v| v.live(now)).count()
    }

    /// Whether no key is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves the map whole:
        // every change below is one insert or remove.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Sets `key` when `when(is_live)` says so; whether it was set.
    fn set(&self, key: &str, value: &[u8], ttl_ms: Option<u64>, when: impl FnOnce(bool) -> bool) -> bool {
        let now = Instant::now();
        let mut state = self.lock();
        let live = state.entries.get(key).is_some_and(|v| v.live(now));
        if !when(live) {
            return false;
        }
        let expires = ttl_ms.map(|ms| now.checked_add(Duration::from_millis(ms)).unwrap_or(now + Duration::from_secs(100 * 365 * 86_400)));
        state.entries.insert(key.to_owned(), Value { bytes: value.to_vec(), expires });
        state.writes_since_purge += 1;
        if state.writes_since_purge >= PURGE_EVERY {
            state.writes_since_purge = 0;
            state.entries.retain(|_, v| v.live(now));
        }
        true
    }
}

impl KeyValue for MemoryKv {
    fn format(&self) -> Format {
        self.format
    }

    fn get(&self, key: &str, max_len: u64) -> Result<Option<KvEntry>, KvError> {
        let now = Instant::now();
        let mut state = self.lock();
        let Some(value) = state.entries.get(key) else { return Ok(None) };
        if !value.live(now) {
            state.entries.remove(key);
            return Ok(None);
        }
        if value.bytes.len() as u64 > max_len {
            return Err(KvError::TooLarge);
        }
        // Whole milliseconds left, at least 1 while live (as Redis' PTTL).
        let ttl_ms = value.expires.map(|at| u64::try_from(at.duration_since(now).as_millis()).unwrap_or(u64::MAX).max(1));
        Ok(Some(KvEntry { value: value.bytes.clone(), ttl_ms }))
    }

    fn set_if_absent(&self, key: &str, value: &[u8], ttl_ms: Option<u64>) -> Result<bool, KvError> {
        Ok(self.set(key, value, ttl_ms, |live| !live))
    }

    fn set_if_present(&self, key: &str, value: &[u8], ttl_ms: Option<u64>) -> Result<bool, KvError> {
        Ok(self.set(key, value, ttl_ms, |live| live))
    }

    fn delete(&self, key: &str) -> Result<bool, KvError> {
        let now = Instant::now();
        Ok(self.lock().entries.remove(key).is_some_and(|v| v.live(now)))
    }

    fn exists(&self, key: &str) -> Result<bool, KvError> {
        let now = Instant::now();
        Ok(self.lock().entries.get(key).is_some_and(|v| v.live(now)))
    }

    /// Compared and set under the one lock: exact.
    fn set_if_equal(&self, key: &str, expected: &[u8], value: &[u8], ttl_ms: Option<u64>) -> Result<bool, KvError> {
        let now = Instant::now();
        let mut state = self.lock();
        if !state.entries.get(key).is_some_and(|v| v.live(now) && v.bytes == expected) {
            return Ok(false);
        }
        let expires = ttl_ms.map(|ms| now.checked_add(Duration::from_millis(ms)).unwrap_or(now + Duration::from_secs(100 * 365 * 86_400)));
        state.entries.insert(key.to_owned(), Value { bytes: value.to_vec(), expires });
        Ok(true)
    }

    fn set_ttl(&self, key: &str, expected: &[u8], ttl_ms: Option<u64>) -> Result<bool, KvError> {
        let now = Instant::now();
        let mut state = self.lock();
        match state.entries.get_mut(key) {
            Some(v) if v.live(now) && v.bytes == expected => {
                v.expires = ttl_ms.map(|ms| now.checked_add(Duration::from_millis(ms)).unwrap_or(now + Duration::from_secs(100 * 365 * 86_400)));
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// Pages in key order; the cursor is the last key of the page.
    fn keys(&self, prefix: &str, cursor: Option<&str>, count: u32) -> Result<KeyPage, KvError> {
        let now = Instant::now();
        let count = count.max(1) as usize;
        let state = self.lock();
        let mut keys: Vec<String> = state
            .entries
            .iter()
            .filter(|(k, v)| v.live(now) && k.starts_with(prefix) && cursor.is_none_or(|c| k.as_str() > c))
            .map(|(k, _)| k.clone())
            .collect();
        keys.sort();
        let more = keys.len() > count;
        keys.truncate(count);
        let cursor = if more { keys.last().cloned() } else { None };
        Ok(KeyPage { keys, cursor })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_expire_by_their_ttl_and_conditional_sets_see_only_live_keys() {
        let kv = MemoryKv::new();
        assert!(kv.set_if_absent("a", b"1", Some(30)).unwrap());
        assert!(!kv.set_if_absent("a", b"2", None).unwrap());
        assert!(kv.set_if_present("a", b"3", Some(30)).unwrap());
        let entry = kv.get("a", 10).unwrap().unwrap();
        assert_eq!(entry.value, b"3");
        assert!(matches!(entry.ttl_ms, Some(1..=30)), "{entry:?}");
        assert_eq!(kv.get("a", 0), Err(KvError::TooLarge));
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(kv.get("a", 10).unwrap(), None);
        assert!(!kv.exists("a").unwrap());
        assert!(!kv.set_if_present("a", b"4", None).unwrap(), "an expired key is absent");
        assert!(kv.set_if_absent("a", b"5", None).unwrap());
        assert!(kv.delete("a").unwrap());
        assert!(!kv.delete("a").unwrap());
        assert!(kv.is_empty());
    }

    #[test]
    fn debug_shows_no_key_and_no_value() {
        let kv = MemoryKv::new();
        kv.set_if_absent("sessionidsecretkey0123", b"the value", None).unwrap();
        let shown = format!("{kv:?}");
        assert!(!shown.contains("secretkey") && !shown.contains("the value"), "{shown}");
        assert_eq!(shown, "MemoryKv { format: Signed, entries: 1 }");
    }

    #[test]
    fn expired_keys_are_dropped_as_writes_go_on() {
        let kv = MemoryKv::new();
        for i in 0..PURGE_EVERY - 1 {
            kv.set_if_absent(&format!("k{i}"), b"x", Some(1)).unwrap();
        }
        std::thread::sleep(Duration::from_millis(5));
        kv.set_if_absent("live", b"x", None).unwrap();
        // The write that reached the count purged every expired key.
        assert!(kv.lock().entries.len() <= 2, "{}", kv.lock().entries.len());
        assert_eq!(kv.len(), 1);
    }
}
