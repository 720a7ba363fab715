//! The WIT exports: convert the WIT types, run the operation, convert back.

use super::{WasiDir, WasiSystem};
use crate::{Durability, Error, Loaded, SessionStore, Settings};
use std::cell::OnceCell;

wit_bindgen::generate!({ path: "../wit", world: "session-store" });

use exports::sessionbox::store::sessions as wit;

struct Component;
export!(Component);

thread_local! {
    /// The preopen, fetched once per instance: hosts that reuse an instance
    /// save a `get-directories` call (and a descriptor) per operation.
    static DIR: OnceCell<Result<WasiDir, String>> = const { OnceCell::new() };
}

/// Runs `op` on a store over the preopened directory.
fn with_store<T>(settings: wit::Settings, op: impl FnOnce(&SessionStore<&WasiDir, WasiSystem>) -> Result<T, Error>) -> Result<T, wit::Error> {
    let settings = Settings::from(settings);
    DIR.with(|cell| {
        let dir = cell.get_or_init(|| WasiDir::preopened().map_err(|e| e.to_string())).as_ref().map_err(|e| wit::Error::Io(e.clone()))?;
        let store = SessionStore::new(dir, WasiSystem, &settings)?;
        Ok(op(&store)?)
    })
}

impl wit::Guest for Component {
    fn create(settings: wit::Settings, data: String) -> Result<String, wit::Error> {
        with_store(settings, |s| s.create(&data))
    }

    fn load(settings: wit::Settings, key: String) -> Result<wit::Loaded, wit::Error> {
        with_store(settings, |s| s.load(&key)).map(|loaded| match loaded {
            Loaded::Found(data) => wit::Loaded::Found(data),
            Loaded::Missing => wit::Loaded::Missing,
            Loaded::Expired => wit::Loaded::Expired,
            Loaded::BadSignature => wit::Loaded::BadSignature,
            Loaded::Corrupt => wit::Loaded::Corrupt,
        })
    }

    fn save(settings: wit::Settings, key: String, data: String, must_create: bool) -> Result<(), wit::Error> {
        with_store(settings, |s| s.save(&key, &data, must_create))
    }

    fn exists(settings: wit::Settings, key: String) -> Result<bool, wit::Error> {
        with_store(settings, |s| s.exists(&key))
    }

    fn delete(settings: wit::Settings, key: String) -> Result<(), wit::Error> {
        with_store(settings, |s| s.delete(&key))
    }

    fn cycle_key(settings: wit::Settings, key: String, data: String) -> Result<String, wit::Error> {
        with_store(settings, |s| s.cycle_key(&key, &data))
    }

    fn clear_expired(settings: wit::Settings) -> Result<wit::SweepReport, wit::Error> {
        with_store(settings, |s| s.clear_expired())
            .map(|r| wit::SweepReport { scanned: r.scanned, deleted: r.deleted, skipped: r.skipped })
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
