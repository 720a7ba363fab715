//! [`Session`]: Django's `SessionBase` over a [`Store`]: a lazily loaded
//! dict with accessed/modified flags, expiry helpers and key cycling.

use crate::error::{Error, Result};
use crate::expiry::Expiry;
use crate::data::{Data, Loaded};
use crate::store::Store;
use serde_json::Value;
use sessionbox_guest::expiry::{self as rules, EXPIRY_KEY};
use sessionbox_guest::{key, Time};
use std::time::SystemTime;

/// Django's `TEST_COOKIE_NAME`.
pub const TEST_COOKIE_NAME: &str = "testcookie";
/// Django's `TEST_COOKIE_VALUE`.
pub const TEST_COOKIE_VALUE: &str = "worked";

/// One user's session, loaded on first use.
///
/// ```
/// use sessionbox::{Settings, Store};
/// # let tmp = tempfile::tempdir().unwrap();
/// # let sessions = tmp.path().join("sessions");
/// let store = Store::open(&sessions, Settings::new("a long random secret"))?;
/// let mut session = store.session(None);
/// session.insert("user_id", 42)?;
/// session.save(false)?; // creates it: the key is new
/// let key = session.key().unwrap().to_owned();
/// assert_eq!(store.session(Some(&key)).get("user_id")?, Some(42.into()));
/// # Ok::<(), sessionbox::Error>(())
/// ```
#[derive(Clone)]
pub struct Session {
    store: Store,
    key: Option<String>,
    cache: Option<Data>,
    /// The stored session's expiry as the last load reported it.
    loaded_expiry: Option<SystemTime>,
    accessed: bool,
    modified: bool,
}

/// Neither the key (the user's credential) nor the data (a login hash, …)
/// appears: `Debug` output ends up in logs and traces.
impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("key", &self.key.as_ref().map(|_| "<redacted>"))
            .field("loaded", &self.cache.is_some())
            .field("accessed", &self.accessed)
            .field("modified", &self.modified)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// A Django-style [`Session`] for `key` (`None` for a new session).
    pub fn session(&self, key: Option<&str>) -> Session {
        Session::new(self, key)
    }
}

impl Session {
    /// A session for `key`; a key shorter than 8 characters counts as no key.
    pub fn new(store: &Store, key: Option<&str>) -> Session {
        let key = key.filter(|k| k.len() >= key::MIN_KEY_LEN).map(str::to_owned);
        Session { store: store.clone(), key, cache: None, loaded_expiry: None, accessed: false, modified: false }
    }

    /// The session key, if the session has one (read-only: it changes only by
    /// saving, cycling or flushing, and is cleared by loading a session that is
    /// missing, expired, tampered or corrupt).
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// Whether the data was read or written.
    pub fn accessed(&self) -> bool {
        self.accessed
    }

    /// Whether the data was changed since it was loaded.
    pub fn modified(&self) -> bool {
        self.modified
    }

    /// The data, loading it on first use. A missing, expired, tampered or
    /// corrupt session loads as empty and loses its key.
    fn data(&mut self) -> Result<&mut Data> {
        self.accessed = true;
        if self.cache.is_none() {
            let data = match &self.key {
                None => Data::new(),
                Some(key) => self.load_key(&key.clone())?,
            };
            self.cache = Some(data);
        }
        Ok(self.cache.get_or_insert_with(Data::new))
    }

    fn load_key(&mut self, key: &str) -> Result<Data> {
        let loaded = self.store.load(key)?;
        self.loaded_expiry = loaded.expires_at().copied();
        let found = match loaded {
            Loaded::Found { data, .. } => return Ok(data),
            Loaded::BadSignature => {
                log::warn!(target: "sessionbox::security", "Session data corrupted: bad signature");
                None
            }
            Loaded::Corrupt => {
                log::warn!(target: "sessionbox", "Session data could not be decoded; starting a new session");
                None
            }
            Loaded::Missing | Loaded::Expired => None,
        };
        self.key = found;
        Ok(Data::new())
    }

    /// Reads the data from the store now (Django's `load`), without touching
    /// what this session holds in memory. A session that is gone loses its key.
    pub fn load(&mut self) -> Result<Data> {
        match self.key.clone() {
            Some(key) => self.load_key(&key),
            None => Ok(Data::new()),
        }
    }

    /// The value under `k`.
    pub fn get(&mut self, k: &str) -> Result<Option<Value>> {
        Ok(self.data()?.get(k).cloned())
    }

    /// Whether `k` is set.
    pub fn contains_key(&mut self, k: &str) -> Result<bool> {
        Ok(self.data()?.contains_key(k))
    }

