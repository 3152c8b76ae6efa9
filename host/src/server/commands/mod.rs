//! The commands the server answers, each mapped onto the backend contract through the
//! shards' guards (which own fail-open reads and fault counting).
//!
//! What the contract cannot express is refused with an `-ERR` that says why: a backend
//! stores bytes under a key, so the other data types, pub/sub and scripting are refused.
//! Contract 0.2's `ttl` and `set-ttl` carry the expiry commands; a 0.1 backend answers
//! those that need to read a ttl with an error.

mod admin;
mod context;
mod cursors;
mod expiry;
mod keys;
mod scan;
mod strings;
mod unsupported;

pub(crate) use context::{Context, Counters, Next, Session};
pub(crate) use cursors::ScanCursors;

use self::context::{upper, wrong_arity};
use super::resp::Reply;

/// Runs one command, appending its reply to `out`.
pub(crate) fn execute(
    ctx: &Context<'_>,
    session: &mut Session,
    args: &[Vec<u8>],
    out: &mut Vec<u8>,
) -> Next {
    ctx.counters.commands.bump();
    let command = upper(&args[0]);
    let rest = &args[1..];
    match command.as_str() {
        "PING" => match rest {
            [] => out.simple("PONG"),
            [message] => out.bulk(Some(message)),
            _ => wrong_arity(out, &command),
        },
        "ECHO" => match rest {
            [message] => out.bulk(Some(message)),
            _ => wrong_arity(out, &command),
        },
        "QUIT" => {
            out.simple("OK");
            return Next::Close;
        }
        "GET" | "SET" | "MGET" | "MSET" | "DEL" | "UNLINK" | "EXISTS" => {
            keys::execute(ctx, &command, rest, out)
        }
        _ => {
            let answered = expiry::execute(ctx, &command, rest, out)
                || strings::execute(ctx, &command, rest, out)
                || scan::execute(ctx, &command, rest, out)
                || admin::execute(ctx, session, &command, rest, out);
            if !answered {
                unknown(&command, &args[0], out);
            }
        }
    }
    Next::Continue
}

fn unknown(command: &str, raw: &[u8], out: &mut Vec<u8>) {
    match unsupported::why(command) {
        Some((name, why)) => out.error(&format!("ERR wasmcache does not support '{name}': {why}")),
        None => out.error(&format!(
            "ERR unknown command '{}'",
            String::from_utf8_lossy(raw)
        )),
    }
}
