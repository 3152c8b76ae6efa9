// clock: a fixed-capacity open-addressing hash table with CLOCK eviction, in C.
//
// Built into a WebAssembly component from the bindings `wit-bindgen c` generated for the
// `cache-backend-with-listing` world (bindings/), with clang and wasi-libc (see README.md).
//
// Options:
//   capacity  how many entries to keep, a positive integer (default 4096)
//
// The table has a power-of-two number of slots, at least twice the capacity, probed
// linearly; removals shift the following entries back so no tombstones pile up. When the
// table holds `capacity` entries, a put evicts with the CLOCK algorithm: a hand sweeps the
// slots, clearing each entry's "referenced" bit (set by every hit) and evicting the first
// entry found without it (or the first expired one). Keys and values are kept in the
// buffers the host passed in, so a put copies nothing.
//
// Listing walks the entries in an order that does not depend on where they sit: by home
// slot (`hash & mask`), then hash, then key bytes. Removals shift entries to other slots,
// but never change that order, so the cursor (the last key listed) stays valid however
// the table changes between pages, and any number of listings can run at once.

#include "bindings/cache_backend_with_listing.h"

#include <stdlib.h>
#include <string.h>

// The bindings reference the object file `wit-bindgen c` can emit with the world's type
// information. This build attaches that information with `wasm-tools component embed`
// instead (build.sh), so the reference is satisfied here.
void __component_type_object_force_link_cache_backend_with_listing(void) {}

typedef exports_wasmcache_backend_backend_key_t key_t_;
typedef exports_wasmcache_backend_backend_value_t value_t_;
typedef exports_wasmcache_backend_backend_backend_error_t error_t_;
typedef cache_backend_with_listing_list_u8_t cursor_t_;

typedef struct {
  bool used;
  bool referenced;
  bool has_ttl;
  uint64_t expires_at;
  uint64_t hash;
  key_t_ key;
  value_t_ value;
} slot_t;

#define DEFAULT_CAPACITY 4096

// Listing cursors: one tag byte, then (after CURSOR_AFTER) the last key listed.
#define CURSOR_START 0
#define CURSOR_AFTER 1

static slot_t *slots;
static size_t mask;      // slot count - 1
static size_t capacity;  // most entries held
static size_t count;
static size_t hand;
static uint64_t seed;
static uint64_t hits, misses, evictions, expired;

static uint64_t hash_of(const uint8_t *bytes, size_t len) {
  uint64_t h = 0xcbf29ce484222325ULL ^ seed;  // FNV-1a, seeded per instance
  for (size_t i = 0; i < len; i++) {
    h ^= bytes[i];
    h *= 0x100000001b3ULL;
  }
  return h ^ (h >> 29);
}

static bool live(const slot_t *slot, uint64_t now) {
  return !slot->has_ttl || now < slot->expires_at;
}

// `now + ttl_ms`, saturating: a ttl too long to count is as good as never expiring.
static uint64_t deadline(uint64_t now, uint64_t ttl_ms) {
  return ttl_ms > UINT64_MAX - now ? UINT64_MAX : now + ttl_ms;
}

static bool same_key(const slot_t *slot, uint64_t hash, const key_t_ *key) {
  return slot->used && slot->hash == hash && slot->key.len == key->len &&
         (key->len == 0 || memcmp(slot->key.ptr, key->ptr, key->len) == 0);
}

// The slot holding `key`, or the empty slot where it would go.
static size_t find(uint64_t hash, const key_t_ *key) {
  size_t i = hash & mask;
  while (slots[i].used && !same_key(&slots[i], hash, key)) i = (i + 1) & mask;
  return i;
}

// A copy the host frees after the call (lists of no bytes are never freed, so none is
// allocated for them).
static uint8_t *copy_of(const uint8_t *bytes, size_t len) {
  if (len == 0) return NULL;
  uint8_t *copy = malloc(len);
  memcpy(copy, bytes, len);
  return copy;
}

static void release(slot_t *slot) {
  exports_wasmcache_backend_backend_key_free(&slot->key);
  exports_wasmcache_backend_backend_value_free(&slot->value);
  memset(slot, 0, sizeof *slot);
}

// Removes the entry in slot `i`, shifting later entries of the probe run back.
static void remove_at(size_t i) {
  release(&slots[i]);
  count--;
  size_t j = i;
  for (;;) {
    j = (j + 1) & mask;
    if (!slots[j].used) return;
    size_t home = slots[j].hash & mask;
    // Move j into the hole at i unless its home lies cyclically in (i, j].
    bool stays = (i <= j) ? (i < home && home <= j) : (i < home || home <= j);
    if (!stays) {
      slots[i] = slots[j];
      memset(&slots[j], 0, sizeof slots[j]);
      i = j;
    }
  }
}

