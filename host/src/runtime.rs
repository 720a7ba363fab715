//! The process-wide wasm runtime: one engine, the compiled guest components
//! (over a directory; over a key-value store, compiled on first use), and
//! for each a pre-linked instance template that every `Store` shares.

use crate::bindings::EmbeddedPre;
use crate::compile_cache;
use crate::error::Error;
use crate::state::HostState;
use std::sync::OnceLock;
use std::time::Duration;
use wasmtime::component::Linker;
use wasmtime::{Config, Engine};


/// How often the engine's epoch advances; execution deadlines are counted in
/// these ticks.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(10);

/// The engine and the pre-linked directory component.
pub(crate) struct Runtime {
    pub(crate) engine: Engine,
    pub(crate) pre: EmbeddedPre<HostState>,
}

static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();
static KV_PRE: OnceLock<Result<EmbeddedPre<HostState>, String>> = OnceLock::new();

/// The pre-linked key-value component, compiled (or loaded from the cache)
/// on first use, so processes that only use directories never pay for it.
pub(crate) fn kv_pre() -> Result<&'static EmbeddedPre<HostState>, Error> {
    let rt = runtime()?;
    KV_PRE
        .get_or_init(|| {
            let pre = || -> wasmtime::Result<_> {
                let component = compile_cache::load_component(&rt.engine, &compile_cache::GUEST_KV)?;
                let mut linker = Linker::new(&rt.engine);
                crate::wasi::add_wasi(&mut linker)?;
                crate::kv::import::add_to_linker(&mut linker)?;
                EmbeddedPre::new(linker.instantiate_pre(&component)?)
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
        crate::wasi::add_wasi(&mut linker)?;
        let pre = EmbeddedPre::new(linker.instantiate_pre(&component)?)?;
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

