//! The command table: every command the server answers, with what `COMMAND INFO` and
//! `COMMAND DOCS` report about it (Redis's arity, flags, key positions, group and summary)
//! and what MULTI may queue.

/// One command as the table describes it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Spec {
    /// Upper case, as clients send it (in any case).
    pub(super) name: &'static str,
    /// Redis's arity: the number of arguments with the name; negative: at least that many.
    pub(super) arity: i64,
    pub(super) flags: &'static [&'static str],
    /// The first key's position, the last's (-1: the last argument) and the step between.
    pub(super) keys: (i64, i64, i64),
    /// Redis's command group (`string`, `generic`, `connection`, ...).
    pub(super) group: &'static str,
    /// The Redis version the command first appeared in.
    pub(super) since: &'static str,
    pub(super) summary: &'static str,
}

const W: &[&str] = &["write", "denyoom"];
const WF: &[&str] = &["write", "denyoom", "fast"];
const WRITE: &[&str] = &["write"];
const WRITE_FAST: &[&str] = &["write", "fast"];
const READ: &[&str] = &["readonly"];
const READ_FAST: &[&str] = &["readonly", "fast"];
const CONN: &[&str] = &[
    "noscript",
    "loading",
    "stale",
    "fast",
    "no-auth",
    "allow-busy",
];
const TX: &[&str] = &["noscript", "loading", "stale", "fast", "allow-busy"];
const STALE: &[&str] = &["loading", "stale"];
const STALE_FAST: &[&str] = &["loading", "stale", "fast"];
const FAST: &[&str] = &["fast"];
const NONE: &[&str] = &[];

const ONE: (i64, i64, i64) = (1, 1, 1);
const TWO: (i64, i64, i64) = (1, 2, 1);
const ALL: (i64, i64, i64) = (1, -1, 1);
const PAIRS: (i64, i64, i64) = (1, -1, 2);
const NO_KEYS: (i64, i64, i64) = (0, 0, 0);

macro_rules! spec {
    ($name:literal, $arity:literal, $flags:expr, $keys:expr, $group:literal, $since:literal, $summary:literal) => {
        Spec {
            name: $name,
            arity: $arity,
            flags: $flags,
            keys: $keys,
            group: $group,
            since: $since,
            summary: $summary,
        }
    };
}

