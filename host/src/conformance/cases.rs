//! The cases themselves. Each builds its own backend from the harness.

use super::harness::{Case, CaseResult, Harness, case, op, show};
use crate::backend::Backend;
use crate::error::{Error, Refusal};

pub(super) const ALL: &[Case] = &[
    case!(
        "miss-on-empty",
        "a new backend misses and has size 0",
        miss_on_empty
    ),
    case!(
        "hit-after-put",
        "a put value is returned by get",
        hit_after_put
    ),
    case!(
        "overwrite",
        "a second put replaces the value and keeps size 1",
        overwrite
    ),
    case!(
        "empty-value-is-hit",
        "an empty value is a hit, not a miss",
        empty_value_is_hit
    ),
    case!(
        "binary-keys",
        "keys with zero, high and prefix bytes are distinct",
        binary_keys
    ),
    case!(
        "empty-key",
        "the empty key is a valid key of its own",
        empty_key
    ),
    case!(
        "ttl-expiry",
        "hit until put+ttl, miss at put+ttl and after",
        ttl_expiry
    ),
    case!(
        "ttl-none-never-expires",
        "no ttl survives a century of clock",
        ttl_none_never_expires
    ),
    case!(
        "ttl-zero",
        "ttl 0 stores an entry that is never returned",
        ttl_zero
    ),
    case!(
        "put-replaces-ttl",
        "a put replaces the previous entry's ttl",
        put_replaces_ttl
    ),
    case!(
        "put-replaces-ttl-shorter-and-longer",
        "a put with a shorter or a longer ttl than the entry's replaces it, both ways",
        put_replaces_ttl_shorter_and_longer
    ),
    case!(
        "ttl-counts-from-put",
        "reads do not extend a ttl",
        ttl_counts_from_put
    ),
    case!(
        "expired-stops-counting",
        "size drops once a get removes an expired entry",
        expired_stops_counting
    ),
    case!(
        "invalidate-one",
        "invalidating a key leaves the others",
        invalidate_one
    ),
    case!(
        "invalidate-absent",
        "invalidating an absent key is not an error",
        invalidate_absent
    ),
    case!(
        "invalidate-all",
        "invalidating everything empties the backend, which stays usable",
        invalidate_all
    ),
    case!(
        "stats-size",
        "size follows puts, overwrites and invalidations",
        stats_size
    ),
    case!(
        "stats-is-read-only",
        "stats does not change what is stored",
        stats_is_read_only
    ),
    case!(
        "no-cross-talk",
        "many keys never return each other's values",
        no_cross_talk
    ),
    case!(
        "init-rejects-unknown-option",
        "init refuses an option it does not know",
        init_rejects_unknown_option
    ),
    case!(
        "key-size-limit",
        "a key at the limit works, one byte over is refused by the host",
        key_size_limit
    ),
    case!(
        "value-size-limit",
        "a value at the limit round-trips, one byte over is refused by the host",
        value_size_limit
    ),
];

pub(super) fn expect_get(
    backend: &dyn Backend,
    key: &[u8],
    want: Option<&[u8]>,
    when: &str,
) -> CaseResult {
    let got = op("get", backend.get(key))?;
    if got.as_deref() != want {
        let want = want.map(<[u8]>::to_vec);
        return Err(format!(
            "{when}: expected {}, got {}",
            show(&want),
            show(&got)
        ));
    }
    Ok(())
}

fn expect_size(backend: &dyn Backend, want: u64, when: &str) -> CaseResult {
    let size = op("stats", backend.stats())?.size;
    if size != want {
        return Err(format!("{when}: expected size {want}, got {size}"));
    }
    Ok(())
}

fn put(backend: &dyn Backend, key: &[u8], value: &[u8], ttl_ms: Option<u64>) -> CaseResult {
    op("put", backend.put(key, value, ttl_ms))
}

fn miss_on_empty(h: &mut Harness<'_>) -> CaseResult {
    let b = h.backend()?;
    expect_get(&*b, b"absent", None, "on a new backend")?;
    expect_size(&*b, 0, "on a new backend")
}

