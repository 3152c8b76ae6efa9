// lru: a TTL map whose JavaScript `Map` insertion order doubles as the recency list.
//
// Built into a WebAssembly component with componentize-js against the
// `cache-backend-with-handover` world of wasmcache's `wit/` folder (see README.md).
//
// Options:
//   max-entries  how many entries to keep, a positive integer (default 10000)
//
// A `Map` iterates in insertion order, so deleting and re-inserting a key on every hit
// keeps the least recently used entry first: eviction takes the first key.

import { nowMs, log } from 'wasmcache:backend/host@0.1.0';

const DEFAULT_MAX_ENTRIES = 10000;

let maxEntries = DEFAULT_MAX_ENTRIES;
/** @type {Map<string, {value: Uint8Array, expiresAt: bigint | undefined}>} */
let entries = new Map();
const counters = { hits: 0n, misses: 0n, evictions: 0n, expired: 0n };
/** Keys being listed for a handover, fixed when the listing starts. */
let listing = [];

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
    entries = new Map();
    log('debug', `js lru backend ready: max-entries=${maxEntries}`);
  },

  get(keyBytes) {
    const key = keyOf(keyBytes);
    const entry = entries.get(key);
    if (entry === undefined) {
      counters.misses += 1n;
      return undefined;
    }
    entries.delete(key);
    if (!live(entry, nowMs())) {
      counters.expired += 1n;
      counters.misses += 1n;
      return undefined;
    }
    entries.set(key, entry); // now the most recently used
    counters.hits += 1n;
    return entry.value;
  },

  put(keyBytes, value, ttlMs) {
    const key = keyOf(keyBytes);
    const expiresAt = ttlMs === undefined ? undefined : nowMs() + ttlMs;
    entries.delete(key);
    entries.set(key, { value: new Uint8Array(value), expiresAt });
    const now = nowMs();
    while (entries.size > maxEntries) {
      const [victim, entry] = entries.entries().next().value;
      entries.delete(victim);
      if (live(entry, now)) counters.evictions += 1n;
      else counters.expired += 1n;
    }
  },

  invalidate(keyBytes) {
    if (keyBytes === undefined) entries.clear();
    else entries.delete(keyOf(keyBytes));
  },

  stats() {
    return {
      size: BigInt(entries.size),
      counters: Object.entries(counters),
    };
  },
};

export const handover = {
  entries(cursor, limit) {
    const now = nowMs();
    let position = 0;
    if (cursor === undefined) {
      listing = [...entries.keys()]; // least recently used first
    } else {
      position = Number(cursor);
    }
    const page = [];
    while (position < listing.length && page.length < limit) {
      const key = listing[position++];
      const entry = entries.get(key);
      if (entry === undefined || !live(entry, now)) continue;
      page.push({
        key: bytesOf(key),
        value: entry.value,
        ttlRemainingMs: entry.expiresAt === undefined ? undefined : entry.expiresAt - now,
      });
    }
    if (position < listing.length) return { entries: page, next: BigInt(position) };
    listing = [];
    return { entries: page, next: undefined };
  },
};
