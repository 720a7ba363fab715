//! The `sessionbox` command line: Django's file session store from the shell.

mod cli;

use std::sync::atomic::{AtomicBool, Ordering};

/// Whether fd 1 was closed when the process started.
static STDOUT_WAS_CLOSED: AtomicBool = AtomicBool::new(false);

/// Runs before Rust's runtime, which reopens closed standard descriptors on
/// /dev/null: after that, `sessionbox create >&-` would print a new key into
/// nothing and exit 0. ELF constructors run before `main`'s runtime set-up.
#[used]
#[link_section = ".init_array"]
static CHECK_STDOUT: extern "C" fn() = {
    extern "C" fn check_stdout() {
        // SAFETY: fd 1 is only asked about, not used or closed.
        let closed = rustix::io::fcntl_getfd(unsafe { rustix::fd::BorrowedFd::borrow_raw(1) }).is_err();
        STDOUT_WAS_CLOSED.store(closed, Ordering::Relaxed);
    }
    check_stdout
};

fn main() -> std::process::ExitCode {
    cli::run(STDOUT_WAS_CLOSED.load(Ordering::Relaxed))
}
