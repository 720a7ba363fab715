//! The component: WIT exports over the WASI preopened directory, or in the
//! key-value flavour (feature `kv`) over the host's `sessionbox:store/kv`.

mod exports;
#[cfg(not(feature = "kv"))]
mod dir;
#[cfg(feature = "kv")]
mod kv;

mod system;

#[cfg(not(feature = "kv"))]
pub use dir::{storage, WasiDir};
#[cfg(feature = "kv")]
pub use kv::{storage, WasiKv};
pub use system::WasiSystem;
