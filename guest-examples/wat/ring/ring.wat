;; ring: a cache backend written by hand against the canonical ABI, with no bindings
;; generator. 64 fixed slots, each holding a key of up to 1 KiB and a value of up to
;; 64 KiB; when all are taken, a put overwrites the oldest slot (a FIFO ring).
;;
;; This is a core module. build.sh embeds the `cache-backend-with-listing` world's types
;; (contract 0.2) and wraps it into a component (`wasm-tools component embed` +
;; `component new`). What each export receives and returns follows the canonical ABI's
;; flattening rules; the comments on each function spell out the layout. Every result
;; lives in static memory (the return area, the listing page, the slots), so no export
;; needs a post-return function to free anything.
;;
;; Memory map
;;   0     .. 1023    static data: strings (0..127) and the stats counter list (128..175)
;;   1024  .. 1151    the return area, reused by every export
;;   1152  .. 1159    the next listing cursor: a slot index, 8 bytes little-endian
;;   2048  .. 4095    the listing page (64 entries of 32 bytes, or 64 keys of 8 bytes)
;;   69632 ..         64 slots of 66 592 bytes: used i32, timed i32, expires i64 (read
;;                    only when timed), key_len i32, value_len i32, key[1024], value[65536]
;;   4331520 ..       scratch: what the host asks `cabi_realloc` for (the arguments),
;;                    growing memory as needed and reset at the end of every export
(module
  (import "wasmcache:backend/host@0.2.0" "now-ms" (func $now (result i64)))

  (memory (export "memory") 67)

  (global $RET i32 (i32.const 1024))
  (global $CURSOR i32 (i32.const 1152))
  (global $PAGE i32 (i32.const 2048))
  (global $SLOTS i32 (i32.const 69632))
  (global $SCRATCH i32 (i32.const 4331520))  ;; SLOTS + 64 * SLOT
  (global $SLOT i32 (i32.const 66592))  ;; 32 + 1024 + 65536
  (global $COUNT i32 (i32.const 64))
  (global $MAX_KEY i32 (i32.const 1024))
  (global $MAX_VALUE i32 (i32.const 65536))

  (global $scratch (mut i32) (i32.const 4331520))
  (global $next_victim (mut i32) (i32.const 0))
  (global $hits (mut i64) (i64.const 0))
  (global $misses (mut i64) (i64.const 0))
  (global $evictions (mut i64) (i64.const 0))

  ;; "the wat ring backend takes no options" at 0 (37 bytes); counter names after it.
  (data (i32.const 0) "the wat ring backend takes no options")
  (data (i32.const 40) "hits")
  (data (i32.const 48) "misses")
  (data (i32.const 56) "evictions")
  ;; The counter list (3 tuples of string + u64, 16 bytes each) lives at 128.

  ;; Bump allocation in the scratch area, growing memory when a block does not fit (the
  ;; host only ever asks for new blocks, never to grow one).
  (func (export "cabi_realloc") (param $old i32) (param $old_size i32) (param $align i32) (param $size i32) (result i32)
    (local $ptr i32) (local $end i32)
    (local.set $ptr
      (i32.and
        (i32.add (global.get $scratch) (i32.sub (local.get $align) (i32.const 1)))
        (i32.sub (i32.const 0) (local.get $align))))
    (local.set $end (i32.add (local.get $ptr) (local.get $size)))
    (if (i32.gt_u (local.get $end) (i32.mul (memory.size) (i32.const 65536)))
      (then
        (if (i32.eq
              (memory.grow
                (i32.sub
                  (i32.shr_u (i32.add (local.get $end) (i32.const 65535)) (i32.const 16))
                  (memory.size)))
              (i32.const -1))
          (then unreachable))))  ;; the host's memory limit: a trap it reports as such
    (global.set $scratch (local.get $end))
    (local.get $ptr))

  (func $reset_scratch (global.set $scratch (global.get $SCRATCH)))

  (func $slot (param $i i32) (result i32)
    (i32.add (global.get $SLOTS) (i32.mul (local.get $i) (global.get $SLOT))))

  ;; Whether slot `s` holds an entry that `get` would return at `now`.
  (func $live_at (param $s i32) (param $now i64) (result i32)
    (i32.and
      (i32.load (local.get $s))
      (i32.or
        (i32.eqz (i32.load offset=4 (local.get $s)))
        (i64.lt_u (local.get $now) (i64.load offset=8 (local.get $s))))))

  (func $live (param $s i32) (result i32)
    (call $live_at (local.get $s) (call $now)))

  ;; Sets slot `s` to expire `ttl` ms after `now` (saturating), or never when `timed` is 0.
  ;; A ttl of 0 expires at once: the entry is never returned.
  (func $set_expiry (param $s i32) (param $timed i32) (param $ttl i64) (param $now i64)
    (local $at i64)
    (local.set $at (i64.add (local.get $now) (local.get $ttl)))
    (if (i64.lt_u (local.get $at) (local.get $now)) (then (local.set $at (i64.const -1))))
    (i32.store offset=4 (local.get $s) (local.get $timed))
    (i64.store offset=8 (local.get $s) (local.get $at)))

  ;; Byte-wise equality of two ranges of the same length.
  (func $equal (param $a i32) (param $b i32) (param $len i32) (result i32)
    (block $differ
      (loop $next
        (if (i32.eqz (local.get $len)) (then (return (i32.const 1))))
        (br_if $differ (i32.ne (i32.load8_u (local.get $a)) (i32.load8_u (local.get $b))))
        (local.set $a (i32.add (local.get $a) (i32.const 1)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (local.set $len (i32.sub (local.get $len) (i32.const 1)))
        (br $next)))
    (i32.const 0))

  ;; The index of the used slot holding the key, or -1.
  (func $find (param $key i32) (param $len i32) (result i32)
    (local $i i32) (local $s i32)
    (loop $next
      (local.set $s (call $slot (local.get $i)))
      (if (i32.and
            (i32.load (local.get $s))
            (i32.eq (i32.load offset=16 (local.get $s)) (local.get $len)))
        (then
          (if (call $equal (i32.add (local.get $s) (i32.const 32)) (local.get $key) (local.get $len))
            (then (return (local.get $i))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $i) (global.get $COUNT))))
    (i32.const -1))

  ;; The address of the slot holding the key's live entry, or 0. An expired entry found
  ;; on the way is removed. Not a use: nothing else changes.
  (func $find_live (param $key i32) (param $len i32) (param $now i64) (result i32)
    (local $i i32) (local $s i32)
    (local.set $i (call $find (local.get $key) (local.get $len)))
    (if (i32.lt_s (local.get $i) (i32.const 0)) (then (return (i32.const 0))))
    (local.set $s (call $slot (local.get $i)))
    (if (call $live_at (local.get $s) (local.get $now)) (then (return (local.get $s))))
    (i32.store (local.get $s) (i32.const 0))                        ;; expired: remove
    (i32.const 0))

  ;; init: (options: list<tuple<string, string>>) -> result<_, backend-error>
  ;; Returns a pointer to: result tag u8 @0; backend-error tag u8 @8; payload @16.
  (func (export "wasmcache:backend/backend@0.2.0#init") (param $ptr i32) (param $len i32) (result i32)
    (local $i i32)
    (call $reset_scratch)
    (loop $clear
      (i32.store (call $slot (local.get $i)) (i32.const 0))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $clear (i32.lt_u (local.get $i) (global.get $COUNT))))
    (if (local.get $len)
      (then
        (i32.store8 (global.get $RET) (i32.const 1))                ;; err
        (i32.store8 offset=8 (global.get $RET) (i32.const 0))       ;; invalid-config
        (i32.store offset=16 (global.get $RET) (i32.const 0))       ;; message pointer
        (i32.store offset=20 (global.get $RET) (i32.const 37))      ;; message length
        (return (global.get $RET))))
    (i32.store8 (global.get $RET) (i32.const 0))                    ;; ok
    (global.get $RET))

  ;; get: (key: list<u8>) -> option<list<u8>>
  ;; Returns a pointer to: tag u8 @0; value pointer @4; value length @8. A hit points
  ;; straight into the slot: the host copies the value out.
  (func (export "wasmcache:backend/backend@0.2.0#get") (param $key i32) (param $len i32) (result i32)
    (local $i i32) (local $s i32)
    (local.set $i (call $find (local.get $key) (local.get $len)))
    (call $reset_scratch)
    (i32.store8 (global.get $RET) (i32.const 0))
    (if (i32.lt_s (local.get $i) (i32.const 0))
      (then
        (global.set $misses (i64.add (global.get $misses) (i64.const 1)))
        (return (global.get $RET))))
    (local.set $s (call $slot (local.get $i)))
    (if (i32.eqz (call $live (local.get $s)))
      (then
        (i32.store (local.get $s) (i32.const 0))                    ;; expired: remove
        (global.set $misses (i64.add (global.get $misses) (i64.const 1)))
        (return (global.get $RET))))
    (global.set $hits (i64.add (global.get $hits) (i64.const 1)))
    (i32.store8 (global.get $RET) (i32.const 1))
    (i32.store offset=4 (global.get $RET) (i32.add (local.get $s) (i32.add (i32.const 32) (global.get $MAX_KEY))))
    (i32.store offset=8 (global.get $RET) (i32.load offset=20 (local.get $s)))
    (global.get $RET))

  ;; put: (key: list<u8>, value: list<u8>, ttl-ms: option<u64>) -> result<_, backend-error>
  (func (export "wasmcache:backend/backend@0.2.0#put")
        (param $key i32) (param $klen i32) (param $value i32) (param $vlen i32)
        (param $has_ttl i32) (param $ttl i64) (result i32)
    (local $i i32) (local $s i32) (local $now i64)
    (if (i32.gt_u (local.get $vlen) (global.get $MAX_VALUE))
      (then
        (call $reset_scratch)
        (i32.store8 (global.get $RET) (i32.const 1))                ;; err
        (i32.store8 offset=8 (global.get $RET) (i32.const 1))       ;; too-large
        (i64.store offset=16 (global.get $RET) (i64.extend_i32_u (global.get $MAX_VALUE)))
        (return (global.get $RET))))
    (local.set $now (call $now))
    (local.set $i (call $find (local.get $key) (local.get $klen)))
    (if (i32.lt_s (local.get $i) (i32.const 0))
      (then
        ;; A free slot, else the oldest one.
        (local.set $i (i32.const 0))
        (block $found
          (loop $next
            (br_if $found (i32.eqz (call $live_at (call $slot (local.get $i)) (local.get $now))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $next (i32.lt_u (local.get $i) (global.get $COUNT)))
            (local.set $i (global.get $next_victim))
            (global.set $evictions (i64.add (global.get $evictions) (i64.const 1)))))
        (global.set $next_victim (i32.rem_u (i32.add (local.get $i) (i32.const 1)) (global.get $COUNT)))))
    (local.set $s (call $slot (local.get $i)))
    (i32.store (local.get $s) (i32.const 1))
    (call $set_expiry (local.get $s) (local.get $has_ttl) (local.get $ttl) (local.get $now))
    (i32.store offset=16 (local.get $s) (local.get $klen))
    (i32.store offset=20 (local.get $s) (local.get $vlen))
    (memory.copy (i32.add (local.get $s) (i32.const 32)) (local.get $key) (local.get $klen))
    (memory.copy
      (i32.add (local.get $s) (i32.add (i32.const 32) (global.get $MAX_KEY)))
      (local.get $value) (local.get $vlen))
    (call $reset_scratch)
    (i32.store8 (global.get $RET) (i32.const 0))                    ;; ok
    (global.get $RET))

  ;; invalidate: (key: option<list<u8>>) -> ()
  (func (export "wasmcache:backend/backend@0.2.0#invalidate") (param $some i32) (param $key i32) (param $len i32)
    (local $i i32)
    (if (local.get $some)
      (then
        (local.set $i (call $find (local.get $key) (local.get $len)))
        (if (i32.ge_s (local.get $i) (i32.const 0))
          (then (i32.store (call $slot (local.get $i)) (i32.const 0)))))
      (else
        (loop $clear
          (i32.store (call $slot (local.get $i)) (i32.const 0))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $clear (i32.lt_u (local.get $i) (global.get $COUNT))))))
    (call $reset_scratch))

  ;; stats: () -> backend-stats { size: u64 @0, counters: list @8 (pointer), @12 (length) }
  (func (export "wasmcache:backend/backend@0.2.0#stats") (result i32)
    (local $i i32) (local $size i64)
    (loop $count
      (if (i32.load (call $slot (local.get $i)))
        (then (local.set $size (i64.add (local.get $size) (i64.const 1)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $count (i32.lt_u (local.get $i) (global.get $COUNT))))
    ;; Each counter: name pointer @0, name length @4, value @8.
    (i32.store (i32.const 128) (i32.const 40)) (i32.store (i32.const 132) (i32.const 4))
    (i64.store (i32.const 136) (global.get $hits))
    (i32.store (i32.const 144) (i32.const 48)) (i32.store (i32.const 148) (i32.const 6))
    (i64.store (i32.const 152) (global.get $misses))
    (i32.store (i32.const 160) (i32.const 56)) (i32.store (i32.const 164) (i32.const 9))
    (i64.store (i32.const 168) (global.get $evictions))
    (i64.store (global.get $RET) (local.get $size))
    (i32.store offset=8 (global.get $RET) (i32.const 128))
    (i32.store offset=12 (global.get $RET) (i32.const 3))
    (global.get $RET))

  ;; remove: (key: list<u8>) -> bool
  ;; A bool is returned flat, as an i32 (0 or 1).
  (func (export "wasmcache:backend/backend@0.2.0#remove") (param $key i32) (param $len i32) (result i32)
    (local $s i32)
    (local.set $s (call $find_live (local.get $key) (local.get $len) (call $now)))
    (call $reset_scratch)
    (if (i32.eqz (local.get $s)) (then (return (i32.const 0))))
    (i32.store (local.get $s) (i32.const 0))
    (i32.const 1))

  ;; ttl: (key: list<u8>) -> option<expiry>, expiry = variant { persistent, expires-in(u64) }
  ;; Three flat values are too many to return, so it returns a pointer to: option tag u8 @0;
  ;; expiry tag u8 @8 (0 persistent, 1 expires-in); milliseconds u64 @16. The expiry is
  ;; 16 bytes aligned to 8 (its u64 payload), so it starts at 8.
  (func (export "wasmcache:backend/backend@0.2.0#ttl") (param $key i32) (param $len i32) (result i32)
    (local $s i32) (local $now i64)
    (local.set $now (call $now))
    (local.set $s (call $find_live (local.get $key) (local.get $len) (local.get $now)))
    (call $reset_scratch)
    (i32.store8 (global.get $RET) (i32.ne (local.get $s) (i32.const 0)))
    (if (local.get $s)
      (then
        (i32.store8 offset=8 (global.get $RET) (i32.load offset=4 (local.get $s)))
        ;; Live, so at least 1 ms is left.
        (i64.store offset=16 (global.get $RET)
          (i64.sub (i64.load offset=8 (local.get $s)) (local.get $now)))))
    (global.get $RET))

  ;; set-ttl: (key: list<u8>, ttl-ms: option<u64>) -> bool
  ;; The option arrives flat as its tag (i32) and its payload (i64).
  (func (export "wasmcache:backend/backend@0.2.0#set-ttl")
        (param $key i32) (param $len i32) (param $has_ttl i32) (param $ttl i64) (result i32)
    (local $s i32) (local $now i64)
    (local.set $now (call $now))
    (local.set $s (call $find_live (local.get $key) (local.get $len) (local.get $now)))
    (call $reset_scratch)
    (if (i32.eqz (local.get $s)) (then (return (i32.const 0))))
    (if (i32.and (local.get $has_ttl) (i64.eqz (local.get $ttl)))
      (then (i32.store (local.get $s) (i32.const 0)))              ;; expires at once: gone
      (else (call $set_expiry (local.get $s) (local.get $has_ttl) (local.get $ttl) (local.get $now))))
    (i32.const 1))

  ;; One page of a listing, shared by `entries` and `keys`. The cursor is a slot index, 8
  ;; bytes little-endian: slots never move, so a key live for the whole listing stays in
  ;; its slot and is listed exactly once. Any other cursor is past the end (the host only
  ;; hands back cursors this backend gave). Lists live slots from the cursor on, at most
  ;; `limit`, into the page: each item is 32 bytes with values (key pointer @0, length @4;
  ;; value pointer @8, length @12; ttl-remaining-ms: tag u8 @16, value u64 @24) and
  ;; 8 bytes without (key pointer @0, length @4). Items point into the slots.
  ;;
  ;; The page record, at the return area: items pointer @0, length @4; next, an
  ;; option<list<u8>>: tag u8 @8, cursor pointer @12, length @16.
  (func $page (param $has_cursor i32) (param $cursor i32) (param $clen i32) (param $limit i32)
        (param $values i32) (result i32)
    (local $i i32) (local $n i32) (local $s i32) (local $e i32) (local $now i64)
    (local.set $now (call $now))
    (if (local.get $has_cursor)
      (then
        (local.set $i (global.get $COUNT))
        (if (i32.eq (local.get $clen) (i32.const 8))
          (then
            (if (i64.lt_u (i64.load (local.get $cursor)) (i64.extend_i32_u (global.get $COUNT)))
              (then (local.set $i (i32.wrap_i64 (i64.load (local.get $cursor))))))))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (global.get $COUNT)))
        (br_if $done (i32.ge_u (local.get $n) (local.get $limit)))
        (local.set $s (call $slot (local.get $i)))
        (if (call $live_at (local.get $s) (local.get $now))
          (then
            (if (local.get $values)
              (then
                (local.set $e (i32.add (global.get $PAGE) (i32.mul (local.get $n) (i32.const 32))))
                (i32.store offset=8 (local.get $e)
                  (i32.add (local.get $s) (i32.add (i32.const 32) (global.get $MAX_KEY))))
                (i32.store offset=12 (local.get $e) (i32.load offset=20 (local.get $s)))
                (i32.store8 offset=16 (local.get $e) (i32.load offset=4 (local.get $s)))
                (i64.store offset=24 (local.get $e)
                  (i64.sub (i64.load offset=8 (local.get $s)) (local.get $now))))
              (else
                (local.set $e (i32.add (global.get $PAGE) (i32.mul (local.get $n) (i32.const 8))))))
            (i32.store (local.get $e) (i32.add (local.get $s) (i32.const 32)))
            (i32.store offset=4 (local.get $e) (i32.load offset=16 (local.get $s)))
            (local.set $n (i32.add (local.get $n) (i32.const 1)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (call $reset_scratch)
    (i64.store (global.get $CURSOR) (i64.extend_i32_u (local.get $i)))
    (i32.store (global.get $RET) (global.get $PAGE))
    (i32.store offset=4 (global.get $RET) (local.get $n))
    (i32.store8 offset=8 (global.get $RET) (i32.lt_u (local.get $i) (global.get $COUNT)))
    (i32.store offset=12 (global.get $RET) (global.get $CURSOR))
    (i32.store offset=16 (global.get $RET) (i32.const 8))
    (global.get $RET))

  ;; listing.entries: (cursor: option<list<u8>>, limit: u32) -> entry-page
  ;; The option arrives flat as its tag, the list's pointer and its length.
  (func (export "wasmcache:backend/listing@0.2.0#entries")
        (param $has_cursor i32) (param $cursor i32) (param $clen i32) (param $limit i32) (result i32)
    (call $page (local.get $has_cursor) (local.get $cursor) (local.get $clen) (local.get $limit) (i32.const 1)))

  ;; listing.keys: (cursor: option<list<u8>>, limit: u32) -> key-page
  (func (export "wasmcache:backend/listing@0.2.0#keys")
        (param $has_cursor i32) (param $cursor i32) (param $clen i32) (param $limit i32) (result i32)
    (call $page (local.get $has_cursor) (local.get $cursor) (local.get $clen) (local.get $limit) (i32.const 0)))
)
