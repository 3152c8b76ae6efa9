//! The one `bindgen!` of the crate: Rust types for both versions of the contract.
//!
//! It is generated for a world that exports every interface of 0.1 and 0.2, so each gets
//! bindings: the host imports' traits, and the exports' types (records, variants), which
//! `exports.rs` calls each interface with, for the version a component targets (all but
//! `backend` are optional). The per-instance loaders it also generates are not used: they
//! check every signature on every instance, where `exports.rs` checks a component once.

wasmtime::component::bindgen!({
    inline: "
        package wasmcache:host-bindings;

        world every-version {
            import wasmcache:backend/host@0.1.0;
            import wasmcache:backend/host@0.2.0;
            export wasmcache:backend/backend@0.1.0;
            export wasmcache:backend/handover@0.1.0;
            export wasmcache:backend/backend@0.2.0;
            export wasmcache:backend/batch@0.2.0;
            export wasmcache:backend/listing@0.2.0;
        }
    ",
    path: ["../wit", "../wit/v0.1"],
    world: "wasmcache:host-bindings/every-version",
    // Borrowed parameters: keys and values are passed to the guest as `&[u8]`, no copy.
    ownership: Borrowing { duplicate_if_necessary: true },
});
