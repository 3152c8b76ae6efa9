//! The wasm backend: guest components driven through the contract. The only part of the
//! crate that names wasmtime.
//!
//! - [`Engine`] compiles and runs guests: one per process, with its epoch ticker, the
//!   linkers (the contract's `host` interface and deny-all WASI) and the compile cache.
//! - [`BackendComponent`] is a compiled, validated component: load it once, then create
//!   as many initialised [`WasmBackend`]s from it as needed (it is a
//!   [`BackendFactory`](crate::BackendFactory)).
//! - [`ComponentLoader`] is the engine and the limits as a [`Loader`](crate::Loader), so
//!   reloads and the server load components without knowing the engine.
//! - [`WasmBackend`] is one sandboxed instance behind the [`Backend`](crate::Backend)
//!   trait. After a trap or a timeout it discards the instance and starts a fresh one.
//!
//! Inside: `bindings` holds the one `bindgen!`; `store` is each instance's store data,
//! split into the `host` interface's context (`imports/host`), the deny-all WASI context
//! (`imports/wasi`, with `imports/wasi_io` replacing the calls that block), and the
//! `limiter`; `instance` starts instances and arms each call, whose deadline counts the
//! guest's own CPU time (`budget`); `faults` maps what wasmtime reports onto the crate's
//! errors.

mod backend;
mod bindings;
mod budget;
mod compile;
mod compile_cache;
mod component;
mod engine;
mod exports;
mod faults;
mod imports;
mod instance;
mod limiter;
mod linker;
mod loader;
mod names;
mod output;
mod stats;
mod store;

pub use backend::WasmBackend;
pub use compile::{ComponentInfo, InterfaceInfo};
pub use component::BackendComponent;
pub use engine::{DeadlineClock, Engine, EngineConfig, PoolingConfig};
pub use loader::ComponentLoader;
pub use names::{
    BACKEND_INTERFACE, BATCH_INTERFACE, ContractVersion, HANDOVER_INTERFACE, HOST_INTERFACE,
    LISTING_INTERFACE,
};
