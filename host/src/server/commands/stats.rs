//! What INFO counts: connections, commands (in all and per command: calls, time, failures,
//! refusals), keyspace hits and misses, and the samples behind `instantaneous_ops_per_sec`.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::names;
use crate::counter::Counter;

/// One command's counts, as `INFO commandstats` reports them.
#[derive(Debug, Default)]
pub(crate) struct CommandStat {
    pub(crate) calls: Counter,
    /// Microseconds spent running it.
    pub(crate) usec: Counter,
    /// Calls that answered an error.
    pub(crate) failed: Counter,
    /// Calls refused before they ran (arity, authentication).
    pub(crate) rejected: Counter,
}

/// Server-wide counters for `INFO`.
#[derive(Debug)]
pub(crate) struct Counters {
    pub(crate) connections: Counter,
    pub(crate) commands: Counter,
    pub(crate) rejected_clients: Counter,
    /// GET and MGET keys found and not found.
    pub(crate) keyspace_hits: Counter,
    pub(crate) keyspace_misses: Counter,
    /// Per command, in the command table's order.
    pub(crate) per_command: Box<[CommandStat]>,
    pub(crate) started: Instant,
    /// The two latest (time, commands) samples, for the current rate.
    samples: Mutex<[(Instant, u64); 2]>,
}

impl Default for Counters {
    fn default() -> Self {
        let now = Instant::now();
        Counters {
            connections: Counter::default(),
            commands: Counter::default(),
            rejected_clients: Counter::default(),
            keyspace_hits: Counter::default(),
            keyspace_misses: Counter::default(),
            per_command: names::all()
                .iter()
                .map(|_| CommandStat::default())
                .collect(),
            started: now,
            samples: Mutex::new([(now, 0); 2]),
        }
    }
}

impl Counters {
    /// Notes that the command at `at` in the table ran for `elapsed`, answering an error
    /// or not.
    pub(crate) fn ran(&self, at: usize, elapsed: Duration, failed: bool) {
        let stat = &self.per_command[at];
        stat.calls.bump();
        stat.usec
            .add(u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX));
        if failed {
            stat.failed.bump();
        }
    }

    /// Notes that the command at `at` was refused before it ran.
    pub(crate) fn rejected(&self, at: usize) {
        self.per_command[at].rejected.bump();
    }

    /// Takes a sample of the command count (the server does every few seconds).
    pub(crate) fn sample(&self) {
        let mut samples = self.samples.lock().unwrap_or_else(PoisonError::into_inner);
        samples[0] = samples[1];
        samples[1] = (Instant::now(), self.commands.get());
    }

    /// Commands per second since the older of the two latest samples.
    pub(crate) fn ops_per_sec(&self) -> u64 {
        let (since, then) = self.samples.lock().unwrap_or_else(PoisonError::into_inner)[0];
        let elapsed = since.elapsed().as_secs_f64();
        if elapsed < 0.001 {
            return 0;
        }
        ((self.commands.get().saturating_sub(then)) as f64 / elapsed) as u64
    }
}