fn hit_after_put(h: &mut Harness<'_>) -> CaseResult {
    let b = h.backend()?;
    put(&*b, b"key", b"value", None)?;
    expect_get(&*b, b"key", Some(b"value"), "after put")?;
    expect_get(&*b, b"key", Some(b"value"), "on a second get")?;
    expect_size(&*b, 1, "after one put")
}

fn overwrite(h: &mut Harness<'_>) -> CaseResult {
    let b = h.backend()?;
    put(&*b, b"key", b"first", None)?;
    put(&*b, b"key", b"second", None)?;
    expect_get(&*b, b"key", Some(b"second"), "after overwriting")?;
    expect_size(&*b, 1, "after overwriting one key")
}

fn empty_value_is_hit(h: &mut Harness<'_>) -> CaseResult {
    let b = h.backend()?;
    put(&*b, b"key", b"", None)?;
    expect_get(&*b, b"key", Some(b""), "after storing an empty value")
}

fn binary_keys(h: &mut Harness<'_>) -> CaseResult {
    let b = h.backend()?;
    let keys: [&[u8]; 6] = [
        b"\0",
        b"\0\0",
        b"a\0b",
        b"a",
        b"ab",
        &[0xff, 0x80, 0xc3, 0x28],
    ];
    for (i, key) in keys.iter().enumerate() {
        put(&*b, key, &[i as u8; 3], None)?;
    }
    for (i, key) in keys.iter().enumerate() {
        expect_get(
            &*b,
            key,
            Some(&[i as u8; 3]),
            &format!("key {}", super::render::bytes(key)),
        )?;
    }
    expect_size(&*b, keys.len() as u64, "after storing distinct binary keys")
}

fn empty_key(h: &mut Harness<'_>) -> CaseResult {
    let b = h.backend()?;
    expect_get(&*b, b"", None, "before storing the empty key")?;
    put(&*b, b"", b"empty", None)?;
    put(&*b, b"\0", b"zero", None)?;
    expect_get(&*b, b"", Some(b"empty"), "the empty key")?;
    expect_get(&*b, b"\0", Some(b"zero"), "the key [0]")
}

fn ttl_expiry(h: &mut Harness<'_>) -> CaseResult {
    let b = h.backend()?;
    put(&*b, b"key", b"value", Some(1000))?;
    expect_get(&*b, b"key", Some(b"value"), "right after put")?;
    h.advance(999);
    expect_get(&*b, b"key", Some(b"value"), "1 ms before expiry")?;
    h.advance(1);
    expect_get(&*b, b"key", None, "exactly at put+ttl")?;
    h.advance(10_000);
    expect_get(&*b, b"key", None, "long after expiry")
}

fn ttl_none_never_expires(h: &mut Harness<'_>) -> CaseResult {
    let b = h.backend()?;
    put(&*b, b"key", b"value", None)?;
    h.advance(100 * 365 * 24 * 3600 * 1000);
    expect_get(&*b, b"key", Some(b"value"), "a century later")
}

fn ttl_zero(h: &mut Harness<'_>) -> CaseResult {
    let b = h.backend()?;
    put(&*b, b"key", b"value", Some(0))?;
    expect_get(&*b, b"key", None, "after put with ttl 0")?;
    put(&*b, b"other", b"old", None)?;
    put(&*b, b"other", b"new", Some(0))?;
    expect_get(
        &*b,
        b"other",
        None,
        "after replacing a live entry with ttl 0",
    )
}

fn put_replaces_ttl(h: &mut Harness<'_>) -> CaseResult {
    let b = h.backend()?;
    put(&*b, b"a", b"short", Some(100))?;
    put(&*b, b"a", b"forever", None)?;
    put(&*b, b"b", b"forever", None)?;
    put(&*b, b"b", b"short", Some(100))?;
    h.advance(100);
    expect_get(&*b, b"a", Some(b"forever"), "a ttl replaced by none")?;
    expect_get(&*b, b"b", None, "no ttl replaced by 100 ms, 100 ms later")
}

