//! The conformance suite: named cases that hold any [`BackendFactory`] to the contract.
//!
//! Every case gets a freshly initialised backend and its own [`ManualClock`] (starting at
//! an arbitrary non-zero time), so cases are independent and no case sleeps. The same
//! suite runs against the native [`MemoryBackend`](crate::MemoryBackend) and against
//! every guest; `wasmcache check` prints its report.
//!
//! ```
//! use wasmcache::{MemoryBackendFactory, conformance};
//!
//! let report = conformance::run(&MemoryBackendFactory::default(), &Vec::new());
//! assert_eq!(report.failed(), 0, "{report}");
//! ```

mod cases;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::backend::{Backend, BackendFactory, InitOptions};
use crate::clock::ManualClock;
use crate::error::Error;

/// Where each case's clock starts: far from zero, so a backend that confuses "no expiry"
/// with "expires at 0" is caught.
const CLOCK_START: Duration = Duration::from_secs(1_000_000);

/// One named check of the contract.
#[derive(Clone, Copy)]
pub struct Case {
    /// Kebab-case name, stable across releases.
    pub name: &'static str,
    /// What the case checks, in a sentence.
    pub description: &'static str,
    run: fn(&mut Harness<'_>) -> Result<(), String>,
}

impl fmt::Debug for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Case")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// What a case gets to work with.
pub struct Harness<'a> {
    factory: &'a dyn BackendFactory,
    options: &'a InitOptions,
    clock: Arc<ManualClock>,
}

impl Harness<'_> {
    /// A fresh backend initialised with the suite's options.
    fn backend(&self) -> Result<Box<dyn Backend>, String> {
        self.factory
            .init(self.options, self.clock.clone())
            .map_err(|e| format!("init failed: {e}"))
    }

    fn advance(&self, ms: u64) {
        self.clock.advance(Duration::from_millis(ms));
    }
}

/// The result of one case.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Outcome {
    /// The case's name.
    pub case: &'static str,
    /// The case's description.
    pub description: &'static str,
    /// `None` when it passed, otherwise why it failed.
    pub failure: Option<String>,
    /// How long it took, in milliseconds.
    pub millis: f64,
}

impl Outcome {
    /// Whether the case passed.
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }
}

/// The results of a whole run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    /// The backend's name.
    pub backend: String,
    /// One outcome per case, in suite order.
    pub outcomes: Vec<Outcome>,
}

impl Report {
    /// Cases that passed.
    pub fn passed(&self) -> usize {
        self.outcomes.iter().filter(|o| o.passed()).count()
    }

    /// Cases that failed.
    pub fn failed(&self) -> usize {
        self.outcomes.len() - self.passed()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for outcome in &self.outcomes {
            match &outcome.failure {
                None => writeln!(f, "pass  {}", outcome.case)?,
                Some(why) => writeln!(f, "FAIL  {}: {why}", outcome.case)?,
            }
        }
        write!(f, "{} passed, {} failed", self.passed(), self.failed())
    }
}

/// Every case, in the order they run.
pub fn cases() -> &'static [Case] {
    cases::ALL
}

/// Runs every case against backends from `factory`, initialised with `options`.
pub fn run(factory: &dyn BackendFactory, options: &InitOptions) -> Report {
    run_with(factory, options, |_| {})
}

/// Like [`run`], calling `progress` after each case (for progress bars).
pub fn run_with(
    factory: &dyn BackendFactory,
    options: &InitOptions,
    mut progress: impl FnMut(&Outcome),
) -> Report {
    let outcomes = cases()
        .iter()
        .map(|case| {
            let clock = Arc::new(ManualClock::new());
            clock.advance(CLOCK_START);
            let mut harness = Harness {
                factory,
                options,
                clock,
            };
            let started = Instant::now();
            let failure = (case.run)(&mut harness).err();
            let outcome = Outcome {
                case: case.name,
                description: case.description,
                failure,
                millis: started.elapsed().as_secs_f64() * 1e3,
            };
            progress(&outcome);
            outcome
        })
        .collect();
    Report {
        backend: factory.name().to_string(),
        outcomes,
    }
}

/// Turns a backend error into a case failure naming the operation.
fn op<T>(what: &str, result: Result<T, Error>) -> Result<T, String> {
    result.map_err(|e| format!("{what} failed: {e}"))
}

/// Describes a `get` answer for failure messages.
fn show(value: &Option<Vec<u8>>) -> String {
    match value {
        None => "a miss".into(),
        Some(v) if v.len() <= 16 => format!("a hit with {v:?}"),
        Some(v) => format!("a hit with {} bytes", v.len()),
    }
}
