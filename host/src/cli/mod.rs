//! The `wasmcache` command line: argument parsing, exit codes and the subcommands.

mod backend_arg;
mod bench;
mod check;
mod inspect;
mod new;
mod outcome;
mod progress;
mod serve;
mod traces;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use self::outcome::{EXIT_FAILED, EXIT_LOAD, EXIT_USAGE, Failure};

/// Host, check and inspect cache backends written as WebAssembly components.
///
/// A backend implements the `cache-backend` world from wasmcache's `wit/` folder (init,
/// get, put, invalidate, stats). wasmcache loads it into a sandbox and drives it.
///
/// Exit codes: 0 success; 1 a conformance case failed; 2 bad usage; 3 the component could
/// not be loaded (unreadable, not a component, wrong world or version, init refused).
#[derive(Debug, Parser)]
#[command(name = "wasmcache", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Check(check::Args),
    Inspect(inspect::Args),
    Bench(bench::Args),
    New(new::Args),
    Serve(Box<serve::Args>),
}

/// Parses the command line, runs it and maps the outcome to an exit code.
pub(crate) fn main() -> ExitCode {
    let cli = Cli::parse();
    // Kept to the end: dropping it sends the spans still buffered.
    let _traces = traces::init();
    let result = match cli.command {
        Command::Check(args) => check::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Bench(args) => bench::run(args),
        Command::New(args) => new::run(args),
        Command::Serve(args) => serve::run(*args),
    };
    match result {
        Ok(code) => code,
        Err(Failure::Load(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(EXIT_LOAD)
        }
        Err(Failure::Usage(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(EXIT_USAGE)
        }
        Err(Failure::Other(error)) => {
            eprintln!("error: {error:#}");
            ExitCode::from(EXIT_FAILED)
        }
    }
}
