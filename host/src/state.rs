//! What one guest instance owns: its WASI context and resource table, its
//! memory limiter, and its key-value provider (for the key-value flavour).

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// A key-value provider as the instances hold it: shared by all of them.
pub(crate) type Provider = std::sync::Arc<dyn sessionbox_guest::KeyValue + Send + Sync>;

/// The state one guest instance owns.
pub(crate) struct HostState {
    pub(crate) wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    pub(crate) limiter: MemoryLimiter,
    /// What the key-value flavour stores in (`None` for the directory one).
    pub(crate) kv: Option<Provider>,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// Caps guest memory, and remembers when it said no so a resulting trap can
/// be reported as what it is.
pub(crate) struct MemoryLimiter {
    pub(crate) max_bytes: usize,
    pub(crate) refused: bool,
    /// The largest linear memory granted so far: wasm memory never shrinks,
    /// so this is what the instance holds.
    pub(crate) granted: usize,
}

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        self.refused |= desired > self.max_bytes;
        if desired <= self.max_bytes {
            self.granted = self.granted.max(desired);
        }
        Ok(desired <= self.max_bytes)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}
