//! One guest instance in its own wasmtime `Store`, with the session directory
//! preopened, a memory limit and a per-call deadline.

use crate::error::Error;
use crate::runtime::{bindings, runtime, HostState, MemoryLimiter, EPOCH_TICK};
use std::path::Path;
use std::time::Duration;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

/// A live guest instance. Reused across calls until it traps.
pub(crate) struct Instance {
    store: wasmtime::Store<HostState>,
    api: bindings::SessionStore,
}

impl Instance {
    /// A fresh instance that sees `dir` as `.` and nothing else: no
    /// environment, arguments, stdio or network.
    pub(crate) fn new(dir: &Path, memory_limit: usize) -> Result<Instance, Error> {
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
        Ok(Instance { store, api })
    }

    /// Runs one export with a deadline. `Err` means the instance trapped and
    /// must be discarded; the guest's own errors come back inside `Ok`.
    pub(crate) fn call<T>(
        &mut self,
        deadline: Duration,
        f: impl FnOnce(&bindings::wit::Guest, &mut wasmtime::Store<HostState>) -> wasmtime::Result<T>,
    ) -> Result<T, Error> {
        let ticks = (deadline.as_nanos() / EPOCH_TICK.as_nanos()).max(1) as u64 + 1;
        self.store.set_epoch_deadline(ticks);
        self.store.data_mut().limiter.refused = false;
        let result = f(self.api.sessionbox_store_sessions(), &mut self.store);
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
