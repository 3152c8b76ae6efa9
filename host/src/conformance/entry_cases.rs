//! The cases for what contract 0.2 adds beyond the five callbacks: removal that reports,
//! an entry's ttl read back and changed, batches, and listing. A 0.1 backend is served
//! through the host's fallbacks (a `get` then an `invalidate`, a `put` with the new ttl,
//! a loop), so most of these apply to it too; reading a ttl and listing keys do not.

use std::collections::{BTreeMap, BTreeSet};

use super::cases::expect_get;
use super::harness::{Case, CaseResult, Harness, case, op};
use crate::backend::{Backend, Expiry, PutItem};
use crate::error::Error;

pub(super) const ALL: &[Case] = &[
    case!(
        "remove-reports-presence",
        "remove answers whether a live entry was there, and removes it",
        remove_reports_presence
    ),
    case!(
        "ttl-read-back",
        "ttl reports what is left after a put, as time passes, and nothing once expired",
        ttl_read_back
    ),
    case!(
        "set-ttl-changes-expiry",
        "set-ttl shortens, lengthens and removes an expiry without touching the value",
        set_ttl_changes_expiry
    ),
    case!(
        "set-ttl-zero-and-absent",
        "set-ttl 0 removes the entry; set-ttl of an absent or expired key changes nothing",
        set_ttl_zero_and_absent
    ),
    case!(
        "batches-match-single-calls",
        "get-many, put-many and remove-many answer what the single calls would, in order",
        batches_match_single_calls
    ),
    case!(
        "listing-sees-every-live-key-once",
        "listing keys page by page returns every live key exactly once, and no expired or evicted one",
        listing_sees_every_live_key_once
    ),
    case!(
        "listing-entries-carry-values-and-ttl",
        "listed entries carry their value and remaining ttl",
        listing_entries_carry_values_and_ttl
    ),
];

/// The entry's ttl, or `Ok(Err(why))` when the backend cannot report one.
fn ttl(b: &dyn Backend, key: &[u8]) -> Result<Result<Option<Expiry>, String>, String> {
    match b.ttl(key) {
        Err(Error::Unsupported { what }) => Ok(Err(format!("the backend does not support {what}"))),
        other => op("ttl", other).map(Ok),
    }
}

fn expect_ttl(b: &dyn Backend, key: &[u8], want: Option<Expiry>, when: &str) -> CaseResult {
    let got = ttl(b, key)?.map_err(|why| format!("{when}: {why}"))?;
    if got != want {
        return Err(format!("{when}: ttl expected {want:?}, got {got:?}"));
    }
    Ok(())
}

fn remove_reports_presence(h: &mut Harness<'_>) -> CaseResult {
    let b = h.backend()?;
    if op("remove", b.remove(b"absent"))? {
        return Err("remove of a key never put answered true".into());
    }
    op("put", b.put(b"k", b"v", None))?;
    op("put", b.put(b"other", b"w", None))?;
    if !op("remove", b.remove(b"k"))? {
        return Err("remove of a live key answered false".into());
    }
    expect_get(&*b, b"k", None, "after remove")?;
    expect_get(&*b, b"other", Some(b"w"), "the other key after remove")?;
    if op("remove", b.remove(b"k"))? {
        return Err("a second remove of the same key answered true".into());
    }
    op("put", b.put(b"short", b"v", Some(10)))?;
    h.advance(10);
    if op("remove", b.remove(b"short"))? {
        return Err("remove of an expired entry answered true".into());
    }
    let size = op("stats", b.stats())?.size;
    if size != 1 {
        return Err(format!("size after the removals: expected 1, got {size}"));
    }
    Ok(())
}

