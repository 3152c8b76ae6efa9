//! What a case is and what it gets to work with.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::backend::{Backend, BackendFactory, InitOptions};
use crate::clock::ManualClock;
use crate::error::Error;

/// Where each case's clock starts: far from zero, so a backend that confuses "no expiry"
/// with "expires at 0" is caught.
const CLOCK_START: Duration = Duration::from_secs(1_000_000);

/// What a case's function returns: `Err` says why it failed.
pub(super) type CaseResult = Result<(), String>;

/// A [`Case`] from its name, description and function.
macro_rules! case {
    ($name:literal, $description:literal, $run:expr) => {
        Case {
            name: $name,
            description: $description,
            run: $run,
        }
    };
}
pub(super) use case;

/// One named check of the contract.
#[derive(Clone, Copy)]
pub struct Case {
    /// Kebab-case name, stable across releases.
    pub name: &'static str,
    /// What the case checks, in a sentence.
    pub description: &'static str,
    pub(super) run: fn(&mut Harness<'_>) -> Result<(), String>,
}

/// How a case ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Verdict {
    Passed,
    Failed(String),
    /// The backend cannot do what the case checks, as the contract allows (an optional
    /// interface it does not export, a function its contract version lacks).
    NotApplicable(String),
}

impl Case {
    /// Runs the case against a fresh backend from `factory`, on a clock of its own.
    pub(super) fn run(&self, factory: &dyn BackendFactory, options: &InitOptions) -> Verdict {
        let clock = Arc::new(ManualClock::new());
        clock.advance(CLOCK_START);
        let mut harness = Harness {
            factory,
            options,
            clock,
            not_applicable: None,
        };
        match ((self.run)(&mut harness), harness.not_applicable) {
            (Err(why), _) => Verdict::Failed(why),
            (Ok(()), Some(why)) => Verdict::NotApplicable(why),
            (Ok(()), None) => Verdict::Passed,
        }
    }
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
    pub(super) factory: &'a dyn BackendFactory,
    pub(super) options: &'a InitOptions,
    pub(super) clock: Arc<ManualClock>,
    not_applicable: Option<String>,
}

impl Harness<'_> {
    /// A fresh backend initialised with the suite's options.
    pub(super) fn backend(&self) -> Result<Box<dyn Backend>, String> {
        self.factory
            .init(self.options, self.clock.clone())
            .map_err(|e| format!("init failed: {e}"))
    }

    pub(super) fn advance(&self, ms: u64) {
        self.clock.advance(Duration::from_millis(ms));
    }

    /// Ends the case as not applicable to this backend, saying why.
    pub(super) fn not_applicable(&mut self, why: impl Into<String>) -> Result<(), String> {
        self.not_applicable = Some(why.into());
        Ok(())
    }
}

/// Turns a backend error into a case failure naming the operation.
pub(super) fn op<T>(what: &str, result: Result<T, Error>) -> Result<T, String> {
    result.map_err(|e| format!("{what} failed: {e}"))
}

/// Describes a `get` answer for failure messages: text when printable, hex otherwise.
pub(super) fn show(value: &Option<Vec<u8>>) -> String {
    super::render::lookup(value.as_deref())
}
