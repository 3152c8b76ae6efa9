//! The operations a sequence is made of, how they are drawn at random, how each is
//! simplified while shrinking, and how each reads in a report.

use std::fmt;

use super::rng::Rng;
use crate::conformance::render;

/// One step of a sequence. Keys and values are small numbers standing for the bytes
/// [`key`] and [`value`] make of them, so steps meet on the same few entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// `get(key)`.
    Get(u8),
    /// `put(key, value, ttl)`.
    Put(u8, u8, Option<u64>),
    /// `remove(key)`.
    Remove(u8),
    /// `invalidate(some(key))`.
    Invalidate(u8),
    /// `invalidate(none)`: everything.
    InvalidateAll,
    /// `ttl(key)`.
    Ttl(u8),
    /// `set-ttl(key, ttl)`.
    SetTtl(u8, Option<u64>),
    /// `get-many(keys)`.
    GetMany(Vec<u8>),
    /// `put-many(items)`.
    PutMany(Vec<(u8, u8, Option<u64>)>),
    /// The clock moves this many milliseconds.
    Advance(u64),
}

/// The key a number stands for: `k0`, `k1`, ...
pub fn key(k: u8) -> Vec<u8> {
    format!("k{k}").into_bytes()
}

/// The value a number stands for: empty for 0, a few binary bytes for every seventh,
/// otherwise text (`v1`, `v2`, ...), so no two numbers share a value.
pub fn value(v: u8) -> Vec<u8> {
    match v {
        0 => Vec::new(),
        v if v % 7 == 0 => vec![0, 0xff, v],
        v => format!("v{v}").into_bytes(),
    }
}

fn show_ttl(ttl: Option<u64>) -> String {
    ttl.map_or_else(|| "no ttl".into(), |ms| format!("ttl {ms} ms"))
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let k = |k: &u8| render::bytes(&key(*k));
        match self {
            Op::Get(key) => write!(f, "get {}", k(key)),
            Op::Put(key, v, ttl) => write!(
                f,
                "put {} = {} {}",
                k(key),
                render::bytes(&value(*v)),
                show_ttl(*ttl)
            ),
            Op::Remove(key) => write!(f, "remove {}", k(key)),
            Op::Invalidate(key) => write!(f, "invalidate {}", k(key)),
            Op::InvalidateAll => f.write_str("invalidate everything"),
            Op::Ttl(key) => write!(f, "ttl {}", k(key)),
            Op::SetTtl(key, ttl) => write!(f, "set-ttl {} {}", k(key), show_ttl(*ttl)),
            Op::GetMany(keys) => {
                let keys: Vec<String> = keys.iter().map(k).collect();
                write!(f, "get-many [{}]", keys.join(", "))
            }
            Op::PutMany(items) => {
                let items: Vec<String> = items
                    .iter()
                    .map(|(key, v, ttl)| {
                        format!(
                            "{} = {} {}",
                            k(key),
                            render::bytes(&value(*v)),
                            show_ttl(*ttl)
                        )
                    })
                    .collect();
                write!(f, "put-many [{}]", items.join(", "))
            }
            Op::Advance(ms) => write!(f, "clock +{ms} ms"),
        }
    }
}

/// How sequences are drawn.
#[derive(Debug, Clone, Copy)]
pub(super) struct Shape {
    /// Distinct keys.
    pub(super) keys: u8,
    /// Most steps in one sequence.
    pub(super) max_steps: usize,
}

impl Shape {
    /// A sequence of 1 to `max_steps` operations.
    pub(super) fn sequence(&self, rng: &mut Rng) -> Vec<Op> {
        let len = rng.range(1, self.max_steps as u64 + 1) as usize;
        (0..len).map(|_| self.op(rng)).collect()
    }

    fn key(&self, rng: &mut Rng) -> u8 {
        rng.range(0, u64::from(self.keys)) as u8
    }

    fn value(rng: &mut Rng) -> u8 {
        rng.range(0, 256) as u8
    }

    /// No ttl, ttl 0 now and then, or a ttl the clock moves reach.
    fn ttl(rng: &mut Rng) -> Option<u64> {
        match rng.weighted(&[4, 1, 8]) {
            0 => None,
            1 => Some(0),
            _ => Some(rng.range(1, 200)),
        }
    }

    fn op(&self, rng: &mut Rng) -> Op {
        match rng.weighted(&[8, 8, 2, 2, 1, 3, 3, 2, 2, 6]) {
            0 => Op::Get(self.key(rng)),
            1 => Op::Put(self.key(rng), Self::value(rng), Self::ttl(rng)),
            2 => Op::Remove(self.key(rng)),
            3 => Op::Invalidate(self.key(rng)),
            4 => Op::InvalidateAll,
            5 => Op::Ttl(self.key(rng)),
            6 => Op::SetTtl(self.key(rng), Self::ttl(rng)),
            7 => {
                let n = rng.range(0, 4);
                Op::GetMany((0..n).map(|_| self.key(rng)).collect())
            }
            8 => {
                let n = rng.range(0, 4);
                Op::PutMany(
                    (0..n)
                        .map(|_| (self.key(rng), Self::value(rng), Self::ttl(rng)))
                        .collect(),
                )
            }
            _ => Op::Advance(rng.range(1, 150)),
        }
    }
}