    /// Sets `k` to `v`; returns the previous value.
    pub fn insert(&mut self, k: impl Into<String>, v: impl Into<Value>) -> Result<Option<Value>> {
        let old = self.data()?.insert(k.into(), v.into());
        self.modified = true;
        Ok(old)
    }

    /// Removes `k` (Django's `del session[k]`, which raises `KeyError` when
    /// missing: here `None`, and the session stays unmodified).
    pub fn remove(&mut self, k: &str) -> Result<Option<Value>> {
        self.pop(k)
    }

    /// Removes and returns `k`; modified only when `k` was there.
    pub fn pop(&mut self, k: &str) -> Result<Option<Value>> {
        let old = self.data()?.shift_remove(k);
        self.modified |= old.is_some();
        Ok(old)
    }

    /// Removes and returns `k`, or `default` when missing (then unmodified).
    pub fn pop_or(&mut self, k: &str, default: impl Into<Value>) -> Result<Value> {
        Ok(self.pop(k)?.unwrap_or_else(|| default.into()))
    }

    /// The value under `k`, after setting it to `v` if it was missing.
    pub fn setdefault(&mut self, k: &str, v: impl Into<Value>) -> Result<Value> {
        if let Some(existing) = self.data()?.get(k) {
            return Ok(existing.clone());
        }
        let v = v.into();
        self.data()?.insert(k.to_owned(), v.clone());
        self.modified = true;
        Ok(v)
    }

    /// Sets every key of `other`.
    pub fn update(&mut self, other: impl IntoIterator<Item = (String, Value)>) -> Result<()> {
        self.data()?.extend(other);
        self.modified = true;
        Ok(())
    }

    /// Empties the data without loading it.
    pub fn clear(&mut self) {
        self.cache = Some(Data::new());
        self.accessed = true;
        self.modified = true;
    }

    /// The keys, in insertion order.
    pub fn keys(&mut self) -> Result<Vec<String>> {
        Ok(self.data()?.keys().cloned().collect())
    }

    /// The values, in insertion order.
    pub fn values(&mut self) -> Result<Vec<Value>> {
        Ok(self.data()?.values().cloned().collect())
    }

    /// The key/value pairs, in insertion order.
    pub fn items(&mut self) -> Result<Vec<(String, Value)>> {
        Ok(self.data()?.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
    }

    /// No key and no data held (does not load).
    pub fn is_empty(&self) -> bool {
        self.key.is_none() && self.cache.as_ref().is_none_or(Data::is_empty)
    }

    /// Sets when the session expires (Django's `set_expiry`).
    pub fn set_expiry(&mut self, expiry: Expiry) -> Result<()> {
        match expiry.value() {
            None => self.remove(EXPIRY_KEY).map(drop),
            Some(value) => self.insert(EXPIRY_KEY, value).map(drop),
        }
    }


    /// When the session expires, counted from now (Django's
    /// `get_expiry_date`), within the years 1 to 9999 that a Python
    /// `datetime` holds: an expiry past [`latest_expiry`](crate::expiry::latest_expiry)
    /// (say `Expiry::Seconds(i64::MAX)` or `Infinity`, where Django raises
    /// `OverflowError`) is that moment, one before year 1 is its start.
    pub fn expiry_date(&mut self) -> Result<SystemTime> {
        let now = Time::from_system_time(SystemTime::now());
        let cookie_age = self.store.settings().cookie_age;
        Ok(within_datetime(rules::expires_at(self.data()?.get(EXPIRY_KEY), now, cookie_age)))
    }

    /// When the stored session itself expires, as the store reported it when
    /// this session was loaded (the `expires_at` of [`Loaded`]'s `Found`): its
    /// `_session_expiry` read against its file's last write, or that write
    /// plus `cookie_age`; [`latest_expiry`](crate::expiry::latest_expiry) when it
    /// never expires. `None` before the data was loaded, and when no live
    /// session was found. It describes the file as loaded: a later `save`,
    /// `create` or `cycle_key` does not change it, and `flush` clears it.
    /// Unlike [`expiry_date`](Self::expiry_date) (Django's
    /// `get_expiry_date`), which counts from now: the expiry a save now gives.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.loaded_expiry
    }

    /// Whole seconds until the session expires (Django's `get_expiry_age`).
    pub fn expiry_age(&mut self) -> Result<i64> {
        let now = Time::from_system_time(SystemTime::now());
        let cookie_age = self.store.settings().cookie_age;
        Ok(rules::age(rules::expires_at(self.data()?.get(EXPIRY_KEY), now, cookie_age), now))
    }

    /// Whether the session cookie should expire when the browser closes
    /// (Django's `get_expire_at_browser_close`, with the store's
    /// [`Options::expire_at_browser_close`](crate::Options) as the default).
    pub fn expire_at_browser_close(&mut self) -> Result<bool> {
        let default = self.store.options().expire_at_browser_close;
        self.expire_at_browser_close_or(default)
    }

