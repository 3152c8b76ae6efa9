//! The hot key commands — GET, SET key value, MGET, MSET, DEL, UNLINK — taken straight from
//! the read buffer and run as one backend call per shard for every run of them a read
//! delivers (a pipeline, or one MGET/MSET/DEL of many keys).
//!
//! A connection offers each request to a [`Pipeline`] first; what it accepts is queued,
//! and anything else first runs what is queued, so replies keep the requests' order.
//! Queued commands run in runs of one kind (reads, writes, removals): within a run every
//! shard gets its keys in request order in one `get_many`, `put_many` or `remove_many`
//! (at most [`MAX_BATCH`] keys a call; a backend without batches loops inside the call).
//! Writes and removals hold the stripes of every key they touch, as a single SET does, so
//! a run is atomic against read-modify-write commands on the same keys, and note their
//! writes for WATCH. A run of one command calls the backend's single-key function.

use std::ops::Range;
use std::rc::Rc;
use std::time::Instant;

use super::context::{Context, Session, backend_error};
use super::names;
use crate::backend::{Backend, PutItem};
use crate::error::Error;
use crate::server::clients::Client;
use crate::server::resp::{Out, Reply};

/// Most keys in one batched backend call: a guest's call stays far inside its deadline,
/// and a huge MGET does not ask a guest for one enormous reply.
const MAX_BATCH: usize = 1024;

/// The commands a pipeline takes (UNLINK is DEL); the order of `table_position`'s names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Get = 0,
    MGet = 1,
    Set = 2,
    MSet = 3,
    Del = 4,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Read,
    Write,
    Remove,
}

impl Kind {
    /// The command named `name` with `n` arguments (the name included), if it is one a
    /// pipeline takes.
    fn of(name: &[u8], n: usize) -> Option<Kind> {
        let is = |wanted: &str| name.eq_ignore_ascii_case(wanted.as_bytes());
        Some(match name.len() {
            3 if is("GET") && n == 2 => Kind::Get,
            3 if is("SET") && n == 3 => Kind::Set,
            3 if is("DEL") && n >= 2 => Kind::Del,
            4 if is("MGET") && n >= 2 => Kind::MGet,
            4 if is("MSET") && n >= 3 && n % 2 == 1 => Kind::MSet,
            6 if is("UNLINK") && n >= 2 => Kind::Del,
            _ => return None,
        })
    }

    fn class(self) -> Class {
        match self {
            Kind::Get | Kind::MGet => Class::Read,
            Kind::Set | Kind::MSet => Class::Write,
            Kind::Del => Class::Remove,
        }
    }
}

/// One queued command: its kind and which of the pipeline's keys (and values) it owns.
#[derive(Debug, Clone)]
struct Op {
    kind: Kind,
    keys: Range<usize>,
}

/// Commands taken from one read buffer, waiting to run. Keys and values are where they
/// lie in that buffer, so a connection keeps one pipeline (and its allocations) for life.
#[derive(Debug, Default)]
pub(crate) struct Pipeline {
    ops: Vec<Op>,
    keys: Vec<Range<usize>>,
    /// For writes, each key's value (empty ranges for the other kinds' keys).
    values: Vec<Range<usize>>,
}

/// What a run's backend calls answered for one key.
enum Outcome {
    Value(Option<Vec<u8>>),
    Stored(Result<(), Error>),
    Removed(bool),
    /// The call for this key's batch failed (shared by the batch's keys).
    Failed(Rc<Error>),
}

/// Each kind's place in the command table (for `CLIENT LIST`'s `cmd`), found once.
fn table_position(kind: Kind) -> usize {
    static POSITIONS: std::sync::OnceLock<[usize; 5]> = std::sync::OnceLock::new();
    let positions = POSITIONS.get_or_init(|| {
        ["GET", "MGET", "SET", "MSET", "DEL"]
            .map(|name| names::position(name.as_bytes()).expect("in the table"))
    });
    positions[kind as usize]
}

impl Pipeline {
    /// Queues the command whose arguments lie at `args` in `input` if it is one a
    /// pipeline runs and the session may run it now (authenticated, not queueing a
    /// transaction); `false`: the caller runs it the ordinary way, after
    /// [`run`](Self::run).
    pub(crate) fn offer(
        &mut self,
        ctx: &Context<'_>,
        session: &Session,
        input: &[u8],
        args: &[Range<usize>],
    ) -> bool {
        if !session.authenticated || session.multi.is_some() {
            return false;
        }
        let Some(kind) = Kind::of(&input[args[0].clone()], args.len()) else {
            return false;
        };
        ctx.counters.commands.bump();
        session.client.set_last_command(table_position(kind));
        let start = self.keys.len();
        match kind {
            Kind::Set | Kind::MSet => {
                for pair in args[1..].chunks(2) {
                    self.keys.push(pair[0].clone());
                    self.values.push(pair[1].clone());
                }
            }
            Kind::Get | Kind::MGet | Kind::Del => {
                self.keys.extend_from_slice(&args[1..]);
                self.values.resize(self.keys.len(), 0..0);
            }
        }
        self.ops.push(Op {
            kind,
            keys: start..self.keys.len(),
        });
        true
    }

