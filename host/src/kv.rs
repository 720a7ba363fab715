//! The host side of the `sessionbox:store/kv` import: the key-value store
//! the key-value flavour of the guest keeps its sessions in. A provider (so
//! far [`crate::redis`]) implements [`KeyValue`]; the guest's calls reach it
//! through the instance's state.

use crate::runtime::bindings::kv;
use crate::runtime::HostState;
use wasmtime::component::{HasSelf, Linker};

pub(crate) use kv::{Entry, Error as KvError, ValueFormat};

/// A key-value store that expires keys itself; what the guest's `kv` import
/// calls, one method per function (see `wit/sessionbox.wit`). Every call
/// touches one key. Calls block the guest's thread, so a provider bounds
/// each with its own timeouts.
pub(crate) trait KeyValue: Send + Sync {
    /// How the guest encodes sessions here.
    fn format(&self) -> ValueFormat;
    /// The value of `key` and its TTL; `KvError::TooLarge` past `max_len`.
    fn get(&self, key: &str, max_len: u64) -> Result<Option<Entry>, KvError>;
    /// Sets `key` only if it does not exist; whether it was set.
    fn set_if_absent(&self, key: &str, value: &[u8], ttl_ms: Option<u64>) -> Result<bool, KvError>;
    /// Sets `key` only if it exists; whether it was set.
    fn set_if_present(&self, key: &str, value: &[u8], ttl_ms: Option<u64>) -> Result<bool, KvError>;
    /// Deletes `key`; whether it existed.
    fn delete(&self, key: &str) -> Result<bool, KvError>;
    /// Whether `key` exists.
    fn exists(&self, key: &str) -> Result<bool, KvError>;
}

/// Adds the `kv` import to `linker`, served by each instance's provider.
pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    kv::add_to_linker::<HostState, HasSelf<HostState>>(linker, |state| state)
}

/// The instance's provider; an instance of the directory flavour has none
/// and never calls these.
fn provider(state: &HostState) -> Result<&dyn KeyValue, KvError> {
    state.kv.as_deref().ok_or_else(|| KvError::Other("no key-value store is configured".to_owned()))
}

impl kv::Host for HostState {
    fn format(&mut self) -> ValueFormat {
        provider(self).map_or(ValueFormat::Signed, |kv| kv.format())
    }

    fn get(&mut self, key: String, max_len: u64) -> Result<Option<Entry>, KvError> {
        provider(self)?.get(&key, max_len)
    }

    fn set_if_absent(&mut self, key: String, value: Vec<u8>, ttl_ms: Option<u64>) -> Result<bool, KvError> {
        provider(self)?.set_if_absent(&key, &value, ttl_ms)
    }

    fn set_if_present(&mut self, key: String, value: Vec<u8>, ttl_ms: Option<u64>) -> Result<bool, KvError> {
        provider(self)?.set_if_present(&key, &value, ttl_ms)
    }

    fn delete(&mut self, key: String) -> Result<bool, KvError> {
        provider(self)?.delete(&key)
    }

    fn exists(&mut self, key: String) -> Result<bool, KvError> {
        provider(self)?.exists(&key)
    }
}
