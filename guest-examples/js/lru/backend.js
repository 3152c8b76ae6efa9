// lru: a TTL map whose JavaScript `Map` insertion order doubles as the recency list.
//
// Built into a WebAssembly component with componentize-js against the
// `cache-backend-with-listing` world of wasmcache's `wit/` folder (see README.md).
//
// Options:
//   max-entries  how many entries to keep, a positive integer (default 10000)
//
// A `Map` iterates in insertion order, so deleting and re-inserting a key on every hit
// keeps the least recently used entry first: eviction takes the first key. Reading or
// changing an entry's ttl, and listing, leave the order alone: they are not uses.
//
// Every entry also holds a slot in an array of keys (freed slots are reused), so
// `listing.keys` walks the slots with the next slot number as its cursor: nothing is kept
// between pages, so any number of key listings can run at once.

import { nowMs, log } from 'wasmcache:backend/host@0.2.0';

const DEFAULT_MAX_ENTRIES = 10000;

let maxEntries = DEFAULT_MAX_ENTRIES;
/** @type {Map<string, {value: Uint8Array, expiresAt: bigint | undefined, slot: number}>} */
let entries = new Map();
/** The key in each slot (`undefined` when free), and the free slots to reuse. */
let slots = [];
let freeSlots = [];
const counters = { hits: 0n, misses: 0n, evictions: 0n, expired: 0n };
/** Keys being listed by `listing.entries` for a handover, fixed when the listing starts. */
let listed = [];

// Keys are bytes; a string with one UTF-16 unit per byte is a faithful Map key.
function keyOf(bytes) {
  let key = '';
  for (let i = 0; i < bytes.length; i += 4096) {
    key += String.fromCharCode.apply(null, bytes.subarray(i, i + 4096));
  }
  return key;
}

function bytesOf(key) {
  const bytes = new Uint8Array(key.length);
  for (let i = 0; i < key.length; i++) bytes[i] = key.charCodeAt(i);
  return bytes;
}

function live(entry, now) {
  return entry.expiresAt === undefined || now < entry.expiresAt;
}

function refuse(message) {
  // An exported function's `err` is thrown; its payload is the `backend-error` variant.
  throw { tag: 'invalid-config', val: message };
}

function claimSlot(key) {
  const slot = freeSlots.length > 0 ? freeSlots.pop() : slots.length;
  slots[slot] = key;
  return slot;
}

/** Drops `key`'s entry (live or not) from the map and frees its slot. */
function discard(key, entry) {
  entries.delete(key);
  slots[entry.slot] = undefined;
  freeSlots.push(entry.slot);
}

function clear() {
  entries = new Map();
  slots = [];
  freeSlots = [];
  listed = [];
}

/** `key`'s live entry, its recency untouched; an expired one is dropped (and counted). */
function liveEntry(key, now) {
  const entry = entries.get(key);
  if (entry === undefined) return undefined;
  if (live(entry, now)) return entry;
  discard(key, entry);
  counters.expired += 1n;
  return undefined;
}

// A listing cursor is a position, 8 bytes little-endian; anything else is past the end
// (the host only hands back cursors this backend gave).
function encodeCursor(position) {
  const cursor = new Uint8Array(8);
  new DataView(cursor.buffer).setBigUint64(0, BigInt(position), true);
  return cursor;
}

function decodeCursor(cursor) {
  if (cursor === undefined) return 0;
  if (cursor.length !== 8) return Infinity;
  const view = new DataView(cursor.buffer, cursor.byteOffset, 8);
  return Number(view.getBigUint64(0, true));
}