/// Simpler ttls than `ttl`, simplest first: none, then smaller numbers.
fn simpler_ttls(ttl: Option<u64>) -> Vec<Option<u64>> {
    match ttl {
        None => Vec::new(),
        Some(ms) => {
            let mut out = vec![None];
            out.extend(smaller(ms).into_iter().map(Some));
            out
        }
    }
}

/// Smaller numbers than `n`, smallest first.
fn smaller(n: u64) -> Vec<u64> {
    let mut out: Vec<u64> = [0, 1, n / 2, n.saturating_sub(1)]
        .into_iter()
        .filter(|&m| m < n)
        .collect();
    out.dedup();
    out
}

/// Smaller key or value numbers than `n`, smallest first.
fn smaller_u8(n: u8) -> Vec<u8> {
    smaller(u64::from(n)).into_iter().map(|m| m as u8).collect()
}

impl Op {
    /// Simpler versions of this step to try while shrinking, simplest first: a batch as
    /// one of its items, smaller keys, values, ttls and clock moves.
    pub(super) fn simpler(&self) -> Vec<Op> {
        match self {
            Op::Get(k) => smaller_u8(*k).into_iter().map(Op::Get).collect(),
            Op::Remove(k) => smaller_u8(*k).into_iter().map(Op::Remove).collect(),
            Op::Invalidate(k) => smaller_u8(*k).into_iter().map(Op::Invalidate).collect(),
            Op::Ttl(k) => smaller_u8(*k).into_iter().map(Op::Ttl).collect(),
            Op::InvalidateAll => Vec::new(),
            Op::Advance(ms) => smaller(*ms)
                .into_iter()
                .filter(|&m| m > 0)
                .map(Op::Advance)
                .collect(),
            Op::Put(k, v, ttl) => {
                let mut out: Vec<Op> = smaller_u8(*k)
                    .into_iter()
                    .map(|k| Op::Put(k, *v, *ttl))
                    .collect();
                out.extend(smaller_u8(*v).into_iter().map(|v| Op::Put(*k, v, *ttl)));
                out.extend(simpler_ttls(*ttl).into_iter().map(|t| Op::Put(*k, *v, t)));
                out
            }
            Op::SetTtl(k, ttl) => {
                let mut out: Vec<Op> = smaller_u8(*k)
                    .into_iter()
                    .map(|k| Op::SetTtl(k, *ttl))
                    .collect();
                out.extend(simpler_ttls(*ttl).into_iter().map(|t| Op::SetTtl(*k, t)));
                out
            }
            Op::GetMany(keys) => {
                let mut out: Vec<Op> = keys.iter().map(|k| Op::Get(*k)).collect();
                out.extend((0..keys.len()).map(|i| {
                    let mut fewer = keys.clone();
                    fewer.remove(i);
                    Op::GetMany(fewer)
                }));
                out
            }
            Op::PutMany(items) => {
                let mut out: Vec<Op> = items.iter().map(|&(k, v, t)| Op::Put(k, v, t)).collect();
                out.extend((0..items.len()).map(|i| {
                    let mut fewer = items.clone();
                    fewer.remove(i);
                    Op::PutMany(fewer)
                }));
                out
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_read_as_text_and_binary_values_as_hex() {
        assert_eq!(
            Op::Put(1, 3, Some(100)).to_string(),
            "put \"k1\" = \"v3\" ttl 100 ms"
        );
        assert_eq!(
            Op::Put(0, 7, None).to_string(),
            "put \"k0\" = 0x00ff07 no ttl"
        );
        assert_eq!(
            Op::Put(0, 0, None).to_string(),
            "put \"k0\" = \"\" (empty) no ttl"
        );
        assert_eq!(
            Op::GetMany(vec![1, 2]).to_string(),
            "get-many [\"k1\", \"k2\"]"
        );
        assert_eq!(Op::Advance(5).to_string(), "clock +5 ms");
    }

    #[test]
    fn sequences_are_deterministic_and_within_the_shape() {
        let shape = Shape {
            keys: 3,
            max_steps: 10,
        };
        let a = shape.sequence(&mut Rng::new(1));
        assert_eq!(a, shape.sequence(&mut Rng::new(1)));
        let mut rng = Rng::new(2);
        for _ in 0..200 {
            let ops = shape.sequence(&mut rng);
            assert!((1..=10).contains(&ops.len()));
            for op in ops {
                if let Op::Get(k) | Op::Put(k, _, _) = op {
                    assert!(k < 3);
                }
            }
        }
    }

    #[test]
    fn simpler_steps_are_simpler() {
        assert!(Op::InvalidateAll.simpler().is_empty());
        assert!(Op::Get(0).simpler().is_empty());
        assert_eq!(Op::Advance(1).simpler(), Vec::<Op>::new());
        assert!(
            Op::Put(2, 9, Some(40))
                .simpler()
                .contains(&Op::Put(2, 9, None))
        );
        assert!(Op::GetMany(vec![3, 4]).simpler().contains(&Op::Get(4)));
    }
}
