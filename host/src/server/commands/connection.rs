//! The connection commands: HELLO (RESP2 or RESP3), AUTH, CLIENT, SELECT, and the rule that
//! nothing else runs before a client has given the password, when there is one.

use super::context::{Context, Session, upper, wrong_arity};
use crate::digest::same_secret;
use crate::server::resp::{Out, Reply};

const NOAUTH: &str = "NOAUTH Authentication required.";
const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

/// Whether `command` (upper case) may run on this connection; if not, the refusal is the
/// reply. Before authentication only AUTH, HELLO and QUIT run.
pub(super) fn allowed(session: &Session, command: &str, out: &mut Out) -> bool {
    if session.authenticated || matches!(command, "AUTH" | "HELLO" | "QUIT") {
        return true;
    }
    out.error(NOAUTH);
    false
}

/// Runs `command` (upper case) if it is one of these; `false` if it is not.
pub(super) fn execute(
    ctx: &Context<'_>,
    session: &mut Session,
    command: &str,
    rest: &[Vec<u8>],
    out: &mut Out,
) -> bool {
    match command {
        "HELLO" => hello(ctx, session, rest, out),
        "AUTH" => match rest {
            [password] => auth(ctx, session, None, password, out),
            [user, password] => auth(ctx, session, Some(user), password, out),
            _ => wrong_arity(out, command),
        },
        "CLIENT" => client(session, rest, out),
        "SELECT" => match rest {
            [db] if db.as_slice() == b"0" => out.simple("OK"),
            [_] => out.error("ERR DB index is out of range (wasmcache has one database, 0)"),
            _ => wrong_arity(out, command),
        },
        _ => return false,
    }
    true
}

/// Checks a password; `Err` is the reply. Only the `default` user exists.
fn check(ctx: &Context<'_>, user: Option<&[u8]>, password: &[u8]) -> Result<(), &'static str> {
    let Some(expected) = ctx.password else {
        return Err(
            "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
        );
    };
    let user_ok = user.is_none_or(|u| u == b"default");
    // Compared whatever the user name, so a wrong name takes as long as a wrong password.
    let password_ok = same_secret(password, expected);
    if user_ok && password_ok {
        Ok(())
    } else {
        Err(WRONGPASS)
    }
}

fn auth(
    ctx: &Context<'_>,
    session: &mut Session,
    user: Option<&Vec<u8>>,
    password: &[u8],
    out: &mut Out,
) {
    match check(ctx, user.map(Vec::as_slice), password) {
        Ok(()) => {
            session.authenticated = true;
            out.simple("OK");
        }
        Err(reply) => out.error(reply),
    }
}

/// `HELLO [protover [AUTH username password] [SETNAME clientname]]`
fn hello(ctx: &Context<'_>, session: &mut Session, rest: &[Vec<u8>], out: &mut Out) {
    let mut protocol = None;
    let mut args = rest.iter();
    if let Some(version) = args.next() {
        match version.as_slice() {
            b"2" => protocol = Some(false),
            b"3" => protocol = Some(true),
            _ => return out.error("NOPROTO unsupported protocol version"),
        }
    }
    let mut name = None;
    while let Some(option) = args.next() {
        match upper(option).as_str() {
            "AUTH" => {
                let (Some(user), Some(password)) = (args.next(), args.next()) else {
                    return out.error("ERR Syntax error in HELLO option 'auth'");
                };
                if let Err(reply) = check(ctx, Some(user), password) {
                    return out.error(reply);
                }
                session.authenticated = true;
            }
            "SETNAME" => match args.next() {
                Some(n) => name = Some(n.clone()),
                None => return out.error("ERR Syntax error in HELLO option 'setname'"),
            },
            _ => return out.error("ERR Syntax error in HELLO option"),
        }
    }
    if !session.authenticated {
        return out.error(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time",
        );
    }
    if let Some(name) = name {
        session.name = (!name.is_empty()).then_some(name);
    }
    if let Some(resp3) = protocol {
        out.resp3 = resp3;
    }
    out.map(7);
    out.bulk(Some(b"server"));
    out.bulk(Some(b"wasmcache"));
    out.bulk(Some(b"version"));
    out.bulk(Some(env!("CARGO_PKG_VERSION").as_bytes()));
    out.bulk(Some(b"proto"));
    out.integer(if out.resp3 { 3 } else { 2 });
    out.bulk(Some(b"id"));
    out.integer(i64::try_from(session.id).unwrap_or(i64::MAX));
    out.bulk(Some(b"mode"));
    out.bulk(Some(b"standalone"));
    out.bulk(Some(b"role"));
    out.bulk(Some(b"master"));
    out.bulk(Some(b"modules"));
    out.array(0);
}

fn client(session: &mut Session, rest: &[Vec<u8>], out: &mut Out) {
    match (
        rest.first().map(|s| upper(s)).as_deref(),
        &rest[rest.len().min(1)..],
    ) {
        (Some("SETNAME"), [name]) => {
            if name.iter().any(|b| *b <= b' ' || *b > b'~') {
                return out.error("ERR Client names cannot contain spaces, newlines or special characters.");
            }
            session.name = (!name.is_empty()).then(|| name.clone());
            out.simple("OK");
        }
        (Some("GETNAME"), []) => out.bulk(session.name.as_deref()),
        (Some("ID"), []) => out.integer(i64::try_from(session.id).unwrap_or(i64::MAX)),
        (Some("SETINFO"), [_, _]) => out.simple("OK"),
        // Nothing is ever evicted on the server's own account (a backend decides).
        (Some("NO-EVICT" | "NO-TOUCH"), [mode]) if matches!(upper(mode).as_str(), "ON" | "OFF") => {
            out.simple("OK")
        }
        (Some("INFO"), []) => {
            let name = session.name.as_deref().map(String::from_utf8_lossy);
            let line = format!(
                "id={} name={} db=0 resp={}\n",
                session.id,
                name.as_deref().unwrap_or(""),
                if out.resp3 { 3 } else { 2 }
            );
            out.bulk(Some(line.as_bytes()));
        }
        _ => out.error(
            "ERR unsupported CLIENT subcommand (SETNAME, GETNAME, ID, INFO, SETINFO, NO-EVICT and NO-TOUCH are)",
        ),
    }
}