fn ttl_read_back(h: &mut Harness<'_>) -> CaseResult {
    let b = h.backend()?;
    if let Err(why) = ttl(&*b, b"absent")? {
        return h.not_applicable(why);
    }
    expect_ttl(&*b, b"absent", None, "a key never put")?;
    op("put", b.put(b"k", b"v", Some(1000)))?;
    op("put", b.put(b"forever", b"v", None))?;
    expect_ttl(&*b, b"k", Some(Expiry::InMs(1000)), "right after put")?;
    expect_ttl(
        &*b,
        b"forever",
        Some(Expiry::Persistent),
        "a put without ttl",
    )?;
    h.advance(400);
    expect_ttl(&*b, b"k", Some(Expiry::InMs(600)), "400 ms later")?;
    h.advance(599);
    expect_ttl(&*b, b"k", Some(Expiry::InMs(1)), "1 ms before expiry")?;
    h.advance(1);
    expect_ttl(&*b, b"k", None, "at expiry")?;
    expect_get(&*b, b"k", None, "at expiry")?;
    op("put", b.put(b"forever", b"w", Some(50)))?;
    expect_ttl(
        &*b,
        b"forever",
        Some(Expiry::InMs(50)),
        "a put with ttl over one without",
    )?;
    expect_get(
        &*b,
        b"forever",
        Some(b"w"),
        "reading the ttl is not a write",
    )
}

fn set_ttl_changes_expiry(h: &mut Harness<'_>) -> CaseResult {
    let b = h.backend()?;
    op("put", b.put(b"k", b"value", Some(100)))?;
    if !op("set-ttl", b.set_ttl(b"k", Some(5000)))? {
        return Err("set-ttl of a live key answered false".into());
    }
    h.advance(4999);
    expect_get(
        &*b,
        b"k",
        Some(b"value"),
        "a lengthened ttl, 1 ms before it ends",
    )?;
    h.advance(1);
    expect_get(&*b, b"k", None, "a lengthened ttl, when it ends")?;
    op("put", b.put(b"k", b"value", None))?;
    op("set-ttl", b.set_ttl(b"k", Some(20)))?;
    h.advance(20);
    expect_get(
        &*b,
        b"k",
        None,
        "a permanent entry given a ttl, when it ends",
    )?;
    op("put", b.put(b"k", b"value", Some(30)))?;
    op("set-ttl", b.set_ttl(b"k", None))?;
    h.advance(1_000_000);
    expect_get(
        &*b,
        b"k",
        Some(b"value"),
        "an entry whose expiry was removed",
    )?;
    match ttl(&*b, b"k")? {
        Ok(Some(Expiry::Persistent)) | Err(_) => Ok(()),
        Ok(other) => Err(format!("ttl after removing the expiry: {other:?}")),
    }
}

fn set_ttl_zero_and_absent(h: &mut Harness<'_>) -> CaseResult {
    let b = h.backend()?;
    if op("set-ttl", b.set_ttl(b"absent", Some(100)))? {
        return Err("set-ttl of a key never put answered true".into());
    }
    expect_get(&*b, b"absent", None, "set-ttl must not create an entry")?;
    op("put", b.put(b"k", b"v", None))?;
    if !op("set-ttl", b.set_ttl(b"k", Some(0)))? {
        return Err("set-ttl 0 of a live key answered false".into());
    }
    expect_get(&*b, b"k", None, "after set-ttl 0")?;
    op("put", b.put(b"short", b"v", Some(10)))?;
    h.advance(10);
    if op("set-ttl", b.set_ttl(b"short", None))? {
        return Err("set-ttl of an expired entry answered true".into());
    }
    expect_get(&*b, b"short", None, "an expired entry must stay expired")
}

