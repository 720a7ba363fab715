//! Parses the command line, opens the store, runs one command, and maps the
//! outcome to an exit code. JSON goes to stdout; one-line errors to stderr.

mod args;
mod commands;
mod logger;
mod secret;

use clap::Parser;
use std::io::Write;
use std::process::ExitCode;

/// Exit code: the command worked.
pub const EXIT_OK: u8 = 0;
/// Exit code: the command failed (I/O, invalid input, component failure).
pub const EXIT_FAILURE: u8 = 1;
// Exit code 2, the command line was not understood, is clap's own.
/// Exit code: no such session (missing, expired, tampered or corrupt).
pub const EXIT_NO_SESSION: u8 = 3;

/// How a command ended, when it did not simply succeed.
pub enum Failure {
    /// No such session; the text says which and why.
    NoSession(String),
    /// Anything else.
    Error(String),
}

impl From<sessionbox::Error> for Failure {
    fn from(e: sessionbox::Error) -> Failure {
        Failure::Error(e.to_string())
    }
}

/// Runs the CLI. `stdout_was_closed`: standard output was closed when the
/// process started (Rust's runtime then quietly points it at /dev/null, so
/// only a check before `main` can tell).
pub fn run(stdout_was_closed: bool) -> ExitCode {
    logger::install();
    let cli = match args::Cli::try_parse() {
        Ok(cli) => cli,
        // --help and --version: printed here, so a closed or full stdout is
        // an error as for every command (clap would exit 0 regardless).
        Err(e) if matches!(e.kind(), clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion) => {
            return match print(e.render().to_string().trim_end()) {
                Ok(()) if !stdout_was_closed => ExitCode::from(EXIT_OK),
                Ok(()) => fail(EXIT_FAILURE, "error: standard output is closed"),
                Err(err) => fail(EXIT_FAILURE, &format!("error: writing to standard output failed: {err}")),
            };
        }
        Err(e) => e.exit(),
    };
    if stdout_was_closed {
        // Every command's result is on stdout; a key created now would be lost.
        return fail(EXIT_FAILURE, "error: standard output is closed, so the result could not be printed; nothing was done");
    }
    let outcome = secret::settings(&cli).and_then(|settings| {
        let options = sessionbox::Options { deadline: cli.deadline, ..sessionbox::Options::default() };
        let store = sessionbox::Store::open_with(&cli.dir, settings, options)?;
        commands::run(&store, &cli.command, cli.output)
    });
    match outcome {
        Ok(printed) => match print(&printed.text) {
            Ok(()) => ExitCode::from(EXIT_OK),
            Err(e) => {
                let done = printed.done.map(|done| format!("{done}, but ")).unwrap_or_default();
                fail(EXIT_FAILURE, &format!("error: {done}writing the result to standard output failed: {e}"))
            }
        },
        Err(Failure::NoSession(why)) => fail(EXIT_NO_SESSION, &why),
        Err(Failure::Error(why)) => fail(EXIT_FAILURE, &format!("error: {why}")),
    }
}

/// Writes `text` and a newline to stdout, reporting a closed pipe or a full
/// device instead of panicking as `println!` does.
fn print(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.write_all(b"\n")?;
    out.flush()
}

/// One line on stderr (ignoring a stderr that cannot be written either),
/// then the exit code. Control characters, say a newline in a path the
/// message quotes, are escaped so the line stays one line.
fn fail(code: u8, line: &str) -> ExitCode {
    let line: String = line.chars().flat_map(|c| if c.is_control() { c.escape_default().collect::<Vec<_>>() } else { vec![c] }).collect();
    let _ = writeln!(std::io::stderr(), "sessionbox: {line}");
    ExitCode::from(code)
}
