//! Running one command: the password gate, transactions, then the command itself, and
//! noting what it wrote (for WATCH).

use std::time::Instant;

use super::admin;
use super::bits;
use super::connection;
use super::context::{Context, Next, Session, upper, wrong_arity};
use super::expiry;
use super::keys;
use super::moves;
use super::names;
use super::scan;
use super::strings;
use super::transaction;
use super::unsupported;
use crate::server::resp::{Out, Reply};

/// Runs one command, appending its reply to `out`.
pub(crate) fn execute(
    ctx: &Context<'_>,
    session: &mut Session,
    args: &[Vec<u8>],
    out: &mut Out,
) -> Next {
    ctx.counters.commands.bump();
    let at = names::position(&args[0]);
    if let Some(at) = at {
        session.client.set_last_command(at);
    }
    let command = upper(&args[0]);
    if !connection::allowed(session, &command, out) {
        at.inspect(|&at| ctx.counters.rejected(at));
        return Next::Continue;
    }
    if let Some(at) = at.filter(|&at| !names::all()[at].accepts(args.len())) {
        // Refused before it runs or is queued; a transaction being queued fails.
        ctx.counters.rejected(at);
        transaction::refused(session);
        wrong_arity(out, &command);
        return Next::Continue;
    }
    let mut run = |session: &mut Session, args: &[Vec<u8>], out: &mut Out| {
        run_one(ctx, session, args, out);
    };
    let started = Instant::now();
    let reply_at = out.buf.len();
    if transaction::intercept(ctx, session, &command, args, out, &mut run).is_some() {
        // The transaction commands themselves (a queued command counts when EXEC runs it).
        if let Some(at) = at.filter(|&at| names::all()[at].group == "transactions") {
            let failed = out.buf.get(reply_at) == Some(&b'-');
            ctx.counters.ran(at, started.elapsed(), failed);
        }
        return Next::Continue;
    }
    run_one(ctx, session, args, out)
}

/// Runs a command that is not a transaction command, counting it per command.
fn run_one(ctx: &Context<'_>, session: &mut Session, args: &[Vec<u8>], out: &mut Out) -> Next {
    let command = upper(&args[0]);
    let started = Instant::now();
    let reply_at = out.buf.len();
    let next = answer(ctx, session, &command, args, out);
    let elapsed = started.elapsed();
    if let Some(at) = names::position(&args[0]) {
        let failed = out.buf.get(reply_at) == Some(&b'-');
        ctx.counters.ran(at, elapsed, failed);
    }
    if ctx.counters.slowlog.is_slow(elapsed) {
        let args = args.iter().map(Vec::as_slice);
        ctx.counters.slowlog.record(args, elapsed, &session.client);
    }
    transaction::note_writes(ctx, &command, args);
    next
}

fn answer(
    ctx: &Context<'_>,
    session: &mut Session,
    command: &str,
    args: &[Vec<u8>],
    out: &mut Out,
) -> Next {
    let rest = &args[1..];
    match command {
        "PING" => match rest {
            [] => out.simple("PONG"),
            [message] => out.bulk(Some(message)),
            _ => wrong_arity(out, command),
        },
        "ECHO" => match rest {
            [message] => out.bulk(Some(message)),
            _ => wrong_arity(out, command),
        },
        "QUIT" => {
            out.simple("OK");
            return Next::Close;
        }
        "GET" | "SET" | "MGET" | "MSET" | "DEL" | "UNLINK" | "EXISTS" => {
            keys::execute(ctx, command, rest, out)
        }
        _ => {
            let answered = connection::execute(ctx, session, command, rest, out)
                || expiry::execute(ctx, command, rest, out)
                || strings::execute(ctx, command, rest, out)
                || bits::execute(ctx, command, rest, out)
                || moves::execute(ctx, command, rest, out)
                || scan::execute(ctx, command, rest, out)
                || admin::execute(ctx, command, rest, out);
            if !answered {
                unknown(command, &args[0], out);
            }
        }
    }
    Next::Continue
}

fn unknown(command: &str, raw: &[u8], out: &mut Out) {
    match unsupported::why(command) {
        Some((name, why)) => out.error(&format!("ERR wasmcache does not support '{name}': {why}")),
        None => out.error(&format!(
            "ERR unknown command '{}'",
            String::from_utf8_lossy(raw)
        )),
    }
}
