//! One guest instance in its own wasmtime `Store`, with the session directory
//! preopened, a memory limit and a per-call deadline.

use crate::error::Error;
use crate::runtime::{bindings, runtime, HostState, MemoryLimiter, EPOCH_TICK};
use std::path::Path;
use std::time::Duration;
use crate::runtime::bindings::wit;
use wasmtime::component::{ResourceAny, ResourceTable};
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

/// A live guest instance with its `store` resource open. Reused across
/// calls until it traps.
pub(crate) struct Instance {
    store: wasmtime::Store<HostState>,
    api: bindings::SessionStore,
    /// The guest's `store` resource, opened once with this Store's settings.
    handle: ResourceAny,
}

impl Instance {
    /// A fresh instance that sees `dir` as `.` and nothing else (no
    /// environment, arguments, stdio or network), with a `store` resource
    /// opened with `settings`.
    pub(crate) fn new(dir: &Path, memory_limit: usize, settings: &wit::Settings) -> Result<Instance, Error> {
        let rt = runtime()?;
        let wasi = WasiCtxBuilder::new()
            .allow_blocking_current_thread(true)
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .preopened_dir(dir, ".", FsPerms::ReadWrite)
            .map_err(|e| Error::Config(format!("cannot open session directory {}: {e:#}", dir.display())))?
            .build();
        let limiter = MemoryLimiter { max_bytes: memory_limit, refused: false };
        let mut store = wasmtime::Store::new(&rt.engine, HostState { wasi, table: ResourceTable::new(), limiter });
        store.limiter(|state| &mut state.limiter);
        store.set_epoch_deadline(u64::MAX / 2);
        let api = rt.pre.instantiate(&mut store).map_err(|e| Error::Runtime(format!("instantiating: {e:#}")))?;
        let handle = api
            .sessionbox_store_sessions()
            .store()
            .call_open(&mut store, settings)
            .map_err(|e| Error::Runtime(format!("opening the store: {e:#}")))?
            .map_err(Error::from)?;
        Ok(Instance { store, api, handle })
    }

    /// Runs one export with a deadline. `Err` means the instance trapped and
    /// must be discarded; the guest's own errors come back inside `Ok`.
    pub(crate) fn call<T>(
        &mut self,
        deadline: Duration,
        f: impl FnOnce(&wit::GuestStore, &mut wasmtime::Store<HostState>, ResourceAny) -> wasmtime::Result<T>,
    ) -> Result<T, Error> {
        let ticks = (deadline.as_nanos() / EPOCH_TICK.as_nanos()).max(1) as u64 + 1;
        self.store.set_epoch_deadline(ticks);
        self.store.data_mut().limiter.refused = false;
        let result = f(&self.api.sessionbox_store_sessions().store(), &mut self.store, self.handle);
        result.map_err(|e| {
            if e.downcast_ref::<wasmtime::Trap>() == Some(&wasmtime::Trap::Interrupt) {
                Error::Deadline(deadline)
            } else if self.store.data().limiter.refused {
                Error::MemoryLimit(self.store.data().limiter.max_bytes)
            } else {
                Error::Runtime(format!("{e:#}"))
            }
        })
    }
}
