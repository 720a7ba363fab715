//! The WIT contract as Rust: the bindings generated from `wit/`, and every
//! conversion between their types and the library's, each written once
//! (the error cases the two share are listed once and converted both ways
//! from that list).

use crate::data::Loaded;
use crate::error::{Error, Result};
#[cfg(test)]
use crate::expiry::latest_expiry;
use sessionbox_guest::{Change, Format, Imported, KvEntry, KvError, Resigned, ScanBatch, ScanReport, SessionInfo, Time};
use sessionbox_guest::{Durability, Settings};
use std::time::SystemTime;
#[cfg(test)]
use std::time::{Duration, UNIX_EPOCH};

/// Bindings generated from `wit/sessionbox.wit`: the guest's `sessions`
/// export, which the host calls; `bound-sessions` as an import, which the
/// host gives plugins (`crate::plugin`); and `kv`, which the host gives the
/// key-value flavour of the guest. One world holds them all so that the
/// types they share (`error`, `loaded`, `timestamp`) are generated once.
pub(crate) mod generated {
    wasmtime::component::bindgen!({
        path: "wit",
        inline: "
            package sessionbox:host;
            world embedded {
                import sessionbox:store/bound-sessions@0.5.1;
                import sessionbox:store/kv@0.5.1;
                export sessionbox:store/sessions@0.5.1;
            }
        ",
        world: "sessionbox:host/embedded",
    });
    pub(crate) use exports::sessionbox::store::sessions as wit;
    pub(crate) use self::sessionbox::store::bound_sessions as bound;
    pub(crate) use self::sessionbox::store::kv;
}

pub(crate) use generated::{bound, kv, wit, Embedded, EmbeddedPre};

/// The component's expiry moment as a `SystemTime`, clamped to
/// [`UNIX_EPOCH`] ..= [`latest_expiry`] (so never past what a `SystemTime`
/// or Python's `datetime` holds, whatever the seconds).
fn expiry_time(at: wit::Timestamp) -> SystemTime {
    crate::expiry::system_time(time(at))
}

/// `settings` checked before anything is opened.
pub(crate) fn check(settings: &Settings) -> Result<()> {
    settings.validate().map_err(|e| match e {
        // The guest's message already starts with "invalid settings".
        sessionbox_guest::Error::InvalidSettings(why) => Error::InvalidSettings(why),
        other => Error::InvalidSettings(other.to_string()),
    })
}

impl From<wit::Loaded> for Loaded<String> {
    fn from(loaded: wit::Loaded) -> Loaded<String> {
        match loaded {
            wit::Loaded::Found(found) => Loaded::Found { data: found.data, expires_at: expiry_time(found.expires_at) },
            wit::Loaded::Missing => Loaded::Missing,
            wit::Loaded::Expired => Loaded::Expired,
            wit::Loaded::BadSignature => Loaded::BadSignature,
            wit::Loaded::Corrupt => Loaded::Corrupt,
        }
    }
}

impl From<wit::ScanBatch> for ScanBatch {
    fn from(b: wit::ScanBatch) -> ScanBatch {
        let r = b.report;
        ScanBatch {
            sessions: b.sessions.into_iter().map(Into::into).collect(),
            report: ScanReport { scanned: r.scanned, live: r.live, expired: r.expired, bad_signature: r.bad_signature, skipped: r.skipped },
            cursor: b.cursor,
        }
    }
}

impl From<wit::SessionInfo> for SessionInfo {
    fn from(s: wit::SessionInfo) -> SessionInfo {
        SessionInfo {
            key: s.key,
            expires_at: time(s.expires_at),
            written_at: s.written_at.map(time),
            user_id: s.user_id,
            signed_by: s.signed_by,
        }
    }
}

/// A WIT timestamp as the guest's [`Time`].
pub(crate) fn time(t: wit::Timestamp) -> Time {
    Time::new(t.seconds, t.nanoseconds)
}

/// A [`Time`] as a WIT timestamp.
pub(crate) fn timestamp(t: Time) -> wit::Timestamp {
    wit::Timestamp { seconds: t.secs, nanoseconds: t.nanos }
}