// The slot of the live entry for `key`, if there is one; an expired entry is removed
// (and counted) on the way. Touches no referenced bit: finding is not using.
static bool find_live(const key_t_ *key, uint64_t now, size_t *at) {
  size_t i = find(hash_of(key->ptr, key->len), key);
  if (!slots[i].used) return false;
  if (!live(&slots[i], now)) {
    expired++;
    remove_at(i);
    return false;
  }
  *at = i;
  return true;
}

static void evict_one(uint64_t now) {
  for (;;) {
    slot_t *slot = &slots[hand];
    size_t at = hand;
    hand = (hand + 1) & mask;
    if (!slot->used) continue;
    if (!live(slot, now)) {
      expired++;
      remove_at(at);
      return;
    }
    if (slot->referenced) {
      slot->referenced = false;
      continue;
    }
    evictions++;
    remove_at(at);
    return;
  }
}

static void clear_all(void) {
  for (size_t i = 0; slots && i <= mask; i++) {
    if (slots[i].used) release(&slots[i]);
  }
  count = 0;
  hand = 0;
}

static bool refuse(error_t_ *err, const char *what, const cache_backend_with_listing_string_t *detail) {
  // "<what>`<detail>`", without stdio.
  size_t a = strlen(what), b = detail ? detail->len : 0;
  char *message = malloc(a + b + 3);
  memcpy(message, what, a);
  message[a] = '`';
  if (b) memcpy(message + a + 1, detail->ptr, b);
  message[a + 1 + b] = '`';
  message[a + 2 + b] = 0;
  err->tag = EXPORTS_WASMCACHE_BACKEND_BACKEND_BACKEND_ERROR_INVALID_CONFIG;
  cache_backend_with_listing_string_dup(&err->val.invalid_config, message);
  free(message);
  return false;
}

static bool parse_positive(const cache_backend_with_listing_string_t *raw, size_t *out) {
  size_t value = 0;
  if (raw->len == 0 || raw->len > 9) return false;
  for (size_t i = 0; i < raw->len; i++) {
    if (raw->ptr[i] < '0' || raw->ptr[i] > '9') return false;
    value = value * 10 + (raw->ptr[i] - '0');
  }
  *out = value;
  return value > 0;
}

static bool name_is(const cache_backend_with_listing_string_t *name, const char *expected) {
  return name->len == strlen(expected) && memcmp(name->ptr, expected, name->len) == 0;
}

bool exports_wasmcache_backend_backend_init(cache_backend_with_listing_list_tuple2_string_string_t *options,
                                            error_t_ *err) {
  size_t wanted = DEFAULT_CAPACITY;
  bool ok = true;
  for (size_t i = 0; ok && i < options->len; i++) {
    cache_backend_with_listing_tuple2_string_string_t *option = &options->ptr[i];
    if (!name_is(&option->f0, "capacity")) {
      ok = refuse(err, "the c clock backend takes `capacity`; unknown option ", &option->f0);
    } else if (!parse_positive(&option->f1, &wanted)) {
      ok = refuse(err, "option `capacity` must be a positive integer below 10^9, got ", &option->f1);
    }
  }
  cache_backend_with_listing_list_tuple2_string_string_free(options);
  if (!ok) return false;
  clear_all();
  free(slots);
  size_t size = 16;
  while (size < 2 * wanted) size *= 2;
  slots = calloc(size, sizeof(slot_t));
  mask = size - 1;
  capacity = wanted;
  seed = wasmcache_backend_host_now_ms() * 0x9e3779b97f4a7c15ULL;
  cache_backend_with_listing_string_t message;
  cache_backend_with_listing_string_set(&message, "c clock backend ready");
  wasmcache_backend_host_log(WASMCACHE_BACKEND_HOST_LOG_LEVEL_DEBUG, &message);
  return true;
}

bool exports_wasmcache_backend_backend_get(key_t_ *key, value_t_ *ret) {
  uint64_t hash = hash_of(key->ptr, key->len);
  size_t i = find(hash, key);
  exports_wasmcache_backend_backend_key_free(key);
  if (!slots[i].used) {
    misses++;
    return false;
  }
  if (!live(&slots[i], wasmcache_backend_host_now_ms())) {
    expired++;
    misses++;
    remove_at(i);
    return false;
  }
  slots[i].referenced = true;
  hits++;
  ret->len = slots[i].value.len;
  ret->ptr = copy_of(slots[i].value.ptr, ret->len);
  return true;
}

