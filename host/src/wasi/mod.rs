//! What the guest may import: the synchronous WASI 0.2 interfaces it uses
//! and nothing else. Sockets and http are absent, so a component that
//! imports them fails to link.
//!
//! Besides filesystem, random and wall clock, Rust's standard library makes
//! every wasm32-wasip2 component import `wasi:cli` environment/exit/stdio/
//! terminal and `wasi:io`; the context gives those an empty environment, no
//! arguments and no stdio.

mod filesystem;
mod streams;

use crate::state::HostState;
use filesystem::{Filesystem, NonBlockingOpen};
use streams::{Streams, StreamsData};
use wasmtime::component::{HasData, Linker, ResourceTable};
use wasmtime_wasi::cli::{WasiCli, WasiCliView};
use wasmtime_wasi::clocks::{WasiClocks, WasiClocksView};
use wasmtime_wasi::filesystem::{WasiFilesystem, WasiFilesystemView};
use wasmtime_wasi::p2::bindings::{cli, clocks, filesystem as wasi_filesystem, random, sync};
use wasmtime_wasi::random::{WasiRandom, WasiRandomView};
use wasmtime_wasi::WasiView;


struct HasIo;

impl HasData for HasIo {
    type Data<'a> = &'a mut ResourceTable;
}

/// Adds the interfaces the guest imports, synchronous flavour, to `linker`.
pub(crate) fn add_wasi(l: &mut Linker<HostState>) -> wasmtime::Result<()> {
    type T = HostState;
    wasmtime_wasi_io::bindings::wasi::io::error::add_to_linker::<T, HasIo>(l, |t| t.ctx().table)?;
    sync::io::poll::add_to_linker::<T, HasIo>(l, |t| t.ctx().table)?;
    // Blocking stream calls polled once, not under tokio's block_on: see
    // self::streams.
    sync::io::streams::add_to_linker::<T, StreamsData>(l, |t| Streams(t.ctx().table))?;
    cli::environment::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::exit::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::stdin::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::stdout::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::stderr::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::terminal_input::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::terminal_output::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::terminal_stdin::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::terminal_stdout::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::terminal_stderr::add_to_linker::<T, WasiCli>(l, T::cli)?;
    clocks::wall_clock::add_to_linker::<T, WasiClocks>(l, T::clocks)?;
    clocks::monotonic_clock::add_to_linker::<T, WasiClocks>(l, T::clocks)?;
    // Opens of existing entries never block (a FIFO swapped in): see
    // self::filesystem.
    sync::filesystem::types::add_to_linker::<T, Filesystem>(l, |t| NonBlockingOpen(t.filesystem()))?;
    wasi_filesystem::preopens::add_to_linker::<T, WasiFilesystem>(l, T::filesystem)?;
    random::random::add_to_linker::<T, WasiRandom>(l, T::random)?;
    random::insecure_seed::add_to_linker::<T, WasiRandom>(l, T::random)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every WASI interface name (without version) `add_wasi` links.
    const OFFERED: &[&str] = &[
        "wasi:cli/environment",
        "wasi:cli/exit",
        "wasi:cli/stdin",
        "wasi:cli/stdout",
        "wasi:cli/stderr",
        "wasi:cli/terminal-input",
        "wasi:cli/terminal-output",
        "wasi:cli/terminal-stdin",
        "wasi:cli/terminal-stdout",
        "wasi:cli/terminal-stderr",
        "wasi:clocks/wall-clock",
        "wasi:clocks/monotonic-clock",
        "wasi:filesystem/types",
        "wasi:filesystem/preopens",
        "wasi:io/error",
        "wasi:io/poll",
        "wasi:io/streams",
        "wasi:random/random",
        "wasi:random/insecure-seed",
    ];

    fn unversioned(name: &str) -> &str {
        name.split('@').next().unwrap_or(name)
    }

    fn imports(guest: &crate::compile_cache::Guest) -> Vec<String> {
        let rt = crate::runtime::runtime().unwrap();
        let component = crate::compile_cache::load_component(&rt.engine, guest).unwrap();
        component.component_type().imports(&rt.engine).map(|(n, _)| n.to_owned()).collect()
    }

    /// The embedded guest imports nothing beyond what is offered, and in
    /// particular no sockets or http.
    #[test]
    fn guest_imports_only_what_is_offered() {
        let imports = imports(&crate::compile_cache::GUEST);
        assert!(imports.iter().any(|n| n.starts_with("wasi:filesystem/types")));
        for name in &imports {
            assert!(OFFERED.contains(&unversioned(name)), "unexpected guest import {name}");
            assert!(!name.contains("sockets") && !name.contains("http"), "{name}");
        }
    }

    /// The key-value guest imports the `kv` interface instead of any
    /// filesystem, and otherwise only what is offered.
    #[test]
    fn the_kv_guest_imports_kv_and_no_filesystem() {
        let imports = imports(&crate::compile_cache::GUEST_KV);
        assert!(imports.iter().any(|n| unversioned(n) == "sessionbox:store/kv"), "{imports:?}");
        for name in imports.iter().filter(|n| unversioned(n) != "sessionbox:store/kv") {
            assert!(OFFERED.contains(&unversioned(name)), "unexpected guest import {name}");
            assert!(!name.contains("filesystem") && !name.contains("sockets") && !name.contains("http"), "{name}");
        }
    }

    /// A component importing wasi:sockets does not link.
    #[test]
    fn a_component_importing_sockets_fails_to_link() {
        let rt = crate::runtime::runtime().unwrap();
        let wat = r#"(component
            (import "wasi:sockets/instance-network@0.2.0" (instance
                (export "network" (type (sub resource)))
            ))
        )"#;
        let component = wasmtime::component::Component::new(&rt.engine, wat).unwrap();
        let mut linker = Linker::<HostState>::new(&rt.engine);
        add_wasi(&mut linker).unwrap();
        let err = linker.instantiate_pre(&component).err().expect("sockets import must not link");
        assert!(format!("{err:#}").contains("sockets"), "{err:#}");
    }
}
