//! `wasmcache bench`: what a backend author runs to see what their backend costs.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use wasmcache::{Backend, BackendFactory, InitOptions, MemoryBackendFactory, SystemClock};

use super::check::parse_option;
use super::source::{self, Source};
use super::{Failure, print_json, progress};

/// Measure a backend's get-hit, get-miss and put beside the native reference backend.
///
/// For each value size, both backends are filled with the same keys, then each operation
/// runs for `--ops` calls over them in a fixed pseudo-random order, timing every call.
/// Reports calls per second (including the timing overhead, ~20-30 ns a call) and latency
/// percentiles, and the ratio to the native backend measured in the same run. Large
/// values use fewer keys (at most 32 MiB of values per backend) so the default memory
/// limit holds.
#[derive(Debug, clap::Args)]
pub(super) struct Args {
    #[arg(help = source::HELP, value_name = "COMPONENT")]
    component: Option<String>,

    /// Pass `KEY=VALUE` to the backend's `init` (the native backend takes none).
    #[arg(short = 'o', long = "option", value_name = "KEY=VALUE", value_parser = parse_option)]
    options: Vec<(String, String)>,

    /// Value sizes in bytes, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "64,1024,16384")]
    sizes: Vec<usize>,

    /// Keys to fill each backend with (fewer for large values).
    #[arg(long, default_value_t = 10_000)]
    keys: usize,

    /// Calls timed per operation, size and backend.
    #[arg(long, default_value_t = 100_000)]
    ops: usize,

    /// Print the results as JSON on stdout instead of a table.
    #[arg(long)]
    json: bool,

    #[command(flatten)]
    engine: source::EngineArgs,
}

/// One measured operation.
#[derive(Debug, serde::Serialize)]
struct Measurement {
    backend: &'static str,
    operation: &'static str,
    value_bytes: usize,
    keys: usize,
    calls: usize,
    ops_per_second: f64,
    p50_ns: u64,
    p90_ns: u64,
    p99_ns: u64,
    max_ns: u64,
    /// This backend's p50 over the native backend's, for the same operation and size.
    p50_vs_native: f64,
    /// `get-hit` calls that missed because the backend had evicted the key.
    missed: usize,
}

const OPERATIONS: [&str; 3] = ["get-hit", "get-miss", "put"];

pub(super) fn run(args: Args) -> Result<ExitCode, Failure> {
    let source = Source::parse(args.component.as_deref())?;
    if args.ops == 0 || args.keys == 0 || args.sizes.contains(&0) {
        return Err(Failure::Other(anyhow::anyhow!(
            "--ops, --keys and every --sizes value must be positive"
        )));
    }
    let show_progress = progress::enabled(args.json);
    let (factory, _) = source.factory(&args.engine, show_progress)?;
    let options: InitOptions = args.options;
    let native = MemoryBackendFactory::default();
    let subjects: [(&'static str, &dyn BackendFactory, &InitOptions); 2] = [
        ("native", &native, &Vec::new()),
        ("backend", &*factory, &options),
    ];

    let bar = progress::bar(
        show_progress,
        (args.sizes.len() * OPERATIONS.len() * subjects.len()) as u64,
    );
    let mut results = Vec::new();
    for &size in &args.sizes {
        let keys = args.keys.min(((32usize << 20) / size).max(1));
        let value = vec![0xa5_u8; size];
        let key = |i: usize| format!("bench-key-{i:010}").into_bytes();
        let mut native_p50 = [0u64; 3];
        for (name, factory, options) in subjects {
            let backend = factory
                .init(options, SystemClock::shared())
                .map_err(|e| Failure::Load(format!("{}: init failed: {e}", source.label())))?;
            for i in 0..keys {
                backend.put(&key(i), &value, None).map_err(|e| {
                    Failure::Other(anyhow::anyhow!(
                        "{name}: filling with {size}-byte values failed: {e}"
                    ))
                })?;
            }
            for (op_index, operation) in OPERATIONS.into_iter().enumerate() {
                bar.set_message(format!("{size} B {operation} {name}"));
                let (mut sorted, elapsed, missed) =
                    measure(&*backend, operation, &value, keys, args.ops).map_err(|e| {
                        Failure::Other(anyhow::anyhow!("{name} {operation} ({size} B) failed: {e}"))
                    })?;
                sorted.sort_unstable();
                let p = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
                if name == "native" {
                    native_p50[op_index] = p(0.5).max(1);
                }
                results.push(Measurement {
                    backend: name,
                    operation,
                    value_bytes: size,
                    keys,
                    calls: sorted.len(),
                    ops_per_second: sorted.len() as f64 / elapsed.as_secs_f64(),
                    p50_ns: p(0.5),
                    p90_ns: p(0.9),
                    p99_ns: p(0.99),
                    max_ns: sorted[sorted.len() - 1],
                    p50_vs_native: p(0.5) as f64 / native_p50[op_index] as f64,
                    missed,
                });
                bar.inc(1);
            }
        }
    }
    bar.finish_and_clear();

    if args.json {
        print_json(&results)?;
    } else {
        println!(
            "{} vs the native reference backend ({} calls per row)",
            source.label(),
            args.ops
        );
        println!(
            "{:>8} {:<9} {:<8} {:>12} {:>9} {:>9} {:>9} {:>10} {:>9}",
            "value", "op", "backend", "calls/s", "p50 ns", "p90 ns", "p99 ns", "max ns", "p50 x"
        );
        for m in &results {
            println!(
                "{:>8} {:<9} {:<8} {:>12.0} {:>9} {:>9} {:>9} {:>10} {:>9.2}",
                format!("{} B", m.value_bytes),
                m.operation,
                m.backend,
                m.ops_per_second,
                m.p50_ns,
                m.p90_ns,
                m.p99_ns,
                m.max_ns,
                m.p50_vs_native
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Times `calls` calls of `operation`; returns the per-call nanoseconds, the total time,
/// and how many `get-hit` calls missed (a bounded backend may have evicted some keys).
fn measure(
    backend: &dyn Backend,
    operation: &str,
    value: &[u8],
    keys: usize,
    calls: usize,
) -> wasmcache::Result<(Vec<u64>, Duration, usize)> {
    let mut samples = Vec::with_capacity(calls);
    let mut missed = 0usize;
    let mut index = 0usize;
    let started = Instant::now();
    for _ in 0..calls {
        index = (index + 7919) % keys;
        let key = format!("bench-key-{index:010}").into_bytes();
        let call = Instant::now();
        match operation {
            "get-hit" => {
                if backend.get(&key)?.is_none() {
                    missed += 1;
                }
            }
            "get-miss" => {
                let mut absent = key;
                absent[0] = b'B';
                std::hint::black_box(backend.get(&absent)?);
            }
            _ => backend.put(&key, value, None)?,
        }
        samples.push(call.elapsed().as_nanos() as u64);
    }
    Ok((samples, started.elapsed(), missed))
}
