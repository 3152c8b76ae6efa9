//! What INFO counts: connections, commands (in all and per command: calls, time, failures,
//! refusals), keyspace hits and misses, and the samples behind `instantaneous_ops_per_sec`.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::names;
use super::slowlog::SlowLog;
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
    /// Calls by duration: bucket `i` counts those of at most 2^i microseconds (the last,
    /// anything longer).
    pub(crate) histogram: [Counter; BUCKETS],
}

/// Latency buckets per command: up to 2^23 µs (8 s), then everything longer.
pub(crate) const BUCKETS: usize = 24;

/// Server-wide counters for `INFO`.
#[derive(Debug)]
pub(crate) struct Counters {
    pub(crate) connections: Counter,
    pub(crate) commands: Counter,
    pub(crate) rejected_clients: Counter,
    /// Bytes read from and written to clients.
    pub(crate) bytes_in: Counter,
    pub(crate) bytes_out: Counter,
    /// Requests that broke the protocol.
    pub(crate) protocol_errors: Counter,
    /// GET and MGET keys found and not found.
    pub(crate) keyspace_hits: Counter,
    pub(crate) keyspace_misses: Counter,
    /// Per command, in the command table's order.
    pub(crate) per_command: Box<[CommandStat]>,
    pub(crate) started: Instant,
    /// The two latest (time, commands) samples, for the current rate.
    samples: Mutex<[(Instant, u64); 2]>,
    /// SLOWLOG.
    pub(crate) slowlog: SlowLog,
}

impl Default for Counters {
    fn default() -> Self {
        let now = Instant::now();
        Counters {
            connections: Counter::default(),
            commands: Counter::default(),
            rejected_clients: Counter::default(),
            bytes_in: Counter::default(),
            bytes_out: Counter::default(),
            protocol_errors: Counter::default(),
            keyspace_hits: Counter::default(),
            keyspace_misses: Counter::default(),
            per_command: names::all()
                .iter()
                .map(|_| CommandStat::default())
                .collect(),
            started: now,
            samples: Mutex::new([(now, 0); 2]),
            slowlog: SlowLog::default(),
        }
    }
}

/// One command's totals, for metrics.
pub(crate) struct CommandTotals {
    pub(crate) name: &'static str,
    pub(crate) calls: u64,
    pub(crate) failed: u64,
    pub(crate) rejected: u64,
}

impl Counters {
    /// The totals of every command that has been called or refused at least once.
    pub(crate) fn command_totals(&self) -> impl Iterator<Item = CommandTotals> + '_ {
        names::all()
            .iter()
            .zip(self.per_command.iter())
            .map(|(spec, stat)| CommandTotals {
                name: spec.name,
                calls: stat.calls.get(),
                failed: stat.failed.get(),
                rejected: stat.rejected.get(),
            })
            .filter(|t| t.calls > 0 || t.rejected > 0)
    }

    /// `CONFIG RESETSTAT`: every count INFO's stats and commandstats sections and
    /// `LATENCY HISTOGRAM` report starts again from zero (the slow log is kept, as Redis
    /// keeps it). Published metrics stay monotonic: the publisher counts a total that went
    /// down as one that started again.
    pub(crate) fn reset(&self) {
        for counter in [
            &self.connections,
            &self.commands,
            &self.rejected_clients,
            &self.bytes_in,
            &self.bytes_out,
            &self.protocol_errors,
            &self.keyspace_hits,
            &self.keyspace_misses,
        ] {
            counter.reset();
        }
        for stat in self.per_command.iter() {
            for counter in [&stat.calls, &stat.usec, &stat.failed, &stat.rejected]
                .into_iter()
                .chain(stat.histogram.iter())
            {
                counter.reset();
            }
        }
        let now = Instant::now();
        *self.samples.lock().unwrap_or_else(PoisonError::into_inner) = [(now, 0); 2];
    }

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
        let micros = elapsed.as_micros().max(1);
        let bucket = (u128::BITS - (micros - 1).leading_zeros()) as usize;
        stat.histogram[bucket.min(BUCKETS - 1)].bump();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_land_in_power_of_two_buckets() {
        let counters = Counters::default();
        for micros in [0, 1, 2, 3, 4, 5, 1000, 100_000_000] {
            counters.ran(0, Duration::from_micros(micros), false);
        }
        let counts: Vec<u64> = counters.per_command[0]
            .histogram
            .iter()
            .map(Counter::get)
            .collect();
        // ≤1: 0 and 1; ≤2: 2; ≤4: 3, 4; ≤8: 5; ≤1024: 1000; the last: 100 s.
        assert_eq!(counts[0], 2);
        assert_eq!(counts[1], 1);
        assert_eq!(counts[2], 2);
        assert_eq!(counts[3], 1);
        assert_eq!(counts[10], 1);
        assert_eq!(counts[BUCKETS - 1], 1);
    }
}