    /// How many keys are queued.
    pub(crate) fn keys(&self) -> usize {
        self.keys.len()
    }

    /// Whether nothing is queued.
    pub(crate) fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Runs what is queued (its keys and values in `input`), appending the replies in
    /// order, and empties the pipeline.
    pub(crate) fn run(&mut self, ctx: &Context<'_>, client: &Client, input: &[u8], out: &mut Out) {
        let mut first = 0;
        while first < self.ops.len() {
            let class = self.ops[first].kind.class();
            let last = self.ops[first..]
                .iter()
                .position(|op| op.kind.class() != class)
                .map_or(self.ops.len(), |n| first + n);
            let ops = &self.ops[first..last];
            let keys = ops[0].keys.start..ops[ops.len() - 1].keys.end;
            let started = Instant::now();
            if let [op] = ops
                && op.keys.len() == 1
            {
                let outcome = self.single(ctx, input, op);
                let elapsed = started.elapsed();
                note(ctx, op, std::slice::from_ref(&outcome), elapsed);
                self.log_if_slow(ctx, client, input, op, elapsed);
                reply(op, std::slice::from_ref(&outcome), out);
            } else {
                let outcomes = self.batch(ctx, input, class, keys.clone());
                // Each command of the run gets an equal share of its time.
                let share = started.elapsed() / ops.len() as u32;
                for op in ops {
                    let own = &outcomes[op.keys.start - keys.start..op.keys.end - keys.start];
                    note(ctx, op, own, share);
                    self.log_if_slow(ctx, client, input, op, share);
                    reply(op, own, out);
                }
            }
            first = last;
        }
        self.ops.clear();
        self.keys.clear();
        self.values.clear();
    }

    /// Puts `op` in the slow log if `elapsed` (its share of its run) is over the threshold.
    fn log_if_slow(
        &self,
        ctx: &Context<'_>,
        client: &Client,
        input: &[u8],
        op: &Op,
        elapsed: std::time::Duration,
    ) {
        if !ctx.counters.slowlog.is_slow(elapsed) {
            return;
        }
        let name: &[u8] = match op.kind {
            Kind::Get => b"GET",
            Kind::MGet => b"MGET",
            Kind::Set => b"SET",
            Kind::MSet => b"MSET",
            Kind::Del => b"DEL",
        };
        let mut args = vec![name];
        for at in op.keys.clone() {
            args.push(&input[self.keys[at].clone()]);
            if matches!(op.kind, Kind::Set | Kind::MSet) {
                args.push(&input[self.values[at].clone()]);
            }
        }
        ctx.counters
            .slowlog
            .record(args.into_iter(), elapsed, client);
    }

    /// A command of one key: the backend's single-key call, no batch; what it got.
    fn single(&self, ctx: &Context<'_>, input: &[u8], op: &Op) -> Outcome {
        let at = op.keys.start;
        let key = &input[self.keys[at].clone()];
        let stripe = ctx.shards.stripe_of(key);
        let backend = &ctx.shards.guards()[ctx.shards.shard_of_stripe(stripe)];
        match op.kind.class() {
            Class::Read => match backend.get(key) {
                Ok(value) => Outcome::Value(value),
                Err(error) => Outcome::Failed(Rc::new(error)),
            },
            Class::Write => {
                let _held = ctx.shards.lock_stripe(stripe);
                let stored = backend.put(key, &input[self.values[at].clone()], None);
                ctx.shards.wrote_stripe(stripe);
                Outcome::Stored(stored)
            }
            Class::Remove => {
                let _held = ctx.shards.lock_stripe(stripe);
                let removed = backend.remove(key);
                ctx.shards.wrote_stripe(stripe);
                match removed {
                    Ok(removed) => Outcome::Removed(removed),
                    Err(error) => Outcome::Failed(Rc::new(error)),
                }
            }
        }
    }

