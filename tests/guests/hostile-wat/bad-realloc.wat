;; Hostile test backend: a hand-written core module whose `cabi_realloc` hands the host a
;; pointer past the end of linear memory whenever it asks for real space (to pass a key or
;; value in). Everything else answers as an empty backend would.
;;
;; The tests crate's build script wraps it into a component of the `cache-backend` world
;; with wit-component (the same steps as `wasm-tools component embed` + `component new`).
(module
  (memory (export "memory") 1)

  ;; Results are written to this scratch area and returned by pointer.
  (global $ret i32 (i32.const 1024))

  (func (export "cabi_realloc") (param $old i32) (param $old_size i32) (param $align i32) (param $new_size i32) (result i32)
    (if (result i32) (i32.eqz (local.get $new_size))
      (then (i32.const 8))
      ;; 16 bytes below 4 GiB: far beyond the single 64 KiB page this module has.
      (else (i32.const 0xfffffff0))))

  ;; result<_, backend-error>: ok
  (func (export "wasmcache:backend/backend@0.1.0#init") (param i32 i32) (result i32)
    (i32.store8 (global.get $ret) (i32.const 0))
    (global.get $ret))

  ;; option<list<u8>>: none
  (func (export "wasmcache:backend/backend@0.1.0#get") (param i32 i32) (result i32)
    (i32.store8 (global.get $ret) (i32.const 0))
    (global.get $ret))

  ;; result<_, backend-error>: ok
  (func (export "wasmcache:backend/backend@0.1.0#put") (param i32 i32 i32 i32 i32 i64) (result i32)
    (i32.store8 (global.get $ret) (i32.const 0))
    (global.get $ret))

  (func (export "wasmcache:backend/backend@0.1.0#invalidate") (param i32 i32 i32))

  ;; backend-stats { size: 0, counters: [] }
  (func (export "wasmcache:backend/backend@0.1.0#stats") (result i32)
    (i64.store (global.get $ret) (i64.const 0))
    (i32.store offset=8 (global.get $ret) (i32.const 0))
    (i32.store offset=12 (global.get $ret) (i32.const 0))
    (global.get $ret))
)
