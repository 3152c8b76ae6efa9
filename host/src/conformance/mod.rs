//! The conformance suite: named cases that hold any [`BackendFactory`] to the contract.
//!
//! Every case gets a freshly initialised backend and its own [`ManualClock`](crate::ManualClock) (starting at
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
mod harness;

use std::fmt;
use std::time::Instant;

pub use harness::{Case, Harness};

use crate::backend::{BackendFactory, InitOptions};

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
            let started = Instant::now();
            let failure = case.run(factory, options).err();
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
