// clock: a fixed-capacity open-addressing hash table with CLOCK eviction, in C.
//
// Built into a WebAssembly component from the bindings `wit-bindgen c` generated for the
// `cache-backend-with-handover` world (bindings/), with clang and wasi-libc (see README.md).
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

#include "bindings/cache_backend_with_handover.h"

#include <stdlib.h>
#include <string.h>

// The bindings reference the object file `wit-bindgen c` can emit with the world's type
// information. This build attaches that information with `wasm-tools component embed`
// instead (build.sh), so the reference is satisfied here.
void __component_type_object_force_link_cache_backend_with_handover(void) {}

typedef exports_wasmcache_backend_backend_key_t key_t_;
typedef exports_wasmcache_backend_backend_value_t value_t_;
typedef exports_wasmcache_backend_backend_backend_error_t error_t_;

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

static slot_t *slots;
static size_t mask;      // slot count - 1
static size_t capacity;  // most entries held
static size_t count;
static size_t hand;
static uint64_t seed;
static uint64_t hits, misses, evictions, expired;
static key_t_ *listing;  // keys being listed for a handover
static size_t listing_len;

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

static void drop_listing(void) {
  for (size_t i = 0; i < listing_len; i++) exports_wasmcache_backend_backend_key_free(&listing[i]);
  free(listing);
  listing = NULL;
  listing_len = 0;
}

static bool refuse(error_t_ *err, const char *what, const cache_backend_with_handover_string_t *detail) {
  // "<what>`<detail>`", without stdio.
  size_t a = strlen(what), b = detail ? detail->len : 0;
  char *message = malloc(a + b + 3);
  memcpy(message, what, a);
  message[a] = '`';
  if (b) memcpy(message + a + 1, detail->ptr, b);
  message[a + 1 + b] = '`';
  message[a + 2 + b] = 0;
  err->tag = EXPORTS_WASMCACHE_BACKEND_BACKEND_BACKEND_ERROR_INVALID_CONFIG;
  cache_backend_with_handover_string_dup(&err->val.invalid_config, message);
  free(message);
  return false;
}

static bool parse_positive(const cache_backend_with_handover_string_t *raw, size_t *out) {
  size_t value = 0;
  if (raw->len == 0 || raw->len > 9) return false;
  for (size_t i = 0; i < raw->len; i++) {
    if (raw->ptr[i] < '0' || raw->ptr[i] > '9') return false;
    value = value * 10 + (raw->ptr[i] - '0');
  }
  *out = value;
  return value > 0;
}

static bool name_is(const cache_backend_with_handover_string_t *name, const char *expected) {
  return name->len == strlen(expected) && memcmp(name->ptr, expected, name->len) == 0;
}

bool exports_wasmcache_backend_backend_init(cache_backend_with_handover_list_tuple2_string_string_t *options,
                                            error_t_ *err) {
  size_t wanted = DEFAULT_CAPACITY;
  bool ok = true;
  for (size_t i = 0; ok && i < options->len; i++) {
    cache_backend_with_handover_tuple2_string_string_t *option = &options->ptr[i];
    if (!name_is(&option->f0, "capacity")) {
      ok = refuse(err, "the c clock backend takes `capacity`; unknown option ", &option->f0);
    } else if (!parse_positive(&option->f1, &wanted)) {
      ok = refuse(err, "option `capacity` must be a positive integer below 10^9, got ", &option->f1);
    }
  }
  cache_backend_with_handover_list_tuple2_string_string_free(options);
  if (!ok) return false;
  clear_all();
  free(slots);
  size_t size = 16;
  while (size < 2 * wanted) size *= 2;
  slots = calloc(size, sizeof(slot_t));
  mask = size - 1;
  capacity = wanted;
  seed = wasmcache_backend_host_now_ms() * 0x9e3779b97f4a7c15ULL;
  cache_backend_with_handover_string_t message;
  cache_backend_with_handover_string_set(&message, "c clock backend ready");
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
  ret->ptr = malloc(ret->len ? ret->len : 1);
  if (ret->len) memcpy(ret->ptr, slots[i].value.ptr, ret->len);
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
  slots[i].expires_at = maybe_ttl_ms ? now + *maybe_ttl_ms : 0;
  if (maybe_ttl_ms && slots[i].expires_at < now) slots[i].expires_at = UINT64_MAX;  // overflow
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
    cache_backend_with_handover_string_dup(&ret->counters.ptr[i].f0, names[i]);
    ret->counters.ptr[i].f1 = values[i];
  }
}

void exports_wasmcache_backend_handover_entries(uint64_t *maybe_cursor, uint32_t limit,
                                                exports_wasmcache_backend_handover_page_t *ret) {
  uint64_t now = wasmcache_backend_host_now_ms();
  size_t position = 0;
  if (maybe_cursor == NULL) {
    drop_listing();
    listing = malloc((count ? count : 1) * sizeof *listing);
    for (size_t i = 0; i <= mask; i++) {
      if (!slots[i].used) continue;
      key_t_ *copy = &listing[listing_len++];
      copy->len = slots[i].key.len;
      copy->ptr = malloc(copy->len ? copy->len : 1);
      if (copy->len) memcpy(copy->ptr, slots[i].key.ptr, copy->len);
    }
  } else {
    position = (size_t)*maybe_cursor;
  }
  ret->entries.ptr = malloc((limit ? limit : 1) * sizeof *ret->entries.ptr);
  ret->entries.len = 0;
  while (position < listing_len && ret->entries.len < limit) {
    key_t_ *key = &listing[position++];
    size_t i = find(hash_of(key->ptr, key->len), key);
    if (!slots[i].used || !live(&slots[i], now)) continue;
    exports_wasmcache_backend_handover_entry_t *entry = &ret->entries.ptr[ret->entries.len++];
    entry->key.len = key->len;
    entry->key.ptr = malloc(key->len ? key->len : 1);
    if (key->len) memcpy(entry->key.ptr, key->ptr, key->len);
    entry->value.len = slots[i].value.len;
    entry->value.ptr = malloc(entry->value.len ? entry->value.len : 1);
    if (entry->value.len) memcpy(entry->value.ptr, slots[i].value.ptr, entry->value.len);
    entry->ttl_remaining_ms.is_some = slots[i].has_ttl;
    entry->ttl_remaining_ms.val = slots[i].has_ttl ? slots[i].expires_at - now : 0;
  }
  ret->next.is_some = position < listing_len;
  ret->next.val = position;
  if (!ret->next.is_some) drop_listing();
}
