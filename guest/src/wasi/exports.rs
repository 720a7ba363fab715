//! The WIT exports: convert the WIT types, run the operation, convert back.

use super::WasiSystem;
use crate::{Change, Durability, Error, Imported, Loaded, Resigned, ScanBatch, SessionStore, Settings, SweepBatch, SweepReport, Time};
use std::cell::OnceCell;

#[cfg(not(feature = "kv"))]
wit_bindgen::generate!({ path: "../wit", world: "session-store" });
#[cfg(feature = "kv")]
wit_bindgen::generate!({ path: "../wit", world: "session-store-kv" });

use exports::sessionbox::store::bound_sessions as bound;
use exports::sessionbox::store::sessions as wit;

struct Component;
export!(Component);

thread_local! {
    /// The store `bound-sessions` runs on, opened once per instance with the
    /// settings from the environment.
    static BOUND: OnceCell<Result<&'static Store, wit::Error>> = const { OnceCell::new() };
}

/// The session store the WIT operations run on: over the preopened
/// directory, or in the key-value flavour over the host's `kv` import.
#[cfg(not(feature = "kv"))]
type Store = SessionStore<crate::Files<&'static super::WasiDir>, WasiSystem>;
#[cfg(feature = "kv")]
type Store = SessionStore<crate::Kv<super::WasiKv>, WasiSystem>;

/// A store with `settings` over what this flavour stores in.
fn open(settings: Settings) -> Result<Store, wit::Error> {
    Ok(SessionStore::with_storage(super::storage().map_err(wit::Error::Io)?, WasiSystem, settings)?)
}

/// Runs `op` on the store whose settings come from the environment.
fn with_bound_store<T>(op: impl FnOnce(&Store) -> Result<T, Error>) -> Result<T, wit::Error> {
    let store = BOUND.with(|cell| {
        cell.get_or_init(|| {
            let env = wasip2::cli::environment::get_environment();
            let settings = Settings::from_env(|name| env.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()))?;
            Ok(&*Box::leak(Box::new(open(settings)?)))
        })
        .clone()
    })?;
    Ok(op(store)?)
}

impl bound::Guest for Component {
    fn create(data: String) -> Result<String, wit::Error> {
        with_bound_store(|s| s.create(&data))
    }

    fn load(key: String) -> Result<wit::Loaded, wit::Error> {
        with_bound_store(|s| s.load(&key)).map(Into::into)
    }

    fn save(key: String, data: String, must_create: bool) -> Result<(), wit::Error> {
        with_bound_store(|s| s.save(&key, &data, must_create))
    }

    fn exists(key: String) -> Result<bool, wit::Error> {
        with_bound_store(|s| s.exists(&key))
    }

    fn delete(key: String) -> Result<bool, wit::Error> {
        with_bound_store(|s| s.delete(&key))
    }

    fn cycle_key(key: String, data: String) -> Result<String, wit::Error> {
        with_bound_store(|s| s.cycle_key(&key, &data))
    }
}

/// Runs `op` on a store opened for this one call.
fn with_store<T>(settings: wit::Settings, op: impl FnOnce(&Store) -> Result<T, Error>) -> Result<T, wit::Error> {
    Ok(op(&open(Settings::from(settings))?)?)
}

/// The `store` resource: a store opened once, used for many calls.
pub struct StoreResource(Store);

impl wit::GuestStore for StoreResource {
    fn open(settings: wit::Settings) -> Result<wit::Store, wit::Error> {
        Ok(wit::Store::new(StoreResource(open(Settings::from(settings))?)))
    }

    fn create(&self, data: String) -> Result<String, wit::Error> {
        Ok(self.0.create(&data)?)
    }

    fn load(&self, key: String) -> Result<wit::Loaded, wit::Error> {
        Ok(self.0.load(&key)?.into())
    }

    fn save(&self, key: String, data: String, must_create: bool) -> Result<(), wit::Error> {
        Ok(self.0.save(&key, &data, must_create)?)
    }

    fn exists(&self, key: String) -> Result<bool, wit::Error> {
        Ok(self.0.exists(&key)?)
    }

    fn delete(&self, key: String) -> Result<bool, wit::Error> {
        Ok(self.0.delete(&key)?)
    }

    fn cycle_key(&self, key: String, data: String) -> Result<String, wit::Error> {
        Ok(self.0.cycle_key(&key, &data)?)
    }

    fn clear_expired(&self) -> Result<wit::SweepReport, wit::Error> {
        Ok(self.0.clear_expired()?.into())
    }

    fn sweep(&self, cursor: Option<String>, budget_ms: Option<u32>) -> Result<wit::SweepBatch, wit::Error> {
        Ok(self.0.sweep(cursor.as_deref(), budget_nanos(budget_ms))?.into())
    }

