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
pub mod differential;
mod entry_cases;
mod harness;
pub mod render;

use std::fmt;
use std::time::Instant;

pub use harness::{Case, Harness};

use self::harness::Verdict;

use crate::backend::{BackendFactory, InitOptions};

/// The result of one case.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Outcome {
    /// The case's name.
    pub case: &'static str,
    /// The case's description.
    pub description: &'static str,
    /// `None` when it passed (or does not apply), otherwise why it failed.
    pub failure: Option<String>,
    /// Why the case does not apply to this backend (a function of a newer contract
    /// version, an optional interface it does not export), if it does not. Not a pass.
    pub not_applicable: Option<String>,
    /// How long it took, in milliseconds.
    pub millis: f64,
}

impl Outcome {
    /// Whether the case passed.
    pub fn passed(&self) -> bool {
        self.failure.is_none() && self.not_applicable.is_none()
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
        self.outcomes.iter().filter(|o| o.failure.is_some()).count()
    }

    /// Cases that do not apply to this backend.
    pub fn not_applicable(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|o| o.not_applicable.is_some())
            .count()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for outcome in &self.outcomes {
            match (&outcome.failure, &outcome.not_applicable) {
                (Some(why), _) => writeln!(f, "FAIL  {}: {why}", outcome.case)?,
                (None, Some(why)) => writeln!(f, "n/a   {}: {why}", outcome.case)?,
                (None, None) => writeln!(f, "pass  {}", outcome.case)?,
            }
        }
        write!(f, "{} passed, {} failed", self.passed(), self.failed())?;
        match self.not_applicable() {
            0 => Ok(()),
            n => write!(f, ", {n} not applicable"),
        }
    }
}

/// Every case, in the order they run: the five callbacks' first, then what contract 0.2
/// adds (removal counts, ttl read-back and change, batches, listing).
pub fn cases() -> &'static [Case] {
    static ALL: std::sync::LazyLock<Vec<Case>> =
        std::sync::LazyLock::new(|| cases::ALL.iter().chain(entry_cases::ALL).copied().collect());
    &ALL
}

/// Runs every case against backends from `factory`, initialised with `options`.
pub fn run(factory: &dyn BackendFactory, options: &InitOptions) -> Report {
    run_with(factory, options, |_| {})
}

/// Like [`run`], calling `progress` after each case (for progress bars).
pub fn run_with(
    factory: &dyn BackendFactory,
    options: &InitOptions,
    progress: impl FnMut(&Outcome),
) -> Report {
    run_only(factory, options, |_| true, progress)
}

/// Like [`run_with`], running only the cases `select` picks.
pub fn run_only(
    factory: &dyn BackendFactory,
    options: &InitOptions,
    mut select: impl FnMut(&Case) -> bool,
    mut progress: impl FnMut(&Outcome),
) -> Report {
    let outcomes = cases()
        .iter()
        .filter(|case| select(case))
        .map(|case| {
            let started = Instant::now();
            let (failure, not_applicable) = match case.run(factory, options) {
                Verdict::Passed => (None, None),
                Verdict::Failed(why) => (Some(why), None),
                Verdict::NotApplicable(why) => (None, Some(why)),
            };
            let outcome = Outcome {
                case: case.name,
                description: case.description,
                failure,
                not_applicable,
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