bool exports_wasmcache_backend_backend_put(key_t_ *key, value_t_ *value, uint64_t *maybe_ttl_ms, error_t_ *err) {
  (void)err;
  uint64_t now = wasmcache_backend_host_now_ms();
  uint64_t hash = hash_of(key->ptr, key->len);
  size_t i = find(hash, key);
  if (slots[i].used) {
    exports_wasmcache_backend_backend_key_free(key);  // keep the stored copy
    exports_wasmcache_backend_backend_value_free(&slots[i].value);
  } else {
    if (count >= capacity) {
      evict_one(now);
      i = find(hash, key);  // eviction may have shifted the probe run
    }
    slots[i].used = true;
    slots[i].hash = hash;
    slots[i].key = *key;
    count++;
  }
  slots[i].value = *value;  // the host's buffer becomes ours
  slots[i].referenced = true;
  slots[i].has_ttl = maybe_ttl_ms != NULL;
  slots[i].expires_at = maybe_ttl_ms ? deadline(now, *maybe_ttl_ms) : 0;
  return true;
}

void exports_wasmcache_backend_backend_invalidate(key_t_ *maybe_key) {
  if (maybe_key == NULL) {
    clear_all();
    return;
  }
  uint64_t hash = hash_of(maybe_key->ptr, maybe_key->len);
  size_t i = find(hash, maybe_key);
  exports_wasmcache_backend_backend_key_free(maybe_key);
  if (slots[i].used) remove_at(i);
}

void exports_wasmcache_backend_backend_stats(exports_wasmcache_backend_backend_backend_stats_t *ret) {
  static const char *names[] = {"hits", "misses", "evictions", "expired"};
  const uint64_t values[] = {hits, misses, evictions, expired};
  ret->size = count;
  ret->counters.len = 4;
  ret->counters.ptr = malloc(4 * sizeof *ret->counters.ptr);
  for (size_t i = 0; i < 4; i++) {
    cache_backend_with_listing_string_dup(&ret->counters.ptr[i].f0, names[i]);
    ret->counters.ptr[i].f1 = values[i];
  }
}

bool exports_wasmcache_backend_backend_remove(key_t_ *key) {
  size_t i;
  bool found = find_live(key, wasmcache_backend_host_now_ms(), &i);
  exports_wasmcache_backend_backend_key_free(key);
  if (found) remove_at(i);
  return found;
}

bool exports_wasmcache_backend_backend_ttl(key_t_ *key, exports_wasmcache_backend_backend_expiry_t *ret) {
  uint64_t now = wasmcache_backend_host_now_ms();
  size_t i;
  bool found = find_live(key, now, &i);
  exports_wasmcache_backend_backend_key_free(key);
  if (!found) return false;
  if (slots[i].has_ttl) {
    ret->tag = EXPORTS_WASMCACHE_BACKEND_BACKEND_EXPIRY_EXPIRES_IN;
    ret->val.expires_in = slots[i].expires_at - now;  // at least 1: the entry is live
  } else {
    ret->tag = EXPORTS_WASMCACHE_BACKEND_BACKEND_EXPIRY_PERSISTENT;
  }
  return true;
}

bool exports_wasmcache_backend_backend_set_ttl(key_t_ *key, uint64_t *maybe_ttl_ms) {
  uint64_t now = wasmcache_backend_host_now_ms();
  size_t i;
  bool found = find_live(key, now, &i);
  exports_wasmcache_backend_backend_key_free(key);
  if (!found) return false;
  if (maybe_ttl_ms && *maybe_ttl_ms == 0) {
    remove_at(i);  // expires at once: gone
  } else {
    slots[i].has_ttl = maybe_ttl_ms != NULL;
    slots[i].expires_at = maybe_ttl_ms ? deadline(now, *maybe_ttl_ms) : 0;
  }
  return true;
}

// Listing order: home slot, then hash, then key bytes. It is a total order of the keys
// that moving entries between slots does not change.
static int listing_order(uint64_t hash_a, const uint8_t *a, size_t len_a, uint64_t hash_b, const uint8_t *b,
                         size_t len_b) {
  size_t home_a = hash_a & mask, home_b = hash_b & mask;
  if (home_a != home_b) return home_a < home_b ? -1 : 1;
  if (hash_a != hash_b) return hash_a < hash_b ? -1 : 1;
  size_t common = len_a < len_b ? len_a : len_b;
  int order = common ? memcmp(a, b, common) : 0;
  if (order) return order;
  return len_a < len_b ? -1 : len_a > len_b;
}