    fn sweep_range(&self, cursor: Option<String>, upto: Option<String>, budget_ms: Option<u32>) -> Result<wit::SweepBatch, wit::Error> {
        Ok(self.0.sweep_range(cursor.as_deref(), upto.as_deref(), budget_nanos(budget_ms))?.into())
    }

    fn scan(&self, user: Option<String>, cursor: Option<String>, upto: Option<String>, budget_ms: Option<u32>) -> Result<wit::ScanBatch, wit::Error> {
        Ok(self.0.scan(user.as_deref(), cursor.as_deref(), upto.as_deref(), budget_nanos(budget_ms))?.into())
    }

    fn update(&self, key: String, changes: Vec<wit::Change>) -> Result<(), wit::Error> {
        Ok(self.0.update(&key, &changes.into_iter().map(Change::from).collect::<Vec<_>>())?)
    }

    fn touch(&self, key: String) -> Result<bool, wit::Error> {
        Ok(self.0.touch(&key)?)
    }

    fn import(&self, key: String, data: String, expires_at: wit::Timestamp, written_at: Option<wit::Timestamp>) -> Result<wit::Imported, wit::Error> {
        Ok(self.0.import(&key, &data, time(expires_at), written_at.map(time))?.into())
    }

    fn resign(&self, key: String) -> Result<wit::Resigned, wit::Error> {
        Ok(self.0.resign(&key)?.into())
    }

    fn encode_cookie(&self, data: String) -> Result<String, wit::Error> {
        Ok(self.0.encode_cookie(&data)?)
    }

    fn decode_cookie(&self, cookie: String) -> Result<wit::Loaded, wit::Error> {
        Ok(self.0.decode_cookie(&cookie)?.into())
    }
}

fn budget_nanos(budget_ms: Option<u32>) -> Option<u64> {
    budget_ms.map(|ms| u64::from(ms) * 1_000_000)
}

impl wit::Guest for Component {
    type Store = StoreResource;

    fn create(settings: wit::Settings, data: String) -> Result<String, wit::Error> {
        with_store(settings, |s| s.create(&data))
    }

    fn load(settings: wit::Settings, key: String) -> Result<wit::Loaded, wit::Error> {
        with_store(settings, |s| s.load(&key)).map(Into::into)
    }

    fn save(settings: wit::Settings, key: String, data: String, must_create: bool) -> Result<(), wit::Error> {
        with_store(settings, |s| s.save(&key, &data, must_create))
    }

    fn exists(settings: wit::Settings, key: String) -> Result<bool, wit::Error> {
        with_store(settings, |s| s.exists(&key))
    }

    fn delete(settings: wit::Settings, key: String) -> Result<bool, wit::Error> {
        with_store(settings, |s| s.delete(&key))
    }

    fn cycle_key(settings: wit::Settings, key: String, data: String) -> Result<String, wit::Error> {
        with_store(settings, |s| s.cycle_key(&key, &data))
    }

    fn clear_expired(settings: wit::Settings) -> Result<wit::SweepReport, wit::Error> {
        with_store(settings, |s| s.clear_expired()).map(Into::into)
    }

    fn sweep(settings: wit::Settings, cursor: Option<String>, budget_ms: Option<u32>) -> Result<wit::SweepBatch, wit::Error> {
        with_store(settings, |s| s.sweep(cursor.as_deref(), budget_nanos(budget_ms))).map(Into::into)
    }

    fn sweep_range(settings: wit::Settings, cursor: Option<String>, upto: Option<String>, budget_ms: Option<u32>) -> Result<wit::SweepBatch, wit::Error> {
        with_store(settings, |s| s.sweep_range(cursor.as_deref(), upto.as_deref(), budget_nanos(budget_ms))).map(Into::into)
    }

    fn scan(settings: wit::Settings, user: Option<String>, cursor: Option<String>, upto: Option<String>, budget_ms: Option<u32>) -> Result<wit::ScanBatch, wit::Error> {
        with_store(settings, |s| s.scan(user.as_deref(), cursor.as_deref(), upto.as_deref(), budget_nanos(budget_ms))).map(Into::into)
    }

    fn update(settings: wit::Settings, key: String, changes: Vec<wit::Change>) -> Result<(), wit::Error> {
        let changes: Vec<Change> = changes.into_iter().map(Change::from).collect();
        with_store(settings, |s| s.update(&key, &changes))
    }

    fn touch(settings: wit::Settings, key: String) -> Result<bool, wit::Error> {
        with_store(settings, |s| s.touch(&key))
    }

    fn import(settings: wit::Settings, key: String, data: String, expires_at: wit::Timestamp, written_at: Option<wit::Timestamp>) -> Result<wit::Imported, wit::Error> {
        with_store(settings, |s| s.import(&key, &data, time(expires_at), written_at.map(time))).map(Into::into)
    }

    fn resign(settings: wit::Settings, key: String) -> Result<wit::Resigned, wit::Error> {
        with_store(settings, |s| s.resign(&key)).map(Into::into)
    }

