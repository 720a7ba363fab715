//! Captures the library's log records per thread, so a test sees only what
//! its own calls logged (the library logs on the calling thread outside
//! tokio). One logger serves the whole test binary.

use std::cell::{Cell, RefCell};
use std::sync::Once;

/// One captured log record: level, target, message.
pub type Record = (log::Level, String, String);

struct CaptureLogger;

thread_local! {
    static CAPTURING: Cell<bool> = const { Cell::new(false) };
    static RECORDS: RefCell<Vec<Record>> = const { RefCell::new(Vec::new()) };
}

impl log::Log for CaptureLogger {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        CAPTURING.with(Cell::get)
    }
    fn log(&self, record: &log::Record<'_>) {
        // The wasm runtime's own tracing is not what these tests look at.
        let runtime = ["wasmtime", "cranelift", "wasmtime_wasi"].iter().any(|t| record.target().starts_with(t));
        if CAPTURING.with(Cell::get) && !runtime {
            RECORDS.with(|r| r.borrow_mut().push((record.level(), record.target().to_owned(), record.args().to_string())));
        }
    }
    fn flush(&self) {}
}

static LOGGER: CaptureLogger = CaptureLogger;

/// Runs `f`, returning its result and the log records it produced on this
/// thread.
pub fn capture<T>(f: impl FnOnce() -> T) -> (T, Vec<Record>) {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        log::set_logger(&LOGGER).expect("no other logger in this test binary");
        log::set_max_level(log::LevelFilter::Debug);
    });
    RECORDS.with(|r| r.borrow_mut().clear());
    CAPTURING.with(|c| c.set(true));
    let out = f();
    CAPTURING.with(|c| c.set(false));
    (out, RECORDS.with(|r| r.take()))
}
