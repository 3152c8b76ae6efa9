//! `SLOWLOG GET [count] | LEN | RESET`: the latest commands that ran longer than
//! `slowlog-log-slower-than` microseconds (10 000 unless `CONFIG SET` says otherwise; 0
//! logs every command, a negative value none), at most `slowlog-max-len` (128) of them,
//! with Redis's entry shape: id, Unix time, microseconds, arguments, client address and
//! name. Arguments are cut as Redis cuts them: at most 32, each at most 128 bytes.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use crate::server::clients::Client;
use crate::server::resp::{Out, Reply};

/// A decimal integer argument.
fn integer(arg: &[u8]) -> Option<i64> {
    std::str::from_utf8(arg).ok()?.parse().ok()
}

fn unix_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

const MAX_ARGS: usize = 32;
const MAX_ARG_BYTES: usize = 128;

#[derive(Debug)]
struct Entry {
    id: u64,
    at_secs: i64,
    micros: u64,
    args: Vec<Vec<u8>>,
    addr: String,
    name: Vec<u8>,
}

/// The slow log and its two settings.
#[derive(Debug)]
pub(crate) struct SlowLog {
    threshold_us: AtomicI64,
    max_len: AtomicUsize,
    next_id: AtomicU64,
    entries: Mutex<VecDeque<Entry>>,
}

impl Default for SlowLog {
    fn default() -> Self {
        SlowLog {
            threshold_us: AtomicI64::new(10_000),
            max_len: AtomicUsize::new(128),
            next_id: AtomicU64::new(0),
            entries: Mutex::default(),
        }
    }
}

/// Arguments as the slow log keeps them.
fn cut<'a>(args: impl ExactSizeIterator<Item = &'a [u8]>) -> Vec<Vec<u8>> {
    let total = args.len();
    let keep = if total > MAX_ARGS {
        MAX_ARGS - 1
    } else {
        total
    };
    let mut kept: Vec<Vec<u8>> = args
        .take(keep)
        .map(|arg| {
            if arg.len() > MAX_ARG_BYTES {
                let mut short = arg[..MAX_ARG_BYTES].to_vec();
                short.extend_from_slice(
                    format!("... ({} more bytes)", arg.len() - MAX_ARG_BYTES).as_bytes(),
                );
                short
            } else {
                arg.to_vec()
            }
        })
        .collect();
    if total > MAX_ARGS {
        kept.push(format!("... ({} more arguments)", total - keep).into_bytes());
    }
    kept
}

impl SlowLog {
    /// Whether a command that took `elapsed` goes in the log (one atomic load).
    pub(crate) fn is_slow(&self, elapsed: Duration) -> bool {
        let threshold = self.threshold_us.load(Ordering::Relaxed);
        threshold >= 0 && elapsed.as_micros() >= threshold as u128
    }

    /// Logs a command of `args` that took `elapsed` (callers check [`is_slow`] first).
    pub(crate) fn record<'a>(
        &self,
        args: impl ExactSizeIterator<Item = &'a [u8]>,
        elapsed: Duration,
        client: &Client,
    ) {
        let entry = Entry {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            at_secs: unix_secs(),
            micros: u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            args: cut(args),
            addr: client.addr.to_string(),
            name: client.name().unwrap_or_default(),
        };
        let max_len = self.max_len.load(Ordering::Relaxed);
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.push_front(entry);
        entries.truncate(max_len);
    }

    /// `CONFIG GET`'s values.
    pub(crate) fn settings(&self) -> [(&'static str, String); 2] {
        [
            (
                "slowlog-log-slower-than",
                self.threshold_us.load(Ordering::Relaxed).to_string(),
            ),
            (
                "slowlog-max-len",
                self.max_len.load(Ordering::Relaxed).to_string(),
            ),
        ]
    }

    /// `CONFIG SET` of one of its settings; `None` if `name` is not one; `Some(Err)` is the
    /// reply to a bad value.
    pub(crate) fn set(&self, name: &str, value: &[u8]) -> Option<Result<(), String>> {
        let n = integer(value);
        let bad = || {
            Err(format!(
                "ERR CONFIG SET failed (possibly related to argument '{name}') - argument couldn't be parsed into an integer"
            ))
        };
        Some(match name {
            "slowlog-log-slower-than" => match n {
                Some(n) => {
                    self.threshold_us.store(n, Ordering::Relaxed);
                    Ok(())
                }
                None => bad(),
            },
            "slowlog-max-len" => match n.filter(|n| *n >= 0) {
                Some(n) => {
                    self.max_len.store(n as usize, Ordering::Relaxed);
                    self.entries
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .truncate(n as usize);
                    Ok(())
                }
                None => bad(),
            },
            _ => return None,
        })
    }

    /// `SLOWLOG ...`
    pub(crate) fn command(&self, rest: &[Vec<u8>], out: &mut Out) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        match (
            rest.first().map(|s| String::from_utf8_lossy(s).to_ascii_uppercase()).as_deref(),
            &rest[rest.len().min(1)..],
        ) {
            (Some("LEN"), []) => out.integer(entries.len() as i64),
            (Some("RESET"), []) => {
                entries.clear();
                out.simple("OK");
            }
            (Some("GET"), count) if count.len() <= 1 => {
                let wanted = match count.first().map(|c| integer(c)) {
                    None => 10,
                    Some(Some(-1)) => entries.len(),
                    Some(Some(n)) if n >= 0 => n as usize,
                    _ => return out.error("ERR count should be greater than or equal to -1"),
                };
                let shown = wanted.min(entries.len());
                out.array(shown);
                for entry in entries.iter().take(shown) {
                    out.array(6);
                    out.integer(entry.id as i64);
                    out.integer(entry.at_secs);
                    out.integer(entry.micros as i64);
                    out.array(entry.args.len());
                    for arg in &entry.args {
                        out.bulk(Some(arg));
                    }
                    out.bulk(Some(entry.addr.as_bytes()));
                    out.bulk(Some(&entry.name));
                }
            }
            _ => out.error("ERR unknown subcommand or wrong number of arguments for 'SLOWLOG' (GET, LEN and RESET are supported)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_cut_as_redis_cuts_them() {
        let long = vec![b'x'; 200];
        let args: Vec<&[u8]> = vec![b"SET", b"k", &long];
        let kept = cut(args.into_iter());
        assert_eq!(kept[2].len(), 128 + "... (72 more bytes)".len());
        assert!(kept[2].ends_with(b"... (72 more bytes)"));
        let many: Vec<Vec<u8>> = (0..40).map(|i| i.to_string().into_bytes()).collect();
        let kept = cut(many.iter().map(Vec::as_slice));
        assert_eq!(kept.len(), 32);
        assert_eq!(kept[31], b"... (9 more arguments)");
    }
}
