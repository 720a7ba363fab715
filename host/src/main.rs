//! The `sessionbox` command line: Django's file session store from the shell.

mod cli;

fn main() -> std::process::ExitCode {
    cli::run()
}