    // No storage: no store is opened (a host that preopens nothing can
    // still read and write cookies).
    fn encode_cookie(settings: wit::Settings, data: String) -> Result<String, wit::Error> {
        let settings = checked(settings)?;
        Ok(crate::cookie::encode(&settings, &data, crate::System::now(&WasiSystem))?)
    }

    fn decode_cookie(settings: wit::Settings, cookie: String) -> Result<wit::Loaded, wit::Error> {
        let settings = checked(settings)?;
        Ok(crate::cookie::decode(&settings, &cookie, crate::System::now(&WasiSystem))?.into())
    }
}

/// `settings` converted and validated, as opening a store does.
fn checked(settings: wit::Settings) -> Result<Settings, wit::Error> {
    let settings = Settings::from(settings);
    settings.validate()?;
    Ok(settings)
}

impl From<Loaded> for wit::Loaded {
    fn from(loaded: Loaded) -> wit::Loaded {
        match loaded {
            Loaded::Found { data, expires_at } => wit::Loaded::Found(wit::FoundSession {
                data,
                expires_at: wit::Timestamp { seconds: expires_at.secs, nanoseconds: expires_at.nanos },
            }),
            Loaded::Missing => wit::Loaded::Missing,
            Loaded::Expired => wit::Loaded::Expired,
            Loaded::BadSignature => wit::Loaded::BadSignature,
            Loaded::Corrupt => wit::Loaded::Corrupt,
        }
    }
}

fn time(t: wit::Timestamp) -> Time {
    Time::new(t.seconds, t.nanoseconds)
}

fn timestamp(t: Time) -> wit::Timestamp {
    wit::Timestamp { seconds: t.secs, nanoseconds: t.nanos }
}

impl From<ScanBatch> for wit::ScanBatch {
    fn from(b: ScanBatch) -> wit::ScanBatch {
        let r = b.report;
        wit::ScanBatch {
            sessions: b
                .sessions
                .into_iter()
                .map(|s| wit::SessionInfo {
                    key: s.key,
                    expires_at: timestamp(s.expires_at),
                    written_at: s.written_at.map(timestamp),
                    user_id: s.user_id,
                    signed_by: s.signed_by,
                })
                .collect(),
            report: wit::ScanReport { scanned: r.scanned, live: r.live, expired: r.expired, bad_signature: r.bad_signature, skipped: r.skipped },
            cursor: b.cursor,
        }
    }
}

impl From<wit::Change> for Change {
    fn from(c: wit::Change) -> Change {
        match c {
            wit::Change::Set((key, value)) => Change::Set(key, value),
            wit::Change::Remove(key) => Change::Remove(key),
            wit::Change::Clear => Change::Clear,
        }
    }
}

impl From<Imported> for wit::Imported {
    fn from(i: Imported) -> wit::Imported {
        match i {
            Imported::Created => wit::Imported::Created,
            Imported::Replaced => wit::Imported::Replaced,
            Imported::KeptNewer => wit::Imported::KeptNewer,
        }
    }
}

impl From<Resigned> for wit::Resigned {
    fn from(r: Resigned) -> wit::Resigned {
        match r {
            Resigned::Resigned => wit::Resigned::Resigned,
            Resigned::Current => wit::Resigned::Current,
            Resigned::Gone => wit::Resigned::Gone,
        }
    }
}

impl From<SweepReport> for wit::SweepReport {
    fn from(r: SweepReport) -> wit::SweepReport {
        wit::SweepReport { scanned: r.scanned, deleted: r.deleted, skipped: r.skipped }
    }
}

impl From<SweepBatch> for wit::SweepBatch {
    fn from(b: SweepBatch) -> wit::SweepBatch {
        wit::SweepBatch { report: b.report.into(), cursor: b.cursor }
    }
}

impl From<wit::Settings> for Settings {
    fn from(s: wit::Settings) -> Settings {
        Settings {
            secret_key: s.secret_key,
            fallback_keys: s.fallback_keys,
            cookie_age: s.cookie_age,
            file_prefix: s.file_prefix,
            key_salt: s.key_salt,
            max_session_size: s.max_session_size,
            durability: match s.durability {
                wit::Durability::None => Durability::None,
                wit::Durability::File => Durability::File,
                wit::Durability::Full => Durability::Full,
            },
        }
    }
}

impl From<Error> for wit::Error {
    fn from(e: Error) -> wit::Error {
        match e {
            Error::InvalidKey => wit::Error::InvalidKey,
            Error::AlreadyExists => wit::Error::AlreadyExists,
            Error::NotFound => wit::Error::NotFound,
            Error::TooLarge => wit::Error::TooLarge,
            Error::InvalidData(why) => wit::Error::InvalidData(why),
            Error::InvalidSettings(why) => wit::Error::InvalidSettings(why),
            Error::Io(why) => wit::Error::Io(why),
        }
    }
}
