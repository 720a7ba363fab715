//! Sessions for other components: the WIT interface
//! `sessionbox:store/bound-sessions` as an import, backed by a [`Store`] the
//! embedder chooses per plugin.
//!
//! A plugin (any component whose world includes
//! `sessionbox:store/session-consumer`) calls `create`, `load`, `save`,
//! `exists`, `delete` and `cycle-key`. It never sees a directory, the secret
//! or any other setting: the embedder opened the `Store` and keeps it. Give
//! each plugin its own store (its own directory) and plugins cannot reach
//! each other's sessions. A plugin's calls run the sessionbox component in
//! the store's own wasmtime `Store`s, so a plugin that traps, loops or runs
//! out of memory poisons only its own instance.
//!
//! ```
//! use sessionbox::plugin::{self, SessionsView};
//! use sessionbox::{Settings, Store};
//! use wasmtime::component::{Component, Linker};
//!
//! struct Plugin { sessions: Store }
//! impl SessionsView for Plugin {
//!     fn sessions(&mut self) -> &Store { &self.sessions }
//! }
//!
//! # fn run(engine: &wasmtime::Engine, wasm: &[u8], dir: &std::path::Path) -> wasmtime::Result<()> {
//! let component = Component::new(engine, wasm)?;
//! plugin::refuse_imports(engine, &component, plugin::STORAGE_AND_NETWORK)?;
//! let mut linker = Linker::<Plugin>::new(engine);
//! plugin::add_to_linker(&mut linker)?;
//! let sessions = Store::open(dir, Settings::new("the secret, which the plugin never sees"))?;
//! let mut store = wasmtime::Store::new(engine, Plugin { sessions });
//! let instance = linker.instantiate(&mut store, &component)?;
//! # let _ = instance; Ok(()) }
//! ```
//!
//! The interface's `error` is the store's: the errors only a host has (a
//! store call past its deadline or out of memory, a runtime failure) reach
//! the plugin as `io` with the same one-line text, except that a store that
//! cannot open its directory says only that it is unavailable (the detail,
//! with the path, goes to the log target `sessionbox::plugin`).

use crate::bindings::{bound, to_wit_error, wit};
use crate::error::Error;
use crate::store::Store;
use wasmtime::component::{Component, HasData, Linker};
use wasmtime::Engine;

/// The interface a plugin imports, with its version, as it appears in a
/// component's import names.
pub const INTERFACE: &str = "sessionbox:store/bound-sessions@0.5.1";

/// Import names (prefixes) that reach storage or the network beyond the
/// plugin's sessions: a filesystem, sockets, outgoing HTTP. Pass them to
/// [`refuse_imports`] unless the plugin is meant to have them.
pub const STORAGE_AND_NETWORK: &[&str] = &["wasi:filesystem/", "wasi:sockets/", "wasi:http/outgoing-handler"];

/// What a plugin's wasmtime store data must give the import: the session
/// store that plugin uses, and (optionally) a say over its writes.
pub trait SessionsView {
    /// The plugin's own session store.
    fn sessions(&mut self) -> &Store;

    /// Called before each write the plugin asks for: `new_session` when it
    /// would add a session (a `create`, a `save` with `must-create`, a
    /// `cycle-key` of a key that names no session), else `false` (a `save`
    /// of an existing one, or a `cycle-key` that replaces one); `bytes` is
    /// the length of its data text. `Err`
    /// refuses the write, and the plugin gets `io` with that text. The
    /// default allows every write; a platform that must keep one plugin
    /// from filling the disk counts sessions or bytes here.
    fn may_write(&mut self, new_session: bool, bytes: usize) -> Result<(), String> {
        let _ = (new_session, bytes);
        Ok(())
    }
}

/// Adds `sessionbox:store/bound-sessions` to `linker`: each call goes to
/// the [`Store`] that [`SessionsView::sessions`] returns for the calling
/// plugin's data.
pub fn add_to_linker<T: SessionsView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    bound::add_to_linker::<T, BoundSessions<T>>(linker, |data| Bound(data))
}

/// The import names of `component` that start with one of `prefixes`.
pub fn imports_matching(engine: &Engine, component: &Component, prefixes: &[&str]) -> Vec<String> {
    let ty = component.component_type();
    let imports = ty.imports(engine).map(|(name, _)| name.to_owned());
    imports.filter(|name| prefixes.iter().any(|p| name.starts_with(p))).collect()
}

/// Fails, naming the imports, when `component` imports anything whose name
/// starts with one of `prefixes` (for example [`STORAGE_AND_NETWORK`]). Call
/// it before linking: a linker that holds all of WASI would otherwise
/// satisfy them.
pub fn refuse_imports(engine: &Engine, component: &Component, prefixes: &[&str]) -> wasmtime::Result<()> {
    let refused = imports_matching(engine, component, prefixes);
    if refused.is_empty() {
        Ok(())
    } else {
        wasmtime::bail!("the plugin imports {}, which this host does not grant", refused.join(", "))
    }
}

struct BoundSessions<T>(std::marker::PhantomData<T>);

impl<T: 'static> HasData for BoundSessions<T> {
    type Data<'a> = Bound<'a, T>;
}

/// The import's implementation over one plugin's data.
struct Bound<'a, T>(&'a mut T);

impl<T: SessionsView> Bound<'_, T> {
    /// The plugin's store, once its embedder allowed the write.
    fn writing(&mut self, new_session: bool, data: &str) -> Result<&Store, wit::Error> {
        self.0.may_write(new_session, data.len()).map_err(wit::Error::Io)?;
        Ok(self.0.sessions())
    }
}

impl<T: SessionsView> bound::Host for Bound<'_, T> {
    fn create(&mut self, data: String) -> Result<String, wit::Error> {
        self.writing(true, &data)?.create_json(&data).map_err(to_wit)
    }

    fn load(&mut self, key: String) -> Result<wit::Loaded, wit::Error> {
        self.0.sessions().load_wit(&key).map_err(to_wit)
    }

    fn save(&mut self, key: String, data: String, must_create: bool) -> Result<(), wit::Error> {
        self.writing(must_create, &data)?.save_json(&key, &data, must_create).map_err(to_wit)
    }

    fn exists(&mut self, key: String) -> Result<bool, wit::Error> {
        self.0.sessions().exists(&key).map_err(to_wit)
    }

    fn delete(&mut self, key: String) -> Result<bool, wit::Error> {
        self.0.sessions().delete(&key).map_err(to_wit)
    }

    fn cycle_key(&mut self, key: String, data: String) -> Result<String, wit::Error> {
        // A cycle of a key that names no session makes one: a new session
        // for the quota's sake.
        let replaces = self.0.sessions().exists(&key).map_err(to_wit)?;
        self.writing(!replaces, &data)?.cycle_key_json(&key, &data).map_err(to_wit)
    }
}

/// The WIT error a plugin gets. A configuration error names the host's
/// directory, which a plugin must not learn: the plugin gets a plain `io`,
/// the host's log the detail.
fn to_wit(e: Error) -> wit::Error {
    match e {
        Error::Config(why) => {
            log::error!(target: "sessionbox::plugin", "a plugin's session store is unavailable: {why}");
            wit::Error::Io("the session store is unavailable".into())
        }
        other => to_wit_error(other),
    }
}
