//! `wasmcache inspect`: what a component is and whether it is a valid backend.

use std::process::ExitCode;

use wasmcache::{BackendComponent, ComponentInfo, ContractVersion};

use super::backend_arg::{self, BackendArg};
use super::outcome::{EXIT_LOAD, Failure, print_json};
use super::progress;

/// Show a component's world, imports, exports, size, digest and compile time.
///
/// Also says whether the host would accept it as a backend and, if not, why. Exits 3 when
/// it is not a loadable backend.
#[derive(Debug, clap::Args)]
pub(super) struct Args {
    #[arg(help = backend_arg::HELP, value_name = "COMPONENT")]
    component: Option<String>,

    /// Print the description as JSON on stdout instead of text.
    #[arg(long)]
    json: bool,

    #[command(flatten)]
    engine: backend_arg::EngineArgs,
}

#[derive(serde::Serialize)]
struct JsonInspect<'a> {
    source: String,
    world: Option<String>,
    contract: Option<ContractVersion>,
    uses_wasi: bool,
    valid_backend: bool,
    problem: Option<String>,
    #[serde(flatten)]
    info: &'a ComponentInfo,
}

pub(super) fn run(args: Args) -> Result<ExitCode, Failure> {
    let source = BackendArg::parse(args.component.as_deref())?;
    let Some(bytes) = source.bytes()? else {
        return Err(Failure::Load(
            "`native` is not a component; nothing to inspect".into(),
        ));
    };
    let engine = args.engine.build()?;
    let spinner = progress::spinner(
        progress::enabled(args.json),
        format!("compiling {}", source.label()),
    );
    let info = ComponentInfo::inspect(&engine, &source.label(), &bytes);
    let validation = info
        .as_ref()
        .ok()
        .map(|_| BackendComponent::from_bytes(&engine, &source.label(), &bytes));
    spinner.finish_and_clear();
    let info = info.map_err(|e| source.load_failure(&e))?;
    let problem = match validation {
        Some(Err(e)) => Some(e.to_string()),
        _ => None,
    };

    if args.json {
        print_json(&JsonInspect {
            source: source.label(),
            world: info.world(),
            contract: info.contract_version(),
            uses_wasi: info.uses_wasi(),
            valid_backend: problem.is_none(),
            problem: problem.clone(),
            info: &info,
        })?;
    } else {
        print_text(&source.label(), &info, problem.as_deref());
    }
    Ok(if problem.is_none() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_LOAD)
    })
}

fn print_text(label: &str, info: &ComponentInfo, problem: Option<&str>) {
    println!("component   {label}");
    println!(
        "world       {}",
        info.world()
            .as_deref()
            .unwrap_or("(not a wasmcache backend)")
    );
    match info.contract_version() {
        Some(version) if version == ContractVersion::ALL[0] => {
            println!("contract    {version}");
        }
        Some(version) => {
            println!("contract    {version} (older: served, but without what newer versions add)")
        }
        None => println!("contract    (none this host serves)"),
    }
    println!(
        "size        {} bytes ({:.1} KiB)",
        info.size_bytes,
        info.size_bytes as f64 / 1024.0
    );
    println!("sha256      {}", info.sha256);
    println!(
        "compiled in {:.1} ms",
        info.compile_time.as_secs_f64() * 1e3
    );
    let mark = |name: &str| match name {
        n if n.starts_with("wasi:") => "  (WASI: linked with nothing granted)",
        _ => "",
    };
    println!("imports     {}", info.imports.len());
    for import in &info.imports {
        println!("  {}{}", import.name, mark(&import.name));
        if !import.functions.is_empty() && !import.name.starts_with("wasi:") {
            println!("    {}", import.functions.join(", "));
        }
    }
    println!("exports     {}", info.exports.len());
    for export in &info.exports {
        println!("  {}", export.name);
        if !export.functions.is_empty() {
            println!("    {}", export.functions.join(", "));
        }
    }
    match problem {
        None => println!("backend     valid: the host accepts it"),
        Some(problem) => println!("backend     NOT VALID: {problem}"),
    }
}
