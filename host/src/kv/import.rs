//! The host side of the `sessionbox:store/kv` import: each call of the
//! key-value flavour of the component goes to its instance's provider (the
//! types converted in `crate::bindings`).

use super::Format;
use crate::bindings::kv as wit;
use crate::state::{HostState, Provider};
use wasmtime::component::{HasSelf, Linker};

/// Adds the `kv` import to `linker`, served by each instance's provider.
pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    wit::add_to_linker::<HostState, HasSelf<HostState>>(linker, |state| state)
}

/// The instance's provider; an instance of the directory flavour has none
/// and never calls these.
fn provider(state: &HostState) -> Result<&Provider, wit::Error> {
    state.kv.as_ref().ok_or_else(|| wit::Error::Other("no key-value store is configured".to_owned()))
}

impl wit::Host for HostState {
    fn format(&mut self) -> wit::ValueFormat {
        provider(self).map_or(Format::Signed, |kv| kv.format()).into()
    }

    fn get(&mut self, key: String, max_len: u64) -> Result<Option<wit::Entry>, wit::Error> {
        Ok(provider(self)?.get(&key, max_len)?.map(Into::into))
    }

    fn set_if_absent(&mut self, key: String, value: Vec<u8>, ttl_ms: Option<u64>) -> Result<bool, wit::Error> {
        Ok(provider(self)?.set_if_absent(&key, &value, ttl_ms)?)
    }

    fn set_if_present(&mut self, key: String, value: Vec<u8>, ttl_ms: Option<u64>) -> Result<bool, wit::Error> {
        Ok(provider(self)?.set_if_present(&key, &value, ttl_ms)?)
    }

    fn delete(&mut self, key: String) -> Result<bool, wit::Error> {
        Ok(provider(self)?.delete(&key)?)
    }

    fn exists(&mut self, key: String) -> Result<bool, wit::Error> {
        Ok(provider(self)?.exists(&key)?)
    }

    fn set_if_equal(&mut self, key: String, expected: Vec<u8>, value: Vec<u8>, ttl_ms: Option<u64>) -> Result<bool, wit::Error> {
        Ok(provider(self)?.set_if_equal(&key, &expected, &value, ttl_ms)?)
    }

    fn set_ttl(&mut self, key: String, expected: Vec<u8>, ttl_ms: Option<u64>) -> Result<bool, wit::Error> {
        Ok(provider(self)?.set_ttl(&key, &expected, ttl_ms)?)
    }

    fn keys(&mut self, prefix: String, cursor: Option<String>, count: u32) -> Result<wit::KeyPage, wit::Error> {
        let page = provider(self)?.keys(&prefix, cursor.as_deref(), count)?;
        Ok(wit::KeyPage { keys: page.keys, cursor: page.cursor })
    }
}
