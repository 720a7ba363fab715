//! An example plugin host: runs untrusted plugin components (world
//! `example:plugin/session-plugin` in `examples/plugins/wit`), each with
//! sessions in a directory of the host's choosing and nothing else.
//!
//! What a plugin gets:
//! - `sessionbox:store/bound-sessions`, backed by its own
//!   [`sessionbox::Store`]: it never sees the directory or the secret;
//! - the WASI interfaces Rust's and Python's standard libraries import, with
//!   an empty context: no preopened directory, environment, arguments,
//!   stdio or network.
//!
//! What it does not get: a plugin that imports `wasi:filesystem`,
//! `wasi:sockets` or outgoing HTTP is refused when loaded
//! ([`sessionbox::plugin::refuse_imports`]). Each run is a fresh instance in
//! its own wasmtime `Store` with a memory limit and a deadline, so a plugin
//! that traps, loops or exhausts its memory fails that run alone; a byte
//! quota keeps it from filling the disk, and a session quota from filling
//! the directory ([`Limits`]).

use sessionbox::plugin::{self, SessionsView};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use wasmtime::component::{Component, InstancePre, Linker, ResourceTable};
use wasmtime::{Config, Engine, ResourceLimiter, Trap};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// How often the engine's epoch advances: the unit deadlines are counted in.
const TICK: Duration = Duration::from_millis(10);

/// What each run of a plugin may use.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest linear memory, in bytes.
    pub memory: usize,
    /// Longest a run may take.
    pub deadline: Duration,
    /// Most sessions a plugin may have in its store (expired ones count
    /// until swept); `None` for no limit. A create past it fails with
    /// `io`.
    pub max_sessions: Option<usize>,
    /// Most bytes a plugin's session files may take (expired ones count
    /// until swept); `None` for no limit. A write (create, save or
    /// cycle-key) that could take them past it fails with `io`: the files
    /// already there plus [`stored_size_bound`] of the new data. Counts
    /// file contents, not the file system's blocks.
    pub max_bytes: Option<u64>,
}

impl Default for Limits {
    /// 64 MiB of memory, 5 seconds, 10,000 sessions and 64 MiB of session
    /// files.
    fn default() -> Limits {
        Limits { memory: 64 << 20, deadline: Duration::from_secs(5), max_sessions: Some(10_000), max_bytes: Some(64 << 20) }
    }
}

/// The most a session file of `data_len` bytes of JSON text takes, as the
/// byte quota counts a write before it happens: Django's signed format is
/// the data in base64 (compressed when that is shorter), a timestamp and a
/// signature. Data with characters outside ASCII can take up to 3 times its
/// length once escaped as Django's JSON escapes it (less when compressed):
/// such writes can pass the quota by that much, once; the next is refused.
pub fn stored_size_bound(data_len: usize) -> u64 {
    (data_len as u64).div_ceil(3) * 4 + 64
}

/// The host: one engine and linker shared by every plugin.
pub struct PluginHost {
    engine: Engine,
    linker: Linker<PluginState>,
    limits: Limits,
    ticking: Arc<AtomicBool>,
}

/// A loaded plugin, with the session store it runs on.
pub struct Plugin {
    pre: InstancePre<PluginState>,
    sessions: sessionbox::Store,
}

/// One run's state: the plugin's sessions, an empty WASI context, limits.
struct PluginState {
    sessions: sessionbox::Store,
    max_sessions: Option<usize>,
    max_bytes: Option<u64>,
    wasi: WasiCtx,
    table: ResourceTable,
    limits: MemoryLimit,
}

/// Caps a run's memory and remembers refusing, so that the trap the plugin
/// then hits can be reported as what it is.
struct MemoryLimit {
    max: usize,
    refused: bool,
}

impl ResourceLimiter for MemoryLimit {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        self.refused |= desired > self.max;
        Ok(desired <= self.max)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

impl SessionsView for PluginState {
    fn sessions(&mut self) -> &sessionbox::Store {
        &self.sessions
    }

