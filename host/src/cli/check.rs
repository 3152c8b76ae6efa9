//! `wasmcache check`: run the conformance suite against a backend.

use std::process::ExitCode;

use wasmcache::{ComponentInfo, InitOptions, SystemClock, conformance};

use super::source::{self, Source};
use super::{Failure, print_json, progress};

/// Run the conformance suite against a backend and report each case.
///
/// Every case gets a freshly initialised backend and a clock the suite moves by hand.
/// Prints one line per case and a summary `N passed, M failed`; exits 1 if any case
/// failed and 3 if the backend could not be loaded or initialised.
#[derive(Debug, clap::Args)]
pub(super) struct Args {
    #[arg(help = source::HELP, value_name = "COMPONENT")]
    component: Option<String>,

    /// Pass `KEY=VALUE` to the backend's `init` (repeat for several options).
    #[arg(short = 'o', long = "option", value_name = "KEY=VALUE", value_parser = parse_option)]
    options: Vec<(String, String)>,

    /// Print the report as JSON on stdout instead of text.
    #[arg(long)]
    json: bool,

    #[command(flatten)]
    engine: source::EngineArgs,
}

/// Parses `KEY=VALUE`.
pub(super) fn parse_option(raw: &str) -> Result<(String, String), String> {
    match raw.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
        _ => Err(format!("expected KEY=VALUE, got `{raw}`")),
    }
}

#[derive(serde::Serialize)]
struct JsonReport<'a> {
    source: String,
    component: Option<&'a ComponentInfo>,
    passed: usize,
    failed: usize,
    #[serde(flatten)]
    report: &'a conformance::Report,
}

pub(super) fn run(args: Args) -> Result<ExitCode, Failure> {
    let source = Source::parse(args.component.as_deref())?;
    let show_progress = progress::enabled(args.json);
    let (factory, component) = source.factory(&args.engine, show_progress)?;
    let options: InitOptions = args.options;

    // A backend that cannot even start with the given options is a load failure, not 21
    // failed cases.
    factory
        .init(&options, SystemClock::shared())
        .map_err(|e| Failure::Load(format!("{}: init failed: {e}", source.label())))?;

    let bar = progress::bar(show_progress, conformance::cases().len() as u64);
    let report = conformance::run_with(&*factory, &options, |outcome| {
        bar.set_message(outcome.case);
        bar.inc(1);
    });
    bar.finish_and_clear();

    let info = component.as_ref().map(|c| c.info());
    if args.json {
        print_json(&JsonReport {
            source: source.label(),
            component: info,
            passed: report.passed(),
            failed: report.failed(),
            report: &report,
        })?;
    } else {
        match info {
            Some(info) => println!(
                "checking {} ({:.1} KiB, compiled in {:.0} ms)",
                source.label(),
                info.size_bytes as f64 / 1024.0,
                info.compile_time.as_secs_f64() * 1e3
            ),
            None => println!("checking {}", source.label()),
        }
        println!("{report}");
    }
    Ok(if report.failed() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(super::EXIT_FAILED)
    })
}

#[cfg(test)]
mod tests {
    use super::parse_option;

    #[test]
    fn options_split_at_the_first_equals_sign() {
        assert_eq!(parse_option("a=b=c"), Ok(("a".into(), "b=c".into())));
        assert_eq!(parse_option("a="), Ok(("a".into(), String::new())));
        assert!(parse_option("=b").is_err());
        assert!(parse_option("ab").is_err());
    }
}
