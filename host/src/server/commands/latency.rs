//! `LATENCY HISTOGRAM [command ...] | LATEST | RESET`: per-command latency histograms in
//! Redis's reply shape (each command: its calls and, per power-of-two bucket of
//! microseconds, how many calls took at most that long). The latency monitor behind
//! LATEST is not kept (as in Redis with `latency-monitor-threshold 0`): LATEST answers
//! no events.

use super::context::{Context, upper};
use super::names;
use super::stats::BUCKETS;
use crate::server::resp::{Out, Reply};

pub(super) fn command(ctx: &Context<'_>, rest: &[Vec<u8>], out: &mut Out) {
    match (rest.first().map(|s| upper(s)).as_deref(), &rest[rest.len().min(1)..]) {
        (Some("HISTOGRAM"), wanted) => histogram(ctx, wanted, out),
        (Some("LATEST"), []) => out.array(0),
        (Some("RESET"), _) => out.integer(0),
        _ => out.error("ERR unknown subcommand or wrong number of arguments for 'LATENCY' (HISTOGRAM, LATEST and RESET are supported)"),
    }
}

fn histogram(ctx: &Context<'_>, wanted: &[Vec<u8>], out: &mut Out) {
    let chosen: Vec<usize> = (0..names::all().len())
        .filter(|&at| ctx.counters.per_command[at].calls.get() > 0)
        .filter(|&at| {
            wanted.is_empty()
                || wanted
                    .iter()
                    .any(|w| w.eq_ignore_ascii_case(names::all()[at].name.as_bytes()))
        })
        .collect();
    out.map(chosen.len());
    for at in chosen {
        let stat = &ctx.counters.per_command[at];
        out.bulk(Some(names::all()[at].name.to_ascii_lowercase().as_bytes()));
        out.map(2);
        out.bulk(Some(b"calls"));
        out.integer(stat.calls.get() as i64);
        out.bulk(Some(b"histogram_usec"));
        let counts: Vec<u64> = stat.histogram.iter().map(|c| c.get()).collect();
        let last = counts.iter().rposition(|&n| n > 0).unwrap_or(0);
        out.map(last + 1);
        let mut cumulative = 0;
        for (bucket, count) in counts.iter().enumerate().take(last + 1) {
            cumulative += count;
            let bound = if bucket == BUCKETS - 1 {
                i64::MAX
            } else {
                1i64 << bucket
            };
            out.integer(bound);
            out.integer(cumulative as i64);
        }
    }
}
