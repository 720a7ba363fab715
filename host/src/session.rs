//! [`Session`]: Django's `SessionBase` over a [`Store`]: a lazily loaded
//! dict with accessed/modified flags, expiry helpers and key cycling.
//!
//! A load keeps the stored JSON text and indexes its top-level keys only;
//! each value is parsed when first read, and a save of unchanged data hands
//! the text back as it came. A request reads a key or three of a session
//! that may hold kilobytes: building the whole map was some 40 % of a 4 KB
//! load.

use crate::error::{Error, Result};
use crate::expiry::Expiry;
use crate::data::{unreadable_as_data, Data, Loaded, MAX_DATA_DEPTH};
use crate::store::{Change, Store};
use indexmap::IndexMap;
use serde_json::Value;
use sessionbox_guest::json;
use std::borrow::Cow;
use std::ops::Range;
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
    /// The data, once loaded.
    cache: Option<Entries>,
    /// The stored session's expiry as the last load reported it.
    loaded_expiry: Option<SystemTime>,
    accessed: bool,
    modified: bool,
    /// What this request changed since the data was loaded, in order: a
    /// save of a stored session applies these to what is stored now
    /// ([`Store::update`]), so a concurrent request's changes to other keys
    /// survive.
    changes: Vec<Change>,
    /// Whether the data in memory came from the stored session (so the
    /// changes above say all this request did to it).
    from_store: bool,
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
        Session { store: store.clone(), key, cache: None, loaded_expiry: None, accessed: false, modified: false, changes: Vec::new(), from_store: false }
    }

    /// The store this session lives in.
    pub fn store(&self) -> &Store {
        &self.store
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
    /// corrupt session loads as empty and loses its key; one nested deeper
    /// than [`MAX_DATA_DEPTH`] is [`Error::InvalidData`], as from
    /// [`Store::load`].
    fn data(&mut self) -> Result<&mut Entries> {
        self.accessed = true;
        if self.cache.is_none() {
            let data = match self.key.clone() {
                None => Entries::default(),
                Some(key) => {
                    let loaded = self.store.load_json(&key)?.map(|json| Entries::read(json).map_err(|e| unreadable_as_data(&key, e)))?;
                    self.from_store = matches!(loaded, Loaded::Found { .. });
                    self.changes.clear();
                    self.found(loaded)
                }
            };
            self.cache = Some(data);
        }
        Ok(self.cache.get_or_insert_with(Entries::default))
    }

    /// The data of what a load found (empty for no live session, which
    /// loses its key), noting its expiry.
    fn found<T: Default>(&mut self, loaded: Loaded<T>) -> T {
        self.loaded_expiry = loaded.expires_at().copied();
        let found = match loaded {
            Loaded::Found { data, .. } => return data,
            // The store logged it to `sessionbox::security`.
            Loaded::BadSignature => None,
            Loaded::Corrupt => {
                log::warn!(target: "sessionbox", "Session data could not be decoded; starting a new session");
                None
            }
            Loaded::Missing | Loaded::Expired => None,
        };
        self.key = found;
        T::default()
    }

    /// Reads the data from the store now (Django's `load`), without touching
    /// what this session holds in memory. A session that is gone loses its key.
    pub fn load(&mut self) -> Result<Data> {
        match self.key.clone() {
            Some(key) => {
                let loaded = self.store.load(&key)?;
                Ok(self.found(loaded))
            }
            None => Ok(Data::new()),
        }
    }

    /// The value under `k`.
    pub fn get(&mut self, k: &str) -> Result<Option<Value>> {
        Ok(self.data()?.value(k)?.cloned())
    }

    /// Whether `k` is set.
    pub fn contains_key(&mut self, k: &str) -> Result<bool> {
        Ok(self.data()?.index.contains_key(k))
    }

    /// Sets `k` to `v`; returns the previous value.
    pub fn insert(&mut self, k: impl Into<String>, v: impl Into<Value>) -> Result<Option<Value>> {
        let (k, v) = (k.into(), v.into());
        let change = Change::Set(k.clone(), json::to_string(&v));
        // Loaded first: a load starts the list of changes afresh.
        let old = self.data()?.insert(k, v);
        self.changes.push(change);
        self.modified = true;
        old
    }

    /// Removes and returns `k` (Django's `pop`, and `del session[k]`, which
    /// raises `KeyError` when missing: here `None`); modified only when `k`
    /// was there.
    pub fn pop(&mut self, k: &str) -> Result<Option<Value>> {
        let old = self.data()?.remove(k)?;
        if old.is_some() {
            self.modified = true;
            self.changes.push(Change::Remove(k.to_owned()));
        }
        Ok(old)
    }

    /// Removes and returns `k`, or `default` when missing (then unmodified).
    pub fn pop_or(&mut self, k: &str, default: impl Into<Value>) -> Result<Value> {
        Ok(self.pop(k)?.unwrap_or_else(|| default.into()))
    }

    /// The value under `k`, after setting it to `v` if it was missing.
    pub fn setdefault(&mut self, k: &str, v: impl Into<Value>) -> Result<Value> {
        if let Some(existing) = self.data()?.value(k)? {
            return Ok(existing.clone());
        }
        let v = v.into();
        self.data()?.insert(k.to_owned(), v.clone())?;
        self.changes.push(Change::Set(k.to_owned(), json::to_string(&v)));
        self.modified = true;
        Ok(v)
    }

    /// Sets every key of `other`.
    pub fn update(&mut self, other: impl IntoIterator<Item = (String, Value)>) -> Result<()> {
        let data = self.data()?;
        let mut changes = Vec::new();
        for (k, v) in other {
            changes.push(Change::Set(k.clone(), json::to_string(&v)));
            data.index.insert(k, Slot::Value(v));
        }
        data.text_is_data = false;
        self.changes.extend(changes);
        self.modified = true;
        Ok(())
    }

    /// Empties the data without loading it.
    pub fn clear(&mut self) {
        self.cache = Some(Entries::default());
        self.accessed = true;
        self.modified = true;
        // Whatever was stored goes, and so do this request's own changes.
        self.changes = vec![Change::Clear];
        self.from_store = self.key.is_some();
    }

    /// The keys, in insertion order.
    pub fn keys(&mut self) -> Result<Vec<String>> {
        Ok(self.data()?.index.keys().cloned().collect())
    }

    /// The values, in insertion order.
    pub fn values(&mut self) -> Result<Vec<Value>> {
        let data = self.data()?;
        data.index.values_mut().map(|slot| slot.value(&data.text).cloned()).collect()
    }

    /// The key/value pairs, in insertion order.
    pub fn items(&mut self) -> Result<Vec<(String, Value)>> {
        let data = self.data()?;
        data.index.iter_mut().map(|(k, slot)| Ok((k.clone(), slot.value(&data.text)?.clone()))).collect()
    }

    /// No key and no data held (does not load).
    pub fn is_empty(&self) -> bool {
        self.key.is_none() && self.cache.as_ref().is_none_or(|data| data.index.is_empty())
    }

    /// Sets when the session expires (Django's `set_expiry`).
    pub fn set_expiry(&mut self, expiry: Expiry) -> Result<()> {
        match expiry.value() {
            None => self.pop(EXPIRY_KEY).map(drop),
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
        Ok(within_datetime(rules::expires_at(self.data()?.value(EXPIRY_KEY)?, now, cookie_age)))
    }

    /// When the stored session itself expires, as the store reported it when
    /// this session was loaded (the `expires_at` of [`Loaded`]'s `Found`;
    /// named apart from [`expiry_date`](Self::expiry_date), which counts from
    /// now): its
    /// `_session_expiry` read against its file's last write, or that write
    /// plus `cookie_age`; [`latest_expiry`](crate::expiry::latest_expiry) when it
    /// never expires. `None` before the data was loaded, and when no live
    /// session was found. It describes the file as loaded: a later `save`,
    /// `create` or `cycle_key` does not change it, and `flush` clears it.
    /// Unlike [`expiry_date`](Self::expiry_date) (Django's
    /// `get_expiry_date`), which counts from now: the expiry a save now gives.
    pub fn stored_expiry(&self) -> Option<SystemTime> {
        self.loaded_expiry
    }

    /// Whole seconds until the session expires (Django's `get_expiry_age`).
    pub fn expiry_age(&mut self) -> Result<i64> {
        let now = Time::from_system_time(SystemTime::now());
        let cookie_age = self.store.settings().cookie_age;
        Ok(rules::age(rules::expires_at(self.data()?.value(EXPIRY_KEY)?, now, cookie_age), now))
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
        Ok(match self.data()?.value(EXPIRY_KEY)? {
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
        // Signed cookies: the session is its key, so every save makes a new
        // one (Django's `signed_cookies` `save`).
        if self.store.is_signed_cookies() {
            // Loaded first: `create` starts from empty data when none is.
            self.data()?;
            return self.create();
        }
        let Some(key) = self.key.clone() else { return self.create() };
        if must_create && self.cache.is_none() {
            self.cache = Some(Entries::default());
        }
        if !must_create && self.from_store {
            // Only what this request changed, onto what is stored now (with
            // no change: what is stored now, saved again with a fresh
            // expiry; never this request's possibly stale copy).
            self.store.update(&key, &self.changes)?;
            self.changes.clear();
            return Ok(());
        }
        self.with_json(|store, json| store.save_json(&key, json, must_create))?;
        self.from_store = true;
        self.changes.clear();
        Ok(())
    }

    /// Extends the stored session's life as a save of unchanged data would,
    /// without rewriting it ([`Store::touch`]): what a web layer that saves
    /// every request does when the request changed nothing. `false` when
    /// there is no stored session (nothing is created).
    pub fn touch(&mut self) -> Result<bool> {
        match &self.key {
            Some(key) if !self.store.is_signed_cookies() => self.store.touch(key),
            _ => Ok(false),
        }
    }

    /// Runs `f` on the store and the (loaded) data as JSON object text: the
    /// text as loaded while it still says what the data holds.
    fn with_json<T>(&mut self, f: impl FnOnce(&Store, &str) -> Result<T>) -> Result<T> {
        self.data()?;
        let json = match &self.cache {
            Some(data) => data.to_json()?,
            None => Cow::Borrowed("{}"),
        };
        f(&self.store, &json)
    }

    /// Saves the data under a fresh key.
    pub fn create(&mut self) -> Result<()> {
        if self.cache.is_none() {
            self.cache = Some(Entries::default());
        }
        self.key = Some(self.with_json(|store, json| store.create_json(json))?);
        self.modified = true;
        self.from_store = true;
        self.changes.clear();
        Ok(())
    }

    /// Moves the data to a new key and deletes the old session (call at
    /// login: the session-fixation defence). Loads the data first if needed.
    pub fn cycle_key(&mut self) -> Result<()> {
        let old = self.key.clone();
        self.key = Some(self.with_json(|store, json| match &old {
            Some(old) => store.cycle_key_json(old, json),
            None => store.create_json(json),
        })?);
        // As Django's `create`: the new key must reach the client.
        self.modified = true;
        self.from_store = true;
        self.changes.clear();
        Ok(())
    }

    /// Deletes the session file, empties the data and forgets the key
    /// (logout). No new file is written.
    pub fn flush(&mut self) -> Result<()> {
        self.clear();
        self.delete()?;
        self.key = None;
        self.loaded_expiry = None;
        self.from_store = false;
        self.changes.clear();
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
        self.pop(TEST_COOKIE_NAME).map(drop)
    }
}

/// A session's data: the JSON object text it was loaded from, and its
/// top-level keys in order, each with its value still as a span of that
/// text until first read. Repeated keys in the text keep the first one's
/// place and the last one's value, as a Python dict (and [`Data`]) does.
#[derive(Clone, Default)]
struct Entries {
    /// The object as loaded (empty for data never loaded).
    text: String,
    index: IndexMap<String, Slot>,
    /// Whether `text` holds a lone surrogate escape, which [`Data`] cannot
    /// hold (it reads as U+FFFD): the text is then never written back as
    /// is, so a save stores what a save of the `Data` always stored.
    lone_surrogates: bool,
    /// Whether `text` still says what `index` holds: nothing was set or
    /// removed since the load.
    text_is_data: bool,
}

/// One top-level value.
#[derive(Clone)]
enum Slot {
    /// Not read yet: where it lies in [`Entries::text`].
    Raw(Range<usize>),
    Value(Value),
}

impl Entries {
    /// Indexes `text`, as a load returned it: the component checked that
    /// it is a JSON object, and its depth is checked here as
    /// [`Store::load`] checks it (no deeper than [`MAX_DATA_DEPTH`], the
    /// same error at the same call).
    fn read(text: String) -> std::result::Result<Entries, json::ParseError> {
        let found = json::object_members_of_valid(&text, MAX_DATA_DEPTH)?;
        let mut index = IndexMap::with_capacity(found.members.len());
        for member in found.members {
            index.insert(member.key, Slot::Raw(member.value));
        }
        Ok(Entries { text, index, lone_surrogates: found.lone_surrogates, text_is_data: true })
    }

    /// The value under `k`, parsed now if not yet.
    fn value(&mut self, k: &str) -> Result<Option<&Value>> {
        match self.index.get_mut(k) {
            Some(slot) => slot.value(&self.text).map(Some),
            None => Ok(None),
        }
    }

    /// Sets `k` to `v`, keeping its place if it was there; the old value.
    fn insert(&mut self, k: String, v: Value) -> Result<Option<Value>> {
        self.text_is_data = false;
        self.index.insert(k, Slot::Value(v)).map(|old| old.into_value(&self.text)).transpose()
    }

    /// Removes `k` (the keys after it keep their order); its value.
    fn remove(&mut self, k: &str) -> Result<Option<Value>> {
        let old = self.index.shift_remove(k);
        if old.is_some() {
            self.text_is_data = false;
        }
        old.map(|old| old.into_value(&self.text)).transpose()
    }

    /// The data as JSON object text for the store (which rewrites it in
    /// Python's compact form): the loaded text itself while nothing
    /// changed, else the values read or set beside the spans of the rest.
    /// Either way the store keeps what it would keep from the whole
    /// [`Data`].
    fn to_json(&self) -> Result<Cow<'_, str>> {
        if self.text_is_data && !self.lone_surrogates {
            return Ok(Cow::Borrowed(&self.text));
        }
        let mut out = String::with_capacity(self.text.len() + 64);
        out.push('{');
        for (i, (k, slot)) in self.index.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            json::write_string(&mut out, k);
            out.push(':');
            match slot {
                Slot::Raw(span) if !self.lone_surrogates => out.push_str(raw(&self.text, span)?),
                // Read as `Data` reads it: lone surrogates become U+FFFD.
                Slot::Raw(span) => json::write_value(&mut out, &parse_span(&self.text, span)?),
                Slot::Value(v) => json::write_value(&mut out, v),
            }
        }
        out.push('}');
        Ok(Cow::Owned(out))
    }
}

impl Slot {
    /// The value, parsed from `text` (and kept) if not yet.
    fn value(&mut self, text: &str) -> Result<&Value> {
        if let Slot::Raw(span) = self {
            *self = Slot::Value(parse_span(text, span)?);
        }
        match self {
            Slot::Value(v) => Ok(v),
            Slot::Raw(_) => Err(Error::InvalidData("a session value was not parsed".into())),
        }
    }

    /// The value, owned.
    fn into_value(self, text: &str) -> Result<Value> {
        match self {
            Slot::Raw(span) => parse_span(text, &span),
            Slot::Value(v) => Ok(v),
        }
    }
}

/// The text of a value's span.
fn raw<'a>(text: &'a str, span: &Range<usize>) -> Result<&'a str> {
    text.get(span.clone()).ok_or_else(|| Error::InvalidData("a session value lies outside its text".into()))
}

/// A value's span parsed. The load checked the whole text, depth included,
/// so this does not fail on what a load accepted.
fn parse_span(text: &str, span: &Range<usize>) -> Result<Value> {
    json::parse(raw(text, span)?).map_err(|e| Error::InvalidData(format!("a session value cannot be read ({e})")))
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
