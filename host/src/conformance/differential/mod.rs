//! The differential check: random sequences of operations (clock moves included) run
//! against a backend and against the native reference [`MemoryBackend`](crate::MemoryBackend),
//! each on a manual clock of its own moved in step. The first sequence whose answers the
//! oracle refuses is shrunk to the shortest that still diverges, and reported as
//! numbered steps an author can replay by hand.
//!
//! The oracle fits bounded backends: a backend may forget an entry (a miss where the
//! reference hits, as after an eviction), but never invent a value, return an expired or
//! removed entry, return another value than the last one put, report another expiry, or
//! fail where the reference succeeds. [`Config::exact`] makes forgetting a divergence too,
//! for backends that never evict.
//!
//! ```
//! use wasmcache::MemoryBackendFactory;
//! use wasmcache::conformance::differential::{self, Config};
//!
//! let outcome = differential::run(&MemoryBackendFactory::default(), &Vec::new(), &Config {
//!     sequences: 50,
//!     seed: 7,
//!     ..Config::default()
//! });
//! assert!(outcome.divergence.is_none());
//! ```

mod ops;
mod oracle;
mod rng;
mod shrink;

use std::fmt;

use self::ops::Shape;
pub use self::ops::{Op, key, value};
pub use self::oracle::Mismatch;
use self::oracle::replay;
use self::rng::Rng;
use crate::backend::{BackendFactory, InitOptions};
use crate::conformance::render;

/// How many sequences to run, and how.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// Random sequences to run.
    pub sequences: u32,
    /// Where the random sequences come from: the same seed, the same sequences.
    pub seed: u64,
    /// Most steps in one sequence.
    pub max_steps: usize,
    /// Distinct keys the sequences use (few, so steps meet on the same entries; more
    /// than a small bound, so a bounded backend evicts).
    pub keys: u8,
    /// Whether forgetting an entry is a divergence (for backends that never evict).
    pub exact: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            sequences: 1000,
            seed: 0,
            max_steps: 40,
            keys: 6,
            exact: false,
        }
    }
}

/// The shortest sequence found that shows a divergence.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Divergence {
    /// Which random sequence (from 1) diverged first.
    pub sequence: u32,
    /// How many steps it had before shrinking.
    pub original_steps: usize,
    /// The shrunk steps; the last one is where the backend diverged.
    #[serde(serialize_with = "as_text")]
    pub steps: Vec<Op>,
    /// The backend's answers to the steps before the last.
    pub answers: Vec<String>,
    /// The last step's allowed and actual answers.
    pub mismatch: Mismatch,
}

fn as_text<S: serde::Serializer>(steps: &[Op], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(steps.iter().map(ToString::to_string))
}

/// What a run found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Outcome {
    /// Sequences run (up to and including the first that diverged).
    pub sequences: u32,
    /// Steps run in them, before any shrinking.
    pub steps: u64,
    /// The seed they came from.
    pub seed: u64,
    /// The first divergence, shrunk; `None` when every sequence agreed.
    pub divergence: Option<Divergence>,
}

/// Runs `config.sequences` random sequences against fresh backends from `factory`
/// (initialised with `options`) and the reference; stops at the first divergence and
/// shrinks it.
pub fn run(factory: &dyn BackendFactory, options: &InitOptions, config: &Config) -> Outcome {
    let shape = Shape {
        keys: config.keys.max(1),
        max_steps: config.max_steps.max(1),
    };
    let mut rng = Rng::new(config.seed);
    let mut outcome = Outcome {
        sequences: 0,
        steps: 0,
        seed: config.seed,
        divergence: None,
    };
    for sequence in 1..=config.sequences {
        let ops = shape.sequence(&mut rng);
        outcome.sequences = sequence;
        outcome.steps += ops.len() as u64;
        let Some(mismatch) = replay(factory, options, &ops, config.exact).mismatch else {
            continue;
        };
        let original = ops.clone();
        let shrunk = shrink::shrink(ops, mismatch.step, |candidate| {
            replay(factory, options, candidate, config.exact)
                .mismatch
                .map(|m| m.step)
        });
        let trace = replay(factory, options, &shrunk, config.exact);
        // Shrinking keeps only sequences that diverge; a backend that diverges only now
        // and then (it depends on time or randomness) may not repeat it: report the
        // sequence as it first failed.
        let (steps, trace) = match trace.mismatch {
            Some(_) => (shrunk, trace),
            None => {
                let trace = replay(factory, options, &original, config.exact);
                (original.clone(), trace)
            }
        };
        let mismatch = trace.mismatch.clone().unwrap_or(mismatch);
        outcome.divergence = Some(Divergence {
            sequence,
            original_steps: original.len(),
            steps: steps[..=mismatch.step.min(steps.len() - 1)].to_vec(),
            answers: trace.answers,
            mismatch,
        });
        break;
    }
    outcome
}

impl fmt::Display for Divergence {
    /// Numbered steps with the backend's answers, the last with what was allowed. The
    /// alternate form (`{:#}`) keeps an error's whole text (a trap's wasm backtrace);
    /// the plain form its first line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "sequence {} diverged; shortest sequence that shows it ({} of its {} steps), from a fresh backend:",
            self.sequence,
            self.steps.len(),
            self.original_steps
        )?;
        let last = self.steps.len().saturating_sub(1);
        for (i, op) in self.steps.iter().enumerate() {
            if i < last {
                let answer = self.answers.get(i).map_or("", String::as_str);
                writeln!(f, "  {}. {op}  -> {answer}", i + 1)?;
            }
        }
        let got = if f.alternate() {
            self.mismatch.got.as_str()
        } else {
            render::first_line(&self.mismatch.got)
        };
        write!(
            f,
            "  {}. {}  -> expected {}, got {got}",
            last + 1,
            self.steps
                .get(last)
                .map_or_else(String::new, ToString::to_string),
            self.mismatch.expected
        )
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.divergence {
            None => write!(
                f,
                "{} random sequences ({} steps, seed {}) agreed with the reference",
                self.sequences, self.steps, self.seed
            ),
            Some(divergence) if f.alternate() => {
                write!(f, "seed {}: {divergence:#}", self.seed)
            }
            Some(divergence) => write!(f, "seed {}: {divergence}", self.seed),
        }
    }
}

#[cfg(test)]
mod tests;
