//! How a subcommand ends: its exit codes, its failures, and JSON output.

/// Exit code: the command failed for a reason other than usage (clap exits with 2 for
/// usage errors itself).
pub(super) const EXIT_FAILED: u8 = 1;
/// Exit code: bad usage, as clap's own.
pub(super) const EXIT_USAGE: u8 = 2;
/// Exit code: the component could not be read, compiled, validated or initialised.
pub(super) const EXIT_LOAD: u8 = 3;

/// Why a subcommand stopped.
#[derive(Debug)]
pub(super) enum Failure {
    /// The component could not be loaded; the message names it and the problem.
    Load(String),
    /// The command line asked for something that cannot be done (exit code 2).
    Usage(String),
    /// Anything else.
    Other(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Self {
        Failure::Other(error)
    }
}

/// Prints `value` as pretty JSON on stdout.
pub(super) fn print_json(value: &impl serde::Serialize) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value).map_err(anyhow::Error::from)?;
    println!("{text}");
    Ok(())
}
