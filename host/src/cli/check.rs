//! `wasmcache check`: run the conformance suite against a backend.

use std::process::ExitCode;

use wasmcache::conformance::{differential, render};
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

    /// Run only the case of this name (`differential` for only the differential check).
    #[arg(long, value_name = "NAME")]
    case: Option<String>,

    /// Show failures in full, with a trap's wasm backtrace.
    #[arg(long, short)]
    verbose: bool,

    /// After the cases, run N random operation sequences (1000 without N) against the
    /// backend and the native reference; the first divergence is shrunk to the shortest
    /// sequence that shows it.
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "1000")]
    differential: Option<u32>,

    /// Where the differential sequences come from (default: a new seed each run, printed).
    #[arg(long, value_name = "SEED")]
    seed: Option<u64>,

    /// In the differential check, a forgotten entry is a divergence too (for backends
    /// that never evict).
    #[arg(long)]
    exact: bool,
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
    differential: Option<&'a differential::Outcome>,
}

pub(super) fn run(args: Args) -> Result<ExitCode, Failure> {
    let only_differential = args.case.as_deref() == Some("differential");
    if let Some(name) = args.case.as_deref().filter(|_| !only_differential)
        && !conformance::cases().iter().any(|c| c.name == name)
    {
        let names: Vec<&str> = conformance::cases().iter().map(|c| c.name).collect();
        return Err(Failure::Usage(format!(
            "no case `{name}`; there are: {}, differential",
            names.join(", ")
        )));
    }
    let show_progress = progress::enabled(args.json);
    let resolved = args.backend.resolve(Limits::default(), show_progress)?;
    let (source, factory, component) = (resolved.arg, resolved.factory, resolved.component);
    let options = args.backend.options;

    // A backend that cannot even start with the given options is a load failure, not 21
    // failed cases.
    factory
        .init(&options, SystemClock::shared())
        .map_err(|e| source.start_failure(&e))?;

    let only = |name: &str| match args.case.as_deref() {
        None => true,
        Some(case) => case == name,
    };
    let cases = if only_differential {
        0
    } else {
        conformance::cases().len()
    };
    let bar = progress::bar(show_progress, cases as u64);
    let mut report = conformance::run_only(
        &*factory,
        &options,
        |case| only(case.name),
        |outcome| {
            bar.set_message(outcome.case);
            bar.inc(1);
        },
    );
    bar.finish_and_clear();
    let differential = match args.differential {
        Some(sequences) if args.case.is_none() || only_differential => {
            let spinner = progress::spinner(
                show_progress,
                format!("differential: {sequences} random sequences"),
            );
            let config = differential::Config {
                sequences,
                seed: args.seed.unwrap_or_else(fresh_seed),
                exact: args.exact,
                ..differential::Config::default()
            };
            let outcome = differential::run(&*factory, &options, &config);
            spinner.finish_and_clear();
            Some(outcome)
        }
        _ => None,
    };
    if !args.verbose {
        for outcome in &mut report.outcomes {
            if let Some(why) = &mut outcome.failure {
                *why = render::first_line(why).to_string();
            }
        }
    }

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
            differential: differential.as_ref(),
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
        if !only_differential {
            println!("{report}");
        }
        match &differential {
            Some(outcome) if outcome.divergence.is_none() => {
                println!("pass  differential: {outcome}")
            }
            Some(outcome) if args.verbose => println!("FAIL  differential: {outcome:#}"),
            Some(outcome) => println!("FAIL  differential: {outcome}"),
            None => {}
        }
    }
    let diverged = differential
        .as_ref()
        .is_some_and(|o| o.divergence.is_some());
    Ok(if report.failed() == 0 && !diverged {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    })
}

/// A seed for a run without `--seed`: different each run, printed with the outcome.
fn fresh_seed() -> u64 {
    use std::hash::BuildHasher;
    std::hash::RandomState::new().hash_one(std::time::SystemTime::now()) % 1_000_000
}