// A page: the slots of the first live entries after the cursor in listing order, at most
// `limit`, and the cursor that follows them (`none` once every home slot is done). Reads
// the table and changes nothing.
static size_t list_page(cursor_t_ *maybe_cursor, uint32_t limit, uint64_t now, size_t **out,
                        cache_backend_with_listing_option_list_u8_t *next) {
  bool after = false;  // whether to continue after `last` (else from the start)
  uint64_t last_hash = 0;
  const uint8_t *last = NULL;
  size_t last_len = 0;
  size_t home = 0;
  if (maybe_cursor && maybe_cursor->len > 0 && maybe_cursor->ptr[0] == CURSOR_AFTER) {
    after = true;
    last = maybe_cursor->ptr + 1;
    last_len = maybe_cursor->len - 1;
    last_hash = hash_of(last, last_len);
    home = last_hash & mask;
  } else if (maybe_cursor && (maybe_cursor->len != 1 || maybe_cursor->ptr[0] != CURSOR_START)) {
    home = mask + 1;  // not a cursor this backend gave: past the end
  }
  size_t room = limit < count ? limit : count;
  size_t *page = room ? malloc(room * sizeof *page) : NULL;
  size_t n = 0;
  bool full = false;
  // Entries whose home is `home` sit in the probe run that starts there.
  for (; home <= mask && !full; home++) {
    for (;;) {
      if (n == limit) {
        full = true;
        break;
      }
      size_t best = SIZE_MAX;
      for (size_t i = home; slots[i].used; i = (i + 1) & mask) {
        const slot_t *slot = &slots[i];
        if ((slot->hash & mask) != home || !live(slot, now)) continue;
        if (after && listing_order(slot->hash, slot->key.ptr, slot->key.len, last_hash, last, last_len) <= 0) continue;
        if (best != SIZE_MAX && listing_order(slot->hash, slot->key.ptr, slot->key.len, slots[best].hash,
                                              slots[best].key.ptr, slots[best].key.len) >= 0) {
          continue;
        }
        best = i;
      }
      if (best == SIZE_MAX) break;  // this home slot is done
      page[n++] = best;
      after = true;
      last_hash = slots[best].hash;
      last = slots[best].key.ptr;
      last_len = slots[best].key.len;
    }
  }
  // A full page continues after its last entry (the next page may come back empty).
  next->is_some = full;
  if (full) {
    next->val.len = after ? 1 + last_len : 1;
    next->val.ptr = malloc(next->val.len);
    next->val.ptr[0] = after ? CURSOR_AFTER : CURSOR_START;
    if (after && last_len) memcpy(next->val.ptr + 1, last, last_len);
  }
  *out = page;
  return n;
}

void exports_wasmcache_backend_listing_entries(cursor_t_ *maybe_cursor, uint32_t limit,
                                               exports_wasmcache_backend_listing_entry_page_t *ret) {
  uint64_t now = wasmcache_backend_host_now_ms();
  size_t *page;
  size_t n = list_page(maybe_cursor, limit, now, &page, &ret->next);
  if (maybe_cursor) cache_backend_with_listing_list_u8_free(maybe_cursor);
  ret->entries.len = n;
  ret->entries.ptr = n ? malloc(n * sizeof *ret->entries.ptr) : NULL;
  for (size_t k = 0; k < n; k++) {
    const slot_t *slot = &slots[page[k]];
    exports_wasmcache_backend_listing_entry_t *entry = &ret->entries.ptr[k];
    entry->key.len = slot->key.len;
    entry->key.ptr = copy_of(slot->key.ptr, slot->key.len);
    entry->value.len = slot->value.len;
    entry->value.ptr = copy_of(slot->value.ptr, slot->value.len);
    entry->ttl_remaining_ms.is_some = slot->has_ttl;
    entry->ttl_remaining_ms.val = slot->has_ttl ? slot->expires_at - now : 0;
  }
  free(page);
}

void exports_wasmcache_backend_listing_keys(cursor_t_ *maybe_cursor, uint32_t limit,
                                            exports_wasmcache_backend_listing_key_page_t *ret) {
  size_t *page;
  size_t n = list_page(maybe_cursor, limit, wasmcache_backend_host_now_ms(), &page, &ret->next);
  if (maybe_cursor) cache_backend_with_listing_list_u8_free(maybe_cursor);
  ret->keys.len = n;
  ret->keys.ptr = n ? malloc(n * sizeof *ret->keys.ptr) : NULL;
  for (size_t k = 0; k < n; k++) {
    const slot_t *slot = &slots[page[k]];
    ret->keys.ptr[k].len = slot->key.len;
    ret->keys.ptr[k].ptr = copy_of(slot->key.ptr, slot->key.len);
  }
  free(page);
}
