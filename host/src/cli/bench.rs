//! `wasmcache bench`: what a backend author runs to see what their backend costs.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use wasmcache::{Backend, BackendFactory, InitOptions, Limits, MemoryBackendFactory, SystemClock};

use super::backend_arg::BackendSpec;
use super::outcome::{EXIT_FAILED, Failure, print_json};
use super::progress;

/// Measure a backend's get-hit, get-miss and put beside the native reference backend.
///
/// For each value size, both backends are filled with the same keys, then each operation
/// runs for `--ops` calls over them in a fixed pseudo-random order, timing every call.
/// Reports calls per second (including the timing overhead, ~20-30 ns a call) and latency
/// percentiles, and the ratio to the native backend measured in the same run. Large
/// values use fewer keys (at most 32 MiB of values per backend) so the default memory
/// limit holds.
///
/// A row none of whose calls did what its name says (a get-hit that never hit, because
/// the backend kept none of the keys) is reported as such on stderr and makes the
/// command exit 1; rows where only some calls did are noted.
#[derive(Debug, clap::Args)]
pub(super) struct Args {
    #[command(flatten)]
    backend: BackendSpec,

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
    /// Calls that did not do what the operation's name says: a `get-hit` that missed (the
    /// backend had evicted the key, or never kept it), a `get-miss` that hit.
    missed: usize,
    /// Whether any call did what the name says; a row where none did is not a
    /// measurement of that operation, and makes the command fail.
    as_named: bool,
}

const OPERATIONS: [&str; 3] = ["get-hit", "get-miss", "put"];

pub(super) fn run(args: Args) -> Result<ExitCode, Failure> {
    if args.ops == 0 || args.keys == 0 || args.sizes.contains(&0) {
        return Err(Failure::Other(anyhow::anyhow!(
            "--ops, --keys and every --sizes value must be positive"
        )));
    }
    let show_progress = progress::enabled(args.json);
    let resolved = args.backend.resolve(Limits::default(), show_progress)?;
    let label = resolved.arg.label();
    let native = MemoryBackendFactory::default();
    let subjects: [Subject<'_>; 2] = [
        ("native", &native, &Vec::new()),
        ("backend", &*resolved.factory, &args.backend.options),
    ];
    let bar = progress::bar(
        show_progress,
        (args.sizes.len() * OPERATIONS.len() * subjects.len()) as u64,
    );
    let mut results = Vec::new();
    for &size in &args.sizes {
        let keys = args.keys.min(((32usize << 20) / size).max(1));
        let mut native_p50 = [0u64; 3];
        for subject in subjects {
            let backend = subject
                .1
                .init(subject.2, SystemClock::shared())
                .map_err(|e| resolved.arg.start_failure(&e))?;
            let run = Run {
                name: subject.0,
                size,
                keys,
                ops: args.ops,
            };
            run.fill(&*backend)?;
            for (op_index, operation) in OPERATIONS.into_iter().enumerate() {
                bar.set_message(format!("{size} B {operation} {}", subject.0));
                let m = run.measure(&*backend, operation, native_p50[op_index])?;
                if subject.0 == "native" {
                    native_p50[op_index] = m.p50_ns.max(1);
                }
                results.push(m);
                bar.inc(1);
            }
        }
    }
    bar.finish_and_clear();
    if args.json {
        print_json(&results)?;
    } else {
        print_table(&label, args.ops, &results);
    }
    let untrue: Vec<&Measurement> = results.iter().filter(|m| !m.as_named).collect();
    for m in &results {
        let line = untrue_line(m);
        if !line.is_empty() {
            eprintln!("{line}");
        }
    }
    Ok(if untrue.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    })
}

/// What a row's calls did other than what its name says, in words (empty when every
/// call did): an error line when none did, a note when some did not.
fn untrue_line(m: &Measurement) -> String {
    let what = match m.operation {
        "get-hit" => "missed",
        "get-miss" => "hit a key never put",
        _ => return String::new(),
    };
    let size = format!("{} {} at {} B", m.backend, m.operation, m.value_bytes);
    if !m.as_named {
        format!(
            "error: {size} is not a measurement of a {}: all {} calls {what}",
            m.operation, m.calls
        )
    } else if m.missed > 0 {
        format!(
            "note: {size}: {} of {} calls {what} ({:.1} %; a bounded backend evicts)",
            m.missed,
            m.calls,
            m.missed as f64 * 100.0 / m.calls as f64
        )
    } else {
        String::new()
    }
}

/// A backend measured: its row name, its factory and its `init` options.
type Subject<'a> = (&'static str, &'a dyn BackendFactory, &'a InitOptions);

/// One backend at one value size.
struct Run {
    name: &'static str,
    size: usize,
    keys: usize,
    ops: usize,
}

impl Run {
    fn key(i: usize) -> Vec<u8> {
        format!("bench-key-{i:010}").into_bytes()
    }

    fn fill(&self, backend: &dyn Backend) -> Result<(), Failure> {
        let value = vec![0xa5_u8; self.size];
        for i in 0..self.keys {
            backend.put(&Self::key(i), &value, None).map_err(|e| {
                Failure::Other(anyhow::anyhow!(
                    "{}: filling with {}-byte values failed: {e}",
                    self.name,
                    self.size
                ))
            })?;
        }
        Ok(())
    }

    /// Measures `operation`; `native_p50` is the native backend's p50 for it (0 while
    /// the native backend itself is measured).
    fn measure(
        &self,
        backend: &dyn Backend,
        operation: &'static str,
        native_p50: u64,
    ) -> Result<Measurement, Failure> {
        let value = vec![0xa5_u8; self.size];
        let (mut sorted, elapsed, missed) =
            measure(backend, operation, &value, self.keys, self.ops).map_err(|e| {
                Failure::Other(anyhow::anyhow!(
                    "{} {operation} ({} B) failed: {e}",
                    self.name,
                    self.size
                ))
            })?;
        sorted.sort_unstable();
        let p = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
        let native_p50 = if native_p50 == 0 {
            p(0.5).max(1)
        } else {
            native_p50
        };
        Ok(Measurement {
            backend: self.name,
            operation,
            value_bytes: self.size,
            keys: self.keys,
            calls: sorted.len(),
            ops_per_second: sorted.len() as f64 / elapsed.as_secs_f64(),
            p50_ns: p(0.5),
            p90_ns: p(0.9),
            p99_ns: p(0.99),
            max_ns: sorted[sorted.len() - 1],
            p50_vs_native: p(0.5) as f64 / native_p50 as f64,
            missed,
            as_named: missed < sorted.len(),
        })
    }
}

fn print_table(label: &str, ops: usize, results: &[Measurement]) {
    println!("{label} vs the native reference backend ({ops} calls per row)");
    println!(
        "{:>8} {:<9} {:<8} {:>12} {:>9} {:>9} {:>9} {:>10} {:>9}",
        "value", "op", "backend", "calls/s", "p50 ns", "p90 ns", "p99 ns", "max ns", "p50 x"
    );
    for m in results {
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

/// Times `calls` calls of `operation`; returns the per-call nanoseconds, the total time,
/// and how many calls did not do what the operation's name says.
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
                if backend.get(&absent)?.is_some() {
                    missed += 1;
                }
            }
            _ => backend.put(&key, value, None)?,
        }
        samples.push(call.elapsed().as_nanos() as u64);
    }
    Ok((samples, started.elapsed(), missed))
}
