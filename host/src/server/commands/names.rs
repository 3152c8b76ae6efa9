//! The names of the commands the server answers (what MULTI may queue).

/// Every command the server answers, upper case.
const COMMANDS: &[&str] = &[
    "APPEND",
    "AUTH",
    "CLIENT",
    "COMMAND",
    "DBSIZE",
    "DECR",
    "DECRBY",
    "DEL",
    "DISCARD",
    "ECHO",
    "EXEC",
    "EXISTS",
    "EXPIRE",
    "EXPIREAT",
    "EXPIRETIME",
    "FLUSHALL",
    "FLUSHDB",
    "GET",
    "GETDEL",
    "GETEX",
    "GETRANGE",
    "GETSET",
    "HELLO",
    "INCR",
    "INCRBY",
    "INCRBYFLOAT",
    "INFO",
    "KEYS",
    "MGET",
    "MSET",
    "MSETNX",
    "MULTI",
    "PERSIST",
    "PEXPIRE",
    "PEXPIREAT",
    "PEXPIRETIME",
    "PING",
    "PSETEX",
    "PTTL",
    "QUIT",
    "RANDOMKEY",
    "SCAN",
    "SELECT",
    "SET",
    "SETEX",
    "SETNX",
    "SETRANGE",
    "STRLEN",
    "SUBSTR",
    "TIME",
    "TOUCH",
    "TTL",
    "TYPE",
    "UNLINK",
    "UNWATCH",
    "WASMCACHE.RELOAD",
    "WATCH",
];

/// Whether the server answers `command` (upper case).
pub(super) fn is_known(command: &str) -> bool {
    COMMANDS.contains(&command)
}

/// How many commands the server answers.
pub(super) fn count() -> usize {
    COMMANDS.len()
}