    /// The quotas. Reading the directory on each write keeps the example
    /// short, and is approximate: runs at the same moment can overshoot by
    /// a write each, and a save's temporary file counts while it exists. It
    /// also costs a listing (and, for the byte quota, a `stat` per session
    /// file) per write: a platform with large stores would keep counts.
    fn may_write(&mut self, new_session: bool, bytes: usize) -> Result<(), String> {
        let max_sessions = self.max_sessions.filter(|_| new_session);
        if max_sessions.is_none() && self.max_bytes.is_none() {
            return Ok(());
        }
        let prefix = &self.sessions.settings().file_prefix;
        // A directory that cannot be listed: the store's own call reports
        // it. A Redis store's quota would count keys and bytes there; this
        // example's stores are directories.
        let Some(Ok(entries)) = self.sessions.dir().map(std::fs::read_dir) else { return Ok(()) };
        let files = entries.filter_map(Result::ok).filter(|e| e.file_name().to_string_lossy().starts_with(prefix.as_str()));
        let (mut count, mut used) = (0usize, 0u64);
        for file in files {
            count += 1;
            if self.max_bytes.is_some() {
                // A file deleted meanwhile takes nothing.
                used += file.metadata().map_or(0, |m| m.len());
            }
        }
        if let Some(max) = max_sessions.filter(|&max| count >= max) {
            return Err(format!("this plugin's session quota is full ({max} sessions)"));
        }
        if let Some(max) = self.max_bytes.filter(|&max| used.saturating_add(stored_size_bound(bytes)) > max) {
            return Err(format!("this plugin's byte quota is full ({max} bytes; its sessions take {used})"));
        }
        Ok(())
    }
}

impl WasiView for PluginState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl PluginHost {
    /// A host whose plugins run within `limits`.
    pub fn new(limits: Limits) -> wasmtime::Result<PluginHost> {
        let mut config = Config::new();
        config.epoch_interruption(true);
        let engine = Engine::new(&config)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        plugin::add_to_linker(&mut linker)?;
        let ticking = Arc::new(AtomicBool::new(true));
        let (ticker, running) = (engine.clone(), ticking.clone());
        std::thread::spawn(move || {
            while running.load(Ordering::Relaxed) {
                std::thread::sleep(TICK);
                ticker.increment_epoch();
            }
        });
        Ok(PluginHost { engine, linker, limits, ticking })
    }

    /// Compiles and links the plugin `wasm`, whose sessions are `sessions`.
    /// Refuses a plugin that imports storage or network access
    /// ([`plugin::STORAGE_AND_NETWORK`]).
    pub fn load(&self, wasm: &[u8], sessions: sessionbox::Store) -> wasmtime::Result<Plugin> {
        let component = Component::new(&self.engine, wasm)?;
        plugin::refuse_imports(&self.engine, &component, plugin::STORAGE_AND_NETWORK)?;
        Ok(Plugin { pre: self.linker.instantiate_pre(&component)?, sessions })
    }

    /// Runs the plugin's command `args` in a fresh instance. `Err` when the
    /// plugin failed as a program (trapped, ran past the deadline or out of
    /// memory); the plugin's own answer otherwise.
    pub fn run(&self, plugin: &Plugin, args: &[&str]) -> wasmtime::Result<Result<String, String>> {
        let state = PluginState {
            sessions: plugin.sessions.clone(),
            max_sessions: self.limits.max_sessions,
            max_bytes: self.limits.max_bytes,
            wasi: WasiCtx::builder().build(),
            table: ResourceTable::new(),
            limits: MemoryLimit { max: self.limits.memory, refused: false },
        };
        let mut store = wasmtime::Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limits);
        store.set_epoch_deadline((self.limits.deadline.as_millis() / TICK.as_millis()).max(1) as u64);
        let args = args.iter().map(|a| a.to_string()).collect();
        let result = plugin.pre.instantiate(&mut store).and_then(|instance| {
            let run = instance.get_typed_func::<(Vec<String>,), (Result<String, String>,)>(&mut store, "run")?;
            Ok(run.call(&mut store, (args,))?.0)
        });
        result.map_err(|e| {
            // The deadline first: a plugin may have survived a refused
            // allocation and looped afterwards.
            if e.downcast_ref::<Trap>() == Some(&Trap::Interrupt) {
                wasmtime::format_err!("the plugin ran past its deadline of {:?}", self.limits.deadline)
            } else if store.data().limits.refused {
                wasmtime::format_err!("the plugin needed more than its memory limit of {} bytes", self.limits.memory)
            } else {
                e
            }
        })
    }
}

impl Drop for PluginHost {
    fn drop(&mut self) {
        self.ticking.store(false, Ordering::Relaxed);
    }
}
