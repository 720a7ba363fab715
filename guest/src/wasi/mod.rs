//! The component: WIT exports over the WASI preopened directory.

mod dir;
mod exports;

pub use dir::{WasiDir, WasiSystem};
