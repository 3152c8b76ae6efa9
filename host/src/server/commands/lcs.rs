//! `LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]`: the longest common
//! subsequence of two values, as Redis 7 answers it. A missing key is an empty string.
//!
//! The table of prefix lengths holds `(len1 + 1) × (len2 + 1)` cells of 4 bytes; a pair
//! whose table would exceed the largest value the server accepts is refused, so a client
//! cannot make the server allocate without bound.

use super::context::{Context, backend_error, parse_i64, upper};
use crate::backend::Backend;
use crate::server::resp::{Out, Reply};

/// What LCS reports.
#[derive(Debug, Default)]
struct Options {
    len: bool,
    idx: bool,
    min_match: usize,
    with_match_len: bool,
}

pub(super) fn lcs(ctx: &Context<'_>, first: &[u8], second: &[u8], rest: &[Vec<u8>], out: &mut Out) {
    let mut options = Options::default();
    let mut args = rest.iter();
    while let Some(arg) = args.next() {
        match upper(arg).as_str() {
            "LEN" => options.len = true,
            "IDX" => options.idx = true,
            "WITHMATCHLEN" => options.with_match_len = true,
            "MINMATCHLEN" => match args.next().map(|n| parse_i64(n)) {
                Some(Some(n)) => options.min_match = n.max(0) as usize,
                Some(None) => return out.error(super::context::NOT_AN_INTEGER),
                None => return out.error("ERR syntax error"),
            },
            _ => return out.error("ERR syntax error"),
        }
    }
    if options.len && options.idx {
        return out.error("ERR If you want both the length and indexes, please just use IDX.");
    }
    let read = |key: &[u8]| {
        ctx.shards
            .backend(key)
            .get(key)
            .map(Option::unwrap_or_default)
    };
    let (a, b) = match (read(first), read(second)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(error), _) | (_, Err(error)) => return backend_error(out, &error),
    };
    let cells = (a.len() as u128 + 1) * (b.len() as u128 + 1);
    if cells * 4 > ctx.facts.max_bulk_bytes as u128 {
        return out
            .error("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
    }
    let table = Table::of(&a, &b);
    let walk = table.walk(&a, &b, options.min_match);
    if options.len {
        out.integer(table.length() as i64);
    } else if options.idx {
        out.map(2);
        out.bulk(Some(b"matches"));
        out.array(walk.matches.len());
        for m in &walk.matches {
            out.array(if options.with_match_len { 3 } else { 2 });
            for (start, end) in [m.first, m.second] {
                out.array(2);
                out.integer(start as i64);
                out.integer(end as i64);
            }
            if options.with_match_len {
                out.integer(m.len() as i64);
            }
        }
        out.bulk(Some(b"len"));
        out.integer(table.length() as i64);
    } else {
        out.bulk(Some(&walk.common));
    }
}

/// `cell(i, j)`: the length of the longest common subsequence of `a[..i]` and `b[..j]`.
struct Table {
    width: usize,
    cells: Vec<u32>,
}

/// One run of matching bytes: inclusive ranges in each value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Match {
    first: (usize, usize),
    second: (usize, usize),
}

impl Match {
    fn len(&self) -> usize {
        self.first.1 - self.first.0 + 1
    }
}

/// What walking the table back from the end finds.
#[derive(Debug, Default)]
struct Walk {
    common: Vec<u8>,
    /// The runs of at least the minimum length, last run first (as Redis lists them).
    matches: Vec<Match>,
}

impl Table {
    fn of(a: &[u8], b: &[u8]) -> Table {
        let width = b.len() + 1;
        let mut cells = vec![0u32; (a.len() + 1) * width];
        for i in 1..=a.len() {
            for j in 1..=b.len() {
                cells[i * width + j] = if a[i - 1] == b[j - 1] {
                    cells[(i - 1) * width + j - 1] + 1
                } else {
                    cells[(i - 1) * width + j].max(cells[i * width + j - 1])
                };
            }
        }
        Table { width, cells }
    }

    fn cell(&self, i: usize, j: usize) -> u32 {
        self.cells[i * self.width + j]
    }

    fn length(&self) -> u32 {
        self.cells.last().copied().unwrap_or(0)
    }

    /// Walks from the ends of both values to a start, collecting the common bytes and the
    /// runs of consecutive matches. On a mismatch it steps back in `a` when that keeps a
    /// strictly longer subsequence, else in `b` (Redis's choice, so the runs reported are
    /// Redis's).
    fn walk(&self, a: &[u8], b: &[u8], min_match: usize) -> Walk {
        let mut walk = Walk::default();
        let (mut i, mut j) = (a.len(), b.len());
        let mut run: Option<Match> = None;
        let close = |run: &mut Option<Match>, matches: &mut Vec<Match>| {
            if let Some(m) = run.take()
                && m.len() >= min_match
            {
                matches.push(m);
            }
        };
        while i > 0 && j > 0 {
            if a[i - 1] == b[j - 1] {
                walk.common.push(a[i - 1]);
                run = Some(match run {
                    Some(m) if m.first.0 == i && m.second.0 == j => Match {
                        first: (i - 1, m.first.1),
                        second: (j - 1, m.second.1),
                    },
                    _ => Match {
                        first: (i - 1, i - 1),
                        second: (j - 1, j - 1),
                    },
                });
                i -= 1;
                j -= 1;
                if i == 0 || j == 0 {
                    close(&mut run, &mut walk.matches);
                }
            } else {
                if self.cell(i - 1, j) > self.cell(i, j - 1) {
                    i -= 1;
                } else {
                    j -= 1;
                }
                close(&mut run, &mut walk.matches);
            }
        }
        walk.common.reverse();
        walk
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_common_subsequence_and_its_runs_last_first() {
        let (a, b) = (b"ohmytext".as_slice(), b"mynewtext".as_slice());
        let table = Table::of(a, b);
        let walk = table.walk(a, b, 0);
        assert_eq!(walk.common, b"mytext");
        assert_eq!(table.length(), 6);
        assert_eq!(
            walk.matches,
            [
                Match {
                    first: (4, 7),
                    second: (5, 8)
                },
                Match {
                    first: (2, 3),
                    second: (0, 1)
                },
            ]
        );
        assert_eq!(table.walk(a, b, 3).matches.len(), 1);
    }

    #[test]
    fn empty_values_have_nothing_in_common() {
        let table = Table::of(b"", b"abc");
        assert_eq!(table.length(), 0);
        assert!(table.walk(b"", b"abc", 0).common.is_empty());
    }
}