fn batches_match_single_calls(h: &mut Harness<'_>) -> CaseResult {
    let b = h.backend()?;
    let items = [
        PutItem {
            key: b"a",
            value: b"1",
            ttl_ms: None,
        },
        PutItem {
            key: b"b",
            value: b"2",
            ttl_ms: Some(100),
        },
        PutItem {
            key: b"",
            value: b"",
            ttl_ms: None,
        },
        // The same key twice: the second wins.
        PutItem {
            key: b"a",
            value: b"3",
            ttl_ms: None,
        },
    ];
    let stored = op("put-many", b.put_many(&items))?;
    if stored.len() != items.len() || stored.iter().any(Result::is_err) {
        return Err(format!("put-many of 4 storable items answered {stored:?}"));
    }
    let keys: [&[u8]; 4] = [b"a", b"missing", b"", b"b"];
    let want = [Some(&b"3"[..]), None, Some(&b""[..]), Some(&b"2"[..])];
    let got = op("get-many", b.get_many(&keys))?;
    let got: Vec<Option<&[u8]>> = got.iter().map(Option::as_deref).collect();
    if got != want {
        return Err(format!(
            "get-many: expected {}, got {}",
            super::render::lookups(&want),
            super::render::lookups(&got)
        ));
    }
    h.advance(100);
    let got = op("get-many", b.get_many(&[b"b"]))?;
    if got != [None] {
        return Err(format!(
            "get-many of an expired key: expected [miss], got {}",
            super::render::lookups(&got)
        ));
    }
    let removed = op("remove-many", b.remove_many(&[b"a", b"a", b"missing", b""]))?;
    if removed != [true, false, false, true] {
        return Err(format!(
            "remove-many of [a, a, missing, empty]: expected [true, false, false, true], got {removed:?}"
        ));
    }
    expect_get(&*b, b"a", None, "after remove-many")?;
    expect_get(&*b, b"", None, "after remove-many")
}

fn listing_sees_every_live_key_once(h: &mut Harness<'_>) -> CaseResult {
    let b = h.backend()?;
    let mut live = BTreeSet::new();
    for i in 0..200u32 {
        let key = format!("key-{i}").into_bytes();
        // Every fifth entry expires before the listing.
        let ttl = (i % 5 == 0).then_some(10);
        op("put", b.put(&key, b"v", ttl))?;
        if ttl.is_none() {
            live.insert(key);
        }
    }
    h.advance(10);
    let mut seen = BTreeMap::<Vec<u8>, u32>::new();
    let mut cursor: Option<Vec<u8>> = None;
    for page in 0.. {
        if page > 1000 {
            return Err("listing did not end after 1000 pages of 7 keys".into());
        }
        let Some(listed) = op("keys", b.keys(cursor.as_deref(), 7))? else {
            return h.not_applicable("the backend cannot list its keys (no `listing`)");
        };
        if listed.keys.len() > 7 {
            return Err(format!(
                "a page of {} keys for a limit of 7",
                listed.keys.len()
            ));
        }
        for key in listed.keys {
            *seen.entry(key).or_default() += 1;
        }
        match listed.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let listed: BTreeSet<Vec<u8>> = seen.keys().cloned().collect();
    if let Some(extra) = listed.difference(&live).next() {
        return Err(format!(
            "listed a key that is not live: {}",
            String::from_utf8_lossy(extra)
        ));
    }
    // A bounded backend may have evicted some: what it still returns must have been listed.
    for key in live.difference(&listed) {
        if op("get", b.get(key))?.is_some() {
            return Err(format!(
                "never listed the live key {}",
                String::from_utf8_lossy(key)
            ));
        }
    }
    if let Some((twice, n)) = seen.iter().find(|(_, n)| **n > 1) {
        return Err(format!(
            "listed {} {n} times while nothing changed",
            String::from_utf8_lossy(twice)
        ));
    }
    Ok(())
}

fn listing_entries_carry_values_and_ttl(h: &mut Harness<'_>) -> CaseResult {
    let b = h.backend()?;
    op("put", b.put(b"forever", b"one", None))?;
    op("put", b.put(b"timed", b"two", Some(1000)))?;
    op("put", b.put(b"gone", b"three", Some(5)))?;
    h.advance(5);
    let mut entries = BTreeMap::new();
    let mut cursor: Option<Vec<u8>> = None;
    loop {
        let Some(page) = op("entries", b.entries(cursor.as_deref(), 2))? else {
            return h.not_applicable("the backend cannot list its entries (no `listing`)");
        };
        for entry in page.entries {
            entries.insert(entry.key, (entry.value, entry.ttl_remaining_ms));
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let want = BTreeMap::from([
        (b"forever".to_vec(), (b"one".to_vec(), None)),
        (b"timed".to_vec(), (b"two".to_vec(), Some(995))),
    ]);
    if entries != want {
        return Err(format!(
            "listed entries: expected {want:?}, got {entries:?}"
        ));
    }
    Ok(())
}
