//! Transactions: MULTI, EXEC, DISCARD, WATCH and UNWATCH, and which commands write which
//! keys (what WATCH watches).
//!
//! Commands between MULTI and EXEC are queued, not run. EXEC runs them with every other
//! connection's commands held back (the connection takes the server's transaction gate
//! exclusively; every other command takes it shared), so no other client's command runs
//! between them. A command unknown when queued makes EXEC refuse the whole transaction
//! (`EXECABORT`), so nothing queued runs. WATCH is optimistic: it notes the write version
//! of each key's stripe, and EXEC answers a null array, running nothing, if any moved.

use super::context::{Context, Multi, Session};
use super::names::is_known;
use crate::server::resp::{Out, Reply};

/// Runs one queued command (the dispatcher, handed in so this module need not know it).
pub(super) type Runner<'a> = dyn FnMut(&mut Session, &[Vec<u8>], &mut Out) + 'a;

/// How a command holds the server's transaction gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gate {
    /// Alongside other commands, never inside a transaction's EXEC.
    Shared,
    /// Alone: EXEC of a queued transaction.
    Exclusive,
    /// Not at all: a reload, which takes seconds and touches no key's value.
    Free,
}

/// How this command, on this session, holds the gate.
pub(crate) fn gate(session: &Session, args: &[Vec<u8>]) -> Gate {
    if session.multi.is_some() && args[0].eq_ignore_ascii_case(b"EXEC") {
        Gate::Exclusive
    } else if session.multi.is_none() && args[0].eq_ignore_ascii_case(b"WASMCACHE.RELOAD") {
        Gate::Free
    } else {
        Gate::Shared
    }
}

/// Handles the transaction commands, and queues any other command while in MULTI.
/// `None`: the command is neither, and runs now. `Some(queued)`: it was answered here.
pub(super) fn intercept(
    ctx: &Context<'_>,
    session: &mut Session,
    command: &str,
    args: &[Vec<u8>],
    out: &mut Out,
    run: &mut Runner<'_>,
) -> Option<()> {
    let rest = &args[1..];
    match (command, session.multi.is_some()) {
        ("MULTI", false) => {
            session.multi = Some(Multi::default());
            out.simple("OK");
        }
        ("MULTI", true) => out.error("ERR MULTI calls can not be nested"),
        ("EXEC", false) => out.error("ERR EXEC without MULTI"),
        ("DISCARD", false) => out.error("ERR DISCARD without MULTI"),
        ("DISCARD", true) => {
            session.multi = None;
            session.watched.clear();
            out.simple("OK");
        }
        ("EXEC", true) => exec(ctx, session, out, run),
        ("WATCH", true) => {
            mark_failed(session);
            out.error("ERR WATCH inside MULTI is not allowed");
        }
        ("WATCH", false) if rest.is_empty() => {
            out.error("ERR wrong number of arguments for 'watch' command")
        }
        ("WATCH", false) => {
            for key in rest {
                session.watched.push(ctx.shards.version(key));
            }
            out.simple("OK");
        }
        ("UNWATCH", false) => {
            session.watched.clear();
            out.simple("OK");
        }
        ("QUIT", _) => return None,
        (_, true) => {
            if is_known(command) {
                if let Some(multi) = session.multi.as_mut() {
                    multi.queued.push(args.to_vec());
                }
                out.simple("QUEUED");
            } else {
                mark_failed(session);
                out.error(&format!(
                    "ERR unknown command '{}'",
                    String::from_utf8_lossy(&args[0])
                ));
            }
        }
        (_, false) => return None,
    }
    Some(())
}

/// A command was refused before it could be queued: the transaction being queued, if any,
/// fails (EXEC answers EXECABORT).
pub(super) fn refused(session: &mut Session) {
    mark_failed(session);
}

fn mark_failed(session: &mut Session) {
    if let Some(multi) = session.multi.as_mut() {
        multi.failed = true;
    }
}

/// Runs the queued commands (the caller holds the transaction gate exclusively).
fn exec(ctx: &Context<'_>, session: &mut Session, out: &mut Out, run: &mut Runner<'_>) {
    let Some(multi) = session.multi.take() else {
        return out.error("ERR EXEC without MULTI");
    };
    let watched = std::mem::take(&mut session.watched);
    if multi.failed {
        return out.error("EXECABORT Transaction discarded because of previous errors.");
    }
    let moved = watched
        .iter()
        .any(|&(stripe, version)| ctx.shards.stripe_version(stripe) != version);
    if moved {
        return out.null_array();
    }
    out.array(multi.queued.len());
    for args in &multi.queued {
        run(session, args, out);
    }
}

/// The keys `args` writes, if it is a write command (what moves a WATCH).
pub(super) fn written_keys<'a>(command: &str, args: &'a [Vec<u8>]) -> Written<'a> {
    let rest = &args[1..];
    match command {
        "SET" | "SETNX" | "SETEX" | "PSETEX" | "GETSET" | "GETDEL" | "GETEX" | "INCR" | "DECR"
        | "INCRBY" | "DECRBY" | "INCRBYFLOAT" | "APPEND" | "SETRANGE" | "SETBIT" | "EXPIRE"
        | "PEXPIRE" | "EXPIREAT" | "PEXPIREAT" | "PERSIST" => {
            Written::Keys(rest.get(..1).unwrap_or(&[]), 1)
        }
        "DEL" | "UNLINK" => Written::Keys(rest, 1),
        "RENAME" | "RENAMENX" => Written::Keys(rest.get(..2).unwrap_or(rest), 1),
        "COPY" => Written::Keys(rest.get(1..2).unwrap_or(&[]), 1),
        "MSET" | "MSETNX" => Written::Keys(rest, 2),
        "FLUSHALL" | "FLUSHDB" => Written::All,
        _ => Written::Keys(&[], 1),
    }
}

/// What a command writes: every `step`-th argument from the first, or everything.
pub(super) enum Written<'a> {
    Keys(&'a [Vec<u8>], usize),
    All,
}

/// Notes the writes of a command that just ran, for WATCH.
pub(super) fn note_writes(ctx: &Context<'_>, command: &str, args: &[Vec<u8>]) {
    match written_keys(command, args) {
        Written::All => ctx.shards.wrote_all(),
        Written::Keys(keys, step) => {
            for key in keys.iter().step_by(step) {
                ctx.shards.wrote(key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::context::upper;
    use super::*;

    fn args(words: &[&str]) -> Vec<Vec<u8>> {
        words.iter().map(|w| w.as_bytes().to_vec()).collect()
    }

    #[test]
    fn writes_are_found_by_command() {
        let keys = |words: &[&str]| match written_keys(&upper(words[0].as_bytes()), &args(words)) {
            Written::Keys(keys, step) => keys
                .iter()
                .step_by(step)
                .map(|k| String::from_utf8_lossy(k).into_owned())
                .collect::<Vec<_>>(),
            Written::All => vec!["*".into()],
        };
        assert_eq!(keys(&["SET", "a", "1"]), ["a"]);
        assert_eq!(keys(&["MSET", "a", "1", "b", "2"]), ["a", "b"]);
        assert_eq!(keys(&["DEL", "a", "b", "c"]), ["a", "b", "c"]);
        assert_eq!(keys(&["RENAME", "a", "b"]), ["a", "b"]);
        assert_eq!(keys(&["COPY", "a", "b", "REPLACE"]), ["b"]);
        assert_eq!(keys(&["FLUSHALL"]), ["*"]);
        assert!(keys(&["GET", "a"]).is_empty());
    }
}