    /// One batched call per shard (per [`MAX_BATCH`] keys) for the keys `range`; what
    /// each key got, in order.
    fn batch(
        &self,
        ctx: &Context<'_>,
        input: &[u8],
        class: Class,
        range: Range<usize>,
    ) -> Vec<Outcome> {
        let keys: Vec<&[u8]> = self.keys[range.clone()]
            .iter()
            .map(|r| &input[r.clone()])
            .collect();
        let values = &self.values[range];
        let shards = ctx.shards.guards().len();
        let mut by_shard: Vec<Vec<usize>> = vec![Vec::new(); shards];
        let mut outcomes: Vec<Option<Outcome>> = (0..keys.len()).map(|_| None).collect();
        // Each key's stripe, worked out once for its shard, its lock and its write.
        let stripes: Vec<usize> = keys.iter().map(|key| ctx.shards.stripe_of(key)).collect();
        for (at, key) in keys.iter().enumerate() {
            let shard = ctx.shards.shard_of_stripe(stripes[at]);
            // A key (or value) over the limits is refused on its own, as it would be
            // unbatched, so it does not fail the batch it would have joined.
            let sizes = ctx.shards.guards()[shard].size_limits();
            let fits = sizes.check_key(key).and_then(|()| match class {
                Class::Write => sizes.check_value(&input[values[at].clone()]),
                Class::Read | Class::Remove => Ok(()),
            });
            match fits {
                Ok(()) => by_shard[shard].push(at),
                Err(error) => outcomes[at] = Some(Outcome::Failed(Rc::new(error))),
            }
        }
        let _held = (class != Class::Read).then(|| ctx.shards.lock_stripes(stripes.clone()));
        for (shard, members) in by_shard.iter().enumerate() {
            let backend = &ctx.shards.guards()[shard];
            for chunk in members.chunks(MAX_BATCH) {
                let chunk_keys: Vec<&[u8]> = chunk.iter().map(|&at| keys[at]).collect();
                let answered: Result<Vec<Outcome>, Error> = match class {
                    Class::Read => backend
                        .get_many(&chunk_keys)
                        .map(|values| values.into_iter().map(Outcome::Value).collect()),
                    Class::Write => {
                        let items: Vec<PutItem<'_>> = chunk
                            .iter()
                            .map(|&at| PutItem {
                                key: keys[at],
                                value: &input[values[at].clone()],
                                ttl_ms: None,
                            })
                            .collect();
                        backend
                            .put_many(&items)
                            .map(|stored| stored.into_iter().map(Outcome::Stored).collect())
                    }
                    Class::Remove => backend
                        .remove_many(&chunk_keys)
                        .map(|removed| removed.into_iter().map(Outcome::Removed).collect()),
                };
                match answered {
                    Ok(answers) if answers.len() == chunk.len() => {
                        for (&at, answer) in chunk.iter().zip(answers) {
                            outcomes[at] = Some(answer);
                        }
                    }
                    Ok(answers) => {
                        let error = Rc::new(Error::ContractViolation(format!(
                            "a batch of {} keys answered {} results",
                            chunk.len(),
                            answers.len()
                        )));
                        for &at in chunk {
                            outcomes[at] = Some(Outcome::Failed(error.clone()));
                        }
                    }
                    Err(error) => {
                        let error = Rc::new(error);
                        for &at in chunk {
                            outcomes[at] = Some(Outcome::Failed(error.clone()));
                        }
                    }
                }
            }
        }
        if class != Class::Read {
            stripes
                .iter()
                .for_each(|&stripe| ctx.shards.wrote_stripe(stripe));
        }
        outcomes
            .into_iter()
            .map(|outcome| outcome.unwrap_or(Outcome::Removed(false)))
            .collect()
    }
}

/// Counts `op` in INFO's stats: a call taking `elapsed`, failed if its reply is an
/// error; for GET and MGET, a keyspace hit or miss per key read.
fn note(ctx: &Context<'_>, op: &Op, outcomes: &[Outcome], elapsed: std::time::Duration) {
    let failed = match op.kind {
        Kind::Get => matches!(outcomes[0], Outcome::Failed(_)),
        Kind::MGet => false,
        Kind::Set | Kind::MSet => outcomes
            .iter()
            .any(|o| matches!(o, Outcome::Stored(Err(_)) | Outcome::Failed(_))),
        Kind::Del => outcomes.iter().any(|o| matches!(o, Outcome::Failed(_))),
    };
    ctx.counters.ran(table_position(op.kind), elapsed, failed);
    if matches!(op.kind, Kind::Get | Kind::MGet) {
        for outcome in outcomes {
            match outcome {
                Outcome::Value(Some(_)) => ctx.counters.keyspace_hits.bump(),
                Outcome::Value(None) => ctx.counters.keyspace_misses.bump(),
                _ => {}
            }
        }
    }
}

/// Writes `op`'s reply from what its keys got.
fn reply(op: &Op, outcomes: &[Outcome], out: &mut Out) {
    match op.kind {
        Kind::Get => match &outcomes[0] {
            Outcome::Value(value) => out.bulk(value.as_deref()),
            Outcome::Failed(error) => backend_error(out, error),
            Outcome::Stored(_) | Outcome::Removed(_) => out.bulk(None),
        },
        Kind::MGet => {
            out.array(outcomes.len());
            for outcome in outcomes {
                match outcome {
                    Outcome::Value(value) => out.bulk(value.as_deref()),
                    // MGET answers nil for a key it could not read, as it always has.
                    _ => out.bulk(None),
                }
            }
        }
        Kind::Set | Kind::MSet => {
            let failed = outcomes.iter().find_map(|outcome| match outcome {
                Outcome::Stored(Err(error)) => Some(error),
                Outcome::Failed(error) => Some(&**error),
                _ => None,
            });
            match failed {
                None => out.simple("OK"),
                Some(error) => backend_error(out, error),
            }
        }
        Kind::Del => {
            let failed = outcomes.iter().find_map(|outcome| match outcome {
                Outcome::Failed(error) => Some(error),
                _ => None,
            });
            match failed {
                None => {
                    let removed = outcomes
                        .iter()
                        .filter(|o| matches!(o, Outcome::Removed(true)))
                        .count();
                    out.integer(removed as i64);
                }
                Some(error) => backend_error(out, error),
            }
        }
    }
}
