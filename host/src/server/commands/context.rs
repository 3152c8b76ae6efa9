//! What every command gets: the server's shards and counters, the connection's session,
//! and the reply helpers they share.

use crate::counter::Counter;
use crate::error::Error;
use crate::server::resp::Reply;
use crate::server::shards::Shards;

/// What the connection does after a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    Continue,
    Close,
}

/// Per-connection state.
#[derive(Debug, Default)]
pub(crate) struct Session {
    pub(crate) name: Option<Vec<u8>>,
}

/// Server-wide counters for `INFO`.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) connections: Counter,
    pub(crate) commands: Counter,
    pub(crate) rejected_clients: Counter,
}

/// What commands can reach.
pub(crate) struct Context<'a> {
    pub(crate) shards: &'a Shards,
    pub(crate) counters: &'a Counters,
    pub(crate) admin: bool,
    pub(crate) connected_clients: usize,
}

pub(super) fn upper(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).to_ascii_uppercase()
}

pub(super) fn wrong_arity(out: &mut Vec<u8>, command: &str) {
    out.error(&format!(
        "ERR wrong number of arguments for '{}' command",
        command.to_ascii_lowercase()
    ));
}

/// Answers a backend error (the guard has already counted a fault).
pub(super) fn backend_error(out: &mut Vec<u8>, error: &Error) {
    if error.is_guest_fault() || matches!(error, Error::BreakerOpen) {
        out.error(&format!("ERR backend unavailable: {error}"));
    } else {
        out.error(&format!("ERR {error}"));
    }
}
