//! The connection commands: HELLO (RESP2 or RESP3), AUTH, CLIENT, SELECT, and the rule that
//! nothing else runs before a client has given the password, when there is one.

use std::fmt::Write as _;

use super::context::{Context, Session, parse_i64, upper, wrong_arity};
use super::names;
use crate::digest::same_secret;
use crate::server::clients::Client;
use crate::server::resp::{Out, Reply};

const NOAUTH: &str = "NOAUTH Authentication required.";
const BAD_NAME: &str = "ERR Client names cannot contain spaces, newlines or special characters.";

/// Whether `name` may name a connection (printable, no spaces: it goes in CLIENT LIST).
fn valid_name(name: &[u8]) -> bool {
    name.iter().all(|b| (b'!'..=b'~').contains(b))
}
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
        "CLIENT" => client(ctx, session, rest, out),
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
                Some(n) if !valid_name(n) => return out.error(BAD_NAME),
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
        session.client.set_name(Some(name));
    }
    if let Some(resp3) = protocol {
        out.resp3 = resp3;
        session.client.set_resp3(resp3);
    }
    out.map(7);
    out.bulk(Some(b"server"));
    out.bulk(Some(b"wasmcache"));
    out.bulk(Some(b"version"));
    out.bulk(Some(env!("CARGO_PKG_VERSION").as_bytes()));
    out.bulk(Some(b"proto"));
    out.integer(if out.resp3 { 3 } else { 2 });
    out.bulk(Some(b"id"));
    out.integer(i64::try_from(session.client.id).unwrap_or(i64::MAX));
    out.bulk(Some(b"mode"));
    out.bulk(Some(b"standalone"));
    out.bulk(Some(b"role"));
    out.bulk(Some(b"master"));
    out.bulk(Some(b"modules"));
    out.array(0);
}

fn client(ctx: &Context<'_>, session: &mut Session, rest: &[Vec<u8>], out: &mut Out) {
    match (
        rest.first().map(|s| upper(s)).as_deref(),
        &rest[rest.len().min(1)..],
    ) {
        (Some("SETNAME"), [name]) => {
            if !valid_name(name) {
                return out.error(BAD_NAME);
            }
            session.client.set_name(Some(name.clone()));
            out.simple("OK");
        }
        (Some("GETNAME"), []) => out.bulk(session.client.name().as_deref()),
        (Some("ID"), []) => out.integer(i64::try_from(session.client.id).unwrap_or(i64::MAX)),
        (Some("SETINFO"), [_, _]) => out.simple("OK"),
        // Nothing is ever evicted on the server's own account (a backend decides).
        (Some("NO-EVICT" | "NO-TOUCH"), [mode]) if matches!(upper(mode).as_str(), "ON" | "OFF") => {
            out.simple("OK")
        }
        (Some("INFO"), []) => {
            let mut line = describe(ctx, session, &session.client, "info");
            line.push('\n');
            out.bulk(Some(line.as_bytes()));
        }
        (Some("LIST"), filters) => list(ctx, session, filters, out),
        _ => out.error(
            "ERR unsupported CLIENT subcommand (SETNAME, GETNAME, ID, INFO, LIST, SETINFO, NO-EVICT and NO-TOUCH are)",
        ),
    }
}

/// `CLIENT LIST [TYPE normal|master|replica|pubsub] [ID id [id ...]]`
fn list(ctx: &Context<'_>, session: &Session, filters: &[Vec<u8>], out: &mut Out) {
    let mut ids: Option<Vec<u64>> = None;
    let mut normal_only = true;
    let mut args = filters.iter();
    while let Some(filter) = args.next() {
        match upper(filter).as_str() {
            "TYPE" => match args.next().map(|t| upper(t)).as_deref() {
                Some("NORMAL") => normal_only = true,
                // Every wasmcache connection is a normal client.
                Some("MASTER" | "REPLICA" | "SLAVE" | "PUBSUB") => normal_only = false,
                Some(other) => {
                    return out.error(&format!(
                        "ERR Unknown client type '{}'",
                        other.to_ascii_lowercase()
                    ));
                }
                None => return out.error("ERR syntax error"),
            },
            "ID" => {
                let wanted: Option<Vec<u64>> = args
                    .by_ref()
                    .map(|id| parse_i64(id).filter(|n| *n > 0).map(|n| n as u64))
                    .collect();
                match wanted {
                    Some(wanted) if !wanted.is_empty() => ids = Some(wanted),
                    _ => return out.error("ERR Invalid client ID"),
                }
            }
            _ => return out.error("ERR syntax error"),
        }
    }
    let mut text = String::new();
    if normal_only {
        for client in ctx.clients.list() {
            if ids.as_ref().is_none_or(|ids| ids.contains(&client.id)) {
                text.push_str(&describe(ctx, session, &client, "list"));
                text.push('\n');
            }
        }
    }
    out.bulk(Some(text.as_bytes()));
}

/// One connection's line, with Redis's field names. `session` is the asking connection's
/// (whose transaction state is known), running `CLIENT asking`.
fn describe(ctx: &Context<'_>, session: &Session, client: &Client, asking: &str) -> String {
    let mine = client.id == session.client.id;
    let multi = match &session.multi {
        Some(multi) if mine => multi.queued.len() as i64,
        _ => -1,
    };
    let name = client
        .name()
        .map(|n| String::from_utf8_lossy(&n).into_owned());
    let command = match client.last_command() {
        // The asking connection is running this very CLIENT subcommand.
        _ if mine => format!("client|{asking}"),
        Some(at) => names::all()[at].name.to_ascii_lowercase(),
        None => "NULL".to_string(),
    };
    let mut line = String::new();
    // Writing to a String cannot fail.
    let _ = write!(
        line,
        "id={} addr={} laddr={} name={} age={} idle={} flags={} db=0 sub=0 psub=0 ssub=0 multi={multi} cmd={command} user=default resp={}",
        client.id,
        client.addr,
        client.local,
        name.unwrap_or_default(),
        client.age_secs(),
        ctx.clients.idle_secs(client),
        if multi >= 0 { "x" } else { "N" },
        if client.resp3() { 3 } else { 2 },
    );
    line
}
