//! One guest instance in its own wasmtime `Store`, with its storage (the
//! session directory preopened, or a key-value provider), a memory limit and
//! a per-call deadline.

use crate::error::Error;
use crate::bindings::{self, wit};
use crate::runtime::{kv_pre, runtime, EPOCH_TICK};
use crate::state::{HostState, MemoryLimiter, Provider};
use std::path::PathBuf;
use std::time::Duration;
use wasmtime::component::{ResourceAny, ResourceTable};
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

/// A live guest instance with its `store` resource open. Reused across
/// calls until it traps.
pub(crate) struct Instance {
    store: wasmtime::Store<HostState>,
    api: bindings::Embedded,
    /// The guest's `store` resource, opened once with this Store's settings.
    handle: ResourceAny,
    /// Which directory generation it was opened under (see
    /// `directory::DirWatch`); 0 for a key-value store.
    pub(crate) generation: u64,
}

/// Where an instance keeps sessions.
#[derive(Clone)]
pub(crate) enum Backend {
    /// The directory component, with this directory preopened.
    Dir(PathBuf),
    /// The key-value component, importing this provider.
    Kv(Provider),
}

/// What one instance may reach: its storage (`dir` preopened as `.`, or
/// the key-value provider), and nothing else (no environment, arguments,
/// stdio, network or other directories).
fn host_state(backend: &Backend, memory_limit: usize) -> Result<HostState, Error> {
    let mut wasi = WasiCtxBuilder::new();
    wasi.allow_blocking_current_thread(true).allow_tcp(false).allow_udp(false).allow_ip_name_lookup(false);
    let kv = match backend {
        Backend::Dir(dir) => {
            wasi.preopened_dir(dir, ".", FsPerms::ReadWrite)
                .map_err(|e| Error::Config(format!("cannot open session directory {}: {e:#}", dir.display())))?;
            None
        }
        Backend::Kv(kv) => Some(kv.clone()),
    };
    let limiter = MemoryLimiter { max_bytes: memory_limit, refused: false, granted: 0 };
    Ok(HostState { wasi: wasi.build(), table: ResourceTable::new(), limiter, kv })
}

impl Instance {
    /// A fresh instance that sees its `backend` and nothing else (no
    /// environment, arguments, stdio or network), with a `store` resource
    /// opened with `settings`.
    pub(crate) fn new(backend: &Backend, memory_limit: usize, settings: &wit::Settings) -> Result<Instance, Error> {
        let rt = runtime()?;
        let pre = match backend {
            Backend::Dir(_) => &rt.pre,
            Backend::Kv(_) => kv_pre()?,
        };
        let mut store = wasmtime::Store::new(&rt.engine, host_state(backend, memory_limit)?);
        store.limiter(|state| &mut state.limiter);
        store.set_epoch_deadline(u64::MAX / 2);
        let api = pre.instantiate(&mut store).map_err(|e| failure(&store, &e, "instantiating"))?;
        let handle = api
            .sessionbox_store_sessions()
            .store()
            .call_open(&mut store, settings)
            .map_err(|e| failure(&store, &e, "opening the store"))?
            .map_err(Error::from)?;
        Ok(Instance { store, api, handle, generation: 0 })
    }

    /// The linear memory this instance holds (it never shrinks).
    pub(crate) fn memory(&self) -> usize {
        self.store.data().limiter.granted
    }

    /// Runs one export with a deadline. `Err` means the instance trapped and
    /// must be discarded; the guest's own errors come back inside `Ok`.
    pub(crate) fn call<T>(
        &mut self,
        deadline: Duration,
        f: impl FnOnce(&wit::GuestStore, &mut wasmtime::Store<HostState>, ResourceAny) -> wasmtime::Result<T>,
    ) -> Result<T, Error> {
        self.store.set_epoch_deadline(deadline_ticks(deadline));
        self.store.data_mut().limiter.refused = false;
        let result = f(&self.api.sessionbox_store_sessions().store(), &mut self.store, self.handle);
        result.map_err(|e| {
            if e.downcast_ref::<wasmtime::Trap>() == Some(&wasmtime::Trap::Interrupt) {
                Error::Deadline(deadline)
            } else {
                failure(&self.store, &e, "running")
            }
        })
    }
}

/// Most epoch ticks a call may be given: wasmtime adds them to the current
/// epoch unchecked, and the epoch (one tick per 10 ms) stays far below
/// `u64::MAX / 2` for a few billion years.
const MAX_DEADLINE_TICKS: u64 = u64::MAX / 2;

/// The epoch deadline for `deadline`: its whole ticks plus one (the tick
/// under way may be nearly over), at least two. A deadline too long to
/// count in ticks saturates: no practical deadline, never a wrapped-around
/// tiny one.
fn deadline_ticks(deadline: Duration) -> u64 {
    let ticks = deadline.as_nanos() / EPOCH_TICK.as_nanos();
    u64::try_from(ticks).unwrap_or(u64::MAX).clamp(1, MAX_DEADLINE_TICKS - 1) + 1
}

/// What a failed call into the guest was, in one line: the memory limit
/// when the limiter refused memory (the guest then aborts), else the trap or
/// error itself, without wasmtime's multi-line wasm backtrace.
fn failure(store: &wasmtime::Store<HostState>, e: &wasmtime::Error, doing: &str) -> Error {
    if store.data().limiter.refused {
        return Error::MemoryLimit(store.data().limiter.max_bytes);
    }
    let why = match e.downcast_ref::<wasmtime::Trap>() {
        Some(trap) => trap.to_string(),
        None => e.root_cause().to_string(),
    };
    Error::Runtime(format!("{doing}: {}", why.lines().next().unwrap_or("unknown error")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime_wasi::cli::WasiCliView;
    use wasmtime_wasi::filesystem::WasiFilesystemView;
    use wasmtime_wasi::p2::bindings::cli::environment;
    use wasmtime_wasi::p2::bindings::filesystem::preopens;

    /// The guest's whole view of the world: one directory, nothing else.
    #[test]
    fn the_guest_sees_one_directory_and_nothing_else() {
        // Something the guest must not see, in the host's own environment.
        std::env::set_var("SESSIONBOX_TEST_LEAK", "must-not-reach-the-guest");
        let dir = tempfile::tempdir().unwrap();
        let mut state = host_state(&Backend::Dir(dir.path().to_owned()), 1 << 20).unwrap();
        assert_eq!(environment::Host::get_environment(&mut state.cli()).unwrap(), vec![]);
        assert_eq!(environment::Host::get_arguments(&mut state.cli()).unwrap(), Vec::<String>::new());
        assert_eq!(environment::Host::initial_cwd(&mut state.cli()).unwrap(), None);
        let preopens = preopens::Host::get_directories(&mut state.filesystem()).unwrap();
        assert_eq!(preopens.iter().map(|(_, name)| name.as_str()).collect::<Vec<_>>(), ["."]);
    }
}
