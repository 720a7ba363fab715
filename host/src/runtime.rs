//! The process-wide wasm runtime: one engine, the compiled guest components
//! (over a directory; over a key-value store, compiled on first use), and
//! for each a pre-linked instance template that every `Store` shares.

use crate::compile_cache;
use crate::error::Error;
use std::sync::OnceLock;
use std::time::Duration;
use wasmtime::component::{Linker, ResourceTable};
use wasmtime::{Config, Engine};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// Bindings generated from `wit/sessionbox.wit`: the guest's `sessions`
/// export, which the host calls; `bound-sessions` as an import, which the
/// host gives plugins (`crate::plugin`); and `kv`, which the host gives the
/// key-value flavour of the guest. One world holds them all so that the
/// types they share (`error`, `loaded`, `timestamp`) are generated once.
pub(crate) mod bindings {
    wasmtime::component::bindgen!({
        path: "wit",
        inline: "
            package sessionbox:host;
            world embedded {
                import sessionbox:store/bound-sessions@0.4.0;
                import sessionbox:store/kv@0.4.0;
                export sessionbox:store/sessions@0.4.0;
            }
        ",
        world: "sessionbox:host/embedded",
    });
    pub(crate) use exports::sessionbox::store::sessions as wit;
    pub(crate) use self::sessionbox::store::bound_sessions as bound;
    pub(crate) use self::sessionbox::store::kv;
}

/// How often the engine's epoch advances; execution deadlines are counted in
/// these ticks.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(10);

/// The state one guest instance owns.
pub(crate) struct HostState {
    pub(crate) wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    pub(crate) limiter: MemoryLimiter,
    /// What the key-value flavour stores in (`None` for the directory one).
    pub(crate) kv: Option<crate::kv::Provider>,
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

/// The engine and the pre-linked directory component.
pub(crate) struct Runtime {
    pub(crate) engine: Engine,
    pub(crate) pre: bindings::EmbeddedPre<HostState>,
}

static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();
static KV_PRE: OnceLock<Result<bindings::EmbeddedPre<HostState>, String>> = OnceLock::new();

/// The pre-linked key-value component, compiled (or loaded from the cache)
/// on first use, so processes that only use directories never pay for it.
pub(crate) fn kv_pre() -> Result<&'static bindings::EmbeddedPre<HostState>, Error> {
    let rt = runtime()?;
    KV_PRE
        .get_or_init(|| {
            let pre = || -> wasmtime::Result<_> {
                let component = compile_cache::load_component(&rt.engine, &compile_cache::GUEST_KV)?;
                let mut linker = Linker::new(&rt.engine);
                crate::linker::add_wasi(&mut linker)?;
                crate::kv::import::add_to_linker(&mut linker)?;
                bindings::EmbeddedPre::new(linker.instantiate_pre(&component)?)
            };
            pre().map_err(|e| format!("{e:#}"))
        })
        .as_ref()
        .map_err(|e| Error::Runtime(e.clone()))
}

/// The shared runtime, set up on first use (compiling or loading the
/// component once per process).
pub(crate) fn runtime() -> Result<&'static Runtime, Error> {
    RUNTIME
        .get_or_init(|| Runtime::new().map_err(|e| format!("{e:#}")))
        .as_ref()
        .map_err(|e| Error::Runtime(e.clone()))
}

impl Runtime {
    fn new() -> wasmtime::Result<Runtime> {
        // Epoch interruption gives every call a deadline. Its checks in the
        // guest's loops cost 5-8% of a load (measured); a hung call costs more.
        let mut config = Config::new();
        config.epoch_interruption(true);
        let engine = Engine::new(&config)?;
        let component = compile_cache::load_component(&engine, &compile_cache::GUEST)?;
        // Only the WASI interfaces the guest needs: no sockets, no http.
        let mut linker = Linker::new(&engine);
        crate::linker::add_wasi(&mut linker)?;
        let pre = bindings::EmbeddedPre::new(linker.instantiate_pre(&component)?)?;
        start_epoch_ticker(&engine);
        Ok(Runtime { engine, pre })
    }
}

/// Advances the epoch every tick for as long as the engine lives.
fn start_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    let ticker = move || {
        while let Some(engine) = weak.upgrade() {
            engine.increment_epoch();
            drop(engine);
            std::thread::sleep(EPOCH_TICK);
        }
    };
    if let Err(e) = std::thread::Builder::new().name("sessionbox-epoch".into()).spawn(ticker) {
        log::warn!("no epoch thread ({e}): execution deadlines will not fire");
    }
}

