//! Listing keys: SCAN, KEYS and RANDOMKEY, through contract 0.2's `listing.keys` (or 0.1's
//! `handover`), shard after shard.
//!
//! A backend's cursor is bytes of its own choosing; Redis clients expect a number, which
//! [`ScanCursors`] hands out.

use std::hash::{BuildHasher, RandomState};

use super::context::{Context, backend_error, parse_i64, upper, wrong_arity};
use super::cursors::Position;
use crate::backend::Backend;
use crate::error::Error;
use crate::server::resp::{Out, Reply};

/// Most pages KEYS reads from one shard (each of [`KEYS_PAGE`] keys).
const KEYS_PAGE: u32 = 1024;

/// Runs `command` (upper case) if it is one of these; `false` if it is not.
pub(super) fn execute(ctx: &Context<'_>, command: &str, rest: &[Vec<u8>], out: &mut Out) -> bool {
    match (command, rest) {
        ("SCAN", [cursor, options @ ..]) => scan(ctx, cursor, options, out),
        ("KEYS", [pattern]) => keys(ctx, pattern, out),
        ("RANDOMKEY", []) => random_key(ctx, out),
        ("SCAN" | "KEYS" | "RANDOMKEY", _) => wrong_arity(out, command),
        _ => return false,
    }
    true
}

/// What a backend that cannot list answers.
fn cannot_list() -> Error {
    Error::Unsupported {
        what: "listing keys (the backend exports no `listing`)",
    }
}

/// `SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]`
fn scan(ctx: &Context<'_>, cursor: &[u8], options: &[Vec<u8>], out: &mut Out) {
    let Some(cursor) = std::str::from_utf8(cursor)
        .ok()
        .and_then(|c| c.parse::<u64>().ok())
    else {
        return out.error("ERR invalid cursor");
    };
    let (mut pattern, mut count, mut strings_only) = (None, 10u32, true);
    let mut options = options.iter();
    while let Some(option) = options.next() {
        match (upper(option).as_str(), options.next()) {
            ("MATCH", Some(p)) => pattern = Some(p.as_slice()),
            ("COUNT", Some(n)) => match parse_i64(n) {
                Some(n) if n >= 1 => count = u32::try_from(n).unwrap_or(u32::MAX).min(1 << 16),
                Some(_) => return out.error("ERR syntax error"),
                None => return out.error(super::context::NOT_AN_INTEGER),
            },
            ("TYPE", Some(t)) => strings_only = t.eq_ignore_ascii_case(b"string"),
            _ => return out.error("ERR syntax error"),
        }
    }
    let Some(mut position) = ctx.scans.take(cursor) else {
        return out.error("ERR invalid cursor");
    };
    let guards = ctx.shards.guards();
    let mut found = Vec::new();
    // One page of one shard per call, moving on to the next shard when this one ends.
    if let Some(guard) = guards.get(position.shard) {
        match guard.keys(position.cursor.as_deref(), count) {
            Ok(Some(page)) => {
                found = page.keys;
                position = match page.next {
                    Some(next) => Position {
                        shard: position.shard,
                        cursor: Some(next),
                    },
                    None => Position {
                        shard: position.shard + 1,
                        cursor: None,
                    },
                };
            }
            Ok(None) => return backend_error(out, &cannot_list()),
            Err(error) => return backend_error(out, &error),
        }
    }
    let next = if position.shard >= guards.len() {
        0
    } else {
        ctx.scans.remember(position)
    };
    found.retain(|key| strings_only && pattern.is_none_or(|p| glob_match(p, key)));
    out.array(2);
    out.bulk(Some(next.to_string().as_bytes()));
    out.array(found.len());
    for key in &found {
        out.bulk(Some(key));
    }
}

