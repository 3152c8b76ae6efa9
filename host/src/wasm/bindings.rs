//! The one `bindgen!` of the crate: Rust types for the contract.
//!
//! It is generated for the `cache-backend-with-handover` world so both exported
//! interfaces get bindings; the loader uses them interface by interface, since
//! `handover` is optional.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "cache-backend-with-handover",
    // Borrowed parameters: keys and values are passed to the guest as `&[u8]`, no copy.
    ownership: Borrowing { duplicate_if_necessary: true },
});
