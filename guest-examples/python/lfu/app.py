"""lfu: a least-frequently-used cache with a size bound and per-entry TTL, in Python.

Built into a WebAssembly component with componentize-py against the
`cache-backend-with-listing` world of wasmcache's `wit/` folder (see README.md).

Options:
  max-entries  how many entries to keep, a positive integer (default 10000)

When full, a put evicts the entry used least often; among equally used entries, the one
used least recently. A hit or a put counts as a use; reading or changing an entry's ttl
and listing do not. Expired entries are removed when a get, remove, ttl or set-ttl finds
them, or when the eviction order reaches them.

Every entry also holds a slot in a list of keys (freed slots are reused), so `keys` can
walk the slots with the next slot number as its cursor: no per-listing state, so any
number of key listings can run at once, and a key that stays is listed exactly once.
"""

from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports import backend as contract
from wit_world.exports import listing
from wit_world.imports import host

DEFAULT_MAX_ENTRIES = 10_000


class Entry:
    __slots__ = ("value", "expires_at", "uses", "slot")

    def __init__(self, value: bytes, expires_at: Optional[int], slot: int):
        self.value = value
        self.expires_at = expires_at
        self.uses = 1
        self.slot = slot

    def live(self, now: int) -> bool:
        return self.expires_at is None or now < self.expires_at

    def remaining(self, now: int) -> Optional[int]:
        """Milliseconds left (at least 1 for a live entry), or None if it never expires."""
        return None if self.expires_at is None else self.expires_at - now


class Lfu:
    """O(1) LFU: entries by key, plus one insertion-ordered bucket of keys per use count."""

    def __init__(self, max_entries: int):
        self.max_entries = max_entries
        self.entries: Dict[bytes, Entry] = {}
        self.buckets: Dict[int, "OrderedDict[bytes, None]"] = {}
        self.min_uses = 0
        self.counters = {"hits": 0, "misses": 0, "evictions": 0, "expired": 0}
        # The key in each slot (None for a free slot), and the free slots to reuse.
        self.slots: List[Optional[bytes]] = []
        self.free: List[int] = []
        # Keys being listed by `entries` for a handover, fixed when that listing starts.
        self.listing: List[bytes] = []

    def _unlink(self, key: bytes, uses: int) -> None:
        bucket = self.buckets[uses]
        del bucket[key]
        if not bucket:
            del self.buckets[uses]
            if self.min_uses == uses:
                self.min_uses = min(self.buckets, default=0)

    def _link(self, key: bytes, uses: int) -> None:
        self.buckets.setdefault(uses, OrderedDict())[key] = None
        if self.min_uses == 0 or uses < self.min_uses:
            self.min_uses = uses

    def _claim_slot(self, key: bytes) -> int:
        if self.free:
            slot = self.free.pop()
            self.slots[slot] = key
        else:
            slot = len(self.slots)
            self.slots.append(key)
        return slot

    def discard(self, key: bytes) -> None:
        """Drops the entry for `key`, live or not, if there is one."""
        entry = self.entries.pop(key, None)
        if entry is not None:
            self._unlink(key, entry.uses)
            self.slots[entry.slot] = None
            self.free.append(entry.slot)

    def live(self, key: bytes, now: int) -> Optional[Entry]:
        """The live entry for `key`, without counting a use; an expired one is dropped."""
        entry = self.entries.get(key)
        if entry is None:
            return None
        if not entry.live(now):
            self.discard(key)
            self.counters["expired"] += 1
            return None
        return entry

    def touch(self, key: bytes, entry: Entry) -> None:
        self._unlink(key, entry.uses)
        entry.uses += 1
        self._link(key, entry.uses)

    def get(self, key: bytes, now: int) -> Optional[bytes]:
        entry = self.entries.get(key)
        if entry is None:
            self.counters["misses"] += 1
            return None
        if not entry.live(now):
            self.discard(key)
            self.counters["expired"] += 1
            self.counters["misses"] += 1
            return None
        self.touch(key, entry)
        self.counters["hits"] += 1
        return entry.value

    def put(self, key: bytes, value: bytes, expires_at: Optional[int], now: int) -> None:
        old = self.entries.get(key)
        if old is not None:
            old.value = value
            old.expires_at = expires_at
            self.touch(key, old)
            return
        while len(self.entries) >= self.max_entries:
            self._evict(now)
        self.entries[key] = Entry(value, expires_at, self._claim_slot(key))
        self._link(key, 1)

    def remove(self, key: bytes, now: int) -> bool:
        """Drops the entry for `key`; True if it was live."""
        if self.live(key, now) is None:
            return False
        self.discard(key)
        return True

    def ttl(self, key: bytes, now: int) -> Optional[contract.Expiry]:
        entry = self.live(key, now)
        if entry is None:
            return None
        remaining = entry.remaining(now)
        if remaining is None:
            return contract.Expiry_Persistent()
        return contract.Expiry_ExpiresIn(remaining)

    def set_ttl(self, key: bytes, ttl_ms: Optional[int], now: int) -> bool:
        entry = self.live(key, now)
        if entry is None:
            return False
        if ttl_ms == 0:
            self.discard(key)
        else:
            entry.expires_at = None if ttl_ms is None else now + ttl_ms
        return True

    def _evict(self, now: int) -> None:
        bucket = self.buckets[self.min_uses]
        victim = next(iter(bucket))
        expired = not self.entries[victim].live(now)
        self.discard(victim)
        self.counters["expired" if expired else "evictions"] += 1


