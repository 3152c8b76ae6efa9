//! The wasm backend: guest components driven through the contract.
//!
//! - [`BackendComponent`] is a compiled, validated component: load it once, then create
//!   as many initialised [`WasmBackend`]s from it as needed (it is a
//!   [`BackendFactory`](crate::BackendFactory)).
//! - [`WasmBackend`] is one sandboxed instance behind the [`Backend`](crate::Backend)
//!   trait. After a trap or a timeout it discards the instance and starts a fresh one.

mod backend;
mod bindings;
mod component;
mod imports;
mod state;

pub use backend::WasmBackend;
pub(crate) use component::read_file as read_component_file;
pub use component::{BackendComponent, ComponentInfo, InterfaceInfo};
pub use state::HostState;

use wasmtime::component::{HasSelf, Linker};

use crate::error::{Error, Result};

/// The interface a backend must export, with the version this host speaks.
pub const BACKEND_INTERFACE: &str = "wasmcache:backend/backend@0.1.0";
/// The optional interface through which a backend hands its entries over on reload.
pub const HANDOVER_INTERFACE: &str = "wasmcache:backend/handover@0.1.0";
/// The interface the host provides to backends.
pub const HOST_INTERFACE: &str = "wasmcache:backend/host@0.1.0";

/// A linker with the contract's `host` interface only.
pub(crate) fn host_linker(engine: &wasmtime::Engine) -> Result<Linker<HostState>> {
    let mut linker = Linker::new(engine);
    bindings::wasmcache::backend::host::add_to_linker::<HostState, HasSelf<HostState>>(
        &mut linker,
        |state| state,
    )
    .map_err(|e| Error::Config(format!("cannot link the host interface: {e:#}")))?;
    Ok(linker)
}

/// A linker with the `host` interface and deny-all WASI 0.2.
pub(crate) fn wasi_linker(engine: &wasmtime::Engine) -> Result<Linker<HostState>> {
    let mut linker = host_linker(engine)?;
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
        .and_then(|()| imports::wasi::add_nonblocking_io(&mut linker))
        .map_err(|e| Error::Config(format!("cannot link WASI: {e:#}")))?;
    Ok(linker)
}