/// Every command the server answers, sorted by name.
#[rustfmt::skip]
const TABLE: &[Spec] = &[
    spec!("APPEND", 3, WF, ONE, "string", "2.0.0", "Appends a string to a key's value; creates the key if it does not exist."),
    spec!("AUTH", -2, CONN, NO_KEYS, "connection", "1.0.0", "Authenticates the connection."),
    spec!("BGSAVE", -1, &["admin", "noscript"], NO_KEYS, "server", "1.0.0", "Saves every entry to the snapshot file, in the background."),
    spec!("BITCOUNT", -2, READ, ONE, "bitmap", "2.6.0", "Counts the set bits in a string."),
    spec!("CLIENT", -2, NONE, NO_KEYS, "connection", "2.4.0", "Names, identifies and lists connections."),
    spec!("COMMAND", -1, STALE, NO_KEYS, "server", "2.8.13", "Describes the commands the server answers."),
    spec!("CONFIG", -2, NONE, NO_KEYS, "server", "2.0.0", "Reads the server's settings clients probe."),
    spec!("COPY", -3, WRITE, TWO, "generic", "6.2.0", "Copies a key's value and ttl to another key."),
    spec!("DBSIZE", 1, READ_FAST, NO_KEYS, "server", "1.0.0", "Counts the keys stored."),
    spec!("DECR", 2, WF, ONE, "string", "1.0.0", "Decrements a key's integer value by one."),
    spec!("DECRBY", 3, WF, ONE, "string", "1.0.0", "Decrements a key's integer value by a number."),
    spec!("DEL", -2, WRITE, ALL, "generic", "1.0.0", "Removes keys; answers how many existed."),
    spec!("DISCARD", 1, TX, NO_KEYS, "transactions", "2.0.0", "Drops the commands queued since MULTI."),
    spec!("ECHO", 2, FAST, NO_KEYS, "connection", "1.0.0", "Answers the given string."),
    spec!("EXEC", 1, &["noscript", "loading", "stale", "skip-slowlog"], NO_KEYS, "transactions", "1.2.0", "Runs the commands queued since MULTI, alone."),
    spec!("EXISTS", -2, READ_FAST, ALL, "generic", "1.0.0", "Counts how many of the keys exist."),
    spec!("EXPIRE", -3, WRITE_FAST, ONE, "generic", "1.0.0", "Sets a key's time to live in seconds."),
    spec!("EXPIREAT", -3, WRITE_FAST, ONE, "generic", "1.2.0", "Sets a key's expiry to a Unix time in seconds."),
    spec!("EXPIRETIME", 2, READ_FAST, ONE, "generic", "7.0.0", "Answers a key's expiry as a Unix time in seconds."),
    spec!("FLUSHALL", -1, WRITE, NO_KEYS, "server", "1.0.0", "Removes every key."),
    spec!("FLUSHDB", -1, WRITE, NO_KEYS, "server", "1.0.0", "Removes every key."),
    spec!("GET", 2, READ_FAST, ONE, "string", "1.0.0", "Answers a key's value."),
    spec!("GETBIT", 3, READ_FAST, ONE, "bitmap", "2.2.0", "Answers one bit of a string."),
    spec!("GETDEL", 2, WRITE_FAST, ONE, "string", "6.2.0", "Answers a key's value and removes the key."),
    spec!("GETEX", -2, WRITE_FAST, ONE, "string", "6.2.0", "Answers a key's value and changes its expiry."),
    spec!("GETRANGE", 4, READ, ONE, "string", "2.4.0", "Answers part of a key's value."),
    spec!("GETSET", 3, WF, ONE, "string", "1.0.0", "Sets a key's value and answers the old one."),
    spec!("HELLO", -1, CONN, NO_KEYS, "connection", "6.0.0", "Chooses RESP2 or RESP3, optionally authenticating and naming the connection."),
    spec!("INCR", 2, WF, ONE, "string", "1.0.0", "Increments a key's integer value by one."),
    spec!("INCRBY", 3, WF, ONE, "string", "1.0.0", "Increments a key's integer value by a number."),
    spec!("INCRBYFLOAT", 3, WF, ONE, "string", "2.6.0", "Increments a key's number by a floating point number."),
    spec!("INFO", -1, STALE, NO_KEYS, "server", "1.0.0", "Answers the server's state and counters."),
    spec!("KEYS", 2, READ, NO_KEYS, "generic", "1.0.0", "Answers every key that matches a pattern."),
    spec!("LASTSAVE", 1, STALE_FAST, NO_KEYS, "server", "1.0.0", "Answers when the snapshot file was last saved, in Unix seconds."),
    spec!("LATENCY", -2, &["admin", "noscript", "loading", "stale"], NO_KEYS, "server", "2.8.13", "Answers per-command latency histograms."),
    spec!("LCS", -3, READ, TWO, "string", "7.0.0", "Finds the longest common subsequence of two keys' values."),
    spec!("MGET", -2, READ_FAST, ALL, "string", "1.0.0", "Answers the values of many keys."),
    spec!("MSET", -3, W, PAIRS, "string", "1.0.1", "Sets many keys' values."),
    spec!("MSETNX", -3, W, PAIRS, "string", "1.0.1", "Sets many keys' values only if none of them exists."),
    spec!("MULTI", 1, TX, NO_KEYS, "transactions", "1.2.0", "Starts queueing a transaction."),
    spec!("PERSIST", 2, WRITE_FAST, ONE, "generic", "2.2.0", "Removes a key's expiry."),
    spec!("PEXPIRE", -3, WRITE_FAST, ONE, "generic", "2.6.0", "Sets a key's time to live in milliseconds."),
    spec!("PEXPIREAT", -3, WRITE_FAST, ONE, "generic", "2.6.0", "Sets a key's expiry to a Unix time in milliseconds."),
    spec!("PEXPIRETIME", 2, READ_FAST, ONE, "generic", "7.0.0", "Answers a key's expiry as a Unix time in milliseconds."),
    spec!("PING", -1, FAST, NO_KEYS, "connection", "1.0.0", "Answers PONG, or the given string."),
    spec!("PSETEX", 4, W, ONE, "string", "2.6.0", "Sets a key's value with a time to live in milliseconds."),
    spec!("PTTL", 2, READ_FAST, ONE, "generic", "2.6.0", "Answers a key's time to live in milliseconds."),
    spec!("QUIT", -1, CONN, NO_KEYS, "connection", "1.0.0", "Closes the connection."),
    spec!("RANDOMKEY", 1, READ, NO_KEYS, "generic", "1.0.0", "Answers a key picked at random."),
    spec!("RENAME", 3, WRITE, TWO, "generic", "1.0.0", "Moves a key's value and ttl to another key."),
    spec!("RENAMENX", 3, WRITE_FAST, TWO, "generic", "1.0.0", "Moves a key only if the new name is free."),
    spec!("SAVE", 1, &["admin", "noscript"], NO_KEYS, "server", "1.0.0", "Saves every entry to the snapshot file."),
    spec!("SCAN", -2, READ, NO_KEYS, "generic", "2.8.0", "Walks the keys page by page."),
    spec!("SELECT", 2, STALE_FAST, NO_KEYS, "connection", "1.0.0", "Chooses the database (there is one, 0)."),
    spec!("SET", -3, W, ONE, "string", "1.0.0", "Sets a key's value, with options for expiry and conditions."),
    spec!("SETBIT", 4, W, ONE, "bitmap", "2.2.0", "Sets one bit of a string."),
    spec!("SETEX", 4, W, ONE, "string", "2.0.0", "Sets a key's value with a time to live in seconds."),
    spec!("SETNX", 3, WF, ONE, "string", "1.0.0", "Sets a key's value only if the key does not exist."),
    spec!("SETRANGE", 4, W, ONE, "string", "2.2.0", "Overwrites part of a key's value."),
    spec!("SLOWLOG", -2, &["admin", "random", "loading", "stale"], NO_KEYS, "server", "2.2.12", "Lists the commands that ran longer than slowlog-log-slower-than."),
    spec!("STRLEN", 2, READ_FAST, ONE, "string", "2.2.0", "Answers the length of a key's value."),
    spec!("SUBSTR", 4, READ, ONE, "string", "1.0.0", "Answers part of a key's value (GETRANGE's old name)."),
    spec!("TIME", 1, STALE_FAST, NO_KEYS, "server", "2.6.0", "Answers the server's time."),
    spec!("TOUCH", -2, READ_FAST, ALL, "generic", "3.2.1", "Counts how many of the keys exist."),
    spec!("TTL", 2, READ_FAST, ONE, "generic", "1.0.0", "Answers a key's time to live in seconds."),
    spec!("TYPE", 2, READ_FAST, ONE, "generic", "1.0.0", "Answers a key's type (string, or none)."),
    spec!("UNLINK", -2, WRITE_FAST, ALL, "generic", "4.0.0", "Removes keys; answers how many existed."),
    spec!("UNWATCH", 1, TX, NO_KEYS, "transactions", "2.2.0", "Forgets every watched key."),
    spec!("WASMCACHE.RELOAD", 2, &["admin", "noscript"], NO_KEYS, "server", "0.1.0", "Swaps every shard's backend for a new component (loopback, with --admin)."),
    spec!("WATCH", -2, TX, ALL, "transactions", "2.2.0", "Makes the next EXEC depend on the keys staying unchanged."),
];