fn put_replaces_ttl_shorter_and_longer(h: &mut Harness<'_>) -> CaseResult {
    let b = h.backend()?;
    put(&*b, b"shorter", b"old", Some(100_000))?;
    put(&*b, b"shorter", b"new", Some(300))?;
    put(&*b, b"longer", b"old", Some(300))?;
    put(&*b, b"longer", b"new", Some(100_000))?;
    h.advance(299);
    expect_get(
        &*b,
        b"shorter",
        Some(b"new"),
        "299 ms into the new 300 ms ttl",
    )?;
    h.advance(1);
    expect_get(
        &*b,
        b"shorter",
        None,
        "a 100 s ttl replaced by 300 ms, 300 ms later",
    )?;
    expect_get(
        &*b,
        b"longer",
        Some(b"new"),
        "a 300 ms ttl replaced by 100 s, 300 ms later",
    )?;
    h.advance(100_000);
    expect_get(
        &*b,
        b"longer",
        None,
        "the new 100 s ttl, once it has passed",
    )
}

fn ttl_counts_from_put(h: &mut Harness<'_>) -> CaseResult {
    let b = h.backend()?;
    put(&*b, b"key", b"value", Some(100))?;
    h.advance(60);
    expect_get(&*b, b"key", Some(b"value"), "60 ms into a 100 ms ttl")?;
    h.advance(40);
    expect_get(
        &*b,
        b"key",
        None,
        "100 ms after put, despite a read at 60 ms",
    )
}

fn expired_stops_counting(h: &mut Harness<'_>) -> CaseResult {
    let b = h.backend()?;
    put(&*b, b"short", b"v", Some(10))?;
    put(&*b, b"long", b"v", None)?;
    expect_size(&*b, 2, "with two live entries")?;
    h.advance(10);
    expect_get(&*b, b"short", None, "after expiry")?;
    expect_size(&*b, 1, "after a get removed the expired entry")
}

fn invalidate_one(h: &mut Harness<'_>) -> CaseResult {
    let b = h.backend()?;
    for key in [b"a", b"b", b"c"] {
        put(&*b, key, key, None)?;
    }
    op("invalidate", b.invalidate(Some(b"b")))?;
    expect_get(&*b, b"b", None, "the invalidated key")?;
    expect_get(&*b, b"a", Some(b"a"), "a key beside it")?;
    expect_get(&*b, b"c", Some(b"c"), "another key beside it")?;
    expect_size(&*b, 2, "after invalidating one of three")
}

fn invalidate_absent(h: &mut Harness<'_>) -> CaseResult {
    let b = h.backend()?;
    put(&*b, b"present", b"v", None)?;
    op("invalidate of an absent key", b.invalidate(Some(b"absent")))?;
    expect_get(
        &*b,
        b"present",
        Some(b"v"),
        "after invalidating another, absent key",
    )
}

fn invalidate_all(h: &mut Harness<'_>) -> CaseResult {
    let b = h.backend()?;
    for key in [b"a", b"b", b"c"] {
        put(&*b, key, key, None)?;
    }
    op("invalidate all", b.invalidate(None))?;
    for key in [b"a", b"b", b"c"] {
        expect_get(&*b, key, None, "after invalidating all")?;
    }
    expect_size(&*b, 0, "after invalidating all")?;
    put(&*b, b"again", b"v", None)?;
    expect_get(&*b, b"again", Some(b"v"), "a put after invalidating all")?;
    expect_size(&*b, 1, "after one put following invalidate all")
}

fn stats_size(h: &mut Harness<'_>) -> CaseResult {
    let b = h.backend()?;
    expect_size(&*b, 0, "initially")?;
    put(&*b, b"a", b"1", None)?;
    expect_size(&*b, 1, "after one put")?;
    put(&*b, b"b", b"2", None)?;
    expect_size(&*b, 2, "after two puts")?;
    put(&*b, b"a", b"3", None)?;
    expect_size(&*b, 2, "after overwriting")?;
    op("invalidate", b.invalidate(Some(b"a")))?;
    expect_size(&*b, 1, "after invalidating one")?;
    op("invalidate all", b.invalidate(None))?;
    expect_size(&*b, 0, "after invalidating all")
}