    /// [`expire_at_browser_close`](Self::expire_at_browser_close) with
    /// `default` for a session that sets no expiry of its own (a web layer's
    /// own `SESSION_EXPIRE_AT_BROWSER_CLOSE`).
    pub fn expire_at_browser_close_or(&mut self, default: bool) -> Result<bool> {
        Ok(match self.data()?.get(EXPIRY_KEY) {
            None | Some(Value::Null) => default,
            // Python's `expiry == 0`, which `False` and `0.0` also meet.
            Some(Value::Bool(b)) => !b,
            Some(v) => v.as_f64() == Some(0.0),
        })
    }

    /// Saves the data: under a fresh key when there is none, else over the
    /// existing session ([`Error::NotFound`] if it was deleted elsewhere; with
    /// `must_create`, [`Error::AlreadyExists`] if it exists).
    pub fn save(&mut self, must_create: bool) -> Result<()> {
        let Some(key) = self.key.clone() else { return self.create() };
        if must_create && self.cache.is_none() {
            self.cache = Some(Data::new());
        }
        self.with_data(|store, data| store.save(&key, data, must_create))
    }

    /// Runs `f` on the store and the (loaded) data, without cloning the data.
    fn with_data<T>(&mut self, f: impl FnOnce(&Store, &Data) -> Result<T>) -> Result<T> {
        let data = std::mem::take(self.data()?);
        let result = f(&self.store, &data);
        self.cache = Some(data);
        result
    }

    /// Saves the data under a fresh key.
    pub fn create(&mut self) -> Result<()> {
        if self.cache.is_none() {
            self.cache = Some(Data::new());
        }
        self.key = Some(self.with_data(|store, data| store.create(data))?);
        self.modified = true;
        Ok(())
    }

    /// Moves the data to a new key and deletes the old session (call at
    /// login: the session-fixation defence). Loads the data first if needed.
    pub fn cycle_key(&mut self) -> Result<()> {
        let old = self.key.clone();
        self.key = Some(self.with_data(|store, data| match &old {
            Some(old) => store.cycle_key(old, data),
            None => store.create(data),
        })?);
        // As Django's `create`: the new key must reach the client.
        self.modified = true;
        Ok(())
    }

    /// Deletes the session file, empties the data and forgets the key
    /// (logout). No new file is written.
    pub fn flush(&mut self) -> Result<()> {
        self.clear();
        self.delete()?;
        self.key = None;
        self.loaded_expiry = None;
        Ok(())
    }

    /// Deletes this session's file (keeps the data in memory).
    pub fn delete(&mut self) -> Result<()> {
        match &self.key {
            Some(key) if key::is_valid(key) => self.store.delete(key).map(drop),
            // A key with bad characters can name no file: nothing to delete.
            _ => Ok(()),
        }
    }

    /// Whether a session `key` exists in the store.
    pub fn exists(&self, key: &str) -> Result<bool> {
        match self.store.exists(key) {
            Err(Error::InvalidKey) => Ok(false),
            other => other,
        }
    }

    /// Sets the test cookie value (Django's `set_test_cookie`).
    pub fn set_test_cookie(&mut self) -> Result<()> {
        self.insert(TEST_COOKIE_NAME, TEST_COOKIE_VALUE).map(drop)
    }

    /// Whether the test cookie value is set.
    pub fn test_cookie_worked(&mut self) -> Result<bool> {
        Ok(self.get(TEST_COOKIE_NAME)?.as_ref().and_then(Value::as_str) == Some(TEST_COOKIE_VALUE))
    }

    /// Removes the test cookie value.
    pub fn delete_test_cookie(&mut self) -> Result<()> {
        self.remove(TEST_COOKIE_NAME).map(drop)
    }
}

/// Seconds from 0001-01-01T00:00:00Z (Python's `datetime.min`) to the epoch.
const DATETIME_MIN_SECS: i64 = 62_135_596_800;

/// `t` as a `SystemTime`, clamped to Python's `datetime` range (years 1 to
/// 9999; a moment past 9999 is [`latest_expiry`](crate::expiry::latest_expiry)): `Time` spans
/// `i64` seconds, beyond what `SystemTime` arithmetic takes without
/// panicking.
fn within_datetime(t: Time) -> SystemTime {
    let latest = crate::expiry::latest_expiry();
    // Past the last second of 9999; a moment inside it stays exact.
    if t.secs > Time::from_system_time(latest).secs {
        latest
    } else if t.secs < -DATETIME_MIN_SECS {
        std::time::UNIX_EPOCH - std::time::Duration::from_secs(DATETIME_MIN_SECS as u64)
    } else {
        t.to_system_time()
    }
}
