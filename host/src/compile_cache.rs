//! Compiles the embedded component once per machine: the compiled artifact is
//! kept in a cache directory, keyed by the component's hash and the engine's
//! compatibility hash, so a one-shot CLI run deserializes it in milliseconds
//! instead of compiling for a few hundred.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use wasmtime::component::Component;
use wasmtime::Engine;

/// The embedded guest component.
pub(crate) const GUEST_WASM: &[u8] = include_bytes!(env!("SESSIONBOX_GUEST_WASM"));
const GUEST_SHA256: &str = env!("SESSIONBOX_GUEST_SHA256");

/// Where compiled components are cached: `$SESSIONBOX_CACHE_DIR` (empty
/// disables caching), else the user's cache directory + `sessionbox`.
pub fn cache_dir() -> Option<PathBuf> {
    match std::env::var_os("SESSIONBOX_CACHE_DIR") {
        Some(dir) if dir.is_empty() => None,
        Some(dir) => Some(PathBuf::from(dir)),
        None => dirs::cache_dir().map(|d| d.join("sessionbox")),
    }
}

/// The guest component, from the cache when a compatible artifact is there,
/// else compiled (and cached best-effort).
pub(crate) fn load_component(engine: &Engine) -> wasmtime::Result<Component> {
    let Some(dir) = cache_dir() else {
        return Component::new(engine, GUEST_WASM);
    };
    let mut hasher = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    let path = dir.join(format!("guest-{}-{:016x}.cwasm", &GUEST_SHA256[..16], hasher.finish()));
    if path.exists() {
        // SAFETY: the file is one this module wrote (atomically, below) into
        // the user's own cache directory, for this exact component and engine
        // configuration; wasmtime also checks its header before using it.
        match unsafe { Component::deserialize_file(engine, &path) } {
            Ok(component) => return Ok(component),
            Err(e) => log::debug!("ignoring unusable cached component {}: {e}", path.display()),
        }
    }
    let compiled = engine.precompile_component(GUEST_WASM)?;
    if let Err(e) = write_atomically(&dir, &path, &compiled) {
        log::debug!("could not cache the compiled component at {}: {e}", path.display());
    }
    // SAFETY: these bytes were produced just now by this engine.
    unsafe { Component::deserialize(engine, &compiled) }
}

fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let temp = dir.join(format!(".tmp-{}-{:?}", std::process::id(), std::thread::current().id()));
    std::fs::write(&temp, bytes)?;
    std::fs::rename(&temp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&temp);
    })
}
