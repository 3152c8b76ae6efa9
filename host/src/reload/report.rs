//! What a reload reports: the step that failed, or what the swap did.

use super::handover::HandoverReport;
use crate::backend::FactoryInfo;
use crate::error::Error;

/// Which step of a reload failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReloadStep {
    /// Reading the file.
    Read,
    /// Compiling it and checking its world, version and imports.
    Compile,
    /// Checking its exports' function types against the contract (when instantiated).
    TypeCheck,
    /// Instantiating it and running `init` with the handle's options.
    Init,
    /// The put / get / invalidate smoke test on an unpredictable key.
    SelfCheck,
    /// Handing the entries over, when a compaction needs every one of them.
    Handover,
    /// The reload task itself failed (it panicked or was cancelled): a host bug.
    Task,
}

impl std::fmt::Display for ReloadStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ReloadStep::Read => "read",
            ReloadStep::Compile => "compile",
            ReloadStep::TypeCheck => "type check",
            ReloadStep::Init => "init",
            ReloadStep::SelfCheck => "self-check",
            ReloadStep::Handover => "handover",
            ReloadStep::Task => "task",
        })
    }
}

/// A rejected reload (the old backend is still serving), or a first load that failed.
#[derive(Debug)]
pub struct ReloadError {
    /// What was being loaded.
    pub name: String,
    /// The step that failed.
    pub step: ReloadStep,
    /// Why.
    pub source: Error,
    /// Whether this was the first load (nothing was serving), not a reload.
    pub first_load: bool,
}

impl std::error::Error for ReloadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

impl std::fmt::Display for ReloadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (name, step, source) = (&self.name, self.step, &self.source);
        if self.first_load {
            write!(f, "loading {name} failed at the {step} step: {source}")
        } else {
            write!(f, "reload of {name} rejected at the {step} step: {source}")
        }
    }
}

impl ReloadError {
    /// Turns an error at `step` of loading `name` into a [`ReloadError`].
    pub(crate) fn at(name: String, step: ReloadStep) -> impl FnOnce(Error) -> ReloadError {
        move |error| ReloadError {
            name,
            // An export whose type differs from the contract's is found when the
            // component is first instantiated, before `init` runs.
            step: match (&error, step) {
                (Error::Load(crate::error::LoadError::Mismatch { .. }), ReloadStep::Init) => {
                    ReloadStep::TypeCheck
                }
                _ => step,
            },
            source: error,
            first_load: false,
        }
    }

    /// The same error, said of a first load rather than a reload.
    pub(crate) fn on_first_load(mut self) -> ReloadError {
        self.first_load = true;
        self
    }
}

/// What a successful reload did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReloadReport {
    /// The new generation number.
    pub generation: u64,
    /// What now serves.
    pub component: FactoryInfo,
    /// Entries carried over from the previous backend.
    pub handover: HandoverReport,
    /// Wall time of the whole reload, in milliseconds.
    pub total_ms: f64,
}

/// Reload bookkeeping, for stats and `INFO`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HandleStatus {
    /// The serving generation.
    pub generation: u64,
    /// Name of what serves.
    pub component: String,
    /// SHA-256 of the serving component; `None` for a native backend.
    pub sha256: Option<String>,
    /// Seconds since the Unix epoch when it started serving.
    pub loaded_at_unix: u64,
    /// Successful reloads so far.
    pub reloads: u64,
    /// Rejected reloads so far.
    pub rejected: u64,
    /// Compactions so far: the same version restarted on a fresh instance with its
    /// entries handed over, to give memory back.
    pub compactions: u64,
    /// Entries carried into new instances by reloads and compactions so far.
    pub handover_entries: u64,
    /// The last rejection's message, if any.
    pub last_error: Option<String>,
}
