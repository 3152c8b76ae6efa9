//! The one `bindgen!` of the crate: Rust types for the `cache-backend` world.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "cache-backend",
    // Borrowed parameters: keys and values are passed to the guest as `&[u8]`, no copy.
    ownership: Borrowing { duplicate_if_necessary: true },
});
