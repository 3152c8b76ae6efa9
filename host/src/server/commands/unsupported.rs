//! Commands whose refusal deserves an explanation rather than "unknown command".

/// Each command the contract cannot express, with why.
const UNSUPPORTED: &[(&str, &str)] = &[
    ("LPUSH", "only string values are stored"),
    ("RPUSH", "only string values are stored"),
    ("HSET", "only string values are stored"),
    ("HGET", "only string values are stored"),
    ("SADD", "only string values are stored"),
    ("ZADD", "only string values are stored"),
    ("MULTI", "transactions are not supported"),
    ("WATCH", "transactions are not supported"),
    ("SUBSCRIBE", "pub/sub is not supported"),
    ("PUBLISH", "pub/sub is not supported"),
];

/// Why `command` (upper case) is refused, if it is one the contract cannot express.
pub(super) fn why(command: &str) -> Option<(&'static str, &'static str)> {
    UNSUPPORTED
        .iter()
        .find(|(name, _)| *name == command)
        .copied()
}
