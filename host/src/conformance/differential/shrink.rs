//! Shrinking a diverging sequence to the shortest (and then simplest) one that still
//! diverges: drop the steps after the divergence, then runs of steps, halving the run
//! length down to single steps, then simplify each step; repeat until nothing changes
//! or the attempt budget is spent.

use super::ops::Op;

/// Most replays one shrink may spend.
const MAX_ATTEMPTS: usize = 4_000;

/// Shrinks `ops`, which diverge at step `at` (from 0) by `diverges` (the step it
/// diverges at, or `None`). Returns the shrunk sequence, which still diverges at its
/// last step.
pub(super) fn shrink(
    mut ops: Vec<Op>,
    at: usize,
    mut diverges: impl FnMut(&[Op]) -> Option<usize>,
) -> Vec<Op> {
    ops.truncate(at + 1);
    let attempts = std::cell::Cell::new(0usize);
    let mut try_candidate = |candidate: &[Op], ops: &mut Vec<Op>| -> bool {
        if attempts.get() >= MAX_ATTEMPTS {
            return false;
        }
        attempts.set(attempts.get() + 1);
        match diverges(candidate) {
            Some(at) => {
                *ops = candidate[..=at].to_vec();
                true
            }
            None => false,
        }
    };
    loop {
        let before = ops.clone();
        // Runs of steps, longest first.
        let mut run = ops.len() / 2;
        while run >= 1 {
            let mut start = 0;
            while start + run <= ops.len() {
                let mut candidate = ops.clone();
                candidate.drain(start..start + run);
                if candidate.is_empty() || !try_candidate(&candidate, &mut ops) {
                    start += run;
                }
            }
            run /= 2;
        }
        // Each step, simpler.
        let mut i = 0;
        while i < ops.len() {
            for simpler in ops[i].simpler() {
                let mut candidate = ops.clone();
                candidate[i] = simpler;
                if try_candidate(&candidate, &mut ops) {
                    break;
                }
            }
            i += 1;
        }
        if ops == before || attempts.get() >= MAX_ATTEMPTS {
            return ops;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_what_the_divergence_needs() {
        // Diverges once a put of key 1 is followed, later, by a get of key 1.
        let diverges = |ops: &[Op]| {
            let put = ops.iter().position(|op| matches!(op, Op::Put(1, _, _)))?;
            ops.iter()
                .skip(put)
                .position(|op| *op == Op::Get(1))
                .map(|i| put + i)
        };
        let ops = vec![
            Op::Advance(40),
            Op::Put(1, 9, Some(120)),
            Op::Get(0),
            Op::InvalidateAll,
            Op::GetMany(vec![2, 1]),
            Op::Get(1),
            Op::Remove(2),
        ];
        let at = diverges(&ops).expect("diverges");
        let shrunk = shrink(ops, at, diverges);
        assert_eq!(shrunk, vec![Op::Put(1, 0, None), Op::Get(1)]);
    }
}