/// The position in [`all`] of the command named `name` (in any case), if the server
/// answers it. No allocation: names are compared byte by byte, upper-cased on the fly.
pub(super) fn position(name: &[u8]) -> Option<usize> {
    TABLE
        .binary_search_by(|spec| {
            let ours = spec.name.as_bytes().iter().copied();
            ours.cmp(name.iter().map(u8::to_ascii_uppercase))
        })
        .ok()
}

impl Spec {
    /// Whether `argc` arguments (the name included) fit the command's arity.
    pub(super) fn accepts(&self, argc: usize) -> bool {
        let argc = argc as i64;
        if self.arity >= 0 {
            argc == self.arity
        } else {
            argc >= -self.arity
        }
    }
}

/// The command named `name` (in any case), if the server answers it.
pub(super) fn find(name: &[u8]) -> Option<&'static Spec> {
    position(name).map(|at| &TABLE[at])
}

/// Whether the server answers `command` (upper case).
pub(super) fn is_known(command: &str) -> bool {
    find(command.as_bytes()).is_some()
}

/// Every command the server answers.
pub(super) fn all() -> &'static [Spec] {
    TABLE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_so_lookup_finds_every_command() {
        for pair in TABLE.windows(2) {
            assert!(
                pair[0].name < pair[1].name,
                "{} before {}",
                pair[0].name,
                pair[1].name
            );
        }
        for spec in TABLE {
            assert_eq!(
                find(spec.name.to_ascii_lowercase().as_bytes())
                    .unwrap()
                    .name,
                spec.name
            );
        }
        assert!(find(b"HSET").is_none());
        assert!(find(b"").is_none());
    }
}
