//! `wasmcache check`: run the conformance suite against a backend.

use std::process::ExitCode;

use wasmcache::{ComponentInfo, ContractVersion, Limits, SystemClock, conformance};

use super::backend_arg::BackendSpec;
use super::outcome::{EXIT_FAILED, Failure, print_json};
use super::progress;

/// Run the conformance suite against a backend and report each case.
///
/// Every case gets a freshly initialised backend and a clock the suite moves by hand.
/// Prints one line per case and a summary `N passed, M failed`; exits 1 if any case
/// failed and 3 if the backend could not be loaded or initialised.
#[derive(Debug, clap::Args)]
pub(super) struct Args {
    #[command(flatten)]
    backend: BackendSpec,

    /// Print the report as JSON on stdout instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(serde::Serialize)]
struct JsonReport<'a> {
    source: String,
    component: Option<&'a ComponentInfo>,
    contract: Option<ContractVersion>,
    passed: usize,
    failed: usize,
    not_applicable: usize,
    #[serde(flatten)]
    report: &'a conformance::Report,
}

pub(super) fn run(args: Args) -> Result<ExitCode, Failure> {
    let show_progress = progress::enabled(args.json);
    let resolved = args.backend.resolve(Limits::default(), show_progress)?;
    let (source, factory, component) = (resolved.arg, resolved.factory, resolved.component);
    let options = args.backend.options;

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
            contract: info.and_then(|i| i.contract_version()),
            passed: report.passed(),
            failed: report.failed(),
            not_applicable: report.not_applicable(),
            report: &report,
        })?;
    } else {
        match info {
            Some(info) => println!(
                "checking {} (contract {}, {:.1} KiB, compiled in {:.0} ms)",
                source.label(),
                info.contract_version()
                    .map_or_else(|| "?".to_string(), |v| v.to_string()),
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
        ExitCode::from(EXIT_FAILED)
    })
}