export const backend = {
  init(options) {
    let max = DEFAULT_MAX_ENTRIES;
    for (const [name, raw] of options) {
      if (name !== 'max-entries') {
        refuse(`unknown option \`${name}\`: the js lru backend takes \`max-entries\``);
      }
      const parsed = /^\s*\d+\s*$/.test(raw) ? Number(raw) : NaN;
      if (!Number.isSafeInteger(parsed) || parsed <= 0) {
        refuse(`option \`max-entries\` must be a positive integer, got \`${raw}\``);
      }
      max = parsed;
    }
    maxEntries = max;
    clear();
    log('debug', `js lru backend ready: max-entries=${maxEntries}`);
  },

  get(keyBytes) {
    const key = keyOf(keyBytes);
    const entry = entries.get(key);
    if (entry === undefined) {
      counters.misses += 1n;
      return undefined;
    }
    if (!live(entry, nowMs())) {
      discard(key, entry);
      counters.expired += 1n;
      counters.misses += 1n;
      return undefined;
    }
    entries.delete(key);
    entries.set(key, entry); // now the most recently used
    counters.hits += 1n;
    return entry.value;
  },

  put(keyBytes, value, ttlMs) {
    const key = keyOf(keyBytes);
    const now = nowMs();
    const expiresAt = ttlMs === undefined ? undefined : now + ttlMs;
    const old = entries.get(key);
    // A replaced entry keeps its slot, so a key listing in progress still finds it once.
    const slot = old === undefined ? claimSlot(key) : old.slot;
    entries.delete(key);
    entries.set(key, { value: new Uint8Array(value), expiresAt, slot });
    while (entries.size > maxEntries) {
      const [victim, entry] = entries.entries().next().value;
      discard(victim, entry);
      if (live(entry, now)) counters.evictions += 1n;
      else counters.expired += 1n;
    }
  },

  invalidate(keyBytes) {
    if (keyBytes === undefined) {
      clear();
      return;
    }
    const key = keyOf(keyBytes);
    const entry = entries.get(key);
    if (entry !== undefined) discard(key, entry);
  },

  stats() {
    return {
      size: BigInt(entries.size),
      counters: Object.entries(counters),
    };
  },

  remove(keyBytes) {
    const key = keyOf(keyBytes);
    const entry = liveEntry(key, nowMs());
    if (entry === undefined) return false;
    discard(key, entry);
    return true;
  },

  ttl(keyBytes) {
    const now = nowMs();
    const entry = liveEntry(keyOf(keyBytes), now);
    if (entry === undefined) return undefined;
    if (entry.expiresAt === undefined) return { tag: 'persistent' };
    return { tag: 'expires-in', val: entry.expiresAt - now };
  },

  setTtl(keyBytes, ttlMs) {
    const key = keyOf(keyBytes);
    const now = nowMs();
    const entry = liveEntry(key, now);
    if (entry === undefined) return false;
    if (ttlMs === 0n) discard(key, entry);
    else entry.expiresAt = ttlMs === undefined ? undefined : now + ttlMs;
    return true;
  },
};

export const listing = {
  // Least recently used first, so replaying the puts in order rebuilds the same recency.
  // A handover runs one listing at a time, so one snapshot of the keys suffices.
  entries(cursor, limit) {
    const now = nowMs();
    let position = decodeCursor(cursor);
    if (cursor === undefined) listed = [...entries.keys()];
    const page = [];
    while (position < listed.length && page.length < limit) {
      const key = listed[position++];
      const entry = entries.get(key);
      if (entry === undefined || !live(entry, now)) continue;
      page.push({
        key: bytesOf(key),
        value: entry.value,
        ttlRemainingMs: entry.expiresAt === undefined ? undefined : entry.expiresAt - now,
      });
    }
    if (position < listed.length) return { entries: page, next: encodeCursor(position) };
    listed = [];
    return { entries: page, next: undefined };
  },

  // Slot order, the next slot as the cursor: nothing is kept between pages.
  keys(cursor, limit) {
    const now = nowMs();
    let slot = decodeCursor(cursor);
    const keys = [];
    while (slot < slots.length && keys.length < limit) {
      const key = slots[slot++];
      if (key === undefined) continue;
      const entry = entries.get(key);
      if (entry !== undefined && live(entry, now)) keys.push(bytesOf(key));
    }
    return { keys, next: slot < slots.length ? encodeCursor(slot) : undefined };
  },
};