fn stats_is_read_only(h: &mut Harness<'_>) -> CaseResult {
    let b = h.backend()?;
    put(&*b, b"key", b"value", None)?;
    let first = op("stats", b.stats())?;
    let second = op("stats", b.stats())?;
    if first.size != second.size {
        return Err(format!(
            "size changed between two stats calls: {} then {}",
            first.size, second.size
        ));
    }
    expect_get(&*b, b"key", Some(b"value"), "after two stats calls")
}

fn no_cross_talk(h: &mut Harness<'_>) -> CaseResult {
    let b = h.backend()?;
    let key = |i: u32| format!("key-{i}").into_bytes();
    let value = |i: u32| format!("value-{i}-{}", i.wrapping_mul(2_654_435_761)).into_bytes();
    for i in 0..1000 {
        put(&*b, &key(i), &value(i), None)?;
    }
    let mut hits = 0;
    for i in 0..1000 {
        // A bounded backend may have evicted some keys; none may answer with another's value.
        if let Some(got) = op("get", b.get(&key(i)))? {
            if got != value(i) {
                return Err(format!(
                    "key-{i} returned {}",
                    String::from_utf8_lossy(&got)
                ));
            }
            hits += 1;
        }
    }
    if hits == 0 {
        return Err("none of 1000 freshly stored keys was found".into());
    }
    Ok(())
}

fn init_rejects_unknown_option(h: &mut Harness<'_>) -> CaseResult {
    let mut options = h.options.clone();
    options.push(("wasmcache-conformance-unknown-option".into(), "1".into()));
    match h.factory.init(&options, h.clock.clone()) {
        Err(Error::Refused(Refusal::InvalidConfig(message))) if !message.is_empty() => Ok(()),
        Err(Error::Refused(Refusal::InvalidConfig(_))) => {
            Err("init refused the option with an empty message".into())
        }
        Err(other) => Err(format!("expected an invalid-config error, got: {other}")),
        Ok(_) => {
            Err("init accepted an unknown option; the contract requires invalid-config".into())
        }
    }
}

fn key_size_limit(h: &mut Harness<'_>) -> CaseResult {
    let b = h.backend()?;
    let limit = b.size_limits().max_key_bytes;
    let key = vec![b'k'; limit];
    put(&*b, &key, b"v", None)?;
    expect_get(&*b, &key, Some(b"v"), "a key at the limit")?;
    let over = vec![b'k'; limit + 1];
    match b.put(&over, b"v", None) {
        Err(Error::KeyTooLarge { len, limit: l }) if len == limit + 1 && l == limit => {}
        other => {
            return Err(format!(
                "put with a key one byte over the limit: expected KeyTooLarge, got {other:?}"
            ));
        }
    }
    match b.get(&over) {
        Err(Error::KeyTooLarge { .. }) => Ok(()),
        other => Err(format!(
            "get with a key one byte over the limit: expected KeyTooLarge, got {other:?}"
        )),
    }
}

fn value_size_limit(h: &mut Harness<'_>) -> CaseResult {
    let b = h.backend()?;
    let limit = b.size_limits().max_value_bytes;
    let value: Vec<u8> = (0..limit).map(|i| (i % 251) as u8).collect();
    match b.put(b"big", &value, None) {
        Ok(()) => {
            let got = op("get", b.get(b"big"))?;
            if got.as_deref() != Some(&value[..]) {
                return Err(format!(
                    "a value of {limit} bytes came back as {}",
                    show(&got)
                ));
            }
        }
        // A backend with a smaller byte budget may refuse it, as the contract allows.
        Err(Error::Refused(Refusal::TooLarge { .. })) => {}
        Err(other) => {
            return Err(format!(
                "put of a value at the limit ({limit} bytes) failed: {other}"
            ));
        }
    }
    let mut over = value;
    over.push(0);
    match b.put(b"over", &over, None) {
        Err(Error::ValueTooLarge { len, limit: l }) if len == limit + 1 && l == limit => {}
        other => {
            return Err(format!(
                "put of a value one byte over the limit: expected ValueTooLarge, got {other:?}"
            ));
        }
    }
    expect_get(
        &*b,
        b"over",
        None,
        "after the host refused an oversized value",
    )
}