def parse_options(options: List[Tuple[str, str]]) -> int:
    max_entries = DEFAULT_MAX_ENTRIES
    for name, raw in options:
        if name != "max-entries":
            raise Err(contract.BackendError_InvalidConfig(
                f"unknown option `{name}`: the lfu backend takes `max-entries`"))
        try:
            max_entries = int(raw.strip())
        except ValueError:
            max_entries = 0
        if max_entries <= 0:
            raise Err(contract.BackendError_InvalidConfig(
                f"option `max-entries` must be a positive integer, got `{raw}`"))
    return max_entries


def encode_cursor(position: int) -> bytes:
    """A listing cursor: a position, 8 bytes little-endian."""
    return position.to_bytes(8, "little")


def decode_cursor(cursor: Optional[bytes]) -> Optional[int]:
    """The position a cursor names; None for the first page. Anything that is not 8 bytes
    is past the end (the host only hands back cursors this backend gave)."""
    if cursor is None:
        return None
    cursor = bytes(cursor)
    if len(cursor) != 8:
        return 1 << 64
    return int.from_bytes(cursor, "little")


cache = Lfu(DEFAULT_MAX_ENTRIES)


class Backend(exports.Backend):
    def init(self, options: List[Tuple[str, str]]) -> None:
        global cache
        cache = Lfu(parse_options(options))
        host.log(host.LogLevel.DEBUG, f"lfu backend ready: max-entries={cache.max_entries}")

    def get(self, key: bytes) -> Optional[bytes]:
        return cache.get(bytes(key), host.now_ms())

    def put(self, key: bytes, value: bytes, ttl_ms: Optional[int]) -> None:
        now = host.now_ms()
        expires_at = None if ttl_ms is None else now + ttl_ms
        cache.put(bytes(key), bytes(value), expires_at, now)

    def invalidate(self, key: Optional[bytes]) -> None:
        if key is None:
            global cache
            counters = cache.counters
            cache = Lfu(cache.max_entries)
            cache.counters = counters
        else:
            cache.discard(bytes(key))

    def stats(self) -> contract.BackendStats:
        return contract.BackendStats(
            size=len(cache.entries),
            counters=sorted(cache.counters.items()),
        )

    def remove(self, key: bytes) -> bool:
        return cache.remove(bytes(key), host.now_ms())

    def ttl(self, key: bytes) -> Optional[contract.Expiry]:
        return cache.ttl(bytes(key), host.now_ms())

    def set_ttl(self, key: bytes, ttl_ms: Optional[int]) -> bool:
        return cache.set_ttl(bytes(key), ttl_ms, host.now_ms())


class Listing(exports.Listing):
    def entries(self, cursor: Optional[bytes], limit: int) -> listing.EntryPage:
        now = host.now_ms()
        position = decode_cursor(cursor)
        if position is None:
            # Least used first, so replaying the puts in order rebuilds a similar ranking.
            # A handover runs one listing at a time, so one snapshot of the keys suffices.
            cache.listing = [key for uses in sorted(cache.buckets) for key in cache.buckets[uses]]
            position = 0
        page: List[listing.Entry] = []
        while position < len(cache.listing) and len(page) < limit:
            key = cache.listing[position]
            position += 1
            entry = cache.entries.get(key)
            if entry is None or not entry.live(now):
                continue
            page.append(listing.Entry(key=key, value=entry.value,
                                      ttl_remaining_ms=entry.remaining(now)))
        if position < len(cache.listing):
            return listing.EntryPage(entries=page, next=encode_cursor(position))
        cache.listing = []
        return listing.EntryPage(entries=page, next=None)

    def keys(self, cursor: Optional[bytes], limit: int) -> listing.KeyPage:
        # Slot order, the next slot as the cursor: nothing is kept between pages.
        now = host.now_ms()
        slot = decode_cursor(cursor) or 0
        keys: List[bytes] = []
        while slot < len(cache.slots) and len(keys) < limit:
            key = cache.slots[slot]
            slot += 1
            if key is None:
                continue
            entry = cache.entries.get(key)
            if entry is not None and entry.live(now):
                keys.append(key)
        more = slot < len(cache.slots)
        return listing.KeyPage(keys=keys, next=encode_cursor(slot) if more else None)
