//! Parses the command line, opens the store, runs one command, and maps the
//! outcome to an exit code. JSON goes to stdout; one-line errors to stderr.

mod args;
mod commands;
mod logger;
mod secret;

use clap::Parser;
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

/// Runs the CLI.
pub fn run() -> ExitCode {
    logger::install();
    let cli = args::Cli::parse();
    let outcome = secret::settings(&cli).and_then(|settings| {
        let store = sessionbox::Store::open(&cli.dir, settings)?;
        commands::run(&store, &cli.command)
    });
    match outcome {
        Ok(output) => {
            println!("{output}");
            ExitCode::from(EXIT_OK)
        }
        Err(Failure::NoSession(why)) => {
            eprintln!("sessionbox: {why}");
            ExitCode::from(EXIT_NO_SESSION)
        }
        Err(Failure::Error(why)) => {
            eprintln!("sessionbox: error: {why}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}
