"""lfu: a least-frequently-used cache with a size bound and per-entry TTL, in Python.

Built into a WebAssembly component with componentize-py against the
`cache-backend-with-handover` world of wasmcache's `wit/` folder (see README.md).

Options:
  max-entries  how many entries to keep, a positive integer (default 10000)

When full, a put evicts the entry used least often; among equally used entries, the one
used least recently. A hit or a put counts as a use. Expired entries are removed when a
get finds them, or preferred as victims when evicting.
"""

from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports import backend as contract
from wit_world.exports import handover as listing
from wit_world.imports import host

DEFAULT_MAX_ENTRIES = 10_000


class Entry:
    __slots__ = ("value", "expires_at", "uses")

    def __init__(self, value: bytes, expires_at: Optional[int]):
        self.value = value
        self.expires_at = expires_at
        self.uses = 1

    def live(self, now: int) -> bool:
        return self.expires_at is None or now < self.expires_at


class Lfu:
    """O(1) LFU: entries by key, plus one insertion-ordered bucket of keys per use count."""

    def __init__(self, max_entries: int):
        self.max_entries = max_entries
        self.entries: Dict[bytes, Entry] = {}
        self.buckets: Dict[int, "OrderedDict[bytes, None]"] = {}
        self.min_uses = 0
        self.counters = {"hits": 0, "misses": 0, "evictions": 0, "expired": 0}
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

    def remove(self, key: bytes) -> None:
        entry = self.entries.pop(key, None)
        if entry is not None:
            self._unlink(key, entry.uses)

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
            self.remove(key)
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
        self.entries[key] = Entry(value, expires_at)
        self._link(key, 1)

    def _evict(self, now: int) -> None:
        bucket = self.buckets[self.min_uses]
        victim = next(iter(bucket))
        expired = not self.entries[victim].live(now)
        self.remove(victim)
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
            cache.remove(bytes(key))

    def stats(self) -> contract.BackendStats:
        return contract.BackendStats(
            size=len(cache.entries),
            counters=sorted(cache.counters.items()),
        )


class Handover(exports.Handover):
    def entries(self, cursor: Optional[int], limit: int) -> listing.Page:
        now = host.now_ms()
        if cursor is None:
            # Least used first, so replaying the puts in order rebuilds a similar ranking.
            cache.listing = [key for uses in sorted(cache.buckets) for key in cache.buckets[uses]]
            cursor = 0
        page: List[listing.Entry] = []
        position = cursor
        while position < len(cache.listing) and len(page) < limit:
            key = cache.listing[position]
            position += 1
            entry = cache.entries.get(key)
            if entry is None or not entry.live(now):
                continue
            remaining = None if entry.expires_at is None else entry.expires_at - now
            page.append(listing.Entry(key=key, value=entry.value, ttl_remaining_ms=remaining))
        if position < len(cache.listing):
            return listing.Page(entries=page, next=position)
        cache.listing = []
        return listing.Page(entries=page, next=None)