impl From<&Change> for wit::Change {
    fn from(c: &Change) -> wit::Change {
        match c {
            Change::Set(key, value) => wit::Change::Set((key.clone(), value.clone())),
            Change::Remove(key) => wit::Change::Remove(key.clone()),
            Change::Clear => wit::Change::Clear,
        }
    }
}

impl From<wit::Imported> for Imported {
    fn from(i: wit::Imported) -> Imported {
        match i {
            wit::Imported::Created => Imported::Created,
            wit::Imported::Replaced => Imported::Replaced,
            wit::Imported::KeptNewer => Imported::KeptNewer,
        }
    }
}

impl From<wit::Resigned> for Resigned {
    fn from(r: wit::Resigned) -> Resigned {
        match r {
            wit::Resigned::Resigned => Resigned::Resigned,
            wit::Resigned::Current => Resigned::Current,
            wit::Resigned::Gone => Resigned::Gone,
        }
    }
}

pub(crate) fn to_wit(s: &Settings) -> wit::Settings {
    wit::Settings {
        secret_key: s.secret_key.clone(),
        fallback_keys: s.fallback_keys.clone(),
        cookie_age: s.cookie_age,
        file_prefix: s.file_prefix.clone(),
        key_salt: s.key_salt.clone(),
        max_session_size: s.max_session_size,
        durability: match s.durability {
            Durability::None => wit::Durability::None,
            Durability::File => wit::Durability::File,
            Durability::Full => wit::Durability::Full,
        },
    }
}

impl From<wit::Error> for Error {
    fn from(e: wit::Error) -> Error {
        from_wit(e)
    }
}

/// The error cases the WIT `error` and [`Error`] share, listed once: both
/// directions are generated from this list.
macro_rules! shared_errors {
    ($($case:ident $(($why:ident))?),* $(,)?) => {
        pub(crate) fn from_wit(e: wit::Error) -> Error {
            match e {
                $(wit::Error::$case $(($why))? => Error::$case $(($why))?,)*
            }
        }

        /// The WIT error for a host error: the shared cases as they are, what
        /// only a host can fail with (deadline, memory, runtime, configuration)
        /// as `io` with its one-line text.
        pub(crate) fn to_wit_error(e: Error) -> wit::Error {
            match e {
                $(Error::$case $(($why))? => wit::Error::$case $(($why))?,)*
                other => wit::Error::Io(other.to_string()),
            }
        }
    };
}

shared_errors!(InvalidKey, AlreadyExists, NotFound, TooLarge, InvalidData(why), InvalidSettings(why), Io(why));

impl From<Format> for kv::ValueFormat {
    fn from(format: Format) -> kv::ValueFormat {
        match format {
            Format::Signed => kv::ValueFormat::Signed,
            Format::DjangoPickle => kv::ValueFormat::DjangoPickle,
            Format::DjangoDb => kv::ValueFormat::DjangoDb,
            Format::DjangoCachedDb => kv::ValueFormat::DjangoCachedDb,
        }
    }
}

impl From<KvEntry> for kv::Entry {
    fn from(KvEntry { value, ttl_ms }: KvEntry) -> kv::Entry {
        kv::Entry { value, ttl_ms }
    }
}

impl From<KvError> for kv::Error {
    fn from(e: KvError) -> kv::Error {
        match e {
            KvError::TooLarge => kv::Error::TooLarge,
            KvError::WrongType => kv::Error::WrongType,
            KvError::AccessDenied(why) => kv::Error::AccessDenied(why),
            KvError::Other(why) => kv::Error::Other(why),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_times_clamp_to_the_epoch_and_python_datetime_max() {
        let at = |seconds, nanoseconds| expiry_time(wit::Timestamp { seconds, nanoseconds });
        assert_eq!(at(1_700_000_000, 5), UNIX_EPOCH + Duration::new(1_700_000_000, 5));
        assert_eq!(at(-1, 0), UNIX_EPOCH);
        assert_eq!(at(i64::MIN, 0), UNIX_EPOCH);
        assert_eq!(at(i64::MAX, 999_999_999), latest_expiry());
        assert_eq!(at(253_402_300_799, 1), latest_expiry());
        assert_eq!(at(253_402_300_798, 999_999_999), latest_expiry() - Duration::from_nanos(1));
        assert_eq!(latest_expiry().duration_since(UNIX_EPOCH).unwrap().as_secs(), 253_402_300_799);
    }
}