/// `KEYS pattern`: every shard, every page.
fn keys(ctx: &Context<'_>, pattern: &[u8], out: &mut Out) {
    let mut found = Vec::new();
    for guard in ctx.shards.guards() {
        let mut cursor: Option<Vec<u8>> = None;
        loop {
            let page = match guard.keys(cursor.as_deref(), KEYS_PAGE) {
                Ok(Some(page)) => page,
                Ok(None) => return backend_error(out, &cannot_list()),
                Err(error) => return backend_error(out, &error),
            };
            found.extend(page.keys.into_iter().filter(|k| glob_match(pattern, k)));
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
    }
    out.array(found.len());
    for key in &found {
        out.bulk(Some(key));
    }
}

/// `RANDOMKEY`: a key from the first page of a shard picked at random (not uniform over
/// all keys: a backend lists in its own order).
fn random_key(ctx: &Context<'_>, out: &mut Out) {
    let guards = ctx.shards.guards();
    let seed = RandomState::new().hash_one(std::time::Instant::now()) as usize;
    for i in 0..guards.len() {
        let guard = &guards[(seed + i) % guards.len()];
        match guard.keys(None, 64) {
            Ok(Some(page)) if !page.keys.is_empty() => {
                let pick = seed / guards.len().max(1) % page.keys.len();
                return out.bulk(Some(&page.keys[pick]));
            }
            Ok(Some(_)) => {}
            Ok(None) => return backend_error(out, &cannot_list()),
            Err(error) => return backend_error(out, &error),
        }
    }
    out.bulk(None);
}

/// Redis's glob: `*`, `?`, `[abc]`, `[^a]`, `[a-z]` and `\\` to escape. Matched with
/// the two-pointer method (back to the last `*` on a mismatch), so any pattern takes at
/// most pattern × text steps: a client cannot make it exponential.
pub(super) fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    // After a `*`: where the pattern goes on, and the text position it was tried from.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if pattern.get(p) == Some(&b'*') {
            star = Some((p + 1, t));
            p += 1;
            continue;
        }
        if let Some(used) = one(&pattern[p.min(pattern.len())..], text[t]) {
            p += used;
            t += 1;
            continue;
        }
        match star {
            Some((after, from)) => {
                // Let the `*` take one more byte and try again.
                star = Some((after, from + 1));
                p = after;
                t = from + 1;
            }
            None => return false,
        }
    }
    pattern[p.min(pattern.len())..].iter().all(|&c| c == b'*')
}

/// Whether the pattern's first element (not `*`) matches `c`: how many pattern bytes it
/// took, or `None`.
fn one(pattern: &[u8], c: u8) -> Option<usize> {
    match pattern.split_first()? {
        (b'?', _) => Some(1),
        (b'\\', rest) if !rest.is_empty() => (rest[0] == c).then_some(2),
        (b'[', rest) => {
            let (negate, set, skip) = match rest.split_first() {
                Some((b'^', set)) => (true, set, 2),
                _ => (false, rest, 1),
            };
            let mut i = 0;
            let mut matched = false;
            while i < set.len() && set[i] != b']' {
                if set[i] == b'\\' && i + 1 < set.len() {
                    matched |= set[i + 1] == c;
                    i += 2;
                } else if i + 2 < set.len() && set[i + 1] == b'-' && set[i + 2] != b']' {
                    let (lo, hi) = (set[i].min(set[i + 2]), set[i].max(set[i + 2]));
                    matched |= (lo..=hi).contains(&c);
                    i += 3;
                } else {
                    matched |= set[i] == c;
                    i += 1;
                }
            }
            // An unclosed `[` takes the rest of the pattern, as Redis does.
            let used = skip + (i + 1).min(set.len());
            (matched != negate).then_some(used)
        }
        (&literal, _) => (literal == c).then_some(1),
    }
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs_match_as_redis_does() {
        for (pattern, text, want) in [
            ("*", "anything", true),
            ("key:*", "key:1", true),
            ("key:*", "other", false),
            ("h?llo", "hello", true),
            ("h?llo", "hllo", false),
            ("h[ae]llo", "hallo", true),
            ("h[ae]llo", "hillo", false),
            ("h[^e]llo", "hallo", true),
            ("h[^e]llo", "hello", false),
            ("h[a-b]llo", "hbllo", true),
            ("h\\*llo", "h*llo", true),
            ("h\\*llo", "hello", false),
            ("*a*b*", "xxaxxbxx", true),
            ("", "", true),
            ("a*", "", false),
            ("**", "", true),
            ("[abc", "b", true),
        ] {
            assert_eq!(
                glob_match(pattern.as_bytes(), text.as_bytes()),
                want,
                "{pattern} {text}"
            );
        }
    }

    /// `a*a*...a*b` against a long run of `a`: exponential for a naive backtracking
    /// matcher (the suite would not finish), pattern × text steps here.
    #[test]
    fn a_pathological_pattern_is_answered() {
        let pattern = "a*".repeat(100) + "b";
        let text = "a".repeat(10_000);
        assert!(!glob_match(pattern.as_bytes(), text.as_bytes()));
        assert!(glob_match(pattern.as_bytes(), (text + "b").as_bytes()));
    }
}
